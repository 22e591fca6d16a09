//! The whole flow against a real Garage repository, over SSH and locally.

use futures::TryStreamExt as _;
use restic_remote::{
    BackupEvent, BackupOptions, CheckOptions, ForgetOptions, LsEntry, NodeType, PruneOptions,
    Restic, RestoreOptions, SnapshotFilter, StatsMode, Transport, UnlockMode,
};

use super::common::{self, PASSWORD};
use garage_client::testing::GarageServer;
use restic_remote::testing::Sshd;

async fn full_flow(restic: &Restic, work: &std::path::Path) {
    let version = restic.version().await.unwrap();
    assert!(version.at_least(0, 14, 0), "{version}");
    assert!(
        !restic.exists().await.unwrap(),
        "repository exists before init"
    );
    let init = restic.init().await.unwrap();
    assert!(!init.id.is_empty());
    assert!(restic.exists().await.unwrap());

    let src = work.join("src");
    let files = common::make_tree(&src);
    let src_s = src.display().to_string();

    // Three backups at distinct times, with progress events and a summary.
    let mut ids = Vec::new();
    for (i, day) in [
        "2026-11-20T10:00:00Z",
        "2026-11-21T10:00:00Z",
        "2026-11-22T10:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        let opts = BackupOptions::new([src_s.clone()])
            .with_exclude("*.tmp")
            .with_tag("flow")
            .with_host("flowhost")
            .with_time(day.parse().unwrap());
        let mut run = restic.backup(&opts).await.unwrap();
        let (mut statuses, mut summaries) = (0, 0);
        while let Some(ev) = run.events().try_next().await.unwrap() {
            match ev {
                BackupEvent::Status(s) => {
                    statuses += 1;
                    assert!(s.percent_done >= 0.0 && s.percent_done <= 1.0);
                }
                BackupEvent::Summary(_) => summaries += 1,
                _ => {}
            }
        }
        let summary = run.finish().await.unwrap();
        assert_eq!(summaries, 1);
        assert!(statuses >= 1, "no progress event");
        assert_eq!(
            summary.total_files_processed, 3,
            "exclude not applied: {summary:?}"
        );
        if i == 0 {
            assert_eq!(summary.files_new, 3);
        } else {
            assert_eq!(summary.files_unmodified, 3);
        }
        ids.push(summary.snapshot_id.expect("snapshot id"));
    }

    let snaps = restic
        .snapshots(&SnapshotFilter::new().with_host("flowhost"))
        .await
        .unwrap();
    assert_eq!(snaps.len(), 3);
    assert_eq!(snaps[0].time, "2026-11-20T10:00:00Z".parse().unwrap());
    assert_eq!(snaps[2].paths, vec![src_s.clone()]);
    assert_eq!(snaps[2].tags, vec!["flow".to_owned()]);
    assert!(
        snaps[2]
            .short_id
            .as_deref()
            .is_some_and(|s| ids[2].starts_with(s) || s.starts_with(&ids[2]))
    );
    assert!(
        restic
            .snapshots(&SnapshotFilter::new().with_host("nobody"))
            .await
            .unwrap()
            .is_empty()
    );

    // forget: dry run keeps everything, then the real run removes one.
    let policy = ForgetOptions::new().keep_last(2);
    let dry = restic.forget(&policy.clone().dry_run()).await.unwrap();
    assert_eq!(dry.len(), 1);
    assert_eq!(dry[0].keep.len(), 2);
    assert_eq!(dry[0].remove.len(), 1);
    assert_eq!(dry[0].remove[0].time, snaps[0].time);
    assert_eq!(
        restic
            .snapshots(&SnapshotFilter::new())
            .await
            .unwrap()
            .len(),
        3
    );
    let real = restic.forget(&policy).await.unwrap();
    assert_eq!(real[0].remove.len(), 1);
    let left = restic.snapshots(&SnapshotFilter::new()).await.unwrap();
    assert_eq!(left.len(), 2);
    let report = restic.prune(&PruneOptions::default()).await.unwrap();
    assert!(!report.is_empty());

    // restore and compare bytes.
    let target = work.join("restored");
    let mut run = restic
        .restore(&RestoreOptions::new("latest", target.display().to_string()))
        .await
        .unwrap();
    while run.events().try_next().await.unwrap().is_some() {}
    run.finish().await.unwrap();
    for (path, content) in &files {
        let restored = target.join(path.strip_prefix("/").unwrap());
        if path.extension().is_some_and(|e| e == "tmp") {
            assert!(!restored.exists(), "excluded file restored");
        } else {
            assert_eq!(
                &std::fs::read(&restored).unwrap(),
                content,
                "{}",
                restored.display()
            );
        }
    }

    // A snapshot id that matches nothing: typed as not found, restic's exit code kept.
    let err = restic
        .restore(&RestoreOptions::new(
            "deadbeef",
            target.display().to_string(),
        ))
        .await
        .unwrap()
        .finish()
        .await
        .unwrap_err();
    assert!(
        err.is_snapshot_not_found() && err.is_not_found() && !err.is_no_repository(),
        "{err:?}"
    );
    assert_eq!(err.exit_code(), Some(1), "{err:?}");

    // ls streams the snapshot, then its nodes.
    let latest = left.last().unwrap().id.clone().unwrap();
    let mut ls = restic.ls(&latest, &[]);
    let mut first_is_snapshot = false;
    let mut names = Vec::new();
    let mut n = 0;
    while let Some(e) = ls.try_next().await.unwrap() {
        match e {
            LsEntry::Snapshot(s) => first_is_snapshot = n == 0 && s.paths == vec![src_s.clone()],
            LsEntry::Node(node) => {
                if node.node_type == NodeType::File {
                    names.push(node.name.clone());
                }
                if node.name == "b.bin" {
                    assert_eq!(node.size, Some(200_000));
                }
            }
            _ => {}
        }
        n += 1;
    }
    assert!(first_is_snapshot);
    names.sort();
    assert_eq!(names, ["a.txt", "b.bin", "c.txt"]);

    let report = restic.check(&CheckOptions::default()).await.unwrap();
    assert_eq!(report.num_errors, 0);
    let stats = restic.stats(&[], StatsMode::RestoreSize).await.unwrap();
    assert_eq!(stats.snapshots_count, 2);
    assert!(stats.total_size >= 13 + 200_000 + 10, "{stats:?}");
    let raw = restic.stats(&[latest], StatsMode::RawData).await.unwrap();
    assert!(raw.total_size > 0);
    // 0.14 prints "successfully removed locks" without a count, newer ones nothing or N.
    let removed = restic.unlock(UnlockMode::StaleOnly).await.unwrap();
    assert!(removed.is_none_or(|n| n == 0), "{removed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_flow_over_ssh_against_garage() {
    let garage = GarageServer::start().await.expect("garage starts");
    let sshd = Sshd::start().await.expect("sshd starts");
    let work = tempfile::tempdir().unwrap();
    let ssh = common::connect(&sshd).await;
    let restic = common::client(
        ssh.clone(),
        common::garage_repo(&garage, "over-ssh", PASSWORD),
        &work.path().join("cache"),
    );
    full_flow(&restic, work.path()).await;
    assert!(
        !ssh.is_closed(),
        "the connection is reused for every command"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_flow_locally_against_garage() {
    let garage = GarageServer::start().await.expect("garage starts");
    let work = tempfile::tempdir().unwrap();
    let restic = common::client(
        Transport::local(),
        common::garage_repo(&garage, "local", PASSWORD),
        &work.path().join("cache"),
    );
    full_flow(&restic, work.path()).await;
}
