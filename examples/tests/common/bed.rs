//! The end-to-end test bed of `backup-audit check`, shared by `tests/audit_e2e.rs` and
//! `benches/audit.rs`: a real Garage, a real sshd, real restic (two plans: one over SSH, one
//! local), and the fakes for PBS, Velero (three kube contexts) and Infisical (which serves the
//! Garage credentials at `/backups/garage`).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use garage_client::testing::GarageServer;
use infisical_client::testing::FakeInfisical;
use jiff::Timestamp;
use pbs_client::testing::{FakePbs, FakePbsConfig, FakeSnapshot};
use restic_remote::testing::Sshd;
use restic_remote::{BackupOptions, Repository, Restic};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use velero_client::testing::FakeVelero;

pub const NOW: &str = "2026-11-27T12:00:00Z";
pub const INFISICAL_CLIENT_ID: &str = "audit-identity";
pub const INFISICAL_CLIENT_SECRET: &str = "audit-identity-secret-canary";

pub fn ts(s: &str) -> Timestamp {
    s.parse().expect("valid timestamp")
}

/// The test's matrix: three Velero clusters, two restic plans, one PBS VM, one disabled target.
pub const MATRIX: &str = r#"
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

pub struct Bed {
    pub dir: tempfile::TempDir,
    pub garage: GarageServer,
    pub sshd: Sshd,
    pub pbs: FakePbs,
    pub velero: FakeVelero,
    pub infisical: FakeInfisical,
}

pub fn velero_backup(name: &str, schedule: &str, started: &str, phase: &str) -> Value {
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

pub async fn make_repo(garage: &GarageServer, path: &str, times: &[&str]) -> String {
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

pub async fn start_bed() -> Bed {
    let garage = GarageServer::start()
        .await
        .expect("Garage starts (set GARAGE_BIN or run scripts/test.sh)");
    let sshd = Sshd::start().await.expect("sshd starts");
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
    let velero = FakeVelero::start().await.expect("fake Velero");
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
    let infisical = FakeInfisical::start().await.expect("fake Infisical starts");
    infisical.with_identity(INFISICAL_CLIENT_ID, INFISICAL_CLIENT_SECRET);
    for (key, value) in [
        ("ACCESS_KEY_ID", garage.access_key_id().to_owned()),
        (
            "SECRET_ACCESS_KEY",
            garage.secret_access_key().expose_secret().to_owned(),
        ),
        ("ENDPOINT", garage.s3_endpoint()),
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

pub struct Repos {
    pub web: String,
    pub db: String,
    pub db_stale: String,
}

/// Writes the runbook config and the matrix into the bed's directory; `pbs_url` and
/// `kubeconfig` let a test point at a dead PBS or at delaying proxies.
pub fn write_config(
    bed: &Bed,
    repos: &Repos,
    db_repo: &str,
    pbs_url: &str,
    kubeconfig: &Path,
) -> PathBuf {
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
        kubeconfig = kubeconfig.display(),
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

/// A TCP proxy on 127.0.0.1 that waits `delay` before forwarding each new connection: a slow
/// system, for the benchmark. Connections are reused by the clients, so the delay is paid once
/// per connection, like a slow handshake to a far-away host.
pub async fn delaying_proxy(upstream: SocketAddr, delay: Duration) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind proxy");
    let addr = listener.local_addr().expect("proxy addr");
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    addr
}

/// A copy of the fake Velero's kubeconfig whose every server goes through a delaying proxy,
/// one delay per context (in the kubeconfig's order).
pub async fn delayed_kubeconfig(bed: &Bed, delays: &[(&str, Duration)]) -> PathBuf {
    let mut text = std::fs::read_to_string(bed.velero.kubeconfig_path()).expect("read kubeconfig");
    for (context, delay) in delays {
        let cluster = bed.velero.cluster(context).expect("context");
        let url = cluster.url();
        let upstream: SocketAddr = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .expect("fake cluster address");
        let proxy = delaying_proxy(upstream, *delay).await;
        text = text.replace(&url, &format!("http://{proxy}"));
    }
    let path = bed.dir.path().join("kubeconfig-delayed");
    std::fs::write(&path, text).expect("write kubeconfig");
    path
}
