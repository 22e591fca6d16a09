//! Host keys, keys, passwords and secrets.

use futures::TryStreamExt as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use restic_remote::testing::Sshd;
use restic_remote::{BackupOptions, Error, Repository, SnapshotFilter, SshTransport};
use secrecy::SecretString;

use super::common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_or_unknown_host_key_is_refused_and_pins_work() {
    let sshd = Sshd::start().await.expect("sshd starts");
    let other = tempfile::tempdir().unwrap();
    let key = other.path().join("impostor");
    assert!(
        std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&key)
            .status()
            .unwrap()
            .success()
    );
    let impostor = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let kh = other.path().join("known_hosts");
    std::fs::write(&kh, format!("[127.0.0.1]:{} {impostor}", sshd.port())).unwrap();
    let builder = || {
        SshTransport::builder("127.0.0.1")
            .with_port(sshd.port())
            .with_user(sshd.user())
            .with_key_file(sshd.client_key_path())
    };
    let err = builder().with_known_hosts(&kh).connect().await.unwrap_err();
    match &err {
        Error::HostKey {
            presented, reason, ..
        } => {
            assert_eq!(presented, &sshd.host_key_fingerprint());
            assert!(reason.contains("CHANGED"), "{reason}");
        }
        e => panic!("expected HostKey, got {e:?}"),
    }
    // Unknown host (empty known_hosts) is refused too.
    std::fs::write(&kh, "").unwrap();
    let err = builder().with_known_hosts(&kh).connect().await.unwrap_err();
    assert!(err.is_host_key(), "{err:?}");
    // A wrong pin is refused, the right pin works, and no policy at all is a config error.
    let err = builder()
        .with_host_key_fingerprint("SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .connect()
        .await
        .unwrap_err();
    assert!(err.is_host_key(), "{err:?}");
    builder()
        .with_host_key_fingerprint(sshd.host_key_fingerprint())
        .connect()
        .await
        .expect("pinned fingerprint accepted");
    assert!(matches!(builder().connect().await, Err(Error::Config(_))));
    builder()
        .danger_accept_any_host_key()
        .connect()
        .await
        .expect("explicit opt-in accepts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_from_memory_with_passphrase_and_unknown_keys() {
    let sshd = Sshd::start().await.expect("sshd starts");
    let pem = std::fs::read_to_string(sshd.encrypted_client_key_path()).unwrap();
    let base = || {
        SshTransport::builder("127.0.0.1")
            .with_port(sshd.port())
            .with_user(sshd.user())
            .with_known_hosts(sshd.known_hosts_path())
    };
    base()
        .with_key(SecretString::from(pem.clone()))
        .with_key_passphrase(SecretString::from(
            restic_remote::testing::ENCRYPTED_KEY_PASSPHRASE.to_owned(),
        ))
        .connect()
        .await
        .expect("encrypted in-memory key with passphrase");
    let err = base()
        .with_key(SecretString::from(pem))
        .with_key_passphrase(SecretString::from("wrong".to_owned()))
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Key(_)), "{err:?}");
    let dir = tempfile::tempdir().unwrap();
    let stranger = dir.path().join("k");
    std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&stranger)
        .status()
        .unwrap();
    let err = base().with_key_file(&stranger).connect().await.unwrap_err();
    assert!(matches!(err, Error::AuthRejected { .. }), "{err:?}");
    assert!(
        err.is_unauthenticated() && !err.is_permission_denied() && !err.is_retryable(),
        "{err:?}"
    );
    assert_eq!(err.status(), None);
}

const NASTY_PASSWORD: &str = " right 'pw' \\ $(touch pwned) `id` a=b ";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restic_failures_are_typed() {
    let sshd = Sshd::start().await.expect("sshd starts");
    let work = tempfile::tempdir().unwrap();
    let ssh = common::connect(&sshd).await;
    let repo_dir = work.path().join("repo").display().to_string();
    let good = common::client(
        ssh.clone(),
        Repository::new(
            repo_dir.clone(),
            SecretString::from(NASTY_PASSWORD.to_owned()),
        ),
        &work.path().join("cache"),
    );
    let err = good.snapshots(&SnapshotFilter::new()).await.unwrap_err();
    assert!(err.is_no_repository(), "{err:?}");
    assert!(
        err.is_not_found() && !err.is_unauthenticated() && !err.is_permission_denied(),
        "{err:?}"
    );
    good.init().await.unwrap();
    // The password crossed the remote shell byte-exact: restic run directly with it opens the repo.
    let direct = std::process::Command::new("restic")
        .args(["cat", "config"])
        .env("RESTIC_REPOSITORY", &repo_dir)
        .env("RESTIC_PASSWORD", NASTY_PASSWORD)
        .output()
        .unwrap();
    assert!(
        direct.status.success(),
        "{}",
        String::from_utf8_lossy(&direct.stderr)
    );
    let bad = common::client(
        ssh,
        Repository::new(repo_dir, SecretString::from("wrong-password".to_owned())),
        &work.path().join("cache"),
    );
    let err = bad.snapshots(&SnapshotFilter::new()).await.unwrap_err();
    assert!(err.is_wrong_password(), "{err:?}");
    assert!(
        err.is_unauthenticated() && !err.is_not_found() && !err.is_retryable(),
        "{err:?}"
    );

    // Exit 3: a snapshot is written but one source could not be read (EIO even for root).
    let src = work.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("fine"), b"ok").unwrap();
    let run = good
        .backup(&BackupOptions::new([
            src.display().to_string(),
            "/proc/self/mem".into(),
        ]))
        .await
        .unwrap();
    match run.finish().await.unwrap_err() {
        Error::IncompleteBackup { summary, errors } => {
            let summary = summary.expect("restic still prints a summary");
            assert_eq!(summary.files_new, 1);
            assert!(summary.snapshot_id.is_some());
            assert!(
                errors.iter().any(|e| e.contains("/proc/self/mem")),
                "{errors:?}"
            );
        }
        e => panic!("expected IncompleteBackup, got {e:?}"),
    }
    assert_eq!(
        good.snapshots(&SnapshotFilter::new()).await.unwrap().len(),
        1
    );
}

/// Every log line, formatted by tracing-subscriber's `fmt` layer as a program would print
/// it (all levels, span fields included), to look for secrets.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The error, its `Debug`, its alternate `Display` and every `source()` below it.
fn whole_chain(err: &Error) -> String {
    let mut text = format!("{err}\n{err:#}\n{err:?}\n{err:#?}\n");
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        text.push_str(&format!("{s}\n{s:?}\n"));
        source = s.source();
    }
    text
}

#[test]
fn canary_secret_never_in_ps_logs_or_errors() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // Global, because tracing caches callsite interest across threads; only this test sets it.
    // The other tests running at the same time log into it too, which is fine: they never see
    // this canary.
    tracing::subscriber::set_global_default(subscriber).expect("only this test sets it");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let canary = format!(
            "CANARY{}x{}",
            std::process::id(),
            jiff::Timestamp::now().as_nanosecond()
        );
        let sshd = Sshd::start().await.expect("sshd starts");
        let work = tempfile::tempdir().unwrap();
        let ssh = common::connect(&sshd).await;
        let repo_dir = work.path().join("repo").display().to_string();
        let repo = Repository::new(repo_dir.clone(), SecretString::from(canary.clone())).with_env(
            "AWS_SECRET_ACCESS_KEY",
            SecretString::from(format!("{canary}-aws")),
        );
        let restic = restic_remote::Restic::builder()
            .with_transport(ssh.clone())
            .with_repository(repo.clone())
            .with_cache_dir(work.path().join("cache").display().to_string())
            .with_limit_upload(512)
            .build()
            .unwrap();
        restic.init().await.unwrap();
        let data = work.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(
            data.join("f"),
            (0..1_500_000u32)
                .flat_map(|i| (i.wrapping_mul(2654435761)).to_le_bytes())
                .collect::<Vec<u8>>(),
        )
        .unwrap();
        let mut run = restic
            .backup(&BackupOptions::new([data.display().to_string()]))
            .await
            .unwrap();
        // Sample the process list while restic runs (seen with its data path in argv).
        let mut samples = 0;
        let mut saw_restic = false;
        while let Some(_ev) = run.events().try_next().await.unwrap() {
            if samples < 5 {
                let ps = std::process::Command::new("ps")
                    .args(["-eww", "-o", "pid,args"])
                    .output()
                    .unwrap();
                let ps = String::from_utf8_lossy(&ps.stdout).into_owned();
                assert!(!ps.contains(&canary), "canary visible in ps:\n{ps}");
                saw_restic |= ps
                    .lines()
                    .any(|l| l.contains("restic") && l.contains(&data.display().to_string()));
                for (pid, cmd) in common::processes_with("restic") {
                    assert!(!cmd.contains(&canary), "canary in /proc/{pid}/cmdline");
                }
                samples += 1;
            }
        }
        run.finish().await.unwrap();
        assert!(saw_restic, "never saw the running restic in ps");
        // Errors: a missing repository whose location contains the canary, and a wrong password.
        let missing = Repository::new(
            format!("{repo_dir}-{canary}"),
            SecretString::from(canary.clone()),
        );
        let c = common::client(ssh.clone(), missing, &work.path().join("cache"));
        let err = c.snapshots(&SnapshotFilter::new()).await.unwrap_err();
        assert!(err.is_no_repository(), "{err:?}");
        let mut errors = vec![err];
        // The same missing repository, its location also in an S3-style URI's user part.
        let missing = Repository::new(
            format!("{repo_dir}-AKIA{canary}:{canary}@x"),
            SecretString::from(canary.clone()),
        );
        let c = common::client(ssh.clone(), missing, &work.path().join("cache"));
        errors.push(c.snapshots(&SnapshotFilter::new()).await.unwrap_err());
        // A short password echoed nowhere, a wrong password, a timeout, a lost connection.
        let wrong = Repository::new(
            repo_dir.clone(),
            SecretString::from(format!("{canary}-wrong")),
        );
        let c = common::client(ssh.clone(), wrong, &work.path().join("cache"));
        let e = c.snapshots(&SnapshotFilter::new()).await.unwrap_err();
        assert!(e.is_wrong_password(), "{e:?}");
        errors.push(e);
        let timed = restic_remote::Restic::builder()
            .with_transport(ssh.clone())
            .with_repository(repo.clone())
            .with_cache_dir(work.path().join("cache").display().to_string())
            .with_limit_upload(16)
            .with_request_timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        // Fresh data (the first backup's would be deduplicated and finish at once).
        let fresh = work.path().join("fresh");
        std::fs::create_dir_all(&fresh).unwrap();
        std::fs::write(
            fresh.join("f"),
            (0..1_500_000u32)
                .flat_map(|i| (i.wrapping_mul(2246822519) ^ 0x5bd1e995).to_le_bytes())
                .collect::<Vec<u8>>(),
        )
        .unwrap();
        let e = timed
            .backup(&BackupOptions::new([fresh.display().to_string()]))
            .await
            .unwrap()
            .finish()
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
        errors.push(e);
        // Keys: an in-memory key that does not parse and a wrong passphrase, both canaries.
        let e = SshTransport::builder("127.0.0.1")
            .with_port(sshd.port())
            .with_user(sshd.user())
            .with_known_hosts(sshd.known_hosts_path())
            .with_key(SecretString::from(format!(
                "-----BEGIN OPENSSH PRIVATE KEY-----\n{canary}\n-----END OPENSSH PRIVATE KEY-----\n"
            )))
            .connect()
            .await
            .unwrap_err();
        errors.push(e);
        let e = SshTransport::builder("127.0.0.1")
            .with_port(sshd.port())
            .with_user(sshd.user())
            .with_known_hosts(sshd.known_hosts_path())
            .with_key(SecretString::from(
                std::fs::read_to_string(sshd.encrypted_client_key_path()).unwrap(),
            ))
            .with_key_passphrase(SecretString::from(format!("{canary}-passphrase")))
            .connect()
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Key(_)), "{e:?}");
        errors.push(e);
        for err in &errors {
            let text = whole_chain(err);
            assert!(!text.contains(&canary), "canary in error chain: {text}");
        }
        assert!(!format!("{repo:?}").contains(&canary));
        assert!(!format!("{restic:?}").contains(&canary));
        let log = captured.text();
        assert!(
            log.contains("command=backup") && log.contains("starting"),
            "backup was not logged: {log}"
        );
        assert!(!log.contains(&canary), "canary in logs");
        // The sshd log (the server side) does not see it either.
        assert!(!sshd.log().contains(&canary));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_with_newlines_and_nul_arguments_are_rejected() {
    let repo = Repository::new("/tmp/x", SecretString::from("a\nb".to_owned()));
    assert!(matches!(
        restic_remote::Restic::builder()
            .with_repository(repo)
            .build(),
        Err(Error::InvalidArgument(_))
    ));
    let restic = restic_remote::Restic::builder()
        .with_repository(Repository::new(
            "/tmp/x",
            SecretString::from("pw".to_owned()),
        ))
        .with_request_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let err = restic
        .backup(&BackupOptions::new(["/tmp/a\0b"]))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
}

/// A fresh ed25519 public key line (`ssh-ed25519 AAAA… comment`), not the server's.
fn other_key(dir: &std::path::Path, name: &str) -> String {
    let key = dir.join(name);
    assert!(
        std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&key)
            .status()
            .unwrap()
            .success()
    );
    std::fs::read_to_string(key.with_extension("pub"))
        .unwrap()
        .trim()
        .to_owned()
}

/// known_hosts as OpenSSH reads it (issue 14, item 8), against a real sshd.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_hosts_is_read_as_openssh_reads_it() {
    let sshd = Sshd::start().await.expect("sshd starts");
    let dir = tempfile::tempdir().unwrap();
    let kh = dir.path().join("known_hosts");
    let real = sshd.host_public_key().to_openssh().unwrap();
    let old = other_key(dir.path(), "old");
    let ca = other_key(dir.path(), "ca");
    let host = format!("[127.0.0.1]:{}", sshd.port());
    let connect = || {
        SshTransport::builder("127.0.0.1")
            .with_port(sshd.port())
            .with_user(sshd.user())
            .with_key_file(sshd.client_key_path())
            .with_known_hosts(&kh)
            .connect()
    };
    // Key rotation: an old key of the same type first, the current one later: accepted.
    std::fs::write(&kh, format!("{host} {old}\n{host} {real}\n")).unwrap();
    connect()
        .await
        .expect("a later line with the right key is accepted");
    // ... and with only the old key it is a changed key.
    std::fs::write(&kh, format!("{host} {old}\n")).unwrap();
    let err = connect().await.unwrap_err();
    assert!(
        matches!(&err, Error::HostKey { reason, .. } if reason.contains("CHANGED")),
        "{err:?}"
    );
    // A revoked key is refused even though a plain line lists it too.
    std::fs::write(&kh, format!("{host} {real}\n@revoked * {real}\n")).unwrap();
    let err = connect().await.unwrap_err();
    assert!(
        matches!(&err, Error::HostKey { reason, .. } if reason.contains("revoked")),
        "{err:?}"
    );
    // A hashed entry (ssh-keygen -H) for a non-22 port is accepted.
    std::fs::write(&kh, format!("{host} {real}\n")).unwrap();
    let out = std::process::Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&kh)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hashed = std::fs::read_to_string(&kh).unwrap();
    assert!(
        hashed.starts_with("|1|") && !hashed.contains("127.0.0.1"),
        "{hashed}"
    );
    connect().await.expect("hashed [host]:port entry accepted");
    // Only a @cert-authority line for the host: refused, saying why.
    std::fs::write(&kh, format!("@cert-authority {host} {ca}\n")).unwrap();
    let err = connect().await.unwrap_err();
    assert!(
        matches!(&err, Error::HostKey { reason, .. } if reason.contains("cert-authority")),
        "{err:?}"
    );
}

/// Both a known_hosts file and a pinned fingerprint: which one wins is unclear, so refuse
/// (issue 14, item 11).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_hosts_and_fingerprint_together_are_refused_as_ambiguous() {
    let sshd = Sshd::start().await.expect("sshd starts");
    for builder in [
        SshTransport::builder("127.0.0.1")
            .with_known_hosts(sshd.known_hosts_path())
            .with_host_key_fingerprint(sshd.host_key_fingerprint()),
        SshTransport::builder("127.0.0.1")
            .with_host_key_fingerprint(sshd.host_key_fingerprint())
            .with_known_hosts(sshd.known_hosts_path()),
        SshTransport::builder("127.0.0.1")
            .with_known_hosts(sshd.known_hosts_path())
            .danger_accept_any_host_key(),
    ] {
        let err = builder
            .with_port(sshd.port())
            .with_user(sshd.user())
            .with_key_file(sshd.client_key_path())
            .connect()
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Config(m) if m.contains("ambiguous")),
            "{err:?}"
        );
    }
}
