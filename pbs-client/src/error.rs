//! The crate's error type.

use std::time::Duration;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to a Proxmox Backup Server.
///
/// Server messages are PBS's plain-text error bodies (PBS answers errors as text under a JSON
/// content type). Secrets never appear in any variant.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client configuration is invalid (bad URL, repository string, missing secret, …).
    #[error("invalid configuration: {message}")]
    Config {
        /// What is wrong.
        message: String,
    },
    /// A fingerprint string is not 32 colon-separated hex bytes.
    #[error("invalid certificate fingerprint: {message}")]
    InvalidFingerprint {
        /// What is wrong.
        message: String,
    },
    /// A UPID string does not follow PBS's `UPID:node:pid:pstart:task:start:type:id:auth:` format.
    #[error("invalid UPID {upid:?}: {message}")]
    InvalidUpid {
        /// The rejected input (truncated to 200 characters).
        upid: String,
        /// What is wrong.
        message: String,
    },
    /// The TLS handshake was refused: pinned fingerprint mismatch, untrusted certificate, …
    #[error("TLS connection to {endpoint} refused: {message}")]
    Tls {
        /// The request path.
        endpoint: String,
        /// The reason reported by the certificate verifier.
        message: String,
    },
    /// Authentication failed (HTTP 401: bad token, wrong password, expired ticket).
    #[error("authentication failed on {endpoint} (HTTP {status}): {message}")]
    Auth {
        /// The request path.
        endpoint: String,
        /// HTTP status (401).
        status: u16,
        /// The server's message.
        message: String,
    },
    /// The authenticated identity lacks a privilege (HTTP 403).
    #[error("permission denied on {endpoint} (HTTP {status}): {message}")]
    PermissionDenied {
        /// The request path.
        endpoint: String,
        /// HTTP status (403).
        status: u16,
        /// The server's message.
        message: String,
    },
    /// The path or object does not exist (HTTP 404, or PBS's 400 "does not exist" messages).
    #[error("not found on {endpoint} (HTTP {status}): {message}")]
    NotFound {
        /// The request path.
        endpoint: String,
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// Any other error answer from the server (400 parameter errors, 409, 5xx, …).
    #[error("server error on {endpoint} (HTTP {status}): {message}")]
    Api {
        /// The request path.
        endpoint: String,
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
        /// `Retry-After` sent by the server, if any.
        retry_after: Option<Duration>,
    },
    /// A successful answer whose body is not the expected JSON shape.
    #[error("cannot decode the answer of {endpoint}: {message}")]
    Decode {
        /// The request path.
        endpoint: String,
        /// JSON path and serde message.
        message: String,
    },
    /// A successful answer longer than the caller allowed; the rest was not read.
    #[error("the answer of {endpoint} is larger than {limit} bytes")]
    TooLarge {
        /// The request path.
        endpoint: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// Network failure: connect, reset, timeout.
    #[error("request to {endpoint} failed")]
    Transport {
        /// The request path.
        endpoint: String,
        /// The underlying HTTP client error.
        #[source]
        source: reqwest::Error,
    },
    /// A task ended with an error state.
    #[error("task {upid} failed: {exit_status}")]
    TaskFailed {
        /// The task's UPID.
        upid: String,
        /// PBS's exit status string (the error message).
        exit_status: String,
    },
    /// A task stopped without a known result. PBS answers a task status with `stopped` and
    /// `exitstatus: "unknown"` when it has no result for the UPID: a task it never ran (a
    /// mistyped or foreign UPID), or one whose log was lost (e.g. the server restarted).
    #[error(
        "task {upid} stopped in an unknown state (PBS has no result for it: unknown UPID or lost task log)"
    )]
    TaskUnknown {
        /// The task's UPID.
        upid: String,
    },
    /// Waiting for a task exceeded the caller's deadline.
    #[error("task {upid} still running after {waited:?}")]
    TaskTimeout {
        /// The task's UPID.
        upid: String,
        /// How long we waited.
        waited: Duration,
    },
}

impl Error {
    /// HTTP status of a server answer, if this error came from one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Auth { status, .. }
            | Error::PermissionDenied { status, .. }
            | Error::NotFound { status, .. }
            | Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True for a missing object or path (HTTP 404, or PBS's 400 "does not exist" answers).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }

    /// True when the server rejected the credentials: HTTP 401 (bad token, wrong password,
    /// expired ticket) or a login that needs a second factor.
    pub fn is_unauthenticated(&self) -> bool {
        matches!(self, Error::Auth { .. })
    }

    /// True when the identity is authenticated but lacks a privilege (HTTP 403).
    pub fn is_permission_denied(&self) -> bool {
        matches!(self, Error::PermissionDenied { .. })
    }

    /// True when repeating an idempotent request may succeed (connect errors and timeouts,
    /// HTTP 429 and 502-504).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport { source, .. } => source.is_connect() || source.is_timeout(),
            Error::Api { status, .. } => matches!(status, 429 | 502 | 503 | 504),
            _ => false,
        }
    }

    /// True when the TLS handshake was refused (pin mismatch, untrusted certificate).
    pub fn is_tls(&self) -> bool {
        matches!(self, Error::Tls { .. })
    }

    /// True for a response that could not be decoded.
    pub fn is_decode(&self) -> bool {
        matches!(self, Error::Decode { .. })
    }

    /// `Retry-After` sent with the error, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::Config {
            message: message.into(),
        }
    }

    /// Maps an HTTP error status and PBS's plain-text body to a typed error.
    pub fn from_response(
        endpoint: &str,
        status: u16,
        body: &[u8],
        retry_after: Option<Duration>,
    ) -> Self {
        let message = error_message(body);
        let endpoint = endpoint.to_owned();
        let lower = message.to_ascii_lowercase();
        match status {
            401 => Error::Auth {
                endpoint,
                status,
                message,
            },
            403 => Error::PermissionDenied {
                endpoint,
                status,
                message,
            },
            404 => Error::NotFound {
                endpoint,
                status,
                message,
            },
            // PBS answers plain `bail!` errors with 400, e.g. "datastore 'x' does not exist"
            // or "no such task".
            400 if lower.contains("does not exist")
                || lower.contains("no such")
                || lower.contains("not found") =>
            {
                Error::NotFound {
                    endpoint,
                    status,
                    message,
                }
            }
            _ => Error::Api {
                endpoint,
                status,
                message,
                retry_after,
            },
        }
    }
}

/// PBS error bodies are plain text; be lenient with extjs-style JSON and with binary garbage.
fn error_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.starts_with('{')
        && let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(text)
    {
        for key in ["message", "errors", "data"] {
            if let Some(v) = map.get(key)
                && !v.is_null()
            {
                return match v {
                    serde_json::Value::String(s) => s.trim().to_owned(),
                    other => other.to_string(),
                };
            }
        }
    }
    let mut msg: String = text.chars().take(1000).collect();
    if text.chars().count() > 1000 {
        msg.push('…');
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_mapping() {
        assert!(
            Error::from_response("/x", 401, b"authentication failed - invalid ticket", None)
                .is_unauthenticated()
        );
        assert!(
            Error::from_response("/x", 403, b"permission check failed", None)
                .is_permission_denied()
        );
        assert!(Error::from_response("/x", 404, b"Path '/x' not found.", None).is_not_found());
        assert!(
            Error::from_response("/x", 400, b"datastore 'nope' does not exist", None)
                .is_not_found()
        );
        let e = Error::from_response("/x", 400, b"parameter verification errors", None);
        assert_eq!(e.status(), Some(400));
        assert!(!e.is_not_found());
        let e = Error::from_response("/x", 503, b"busy", Some(Duration::from_secs(2)));
        assert!(e.is_retryable());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
        assert!(e.to_string().contains("busy"), "{e}");
    }

    fn api(status: u16) -> Error {
        Error::from_response("/x", status, b"message", None)
    }

    fn transport(kind: &str) -> Error {
        // A reqwest error without any network: a builder error (bad URL) is neither a
        // connect error nor a timeout.
        let source = reqwest::Client::new().get("not a url").build().unwrap_err();
        assert!(!source.is_connect() && !source.is_timeout(), "{kind}");
        Error::Transport {
            endpoint: "GET /x".to_owned(),
            source,
        }
    }

    fn non_http() -> Vec<Error> {
        vec![
            Error::config("bad"),
            Error::Decode {
                endpoint: "/x".into(),
                message: "m".into(),
            },
            Error::Tls {
                endpoint: "/x".into(),
                message: "m".into(),
            },
            Error::TaskUnknown { upid: "u".into() },
            transport("builder"),
        ]
    }

    #[test]
    fn status_is_the_answer_status_only() {
        for s in [400, 401, 403, 404, 409, 500, 503] {
            assert_eq!(api(s).status(), Some(s), "{s}");
        }
        for e in non_http() {
            assert_eq!(e.status(), None, "{e:?}");
        }
    }

    #[test]
    fn is_not_found_predicate() {
        assert!(api(404).is_not_found());
        assert!(Error::from_response("/x", 400, b"no such task", None).is_not_found());
        for s in [400, 401, 403, 500] {
            assert!(!api(s).is_not_found(), "{s}");
        }
        assert!(non_http().iter().all(|e| !e.is_not_found()));
    }

    #[test]
    fn is_unauthenticated_predicate() {
        assert!(api(401).is_unauthenticated());
        for s in [400, 403, 404, 500] {
            assert!(!api(s).is_unauthenticated(), "{s}");
        }
        assert!(non_http().iter().all(|e| !e.is_unauthenticated()));
    }

    #[test]
    fn is_permission_denied_predicate() {
        assert!(api(403).is_permission_denied());
        for s in [400, 401, 404, 500] {
            assert!(!api(s).is_permission_denied(), "{s}");
        }
        assert!(non_http().iter().all(|e| !e.is_permission_denied()));
    }

    #[test]
    fn is_retryable_predicate() {
        for s in [429, 502, 503, 504] {
            assert!(api(s).is_retryable(), "{s}");
        }
        for s in [400, 401, 403, 404, 409, 500, 501] {
            assert!(!api(s).is_retryable(), "{s}");
        }
        // Only connect errors and timeouts of the transport are worth repeating.
        assert!(non_http().iter().all(|e| !e.is_retryable()));
    }

    #[test]
    fn extjs_json_body_message() {
        let e = Error::from_response(
            "/x",
            400,
            br#"{"success":false,"message":"parameter verification errors","errors":{}}"#,
            None,
        );
        assert!(
            e.to_string().contains("parameter verification errors"),
            "{e}"
        );
    }
}
