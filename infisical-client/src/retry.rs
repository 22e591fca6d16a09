//! [`RetryConfig`] and [`BackoffConfig`]: how often, how long and how far apart requests are
//! retried. Pure code; the transport drives the retries.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

/// Bounded retries of idempotent requests (object_store's retry module is the model).
///
/// Which answers are retried: 429 for every request (Infisical refused before doing anything),
/// 502–504 and connection errors only for reads. A `Retry-After` (429, 503) replaces the
/// backoff delay, and one longer than [`BackoffConfig::max_backoff`] or reaching past
/// [`RetryConfig::retry_timeout`] fails at once with
/// [`Error::RateLimited`](crate::Error::RateLimited) (or the 503 itself).
///
/// ```
/// use infisical_client::{BackoffConfig, Client, RetryConfig};
/// use std::time::Duration;
///
/// let retry = RetryConfig::default()
///     .with_max_retries(5)
///     .with_retry_timeout(Duration::from_secs(30))
///     .with_backoff(BackoffConfig::default().with_init_backoff(Duration::from_millis(100)));
/// let builder = Client::builder().with_retry(retry);
/// let no_retries = Client::builder().with_retry(RetryConfig::disabled());
/// # let _ = (builder, no_retries);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryConfig {
    /// Retries after the first attempt; 0 disables retrying (default 3).
    pub max_retries: usize,
    /// Time budget from the first attempt: no retry starts after it (default 120 s).
    pub retry_timeout: Duration,
    /// Delays between attempts (always with full jitter).
    pub backoff: BackoffConfig,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_retries: 3,
            retry_timeout: Duration::from_secs(120),
            backoff: BackoffConfig::default(),
        }
    }
}

impl RetryConfig {
    /// No retries at all: every request is sent once, a 429 fails at once.
    pub fn disabled() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Retries after the first attempt.
    #[must_use]
    pub fn with_max_retries(mut self, max_retries: usize) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// Time budget from the first attempt.
    #[must_use]
    pub fn with_retry_timeout(mut self, retry_timeout: Duration) -> Self {
        self.retry_timeout = retry_timeout;
        self
    }

    /// Delays between attempts.
    #[must_use]
    pub fn with_backoff(mut self, backoff: BackoffConfig) -> Self {
        self.backoff = backoff;
        self
    }
}

/// Exponential backoff with full jitter: before retry `n` (0-based) the client waits a random
/// time in `0..=min(max_backoff, init_backoff * base^n)`.
///
/// `max_backoff` is also the longest `Retry-After` the client waits out; a server asking for a
/// longer wait gets an error at once.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BackoffConfig {
    /// The cap of the first delay (default 250 ms).
    pub init_backoff: Duration,
    /// The longest single wait between two attempts, `Retry-After` included (default 60 s).
    pub max_backoff: Duration,
    /// The factor by which the cap grows per retry (default 2).
    pub base: f64,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        Self {
            init_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(60),
            base: 2.0,
        }
    }
}

impl BackoffConfig {
    /// The cap of the first delay.
    #[must_use]
    pub fn with_init_backoff(mut self, init_backoff: Duration) -> Self {
        self.init_backoff = init_backoff;
        self
    }

    /// The longest single wait, `Retry-After` included.
    #[must_use]
    pub fn with_max_backoff(mut self, max_backoff: Duration) -> Self {
        self.max_backoff = max_backoff;
        self
    }

    /// The growth factor per retry.
    #[must_use]
    pub fn with_base(mut self, base: f64) -> Self {
        self.base = base;
        self
    }

    /// The upper bound of the delay before retry `n` (0-based): `min(max_backoff,
    /// init_backoff * base^n)`.
    pub(crate) fn cap(&self, n: usize) -> Duration {
        let exp = i32::try_from(n).unwrap_or(i32::MAX);
        let secs = self.init_backoff.as_secs_f64() * self.base.max(1.0).powi(exp);
        Duration::try_from_secs_f64(secs)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }
}

/// The delays of one request's retries, for backon: `max_retries` full-jitter delays.
#[derive(Debug)]
pub(crate) struct Delays {
    backoff: BackoffConfig,
    next: usize,
    max_retries: usize,
}

impl Delays {
    pub(crate) fn new(config: &RetryConfig) -> Self {
        Self {
            backoff: config.backoff.clone(),
            next: 0,
            max_retries: config.max_retries,
        }
    }
}

impl Iterator for Delays {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        if self.next >= self.max_retries {
            return None;
        }
        let cap = self.backoff.cap(self.next);
        self.next += 1;
        Some(full_jitter(cap))
    }
}

/// A uniformly random duration in `0..=cap` (std's per-instance random hash keys are the
/// randomness; jitter needs no stronger source).
fn full_jitter(cap: Duration) -> Duration {
    let r = RandomState::new().hash_one(0u8);
    // 53 random bits → [0, 1].
    let fraction = (r >> 11) as f64 / ((1u64 << 53) - 1) as f64;
    cap.mul_f64(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_crates_bounds() {
        let c = RetryConfig::default();
        assert_eq!(c.max_retries, 3);
        assert_eq!(c.retry_timeout, Duration::from_secs(120));
        assert_eq!(c.backoff.init_backoff, Duration::from_millis(250));
        assert_eq!(c.backoff.max_backoff, Duration::from_secs(60));
        assert_eq!(c.backoff.base, 2.0);
        assert_eq!(RetryConfig::disabled().max_retries, 0);
        assert_eq!(Delays::new(&RetryConfig::disabled()).count(), 0);
    }

    #[test]
    fn setters_set() {
        let b = BackoffConfig::default()
            .with_init_backoff(Duration::from_millis(10))
            .with_max_backoff(Duration::from_secs(1))
            .with_base(3.0);
        let c = RetryConfig::default()
            .with_max_retries(7)
            .with_retry_timeout(Duration::from_secs(9))
            .with_backoff(b.clone());
        assert_eq!(
            (c.max_retries, c.retry_timeout, c.backoff.clone()),
            (7, Duration::from_secs(9), b)
        );
        assert_eq!(c.backoff.init_backoff, Duration::from_millis(10));
        assert_eq!(c.backoff.max_backoff, Duration::from_secs(1));
        assert_eq!(c.backoff.base, 3.0);
    }

    #[test]
    fn caps_grow_by_base_up_to_max() {
        let b = BackoffConfig::default();
        let caps: Vec<u128> = (0..12).map(|n| b.cap(n).as_millis()).collect();
        assert_eq!(
            caps,
            [
                250, 500, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000, 60000
            ]
        );
        assert_eq!(b.cap(usize::MAX), b.max_backoff);
        // A base below 1 would shrink the delays; it counts as 1.
        assert_eq!(b.clone().with_base(0.5).cap(5), b.init_backoff);
    }

    #[test]
    fn delays_are_full_jitter_within_the_caps() {
        let c = RetryConfig::default().with_max_retries(6);
        let b = c.backoff.clone();
        let mut below_half = 0;
        for _ in 0..200 {
            let delays: Vec<Duration> = Delays::new(&c).collect();
            assert_eq!(delays.len(), 6);
            for (n, d) in delays.iter().enumerate() {
                assert!(*d <= b.cap(n), "retry {n}: {d:?} > {:?}", b.cap(n));
                if *d < b.cap(n) / 2 {
                    below_half += 1;
                }
            }
        }
        // Full jitter, not "delay plus up to delay": about half of all delays are below half
        // their cap.
        assert!((300..900).contains(&below_half), "{below_half} of 1200");
    }
}
