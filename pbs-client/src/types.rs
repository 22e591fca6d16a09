//! Request options and response types of the PBS API (`/api2/json`), kebab-case like PBS.
//!
//! Every struct ignores unknown fields and every enum keeps unknown server values in an
//! `Unknown(String)` variant, so newer PBS versions keep parsing.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this crate does not know yet.
            Unknown(String),
        }

        impl $name {
            /// The wire representation.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Unknown(s) => s,
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $($text => $name::$variant,)+
                    other => $name::Unknown(other.to_owned()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok($name::from(s.as_str()))
            }
        }
    };
}

string_enum! {
    /// Backup type of a group.
    BackupType {
        /// A virtual machine.
        Vm = "vm",
        /// A container.
        Ct = "ct",
        /// A host (file-level) backup.
        Host = "host",
    }
}

string_enum! {
    /// Result of the last verification of a snapshot.
    VerifyState {
        /// Verified successfully.
        Ok = "ok",
        /// Verification found errors.
        Failed = "failed",
    }
}

string_enum! {
    /// Encryption mode of a file in a snapshot.
    CryptMode {
        /// Not encrypted.
        None = "none",
        /// Encrypted.
        Encrypt = "encrypt",
        /// Signed only.
        SignOnly = "sign-only",
    }
}

string_enum! {
    /// Whether a task is still running.
    RunningState {
        /// Running.
        Running = "running",
        /// Stopped (see the exit status).
        Stopped = "stopped",
    }
}

string_enum! {
    /// Status filter for the task list.
    TaskStatusFilter {
        /// Tasks that ended OK.
        Ok = "ok",
        /// Tasks that ended with warnings.
        Warning = "warning",
        /// Tasks that failed.
        Error = "error",
        /// Tasks whose state is unknown.
        UnknownState = "unknown",
    }
}

/// The end state of a task: PBS prints `OK`, `WARNINGS: <n>`, `unknown`, or the error message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskState {
    /// The task succeeded.
    Ok,
    /// The task succeeded with this many warnings.
    Warnings(u64),
    /// The state could not be determined (e.g. the server restarted while it ran).
    Unknown,
    /// The task failed with this message.
    Error(String),
}

impl TaskState {
    /// True for `OK` and `WARNINGS: n`, like proxmox-backup-client.
    pub fn is_success(&self) -> bool {
        matches!(self, TaskState::Ok | TaskState::Warnings(_))
    }
}

impl From<&str> for TaskState {
    fn from(s: &str) -> Self {
        if s == "OK" {
            TaskState::Ok
        } else if s == "unknown" {
            TaskState::Unknown
        } else if let Some(n) = s.strip_prefix("WARNINGS: ")
            && let Ok(n) = n.trim().parse()
        {
            TaskState::Warnings(n)
        } else {
            TaskState::Error(s.to_owned())
        }
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskState::Ok => f.write_str("OK"),
            TaskState::Warnings(n) => write!(f, "WARNINGS: {n}"),
            TaskState::Unknown => f.write_str("unknown"),
            TaskState::Error(m) => f.write_str(m),
        }
    }
}

impl Serialize for TaskState {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TaskState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(TaskState::from(s.as_str()))
    }
}

/// `GET /version`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VersionInfo {
    /// `MAJOR.MINOR`, e.g. `3.2`.
    pub version: String,
    /// Patch release, e.g. `4`.
    pub release: String,
    /// Git commit of the build.
    pub repoid: String,
}

/// An item of `GET /admin/datastore`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct DataStoreListItem {
    /// Datastore name.
    pub store: String,
    /// Comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// Maintenance mode, e.g. `type=read-only`.
    #[serde(default)]
    pub maintenance: Option<String>,
    /// `mounted`, `notmounted` or `nonremovable` (PBS 3.3+).
    #[serde(default)]
    pub mount_status: Option<String>,
    /// `filesystem` or `s3` (PBS 4).
    #[serde(default)]
    pub backend_type: Option<String>,
}

/// Garbage collection statistics.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
#[non_exhaustive]
pub struct GarbageCollectionStatus {
    /// UPID of the last GC task.
    pub upid: Option<String>,
    /// Index files processed.
    pub index_file_count: u64,
    /// Bytes referenced by the indexes.
    pub index_data_bytes: u64,
    /// Bytes on disk.
    pub disk_bytes: u64,
    /// Chunks on disk.
    pub disk_chunks: u64,
    /// Bytes removed.
    pub removed_bytes: u64,
    /// Chunks removed.
    pub removed_chunks: u64,
    /// Bytes pending removal.
    pub pending_bytes: u64,
    /// Chunks pending removal.
    pub pending_chunks: u64,
    /// Bad chunks removed.
    pub removed_bad: u64,
    /// Bad chunks still present.
    pub still_bad: u64,
}

/// `GET /admin/datastore/{store}/gc` and items of `/admin/gc`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct GarbageCollectionJobStatus {
    /// Datastore name. PBS before 3.2.2 answers `GET …/gc` with the bare statistics: no
    /// `store`, schedule or last-run fields [proxmox-backup fe1d34d2 "api: garbage collect job
    /// status"].
    #[serde(default)]
    pub store: Option<String>,
    /// The statistics of the last run.
    #[serde(flatten)]
    pub status: GarbageCollectionStatus,
    /// GC schedule (calendar event).
    #[serde(default)]
    pub schedule: Option<String>,
    /// Next scheduled run, epoch seconds.
    #[serde(default)]
    pub next_run: Option<i64>,
    /// End of the last run, epoch seconds.
    #[serde(default)]
    pub last_run_endtime: Option<i64>,
    /// State of the last run.
    #[serde(default)]
    pub last_run_state: Option<TaskState>,
    /// Duration of the last run in seconds.
    #[serde(default)]
    pub duration: Option<i64>,
}

/// Group and snapshot counts of one backup type.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
#[non_exhaustive]
pub struct TypeCounts {
    /// Number of groups.
    pub groups: u64,
    /// Number of snapshots.
    pub snapshots: u64,
}

/// Counts per backup type.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
#[non_exhaustive]
pub struct Counts {
    /// Containers.
    pub ct: Option<TypeCounts>,
    /// Hosts.
    pub host: Option<TypeCounts>,
    /// Virtual machines.
    pub vm: Option<TypeCounts>,
    /// Other types.
    pub other: Option<TypeCounts>,
}

/// `GET /admin/datastore/{store}/status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct DataStoreStatus {
    /// Total bytes (0 without Audit privilege).
    pub total: u64,
    /// Used bytes.
    pub used: u64,
    /// Available bytes.
    pub avail: u64,
    /// GC status (verbose only).
    #[serde(default)]
    pub gc_status: Option<GarbageCollectionStatus>,
    /// Counts (verbose only).
    #[serde(default)]
    pub counts: Option<Counts>,
}

/// An item of `GET /status/datastore-usage`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct DataStoreUsage {
    /// Datastore name.
    pub store: String,
    /// Total bytes.
    #[serde(default)]
    pub total: Option<u64>,
    /// Used bytes.
    #[serde(default)]
    pub used: Option<u64>,
    /// Available bytes.
    #[serde(default)]
    pub avail: Option<u64>,
    /// Usage history (fractions, `null` for gaps).
    #[serde(default)]
    pub history: Option<Vec<Option<f64>>>,
    /// Epoch of the first history point.
    #[serde(default)]
    pub history_start: Option<u64>,
    /// Seconds between history points.
    #[serde(default)]
    pub history_delta: Option<u64>,
    /// Estimated epoch when the store is full (past or 0 = not filling).
    #[serde(default)]
    pub estimated_full_date: Option<i64>,
    /// Error reading the store's status.
    #[serde(default)]
    pub error: Option<String>,
    /// Last GC status.
    #[serde(default)]
    pub gc_status: Option<GarbageCollectionStatus>,
}

/// An item of `GET /admin/datastore/{store}/namespace`; the root namespace is `""`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NamespaceListItem {
    /// Namespace path (`a/b`), `""` for the root.
    pub ns: String,
    /// Comment.
    #[serde(default)]
    pub comment: Option<String>,
}

/// An item of `GET /admin/datastore/{store}/groups`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct GroupListItem {
    /// Backup type.
    pub backup_type: BackupType,
    /// Backup id (e.g. the VM id).
    pub backup_id: String,
    /// Time of the newest snapshot, epoch seconds.
    pub last_backup: i64,
    /// Number of snapshots.
    pub backup_count: u64,
    /// Files of the newest snapshot.
    #[serde(default)]
    pub files: Vec<String>,
    /// Owner (`user@realm` or `user@realm!token`).
    #[serde(default)]
    pub owner: Option<String>,
    /// First line of the group notes.
    #[serde(default)]
    pub comment: Option<String>,
}

/// Verification state of a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SnapshotVerifyState {
    /// Result.
    pub state: VerifyState,
    /// UPID of the verify task.
    pub upid: String,
}

/// A file of a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct BackupContent {
    /// File name, e.g. `drive-scsi0.img.fidx`.
    pub filename: String,
    /// Encryption mode.
    #[serde(default)]
    pub crypt_mode: Option<CryptMode>,
    /// Size in bytes.
    #[serde(default)]
    pub size: Option<u64>,
}

/// An item of `GET /admin/datastore/{store}/snapshots`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct SnapshotListItem {
    /// Backup type.
    pub backup_type: BackupType,
    /// Backup id.
    pub backup_id: String,
    /// Snapshot time, epoch seconds.
    pub backup_time: i64,
    /// First line of the snapshot notes.
    #[serde(default)]
    pub comment: Option<String>,
    /// Last verification.
    #[serde(default)]
    pub verification: Option<SnapshotVerifyState>,
    /// Fingerprint of the encryption key.
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// Files in the snapshot.
    #[serde(default)]
    pub files: Vec<BackupContent>,
    /// Total size in bytes.
    #[serde(default)]
    pub size: Option<u64>,
    /// Owner of the group.
    #[serde(default)]
    pub owner: Option<String>,
    /// Protected from pruning.
    #[serde(default)]
    pub protected: bool,
}

/// An item of the answer of `POST /admin/datastore/{store}/prune`, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct PruneResult {
    /// Backup type.
    pub backup_type: BackupType,
    /// Backup id.
    pub backup_id: String,
    /// Snapshot time, epoch seconds.
    pub backup_time: i64,
    /// Kept (true) or removed (false).
    pub keep: bool,
    /// Protected snapshot (always kept).
    #[serde(default)]
    pub protected: bool,
    /// Namespace (only for non-root namespaces).
    #[serde(default)]
    pub ns: Option<String>,
}

/// An item of `GET /nodes/localhost/tasks` (snake_case fields, like PBS).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskListItem {
    /// The UPID string (see [`crate::Upid`]).
    pub upid: String,
    /// Node (always `localhost`).
    pub node: String,
    /// Worker pid.
    pub pid: i64,
    /// Process start ticks.
    pub pstart: u64,
    /// Start time, epoch seconds.
    pub starttime: i64,
    /// Worker type.
    pub worker_type: String,
    /// Worker id.
    #[serde(default)]
    pub worker_id: Option<String>,
    /// Auth id that started the task.
    pub user: String,
    /// End time (absent while running).
    #[serde(default)]
    pub endtime: Option<i64>,
    /// End state (absent while running).
    #[serde(default)]
    pub status: Option<TaskState>,
}

/// `GET /nodes/localhost/tasks/{upid}/status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskStatus {
    /// The UPID string.
    pub upid: String,
    /// Node.
    pub node: String,
    /// Worker pid.
    pub pid: i64,
    /// Process start ticks.
    pub pstart: u64,
    /// Start time, epoch seconds.
    pub starttime: i64,
    /// Worker type.
    #[serde(rename = "type")]
    pub worker_type: String,
    /// Worker id.
    #[serde(rename = "id", default)]
    pub worker_id: Option<String>,
    /// User that started the task.
    pub user: String,
    /// Token name, if a token started it.
    #[serde(default)]
    pub tokenid: Option<String>,
    /// `running` or `stopped`.
    pub status: RunningState,
    /// End state once stopped.
    #[serde(default)]
    pub exitstatus: Option<TaskState>,
}

impl TaskStatus {
    /// True while the task runs.
    pub fn is_running(&self) -> bool {
        self.status == RunningState::Running
    }
}

/// One task log line (`n` is 1-based).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskLogLine {
    /// Line number, starting at 1.
    pub n: u64,
    /// Text.
    pub t: String,
}

impl TaskLogLine {
    /// Splits PBS's `"<RFC 3339 time>: "` prefix off the line (the worker's file logger writes
    /// every line so, in the server's local offset, e.g. `2024-03-31T04:00:00+02:00: TASK OK`).
    fn split(&self) -> (Option<jiff::Timestamp>, &str) {
        match self.t.split_once(": ") {
            Some((time, rest)) => match time.parse::<jiff::Timestamp>() {
                Ok(ts) => (Some(ts), rest),
                Err(_) => (None, &self.t),
            },
            None => (None, &self.t),
        }
    }

    /// When PBS wrote the line (its time prefix), or `None` for a line without one.
    pub fn time(&self) -> Option<jiff::Timestamp> {
        self.split().0
    }

    /// The text after the time prefix (the whole line when there is none).
    pub fn message(&self) -> &str {
        self.split().1
    }

    /// The task result when this line is a result line: `TASK OK`, `TASK WARNINGS: n`,
    /// `TASK unknown` or `TASK ERROR: msg` (read like PBS's `upid_read_status`, which only looks
    /// at a finished task's last line; see [`TaskLog::end_state`]).
    pub fn task_state(&self) -> Option<TaskState> {
        let rest = self.message().strip_prefix("TASK ")?;
        if rest.is_empty() {
            return None;
        }
        if let Some(msg) = rest.strip_prefix("ERROR: ") {
            return Some(TaskState::Error(msg.to_owned()));
        }
        Some(TaskState::from(rest))
    }
}

/// A page of a task log.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskLog {
    /// The lines.
    pub lines: Vec<TaskLogLine>,
    /// Total number of lines.
    pub total: u64,
    /// Whether the task is still running (when requested with `test-status`).
    pub active: Option<bool>,
}

impl TaskLog {
    /// The result written on the last line of a finished task's log, when this page holds that
    /// line (`None` while the task is reported active or before the last page).
    pub fn end_state(&self) -> Option<TaskState> {
        if self.active == Some(true) {
            return None;
        }
        let last = self.lines.last()?;
        (last.n == self.total).then(|| last.task_state()).flatten()
    }
}

/// One page of `GET /nodes/localhost/tasks`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskPage {
    /// The tasks: running ones first, then finished ones, newest first.
    pub tasks: Vec<TaskListItem>,
    /// The offset this page starts at (the filter's `start`).
    pub start: u64,
    /// PBS's `total`, which is **not** the number of matching tasks: it is ExtJS paging,
    /// `start + tasks.len()`, plus one when the page is full to say "there are more"
    /// (proxmox-backup `src/api2/node/tasks.rs`, `list_tasks`).
    pub total: u64,
}

impl TaskPage {
    /// True when the server says another page follows.
    pub fn has_more(&self) -> bool {
        !self.tasks.is_empty() && self.total > self.start + self.tasks.len() as u64
    }
}

/// Schedule state shared by job status answers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
#[non_exhaustive]
pub struct JobScheduleStatus {
    /// Next run, epoch seconds (`None` if disabled or unscheduled).
    pub next_run: Option<i64>,
    /// State of the last run.
    pub last_run_state: Option<TaskState>,
    /// UPID of the last run.
    pub last_run_upid: Option<String>,
    /// End of the last run, epoch seconds.
    pub last_run_endtime: Option<i64>,
}

/// Prune keep options. PBS applies them last → hourly → daily → weekly → monthly → yearly;
/// `None` omits an option (PBS rejects 0).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
#[non_exhaustive]
pub struct KeepOptions {
    /// Keep the last n snapshots.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_last: Option<u64>,
    /// Keep one per hour for n hours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_hourly: Option<u64>,
    /// Keep one per day for n days.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_daily: Option<u64>,
    /// Keep one per ISO week for n weeks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_weekly: Option<u64>,
    /// Keep one per month for n months.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_monthly: Option<u64>,
    /// Keep one per year for n years.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_yearly: Option<u64>,
}

impl KeepOptions {
    /// No options (PBS then keeps everything).
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets keep-last (restic's `--keep-last`).
    pub fn keep_last(mut self, n: u64) -> Self {
        self.keep_last = Some(n);
        self
    }
    /// Sets keep-hourly (restic's `--keep-hourly`).
    pub fn keep_hourly(mut self, n: u64) -> Self {
        self.keep_hourly = Some(n);
        self
    }
    /// Sets keep-daily (restic's `--keep-daily`).
    pub fn keep_daily(mut self, n: u64) -> Self {
        self.keep_daily = Some(n);
        self
    }
    /// Sets keep-weekly (restic's `--keep-weekly`).
    pub fn keep_weekly(mut self, n: u64) -> Self {
        self.keep_weekly = Some(n);
        self
    }
    /// Sets keep-monthly (restic's `--keep-monthly`).
    pub fn keep_monthly(mut self, n: u64) -> Self {
        self.keep_monthly = Some(n);
        self
    }
    /// Sets keep-yearly (restic's `--keep-yearly`).
    pub fn keep_yearly(mut self, n: u64) -> Self {
        self.keep_yearly = Some(n);
        self
    }
    /// True when at least one option is a positive count (otherwise PBS keeps everything).
    pub fn keeps_something(&self) -> bool {
        [
            self.keep_last,
            self.keep_hourly,
            self.keep_daily,
            self.keep_weekly,
            self.keep_monthly,
            self.keep_yearly,
        ]
        .iter()
        .any(|o| o.is_some_and(|n| n > 0))
    }
}

/// An item of `GET /admin/prune`: a prune job and its last-run state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct PruneJobStatus {
    /// Job id.
    pub id: String,
    /// Datastore.
    pub store: String,
    /// Disabled.
    #[serde(default)]
    pub disable: bool,
    /// Schedule (calendar event).
    pub schedule: String,
    /// Comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// Namespace.
    #[serde(default)]
    pub ns: Option<String>,
    /// Namespace recursion depth.
    #[serde(default)]
    pub max_depth: Option<u64>,
    /// Keep options.
    #[serde(flatten)]
    pub keep: KeepOptions,
    /// Schedule state.
    #[serde(flatten)]
    pub state: JobScheduleStatus,
}

/// An item of `GET /admin/verify`: a verification job and its last-run state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct VerificationJobStatus {
    /// Job id.
    pub id: String,
    /// Datastore.
    pub store: String,
    /// Skip snapshots verified before (PBS default true).
    #[serde(default)]
    pub ignore_verified: Option<bool>,
    /// Re-verify after this many days.
    #[serde(default)]
    pub outdated_after: Option<i64>,
    /// Comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// Schedule.
    #[serde(default)]
    pub schedule: Option<String>,
    /// Namespace.
    #[serde(default)]
    pub ns: Option<String>,
    /// Namespace recursion depth.
    #[serde(default)]
    pub max_depth: Option<u64>,
    /// Schedule state.
    #[serde(flatten)]
    pub state: JobScheduleStatus,
}

/// An item of `GET /admin/sync`: a sync job and its last-run state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct SyncJobStatus {
    /// Job id.
    pub id: String,
    /// Local datastore.
    pub store: String,
    /// Local namespace.
    #[serde(default)]
    pub ns: Option<String>,
    /// Owner of synced groups.
    #[serde(default)]
    pub owner: Option<String>,
    /// Remote (none = local sync).
    #[serde(default)]
    pub remote: Option<String>,
    /// Remote datastore.
    pub remote_store: String,
    /// Remote namespace.
    #[serde(default)]
    pub remote_ns: Option<String>,
    /// Remove groups that vanished on the source.
    #[serde(default)]
    pub remove_vanished: Option<bool>,
    /// Namespace recursion depth.
    #[serde(default)]
    pub max_depth: Option<u64>,
    /// Comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// Schedule.
    #[serde(default)]
    pub schedule: Option<String>,
    /// Group filters (`[exclude:|include:]type:vm|group:…|regex:…`).
    #[serde(default)]
    pub group_filter: Option<Vec<String>>,
    /// Only the last n snapshots per group.
    #[serde(default)]
    pub transfer_last: Option<u64>,
    /// `pull` or `push` (PBS 4).
    #[serde(default)]
    pub sync_direction: Option<String>,
    /// Schedule state.
    #[serde(flatten)]
    pub state: JobScheduleStatus,
}

/// Snapshot list filter (`ns`, `backup-type`, `backup-id`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SnapshotFilter {
    /// Namespace (`None` = root). Listing is not recursive.
    pub ns: Option<String>,
    /// Only this backup type.
    pub backup_type: Option<BackupType>,
    /// Only this backup id.
    pub backup_id: Option<String>,
}

impl SnapshotFilter {
    /// All snapshots of the root namespace.
    pub fn new() -> Self {
        Self::default()
    }
    /// In this namespace.
    pub fn with_ns(mut self, ns: impl Into<String>) -> Self {
        self.ns = Some(ns.into());
        self
    }
    /// Only this group.
    pub fn with_group(mut self, backup_type: BackupType, backup_id: impl Into<String>) -> Self {
        self.backup_type = Some(backup_type);
        self.backup_id = Some(backup_id.into());
        self
    }

    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        push_opt(&mut q, "ns", self.ns.clone());
        push_opt(
            &mut q,
            "backup-type",
            self.backup_type.as_ref().map(|t| t.to_string()),
        );
        push_opt(&mut q, "backup-id", self.backup_id.clone());
        q
    }
}

/// Identifies one backup group.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupRef {
    /// Namespace (`None` = root).
    pub ns: Option<String>,
    /// Backup type.
    pub backup_type: BackupType,
    /// Backup id.
    pub backup_id: String,
}

impl GroupRef {
    /// A group in the root namespace.
    pub fn new(backup_type: BackupType, backup_id: impl Into<String>) -> Self {
        GroupRef {
            ns: None,
            backup_type,
            backup_id: backup_id.into(),
        }
    }
    /// In this namespace.
    pub fn with_ns(mut self, ns: impl Into<String>) -> Self {
        self.ns = Some(ns.into());
        self
    }
}

/// Whether a prune removes snapshots or only reports what it would remove.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PruneMode {
    /// Remove the snapshots the keep options do not keep.
    #[default]
    Remove,
    /// Remove nothing: only answer (or log) the keep/remove decisions.
    DryRun,
}

impl PruneMode {
    /// True for [`PruneMode::DryRun`].
    pub fn is_dry_run(self) -> bool {
        self == PruneMode::DryRun
    }
}

/// How much `GET /admin/datastore/{store}/status` reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum StatusDetail {
    /// Sizes only (total, used, available).
    #[default]
    Summary,
    /// Sizes plus the GC status and the group and snapshot counts (`verbose=true`).
    Verbose,
}

/// Options of `POST /admin/datastore/{store}/prune-datastore`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct PruneDatastoreOptions {
    /// Keep options.
    #[serde(flatten)]
    pub keep: KeepOptions,
    /// Start namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ns: Option<String>,
    /// Recursion depth.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_depth: Option<u64>,
    /// Only log what would be removed (see [`PruneDatastoreOptions::with_mode`]).
    pub dry_run: bool,
}

impl PruneDatastoreOptions {
    /// Prune the whole datastore with these keep options.
    pub fn new(keep: KeepOptions) -> Self {
        PruneDatastoreOptions {
            keep,
            ..Default::default()
        }
    }
    /// Remove, or only log what would be removed ([`PruneMode::DryRun`]).
    pub fn with_mode(mut self, mode: PruneMode) -> Self {
        self.dry_run = mode.is_dry_run();
        self
    }
    /// Start at this namespace.
    pub fn with_ns(mut self, ns: impl Into<String>) -> Self {
        self.ns = Some(ns.into());
        self
    }
    /// Limit the namespace depth.
    pub fn with_max_depth(mut self, depth: u64) -> Self {
        self.max_depth = Some(depth);
        self
    }
}

/// Options of `POST /admin/datastore/{store}/verify`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct VerifyOptions {
    /// Namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ns: Option<String>,
    /// Only this backup type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_type: Option<BackupType>,
    /// Only this backup id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_id: Option<String>,
    /// Only this snapshot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_time: Option<i64>,
    /// Skip already verified snapshots (PBS default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_verified: Option<bool>,
    /// Re-verify snapshots verified more than this many days ago.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outdated_after: Option<i64>,
    /// Namespace recursion depth.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_depth: Option<u64>,
}

impl VerifyOptions {
    /// Verify the whole datastore.
    pub fn new() -> Self {
        Self::default()
    }
    /// Only this group.
    pub fn with_group(mut self, group: &GroupRef) -> Self {
        self.ns = group.ns.clone();
        self.backup_type = Some(group.backup_type.clone());
        self.backup_id = Some(group.backup_id.clone());
        self
    }
    /// Also re-verify already verified snapshots.
    pub fn with_ignore_verified(mut self, ignore: bool) -> Self {
        self.ignore_verified = Some(ignore);
        self
    }
}

/// Filter of `GET /nodes/localhost/tasks`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskFilter {
    /// Skip this many tasks.
    pub start: Option<u64>,
    /// At most this many (PBS default 50, 0 = all).
    pub limit: Option<u64>,
    /// Only tasks of this datastore.
    pub store: Option<String>,
    /// Only running tasks.
    pub running: Option<bool>,
    /// PBS's `errors`: drops only tasks that ended `OK`; tasks with warnings, an unknown
    /// state, errors, and still running tasks all stay.
    pub errors: Option<bool>,
    /// Only tasks of users matching this.
    pub userfilter: Option<String>,
    /// Started after this epoch.
    pub since: Option<i64>,
    /// Started before this epoch.
    pub until: Option<i64>,
    /// Worker type substring.
    pub typefilter: Option<String>,
    /// End states.
    pub statusfilter: Vec<TaskStatusFilter>,
}

impl TaskFilter {
    /// No filter.
    pub fn new() -> Self {
        Self::default()
    }
    /// Only running tasks.
    pub fn running(mut self) -> Self {
        self.running = Some(true);
        self
    }
    /// Worker type substring.
    pub fn with_type(mut self, t: impl Into<String>) -> Self {
        self.typefilter = Some(t.into());
        self
    }
    /// Only tasks of this datastore.
    pub fn with_store(mut self, store: impl Into<String>) -> Self {
        self.store = Some(store.into());
        self
    }
    /// At most this many.
    pub fn with_limit(mut self, limit: u64) -> Self {
        self.limit = Some(limit);
        self
    }
    /// Skip this many matching tasks (paging; see [`TaskPage`]).
    pub fn with_start(mut self, start: u64) -> Self {
        self.start = Some(start);
        self
    }
    /// PBS's `errors=true`: everything but the tasks that ended `OK` (see [`TaskFilter::errors`]).
    pub fn with_errors(mut self) -> Self {
        self.errors = Some(true);
        self
    }
    /// Add a status filter (running tasks never match one).
    pub fn with_status(mut self, s: TaskStatusFilter) -> Self {
        self.statusfilter.push(s);
        self
    }

    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        push_opt(&mut q, "start", self.start.map(|v| v.to_string()));
        push_opt(&mut q, "limit", self.limit.map(|v| v.to_string()));
        push_opt(&mut q, "store", self.store.clone());
        push_opt(&mut q, "running", self.running.map(|v| v.to_string()));
        push_opt(&mut q, "errors", self.errors.map(|v| v.to_string()));
        push_opt(&mut q, "userfilter", self.userfilter.clone());
        push_opt(&mut q, "since", self.since.map(|v| v.to_string()));
        push_opt(&mut q, "until", self.until.map(|v| v.to_string()));
        push_opt(&mut q, "typefilter", self.typefilter.clone());
        for s in &self.statusfilter {
            q.push(("statusfilter", s.to_string()));
        }
        q
    }
}

fn push_opt(q: &mut Vec<(&'static str, String)>, key: &'static str, v: Option<String>) {
    if let Some(v) = v {
        q.push((key, v));
    }
}

#[derive(Deserialize)]
struct Envelope<T> {
    data: T,
    #[serde(default)]
    total: Option<u64>,
    #[serde(default)]
    active: Option<bool>,
}

fn decode_envelope<T: DeserializeOwned>(endpoint: &str, body: &[u8]) -> Result<Envelope<T>> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        Error::Decode {
            endpoint: endpoint.to_owned(),
            message: format!("at {path}: {}", e.into_inner()),
        }
    })
}

/// Decodes a successful PBS answer `{"data": …}` into `T`.
pub fn decode_data<T: DeserializeOwned>(endpoint: &str, body: &[u8]) -> Result<T> {
    decode_envelope(endpoint, body).map(|e| e.data)
}

/// Decodes a list answer with PBS's top-level `total` (task lists); `total` defaults to the
/// number of items.
pub fn decode_list_with_total<T: DeserializeOwned>(
    endpoint: &str,
    body: &[u8],
) -> Result<(Vec<T>, u64)> {
    let env: Envelope<Vec<T>> = decode_envelope(endpoint, body)?;
    let total = env.total.unwrap_or(env.data.len() as u64);
    Ok((env.data, total))
}

/// Decodes a task log page `{"data":[{"n":1,"t":"…"}],"total":N,"active":bool}`.
pub fn decode_task_log(endpoint: &str, body: &[u8]) -> Result<TaskLog> {
    let env: Envelope<Vec<TaskLogLine>> = decode_envelope(endpoint, body)?;
    Ok(TaskLog {
        total: env.total.unwrap_or(env.data.len() as u64),
        active: env.active,
        lines: env.data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_with_unknown_fields_and_values() {
        let body = br#"{"data":[{"backup-type":"vm","backup-id":"100","backup-time":1717200000,
            "verification":{"state":"ok","upid":"UPID:x"},"files":[{"filename":"index.json.blob","crypt-mode":"none","size":12}],
            "size":12,"owner":"root@pam","protected":true,"new-4x-field":{"a":1}},
            {"backup-type":"appliance","backup-id":"x","backup-time":1,"verification":{"state":"partial","upid":"u"}}]}"#;
        let v: Vec<SnapshotListItem> = decode_data("/s", body).unwrap();
        assert_eq!(v.len(), 2);
        assert!(v[0].protected);
        assert_eq!(v[0].files[0].crypt_mode, Some(CryptMode::None));
        assert_eq!(v[1].backup_type, BackupType::Unknown("appliance".into()));
        assert_eq!(
            v[1].verification.as_ref().unwrap().state,
            VerifyState::Unknown("partial".into())
        );
        assert!(!v[1].protected);
    }

    #[test]
    fn gc_status_of_servers_before_3_2_2_has_no_store() {
        // GarbageCollectionStatus as PBS 3.2.1 serialises it (no store, schedule, last run).
        let body = br#"{"data":{"upid":"UPID:pbs:000003E8:0000AAAA:00000002:65F00000:garbage_collection:store1:root@pam:",
            "index-file-count":12,"index-data-bytes":1024,"disk-bytes":512,"disk-chunks":2,
            "removed-bytes":0,"removed-chunks":0,"pending-bytes":0,"pending-chunks":0,
            "removed-bad":0,"still-bad":0}}"#;
        let gc: GarbageCollectionJobStatus = decode_data("/gc", body).unwrap();
        assert_eq!(gc.store, None);
        assert_eq!(gc.status.index_file_count, 12);
        assert_eq!(gc.last_run_state, None);
        let body = br#"{"data":{"store":"store1","upid":null,"last-run-state":"OK"}}"#;
        let gc: GarbageCollectionJobStatus = decode_data("/gc", body).unwrap();
        assert_eq!(gc.store.as_deref(), Some("store1"));
        assert_eq!(gc.last_run_state, Some(TaskState::Ok));
    }

    #[test]
    fn task_log_lines_have_an_rfc3339_prefix() {
        let line = |n: u64, t: &str| TaskLogLine { n, t: t.to_owned() };
        let ok = line(3, "2024-03-31T04:00:00+02:00: TASK OK");
        assert_eq!(
            ok.time(),
            Some("2024-03-31T02:00:00Z".parse::<jiff::Timestamp>().unwrap())
        );
        assert_eq!(ok.message(), "TASK OK");
        assert_eq!(ok.task_state(), Some(TaskState::Ok));
        let utc = line(
            1,
            "2024-03-31T02:00:00+00:00: starting garbage collection on store store1",
        );
        assert_eq!(utc.time(), ok.time());
        assert_eq!(utc.message(), "starting garbage collection on store store1");
        assert_eq!(utc.task_state(), None);
        for (text, state) in [
            (
                "2024-03-31T02:00:00Z: TASK ERROR: abort requested - aborting task",
                TaskState::Error("abort requested - aborting task".into()),
            ),
            (
                "2024-03-31T02:00:00-05:00: TASK WARNINGS: 3",
                TaskState::Warnings(3),
            ),
            (
                "2024-03-31T02:00:00+00:00: TASK unknown",
                TaskState::Unknown,
            ),
            (
                "2024-03-31T02:00:00+00:00: TASK some old error",
                TaskState::Error("some old error".into()),
            ),
        ] {
            assert_eq!(line(1, text).task_state(), Some(state), "{text}");
        }
        // No (valid) time prefix: the whole line is the message.
        for text in [
            "plain: text",
            "",
            "TASK",
            "2024-13-01T00:00:00+00:00: x",
            ": x",
        ] {
            let l = line(1, text);
            assert_eq!((l.time(), l.message()), (None, text), "{text:?}");
        }
        // The message keeps later ": " separators.
        assert_eq!(line(1, "2024-03-31T02:00:00+00:00: a: b").message(), "a: b");

        let log = |active, lines: Vec<TaskLogLine>, total| TaskLog {
            lines,
            total,
            active,
        };
        assert_eq!(
            log(Some(false), vec![ok.clone()], 3).end_state(),
            Some(TaskState::Ok)
        );
        assert_eq!(log(Some(true), vec![ok.clone()], 3).end_state(), None);
        // Not the last line of the log: no verdict.
        assert_eq!(log(Some(false), vec![ok], 5).end_state(), None);
    }

    #[test]
    fn task_page_more_follows_extjs_total() {
        let item: TaskListItem = serde_json::from_value(serde_json::json!({
            "upid": "u", "node": "localhost", "pid": 1, "pstart": 1, "starttime": 1,
            "worker_type": "gc", "user": "root@pam"}))
        .unwrap();
        let page = |start, n, total| TaskPage {
            tasks: vec![item.clone(); n],
            start,
            total,
        };
        assert!(page(0, 2, 3).has_more());
        assert!(!page(0, 2, 2).has_more());
        assert!(page(4, 2, 7).has_more());
        assert!(!page(4, 1, 5).has_more());
        assert!(!page(9, 0, 9).has_more());
        // A server claiming more after an empty page is not believed.
        assert!(!page(9, 0, 10).has_more());
    }

    #[test]
    fn task_state_strings() {
        assert_eq!(TaskState::from("OK"), TaskState::Ok);
        assert_eq!(TaskState::from("WARNINGS: 3"), TaskState::Warnings(3));
        assert_eq!(TaskState::from("unknown"), TaskState::Unknown);
        assert_eq!(
            TaskState::from("WARNINGS: x"),
            TaskState::Error("WARNINGS: x".into())
        );
        assert!(TaskState::Warnings(1).is_success());
        assert!(!TaskState::Error("boom".into()).is_success());
        assert_eq!(TaskState::Warnings(2).to_string(), "WARNINGS: 2");
    }

    #[test]
    fn keep_options_serialize_without_nones() {
        let k = KeepOptions::new().keep_daily(7).keep_weekly(4);
        let v = serde_json::to_value(&k).unwrap();
        assert_eq!(v, serde_json::json!({"keep-daily":7,"keep-weekly":4}));
        assert!(k.keeps_something());
        assert!(!KeepOptions::new().keep_last(0).keeps_something());
        let p = PruneDatastoreOptions::new(k).with_mode(PruneMode::DryRun);
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["dry-run"], true);
        assert_eq!(v["keep-daily"], 7);
    }

    #[test]
    fn decode_errors_are_typed() {
        let e = decode_data::<VersionInfo>("/version", br#"{"data":{"version":3}}"#).unwrap_err();
        assert!(e.is_decode());
        assert!(e.to_string().contains("data.version"), "{e}");
        assert!(
            decode_data::<VersionInfo>("/version", b"")
                .unwrap_err()
                .is_decode()
        );
        assert!(
            decode_data::<VersionInfo>("/version", b"<html>")
                .unwrap_err()
                .is_decode()
        );
    }

    #[test]
    fn task_filter_query_repeats_statusfilter() {
        let q = TaskFilter::new()
            .with_status(TaskStatusFilter::Error)
            .with_status(TaskStatusFilter::Warning)
            .with_limit(0)
            .query();
        assert_eq!(
            q,
            vec![
                ("limit", "0".to_owned()),
                ("statusfilter", "error".to_owned()),
                ("statusfilter", "warning".to_owned())
            ]
        );
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    const SNAPSHOTS: &str = r#"{"data":[{"backup-type":"vm","backup-id":"100","backup-time":1717200000,"verification":{"state":"ok","upid":"UPID:x"},"files":[{"filename":"index.json.blob","crypt-mode":"none","size":12}],"size":12,"owner":"root@pam","protected":true}],"total":1}"#;

    proptest! {
        #[test]
        fn garbage_never_panics(body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode_data::<Vec<SnapshotListItem>>("/s", &body);
            let _ = decode_data::<TaskStatus>("/t", &body);
            let _ = decode_list_with_total::<TaskListItem>("/l", &body);
            let _ = decode_task_log("/log", &body);
            let _ = decode_data::<Vec<PruneJobStatus>>("/p", &body);
        }

        #[test]
        fn truncated_is_a_decode_error(cut in 0usize..SNAPSHOTS.len()) {
            let e = decode_data::<Vec<SnapshotListItem>>("/s", &SNAPSHOTS.as_bytes()[..cut]).unwrap_err();
            prop_assert!(e.is_decode());
        }

        #[test]
        fn mutated_bodies_never_panic(pos in 0usize..SNAPSHOTS.len(), byte in any::<u8>()) {
            let mut body = SNAPSHOTS.as_bytes().to_vec();
            body[pos] = byte;
            let _ = decode_data::<Vec<SnapshotListItem>>("/s", &body);
        }

        #[test]
        fn json_values_never_panic(v in arb_json()) {
            let body = serde_json::to_vec(&serde_json::json!({"data": v})).unwrap();
            let _ = decode_data::<Vec<GroupListItem>>("/g", &body);
            let _ = decode_data::<GarbageCollectionJobStatus>("/gc", &body);
            let _ = decode_data::<Vec<DataStoreUsage>>("/u", &body);
        }

        #[test]
        fn error_bodies_never_panic(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let e = Error::from_response("/x", status, &body, None);
            prop_assert_eq!(e.status(), Some(status));
        }
    }

    fn arb_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            "[a-z-]{0,8}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                proptest::collection::hash_map(
                    prop_oneof![
                        Just("backup-type".to_owned()),
                        Just("backup-id".to_owned()),
                        Just("store".to_owned()),
                        "[a-z-]{1,8}"
                    ],
                    inner,
                    0..4
                )
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
