//! The crate's error type.

use std::time::Duration;

use crate::output::{BackupSummary, LockInfo};

/// Everything that can go wrong driving restic.
///
/// Restic's own failures are typed where restic lets us tell them apart (by exit code from 0.17,
/// by message on older versions); everything else keeps restic's standard error, with every secret
/// of the repository scrubbed out of it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// There is no repository at the configured location (exit 10, or the message on < 0.17).
    #[error("no restic repository at the configured location: {message}")]
    NoRepository {
        /// restic's message.
        message: String,
    },
    /// The password is wrong or no key matched (exit 12, or the message on < 0.17.1).
    #[error("wrong repository password or no key found")]
    WrongPassword,
    /// The repository is locked by someone else (exit 11, or the message on < 0.17).
    ///
    /// `lock` describes the lock when restic printed it; [`LockInfo::stale`] says whether restic
    /// considered it stale (for example left behind by a restic that was killed).
    #[error("repository is locked{}", lock.as_ref().map(|l| format!(" by PID {} on {}{}", l.pid.unwrap_or(0), l.host.as_deref().unwrap_or("?"), if l.stale { " (stale)" } else { "" })).unwrap_or_default())]
    LockHeld {
        /// What restic said about the lock.
        lock: Option<Box<LockInfo>>,
        /// restic's message.
        message: String,
    },
    /// `backup` exited with 3: a snapshot was created, but some source data could not be read.
    #[error("backup incomplete: some source files could not be read ({} errors)", errors.len())]
    IncompleteBackup {
        /// The summary of the (incomplete) snapshot, if restic printed one.
        summary: Option<Box<BackupSummary>>,
        /// The per-item errors restic reported.
        errors: Vec<String>,
    },
    /// restic was interrupted (exit 130 or a signal).
    #[error("restic was interrupted")]
    Interrupted,
    /// restic failed in a way without a dedicated variant.
    #[error("restic {command} failed with {}: {stderr}", exit_description(*code, signal.as_deref()))]
    CommandFailed {
        /// The restic subcommand.
        command: String,
        /// The exit code, if the process exited.
        code: Option<u32>,
        /// The signal that killed it, if any.
        signal: Option<String>,
        /// restic's standard error (bounded, secrets scrubbed).
        stderr: String,
    },
    /// The command did not finish within its timeout; it was cancelled.
    #[error("restic {command} timed out after {after:?}")]
    Timeout {
        /// The restic subcommand.
        command: String,
        /// The timeout.
        after: Duration,
    },
    /// The SSH connection or channel closed before restic reported an exit status.
    #[error("connection lost while running restic {command}")]
    ConnectionLost {
        /// The restic subcommand.
        command: String,
    },
    /// TCP connect to the SSH server failed or timed out.
    #[error("cannot connect to {host}:{port}: {reason}")]
    Connect {
        /// Host.
        host: String,
        /// Port.
        port: u16,
        /// Why.
        reason: String,
    },
    /// The server's host key is unknown or differs from the expected one.
    #[error("host key of {host}:{port} refused ({presented}): {reason}")]
    HostKey {
        /// Host.
        host: String,
        /// Port.
        port: u16,
        /// The fingerprint the server presented (`SHA256:…`).
        presented: String,
        /// Why it was refused.
        reason: String,
    },
    /// The server refused the client key.
    #[error("SSH authentication as {user} refused by {host}")]
    AuthRejected {
        /// User.
        user: String,
        /// Host.
        host: String,
    },
    /// The client key could not be read or decrypted.
    #[error("cannot load SSH key: {0}")]
    Key(String),
    /// Another SSH protocol error.
    #[error("SSH error: {0}")]
    Ssh(#[source] russh::Error),
    /// Starting or talking to a local process failed.
    #[error("local process: {0}")]
    Io(#[source] std::io::Error),
    /// An argument or option cannot be passed safely (NUL byte, newline in a secret, …).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The configuration is incomplete or contradictory.
    #[error("configuration: {0}")]
    Config(String),
    /// The detected restic version cannot do what was asked.
    #[error("restic {version} does not support {feature}")]
    Unsupported {
        /// What was asked for.
        feature: String,
        /// The detected version.
        version: String,
    },
    /// restic printed more than this crate buffers: a standard-output line (or a whole
    /// collected output) longer than `limit` bytes. The command was cancelled.
    #[error("restic {command} printed more than {limit} bytes without a line break")]
    OutputTooLarge {
        /// The restic subcommand.
        command: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// A command run with [`crate::SshTransport::exec`] could not be run to its end: the server
    /// refused it, the connection was lost, or it outlived its timeout (its channel was closed).
    /// A command that ran and exited non-zero is not an error: see [`crate::ExecOutput`].
    #[error("{program} on the host: {reason}")]
    Exec {
        /// The program (first word of the command).
        program: String,
        /// What went wrong.
        reason: String,
    },
    /// restic printed output this crate could not parse.
    #[error("cannot parse restic {command} output: {reason}")]
    Parse {
        /// The restic subcommand.
        command: String,
        /// What went wrong.
        reason: String,
    },
}

fn exit_description(code: Option<u32>, signal: Option<&str>) -> String {
    match (code, signal) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(s)) => format!("signal {s}"),
        (None, None) => "no exit status".to_owned(),
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The repository does not exist (yet): `init` it.
    pub fn is_no_repository(&self) -> bool {
        matches!(self, Error::NoRepository { .. })
    }

    /// The password is wrong.
    pub fn is_wrong_password(&self) -> bool {
        matches!(self, Error::WrongPassword)
    }

    /// The repository is locked; see [`Error::LockHeld`].
    pub fn is_locked(&self) -> bool {
        matches!(self, Error::LockHeld { .. })
    }

    /// The repository is locked by a lock restic considers stale: `unlock` removes it.
    pub fn is_stale_lock(&self) -> bool {
        matches!(self, Error::LockHeld { lock: Some(l), .. } if l.stale)
    }

    /// The host key was refused.
    pub fn is_host_key(&self) -> bool {
        matches!(self, Error::HostKey { .. })
    }

    /// Retrying later may succeed (lock held, connection trouble, timeout).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::LockHeld { .. }
                | Error::ConnectionLost { .. }
                | Error::Connect { .. }
                | Error::Timeout { .. }
        )
    }
}
