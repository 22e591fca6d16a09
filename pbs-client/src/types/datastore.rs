//! Server, datastore, namespace, group and snapshot answers.

use serde::{Deserialize, Serialize};

use super::TaskState;

string_enum! {
    /// Backup type of a group.
    BackupType {
        /// A virtual machine.
        Vm = "vm",
        /// A container.
        Ct = "ct",
        /// A host (file-level) backup.
        Host = "host",
    }
}

string_enum! {
    /// Result of the last verification of a snapshot.
    VerifyState {
        /// Verified successfully.
        Ok = "ok",
        /// Verification found errors.
        Failed = "failed",
    }
}

string_enum! {
    /// Encryption mode of a file in a snapshot.
    CryptMode {
        /// Not encrypted.
        None = "none",
        /// Encrypted.
        Encrypt = "encrypt",
        /// Signed only.
        SignOnly = "sign-only",
    }
}
/// `GET /version`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VersionInfo {
    /// `MAJOR.MINOR`, e.g. `3.2`.
    pub version: String,
    /// Patch release, e.g. `4`.
    pub release: String,
    /// Git commit of the build.
    pub repoid: String,
}
/// An item of `GET /admin/datastore`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct DataStoreListItem {
    /// Datastore name.
    pub store: String,
    /// Comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// Maintenance mode, e.g. `type=read-only`.
    #[serde(default)]
    pub maintenance: Option<String>,
    /// `mounted`, `notmounted` or `nonremovable` (PBS 3.3+).
    #[serde(default)]
    pub mount_status: Option<String>,
    /// `filesystem` or `s3` (PBS 4).
    #[serde(default)]
    pub backend_type: Option<String>,
}

/// Garbage collection statistics.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
#[non_exhaustive]
pub struct GarbageCollectionStatus {
    /// UPID of the last GC task.
    pub upid: Option<crate::Upid>,
    /// Index files processed.
    pub index_file_count: u64,
    /// Bytes referenced by the indexes.
    pub index_data_bytes: u64,
    /// Bytes on disk.
    pub disk_bytes: u64,
    /// Chunks on disk.
    pub disk_chunks: u64,
    /// Bytes removed.
    pub removed_bytes: u64,
    /// Chunks removed.
    pub removed_chunks: u64,
    /// Bytes pending removal.
    pub pending_bytes: u64,
    /// Chunks pending removal.
    pub pending_chunks: u64,
    /// Bad chunks removed.
    pub removed_bad: u64,
    /// Bad chunks still present.
    pub still_bad: u64,
}

/// `GET /admin/datastore/{store}/gc` and items of `/admin/gc`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct GarbageCollectionJobStatus {
    /// Datastore name. PBS before 3.2.2 answers `GET …/gc` with the bare statistics: no
    /// `store`, schedule or last-run fields [proxmox-backup fe1d34d2 "api: garbage collect job
    /// status"].
    #[serde(default)]
    pub store: Option<String>,
    /// The statistics of the last run.
    #[serde(flatten)]
    pub status: GarbageCollectionStatus,
    /// GC schedule (calendar event).
    #[serde(default)]
    pub schedule: Option<String>,
    /// Next scheduled run, epoch seconds.
    #[serde(default)]
    pub next_run: Option<i64>,
    /// End of the last run, epoch seconds.
    #[serde(default)]
    pub last_run_endtime: Option<i64>,
    /// State of the last run.
    #[serde(default)]
    pub last_run_state: Option<TaskState>,
    /// Duration of the last run in seconds.
    #[serde(default)]
    pub duration: Option<i64>,
}

/// Group and snapshot counts of one backup type.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
#[non_exhaustive]
pub struct TypeCounts {
    /// Number of groups.
    pub groups: u64,
    /// Number of snapshots.
    pub snapshots: u64,
}

/// Counts per backup type.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
#[non_exhaustive]
pub struct Counts {
    /// Containers.
    pub ct: Option<TypeCounts>,
    /// Hosts.
    pub host: Option<TypeCounts>,
    /// Virtual machines.
    pub vm: Option<TypeCounts>,
    /// Other types.
    pub other: Option<TypeCounts>,
}

/// `GET /admin/datastore/{store}/status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct DataStoreStatus {
    /// Total bytes (0 without Audit privilege).
    pub total: u64,
    /// Used bytes.
    pub used: u64,
    /// Available bytes.
    pub avail: u64,
    /// GC status (verbose only).
    #[serde(default)]
    pub gc_status: Option<GarbageCollectionStatus>,
    /// Counts (verbose only).
    #[serde(default)]
    pub counts: Option<Counts>,
}

/// An item of `GET /status/datastore-usage`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct DataStoreUsage {
    /// Datastore name.
    pub store: String,
    /// Total bytes.
    #[serde(default)]
    pub total: Option<u64>,
    /// Used bytes.
    #[serde(default)]
    pub used: Option<u64>,
    /// Available bytes.
    #[serde(default)]
    pub avail: Option<u64>,
    /// Usage history (fractions, `null` for gaps).
    #[serde(default)]
    pub history: Option<Vec<Option<f64>>>,
    /// Epoch of the first history point.
    #[serde(default)]
    pub history_start: Option<u64>,
    /// Seconds between history points.
    #[serde(default)]
    pub history_delta: Option<u64>,
    /// Estimated epoch when the store is full (past or 0 = not filling).
    #[serde(default)]
    pub estimated_full_date: Option<i64>,
    /// Error reading the store's status.
    #[serde(default)]
    pub error: Option<String>,
    /// Last GC status.
    #[serde(default)]
    pub gc_status: Option<GarbageCollectionStatus>,
}

/// An item of `GET /admin/datastore/{store}/namespace`; the root namespace is `""`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NamespaceListItem {
    /// Namespace path (`a/b`), `""` for the root.
    pub ns: String,
    /// Comment.
    #[serde(default)]
    pub comment: Option<String>,
}

/// An item of `GET /admin/datastore/{store}/groups`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct GroupListItem {
    /// Backup type.
    pub backup_type: BackupType,
    /// Backup id (e.g. the VM id).
    pub backup_id: String,
    /// Time of the newest snapshot, epoch seconds.
    pub last_backup: i64,
    /// Number of snapshots.
    pub backup_count: u64,
    /// Files of the newest snapshot.
    #[serde(default)]
    pub files: Vec<String>,
    /// Owner (`user@realm` or `user@realm!token`).
    #[serde(default)]
    pub owner: Option<String>,
    /// First line of the group notes.
    #[serde(default)]
    pub comment: Option<String>,
}

/// Verification state of a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SnapshotVerifyState {
    /// Result.
    pub state: VerifyState,
    /// UPID of the verify task.
    pub upid: crate::Upid,
}

/// A file of a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct BackupContent {
    /// File name, e.g. `drive-scsi0.img.fidx`.
    pub filename: String,
    /// Encryption mode.
    #[serde(default)]
    pub crypt_mode: Option<CryptMode>,
    /// Size in bytes.
    #[serde(default)]
    pub size: Option<u64>,
}

/// An item of `GET /admin/datastore/{store}/snapshots`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct SnapshotListItem {
    /// Backup type.
    pub backup_type: BackupType,
    /// Backup id.
    pub backup_id: String,
    /// Snapshot time, epoch seconds.
    pub backup_time: i64,
    /// First line of the snapshot notes.
    #[serde(default)]
    pub comment: Option<String>,
    /// Last verification.
    #[serde(default)]
    pub verification: Option<SnapshotVerifyState>,
    /// Fingerprint of the encryption key.
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// Files in the snapshot.
    #[serde(default)]
    pub files: Vec<BackupContent>,
    /// Total size in bytes.
    #[serde(default)]
    pub size: Option<u64>,
    /// Owner of the group.
    #[serde(default)]
    pub owner: Option<String>,
    /// Protected from pruning.
    #[serde(default)]
    pub protected: bool,
}

/// An item of the answer of `POST /admin/datastore/{store}/prune`, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct PruneResult {
    /// Backup type.
    pub backup_type: BackupType,
    /// Backup id.
    pub backup_id: String,
    /// Snapshot time, epoch seconds.
    pub backup_time: i64,
    /// Kept (true) or removed (false).
    pub keep: bool,
    /// Protected snapshot (always kept).
    #[serde(default)]
    pub protected: bool,
    /// Namespace (only for non-root namespaces).
    #[serde(default)]
    pub ns: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::decode_data;

    #[test]
    fn snapshot_with_unknown_fields_and_values() {
        let body = br#"{"data":[{"backup-type":"vm","backup-id":"100","backup-time":1717200000,
            "verification":{"state":"ok","upid":"UPID:pbs:000003E8:0000AAAA:00000001:65F00000:verify:store1:root@pam:"},"files":[{"filename":"index.json.blob","crypt-mode":"none","size":12}],
            "size":12,"owner":"root@pam","protected":true,"new-4x-field":{"a":1}},
            {"backup-type":"appliance","backup-id":"x","backup-time":1,"verification":{"state":"partial","upid":"UPID:pbs:000003E8:0000AAAA:00000001:65F00000:verify:store1:root@pam:"}}]}"#;
        let v: Vec<SnapshotListItem> = decode_data("/s", body).unwrap();
        assert_eq!(v.len(), 2);
        assert!(v[0].protected);
        assert_eq!(v[0].files[0].crypt_mode, Some(CryptMode::None));
        assert_eq!(v[1].backup_type, BackupType::Unknown("appliance".into()));
        assert_eq!(
            v[1].verification.as_ref().unwrap().state,
            VerifyState::Unknown("partial".into())
        );
        assert!(!v[1].protected);
    }

    #[test]
    fn gc_status_of_servers_before_3_2_2_has_no_store() {
        // GarbageCollectionStatus as PBS 3.2.1 serialises it (no store, schedule, last run).
        let body = br#"{"data":{"upid":"UPID:pbs:000003E8:0000AAAA:00000002:65F00000:garbage_collection:store1:root@pam:",
            "index-file-count":12,"index-data-bytes":1024,"disk-bytes":512,"disk-chunks":2,
            "removed-bytes":0,"removed-chunks":0,"pending-bytes":0,"pending-chunks":0,
            "removed-bad":0,"still-bad":0}}"#;
        let gc: GarbageCollectionJobStatus = decode_data("/gc", body).unwrap();
        assert_eq!(gc.store, None);
        assert_eq!(gc.status.index_file_count, 12);
        assert_eq!(gc.last_run_state, None);
        let body = br#"{"data":{"store":"store1","upid":null,"last-run-state":"OK"}}"#;
        let gc: GarbageCollectionJobStatus = decode_data("/gc", body).unwrap();
        assert_eq!(gc.store.as_deref(), Some("store1"));
        assert_eq!(gc.last_run_state, Some(TaskState::Ok));
    }
}
