//! An independent client against the fake: Infisical's official Python SDK (`infisicalsdk`,
//! installed by scripts/test.sh into the venv named by `BACKUP_STACK_PYTHON`) logs in with
//! Universal Auth and reads `/backups/garage` from `FakeInfisical`. Where the SDK trips, the
//! fake is wrong.

use crate::{CLIENT_ID, CLIENT_SECRET, seed_garage};
use infisical_client::testing::FakeInfisical;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn python() -> String {
    match std::env::var("BACKUP_STACK_PYTHON") {
        Ok(p) if !p.trim().is_empty() => p,
        _ => panic!(
            "BACKUP_STACK_PYTHON is not set: this test runs Infisical's official Python SDK \
             against the fake. Run scripts/test.sh (it creates the venv), or create one: \
             python3 -m venv ~/.cache/backup-stack/venv-fidelity && \
             ~/.cache/backup-stack/venv-fidelity/bin/pip install -r scripts/fidelity/requirements.txt \
             && export BACKUP_STACK_PYTHON=~/.cache/backup-stack/venv-fidelity/bin/python"
        ),
    }
}

/// Runs the script with a bounded wait; returns (exit success, stdout, stderr).
fn run_script(fake: &FakeInfisical) -> (bool, String, String) {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts/fidelity/infisical_sdk.py");
    let mut child = Command::new(python())
        .arg(&script)
        .env("INFISICAL_SITE_URL", fake.base_url())
        .env("INFISICAL_CLIENT_ID", CLIENT_ID)
        .env("INFISICAL_CLIENT_SECRET", CLIENT_SECRET)
        .env("INFISICAL_PROJECT_ID", fake.project_id())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {} {}: {e}", python(), script.display()));
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the SDK script") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the SDK script did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_string(&mut out);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_string(&mut err);
    }
    (status.success(), out, err)
}

#[test]
fn official_python_sdk_accepts_the_fake() {
    let fake = FakeInfisical::start_blocking().expect("fake Infisical starts");
    fake.with_identity(CLIENT_ID, CLIENT_SECRET);
    seed_garage(&fake);
    fake.with_secret("prod", "/shared", "SHARED_ONLY", "from-the-import")
        .with_import("prod", "/backups/garage", "prod", "/shared");
    let (ok, out, err) = run_script(&fake);
    assert!(ok, "the SDK failed against the fake:\n{err}\n{out}");
    let report: serde_json::Value =
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));

    assert_eq!(report["login"]["tokenType"], "Bearer");
    assert_eq!(report["login"]["has_token"], true);
    assert_eq!(report["login"]["expiresIn"], 2_592_000);
    let garage = &report["garage"];
    assert_eq!(garage["ACCESS_KEY_ID"], "GK31c2f218a2e44f485b94239e");
    assert_eq!(
        garage["SECRET_ACCESS_KEY"],
        "b892c0665f0ada8a4755dae98baa3b133590e11dae3bcc1f9d769d67f16c3835"
    );
    assert_eq!(garage["ENDPOINT"], "http://127.0.0.1:3900");
    assert_eq!(garage["ADMIN_TOKEN"], "adm-5bc5e2f8d0a94e6c");
    assert_eq!(garage.as_object().map(|o| o.len()), Some(4));
    assert_eq!(
        report["garage_paths"],
        serde_json::json!(["/backups/garage"])
    );
    assert_eq!(report["garage_hidden"], serde_json::json!([]));
    assert_eq!(
        report["garage_imports"],
        serde_json::json!([{"secretPath": "/shared", "environment": "prod", "keys": ["SHARED_ONLY"]}])
    );
    assert_eq!(report["one"]["key"], "ACCESS_KEY_ID");
    assert_eq!(report["one"]["value"], "GK31c2f218a2e44f485b94239e");
    assert_eq!(report["imported"]["value"], "from-the-import");
    assert_eq!(report["missing_folder"]["status"], 404);
    assert_eq!(report["missing_folder"]["error"], "SecretPathNotFound");

    // The SDK speaks v3: every secrets request it sent was answered by the v3 routes, with
    // the SDK's own parameter names, and the fake accepted each one.
    let reqs = fake.requests();
    assert!(
        reqs.iter()
            .filter(|r| r.path.starts_with("/api/v3/secrets/raw"))
            .all(|r| r.param("workspaceId") == Some(fake.project_id()) && r.authorized),
        "{reqs:?}"
    );
    assert_eq!(fake.count("/api/v1/auth/universal-auth/login"), 1);
    assert_eq!(fake.count("/api/v3/secrets/raw"), 4);
}
