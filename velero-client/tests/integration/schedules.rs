use std::time::Duration;

use velero_client::testing::NamespaceSim;
use velero_client::{BackupPhase, Schedule, SchedulePhase, ScheduleSpec};

use crate::{eventually, setup};

fn schedule(name: &str, cron: &str) -> Schedule {
    let mut spec = ScheduleSpec::default();
    spec.schedule = cron.into();
    spec.template.included_namespaces = Some(vec!["apps".into()]);
    Schedule::new(name, spec)
}

#[tokio::test]
async fn pause_and_unpause_with_merge_patches() {
    let (fake, client) = setup("prod").await;
    client
        .create(&schedule("daily", "0 2 * * *"))
        .await
        .unwrap();
    client
        .create(&schedule("weekly", "0 3 * * 0"))
        .await
        .unwrap();
    let s = eventually("schedule enabled", || async {
        let s = client.get_schedule("daily").await.unwrap();
        (s.phase() == SchedulePhase::Enabled).then_some(s)
    })
    .await;
    assert!(!s.is_paused());
    let generation = s.metadata.generation.unwrap();

    let paused = client.pause_schedule("daily").await.unwrap();
    assert!(paused.is_paused());
    assert!(paused.metadata.generation.unwrap() > generation);
    // The rest of the spec is untouched by the merge patch.
    assert_eq!(paused.spec.schedule, "0 2 * * *");
    assert_eq!(
        paused.spec.template.included_namespaces,
        Some(vec!["apps".to_owned()])
    );

    let unpaused = client
        .unpause_schedule("daily", velero_client::UnpauseMode::SkipImmediately)
        .await
        .unwrap();
    assert!(!unpaused.is_paused());
    assert_eq!(unpaused.spec.skip_immediately, Some(true));
    // The controller consumes skipImmediately and stamps lastSkipped.
    let s = eventually("skip consumed", || async {
        let s = client.get_schedule("daily").await.unwrap();
        (s.spec.skip_immediately == Some(false)).then_some(s)
    })
    .await;
    assert!(s.status.unwrap().last_skipped.is_some());

    // Without --skip-immediately nothing but `paused` is sent.
    client.pause_schedule("daily").await.unwrap();
    let resumed = client
        .unpause_schedule("daily", velero_client::UnpauseMode::ServerDefault)
        .await
        .unwrap();
    assert!(!resumed.is_paused());
    assert_eq!(
        resumed.spec.skip_immediately,
        Some(false),
        "left as the controller set it"
    );

    let all = client.list_schedules().await.unwrap();
    assert_eq!(all.len(), 2);
    let stored = fake
        .cluster("prod")
        .unwrap()
        .get_json("schedules", "weekly")
        .unwrap();
    assert_eq!(stored["status"]["phase"], "Enabled");
}

#[tokio::test]
async fn invalid_cron_fails_validation() {
    let (_fake, client) = setup("prod").await;
    client
        .create(&schedule("broken", "every day at two"))
        .await
        .unwrap();
    let s = eventually("validation", || async {
        let s = client.get_schedule("broken").await.unwrap();
        (s.phase() == SchedulePhase::FailedValidation).then_some(s)
    })
    .await;
    let errs = s.status.unwrap().validation_errors.unwrap();
    assert!(errs[0].starts_with("invalid schedule"), "{errs:?}");
}

/// The fake's schedule controller judges crons as Velero does (robfig/cron v3
/// `ParseStandard`, vmware-tanzu/velero pkg/controller/schedule_controller.go
/// `parseCronSchedule`): day-of-week 7 and `L` fail validation with robfig's message; a zone
/// prefix, `@every` and a never-firing `0 0 30 2 *` are Enabled.
#[tokio::test]
async fn schedules_are_validated_like_velero() {
    let (_fake, client) = setup("prod").await;
    let cases = [
        (
            "dow7",
            "0 2 * * 7",
            Some("invalid schedule: end of range (7) above maximum (6): 7"),
        ),
        (
            "last",
            "0 0 L * *",
            Some("invalid schedule: failed to parse int from L"),
        ),
        ("london", "CRON_TZ=Europe/London 0 2 * * *", None),
        ("six", "@every 6h", None),
        ("feb30", "0 0 30 2 *", None),
    ];
    for (name, cron, _) in cases {
        client.create(&schedule(name, cron)).await.unwrap();
    }
    for (name, cron, want) in cases {
        let s = eventually("validation", || async {
            let s = client.get_schedule(name).await.unwrap();
            (s.phase() != SchedulePhase::New).then_some(s)
        })
        .await;
        match want {
            Some(msg) => {
                assert_eq!(s.phase(), SchedulePhase::FailedValidation, "{cron}");
                let errs = s.status.unwrap().validation_errors.unwrap();
                assert!(errs[0].starts_with(msg), "{cron}: {errs:?}");
            }
            None => assert_eq!(s.phase(), SchedulePhase::Enabled, "{cron}"),
        }
    }
}

#[tokio::test]
async fn due_schedules_submit_backups_and_respect_the_overlap_guard() {
    let (fake, client) = setup("agentic").await;
    let agentic = fake.cluster("agentic").unwrap();
    agentic.set_namespace("apps", NamespaceSim::with_items(2).hanging());
    let mut s = schedule("often", "@every 1s");
    s.metadata.creation_timestamp = None;
    client.create(&s).await.unwrap();
    let first = eventually("first scheduled backup", || async {
        let b = client.list_backups_for_schedule("often").await.unwrap();
        b.into_iter().next()
    })
    .await;
    let name = first.metadata.name.clone().unwrap();
    assert!(name.starts_with("often-"));
    // The backup hangs InProgress, so no second backup is submitted.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let all = client.list_backups_for_schedule("often").await.unwrap();
    assert_eq!(all.len(), 1, "overlap guard");
    assert_eq!(all[0].phase(), BackupPhase::InProgress);
    let sched = client.get_schedule("often").await.unwrap();
    assert!(sched.last_backup().is_some());
}
