//! How many backups a schedule's retention keeps in steady state, and how far back they reach,
//! found by simulating the schedule's past runs and applying the tool's own retention engine.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::error::Result;
use crate::matrix::{ScheduleSpec, Tool};
use crate::pbs::PruneSnapshot;
use crate::restic::{ForgetOptions, Snapshot, SnapshotTime, apply_all};

/// Steady-state retention of one schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Reach {
    /// Backups kept at `now` if every scheduled run succeeded.
    pub count: usize,
    /// The oldest kept backup.
    pub oldest: Option<Timestamp>,
    /// `now - oldest`.
    pub span: SignedDuration,
}

fn horizon(spec: &ScheduleSpec, tool: Tool) -> SignedDuration {
    let r = &spec.retention;
    let day = 86_400i64;
    let secs = match tool {
        Tool::Velero => r.ttl().map(|t| t.as_secs()).unwrap_or(0) + 8 * day,
        Tool::Restic | Tool::Pbs => {
            let n = |v: Option<i32>| i64::from(v.unwrap_or(0).max(0));
            let unlimited = [
                r.keep_last,
                r.keep_hourly,
                r.keep_daily,
                r.keep_weekly,
                r.keep_monthly,
                r.keep_yearly,
            ]
            .iter()
            .any(|v| v.is_some_and(|v| v < 0));
            if unlimited {
                3 * 366 * day
            } else {
                let within = r
                    .keep_within
                    .as_deref()
                    .and_then(|w| w.parse::<crate::restic::ResticDuration>().ok())
                    .map(|d| {
                        i64::from(d.years) * 366 * day
                            + i64::from(d.months) * 31 * day
                            + i64::from(d.days) * day
                            + i64::from(d.hours) * 3600
                    })
                    .unwrap_or(0);
                let est = [
                    n(r.keep_last) * 35 * day, // unknown interval: assume up to weekly-ish
                    n(r.keep_hourly) * 3600 * 2,
                    n(r.keep_daily) * day * 2,
                    n(r.keep_weekly) * 7 * day * 2,
                    n(r.keep_monthly) * 31 * day * 2,
                    n(r.keep_yearly) * 366 * day,
                    within,
                ]
                .into_iter()
                .max()
                .unwrap_or(0);
                est + 14 * day
            }
        }
    };
    SignedDuration::from_secs(secs.clamp(day, 12 * 366 * day))
}

/// Simulates `spec` (run by `tool`) up to `now` in `tz` and applies the retention.
///
/// # Errors
/// When the retention cannot be turned into the tool's policy.
pub fn reach(spec: &ScheduleSpec, tool: Tool, tz: &TimeZone, now: Timestamp) -> Result<Reach> {
    let Some(sched) = spec.schedule() else {
        return Ok(Reach {
            count: 0,
            oldest: None,
            span: SignedDuration::ZERO,
        });
    };
    let start = now
        .checked_sub(horizon(spec, tool))
        .unwrap_or(Timestamp::MIN);
    let mut fires = Vec::new();
    let mut cur = start;
    while let Some(n) = sched.next_after(cur, tz) {
        if n > now || fires.len() > 200_000 {
            break;
        }
        fires.push(n);
        cur = n;
    }
    let kept: Vec<Timestamp> = match tool {
        Tool::Velero => {
            let ttl = spec.retention.ttl()?;
            fires
                .iter()
                .copied()
                .filter(|f| f.saturating_add(ttl).is_ok_and(|e| e > now))
                .collect()
        }
        Tool::Restic => {
            let policy = spec.retention.forget_policy()?;
            policy.validate(crate::restic::Semantics::Current)?;
            let snaps: Vec<Snapshot> = fires
                .iter()
                .enumerate()
                .map(|(i, f)| Snapshot::new(i.to_string(), SnapshotTime::new(*f, tz.to_offset(*f))))
                .collect();
            let opts = ForgetOptions::new(
                now.saturating_add(SignedDuration::from_secs(1))
                    .unwrap_or(now),
            );
            let plan = apply_all(&policy, &snaps, &opts);
            plan.keep.iter().map(|&i| fires[i]).collect()
        }
        Tool::Pbs => {
            let opts = spec.retention.prune_options()?;
            let list: Vec<PruneSnapshot> = fires.iter().map(|f| PruneSnapshot::new(*f)).collect();
            let marks = crate::pbs::prune(&list, &opts, tz);
            fires
                .iter()
                .zip(marks)
                .filter(|(_, m)| m.keep())
                .map(|(f, _)| *f)
                .collect()
        }
    };
    let oldest = kept.iter().min().copied();
    Ok(Reach {
        count: kept.len(),
        oldest,
        span: oldest.map_or(SignedDuration::ZERO, |o| now.duration_since(o)),
    })
}
