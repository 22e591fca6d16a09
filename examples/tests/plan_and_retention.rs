//! Tests of the `backup-audit plan` and `retention` binaries, run as processes.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const NOW: &str = "2026-11-27T12:00:00Z";

fn audit(args: &[&str]) -> Output {
    // wide enough that no table cell wraps, so needles match whole
    Command::new(env!("CARGO_BIN_EXE_backup-audit"))
        .args(args)
        .env("COLUMNS", "1000")
        .env_remove("BACKUP_MATRIX")
        .env_remove("BACKUP_AUDIT_CONFIG")
        .output()
        .unwrap()
}

fn retention(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_retention"))
        .args(args)
        .env("TZ", "UTC")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn plan_tables_cover_the_seed() {
    let o = audit(&["plan", "--now", NOW]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let t = text(&o);
    for needle in [
        "velero-prod",
        "iac-daily",
        "14 daily, 4 weekly",
        "sun 02:00",
        "Sun 29 Nov 02:00",
        "disabled (see findings)",
        "no off-site copy",
        "critical system unifi-vm",
        "Busiest night this week: Sun 29 Nov",
        "Complete site failure",
        "Talos K8s VMs",
    ] {
        assert!(t.contains(needle), "missing {needle:?} in:\n{t}");
    }
    assert!(
        !t.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
    // every table row is aligned: all lines of the first table have the same width
    let widths: Vec<usize> = t
        .lines()
        .skip_while(|l| !l.starts_with('┌'))
        .take_while(|l| l.starts_with(['┌', '│', '├', '╞', '└']))
        .map(|l| l.chars().count())
        .collect();
    assert!(
        widths.len() > 5 && widths.iter().all(|w| *w == widths[0]),
        "{widths:?}"
    );
}

#[test]
fn plan_json_is_complete() {
    let o = audit(&["plan", "--now", NOW, "--json"]);
    assert!(o.status.success());
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["timezone"], "Europe/London");
    let scheds = v["schedules"].as_array().unwrap();
    assert_eq!(scheds.len(), 13);
    let prod = scheds
        .iter()
        .find(|s| s["target"] == "velero-prod" && s["schedule"] == "daily")
        .unwrap();
    assert_eq!(prod["next_runs"][0], "2026-11-28T02:00:00Z");
    assert_eq!(prod["keeps"], 7);
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["kind"].as_str())
        .collect();
    assert!(
        codes.contains(&"no-offsite") && codes.contains(&"storage-contention"),
        "{codes:?}"
    );
    assert_eq!(v["dr"].as_array().unwrap().len(), 5);
}

#[test]
fn plan_reports_config_errors_with_position() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.toml");
    std::fs::write(&p, "timezone = \"UTC\"\n[[target]]\nnmae = \"x\"\n").unwrap();
    let o = audit(&["plan", "--matrix", p.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.toml:3:1"), "{err}");
    let o = audit(&["plan", "--now", "yesterday"]);
    assert!(!o.status.success());
}

fn snapshots_json() -> String {
    let times = [
        "2026-11-01T02:00:00+01:00",
        "2026-11-20T02:00:00Z",
        "2026-11-21T02:00:00Z",
        "2026-11-22T02:00:00Z",
        "2026-11-22T14:00:00Z",
        "2026-11-25T02:00:00-05:00",
    ];
    let snaps: Vec<Value> = times
        .iter()
        .enumerate()
        .map(|(i, t)| {
            serde_json::json!({"time": t, "tree": "00", "paths": ["/b", "/a"], "hostname": "h", "id": format!("{i:064}"),
                               "short_id": format!("{i:08}"), "tags": if i == 0 { serde_json::json!(["keep"]) } else { Value::Null }})
        })
        .collect();
    serde_json::to_string(&snaps).unwrap()
}

#[test]
fn retention_prints_restics_shape() {
    let o = retention(
        &["--keep-daily", "2", "--keep-tag", "keep", "--now", NOW],
        &snapshots_json(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let g = &v[0];
    assert_eq!(g["host"], "h");
    assert_eq!(g["paths"], serde_json::json!(["/a", "/b"]));
    assert!(g["tags"].is_null());
    let ids = |k: &str| -> Vec<String> {
        g[k].as_array()
            .unwrap()
            .iter()
            .map(|s| s["short_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids("keep"), ["00000005", "00000004", "00000000"]);
    assert_eq!(ids("remove"), ["00000003", "00000002", "00000001"]);
    assert_eq!(
        g["reasons"][2]["matches"],
        serde_json::json!(["has tags [keep]"])
    );
    assert!(
        g["reasons"][0]["snapshot"]["id"].is_string(),
        "current shape: ids in reasons"
    );
    assert!(g["reasons"][0].get("counters").is_none());

    let o = retention(
        &["--keep-daily", "2", "--restic-compat", "0.14", "--now", NOW],
        &snapshots_json(),
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v[0]["reasons"][0]["counters"],
        serde_json::json!({"daily": 1})
    );
    assert!(
        v[0]["reasons"][0]["snapshot"].get("id").is_none(),
        "0.14 shape: no ids in reasons"
    );
}

#[test]
fn retention_refuses_data_loss_and_supports_pbs() {
    let s = snapshots_json();
    for args in [
        vec!["--keep-daily", "-1"],
        vec![],
        vec!["--keep-tag", "nothing-has-this"],
        vec!["--keep-daily", "unlimited", "--restic-compat", "0.14"],
    ] {
        let o = retention(&args, &s);
        assert!(!o.status.success(), "{args:?} must fail");
        assert!(o.stdout.is_empty());
    }
    let o = retention(&["--keep-daily", "unlimited", "--now", NOW], &s);
    assert!(o.status.success());
    let o = retention(&["--pbs", "--keep-daily", "2", "--keep-weekly", "1"], &s);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let m: Vec<Value> = v[0]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["matches"][0].clone())
        .collect();
    assert_eq!(
        m,
        [
            serde_json::json!("keep-daily"),
            serde_json::json!("keep-daily"),
            serde_json::json!("keep-weekly")
        ]
    );
}

/// The binary against the real restic 0.14 on the same repository: identical JSON.
#[test]
fn retention_matches_real_restic_014() {
    let ok = Command::new("restic")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "restic is not installed (Debian: `sudo apt-get install -y restic`)"
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("data")).unwrap();
    std::fs::write(d.join("data/f"), "x").unwrap();
    let restic = |args: &[&str]| -> Vec<u8> {
        let o = Command::new("restic")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", d)
            .env("TZ", "Europe/Berlin")
            .env("RESTIC_REPOSITORY", d.join("repo"))
            .env("RESTIC_PASSWORD", "test-only")
            .env("RESTIC_CACHE_DIR", d.join("cache"))
            .current_dir(d)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "restic {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        o.stdout
    };
    restic(&["init"]);
    for t in [
        "2024-10-20 10:00:00",
        "2024-10-26 23:30:00",
        "2024-10-27 01:30:00",
        "2024-12-30 10:00:00",
        "2025-01-02 10:00:00",
    ] {
        restic(&[
            "backup", "-q", "--time", t, "--host", "b", "--tag", "x", "data",
        ]);
    }
    let snaps = String::from_utf8(restic(&["snapshots", "--json"])).unwrap();
    let policy = [
        "--keep-daily",
        "3",
        "--keep-weekly",
        "2",
        "--keep-within",
        "5d",
        "--group-by",
        "host,tags",
    ];
    let mut args = vec!["forget", "--dry-run", "--json"];
    args.extend(policy);
    let theirs: Value = serde_json::from_slice(&restic(&args)).unwrap();
    let mut ours_args = vec!["--restic-compat", "0.14"];
    ours_args.extend(policy);
    let mut child = Command::new(env!("CARGO_BIN_EXE_retention"))
        .args(&ours_args)
        .env("TZ", "Europe/Berlin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(snaps.as_bytes())
        .unwrap();
    let ours: Value = serde_json::from_slice(&child.wait_with_output().unwrap().stdout).unwrap();
    assert_eq!(ours, theirs);
}

/// `retention` with restic's snapshot filters against the real restic 0.14 on one repository:
/// the same JSON for each filter, and no output at all when nothing matches.
#[test]
fn retention_filters_match_real_restic_014() {
    let ok = Command::new("restic")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "restic is not installed (Debian: `sudo apt-get install -y restic`)"
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for sub in ["d1", "d2"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
        std::fs::write(d.join(sub).join("f"), sub).unwrap();
    }
    let restic = |args: &[&str]| -> Vec<u8> {
        let o = Command::new("restic")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", d)
            .env("TZ", "UTC")
            .env("RESTIC_REPOSITORY", d.join("repo"))
            .env("RESTIC_PASSWORD", "test-only")
            .env("RESTIC_CACHE_DIR", d.join("cache"))
            .current_dir(d)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "restic {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        o.stdout
    };
    restic(&["init"]);
    for (t, host, tags, dirs) in [
        ("2026-11-20 02:00:00", "a", "x", &["d1"][..]),
        ("2026-11-21 02:00:00", "a", "x,y", &["d1", "d2"][..]),
        ("2026-11-22 02:00:00", "b", "y", &["d1"][..]),
        ("2026-11-23 02:00:00", "b", "", &["d2"][..]),
        ("2026-11-24 02:00:00", "a", "x", &["d2", "d1"][..]),
    ] {
        let mut args = vec!["backup", "-q", "--time", t, "--host", host];
        if !tags.is_empty() {
            args.extend(["--tag", tags]);
        }
        args.extend(dirs);
        restic(&args);
    }
    let snaps = String::from_utf8(restic(&["snapshots", "--json"])).unwrap();
    let d1 = d.join("d1").display().to_string();
    let d2 = d.join("d2").display().to_string();
    let filters: Vec<Vec<&str>> = vec![
        vec!["--host", "a"],
        vec!["--host", "a", "--host", "b"],
        vec!["--tag", "x,y"],
        vec!["--tag", "x", "--tag", "y"],
        vec!["--tag", ""],
        vec!["--path", &d1],
        vec!["--path", &d1, "--path", &d2],
        vec!["--host", "a", "--tag", "x", "--path", &d2],
        vec!["--hostname", "b"],
        vec!["--host", "nobody"],
        vec!["--host", ""],
        vec!["--tag", "z"],
    ];
    let mut empty = 0;
    for f in &filters {
        let mut args = vec!["forget", "--dry-run", "--json", "--keep-last", "1"];
        args.extend(f.iter().copied());
        let theirs = restic(&args);
        let mut ours_args = vec!["--restic-compat", "0.14", "--keep-last", "1"];
        ours_args.extend(f.iter().copied());
        let o = retention(&ours_args, &snaps);
        assert!(
            o.status.success(),
            "{f:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        if theirs.iter().all(u8::is_ascii_whitespace) {
            empty += 1;
            assert!(
                o.stdout.is_empty(),
                "{f:?}: restic printed nothing, we printed {}",
                text(&o)
            );
            continue;
        }
        // restic walks its groups in Go map order (random): compare them as a set
        let sorted = |raw: &[u8]| -> Vec<Value> {
            let mut v: Vec<Value> = serde_json::from_slice(raw).unwrap();
            v.sort_by_key(|g| format!("{}{}{}", g["host"], g["paths"], g["tags"]));
            v
        };
        assert_eq!(sorted(&o.stdout), sorted(&theirs), "{f:?}");
    }
    assert_eq!(
        empty, 3,
        "--host nobody, --host '' and --tag z match nothing in 0.14"
    );
}

/// Current semantics: `RESTIC_HOST` is the default host filter and a lone `--host ''` unsets it.
#[test]
fn retention_current_host_defaults() {
    let s = snapshots_json();
    let run = |args: &[&str], env_host: Option<&str>| -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_retention"));
        cmd.args(args)
            .env("TZ", "UTC")
            .env_remove("RESTIC_HOST")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(h) = env_host {
            cmd.env("RESTIC_HOST", h);
        }
        let mut child = cmd.spawn().unwrap();
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let base = ["--keep-last", "1", "--now", NOW];
    let o = run(&base, Some("other"));
    assert!(o.status.success());
    assert!(o.stdout.is_empty(), "RESTIC_HOST=other filters host h out");
    let mut a = base.to_vec();
    a.extend(["--host", ""]);
    let o = run(&a, Some("other"));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v[0]["keep"].as_array().unwrap().len(),
        1,
        "--host '' = all hosts"
    );
    let mut a = base.to_vec();
    a.extend(["--restic-compat", "0.14"]);
    let o = run(&a, Some("other"));
    assert!(!o.stdout.is_empty(), "0.14 has no RESTIC_HOST default");
    let mut a = base.to_vec();
    a.extend(["--restic-compat", "0.14", "--host", ""]);
    let o = run(&a, None);
    assert!(
        o.stdout.is_empty(),
        "0.14: --host '' means an empty host name"
    );
}

/// The seed's plan shows the true peak (not "11 runs overlap"), the queued PBS guests, the
/// assumed durations, the DR co-location findings and the RPO per system.
#[test]
fn plan_shows_peak_dr_and_rpo() {
    let o = audit(&["plan", "--now", NOW]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let t = text(&o);
    for needle in [
        "4 runs overlap Sun 03:00–03:30",
        "2 runs overlap daily except Sun 02:00–02:30",
        "queued in pve-weekly",
        "1h assumed",
        "dr-colocated",
        "restores from pbs-ruapehu on truenas-hdd, the same device as garage",
        "backup-on-source",
        "dr-uncovered",
        "Recovery point",
        "14 daily + 4 weekly reaches back 19 days, not 6 weeks",
    ] {
        assert!(t.contains(needle), "missing {needle:?} in:\n{t}");
    }
    assert!(!t.contains("11 runs overlap"), "{t}");
    let o = audit(&["plan", "--now", NOW, "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let rpo = |sys: &str| {
        v["rpo"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["system"] == sys)
            .unwrap()["worst_case_seconds"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(rpo("unifi-vm"), 7 * 86_400, "UniFi's daily is disabled");
    assert_eq!(rpo("iac-lxc"), 86_400);
}

/// Observed durations replace the assumed ones: PBS guests that take 10 minutes no longer
/// overlap the Velero weeklies, and the timeline says "observed".
#[test]
fn plan_uses_observed_durations() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("durations.json");
    std::fs::write(
        &p,
        r#"{"durations":[
            {"target":"pbs-iac","schedule":"weekly","seconds":600,"samples":4},
            {"target":"pbs-plex","schedule":"weekly","seconds":600,"samples":4},
            {"target":"pbs-unifi","schedule":"weekly","seconds":600,"samples":4}]}"#,
    )
    .unwrap();
    let o = audit(&["plan", "--now", NOW, "--observed", p.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let t = text(&o);
    assert!(t.contains("10m observed"), "{t}");
    assert!(!t.contains("4 runs overlap Sun"), "{t}");
    assert!(t.contains("3 runs overlap Sun 02:00–02:10"), "{t}");
    std::fs::write(
        &p,
        r#"{"durations":[{"target":"x","schedule":"y","seconds":-5}]}"#,
    )
    .unwrap();
    let o = audit(&["plan", "--now", NOW, "--observed", p.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("seconds must be > 0"));
}

/// The plan shows every run in the display zone (Europe/London) and says which schedules run on
/// another clock: Velero's `0 2 * * *` runs at 02:00 UTC, which is 02:00 GMT in winter and
/// 03:00 BST in summer; London-zoned PBS and Backrest schedules get no note.
#[test]
fn plan_says_when_a_tools_clock_differs() {
    for (now, next, note) in [
        (
            NOW,
            "Sat 28 Nov 02:00",
            "velero-prod/daily runs in UTC ([zones]): 02:00 UTC = 02:00 GMT",
        ),
        (
            "2026-07-01T12:00:00Z",
            "Thu 02 Jul 03:00",
            "velero-prod/daily runs in UTC ([zones]): 02:00 UTC = 03:00 BST",
        ),
    ] {
        let o = audit(&["plan", "--now", now]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let t = text(&o);
        assert!(
            t.contains("Times above are Europe/London; these schedules run on another clock:"),
            "{t}"
        );
        assert!(t.contains(note), "missing {note:?} in:\n{t}");
        assert!(
            t.contains(next),
            "next run in the display zone {next:?}:\n{t}"
        );
        assert!(t.contains("velero-monit/weekly runs in UTC"), "{t}");
        assert!(!t.contains("pbs-iac/weekly runs in"), "{t}");
        assert!(!t.contains("iac-daily/daily runs in"), "{t}");
        let o = audit(&["plan", "--now", now, "--json"]);
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        let zone = |target: &str| {
            v["schedules"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["target"] == target)
                .unwrap()["zone"]
                .clone()
        };
        assert_eq!(zone("velero-prod"), "UTC");
        assert_eq!(zone("pbs-iac"), "Europe/London");
    }
}
