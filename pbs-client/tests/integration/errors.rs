use std::time::Duration;

use pbs_client::{Error, SnapshotFilter};

use super::common::fake;

#[tokio::test]
async fn plain_text_errors_become_typed() {
    let pbs = fake().await;
    let c = pbs
        .client_builder()
        .with_retries(0, Duration::ZERO)
        .build()
        .unwrap();
    let err = c.datastore_status("nope", false).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert!(
        err.to_string().contains("datastore 'nope' does not exist"),
        "{err}"
    );
    let err = c.groups("store1", Some("missing/ns")).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");

    pbs.inject_response("/version", 500, "internal error - disk on fire", None);
    let err = c.version().await.unwrap_err();
    assert!(
        matches!(&err, Error::Api { status: 500, message, .. } if message == "internal error - disk on fire"),
        "{err:?}"
    );
    pbs.inject_response(
        "/version",
        404,
        "Path '/api2/json/version' not found.",
        None,
    );
    assert!(c.version().await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn garbage_and_truncated_bodies_are_decode_errors() {
    let pbs = fake().await;
    let c = pbs.client_builder().build().unwrap();
    for body in [
        &b"garbage"[..],
        b"",
        b"{\"data\":[{\"backup-type\":\"vm\",\"backup-id\":\"1",
        b"{\"data\":null}",
        b"{\"data\":[{\"backup-type\":\"vm\"}]}",
        b"\xff\xfe\x00binary",
    ] {
        pbs.inject_response("/snapshots", 200, body, None);
        let err = c
            .snapshots("store1", &SnapshotFilter::new())
            .await
            .unwrap_err();
        assert!(err.is_decode(), "{body:?}: {err:?}");
        assert!(
            err.to_string()
                .contains("GET /admin/datastore/store1/snapshots"),
            "{err}"
        );
    }
    // A task start answering something that is not a UPID.
    pbs.inject_response("/gc", 200, r#"{"data":"not-a-upid"}"#, None);
    assert!(c.start_gc("store1").await.unwrap_err().is_decode());
    // The client is still fine afterwards.
    assert_eq!(
        c.snapshots("store1", &SnapshotFilter::new())
            .await
            .unwrap()
            .len(),
        35
    );
}

#[tokio::test]
async fn idempotent_reads_are_retried_honouring_retry_after_writes_are_not() {
    let pbs = fake().await;
    let c = pbs
        .client_builder()
        .with_retries(2, Duration::from_millis(100))
        .build()
        .unwrap();
    pbs.inject_response("/version", 503, "service busy", Some(0));
    let before = pbs.requests();
    c.version().await.unwrap();
    assert_eq!(pbs.requests() - before, 2);

    pbs.inject_response("/gc", 503, "service busy", Some(0));
    let before = pbs.requests();
    let err = c.start_gc("store1").await.unwrap_err();
    assert!(err.is_retryable() && err.status() == Some(503), "{err:?}");
    assert_eq!(pbs.requests() - before, 1);
}
