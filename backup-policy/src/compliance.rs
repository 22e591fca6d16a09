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
    /// How long the run took, when the tool reports it (restic summary, Velero start/completion,
    /// PBS task start/end); feeds [`crate::contention::Durations::from_observations`].
    pub duration: Option<SignedDuration>,
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
            duration: None,
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

    /// Sets how long the run took.
    #[must_use]
    pub fn with_duration(mut self, d: SignedDuration) -> Self {
        self.duration = Some(d);
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
    /// No usable backup of this schedule exists: it never ran, or every backup of it expired
    /// (see [`ScheduleReport::missing`]).
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
    /// For [`Status::Missing`]: whether the schedule never ran or all its backups expired.
    pub missing: Option<Missing>,
    /// Retained vs expected, when they differ.
    pub retention_drift: Option<RetentionDrift>,
}

/// Why a schedule has no usable backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Missing {
    /// No observation of this schedule at all (neither success nor failure).
    NeverRan,
    /// Backups of this schedule were seen, but every good one is past its retention (older than
    /// the Velero TTL, or older than the restic/PBS retention reaches back).
    AllExpired,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Missing::NeverRan => "never-ran",
            Missing::AllExpired => "all-expired",
        })
    }
}

/// Retained backups differ from what the retention should hold (`retention-drift`): more means
/// pruning or expiry is not running; fewer means runs were missed or backups were lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RetentionDrift {
    /// Usable backups observed.
    pub retained: usize,
    /// What the retention holds in steady state.
    pub expected: usize,
}

impl RetentionDrift {
    /// `retained - expected`.
    pub fn delta(&self) -> i64 {
        self.retained as i64 - self.expected as i64
    }
}

impl fmt::Display for RetentionDrift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.delta();
        write!(
            f,
            "retention-drift: {} retained, {} expected ({}{d}: {})",
            self.retained,
            self.expected,
            if d > 0 { "+" } else { "" },
            if d > 0 {
                "pruning/expiry is not keeping up"
            } else {
                "runs missed or backups lost"
            }
        )
    }
}

/// Whether an observation belongs to a schedule: its schedule label names it, or — unlabeled —
/// it was taken within the schedule's window (from 15 minutes before a firing to `grace` after
/// it). A label naming another schedule never belongs.
pub fn belongs(
    o: &Observation,
    spec: &crate::matrix::ScheduleSpec,
    tz: &jiff::tz::TimeZone,
    grace: SignedDuration,
) -> bool {
    match &o.schedule {
        Some(n) => *n == spec.name,
        None => {
            let Some(sched) = spec.schedule() else {
                return false;
            };
            let probe = o.time.checked_add(EARLY).unwrap_or(o.time);
            sched
                .last_at_or_before(probe, tz)
                .is_some_and(|f| o.time <= f.checked_add(grace).unwrap_or(f))
        }
    }
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
                    missing: None,
                    retention_drift: None,
                });
            }
            continue;
        }
        for s in &t.schedule {
            let mine: Vec<&Observation> = observations
                .iter()
                .filter(|o| o.target == t.name && belongs(o, s, &tz, grace))
                .collect();
            let sched = s.schedule();
            let due_at = now.checked_sub(grace).unwrap_or(now);
            let last_expected = sched.and_then(|x| x.last_at_or_before(due_at, &tz));
            let next_run = sched.and_then(|x| x.next_after(now, &tz));
            let reach = crate::reach::reach(s, t.tool, &tz, now).ok();
            // a good backup expires past the Velero TTL, or once older than the retention reaches
            let expired = |o: &Observation| match t.tool {
                Tool::Velero => s
                    .retention
                    .ttl()
                    .ok()
                    .and_then(|ttl| o.time.checked_add(ttl).ok())
                    .is_some_and(|e| e <= now),
                _ => reach
                    .and_then(|r| r.oldest)
                    .is_some_and(|oldest| o.time < oldest.checked_sub(EARLY).unwrap_or(oldest)),
            };
            let good: Vec<&&Observation> = mine
                .iter()
                .filter(|o| o.outcome.is_good() && o.time <= now)
                .collect();
            let newest_good = good.iter().max_by_key(|o| o.time).copied();
            // what exists is retained, expired or not (an expired one still listed is drift)
            let retained = good.len();
            let expected_retained = reach.map(|r| r.count);
            let last_good = newest_good.map(|o| o.time);
            let covers =
                |x: Timestamp| last_expected.is_none_or(|d| x >= d.checked_sub(EARLY).unwrap_or(d));
            let local = |g: Timestamp| {
                g.to_zoned(tz.clone())
                    .strftime("%a %Y-%m-%d %H:%M %Z")
                    .to_string()
            };
            let mut missing = None;
            let (status, detail) = if mine.is_empty() {
                missing = Some(Missing::NeverRan);
                (
                    Status::Missing,
                    "never ran: no backup of this schedule observed".to_string(),
                )
            } else if let Some(newest) = newest_good.filter(|o| expired(o)) {
                missing = Some(Missing::AllExpired);
                (
                    Status::Missing,
                    format!(
                        "all expired: {} backup(s) seen, none within retention (newest {})",
                        good.len(),
                        local(newest.time)
                    ),
                )
            } else if last_good.is_some_and(covers) {
                (Status::Ok, "last expected run is covered".to_string())
            } else if mine
                .iter()
                .any(|o| o.outcome == Outcome::Failed && covers(o.time))
            {
                (Status::Failed, "the last expected run failed".to_string())
            } else {
                let since = last_good.map_or("never".to_string(), local);
                (Status::Late, format!("no good backup since {since}"))
            };
            let retention_drift = expected_retained
                .filter(|&e| e != retained && !mine.is_empty())
                .map(|expected| RetentionDrift { retained, expected });
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
                missing,
                retention_drift,
            });
        }
    }
    out
}
