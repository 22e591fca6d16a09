//! Unfinished multipart uploads against a real Garage 2.5: a process killed mid-upload leaves
//! one behind; it is found (`ListMultipartUploads`, `ListParts`), inspected and cleaned
//! (`CleanupIncompleteUploads`, abort by id), and the lifecycle rule that aborts such uploads
//! round-trips.

use std::io::{BufRead, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use garage_client::S3Client;
use garage_client::s3::{
    LifecycleRule, ListUploadsOptions, MultipartUpload, PutOptions, PutPayload,
};
use secrecy::ExposeSecret;

use super::common::{admin, data, s3, s3_small_parts, start, wait_for_unfinished_uploads};

/// Set in the environment of the child process [`child_uploader`] runs as.
const CHILD_ENV: &str = "GARAGE_CLIENT_TEST_CHILD_UPLOADER";

/// A stream that yields 12 MiB and then never ends: with 5 MiB parts, two parts are uploaded
/// and the third waits for data forever.
fn stalled_stream() -> PutPayload {
    let head = futures::stream::iter(vec![Ok::<_, std::io::Error>(Bytes::from(data(
        12 << 20,
        3,
    )))]);
    PutPayload::stream(head.chain(futures::stream::pending()))
}

/// Not a test of its own: the body of the child process that
/// `killed_uploader_leaves_an_upload_that_is_found_and_cleaned` starts and SIGKILLs. It reads the
/// endpoint, key id, secret, bucket and object key from stdin (secrets stay out of the child's
/// environment and command line) and uploads a stream that stalls after two parts. Without
/// the environment variable it returns at once.
#[tokio::test]
async fn child_uploader() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let mut lines = std::io::stdin().lock().lines().map(|l| l.unwrap());
    let mut next = || lines.next().expect("a config line on stdin");
    let (endpoint, id, secret, bucket, key) = (next(), next(), next(), next(), next());
    let mut mp = garage_client::MultipartConfig::default();
    mp.threshold = 5 << 20;
    mp.part_size = 5 << 20;
    mp.concurrency = 3;
    let c = S3Client::builder()
        .with_endpoint(endpoint)
        .with_credentials(garage_client::Credentials::new(id, secret.into()))
        .with_multipart(mp)
        .build()
        .unwrap();
    let r = c
        .put_object(&bucket, &key, stalled_stream(), PutOptions::default())
        .await;
    panic!("the stalled upload ended: {r:?}");
}

async fn uploads_of(c: &S3Client, bucket: &str) -> Vec<MultipartUpload> {
    c.list_multipart_uploads(bucket, ListUploadsOptions::default())
        .try_collect()
        .await
        .unwrap()
}

/// Waits (at most 30 s) until `key` has an unfinished upload with `parts` parts.
async fn wait_for_parts(c: &S3Client, bucket: &str, key: &str, parts: usize) -> MultipartUpload {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(u) = uploads_of(c, bucket)
            .await
            .into_iter()
            .find(|u| u.key == key)
        {
            // Under load Garage can list an upload a moment before ListParts knows it
            // (NoSuchUpload): that is "no part yet", the loop asks again.
            match c.list_parts(bucket, key, &u.upload_id).await {
                Ok(p) if p.len() >= parts => return u,
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => panic!("list_parts of {key:?}: {e}"),
            }
        }
        assert!(
            Instant::now() < deadline,
            "no upload of {key:?} with {parts} parts after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn killed_uploader_leaves_an_upload_that_is_found_and_cleaned() {
    let g = start().await;
    let a = admin(&g);
    let c = s3(&g);
    let key = "backups/db dump+1.sql";
    assert!(uploads_of(&c, g.bucket()).await.is_empty());

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "integration::uploads::child_uploader",
            "--nocapture",
        ])
        .env(CHILD_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    writeln!(
        child.stdin.as_mut().unwrap(),
        "{}\n{}\n{}\n{}\n{key}",
        g.s3_endpoint(),
        g.access_key_id(),
        g.secret_access_key().expose_secret(),
        g.bucket()
    )
    .unwrap();
    let upload = wait_for_parts(&c, g.bucket(), key, 2).await;
    child.kill().unwrap(); // SIGKILL: no destructor, no abort.
    let status = child.wait().unwrap();
    assert!(!status.success());

    // Found: the upload, its parts, its version in Garage's metadata, the bucket counters.
    let uploads = uploads_of(&c, g.bucket()).await;
    assert_eq!(uploads.len(), 1, "{uploads:?}");
    assert_eq!(uploads[0].key, key);
    assert_eq!(uploads[0].upload_id, upload.upload_id);
    let started = uploads[0].initiated.expect("initiated");
    let age = jiff::Timestamp::now().duration_since(started);
    assert!(age.as_secs() < 120, "started {started}");
    let parts = c
        .list_parts(g.bucket(), key, &upload.upload_id)
        .await
        .unwrap();
    assert_eq!(
        parts
            .iter()
            .map(|p| (p.part_number, p.size))
            .collect::<Vec<_>>(),
        [(1, 5 << 20), (2, 5 << 20)]
    );
    assert!(parts.iter().all(|p| p.checksum_crc32c.is_some()));
    let inspected = a.inspect_object(g.bucket_id(), key).await.unwrap();
    assert!(
        inspected.versions.iter().any(|v| v.uploading),
        "{inspected:?}"
    );
    assert!(wait_for_unfinished_uploads(&a, g.bucket(), |n| n == 1).await);

    // Cleaned: not while younger than the limit, then at once.
    let deleted = a
        .cleanup_incomplete_uploads(g.bucket_id(), Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(deleted, 0, "a young upload is kept");
    assert_eq!(uploads_of(&c, g.bucket()).await.len(), 1);
    let deleted = a
        .cleanup_incomplete_uploads(g.bucket_id(), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    assert!(uploads_of(&c, g.bucket()).await.is_empty());
    assert!(wait_for_unfinished_uploads(&a, g.bucket(), |n| n == 0).await);
    let err = c
        .list_parts(g.bucket(), key, &upload.upload_id)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

/// Leaves an upload behind in this process: the put future is polled until its parts are on
/// the server and then forgotten, so neither its completion nor its abort-on-drop runs.
async fn leak_upload(c: &S3Client, bucket: &str, key: &str) -> MultipartUpload {
    let mut put = Box::pin(c.put_object(bucket, key, stalled_stream(), PutOptions::default()));
    let upload = tokio::select! {
        r = &mut put => panic!("the stalled upload ended: {r:?}"),
        u = wait_for_parts(c, bucket, key, 1) => u,
    };
    std::mem::forget(put);
    upload
}

#[tokio::test]
async fn uploads_page_round_trip_any_key_and_abort_by_id_or_age() {
    let g = start().await;
    let c = s3_small_parts(&g);
    // Keys that need the URL encoding of the listing (a control character cannot be in XML).
    let keys = ["a b+c", "dir/é\u{1}", "z%2F"];
    let mut ids = Vec::new();
    for k in keys {
        ids.push(leak_upload(&c, g.bucket(), k).await.upload_id);
    }
    let listed: Vec<MultipartUpload> = c
        .list_multipart_uploads(g.bucket(), ListUploadsOptions::default().with_page_size(1))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|u| u.key.as_str()).collect::<Vec<_>>(),
        keys,
        "page by page, byte-exact keys"
    );
    assert_eq!(
        listed
            .iter()
            .map(|u| u.upload_id.clone())
            .collect::<Vec<_>>(),
        ids
    );
    let first = c
        .list_multipart_uploads_page(
            g.bucket(),
            &ListUploadsOptions::default().with_page_size(1),
            None,
        )
        .await
        .unwrap();
    assert_eq!(first.uploads.len(), 1);
    assert!(first.next.is_some());
    let prefixed: Vec<MultipartUpload> = c
        .list_multipart_uploads(
            g.bucket(),
            ListUploadsOptions::default().with_prefix("dir/"),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(prefixed.len(), 1);
    assert_eq!(prefixed[0].key, keys[1]);

    // Abort by id.
    c.abort_multipart(g.bucket(), keys[0], &ids[0])
        .await
        .unwrap();
    assert_eq!(uploads_of(&c, g.bucket()).await.len(), 2);
    // Abort by age, through S3 only.
    let aborted = c
        .abort_incomplete_uploads(g.bucket(), Duration::from_secs(3600))
        .await
        .unwrap();
    assert!(aborted.is_empty());
    let aborted = c
        .abort_incomplete_uploads(g.bucket(), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(aborted.len(), 2);
    assert!(uploads_of(&c, g.bucket()).await.is_empty());
}

#[tokio::test]
async fn lifecycle_rule_aborting_unfinished_uploads_round_trips() {
    let g = start().await;
    let c = s3(&g);
    let a = admin(&g);
    assert!(c.bucket_lifecycle(g.bucket()).await.unwrap().is_empty());
    let rules = vec![
        LifecycleRule::abort_incomplete_uploads_after(1).with_id("abort-unfinished"),
        LifecycleRule::expire_after_days(7)
            .with_prefix("tmp/")
            .with_abort_incomplete_uploads_after(2)
            .with_enabled(false),
    ];
    c.put_bucket_lifecycle(g.bucket(), &rules).await.unwrap();
    assert_eq!(c.bucket_lifecycle(g.bucket()).await.unwrap(), rules);
    let info = a.bucket_info_by_alias(g.bucket()).await.unwrap();
    assert_eq!(info.lifecycle_rules.as_deref(), Some(&rules[..]));
    c.delete_bucket_lifecycle(g.bucket()).await.unwrap();
    assert!(c.bucket_lifecycle(g.bucket()).await.unwrap().is_empty());
}
