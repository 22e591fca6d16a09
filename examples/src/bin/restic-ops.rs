//! `restic-ops PLAN`: the Backrest runbook for one restic plan of the config.
//!
//! * `snapshots` — the plan's snapshots;
//! * `backup` — back up now (the matrix's paths for the plan unless `--path`), with a progress bar;
//! * `restore SNAPSHOT --target DIR` — restore, with a progress bar;
//! * `forget` — dry-run preview: restic's own `forget --dry-run` answer next to backup-policy's
//!   restic engine applied to the matrix's retention for the plan (`--apply` then forgets);
//! * `unlock` — remove stale locks.
//!
//! Exit codes: 0 ok, 1 the operation failed or the two forget previews disagree — including an
//! incomplete backup (restic's exit 3: a snapshot was written but some source could not be
//! read) —, 2 bad config or arguments.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use backup_policy::matrix::{Matrix, Retention};
use backup_policy::restic::{GroupBy, Semantics, SnapshotTime};
use clap::{Parser, Subcommand};
use examples::cli::CommonArgs;
use examples::cli::{human_bytes, human_elapsed};
use examples::{clients, progress};
use futures::TryStreamExt as _;
use jiff::Timestamp;
use restic_remote::{
    BackupEvent, BackupOptions, KeepCount, Restic, RestoreEvent, RestoreOptions, SnapshotFilter,
    StatsMode, UnlockMode,
};
use serde_json::json;

/// Runbook operations on one restic plan.
#[derive(Debug, Parser)]
#[command(name = "restic-ops", version)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    /// Plan name: a `[restic.NAME]` of the config (and a target of the matrix).
    plan: String,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// List the plan's snapshots.
    Snapshots,
    /// Back up now, with a progress bar.
    Backup {
        /// Paths to back up (repeatable); default: the matrix target's `paths`.
        #[arg(long = "path")]
        paths: Vec<String>,
        /// Tags for the snapshot (repeatable).
        #[arg(long)]
        tag: Vec<String>,
    },
    /// Restore a snapshot (`latest` for the newest) into a directory, with a progress bar.
    Restore {
        /// Snapshot id or `latest`.
        snapshot: String,
        /// Directory to restore into (on the plan's host for SSH plans).
        #[arg(long)]
        target: String,
        /// Restore only these paths (repeatable).
        #[arg(long)]
        include: Vec<String>,
        /// Have restic re-read and verify the restored files.
        #[arg(long)]
        verify: bool,
    },
    /// Preview `forget` for the matrix's retention: restic's dry run next to backup-policy's.
    Forget {
        /// Really forget (no prune) after showing the preview. backup-policy's `keep_within`
        /// is evaluated as of `--now`.
        #[arg(long)]
        apply: bool,
    },
    /// Remove stale locks.
    Unlock {
        /// Also remove locks that are not stale.
        #[arg(long)]
        remove_all: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    examples::cli::exit_with("restic-ops", cli.common.verbose, || run(&cli))
}

fn run(cli: &Cli) -> Result<bool> {
    let config = cli.common.load_config()?;
    let plan = config
        .restic
        .get(&cli.plan)
        .ok_or_else(|| {
            anyhow!(
                "plan {:?} is not in the config (plans: {})",
                cli.plan,
                config.restic.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })?
        .clone();
    let matrix = examples::cli::load_matrix(&config, None)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let secrets = clients::resolve_secrets(&config).await?;
        let restic = clients::restic(&config, &secrets, &plan).await?;
        match &cli.command {
            Cmd::Snapshots => snapshots(cli, &restic, &matrix).await,
            Cmd::Backup { paths, tag } => backup(cli, &restic, &matrix, paths, tag).await,
            Cmd::Restore {
                snapshot,
                target,
                include,
                verify,
            } => restore(cli, &restic, snapshot, target, include, *verify).await,
            Cmd::Forget { apply } => forget(cli, &restic, &matrix, *apply, cli.common.now()).await,
            Cmd::Unlock { remove_all } => {
                let mode = if *remove_all {
                    UnlockMode::All
                } else {
                    UnlockMode::StaleOnly
                };
                let removed = restic.unlock(mode).await?;
                if cli.common.json {
                    println!("{}", json!({ "plan": cli.plan, "removed": removed }));
                } else {
                    match removed {
                        Some(n) => println!("{}: removed {n} stale lock(s)", cli.plan),
                        None => println!("{}: removed locks", cli.plan),
                    }
                }
                Ok(true)
            }
        }
    })
}

fn short(id: Option<&String>) -> String {
    id.map(|s| s.chars().take(8).collect())
        .unwrap_or_else(|| "?".to_owned())
}

async fn snapshots(cli: &Cli, restic: &Restic, matrix: &Matrix) -> Result<bool> {
    let mut snaps = restic.snapshots(&SnapshotFilter::new()).await?;
    snaps.sort_by_key(|s| s.time);
    if cli.common.json {
        let v: Vec<_> = snaps
            .iter()
            .map(|s| {
                json!({
                    "id": s.id, "short_id": s.short_id, "time": s.time.to_string(),
                    "hostname": s.hostname, "paths": s.paths, "tags": s.tags,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(true);
    }
    let tz = matrix.tz();
    let mut table = examples::cli::table();
    table.set_header(["id", "time", "host", "paths", "tags"]);
    for s in &snaps {
        table.add_row([
            short(s.id.as_ref().or(s.short_id.as_ref())),
            s.time
                .to_zoned(tz.clone())
                .strftime("%Y-%m-%d %H:%M:%S %Z")
                .to_string(),
            s.hostname.clone().unwrap_or_default(),
            s.paths.join(", "),
            s.tags.join(", "),
        ]);
    }
    println!("{table}");
    println!("{} snapshot(s) in plan {}", snaps.len(), cli.plan);
    Ok(true)
}

async fn backup(
    cli: &Cli,
    restic: &Restic,
    matrix: &Matrix,
    paths: &[String],
    tags: &[String],
) -> Result<bool> {
    let paths: Vec<String> = if paths.is_empty() {
        matrix
            .target(&cli.plan)
            .map(|t| t.paths.clone())
            .unwrap_or_default()
    } else {
        paths.to_vec()
    };
    if paths.is_empty() {
        bail!(
            "no paths: give --path or list `paths` for target {} in the matrix",
            cli.plan
        );
    }
    let mut opts = BackupOptions::new(paths);
    for t in tags {
        opts = opts.with_tag(t.clone());
    }
    let bar = progress::bytes_bar("backup", progress::is_interactive());
    let mut run = restic.backup(&opts).await?;
    let mut warnings = Vec::new();
    {
        let mut events = run.events();
        while let Some(event) = events.try_next().await? {
            match event {
                BackupEvent::Status(s) => {
                    bar.set_length(s.total_bytes.max(s.bytes_done));
                    bar.set_position(s.bytes_done);
                }
                BackupEvent::Summary(s) => {
                    bar.set_length(s.total_bytes_processed);
                    bar.set_position(s.total_bytes_processed);
                }
                BackupEvent::Error(e) => warnings.push(format!("{}: {}", e.item, e.error.message)),
                _ => {}
            }
        }
    }
    let result = run.finish().await;
    bar.finish();
    // restic's exit 3: the snapshot exists, but some source data could not be read. Report
    // what was saved and fail the operation (exit 1), like restic itself.
    let (summary, complete) = match result {
        Ok(summary) => (summary, true),
        Err(restic_remote::Error::IncompleteBackup { summary, errors }) => {
            for e in errors {
                if !warnings.contains(&e) {
                    warnings.push(e);
                }
            }
            match summary {
                Some(s) => (*s, false),
                None => bail!(
                    "backup incomplete and restic printed no summary: {}",
                    warnings.join("; ")
                ),
            }
        }
        Err(e) => return Err(e.into()),
    };
    if cli.common.json {
        println!(
            "{}",
            json!({
                "plan": cli.plan,
                "snapshot_id": summary.snapshot_id,
                "files_new": summary.files_new,
                "files_changed": summary.files_changed,
                "files_unmodified": summary.files_unmodified,
                "total_files_processed": summary.total_files_processed,
                "total_bytes_processed": summary.total_bytes_processed,
                "data_added": summary.data_added,
                "total_duration": summary.total_duration,
                "warnings": warnings,
                "complete": complete,
            })
        );
    } else {
        let mut table = examples::cli::table();
        table.set_header([
            "snapshot",
            "files new",
            "changed",
            "unmodified",
            "processed",
            "added",
            "seconds",
        ]);
        table.add_row([
            short(summary.snapshot_id.as_ref()),
            summary.files_new.to_string(),
            summary.files_changed.to_string(),
            summary.files_unmodified.to_string(),
            human_bytes(summary.total_bytes_processed),
            human_bytes(summary.data_added),
            format!("{:.1}", summary.total_duration),
        ]);
        println!("{table}");
        for w in &warnings {
            println!("warning: {w}");
        }
    }
    if !complete {
        eprintln!(
            "restic-ops: backup incomplete: snapshot {} was saved, but some source data could not be read:",
            short(summary.snapshot_id.as_ref())
        );
        for w in &warnings {
            eprintln!("  {w}");
        }
    }
    Ok(complete)
}

async fn restore(
    cli: &Cli,
    restic: &Restic,
    snapshot: &str,
    target: &str,
    include: &[String],
    verify: bool,
) -> Result<bool> {
    // The size to expect, for the bar (restic < 0.16 reports no restore progress).
    let total = restic
        .stats(&[snapshot.to_owned()], StatsMode::RestoreSize)
        .await
        .map(|s| s.total_size)
        .unwrap_or(0);
    let mut opts = RestoreOptions::new(snapshot, target);
    opts.verify = verify;
    for p in include {
        opts = opts.with_include(p.clone());
    }
    let bar = progress::bytes_bar("restore", progress::is_interactive());
    bar.set_length(total);
    let started = std::time::Instant::now();
    let mut run = restic.restore(&opts).await?;
    {
        let mut events = run.events();
        while let Some(event) = events.try_next().await? {
            if let RestoreEvent::Status(p) | RestoreEvent::Summary(p) = event {
                bar.set_length(p.total_bytes.max(total));
                bar.set_position(p.bytes_restored);
            }
        }
    }
    let result = run.finish().await;
    if result.is_ok() {
        bar.set_position(bar.length().unwrap_or(total));
    }
    bar.finish();
    let summary = result?;
    let elapsed = started.elapsed();
    let (files, bytes) = summary
        .map(|s| (Some(s.files_restored), s.bytes_restored))
        .unwrap_or((None, total));
    if cli.common.json {
        println!(
            "{}",
            json!({
                "plan": cli.plan, "snapshot": snapshot, "target": target,
                "files_restored": files, "bytes": bytes, "seconds": elapsed.as_secs_f64(),
            })
        );
    } else {
        println!(
            "restored {snapshot} of {} into {target}: {} in {}",
            cli.plan,
            human_bytes(bytes),
            human_elapsed(elapsed)
        );
    }
    Ok(true)
}

fn keep_count(n: Option<i32>) -> Option<KeepCount> {
    match n {
        Some(n) if n < 0 => Some(KeepCount::Unlimited),
        Some(n) if n > 0 => u32::try_from(n).ok().map(KeepCount::N),
        _ => None,
    }
}

/// restic's forget options for a matrix retention.
fn restic_forget_options(r: &Retention, dry_run: bool) -> restic_remote::ForgetOptions {
    let mut o = restic_remote::ForgetOptions::new();
    o.dry_run = dry_run;
    o.keep_last = keep_count(r.keep_last);
    o.keep_hourly = keep_count(r.keep_hourly);
    o.keep_daily = keep_count(r.keep_daily);
    o.keep_weekly = keep_count(r.keep_weekly);
    o.keep_monthly = keep_count(r.keep_monthly);
    o.keep_yearly = keep_count(r.keep_yearly);
    o.keep_within = r.keep_within.clone();
    o
}

async fn forget(
    cli: &Cli,
    restic: &Restic,
    matrix: &Matrix,
    apply: bool,
    now: Timestamp,
) -> Result<bool> {
    let target = matrix
        .target(&cli.plan)
        .ok_or_else(|| anyhow!("plan {} is not a target of the matrix", cli.plan))?;
    let schedule = target
        .schedule
        .iter()
        .find(|s| s.retention != Retention::default())
        .ok_or_else(|| anyhow!("target {} has no retention in the matrix", cli.plan))?;
    let retention = &schedule.retention;
    let version = restic.version().await?;
    let semantics = if version.at_least(0, 16, 0) {
        Semantics::Current
    } else {
        Semantics::Restic014
    };
    // restic's own answer.
    let groups = restic
        .forget(&restic_forget_options(retention, true))
        .await?;
    let mut restic_says: BTreeMap<String, bool> = BTreeMap::new();
    for g in &groups {
        for s in &g.keep {
            if let Some(id) = &s.id {
                restic_says.insert(id.clone(), true);
            }
        }
        for s in &g.remove {
            if let Some(id) = &s.id {
                restic_says.insert(id.clone(), false);
            }
        }
    }
    // backup-policy's answer from the same snapshot list.
    let snaps = restic.snapshots(&SnapshotFilter::new()).await?;
    let tz = matrix.tz();
    let local: Vec<backup_policy::restic::Snapshot> = snaps
        .iter()
        .map(|s| {
            backup_policy::restic::Snapshot::new(
                s.id.clone().unwrap_or_default(),
                SnapshotTime::new(s.time, tz.to_offset(s.time)),
            )
            .with_hostname(s.hostname.clone().unwrap_or_default())
            .with_paths(s.paths.clone())
            .with_tags(s.tags.clone())
        })
        .collect();
    let policy = retention.forget_policy()?;
    let opts = backup_policy::restic::ForgetOptions::new(now)
        .with_semantics(semantics)
        .with_local_tz(tz.clone());
    let mut policy_says: BTreeMap<String, (bool, Vec<String>)> = BTreeMap::new();
    let plans = backup_policy::restic::forget(&local, GroupBy::default(), &policy, &opts)?;
    for g in &plans {
        for &i in &g.plan.keep {
            let reasons = g
                .plan
                .reasons
                .iter()
                .find(|r| r.index == i)
                .map(|r| r.matches.iter().map(ToString::to_string).collect())
                .unwrap_or_default();
            if let Some(s) = local.get(i) {
                policy_says.insert(s.id.clone(), (true, reasons));
            }
        }
        for &i in &g.plan.remove {
            if let Some(s) = local.get(i) {
                policy_says.insert(s.id.clone(), (false, Vec::new()));
            }
        }
    }
    let mut ordered: Vec<_> = snaps.iter().collect();
    ordered.sort_by_key(|s| std::cmp::Reverse(s.time));
    let verdict = |k: Option<bool>| match k {
        Some(true) => "keep",
        Some(false) => "remove",
        None => "-",
    };
    let mut agree = true;
    let mut rows = Vec::new();
    for s in ordered {
        let id = s.id.clone().unwrap_or_default();
        let r = restic_says.get(&id).copied();
        let (p, reasons) = policy_says
            .get(&id)
            .map(|(k, r)| (Some(*k), r.clone()))
            .unwrap_or((None, Vec::new()));
        let same = r == p;
        agree &= same;
        rows.push((s, r, p, reasons, same));
    }
    if cli.common.json {
        let v: Vec<_> = rows
            .iter()
            .map(|(s, r, p, reasons, same)| {
                json!({
                    "id": s.id, "time": s.time.to_string(), "hostname": s.hostname,
                    "restic": verdict(*r), "backup_policy": verdict(*p),
                    "reasons": reasons, "agree": same,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "plan": cli.plan, "retention": retention.to_string(),
                "restic_version": version.to_string(), "agree": agree, "snapshots": v,
                "applied": apply && agree,
            }))?
        );
    } else {
        println!(
            "forget preview for {} (retention: {retention}; restic {version})",
            cli.plan
        );
        let mut table = examples::cli::table();
        table.set_header([
            "id",
            "time",
            "host",
            "restic --dry-run",
            "backup-policy",
            "reasons",
            "",
        ]);
        for (s, r, p, reasons, same) in &rows {
            table.add_row([
                short(s.id.as_ref()),
                s.time
                    .to_zoned(tz.clone())
                    .strftime("%Y-%m-%d %H:%M %Z")
                    .to_string(),
                s.hostname.clone().unwrap_or_default(),
                verdict(*r).to_owned(),
                verdict(*p).to_owned(),
                reasons.join(", "),
                if *same { "" } else { "DIFFERS" }.to_owned(),
            ]);
        }
        println!("{table}");
        let keep = rows.iter().filter(|r| r.1 == Some(true)).count();
        println!(
            "{keep} kept, {} removed; restic and backup-policy {}",
            rows.len() - keep,
            if agree { "agree" } else { "DISAGREE" }
        );
    }
    if apply {
        if !agree {
            bail!("not forgetting: restic's and backup-policy's previews disagree");
        }
        let done = restic
            .forget(&restic_forget_options(retention, false))
            .await?;
        let removed: usize = done.iter().map(|g| g.remove.len()).sum();
        if !cli.common.json {
            println!("forgot {removed} snapshot(s) (run prune to free space)");
        }
    }
    Ok(agree)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_retention_maps_onto_restic_flags() {
        let matrix = Matrix::homelab().unwrap();
        let iac = matrix.target("iac-daily").unwrap();
        let o = restic_forget_options(&iac.schedule[0].retention, true);
        assert_eq!(o.keep_daily, Some(KeepCount::N(14)));
        assert_eq!(o.keep_weekly, Some(KeepCount::N(4)));
        assert_eq!(o.keep_last, None);
        assert!(o.dry_run);
        assert_eq!(keep_count(Some(-1)), Some(KeepCount::Unlimited));
        assert_eq!(keep_count(Some(0)), None);
        assert_eq!(keep_count(None), None);
    }
}
