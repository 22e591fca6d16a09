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
fn nonexistent_time_is_skipped() {
    // 01:30 does not exist on 29 March. proxmox-time jumps with mktime, which moves 01:00 to
    // 02:00 BST, so the walk passes hour 1 and the event does not run that day (no shifted run).
    // Velero's robfig/cron skips it too (see `velero_cron.rs`).
    let s = Schedule::calendar("01:30").unwrap();
    assert_eq!(
        fires(&s, "2026-03-28T12:00:00Z", 2),
        ["2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"]
    );
}

#[test]
fn repeated_time_fires_once() {
    // 01:30 happens twice on 25 October (00:30Z BST and 01:30Z GMT): one calendar-event run.
    // (robfig/cron runs twice: see `velero_cron.rs`.)
    {
        let s = Schedule::calendar("01:30").unwrap();
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

// ---- each tool's own clock (issue 15 item 1) ----

use backup_policy::Matrix;
use backup_policy::matrix::ZoneOrigin;

fn seed_runs(target: &str, schedule: &str, from: &str, n: usize) -> Vec<String> {
    let m = Matrix::homelab().unwrap();
    let t = m.target(target).unwrap();
    let s = t.schedule.iter().find(|s| s.name == schedule).unwrap();
    let mut out = Vec::new();
    let mut cur: Timestamp = from.parse().unwrap();
    for _ in 0..n {
        cur = s.next_after(cur).unwrap();
        out.push(cur.to_string());
    }
    // the legacy entry point with the display zone agrees: a loaded schedule keeps its own zone
    let legacy = s
        .schedule()
        .unwrap()
        .next_n(from.parse().unwrap(), &m.tz(), n);
    assert_eq!(
        legacy.iter().map(Timestamp::to_string).collect::<Vec<_>>(),
        out
    );
    out
}

#[test]
fn seed_velero_runs_at_two_utc_in_summer_and_winter() {
    // `0 2 * * *` on Velero is 02:00Z: 03:00 in London in summer, 02:00 in winter.
    assert_eq!(
        seed_runs("velero-prod", "daily", "2026-07-01T12:00:00Z", 2),
        ["2026-07-02T02:00:00Z", "2026-07-03T02:00:00Z"]
    );
    assert_eq!(
        seed_runs("velero-prod", "daily", "2026-12-01T12:00:00Z", 1),
        ["2026-12-02T02:00:00Z"]
    );
    // weekly `0 3 * * 0` = Sunday 03:00Z = 04:00 BST, on top of plex-daily's 04:00 London
    assert_eq!(
        seed_runs("velero-prod", "weekly", "2026-07-01T12:00:00Z", 1),
        ["2026-07-05T03:00:00Z"]
    );
    assert_eq!(
        seed_runs("plex-daily", "daily", "2026-07-04T12:00:00Z", 1),
        ["2026-07-05T03:00:00Z"]
    );
    // and the daily lands on iac-daily's 03:00 London (02:00Z) in summer
    assert_eq!(
        seed_runs("iac-daily", "daily", "2026-07-01T12:00:00Z", 1),
        ["2026-07-02T02:00:00Z"]
    );
    // PBS on the London hosts
    assert_eq!(
        seed_runs("pbs-iac", "weekly", "2026-07-01T12:00:00Z", 1),
        ["2026-07-05T01:00:00Z"]
    );
    let m = Matrix::homelab().unwrap();
    let velero = &m.target("velero-prod").unwrap().schedule[0];
    assert_eq!(velero.zone_name(), "UTC");
    assert_eq!(velero.zone_origin(), ZoneOrigin::Tool);
    assert_eq!(
        m.target("pbs-iac").unwrap().schedule[0].zone_name(),
        "Europe/London"
    );
    assert_eq!(m.tz().iana_name(), Some("Europe/London"));
    // the seed's runs in a summer week: Velero's daily sits at 02:00Z, not 01:00Z
    let from: Timestamp = "2026-07-01T00:00:00Z".parse().unwrap();
    let to: Timestamp = "2026-07-02T00:00:00Z".parse().unwrap();
    let starts: Vec<String> = m
        .runs_between(from, to)
        .iter()
        .filter(|r| r.target.name == "velero-prod")
        .map(|r| r.start.to_string())
        .collect();
    assert_eq!(starts, ["2026-07-01T02:00:00Z"]);
}

const ZONED: &str = r#"
timezone = "Europe/London"
[zones]
pbs = "Europe/Berlin"

[[storage]]
name = "s"
kind = "s3"
device = "d"

[[target]]
name = "k8s"
kind = "k8s-cluster"
tool = "velero"
storage = "s"
  [[target.schedule]]
  name = "utc"
  cron = "0 2 * * *"
  retention = { ttl = "168h" }
  [[target.schedule]]
  name = "prefixed"
  cron = "CRON_TZ=Europe/London 0 2 * * *"
  retention = { ttl = "168h" }
  [[target.schedule]]
  name = "overridden"
  cron = "0 2 * * *"
  timezone = "America/New_York"
  retention = { ttl = "168h" }

[[target]]
name = "files"
kind = "vm"
tool = "restic"
storage = "s"
timezone = "UTC"
  [[target.schedule]]
  name = "daily"
  cron = "0 2 * * *"
  retention = { keep_daily = 7 }

[[target]]
name = "vm"
kind = "vm"
tool = "pbs"
storage = "s"
  [[target.schedule]]
  name = "weekly"
  calendar = "sun 02:00"
  retention = { keep_weekly = 4 }
  [[target.schedule]]
  name = "utc"
  calendar = "sun 02:00 UTC"
  retention = { keep_weekly = 4 }
"#;

#[test]
fn zone_resolution_order() {
    let m = Matrix::from_toml(ZONED, "zoned.toml").unwrap();
    let from: Timestamp = "2026-07-01T12:00:00Z".parse().unwrap(); // Wednesday, summer
    let next = |t: &str, s: &str| {
        let spec = m
            .target(t)
            .unwrap()
            .schedule
            .iter()
            .find(|x| x.name == s)
            .unwrap();
        (
            spec.next_after(from).unwrap().to_string(),
            spec.zone_origin(),
        )
    };
    assert_eq!(
        next("k8s", "utc"),
        ("2026-07-02T02:00:00Z".into(), ZoneOrigin::Default)
    );
    assert_eq!(
        next("k8s", "prefixed"),
        ("2026-07-02T01:00:00Z".into(), ZoneOrigin::Expression)
    );
    assert_eq!(
        next("k8s", "overridden"),
        ("2026-07-02T06:00:00Z".into(), ZoneOrigin::Schedule)
    );
    assert_eq!(
        next("files", "daily"),
        ("2026-07-02T02:00:00Z".into(), ZoneOrigin::Target)
    );
    assert_eq!(
        next("vm", "weekly"),
        ("2026-07-05T00:00:00Z".into(), ZoneOrigin::Tool)
    );
    assert_eq!(
        next("vm", "utc"),
        ("2026-07-05T02:00:00Z".into(), ZoneOrigin::Expression)
    );
    let z = m.target("k8s").unwrap().schedule[1]
        .next_after_zoned(from)
        .unwrap();
    assert_eq!(z.to_string(), "2026-07-02T02:00:00+01:00[Europe/London]");
}

#[test]
fn zone_and_grammar_errors_point_at_the_field() {
    let bad_zone = ZONED.replace("\"America/New_York\"", "\"Mars/Olympus\"");
    let e = Matrix::from_toml(&bad_zone, "z.toml").unwrap_err();
    assert!(e.to_string().contains("Mars/Olympus"), "{e}");
    assert_eq!(e.line_column().map(|l| l.0), Some(27), "{e}");

    let bad_tool_zone = ZONED.replace("\"Europe/Berlin\"", "\"Nowhere\"");
    let e = Matrix::from_toml(&bad_tool_zone, "z.toml").unwrap_err();
    assert_eq!(e.line_column().map(|l| l.0), Some(4), "{e}");

    // robfig rejects day-of-week 7, Backrest's cronexpr refuses a schedule that never runs
    let dow7 = ZONED.replace(
        "cron = \"0 2 * * *\"\n  timezone",
        "cron = \"0 2 * * 7\"\n  timezone",
    );
    let e = Matrix::from_toml(&dow7, "z.toml").unwrap_err();
    assert!(e.to_string().contains("above maximum"), "{e}");
    let backrest7 = ZONED.replace(
        "cron = \"0 2 * * *\"\n  retention = { keep_daily",
        "cron = \"0 2 * * 7\"\n  retention = { keep_daily",
    );
    assert!(Matrix::from_toml(&backrest7, "z.toml").is_err());
    // a Velero descriptor is fine for Velero, not for Backrest
    let desc = ZONED.replace(
        "cron = \"0 2 * * *\"\n  timezone",
        "cron = \"@daily\"\n  timezone",
    );
    assert!(Matrix::from_toml(&desc, "z.toml").is_ok());
    let desc_b = ZONED.replace(
        "cron = \"0 2 * * *\"\n  retention = { keep_daily",
        "cron = \"@daily\"\n  retention = { keep_daily",
    );
    assert!(Matrix::from_toml(&desc_b, "z.toml").is_err());
    // PBS takes calendar events, Velero cron
    let pbs_cron = ZONED.replace("calendar = \"sun 02:00\"\n", "cron = \"0 2 * * 0\"\n");
    let e = Matrix::from_toml(&pbs_cron, "z.toml").unwrap_err();
    assert!(e.to_string().contains("calendar events"), "{e}");
}

/// proxmox-time's `find_next` (proxmox-time/src/calendar_event.rs, `DateTimeValue::find_next`)
/// does not bound an open repetition by the field: after :43, `*:1/21` asks for minute 64, which
/// the walk's `mktime` normalisation turns into :04 of the next hour, so the next run is :22 and
/// :01 is skipped. Started just before the hour, the walk does reach :01.
#[test]
fn proxmox_open_repetition_runs_past_the_field() {
    let ev: backup_policy::calendar::CalendarEvent = "*:1/21".parse().unwrap();
    let utc = TimeZone::UTC;
    let at = |s: &str| s.parse::<Timestamp>().unwrap();
    assert_eq!(
        ev.next_after(at("2026-01-10T15:43:00Z"), &utc),
        Some(at("2026-01-10T16:22:00Z"))
    );
    assert_eq!(
        ev.next_after(at("2026-01-10T15:59:59Z"), &utc),
        Some(at("2026-01-10T16:01:00Z"))
    );
}
