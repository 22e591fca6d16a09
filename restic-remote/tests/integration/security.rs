//! Host keys, keys, passwords and secrets.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use restic_remote::testing::Sshd;
use restic_remote::{BackupOptions, Error, Repository, SnapshotFilter, SshTransport};
use secrecy::SecretString;

use super::common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_or_unknown_host_key_is_refused_and_pins_work() {
    let sshd = Sshd::start().expect("sshd starts");
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
    let sshd = Sshd::start().expect("sshd starts");
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
}

const NASTY_PASSWORD: &str = " right 'pw' \\ $(touch pwned) `id` a=b ";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restic_failures_are_typed() {
    let sshd = Sshd::start().expect("sshd starts");
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

/// Records everything logged through `tracing`, to look for secrets.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<String>>);

struct Visitor<'a>(&'a mut String);
impl tracing::field::Visit for Visitor<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={value:?} ", field.name()));
    }
}

impl tracing::Subscriber for Recorder {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut s = self.0.lock().unwrap();
        span.record(&mut Visitor(&mut s));
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        values.record(&mut Visitor(&mut self.0.lock().unwrap()));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        event.record(&mut Visitor(&mut self.0.lock().unwrap()));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn canary_secret_never_in_ps_logs_or_errors() {
    let recorder = Recorder::default();
    // Global, because tracing caches callsite interest across threads; only this test sets it.
    // The other tests running at the same time log into it too, which is fine: they never see
    // this canary.
    tracing::subscriber::set_global_default(recorder.clone()).expect("only this test sets it");
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
        let sshd = Sshd::start().expect("sshd starts");
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
        while let Some(_ev) = run.next_event().await.unwrap() {
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
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(!text.contains(&canary), "canary in error: {text}");
        }
        assert!(!format!("{repo:?}").contains(&canary));
        assert!(!format!("{restic:?}").contains(&canary));
        let log = recorder.0.lock().unwrap().clone();
        assert!(
            log.contains("command=backup"),
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
        .with_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let err = restic
        .backup(&BackupOptions::new(["/tmp/a\0b"]))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
}
