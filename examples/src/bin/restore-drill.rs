//! `restore-drill PLAN`: restores the newest snapshot of a restic plan into a scratch directory,
//! verifies it, times it and compares the time with the RTO of the matching DR scenario.
//!
//! Verification: the restored regular files (count and bytes) against `restic ls` of the
//! snapshot, plus `restic check` of the repository (`--read-data-subset` to also read pack data).
//! For plans on a remote host the restore lands on that host, so the file comparison uses
//! restic's own restore summary (restic ≥ 0.16) and `--verify`; with an older restic the file
//! count is reported as "not checked" (JSON `ok: null`, `not_checked: ["files"]`), never as
//! passed. The restore lands in a private directory made on the host with `mktemp -d` under
//! the plan's `ssh.scratch_dir` (default `/tmp`), checked (owner, mode 0700, no symlink) and
//! removed afterwards, also when the drill fails, unless `--keep`; a `scratch_dir` that others
//! could tamper with is refused (see `examples::drill::scratch`).
//!
//! Exit codes: 0 verified and within RTO, 1 verification failed or RTO exceeded, 2 the drill
//! could not run (bad config, no snapshot, restic failed).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use backup_policy::matrix::{Matrix, Tool};
use clap::Parser;
use comfy_table::Table;
use examples::config::Config;
use examples::drill::scratch::{self, RemoteScratch};
use examples::{clients, progress};
use restic_remote::{
    CheckOptions, LsEntry, NodeType, Restic, RestoreEvent, RestoreOptions, Snapshot, SnapshotFilter,
};
use serde_json::json;

/// Restore drill for one restic plan.
#[derive(Debug, Parser)]
#[command(name = "restore-drill", version)]
struct Cli {
    /// Runbook config (see examples/config/homelab.toml).
    #[arg(long, env = "BACKUP_AUDIT_CONFIG")]
    config: PathBuf,
    /// Plan name: a `[restic.NAME]` of the config.
    plan: String,
    /// Restore here instead of a fresh scratch directory (kept afterwards). It should be
    /// empty: every file under it is counted against the snapshot.
    #[arg(long)]
    target: Option<PathBuf>,
    /// DR scenario whose RTO applies.
    #[arg(long, default_value = "VM config corruption")]
    scenario: String,
    /// Also read this subset of the pack data in `restic check` (e.g. `5%`, `1/10`).
    #[arg(long)]
    read_data_subset: Option<String>,
    /// Keep the scratch directory (for a plan on a host: the private directory made there).
    /// Without it the scratch directory is removed after the drill, also when it failed.
    #[arg(long)]
    keep: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Log verbosity (-v info, -vv debug) on stderr.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    examples::cli::exit_with("restore-drill", cli.verbose, || run(&cli))
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

/// Regular files and symlinks under `dir` (not following links): (files, bytes).
fn walk(dir: &Path) -> Result<(u64, u64)> {
    let mut files = 0;
    let mut bytes = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let entry = entry?;
            let meta = entry.path().symlink_metadata()?;
            if meta.is_dir() {
                stack.push(entry.path());
            } else if meta.is_file() {
                files += 1;
                bytes += meta.len();
            } else if meta.file_type().is_symlink() {
                files += 1;
            }
        }
    }
    Ok((files, bytes))
}

struct Check {
    name: &'static str,
    expected: String,
    got: String,
    /// `None`: this check could not be made (not a pass, not a failure).
    ok: Option<bool>,
}

impl Check {
    fn result(&self) -> &'static str {
        match self.ok {
            Some(true) => "ok",
            Some(false) => "FAILED",
            None => "not checked",
        }
    }
}

fn run(cli: &Cli) -> Result<bool> {
    let config = Config::load(&cli.config)?;
    let plan = config
        .restic
        .get(&cli.plan)
        .ok_or_else(|| anyhow!("plan {:?} is not in the config", cli.plan))?
        .clone();
    let matrix = examples::cli::load_matrix(&config, None)?;
    let (scenario, rto) = rto(&matrix, &cli.scenario)?;
    let local = plan.ssh.is_none();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    // Scratch directory: a fresh temp dir for local plans; for plans on a host, a private
    // directory made there (see `examples::drill::scratch`) once the client is connected.
    let scratch = match (&cli.target, local) {
        (Some(_), _) | (None, false) => None,
        (None, true) => Some(
            tempfile::Builder::new()
                .prefix(&format!("restore-drill-{}-", cli.plan))
                .tempdir()
                .context("creating the scratch directory")?,
        ),
    };

    let outcome = runtime.block_on(async {
        let secrets = clients::resolve_secrets(&config).await?;
        let restic = clients::restic(&config, &secrets, &plan).await?;
        let remote = match (&cli.target, restic.transport().as_ssh()) {
            (None, Some(ssh)) => {
                let dir = plan
                    .ssh
                    .as_ref()
                    .and_then(|s| s.scratch_dir.as_deref())
                    .unwrap_or(scratch::DEFAULT_SCRATCH_DIR);
                Some(RemoteScratch::create(ssh, dir, &cli.plan).await?)
            }
            _ => None,
        };
        let target: String = match (&cli.target, &scratch, &remote) {
            (Some(t), _, _) => t.display().to_string(),
            (None, Some(s), _) => s.path().display().to_string(),
            (None, None, Some(r)) => r.path().to_owned(),
            (None, None, None) => bail!("no restore target"),
        };
        let result = drill(cli, &restic, &target, local).await;
        // The host's drill directory goes away whatever happened, unless asked to keep it.
        if let Some(r) = remote {
            if cli.keep {
                eprintln!("restore-drill: kept {} on the plan's host", r.path());
            } else {
                // A restore cut short by an error may still be ending on the host.
                restic.settle().await;
                if let Err(e) = r.remove().await {
                    match &result {
                        Ok(_) => return Err(e),
                        Err(_) => eprintln!("restore-drill: {e:#}"),
                    }
                }
            }
        }
        result.map(|r| (target, r))
    });
    let (target, (newest, id, checks, restore_time, total_time)) = outcome?;
    // Verified: every check that could be made passed. Checks that could not be made are
    // listed as "not checked", never as passed.
    let verified = checks.iter().all(|c| c.ok != Some(false));
    let unchecked: Vec<&str> = checks
        .iter()
        .filter(|c| c.ok.is_none())
        .map(|c| c.name)
        .collect();
    let within = total_time <= rto;
    let percent = if rto.is_zero() {
        "n/a".to_owned()
    } else {
        format!(
            "{:.1}%",
            100.0 * total_time.as_secs_f64() / rto.as_secs_f64()
        )
    };
    let rto_line = format!(
        "RTO: {:.1}s of {} ({percent}) for \"{scenario}\" — {}",
        total_time.as_secs_f64(),
        fmt_rto(rto),
        if within { "within RTO" } else { "RTO EXCEEDED" }
    );
    let ok = verified && within;
    if cli.json {
        let c: Vec<_> = checks
            .iter()
            .map(|c| json!({"check": c.name, "expected": c.expected, "got": c.got, "ok": c.ok, "result": c.result()}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "plan": cli.plan, "snapshot": id, "snapshot_time": newest.time.to_string(),
                "target": target, "kept": cli.keep || cli.target.is_some(), "checks": c, "verified": verified, "not_checked": unchecked,
                "restore_seconds": restore_time.as_secs_f64(),
                "total_seconds": total_time.as_secs_f64(),
                "scenario": scenario, "rto_seconds": rto.as_secs(), "within_rto": within,
                "ok": ok,
            }))?
        );
    } else {
        println!(
            "restore drill of plan {}: snapshot {} ({}) into {target}",
            cli.plan,
            id.chars().take(8).collect::<String>(),
            newest.time
        );
        let mut table = Table::new();
        table.set_header(["check", "expected", "got", "result"]);
        for c in &checks {
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
            restore_time.as_secs_f64(),
            total_time.as_secs_f64()
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
    if let Some(s) = scratch {
        if cli.keep {
            let kept = s.keep();
            eprintln!("restore-drill: kept {}", kept.display());
        }
    }
    if !verified && checks.is_empty() {
        bail!("nothing was verified");
    }
    Ok(ok)
}

/// What a drill found: the snapshot, its checks and the times.
type Outcome = (Snapshot, String, Vec<Check>, Duration, Duration);

/// Restores the newest snapshot into `target` and verifies it.
async fn drill(cli: &Cli, restic: &Restic, target: &str, local: bool) -> Result<Outcome> {
    let mut snaps = restic.snapshots(&SnapshotFilter::new()).await?;
    snaps.sort_by_key(|s| s.time);
    let newest = snaps
        .last()
        .ok_or_else(|| anyhow!("plan {} has no snapshots", cli.plan))?
        .clone();
    let id = newest
        .id
        .clone()
        .or(newest.short_id.clone())
        .ok_or_else(|| anyhow!("the newest snapshot has no id"))?;

    // What the snapshot holds.
    let mut ls = restic.ls(&id, &[]).await?;
    let (mut want_files, mut want_bytes) = (0u64, 0u64);
    while let Some(entry) = ls.next().await? {
        if let LsEntry::Node(n) = entry {
            match n.node_type {
                NodeType::File => {
                    want_files += 1;
                    want_bytes += n.size.unwrap_or(0);
                }
                NodeType::Symlink => want_files += 1,
                _ => {}
            }
        }
    }

    // The timed part: restore and verification.
    let started = Instant::now();
    let bar = progress::bytes_bar("restore", progress::is_interactive());
    bar.set_length(want_bytes);
    let mut run = restic
        .restore(&RestoreOptions::new(id.clone(), target.to_owned()).with_verify(!local))
        .await?;
    while let Some(event) = run.next_event().await? {
        if let RestoreEvent::Status(p) | RestoreEvent::Summary(p) = event {
            bar.set_position(p.bytes_restored);
        }
    }
    let summary = run.finish().await;
    if summary.is_ok() {
        bar.set_position(want_bytes);
    }
    bar.finish_and_clear();
    let summary = summary?;
    let restore_time = started.elapsed();

    let mut checks = Vec::new();
    let got = if local {
        Some(walk(Path::new(&target))?)
    } else {
        summary
            .as_ref()
            .map(|s| (s.files_restored + s.files_skipped, s.bytes_restored))
    };
    match got {
        Some((files, bytes)) => {
            checks.push(Check {
                name: "files",
                expected: want_files.to_string(),
                got: files.to_string(),
                ok: Some(files == want_files),
            });
            checks.push(Check {
                name: "bytes",
                expected: want_bytes.to_string(),
                got: bytes.to_string(),
                ok: Some(bytes == want_bytes),
            });
        }
        // restic < 0.16 prints no restore summary: the files were not counted. restic's
        // own `--verify` read back what it restored, but a missing file would go unseen.
        None => checks.push(Check {
            name: "files",
            expected: want_files.to_string(),
            got: "not counted (restic < 0.16 prints no restore summary)".to_owned(),
            ok: None,
        }),
    }
    let mut check_opts = CheckOptions::default();
    check_opts.read_data_subset = cli.read_data_subset.clone();
    let check_name = if cli.read_data_subset.is_some() {
        "restic check --read-data-subset"
    } else {
        "restic check"
    };
    match restic.check(&check_opts).await {
        Ok(report) => checks.push(Check {
            name: check_name,
            expected: "no errors".to_owned(),
            got: if report.num_errors == 0 {
                "no errors".to_owned()
            } else {
                format!("{} error(s)", report.num_errors)
            },
            ok: Some(report.num_errors == 0),
        }),
        Err(e) => checks.push(Check {
            name: check_name,
            expected: "no errors".to_owned(),
            got: format!("{e}"),
            ok: Some(false),
        }),
    }
    let total_time = started.elapsed();
    Ok((newest, id, checks, restore_time, total_time))
}

fn fmt_rto(d: Duration) -> String {
    let s = d.as_secs();
    if s == 0 {
        format!("{}ms", d.as_millis())
    } else if s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
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
        assert_eq!(fmt_rto(Duration::from_secs(900)), "15m");
        assert_eq!(fmt_rto(Duration::from_secs(3600)), "1h");
        assert_eq!(fmt_rto(Duration::from_secs(90)), "90s");
        assert_eq!(fmt_rto(Duration::ZERO), "0ms");
    }

    #[test]
    fn walk_counts_files_symlinks_and_bytes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/f"), "12345").unwrap();
        std::fs::write(dir.path().join("g"), "xy").unwrap();
        std::os::unix::fs::symlink("g", dir.path().join("l")).unwrap();
        assert_eq!(walk(dir.path()).unwrap(), (3, 7));
    }
}
