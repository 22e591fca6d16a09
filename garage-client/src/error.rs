//! The crate's error type.

use std::fmt;
use std::path::PathBuf;

/// Result with this crate's [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to Garage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The S3 API answered with an error (XML `<Error>` body, or a bare status for HEAD).
    #[error("{0}")]
    S3(Box<S3Error>),
    /// The admin API answered with an error (JSON `{code, message}` body or plain text).
    #[error("{0}")]
    Admin(Box<AdminError>),
    /// The request did not get an HTTP response (connect, timeout, reset, body stream).
    #[error("{method} {url}: transport error")]
    Transport {
        /// HTTP method.
        method: String,
        /// URL without its query string.
        url: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// A response body did not have the documented shape.
    #[error("cannot decode {what}: {message}")]
    Decode {
        /// What was being decoded.
        what: String,
        /// The parser's message.
        message: String,
    },
    /// Data read back does not match what the server said it stored.
    #[error("integrity check failed for {bucket}/{key}: {what} expected {expected}, got {actual}")]
    Integrity {
        /// Bucket.
        bucket: String,
        /// Object key.
        key: String,
        /// Which check (`crc32c`, `length`).
        what: &'static str,
        /// Value announced by the server.
        expected: String,
        /// Value computed from the received bytes.
        actual: String,
    },
    /// An object key that cannot be sent byte-exact; refused before any request was made.
    #[error("invalid object key {key:?}: {reason}")]
    InvalidKey {
        /// The key as given.
        key: String,
        /// Why it cannot be sent.
        reason: &'static str,
    },
    /// A bucket name that cannot be sent as one path segment; refused before any request.
    #[error("invalid bucket name {bucket:?}: {reason}")]
    InvalidBucketName {
        /// The name as given.
        bucket: String,
        /// Why it cannot be sent.
        reason: &'static str,
    },
    /// An upload larger than S3 allows (5 TiB, or the part limit times 5 GiB); refused before
    /// any request when the size is known, else when the stream passes the limit (the
    /// multipart upload is then aborted).
    #[error("object of {size} bytes exceeds the limit of {limit} bytes")]
    ObjectTooLarge {
        /// Size of the object (for a stream: bytes read so far).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A metadata entry (or the content type) that would not come back as given; refused before
    /// any request.
    #[error("invalid metadata {name:?}: {reason}")]
    InvalidMetadata {
        /// The metadata name as given.
        name: String,
        /// Why it cannot be stored as given.
        reason: &'static str,
    },
    /// Invalid client configuration or argument.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The request could not be signed.
    #[error("cannot sign request: {0}")]
    Signing(String),
    /// A local file or stream could not be read.
    #[error("I/O error{}", path.as_ref().map(|p| format!(" on {}", p.display())).unwrap_or_default())]
    Io {
        /// The file, if any.
        path: Option<PathBuf>,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The operation does not exist in the admin API version the server speaks.
    #[error("{operation} is not supported by admin API {version}")]
    Unsupported {
        /// Operation name (v2 name).
        operation: &'static str,
        /// `v1` or `v2`.
        version: &'static str,
    },
}

impl Error {
    /// HTTP status of a server error, if the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::S3(e) => Some(e.status),
            Error::Admin(e) => Some(e.status),
            _ => None,
        }
    }

    /// The S3 error, if this is one.
    pub fn as_s3(&self) -> Option<&S3Error> {
        match self {
            Error::S3(e) => Some(e),
            _ => None,
        }
    }

    /// The admin API error, if this is one.
    pub fn as_admin(&self) -> Option<&AdminError> {
        match self {
            Error::Admin(e) => Some(e),
            _ => None,
        }
    }

    /// The object, bucket, key or upload does not exist (404).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// The server did not accept the credentials: 401, or a 403 whose reason is the key or
    /// token itself rather than what it may do.
    ///
    /// S3: the codes `InvalidAccessKeyId`, `SignatureDoesNotMatch` and
    /// `AuthorizationHeaderMalformed` (a wrong region), and Garage's 403 `AccessDenied` for a
    /// wrong secret ("Invalid signature"), an unknown key ("No such key"), an expired key and an
    /// unsigned request. A 403 to a `HEAD` has no body to say why and counts as
    /// [`Self::is_permission_denied`].
    ///
    /// Admin API: Garage answers 403 `AccessDenied` both to a bad token (missing, unknown,
    /// expired, deleted) and to a valid token outside its scope; the client tells them apart
    /// with `GetCurrentAdminTokenInfo`, which accepts any valid token (Garage ≥ 2.1). Where that
    /// cannot decide (Garage 2.0), "Invalid bearer token" counts as unauthenticated.
    pub fn is_unauthenticated(&self) -> bool {
        match self {
            Error::S3(e) => e.is_unauthenticated(),
            Error::Admin(e) => e.is_unauthenticated(),
            _ => false,
        }
    }

    /// Authenticated but not allowed: a 403 that is not [`Self::is_unauthenticated`] (a key
    /// without the permission on the bucket, an admin token outside its scope, a bucket quota
    /// — see also [`Self::is_quota_exceeded`]).
    pub fn is_permission_denied(&self) -> bool {
        self.status() == Some(403) && !self.is_unauthenticated()
    }

    /// A bucket quota (objects or size) refused the write (Garage answers 403 `AccessDenied`
    /// with a "quota is reached" message).
    pub fn is_quota_exceeded(&self) -> bool {
        matches!(self, Error::S3(e) if e.status == 403 && e.message.contains("quota is reached"))
    }

    /// A conflict (409), e.g. deleting a non-empty bucket.
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
    }

    /// Worth retrying later: transport failures, 429, 500, 502, 503, 504.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport { source, .. } => {
                source.is_connect() || source.is_timeout() || source.is_request()
            }
            _ => matches!(self.status(), Some(429 | 500 | 502 | 503 | 504)),
        }
    }

    /// The request never got an HTTP answer (server down, connection reset, timeout).
    pub fn is_transport(&self) -> bool {
        matches!(self, Error::Transport { .. })
    }

    pub(crate) fn decode(what: impl Into<String>, message: impl fmt::Display) -> Self {
        Error::Decode {
            what: what.into(),
            message: message.to_string(),
        }
    }

    pub(crate) fn io(path: Option<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path, source }
    }

    pub(crate) fn integrity(
        bucket: &str,
        key: &str,
        what: &'static str,
        expected: impl ToString,
        actual: impl ToString,
    ) -> Self {
        Error::Integrity {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            what,
            expected: expected.to_string(),
            actual: actual.to_string(),
        }
    }
}

/// For [`tokio::io`] and [`std::io`] callers (e.g. [`GetObject::into_async_read`](crate::s3::GetObject::into_async_read)):
/// the kind follows the error, and the original stays available through
/// [`std::io::Error::get_ref`] / `into_inner` and `downcast`.
impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        use std::io::ErrorKind as K;
        let kind = match &e {
            Error::Io { source, .. } => source.kind(),
            Error::Transport { source, .. } if source.is_timeout() => K::TimedOut,
            Error::Transport { source, .. } if source.is_connect() => K::ConnectionRefused,
            Error::Transport { .. } => K::ConnectionAborted,
            Error::Integrity { .. } | Error::Decode { .. } => K::InvalidData,
            Error::InvalidKey { .. }
            | Error::InvalidBucketName { .. }
            | Error::InvalidMetadata { .. }
            | Error::Config(_) => K::InvalidInput,
            Error::ObjectTooLarge { .. } => K::FileTooLarge,
            e if e.is_not_found() => K::NotFound,
            e if e.is_permission_denied() || e.is_unauthenticated() => K::PermissionDenied,
            _ => K::Other,
        };
        std::io::Error::new(kind, e)
    }
}

/// An S3 error response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct S3Error {
    /// HTTP status.
    pub status: u16,
    /// `<Code>` (or derived from the status when the body is empty, as for HEAD).
    pub code: S3ErrorCode,
    /// `<Message>`.
    pub message: String,
    /// `<RequestId>` or the `x-amz-request-id` header, when present.
    pub request_id: Option<String>,
    /// `<Resource>`, when present.
    pub resource: Option<String>,
    /// HTTP method of the failed request.
    pub method: String,
    /// Path of the failed request (no query string).
    pub path: String,
}

impl fmt::Display for S3Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "S3 {} {}: HTTP {} {}",
            self.method, self.path, self.status, self.code
        )?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

/// Garage's messages of a 403 `AccessDenied` about the credentials themselves
/// (`garage_api_common-2.5.0:signature/payload.rs` `verify_v4`, `signature/mod.rs`).
const S3_AUTH_MESSAGES: &[&str] = &[
    "Invalid signature",
    "No such key:",
    "has expired",
    "does not support anonymous access",
];

impl S3Error {
    fn is_unauthenticated(&self) -> bool {
        self.status == 401
            || matches!(
                self.code,
                S3ErrorCode::InvalidAccessKeyId
                    | S3ErrorCode::SignatureDoesNotMatch
                    | S3ErrorCode::AuthorizationHeaderMalformed
            )
            || (self.status == 403
                && self.code == S3ErrorCode::AccessDenied
                && S3_AUTH_MESSAGES.iter().any(|m| self.message.contains(m)))
    }
}

/// S3 error codes a client can act on; anything else is kept in [`S3ErrorCode::Other`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum S3ErrorCode {
    /// No such object.
    NoSuchKey,
    /// A 404 to a HEAD request: the key or the bucket is missing. Garage's answer to HEAD has
    /// no body to say which (aws-sdk-s3 names this code `NotFound` too);
    /// [`S3Client::head_object_checked`](crate::S3Client::head_object_checked) asks the bucket.
    NotFound,
    /// No such bucket.
    NoSuchBucket,
    /// No such multipart upload.
    NoSuchUpload,
    /// Authentication or permission failure (Garage also uses it for a wrong secret).
    AccessDenied,
    /// The access key id is unknown (AWS; Garage answers `AccessDenied` "No such key").
    InvalidAccessKeyId,
    /// The SigV4 scope is wrong, e.g. the region.
    AuthorizationHeaderMalformed,
    /// The signature does not match.
    SignatureDoesNotMatch,
    /// A checksum or Content-MD5 does not match the body.
    InvalidDigest,
    /// A Content-MD5 does not match the body.
    BadDigest,
    /// The bucket is not empty.
    BucketNotEmpty,
    /// The bucket name is taken.
    BucketAlreadyExists,
    /// The bucket exists and is yours.
    BucketAlreadyOwnedByYou,
    /// A precondition (If-Match …) failed.
    PreconditionFailed,
    /// The requested range is not satisfiable.
    InvalidRange,
    /// The request is invalid.
    InvalidRequest,
    /// An argument is invalid.
    InvalidArgument,
    /// A multipart part is too small or the part list is empty.
    EntityTooSmall,
    /// A listed part is missing or differs.
    InvalidPart,
    /// Parts are not in ascending order.
    InvalidPartOrder,
    /// The operation is not implemented by Garage.
    NotImplemented,
    /// Garage's internal error.
    InternalError,
    /// Temporarily unavailable (e.g. no quorum).
    ServiceUnavailable,
    /// Slow down.
    SlowDown,
    /// Any other code, as sent.
    Other(String),
}

impl S3ErrorCode {
    /// Parses a `<Code>` value.
    pub fn parse(code: &str) -> Self {
        use S3ErrorCode::*;
        match code {
            "NoSuchKey" => NoSuchKey,
            "NotFound" => NotFound,
            "NoSuchBucket" => NoSuchBucket,
            "NoSuchUpload" => NoSuchUpload,
            "AccessDenied" => AccessDenied,
            "InvalidAccessKeyId" => InvalidAccessKeyId,
            "AuthorizationHeaderMalformed" => AuthorizationHeaderMalformed,
            "SignatureDoesNotMatch" => SignatureDoesNotMatch,
            "InvalidDigest" => InvalidDigest,
            "BadDigest" => BadDigest,
            "BucketNotEmpty" => BucketNotEmpty,
            "BucketAlreadyExists" => BucketAlreadyExists,
            "BucketAlreadyOwnedByYou" => BucketAlreadyOwnedByYou,
            "PreconditionFailed" => PreconditionFailed,
            "InvalidRange" => InvalidRange,
            "InvalidRequest" => InvalidRequest,
            "InvalidArgument" => InvalidArgument,
            "EntityTooSmall" => EntityTooSmall,
            "InvalidPart" => InvalidPart,
            "InvalidPartOrder" => InvalidPartOrder,
            "NotImplemented" => NotImplemented,
            "InternalError" => InternalError,
            "ServiceUnavailable" => ServiceUnavailable,
            "SlowDown" => SlowDown,
            other => Other(other.to_owned()),
        }
    }

    /// The code as S3 spells it.
    pub fn as_str(&self) -> &str {
        use S3ErrorCode::*;
        match self {
            NoSuchKey => "NoSuchKey",
            NotFound => "NotFound",
            NoSuchBucket => "NoSuchBucket",
            NoSuchUpload => "NoSuchUpload",
            AccessDenied => "AccessDenied",
            InvalidAccessKeyId => "InvalidAccessKeyId",
            AuthorizationHeaderMalformed => "AuthorizationHeaderMalformed",
            SignatureDoesNotMatch => "SignatureDoesNotMatch",
            InvalidDigest => "InvalidDigest",
            BadDigest => "BadDigest",
            BucketNotEmpty => "BucketNotEmpty",
            BucketAlreadyExists => "BucketAlreadyExists",
            BucketAlreadyOwnedByYou => "BucketAlreadyOwnedByYou",
            PreconditionFailed => "PreconditionFailed",
            InvalidRange => "InvalidRange",
            InvalidRequest => "InvalidRequest",
            InvalidArgument => "InvalidArgument",
            EntityTooSmall => "EntityTooSmall",
            InvalidPart => "InvalidPart",
            InvalidPartOrder => "InvalidPartOrder",
            NotImplemented => "NotImplemented",
            InternalError => "InternalError",
            ServiceUnavailable => "ServiceUnavailable",
            SlowDown => "SlowDown",
            Other(s) => s,
        }
    }
}

impl fmt::Display for S3ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An admin API error response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AdminError {
    /// HTTP status.
    pub status: u16,
    /// `code` of the JSON body (`AccessDenied`, `NoSuchBucket`, `BucketNotEmpty`, …), empty if
    /// the body was not JSON.
    pub code: String,
    /// `message` of the JSON body, or the plain-text body.
    pub message: String,
    /// HTTP method of the failed request.
    pub method: String,
    /// Path of the failed request.
    pub path: String,
    /// For a 403 "Invalid bearer token": whether `GetCurrentAdminTokenInfo` then accepted the
    /// token (so the operation was outside its scope); `None` when not asked or not known.
    pub(crate) token_valid: Option<bool>,
}

/// Garage's messages of a 403 about the bearer token (`garage_api_admin-2.5.0:api_server.rs`
/// `verify_authorization`, and Garage 1.x without an admin token).
const ADMIN_AUTH_MESSAGES: &[&str] = &[
    "Invalid bearer token",
    "Bearer token must be provided",
    "Invalid Authorization header",
    "Admin token isn't configured",
];

impl AdminError {
    fn is_unauthenticated(&self) -> bool {
        self.status == 401
            || (self.status == 403
                && self.token_valid != Some(true)
                && ADMIN_AUTH_MESSAGES.iter().any(|m| self.message.contains(m)))
    }

    /// Whether this is the ambiguous refusal of a token (bad, or outside its scope).
    pub(crate) fn is_token_refusal(&self) -> bool {
        self.status == 403 && self.message.contains("Invalid bearer token")
    }
}

impl fmt::Display for AdminError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "admin API {} {}: HTTP {}",
            self.method, self.path, self.status
        )?;
        if !self.code.is_empty() {
            write!(f, " {}", self.code)?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if self.token_valid == Some(true) {
            f.write_str(" (the token is valid; the operation is outside its scope)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_is_kept() {
        for c in [
            "NoSuchKey",
            "BucketNotEmpty",
            "AuthorizationHeaderMalformed",
            "SlowDown",
        ] {
            assert_eq!(S3ErrorCode::parse(c).as_str(), c);
        }
        assert_eq!(
            S3ErrorCode::parse("QuotaExceeded"),
            S3ErrorCode::Other("QuotaExceeded".into())
        );
    }

    #[test]
    fn converts_to_io_errors_keeping_the_original() {
        let e = Error::integrity("b", "k", "crc32c", "a", "b");
        let io: std::io::Error = e.into();
        assert_eq!(io.kind(), std::io::ErrorKind::InvalidData);
        let inner = io.into_inner().unwrap().downcast::<Error>().unwrap();
        assert!(matches!(*inner, Error::Integrity { what: "crc32c", .. }));
        let e = Error::InvalidKey {
            key: String::new(),
            reason: "empty",
        };
        assert_eq!(
            std::io::Error::from(e).kind(),
            std::io::ErrorKind::InvalidInput
        );
        let e = Error::S3(Box::new(S3Error {
            status: 404,
            code: S3ErrorCode::NoSuchKey,
            message: String::new(),
            request_id: None,
            resource: None,
            method: "GET".into(),
            path: "/b/k".into(),
        }));
        assert_eq!(std::io::Error::from(e).kind(), std::io::ErrorKind::NotFound);
    }

    #[test]
    fn helpers_classify() {
        let e = Error::S3(Box::new(S3Error {
            status: 400,
            code: S3ErrorCode::AuthorizationHeaderMalformed,
            message: "unexpected scope".into(),
            request_id: None,
            resource: None,
            method: "GET".into(),
            path: "/b".into(),
        }));
        assert!(e.is_unauthenticated());
        assert!(!e.is_permission_denied());
        assert!(!e.is_not_found());
        assert!(!e.is_retryable());
        assert_eq!(
            e.to_string(),
            "S3 GET /b: HTTP 400 AuthorizationHeaderMalformed: unexpected scope"
        );
        let e = Error::Admin(Box::new(AdminError {
            status: 409,
            code: "BucketNotEmpty".into(),
            message: "Bucket is not empty".into(),
            method: "POST".into(),
            path: "/v2/DeleteBucket".into(),
            token_valid: None,
        }));
        assert!(e.is_conflict());
        assert_eq!(e.status(), Some(409));
    }

    /// An S3 error as the client builds it from Garage's answer.
    fn s3(status: u16, method: &str, body: &str) -> Error {
        Error::S3(Box::new(crate::s3::xml::parse_error(
            status, body, method, "/b/k", None,
        )))
    }

    fn s3_xml(code: &str, message: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>\
             <Message>{message}</Message><Resource>/b/k</Resource><Region>garage</Region></Error>"
        )
    }

    /// An admin error as the client builds it from Garage's answer.
    fn admin(status: u16, code: &str, message: &str, token_valid: Option<bool>) -> Error {
        let body = format!(
            r#"{{"code":"{code}","message":"{message}","region":"garage","path":"/v2/ListBuckets"}}"#
        );
        let mut e = crate::admin::parse_error(status, &body, "GET", "/v2/ListBuckets");
        e.token_valid = token_valid;
        Error::Admin(Box::new(e))
    }

    #[test]
    fn is_unauthenticated_on_bad_credentials_only() {
        // Garage 2.5's answers (`garage_api_common-2.5.0:signature/payload.rs`).
        for body in [
            s3_xml("AccessDenied", "Forbidden: Invalid signature"),
            s3_xml(
                "AccessDenied",
                "Forbidden: No such key: GK0123456789abcdef01234567",
            ),
            s3_xml(
                "AccessDenied",
                "Forbidden: Access key GK0123456789abcdef01234567 has expired",
            ),
            s3_xml(
                "AccessDenied",
                "Forbidden: Garage does not support anonymous access yet",
            ),
        ] {
            let e = s3(403, "GET", &body);
            assert!(e.is_unauthenticated(), "{e}");
            assert!(!e.is_permission_denied(), "{e}");
        }
        // Other S3 servers' codes for the same causes.
        for (status, code) in [
            (403, "InvalidAccessKeyId"),
            (403, "SignatureDoesNotMatch"),
            (400, "AuthorizationHeaderMalformed"),
            (401, "Unauthorized"),
        ] {
            let e = s3(status, "GET", &s3_xml(code, "no"));
            assert!(e.is_unauthenticated(), "{e}");
            assert!(!e.is_permission_denied(), "{e}");
        }
        // The admin API: a bad token, a missing one, one a follow-up said is not valid.
        for e in [
            admin(403, "AccessDenied", "Forbidden: Invalid bearer token", None),
            admin(
                403,
                "AccessDenied",
                "Forbidden: Bearer token must be provided in Authorization header",
                None,
            ),
            admin(
                403,
                "AccessDenied",
                "Forbidden: Invalid bearer token",
                Some(false),
            ),
            admin(401, "", "Unauthorized", None),
        ] {
            assert!(e.is_unauthenticated(), "{e}");
            assert!(!e.is_permission_denied(), "{e}");
        }
        // Not about credentials.
        let e = s3(
            403,
            "PUT",
            &s3_xml(
                "AccessDenied",
                "Forbidden: Operation is not allowed for this key.",
            ),
        );
        assert!(!e.is_unauthenticated(), "{e}");
        assert!(!s3(404, "GET", &s3_xml("NoSuchKey", "no")).is_unauthenticated());
        assert!(!Error::Config("x".into()).is_unauthenticated());
    }

    #[test]
    fn is_permission_denied_on_refusals_of_an_accepted_key() {
        let e = s3(
            403,
            "PUT",
            &s3_xml(
                "AccessDenied",
                "Forbidden: Operation is not allowed for this key.",
            ),
        );
        assert!(e.is_permission_denied(), "{e}");
        assert_eq!(e.status(), Some(403));
        // A quota refusal is a 403 for an accepted key, with its own predicate too.
        let e = s3(
            403,
            "PUT",
            &s3_xml(
                "AccessDenied",
                "Forbidden: Object quota is reached, maximum objects for this bucket: 2",
            ),
        );
        assert!(e.is_permission_denied() && e.is_quota_exceeded(), "{e}");
        // HEAD: no body to tell why.
        let e = s3(403, "HEAD", "");
        assert!(e.is_permission_denied() && !e.is_unauthenticated(), "{e}");
        // A valid admin token outside its scope.
        let e = admin(
            403,
            "AccessDenied",
            "Forbidden: Invalid bearer token",
            Some(true),
        );
        assert!(e.is_permission_denied() && !e.is_unauthenticated(), "{e}");
        assert!(e.to_string().contains("outside its scope"), "{e}");
        assert!(!s3(404, "GET", &s3_xml("NoSuchKey", "no")).is_permission_denied());
        assert!(!admin(409, "BucketNotEmpty", "x", None).is_permission_denied());
    }

    #[test]
    fn is_not_found_and_status_on_server_answers() {
        let e = s3(404, "GET", &s3_xml("NoSuchKey", "Key not found"));
        assert!(e.is_not_found() && !e.is_retryable());
        assert_eq!(e.status(), Some(404));
        let e = s3(404, "HEAD", "");
        assert!(e.is_not_found());
        assert_eq!(e.as_s3().map(|e| &e.code), Some(&S3ErrorCode::NotFound));
        let e = admin(404, "NoSuchBucket", "Bucket not found: x", None);
        assert!(e.is_not_found());
        assert_eq!(e.status(), Some(404));
        let e = Error::decode("ListBuckets response", "missing field `id` at [0]");
        assert!(!e.is_not_found());
        assert_eq!(e.status(), None);
    }

    #[test]
    fn is_retryable_on_overload_and_transport_only() {
        for status in [429, 500, 502, 503, 504] {
            assert!(s3(status, "GET", "").is_retryable(), "{status}");
            assert!(admin(status, "", "x", None).is_retryable(), "{status}");
        }
        let e = s3(
            503,
            "GET",
            &s3_xml("SlowDown", "Please reduce your request rate"),
        );
        assert!(e.is_retryable());
        for status in [400, 403, 404, 409, 412] {
            assert!(!s3(status, "GET", "").is_retryable(), "{status}");
        }
        assert!(!Error::Config("x".into()).is_retryable());
        assert!(!Error::decode("x", "y").is_retryable());
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_retryable_transport_error() {
        // Port 1 on loopback: nothing listens there.
        let source = reqwest::Client::new()
            .get("http://127.0.0.1:1/")
            .send()
            .await
            .unwrap_err();
        let e = Error::Transport {
            method: "GET".into(),
            url: "http://127.0.0.1:1/".into(),
            source,
        };
        assert!(e.is_retryable() && e.is_transport(), "{e:?}");
        assert_eq!(e.status(), None);
        assert!(!e.is_not_found() && !e.is_unauthenticated() && !e.is_permission_denied());
    }
}
