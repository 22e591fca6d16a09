//! Operations at parity with the velero CLI.

use std::time::Duration;

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use jiff::{Timestamp, Zoned};
use serde_json::json;

use crate::cli::{self, RestoreOptions, RestoreSource};
use crate::client::{ListOptions, Page, VeleroClient};
use crate::download::BackupResults;
use crate::types::*;
use crate::{Error, Result};

/// What `velero backup describe` shows, as data.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BackupDescription {
    /// The Backup.
    pub backup: Backup,
    /// Its phase (`Deleting` when a deletion is under way).
    pub phase: BackupPhase,
    /// Error count.
    pub errors: i64,
    /// Warning count.
    pub warnings: i64,
    /// Item progress.
    pub progress: Option<BackupProgress>,
    /// Expiration (status, else creation + TTL).
    pub expiration: Option<Timestamp>,
    /// Validation errors.
    pub validation_errors: Vec<String>,
    /// The error and warning messages (downloaded when there are any; `None` if not fetched or
    /// the file does not exist).
    pub results: Option<BackupResults>,
    /// Why the results could not be downloaded (e.g. the object store is reachable only inside
    /// the cluster); the counts above are still valid.
    pub results_error: Option<String>,
    /// Pending or finished DeleteBackupRequests for this backup.
    pub delete_requests: Vec<DeleteBackupRequest>,
    /// Its PodVolumeBackups (file-system backups).
    pub pod_volume_backups: Vec<PodVolumeBackup>,
}

/// What `velero restore describe` shows, as data.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RestoreDescription {
    /// The Restore.
    pub restore: Restore,
    /// Its phase.
    pub phase: RestorePhase,
    /// Error count.
    pub errors: i64,
    /// Warning count.
    pub warnings: i64,
    /// Item progress.
    pub progress: Option<RestoreProgress>,
    /// Validation errors.
    pub validation_errors: Vec<String>,
    /// The error and warning messages (downloaded when there are any).
    pub results: Option<BackupResults>,
    /// Why the results could not be downloaded.
    pub results_error: Option<String>,
}

/// What an unpaused schedule does about a backup that is due at once
/// ([`VeleroClient::unpause_schedule`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnpauseMode {
    /// `skipImmediately` is not sent: the schedule's or the server's default applies
    /// (`velero server --schedule-skip-immediately`, false unless set).
    #[default]
    ServerDefault,
    /// `--skip-immediately`: skip the backup that would run at once because the schedule is due.
    SkipImmediately,
}

/// A storage location and whether backups can use it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct StorageLocationState {
    /// Name.
    pub name: String,
    /// Phase.
    pub phase: BslPhase,
    /// Default location.
    pub default: bool,
    /// Access mode.
    pub access_mode: BslAccessMode,
    /// Bucket.
    pub bucket: String,
    /// Why it is unavailable.
    pub message: Option<String>,
    /// Last validation.
    pub last_validated: Option<Timestamp>,
    /// The full object.
    pub location: BackupStorageLocation,
}

impl StorageLocationState {
    /// `Available`.
    pub fn is_available(&self) -> bool {
        self.phase == BslPhase::Available
    }
}

impl VeleroClient {
    // ---- backups ----

    /// One page of backups (`limit`/`continue`).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with the apiserver's answer (e.g. [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]), [`Error::Kube`] when the apiserver cannot be reached or
    /// its answer not decoded.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let page = client.list_backups_page(&velero_client::ListOptions::default().with_page_size(100), None).await?;
    /// # let _ = page;
    /// # Ok(()) }
    /// ```
    pub async fn list_backups_page(
        &self,
        opts: &ListOptions,
        continue_token: Option<&str>,
    ) -> Result<Page<Backup>> {
        self.list_page(opts, continue_token).await
    }

    /// Every backup matching `opts`, following pages.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with the apiserver's answer (e.g. [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]), [`Error::Kube`] when the apiserver cannot be reached or
    /// its answer not decoded.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// for b in client.list_backups(&velero_client::ListOptions::default()).await? {
    ///     println!("{:?} {}", b.metadata.name, b.phase());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_backups(&self, opts: &ListOptions) -> Result<Vec<Backup>> {
        self.list_all(opts).await
    }

    /// Every backup matching `opts`, one page (`opts.page_size`) fetched at a time as the
    /// stream is read: the streaming twin of [`VeleroClient::list_backups`].
    pub fn backups_stream(&self, opts: &ListOptions) -> BoxStream<'_, Result<Backup>> {
        self.objects_stream(opts)
    }

    /// Backups of one schedule (`velero.io/schedule-name=<schedule>`).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with the apiserver's answer (e.g. [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]), [`Error::Kube`] when the apiserver cannot be reached or
    /// its answer not decoded.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let backups = client.list_backups_for_schedule("daily").await?;
    /// # let _ = backups;
    /// # Ok(()) }
    /// ```
    pub async fn list_backups_for_schedule(&self, schedule: &str) -> Result<Vec<Backup>> {
        let sel = format!(
            "{}={}",
            labels::SCHEDULE_NAME,
            labels::valid_label_value(schedule)
        );
        self.list_all(&ListOptions::default().with_labels(sel))
            .await
    }

    /// GET a backup.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with the apiserver's answer (e.g. [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]), [`Error::Kube`] when the apiserver cannot be reached or
    /// its answer not decoded.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let backup = client.get_backup("daily-20261127020005").await?;
    /// # let _ = backup;
    /// # Ok(()) }
    /// ```
    pub async fn get_backup(&self, name: &str) -> Result<Backup> {
        self.get(name).await
    }

    /// `velero backup describe` data; downloads BackupResults when there are errors or warnings.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with the apiserver's answer (e.g. [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]), [`Error::Kube`] when the apiserver cannot be reached or
    /// its answer not decoded, not for a failed results download (that is `results_error`).
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let d = client.describe_backup("daily-20261127020005").await?;
    /// println!("{} errors, {} warnings", d.errors, d.warnings);
    /// # Ok(()) }
    /// ```
    pub async fn describe_backup(&self, name: &str) -> Result<BackupDescription> {
        let backup: Backup = self.get(name).await?;
        let valid = labels::valid_label_value(name);
        let mut dbr_sel = format!("{}={valid}", labels::BACKUP_NAME);
        if let Some(uid) = &backup.metadata.uid {
            dbr_sel.push_str(&format!(",{}={uid}", labels::BACKUP_UID));
        }
        let delete_requests = self
            .list_all(&ListOptions::default().with_labels(dbr_sel))
            .await?;
        let pod_volume_backups = self
            .list_all(
                &ListOptions::default().with_labels(format!("{}={valid}", labels::BACKUP_NAME)),
            )
            .await?;
        let phase = backup.phase();
        let (results, results_error) = if backup.errors() + backup.warnings() > 0 {
            match self.backup_results(name).await {
                Ok(r) => (Some(r), None),
                // Like the CLI: a missing file falls back to the counts.
                Err(e) if e.is_not_found() => (None, None),
                // The counts are still worth showing when the download fails.
                Err(e) => (None, Some(e.to_string())),
            }
        } else {
            (None, None)
        };
        Ok(BackupDescription {
            phase,
            errors: backup.errors(),
            warnings: backup.warnings(),
            progress: backup.status.as_ref().and_then(|s| s.progress.clone()),
            expiration: backup.expires(),
            validation_errors: backup
                .status
                .as_ref()
                .and_then(|s| s.validation_errors.clone())
                .unwrap_or_default(),
            results,
            results_error,
            delete_requests,
            pod_volume_backups,
            backup,
        })
    }

    /// Creates a backup with this name and spec.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with the apiserver's answer (e.g. [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]), [`Error::Kube`] when the apiserver cannot be reached or
    /// its answer not decoded.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// client.create_backup("adhoc", velero_client::BackupSpec::default()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_backup(&self, name: &str, spec: BackupSpec) -> Result<Backup> {
        self.create(&Backup::new(name, spec)).await
    }

    /// `velero backup create --from-schedule S`: named `S-<UTC YYYYMMDDhhmmss>`, spec and labels
    /// from the schedule.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with the apiserver's answer (e.g. [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]), [`Error::Kube`] when the apiserver cannot be reached or
    /// its answer not decoded, [`Error::is_not_found`] when the schedule does not exist.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let backup = client.create_backup_from_schedule("daily").await?;
    /// # let _ = backup;
    /// # Ok(()) }
    /// ```
    pub async fn create_backup_from_schedule(&self, schedule: &str) -> Result<Backup> {
        let sched: Schedule = self.get(schedule).await?;
        let mut backup = cli::backup_from_schedule(&sched, Timestamp::now());
        backup.metadata.namespace = Some(self.namespace.clone());
        self.create(&backup).await
    }

    /// Waits until the backup reaches a terminal phase (`--wait`).
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when `timeout` passes first (with the last phase seen),
    /// [`Error::Deleted`] when the object is deleted meanwhile, [`Error::Watch`] or [`Error::Api`]
    /// with the apiserver's answer (e.g. [`Error::is_not_found`], [`Error::is_permission_denied`]),
    /// [`Error::Kube`] when the apiserver cannot be reached or its answer not decoded.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let backup = client.wait_for_backup("adhoc", std::time::Duration::from_secs(3600)).await?;
    /// println!("{}", backup.phase());
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_backup(&self, name: &str, timeout: Duration) -> Result<Backup> {
        self.wait_for::<Backup, _>(name, timeout, |b| b.phase().is_terminal())
            .await
    }

    /// `velero backup delete`: creates a DeleteBackupRequest (the server deletes the data and the
    /// CR). Deleting the Backup CR directly would let object-store sync bring it back.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with the apiserver's answer (e.g. [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]), [`Error::Kube`] when the apiserver cannot be reached or
    /// its answer not decoded, [`Error::is_not_found`] when the backup does not exist.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let request = client.delete_backup("adhoc").await?;
    /// # let _ = request;
    /// # Ok(()) }
    /// ```
    pub async fn delete_backup(&self, name: &str) -> Result<DeleteBackupRequest> {
        let backup: Backup = self.get(name).await?;
        let dbr = cli::delete_backup_request(name, backup.metadata.uid.as_deref());
        self.create(&dbr).await
    }

    /// Waits until the backup is gone (after [`VeleroClient::delete_backup`]).
    ///
    /// The server refuses to delete a backup that is still running, or whose storage location
    /// is missing, read-only or unavailable: it marks the newest DeleteBackupRequest of the
    /// backup `Processed` with `status.errors` and keeps the backup. That ends the wait at once
    /// with [`Error::DeleteRefused`] carrying the server's reasons (vmware-tanzu/velero
    /// pkg/controller/backup_deletion_controller.go).
    ///
    /// # Errors
    ///
    /// [`Error::DeleteRefused`] when the server refuses the deletion, [`Error::Timeout`] when
    /// `timeout` passes first, [`Error::Api`] with the apiserver's answer (e.g.
    /// [`Error::is_not_found`], [`Error::is_permission_denied`]), [`Error::Kube`] when the
    /// apiserver cannot be reached or its answer not decoded.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// client.delete_backup("adhoc").await?;
    /// client.wait_for_backup_deleted("adhoc", std::time::Duration::from_secs(300)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_backup_deleted(&self, name: &str, timeout: Duration) -> Result<()> {
        self.wait_deleted(name, None, timeout).await
    }

    /// Waits until the deletion asked for by `request` (from [`VeleroClient::delete_backup`])
    /// is done: the backup is gone, or [`Error::DeleteRefused`] with the server's reasons.
    ///
    /// # Errors
    ///
    /// [`Error::DeleteRefused`] when the server refuses the deletion, [`Error::Timeout`] when
    /// `timeout` passes first, [`Error::Api`] with the apiserver's answer (e.g.
    /// [`Error::is_not_found`], [`Error::is_permission_denied`]), [`Error::Kube`] when the
    /// apiserver cannot be reached or its answer not decoded.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let request = client.delete_backup("adhoc").await?;
    /// client.wait_for_delete_request(&request, std::time::Duration::from_secs(300)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_delete_request(
        &self,
        request: &DeleteBackupRequest,
        timeout: Duration,
    ) -> Result<()> {
        let name = request.metadata.name.clone().unwrap_or_default();
        self.wait_deleted(&request.spec.backup_name, Some(&name), timeout)
            .await
    }

    /// The refusal recorded on a processed request, if any.
    fn refusal(&self, backup: &str, dbr: &DeleteBackupRequest) -> Option<Error> {
        let status = dbr.status.as_ref()?;
        if status.phase != Some(DeleteBackupRequestPhase::Processed) {
            return None;
        }
        let errors = status.errors.clone().unwrap_or_default();
        (!errors.is_empty()).then(|| Error::DeleteRefused {
            context: self.context.clone(),
            backup: backup.to_owned(),
            request: dbr.metadata.name.clone().unwrap_or_default(),
            errors,
        })
    }

    async fn wait_deleted(
        &self,
        backup: &str,
        request: Option<&str>,
        timeout: Duration,
    ) -> Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut delay = Duration::from_millis(20);
        let selector = format!(
            "{}={}",
            labels::BACKUP_NAME,
            labels::valid_label_value(backup)
        );
        loop {
            if self.get_opt::<Backup>(backup).await?.is_none() {
                return Ok(());
            }
            // The request of this deletion: the one given, else the newest for the backup (the
            // server deletes the older ones when it picks up a new one).
            let dbr = match request {
                Some(r) => self.get_opt::<DeleteBackupRequest>(r).await?,
                None => {
                    let all: Vec<DeleteBackupRequest> = self
                        .list_all(&ListOptions::default().with_labels(selector.clone()))
                        .await?;
                    all.into_iter()
                        .filter(|d| d.spec.backup_name == backup)
                        .max_by_key(|d| {
                            (
                                d.metadata.creation_timestamp.as_ref().map(|t| t.0),
                                d.metadata.name.clone(),
                            )
                        })
                }
            };
            if let Some(refused) = dbr.as_ref().and_then(|d| self.refusal(backup, d)) {
                return Err(refused);
            }
            if tokio::time::Instant::now() + delay > deadline {
                let last_phase = match self.get_opt::<Backup>(backup).await? {
                    Some(b) => b.phase().to_string(),
                    None => return Ok(()),
                };
                return Err(Error::Timeout {
                    context: self.context.clone(),
                    resource: "backups",
                    name: backup.to_owned(),
                    waited: timeout,
                    last_phase,
                });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(2));
        }
    }

    // ---- restores ----

    /// `velero restore create`: validates like the CLI (the backup exists; the schedule has
    /// backups) and submits the Restore. Unlike the CLI it also refuses a named backup that is
    /// not `Completed` or `PartiallyFailed` ([`Error::BackupNotRestorable`]; lift with
    /// [`RestoreOptions::allow_any_backup_phase`]). With `allow_partially_failed`, picks the newest Completed
    /// or PartiallyFailed backup of the schedule itself.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for options the CLI refuses, [`Error::BackupNotRestorable`] for a named
    /// backup that is not Completed or PartiallyFailed, [`Error::NoBackups`] for a schedule without
    /// backups, [`Error::Api`] with the apiserver's answer (e.g. [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]), [`Error::Kube`] when the apiserver cannot be reached or
    /// its answer not decoded.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let opts = velero_client::RestoreOptions::from_backup("daily-20261127020005").include_namespaces(["apps"]);
    /// let restore = client.create_restore(&opts).await?;
    /// # let _ = restore;
    /// # Ok(()) }
    /// ```
    pub async fn create_restore(&self, opts: &RestoreOptions) -> Result<Restore> {
        opts.validate()?;
        let mut opts = opts.clone();
        match &opts.source {
            RestoreSource::Backup(b) => {
                let backup = self.get::<Backup>(b).await?;
                // This client's guard (documented on `allow_any_backup_phase`); the server has
                // none for a named backup.
                let phase = backup.phase();
                if !opts.allow_any_backup_phase
                    && !matches!(phase, BackupPhase::Completed | BackupPhase::PartiallyFailed)
                {
                    return Err(Error::BackupNotRestorable {
                        context: self.context.clone(),
                        backup: b.clone(),
                        phase: phase.to_string(),
                    });
                }
            }
            RestoreSource::Schedule(s) => {
                let backups = self.list_backups_for_schedule(s).await?;
                if backups.is_empty() {
                    return Err(Error::NoBackups {
                        context: self.context.clone(),
                        schedule: s.clone(),
                    });
                }
                if opts.allow_partially_failed {
                    let phases = [BackupPhase::Completed, BackupPhase::PartiallyFailed];
                    if let Some(name) = cli::newest_backup_in(&backups, &phases)
                        .and_then(|b| b.metadata.name.clone())
                    {
                        if opts.name.is_none() {
                            opts.name = Some(cli::timestamped_name_local(s, &Zoned::now()));
                        }
                        opts.source = RestoreSource::Backup(name);
                    }
                }
            }
        }
        let restore = opts.to_restore(&Zoned::now());
        self.create(&restore).await
    }

    /// Restores from the newest **Completed** backup of `schedule`, resolved here so the Restore
    /// names its backup explicitly. The options' source is replaced.
    ///
    /// # Errors
    ///
    /// [`Error::NoBackups`] when the schedule has no Completed backup, then as
    /// [`VeleroClient::create_restore`].
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let opts = velero_client::RestoreOptions::from_schedule("daily").map_namespace("apps", "apps-drill");
    /// let restore = client.restore_from_latest("daily", opts).await?;
    /// # let _ = restore;
    /// # Ok(()) }
    /// ```
    pub async fn restore_from_latest(
        &self,
        schedule: &str,
        opts: RestoreOptions,
    ) -> Result<Restore> {
        let backups = self.list_backups_for_schedule(schedule).await?;
        let newest = cli::newest_backup_in(&backups, &[BackupPhase::Completed])
            .and_then(|b| b.metadata.name.clone())
            .ok_or_else(|| Error::NoBackups {
                context: self.context.clone(),
                schedule: schedule.to_owned(),
            })?;
        let mut opts = opts;
        if opts.name.is_none() {
            opts.name = Some(cli::timestamped_name_local(schedule, &Zoned::now()));
        }
        opts.source = RestoreSource::Backup(newest);
        opts.allow_partially_failed = false;
        self.create_restore(&opts).await
    }

    /// Waits until the restore reaches a terminal phase (`--wait`).
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when `timeout` passes first (with the last phase seen),
    /// [`Error::Deleted`] when the object is deleted meanwhile, [`Error::Watch`] or [`Error::Api`]
    /// with the apiserver's answer (e.g. [`Error::is_not_found`], [`Error::is_permission_denied`]),
    /// [`Error::Kube`] when the apiserver cannot be reached or its answer not decoded.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let restore = client.wait_for_restore("drill", std::time::Duration::from_secs(3600)).await?;
    /// println!("{}", restore.phase());
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_restore(&self, name: &str, timeout: Duration) -> Result<Restore> {
        self.wait_for::<Restore, _>(name, timeout, |r| r.phase().is_terminal())
            .await
    }

    /// `velero restore describe` data; downloads RestoreResults when there are errors or
    /// warnings.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with the apiserver's answer (e.g. [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]), [`Error::Kube`] when the apiserver cannot be reached or
    /// its answer not decoded, not for a failed results download (that is `results_error`).
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let d = client.describe_restore("drill").await?;
    /// println!("{}: {} errors", d.phase, d.errors);
    /// # Ok(()) }
    /// ```
    pub async fn describe_restore(&self, name: &str) -> Result<RestoreDescription> {
        let restore: Restore = self.get(name).await?;
        let (results, results_error) = if restore.errors() + restore.warnings() > 0 {
            match self.restore_results(name).await {
                Ok(r) => (Some(r), None),
                Err(e) if e.is_not_found() => (None, None),
                Err(e) => (None, Some(e.to_string())),
            }
        } else {
            (None, None)
        };
        let status = restore.status.clone().unwrap_or_default();
        Ok(RestoreDescription {
            phase: restore.phase(),
            errors: restore.errors(),
            warnings: restore.warnings(),
            progress: status.progress,
            validation_errors: status.validation_errors.unwrap_or_default(),
            results,
            results_error,
            restore,
        })
    }

    /// GET a restore.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with the apiserver's answer (e.g. [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]), [`Error::Kube`] when the apiserver cannot be reached or
    /// its answer not decoded.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let restore = client.get_restore("drill").await?;
    /// # let _ = restore;
    /// # Ok(()) }
    /// ```
    pub async fn get_restore(&self, name: &str) -> Result<Restore> {
        self.get(name).await
    }

    /// Every restore matching `opts`.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with the apiserver's answer (e.g. [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]), [`Error::Kube`] when the apiserver cannot be reached or
    /// its answer not decoded.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let restores = client.list_restores(&velero_client::ListOptions::default()).await?;
    /// # let _ = restores;
    /// # Ok(()) }
    /// ```
    pub async fn list_restores(&self, opts: &ListOptions) -> Result<Vec<Restore>> {
        self.list_all(opts).await
    }

    /// Every restore matching `opts`, page by page: the streaming twin of
    /// [`VeleroClient::list_restores`].
    pub fn restores_stream(&self, opts: &ListOptions) -> BoxStream<'_, Result<Restore>> {
        self.objects_stream(opts)
    }

    // ---- schedules ----

    /// Every schedule.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with the apiserver's answer (e.g. [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]), [`Error::Kube`] when the apiserver cannot be reached or
    /// its answer not decoded.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// for s in client.list_schedules().await? {
    ///     println!("{:?} paused={}", s.metadata.name, s.is_paused());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_schedules(&self) -> Result<Vec<Schedule>> {
        self.list_all(&ListOptions::default()).await
    }

    /// Every schedule, page by page: the streaming twin of [`VeleroClient::list_schedules`].
    pub fn schedules_stream(&self) -> BoxStream<'_, Result<Schedule>> {
        self.objects_stream(&ListOptions::default())
    }

    /// GET a schedule.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with the apiserver's answer (e.g. [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]), [`Error::Kube`] when the apiserver cannot be reached or
    /// its answer not decoded.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let schedule = client.get_schedule("daily").await?;
    /// # let _ = schedule;
    /// # Ok(()) }
    /// ```
    pub async fn get_schedule(&self, name: &str) -> Result<Schedule> {
        self.get(name).await
    }

    /// `velero schedule pause` (a merge patch instead of the CLI's read-modify-update).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with the apiserver's answer (e.g. [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]), [`Error::Kube`] when the apiserver cannot be reached or
    /// its answer not decoded.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// client.pause_schedule("daily").await?;
    /// # Ok(()) }
    /// ```
    pub async fn pause_schedule(&self, name: &str) -> Result<Schedule> {
        self.merge_patch(name, &json!({ "spec": { "paused": true } }))
            .await
    }

    /// `velero schedule unpause [--skip-immediately]`.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with the apiserver's answer (e.g. [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]), [`Error::Kube`] when the apiserver cannot be reached or
    /// its answer not decoded.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// client.unpause_schedule("daily", velero_client::UnpauseMode::SkipImmediately).await?;
    /// # Ok(()) }
    /// ```
    pub async fn unpause_schedule(&self, name: &str, mode: UnpauseMode) -> Result<Schedule> {
        let patch = match mode {
            UnpauseMode::SkipImmediately => {
                json!({ "spec": { "paused": false, "skipImmediately": true } })
            }
            UnpauseMode::ServerDefault => json!({ "spec": { "paused": false } }),
        };
        self.merge_patch(name, &patch).await
    }

    // ---- storage locations ----

    /// Storage locations with their availability.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with the apiserver's answer (e.g. [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]), [`Error::Kube`] when the apiserver cannot be reached or
    /// its answer not decoded.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// for l in client.storage_locations().await? {
    ///     println!("{} available={}", l.name, l.is_available());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn storage_locations(&self) -> Result<Vec<StorageLocationState>> {
        let locations: Vec<BackupStorageLocation> = self.list_all(&ListOptions::default()).await?;
        Ok(locations.into_iter().map(storage_location_state).collect())
    }

    /// Storage locations with their availability, page by page: the streaming twin of
    /// [`VeleroClient::storage_locations`].
    pub fn storage_locations_stream(&self) -> BoxStream<'_, Result<StorageLocationState>> {
        self.objects_stream::<BackupStorageLocation>(&ListOptions::default())
            .map_ok(storage_location_state)
            .boxed()
    }
}

pub(crate) fn storage_location_state(location: BackupStorageLocation) -> StorageLocationState {
    let status = location.status.clone().unwrap_or_default();
    StorageLocationState {
        name: location.metadata.name.clone().unwrap_or_default(),
        phase: location.phase(),
        default: location.is_default(),
        access_mode: location.spec.access_mode.clone().unwrap_or_default(),
        bucket: location.spec.object_storage.bucket.clone(),
        message: status.message.filter(|m| !m.is_empty()),
        last_validated: status.last_validation_time.map(|t| t.0),
        location,
    }
}
