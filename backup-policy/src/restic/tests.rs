use super::apply::{BucketCache, Civil, Entry, bucket_key, key_of, sort_entries};
use super::*;

fn t(s: &str) -> SnapshotTime {
    SnapshotTime::parse(s).unwrap()
}

#[test]
fn fast_civil_matches_jiff() {
    let mut x = 0x1234_5678_9abc_def0u64;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let secs = (x % 8_000_000_000) as i64 - 2_000_000_000;
        let off = Offset::from_seconds(((x >> 40) % 100_000) as i32 - 50_000).unwrap();
        let t = SnapshotTime::new(Timestamp::from_second(secs).unwrap(), off);
        let c = Civil::of(&t);
        let dt = t.civil();
        assert_eq!(
            (c.y, c.m, c.d, c.h),
            (
                i64::from(dt.year()),
                i64::from(dt.month()),
                i64::from(dt.day()),
                i64::from(dt.hour())
            )
        );
        let w = dt.date().iso_week_date();
        assert_eq!(
            c.iso_week(),
            (i64::from(w.year()), i64::from(w.week())),
            "{t}"
        );
    }
}

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

#[test]
fn bucket_cache_matches_direct_keys() {
    let mut x = 0x0bad_cafe_dead_beefu64;
    let mut cache = BucketCache::new();
    let mut local = 1_700_000_000i64;
    for _ in 0..50_000 {
        // mostly small steps (cache hits), sometimes far jumps, both directions
        let r = xorshift(&mut x);
        local += match r % 4 {
            0 => (r >> 8) as i64 % 7200 - 3600,
            1 => (r >> 8) as i64 % 200_000 - 100_000,
            2 => (r >> 8) as i64 % 40_000_000 - 20_000_000,
            _ => -((r >> 8) as i64 % 1000),
        };
        let c = Civil::from_local_seconds(local);
        for k in 1..6 {
            assert_eq!(cache.key(k, local), bucket_key(k, &c, 0), "{k} {local}");
        }
    }
}

#[test]
fn entry_packs_every_jiff_time_and_offset() {
    let times = [
        Timestamp::MIN,
        Timestamp::MAX,
        Timestamp::UNIX_EPOCH,
        Timestamp::new(-1, -1).unwrap(),
        Timestamp::new(1_700_000_000, 999_999_999).unwrap(),
    ];
    for ts in times {
        for off in [Offset::MIN, Offset::MAX, Offset::UTC, Offset::constant(-5)] {
            let e = Entry::new(&SnapshotTime::new(ts, off), 4_000_000_000);
            assert_eq!(e.time_key(), key_of(ts), "{ts} {off}");
            assert_eq!(e.off(), off.seconds(), "{ts} {off}");
            assert_eq!(e.idx, 4_000_000_000);
            let local = SnapshotTime::new(ts, off).civil();
            // floored whole seconds of the wall clock read as UTC
            let want = local.to_zoned(jiff::tz::TimeZone::UTC).map(|z| {
                let t = z.timestamp();
                t.as_second() - i64::from(t.subsec_nanosecond() < 0)
            });
            if let Ok(want) = want {
                assert_eq!(e.local_seconds(), want, "{ts} {off}");
            }
        }
    }
}

#[test]
fn packed_sort_matches_tuple_sort() {
    let mut x = 0x1357_9bdf_2468_ace0u64;
    for case in 0..400 {
        // cases 1 and 2 are large enough for the (key, payload) pair sort
        let n = if case < 3 {
            20_000
        } else {
            (xorshift(&mut x) % 300) as usize
        };
        let span = [1u64, 10, 86_400, 1 << 30, 700_000_000_000][case % 5];
        let with_ns = case % 3 == 0;
        let entries: Vec<Entry> = (0..n)
            .map(|p| {
                let r = xorshift(&mut x);
                let s = (r % span) as i64 - (span / 2) as i64;
                let ns = if with_ns {
                    (xorshift(&mut x) % 1_000_000_000) as i32 * s.signum() as i32
                } else {
                    0
                };
                // a group's entries come in increasing idx order
                let idx = p as u32 * 7 + (r >> 61) as u32;
                Entry::from_parts(-s, -ns, (r >> 20) as i32 % 93_600, idx)
            })
            .collect();
        let mut want = entries.clone();
        want.sort_by_key(|e| (e.neg_s(), e.neg_ns));
        let got = sort_entries(entries);
        let f = |v: &[Entry]| -> Vec<_> {
            v.iter()
                .map(|e| (e.neg_s(), e.neg_ns, e.idx, e.off()))
                .collect()
        };
        assert_eq!(f(&got), f(&want), "case {case}");
    }
}

#[test]
fn grouping_matches_naive_grouping() {
    let mut x = 0x2468_1357_aaaa_5555u64;
    let words = [
        "",
        "a",
        "b",
        "/data",
        "/etc",
        "host-0001",
        "a-much-longer-name-x",
        "ab",
    ];
    let pick = |x: &mut u64, max: u64| -> Vec<String> {
        (0..xorshift(x) % max)
            .map(|_| words[(xorshift(x) % words.len() as u64) as usize].to_string())
            .collect()
    };
    // above the 16,384 snapshots where grouping starts reserving, with a skewed first
    // eighth (one host) so some groups are over- and others under-projected
    let snaps: Vec<Snapshot> = (0..20_000)
        .map(|i| {
            let host = if i < 4000 {
                "host-0001"
            } else {
                words[(xorshift(&mut x) % 8) as usize]
            };
            Snapshot::new(i.to_string(), t("2025-03-01T00:00:00Z"))
                .with_hostname(host)
                .with_paths(pick(&mut x, 3))
                .with_tags(pick(&mut x, 3))
        })
        .collect();
    for by in [
        "",
        "host",
        "paths",
        "tags",
        "host,paths",
        "host,tags",
        "paths,tags",
        "host,paths,tags",
    ] {
        let by: GroupBy = by.parse().unwrap();
        let mut want: std::collections::BTreeMap<GroupKey, Vec<usize>> = Default::default();
        for (i, s) in snaps.iter().enumerate() {
            let list = |on: bool, l: &[String]| {
                on.then(|| {
                    let mut l = l.to_vec();
                    l.sort();
                    l
                })
                .filter(|l| !l.is_empty())
            };
            let key = GroupKey {
                hostname: if by.host {
                    s.hostname.clone()
                } else {
                    String::new()
                },
                paths: list(by.paths, &s.paths),
                tags: list(by.tags, &s.tags),
            };
            want.entry(key).or_default().push(i);
        }
        let want: Vec<_> = want.into_iter().collect();
        assert_eq!(group_snapshots(&snaps, by), want, "{by:?}");
    }
}

#[test]
fn duration_parse_and_display() {
    let d: ResticDuration = "1y2m3d4h".parse().unwrap();
    assert_eq!(d, ResticDuration::new(1, 2, 3, 4));
    assert_eq!(d.to_string(), "1y2m3d4h");
    let d: ResticDuration = "3h2y".parse().unwrap();
    assert_eq!(d.to_string(), "2y3h");
    assert_eq!("5d2d".parse::<ResticDuration>().unwrap().days, 2);
    assert!("5w".parse::<ResticDuration>().is_err());
    assert!("5".parse::<ResticDuration>().is_err());
    assert!("".parse::<ResticDuration>().is_err());
    assert!("d".parse::<ResticDuration>().is_err());
}

#[test]
fn go_add_date_normalises_instead_of_clamping() {
    // 2025-03-31 minus one month is "2025-02-31" = 2025-03-03 in Go.
    let th = ResticDuration::new(0, 1, 0, 0).threshold(t("2025-03-31T12:00:00Z"), None);
    assert_eq!(th, "2025-03-03T12:00:00Z".parse::<Timestamp>().unwrap());
    let th = ResticDuration::new(0, 0, 1, 2).threshold(t("2025-03-01T01:00:00+05:00"), None);
    assert_eq!(th, "2025-02-27T18:00:00Z".parse::<Timestamp>().unwrap());
}

#[test]
fn local_zone_keeps_wall_clock_across_dst() {
    let tz = TimeZone::get("Europe/Berlin").unwrap();
    // 2024-03-31 is the spring-forward day in Berlin; latest recorded at +02:00 (CEST).
    let latest = t("2024-04-01T12:00:00+02:00");
    let d = ResticDuration::new(0, 0, 2, 0);
    let fixed = d.threshold(latest, None);
    let local = d.threshold(latest, Some(&tz));
    assert_eq!(fixed, "2024-03-30T10:00:00Z".parse::<Timestamp>().unwrap());
    assert_eq!(local, "2024-03-30T11:00:00Z".parse::<Timestamp>().unwrap()); // 12:00 CET
}

#[test]
fn time_round_trip() {
    for s in [
        "2026-11-27T02:28:22.939452169Z",
        "2025-03-01T23:30:00-05:00",
        "2025-03-01T23:30:00.5+05:45",
    ] {
        assert_eq!(t(s).to_string(), s);
    }
    assert!(SnapshotTime::parse("2025-03-01T23:30:00").is_err());
}

#[test]
fn offsets_make_different_daily_buckets() {
    let a = Snapshot::new("a", t("2025-03-01T23:30:00-05:00"));
    let b = Snapshot::new("b", t("2025-03-02T01:00:00Z"));
    let p = ForgetPolicy::default().keep_daily(5);
    let plan = p
        .apply(&[a, b], &ForgetOptions::new(Timestamp::MAX))
        .unwrap();
    assert_eq!(plan.keep.len(), 2);
}

#[test]
fn refusals() {
    let s = vec![Snapshot::new("a", t("2025-03-01T00:00:00Z"))];
    let opts = ForgetOptions::new(Timestamp::MAX);
    assert!(matches!(
        ForgetPolicy::default().apply(&s, &opts),
        Err(Error::EmptyPolicy)
    ));
    assert!(
        ForgetPolicy::default()
            .keep_daily(-2)
            .apply(&s, &opts)
            .is_err()
    );
    assert!(
        ForgetPolicy::default()
            .keep_daily(-1)
            .apply(&s, &opts)
            .is_ok()
    );
    let o14 = opts.clone().with_semantics(Semantics::Restic014);
    assert!(
        ForgetPolicy::default()
            .keep_daily(-1)
            .apply(&s, &o14)
            .is_err()
    );
    let tagged = ForgetPolicy::default().keep_tag("x".parse().unwrap());
    assert!(matches!(
        tagged.apply(&s, &opts),
        Err(Error::WouldRemoveAll { .. })
    ));
    let plan = tagged.apply(&s, &o14).unwrap();
    assert_eq!(plan.remove, [0]);
}
