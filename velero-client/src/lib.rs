//! Velero's API (backups, restores, schedules, storage locations) over kube-rs, across several
//! kube contexts.
//!
//! * [`types`]: typed velero.io/v1 CRDs (Backup, Restore, Schedule, BackupStorageLocation,
//!   DeleteBackupRequest, DownloadRequest, PodVolumeBackup) with every spec and status field,
//!   phases with an `Unknown` catch-all and Go durations kept verbatim ([`GoDuration`]).
//! * [`VeleroClient`]: one kube context and namespace (default `velero`), with operations at
//!   parity with the `velero` CLI: list/get/describe backups, create from a schedule, restores with
//!   filters and namespace mapping, waiting for a terminal phase, schedules pause/unpause, storage
//!   locations, logs through DownloadRequest, deletion through DeleteBackupRequest.
//! * [`cli`]: what the velero CLI builds on the client side (restore options, a backup from a
//!   schedule, delete requests, names), as pure functions.
//! * [`Clusters`]: one handle over several contexts (`prod`, `agentic`, `monit`).
//! * [`health`]: last success per schedule, stuck backups, silently stopped schedules,
//!   unavailable storage locations.
//! * `testing` (feature): a fake kube-apiserver with a Velero-like controller, on 127.0.0.1.
//!
//! Velero's CRDs have no status subresource, so this crate never calls `patch_status`; status
//! is written by Velero with ordinary patches. Binaries must install the rustls provider
//! (`rustls::crypto::aws_lc_rs::default_provider().install_default()`) before building clients.
//!
//! ```no_run
//! use std::time::Duration;
//! use futures::TryStreamExt;
//! use velero_client::{Clusters, HealthOptions, RestoreOptions, ExistingResourcePolicy};
//!
//! # async fn run() -> velero_client::Result<()> {
//! let clusters = Clusters::from_kubeconfig("/home/me/.kube/config", &["prod", "agentic", "monit"]).await?;
//! for (context, report) in clusters.health(&HealthOptions::default()).await {
//!     let report = report?;
//!     println!("{context}: healthy={}", report.is_healthy());
//! }
//!
//! let prod = clusters.get("prod")?;
//! let backup = prod.create_backup_from_schedule("daily").await?;
//! let name = backup.metadata.name.clone().unwrap_or_default();
//! let backup = prod.wait_for_backup(&name, Duration::from_secs(3600)).await?;
//! println!("{name}: {}", backup.phase());
//!
//! let restore = prod
//!     .restore_from_latest(
//!         "daily",
//!         RestoreOptions::from_schedule("daily")
//!             .include_namespaces(["apps"])
//!             .map_namespace("apps", "apps-drill")
//!             .restore_pvs()
//!             .existing_resource_policy(ExistingResourcePolicy::None),
//!     )
//!     .await?;
//! let restore_name = restore.metadata.name.clone().unwrap_or_default();
//! let restore = prod.wait_for_restore(&restore_name, Duration::from_secs(3600)).await?;
//! let mut logs = prod.restore_logs(&restore_name).await?;
//! while let Some(line) = logs.try_next().await? {
//!     println!("{line}");
//! }
//! # let _ = restore;
//! # Ok(())
//! # }
//! ```
//!
//! # Crate features
//!
//! * `testing` (off by default): the `testing` module, a fake kube-apiserver with a Velero-like
//!   controller and a TLS object store on 127.0.0.1 (`FakeVelero::start()`,
//!   `FakeVelero::client_builder()`), for tests and demos. It pulls in axum, hyper, rcgen,
//!   tokio-rustls and tempfile, and its API is not covered by semver.
//!
//! The crate enables no k8s-openapi Kubernetes version feature: binaries and dev-dependencies
//! pick exactly one (e.g. `k8s-openapi/latest`).

pub mod cli;
mod client;
pub mod cron;
mod download;
mod error;
pub mod health;
mod multi;
mod ops;
mod retry;
#[cfg(feature = "testing")]
pub mod testing;
mod transport;
pub mod types;

pub use cli::{RestoreOptions, RestoreSource};
pub use client::{
    ClientBuilder, DEFAULT_NAMESPACE, ListOptions, Page, TlsVerification, VeleroClient,
    VeleroResource,
};
pub use download::{BackupResults, LogLines, ResultMessages};
pub use error::{ApiFailure, Error, Result};
pub use health::{HealthOptions, HealthReport};
pub use multi::Clusters;
pub use ops::{BackupDescription, RestoreDescription, StorageLocationState, UnpauseMode};
pub use retry::{BackoffConfig, RetryConfig};
pub use transport::{DEFAULT_MAX_DOWNLOAD_BYTES, DEFAULT_MAX_LOG_LINE_BYTES, USER_AGENT};
pub use types::*;

/// The README's example is compiled as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
