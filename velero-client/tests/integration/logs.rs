use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use serde_json::json;
use velero_client::testing::NamespaceSim;
use velero_client::{BackupSpec, DownloadTargetKind, Error, RestoreOptions, VeleroClient};

use crate::{client, setup, wait_available};

#[tokio::test]
async fn backup_and_restore_logs_are_streamed_from_the_gzip_url() {
    let (fake, client) = setup("prod").await;
    let prod = fake.cluster("prod").unwrap();
    prod.set_namespace("apps", NamespaceSim::with_items(4).failing(1));
    client
        .create_backup("b1", BackupSpec::default())
        .await
        .unwrap();
    client
        .wait_for_backup("b1", Duration::from_secs(10))
        .await
        .unwrap();

    let lines = client
        .backup_logs("b1")
        .await
        .unwrap()
        .try_collect::<Vec<String>>()
        .await
        .unwrap();
    assert!(lines.len() >= 4, "{lines:?}");
    assert!(lines[0].contains("Setting up backup temp file"));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("level=error") && l.contains("namespace=apps"))
    );
    assert!(lines.last().unwrap().contains("Backup completed"));
    // The CLI leaves DownloadRequests behind; this client deletes them.
    assert!(prod.list_json("downloadrequests").is_empty());

    client
        .create_restore(&RestoreOptions::from_backup("b1").with_name("r1"))
        .await
        .unwrap();
    client
        .wait_for_restore("r1", Duration::from_secs(10))
        .await
        .unwrap();
    let mut stream = client.restore_logs("r1").await.unwrap();
    let mut restore_lines = Vec::new();
    while let Some(line) = stream.next().await {
        restore_lines.push(line.unwrap());
    }
    assert!(
        restore_lines
            .iter()
            .any(|l| l.contains("restore completed"))
    );

    // Every request, API and object store, carried the crate's User-Agent.
    assert_eq!(
        prod.user_agents(),
        vec![velero_client::USER_AGENT.to_owned()]
    );
    assert!(velero_client::USER_AGENT.starts_with("velero-client/"));

    // The tarball is not gzip-decoded.
    let tarball = client
        .download(DownloadTargetKind::BackupContents, "b1")
        .await
        .unwrap();
    assert_eq!(&tarball[..2], &[0x1f, 0x8b]);
}

#[tokio::test]
async fn logs_wait_until_the_backup_finished() {
    let (fake, client) = setup("prod").await;
    fake.cluster("prod")
        .unwrap()
        .set_namespace("apps", NamespaceSim::with_items(4).hanging());
    client
        .create_backup("busy", BackupSpec::default())
        .await
        .unwrap();
    crate::eventually("InProgress", || async {
        (client.get_backup("busy").await.unwrap().phase() == velero_client::BackupPhase::InProgress)
            .then_some(())
    })
    .await;
    match client.backup_logs("busy").await {
        Err(Error::NotFinished { phase, .. }) => assert_eq!(phase, "InProgress"),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn missing_log_file_is_not_found_and_missing_backup_times_out() {
    let (fake, client) = setup("monit").await;
    let monit = fake.cluster("monit").unwrap();
    // A backup synced from the bucket whose log file is gone.
    monit
        .insert_json(json!({
            "kind": "Backup",
            "metadata": { "name": "synced" },
            "spec": { "storageLocation": "default" },
            "status": { "phase": "Completed" }
        }))
        .unwrap();
    let err = client.backup_logs("synced").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert!(matches!(err, Error::DownloadHttp { status: 404, .. }));

    let impatient = VeleroClient::builder()
        .with_kubeconfig_path(fake.kubeconfig_path())
        .with_context("monit")
        .with_download_url_timeout(Duration::from_millis(300))
        .build()
        .await
        .unwrap();
    let err = impatient
        .download(DownloadTargetKind::BackupLog, "never-existed")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DownloadUrlTimeout { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("backup storage location may not be available")
    );
}

#[tokio::test]
async fn in_cluster_only_url_is_reported_clearly() {
    let (fake, client) = setup("agentic").await;
    let agentic = fake.cluster("agentic").unwrap();
    // An s3Url nobody listens on (as a cluster-internal service name would be from outside).
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    agentic.add_bucket("velero-internal");
    agentic
        .insert_json(json!({
            "kind": "BackupStorageLocation",
            "metadata": { "name": "internal" },
            "spec": { "provider": "velero.io/aws", "objectStorage": { "bucket": "velero-internal" }, "config": { "s3Url": dead } }
        }))
        .unwrap();
    wait_available(&client, "internal").await;
    agentic.set_namespace("apps", NamespaceSim::with_items(2).failing(1));
    let mut spec = BackupSpec::default();
    spec.storage_location = Some("internal".into());
    client.create_backup("inside", spec).await.unwrap();
    client
        .wait_for_backup("inside", Duration::from_secs(10))
        .await
        .unwrap();

    let err = client.backup_logs("inside").await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::DownloadUnreachable { .. }), "{err:?}");
    assert!(
        text.contains("publicUrl") && text.contains("inside the cluster"),
        "{text}"
    );
    assert!(
        !text.contains("X-Amz-Signature"),
        "signature must not leak: {text}"
    );

    // Setting publicUrl (as the runbook says) fixes it.
    agentic
        .patch_json(
            "backupstoragelocations",
            "internal",
            &json!({ "spec": {
                "config": { "publicUrl": agentic.s3_url() },
                "objectStorage": { "caCert": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, agentic.store_ca_pem()) }
            } }),
        )
        .unwrap();
    let c2 = client_for(&fake).await;
    let lines = c2
        .backup_logs("inside")
        .await
        .unwrap()
        .try_collect::<Vec<String>>()
        .await
        .unwrap();
    assert!(lines.iter().any(|l| l.contains("Backup completed")));
}

async fn client_for(fake: &velero_client::testing::FakeVelero) -> VeleroClient {
    client(fake, "agentic").await
}

#[tokio::test]
async fn downloads_retry_503_honouring_retry_after() {
    let (fake, client) = setup("monit").await;
    let monit = fake.cluster("monit").unwrap();
    monit.set_namespace("grafana", NamespaceSim::with_items(2));
    client
        .create_backup("busy-s3", BackupSpec::default())
        .await
        .unwrap();
    client
        .wait_for_backup("busy-s3", Duration::from_secs(10))
        .await
        .unwrap();

    monit.fail_downloads(1, Some(1));
    let before = monit.download_hits();
    let started = std::time::Instant::now();
    let lines = client
        .backup_logs("busy-s3")
        .await
        .unwrap()
        .try_collect::<Vec<String>>()
        .await
        .unwrap();
    assert!(lines.iter().any(|l| l.contains("Backup completed")));
    assert_eq!(monit.download_hits() - before, 2, "one 503, one retry");
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After: 1 was honoured"
    );

    // A store that keeps failing gives up after the bounded retries with a typed error.
    monit.fail_downloads(10, None);
    let before = monit.download_hits();
    let err = client.backup_logs("busy-s3").await.unwrap_err();
    assert!(
        matches!(err, Error::DownloadHttp { status: 503, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(monit.download_hits() - before, 4, "1 try + 3 retries");
}
