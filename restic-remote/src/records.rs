//! What restic reports that errors carry too: the backup summary and a lock in the way.
//!
//! Plain data with no dependency on [`crate::Error`], so the error module and the output parsers
//! both use it without depending on each other. Re-exported from [`crate::output`].

use jiff::Timestamp;
use serde::Deserialize;

/// The `summary` line of `backup --json`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct BackupSummary {
    /// New files.
    pub files_new: u64,
    /// Changed files.
    pub files_changed: u64,
    /// Unmodified files.
    pub files_unmodified: u64,
    /// New directories.
    pub dirs_new: u64,
    /// Changed directories.
    pub dirs_changed: u64,
    /// Unmodified directories.
    pub dirs_unmodified: u64,
    /// Data blobs added.
    pub data_blobs: i64,
    /// Tree blobs added.
    pub tree_blobs: i64,
    /// Bytes added (uncompressed).
    pub data_added: u64,
    /// Bytes added as stored (0.17+).
    pub data_added_packed: Option<u64>,
    /// Files processed.
    pub total_files_processed: u64,
    /// Bytes processed.
    pub total_bytes_processed: u64,
    /// Seconds.
    pub total_duration: f64,
    /// Start (0.18+).
    pub backup_start: Option<Timestamp>,
    /// End (0.18+).
    pub backup_end: Option<Timestamp>,
    /// The new snapshot: 8 hex on 0.14, 64 hex from 0.15; absent when no snapshot was written.
    pub snapshot_id: Option<String>,
    /// `--dry-run`.
    pub dry_run: bool,
}

/// A lock restic reported as being in the way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LockInfo {
    /// PID of the locking restic.
    pub pid: Option<u32>,
    /// Host it ran on.
    pub host: Option<String>,
    /// User it ran as.
    pub user: Option<String>,
    /// `exclusively`.
    pub exclusive: bool,
    /// When it was created, as restic printed it.
    pub created: Option<String>,
    /// Age as restic printed it (e.g. `1m2s`).
    pub age: Option<String>,
    /// Storage id of the lock file.
    pub storage_id: Option<String>,
    /// restic calls this lock stale (it prints so from 0.17), or it is older than 30 minutes,
    /// or its process is known to be gone: `unlock` removes it.
    pub stale: bool,
}

/// Parses restic's "repository is already locked" message.
pub(crate) fn parse_lock(stderr: &str) -> Option<LockInfo> {
    let idx = stderr.find("already locked")?;
    let rest = &stderr[idx..];
    let mut info = LockInfo {
        exclusive: rest.starts_with("already locked exclusively"),
        ..LockInfo::default()
    };
    let words: Vec<&str> = rest.split_whitespace().collect();
    for w in words.windows(2) {
        match w {
            ["PID", pid] => info.pid = pid.parse().ok(),
            ["on", host] if info.host.is_none() => info.host = Some((*host).to_owned()),
            ["by", user] if *user != "PID" && info.user.is_none() => {
                info.user = Some((*user).to_owned())
            }
            ["ID", id] => info.storage_id = Some((*id).to_owned()),
            _ => {}
        }
    }
    if let Some(c) = rest.find("lock was created at ") {
        let line = rest[c + "lock was created at ".len()..]
            .lines()
            .next()
            .unwrap_or_default();
        if let Some((when, age)) = line.split_once(" (") {
            info.created = Some(when.trim().to_owned());
            let age = age
                .trim_end_matches(')')
                .trim_end_matches(" ago")
                .to_owned();
            info.stale = age_at_least_30_minutes(&age);
            info.age = Some(age);
        }
    }
    if rest.contains("stale") && rest.contains("lock is stale") {
        info.stale = true;
    }
    Some(info)
}

fn age_at_least_30_minutes(age: &str) -> bool {
    // Go durations: "1h2m3.5s", "45m0s", "12.3s".
    if age.contains('h') {
        return true;
    }
    age.split_once('m')
        .and_then(|(m, _)| m.parse::<u64>().ok())
        .is_some_and(|m| m >= 30)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_messages() {
        let l = parse_lock("repository is already locked by PID 7 on h by u (UID 1, GID 1)\nlock was created at 2026-11-27 05:00:00 (2h0m0s ago)\nstorage ID 01234567\n").unwrap();
        assert_eq!((l.pid, l.exclusive, l.stale), (Some(7), false, true));
        let l = parse_lock("repository is already locked exclusively by PID 8 on h by u (UID 1, GID 1)\nlock was created at 2026-11-27 05:00:00 (5m1s ago)\n").unwrap();
        assert!(l.exclusive && !l.stale);
        assert!(parse_lock("Fatal: other").is_none());
    }
}
