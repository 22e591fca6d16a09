//! Configuration: credentials, timeouts, retries, multipart tuning, and `from_env()`.

use std::fmt;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::error::{Error, Result};

/// The default S3 region of Garage deployments (`[s3_api] s3_region`).
pub const DEFAULT_REGION: &str = "garage";

/// S3 access key: id plus secret (the secret never appears in `Debug`).
#[derive(Clone)]
pub struct Credentials {
    access_key_id: String,
    secret_access_key: SecretString,
}

impl Credentials {
    /// Creates credentials.
    pub fn new(access_key_id: impl Into<String>, secret_access_key: SecretString) -> Self {
        Credentials {
            access_key_id: access_key_id.into(),
            secret_access_key,
        }
    }

    /// The access key id (`GK…`).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The secret key.
    pub fn secret_access_key(&self) -> &SecretString {
        &self.secret_access_key
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"[REDACTED]")
            .finish()
    }
}

/// Timeouts and retry bounds shared by the S3 and admin clients.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpConfig {
    /// TCP connect timeout (default 5 s).
    pub connect_timeout: Duration,
    /// Longest silence while reading a response (default 60 s); applies to streaming transfers.
    pub read_timeout: Duration,
    /// Whole-request timeout for small requests (everything except object bodies; default 60 s).
    pub request_timeout: Duration,
    /// Retries of an idempotent request after the first attempt (default 10: with the backoff
    /// of 0.1 s doubling up to 5 s, about 20 s of retrying).
    pub max_retries: usize,
    /// Total time budget for retries of one request (default 30 s). The defaults outlast a
    /// Garage restart (0.7–0.9 s from spawn to healthy for a single node on loopback; the test
    /// `misc::default_retries_outlast_a_garage_restart` adds a 3 s outage) with room for a
    /// slower host.
    pub max_retry_time: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(60),
            max_retries: 10,
            max_retry_time: Duration::from_secs(30),
        }
    }
}

/// Multipart tuning of uploads.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct MultipartConfig {
    /// Uploads of more than this many bytes use multipart (default 16 MiB).
    pub threshold: u64,
    /// Part size (default 6 MiB; at least 5 MiB except for the last part).
    pub part_size: usize,
    /// Parts uploaded at once (default 3). Part buffers held ≈ `part_size × concurrency`
    /// (18 MiB by default); when parts grow beyond `part_size` (objects over
    /// `part_size × max_parts`), fewer parts are in flight, down to two.
    pub concurrency: usize,
    /// Most parts per upload (default and S3's limit 10,000). A file's part size is chosen
    /// from its size to fit; a stream's parts double in size every so many parts so that the
    /// limit holds S3's largest object (5 TiB). Lower it only to exercise that growth.
    pub max_parts: u32,
}

impl Default for MultipartConfig {
    fn default() -> Self {
        MultipartConfig {
            threshold: 16 << 20,
            part_size: 6 << 20,
            concurrency: 3,
            max_parts: 10_000,
        }
    }
}

/// Tuning of whole-object downloads: large objects are fetched as concurrent ranged GETs and
/// delivered in order, because one GET stream is limited by what one Garage worker serves
/// (block reads and checksum checks on one core).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct DownloadConfig {
    /// Objects of at least this many bytes are fetched in ranges (default 32 MiB).
    pub threshold: u64,
    /// Range size (default 4 MiB).
    pub part_size: u64,
    /// Streams at once, counting the first response's own (default 4; 1 = always one GET).
    /// Ranges fetched ahead hold ≈ `part_size × concurrency` (16 MiB by default) plus the HTTP
    /// read buffers their chunks share.
    pub concurrency: usize,
}

impl Default for DownloadConfig {
    fn default() -> Self {
        DownloadConfig {
            threshold: 32 << 20,
            part_size: 4 << 20,
            concurrency: 4,
        }
    }
}

pub(crate) fn parse_endpoint(s: &str, what: &str) -> Result<Url> {
    let url =
        Url::parse(s).map_err(|e| Error::Config(format!("{what} {s:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::Config(format!(
            "{what} must be http(s), got {}",
            url.scheme()
        )));
    }
    if url.query().is_some() || url.cannot_be_a_base() {
        return Err(Error::Config(format!(
            "{what} must be a base URL without query"
        )));
    }
    Ok(url)
}

/// Reads the first non-empty variable among `names` through `get`.
pub(crate) fn first_var(get: &dyn Fn(&str) -> Option<String>, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| get(n).filter(|v| !v.trim().is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_debug_hides_secret() {
        let c = Credentials::new("GK123", SecretString::from("supersecret".to_owned()));
        let d = format!("{c:?}");
        assert!(d.contains("GK123"));
        assert!(!d.contains("supersecret"));
    }

    #[test]
    fn endpoint_validation() {
        assert!(parse_endpoint("http://127.0.0.1:3900", "endpoint").is_ok());
        assert!(parse_endpoint("ftp://x", "endpoint").is_err());
        assert!(parse_endpoint("nonsense", "endpoint").is_err());
    }

    #[test]
    fn first_var_skips_empty() {
        let get = |n: &str| match n {
            "A" => Some(String::new()),
            "B" => Some("b".to_owned()),
            _ => None,
        };
        assert_eq!(first_var(&get, &["A", "B"]).as_deref(), Some("b"));
        assert_eq!(first_var(&get, &["C"]), None);
    }
}
