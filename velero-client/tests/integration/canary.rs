//! Canary (issue 14 item 5): no credential reaches an error or a log line. The kubeconfig's
//! bearer token and every presigned-URL signature are looked for in every line the client
//! logs (TRACE, all targets but the fake's own) and in every error chain and `Debug`, across
//! working and failing downloads.

use futures::TryStreamExt;
use std::cell::RefCell;
use std::io::Write;
use std::sync::OnceLock;
use std::time::Duration;

use tracing_subscriber::filter::dynamic_filter_fn;
use tracing_subscriber::layer::{Layer, SubscriberExt};
use velero_client::testing::NamespaceSim;
use velero_client::{BackupSpec, DownloadTargetKind};

use crate::integration::leaks::{assert_no_url, everything_printed};
use crate::setup;

thread_local! {
    /// The log lines of the test running on this thread, when it captures.
    static CAPTURED: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
}

struct ThreadWriter;

impl Write for ThreadWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURED.with(|c| {
            if let Some(v) = c.borrow_mut().as_mut() {
                v.extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A global subscriber (a thread-local default loses events when other tests run in parallel:
/// callsite interest is cached process-wide) that formats only the events of capturing threads.
fn capture_this_thread() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(|| ThreadWriter)
            .with_ansi(false)
            .with_filter(dynamic_filter_fn(|meta, _| {
                // The fake's own server side is not the library under test.
                !meta.target().starts_with("velero_client::testing")
                    && CAPTURED.with(|c| c.borrow().is_some())
            }));
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
            .expect("no other global subscriber in this test binary");
    });
    CAPTURED.with(|c| *c.borrow_mut() = Some(Vec::new()));
}

#[tokio::test]
async fn no_token_or_signature_in_any_error_or_log_line() {
    // Everything below runs on this thread (current-thread runtime), the fake included.
    capture_this_thread();

    let (fake, client) = setup("prod").await;
    let prod = fake.cluster("prod").unwrap();
    let token = format!("fake-token-{}", prod.context());
    prod.set_namespace("apps", NamespaceSim::with_items(2).failing(1));
    client
        .create_backup("canary", BackupSpec::default())
        .await
        .unwrap();
    client
        .wait_for_backup("canary", Duration::from_secs(10))
        .await
        .unwrap();

    let mut errors = Vec::new();
    client
        .backup_logs("canary")
        .await
        .unwrap()
        .try_collect::<Vec<String>>()
        .await
        .unwrap();
    client.describe_backup("canary").await.unwrap();
    prod.break_downloads(1);
    errors.push(
        client
            .backup_logs("canary")
            .await
            .unwrap()
            .try_collect::<Vec<String>>()
            .await
            .unwrap_err(),
    );
    prod.reject_signatures(1);
    errors.push(
        client
            .download(DownloadTargetKind::BackupResults, "canary")
            .await
            .unwrap_err(),
    );
    prod.fail_downloads(10, None);
    errors.push(client.backup_logs("canary").await.unwrap_err());
    prod.forbid("get", "backups");
    errors.push(client.get_backup("canary").await.unwrap_err());
    errors.push(
        client
            .download(DownloadTargetKind::BackupResults, "canary")
            .await
            .unwrap_err(),
    );

    for e in &errors {
        let text = everything_printed(e);
        assert!(!text.contains(&token), "token in an error: {text}");
        assert_no_url(&text);
    }
    let captured = CAPTURED.with(|c| c.borrow_mut().take()).unwrap_or_default();
    let log = String::from_utf8_lossy(&captured).into_owned();
    assert!(log.lines().count() > 10, "the canary saw the logs: {log}");
    for line in log.lines() {
        assert!(!line.contains(&token), "token in a log line: {line}");
        assert!(
            !line.contains("X-Amz-Signature"),
            "signature in a log line: {line}"
        );
        assert!(
            !line.contains("X-Amz-Credential"),
            "credential in a log line: {line}"
        );
    }
}
