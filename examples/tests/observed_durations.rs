//! `backup-audit check --durations-out` writes the run durations it observed on the test bed,
//! and `backup-audit plan --observed` plans with them, labelled as observed.

mod common;

use std::process::Command;

use common::bed::*;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn check_writes_durations_the_plan_uses() {
    let bed = start_bed().await;
    // One prod backup that ran 41 minutes (start → completion), newer than the bed's others
    // (which complete the instant they start, so they measure nothing).
    let mut long = velero_backup(
        "prod-daily-20261127120000",
        "prod-daily",
        "2026-11-27T02:00:05Z",
        "Completed",
    );
    long["metadata"]["name"] = json!("prod-daily-long");
    long["status"]["completionTimestamp"] = json!("2026-11-27T02:41:05Z");
    bed.velero
        .cluster("prod")
        .expect("prod")
        .insert_json(long)
        .expect("insert");
    // and one PBS backup of the web VM whose backup task ran 17 minutes
    bed.pbs.add_snapshot(
        "store1",
        pbs_client::testing::FakeSnapshot::new(
            "",
            "vm",
            "450",
            ts("2026-11-27T01:00:00Z").as_second(),
        )
        .with_backup_task(std::time::Duration::from_secs(17 * 60)),
    );
    let repos = Repos {
        web: make_repo(&bed.garage, "web", &["2026-11-27T03:00:30Z"]).await,
        db: make_repo(&bed.garage, "db", &["2026-11-27T04:00:30Z"]).await,
        db_stale: String::new(),
    };
    let config = write_config(
        &bed,
        &repos,
        &repos.db,
        &bed.pbs.base_url(),
        bed.velero.kubeconfig_path(),
    );
    let durations = bed.dir.path().join("durations.json");
    let out = Command::new(env!("CARGO_BIN_EXE_backup-audit"))
        .args(["check", "--json", "--now", NOW, "--timeout", "30"])
        .arg("--config")
        .arg(&config)
        .arg("--durations-out")
        .arg(&durations)
        .env("E2E_INFISICAL_CLIENT_ID", INFISICAL_CLIENT_ID)
        .env("E2E_INFISICAL_CLIENT_SECRET", INFISICAL_CLIENT_SECRET)
        .env("E2E_PBS_TOKEN", bed.pbs.token_secret().expose_secret())
        .env_remove("BACKUP_AUDIT_CONFIG")
        .env_remove("BACKUP_AUDIT_WEBHOOK")
        .output()
        .expect("backup-audit runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&durations).expect("durations file written");
    let v: Value = serde_json::from_str(&text).expect("JSON");
    let list = v["durations"].as_array().expect("durations");
    // exactly the runs that measured something: the bed's other runs are instantaneous and
    // restic 0.14 snapshots carry no summary
    assert_eq!(list.len(), 2, "{v:#}");
    let entry = |t: &str| {
        list.iter()
            .find(|e| e["target"] == t)
            .unwrap_or_else(|| panic!("no {t} duration: {v:#}"))
    };
    let prod = entry("velero-prod");
    assert_eq!(prod["schedule"], "daily");
    assert_eq!(prod["seconds"], 41 * 60);
    assert_eq!(prod["samples"], 1);
    assert!(
        prod["source"]
            .as_str()
            .unwrap_or("")
            .contains("completionTimestamp"),
        "{v:#}"
    );
    // the PBS VM's newest backup task, starttime → endtime, for its only schedule
    let web = entry("pbs-web");
    assert_eq!(web["schedule"], "weekly");
    assert_eq!(web["seconds"], 17 * 60);
    assert_eq!(web["samples"], 1);
    assert!(
        web["source"]
            .as_str()
            .unwrap_or("")
            .contains("PBS backup task"),
        "{v:#}"
    );

    // the plan reads it back: velero-prod/daily is observed, the others stay assumptions
    let plan = Command::new(env!("CARGO_BIN_EXE_backup-audit"))
        .args(["plan", "--json", "--now", NOW])
        .arg("--config")
        .arg(&config)
        .arg("--observed")
        .arg(&durations)
        .env_remove("BACKUP_MATRIX")
        .env_remove("BACKUP_AUDIT_CONFIG")
        .output()
        .expect("plan runs");
    assert!(
        plan.status.success(),
        "{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    let p: Value = serde_json::from_slice(&plan.stdout).expect("plan JSON");
    let runs = p["nights"][0]["runs"].as_array().expect("runs");
    let run = |t: &str| {
        runs.iter()
            .find(|r| r["target"] == t)
            .unwrap_or_else(|| panic!("no {t} run tonight: {p:#}"))
    };
    let prod = run("velero-prod");
    assert_eq!(prod["duration_source"], "observed");
    assert_eq!(prod["start"], "2026-11-28T02:00:00Z");
    assert_eq!(prod["end"], "2026-11-28T02:41:00Z");
    assert_eq!(run("velero-agentic")["duration_source"], "assumed");
    // pbs-web runs weekly (Sunday 02:00): find its first planned run on any night
    let web_run = p["nights"]
        .as_array()
        .expect("nights")
        .iter()
        .flat_map(|n| n["runs"].as_array().into_iter().flatten())
        .find(|r| r["target"] == "pbs-web")
        .unwrap_or_else(|| panic!("no pbs-web run planned: {p:#}"));
    assert_eq!(web_run["duration_source"], "observed", "{p:#}");
    assert_eq!(web_run["start"], "2026-11-29T02:00:00Z");
    assert_eq!(web_run["end"], "2026-11-29T02:17:00Z");
}
