//! The fake PBS as proxmoxer (the Python client PVE/PBS users script against) sees it: the
//! script `scripts/fidelity/pbs_proxmoxer.py` drives it over real TLS with the fake's
//! certificate as its only trust anchor plus a SHA-256 pin. A fake proxmoxer trips on is wrong.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pbs_client::testing::{FakePbs, TOKEN_ID, USER};
use secrecy::ExposeSecret;

use super::common::fast_config;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../scripts/fidelity/pbs_proxmoxer.py"
);

/// The venv's python from `scripts/test.sh` (`install_python_clients`); no silent skip.
fn python() -> String {
    std::env::var("BACKUP_STACK_PYTHON").unwrap_or_else(|_| {
        panic!(
            "BACKUP_STACK_PYTHON is not set: this test runs proxmoxer against the fake. Run \
             scripts/test.sh, or create the venv: python3 -m venv ~/.cache/backup-stack/venv-fidelity \
             && ~/.cache/backup-stack/venv-fidelity/bin/pip install -r scripts/fidelity/requirements.txt \
             && export BACKUP_STACK_PYTHON=~/.cache/backup-stack/venv-fidelity/bin/python"
        )
    })
}

#[tokio::test]
async fn proxmoxer_accepts_the_fake() {
    let python = python();
    let pbs = FakePbs::start_with(fast_config()).await.unwrap();
    let port = pbs.base_url().rsplit(':').next().unwrap().to_owned();
    let pem = std::env::temp_dir().join(format!("pbs-fake-{}-{port}.pem", std::process::id()));
    std::fs::write(&pem, pbs.certificate_pem()).unwrap();
    let mut cmd = Command::new(&python);
    cmd.arg(SCRIPT)
        .args(["--host", "127.0.0.1", "--port", &port])
        .arg("--ca-file")
        .arg(&pem)
        .args(["--fingerprint", &pbs.fingerprint().to_string()])
        // Secrets only through the environment, and nothing else inherited.
        .env_clear()
        .env("PBS_TOKEN_ID", TOKEN_ID)
        .env("PBS_TOKEN_SECRET", pbs.token_secret().expose_secret())
        .env("PBS_USER", USER)
        .env("PBS_PASSWORD", pbs.password().expose_secret())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONIOENCODING", "utf-8")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // The fake runs on this test's runtime: wait for the child on a blocking thread, bounded.
    let (status, stdout, stderr) = tokio::task::spawn_blocking(move || {
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {python}: {e}"));
        let deadline = Instant::now() + Duration::from_secs(120);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let (mut out, mut err) = (String::new(), String::new());
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        (status, out, err)
    })
    .await
    .unwrap();
    std::fs::remove_file(&pem).ok();
    let report = format!("stdout:\n{stdout}\nstderr:\n{stderr}");
    let status =
        status.unwrap_or_else(|| panic!("proxmoxer script timed out after 120 s\n{report}"));
    assert!(
        status.success(),
        "proxmoxer script failed ({status})\n{report}"
    );
    assert!(
        stdout.lines().last() == Some("all 20 checks passed"),
        "unexpected output\n{report}"
    );
}
