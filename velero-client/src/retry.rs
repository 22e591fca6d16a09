//! Bounded retries (object_store's retry module is the model): the object-store downloads are
//! retried here; the apiserver's 429/503/504 answers are retried by kube-rs's own policy, which
//! [`RetryConfig::disabled`] turns off.

use std::time::Duration;

/// Bounded retries of idempotent requests (object_store's retry module is the model).
///
/// Object-store downloads (GET of a presigned URL) are retried on 429 and 5xx, honouring
/// `Retry-After` (capped at 10 s) while the budget lasts. Apiserver calls go through kube-rs,
/// whose built-in policy retries 429/503/504 with its own backoff and honours `Retry-After`;
/// `max_retries == 0` turns that policy off too (kube-rs does not take our numbers).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryConfig {
    /// Retries after the first attempt; 0 disables retrying.
    pub max_retries: usize,
    /// Time budget from the first attempt: no retry starts after it.
    pub retry_timeout: Duration,
    /// Delays between attempts (always with full jitter).
    pub backoff: BackoffConfig,
}

impl Default for RetryConfig {
    /// 3 retries within 3 minutes, backoff from 200 ms doubling up to 60 s.
    fn default() -> Self {
        Self {
            max_retries: 3,
            retry_timeout: Duration::from_secs(180),
            backoff: BackoffConfig::default(),
        }
    }
}

impl RetryConfig {
    /// No retries at all (downloads and kube-rs's policy).
    pub fn disabled() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Sets the number of retries after the first attempt.
    pub fn with_max_retries(mut self, max_retries: usize) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// Sets the time budget from the first attempt.
    pub fn with_retry_timeout(mut self, retry_timeout: Duration) -> Self {
        self.retry_timeout = retry_timeout;
        self
    }

    /// Sets the delays between attempts.
    pub fn with_backoff(mut self, backoff: BackoffConfig) -> Self {
        self.backoff = backoff;
        self
    }

    /// Whether retries are on at all.
    pub(crate) fn enabled(&self) -> bool {
        self.max_retries > 0
    }

    /// The delay before retry number `retry` (0 for the first retry), before jitter.
    pub(crate) fn ceiling(&self, retry: usize) -> Duration {
        let b = &self.backoff;
        let exp = i32::try_from(retry).unwrap_or(i32::MAX);
        let secs = b.init_backoff.as_secs_f64() * b.base.max(1.0).powi(exp);
        let max = b.max_backoff.as_secs_f64();
        Duration::from_secs_f64(if secs.is_finite() { secs.min(max) } else { max })
    }

    /// The delay before retry number `retry`: full jitter, uniform in `[0, ceiling]`.
    pub(crate) fn delay(&self, retry: usize) -> Duration {
        self.ceiling(retry).mul_f64(unit_random())
    }
}

/// Delays between attempts: `init_backoff * base^n`, capped at `max_backoff`, with full jitter.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BackoffConfig {
    /// The first delay's ceiling.
    pub init_backoff: Duration,
    /// The largest delay's ceiling.
    pub max_backoff: Duration,
    /// Growth factor per retry.
    pub base: f64,
}

impl Default for BackoffConfig {
    /// 200 ms, doubling, at most 60 s (the values downloads used before).
    fn default() -> Self {
        Self {
            init_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(60),
            base: 2.0,
        }
    }
}

impl BackoffConfig {
    /// Sets the first delay's ceiling.
    pub fn with_init_backoff(mut self, d: Duration) -> Self {
        self.init_backoff = d;
        self
    }

    /// Sets the largest delay's ceiling.
    pub fn with_max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }

    /// Sets the growth factor.
    pub fn with_base(mut self, base: f64) -> Self {
        self.base = base;
        self
    }
}

/// A uniform number in `[0, 1]` from std's randomly keyed hasher (no RNG dependency).
fn unit_random() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(jiff::Timestamp::now().as_nanosecond() as u64);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_keep_the_previous_download_retries() {
        let c = RetryConfig::default();
        assert_eq!(c.max_retries, 3);
        assert_eq!(c.retry_timeout, Duration::from_secs(180));
        assert_eq!(c.ceiling(0), Duration::from_millis(200));
        assert_eq!(c.ceiling(1), Duration::from_millis(400));
        assert_eq!(c.ceiling(2), Duration::from_millis(800));
        assert!(c.enabled());
        assert!(!RetryConfig::disabled().enabled());
        assert_eq!(RetryConfig::disabled().backoff, BackoffConfig::default());
    }

    #[test]
    fn backoff_is_capped_and_jittered_below_the_ceiling() {
        let c = RetryConfig::default()
            .with_max_retries(50)
            .with_retry_timeout(Duration::from_secs(5))
            .with_backoff(
                BackoffConfig::default()
                    .with_init_backoff(Duration::from_secs(1))
                    .with_max_backoff(Duration::from_secs(8))
                    .with_base(3.0),
            );
        assert_eq!(c.max_retries, 50);
        assert_eq!(c.retry_timeout, Duration::from_secs(5));
        assert_eq!(c.ceiling(1), Duration::from_secs(3));
        assert_eq!(c.ceiling(2), Duration::from_secs(8));
        assert_eq!(c.ceiling(10_000), Duration::from_secs(8));
        let delays: Vec<Duration> = (0..64).map(|_| c.delay(5)).collect();
        assert!(
            delays.iter().all(|d| *d <= Duration::from_secs(8)),
            "{delays:?}"
        );
        // Full jitter: not every delay is the ceiling.
        assert!(
            delays.iter().any(|d| *d < Duration::from_secs(7)),
            "{delays:?}"
        );
    }
}
