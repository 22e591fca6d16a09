//! Backrest's cron grammar: gitploy-io/cronexpr v0.2.2, which Backrest uses for a plan's
//! `schedule.cron` (garethgeorge/backrest `internal/protoutil/schedule.go`: `ResolveSchedule`,
//! `ValidateSchedule` → `cronexpr.ParseInLocation(expr, time.Now().Location().String())`).
//!
//! Facts from gitploy-io/cronexpr `parser.go` and `schedule.go` (not code):
//!
//! * exactly five whitespace-separated fields `minute hour day-of-month month day-of-week`; no
//!   seconds, no descriptors (`@daily` is an error), no `CRON_TZ=` prefix, no `?`, `L`, `W`, `#`;
//! * each field is a comma list (an empty item is an error) of `n`, `a-b`, `*`, with `/step`;
//!   `n/step` means `n-max/step`; names `JAN`…`DEC`, `SUN`…`SAT` in any case;
//! * values are **not range-checked**: `7` in day-of-week or `60` in minutes parses and simply
//!   never matches (`*` in the hour field is `0-24`); a reversed range `5-3` is empty;
//! * day-of-month and day-of-week must **both** match whenever either is set (cronexpr's star
//!   test is true for every non-empty set) — unlike robfig and Vixie cron, `0 0 1 * MON` is
//!   "the 1st, if it is a Monday";
//! * the schedule runs in the Backrest process's zone (`time.Local`), whatever the plan's
//!   `clock` setting; `Next` walks month → day → hour → minute with Go's clock arithmetic, so a
//!   time inside a spring-forward gap is skipped and one inside a fall-back overlap runs twice.
//!
//! Backrest's `ValidateSchedule` refuses a cron whose next run is missing (e.g. `0 10 * * 7`,
//! "check for DOW=7 usage"); [`CronexprSchedule::parse`] refuses those that can never run. A step
//! of `0` or below would hang or crash Backrest (cronexpr loops on it) and is refused too.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::gotime::GoTime;

#[derive(Clone, Copy)]
struct Bound {
    min: u64,
    max: u64,
    names: &'static [(&'static str, u64)],
}

const MINUTE: Bound = Bound {
    min: 0,
    max: 59,
    names: &[],
};
// cronexpr's hour bound is 0-24, so `*` sets bit 24 (which never matches).
const HOUR: Bound = Bound {
    min: 0,
    max: 24,
    names: &[],
};
const DOM: Bound = Bound {
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: Bound = Bound {
    min: 1,
    max: 12,
    names: &[
        ("JAN", 1),
        ("FEB", 2),
        ("MAR", 3),
        ("APR", 4),
        ("MAY", 5),
        ("JUN", 6),
        ("JUL", 7),
        ("AUG", 8),
        ("SEP", 9),
        ("OCT", 10),
        ("NOV", 11),
        ("DEC", 12),
    ],
};
const DOW: Bound = Bound {
    min: 0,
    max: 6,
    names: &[
        ("SUN", 0),
        ("MON", 1),
        ("TUE", 2),
        ("WED", 3),
        ("THU", 4),
        ("FRI", 5),
        ("SAT", 6),
    ],
};

/// A Backrest cron schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronexprSchedule {
    minute: u64,
    hour: u64,
    dom: u64,
    month: u64,
    dow: u64,
}

/// Go's `strconv.Atoi`.
fn atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.strip_prefix('+').unwrap_or(s).parse().ok()
}

fn parse_int(s: &str, b: Bound) -> Result<i64, String> {
    if let Some(i) = atoi(s) {
        return Ok(i);
    }
    let upper = s.to_uppercase();
    b.names
        .iter()
        .find(|(n, _)| *n == upper)
        .map(|&(_, v)| v.cast_signed())
        .ok_or_else(|| format!("'{s}' is out of reserved words"))
}

/// `buildBitset(min, max, step)`: bits at or above 64 vanish, as Go's shifts do.
fn build_bitset(begin: i64, end: i64, step: i64) -> u64 {
    let mut bits = 0u64;
    let mut i = begin;
    while i <= end && i < 64 {
        if i >= 0 {
            bits |= 1 << i;
        }
        i = i.saturating_add(step);
    }
    bits
}

fn parse_field_expr(fieldexpr: &str, b: Bound) -> Result<u64, String> {
    let newexpr = fieldexpr.replacen('*', &format!("{}-{}", b.min, b.max), 1);
    let range_and_step: Vec<&str> = newexpr.split('/').collect();
    if range_and_step.len() > 2 {
        return Err(format!(
            "Failed to parse the expr '{fieldexpr}', too many '/'"
        ));
    }
    let has_step = range_and_step.len() == 2;
    let low_and_high: Vec<&str> = range_and_step[0].split('-').collect();
    if low_and_high.len() > 2 {
        return Err(format!(
            "Failed to parse the expr '{fieldexpr}', too many '-'"
        ));
    }
    let wrap = |e: String| format!("Failed to parse the expr '{fieldexpr}': {e}");
    let begin = parse_int(low_and_high[0], b).map_err(wrap)?;
    let end = match (low_and_high.len(), has_step) {
        (1, true) => b.max.cast_signed(),
        (1, false) => begin,
        _ => parse_int(low_and_high[1], b).map_err(wrap)?,
    };
    let step = if has_step {
        atoi(range_and_step[1]).ok_or_else(|| {
            wrap(format!(
                "strconv.Atoi: parsing {:?}: invalid syntax",
                range_and_step[1]
            ))
        })?
    } else {
        1
    };
    if step <= 0 && begin <= end {
        // cronexpr loops forever (step 0) or panics on a negative shift (step < 0)
        return Err(format!(
            "step of '{fieldexpr}' must be positive (Backrest would hang on it)"
        ));
    }
    Ok(build_bitset(begin, end, step.max(1)))
}

fn parse_field(field: &str, b: Bound) -> Result<u64, String> {
    field
        .split(',')
        .try_fold(0, |acc, e| Ok(acc | parse_field_expr(e, b)?))
}

fn days_in_month(m: u64) -> u64 {
    match m {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl CronexprSchedule {
    /// `cronexpr.Parse(expr)` plus the part of Backrest's `ValidateSchedule` that does not depend
    /// on today's date: a schedule that can never run is refused.
    ///
    /// # Errors
    /// cronexpr's message, or why the schedule would never run.
    pub fn parse(expr: &str) -> Result<Self, String> {
        let fields: Vec<&str> = expr.split_whitespace().collect();
        if fields.len() != 5 {
            return Err("The length of fields must be five.".into());
        }
        let s = CronexprSchedule {
            minute: parse_field(fields[0], MINUTE)?,
            hour: parse_field(fields[1], HOUR)?,
            dom: parse_field(fields[2], DOM)?,
            month: parse_field(fields[3], MONTH)?,
            dow: parse_field(fields[4], DOW)?,
        };
        let never = |why: &str| {
            Err(format!(
                "next scheduled time is invalid ({why}; Backrest refuses it — check for DOW=7 usage)"
            ))
        };
        if s.minute & ((1 << 60) - 1) == 0 {
            return never("no minute in 0-59");
        }
        if s.hour & ((1 << 24) - 1) == 0 {
            return never("no hour in 0-23");
        }
        if s.dow & 0x7f == 0 {
            return never("no day of week in 0-6");
        }
        let feasible = (1..=12u64).any(|m| {
            s.month & (1 << m) != 0 && (1..=days_in_month(m)).any(|d| s.dom & (1 << d) != 0)
        });
        if !feasible {
            return never("no month has such a day");
        }
        Ok(s)
    }

    fn day_matches(&self, t: &GoTime) -> bool {
        let dom_match = (1u64 << t.day()) & self.dom != 0;
        let dow_match = (1u64 << t.weekday()) & self.dow != 0;
        if self.dom != 0 || self.dow != 0 {
            dom_match && dow_match
        } else {
            dom_match || dow_match
        }
    }

    /// cronexpr's `Next(t)` in `loc` (Backrest's process zone): the first run strictly after `t`
    /// (whole minutes), or `None` when nothing matches within five years.
    pub fn next(&self, t: Timestamp, loc: &TimeZone) -> Option<Timestamp> {
        let bit = |v: i64| 1u64 << v;
        let t0 = GoTime::new(t, loc);
        let mut t = t0.add(60, -t0.nanosecond())?;
        let mut added = false;
        let year_limit = t.year() + 5;
        'l: loop {
            if t.year() > year_limit {
                return None;
            }
            let year = t.year();
            while bit(t.month()) & self.month == 0 {
                if !added {
                    added = true;
                    t = GoTime::date(t.year(), t.month(), 1, 0, 0, 0, 0, loc)?;
                }
                t = t.add_date(0, 1, 0)?;
                if t.year() != year {
                    continue 'l;
                }
            }
            let month = t.month();
            while !self.day_matches(&t) {
                if !added {
                    added = true;
                    t = GoTime::date(t.year(), t.month(), t.day(), 0, 0, 0, 0, loc)?;
                }
                t = t.add_date(0, 0, 1)?;
                if t.month() != month {
                    continue 'l;
                }
            }
            let day = t.day();
            while bit(t.hour()) & self.hour == 0 {
                if !added {
                    added = true;
                    t = GoTime::date(t.year(), t.month(), t.day(), t.hour(), 0, 0, 0, loc)?;
                }
                t = t.add(3600, 0)?;
                if t.day() != day {
                    continue 'l;
                }
            }
            let hour = t.hour();
            while bit(t.minute()) & self.minute == 0 {
                if !added {
                    added = true;
                    t = t.truncate(60)?;
                }
                t = t.add(60, 0)?;
                if t.hour() != hour {
                    continue 'l;
                }
            }
            return Some(t.truncate(60)?.ts);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Deserialize)]
    struct Vectors {
        next: Vec<NextCase>,
        field: Vec<FieldCase>,
        derived: Derived,
    }

    #[derive(Deserialize)]
    struct Derived {
        field: Vec<FieldCase>,
        next: Vec<NextCase>,
        rejects: Vec<String>,
    }

    #[derive(Deserialize)]
    struct NextCase {
        from: String,
        spec: String,
        expected: String,
    }

    #[derive(Deserialize)]
    struct FieldCase {
        value: String,
        field: String,
        bits: Option<String>,
        error: Option<bool>,
    }

    #[test]
    fn upstream_and_derived_vectors() {
        let v: Vectors = toml::from_str(include_str!("../../tests/vectors/cronexpr.toml")).unwrap();
        assert_eq!(v.next.len(), 7);
        for c in v.next.iter().chain(&v.derived.next) {
            let s = CronexprSchedule::parse(&c.spec).unwrap();
            let got = s.next(c.from.parse().unwrap(), &TimeZone::UTC).unwrap();
            assert_eq!(got.to_string(), c.expected, "{} from {}", c.spec, c.from);
        }
        for c in v.field.iter().chain(&v.derived.field) {
            let b = match c.field.as_str() {
                "minute" => MINUTE,
                "hour" => HOUR,
                "dom" => DOM,
                "month" => MONTH,
                "dow" => DOW,
                other => panic!("{other}"),
            };
            let got = parse_field(&c.value, b);
            if c.error == Some(true) {
                assert!(got.is_err(), "{}", c.value);
            } else {
                let want =
                    u64::from_str_radix(c.bits.as_deref().unwrap().trim_start_matches("0x"), 16)
                        .unwrap();
                assert_eq!(got, Ok(want), "{}", c.value);
            }
        }
        for r in &v.derived.rejects {
            assert!(CronexprSchedule::parse(r).is_err(), "{r}");
        }
    }

    #[test]
    fn daylight_saving_in_london() {
        // Backrest in Europe/London: 01:30 is skipped on 29 March and runs twice on 25 October.
        let tz = TimeZone::get("Europe/London").unwrap();
        let s = CronexprSchedule::parse("30 1 * * *").unwrap();
        let run = |from: &str| s.next(from.parse().unwrap(), &tz).unwrap().to_string();
        assert_eq!(run("2026-03-28T12:00:00Z"), "2026-03-30T00:30:00Z");
        assert_eq!(run("2026-10-24T12:00:00Z"), "2026-10-25T00:30:00Z");
        assert_eq!(run("2026-10-25T00:30:00Z"), "2026-10-25T01:30:00Z");
        assert_eq!(run("2026-10-25T01:30:00Z"), "2026-10-26T01:30:00Z");
    }

    #[test]
    fn backrest_grammar() {
        for ok in [
            "0 3 * * *",
            "*/15 * * * *",
            "0 10 * * 0",
            "0 10 * * 5,7",
            "0 4 * * mon-fri",
            "0 0 1 jan *",
        ] {
            assert!(CronexprSchedule::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "@daily",
            "CRON_TZ=UTC 0 3 * * *",
            "0 3 * * ?",
            "0 3 L * *",
            "0 3 * * 5#2",
            "0 10 * * 7",
            "60 3 * * *",
            "0 24 * * *",
            "0 0 30 2 *",
            "*/0 * * * *",
            "1,,2 * * * *",
            "0 0 * * * *",
        ] {
            assert!(CronexprSchedule::parse(bad).is_err(), "{bad}");
        }
    }
}
