use std::time::Duration;

use jiff::tz::TimeZone;
use pbs_client::testing::{FakePbs, FakeSnapshot};
use pbs_client::types::{TaskStatusFilter, VerifyState};
use pbs_client::{
    BackupType, Error, GroupRef, JobKind, KeepOptions, PruneDatastoreOptions, PruneMode,
    SnapshotFilter, StatusDetail, TaskFilter, TaskState, VerifyOptions,
};

use super::common::{fake, fast_config};

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn version_datastores_status_usage() {
    let pbs = fake().await;
    let c = pbs.client_builder().build().unwrap();
    assert!(c.ping().await.unwrap());
    let v = c.version().await.unwrap();
    assert_eq!((v.version.as_str(), v.release.as_str()), ("3.2", "4"));

    let stores = c.datastores().await.unwrap();
    let names: Vec<_> = stores.iter().map(|s| s.store.as_str()).collect();
    assert_eq!(names, ["archive", "store1"]);
    assert_eq!(stores[0].maintenance.as_deref(), Some("type=read-only"));
    assert_eq!(stores[1].comment.as_deref(), Some("main store"));

    let plain = c
        .datastore("store1")
        .status(StatusDetail::Summary)
        .await
        .unwrap();
    assert!(plain.gc_status.is_none() && plain.counts.is_none());
    assert_eq!(plain.total, plain.used + plain.avail);
    let verbose = c
        .datastore("store1")
        .status(StatusDetail::Verbose)
        .await
        .unwrap();
    let counts = verbose.counts.unwrap();
    assert_eq!(counts.vm.as_ref().unwrap().groups, 2);
    assert_eq!(counts.vm.unwrap().snapshots, 31);
    assert_eq!(counts.ct.unwrap().snapshots, 5);

    let usage = c.datastore_usage().await.unwrap();
    let s1 = usage.iter().find(|u| u.store == "store1").unwrap();
    let history = s1.history.as_ref().unwrap();
    assert_eq!(history.len(), 10);
    assert_eq!(history[3], None);
    assert!(s1.estimated_full_date.unwrap() > 0);
    assert_eq!(s1.used, Some(plain.used));
}

#[tokio::test]
async fn namespaces_groups_snapshots_files() {
    let pbs = fake().await;
    let c = pbs.client_builder().build().unwrap();
    let all: Vec<String> = c
        .datastore("store1")
        .namespaces(None, None)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.ns)
        .collect();
    assert_eq!(all, ["", "dev", "prod", "prod/db"]);
    let below: Vec<String> = c
        .datastore("store1")
        .namespaces(Some("prod"), Some(0))
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.ns)
        .collect();
    assert_eq!(below, ["prod"]);

    let root = c.datastore("store1").groups(None).await.unwrap();
    let ids: Vec<_> = root
        .iter()
        .map(|g| (g.backup_type.clone(), g.backup_id.as_str(), g.backup_count))
        .collect();
    assert_eq!(
        ids,
        [(BackupType::Ct, "200", 5), (BackupType::Vm, "100", 30)]
    );
    assert_eq!(root[1].last_backup, 1_711_850_400);
    assert!(root[1].files.contains(&"drive-scsi0.img.fidx".to_owned()));
    let prod = c.datastore("store1").groups(Some("prod")).await.unwrap();
    assert_eq!(prod.len(), 1);
    assert_eq!(prod[0].owner.as_deref(), Some("backup@pbs!nas"));

    let snaps = c
        .datastore("store1")
        .snapshots(&SnapshotFilter::new().with_group(BackupType::Vm, "100"))
        .await
        .unwrap();
    assert_eq!(snaps.len(), 30);
    assert_eq!(snaps.iter().filter(|s| s.protected).count(), 1);
    assert!(snaps[0].protected, "the oldest is protected");
    let verified: Vec<_> = snaps
        .iter()
        .filter_map(|s| s.verification.as_ref())
        .collect();
    assert_eq!(verified.len(), 5);
    assert!(verified.iter().all(|v| v.state == VerifyState::Ok));
    let newest = snaps.last().unwrap();
    assert_eq!(newest.comment.as_deref(), Some("before upgrade"));
    assert_eq!(newest.size, Some(512 + (1 << 30)));
    assert_eq!(newest.owner.as_deref(), Some("root@pam"));
    let db = c
        .datastore("store1")
        .snapshots(&SnapshotFilter::new().with_ns("prod/db"))
        .await
        .unwrap();
    assert_eq!(db.len(), 1);
    assert_eq!(db[0].backup_id, "300");

    let everything = c
        .datastore("store1")
        .snapshots_all_namespaces()
        .await
        .unwrap();
    assert_eq!(everything.len(), 39);
    assert_eq!(everything.iter().filter(|(ns, _)| ns == "prod").count(), 3);
    assert_eq!(
        everything.iter().filter(|(ns, _)| ns == "prod/db").count(),
        1
    );

    let files = c
        .datastore("store1")
        .snapshot_files(&GroupRef::new(BackupType::Vm, "100"), newest.backup_time)
        .await
        .unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0].filename, "index.json.blob");
    assert_eq!(files[0].size, Some(512));
}

#[tokio::test]
async fn prune_group_dry_run_then_real() {
    let pbs = fake().await;
    let c = pbs.client_builder().build().unwrap();
    let group = GroupRef::new(BackupType::Vm, "100");
    let keep = KeepOptions::new().keep_daily(7).keep_weekly(4);
    let plan = c
        .datastore("store1")
        .prune_group(&group, &keep, PruneMode::DryRun)
        .await
        .unwrap();
    assert_eq!(plan.len(), 30);
    // Oldest first; the oldest (2024-03-02) is protected.
    assert!(plan.windows(2).all(|w| w[0].backup_time < w[1].backup_time));
    assert!(plan[0].protected && plan[0].keep);
    let day = |t: i64| {
        jiff::Timestamp::from_second(t)
            .unwrap()
            .strftime("%m-%d")
            .to_string()
    };
    let kept: Vec<String> = plan
        .iter()
        .filter(|p| p.keep)
        .map(|p| day(p.backup_time))
        .collect();
    // 7 daily (03-25..03-31, ISO week 13), then 4 weekly keepers of the older weeks.
    assert_eq!(
        kept,
        [
            "03-02", "03-03", "03-10", "03-17", "03-24", "03-25", "03-26", "03-27", "03-28",
            "03-29", "03-30", "03-31"
        ]
    );
    assert_eq!(pbs.snapshots("store1").len(), 39, "dry run removes nothing");

    let done = c
        .datastore("store1")
        .prune_group(&group, &keep, PruneMode::Remove)
        .await
        .unwrap();
    assert_eq!(done, plan);
    let left = c
        .datastore("store1")
        .snapshots(&SnapshotFilter::new().with_group(BackupType::Vm, "100"))
        .await
        .unwrap();
    assert_eq!(left.len(), 12);
}

#[tokio::test]
async fn prune_uses_the_server_time_zone() {
    let tz = TimeZone::fixed(jiff::tz::offset(-5));
    let pbs = FakePbs::start_with(fast_config().with_seed(false).with_time_zone(tz))
        .await
        .unwrap();
    pbs.add_datastore("tz");
    // 23:30 and 00:30 UTC: two UTC days, one day at UTC-5.
    for t in [1_704_929_400, 1_704_933_000] {
        pbs.add_snapshot("tz", FakeSnapshot::new("ns1", "host", "h1", t));
    }
    let c = pbs.client_builder().build().unwrap();
    let plan = c
        .datastore("tz")
        .prune_group(
            &GroupRef::new(BackupType::Host, "h1").with_ns("ns1"),
            &KeepOptions::new().keep_daily(5),
            PruneMode::DryRun,
        )
        .await
        .unwrap();
    assert_eq!(
        plan.iter().map(|p| p.keep).collect::<Vec<_>>(),
        [false, true]
    );
    assert!(plan.iter().all(|p| p.ns.as_deref() == Some("ns1")));
}

#[tokio::test]
async fn keep_zero_is_rejected_like_pbs() {
    let pbs = fake().await;
    let c = pbs.client_builder().build().unwrap();
    let err = c
        .datastore("store1")
        .prune_group(
            &GroupRef::new(BackupType::Vm, "100"),
            &KeepOptions::new().keep_daily(0),
            PruneMode::DryRun,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api { status: 400, .. }), "{err:?}");
    assert!(err.to_string().contains("keep-daily"), "{err}");
}

#[tokio::test]
async fn prune_datastore_dry_run_logs_and_keeps_everything() {
    let pbs = fake().await;
    let c = pbs.client_builder().build().unwrap();
    let upid = c
        .datastore("store1")
        .prune(
            &PruneDatastoreOptions::new(KeepOptions::new().keep_last(1))
                .with_mode(PruneMode::DryRun),
        )
        .await
        .unwrap();
    assert_eq!(upid.worker_type, "prune");
    // PBS names the worker `store:ns`, so the root namespace leaves a trailing ':'.
    assert_eq!(upid.worker_id.as_deref(), Some("store1:"));
    assert!(upid.to_string().contains(":prune:store1\\x3a:"), "{upid}");
    assert_eq!(upid.auth_id, "root@pam!test");
    let status = c.wait_task(&upid, WAIT).await.unwrap();
    assert_eq!(status.exitstatus, Some(TaskState::Ok));
    assert_eq!(status.tokenid.as_deref(), Some("test"));
    let log = c.task_log(&upid, 0, 0).await.unwrap();
    assert_eq!(log.active, Some(false));
    let messages: Vec<&str> = log.lines.iter().map(|l| l.message()).collect();
    assert_eq!(
        &messages[..3],
        [
            "Starting datastore prune on datastore 'store1', root namespace, down to full depth",
            "(dry test run)",
            "retention options: --keep-last 1",
        ]
    );
    let would_remove = messages
        .iter()
        .filter(|l| l.starts_with("would remove"))
        .count();
    // 39 snapshots in 4 groups, keep-last 1: 35 would go except the protected one.
    assert_eq!(would_remove, 34);
    assert!(
        messages
            .iter()
            .any(|l| l.starts_with("would protected vm/100/2024-03-02"))
    );
    assert_eq!(log.end_state(), Some(TaskState::Ok));
    assert_eq!(pbs.snapshots("store1").len(), 39);
}

#[tokio::test]
async fn verify_marks_snapshots_and_reports_failure() {
    let pbs = fake().await;
    let c = pbs.client_builder().build().unwrap();
    let group = GroupRef::new(BackupType::Vm, "100");
    let upid = c
        .datastore("store1")
        .verify(&VerifyOptions::new().with_group(&group))
        .await
        .unwrap();
    assert_eq!(upid.worker_type, "verify_group");
    assert_eq!(upid.worker_id.as_deref(), Some("store1:/vm/100"));
    c.wait_task(&upid, WAIT).await.unwrap();
    let snaps = c
        .datastore("store1")
        .snapshots(&SnapshotFilter::new().with_group(BackupType::Vm, "100"))
        .await
        .unwrap();
    assert!(snaps.iter().all(|s| {
        s.verification
            .as_ref()
            .is_some_and(|v| v.state == VerifyState::Ok)
    }));

    // The whole store includes a corrupt snapshot in `prod`.
    let upid = c
        .datastore("store1")
        .verify(&VerifyOptions::new())
        .await
        .unwrap();
    let err = c.wait_task(&upid, WAIT).await.unwrap_err();
    match &err {
        Error::TaskFailed { exit_status, .. } => {
            assert!(exit_status.contains("verification failed"))
        }
        other => panic!("unexpected {other:?}"),
    }
    let prod = c
        .datastore("store1")
        .snapshots(&SnapshotFilter::new().with_ns("prod"))
        .await
        .unwrap();
    assert_eq!(
        prod.iter()
            .filter(|s| s
                .verification
                .as_ref()
                .is_some_and(|v| v.state == VerifyState::Failed))
            .count(),
        1
    );
}

#[tokio::test]
async fn garbage_collection_start_status_and_conflict() {
    let pbs = fake().await;
    let c = pbs.client_builder().build().unwrap();
    let upid = c.datastore("store1").start_gc().await.unwrap();
    assert_eq!(upid.worker_type, "garbage_collection");
    let again = c.datastore("store1").start_gc().await.unwrap_err();
    // PBS fails to lock the job state: "garbage collection already running".
    assert!(
        matches!(&again, Error::Api { status: 400, message, .. } if message == "garbage collection already running"),
        "{again:?}"
    );
    let running = c.datastore("store1").gc_status().await.unwrap();
    assert_eq!(running.status.upid.as_ref(), Some(&upid));
    assert_eq!(running.last_run_state, None);
    c.wait_task(&upid, WAIT).await.unwrap();
    let done = c.datastore("store1").gc_status().await.unwrap();
    assert_eq!(done.store.as_deref(), Some("store1"));
    assert_eq!(done.last_run_state, Some(TaskState::Ok));
    assert!(done.status.removed_bytes > 0);
    assert!(done.duration.is_some() && done.schedule.is_some());
}

#[tokio::test]
async fn gc_status_of_a_server_before_3_2_2_has_no_store() {
    let pbs = FakePbs::start_with(fast_config().with_gc_job_status(false))
        .await
        .unwrap();
    let c = pbs.client_builder().build().unwrap();
    let upid = c.datastore("store1").start_gc().await.unwrap();
    c.wait_task(&upid, WAIT).await.unwrap();
    let gc = c.datastore("store1").gc_status().await.unwrap();
    assert_eq!(gc.store, None);
    assert_eq!(gc.schedule, None);
    assert_eq!(gc.last_run_state, None);
    assert_eq!(gc.status.upid.as_ref(), Some(&upid));
}

#[tokio::test]
async fn jobs_with_last_run_state_and_run_now() {
    let pbs = fake().await;
    let c = pbs.client_builder().build().unwrap();
    let prune = c.prune_jobs(None).await.unwrap();
    assert_eq!(prune.len(), 1);
    assert_eq!(
        prune[0].keep,
        KeepOptions::new()
            .keep_daily(7)
            .keep_weekly(4)
            .keep_monthly(6)
    );
    assert_eq!(prune[0].schedule, "daily");
    assert_eq!(prune[0].state.last_run_state, Some(TaskState::Ok));
    let verify = c.verify_jobs(Some("store1")).await.unwrap();
    assert!(
        matches!(&verify[0].state.last_run_state, Some(TaskState::Error(m)) if m.contains("verification failed"))
    );
    assert_eq!(verify[0].outdated_after, Some(30));
    let sync = c.sync_jobs(None).await.unwrap();
    assert_eq!(sync[0].remote.as_deref(), Some("offsite-pbs"));
    assert_eq!(sync[0].group_filter.as_ref().unwrap().len(), 2);
    assert_eq!(sync[0].state.last_run_state, None);
    assert!(c.sync_jobs(Some("archive")).await.unwrap().is_empty());

    let upid = c.run_job(JobKind::Sync, "offsite").await.unwrap();
    assert_eq!(upid.worker_type, "syncjob");
    c.wait_task(&upid, WAIT).await.unwrap();
    let sync = c.sync_jobs(None).await.unwrap();
    assert_eq!(sync[0].state.last_run_upid.as_ref(), Some(&upid));
    assert_eq!(sync[0].state.last_run_state, Some(TaskState::Ok));
    assert!(sync[0].state.next_run.is_some());
    assert!(
        c.run_job(JobKind::Prune, "nope")
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn task_list_filters_and_total() {
    let pbs = fake().await;
    let c = pbs.client_builder().build().unwrap();
    let gc = c.datastore("store1").start_gc().await.unwrap();
    let v = c
        .datastore("store1")
        .verify(&VerifyOptions::new())
        .await
        .unwrap();
    let running = c.tasks(&TaskFilter::new().running()).await.unwrap();
    assert_eq!((running.tasks.len(), running.total), (2, 2));
    assert!(
        running
            .tasks
            .iter()
            .all(|t| t.status.is_none() && t.endtime.is_none())
    );
    let _ = c.wait_task(&gc, WAIT).await;
    let _ = c.wait_task(&v, WAIT).await;
    let errors = c
        .tasks(&TaskFilter::new().with_status(TaskStatusFilter::Error))
        .await
        .unwrap()
        .tasks;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].upid, v);
    let gcs = c
        .tasks(&TaskFilter::new().with_type("garbage"))
        .await
        .unwrap()
        .tasks;
    assert_eq!(gcs[0].upid, gc);
    assert_eq!(gcs[0].status, Some(TaskState::Ok));
    let page = c.tasks(&TaskFilter::new().with_limit(1)).await.unwrap();
    assert_eq!((page.tasks.len(), page.total), (1, 2));
    let by_store = c
        .tasks(&TaskFilter::new().with_store("archive"))
        .await
        .unwrap();
    assert!(by_store.tasks.is_empty());
}

#[tokio::test]
async fn unknown_fields_are_ignored() {
    let with = fake().await;
    let without = FakePbs::start_with(fast_config().with_extra_fields(false))
        .await
        .unwrap();
    let a = with.client_builder().build().unwrap();
    let b = without.client_builder().build().unwrap();
    assert_eq!(a.datastores().await.unwrap(), b.datastores().await.unwrap());
    let f = SnapshotFilter::new().with_ns("prod");
    assert_eq!(
        a.datastore("store1").snapshots(&f).await.unwrap(),
        b.datastore("store1").snapshots(&f).await.unwrap()
    );
    assert_eq!(
        a.prune_jobs(None).await.unwrap(),
        b.prune_jobs(None).await.unwrap()
    );
}
