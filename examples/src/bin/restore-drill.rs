//! `restore-drill`: restore drills, timed against the RTO of the DR scenario that covers them.
//!
//! * `restore-drill PLAN` — a restic plan of the config: restores its newest snapshot into a
//!   scratch directory, verifies it (file count and bytes against `restic ls`, `restic check`)
//!   and compares the time with the RTO of `--scenario`. For plans on a remote host the restore
//!   lands on that host in a private directory made with `mktemp -d` under the plan's
//!   `ssh.scratch_dir` (default `/tmp`), checked (owner, mode 0700, no symlink) and removed
//!   afterwards — also when the drill fails — unless `--keep`; a `scratch_dir` that others
//!   could tamper with is refused (see `examples::drill::scratch`). There the file count comes
//!   from restic's restore summary (restic ≥ 0.16); with an older restic it is reported as "not
//!   checked" (JSON `ok: null`, `not_checked: ["files"]`), never as passed.
//! * `restore-drill TARGET` — a Velero or PBS target of the matrix. Velero: the cluster's newest
//!   Completed backup restored into scratch namespaces (namespace mapping, no cluster-scoped
//!   resources), item counts compared, scratch namespaces deleted (`examples::drill::velero`).
//!   PBS: a verify task of the guest's newest snapshot, then its manifest and config blob read
//!   back through the API (`examples::drill::pbs`). Judged against the RTO of the DR row that
//!   covers the target.
//! * `restore-drill --all` — every target of the matrix that can be drilled (restic targets
//!   with a plan of the same name in the config, Velero targets with a kube context, PBS
//!   guests), one after another, printed as one table against the matrix's RTOs.
//!
//! Exit codes: 0 verified and within RTO (every row), 1 a verification failed or an RTO was
//! exceeded, 2 a drill could not run (bad config, no backup, a system unreachable, …).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use backup_policy::matrix::{Matrix, Target, Tool};
use clap::Parser;
use comfy_table::Table;
use examples::cli::CommonArgs;
use examples::clients;
use examples::config::{Config, Secrets};
use examples::drill::restic::{ResticDrill, ResticDrillOptions};
use examples::drill::{self, DrillRow, Verdict, fmt_duration};
use serde_json::json;

/// Restore drills for restic plans, Velero clusters and PBS guests.
#[derive(Debug, Parser)]
#[command(name = "restore-drill", version)]
struct Cli {
    /// `--config` (required), `--json`, `-v`; `--now` does not apply (a drill runs now).
    #[command(flatten)]
    common: CommonArgs,
    /// A restic plan (`[restic.NAME]` of the config), or a Velero or PBS target of the matrix.
    #[arg(required_unless_present = "all")]
    plan: Option<String>,
    /// Drill every target of the matrix that can be drilled, and print one table.
    #[arg(long, conflicts_with_all = ["plan", "target", "keep", "scenario"])]
    all: bool,
    /// restic: restore here instead of a fresh scratch directory (kept afterwards). It should
    /// be empty: every file under it is counted against the snapshot.
    #[arg(long)]
    target: Option<PathBuf>,
    /// restic: the DR scenario whose RTO applies (Velero and PBS targets, and `--all`, use the
    /// DR row that covers each target).
    #[arg(long)]
    scenario: Option<String>,
    /// restic: also read this subset of the pack data in `restic check` (e.g. `5%`, `1/10`).
    #[arg(long)]
    read_data_subset: Option<String>,
    /// restic: keep the scratch directory (for a plan on a host: the private directory made
    /// there). Without it the scratch directory is removed after the drill, also when it failed.
    #[arg(long)]
    keep: bool,
}

/// The restic scenario used when `--scenario` is not given.
const DEFAULT_SCENARIO: &str = "VM config corruption";

fn main() -> ExitCode {
    let cli = Cli::parse();
    examples::cli::exit_with_code("restore-drill", cli.common.verbose, || run(&cli))
}

/// The RTO of the named scenario (which must rely on restic), else of the first restic scenario.
fn rto(matrix: &Matrix, scenario: &str) -> Result<(String, Duration)> {
    let dr = matrix
        .dr
        .iter()
        .find(|d| d.scenario.eq_ignore_ascii_case(scenario))
        .or_else(|| matrix.dr.iter().find(|d| d.tools.contains(&Tool::Restic)))
        .ok_or_else(|| {
            anyhow!("no DR scenario {scenario:?} (or any using restic) in the matrix")
        })?;
    let text = dr
        .rto
        .as_deref()
        .ok_or_else(|| anyhow!("DR scenario {:?} has no RTO (TBD)", dr.scenario))?;
    let d = backup_policy::duration::parse_span(text)
        .with_context(|| format!("RTO {text:?} of {:?}", dr.scenario))?;
    let d = Duration::try_from(d).map_err(|_| anyhow!("negative RTO {text:?}"))?;
    Ok((dr.scenario.clone(), d))
}

fn run(cli: &Cli) -> Result<ExitCode> {
    if cli.common.now.is_some() {
        bail!("--now does not apply to restore-drill: a drill restores and times it now");
    }
    let config = cli.common.load_config()?;
    let matrix = examples::cli::load_matrix(&config, None)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    if cli.all {
        let rows = runtime.block_on(async {
            let secrets = clients::resolve_secrets(&config).await?;
            let mut rows = Vec::new();
            for t in &matrix.target {
                rows.push(drill_row(cli, &config, &secrets, &matrix, t).await);
            }
            anyhow::Ok(rows)
        })?;
        return print_rows(cli, &rows);
    }
    let name = cli.plan.as_deref().unwrap_or_default();
    if let Some(plan) = config.restic.get(name) {
        let (scenario, rto) = rto(&matrix, cli.scenario.as_deref().unwrap_or(DEFAULT_SCENARIO))?;
        let opts = ResticDrillOptions {
            target: cli.target.clone(),
            read_data_subset: cli.read_data_subset.clone(),
            keep: cli.keep,
        };
        let d = runtime.block_on(async {
            let secrets = clients::resolve_secrets(&config).await?;
            drill::restic::drill(&config, &secrets, name, plan, &opts).await
        })?;
        return print_restic(cli, name, &d, &scenario, rto);
    }
    let Some(target) = matrix.target.iter().find(|t| t.name == name) else {
        bail!(
            "{name:?} is neither a restic plan of the config ({}) nor a target of the matrix",
            config.restic.keys().cloned().collect::<Vec<_>>().join(", ")
        );
    };
    if target.tool == Tool::Restic {
        bail!("target {name} relies on restic but the config has no [restic.{name}] plan");
    }
    if cli.target.is_some() || cli.keep || cli.scenario.is_some() {
        bail!("--target, --keep and --scenario apply to restic plans only");
    }
    let row = runtime.block_on(async {
        let secrets = clients::resolve_secrets(&config).await?;
        anyhow::Ok(drill_row(cli, &config, &secrets, &matrix, target).await)
    })?;
    print_rows(cli, &[row])
}

/// Random lowercase hex from the kernel's CSPRNG: scratch names nobody can guess or collide with.
fn random_suffix(bytes: usize) -> Result<String> {
    use std::io::Read;
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .context("reading /dev/urandom")?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// Drills one matrix target; never fails: what went wrong is the row's verdict.
async fn drill_row(
    cli: &Cli,
    config: &Config,
    secrets: &Secrets,
    matrix: &Matrix,
    t: &Target,
) -> DrillRow {
    if !t.enabled {
        let why = t.disabled_reason.as_deref().unwrap_or("no reason given");
        return DrillRow::not_run(t, Verdict::Skipped(format!("disabled: {why}")));
    }
    let (scenario, rto) = match drill::dr_rto(matrix, t) {
        Ok(Some((s, r))) => (Some(s), r),
        Ok(None) => (None, None),
        Err(e) => return DrillRow::not_run(t, Verdict::Error(format!("{e:#}"))),
    };
    let mut row = DrillRow::not_run(t, Verdict::Skipped(String::new()));
    row.scenario = scenario;
    row.rto = rto;
    // A restore or verify task is waited for as long as the RTO allows (bounded).
    let wait = rto
        .unwrap_or(Duration::from_secs(1800))
        .clamp(Duration::from_secs(30), Duration::from_secs(4 * 3600));
    let outcome = match t.tool {
        Tool::Restic => match config.restic.get(&t.name) {
            None => Err(Verdict::Skipped(format!(
                "no [restic.{}] plan in the config",
                t.name
            ))),
            Some(plan) => {
                let opts = ResticDrillOptions {
                    read_data_subset: cli.read_data_subset.clone(),
                    ..ResticDrillOptions::default()
                };
                drill::restic::drill(config, secrets, &t.name, plan, &opts)
                    .await
                    .map(|d| (d.total_time, d.detail(), d.failures()))
                    .map_err(|e| Verdict::Error(format!("{e:#}")))
            }
        },
        Tool::Velero => velero_row(config, matrix, t, wait).await,
        Tool::Pbs => pbs_row(config, secrets, t, wait).await,
        _ => Err(Verdict::Skipped("no drill for this tool".to_owned())),
    };
    match outcome {
        Ok((took, detail, failures)) => {
            row.took = Some(took);
            row.detail = detail;
            row.judged(failures)
        }
        Err(verdict) => {
            row.verdict = verdict;
            row
        }
    }
}

type RowOutcome = std::result::Result<(Duration, String, Vec<String>), Verdict>;

async fn velero_row(config: &Config, matrix: &Matrix, t: &Target, wait: Duration) -> RowOutcome {
    if config.velero.is_none() {
        return Err(Verdict::Skipped("[velero] is not configured".to_owned()));
    }
    let contexts = clients::velero_contexts(config, matrix);
    let Some(context) = contexts.get(&t.name) else {
        return Err(Verdict::Skipped(
            "no kube context for this target".to_owned(),
        ));
    };
    let error = |e: anyhow::Error| Verdict::Error(format!("{e:#}"));
    let client = clients::velero(config, context).await.map_err(error)?;
    let suffix = random_suffix(4).map_err(error)?;
    let d = drill::velero::drill(&client, wait, &suffix)
        .await
        .map_err(error)?;
    Ok((d.took, d.detail(), d.failures()))
}

async fn pbs_row(config: &Config, secrets: &Secrets, t: &Target, wait: Duration) -> RowOutcome {
    let Some(pbs) = &config.pbs else {
        return Err(Verdict::Skipped("[pbs] is not configured".to_owned()));
    };
    let (Some(backup_type), Some(id)) = (drill::pbs::backup_type(&t.kind), t.id) else {
        return Err(Verdict::Skipped(
            "no PBS backup group (kind and id) for this target".to_owned(),
        ));
    };
    let mut group = pbs_client::GroupRef::new(backup_type, id.to_string());
    if let Some(ns) = &pbs.namespace {
        group = group.with_ns(ns.clone());
    }
    let error = |e: anyhow::Error| Verdict::Error(format!("{e:#}"));
    let client = clients::pbs(config, secrets).map_err(error)?;
    let d = drill::pbs::drill(&client, &pbs.datastore, &group, wait)
        .await
        .map_err(error)?;
    Ok((d.took, d.detail(), d.failures()))
}

/// The table (or JSON) of drill rows, and the exit code: 2 when a drill could not run, 1 when
/// one failed, else 0 (skipped rows do not count).
fn print_rows(cli: &Cli, rows: &[DrillRow]) -> Result<ExitCode> {
    let errors = rows
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Error(_)))
        .count();
    let failed = rows
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Fail(_)))
        .count();
    let passed = rows
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Pass))
        .count();
    let skipped = rows.len() - errors - failed - passed;
    if cli.common.json {
        let all: Vec<_> = rows.iter().map(DrillRow::json).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "rows": all, "passed": passed, "failed": failed, "errors": errors,
                "skipped": skipped, "ok": errors == 0 && failed == 0,
            }))?
        );
    } else {
        let mut table = Table::new();
        table.set_header([
            "target",
            "tool",
            "DR scenario",
            "RTO",
            "took",
            "of RTO",
            "result",
            "detail",
        ]);
        for r in rows {
            let detail = match r.verdict.reason() {
                Some(why) if r.detail.is_empty() => why.to_owned(),
                Some(why) => format!("{} — {why}", r.detail),
                None => r.detail.clone(),
            };
            table.add_row([
                r.target.clone(),
                r.tool.clone(),
                r.scenario.clone().unwrap_or_else(|| "-".to_owned()),
                r.rto.map_or_else(|| "-".to_owned(), fmt_duration),
                r.took
                    .map_or_else(|| "-".to_owned(), |d| format!("{:.1}s", d.as_secs_f64())),
                r.percent_of_rto().unwrap_or_else(|| "-".to_owned()),
                r.verdict.word().to_owned(),
                detail,
            ]);
        }
        println!("{table}");
        println!("{passed} passed, {failed} failed, {errors} could not run, {skipped} skipped");
    }
    Ok(ExitCode::from(if errors > 0 {
        2
    } else if failed > 0 {
        1
    } else {
        0
    }))
}

/// The detailed report of one restic plan's drill.
fn print_restic(
    cli: &Cli,
    plan: &str,
    d: &ResticDrill,
    scenario: &str,
    rto: Duration,
) -> Result<ExitCode> {
    // Verified: every check that could be made passed. Checks that could not be made are
    // listed as "not checked", never as passed.
    let verified = d.verified();
    let unchecked = d.unchecked();
    let within = d.total_time <= rto;
    let percent = if rto.is_zero() {
        "n/a".to_owned()
    } else {
        format!(
            "{:.1}%",
            100.0 * d.total_time.as_secs_f64() / rto.as_secs_f64()
        )
    };
    let rto_line = format!(
        "RTO: {:.1}s of {} ({percent}) for \"{scenario}\" — {}",
        d.total_time.as_secs_f64(),
        fmt_duration(rto),
        if within { "within RTO" } else { "RTO EXCEEDED" }
    );
    let ok = verified && within;
    if cli.common.json {
        let c: Vec<_> = d
            .checks
            .iter()
            .map(|c| json!({"check": c.name, "expected": c.expected, "got": c.got, "ok": c.ok, "result": c.result()}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "plan": plan, "snapshot": d.id, "snapshot_time": d.snapshot.time.to_string(),
                "target": d.target, "kept": d.kept, "checks": c, "verified": verified,
                "not_checked": unchecked,
                "restore_seconds": d.restore_time.as_secs_f64(),
                "total_seconds": d.total_time.as_secs_f64(),
                "scenario": scenario, "rto_seconds": rto.as_secs(), "within_rto": within,
                "ok": ok,
            }))?
        );
    } else {
        println!(
            "restore drill of plan {plan}: snapshot {} ({}) into {}",
            d.id.chars().take(8).collect::<String>(),
            d.snapshot.time,
            d.target
        );
        let mut table = Table::new();
        table.set_header(["check", "expected", "got", "result"]);
        for c in &d.checks {
            table.add_row([
                c.name.to_owned(),
                c.expected.clone(),
                c.got.clone(),
                c.result().to_owned(),
            ]);
        }
        println!("{table}");
        println!(
            "restore took {:.1}s, restore + verification {:.1}s",
            d.restore_time.as_secs_f64(),
            d.total_time.as_secs_f64()
        );
        println!("{rto_line}");
        println!(
            "verdict: {}",
            match (verified, within) {
                (true, true) if unchecked.is_empty() => "PASS — restored, verified, within RTO",
                (true, true) =>
                    "PASS — restored, within RTO; some checks could not be made (see \"not checked\")",
                (false, _) => "FAIL — verification failed",
                (true, false) => "FAIL — verified but slower than the RTO",
            }
        );
    }
    if !verified && d.checks.is_empty() {
        bail!("nothing was verified");
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_rto_for_vm_config_corruption_is_15_minutes() {
        let matrix = Matrix::homelab().unwrap();
        let (scenario, d) = rto(&matrix, "VM config corruption").unwrap();
        assert_eq!(scenario, "VM config corruption");
        assert_eq!(d, Duration::from_secs(15 * 60));
        // An unknown scenario falls back to the first one that relies on restic.
        let (fallback, _) = rto(&matrix, "no such scenario").unwrap();
        assert_eq!(fallback, "VM config corruption");
    }

    #[test]
    fn rto_formatting() {
        assert_eq!(fmt_duration(Duration::from_secs(900)), "15m");
        assert_eq!(fmt_duration(Duration::from_secs(3600)), "1h");
        assert_eq!(fmt_duration(Duration::from_secs(90)), "1m 30s");
        assert_eq!(fmt_duration(Duration::ZERO), "0ms");
    }

    #[test]
    fn random_suffixes_are_lowercase_hex_and_differ() {
        let a = random_suffix(4).unwrap();
        assert_eq!(a.len(), 8);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(a, random_suffix(4).unwrap());
    }
}
