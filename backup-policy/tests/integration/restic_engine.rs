//! Hand-checked restic forget behaviour (research/restic.md §4): reasons, counters, ISO weeks,
//! keep-oldest, unlimited, within, tags, grouping.

use backup_policy::restic::{
    ForgetOptions, ForgetPolicy, GroupBy, Semantics, Snapshot, SnapshotFilter, SnapshotTime,
    TagList, UNLIMITED, forget,
};
use jiff::Timestamp;

fn snap(id: &str, t: &str) -> Snapshot {
    Snapshot::new(id, SnapshotTime::parse(t).unwrap())
}

fn now() -> ForgetOptions {
    ForgetOptions::new("2030-01-01T00:00:00Z".parse().unwrap())
}

fn ids(s: &[Snapshot], v: &[usize]) -> Vec<String> {
    v.iter().map(|&i| s[i].id.clone()).collect()
}

#[test]
fn iso_week_spans_new_year() {
    // 2024-12-30/31 share ISO week 2025-W01 with 2025-01-01..05; weekly keeps 2025-01-05.
    let s: Vec<Snapshot> = [
        "2024-12-29",
        "2024-12-30",
        "2024-12-31",
        "2025-01-02",
        "2025-01-05",
    ]
    .iter()
    .map(|d| snap(d, &format!("{d}T10:00:00Z")))
    .collect();
    let plan = ForgetPolicy::default()
        .keep_weekly(5)
        .apply(&s, &now().with_semantics(Semantics::Restic014))
        .unwrap();
    assert_eq!(ids(&s, &plan.keep), ["2025-01-05", "2024-12-29"]);
}

#[test]
fn reasons_order_and_counters_like_014() {
    let s = vec![
        snap("a", "2026-11-20T10:00:00Z").with_tags(["x", "y"]),
        snap("b", "2026-11-21T10:00:00Z"),
        snap("c", "2026-11-22T10:00:00Z"),
    ];
    let p = ForgetPolicy::default()
        .keep_last(1)
        .keep_daily(2)
        .keep_within("1y".parse().unwrap())
        .keep_tag("x,y".parse::<TagList>().unwrap())
        .keep_within_daily("3d".parse().unwrap());
    let plan = p
        .apply(&s, &now().with_semantics(Semantics::Restic014))
        .unwrap();
    assert_eq!(ids(&s, &plan.keep), ["c", "b", "a"]);
    assert_eq!(
        plan.reasons[0].matches,
        [
            "within 1y",
            "last snapshot",
            "daily snapshot",
            "daily within 3d"
        ]
    );
    assert_eq!(plan.reasons[0].counters.daily, 1);
    assert_eq!(plan.reasons[0].counters.last, 0);
    assert_eq!(
        plan.reasons[2].matches,
        ["has tags [x, y]", "within 1y", "daily within 3d"]
    );
    assert_eq!(
        serde_json::to_string(&plan.reasons[2].counters).unwrap(),
        "{}"
    );
}

#[test]
fn keep_oldest_rule_and_label_only_in_current() {
    let s: Vec<Snapshot> = (1..=3)
        .map(|d| snap(&d.to_string(), &format!("2026-11-0{d}T10:00:00Z")))
        .collect();
    // monthly 2 on three snapshots of one month: 0.14 keeps one, current also keeps the oldest
    let p = ForgetPolicy::default().keep_monthly(2);
    let old = p
        .apply(&s, &now().with_semantics(Semantics::Restic014))
        .unwrap();
    assert_eq!(ids(&s, &old.keep), ["3"]);
    let cur = p.apply(&s, &now()).unwrap();
    assert_eq!(ids(&s, &cur.keep), ["3", "1"]);
    assert_eq!(cur.reasons[1].matches, ["oldest monthly snapshot"]);
    // an exhausted bucket does not keep the oldest
    let p1 = ForgetPolicy::default().keep_monthly(1);
    assert_eq!(ids(&s, &p1.apply(&s, &now()).unwrap().keep), ["3"]);
}

#[test]
fn unlimited_keeps_every_period() {
    let s: Vec<Snapshot> = (1..=9)
        .map(|m| snap(&m.to_string(), &format!("2026-0{m}-15T10:00:00+02:00")))
        .collect();
    let plan = ForgetPolicy::default()
        .keep_monthly(UNLIMITED)
        .apply(&s, &now())
        .unwrap();
    assert_eq!(plan.keep.len(), 9);
    assert_eq!(plan.reasons[0].counters.monthly, -1);
}

#[test]
fn within_ignores_future_snapshots() {
    let s = vec![
        snap("future", "2031-01-01T00:00:00Z"),
        snap("new", "2026-11-20T00:00:00Z"),
        snap("old", "2026-11-10T00:00:00Z"),
    ];
    let plan = ForgetPolicy::default()
        .keep_within("5d".parse().unwrap())
        .apply(&s, &now())
        .unwrap();
    assert_eq!(ids(&s, &plan.keep), ["future", "new"]);
}

#[test]
fn grouping_like_restic() {
    let s = vec![
        snap("a", "2026-11-20T10:00:00Z")
            .with_hostname("h1")
            .with_paths(["/b", "/a"]),
        snap("b", "2026-11-21T10:00:00Z")
            .with_hostname("h1")
            .with_paths(["/a", "/b"]),
        snap("c", "2026-11-21T10:00:00Z")
            .with_hostname("h2")
            .with_paths(["/a"])
            .with_tags(["t"]),
    ];
    let p = ForgetPolicy::default().keep_last(1);
    let g = forget(&s, GroupBy::default(), &p, &now()).unwrap();
    assert_eq!(g.len(), 2);
    assert_eq!(
        g[0].key.to_json(),
        r#"{"hostname":"h1","paths":["/a","/b"],"tags":null}"#
    );
    assert_eq!(ids(&s, &g[0].plan.keep), ["b"]);
    assert_eq!(ids(&s, &g[0].plan.remove), ["a"]);
    let one = forget(&s, "".parse().unwrap(), &p, &now()).unwrap();
    assert_eq!(one.len(), 1);
    let by_tags = forget(&s, "tags".parse().unwrap(), &p, &now()).unwrap();
    assert_eq!(by_tags.len(), 2);
    assert!("host,colour".parse::<GroupBy>().is_err());
}

#[test]
fn current_refuses_to_empty_a_group() {
    let s = vec![snap("a", "2026-11-20T10:00:00Z")];
    let p = ForgetPolicy::default().keep_tag("nope".parse().unwrap());
    let e = forget(&s, GroupBy::default(), &p, &now()).unwrap_err();
    assert!(e.is_refusal());
    assert!(e.to_string().contains("refusing to delete last snapshot"));
    let old = forget(
        &s,
        GroupBy::default(),
        &p,
        &now().with_semantics(Semantics::Restic014),
    )
    .unwrap();
    assert_eq!(old[0].plan.remove.len(), 1);
}

#[test]
fn equal_times_keep_input_order() {
    let s = vec![
        snap("first", "2026-11-20T10:00:00Z"),
        snap("second", "2026-11-20T10:00:00Z"),
    ];
    let plan = ForgetPolicy::default()
        .keep_last(1)
        .apply(&s, &now())
        .unwrap();
    assert_eq!(ids(&s, &plan.keep), ["first"]);
    let _ = Timestamp::UNIX_EPOCH;
}

fn tagged(id: &str, host: &str, paths: &[&str], tags: &[&str]) -> Snapshot {
    snap(id, &format!("2026-11-{:02}T10:00:00Z", id.len() + 1))
        .with_hostname(host)
        .with_paths(paths.iter().copied())
        .with_tags(tags.iter().copied())
}

fn filter_set() -> Vec<Snapshot> {
    vec![
        tagged("a", "alpha", &["/etc"], &["x"]),
        tagged("bb", "beta", &["/etc", "/home"], &["x", "y"]),
        tagged("ccc", "alpha", &["/home"], &[]),
        tagged("dddd", "", &["/etc"], &["y"]),
    ]
}

fn matching(f: &SnapshotFilter) -> Vec<String> {
    filter_set()
        .iter()
        .filter(|s| f.matches(s))
        .map(|s| s.id.clone())
        .collect()
}

#[test]
fn filter_tags_and_within_a_list_or_across_lists() {
    let f = SnapshotFilter::default().with_tag("x,y".parse().unwrap());
    assert_eq!(matching(&f), ["bb"], "comma = AND");
    let f = SnapshotFilter::default()
        .with_tag("x".parse().unwrap())
        .with_tag("y".parse().unwrap());
    assert_eq!(matching(&f), ["a", "bb", "dddd"], "repeated = OR");
    let f = SnapshotFilter::default().with_tag("".parse().unwrap());
    assert_eq!(matching(&f), ["ccc"], "'' = untagged");
    let f = SnapshotFilter::default().with_tag(" y , x ".parse().unwrap());
    assert_eq!(matching(&f), ["bb"], "parts are trimmed");
}

#[test]
fn filter_hosts_or_paths_and() {
    let f = SnapshotFilter::default()
        .with_host("alpha")
        .with_host("beta");
    assert_eq!(matching(&f), ["a", "bb", "ccc"]);
    let f = SnapshotFilter::default()
        .with_path("/etc")
        .with_path("/home");
    assert_eq!(matching(&f), ["bb"], "every --path must be in the snapshot");
    let f = SnapshotFilter::default().with_path("/etc/");
    assert!(matching(&f).is_empty(), "paths compare byte for byte");
    // all three must hold
    let f = SnapshotFilter::default()
        .with_host("alpha")
        .with_tag("x".parse().unwrap())
        .with_path("/etc");
    assert_eq!(matching(&f), ["a"]);
    // `--host ''`: an empty host name in 0.14, no host filter in current restic
    let f = SnapshotFilter::default().with_host("");
    assert_eq!(
        matching(&f.clone().finalized(Semantics::Restic014)),
        ["dddd"]
    );
    assert_eq!(matching(&f.finalized(Semantics::Current)).len(), 4);
    let f = SnapshotFilter::default().with_host("").with_host("beta");
    assert_eq!(
        matching(&f.finalized(Semantics::Current)),
        ["bb", "dddd"],
        "only a lone '' unsets"
    );
}

#[test]
fn forget_considers_only_filtered_snapshots() {
    let s = filter_set();
    let f = SnapshotFilter::default().with_tag("x".parse().unwrap());
    let opts = now().with_filter(f);
    let groups = forget(
        &s,
        GroupBy::none(),
        &ForgetPolicy::default().keep_last(1),
        &opts,
    )
    .unwrap();
    assert_eq!(groups.len(), 1);
    // indices refer to the caller's slice; unmatched snapshots are in neither list
    assert_eq!(ids(&s, &groups[0].plan.keep), ["bb"]);
    assert_eq!(ids(&s, &groups[0].plan.remove), ["a"]);
    assert_eq!(groups[0].plan.reasons[0].index, 1);
    // nothing matches: no group at all (restic prints nothing)
    let opts = now().with_filter(SnapshotFilter::default().with_host("nobody"));
    let groups = forget(
        &s,
        GroupBy::default(),
        &ForgetPolicy::default().keep_last(1),
        &opts,
    )
    .unwrap();
    assert!(groups.is_empty());
}
