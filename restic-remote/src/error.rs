//! The crate's error type.

use std::time::Duration;

use crate::records::{BackupSummary, LockInfo};

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
    /// Reaching the SSH server failed: TCP connect, or connect + handshake + authentication
    /// outlived the connect timeout.
    #[error("cannot connect to {host}:{port}: {reason}")]
    Transport {
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
    /// restic printed output this crate could not decode.
    #[error("cannot decode restic {command} output{}: {reason}", path.as_deref().map(|p| format!(" at {p}")).unwrap_or_default())]
    Decode {
        /// The restic subcommand.
        command: String,
        /// The JSON path of the field that did not decode (`summary.files_new`, `[0].time`),
        /// when the output was JSON and the failure was inside it.
        path: Option<String>,
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
    /// An HTTP-like status code: always `None`, as restic-remote speaks SSH and runs processes.
    /// restic's own exit code is [`Self::exit_code`]. Present so that code handling the errors
    /// of every client crate alike can ask each the same question.
    pub fn status(&self) -> Option<u16> {
        None
    }

    /// restic's exit code, where the error carries it: [`Error::CommandFailed`] (when restic
    /// exited rather than being killed) and [`Error::IncompleteBackup`] (3). The typed
    /// failures ([`Error::NoRepository`], [`Error::WrongPassword`], [`Error::LockHeld`]) do not
    /// carry one: restic < 0.17 exits 1 for all of them.
    pub fn exit_code(&self) -> Option<u32> {
        match self {
            Error::CommandFailed { code, .. } => *code,
            Error::IncompleteBackup { .. } => Some(3),
            _ => None,
        }
    }

    /// Something asked for does not exist: no repository at the location (unless the message
    /// says permission was denied), or no snapshot matches the given id or filter.
    pub fn is_not_found(&self) -> bool {
        (self.is_no_repository() && !self.is_permission_denied()) || self.is_snapshot_not_found()
    }

    /// The credentials were refused: the repository password is wrong
    /// ([`Error::WrongPassword`]) or the SSH server refused the key ([`Error::AuthRejected`]).
    pub fn is_unauthenticated(&self) -> bool {
        matches!(self, Error::WrongPassword | Error::AuthRejected { .. })
    }

    /// Authenticated but not allowed: restic (or the shell starting it) reported `permission
    /// denied` (a repository directory or lock file the remote user cannot open), the S3 backend
    /// answered `Access Denied`, or starting the local process was refused.
    pub fn is_permission_denied(&self) -> bool {
        let says = |text: &str| {
            let t = text.to_ascii_lowercase();
            t.contains("permission denied") || t.contains("access denied")
        };
        match self {
            Error::CommandFailed { stderr, .. } => says(stderr),
            Error::NoRepository { message } => says(message),
            Error::Io(e) => e.kind() == std::io::ErrorKind::PermissionDenied,
            _ => false,
        }
    }

    /// No snapshot matched the id or filter given (`no matching ID found for prefix …`,
    /// `no snapshot found`); restic has no exit code of its own for this.
    pub fn is_snapshot_not_found(&self) -> bool {
        matches!(self, Error::CommandFailed { stderr, .. }
            if stderr.contains("no matching ID found")
                || stderr.contains("no snapshot found")
                || stderr.contains("no snapshot matched"))
    }

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
                | Error::Transport { .. }
                | Error::Timeout { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::map_failure;
    use crate::output::ResticVersion;

    /// A failure of restic 0.14 (exit 1 for everything) with the message restic printed.
    fn v14(command: &str, stderr: &str) -> Error {
        map_failure(
            command,
            Some(&ResticVersion::new(0, 14, 0)),
            Some(1),
            None,
            stderr.to_owned(),
        )
    }

    #[test]
    fn status_is_none_and_exit_code_is_restic_s() {
        let failed = v14("check", "Fatal: repository contains errors");
        assert_eq!((failed.status(), failed.exit_code()), (None, Some(1)));
        let incomplete = Error::IncompleteBackup {
            summary: None,
            errors: Vec::new(),
        };
        assert_eq!(incomplete.exit_code(), Some(3));
        let killed = map_failure("backup", None, None, Some("KILL".into()), String::new());
        assert_eq!((killed.status(), killed.exit_code()), (None, None));
        assert_eq!(Error::WrongPassword.exit_code(), None);
    }

    #[test]
    fn not_found_is_a_missing_repository_or_snapshot() {
        // restic 0.14's own messages.
        let no_repo = v14(
            "snapshots",
            "Fatal: unable to open config file: stat /x/config: no such file or directory\n\
             Is there a repository at the following location?\n/x\n",
        );
        assert!(no_repo.is_not_found() && no_repo.is_no_repository());
        let modern = map_failure(
            "snapshots",
            Some(&ResticVersion::new(0, 17, 3)),
            Some(10),
            None,
            String::new(),
        );
        assert!(modern.is_not_found());
        let snap = v14(
            "restore",
            "invalid id \"deadbeef\": no matching ID found for prefix \"deadbeef\"\n",
        );
        assert!(snap.is_not_found() && snap.is_snapshot_not_found() && !snap.is_no_repository());
        let snap17 = map_failure(
            "ls",
            Some(&ResticVersion::new(0, 17, 3)),
            Some(1),
            None,
            "Fatal: failed to find snapshot: no snapshot found\n".into(),
        );
        assert!(snap17.is_not_found());
        for other in [
            v14("check", "Fatal: repository contains errors"),
            Error::WrongPassword,
            Error::Interrupted,
        ] {
            assert!(!other.is_not_found(), "{other:?}");
        }
    }

    #[test]
    fn unauthenticated_is_a_wrong_password_or_a_refused_key() {
        assert!(v14("snapshots", "Fatal: wrong password or no key found\n").is_unauthenticated());
        let refused = Error::AuthRejected {
            user: "backup".into(),
            host: "web1".into(),
        };
        assert!(refused.is_unauthenticated());
        assert!(!v14("check", "Fatal: repository contains errors").is_unauthenticated());
        assert!(!Error::Key("bad passphrase".into()).is_unauthenticated());
    }

    #[test]
    fn permission_denied_from_restic_s_message_or_the_os() {
        // restic 0.14 run as a user that cannot read the repository directory.
        let denied = v14(
            "snapshots",
            "Fatal: unable to open repository at /srv/repo: ReadDir: open /srv/repo/keys: \
             permission denied\n",
        );
        assert!(
            denied.is_permission_denied() && !denied.is_not_found(),
            "{denied:?}"
        );
        // A message restic < 0.17 makes look like a missing repository.
        let hidden = v14(
            "snapshots",
            "Fatal: unable to open config file: Stat: stat /srv/repo/config: permission denied\n\
             Is there a repository at the following location?\n/srv/repo\n",
        );
        assert!(hidden.is_no_repository() && hidden.is_permission_denied());
        assert!(!hidden.is_not_found());
        let s3 = v14(
            "init",
            "Fatal: create repository at s3:… failed: Access Denied.\n",
        );
        assert!(s3.is_permission_denied());
        let io = Error::Io(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert!(io.is_permission_denied());
        assert!(!Error::WrongPassword.is_permission_denied());
    }

    #[test]
    fn retryable_is_transient_trouble_only() {
        let lock = v14(
            "prune",
            "unable to create lock in backend: repository is already locked by PID 7 on h by u \
             (UID 0, GID 0)\nlock was created at 2026-11-27 05:00:00 (5m1s ago)\n",
        );
        assert!(lock.is_retryable() && lock.is_locked());
        let transport = Error::Transport {
            host: "127.0.0.1".into(),
            port: 22,
            reason: "connection refused".into(),
        };
        assert!(transport.is_retryable());
        let timeout = Error::Timeout {
            command: "backup".into(),
            after: Duration::from_secs(1),
        };
        assert!(timeout.is_retryable());
        for no in [
            Error::WrongPassword,
            v14("check", "Fatal: repository contains errors"),
            Error::Config("x".into()),
        ] {
            assert!(!no.is_retryable(), "{no:?}");
        }
    }

    #[test]
    fn decode_names_the_json_path() {
        let err =
            crate::output::parse_backup_line(br#"{"message_type":"summary","files_new":"many"}"#)
                .unwrap_err();
        match &err {
            Error::Decode { command, path, .. } => {
                assert_eq!(
                    (command.as_str(), path.as_deref()),
                    ("backup", Some("files_new"))
                );
            }
            e => panic!("expected Decode, got {e:?}"),
        }
        assert!(err.to_string().contains(" at files_new"), "{err}");
    }
}
