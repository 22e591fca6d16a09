//! Compliance: observed backups (from any tool) evaluated against the matrix.
//!
//! Build [`Observation`]s from Velero backups, restic snapshots or PBS snapshots, then call
//! [`evaluate`] with the clock:
//!
//! ```
//! use backup_policy::compliance::{evaluate, Observation, Outcome, Status};
//! use backup_policy::matrix::Matrix;
//!
//! let m = Matrix::homelab()?;
//! let now = "2026-11-27T09:00:00Z".parse()?; // a Friday
//! let obs = vec![
//!     Observation::new("velero-prod", "2026-11-24T02:00:05Z".parse()?, Outcome::Success).with_schedule("daily"),
//! ];
//! let report = evaluate(&m, &obs, now);
//! let prod_daily = report.iter().find(|r| r.target == "velero-prod" && r.schedule.as_deref() == Some("daily")).unwrap();
//! assert_eq!(prod_daily.status, Status::Late);
//! let unifi = report.iter().find(|r| r.target == "unifi-daily").unwrap();
//! assert_eq!(unifi.status, Status::Disabled);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::matrix::{Matrix, Tool};

/// How an observed backup ended.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum Outcome {
    /// Completed.
    Success,
    /// Completed with some items failed (Velero `PartiallyFailed`, restic exit 3); counts as a backup.
    PartialFailure,
    /// Failed; no usable backup.
    Failed,
    /// Still running.
    InProgress,
    /// Anything else the tool reported.
    Other(String),
}

impl Outcome {
    /// True if the backup is usable for restore.
    pub fn is_good(&self) -> bool {
        matches!(self, Outcome::Success | Outcome::PartialFailure)
    }
}

/// One backup seen in a tool, tool-agnostic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Observation {
    /// The matrix target name.
    pub target: String,
    /// The schedule name within the target, when known (otherwise it counts for every schedule).
    pub schedule: Option<String>,
    /// When the backup was taken.
    pub time: Timestamp,
    /// How it ended.
    pub outcome: Outcome,
    /// Size in bytes, if known.
    pub size_bytes: Option<u64>,
    /// Tool-specific id (Velero backup name, restic snapshot id, PBS snapshot path).
    pub id: Option<String>,
}

impl Observation {
    /// An observation of `target` at `time`.
    pub fn new(target: impl Into<String>, time: Timestamp, outcome: Outcome) -> Self {
        Observation {
            target: target.into(),
            schedule: None,
            time,
            outcome,
            size_bytes: None,
            id: None,
        }
    }

    /// Sets the schedule name.
    #[must_use]
    pub fn with_schedule(mut self, s: impl Into<String>) -> Self {
        self.schedule = Some(s.into());
        self
    }

    /// Sets the size.
    #[must_use]
    pub fn with_size(mut self, b: u64) -> Self {
        self.size_bytes = Some(b);
        self
    }

    /// Sets the id.
    #[must_use]
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }
}

/// Verdict for one target and schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Status {
    /// A good backup exists for the last expected run.
    Ok,
    /// The last good backup is older than the last expected run (plus grace).
    Late,
    /// The last expected run was attempted and failed.
    Failed,
    /// No backup of this schedule was ever observed.
    Missing,
    /// The target is disabled in the matrix.
    Disabled,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Ok => "ok",
            Status::Late => "late",
            Status::Failed => "failed",
            Status::Missing => "missing",
            Status::Disabled => "disabled",
        })
    }
}

/// Compliance of one target's schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ScheduleReport {
    /// Target name.
    pub target: String,
    /// Schedule name (`None` for a disabled target without schedules).
    pub schedule: Option<String>,
    /// Tool.
    pub tool: Tool,
    /// Verdict.
    pub status: Status,
    /// Newest usable backup.
    pub last_good: Option<Timestamp>,
    /// Its age at `now`.
    pub last_good_age: Option<SignedDuration>,
    /// The last run that should have finished by now (last fire at or before `now - grace`).
    pub last_expected: Option<Timestamp>,
    /// Usable backups observed.
    pub retained: usize,
    /// Backups the retention should hold in steady state.
    pub expected_retained: Option<usize>,
    /// Next scheduled run.
    pub next_run: Option<Timestamp>,
    /// Size of the newest usable backup.
    pub last_size_bytes: Option<u64>,
    /// One line of explanation.
    pub detail: String,
}

/// Tolerance for a backup stamped slightly before its scheduled time.
const EARLY: SignedDuration = SignedDuration::from_mins(15);

/// Evaluates observations against the matrix at `now`: one report per target schedule (and one
/// per disabled target). Observations of unknown targets are ignored.
pub fn evaluate(
    matrix: &Matrix,
    observations: &[Observation],
    now: Timestamp,
) -> Vec<ScheduleReport> {
    let tz = matrix.tz();
    let grace = matrix.grace();
    let mut out = Vec::new();
    for t in &matrix.target {
        if !t.enabled {
            let reason = t
                .disabled_reason
                .clone()
                .unwrap_or_else(|| "disabled in the matrix".into());
            let names: Vec<Option<String>> = if t.schedule.is_empty() {
                vec![None]
            } else {
                t.schedule.iter().map(|s| Some(s.name.clone())).collect()
            };
            for name in names {
                out.push(ScheduleReport {
                    target: t.name.clone(),
                    schedule: name,
                    tool: t.tool,
                    status: Status::Disabled,
                    last_good: None,
                    last_good_age: None,
                    last_expected: None,
                    retained: 0,
                    expected_retained: None,
                    next_run: None,
                    last_size_bytes: None,
                    detail: reason.clone(),
                });
            }
            continue;
        }
        for s in &t.schedule {
            let mine: Vec<&Observation> = observations
                .iter()
                .filter(|o| o.target == t.name && o.schedule.as_ref().is_none_or(|n| *n == s.name))
                .collect();
            let sched = s.schedule();
            let due_at = now.checked_sub(grace).unwrap_or(now);
            let last_expected = sched.and_then(|x| x.last_at_or_before(due_at, &tz));
            let next_run = sched.and_then(|x| x.next_after(now, &tz));
            let good = mine.iter().filter(|o| o.outcome.is_good() && o.time <= now);
            let newest_good = good.clone().max_by_key(|o| o.time);
            let retained = good.count();
            let expected_retained = crate::reach::reach(s, t.tool, &tz, now)
                .ok()
                .map(|r| r.count);
            let last_good = newest_good.map(|o| o.time);
            let covers =
                |x: Timestamp| last_expected.is_none_or(|d| x >= d.checked_sub(EARLY).unwrap_or(d));
            let (status, detail) = if mine.is_empty() {
                (Status::Missing, "no backup observed".to_string())
            } else if last_good.is_some_and(covers) {
                (Status::Ok, "last expected run is covered".to_string())
            } else if mine
                .iter()
                .any(|o| o.outcome == Outcome::Failed && covers(o.time))
            {
                (Status::Failed, "the last expected run failed".to_string())
            } else {
                let since = last_good.map_or("never".to_string(), |g| {
                    g.to_zoned(tz.clone())
                        .strftime("%a %Y-%m-%d %H:%M %Z")
                        .to_string()
                });
                (Status::Late, format!("no good backup since {since}"))
            };
            out.push(ScheduleReport {
                target: t.name.clone(),
                schedule: Some(s.name.clone()),
                tool: t.tool,
                status,
                last_good,
                last_good_age: last_good.map(|g| now.duration_since(g)),
                last_expected,
                retained,
                expected_retained,
                next_run,
                last_size_bytes: newest_good.and_then(|o| o.size_bytes),
                detail,
            });
        }
    }
    out
}
