//! The only module that touches reqwest: sends prepared requests with timeouts and bounded
//! retries of idempotent requests (honouring `Retry-After`).

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt};
use http::{HeaderMap, Method, StatusCode};
use tracing::Instrument;
use url::Url;

use crate::config::HttpConfig;
use crate::error::{Error, Result};

/// A request body.
pub(crate) enum Body {
    /// No body.
    Empty,
    /// In memory; can be replayed, so the request can be retried.
    Bytes(Bytes),
}

/// A fully prepared (signed) request.
pub(crate) struct Request {
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Body,
    /// Whole-request timeout (None for streaming transfers, which rely on the read timeout).
    pub timeout: Option<Duration>,
}

/// A response whose body has not been read yet.
pub(crate) struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    method: Method,
    url: String,
    inner: reqwest::Response,
}

impl Response {
    /// HTTP method of the request.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// Path of the request URL.
    pub fn path(&self) -> String {
        self.inner.url().path().to_owned()
    }

    /// Reads the whole body.
    pub async fn bytes(self) -> Result<Bytes> {
        let (method, url) = (self.method, self.url);
        self.inner.bytes().await.map_err(|source| Error::Transport {
            method: method.to_string(),
            url,
            source,
        })
    }

    /// The body as a stream of chunks.
    pub fn into_stream(self) -> BoxStream<'static, Result<Bytes>> {
        let (method, url) = (self.method.to_string(), self.url);
        self.inner
            .bytes_stream()
            .map(move |r| {
                r.map_err(|source| Error::Transport {
                    method: method.clone(),
                    url: url.clone(),
                    source,
                })
            })
            .boxed()
    }
}

/// Shared HTTP client.
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    http: reqwest::Client,
    cfg: HttpConfig,
}

impl Transport {
    pub fn new(cfg: &HttpConfig) -> Result<Self> {
        let http = reqwest::Client::builder()
            .user_agent(concat!(
                env!("CARGO_PKG_NAME"),
                "/",
                env!("CARGO_PKG_VERSION")
            ))
            .connect_timeout(cfg.connect_timeout)
            .read_timeout(cfg.read_timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| Error::Config(format!("cannot build HTTP client: {e}")))?;
        Ok(Transport {
            http,
            cfg: cfg.clone(),
        })
    }

    pub fn config(&self) -> &HttpConfig {
        &self.cfg
    }

    /// Sends the request built by `build` (called again for each attempt, so it can re-sign).
    ///
    /// Retries when `idempotent` and the body is replayable: on transport errors and on 429/5xx,
    /// with exponential backoff or the server's `Retry-After`, at most `max_retries` times and
    /// within `retry_timeout` ([`crate::RetryConfig`]). Any HTTP status is returned as a [`Response`].
    pub async fn send(
        &self,
        idempotent: bool,
        mut build: impl FnMut() -> Result<Request>,
    ) -> Result<Response> {
        let started = Instant::now();
        let retry = &self.cfg.retry;
        let mut retries = 0;
        loop {
            let req = build()?;
            let (method, url) = (req.method.clone(), redact(&req.url));
            let span = tracing::debug_span!("http", %method, url = %url);
            let result = self.send_once(req).instrument(span).await;
            let retry_after = match &result {
                Ok(resp) if is_retryable_status(resp.status) => Some(retry_after(&resp.headers)),
                Ok(_) => None,
                Err(Error::Transport { source, .. })
                    if source.is_connect() || source.is_timeout() || source.is_request() =>
                {
                    Some(None)
                }
                Err(_) => None,
            };
            let Some(server_delay) = retry_after else {
                return result;
            };
            if !idempotent {
                return result;
            }
            if retries >= retry.max_retries {
                return result;
            }
            let delay = server_delay
                .unwrap_or_else(|| retry.delay(retries))
                .min(Duration::from_secs(30));
            retries += 1;
            if started.elapsed() + delay > retry.retry_timeout {
                return result;
            }
            tracing::debug!(?delay, "retrying");
            tokio::time::sleep(delay).await;
        }
    }

    async fn send_once(&self, req: Request) -> Result<Response> {
        let url_text = redact(&req.url);
        let method = req.method.clone();
        let mut builder = self.http.request(req.method, req.url).headers(req.headers);
        if let Some(t) = req.timeout {
            builder = builder.timeout(t);
        }
        builder = match req.body {
            Body::Empty => builder,
            Body::Bytes(b) => builder.body(b),
        };
        let inner = builder.send().await.map_err(|source| Error::Transport {
            method: method.to_string(),
            url: url_text.clone(),
            source,
        })?;
        Ok(Response {
            status: inner.status(),
            headers: inner.headers().clone(),
            method,
            url: url_text,
            inner,
        })
    }
}

fn is_retryable_status(s: StatusCode) -> bool {
    matches!(s.as_u16(), 429 | 500 | 502 | 503 | 504)
}

/// `Retry-After` in seconds (the HTTP-date form is not used by Garage; ignored).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// URL without query string or credentials, for errors and logs.
pub(crate) fn redact(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    let _ = u.set_password(None);
    let _ = u.set_username("");
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(http::header::RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            http::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn redact_drops_query_and_userinfo() {
        let u = Url::parse("http://user:pw@127.0.0.1:3900/b/k?X-Amz-Signature=abc").unwrap();
        assert_eq!(redact(&u), "http://127.0.0.1:3900/b/k");
    }
}
