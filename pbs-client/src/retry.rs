//! Retry settings of idempotent requests (object_store's retry module is the model).

use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, Instant};

/// Bounded retries of idempotent requests (object_store's retry module is the model).
///
/// Only reads (`GET`) are retried, on connect errors, timeouts and HTTP 429 and 502-504; a
/// `Retry-After` sent by the server is honoured (capped at [`BackoffConfig::max_backoff`]).
///
/// ```
/// use std::time::Duration;
/// use pbs_client::{BackoffConfig, RetryConfig};
///
/// let retry = RetryConfig::default()
///     .with_max_retries(5)
///     .with_retry_timeout(Duration::from_secs(60))
///     .with_backoff(BackoffConfig::default().with_max_backoff(Duration::from_secs(5)));
/// assert_eq!(retry.max_retries, 5);
/// assert_eq!(RetryConfig::disabled().max_retries, 0);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryConfig {
    /// Retries after the first attempt; 0 disables retrying (default 3).
    pub max_retries: usize,
    /// Time budget from the first attempt: no retry starts after it (default 30 s).
    pub retry_timeout: Duration,
    /// Delays between attempts (always with full jitter).
    pub backoff: BackoffConfig,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(30),
            backoff: BackoffConfig::default(),
        }
    }
}

impl RetryConfig {
    /// No retries: every request is sent once.
    pub fn disabled() -> Self {
        RetryConfig {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Retries after the first attempt (0 disables retrying).
    pub fn with_max_retries(mut self, max_retries: usize) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// Time budget from the first attempt; no retry starts after it.
    pub fn with_retry_timeout(mut self, retry_timeout: Duration) -> Self {
        self.retry_timeout = retry_timeout;
        self
    }

    /// Delays between attempts.
    pub fn with_backoff(mut self, backoff: BackoffConfig) -> Self {
        self.backoff = backoff;
        self
    }

    /// The delay before the next retry, or `None` when the budget is spent: `retry_after` (the
    /// server's, capped at `max_backoff`) or the jittered `backoff`, and never a retry starting
    /// after `retry_timeout` from `started`.
    pub(crate) fn next_delay(
        &self,
        started: Instant,
        backoff: Option<Duration>,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        let delay = match (retry_after, backoff) {
            (_, None) => return None,
            (Some(ra), Some(_)) => ra.min(self.backoff.max_backoff),
            (None, Some(d)) => full_jitter(d),
        };
        (started.elapsed() + delay <= self.retry_timeout).then_some(delay)
    }
}

/// Exponential backoff between retries: `init_backoff`, times `base` per attempt, at most
/// `max_backoff`, each delay drawn uniformly from zero to that value (full jitter).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BackoffConfig {
    /// The first delay before jitter (default 200 ms).
    pub init_backoff: Duration,
    /// The longest delay (default 10 s); also caps a server's `Retry-After`.
    pub max_backoff: Duration,
    /// Growth factor per attempt (default 2).
    pub base: f64,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            init_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            base: 2.0,
        }
    }
}

impl BackoffConfig {
    /// The first delay before jitter.
    pub fn with_init_backoff(mut self, init_backoff: Duration) -> Self {
        self.init_backoff = init_backoff;
        self
    }

    /// The longest delay (also the cap of a server's `Retry-After`).
    pub fn with_max_backoff(mut self, max_backoff: Duration) -> Self {
        self.max_backoff = max_backoff;
        self
    }

    /// Growth factor per attempt.
    pub fn with_base(mut self, base: f64) -> Self {
        self.base = base;
        self
    }
}

/// A delay drawn uniformly from `[0, d]`.
fn full_jitter(d: Duration) -> Duration {
    // A fresh `RandomState` is randomly keyed: enough randomness for spreading retries.
    let bits = RandomState::new().hash_one(Instant::now());
    let fraction = (bits >> 11) as f64 / (1u64 << 53) as f64;
    d.mul_f64(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_previous_behaviour() {
        let r = RetryConfig::default();
        assert_eq!(r.max_retries, 3);
        assert_eq!(r.retry_timeout, Duration::from_secs(30));
        assert_eq!(r.backoff.init_backoff, Duration::from_millis(200));
        assert_eq!(r.backoff.max_backoff, Duration::from_secs(10));
        assert_eq!(r.backoff.base, 2.0);
        assert_eq!(RetryConfig::disabled().max_retries, 0);
    }

    #[test]
    fn jitter_stays_within_the_delay_and_varies() {
        let d = Duration::from_millis(800);
        let draws: Vec<_> = (0..64).map(|_| full_jitter(d)).collect();
        assert!(draws.iter().all(|j| *j <= d), "{draws:?}");
        assert!(draws.iter().any(|j| *j != draws[0]), "{draws:?}");
    }

    #[test]
    fn retry_after_is_capped_and_the_budget_ends_retries() {
        let r = RetryConfig::default()
            .with_retry_timeout(Duration::from_secs(5))
            .with_backoff(BackoffConfig::default().with_max_backoff(Duration::from_secs(2)));
        let now = Instant::now();
        let one = Some(Duration::from_secs(1));
        assert_eq!(
            r.next_delay(now, one, Some(Duration::from_secs(60))),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            r.next_delay(now, one, Some(Duration::ZERO)),
            Some(Duration::ZERO)
        );
        assert!(r.next_delay(now, one, None).unwrap() <= Duration::from_secs(1));
        // The backoff itself is exhausted.
        assert_eq!(r.next_delay(now, None, Some(Duration::ZERO)), None);
        // A retry that would start after the budget does not happen.
        let r = r.with_retry_timeout(Duration::ZERO);
        assert_eq!(r.next_delay(now, one, Some(Duration::from_secs(1))), None);
    }
}
