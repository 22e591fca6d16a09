//! The `/health` and `/health/<target>` answers: 200 when every enabled row (of the target) is
//! ok, 503 otherwise, with each row's verdict in a JSON body.

use serde::Serialize;

use crate::audit::{Audit, AuditRow, tool_name};

/// The overall state of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// Every enabled row is ok.
    Ok,
    /// Some row is late, failed, missing or unreachable.
    Failing,
    /// No check has finished yet.
    Pending,
    /// The last check could not run at all (e.g. secrets could not be resolved).
    Error,
}

/// One row in a health answer.
#[derive(Debug, Clone, Serialize)]
pub struct HealthRow {
    /// Matrix target.
    pub target: String,
    /// Matrix schedule of the target.
    pub schedule: Option<String>,
    /// Tool that takes the backup.
    pub tool: &'static str,
    /// `ok`, `late`, `failed`, `missing`, `disabled` or `unreachable`.
    pub verdict: &'static str,
    /// Newest usable backup.
    pub last_good: Option<jiff::Timestamp>,
    /// The policy's explanation, or why the system could not be read.
    pub detail: String,
}

/// A `/health` answer.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    /// Overall state.
    pub status: HealthStatus,
    /// When the shown verdicts were evaluated.
    pub checked_at: Option<jiff::Timestamp>,
    /// Why the last check could not run, when it could not.
    pub error: Option<String>,
    /// The rows.
    pub rows: Vec<HealthRow>,
}

impl Health {
    /// The HTTP status Gatus reads: 200 only when [`HealthStatus::Ok`].
    pub fn http_status(&self) -> u16 {
        if self.status == HealthStatus::Ok {
            200
        } else {
            503
        }
    }
}

fn row(r: &AuditRow) -> HealthRow {
    HealthRow {
        target: r.report.target.clone(),
        schedule: r.report.schedule.clone(),
        tool: tool_name(r.report.tool),
        verdict: r.status.as_str(),
        last_good: r.report.last_good,
        detail: r.error.clone().unwrap_or_else(|| r.report.detail.clone()),
    }
}

/// The answer for every row (`target` None) or for one target's rows; None when the audit has
/// no row for `target`.
pub fn health(audit: Option<&Audit>, last_error: Option<&str>, target: Option<&str>) -> Health {
    let Some(audit) = audit else {
        return Health {
            status: if last_error.is_some() {
                HealthStatus::Error
            } else {
                HealthStatus::Pending
            },
            checked_at: None,
            error: last_error.map(str::to_owned),
            rows: Vec::new(),
        };
    };
    let rows: Vec<&AuditRow> = audit
        .rows
        .iter()
        .filter(|r| target.is_none_or(|t| r.report.target == t))
        .collect();
    let status = if last_error.is_some() {
        HealthStatus::Error
    } else if rows.iter().any(|r| r.status.is_failing()) {
        HealthStatus::Failing
    } else {
        HealthStatus::Ok
    };
    Health {
        status,
        checked_at: Some(audit.now),
        error: last_error.map(str::to_owned),
        rows: rows.into_iter().map(row).collect(),
    }
}
