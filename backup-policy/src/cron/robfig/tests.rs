//! robfig/cron's own test suites, as data in `tests/vectors/robfig_cron.toml`.

use serde::Deserialize;

use super::*;

const VECTORS: &str = include_str!("../../../tests/vectors/robfig_cron.toml");

#[derive(Deserialize)]
struct Vectors {
    range: Vec<RangeCase>,
    field: Vec<RangeCase>,
    all: Vec<AllCase>,
    getbits: Vec<BitsCase>,
    parse: Vec<ParseCase>,
    activation: Vec<ActivationCase>,
    next: Vec<NextCase>,
    every: Vec<EveryCase>,
}

#[derive(Deserialize)]
struct RangeCase {
    expr: String,
    min: u64,
    max: u64,
    bits: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct AllCase {
    field: String,
    bits: String,
}

#[derive(Deserialize)]
struct BitsCase {
    min: u64,
    max: u64,
    step: u64,
    bits: String,
}

#[derive(Deserialize)]
struct ParseCase {
    parser: String,
    expr: String,
    location: Option<String>,
    bits: Option<Vec<String>>,
    every: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct ActivationCase {
    time: String,
    spec: String,
    fires: bool,
}

#[derive(Deserialize)]
struct NextCase {
    parser: String,
    from: String,
    zone: String,
    spec: String,
    expected: String,
}

#[derive(Deserialize)]
struct EveryCase {
    from: String,
    delay: String,
    expected: String,
}

fn vectors() -> Vectors {
    toml::from_str(VECTORS).expect("robfig_cron.toml parses")
}

fn hex(s: &str) -> u64 {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex bits")
}

fn parser(name: &str) -> ParseOptions {
    use ParseOptions as P;
    match name {
        "standard" => P::STANDARD,
        "second" => {
            P::SECOND | P::MINUTE | P::HOUR | P::DOM | P::MONTH | P::DOW_OPTIONAL | P::DESCRIPTOR
        }
        "second_optional" => {
            P::SECOND_OPTIONAL | P::MINUTE | P::HOUR | P::DOM | P::MONTH | P::DOW | P::DESCRIPTOR
        }
        "minute_hour" => P::MINUTE | P::HOUR,
        other => panic!("unknown parser {other}"),
    }
}

fn zone(name: &str) -> TimeZone {
    if name.starts_with(['+', '-']) {
        let sign = if name.starts_with('-') { -1 } else { 1 };
        let (h, m) = name[1..].split_once(':').expect("+HH:MM");
        let secs = sign * (h.parse::<i32>().unwrap() * 3600 + m.parse::<i32>().unwrap() * 60);
        TimeZone::fixed(jiff::tz::Offset::from_seconds(secs).unwrap())
    } else {
        TimeZone::get(name).expect("zone")
    }
}

fn ts(s: &str) -> Timestamp {
    s.parse().expect("timestamp")
}

fn bounds(min: u64, max: u64) -> Bounds {
    Bounds {
        min,
        max,
        names: &[],
    }
}

#[test]
fn range_and_field() {
    let v = vectors();
    assert_eq!(v.range.len(), 20);
    for (cases, f) in [
        (
            &v.range,
            get_range as fn(&str, Bounds) -> Result<u64, String>,
        ),
        (&v.field, get_field),
    ] {
        for c in cases {
            let got = f(&c.expr, bounds(c.min, c.max));
            match (&c.bits, &c.error) {
                (Some(b), None) => assert_eq!(got, Ok(hex(b)), "{}", c.expr),
                (None, Some(e)) => {
                    let err = got.expect_err(&c.expr);
                    assert!(err.contains(e.as_str()), "{}: {err} lacks {e}", c.expr);
                }
                _ => panic!("bad vector {}", c.expr),
            }
        }
    }
}

#[test]
fn all_and_bits() {
    let v = vectors();
    for c in &v.all {
        let b = match c.field.as_str() {
            "minute" => MINUTES,
            "hour" => HOURS,
            "dom" => DOM,
            "month" => MONTHS,
            "dow" => DOW,
            other => panic!("{other}"),
        };
        assert_eq!(all(b), hex(&c.bits) | STAR, "{}", c.field);
    }
    for c in &v.getbits {
        assert_eq!(get_bits(c.min, c.max, c.step), hex(&c.bits));
    }
}

#[test]
fn parse_results() {
    let v = vectors();
    assert!(v.parse.len() >= 28);
    for c in &v.parse {
        let got = RobfigSchedule::parse(&c.expr, parser(&c.parser));
        if let Some(e) = &c.error {
            let err = got.expect_err(&c.expr);
            assert!(err.contains(e.as_str()), "{:?}: {err} lacks {e}", c.expr);
            continue;
        }
        let s = got.unwrap_or_else(|e| panic!("{:?}: {e}", c.expr));
        if let Some(d) = &c.every {
            let want = crate::duration::parse_go_duration(d).unwrap();
            assert_eq!(s.every(), Some(want), "{}", c.expr);
            continue;
        }
        let want: Vec<u64> = c.bits.as_ref().unwrap().iter().map(|b| hex(b)).collect();
        assert_eq!(s.bits().unwrap().to_vec(), want, "{}", c.expr);
        let loc = c.location.as_deref().unwrap();
        match (loc, s.location()) {
            ("Local", Location::Local) => {}
            (name, Location::Zone(z)) => assert_eq!(z.iana_name(), Some(name), "{}", c.expr),
            (name, l) => panic!("{}: location {l:?}, want {name}", c.expr),
        }
    }
}

#[test]
fn activation() {
    let v = vectors();
    for c in &v.activation {
        let s = RobfigSchedule::parse_standard(&c.spec).unwrap();
        let t = ts(&c.time);
        let before = t - SignedDuration::from_secs(1);
        let got = s.next(before, &TimeZone::UTC);
        assert_eq!(got == Some(t), c.fires, "{} at {}: {got:?}", c.spec, c.time);
    }
}

#[test]
fn next() {
    let v = vectors();
    assert!(v.next.len() >= 60);
    for c in &v.next {
        let s = RobfigSchedule::parse(&c.spec, parser(&c.parser)).unwrap();
        let got = s.next(ts(&c.from), &zone(&c.zone));
        let want = (!c.expected.is_empty()).then(|| ts(&c.expected));
        assert_eq!(got, want, "{} from {} in {}", c.spec, c.from, c.zone);
    }
}

#[test]
fn constant_delay() {
    let v = vectors();
    for c in &v.every {
        let s = RobfigSchedule::parse_standard(&format!("@every {}", c.delay)).unwrap();
        let got = s.next(ts(&c.from), &TimeZone::UTC);
        assert_eq!(
            got,
            Some(ts(&c.expected)),
            "@every {} from {}",
            c.delay,
            c.from
        );
    }
}
