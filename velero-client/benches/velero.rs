//! Benchmarks: health assessment over a large cluster, decoding a list page, and a paged list
//! through the fake apiserver.
//!
//! `cargo bench -p velero-client --bench velero`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use velero_client::health::{HealthOptions, assess};
use velero_client::testing::FakeVelero;
use velero_client::{Backup, BackupStorageLocation, ListOptions, Schedule, VeleroClient};

fn backup_json(i: usize, now: jiff::Timestamp) -> Value {
    let start = now - jiff::SignedDuration::from_mins(i as i64 * 30);
    let phase = match i % 20 {
        0 => "PartiallyFailed",
        1 => "Failed",
        2 if i < 40 => "InProgress",
        _ => "Completed",
    };
    json!({
        "apiVersion": "velero.io/v1",
        "kind": "Backup",
        "metadata": {
            "name": format!("sched-{}-{i:06}", i % 50),
            "namespace": "velero",
            "uid": format!("00000000-0000-4000-8000-{i:012}"),
            "resourceVersion": i.to_string(),
            "generation": 7,
            "creationTimestamp": start.to_string(),
            "labels": { "velero.io/schedule-name": format!("sched-{}", i % 50), "velero.io/storage-location": "default" },
            "annotations": { "velero.io/source-cluster-k8s-gitversion": "v1.33.4+k3s1", "velero.io/resource-timeout": "10m0s" }
        },
        "spec": {
            "includedNamespaces": ["*"], "excludedNamespaces": ["kube-system"], "storageLocation": "default",
            "ttl": "720h0m0s", "defaultVolumesToFsBackup": true, "csiSnapshotTimeout": "10m0s",
            "itemOperationTimeout": "4h0m0s", "snapshotMoveData": false, "hooks": {}, "metadata": {}
        },
        "status": {
            "phase": phase, "version": 1, "formatVersion": "1.1.0", "expiration": (start + jiff::SignedDuration::from_hours(720)).to_string(),
            "startTimestamp": start.to_string(), "completionTimestamp": (start + jiff::SignedDuration::from_mins(4)).to_string(),
            "progress": { "totalItems": 812, "itemsBackedUp": 812 }, "errors": 0, "warnings": 3,
            "hookStatus": {}, "backupItemOperationsAttempted": 2, "backupItemOperationsCompleted": 2
        }
    })
}

fn bench(c: &mut Criterion) {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let now = jiff::Timestamp::now();
    let backups: Vec<Backup> = (0..5000)
        .map(|i| serde_json::from_value(backup_json(i, now)).unwrap())
        .collect();
    let schedules: Vec<Schedule> = (0..50)
        .map(|i| {
            serde_json::from_value(json!({
                "metadata": { "name": format!("sched-{i}"), "creationTimestamp": "2026-01-01T00:00:00Z" },
                "spec": { "schedule": if i % 2 == 0 { "0 2 * * *" } else { "@every 6h" }, "template": {} },
                "status": { "phase": "Enabled", "lastBackup": now.to_string() }
            }))
            .unwrap()
        })
        .collect();
    let locations: Vec<BackupStorageLocation> = vec![
        serde_json::from_value(json!({
            "metadata": { "name": "default" },
            "spec": { "provider": "velero.io/aws", "objectStorage": { "bucket": "velero-prod" } },
            "status": { "phase": "Available" }
        }))
        .unwrap(),
    ];
    let opts = HealthOptions::default().with_now(now);
    c.bench_function("assess 5000 backups, 50 schedules", |b| {
        b.iter(|| {
            assess(
                "prod",
                black_box(&schedules),
                black_box(&backups),
                locations.clone(),
                &opts,
            )
        })
    });

    let page = serde_json::to_vec(&json!({
        "apiVersion": "velero.io/v1", "kind": "BackupList", "metadata": { "resourceVersion": "9" },
        "items": (0..500).map(|i| backup_json(i, now)).collect::<Vec<_>>()
    }))
    .unwrap();
    c.bench_function("decode BackupList page of 500", |b| {
        b.iter(|| {
            serde_json::from_slice::<kube::core::ObjectList<Backup>>(black_box(&page)).unwrap()
        })
    });
    // The untyped alternative (kube's DynamicObject), for the ratio.
    c.bench_function("decode BackupList page of 500 (DynamicObject)", |b| {
        b.iter(|| {
            serde_json::from_slice::<kube::core::ObjectList<kube::core::DynamicObject>>(black_box(
                &page,
            ))
            .unwrap()
        })
    });

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (fake, client) = rt.block_on(async {
        let fake = FakeVelero::start_with_tick(&["prod"], Duration::from_secs(3600))
            .await
            .unwrap();
        let prod = fake.cluster("prod").unwrap();
        for i in 0..2000 {
            let mut v = backup_json(i, now);
            v["metadata"].as_object_mut().unwrap().remove("uid");
            prod.insert_json(v).unwrap();
        }
        let client = VeleroClient::builder()
            .with_kubeconfig_path(fake.kubeconfig_path())
            .with_context("prod")
            .build()
            .await
            .unwrap();
        (fake, client)
    });
    let mut group = c.benchmark_group("fake apiserver");
    group.sample_size(10);
    group.bench_function("list 2000 backups in pages of 500", |b| {
        b.iter(|| {
            rt.block_on(client.list_backups(&ListOptions::default()))
                .unwrap()
                .len()
        })
    });
    group.finish();
    drop(fake);
}

criterion_group!(benches, bench);
criterion_main!(benches);
