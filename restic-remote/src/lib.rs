//! Drive restic locally or on remote hosts over SSH (russh), with typed commands and results.
//!
//! - [`Transport`]: where restic runs — [`Transport::local`] or an [`SshTransport`] (russh;
//!   key file or in-memory key, optional passphrase; host key checked against `known_hosts` or
//!   a pinned `SHA256:` fingerprint; one connection reused for every command).
//! - [`Repository`]: URI, password and backend variables (`AWS_*`), all
//!   [`secrecy::SecretString`]. They reach restic through standard input and its environment,
//!   never a command line (see [`script`]).
//! - [`Restic`]: typed commands (`version`, `init`, `backup` with progress events, `snapshots`,
//!   `forget`, `prune`, `check`, `restore`, streamed `ls`, `stats`, `unlock`) parsing restic's
//!   `--json` output of versions 0.14–0.19, with typed errors ([`Error::WrongPassword`],
//!   [`Error::NoRepository`], [`Error::LockHeld`], [`Error::IncompleteBackup`], …).
//! - [`SshTransport::exec`]: one fixed, fully quoted command on the host (no secret on its
//!   command line), output collected and bounded — for housekeeping beside restic.
//! - Dropping a running command (or its timeout, or a lost connection) interrupts the remote
//!   restic, which removes its lock; no restic outlives the connection. A timeout is returned
//!   once restic has exited, and the next command waits for dropped ones
//!   ([`Restic::settle`]).
//!
//! # Crate features
//!
//! - `testing` (off by default): `testing::Sshd`, a real OpenSSH `sshd` on a random loopback
//!   port with generated keys, for tests of this crate and of its users. Needs `sshd` and
//!   `ssh-keygen` installed; not covered by semver.
//!
//! # Example
//!
//! ```no_run
//! use futures::TryStreamExt as _;
//! use restic_remote::{BackupEvent, BackupOptions, ForgetOptions, Repository, Restic, SnapshotFilter, SshTransport};
//! use secrecy::SecretString;
//!
//! # async fn demo() -> restic_remote::Result<()> {
//! let ssh = SshTransport::builder("web1.example")
//!     .with_user("backup")
//!     .with_key_file("/etc/backup/id_ed25519")
//!     .with_known_hosts("/etc/backup/known_hosts")
//!     .connect()
//!     .await?;
//! let repo = Repository::new("s3:http://garage.example:3900/restic/web1", SecretString::from("repo password"))
//!     .with_s3_credentials(SecretString::from("GK…"), SecretString::from("…"), "garage");
//! let restic = Restic::builder().with_transport(ssh).with_repository(repo).build()?;
//!
//! if !restic.exists().await? {
//!     restic.init().await?;
//! }
//! let mut run = restic.backup(&BackupOptions::new(["/srv"]).with_tag("daily")).await?;
//! {
//!     let mut events = run.events();
//!     while let Some(event) = events.try_next().await? {
//!         if let BackupEvent::Status(s) = event {
//!             tracing::info!("{:.0}%", s.percent_done * 100.0);
//!         }
//!     }
//! }
//! let summary = run.finish().await?;
//! let snapshots = restic.snapshots(&SnapshotFilter::new()).await?;
//! restic.forget(&ForgetOptions::new().keep_daily(7).keep_weekly(4)).await?;
//! # let _ = (summary, snapshots);
//! # Ok(()) }
//! ```

mod client;
mod error;
mod options;
pub mod output;
mod records;
mod repository;
pub mod script;
mod transport;

#[cfg(feature = "testing")]
pub mod testing;

pub use client::{BackupRun, Restic, ResticBuilder, RestoreRun};
pub use error::{Error, Result};
pub use options::{
    BackupOptions, CheckOptions, ForgetOptions, KeepCount, PruneOptions, RestoreOptions,
    SnapshotFilter, StatsMode, UnlockMode,
};
pub use output::{
    BackupEvent, BackupStatus, BackupSummary, ForgetGroup, LsEntry, LsNode, NodeType,
    ResticVersion, RestoreEvent, Snapshot, Stats,
};
pub use repository::Repository;
pub use transport::{
    EXEC_OUTPUT_LIMIT, ExecOutput, HostKeyPolicy, LocalTransport, SshTransport,
    SshTransportBuilder, Transport,
};

/// The README's example is compiled as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
