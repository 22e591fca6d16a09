//! Secrets canary (issue 14 item 5): distinctive secrets are driven through successes and every
//! kind of failure against a real Garage 2.5, with a subscriber capturing every log record at
//! TRACE (the crate's own `tracing` events and spans, and `log` records of reqwest through
//! `tracing-log`); no secret key, admin token or presigned signature may appear in any log line,
//! in any error (`{e}`, `{e:#}` through anyhow's chain, `{e:?}`), nor in the `{:?}` of clients,
//! builders and configurations.
//!
//! Its own test binary: the subscriber is process-global (reqwest logs through the `log` crate,
//! which only a global `LogTracer` captures), and TRACE for every other integration test would
//! slow them all.

#[path = "integration/common.rs"]
#[allow(dead_code)]
mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::TryStreamExt;
use garage_client::admin::{AdminTokenSpec, Permissions};
use garage_client::s3::{GetOptions, ListOptions, PutOptions};
use garage_client::{AdminClient, Credentials, HttpConfig, MultipartConfig, RetryConfig, S3Client};
use secrecy::{ExposeSecret, SecretString};
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// The imported key's secret (Garage accepts any ≥ 16 graphic ASCII characters).
const S3_SECRET: &str = "CANARY-S3-SECRET-c0ffee-4f2a9d71";
/// A wrong secret for the same key id: every request fails its signature check.
const WRONG_SECRET: &str = "CANARY-WRONG-SECRET-b16b00b5-77e1";
/// A wrong admin token.
const BAD_TOKEN: &str = "CANARY-BAD-ADMIN-TOKEN-8badf00d-3c11";
const KEY_ID: &str = "GKca4a2b0123456789abcdef";

/// Everything the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every rendering of an error a caller or a runbook might print.
fn renderings(e: garage_client::Error, out: &mut Vec<String>) {
    out.push(format!("{e}"));
    out.push(format!("{e:?}"));
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(&e);
    while let Some(s) = source {
        out.push(format!("{s} / {s:?}"));
        source = s.source();
    }
    let any = anyhow::Error::new(e).context("canary step");
    out.push(format!("{any:#}"));
    out.push(format!("{any:?}"));
}

fn quick_retries() -> HttpConfig {
    HttpConfig::default()
        .with_retry(
            RetryConfig::default()
                .with_max_retries(1)
                .with_retry_timeout(Duration::from_secs(2)),
        )
        .with_connect_timeout(Duration::from_secs(2))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_any_log_line_error_or_debug_output() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_span_events(FmtSpan::FULL)
        .with_writer(move || writer.clone())
        .finish()
        .try_init()
        .expect("the only subscriber of this test binary");

    let g = common::start().await;
    let admin = common::admin(&g);
    let mut outputs: Vec<String> = Vec::new();

    // The canary key, with a secret chosen here, allowed on the test bucket.
    let imported = admin
        .import_key(&KEY_ID.into(), &SecretString::from(S3_SECRET), "canary")
        .await
        .unwrap();
    outputs.push(format!("{imported:?}"));
    admin
        .allow_key(g.bucket_id(), &KEY_ID.into(), Permissions::ALL)
        .await
        .unwrap();
    let creds = Credentials::new(KEY_ID, SecretString::from(S3_SECRET));
    let mut mp = MultipartConfig::default();
    mp.threshold = 5 << 20;
    mp.part_size = 5 << 20;
    let builder = S3Client::builder()
        .with_endpoint(g.s3_endpoint())
        .with_credentials(creds.clone())
        .with_http_config(quick_retries())
        .with_multipart(mp);
    outputs.push(format!(
        "{builder:?} {creds:?} {mp:?} {:?}",
        quick_retries()
    ));
    let c = builder.build().unwrap();
    outputs.push(format!("{c:?}"));
    let b = g.bucket();

    // Successes: single and multipart puts, get, head, list, copy, delete; admin reads.
    c.put_object(b, "small", "hello".into(), PutOptions::default())
        .await
        .unwrap();
    c.put_object(
        b,
        "multi",
        common::data(6 << 20, 3).into(),
        PutOptions::default(),
    )
    .await
    .unwrap();
    let got = c
        .get_object(b, "multi", GetOptions::default())
        .await
        .unwrap();
    outputs.push(format!("{got:?}"));
    assert_eq!(got.bytes().await.unwrap().len(), 6 << 20);
    outputs.push(format!("{:?}", c.head_object(b, "small").await.unwrap()));
    let listed: Vec<_> = c
        .list_objects(b, ListOptions::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    c.copy_object(b, "small", b, "copy").await.unwrap();
    c.delete_object(b, "copy").await.unwrap();
    outputs.push(format!("{:?}", admin.list_buckets().await.unwrap()));
    outputs.push(format!(
        "{:?}",
        admin.key_info_with_secret(&KEY_ID.into()).await.unwrap()
    ));
    let token = admin
        .create_admin_token(&AdminTokenSpec::new("canary").with_scope(["ListBuckets"]))
        .await
        .unwrap();
    outputs.push(format!("{token:?}"));
    let scoped = AdminClient::builder()
        .with_endpoint(g.admin_endpoint())
        .with_token(token.secret_token.clone())
        .with_http_config(quick_retries());
    outputs.push(format!("{scoped:?}"));
    let scoped = scoped.build().unwrap();
    outputs.push(format!("{scoped:?} {admin:?}"));
    scoped.list_buckets().await.unwrap();
    // Out of the token's scope: 403.
    renderings(scoped.list_keys().await.unwrap_err(), &mut outputs);

    // 404s: missing key, missing bucket.
    renderings(
        c.get_object(b, "absent", GetOptions::default())
            .await
            .unwrap_err(),
        &mut outputs,
    );
    renderings(
        c.head_object("no-such-bucket", "k").await.unwrap_err(),
        &mut outputs,
    );

    // Signature failures: the right key id with a wrong secret.
    let wrong = S3Client::builder()
        .with_endpoint(g.s3_endpoint())
        .with_credentials(Credentials::new(KEY_ID, SecretString::from(WRONG_SECRET)))
        .with_http_config(quick_retries())
        .build()
        .unwrap();
    outputs.push(format!("{wrong:?}"));
    for e in [
        wrong.head_object(b, "small").await.unwrap_err(),
        wrong
            .get_object(b, "small", GetOptions::default())
            .await
            .unwrap_err(),
        wrong
            .put_object(b, "x", "x".into(), PutOptions::default())
            .await
            .unwrap_err(),
        wrong.list_buckets().await.unwrap_err(),
    ] {
        // A 403 to HEAD has no body to say why.
        let head = e.as_s3().is_some_and(|s| s.method == "HEAD");
        assert!(
            e.is_unauthenticated() || (head && e.status() == Some(403)),
            "{e}"
        );
        renderings(e, &mut outputs);
    }

    // Presigned URLs: refused durations, a URL that works, then the same URL expired.
    renderings(
        c.presign_get(b, "small", Duration::from_millis(10))
            .unwrap_err(),
        &mut outputs,
    );
    let url = c.presign_get(b, "small", Duration::from_secs(1)).unwrap();
    let signature = url
        .query_pairs()
        .find(|(k, _)| k == "X-Amz-Signature")
        .map(|(_, v)| v.into_owned())
        .expect("a presigned URL carries its signature");
    let http = reqwest::Client::new();
    let ok = http.get(url.clone()).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "hello");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let expired = http.get(url.clone()).send().await.unwrap();
    // Garage 2.5 refuses it as a bad request, "Date is too old"
    // (`garage_api_common-2.5.0:signature/payload.rs`, `parse_query`).
    assert_eq!(expired.status(), 400, "an expired presigned URL is refused");
    assert!(expired.text().await.unwrap().contains("Date is too old"));
    // The presigned URL sent to a port where nothing listens (a caller's connect error).
    let mut dead_url = url.clone();
    let dead_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    dead_url.set_port(Some(dead_port)).unwrap();
    let _ = http.get(dead_url).send().await.unwrap_err();

    // Connect errors: nothing listens on the port.
    let dead = S3Client::builder()
        .with_endpoint(format!("http://127.0.0.1:{dead_port}"))
        .with_credentials(creds.clone())
        .with_http_config(quick_retries())
        .build()
        .unwrap();
    for e in [
        dead.head_object(b, "small").await.unwrap_err(),
        dead.list_buckets().await.unwrap_err(),
        dead.put_object(b, "x", "x".into(), PutOptions::default())
            .await
            .unwrap_err(),
    ] {
        assert!(e.is_transport(), "{e}");
        renderings(e, &mut outputs);
    }
    let dead_admin = AdminClient::builder()
        .with_endpoint(format!("http://127.0.0.1:{dead_port}"))
        .with_token(SecretString::from(BAD_TOKEN))
        .with_http_config(quick_retries())
        .build()
        .unwrap();
    renderings(dead_admin.list_buckets().await.unwrap_err(), &mut outputs);

    // A wrong admin token.
    let bad_admin = AdminClient::builder()
        .with_endpoint(g.admin_endpoint())
        .with_token(SecretString::from(BAD_TOKEN))
        .with_metrics_token(SecretString::from(BAD_TOKEN))
        .with_http_config(quick_retries());
    outputs.push(format!("{bad_admin:?}"));
    let bad_admin = bad_admin.build().unwrap();
    outputs.push(format!("{bad_admin:?}"));
    for e in [
        bad_admin.list_buckets().await.unwrap_err(),
        bad_admin.cluster_health().await.unwrap_err(),
        bad_admin.metrics().await.unwrap_err(),
    ] {
        assert!(e.is_unauthenticated(), "{e}");
        renderings(e, &mut outputs);
    }

    let secrets = [
        ("S3 secret", S3_SECRET.to_owned()),
        ("wrong S3 secret", WRONG_SECRET.to_owned()),
        ("bad admin token", BAD_TOKEN.to_owned()),
        ("admin token", g.admin_token().expose_secret().to_owned()),
        (
            "metrics token",
            g.metrics_token().expose_secret().to_owned(),
        ),
        (
            "created admin token",
            token.secret_token.expose_secret().to_owned(),
        ),
        ("presigned signature", signature),
        (
            "presigned signature parameter",
            "X-Amz-Signature=".to_owned(),
        ),
    ];
    let logs = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    // The capture saw the crate's request spans and reqwest's own `log` records.
    assert!(
        logs.contains("http{method="),
        "crate spans captured:\n{logs}"
    );
    assert!(
        logs.contains("reqwest::"),
        "reqwest's log records captured:\n{logs}"
    );
    for (what, secret) in &secrets {
        for line in logs.lines() {
            assert!(
                !line.contains(secret.as_str()),
                "{what} in a log line: {line}"
            );
        }
        for out in &outputs {
            assert!(!out.contains(secret.as_str()), "{what} in an output: {out}");
        }
    }
}
