//! restic restore drill: the newest snapshot of a plan restored into a scratch directory,
//! verified and timed.
//!
//! Verification: the restored regular files (count and bytes) against `restic ls` of the
//! snapshot, plus `restic check` of the repository (`read_data_subset` to also read pack data).
//! For plans on a remote host the restore lands on that host, so the file comparison uses
//! restic's own restore summary (restic ≥ 0.16) and `--verify`; with an older restic the file
//! count is reported as "not checked", never as passed. The host-side directory is made and
//! removed by [`super::scratch`].

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use futures::TryStreamExt as _;
use restic_remote::{
    CheckOptions, LsEntry, NodeType, Restic, RestoreEvent, RestoreOptions, Snapshot, SnapshotFilter,
};

use super::scratch::{self, RemoteScratch};
use crate::clients;
use crate::config::{Config, ResticPlanConfig, Secrets};
use crate::progress;

/// How to run a restic drill.
#[derive(Debug, Clone, Default)]
pub struct ResticDrillOptions {
    /// Restore here instead of a fresh scratch directory (kept afterwards).
    pub target: Option<PathBuf>,
    /// `restic check --read-data-subset`.
    pub read_data_subset: Option<String>,
    /// Keep the scratch directory.
    pub keep: bool,
}

/// One verification of a drill.
#[derive(Debug, Clone)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// The expected value.
    pub expected: String,
    /// What was found.
    pub got: String,
    /// `None`: this check could not be made (not a pass, not a failure).
    pub ok: Option<bool>,
}

impl Check {
    /// `ok`, `FAILED` or `not checked`.
    pub fn result(&self) -> &'static str {
        match self.ok {
            Some(true) => "ok",
            Some(false) => "FAILED",
            None => "not checked",
        }
    }
}

/// What a restic drill did.
#[derive(Debug, Clone)]
pub struct ResticDrill {
    /// The snapshot restored.
    pub snapshot: Snapshot,
    /// Its id.
    pub id: String,
    /// Where it was restored (on the plan's host for SSH plans).
    pub target: String,
    /// Whether the restore was left in place.
    pub kept: bool,
    /// The verifications.
    pub checks: Vec<Check>,
    /// The restore alone.
    pub restore_time: Duration,
    /// Restore and verification.
    pub total_time: Duration,
}

impl ResticDrill {
    /// Every check that could be made passed.
    pub fn verified(&self) -> bool {
        self.checks.iter().all(|c| c.ok != Some(false))
    }

    /// Checks that could not be made.
    pub fn unchecked(&self) -> Vec<&'static str> {
        self.checks
            .iter()
            .filter(|c| c.ok.is_none())
            .map(|c| c.name)
            .collect()
    }

    /// The failed checks as text.
    pub fn failures(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| c.ok == Some(false))
            .map(|c| format!("{}: expected {}, got {}", c.name, c.expected, c.got))
            .collect()
    }

    /// A few words for the table.
    pub fn detail(&self) -> String {
        let mut d = format!(
            "snapshot {} ({})",
            self.id.chars().take(8).collect::<String>(),
            self.snapshot.time
        );
        let unchecked = self.unchecked();
        if !unchecked.is_empty() {
            d.push_str(&format!("; not checked: {}", unchecked.join(", ")));
        }
        d
    }
}

/// Regular files and symlinks under `dir` (not following links): (files, bytes).
pub fn walk(dir: &Path) -> Result<(u64, u64)> {
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

/// Runs the drill of one plan: scratch directory (local temp dir, or a private directory made
/// on the plan's host), restore, verification, clean-up (unless kept).
pub async fn drill(
    config: &Config,
    secrets: &Secrets,
    name: &str,
    plan: &ResticPlanConfig,
    opts: &ResticDrillOptions,
) -> Result<ResticDrill> {
    let local = plan.ssh.is_none();
    let restic = clients::restic(config, secrets, plan).await?;
    // Scratch directory: a fresh temp dir for local plans; for plans on a host, a private
    // directory made there.
    let local_scratch = match (&opts.target, local) {
        (None, true) => Some(
            tempfile::Builder::new()
                .prefix(&format!("restore-drill-{name}-"))
                .tempdir()
                .context("creating the scratch directory")?,
        ),
        _ => None,
    };
    let remote = match (&opts.target, restic.transport().as_ssh()) {
        (None, Some(ssh)) => {
            let dir = plan
                .ssh
                .as_ref()
                .and_then(|s| s.scratch_dir.as_deref())
                .unwrap_or(scratch::DEFAULT_SCRATCH_DIR);
            Some(RemoteScratch::create(ssh, dir, name).await?)
        }
        _ => None,
    };
    let target: String = match (&opts.target, &local_scratch, &remote) {
        (Some(t), _, _) => t.display().to_string(),
        (None, Some(s), _) => s.path().display().to_string(),
        (None, None, Some(r)) => r.path().to_owned(),
        (None, None, None) => bail!("no restore target"),
    };
    let result = restore_and_verify(&restic, name, &target, local, opts).await;
    // The host's drill directory goes away whatever happened, unless asked to keep it.
    if let Some(r) = remote {
        if opts.keep {
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
    if let Some(s) = local_scratch
        && opts.keep
    {
        let kept = s.keep();
        eprintln!("restore-drill: kept {}", kept.display());
    }
    let (snapshot, id, checks, restore_time, total_time) = result?;
    Ok(ResticDrill {
        snapshot,
        id,
        target,
        kept: opts.keep || opts.target.is_some(),
        checks,
        restore_time,
        total_time,
    })
}

type Outcome = (Snapshot, String, Vec<Check>, Duration, Duration);

/// Restores the newest snapshot into `target` and verifies it.
async fn restore_and_verify(
    restic: &Restic,
    name: &str,
    target: &str,
    local: bool,
    opts: &ResticDrillOptions,
) -> Result<Outcome> {
    let mut snaps = restic.snapshots(&SnapshotFilter::new()).await?;
    snaps.sort_by_key(|s| s.time);
    let newest = snaps
        .last()
        .ok_or_else(|| anyhow!("plan {name} has no snapshots"))?
        .clone();
    let id = newest
        .id
        .clone()
        .or(newest.short_id.clone())
        .ok_or_else(|| anyhow!("the newest snapshot has no id"))?;

    // What the snapshot holds.
    let mut ls = restic.ls(&id, &[]);
    let (mut want_files, mut want_bytes) = (0u64, 0u64);
    while let Some(entry) = ls.try_next().await? {
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
    let mut restore = RestoreOptions::new(id.clone(), target.to_owned());
    restore.verify = !local;
    let mut run = restic.restore(&restore).await?;
    {
        let mut events = run.events();
        while let Some(event) = events.try_next().await? {
            if let RestoreEvent::Status(p) | RestoreEvent::Summary(p) = event {
                bar.set_position(p.bytes_restored);
            }
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
        Some(walk(Path::new(target))?)
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
    check_opts.read_data_subset = opts.read_data_subset.clone();
    let check_name = if opts.read_data_subset.is_some() {
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

#[cfg(test)]
mod tests {
    use super::*;

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
