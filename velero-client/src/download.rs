//! Logs and other files through DownloadRequest, and the HTTP transport that fetches them.
//!
//! This module is the only place that talks HTTP outside kube-rs. The presigned URL is never
//! logged or put into errors; only its scheme, host and port are.

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde::Deserialize;
use tracing::Instrument;

use crate::client::{USER_AGENT, VeleroClient};
use crate::types::*;
use crate::{Error, Result};

pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(Duration::from_secs(10))
        .timeout(timeout)
        .build()
        .map_err(|source| Error::Http {
            what: "building the download client".into(),
            source,
        })
}

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

/// Scheme, host and port of a URL: safe to show (no path, no signature).
pub(crate) fn endpoint_of(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("?");
            match u.port() {
                Some(p) => format!("{}://{host}:{p}", u.scheme()),
                None => format!("{}://{host}", u.scheme()),
            }
        }
        Err(_) => "<unparseable download URL>".to_owned(),
    }
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

/// Log lines, streamed and gunzipped as they arrive.
pub struct LogLines {
    body: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    decoder: flate2::write::GzDecoder<Vec<u8>>,
    lines: VecDeque<String>,
    what: String,
    done: bool,
}

impl std::fmt::Debug for LogLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogLines")
            .field("what", &self.what)
            .finish_non_exhaustive()
    }
}

impl LogLines {
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

    /// The next line, `None` at the end.
    pub async fn next_line(&mut self) -> Option<Result<String>> {
        loop {
            if let Some(line) = self.lines.pop_front() {
                return Some(Ok(line));
            }
            if self.done {
                return None;
            }
            match self.body.next().await {
                Some(Ok(chunk)) => {
                    if let Err(source) = self.decoder.write_all(&chunk) {
                        self.done = true;
                        return Some(Err(Error::DownloadRead {
                            what: self.what.clone(),
                            source,
                        }));
                    }
                    self.take_lines(false);
                }
                Some(Err(source)) => {
                    self.done = true;
                    return Some(Err(Error::Http {
                        what: self.what.clone(),
                        source,
                    }));
                }
                None => {
                    self.done = true;
                    if let Err(source) = self.decoder.try_finish() {
                        return Some(Err(Error::DownloadRead {
                            what: self.what.clone(),
                            source,
                        }));
                    }
                    self.take_lines(true);
                }
            }
        }
    }

    /// Turns this into a `Stream` of lines.
    pub fn into_stream(self) -> impl Stream<Item = Result<String>> + Send {
        futures::stream::unfold(self, |mut me| async move {
            me.next_line().await.map(|l| (l, me))
        })
    }

    /// Reads every line.
    pub async fn collect(mut self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        while let Some(line) = self.next_line().await {
            out.push(line?);
        }
        Ok(out)
    }
}

impl VeleroClient {
    /// Creates a DownloadRequest (`<name>-<unique>`), waits for its URL (bounded by the download
    /// URL timeout, 1 min by default), deletes the request and returns the presigned URL.
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

    async fn open_url(&self, url: &str, what: &str) -> Result<reqwest::Response> {
        let endpoint = endpoint_of(url);
        let span = tracing::debug_span!("velero_download", %endpoint, what);
        let send = || async {
            let resp = self.http.get(url).send().await.map_err(|source| {
                if source.is_connect() || source.is_timeout() {
                    Error::DownloadUnreachable {
                        endpoint: endpoint.clone(),
                        what: what.to_owned(),
                        source,
                    }
                } else {
                    Error::Http {
                        what: what.to_owned(),
                        source,
                    }
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
            let body: String = body.chars().take(512).collect();
            Err(Error::DownloadHttp {
                endpoint: endpoint.clone(),
                what: what.to_owned(),
                status: status.as_u16(),
                body,
                retry_after: retry_after.map(Duration::from_secs),
            })
        };
        send.retry(ExponentialBuilder::default().with_min_delay(Duration::from_millis(200)).with_max_times(3))
            .when(|e: &Error| matches!(e, Error::DownloadHttp { status, .. } if *status == 429 || *status >= 500))
            .adjust(|e: &Error, dur| match (e, dur) {
                // Honour Retry-After (capped at 10 s) while the retry budget lasts.
                (Error::DownloadHttp { retry_after: Some(ra), .. }, Some(_)) => Some((*ra).min(Duration::from_secs(10))),
                (_, d) => d,
            })
            .instrument(span)
            .await
    }

    /// Downloads a file through a DownloadRequest, gunzipped unless it is `BackupContents`.
    pub async fn download(&self, kind: DownloadTargetKind, name: &str) -> Result<Vec<u8>> {
        let what = format!("{kind} of {name}");
        let gzip = kind.is_gzip();
        let url = self.download_url(DownloadTarget::new(kind, name)).await?;
        let resp = self.open_url(&url, &what).await?;
        let bytes = resp.bytes().await.map_err(|source| Error::Http {
            what: what.clone(),
            source,
        })?;
        if !gzip {
            return Ok(bytes.to_vec());
        }
        let mut out = Vec::new();
        let mut dec = flate2::read::GzDecoder::new(&bytes[..]);
        std::io::Read::read_to_end(&mut dec, &mut out)
            .map_err(|source| Error::DownloadRead { what, source })?;
        Ok(out)
    }

    async fn log_lines(&self, kind: DownloadTargetKind, name: &str) -> Result<LogLines> {
        let what = format!("{kind} of {name}");
        let url = self.download_url(DownloadTarget::new(kind, name)).await?;
        let resp = self.open_url(&url, &what).await?;
        Ok(LogLines {
            body: Box::pin(resp.bytes_stream()),
            decoder: flate2::write::GzDecoder::new(Vec::new()),
            lines: VecDeque::new(),
            what,
            done: false,
        })
    }

    /// `velero backup logs`: only once the backup has finished processing.
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

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    fn lines_from(chunks: Vec<Vec<u8>>) -> LogLines {
        LogLines {
            body: Box::pin(futures::stream::iter(
                chunks.into_iter().map(|c| Ok(Bytes::from(c))),
            )),
            decoder: flate2::write::GzDecoder::new(Vec::new()),
            lines: VecDeque::new(),
            what: "test log".into(),
            done: false,
        }
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
            let lines = lines_from(chunks).collect().await.unwrap();
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
        let res = lines_from(vec![compressed]).collect().await;
        assert!(matches!(res, Err(Error::DownloadRead { .. })), "{res:?}");
        let res = lines_from(vec![b"not gzip at all".to_vec()])
            .collect()
            .await;
        assert!(matches!(res, Err(Error::DownloadRead { .. })), "{res:?}");
    }

    #[test]
    fn endpoints_hide_path_and_signature() {
        assert_eq!(
            endpoint_of(
                "http://garage.velero.svc:3900/velero-prod/backups/b/b-logs.gz?X-Amz-Signature=abc"
            ),
            "http://garage.velero.svc:3900"
        );
        assert_eq!(endpoint_of("not a url"), "<unparseable download URL>");
    }

    #[test]
    fn results_parse_velero_shape() {
        let raw = r#"{"warnings":{"namespaces":{"apps":["w1"]}},"errors":{"velero":["e1"],"cluster":["e2"]}}"#;
        let r: BackupResults = serde_json::from_str(raw).unwrap();
        assert_eq!(r.errors.len(), 2);
        assert_eq!(r.warnings.namespaces["apps"], vec!["w1".to_owned()]);
    }
}
