//! Storage contention as it really happens: every run gets a duration (observed when known,
//! else the matrix's `duration`, else the tool's default — labelled as an assumption), guests of
//! one job run one after another, and the number of runs loading a device at once is found with
//! a sweep line, so back-to-back runs are not an overlap and "N runs overlap" is the true peak.
//!
//! ```
//! use backup_policy::contention::{Durations, peaks, planned_runs};
//! use backup_policy::matrix::Matrix;
//!
//! let m = Matrix::homelab()?;
//! let from = "2026-11-29T00:00:00Z".parse()?; // a Sunday
//! let to = "2026-11-29T08:00:00Z".parse()?;
//! let runs = planned_runs(&m, from, to, &Durations::default());
//! let sunday = peaks(&runs);
//! // the three PBS guests of one job queue behind each other, so the peak is 4, not 5
//! assert_eq!(sunday.iter().map(|p| p.peak).max(), Some(4));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::compliance::Observation;
use crate::error::{Error, Result};
use crate::matrix::{Matrix, ScheduleSpec, Target};

/// Where a run's duration comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum DurationSource {
    /// Measured from real runs (the longest observed).
    Observed,
    /// The matrix's `duration` for the schedule: the operator's estimate.
    Configured,
    /// The tool's default ([`crate::matrix::Tool::default_duration`]): an assumption.
    Assumed,
}

impl DurationSource {
    /// True unless the duration was observed.
    pub fn is_assumption(self) -> bool {
        self != DurationSource::Observed
    }
}

impl fmt::Display for DurationSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DurationSource::Observed => "observed",
            DurationSource::Configured => "configured",
            DurationSource::Assumed => "assumed",
        })
    }
}

/// One observed run duration of a target's schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ObservedDuration {
    /// Matrix target name.
    pub target: String,
    /// Schedule name within the target.
    pub schedule: String,
    /// Longest observed run time, in seconds.
    pub seconds: i64,
    /// How many runs were measured.
    #[serde(default)]
    pub samples: usize,
    /// Where the measurement came from (restic summary, Velero start/completion, PBS task).
    #[serde(default)]
    pub source: Option<String>,
}

/// Observed run durations: what `backup-audit check` measured, read back by the plan.
///
/// The JSON file is `{"durations": [{"target", "schedule", "seconds", "samples", "source"}]}`.
///
/// ```
/// use backup_policy::contention::Durations;
/// let d = Durations::from_json(r#"{"durations":[{"target":"pbs-iac","schedule":"weekly","seconds":5400}]}"#)?;
/// assert_eq!(d.get("pbs-iac", "weekly").map(|d| d.as_mins()), Some(90));
/// assert!(Durations::from_json(r#"{"durations":[{"target":"x","schedule":"y","seconds":-1}]}"#).is_err());
/// # Ok::<(), backup_policy::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Durations {
    /// One entry per target schedule.
    #[serde(default)]
    pub durations: Vec<ObservedDuration>,
}

impl Durations {
    /// Parses the durations file.
    ///
    /// # Errors
    /// [`Error::Policy`] on malformed JSON, a negative or zero duration, or a duplicate entry.
    pub fn from_json(s: &str) -> Result<Self> {
        let d: Durations =
            serde_json::from_str(s).map_err(|e| Error::policy(format!("durations file: {e}")))?;
        let mut seen = std::collections::HashSet::new();
        for o in &d.durations {
            if o.seconds <= 0 {
                return Err(Error::policy(format!(
                    "durations file: {}/{}: seconds must be > 0, got {}",
                    o.target, o.schedule, o.seconds
                )));
            }
            if !seen.insert((&o.target, &o.schedule)) {
                return Err(Error::policy(format!(
                    "durations file: {}/{} listed twice",
                    o.target, o.schedule
                )));
            }
        }
        Ok(d)
    }

    /// The file's JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// The longest duration of each target schedule among observations that carry one
    /// ([`Observation::with_duration`]) and name their schedule.
    pub fn from_observations(obs: &[Observation]) -> Self {
        let mut by: BTreeMap<(&str, &str), (i64, usize)> = BTreeMap::new();
        for o in obs {
            let (Some(s), Some(d)) = (&o.schedule, o.duration) else {
                continue;
            };
            if d <= SignedDuration::ZERO {
                continue;
            }
            let e = by.entry((o.target.as_str(), s.as_str())).or_insert((0, 0));
            e.0 = e.0.max(d.as_secs().max(1));
            e.1 += 1;
        }
        Durations {
            durations: by
                .into_iter()
                .map(|((t, s), (secs, n))| ObservedDuration {
                    target: t.to_string(),
                    schedule: s.to_string(),
                    seconds: secs,
                    samples: n,
                    source: None,
                })
                .collect(),
        }
    }

    /// The observed duration of `target`/`schedule`.
    pub fn get(&self, target: &str, schedule: &str) -> Option<SignedDuration> {
        self.durations
            .iter()
            .find(|o| o.target == target && o.schedule == schedule)
            .map(|o| SignedDuration::from_secs(o.seconds))
    }

    /// The duration to plan `spec` of `target` with, and where it comes from.
    pub fn for_run(
        &self,
        target: &Target,
        spec: &ScheduleSpec,
    ) -> (SignedDuration, DurationSource) {
        if let Some(d) = self.get(&target.name, &spec.name) {
            (d, DurationSource::Observed)
        } else if spec.duration.is_some() {
            (spec.run_duration(target.tool), DurationSource::Configured)
        } else {
            (target.tool.default_duration(), DurationSource::Assumed)
        }
    }
}

/// One run as planned: start after any earlier guest of its job, end after its duration.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PlannedRun<'a> {
    /// The target.
    pub target: &'a Target,
    /// The schedule.
    pub schedule: &'a ScheduleSpec,
    /// When the schedule fires.
    pub scheduled: Timestamp,
    /// When this run starts (later than `scheduled` when it waits for earlier guests of its job).
    pub start: Timestamp,
    /// Expected end.
    pub end: Timestamp,
    /// Where the duration comes from.
    pub source: DurationSource,
    /// The job this run is a guest of, when it shares it with other targets.
    pub job: Option<&'a str>,
    /// The device its storage sits on.
    pub device: Option<&'a str>,
}

impl PlannedRun<'_> {
    /// `target/schedule`.
    pub fn label(&self) -> String {
        format!("{}/{}", self.target.name, self.schedule.name)
    }
}

/// Every run in `[from, to)` with its duration, sorted by start. Guests of one job (same tool,
/// same `job`, same firing instant, same `node`) run one after another in ascending VMID order,
/// guests without an `id` last in matrix order; the same job on another node runs in parallel.
///
/// That is what vzdump does (proxmox/pve-manager, `PVE/VZDump.pm`): `get_included_guests`
/// splits the job's guests per node (`vmids_per_node`), each node's vzdump runs only its local
/// ones (`PVE/API2/VZDump.pm`, the rest go to the skiplist), and `exec_backup` builds its task
/// list from the VMIDs sorted numerically (`sort { $a <=> $b }`) and runs the tasks one by one.
pub fn planned_runs<'a>(
    m: &'a Matrix,
    from: Timestamp,
    to: Timestamp,
    observed: &Durations,
) -> Vec<PlannedRun<'a>> {
    let order: BTreeMap<&str, usize> = m
        .target
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.as_str(), i))
        .collect();
    // vzdump's task order: VMIDs ascending; guests without one after them, in matrix order
    let queue_rank = |r: &PlannedRun<'_>| {
        (
            r.target.id.is_none(),
            r.target.id,
            order.get(r.target.name.as_str()).copied(),
        )
    };
    let mut runs: Vec<PlannedRun<'a>> = m
        .runs_between(from, to)
        .into_iter()
        .map(|r| {
            let (d, source) = observed.for_run(r.target, r.schedule);
            PlannedRun {
                target: r.target,
                schedule: r.schedule,
                scheduled: r.start,
                start: r.start,
                end: r.start.saturating_add(d).unwrap_or(r.start),
                source,
                job: r.schedule.job.as_deref(),
                device: r
                    .target
                    .storage_name()
                    .and_then(|s| m.storage(s))
                    .map(|s| s.device.as_str()),
            }
        })
        .collect();
    // queue the guests of each (tool, job, node, firing)
    let mut queues: BTreeMap<(String, &str, Option<&str>, Timestamp), Vec<usize>> = BTreeMap::new();
    for (i, r) in runs.iter().enumerate() {
        if let Some(j) = r.job {
            queues
                .entry((
                    r.target.tool.to_string(),
                    j,
                    r.target.node.as_deref(),
                    r.scheduled,
                ))
                .or_default()
                .push(i);
        }
    }
    for (_, mut members) in queues {
        if members.len() < 2 {
            for i in members {
                runs[i].job = None;
            }
            continue;
        }
        members.sort_by_key(|&i| queue_rank(&runs[i]));
        let mut at = runs[members[0]].scheduled;
        for i in members {
            let d = runs[i].end.duration_since(runs[i].start);
            runs[i].start = at;
            runs[i].end = at.saturating_add(d).unwrap_or(at);
            at = runs[i].end;
        }
    }
    runs.sort_by(|a, b| {
        a.start
            .cmp(&b.start)
            .then_with(|| a.target.name.cmp(&b.target.name))
    });
    runs
}

/// One stretch of time in which at least two runs load the same device.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Peak<'r, 'a> {
    /// The device.
    pub device: &'a str,
    /// The stretch's start (two runs overlap from here).
    pub from: Timestamp,
    /// The stretch's end.
    pub to: Timestamp,
    /// The most runs at once within the stretch.
    pub peak: usize,
    /// The first window with that many runs.
    pub peak_from: Timestamp,
    /// Its end.
    pub peak_to: Timestamp,
    /// The runs at the peak.
    pub at_peak: Vec<&'r PlannedRun<'a>>,
    /// Every run of the stretch.
    pub runs: Vec<&'r PlannedRun<'a>>,
}

/// Sweep line per device over `runs`: the stretches where two or more runs overlap, each with
/// its true peak. A run ending at the instant another starts does not overlap it.
pub fn peaks<'r, 'a>(runs: &'r [PlannedRun<'a>]) -> Vec<Peak<'r, 'a>> {
    let mut by_device: BTreeMap<&'a str, Vec<&'r PlannedRun<'a>>> = BTreeMap::new();
    for r in runs {
        if let Some(d) = r.device
            && r.end > r.start
        {
            by_device.entry(d).or_default().push(r);
        }
    }
    let mut out = Vec::new();
    for (device, rs) in by_device {
        // events: (time, +1 start / -1 end, run); ends sort before starts at the same instant
        let mut ev: Vec<(Timestamp, i8, usize)> = Vec::with_capacity(rs.len() * 2);
        for (i, r) in rs.iter().enumerate() {
            ev.push((r.start, 1, i));
            ev.push((r.end, -1, i));
        }
        ev.sort_by_key(|&(t, k, i)| (t, k, i));
        let mut active: Vec<usize> = Vec::new();
        let mut cur: Option<Peak<'r, 'a>> = None;
        let mut k = 0;
        while k < ev.len() {
            let t = ev[k].0;
            // apply every event at t, then look at the level until the next instant
            while k < ev.len() && ev[k].0 == t {
                let (_, kind, i) = ev[k];
                if kind < 0 {
                    active.retain(|&a| a != i);
                } else {
                    active.push(i);
                }
                k += 1;
            }
            let next = ev.get(k).map_or(t, |e| e.0);
            let level = active.len();
            if level >= 2 {
                let p = cur.get_or_insert_with(|| Peak {
                    device,
                    from: t,
                    to: next,
                    peak: 0,
                    peak_from: t,
                    peak_to: next,
                    at_peak: Vec::new(),
                    runs: Vec::new(),
                });
                p.to = next;
                for &a in &active {
                    if !p.runs.iter().any(|r| std::ptr::eq(*r, rs[a])) {
                        p.runs.push(rs[a]);
                    }
                }
                if level > p.peak {
                    p.peak = level;
                    p.peak_from = t;
                    p.peak_to = next;
                    p.at_peak = active.iter().map(|&a| rs[a]).collect();
                }
            } else if let Some(p) = cur.take() {
                out.push(p);
            }
        }
        if let Some(p) = cur.take() {
            out.push(p);
        }
    }
    for p in &mut out {
        p.at_peak
            .sort_by(|a, b| (a.start, &a.target.name).cmp(&(b.start, &b.target.name)));
        p.runs
            .sort_by(|a, b| (a.start, &a.target.name).cmp(&(b.start, &b.target.name)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(runs: &[(&str, &str, Option<&str>, &str)]) -> Matrix {
        // (target, calendar, job, duration)
        let mut s = String::from(
            "timezone = \"UTC\"\n[[storage]]\nname = \"s\"\nkind = \"pbs\"\ndevice = \"disk\"\n",
        );
        for (name, cal, job, dur) in runs {
            s.push_str(&format!(
                "[[target]]\nname = \"{name}\"\nkind = \"vm\"\ntool = \"pbs\"\nstorage = \"s\"\n\
                 [[target.schedule]]\nname = \"w\"\ncalendar = \"{cal}\"\nduration = \"{dur}\"\n\
                 retention = {{ keep_last = 3 }}\n{}",
                job.map(|j| format!("job = \"{j}\"\n")).unwrap_or_default()
            ));
        }
        Matrix::from_toml(&s, "t.toml").unwrap()
    }

    fn day() -> (Timestamp, Timestamp) {
        (
            "2026-11-27T00:00:00Z".parse().unwrap(),
            "2026-11-28T00:00:00Z".parse().unwrap(),
        )
    }

    #[test]
    fn back_to_back_is_not_an_overlap() {
        let m = matrix(&[
            ("a", "02:00", None, "30m"),
            ("b", "02:30", None, "30m"),
            ("c", "03:00", None, "30m"),
        ]);
        let (f, t) = day();
        let runs = planned_runs(&m, f, t, &Durations::default());
        assert!(peaks(&runs).is_empty());
    }

    #[test]
    fn peak_is_the_most_at_once_not_the_chain_length() {
        // a 02:00–03:00, b 02:30–03:30, c 03:15–04:00, d 03:45–04:15: a chain of four, peak 2
        let m = matrix(&[
            ("a", "02:00", None, "60m"),
            ("b", "02:30", None, "60m"),
            ("c", "03:15", None, "45m"),
            ("d", "03:45", None, "30m"),
        ]);
        let (f, t) = day();
        let runs = planned_runs(&m, f, t, &Durations::default());
        let p = peaks(&runs);
        // three stretches of two (a+b, b+c, c+d), never more than two at once
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p.iter().all(|p| p.peak == 2 && p.runs.len() == 2));
        assert_eq!(p[0].peak_from.to_string(), "2026-11-27T02:30:00Z");
        assert_eq!(p[0].peak_to.to_string(), "2026-11-27T03:00:00Z");
        assert_eq!(p[2].peak_to.to_string(), "2026-11-27T04:00:00Z");
        // three at once
        let m = matrix(&[
            ("a", "02:00", None, "60m"),
            ("b", "02:10", None, "60m"),
            ("c", "02:20", None, "10m"),
        ]);
        let runs = planned_runs(&m, f, t, &Durations::default());
        let p = peaks(&runs);
        assert_eq!(p[0].peak, 3);
        assert_eq!(p[0].peak_from.to_string(), "2026-11-27T02:20:00Z");
        assert_eq!(p[0].peak_to.to_string(), "2026-11-27T02:30:00Z");
    }

    #[test]
    fn guests_of_one_job_queue() {
        let m = matrix(&[
            ("a", "02:00", Some("vzdump"), "60m"),
            ("b", "02:00", Some("vzdump"), "30m"),
            ("c", "02:00", Some("vzdump"), "60m"),
            ("x", "02:00", None, "30m"),
        ]);
        let (f, t) = day();
        let runs = planned_runs(&m, f, t, &Durations::default());
        let at = |n: &str| {
            let r = runs.iter().find(|r| r.target.name == n).unwrap();
            (r.start.to_string(), r.end.to_string())
        };
        assert_eq!(at("a").1, "2026-11-27T03:00:00Z");
        assert_eq!(
            at("b"),
            ("2026-11-27T03:00:00Z".into(), "2026-11-27T03:30:00Z".into())
        );
        assert_eq!(at("c").0, "2026-11-27T03:30:00Z");
        let p = peaks(&runs);
        assert_eq!(p.iter().map(|p| p.peak).max(), Some(2), "{p:?}");
    }

    /// vzdump runs a node's guests of one job in ascending VMID order, whatever order the matrix
    /// lists them in, and another node's guests of the same job in parallel.
    #[test]
    fn guests_queue_in_vmid_order_per_node() {
        let mut s = String::from(
            "timezone = \"UTC\"\n[[storage]]\nname = \"s\"\nkind = \"pbs\"\ndevice = \"disk\"\n",
        );
        // matrix order: 451, 100, 9 (no VMID: a host), 1000, 450 on node b
        for (name, id, node) in [
            ("unifi", Some(451), "a"),
            ("iac", Some(100), "a"),
            ("host", None, "a"),
            ("big", Some(1000), "a"),
            ("plex", Some(450), "b"),
        ] {
            s.push_str(&format!(
                "[[target]]\nname = \"{name}\"\nkind = \"vm\"\ntool = \"pbs\"\nstorage = \"s\"\n\
                 node = \"{node}\"\n{}[[target.schedule]]\nname = \"w\"\ncalendar = \"02:00\"\n\
                 duration = \"30m\"\njob = \"pve-weekly\"\nretention = {{ keep_last = 3 }}\n",
                id.map(|i| format!("id = {i}\n")).unwrap_or_default()
            ));
        }
        let m = Matrix::from_toml(&s, "t.toml").unwrap();
        let (f, t) = day();
        let runs = planned_runs(&m, f, t, &Durations::default());
        let start = |n: &str| {
            let r = runs.iter().find(|r| r.target.name == n).unwrap();
            r.start.to_string()
        };
        assert_eq!(start("iac"), "2026-11-27T02:00:00Z");
        assert_eq!(start("unifi"), "2026-11-27T02:30:00Z");
        assert_eq!(start("big"), "2026-11-27T03:00:00Z");
        assert_eq!(start("host"), "2026-11-27T03:30:00Z");
        // node b's share of the job starts at once, beside node a's first guest
        assert_eq!(start("plex"), "2026-11-27T02:00:00Z");
        assert_eq!(peaks(&runs).iter().map(|p| p.peak).max(), Some(2));
    }

    #[test]
    fn observed_durations_win_and_are_labelled() {
        let m = matrix(&[("a", "02:00", None, "30m"), ("b", "02:45", None, "30m")]);
        let (f, t) = day();
        let runs = planned_runs(&m, f, t, &Durations::default());
        assert!(peaks(&runs).is_empty());
        assert!(runs.iter().all(|r| r.source == DurationSource::Configured));
        let obs = Durations::from_json(
            r#"{"durations":[{"target":"a","schedule":"w","seconds":3600,"samples":3}]}"#,
        )
        .unwrap();
        let runs = planned_runs(&m, f, t, &obs);
        assert_eq!(runs[0].source, DurationSource::Observed);
        assert!(!runs[0].source.is_assumption());
        assert_eq!(peaks(&runs)[0].peak, 2);
    }

    #[test]
    fn durations_file_is_validated() {
        for bad in [
            r#"{"durations":5}"#,
            r#"{"durations":[{"target":"a","schedule":"w","seconds":0}]}"#,
            r#"{"durations":[{"target":"a","schedule":"w","seconds":5},{"target":"a","schedule":"w","seconds":6}]}"#,
            r#"{"durations":[{"target":"a","schedule":"w","seconds":5,"colour":1}]}"#,
        ] {
            assert!(Durations::from_json(bad).is_err(), "{bad}");
        }
        let d = Durations::from_observations(&[
            Observation::new(
                "a",
                "2026-11-27T02:00:00Z".parse().unwrap(),
                crate::Outcome::Success,
            )
            .with_schedule("w")
            .with_duration(SignedDuration::from_mins(20)),
            Observation::new(
                "a",
                "2026-11-26T02:00:00Z".parse().unwrap(),
                crate::Outcome::Success,
            )
            .with_schedule("w")
            .with_duration(SignedDuration::from_mins(50)),
            Observation::new(
                "a",
                "2026-11-25T02:00:00Z".parse().unwrap(),
                crate::Outcome::Success,
            )
            .with_duration(SignedDuration::from_mins(90)),
        ]);
        assert_eq!(d.get("a", "w"), Some(SignedDuration::from_mins(50)));
        assert_eq!(Durations::from_json(&d.to_json()).unwrap(), d);
    }
}
