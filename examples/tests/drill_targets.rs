//! `restore-drill` for Velero and PBS targets and `--all`, driven as a user would, against the
//! fake kube-apiserver (Velero's controller: restores with namespace mapping and item counts,
//! core/v1 namespace deletion), the fake PBS (verify task, `download-decoded`) and, for
//! `--all`, a real Garage with a local restic plan (issue 18 item 6).

#[path = "runbooks/bed.rs"]
mod bed;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use bed::{assert_code, assert_no_secrets, both, json, stdout, write};
use garage_client::testing::GarageServer;
use pbs_client::testing::{FakePbs, FakePbsConfig, FakeSnapshot, TOKEN_ID};
use restic_remote::{BackupOptions, Repository, Restic};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use velero_client::BackupSpec;
use velero_client::testing::{FakeVelero, NamespaceSim};

const DRILL: &str = env!("CARGO_BIN_EXE_restore-drill");
const NEWEST: i64 = 1_764_295_200; // 2025-11-28T02:00:00Z
const OLDER: i64 = 1_763_690_400; // 2025-11-21T02:00:00Z
const QEMU_CONF: &[u8] = b"boot: order=scsi0\ncores: 2\nmemory: 4096\nname: web\n";

/// Targets every drill can prove, one disabled; DR rows covering each with its RTO.
const MATRIX: &str = r#"
title = "drill matrix"
timezone = "UTC"

[[storage]]
name = "garage"
kind = "garage-s3"
device = "hdd"

[[storage]]
name = "pbs-store"
kind = "pbs-datastore"
device = "ssd"
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
name = "drill"
kind = "lxc"
id = 100
tool = "restic"
paths = ["/srv"]
storage = "garage"
  [[target.schedule]]
  name = "daily"
  cron = "0 3 * * *"
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

[[dr]]
scenario = "PVC data loss"
method = "Velero restore"
rto = "30m"
tools = ["velero"]
protects = ["velero-prod"]

[[dr]]
scenario = "VM config corruption"
method = "Backrest file restore"
rto = "15m"
tools = ["restic"]
protects = ["drill"]

[[dr]]
scenario = "VM total loss"
method = "PBS full restore"
rto = "1h"
tools = ["pbs"]
protects = ["pbs-web"]
"#;

/// Extra targets for the failure paths: a cluster without a Completed backup, a guest whose
/// newest snapshot is corrupt, a cluster whose drill must finish in no time.
const MATRIX_FAULTS: &str = r#"
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
  cron = "0 2 * * *"
  retention = { ttl = "168h" }

[[target]]
name = "pbs-broken"
kind = "vm"
id = 452
tool = "pbs"
storage = "pbs-store"
  [[target.schedule]]
  name = "weekly"
  calendar = "sun 02:00"
  retention = { keep_weekly = 4 }

[[dr]]
scenario = "Instant cluster restore"
method = "Velero restore"
rto = "0s"
tools = ["velero"]
protects = ["velero-monit"]
"#;

struct Fakes {
    velero: FakeVelero,
    pbs: FakePbs,
    dir: tempfile::TempDir,
}

/// Runs a binary off the runtime's worker threads (the fakes serve on them).
async fn drill(config: &Path, rest: &[&str]) -> Output {
    let mut args = vec!["--config".to_owned(), config.display().to_string()];
    args.extend(rest.iter().map(|s| (*s).to_owned()));
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        bed::run(DRILL, &args)
    })
    .await
    .expect("join")
}

async fn start_fakes() -> Fakes {
    let velero = FakeVelero::start().await.expect("fake Velero");
    for ctx in ["prod", "monit"] {
        let cluster = velero.cluster(ctx).expect("context");
        cluster.set_namespace("web", NamespaceSim::with_items(5));
        cluster.set_namespace("shop", NamespaceSim::with_items(3));
        let client = velero
            .client_builder_for(ctx)
            .build()
            .await
            .expect("velero client");
        let mut spec = BackupSpec::default();
        spec.included_namespaces = Some(vec!["web".to_owned(), "shop".to_owned()]);
        client.create_backup("nightly", spec).await.expect("create");
        client
            .wait_for_backup("nightly", Duration::from_secs(20))
            .await
            .expect("backup completes");
        // A newer backup that failed: the drill must restore the newest *Completed* one.
        cluster
            .insert_json(json!({
                "apiVersion": "velero.io/v1", "kind": "Backup",
                "metadata": { "name": "later-failed", "namespace": "velero" },
                "spec": { "storageLocation": "default" },
                "status": { "phase": "Failed", "startTimestamp": "2030-01-01T00:00:00Z" }
            }))
            .expect("insert failed backup");
    }
    let pbs = FakePbs::start_with(FakePbsConfig::default().with_seed(false))
        .await
        .expect("fake PBS");
    pbs.add_datastore("store1");
    pbs.add_snapshot("store1", FakeSnapshot::new("", "vm", "450", OLDER));
    // The newest one was verified before: the drill must verify it again, not skip it.
    let mut newest =
        FakeSnapshot::new("", "vm", "450", NEWEST).with_blob("qemu-server.conf.blob", QEMU_CONF);
    newest.verification = Some((
        "ok".to_owned(),
        "UPID:pbs:00000001:00000001:00000001:65F00000:verify_snapshot:store1\\x3a-vm-450:root@pam:"
            .to_owned(),
    ));
    pbs.add_snapshot("store1", newest);
    let mut corrupt = FakeSnapshot::new("", "vm", "452", NEWEST);
    corrupt.corrupt = true;
    pbs.add_snapshot("store1", corrupt);
    Fakes {
        velero,
        pbs,
        dir: tempfile::tempdir().expect("tempdir"),
    }
}

/// The config: [velero] and [pbs] on the fakes, plus `extra` (restic plans, …).
fn write_config(f: &Fakes, name: &str, matrix: &str, extra: &str) -> PathBuf {
    let d = f.dir.path();
    let matrix_path = write(&d.join(format!("{name}.matrix.toml")), matrix);
    let token = write(&d.join("pbs.token"), f.pbs.token_secret().expose_secret());
    write(
        &d.join(format!("{name}.toml")),
        &format!(
            r#"matrix = "{matrix}"

[pbs]
url = "{url}"
fingerprint = "{fp}"
token_id = "{token_id}"
token_secret = {{ file = "{token}" }}
datastore = "store1"

[velero]
kubeconfig = "{kubeconfig}"
namespace = "velero"
contexts = {{ velero-prod = "prod", velero-agentic = "agentic", velero-monit = "monit" }}
{extra}"#,
            matrix = matrix_path.display(),
            url = f.pbs.base_url(),
            fp = f.pbs.fingerprint(),
            token_id = TOKEN_ID,
            token = token.display(),
            kubeconfig = f.velero.kubeconfig_path().display(),
        ),
    )
}

fn row<'a>(v: &'a Value, target: &str) -> &'a Value {
    v["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["target"] == target))
        .unwrap_or_else(|| panic!("no row {target}: {v:#}"))
}

/// Drills `target` with `--json`, asserts the exit code and returns the output and its row.
async fn drill_row(config: &Path, target: &str, code: i32) -> (Output, Value) {
    let out = drill(config, &[target, "--json"]).await;
    assert_code(&out, code);
    let r = row(&json(&out), target).clone();
    (out, r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn velero_and_pbs_targets_are_drilled() {
    let f = start_fakes().await;
    let matrix = format!("{MATRIX}{MATRIX_FAULTS}");
    let cfg = write_config(&f, "config", &matrix, "");
    let secret = f.pbs.token_secret().expose_secret().to_owned();

    // Velero: the newest Completed backup restored into scratch namespaces, counts compared,
    // scratch namespaces deleted, judged against the DR row's 30m.
    let out = drill(&cfg, &["velero-prod", "--json"]).await;
    assert_code(&out, 0);
    assert_no_secrets(&out, &[&secret]);
    let v = json(&out);
    let r = row(&v, "velero-prod");
    assert_eq!(r["result"], "PASS", "{v:#}");
    assert_eq!(r["scenario"], "PVC data loss");
    assert_eq!(r["rto_seconds"], 1800);
    let detail = r["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("backup nightly") && detail.contains("items 8/8 restored (backup 8)"),
        "{detail}"
    );
    let prod = f.velero.cluster("prod").expect("prod");
    let restores = prod.list_json("restores");
    assert_eq!(restores.len(), 1, "{restores:#?}");
    let spec = &restores[0]["spec"];
    assert_eq!(spec["backupName"], "nightly");
    assert_eq!(spec["includeClusterResources"], false);
    let mapping = spec["namespaceMapping"]
        .as_object()
        .expect("namespaceMapping");
    let sources: BTreeSet<&str> = mapping.keys().map(String::as_str).collect();
    assert_eq!(
        sources,
        BTreeSet::from(["shop", "web"]),
        "every namespace is mapped"
    );
    let scratch: BTreeSet<String> = mapping
        .values()
        .map(|n| n.as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        scratch.iter().all(|n| n.starts_with("drill-")),
        "{scratch:?}"
    );
    let deleted: BTreeSet<String> = prod.deleted_namespaces().into_iter().collect();
    assert_eq!(
        deleted, scratch,
        "the scratch namespaces, and only they, are deleted"
    );
    assert!(scratch.iter().all(|n| !prod.has_namespace(n)));
    assert!(prod.has_namespace("web") && prod.has_namespace("shop"));

    // PBS: a verify of the newest snapshot (again, though verified before), then its manifest
    // and config read back through the API.
    let before = f.pbs.snapshots("store1");
    let out = drill(&cfg, &["pbs-web", "--json"]).await;
    assert_code(&out, 0);
    assert_no_secrets(&out, &[&secret]);
    let v = json(&out);
    let r = row(&v, "pbs-web");
    assert_eq!(r["result"], "PASS", "{v:#}");
    assert_eq!(r["scenario"], "VM total loss");
    assert_eq!(r["rto_seconds"], 3600);
    let detail = r["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("vm/450/2025-11-28T02:00:00Z")
            && detail.contains("index.json.blob")
            && detail.contains(&format!("qemu-server.conf.blob ({} B)", QEMU_CONF.len())),
        "{detail}"
    );
    let upid_of = |snaps: &[FakeSnapshot]| {
        snaps
            .iter()
            .find(|s| s.backup_id == "450" && s.time == NEWEST)
            .and_then(|s| s.verification.clone())
            .map(|v| v.1)
    };
    let (was, now) = (upid_of(&before), upid_of(&f.pbs.snapshots("store1")));
    assert_ne!(was, now, "the newest snapshot was not verified again");
    assert!(now.unwrap_or_default().contains(":verify_snapshot:"));
    let older = f
        .pbs
        .snapshots("store1")
        .into_iter()
        .find(|s| s.backup_id == "450" && s.time == OLDER)
        .expect("older snapshot");
    assert!(
        older.verification.is_none(),
        "only the newest snapshot is verified"
    );

    // Text mode: one table row, the verdict and the share of the RTO.
    let out = drill(&cfg, &["pbs-web"]).await;
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains("pbs-web") && text.contains("VM total loss") && text.contains("PASS"),
        "{text}"
    );
    assert!(text.contains("1 passed, 0 failed"), "{text}");

    // A corrupt snapshot fails its verify: exit 1.
    let (_, r) = drill_row(&cfg, "pbs-broken", 1).await;
    assert_eq!(r["result"], "FAIL");
    assert!(
        r["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("verification failed"),
        "{r:#}"
    );

    // No Completed backup: the drill cannot run, exit 2.
    let (_, r) = drill_row(&cfg, "velero-agentic", 2).await;
    assert_eq!(r["result"], "ERROR");
    assert!(
        r["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("no Completed backup"),
        "{r:#}"
    );

    // An RTO of zero is exceeded: exit 1, scratch namespaces still deleted.
    let (out, r) = drill_row(&cfg, "velero-monit", 1).await;
    assert!(
        r["reason"].as_str().unwrap_or_default().contains("RTO 0ms"),
        "{r:#}"
    );
    let monit = f.velero.cluster("monit").expect("monit");
    assert_eq!(monit.deleted_namespaces().len(), 2, "{}", both(&out));

    // Scratch namespaces that cannot be deleted make the drill fail and say which.
    prod.forbid("delete", "namespaces");
    let (_, r) = drill_row(&cfg, "velero-prod", 1).await;
    let reason = r["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("scratch namespace drill-") && reason.contains("not deleted"),
        "{r:#}"
    );

    // restic-only options are refused for other targets.
    let out = drill(&cfg, &["pbs-web", "--keep"]).await;
    assert_code(&out, 2);
    // An unknown name lists the plans.
    let out = drill(&cfg, &["nope"]).await;
    assert_code(&out, 2);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("neither a restic plan"),
        "{}",
        both(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_drills_every_row_into_one_table() {
    let f = start_fakes().await;
    let garage = GarageServer::start()
        .await
        .expect("Garage starts (set GARAGE_BIN or run scripts/test.sh)");
    let d = f.dir.path();
    let data = d.join("data");
    write(&data.join("etc/app.conf"), "listen = 8080\n");
    let repo = format!("s3:{}/{}/all", garage.s3_endpoint(), garage.bucket());
    let restic = Restic::builder()
        .with_repository(
            Repository::new(repo.clone(), SecretString::from("all-drill-password"))
                .with_s3_credentials(
                    SecretString::from(garage.access_key_id().to_owned()),
                    garage.secret_access_key().clone(),
                    garage.region(),
                ),
        )
        .build()
        .expect("restic client");
    restic.init().await.expect("init");
    restic
        .backup(&BackupOptions::new([data.display().to_string()]))
        .await
        .expect("backup starts")
        .finish()
        .await
        .expect("backup");
    let pw = write(&d.join("repo.pw"), "all-drill-password");
    let key = write(&d.join("s3.key"), garage.access_key_id());
    let secret = write(
        &d.join("s3.secret"),
        garage.secret_access_key().expose_secret(),
    );
    let token = write(&d.join("admin.token"), garage.admin_token().expose_secret());
    let extra = format!(
        r#"
[garage]
s3_endpoint = "{s3}"
admin_endpoint = "{admin}"
region = "{region}"
access_key_id = {{ file = "{key}" }}
secret_access_key = {{ file = "{secret}" }}
admin_token = {{ file = "{token}" }}

[restic.drill]
repository = "{repo}"
password = {{ file = "{pw}" }}
"#,
        s3 = garage.s3_endpoint(),
        admin = garage.admin_endpoint(),
        region = garage.region(),
        key = key.display(),
        secret = secret.display(),
        token = token.display(),
        pw = pw.display(),
    );
    let cfg = write_config(&f, "all", MATRIX, &extra);

    let started = std::time::SystemTime::now();
    let out = drill(&cfg, &["--all", "--json"]).await;
    assert_no_secrets(
        &out,
        &[
            "all-drill-password",
            garage.secret_access_key().expose_secret(),
            f.pbs.token_secret().expose_secret(),
        ],
    );
    assert_code(&out, 0);
    let v = json(&out);
    let rows = v["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 4, "one row per matrix target: {v:#}");
    for (target, tool, scenario, rto) in [
        ("velero-prod", "velero", "PVC data loss", 1800),
        ("drill", "restic", "VM config corruption", 900),
        ("pbs-web", "pbs", "VM total loss", 3600),
    ] {
        let r = row(&v, target);
        assert_eq!(r["tool"], tool, "{r:#}");
        assert_eq!(r["result"], "PASS", "{r:#}");
        assert_eq!(r["scenario"], scenario, "{r:#}");
        assert_eq!(r["rto_seconds"], rto, "{r:#}");
        assert!(r["seconds"].as_f64().is_some_and(|s| s > 0.0), "{r:#}");
    }
    let unifi = row(&v, "unifi");
    assert_eq!(unifi["result"], "skipped");
    assert!(
        unifi["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("needs an SSH key"),
        "{unifi:#}"
    );
    assert_eq!(v["passed"], 3);
    assert_eq!(v["skipped"], 1);

    // The table: every target on its own row, the RTOs of the matrix.
    let out = drill(&cfg, &["--all"]).await;
    assert_code(&out, 0);
    let text = stdout(&out);
    for needle in [
        "velero-prod",
        "drill",
        "pbs-web",
        "unifi",
        "30m",
        "15m",
        "1h",
        "skipped",
        "3 passed, 0 failed, 0 could not run, 1 skipped",
    ] {
        assert!(text.contains(needle), "{needle:?} missing:\n{text}");
    }
    // No restic scratch directory is left behind by the local plan either.
    let leftovers: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .expect("tmp")
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("restore-drill-drill-")
        })
        .filter(|e| {
            e.metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t >= started)
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
