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
    Http {
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
    /// The test bed ([`crate::testing::GarageServer`]) could not start or drive Garage.
    #[cfg(feature = "testing")]
    #[error("garage test bed: {0}")]
    TestBed(String),
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

    /// Authentication or authorisation failed (403, or a malformed authorization such as a
    /// wrong region).
    pub fn is_access_denied(&self) -> bool {
        match self {
            Error::S3(e) => {
                e.status == 403
                    || matches!(
                        e.code,
                        S3ErrorCode::AuthorizationHeaderMalformed
                            | S3ErrorCode::SignatureDoesNotMatch
                    )
            }
            Error::Admin(e) => e.status == 401 || e.status == 403,
            _ => false,
        }
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
            Error::Http { source, .. } => {
                source.is_connect() || source.is_timeout() || source.is_request()
            }
            _ => matches!(self.status(), Some(429 | 500 | 502 | 503 | 504)),
        }
    }

    /// The request never got an HTTP answer (server down, connection reset, timeout).
    pub fn is_transport(&self) -> bool {
        matches!(self, Error::Http { .. })
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
            Error::Http { source, .. } if source.is_timeout() => K::TimedOut,
            Error::Http { source, .. } if source.is_connect() => K::ConnectionRefused,
            Error::Http { .. } => K::ConnectionAborted,
            Error::Integrity { .. } | Error::Decode { .. } => K::InvalidData,
            Error::InvalidKey { .. }
            | Error::InvalidBucketName { .. }
            | Error::InvalidMetadata { .. }
            | Error::Config(_) => K::InvalidInput,
            Error::ObjectTooLarge { .. } => K::FileTooLarge,
            e if e.is_not_found() => K::NotFound,
            e if e.is_access_denied() => K::PermissionDenied,
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
        assert!(e.is_access_denied());
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
        }));
        assert!(e.is_conflict());
        assert_eq!(e.status(), Some(409));
    }
}
