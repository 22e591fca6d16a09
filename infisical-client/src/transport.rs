//! The only module that touches reqwest: sends an [`ApiRequest`], maps the answer, retries
//! within bounds.

use backon::{ExponentialBuilder, Retryable};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;
use tracing::Instrument;
use url::Url;

use crate::api::{self, ApiRequest, Method};
use crate::builder::HttpOptions;
use crate::error::{Error, Result};

const USER_AGENT: &str = concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION"));

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
        let max_retry_wait = self.opts.max_retry_wait;
        let max_total = self.opts.max_total_wait;
        let mut waited = Duration::ZERO;
        let backoff = ExponentialBuilder::default()
            .with_jitter()
            .with_min_delay(self.opts.min_backoff)
            .with_max_delay(Duration::from_secs(10))
            .with_max_times(self.opts.max_retries);
        let idempotent = req.idempotent;
        (|| self.once(req, token, &endpoint))
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|e: &Error| match e {
                // The server refused before doing anything: always safe to resend.
                Error::RateLimited { .. } => true,
                other => idempotent && other.is_retryable(),
            })
            .adjust(|e: &Error, next: Option<Duration>| {
                // `next` is None once the retry count is used up: stop, whatever the server says.
                let next = next?;
                let wait = match e {
                    Error::RateLimited {
                        retry_after: Some(ra),
                        ..
                    } => {
                        if *ra > max_retry_wait {
                            return None;
                        }
                        // Retry-After is whole seconds; a little slack avoids arriving early.
                        *ra + Duration::from_millis(50)
                    }
                    _ => next,
                };
                if waited + wait > max_total {
                    return None;
                }
                waited += wait;
                Some(wait)
            })
            .notify(|e: &Error, wait: Duration| {
                tracing::warn!(error = %e, ?wait, "retrying Infisical request");
            })
            .instrument(span)
            .await
    }

    async fn once(
        &self,
        req: &ApiRequest,
        token: Option<&SecretString>,
        endpoint: &str,
    ) -> Result<Vec<u8>> {
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
                Error::config("access token contains characters not allowed in a header")
            })?;
            value.set_sensitive(true);
            builder = builder.header(reqwest::header::AUTHORIZATION, value);
        }
        if let Some(body) = &req.body {
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.expose_secret().to_owned());
        }
        let http_err = |source: reqwest::Error| Error::Http {
            endpoint: endpoint.to_owned(),
            source: source.without_url(),
        };
        let resp = builder.send().await.map_err(http_err)?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = resp.bytes().await.map_err(http_err)?;
        tracing::debug!(status, bytes = body.len(), "Infisical answered");
        if (200..300).contains(&status) {
            return Ok(body.to_vec());
        }
        if status == 429 {
            return Err(Error::RateLimited {
                endpoint: endpoint.to_owned(),
                retry_after,
            });
        }
        Err(api::api_error(endpoint.to_owned(), status, &body))
    }
}
