//! The builder in the workspace's dialect: `from_vars`, timeouts and `with_retry`.

use std::time::{Duration, Instant};

use velero_client::testing::NamespaceSim;
use velero_client::{BackupSpec, ClientBuilder, Error, ListOptions, RetryConfig, VeleroClient};

use crate::{install_crypto, setup, wait_available};

#[tokio::test]
async fn from_vars_reads_kubeconfig_and_velero_namespace() {
    install_crypto();
    let fake = velero_client::testing::FakeVelero::start().await.unwrap();
    let path = fake.kubeconfig_path().to_str().unwrap().to_owned();
    let client = ClientBuilder::from_vars([
        ("KUBECONFIG", path.as_str()),
        ("VELERO_NAMESPACE", "velero"),
    ])
    .unwrap()
    .build()
    .await
    .unwrap();
    // The kubeconfig's current context (its first, `agentic`).
    assert_eq!(client.context(), "agentic");
    assert_eq!(client.namespace(), "velero");
    wait_available(&client, "default").await;

    // Another namespace from the variable: Velero is not there, so nothing is listed.
    let other =
        ClientBuilder::from_vars([("KUBECONFIG", path.as_str()), ("VELERO_NAMESPACE", "nope")])
            .unwrap()
            .with_context("prod")
            .build()
            .await
            .unwrap();
    assert_eq!(other.namespace(), "nope");
    assert!(
        other
            .list_backups(&ListOptions::default())
            .await
            .unwrap()
            .is_empty()
    );

    // Every file of a KUBECONFIG list is read: a missing one is a configuration error.
    let missing = format!("{path}:/nonexistent/kubeconfig");
    let err = ClientBuilder::from_vars([("KUBECONFIG", missing)])
        .unwrap()
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
}

async fn completed_backup(client: &VeleroClient, fake: &velero_client::testing::FakeVelero) {
    fake.cluster("monit")
        .unwrap()
        .set_namespace("grafana", NamespaceSim::with_items(2));
    client
        .create_backup("retried", BackupSpec::default())
        .await
        .unwrap();
    client
        .wait_for_backup("retried", Duration::from_secs(10))
        .await
        .unwrap();
}

async fn client_with(
    fake: &velero_client::testing::FakeVelero,
    retry: RetryConfig,
) -> VeleroClient {
    VeleroClient::builder()
        .with_kubeconfig_path(fake.kubeconfig_path())
        .with_context("monit")
        .with_connect_timeout(Duration::from_secs(5))
        .with_request_timeout(Duration::from_secs(30))
        .with_retry(retry)
        .build()
        .await
        .unwrap()
}

#[tokio::test]
async fn with_retry_bounds_download_retries() {
    let (fake, client) = setup("monit").await;
    completed_backup(&client, &fake).await;
    let monit = fake.cluster("monit").unwrap();

    // Disabled: one attempt only.
    let once = client_with(&fake, RetryConfig::disabled()).await;
    monit.fail_downloads(5, None);
    let before = monit.download_hits();
    let err = once.backup_logs("retried").await.unwrap_err();
    assert!(
        matches!(err, Error::DownloadHttp { status: 503, .. }),
        "{err:?}"
    );
    assert_eq!(monit.download_hits() - before, 1, "no retry");

    // One retry.
    let twice = client_with(&fake, RetryConfig::default().with_max_retries(1)).await;
    monit.fail_downloads(5, None);
    let before = monit.download_hits();
    let err = twice.backup_logs("retried").await.unwrap_err();
    assert!(
        matches!(err, Error::DownloadHttp { status: 503, .. }),
        "{err:?}"
    );
    assert_eq!(monit.download_hits() - before, 2, "1 try + 1 retry");

    // A Retry-After beyond the time budget: no retry starts after the budget.
    let budget = client_with(
        &fake,
        RetryConfig::default().with_retry_timeout(Duration::from_millis(500)),
    )
    .await;
    monit.fail_downloads(5, Some(2));
    let before = monit.download_hits();
    let started = Instant::now();
    let err = budget.backup_logs("retried").await.unwrap_err();
    assert!(
        matches!(err, Error::DownloadHttp { status: 503, .. }),
        "{err:?}"
    );
    assert_eq!(
        monit.download_hits() - before,
        1,
        "the retry would start after the budget"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_fake_hands_out_builders_pointed_at_it() {
    install_crypto();
    let fake = velero_client::testing::FakeVelero::start().await.unwrap();
    assert_eq!(fake.contexts(), ["agentic", "monit", "prod"]);
    let first = fake.client_builder().build().await.unwrap();
    assert_eq!(first.context(), "agentic");
    assert_eq!(first.namespace(), "velero");
    wait_available(&first, "default").await;
    let prod = fake.client_builder_for("prod").build().await.unwrap();
    assert_eq!(prod.context(), "prod");
    prod.create_backup("only-in-prod", BackupSpec::default())
        .await
        .unwrap();
    // Each builder reaches its own cluster.
    assert!(
        first
            .get_opt::<velero_client::Backup>("only-in-prod")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        prod.get_opt::<velero_client::Backup>("only-in-prod")
            .await
            .unwrap()
            .is_some()
    );
}
