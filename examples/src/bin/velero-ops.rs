//! `velero-ops --context C`: the seed's Kubernetes PVC recovery procedure.
//!
//! * `backups [NAME]` — `velero backup get`;
//! * `describe NAME` — `velero backup describe --details`;
//! * `logs NAME` — `velero backup logs`;
//! * `restore create --from-backup B [--include-namespaces ..] [--include-resources ..] [--wait]`;
//! * `restore wait NAME` — wait for a restore with a progress bar (items restored).
//!
//! `--context` is a kube context, or a Velero target of the matrix (mapped to its context by the
//! config). Exit codes: 0 ok, 1 the restore did not complete, 2 bad config or an API error.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use examples::cli::CommonArgs;
use examples::{clients, progress};
use futures::TryStreamExt;
use serde_json::json;
use velero_client::{Backup, ListOptions, RestoreOptions, RestorePhase, VeleroClient};

/// Velero backups and restores in one kube context.
#[derive(Debug, Parser)]
#[command(name = "velero-ops", version)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    /// Kube context (e.g. `prod`) or matrix target (e.g. `velero-prod`).
    #[arg(long)]
    context: String,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// List backups, or show one.
    Backups {
        /// Only this backup.
        name: Option<String>,
    },
    /// Describe a backup with its errors and warnings.
    Describe {
        /// Backup name.
        name: String,
    },
    /// Print a backup's log.
    Logs {
        /// Backup name.
        name: String,
    },
    /// Restores.
    #[command(subcommand)]
    Restore(RestoreCmd),
}

#[derive(Debug, Subcommand)]
enum RestoreCmd {
    /// Create a restore from a backup.
    Create {
        /// The backup to restore.
        #[arg(long)]
        from_backup: String,
        /// Restore name (default: `<backup>-<timestamp>`).
        #[arg(long)]
        name: Option<String>,
        /// Namespaces to include (comma-separated or repeated).
        #[arg(long, value_delimiter = ',')]
        include_namespaces: Vec<String>,
        /// Resources to include (comma-separated or repeated), e.g. `persistentvolumeclaims,persistentvolumes`.
        #[arg(long, value_delimiter = ',')]
        include_resources: Vec<String>,
        /// Wait for the restore to finish, with progress.
        #[arg(long)]
        wait: bool,
        /// Wait at most this many seconds.
        #[arg(long, default_value_t = 3600)]
        timeout: u64,
    },
    /// Wait for a restore to finish, with progress.
    Wait {
        /// Restore name.
        name: String,
        /// Wait at most this many seconds.
        #[arg(long, default_value_t = 3600)]
        timeout: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    examples::cli::exit_with("velero-ops", cli.common.verbose, || run(&cli))
}

fn run(cli: &Cli) -> Result<bool> {
    let config = cli.common.load_config()?;
    let matrix = examples::cli::load_matrix(&config, None)?;
    let context = clients::velero_contexts(&config, &matrix)
        .remove(&cli.context)
        .unwrap_or_else(|| cli.context.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let client = &clients::velero(&config, &context).await?;
        match &cli.command {
            Cmd::Backups { name } => backups(cli, client, name.as_deref()).await,
            Cmd::Describe { name } => describe(cli, client, name).await,
            Cmd::Logs { name } => {
                let mut lines = client.backup_logs(name).await?;
                while let Some(line) = lines.try_next().await? {
                    println!("{line}");
                }
                Ok(true)
            }
            Cmd::Restore(RestoreCmd::Create {
                from_backup,
                name,
                include_namespaces,
                include_resources,
                wait,
                timeout,
            }) => {
                let mut opts = RestoreOptions::from_backup(from_backup.clone())
                    .include_namespaces(include_namespaces.clone())
                    .include_resources(include_resources.clone());
                if let Some(n) = name {
                    opts = opts.with_name(n.clone());
                }
                let restore = client.create_restore(&opts).await?;
                let rname = restore.metadata.name.clone().unwrap_or_default();
                if !cli.common.json || !*wait {
                    if cli.common.json {
                        println!("{}", json!({ "restore": rname, "backup": from_backup }));
                    } else {
                        println!(
                            "Restore request {rname:?} submitted from backup {from_backup:?}."
                        );
                    }
                }
                if *wait {
                    wait_restore(cli, client, &rname, Duration::from_secs(*timeout)).await
                } else {
                    Ok(true)
                }
            }
            Cmd::Restore(RestoreCmd::Wait { name, timeout }) => {
                wait_restore(cli, client, name, Duration::from_secs(*timeout)).await
            }
        }
    })
}

fn ts(t: Option<jiff::Timestamp>) -> String {
    t.map(|t| t.to_string()).unwrap_or_else(|| "-".to_owned())
}

fn backup_row(b: &Backup) -> [String; 7] {
    [
        b.metadata.name.clone().unwrap_or_default(),
        b.phase().to_string(),
        b.errors().to_string(),
        b.warnings().to_string(),
        ts(b.started().or(b.created())),
        ts(b.expires()),
        b.schedule_name().unwrap_or("-").to_owned(),
    ]
}

async fn backups(cli: &Cli, client: &VeleroClient, name: Option<&str>) -> Result<bool> {
    let mut list = match name {
        Some(n) => vec![client.get_backup(n).await?],
        None => client.list_backups(&ListOptions::default()).await?,
    };
    list.sort_by_key(|b| std::cmp::Reverse(b.started().or(b.created())));
    if cli.common.json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(true);
    }
    let mut table = examples::cli::table();
    table.set_header([
        "name", "status", "errors", "warnings", "started", "expires", "schedule",
    ]);
    for b in &list {
        table.add_row(backup_row(b));
    }
    println!("{table}");
    Ok(true)
}

async fn describe(cli: &Cli, client: &VeleroClient, name: &str) -> Result<bool> {
    let d = client.describe_backup(name).await?;
    let b = &d.backup;
    let spec = &b.spec;
    let list = |v: &Option<Vec<String>>| {
        v.as_ref()
            .filter(|v| !v.is_empty())
            .map(|v| v.join(", "))
            .unwrap_or_else(|| "*".to_owned())
    };
    let (total, done) = d
        .progress
        .as_ref()
        .map(|p| (p.total_items.unwrap_or(0), p.items_backed_up.unwrap_or(0)))
        .unwrap_or((0, 0));
    let messages = |pick: fn(&velero_client::BackupResults) -> &velero_client::ResultMessages| {
        let mut out = Vec::new();
        if let Some(r) = &d.results {
            let m = pick(r);
            out.extend(m.velero.iter().map(|s| format!("velero: {s}")));
            out.extend(m.cluster.iter().map(|s| format!("cluster: {s}")));
            for (ns, msgs) in &m.namespaces {
                out.extend(msgs.iter().map(|s| format!("{ns}: {s}")));
            }
        }
        out
    };
    let errors = messages(|r| &r.errors);
    let warnings = messages(|r| &r.warnings);
    if cli.common.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "name": name, "phase": d.phase.to_string(), "errors": d.errors,
                "warnings": d.warnings, "items_total": total, "items_backed_up": done,
                "expiration": d.expiration.map(|t| t.to_string()),
                "validation_errors": d.validation_errors,
                "error_messages": errors, "warning_messages": warnings,
                "pod_volume_backups": d.pod_volume_backups.len(),
                "backup": b,
            }))?
        );
        return Ok(true);
    }
    let mut table = examples::cli::table();
    table.set_header(["field", "value"]);
    for (k, v) in [
        ("Name", name.to_owned()),
        ("Phase", d.phase.to_string()),
        ("Errors", d.errors.to_string()),
        ("Warnings", d.warnings.to_string()),
        ("Namespaces included", list(&spec.included_namespaces)),
        ("Namespaces excluded", list(&spec.excluded_namespaces)),
        ("Resources included", list(&spec.included_resources)),
        ("Started", ts(b.started())),
        ("Completed", ts(b.completed())),
        ("Expiration", ts(d.expiration)),
        ("Items backed up", format!("{done} of {total}")),
        ("Pod volume backups", d.pod_volume_backups.len().to_string()),
    ] {
        table.add_row([k.to_owned(), v]);
    }
    println!("{table}");
    for e in &d.validation_errors {
        println!("validation error: {e}");
    }
    for e in &errors {
        println!("error: {e}");
    }
    for w in &warnings {
        println!("warning: {w}");
    }
    if let Some(e) = &d.results_error {
        println!("(results unavailable: {e})");
    }
    Ok(true)
}

async fn wait_restore(
    cli: &Cli,
    client: &VeleroClient,
    name: &str,
    timeout: Duration,
) -> Result<bool> {
    let bar = progress::items_bar("restore", progress::is_interactive());
    let started = Instant::now();
    let restore = loop {
        let r = client.get_restore(name).await?;
        let p = r.status.as_ref().and_then(|s| s.progress.as_ref());
        if let Some(p) = p {
            let total = p.total_items.unwrap_or(0).max(0).unsigned_abs();
            let done = p.items_restored.unwrap_or(0).max(0).unsigned_abs();
            bar.set_length(total.max(done));
            bar.set_position(done);
        }
        if r.phase().is_terminal() {
            break r;
        }
        if started.elapsed() >= timeout {
            bar.abandon();
            bail!(
                "restore {name} still {} after {}s",
                r.phase(),
                timeout.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    bar.finish();
    let phase = restore.phase();
    let status = restore.status.as_ref();
    let restored = status
        .and_then(|s| s.progress.as_ref())
        .and_then(|p| p.items_restored)
        .unwrap_or(0);
    let failure = status.and_then(|s| s.failure_reason.clone());
    let validation = status
        .and_then(|s| s.validation_errors.clone())
        .unwrap_or_default();
    if cli.common.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "restore": name, "phase": phase.to_string(), "items_restored": restored,
                "errors": restore.errors(), "warnings": restore.warnings(),
                "failure_reason": failure, "validation_errors": validation,
                "seconds": started.elapsed().as_secs_f64(),
            }))?
        );
    } else {
        println!(
            "Restore {name}: {phase} ({restored} items restored, {} errors, {} warnings)",
            restore.errors(),
            restore.warnings()
        );
        if let Some(f) = failure {
            println!("failure: {f}");
        }
        for v in validation {
            println!("validation error: {v}");
        }
    }
    if phase != RestorePhase::Completed {
        return Ok(false);
    }
    Ok(true)
}
