//! restic's `forget` policy, bit-exact with restic's `ApplyPolicy`.
//!
//! Two semantics are selectable with [`Semantics`]:
//!
//! * [`Semantics::Current`] (restic ≥ 0.18): `unlimited` counts (`-1`) and the keep-oldest rule
//!   (both since 0.16), refusal of an empty policy and of deleting a group's last snapshot (0.17),
//!   `oldest …` reasons (0.18). restic 0.16 and 0.17 are between the two modes: 0.16 has
//!   neither refusal and still prints `counters`, and neither prints the `oldest ` prefix.
//! * [`Semantics::Restic014`] (restic 0.14 and 0.15, Debian 12): none of the above; reasons
//!   carry counters.
//!
//! Both refuse an empty policy and negative counts (restic 0.14 would silently delete everything).
//!
//! Bucket keys are taken on the snapshot's wall clock in **its own recorded UTC offset**; weeks are
//! ISO 8601 year-weeks; `keep-within*` uses Go's `AddDate` normalisation (March 31 minus one month
//! is March 3), measured back from the newest non-future snapshot of the group.
//!
//! ```
//! use backup_policy::restic::{ForgetOptions, ForgetPolicy, Snapshot, SnapshotTime};
//!
//! let snaps: Vec<Snapshot> = (1..=10)
//!     .map(|d| Snapshot::new(format!("s{d}"), SnapshotTime::parse(&format!("2026-11-{d:02}T02:00:00+01:00")).unwrap()))
//!     .collect();
//! let policy = ForgetPolicy::default().with_daily(3).with_weekly(2);
//! let now = "2026-11-27T00:00:00Z".parse()?;
//! let plan = policy.apply(&snaps, &ForgetOptions::new(now))?;
//! let kept: Vec<&str> = plan.keep.iter().map(|&i| snaps[i].id.as_str()).collect();
//! assert_eq!(kept, ["s10", "s9", "s8"]); // Nov 8 (Sunday) opens a new ISO week but daily already holds 10, 9 and 8
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use jiff::civil::{self, DateTime};
use jiff::tz::{Offset, TimeZone};
use jiff::{Span, Timestamp};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// Which restic release's `forget` behaviour to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[non_exhaustive]
pub enum Semantics {
    /// restic ≥ 0.18. Not exactly 0.16 or 0.17: 0.16 lacks 0.17's refusals and prints
    /// `counters`; both lack 0.18's `oldest ` reason prefix. Their keep/remove sets match this
    /// mode whenever no refusal applies.
    #[default]
    Current,
    /// restic 0.14 and 0.15 (Debian 12 ships 0.14.0).
    Restic014,
}

impl FromStr for Semantics {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "current" | "latest" | "0.18" | "0.19" => Ok(Semantics::Current),
            "0.14" | "0.15" => Ok(Semantics::Restic014),
            other => Err(Error::policy(format!(
                "unknown restic compatibility {other:?} (use 0.14 or current)"
            ))),
        }
    }
}

/// The count meaning "unlimited" (`--keep-daily unlimited`, restic ≥ 0.16).
pub const UNLIMITED: i32 = -1;

/// A snapshot time as restic records it: an instant plus the UTC offset it was written with.
///
/// restic computes its hour/day/week/month/year buckets on this offset's wall clock, not in UTC
/// and not in the machine's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SnapshotTime {
    ts: Timestamp,
    offset: Offset,
}

impl SnapshotTime {
    /// An instant recorded with the given offset.
    pub fn new(ts: Timestamp, offset: Offset) -> Self {
        SnapshotTime { ts, offset }
    }

    /// An instant recorded in UTC.
    pub fn utc(ts: Timestamp) -> Self {
        SnapshotTime {
            ts,
            offset: Offset::UTC,
        }
    }

    /// The instant of a zoned time, recorded with that zone's offset at that instant.
    pub fn from_zoned(z: &jiff::Zoned) -> Self {
        SnapshotTime {
            ts: z.timestamp(),
            offset: z.offset(),
        }
    }

    /// Parses an RFC 3339 time with its offset, e.g. `2025-03-01T23:30:00-05:00` or `…Z`.
    ///
    /// # Errors
    /// [`Error::Time`] when the text is not RFC 3339 with an offset.
    pub fn parse(s: &str) -> Result<Self> {
        let err = |m: String| Error::Time {
            input: s.to_string(),
            message: m,
        };
        let pieces = jiff::fmt::temporal::Pieces::parse(s).map_err(|e| err(e.to_string()))?;
        let offset = match pieces.offset() {
            Some(jiff::fmt::temporal::PiecesOffset::Zulu) => Offset::UTC,
            Some(jiff::fmt::temporal::PiecesOffset::Numeric(n)) => n.offset(),
            _ => return Err(err("missing UTC offset".into())),
        };
        let time = pieces
            .time()
            .ok_or_else(|| err("missing time of day".into()))?;
        let dt = pieces.date().to_datetime(time);
        let ts = offset.to_timestamp(dt).map_err(|e| err(e.to_string()))?;
        Ok(SnapshotTime { ts, offset })
    }

    /// The instant.
    pub fn timestamp(&self) -> Timestamp {
        self.ts
    }

    /// The recorded offset.
    pub fn offset(&self) -> Offset {
        self.offset
    }

    /// The wall-clock time in the recorded offset.
    pub fn civil(&self) -> DateTime {
        self.offset.to_datetime(self.ts)
    }
}

impl fmt::Display for SnapshotTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dt = self.civil();
        write!(f, "{}", dt.strftime("%Y-%m-%dT%H:%M:%S"))?;
        let ns = dt.subsec_nanosecond();
        if ns != 0 {
            let frac = format!("{ns:09}");
            write!(f, ".{}", frac.trim_end_matches('0'))?;
        }
        if self.offset == Offset::UTC {
            f.write_str("Z")
        } else {
            let secs = self.offset.seconds();
            let sign = if secs < 0 { '-' } else { '+' };
            let a = secs.unsigned_abs();
            write!(f, "{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60)
        }
    }
}

impl FromStr for SnapshotTime {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        SnapshotTime::parse(s)
    }
}

impl Serialize for SnapshotTime {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SnapshotTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = Cow::<str>::deserialize(d)?;
        SnapshotTime::parse(&s).map_err(serde::de::Error::custom)
    }
}

fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// The parts of a restic snapshot the policy looks at. Deserialises from `restic snapshots --json`
/// elements (unknown fields ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Snapshot {
    /// Snapshot id (full or short; used only to identify results).
    #[serde(default)]
    pub id: String,
    /// When the snapshot was taken, with its recorded offset.
    pub time: SnapshotTime,
    /// Host name.
    #[serde(default)]
    pub hostname: String,
    /// Backed-up paths.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub paths: Vec<String>,
    /// Tags.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub tags: Vec<String>,
}

impl Snapshot {
    /// A snapshot with an id and time, no host, paths or tags.
    pub fn new(id: impl Into<String>, time: SnapshotTime) -> Self {
        Snapshot {
            id: id.into(),
            time,
            hostname: String::new(),
            paths: Vec::new(),
            tags: Vec::new(),
        }
    }

    /// Sets the host name.
    #[must_use]
    pub fn with_hostname(mut self, h: impl Into<String>) -> Self {
        self.hostname = h.into();
        self
    }

    /// Sets the paths.
    #[must_use]
    pub fn with_paths<I: IntoIterator<Item = S>, S: Into<String>>(mut self, p: I) -> Self {
        self.paths = p.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the tags.
    #[must_use]
    pub fn with_tags<I: IntoIterator<Item = S>, S: Into<String>>(mut self, t: I) -> Self {
        self.tags = t.into_iter().map(Into::into).collect();
        self
    }

    /// restic's `HasTags`: all tags of the list are present; `""` matches an untagged snapshot.
    pub fn has_tags(&self, list: &TagList) -> bool {
        for tag in &list.0 {
            if tag.is_empty() && self.tags.is_empty() {
                return true;
            }
            if !self.tags.iter().any(|t| t == tag) {
                return false;
            }
        }
        true
    }
}

/// restic's duration for `--keep-within*`: years, months, days and hours, applied with Go's
/// calendar arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResticDuration {
    /// Years.
    pub years: i32,
    /// Months.
    pub months: i32,
    /// Days.
    pub days: i32,
    /// Hours.
    pub hours: i32,
}

impl ResticDuration {
    /// A duration from its four parts.
    pub fn new(years: i32, months: i32, days: i32, hours: i32) -> Self {
        ResticDuration {
            years,
            months,
            days,
            hours,
        }
    }

    /// True when every part is zero (the option is then unset).
    pub fn is_zero(&self) -> bool {
        self.years == 0 && self.months == 0 && self.days == 0 && self.hours == 0
    }

    fn is_negative(&self) -> bool {
        self.years < 0 || self.months < 0 || self.days < 0 || self.hours < 0
    }

    /// `latest` minus this duration, as restic computes it:
    /// `latest.AddDate(-y, -m, -d).Add(-h hours)`. `local` is the zone restic runs in: Go attaches
    /// it to a parsed time whose (non-zero) offset matches that zone at that instant.
    pub(crate) fn threshold(&self, latest: SnapshotTime, local: Option<&TimeZone>) -> Timestamp {
        self.threshold_opt(latest, local).unwrap_or(Timestamp::MIN)
    }

    fn threshold_opt(&self, latest: SnapshotTime, local: Option<&TimeZone>) -> Option<Timestamp> {
        let dt = latest.civil();
        let total_months =
            i64::from(dt.year()) * 12 + i64::from(dt.month() - 1) - i64::from(self.months);
        let year = total_months.div_euclid(12) - i64::from(self.years);
        let month = total_months.rem_euclid(12) + 1;
        let first =
            civil::Date::new(i16::try_from(year).ok()?, i8::try_from(month).ok()?, 1).ok()?;
        let day_off = i64::from(dt.day()) - 1 - i64::from(self.days);
        let date = first
            .checked_add(Span::new().try_days(day_off).ok()?)
            .ok()?;
        let civil_new = date.to_datetime(dt.time());
        let use_local = local
            .filter(|tz| latest.offset != Offset::UTC && tz.to_offset(latest.ts) == latest.offset);
        let ts = match use_local {
            None => latest.offset.to_timestamp(civil_new).ok()?,
            Some(tz) => {
                // Go's time.Date: look up the offset at the civil time read as UTC, then correct.
                let as_utc = Offset::UTC.to_timestamp(civil_new).ok()?;
                let off1 = tz.to_offset(as_utc);
                let utc = as_utc
                    .checked_sub(Span::new().seconds(off1.seconds()))
                    .ok()?;
                let off2 = tz.to_offset(utc);
                let off = if off2 != off1 { off2 } else { off1 };
                as_utc
                    .checked_sub(Span::new().seconds(off.seconds()))
                    .ok()?
            }
        };
        ts.checked_sub(Span::new().hours(i64::from(self.hours)))
            .ok()
    }
}

impl FromStr for ResticDuration {
    type Err = Error;
    /// Parses restic's `[<n>y][<n>m][<n>d][<n>h]` (any order; a later unit overwrites).
    fn from_str(s: &str) -> Result<Self> {
        if s.is_empty() {
            return Err(Error::policy("empty duration string"));
        }
        let mut d = ResticDuration::default();
        let mut rest = s;
        while !rest.is_empty() {
            let (neg, body) = match rest.strip_prefix('-') {
                Some(b) => (true, b),
                None => (false, rest),
            };
            let digits = body.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(Error::policy(format!(
                    "invalid duration {s:?}: no number found"
                )));
            }
            let n: i32 = body[..digits]
                .parse()
                .map_err(|_| Error::policy(format!("invalid duration {s:?}: number too large")))?;
            let n = if neg { -n } else { n };
            let after = &body[digits..];
            let unit = after
                .chars()
                .next()
                .ok_or_else(|| Error::policy(format!("no unit found after number {n}")))?;
            match unit {
                'y' => d.years = n,
                'm' => d.months = n,
                'd' => d.days = n,
                'h' => d.hours = n,
                other => {
                    return Err(Error::policy(format!(
                        "invalid unit {other:?} found after number {n}"
                    )));
                }
            }
            rest = &after[unit.len_utf8()..];
        }
        Ok(d)
    }
}

impl fmt::Display for ResticDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.years != 0 {
            write!(f, "{}y", self.years)?;
        }
        if self.months != 0 {
            write!(f, "{}m", self.months)?;
        }
        if self.days != 0 {
            write!(f, "{}d", self.days)?;
        }
        if self.hours != 0 {
            write!(f, "{}h", self.hours)?;
        }
        Ok(())
    }
}

/// One `--keep-tag` value: a snapshot matches when it carries all of these tags.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash, Serialize, Deserialize)]
pub struct TagList(pub Vec<String>);

impl FromStr for TagList {
    type Err = std::convert::Infallible;
    /// Splits `a,b` like restic (each part trimmed; `""` means "untagged").
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(TagList(
            s.split(',').map(|t| t.trim().to_string()).collect(),
        ))
    }
}

impl fmt::Display for TagList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]", self.0.join(", "))
    }
}

/// restic's snapshot filter — `--host`, `--tag` and `--path` of `forget`, `snapshots` and the
/// other multi-snapshot commands (restic `internal/data/snapshot_find.go` `SnapshotFilter.matches`;
/// `internal/restic/snapshot_find.go` `FindFilteredSnapshots` in 0.14). A snapshot matches when
/// all three hold:
///
/// * **hosts**: no host given, or its host name equals one of them (repeated `--host` = OR);
/// * **tags**: no tag list given, or it satisfies at least one list (repeated `--tag` = OR),
///   where satisfying a list means carrying every tag of it (`--tag a,b` = a AND b); a `""` in a
///   list matches an untagged snapshot (`--tag ''`);
/// * **paths**: it has every given path, compared byte for byte (repeated `--path` = AND; restic
///   does not clean or absolutise them for `forget`).
///
/// ```
/// use backup_policy::restic::{Semantics, Snapshot, SnapshotFilter, SnapshotTime};
///
/// let s = Snapshot::new("a", SnapshotTime::parse("2026-11-27T02:00:00Z")?)
///     .with_hostname("plex")
///     .with_paths(["/etc", "/opt"])
///     .with_tags(["daily", "plex"]);
/// let f = SnapshotFilter::default().with_tag("daily,plex".parse()?).with_path("/etc");
/// assert!(f.matches(&s));
/// let f = SnapshotFilter::default().with_tag("daily,weekly".parse()?);  // AND within a list
/// assert!(!f.matches(&s));
/// let f = f.with_tag("weekly".parse()?).with_tag("plex".parse()?);       // OR across lists
/// assert!(f.matches(&s));
/// // restic ≥ 0.17: `--host ''` alone means "every host"; 0.14 looks for an empty host name
/// let f = SnapshotFilter::default().with_host("").finalized(Semantics::Current);
/// assert!(f.matches(&s));
/// let f = SnapshotFilter::default().with_host("").finalized(Semantics::Restic014);
/// assert!(!f.matches(&s));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SnapshotFilter {
    /// `--host` values (any of them).
    pub hosts: Vec<String>,
    /// `--tag` lists (any list, all tags of it).
    pub tags: Vec<TagList>,
    /// `--path` values (all of them).
    pub paths: Vec<String>,
}

impl SnapshotFilter {
    /// Adds a `--host`.
    #[must_use]
    pub fn with_host(mut self, host: impl Into<String>) -> Self {
        self.hosts.push(host.into());
        self
    }

    /// Adds a `--tag` list.
    #[must_use]
    pub fn with_tag(mut self, list: TagList) -> Self {
        self.tags.push(list);
        self
    }

    /// Adds a `--path`.
    #[must_use]
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.paths.push(path.into());
        self
    }

    /// True when no filter is set (every snapshot matches).
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty() && self.tags.is_empty() && self.paths.is_empty()
    }

    /// Applies restic's post-parsing rule for `--host`: from 0.17 (`cmd/restic/find.go`
    /// `finalizeSnapshotFilter`) a single empty `--host ''` unsets the host filter; restic 0.14
    /// keeps it, and then only snapshots with an empty host name match. (`RESTIC_HOST` as the
    /// default host is the caller's business: this crate reads no environment.)
    #[must_use]
    pub fn finalized(mut self, semantics: Semantics) -> Self {
        if semantics == Semantics::Current && self.hosts.len() == 1 && self.hosts[0].is_empty() {
            self.hosts.clear();
        }
        self
    }

    /// Whether `s` passes the filter (restic's `HasHostname && HasTagList && HasPaths`).
    pub fn matches(&self, s: &Snapshot) -> bool {
        (self.hosts.is_empty() || self.hosts.contains(&s.hostname))
            && (self.tags.is_empty() || self.tags.iter().any(|l| s.has_tags(l)))
            && self.paths.iter().all(|p| s.paths.iter().any(|q| q == p))
    }
}

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
    setter!(with_last, last, i32, "Sets `--keep-last`.");
    setter!(with_hourly, hourly, i32, "Sets `--keep-hourly`.");
    setter!(with_daily, daily, i32, "Sets `--keep-daily`.");
    setter!(with_weekly, weekly, i32, "Sets `--keep-weekly`.");
    setter!(with_monthly, monthly, i32, "Sets `--keep-monthly`.");
    setter!(with_yearly, yearly, i32, "Sets `--keep-yearly`.");
    setter!(with_within, within, ResticDuration, "Sets `--keep-within`.");
    setter!(
        with_within_hourly,
        within_hourly,
        ResticDuration,
        "Sets `--keep-within-hourly`."
    );
    setter!(
        with_within_daily,
        within_daily,
        ResticDuration,
        "Sets `--keep-within-daily`."
    );
    setter!(
        with_within_weekly,
        within_weekly,
        ResticDuration,
        "Sets `--keep-within-weekly`."
    );
    setter!(
        with_within_monthly,
        within_monthly,
        ResticDuration,
        "Sets `--keep-within-monthly`."
    );
    setter!(
        with_within_yearly,
        within_yearly,
        ResticDuration,
        "Sets `--keep-within-yearly`."
    );

    /// Adds a `--keep-tag` list.
    #[must_use]
    pub fn with_tag(mut self, list: TagList) -> Self {
        self.tags.push(list);
        self
    }

    fn counts(&self) -> [i32; 6] {
        [
            self.last,
            self.hourly,
            self.daily,
            self.weekly,
            self.monthly,
            self.yearly,
        ]
    }

    fn within_buckets(&self) -> [ResticDuration; 5] {
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
    const ALL: [Bucket; 6] = [
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

/// Wall-clock fields in the snapshot's own offset, computed without a calendar library (the
/// engine's hot path; cross-checked against jiff in tests).
#[derive(Debug, Clone, Copy)]
struct Civil {
    days: i64,
    y: i64,
    m: i64,
    d: i64,
    h: i64,
}

/// Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Howard Hinnant's `days_from_civil`.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = y - i64::from(m <= 2);
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl Civil {
    #[cfg(test)]
    fn of(t: &SnapshotTime) -> Civil {
        let mut secs = t.ts.as_second();
        if t.ts.subsec_nanosecond() < 0 {
            secs -= 1;
        }
        Civil::from_local_seconds(secs + i64::from(t.offset.seconds()))
    }

    fn from_local_seconds(local: i64) -> Civil {
        let days = local.div_euclid(86_400);
        let h = local.rem_euclid(86_400) / 3600;
        let (y, m, d) = civil_from_days(days);
        Civil { days, y, m, d, h }
    }

    /// ISO 8601 (year, week), as Go's `ISOWeek`.
    fn iso_week(&self) -> (i64, i64) {
        let wd = (self.days + 3).rem_euclid(7); // Monday = 0
        let thursday = self.days - wd + 3;
        let (ty, _, _) = civil_from_days(thursday);
        (ty, (thursday - days_from_civil(ty, 1, 1)) / 7 + 1)
    }
}

/// One snapshot in the engine's sorted order, in 16 bytes: grouping writes one per snapshot and
/// the per-group sorts move them, so their size is most of the engine's memory traffic.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// `-seconds << OFF_BITS | (offset + OFF_BIAS)`: jiff's seconds need 40 bits with sign and
    /// its offsets (within ±26 h) 18, so both fit one `i64`; `>> OFF_BITS` gives `-seconds`.
    neg_s_off: i64,
    neg_ns: i32,
    /// Index into the input; within a group, entries are in increasing `idx` order.
    idx: u32,
}

const OFF_BITS: u32 = 18;
const OFF_BIAS: i32 = 1 << (OFF_BITS - 1);

/// A timestamp as an ordered `(seconds, nanoseconds)` pair (jiff keeps both with one sign).
fn key_of(t: Timestamp) -> (i64, i32) {
    (t.as_second(), t.subsec_nanosecond())
}

impl Entry {
    #[inline(always)]
    fn new(t: &SnapshotTime, idx: usize) -> Entry {
        Entry::from_parts(
            -t.ts.as_second(),
            -t.ts.subsec_nanosecond(),
            t.offset.seconds(),
            idx as u32,
        )
    }

    #[inline(always)]
    fn from_parts(neg_s: i64, neg_ns: i32, off: i32, idx: u32) -> Entry {
        Entry {
            neg_s_off: neg_s << OFF_BITS | i64::from(off + OFF_BIAS),
            neg_ns,
            idx,
        }
    }

    #[inline(always)]
    fn neg_s(&self) -> i64 {
        self.neg_s_off >> OFF_BITS
    }

    #[inline(always)]
    fn off(&self) -> i32 {
        (self.neg_s_off & ((1 << OFF_BITS) - 1)) as i32 - OFF_BIAS
    }

    fn time_key(&self) -> (i64, i32) {
        (-self.neg_s(), -self.neg_ns)
    }

    /// Whole seconds of the wall clock in the recorded offset (floored like jiff's civil time).
    fn local_seconds(&self) -> i64 {
        let mut secs = -self.neg_s();
        if self.neg_ns > 0 {
            secs -= 1;
        }
        secs + i64::from(self.off())
    }
}

/// Hour/day/week/month/year bucket keys (kinds 1 to 5 of [`bucket_key`]) as a function of local
/// seconds, remembering for each kind the local-seconds range its last key covers: within a
/// group most snapshots fall in an already computed year or month, so the calendar arithmetic
/// runs once per bucket rather than once per snapshot.
#[derive(Debug)]
struct BucketCache {
    lo: [i64; 6],
    hi: [i64; 6],
    val: [i64; 6],
}

impl BucketCache {
    fn new() -> Self {
        BucketCache {
            lo: [i64::MAX; 6],
            hi: [i64::MIN; 6],
            val: [0; 6],
        }
    }

    #[inline]
    fn key(&mut self, k: usize, local: i64) -> i64 {
        if self.lo[k] <= local && local < self.hi[k] {
            return self.val[k];
        }
        self.fill(k, local)
    }

    #[cold]
    fn fill(&mut self, k: usize, local: i64) -> i64 {
        let c = Civil::from_local_seconds(local);
        let day = |d: i64| d * 86_400;
        let (lo, hi) = match k {
            1 => {
                let lo = day(c.days) + c.h * 3600;
                (lo, lo + 3600)
            }
            2 => (day(c.days), day(c.days + 1)),
            3 => {
                let monday = c.days - (c.days + 3).rem_euclid(7);
                (day(monday), day(monday + 7))
            }
            4 => {
                let (ny, nm) = if c.m == 12 {
                    (c.y + 1, 1)
                } else {
                    (c.y, c.m + 1)
                };
                (
                    day(days_from_civil(c.y, c.m, 1)),
                    day(days_from_civil(ny, nm, 1)),
                )
            }
            _ => (
                day(days_from_civil(c.y, 1, 1)),
                day(days_from_civil(c.y + 1, 1, 1)),
            ),
        };
        let v = bucket_key(k, &c, 0);
        self.lo[k] = lo;
        self.hi[k] = hi;
        self.val[k] = v;
        v
    }
}

/// Sorts a group's entries (given in increasing `idx` order) by (time descending, `idx`): the
/// order of a stable sort by time. When the group has whole seconds only and its span and
/// positions fit, the sort runs on packed `u64` keys (time, position in `order`) that preserve
/// exactly that order; otherwise on the entries with the full `(seconds, nanoseconds, idx)` key.
fn sort_entries(mut order: Vec<Entry>) -> Vec<Entry> {
    let n = order.len();
    if n < 2 {
        return order;
    }
    let pos_bits = usize::BITS - (n - 1).leading_zeros();
    let (mut min_s, mut max_s, mut any_ns) = (i64::MAX, i64::MIN, false);
    for e in &order {
        min_s = min_s.min(e.neg_s());
        max_s = max_s.max(e.neg_s());
        any_ns |= e.neg_ns != 0;
    }
    let span_bits = u64::BITS - (max_s.wrapping_sub(min_s) as u64).leading_zeros();
    if any_ns || span_bits + pos_bits > 64 {
        order.sort_unstable_by_key(|e| (e.neg_s(), e.neg_ns, e.idx));
        return order;
    }
    let pos_mask = (1u64 << pos_bits) - 1;
    let key =
        |pos: usize, e: &Entry| (e.neg_s().wrapping_sub(min_s) as u64) << pos_bits | pos as u64;
    if n <= 1 << 14 {
        // small enough for the gather below to stay in cache: sort bare keys
        let mut keys: Vec<u64> = order.iter().enumerate().map(|(p, e)| key(p, e)).collect();
        keys.sort_unstable();
        return keys
            .iter()
            .map(|&k| order[(k & pos_mask) as usize])
            .collect();
    }
    // large: sort (key, payload) pairs so the result needs no random gather from `order`. Both
    // conversions are `into_iter().map().collect()` between 16-byte types, which std performs in
    // place: no fresh pages to fault in for a million-snapshot group.
    let mut keyed: Vec<(u64, u64)> = order
        .into_iter()
        .enumerate()
        .map(|(p, e)| {
            (
                key(p, &e),
                u64::from(e.idx) << 32 | u64::from(e.off() as u32),
            )
        })
        .collect();
    keyed.sort_unstable_by_key(|k| k.0);
    keyed
        .into_iter()
        .map(|(k, p)| {
            let neg_s = ((k >> pos_bits) as i64).wrapping_add(min_s);
            Entry::from_parts(neg_s, 0, p as u32 as i32, (p >> 32) as u32)
        })
        .collect()
}

/// Bucket key of kind `k` (0 = last … 5 = yearly) for a wall-clock time.
#[inline]
fn bucket_key(k: usize, c: &Civil, nr: usize) -> i64 {
    match k {
        0 => nr as i64,
        1 => c.y * 1_000_000 + c.m * 10_000 + c.d * 100 + c.h,
        2 => c.y * 10_000 + c.m * 100 + c.d,
        3 => {
            let (y, w) = c.iso_week();
            y * 100 + w
        }
        4 => c.y * 100 + c.m,
        _ => c.y,
    }
}

/// The core of `ApplyPolicy` over `members` (indices into `all`); no validation, no refusal.
pub(crate) fn apply_all(p: &ForgetPolicy, all: &[Snapshot], opts: &ForgetOptions) -> ForgetPlan {
    let order = all
        .iter()
        .enumerate()
        .map(|(i, s)| Entry::new(&s.time, i))
        .collect();
    apply_entries(p, all, order, opts)
}

/// [`apply_all`] over prepared entries (one group, in increasing `idx` order).
fn apply_entries(
    p: &ForgetPolicy,
    all: &[Snapshot],
    order: Vec<Entry>,
    opts: &ForgetOptions,
) -> ForgetPlan {
    // stable sort by time descending == unstable sort by (time desc, position in `members`).
    // Everything the loop needs travels in the sorted entries, so the hot loop never touches the
    // (large, randomly ordered) snapshots unless tag lists must be checked.
    let order = sort_entries(order);
    let mut plan = ForgetPlan::default();
    if order.is_empty() {
        return plan;
    }
    let v014 = opts.semantics == Semantics::Restic014;
    let now = key_of(opts.now);
    // newest non-future snapshot: the first entry (newest first) strictly before now
    let latest = order
        .iter()
        .find(|e| e.time_key() < now)
        .map(|e| all[e.idx as usize].time)
        // Go's zero time: 0001-01-01T00:00:00Z
        .unwrap_or_else(|| {
            SnapshotTime::utc(
                Offset::UTC
                    .to_timestamp(civil::date(1, 1, 1).at(0, 0, 0, 0))
                    .unwrap_or(Timestamp::MIN),
            )
        });
    let local = opts.local_tz.as_ref();
    let within_t = (!p.within.is_zero()).then(|| key_of(p.within.threshold(latest, local)));
    let wb = p.within_buckets();
    let within_ts: [Option<(i64, i32)>; 5] =
        std::array::from_fn(|k| (!wb[k].is_zero()).then(|| key_of(wb[k].threshold(latest, local))));
    let mut counts = p.counts();
    let mut last_val = [-1i64; 6];
    let mut wlast_val = [-1i64; 5];
    let mut cache = BucketCache::new();
    let n = order.len();
    plan.keep.reserve(n.min(1024));
    plan.remove.reserve(n);
    for (nr, e) in order.iter().enumerate() {
        let i = e.idx as usize;
        let tk = e.time_key();
        let oldest = nr + 1 == n;
        let mut matches: Vec<KeepMatch> = Vec::new();
        for tl in &p.tags {
            if all[i].has_tags(tl) {
                matches.push(KeepMatch::HasTags(tl.clone()));
            }
        }
        if let Some(t) = within_t
            && tk > t
        {
            matches.push(KeepMatch::Within(p.within));
        }
        let local = e.local_seconds();
        for k in 0..6 {
            let c = counts[k];
            let active = c > 0 || (!v014 && c == UNLIMITED);
            if !active {
                continue;
            }
            let v = if k == 0 {
                nr as i64
            } else {
                cache.key(k, local)
            };
            if v != last_val[k] || (!v014 && oldest) {
                matches.push(KeepMatch::Bucket {
                    bucket: Bucket::ALL[k],
                    oldest: !v014 && v == last_val[k] && oldest,
                });
                last_val[k] = v;
                if counts[k] > 0 {
                    counts[k] -= 1;
                }
            }
        }
        for k in 0..5 {
            let Some(t) = within_ts[k] else { continue };
            if tk > t {
                let v = cache.key(k + 1, local);
                if v != wlast_val[k] || (!v014 && oldest) {
                    matches.push(KeepMatch::WithinBucket {
                        bucket: Bucket::ALL[k + 1],
                        within: wb[k],
                        oldest: !v014 && v == wlast_val[k] && oldest,
                    });
                    wlast_val[k] = v;
                }
            }
        }
        if matches.is_empty() {
            plan.remove.push(i);
        } else {
            plan.keep.push(i);
            plan.reasons.push(KeepReason {
                index: i,
                matches,
                counters: Counters {
                    last: counts[0],
                    hourly: counts[1],
                    daily: counts[2],
                    weekly: counts[3],
                    monthly: counts[4],
                    yearly: counts[5],
                },
            });
        }
    }
    plan
}

/// restic's `--group-by`: which of host, paths and tags form a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct GroupBy {
    /// Group by host name.
    pub host: bool,
    /// Group by (sorted) paths.
    pub paths: bool,
    /// Group by (sorted) tags.
    pub tags: bool,
}

impl Default for GroupBy {
    /// restic's default, `host,paths`.
    fn default() -> Self {
        GroupBy {
            host: true,
            paths: true,
            tags: false,
        }
    }
}

impl GroupBy {
    /// No grouping: one group (`--group-by ''`).
    pub fn none() -> Self {
        GroupBy {
            host: false,
            paths: false,
            tags: false,
        }
    }
}

impl FromStr for GroupBy {
    type Err = Error;
    /// Parses `host,paths,tags` (any subset; `""` = one group).
    fn from_str(s: &str) -> Result<Self> {
        let mut g = GroupBy::none();
        for part in s.split(',') {
            match part.trim() {
                "host" => g.host = true,
                "paths" => g.paths = true,
                "tags" => g.tags = true,
                "" => {}
                other => return Err(Error::policy(format!("unknown grouping option: {other:?}"))),
            }
        }
        Ok(g)
    }
}

/// The key of one group, as restic prints it in `forget --json` (`host`, `paths`, `tags`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize)]
#[non_exhaustive]
pub struct GroupKey {
    /// Host, `""` unless grouping by host.
    pub hostname: String,
    /// Sorted paths, `None` unless grouping by paths.
    pub paths: Option<Vec<String>>,
    /// Sorted tags, `None` unless grouping by tags.
    pub tags: Option<Vec<String>>,
}

impl GroupKey {
    /// The key as restic serialises it: `{"hostname":…,"paths":…,"tags":…}`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// One group's plan; indices refer to the full input slice.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupPlan {
    /// The group.
    pub key: GroupKey,
    /// What to keep and remove.
    pub plan: ForgetPlan,
}

/// The list sorted, borrowed when it already is (restic writes one path or sorted lists, so
/// the copy is the rare case and kept out of line).
#[inline(always)]
fn sorted(v: &[String]) -> Cow<'_, [String]> {
    if v.len() < 2 || v.windows(2).all(|w| w[0] <= w[1]) {
        Cow::Borrowed(v)
    } else {
        sorted_copy(v)
    }
}

#[cold]
fn sorted_copy(v: &[String]) -> Cow<'_, [String]> {
    let mut o = v.to_vec();
    o.sort();
    Cow::Owned(o)
}

/// Groups snapshots like restic (`host`, sorted `paths`, sorted `tags`); groups come out sorted
/// by key, members in input order.
pub fn group_snapshots(snapshots: &[Snapshot], by: GroupBy) -> Vec<(GroupKey, Vec<usize>)> {
    group_entries(snapshots, by)
        .into_iter()
        .map(|(k, es)| (k, es.iter().map(|e| e.idx as usize).collect()))
        .collect()
}

/// Appends a group key to the key arena: the host, then each listed key's sorted strings, each
/// string length-prefixed, so a key lives in one short contiguous run that is cheap to compare.
fn encode_key(arena: &mut Vec<u8>, host: &[u8], lists: [Option<&[String]>; 2]) {
    let mut put = |b: &[u8]| {
        arena.extend_from_slice(&(b.len() as u32).to_le_bytes());
        arena.extend_from_slice(b);
    };
    put(host);
    for list in lists.into_iter().flatten() {
        put(&(list.len() as u32).to_le_bytes());
        for item in list {
            put(item.as_bytes());
        }
    }
}

/// Whether an encoded key (see [`encode_key`]) is this host and these sorted lists.
#[inline(always)]
fn key_matches(mut enc: &[u8], host: &[u8], lists: [Option<&[String]>; 2]) -> bool {
    #[inline(always)]
    fn take(enc: &mut &[u8], want: &[u8]) -> bool {
        let Some((len, rest)) = enc.split_first_chunk::<4>() else {
            return false;
        };
        let n = u32::from_le_bytes(*len) as usize;
        if n != want.len() || rest.len() < n || !same_bytes(&rest[..n], want) {
            return false;
        }
        *enc = &rest[n..];
        true
    }
    if !take(&mut enc, host) {
        return false;
    }
    for list in lists.into_iter().flatten() {
        if !take(&mut enc, &(list.len() as u32).to_le_bytes()) {
            return false;
        }
        for item in list {
            if !take(&mut enc, item.as_bytes()) {
                return false;
            }
        }
    }
    true
}

const MIX: u64 = 0x51_7c_c1_b7_27_22_0a_95;

#[inline(always)]
fn mix(h: u64, v: u64) -> u64 {
    (h.rotate_left(5) ^ v).wrapping_mul(MIX)
}

#[inline(always)]
fn word(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

/// FxHash-style multiply-rotate over the bytes and their length, with fixed-size reads only
/// (whole words, then the last word overlapping; short strings from two halves).
#[inline(always)]
fn hash_bytes(mut h: u64, b: &[u8]) -> u64 {
    let n = b.len();
    h = mix(h, n as u64);
    if n >= 8 {
        let mut at = 0;
        while at + 8 < n {
            h = mix(h, word(b, at));
            at += 8;
        }
        mix(h, word(b, n - 8))
    } else if n >= 4 {
        let lo = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let hi = u32::from_le_bytes([b[n - 4], b[n - 3], b[n - 2], b[n - 1]]);
        mix(h, u64::from(lo) | (u64::from(hi) << 32))
    } else if n > 0 {
        mix(
            h,
            u64::from(b[0]) | (u64::from(b[n / 2]) << 8) | (u64::from(b[n - 1]) << 16),
        )
    } else {
        h
    }
}

/// Order-independent hash of a list (the key holds it sorted, so any permutation must hash the
/// same; no sorted copy needed to hash).
#[inline(always)]
fn hash_list(h: u64, l: Option<&[String]>) -> u64 {
    match l {
        None => mix(h, u64::MAX),
        Some(l) => {
            let sum = l.iter().fold(0u64, |acc, s| {
                acc.wrapping_add(hash_bytes(0x9E37_79B9_7F4A_7C15, s.as_bytes()))
            });
            mix(mix(h, l.len() as u64), sum)
        }
    }
}

/// Byte equality with word compares (keys are short; avoids a `memcmp` call per snapshot).
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n >= 8 {
        let mut at = 0;
        while at + 8 < n {
            if word(a, at) != word(b, at) {
                return false;
            }
            at += 8;
        }
        word(a, n - 8) == word(b, n - 8)
    } else if n >= 4 {
        a[..4] == b[..4] && a[n - 4..] == b[n - 4..]
    } else {
        a.iter().zip(b).all(|(x, y)| x == y)
    }
}

/// Snapshots hashed per batch before any is looked up: the batch's (cache-missing) key reads
/// overlap instead of each stalling the table probe of its own snapshot.
const BATCH: usize = 128;

/// Groups snapshots into restic's group order, each group's members as engine entries in input
/// order. Every key is hashed once into an open-addressing table of group ids (verified by full
/// comparison), and each snapshot's time goes straight into its group's compact entry list, so
/// applying the policy never goes back to the snapshots.
fn group_entries(snapshots: &[Snapshot], by: GroupBy) -> Vec<(GroupKey, Vec<Entry>)> {
    // per group: key hash, key's range in `arena`, first member (the key's source), members
    let mut hashes: Vec<u64> = Vec::new();
    let mut spans: Vec<(u32, u32)> = Vec::new();
    let mut firsts: Vec<usize> = Vec::new();
    let mut groups: Vec<Vec<Entry>> = Vec::new();
    let mut arena: Vec<u8> = Vec::new();
    // slot = group id + 1, 0 = empty; capacity a power of two, at most half full
    let mut bits = 4u32;
    let mut slots: Vec<u32> = vec![0; 1 << bits];
    let mut hs = [0u64; BATCH];
    // After the first eighth of a large input, each group seen so far reserves room for its
    // projected share of the rest: growing 1,000 member lists by doubling cost more than the
    // hashing. The projection reserves at most the input's length in total (address space only
    // until written), and groups first seen later grow as usual.
    let checkpoint = if snapshots.len() >= 1 << 14 {
        (snapshots.len() / 8).div_ceil(BATCH)
    } else {
        usize::MAX
    };
    for (b, batch) in snapshots.chunks(BATCH).enumerate() {
        if b == checkpoint {
            let seen = b * BATCH;
            let rest = snapshots.len() - seen;
            for members in &mut groups {
                members.reserve(members.len() * rest / seen);
            }
        }
        for (h, s) in hs.iter_mut().zip(batch) {
            let host = if by.host { s.hostname.as_bytes() } else { &[] };
            *h = hash_list(
                hash_list(hash_bytes(0, host), by.paths.then_some(&s.paths[..])),
                by.tags.then_some(&s.tags[..]),
            );
        }
        for (j, (&h, s)) in hs.iter().zip(batch).enumerate() {
            let host = if by.host { s.hostname.as_bytes() } else { &[] };
            let paths = by.paths.then(|| sorted(&s.paths));
            let tags = by.tags.then(|| sorted(&s.tags));
            let lists = [paths.as_deref(), tags.as_deref()];
            let mask = (1usize << bits) - 1;
            let mut at = (h >> (64 - bits)) as usize;
            let g = loop {
                let slot = slots[at];
                if slot == 0 {
                    let g = groups.len();
                    slots[at] = (g + 1) as u32;
                    let start = arena.len();
                    encode_key(&mut arena, host, lists);
                    spans.push((start as u32, (arena.len() - start) as u32));
                    hashes.push(h);
                    firsts.push(b * BATCH + j);
                    groups.push(Vec::new());
                    if groups.len() * 2 > slots.len() {
                        bits += 1;
                        slots = vec![0; 1 << bits];
                        let m = (1usize << bits) - 1;
                        for (k, &hk) in hashes.iter().enumerate() {
                            let mut a = (hk >> (64 - bits)) as usize;
                            while slots[a] != 0 {
                                a = (a + 1) & m;
                            }
                            slots[a] = (k + 1) as u32;
                        }
                    }
                    break g;
                }
                let g = (slot - 1) as usize;
                if hashes[g] == h {
                    let (start, len) = spans[g];
                    let enc = &arena[start as usize..(start + len) as usize];
                    if key_matches(enc, host, lists) {
                        break g;
                    }
                }
                at = (at + 1) & mask;
            };
            groups[g].push(Entry::new(&s.time, b * BATCH + j));
        }
    }
    let mut out: Vec<(GroupKey, Vec<Entry>)> = firsts
        .into_iter()
        .zip(groups)
        .map(|(first, members)| {
            let s = &snapshots[first];
            let list =
                |on: bool, l: &[String]| (on && !l.is_empty()).then(|| sorted(l).into_owned());
            let key = GroupKey {
                hostname: if by.host {
                    s.hostname.clone()
                } else {
                    String::new()
                },
                paths: list(by.paths, &s.paths),
                tags: list(by.tags, &s.tags),
            };
            (key, members)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// `restic forget --dry-run`: groups, validates and applies the policy to every group.
///
/// # Errors
/// As [`ForgetPolicy::apply`]; under [`Semantics::Current`] the whole call fails with
/// [`Error::WouldRemoveAll`] if any group would lose every snapshot (as restic ≥ 0.17 does).
pub fn forget(
    snapshots: &[Snapshot],
    by: GroupBy,
    policy: &ForgetPolicy,
    opts: &ForgetOptions,
) -> Result<Vec<GroupPlan>> {
    policy.validate(opts.semantics)?;
    if !opts.filter.is_empty() {
        return forget_filtered(snapshots, by, policy, opts);
    }
    let mut out = Vec::new();
    for (key, members) in group_entries(snapshots, by) {
        let n = members.len();
        let plan = apply_entries(policy, snapshots, members, opts);
        if opts.semantics == Semantics::Current && plan.keep.is_empty() && n > 0 {
            return Err(Error::WouldRemoveAll {
                group: key.to_json(),
            });
        }
        out.push(GroupPlan { key, plan });
    }
    Ok(out)
}

/// [`forget`] on the snapshots that pass `opts.filter` (out of line: the unfiltered path stays
/// the benchmarked one); indices are mapped back to the caller's slice.
#[cold]
fn forget_filtered(
    snapshots: &[Snapshot],
    by: GroupBy,
    policy: &ForgetPolicy,
    opts: &ForgetOptions,
) -> Result<Vec<GroupPlan>> {
    let (index, subset): (Vec<usize>, Vec<Snapshot>) = snapshots
        .iter()
        .enumerate()
        .filter(|(_, s)| opts.filter.matches(s))
        .map(|(i, s)| (i, s.clone()))
        .unzip();
    let inner = opts.clone().with_filter(SnapshotFilter::default());
    let mut groups = forget(&subset, by, policy, &inner)?;
    for g in &mut groups {
        for i in g.plan.keep.iter_mut().chain(g.plan.remove.iter_mut()) {
            *i = index[*i];
        }
        for r in &mut g.plan.reasons {
            r.index = index[r.index];
        }
    }
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> SnapshotTime {
        SnapshotTime::parse(s).unwrap()
    }

    #[test]
    fn fast_civil_matches_jiff() {
        let mut x = 0x1234_5678_9abc_def0u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let secs = (x % 8_000_000_000) as i64 - 2_000_000_000;
            let off = Offset::from_seconds(((x >> 40) % 100_000) as i32 - 50_000).unwrap();
            let t = SnapshotTime::new(Timestamp::from_second(secs).unwrap(), off);
            let c = Civil::of(&t);
            let dt = t.civil();
            assert_eq!(
                (c.y, c.m, c.d, c.h),
                (
                    i64::from(dt.year()),
                    i64::from(dt.month()),
                    i64::from(dt.day()),
                    i64::from(dt.hour())
                )
            );
            let w = dt.date().iso_week_date();
            assert_eq!(
                c.iso_week(),
                (i64::from(w.year()), i64::from(w.week())),
                "{t}"
            );
        }
    }

    fn xorshift(x: &mut u64) -> u64 {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        *x
    }

    #[test]
    fn bucket_cache_matches_direct_keys() {
        let mut x = 0x0bad_cafe_dead_beefu64;
        let mut cache = BucketCache::new();
        let mut local = 1_700_000_000i64;
        for _ in 0..50_000 {
            // mostly small steps (cache hits), sometimes far jumps, both directions
            let r = xorshift(&mut x);
            local += match r % 4 {
                0 => (r >> 8) as i64 % 7200 - 3600,
                1 => (r >> 8) as i64 % 200_000 - 100_000,
                2 => (r >> 8) as i64 % 40_000_000 - 20_000_000,
                _ => -((r >> 8) as i64 % 1000),
            };
            let c = Civil::from_local_seconds(local);
            for k in 1..6 {
                assert_eq!(cache.key(k, local), bucket_key(k, &c, 0), "{k} {local}");
            }
        }
    }

    #[test]
    fn entry_packs_every_jiff_time_and_offset() {
        let times = [
            Timestamp::MIN,
            Timestamp::MAX,
            Timestamp::UNIX_EPOCH,
            Timestamp::new(-1, -1).unwrap(),
            Timestamp::new(1_700_000_000, 999_999_999).unwrap(),
        ];
        for ts in times {
            for off in [Offset::MIN, Offset::MAX, Offset::UTC, Offset::constant(-5)] {
                let e = Entry::new(&SnapshotTime::new(ts, off), 4_000_000_000);
                assert_eq!(e.time_key(), key_of(ts), "{ts} {off}");
                assert_eq!(e.off(), off.seconds(), "{ts} {off}");
                assert_eq!(e.idx, 4_000_000_000);
                let local = SnapshotTime::new(ts, off).civil();
                // floored whole seconds of the wall clock read as UTC
                let want = local.to_zoned(jiff::tz::TimeZone::UTC).map(|z| {
                    let t = z.timestamp();
                    t.as_second() - i64::from(t.subsec_nanosecond() < 0)
                });
                if let Ok(want) = want {
                    assert_eq!(e.local_seconds(), want, "{ts} {off}");
                }
            }
        }
    }

    #[test]
    fn packed_sort_matches_tuple_sort() {
        let mut x = 0x1357_9bdf_2468_ace0u64;
        for case in 0..400 {
            // cases 1 and 2 are large enough for the (key, payload) pair sort
            let n = if case < 3 {
                20_000
            } else {
                (xorshift(&mut x) % 300) as usize
            };
            let span = [1u64, 10, 86_400, 1 << 30, 700_000_000_000][case % 5];
            let with_ns = case % 3 == 0;
            let entries: Vec<Entry> = (0..n)
                .map(|p| {
                    let r = xorshift(&mut x);
                    let s = (r % span) as i64 - (span / 2) as i64;
                    let ns = if with_ns {
                        (xorshift(&mut x) % 1_000_000_000) as i32 * s.signum() as i32
                    } else {
                        0
                    };
                    // a group's entries come in increasing idx order
                    let idx = p as u32 * 7 + (r >> 61) as u32;
                    Entry::from_parts(-s, -ns, (r >> 20) as i32 % 93_600, idx)
                })
                .collect();
            let mut want = entries.clone();
            want.sort_by_key(|e| (e.neg_s(), e.neg_ns));
            let got = sort_entries(entries);
            let f = |v: &[Entry]| -> Vec<_> {
                v.iter()
                    .map(|e| (e.neg_s(), e.neg_ns, e.idx, e.off()))
                    .collect()
            };
            assert_eq!(f(&got), f(&want), "case {case}");
        }
    }

    #[test]
    fn grouping_matches_naive_grouping() {
        let mut x = 0x2468_1357_aaaa_5555u64;
        let words = [
            "",
            "a",
            "b",
            "/data",
            "/etc",
            "host-0001",
            "a-much-longer-name-x",
            "ab",
        ];
        let pick = |x: &mut u64, max: u64| -> Vec<String> {
            (0..xorshift(x) % max)
                .map(|_| words[(xorshift(x) % words.len() as u64) as usize].to_string())
                .collect()
        };
        // above the 16,384 snapshots where grouping starts reserving, with a skewed first
        // eighth (one host) so some groups are over- and others under-projected
        let snaps: Vec<Snapshot> = (0..20_000)
            .map(|i| {
                let host = if i < 4000 {
                    "host-0001"
                } else {
                    words[(xorshift(&mut x) % 8) as usize]
                };
                Snapshot::new(i.to_string(), t("2025-03-01T00:00:00Z"))
                    .with_hostname(host)
                    .with_paths(pick(&mut x, 3))
                    .with_tags(pick(&mut x, 3))
            })
            .collect();
        for by in [
            "",
            "host",
            "paths",
            "tags",
            "host,paths",
            "host,tags",
            "paths,tags",
            "host,paths,tags",
        ] {
            let by: GroupBy = by.parse().unwrap();
            let mut want: std::collections::BTreeMap<GroupKey, Vec<usize>> = Default::default();
            for (i, s) in snaps.iter().enumerate() {
                let list = |on: bool, l: &[String]| {
                    on.then(|| {
                        let mut l = l.to_vec();
                        l.sort();
                        l
                    })
                    .filter(|l| !l.is_empty())
                };
                let key = GroupKey {
                    hostname: if by.host {
                        s.hostname.clone()
                    } else {
                        String::new()
                    },
                    paths: list(by.paths, &s.paths),
                    tags: list(by.tags, &s.tags),
                };
                want.entry(key).or_default().push(i);
            }
            let want: Vec<_> = want.into_iter().collect();
            assert_eq!(group_snapshots(&snaps, by), want, "{by:?}");
        }
    }

    #[test]
    fn duration_parse_and_display() {
        let d: ResticDuration = "1y2m3d4h".parse().unwrap();
        assert_eq!(d, ResticDuration::new(1, 2, 3, 4));
        assert_eq!(d.to_string(), "1y2m3d4h");
        let d: ResticDuration = "3h2y".parse().unwrap();
        assert_eq!(d.to_string(), "2y3h");
        assert_eq!("5d2d".parse::<ResticDuration>().unwrap().days, 2);
        assert!("5w".parse::<ResticDuration>().is_err());
        assert!("5".parse::<ResticDuration>().is_err());
        assert!("".parse::<ResticDuration>().is_err());
        assert!("d".parse::<ResticDuration>().is_err());
    }

    #[test]
    fn go_add_date_normalises_instead_of_clamping() {
        // 2025-03-31 minus one month is "2025-02-31" = 2025-03-03 in Go.
        let th = ResticDuration::new(0, 1, 0, 0).threshold(t("2025-03-31T12:00:00Z"), None);
        assert_eq!(th, "2025-03-03T12:00:00Z".parse::<Timestamp>().unwrap());
        let th = ResticDuration::new(0, 0, 1, 2).threshold(t("2025-03-01T01:00:00+05:00"), None);
        assert_eq!(th, "2025-02-27T18:00:00Z".parse::<Timestamp>().unwrap());
    }

    #[test]
    fn local_zone_keeps_wall_clock_across_dst() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        // 2024-03-31 is the spring-forward day in Berlin; latest recorded at +02:00 (CEST).
        let latest = t("2024-04-01T12:00:00+02:00");
        let d = ResticDuration::new(0, 0, 2, 0);
        let fixed = d.threshold(latest, None);
        let local = d.threshold(latest, Some(&tz));
        assert_eq!(fixed, "2024-03-30T10:00:00Z".parse::<Timestamp>().unwrap());
        assert_eq!(local, "2024-03-30T11:00:00Z".parse::<Timestamp>().unwrap()); // 12:00 CET
    }

    #[test]
    fn time_round_trip() {
        for s in [
            "2026-11-27T02:28:22.939452169Z",
            "2025-03-01T23:30:00-05:00",
            "2025-03-01T23:30:00.5+05:45",
        ] {
            assert_eq!(t(s).to_string(), s);
        }
        assert!(SnapshotTime::parse("2025-03-01T23:30:00").is_err());
    }

    #[test]
    fn offsets_make_different_daily_buckets() {
        let a = Snapshot::new("a", t("2025-03-01T23:30:00-05:00"));
        let b = Snapshot::new("b", t("2025-03-02T01:00:00Z"));
        let p = ForgetPolicy::default().with_daily(5);
        let plan = p
            .apply(&[a, b], &ForgetOptions::new(Timestamp::MAX))
            .unwrap();
        assert_eq!(plan.keep.len(), 2);
    }

    #[test]
    fn refusals() {
        let s = vec![Snapshot::new("a", t("2025-03-01T00:00:00Z"))];
        let opts = ForgetOptions::new(Timestamp::MAX);
        assert!(matches!(
            ForgetPolicy::default().apply(&s, &opts),
            Err(Error::EmptyPolicy)
        ));
        assert!(
            ForgetPolicy::default()
                .with_daily(-2)
                .apply(&s, &opts)
                .is_err()
        );
        assert!(
            ForgetPolicy::default()
                .with_daily(-1)
                .apply(&s, &opts)
                .is_ok()
        );
        let o14 = opts.clone().with_semantics(Semantics::Restic014);
        assert!(
            ForgetPolicy::default()
                .with_daily(-1)
                .apply(&s, &o14)
                .is_err()
        );
        let tagged = ForgetPolicy::default().with_tag("x".parse().unwrap());
        assert!(matches!(
            tagged.apply(&s, &opts),
            Err(Error::WouldRemoveAll { .. })
        ));
        let plan = tagged.apply(&s, &o14).unwrap();
        assert_eq!(plan.remove, [0]);
    }
}
