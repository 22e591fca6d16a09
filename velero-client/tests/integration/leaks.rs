//! No presigned URL (path, query, `X-Amz-Signature`) in any error a download can produce: not in
//! `Display`, not anywhere in the `source()` chain (what a runbook prints with `{e:#}`), not in
//! `Debug` (issue 14 item 4).

use futures::TryStreamExt;
use std::time::Duration;

use serde_json::json;
use velero_client::testing::NamespaceSim;
use velero_client::{BackupSpec, DownloadTargetKind, Error};

use crate::{setup, wait_available};

/// Every `Display` of the chain, joined like anyhow's `{:#}`, then the `Debug` of the top.
pub fn everything_printed(err: &Error) -> String {
    let mut out = err.to_string();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    let mut depth = 0;
    while let Some(e) = cur {
        out.push_str(": ");
        out.push_str(&e.to_string());
        out.push_str(&format!(" / {e:?}"));
        cur = e.source();
        depth += 1;
        assert!(depth < 64, "source chain does not end");
    }
    out.push_str(&format!("\n{err:?}"));
    out
}

/// Fails when anything that could open the presigned URL appears in the text.
pub fn assert_no_url(text: &str) {
    for needle in ["X-Amz-", "/backups/", "/restores/", "-logs.gz"] {
        assert!(
            !text.contains(needle),
            "{needle:?} leaked into an error:\n{text}"
        );
    }
    // S3 echoes the signature in these elements: only the placeholder may remain.
    for tag in [
        "<SignatureProvided>",
        "<StringToSign>",
        "<CanonicalRequest>",
    ] {
        for (i, _) in text.match_indices(tag) {
            assert!(
                text[i + tag.len()..].starts_with("[redacted]"),
                "{tag} content leaked into an error:\n{text}"
            );
        }
    }
}

#[tokio::test]
async fn presigned_urls_never_reach_error_chains_or_debug() {
    let (fake, client) = setup("agentic").await;
    let agentic = fake.cluster("agentic").unwrap();
    agentic.set_namespace("apps", NamespaceSim::with_items(2));
    client
        .create_backup("b1", BackupSpec::default())
        .await
        .unwrap();
    client
        .wait_for_backup("b1", Duration::from_secs(10))
        .await
        .unwrap();

    // 1. A transfer cut off midway (streamed logs).
    agentic.break_downloads(1);
    let err = client
        .backup_logs("b1")
        .await
        .unwrap()
        .try_collect::<Vec<String>>()
        .await
        .unwrap_err();
    assert!(
        !format!("{err:?}").contains("SendRequest"),
        "cut mid-body: {err:?}"
    );
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_no_url(&everything_printed(&err));

    // 2. A transfer cut off midway (whole-body download).
    agentic.break_downloads(1);
    let err = client
        .download(DownloadTargetKind::BackupContents, "b1")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_no_url(&everything_printed(&err));

    // 3. An endpoint nobody listens on.
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
    let mut spec = BackupSpec::default();
    spec.storage_location = Some("internal".into());
    client.create_backup("inside", spec).await.unwrap();
    client
        .wait_for_backup("inside", Duration::from_secs(10))
        .await
        .unwrap();
    let err = client.backup_logs("inside").await.unwrap_err();
    assert!(matches!(err, Error::DownloadUnreachable { .. }), "{err:?}");
    assert_no_url(&everything_printed(&err));

    // 4. An S3 error body that echoes the signature (AWS's SignatureDoesNotMatch does).
    agentic.reject_signatures(1);
    let err = client
        .download(DownloadTargetKind::BackupResults, "b1")
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::DownloadHttp { status: 403, .. }),
        "{err:?}"
    );
    assert_no_url(&everything_printed(&err));
}
