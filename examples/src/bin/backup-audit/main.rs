//! `backup-audit`: audits the homelab's backup matrix.
//!
//! * `backup-audit plan` — offline: the matrix, next runs, retention reach, the night's timeline
//!   per storage, lint findings and the DR table, from the embedded seed matrix or `--config`.
//! * `backup-audit check --config runbook.toml` — live: queries Velero, restic, PBS and Garage
//!   concurrently and prints the compliance of every row; exit 1 when any enabled row is late,
//!   failed, missing or unreachable.

mod check;
mod plan;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Plan(args) => plan::run(&args),
        Command::Check(args) => return check::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("backup-audit: {e:#}");
            ExitCode::FAILURE
        }
    }
}
