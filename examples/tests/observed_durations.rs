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
    // exactly the one run that measured something: the bed's other runs are instantaneous and
    // restic 0.14 snapshots carry no summary
    assert_eq!(list.len(), 1, "{v:#}");
    assert_eq!(list[0]["target"], "velero-prod");
    assert_eq!(list[0]["schedule"], "daily");
    assert_eq!(list[0]["seconds"], 41 * 60);
    assert_eq!(list[0]["samples"], 1);
    assert!(
        list[0]["source"]
            .as_str()
            .unwrap_or("")
            .contains("completionTimestamp"),
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
}
