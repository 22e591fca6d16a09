//! Request options: keep options, snapshot filters, group references, prune and verify
//! options.

use serde::{Deserialize, Serialize};

use super::{BackupType, push_opt};

/// Prune keep options. PBS applies them last → hourly → daily → weekly → monthly → yearly;
/// `None` omits an option (PBS rejects 0).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
#[non_exhaustive]
pub struct KeepOptions {
    /// Keep the last n snapshots.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_last: Option<u64>,
    /// Keep one per hour for n hours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_hourly: Option<u64>,
    /// Keep one per day for n days.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_daily: Option<u64>,
    /// Keep one per ISO week for n weeks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_weekly: Option<u64>,
    /// Keep one per month for n months.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_monthly: Option<u64>,
    /// Keep one per year for n years.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_yearly: Option<u64>,
}

impl KeepOptions {
    /// No options (PBS then keeps everything).
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets keep-last (restic's `--keep-last`).
    pub fn keep_last(mut self, n: u64) -> Self {
        self.keep_last = Some(n);
        self
    }
    /// Sets keep-hourly (restic's `--keep-hourly`).
    pub fn keep_hourly(mut self, n: u64) -> Self {
        self.keep_hourly = Some(n);
        self
    }
    /// Sets keep-daily (restic's `--keep-daily`).
    pub fn keep_daily(mut self, n: u64) -> Self {
        self.keep_daily = Some(n);
        self
    }
    /// Sets keep-weekly (restic's `--keep-weekly`).
    pub fn keep_weekly(mut self, n: u64) -> Self {
        self.keep_weekly = Some(n);
        self
    }
    /// Sets keep-monthly (restic's `--keep-monthly`).
    pub fn keep_monthly(mut self, n: u64) -> Self {
        self.keep_monthly = Some(n);
        self
    }
    /// Sets keep-yearly (restic's `--keep-yearly`).
    pub fn keep_yearly(mut self, n: u64) -> Self {
        self.keep_yearly = Some(n);
        self
    }
    /// True when at least one option is a positive count (otherwise PBS keeps everything).
    pub fn keeps_something(&self) -> bool {
        [
            self.keep_last,
            self.keep_hourly,
            self.keep_daily,
            self.keep_weekly,
            self.keep_monthly,
            self.keep_yearly,
        ]
        .iter()
        .any(|o| o.is_some_and(|n| n > 0))
    }
}
/// Snapshot list filter (`ns`, `backup-type`, `backup-id`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SnapshotFilter {
    /// Namespace (`None` = root). Listing is not recursive.
    pub ns: Option<String>,
    /// Only this backup type.
    pub backup_type: Option<BackupType>,
    /// Only this backup id.
    pub backup_id: Option<String>,
}

impl SnapshotFilter {
    /// All snapshots of the root namespace.
    pub fn new() -> Self {
        Self::default()
    }
    /// In this namespace.
    pub fn with_ns(mut self, ns: impl Into<String>) -> Self {
        self.ns = Some(ns.into());
        self
    }
    /// Only this group.
    pub fn with_group(mut self, backup_type: BackupType, backup_id: impl Into<String>) -> Self {
        self.backup_type = Some(backup_type);
        self.backup_id = Some(backup_id.into());
        self
    }

    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        push_opt(&mut q, "ns", self.ns.clone());
        push_opt(
            &mut q,
            "backup-type",
            self.backup_type.as_ref().map(|t| t.to_string()),
        );
        push_opt(&mut q, "backup-id", self.backup_id.clone());
        q
    }
}

/// Identifies one backup group.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupRef {
    /// Namespace (`None` = root).
    pub ns: Option<String>,
    /// Backup type.
    pub backup_type: BackupType,
    /// Backup id.
    pub backup_id: String,
}

impl GroupRef {
    /// A group in the root namespace.
    pub fn new(backup_type: BackupType, backup_id: impl Into<String>) -> Self {
        GroupRef {
            ns: None,
            backup_type,
            backup_id: backup_id.into(),
        }
    }
    /// In this namespace.
    pub fn with_ns(mut self, ns: impl Into<String>) -> Self {
        self.ns = Some(ns.into());
        self
    }
}

/// Whether a prune removes snapshots or only reports what it would remove.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PruneMode {
    /// Remove the snapshots the keep options do not keep.
    #[default]
    Remove,
    /// Remove nothing: only answer (or log) the keep/remove decisions.
    DryRun,
}

impl PruneMode {
    /// True for [`PruneMode::DryRun`].
    pub fn is_dry_run(self) -> bool {
        self == PruneMode::DryRun
    }
}

/// How much `GET /admin/datastore/{store}/status` reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum StatusDetail {
    /// Sizes only (total, used, available).
    #[default]
    Summary,
    /// Sizes plus the GC status and the group and snapshot counts (`verbose=true`).
    Verbose,
}

/// Options of `POST /admin/datastore/{store}/prune-datastore`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct PruneDatastoreOptions {
    /// Keep options.
    #[serde(flatten)]
    pub keep: KeepOptions,
    /// Start namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ns: Option<String>,
    /// Recursion depth.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_depth: Option<u64>,
    /// Only log what would be removed (see [`PruneDatastoreOptions::with_mode`]).
    pub dry_run: bool,
}

impl PruneDatastoreOptions {
    /// Prune the whole datastore with these keep options.
    pub fn new(keep: KeepOptions) -> Self {
        PruneDatastoreOptions {
            keep,
            ..Default::default()
        }
    }
    /// Remove, or only log what would be removed ([`PruneMode::DryRun`]).
    pub fn with_mode(mut self, mode: PruneMode) -> Self {
        self.dry_run = mode.is_dry_run();
        self
    }
    /// Start at this namespace.
    pub fn with_ns(mut self, ns: impl Into<String>) -> Self {
        self.ns = Some(ns.into());
        self
    }
    /// Limit the namespace depth.
    pub fn with_max_depth(mut self, depth: u64) -> Self {
        self.max_depth = Some(depth);
        self
    }
}

/// Options of `POST /admin/datastore/{store}/verify`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct VerifyOptions {
    /// Namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ns: Option<String>,
    /// Only this backup type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_type: Option<BackupType>,
    /// Only this backup id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_id: Option<String>,
    /// Only this snapshot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_time: Option<i64>,
    /// Skip already verified snapshots (PBS default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_verified: Option<bool>,
    /// Re-verify snapshots verified more than this many days ago.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outdated_after: Option<i64>,
    /// Namespace recursion depth.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_depth: Option<u64>,
}

impl VerifyOptions {
    /// Verify the whole datastore.
    pub fn new() -> Self {
        Self::default()
    }
    /// Only this group.
    pub fn with_group(mut self, group: &GroupRef) -> Self {
        self.ns = group.ns.clone();
        self.backup_type = Some(group.backup_type.clone());
        self.backup_id = Some(group.backup_id.clone());
        self
    }
    /// Also re-verify already verified snapshots.
    pub fn with_ignore_verified(mut self, ignore: bool) -> Self {
        self.ignore_verified = Some(ignore);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_options_serialize_without_nones() {
        let k = KeepOptions::new().keep_daily(7).keep_weekly(4);
        let v = serde_json::to_value(&k).unwrap();
        assert_eq!(v, serde_json::json!({"keep-daily":7,"keep-weekly":4}));
        assert!(k.keeps_something());
        assert!(!KeepOptions::new().keep_last(0).keeps_something());
        let p = PruneDatastoreOptions::new(k).with_mode(PruneMode::DryRun);
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["dry-run"], true);
        assert_eq!(v["keep-daily"], 7);
    }
}
