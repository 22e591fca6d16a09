//! Benchmarks: response decoding, the prune selection, UPIDs, and round trips to the fake PBS.
//!
//! `cargo bench -p pbs-client --features testing`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use jiff::tz::TimeZone;
use pbs_client::testing::prune::{PruneItem, compute_prune_marks};
use pbs_client::testing::{FakePbs, USER};
use pbs_client::types::decode_data;
use pbs_client::{KeepOptions, SnapshotListItem, Upid};

fn snapshots_body(n: usize) -> Vec<u8> {
    let items: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "backup-type": "vm", "backup-id": format!("{}", 100 + i % 20),
                "backup-time": 1_700_000_000 + i as i64 * 3600,
                "verification": {"state": "ok", "upid": "UPID:pbs:00004F37:0039E469:00000000:5CA78B83:verify::root@pam:"},
                "files": [{"filename": "index.json.blob", "crypt-mode": "none", "size": 512},
                          {"filename": "drive-scsi0.img.fidx", "crypt-mode": "none", "size": 1u64 << 33}],
                "size": 512 + (1u64 << 33), "owner": "root@pam", "protected": i % 50 == 0,
                "x-future": {"a": [1, 2, 3]}
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "data": items })).unwrap()
}

fn decoding(c: &mut Criterion) {
    let body = snapshots_body(1000);
    let mut g = c.benchmark_group("decode_1000_snapshots");
    g.bench_function("typed (pbs-client)", |b| {
        b.iter(|| decode_data::<Vec<SnapshotListItem>>("/s", black_box(&body)).unwrap())
    });
    g.bench_function("serde_json::Value (baseline)", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&body)).unwrap())
    });
    g.finish();
}

fn prune(c: &mut Criterion) {
    // Three years of daily backups plus a few hourly ones.
    let items: Vec<PruneItem> = (0..1100)
        .map(|i| PruneItem::new(1_600_000_000 + i * 86_400))
        .collect();
    let keep = KeepOptions::new()
        .keep_last(3)
        .keep_daily(14)
        .keep_weekly(8)
        .keep_monthly(12)
        .keep_yearly(3);
    c.bench_function("prune_selection_1100_daily", |b| {
        b.iter(|| compute_prune_marks(black_box(&items), &keep, &TimeZone::UTC))
    });
}

fn upid(c: &mut Criterion) {
    let text =
        r"UPID:pbs:00004F37:0039E469:00000001:65F0A000:prune:store1\x3a\x3avm-100:root@pam!tok:";
    c.bench_function("upid_parse_and_print", |b| {
        b.iter(|| black_box(text).parse::<Upid>().unwrap().to_string())
    });
}

fn round_trips(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pbs = rt.block_on(FakePbs::start()).unwrap();
    let token = pbs.client_builder().build().unwrap();
    let ticket = pbs
        .client_builder()
        .with_password(USER, pbs.password())
        .build()
        .unwrap();
    // Warm both connection pools (and log in once).
    rt.block_on(async {
        token.version().await.unwrap();
        ticket.version().await.unwrap();
    });
    let mut g = c.benchmark_group("fake_pbs_round_trip_version");
    g.bench_function("token", |b| {
        b.iter(|| rt.block_on(token.version()).unwrap())
    });
    g.bench_function("ticket", |b| {
        b.iter(|| rt.block_on(ticket.version()).unwrap())
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
    targets = decoding, prune, upid, round_trips
}
criterion_main!(benches);
