//! Helpers shared by the runbook tests: running a binary, writing files, the test matrix.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The test matrix: one restic plan (`drill`), one PBS VM, one Velero cluster, and DR scenarios
/// (the seed's restic one, and one with a zero RTO that every drill exceeds).
pub const MATRIX: &str = r#"
title = "runbook test matrix"
timezone = "UTC"

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
name = "drill"
kind = "lxc"
id = 100
tool = "restic"
paths = ["DATA"]
storage = "garage"
  [[target.schedule]]
  name = "daily"
  cron = "0 3 * * *"
  retention = { keep_daily = 7, keep_weekly = 4 }

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

[[dr]]
scenario = "VM config corruption"
method = "Backrest file restore"
rto = "15m"
tools = ["restic"]

[[dr]]
scenario = "Impossible"
method = "instant restore"
rto = "0s"
tools = ["restic"]
"#;

/// Writes `text` to `path` (creating parents) and returns the path.
pub fn write(path: &Path, text: &str) -> PathBuf {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create dir");
    }
    std::fs::write(path, text).expect("write file");
    path.to_path_buf()
}

/// Writes the matrix into `dir` with the restic plan's path set to `data`.
pub fn write_matrix(dir: &Path, data: &Path) -> PathBuf {
    write(
        &dir.join("matrix.toml"),
        &MATRIX.replace("DATA", &data.display().to_string()),
    )
}

/// Runs a binary with arguments, never inheriting `BACKUP_AUDIT_CONFIG`.
pub fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .env_remove("BACKUP_AUDIT_CONFIG")
        .output()
        .unwrap_or_else(|e| panic!("{bin} runs: {e}"))
}

/// stdout as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// stdout and stderr, for failure messages.
pub fn both(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Asserts the exit code, showing the output otherwise.
pub fn assert_code(out: &Output, code: i32) {
    assert_eq!(out.status.code(), Some(code), "{}", both(out));
}

/// Parses stdout as JSON.
pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is JSON: {e}\n{}", both(out)))
}

/// Asserts that none of `secrets` appears in the output.
pub fn assert_no_secrets(out: &Output, secrets: &[&str]) {
    let all = both(out);
    for s in secrets {
        assert!(!all.contains(s), "a secret leaked into the output");
    }
}
