//! The audit's series, rendered with the `prometheus-client` library: serve's `/metrics`
//! ([`render`]) and the node_exporter textfile `check --prometheus` writes ([`render_textfile`]).
//!
//! Both share the names and labels the generated alert rules read; `/metrics` adds what only a
//! long-running process knows: per-system check duration and last check time. A fresh registry
//! is built per scrape from the last result, so a row or system that disappears leaves no stale
//! series behind.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::audit::{ALL_STATUSES, Audit, AuditRow, tool_name};

/// The content type of [`render`]'s output (OpenMetrics text, which Prometheus scrapes).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What serve knows about one system's last query.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemTiming {
    /// Unix time the query finished.
    pub last_check_seconds: f64,
    /// Wall time of the query.
    pub duration_seconds: f64,
    /// Whether it answered.
    pub up: bool,
}

type Labels = Vec<(String, String)>;
type IntFamily = Family<Labels, Gauge>;
type FloatFamily = Family<Labels, Gauge<f64, AtomicU64>>;

fn row_labels(r: &AuditRow) -> Labels {
    vec![
        ("target".to_owned(), r.report.target.clone()),
        (
            "schedule".to_owned(),
            r.report.schedule.clone().unwrap_or_default(),
        ),
        ("tool".to_owned(), tool_name(r.report.tool).to_owned()),
    ]
}

fn system_labels(system: &str) -> Labels {
    vec![("system".to_owned(), system.to_owned())]
}

/// Registers the audit's series (the textfile's and `/metrics`' common part) and returns the
/// `backup_audit_system_up` family for the caller to fill: from the audit's own answers for the
/// textfile, from serve's per-system timings for `/metrics`.
fn register_audit(registry: &mut Registry, audit: Option<&Audit>) -> IntFamily {
    let last_success = IntFamily::default();
    let status = IntFamily::default();
    let size = IntFamily::default();
    let retained = IntFamily::default();
    let system_up = IntFamily::default();
    registry.register(
        "backup_audit_last_success_timestamp_seconds",
        "Time of the newest usable backup of a matrix row",
        last_success.clone(),
    );
    registry.register(
        "backup_audit_status",
        "Verdict of a matrix row (1 for the current status)",
        status.clone(),
    );
    registry.register(
        "backup_audit_last_size_bytes",
        "Size of the newest usable backup of a matrix row",
        size.clone(),
    );
    registry.register(
        "backup_audit_retained",
        "Usable backups observed for a matrix row",
        retained.clone(),
    );
    registry.register(
        "backup_audit_system_up",
        "Whether a backup system answered the audit",
        system_up.clone(),
    );
    let Some(audit) = audit else {
        return system_up;
    };
    let audit_time = Gauge::<i64>::default();
    registry.register(
        "backup_audit_timestamp_seconds",
        "When the audit ran",
        audit_time.clone(),
    );
    audit_time.set(audit.now.as_second());
    for r in &audit.rows {
        let labels = row_labels(r);
        if let Some(t) = r.report.last_good {
            last_success.get_or_create(&labels).set(t.as_second());
        }
        for s in ALL_STATUSES {
            let mut l = labels.clone();
            l.push(("status".to_owned(), s.to_owned()));
            status
                .get_or_create(&l)
                .set(i64::from(r.status.as_str() == s));
        }
        if let Some(b) = r.report.last_size_bytes {
            size.get_or_create(&labels)
                .set(i64::try_from(b).unwrap_or(i64::MAX));
        }
        retained
            .get_or_create(&labels)
            .set(i64::try_from(r.report.retained).unwrap_or(i64::MAX));
    }
    system_up
}

fn encode_text(registry: &Registry) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = encode(&mut out, registry);
    out
}

/// The node_exporter textfile `check --prometheus` writes: the audit's series, with
/// `backup_audit_system_up` from the audit's own answers. OpenMetrics text, which the textfile
/// collector's Prometheus text parser reads (its `# EOF` is a comment there).
pub fn render_textfile(audit: &Audit) -> String {
    let mut registry = Registry::default();
    let system_up = register_audit(&mut registry, Some(audit));
    for s in &audit.systems {
        system_up
            .get_or_create(&system_labels(&s.system))
            .set(i64::from(s.up));
    }
    encode_text(&registry)
}

/// Renders the last audit and the per-system timings; no audit yet → only the timings.
pub fn render(audit: Option<&Audit>, systems: &BTreeMap<String, SystemTiming>) -> String {
    let mut registry = Registry::default();
    let system_up = register_audit(&mut registry, audit);
    let duration = FloatFamily::default();
    let last_check = FloatFamily::default();
    registry.register(
        "backup_audit_system_check_duration_seconds",
        "Wall time of the last query of a backup system",
        duration.clone(),
    );
    registry.register(
        "backup_audit_system_last_check_timestamp_seconds",
        "When the last query of a backup system finished",
        last_check.clone(),
    );
    for (name, t) in systems {
        let l = system_labels(name);
        system_up.get_or_create(&l).set(i64::from(t.up));
        duration.get_or_create(&l).set(t.duration_seconds);
        last_check.get_or_create(&l).set(t.last_check_seconds);
    }
    encode_text(&registry)
}
