//! PBS drill: verify a guest's newest snapshot and read it back through the API.
//!
//! 1. The newest snapshot of the guest's group (`vm/<id>` or `ct/<id>`).
//! 2. A verify task of exactly that snapshot, re-verifying even when it was verified before
//!    (`ignore-verified: false`: the drill must read the chunks now), waited for (bounded).
//! 3. Its manifest `index.json.blob` read back (`download-decoded`) and compared with the
//!    snapshot listing: same type, id and time, and every listed file in it with the same size.
//! 4. One more blob, the guest config (`qemu-server.conf.blob`, `pct.conf.blob`) or the first
//!    other `.blob`, read back and its length compared with the manifest's size.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use pbs_client::{BackupType, Client, GroupRef, SnapshotFilter, SnapshotListItem, VerifyOptions};
use serde_json::Value;

/// What a PBS drill did.
#[derive(Debug, Clone)]
pub struct PbsDrill {
    /// `vm/450/2026-11-22T02:00:00Z`.
    pub snapshot: String,
    /// The verify task's UPID.
    pub upid: String,
    /// `None` when the task ended OK, else why not.
    pub verify_error: Option<String>,
    /// Files read back: name and bytes.
    pub read: Vec<(String, usize)>,
    /// Checks of what was read that failed.
    pub read_failures: Vec<String>,
    /// From starting the verify to the last byte read.
    pub took: Duration,
}

impl PbsDrill {
    /// The failed checks (empty: verified).
    pub fn failures(&self) -> Vec<String> {
        let mut out: Vec<String> = self.verify_error.iter().cloned().collect();
        out.extend(self.read_failures.iter().cloned());
        out
    }

    /// A few words for the table.
    pub fn detail(&self) -> String {
        let read: Vec<String> = self
            .read
            .iter()
            .map(|(n, b)| format!("{n} ({b} B)"))
            .collect();
        format!(
            "verify {}; read {}",
            self.snapshot,
            if read.is_empty() {
                "nothing".to_owned()
            } else {
                read.join(", ")
            }
        )
    }
}

/// The PBS backup type of a matrix target kind.
pub fn backup_type(kind: &backup_policy::matrix::TargetKind) -> Option<BackupType> {
    use backup_policy::matrix::TargetKind as K;
    match kind {
        K::Vm => Some(BackupType::Vm),
        K::Lxc => Some(BackupType::Ct),
        K::Host => Some(BackupType::Host),
        _ => None,
    }
}

/// Compares a decoded manifest with the snapshot listing.
pub fn check_manifest(manifest: &Value, snap: &SnapshotListItem) -> Vec<String> {
    let mut out = Vec::new();
    let same = |k: &str, want: Value| manifest.get(k) == Some(&want);
    if !same("backup-type", Value::from(snap.backup_type.to_string()))
        || !same("backup-id", Value::from(snap.backup_id.clone()))
        || !same("backup-time", Value::from(snap.backup_time))
    {
        out.push("index.json.blob names another snapshot".to_owned());
    }
    let files = manifest
        .get("files")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for f in snap
        .files
        .iter()
        .filter(|f| f.filename != "index.json.blob")
    {
        let entry = files
            .iter()
            .find(|e| e.get("filename").and_then(Value::as_str) == Some(f.filename.as_str()));
        match (entry, f.size) {
            (None, _) => out.push(format!("{} is listed but not in the manifest", f.filename)),
            (Some(e), Some(size)) if e.get("size").and_then(Value::as_u64) != Some(size) => {
                out.push(format!(
                    "{}: manifest size differs from the listing",
                    f.filename
                ));
            }
            _ => {}
        }
    }
    out
}

/// Runs the drill for the newest snapshot of `group`; `wait` bounds the verify task.
pub async fn drill(
    client: &Client,
    store: &str,
    group: &GroupRef,
    wait: Duration,
) -> Result<PbsDrill> {
    let mut filter =
        SnapshotFilter::new().with_group(group.backup_type.clone(), group.backup_id.clone());
    if let Some(ns) = &group.ns {
        filter = filter.with_ns(ns.clone());
    }
    let datastore = client.datastore(store);
    let snaps = datastore.snapshots(&filter).await.with_context(|| {
        format!(
            "listing snapshots of {}/{}",
            group.backup_type, group.backup_id
        )
    })?;
    let snap = snaps
        .iter()
        .max_by_key(|s| s.backup_time)
        .ok_or_else(|| {
            anyhow!(
                "no snapshot of {}/{} in {store}",
                group.backup_type,
                group.backup_id
            )
        })?
        .clone();
    let when = jiff::Timestamp::from_second(snap.backup_time)
        .map_or_else(|_| snap.backup_time.to_string(), |t| t.to_string());
    let name = format!("{}/{}/{when}", group.backup_type, group.backup_id);
    let started = Instant::now();
    let mut opts = VerifyOptions::new()
        .with_group(group)
        .with_ignore_verified(false);
    opts.backup_time = Some(snap.backup_time);
    let upid = datastore
        .verify(&opts)
        .await
        .with_context(|| format!("starting a verify of {name}"))?;
    let verify_error = client
        .wait_task(&upid, wait)
        .await
        .err()
        .map(|e| format!("verify: {e}"));
    let mut read = Vec::new();
    let mut read_failures = Vec::new();
    let manifest_bytes = datastore
        .download_blob(group, snap.backup_time, "index.json.blob")
        .await
        .with_context(|| format!("reading index.json.blob of {name}"))?;
    read.push(("index.json.blob".to_owned(), manifest_bytes.len()));
    match serde_json::from_slice::<Value>(&manifest_bytes) {
        Ok(manifest) => {
            read_failures.extend(check_manifest(&manifest, &snap));
            let config = snap
                .files
                .iter()
                .filter(|f| f.filename.ends_with(".blob") && f.filename != "index.json.blob")
                .min_by_key(|f| !f.filename.ends_with(".conf.blob"));
            if let Some(f) = config {
                let bytes = datastore
                    .download_blob(group, snap.backup_time, &f.filename)
                    .await
                    .with_context(|| format!("reading {} of {name}", f.filename))?;
                if f.size.is_some_and(|s| s != bytes.len() as u64) {
                    read_failures.push(format!(
                        "{}: read {} bytes, the snapshot lists {}",
                        f.filename,
                        bytes.len(),
                        f.size.unwrap_or_default()
                    ));
                }
                read.push((f.filename.clone(), bytes.len()));
            }
        }
        Err(e) => read_failures.push(format!("index.json.blob is not JSON: {e}")),
    }
    Ok(PbsDrill {
        snapshot: name,
        upid: upid.to_string(),
        verify_error,
        read,
        read_failures,
        took: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap() -> SnapshotListItem {
        serde_json::from_value(serde_json::json!({
            "backup-type": "vm", "backup-id": "450", "backup-time": 100,
            "files": [
                {"filename": "index.json.blob", "size": 500},
                {"filename": "qemu-server.conf.blob", "size": 12},
                {"filename": "drive-scsi0.img.fidx", "size": 4096}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn manifest_must_match_the_listing() {
        let good = serde_json::json!({
            "backup-type": "vm", "backup-id": "450", "backup-time": 100,
            "files": [
                {"filename": "qemu-server.conf.blob", "size": 12},
                {"filename": "drive-scsi0.img.fidx", "size": 4096}
            ]
        });
        assert!(check_manifest(&good, &snap()).is_empty());
        let mut other = good.clone();
        other["backup-time"] = 101.into();
        assert_eq!(check_manifest(&other, &snap()).len(), 1);
        let mut short = good;
        short["files"] = serde_json::json!([{"filename": "drive-scsi0.img.fidx", "size": 1}]);
        let f = check_manifest(&short, &snap());
        assert_eq!(f.len(), 2, "{f:?}");
    }
}
