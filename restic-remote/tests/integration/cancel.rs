//! Cancellation: dropped commands, timeouts and dropped connections leave no restic behind.

use std::time::Duration;

use restic_remote::testing::Sshd;
use restic_remote::{
    BackupEvent, BackupOptions, Error, Repository, Restic, SnapshotFilter, SshTransport,
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
    while let Some(ev) = run.next_event().await.unwrap() {
        if let BackupEvent::Status(s) = ev
            && s.bytes_done > 0
        {
            return;
        }
    }
    panic!("backup finished before it could be cut");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connection_mid_backup_is_typed_and_leaves_no_restic() {
    let sshd = Sshd::start().expect("sshd starts");
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
    let err = loop {
        match run.next_event().await {
            Ok(Some(_)) => continue,
            Ok(None) => break run.finish().await.unwrap_err(),
            Err(e) => break e,
        }
    };
    assert!(matches!(err, Error::ConnectionLost { .. }), "{err:?}");
    let left = common::wait_no_process(&data, Duration::from_secs(20)).await;
    assert!(left.is_empty(), "restic left behind: {left:?}");
    // restic was interrupted (not killed): it removed its lock, so the repository is usable.
    let local = slow_client(
        restic_remote::Transport::local(),
        &repo,
        &work.path().join("cache"),
    )
    .await;
    local.snapshots(&SnapshotFilter::new()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_backup_or_timing_out_stops_restic() {
    let sshd = Sshd::start().expect("sshd starts");
    let work = tempfile::tempdir().unwrap();
    let data = slow_data(work.path());
    let repo = work.path().join("repo").display().to_string();
    let ssh = common::connect(&sshd).await;
    let restic = slow_client(ssh.clone(), &repo, &work.path().join("cache")).await;
    restic.init().await.unwrap();

    // Drop mid-run.
    let mut run = restic
        .backup(&BackupOptions::new([data.clone()]))
        .await
        .unwrap();
    until_uploading(&mut run).await;
    drop(run);
    let left = common::wait_no_process(&data, Duration::from_secs(20)).await;
    assert!(left.is_empty(), "restic left behind after drop: {left:?}");
    assert!(
        restic
            .snapshots(&SnapshotFilter::new())
            .await
            .unwrap()
            .is_empty()
    );

    // Timeout.
    let timed = Restic::builder()
        .with_transport(ssh.clone())
        .with_repository(Repository::new(
            repo.clone(),
            SecretString::from("pw".to_owned()),
        ))
        .with_cache_dir(work.path().join("cache").display().to_string())
        .with_limit_upload(600)
        .with_timeout(Duration::from_secs(7))
        .build()
        .unwrap();
    let run = timed
        .backup(&BackupOptions::new([data.clone()]))
        .await
        .unwrap();
    let err = run.finish().await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    let left = common::wait_no_process(&data, Duration::from_secs(20)).await;
    assert!(
        left.is_empty(),
        "restic left behind after timeout: {left:?}"
    );
    // The same connection still works, and the interrupted restic left no lock.
    assert!(!ssh.is_closed());
    // prune needs an exclusive lock. An interrupted restic removes its lock; one interrupted
    // while still taking it (restic 0.14 registers the lock for clean-up only afterwards) may
    // leave it: then it must be reported as stale, and `unlock` clears it.
    let prune = restic_remote::PruneOptions::default();
    if let Err(e) = restic.prune(&prune).await {
        assert!(e.is_stale_lock(), "{e:?}");
        restic.unlock(false).await.unwrap();
        restic.prune(&prune).await.unwrap();
    }
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
    let removed = restic.unlock(false).await.unwrap();
    assert!(removed.is_none_or(|n| n == 1), "{removed:?}");
    restic
        .prune(&restic_remote::PruneOptions::default())
        .await
        .unwrap();
}
