//! Invariants of the engines, and "no panic on any input" for every parser.

use backup_policy::calendar::CalendarEvent;
use backup_policy::matrix::Matrix;
use backup_policy::pbs::{Mark, PruneOptions, PruneSnapshot, compute_prune_info};
use backup_policy::restic::{
    ForgetOptions, ForgetPolicy, GroupBy, ResticDuration, Semantics, Snapshot, SnapshotTime,
    TagList, forget,
};
use backup_policy::schedule::Schedule;
use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp, tz::TimeZone};
use proptest::prelude::*;

fn snapshot_strategy() -> impl Strategy<Value = Snapshot> {
    (
        1_600_000_000i64..1_800_000_000,
        prop::sample::select(vec![0i32, 3600, -18000, 19800, 7200, -36000]),
        prop::sample::select(vec!["h1", "h2"]),
        prop::collection::vec(prop::sample::select(vec!["a", "b", "c"]), 0..3),
    )
        .prop_map(|(s, off, h, tags)| {
            let t = SnapshotTime::new(
                Timestamp::from_second(s).unwrap(),
                Offset::from_seconds(off).unwrap(),
            );
            Snapshot::new(format!("{s}"), t)
                .with_hostname(h)
                .with_paths(["/data"])
                .with_tags(tags)
        })
}

fn count() -> impl Strategy<Value = i32> {
    prop_oneof![4 => Just(0), 4 => 1i32..6, 1 => Just(-1)]
}

fn dur() -> impl Strategy<Value = ResticDuration> {
    prop_oneof![
        4 => Just(ResticDuration::default()),
        1 => (0i32..2, 0i32..3, 0i32..20, 0i32..30).prop_map(|(y, m, d, h)| ResticDuration::new(y, m, d, h)),
    ]
}

fn policy_strategy() -> impl Strategy<Value = ForgetPolicy> {
    (
        prop::array::uniform6(count()),
        prop::array::uniform3(dur()),
        prop::collection::vec(prop::sample::select(vec!["a", "b", "a,b", ""]), 0..2),
    )
        .prop_map(|(c, d, tags)| {
            let mut p = ForgetPolicy::default()
                .keep_last(c[0])
                .keep_hourly(c[1])
                .keep_daily(c[2])
                .keep_weekly(c[3])
                .keep_monthly(c[4])
                .keep_yearly(c[5])
                .keep_within(d[0])
                .keep_within_daily(d[1])
                .keep_within_monthly(d[2]);
            for t in tags {
                p = p.keep_tag(t.parse::<TagList>().unwrap());
            }
            p
        })
}

fn opts(sem: Semantics) -> ForgetOptions {
    ForgetOptions::new(Timestamp::from_second(1_750_000_000).unwrap()).with_semantics(sem)
}

fn kept_ids(
    s: &[Snapshot],
    p: &ForgetPolicy,
    sem: Semantics,
) -> Option<std::collections::BTreeSet<usize>> {
    let g = forget(s, GroupBy::default(), p, &opts(sem)).ok()?;
    Some(g.iter().flat_map(|g| g.plan.keep.iter().copied()).collect())
}

fn no_unlimited(p: &ForgetPolicy) -> ForgetPolicy {
    let f = |c: i32| c.max(0);
    let mut q = p.clone();
    q.last = f(q.last);
    q.hourly = f(q.hourly);
    q.daily = f(q.daily);
    q.weekly = f(q.weekly);
    q.monthly = f(q.monthly);
    q.yearly = f(q.yearly);
    q
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, .. ProptestConfig::default() })]

    #[test]
    fn partition_and_newest_kept(s in prop::collection::vec(snapshot_strategy(), 1..60), p in policy_strategy()) {
        for sem in [Semantics::Current, Semantics::Restic014] {
            let p = if sem == Semantics::Restic014 { no_unlimited(&p) } else { p.clone() };
            let Ok(groups) = forget(&s, GroupBy::default(), &p, &opts(sem)) else { continue };
            let mut seen = vec![0u8; s.len()];
            for g in &groups {
                for &i in g.plan.keep.iter().chain(&g.plan.remove) { seen[i] += 1; }
                prop_assert_eq!(g.plan.keep.len(), g.plan.reasons.len());
                let any_count = [p.last, p.hourly, p.daily, p.weekly, p.monthly, p.yearly].iter().any(|&c| c != 0);
                if any_count {
                    let newest = g.plan.keep.iter().chain(&g.plan.remove).max_by_key(|&&i| s[i].time.timestamp()).unwrap();
                    prop_assert!(g.plan.keep.contains(newest));
                }
            }
            prop_assert!(seen.iter().all(|&c| c == 1));
        }
    }

    #[test]
    fn adding_a_rule_never_removes_more(s in prop::collection::vec(snapshot_strategy(), 1..60), p in policy_strategy(), which in 0usize..7, add in 1i32..4) {
        for sem in [Semantics::Current, Semantics::Restic014] {
            let base = if sem == Semantics::Restic014 { no_unlimited(&p) } else { p.clone() };
            let mut more = base.clone();
            let bump = |c: &mut i32| if *c >= 0 { *c += add };
            match which {
                0 => bump(&mut more.last), 1 => bump(&mut more.hourly), 2 => bump(&mut more.daily),
                3 => bump(&mut more.weekly), 4 => bump(&mut more.monthly), 5 => bump(&mut more.yearly),
                _ => more = more.keep_tag("c".parse().unwrap()),
            }
            if let (Some(a), Some(b)) = (kept_ids(&s, &base, sem), kept_ids(&s, &more, sem)) {
                prop_assert!(a.is_subset(&b), "{:?} ⊄ {:?}", a, b);
            }
        }
    }

    #[test]
    fn reapplying_to_the_kept_set_removes_nothing(s in prop::collection::vec(snapshot_strategy(), 1..60), p in policy_strategy()) {
        for sem in [Semantics::Current, Semantics::Restic014] {
            let p = if sem == Semantics::Restic014 { no_unlimited(&p) } else { p.clone() };
            let Ok(groups) = forget(&s, GroupBy::default(), &p, &opts(sem)) else { continue };
            let kept: Vec<Snapshot> = groups.iter().flat_map(|g| g.plan.keep.iter().map(|&i| s[i].clone())).collect();
            if kept.is_empty() { continue; }
            let again = forget(&kept, GroupBy::default(), &p, &opts(sem)).unwrap();
            prop_assert!(again.iter().all(|g| g.plan.remove.is_empty()));
        }
    }

    #[test]
    fn pbs_protected_kept_and_counts_bounded(times in prop::collection::btree_set(1_600_000_000i64..1_700_000_000, 1..80), prot in prop::collection::vec(any::<bool>(), 80), n in prop::array::uniform6(prop::option::of(0u64..5))) {
        let list: Vec<PruneSnapshot> = times.iter().zip(&prot).map(|(t, p)| PruneSnapshot::new(Timestamp::from_second(*t).unwrap()).with_protected(*p)).collect();
        let o = PruneOptions { keep_last: n[0], keep_hourly: n[1], keep_daily: n[2], keep_weekly: n[3], keep_monthly: n[4], keep_yearly: n[5] };
        let marks = compute_prune_info(&list, &o, &TimeZone::UTC);
        let total: u64 = n.iter().map(|x| x.unwrap_or(0)).sum();
        prop_assert!(marks.iter().filter(|m| m.mark == Mark::Keep).count() as u64 <= total);
        for (s, m) in list.iter().zip(&marks) {
            if s.protected { prop_assert_eq!(m.mark, Mark::Protected); }
        }
    }

    #[test]
    fn parsers_never_panic(s in "\\PC{0,40}") {
        let _ = SnapshotTime::parse(&s);
        let _ = s.parse::<ResticDuration>();
        let _ = s.parse::<CalendarEvent>();
        let _ = Schedule::cron(&s);
        let _ = s.parse::<GroupBy>();
        let _ = backup_policy::velero::parse_ttl(&s);
        let _ = Matrix::from_toml(&s, "fuzz");
    }

    #[test]
    fn calendar_grammar_never_panics_and_next_is_after(wd in prop::sample::select(vec!["", "mon ", "sat,sun ", "mon..fri ", "fri..tue "]), h in "(\\*|[0-9]{1,2}|[0-9]\\.\\.[0-9]{1,2}|[0-9]/[1-9])", m in "(\\*|[0-9]{1,2}|[0-9]/[1-9]{1,2})", from in 0i64..2_000_000_000) {
        let expr = format!("{wd}{h}:{m}");
        if let Ok(ev) = expr.parse::<CalendarEvent>() {
            let tz = TimeZone::get("Europe/London").unwrap();
            let f = Timestamp::from_second(from).unwrap();
            if let Some(n) = ev.next_after(f, &tz) {
                prop_assert!(n > f);
                // Not always `Some(n)`: proxmox-time's `find_next` lets an open repetition run
                // past the field (`*:1/21` after :43 asks for minute 64, normalised to :04 of the
                // next hour, so that walk reaches :22 and skips :01), and which runs a chain
                // meets depends on where it started. What holds: the answer is a run the event
                // itself produces, at or before `n`.
                let last = ev.last_at_or_before(n, &tz);
                prop_assert!(last.is_some());
                let last = last.unwrap();
                prop_assert!(last <= n);
                let just_before = last.checked_sub(SignedDuration::from_secs(1)).unwrap();
                prop_assert_eq!(ev.next_after(just_before, &tz), Some(last));
            }
        }
    }
}
