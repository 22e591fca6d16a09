//! Logs and other files through DownloadRequest, fetched with the [`crate::transport`] client.
//!
//! The presigned URL is never logged or put into errors; only its scheme, host and port are.

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde::Deserialize;
use tracing::Instrument;

use crate::client::VeleroClient;
use crate::transport::{endpoint_of, gunzip_capped, http_client, is_tls_failure, scrub_body};
use crate::types::*;
use crate::{Error, Result};

/// Messages of one section of `BackupResults`/`RestoreResults`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ResultMessages {
    /// Messages from Velero itself.
    #[serde(default)]
    pub velero: Vec<String>,
    /// Cluster-scoped messages.
    #[serde(default)]
    pub cluster: Vec<String>,
    /// Messages per namespace.
    #[serde(default)]
    pub namespaces: BTreeMap<String, Vec<String>>,
}

impl ResultMessages {
    /// Total number of messages.
    pub fn len(&self) -> usize {
        self.velero.len()
            + self.cluster.len()
            + self.namespaces.values().map(Vec::len).sum::<usize>()
    }

    /// No messages.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The `BackupResults`/`RestoreResults` file: `{"warnings": …, "errors": …}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct BackupResults {
    /// Warnings.
    #[serde(default)]
    pub warnings: ResultMessages,
    /// Errors.
    #[serde(default)]
    pub errors: ResultMessages,
}

fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = jiff::Timestamp::now().as_nanosecond() as u64;
    format!(
        "{:x}{:04x}",
        t ^ u64::from(std::process::id()).rotate_left(32),
        n & 0xffff
    )
}

/// Compressed bytes fed to the decoder at a time: deflate expands at most ~1032:1, so one feed
/// yields at most ~66 KiB of text, however the server chunks its answer.
const FEED: usize = 64;

/// Log lines, a [`Stream`] of `Result<String>`, gunzipped as they arrive, one bounded piece at a
/// time: memory stays within the line cap plus one feed's output whatever the archive holds (a
/// gzip bomb, a line without a newline). Read it with `futures::StreamExt`/`TryStreamExt`
/// (`next`, `try_next`, `try_collect`).
pub struct LogLines {
    body: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    /// Compressed bytes received but not yet decoded.
    input: Bytes,
    decoder: flate2::write::GzDecoder<Vec<u8>>,
    lines: VecDeque<String>,
    what: String,
    max_line: usize,
    done: bool,
}

impl std::fmt::Debug for LogLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogLines")
            .field("what", &self.what)
            .field("max_line", &self.max_line)
            .finish_non_exhaustive()
    }
}

impl LogLines {
    fn new(
        body: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
        what: String,
        max_line: usize,
    ) -> Self {
        Self {
            body,
            input: Bytes::new(),
            decoder: flate2::write::GzDecoder::new(Vec::new()),
            lines: VecDeque::new(),
            what,
            max_line,
            done: false,
        }
    }

    fn take_lines(&mut self, all: bool) {
        let buf = self.decoder.get_mut();
        let mut start = 0;
        while let Some(pos) = buf[start..].iter().position(|&b| b == b'\n') {
            let line = &buf[start..start + pos];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            self.lines
                .push_back(String::from_utf8_lossy(line).into_owned());
            start += pos + 1;
        }
        buf.drain(..start);
        if all && !buf.is_empty() {
            self.lines
                .push_back(String::from_utf8_lossy(buf).into_owned());
            buf.clear();
        }
    }

    fn fail(&mut self, err: Error) -> Option<Result<String>> {
        self.done = true;
        self.lines.clear();
        self.input = Bytes::new();
        self.decoder.get_mut().clear();
        Some(Err(err))
    }
}

impl Stream for LogLines {
    type Item = Result<String>;

    /// The next line, `None` at the end. A line longer than the cap ends the stream with
    /// [`Error::LogLineTooLong`]; any error ends the stream.
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(line) = this.lines.pop_front() {
                return Poll::Ready(Some(Ok(line)));
            }
            if this.done {
                return Poll::Ready(None);
            }
            if !this.input.is_empty() {
                let piece = this.input.split_to(this.input.len().min(FEED));
                if let Err(source) = this.decoder.write_all(&piece) {
                    let what = this.what.clone();
                    return Poll::Ready(this.fail(Error::DownloadRead { what, source }));
                }
                this.take_lines(false);
                if this.decoder.get_ref().len() > this.max_line {
                    let err = Error::LogLineTooLong {
                        what: this.what.clone(),
                        limit: this.max_line,
                    };
                    return Poll::Ready(this.fail(err));
                }
                continue;
            }
            match std::task::ready!(this.body.as_mut().poll_next(cx)) {
                Some(Ok(chunk)) => this.input = chunk,
                Some(Err(source)) => {
                    let what = this.what.clone();
                    return Poll::Ready(this.fail(Error::http(what, source)));
                }
                None => {
                    this.done = true;
                    if let Err(source) = this.decoder.try_finish() {
                        let what = this.what.clone();
                        return Poll::Ready(this.fail(Error::DownloadRead { what, source }));
                    }
                    this.take_lines(true);
                    if this.lines.back().is_some_and(|l| l.len() > this.max_line) {
                        let err = Error::LogLineTooLong {
                            what: this.what.clone(),
                            limit: this.max_line,
                        };
                        return Poll::Ready(this.fail(err));
                    }
                }
            }
        }
    }
}

impl VeleroClient {
    /// Creates a DownloadRequest (`<name>-<unique>`), waits for its URL (bounded by the download
    /// URL timeout, 1 min by default), deletes the request and returns the presigned URL.
    ///
    /// # Errors
    ///
    /// [`Error::DownloadUrlTimeout`] or [`Error::DownloadFailed`] when Velero gives no URL,
    /// [`Error::Api`] with the apiserver's answer (e.g. [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]), [`Error::Kube`] when the apiserver cannot be reached or
    /// its answer not decoded.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use velero_client::{DownloadTarget, DownloadTargetKind};
    /// let url = client.download_url(DownloadTarget::new(DownloadTargetKind::BackupLog, "adhoc")).await?;
    /// # let _ = url;
    /// # Ok(()) }
    /// ```
    pub async fn download_url(&self, target: DownloadTarget) -> Result<String> {
        let request_name = format!("{}-{}", target.name, unique_suffix());
        let spec = DownloadRequestSpec { target };
        self.create(&DownloadRequest::new(&request_name, spec))
            .await?;
        let result = self.poll_download_url(&request_name).await;
        // The server would garbage-collect it after ~10 min; keep the namespace clean.
        if let Err(e) = self.delete::<DownloadRequest>(&request_name).await {
            tracing::debug!(error = %e, request = %request_name, "could not delete download request");
        }
        result
    }

    async fn poll_download_url(&self, request_name: &str) -> Result<String> {
        let deadline = tokio::time::Instant::now() + self.download_url_timeout;
        let mut delay = Duration::from_millis(25);
        loop {
            let dr: DownloadRequest = self.get(request_name).await?;
            let status = dr.status.unwrap_or_default();
            if let Some(url) = status.download_url.filter(|u| !u.is_empty()) {
                return Ok(url);
            }
            if status.phase == Some(DownloadRequestPhase::Failed) {
                return Err(Error::DownloadFailed {
                    request: request_name.to_owned(),
                    message: status.message.unwrap_or_default(),
                });
            }
            if tokio::time::Instant::now() + delay > deadline {
                return Err(Error::DownloadUrlTimeout {
                    context: self.context.clone(),
                    request: request_name.to_owned(),
                    waited: self.download_url_timeout,
                });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(500));
        }
    }

    /// The CA of the storage location the target's backup lives in: the Secret of `caCertRef`
    /// first, then the inline `caCert`, as the CLI does (vmware-tanzu/velero
    /// pkg/cmd/util/cacert/bsl_cacert.go). Returns the PEM and a description for messages.
    async fn location_ca(
        &self,
        target: &DownloadTarget,
    ) -> Result<(Option<Vec<u8>>, String), String> {
        use base64::Engine as _;
        let describe = |e: Error| e.to_string();
        let backup_name = if target.kind.as_str().starts_with("Restore") {
            match self
                .get_opt::<Restore>(&target.name)
                .await
                .map_err(describe)?
            {
                Some(r) => r.spec.backup_name.unwrap_or_default(),
                None => return Ok((None, "the system roots".to_owned())),
            }
        } else {
            target.name.clone()
        };
        let Some(backup) = self
            .get_opt::<Backup>(&backup_name)
            .await
            .map_err(describe)?
        else {
            return Ok((None, "the system roots".to_owned()));
        };
        let Some(bsl_name) = backup.spec.storage_location.filter(|l| !l.is_empty()) else {
            return Ok((None, "the system roots".to_owned()));
        };
        let Some(bsl) = self
            .get_opt::<BackupStorageLocation>(&bsl_name)
            .await
            .map_err(describe)?
        else {
            return Ok((None, "the system roots".to_owned()));
        };
        let storage = &bsl.spec.object_storage;
        if let Some(r) = &storage.ca_cert_ref {
            let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
                kube::Api::namespaced(self.client.clone(), &self.namespace);
            let secret = secrets.get(&r.name).await.map_err(|e| {
                format!(
                    "caCertRef of backup storage location {bsl_name:?}: {}",
                    Error::kube(&self.context, "get", "secrets", Some(&r.name), e)
                )
            })?;
            if r.key.is_empty() {
                return Err(format!(
                    "caCertRef of backup storage location {bsl_name:?} has an empty key"
                ));
            }
            let Some(data) = secret.data.as_ref().and_then(|d| d.get(&r.key)) else {
                return Err(format!(
                    "key {:?} not found in secret {:?} (caCertRef of backup storage location {bsl_name:?})",
                    r.key, r.name
                ));
            };
            return Ok((
                Some(data.0.clone()),
                format!(
                    "the system roots and secret {:?} key {:?} (caCertRef of backup storage location {bsl_name:?})",
                    r.name, r.key
                ),
            ));
        }
        if let Some(b64) = storage.ca_cert.as_deref().filter(|c| !c.is_empty()) {
            let pem = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|e| {
                    format!("caCert of backup storage location {bsl_name:?} is not base64: {e}")
                })?;
            return Ok((
                Some(pem),
                format!("the system roots and the caCert of backup storage location {bsl_name:?}"),
            ));
        }
        Ok((
            None,
            format!(
                "the system roots (backup storage location {bsl_name:?} has no caCert or caCertRef)"
            ),
        ))
    }

    /// The HTTP client for one download, and what it trusts (for messages).
    async fn download_client(&self, target: &DownloadTarget) -> Result<(reqwest::Client, String)> {
        let (ca, mut trusted) = match self.location_ca(target).await {
            Ok(found) => found,
            Err(why) => {
                // The CLI prints a warning and downloads without the location's CA.
                tracing::warn!(error = %why, "could not read the storage location's CA; downloading without it");
                (
                    None,
                    format!("the system roots (could not read the location's CA: {why})"),
                )
            }
        };
        if self.download_tls.extra_ca.is_some() {
            trusted.push_str(" and the client's download CA");
        }
        if self.download_tls.insecure_skip_tls_verify {
            trusted = "any certificate (insecure_skip_tls_verify)".to_owned();
        }
        let client = match &ca {
            Some(pem) => http_client(&self.download_tls, Some(pem))?,
            None => self.http.clone(),
        };
        Ok((client, trusted))
    }

    async fn open_url(
        &self,
        http: &reqwest::Client,
        trusted: &str,
        url: &str,
        what: &str,
    ) -> Result<reqwest::Response> {
        let endpoint = endpoint_of(url);
        let span = tracing::debug_span!("velero_download", %endpoint, what);
        let send = || async {
            let resp = http.get(url).send().await.map_err(|source| {
                if is_tls_failure(&source) {
                    Error::DownloadTls {
                        endpoint: endpoint.clone(),
                        what: what.to_owned(),
                        trusted: trusted.to_owned(),
                        // The error carries the presigned URL (signature included).
                        source: source.without_url(),
                    }
                } else if source.is_connect() || source.is_timeout() {
                    Error::DownloadUnreachable {
                        endpoint: endpoint.clone(),
                        what: what.to_owned(),
                        // The error carries the presigned URL (signature included).
                        source: source.without_url(),
                    }
                } else {
                    Error::http(what, source)
                }
            })?;
            let status = resp.status();
            if status.is_success() {
                return Ok(resp);
            }
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let body = resp.text().await.unwrap_or_default();
            let body: String = scrub_body(&body, url).chars().take(512).collect();
            Err(Error::DownloadHttp {
                endpoint: endpoint.clone(),
                what: what.to_owned(),
                status: status.as_u16(),
                body,
                retry_after: retry_after.map(Duration::from_secs),
            })
        };
        let retry = &self.download_tls.retry;
        let started = tokio::time::Instant::now();
        let mut retries = 0;
        async {
            loop {
                let err = match send().await {
                    Ok(resp) => return Ok(resp),
                    Err(e) => e,
                };
                let Error::DownloadHttp {
                    status,
                    retry_after,
                    ..
                } = &err
                else {
                    return Err(err);
                };
                if !(*status == 429 || *status >= 500) || retries >= retry.max_retries {
                    return Err(err);
                }
                // Honour Retry-After (capped at 10 s) while the retry budget lasts.
                let delay = match retry_after {
                    Some(ra) => (*ra).min(Duration::from_secs(10)),
                    None => retry.delay(retries),
                };
                if started.elapsed() + delay > retry.retry_timeout {
                    return Err(err);
                }
                tracing::debug!(status, ?delay, retry = retries + 1, "retrying a download");
                tokio::time::sleep(delay).await;
                retries += 1;
            }
        }
        .instrument(span)
        .await
    }

    /// Downloads a file through a DownloadRequest, gunzipped unless it is `BackupContents`.
    ///
    /// # Errors
    ///
    /// [`Error::DownloadUrlTimeout`]/[`Error::DownloadFailed`] when Velero gives no URL,
    /// [`Error::DownloadUnreachable`], [`Error::DownloadTls`], [`Error::DownloadHttp`] or
    /// [`Error::Transport`] from the object store, [`Error::DownloadTooLarge`] past the download
    /// cap, and [`Error::Api`] with the apiserver's answer (e.g. [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]), [`Error::Kube`] when the apiserver cannot be reached or
    /// its answer not decoded.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let list = client.download(velero_client::DownloadTargetKind::BackupResourceList, "adhoc").await?;
    /// # let _ = list;
    /// # Ok(()) }
    /// ```
    pub async fn download(&self, kind: DownloadTargetKind, name: &str) -> Result<Vec<u8>> {
        let what = format!("{kind} of {name}");
        let gzip = kind.is_gzip();
        let target = DownloadTarget::new(kind, name);
        let (http, trusted) = self.download_client(&target).await?;
        let url = self.download_url(target).await?;
        let resp = self.open_url(&http, &trusted, &url, &what).await?;
        let limit = self.download_tls.max_download;
        let too_large = |what: &str| Error::DownloadTooLarge {
            what: what.to_owned(),
            limit,
        };
        let mut body = resp.bytes_stream();
        let mut bytes = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|source| Error::http(what.clone(), source))?;
            if bytes.len() + chunk.len() > limit {
                return Err(too_large(&what));
            }
            bytes.extend_from_slice(&chunk);
        }
        if !gzip {
            return Ok(bytes);
        }
        gunzip_capped(&bytes, limit, &what)
    }

    async fn log_lines(&self, kind: DownloadTargetKind, name: &str) -> Result<LogLines> {
        let what = format!("{kind} of {name}");
        let target = DownloadTarget::new(kind, name);
        let (http, trusted) = self.download_client(&target).await?;
        let url = self.download_url(target).await?;
        let resp = self.open_url(&http, &trusted, &url, &what).await?;
        Ok(LogLines::new(
            Box::pin(resp.bytes_stream()),
            what,
            self.download_tls.max_log_line,
        ))
    }

    /// `velero backup logs`: only once the backup has finished processing.
    ///
    /// # Errors
    ///
    /// [`Error::NotFinished`] before the object has finished processing,
    /// [`Error::DownloadUrlTimeout`]/[`Error::DownloadFailed`] when Velero gives no URL,
    /// [`Error::DownloadUnreachable`], [`Error::DownloadTls`], [`Error::DownloadHttp`] or
    /// [`Error::Transport`] from the object store, and [`Error::Api`] with the apiserver's answer
    /// (e.g. [`Error::is_not_found`], [`Error::is_permission_denied`]), [`Error::Kube`] when the
    /// apiserver cannot be reached or its answer not decoded. Reading the stream can still fail
    /// with [`Error::LogLineTooLong`], [`Error::DownloadRead`] or [`Error::Transport`].
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use futures::TryStreamExt;
    /// let mut lines = client.backup_logs("adhoc").await?;
    /// while let Some(line) = lines.try_next().await? {
    ///     println!("{line}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn backup_logs(&self, name: &str) -> Result<LogLines> {
        let backup: Backup = self.get(name).await?;
        let phase = backup.phase();
        if !phase.logs_available() {
            return Err(Error::NotFinished {
                what: "logs",
                name: name.to_owned(),
                phase: phase.to_string(),
            });
        }
        self.log_lines(DownloadTargetKind::BackupLog, name).await
    }

    /// `velero restore logs`: only once the restore has finished processing.
    ///
    /// # Errors
    ///
    /// [`Error::NotFinished`] before the object has finished processing,
    /// [`Error::DownloadUrlTimeout`]/[`Error::DownloadFailed`] when Velero gives no URL,
    /// [`Error::DownloadUnreachable`], [`Error::DownloadTls`], [`Error::DownloadHttp`] or
    /// [`Error::Transport`] from the object store, and [`Error::Api`] with the apiserver's answer
    /// (e.g. [`Error::is_not_found`], [`Error::is_permission_denied`]), [`Error::Kube`] when the
    /// apiserver cannot be reached or its answer not decoded. Reading the stream can still fail
    /// with [`Error::LogLineTooLong`], [`Error::DownloadRead`] or [`Error::Transport`].
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use futures::TryStreamExt;
    /// let lines: Vec<String> = client.restore_logs("drill").await?.try_collect().await?;
    /// # let _ = lines;
    /// # Ok(()) }
    /// ```
    pub async fn restore_logs(&self, name: &str) -> Result<LogLines> {
        let restore: Restore = self.get(name).await?;
        let phase = restore.phase();
        if !phase.logs_available() {
            return Err(Error::NotFinished {
                what: "logs",
                name: name.to_owned(),
                phase: phase.to_string(),
            });
        }
        self.log_lines(DownloadTargetKind::RestoreLog, name).await
    }

    /// The error and warning messages of a backup.
    ///
    /// # Errors
    ///
    /// [`Error::DownloadUrlTimeout`]/[`Error::DownloadFailed`] when Velero gives no URL,
    /// [`Error::DownloadUnreachable`], [`Error::DownloadTls`], [`Error::DownloadHttp`] or
    /// [`Error::Transport`] from the object store, and [`Error::Api`] with the apiserver's answer
    /// (e.g. [`Error::is_not_found`], [`Error::is_permission_denied`]), [`Error::Kube`] when the
    /// apiserver cannot be reached or its answer not decoded. [`Error::Decode`] when the file is
    /// not Velero's JSON.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let results = client.backup_results("adhoc").await?;
    /// println!("{} errors", results.errors.len());
    /// # Ok(()) }
    /// ```
    pub async fn backup_results(&self, name: &str) -> Result<BackupResults> {
        let raw = self
            .download(DownloadTargetKind::BackupResults, name)
            .await?;
        serde_json::from_slice(&raw).map_err(|source| Error::Decode {
            what: format!("BackupResults of {name}"),
            source,
        })
    }

    /// The error and warning messages of a restore.
    ///
    /// # Errors
    ///
    /// [`Error::DownloadUrlTimeout`]/[`Error::DownloadFailed`] when Velero gives no URL,
    /// [`Error::DownloadUnreachable`], [`Error::DownloadTls`], [`Error::DownloadHttp`] or
    /// [`Error::Transport`] from the object store, and [`Error::Api`] with the apiserver's answer
    /// (e.g. [`Error::is_not_found`], [`Error::is_permission_denied`]), [`Error::Kube`] when the
    /// apiserver cannot be reached or its answer not decoded. [`Error::Decode`] when the file is
    /// not Velero's JSON.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let results = client.restore_results("drill").await?;
    /// println!("{} warnings", results.warnings.len());
    /// # Ok(()) }
    /// ```
    pub async fn restore_results(&self, name: &str) -> Result<BackupResults> {
        let raw = self
            .download(DownloadTargetKind::RestoreResults, name)
            .await?;
        serde_json::from_slice(&raw).map_err(|source| Error::Decode {
            what: format!("RestoreResults of {name}"),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::DEFAULT_MAX_LOG_LINE_BYTES;
    use crate::transport::tests::gz;
    use futures::TryStreamExt;

    fn lines_from(chunks: Vec<Vec<u8>>) -> LogLines {
        lines_capped(chunks, DEFAULT_MAX_LOG_LINE_BYTES)
    }

    fn lines_capped(chunks: Vec<Vec<u8>>, max_line: usize) -> LogLines {
        LogLines::new(
            Box::pin(futures::stream::iter(
                chunks.into_iter().map(|c| Ok(Bytes::from(c))),
            )),
            "test log".into(),
            max_line,
        )
    }

    #[tokio::test]
    async fn log_lines_survive_arbitrary_chunking() {
        let mut text = String::new();
        for i in 0..1000 {
            text.push_str(&format!(
                "time=\"2026-11-27T02:00:00Z\" level=info msg=\"item {i}\"\r\n"
            ));
        }
        text.push_str("last line without newline");
        let compressed = gz(text.as_bytes());
        for size in [1, 7, 4096, compressed.len()] {
            let chunks: Vec<Vec<u8>> = compressed.chunks(size).map(<[u8]>::to_vec).collect();
            let lines = lines_from(chunks).try_collect::<Vec<_>>().await.unwrap();
            assert_eq!(lines.len(), 1001, "chunk size {size}");
            assert_eq!(
                lines[999],
                "time=\"2026-11-27T02:00:00Z\" level=info msg=\"item 999\""
            );
            assert_eq!(lines[1000], "last line without newline");
        }
    }

    #[tokio::test]
    async fn corrupt_gzip_is_an_error_not_a_panic() {
        let mut compressed = gz(b"hello\nworld\n");
        compressed.truncate(compressed.len() - 6);
        let res = lines_from(vec![compressed]).try_collect::<Vec<_>>().await;
        assert!(matches!(res, Err(Error::DownloadRead { .. })), "{res:?}");
        let res = lines_from(vec![b"not gzip at all".to_vec()])
            .try_collect::<Vec<_>>()
            .await;
        assert!(matches!(res, Err(Error::DownloadRead { .. })), "{res:?}");
    }

    #[test]
    fn results_parse_velero_shape() {
        let raw = r#"{"warnings":{"namespaces":{"apps":["w1"]}},"errors":{"velero":["e1"],"cluster":["e2"]}}"#;
        let r: BackupResults = serde_json::from_str(raw).unwrap();
        assert_eq!(r.errors.len(), 2);
        assert_eq!(r.warnings.namespaces["apps"], vec!["w1".to_owned()]);
    }

    #[tokio::test]
    async fn a_line_without_end_is_capped_with_a_typed_error() {
        // 8 MiB of one line compresses to a few KiB: the cap, not the archive, bounds memory.
        let bomb = gz(&vec![b'a'; 8 * 1024 * 1024]);
        assert!(bomb.len() < 64 * 1024, "{}", bomb.len());
        let mut lines = lines_capped(vec![bomb], 1024 * 1024);
        match lines.next().await {
            Some(Err(Error::LogLineTooLong { limit, .. })) => assert_eq!(limit, 1024 * 1024),
            other => panic!("unexpected {other:?}"),
        }
        assert!(
            lines.next().await.is_none(),
            "the stream ends after the error"
        );
        // A last line (no newline at the end) over the cap too.
        let res = lines_capped(vec![gz(&[b'x'; 100])], 50)
            .try_collect::<Vec<_>>()
            .await;
        assert!(matches!(res, Err(Error::LogLineTooLong { .. })), "{res:?}");
        // Lines under the cap pass.
        let ok = lines_capped(vec![gz(b"short\nlines\n")], 50)
            .try_collect::<Vec<_>>()
            .await
            .unwrap();
        assert_eq!(ok, vec!["short".to_owned(), "lines".to_owned()]);
    }
}
