//! The crate's error type.

/// Everything that can go wrong in this crate: parsing configuration, schedules, policies and
/// refusing retention plans that would lose data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The matrix TOML is malformed or does not match the format (unknown fields are rejected).
    #[error("{origin}:{line}:{column}: {message}")]
    Config {
        /// Where the TOML came from (a file name, or `<embedded>`).
        origin: String,
        /// 1-based line of the offending item (0 if unknown).
        line: usize,
        /// 1-based column of the offending item (0 if unknown).
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The matrix parsed but is inconsistent (duplicate names, unknown storage, bad schedule...).
    #[error("invalid matrix: {0}")]
    Matrix(String),
    /// A cron expression or calendar event could not be parsed.
    #[error("invalid schedule {expr:?}: {message}")]
    Schedule {
        /// The expression as written.
        expr: String,
        /// Why it was rejected.
        message: String,
    },
    /// A retention policy or one of its values is invalid (bad duration, negative count...).
    #[error("invalid policy: {0}")]
    Policy(String),
    /// The policy keeps nothing at all; applying it would remove every snapshot.
    #[error("no policy was specified, refusing to remove all snapshots")]
    EmptyPolicy,
    /// Applying the policy would delete every snapshot of a group (restic ≥ 0.17 refuses too).
    #[error("refusing to delete last snapshot of snapshot group {group}")]
    WouldRemoveAll {
        /// The group key, as restic prints it.
        group: String,
    },
    /// A timestamp could not be parsed or is out of range.
    #[error("invalid time {input:?}: {message}")]
    Time {
        /// The text that was parsed.
        input: String,
        /// Why it was rejected.
        message: String,
    },
}

impl Error {
    /// True if the error is about the configuration text (syntax, unknown fields, consistency).
    pub fn is_config(&self) -> bool {
        matches!(self, Error::Config { .. } | Error::Matrix(_))
    }

    /// True if the error is a refusal to lose data (empty policy or a group losing every snapshot).
    pub fn is_refusal(&self) -> bool {
        matches!(self, Error::EmptyPolicy | Error::WouldRemoveAll { .. })
    }

    /// The 1-based `(line, column)` of a configuration error, when known.
    pub fn line_column(&self) -> Option<(usize, usize)> {
        match self {
            Error::Config { line, column, .. } if *line > 0 => Some((*line, *column)),
            _ => None,
        }
    }

    pub(crate) fn policy(msg: impl Into<String>) -> Self {
        Error::Policy(msg.into())
    }
}

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
