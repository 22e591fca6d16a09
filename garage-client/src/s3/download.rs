//! Whole-object downloads of large objects as concurrent ranged GETs, delivered in order.
//!
//! The first plain GET is already under way when the object turns out to be large: its stream
//! delivers the first range and is then dropped, while ranged GETs pinned to the object's ETag
//! (`If-Match`) fetch the following ranges ahead of the reader. The caller still sees one
//! ordered stream, checked end to end against the first response's length and CRC32C.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt};
use http::{HeaderMap, HeaderValue};

use super::S3Client;
use crate::config::DownloadConfig;
use crate::error::{Error, Result};

/// The object being downloaded, as the first response described it.
#[derive(Debug)]
pub(crate) struct Target {
    pub bucket: String,
    pub key: String,
    pub etag: String,
    pub size: u64,
}

impl Target {
    fn integrity(&self, what: &'static str, expected: String, actual: String) -> Error {
        Error::integrity(&self.bucket, &self.key, what, expected, actual)
    }
}

/// Where a single response body continues after its connection dropped.
#[derive(Debug)]
pub(crate) struct Resume {
    pub bucket: String,
    pub key: String,
    /// ETag the continuation must still have (`If-Match`).
    pub etag: String,
    /// Object offset of the body's first byte.
    pub start: u64,
    /// Object offset just past the bytes wanted from this body.
    pub end: u64,
}

/// `first` (a response body carrying bytes `start..end` of the object, or more) continued
/// after a mid-body connection loss with `Range: bytes=<reached>-<end - 1>` and `If-Match`, at
/// most [`RetryConfig::max_retries`](crate::RetryConfig::max_retries) times per download, exactly as
/// the parallel ranges are fetched again. A continuation that does not start where the body broke
/// off is an integrity error; a replaced object fails with `412 PreconditionFailed`.
pub(crate) fn resumable(
    client: S3Client,
    resume: Resume,
    first: BoxStream<'static, Result<Bytes>>,
) -> BoxStream<'static, Result<Bytes>> {
    struct St {
        client: S3Client,
        r: Resume,
        body: BoxStream<'static, Result<Bytes>>,
        pos: u64,
        failures: usize,
        done: bool,
    }
    let st = St {
        client,
        pos: resume.start,
        r: resume,
        body: first,
        failures: 0,
        done: false,
    };
    stream::unfold(st, |mut st| async move {
        if st.done {
            return None;
        }
        loop {
            match st.body.next().await {
                Some(Ok(chunk)) => {
                    st.pos += chunk.len() as u64;
                    return Some((Ok(chunk), st));
                }
                None => return None,
                Some(Err(e @ Error::Transport { .. }))
                    if st.pos < st.r.end
                        && st.failures < st.client.inner.transport.config().retry.max_retries =>
                {
                    st.failures += 1;
                    tracing::debug!(error = %e, pos = st.pos, failures = st.failures, "body interrupted; resuming");
                    match continue_from(&st.client, &st.r, st.pos).await {
                        Ok(body) => st.body = body,
                        Err(e) => {
                            st.done = true;
                            return Some((Err(e), st));
                        }
                    }
                }
                Some(Err(e)) => {
                    st.done = true;
                    return Some((Err(e), st));
                }
            }
        }
    })
    .boxed()
}

/// `If-Match` takes the quoted ETag (RFC 9110 entity-tag).
fn if_match(etag: &str) -> Result<HeaderValue> {
    HeaderValue::from_str(&format!("\"{}\"", etag.trim_matches('"')))
        .map_err(|e| Error::Config(format!("ETag {etag:?}: {e}")))
}

async fn continue_from(
    client: &S3Client,
    r: &Resume,
    pos: u64,
) -> Result<BoxStream<'static, Result<Bytes>>> {
    let url = client.url(&r.bucket, Some(&r.key), &[])?;
    let mut headers = HeaderMap::new();
    let range = format!("bytes={pos}-{}", r.end - 1);
    headers.insert(
        http::header::RANGE,
        HeaderValue::from_str(&range).map_err(|e| Error::Config(e.to_string()))?,
    );
    headers.insert(http::header::IF_MATCH, if_match(&r.etag)?);
    let resp = client.send_streaming_get(&url, headers).await?;
    let got = resp
        .headers
        .get(http::header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let want = format!("bytes {pos}-{}/", r.end - 1);
    if resp.status.as_u16() != 206 || !got.starts_with(&want) {
        return Err(Error::integrity(
            &r.bucket,
            &r.key,
            "range",
            format!("206 {want}…"),
            format!("{} {got}", resp.status.as_u16()),
        ));
    }
    Ok(resp.into_stream())
}

/// A range fetch running on the runtime; aborted when the download is dropped.
struct Part(tokio::task::JoinHandle<Result<VecDeque<Bytes>>>);

impl Drop for Part {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Ranged {
    client: S3Client,
    target: Arc<Target>,
    part_size: u64,
    /// The first response, until it has delivered range 0.
    head: Option<BoxStream<'static, Result<Bytes>>>,
    head_left: u64,
    /// Ranges fetched ahead, in order.
    pending: VecDeque<Part>,
    /// The chunks of the range being handed out.
    ready: VecDeque<Bytes>,
    next_range: u64,
    ranges: u64,
    done: bool,
}

/// The ordered stream of `target` from `head` (the first response's body) and ranged GETs.
pub(crate) fn ranged(
    client: S3Client,
    target: Target,
    head: BoxStream<'static, Result<Bytes>>,
    cfg: DownloadConfig,
) -> BoxStream<'static, Result<Bytes>> {
    let mut state = Ranged {
        client,
        part_size: cfg.part_size,
        head: Some(head),
        head_left: cfg.part_size.min(target.size),
        pending: VecDeque::new(),
        ready: VecDeque::new(),
        next_range: 1,
        ranges: target.size.div_ceil(cfg.part_size),
        target: Arc::new(target),
        done: false,
    };
    while state.pending.len() + 1 < cfg.concurrency && state.next_range < state.ranges {
        state.spawn_next();
    }
    stream::unfold(state, |mut state| async move {
        let item = state.next().await?;
        Some((item, state))
    })
    .boxed()
}

impl Ranged {
    fn spawn_next(&mut self) {
        let start = self.next_range * self.part_size;
        let end = (start + self.part_size).min(self.target.size);
        let (client, target) = (self.client.clone(), self.target.clone());
        self.pending.push_back(Part(tokio::spawn(async move {
            fetch_range(&client, &target, start, end).await
        })));
        self.next_range += 1;
    }

    fn fail(&mut self, e: Error) -> Option<Result<Bytes>> {
        self.done = true;
        self.head = None;
        self.pending.clear();
        Some(Err(e))
    }

    async fn next(&mut self) -> Option<Result<Bytes>> {
        if self.done {
            return None;
        }
        loop {
            if let Some(chunk) = self.ready.pop_front() {
                return Some(Ok(chunk));
            }
            if let Some(head) = &mut self.head {
                match head.next().await {
                    Some(Ok(mut chunk)) => {
                        if chunk.len() as u64 >= self.head_left {
                            chunk.truncate(self.head_left as usize);
                            // dropping the first response closes its connection
                            self.head = None;
                        }
                        self.head_left -= chunk.len() as u64;
                        if !chunk.is_empty() {
                            return Some(Ok(chunk));
                        }
                    }
                    Some(Err(e)) => return self.fail(e),
                    None if self.head_left > 0 => {
                        let (want, left) = (self.part_size.min(self.target.size), self.head_left);
                        let e = self.target.integrity(
                            "length",
                            want.to_string(),
                            (want - left).to_string(),
                        );
                        return self.fail(e);
                    }
                    None => self.head = None,
                }
                continue;
            }
            let mut part = self.pending.pop_front()?;
            if self.next_range < self.ranges {
                self.spawn_next();
            }
            match (&mut part.0).await {
                Ok(Ok(chunks)) => self.ready = chunks,
                Ok(Err(e)) => return self.fail(e),
                Err(e) => return self.fail(Error::io(None, std::io::Error::other(e))),
            }
        }
    }
}

/// GETs bytes `start..end` of the target, only if it still has the first response's ETag.
/// A connection lost while the body streams fetches the range again, up to
/// [`RetryConfig::max_retries`](crate::RetryConfig::max_retries) times (failures before the
/// response are retried by the transport as for any idempotent request).
async fn fetch_range(
    client: &S3Client,
    t: &Target,
    start: u64,
    end: u64,
) -> Result<VecDeque<Bytes>> {
    let url = client.url(&t.bucket, Some(&t.key), &[])?;
    let range = format!("bytes={start}-{}", end - 1);
    let mut headers = HeaderMap::new();
    let value = |v: &str| HeaderValue::from_str(v).map_err(|e| Error::Config(e.to_string()));
    headers.insert(http::header::RANGE, value(&range)?);
    headers.insert(http::header::IF_MATCH, if_match(&t.etag)?);
    let want = format!("bytes {start}-{}/{}", end - 1, t.size);
    let mut body_failures = 0;
    loop {
        let resp = client.send_streaming_get(&url, headers.clone()).await?;
        let got = resp
            .headers
            .get(http::header::CONTENT_RANGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        if resp.status.as_u16() != 206 || got != want {
            let got = format!("{} {got}", resp.status.as_u16());
            return Err(t.integrity("range", format!("206 {want}"), got));
        }
        match read_range(t, resp, end - start).await {
            Err(e @ Error::Transport { .. })
                if body_failures < client.inner.transport.config().retry.max_retries =>
            {
                body_failures += 1;
                tracing::debug!(error = %e, start, body_failures, "range interrupted; fetching it again");
            }
            other => return other,
        }
    }
}

/// The body of one ranged response, exactly `len` bytes. The chunks are kept as received (a
/// copy into one buffer cost more CPU and, with large allocations cycling through the
/// allocator's per-thread arenas, more peak memory).
async fn read_range(
    t: &Target,
    resp: crate::transport::Response,
    len: u64,
) -> Result<VecDeque<Bytes>> {
    let mut body = resp.into_stream();
    let mut chunks = VecDeque::new();
    let mut received = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        received += chunk.len() as u64;
        if received > len {
            break;
        }
        chunks.push_back(chunk);
    }
    if received != len {
        return Err(t.integrity("length", len.to_string(), received.to_string()));
    }
    Ok(chunks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Credentials;
    use crate::s3::GetOptions;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// 95 bytes: six 16-byte ranges, the last one ragged.
    const OBJECT: &[u8] =
        b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-the-end-of-a-small-object-here!!";

    /// How the fake server answers ranged GETs.
    #[derive(Clone, Copy)]
    enum Ranges {
        Honest,
        /// Ignores `Range` and sends the whole object with 200, as some proxies do.
        Ignored,
        /// Announces the range but sends fewer bytes.
        Short,
        /// Cuts the connection halfway through the body of each range's first request.
        CutOnce,
        /// Cuts the connection halfway through every ranged body.
        CutAlways,
    }

    /// A loopback HTTP/1.1 server that serves `OBJECT` (one request per connection).
    async fn serve(mode: Ranges) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut req = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => req.extend_from_slice(&buf[..n]),
                        }
                    }
                    let req = String::from_utf8_lossy(&req).to_lowercase();
                    let range = req.lines().find_map(|l| l.strip_prefix("range: bytes="));
                    let cut = range.is_some()
                        && match mode {
                            Ranges::CutAlways => true,
                            Ranges::CutOnce => {
                                seen.lock().unwrap().insert(range.map(str::to_owned))
                            }
                            _ => false,
                        };
                    let (status, extra, body): (&str, String, &[u8]) = match (range, mode) {
                        (
                            Some(r),
                            Ranges::Honest | Ranges::Short | Ranges::CutOnce | Ranges::CutAlways,
                        ) => {
                            let (a, b) = r.trim().split_once('-').unwrap();
                            let (a, b): (usize, usize) = (a.parse().unwrap(), b.parse().unwrap());
                            let cr = format!("content-range: bytes {a}-{b}/{}\r\n", OBJECT.len());
                            let end = if matches!(mode, Ranges::Short) {
                                b
                            } else {
                                b + 1
                            };
                            ("206 Partial Content", cr, &OBJECT[a..end])
                        }
                        _ => ("200 OK", String::new(), OBJECT),
                    };
                    let head = format!(
                        "HTTP/1.1 {status}\r\netag: \"v1\"\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = sock.write_all(head.as_bytes()).await;
                    let body = if cut { &body[..body.len() / 2] } else { body };
                    let _ = sock.write_all(body).await;
                });
            }
        });
        port
    }

    async fn download(mode: Ranges) -> Result<Vec<u8>> {
        let port = serve(mode).await;
        let dl = DownloadConfig {
            threshold: 32,
            part_size: 16,
            concurrency: 3,
        };
        let client = S3Client::builder()
            .with_endpoint(format!("http://127.0.0.1:{port}"))
            .with_credentials(Credentials::new("GK1", "secret".to_owned().into()))
            .with_download(dl)
            .build()?;
        let mut get = client.get_object("b", "k", GetOptions::default()).await?;
        let mut out = Vec::new();
        while let Some(chunk) = get.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn ranges_are_delivered_in_order() {
        assert_eq!(download(Ranges::Honest).await.unwrap(), OBJECT);
    }

    #[tokio::test]
    async fn a_server_ignoring_range_is_an_integrity_error() {
        let err = download(Ranges::Ignored).await.unwrap_err();
        assert!(
            matches!(&err, Error::Integrity { what: "range", .. }),
            "{err:?}"
        );
        let want = format!("206 bytes 16-31/{}", OBJECT.len());
        assert!(err.to_string().contains(&want), "{err}");
    }

    #[tokio::test]
    async fn a_short_range_is_an_integrity_error() {
        let err = download(Ranges::Short).await.unwrap_err();
        assert!(
            matches!(&err, Error::Integrity { what: "length", .. }),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn an_interrupted_range_is_fetched_again() {
        assert_eq!(download(Ranges::CutOnce).await.unwrap(), OBJECT);
    }

    #[tokio::test]
    async fn a_range_that_keeps_failing_ends_in_a_transport_error() {
        let err = download(Ranges::CutAlways).await.unwrap_err();
        assert!(matches!(&err, Error::Transport { .. }), "{err:?}");
    }
}
