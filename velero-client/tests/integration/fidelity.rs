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
