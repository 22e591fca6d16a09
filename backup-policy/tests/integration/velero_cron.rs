//! Velero's `spec.schedule` grammar and clock: robfig/cron v3 `ParseStandard`, evaluated in UTC
//! unless the expression starts with `CRON_TZ=`/`TZ=` (robfig/cron `parser.go`, `spec.go`;
//! Velero `pkg/cmd/cli/schedule/create.go`: "in cron notation, using UTC time"). The full
//! upstream vector table is `tests/vectors/robfig_cron.toml` (run by the crate's unit tests).

use backup_policy::schedule::Schedule;
use jiff::Timestamp;
use jiff::tz::TimeZone;

fn london() -> TimeZone {
    TimeZone::get("Europe/London").unwrap()
}

fn next(expr: &str, from: &str) -> String {
    Schedule::velero(expr)
        .unwrap()
        .with_zone(TimeZone::UTC)
        .next_after(from.parse().unwrap(), &london())
        .map_or_else(|| "none".into(), |t: Timestamp| t.to_string())
}

#[test]
fn descriptors_and_steps_are_accepted() {
    let from = "2026-07-01T12:34:56Z";
    assert_eq!(next("@hourly", from), "2026-07-01T13:00:00Z");
    assert_eq!(next("@daily", from), "2026-07-02T00:00:00Z");
    assert_eq!(next("@midnight", from), "2026-07-02T00:00:00Z");
    assert_eq!(next("@weekly", from), "2026-07-05T00:00:00Z"); // Sunday
    assert_eq!(next("@monthly", from), "2026-08-01T00:00:00Z");
    assert_eq!(next("@yearly", from), "2027-01-01T00:00:00Z");
    assert_eq!(next("@annually", from), "2027-01-01T00:00:00Z");
    assert_eq!(next("@every 6h", from), "2026-07-01T18:34:56Z");
    assert_eq!(next("@every 1h30m", from), "2026-07-01T14:04:56Z");
    assert_eq!(next("0/15 * * * *", from), "2026-07-01T12:45:00Z");
    assert_eq!(next("5/15 * * * *", from), "2026-07-01T12:35:00Z");
    assert_eq!(next("0 2 * * sun", from), "2026-07-05T02:00:00Z");
    assert_eq!(next("0 2 ? JUL *", from), "2026-07-02T02:00:00Z");
}

#[test]
fn zone_prefixes_are_honoured() {
    let from = "2026-07-01T12:00:00Z";
    // 02:00 BST = 01:00Z in summer; 02:00 GMT = 02:00Z in winter.
    assert_eq!(
        next("CRON_TZ=Europe/London 0 2 * * *", from),
        "2026-07-02T01:00:00Z"
    );
    assert_eq!(
        next("TZ=Europe/London 0 2 * * *", from),
        "2026-07-02T01:00:00Z"
    );
    assert_eq!(
        next("CRON_TZ=Europe/London 0 2 * * *", "2026-12-01T12:00:00Z"),
        "2026-12-02T02:00:00Z"
    );
    assert_eq!(next("CRON_TZ=UTC @daily", from), "2026-07-02T00:00:00Z");
    assert_eq!(
        next("CRON_TZ=Asia/Tokyo 0 9 * * *", from),
        "2026-07-02T00:00:00Z"
    );
    let s = Schedule::velero("CRON_TZ=Europe/London 0 2 * * *").unwrap();
    assert_eq!(s.expr_zone().unwrap().iana_name(), Some("Europe/London"));
    assert!(Schedule::velero("CRON_TZ=Mars/Olympus 0 2 * * *").is_err());
}

#[test]
fn what_robfig_rejects_is_rejected() {
    for bad in [
        "0 2 * * 7", // day-of-week is 0-6
        "0 2 * * 1-7",
        "0 2 L * *",
        "0 2 * * 5L",
        "0 2 15W * *",
        "0 2 * * 5#3",
        "0 2 * * MON#1",
        "0 2 * * sunday", // three-letter names only
        "0 0 2 * * *",    // no seconds field
        "0 2 * *",
        "60 2 * * *",
        "0 24 * * *",
        "0 2 0 * *",
        "0 2 * 13 *",
        "*/0 * * * *",
        "5-3 * * * *",
        "@reboot",
        "@every 7d", // Go durations have no days
        "@every",
        " @daily", // robfig does not trim before a descriptor
        "",
    ] {
        assert!(Schedule::velero(bad).is_err(), "{bad:?} must be rejected");
    }
    let e = Schedule::velero("0 2 * * 7").unwrap_err().to_string();
    assert!(e.contains("above maximum (6)"), "{e}");
}

#[test]
fn day_of_month_or_day_of_week() {
    // both restricted: either matches (1st of the month OR a Monday)
    let from = "2026-07-01T12:00:00Z"; // Wednesday 1 July
    assert_eq!(next("0 0 1 * 1", from), "2026-07-06T00:00:00Z");
    // `*/2` is not a star for the OR rule: day 3 (odd, every other day from 1) or Monday
    assert_eq!(next("0 0 */2 * 1", from), "2026-07-03T00:00:00Z");
    // `*` and `?` are: both must match (any day AND Monday)
    assert_eq!(next("0 0 * * 1", from), "2026-07-06T00:00:00Z");
    assert_eq!(next("0 0 ? * 1", from), "2026-07-06T00:00:00Z");
    // `1-31` is not a star: 1-31 OR Monday = every day
    assert_eq!(next("0 0 1-31 * 1", from), "2026-07-02T00:00:00Z");
    // `*/1` keeps the star bit: every day AND Monday
    assert_eq!(next("0 0 */1 * 1", from), "2026-07-06T00:00:00Z");
}

#[test]
fn spring_gap_is_skipped_and_autumn_overlap_runs_twice() {
    // robfig walks Go's clock: in Europe/London 01:30 does not exist on 29 March 2026, so
    // `30 1 * * *` does not run that day; on 25 October it exists twice and runs twice.
    let s = Schedule::velero("CRON_TZ=Europe/London 30 1 * * *").unwrap();
    let runs = |from: &str| -> Vec<String> {
        s.next_n(from.parse().unwrap(), &TimeZone::UTC, 3)
            .iter()
            .map(Timestamp::to_string)
            .collect()
    };
    assert_eq!(
        runs("2026-03-28T12:00:00Z"),
        [
            "2026-03-30T00:30:00Z",
            "2026-03-31T00:30:00Z",
            "2026-04-01T00:30:00Z"
        ]
    );
    assert_eq!(
        runs("2026-10-24T12:00:00Z"),
        [
            "2026-10-25T00:30:00Z",
            "2026-10-25T01:30:00Z",
            "2026-10-26T01:30:00Z"
        ]
    );
}

#[test]
fn last_run_before_and_every() {
    let s = Schedule::velero("0 2 * * *")
        .unwrap()
        .with_zone(TimeZone::UTC);
    let at: Timestamp = "2026-07-01T12:00:00Z".parse().unwrap();
    assert_eq!(
        s.last_at_or_before(at, &london()).unwrap().to_string(),
        "2026-07-01T02:00:00Z"
    );
    let exact: Timestamp = "2026-07-01T02:00:00Z".parse().unwrap();
    assert_eq!(s.last_at_or_before(exact, &london()), Some(exact));
    let e = Schedule::velero("@every 6h").unwrap();
    assert_eq!(e.every().unwrap().as_hours(), 6);
    assert_eq!(
        e.last_at_or_before(at, &london()).unwrap().to_string(),
        "2026-07-01T06:00:00Z"
    );
    assert_eq!(e.max_interval(at, &london()).unwrap().as_hours(), 6);
}
