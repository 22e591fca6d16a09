//! `pbs-ops`: the Proxmox Backup Server runbook.
//!
//! * `datastores` — every datastore with its usage;
//! * `snapshots [--vm ID]` — VM snapshots in the configured datastore;
//! * `prune --vm ID` — PBS's own prune dry run next to backup-policy's simulation of the
//!   matrix's retention for that VM;
//! * `verify [--vm ID]`, `gc` — start the task and follow its log;
//! * `task follow UPID` — follow any task's log until it ends.
//!
//! Exit codes: 0 ok, 1 a task failed or the two prune answers disagree, 2 bad config or an API
//! error.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use backup_policy::matrix::{Matrix, Tool};
use backup_policy::pbs::{PruneSnapshot, prune};
use clap::{Parser, Subcommand};
use examples::cli::CommonArgs;
use examples::cli::bytes_or_dash;
use examples::{clients, progress};
use jiff::Timestamp;
use pbs_client::{
    BackupType, Client, GroupRef, KeepOptions, PruneMode, SnapshotFilter, Upid, VerifyOptions,
};
use serde_json::json;

/// Proxmox Backup Server datastores, snapshots, prune, verify, gc and tasks.
#[derive(Debug, Parser)]
#[command(name = "pbs-ops", version)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Datastores with usage.
    Datastores,
    /// Snapshots in the configured datastore.
    Snapshots {
        /// Only this VM's group.
        #[arg(long)]
        vm: Option<String>,
    },
    /// Prune dry run for one VM: PBS's answer next to backup-policy's simulation.
    Prune {
        /// VM id.
        #[arg(long)]
        vm: String,
    },
    /// Verify the datastore (or one VM's group) and follow the task.
    Verify {
        /// Only this VM's group.
        #[arg(long)]
        vm: Option<String>,
    },
    /// Start garbage collection and follow the task.
    Gc,
    /// Tasks.
    #[command(subcommand)]
    Task(TaskCmd),
}

#[derive(Debug, Subcommand)]
enum TaskCmd {
    /// Follow a task's log until it ends.
    Follow {
        /// The task's UPID.
        upid: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    examples::cli::exit_with("pbs-ops", cli.common.verbose, || run(&cli))
}

fn run(cli: &Cli) -> Result<bool> {
    let config = cli.common.load_config()?;
    let pbs_config = config
        .pbs
        .clone()
        .ok_or_else(|| anyhow!("[pbs] is not configured"))?;
    let store = pbs_config.datastore.clone();
    let ns = pbs_config.namespace;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let secrets = clients::resolve_secrets(&config).await?;
        let client = clients::pbs(&config, &secrets)?;
        let group = |vm: &str| {
            let g = GroupRef::new(BackupType::Vm, vm);
            match &ns {
                Some(n) => g.with_ns(n.clone()),
                None => g,
            }
        };
        match &cli.command {
            Cmd::Datastores => datastores(cli, &client).await,
            Cmd::Snapshots { vm } => {
                let mut filter = SnapshotFilter::new();
                if let Some(n) = &ns {
                    filter = filter.with_ns(n.clone());
                }
                if let Some(vm) = vm {
                    filter = filter.with_group(BackupType::Vm, vm.clone());
                }
                snapshots(cli, &client, &store, &filter).await
            }
            Cmd::Prune { vm } => {
                let matrix = examples::cli::load_matrix(&config, None)?;
                prune_preview(cli, &client, &store, &group(vm), vm, &matrix).await
            }
            Cmd::Verify { vm } => {
                let mut opts = VerifyOptions::new();
                if let Some(vm) = vm {
                    opts = opts.with_group(&group(vm));
                }
                let upid = client.datastore(&store).verify(&opts).await?;
                follow(cli, &client, &upid).await
            }
            Cmd::Gc => {
                let upid = client.datastore(&store).start_gc().await?;
                follow(cli, &client, &upid).await
            }
            Cmd::Task(TaskCmd::Follow { upid }) => {
                let upid: Upid = upid
                    .parse()
                    .map_err(|e| anyhow!("invalid UPID {upid:?}: {e}"))?;
                follow(cli, &client, &upid).await
            }
        }
    })
}

fn when(epoch: i64) -> String {
    Timestamp::from_second(epoch).map_or_else(|_| epoch.to_string(), |t| t.to_string())
}

async fn datastores(cli: &Cli, client: &Client) -> Result<bool> {
    let usage = client.datastore_usage().await?;
    if cli.common.json {
        println!("{}", serde_json::to_string_pretty(&usage)?);
        return Ok(true);
    }
    let mut table = examples::cli::table();
    table.set_header([
        "datastore",
        "used",
        "total",
        "available",
        "used %",
        "estimated full",
        "error",
    ]);
    for u in &usage {
        let pct = match (u.used, u.total) {
            (Some(used), Some(total)) if total > 0 => {
                format!("{:.1}%", 100.0 * used as f64 / total as f64)
            }
            _ => "-".to_owned(),
        };
        let full = match u.estimated_full_date {
            Some(t) if t > 0 => when(t),
            Some(0) => "never".to_owned(),
            _ => "-".to_owned(),
        };
        table.add_row([
            u.store.clone(),
            bytes_or_dash(u.used),
            bytes_or_dash(u.total),
            bytes_or_dash(u.avail),
            pct,
            full,
            u.error.clone().unwrap_or_default(),
        ]);
    }
    println!("{table}");
    Ok(true)
}

async fn snapshots(
    cli: &Cli,
    client: &Client,
    store: &str,
    filter: &SnapshotFilter,
) -> Result<bool> {
    let mut snaps = client.datastore(store).snapshots(filter).await?;
    snaps.sort_by(|a, b| (&a.backup_id, b.backup_time).cmp(&(&b.backup_id, a.backup_time)));
    if cli.common.json {
        println!("{}", serde_json::to_string_pretty(&snaps)?);
        return Ok(true);
    }
    let mut table = examples::cli::table();
    table.set_header(["group", "time", "size", "verified", "protected", "comment"]);
    for s in &snaps {
        table.add_row([
            format!("{}/{}", s.backup_type, s.backup_id),
            when(s.backup_time),
            bytes_or_dash(s.size),
            s.verification
                .as_ref()
                .map_or_else(|| "-".to_owned(), |v| v.state.to_string()),
            if s.protected { "yes" } else { "" }.to_owned(),
            s.comment.clone().unwrap_or_default(),
        ]);
    }
    println!("{table}");
    println!("{} snapshot(s) in {store}", snaps.len());
    Ok(true)
}

async fn prune_preview(
    cli: &Cli,
    client: &Client,
    store: &str,
    group: &GroupRef,
    vm: &str,
    matrix: &Matrix,
) -> Result<bool> {
    let target = matrix
        .target
        .iter()
        .find(|t| t.tool == Tool::Pbs && t.id.map(|i| i.to_string()).as_deref() == Some(vm))
        .ok_or_else(|| anyhow!("no PBS target for VM {vm} in the matrix"))?;
    let retention = target
        .schedule
        .iter()
        .map(|s| &s.retention)
        .find(|r| r.prune_options().is_ok_and(|o| o.keeps_something()))
        .ok_or_else(|| anyhow!("target {} has no PBS retention", target.name))?;
    let opts = retention.prune_options()?;
    let mut keep = KeepOptions::new();
    keep.keep_last = opts.keep_last;
    keep.keep_hourly = opts.keep_hourly;
    keep.keep_daily = opts.keep_daily;
    keep.keep_weekly = opts.keep_weekly;
    keep.keep_monthly = opts.keep_monthly;
    keep.keep_yearly = opts.keep_yearly;
    let server = client
        .datastore(store)
        .prune_group(group, &keep, PruneMode::DryRun)
        .await?;
    let list: Vec<PruneSnapshot> = server
        .iter()
        .map(|r| {
            PruneSnapshot::new(
                Timestamp::from_second(r.backup_time).unwrap_or(Timestamp::UNIX_EPOCH),
            )
            .with_protected(r.protected)
        })
        .collect();
    let local = prune(&list, &opts, &matrix.tz());
    let mut rows: Vec<_> = server
        .iter()
        .zip(local.iter())
        .map(|(s, l)| {
            (
                s.backup_time,
                s.keep,
                l.keep(),
                l.reason.unwrap_or(""),
                s.protected,
            )
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.0));
    let agree = rows.iter().all(|r| r.1 == r.2) && server.len() == local.len();
    let word = |k: bool| if k { "keep" } else { "remove" };
    if cli.common.json {
        let v: Vec<_> = rows
            .iter()
            .map(|r| {
                json!({"backup_time": r.0, "time": when(r.0), "pbs": word(r.1),
                            "backup_policy": word(r.2), "reason": r.3, "protected": r.4,
                            "agree": r.1 == r.2})
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "vm": vm, "target": target.name, "retention": retention.to_string(),
                "agree": agree, "snapshots": v,
            }))?
        );
    } else {
        println!(
            "prune dry run for vm/{vm} ({}; retention: {retention})",
            target.name
        );
        let mut table = examples::cli::table();
        table.set_header(["time", "PBS dry run", "backup-policy", "reason", ""]);
        for r in &rows {
            table.add_row([
                when(r.0),
                word(r.1).to_owned(),
                word(r.2).to_owned(),
                if r.4 {
                    format!("{} (protected)", r.3)
                } else {
                    r.3.to_owned()
                },
                if r.1 == r.2 { "" } else { "DIFFERS" }.to_owned(),
            ]);
        }
        println!("{table}");
        let kept = rows.iter().filter(|r| r.1).count();
        println!(
            "{kept} kept, {} removed; PBS and backup-policy {}",
            rows.len() - kept,
            if agree { "agree" } else { "DISAGREE" }
        );
    }
    Ok(agree)
}

async fn follow(cli: &Cli, client: &Client, upid: &Upid) -> Result<bool> {
    let spinner = progress::spinner(
        &format!("task {}", upid.worker_type),
        progress::is_interactive(),
    );
    let mut start = 0u64;
    let mut lines_out = Vec::new();
    let status = loop {
        let status = client.task_status(upid).await?;
        // Read the log after the status so a stopped task's log is complete.
        loop {
            let log = client.task_log(upid, start, 500).await?;
            if log.lines.is_empty() {
                break;
            }
            // `start` is the 1-based number of the first line PBS returns (0 and 1 both mean the
            // first), so continue after the last line read rather than by the count read.
            start = log.lines.last().map_or(start, |l| l.n + 1);
            for l in log.lines {
                if cli.common.json {
                    lines_out.push(l.t);
                } else {
                    spinner.suspend(|| println!("{}", l.t));
                }
            }
        }
        if !status.is_running() {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    spinner.finish_and_clear();
    let exit = status
        .exitstatus
        .as_ref()
        .map_or_else(|| "unknown".to_owned(), |s| s.to_string());
    let ok = status.exitstatus.as_ref().is_some_and(|s| s.is_success());
    if cli.common.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "upid": upid.to_string(), "exitstatus": exit, "ok": ok, "log": lines_out,
            }))?
        );
    } else {
        println!("task {upid}: {exit}");
    }
    Ok(ok)
}
