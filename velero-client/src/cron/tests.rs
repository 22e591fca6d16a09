//! robfig/cron v3's own test suites (parser_test.go, spec_test.go, constantdelay_test.go), as
//! the workspace's shared data file `backup-policy/tests/vectors/robfig_cron.toml`: the same
//! upstream vectors judge both crates' independent parsers.

use serde::Deserialize;

use super::*;

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
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../backup-policy/tests/vectors/robfig_cron.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    toml::from_str(&text).expect("robfig_cron.toml parses")
}

fn hex(s: &str) -> u64 {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex bits")
}

fn options(parser: &str) -> Options {
    use Options as O;
    match parser {
        "standard" => O::STANDARD,
        "second" => {
            O::SECOND | O::MINUTE | O::HOUR | O::DOM | O::MONTH | O::DOW_OPTIONAL | O::DESCRIPTOR
        }
        "second_optional" => {
            O::SECOND_OPTIONAL | O::MINUTE | O::HOUR | O::DOM | O::MONTH | O::DOW | O::DESCRIPTOR
        }
        "minute_hour" => O::MINUTE | O::HOUR,
        other => panic!("unknown parser {other}"),
    }
}

/// An IANA name or a fixed `+HH:MM`.
fn zone(name: &str) -> TimeZone {
    match name.strip_prefix(['+', '-']) {
        Some(hm) => {
            let (h, m) = hm.split_once(':').expect("+HH:MM");
            let secs = h.parse::<i32>().unwrap() * 3600 + m.parse::<i32>().unwrap() * 60;
            let secs = if name.starts_with('-') { -secs } else { secs };
            TimeZone::fixed(jiff::tz::Offset::from_seconds(secs).unwrap())
        }
        None => TimeZone::get(name).expect("zone"),
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

/// `getRange` or `getField`.
type Getter = fn(&str, Bounds) -> std::result::Result<u64, String>;

#[test]
fn range_and_field_vectors() {
    let v = vectors();
    assert_eq!(v.range.len(), 20);
    assert_eq!(v.field.len(), 4);
    let getters: [(&[RangeCase], Getter); 2] = [(&v.range, get_range), (&v.field, get_field)];
    for (cases, get) in getters {
        for c in cases {
            let got = get(&c.expr, bounds(c.min, c.max));
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
fn all_and_bits_vectors() {
    let v = vectors();
    assert_eq!(v.all.len(), 5);
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
fn parse_vectors() {
    let v = vectors();
    assert!(v.parse.len() >= 28, "{}", v.parse.len());
    for c in &v.parse {
        let got = CronSchedule::parse_with(&c.expr, options(&c.parser));
        if let Some(e) = &c.error {
            let err = got.expect_err(&c.expr);
            assert!(err.contains(e.as_str()), "{:?}: {err} lacks {e}", c.expr);
            continue;
        }
        let s = got.unwrap_or_else(|e| panic!("{:?}: {e}", c.expr));
        if let Some(d) = &c.every {
            let want = parse_go_duration(d).unwrap();
            assert_eq!(s.every(), Some(want), "{}", c.expr);
            continue;
        }
        let f = s.fields().expect("field schedule");
        let got = [f.second, f.minute, f.hour, f.dom, f.month, f.dow];
        let want: Vec<u64> = c.bits.as_ref().unwrap().iter().map(|b| hex(b)).collect();
        assert_eq!(got.to_vec(), want, "{}", c.expr);
        match (c.location.as_deref().unwrap(), s.zone()) {
            ("Local", None) => {}
            (name, Some(z)) => assert_eq!(z.iana_name(), Some(name), "{}", c.expr),
            (name, None) => panic!("{}: no zone, want {name}", c.expr),
        }
    }
}

#[test]
fn activation_vectors() {
    let v = vectors();
    assert!(v.activation.len() >= 29);
    for c in &v.activation {
        let s = CronSchedule::parse(&c.spec).unwrap();
        let t = ts(&c.time);
        let got = s.next_after(t - SignedDuration::from_secs(1));
        assert_eq!(got == Some(t), c.fires, "{} at {}: {got:?}", c.spec, c.time);
    }
}

#[test]
fn next_vectors() {
    let v = vectors();
    assert!(v.next.len() >= 60, "{}", v.next.len());
    for c in &v.next {
        let s = CronSchedule::parse_with(&c.spec, options(&c.parser)).unwrap();
        let got = s.next_in(ts(&c.from), &zone(&c.zone));
        let want = (!c.expected.is_empty()).then(|| ts(&c.expected));
        assert_eq!(got, want, "{} from {} in {}", c.spec, c.from, c.zone);
    }
}

#[test]
fn constant_delay_vectors() {
    let v = vectors();
    assert!(v.every.len() >= 14);
    for c in &v.every {
        let s = CronSchedule::parse(&format!("@every {}", c.delay)).unwrap();
        assert_eq!(
            s.next_after(ts(&c.from)),
            Some(ts(&c.expected)),
            "@every {} from {}",
            c.delay,
            c.from
        );
    }
}
