//! `backup-audit`: audits the homelab's backup matrix.
//!
//! * `backup-audit plan` — offline: the matrix, next runs, retention reach, the night's timeline
//!   per storage, lint findings and the DR table, from the embedded seed matrix or `--config`.
//! * `backup-audit check --config runbook.toml` — live: queries Velero, restic, PBS and Garage
//!   concurrently and prints the compliance of every row; exit 1 when any enabled row is late,
//!   failed, missing or unreachable.
//! * `backup-audit alert-rules` — offline: Prometheus alert rules generated from the matrix, and
//!   their `promtool test rules` unit tests.
//! * `backup-audit gatus` — offline: Gatus endpoints for the seed's services and one per matrix
//!   target against `serve`'s `/health/<target>`, alerting Keep.
//! * `backup-audit serve --config runbook.toml` — live, long-running: re-checks on an interval
//!   and on demand, serves `/metrics` and `/health[/<target>]`, and alerts Keep per failing row.

mod check;
mod gatus;
mod plan;
mod rules;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Audits the homelab's backup matrix.
#[derive(Debug, Parser)]
#[command(name = "backup-audit", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Offline plan of the matrix: schedules, next runs, retention reach, the night's timeline per
    /// storage, lint findings, DR scenarios.
    Plan(plan::PlanArgs),
    /// Live audit: every matrix row checked against what Velero, restic, PBS and Garage report.
    Check(check::CheckArgs),
    /// Prometheus alert rules for the metrics `check --prometheus` writes, generated from the
    /// matrix (late, failed, missing, unreachable, too old, textfile stale/absent).
    AlertRules(rules::AlertRulesArgs),
    /// Gatus endpoint YAML: the seed's service checks plus one endpoint per matrix target
    /// against `backup-audit serve`'s `/health/<target>`, with Keep webhook alerts.
    Gatus(gatus::GatusArgs),
    /// Long-running monitor: re-checks on an interval and on demand, serves `/metrics` for
    /// Prometheus and `/health[/<target>]` for Gatus, and sends Keep one alert per failing row.
    Serve(serve::ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Plan(args) => plan::run(&args),
        Command::Check(args) => return check::run(&args),
        Command::AlertRules(args) => return rules::run(&args),
        Command::Gatus(args) => return gatus::run(&args),
        Command::Serve(args) => return serve::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("backup-audit: {e:#}");
            ExitCode::FAILURE
        }
    }
}
