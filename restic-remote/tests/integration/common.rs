//! Shared fixtures: one way to start sshd, Garage and a client for every test.

use std::path::{Path, PathBuf};
use std::time::Duration;

use garage_client::testing::GarageServer;
use restic_remote::testing::Sshd;
use restic_remote::{Repository, Restic, SshTransport, Transport};
use secrecy::{ExposeSecret as _, SecretString};

pub const PASSWORD: &str = "integration-test-password";

pub async fn connect(sshd: &Sshd) -> SshTransport {
    sshd.client_builder()
        .with_connect_timeout(Duration::from_secs(10))
        .connect()
        .await
        .unwrap_or_else(|e| panic!("ssh connect: {e}\n{}", sshd.log()))
}

pub fn garage_repo(garage: &GarageServer, prefix: &str, password: &str) -> Repository {
    Repository::new(
        format!("s3:{}/{}/{prefix}", garage.s3_endpoint(), garage.bucket()),
        SecretString::from(password.to_owned()),
    )
    .with_s3_credentials(
        SecretString::from(garage.access_key_id().to_owned()),
        SecretString::from(garage.secret_access_key().expose_secret().to_owned()),
        garage.region(),
    )
}

pub fn client(transport: impl Into<Transport>, repo: Repository, cache: &Path) -> Restic {
    Restic::builder()
        .with_transport(transport)
        .with_repository(repo)
        .with_cache_dir(cache.display().to_string())
        .with_request_timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

/// A small tree with a few files of known content.
pub fn make_tree(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for (rel, content) in [
        ("a.txt", b"hello restic\n".to_vec()),
        (
            "sub/b.bin",
            (0..50_000u32).flat_map(|i| i.to_le_bytes()).collect(),
        ),
        ("sub/deeper/c.txt", b"third file".to_vec()),
        ("skip.tmp", b"excluded".to_vec()),
    ] {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, &content).unwrap();
        files.push((p, content));
    }
    files
}

/// PIDs of running processes whose command line contains `marker`.
pub fn processes_with(marker: &str) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    let me = std::process::id();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        if let Ok(cmd) = std::fs::read(entry.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(marker) {
                found.push((pid, cmd));
            }
        }
    }
    found
}

/// Waits until no process mentions `marker` (restic is interrupted, cleans up and exits).
pub async fn wait_no_process(marker: &str, within: Duration) -> Vec<(u32, String)> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left: Vec<_> = processes_with(marker)
            .into_iter()
            .filter(|(_, c)| c.contains("restic"))
            .collect();
        if left.is_empty() || tokio::time::Instant::now() > deadline {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
