//! Keep alert lifecycle: one firing alert per failing row, no duplicate while it stays failing,
//! resolved (same fingerprint) on recovery, nothing remembered until delivered.

use super::*;
use crate::audit::{GarageState, SystemResult, assemble};
use backup_policy::compliance::{Observation, Outcome};
use backup_policy::matrix::Matrix;
use jiff::Timestamp;

const MATRIX: &str = r#"
title = "keep test"
timezone = "UTC"
grace = "1h"

[[storage]]
name = "garage"
kind = "garage-s3"
device = "hdd"

[[target]]
name = "db-daily"
kind = "lxc"
id = 100
tool = "restic"
paths = ["/var/lib/db"]
storage = "garage"
  [[target.schedule]]
  name = "daily"
  cron = "0 4 * * *"
  retention = { keep_daily = 7 }

[[target]]
name = "web-daily"
kind = "vm"
id = 450
tool = "restic"
paths = ["/srv"]
storage = "garage"
  [[target.schedule]]
  name = "daily"
  cron = "0 3 * * *"
  retention = { keep_daily = 7 }
"#;

const NOW: &str = "2026-11-27T12:00:00Z";

fn matrix() -> Matrix {
    Matrix::from_toml(MATRIX, "keep-test").unwrap()
}

/// An audit where `db-daily` last succeeded at `db_last` (None: its system is down).
fn audit(matrix: &Matrix, db_last: Option<&str>) -> Audit {
    let now: Timestamp = NOW.parse().unwrap();
    let obs = |t: &str, at: &str| Observation::new(t, at.parse().unwrap(), Outcome::Success);
    let results = vec![
        SystemResult {
            system: "restic/db-daily".into(),
            targets: vec!["db-daily".into()],
            observations: match db_last {
                Some(at) => Ok(vec![obs("db-daily", at)]),
                None => Err("connection refused".into()),
            },
            elapsed_ms: 1,
        },
        SystemResult {
            system: "restic/web-daily".into(),
            targets: vec!["web-daily".into()],
            observations: Ok(vec![obs("web-daily", "2026-11-27T03:00:30Z")]),
            elapsed_ms: 1,
        },
    ];
    assemble(matrix, results, GarageState::default(), now)
}

fn deliver_all(state: &mut KeepState, audit: &Audit) -> Vec<KeepAlert> {
    let due = state.due(audit);
    for a in &due {
        let status = audit
            .rows
            .iter()
            .find(|r| fingerprint(&r.report.target, r.report.schedule.as_deref()) == a.fingerprint)
            .map(|r| r.status);
        state.delivered(a, status);
    }
    due
}

#[test]
fn fingerprint_is_a_pinned_hash_of_the_row() {
    // `printf 'db-daily\0daily\0backup-compliance\0' | sha256sum`: the same in every process,
    // so a restart does not open a second alert in Keep.
    assert_eq!(
        fingerprint("db-daily", Some("daily")),
        "f6100185a17ef02e357dd844b3b37b788a6a89403dcba13995afbed8918b55fe"
    );
    assert_ne!(
        fingerprint("db-daily", Some("weekly")),
        fingerprint("db-daily", Some("daily"))
    );
    // The separator keeps `a`+`bc` and `ab`+`c` apart.
    assert_ne!(fingerprint("a", Some("bc")), fingerprint("ab", Some("c")));
}

#[test]
fn one_alert_per_failing_row_then_resolved() {
    let m = matrix();
    let mut state = KeepState::default();

    // Late: exactly one firing alert, for db-daily only, in Keep's fields.
    let late = audit(&m, Some("2026-11-25T04:00:30Z"));
    let sent = deliver_all(&mut state, &late);
    assert_eq!(sent.len(), 1, "{sent:#?}");
    let a = &sent[0];
    assert_eq!(a.name, "BackupLate");
    assert_eq!(a.status, "firing");
    assert_eq!(a.severity, "warning");
    assert_eq!(a.source, ["backup-audit"]);
    assert_eq!(a.labels["target"], "db-daily");
    assert_eq!(a.fingerprint, fingerprint("db-daily", Some("daily")));
    let json = serde_json::to_value(a).unwrap();
    for field in [
        "name",
        "status",
        "severity",
        "fingerprint",
        "source",
        "labels",
        "description",
        "lastReceived",
    ] {
        assert!(json.get(field).is_some(), "{field} missing: {json}");
    }

    // Still late on the next cycles: nothing new.
    assert!(deliver_all(&mut state, &late).is_empty());
    assert!(deliver_all(&mut state, &late).is_empty());

    // Unreachable now: one update of the same alert (same fingerprint, new name/severity).
    let down = audit(&m, None);
    let sent = deliver_all(&mut state, &down);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].name, "BackupUnreachable");
    assert_eq!(sent[0].severity, "critical");
    assert_eq!(sent[0].fingerprint, a.fingerprint);

    // Recovered: one resolved alert with the same fingerprint, then silence.
    let ok = audit(&m, Some("2026-11-27T04:00:30Z"));
    let sent = deliver_all(&mut state, &ok);
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0].status, "resolved");
    assert_eq!(sent[0].fingerprint, a.fingerprint);
    assert_eq!(sent[0].labels["verdict"], "ok");
    assert!(deliver_all(&mut state, &ok).is_empty());
    assert_eq!(state.firing().count(), 0);
}

#[test]
fn an_undelivered_alert_is_retried_and_a_vanished_row_resolves() {
    let m = matrix();
    let mut state = KeepState::default();
    let late = audit(&m, Some("2026-11-25T04:00:30Z"));
    // Not delivered: due again next cycle.
    assert_eq!(state.due(&late).len(), 1);
    assert_eq!(state.due(&late).len(), 1);
    deliver_all(&mut state, &late);
    assert_eq!(state.firing().count(), 1);

    // The row leaves the matrix (new config): its alert resolves instead of firing forever.
    let mut smaller = m;
    smaller.target.retain(|t| t.name != "db-daily");
    let without = audit(&smaller, Some("2026-11-25T04:00:30Z"));
    let sent = deliver_all(&mut state, &without);
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0].status, "resolved");
    assert_eq!(sent[0].labels["verdict"], "gone");
    assert_eq!(state.firing().count(), 0);
}

#[tokio::test]
async fn keep_client_never_echoes_the_url_or_key() {
    // Nothing listens there: the error must name neither the URL's token nor the API key.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/alerts/event?token=url-token-canary",
        closed.local_addr().unwrap()
    );
    drop(closed);
    let mut client = KeepClient::new(
        SecretString::from(url),
        Some(SecretString::from("api-key-canary")),
    )
    .unwrap();
    let late = audit(&matrix(), Some("2026-11-25T04:00:30Z"));
    let err = client.notify(&late).await.unwrap_err();
    let text = format!("{err:#} {err:?} {client:?}");
    assert!(!text.contains("url-token-canary"), "{text}");
    assert!(!text.contains("api-key-canary"), "{text}");
    // And it is retried: still due.
    assert_eq!(client.state.due(&late).len(), 1);
    // A bad URL fails at start-up without echoing it.
    let err = KeepClient::new(
        SecretString::from("not a url token-canary".to_owned()),
        None,
    )
    .unwrap_err();
    assert!(!format!("{err:#}").contains("token-canary"));
}
