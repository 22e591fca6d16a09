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

/// Velero's default backup TTL, used when `spec.ttl` is zero or absent
/// (`defaultBackupTTL = 30 * 24 * time.Hour`, velero `pkg/cmd/server/config/config.go`).
pub const DEFAULT_TTL: SignedDuration = SignedDuration::from_hours(720);

/// Parses a Velero TTL (`spec.ttl`, `velero backup create --ttl`) as Velero does: a Go
/// `time.ParseDuration` (`metav1.Duration`), so `720h0m0s`, `1.5h`, `500ms` are accepted and `7d`
/// is not. A zero TTL (`0`, `0s`, `0h0m0s`) means the server's default, 720h
/// ([`DEFAULT_TTL`]; the backup controller fills it in), not "expires at creation".
///
/// # Errors
/// [`Error::Policy`] with Go's message when Go would reject the text, or for a negative TTL
/// (Velero would expire such a backup as soon as it is created).
pub fn parse_ttl(s: &str) -> Result<SignedDuration> {
    let d = crate::duration::parse_go_duration(s)?;
    if d.is_negative() {
        return Err(Error::policy(format!(
            "negative TTL {s:?}: Velero would expire the backup as soon as it is created"
        )));
    }
    Ok(if d.is_zero() { DEFAULT_TTL } else { d })
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
        let h = SignedDuration::from_hours;
        assert_eq!(parse_ttl("720h0m0s").unwrap(), h(720));
        assert_eq!(parse_ttl("168h").unwrap(), h(168));
        assert_eq!(parse_ttl("1.5h").unwrap(), SignedDuration::from_mins(90));
        assert_eq!(parse_ttl("1h30m").unwrap(), SignedDuration::from_mins(90));
        assert_eq!(
            parse_ttl("500ms").unwrap(),
            SignedDuration::from_millis(500)
        );
        // zero means the server default, not "expired at creation"
        for zero in ["0", "0s", "0h0m0s", "+0", "-0"] {
            assert_eq!(parse_ttl(zero).unwrap(), DEFAULT_TTL, "{zero}");
        }
        for bad in [
            "", "7d", "1w", "7w", "h", "-1h", "30", " 1h", "1h ", "1 h", "1H",
        ] {
            assert!(parse_ttl(bad).is_err(), "{bad:?}");
        }
        let e = parse_ttl("7d").unwrap_err().to_string();
        assert!(e.contains("unknown unit \"d\""), "{e}");
    }

    #[test]
    fn zero_ttl_backup_expires_after_the_default() {
        let created: Timestamp = "2026-11-01T02:00:00Z".parse().unwrap();
        let b = VeleroBackup::new("b", created, parse_ttl("0").unwrap());
        assert_eq!(b.expires_at().to_string(), "2026-12-01T02:00:00Z");
    }
}
