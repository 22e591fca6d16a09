use std::time::Duration;

use futures::TryStreamExt;
use serde_json::json;
use velero_client::testing::NamespaceSim;
use velero_client::types::labels;
use velero_client::{Backup, BackupPhase, BackupSpec, Error, ListOptions, Schedule, ScheduleSpec};

use crate::setup;

fn completed_backup(name: &str, schedule: Option<&str>, start: &str) -> serde_json::Value {
    let mut labels = serde_json::Map::new();
    if let Some(s) = schedule {
        labels.insert(labels::SCHEDULE_NAME.into(), json!(s));
    }
    json!({
        "kind": "Backup",
        "metadata": { "name": name, "labels": labels },
        "spec": { "storageLocation": "default", "ttl": "720h0m0s" },
        "status": { "phase": "Completed", "startTimestamp": start, "completionTimestamp": start, "errors": 0, "warnings": 0 }
    })
}

/// `count` completed backups of schedule `schedule`, named `<schedule>-2026112<i><hour>0000`.
fn insert_scheduled(
    cluster: &velero_client::testing::FakeCluster,
    schedule: &str,
    hour: &str,
    count: u32,
) {
    for i in 0..count {
        cluster
            .insert_json(completed_backup(
                &format!("{schedule}-2026112{i}{hour}0000"),
                Some(schedule),
                &format!("2026-11-20T{hour}:00:00Z"),
            ))
            .unwrap();
    }
}

#[tokio::test]
async fn lists_are_paged_and_filtered_by_label() {
    let (fake, client) = setup("prod").await;
    let prod = fake.cluster("prod").unwrap();
    insert_scheduled(prod, "daily", "02", 5);
    insert_scheduled(prod, "weekly", "03", 2);
    let opts = ListOptions::default().with_page_size(3);
    let p1 = client.list_backups_page(&opts, None).await.unwrap();
    assert_eq!(p1.items.len(), 3);
    assert_eq!(p1.remaining_item_count, Some(4));
    let p2 = client
        .list_backups_page(&opts, p1.continue_token.as_deref())
        .await
        .unwrap();
    assert_eq!(p2.items.len(), 3);
    let p3 = client
        .list_backups_page(&opts, p2.continue_token.as_deref())
        .await
        .unwrap();
    assert_eq!(p3.items.len(), 1);
    assert!(p3.continue_token.is_none());
    let mut names: Vec<String> = [p1.items, p2.items, p3.items]
        .concat()
        .into_iter()
        .filter_map(|b| b.metadata.name)
        .collect();
    let all: Vec<String> = client
        .list_backups(&opts)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|b| b.metadata.name)
        .collect();
    assert_eq!(names, all);
    names.dedup();
    assert_eq!(names.len(), 7);

    let weekly = client.list_backups_for_schedule("weekly").await.unwrap();
    assert_eq!(weekly.len(), 2);
    assert!(weekly.iter().all(|b| b.schedule_name() == Some("weekly")));
    let sel = client
        .list_backups(
            &ListOptions::default()
                .with_labels("velero.io/schedule-name in (daily)")
                .with_page_size(2),
        )
        .await
        .unwrap();
    assert_eq!(sel.len(), 5);
}

#[tokio::test]
async fn lists_stream_page_by_page() {
    let (fake, client) = setup("prod").await;
    let prod = fake.cluster("prod").unwrap();
    insert_scheduled(prod, "daily", "02", 7);
    prod.insert_json(json!({
        "kind": "Schedule",
        "metadata": { "name": "daily" },
        "spec": { "schedule": "0 2 * * *", "template": {} }
    }))
    .unwrap();
    let opts = ListOptions::default().with_page_size(3);
    let streamed: Vec<String> = client
        .backups_stream(&opts)
        .map_ok(|b| b.metadata.name.unwrap_or_default())
        .try_collect()
        .await
        .unwrap();
    let eager: Vec<String> = client
        .list_backups(&opts)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|b| b.metadata.name)
        .collect();
    assert_eq!(streamed.len(), 7);
    assert_eq!(streamed, eager);

    let schedules: Vec<Schedule> = client.schedules_stream().try_collect().await.unwrap();
    assert_eq!(schedules.len(), 1);
    assert_eq!(schedules[0].metadata.name.as_deref(), Some("daily"));
    let restores: Vec<_> = client
        .restores_stream(&ListOptions::default())
        .try_collect()
        .await
        .unwrap();
    assert!(restores.is_empty());
    let locations: Vec<_> = client
        .storage_locations_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(locations.len(), 1);
    assert!(locations[0].is_available(), "{:?}", locations[0]);

    // Pages are fetched as the stream is read: once the first page (3 items) is read, the
    // next page fails and the error ends the stream.
    let mut stream = client.backups_stream(&opts);
    for _ in 0..3 {
        assert!(stream.try_next().await.unwrap().is_some());
    }
    prod.forbid("list", "backups");
    let err = stream.try_next().await.unwrap_err();
    assert!(err.is_permission_denied(), "{err:?}");
    assert!(stream.try_next().await.unwrap().is_none());
}

#[tokio::test]
async fn unknown_phases_and_fields_parse() {
    let (fake, client) = setup("prod").await;
    // A newer Velero's CRD allows what 1.18's rejects or prunes.
    fake.cluster("prod")
        .unwrap()
        .insert_json_unchecked(json!({
            "kind": "Backup",
            "metadata": { "name": "from-the-future" },
            "spec": { "includedNamespaces": ["*"], "someNewSpecField": {"x": 1} },
            "status": { "phase": "Quiescing", "queuePosition": 3, "brandNewCounter": 7 }
        }))
        .unwrap();
    let b = client.get_backup("from-the-future").await.unwrap();
    assert_eq!(b.phase(), BackupPhase::Unknown("Quiescing".into()));
    assert!(!b.phase().is_terminal());
    assert_eq!(b.status.unwrap().queue_position, Some(3));
}

#[tokio::test]
async fn backup_from_schedule_runs_to_completion_with_cli_naming() {
    let (fake, client) = setup("prod").await;
    let prod = fake.cluster("prod").unwrap();
    prod.set_namespace("apps", NamespaceSim::with_items(12).pod_volumes(2));
    prod.set_namespace("media", NamespaceSim::with_items(4));
    let mut spec = ScheduleSpec::default();
    spec.schedule = "0 2 * * *".into();
    spec.template.included_namespaces = Some(vec!["apps".into()]);
    let mut schedule = Schedule::new("daily", spec);
    schedule.metadata.labels = Some([("team".to_owned(), "infra".to_owned())].into());
    client.create(&schedule).await.unwrap();

    let created = client.create_backup_from_schedule("daily").await.unwrap();
    let name = created.metadata.name.clone().unwrap();
    let suffix = name.strip_prefix("daily-").unwrap();
    assert_eq!(suffix.len(), 14, "{name}");
    assert!(suffix.chars().all(|c| c.is_ascii_digit()));
    assert_eq!(created.schedule_name(), Some("daily"));
    assert_eq!(created.metadata.labels.as_ref().unwrap()["team"], "infra");
    assert!(created.status.is_none(), "no status sent on create");

    let done = client
        .wait_for_backup(&name, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(done.phase(), BackupPhase::Completed);
    let status = done.status.clone().unwrap();
    assert_eq!(status.progress.as_ref().unwrap().total_items, Some(12));
    assert_eq!(done.spec.storage_location.as_deref(), Some("default"));
    assert_eq!(
        done.spec.ttl.as_ref().unwrap().to_std().unwrap(),
        Duration::from_secs(720 * 3600)
    );
    assert_eq!(
        done.metadata.labels.as_ref().unwrap()[labels::STORAGE_LOCATION],
        "default"
    );
    // No status subresource: status writes bumped the generation.
    assert!(done.metadata.generation.unwrap() > 1);

    let d = client.describe_backup(&name).await.unwrap();
    assert_eq!(d.phase, BackupPhase::Completed);
    assert_eq!(d.errors, 0);
    assert!(d.results.is_none());
    assert!(d.results_error.is_none());
    assert!(d.expiration.unwrap() > jiff::Timestamp::now());
    assert_eq!(d.pod_volume_backups.len(), 2);
    assert!(d.delete_requests.is_empty());
}

#[tokio::test]
async fn partially_failed_backup_is_described_with_its_errors() {
    let (fake, client) = setup("agentic").await;
    fake.cluster("agentic")
        .unwrap()
        .set_namespace("llm", NamespaceSim::with_items(5).failing(2));
    let mut spec = BackupSpec::default();
    spec.included_namespaces = Some(vec!["llm".into()]);
    client.create_backup("llm-adhoc", spec).await.unwrap();
    let b = client
        .wait_for_backup("llm-adhoc", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(b.phase(), BackupPhase::PartiallyFailed);
    let d = client.describe_backup("llm-adhoc").await.unwrap();
    assert_eq!(d.errors, 2);
    let results = d.results.expect("results downloaded");
    assert_eq!(results.errors.namespaces["llm"].len(), 2);
    assert!(results.errors.namespaces["llm"][0].contains("pod volume backup failed"));
}

#[tokio::test]
async fn backups_fail_validation_on_a_missing_location() {
    let (_fake, client) = setup("prod").await;
    let mut spec = BackupSpec::default();
    spec.storage_location = Some("offsite".into());
    client.create_backup("nowhere", spec).await.unwrap();
    let b: Backup = client
        .wait_for_backup("nowhere", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(b.phase(), BackupPhase::FailedValidation);
    let errs = b.status.unwrap().validation_errors.unwrap();
    assert!(errs[0].contains("'offsite' was not found"), "{errs:?}");
}

#[tokio::test]
async fn delete_goes_through_a_delete_backup_request() {
    let (fake, client) = setup("monit").await;
    let monit = fake.cluster("monit").unwrap();
    monit.set_namespace("grafana", NamespaceSim::with_items(3).pod_volumes(1));
    client
        .create_backup("old", BackupSpec::default())
        .await
        .unwrap();
    client
        .wait_for_backup("old", Duration::from_secs(10))
        .await
        .unwrap();
    assert!(monit.has_blob("velero-monit/cluster/backups/old/old-logs.gz"));

    let dbr = client.delete_backup("old").await.unwrap();
    let dbr_name = dbr.metadata.name.clone().unwrap();
    assert!(
        dbr_name.starts_with("old-") && dbr_name.len() == "old-".len() + 5,
        "{dbr_name}"
    );
    assert_eq!(
        dbr.metadata.labels.as_ref().unwrap()[labels::BACKUP_NAME],
        "old"
    );
    client
        .wait_for_backup_deleted("old", Duration::from_secs(10))
        .await
        .unwrap();
    assert!(!monit.has_blob("velero-monit/cluster/backups/old/old-logs.gz"));
    assert!(monit.list_json("podvolumebackups").is_empty());
    // On success the server deletes the backup's DeleteBackupRequests (by backup name and UID
    // labels; vmware-tanzu/velero pkg/controller/backup_deletion_controller.go).
    crate::eventually("the delete request is removed", || async {
        monit
            .get_json("deletebackuprequests", &dbr_name)
            .is_none()
            .then_some(())
    })
    .await;
    assert!(
        client
            .delete_backup("old")
            .await
            .unwrap_err()
            .is_not_found()
    );
}

/// The deletion controller refuses in-progress backups and missing, read-only or unavailable
/// locations: `Processed` with `status.errors` (vmware-tanzu/velero
/// pkg/controller/backup_deletion_controller.go). The client reports that reason at once.
#[tokio::test]
async fn delete_refusals_surface_the_servers_reason() {
    let (fake, client) = setup("prod").await;
    let prod = fake.cluster("prod").unwrap();
    let wait = Duration::from_secs(10);
    let refused = |err: Error| match err {
        Error::DeleteRefused { backup, errors, .. } => (backup, errors.join("; ")),
        other => panic!("expected DeleteRefused, got {other:?}"),
    };

    // 1. A backup still running.
    prod.set_namespace("stuck", NamespaceSim::with_items(2).hanging());
    let mut spec = BackupSpec::default();
    spec.included_namespaces = Some(vec!["stuck".into()]);
    client.create_backup("running", spec).await.unwrap();
    crate::eventually("InProgress", || async {
        (client.get_backup("running").await.unwrap().phase() == BackupPhase::InProgress)
            .then_some(())
    })
    .await;
    let first = client.delete_backup("running").await.unwrap();
    let started = std::time::Instant::now();
    let (backup, why) = refused(
        client
            .wait_for_backup_deleted("running", wait)
            .await
            .unwrap_err(),
    );
    assert_eq!(backup, "running");
    assert!(why.contains("backup is still in progress"), "{why}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "refusal, not a timeout"
    );
    assert_eq!(
        client.get_backup("running").await.unwrap().phase(),
        BackupPhase::InProgress
    );
    // The same through the request itself.
    let second = client.delete_backup("running").await.unwrap();
    let err = client
        .wait_for_delete_request(&second, wait)
        .await
        .unwrap_err();
    assert!(refused(err).1.contains("still in progress"));
    // A new request replaces the earlier ones for the same backup.
    assert!(
        prod.get_json(
            "deletebackuprequests",
            first.metadata.name.as_deref().unwrap()
        )
        .is_none()
    );

    // 2. A read-only location.
    prod.add_bucket("velero-archive");
    prod.insert_json(json!({
        "kind": "BackupStorageLocation",
        "metadata": { "name": "archive" },
        "spec": { "provider": "velero.io/aws", "accessMode": "ReadOnly", "objectStorage": { "bucket": "velero-archive" } }
    }))
    .unwrap();
    crate::wait_available(&client, "archive").await;
    prod.insert_json(json!({
        "kind": "Backup",
        "metadata": { "name": "synced" },
        "spec": { "storageLocation": "archive" },
        "status": { "phase": "Completed" }
    }))
    .unwrap();
    client.delete_backup("synced").await.unwrap();
    let why = refused(
        client
            .wait_for_backup_deleted("synced", wait)
            .await
            .unwrap_err(),
    )
    .1;
    assert!(
        why.contains("backup storage location archive is currently in read-only mode"),
        "{why}"
    );

    // 3. An unavailable location.
    prod.set_namespace("apps", NamespaceSim::with_items(1));
    let mut spec = BackupSpec::default();
    spec.included_namespaces = Some(vec!["apps".into()]);
    client.create_backup("fine", spec).await.unwrap();
    client.wait_for_backup("fine", wait).await.unwrap();
    prod.remove_bucket("velero-prod");
    crate::eventually("Unavailable", || async {
        let locs = client.storage_locations().await.unwrap();
        locs.iter()
            .any(|l| l.name == "default" && l.phase == velero_client::BslPhase::Unavailable)
            .then_some(())
    })
    .await;
    client.delete_backup("fine").await.unwrap();
    let why = refused(
        client
            .wait_for_backup_deleted("fine", wait)
            .await
            .unwrap_err(),
    )
    .1;
    assert!(
        why.contains("backup storage location default is currently in Unavailable state"),
        "{why}"
    );

    // 4. A missing location.
    prod.insert_json(json!({
        "kind": "Backup",
        "metadata": { "name": "orphan" },
        "spec": { "storageLocation": "gone" },
        "status": { "phase": "Completed" }
    }))
    .unwrap();
    client.delete_backup("orphan").await.unwrap();
    let why = refused(
        client
            .wait_for_backup_deleted("orphan", wait)
            .await
            .unwrap_err(),
    )
    .1;
    assert!(
        why.contains("backup storage location gone not found"),
        "{why}"
    );

    // Once the location is back, deleting works and removes every request of the backup.
    prod.add_bucket("velero-prod");
    crate::wait_available(&client, "default").await;
    let dbr = client.delete_backup("fine").await.unwrap();
    client.wait_for_delete_request(&dbr, wait).await.unwrap();
    assert!(
        client
            .get_opt::<velero_client::Backup>("fine")
            .await
            .unwrap()
            .is_none()
    );
    crate::eventually("no requests left for the backup", || async {
        prod.list_json("deletebackuprequests")
            .iter()
            .all(|d| d["spec"]["backupName"] != "fine")
            .then_some(())
    })
    .await;
}
