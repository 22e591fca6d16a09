//! proxmox-time's own tests and the parser's refusals, as data in
//! `tests/vectors/proxmox_calendar.toml`.

use serde::Deserialize;

use super::*;

const VECTORS: &str = include_str!("../../tests/vectors/proxmox_calendar.toml");

#[derive(Deserialize)]
struct Vectors {
    upstream: Upstream,
    derived: Derived,
}

#[derive(Deserialize)]
struct Upstream {
    next: Vec<NextCase>,
    chain: Vec<ChainCase>,
    never: Vec<NeverCase>,
    parses: Vec<String>,
    rejects: Vec<String>,
    doc: Vec<NextCase>,
}

#[derive(Deserialize)]
struct Derived {
    next: Vec<NextCase>,
    rejects: Vec<String>,
    dst: Vec<DstCase>,
}

#[derive(Deserialize)]
struct NextCase {
    event: String,
    last: i64,
    next: i64,
}

#[derive(Deserialize)]
struct ChainCase {
    event: String,
    last: i64,
    first: i64,
    step: i64,
    count: i64,
}

#[derive(Deserialize)]
struct NeverCase {
    event: String,
    last: i64,
}

#[derive(Deserialize)]
struct DstCase {
    event: String,
    from: String,
    runs: Vec<String>,
}

fn vectors() -> Vectors {
    toml::from_str(VECTORS).expect("proxmox_calendar.toml parses")
}

fn ts(s: i64) -> Timestamp {
    Timestamp::from_second(s).unwrap()
}

/// proxmox-time's test harness: `<event> UTC`, evaluated from `last`.
fn next_utc(event: &str, last: i64) -> Option<i64> {
    let ev: CalendarEvent = format!("{event} UTC")
        .parse()
        .unwrap_or_else(|e| panic!("{event}: {e}"));
    assert!(ev.is_utc());
    // the zone passed in must not matter for a UTC event
    let far = TimeZone::get("Pacific/Kiritimati").unwrap();
    ev.next_after(ts(last), &far).map(|t| t.as_second())
}

#[test]
fn upstream_next_events() {
    let v = vectors();
    assert_eq!(v.upstream.next.len(), 57);
    for c in &v.upstream.next {
        assert_eq!(
            next_utc(&c.event, c.last),
            Some(c.next),
            "{} from {}",
            c.event,
            c.last
        );
    }
    for c in &v.upstream.chain {
        let mut n = c.last;
        for k in 0..c.count {
            let got = next_utc(&c.event, n).unwrap();
            assert_eq!(got, c.first + k * c.step, "{} step {k}", c.event);
            n = got;
        }
    }
    for c in &v.upstream.never {
        assert_eq!(next_utc(&c.event, c.last), None, "{}", c.event);
    }
    for c in &v.upstream.doc {
        let ev: CalendarEvent = c.event.parse().unwrap();
        let got = ev
            .next_after(ts(c.last), &TimeZone::UTC)
            .map(|t| t.as_second());
        assert_eq!(got, Some(c.next), "{}", c.event);
    }
}

#[test]
fn upstream_parses_and_rejects() {
    let v = vectors();
    for e in &v.upstream.parses {
        assert!(e.parse::<CalendarEvent>().is_ok(), "{e:?} must parse");
    }
    for e in v.upstream.rejects.iter().chain(&v.derived.rejects) {
        assert!(
            e.parse::<CalendarEvent>().is_err(),
            "{e:?} must be rejected"
        );
    }
}

#[test]
fn derived_next_events() {
    let v = vectors();
    for c in &v.derived.next {
        let ev: CalendarEvent = c
            .event
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", c.event));
        let got = ev
            .next_after(ts(c.last), &TimeZone::UTC)
            .map(|t| t.as_second());
        assert_eq!(got, Some(c.next), "{} from {}", c.event, c.last);
    }
}

#[test]
fn daylight_saving_on_a_london_host() {
    let v = vectors();
    let london = TimeZone::get("Europe/London").unwrap();
    for c in &v.derived.dst {
        let ev: CalendarEvent = c.event.parse().unwrap();
        let mut t: Timestamp = c.from.parse().unwrap();
        let mut got = Vec::new();
        for _ in 0..c.runs.len() {
            t = ev.next_after(t, &london).unwrap();
            got.push(t.to_string());
        }
        assert_eq!(got, c.runs, "{} from {}", c.event, c.from);
    }
}

#[test]
fn seed_examples() {
    let tz = TimeZone::get("Europe/London").unwrap();
    let from: Timestamp = "2026-11-27T12:00:00Z".parse().unwrap(); // a Friday
    let n = |e: &str| {
        e.parse::<CalendarEvent>()
            .unwrap()
            .next_after(from, &tz)
            .unwrap()
            .to_string()
    };
    assert_eq!(n("sun 02:00"), "2026-11-29T02:00:00Z");
    assert_eq!(n("mon..fri 03:15"), "2026-11-30T03:15:00Z");
    assert_eq!(n("sat,sun 4:00"), "2026-11-28T04:00:00Z");
    assert_eq!(n("*-*-* 02:00"), "2026-11-28T02:00:00Z");
    assert_eq!(n("Sat *-1..7 15:00"), "2026-12-05T15:00:00Z");
    assert_eq!(n("sat..mon 01:00"), "2026-11-28T01:00:00Z");
}

#[test]
fn last_before() {
    let ev: CalendarEvent = "sun 02:00".parse().unwrap();
    let at: Timestamp = "2026-11-27T12:00:00Z".parse().unwrap();
    assert_eq!(
        ev.last_at_or_before(at, &TimeZone::UTC)
            .unwrap()
            .to_string(),
        "2026-11-22T02:00:00Z"
    );
    let exact: Timestamp = "2026-11-22T02:00:00Z".parse().unwrap();
    assert_eq!(ev.last_at_or_before(exact, &TimeZone::UTC), Some(exact));
}
