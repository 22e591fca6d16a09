//! The restic forget engine on 1,000,000 snapshots (one group; 1,000 groups), with sorting
//! 1,000,000 timestamps measured in the same run as the floor.
//!
//! `cargo bench -p backup-policy --bench retention`

use std::hint::black_box;

use backup_policy::restic::{
    ForgetOptions, ForgetPolicy, GroupBy, Semantics, Snapshot, SnapshotTime, forget,
    group_snapshots,
};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use jiff::Timestamp;
use jiff::tz::Offset;

const N: usize = 1_000_000;

fn rng(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `N` snapshots in random order over ten years, spread over `groups` hosts.
fn snapshots(groups: usize) -> Vec<Snapshot> {
    let mut s = 42u64;
    let hosts: Vec<String> = (0..groups).map(|g| format!("host-{g:04}")).collect();
    let offsets = [0, 3600, 7200, -18000];
    (0..N)
        .map(|i| {
            let secs = 1_500_000_000 + (rng(&mut s) % (10 * 365 * 86_400)) as i64;
            let off = Offset::from_seconds(offsets[(rng(&mut s) % 4) as usize]).unwrap();
            Snapshot::new(
                i.to_string(),
                SnapshotTime::new(Timestamp::from_second(secs).unwrap(), off),
            )
            .with_hostname(hosts[i % groups].clone())
            .with_paths(["/data"])
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let policy = ForgetPolicy::default()
        .keep_last(5)
        .keep_hourly(24)
        .keep_daily(7)
        .keep_weekly(4)
        .keep_monthly(12)
        .keep_yearly(10)
        .keep_within("2m".parse().unwrap());
    let opts = ForgetOptions::new(Timestamp::from_second(1_900_000_000).unwrap())
        .with_semantics(Semantics::Current);
    let mut g = c.benchmark_group("retention_1M");
    g.sample_size(10);
    let one = snapshots(1);
    let times: Vec<Timestamp> = one.iter().map(|s| s.time.timestamp()).collect();
    g.bench_function("floor: sort 1M timestamps", |b| {
        b.iter_batched(
            || times.clone(),
            |mut t| {
                t.sort_unstable();
                black_box(t)
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("forget 1M snapshots, 1 group", |b| {
        b.iter(|| black_box(forget(&one, GroupBy::default(), &policy, &opts).unwrap()))
    });
    drop(one);
    let many = snapshots(1000);
    g.bench_function("group 1M snapshots, 1000 groups", |b| {
        b.iter(|| black_box(group_snapshots(&many, GroupBy::default())))
    });
    g.bench_function("forget 1M snapshots, 1000 groups", |b| {
        b.iter(|| black_box(forget(&many, GroupBy::default(), &policy, &opts).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
