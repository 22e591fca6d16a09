//! Typed options of each command and the restic arguments they become. Pure code.

use jiff::Timestamp;

use crate::error::{Error, Result};
use crate::output::ResticVersion;

/// Options of `restic backup`.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct BackupOptions {
    /// Paths to back up (on the host restic runs on).
    pub paths: Vec<String>,
    /// `--exclude` patterns.
    pub excludes: Vec<String>,
    /// `--tag`s.
    pub tags: Vec<String>,
    /// `--host` to record.
    pub host: Option<String>,
    /// `--time` to record (written as UTC).
    pub time: Option<Timestamp>,
    /// `--exclude-caches`.
    pub exclude_caches: bool,
    /// `--one-file-system`.
    pub one_file_system: bool,
    /// `--parent`.
    pub parent: Option<String>,
    /// `--dry-run`.
    pub dry_run: bool,
}

impl BackupOptions {
    /// Back up `paths`.
    pub fn new<I, S>(paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        BackupOptions {
            paths: paths.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }
    /// Adds an `--exclude` pattern.
    pub fn with_exclude(mut self, pattern: impl Into<String>) -> Self {
        self.excludes.push(pattern.into());
        self
    }
    /// Adds a tag.
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }
    /// Sets the host name recorded in the snapshot.
    pub fn with_host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }
    /// Sets the snapshot time.
    pub fn with_time(mut self, time: Timestamp) -> Self {
        self.time = Some(time);
        self
    }
    /// Adds `--exclude-caches` (set the field [`Self::exclude_caches`] for a runtime choice).
    pub fn with_exclude_caches(mut self) -> Self {
        self.exclude_caches = true;
        self
    }
    /// Adds `--dry-run` (set the field [`Self::dry_run`] for a runtime choice).
    pub fn with_dry_run(mut self) -> Self {
        self.dry_run = true;
        self
    }

    pub(crate) fn args(&self) -> Result<Vec<String>> {
        if self.paths.is_empty() {
            return Err(Error::InvalidArgument(
                "backup needs at least one path".into(),
            ));
        }
        let mut a = vec!["backup".to_owned()];
        for e in &self.excludes {
            a.push(format!("--exclude={e}"));
        }
        for t in &self.tags {
            check_tag(t)?;
            a.push(format!("--tag={t}"));
        }
        if let Some(h) = &self.host {
            a.push(format!("--host={h}"));
        }
        if let Some(t) = &self.time {
            a.push(format!("--time={}", t.strftime("%Y-%m-%d %H:%M:%S")));
        }
        if self.exclude_caches {
            a.push("--exclude-caches".into());
        }
        if self.one_file_system {
            a.push("--one-file-system".into());
        }
        if let Some(p) = &self.parent {
            a.push(format!("--parent={p}"));
        }
        if self.dry_run {
            a.push("--dry-run".into());
        }
        a.push("--".into());
        a.extend(self.paths.iter().cloned());
        Ok(a)
    }
}

fn check_tag(t: &str) -> Result<()> {
    if t.contains(',') || t.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "tag {t:?} is empty or contains a comma (restic splits tags on commas)"
        )));
    }
    Ok(())
}

/// Which snapshots a command considers (`--host`, `--tag`, `--path`).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SnapshotFilter {
    /// Any of these hosts.
    pub hosts: Vec<String>,
    /// Snapshots having all of these tags (one `--tag a,b`); several lists are OR-ed.
    pub tags: Vec<Vec<String>>,
    /// Snapshots containing all these paths.
    pub paths: Vec<String>,
}

impl SnapshotFilter {
    /// Every snapshot.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a host.
    pub fn with_host(mut self, host: impl Into<String>) -> Self {
        self.hosts.push(host.into());
        self
    }
    /// Adds a tag list (all of them must be present).
    pub fn with_tags<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tags: I) -> Self {
        self.tags.push(tags.into_iter().map(Into::into).collect());
        self
    }
    /// Adds a path.
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.paths.push(path.into());
        self
    }

    pub(crate) fn push_args(&self, a: &mut Vec<String>) -> Result<()> {
        for h in &self.hosts {
            a.push(format!("--host={h}"));
        }
        for list in &self.tags {
            for t in list {
                check_tag(t)?;
            }
            a.push(format!("--tag={}", list.join(",")));
        }
        for p in &self.paths {
            a.push(format!("--path={p}"));
        }
        Ok(())
    }
}

/// A `--keep-*` count: a number or, on restic ≥ 0.16, unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeepCount {
    /// Keep this many.
    N(u32),
    /// Keep all (`unlimited`, restic ≥ 0.16 only: older versions would delete everything).
    Unlimited,
}

/// `forget`'s retention policy as typed options.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ForgetOptions {
    /// `--keep-last`.
    pub keep_last: Option<KeepCount>,
    /// `--keep-hourly`.
    pub keep_hourly: Option<KeepCount>,
    /// `--keep-daily`.
    pub keep_daily: Option<KeepCount>,
    /// `--keep-weekly`.
    pub keep_weekly: Option<KeepCount>,
    /// `--keep-monthly`.
    pub keep_monthly: Option<KeepCount>,
    /// `--keep-yearly`.
    pub keep_yearly: Option<KeepCount>,
    /// `--keep-within` (restic duration, e.g. `1y2m3d4h`).
    pub keep_within: Option<String>,
    /// `--keep-tag` lists.
    pub keep_tags: Vec<Vec<String>>,
    /// `--group-by` (`host,paths` by default; `Some("")` is one group).
    pub group_by: Option<String>,
    /// Which snapshots to consider.
    pub filter: SnapshotFilter,
    /// `--dry-run`.
    pub dry_run: bool,
    /// `--prune` after forgetting.
    pub prune: bool,
}

impl ForgetOptions {
    /// An empty policy (restic ≥ 0.17 refuses it; add keep options).
    pub fn new() -> Self {
        Self::default()
    }
    /// `--keep-last n`.
    pub fn keep_last(mut self, n: u32) -> Self {
        self.keep_last = Some(KeepCount::N(n));
        self
    }
    /// `--keep-hourly n`.
    pub fn keep_hourly(mut self, n: u32) -> Self {
        self.keep_hourly = Some(KeepCount::N(n));
        self
    }
    /// `--keep-daily n`.
    pub fn keep_daily(mut self, n: u32) -> Self {
        self.keep_daily = Some(KeepCount::N(n));
        self
    }
    /// `--keep-weekly n`.
    pub fn keep_weekly(mut self, n: u32) -> Self {
        self.keep_weekly = Some(KeepCount::N(n));
        self
    }
    /// `--keep-monthly n`.
    pub fn keep_monthly(mut self, n: u32) -> Self {
        self.keep_monthly = Some(KeepCount::N(n));
        self
    }
    /// `--keep-yearly n`.
    pub fn keep_yearly(mut self, n: u32) -> Self {
        self.keep_yearly = Some(KeepCount::N(n));
        self
    }
    /// `--keep-within d` (`[<n>y][<n>m][<n>d][<n>h]`).
    pub fn keep_within(mut self, d: impl Into<String>) -> Self {
        self.keep_within = Some(d.into());
        self
    }
    /// `--keep-tag a,b`: keep snapshots having all of these tags (call again for another list).
    pub fn keep_tag<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tags: I) -> Self {
        self.keep_tags
            .push(tags.into_iter().map(Into::into).collect());
        self
    }
    /// `--group-by`.
    pub fn group_by(mut self, g: impl Into<String>) -> Self {
        self.group_by = Some(g.into());
        self
    }
    /// Restricts to snapshots matching `filter`.
    pub fn with_filter(mut self, filter: SnapshotFilter) -> Self {
        self.filter = filter;
        self
    }
    /// `--dry-run`: report what would be removed, remove nothing (set the field
    /// [`Self::dry_run`] for a runtime choice).
    pub fn dry_run(mut self) -> Self {
        self.dry_run = true;
        self
    }

    fn is_empty_policy(&self) -> bool {
        [
            self.keep_last,
            self.keep_hourly,
            self.keep_daily,
            self.keep_weekly,
            self.keep_monthly,
            self.keep_yearly,
        ]
        .iter()
        .all(Option::is_none)
            && self.keep_within.is_none()
            && self.keep_tags.is_empty()
    }

    pub(crate) fn args(&self, version: &ResticVersion) -> Result<Vec<String>> {
        if self.is_empty_policy() {
            return Err(Error::InvalidArgument(
                "forget needs at least one keep option (an empty policy removes nothing on 0.14 \
                 and is an error from 0.17)"
                    .into(),
            ));
        }
        let mut a = vec!["forget".to_owned()];
        for (flag, v) in [
            ("--keep-last", self.keep_last),
            ("--keep-hourly", self.keep_hourly),
            ("--keep-daily", self.keep_daily),
            ("--keep-weekly", self.keep_weekly),
            ("--keep-monthly", self.keep_monthly),
            ("--keep-yearly", self.keep_yearly),
        ] {
            match v {
                None => {}
                Some(KeepCount::N(n)) => a.push(format!("{flag}={n}")),
                Some(KeepCount::Unlimited) if version.at_least(0, 16, 0) => {
                    a.push(format!("{flag}=unlimited"))
                }
                Some(KeepCount::Unlimited) => {
                    return Err(Error::Unsupported {
                        feature: format!(
                            "{flag} unlimited (restic < 0.16 would remove every snapshot)"
                        ),
                        version: version.to_string(),
                    });
                }
            }
        }
        if let Some(w) = &self.keep_within {
            a.push(format!("--keep-within={w}"));
        }
        for list in &self.keep_tags {
            for t in list {
                check_tag(t)?;
            }
            a.push(format!("--keep-tag={}", list.join(",")));
        }
        if let Some(g) = &self.group_by {
            a.push(format!("--group-by={g}"));
        }
        self.filter.push_args(&mut a)?;
        if self.dry_run {
            a.push("--dry-run".into());
        }
        if self.prune {
            a.push("--prune".into());
        }
        Ok(a)
    }
}

/// Options of `restic restore`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RestoreOptions {
    /// Snapshot id or `latest`.
    pub snapshot: String,
    /// `--target` directory.
    pub target: String,
    /// `--include` patterns.
    pub includes: Vec<String>,
    /// `--exclude` patterns.
    pub excludes: Vec<String>,
    /// `--verify`.
    pub verify: bool,
    /// Which snapshot `latest` means.
    pub filter: SnapshotFilter,
}

impl RestoreOptions {
    /// Restore `snapshot` into `target`.
    pub fn new(snapshot: impl Into<String>, target: impl Into<String>) -> Self {
        RestoreOptions {
            snapshot: snapshot.into(),
            target: target.into(),
            includes: Vec::new(),
            excludes: Vec::new(),
            verify: false,
            filter: SnapshotFilter::default(),
        }
    }
    /// Adds an `--include`.
    pub fn with_include(mut self, p: impl Into<String>) -> Self {
        self.includes.push(p.into());
        self
    }
    /// Adds an `--exclude`.
    pub fn with_exclude(mut self, p: impl Into<String>) -> Self {
        self.excludes.push(p.into());
        self
    }
    /// Adds `--verify`: restic re-reads the restored files (set the field [`Self::verify`] for
    /// a runtime choice).
    pub fn with_verify(mut self) -> Self {
        self.verify = true;
        self
    }

    pub(crate) fn args(&self) -> Result<Vec<String>> {
        let mut a = vec!["restore".to_owned(), format!("--target={}", self.target)];
        for i in &self.includes {
            a.push(format!("--include={i}"));
        }
        for e in &self.excludes {
            a.push(format!("--exclude={e}"));
        }
        if self.verify {
            a.push("--verify".into());
        }
        self.filter.push_args(&mut a)?;
        a.push("--".into());
        a.push(self.snapshot.clone());
        Ok(a)
    }
}

/// `stats --mode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatsMode {
    /// `restore-size` (default).
    #[default]
    RestoreSize,
    /// `files-by-contents`.
    FilesByContents,
    /// `raw-data`.
    RawData,
    /// `blobs-per-file`.
    BlobsPerFile,
}

impl StatsMode {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StatsMode::RestoreSize => "restore-size",
            StatsMode::FilesByContents => "files-by-contents",
            StatsMode::RawData => "raw-data",
            StatsMode::BlobsPerFile => "blobs-per-file",
        }
    }
}

/// Which locks `restic unlock` removes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnlockMode {
    /// Only stale locks (plain `restic unlock`).
    #[default]
    StaleOnly,
    /// Every lock, stale or not (`--remove-all`): only when no other restic uses the repository.
    All,
}

impl UnlockMode {
    pub(crate) fn args(self) -> Vec<String> {
        let mut a = vec!["unlock".to_owned()];
        if self == UnlockMode::All {
            a.push("--remove-all".into());
        }
        a
    }
}

/// Options of `restic check`.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CheckOptions {
    /// `--read-data`.
    pub read_data: bool,
    /// `--read-data-subset` (e.g. `10%`, `1/5`).
    pub read_data_subset: Option<String>,
}

impl CheckOptions {
    pub(crate) fn args(&self) -> Vec<String> {
        let mut a = vec!["check".to_owned()];
        if self.read_data {
            a.push("--read-data".into());
        }
        if let Some(s) = &self.read_data_subset {
            a.push(format!("--read-data-subset={s}"));
        }
        a
    }
}

/// Options of `restic prune`.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct PruneOptions {
    /// `--max-unused` (e.g. `5%`, `1G`).
    pub max_unused: Option<String>,
    /// `--dry-run`.
    pub dry_run: bool,
}

impl PruneOptions {
    pub(crate) fn args(&self) -> Vec<String> {
        let mut a = vec!["prune".to_owned()];
        if let Some(m) = &self.max_unused {
            a.push(format!("--max-unused={m}"));
        }
        if self.dry_run {
            a.push("--dry-run".into());
        }
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_args_put_paths_after_double_dash() {
        let t: Timestamp = "2026-11-27T01:02:03Z".parse().unwrap();
        let a = BackupOptions::new(["-weird", "/srv"])
            .with_exclude("*.tmp")
            .with_tag("daily")
            .with_host("web1")
            .with_time(t)
            .args()
            .unwrap();
        assert_eq!(
            a,
            [
                "backup",
                "--exclude=*.tmp",
                "--tag=daily",
                "--host=web1",
                "--time=2026-11-27 01:02:03",
                "--",
                "-weird",
                "/srv"
            ]
        );
        assert!(BackupOptions::new(["/x"]).with_tag("a,b").args().is_err());
        assert!(BackupOptions::default().args().is_err());
    }

    #[test]
    fn forget_unlimited_depends_on_version() {
        let o = ForgetOptions {
            keep_monthly: Some(KeepCount::Unlimited),
            ..ForgetOptions::new().keep_daily(7)
        };
        let old = ResticVersion::new(0, 14, 0);
        let new = ResticVersion::new(0, 17, 3);
        assert!(matches!(o.args(&old), Err(Error::Unsupported { .. })));
        assert_eq!(
            o.args(&new).unwrap(),
            ["forget", "--keep-daily=7", "--keep-monthly=unlimited"]
        );
        assert!(ForgetOptions::new().args(&new).is_err());
        // keep_tags get the same check as tags: "a,b" inside one tag would become two tags.
        for bad in ["a,b", ""] {
            let err = ForgetOptions::new().keep_tag([bad]).args(&new).unwrap_err();
            assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
        }
        let d = ForgetOptions::new()
            .keep_last(2)
            .keep_tag(["a", "b"])
            .group_by("")
            .with_filter(SnapshotFilter::new().with_host("h"))
            .dry_run();
        assert_eq!(
            d.args(&old).unwrap(),
            [
                "forget",
                "--keep-last=2",
                "--keep-tag=a,b",
                "--group-by=",
                "--host=h",
                "--dry-run"
            ]
        );
    }

    #[test]
    fn retention_setters_are_restic_s_flags() {
        let o = ForgetOptions::new()
            .keep_last(1)
            .keep_hourly(2)
            .keep_daily(3)
            .keep_weekly(4)
            .keep_monthly(5)
            .keep_yearly(6)
            .keep_within("1y2m")
            .keep_tag(["pinned"]);
        assert_eq!(
            o.args(&ResticVersion::new(0, 14, 0)).unwrap(),
            [
                "forget",
                "--keep-last=1",
                "--keep-hourly=2",
                "--keep-daily=3",
                "--keep-weekly=4",
                "--keep-monthly=5",
                "--keep-yearly=6",
                "--keep-within=1y2m",
                "--keep-tag=pinned",
            ]
        );
    }

    #[test]
    fn unlock_mode_args() {
        assert_eq!(UnlockMode::default(), UnlockMode::StaleOnly);
        assert_eq!(UnlockMode::StaleOnly.args(), ["unlock"]);
        assert_eq!(UnlockMode::All.args(), ["unlock", "--remove-all"]);
    }

    #[test]
    fn flag_setters_set_their_flag() {
        let b = BackupOptions::new(["/srv"])
            .with_exclude_caches()
            .with_dry_run()
            .args()
            .unwrap();
        assert_eq!(b, ["backup", "--exclude-caches", "--dry-run", "--", "/srv"]);
        let r = RestoreOptions::new("latest", "/t")
            .with_verify()
            .args()
            .unwrap();
        assert_eq!(r, ["restore", "--target=/t", "--verify", "--", "latest"]);
    }

    #[test]
    fn restore_args() {
        let a = RestoreOptions::new("latest", "/tmp/t")
            .with_include("/srv/a")
            .args()
            .unwrap();
        assert_eq!(
            a,
            [
                "restore",
                "--target=/tmp/t",
                "--include=/srv/a",
                "--",
                "latest"
            ]
        );
    }
}
