//! `retention`: a drop-in for `restic forget --dry-run --json`, offline.
//!
//! Reads `restic snapshots --json` on stdin, takes restic's `--keep-*`, `--keep-tag` and
//! `--group-by` flags and its snapshot filters `--host`, `--tag` and `--path`, and prints what
//! restic would print (nothing at all when no snapshot passes the filter, as restic does). `--restic-compat 0.14` reproduces
//! Debian 12's restic (reasons with counters, no keep-oldest rule); `--pbs` applies Proxmox
//! Backup Server's prune instead.
//!
//! ```text
//! restic snapshots --json | retention --keep-daily 7 --keep-weekly 4 --now 2026-11-27T12:00:00Z
//! ```

use std::io::{Read, Write};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use backup_policy::pbs::{PruneOptions, PruneSnapshot, prune};
use backup_policy::restic::{
    ForgetOptions, ForgetPolicy, GroupBy, GroupKey, ResticDuration, Semantics, Snapshot,
    SnapshotFilter, TagList, UNLIMITED, forget, group_snapshots,
};
use clap::Parser;
use examples::cli::CommonArgs;
use jiff::tz::TimeZone;
use serde::Serialize;
use serde_json::Value;

/// Offline `restic forget --dry-run --json`: reads `restic snapshots --json` on stdin.
#[derive(Debug, Parser)]
#[command(name = "retention", version, allow_negative_numbers = true)]
struct Cli {
    /// Keep the last n snapshots (`unlimited` with current semantics).
    #[arg(short = 'l', long, value_name = "n")]
    keep_last: Option<String>,
    /// Keep the last n hourly snapshots.
    #[arg(short = 'H', long, value_name = "n")]
    keep_hourly: Option<String>,
    /// Keep the last n daily snapshots.
    #[arg(short = 'd', long, value_name = "n")]
    keep_daily: Option<String>,
    /// Keep the last n weekly snapshots.
    #[arg(short = 'w', long, value_name = "n")]
    keep_weekly: Option<String>,
    /// Keep the last n monthly snapshots.
    #[arg(short = 'm', long, value_name = "n")]
    keep_monthly: Option<String>,
    /// Keep the last n yearly snapshots.
    #[arg(short = 'y', long, value_name = "n")]
    keep_yearly: Option<String>,
    /// Keep snapshots newer than this duration (`1y5m7d2h`) relative to the newest snapshot.
    #[arg(long, value_name = "duration")]
    keep_within: Option<ResticDuration>,
    /// Keep hourly snapshots within this duration of the newest.
    #[arg(long, value_name = "duration")]
    keep_within_hourly: Option<ResticDuration>,
    /// Keep daily snapshots within this duration of the newest.
    #[arg(long, value_name = "duration")]
    keep_within_daily: Option<ResticDuration>,
    /// Keep weekly snapshots within this duration of the newest.
    #[arg(long, value_name = "duration")]
    keep_within_weekly: Option<ResticDuration>,
    /// Keep monthly snapshots within this duration of the newest.
    #[arg(long, value_name = "duration")]
    keep_within_monthly: Option<ResticDuration>,
    /// Keep yearly snapshots within this duration of the newest.
    #[arg(long, value_name = "duration")]
    keep_within_yearly: Option<ResticDuration>,
    /// Keep snapshots with all of these tags (`a,b`; repeatable).
    #[arg(long, value_name = "taglist")]
    keep_tag: Vec<TagList>,
    /// Only consider snapshots of this host (repeatable: any of them). With current semantics
    /// `RESTIC_HOST` is the default and a lone `--host ''` means every host, as in restic ≥ 0.17.
    #[arg(long, value_name = "host")]
    host: Vec<String>,
    /// Deprecated alias of `--host` (as in restic).
    #[arg(long, value_name = "host", hide = true)]
    hostname: Vec<String>,
    /// Only consider snapshots with all of these tags (`a,b`; repeatable: any of the lists;
    /// `''` = untagged).
    #[arg(long, value_name = "taglist")]
    tag: Vec<TagList>,
    /// Only consider snapshots that include this path, byte for byte (repeatable: all of them).
    #[arg(long, value_name = "path")]
    path: Vec<String>,
    /// Group by `host`, `paths`, `tags` (comma-separated; `''` for one group).
    #[arg(short = 'g', long, default_value = "host,paths")]
    group_by: GroupBy,
    /// Which restic to imitate: `0.14` (Debian 12) or `current`.
    #[arg(long, default_value = "current")]
    restic_compat: Semantics,
    /// The shared flags: `--now` is the instant restic would take as now; the output is always
    /// restic's JSON (`--json` changes nothing) and no runbook config is read.
    #[command(flatten)]
    common: CommonArgs,
    /// Apply Proxmox Backup Server prune instead of restic forget (uses --keep-last…--keep-yearly).
    #[arg(long)]
    pbs: bool,
    /// Time zone for `--pbs` periods and for restic's local zone (default: `TZ` / the system zone).
    #[arg(long)]
    tz: Option<String>,
}

fn count(name: &str, v: &Option<String>, sem: Semantics) -> Result<i32> {
    let Some(v) = v else { return Ok(0) };
    if v == "unlimited" {
        if sem == Semantics::Restic014 {
            bail!(
                "invalid argument \"unlimited\" for \"--keep-{name}\": restic 0.14 has no unlimited"
            );
        }
        return Ok(UNLIMITED);
    }
    let n: i32 = v
        .parse()
        .with_context(|| format!("invalid argument {v:?} for \"--keep-{name}\""))?;
    if n < 0 {
        bail!("--keep-{name} {n}: negative values not allowed, use 'unlimited' instead");
    }
    Ok(n)
}

/// Flattens `restic snapshots --json`, plain or grouped (`[{group_key, snapshots}]`).
fn read_snapshots(input: &str) -> Result<Vec<Value>> {
    let v: Value = serde_json::from_str(input)
        .context("stdin is not JSON (expected `restic snapshots --json`)")?;
    let arr = v.as_array().context("expected a JSON array of snapshots")?;
    let mut out = Vec::new();
    for e in arr {
        match e.get("snapshots").and_then(Value::as_array) {
            Some(inner) => out.extend(inner.iter().cloned()),
            None => out.push(e.clone()),
        }
    }
    Ok(out)
}

#[derive(Serialize)]
struct OutGroup {
    tags: Option<Vec<String>>,
    host: String,
    paths: Option<Vec<String>>,
    keep: Option<Vec<Value>>,
    remove: Option<Vec<Value>>,
    reasons: Option<Vec<Value>>,
}

fn normalised(raw: &Value, sort_tags: bool) -> Value {
    let mut v = raw.clone();
    for (field, sort) in [("paths", true), ("tags", sort_tags)] {
        if let Some(a) = v.get_mut(field).and_then(Value::as_array_mut)
            && sort
        {
            a.sort_by(|x, y| x.as_str().cmp(&y.as_str()));
        }
    }
    v
}

fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

/// restic's snapshot filter from the flags; in current mode `RESTIC_HOST` fills in for an absent
/// `--host` and a lone `--host ''` unsets it (restic `cmd/restic/find.go` `finalizeSnapshotFilter`).
fn filter(cli: &Cli, sem: Semantics) -> SnapshotFilter {
    let mut hosts: Vec<String> = cli.hostname.iter().chain(&cli.host).cloned().collect();
    if hosts.is_empty()
        && sem == Semantics::Current
        && let Some(h) = std::env::var("RESTIC_HOST").ok().filter(|h| !h.is_empty())
    {
        hosts.push(h);
    }
    let mut f = SnapshotFilter::default();
    for h in hosts {
        f = f.with_host(h);
    }
    for t in &cli.tag {
        f = f.with_tag(t.clone());
    }
    for p in &cli.path {
        f = f.with_path(p.clone());
    }
    f.finalized(sem)
}

fn group_out(key: &GroupKey) -> (Option<Vec<String>>, String, Option<Vec<String>>) {
    (key.tags.clone(), key.hostname.clone(), key.paths.clone())
}

fn run(cli: &Cli) -> Result<()> {
    let sem = cli.restic_compat;
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("reading stdin")?;
    let raw = read_snapshots(&input)?;
    let snaps: Vec<Snapshot> = raw
        .iter()
        .enumerate()
        .map(|(i, v)| serde_json::from_value(v.clone()).with_context(|| format!("snapshot #{i}")))
        .collect::<Result<_>>()?;
    let tz = match &cli.tz {
        Some(z) => TimeZone::get(z).with_context(|| format!("unknown time zone {z:?}"))?,
        None => TimeZone::system(),
    };
    let now = cli.common.now();
    let filter = filter(cli, sem);
    let mut out: Vec<OutGroup> = Vec::new();

    if cli.pbs {
        let c = |name: &str, v: &Option<String>| -> Result<Option<u64>> {
            v.as_ref()
                .map(|s| {
                    s.parse::<u64>()
                        .with_context(|| format!("--keep-{name} {s:?}: PBS needs a count ≥ 0"))
                })
                .transpose()
        };
        let opts = PruneOptions {
            keep_last: c("last", &cli.keep_last)?,
            keep_hourly: c("hourly", &cli.keep_hourly)?,
            keep_daily: c("daily", &cli.keep_daily)?,
            keep_weekly: c("weekly", &cli.keep_weekly)?,
            keep_monthly: c("monthly", &cli.keep_monthly)?,
            keep_yearly: c("yearly", &cli.keep_yearly)?,
        };
        for (key, members) in group_snapshots(&snaps, cli.group_by) {
            let members: Vec<usize> = members
                .into_iter()
                .filter(|&i| filter.matches(&snaps[i]))
                .collect();
            if members.is_empty() {
                continue;
            }
            let list: Vec<PruneSnapshot> = members
                .iter()
                .map(|&i| PruneSnapshot::new(snaps[i].time.timestamp()))
                .collect();
            let marks = prune(&list, &opts, &tz);
            let mut order: Vec<usize> = (0..members.len()).collect();
            order.sort_by(|&a, &b| list[b].time.cmp(&list[a].time));
            let (mut keep, mut remove, mut reasons) = (Vec::new(), Vec::new(), Vec::new());
            for j in order {
                let v = normalised(&raw[members[j]], cli.group_by.tags);
                if marks[j].keep() {
                    reasons.push(serde_json::json!({"snapshot": v, "matches": [marks[j].reason.unwrap_or("kept")]}));
                    keep.push(v);
                } else {
                    remove.push(v);
                }
            }
            let (tags, host, paths) = group_out(&key);
            out.push(OutGroup {
                tags,
                host,
                paths,
                keep: non_empty(keep),
                remove: non_empty(remove),
                reasons: non_empty(reasons),
            });
        }
    } else {
        let mut policy = ForgetPolicy::default()
            .keep_last(count("last", &cli.keep_last, sem)?)
            .keep_hourly(count("hourly", &cli.keep_hourly, sem)?)
            .keep_daily(count("daily", &cli.keep_daily, sem)?)
            .keep_weekly(count("weekly", &cli.keep_weekly, sem)?)
            .keep_monthly(count("monthly", &cli.keep_monthly, sem)?)
            .keep_yearly(count("yearly", &cli.keep_yearly, sem)?);
        for (d, set) in [
            (
                cli.keep_within,
                ForgetPolicy::keep_within as fn(ForgetPolicy, ResticDuration) -> ForgetPolicy,
            ),
            (cli.keep_within_hourly, ForgetPolicy::keep_within_hourly),
            (cli.keep_within_daily, ForgetPolicy::keep_within_daily),
            (cli.keep_within_weekly, ForgetPolicy::keep_within_weekly),
            (cli.keep_within_monthly, ForgetPolicy::keep_within_monthly),
            (cli.keep_within_yearly, ForgetPolicy::keep_within_yearly),
        ] {
            if let Some(d) = d {
                policy = set(policy, d);
            }
        }
        for t in cli.keep_tag.iter().cloned() {
            policy = policy.keep_tag(t);
        }
        let opts = ForgetOptions::new(now)
            .with_semantics(sem)
            .with_local_tz(tz)
            .with_filter(filter);
        let groups = forget(&snaps, cli.group_by, &policy, &opts)?;
        for g in groups {
            let conv = |v: &[usize]| -> Vec<Value> {
                v.iter()
                    .map(|&i| normalised(&raw[i], cli.group_by.tags))
                    .collect()
            };
            let reasons: Vec<Value> = g
                .plan
                .reasons
                .iter()
                .map(|r| {
                    let mut snap = normalised(&raw[r.index], cli.group_by.tags);
                    if sem == Semantics::Restic014 {
                        if let Some(o) = snap.as_object_mut() {
                            o.remove("id");
                            o.remove("short_id");
                        }
                        serde_json::json!({"snapshot": snap, "matches": r.matches, "counters": r.counters})
                    } else {
                        serde_json::json!({"snapshot": snap, "matches": r.matches})
                    }
                })
                .collect();
            let (tags, host, paths) = group_out(&g.key);
            out.push(OutGroup {
                tags,
                host,
                paths,
                keep: non_empty(conv(&g.plan.keep)),
                remove: non_empty(conv(&g.plan.remove)),
                reasons: non_empty(reasons),
            });
        }
    }
    if out.is_empty() {
        // restic prints no JSON at all when no group is left (`if gopts.JSON && len(jsonGroups) > 0`)
        return Ok(());
    }
    let text = serde_json::to_string(&out)? + "\n";
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Errors exit 2, as every runbook binary's do (restic itself exits 1 on a fatal error).
fn main() -> ExitCode {
    let cli = Cli::parse();
    examples::cli::exit_with("retention", cli.common.verbose, || run(&cli).map(|()| true))
}
