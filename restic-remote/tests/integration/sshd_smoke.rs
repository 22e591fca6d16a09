//! The test bed itself: the real sshd accepts its generated key and refuses a stranger's.

use std::process::Command;

use restic_remote::testing::Sshd;

fn ssh(sshd: &Sshd, key: &std::path::Path, command: &str) -> std::process::Output {
    Command::new("ssh")
        .args([
            "-F",
            "/dev/null",
            "-T",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
        ])
        .arg("-o")
        .arg(format!(
            "UserKnownHostsFile={}",
            sshd.known_hosts_path().display()
        ))
        .args(["-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=10"])
        .arg("-i")
        .arg(key)
        .arg("-p")
        .arg(sshd.port().to_string())
        .arg(format!("{}@127.0.0.1", sshd.user()))
        .arg(command)
        .output()
        .expect("running the ssh client")
}

#[test]
fn sshd_accepts_generated_key_and_runs_a_command() {
    let sshd = Sshd::start_blocking().expect("sshd starts");
    let out = ssh(
        &sshd,
        &sshd.client_key_path(),
        "echo hello-from-sshd; id -un",
    );
    assert!(
        out.status.success(),
        "ssh failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        sshd.log()
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout, format!("hello-from-sshd\n{}\n", sshd.user()));
    assert!(sshd.host_key_fingerprint().starts_with("SHA256:"));
    let kh = std::fs::read_to_string(sshd.known_hosts_path()).unwrap();
    assert!(
        kh.starts_with(&format!("[127.0.0.1]:{} ssh-ed25519 ", sshd.port())),
        "{kh}"
    );
}

#[test]
fn sshd_refuses_an_unknown_key() {
    let sshd = Sshd::start_blocking().expect("sshd starts");
    let stranger = tempfile::tempdir().unwrap();
    let key = stranger.path().join("stranger");
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(st.success());
    let out = ssh(&sshd, &key, "echo should-not-run");
    assert_eq!(out.status.code(), Some(255), "stranger's key was accepted");
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Permission denied"));
}

#[test]
fn sshd_stops_on_drop() {
    let sshd = Sshd::start_blocking().expect("sshd starts");
    let port = sshd.port();
    drop(sshd);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "sshd still listening after drop"
    );
}
