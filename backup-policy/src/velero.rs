//! Velero TTL expiry: a backup expires at `status.expiration`, or `creation + spec.ttl` when the
//! status has none; Velero's garbage collector (hourly by default) then deletes it.
//!
//! ```
//! use backup_policy::velero::{parse_ttl, VeleroBackup};
//!
//! let b = VeleroBackup::new("prod-daily-20261120020000", "2026-11-20T02:00:00Z".parse()?, parse_ttl("168h0m0s")?);
//! assert!(b.is_expired("2026-11-27T02:00:00Z".parse()?));
//! assert!(!b.is_expired("2026-11-27T01:59:59Z".parse()?));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use jiff::{SignedDuration, Timestamp};

use crate::error::{Error, Result};

/// Parses a TTL or duration: Go's `720h0m0s` form, plus `d` for days (`7d`, `30d`, `1h30m`).
///
/// # Errors
/// [`Error::Policy`] when the text is not a non-negative duration.
pub fn parse_ttl(s: &str) -> Result<SignedDuration> {
    let bad = || {
        Error::policy(format!(
            "invalid duration {s:?} (use e.g. 7d, 720h0m0s, 90m)"
        ))
    };
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    if rest == "0" {
        return Ok(SignedDuration::ZERO);
    }
    let mut total: i64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: i64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
        let mult = match &rest[..unit_len] {
            "d" => 86_400,
            "h" => 3_600,
            "m" => 60,
            "s" => 1,
            _ => return Err(bad()),
        };
        total = n
            .checked_mul(mult)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        rest = rest[unit_len..].trim_start();
    }
    Ok(SignedDuration::from_secs(total))
}

/// The retention-relevant view of a Velero `Backup`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VeleroBackup {
    /// Backup name.
    pub name: String,
    /// `metadata.creationTimestamp`.
    pub created: Timestamp,
    /// `spec.ttl`.
    pub ttl: SignedDuration,
    /// `status.expiration`, when set.
    pub expiration: Option<Timestamp>,
}

impl VeleroBackup {
    /// A backup with no explicit expiration.
    pub fn new(name: impl Into<String>, created: Timestamp, ttl: SignedDuration) -> Self {
        VeleroBackup {
            name: name.into(),
            created,
            ttl,
            expiration: None,
        }
    }

    /// Sets `status.expiration`.
    #[must_use]
    pub fn with_expiration(mut self, e: Timestamp) -> Self {
        self.expiration = Some(e);
        self
    }

    /// When the backup expires.
    pub fn expires_at(&self) -> Timestamp {
        self.expiration.unwrap_or_else(|| {
            self.created
                .saturating_add(self.ttl)
                .unwrap_or(Timestamp::MAX)
        })
    }

    /// True once `now` has reached the expiry.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires_at()
    }
}

/// Splits backups into (kept, expired) indices at `now`.
pub fn expire(backups: &[VeleroBackup], now: Timestamp) -> (Vec<usize>, Vec<usize>) {
    (0..backups.len()).partition(|&i| !backups[i].is_expired(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_forms() {
        assert_eq!(
            parse_ttl("720h0m0s").unwrap(),
            SignedDuration::from_hours(720)
        );
        assert_eq!(parse_ttl("7d").unwrap(), SignedDuration::from_hours(168));
        assert_eq!(parse_ttl("1h30m").unwrap(), SignedDuration::from_mins(90));
        assert_eq!(parse_ttl("0").unwrap(), SignedDuration::ZERO);
        for bad in ["", "7w", "h", "-1h", "1.5h"] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
    }
}
