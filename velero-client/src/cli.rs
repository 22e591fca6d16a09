//! What the velero CLI does on the client side, as pure functions (no I/O): the objects it
//! builds (a Backup from a Schedule, the Restore of `velero restore create` and its flags as
//! [`RestoreOptions`], a DeleteBackupRequest), its timestamped names, which backup it picks for a
//! restore and how it sorts backups.

use std::collections::BTreeMap;

use jiff::{Timestamp, Zoned, tz::TimeZone};
use kube::api::ObjectMeta;
use kube::core::Resource;

use crate::types::*;

/// `<prefix>-<YYYYMMDDhhmmss>` in UTC, as `velero backup create --from-schedule` names backups and
/// the schedule controller names its backups.
pub fn timestamped_name_utc(prefix: &str, at: Timestamp) -> String {
    format!(
        "{prefix}-{}",
        at.to_zoned(TimeZone::UTC).strftime("%Y%m%d%H%M%S")
    )
}

/// `<prefix>-<YYYYMMDDhhmmss>` in the given zone: `velero restore create` uses the CLI machine's
/// **local** time, unlike backups.
pub fn timestamped_name_local(prefix: &str, at: &Zoned) -> String {
    format!("{prefix}-{}", at.strftime("%Y%m%d%H%M%S"))
}

/// The Backup `velero backup create --from-schedule S` would submit at `now`: spec from the
/// template, labels from the template (else the Schedule's own labels) plus
/// `velero.io/schedule-name`, the Schedule's annotations, and an ownerReference when
/// `useOwnerReferencesInBackup` is set.
pub fn backup_from_schedule(schedule: &Schedule, now: Timestamp) -> Backup {
    let schedule_name = schedule.metadata.name.clone().unwrap_or_default();
    let mut labels: BTreeMap<String, String> = schedule
        .spec
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .filter(|l| !l.is_empty())
        .or_else(|| schedule.metadata.labels.clone())
        .unwrap_or_default();
    labels.insert(
        labels::SCHEDULE_NAME.to_owned(),
        labels::valid_label_value(&schedule_name),
    );
    let owner_references = if schedule.spec.use_owner_references_in_backup == Some(true) {
        schedule.controller_owner_ref(&()).map(|r| vec![r])
    } else {
        None
    };
    Backup {
        metadata: ObjectMeta {
            name: Some(timestamped_name_utc(&schedule_name, now)),
            namespace: schedule.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: schedule
                .metadata
                .annotations
                .clone()
                .filter(|a| !a.is_empty()),
            owner_references,
            ..ObjectMeta::default()
        },
        spec: schedule.spec.template.clone(),
        status: None,
    }
}

/// Where a restore takes its data from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RestoreSource {
    /// A named backup (`--from-backup`).
    Backup(String),
    /// The newest Completed backup of a schedule, picked by the server (`--from-schedule`).
    Schedule(String),
}

impl RestoreSource {
    /// The backup or schedule name.
    pub fn name(&self) -> &str {
        match self {
            Self::Backup(n) | Self::Schedule(n) => n,
        }
    }
}

/// `velero restore create` flags.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RestoreOptions {
    /// Source.
    pub source: RestoreSource,
    /// Restore name (default: `<source>-<local YYYYMMDDhhmmss>`).
    pub name: Option<String>,
    /// `--include-namespaces` (default `*`).
    pub include_namespaces: Vec<String>,
    /// `--exclude-namespaces`.
    pub exclude_namespaces: Vec<String>,
    /// `--include-resources`.
    pub include_resources: Vec<String>,
    /// `--exclude-resources`.
    pub exclude_resources: Vec<String>,
    /// `--namespace-mappings src:dst`.
    pub namespace_mapping: BTreeMap<String, String>,
    /// `--selector` (match labels).
    pub selector: BTreeMap<String, String>,
    /// `--restore-volumes`.
    pub restore_pvs: Option<bool>,
    /// `--preserve-nodeports`.
    pub preserve_node_ports: Option<bool>,
    /// `--include-cluster-resources`.
    pub include_cluster_resources: Option<bool>,
    /// `--existing-resource-policy`.
    pub existing_resource_policy: Option<ExistingResourcePolicy>,
    /// `--item-operation-timeout` (sent as `0s` when unset, like the CLI).
    pub item_operation_timeout: Option<GoDuration>,
    /// `--labels` on the Restore object.
    pub labels: BTreeMap<String, String>,
    /// `--allow-partially-failed`: with a schedule source, pick the newest Completed or
    /// PartiallyFailed backup on the client side.
    pub allow_partially_failed: bool,
    /// Lifts this client's guard (not the server's: Velero has none) against restoring a named
    /// backup that is not `Completed` or `PartiallyFailed`.
    pub allow_any_backup_phase: bool,
}

impl RestoreOptions {
    /// Restore from a backup.
    pub fn from_backup(backup: impl Into<String>) -> Self {
        Self::new(RestoreSource::Backup(backup.into()))
    }

    /// Restore from a schedule's newest Completed backup.
    pub fn from_schedule(schedule: impl Into<String>) -> Self {
        Self::new(RestoreSource::Schedule(schedule.into()))
    }

    fn new(source: RestoreSource) -> Self {
        Self {
            source,
            name: None,
            include_namespaces: vec!["*".to_owned()],
            exclude_namespaces: Vec::new(),
            include_resources: Vec::new(),
            exclude_resources: Vec::new(),
            namespace_mapping: BTreeMap::new(),
            selector: BTreeMap::new(),
            restore_pvs: None,
            preserve_node_ports: None,
            include_cluster_resources: None,
            existing_resource_policy: None,
            item_operation_timeout: None,
            labels: BTreeMap::new(),
            allow_partially_failed: false,
            allow_any_backup_phase: false,
        }
    }

    /// Sets the restore name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Only these namespaces.
    pub fn include_namespaces<I: IntoIterator<Item = S>, S: Into<String>>(mut self, ns: I) -> Self {
        self.include_namespaces = ns.into_iter().map(Into::into).collect();
        self
    }

    /// Not these namespaces.
    pub fn exclude_namespaces<I: IntoIterator<Item = S>, S: Into<String>>(mut self, ns: I) -> Self {
        self.exclude_namespaces = ns.into_iter().map(Into::into).collect();
        self
    }

    /// Only these resources (e.g. `persistentvolumeclaims`, `persistentvolumes`).
    pub fn include_resources<I: IntoIterator<Item = S>, S: Into<String>>(mut self, r: I) -> Self {
        self.include_resources = r.into_iter().map(Into::into).collect();
        self
    }

    /// Not these resources.
    pub fn exclude_resources<I: IntoIterator<Item = S>, S: Into<String>>(mut self, r: I) -> Self {
        self.exclude_resources = r.into_iter().map(Into::into).collect();
        self
    }

    /// Restores namespace `from` into `to`.
    pub fn map_namespace(mut self, from: impl Into<String>, to: impl Into<String>) -> Self {
        self.namespace_mapping.insert(from.into(), to.into());
        self
    }

    /// Adds a `key=value` to the label selector.
    pub fn with_selector(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.selector.insert(key.into(), value.into());
        self
    }

    /// `--restore-volumes=true`: restore persistent volumes (also the server's default when
    /// neither this nor [`RestoreOptions::skip_pvs`] is called).
    pub fn restore_pvs(mut self) -> Self {
        self.restore_pvs = Some(true);
        self
    }

    /// `--restore-volumes=false`: do not restore persistent volumes.
    pub fn skip_pvs(mut self) -> Self {
        self.restore_pvs = Some(false);
        self
    }

    /// `--existing-resource-policy`.
    pub fn existing_resource_policy(mut self, policy: ExistingResourcePolicy) -> Self {
        self.existing_resource_policy = Some(policy);
        self
    }

    /// `--allow-partially-failed` (schedule sources only).
    pub fn allow_partially_failed(mut self) -> Self {
        self.allow_partially_failed = true;
        self
    }

    /// Restores a named backup whatever its phase. By default [`crate::VeleroClient::create_restore`]
    /// refuses a backup that is not `Completed` or `PartiallyFailed` (still running, failed,
    /// being deleted) with [`crate::Error::BackupNotRestorable`]; Velero's server and CLI do
    /// not check, and the restore then fails or restores a partial tarball.
    pub fn allow_any_backup_phase(mut self) -> Self {
        self.allow_any_backup_phase = true;
        self
    }

    /// Checks what the CLI checks before sending anything.
    pub fn validate(&self) -> crate::Result<()> {
        if self.source.name().is_empty() {
            return Err(crate::Error::Invalid(
                "a backup or schedule name is required".into(),
            ));
        }
        if let Some(ExistingResourcePolicy::Unknown(p)) = &self.existing_resource_policy {
            return Err(crate::Error::Invalid(format!(
                "invalid existing resource policy {p:?}: must be \"none\" or \"update\""
            )));
        }
        if self.allow_partially_failed && matches!(self.source, RestoreSource::Backup(_)) {
            return Err(crate::Error::Invalid(
                "allow-partially-failed works only with a schedule".into(),
            ));
        }
        Ok(())
    }

    /// The Restore object the CLI would send at local time `now`.
    pub fn to_restore(&self, now: &Zoned) -> Restore {
        let name = self
            .name
            .clone()
            .unwrap_or_else(|| timestamped_name_local(self.source.name(), now));
        let (backup_name, schedule_name) = match &self.source {
            RestoreSource::Backup(b) => (Some(b.clone()), None),
            RestoreSource::Schedule(s) => (None, Some(s.clone())),
        };
        let non_empty = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
        let spec = RestoreSpec {
            backup_name,
            schedule_name,
            included_namespaces: non_empty(&self.include_namespaces),
            excluded_namespaces: non_empty(&self.exclude_namespaces),
            included_resources: non_empty(&self.include_resources),
            excluded_resources: non_empty(&self.exclude_resources),
            namespace_mapping: (!self.namespace_mapping.is_empty())
                .then(|| self.namespace_mapping.clone()),
            label_selector: (!self.selector.is_empty()).then(|| LabelSelector {
                match_labels: Some(self.selector.clone()),
                match_expressions: None,
            }),
            restore_pvs: self.restore_pvs,
            preserve_node_ports: self.preserve_node_ports,
            include_cluster_resources: self.include_cluster_resources,
            existing_resource_policy: self.existing_resource_policy.clone(),
            // The CLI always sends these two.
            item_operation_timeout: Some(
                self.item_operation_timeout
                    .clone()
                    .unwrap_or_else(|| GoDuration::from_std(std::time::Duration::ZERO)),
            ),
            uploader_config: Some(RestoreUploaderConfig::default()),
            ..RestoreSpec::default()
        };
        Restore {
            metadata: ObjectMeta {
                name: Some(name),
                labels: (!self.labels.is_empty()).then(|| self.labels.clone()),
                ..ObjectMeta::default()
            },
            spec,
            status: None,
        }
    }
}

/// The DeleteBackupRequest `velero backup delete` creates: `generateName: <backup>-` and the
/// backup name/uid labels.
pub fn delete_backup_request(backup_name: &str, backup_uid: Option<&str>) -> DeleteBackupRequest {
    let mut labels = BTreeMap::new();
    labels.insert(
        labels::BACKUP_NAME.to_owned(),
        labels::valid_label_value(backup_name),
    );
    if let Some(uid) = backup_uid {
        labels.insert(labels::BACKUP_UID.to_owned(), uid.to_owned());
    }
    let spec = DeleteBackupRequestSpec {
        backup_name: backup_name.to_owned(),
    };
    DeleteBackupRequest {
        metadata: ObjectMeta {
            generate_name: Some(format!("{backup_name}-")),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        spec,
        status: None,
    }
}

/// Picks the newest backup (by `startTimestamp`) in one of `phases`, as the restore controller
/// (`Completed` only) and the CLI's `--allow-partially-failed` do.
pub fn newest_backup_in<'a>(backups: &'a [Backup], phases: &[BackupPhase]) -> Option<&'a Backup> {
    backups
        .iter()
        .filter(|b| phases.contains(&b.phase()))
        .max_by_key(|b| (b.started(), b.metadata.name.clone()))
}

/// Sorts backups the way `velero backup get` prints them: by name, except that names sharing a
/// prefix and ending in `-YYYYMMDDhhmmss` come newest first.
pub fn sort_backups_like_cli(backups: &mut [Backup]) {
    fn key(name: &str) -> (&str, std::cmp::Reverse<&str>) {
        if let Some((prefix, stamp)) = name.rsplit_once('-')
            && stamp.len() == 14
            && stamp.bytes().all(|b| b.is_ascii_digit())
        {
            return (prefix, std::cmp::Reverse(stamp));
        }
        (name, std::cmp::Reverse(""))
    }
    backups.sort_by(|a, b| {
        let an = a.metadata.name.as_deref().unwrap_or("");
        let bn = b.metadata.name.as_deref().unwrap_or("");
        key(an).cmp(&key(bn))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule() -> Schedule {
        let mut spec = ScheduleSpec {
            schedule: "0 2 * * *".into(),
            ..ScheduleSpec::default()
        };
        spec.template.included_namespaces = Some(vec!["apps".into()]);
        spec.template.ttl = Some(GoDuration::parse("168h0m0s").unwrap());
        let mut s = Schedule::new("daily", spec);
        s.metadata.namespace = Some("velero".into());
        s.metadata.uid = Some("uid-1".into());
        s.metadata.labels = Some([("team".to_owned(), "infra".to_owned())].into());
        s
    }

    #[test]
    fn backup_from_schedule_follows_the_cli() {
        let now: Timestamp = "2026-11-27T02:00:05Z".parse().unwrap();
        let b = backup_from_schedule(&schedule(), now);
        assert_eq!(b.metadata.name.as_deref(), Some("daily-20261127020005"));
        let labels = b.metadata.labels.unwrap();
        assert_eq!(
            labels.get("velero.io/schedule-name").map(String::as_str),
            Some("daily")
        );
        assert_eq!(labels.get("team").map(String::as_str), Some("infra"));
        assert_eq!(b.spec.included_namespaces, Some(vec!["apps".to_owned()]));
        assert!(b.metadata.owner_references.is_none());
        assert!(b.status.is_none());

        let mut owned = schedule();
        owned.spec.use_owner_references_in_backup = Some(true);
        let b = backup_from_schedule(&owned, now);
        let refs = b.metadata.owner_references.unwrap();
        assert_eq!(refs[0].kind, "Schedule");
        assert_eq!(refs[0].controller, Some(true));
    }

    #[test]
    fn restore_options_build_the_cli_body() {
        let now: Zoned = "2026-11-27T09:30:00+01:00[Europe/Paris]".parse().unwrap();
        let r = RestoreOptions::from_backup("daily-20261127020005")
            .include_namespaces(["apps"])
            .map_namespace("apps", "apps-restored")
            .restore_pvs()
            .existing_resource_policy(ExistingResourcePolicy::Update)
            .to_restore(&now);
        // Local time, not UTC.
        assert_eq!(
            r.metadata.name.as_deref(),
            Some("daily-20261127020005-20261127093000")
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["spec"]["backupName"], "daily-20261127020005");
        assert_eq!(json["spec"]["namespaceMapping"]["apps"], "apps-restored");
        assert_eq!(json["spec"]["restorePVs"], true);
        assert_eq!(json["spec"]["existingResourcePolicy"], "update");
        assert_eq!(json["spec"]["itemOperationTimeout"], "0s");
        assert_eq!(json["spec"]["uploaderConfig"], serde_json::json!({}));
        assert!(json.get("status").is_none());
        assert!(json["spec"].get("scheduleName").is_none());
    }

    #[test]
    fn restore_volumes_is_sent_only_when_chosen() {
        let now: Zoned = "2026-11-27T09:30:00+01:00[Europe/Paris]".parse().unwrap();
        let body = |o: RestoreOptions| serde_json::to_value(o.to_restore(&now)).unwrap();
        let unset = body(RestoreOptions::from_backup("b"));
        assert!(unset["spec"].get("restorePVs").is_none(), "{unset}");
        assert_eq!(
            body(RestoreOptions::from_backup("b").restore_pvs())["spec"]["restorePVs"],
            true
        );
        assert_eq!(
            body(RestoreOptions::from_backup("b").skip_pvs())["spec"]["restorePVs"],
            false
        );
        let opts = RestoreOptions::from_schedule("s")
            .allow_partially_failed()
            .allow_any_backup_phase();
        assert!(opts.allow_partially_failed && opts.allow_any_backup_phase);
        let opts = RestoreOptions::from_schedule("s");
        assert!(!opts.allow_partially_failed && !opts.allow_any_backup_phase);
    }

    #[test]
    fn restore_options_validate_like_the_cli() {
        let bad = RestoreOptions::from_backup("b")
            .existing_resource_policy(ExistingResourcePolicy::from_text("merge"));
        assert!(bad.validate().is_err());
        assert!(
            RestoreOptions::from_backup("b")
                .allow_partially_failed()
                .validate()
                .is_err()
        );
        assert!(
            RestoreOptions::from_schedule("s")
                .allow_partially_failed()
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn backups_sort_like_the_cli() {
        let mut v: Vec<Backup> = [
            "weekly-20261122030000",
            "daily-20261126020000",
            "adhoc",
            "daily-20261127020000",
            "daily-20261125020000",
        ]
        .iter()
        .map(|n| Backup::new(n, BackupSpec::default()))
        .collect();
        sort_backups_like_cli(&mut v);
        let names: Vec<&str> = v
            .iter()
            .filter_map(|b| b.metadata.name.as_deref())
            .collect();
        assert_eq!(
            names,
            [
                "adhoc",
                "daily-20261127020000",
                "daily-20261126020000",
                "daily-20261125020000",
                "weekly-20261122030000"
            ]
        );
    }

    #[test]
    fn delete_requests_use_generate_name_and_labels() {
        let dbr = delete_backup_request("daily-1", Some("u-1"));
        assert_eq!(dbr.metadata.generate_name.as_deref(), Some("daily-1-"));
        assert!(dbr.metadata.name.is_none());
        let labels = dbr.metadata.labels.unwrap();
        assert_eq!(labels["velero.io/backup-name"], "daily-1");
        assert_eq!(labels["velero.io/backup-uid"], "u-1");
    }
}
