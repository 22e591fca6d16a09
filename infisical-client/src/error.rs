//! The crate's one error type.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The `error` field of Infisical's JSON error body, typed.
///
/// Infisical answers errors with `{"reqId", "statusCode", "message", "error"}`; `error` names the
/// server-side error class. Names this crate does not know land in [`ApiErrorKind::Other`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// `TokenError` (403): the access token expired, is malformed or badly signed.
    TokenError,
    /// `UnauthorizedError` (401): missing, revoked or invalid credentials.
    Unauthorized,
    /// `PermissionDenied` (403, CASL), `ForbiddenError`, `PermissionBoundaryError`, or
    /// `ForbiddenReadSecretError` (a secret read by name whose value the identity may not read).
    PermissionDenied,
    /// `NotFound` (404).
    NotFound,
    /// `SecretPathNotFound` (404): the folder (or the environment) does not exist.
    SecretPathNotFound,
    /// `BadRequest` (400).
    BadRequest,
    /// `ValidationFailure` (422): the request failed the server's schema; `message` lists the issues.
    ValidationFailure,
    /// `RateLimitExceeded` (429).
    RateLimitExceeded,
    /// `InternalServerError`, `DatabaseError`, `GatewayTimeoutError` (5xx).
    ServerError,
    /// The route does not exist on this server (the web framework's own 404, e.g. an older
    /// self-hosted Infisical without the v4 endpoints).
    RouteNotFound,
    /// Any other name, kept verbatim.
    Other(String),
}

impl ApiErrorKind {
    /// Maps the server's `error` name (and status) to a kind.
    pub fn from_name(name: &str, status: u16) -> Self {
        match name {
            "TokenError" => Self::TokenError,
            "UnauthorizedError" => Self::Unauthorized,
            "PermissionDenied"
            | "ForbiddenError"
            | "PermissionBoundaryError"
            | "ForbiddenReadSecretError" => Self::PermissionDenied,
            "NotFound" => Self::NotFound,
            "SecretPathNotFound" => Self::SecretPathNotFound,
            "BadRequest" => Self::BadRequest,
            "ValidationFailure" => Self::ValidationFailure,
            "RateLimitExceeded" | "RateLimitError" => Self::RateLimitExceeded,
            "InternalServerError" | "DatabaseError" | "GatewayTimeoutError" => Self::ServerError,
            // Fastify's default answer for unknown routes: `{"error":"Not Found","message":"Route GET:/… not found"}`.
            "Not Found" if status == 404 => Self::RouteNotFound,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for ApiErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Self::TokenError => "TokenError",
            Self::Unauthorized => "UnauthorizedError",
            Self::PermissionDenied => "PermissionDenied",
            Self::NotFound => "NotFound",
            Self::SecretPathNotFound => "SecretPathNotFound",
            Self::BadRequest => "BadRequest",
            Self::ValidationFailure => "ValidationFailure",
            Self::RateLimitExceeded => "RateLimitExceeded",
            Self::ServerError => "ServerError",
            Self::RouteNotFound => "RouteNotFound",
            Self::Other(s) => s,
        };
        f.write_str(s)
    }
}

/// Everything that can go wrong talking to Infisical.
///
/// Secrets never appear in an error: not in `Display`, not in `Debug`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client was configured inconsistently (builder or environment variables).
    #[error("invalid configuration: {message}")]
    Config {
        /// What is wrong.
        message: String,
    },

    /// Infisical answered with an error status.
    #[error("{endpoint}: HTTP {status} {kind}: {message}")]
    Api {
        /// Method and path of the request (no query, no credentials).
        endpoint: String,
        /// HTTP status code.
        status: u16,
        /// The typed `error` name from the body.
        kind: ApiErrorKind,
        /// The server's message (zod issue arrays are flattened to JSON text).
        message: String,
        /// The server's request id, for its logs.
        req_id: Option<String>,
    },

    /// Still rate limited (HTTP 429) after the bounded number of waits, or asked to wait longer
    /// than the client's cap.
    #[error("{endpoint}: rate limited by Infisical (retry after {retry_after:?})")]
    RateLimited {
        /// Method and path of the request.
        endpoint: String,
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },

    /// The folder does not exist in that environment (404 `SecretPathNotFound`, or the
    /// environment itself does not exist), e.g. a mistyped path. Never reported as missing keys.
    ///
    /// Infisical servers from before this answer was introduced list a missing folder as an
    /// empty one; a bundle read from it then fails with [`Error::MissingKeys`].
    #[error("Infisical has no folder {path} in environment {environment}")]
    FolderNotFound {
        /// The environment slug that was read.
        environment: String,
        /// The folder that was read.
        path: String,
    },

    /// The identity may list the secret but not read its value (`secretValueHidden` /
    /// `<hidden-by-infisical>`); the values are never returned as if they were real.
    #[error("secret value hidden by Infisical (identity lacks read-value permission) at {path}: {}", keys.join(", "))]
    HiddenValue {
        /// The secret path that was read.
        path: String,
        /// The keys whose values were hidden.
        keys: Vec<String>,
    },

    /// A credential bundle lacks keys; all missing keys are named at once.
    #[error("{bundle} at {path} lacks {}", missing.join(", "))]
    MissingKeys {
        /// The bundle's name (e.g. `GarageCredentials`).
        bundle: String,
        /// The secret path that was read.
        path: String,
        /// Every missing key.
        missing: Vec<String>,
    },

    /// A bundle value is present but unusable (e.g. an endpoint that is not a URL).
    #[error("{bundle} at {path}: key {key} is invalid: {reason}")]
    InvalidValue {
        /// The bundle's name.
        bundle: String,
        /// The secret path that was read.
        path: String,
        /// The offending key (never its value).
        key: String,
        /// Why it is invalid.
        reason: String,
    },

    /// The Kubernetes service-account token file could not be read.
    #[error("cannot read service-account token {}", path.display())]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// Infisical (or something in front of it) answered with a redirect, which the client never
    /// follows: a 307/308 would re-send the login body with the client secret, or the bearer
    /// token, to wherever it points. Configure the final URL instead. The `Location` is not
    /// repeated here.
    #[error("{endpoint}: HTTP {status} redirect refused (set the base URL to the final address)")]
    Redirected {
        /// Method and path of the request.
        endpoint: String,
        /// The 3xx status.
        status: u16,
    },

    /// The request failed below HTTP (connect, TLS, timeout, body read).
    #[error("{endpoint}: request failed")]
    Transport {
        /// Method and path of the request.
        endpoint: String,
        /// The transport error (its URL has the query removed).
        #[source]
        source: reqwest::Error,
    },

    /// The response body did not have the documented shape.
    #[error("{endpoint}: unexpected response body")]
    Decode {
        /// Method and path of the request.
        endpoint: String,
        /// Where in the JSON document decoding failed.
        #[source]
        source: serde_path_to_error::Error<serde_json::Error>,
    },
}

impl Error {
    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::Config {
            message: message.into(),
        }
    }

    /// The HTTP status, for errors that carry one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            Self::RateLimited { .. } => Some(429),
            Self::Redirected { status, .. } => Some(*status),
            Self::Transport { source, .. } => source.status().map(|s| s.as_u16()),
            _ => None,
        }
    }

    /// The typed server error kind, for [`Error::Api`].
    pub fn api_kind(&self) -> Option<&ApiErrorKind> {
        match self {
            Self::Api { kind, .. } => Some(kind),
            _ => None,
        }
    }

    /// True when the secret, folder, project or route does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Self::Api { status: 404, .. } | Self::FolderNotFound { .. }
        )
    }

    /// True for Infisical's answers meaning "this folder does not exist": 404
    /// `SecretPathNotFound` from the list routes, and the 404 whose message starts with
    /// "Folder with path" from the single-secret routes (`error` names the service function
    /// there, e.g. `GetSecretByName`).
    pub(crate) fn is_folder_missing(&self) -> bool {
        match self {
            Self::Api {
                status: 404,
                kind,
                message,
                ..
            } => {
                *kind == ApiErrorKind::SecretPathNotFound || message.starts_with("Folder with path")
            }
            _ => false,
        }
    }

    /// True when an access token's use-count limit is exhausted. Current servers answer 401
    /// (covered by [`Error::is_unauthenticated`]); older ones answered 400 `BadRequest`
    /// "Unable to renew because access token number of uses limit reached".
    pub(crate) fn is_token_uses_exhausted(&self) -> bool {
        matches!(
            self,
            Self::Api { status: 400 | 401, message, .. }
                if message.contains("number of uses limit reached")
        )
    }

    /// True when the credentials or token were rejected (401, or 403 `TokenError`).
    pub fn is_unauthenticated(&self) -> bool {
        matches!(
            self,
            Self::Api { status: 401, .. }
                | Self::Api {
                    kind: ApiErrorKind::TokenError,
                    ..
                }
        )
    }

    /// True when the identity is authenticated but not allowed (403 other than `TokenError`).
    pub fn is_permission_denied(&self) -> bool {
        matches!(self, Self::Api { status: 403, kind, .. } if *kind != ApiErrorKind::TokenError)
    }

    /// True when the same request may succeed later (429, 5xx, connect and timeout errors).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Api { status, .. } => *status == 429 || matches!(status, 502..=504),
            Self::RateLimited { .. } => true,
            Self::Transport { source, .. } => source.is_connect() || source.is_timeout(),
            _ => false,
        }
    }

    /// True when a secret's value was hidden from this identity.
    pub fn is_hidden_value(&self) -> bool {
        matches!(self, Self::HiddenValue { .. })
    }

    /// The missing keys of a [`Error::MissingKeys`], else empty.
    pub fn missing_keys(&self) -> &[String] {
        match self {
            Self::MissingKeys { missing, .. } => missing,
            _ => &[],
        }
    }

    /// True when the route is missing on this server (an older Infisical without that API version).
    pub(crate) fn is_route_missing(&self) -> bool {
        matches!(
            self,
            Self::Api {
                status: 404 | 405,
                kind: ApiErrorKind::RouteNotFound,
                ..
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, name: &str) -> Error {
        Error::Api {
            endpoint: "GET /api/v4/secrets".into(),
            status,
            kind: ApiErrorKind::from_name(name, status),
            message: "m".into(),
            req_id: None,
        }
    }

    #[test]
    fn helpers_classify_statuses() {
        assert!(api(404, "NotFound").is_not_found());
        assert!(!api(404, "NotFound").is_route_missing());
        assert!(api(404, "Not Found").is_route_missing());
        assert!(api(403, "TokenError").is_unauthenticated());
        assert!(!api(403, "TokenError").is_permission_denied());
        assert!(api(403, "PermissionDenied").is_permission_denied());
        assert!(api(403, "ForbiddenReadSecretError").is_permission_denied());
        assert!(api(404, "SecretPathNotFound").is_folder_missing());
        assert!(!api(404, "NotFound").is_folder_missing());
        assert!(!api(400, "BadRequest").is_token_uses_exhausted());
        assert!(api(401, "UnauthorizedError").is_unauthenticated());
        assert!(api(429, "RateLimitExceeded").is_retryable());
        assert!(api(503, "x").is_retryable());
        assert!(!api(500, "InternalServerError").is_retryable());
        assert!(!api(400, "BadRequest").is_retryable());
        assert_eq!(api(422, "ValidationFailure").status(), Some(422));
        assert_eq!(
            api(418, "Teapot").api_kind(),
            Some(&ApiErrorKind::Other("Teapot".into()))
        );
    }

    fn decode_error() -> Error {
        #[derive(Debug, serde::Deserialize)]
        struct List {
            #[allow(dead_code)]
            secrets: Vec<String>,
        }
        let de = &mut serde_json::Deserializer::from_str(r#"{"secrets": 1}"#);
        let source = serde_path_to_error::deserialize::<_, List>(de).unwrap_err();
        Error::Decode {
            endpoint: "GET /api/v4/secrets".into(),
            source,
        }
    }

    fn builder_transport_error() -> Error {
        let source = reqwest::Client::new()
            .get("not a url")
            .build()
            .unwrap_err()
            .without_url();
        Error::Transport {
            endpoint: "GET /api/v4/secrets".into(),
            source,
        }
    }

    /// Every variant this crate can return, with a label.
    fn all_kinds() -> Vec<(&'static str, Error)> {
        vec![
            ("config", Error::config("bad")),
            ("api 400", api(400, "BadRequest")),
            ("api 401", api(401, "UnauthorizedError")),
            ("api 403 token", api(403, "TokenError")),
            ("api 403 denied", api(403, "PermissionDenied")),
            ("api 404", api(404, "NotFound")),
            ("api 404 route", api(404, "Not Found")),
            ("api 429", api(429, "RateLimitExceeded")),
            ("api 500", api(500, "InternalServerError")),
            ("api 502", api(502, "x")),
            ("api 504", api(504, "GatewayTimeoutError")),
            (
                "rate limited",
                Error::RateLimited {
                    endpoint: "e".into(),
                    retry_after: Some(Duration::from_secs(3)),
                },
            ),
            (
                "folder",
                Error::FolderNotFound {
                    environment: "prod".into(),
                    path: "/x".into(),
                },
            ),
            (
                "hidden",
                Error::HiddenValue {
                    path: "/x".into(),
                    keys: vec!["K".into()],
                },
            ),
            (
                "missing",
                Error::MissingKeys {
                    bundle: "B".into(),
                    path: "/x".into(),
                    missing: vec!["K".into()],
                },
            ),
            (
                "invalid",
                Error::InvalidValue {
                    bundle: "B".into(),
                    path: "/x".into(),
                    key: "K".into(),
                    reason: "r".into(),
                },
            ),
            (
                "token file",
                Error::TokenFile {
                    path: "/t".into(),
                    source: std::io::Error::from(std::io::ErrorKind::NotFound),
                },
            ),
            (
                "redirected",
                Error::Redirected {
                    endpoint: "e".into(),
                    status: 307,
                },
            ),
            ("transport (builder)", builder_transport_error()),
            ("decode", decode_error()),
        ]
    }

    /// The labels of [`all_kinds`] for which `pred` holds.
    fn holds(pred: fn(&Error) -> bool) -> Vec<&'static str> {
        all_kinds()
            .into_iter()
            .filter(|(_, e)| pred(e))
            .map(|(l, _)| l)
            .collect()
    }

    #[test]
    fn status_is_the_http_status_where_one_was_received() {
        let got: Vec<(&str, Option<u16>)> = all_kinds()
            .iter()
            .map(|(l, e)| (*l, e.status()))
            .filter(|(_, s)| s.is_some())
            .collect();
        assert_eq!(
            got,
            [
                ("api 400", Some(400)),
                ("api 401", Some(401)),
                ("api 403 token", Some(403)),
                ("api 403 denied", Some(403)),
                ("api 404", Some(404)),
                ("api 404 route", Some(404)),
                ("api 429", Some(429)),
                ("api 500", Some(500)),
                ("api 502", Some(502)),
                ("api 504", Some(504)),
                ("rate limited", Some(429)),
                ("redirected", Some(307)),
            ]
        );
    }

    #[test]
    fn is_not_found_predicate() {
        assert_eq!(
            holds(Error::is_not_found),
            ["api 404", "api 404 route", "folder"]
        );
    }

    #[test]
    fn is_unauthenticated_predicate() {
        assert_eq!(
            holds(Error::is_unauthenticated),
            ["api 401", "api 403 token"]
        );
    }

    #[test]
    fn is_permission_denied_predicate() {
        assert_eq!(holds(Error::is_permission_denied), ["api 403 denied"]);
    }

    #[test]
    fn is_retryable_predicate() {
        assert_eq!(
            holds(Error::is_retryable),
            ["api 429", "api 502", "api 504", "rate limited"]
        );
    }

    #[tokio::test]
    async fn transport_errors_are_retryable_when_connecting_failed() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let source = reqwest::Client::new()
            .get(format!("http://{closed}/"))
            .send()
            .await
            .unwrap_err()
            .without_url();
        let e = Error::Transport {
            endpoint: "GET /".into(),
            source,
        };
        assert!(e.is_retryable(), "{e:?}");
        assert_eq!(e.status(), None);
        assert!(!e.is_not_found() && !e.is_unauthenticated() && !e.is_permission_denied());
    }

    #[test]
    fn decode_errors_name_the_json_path() {
        let e = decode_error();
        match &e {
            Error::Decode { source, .. } => assert_eq!(source.path().to_string(), "secrets"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_keys_error_names_all() {
        let e = Error::MissingKeys {
            bundle: "GarageCredentials".into(),
            path: "/backups/garage".into(),
            missing: vec!["ENDPOINT".into(), "ADMIN_TOKEN".into()],
        };
        assert_eq!(
            e.to_string(),
            "GarageCredentials at /backups/garage lacks ENDPOINT, ADMIN_TOKEN"
        );
        assert_eq!(e.missing_keys().len(), 2);
    }
}
