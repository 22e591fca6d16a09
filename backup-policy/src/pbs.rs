//! Proxmox Backup Server prune (`compute_prune_info`), re-implemented from the documented
//! algorithm; it differs from restic: a period covered by an earlier option does not use up a
//! later option's count, a `Remove` decided by an earlier pass is final, protected snapshots never
//! use a slot, and only an unfinished snapshot newer than every finished one survives.
//!
//! ```
//! use backup_policy::pbs::{compute_prune_info, PruneOptions, PruneSnapshot};
//! use jiff::tz::TimeZone;
//!
//! let snaps: Vec<PruneSnapshot> = ["2019-12-02T11:59:15Z", "2019-12-03T11:59:15Z", "2019-12-04T11:59:15Z", "2019-12-04T12:59:15Z"]
//!     .iter().map(|t| PruneSnapshot::new(t.parse().unwrap())).collect();
//! let opts = PruneOptions { keep_daily: Some(2), ..Default::default() };
//! let marks = compute_prune_info(&snaps, &opts, &TimeZone::UTC);
//! assert_eq!(marks.iter().map(|m| m.keep()).collect::<Vec<_>>(), [false, true, false, true]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashSet;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

/// One snapshot of a PBS backup group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PruneSnapshot {
    /// Backup time.
    pub time: Timestamp,
    /// The snapshot has a manifest (`index.json.blob`).
    pub finished: bool,
    /// The snapshot is protected.
    pub protected: bool,
}

impl PruneSnapshot {
    /// A finished, unprotected snapshot.
    pub fn new(time: Timestamp) -> Self {
        PruneSnapshot {
            time,
            finished: true,
            protected: false,
        }
    }

    /// Sets `finished`.
    #[must_use]
    pub fn with_finished(mut self, f: bool) -> Self {
        self.finished = f;
        self
    }

    /// Sets `protected`.
    #[must_use]
    pub fn with_protected(mut self, p: bool) -> Self {
        self.protected = p;
        self
    }
}

/// PBS keep options (`keep-last` … `keep-yearly`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PruneOptions {
    /// keep-last.
    pub keep_last: Option<u64>,
    /// keep-hourly.
    pub keep_hourly: Option<u64>,
    /// keep-daily.
    pub keep_daily: Option<u64>,
    /// keep-weekly.
    pub keep_weekly: Option<u64>,
    /// keep-monthly.
    pub keep_monthly: Option<u64>,
    /// keep-yearly.
    pub keep_yearly: Option<u64>,
}

impl PruneOptions {
    /// True if some option is `Some(n > 0)` (the API keeps everything otherwise).
    pub fn keeps_something(&self) -> bool {
        [
            self.keep_last,
            self.keep_hourly,
            self.keep_daily,
            self.keep_weekly,
            self.keep_monthly,
            self.keep_yearly,
        ]
        .iter()
        .any(|o| o.is_some_and(|n| n > 0))
    }
}

/// The decision for one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Mark {
    /// Protected: always kept.
    Protected,
    /// Kept by an option.
    Keep,
    /// Unfinished but newer than every finished snapshot: kept.
    KeepPartial,
    /// Removed.
    Remove,
}

/// Decision and reason for one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PruneDecision {
    /// The mark.
    pub mark: Mark,
    /// The option that kept it (`keep-daily`…), if kept by one.
    pub reason: Option<&'static str>,
}

impl PruneDecision {
    /// True unless removed.
    pub fn keep(&self) -> bool {
        self.mark != Mark::Remove
    }
}

fn period_key(pass: usize, t: Timestamp, tz: &TimeZone) -> i64 {
    if pass == 0 {
        return t.as_second();
    }
    let dt = tz.to_datetime(t);
    let (y, m, d, h) = (
        i64::from(dt.year()),
        i64::from(dt.month()),
        i64::from(dt.day()),
        i64::from(dt.hour()),
    );
    match pass {
        1 => y * 1_000_000 + m * 10_000 + d * 100 + h,
        2 => y * 10_000 + m * 100 + d,
        3 => {
            let w = dt.date().iso_week_date();
            i64::from(w.year()) * 100 + i64::from(w.week())
        }
        4 => y * 100 + m,
        _ => y,
    }
}

/// `compute_prune_info`: one decision per input snapshot (same order as the input), with the
/// period ids taken in `tz` (the PBS server's local zone).
pub fn compute_prune_info(
    list: &[PruneSnapshot],
    opts: &PruneOptions,
    tz: &TimeZone,
) -> Vec<PruneDecision> {
    let mut order: Vec<usize> = (0..list.len()).collect();
    order.sort_by(|&a, &b| list[b].time.cmp(&list[a].time));
    let mut mark: Vec<Option<(Mark, Option<&'static str>)>> = vec![None; list.len()];
    let mut keep_unfinished = true;
    for &i in &order {
        if list[i].finished {
            keep_unfinished = false;
        } else {
            mark[i] = Some((
                if keep_unfinished {
                    Mark::KeepPartial
                } else {
                    Mark::Remove
                },
                None,
            ));
            keep_unfinished = false;
        }
    }
    let passes = [
        (opts.keep_last, "keep-last"),
        (opts.keep_hourly, "keep-hourly"),
        (opts.keep_daily, "keep-daily"),
        (opts.keep_weekly, "keep-weekly"),
        (opts.keep_monthly, "keep-monthly"),
        (opts.keep_yearly, "keep-yearly"),
    ];
    for (pass, (n, name)) in passes.iter().enumerate() {
        let Some(n) = *n else { continue };
        let already: HashSet<i64> = order
            .iter()
            .filter(|&&i| matches!(mark[i], Some((Mark::Keep, _))))
            .map(|&i| period_key(pass, list[i].time, tz))
            .collect();
        let mut included: HashSet<i64> = HashSet::new();
        for &i in &order {
            if mark[i].is_some() {
                continue;
            }
            if list[i].protected {
                mark[i] = Some((Mark::Protected, None));
                continue;
            }
            let id = period_key(pass, list[i].time, tz);
            if already.contains(&id) {
                continue;
            }
            if !included.contains(&id) {
                if included.len() as u64 >= n {
                    break;
                }
                included.insert(id);
                mark[i] = Some((Mark::Keep, Some(name)));
            } else {
                mark[i] = Some((Mark::Remove, None));
            }
        }
    }
    (0..list.len())
        .map(|i| {
            if list[i].protected {
                PruneDecision {
                    mark: Mark::Protected,
                    reason: None,
                }
            } else {
                let (m, r) = mark[i].unwrap_or((Mark::Remove, None));
                PruneDecision { mark: m, reason: r }
            }
        })
        .collect()
}

/// The API's behaviour (`prune` endpoint): with no positive option everything is kept.
pub fn prune(list: &[PruneSnapshot], opts: &PruneOptions, tz: &TimeZone) -> Vec<PruneDecision> {
    if !opts.keeps_something() {
        return list
            .iter()
            .map(|_| PruneDecision {
                mark: Mark::Keep,
                reason: Some("keep-all"),
            })
            .collect();
    }
    compute_prune_info(list, opts, tz)
}
