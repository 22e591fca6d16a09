//! The `forget` policy, its options and the plan it produces.

use std::fmt;

use super::*;

/// A restic `forget` policy. Counts: `0` = unset, `n > 0` keep n, [`UNLIMITED`] (`-1`) = all
/// (current semantics only).
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ForgetPolicy {
    /// `--keep-last`.
    pub last: i32,
    /// `--keep-hourly`.
    pub hourly: i32,
    /// `--keep-daily`.
    pub daily: i32,
    /// `--keep-weekly`.
    pub weekly: i32,
    /// `--keep-monthly`.
    pub monthly: i32,
    /// `--keep-yearly`.
    pub yearly: i32,
    /// `--keep-within`.
    pub within: ResticDuration,
    /// `--keep-within-hourly`.
    pub within_hourly: ResticDuration,
    /// `--keep-within-daily`.
    pub within_daily: ResticDuration,
    /// `--keep-within-weekly`.
    pub within_weekly: ResticDuration,
    /// `--keep-within-monthly`.
    pub within_monthly: ResticDuration,
    /// `--keep-within-yearly`.
    pub within_yearly: ResticDuration,
    /// `--keep-tag` lists, in flag order.
    pub tags: Vec<TagList>,
}

macro_rules! setter {
    ($name:ident, $field:ident, $ty:ty, $doc:literal) => {
        #[doc = $doc]
        #[must_use]
        pub fn $name(mut self, v: $ty) -> Self {
            self.$field = v;
            self
        }
    };
}

impl ForgetPolicy {
    setter!(keep_last, last, i32, "Sets `--keep-last`.");
    setter!(keep_hourly, hourly, i32, "Sets `--keep-hourly`.");
    setter!(keep_daily, daily, i32, "Sets `--keep-daily`.");
    setter!(keep_weekly, weekly, i32, "Sets `--keep-weekly`.");
    setter!(keep_monthly, monthly, i32, "Sets `--keep-monthly`.");
    setter!(keep_yearly, yearly, i32, "Sets `--keep-yearly`.");
    setter!(keep_within, within, ResticDuration, "Sets `--keep-within`.");
    setter!(
        keep_within_hourly,
        within_hourly,
        ResticDuration,
        "Sets `--keep-within-hourly`."
    );
    setter!(
        keep_within_daily,
        within_daily,
        ResticDuration,
        "Sets `--keep-within-daily`."
    );
    setter!(
        keep_within_weekly,
        within_weekly,
        ResticDuration,
        "Sets `--keep-within-weekly`."
    );
    setter!(
        keep_within_monthly,
        within_monthly,
        ResticDuration,
        "Sets `--keep-within-monthly`."
    );
    setter!(
        keep_within_yearly,
        within_yearly,
        ResticDuration,
        "Sets `--keep-within-yearly`."
    );

    /// Adds a `--keep-tag` list.
    #[must_use]
    pub fn keep_tag(mut self, list: TagList) -> Self {
        self.tags.push(list);
        self
    }

    pub(super) fn counts(&self) -> [i32; 6] {
        [
            self.last,
            self.hourly,
            self.daily,
            self.weekly,
            self.monthly,
            self.yearly,
        ]
    }

    pub(super) fn within_buckets(&self) -> [ResticDuration; 5] {
        [
            self.within_hourly,
            self.within_daily,
            self.within_weekly,
            self.within_monthly,
            self.within_yearly,
        ]
    }

    /// restic's `Empty()`: no count, no duration and no tag list set.
    pub fn is_empty(&self) -> bool {
        self.counts().iter().all(|&c| c == 0)
            && self.within.is_zero()
            && self.within_buckets().iter().all(ResticDuration::is_zero)
            && self.tags.is_empty()
    }

    /// Checks the policy for the chosen semantics.
    ///
    /// # Errors
    /// [`Error::EmptyPolicy`] for an empty policy; [`Error::Policy`] for a count below `-1`,
    /// `-1` under [`Semantics::Restic014`] (0.14 would delete the whole group), or a negative duration.
    pub fn validate(&self, semantics: Semantics) -> Result<()> {
        if self.is_empty() {
            return Err(Error::EmptyPolicy);
        }
        let names = ["last", "hourly", "daily", "weekly", "monthly", "yearly"];
        for (c, n) in self.counts().iter().zip(names) {
            if *c < UNLIMITED || (*c == UNLIMITED && semantics == Semantics::Restic014) {
                return Err(Error::policy(format!(
                    "--keep-{n} {c}: negative values are not allowed{}",
                    if semantics == Semantics::Restic014 {
                        " (restic 0.14 would remove every snapshot)"
                    } else {
                        ", use 'unlimited' instead"
                    }
                )));
            }
        }
        if self.within.is_negative()
            || self
                .within_buckets()
                .iter()
                .any(ResticDuration::is_negative)
        {
            return Err(Error::policy("negative values not allowed for duration"));
        }
        Ok(())
    }

    /// Applies the policy to one group of snapshots. Indices in the plan refer to `snapshots`.
    ///
    /// # Errors
    /// See [`ForgetPolicy::validate`]; under [`Semantics::Current`] also
    /// [`Error::WouldRemoveAll`] when nothing of a non-empty group would be kept.
    pub fn apply(&self, snapshots: &[Snapshot], opts: &ForgetOptions) -> Result<ForgetPlan> {
        self.validate(opts.semantics)?;
        let plan = apply_all(self, snapshots, opts);
        if opts.semantics == Semantics::Current && plan.keep.is_empty() && !snapshots.is_empty() {
            return Err(Error::WouldRemoveAll {
                group: GroupKey::default().to_json(),
            });
        }
        Ok(plan)
    }
}

/// The clock and semantics for applying a policy.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ForgetOptions {
    /// The instant restic takes as now (snapshots after it are ignored when finding the newest).
    pub now: Timestamp,
    /// Which restic to reproduce.
    pub semantics: Semantics,
    /// The time zone restic runs in (`TZ`); matters only for `keep-within*` across DST changes.
    /// `None` treats every time as a fixed offset.
    pub local_tz: Option<TimeZone>,
    /// restic's snapshot filter (`--host`, `--tag`, `--path`): only matching snapshots are
    /// grouped and considered; the others appear in no group.
    pub filter: SnapshotFilter,
}

impl ForgetOptions {
    /// Current semantics, fixed offsets, the given now.
    pub fn new(now: Timestamp) -> Self {
        ForgetOptions {
            now,
            semantics: Semantics::Current,
            local_tz: None,
            filter: SnapshotFilter::default(),
        }
    }

    /// Sets the snapshot filter.
    #[must_use]
    pub fn with_filter(mut self, filter: SnapshotFilter) -> Self {
        self.filter = filter;
        self
    }

    /// Sets the semantics.
    #[must_use]
    pub fn with_semantics(mut self, s: Semantics) -> Self {
        self.semantics = s;
        self
    }

    /// Sets the zone restic runs in.
    #[must_use]
    pub fn with_local_tz(mut self, tz: TimeZone) -> Self {
        self.local_tz = Some(tz);
        self
    }
}

/// Remaining bucket counts after a kept snapshot (restic ≤ 0.16 prints them as `counters`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct Counters {
    /// Remaining `last`.
    #[serde(skip_serializing_if = "is_zero")]
    pub last: i32,
    /// Remaining `hourly`.
    #[serde(skip_serializing_if = "is_zero")]
    pub hourly: i32,
    /// Remaining `daily`.
    #[serde(skip_serializing_if = "is_zero")]
    pub daily: i32,
    /// Remaining `weekly`.
    #[serde(skip_serializing_if = "is_zero")]
    pub weekly: i32,
    /// Remaining `monthly`.
    #[serde(skip_serializing_if = "is_zero")]
    pub monthly: i32,
    /// Remaining `yearly`.
    #[serde(skip_serializing_if = "is_zero")]
    pub yearly: i32,
}

fn is_zero(v: &i32) -> bool {
    *v == 0
}

/// Why one snapshot is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeepReason {
    /// Index of the snapshot in the input slice.
    pub index: usize,
    /// The reasons, in restic's order; each displays (and serialises) as restic words it
    /// (`"daily snapshot"`, `"within 7d"`, …).
    pub matches: Vec<KeepMatch>,
    /// Remaining counts after this snapshot.
    pub counters: Counters,
}

/// The result of applying a policy to one group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ForgetPlan {
    /// Kept snapshots, newest first (indices into the input).
    pub keep: Vec<usize>,
    /// Removed snapshots, newest first.
    pub remove: Vec<usize>,
    /// One entry per kept snapshot, in `keep` order.
    pub reasons: Vec<KeepReason>,
}

/// One of `forget`'s buckets: the newest `n` snapshots, or the newest snapshot of each of the
/// last `n` hours, days, ISO weeks, months or years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// `--keep-last`.
    Last,
    /// `--keep-hourly` / `--keep-within-hourly`.
    Hourly,
    /// `--keep-daily` / `--keep-within-daily`.
    Daily,
    /// `--keep-weekly` / `--keep-within-weekly`.
    Weekly,
    /// `--keep-monthly` / `--keep-within-monthly`.
    Monthly,
    /// `--keep-yearly` / `--keep-within-yearly`.
    Yearly,
}

impl Bucket {
    pub(super) const ALL: [Bucket; 6] = [
        Bucket::Last,
        Bucket::Hourly,
        Bucket::Daily,
        Bucket::Weekly,
        Bucket::Monthly,
        Bucket::Yearly,
    ];

    /// restic's word for the bucket (`"last"`, `"hourly"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Last => "last",
            Bucket::Hourly => "hourly",
            Bucket::Daily => "daily",
            Bucket::Weekly => "weekly",
            Bucket::Monthly => "monthly",
            Bucket::Yearly => "yearly",
        }
    }
}

/// One reason `forget` keeps a snapshot. Typed so callers can ask *why* without parsing text;
/// `Display` and `Serialize` give restic's exact wording, and it compares equal to that text.
///
/// ```
/// use backup_policy::restic::{Bucket, KeepMatch};
/// let m = KeepMatch::Bucket { bucket: Bucket::Monthly, oldest: true };
/// assert_eq!(m.to_string(), "oldest monthly snapshot");
/// assert_eq!(m, "oldest monthly snapshot");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeepMatch {
    /// `--keep-tag`: `has tags [a, b]`.
    HasTags(TagList),
    /// `--keep-within`: `within 2m`.
    Within(ResticDuration),
    /// `--keep-last` … `--keep-yearly`: `daily snapshot`; `oldest` when kept only as the group's
    /// oldest snapshot (`oldest daily snapshot`, restic ≥ 0.18).
    Bucket {
        /// Which bucket.
        bucket: Bucket,
        /// Kept by the keep-oldest rule.
        oldest: bool,
    },
    /// `--keep-within-hourly` … `--keep-within-yearly`: `daily within 7d`.
    WithinBucket {
        /// Which bucket (never [`Bucket::Last`]).
        bucket: Bucket,
        /// The window.
        within: ResticDuration,
        /// Kept by the keep-oldest rule.
        oldest: bool,
    },
}

impl fmt::Display for KeepMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let oldest = |o: bool| if o { "oldest " } else { "" };
        match self {
            KeepMatch::HasTags(tags) => write!(f, "has tags {tags}"),
            KeepMatch::Within(d) => write!(f, "within {d}"),
            KeepMatch::Bucket { bucket, oldest: o } => {
                write!(f, "{}{} snapshot", oldest(*o), bucket.as_str())
            }
            KeepMatch::WithinBucket {
                bucket,
                within,
                oldest: o,
            } => write!(f, "{}{} within {within}", oldest(*o), bucket.as_str()),
        }
    }
}

impl Serialize for KeepMatch {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl PartialEq<str> for KeepMatch {
    fn eq(&self, other: &str) -> bool {
        // compare piecewise through a writer instead of allocating the text
        struct Eat<'a>(&'a str);
        impl fmt::Write for Eat<'_> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                match self.0.strip_prefix(s) {
                    Some(rest) => {
                        self.0 = rest;
                        Ok(())
                    }
                    None => Err(fmt::Error),
                }
            }
        }
        let mut eat = Eat(other);
        fmt::write(&mut eat, format_args!("{self}")).is_ok() && eat.0.is_empty()
    }
}

impl PartialEq<&str> for KeepMatch {
    fn eq(&self, other: &&str) -> bool {
        self == *other
    }
}

impl PartialEq<String> for KeepMatch {
    fn eq(&self, other: &String) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<KeepMatch> for String {
    fn eq(&self, other: &KeepMatch) -> bool {
        other == self.as_str()
    }
}

impl PartialEq<KeepMatch> for &str {
    fn eq(&self, other: &KeepMatch) -> bool {
        other == *self
    }
}
