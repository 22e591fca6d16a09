//! `Schedule` (velero.io/v1).

use kube::CustomResource;
use serde::{Deserialize, Serialize};

use super::backup::BackupSpec;
use super::common::{Time, string_enum};

string_enum!(
    /// `status.phase` of a Schedule. Empty reads as `New`.
    SchedulePhase, empty = New, {
        /// Not yet validated.
        New => "New",
        /// Valid and active (unless paused).
        Enabled => "Enabled",
        /// Invalid cron or template.
        FailedValidation => "FailedValidation",
    }
);

/// The spec of a Velero Schedule.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "velero.io",
    version = "v1",
    kind = "Schedule",
    plural = "schedules",
    namespaced,
    status = "ScheduleStatus",
    schema = "disabled",
    derive = "PartialEq"
)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ScheduleSpec {
    /// The backup template.
    #[serde(default)]
    pub template: BackupSpec,
    /// Cron expression (UTC), or a descriptor such as `@every 6h` / `@daily`.
    #[serde(default)]
    pub schedule: String,
    /// Give Backups an ownerReference to the Schedule (deleting it deletes its backups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_owner_references_in_backup: Option<bool>,
    /// Paused schedules make no backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
    /// Skip the first due run after create/unpause (v1.13+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_immediately: Option<bool>,
}

/// The status of a Velero Schedule.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ScheduleStatus {
    /// Phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<SchedulePhase>,
    /// When the controller last **submitted** a Backup (not when one succeeded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_backup: Option<Time>,
    /// When a due run was last skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_skipped: Option<Time>,
    /// Validation errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_errors: Option<Vec<String>>,
}

impl Schedule {
    /// The phase (`New` when unset).
    pub fn phase(&self) -> SchedulePhase {
        self.status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or_default()
    }

    /// `spec.paused`.
    pub fn is_paused(&self) -> bool {
        self.spec.paused.unwrap_or(false)
    }

    /// `status.lastBackup`.
    pub fn last_backup(&self) -> Option<jiff::Timestamp> {
        self.status
            .as_ref()
            .and_then(|s| s.last_backup.as_ref())
            .map(|t| t.0)
    }
}
