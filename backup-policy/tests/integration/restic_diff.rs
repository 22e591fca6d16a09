//! Differential test against the real `restic forget --dry-run --json` (Debian's restic 0.14).
//!
//! Random snapshot sets are written with `restic backup --time … --host … --tag …` into local
//! temporary repositories under several `TZ` values (so snapshots carry different offsets, and
//! DST changes fall inside the sets); random policies are then run through restic and through the
//! engine in 0.14 mode, and keep/remove/reasons/counters must be identical per group.
//!
//! Size: `DIFF_CASES` policies per repository (default 10), `DIFF_SNAPSHOTS` snapshots per
//! repository (default 14), `DIFF_SEED` to reproduce a run. A missing restic FAILS the test.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use backup_policy::restic::{
    ForgetOptions, ForgetPolicy, GroupBy, GroupKey, Semantics, Snapshot, SnapshotFilter, TagList,
    forget,
};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;

/// splitmix64: small deterministic PRNG (no extra dependency).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Repo {
    dir: PathBuf,
    tz: &'static str,
}

impl Repo {
    fn restic(&self) -> Command {
        let mut c = Command::new("restic");
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.dir)
            .env("TZ", self.tz)
            .env("RESTIC_REPOSITORY", self.dir.join("repo"))
            .env("RESTIC_PASSWORD", "differential-test-only")
            .env("RESTIC_CACHE_DIR", self.dir.join("cache"));
        c
    }

    fn run(&self, args: &[String]) -> Vec<u8> {
        let out = self.restic().args(args).output().expect("run restic");
        assert!(
            out.status.success(),
            "restic {args:?} (TZ={}) failed: {}",
            self.tz,
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }
}

fn require_restic() {
    match Command::new("restic").arg("version").output() {
        Ok(o) if o.status.success() => {}
        _ => panic!(
            "restic is not installed: this differential test needs the real restic \
             (Debian: `sudo apt-get install -y restic`; scripts/test.sh installs it)"
        ),
    }
}

/// Random civil times (unambiguous in `tz`, distinct instants) around ISO-week and DST edges.
fn random_times(rng: &mut Rng, tz: &TimeZone, n: usize) -> Vec<jiff::civil::DateTime> {
    let anchors = [
        jiff::civil::date(2023, 12, 27),
        jiff::civil::date(2024, 3, 28),
        jiff::civil::date(2024, 10, 25),
        jiff::civil::date(2024, 12, 26),
        jiff::civil::date(2025, 6, 1),
    ];
    let mut out: Vec<jiff::civil::DateTime> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    while out.len() < n {
        let a = anchors[rng.below(anchors.len() as u64) as usize];
        // cluster: most within ±10 days of an anchor, some spread over months
        let span = if rng.chance(70) { 20 } else { 200 };
        let d = a
            .checked_add(jiff::Span::new().days(rng.below(span) as i64 - (span as i64) / 2))
            .unwrap();
        let dt = d.at(
            rng.below(24) as i8,
            rng.below(60) as i8,
            rng.below(60) as i8,
            0,
        );
        let amb = tz.to_ambiguous_zoned(dt);
        let Ok(z) = amb.unambiguous() else { continue };
        if seen.insert(z.timestamp()) {
            out.push(dt);
        }
    }
    out
}

fn random_policy(rng: &mut Rng) -> (Vec<String>, ForgetPolicy, GroupBy) {
    loop {
        let mut args: Vec<String> = Vec::new();
        let mut p = ForgetPolicy::default();
        let counts = ["last", "hourly", "daily", "weekly", "monthly", "yearly"];
        for (i, name) in counts.iter().enumerate() {
            if rng.chance(35) {
                let n = 1 + rng.below(5) as i32;
                args.push(format!("--keep-{name}"));
                args.push(n.to_string());
                p = match i {
                    0 => p.keep_last(n),
                    1 => p.keep_hourly(n),
                    2 => p.keep_daily(n),
                    3 => p.keep_weekly(n),
                    4 => p.keep_monthly(n),
                    _ => p.keep_yearly(n),
                };
            }
        }
        let durs = ["", "-hourly", "-daily", "-weekly", "-monthly", "-yearly"];
        for (i, suffix) in durs.iter().enumerate() {
            if rng.chance(12) {
                let units = ["y", "m", "d", "h"];
                let mut s = String::new();
                for u in units {
                    if rng.chance(40) {
                        let max = match u {
                            "y" => 2,
                            "m" => 8,
                            "d" => 40,
                            _ => 72,
                        };
                        s.push_str(&format!("{}{u}", 1 + rng.below(max)));
                    }
                }
                if s.is_empty() {
                    s = format!("{}d", 1 + rng.below(30));
                }
                args.push(format!("--keep-within{suffix}"));
                args.push(s.clone());
                let d = s.parse().unwrap();
                p = match i {
                    0 => p.keep_within(d),
                    1 => p.keep_within_hourly(d),
                    2 => p.keep_within_daily(d),
                    3 => p.keep_within_weekly(d),
                    4 => p.keep_within_monthly(d),
                    _ => p.keep_within_yearly(d),
                };
            }
        }
        if rng.chance(20) {
            let t = ["a", "b", "a,b", ""][rng.below(4) as usize];
            args.push("--keep-tag".into());
            args.push(t.into());
            p = p.keep_tag(t.parse::<TagList>().unwrap());
        }
        if p.is_empty() {
            continue;
        }
        let gb = [
            "host,paths",
            "host",
            "",
            "tags",
            "host,tags",
            "paths",
            "host,paths,tags",
        ][rng.below(7) as usize];
        args.push("--group-by".into());
        args.push(gb.into());
        return (args, p, gb.parse().unwrap());
    }
}

fn key_of(g: &Value) -> GroupKey {
    let strs = |v: &Value| -> Option<Vec<String>> {
        v.as_array().map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
    };
    let mut k = GroupKey::default();
    k.hostname = g["host"].as_str().unwrap_or("").to_string();
    k.paths = strs(&g["paths"]).filter(|p| !p.is_empty());
    k.tags = strs(&g["tags"]).filter(|p| !p.is_empty());
    k
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|s| s["id"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// `template` holds an empty initialised repository (restic init is slow: key derivation).
fn setup(
    template: &Path,
    tz: &'static str,
    rng: &mut Rng,
    n: usize,
    both_paths_pct: u64,
) -> (tempfile::TempDir, Repo, Vec<Snapshot>) {
    let tmp = tempfile::tempdir().unwrap();
    let repo = Repo {
        dir: tmp.path().to_path_buf(),
        tz,
    };
    for d in ["d1", "d2"] {
        std::fs::create_dir_all(tmp.path().join(d)).unwrap();
        std::fs::write(tmp.path().join(d).join("f"), d).unwrap();
    }
    copy_dir(template, &tmp.path().join("repo"));
    let zone = TimeZone::get(tz).unwrap();
    for dt in random_times(rng, &zone, n) {
        let mut args: Vec<String> = vec![
            "backup".into(),
            "-q".into(),
            "--time".into(),
            dt.strftime("%Y-%m-%d %H:%M:%S").to_string(),
        ];
        args.push("--host".into());
        args.push(["alpha", "beta"][rng.below(2) as usize].into());
        for t in ["a", "b"] {
            if rng.chance(40) {
                args.push("--tag".into());
                args.push(t.into());
            }
        }
        let dir: &Path = &tmp.path().join(["d1", "d2"][rng.below(2) as usize]);
        args.push(dir.display().to_string());
        if both_paths_pct > 0 && rng.chance(both_paths_pct) {
            let other = if dir.ends_with("d1") { "d2" } else { "d1" };
            args.push(tmp.path().join(other).display().to_string());
        }
        repo.run(&args);
    }
    let snaps: Vec<Snapshot> =
        serde_json::from_slice(&repo.run(&["snapshots".into(), "--json".into()])).unwrap();
    assert_eq!(snaps.len(), n);
    (tmp, repo, snaps)
}

#[test]
fn engine_matches_restic_014_forget() {
    require_restic();
    let seed = env_num("DIFF_SEED", 0x5EED_2026);
    let cases = env_num("DIFF_CASES", 10) as usize;
    let n_snaps = env_num("DIFF_SNAPSHOTS", 14) as usize;
    let mut rng = Rng(seed);
    let mut compared = 0;
    let template = tempfile::tempdir().unwrap();
    Repo {
        dir: template.path().to_path_buf(),
        tz: "UTC",
    }
    .run(&["init".into()]);
    for tz in ["UTC", "Europe/Berlin", "America/New_York"] {
        let (_tmp, repo, snaps) = setup(&template.path().join("repo"), tz, &mut rng, n_snaps, 0);
        let zone = TimeZone::get(tz).unwrap();
        for case in 0..cases {
            let (mut args, policy, gb) = random_policy(&mut rng);
            let now = Timestamp::now();
            let mut cmd = vec!["forget".to_string(), "--dry-run".into(), "--json".into()];
            cmd.append(&mut args);
            let out: Value = serde_json::from_slice(&repo.run(&cmd)).unwrap();
            let opts = ForgetOptions::new(now)
                .with_semantics(Semantics::Restic014)
                .with_local_tz(zone.clone());
            let ours = forget(&snaps, gb, &policy, &opts).unwrap();
            let mut theirs: BTreeMap<GroupKey, &Value> = BTreeMap::new();
            for g in out.as_array().unwrap() {
                theirs.insert(key_of(g), g);
            }
            let ctx = format!("seed={seed:#x} TZ={tz} case={case} cmd={cmd:?}");
            assert_eq!(theirs.len(), ours.len(), "group count, {ctx}");
            for g in &ours {
                let t = theirs
                    .get(&g.key)
                    .unwrap_or_else(|| panic!("group {:?} missing in restic, {ctx}", g.key));
                let our_keep: Vec<String> =
                    g.plan.keep.iter().map(|&i| snaps[i].id.clone()).collect();
                let our_remove: Vec<String> =
                    g.plan.remove.iter().map(|&i| snaps[i].id.clone()).collect();
                assert_eq!(our_keep, ids(&t["keep"]), "keep, {ctx}");
                assert_eq!(our_remove, ids(&t["remove"]), "remove, {ctx}");
                let reasons = t["reasons"].as_array().cloned().unwrap_or_default();
                assert_eq!(reasons.len(), g.plan.reasons.len(), "reasons, {ctx}");
                for (r, ours) in reasons.iter().zip(&g.plan.reasons) {
                    let their_time = time_of(&r["snapshot"]["time"]);
                    assert_eq!(
                        their_time,
                        snaps[ours.index].time.timestamp(),
                        "reason order, {ctx}"
                    );
                    let m: Vec<String> = serde_json::from_value(r["matches"].clone()).unwrap();
                    assert_eq!(m, ours.matches, "matches, {ctx}");
                    assert_eq!(
                        r["counters"],
                        serde_json::to_value(ours.counters).unwrap(),
                        "counters, {ctx}"
                    );
                }
            }
            compared += 1;
        }
    }
    assert_eq!(compared, 3 * cases);
}

fn time_of(v: &Value) -> Timestamp {
    backup_policy::restic::SnapshotTime::parse(v.as_str().unwrap())
        .unwrap()
        .timestamp()
}

/// Random `--host`/`--tag`/`--path` filters (repeated, comma lists, `''`, values that match
/// nothing) with random policies, through restic 0.14 and the engine: the same groups with the
/// same keep/remove, and no output at all when nothing matches.
#[test]
fn filters_match_restic_014_forget() {
    require_restic();
    let seed = env_num("DIFF_SEED", 0xF117_2026);
    let cases = env_num("DIFF_CASES", 10) as usize * 2;
    let n_snaps = env_num("DIFF_SNAPSHOTS", 14) as usize;
    let mut rng = Rng(seed);
    let template = tempfile::tempdir().unwrap();
    Repo {
        dir: template.path().to_path_buf(),
        tz: "UTC",
    }
    .run(&["init".into()]);
    let (tmp, repo, snaps) = setup(
        &template.path().join("repo"),
        "Europe/Berlin",
        &mut rng,
        n_snaps,
        35,
    );
    let zone = TimeZone::get("Europe/Berlin").unwrap();
    let d = |n: &str| tmp.path().join(n).display().to_string();
    let mut empty_outputs = 0;
    let mut filtered_out = 0;
    for case in 0..cases {
        let (mut policy_args, policy, gb) = random_policy(&mut rng);
        let mut filter = SnapshotFilter::default();
        let mut args: Vec<String> = Vec::new();
        for _ in 0..rng.below(3) {
            let h = ["alpha", "beta", "gamma", ""][rng.below(4) as usize];
            args.extend(["--host".into(), h.into()]);
            filter = filter.with_host(h);
        }
        for _ in 0..rng.below(3) {
            let t = ["a", "b", "a,b", "", "b, a", "c"][rng.below(6) as usize];
            args.extend(["--tag".into(), t.into()]);
            filter = filter.with_tag(t.parse::<TagList>().unwrap());
        }
        for _ in 0..rng.below(3) {
            let p =
                [d("d1"), d("d2"), d("d1") + "/", "/nowhere".into()][rng.below(4) as usize].clone();
            args.extend(["--path".into(), p.clone()]);
            filter = filter.with_path(p);
        }
        let filter = filter.finalized(Semantics::Restic014);
        let mut cmd = vec!["forget".to_string(), "--dry-run".into(), "--json".into()];
        cmd.append(&mut args);
        cmd.append(&mut policy_args);
        let raw = repo.run(&cmd);
        let ctx = format!("seed={seed:#x} case={case} cmd={cmd:?}");
        let opts = ForgetOptions::new(Timestamp::now())
            .with_semantics(Semantics::Restic014)
            .with_local_tz(zone.clone())
            .with_filter(filter.clone());
        let ours = forget(&snaps, gb, &policy, &opts).unwrap();
        filtered_out += snaps.iter().filter(|s| !filter.matches(s)).count();
        if raw.iter().all(u8::is_ascii_whitespace) {
            empty_outputs += 1;
            assert!(
                ours.is_empty(),
                "restic printed nothing, we have {ours:?}, {ctx}"
            );
            continue;
        }
        let out: Value = serde_json::from_slice(&raw).unwrap();
        let mut theirs: BTreeMap<GroupKey, &Value> = BTreeMap::new();
        for g in out.as_array().unwrap() {
            theirs.insert(key_of(g), g);
        }
        assert_eq!(theirs.len(), ours.len(), "group count, {ctx}");
        for g in &ours {
            let t = theirs
                .get(&g.key)
                .unwrap_or_else(|| panic!("group {:?} missing in restic, {ctx}", g.key));
            let keep: Vec<String> = g.plan.keep.iter().map(|&i| snaps[i].id.clone()).collect();
            let remove: Vec<String> = g.plan.remove.iter().map(|&i| snaps[i].id.clone()).collect();
            assert_eq!(keep, ids(&t["keep"]), "keep, {ctx}");
            assert_eq!(remove, ids(&t["remove"]), "remove, {ctx}");
        }
    }
    // the random filters exercised both sides: some runs matched nothing, some dropped snapshots
    assert!(
        empty_outputs > 0 && filtered_out > 0,
        "{empty_outputs} {filtered_out}"
    );
}
