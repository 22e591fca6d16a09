//! End to end: `backup-audit check` run as a user would, against a real Garage, a real sshd,
//! real restic (two plans: one over SSH, one local), and the fakes for PBS, Velero (three kube
//! contexts) and Infisical (which serves the Garage credentials at `/backups/garage`).
//!
//! One test starts every service once and runs the scenarios in order: everything healthy; one
//! plan late; PBS down; one Velero cluster whose newest backup is PartiallyFailed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use garage_client::testing::GarageServer;
use infisical_client::testing::FakeInfisical;
use jiff::Timestamp;
use pbs_client::testing::{FakePbs, FakePbsConfig, FakeSnapshot};
use restic_remote::testing::Sshd;
use restic_remote::{BackupOptions, Repository, Restic};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use velero_client::testing::FakeVelero;

const NOW: &str = "2026-11-27T12:00:00Z";
const INFISICAL_CLIENT_ID: &str = "audit-identity";
const INFISICAL_CLIENT_SECRET: &str = "audit-identity-secret-canary";

fn ts(s: &str) -> Timestamp {
    s.parse().expect("valid timestamp")
}

/// The test's matrix: three Velero clusters, two restic plans, one PBS VM, one disabled target.
const MATRIX: &str = r#"
title = "e2e matrix"
timezone = "UTC"
grace = "1h"

[[storage]]
name = "garage"
kind = "garage-s3"
device = "hdd"

[[storage]]
name = "pbs-store"
kind = "pbs-datastore"
device = "hdd"
datastore = "store1"

[[target]]
name = "velero-prod"
kind = "k8s-cluster"
tool = "velero"
kube_context = "prod"
storage = "garage"
  [[target.schedule]]
  name = "daily"
  cron = "0 2 * * *"
  retention = { ttl = "168h" }

[[target]]
name = "velero-agentic"
kind = "k8s-cluster"
tool = "velero"
kube_context = "agentic"
storage = "garage"
  [[target.schedule]]
  name = "daily"
  cron = "0 2 * * *"
  retention = { ttl = "168h" }

[[target]]
name = "velero-monit"
kind = "k8s-cluster"
tool = "velero"
kube_context = "monit"
storage = "garage"
  [[target.schedule]]
  name = "daily"
  cron = "30 2 * * *"
  retention = { ttl = "168h" }

[[target]]
name = "web-daily"
kind = "vm"
id = 450
host = "127.0.0.1"
tool = "restic"
paths = ["/srv"]
storage = "garage"
bucket = "BUCKET"
  [[target.schedule]]
  name = "daily"
  cron = "0 3 * * *"
  retention = { keep_daily = 7, keep_weekly = 4 }

[[target]]
name = "db-daily"
kind = "lxc"
id = 100
tool = "restic"
paths = ["/var/lib/db"]
storage = "garage"
bucket = "BUCKET"
  [[target.schedule]]
  name = "daily"
  cron = "0 4 * * *"
  retention = { keep_daily = 7 }

[[target]]
name = "pbs-web"
kind = "vm"
id = 450
tool = "pbs"
storage = "pbs-store"
  [[target.schedule]]
  name = "weekly"
  calendar = "sun 02:00"
  retention = { keep_weekly = 4 }

[[target]]
name = "unifi"
kind = "vm"
id = 451
tool = "restic"
storage = "garage"
enabled = false
disabled_reason = "needs an SSH key"
"#;

struct Bed {
    dir: tempfile::TempDir,
    garage: GarageServer,
    sshd: Sshd,
    pbs: FakePbs,
    velero: FakeVelero,
    infisical: FakeInfisical,
}

fn velero_backup(name: &str, schedule: &str, started: &str, phase: &str) -> Value {
    json!({
        "apiVersion": "velero.io/v1",
        "kind": "Backup",
        "metadata": {
            "name": name,
            "namespace": "velero",
            "labels": { "velero.io/schedule-name": schedule, "velero.io/storage-location": "default" }
        },
        "spec": { "ttl": "168h0m0s", "storageLocation": "default" },
        "status": {
            "phase": phase,
            "startTimestamp": started,
            "completionTimestamp": started,
            "expiration": "2026-12-04T02:00:00Z",
            "progress": { "totalItems": 10, "itemsBackedUp": 10 },
            "errors": if phase == "PartiallyFailed" { 2 } else { 0 }
        }
    })
}

async fn make_repo(garage: &GarageServer, path: &str, times: &[&str]) -> String {
    let uri = format!("s3:{}/{}/{path}", garage.s3_endpoint(), garage.bucket());
    let repo = Repository::new(uri.clone(), SecretString::from("repo-password-canary"))
        .with_s3_credentials(
            SecretString::from(garage.access_key_id().to_owned()),
            garage.secret_access_key().clone(),
            garage.region(),
        );
    let restic = Restic::builder()
        .with_repository(repo)
        .build()
        .expect("restic client");
    restic.init().await.expect("restic init");
    let data = tempfile::tempdir().expect("tempdir");
    std::fs::write(data.path().join("file.txt"), path.repeat(100)).expect("write data");
    for t in times {
        let run = restic
            .backup(
                &BackupOptions::new([data.path().to_string_lossy().into_owned()]).with_time(ts(t)),
            )
            .await
            .expect("restic backup starts");
        run.finish().await.expect("restic backup");
    }
    uri
}

async fn start_bed() -> Bed {
    let garage = tokio::task::spawn_blocking(GarageServer::start)
        .await
        .expect("join")
        .expect("Garage starts (set GARAGE_BIN or run scripts/test.sh)");
    let sshd = tokio::task::spawn_blocking(Sshd::start)
        .await
        .expect("join")
        .expect("sshd starts");
    let pbs = FakePbs::start_with(FakePbsConfig::default().with_seed(false))
        .await
        .expect("fake PBS");
    pbs.add_datastore("store1");
    for t in ["2026-11-15T02:00:00Z", "2026-11-22T02:00:00Z"] {
        pbs.add_snapshot(
            "store1",
            FakeSnapshot::new("", "vm", "450", ts(t).as_second()),
        );
    }
    let velero = FakeVelero::start_homelab().await.expect("fake Velero");
    for (ctx, schedule, at) in [
        ("prod", "prod-daily", "2026-11-27T02:00:05Z"),
        ("agentic", "agentic-daily", "2026-11-27T02:00:05Z"),
        ("monit", "monit-daily", "2026-11-27T02:30:05Z"),
    ] {
        let cluster = velero.cluster(ctx).expect("context");
        cluster
            .insert_json(velero_backup(
                &format!("{schedule}-20261126020005"),
                schedule,
                "2026-11-26T02:00:05Z",
                "Completed",
            ))
            .expect("insert backup");
        cluster
            .insert_json(velero_backup(
                &format!("{schedule}-20261127020005"),
                schedule,
                at,
                "Completed",
            ))
            .expect("insert backup");
    }
    let infisical = FakeInfisical::start().await;
    infisical.with_identity(INFISICAL_CLIENT_ID, INFISICAL_CLIENT_SECRET);
    for (key, value) in [
        ("ACCESS_KEY_ID", garage.access_key_id().to_owned()),
        (
            "SECRET_ACCESS_KEY",
            garage.secret_access_key().expose_secret().to_owned(),
        ),
        ("ENDPOINT", garage.s3_endpoint().to_string()),
        (
            "ADMIN_TOKEN",
            garage.admin_token().expose_secret().to_owned(),
        ),
    ] {
        infisical.with_secret("prod", "/backups/garage", key, &value);
    }
    Bed {
        dir: tempfile::tempdir().expect("tempdir"),
        garage,
        sshd,
        pbs,
        velero,
        infisical,
    }
}

struct Repos {
    web: String,
    db: String,
    db_stale: String,
}

fn write_config(bed: &Bed, repos: &Repos, db_repo: &str, pbs_url: &str) -> PathBuf {
    let dir = bed.dir.path();
    let password = dir.join("repo.password");
    std::fs::write(&password, "repo-password-canary\n").expect("write password");
    std::fs::write(
        dir.join("matrix.toml"),
        MATRIX.replace("BUCKET", bed.garage.bucket()),
    )
    .expect("write matrix");
    let config = format!(
        r#"
matrix = "{matrix}"

[infisical]
url = "{infisical}"
project_id = "{project}"
environment = "prod"
path = "/backups/garage"
client_id = {{ env = "E2E_INFISICAL_CLIENT_ID" }}
client_secret = {{ env = "E2E_INFISICAL_CLIENT_SECRET" }}

[garage]
s3_endpoint = "{s3}"
admin_endpoint = "{admin}"
region = "{region}"
access_key_id = {{ infisical = "ACCESS_KEY_ID" }}
secret_access_key = {{ infisical = "SECRET_ACCESS_KEY" }}
admin_token = {{ infisical = "ADMIN_TOKEN" }}

[pbs]
url = "{pbs_url}"
fingerprint = "{fingerprint}"
token_id = "{token_id}"
token_secret = {{ env = "E2E_PBS_TOKEN" }}
datastore = "store1"

[velero]
kubeconfig = "{kubeconfig}"
namespace = "velero"

[restic.web-daily]
repository = "{web}"
password = {{ file = "{password}" }}
ssh = {{ host = "127.0.0.1", port = {ssh_port}, user = "{ssh_user}", key_file = "{key}", known_hosts = "{known_hosts}", restic_bin = "restic" }}

[restic.db-daily]
repository = "{db}"
password = {{ file = "{password}" }}
"#,
        matrix = dir.join("matrix.toml").display(),
        infisical = bed.infisical.base_url(),
        project = bed.infisical.project_id(),
        s3 = bed.garage.s3_endpoint(),
        admin = bed.garage.admin_endpoint(),
        region = bed.garage.region(),
        fingerprint = bed.pbs.fingerprint(),
        token_id = pbs_client::testing::TOKEN_ID,
        kubeconfig = bed.velero.kubeconfig_path().display(),
        web = repos.web,
        db = db_repo,
        password = password.display(),
        ssh_port = bed.sshd.port(),
        ssh_user = bed.sshd.user(),
        key = bed.sshd.client_key_path().display(),
        known_hosts = bed.sshd.known_hosts_path().display(),
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, config).expect("write config");
    path
}

fn audit(bed: &Bed, config: &Path, extra: &[&str]) -> Output {
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
        .env(
            "E2E_PBS_TOKEN",
            bed.pbs.token_secret().expose_secret().to_owned(),
        )
        .env_remove("BACKUP_AUDIT_CONFIG");
    cmd.output().expect("backup-audit runs")
}

fn json_rows(out: &Output) -> Vec<Value> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "JSON output: {e}\nstdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    v["rows"].as_array().expect("rows").clone()
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
    let config = write_config(&bed, &repos, &repos.db, &bed.pbs.base_url());
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
    let config = write_config(&bed, &repos, &repos.db_stale, &bed.pbs.base_url());
    let out = audit(&bed, &config, &["--json"]);
    let rows = json_rows(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(verdict(&rows, "db-daily"), "late");
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
    let config = write_config(&bed, &repos, &repos.db, &dead_url);
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
    let config = write_config(&bed, &repos, &repos.db, &bed.pbs.base_url());
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
