//! `backup-audit check`: the live audit of every matrix row across Velero, restic, PBS and Garage.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use backup_policy::compliance::Observation;
use backup_policy::contention::Durations;
use backup_policy::matrix::{Matrix, Tool};
use examples::cli::CommonArgs;
use examples::{audit, clients};

/// Arguments of `backup-audit check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The shared flags; `--config` is required.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Matrix file; default: the config's `matrix`, else the embedded seed matrix.
    #[arg(long, env = "BACKUP_MATRIX", value_name = "FILE")]
    pub matrix: Option<PathBuf>,
    /// Also write node_exporter textfile-collector metrics to this file (atomically).
    #[arg(long, value_name = "FILE")]
    pub prometheus: Option<PathBuf>,
    /// Also write the run durations the check observed (Velero start → completion, restic
    /// summary start → end) to this file, in the format `backup-audit plan --observed` reads, so
    /// the plan's contention lint uses them instead of assumptions.
    #[arg(long, value_name = "FILE")]
    pub durations_out: Option<PathBuf>,
    /// Per-system timeout in seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
}

/// The environment variable naming the alert webhook (overrides the config's
/// `alerts.webhook`). The URL may carry a token, so it is never taken from the command line
/// (where `ps` shows it) and never printed.
pub const WEBHOOK_ENV: &str = "BACKUP_AUDIT_WEBHOOK";

/// What the audit found, for the exit code.
enum Verdict {
    Ok,
    Failing,
    /// Rows failed and the alert webhook could not be told.
    AlertUndelivered,
}

/// Exit codes: 0 every enabled row ok, 1 some row late/failed/missing/unreachable, 2 the audit
/// itself could not run (bad config, unreadable matrix), 3 rows failed **and** the alert
/// webhook could not be delivered (connection error, non-2xx answer, or a redirect, which is
/// never followed) — the alert is lost, so this outranks 1.
pub fn run(args: &CheckArgs) -> ExitCode {
    examples::cli::exit_with_code("backup-audit check", args.common.verbose, || {
        Ok(match run_inner(args)? {
            Verdict::Ok => ExitCode::SUCCESS,
            Verdict::Failing => ExitCode::from(1),
            Verdict::AlertUndelivered => ExitCode::from(3),
        })
    })
}

fn run_inner(args: &CheckArgs) -> Result<Verdict> {
    let config = args.common.load_config()?;
    let matrix = examples::cli::load_matrix(&config, args.matrix.as_deref())?;
    let runtime = examples::cli::runtime()?;
    let timeout = Duration::from_secs(args.timeout.max(1));
    let webhook = std::env::var(WEBHOOK_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| config.alerts.webhook.clone());
    let (audit, delivered) = runtime.block_on(async {
        let secrets = clients::resolve_secrets(&config).await?;
        let (results, garage) = audit::gather(&config, &secrets, &matrix, timeout).await;
        let now = args.common.now();
        if let Some(path) = &args.durations_out {
            audit::write_atomically(path, &observed_durations(&matrix, &results).to_json())?;
        }
        let audit = audit::assemble(&matrix, results, garage, now);
        let mut delivered = true;
        if let Some(url) = &webhook
            && let Err(e) = audit::post_webhook(url, &audit).await
        {
            eprintln!("backup-audit check: alert webhook not delivered: {e:#}");
            delivered = false;
        }
        anyhow::Ok((audit, delivered))
    })?;
    if let Some(path) = &args.prometheus {
        audit::write_atomically(path, &audit::render_prometheus(&audit))?;
    }
    if args.common.json {
        println!("{}", serde_json::to_string_pretty(&audit)?);
    } else {
        print!(
            "{}",
            audit::render_table(&audit, &matrix, examples::cli::color_stdout())
        );
    }
    Ok(match (audit.is_failing(), delivered) {
        (false, _) => Verdict::Ok,
        (true, true) => Verdict::Failing,
        (true, false) => Verdict::AlertUndelivered,
    })
}

/// The longest observed run of each target schedule. An observation that names no schedule
/// (a restic snapshot) counts for its target's only schedule; with several it is ambiguous and
/// left out.
fn observed_durations(matrix: &Matrix, results: &[audit::SystemResult]) -> Durations {
    let obs: Vec<Observation> = results
        .iter()
        .filter_map(|r| r.observations.as_ref().ok())
        .flatten()
        .filter_map(|o| {
            if o.schedule.is_some() {
                return Some(o.clone());
            }
            match matrix.target(&o.target).map(|t| t.schedule.as_slice()) {
                Some([only]) => Some(o.clone().with_schedule(only.name.clone())),
                _ => None,
            }
        })
        .collect();
    let mut d = Durations::from_observations(&obs);
    for e in &mut d.durations {
        e.source = matrix.target(&e.target).map(|t| {
            match t.tool {
                Tool::Velero => "Velero startTimestamp → completionTimestamp",
                Tool::Restic => "restic snapshot summary backup_start → backup_end",
                Tool::Pbs => "PBS backup task starttime → endtime",
                _ => "backup-audit check",
            }
            .to_owned()
        });
    }
    d
}
