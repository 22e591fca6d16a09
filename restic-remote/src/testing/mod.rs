//! Real peers for tests (feature `testing`).
//!
//! [`Sshd`] starts a real OpenSSH `sshd` on a random loopback port with its own host key and a
//! freshly generated client key, so this crate's tests (and downstream users') exercise the real
//! SSH server, the real login shell and the real remote `restic`.

mod sshd;

pub use sshd::{DEFAULT_SSHD, ENCRYPTED_KEY_PASSPHRASE, Sshd, SshdError};
