use std::time::Duration;

use serde_json::json;
use velero_client::testing::NamespaceSim;
use velero_client::{
    BackupPhase, BackupSpec, Error, ExistingResourcePolicy, RestoreOptions, RestorePhase,
};

use crate::{eventually, setup};

async fn completed_backup(client: &velero_client::VeleroClient, name: &str, namespaces: &[&str]) {
    let mut spec = BackupSpec::default();
    spec.included_namespaces = Some(namespaces.iter().map(|s| s.to_string()).collect());
    client.create_backup(name, spec).await.unwrap();
    let b = client
        .wait_for_backup(name, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(b.phase(), BackupPhase::Completed);
}

#[tokio::test]
async fn restore_with_filters_mapping_and_policy_completes() {
    let (fake, client) = setup("prod").await;
    let prod = fake.cluster("prod").unwrap();
    prod.set_namespace("apps", NamespaceSim::with_items(8));
    prod.set_namespace("db", NamespaceSim::with_items(5));
    completed_backup(&client, "nightly", &["apps", "db"]).await;

    let opts = RestoreOptions::from_backup("nightly")
        .include_namespaces(["apps"])
        .exclude_resources(["secrets"])
        .map_namespace("apps", "apps-drill")
        .restore_pvs()
        .existing_resource_policy(ExistingResourcePolicy::Update);
    let created = client.create_restore(&opts).await.unwrap();
    let name = created.metadata.name.clone().unwrap();
    assert!(
        name.starts_with("nightly-") && name.len() == "nightly-".len() + 14,
        "{name}"
    );

    let stored = prod.get_json("restores", &name).unwrap();
    assert_eq!(
        stored["spec"]["namespaceMapping"],
        json!({"apps": "apps-drill"})
    );
    assert_eq!(stored["spec"]["restorePVs"], true);
    assert_eq!(stored["spec"]["existingResourcePolicy"], "update");
    assert_eq!(stored["spec"]["includedNamespaces"], json!(["apps"]));

    let r = client
        .wait_for_restore(&name, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(r.phase(), RestorePhase::Completed);
    assert_eq!(r.errors(), 0);
    assert_eq!(
        r.status
            .as_ref()
            .unwrap()
            .progress
            .as_ref()
            .unwrap()
            .items_restored,
        Some(8)
    );
    // The server appended the non-restorable resources.
    assert!(
        r.spec
            .excluded_resources
            .as_ref()
            .unwrap()
            .iter()
            .any(|e| e == "nodes")
    );
    assert!(prod.has_namespace("apps-drill"));
}

#[tokio::test]
async fn restore_ends_partially_failed_when_items_are_rejected() {
    let (fake, client) = setup("agentic").await;
    let agentic = fake.cluster("agentic").unwrap();
    agentic.set_namespace("llm", NamespaceSim::with_items(6).rejecting_restores(2));
    completed_backup(&client, "llm-1", &["llm"]).await;
    let r = client
        .create_restore(&RestoreOptions::from_backup("llm-1").with_name("llm-restore"))
        .await
        .unwrap();
    assert_eq!(r.metadata.name.as_deref(), Some("llm-restore"));
    let r = client
        .wait_for_restore("llm-restore", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(r.phase(), RestorePhase::PartiallyFailed);
    assert!(r.phase().is_terminal());
    assert_eq!(r.errors(), 2);
    assert_eq!(
        r.warnings(),
        1,
        "namespace already existed with policy none"
    );
    let results = client.restore_results("llm-restore").await.unwrap();
    assert_eq!(results.errors.namespaces["llm"].len(), 2);
    assert!(results.errors.namespaces["llm"][0].contains("admission webhook"));
    assert_eq!(results.warnings.namespaces["llm"].len(), 1);
    let d = client.describe_restore("llm-restore").await.unwrap();
    assert_eq!(d.phase, RestorePhase::PartiallyFailed);
    assert_eq!(d.results.unwrap(), results);
    assert_eq!(d.progress.unwrap().items_restored, Some(4));
}

fn seeded(name: &str, schedule: &str, phase: &str, start: &str) -> serde_json::Value {
    json!({
        "kind": "Backup",
        "metadata": { "name": name, "labels": { "velero.io/schedule-name": schedule } },
        "spec": { "storageLocation": "default" },
        "status": { "phase": phase, "startTimestamp": start, "completionTimestamp": start }
    })
}

#[tokio::test]
async fn restore_from_latest_picks_the_newest_completed_backup() {
    let (fake, client) = setup("prod").await;
    let prod = fake.cluster("prod").unwrap();
    prod.insert_json(seeded(
        "daily-20261125020000",
        "daily",
        "Completed",
        "2026-11-25T02:00:00Z",
    ))
    .unwrap();
    prod.insert_json(seeded(
        "daily-20261126020000",
        "daily",
        "Completed",
        "2026-11-26T02:00:00Z",
    ))
    .unwrap();
    prod.insert_json(seeded(
        "daily-20261127020000",
        "daily",
        "PartiallyFailed",
        "2026-11-27T02:00:00Z",
    ))
    .unwrap();
    prod.insert_json(seeded(
        "weekly-20261127030000",
        "weekly",
        "Completed",
        "2026-11-27T03:00:00Z",
    ))
    .unwrap();

    let r = client
        .restore_from_latest("daily", RestoreOptions::from_schedule("daily"))
        .await
        .unwrap();
    assert_eq!(r.spec.backup_name.as_deref(), Some("daily-20261126020000"));
    assert!(r.spec.schedule_name.is_none());
    let name = r.metadata.name.clone().unwrap();
    assert!(name.starts_with("daily-"));
    let done = client
        .wait_for_restore(&name, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(done.phase(), RestorePhase::Completed);
    // The server copies the backup's schedule into the spec.
    assert_eq!(done.spec.schedule_name.as_deref(), Some("daily"));

    // --allow-partially-failed takes the newer PartiallyFailed one.
    let r = client
        .create_restore(
            &RestoreOptions::from_schedule("daily")
                .allow_partially_failed()
                .with_name("pf"),
        )
        .await
        .unwrap();
    assert_eq!(r.spec.backup_name.as_deref(), Some("daily-20261127020000"));

    // A schedule source resolved by the server.
    let r = client
        .create_restore(&RestoreOptions::from_schedule("weekly").with_name("from-weekly"))
        .await
        .unwrap();
    assert!(r.spec.backup_name.is_none());
    let done = client
        .wait_for_restore("from-weekly", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        done.spec.backup_name.as_deref(),
        Some("weekly-20261127030000")
    );

    match client
        .restore_from_latest("hourly", RestoreOptions::from_schedule("hourly"))
        .await
    {
        Err(Error::NoBackups { schedule, context }) => {
            assert_eq!(schedule, "hourly");
            assert_eq!(context, "prod");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(
        client
            .create_restore(&RestoreOptions::from_schedule("hourly"))
            .await,
        Err(Error::NoBackups { .. })
    ));
    assert!(
        client
            .create_restore(&RestoreOptions::from_backup("missing"))
            .await
            .unwrap_err()
            .is_not_found()
    );
}

/// Velero's restore controller does not look at the backup's phase when a Restore names its
/// backup (vmware-tanzu/velero pkg/controller/restore_controller.go `validateAndComplete`; only
/// `--from-schedule` picks the newest Completed one), so the fake does not either. The client
/// keeps its own documented guard, which the caller can lift.
#[tokio::test]
async fn restore_of_an_unfinished_backup_is_guarded_by_the_client_not_the_server() {
    let (fake, client) = setup("prod").await;
    let prod = fake.cluster("prod").unwrap();
    prod.insert_json(seeded(
        "running",
        "daily",
        "Deleting",
        "2026-11-27T02:00:00Z",
    ))
    .unwrap();
    let err = client
        .create_restore(&RestoreOptions::from_backup("running").with_name("too-early"))
        .await
        .unwrap_err();
    match &err {
        Error::BackupNotRestorable { backup, phase, .. } => {
            assert_eq!(backup, "running");
            assert_eq!(phase, "Deleting");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        prod.get_json("restores", "too-early").is_none(),
        "nothing was sent"
    );

    // The server itself accepts it.
    client
        .create_restore(
            &RestoreOptions::from_backup("running")
                .with_name("anyway")
                .allow_any_backup_phase(),
        )
        .await
        .unwrap();
    let r = client
        .wait_for_restore("anyway", Duration::from_secs(10))
        .await
        .unwrap();
    assert_ne!(r.phase(), RestorePhase::FailedValidation, "{r:?}");
    assert!(
        r.status
            .as_ref()
            .and_then(|s| s.validation_errors.as_ref())
            .is_none_or(|v| v.is_empty())
    );
}

#[tokio::test]
async fn waiting_times_out_with_the_last_phase() {
    let (fake, client) = setup("monit").await;
    fake.cluster("monit").unwrap().pause_controller();
    client
        .create_backup("slow", BackupSpec::default())
        .await
        .unwrap();
    let err = client
        .wait_for_backup("slow", Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    match err {
        Error::Timeout {
            last_phase, name, ..
        } => {
            assert_eq!(last_phase, "New");
            assert_eq!(name, "slow");
        }
        other => panic!("unexpected {other:?}"),
    }
    fake.cluster("monit").unwrap().resume_controller();
    let b = eventually("backup to finish", || async {
        let b = client.get_backup("slow").await.unwrap();
        b.phase().is_terminal().then_some(b)
    })
    .await;
    assert_eq!(b.phase(), BackupPhase::Completed);
}
