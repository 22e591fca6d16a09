//! Metadata, listings, presigning, HEAD errors, health and retries (issue 13, points 7-8).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use garage_client::s3::{GetOptions, ListOptions, PutOptions};
use garage_client::testing::{Fault, FaultProxy};
use garage_client::{Error, S3ErrorCode};

use super::common::{admin, s3, start};

#[tokio::test]
async fn utf8_metadata_round_trips_and_what_would_not_is_refused() {
    let g = start().await;
    let c = s3(&g);
    let b = g.bucket();
    let value = "café ☕ 東京 Ünïcödé";
    c.put_object(
        b,
        "meta",
        "x".into(),
        PutOptions::default()
            .with_metadata("name", value)
            .with_metadata("plain", "ascii")
            .with_content_type("text/plain; charset=utf-8"),
    )
    .await
    .unwrap();
    let head = c.head_object(b, "meta").await.unwrap();
    assert_eq!(head.metadata.get("name").map(String::as_str), Some(value));
    assert_eq!(
        head.metadata.get("plain").map(String::as_str),
        Some("ascii")
    );
    let get = c
        .get_object(b, "meta", GetOptions::default())
        .await
        .unwrap();
    assert_eq!(
        get.meta.metadata.get("name").map(String::as_str),
        Some(value)
    );

    for bad in [
        "tab\there",
        "two  spaces",
        " lead",
        "nbsp\u{a0}x",
        "line\nbreak",
    ] {
        let e = c
            .put_object(
                b,
                "refused",
                "x".into(),
                PutOptions::default().with_metadata("v", bad),
            )
            .await
            .unwrap_err();
        assert!(matches!(e, Error::InvalidMetadata { .. }), "{bad:?}: {e:?}");
    }
    assert!(
        c.head_object(b, "refused")
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn keys_with_control_characters_round_trip_through_listings() {
    let g = start().await;
    let c = s3(&g);
    let b = g.bucket();
    let keys = [
        "ctl/\u{1}one",
        "ctl/tab\tkey",
        "ctl/del\u{7f}",
        "ctl/cr\rlf\n",
        "ctl/amp&lt;<>\"'",
        "ctl/plus+space %20",
        "ctl/sub\u{1}dir/x",
    ];
    for k in keys {
        c.put_object(b, k, "x".into(), PutOptions::default())
            .await
            .unwrap_or_else(|e| panic!("put {k:?}: {e}"));
    }
    let listed: BTreeSet<String> = c
        .list_objects(b, ListOptions::default().with_prefix("ctl/"))
        .map_ok(|o| o.key)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed, keys.map(String::from).into());
    let page = c
        .list_objects_page(
            b,
            &ListOptions::default()
                .with_prefix("ctl/sub\u{1}")
                .with_delimiter("/"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(page.common_prefixes, vec!["ctl/sub\u{1}dir/".to_owned()]);
}

/// A HEAD sends only the caller's request: its 404 says "key or bucket" (Garage's answer to
/// HEAD cannot say which); `head_object_checked` asks the bucket and says which. Requests are
/// counted through a loopback proxy.
#[tokio::test]
async fn head_sends_one_request_and_the_checked_head_says_which_is_missing() {
    let g = start().await;
    let proxy = FaultProxy::start(g.ports().s3, |_| Fault::None)
        .await
        .unwrap();
    let c = garage_client::S3Client::builder()
        .with_endpoint(proxy.endpoint())
        .with_credentials(super::common::credentials(&g))
        .build()
        .unwrap();
    let sent = |from: usize| -> Vec<String> {
        proxy.requests()[from..]
            .iter()
            .map(|(r, _)| format!("{} {}", r.method, r.target))
            .collect()
    };
    for (bucket, key) in [("no-such-bucket", "k"), (g.bucket(), "no-such-key")] {
        let before = proxy.requests().len();
        let e = c.head_object(bucket, key).await.unwrap_err();
        assert!(e.is_not_found(), "{e}");
        assert_eq!(
            e.as_s3().map(|e| &e.code),
            Some(&S3ErrorCode::NotFound),
            "{e}"
        );
        assert!(e.to_string().contains("the key or the bucket"), "{e}");
        assert_eq!(
            sent(before),
            vec![format!("HEAD /{bucket}/{key}")],
            "only the caller's request"
        );
    }
    let before = proxy.requests().len();
    let e = c
        .head_object_checked("no-such-bucket", "k")
        .await
        .unwrap_err();
    assert_eq!(
        e.as_s3().map(|e| &e.code),
        Some(&S3ErrorCode::NoSuchBucket),
        "{e}"
    );
    assert!(e.is_not_found());
    assert_eq!(
        sent(before),
        vec!["HEAD /no-such-bucket/k", "HEAD /no-such-bucket"]
    );
    let e = c
        .head_object_checked(g.bucket(), "no-such-key")
        .await
        .unwrap_err();
    assert_eq!(
        e.as_s3().map(|e| &e.code),
        Some(&S3ErrorCode::NoSuchKey),
        "{e}"
    );
    c.put_object(g.bucket(), "there", "v".into(), PutOptions::default())
        .await
        .unwrap();
    let before = proxy.requests().len();
    assert_eq!(
        c.head_object_checked(g.bucket(), "there")
            .await
            .unwrap()
            .size,
        1
    );
    assert_eq!(sent(before).len(), 1, "a found object costs one request");
}

#[tokio::test]
async fn presigns_under_a_second_are_refused() {
    let g = start().await;
    let c = s3(&g);
    assert!(!c.bucket_exists("no-such-bucket").await.unwrap());
    for short in [Duration::ZERO, Duration::from_millis(500)] {
        assert!(c.presign_get(g.bucket(), "k", short).is_err(), "{short:?}");
        assert!(c.presign_put(g.bucket(), "k", short).is_err(), "{short:?}");
    }
    // One second is fine and works.
    c.put_object(g.bucket(), "k", "v".into(), PutOptions::default())
        .await
        .unwrap();
    let url = c
        .presign_get(g.bucket(), "k", Duration::from_secs(1))
        .unwrap();
    let r = reqwest::get(url).await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn health_reports_a_503_without_retrying_it() {
    let g = start().await;
    let proxy = FaultProxy::start(g.ports().admin, |r| {
        if r.target == "/health" {
            Fault::Respond(503)
        } else {
            Fault::None
        }
    })
    .await
    .unwrap();
    let a = garage_client::AdminClient::builder()
        .with_endpoint(proxy.endpoint())
        .with_token(g.admin_token().clone())
        .build()
        .unwrap();
    let started = Instant::now();
    let h = a.health().await.unwrap();
    assert_eq!(h.status, 503);
    assert_eq!(proxy.requests().len(), 1, "asked once");
    assert!(started.elapsed() < Duration::from_secs(2));
    // The real one answers 200.
    assert_eq!(admin(&g).health().await.unwrap().status, 200);
}

/// A GET started while Garage is down succeeds once it is back, with the default retry
/// settings. Garage stays down for 3 s before the restart (which itself takes about 1 s here:
/// the test prints it; run with `--nocapture`), as a slower host's restart would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_retries_outlast_a_garage_restart() {
    let mut g = start().await;
    let c = s3(&g);
    c.put_object(
        g.bucket(),
        "survivor",
        "still here".into(),
        PutOptions::default(),
    )
    .await
    .unwrap();
    g.kill();
    let down = Instant::now();
    let get = {
        let (c, b) = (c.clone(), g.bucket().to_owned());
        tokio::spawn(async move {
            c.get_object(&b, "survivor", GetOptions::default())
                .await?
                .bytes()
                .await
        })
    };
    let g = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_secs(3));
        let restarting = Instant::now();
        g.restart().unwrap();
        eprintln!(
            "garage restart (spawn to healthy): {:.2} s",
            restarting.elapsed().as_secs_f64()
        );
        g
    })
    .await
    .unwrap();
    let restart = down.elapsed();
    let body = get.await.unwrap().expect("GET succeeded after the restart");
    eprintln!(
        "garage down (kill to healthy): {:.2} s; GET done after {:.2} s",
        restart.as_secs_f64(),
        down.elapsed().as_secs_f64()
    );
    assert_eq!(&body[..], b"still here");
    drop(g);
}
