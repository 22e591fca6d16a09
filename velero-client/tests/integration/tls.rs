//! Downloads from an object store with a private CA (issue 16 point 6): the client trusts the
//! BackupStorageLocation's `caCertRef` (a Secret) or `caCert`, like `velero backup logs`
//! (pkg/cmd/util/cacert/bsl_cacert.go, pkg/cmd/util/downloadrequest/downloadrequest.go), and a
//! certificate it cannot verify is reported as a TLS problem, not as "set publicUrl".

use futures::TryStreamExt;
use std::time::Duration;

use base64::Engine as _;
use serde_json::json;
use velero_client::testing::{FakeCluster, NamespaceSim};
use velero_client::{BackupSpec, Error, VeleroClient};

use crate::integration::leaks::{assert_no_url, everything_printed};
use crate::{setup, wait_available};

/// A location on the fake's store bucket `velero-<name>` with the given `objectStorage` extras.
async fn location(
    cluster: &FakeCluster,
    client: &VeleroClient,
    name: &str,
    object_storage: serde_json::Value,
) {
    let bucket = format!("velero-{name}");
    cluster.add_bucket(&bucket);
    let mut os = json!({ "bucket": bucket });
    if let (Some(os), Some(extra)) = (os.as_object_mut(), object_storage.as_object()) {
        os.extend(extra.clone());
    }
    cluster
        .insert_json(json!({
            "kind": "BackupStorageLocation",
            "metadata": { "name": name },
            "spec": { "provider": "velero.io/aws", "objectStorage": os, "config": { "s3Url": cluster.s3_url() } }
        }))
        .unwrap();
    wait_available(client, name).await;
}

async fn backup_on(client: &VeleroClient, backup: &str, location: &str) {
    let mut spec = BackupSpec::default();
    spec.storage_location = Some(location.into());
    client.create_backup(backup, spec).await.unwrap();
    client
        .wait_for_backup(backup, Duration::from_secs(10))
        .await
        .unwrap();
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
}

#[tokio::test]
async fn downloads_trust_the_locations_ca_cert_and_ca_cert_ref() {
    let (fake, client) = setup("prod").await;
    let prod = fake.cluster("prod").unwrap();
    prod.set_namespace("apps", NamespaceSim::with_items(3));

    // Inline caCert (deprecated but common).
    location(
        prod,
        &client,
        "inline",
        json!({ "caCert": b64(prod.store_ca_pem()) }),
    )
    .await;
    backup_on(&client, "b-inline", "inline").await;
    let lines = client
        .backup_logs("b-inline")
        .await
        .unwrap()
        .try_collect::<Vec<String>>()
        .await
        .unwrap();
    assert!(lines.iter().any(|l| l.contains("Backup completed")));

    // caCertRef wins over caCert (the CLI's priority): the inline one here is the wrong CA.
    prod.add_secret("garage-ca", &[("ca.crt", prod.store_ca_pem().as_bytes())]);
    location(
        prod,
        &client,
        "by-ref",
        json!({ "caCert": b64(prod.api_ca_pem()), "caCertRef": { "name": "garage-ca", "key": "ca.crt" } }),
    )
    .await;
    backup_on(&client, "b-ref", "by-ref").await;
    let results = client.backup_results("b-ref").await.unwrap();
    assert_eq!(results.errors.len(), 0);

    // Restores find the CA through their backup's location.
    client
        .create_restore(&velero_client::RestoreOptions::from_backup("b-ref").with_name("r-ref"))
        .await
        .unwrap();
    client
        .wait_for_restore("r-ref", Duration::from_secs(10))
        .await
        .unwrap();
    let lines = client
        .restore_logs("r-ref")
        .await
        .unwrap()
        .try_collect::<Vec<String>>()
        .await
        .unwrap();
    assert!(lines.iter().any(|l| l.contains("restore completed")));
}

#[tokio::test]
async fn an_untrusted_store_certificate_is_a_tls_error_not_publicurl() {
    let (fake, client) = setup("monit").await;
    let monit = fake.cluster("monit").unwrap();
    monit.set_namespace("grafana", NamespaceSim::with_items(2));
    location(monit, &client, "noca", json!({})).await;
    backup_on(&client, "b-noca", "noca").await;

    let err = client.backup_logs("b-noca").await.unwrap_err();
    assert!(matches!(err, Error::DownloadTls { .. }), "{err:?}");
    let text = err.to_string();
    assert!(!text.contains("publicUrl"), "{text}");
    assert!(
        text.contains("caCert") && text.contains("certificate"),
        "{text}"
    );
    assert!(!err.is_retryable(), "a TLS verification failure stays one");
    assert_no_url(&everything_printed(&err));

    // The client's own CA (the CLI's --cacert) makes it work.
    let with_ca = VeleroClient::builder()
        .with_kubeconfig_path(fake.kubeconfig_path())
        .with_context("monit")
        .with_download_ca_cert(monit.store_ca_pem().as_bytes().to_vec())
        .build()
        .await
        .unwrap();
    let lines = with_ca
        .backup_logs("b-noca")
        .await
        .unwrap()
        .try_collect::<Vec<String>>()
        .await
        .unwrap();
    assert!(lines.iter().any(|l| l.contains("Backup completed")));

    // So does --insecure-skip-tls-verify.
    let insecure = VeleroClient::builder()
        .with_kubeconfig_path(fake.kubeconfig_path())
        .with_context("monit")
        .with_download_tls_verification(velero_client::TlsVerification::InsecureSkipVerify)
        .build()
        .await
        .unwrap();
    let lines = insecure
        .backup_logs("b-noca")
        .await
        .unwrap()
        .try_collect::<Vec<String>>()
        .await
        .unwrap();
    assert!(lines.iter().any(|l| l.contains("Backup completed")));

    // A caCertRef whose Secret cannot be read: the CLI warns and downloads without it; the
    // TLS error then says so.
    location(
        monit,
        &client,
        "lost-ref",
        json!({ "caCertRef": { "name": "missing", "key": "ca.crt" } }),
    )
    .await;
    backup_on(&client, "b-lost", "lost-ref").await;
    let err = client.backup_logs("b-lost").await.unwrap_err();
    assert!(matches!(err, Error::DownloadTls { .. }), "{err:?}");
    assert!(err.to_string().contains("missing"), "{err}");
}
