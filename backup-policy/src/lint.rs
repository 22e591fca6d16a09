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

use crate::matrix::{Matrix, Run};

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

/// Runs every lint; `now` anchors the simulated week and retention reach.
pub fn lint(m: &Matrix, now: Timestamp) -> Vec<Finding> {
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

    // Storage contention over the next 7 days, collapsed by local time-of-day window.
    let week_end = now
        .saturating_add(SignedDuration::from_hours(24 * 7))
        .unwrap_or(now);
    let runs = m.runs_between(now, week_end);
    let mut by_device: BTreeMap<&str, Vec<&Run<'_>>> = BTreeMap::new();
    for r in &runs {
        if let Some(dev) = r
            .target
            .storage_name()
            .and_then(|s| m.storage(s))
            .map(|s| s.device.as_str())
        {
            by_device.entry(dev).or_default().push(r);
        }
    }
    // key: (device, window text, jobs) -> days
    type Days = BTreeSet<(i8, String)>;
    type WindowKey = (String, String, Vec<String>);
    let mut windows: BTreeMap<WindowKey, (usize, Days, usize)> = BTreeMap::new();
    for (dev, rs) in &by_device {
        let mut i = 0;
        while i < rs.len() {
            let mut end = rs[i].end;
            let mut j = i + 1;
            while j < rs.len() && rs[j].start <= end {
                end = end.max(rs[j].end);
                j += 1;
            }
            let cluster = &rs[i..j];
            let targets: BTreeSet<&str> = cluster.iter().map(|r| r.target.name.as_str()).collect();
            if targets.len() >= 2 {
                let tools: BTreeSet<String> =
                    cluster.iter().map(|r| r.target.tool.to_string()).collect();
                let s = rs[i].start.to_zoned(tz.clone());
                let e = end.to_zoned(tz.clone());
                let window = format!("{}–{}", s.strftime("%H:%M"), e.strftime("%H:%M"));
                let jobs: Vec<String> = cluster
                    .iter()
                    .map(|r| format!("{}/{}", r.target.name, r.schedule.name))
                    .collect();
                let entry = windows.entry((dev.to_string(), window, jobs)).or_insert((
                    cluster.len(),
                    BTreeSet::new(),
                    tools.len(),
                ));
                entry.1.insert((
                    s.weekday().to_monday_zero_offset(),
                    s.strftime("%a").to_string(),
                ));
            }
            i = j;
        }
    }
    for ((dev, window, jobs), (n, days, ntools)) in windows {
        let all = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        let names: Vec<String> = days.into_iter().map(|(_, n)| n).collect();
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
        out.push(Finding {
            severity: if ntools >= 2 || n >= 4 {
                Severity::Warning
            } else {
                Severity::Info
            },
            kind: LintKind::StorageContention,
            subject: dev.clone(),
            message: format!(
                "{dev}: {n} runs overlap {days} {window} ({}): {}",
                m.timezone,
                jobs.join(", ")
            ),
        });
    }

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
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}
