use std::time::Duration;

use serde_json::json;
use velero_client::health::StopReason;
use velero_client::testing::NamespaceSim;
use velero_client::{BackupPhase, BackupSpec, BslPhase, Clusters, HealthOptions};

use crate::{eventually, setup};

#[tokio::test]
async fn stuck_backups_stopped_schedules_and_unavailable_locations_are_reported() {
    let (fake, client) = setup("prod").await;
    let prod = fake.cluster("prod").unwrap();
    prod.set_namespace("apps", NamespaceSim::with_items(5));
    prod.set_namespace("media", NamespaceSim::with_items(5).hanging());

    // A healthy schedule with a fresh success, and one whose backup hangs since yesterday.
    let now = jiff::Timestamp::now();
    let ago = |h: i64| (now - jiff::SignedDuration::from_hours(h)).to_string();
    // The overlap guard skips runs without touching lastBackup, so media-daily's is old.
    // apps-daily runs daily at an hour twelve hours from now: not due during the test, whatever
    // the time of day (a fixed 02:00 was due when the suite ran between 02:00 and 05:00 UTC, and
    // the fake's controller then started a second backup).
    let apps_hour = (now.to_zoned(jiff::tz::TimeZone::UTC).hour() + 12) % 24;
    let apps_cron = format!("0 {apps_hour} * * *");
    for (name, cron, last) in [
        ("apps-daily", apps_cron.as_str(), 3),
        ("media-daily", "0 2 * * *", 36),
    ] {
        prod.insert_json(json!({
            "kind": "Schedule",
            "metadata": { "name": name, "creationTimestamp": ago(24 * 30) },
            "spec": { "schedule": cron, "template": {} },
            "status": { "phase": "Enabled", "lastBackup": ago(last) }
        }))
        .unwrap();
    }
    prod.insert_json(json!({
        "kind": "Backup",
        "metadata": { "name": "apps-daily-1", "labels": { "velero.io/schedule-name": "apps-daily" }, "creationTimestamp": ago(3) },
        "spec": { "storageLocation": "default" },
        "status": { "phase": "Completed", "startTimestamp": ago(3), "completionTimestamp": ago(2) }
    }))
    .unwrap();
    prod.insert_json(json!({
        "kind": "Backup",
        "metadata": { "name": "media-daily-1", "labels": { "velero.io/schedule-name": "media-daily" }, "creationTimestamp": ago(60) },
        "spec": { "storageLocation": "default" },
        "status": { "phase": "Completed", "startTimestamp": ago(60), "completionTimestamp": ago(59) }
    }))
    .unwrap();
    prod.insert_json(json!({
        "kind": "Backup",
        "metadata": { "name": "media-daily-2", "labels": { "velero.io/schedule-name": "media-daily" }, "creationTimestamp": ago(36) },
        "spec": { "storageLocation": "default", "includedNamespaces": ["media"] },
        "status": { "phase": "InProgress", "startTimestamp": ago(36), "progress": { "totalItems": 5, "itemsBackedUp": 0 } }
    }))
    .unwrap();
    // A fresh ad-hoc backup on the live controller gets stuck InProgress too (hanging volume).
    let mut spec = BackupSpec::default();
    spec.included_namespaces = Some(vec!["media".into()]);
    client.create_backup("adhoc-media", spec).await.unwrap();
    eventually("adhoc InProgress", || async {
        (client.get_backup("adhoc-media").await.unwrap().phase() == BackupPhase::InProgress)
            .then_some(())
    })
    .await;
    // An off-site location whose bucket is missing.
    prod.insert_json(json!({
        "kind": "BackupStorageLocation",
        "metadata": { "name": "offsite" },
        "spec": { "provider": "velero.io/aws", "objectStorage": { "bucket": "velero-offsite" } }
    }))
    .unwrap();
    eventually("offsite validated", || async {
        let locs = client.storage_locations().await.unwrap();
        locs.into_iter()
            .find(|l| l.name == "offsite" && l.phase == BslPhase::Unavailable)
    })
    .await;

    let report = client.health(&HealthOptions::default()).await.unwrap();
    assert!(!report.is_healthy());
    assert_eq!(report.stuck_backups.len(), 1, "{:?}", report.stuck_backups);
    assert_eq!(report.stuck_backups[0].name, "media-daily-2");
    assert!(report.stuck_backups[0].age >= Duration::from_secs(36 * 3600 - 5));
    assert_eq!(report.last_success["apps-daily"].backup, "apps-daily-1");
    assert_eq!(report.last_success["media-daily"].backup, "media-daily-1");
    let apps = report
        .schedules
        .iter()
        .find(|s| s.name == "apps-daily")
        .unwrap();
    assert_eq!(apps.stopped, None);
    assert!(!apps.success_overdue);
    assert_eq!(apps.expected_interval, Some(Duration::from_secs(86400)));
    let media = report
        .schedules
        .iter()
        .find(|s| s.name == "media-daily")
        .unwrap();
    assert_eq!(
        media.stopped,
        Some(StopReason::BlockedBy("media-daily-2".into()))
    );
    assert!(media.success_overdue);
    assert_eq!(report.unavailable_locations.len(), 1);
    assert_eq!(report.unavailable_locations[0].name, "offsite");
    assert!(
        report.unavailable_locations[0]
            .message
            .as_deref()
            .unwrap()
            .contains("NoSuchBucket")
    );

    // A tighter threshold also catches the fresh hanging ad-hoc backup.
    let strict = client
        .health(&HealthOptions::default().with_stuck_after(Duration::ZERO))
        .await
        .unwrap();
    let names: Vec<&str> = strict
        .stuck_backups
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names, vec!["media-daily-2", "adhoc-media"]);

    // The same over all three clusters: the others are healthy.
    let clusters = Clusters::from_kubeconfig(fake.kubeconfig_path(), &["prod", "agentic", "monit"])
        .await
        .unwrap();
    let all = clusters.health(&HealthOptions::default()).await;
    assert_eq!(all.len(), 3);
    assert!(!all["prod"].as_ref().unwrap().is_healthy());
    assert!(all["monit"].as_ref().unwrap().is_healthy());
    assert_eq!(client.last_successful_backups().await.unwrap().len(), 2);
}
