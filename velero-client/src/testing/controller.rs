//! The fake's controller: moves phases the way Velero's controllers do.
//!
//! * BackupStorageLocation: `Available` when its bucket exists in the simulated object store,
//!   else `Unavailable` with a message.
//! * Schedule: validates the cron (`FailedValidation` + `validationErrors`), honours
//!   `skipImmediately`, and when due (and no backup of the schedule is "", New or InProgress:
//!   the overlap guard) submits `<schedule>-<UTC timestamp>` and stamps `lastBackup`.
//! * Backup: New → Queued → ReadyToStart → FailedValidation (missing/unavailable/read-only
//!   location) or InProgress (defaults TTL and location, label, expiration, progress) →
//!   WaitingForPluginOperations (data mover) → Finalizing → Completed, or the PartiallyFailed
//!   twins (errors from failing items), writing the gzip log, results and resource list to the
//!   object store.
//!   A namespace with a hanging volume keeps it InProgress.
//! * Restore: New → FailedValidation (source rules, policy, location; not the backup's phase) or
//!   InProgress (resolves `scheduleName` to the newest Completed backup) → Finalizing →
//!   Completed, or the PartiallyFailed twins (items rejected in target namespaces), with log
//!   and results.
//! * DownloadRequest: New → Processed with a presigned-style URL on the location's
//!   `publicUrl`/`s3Url`, expiring after 10 minutes (then deleted). Targets whose backup or
//!   restore does not exist stay New, as in Velero 1.18.
//! * DeleteBackupRequest: refused (`Processed` with `status.errors`) for a running backup or a
//!   missing, read-only or unavailable location; else New → InProgress (backup `Deleting`) →
//!   Processed, removing the backup's files, restores, PodVolumeBackups and the Backup, then
//!   every request of the backup.

use std::io::Write;

use jiff::{SignedDuration, Timestamp};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{ClusterState, NamespaceSim};
use crate::types::*;

fn objects<K: DeserializeOwned>(state: &ClusterState, plural: &str) -> Vec<K> {
    state
        .lock_store()
        .all(plural, &state.namespace)
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect()
}

fn patch(state: &ClusterState, plural: &str, name: &str, p: Value) {
    let _ = state.write(|s| s.merge(plural, &state.namespace, name, &p));
}

fn remove(state: &ClusterState, plural: &str, name: &str) {
    let _ = state.write(|s| s.delete(plural, &state.namespace, name));
}

fn ts(t: Timestamp) -> String {
    Timestamp::from_second(t.as_second())
        .unwrap_or(t)
        .to_string()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

fn name_of<K: kube::Resource>(k: &K) -> String {
    k.meta().name.clone().unwrap_or_default()
}

/// One pass over every kind.
pub(crate) fn reconcile(state: &ClusterState, now: Timestamp) {
    if state.lock_world().controller_paused {
        return;
    }
    locations(state, now);
    schedules(state, now);
    backups(state, now);
    restores(state, now);
    downloads(state, now);
    deletions(state, now);
}

fn locations(state: &ClusterState, now: Timestamp) {
    for bsl in objects::<BackupStorageLocation>(state, "backupstoragelocations") {
        let name = name_of(&bsl);
        let available = state
            .lock_world()
            .buckets
            .contains(&bsl.spec.object_storage.bucket);
        let want = if available {
            BslPhase::Available
        } else {
            BslPhase::Unavailable
        };
        if bsl.status.as_ref().and_then(|s| s.phase.as_ref()) == Some(&want) {
            continue;
        }
        let message = (!available).then(|| {
            format!(
                "BackupStorageLocation \"{name}\" is unavailable: rpc error: code = Unknown desc = operation error S3: ListObjectsV2, https response error StatusCode: 404, api error NoSuchBucket: The specified bucket does not exist"
            )
        });
        patch(
            state,
            "backupstoragelocations",
            &name,
            json!({ "status": { "phase": want.as_str(), "lastValidationTime": ts(now), "message": message } }),
        );
    }
}

fn schedules(state: &ClusterState, now: Timestamp) {
    let backups: Vec<Backup> = objects(state, "backups");
    for s in objects::<Schedule>(state, "schedules") {
        let name = name_of(&s);
        // Velero validates with `cron.ParseStandard` (schedule_controller.go
        // `parseCronSchedule`): a schedule that parses but never fires (`0 0 30 2 *`) is Enabled.
        let parsed = if s.spec.schedule.is_empty() {
            Err("Schedule must be a non-empty valid Cron expression".to_owned())
        } else {
            crate::cron::CronSchedule::parse(&s.spec.schedule).map_err(|e| match e {
                crate::Error::InvalidSchedule { message, .. } => {
                    format!("invalid schedule: {message}")
                }
                other => format!("invalid schedule: {other}"),
            })
        };
        let cron = match parsed {
            Ok(c) => c,
            Err(e) => {
                if s.phase() != SchedulePhase::FailedValidation {
                    patch(
                        state,
                        "schedules",
                        &name,
                        json!({ "status": { "phase": "FailedValidation", "validationErrors": [e] } }),
                    );
                }
                continue;
            }
        };
        if s.phase() != SchedulePhase::Enabled {
            patch(
                state,
                "schedules",
                &name,
                json!({ "status": { "phase": "Enabled", "validationErrors": null } }),
            );
            continue;
        }
        if s.is_paused() {
            continue;
        }
        if s.spec.skip_immediately == Some(true) {
            patch(
                state,
                "schedules",
                &name,
                json!({ "spec": { "skipImmediately": false }, "status": { "lastSkipped": ts(now) } }),
            );
            continue;
        }
        let created = s
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|t| t.0)
            .unwrap_or(now);
        let skipped = s
            .status
            .as_ref()
            .and_then(|st| st.last_skipped.as_ref())
            .map(|t| t.0);
        let base = [Some(s.last_backup().unwrap_or(created)), skipped]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(created);
        let Some(next) = cron.next_after(base) else {
            continue;
        };
        if now <= next {
            continue;
        }
        // Overlap guard: a backup of this schedule in phase "", New or InProgress blocks the
        // run (vmware-tanzu/velero pkg/controller/schedule_controller.go
        // `checkIfBackupInNewOrProgress`).
        if backups
            .iter()
            .any(|b| b.schedule_name() == Some(name.as_str()) && b.phase().blocks_schedule())
        {
            continue;
        }
        let backup = crate::cli::backup_from_schedule(&s, now);
        if let Ok(v) = serde_json::to_value(&backup) {
            let ns = state.namespace.clone();
            let _ = state.write(|st| st.create("backups", &ns, v));
        }
        patch(
            state,
            "schedules",
            &name,
            json!({ "status": { "lastBackup": ts(now) } }),
        );
    }
}

fn location_for(
    locations: &[BackupStorageLocation],
    requested: Option<&str>,
) -> Result<BackupStorageLocation, String> {
    match requested.filter(|r| !r.is_empty()) {
        Some(name) => locations.iter().find(|l| name_of(*l) == name).cloned().ok_or_else(|| {
            format!(
                "an existing backup storage location was not specified at backup creation time and the default '{name}' was not found. Please address this issue (see `velero backup-location -h` for options) and create a new backup"
            )
        }),
        None => locations.iter().find(|l| l.is_default()).cloned().ok_or_else(|| {
            "an existing backup storage location was not specified at backup creation time and the server default 'default' does not exist. Please address this issue (see `velero backup-location -h` for options) and create a new backup".to_owned()
        }),
    }
}

fn covered_namespaces(
    world: &std::collections::BTreeMap<String, NamespaceSim>,
    included: Option<&Vec<String>>,
    excluded: Option<&Vec<String>>,
) -> Vec<(String, NamespaceSim)> {
    let all = included.is_none_or(|i| i.is_empty() || i.iter().any(|n| n == "*"));
    world
        .iter()
        .filter(|(n, _)| all || included.is_some_and(|i| i.contains(n)))
        .filter(|(n, _)| excluded.is_none_or(|e| !e.contains(n)))
        .map(|(n, s)| (n.clone(), s.clone()))
        .collect()
}

fn object_prefix(bsl: &BackupStorageLocation) -> String {
    let bucket = &bsl.spec.object_storage.bucket;
    match bsl
        .spec
        .object_storage
        .prefix
        .as_deref()
        .map(|p| p.trim_matches('/'))
        .filter(|p| !p.is_empty())
    {
        Some(p) => format!("{bucket}/{p}"),
        None => bucket.clone(),
    }
}

/// Backups through Velero 1.18's phases, one step per tick:
/// New → Queued (`queuePosition` = last + 1) → ReadyToStart (vmware-tanzu/velero
/// pkg/controller/backup_queue_controller.go; concurrency is not modelled: every queued backup
/// starts in queue order) → FailedValidation | InProgress (pkg/controller/backup_controller.go)
/// → WaitingForPluginOperations[PartiallyFailed] when async item operations run (data mover:
/// `snapshotMoveData` with pod volumes; pkg/controller/backup_operations_controller.go) →
/// Finalizing[PartiallyFailed] → Completed | PartiallyFailed
/// (pkg/controller/backup_finalizer_controller.go).
fn backups(state: &ClusterState, now: Timestamp) {
    let locations: Vec<BackupStorageLocation> = objects(state, "backupstoragelocations");
    let all: Vec<Backup> = objects(state, "backups");
    let mut last_position = all
        .iter()
        .filter(|b| b.phase() == BackupPhase::Queued)
        .filter_map(|b| b.status.as_ref().and_then(|s| s.queue_position))
        .max()
        .unwrap_or(0);
    let mut queued: Vec<&Backup> = all
        .iter()
        .filter(|b| b.phase() == BackupPhase::Queued)
        .collect();
    queued.sort_by_key(|b| b.status.as_ref().and_then(|s| s.queue_position));
    for b in queued {
        patch(
            state,
            "backups",
            &name_of(b),
            json!({ "status": { "phase": "ReadyToStart", "queuePosition": 0 } }),
        );
    }
    for b in &all {
        let name = name_of(b);
        match b.phase() {
            BackupPhase::New => {
                last_position += 1;
                patch(
                    state,
                    "backups",
                    &name,
                    json!({ "status": { "phase": "Queued", "queuePosition": last_position } }),
                );
            }
            BackupPhase::ReadyToStart => start_backup(state, b, &name, &locations, now),
            BackupPhase::InProgress => progress_backup(state, b, &name, &locations, now),
            BackupPhase::WaitingForPluginOperations
            | BackupPhase::WaitingForPluginOperationsPartiallyFailed => {
                let partially = b.phase() == BackupPhase::WaitingForPluginOperationsPartiallyFailed;
                let attempted = b
                    .status
                    .as_ref()
                    .and_then(|s| s.backup_item_operations_attempted)
                    .unwrap_or(0);
                patch(
                    state,
                    "backups",
                    &name,
                    json!({ "status": {
                        "phase": if partially { "FinalizingPartiallyFailed" } else { "Finalizing" },
                        "backupItemOperationsCompleted": attempted
                    } }),
                );
            }
            BackupPhase::Finalizing | BackupPhase::FinalizingPartiallyFailed => {
                let partially = b.phase() == BackupPhase::FinalizingPartiallyFailed;
                patch(
                    state,
                    "backups",
                    &name,
                    json!({ "status": {
                        "phase": if partially { "PartiallyFailed" } else { "Completed" },
                        "completionTimestamp": ts(now)
                    } }),
                );
            }
            _ => {}
        }
    }
}

fn start_backup(
    state: &ClusterState,
    b: &Backup,
    name: &str,
    locations: &[BackupStorageLocation],
    now: Timestamp,
) {
    let bsl = match location_for(locations, b.spec.storage_location.as_deref()) {
        Ok(l) => l,
        Err(msg) => {
            patch(
                state,
                "backups",
                name,
                json!({ "status": { "phase": "FailedValidation", "validationErrors": [msg], "version": 1, "formatVersion": "1.1.0" } }),
            );
            return;
        }
    };
    let bsl_name = name_of(&bsl);
    let mut errors = Vec::new();
    if bsl.phase() != BslPhase::Available {
        errors.push(format!("backup can't be taken because backup storage location {bsl_name} is currently in unavailable state"));
    }
    if bsl.spec.access_mode == Some(BslAccessMode::ReadOnly) {
        errors.push(format!("backup can't be created because backup storage location {bsl_name} is currently in read-only mode"));
    }
    if !errors.is_empty() {
        patch(
            state,
            "backups",
            name,
            json!({ "status": { "phase": "FailedValidation", "validationErrors": errors, "version": 1, "formatVersion": "1.1.0" } }),
        );
        return;
    }
    let ttl = b
        .spec
        .ttl
        .clone()
        .unwrap_or_else(|| GoDuration::from_std(std::time::Duration::from_secs(720 * 3600)));
    let ttl_span = ttl
        .to_std()
        .ok()
        .and_then(|d| SignedDuration::try_from(d).ok())
        .unwrap_or(SignedDuration::ZERO);
    let expiration = now.checked_add(ttl_span).unwrap_or(now);
    let covered = covered_namespaces(
        &state.lock_world().namespaces,
        b.spec.included_namespaces.as_ref(),
        b.spec.excluded_namespaces.as_ref(),
    );
    let total: i64 = covered.iter().map(|(_, s)| s.items).sum();
    patch(
        state,
        "backups",
        name,
        json!({
            "metadata": { "labels": { labels::STORAGE_LOCATION: labels::valid_label_value(&bsl_name) } },
            "spec": { "storageLocation": bsl_name, "ttl": ttl.as_str(), "csiSnapshotTimeout": b.spec.csi_snapshot_timeout.clone().map(|d| d.to_string()).unwrap_or_else(|| "10m0s".into()), "itemOperationTimeout": b.spec.item_operation_timeout.clone().map(|d| d.to_string()).unwrap_or_else(|| "4h0m0s".into()) },
            "status": {
                "phase": "InProgress",
                "version": 1,
                "formatVersion": "1.1.0",
                "startTimestamp": ts(now),
                "expiration": ts(expiration),
                "progress": { "totalItems": total, "itemsBackedUp": 0 }
            }
        }),
    );
}

fn progress_backup(
    state: &ClusterState,
    b: &Backup,
    name: &str,
    locations: &[BackupStorageLocation],
    now: Timestamp,
) {
    let covered = covered_namespaces(
        &state.lock_world().namespaces,
        b.spec.included_namespaces.as_ref(),
        b.spec.excluded_namespaces.as_ref(),
    );
    let total: i64 = covered.iter().map(|(_, s)| s.items).sum();
    let done = b
        .status
        .as_ref()
        .and_then(|s| s.progress.as_ref())
        .and_then(|p| p.items_backed_up)
        .unwrap_or(0);
    if covered.iter().any(|(_, s)| s.hangs) {
        // A volume whose file-system backup never finishes: progress stops short.
        let stalled = total
            - covered
                .iter()
                .filter(|(_, s)| s.hangs)
                .map(|(_, s)| s.items)
                .sum::<i64>();
        if done != stalled {
            patch(
                state,
                "backups",
                name,
                json!({ "status": { "progress": { "totalItems": total, "itemsBackedUp": stalled } } }),
            );
        }
        return;
    }
    if done < total {
        patch(
            state,
            "backups",
            name,
            json!({ "status": { "progress": { "totalItems": total, "itemsBackedUp": total } } }),
        );
        return;
    }
    let errors: i64 = covered.iter().map(|(_, s)| s.failing_items).sum();
    // Data-mover uploads are asynchronous item operations, one per pod volume.
    let operations: i64 = if b.spec.snapshot_move_data == Some(true) {
        covered.iter().map(|(_, s)| s.pod_volumes).sum()
    } else {
        0
    };
    let phase = match (errors > 0, operations > 0) {
        (true, true) => "WaitingForPluginOperationsPartiallyFailed",
        (false, true) => "WaitingForPluginOperations",
        (true, false) => "FinalizingPartiallyFailed",
        (false, false) => "Finalizing",
    };
    let bsl = location_for(locations, b.spec.storage_location.as_deref()).ok();
    let uid = b.metadata.uid.clone().unwrap_or_default();
    // PodVolumeBackups for volumes backed up with kopia.
    for (ns, sim) in &covered {
        for i in 0..sim.pod_volumes {
            let pvb = json!({
                "metadata": { "generateName": format!("{name}-"), "labels": { labels::BACKUP_NAME: labels::valid_label_value(name), labels::BACKUP_UID: uid } },
                "spec": { "node": "node-1", "pod": { "kind": "Pod", "namespace": ns, "name": format!("{ns}-0") }, "volume": format!("data-{i}"), "backupStorageLocation": bsl.as_ref().map(name_of).unwrap_or_default(), "repoIdentifier": "", "uploaderType": "kopia" },
                "status": { "phase": "Completed", "snapshotID": format!("{:016x}", i + 1), "path": format!("/host_pods/{ns}/volumes/data-{i}"), "startTimestamp": ts(now), "completionTimestamp": ts(now), "progress": { "totalBytes": 1024, "bytesDone": 1024 } }
            });
            let nsn = state.namespace.clone();
            let _ = state.write(|s| s.create("podvolumebackups", &nsn, pvb));
        }
    }
    if let Some(bsl) = &bsl {
        let base = format!("{}/backups/{name}/{name}", object_prefix(bsl));
        let mut log = String::new();
        let t = ts(now);
        log.push_str(&format!("time=\"{t}\" level=info msg=\"Setting up backup temp file\" backup=velero/{name} logSource=\"pkg/controller/backup_controller.go:680\"\n"));
        let mut ns_errors = serde_json::Map::new();
        for (ns, sim) in &covered {
            log.push_str(&format!("time=\"{t}\" level=info msg=\"Backing up {} items\" backup=velero/{name} namespace={ns} logSource=\"pkg/backup/backup.go:437\"\n", sim.items));
            let mut msgs = Vec::new();
            for i in 0..sim.failing_items {
                let msg = format!(
                    "error backing up item pods/{ns}-{i}: pod volume backup failed: data path backup failed"
                );
                log.push_str(&format!("time=\"{t}\" level=error msg=\"Error backing up item\" backup=velero/{name} error=\"{msg}\" namespace={ns} logSource=\"pkg/backup/backup.go:523\"\n"));
                msgs.push(Value::String(msg));
            }
            if !msgs.is_empty() {
                ns_errors.insert(ns.clone(), Value::Array(msgs));
            }
        }
        log.push_str(&format!("time=\"{t}\" level=info msg=\"Backup completed\" backup=velero/{name} logSource=\"pkg/controller/backup_controller.go:790\"\n"));
        let results = json!({ "errors": { "namespaces": ns_errors }, "warnings": {} });
        let mut world = state.lock_world();
        world
            .blobs
            .insert(format!("{base}-logs.gz"), gzip(log.as_bytes()));
        world.blobs.insert(
            format!("{base}-results.gz"),
            gzip(results.to_string().as_bytes()),
        );
        world
            .blobs
            .insert(format!("{base}.tar.gz"), gzip(b"fake tarball"));
        // The resource list: "group/version/Kind" → "namespace/name" of namespaced items, bare
        // names of cluster-scoped ones (vmware-tanzu/velero design/backup-resource-list.md,
        // `<backup>-resource-list.json.gz`). The simulated items are ConfigMaps, the namespaces'
        // own objects are not simulated (nor counted in the progress), so none is listed.
        let items: Vec<String> = covered
            .iter()
            .flat_map(|(n, sim)| {
                (0..sim.items - sim.failing_items).map(move |i| format!("{n}/cm-{i}"))
            })
            .collect();
        let list = json!({ "v1/ConfigMap": items });
        world.blobs.insert(
            format!("{base}-resource-list.json.gz"),
            gzip(list.to_string().as_bytes()),
        );
        world.backup_contents.insert(
            name.to_owned(),
            covered
                .iter()
                .map(|(n, s)| (n.clone(), s.items - s.failing_items))
                .collect(),
        );
    }
    patch(
        state,
        "backups",
        name,
        json!({ "status": { "phase": phase, "errors": errors, "warnings": 0, "backupItemOperationsAttempted": operations } }),
    );
}

const NON_RESTORABLE: &[&str] = &[
    "nodes",
    "events",
    "events.events.k8s.io",
    "backups.velero.io",
    "restores.velero.io",
    "resticrepositories.velero.io",
    "csinodes.storage.k8s.io",
    "volumeattachments.storage.k8s.io",
    "backuprepositories.velero.io",
];

fn restores(state: &ClusterState, now: Timestamp) {
    let backups: Vec<Backup> = objects(state, "backups");
    let locations: Vec<BackupStorageLocation> = objects(state, "backupstoragelocations");
    for r in objects::<Restore>(state, "restores") {
        let name = name_of(&r);
        match r.phase() {
            RestorePhase::New => start_restore(state, &r, &name, &backups, &locations, now),
            RestorePhase::InProgress => finish_restore(state, &r, &name, &backups, &locations, now),
            // vmware-tanzu/velero pkg/controller/restore_finalizer_controller.go.
            RestorePhase::Finalizing | RestorePhase::FinalizingPartiallyFailed => {
                let partially = r.phase() == RestorePhase::FinalizingPartiallyFailed;
                patch(
                    state,
                    "restores",
                    &name,
                    json!({ "status": {
                        "phase": if partially { "PartiallyFailed" } else { "Completed" },
                        "completionTimestamp": ts(now)
                    } }),
                );
            }
            _ => {}
        }
    }
}

fn fail_restore(state: &ClusterState, name: &str, errors: Vec<String>) {
    patch(
        state,
        "restores",
        name,
        json!({ "status": { "phase": "FailedValidation", "validationErrors": errors } }),
    );
}

fn start_restore(
    state: &ClusterState,
    r: &Restore,
    name: &str,
    backups: &[Backup],
    locations: &[BackupStorageLocation],
    now: Timestamp,
) {
    let by_backup = r.spec.backup_name.as_deref().filter(|s| !s.is_empty());
    let by_schedule = r.spec.schedule_name.as_deref().filter(|s| !s.is_empty());
    let mut errors = Vec::new();
    if by_backup.is_some() == by_schedule.is_some() {
        errors.push("Either a backup or schedule must be specified as a source for the restore, but not both".to_owned());
    }
    if let Some(ExistingResourcePolicy::Unknown(p)) = &r.spec.existing_resource_policy {
        errors.push(format!(
            "Invalid existing resource policy {p:?}, valid values are \"none\" and \"update\""
        ));
    }
    for inc in r.spec.included_resources.iter().flatten() {
        if NON_RESTORABLE.contains(&inc.as_str()) {
            errors.push(format!("{inc} are non-restorable resources"));
        }
    }
    if !errors.is_empty() {
        return fail_restore(state, name, errors);
    }
    let backup = match (by_backup, by_schedule) {
        (Some(b), _) => backups.iter().find(|x| name_of(*x) == b),
        (None, Some(s)) => {
            let own: Vec<Backup> = backups
                .iter()
                .filter(|b| b.schedule_name() == Some(s))
                .cloned()
                .collect();
            let newest = crate::cli::newest_backup_in(&own, &[BackupPhase::Completed]).map(name_of);
            newest.and_then(|n| backups.iter().find(|x| name_of(*x) == n))
        }
        (None, None) => None,
    };
    let Some(backup) = backup else {
        let msg = match by_schedule {
            Some(s) => format!("No backups found for schedule {s:?}"),
            None => format!(
                "Unable to retrieve backup: backups.velero.io \"{}\" not found",
                by_backup.unwrap_or("")
            ),
        };
        return fail_restore(state, name, vec![msg]);
    };
    // No check of the backup's phase: the restore controller has none for a named backup
    // (vmware-tanzu/velero pkg/controller/restore_controller.go `validateAndComplete`).
    let backup_name = name_of(backup);
    if let Ok(bsl) = location_for(locations, backup.spec.storage_location.as_deref())
        && bsl.phase() != BslPhase::Available
    {
        return fail_restore(
            state,
            name,
            vec![format!(
                "The BSL {} is unavailable, cannot retrieve the backup",
                name_of(&bsl)
            )],
        );
    }
    let mut excluded = r.spec.excluded_resources.clone().unwrap_or_default();
    for nr in NON_RESTORABLE {
        if !excluded.iter().any(|e| e == nr) {
            excluded.push((*nr).to_owned());
        }
    }
    let total: i64 = state
        .lock_world()
        .backup_contents
        .get(&backup_name)
        .map(|c| c.iter().map(|(_, n)| n).sum())
        .unwrap_or(0);
    patch(
        state,
        "restores",
        name,
        json!({
            "spec": { "backupName": backup_name, "scheduleName": backup.schedule_name(), "excludedResources": excluded },
            "status": { "phase": "InProgress", "startTimestamp": ts(now), "progress": { "totalItems": total, "itemsRestored": 0 } }
        }),
    );
}

fn finish_restore(
    state: &ClusterState,
    r: &Restore,
    name: &str,
    backups: &[Backup],
    locations: &[BackupStorageLocation],
    now: Timestamp,
) {
    let backup_name = r.spec.backup_name.clone().unwrap_or_default();
    let contents = state
        .lock_world()
        .backup_contents
        .get(&backup_name)
        .cloned()
        .unwrap_or_default();
    let included = r.spec.included_namespaces.as_ref();
    let all = included.is_none_or(|i| i.is_empty() || i.iter().any(|n| n == "*"));
    let excluded = r.spec.excluded_namespaces.clone().unwrap_or_default();
    let update = r.spec.existing_resource_policy == Some(ExistingResourcePolicy::Update);
    let mut errors = 0i64;
    let mut warnings = 0i64;
    let mut restored = 0i64;
    let mut ns_errors = serde_json::Map::new();
    let mut ns_warnings = serde_json::Map::new();
    let mut log = String::new();
    let t = ts(now);
    {
        let mut world = state.lock_world();
        for (src, items) in contents.iter().filter(|(n, _)| {
            (all || included.is_some_and(|i| i.contains(n))) && !excluded.contains(n)
        }) {
            // `spec.namespaceMapping`: a source namespace's items land in the mapped one,
            // which the restore creates (vmware-tanzu/velero pkg/restore/restore.go: the
            // target namespace is remapped before each item is created;
            // pkg/controller/restore_controller.go hands the mapping to the restorer).
            let target = r
                .spec
                .namespace_mapping
                .as_ref()
                .and_then(|m| m.get(src))
                .cloned()
                .unwrap_or_else(|| src.clone());
            log.push_str(&format!("time=\"{t}\" level=info msg=\"Restoring {items} items from namespace {src} into {target}\" restore=velero/{name} logSource=\"pkg/restore/restore.go:2140\"\n"));
            let existing = world.namespaces.get(&target).cloned();
            let rejected = existing
                .as_ref()
                .map(|s| s.rejects_restores.min(*items))
                .unwrap_or(0);
            if rejected > 0 {
                errors += rejected;
                let msgs: Vec<Value> = (0..rejected)
                    .map(|i| Value::String(format!("error restoring configmaps/{target}/cm-{i}: admission webhook \"policy.example.org\" denied the request")))
                    .collect();
                for m in &msgs {
                    log.push_str(&format!("time=\"{t}\" level=error msg=\"error restoring item\" error={m} restore=velero/{name}\n"));
                }
                ns_errors.insert(target.clone(), Value::Array(msgs));
            }
            if existing.is_some() && !update {
                warnings += 1;
                ns_warnings.insert(
                    target.clone(),
                    json!([format!("could not restore, namespace \"{target}\" already exists. Warning: the in-cluster version is different than the backed-up version")]),
                );
            }
            restored += items - rejected;
            let entry = world.namespaces.entry(target).or_default();
            entry.items = entry.items.max(items - rejected);
        }
    }
    // The restore controller hands over to the finalizer (pkg/controller/restore_controller.go).
    let phase = if errors > 0 {
        "FinalizingPartiallyFailed"
    } else {
        "Finalizing"
    };
    log.push_str(&format!("time=\"{t}\" level=info msg=\"restore completed\" restore=velero/{name} logSource=\"pkg/controller/restore_controller.go:602\"\n"));
    if let Some(backup) = backups.iter().find(|b| name_of(*b) == backup_name)
        && let Ok(bsl) = location_for(locations, backup.spec.storage_location.as_deref())
    {
        let base = format!("{}/restores/{name}/restore-{name}", object_prefix(&bsl));
        let results = json!({ "errors": { "namespaces": ns_errors }, "warnings": { "namespaces": ns_warnings } });
        let mut world = state.lock_world();
        world
            .blobs
            .insert(format!("{base}-logs.gz"), gzip(log.as_bytes()));
        world.blobs.insert(
            format!("{base}-results.gz"),
            gzip(results.to_string().as_bytes()),
        );
    }
    // `status.progress`: totalItems from the backup's contents when the restore starts,
    // itemsRestored as items are created (pkg/restore/restore.go updates the progress, the
    // restore controller patches it into the Restore).
    patch(
        state,
        "restores",
        name,
        json!({ "status": { "phase": phase, "errors": errors, "warnings": warnings, "progress": { "itemsRestored": restored } } }),
    );
}

fn download_key(kind: &DownloadTargetKind, name: &str) -> Option<String> {
    use DownloadTargetKind as K;
    Some(match kind {
        K::BackupLog => format!("backups/{name}/{name}-logs.gz"),
        K::BackupContents => format!("backups/{name}/{name}.tar.gz"),
        K::BackupResults => format!("backups/{name}/{name}-results.gz"),
        K::BackupResourceList => format!("backups/{name}/{name}-resource-list.json.gz"),
        K::BackupVolumeSnapshots => format!("backups/{name}/{name}-volumesnapshots.json.gz"),
        K::BackupItemOperations => format!("backups/{name}/{name}-itemoperations.json.gz"),
        K::BackupVolumeInfos => format!("backups/{name}/{name}-volumeinfo.json.gz"),
        K::CsiBackupVolumeSnapshots => format!("backups/{name}/{name}-csi-volumesnapshots.json.gz"),
        K::CsiBackupVolumeSnapshotContents => {
            format!("backups/{name}/{name}-csi-volumesnapshotcontents.json.gz")
        }
        K::RestoreLog => format!("restores/{name}/restore-{name}-logs.gz"),
        K::RestoreResults => format!("restores/{name}/restore-{name}-results.gz"),
        K::RestoreResourceList => format!("restores/{name}/restore-{name}-resource-list.json.gz"),
        K::RestoreItemOperations => {
            format!("restores/{name}/restore-{name}-itemoperations.json.gz")
        }
        K::RestoreVolumeInfo => format!("restores/{name}/{name}-volumeinfo.json.gz"),
        K::Unknown(_) => return None,
    })
}

fn downloads(state: &ClusterState, now: Timestamp) {
    let requests: Vec<DownloadRequest> = objects(state, "downloadrequests");
    if requests.is_empty() {
        return;
    }
    let backups: Vec<Backup> = objects(state, "backups");
    let restores: Vec<Restore> = objects(state, "restores");
    let locations: Vec<BackupStorageLocation> = objects(state, "backupstoragelocations");
    for dr in requests {
        let name = name_of(&dr);
        let status = dr.status.clone().unwrap_or_default();
        if status.phase == Some(DownloadRequestPhase::Processed) {
            if status.expiration.is_some_and(|e| e.0 < now) {
                remove(state, "downloadrequests", &name);
            }
            continue;
        }
        let target = &dr.spec.target;
        let backup_name = if target.kind.as_str().starts_with("Restore") {
            restores
                .iter()
                .find(|r| name_of(*r) == target.name)
                .and_then(|r| r.spec.backup_name.clone())
        } else {
            Some(target.name.clone())
        };
        // Velero 1.18 errors out (and retries) when the backup or restore is missing.
        let Some(backup) = backup_name.and_then(|b| backups.iter().find(|x| name_of(*x) == b))
        else {
            continue;
        };
        let Ok(bsl) = location_for(&locations, backup.spec.storage_location.as_deref()) else {
            continue;
        };
        let Some(key) = download_key(&target.kind, &target.name) else {
            continue;
        };
        let endpoint = bsl
            .config_value("publicUrl")
            .or_else(|| bsl.config_value("s3Url"))
            .map(|u| u.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| state.store_url.clone());
        let signature = hex::encode(format!("{name}{}", now.as_second()).as_bytes());
        let url = format!(
            "{endpoint}/{}/{key}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=GKfake%2F20261127%2Fgarage%2Fs3%2Faws4_request&X-Amz-Expires=600&X-Amz-SignedHeaders=host&X-Amz-Signature={signature}",
            object_prefix(&bsl)
        );
        let expiration = now
            .checked_add(SignedDuration::from_mins(10))
            .unwrap_or(now);
        patch(
            state,
            "downloadrequests",
            &name,
            json!({ "status": { "phase": "Processed", "downloadURL": url, "expiration": ts(expiration) } }),
        );
    }
}

/// Backups the server's backup tracker holds (vmware-tanzu/velero
/// pkg/controller/backup_tracker.go `Contains`: in progress or post-processing; not the queue).
fn tracked_as_running(phase: &BackupPhase) -> bool {
    matches!(
        phase,
        BackupPhase::InProgress
            | BackupPhase::WaitingForPluginOperations
            | BackupPhase::WaitingForPluginOperationsPartiallyFailed
            | BackupPhase::Finalizing
            | BackupPhase::FinalizingPartiallyFailed
    )
}

fn refuse_deletion(state: &ClusterState, dbr: &str, why: String) {
    // patchDeleteBackupRequestWithError: Processed, errors = [why].
    patch(
        state,
        "deletebackuprequests",
        dbr,
        json!({ "status": { "phase": "Processed", "errors": [why] } }),
    );
}

fn label_of(obj: &impl kube::Resource, key: &str) -> Option<String> {
    obj.meta().labels.as_ref().and_then(|l| l.get(key)).cloned()
}

/// DeleteBackupRequests, after vmware-tanzu/velero pkg/controller/backup_deletion_controller.go:
/// refusals (`Processed` + `status.errors`) for a missing name, a running backup, a missing
/// backup or location, a read-only or unavailable location; earlier requests of the same backup
/// are deleted when a new one is picked up; on success the backup's data, restores and
/// PodVolumeBackups go, then the Backup, then every request labelled with its name and UID.
fn deletions(state: &ClusterState, _now: Timestamp) {
    let requests: Vec<DeleteBackupRequest> = objects(state, "deletebackuprequests");
    if requests.is_empty() {
        return;
    }
    let backups: Vec<Backup> = objects(state, "backups");
    let locations: Vec<BackupStorageLocation> = objects(state, "backupstoragelocations");
    for dbr in &requests {
        let name = name_of(dbr);
        let phase = dbr
            .status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or_default();
        let backup_name = dbr.spec.backup_name.clone();
        let backup = backups.iter().find(|b| name_of(*b) == backup_name);
        match phase {
            DeleteBackupRequestPhase::New => {
                if backup_name.is_empty() {
                    refuse_deletion(state, &name, "spec.backupName is required".into());
                    continue;
                }
                // deleteExistingDeletionRequests: one request per backup at a time.
                let label = labels::valid_label_value(&backup_name);
                for other in &requests {
                    if name_of(other) != name
                        && label_of(other, labels::BACKUP_NAME).as_deref() == Some(label.as_str())
                    {
                        remove(state, "deletebackuprequests", &name_of(other));
                    }
                }
                let Some(b) = backup else {
                    refuse_deletion(state, &name, "backup not found".into());
                    continue;
                };
                if tracked_as_running(&b.phase()) {
                    refuse_deletion(state, &name, "backup is still in progress".into());
                    continue;
                }
                let bsl_name = b.spec.storage_location.clone().unwrap_or_default();
                let Some(bsl) = locations.iter().find(|l| name_of(*l) == bsl_name) else {
                    refuse_deletion(
                        state,
                        &name,
                        format!("backup storage location {bsl_name} not found"),
                    );
                    continue;
                };
                if bsl.spec.access_mode == Some(BslAccessMode::ReadOnly) {
                    refuse_deletion(
                        state,
                        &name,
                        format!(
                            "cannot delete backup because backup storage location {bsl_name} is currently in read-only mode"
                        ),
                    );
                    continue;
                }
                if bsl.phase() != BslPhase::Available {
                    refuse_deletion(
                        state,
                        &name,
                        format!(
                            "cannot delete backup because backup storage location {bsl_name} is currently in Unavailable state"
                        ),
                    );
                    continue;
                }
                let uid = b.metadata.uid.clone().unwrap_or_default();
                patch(
                    state,
                    "deletebackuprequests",
                    &name,
                    json!({
                        "metadata": { "labels": { labels::BACKUP_NAME: label, labels::BACKUP_UID: uid } },
                        "status": { "phase": "InProgress" }
                    }),
                );
                patch(
                    state,
                    "backups",
                    &backup_name,
                    json!({ "status": { "phase": "Deleting" } }),
                );
            }
            DeleteBackupRequestPhase::InProgress => {
                let mut uid = label_of(dbr, labels::BACKUP_UID).unwrap_or_default();
                if let Some(b) = backup {
                    uid = b.metadata.uid.clone().unwrap_or(uid);
                    if let Ok(bsl) = location_for(&locations, b.spec.storage_location.as_deref()) {
                        let prefix = format!("{}/backups/{backup_name}/", object_prefix(&bsl));
                        state
                            .lock_world()
                            .blobs
                            .retain(|k, _| !k.starts_with(&prefix));
                    }
                    for r in objects::<Restore>(state, "restores") {
                        if r.spec.backup_name.as_deref() == Some(backup_name.as_str()) {
                            remove(state, "restores", &name_of(&r));
                        }
                    }
                    let label = labels::valid_label_value(&backup_name);
                    for pvb in objects::<PodVolumeBackup>(state, "podvolumebackups") {
                        if label_of(&pvb, labels::BACKUP_NAME).as_deref() == Some(label.as_str()) {
                            remove(state, "podvolumebackups", &name_of(&pvb));
                        }
                    }
                    state.lock_world().backup_contents.remove(&backup_name);
                    remove(state, "backups", &backup_name);
                }
                patch(
                    state,
                    "deletebackuprequests",
                    &name,
                    json!({ "status": { "phase": "Processed", "errors": [] } }),
                );
                // DeleteAllOf(backup-name=<name>, backup-uid=<uid>).
                let label = labels::valid_label_value(&backup_name);
                for d in objects::<DeleteBackupRequest>(state, "deletebackuprequests") {
                    if label_of(&d, labels::BACKUP_NAME).as_deref() == Some(label.as_str())
                        && label_of(&d, labels::BACKUP_UID).as_deref() == Some(uid.as_str())
                    {
                        remove(state, "deletebackuprequests", &name_of(&d));
                    }
                }
            }
            _ => {}
        }
    }
}
