//! Velero's schedule grammar: robfig/cron v3 as Velero calls it, `cron.ParseStandard`
//! (vmware-tanzu/velero pkg/controller/schedule_controller.go `parseCronSchedule`).
//!
//! The grammar itself lives in `backup_policy::cron::robfig`, the workspace's one home for the
//! systems' schedule grammars (pure, no I/O), where it passes robfig's own test vectors. In short:
//! an optional `CRON_TZ=<zone> `/`TZ=<zone> ` prefix, then a descriptor (`@daily`, `@midnight`,
//! `@every <Go duration>`, …) or five fields; `L`, `W`, `#` and day-of-week 7 are errors;
//! day-of-month and day-of-week are OR-ed only when neither starts with `*`/`?`. Without a prefix
//! the schedule runs in the Velero server's zone, UTC in Velero's image.

use std::time::Duration;

use backup_policy::cron::robfig::{Location, RobfigSchedule};
use jiff::{Timestamp, tz::TimeZone};

use crate::{Error, Result};

/// A parsed Velero schedule (`spec.schedule`).
#[derive(Clone, Debug, PartialEq)]
pub struct CronSchedule(RobfigSchedule);

impl CronSchedule {
    /// Parses a schedule as Velero does (`cron.ParseStandard`).
    ///
    /// # Errors
    /// [`Error::InvalidSchedule`] naming the expression and carrying robfig's message.
    pub fn parse(expr: &str) -> Result<Self> {
        RobfigSchedule::parse_standard(expr)
            .map(Self)
            .map_err(|message| Error::InvalidSchedule {
                expr: expr.to_owned(),
                message,
            })
    }

    /// The zone of a `CRON_TZ=`/`TZ=` prefix; `None` without one.
    pub fn zone(&self) -> Option<&TimeZone> {
        match self.0.location() {
            Location::Zone(tz) => Some(tz),
            Location::Local => None,
        }
    }

    /// The delay of an `@every` schedule.
    pub fn every(&self) -> Option<Duration> {
        self.0.every().and_then(|d| Duration::try_from(d).ok())
    }

    /// The first run strictly after `after`, as Velero computes it (UTC unless the schedule
    /// names a zone); `None` when there is none within five years (e.g. `0 0 30 2 *`).
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        self.0.next(after, &TimeZone::UTC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn velero_reads_schedules_as_robfig_parse_standard() {
        let daily = CronSchedule::parse("0 2 * * *").unwrap();
        assert_eq!(daily.zone(), None);
        assert_eq!(
            daily.next_after(ts("2026-07-01T12:00:00Z")),
            Some(ts("2026-07-02T02:00:00Z"))
        );

        let london = CronSchedule::parse("CRON_TZ=Europe/London 0 2 * * *").unwrap();
        assert!(london.zone().is_some());
        assert_eq!(
            london.next_after(ts("2026-07-01T12:00:00Z")),
            Some(ts("2026-07-02T01:00:00Z"))
        );
        assert_eq!(
            london.next_after(ts("2026-12-01T12:00:00Z")),
            Some(ts("2026-12-02T02:00:00Z"))
        );

        let every = CronSchedule::parse("@every 6h").unwrap();
        assert_eq!(every.every(), Some(Duration::from_secs(6 * 3600)));

        for bad in [
            "0 2 * * 7",
            "0 0 L * *",
            "0 0 15W * *",
            "0 0 * * 1#2",
            "",
            "0 0 0 2 * *",
        ] {
            let err = CronSchedule::parse(bad).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidSchedule { expr, .. } if expr == bad),
                "{bad:?}: {err}"
            );
        }
    }
}
