//! `BackupStorageLocation` (velero.io/v1).

use std::collections::BTreeMap;

use kube::CustomResource;
use serde::{Deserialize, Serialize};

use super::common::{GoDuration, SecretKeySelector, Time, string_enum};

string_enum!(
    /// `status.phase` of a BackupStorageLocation. An empty phase (never validated) reads as
    /// [`BslPhase::Unverified`], which the CLI prints as `Unknown`.
    BslPhase, empty = Unverified, {
        /// Not validated yet (empty phase).
        Unverified => "Unknown",
        /// The object store answers.
        Available => "Available",
        /// Validation failed; see `status.message`.
        Unavailable => "Unavailable",
    }
);

string_enum!(
    /// `spec.accessMode`. Empty reads as `ReadWrite`.
    BslAccessMode, empty = ReadWrite, {
        /// Backups can be written.
        ReadWrite => "ReadWrite",
        /// Restores only.
        ReadOnly => "ReadOnly",
    }
);

/// `spec.objectStorage`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ObjectStorageLocation {
    /// Bucket.
    #[serde(default)]
    pub bucket: String,
    /// Key prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Base64 CA certificate (deprecated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<String>,
    /// CA certificate in a Secret (v1.18+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert_ref: Option<SecretKeySelector>,
}

/// The spec of a BackupStorageLocation.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "velero.io",
    version = "v1",
    kind = "BackupStorageLocation",
    plural = "backupstoragelocations",
    namespaced,
    status = "BackupStorageLocationStatus",
    schema = "disabled",
    derive = "PartialEq"
)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BackupStorageLocationSpec {
    /// Provider plugin, e.g. `velero.io/aws`.
    #[serde(default)]
    pub provider: String,
    /// Plugin config (`region`, `s3Url`, `publicUrl`, `s3ForcePathStyle`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<BTreeMap<String, String>>,
    /// Credential Secret key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<SecretKeySelector>,
    /// Bucket and prefix.
    #[serde(default)]
    pub object_storage: ObjectStorageLocation,
    /// The default location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<bool>,
    /// `ReadWrite` or `ReadOnly`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_mode: Option<BslAccessMode>,
    /// How often backups are synced from the bucket (`0s` disables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_sync_period: Option<GoDuration>,
    /// How often the location is validated (`0s` disables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_frequency: Option<GoDuration>,
}

/// The status of a BackupStorageLocation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BackupStorageLocationStatus {
    /// Availability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<BslPhase>,
    /// Last sync from the bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_synced_time: Option<Time>,
    /// Last validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_validation_time: Option<Time>,
    /// Why the location is unavailable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Deprecated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_synced_revision: Option<String>,
    /// Deprecated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_mode: Option<BslAccessMode>,
}

impl BackupStorageLocation {
    /// The phase (`Unverified` when unset).
    pub fn phase(&self) -> BslPhase {
        self.status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or_default()
    }

    /// Whether the location is the default one.
    pub fn is_default(&self) -> bool {
        self.spec.default.unwrap_or(false)
    }

    /// A plugin config value (`s3Url`, `publicUrl`, …).
    pub fn config_value(&self, key: &str) -> Option<&str> {
        self.spec
            .config
            .as_ref()
            .and_then(|c| c.get(key))
            .map(String::as_str)
    }
}
