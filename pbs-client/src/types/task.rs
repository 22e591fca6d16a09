//! Tasks: states, list items, status, logs, pages and the list filter.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::push_opt;

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
/// An item of `GET /nodes/localhost/tasks` (snake_case fields, like PBS).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskListItem {
    /// The task's id.
    pub upid: crate::Upid,
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
    /// The task's id.
    pub upid: crate::Upid,
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

#[cfg(test)]
mod tests {
    use super::*;

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
            "upid": "UPID:pbs:000003E8:0000AAAA:00000001:65F00000:verify:store1:root@pam:", "node": "localhost", "pid": 1, "pstart": 1, "starttime": 1,
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
