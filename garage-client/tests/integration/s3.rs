//! S3 data plane against a real Garage.

use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use garage_client::s3::{ByteRange, GetOptions, ListOptions, PutOptions, PutPayload};
use garage_client::{Credentials, DownloadConfig, S3Client, S3ErrorCode};
use secrecy::SecretString;

use super::common::{data, s3, s3_small_parts, start, wait_for_unfinished_uploads};

#[tokio::test]
async fn put_get_head_range_copy_delete() {
    let g = start().await;
    let c = s3(&g);
    let b = g.bucket();
    let body = data(100_000, 1);
    let put = c
        .put_object(
            b,
            "dir/hello world+é.bin",
            body.clone().into(),
            PutOptions::default()
                .with_content_type("application/x-test")
                .with_metadata("owner", "restic"),
        )
        .await
        .unwrap();
    assert_eq!(put.size, 100_000);
    assert_eq!(put.parts, 0);

    let head = c.head_object(b, "dir/hello world+é.bin").await.unwrap();
    assert_eq!(head.size, 100_000);
    assert_eq!(head.content_type.as_deref(), Some("application/x-test"));
    assert_eq!(
        head.metadata.get("owner").map(String::as_str),
        Some("restic")
    );
    assert_eq!(head.etag.as_deref(), Some(put.etag.as_str()));
    assert_eq!(
        head.checksum_crc32c.as_deref(),
        Some(put.checksum_crc32c.as_str())
    );
    assert!(head.last_modified.is_some());

    let get = c
        .get_object(b, "dir/hello world+é.bin", GetOptions::default())
        .await
        .unwrap();
    assert!(
        get.is_verified(),
        "a whole-object GET checks the stored CRC32C"
    );
    assert_eq!(get.bytes().await.unwrap(), Bytes::from(body.clone()));

    let ranged = c
        .get_object(
            b,
            "dir/hello world+é.bin",
            GetOptions::default().with_range(ByteRange::Inclusive(10, 19)),
        )
        .await
        .unwrap();
    assert_eq!(ranged.meta.size, 100_000, "total size from Content-Range");
    assert_eq!(&ranged.bytes().await.unwrap()[..], &body[10..20]);
    let tail = c
        .get_object(
            b,
            "dir/hello world+é.bin",
            GetOptions::default().with_range(ByteRange::Suffix(5)),
        )
        .await
        .unwrap();
    assert_eq!(&tail.bytes().await.unwrap()[..], &body[body.len() - 5..]);

    let etag = c
        .copy_object(b, "dir/hello world+é.bin", b, "copy.bin")
        .await
        .unwrap();
    assert_eq!(etag, put.etag);
    let copied = c
        .get_object(b, "copy.bin", GetOptions::default())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(copied.len(), body.len());

    c.delete_object(b, "dir/hello world+é.bin").await.unwrap();
    let err = c.head_object(b, "dir/hello world+é.bin").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = c
        .get_object(b, "dir/hello world+é.bin", GetOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        err.as_s3().map(|e| &e.code),
        Some(&S3ErrorCode::NoSuchKey),
        "{err}"
    );
    // Deleting a missing object succeeds (S3 semantics).
    c.delete_object(b, "never-existed").await.unwrap();
    let err = c
        .get_object("no-such-bucket", "k", GetOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        err.as_s3().map(|e| &e.code),
        Some(&S3ErrorCode::NoSuchBucket),
        "{err}"
    );
}

#[tokio::test]
async fn list_pages_past_1000_with_prefix_delimiter_start_after_then_multi_delete() {
    let g = start().await;
    let c = s3(&g);
    let b = g.bucket().to_owned();
    let keys: Vec<String> = (0..1100).map(|i| format!("many/{i:05}")).collect();
    futures::stream::iter(keys.clone())
        .map(|k| {
            let (c, b) = (c.clone(), b.clone());
            async move {
                c.put_object(&b, &k, Bytes::from(k.clone()).into(), PutOptions::default())
                    .await
            }
        })
        .buffer_unordered(32)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    c.put_object(&b, "other/x", "x".into(), PutOptions::default())
        .await
        .unwrap();
    c.put_object(&b, "top", "t".into(), PutOptions::default())
        .await
        .unwrap();

    let pages: Vec<_> = c
        .list_pages(
            &b,
            ListOptions::default()
                .with_prefix("many/")
                .with_page_size(1000),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].objects.len(), 1000);
    assert_eq!(pages[1].objects.len(), 100);
    let listed: Vec<String> = pages
        .iter()
        .flat_map(|p| p.objects.iter().map(|o| o.key.clone()))
        .collect();
    assert_eq!(listed, keys);
    assert_eq!(pages[0].objects[0].size, "many/00000".len() as u64);

    let all: Vec<_> = c
        .list_objects(&b, ListOptions::default().with_page_size(333))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 1102);

    let top: Vec<_> = c
        .list_pages(&b, ListOptions::default().with_delimiter("/"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(top.len(), 1);
    assert_eq!(top[0].common_prefixes, vec!["many/", "other/"]);
    assert_eq!(
        top[0]
            .objects
            .iter()
            .map(|o| o.key.as_str())
            .collect::<Vec<_>>(),
        ["top"]
    );

    let after: Vec<_> = c
        .list_objects(
            &b,
            ListOptions::default()
                .with_prefix("many/")
                .with_start_after("many/01095"),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        after.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(),
        ["many/01096", "many/01097", "many/01098", "many/01099"]
    );

    for chunk in keys.chunks(1000) {
        let r = c.delete_objects(&b, chunk).await.unwrap();
        assert_eq!(r.deleted.len(), chunk.len());
        assert!(r.errors.is_empty());
    }
    let left: Vec<_> = c
        .list_objects(&b, ListOptions::default().with_prefix("many/"))
        .try_collect()
        .await
        .unwrap();
    assert!(left.is_empty());
}

#[tokio::test]
async fn multipart_from_file_of_100_mib_round_trips_with_full_object_crc() {
    let g = start().await;
    let c = s3(&g);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    let body = data((100 << 20) + 12345, 7);
    std::fs::write(&path, &body).unwrap();
    let put = c
        .put_object(
            g.bucket(),
            "big.bin",
            PutPayload::file(&path),
            PutOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(put.size, body.len() as u64);
    assert_eq!(put.parts, 17, "6 MiB parts");
    assert!(put.etag.ends_with("-17"), "{}", put.etag);

    let head = c.head_object(g.bucket(), "big.bin").await.unwrap();
    assert_eq!(head.size, body.len() as u64);
    assert_eq!(
        head.checksum_crc32c.as_deref(),
        Some(put.checksum_crc32c.as_str())
    );
    assert_eq!(head.checksum_type.as_deref(), Some("FULL_OBJECT"));

    let mut get = c
        .get_object(g.bucket(), "big.bin", GetOptions::default())
        .await
        .unwrap();
    assert!(get.is_verified());
    let mut offset = 0usize;
    while let Some(chunk) = get.next().await {
        let chunk = chunk.unwrap();
        assert_eq!(&chunk[..], &body[offset..offset + chunk.len()]);
        offset += chunk.len();
    }
    assert_eq!(offset, body.len());
}

#[tokio::test]
async fn put_from_stream_uses_multipart_above_threshold_and_single_put_below() {
    let g = start().await;
    let c = s3_small_parts(&g);
    let body = data(12 << 20, 3);
    let chunks: Vec<std::io::Result<Bytes>> = body
        .chunks(100_000)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let put = c
        .put_object(
            g.bucket(),
            "stream.bin",
            PutPayload::stream(futures::stream::iter(chunks)),
            PutOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(put.parts, 3);
    assert_eq!(put.size, body.len() as u64);
    let got = c
        .get_object(g.bucket(), "stream.bin", GetOptions::default())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got, Bytes::from(body));

    let small: Vec<std::io::Result<Bytes>> =
        vec![Ok(Bytes::from_static(b"ab")), Ok(Bytes::from_static(b"c"))];
    let put = c
        .put_object(
            g.bucket(),
            "small",
            PutPayload::stream(futures::stream::iter(small)),
            PutOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(put.parts, 0);
    let empty = c
        .put_object(
            g.bucket(),
            "empty",
            Bytes::new().into(),
            PutOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(empty.size, 0);
    assert_eq!(c.head_object(g.bucket(), "empty").await.unwrap().size, 0);
}

#[tokio::test]
async fn failing_stream_aborts_the_multipart_upload_and_leaves_no_object() {
    let g = start().await;
    let c = s3_small_parts(&g);
    let good = Bytes::from(data(11 << 20, 4));
    let items: Vec<std::io::Result<Bytes>> =
        vec![Ok(good), Err(std::io::Error::other("disk on fire"))];
    let err = c
        .put_object(
            g.bucket(),
            "broken",
            PutPayload::stream(futures::stream::iter(items)),
            PutOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, garage_client::Error::Io { .. }), "{err:?}");
    assert!(
        c.head_object(g.bucket(), "broken")
            .await
            .unwrap_err()
            .is_not_found()
    );
    let admin = super::common::admin(&g);
    assert!(
        wait_for_unfinished_uploads(&admin, g.bucket(), |n| n == 0).await,
        "the failed upload was aborted"
    );
}

#[tokio::test]
async fn wrong_region_and_wrong_secret_are_typed_errors() {
    let g = start().await;
    let wrong_region = S3Client::builder()
        .with_endpoint(g.s3_endpoint())
        .with_region("us-east-1")
        .with_credentials(super::common::credentials(&g))
        .build()
        .unwrap();
    let err = wrong_region.list_buckets().await.unwrap_err();
    let e = err.as_s3().expect("S3 error");
    assert_eq!(e.code, S3ErrorCode::AuthorizationHeaderMalformed, "{err}");
    assert_eq!(e.status, 400);
    assert!(err.is_unauthenticated(), "{err}");

    let wrong_secret = S3Client::builder()
        .with_endpoint(g.s3_endpoint())
        .with_credentials(Credentials::new(
            g.access_key_id(),
            SecretString::from("0".repeat(64)),
        ))
        .build()
        .unwrap();
    let err = wrong_secret.head_object(g.bucket(), "x").await.unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");
    let err = wrong_secret.list_buckets().await.unwrap_err();
    assert_eq!(
        err.as_s3().map(|e| &e.code),
        Some(&S3ErrorCode::AccessDenied),
        "{err}"
    );
    assert!(err.is_unauthenticated(), "wrong secret: {err}");
    assert!(!err.is_permission_denied(), "wrong secret: {err}");
    assert!(!err.to_string().contains(&"0".repeat(64)));

    let unknown_key = S3Client::builder()
        .with_endpoint(g.s3_endpoint())
        .with_credentials(Credentials::new(
            "GK0123456789abcdef01234567",
            SecretString::from("0".repeat(64)),
        ))
        .build()
        .unwrap();
    let err = unknown_key.list_buckets().await.unwrap_err();
    assert!(err.is_unauthenticated(), "unknown key: {err}");
}

#[tokio::test]
async fn buckets_through_s3_and_non_empty_delete_is_409() {
    let g = start().await;
    let c = s3(&g);
    let names: Vec<String> = c
        .list_buckets()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.name)
        .collect();
    assert!(names.contains(&g.bucket().to_owned()), "{names:?}");
    c.create_bucket("made-by-s3").await.unwrap();
    assert!(c.bucket_exists("made-by-s3").await.unwrap());
    assert!(!c.bucket_exists("absent-bucket").await.unwrap());
    c.put_object("made-by-s3", "k", "v".into(), PutOptions::default())
        .await
        .unwrap();
    let err = c.delete_bucket("made-by-s3").await.unwrap_err();
    assert!(err.is_conflict(), "{err}");
    assert_eq!(
        err.as_s3().map(|e| &e.code),
        Some(&S3ErrorCode::BucketNotEmpty)
    );
    c.delete_object("made-by-s3", "k").await.unwrap();
    c.delete_bucket("made-by-s3").await.unwrap();
    assert!(!c.bucket_exists("made-by-s3").await.unwrap());
}

#[tokio::test]
async fn presigned_urls_work_with_a_plain_http_client() {
    let g = start().await;
    let c = s3(&g);
    let http = reqwest::Client::new();
    let put_url = c
        .presign_put(g.bucket(), "pre/signed.txt", Duration::from_secs(300))
        .unwrap();
    let r = http
        .put(put_url)
        .body("via presigned PUT")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let get_url = c
        .presign_get(g.bucket(), "pre/signed.txt", Duration::from_secs(300))
        .unwrap();
    let r = http.get(get_url.clone()).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "via presigned PUT");
    // Tampering with the signed URL is refused.
    let tampered = get_url.as_str().replace("pre/signed.txt", "pre/other.txt");
    let r = http.get(tampered).send().await.unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn server_killed_during_upload_gives_a_typed_error_and_no_partial_object_then_retry_succeeds()
{
    let mut g = start().await;
    // A short retry budget: the default (180 s) would keep retrying the dead server.
    let http = garage_client::HttpConfig::default().with_retry(
        garage_client::RetryConfig::default().with_retry_timeout(Duration::from_secs(2)),
    );
    let mut mp = garage_client::MultipartConfig::default();
    mp.threshold = 5 << 20;
    mp.part_size = 5 << 20;
    let c = S3Client::builder()
        .with_endpoint(g.s3_endpoint())
        .with_credentials(super::common::credentials(&g))
        .with_multipart(mp)
        .with_http_config(http)
        .build()
        .unwrap();
    let body = Bytes::from(data(40 << 20, 9));
    // A slow stream: 1 MiB every 20 ms, so the server can be killed mid-upload.
    let slow = {
        let body = body.clone();
        futures::stream::iter((0..40).map(move |i| body.slice(i << 20..(i + 1) << 20))).then(
            |chunk| async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok::<_, std::io::Error>(chunk)
            },
        )
    };
    let upload = {
        let (c, b) = (c.clone(), g.bucket().to_owned());
        tokio::spawn(async move {
            c.put_object(
                &b,
                "fault.bin",
                PutPayload::stream(slow),
                PutOptions::default(),
            )
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    g.kill();
    let err = upload.await.unwrap().unwrap_err();
    assert!(
        err.is_transport() || err.is_retryable(),
        "typed transport error: {err:?}"
    );

    g.restart().expect("garage restarts");
    let err = c.head_object(g.bucket(), "fault.bin").await.unwrap_err();
    assert!(err.is_not_found(), "no partial object: {err}");
    let put = c
        .put_object(
            g.bucket(),
            "fault.bin",
            body.clone().into(),
            PutOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(put.size, body.len() as u64);
    let got = c
        .get_object(g.bucket(), "fault.bin", GetOptions::default())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got, body);
}

#[tokio::test]
async fn dropping_an_upload_in_progress_aborts_the_multipart_upload() {
    let g = start().await;
    let c = s3_small_parts(&g);
    let a = super::common::admin(&g);
    let body = Bytes::from(data(30 << 20, 11));
    // 1 MiB every 10 ms: parts complete while the stream is still running.
    let slow = futures::stream::iter((0..30).map(move |i| body.slice(i << 20..(i + 1) << 20)))
        .then(|chunk| async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            Ok::<_, std::io::Error>(chunk)
        });
    let upload = {
        let (c, b) = (c.clone(), g.bucket().to_owned());
        tokio::spawn(async move {
            c.put_object(
                &b,
                "dropped.bin",
                PutPayload::stream(slow),
                PutOptions::default(),
            )
            .await
        })
    };
    // Wait until the multipart upload exists, then cancel the future.
    assert!(
        wait_for_unfinished_uploads(&a, g.bucket(), |n| n > 0).await,
        "the multipart upload started"
    );
    upload.abort();
    assert!(upload.await.unwrap_err().is_cancelled());
    assert!(
        wait_for_unfinished_uploads(&a, g.bucket(), |n| n == 0).await,
        "dropping the put aborted the multipart upload"
    );
    assert!(
        c.head_object(g.bucket(), "dropped.bin")
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn idempotent_requests_are_retried_across_a_restart() {
    let mut g = start().await;
    let c = S3Client::builder()
        .with_endpoint(g.s3_endpoint())
        .with_credentials(super::common::credentials(&g))
        .with_retry(
            garage_client::RetryConfig::default()
                .with_max_retries(10)
                .with_retry_timeout(Duration::from_secs(30)),
        )
        .build()
        .unwrap();
    c.put_object(
        g.bucket(),
        "survivor",
        "still here".into(),
        PutOptions::default(),
    )
    .await
    .unwrap();
    g.kill();
    let get = {
        let (c, b) = (c.clone(), g.bucket().to_owned());
        tokio::spawn(async move {
            c.get_object(&b, "survivor", GetOptions::default())
                .await?
                .bytes()
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !get.is_finished(),
        "the GET keeps retrying while Garage is down"
    );
    g.restart().unwrap();
    let body = get.await.unwrap().expect("GET succeeded after the restart");
    assert_eq!(&body[..], b"still here");

    // Without retries a dead server is reported at once as a transport error.
    g.kill();
    let c0 = S3Client::builder()
        .with_endpoint(g.s3_endpoint())
        .with_credentials(super::common::credentials(&g))
        .with_retry(garage_client::RetryConfig::disabled())
        .build()
        .unwrap();
    let err = c0.head_object(g.bucket(), "survivor").await.unwrap_err();
    assert!(err.is_transport() && err.is_retryable(), "{err:?}");
}

fn s3_ranged(
    g: &garage_client::testing::GarageServer,
    part_size: u64,
    concurrency: usize,
) -> S3Client {
    let mut dl = DownloadConfig::default();
    dl.threshold = 1 << 20;
    dl.part_size = part_size;
    dl.concurrency = concurrency;
    S3Client::builder()
        .with_endpoint(g.s3_endpoint())
        .with_credentials(super::common::credentials(g))
        .with_download(dl)
        .build()
        .unwrap()
}

async fn collect(mut get: garage_client::s3::GetObject) -> garage_client::Result<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(chunk) = get.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out)
}

#[tokio::test]
async fn large_objects_download_as_ordered_checked_ranges() {
    let g = start().await;
    let plain = s3(&g);
    // (object size, range size, streams): ragged and exact last ranges, 2 and 5 streams
    for (i, (size, part, streams)) in [
        ((3 << 20) + 5, 256 << 10, 3),
        (2 << 20, 512 << 10, 2),
        ((1 << 20) + 1, 64 << 10, 5),
    ]
    .into_iter()
    .enumerate()
    {
        let body = data(size, 100 + i as u64);
        let key = format!("ranged/{i}");
        plain
            .put_object(g.bucket(), &key, body.clone().into(), PutOptions::default())
            .await
            .unwrap();
        let c = s3_ranged(&g, part, streams);
        let get = c
            .get_object(g.bucket(), &key, GetOptions::default())
            .await
            .unwrap();
        assert!(get.is_verified(), "the whole-object CRC32C still applies");
        assert_eq!(get.meta.size, size as u64);
        assert!(
            collect(get).await.unwrap() == body,
            "case {i}: bytes differ"
        );
        // the same object through one plain GET
        let one = c
            .get_object(g.bucket(), &key, GetOptions::default().with_parallel(false))
            .await
            .unwrap();
        assert!(
            collect(one).await.unwrap() == body,
            "case {i}: plain GET differs"
        );
    }
}

#[tokio::test]
async fn an_object_replaced_during_a_ranged_download_fails_instead_of_mixing_versions() {
    let g = start().await;
    let plain = s3(&g);
    let old = data(4 << 20, 1);
    plain
        .put_object(
            g.bucket(),
            "swap.bin",
            old.clone().into(),
            PutOptions::default(),
        )
        .await
        .unwrap();
    // 64 ranges of 64 KiB, one fetched ahead: most ranges are requested after the swap
    let c = s3_ranged(&g, 64 << 10, 2);
    let mut get = c
        .get_object(g.bucket(), "swap.bin", GetOptions::default())
        .await
        .unwrap();
    let first = get.next().await.unwrap().unwrap();
    assert_eq!(&first[..], &old[..first.len()]);
    plain
        .put_object(
            g.bucket(),
            "swap.bin",
            data(4 << 20, 2).into(),
            PutOptions::default(),
        )
        .await
        .unwrap();
    let err = collect(get)
        .await
        .expect_err("a download spanning two versions must fail");
    match &err {
        garage_client::Error::S3(e) => {
            assert_eq!(e.code, S3ErrorCode::PreconditionFailed, "{err}");
            assert_eq!(e.status, 412, "{err}");
        }
        other => panic!("expected 412 PreconditionFailed, got {other:?}"),
    }
}
