//! The only module that talks HTTP (reqwest): auth headers, ticket renewal, retries, errors.

use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, COOKIE, HeaderValue, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;
use tracing::Instrument;
use url::Url;

use crate::auth::{Credentials, encode_component};
use crate::error::{Error, Result};
use crate::retry::RetryConfig;

const LOGIN_ENDPOINT: &str = "POST /access/ticket";

/// A valid ticket and its CSRF token.
struct Ticket {
    ticket: SecretString,
    csrf: SecretString,
    obtained: Instant,
}

#[derive(Deserialize)]
struct TicketAnswer {
    ticket: SecretString,
    #[serde(rename = "CSRFPreventionToken")]
    csrf: SecretString,
}

pub(crate) struct Transport {
    pub(crate) http: reqwest::Client,
    pub(crate) base: Url,
    pub(crate) credentials: Credentials,
    pub(crate) ticket_renew_after: Duration,
    pub(crate) retry: RetryConfig,
    ticket: Mutex<Option<Ticket>>,
}

impl Transport {
    pub(crate) fn new(
        http: reqwest::Client,
        base: Url,
        credentials: Credentials,
        ticket_renew_after: Duration,
        retry: RetryConfig,
    ) -> Self {
        Transport {
            http,
            base,
            credentials,
            ticket_renew_after,
            retry,
            ticket: Mutex::new(None),
        }
    }

    /// Sends a request and returns the body of a 2xx answer. GETs are retried on transport
    /// errors, 429 and 502-504 (honouring `Retry-After`); writes are sent once.
    pub(crate) async fn request(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
    ) -> Result<Vec<u8>> {
        self.request_limited(method, path, query, body, usize::MAX)
            .await
    }

    /// [`Self::request`] reading at most `limit` bytes of a successful answer
    /// ([`Error::TooLarge`] beyond).
    pub(crate) async fn request_limited(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
        limit: usize,
    ) -> Result<Vec<u8>> {
        let endpoint = format!("{method} /{path}");
        let span = tracing::debug_span!("pbs_request", method = %method, path = %path);
        let once = || self.request_authenticated(&method, path, query, body, &endpoint, limit);
        if method == Method::GET && self.retry.max_retries > 0 {
            let retry = &self.retry;
            let started = Instant::now();
            once.retry(
                ExponentialBuilder::default()
                    .with_min_delay(retry.backoff.init_backoff)
                    .with_max_delay(retry.backoff.max_backoff)
                    .with_factor(retry.backoff.base as f32)
                    .with_max_times(retry.max_retries),
            )
            .sleep(tokio::time::sleep)
            .when(Error::is_retryable)
            // Full jitter on the backoff, `Retry-After` honoured, nothing after the budget.
            .adjust(move |e, d| retry.next_delay(started, d, e.retry_after()))
            .notify(|e, d| tracing::debug!(error = %e, delay = ?d, "retrying"))
            .instrument(span)
            .await
        } else {
            once().instrument(span).await
        }
    }

    async fn request_authenticated(
        &self,
        method: &Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
        endpoint: &str,
        limit: usize,
    ) -> Result<Vec<u8>> {
        match self.send(method, path, query, body, endpoint, limit).await {
            // An expired or revoked ticket: log in again with the password, once.
            // (Not when the login itself failed: the password is wrong, retrying cannot help.)
            Err(Error::Auth {
                endpoint: failed, ..
            }) if failed != LOGIN_ENDPOINT
                && matches!(self.credentials, Credentials::Password { .. }) =>
            {
                tracing::debug!("ticket rejected, logging in again");
                *self.ticket.lock().await = None;
                self.send(method, path, query, body, endpoint, limit).await
            }
            other => other,
        }
    }

    fn url(&self, path: &str, query: &[(&str, String)]) -> Result<Url> {
        let mut url = self
            .base
            .join(path)
            .map_err(|e| Error::config(format!("bad path {path:?}: {e}")))?;
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        Ok(url)
    }

    async fn send(
        &self,
        method: &Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
        endpoint: &str,
        limit: usize,
    ) -> Result<Vec<u8>> {
        let mut req = self.http.request(method.clone(), self.url(path, query)?);
        if let Some(header) = self.credentials.token_header() {
            req = req.header(AUTHORIZATION, secret_header(&header)?);
        } else {
            let (cookie, csrf) = self.ticket_headers().await?;
            req = req.header(COOKIE, cookie);
            if method != Method::GET {
                req = req.header("CSRFPreventionToken", csrf);
            }
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await.map_err(|e| transport_error(endpoint, e))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = if status.is_success() && limit < usize::MAX {
            let mut resp = resp;
            let mut buf = Vec::new();
            while let Some(chunk) = resp
                .chunk()
                .await
                .map_err(|e| transport_error(endpoint, e))?
            {
                if buf.len() + chunk.len() > limit {
                    return Err(Error::TooLarge {
                        endpoint: endpoint.to_owned(),
                        limit,
                    });
                }
                buf.extend_from_slice(&chunk);
            }
            buf
        } else {
            resp.bytes()
                .await
                .map_err(|e| transport_error(endpoint, e))?
                .to_vec()
        };
        tracing::debug!(status = status.as_u16(), len = bytes.len(), "answer");
        if status.is_success() {
            Ok(bytes)
        } else {
            Err(Error::from_response(
                endpoint,
                status.as_u16(),
                &bytes,
                retry_after,
            ))
        }
    }

    /// The cookie and CSRF header values, logging in or renewing the ticket when needed.
    async fn ticket_headers(&self) -> Result<(HeaderValue, HeaderValue)> {
        let Credentials::Password { username, password } = &self.credentials else {
            return Err(Error::config("ticket requested for token credentials"));
        };
        let mut guard = self.ticket.lock().await;
        let fresh = match guard.as_ref() {
            Some(t) if t.obtained.elapsed() < self.ticket_renew_after => None,
            Some(t) => {
                // Renew by presenting the current ticket as the password (PBS's renewal).
                match self.login(username, &t.ticket).await {
                    Ok(t) => Some(t),
                    Err(e) => {
                        tracing::debug!(error = %e, "ticket renewal failed, using the password");
                        Some(self.login(username, password).await?)
                    }
                }
            }
            None => Some(self.login(username, password).await?),
        };
        if let Some(t) = fresh {
            *guard = Some(t);
        }
        let t = guard
            .as_ref()
            .ok_or_else(|| Error::config("no ticket after login"))?;
        let cookie = SecretString::from(format!(
            "PBSAuthCookie={}",
            encode_component(t.ticket.expose_secret())
        ));
        Ok((secret_header(&cookie)?, secret_header(&t.csrf)?))
    }

    async fn login(&self, username: &str, password: &SecretString) -> Result<Ticket> {
        let endpoint = LOGIN_ENDPOINT;
        let body = serde_json::json!({
            "username": username,
            "password": password.expose_secret(),
        });
        let resp = self
            .http
            .post(self.url("access/ticket", &[])?)
            .json(&body)
            .send()
            .instrument(tracing::debug_span!("pbs_login", user = %username))
            .await
            .map_err(|e| transport_error(endpoint, e))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| transport_error(endpoint, e))?;
        if !status.is_success() {
            return Err(Error::from_response(
                endpoint,
                status.as_u16(),
                &bytes,
                None,
            ));
        }
        let answer: TicketAnswer = crate::types::decode_data(endpoint, &bytes)?;
        if answer.csrf.expose_secret() == "invalid" {
            return Err(Error::Auth {
                endpoint: endpoint.to_owned(),
                status: status.as_u16(),
                message: "second factor (TFA) required; use an API token instead".to_owned(),
            });
        }
        Ok(Ticket {
            ticket: answer.ticket,
            csrf: answer.csrf,
            obtained: Instant::now(),
        })
    }
}

fn secret_header(value: &SecretString) -> Result<HeaderValue> {
    let mut v = HeaderValue::from_str(value.expose_secret())
        .map_err(|_| Error::config("credential contains characters not allowed in a header"))?;
    v.set_sensitive(true);
    Ok(v)
}

fn transport_error(endpoint: &str, e: reqwest::Error) -> Error {
    if let Some(message) = crate::tls::tls_failure(&e) {
        return Error::Tls {
            endpoint: endpoint.to_owned(),
            message,
        };
    }
    Error::Transport {
        endpoint: endpoint.to_owned(),
        source: e.without_url(),
    }
}
