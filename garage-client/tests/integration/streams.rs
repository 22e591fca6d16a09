//! Downloads as `tokio::io::AsyncRead`, uploads as `tokio::io::AsyncWrite`.

use garage_client::s3::{GetOptions, PutOptions};
use tokio::io::AsyncWriteExt;

use super::common::{admin, data, s3, s3_small_parts, start, wait_for_unfinished_uploads};

#[tokio::test]
async fn a_download_copies_into_a_file_with_tokio_io_copy() {
    let g = start().await;
    let c = s3(&g);
    let body = data(3 << 20, 81);
    c.put_object(
        g.bucket(),
        "obj",
        body.clone().into(),
        PutOptions::default(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.bin");
    let mut file = tokio::fs::File::create(&path).await.unwrap();
    let mut reader = c
        .get_object(g.bucket(), "obj", GetOptions::default())
        .await
        .unwrap()
        .into_async_read();
    let n = tokio::io::copy(&mut reader, &mut file).await.unwrap();
    file.flush().await.unwrap();
    assert_eq!(n, body.len() as u64);
    assert!(std::fs::read(&path).unwrap() == body);
}

#[tokio::test]
async fn a_writer_uploads_in_parts_and_completes_on_shutdown() {
    let g = start().await;
    let c = s3_small_parts(&g);
    let body = data(12 << 20, 82);
    let mut w = c
        .put_writer(g.bucket(), "written", PutOptions::default())
        .unwrap();
    // Odd write sizes, as a pipe would deliver them.
    for chunk in body.chunks(65_537) {
        w.write_all(chunk).await.unwrap();
    }
    assert!(w.result().is_none());
    w.shutdown().await.unwrap();
    let r = w.result().unwrap();
    assert_eq!(r.size, body.len() as u64);
    assert!(r.parts >= 2, "{r:?}");
    let got = c
        .get_object(g.bucket(), "written", GetOptions::default())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(got == body);
    // A small one goes as a single PUT.
    let mut w = c
        .put_writer(g.bucket(), "small", PutOptions::default())
        .unwrap();
    w.write_all(b"tiny").await.unwrap();
    w.shutdown().await.unwrap();
    assert_eq!(w.result().unwrap().parts, 0);
}

#[tokio::test]
async fn dropping_a_writer_before_shutdown_leaves_no_object_and_no_upload() {
    let g = start().await;
    let c = s3_small_parts(&g);
    let a = admin(&g);
    let body = data(12 << 20, 83);
    let mut w = c
        .put_writer(g.bucket(), "dropped", PutOptions::default())
        .unwrap();
    w.write_all(&body).await.unwrap();
    w.flush().await.unwrap();
    assert!(
        wait_for_unfinished_uploads(&a, g.bucket(), |n| n > 0).await,
        "the multipart upload started"
    );
    drop(w);
    assert!(
        wait_for_unfinished_uploads(&a, g.bucket(), |n| n == 0).await,
        "the multipart upload was aborted"
    );
    assert!(
        c.head_object(g.bucket(), "dropped")
            .await
            .unwrap_err()
            .is_not_found()
    );
    // Small data, dropped: no object either.
    let mut w = c
        .put_writer(g.bucket(), "small", PutOptions::default())
        .unwrap();
    w.write_all(b"tiny").await.unwrap();
    w.flush().await.unwrap();
    drop(w);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        c.head_object(g.bucket(), "small")
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn a_writer_refuses_a_bad_key_up_front_and_reports_server_errors() {
    let g = start().await;
    let c = s3(&g);
    assert!(matches!(
        c.put_writer(g.bucket(), "", PutOptions::default())
            .unwrap_err(),
        garage_client::Error::InvalidKey { .. }
    ));
    let mut w = c
        .put_writer("no-such-bucket", "k", PutOptions::default())
        .unwrap();
    w.write_all(b"data").await.unwrap();
    let e = w.shutdown().await.unwrap_err();
    let inner = e
        .into_inner()
        .unwrap()
        .downcast::<garage_client::Error>()
        .unwrap();
    assert!(inner.is_not_found(), "{inner}");
}
