//! `backup-audit check`: query every system concurrently, turn what they report into
//! [`Observation`]s, evaluate them against the matrix, and render the verdict.
//!
//! Each system is queried on its own task with its own timeout; a system that is down marks
//! only its own rows ([`RowStatus::Unreachable`]) and hides no others.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use backup_policy::compliance::{Observation, Outcome, ScheduleReport, Status, evaluate};
use backup_policy::matrix::{Matrix, Target, TargetKind, Tool};
use futures::future::join_all;
use futures::{StreamExt as _, TryStreamExt as _};
use jiff::Timestamp;
use serde::Serialize;

use crate::cli::bytes_or_dash;
use crate::clients;
use crate::config::{Config, Secrets};

/// What one system answered.
#[derive(Debug, Clone, Serialize)]
pub struct SystemResult {
    /// `velero/prod`, `restic/iac-daily`, `pbs`, `garage`.
    pub system: String,
    /// Matrix targets this system reports on.
    pub targets: Vec<String>,
    /// Observations, or why the system could not be read.
    #[serde(skip)]
    pub observations: Result<Vec<Observation>, String>,
    /// Wall time of the query.
    pub elapsed_ms: u128,
}

/// Garage's own state: health and bucket usage (absent when `[garage]` is not configured).
#[derive(Debug, Clone, Default, Serialize)]
pub struct GarageState {
    /// The admin `/health` answer.
    pub health: Option<GarageHealth>,
    /// Usage of every bucket the matrix names.
    pub buckets: BTreeMap<String, BucketUsage>,
}

/// Garage's admin `/health` answer, or why there was none.
#[derive(Debug, Clone, Serialize)]
pub struct GarageHealth {
    /// 200 (healthy or degraded).
    pub up: bool,
    /// HTTP status, when Garage answered.
    pub status: Option<u16>,
    /// First line of Garage's message, or the error.
    pub message: String,
}

/// One bucket's usage, or why it could not be read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BucketUsage {
    /// Bytes stored.
    pub bytes: Option<u64>,
    /// Objects stored.
    pub objects: Option<u64>,
    /// Why the bucket could not be read.
    pub error: Option<String>,
}

/// A row's verdict: the policy's, or "could not tell".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowStatus {
    /// Evaluated by backup-policy.
    Policy(Status),
    /// The system holding this row's backups could not be queried.
    Unreachable,
}

impl RowStatus {
    /// Label used in tables, JSON and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            RowStatus::Policy(Status::Ok) => "ok",
            RowStatus::Policy(Status::Late) => "late",
            RowStatus::Policy(Status::Failed) => "failed",
            RowStatus::Policy(Status::Missing) => "missing",
            RowStatus::Policy(Status::Disabled) => "disabled",
            RowStatus::Policy(_) => "unknown",
            RowStatus::Unreachable => "unreachable",
        }
    }

    /// Whether this row makes the audit fail.
    pub fn is_failing(self) -> bool {
        !matches!(
            self,
            RowStatus::Policy(Status::Ok) | RowStatus::Policy(Status::Disabled)
        )
    }
}

impl Serialize for RowStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The statuses a row can have, for one-hot metrics.
pub const ALL_STATUSES: [&str; 6] = ["ok", "late", "failed", "missing", "disabled", "unreachable"];

/// One row of the audit.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRow {
    /// The policy's report.
    #[serde(flatten)]
    pub report: ScheduleReport,
    /// The final verdict.
    #[serde(rename = "verdict")]
    pub status: RowStatus,
    /// Why the system was unreachable, when it was.
    pub error: Option<String>,
    /// Newest observed attempt ended partially failed (Velero `PartiallyFailed`).
    pub latest_partial: bool,
}

/// The whole audit.
#[derive(Debug, Clone, Serialize)]
pub struct Audit {
    /// The instant the audit evaluated at.
    pub now: Timestamp,
    /// One row per target schedule.
    pub rows: Vec<AuditRow>,
    /// Per-system query results.
    pub systems: Vec<SystemSummary>,
    /// Garage's state.
    pub garage: GarageState,
}

/// A system's query result, for output.
#[derive(Debug, Clone, Serialize)]
pub struct SystemSummary {
    /// System name.
    pub system: String,
    /// Whether it answered.
    pub up: bool,
    /// Its error.
    pub error: Option<String>,
    /// Observations it gave.
    pub observations: usize,
    /// Query wall time.
    pub elapsed_ms: u128,
}

impl Audit {
    /// Whether any enabled row is late, failed, missing or unreachable.
    pub fn is_failing(&self) -> bool {
        self.rows.iter().any(|r| r.status.is_failing())
    }
}

/// Per-system query timeout.
pub const SYSTEM_TIMEOUT: Duration = Duration::from_secs(60);

/// Queries every system of the matrix concurrently.
pub async fn gather(
    config: &Config,
    secrets: &Secrets,
    matrix: &Matrix,
    timeout: Duration,
) -> (Vec<SystemResult>, GarageState) {
    gather_bounded(config, secrets, matrix, timeout, usize::MAX).await
}

/// [`gather`] with at most `limit` systems queried at once (a long-running `serve` must not open
/// a connection storm on every cycle); results keep the systems' order.
pub async fn gather_bounded(
    config: &Config,
    secrets: &Secrets,
    matrix: &Matrix,
    timeout: Duration,
    limit: usize,
) -> (Vec<SystemResult>, GarageState) {
    let mut tasks: Vec<futures::future::BoxFuture<'_, SystemResult>> = Vec::new();

    // Velero: one query per kube context.
    let contexts = clients::velero_contexts(config, matrix);
    let mut by_context: BTreeMap<String, Vec<&Target>> = BTreeMap::new();
    for (target, ctx) in &contexts {
        if let Some(t) = matrix.target(target).filter(|t| t.enabled) {
            by_context.entry(ctx.clone()).or_default().push(t);
        }
    }
    for (ctx, targets) in by_context {
        let names = targets.iter().map(|t| t.name.clone()).collect();
        tasks.push(Box::pin(timed(
            format!("velero/{ctx}"),
            names,
            timeout,
            velero_observations(config, ctx.clone(), targets),
        )));
    }

    // restic: one query per plan.
    for t in matrix
        .target
        .iter()
        .filter(|t| t.tool == Tool::Restic && t.enabled)
    {
        tasks.push(Box::pin(timed(
            format!("restic/{}", t.name),
            vec![t.name.clone()],
            timeout,
            restic_observations(config, secrets, t),
        )));
    }

    // PBS: one query for every PBS target.
    let pbs_targets: Vec<&Target> = matrix
        .target
        .iter()
        .filter(|t| t.tool == Tool::Pbs && t.enabled)
        .collect();
    if !pbs_targets.is_empty() {
        let names = pbs_targets.iter().map(|t| t.name.clone()).collect();
        tasks.push(Box::pin(timed(
            "pbs".to_owned(),
            names,
            timeout,
            pbs_observations(config, secrets, pbs_targets),
        )));
    }

    let garage = garage_state(config, secrets, matrix, timeout);
    let systems = futures::stream::iter(tasks)
        .buffered(limit.max(1))
        .collect::<Vec<_>>();
    let (results, garage) = futures::join!(systems, garage);
    (results, garage)
}

async fn timed<F>(system: String, targets: Vec<String>, timeout: Duration, f: F) -> SystemResult
where
    F: Future<Output = Result<Vec<Observation>>>,
{
    let started = Instant::now();
    let observations = match tokio::time::timeout(timeout, f).await {
        Ok(Ok(obs)) => Ok(obs),
        Ok(Err(e)) => Err(format!("{e:#}")),
        Err(_) => Err(format!("no answer within {}s", timeout.as_secs())),
    };
    SystemResult {
        system,
        targets,
        observations,
        elapsed_ms: started.elapsed().as_millis(),
    }
}

/// Matches a Velero schedule name to a matrix schedule of the target: the schedule's `job` when
/// set, else the same name, else a name whose `-`-separated words include the matrix name
/// (`velero-daily`, `prod-weekly-backup`).
pub fn match_schedule<'a>(target: &'a Target, velero_schedule: &str) -> Option<&'a str> {
    let by_job = target
        .schedule
        .iter()
        .find(|s| s.job.as_deref() == Some(velero_schedule));
    let exact = || {
        target
            .schedule
            .iter()
            .find(|s| s.job.is_none() && s.name == velero_schedule)
    };
    let by_word = || {
        target.schedule.iter().find(|s| {
            s.job.is_none() && velero_schedule.split(['-', '_', '.']).any(|w| w == s.name)
        })
    };
    by_job
        .or_else(exact)
        .or_else(by_word)
        .map(|s| s.name.as_str())
}

/// Maps a Velero backup phase to an outcome.
pub fn velero_outcome(phase: &velero_client::BackupPhase) -> Outcome {
    use velero_client::BackupPhase as P;
    match phase {
        P::Completed => Outcome::Success,
        P::PartiallyFailed => Outcome::PartialFailure,
        P::Failed | P::FailedValidation => Outcome::Failed,
        P::New
        | P::Queued
        | P::ReadyToStart
        | P::InProgress
        | P::WaitingForPluginOperations
        | P::WaitingForPluginOperationsPartiallyFailed
        | P::Finalizing
        | P::FinalizingPartiallyFailed => Outcome::InProgress,
        other => Outcome::Other(other.to_string()),
    }
}

async fn velero_observations(
    config: &Config,
    context: String,
    targets: Vec<&Target>,
) -> Result<Vec<Observation>> {
    let client = clients::velero(config, &context).await?;
    let backups: Vec<velero_client::Backup> = client
        .list_all(&velero_client::ListOptions::default())
        .await?;
    let mut out = Vec::new();
    for b in &backups {
        let Some(schedule) = b.schedule_name() else {
            continue; // ad-hoc backups do not satisfy a schedule
        };
        let Some(time) = b.started().or_else(|| b.created()) else {
            continue;
        };
        for t in &targets {
            if let Some(name) = match_schedule(t, schedule) {
                // Velero reports items, not bytes, so Velero rows carry no size.
                let mut o = Observation::new(t.name.clone(), time, velero_outcome(&b.phase()))
                    .with_schedule(name);
                if let Some(n) = &b.metadata.name {
                    o = o.with_id(n.clone());
                }
                // the run's length, for the plan's contention lint (`check --durations-out`)
                if let (Some(start), Some(end)) = (b.started(), b.completed())
                    && end > start
                {
                    o = o.with_duration(end.duration_since(start));
                }
                out.push(o);
            }
        }
    }
    Ok(out)
}

async fn restic_observations(
    config: &Config,
    secrets: &Secrets,
    target: &Target,
) -> Result<Vec<Observation>> {
    let plan = config
        .restic
        .get(&target.name)
        .ok_or_else(|| anyhow!("no [restic.{}] plan in the config", target.name))?;
    let restic = clients::restic(config, secrets, plan).await?;
    let snapshots = restic
        .snapshots(&restic_remote::SnapshotFilter::new())
        .await
        .context("restic snapshots")?;
    let mut out = Vec::new();
    for s in snapshots {
        let mut o = Observation::new(target.name.clone(), s.time, Outcome::Success);
        if let Some(id) = s.short_id.clone().or_else(|| s.id.clone()) {
            o = o.with_id(id);
        }
        // restic 0.17+ stores a summary in the snapshot; older snapshots have no size.
        if let Some(bytes) = s
            .summary
            .as_ref()
            .and_then(|sum| sum.get("total_bytes_processed"))
            .and_then(serde_json::Value::as_u64)
        {
            o = o.with_size(bytes);
        }
        if let Some(d) = s.summary.as_ref().and_then(restic_run_time) {
            o = o.with_duration(d);
        }
        out.push(o);
    }
    Ok(out)
}

/// How long a restic backup ran: `backup_end − backup_start` of the snapshot's summary
/// (restic 0.17+ stores it; older snapshots have none).
pub fn restic_run_time(summary: &serde_json::Value) -> Option<jiff::SignedDuration> {
    let at = |k: &str| summary.get(k)?.as_str()?.parse::<Timestamp>().ok();
    let (start, end) = (at("backup_start")?, at("backup_end")?);
    (end > start).then(|| end.duration_since(start))
}

fn pbs_group(target: &Target) -> Option<(pbs_client::BackupType, String)> {
    let id = target.id?.to_string();
    let kind = match target.kind {
        TargetKind::Lxc => pbs_client::BackupType::Ct,
        TargetKind::Host => pbs_client::BackupType::Host,
        _ => pbs_client::BackupType::Vm,
    };
    Some((kind, id))
}

async fn pbs_observations(
    config: &Config,
    secrets: &Secrets,
    targets: Vec<&Target>,
) -> Result<Vec<Observation>> {
    let client = clients::pbs(config, secrets)?;
    let p = config
        .pbs
        .as_ref()
        .ok_or_else(|| anyhow!("[pbs] is not configured"))?;
    let mut filter = pbs_client::SnapshotFilter::new();
    if let Some(ns) = &p.namespace {
        filter = filter.with_ns(ns.clone());
    }
    let snapshots = client
        .datastore(&p.datastore)
        .snapshots(&filter)
        .await
        .context("PBS snapshots")?;
    let runs = pbs_backup_runs(&client, &p.datastore, &targets, &snapshots).await;
    let mut out = Vec::new();
    for t in targets {
        let Some((kind, id)) = pbs_group(t) else {
            continue;
        };
        let newest = snapshots
            .iter()
            .filter(|s| s.backup_type == kind && s.backup_id == id)
            .map(|s| s.backup_time)
            .max();
        for s in snapshots
            .iter()
            .filter(|s| s.backup_type == kind && s.backup_id == id)
        {
            let Ok(time) = Timestamp::from_second(s.backup_time) else {
                continue;
            };
            let verified_bad = s
                .verification
                .as_ref()
                .is_some_and(|v| v.state.as_str() == "failed");
            let outcome = if verified_bad {
                Outcome::Failed
            } else {
                Outcome::Success
            };
            let mut o = Observation::new(t.name.clone(), time, outcome).with_id(format!(
                "{}/{}/{}",
                s.backup_type, s.backup_id, s.backup_time
            ));
            if let Some(size) = s.size {
                o = o.with_size(size);
            }
            // the run's length, for the plan's contention lint (`check --durations-out`): the
            // newest backup task's, carried by the newest snapshot
            if Some(s.backup_time) == newest
                && let Some(d) = runs.get(&pbs_worker_id(&p.datastore, &kind, &id))
            {
                o = o.with_duration(*d);
            }
            out.push(o);
        }
    }
    Ok(out)
}

/// The worker id of a PBS backup task, `<store>:<type>/<id>` (the namespace is not part of it)
/// [proxmox/proxmox-backup: src/api2/backup/mod.rs `upgrade_to_backup_protocol`].
fn pbs_worker_id(store: &str, kind: &pbs_client::BackupType, id: &str) -> String {
    format!("{store}:{kind}/{id}")
}

/// How long the newest finished, successful `backup` task of each target's group ran
/// (`endtime − starttime`), keyed by worker id. Tasks are read from the datastore, newest
/// first, back to the oldest of the targets' newest snapshots (a task starts once its
/// snapshot's time is chosen). Best effort: a token that may not list tasks only costs the
/// durations, not the check.
async fn pbs_backup_runs(
    client: &pbs_client::Client,
    store: &str,
    targets: &[&Target],
    snapshots: &[pbs_client::SnapshotListItem],
) -> std::collections::HashMap<String, jiff::SignedDuration> {
    let mut runs = std::collections::HashMap::new();
    let newest: Vec<(String, i64)> = targets
        .iter()
        .filter_map(|t| pbs_group(t))
        .filter_map(|(kind, id)| {
            let time = snapshots
                .iter()
                .filter(|s| s.backup_type == kind && s.backup_id == id)
                .map(|s| s.backup_time)
                .max()?;
            Some((pbs_worker_id(store, &kind, &id), time))
        })
        .collect();
    let Some(since) = newest.iter().map(|(_, t)| *t).min() else {
        return runs;
    };
    let mut filter = pbs_client::TaskFilter::new()
        .with_store(store)
        .with_type("backup");
    filter.since = Some(since);
    let tasks = match client
        .tasks_stream(&filter)
        .take(PBS_TASKS_MAX)
        .try_collect::<Vec<_>>()
        .await
    {
        Ok(tasks) => tasks,
        Err(e) => {
            eprintln!("backup-audit: PBS backup tasks not read, no PBS run durations: {e}");
            return runs;
        }
    };
    for t in tasks {
        let (Some(wid), Some(end), Some(state)) = (&t.worker_id, t.endtime, &t.status) else {
            continue; // still running
        };
        // `typefilter` is a substring match; only `backup` itself writes snapshots
        if t.worker_type != "backup" || !state.is_success() || end <= t.starttime {
            continue;
        }
        if newest.iter().any(|(w, _)| w == wid) && !runs.contains_key(wid) {
            // PBS lists finished tasks newest first, so the first one seen is the newest
            runs.insert(
                wid.clone(),
                jiff::SignedDuration::from_secs(end - t.starttime),
            );
        }
    }
    runs
}

/// At most this many tasks are read for run durations (a night's backups of a homelab).
const PBS_TASKS_MAX: usize = 500;

async fn garage_state(
    config: &Config,
    secrets: &Secrets,
    matrix: &Matrix,
    timeout: Duration,
) -> GarageState {
    let mut state = GarageState::default();
    if config.garage.is_none() {
        return state;
    }
    let down = |message: String| GarageHealth {
        up: false,
        status: None,
        message,
    };
    let admin = match clients::garage_admin(config, secrets) {
        Ok(a) => a,
        Err(e) => {
            state.health = Some(down(format!("{e:#}")));
            return state;
        }
    };
    let mut buckets: Vec<String> = matrix
        .target
        .iter()
        .filter(|t| t.enabled)
        .filter_map(|t| t.bucket.clone())
        .collect();
    buckets.sort();
    buckets.dedup();
    let health = tokio::time::timeout(timeout, admin.health());
    let usage = join_all(buckets.into_iter().map(|bucket| {
        let admin = &admin;
        async move {
            let info = tokio::time::timeout(timeout, admin.bucket_info_by_alias(&bucket)).await;
            let usage = match info {
                Ok(Ok(i)) => BucketUsage {
                    bytes: u64::try_from(i.bytes).ok(),
                    objects: u64::try_from(i.objects).ok(),
                    error: None,
                },
                Ok(Err(e)) => BucketUsage {
                    error: Some(e.to_string()),
                    ..BucketUsage::default()
                },
                Err(_) => BucketUsage {
                    error: Some("no answer".to_owned()),
                    ..BucketUsage::default()
                },
            };
            (bucket, usage)
        }
    }));
    let (health, usage) = futures::join!(health, usage);
    state.health = Some(match health {
        Ok(Ok(h)) => GarageHealth {
            up: h.is_operational(),
            status: Some(h.status),
            message: h.message.lines().next().unwrap_or_default().to_owned(),
        },
        Ok(Err(e)) => down(e.to_string()),
        Err(_) => down("no answer".to_owned()),
    });
    state.buckets = usage.into_iter().collect();
    state
}

/// Evaluates gathered results against the matrix.
pub fn assemble(
    matrix: &Matrix,
    results: Vec<SystemResult>,
    garage: GarageState,
    now: Timestamp,
) -> Audit {
    let mut observations = Vec::new();
    let mut unreachable: BTreeMap<String, String> = BTreeMap::new();
    let mut systems = Vec::new();
    for r in &results {
        match &r.observations {
            Ok(obs) => observations.extend(obs.iter().cloned()),
            Err(e) => {
                for t in &r.targets {
                    unreachable.insert(t.clone(), format!("{}: {e}", r.system));
                }
            }
        }
        systems.push(SystemSummary {
            system: r.system.clone(),
            up: r.observations.is_ok(),
            error: r.observations.as_ref().err().cloned(),
            observations: r.observations.as_ref().map(Vec::len).unwrap_or(0),
            elapsed_ms: r.elapsed_ms,
        });
    }
    let reports = evaluate(matrix, &observations, now);
    let rows = reports
        .into_iter()
        .map(|report| {
            let error = unreachable.get(&report.target).cloned();
            let latest_partial = observations
                .iter()
                .filter(|o| {
                    o.target == report.target
                        && (o.schedule.is_none() || o.schedule == report.schedule)
                })
                .max_by_key(|o| o.time)
                .is_some_and(|o| o.outcome == Outcome::PartialFailure);
            let status = if error.is_some() && report.status != Status::Disabled {
                RowStatus::Unreachable
            } else if latest_partial && report.status == Status::Ok {
                // A PartiallyFailed newest backup is restorable but lost items: flag it.
                RowStatus::Policy(Status::Failed)
            } else {
                RowStatus::Policy(report.status)
            };
            AuditRow {
                report,
                status,
                error,
                latest_partial,
            }
        })
        .collect();
    Audit {
        now,
        rows,
        systems,
        garage,
    }
}

fn fmt_age(d: Option<jiff::SignedDuration>) -> String {
    d.map_or_else(|| "-".to_owned(), crate::cli::human_age)
}

fn fmt_time(t: Option<Timestamp>, tz: &jiff::tz::TimeZone) -> String {
    t.map(|t| {
        t.to_zoned(tz.clone())
            .strftime("%a %d %b %H:%M")
            .to_string()
    })
    .unwrap_or_else(|| "-".to_owned())
}

/// Renders the audit as aligned tables; colours only when `color` is set.
pub fn render_table(audit: &Audit, matrix: &Matrix, color: bool) -> String {
    use comfy_table::{Cell, Color};
    let tz = matrix.tz();
    // wrapped to 100 columns on a pipe, the terminal's width on a terminal
    let mut table = crate::cli::table();
    table.set_header([
        "TARGET",
        "SCHEDULE",
        "TOOL",
        "STATUS",
        "LAST GOOD",
        "AGE",
        "RETAINED",
        "SIZE",
        "NEXT RUN",
        "DETAIL",
    ]);
    if !color {
        table.force_no_tty();
    }
    // names, verdicts and times never wrap; only DETAIL (the last column) does
    for i in 0..9 {
        if let Some(c) = table.column_mut(i) {
            c.set_constraint(comfy_table::ColumnConstraint::ContentWidth);
        }
    }
    for row in &audit.rows {
        let r = &row.report;
        let status = row.status.as_str();
        let mut status_cell = Cell::new(status);
        if color {
            status_cell = status_cell.fg(match row.status {
                RowStatus::Policy(Status::Ok) => Color::Green,
                RowStatus::Policy(Status::Disabled) => Color::DarkGrey,
                RowStatus::Policy(Status::Late) => Color::Yellow,
                _ => Color::Red,
            });
        }
        let retained = match r.expected_retained {
            Some(e) => format!("{}/{e}", r.retained),
            None => r.retained.to_string(),
        };
        let mut detail = row.error.clone().unwrap_or_else(|| r.detail.clone());
        if row.latest_partial {
            detail = format!("newest backup PartiallyFailed; {detail}");
        }
        table.add_row(vec![
            Cell::new(&r.target),
            Cell::new(r.schedule.as_deref().unwrap_or("-")),
            Cell::new(tool_name(r.tool)),
            status_cell,
            Cell::new(fmt_time(r.last_good, &tz)),
            Cell::new(fmt_age(r.last_good_age)),
            Cell::new(retained),
            Cell::new(bytes_or_dash(r.last_size_bytes)),
            Cell::new(fmt_time(r.next_run, &tz)),
            Cell::new(truncate(&detail, 70)),
        ]);
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Backup audit at {} ({})",
        audit.now.to_zoned(tz).strftime("%Y-%m-%d %H:%M %Z"),
        matrix.timezone
    );
    let _ = writeln!(out, "{table}");
    let mut systems = crate::cli::table();
    systems.set_header(["SYSTEM", "UP", "BACKUPS SEEN", "TIME", "ERROR"]);
    if !color {
        systems.force_no_tty();
    }
    for s in &audit.systems {
        systems.add_row(vec![
            s.system.clone(),
            if s.up { "yes" } else { "NO" }.to_owned(),
            s.observations.to_string(),
            format!("{} ms", s.elapsed_ms),
            truncate(s.error.as_deref().unwrap_or(""), 80),
        ]);
    }
    if let Some(h) = &audit.garage.health {
        let text = match h.status {
            Some(code) => format!("/health {code}: {}", h.message),
            None => h.message.clone(),
        };
        let usage: Vec<String> = audit
            .garage
            .buckets
            .iter()
            .map(|(b, u)| match &u.error {
                None => format!(
                    "{b} {} in {} objects",
                    bytes_or_dash(u.bytes),
                    u.objects.unwrap_or_default()
                ),
                Some(e) => format!("{b}: {e}"),
            })
            .collect();
        systems.add_row(vec![
            "garage".to_owned(),
            if h.up { "yes" } else { "NO" }.to_owned(),
            "-".to_owned(),
            "-".to_owned(),
            truncate(&format!("{text}; {}", usage.join(", ")), 80),
        ]);
    }
    let _ = writeln!(out, "{systems}");
    let failing = audit.rows.iter().filter(|r| r.status.is_failing()).count();
    if failing == 0 {
        let _ = writeln!(out, "All enabled rows are ok.");
    } else {
        let _ = writeln!(out, "{failing} row(s) need attention.");
    }
    out
}

fn truncate(s: &str, max: usize) -> String {
    let one_line = s.replace('\n', " ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let cut: String = one_line.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// The tool's name as the matrix spells it.
pub fn tool_name(tool: Tool) -> &'static str {
    match tool {
        Tool::Velero => "velero",
        Tool::Restic => "restic",
        Tool::Pbs => "pbs",
        _ => "other",
    }
}

/// Renders node_exporter textfile-collector metrics (with `prometheus-client`, as `/metrics`).
pub fn render_prometheus(audit: &Audit) -> String {
    crate::monitor::metrics::render_textfile(audit)
}

/// Writes a file atomically, so the textfile collector never reads half a file: a temp file in
/// the same directory created with mode 0666 less the process umask (0644 under the usual
/// umask 022, so node_exporter running as its own user can read it — tempfile's default 0600
/// would hide the metrics from it), written, fsynced, renamed over `path`, and the directory
/// fsynced so the rename survives a crash.
pub fn write_atomically(path: &std::path::Path, contents: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".backup-audit-")
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)
        .with_context(|| format!("creating a temp file in {}", dir.display()))?;
    tmp.write_all(contents.as_bytes())?;
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("syncing the temp file in {}", dir.display()))?;
    tmp.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))?;
    Ok(())
}

/// The JSON alert posted to a webhook for failing rows (Keep accepts arbitrary JSON).
pub fn webhook_payload(audit: &Audit) -> serde_json::Value {
    let alerts: Vec<serde_json::Value> = audit
        .rows
        .iter()
        .filter(|r| r.status.is_failing())
        .map(|r| {
            serde_json::json!({
                "name": format!("backup {} {}", r.report.target, r.status.as_str()),
                "status": "firing",
                "severity": if matches!(r.status, RowStatus::Policy(Status::Late)) { "warning" } else { "critical" },
                "target": r.report.target,
                "schedule": r.report.schedule,
                "tool": tool_name(r.report.tool),
                "verdict": r.status.as_str(),
                "lastGood": r.report.last_good.map(|t| t.to_string()),
                "description": r.error.clone().unwrap_or_else(|| r.report.detail.clone()),
            })
        })
        .collect();
    serde_json::json!({
        "source": "backup-audit",
        "checkedAt": audit.now.to_string(),
        "alerts": alerts,
    })
}

/// Posts the alert for failing rows; does nothing when none fail.
///
/// The URL may carry a token (Keep's webhook URLs do): it is never part of an error, and no
/// redirect is followed (a redirect would re-send the alert, and the URL's credentials, to
/// wherever it points); a 3xx answer is a failed delivery.
pub async fn post_webhook(url: &str, audit: &Audit) -> Result<()> {
    if !audit.is_failing() {
        return Ok(());
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .user_agent(concat!("backup-audit/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let url = reqwest::Url::parse(url).map_err(|e| anyhow!("the webhook URL is invalid ({e})"))?;
    let resp = client
        .post(url)
        .json(&webhook_payload(audit))
        .send()
        .await
        .map_err(reqwest::Error::without_url)
        .context("posting the webhook")?;
    let status = resp.status();
    if status.is_redirection() {
        return Err(anyhow!(
            "webhook answered {status}; redirects are not followed (configure the final URL)"
        ));
    }
    if !status.is_success() {
        return Err(anyhow!("webhook answered {status}"));
    }
    Ok(())
}

#[cfg(test)]
#[path = "audit_tests.rs"]
mod tests;
