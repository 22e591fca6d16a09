//! A small model of Go's `time.Time` in a `*time.Location` on top of jiff, so that the Go cron
//! libraries' `Next` loops can be followed step by step, including what they do around
//! daylight-saving changes.
//!
//! Facts from golang/go `src/time/time.go`: `Date` normalises out-of-range months, days and hours
//! linearly, then picks the offset with `lookup(local-as-UTC)` and, unless that offset is zero
//! and when the resulting instant lies outside that offset's period, `lookup(utc)`; `AddDate` is
//! `Date(y+dy, m+dm, d+dd, h, min, s, ns)`; `Add` is absolute; `Truncate` rounds down on absolute
//! time since the zero time (a whole number of minutes before the Unix epoch).

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// A Go `time.Time`: an instant plus the location its fields are read in.
#[derive(Clone, Debug)]
pub(crate) struct GoTime {
    pub ts: Timestamp,
    tz: TimeZone,
    dt: DateTime,
}

impl GoTime {
    pub fn new(ts: Timestamp, tz: &TimeZone) -> Self {
        GoTime {
            ts,
            tz: tz.clone(),
            dt: tz.to_datetime(ts),
        }
    }

    pub fn year(&self) -> i64 {
        i64::from(self.dt.year())
    }
    pub fn month(&self) -> i64 {
        i64::from(self.dt.month())
    }
    pub fn day(&self) -> i64 {
        i64::from(self.dt.day())
    }
    pub fn hour(&self) -> i64 {
        i64::from(self.dt.hour())
    }
    pub fn minute(&self) -> i64 {
        i64::from(self.dt.minute())
    }
    pub fn second(&self) -> i64 {
        i64::from(self.dt.second())
    }
    /// Sunday = 0, like Go's `Weekday()`.
    pub fn weekday(&self) -> i64 {
        i64::from(self.dt.weekday().to_sunday_zero_offset())
    }
    pub fn nanosecond(&self) -> i64 {
        i64::from(self.ts.subsec_nanosecond())
    }

    /// `t.Add(secs*time.Second + nanos)`.
    pub fn add(&self, secs: i64, nanos: i64) -> Option<Self> {
        let d = SignedDuration::from_secs(secs).checked_add(SignedDuration::from_nanos(nanos))?;
        Some(GoTime::new(self.ts.checked_add(d).ok()?, &self.tz))
    }

    /// `time.Date(y, m, d, h, min, s, ns, loc)` with Go's normalisation and offset choice.
    #[allow(clippy::too_many_arguments)]
    pub fn date(
        year: i64,
        month: i64,
        day: i64,
        hour: i64,
        min: i64,
        sec: i64,
        nsec: i64,
        tz: &TimeZone,
    ) -> Option<Self> {
        let m0 = month - 1;
        let year = year + m0.div_euclid(12);
        let month = m0.rem_euclid(12) + 1;
        let first = Date::new(i16::try_from(year).ok()?, i8::try_from(month).ok()?, 1).ok()?;
        let base = first.to_zoned(TimeZone::UTC).ok()?.timestamp().as_second();
        let nsec_carry = nsec.div_euclid(1_000_000_000);
        let nsec = nsec.rem_euclid(1_000_000_000);
        let local = base
            .checked_add((day - 1).checked_mul(86_400)?)?
            .checked_add(hour.checked_mul(3_600)?)?
            .checked_add(min.checked_mul(60)?)?
            .checked_add(sec)?
            .checked_add(nsec_carry)?;
        let off1 = tz.to_offset(Timestamp::from_second(local).ok()?).seconds();
        let mut unix = local;
        if off1 != 0 {
            let utc = local - i64::from(off1);
            let off = tz.to_offset(Timestamp::from_second(utc).ok()?).seconds();
            unix = local - i64::from(off);
        }
        let ts = Timestamp::new(unix, i32::try_from(nsec).ok()?).ok()?;
        Some(GoTime::new(ts, tz))
    }

    /// `t.AddDate(years, months, days)`.
    pub fn add_date(&self, years: i64, months: i64, days: i64) -> Option<Self> {
        GoTime::date(
            self.year() + years,
            self.month() + months,
            self.day() + days,
            self.hour(),
            self.minute(),
            self.second(),
            self.nanosecond(),
            &self.tz,
        )
    }

    /// `t.Truncate(unit_secs * time.Second)`.
    pub fn truncate(&self, unit_secs: i64) -> Option<Self> {
        let s = self.ts.as_second().div_euclid(unit_secs) * unit_secs;
        Some(GoTime::new(Timestamp::from_second(s).ok()?, &self.tz))
    }
}
