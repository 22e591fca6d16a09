use std::time::Duration;

use pbs_client::testing::FakePbs;
use pbs_client::{Error, TaskState};

use super::common::{fake, fast_config};

#[tokio::test]
async fn wait_until_stopped() {
    let pbs = fake().await;
    let c = pbs.client_builder().build().unwrap();
    let upid = c.start_gc("store1").await.unwrap();
    let first = c.task_status(&upid).await.unwrap();
    assert!(first.is_running());
    assert_eq!(first.exitstatus, None);
    let log = c.task_log(&upid, 1, 500).await.unwrap();
    assert_eq!(log.active, Some(true));
    assert!(log.lines.iter().all(|l| !l.t.starts_with("TASK ")));
    let done = c.wait_task(&upid, Duration::from_secs(10)).await.unwrap();
    assert!(!done.is_running());
    assert_eq!(done.exitstatus, Some(TaskState::Ok));
    assert_eq!(done.upid, upid.to_string());
    let log = c.task_log(&upid, 2, 0).await.unwrap();
    assert_eq!(log.lines[0].n, 2);
    assert_eq!(log.total, 4);
    assert_eq!(log.lines.last().unwrap().t, "TASK OK");
}

#[tokio::test]
async fn wait_times_out_and_stop_aborts() {
    let pbs = FakePbs::start_with(fast_config().with_task_duration(Duration::from_secs(60)))
        .await
        .unwrap();
    let c = pbs.client_builder().build().unwrap();
    let upid = c.start_gc("store1").await.unwrap();
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
            assert_eq!(exit_status, "task aborted");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn unknown_task_is_not_found() {
    let pbs = fake().await;
    let c = pbs.client_builder().build().unwrap();
    let upid = "UPID:pbs:00000001:00000001:00000099:65000000:garbage_collection:store1:root@pam:"
        .parse()
        .unwrap();
    let err = c.task_status(&upid).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}
