use std::time::Duration;

use pbs_client::{BackoffConfig, Error, RetryConfig, SnapshotFilter, StatusDetail};

use super::common::fake;

#[tokio::test]
async fn plain_text_errors_become_typed() {
    let pbs = fake().await;
    let c = pbs
        .client_builder()
        .with_retry(RetryConfig::disabled())
        .build()
        .unwrap();
    let err = c
        .datastore("nope")
        .status(StatusDetail::Summary)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert!(
        err.to_string().contains("datastore 'nope' does not exist"),
        "{err}"
    );
    let err = c
        .datastore("store1")
        .groups(Some("missing/ns"))
        .await
        .unwrap_err();
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
            .datastore("store1")
            .snapshots(&SnapshotFilter::new())
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
    assert!(
        c.datastore("store1")
            .start_gc()
            .await
            .unwrap_err()
            .is_decode()
    );
    // The client is still fine afterwards.
    assert_eq!(
        c.datastore("store1")
            .snapshots(&SnapshotFilter::new())
            .await
            .unwrap()
            .len(),
        35
    );
}

#[tokio::test]
async fn idempotent_reads_are_retried_honouring_retry_after_writes_are_not() {
    let pbs = fake().await;
    let c =
        pbs.client_builder()
            .with_retry(RetryConfig::default().with_max_retries(2).with_backoff(
                BackoffConfig::default().with_max_backoff(Duration::from_millis(100)),
            ))
            .build()
            .unwrap();
    pbs.inject_response("/version", 503, "service busy", Some(0));
    let before = pbs.requests();
    c.version().await.unwrap();
    assert_eq!(pbs.requests() - before, 2);

    pbs.inject_response("/gc", 503, "service busy", Some(0));
    let before = pbs.requests();
    let err = c.datastore("store1").start_gc().await.unwrap_err();
    assert!(err.is_retryable() && err.status() == Some(503), "{err:?}");
    assert_eq!(pbs.requests() - before, 1);
}

/// Every predicate of one error, so each test shows that exactly one of them holds.
fn predicates(err: &Error) -> [bool; 4] {
    [
        err.is_unauthenticated(),
        err.is_permission_denied(),
        err.is_not_found(),
        err.is_retryable(),
    ]
}

#[tokio::test]
async fn http_401_is_unauthenticated() {
    let pbs = fake().await;
    let c = pbs
        .client_builder()
        .with_token("root@pam!test", pbs_client::SecretString::from("wrong"))
        .build()
        .unwrap();
    let err = c.datastores().await.unwrap_err();
    assert_eq!(err.status(), Some(401), "{err:?}");
    assert_eq!(predicates(&err), [true, false, false, false], "{err:?}");
}

#[tokio::test]
async fn http_403_is_permission_denied() {
    let pbs = fake().await;
    let c = pbs
        .client_builder()
        .with_token(
            pbs_client::testing::AUDIT_TOKEN_ID,
            pbs.audit_token_secret(),
        )
        .build()
        .unwrap();
    // The audit token reads but may not start garbage collection.
    let err = c.datastore("store1").start_gc().await.unwrap_err();
    assert_eq!(err.status(), Some(403), "{err:?}");
    assert_eq!(predicates(&err), [false, true, false, false], "{err:?}");
}

#[tokio::test]
async fn http_404_is_not_found() {
    let pbs = fake().await;
    let c = pbs.client_builder().build().unwrap();
    pbs.inject_response(
        "/version",
        404,
        "Path '/api2/json/version' not found.",
        None,
    );
    let err = c.version().await.unwrap_err();
    assert_eq!(err.status(), Some(404), "{err:?}");
    assert_eq!(predicates(&err), [false, false, true, false], "{err:?}");
}
