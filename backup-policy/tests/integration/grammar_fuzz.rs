//! No tool grammar panics on any input, and every next run is after its start.

use backup_policy::duration::parse_go_duration;
use backup_policy::schedule::{Grammar, Schedule};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use proptest::prelude::*;

fn field() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "*",
        "?",
        "0",
        "7",
        "59",
        "60",
        "*/0",
        "*/5",
        "0/15",
        "1-5",
        "5-1",
        "1,,2",
        "L",
        "5#2",
        "15W",
        "mon",
        "SUN",
        "jan",
        "1-31",
        "*/1",
        "-1",
        "+3",
        "24",
        "2..4",
        "*-5",
        "99999999999",
    ])
    .prop_map(str::to_string)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn no_grammar_panics(s in "\\PC{0,40}") {
        for g in [Grammar::Velero, Grammar::Backrest, Grammar::Proxmox] {
            let _ = Schedule::parse(g, &s);
        }
        let _ = parse_go_duration(&s);
        let _ = backup_policy::velero::parse_ttl(&s);
    }

    #[test]
    fn cron_next_is_after(
        f in prop::collection::vec(field(), 5),
        prefix in prop::sample::select(vec!["", "CRON_TZ=Europe/London ", "TZ=America/New_York ", "TZ=UTC "]),
        from in 0i64..2_000_000_000,
    ) {
        let expr = format!("{prefix}{}", f.join(" "));
        let tz = TimeZone::get("Europe/London").unwrap();
        let at = Timestamp::from_second(from).unwrap();
        for g in [Grammar::Velero, Grammar::Backrest] {
            if let Ok(s) = Schedule::parse(g, &expr)
                && let Some(n) = s.next_after(at, &tz)
            {
                prop_assert!(n > at, "{g}: {expr} from {at}: {n}");
                prop_assert_eq!(s.last_at_or_before(n, &tz), Some(n), "{}: {}", g, expr);
            }
        }
    }
}
