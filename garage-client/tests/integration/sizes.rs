//! Part sizes chosen for any object size (issue 13, point 3), proven against a real Garage with
//! a part limit small enough to reach.

use bytes::Bytes;
use garage_client::s3::{GetOptions, PutOptions, PutPayload};
use garage_client::testing::{Fault, FaultProxy, GarageServer};
use garage_client::{Error, MultipartConfig, S3Client};

use super::common::{admin, credentials, data, start, wait_for_unfinished_uploads};

/// 5 MiB parts, at most three per upload.
fn three_parts(g: &GarageServer) -> S3Client {
    let mut mp = MultipartConfig::default();
    mp.threshold = 5 << 20;
    mp.part_size = 5 << 20;
    mp.max_parts = 3;
    S3Client::builder()
        .with_endpoint(g.s3_endpoint())
        .with_credentials(credentials(g))
        .with_multipart(mp)
        .build()
        .unwrap()
}

/// `body` as a stream of 1 MiB chunks (length unknown to the client).
fn stream_of(body: &[u8]) -> PutPayload {
    let chunks: Vec<std::io::Result<Bytes>> = body
        .chunks(1 << 20)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    PutPayload::stream(futures::stream::iter(chunks))
}

async fn read(c: &S3Client, g: &GarageServer, key: &str) -> Vec<u8> {
    c.get_object(g.bucket(), key, GetOptions::default())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn a_stream_grows_its_parts_to_fit_the_part_limit() {
    let g = start().await;
    let c = three_parts(&g);
    // 5 + 10 + 20 MiB: three growing parts hold 33 MiB (fixed 5 MiB parts would need seven).
    let body = data(33 << 20, 3);
    let put = c
        .put_object(
            g.bucket(),
            "stream",
            stream_of(&body),
            PutOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(put.parts, 3);
    assert_eq!(put.size, body.len() as u64);
    assert!(read(&c, &g, "stream").await == body);
}

#[tokio::test]
async fn a_file_gets_parts_sized_to_fit_the_part_limit() {
    let g = start().await;
    let c = three_parts(&g);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.bin");
    let body = data(29 << 20, 4);
    std::fs::write(&path, &body).unwrap();
    let put = c
        .put_object(
            g.bucket(),
            "file",
            PutPayload::file(&path),
            PutOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(put.parts, 3, "29 MiB in three 10 MiB parts");
    assert!(read(&c, &g, "file").await == body);
}

#[tokio::test]
async fn a_stream_beyond_the_limit_fails_typed_and_leaves_no_upload() {
    let g = start().await;
    let c = three_parts(&g);
    let body = data(36 << 20, 5);
    let e = c
        .put_object(
            g.bucket(),
            "toolarge",
            stream_of(&body),
            PutOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::ObjectTooLarge { limit, .. } if limit == 35 << 20),
        "{e:?}"
    );
    assert!(
        c.head_object(g.bucket(), "toolarge")
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        wait_for_unfinished_uploads(&admin(&g), g.bucket(), |n| n == 0).await,
        "the multipart upload was aborted"
    );
}

#[tokio::test]
async fn a_file_beyond_the_limit_is_refused_before_any_request() {
    let g = start().await;
    // Every request would pass through this proxy.
    let proxy = FaultProxy::start(g.ports().s3, |_| Fault::None)
        .await
        .unwrap();
    let mut mp = MultipartConfig::default();
    mp.threshold = 5 << 20;
    mp.part_size = 5 << 20;
    mp.max_parts = 3;
    let c = S3Client::builder()
        .with_endpoint(proxy.endpoint())
        .with_credentials(credentials(&g))
        .with_multipart(mp)
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    // 3 parts × 5 GiB is the limit; a sparse 16 GiB file costs no disk.
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(16 << 30).unwrap();
    let e = c
        .put_object(
            g.bucket(),
            "huge",
            PutPayload::file(&path),
            PutOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::ObjectTooLarge { .. }), "{e:?}");
    assert!(proxy.requests().is_empty(), "no request was sent");
    // Beyond S3's 5 TiB, whatever the part limit.
    let default = S3Client::builder()
        .with_endpoint(proxy.endpoint())
        .with_credentials(credentials(&g))
        .build()
        .unwrap();
    f.set_len((5 << 40) + 1).unwrap();
    let e = default
        .put_object(
            g.bucket(),
            "huge",
            PutPayload::file(&path),
            PutOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::ObjectTooLarge { limit, .. } if limit == 5 << 40),
        "{e:?}"
    );
    assert!(proxy.requests().is_empty(), "no request was sent");
}
