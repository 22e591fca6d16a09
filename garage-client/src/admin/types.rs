//! Admin API response and request types (v2 shapes; v1 answers are read into the same types).
//! Every field has a default and unknown fields are ignored: Garage adds fields in minor versions.

use std::fmt;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

macro_rules! id_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an id as Garage spells it.
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }
            /// The id as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
            /// The id as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok($name(s.to_owned()))
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

id_newtype!(
    /// A bucket id (64 hex characters), as opposed to its aliases.
    ///
    /// ```
    /// use garage_client::admin::BucketId;
    /// let id: BucketId = "5e1dd3b0f5e1a9a3".parse().unwrap();
    /// assert_eq!(id.to_string(), "5e1dd3b0f5e1a9a3");
    /// assert_eq!(serde_json::to_string(&id).unwrap(), r#""5e1dd3b0f5e1a9a3""#);
    /// ```
    BucketId
);

id_newtype!(
    /// An access key id (`GK` and 24 hex characters).
    ///
    /// ```
    /// use garage_client::admin::AccessKeyId;
    /// let id = AccessKeyId::from("GK31c2f218a2e44f485b94239e");
    /// assert_eq!(id.as_str(), "GK31c2f218a2e44f485b94239e");
    /// ```
    AccessKeyId
);

/// Health summary of `GetClusterHealth`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct ClusterHealth {
    /// `healthy`, `degraded` or `unavailable`.
    pub status: HealthStatus,
    /// Nodes known to this node.
    pub known_nodes: u64,
    /// Nodes connected.
    pub connected_nodes: u64,
    /// Nodes with a storage role.
    pub storage_nodes: u64,
    /// Storage nodes up (`storageNodesUp` in ≥ 2.1, `storageNodesOk` before).
    #[serde(alias = "storageNodesOk")]
    pub storage_nodes_up: u64,
    /// Partitions.
    pub partitions: u64,
    /// Partitions with quorum.
    pub partitions_quorum: u64,
    /// Partitions with all nodes up.
    pub partitions_all_ok: u64,
}

/// Cluster health status; unknown values are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum HealthStatus {
    /// All good.
    Healthy,
    /// Operational, some storage nodes down.
    Degraded,
    /// No quorum for some partitions.
    Unavailable,
    /// Any other value.
    Unknown(String),
    /// Not reported.
    #[default]
    Missing,
}

impl<'de> Deserialize<'de> for HealthStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "healthy" => HealthStatus::Healthy,
            "degraded" => HealthStatus::Degraded,
            "unavailable" => HealthStatus::Unavailable,
            _ => HealthStatus::Unknown(s),
        })
    }
}

/// Answer of the token-less `GET /health`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HealthCheck {
    /// HTTP status (200 when healthy or degraded, 503 when unavailable).
    pub status: u16,
    /// The plain-text message.
    pub message: String,
}

impl HealthCheck {
    /// Whether Garage answers reads and writes (status 200).
    pub fn is_operational(&self) -> bool {
        self.status == 200
    }
}

/// `GetClusterStatus`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct ClusterStatus {
    /// Current layout version.
    pub layout_version: u64,
    /// Nodes.
    pub nodes: Vec<NodeStatus>,
}

/// One node of the cluster status.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct NodeStatus {
    /// Node id (64 hex).
    pub id: String,
    /// Connected.
    pub is_up: bool,
    /// Being drained out of the layout.
    pub draining: bool,
    /// RPC address.
    pub addr: Option<String>,
    /// Host name.
    pub hostname: Option<String>,
    /// Garage version of the node.
    pub garage_version: Option<String>,
    /// Seconds since last seen.
    pub last_seen_secs_ago: Option<u64>,
    /// Role in the layout.
    pub role: Option<NodeRole>,
    /// Data disk space.
    pub data_partition: Option<FreeSpace>,
    /// Metadata disk space.
    pub metadata_partition: Option<FreeSpace>,
}

/// Role of a node in the layout.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct NodeRole {
    /// Zone.
    pub zone: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Capacity in bytes (`None` for gateways).
    pub capacity: Option<u64>,
}

/// Disk space.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct FreeSpace {
    /// Bytes available.
    pub available: u64,
    /// Bytes total.
    pub total: u64,
}

/// `GetClusterStatistics` (structured totals since Garage 2.3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct ClusterStatistics {
    /// Human-readable table (do not parse).
    pub freeform: String,
    /// Number of buckets (2.3+).
    pub bucket_count: Option<u64>,
    /// Objects in all buckets (2.3+).
    pub total_object_count: Option<u64>,
    /// Bytes of all objects before compression, deduplication and replication (2.3+).
    pub total_object_bytes: Option<u64>,
}

/// `GetClusterLayout` (the parts a client needs).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct ClusterLayout {
    /// Layout version.
    pub version: u64,
    /// Roles of the current layout.
    pub roles: Vec<LayoutRole>,
    /// Staged, not yet applied changes.
    pub staged_role_changes: Vec<serde_json::Value>,
}

/// A role in the layout.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct LayoutRole {
    /// Node id.
    pub id: String,
    /// Zone.
    pub zone: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Capacity.
    pub capacity: Option<u64>,
}

/// A bucket in `ListBuckets`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct BucketListEntry {
    /// Bucket id (64 hex).
    pub id: BucketId,
    /// Creation time (v2 only).
    pub created: Option<String>,
    /// Global aliases.
    pub global_aliases: Vec<String>,
    /// Local aliases.
    pub local_aliases: Vec<LocalAlias>,
}

/// A local (per-key) bucket alias.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct LocalAlias {
    /// Key owning the alias.
    pub access_key_id: AccessKeyId,
    /// Alias.
    pub alias: String,
}

/// Read/write/owner flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Permissions {
    /// Read objects.
    pub read: bool,
    /// Write objects.
    pub write: bool,
    /// Manage the bucket.
    pub owner: bool,
}

impl Permissions {
    /// Read and write.
    pub const READ_WRITE: Permissions = Permissions {
        read: true,
        write: true,
        owner: false,
    };
    /// Read, write and owner.
    pub const ALL: Permissions = Permissions {
        read: true,
        write: true,
        owner: true,
    };
}

/// Bucket quotas (`None` = unlimited).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Quotas {
    /// Maximum total size in bytes.
    pub max_size: Option<u64>,
    /// Maximum number of objects.
    pub max_objects: Option<u64>,
}

/// `GetBucketInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct BucketInfo {
    /// Bucket id.
    pub id: BucketId,
    /// Creation time (v2).
    pub created: Option<String>,
    /// Global aliases.
    pub global_aliases: Vec<String>,
    /// Website access enabled.
    pub website_access: bool,
    /// Website configuration, when enabled.
    pub website_config: Option<super::WebsiteConfig>,
    /// CORS rules (Garage ≥ 2.3; `None` when unset).
    pub cors_rules: Option<Vec<crate::s3::CorsRule>>,
    /// Lifecycle rules (Garage ≥ 2.3; `None` when unset).
    pub lifecycle_rules: Option<Vec<crate::s3::LifecycleRule>>,
    /// Keys with permissions on the bucket.
    pub keys: Vec<BucketKey>,
    /// Objects stored.
    pub objects: i64,
    /// Bytes stored.
    pub bytes: i64,
    /// Unfinished uploads.
    pub unfinished_uploads: i64,
    /// Unfinished multipart uploads.
    pub unfinished_multipart_uploads: i64,
    /// Parts of unfinished multipart uploads.
    pub unfinished_multipart_upload_parts: i64,
    /// Bytes of unfinished multipart uploads.
    pub unfinished_multipart_upload_bytes: i64,
    /// Quotas.
    pub quotas: Quotas,
}

/// A key's rights on a bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct BucketKey {
    /// Key id.
    pub access_key_id: AccessKeyId,
    /// Key name.
    pub name: String,
    /// Permissions.
    pub permissions: Permissions,
    /// Local aliases of the bucket for this key.
    pub bucket_local_aliases: Vec<String>,
}

/// A key in `ListKeys`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct KeyListEntry {
    /// Key id.
    pub id: AccessKeyId,
    /// Name.
    pub name: String,
    /// Creation time (v2).
    pub created: Option<String>,
    /// Expiration (v2).
    pub expiration: Option<String>,
    /// Expired (v2).
    pub expired: bool,
}

/// `GetKeyInfo` / `CreateKey` / `ImportKey`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct KeyInfo {
    /// Key id (`GK…`).
    pub access_key_id: AccessKeyId,
    /// Name.
    pub name: String,
    /// Creation time (v2).
    pub created: Option<String>,
    /// Expiration (v2).
    pub expiration: Option<String>,
    /// Expired (v2).
    pub expired: bool,
    /// Secret: only on create/import, or when asked for.
    pub secret_access_key: Option<SecretString>,
    /// Global permissions.
    pub permissions: KeyPermissions,
    /// Buckets the key can access.
    pub buckets: Vec<KeyBucket>,
}

/// Global key flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct KeyPermissions {
    /// May create buckets through S3.
    pub create_bucket: bool,
}

/// A bucket a key can access.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct KeyBucket {
    /// Bucket id.
    pub id: BucketId,
    /// Global aliases.
    pub global_aliases: Vec<String>,
    /// Local aliases.
    pub local_aliases: Vec<String>,
    /// Permissions.
    pub permissions: Permissions,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_accepts_both_field_names_and_unknown_status() {
        let v20: ClusterHealth = serde_json::from_str(
            r#"{"status":"healthy","knownNodes":1,"connectedNodes":1,"storageNodes":1,"storageNodesOk":1,"partitions":256,"partitionsQuorum":256,"partitionsAllOk":256}"#,
        )
        .unwrap();
        assert_eq!(v20.storage_nodes_up, 1);
        assert_eq!(v20.status, HealthStatus::Healthy);
        let v25: ClusterHealth =
            serde_json::from_str(r#"{"status":"weird","storageNodesUp":3,"newField":true}"#)
                .unwrap();
        assert_eq!(v25.storage_nodes_up, 3);
        assert_eq!(v25.status, HealthStatus::Unknown("weird".into()));
    }

    #[test]
    fn bucket_info_tolerates_nulls_and_missing_fields() {
        let b: BucketInfo = serde_json::from_str(
            r#"{"id":"ab","globalAliases":["backups"],"websiteAccess":false,"websiteConfig":null,
                "keys":[{"accessKeyId":"GK1","name":"restic","permissions":{"read":true,"write":true,"owner":false},"bucketLocalAliases":[]}],
                "objects":14827,"bytes":13189855625,"unfinishedUploads":0,"quotas":{"maxSize":null,"maxObjects":10},"corsRules":[]}"#,
        )
        .unwrap();
        assert_eq!(b.bytes, 13_189_855_625);
        assert_eq!(
            b.quotas,
            Quotas {
                max_size: None,
                max_objects: Some(10)
            }
        );
        assert_eq!(b.keys[0].permissions, Permissions::READ_WRITE);
        assert_eq!(b.created, None);
        assert_eq!(b.id, BucketId::new("ab"));
        assert_eq!(b.keys[0].access_key_id, "GK1");
    }

    #[test]
    fn ids_are_transparent_strings() {
        let id: AccessKeyId = serde_json::from_str(r#""GK1""#).unwrap();
        assert_eq!(id, AccessKeyId::from("GK1".to_owned()));
        assert_eq!(serde_json::to_value(&id).unwrap(), serde_json::json!("GK1"));
        assert_eq!(format!("{id}"), "GK1");
        assert_eq!(AsRef::<str>::as_ref(&id), "GK1");
        assert_eq!("GK1".parse::<AccessKeyId>().unwrap(), id);
        assert_eq!(String::from(id), "GK1");
        let b = BucketId::new("ab");
        assert_eq!(
            (b.as_str(), b.clone().into_string()),
            ("ab", "ab".to_owned())
        );
    }

    #[test]
    fn key_info_secret_is_redacted_in_debug() {
        let k: KeyInfo = serde_json::from_str(
            r#"{"accessKeyId":"GK1","name":"n","secretAccessKey":"deadbeef","permissions":{"createBucket":true},"buckets":[]}"#,
        )
        .unwrap();
        assert!(k.permissions.create_bucket);
        assert!(!format!("{k:?}").contains("deadbeef"));
    }
}
