//! Cron and calendar next-fire across DST changes (Europe/London 2026: spring forward Sun 29 March
//! 01:00 GMT → 02:00 BST; fall back Sun 25 October 02:00 BST → 01:00 GMT).

use backup_policy::schedule::Schedule;
use jiff::Timestamp;
use jiff::tz::TimeZone;

fn london() -> TimeZone {
    TimeZone::get("Europe/London").unwrap()
}

fn fires(s: &Schedule, from: &str, n: usize) -> Vec<String> {
    s.next_n(from.parse().unwrap(), &london(), n)
        .iter()
        .map(Timestamp::to_string)
        .collect()
}

#[test]
fn velero_daily_two_am_across_both_changes() {
    let s = Schedule::cron("0 2 * * *").unwrap();
    assert_eq!(
        fires(&s, "2026-03-27T12:00:00Z", 3),
        [
            "2026-03-28T02:00:00Z",
            "2026-03-29T01:00:00Z",
            "2026-03-30T01:00:00Z"
        ]
    );
    assert_eq!(
        fires(&s, "2026-10-24T12:00:00Z", 2),
        ["2026-10-25T02:00:00Z", "2026-10-26T02:00:00Z"]
    );
}

#[test]
fn calendar_daily_two_am_across_both_changes() {
    let s = Schedule::calendar("*-*-* 02:00").unwrap();
    assert_eq!(
        fires(&s, "2026-03-27T12:00:00Z", 3),
        [
            "2026-03-28T02:00:00Z",
            "2026-03-29T01:00:00Z",
            "2026-03-30T01:00:00Z"
        ]
    );
    assert_eq!(
        fires(&s, "2026-10-24T12:00:00Z", 2),
        ["2026-10-25T02:00:00Z", "2026-10-26T02:00:00Z"]
    );
}

#[test]
fn nonexistent_time_fires_once_shifted() {
    // 01:30 does not exist on 29 March; both evaluators fire once that day, not zero or twice.
    for s in [
        Schedule::cron("30 1 * * *").unwrap(),
        Schedule::calendar("01:30").unwrap(),
    ] {
        let f = fires(&s, "2026-03-28T12:00:00Z", 2);
        assert_eq!(f.len(), 2);
        assert!(f[0].starts_with("2026-03-29T0"), "{s}: {f:?}");
        assert_eq!(f[1], "2026-03-30T00:30:00Z", "{s}");
    }
}

#[test]
fn repeated_time_fires_once() {
    // 01:30 happens twice on 25 October (00:30Z BST and 01:30Z GMT): one run.
    for s in [
        Schedule::cron("30 1 * * *").unwrap(),
        Schedule::calendar("01:30").unwrap(),
    ] {
        let f = fires(&s, "2026-10-24T12:00:00Z", 2);
        assert_eq!(f.len(), 2, "{s}");
        assert!(f[0].starts_with("2026-10-25T0"), "{s}: {f:?}");
        assert_eq!(f[1], "2026-10-26T01:30:00Z", "{s}");
    }
}

#[test]
fn weekly_sunday_schedules_agree() {
    let cron = Schedule::cron("0 3 * * 0").unwrap();
    let cal = Schedule::calendar("sun 03:00").unwrap();
    for from in [
        "2026-03-20T00:00:00Z",
        "2026-10-20T00:00:00Z",
        "2026-11-27T09:00:00Z",
    ] {
        assert_eq!(fires(&cron, from, 4), fires(&cal, from, 4), "{from}");
    }
}

#[test]
fn last_expected_run() {
    let tz = london();
    let now: Timestamp = "2026-11-27T09:00:00Z".parse().unwrap();
    let daily = Schedule::cron("0 2 * * *").unwrap();
    assert_eq!(
        daily.last_at_or_before(now, &tz).unwrap().to_string(),
        "2026-11-27T02:00:00Z"
    );
    let pbs = Schedule::calendar("sun 02:00").unwrap();
    assert_eq!(
        pbs.last_at_or_before(now, &tz).unwrap().to_string(),
        "2026-11-22T02:00:00Z"
    );
    // in summer time the same wall clock is an hour earlier in UTC
    let july: Timestamp = "2026-07-01T12:00:00Z".parse().unwrap();
    assert_eq!(
        daily.last_at_or_before(july, &tz).unwrap().to_string(),
        "2026-07-01T01:00:00Z"
    );
    assert_eq!(
        pbs.last_at_or_before(july, &tz).unwrap().to_string(),
        "2026-06-28T01:00:00Z"
    );
}

#[test]
fn max_interval() {
    let tz = london();
    let now: Timestamp = "2026-11-27T09:00:00Z".parse().unwrap();
    let w = Schedule::calendar("sun 02:00")
        .unwrap()
        .max_interval(now, &tz)
        .unwrap();
    assert_eq!(w.as_hours(), 168);
    let d = Schedule::calendar("mon..fri 03:15")
        .unwrap()
        .max_interval(now, &tz)
        .unwrap();
    assert_eq!(d.as_hours(), 72);
}

#[test]
fn bad_expressions_are_errors() {
    assert!(Schedule::cron("0 2 * *").is_err());
    assert!(
        Schedule::cron("0 0 2 * * *").is_err(),
        "seconds are not allowed"
    );
    assert!(Schedule::cron("61 2 * * *").is_err());
    assert!(Schedule::calendar("someday 02:00").is_err());
}
