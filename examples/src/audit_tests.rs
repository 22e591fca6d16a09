//! Unit tests of the audit's outputs: the textfile's mode, the webhook's handling of URLs.

use super::*;
use std::io::{Read, Write as _};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// This process's umask, from `/proc/self/status` (no unsafe `umask(2)` round trip).
fn umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .expect("Umask line");
    u32::from_str_radix(line.trim(), 8).expect("octal umask")
}

#[test]
fn textfile_mode_follows_the_umask_not_tempfiles_0600() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backup.prom");
    write_atomically(&path, "a 1\n").unwrap();
    // Overwriting keeps the same rule.
    write_atomically(&path, "a 2\n").unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "a 2\n");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    let mask = umask();
    assert_eq!(mode, 0o666 & !mask, "mode {mode:o} under umask {mask:o}");
    if mask == 0o022 {
        assert_eq!(mode, 0o644);
    }
    // No temp file is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["backup.prom"]);
}

fn failing_audit() -> Audit {
    let matrix = Matrix::homelab().unwrap();
    let audit = assemble(
        &matrix,
        Vec::new(),
        GarageState::default(),
        Timestamp::now(),
    );
    assert!(audit.is_failing());
    audit
}

/// A loopback server answering every connection with `head` (bounded: at most 4 connections).
fn server(head: &'static str) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            let Ok(mut stream) = stream else { return };
            counter.fetch_add(1, Ordering::SeqCst);
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 16 * 1024];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(head.as_bytes());
        }
    });
    (format!("http://{addr}"), hits)
}

#[tokio::test]
async fn webhook_redirects_are_not_followed_and_the_url_is_never_echoed() {
    let audit = failing_audit();
    let (target, target_hits) = server("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    let head: &'static str = Box::leak(
        format!(
            "HTTP/1.1 307 Temporary Redirect\r\nlocation: {target}/stolen?token=followed-canary\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        )
        .into_boxed_str(),
    );
    let (redirector, _) = server(head);
    let url = format!("{redirector}/alerts?token=webhook-token-canary");
    let err = post_webhook(&url, &audit).await.unwrap_err();
    let text = format!("{err:#} {err:?}");
    assert!(text.contains("307"), "{text}");
    assert!(!text.contains("webhook-token-canary"), "{text}");
    assert!(!text.contains("followed-canary"), "{text}");
    assert_eq!(
        target_hits.load(Ordering::SeqCst),
        0,
        "the redirect was followed"
    );
}

#[tokio::test]
async fn webhook_transport_errors_do_not_carry_the_url() {
    let audit = failing_audit();
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let url = format!("http://{addr}/alerts?token=webhook-token-canary");
    let err = post_webhook(&url, &audit).await.unwrap_err();
    let text = format!("{err:#} {err:?}");
    assert!(!text.contains("webhook-token-canary"), "{text}");
    let err = post_webhook("not a url ?token=webhook-token-canary", &audit)
        .await
        .unwrap_err();
    assert!(!format!("{err:#}").contains("webhook-token-canary"));
}

/// restic 0.17+ snapshot summaries carry `backup_start`/`backup_end` (restic's
/// `internal/data/snapshot.go`, `SnapshotSummary`): the run time is their difference; a summary
/// without them, or with the end before the start, gives none.
#[test]
fn restic_run_time_comes_from_the_summary() {
    let summary = serde_json::json!({
        "backup_start": "2026-11-27T03:00:00.123456789+01:00",
        "backup_end": "2026-11-27T02:42:30.123456789Z",
        "total_bytes_processed": 1024
    });
    assert_eq!(
        restic_run_time(&summary),
        Some(jiff::SignedDuration::from_secs(42 * 60 + 30))
    );
    assert_eq!(
        restic_run_time(&serde_json::json!({"total_bytes_processed": 1})),
        None
    );
    let reversed = serde_json::json!({"backup_start": "2026-11-27T03:00:00Z", "backup_end": "2026-11-27T02:00:00Z"});
    assert_eq!(restic_run_time(&reversed), None);
}

#[test]
fn textfile_escapes_hostile_label_values_and_keeps_every_series() {
    let mut audit = failing_audit();
    audit.rows[0].report.target = "we\"ird\\name\nnext".to_owned();
    audit.systems = vec![SystemSummary {
        system: "pbs\n\"".to_owned(),
        up: false,
        error: Some("connection refused".to_owned()),
        observations: 0,
        elapsed_ms: 3,
    }];
    let text = render_prometheus(&audit);
    assert!(
        text.contains(r#"backup_audit_system_up{system="pbs\n\""} 0"#),
        "{text}"
    );
    assert!(
        text.contains(r#"target="we\"ird\\name\nnext""#),
        "label value not escaped:\n{text}"
    );
    // Every sample line stays one line: the newline never splits a series.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        assert!(
            line.starts_with("backup_audit_"),
            "a stray line: {line:?}\n{text}"
        );
    }
    for family in [
        "backup_audit_status",
        "backup_audit_retained",
        "backup_audit_system_up",
        "backup_audit_timestamp_seconds",
    ] {
        assert!(text.contains(&format!("# TYPE {family} gauge")), "{family}");
    }
    let statuses = text
        .lines()
        .filter(|l| l.starts_with("backup_audit_status{"))
        .count();
    assert_eq!(statuses, audit.rows.len() * ALL_STATUSES.len());
}
