//! restic's `--keep-within*` durations.

use std::fmt;

use super::*;

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

    pub(super) fn is_negative(&self) -> bool {
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
