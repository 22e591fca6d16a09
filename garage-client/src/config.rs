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
///
/// ```
/// use std::time::Duration;
/// use garage_client::{HttpConfig, RetryConfig};
/// let http = HttpConfig::default()
///     .with_connect_timeout(Duration::from_secs(2))
///     .with_retry(RetryConfig::default().with_max_retries(3));
/// assert_eq!(http.retry.max_retries, 3);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HttpConfig {
    /// TCP connect timeout (default 5 s).
    pub connect_timeout: Duration,
    /// Longest silence while reading a response (default 60 s); applies to streaming transfers.
    pub read_timeout: Duration,
    /// Whole-request timeout for small requests (everything except object bodies; default 60 s).
    pub request_timeout: Duration,
    /// Retries of idempotent requests.
    pub retry: RetryConfig,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(60),
            retry: RetryConfig::default(),
        }
    }
}

impl HttpConfig {
    /// Sets [`Self::connect_timeout`].
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }
    /// Sets [`Self::read_timeout`].
    pub fn with_read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }
    /// Sets [`Self::request_timeout`].
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }
    /// Sets [`Self::retry`].
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }
}

/// Bounded retries of idempotent requests (object_store's retry module is the model): on
/// transport errors and on 429, 500, 502, 503 and 504, after the server's `Retry-After` (at
/// most 30 s) or else an exponential backoff with jitter.
///
/// The defaults (10 retries within 180 s, backoff 0.1 s doubling up to 5 s: about 20 s of
/// waiting between attempts) retry a timed-out request (the budget holds two whole timeouts)
/// and outlast a Garage restart (0.7–0.9 s from spawn to healthy for a single node on
/// loopback; the test `misc::default_retries_outlast_a_garage_restart` adds a 3 s outage) with
/// room for a slower host.
///
/// ```
/// use std::time::Duration;
/// use garage_client::RetryConfig;
/// let quick = RetryConfig::default()
///     .with_max_retries(2)
///     .with_retry_timeout(Duration::from_secs(2));
/// assert_eq!(RetryConfig::disabled().max_retries, 0);
/// # let _ = quick;
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryConfig {
    /// Retries after the first attempt; 0 disables retrying (default 10).
    pub max_retries: usize,
    /// Time budget from the first attempt: no retry starts after it (default 180 s, as
    /// object_store's: room for two timed-out attempts at the default timeouts and a third).
    pub retry_timeout: Duration,
    /// Delays between attempts (always with jitter).
    pub backoff: BackoffConfig,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_retries: 10,
            retry_timeout: Duration::from_secs(180),
            backoff: BackoffConfig::default(),
        }
    }
}

impl RetryConfig {
    /// No retries: every request is sent once.
    pub fn disabled() -> Self {
        RetryConfig {
            max_retries: 0,
            ..RetryConfig::default()
        }
    }
    /// Sets [`Self::max_retries`].
    pub fn with_max_retries(mut self, max_retries: usize) -> Self {
        self.max_retries = max_retries;
        self
    }
    /// Sets [`Self::retry_timeout`].
    pub fn with_retry_timeout(mut self, timeout: Duration) -> Self {
        self.retry_timeout = timeout;
        self
    }
    /// Sets [`Self::backoff`].
    pub fn with_backoff(mut self, backoff: BackoffConfig) -> Self {
        self.backoff = backoff;
        self
    }

    /// The longest delay before retry number `retry` (0-based): `init_backoff × base^retry`,
    /// at most `max_backoff`.
    pub(crate) fn ceiling(&self, retry: usize) -> Duration {
        let b = &self.backoff;
        let exp = i32::try_from(retry).unwrap_or(i32::MAX);
        let secs = b.init_backoff.as_secs_f64() * b.base.max(1.0).powi(exp);
        let max = b.max_backoff.as_secs_f64();
        Duration::from_secs_f64(if secs.is_finite() { secs.min(max) } else { max })
    }

    /// Full jitter: uniform in `[0, ceiling(retry))`, so clients failing together do not
    /// retry together.
    pub(crate) fn delay(&self, retry: usize) -> Duration {
        self.ceiling(retry).mul_f64(unit_random())
    }
}

/// A uniform `f64` in `[0, 1)` from std's randomly keyed SipHash (jitter needs no better, and
/// no random-number crate).
fn unit_random() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    h.write_u32(nanos);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Exponential backoff between retries: `init_backoff`, multiplied by `base` after each
/// attempt, at most `max_backoff`, with jitter.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BackoffConfig {
    /// First delay (default 100 ms).
    pub init_backoff: Duration,
    /// Longest delay (default 5 s).
    pub max_backoff: Duration,
    /// Growth factor per attempt (default 2).
    pub base: f64,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            base: 2.0,
        }
    }
}

impl BackoffConfig {
    /// Sets [`Self::init_backoff`].
    pub fn with_init_backoff(mut self, delay: Duration) -> Self {
        self.init_backoff = delay;
        self
    }
    /// Sets [`Self::max_backoff`].
    pub fn with_max_backoff(mut self, delay: Duration) -> Self {
        self.max_backoff = delay;
        self
    }
    /// Sets [`Self::base`].
    pub fn with_base(mut self, base: f64) -> Self {
        self.base = base;
        self
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

impl MultipartConfig {
    /// Sets [`Self::threshold`].
    pub fn with_threshold(mut self, bytes: u64) -> Self {
        self.threshold = bytes;
        self
    }
    /// Sets [`Self::part_size`].
    pub fn with_part_size(mut self, bytes: usize) -> Self {
        self.part_size = bytes;
        self
    }
    /// Sets [`Self::concurrency`].
    pub fn with_concurrency(mut self, parts: usize) -> Self {
        self.concurrency = parts;
        self
    }
    /// Sets [`Self::max_parts`].
    pub fn with_max_parts(mut self, parts: u32) -> Self {
        self.max_parts = parts;
        self
    }
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

impl DownloadConfig {
    /// Sets [`Self::threshold`].
    pub fn with_threshold(mut self, bytes: u64) -> Self {
        self.threshold = bytes;
        self
    }
    /// Sets [`Self::part_size`].
    pub fn with_part_size(mut self, bytes: u64) -> Self {
        self.part_size = bytes;
        self
    }
    /// Sets [`Self::concurrency`].
    pub fn with_concurrency(mut self, streams: usize) -> Self {
        self.concurrency = streams;
        self
    }
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

/// Variables read by the builders' `from_env` / `from_vars`.
pub(crate) struct Vars(std::collections::HashMap<String, String>);

impl Vars {
    /// The process environment (variables that are not valid UTF-8 are skipped).
    pub(crate) fn env() -> Self {
        Vars(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        )
    }

    /// Name/value pairs.
    pub(crate) fn from_pairs<K: AsRef<str>, V: AsRef<str>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Vars(
            vars.into_iter()
                .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned()))
                .collect(),
        )
    }

    /// The first non-empty variable among `names`.
    pub(crate) fn first(&self, names: &[&str]) -> Option<String> {
        names
            .iter()
            .find_map(|n| self.0.get(*n).filter(|v| !v.trim().is_empty()).cloned())
    }
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
        let vars = Vars::from_pairs([("A", ""), ("B", "b")]);
        assert_eq!(vars.first(&["A", "B"]).as_deref(), Some("b"));
        assert_eq!(vars.first(&["C"]), None);
    }

    #[test]
    fn config_setters_set_what_they_name() {
        let http = HttpConfig::default()
            .with_connect_timeout(Duration::from_secs(1))
            .with_read_timeout(Duration::from_secs(2))
            .with_request_timeout(Duration::from_secs(3))
            .with_retry(
                RetryConfig::default()
                    .with_max_retries(4)
                    .with_retry_timeout(Duration::from_secs(5))
                    .with_backoff(
                        BackoffConfig::default()
                            .with_init_backoff(Duration::from_millis(6))
                            .with_max_backoff(Duration::from_millis(7))
                            .with_base(8.0),
                    ),
            );
        assert_eq!(
            (
                http.connect_timeout,
                http.read_timeout,
                http.request_timeout
            ),
            (
                Duration::from_secs(1),
                Duration::from_secs(2),
                Duration::from_secs(3)
            )
        );
        assert_eq!(http.retry.max_retries, 4);
        assert_eq!(http.retry.retry_timeout, Duration::from_secs(5));
        assert_eq!(
            (
                http.retry.backoff.init_backoff,
                http.retry.backoff.max_backoff,
                http.retry.backoff.base
            ),
            (Duration::from_millis(6), Duration::from_millis(7), 8.0)
        );
        assert_eq!(RetryConfig::disabled().max_retries, 0);
        // The defaults that outlast a Garage restart.
        let d = RetryConfig::default();
        assert_eq!(
            (d.max_retries, d.retry_timeout),
            (10, Duration::from_secs(180))
        );
        assert_eq!(
            (
                d.backoff.init_backoff,
                d.backoff.max_backoff,
                d.backoff.base
            ),
            (Duration::from_millis(100), Duration::from_secs(5), 2.0)
        );
        let mp = MultipartConfig::default()
            .with_threshold(1)
            .with_part_size(2)
            .with_concurrency(3)
            .with_max_parts(4);
        assert_eq!(
            (mp.threshold, mp.part_size, mp.concurrency, mp.max_parts),
            (1, 2, 3, 4)
        );
        let dl = DownloadConfig::default()
            .with_threshold(1)
            .with_part_size(2)
            .with_concurrency(3);
        assert_eq!((dl.threshold, dl.part_size, dl.concurrency), (1, 2, 3));
    }

    #[test]
    fn backoff_grows_caps_and_jitters_below_its_ceiling() {
        let r = RetryConfig::default();
        assert_eq!(r.ceiling(0), Duration::from_millis(100));
        assert_eq!(r.ceiling(1), Duration::from_millis(200));
        assert_eq!(r.ceiling(5), Duration::from_millis(3200));
        assert_eq!(
            r.ceiling(6),
            Duration::from_secs(5),
            "capped at max_backoff"
        );
        assert_eq!(r.ceiling(usize::MAX), Duration::from_secs(5), "no overflow");
        let delays: Vec<Duration> = (0..200).map(|_| r.delay(3)).collect();
        assert!(delays.iter().all(|d| *d < r.ceiling(3)));
        // Full jitter spreads the delays: not all the same, some in each half of the range.
        let half = r.ceiling(3) / 2;
        assert!(delays.iter().any(|d| *d < half) && delays.iter().any(|d| *d >= half));
    }

    #[test]
    fn default_retry_budget_outlasts_two_timed_out_attempts() {
        // A timed-out attempt has used a whole timeout before the budget is checked: a budget
        // shorter than that never retries a timeout at all (it was 30 s against 60 s timeouts).
        let d = HttpConfig::default();
        let slowest_attempt = d.read_timeout.max(d.request_timeout) + Duration::from_secs(2);
        assert!(
            d.retry.retry_timeout > 2 * (slowest_attempt + d.retry.backoff.max_backoff),
            "{d:?}"
        );
    }
}
