//! Velero's schedule grammar: robfig/cron v3 as Velero calls it, `cron.ParseStandard`
//! (vmware-tanzu/velero pkg/controller/schedule_controller.go `parseCronSchedule`).
//!
//! Facts from robfig/cron v3 (parser.go, spec.go, constantdelay.go):
//!
//! * an optional `CRON_TZ=<zone> ` or `TZ=<zone> ` prefix (up to the first space) names the zone;
//!   without one the schedule runs in the process's zone, UTC in Velero's image;
//! * then `@yearly`/`@annually`/`@monthly`/`@weekly`/`@daily`/`@midnight`/`@hourly`, or
//!   `@every <Go duration>` (truncated to whole seconds, at least one), or exactly five
//!   whitespace-separated fields: minute 0-59, hour 0-23, day-of-month 1-31, month 1-12 or
//!   `jan`-`dec`, day-of-week 0-6 or `sun`-`sat` (names case-insensitive);
//! * a field is a comma list of `*`, `?` (same as `*`), `N`, `N-M`, each optionally `/step`
//!   (`N/step` runs from N to the field's maximum); nothing else (`L`, `W`, `#`, day-of-week 7
//!   are errors);
//! * day-of-month and day-of-week: when either starts with `*` or `?` (and has no step above
//!   one) both must match, else either may;
//! * no run within five years of the start means none.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp, civil, tz::TimeZone};

use crate::types::common::parse_go_duration;
use crate::{Error, Result};

#[cfg(test)]
mod tests;

/// robfig's star bit: the field was `*` or `?` (spec.go `starBit`).
const STAR: u64 = 1 << 63;

/// A field's range and names (spec.go `bounds`).
#[derive(Clone, Copy)]
struct Bounds {
    min: u64,
    max: u64,
    names: &'static [(&'static str, u64)],
}

const SECONDS: Bounds = Bounds {
    min: 0,
    max: 59,
    names: &[],
};
const MINUTES: Bounds = SECONDS;
const HOURS: Bounds = Bounds {
    min: 0,
    max: 23,
    names: &[],
};
const DOM: Bounds = Bounds {
    min: 1,
    max: 31,
    names: &[],
};
const MONTHS: Bounds = Bounds {
    min: 1,
    max: 12,
    names: &[
        ("jan", 1),
        ("feb", 2),
        ("mar", 3),
        ("apr", 4),
        ("may", 5),
        ("jun", 6),
        ("jul", 7),
        ("aug", 8),
        ("sep", 9),
        ("oct", 10),
        ("nov", 11),
        ("dec", 12),
    ],
};
const DOW: Bounds = Bounds {
    min: 0,
    max: 6,
    names: &[
        ("sun", 0),
        ("mon", 1),
        ("tue", 2),
        ("wed", 3),
        ("thu", 4),
        ("fri", 5),
        ("sat", 6),
    ],
};

/// Which fields a parser takes (robfig's `ParseOption`); Velero uses [`Options::STANDARD`].
/// The other combinations exist to run robfig's own test vectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Options(u16);

impl Options {
    pub(crate) const SECOND: Self = Self(1);
    pub(crate) const SECOND_OPTIONAL: Self = Self(1 << 1);
    pub(crate) const MINUTE: Self = Self(1 << 2);
    pub(crate) const HOUR: Self = Self(1 << 3);
    pub(crate) const DOM: Self = Self(1 << 4);
    pub(crate) const MONTH: Self = Self(1 << 5);
    pub(crate) const DOW: Self = Self(1 << 6);
    pub(crate) const DOW_OPTIONAL: Self = Self(1 << 7);
    pub(crate) const DESCRIPTOR: Self = Self(1 << 8);
    /// `cron.ParseStandard`: minute, hour, day-of-month, month, day-of-week, descriptors.
    pub(crate) const STANDARD: Self = Self(
        Self::MINUTE.0
            | Self::HOUR.0
            | Self::DOM.0
            | Self::MONTH.0
            | Self::DOW.0
            | Self::DESCRIPTOR.0,
    );

    fn has(self, o: Self) -> bool {
        self.0 & o.0 != 0
    }
}

impl std::ops::BitOr for Options {
    type Output = Self;
    fn bitor(self, o: Self) -> Self {
        Self(self.0 | o.0)
    }
}

/// The six bit sets of a field schedule (robfig `SpecSchedule`), bit N set when N matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fields {
    pub(crate) second: u64,
    pub(crate) minute: u64,
    pub(crate) hour: u64,
    pub(crate) dom: u64,
    pub(crate) month: u64,
    pub(crate) dow: u64,
}

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Fields(Fields),
    /// `@every`: whole seconds, at least one.
    Every(Duration),
}

/// A parsed Velero schedule (`spec.schedule`).
#[derive(Clone, Debug, PartialEq)]
pub struct CronSchedule {
    kind: Kind,
    /// `None`: no prefix, the evaluating process's zone.
    zone: Option<TimeZone>,
}

impl CronSchedule {
    /// Parses a schedule as Velero does (`cron.ParseStandard`); the error names the expression.
    pub fn parse(expr: &str) -> Result<Self> {
        Self::parse_with(expr, Options::STANDARD).map_err(|message| Error::InvalidSchedule {
            expr: expr.to_owned(),
            message,
        })
    }

    /// robfig's `Parser.Parse` with the given fields.
    pub(crate) fn parse_with(spec: &str, options: Options) -> std::result::Result<Self, String> {
        if spec.is_empty() {
            return Err("empty spec string".to_owned());
        }
        let mut zone = None;
        let mut spec = spec;
        if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
            // Zone name: after the first `=`, up to the first space (a panic in Go without
            // one, which Velero recovers into a validation error).
            let space = spec.find(' ').ok_or("no space after the time zone")?;
            let eq = spec.find('=').unwrap_or(0);
            let name = &spec[eq + 1..space];
            zone = load_location(name).map_err(|e| format!("provided bad location {name}: {e}"))?;
            spec = spec[space..].trim();
        }
        if spec.starts_with('@') {
            if !options.has(Options::DESCRIPTOR) {
                return Err(format!("parser does not accept descriptors: {spec}"));
            }
            return Ok(Self {
                kind: descriptor(spec)?,
                zone,
            });
        }
        let fields = normalize_fields(spec.split_whitespace().collect(), options)?;
        let bounds = [SECONDS, MINUTES, HOURS, DOM, MONTHS, DOW];
        let mut bits = [0u64; 6];
        for ((b, f), r) in bits.iter_mut().zip(&fields).zip(bounds) {
            *b = get_field(f, r)?;
        }
        let [second, minute, hour, dom, month, dow] = bits;
        Ok(Self {
            kind: Kind::Fields(Fields {
                second,
                minute,
                hour,
                dom,
                month,
                dow,
            }),
            zone,
        })
    }

    /// The zone of a `CRON_TZ=`/`TZ=` prefix.
    pub fn zone(&self) -> Option<&TimeZone> {
        self.zone.as_ref()
    }

    /// The delay of an `@every` schedule.
    pub fn every(&self) -> Option<Duration> {
        match &self.kind {
            Kind::Every(d) => Some(*d),
            Kind::Fields(_) => None,
        }
    }

    #[cfg(test)]
    pub(crate) fn fields(&self) -> Option<&Fields> {
        match &self.kind {
            Kind::Fields(f) => Some(f),
            Kind::Every(_) => None,
        }
    }

    /// The first run strictly after `after`, as Velero computes it (UTC unless the schedule
    /// names a zone); `None` when there is none within five years (e.g. `0 0 30 2 *`).
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        self.next_in(after, &TimeZone::UTC)
    }

    /// robfig `Schedule.Next(t)` with `t` in zone `local` (used when there is no prefix).
    pub(crate) fn next_in(&self, after: Timestamp, local: &TimeZone) -> Option<Timestamp> {
        match &self.kind {
            // constantdelay.go: t + delay - t's nanoseconds.
            Kind::Every(d) => {
                let secs = i64::try_from(d.as_secs()).ok()?;
                Timestamp::from_second(floor_second(after).checked_add(secs)?).ok()
            }
            Kind::Fields(f) => {
                let zone = self.zone.as_ref().unwrap_or(local);
                next_fields(f, after, zone)
            }
        }
    }
}

/// `time.LoadLocation`: `""` and `UTC` are UTC, `Local` the process's zone.
fn load_location(name: &str) -> std::result::Result<Option<TimeZone>, String> {
    match name {
        "" | "UTC" => Ok(Some(TimeZone::UTC)),
        "Local" => Ok(None),
        _ => TimeZone::get(name).map(Some).map_err(|e| e.to_string()),
    }
}

/// parser.go `parseDescriptor`; the text must match exactly (no trimming after `@`).
fn descriptor(spec: &str) -> std::result::Result<Kind, String> {
    let at = |minute: u64, hour: u64, dom: u64, month: u64, dow: u64| {
        Kind::Fields(Fields {
            second: 1 << SECONDS.min,
            minute,
            hour,
            dom,
            month,
            dow,
        })
    };
    let (m0, h0, d1, mo1, w0) = (
        1 << MINUTES.min,
        1 << HOURS.min,
        1 << DOM.min,
        1 << MONTHS.min,
        1 << DOW.min,
    );
    Ok(match spec {
        "@yearly" | "@annually" => at(m0, h0, d1, mo1, all(DOW)),
        "@monthly" => at(m0, h0, d1, all(MONTHS), all(DOW)),
        "@weekly" => at(m0, h0, all(DOM), all(MONTHS), w0),
        "@daily" | "@midnight" => at(m0, h0, all(DOM), all(MONTHS), all(DOW)),
        "@hourly" => at(m0, all(HOURS), all(DOM), all(MONTHS), all(DOW)),
        _ => {
            let Some(text) = spec.strip_prefix("@every ") else {
                return Err(format!("unrecognized descriptor: {spec}"));
            };
            let bad = |e: String| format!("failed to parse duration {spec}: {e}");
            // Go accepts a negative duration; `Every` raises anything under 1s to 1s.
            let d = match text.strip_prefix('-') {
                Some(neg) if !neg.starts_with(['-', '+']) => {
                    parse_go_duration(neg).map_err(|e| bad(e.to_string()))?;
                    Duration::ZERO
                }
                _ => parse_go_duration(text).map_err(|e| bad(e.to_string()))?,
            };
            Kind::Every(Duration::from_secs(d.as_secs().max(1)))
        }
    })
}

/// parser.go `normalizeFields`: checks the count and fills the fields the parser lacks with
/// robfig's defaults (`0` for seconds, minutes and hours, `*` for the rest).
fn normalize_fields(
    fields: Vec<&str>,
    options: Options,
) -> std::result::Result<[String; 6], String> {
    let mut options = options;
    let mut optionals = 0;
    if options.has(Options::SECOND_OPTIONAL) {
        options = options | Options::SECOND;
        optionals += 1;
    }
    if options.has(Options::DOW_OPTIONAL) {
        options = options | Options::DOW;
        optionals += 1;
    }
    if optionals > 1 {
        return Err("multiple optionals may not be configured".to_owned());
    }
    let places = [
        Options::SECOND,
        Options::MINUTE,
        Options::HOUR,
        Options::DOM,
        Options::MONTH,
        Options::DOW,
    ];
    let max = places.iter().filter(|p| options.has(**p)).count();
    let min = max - optionals;
    let count = fields.len();
    if count < min || count > max {
        let shown = format!("[{}]", fields.join(" "));
        return Err(if min == max {
            format!("expected exactly {min} fields, found {count}: {shown}")
        } else {
            format!("expected {min} to {max} fields, found {count}: {shown}")
        });
    }
    let mut fields: Vec<&str> = fields;
    if min < max && count == min {
        if options.has(Options::DOW_OPTIONAL) {
            fields.push("*");
        } else {
            fields.insert(0, "0");
        }
    }
    let mut out = ["0", "0", "0", "*", "*", "*"].map(str::to_owned);
    let mut given = fields.into_iter();
    for (slot, place) in out.iter_mut().zip(places) {
        if options.has(place)
            && let Some(f) = given.next()
        {
            *slot = f.to_owned();
        }
    }
    Ok(out)
}

/// parser.go `getField`: the union of a comma list of ranges (empty items skipped).
fn get_field(field: &str, r: Bounds) -> std::result::Result<u64, String> {
    field
        .split(',')
        .filter(|e| !e.is_empty())
        .try_fold(0, |bits, expr| Ok(bits | get_range(expr, r)?))
}

/// parser.go `getRange`: `*`, `?`, `N`, `N-M`, each with an optional `/step`.
fn get_range(expr: &str, r: Bounds) -> std::result::Result<u64, String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_and_high: Vec<&str> = range_and_step[0].split('-').collect();
    let single = low_and_high.len() == 1;
    let (start, mut end, mut extra);
    if low_and_high[0] == "*" || low_and_high[0] == "?" {
        (start, end, extra) = (r.min, r.max, STAR);
    } else {
        start = int_or_name(low_and_high[0], r)?;
        end = match low_and_high.len() {
            1 => start,
            2 => int_or_name(low_and_high[1], r)?,
            _ => return Err(format!("too many hyphens: {expr}")),
        };
        extra = 0;
    }
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = parse_int(range_and_step[1])?;
            if single {
                end = r.max;
            }
            if step > 1 {
                extra = 0;
            }
            step
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < r.min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({}): {expr}",
            r.min
        ));
    }
    if end > r.max {
        return Err(format!(
            "end of range ({end}) above maximum ({}): {expr}",
            r.max
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    Ok(get_bits(start, end, step) | extra)
}

fn int_or_name(expr: &str, r: Bounds) -> std::result::Result<u64, String> {
    let lower = expr.to_ascii_lowercase();
    match r.names.iter().find(|(n, _)| *n == lower) {
        Some((_, v)) => Ok(*v),
        None => parse_int(expr),
    }
}

/// `strconv.Atoi` (optional sign, decimal), then non-negative.
fn parse_int(expr: &str) -> std::result::Result<u64, String> {
    let n: i64 = expr
        .parse()
        .map_err(|e| format!("failed to parse int from {expr}: {e}"))?;
    u64::try_from(n).map_err(|_| format!("negative number ({n}) not allowed: {expr}"))
}

/// parser.go `getBits`: bits `min..=max` every `step` (callers keep `max` below 63).
fn get_bits(min: u64, max: u64, step: u64) -> u64 {
    (min..=max.min(63))
        .step_by(usize::try_from(step).unwrap_or(usize::MAX).max(1))
        .fold(0, |bits, i| bits | 1 << i)
}

/// parser.go `all`: the whole range plus the star bit.
fn all(r: Bounds) -> u64 {
    get_bits(r.min, r.max, 1) | STAR
}

fn floor_second(t: Timestamp) -> i64 {
    let s = t.as_second();
    if t.subsec_nanosecond() < 0 { s - 1 } else { s }
}

/// Wall-clock fields of `t` in `zone`.
struct Wall {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    weekday: i64,
}

fn wall(t: Timestamp, zone: &TimeZone) -> Wall {
    let dt = zone.to_datetime(t);
    Wall {
        year: dt.year().into(),
        month: dt.month().into(),
        day: dt.day().into(),
        hour: dt.hour().into(),
        minute: dt.minute().into(),
        second: dt.second().into(),
        weekday: dt.weekday().to_sunday_zero_offset().into(),
    }
}

/// Go's `time.Date(year, month, day, hour, min, sec, 0, loc)`: out-of-range month and day
/// roll over; a wall time in a gap or fold takes the offset found at the wall time read as
/// UTC, re-looked-up at the result (Go src/time/time.go `Date`).
fn go_date(
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    zone: &TimeZone,
) -> Option<Timestamp> {
    let year = year.checked_add((month - 1).div_euclid(12))?;
    let month = (month - 1).rem_euclid(12) + 1;
    let first = civil::Date::new(i16::try_from(year).ok()?, i8::try_from(month).ok()?, 1).ok()?;
    let first = first.to_zoned(TimeZone::UTC).ok()?.timestamp();
    let local = first.as_second().checked_add(
        (day - 1)
            .checked_mul(86_400)?
            .checked_add(hour * 3600 + minute * 60 + second)?,
    )?;
    let as_utc = Timestamp::from_second(local).ok()?;
    let guess = zone.to_offset(as_utc);
    let probe = as_utc
        .checked_sub(SignedDuration::from_secs(guess.seconds().into()))
        .ok()?;
    let offset = zone.to_offset(probe);
    Timestamp::from_second(local.checked_sub(offset.seconds().into())?).ok()
}

fn add_secs(t: Timestamp, secs: i64) -> Option<Timestamp> {
    t.checked_add(SignedDuration::from_secs(secs)).ok()
}

fn bit(set: u64, n: i64) -> bool {
    u32::try_from(n).is_ok_and(|n| n < 64 && set & (1 << n) != 0)
}

/// spec.go `dayMatches`.
fn day_matches(f: &Fields, w: &Wall) -> bool {
    let dom = bit(f.dom, w.day);
    let dow = bit(f.dow, w.weekday);
    if f.dom & STAR != 0 || f.dow & STAR != 0 {
        dom && dow
    } else {
        dom || dow
    }
}

/// spec.go `SpecSchedule.Next`: advance field by field from the next whole second, months
/// and days by calendar (`AddDate`), hours, minutes and seconds by elapsed time.
fn next_fields(f: &Fields, after: Timestamp, zone: &TimeZone) -> Option<Timestamp> {
    let mut t = Timestamp::from_second(floor_second(after).checked_add(1)?).ok()?;
    let mut added = false;
    let year_limit = wall(t, zone).year + 5;
    'wrap: loop {
        let mut w = wall(t, zone);
        if w.year > year_limit {
            return None;
        }
        while !bit(f.month, w.month) {
            if !added {
                added = true;
                t = go_date(w.year, w.month, 1, 0, 0, 0, zone)?;
                w = wall(t, zone);
            }
            t = go_date(w.year, w.month + 1, w.day, w.hour, w.minute, w.second, zone)?;
            w = wall(t, zone);
            if w.month == 1 {
                continue 'wrap;
            }
        }
        while !day_matches(f, &w) {
            if !added {
                added = true;
                t = go_date(w.year, w.month, w.day, 0, 0, 0, zone)?;
                w = wall(t, zone);
            }
            t = go_date(w.year, w.month, w.day + 1, w.hour, w.minute, w.second, zone)?;
            w = wall(t, zone);
            // A midnight that does not exist (DST at 00:00) lands off the hour.
            if w.hour != 0 {
                t = if w.hour > 12 {
                    add_secs(t, (24 - w.hour) * 3600)?
                } else {
                    add_secs(t, -w.hour * 3600)?
                };
                w = wall(t, zone);
            }
            if w.day == 1 {
                continue 'wrap;
            }
        }
        while !bit(f.hour, w.hour) {
            if !added {
                added = true;
                t = go_date(w.year, w.month, w.day, w.hour, 0, 0, zone)?;
            }
            t = add_secs(t, 3600)?;
            w = wall(t, zone);
            if w.hour == 0 {
                continue 'wrap;
            }
        }
        while !bit(f.minute, w.minute) {
            if !added {
                added = true;
                t = Timestamp::from_second(floor_second(t).div_euclid(60) * 60).ok()?;
            }
            t = add_secs(t, 60)?;
            w = wall(t, zone);
            if w.minute == 0 {
                continue 'wrap;
            }
        }
        while !bit(f.second, w.second) {
            if !added {
                added = true;
                t = Timestamp::from_second(floor_second(t)).ok()?;
            }
            t = add_secs(t, 1)?;
            w = wall(t, zone);
            if w.second == 0 {
                continue 'wrap;
            }
        }
        return Some(t);
    }
}
