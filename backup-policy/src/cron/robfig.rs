//! Velero's cron grammar: robfig/cron v3's `ParseStandard` (Velero v1.18 `pkg/controller/
//! schedule_controller.go` → `cron.ParseStandard`), and its `SpecSchedule.Next`.
//!
//! Written from robfig/cron v3 `parser.go`, `spec.go` and `constantdelay.go` (facts, not code):
//!
//! * five fields `minute hour day-of-month month day-of-week`; each a comma list (empty items
//!   are dropped) of `*` or `?`, `n`, `a-b`, with an optional `/step`; `n/step` means
//!   `n-max/step`; month names `jan`…`dec` and weekday names `sun`…`sat` (any case).
//!   Day-of-week is `0`–`6` (Sunday = 0): `7`, `L`, `W`, `#` and long names are errors.
//! * descriptors `@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/`@midnight`, `@hourly`
//!   and `@every <Go duration>` (a fixed delay after the previous run, at least 1 s, whole
//!   seconds);
//! * an optional `CRON_TZ=<zone> ` or `TZ=<zone> ` prefix; without one the schedule runs in the
//!   zone of the time it is asked about — for Velero that is UTC.
//! * day-of-month and day-of-week: when either field contains a `*`/`?` (not `*/2`), both must
//!   match; otherwise either may (Vixie cron's rule). `1-31` is not a star, `*/1` is.
//! * `Next` walks month → day → hour → minute → second in the schedule's zone with Go's clock
//!   arithmetic: a time inside a spring-forward gap is **skipped** (no run that day) and a time
//!   inside a fall-back overlap runs **twice**; nothing is found after five years.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::gotime::GoTime;
use crate::duration::parse_go_duration;

const STAR: u64 = 1 << 63;

/// Which fields a robfig parser reads (robfig's `ParseOption` bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions(u16);

impl ParseOptions {
    /// Seconds field.
    pub const SECOND: Self = Self(1);
    /// Optional seconds field.
    pub const SECOND_OPTIONAL: Self = Self(1 << 1);
    /// Minutes field.
    pub const MINUTE: Self = Self(1 << 2);
    /// Hours field.
    pub const HOUR: Self = Self(1 << 3);
    /// Day-of-month field.
    pub const DOM: Self = Self(1 << 4);
    /// Month field.
    pub const MONTH: Self = Self(1 << 5);
    /// Day-of-week field.
    pub const DOW: Self = Self(1 << 6);
    /// Optional day-of-week field.
    pub const DOW_OPTIONAL: Self = Self(1 << 7);
    /// `@daily`, `@every 1h`…
    pub const DESCRIPTOR: Self = Self(1 << 8);
    /// `ParseStandard`: minute, hour, dom, month, dow and descriptors.
    pub const STANDARD: Self = Self(4 | 8 | 16 | 32 | 64 | 256);

    const PLACES: [Self; 6] = [
        Self::SECOND,
        Self::MINUTE,
        Self::HOUR,
        Self::DOM,
        Self::MONTH,
        Self::DOW,
    ];

    fn has(self, o: Self) -> bool {
        self.0 & o.0 != 0
    }
}

impl std::ops::BitOr for ParseOptions {
    type Output = Self;
    fn bitor(self, o: Self) -> Self {
        Self(self.0 | o.0)
    }
}

/// Where a parsed schedule runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Location {
    /// No `CRON_TZ=`/`TZ=` prefix (or `TZ=Local`): the zone of the time it is asked about.
    Local,
    /// The prefix's zone.
    Zone(TimeZone),
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Spec {
        second: u64,
        minute: u64,
        hour: u64,
        dom: u64,
        month: u64,
        dow: u64,
    },
    Every(SignedDuration),
}

/// A schedule parsed by robfig/cron's rules.
#[derive(Debug, Clone, PartialEq)]
pub struct RobfigSchedule {
    kind: Kind,
    location: Location,
}

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

/// Go's `strconv.Atoi` then robfig's `mustParseInt` (negative numbers refused).
fn must_parse_int(expr: &str) -> Result<u64, String> {
    let digits = expr.strip_prefix(['+', '-']).unwrap_or(expr);
    let bad = |why: &str| {
        format!("failed to parse int from {expr}: strconv.Atoi: parsing {expr:?}: {why}")
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("invalid syntax"));
    }
    let n: i64 = expr
        .strip_prefix('+')
        .unwrap_or(expr)
        .parse()
        .map_err(|_| bad("value out of range"))?;
    if n < 0 {
        return Err(format!("negative number ({n}) not allowed: {expr}"));
    }
    Ok(n.unsigned_abs())
}

fn parse_int_or_name(expr: &str, b: Bounds) -> Result<u64, String> {
    let lower = expr.to_lowercase();
    if let Some(&(_, v)) = b.names.iter().find(|(n, _)| *n == lower) {
        return Ok(v);
    }
    must_parse_int(expr)
}

fn get_bits(min: u64, max: u64, step: u64) -> u64 {
    let mut bits = 0;
    let mut i = min;
    while i <= max {
        bits |= 1 << i;
        i += step;
    }
    bits
}

fn all(b: Bounds) -> u64 {
    get_bits(b.min, b.max, 1) | STAR
}

/// robfig's `getRange`: `number | number "-" number [ "/" number ]`, `*`, `?`.
fn get_range(expr: &str, b: Bounds) -> Result<u64, String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_and_high: Vec<&str> = range_and_step[0].split('-').collect();
    let single = low_and_high.len() == 1;
    let (start, mut end, mut extra);
    if low_and_high[0] == "*" || low_and_high[0] == "?" {
        (start, end, extra) = (b.min, b.max, STAR);
    } else {
        start = parse_int_or_name(low_and_high[0], b)?;
        end = match low_and_high.len() {
            1 => start,
            2 => parse_int_or_name(low_and_high[1], b)?,
            _ => return Err(format!("too many hyphens: {expr}")),
        };
        extra = 0;
    }
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = must_parse_int(range_and_step[1])?;
            if single {
                end = b.max;
            }
            if step > 1 {
                extra = 0;
            }
            step
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < b.min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({}): {expr}",
            b.min
        ));
    }
    if end > b.max {
        return Err(format!(
            "end of range ({end}) above maximum ({}): {expr}",
            b.max
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

/// robfig's `getField`: a comma list of ranges (empty items dropped).
fn get_field(field: &str, b: Bounds) -> Result<u64, String> {
    field
        .split(',')
        .filter(|s| !s.is_empty())
        .try_fold(0, |acc, r| Ok(acc | get_range(r, b)?))
}

fn go_slice(fields: &[&str]) -> String {
    format!("[{}]", fields.join(" "))
}

/// robfig's `normalizeFields`: the six fields with defaults for the ones not configured.
fn normalize_fields<'a>(
    fields: &[&'a str],
    mut options: ParseOptions,
) -> Result<[&'a str; 6], String> {
    let mut optionals = 0;
    if options.has(ParseOptions::SECOND_OPTIONAL) {
        options = options | ParseOptions::SECOND;
        optionals += 1;
    }
    if options.has(ParseOptions::DOW_OPTIONAL) {
        options = options | ParseOptions::DOW;
        optionals += 1;
    }
    if optionals > 1 {
        return Err("multiple optionals may not be configured".into());
    }
    let max = ParseOptions::PLACES
        .iter()
        .filter(|p| options.has(**p))
        .count();
    let min = max - optionals;
    let count = fields.len();
    if count < min || count > max {
        return Err(if min == max {
            format!(
                "expected exactly {min} fields, found {count}: {}",
                go_slice(fields)
            )
        } else {
            format!(
                "expected {min} to {max} fields, found {count}: {}",
                go_slice(fields)
            )
        });
    }
    let mut fields: Vec<&str> = fields.to_vec();
    if min < max && fields.len() == min {
        if options.has(ParseOptions::DOW_OPTIONAL) {
            fields.push("*");
        } else {
            fields.insert(0, "0");
        }
    }
    let mut out = ["0", "0", "0", "*", "*", "*"];
    let mut n = 0;
    for (i, place) in ParseOptions::PLACES.iter().enumerate() {
        if options.has(*place) {
            out[i] = fields[n];
            n += 1;
        }
    }
    Ok(out)
}

fn load_location(name: &str) -> Result<Location, String> {
    match name {
        "Local" => Ok(Location::Local),
        "" | "UTC" => Ok(Location::Zone(TimeZone::UTC)),
        _ => TimeZone::get(name)
            .map(Location::Zone)
            .map_err(|e| format!("provided bad location {name}: {e}")),
    }
}

fn parse_descriptor(d: &str, location: Location) -> Result<RobfigSchedule, String> {
    let one = |b: Bounds| 1u64 << b.min;
    let spec = |second, minute, hour, dom, month, dow| Kind::Spec {
        second,
        minute,
        hour,
        dom,
        month,
        dow,
    };
    let kind = match d {
        "@yearly" | "@annually" => spec(
            one(SECONDS),
            one(MINUTES),
            one(HOURS),
            one(DOM),
            one(MONTHS),
            all(DOW),
        ),
        "@monthly" => spec(
            one(SECONDS),
            one(MINUTES),
            one(HOURS),
            one(DOM),
            all(MONTHS),
            all(DOW),
        ),
        "@weekly" => spec(
            one(SECONDS),
            one(MINUTES),
            one(HOURS),
            all(DOM),
            all(MONTHS),
            one(DOW),
        ),
        "@daily" | "@midnight" => spec(
            one(SECONDS),
            one(MINUTES),
            one(HOURS),
            all(DOM),
            all(MONTHS),
            all(DOW),
        ),
        "@hourly" => spec(
            one(SECONDS),
            one(MINUTES),
            all(HOURS),
            all(DOM),
            all(MONTHS),
            all(DOW),
        ),
        _ => {
            let Some(rest) = d.strip_prefix("@every ") else {
                return Err(format!("unrecognized descriptor: {d}"));
            };
            let dur = parse_go_duration(rest)
                .map_err(|e| format!("failed to parse duration {d}: {}", policy_msg(&e)))?;
            return Ok(RobfigSchedule {
                kind: Kind::Every(every(dur)),
                location: Location::Local,
            });
        }
    };
    Ok(RobfigSchedule { kind, location })
}

fn policy_msg(e: &crate::Error) -> String {
    match e {
        crate::Error::Policy(m) => m.clone(),
        other => other.to_string(),
    }
}

/// robfig's `Every`: at least one second, fractions of a second dropped.
fn every(d: SignedDuration) -> SignedDuration {
    if d < SignedDuration::from_secs(1) {
        SignedDuration::from_secs(1)
    } else {
        SignedDuration::from_secs(d.as_secs())
    }
}

impl RobfigSchedule {
    /// `cron.ParseStandard(spec)`: what Velero accepts in `spec.schedule`.
    ///
    /// # Errors
    /// robfig's error message when it rejects the spec.
    pub fn parse_standard(spec: &str) -> Result<Self, String> {
        Self::parse(spec, ParseOptions::STANDARD)
    }

    /// `cron.NewParser(options).Parse(spec)`.
    ///
    /// # Errors
    /// robfig's error message when it rejects the spec (or the options, when both optionals
    /// are given).
    pub fn parse(spec: &str, options: ParseOptions) -> Result<Self, String> {
        if options.has(ParseOptions::SECOND_OPTIONAL) && options.has(ParseOptions::DOW_OPTIONAL) {
            return Err("multiple optionals may not be configured".into());
        }
        if spec.is_empty() {
            return Err("empty spec string".into());
        }
        let mut spec = spec;
        let mut location = Location::Local;
        if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
            // robfig slices up to the first space; without one it panics (Velero reports it as
            // an invalid schedule) — an error here.
            let i = spec
                .find(' ')
                .ok_or_else(|| format!("missing expression after time zone: {spec}"))?;
            let eq = spec.find('=').unwrap_or(0);
            location = load_location(&spec[eq + 1..i])?;
            spec = spec[i..].trim();
        }
        if spec.starts_with('@') {
            if !options.has(ParseOptions::DESCRIPTOR) {
                return Err(format!("parser does not accept descriptors: {spec}"));
            }
            return parse_descriptor(spec, location);
        }
        let fields: Vec<&str> = spec.split_whitespace().collect();
        let f = normalize_fields(&fields, options)?;
        Ok(RobfigSchedule {
            kind: Kind::Spec {
                second: get_field(f[0], SECONDS)?,
                minute: get_field(f[1], MINUTES)?,
                hour: get_field(f[2], HOURS)?,
                dom: get_field(f[3], DOM)?,
                month: get_field(f[4], MONTHS)?,
                dow: get_field(f[5], DOW)?,
            },
            location,
        })
    }

    /// The `CRON_TZ=`/`TZ=` zone, if the expression names one.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The fixed delay of an `@every` schedule.
    pub fn every(&self) -> Option<SignedDuration> {
        match self.kind {
            Kind::Every(d) => Some(d),
            Kind::Spec { .. } => None,
        }
    }

    /// robfig's `Next(t)`: the first activation strictly after `t`, evaluated in the schedule's
    /// zone, or in `local` when it has none. `None` when nothing matches within five years.
    pub fn next(&self, t: Timestamp, local: &TimeZone) -> Option<Timestamp> {
        match &self.kind {
            Kind::Every(d) => {
                let nanos = i64::from(t.subsec_nanosecond());
                t.checked_add(*d - SignedDuration::from_nanos(nanos)).ok()
            }
            Kind::Spec { .. } => {
                let loc = match &self.location {
                    Location::Local => local,
                    Location::Zone(z) => z,
                };
                self.spec_next(GoTime::new(t, loc), loc)
            }
        }
    }

    fn day_matches(dom: u64, dow: u64, t: &GoTime) -> bool {
        let dom_match = (1u64 << t.day()) & dom != 0;
        let dow_match = (1u64 << t.weekday()) & dow != 0;
        if dom & STAR != 0 || dow & STAR != 0 {
            dom_match && dow_match
        } else {
            dom_match || dow_match
        }
    }

    fn spec_next(&self, t: GoTime, loc: &TimeZone) -> Option<Timestamp> {
        let Kind::Spec {
            second,
            minute,
            hour,
            dom,
            month,
            dow,
        } = self.kind
        else {
            return None;
        };
        let bit = |v: i64| 1u64 << v;
        let mut t = t.add(1, -t.nanosecond())?;
        let mut added = false;
        let year_limit = t.year() + 5;
        'wrap: loop {
            if t.year() > year_limit {
                return None;
            }
            while bit(t.month()) & month == 0 {
                if !added {
                    added = true;
                    t = GoTime::date(t.year(), t.month(), 1, 0, 0, 0, 0, loc)?;
                }
                t = t.add_date(0, 1, 0)?;
                if t.month() == 1 {
                    continue 'wrap;
                }
            }
            while !Self::day_matches(dom, dow, &t) {
                if !added {
                    added = true;
                    t = GoTime::date(t.year(), t.month(), t.day(), 0, 0, 0, 0, loc)?;
                }
                t = t.add_date(0, 0, 1)?;
                // midnight may not exist (DST at 00:00): robfig moves back to the day's start
                let h = t.hour();
                if h != 0 {
                    t = if h > 12 {
                        t.add((24 - h) * 3600, 0)?
                    } else {
                        t.add(-h * 3600, 0)?
                    };
                }
                if t.day() == 1 {
                    continue 'wrap;
                }
            }
            while bit(t.hour()) & hour == 0 {
                if !added {
                    added = true;
                    t = GoTime::date(t.year(), t.month(), t.day(), t.hour(), 0, 0, 0, loc)?;
                }
                t = t.add(3600, 0)?;
                if t.hour() == 0 {
                    continue 'wrap;
                }
            }
            while bit(t.minute()) & minute == 0 {
                if !added {
                    added = true;
                    t = t.truncate(60)?;
                }
                t = t.add(60, 0)?;
                if t.minute() == 0 {
                    continue 'wrap;
                }
            }
            while bit(t.second()) & second == 0 {
                if !added {
                    added = true;
                    t = t.truncate(1)?;
                }
                t = t.add(1, 0)?;
                if t.second() == 0 {
                    continue 'wrap;
                }
            }
            return Some(t.ts);
        }
    }

    /// The raw bit sets `[second, minute, hour, dom, month, dow]` (bit 63 = a `*` was given),
    /// for comparing with robfig's own test expectations.
    #[cfg(test)]
    fn bits(&self) -> Option<[u64; 6]> {
        match self.kind {
            Kind::Spec {
                second,
                minute,
                hour,
                dom,
                month,
                dow,
            } => Some([second, minute, hour, dom, month, dow]),
            Kind::Every(_) => None,
        }
    }
}

#[cfg(test)]
mod tests;
