//! Restore drills: the logic behind `restore-drill`.
//!
//! * [`restic`]: restore a plan's newest snapshot into a scratch directory and verify it.
//! * [`scratch`]: the private directory an SSH plan's restic drill restores into on its host.
//! * [`velero`]: restore a cluster's newest Completed backup into scratch namespaces, compare
//!   item counts, delete the scratch namespaces.
//! * [`pbs`]: verify a guest's newest snapshot and read its blobs back through the API.
//!
//! Every drill is timed and judged against the RTO of the DR row that covers its target
//! ([`dr_rto`]); [`DrillRow`] is one line of `restore-drill --all`.

pub mod pbs;
pub mod restic;
pub mod scratch;
pub mod velero;

use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use backup_policy::matrix::{Matrix, Target, Tool};
use serde_json::{Value, json};

/// The DR scenario whose RTO a drill of `target` is judged against: the first DR row relying
/// on the target's tool that protects the target (by name or system); else the first row
/// relying on the tool. `None` when no row relies on the tool.
pub fn dr_rto(matrix: &Matrix, target: &Target) -> Result<Option<(String, Option<Duration>)>> {
    let uses_tool = |d: &&backup_policy::matrix::DrScenario| d.tools.contains(&target.tool);
    let protects = |d: &&backup_policy::matrix::DrScenario| {
        d.protects
            .iter()
            .any(|p| p.get_ref() == &target.name || p.get_ref() == target.system())
    };
    let row = matrix
        .dr
        .iter()
        .filter(uses_tool)
        .find(protects)
        .or_else(|| matrix.dr.iter().find(uses_tool));
    let Some(row) = row else {
        return Ok(None);
    };
    let rto = row
        .rto
        .as_deref()
        .map(|text| {
            let d = backup_policy::duration::parse_span(text)
                .with_context(|| format!("RTO {text:?} of {:?}", row.scenario))?;
            Duration::try_from(d).map_err(|_| anyhow!("negative RTO {text:?}"))
        })
        .transpose()?;
    Ok(Some((row.scenario.clone(), rto)))
}

/// How one drill ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Restored, verified, within the RTO.
    Pass,
    /// Ran, but a check failed or it took longer than the RTO.
    Fail(String),
    /// Could not run (no backup, system unreachable, …).
    Error(String),
    /// Not drilled (disabled target, nothing configured for it).
    Skipped(String),
}

impl Verdict {
    /// One word for the table.
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail(_) => "FAIL",
            Verdict::Error(_) => "ERROR",
            Verdict::Skipped(_) => "skipped",
        }
    }

    /// Why, when it did not pass.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Verdict::Pass => None,
            Verdict::Fail(r) | Verdict::Error(r) | Verdict::Skipped(r) => Some(r),
        }
    }
}

/// One line of `restore-drill --all`.
#[derive(Debug, Clone)]
pub struct DrillRow {
    /// Matrix target (or restic plan) name.
    pub target: String,
    /// `restic`, `velero` or `pbs`.
    pub tool: String,
    /// The DR scenario judged against.
    pub scenario: Option<String>,
    /// Its RTO (`None`: none in the matrix, or TBD).
    pub rto: Option<Duration>,
    /// How long the drill took (restore and verification).
    pub took: Option<Duration>,
    /// What was restored and checked, in a few words.
    pub detail: String,
    /// The outcome.
    pub verdict: Verdict,
}

impl DrillRow {
    /// A row for a drill that did not run.
    pub fn not_run(target: &Target, verdict: Verdict) -> Self {
        DrillRow {
            target: target.name.clone(),
            tool: tool_name(target.tool).to_owned(),
            scenario: None,
            rto: None,
            took: None,
            detail: String::new(),
            verdict,
        }
    }

    /// Judges a drill that ran: `failures` are its failed checks; the time is compared with
    /// the RTO (no RTO: nothing to exceed, said in the detail).
    pub fn judged(mut self, failures: Vec<String>) -> Self {
        let mut failures = failures;
        if let (Some(took), Some(rto)) = (self.took, self.rto)
            && took > rto
        {
            failures.push(format!(
                "took {:.1}s, RTO {}",
                took.as_secs_f64(),
                fmt_duration(rto)
            ));
        }
        self.verdict = if failures.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Fail(failures.join("; "))
        };
        self
    }

    /// The time as a share of the RTO, e.g. `3.2%`.
    pub fn percent_of_rto(&self) -> Option<String> {
        let (took, rto) = (self.took?, self.rto?);
        (!rto.is_zero()).then(|| format!("{:.1}%", 100.0 * took.as_secs_f64() / rto.as_secs_f64()))
    }

    /// The row as JSON.
    pub fn json(&self) -> Value {
        json!({
            "target": self.target,
            "tool": self.tool,
            "scenario": self.scenario,
            "rto_seconds": self.rto.map(|d| d.as_secs()),
            "seconds": self.took.map(|d| d.as_secs_f64()),
            "percent_of_rto": self.percent_of_rto(),
            "detail": self.detail,
            "result": self.verdict.word(),
            "reason": self.verdict.reason(),
            "ok": matches!(self.verdict, Verdict::Pass),
        })
    }
}

/// The tool's short name, as the matrix spells it.
pub fn tool_name(tool: Tool) -> &'static str {
    match tool {
        Tool::Velero => "velero",
        Tool::Restic => "restic",
        Tool::Pbs => "pbs",
        _ => "other",
    }
}

/// An RTO or a drill's time as the drill reports print it: `15m`, `1h`, `1m 30s`, `0ms`.
pub fn fmt_duration(d: Duration) -> String {
    let d = jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::MAX);
    crate::cli::human_duration(d, jiff::Unit::Millisecond)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_rows_find_their_dr_scenario() {
        let m = Matrix::homelab().unwrap();
        let target = |n: &str| m.target.iter().find(|t| t.name == n).unwrap();
        let (s, rto) = dr_rto(&m, target("velero-prod")).unwrap().unwrap();
        assert_eq!(
            (s.as_str(), rto),
            ("PVC data loss", Some(Duration::from_secs(1800)))
        );
        let (s, rto) = dr_rto(&m, target("pbs-plex")).unwrap().unwrap();
        assert_eq!(
            (s.as_str(), rto),
            ("VM total loss", Some(Duration::from_secs(3600)))
        );
        let (s, rto) = dr_rto(&m, target("iac-daily")).unwrap().unwrap();
        assert_eq!(
            (s.as_str(), rto),
            ("VM config corruption", Some(Duration::from_secs(900)))
        );
        // Protected by no restic row: the first restic row applies.
        let (s, _) = dr_rto(&m, target("truenas-weekly")).unwrap().unwrap();
        assert_eq!(s, "VM config corruption");
    }

    #[test]
    fn judging_compares_with_the_rto() {
        let row = |took: u64| DrillRow {
            target: "t".into(),
            tool: "pbs".into(),
            scenario: Some("s".into()),
            rto: Some(Duration::from_secs(60)),
            took: Some(Duration::from_secs(took)),
            detail: String::new(),
            verdict: Verdict::Skipped(String::new()),
        };
        assert_eq!(row(30).judged(vec![]).verdict, Verdict::Pass);
        assert_eq!(row(30).percent_of_rto().as_deref(), Some("50.0%"));
        let slow = row(61).judged(vec![]);
        assert!(matches!(&slow.verdict, Verdict::Fail(r) if r.contains("RTO 1m")));
        let bad = row(1).judged(vec!["items 3 of 4".into()]);
        assert!(matches!(&bad.verdict, Verdict::Fail(r) if r == "items 3 of 4"));
    }
}
