//! DeleteBackupRequest, DownloadRequest and PodVolumeBackup (velero.io/v1).

use std::collections::BTreeMap;

use kube::CustomResource;
use serde::{Deserialize, Serialize};

use super::common::{ObjectReference, Time, string_enum};

string_enum!(
    /// `status.phase` of a DeleteBackupRequest.
    DeleteBackupRequestPhase, empty = New, {
        /// Not yet processed.
        New => "New",
        /// Deleting.
        InProgress => "InProgress",
        /// Done (check `status.errors`).
        Processed => "Processed",
    }
);

/// The spec of a DeleteBackupRequest (how `velero backup delete` deletes a backup).
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "velero.io",
    version = "v1",
    kind = "DeleteBackupRequest",
    plural = "deletebackuprequests",
    namespaced,
    status = "DeleteBackupRequestStatus",
    schema = "disabled",
    derive = "PartialEq"
)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DeleteBackupRequestSpec {
    /// Backup to delete.
    #[serde(default)]
    pub backup_name: String,
}

/// The status of a DeleteBackupRequest.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DeleteBackupRequestStatus {
    /// Phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<DeleteBackupRequestPhase>,
    /// Errors met while deleting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<String>>,
}

string_enum!(
    /// What a DownloadRequest fetches (`spec.target.kind`).
    DownloadTargetKind, empty = BackupLog, {
        /// Backup log (gzip).
        BackupLog => "BackupLog",
        /// Backup tarball (not gzip-decoded by the CLI).
        BackupContents => "BackupContents",
        /// Native volume snapshots (gzip JSON).
        BackupVolumeSnapshots => "BackupVolumeSnapshots",
        /// Async item operations (gzip JSON).
        BackupItemOperations => "BackupItemOperations",
        /// Resource list (gzip JSON).
        BackupResourceList => "BackupResourceList",
        /// Errors and warnings (gzip JSON).
        BackupResults => "BackupResults",
        /// Restore log (gzip).
        RestoreLog => "RestoreLog",
        /// Restore errors and warnings (gzip JSON).
        RestoreResults => "RestoreResults",
        /// Restored resource list.
        RestoreResourceList => "RestoreResourceList",
        /// Restore item operations.
        RestoreItemOperations => "RestoreItemOperations",
        /// CSI volume snapshots.
        CsiBackupVolumeSnapshots => "CSIBackupVolumeSnapshots",
        /// CSI volume snapshot contents.
        CsiBackupVolumeSnapshotContents => "CSIBackupVolumeSnapshotContents",
        /// Volume infos.
        BackupVolumeInfos => "BackupVolumeInfos",
        /// Restore volume info.
        RestoreVolumeInfo => "RestoreVolumeInfo",
    }
);

impl DownloadTargetKind {
    /// Whether the object is gzip-compressed (all but `BackupContents`).
    pub fn is_gzip(&self) -> bool {
        !matches!(self, Self::BackupContents)
    }
}

string_enum!(
    /// `status.phase` of a DownloadRequest.
    DownloadRequestPhase, empty = New, {
        /// Not yet processed.
        New => "New",
        /// The URL is ready (the file may still be missing).
        Processed => "Processed",
        /// The server could not sign a URL (Velero main only; see `status.message`).
        Failed => "Failed",
    }
);

/// `spec.target` of a DownloadRequest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DownloadTarget {
    /// What to download.
    #[serde(default)]
    pub kind: DownloadTargetKind,
    /// Backup or restore name.
    #[serde(default)]
    pub name: String,
}

impl DownloadTarget {
    /// A target.
    pub fn new(kind: DownloadTargetKind, name: impl Into<String>) -> Self {
        Self {
            kind,
            name: name.into(),
        }
    }
}

/// The spec of a DownloadRequest.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "velero.io",
    version = "v1",
    kind = "DownloadRequest",
    plural = "downloadrequests",
    namespaced,
    status = "DownloadRequestStatus",
    schema = "disabled",
    derive = "PartialEq"
)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DownloadRequestSpec {
    /// What to download.
    #[serde(default)]
    pub target: DownloadTarget,
}

/// The status of a DownloadRequest.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DownloadRequestStatus {
    /// Phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<DownloadRequestPhase>,
    /// Presigned URL (valid about 10 minutes).
    #[serde(
        default,
        rename = "downloadURL",
        skip_serializing_if = "Option::is_none"
    )]
    pub download_url: Option<String>,
    /// When the URL and the request expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<Time>,
    /// Why the request failed (Velero main only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

string_enum!(
    /// `status.phase` of a PodVolumeBackup.
    PodVolumeBackupPhase, empty = New, {
        /// Not yet processed.
        New => "New",
        /// Accepted by a node agent.
        Accepted => "Accepted",
        /// Prepared.
        Prepared => "Prepared",
        /// Uploading.
        InProgress => "InProgress",
        /// Being cancelled.
        Canceling => "Canceling",
        /// Cancelled.
        Canceled => "Canceled",
        /// Done.
        Completed => "Completed",
        /// Failed.
        Failed => "Failed",
    }
);

/// Byte progress of a pod volume backup.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PodVolumeOperationProgress {
    /// Total bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_bytes: Option<i64>,
    /// Bytes done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_done: Option<i64>,
}

/// The spec of a PodVolumeBackup (read-only: Velero creates these).
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "velero.io",
    version = "v1",
    kind = "PodVolumeBackup",
    plural = "podvolumebackups",
    namespaced,
    status = "PodVolumeBackupStatus",
    schema = "disabled",
    derive = "PartialEq"
)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PodVolumeBackupSpec {
    /// Node running the pod.
    #[serde(default)]
    pub node: String,
    /// The pod.
    #[serde(default)]
    pub pod: ObjectReference,
    /// Volume name in the pod.
    #[serde(default)]
    pub volume: String,
    /// Storage location.
    #[serde(default)]
    pub backup_storage_location: String,
    /// Repository identifier.
    #[serde(default)]
    pub repo_identifier: String,
    /// `kopia`, `restic` or empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploader_type: Option<String>,
    /// Snapshot tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    /// Uploader settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploader_settings: Option<BTreeMap<String, String>>,
    /// Cancel requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel: Option<bool>,
    /// Parent snapshot (Velero main only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_snapshot: Option<String>,
}

/// The status of a PodVolumeBackup.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PodVolumeBackupStatus {
    /// Phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<PodVolumeBackupPhase>,
    /// Path backed up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Snapshot ID in the repository.
    #[serde(
        default,
        rename = "snapshotID",
        skip_serializing_if = "Option::is_none"
    )]
    pub snapshot_id: Option<String>,
    /// Message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Start time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_timestamp: Option<Time>,
    /// Completion time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_timestamp: Option<Time>,
    /// Byte progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<PodVolumeOperationProgress>,
    /// Bytes uploaded incrementally.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incremental_bytes: Option<i64>,
    /// When a node agent accepted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_timestamp: Option<Time>,
}
