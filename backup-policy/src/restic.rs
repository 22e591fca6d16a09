//! restic's `forget` policy, bit-exact with restic's `ApplyPolicy`.
//!
//! Two semantics are selectable with [`Semantics`]:
//!
//! * [`Semantics::Current`] (restic ≥ 0.18): `unlimited` counts (`-1`), the keep-oldest rule
//!   (0.16), `oldest …` reasons (0.18), refusal to delete a group's last snapshot (0.17).
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
use std::collections::HashMap;
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
    /// restic ≥ 0.18 (also what 0.16/0.17 do, apart from the `oldest ` reason prefix).
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
        let idx: Vec<usize> = (0..snapshots.len()).collect();
        let plan = apply_group(self, snapshots, &idx, opts);
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
}

impl ForgetOptions {
    /// Current semantics, fixed offsets, the given now.
    pub fn new(now: Timestamp) -> Self {
        ForgetOptions {
            now,
            semantics: Semantics::Current,
            local_tz: None,
        }
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
    /// The reasons, worded as restic words them (`"daily snapshot"`, `"within 7d"`, …).
    pub matches: Vec<String>,
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

const BUCKET_REASONS: [&str; 6] = [
    "last snapshot",
    "hourly snapshot",
    "daily snapshot",
    "weekly snapshot",
    "monthly snapshot",
    "yearly snapshot",
];
const WITHIN_REASONS: [&str; 5] = [
    "hourly within",
    "daily within",
    "weekly within",
    "monthly within",
    "yearly within",
];

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

/// One snapshot in the engine's sorted order.
#[derive(Debug, Clone, Copy)]
struct Entry {
    neg_s: i64,
    neg_ns: i32,
    pos: u32,
    idx: u32,
    off: i32,
}

/// A timestamp as an ordered `(seconds, nanoseconds)` pair (jiff keeps both with one sign).
fn key_of(t: Timestamp) -> (i64, i32) {
    (t.as_second(), t.subsec_nanosecond())
}

impl Entry {
    fn time_key(&self) -> (i64, i32) {
        (-self.neg_s, -self.neg_ns)
    }

    fn civil(&self) -> Civil {
        let mut secs = -self.neg_s;
        if self.neg_ns > 0 {
            secs -= 1;
        }
        Civil::from_local_seconds(secs + i64::from(self.off))
    }
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
pub(crate) fn apply_group(
    p: &ForgetPolicy,
    all: &[Snapshot],
    members: &[usize],
    opts: &ForgetOptions,
) -> ForgetPlan {
    // stable sort by time descending == unstable sort by (time desc, position in `members`).
    // Everything the loop needs travels in the sorted entries, so the hot loop never touches the
    // (large, randomly ordered) snapshots unless tag lists must be checked.
    let mut order: Vec<Entry> = members
        .iter()
        .enumerate()
        .map(|(p, &i)| {
            let t = &all[i].time;
            Entry {
                neg_s: -t.ts.as_second(),
                neg_ns: -t.ts.subsec_nanosecond(),
                pos: p as u32,
                idx: i as u32,
                off: t.offset.seconds(),
            }
        })
        .collect();
    order.sort_unstable_by_key(|e| (e.neg_s, e.neg_ns, e.pos));
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
    let n = order.len();
    plan.keep.reserve(n.min(1024));
    plan.remove.reserve(n);
    for (nr, e) in order.iter().enumerate() {
        let i = e.idx as usize;
        let tk = e.time_key();
        let oldest = nr + 1 == n;
        let mut matches: Vec<String> = Vec::new();
        for tl in &p.tags {
            if all[i].has_tags(tl) {
                matches.push(format!("has tags {tl}"));
            }
        }
        if let Some(t) = within_t
            && tk > t
        {
            matches.push(format!("within {}", p.within));
        }
        let mut dt: Option<Civil> = None;
        for k in 0..6 {
            let c = counts[k];
            let active = c > 0 || (!v014 && c == UNLIMITED);
            if !active {
                continue;
            }
            let civ = *dt.get_or_insert_with(|| e.civil());
            let v = bucket_key(k, &civ, nr);
            if v != last_val[k] || (!v014 && oldest) {
                if !v014 && v == last_val[k] && oldest {
                    matches.push(format!("oldest {}", BUCKET_REASONS[k]));
                } else {
                    matches.push(BUCKET_REASONS[k].to_string());
                }
                last_val[k] = v;
                if counts[k] > 0 {
                    counts[k] -= 1;
                }
            }
        }
        for k in 0..5 {
            let Some(t) = within_ts[k] else { continue };
            if tk > t {
                let civ = *dt.get_or_insert_with(|| e.civil());
                let v = bucket_key(k + 1, &civ, nr);
                if v != wlast_val[k] || (!v014 && oldest) {
                    let prefix = if !v014 && v == wlast_val[k] && oldest {
                        "oldest "
                    } else {
                        ""
                    };
                    matches.push(format!("{prefix}{} {}", WITHIN_REASONS[k], wb[k]));
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

fn sorted(v: &[String]) -> Cow<'_, [String]> {
    if v.windows(2).all(|w| w[0] <= w[1]) {
        Cow::Borrowed(v)
    } else {
        let mut o = v.to_vec();
        o.sort();
        Cow::Owned(o)
    }
}

/// Groups snapshots like restic (`host`, sorted `paths`, sorted `tags`); groups come out sorted
/// by key, members in input order.
pub fn group_snapshots(snapshots: &[Snapshot], by: GroupBy) -> Vec<(GroupKey, Vec<usize>)> {
    let mut map: HashMap<KeyRef<'_>, usize, FastHash> = HashMap::with_hasher(FastHash);
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut keys: Vec<GroupRef<'_>> = Vec::new();
    let mut last: Option<usize> = None;
    for (i, s) in snapshots.iter().enumerate() {
        let k: GroupRef<'_> = (
            if by.host { s.hostname.as_str() } else { "" },
            by.paths.then(|| sorted(&s.paths)),
            by.tags.then(|| sorted(&s.tags)),
        );
        // runs of snapshots from the same group skip the hash lookup
        let g = match last {
            Some(g) if same_key(&keys[g], &k) => g,
            _ => *map.entry(KeyRef(k.clone())).or_insert_with(|| {
                groups.push(Vec::new());
                keys.push(k);
                groups.len() - 1
            }),
        };
        groups[g].push(i);
        last = Some(g);
    }
    let mut out: Vec<(GroupKey, Vec<usize>)> = keys
        .into_iter()
        .zip(groups)
        .map(|((h, p, t), v)| {
            let none_if_empty =
                |c: Option<Cow<'_, [String]>>| c.filter(|x| !x.is_empty()).map(|x| x.into_owned());
            (
                GroupKey {
                    hostname: h.to_string(),
                    paths: none_if_empty(p),
                    tags: none_if_empty(t),
                },
                v,
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// A borrowed group key for the grouping map, with hashing and equality tuned for the hot path.
struct KeyRef<'a>(GroupRef<'a>);

impl PartialEq for KeyRef<'_> {
    fn eq(&self, o: &Self) -> bool {
        same_key(&self.0, &o.0)
    }
}

impl Eq for KeyRef<'_> {}

impl std::hash::Hash for KeyRef<'_> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        h.write(self.0.0.as_bytes());
        for list in [&self.0.1, &self.0.2] {
            match list {
                None => h.write_u64(u64::MAX),
                Some(l) => {
                    h.write_usize(l.len());
                    for s in l.iter() {
                        h.write(s.as_bytes());
                        h.write_u64(0xff);
                    }
                }
            }
        }
    }
}

fn same_str(a: &str, b: &str) -> bool {
    a.len() == b.len() && (std::ptr::eq(a.as_ptr(), b.as_ptr()) || a.as_bytes() == b.as_bytes())
}

fn same_list(a: &Option<Cow<'_, [String]>>, b: &Option<Cow<'_, [String]>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| same_str(x, y))
        }
        _ => false,
    }
}

type GroupRef<'a> = (
    &'a str,
    Option<Cow<'a, [String]>>,
    Option<Cow<'a, [String]>>,
);

/// Key equality with cheap length and pointer checks first (the hot path of grouping).
fn same_key(a: &GroupRef<'_>, b: &GroupRef<'_>) -> bool {
    same_str(a.0, b.0) && same_list(&a.1, &b.1) && same_list(&a.2, &b.2)
}

/// A small, fast, non-cryptographic hasher for group keys (FxHash's multiply-rotate).
#[derive(Debug, Clone, Copy, Default)]
struct FastHash;

impl std::hash::BuildHasher for FastHash {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}

#[derive(Debug)]
struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(b));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.write_u64(u64::from_le_bytes(b) ^ ((rest.len() as u64) << 59));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
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
    let mut out = Vec::new();
    for (key, members) in group_snapshots(snapshots, by) {
        let plan = apply_group(policy, snapshots, &members, opts);
        if opts.semantics == Semantics::Current && plan.keep.is_empty() && !members.is_empty() {
            return Err(Error::WouldRemoveAll {
                group: key.to_json(),
            });
        }
        out.push(GroupPlan { key, plan });
    }
    Ok(out)
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
