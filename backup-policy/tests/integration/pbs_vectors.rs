//! Upstream PBS prune test vectors (research/pbs.md §4.2) and derived vector W.

use backup_policy::pbs::{Mark, PruneOptions, PruneSnapshot, compute_prune_info};
use jiff::Timestamp;
use jiff::tz::TimeZone;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn list(times: &[&str]) -> Vec<PruneSnapshot> {
    times.iter().map(|t| PruneSnapshot::new(ts(t))).collect()
}

fn opts(v: [Option<u64>; 6]) -> PruneOptions {
    PruneOptions {
        keep_last: v[0],
        keep_hourly: v[1],
        keep_daily: v[2],
        keep_weekly: v[3],
        keep_monthly: v[4],
        keep_yearly: v[5],
    }
}

/// (removed, kept) as time strings, oldest first.
fn run(l: &[PruneSnapshot], o: PruneOptions) -> (Vec<String>, Vec<String>) {
    let marks = compute_prune_info(l, &o, &TimeZone::UTC);
    let mut idx: Vec<usize> = (0..l.len()).collect();
    idx.sort_by_key(|&i| l[i].time);
    let pick = |keep: bool| {
        idx.iter()
            .filter(|&&i| marks[i].keep() == keep)
            .map(|&i| l[i].time.to_string())
            .collect()
    };
    (pick(false), pick(true))
}

const ELSA: [&str; 4] = [
    "2019-12-02T11:59:15Z",
    "2019-12-03T11:59:15Z",
    "2019-12-04T11:59:15Z",
    "2019-12-04T12:59:15Z",
];

#[test]
fn keep_last_vectors() {
    let l = list(&ELSA);
    let n = |k: u64| run(&l, opts([Some(k), None, None, None, None, None])).0;
    assert!(n(4).is_empty());
    assert_eq!(n(3), [ELSA[0]]);
    assert_eq!(n(2), [ELSA[0], ELSA[1]]);
    assert_eq!(n(1), [ELSA[0], ELSA[1], ELSA[2]]);
    assert_eq!(n(0), ELSA);
}

#[test]
fn daily_and_combined_vectors() {
    let l = list(&ELSA);
    assert!(
        run(&l, opts([Some(2), None, Some(2), None, None, None]))
            .0
            .is_empty()
    );
    assert_eq!(
        run(&l, opts([None, None, Some(3), None, None, None])).0,
        [ELSA[2]]
    );
    assert_eq!(
        run(&l, opts([None, None, Some(2), None, None, None])).0,
        [ELSA[0], ELSA[2]]
    );
    let three = vec![ELSA[0], ELSA[1], ELSA[2]];
    for o in [
        opts([None, None, None, Some(5), None, None]),
        opts([None, None, Some(1), Some(5), None, None]),
        opts([None, None, None, None, Some(6), None]),
        opts([None, None, None, None, None, Some(7)]),
        opts([None, None, None, Some(5), Some(6), Some(7)]),
    ] {
        assert_eq!(run(&l, o).0, three, "{o:?}");
    }
}

#[test]
fn hourly_vectors() {
    let t: Vec<String> = ["09:39", "10:49", "10:59", "11:39", "11:49", "11:59"]
        .iter()
        .map(|h| format!("2019-11-15T{h}:15Z"))
        .collect();
    let l = list(&t.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        run(&l, opts([None, Some(3), None, None, None, None])).0,
        [t[1].clone(), t[3].clone(), t[4].clone()]
    );
    assert_eq!(
        run(&l, opts([None, Some(2), None, None, None, None])).1,
        [t[2].clone(), t[5].clone()]
    );
}

#[test]
fn long_range_vectors() {
    let days = [
        "2018-11-15",
        "2019-11-15",
        "2019-11-21",
        "2019-11-22",
        "2019-11-29",
        "2019-12-01",
        "2019-12-02",
        "2019-12-03",
        "2019-12-04",
    ];
    let t: Vec<String> = days.iter().map(|d| format!("{d}T11:59:15Z")).collect();
    let l = list(&t.iter().map(String::as_str).collect::<Vec<_>>());
    let kept = |o| run(&l, o).1;
    let k = |ds: &[&str]| {
        ds.iter()
            .map(|d| format!("{d}T11:59:15Z"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kept(opts([None, None, Some(1), None, None, None])),
        k(&["2019-12-04"])
    );
    assert_eq!(
        kept(opts([Some(1), None, Some(1), None, None, None])),
        k(&["2019-12-03", "2019-12-04"])
    );
    assert_eq!(
        kept(opts([None, None, Some(1), Some(1), None, None])),
        k(&["2019-12-01", "2019-12-04"])
    );
    assert_eq!(
        kept(opts([None, None, Some(1), Some(1), Some(1), None])),
        k(&["2019-11-22", "2019-12-01", "2019-12-04"])
    );
    assert_eq!(
        kept(opts([None, None, None, None, Some(1), Some(1)])),
        k(&["2018-11-15", "2019-12-04"])
    );
}

#[test]
fn protected_vectors() {
    let t = [
        "2019-11-15T09:39:15Z",
        "2019-11-15T10:39:15Z",
        "2019-11-15T10:49:15Z",
        "2019-11-15T10:59:15Z",
    ];
    let mut l = list(&t);
    l[0] = l[0].with_protected(true);
    l[3] = l[3].with_protected(true);
    for o in [
        opts([Some(1), None, None, None, None, None]),
        opts([None, Some(1), None, None, None, None]),
    ] {
        assert_eq!(run(&l, o).0, [t[1]], "{o:?}");
        let marks = compute_prune_info(&l, &o, &TimeZone::UTC);
        assert_eq!(marks[0].mark, Mark::Protected);
    }
}

#[test]
fn unfinished_only_newest_survives() {
    let t = [
        "2019-11-15T09:00:00Z",
        "2019-11-15T10:00:00Z",
        "2019-11-15T11:00:00Z",
    ];
    let mut l = list(&t);
    l[0] = l[0].with_finished(false);
    l[2] = l[2].with_finished(false);
    let marks = compute_prune_info(
        &l,
        &opts([Some(5), None, None, None, None, None]),
        &TimeZone::UTC,
    );
    assert_eq!(
        marks.iter().map(|m| m.mark).collect::<Vec<_>>(),
        [Mark::Remove, Mark::Keep, Mark::KeepPartial]
    );
}

#[test]
fn derived_vector_w_pbs_13_vs_restic_12() {
    let mut l = Vec::new();
    let mut d = jiff::civil::date(2024, 1, 1);
    while d <= jiff::civil::date(2024, 3, 31) {
        l.push(PruneSnapshot::new(
            d.at(2, 0, 0, 0)
                .to_zoned(TimeZone::UTC)
                .unwrap()
                .timestamp(),
        ));
        d = d.tomorrow().unwrap();
    }
    assert_eq!(l.len(), 91);
    let (_, kept) = run(&l, opts([None, None, Some(7), Some(4), Some(3), None]));
    let days: Vec<&str> = kept.iter().map(|k| &k[5..10]).collect();
    assert_eq!(
        days,
        [
            "01-31", "02-25", "03-03", "03-10", "03-17", "03-24", "03-25", "03-26", "03-27",
            "03-28", "03-29", "03-30", "03-31"
        ]
    );
    // restic keeps 12 with the same numbers, 02-29 instead of 02-25 and no 03-03.
    use backup_policy::restic::{ForgetOptions, ForgetPolicy, Snapshot, SnapshotTime};
    let snaps: Vec<Snapshot> = l
        .iter()
        .enumerate()
        .map(|(i, s)| Snapshot::new(i.to_string(), SnapshotTime::utc(s.time)))
        .collect();
    let p = ForgetPolicy::default()
        .keep_daily(7)
        .keep_weekly(4)
        .keep_monthly(3);
    let plan = p
        .apply(&snaps, &ForgetOptions::new(ts("2025-01-01T00:00:00Z")))
        .unwrap();
    let mut rd: Vec<String> = plan
        .keep
        .iter()
        .map(|&i| snaps[i].time.to_string()[5..10].to_string())
        .collect();
    rd.sort();
    assert_eq!(
        rd,
        [
            "01-31", "02-29", "03-10", "03-17", "03-24", "03-25", "03-26", "03-27", "03-28",
            "03-29", "03-30", "03-31"
        ]
    );
}

#[test]
fn periods_use_the_server_zone() {
    // 23:30 and 00:30 UTC are the same local day in New York (-05:00) but two UTC days.
    let l = list(&["2024-01-10T23:30:00Z", "2024-01-11T00:30:00Z"]);
    let o = opts([None, None, Some(5), None, None, None]);
    let utc = compute_prune_info(&l, &o, &TimeZone::UTC);
    let ny = compute_prune_info(&l, &o, &TimeZone::get("America/New_York").unwrap());
    assert!(utc.iter().all(|m| m.keep()));
    assert_eq!(
        ny.iter().map(|m| m.keep()).collect::<Vec<_>>(),
        [false, true]
    );
}
