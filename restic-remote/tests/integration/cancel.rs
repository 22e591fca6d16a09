//! Cancellation: dropped commands, timeouts and dropped connections leave no restic behind.

use futures::TryStreamExt as _;
use std::time::Duration;

use restic_remote::testing::Sshd;
use restic_remote::{
    BackupEvent, BackupOptions, Error, Repository, Restic, SnapshotFilter, SshTransport, UnlockMode,
};
use secrecy::SecretString;
use tokio::net::{TcpListener, TcpStream};

use super::common;

/// A TCP relay to sshd that the test can cut, as a network failure would.
async fn relay(port: u16) -> (u16, tokio::task::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let p = l.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (mut a, _) = l.accept().await.unwrap();
        let mut b = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let _ = tokio::io::copy_bidirectional(&mut a, &mut b).await;
    });
    (p, task)
}

fn slow_data(dir: &std::path::Path) -> String {
    let data = dir.join("slow-data");
    std::fs::create_dir_all(&data).unwrap();
    // ~8 MB of incompressible-ish data; uploads are limited so the backup lasts ~10 s or more.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..8_000_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(data.join("blob"), bytes).unwrap();
    data.display().to_string()
}

async fn slow_client(
    t: impl Into<restic_remote::Transport>,
    repo: &str,
    cache: &std::path::Path,
) -> Restic {
    Restic::builder()
        .with_transport(t)
        .with_repository(Repository::new(
            repo.to_owned(),
            SecretString::from("pw".to_owned()),
        ))
        .with_cache_dir(cache.display().to_string())
        .with_limit_upload(600)
        .build()
        .unwrap()
}

/// Waits for the first progress event with bytes done, so restic is well into the backup.
async fn until_uploading(run: &mut restic_remote::BackupRun) {
    while let Some(ev) = run.events().try_next().await.unwrap() {
        if let BackupEvent::Status(s) = ev
            && s.bytes_done > 0
        {
            return;
        }
    }
    panic!("backup finished before it could be cut");
}

/// What cancelling must leave behind: no restic working on `data` and no lock in `repo`.
/// Checked at once, without waiting: the cancelling call has returned, so restic must be gone.
fn assert_clean(what: &str, repo: &str, data: &str) {
    let left: Vec<_> = common::processes_with(data)
        .into_iter()
        .filter(|(_, c)| c.contains("restic"))
        .collect();
    assert!(left.is_empty(), "{what}: restic left behind: {left:?}");
    let locks = list_locks(repo);
    assert!(
        locks.is_empty(),
        "{what}: locks left in the repository: {locks:?}"
    );
}

/// `restic list locks --no-lock`, run directly (not through this crate).
fn list_locks(repo: &str) -> Vec<String> {
    let out = std::process::Command::new("restic")
        .args(["list", "locks", "--no-lock", "--no-cache"])
        .env("RESTIC_REPOSITORY", repo)
        .env("RESTIC_PASSWORD", "pw")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "restic list locks: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// The very next exclusive command succeeds, with no `unlock` in between.
async fn prune_succeeds(restic: &Restic, what: &str) {
    if let Err(e) = restic.prune(&restic_remote::PruneOptions::default()).await {
        panic!("{what}: the next prune failed: {e:?}");
    }
}

/// Drop mid-upload, then a timeout mid-upload, on `t`: each leaves no restic and no lock, and
/// the next prune succeeds at once.
async fn drop_and_timeout(t: restic_remote::Transport, label: &str) {
    let work = tempfile::tempdir().unwrap();
    let data = slow_data(work.path());
    let repo = work.path().join("repo").display().to_string();
    let cache = work.path().join("cache");
    let restic = slow_client(t.clone(), &repo, &cache).await;
    restic.init().await.unwrap();

    // Drop mid-run, then at once the exclusive prune.
    let mut run = restic
        .backup(&BackupOptions::new([data.clone()]))
        .await
        .unwrap();
    until_uploading(&mut run).await;
    drop(run);
    prune_succeeds(&restic, &format!("{label}: after drop")).await;
    assert_clean(&format!("{label}: after drop and prune"), &repo, &data);
    assert!(
        restic
            .snapshots(&SnapshotFilter::new())
            .await
            .unwrap()
            .is_empty()
    );

    // Drop, then `settle`: it returns once the dropped restic has ended.
    let mut run = restic
        .backup(&BackupOptions::new([data.clone()]))
        .await
        .unwrap();
    until_uploading(&mut run).await;
    drop(run);
    restic.settle().await;
    assert_clean(&format!("{label}: after drop and settle"), &repo, &data);

    // Timeout: when the error is returned, restic has ended and removed its lock.
    let timed = Restic::builder()
        .with_transport(t)
        .with_repository(Repository::new(
            repo.clone(),
            SecretString::from("pw".to_owned()),
        ))
        .with_cache_dir(cache.display().to_string())
        .with_limit_upload(600)
        .with_request_timeout(Duration::from_secs(6))
        .build()
        .unwrap();
    let run = timed
        .backup(&BackupOptions::new([data.clone()]))
        .await
        .unwrap();
    let err = run.finish().await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert_clean(&format!("{label}: after timeout"), &repo, &data);
    prune_succeeds(&restic, &format!("{label}: after timeout")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_ssh_drop_and_timeout_leave_no_restic_and_no_lock() {
    let sshd = Sshd::start().await.expect("sshd starts");
    let ssh = common::connect(&sshd).await;
    drop_and_timeout(ssh.clone().into(), "ssh").await;
    assert!(!ssh.is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locally_drop_and_timeout_leave_no_restic_and_no_lock() {
    drop_and_timeout(restic_remote::Transport::local(), "local").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_ssh_a_cut_connection_leaves_no_restic_and_no_lock() {
    let sshd = Sshd::start().await.expect("sshd starts");
    let work = tempfile::tempdir().unwrap();
    let data = slow_data(work.path());
    let repo = work.path().join("repo").display().to_string();
    let (port, relay_task) = relay(sshd.port()).await;
    let ssh = SshTransport::builder("127.0.0.1")
        .with_port(port)
        .with_user(sshd.user())
        .with_key_file(sshd.client_key_path())
        .with_host_key_fingerprint(sshd.host_key_fingerprint())
        .connect()
        .await
        .unwrap();
    let restic = slow_client(ssh.clone(), &repo, &work.path().join("cache")).await;
    restic.init().await.unwrap();
    let mut run = restic
        .backup(&BackupOptions::new([data.clone()]))
        .await
        .unwrap();
    until_uploading(&mut run).await;
    assert!(
        !common::processes_with(&data).is_empty(),
        "restic is not running"
    );
    relay_task.abort(); // the network goes away
    let read = run.events().try_for_each(|_| async { Ok(()) }).await;
    let err = match read {
        Ok(()) => run.finish().await.unwrap_err(),
        Err(e) => e,
    };
    assert!(matches!(err, Error::ConnectionLost { .. }), "{err:?}");
    // The client cannot watch a host it lost: the remote side ends restic on its own. Give it
    // the wrapper's grace period (SIGINT, then SIGKILL after 10 s), then nothing may be left.
    let left = common::wait_no_process(&data, Duration::from_secs(20)).await;
    assert!(left.is_empty(), "restic left behind: {left:?}");
    assert_clean("ssh: after a cut connection", &repo, &data);
    // A new connection's exclusive prune succeeds with no unlock.
    let again = common::connect(&sshd).await;
    let restic = slow_client(again, &repo, &work.path().join("cache")).await;
    prune_succeeds(&restic, "ssh: after a cut connection").await;
}

/// Locally, the "connection" is the pipes to the wrapper: the caller dies (crash, OOM kill) and
/// every pipe end it held closes at once. Run the wrapper as this crate does and cut the pipes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locally_a_dead_caller_leaves_no_restic_and_no_lock() {
    use std::io::{BufRead as _, Write as _};
    let work = tempfile::tempdir().unwrap();
    let data = slow_data(work.path());
    let repo = work.path().join("repo").display().to_string();
    let cache = work.path().join("cache");
    let restic = slow_client(restic_remote::Transport::local(), &repo, &cache).await;
    restic.init().await.unwrap();
    let mut child = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(restic_remote::script::SCRIPT)
        .arg("restic-remote")
        .args(["restic", "--json", "--limit-upload=600"])
        .arg(format!("--cache-dir={}", cache.display()))
        .args(["backup", "--", &data])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    write!(
        stdin,
        "RESTIC_REPOSITORY={repo}\nRESTIC_PASSWORD=pw\nRESTIC_PROGRESS_FPS=4\n\n"
    )
    .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let stderr = child.stderr.take().unwrap();
    let mut line = String::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "backup ended early"
        );
        if line.contains("\"bytes_done\"") && !line.contains("\"bytes_done\":0,") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never uploading");
    }
    // The caller dies: all three pipes close together.
    drop((stdin, stdout, stderr));
    let left = common::wait_no_process(&data, Duration::from_secs(20)).await;
    assert!(left.is_empty(), "restic left behind: {left:?}");
    let _ = child.wait();
    assert_clean("local: after the caller died", &repo, &data);
    prune_succeeds(&restic, "local: after the caller died").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_restic_leaves_a_lock_that_is_reported() {
    let work = tempfile::tempdir().unwrap();
    let repo = work.path().join("repo").display().to_string();
    let data = slow_data(work.path());
    let restic = slow_client(
        restic_remote::Transport::local(),
        &repo,
        &work.path().join("cache"),
    )
    .await;
    restic.init().await.unwrap();
    let mut run = restic
        .backup(&BackupOptions::new([data.clone()]))
        .await
        .unwrap();
    until_uploading(&mut run).await;
    // Simulate a crash (power loss, OOM kill): SIGKILL, no cleanup.
    for (pid, cmd) in common::processes_with(&data) {
        if cmd.starts_with("restic ") {
            assert!(
                std::process::Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status()
                    .unwrap()
                    .success()
            );
        }
    }
    let _ = run.finish().await;
    let err = restic
        .prune(&restic_remote::PruneOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_locked(), "{err:?}");
    if let Error::LockHeld {
        lock: Some(lock), ..
    } = &err
    {
        assert!(lock.pid.is_some(), "{lock:?}");
        assert!(
            lock.stale,
            "the lock of a dead process on this host is stale: {lock:?}"
        );
    }
    assert!(err.is_stale_lock());
    // restic 0.14 says "successfully removed locks" without a count; newer ones give it.
    let removed = restic.unlock(UnlockMode::StaleOnly).await.unwrap();
    assert!(removed.is_none_or(|n| n == 1), "{removed:?}");
    restic
        .prune(&restic_remote::PruneOptions::default())
        .await
        .unwrap();
}
