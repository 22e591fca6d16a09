use std::collections::HashSet;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use jiff::Timestamp;
use jiff::tz::{Offset, TimeZone};
use pbs_client::testing::FakePbs;
use pbs_client::types::TaskStatusFilter;
use pbs_client::{
    Error, KeepOptions, PruneDatastoreOptions, PruneMode, TaskFilter, TaskState, Upid,
};

use super::common::{fake, fast_config};

#[tokio::test]
async fn wait_until_stopped() {
    let pbs = fake().await;
    let c = pbs.client_builder().build().unwrap();
    let upid = c.datastore("store1").start_gc().await.unwrap();
    let first = c.task_status(&upid).await.unwrap();
    assert!(first.is_running());
    assert_eq!(first.exitstatus, None);
    let log = c.task_log(&upid, 1, 500).await.unwrap();
    assert_eq!(log.active, Some(true));
    assert!(log.lines.iter().all(|l| l.task_state().is_none()));
    assert_eq!(log.end_state(), None);
    let done = c.wait_task(&upid, Duration::from_secs(10)).await.unwrap();
    assert!(!done.is_running());
    assert_eq!(done.exitstatus, Some(TaskState::Ok));
    assert_eq!(done.upid, upid);
    // PBS reports the node of the UPID in the status.
    assert_eq!(done.node, upid.node);
    let log = c.task_log(&upid, 2, 0).await.unwrap();
    assert_eq!(log.lines[0].n, 2);
    assert_eq!(log.total, 4);
    assert_eq!(log.end_state(), Some(TaskState::Ok));
    assert!(log.lines.last().unwrap().t.ends_with(": TASK OK"));
}

#[tokio::test]
async fn task_log_lines_carry_an_rfc3339_time_in_the_servers_offset() {
    // PBS writes every task log line as "<local time, RFC 3339>: <message>".
    let tz = TimeZone::fixed(Offset::constant(-5));
    let pbs = FakePbs::start_with(fast_config().with_time_zone(tz))
        .await
        .unwrap();
    let c = pbs.client_builder().build().unwrap();
    let upid = c.datastore("store1").start_gc().await.unwrap();
    c.wait_task(&upid, Duration::from_secs(10)).await.unwrap();
    let log = c.task_log(&upid, 0, 0).await.unwrap();
    let started = Timestamp::from_second(upid.starttime).unwrap();
    let latest = Timestamp::now() + jiff::SignedDuration::from_secs(1);
    assert_eq!(log.lines.len(), 4);
    for line in &log.lines {
        let time = line
            .time()
            .unwrap_or_else(|| panic!("no time prefix: {:?}", line.t));
        assert!(time >= started && time <= latest, "{:?}", line.t);
        assert_eq!(&line.t[19..27], "-05:00: ", "{:?}", line.t);
    }
    assert_eq!(
        log.lines[0].message(),
        "starting garbage collection on store store1"
    );
    assert_eq!(log.lines[3].message(), "TASK OK");
    assert_eq!(log.end_state(), Some(TaskState::Ok));
}

#[tokio::test]
async fn wait_times_out_and_stop_aborts() {
    let pbs = FakePbs::start_with(fast_config().with_task_duration(Duration::from_secs(60)))
        .await
        .unwrap();
    let c = pbs.client_builder().build().unwrap();
    let upid = c.datastore("store1").start_gc().await.unwrap();
    let err = c
        .wait_task(&upid, Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TaskTimeout { .. }), "{err:?}");
    c.stop_task(&upid).await.unwrap();
    let err = c
        .wait_task(&upid, Duration::from_secs(5))
        .await
        .unwrap_err();
    match err {
        Error::TaskFailed {
            upid: u,
            exit_status,
        } => {
            assert_eq!(u, upid.to_string());
            // PBS's `check_abort` message.
            assert_eq!(exit_status, "abort requested - aborting task");
        }
        other => panic!("unexpected {other:?}"),
    }
    let log = c.task_log(&upid, 0, 0).await.unwrap();
    let messages: Vec<&str> = log.lines.iter().map(|l| l.message()).collect();
    assert!(
        messages.contains(&"received abort request ..."),
        "{messages:?}"
    );
    assert_eq!(
        log.end_state(),
        Some(TaskState::Error("abort requested - aborting task".into()))
    );
}

#[tokio::test]
async fn unknown_task_is_stopped_in_an_unknown_state() {
    // Real PBS answers the status of a task it has no record of with 200, `stopped` and
    // exitstatus "unknown" (not an error).
    let pbs = fake().await;
    let c = pbs.client_builder().build().unwrap();
    let upid: Upid =
        "UPID:pbs:00000001:00000001:00000099:65000000:garbage_collection:store1:root@pam!test:"
            .parse()
            .unwrap();
    let status = c.task_status(&upid).await.unwrap();
    assert!(!status.is_running());
    assert_eq!(status.exitstatus, Some(TaskState::Unknown));
    assert_eq!(status.node, "pbs");
    assert_eq!(status.user, "root@pam");
    assert_eq!(status.tokenid.as_deref(), Some("test"));
    let err = c
        .wait_task(&upid, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::TaskUnknown { upid: u } if *u == upid.to_string()),
        "{err:?}"
    );
    assert!(err.to_string().contains("unknown state"), "{err}");
    // Its log file does not exist: PBS answers 400 with the io error, read as not found.
    let err = c.task_log(&upid, 0, 0).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    // Stopping it is accepted (PBS sends the abort and returns null).
    c.stop_task(&upid).await.unwrap();
}

#[tokio::test]
async fn task_list_total_is_extjs_paging_and_tasks_stream_pages_through() {
    let pbs = FakePbs::start_with(fast_config().with_task_duration(Duration::from_secs(30)))
        .await
        .unwrap();
    let c = pbs.client_builder().build().unwrap();
    let opts =
        PruneDatastoreOptions::new(KeepOptions::new().keep_last(100)).with_mode(PruneMode::DryRun);
    let mut started = Vec::new();
    for _ in 0..5 {
        started.push(
            c.datastore("store1")
                .prune(&opts)
                .await
                .unwrap()
                .to_string(),
        );
    }
    // Running tasks come newest first.
    let newest_first: Vec<String> = started.iter().rev().cloned().collect();
    let filter = TaskFilter::new().running().with_limit(2);
    // (start, page length, total): total = start + len, plus one while the page is full.
    for (start, len, total, more) in [
        (0, 2, 3, true),
        (2, 2, 5, true),
        (4, 1, 5, false),
        (5, 0, 5, false),
    ] {
        let page = c.tasks(&filter.clone().with_start(start)).await.unwrap();
        assert_eq!(
            (page.tasks.len(), page.total, page.has_more()),
            (len, total, more),
            "start {start}"
        );
        let want = &newest_first[start as usize..start as usize + len];
        let got: Vec<String> = page.tasks.iter().map(|t| t.upid.to_string()).collect();
        assert_eq!(got, want, "start {start}");
    }
    let before = pbs.requests();
    let all = c
        .tasks_stream(&filter)
        .take(100)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let got: Vec<String> = all.iter().map(|t| t.upid.to_string()).collect();
    assert_eq!(got, newest_first);
    // Pages of 2: 2 + 2 + 1, and the short page ends it.
    assert_eq!(pbs.requests() - before, 3);
    let before = pbs.requests();
    let capped = c
        .tasks_stream(&filter)
        .take(3)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(capped.len(), 3);
    // Lazy: three tasks need two pages of 2, not the third.
    assert_eq!(pbs.requests() - before, 2);
    for upid in &started {
        c.stop_task(&upid.parse().unwrap()).await.unwrap();
    }
}

#[tokio::test]
async fn errors_filter_keeps_warnings_unknown_and_running_tasks() {
    let pbs = fake().await;
    let c = pbs.client_builder().build().unwrap();
    let _ok = pbs.add_finished_task("garbage_collection", Some("store1"), TaskState::Ok);
    let warn = pbs.add_finished_task(
        "verificationjob",
        Some("store1:weekly-verify"),
        TaskState::Warnings(2),
    );
    let unknown = pbs.add_finished_task("prune", Some("store1:"), TaskState::Unknown);
    let failed = pbs.add_finished_task(
        "verify",
        Some("store1"),
        TaskState::Error("verification failed".into()),
    );
    let running = c.datastore("store1").start_gc().await.unwrap();
    let page = c.tasks(&TaskFilter::new().with_errors()).await.unwrap();
    let got: HashSet<String> = page.tasks.iter().map(|t| t.upid.to_string()).collect();
    let want: HashSet<String> = [&warn, &unknown, &failed, &running]
        .iter()
        .map(|u| u.to_string())
        .collect();
    assert_eq!(got, want);
    // A status filter never matches a running task.
    let page = c
        .tasks(
            &TaskFilter::new()
                .with_status(TaskStatusFilter::Warning)
                .with_status(TaskStatusFilter::UnknownState),
        )
        .await
        .unwrap();
    let got: HashSet<String> = page.tasks.iter().map(|t| t.upid.to_string()).collect();
    assert_eq!(got, HashSet::from([warn.to_string(), unknown.to_string()]));
}

/// A snapshot added with its backup task lists a finished `backup` task of the store, worker id
/// `<store>:<type>/<id>`, from the snapshot's time to the end of the run; one without records none.
#[tokio::test]
async fn a_snapshot_with_its_backup_task_lists_the_run() {
    let pbs = fake().await;
    let c = pbs.client_builder().build().unwrap();
    let filter = TaskFilter::new().with_store("store1").with_type("backup");
    let before = c
        .tasks_stream(&filter)
        .take(1000)
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .len();
    pbs.add_snapshot(
        "store1",
        pbs_client::testing::FakeSnapshot::new("ns1", "vm", "777", 1_764_205_200),
    );
    pbs.add_snapshot(
        "store1",
        pbs_client::testing::FakeSnapshot::new("ns1", "vm", "777", 1_764_291_600)
            .with_backup_task(Duration::from_secs(17 * 60)),
    );
    let tasks = c
        .tasks_stream(&filter)
        .take(1000)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(tasks.len(), before + 1, "{tasks:#?}");
    let run = tasks
        .iter()
        .find(|t| t.worker_id.as_deref() == Some("store1:vm/777"))
        .expect("the backup task");
    assert_eq!(run.worker_type, "backup");
    assert_eq!(run.starttime, 1_764_291_600);
    assert_eq!(run.endtime, Some(1_764_291_600 + 17 * 60));
    assert_eq!(run.status, Some(TaskState::Ok));
    let upid: Upid = run.upid.clone();
    assert_eq!(upid.starttime, run.starttime);
    // another store's filter does not see it
    let other = c
        .tasks_stream(&TaskFilter::new().with_store("archive"))
        .take(1000)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert!(other.iter().all(|t| t.upid != run.upid), "{other:#?}");
}

#[tokio::test]
async fn tasks_stream_ends_after_an_error() {
    let pbs = fake().await;
    let c = pbs
        .client_builder()
        .with_retry(pbs_client::RetryConfig::disabled())
        .build()
        .unwrap();
    pbs.inject_response(
        "/tasks",
        500,
        "internal error - task index unreadable",
        None,
    );
    let items: Vec<_> = c.tasks_stream(&TaskFilter::new()).collect().await;
    assert_eq!(items.len(), 1, "{items:?}");
    let err = items.into_iter().next().unwrap().unwrap_err();
    assert_eq!(err.status(), Some(500), "{err:?}");
}
