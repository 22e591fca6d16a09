//! What the apiserver does with a velero.io/v1 object before storing it, from Velero's CRDs
//! (vmware-tanzu/velero config/crd/v1/bases/velero.io_*.yaml, `openAPIV3Schema`) and the
//! apiserver's object-meta validation (kubernetes/apimachinery pkg/util/validation/validation.go,
//! pkg/apis/meta/v1/validation/validation.go):
//!
//! * `metadata.name` must be a DNS-1123 subdomain; label keys qualified names and label values
//!   valid label values: else 422 `Invalid`;
//! * fields the schema does not know are pruned (structural schemas): at the top level and
//!   directly under `spec` and `status` (deeper levels are not modelled);
//! * `enum` fields (phases, access modes, download kinds, uploader types) reject other values
//!   with 422 `Unsupported value`; `required` fields of `spec` with 422 `Required value`.

use serde_json::Value;

use super::store::ApiError;

/// The schema facts the fake enforces for one kind.
struct KindSchema {
    spec: &'static [&'static str],
    status: &'static [&'static str],
    /// (dotted path, allowed values).
    enums: &'static [(&'static str, &'static [&'static str])],
    /// Dotted paths required when their parent object is present.
    required: &'static [&'static str],
}

const BACKUP_SPEC: &[&str] = &[
    "csiSnapshotTimeout",
    "datamover",
    "defaultVolumesToFsBackup",
    "defaultVolumesToRestic",
    "excludedClusterScopedResources",
    "excludedNamespaceScopedResources",
    "excludedNamespaces",
    "excludedResources",
    "hooks",
    "includeClusterResources",
    "includedClusterScopedResources",
    "includedNamespaceScopedResources",
    "includedNamespaces",
    "includedResources",
    "itemOperationTimeout",
    "labelSelector",
    "metadata",
    "orLabelSelectors",
    "orderedResources",
    "resourcePolicy",
    "snapshotMoveData",
    "snapshotVolumes",
    "storageLocation",
    "ttl",
    "uploaderConfig",
    "volumeGroupSnapshotLabelKey",
    "volumeSnapshotLocations",
];

const BACKUP_PHASES: &[&str] = &[
    "New",
    "Queued",
    "ReadyToStart",
    "FailedValidation",
    "InProgress",
    "WaitingForPluginOperations",
    "WaitingForPluginOperationsPartiallyFailed",
    "Finalizing",
    "FinalizingPartiallyFailed",
    "Completed",
    "PartiallyFailed",
    "Failed",
    "Deleting",
];

const BACKUP: KindSchema = KindSchema {
    spec: BACKUP_SPEC,
    status: &[
        "backupItemOperationsAttempted",
        "backupItemOperationsCompleted",
        "backupItemOperationsFailed",
        "completionTimestamp",
        "csiVolumeSnapshotsAttempted",
        "csiVolumeSnapshotsCompleted",
        "errors",
        "expiration",
        "failureReason",
        "formatVersion",
        "hookStatus",
        "phase",
        "progress",
        "queuePosition",
        "startTimestamp",
        "validationErrors",
        "version",
        "volumeSnapshotsAttempted",
        "volumeSnapshotsCompleted",
        "warnings",
    ],
    enums: &[("status.phase", BACKUP_PHASES)],
    required: &[],
};

const RESTORE: KindSchema = KindSchema {
    spec: &[
        "backupName",
        "excludedNamespaces",
        "excludedResources",
        "existingResourcePolicy",
        "hooks",
        "includeClusterResources",
        "includedNamespaces",
        "includedResources",
        "itemOperationTimeout",
        "labelSelector",
        "namespaceMapping",
        "orLabelSelectors",
        "preserveNodePorts",
        "resourceModifier",
        "restorePVs",
        "restoreStatus",
        "scheduleName",
        "uploaderConfig",
    ],
    status: &[
        "completionTimestamp",
        "errors",
        "failureReason",
        "hookStatus",
        "phase",
        "progress",
        "restoreItemOperationsAttempted",
        "restoreItemOperationsCompleted",
        "restoreItemOperationsFailed",
        "startTimestamp",
        "validationErrors",
        "warnings",
    ],
    enums: &[(
        "status.phase",
        &[
            "New",
            "FailedValidation",
            "InProgress",
            "WaitingForPluginOperations",
            "WaitingForPluginOperationsPartiallyFailed",
            "Completed",
            "PartiallyFailed",
            "Failed",
            "Finalizing",
            "FinalizingPartiallyFailed",
        ],
    )],
    required: &[],
};

const SCHEDULE: KindSchema = KindSchema {
    spec: &[
        "paused",
        "schedule",
        "skipImmediately",
        "template",
        "useOwnerReferencesInBackup",
    ],
    status: &["lastBackup", "lastSkipped", "phase", "validationErrors"],
    enums: &[("status.phase", &["New", "Enabled", "FailedValidation"])],
    required: &["spec.schedule", "spec.template"],
};

const BSL: KindSchema = KindSchema {
    spec: &[
        "accessMode",
        "backupSyncPeriod",
        "config",
        "credential",
        "default",
        "objectStorage",
        "provider",
        "validationFrequency",
    ],
    status: &[
        "accessMode",
        "lastSyncedRevision",
        "lastSyncedTime",
        "lastValidationTime",
        "message",
        "phase",
    ],
    enums: &[
        ("spec.accessMode", &["ReadOnly", "ReadWrite"]),
        ("status.accessMode", &["ReadOnly", "ReadWrite"]),
        ("status.phase", &["Available", "Unavailable"]),
    ],
    required: &[
        "spec.objectStorage",
        "spec.provider",
        "spec.objectStorage.bucket",
        "spec.credential.key",
    ],
};

const DELETE_BACKUP_REQUEST: KindSchema = KindSchema {
    spec: &["backupName"],
    status: &["errors", "phase"],
    enums: &[("status.phase", &["New", "InProgress", "Processed"])],
    required: &["spec.backupName"],
};

const DOWNLOAD_REQUEST: KindSchema = KindSchema {
    spec: &["target"],
    status: &["downloadURL", "expiration", "phase"],
    enums: &[
        (
            "spec.target.kind",
            &[
                "BackupLog",
                "BackupContents",
                "BackupVolumeSnapshots",
                "BackupItemOperations",
                "BackupResourceList",
                "BackupResults",
                "RestoreLog",
                "RestoreResults",
                "RestoreResourceList",
                "RestoreItemOperations",
                "CSIBackupVolumeSnapshots",
                "CSIBackupVolumeSnapshotContents",
                "BackupVolumeInfos",
                "RestoreVolumeInfo",
            ],
        ),
        ("status.phase", &["New", "Processed"]),
    ],
    required: &["spec.target", "spec.target.kind", "spec.target.name"],
};

const POD_VOLUME_BACKUP: KindSchema = KindSchema {
    spec: &[
        "backupStorageLocation",
        "cancel",
        "node",
        "pod",
        "repoIdentifier",
        "tags",
        "uploaderSettings",
        "uploaderType",
        "volume",
    ],
    status: &[
        "acceptedTimestamp",
        "completionTimestamp",
        "incrementalBytes",
        "message",
        "path",
        "phase",
        "progress",
        "snapshotID",
        "startTimestamp",
    ],
    enums: &[
        ("spec.uploaderType", &["kopia", "restic", ""]),
        (
            "status.phase",
            &[
                "New",
                "Accepted",
                "Prepared",
                "InProgress",
                "Canceling",
                "Canceled",
                "Completed",
                "Failed",
            ],
        ),
    ],
    required: &[
        "spec.backupStorageLocation",
        "spec.node",
        "spec.pod",
        "spec.repoIdentifier",
        "spec.volume",
    ],
};

fn schema_of(kind: &str) -> Option<&'static KindSchema> {
    Some(match kind {
        "Backup" => &BACKUP,
        "Restore" => &RESTORE,
        "Schedule" => &SCHEDULE,
        "BackupStorageLocation" => &BSL,
        "DeleteBackupRequest" => &DELETE_BACKUP_REQUEST,
        "DownloadRequest" => &DOWNLOAD_REQUEST,
        "PodVolumeBackup" => &POD_VOLUME_BACKUP,
        _ => return None,
    })
}

const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const QUALIFIED_NAME_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

/// `IsDNS1123Subdomain`.
pub(crate) fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253
        && !s.is_empty()
        && s.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
        })
}

/// The "name" shape shared by label values and qualified-name parts:
/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`.
fn is_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

/// `IsValidLabelValue`: empty, or at most 63 characters of the name shape.
fn label_value_problem(v: &str) -> Option<String> {
    if v.is_empty() {
        return None;
    }
    if v.len() > 63 {
        return Some("must be no more than 63 characters".into());
    }
    (!is_name_part(v)).then(|| LABEL_VALUE_MSG.to_owned())
}

/// `IsQualifiedName`: `[prefix/]name`, prefix a DNS-1123 subdomain, name ≤ 63 of the name shape.
fn label_key_problem(k: &str) -> Option<String> {
    let (prefix, name) = match k.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    if let Some(p) = prefix
        && !is_dns1123_subdomain(p)
    {
        return Some(format!("prefix part {DNS1123_SUBDOMAIN_MSG}"));
    }
    if name.is_empty() {
        return Some("name part must be non-empty".into());
    }
    if name.len() > 63 {
        return Some("name part must be no more than 63 characters".into());
    }
    (!is_name_part(name)).then(|| QUALIFIED_NAME_MSG.to_owned())
}

fn get_path<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(obj, |v, k| v.get(k))
}

fn quote(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// Prunes unknown fields and validates `obj` (kind `kind`, final name `name`) as the
/// apiserver does on create, update and patch.
pub(crate) fn admit(kind: &str, plural: &str, name: &str, obj: &mut Value) -> Result<(), ApiError> {
    let invalid = |problems: Vec<String>| ApiError {
        code: 422,
        reason: "Invalid",
        message: format!(
            "{kind}.velero.io \"{name}\" is invalid: {}",
            problems.join(", ")
        ),
        name: Some(name.to_owned()),
        plural: plural.to_owned(),
    };
    let mut problems = Vec::new();
    if !is_dns1123_subdomain(name) {
        problems.push(format!(
            "metadata.name: Invalid value: {name:?}: {DNS1123_SUBDOMAIN_MSG}"
        ));
    }
    if let Some(labels) = obj["metadata"]["labels"].as_object() {
        for (k, v) in labels {
            if let Some(p) = label_key_problem(k) {
                problems.push(format!("metadata.labels: Invalid value: {k:?}: {p}"));
            }
            match v.as_str() {
                Some(s) => {
                    if let Some(p) = label_value_problem(s) {
                        problems.push(format!("metadata.labels: Invalid value: {s:?}: {p}"));
                    }
                }
                None => problems.push(format!(
                    "metadata.labels.{k}: Invalid value: {}: must be a string",
                    quote(v)
                )),
            }
        }
    }
    let Some(schema) = schema_of(kind) else {
        return if problems.is_empty() {
            Ok(())
        } else {
            Err(invalid(problems))
        };
    };
    // Pruning (structural schema): unknown fields vanish without an error.
    if let Some(map) = obj.as_object_mut() {
        map.retain(|k, _| {
            matches!(
                k.as_str(),
                "apiVersion" | "kind" | "metadata" | "spec" | "status"
            )
        });
    }
    for (section, known) in [("spec", schema.spec), ("status", schema.status)] {
        if let Some(map) = obj.get_mut(section).and_then(Value::as_object_mut) {
            map.retain(|k, _| known.contains(&k.as_str()));
        }
    }
    for (path, allowed) in schema.enums {
        if let Some(v) = get_path(obj, path).filter(|v| !v.is_null())
            && !v.as_str().is_some_and(|s| allowed.contains(&s))
        {
            let supported: Vec<String> = allowed.iter().map(|a| format!("{a:?}")).collect();
            problems.push(format!(
                "{path}: Unsupported value: {}: supported values: {}",
                quote(v),
                supported.join(", ")
            ));
        }
    }
    for path in schema.required {
        let (parent, field) = path.rsplit_once('.').unwrap_or(("", path));
        if let Some(p) = get_path(obj, parent).and_then(Value::as_object)
            && p.get(field).is_none_or(Value::is_null)
        {
            problems.push(format!("{path}: Required value"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(invalid(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_and_labels_follow_apimachinery() {
        assert!(is_dns1123_subdomain("daily-20261127020000"));
        assert!(is_dns1123_subdomain("a.b-c"));
        for bad in ["Bad", "a_b", "-a", "a-", "", "a..b", &"a".repeat(254)] {
            assert!(!is_dns1123_subdomain(bad), "{bad}");
        }
        assert!(label_value_problem("").is_none());
        assert!(label_value_problem("My_value.1").is_none());
        assert!(label_value_problem("has space").is_some());
        assert!(label_value_problem(&"a".repeat(64)).is_some());
        assert!(label_key_problem("velero.io/schedule-name").is_none());
        assert!(label_key_problem("Velero.io/x").is_some());
        assert!(label_key_problem("a/b/c").is_some());
    }

    #[test]
    fn prunes_unknown_fields_and_checks_enums() {
        let mut obj = json!({
            "apiVersion": "velero.io/v1", "kind": "Backup", "extra": 1,
            "metadata": { "name": "b" },
            "spec": { "ttl": "1h0m0s", "includeNamespaces": ["typo"] },
            "status": { "phase": "Completed", "bogus": true }
        });
        admit("Backup", "backups", "b", &mut obj).unwrap();
        assert!(obj.get("extra").is_none());
        assert_eq!(obj["spec"], json!({ "ttl": "1h0m0s" }));
        assert_eq!(obj["status"], json!({ "phase": "Completed" }));
        let mut bad = json!({ "metadata": {}, "status": { "phase": "Done" } });
        let err = admit("Backup", "backups", "b", &mut bad).unwrap_err();
        assert_eq!(err.code, 422);
        assert!(
            err.message
                .contains("status.phase: Unsupported value: \"Done\""),
            "{}",
            err.message
        );
        let mut sched = json!({ "metadata": {}, "spec": { "schedule": "@daily" } });
        let err = admit("Schedule", "schedules", "s", &mut sched).unwrap_err();
        assert!(
            err.message.contains("spec.template: Required value"),
            "{}",
            err.message
        );
    }
}
