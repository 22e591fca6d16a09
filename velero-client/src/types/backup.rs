//! `Backup` (velero.io/v1).

use std::collections::BTreeMap;

use kube::CustomResource;
use serde::{Deserialize, Serialize};

use super::common::{
    ExecHook, GoDuration, HookStatus, LabelSelector, Time, TypedLocalObjectReference, string_enum,
};

string_enum!(
    /// `status.phase` of a Backup. An empty phase reads as `New`.
    BackupPhase, empty = New, {
        /// Not yet processed.
        New => "New",
        /// Waiting in the backup queue (v1.18+).
        Queued => "Queued",
        /// Dequeued, about to start (v1.18+).
        ReadyToStart => "ReadyToStart",
        /// Invalid spec or storage location; nothing was backed up.
        FailedValidation => "FailedValidation",
        /// Running.
        InProgress => "InProgress",
        /// Waiting for asynchronous plugin operations.
        WaitingForPluginOperations => "WaitingForPluginOperations",
        /// Waiting for plugin operations after an error.
        WaitingForPluginOperationsPartiallyFailed => "WaitingForPluginOperationsPartiallyFailed",
        /// Writing the final metadata.
        Finalizing => "Finalizing",
        /// Finalizing after an error.
        FinalizingPartiallyFailed => "FinalizingPartiallyFailed",
        /// Done without errors.
        Completed => "Completed",
        /// Done with errors.
        PartiallyFailed => "PartiallyFailed",
        /// Failed.
        Failed => "Failed",
        /// Being deleted by a DeleteBackupRequest.
        Deleting => "Deleting",
    }
);

impl BackupPhase {
    /// Phases that hold a schedule's next run back: Velero's overlap guard counts only an empty
    /// phase, `New` and `InProgress` (vmware-tanzu/velero pkg/controller/schedule_controller.go
    /// `checkIfBackupInNewOrProgress`), not the queue phases nor post-processing.
    pub fn blocks_schedule(&self) -> bool {
        matches!(self, Self::New | Self::InProgress)
    }

    /// Phases `velero backup create --wait` stops on.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::FailedValidation | Self::Completed | Self::PartiallyFailed | Self::Failed
        )
    }

    /// Phases in which `velero backup logs` works.
    pub fn logs_available(&self) -> bool {
        matches!(
            self,
            Self::Completed
                | Self::PartiallyFailed
                | Self::Failed
                | Self::WaitingForPluginOperations
                | Self::WaitingForPluginOperationsPartiallyFailed
        )
    }

    /// Phases in which the backup has not finished its main work (queued or running).
    pub fn is_pending(&self) -> bool {
        matches!(
            self,
            Self::New | Self::Queued | Self::ReadyToStart | Self::InProgress
        )
    }
}

/// `spec.metadata` of a Backup (labels for Backups made from a Schedule template).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BackupMetadata {
    /// Labels to put on the Backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations (Velero main only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// A pre or post backup hook.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BackupResourceHook {
    /// An exec hook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecHook>,
}

/// One entry of `spec.hooks.resources`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BackupResourceHookSpec {
    /// Hook name (required by Velero).
    #[serde(default)]
    pub name: String,
    /// Namespaces the hook applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_namespaces: Option<Vec<String>>,
    /// Namespaces excluded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_namespaces: Option<Vec<String>>,
    /// Resources the hook applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_resources: Option<Vec<String>>,
    /// Resources excluded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_resources: Option<Vec<String>>,
    /// Label selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<LabelSelector>,
    /// Hooks run before backing up the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre: Option<Vec<BackupResourceHook>>,
    /// Hooks run after backing up the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post: Option<Vec<BackupResourceHook>>,
}

/// `spec.hooks` of a Backup.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BackupHooks {
    /// Hook entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<BackupResourceHookSpec>>,
}

/// `spec.uploaderConfig` of a Backup.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BackupUploaderConfig {
    /// Files uploaded in parallel by the file-system backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_files_upload: Option<i64>,
}

/// The spec of a Velero Backup (also a Schedule's `template`).
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "velero.io",
    version = "v1",
    kind = "Backup",
    plural = "backups",
    namespaced,
    status = "BackupStatus",
    schema = "disabled",
    derive = "PartialEq"
)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BackupSpec {
    /// Labels (and annotations) for Backups made from a Schedule template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BackupMetadata>,
    /// Namespaces to include; empty means all (the CLI sends `["*"]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_namespaces: Option<Vec<String>>,
    /// Namespaces to exclude.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_namespaces: Option<Vec<String>>,
    /// Resources to include (old filter, `resource.group`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_resources: Option<Vec<String>>,
    /// Resources to exclude (old filter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_resources: Option<Vec<String>>,
    /// Cluster-scoped resources to include (new filter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_cluster_scoped_resources: Option<Vec<String>>,
    /// Cluster-scoped resources to exclude (new filter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_cluster_scoped_resources: Option<Vec<String>>,
    /// Namespace-scoped resources to include (new filter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_namespace_scoped_resources: Option<Vec<String>>,
    /// Namespace-scoped resources to exclude (new filter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_namespace_scoped_resources: Option<Vec<String>>,
    /// Label selector (exclusive with `orLabelSelectors`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<LabelSelector>,
    /// ORed label selectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub or_label_selectors: Option<Vec<LabelSelector>>,
    /// Take native PV snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_volumes: Option<bool>,
    /// Time to live (server default `720h0m0s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<GoDuration>,
    /// Label key grouping volumes into a volume group snapshot (v1.17+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_group_snapshot_label_key: Option<String>,
    /// Include cluster-scoped resources (old filter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_cluster_resources: Option<bool>,
    /// Backup hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<BackupHooks>,
    /// BackupStorageLocation name (empty: the default one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_location: Option<String>,
    /// VolumeSnapshotLocation names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_snapshot_locations: Option<Vec<String>>,
    /// Deprecated alias of `defaultVolumesToFsBackup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_volumes_to_restic: Option<bool>,
    /// File-system (kopia) backup of every pod volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_volumes_to_fs_backup: Option<bool>,
    /// `kind → "ns/name,ns/name"` ordering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordered_resources: Option<BTreeMap<String, String>>,
    /// CSI snapshot timeout (server default 10m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csi_snapshot_timeout: Option<GoDuration>,
    /// Async item operation timeout (server default 4h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_operation_timeout: Option<GoDuration>,
    /// Resource policy ConfigMap reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_policy: Option<TypedLocalObjectReference>,
    /// Move CSI snapshot data to the storage location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_move_data: Option<bool>,
    /// Data mover (`""` or `velero`: built in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datamover: Option<String>,
    /// Uploader settings (v1.13+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploader_config: Option<BackupUploaderConfig>,
    /// `Full` or `Incremental` (Velero main only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_type: Option<String>,
}

/// Item progress of a running backup.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BackupProgress {
    /// Estimated number of items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_items: Option<i64>,
    /// Items backed up so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_backed_up: Option<i64>,
}

/// The status of a Velero Backup.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BackupStatus {
    /// Deprecated format version number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// Backup format version, e.g. `1.1.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format_version: Option<String>,
    /// When garbage collection may delete the backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<Time>,
    /// Phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<BackupPhase>,
    /// Queue position while `Queued` (v1.18+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_position: Option<i64>,
    /// Validation errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_errors: Option<Vec<String>>,
    /// Start time (server clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_timestamp: Option<Time>,
    /// Completion time (also set on failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_timestamp: Option<Time>,
    /// Native snapshots attempted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_snapshots_attempted: Option<i64>,
    /// Native snapshots completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_snapshots_completed: Option<i64>,
    /// Why the backup failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// Number of warnings (messages are in the BackupResults download).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<i64>,
    /// Number of errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<i64>,
    /// Item progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<BackupProgress>,
    /// CSI snapshots attempted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csi_volume_snapshots_attempted: Option<i64>,
    /// CSI snapshots completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csi_volume_snapshots_completed: Option<i64>,
    /// Async plugin operations attempted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_item_operations_attempted: Option<i64>,
    /// Async plugin operations completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_item_operations_completed: Option<i64>,
    /// Async plugin operations failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_item_operations_failed: Option<i64>,
    /// Hook counts (v1.13+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_status: Option<HookStatus>,
}

impl Backup {
    /// The phase, `New` when the server has not set one; `Deleting` when the object is being
    /// deleted (as `velero backup get` prints it).
    pub fn phase(&self) -> BackupPhase {
        if self.metadata.deletion_timestamp.is_some() {
            return BackupPhase::Deleting;
        }
        self.status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or_default()
    }

    /// The schedule that made this backup (`velero.io/schedule-name` label).
    pub fn schedule_name(&self) -> Option<&str> {
        self.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(super::labels::SCHEDULE_NAME))
            .map(String::as_str)
    }

    /// `status.startTimestamp`.
    pub fn started(&self) -> Option<jiff::Timestamp> {
        self.status
            .as_ref()
            .and_then(|s| s.start_timestamp.as_ref())
            .map(|t| t.0)
    }

    /// `status.completionTimestamp`.
    pub fn completed(&self) -> Option<jiff::Timestamp> {
        self.status
            .as_ref()
            .and_then(|s| s.completion_timestamp.as_ref())
            .map(|t| t.0)
    }

    /// `metadata.creationTimestamp`.
    pub fn created(&self) -> Option<jiff::Timestamp> {
        self.metadata.creation_timestamp.as_ref().map(|t| t.0)
    }

    /// `status.expiration`, else creation time plus `spec.ttl` (as the CLI shows EXPIRES).
    pub fn expires(&self) -> Option<jiff::Timestamp> {
        if let Some(e) = self.status.as_ref().and_then(|s| s.expiration.as_ref()) {
            return Some(e.0);
        }
        let ttl = self.spec.ttl.as_ref()?.to_std().ok()?;
        let span = jiff::SignedDuration::try_from(ttl).ok()?;
        self.created()?.checked_add(span).ok()
    }

    /// Error count.
    pub fn errors(&self) -> i64 {
        self.status.as_ref().and_then(|s| s.errors).unwrap_or(0)
    }

    /// Warning count.
    pub fn warnings(&self) -> i64 {
        self.status.as_ref().and_then(|s| s.warnings).unwrap_or(0)
    }
}
