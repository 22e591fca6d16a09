//! Schedules in each tool's own grammar and on each tool's own clock.
//!
//! | tool | grammar | module | zone it runs in |
//! |---|---|---|---|
//! | Velero `spec.schedule` | robfig/cron v3 `ParseStandard` | [`crate::cron::robfig`] | UTC (the Velero server), or the `CRON_TZ=`/`TZ=` prefix |
//! | Backrest plan `cron` | gitploy-io/cronexpr | [`crate::cron::cronexpr`] | the Backrest process's zone |
//! | PBS/PVE jobs | proxmox-time calendar events | [`crate::calendar`] | the Proxmox host's zone, or `UTC` suffix |
//!
//! A schedule may be bound to the zone its tool evaluates it in ([`Schedule::with_zone`]; the
//! matrix does this for every schedule it loads). A zone named by the expression itself
//! (`CRON_TZ=…`, `… UTC`) always wins. The `tz` argument of [`Schedule::next_after`] and friends
//! is only a fallback for a schedule that has neither.
//!
//! ```
//! use backup_policy::schedule::Schedule;
//! use jiff::tz::TimeZone;
//!
//! let london = TimeZone::get("Europe/London")?;
//! let summer = "2026-07-01T12:00:00Z".parse()?;
//! // Velero runs `0 2 * * *` at 02:00 UTC: 03:00 in London in summer.
//! let velero = Schedule::velero("0 2 * * *")?.with_zone(TimeZone::UTC);
//! assert_eq!(velero.next_after(summer, &london).unwrap().to_string(), "2026-07-02T02:00:00Z");
//! // ...unless the expression names a zone.
//! let local = Schedule::velero("CRON_TZ=Europe/London 0 2 * * *")?.with_zone(TimeZone::UTC);
//! assert_eq!(local.next_after(summer, &london).unwrap().to_string(), "2026-07-02T01:00:00Z");
//! // A PBS job on a host in London.
//! let pbs = Schedule::calendar("sun 02:00")?.with_zone(london.clone());
//! assert_eq!(pbs.next_n(summer, &TimeZone::UTC, 2).len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, Zoned};

use crate::calendar::CalendarEvent;
use crate::cron::cronexpr::CronexprSchedule;
use crate::cron::robfig::{Location, RobfigSchedule};
use crate::error::{Error, Result};

/// Which tool's grammar an expression is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Grammar {
    /// Velero: robfig/cron v3 `ParseStandard` (5 fields, descriptors, `@every`, `CRON_TZ=`).
    Velero,
    /// Backrest: gitploy-io/cronexpr (5 fields only; day-of-month AND day-of-week).
    Backrest,
    /// PBS/PVE: proxmox-time calendar events.
    Proxmox,
}

impl fmt::Display for Grammar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Grammar::Velero => "Velero cron (robfig/cron)",
            Grammar::Backrest => "Backrest cron (cronexpr)",
            Grammar::Proxmox => "Proxmox calendar event",
        })
    }
}

#[derive(Debug, Clone)]
enum Kind {
    Robfig(RobfigSchedule),
    Cronexpr(CronexprSchedule),
    Calendar(CalendarEvent),
}

/// A parsed schedule, optionally bound to the zone its tool evaluates it in.
#[derive(Debug, Clone)]
pub struct Schedule {
    expr: String,
    kind: Kind,
    zone: Option<TimeZone>,
}

fn serr(expr: &str, message: String) -> Error {
    Error::Schedule {
        expr: expr.to_string(),
        message,
    }
}

impl Schedule {
    /// Parses `expr` in `grammar`.
    ///
    /// # Errors
    /// [`Error::Schedule`] with the tool's own reason when the tool would reject it.
    pub fn parse(grammar: Grammar, expr: &str) -> Result<Self> {
        match grammar {
            Grammar::Velero => Self::velero(expr),
            Grammar::Backrest => Self::backrest(expr),
            Grammar::Proxmox => Self::calendar(expr),
        }
    }

    /// Parses a Velero `spec.schedule` exactly as robfig/cron's `ParseStandard` does.
    ///
    /// # Errors
    /// [`Error::Schedule`] with robfig's message (`end of range (7) above maximum (6): 7`...).
    pub fn velero(expr: &str) -> Result<Self> {
        let s = RobfigSchedule::parse_standard(expr).map_err(|m| serr(expr, m))?;
        Ok(Schedule {
            expr: expr.to_string(),
            kind: Kind::Robfig(s),
            zone: None,
        })
    }

    /// The same as [`Schedule::velero`]: the standard cron grammar of robfig/cron.
    ///
    /// # Errors
    /// See [`Schedule::velero`].
    pub fn cron(expr: &str) -> Result<Self> {
        Self::velero(expr)
    }

    /// Parses a Backrest plan's cron as gitploy-io/cronexpr does, refusing what Backrest's
    /// `ValidateSchedule` refuses.
    ///
    /// # Errors
    /// [`Error::Schedule`] with cronexpr's or Backrest's reason.
    pub fn backrest(expr: &str) -> Result<Self> {
        let s = CronexprSchedule::parse(expr).map_err(|m| serr(expr, m))?;
        Ok(Schedule {
            expr: expr.to_string(),
            kind: Kind::Cronexpr(s),
            zone: None,
        })
    }

    /// Parses a Proxmox calendar event.
    ///
    /// # Errors
    /// [`Error::Schedule`] when proxmox-time would reject it.
    pub fn calendar(expr: &str) -> Result<Self> {
        Ok(Schedule {
            expr: expr.to_string(),
            kind: Kind::Calendar(expr.parse()?),
            zone: None,
        })
    }

    /// Binds the zone the tool evaluates this schedule in (Velero's server, the Proxmox host,
    /// the Backrest process). A zone named in the expression still wins.
    #[must_use]
    pub fn with_zone(mut self, tz: TimeZone) -> Self {
        self.zone = Some(tz);
        self
    }

    /// The grammar it was parsed with.
    pub fn grammar(&self) -> Grammar {
        match self.kind {
            Kind::Robfig(_) => Grammar::Velero,
            Kind::Cronexpr(_) => Grammar::Backrest,
            Kind::Calendar(_) => Grammar::Proxmox,
        }
    }

    /// The expression as written.
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// The zone the expression itself names: `CRON_TZ=`/`TZ=` (Velero) or a `UTC` suffix
    /// (Proxmox).
    pub fn expr_zone(&self) -> Option<TimeZone> {
        match &self.kind {
            Kind::Robfig(r) => match r.location() {
                Location::Zone(z) => Some(z.clone()),
                Location::Local => None,
            },
            Kind::Calendar(c) if c.is_utc() => Some(TimeZone::UTC),
            _ => None,
        }
    }

    /// The zone this schedule runs in, when known: the expression's own, else the bound one.
    pub fn zone(&self) -> Option<TimeZone> {
        self.expr_zone().or_else(|| self.zone.clone())
    }

    /// The zone this schedule is evaluated in, with `fallback` for an unbound schedule.
    pub fn eval_zone(&self, fallback: &TimeZone) -> TimeZone {
        self.zone().unwrap_or_else(|| fallback.clone())
    }

    /// The fixed delay of a Velero `@every` schedule. Such a schedule runs that long after the
    /// previous run (robfig's `ConstantDelaySchedule`), so its instants depend on when it last ran.
    pub fn every(&self) -> Option<SignedDuration> {
        match &self.kind {
            Kind::Robfig(r) => r.every(),
            _ => None,
        }
    }

    /// The first run strictly after `after`, in the schedule's zone (`tz` if it has none).
    pub fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let zone = self.eval_zone(tz);
        match &self.kind {
            Kind::Robfig(r) => r.next(after, &zone),
            Kind::Cronexpr(c) => c.next(after, &zone),
            Kind::Calendar(c) => c.next_after(after, &zone),
        }
    }

    /// [`Schedule::next_after`] as a [`Zoned`] in the zone the schedule runs in.
    pub fn next_after_zoned(&self, after: Timestamp, tz: &TimeZone) -> Option<Zoned> {
        let zone = self.eval_zone(tz);
        self.next_after(after, tz).map(|t| t.to_zoned(zone))
    }

    /// The next `n` runs after `after`.
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

    /// The last run at or before `at` — the run that should have happened by then.
    ///
    /// For an `@every` schedule (no fixed instants) this is `at − delay`: a run must have
    /// started at or after that instant.
    pub fn last_at_or_before(&self, at: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        if let Some(d) = self.every() {
            return at.checked_sub(d).ok();
        }
        if let Kind::Calendar(c) = &self.kind {
            return c.last_at_or_before(at, &self.eval_zone(tz));
        }
        // The Go libraries only go forward: replay their `Next` from ever earlier starts.
        const WINDOWS_H: [i64; 6] = [2, 49, 24 * 9, 24 * 33, 24 * 367, 24 * 366 * 5];
        for hours in WINDOWS_H {
            let Ok(mut cur) = at.checked_sub(SignedDuration::from_hours(hours)) else {
                continue;
            };
            let mut last = None;
            let mut steps = 0;
            while let Some(n) = self.next_after(cur, tz) {
                if n > at || steps > 100_000 {
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

    /// The longest gap between consecutive runs over the next ~5 weeks after `from` (the interval
    /// a retention must cover). `None` if the schedule runs fewer than twice in that window.
    pub fn max_interval(&self, from: Timestamp, tz: &TimeZone) -> Option<SignedDuration> {
        if let Some(d) = self.every() {
            return Some(d);
        }
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
