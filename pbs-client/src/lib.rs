//! Client for the [Proxmox Backup Server](https://pbs.proxmox.com) REST API (`/api2/json`),
//! with API-token and ticket auth and certificate pinning.
//!
//! * **Auth**: [`Credentials::Token`] (`PBSAPIToken=user@realm!name:SECRET`) or
//!   [`Credentials::Password`] (ticket cookie, CSRF header on writes, renewed before the 2 h
//!   lifetime ends and re-obtained after a 401). Secrets are [`secrecy::SecretString`] throughout.
//! * **TLS**: [`TlsVerification::Pinned`] accepts exactly the certificate with this SHA-256
//!   [`Fingerprint`] (PBS's colon hex), still checking the handshake signature; without a pin the
//!   system CAs are used; accepting anything needs [`ClientBuilder::danger_accept_invalid_certs`].
//! * **Endpoints**: version, datastores and usage; per datastore ([`Client::datastore`] gives a
//!   [`Datastore`]) status, namespaces, groups, snapshots, files, blobs, prune (group with
//!   [`PruneMode::DryRun`], datastore), verify and GC; tasks (list, stream, status, log, wait)
//!   with the [`Upid`] type, and prune/verify/sync jobs with their last-run state.
//! * **Errors**: PBS's plain-text error bodies become typed [`Error`]s ([`Error::is_not_found`],
//!   [`Error::is_unauthenticated`], [`Error::is_permission_denied`], [`Error::is_retryable`],
//!   [`Error::status`], [`Error::is_tls`]).
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use pbs_client::{BackupType, Client, GroupRef, KeepOptions, PruneMode};
//!
//! # async fn run() -> pbs_client::Result<()> {
//! // PBS_REPOSITORY=monitor@pbs!ro@pbs.example:8007:store1 PBS_PASSWORD=<token secret>
//! // PBS_FINGERPRINT=ab:cd:…
//! let client = Client::from_env()?;
//! println!("PBS {}", client.version().await?.version);
//! let store = client.datastore(client.default_datastore().unwrap_or("store1"));
//! for ns in store.namespaces(None, None).await? {
//!     for group in store.groups(Some(&ns.ns)).await? {
//!         println!("{}/{} last {}", group.backup_type, group.backup_id, group.last_backup);
//!     }
//! }
//! let keep = KeepOptions::new().keep_daily(7).keep_weekly(4);
//! let plan = store
//!     .prune_group(&GroupRef::new(BackupType::Vm, "100"), &keep, PruneMode::DryRun)
//!     .await?;
//! println!("{} of {} would be removed", plan.iter().filter(|p| !p.keep).count(), plan.len());
//! let upid = store.start_gc().await?;
//! let done = client.wait_task(&upid, Duration::from_secs(3600)).await?;
//! println!("GC: {:?}", done.exitstatus);
//! # Ok(())
//! # }
//! ```
//!
//! # Crate features
//!
//! * `testing` (off by default): `testing::FakePbs`, an in-memory Proxmox Backup Server over
//!   real TLS on 127.0.0.1 (datastores, snapshots, tasks, jobs, expiring tickets, the real prune
//!   selection), used by this crate's tests and available to downstream tests. It pulls in
//!   axum, hyper, tokio-rustls and rcgen. Not covered by semver.
//!
//! There are no other features; TLS is rustls with the workspace's aws-lc-rs provider.

// Every public fallible function says how it fails (CONTRIBUTING.md, API conventions).
#![warn(clippy::missing_errors_doc)]

mod auth;
mod client;
mod datastore;
mod error;
mod fingerprint;
mod retry;
mod tls;
mod transport;
pub mod types;
mod upid;

#[cfg(feature = "testing")]
pub mod testing;

pub use auth::{Credentials, Repository};
pub use client::{
    Client, ClientBuilder, DEFAULT_TICKET_RENEW_AFTER, DEFAULT_TIMEOUT, JobKind, MAX_BLOB_BYTES,
};
pub use datastore::Datastore;
pub use error::{Error, Result};
pub use fingerprint::Fingerprint;
pub use retry::{BackoffConfig, RetryConfig};
pub use secrecy::SecretString;
pub use tls::TlsVerification;
pub use types::{
    BackupContent, BackupType, DataStoreListItem, DataStoreStatus, DataStoreUsage,
    GarbageCollectionJobStatus, GarbageCollectionStatus, GroupListItem, GroupRef, KeepOptions,
    NamespaceListItem, PruneDatastoreOptions, PruneJobStatus, PruneMode, PruneResult,
    SnapshotFilter, SnapshotListItem, StatusDetail, SyncJobStatus, TaskFilter, TaskListItem,
    TaskLog, TaskPage, TaskState, TaskStatus, VerificationJobStatus, VerifyOptions, VersionInfo,
};
pub use upid::{Upid, escape_id, unescape_id};

/// The README's example is compiled as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
