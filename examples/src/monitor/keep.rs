//! Keep alerts for failing rows: one alert per row, a fingerprint that is the same across
//! restarts, no re-send while the row stays failing the same way, and a *resolved* alert once it
//! recovers.
//!
//! The fields follow Keep's alert model (docs.keephq.dev, "API reference → alerts → Get alert":
//! `name`, `status` ∈ firing|resolved|acknowledged|suppressed|pending, `severity` ∈
//! critical|high|warning|info|low, `lastReceived`, `source` as a list of strings,
//! `description`, `labels`, `fingerprint`; "Key concepts → Alert severity and status"). Keep
//! deduplicates and updates alerts by fingerprint, so the resolved alert carries the firing
//! alert's fingerprint. Alerts are POSTed to Keep's event endpoint (`/alerts/event`), with the
//! API key Keep requires in the `X-API-KEY` header.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use backup_policy::compliance::Status;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::audit::{Audit, AuditRow, RowStatus, tool_name};

/// Environment variable holding Keep's API key (sent as `X-API-KEY`; optional when the URL
/// itself authenticates).
pub const KEEP_API_KEY_ENV: &str = "BACKUP_AUDIT_KEEP_API_KEY";

/// One alert in Keep's format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeepAlert {
    /// `BackupLate`, `BackupFailed`, `BackupMissing` or `BackupUnreachable` (the names the
    /// generated Prometheus rules use).
    pub name: String,
    /// `firing` or `resolved`.
    pub status: &'static str,
    /// `warning` for a late row, `critical` otherwise.
    pub severity: &'static str,
    /// Stable identity of the row: see [`fingerprint`].
    pub fingerprint: String,
    /// Always `["backup-audit"]`.
    pub source: Vec<&'static str>,
    /// What the row is.
    pub labels: BTreeMap<String, String>,
    /// Why the row fails (or that it recovered).
    pub description: String,
    /// When serve saw this state (RFC 3339).
    pub last_received: String,
}

/// The kind of check a row alert is about; part of the fingerprint, so a future alert about
/// the same row for another reason (e.g. a drill) does not collide with this one.
const CHECK_KIND: &str = "backup-compliance";

/// The row's fingerprint: SHA-256 of the target, the schedule and the check kind (NUL
/// separated), hex. A pure function of the row's identity, so it survives restarts and a
/// verdict change (late → failed) updates the same Keep alert.
pub fn fingerprint(target: &str, schedule: Option<&str>) -> String {
    let mut h = Sha256::new();
    for part in [target, schedule.unwrap_or(""), CHECK_KIND] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

fn alert_name(status: RowStatus) -> &'static str {
    match status {
        RowStatus::Policy(Status::Late) => "BackupLate",
        RowStatus::Policy(Status::Missing) => "BackupMissing",
        RowStatus::Unreachable => "BackupUnreachable",
        _ => "BackupFailed",
    }
}

fn severity(status: RowStatus) -> &'static str {
    if status == RowStatus::Policy(Status::Late) {
        "warning"
    } else {
        "critical"
    }
}

fn labels(r: &AuditRow, verdict: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("target".to_owned(), r.report.target.clone()),
        (
            "schedule".to_owned(),
            r.report.schedule.clone().unwrap_or_default(),
        ),
        ("tool".to_owned(), tool_name(r.report.tool).to_owned()),
        ("verdict".to_owned(), verdict.to_owned()),
    ])
}

/// What was last sent for a row.
#[derive(Debug, Clone)]
struct Sent {
    status: RowStatus,
    alert: KeepAlert,
}

/// Remembers which rows have a firing alert in Keep.
#[derive(Debug, Default)]
pub struct KeepState {
    firing: BTreeMap<String, Sent>,
}

impl KeepState {
    /// The alerts `audit` calls for: firing for a row that newly fails (or fails another way),
    /// resolved for a row with a firing alert that is ok, disabled or gone. Nothing is
    /// remembered until [`KeepState::delivered`] says the alert arrived.
    pub fn due(&self, audit: &Audit) -> Vec<KeepAlert> {
        let now = audit.now.to_string();
        let mut out = Vec::new();
        let mut seen = Vec::new();
        for r in &audit.rows {
            let fp = fingerprint(&r.report.target, r.report.schedule.as_deref());
            seen.push(fp.clone());
            let previous = self.firing.get(&fp);
            if r.status.is_failing() {
                if previous.is_some_and(|p| p.status == r.status) {
                    continue; // still failing the same way: Keep already has it
                }
                out.push(KeepAlert {
                    name: alert_name(r.status).to_owned(),
                    status: "firing",
                    severity: severity(r.status),
                    fingerprint: fp,
                    source: vec!["backup-audit"],
                    labels: labels(r, r.status.as_str()),
                    description: format!(
                        "Backup {}/{} is {}: {}",
                        r.report.target,
                        r.report.schedule.as_deref().unwrap_or("-"),
                        r.status.as_str(),
                        r.error.as_deref().unwrap_or(&r.report.detail)
                    ),
                    last_received: now.clone(),
                });
            } else if let Some(p) = previous {
                out.push(resolved(&p.alert, r.status.as_str(), &now));
            }
        }
        // A row that left the matrix resolves too, or it would fire in Keep forever.
        for (fp, p) in &self.firing {
            if !seen.contains(fp) {
                out.push(resolved(&p.alert, "gone", &now));
            }
        }
        out
    }

    /// Records that `alert` reached Keep.
    pub fn delivered(&mut self, alert: &KeepAlert, status: Option<RowStatus>) {
        match (alert.status, status) {
            ("firing", Some(status)) => {
                self.firing.insert(
                    alert.fingerprint.clone(),
                    Sent {
                        status,
                        alert: alert.clone(),
                    },
                );
            }
            _ => {
                self.firing.remove(&alert.fingerprint);
            }
        }
    }

    /// Fingerprints with a firing alert in Keep.
    pub fn firing(&self) -> impl Iterator<Item = &str> {
        self.firing.keys().map(String::as_str)
    }
}

fn resolved(firing: &KeepAlert, verdict: &str, now: &str) -> KeepAlert {
    let mut a = firing.clone();
    a.status = "resolved";
    a.labels.insert("verdict".to_owned(), verdict.to_owned());
    a.description = format!(
        "Backup {}/{} recovered ({verdict})",
        a.labels.get("target").map_or("-", String::as_str),
        a.labels
            .get("schedule")
            .filter(|s| !s.is_empty())
            .map_or("-", String::as_str)
    );
    a.last_received = now.to_owned();
    a
}

/// Posts Keep alerts to one URL.
///
/// The URL and the API key are secrets: neither appears in an error or a log line, and no
/// redirect is followed (it would re-send both to wherever it points).
pub struct KeepClient {
    url: SecretString,
    api_key: Option<SecretString>,
    http: reqwest::Client,
    state: KeepState,
}

impl std::fmt::Debug for KeepClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeepClient")
            .field("url", &"[redacted]")
            .field("firing", &self.state.firing.len())
            .finish()
    }
}

impl KeepClient {
    /// A client for `url` (checked here, so a typo fails at start-up, not at the first alert).
    pub fn new(url: SecretString, api_key: Option<SecretString>) -> Result<Self> {
        reqwest::Url::parse(url.expose_secret())
            .map_err(|e| anyhow!("the Keep webhook URL is invalid ({e})"))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .user_agent(concat!("backup-audit/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            url,
            api_key,
            http,
            state: KeepState::default(),
        })
    }

    /// Sends what `audit` calls for, one request per alert; an alert that fails is retried on
    /// the next cycle. Returns how many were delivered, or the first error.
    pub async fn notify(&mut self, audit: &Audit) -> Result<usize> {
        let mut sent = 0;
        let mut first_error = None;
        for alert in self.state.due(audit) {
            match self.post(&alert).await {
                Ok(()) => {
                    let status = audit
                        .rows
                        .iter()
                        .find(|r| {
                            fingerprint(&r.report.target, r.report.schedule.as_deref())
                                == alert.fingerprint
                        })
                        .map(|r| r.status);
                    self.state.delivered(&alert, status);
                    sent += 1;
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            None => Ok(sent),
            Some(e) => Err(e),
        }
    }

    async fn post(&self, alert: &KeepAlert) -> Result<()> {
        let url = reqwest::Url::parse(self.url.expose_secret())
            .map_err(|_| anyhow!("the Keep webhook URL is invalid"))?;
        let mut req = self.http.post(url).json(alert);
        if let Some(key) = &self.api_key {
            req = req.header("X-API-KEY", key.expose_secret());
        }
        let resp = req
            .send()
            .await
            .map_err(reqwest::Error::without_url)
            .context("posting the Keep alert")?;
        let status = resp.status();
        if status.is_redirection() {
            return Err(anyhow!(
                "Keep answered {status}; redirects are not followed (configure the final URL)"
            ));
        }
        if !status.is_success() {
            return Err(anyhow!("Keep answered {status}"));
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "keep_tests.rs"]
mod tests;
