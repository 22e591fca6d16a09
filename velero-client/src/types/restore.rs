//! `Restore` (velero.io/v1).

use std::collections::BTreeMap;

use kube::CustomResource;
use serde::{Deserialize, Serialize};

use super::common::{
    GoDuration, HookStatus, LabelSelector, Time, TypedLocalObjectReference, string_enum,
};

string_enum!(
    /// `status.phase` of a Restore. An empty phase reads as `New`.
    RestorePhase, empty = New, {
        /// Not yet processed.
        New => "New",
        /// Invalid spec; nothing was restored.
        FailedValidation => "FailedValidation",
        /// Running.
        InProgress => "InProgress",
        /// Waiting for asynchronous plugin operations.
        WaitingForPluginOperations => "WaitingForPluginOperations",
        /// Waiting for plugin operations after an error.
        WaitingForPluginOperationsPartiallyFailed => "WaitingForPluginOperationsPartiallyFailed",
        /// Finishing.
        Finalizing => "Finalizing",
        /// Finishing after an error.
        FinalizingPartiallyFailed => "FinalizingPartiallyFailed",
        /// Done without errors.
        Completed => "Completed",
        /// Done with errors.
        PartiallyFailed => "PartiallyFailed",
        /// Failed.
        Failed => "Failed",
    }
);

impl RestorePhase {
    /// Phases `velero restore create --wait` stops on.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::FailedValidation | Self::Completed | Self::PartiallyFailed | Self::Failed
        )
    }

    /// Phases in which `velero restore logs` works.
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
}

string_enum!(
    /// `spec.existingResourcePolicy`: what to do with resources that already exist.
    ExistingResourcePolicy, empty = None, {
        /// Leave existing resources alone (Velero's default).
        None => "none",
        /// Update existing resources to the backed-up version.
        Update => "update",
    }
);

/// `spec.restoreStatus`: kinds whose `.status` is restored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RestoreStatusSpec {
    /// Kinds whose status is restored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_resources: Option<Vec<String>>,
    /// Kinds whose status is not restored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_resources: Option<Vec<String>>,
}

/// An exec hook run after a pod is restored.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RestoreExecHook {
    /// Container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Command and arguments.
    #[serde(default)]
    pub command: Vec<String>,
    /// `Continue` or `Fail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_error: Option<String>,
    /// Command timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec_timeout: Option<GoDuration>,
    /// How long to wait for the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_timeout: Option<GoDuration>,
    /// Wait for the container to be ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_for_ready: Option<bool>,
}

/// An init-container restore hook.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct InitRestoreHook {
    /// Raw init containers (kept as JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_containers: Option<Vec<serde_json::Value>>,
    /// Timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<GoDuration>,
}

/// One post-restore hook.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RestoreResourceHook {
    /// Exec hook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<RestoreExecHook>,
    /// Init-container hook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<InitRestoreHook>,
}

/// One entry of `spec.hooks.resources`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RestoreResourceHookSpec {
    /// Hook name.
    #[serde(default)]
    pub name: String,
    /// Namespaces the hook applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_namespaces: Option<Vec<String>>,
    /// Namespaces excluded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_namespaces: Option<Vec<String>>,
    /// Resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_resources: Option<Vec<String>>,
    /// Resources excluded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_resources: Option<Vec<String>>,
    /// Label selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<LabelSelector>,
    /// Hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_hooks: Option<Vec<RestoreResourceHook>>,
}

/// `spec.hooks` of a Restore.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RestoreHooks {
    /// Hook entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<RestoreResourceHookSpec>>,
}

/// `spec.uploaderConfig` of a Restore.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RestoreUploaderConfig {
    /// Write sparse files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_sparse_files: Option<bool>,
    /// Files downloaded in parallel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_files_download: Option<i64>,
}

/// The spec of a Velero Restore.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "velero.io",
    version = "v1",
    kind = "Restore",
    plural = "restores",
    namespaced,
    status = "RestoreStatus",
    schema = "disabled",
    derive = "PartialEq"
)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RestoreSpec {
    /// Backup to restore from (exclusive with `scheduleName`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_name: Option<String>,
    /// Schedule whose newest Completed backup is restored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_name: Option<String>,
    /// Namespaces to include.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_namespaces: Option<Vec<String>>,
    /// Namespaces to exclude.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_namespaces: Option<Vec<String>>,
    /// Resources to include.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_resources: Option<Vec<String>>,
    /// Resources to exclude (the server appends non-restorable kinds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_resources: Option<Vec<String>>,
    /// Source namespace → target namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_mapping: Option<BTreeMap<String, String>>,
    /// Label selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<LabelSelector>,
    /// ORed label selectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub or_label_selectors: Option<Vec<LabelSelector>>,
    /// Restore persistent volumes.
    #[serde(
        default,
        rename = "restorePVs",
        skip_serializing_if = "Option::is_none"
    )]
    pub restore_pvs: Option<bool>,
    /// Kinds whose status is restored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_status: Option<RestoreStatusSpec>,
    /// Keep NodePorts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserve_node_ports: Option<bool>,
    /// Include cluster-scoped resources (nil means auto).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_cluster_resources: Option<bool>,
    /// Restore hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<RestoreHooks>,
    /// `none` or `update`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing_resource_policy: Option<ExistingResourcePolicy>,
    /// Async item operation timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_operation_timeout: Option<GoDuration>,
    /// Resource modifier ConfigMap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_modifier: Option<TypedLocalObjectReference>,
    /// Uploader settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploader_config: Option<RestoreUploaderConfig>,
    /// Resource policy (Velero main only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_policy: Option<TypedLocalObjectReference>,
    /// Skip the default resource modifier (Velero main only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_default_resource_modifier: Option<bool>,
}

/// Item progress of a running restore.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RestoreProgress {
    /// Estimated number of items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_items: Option<i64>,
    /// Items restored so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_restored: Option<i64>,
}

/// The status of a Velero Restore.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RestoreStatus {
    /// Phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<RestorePhase>,
    /// Validation errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_errors: Option<Vec<String>>,
    /// Warning count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<i64>,
    /// Error count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<i64>,
    /// Why the restore failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// Start time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_timestamp: Option<Time>,
    /// Completion time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_timestamp: Option<Time>,
    /// Item progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<RestoreProgress>,
    /// Async plugin operations attempted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_item_operations_attempted: Option<i64>,
    /// Async plugin operations completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_item_operations_completed: Option<i64>,
    /// Async plugin operations failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_item_operations_failed: Option<i64>,
    /// Hook counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_status: Option<HookStatus>,
}

impl Restore {
    /// The phase (`New` when unset).
    pub fn phase(&self) -> RestorePhase {
        self.status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or_default()
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
