//! Real peers for tests (feature `testing`).
//!
//! [`Sshd`] starts a real OpenSSH `sshd` on a random loopback port with its own host key and a
//! freshly generated client key, so this crate's tests (and downstream users') exercise the real
//! SSH server, the real login shell and the real remote `restic`: `Sshd::start().await?`, then
//! [`Sshd::client_builder`] for an [`SshTransportBuilder`](crate::SshTransportBuilder) already
//! pointed at it.
//!
//! This module is for tests. It is not covered by semver: it may change in any release.

mod sshd;

pub use sshd::{DEFAULT_SSHD, ENCRYPTED_KEY_PASSPHRASE, Sshd, SshdError};
