//! Proxmox/systemd calendar events (`sun 02:00`, `mon..fri 03:15`, `*-*-* 02:00`, `daily`, …),
//! written from the format description in the PBS documentation.
//!
//! Format: `[WEEKDAY] [[YEARS-]MONTHS-DAYS] [HOURS:MINUTES[:SECONDS]] [UTC]`. Each field is a
//! comma list of `*`, `n`, `a..b`, `n/step`, `a..b/step` or `*/step`; weekdays are `mon`…`sun`
//! (long names accepted) with lists and `..` ranges. A missing time is `00:00:00`; a lone number
//! or `H:M` list without a date is minutes (and hours) of every day. Aliases: `minutely`,
//! `hourly`, `daily`, `weekly`, `monthly`, `yearly`/`annually`, `quarterly`,
//! `semiannually`/`semi-annually`. Events run in the given time zone unless suffixed `UTC`.
//!
//! ```
//! use backup_policy::calendar::CalendarEvent;
//! use jiff::tz::TimeZone;
//!
//! let ev: CalendarEvent = "sun 02:00".parse()?;
//! let tz = TimeZone::get("Europe/London")?;
//! let next = ev.next_after("2026-11-27T12:00:00Z".parse()?, &tz).unwrap();
//! assert_eq!(next.to_string(), "2026-11-29T02:00:00Z");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use crate::error::{Error, Result};

/// One item of a year list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum YearItem {
    Any,
    Single(i32),
    Repeat {
        start: i32,
        step: i32,
        end: Option<i32>,
    },
}

impl YearItem {
    fn matches(&self, y: i32) -> bool {
        match *self {
            YearItem::Any => true,
            YearItem::Single(v) => v == y,
            YearItem::Repeat { start, step, end } => {
                y >= start && end.is_none_or(|e| y <= e) && (y - start) % step.max(1) == 0
            }
        }
    }
    fn max(&self) -> Option<i32> {
        match *self {
            YearItem::Any | YearItem::Repeat { end: None, .. } => None,
            YearItem::Single(v) => Some(v),
            YearItem::Repeat { end: Some(e), .. } => Some(e),
        }
    }
}

/// A parsed calendar event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarEvent {
    text: String,
    weekdays: u8, // bit 0 = Monday
    years: Vec<YearItem>,
    months: u64,  // bits 1..=12
    days: u64,    // bits 1..=31
    hours: u64,   // bits 0..=23
    minutes: u64, // bits 0..=59
    seconds: u64, // bits 0..=59
    utc: bool,
}

fn serr(expr: &str, msg: impl Into<String>) -> Error {
    Error::Schedule {
        expr: expr.to_string(),
        message: msg.into(),
    }
}

const WEEKDAYS: [(&str, &str); 7] = [
    ("mon", "monday"),
    ("tue", "tuesday"),
    ("wed", "wednesday"),
    ("thu", "thursday"),
    ("fri", "friday"),
    ("sat", "saturday"),
    ("sun", "sunday"),
];

fn weekday_index(s: &str) -> Option<u8> {
    let s = s.to_ascii_lowercase();
    WEEKDAYS
        .iter()
        .position(|(a, b)| s == *a || s == *b)
        .map(|p| p as u8)
}

fn parse_weekdays(expr: &str, tok: &str) -> Result<u8> {
    let mut bits = 0u8;
    for item in tok.split(',').filter(|s| !s.is_empty()) {
        if let Some((a, b)) = item.split_once("..") {
            let a = weekday_index(a).ok_or_else(|| serr(expr, format!("unknown weekday {a:?}")))?;
            let b = weekday_index(b).ok_or_else(|| serr(expr, format!("unknown weekday {b:?}")))?;
            // ranges wrap like systemd's (sat..mon = sat, sun, mon)
            let mut i = a;
            loop {
                bits |= 1 << i;
                if i == b {
                    break;
                }
                i = (i + 1) % 7;
            }
        } else {
            let i = weekday_index(item)
                .ok_or_else(|| serr(expr, format!("unknown weekday {item:?}")))?;
            bits |= 1 << i;
        }
    }
    if bits == 0 {
        return Err(serr(expr, "empty weekday list"));
    }
    Ok(bits)
}

fn num(expr: &str, s: &str, min: u32, max: u32, what: &str) -> Result<u32> {
    let v: u32 = s
        .parse()
        .map_err(|_| serr(expr, format!("invalid {what} {s:?}")))?;
    if v < min || v > max {
        return Err(serr(expr, format!("{what} {v} out of range {min}..{max}")));
    }
    Ok(v)
}

/// Parses a numeric field list into a bitset of values in `min..=max`.
fn parse_field(expr: &str, tok: &str, min: u32, max: u32, what: &str) -> Result<u64> {
    let mut bits = 0u64;
    for item in tok.split(',') {
        if item.is_empty() {
            return Err(serr(expr, format!("empty {what} item")));
        }
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, Some(num(expr, s, 1, max.max(1), "repetition")?)),
            None => (item, None),
        };
        let (a, b) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once("..") {
            (num(expr, a, min, max, what)?, num(expr, b, min, max, what)?)
        } else {
            let a = num(expr, range, min, max, what)?;
            (a, if step.is_some() { max } else { a })
        };
        if a > b {
            return Err(serr(expr, format!("empty {what} range {a}..{b}")));
        }
        let step = step.unwrap_or(1);
        let mut v = a;
        while v <= b {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok(bits)
}

fn parse_years(expr: &str, tok: &str) -> Result<Vec<YearItem>> {
    let mut out = Vec::new();
    for item in tok.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, Some(num(expr, s, 1, 9999, "repetition")? as i32)),
            None => (item, None),
        };
        let it = if range == "*" {
            match step {
                None => YearItem::Any,
                Some(step) => YearItem::Repeat {
                    start: 0,
                    step,
                    end: None,
                },
            }
        } else if let Some((a, b)) = range.split_once("..") {
            let a = num(expr, a, 1970, 9999, "year")? as i32;
            let b = num(expr, b, 1970, 9999, "year")? as i32;
            YearItem::Repeat {
                start: a,
                step: step.unwrap_or(1),
                end: Some(b),
            }
        } else {
            let a = num(expr, range, 0, 9999, "year")? as i32;
            match step {
                None => YearItem::Single(a),
                Some(step) => YearItem::Repeat {
                    start: a,
                    step,
                    end: None,
                },
            }
        };
        out.push(it);
    }
    Ok(out)
}

const ALL60: u64 = (1u64 << 60) - 1;

impl CalendarEvent {
    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when the event is evaluated in UTC (`… UTC`) rather than the given zone.
    pub fn is_utc(&self) -> bool {
        self.utc
    }

    fn parse_inner(text: &str) -> Result<Self> {
        let expr = text;
        let mut s = text.trim().to_ascii_lowercase();
        let mut utc = false;
        if let Some(rest) = s.strip_suffix(" utc") {
            utc = true;
            s = rest.trim_end().to_string();
        }
        let alias = match s.as_str() {
            "minutely" => Some("*-*-* *:*:00"),
            "hourly" => Some("*-*-* *:00:00"),
            "daily" => Some("*-*-* 00:00:00"),
            "weekly" => Some("mon *-*-* 00:00:00"),
            "monthly" => Some("*-*-01 00:00:00"),
            "yearly" | "annually" => Some("*-01-01 00:00:00"),
            "quarterly" => Some("*-01,04,07,10-01 00:00:00"),
            "semiannually" | "semi-annually" => Some("*-01,07-01 00:00:00"),
            _ => None,
        };
        if let Some(a) = alias {
            s = a.to_string();
        }
        let mut toks: Vec<&str> = s.split_whitespace().collect();
        if toks.is_empty() {
            return Err(serr(expr, "empty calendar event"));
        }
        let mut ev = CalendarEvent {
            text: text.trim().to_string(),
            weekdays: 0x7f,
            years: vec![YearItem::Any],
            months: ALL60 & !1 & ((1 << 13) - 1),
            days: ((1u64 << 32) - 1) & !1,
            hours: 1,
            minutes: 1,
            seconds: 1,
            utc,
        };
        if toks[0]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        {
            ev.weekdays = parse_weekdays(expr, toks[0])?;
            toks.remove(0);
        }
        let mut have_date = false;
        let mut have_time = false;
        for tok in toks {
            if tok.contains(':') {
                if have_time {
                    return Err(serr(expr, "two time specifications"));
                }
                have_time = true;
                let parts: Vec<&str> = tok.split(':').collect();
                let (h, m, sec) = match parts.as_slice() {
                    [h, m] => (*h, *m, None),
                    [h, m, s] => (*h, *m, Some(*s)),
                    _ => return Err(serr(expr, format!("invalid time {tok:?}"))),
                };
                ev.hours = parse_field(expr, h, 0, 23, "hour")?;
                ev.minutes = parse_field(expr, m, 0, 59, "minute")?;
                ev.seconds = match sec {
                    Some(s) => parse_field(expr, s, 0, 59, "second")?,
                    None => 1,
                };
            } else if tok.contains('-') {
                if have_date || have_time {
                    return Err(serr(expr, format!("unexpected date {tok:?}")));
                }
                have_date = true;
                let parts: Vec<&str> = tok.split('-').collect();
                let (y, m, d) = match parts.as_slice() {
                    [m, d] => (None, *m, *d),
                    [y, m, d] => (Some(*y), *m, *d),
                    _ => return Err(serr(expr, format!("invalid date {tok:?}"))),
                };
                if let Some(y) = y {
                    ev.years = parse_years(expr, y)?;
                }
                ev.months = parse_field(expr, m, 1, 12, "month")?;
                ev.days = parse_field(expr, d, 1, 31, "day")?;
            } else {
                // a bare minute list: every hour at those minutes
                if have_time {
                    return Err(serr(expr, format!("unexpected {tok:?}")));
                }
                have_time = true;
                ev.hours = (1 << 24) - 1;
                ev.minutes = parse_field(expr, tok, 0, 59, "minute")?;
                ev.seconds = 1;
            }
        }
        Ok(ev)
    }

    fn date_matches(&self, d: Date) -> bool {
        let wd = d.weekday().to_monday_zero_offset();
        self.weekdays & (1 << wd) != 0
            && self.months & (1 << d.month()) != 0
            && self.days & (1 << d.day()) != 0
            && self.years.iter().any(|y| y.matches(i32::from(d.year())))
    }

    fn max_year(&self) -> Option<i32> {
        self.years
            .iter()
            .map(YearItem::max)
            .collect::<Option<Vec<_>>>()?
            .into_iter()
            .max()
    }

    fn times(&self) -> impl DoubleEndedIterator<Item = (i8, i8, i8)> + '_ {
        let bits = |b: u64, n: i8| (0..n).filter(move |v| b & (1 << v) != 0);
        bits(self.hours, 24).flat_map(move |h| {
            bits(self.minutes, 60).flat_map(move |m| bits(self.seconds, 60).map(move |s| (h, m, s)))
        })
    }

    fn to_instant(&self, dt: DateTime, tz: &TimeZone) -> Option<Timestamp> {
        let tz = if self.utc { &TimeZone::UTC } else { tz };
        tz.to_ambiguous_timestamp(dt).compatible().ok()
    }

    /// The first event strictly after `after`, evaluated in `tz` (or UTC for `… UTC` events).
    /// Wall-clock times that do not exist (spring forward) fire at the shifted later time; times
    /// that repeat (fall back) fire once. `None` when no event exists before year 9999.
    pub fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let zone = if self.utc { TimeZone::UTC } else { tz.clone() };
        // start a day early so a compatible-mapped time near the boundary is not missed
        let mut day = zone.to_datetime(after).date().checked_sub(1.day()).ok()?;
        let limit = self.max_year().map_or(9999, |y| y.min(9999));
        let mut guard = 0u32;
        while i32::from(day.year()) <= limit {
            guard += 1;
            if guard > 200_000 {
                return None;
            }
            if self.months & (1 << day.month()) == 0 {
                day = day.first_of_month().checked_add(1.month()).ok()?;
                continue;
            }
            if !self.years.iter().any(|y| y.matches(i32::from(day.year()))) {
                day = Date::new(day.year().checked_add(1)?, 1, 1).ok()?;
                continue;
            }
            if self.date_matches(day) {
                for (h, m, s) in self.times() {
                    if let Some(t) = self.to_instant(day.at(h, m, s, 0), &zone)
                        && t > after
                    {
                        return Some(t);
                    }
                }
            }
            day = day.tomorrow().ok()?;
        }
        None
    }

    /// The last event at or before `at` (the "last expected run"), or `None` if there is none
    /// after 1970.
    pub fn last_at_or_before(&self, at: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let zone = if self.utc { TimeZone::UTC } else { tz.clone() };
        let mut day = zone.to_datetime(at).date().checked_add(1.day()).ok()?;
        let mut guard = 0u32;
        while day.year() >= 1970 {
            guard += 1;
            if guard > 200_000 {
                return None;
            }
            if self.months & (1 << day.month()) == 0
                || !self.years.iter().any(|y| y.matches(i32::from(day.year())))
            {
                day = day.first_of_month().yesterday().ok()?;
                continue;
            }
            if self.date_matches(day) {
                for (h, m, s) in self.times().rev() {
                    if let Some(t) = self.to_instant(day.at(h, m, s, 0), &zone)
                        && t <= at
                    {
                        return Some(t);
                    }
                }
            }
            day = day.yesterday().ok()?;
        }
        None
    }
}

impl FromStr for CalendarEvent {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        CalendarEvent::parse_inner(s)
    }
}

impl fmt::Display for CalendarEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn next_utc(expr: &str, from: i64) -> i64 {
        let ev: CalendarEvent = expr.parse().unwrap();
        ev.next_after(Timestamp::from_second(from).unwrap(), &TimeZone::UTC)
            .unwrap()
            .as_second()
    }

    #[test]
    fn upstream_quirks() {
        assert_eq!(next_utc("0", 0), 3600);
        assert_eq!(next_utc("*", 0), 60);
        assert_eq!(next_utc("daily", 0), 86400);
        assert_eq!(next_utc("weekly", 0), 4 * 86400);
        assert_eq!(next_utc("monthly", 0), 31 * 86400);
        assert_eq!(next_utc("5/2:0", 0), 5 * 3600);
        assert_eq!(next_utc("5/2:0", 5 * 3600), 7 * 3600);
        assert_eq!(next_utc("2020-07-31", 0), 1_596_153_600);
        assert_eq!(next_utc("02-29", 0), 68_169_600); // 1972-02-29
        assert_eq!(next_utc("1965/5-01-01", -1), 0);
        assert_eq!(next_utc("daily UTC", 0), 86400);
        assert_eq!(next_utc("mon..fri *:00 UTC", 0), 3600);
        assert_eq!(next_utc("4..10/2:0", 0), 4 * 3600);
        assert_eq!(next_utc("4..10/2:0", 10 * 3600), 86400 + 4 * 3600);
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "funday 02:00",
            "25:00",
            "02:61",
            "13-01",
            "mon 1:2:3:4",
            "*-*-32",
            "a..b",
        ] {
            assert!(bad.parse::<CalendarEvent>().is_err(), "{bad}");
        }
    }

    #[test]
    fn seed_examples() {
        let tz = TimeZone::get("Europe/London").unwrap();
        let from: Timestamp = "2026-11-27T12:00:00Z".parse().unwrap(); // a Friday
        let n = |e: &str| {
            e.parse::<CalendarEvent>()
                .unwrap()
                .next_after(from, &tz)
                .unwrap()
                .to_string()
        };
        assert_eq!(n("sun 02:00"), "2026-11-29T02:00:00Z");
        assert_eq!(n("mon..fri 03:15"), "2026-11-30T03:15:00Z");
        assert_eq!(n("sat,sun 4:00"), "2026-11-28T04:00:00Z");
        assert_eq!(n("*-*-* 02:00"), "2026-11-28T02:00:00Z");
        assert_eq!(n("Sat *-1..7 15:00"), "2026-12-05T15:00:00Z");
        assert_eq!(n("sat..mon 01:00"), "2026-11-28T01:00:00Z");
    }

    #[test]
    fn last_before() {
        let ev: CalendarEvent = "sun 02:00".parse().unwrap();
        let at: Timestamp = "2026-11-27T12:00:00Z".parse().unwrap();
        assert_eq!(
            ev.last_at_or_before(at, &TimeZone::UTC)
                .unwrap()
                .to_string(),
            "2026-11-22T02:00:00Z"
        );
        let exact: Timestamp = "2026-11-22T02:00:00Z".parse().unwrap();
        assert_eq!(ev.last_at_or_before(exact, &TimeZone::UTC), Some(exact));
    }
}
