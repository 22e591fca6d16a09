//! The only module that touches reqwest: sends an [`ApiRequest`], maps the answer, retries
//! within bounds.

use backon::Retryable;
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;
use tracing::Instrument;
use url::Url;

use crate::api::{self, ApiRequest, Method};
use crate::error::{Error, Result};
use crate::retry::{Delays, RetryConfig};

const USER_AGENT: &str = concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION"));

/// HTTP settings (timeouts, retries).
#[derive(Debug, Clone)]
pub(crate) struct HttpOptions {
    pub(crate) connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) retry: RetryConfig,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            retry: RetryConfig::default(),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Transport {
    http: reqwest::Client,
    base: Url,
    opts: HttpOptions,
}

impl Transport {
    pub(crate) fn new(base: Url, opts: HttpOptions) -> Result<Self> {
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(opts.connect_timeout)
            .timeout(opts.request_timeout)
            // Never follow a redirect: a 307/308 would re-send a login body (client secret,
            // service-account JWT) or the bearer token to wherever the Location points.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::config(format!("cannot build HTTP client: {e}")))?;
        Ok(Self { http, base, opts })
    }

    pub(crate) fn base(&self) -> &Url {
        &self.base
    }

    fn url(&self, req: &ApiRequest) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segs) = url.path_segments_mut() {
            segs.pop_if_empty();
            segs.extend(req.segments.iter());
        }
        if !req.query.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in &req.query {
                q.append_pair(k, v);
            }
        }
        url
    }

    /// Sends `req` with bounded retries and returns the success body.
    pub(crate) async fn execute(
        &self,
        req: &ApiRequest,
        token: Option<&SecretString>,
    ) -> Result<Vec<u8>> {
        let endpoint = req.endpoint();
        let span = tracing::debug_span!("infisical.request", endpoint = %endpoint);
        let retry = &self.opts.retry;
        let max_wait = retry.backoff.max_backoff;
        let retry_timeout = retry.retry_timeout;
        let started = tokio::time::Instant::now();
        let idempotent = req.idempotent;
        (|| self.once(req, token, &endpoint))
            .retry(Delays::new(retry))
            .sleep(tokio::time::sleep)
            .when(|f: &Failure| match &f.error {
                // The server refused before doing anything: always safe to resend.
                Error::RateLimited { .. } => true,
                other => idempotent && other.is_retryable(),
            })
            .adjust(|f: &Failure, next: Option<Duration>| {
                // `next` is None once the retry count is used up: stop, whatever the server says.
                let next = next?;
                let wait = match f.retry_after {
                    Some(ra) if ra > max_wait => return None,
                    // Retry-After is whole seconds; a little slack avoids arriving early.
                    Some(ra) => ra + Duration::from_millis(50),
                    None => next,
                };
                // No retry starts after the time budget.
                if started.elapsed() + wait > retry_timeout {
                    return None;
                }
                Some(wait)
            })
            .notify(|f: &Failure, wait: Duration| {
                tracing::warn!(error = %f.error, ?wait, "retrying Infisical request");
            })
            .instrument(span)
            .await
            .map_err(|f| f.error)
    }

    async fn once(
        &self,
        req: &ApiRequest,
        token: Option<&SecretString>,
        endpoint: &str,
    ) -> Result<Vec<u8>, Failure> {
        let url = self.url(req);
        let mut builder = match req.method {
            Method::Get => self.http.get(url),
            Method::Post => self.http.post(url),
        };
        builder = builder.header(reqwest::header::ACCEPT, "application/json");
        if let Some(token) = token {
            let mut value = reqwest::header::HeaderValue::from_str(&format!(
                "Bearer {}",
                token.expose_secret()
            ))
            .map_err(|_| {
                Failure::from(Error::config(
                    "access token contains characters not allowed in a header",
                ))
            })?;
            value.set_sensitive(true);
            builder = builder.header(reqwest::header::AUTHORIZATION, value);
        }
        if let Some(body) = &req.body {
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.expose_secret().to_owned());
        }
        let http_err = |source: reqwest::Error| {
            Failure::from(Error::Transport {
                endpoint: endpoint.to_owned(),
                source: source.without_url(),
            })
        };
        let resp = builder.send().await.map_err(http_err)?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = resp.bytes().await.map_err(http_err)?;
        tracing::debug!(status, bytes = body.len(), "Infisical answered");
        if (200..300).contains(&status) {
            return Ok(body.to_vec());
        }
        let error = if (300..400).contains(&status) {
            Error::Redirected {
                endpoint: endpoint.to_owned(),
                status,
            }
        } else if status == 429 {
            Error::RateLimited {
                endpoint: endpoint.to_owned(),
                retry_after,
            }
        } else {
            api::api_error(endpoint.to_owned(), status, &body)
        };
        Err(Failure { error, retry_after })
    }
}

/// A failed attempt, with the server's `Retry-After` (honoured for 429 and 503).
struct Failure {
    error: Error,
    retry_after: Option<Duration>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self {
            error,
            retry_after: None,
        }
    }
}

/// `Retry-After` in delta-seconds (what Infisical's rate limiter sends). HTTP-dates are not
/// interpreted; the client then uses its own backoff.
fn parse_retry_after(v: &str) -> Option<Duration> {
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_delta_seconds() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }

    #[test]
    fn urls_keep_prefixes_and_encode_segments() {
        let t = Transport::new(
            Url::parse("http://127.0.0.1:1/prefix/").unwrap(),
            HttpOptions::default(),
        )
        .unwrap();
        let mut req = api::get_secret_v4(
            &api::Scope {
                project_id: "p",
                environment: "prod",
                path: "/a b",
                recursive: false,
                include_imports: true,
                expand_references: true,
            },
            "K/../X?",
        );
        req.query.truncate(3);
        assert_eq!(
            t.url(&req).as_str(),
            "http://127.0.0.1:1/prefix/api/v4/secrets/K%2F..%2FX%3F?projectId=p&environment=prod&secretPath=%2Fa+b"
        );
    }
}
