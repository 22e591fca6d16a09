//! The crate's error type.

use std::time::Duration;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to Velero.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client configuration is unusable: the kubeconfig could not be read or a context could
    /// not be turned into a client config.
    #[error("kubeconfig for context {context:?} is unusable")]
    Config {
        /// The context asked for (`None`: the current context).
        context: Option<String>,
        /// Why.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// The kube context does not exist in the kubeconfig.
    #[error("kube context {context:?} is not in the kubeconfig (available: {available:?})")]
    UnknownContext {
        /// The context asked for.
        context: String,
        /// The contexts that exist.
        available: Vec<String>,
    },
    /// No cluster handle for this context in a [`crate::Clusters`].
    #[error("no client for kube context {0:?}")]
    NoSuchCluster(String),
    /// The apiserver answered with a Kubernetes `Status` failure (403, 404, 409, 422, …).
    #[error("{0}")]
    Api(Box<ApiFailure>),
    /// The apiserver could not be reached, or its answer could not be read.
    #[error("{verb} {resource} in context {context:?} failed")]
    Kube {
        /// Kube context.
        context: String,
        /// What was attempted.
        verb: &'static str,
        /// Plural resource.
        resource: &'static str,
        /// The kube-rs error.
        #[source]
        source: kube::Error,
    },
    /// The watch used to wait for an object failed in a way that is not an API error.
    #[error("watching {resource} {name:?} in context {context:?} failed")]
    Watch {
        /// Kube context.
        context: String,
        /// Plural resource.
        resource: &'static str,
        /// Object name.
        name: String,
        /// Cause.
        #[source]
        source: Box<kube::runtime::watcher::Error>,
    },
    /// Waiting for an object hit the timeout.
    #[error(
        "timed out after {waited:?} waiting for {resource} {name:?} in context {context:?} (last phase: {last_phase})"
    )]
    Timeout {
        /// Kube context.
        context: String,
        /// Plural resource.
        resource: &'static str,
        /// Object name.
        name: String,
        /// How long we waited.
        waited: Duration,
        /// The phase when we gave up.
        last_phase: String,
    },
    /// The object was deleted while we waited for it.
    #[error("{resource} {name:?} in context {context:?} was deleted while waiting")]
    Deleted {
        /// Kube context.
        context: String,
        /// Plural resource.
        resource: &'static str,
        /// Object name.
        name: String,
    },
    /// The server refused to delete a backup (its DeleteBackupRequest was processed with
    /// errors): still in progress, or its storage location is missing, read-only or
    /// unavailable. The backup is kept.
    #[error("deleting backup {backup:?} in context {context:?} was refused by the server (request {request:?}): {}", errors.join("; "))]
    DeleteRefused {
        /// Kube context.
        context: String,
        /// Backup name.
        backup: String,
        /// The DeleteBackupRequest.
        request: String,
        /// `status.errors` of the request.
        errors: Vec<String>,
    },
    /// This client refuses to restore a backup that is not `Completed` or `PartiallyFailed`
    /// (Velero itself does not check; see `RestoreOptions::allow_any_backup_phase`).
    #[error(
        "backup {backup:?} in context {context:?} is {phase}, not Completed or PartiallyFailed: not restoring from it"
    )]
    BackupNotRestorable {
        /// Kube context.
        context: String,
        /// Backup name.
        backup: String,
        /// Its phase.
        phase: String,
    },
    /// A request that Velero (or its CLI) would refuse, e.g. an invalid restore source.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// A schedule has no backup usable for a restore.
    #[error("no backups found for the schedule {schedule:?} in context {context:?}")]
    NoBackups {
        /// Kube context.
        context: String,
        /// Schedule.
        schedule: String,
    },
    /// Logs or other downloads are not available in the object's current phase.
    #[error("{what} for {name:?} are not available until it's finished processing (phase {phase})")]
    NotFinished {
        /// `logs`, `results`, …
        what: &'static str,
        /// Backup or restore name.
        name: String,
        /// Current phase.
        phase: String,
    },
    /// The DownloadRequest got no URL in time.
    #[error(
        "download request {request:?} got no download URL within {waited:?} in context {context:?}; check the Velero server logs: the backup storage location may not be available"
    )]
    DownloadUrlTimeout {
        /// Kube context.
        context: String,
        /// DownloadRequest name.
        request: String,
        /// How long we waited.
        waited: Duration,
    },
    /// The server marked the DownloadRequest `Failed`.
    #[error("download request {request:?} failed: {message}")]
    DownloadFailed {
        /// DownloadRequest name.
        request: String,
        /// Server message.
        message: String,
    },
    /// The presigned URL's host could not be reached from here.
    #[error(
        "cannot reach {endpoint} to download {what}: the URL is signed for the storage location's s3Url, which may be reachable only inside the cluster (set config.publicUrl on the BackupStorageLocation)"
    )]
    DownloadUnreachable {
        /// Scheme, host and port of the URL (no path or signature).
        endpoint: String,
        /// What was being downloaded.
        what: String,
        /// Transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The object store's TLS certificate was not accepted (or the handshake failed).
    #[error(
        "TLS with {endpoint} failed while downloading {what}: its certificate is not trusted by {trusted}; put the object store's CA into the BackupStorageLocation's objectStorage.caCertRef (or caCert), or give the client a download CA"
    )]
    DownloadTls {
        /// Scheme, host and port of the URL (no path or signature).
        endpoint: String,
        /// What was being downloaded.
        what: String,
        /// What the client trusted for this download.
        trusted: String,
        /// Transport error (the rustls error is in its chain).
        #[source]
        source: reqwest::Error,
    },
    /// The object store answered the download with an HTTP error (404: the file does not exist).
    #[error("downloading {what} from {endpoint} failed with HTTP {status}: {body}")]
    DownloadHttp {
        /// Scheme, host and port.
        endpoint: String,
        /// What was being downloaded.
        what: String,
        /// HTTP status.
        status: u16,
        /// Start of the response body.
        body: String,
        /// The server's `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
    /// Reading or decompressing a download failed midway.
    #[error("reading {what} failed")]
    DownloadRead {
        /// What was being downloaded.
        what: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A gunzipped log line exceeded the cap (`ClientBuilder::with_max_log_line_bytes`).
    #[error("a line of {what} is longer than {limit} bytes: stopped reading")]
    LogLineTooLong {
        /// What was being downloaded.
        what: String,
        /// The cap in bytes.
        limit: usize,
    },
    /// A download exceeded the cap (`ClientBuilder::with_max_download_bytes`), after gunzip.
    #[error("{what} is larger than {limit} bytes: stopped reading")]
    DownloadTooLarge {
        /// What was being downloaded.
        what: String,
        /// The cap in bytes.
        limit: usize,
    },
    /// The HTTP client for downloads could not be built, or a download transfer broke.
    #[error("download transport error for {what}")]
    Transport {
        /// What was being done.
        what: String,
        /// Cause.
        #[source]
        source: reqwest::Error,
    },
    /// A download's JSON did not parse.
    #[error("decoding {what} failed")]
    Decode {
        /// What was decoded.
        what: String,
        /// Cause.
        #[source]
        source: serde_json::Error,
    },
    /// A Go duration string did not parse.
    #[error("invalid Go duration {input:?}")]
    InvalidDuration {
        /// The text.
        input: String,
    },
    /// A schedule expression did not parse.
    #[error("invalid schedule {expr:?}: {message}")]
    InvalidSchedule {
        /// The cron expression.
        expr: String,
        /// Why.
        message: String,
    },
}

/// An apiserver `Status` failure, with what was attempted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiFailure {
    /// Kube context.
    pub context: String,
    /// What was attempted (`get`, `list`, `create`, `patch`, `update`, `delete`, `watch`).
    pub verb: &'static str,
    /// Plural resource, e.g. `backups`.
    pub resource: &'static str,
    /// Object name, if the call had one.
    pub name: Option<String>,
    /// HTTP status code.
    pub code: u16,
    /// Kubernetes reason (`NotFound`, `Forbidden`, `AlreadyExists`, `Conflict`, …).
    pub reason: String,
    /// Server message.
    pub message: String,
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.verb, self.resource)?;
        if let Some(n) = &self.name {
            write!(f, " {n:?}")?;
        }
        write!(
            f,
            " in context {:?}: HTTP {} {}: {}",
            self.context, self.code, self.reason, self.message
        )
    }
}

impl Error {
    /// A transport error of a download, with the URL (a presigned one: the signature opens the
    /// object) removed from the reqwest error.
    pub(crate) fn http(what: impl Into<String>, source: reqwest::Error) -> Self {
        Self::Transport {
            what: what.into(),
            source: source.without_url(),
        }
    }

    /// The HTTP status of an API or download error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api(a) => Some(a.code),
            Self::DownloadHttp { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The Kubernetes `reason` of an API error.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Api(a) => Some(&a.reason),
            _ => None,
        }
    }

    /// 404 from the apiserver or the object store.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// Authenticated but not allowed: 403 from the apiserver (RBAC denies the verb on the
    /// resource). A 403 from the object store (e.g. `SignatureDoesNotMatch` on a presigned URL)
    /// is not counted: it is [`Error::DownloadHttp`] with [`Error::status`] 403.
    pub fn is_permission_denied(&self) -> bool {
        matches!(self, Self::Api(a) if a.code == 403)
    }

    /// Not authenticated: 401 from the apiserver (a wrong or expired token or certificate), or
    /// kube-rs could not get credentials at all (an exec plugin or token file failed).
    pub fn is_unauthenticated(&self) -> bool {
        match self {
            Self::Api(a) => a.code == 401,
            Self::Kube { source, .. } => matches!(source, kube::Error::Auth(_)),
            _ => false,
        }
    }

    /// 409 `AlreadyExists` on create.
    pub fn is_already_exists(&self) -> bool {
        matches!(self, Self::Api(a) if a.code == 409 && a.reason == "AlreadyExists")
    }

    /// 409 `Conflict` (stale resourceVersion) on update.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Api(a) if a.code == 409 && a.reason != "AlreadyExists")
    }

    /// A wait or download-URL timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout { .. } | Self::DownloadUrlTimeout { .. })
    }

    /// Worth retrying later: transport errors, 429, 5xx, 409 Conflict, timeouts.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Api(a) => a.code == 429 || a.code >= 500 || self.is_conflict(),
            Self::Kube { source, .. } => !matches!(source, kube::Error::SerdeError(_)),
            Self::DownloadHttp { status, .. } => *status == 429 || *status >= 500,
            Self::DownloadUnreachable { .. } | Self::Transport { .. } => true,
            _ => self.is_timeout(),
        }
    }

    pub(crate) fn kube(
        context: &str,
        verb: &'static str,
        resource: &'static str,
        name: Option<&str>,
        err: kube::Error,
    ) -> Self {
        match err {
            kube::Error::Api(status) => Self::Api(Box::new(ApiFailure {
                context: context.to_owned(),
                verb,
                resource,
                name: name.map(str::to_owned),
                code: status.code,
                reason: status.reason.clone(),
                message: status.message.clone(),
            })),
            other => Self::Kube {
                context: context.to_owned(),
                verb,
                resource,
                source: other,
            },
        }
    }

    pub(crate) fn watch(
        context: &str,
        resource: &'static str,
        name: &str,
        err: kube::runtime::watcher::Error,
    ) -> Self {
        use kube::runtime::watcher::Error as W;
        match err {
            W::InitialListFailed(e) => Self::kube(context, "list", resource, Some(name), e),
            W::WatchStartFailed(e) | W::WatchFailed(e) => {
                Self::kube(context, "watch", resource, Some(name), e)
            }
            W::WatchError(status) => Self::kube(
                context,
                "watch",
                resource,
                Some(name),
                kube::Error::Api(status),
            ),
            other => Self::Watch {
                context: context.to_owned(),
                resource,
                name: name.to_owned(),
                source: Box::new(other),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: u16, reason: &str) -> Error {
        Error::Api(Box::new(ApiFailure {
            context: "prod".into(),
            verb: "get",
            resource: "backups",
            name: Some("b".into()),
            code,
            reason: reason.into(),
            message: "m".into(),
        }))
    }

    fn kube(source: kube::Error) -> Error {
        Error::Kube {
            context: "prod".into(),
            verb: "list",
            resource: "backups",
            source,
        }
    }

    fn download_http(status: u16) -> Error {
        Error::DownloadHttp {
            endpoint: "https://s3.example".into(),
            what: "BackupLog of b".into(),
            status,
            body: String::new(),
            retry_after: None,
        }
    }

    #[test]
    fn status_is_the_http_code_of_api_and_download_answers() {
        assert_eq!(api(422, "Invalid").status(), Some(422));
        assert_eq!(download_http(503).status(), Some(503));
        assert_eq!(Error::Invalid("x".into()).status(), None);
        assert_eq!(
            kube(kube::Error::ReadEvents(std::io::Error::other("reset"))).status(),
            None
        );
        let msg = api(404, "NotFound").to_string();
        assert!(msg.contains("HTTP 404 NotFound"), "{msg}");
    }

    #[test]
    fn not_found_is_404_from_the_apiserver_or_the_object_store() {
        assert!(api(404, "NotFound").is_not_found());
        assert!(download_http(404).is_not_found());
        assert!(!api(403, "Forbidden").is_not_found());
        assert!(!api(410, "Gone").is_not_found());
    }

    #[test]
    fn unauthenticated_is_401_or_missing_credentials() {
        assert!(api(401, "Unauthorized").is_unauthenticated());
        assert!(
            kube(kube::Error::Auth(kube::client::AuthError::ExecPluginFailed)).is_unauthenticated()
        );
        assert!(!api(403, "Forbidden").is_unauthenticated());
        assert!(!download_http(401).is_unauthenticated());
        assert!(
            !kube(kube::Error::ReadEvents(std::io::Error::other("reset"))).is_unauthenticated()
        );
    }

    #[test]
    fn permission_denied_is_403_from_the_apiserver_only() {
        assert!(api(403, "Forbidden").is_permission_denied());
        assert!(!api(401, "Unauthorized").is_permission_denied());
        // An object-store 403 (a rejected presigned URL) is a download error, not RBAC.
        assert!(!download_http(403).is_permission_denied());
        assert_eq!(api(403, "Forbidden").reason(), Some("Forbidden"));
    }

    #[test]
    fn retryable_is_transient() {
        assert!(api(409, "Conflict").is_retryable());
        assert!(api(429, "TooManyRequests").is_retryable());
        assert!(api(503, "ServiceUnavailable").is_retryable());
        assert!(download_http(500).is_retryable());
        assert!(!download_http(404).is_retryable());
        assert!(!api(403, "Forbidden").is_retryable());
        assert!(!api(401, "Unauthorized").is_retryable());
        assert!(!api(409, "AlreadyExists").is_retryable());
        assert!(!Error::Invalid("x".into()).is_retryable());
        let decode = serde_json::from_str::<u8>("x").unwrap_err();
        assert!(!kube(kube::Error::SerdeError(decode)).is_retryable());
        assert!(kube(kube::Error::ReadEvents(std::io::Error::other("reset"))).is_retryable());
    }

    #[test]
    fn conflict_and_already_exists_split_409() {
        assert!(api(409, "AlreadyExists").is_already_exists());
        assert!(!api(409, "AlreadyExists").is_conflict());
        assert!(api(409, "Conflict").is_conflict());
        assert!(!api(409, "Conflict").is_already_exists());
        assert!(!api(404, "NotFound").is_conflict());
    }

    #[test]
    fn timeouts_are_waits_and_download_urls() {
        let wait = Error::Timeout {
            context: "prod".into(),
            resource: "backups",
            name: "b".into(),
            waited: Duration::from_secs(1),
            last_phase: "InProgress".into(),
        };
        assert!(wait.is_timeout());
        assert!(wait.is_retryable());
        let url = Error::DownloadUrlTimeout {
            context: "prod".into(),
            request: "r".into(),
            waited: Duration::from_secs(1),
        };
        assert!(url.is_timeout());
        assert!(!api(504, "Timeout").is_timeout());
    }
}
