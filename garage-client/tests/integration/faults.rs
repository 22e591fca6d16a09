//! Faults injected between the client and a real Garage by `testing::FaultProxy`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use garage_client::s3::{GetOptions, PutOptions};
use garage_client::testing::{Fault, FaultProxy, GarageServer, RequestHead};
use garage_client::{MultipartConfig, S3Client};

use super::common::{credentials, data, start, wait_for_unfinished_uploads};

fn client_via(proxy: &FaultProxy, g: &GarageServer) -> S3Client {
    let mut mp = MultipartConfig::default();
    mp.threshold = 5 << 20;
    mp.part_size = 5 << 20;
    S3Client::builder()
        .with_endpoint(proxy.endpoint())
        .with_credentials(credentials(g))
        .with_multipart(mp)
        .build()
        .unwrap()
}

fn is_complete(r: &RequestHead) -> bool {
    r.method == "POST" && r.target.contains("uploadId=")
}

/// A proxy that applies `fault` to the first CompleteMultipartUpload only.
async fn first_complete(g: &GarageServer, fault: Fault) -> (FaultProxy, Arc<AtomicUsize>) {
    let completes = Arc::new(AtomicUsize::new(0));
    let n = completes.clone();
    let proxy = FaultProxy::start(g.ports().s3, move |r| {
        if is_complete(r) && n.fetch_add(1, Ordering::SeqCst) == 0 {
            fault
        } else {
            Fault::None
        }
    })
    .await
    .unwrap();
    (proxy, completes)
}

/// PUTs `body` as `big` in `g`'s bucket (multipart through [`client_via`]'s 5 MiB parts).
async fn put_big(
    c: &S3Client,
    g: &GarageServer,
    body: &[u8],
) -> garage_client::Result<garage_client::s3::PutResult> {
    c.put_object(
        g.bucket(),
        "big",
        body.to_vec().into(),
        PutOptions::default(),
    )
    .await
}

async fn assert_stored(c: &S3Client, bucket: &str, key: &str, body: &[u8]) {
    let got = c
        .get_object(bucket, key, GetOptions::default())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(got == body, "object {key} differs from what was uploaded");
}

#[tokio::test]
async fn a_complete_answered_503_is_retried() {
    let g = start().await;
    let (proxy, completes) = first_complete(&g, Fault::Respond(503)).await;
    let c = client_via(&proxy, &g);
    let body = data(11 << 20, 41);
    let put = put_big(&c, &g, &body).await.unwrap();
    assert_eq!(put.parts, 3);
    assert_eq!(completes.load(Ordering::SeqCst), 2, "Complete sent twice");
    assert_stored(&c, g.bucket(), "big", &body).await;
}

#[tokio::test]
async fn a_complete_that_succeeded_but_was_answered_503_is_accepted_after_a_head() {
    let g = start().await;
    // Garage completes the upload; the client hears 503; the retry finds no such upload.
    let (proxy, completes) = first_complete(&g, Fault::ForwardThenRespond(503)).await;
    let c = client_via(&proxy, &g);
    let body = data(11 << 20, 42);
    let put = put_big(&c, &g, &body).await.unwrap();
    assert_eq!(completes.load(Ordering::SeqCst), 2);
    let head = c.head_object(g.bucket(), "big").await.unwrap();
    assert_eq!(head.etag.as_deref(), Some(put.etag.as_str()));
    assert_eq!(head.size, body.len() as u64);
    assert_stored(&c, g.bucket(), "big", &body).await;
    let admin = super::common::admin(&g);
    assert!(
        wait_for_unfinished_uploads(&admin, g.bucket(), |n| n == 0).await,
        "no upload left behind"
    );
}

/// Garage's answer to a Complete of an upload that no longer exists
/// (`garage_api_s3-2.5.0:error.rs`, `NoSuchUpload`).
const NO_SUCH_UPLOAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchUpload</Code>\
<Message>Upload not found</Message><Resource>/test-bucket/big</Resource><Region>garage</Region></Error>";

#[tokio::test]
async fn no_such_upload_is_not_accepted_when_the_stored_object_differs() {
    let g = start().await;
    // The first Complete fails (503, not forwarded), the retry hears NoSuchUpload although the
    // upload was never completed: the object must not be taken as uploaded.
    let completes = Arc::new(AtomicUsize::new(0));
    let n = completes.clone();
    let proxy = FaultProxy::start(g.ports().s3, move |r| {
        if !is_complete(r) {
            return Fault::None;
        }
        match n.fetch_add(1, Ordering::SeqCst) {
            0 => Fault::Respond(503),
            _ => Fault::RespondXml(404, NO_SUCH_UPLOAD),
        }
    })
    .await
    .unwrap();
    let c = client_via(&proxy, &g);
    // An older, different object under the same key: same key, other size and CRC32C.
    let old = data(6 << 20, 43);
    super::common::s3(&g)
        .put_object(g.bucket(), "big", old.clone().into(), PutOptions::default())
        .await
        .unwrap();
    let e = c
        .put_object(
            g.bucket(),
            "big",
            data(11 << 20, 44).into(),
            PutOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        e.as_s3().map(|e| &e.code),
        Some(&garage_client::S3ErrorCode::NoSuchUpload),
        "{e:?}"
    );
    assert_stored(&c, g.bucket(), "big", &old).await;
    // Nothing at all under another key.
    let e = c
        .put_object(
            g.bucket(),
            "fresh",
            data(11 << 20, 45).into(),
            PutOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        e.as_s3().map(|e| &e.code),
        Some(&garage_client::S3ErrorCode::NoSuchUpload),
        "the upload's own error, not the HEAD's: {e:?}"
    );
    assert!(
        c.head_object(g.bucket(), "fresh")
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        wait_for_unfinished_uploads(&super::common::admin(&g), g.bucket(), |n| n == 0).await,
        "the failed uploads were aborted"
    );
}

/// A proxy cutting the first plain (non-ranged) GET of an object after `n` body bytes.
async fn cut_first_get(g: &GarageServer, n: u64) -> FaultProxy {
    let gets = Arc::new(AtomicUsize::new(0));
    FaultProxy::start(g.ports().s3, move |r| {
        let plain_get = r.method == "GET" && r.header("range").is_none() && !r.target.contains('?');
        if plain_get && gets.fetch_add(1, Ordering::SeqCst) == 0 {
            Fault::CutBodyAfter(n)
        } else {
            Fault::None
        }
    })
    .await
    .unwrap()
}

/// The ranged GETs the proxy saw, as (range, if-match).
fn ranged_gets(proxy: &FaultProxy) -> Vec<(String, String)> {
    proxy
        .requests()
        .into_iter()
        .filter(|(r, _)| r.method == "GET")
        .filter_map(|(r, _)| {
            Some((
                r.header("range")?.to_owned(),
                r.header("if-match").unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

#[tokio::test]
async fn a_single_stream_get_cut_mid_body_resumes_where_it_stopped() {
    let g = start().await;
    let direct = super::common::s3(&g);
    let body = data(3 << 20, 61);
    let put = direct
        .put_object(
            g.bucket(),
            "obj",
            body.clone().into(),
            PutOptions::default(),
        )
        .await
        .unwrap();
    let proxy = cut_first_get(&g, 1 << 20).await;
    let c = client_via(&proxy, &g);
    let get = c
        .get_object(g.bucket(), "obj", GetOptions::default())
        .await
        .unwrap();
    assert!(get.is_verified());
    let got = get.bytes().await.expect("the download resumed");
    assert!(got == body, "resumed download differs");
    let ranged = ranged_gets(&proxy);
    assert_eq!(ranged.len(), 1, "{ranged:?}");
    assert!(
        ranged[0].0.starts_with("bytes=") && ranged[0].0.ends_with(&format!("-{}", body.len() - 1))
    );
    assert_eq!(
        ranged[0].1,
        format!("\"{}\"", put.etag),
        "If-Match carries the quoted ETag"
    );
}

#[tokio::test]
async fn a_resume_after_the_object_was_replaced_fails_instead_of_mixing_versions() {
    use futures::StreamExt;
    let g = start().await;
    let direct = super::common::s3(&g);
    direct
        .put_object(
            g.bucket(),
            "obj",
            data(3 << 20, 64).into(),
            PutOptions::default(),
        )
        .await
        .unwrap();
    let proxy = cut_first_get(&g, 1 << 20).await;
    let c = client_via(&proxy, &g);
    let mut get = c
        .get_object(g.bucket(), "obj", GetOptions::default())
        .await
        .unwrap();
    let first = get.next().await.unwrap().unwrap();
    assert!(!first.is_empty());
    // Replaced before the client notices the cut and resumes.
    direct
        .put_object(
            g.bucket(),
            "obj",
            data(3 << 20, 65).into(),
            PutOptions::default(),
        )
        .await
        .unwrap();
    let mut last = None;
    while let Some(item) = get.next().await {
        if let Err(e) = item {
            last = Some(e);
            break;
        }
    }
    let e = last.expect("the download failed");
    assert_eq!(e.status(), Some(412), "{e:?}");
    assert_eq!(ranged_gets(&proxy).len(), 1);
}

#[tokio::test]
async fn the_first_range_of_a_parallel_get_resumes_too() {
    let g = start().await;
    let direct = super::common::s3(&g);
    let body = data(4 << 20, 62);
    direct
        .put_object(
            g.bucket(),
            "obj",
            body.clone().into(),
            PutOptions::default(),
        )
        .await
        .unwrap();
    let proxy = cut_first_get(&g, 300 << 10).await;
    let mut dl = garage_client::DownloadConfig::default();
    dl.threshold = 1 << 20;
    dl.part_size = 1 << 20;
    dl.concurrency = 3;
    let c = S3Client::builder()
        .with_endpoint(proxy.endpoint())
        .with_credentials(credentials(&g))
        .with_download(dl)
        .build()
        .unwrap();
    let got = c
        .get_object(g.bucket(), "obj", GetOptions::default())
        .await
        .unwrap()
        .bytes()
        .await
        .expect("the first range resumed");
    assert!(got == body);
    assert!(
        ranged_gets(&proxy)
            .iter()
            .any(|(range, _)| range.ends_with(&format!("-{}", (1 << 20) - 1))
                && range != "bytes=0-1048575"),
        "the first range was continued: {:?}",
        ranged_gets(&proxy)
    );
}

#[tokio::test]
async fn a_get_that_keeps_being_cut_fails_after_the_retry_budget() {
    let g = start().await;
    let direct = super::common::s3(&g);
    direct
        .put_object(
            g.bucket(),
            "obj",
            data(3 << 20, 63).into(),
            PutOptions::default(),
        )
        .await
        .unwrap();
    let proxy = FaultProxy::start(g.ports().s3, |r| {
        if r.method == "GET" {
            Fault::CutBodyAfter(100 << 10)
        } else {
            Fault::None
        }
    })
    .await
    .unwrap();
    let c = S3Client::builder()
        .with_endpoint(proxy.endpoint())
        .with_credentials(credentials(&g))
        .with_retry(garage_client::RetryConfig::default().with_max_retries(2))
        .build()
        .unwrap();
    let e = c
        .get_object(g.bucket(), "obj", GetOptions::default())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap_err();
    assert!(e.is_transport(), "{e:?}");
    assert_eq!(
        ranged_gets(&proxy).len(),
        2,
        "two resumptions, then the error"
    );
}

/// A client through `proxy` with short timeouts (a stalled 5 MiB part times out after ≈2 s)
/// and `retry`.
fn impatient_client_via(
    proxy: &FaultProxy,
    g: &GarageServer,
    retry: garage_client::RetryConfig,
) -> S3Client {
    let mut mp = MultipartConfig::default();
    mp.threshold = 5 << 20;
    mp.part_size = 5 << 20;
    let http = garage_client::HttpConfig::default()
        .with_read_timeout(std::time::Duration::from_secs(1))
        .with_request_timeout(std::time::Duration::from_secs(1))
        .with_retry(retry);
    S3Client::builder()
        .with_endpoint(proxy.endpoint())
        .with_credentials(credentials(g))
        .with_multipart(mp)
        .with_http_config(http)
        .build()
        .unwrap()
}

/// A proxy on which the first attempt of part 2 is never answered.
async fn stall_part_two(g: &GarageServer) -> (FaultProxy, Arc<AtomicUsize>) {
    let attempts = Arc::new(AtomicUsize::new(0));
    let n = attempts.clone();
    let proxy = FaultProxy::start(g.ports().s3, move |r| {
        // Only three parts: `partNumber=2` names part 2 alone.
        let part_two = r.method == "PUT" && r.target.contains("partNumber=2");
        if part_two && n.fetch_add(1, Ordering::SeqCst) == 0 {
            Fault::Stall
        } else {
            Fault::None
        }
    })
    .await
    .unwrap();
    (proxy, attempts)
}

#[tokio::test]
async fn a_stalled_part_times_out_and_is_retried_within_the_default_budget() {
    let g = start().await;
    let (proxy, attempts) = stall_part_two(&g).await;
    // The default budget, with timeouts scaled down as the defaults' ratio stands (the budget
    // holds several timed-out attempts).
    let c = impatient_client_via(&proxy, &g, garage_client::RetryConfig::default());
    let body = data(11 << 20, 43);
    let put = put_big(&c, &g, &body).await.unwrap();
    assert_eq!(put.parts, 3);
    assert_eq!(attempts.load(Ordering::SeqCst), 2, "part 2 sent twice");
    assert_stored(&c, g.bucket(), "big", &body).await;
}

#[tokio::test]
async fn a_stalled_part_past_the_budget_fails_typed_and_stores_nothing() {
    let g = start().await;
    let (proxy, attempts) = stall_part_two(&g).await;
    // A budget shorter than one timed-out attempt: no retry may start.
    let retry = garage_client::RetryConfig::default()
        .with_retry_timeout(std::time::Duration::from_millis(500));
    let c = impatient_client_via(&proxy, &g, retry);
    let err = put_big(&c, &g, &data(11 << 20, 44)).await.unwrap_err();
    assert!(err.is_retryable(), "a timeout is retryable: {err:?}");
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        1,
        "no retry after the budget"
    );
    let head = c.head_object(g.bucket(), "big").await;
    assert!(
        head.as_ref().is_err_and(|e| e.is_not_found()),
        "no object may be stored: {head:?}"
    );
}
