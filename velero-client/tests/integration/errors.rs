use std::time::Duration;

use velero_client::{Backup, BackupSpec, Error, ListOptions};

use crate::setup;

#[tokio::test]
async fn forbidden_is_typed() {
    let (fake, client) = setup("prod").await;
    let prod = fake.cluster("prod").unwrap();
    prod.forbid("list", "backups");
    let err = client
        .list_backups(&ListOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_permission_denied(), "{err:?}");
    assert!(!err.is_unauthenticated());
    assert_eq!(err.status(), Some(403));
    assert_eq!(err.reason(), Some("Forbidden"));
    assert!(!err.is_retryable());
    match &err {
        Error::Api(a) => {
            assert_eq!(a.context, "prod");
            assert_eq!(a.verb, "list");
            assert_eq!(a.resource, "backups");
            assert_eq!(a.code, 403);
            assert!(
                a.message.contains("cannot list resource \"backups\""),
                "{}",
                a.message
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    // Waiting needs watch: a forbidden watch surfaces as a typed 403 too.
    client
        .create_backup("w", BackupSpec::default())
        .await
        .unwrap();
    prod.forbid("watch", "backups");
    let err = client
        .wait_for_backup("w", Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(err.is_permission_denied(), "{err:?}");
}

#[tokio::test]
async fn a_wrong_token_is_unauthenticated() {
    let (fake, _client) = setup("prod").await;
    // The fake's kubeconfig with prod's bearer token replaced: the apiserver answers 401.
    let yaml = std::fs::read_to_string(fake.kubeconfig_path()).unwrap();
    assert!(yaml.contains("fake-token-prod"), "{yaml}");
    let kubeconfig =
        kube::config::Kubeconfig::from_yaml(&yaml.replace("fake-token-prod", "stolen-token"))
            .unwrap();
    let client = velero_client::VeleroClient::builder()
        .with_kubeconfig(kubeconfig)
        .with_context("prod")
        .build()
        .await
        .unwrap();
    let err = client.get_backup("any").await.unwrap_err();
    assert!(err.is_unauthenticated(), "{err:?}");
    assert_eq!(err.status(), Some(401));
    assert!(!err.is_permission_denied());
    assert!(!err.is_not_found());
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn not_found_is_typed() {
    let (_fake, client) = setup("agentic").await;
    let err = client.get_backup("nope").await.unwrap_err();
    assert!(err.is_not_found());
    assert!(!err.is_permission_denied() && !err.is_unauthenticated());
    assert_eq!(err.status(), Some(404));
    assert!(
        err.to_string()
            .contains("backups.velero.io \"nope\" not found"),
        "{err}"
    );
    assert!(client.get_opt::<Backup>("nope").await.unwrap().is_none());
    assert!(
        client
            .pause_schedule("nope")
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        client
            .delete_backup("nope")
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn conflicts_are_typed() {
    let (fake, client) = setup("monit").await;
    fake.cluster("monit").unwrap().pause_controller();
    client
        .create_backup("twice", BackupSpec::default())
        .await
        .unwrap();
    let err = client
        .create_backup("twice", BackupSpec::default())
        .await
        .unwrap_err();
    assert!(err.is_already_exists(), "{err:?}");
    assert!(!err.is_conflict());

    let stale = client.get_backup("twice").await.unwrap();
    let mut fresh = stale.clone();
    fresh.spec.ttl = Some(velero_client::GoDuration::parse("24h0m0s").unwrap());
    client.replace(&fresh).await.unwrap();
    let mut late = stale;
    late.spec.ttl = Some(velero_client::GoDuration::parse("48h0m0s").unwrap());
    let err = client.replace(&late).await.unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(err.reason(), Some("Conflict"));
}

#[tokio::test]
async fn deletion_while_waiting_is_reported() {
    let (fake, client) = setup("prod").await;
    fake.cluster("prod").unwrap().pause_controller();
    client
        .create_backup("doomed", BackupSpec::default())
        .await
        .unwrap();
    let deleter = client.clone();
    let task = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        deleter.delete::<Backup>("doomed").await
    });
    let err = client
        .wait_for_backup("doomed", Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Deleted {
                resource: "backups",
                ..
            }
        ),
        "{err:?}"
    );
    task.await.unwrap().unwrap();
}
