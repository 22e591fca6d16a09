//! Scheduled prune, verification and sync jobs with their last-run state.

use serde::{Deserialize, Serialize};

use super::{KeepOptions, TaskState};

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
    pub last_run_upid: Option<crate::Upid>,
    /// End of the last run, epoch seconds.
    pub last_run_endtime: Option<i64>,
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
