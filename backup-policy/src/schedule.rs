//! Schedules: 5-field cron (Velero, Backrest) via croner, or Proxmox calendar events (PBS/PVE).
//!
//! All evaluation happens in a time zone passed in (the matrix's `timezone`), so daylight-saving
//! changes are handled: a 02:30 daily cron on the spring-forward day of Europe/London fires once,
//! at 03:30 local time (croner's rule); on fall-back days a time fires once.
//!
//! ```
//! use backup_policy::schedule::Schedule;
//! use jiff::tz::TimeZone;
//!
//! let velero = Schedule::cron("0 2 * * *")?;
//! let pbs = Schedule::calendar("sun 02:00")?;
//! let tz = TimeZone::get("Europe/London")?;
//! let from = "2026-11-27T12:00:00Z".parse()?;
//! assert_eq!(velero.next_after(from, &tz).unwrap().to_string(), "2026-11-28T02:00:00Z");
//! assert_eq!(pbs.next_n(from, &tz, 2).len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::calendar::CalendarEvent;
use crate::error::{Error, Result};

/// A parsed schedule.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Schedule {
    /// A 5-field cron expression (`min hour dom month dow`).
    Cron {
        /// The expression as written.
        expr: String,
        /// The parsed pattern.
        cron: Box<Cron>,
    },
    /// A Proxmox calendar event.
    Calendar(CalendarEvent),
}

impl Schedule {
    /// Parses a 5-field cron expression (no seconds, no year; `@daily` style nicknames accepted).
    ///
    /// # Errors
    /// [`Error::Schedule`] when croner rejects it.
    pub fn cron(expr: &str) -> Result<Self> {
        let parser = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build();
        let cron = parser.parse(expr).map_err(|e| Error::Schedule {
            expr: expr.to_string(),
            message: e.to_string(),
        })?;
        Ok(Schedule::Cron {
            expr: expr.to_string(),
            cron: Box::new(cron),
        })
    }

    /// Parses a Proxmox calendar event.
    ///
    /// # Errors
    /// [`Error::Schedule`] when the event is malformed.
    pub fn calendar(expr: &str) -> Result<Self> {
        Ok(Schedule::Calendar(expr.parse()?))
    }

    /// The expression as written.
    pub fn expr(&self) -> &str {
        match self {
            Schedule::Cron { expr, .. } => expr,
            Schedule::Calendar(c) => c.as_str(),
        }
    }

    /// The first fire time strictly after `after`.
    pub fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        match self {
            Schedule::Cron { cron, .. } => {
                let z = after.to_zoned(tz.clone());
                cron.find_next_occurrence(&z, false)
                    .ok()
                    .map(|z| z.timestamp())
            }
            Schedule::Calendar(c) => c.next_after(after, tz),
        }
    }

    /// The next `n` fire times after `after`.
    pub fn next_n(&self, after: Timestamp, tz: &TimeZone, n: usize) -> Vec<Timestamp> {
        let mut out = Vec::with_capacity(n);
        let mut t = after;
        while out.len() < n {
            match self.next_after(t, tz) {
                Some(x) if x > t => {
                    out.push(x);
                    t = x;
                }
                _ => break,
            }
        }
        out
    }

    /// The last fire time at or before `at` — the run that should have happened by then.
    pub fn last_at_or_before(&self, at: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        match self {
            Schedule::Cron { cron, .. } => {
                let z = at.to_zoned(tz.clone());
                cron.find_previous_occurrence(&z, true)
                    .ok()
                    .map(|z| z.timestamp())
            }
            Schedule::Calendar(c) => c.last_at_or_before(at, tz),
        }
    }

    /// The longest gap between consecutive runs over the next ~5 weeks after `from` (the interval
    /// a retention must cover). `None` if the schedule fires fewer than twice in that window.
    pub fn max_interval(&self, from: Timestamp, tz: &TimeZone) -> Option<SignedDuration> {
        let end = from.checked_add(SignedDuration::from_hours(24 * 35)).ok()?;
        let mut prev = self.next_after(from, tz)?;
        let mut max: Option<SignedDuration> = None;
        let mut steps = 0;
        while let Some(n) = self.next_after(prev, tz) {
            let gap = n.duration_since(prev);
            max = Some(max.map_or(gap, |m| m.max(gap)));
            prev = n;
            steps += 1;
            if n > end || steps > 10_000 {
                break;
            }
        }
        max
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expr())
    }
}
