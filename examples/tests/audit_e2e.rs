//! End to end: `backup-audit check` run as a user would, against a real Garage, a real sshd,
//! real restic (two plans: one over SSH, one local), and the fakes for PBS, Velero (three kube
//! contexts) and Infisical (which serves the Garage credentials at `/backups/garage`).
//!
//! One test starts every service once and runs the scenarios in order: everything healthy; one
//! plan late; PBS down; one Velero cluster whose newest backup is PartiallyFailed.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::bed::*;
use secrecy::ExposeSecret;
use serde_json::Value;

fn audit(bed: &Bed, config: &Path, extra: &[&str]) -> Output {
    audit_with_webhook(bed, config, extra, None)
}

/// `audit`, with the alert webhook given as `BACKUP_AUDIT_WEBHOOK` (never on the command line).
fn audit_with_webhook(bed: &Bed, config: &Path, extra: &[&str], webhook: Option<&str>) -> Output {
    let prom = bed.dir.path().join("backup.prom");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_backup-audit"));
    cmd.arg("check")
        .arg("--config")
        .arg(config)
        .arg("--now")
        .arg(NOW)
        .arg("--timeout")
        .arg("30")
        .arg("--prometheus")
        .arg(&prom)
        .args(extra)
        .env("E2E_INFISICAL_CLIENT_ID", INFISICAL_CLIENT_ID)
        .env("E2E_INFISICAL_CLIENT_SECRET", INFISICAL_CLIENT_SECRET)
        .env("E2E_PBS_TOKEN", bed.pbs.token_secret().expose_secret())
        .env_remove("BACKUP_AUDIT_CONFIG")
        .env_remove("BACKUP_AUDIT_WEBHOOK");
    if let Some(url) = webhook {
        cmd.env("BACKUP_AUDIT_WEBHOOK", url);
    }
    cmd.output().expect("backup-audit runs")
}

fn json(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "JSON output: {e}\nstdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn json_rows(out: &Output) -> Vec<Value> {
    json(out)["rows"].as_array().expect("rows").clone()
}

/// A one-shot HTTP endpoint on 127.0.0.1 that answers 200 and hands over the body it received.
async fn webhook_receiver() -> (String, tokio::sync::oneshot::Receiver<Vec<u8>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind webhook");
    let url = format!("http://{}/alerts", listener.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let Ok((mut conn, _)) = listener.accept().await else {
            return;
        };
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        // Read the head, then exactly Content-Length bytes of body.
        let body = loop {
            let Ok(n) = conn.read(&mut chunk).await else {
                return;
            };
            if n == 0 {
                return;
            }
            buf.extend_from_slice(&chunk[..n]);
            let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                break buf[end + 4..end + 4 + len].to_vec();
            }
        };
        let _ = conn
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .await;
        let _ = tx.send(body);
    });
    (url, rx)
}

fn verdict(rows: &[Value], target: &str) -> String {
    rows.iter()
        .find(|r| r["target"] == target)
        .unwrap_or_else(|| panic!("no row for {target}: {rows:#?}"))["verdict"]
        .as_str()
        .expect("verdict")
        .to_owned()
}

fn assert_no_secrets(out: &Output, bed: &Bed) {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for secret in [
        "repo-password-canary",
        INFISICAL_CLIENT_SECRET,
        bed.garage.secret_access_key().expose_secret(),
        bed.garage.admin_token().expose_secret(),
        bed.pbs.token_secret().expose_secret(),
    ] {
        assert!(!all.contains(secret), "a secret leaked into the output");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_audit_check_end_to_end() {
    let bed = start_bed().await;
    let repos = Repos {
        web: make_repo(
            &bed.garage,
            "web",
            &["2026-11-26T03:00:30Z", "2026-11-27T03:00:30Z"],
        )
        .await,
        db: make_repo(&bed.garage, "db", &["2026-11-27T04:00:30Z"]).await,
        db_stale: make_repo(&bed.garage, "db-stale", &["2026-11-25T04:00:30Z"]).await,
    };

    // 1. Everything healthy: exit 0, every enabled row ok, the disabled one disabled.
    let config = write_config(
        &bed,
        &repos,
        &repos.db,
        &bed.pbs.base_url(),
        bed.velero.kubeconfig_path(),
    );
    let out = audit(&bed, &config, &["--json"]);
    let rows = json_rows(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for t in [
        "velero-prod",
        "velero-agentic",
        "velero-monit",
        "web-daily",
        "db-daily",
        "pbs-web",
    ] {
        assert_eq!(verdict(&rows, t), "ok", "{t}: {rows:#?}");
    }
    assert_eq!(verdict(&rows, "unifi"), "disabled");
    let web = rows.iter().find(|r| r["target"] == "web-daily").unwrap();
    assert_eq!(web["retained"], 2);
    let garage = &json(&out)["garage"];
    assert_eq!(garage["health"]["up"], true, "{garage:#}");
    assert_eq!(garage["health"]["status"], 200);
    // Garage updates its usage counters asynchronously, so only the shape is asserted here.
    let bucket = &garage["buckets"][bed.garage.bucket()];
    assert!(
        bucket["objects"].is_u64() && bucket["bytes"].is_u64() && bucket["error"].is_null(),
        "usage of the matrix's bucket: {garage:#}"
    );
    assert_eq!(web["last_good"], "2026-11-27T03:00:30Z");
    assert_no_secrets(&out, &bed);
    let prom = std::fs::read_to_string(bed.dir.path().join("backup.prom")).expect("metrics file");
    assert!(prom.contains(
        "backup_audit_last_success_timestamp_seconds{target=\"web-daily\",schedule=\"daily\",tool=\"restic\"} 1795748430"
    ), "{prom}");
    assert!(prom.contains(
        "backup_audit_status{target=\"pbs-web\",schedule=\"weekly\",tool=\"pbs\",status=\"ok\"} 1"
    ));
    assert!(prom.contains("backup_audit_system_up{system=\"pbs\"} 1"));
    // The table, as a person reads it (stdout is a pipe: no colour codes).
    let table = audit(&bed, &config, &[]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert_eq!(table.status.code(), Some(0));
    assert!(text.contains("All enabled rows are ok."), "{text}");
    assert!(text.contains("velero-monit") && text.contains("pbs-web"));
    assert!(
        !text.contains('\u{1b}'),
        "no ANSI colour when not a terminal"
    );

    // 2. One plan late: db-daily's newest snapshot is two days old.
    let config = write_config(
        &bed,
        &repos,
        &repos.db_stale,
        &bed.pbs.base_url(),
        bed.velero.kubeconfig_path(),
    );
    let (webhook_url, alert) = webhook_receiver().await;
    let out = audit_with_webhook(&bed, &config, &["--json"], Some(&webhook_url));
    let rows = json_rows(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(verdict(&rows, "db-daily"), "late");
    // The webhook got one alert, for the late row only.
    let alert: Value = serde_json::from_slice(
        &tokio::time::timeout(std::time::Duration::from_secs(10), alert)
            .await
            .expect("webhook called")
            .expect("webhook body"),
    )
    .expect("webhook JSON");
    let alerts = alert["alerts"].as_array().expect("alerts");
    assert_eq!(alerts.len(), 1, "{alert:#}");
    assert_eq!(alerts[0]["target"], "db-daily");
    assert_eq!(alerts[0]["verdict"], "late");
    assert_eq!(alerts[0]["severity"], "warning");
    assert_eq!(verdict(&rows, "web-daily"), "ok");
    assert_eq!(verdict(&rows, "pbs-web"), "ok");
    let prom = std::fs::read_to_string(bed.dir.path().join("backup.prom")).expect("metrics file");
    assert!(prom.contains(
        "backup_audit_status{target=\"db-daily\",schedule=\"daily\",tool=\"restic\",status=\"late\"} 1"
    ));

    // 3. PBS down: its rows are unreachable, no other row is hidden, exit 1.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_url = format!("https://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let config = write_config(
        &bed,
        &repos,
        &repos.db,
        &dead_url,
        bed.velero.kubeconfig_path(),
    );
    // The alert cannot be delivered (nothing listens there): exit 3, the audit still printed,
    // and the webhook's URL (with its token) appears nowhere.
    let dead_hook = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_hook_url = format!(
        "http://{}/alerts?token=hook-token-canary",
        dead_hook.local_addr().expect("addr")
    );
    drop(dead_hook);
    let out = audit_with_webhook(&bed, &config, &["--json"], Some(&dead_hook_url));
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(verdict(&json_rows(&out), "pbs-web"), "unreachable");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("webhook not delivered"), "{stderr}");
    assert!(!stderr.contains("hook-token-canary"), "{stderr}");
    let out = audit(&bed, &config, &["--json"]);
    let rows = json_rows(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(verdict(&rows, "pbs-web"), "unreachable");
    for t in ["velero-prod", "web-daily", "db-daily"] {
        assert_eq!(verdict(&rows, t), "ok", "{t} hidden by PBS being down");
    }
    let table = audit(&bed, &config, &[]);
    let text = String::from_utf8_lossy(&table.stdout);
    eprintln!("{text}");
    assert!(text.contains("unreachable"), "{text}");
    let prom = std::fs::read_to_string(bed.dir.path().join("backup.prom")).expect("metrics file");
    assert!(prom.contains("backup_audit_system_up{system=\"pbs\"} 0"));

    // 4. One Velero cluster whose newest backup is PartiallyFailed.
    bed.velero
        .cluster("agentic")
        .expect("agentic")
        .insert_json(velero_backup(
            "agentic-daily-20261127090000",
            "agentic-daily",
            "2026-11-27T09:00:00Z",
            "PartiallyFailed",
        ))
        .expect("insert");
    let config = write_config(
        &bed,
        &repos,
        &repos.db,
        &bed.pbs.base_url(),
        bed.velero.kubeconfig_path(),
    );
    let out = audit(&bed, &config, &["--json"]);
    let rows = json_rows(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(verdict(&rows, "velero-agentic"), "failed");
    let agentic = rows
        .iter()
        .find(|r| r["target"] == "velero-agentic")
        .unwrap();
    assert_eq!(agentic["latest_partial"], true);
    assert_eq!(verdict(&rows, "velero-prod"), "ok");
    assert_eq!(verdict(&rows, "velero-monit"), "ok");
    assert_no_secrets(&out, &bed);
}
