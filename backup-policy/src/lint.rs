//! Lints of the matrix: no off-site copy, disabled targets, schedules loading the same device in
//! the same window, retention shorter than the interval it must cover, critical systems
//! protected only weekly, DR scenarios with open items.
//!
//! ```
//! use backup_policy::lint::{lint, LintKind};
//! use backup_policy::matrix::Matrix;
//!
//! let findings = lint(&Matrix::homelab()?, "2026-11-27T12:00:00Z".parse()?);
//! assert!(findings.iter().any(|f| f.kind == LintKind::NoOffsite));
//! assert!(findings.iter().any(|f| f.kind == LintKind::StorageContention));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::contention::{Durations, PlannedRun, peaks, planned_runs};
use crate::matrix::Matrix;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Should be fixed.
    Warning,
    /// Data is at risk.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// Which lint fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum LintKind {
    /// No storage is off-site.
    NoOffsite,
    /// A target is disabled.
    DisabledTarget,
    /// Several runs load the same device at the same time.
    StorageContention,
    /// The retention does not reach back one schedule interval.
    RetentionTooShort,
    /// A critical system is protected only weekly (or less often).
    CriticalOnlyWeekly,
    /// A DR scenario has an open item or no RTO.
    DrGap,
    /// A DR scenario restores from a storage on the same device as what it protects.
    DrColocated,
    /// A backup is stored on the device of the system it protects.
    BackupOnSource,
    /// Targets that no DR scenario covers.
    DrUncovered,
}

impl LintKind {
    /// A short stable code, e.g. `no-offsite`.
    pub fn code(self) -> &'static str {
        match self {
            LintKind::NoOffsite => "no-offsite",
            LintKind::DisabledTarget => "disabled-target",
            LintKind::StorageContention => "storage-contention",
            LintKind::RetentionTooShort => "retention-too-short",
            LintKind::CriticalOnlyWeekly => "critical-only-weekly",
            LintKind::DrGap => "dr-gap",
            LintKind::DrColocated => "dr-colocated",
            LintKind::BackupOnSource => "backup-on-source",
            LintKind::DrUncovered => "dr-uncovered",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Finding {
    /// Severity.
    pub severity: Severity,
    /// Lint.
    pub kind: LintKind,
    /// What it is about (target, system, device...).
    pub subject: String,
    /// Explanation.
    pub message: String,
}

fn human(d: SignedDuration) -> String {
    let s = d.as_secs();
    if s % 86_400 == 0 && s >= 86_400 {
        format!("{}d", s / 86_400)
    } else if s % 3600 == 0 {
        format!("{}h", s / 3600)
    } else {
        format!("{}m", s / 60)
    }
}

/// Runs every lint; `now` anchors the simulated week and retention reach. Run durations are the
/// matrix's (or the tools' defaults); see [`lint_with`] to use observed ones.
pub fn lint(m: &Matrix, now: Timestamp) -> Vec<Finding> {
    lint_with(m, now, &Durations::default())
}

/// [`lint`] with observed run durations (from `backup-audit check`) for the contention lint.
pub fn lint_with(m: &Matrix, now: Timestamp, observed: &Durations) -> Vec<Finding> {
    let tz = m.tz();
    let mut out = Vec::new();

    if !m.storage.iter().any(|s| s.offsite) {
        let devices: BTreeSet<&str> = m.storage.iter().map(|s| s.device.as_str()).collect();
        out.push(Finding {
            severity: Severity::Error,
            kind: LintKind::NoOffsite,
            subject: "matrix".into(),
            message: format!(
                "no off-site copy: every backup lives on {} — a site or device loss loses them all",
                devices.into_iter().collect::<Vec<_>>().join(", ")
            ),
        });
    }

    for t in m.target.iter().filter(|t| !t.enabled) {
        out.push(Finding {
            severity: Severity::Warning,
            kind: LintKind::DisabledTarget,
            subject: t.name.clone(),
            message: format!(
                "{} ({} {}) is disabled: {}",
                t.name,
                t.kind,
                t.id.map(|i| i.to_string()).unwrap_or_default(),
                t.disabled_reason.as_deref().unwrap_or("no reason given")
            ),
        });
    }

    contention(m, now, observed, &mut out);

    for t in m.target.iter().filter(|t| t.enabled) {
        for s in &t.schedule {
            let Some(sched) = s.schedule() else { continue };
            let Some(interval) = sched.max_interval(now, &tz) else {
                continue;
            };
            match crate::reach::reach(s, t.tool, &tz, now) {
                Ok(r) if r.count <= 1 || r.span < interval => out.push(Finding {
                    severity: Severity::Error,
                    kind: LintKind::RetentionTooShort,
                    subject: format!("{}/{}", t.name, s.name),
                    message: format!(
                        "{}/{}: retention ({}) keeps {} backup(s) reaching back {}, but runs are up to {} apart",
                        t.name,
                        s.name,
                        s.retention,
                        r.count,
                        human(r.span),
                        human(interval)
                    ),
                }),
                _ => {}
            }
        }
    }

    let mut systems: BTreeMap<&str, Vec<&crate::matrix::Target>> = BTreeMap::new();
    for t in &m.target {
        systems.entry(t.system()).or_default().push(t);
    }
    for (sys, ts) in systems {
        if !ts.iter().any(|t| t.critical) {
            continue;
        }
        let best = ts
            .iter()
            .filter(|t| t.enabled)
            .flat_map(|t| {
                t.schedule
                    .iter()
                    .filter_map(|s| s.schedule())
                    .filter_map(|s| s.max_interval(now, &tz))
            })
            .min();
        if best.is_none_or(|b| b >= SignedDuration::from_hours(24 * 7 - 2)) {
            let disabled: Vec<String> = ts
                .iter()
                .filter(|t| !t.enabled)
                .map(|t| format!("{} disabled", t.name))
                .collect();
            out.push(Finding {
                severity: Severity::Warning,
                kind: LintKind::CriticalOnlyWeekly,
                subject: sys.to_string(),
                message: format!(
                    "critical system {sys} is protected {}{}",
                    best.map_or("by nothing".to_string(), |b| format!(
                        "only every {}",
                        human(b)
                    )),
                    if disabled.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", disabled.join(", "))
                    }
                ),
            });
        }
    }

    for d in &m.dr {
        if d.todo.is_some() || d.rto.is_none() {
            out.push(Finding {
                severity: Severity::Warning,
                kind: LintKind::DrGap,
                subject: d.scenario.clone(),
                message: format!(
                    "DR scenario {:?}: {}{}",
                    d.scenario,
                    d.todo.as_deref().unwrap_or("open"),
                    if d.rto.is_none() {
                        "; RTO to be determined"
                    } else {
                        ""
                    }
                ),
            });
        }
    }
    out.extend(crate::dr::findings(m));
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

/// Storage contention over the next 7 days: each stretch of overlapping runs on a device with
/// its true peak (sweep line), collapsed by local time of day; assumed durations are said so.
fn contention(m: &Matrix, now: Timestamp, observed: &Durations, out: &mut Vec<Finding>) {
    let tz = m.tz();
    let week_end = now
        .saturating_add(SignedDuration::from_hours(24 * 7))
        .unwrap_or(now);
    let runs = planned_runs(m, now, week_end, observed);
    // key: (device, peak window, runs at the peak) -> (peak, days, tools, assumed durations, stretch)
    type Days = BTreeSet<(i8, String)>;
    type WindowKey = (String, String, Vec<String>);
    struct Acc {
        peak: usize,
        days: Days,
        tools: usize,
        assumed: BTreeSet<String>,
        stretch: String,
        queued: BTreeSet<String>,
    }
    let mut windows: BTreeMap<WindowKey, Acc> = BTreeMap::new();
    for p in peaks(&runs) {
        let local = |t: Timestamp| t.to_zoned(tz.clone());
        let s = local(p.peak_from);
        let window = format!(
            "{}–{}",
            s.strftime("%H:%M"),
            local(p.peak_to).strftime("%H:%M")
        );
        let stretch = format!(
            "{}–{}",
            local(p.from).strftime("%H:%M"),
            local(p.to).strftime("%H:%M")
        );
        let jobs: Vec<String> = p.at_peak.iter().map(|r| r.label()).collect();
        let tools: BTreeSet<String> = p
            .at_peak
            .iter()
            .map(|r| r.target.tool.to_string())
            .collect();
        let assumed: BTreeSet<String> = p
            .at_peak
            .iter()
            .filter(|r| r.source.is_assumption())
            .map(|r| assumption(r))
            .collect();
        let queued: BTreeSet<String> = p
            .runs
            .iter()
            .filter(|r| r.start > r.scheduled)
            .filter_map(|r| r.job.map(|j| format!("{} queued in job {j}", r.label())))
            .collect();
        let e = windows
            .entry((p.device.to_string(), window, jobs))
            .or_insert(Acc {
                peak: p.peak,
                days: BTreeSet::new(),
                tools: tools.len(),
                assumed,
                stretch,
                queued,
            });
        e.days.insert((
            s.weekday().to_monday_zero_offset(),
            s.strftime("%a").to_string(),
        ));
    }
    for ((dev, window, jobs), acc) in windows {
        let all = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        let names: Vec<String> = acc.days.into_iter().map(|(_, n)| n).collect();
        let days = match names.len() {
            7 => "daily".to_string(),
            6 => format!(
                "daily except {}",
                all.iter()
                    .find(|d| !names.iter().any(|n| n == *d))
                    .unwrap_or(&"?")
            ),
            _ => names.join(","),
        };
        let mut message = format!(
            "{dev}: {} runs overlap {days} {window} ({}): {}",
            acc.peak,
            m.timezone,
            jobs.join(", ")
        );
        if acc.stretch != window {
            message.push_str(&format!("; busy {}", acc.stretch));
        }
        if !acc.queued.is_empty() {
            message.push_str(&format!(
                "; {}",
                acc.queued.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        if !acc.assumed.is_empty() {
            message.push_str(&format!(
                " [assumed durations: {}]",
                acc.assumed.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        out.push(Finding {
            severity: if acc.tools >= 2 || acc.peak >= 4 {
                Severity::Warning
            } else {
                Severity::Info
            },
            kind: LintKind::StorageContention,
            subject: dev.clone(),
            message,
        });
    }
}

/// `PBS 1h default` for an assumed duration, `iac-daily/daily 45m configured` for the matrix's.
fn assumption(r: &PlannedRun<'_>) -> String {
    let d = human(r.end.duration_since(r.start));
    match r.source {
        crate::contention::DurationSource::Configured => format!("{} {d} configured", r.label()),
        _ => format!("{} {d} default", r.target.tool),
    }
}
