//! Proxmox calendar events (`sun 02:00`, `mon..fri 03:15`, `*-*-* 02:00`, `daily`, …), as PBS
//! and PVE parse and evaluate them.
//!
//! Written from proxmox-time's `calendar_event.rs`, `parse_helpers.rs`, `date_time_value.rs`,
//! `week_days.rs` and `tm_editor.rs` (proxmox/proxmox-rs), and its tests (`test.rs`, carried as
//! data in `tests/vectors/proxmox_calendar.toml`). Facts, not code:
//!
//! * `[WEEKDAYS] [[YEARS-]MONTHS-DAYS] [HOURS:]MINUTES[:SECONDS]`, optionally followed by `UTC`
//!   (with or without a space: `02:00UTC`). Each numeric field is `*`, `*/step`, or a comma list of
//!   `n`, `a..b`, `n/step`, `a..b/step`; a step of 0 means just `n` (`5/0:00` is 05:00).
//!   A reversed range (`10..4`) is an error, as is a value at or above the field's limit (hours 24,
//!   minutes/seconds 60, months 13, days 32, years 2200). `*` may not be part of a list
//!   (`*,5:00` is an error).
//! * weekdays `mon`…`sun` or `monday`…`sunday`, any case, lists and `..` ranges that wrap
//!   (`fri..mon`). The keywords `minutely`, `hourly`, `daily`, `weekly`, `monthly`, `quarterly`,
//!   `semiannually`/`semi-annually`, `yearly`/`annually` are lower case and stand alone: `Daily`
//!   and `daily 02:00` are errors.
//! * a missing time is `00:00:00`; a lone number is minutes (`0` = every hour at :00); missing
//!   seconds are `:00`. No leading or trailing spaces (except before `UTC`).
//! * `compute_next_event(last)` starts at `last + 1` and walks year → month → day → weekday →
//!   hour → minute → second, jumping fields with libc `mktime` normalisation in the host's zone,
//!   and gives up after 1000 steps.
//!
//! **Daylight saving.** `mktime` moves a wall-clock time inside a spring-forward gap forward by
//! the gap (glibc; checked against Debian's glibc 2.36), so the walk lands past the wanted hour
//! and moves on to the next day: **an event inside the skipped hour does not run that day**
//! (`01:30` in Europe/London on the last Sunday of March). In a fall-back overlap the walk
//! settles on one of the two instants and the event runs **once**; which one glibc picks depends
//! on the offset its previous `mktime` call used — here the earlier one, unless that lies before
//! the search start.
//!
//! ```
//! use backup_policy::calendar::CalendarEvent;
//! use jiff::tz::TimeZone;
//!
//! let ev: CalendarEvent = "sun 02:00".parse()?;
//! let tz = TimeZone::get("Europe/London")?;
//! let next = ev.next_after("2026-11-27T12:00:00Z".parse()?, &tz).unwrap();
//! assert_eq!(next.to_string(), "2026-11-29T02:00:00Z");
//! assert!("Daily".parse::<CalendarEvent>().is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::error::{Error, Result};

/// One item of a numeric field list (proxmox-time's `DateTimeValue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    Single(u32),
    Range(u32, u32),
    Repeated(u32, u32, Option<u32>),
}

impl Value {
    fn contains(self, v: u32) -> bool {
        match self {
            Value::Single(s) => s == v,
            Value::Range(a, b) => v >= a && v <= b,
            Value::Repeated(start, rep, end) => {
                if v < start {
                    false
                } else if rep > 0 {
                    (v - start).is_multiple_of(rep) && end.is_none_or(|e| v <= e)
                } else {
                    v == start
                }
            }
        }
    }
}

fn list_contains(list: &[Value], v: u32) -> bool {
    list.iter().any(|x| x.contains(v))
}

/// The smallest entry greater than `value` (proxmox-time's `find_next`, quirks included).
fn find_next(list: &[Value], value: u32) -> Option<u32> {
    let mut next: Option<u32> = None;
    let mut set = |v: u32| {
        if next.is_none_or(|n| v < n) {
            next = Some(v);
        }
    };
    for spec in list {
        match *spec {
            Value::Single(v) => {
                if v > value {
                    set(v);
                }
            }
            Value::Range(start, end) => {
                if value < start {
                    set(start);
                } else {
                    let n = value + 1;
                    if n >= start && n <= end {
                        set(n);
                    }
                }
            }
            Value::Repeated(start, rep, end) => {
                if value < start {
                    set(start);
                } else if let Some(k) = (value - start + rep).checked_div(rep) {
                    let n = start + k * rep;
                    if end.is_none_or(|e| n <= e) {
                        set(n);
                    }
                }
            }
        }
    }
    next
}

const MONDAY: u8 = 1;
const SUNDAY: u8 = 64;
const ALL_DAYS: u8 = 127;

/// A parsed calendar event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarEvent {
    text: String,
    utc: bool,
    days: u8, // bit 0 = Monday … bit 6 = Sunday; 0 = every day
    second: Vec<Value>,
    minute: Vec<Value>,
    hour: Vec<Value>,
    day: Vec<Value>,
    month: Vec<Value>,
    year: Vec<Value>,
}

/// A parse failure at a position, like nom's `VerboseError` context.
struct PErr(&'static str);

type P<'a, T> = std::result::Result<(&'a str, T), PErr>;

fn digits(i: &str) -> P<'_, u32> {
    let n = i.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 {
        return Err(PErr("digit"));
    }
    let v: u32 = i[..n].parse().map_err(|_| PErr("number too large"))?;
    Ok((&i[n..], v))
}

/// `parse_time_comp(max)`: digits, value below `max`.
fn comp(max: u32) -> impl Fn(&str) -> P<'_, u32> {
    move |i| {
        let (r, v) = digits(i)?;
        if v >= max {
            return Err(PErr("time value too large"));
        }
        Ok((r, v))
    }
}

/// `parse_date_time_comp(max)`.
fn date_time_comp(i: &str, max: u32) -> P<'_, Value> {
    let (i, value) = comp(max)(i)?;
    if let Some(rest) = i.strip_prefix("..")
        && let Ok((i, end)) = comp(max)(rest)
    {
        if value > end {
            return Err(PErr("range start is bigger than end"));
        }
        if let Some(t) = i.strip_prefix('/') {
            let (t, rep) = comp(max)(t)?;
            return Ok((t, Value::Repeated(value, rep, Some(end))));
        }
        return Ok((i, Value::Range(value, end)));
    }
    if let Some(t) = i.strip_prefix('/') {
        let (t, rep) = comp(max)(t)?;
        Ok((t, Value::Repeated(value, rep, None)))
    } else {
        Ok((i, Value::Single(value)))
    }
}

/// `parse_date_time_comp_list(start, max)`: `*`, `*/n`, or a comma list.
fn comp_list(i: &str, start: u32, max: u32) -> P<'_, Vec<Value>> {
    if let Some(rest) = i.strip_prefix('*') {
        if let Some(t) = rest.strip_prefix('/') {
            let (n, rep) = comp(max)(t)?;
            if rep > 0 {
                return Ok((n, vec![Value::Repeated(start, rep, None)]));
            }
        }
        return Ok((rest, Vec::new()));
    }
    let (mut i, first) = date_time_comp(i, max)?;
    let mut out = vec![first];
    // separated_list1: stop (without consuming the comma) when the next item does not parse
    while let Some(rest) = i.strip_prefix(',') {
        match date_time_comp(rest, max) {
            Ok((r, v)) => {
                out.push(v);
                i = r;
            }
            Err(e @ PErr("range start is bigger than end")) => return Err(e),
            Err(_) => break,
        }
    }
    Ok((i, out))
}

fn weekday(i: &str) -> P<'_, u8> {
    let n = i.bytes().take_while(u8::is_ascii_alphabetic).count();
    if n == 0 {
        return Err(PErr("weekday"));
    }
    let bit = match i[..n].to_ascii_lowercase().as_str() {
        "monday" | "mon" => 1,
        "tuesday" | "tue" => 2,
        "wednesday" | "wed" => 4,
        "thursday" | "thu" => 8,
        "friday" | "fri" => 16,
        "saturday" | "sat" => 32,
        "sunday" | "sun" => 64,
        _ => return Err(PErr("weekday")),
    };
    Ok((&i[n..], bit))
}

fn weekday_range(i: &str) -> P<'_, u8> {
    let (i, start) = weekday(i)?;
    let gen_range = |a: u8, b: u8| {
        let mut res = 0u8;
        let mut pos = a;
        loop {
            res |= pos;
            if pos >= b {
                break;
            }
            pos <<= 1;
        }
        res
    };
    if let Some(rest) = i.strip_prefix("..")
        && let Ok((r, end)) = weekday(rest)
    {
        let bits = if start > end {
            gen_range(start, SUNDAY) | gen_range(MONDAY, end)
        } else {
            gen_range(start, end)
        };
        return Ok((r, bits));
    }
    Ok((i, start))
}

fn weekday_list(i: &str) -> P<'_, u8> {
    let (mut i, mut bits) = weekday_range(i)?;
    while let Some(rest) = i.strip_prefix(',') {
        match weekday_range(rest) {
            Ok((r, b)) => {
                bits |= b;
                i = r;
            }
            Err(_) => break,
        }
    }
    Ok((i, bits))
}

type DateSpec = (Vec<Value>, Vec<Value>, Vec<Value>);

fn ymd(i: &str) -> P<'_, DateSpec> {
    let (i, y) = comp_list(i, 0, 2200)?;
    let i = i.strip_prefix('-').ok_or(PErr("-"))?;
    let (i, m) = comp_list(i, 1, 13)?;
    let i = i.strip_prefix('-').ok_or(PErr("-"))?;
    let (i, d) = comp_list(i, 1, 32)?;
    Ok((i, (y, m, d)))
}

fn md(i: &str) -> P<'_, DateSpec> {
    let (i, m) = comp_list(i, 1, 13)?;
    let i = i.strip_prefix('-').ok_or(PErr("-"))?;
    let (i, d) = comp_list(i, 1, 32)?;
    Ok((i, (Vec::new(), m, d)))
}

/// `parse_date_spec`: `YEARS-MONTHS-DAYS` or `MONTHS-DAYS`.
fn date_spec(i: &str) -> Option<(&str, DateSpec)> {
    ymd(i).or_else(|_| md(i)).ok()
}

type TimeSpec = (Vec<Value>, Vec<Value>, Vec<Value>);

fn time_spec(i: &str) -> P<'_, TimeSpec> {
    let (i, hour) = match comp_list(i, 0, 24) {
        Ok((r, h)) if r.starts_with(':') => (&r[1..], h),
        _ => (i, Vec::new()),
    };
    let (i, minute) = comp_list(i, 0, 60)?;
    let (i, second) = match i.strip_prefix(':').map(|r| comp_list(r, 0, 60)) {
        Some(Ok((r, s))) => (r, s),
        _ => (i, vec![Value::Single(0)]),
    };
    Ok((i, (hour, minute, second)))
}

fn keyword(k: &str) -> Option<CalendarEvent> {
    let zero = || vec![Value::Single(0)];
    let one = || vec![Value::Single(1)];
    let mut ev = CalendarEvent::empty();
    match k {
        "minutely" => ev.second = zero(),
        "hourly" => (ev.minute, ev.second) = (zero(), zero()),
        "daily" => (ev.hour, ev.minute, ev.second) = (zero(), zero(), zero()),
        "weekly" => {
            (ev.hour, ev.minute, ev.second) = (zero(), zero(), zero());
            ev.days = MONDAY;
        }
        "monthly" => {
            (ev.hour, ev.minute, ev.second) = (zero(), zero(), zero());
            ev.day = one();
        }
        "yearly" | "annually" => {
            (ev.hour, ev.minute, ev.second) = (zero(), zero(), zero());
            (ev.day, ev.month) = (one(), one());
        }
        "quarterly" => {
            (ev.hour, ev.minute, ev.second) = (zero(), zero(), zero());
            ev.day = one();
            ev.month = [1, 4, 7, 10].map(Value::Single).to_vec();
        }
        "semiannually" | "semi-annually" => {
            (ev.hour, ev.minute, ev.second) = (zero(), zero(), zero());
            ev.day = one();
            ev.month = [1, 7].map(Value::Single).to_vec();
        }
        _ => return None,
    }
    Some(ev)
}

/// A `libc::tm` being edited (proxmox-time's `TmEditor`), in a zone.
struct Tm<'z> {
    zone: &'z TimeZone,
    start: Timestamp,
    ts: Timestamp,
    dt: DateTime,
}

impl<'z> Tm<'z> {
    fn with_epoch(ts: Timestamp, zone: &'z TimeZone) -> Self {
        Tm {
            zone,
            start: ts,
            ts,
            dt: zone.to_datetime(ts),
        }
    }

    /// `mktime`/`timegm` normalisation of out-of-range fields, then back to fields.
    fn set(
        &mut self,
        year: i64,
        mon1: i64,
        mday: i64,
        hour: i64,
        min: i64,
        sec: i64,
    ) -> Option<()> {
        let m0 = mon1 - 1;
        let y = year + m0.div_euclid(12);
        let m = m0.rem_euclid(12) + 1;
        let first = Date::new(i16::try_from(y).ok()?, i8::try_from(m).ok()?, 1).ok()?;
        let secs = (mday - 1) * 86_400 + hour * 3_600 + min * 60 + sec;
        let dt = first
            .to_datetime(jiff::civil::Time::midnight())
            .checked_add(SignedDuration::from_secs(secs))
            .ok()?;
        let amb = self.zone.to_ambiguous_timestamp(dt);
        // gap: glibc shifts forward by the gap (= jiff's `compatible`); overlap: the earlier
        // instant unless it lies before where the search started.
        let ts = match amb.offset() {
            jiff::tz::AmbiguousOffset::Fold { before, after } => {
                let early = before.to_timestamp(dt).ok()?;
                if early >= self.start {
                    early
                } else {
                    after.to_timestamp(dt).ok()?
                }
            }
            _ => amb.compatible().ok()?,
        };
        self.ts = ts;
        self.dt = self.zone.to_datetime(ts);
        Some(())
    }

    fn year(&self) -> i64 {
        i64::from(self.dt.year())
    }
    fn month(&self) -> i64 {
        i64::from(self.dt.month())
    }
    fn day(&self) -> i64 {
        i64::from(self.dt.day())
    }
    fn hour(&self) -> i64 {
        i64::from(self.dt.hour())
    }
    fn min(&self) -> i64 {
        i64::from(self.dt.minute())
    }
    fn sec(&self) -> i64 {
        i64::from(self.dt.second())
    }
    /// Monday = 0.
    fn day_num(&self) -> i64 {
        i64::from(self.dt.weekday().to_monday_zero_offset())
    }

    fn add_years(&mut self, n: i64) -> Option<()> {
        if n == 0 {
            return Some(());
        }
        self.set(self.year() + n, 1, 1, 0, 0, 0)
    }
    fn add_months(&mut self, n: i64) -> Option<()> {
        if n == 0 {
            return Some(());
        }
        self.set(self.year(), self.month() + n, 1, 0, 0, 0)
    }
    fn add_days(&mut self, n: i64) -> Option<()> {
        if n == 0 {
            return Some(());
        }
        self.set(self.year(), self.month(), self.day() + n, 0, 0, 0)
    }
    fn set_time(&mut self, h: i64, m: i64, s: i64) -> Option<()> {
        self.set(self.year(), self.month(), self.day(), h, m, s)
    }
    fn set_min_sec(&mut self, m: i64, s: i64) -> Option<()> {
        self.set(self.year(), self.month(), self.day(), self.hour(), m, s)
    }
    fn set_sec(&mut self, s: i64) -> Option<()> {
        self.set(
            self.year(),
            self.month(),
            self.day(),
            self.hour(),
            self.min(),
            s,
        )
    }
}

fn u(v: i64) -> Option<u32> {
    u32::try_from(v).ok()
}

impl CalendarEvent {
    fn empty() -> Self {
        CalendarEvent {
            text: String::new(),
            utc: false,
            days: 0,
            second: Vec::new(),
            minute: Vec::new(),
            hour: Vec::new(),
            day: Vec::new(),
            month: Vec::new(),
            year: Vec::new(),
        }
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when the event is evaluated in UTC (`… UTC`) rather than the host's zone.
    pub fn is_utc(&self) -> bool {
        self.utc
    }

    fn parse_inner(text: &str) -> std::result::Result<Self, (String, &'static str)> {
        let fail = |at: &str, what: &'static str| Err((at.to_string(), what));
        let mut i = text;
        let mut utc = false;
        if let Some(n) = i.strip_suffix("UTC") {
            utc = true;
            i = n.trim_end_matches(' ');
        }
        let mut ev = CalendarEvent::empty();
        let mut has_day = false;
        if i.starts_with(|c: char| c.is_ascii_alphabetic()) {
            if let Some(mut k) = keyword(i) {
                k.utc = utc;
                k.text = text.to_string();
                return Ok(k);
            }
            match weekday_list(i) {
                Ok((r, bits)) => {
                    ev.days = bits;
                    has_day = true;
                    i = r.trim_start_matches([' ', '\t']);
                }
                Err(PErr(what)) => return fail(i, what),
            }
        }
        let mut has_date = false;
        if let Some((r, (y, m, d))) = date_spec(i) {
            (ev.year, ev.month, ev.day) = (y, m, d);
            has_date = true;
            i = r.trim_start_matches([' ', '\t']);
        }
        let mut has_time = false;
        match time_spec(i) {
            Ok((r, (h, m, s))) => {
                (ev.hour, ev.minute, ev.second) = (h, m, s);
                has_time = true;
                i = r;
            }
            Err(PErr("range start is bigger than end")) => {
                return fail(i, "range start is bigger than end");
            }
            Err(_) => {
                let zero = vec![Value::Single(0)];
                (ev.hour, ev.minute, ev.second) = (zero.clone(), zero.clone(), zero);
            }
        }
        if !(has_day || has_time || has_date) {
            return fail(i, "date or time specification");
        }
        if !i.is_empty() {
            return fail(i, "end of input");
        }
        ev.utc = utc;
        ev.text = text.to_string();
        Ok(ev)
    }

    /// proxmox-time's `compute_next_event(last)` on a clock in `zone`, for `last` as an instant.
    fn compute_next(&self, last: Timestamp, zone: &TimeZone) -> Option<Timestamp> {
        // whole seconds, like the epoch seconds proxmox works on
        let last = Timestamp::from_second(last.as_second()).ok()?;
        let mut t = Tm::with_epoch(last.checked_add(SignedDuration::from_secs(1)).ok()?, zone);
        let all_days = self.days == 0 || self.days == ALL_DAYS;
        let mut count = 0;
        loop {
            if count > 1000 {
                return None;
            }
            count += 1;
            if !self.year.is_empty() {
                let year = u(t.year())?;
                if !list_contains(&self.year, year) {
                    let n = find_next(&self.year, year)?;
                    t.add_years(i64::from(n - year))?;
                    continue;
                }
            }
            if !self.month.is_empty() {
                let month = u(t.month())?;
                if !list_contains(&self.month, month) {
                    match find_next(&self.month, month) {
                        Some(n) => t.add_months(i64::from(n - month))?,
                        None => t.add_years(1)?,
                    }
                    continue;
                }
            }
            if !self.day.is_empty() {
                let day = u(t.day())?;
                if !list_contains(&self.day, day) {
                    match find_next(&self.day, day) {
                        Some(n) => t.add_days(i64::from(n - day))?,
                        None => t.add_months(1)?,
                    }
                    continue;
                }
            }
            if !all_days {
                let day_num = t.day_num();
                if self.days & (1 << day_num) == 0 {
                    match (day_num + 1..7).find(|d| self.days & (1 << d) != 0) {
                        Some(n) => t.add_days(n - day_num)?,
                        None => t.add_days(7 - day_num)?,
                    }
                    continue;
                }
            }
            if !self.hour.is_empty() {
                let hour = u(t.hour())?;
                if !list_contains(&self.hour, hour) {
                    match find_next(&self.hour, hour) {
                        Some(n) => t.set_time(i64::from(n), 0, 0)?,
                        None => t.add_days(1)?,
                    }
                    continue;
                }
            }
            if !self.minute.is_empty() {
                let minute = u(t.min())?;
                if !list_contains(&self.minute, minute) {
                    match find_next(&self.minute, minute) {
                        Some(n) => t.set_min_sec(i64::from(n), 0)?,
                        None => t.set_time(t.hour() + 1, 0, 0)?,
                    }
                    continue;
                }
            }
            if !self.second.is_empty() {
                let second = u(t.sec())?;
                if !list_contains(&self.second, second) {
                    match find_next(&self.second, second) {
                        Some(n) => t.set_sec(i64::from(n))?,
                        None => t.set_min_sec(t.min() + 1, 0)?,
                    }
                    continue;
                }
            }
            return Some(t.ts);
        }
    }

    /// The first event strictly after `after`, on a clock in `tz` (or UTC for `… UTC` events),
    /// exactly as proxmox-time computes it — including `None` when it gives up (no match within
    /// its 1000 steps, or no year left).
    pub fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let zone = if self.utc { &TimeZone::UTC } else { tz };
        self.compute_next(after, zone)
    }

    /// The last event at or before `at` (the "last expected run"), found by replaying
    /// [`CalendarEvent::next_after`] from ever earlier starts; `None` if there is none in the
    /// five years before `at`.
    pub fn last_at_or_before(&self, at: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        const WINDOWS_H: [i64; 6] = [2, 49, 24 * 9, 24 * 33, 24 * 367, 24 * 366 * 5];
        for hours in WINDOWS_H {
            let Ok(mut cur) = at.checked_sub(SignedDuration::from_hours(hours)) else {
                continue;
            };
            let mut last = None;
            let mut steps = 0;
            while let Some(n) = self.next_after(cur, tz) {
                if n > at || n <= cur || steps > 100_000 {
                    break;
                }
                last = Some(n);
                cur = n;
                steps += 1;
            }
            if last.is_some() {
                return last;
            }
        }
        None
    }
}

impl FromStr for CalendarEvent {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        CalendarEvent::parse_inner(s).map_err(|(at, what)| Error::Schedule {
            expr: s.to_string(),
            message: format!("unable to parse calendar event at '{at}' - {what}"),
        })
    }
}

impl fmt::Display for CalendarEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests;
