//! Tasks of the fake PBS: state, status, list and log, shaped like the real server's
//! (`[PB: …]` = proxmox/proxmox-backup at 4940514b; the worker task code lived in
//! `proxmox-rest-server/src/worker_task.rs` there until 938dd927 moved it to proxmox-rs).

use std::time::{Duration, Instant};

use jiff::tz::TimeZone;
use serde_json::{Value, json};

use super::params::{Answer, Params, Reply, bad_request};
use crate::types::TaskState;
use crate::upid::Upid;

/// What an aborted task ends with: `WorkerTaskContext::check_abort` bails with this message
/// [proxmox/proxmox-rs: proxmox-sys/src/worker_task_context.rs `check_abort`].
pub(super) const ABORT_MESSAGE: &str = "abort requested - aborting task";

/// One task. Its log lines are kept without the time prefix and rendered on read.
pub(super) struct Task {
    pub(super) upid: Upid,
    pub(super) started: Instant,
    pub(super) duration: Duration,
    pub(super) log: Vec<String>,
    pub(super) result: TaskState,
    pub(super) aborted_at: Option<i64>,
    /// Set for tasks added as already finished ([`super::FakePbs::add_finished_task`]).
    pub(super) ended_at: Option<i64>,
}

impl Task {
    pub(super) fn running(&self) -> bool {
        self.ended_at.is_none()
            && self.aborted_at.is_none()
            && self.started.elapsed() < self.duration
    }

    /// The end state, `None` while running. An abort makes the worker fail with
    /// [`ABORT_MESSAGE`] [PB@938dd927^: proxmox-rest-server/src/worker_task.rs `request_abort`].
    pub(super) fn state(&self) -> Option<TaskState> {
        if self.aborted_at.is_some() {
            Some(TaskState::Error(ABORT_MESSAGE.to_owned()))
        } else if self.running() {
            None
        } else {
            Some(self.result.clone())
        }
    }

    pub(super) fn endtime(&self) -> Option<i64> {
        if let Some(end) = self.ended_at.or(self.aborted_at) {
            return Some(end);
        }
        (!self.running())
            .then(|| self.upid.starttime + i64::try_from(self.duration.as_secs()).unwrap_or(0))
    }

    /// The log as PBS writes it: every line prefixed with the local time in RFC 3339 and
    /// `": "` (`FileLogger` with `prefix_time`, `proxmox_time::epoch_to_rfc3339`: numeric
    /// offset, `+00:00` for UTC) [PB@938dd927^: proxmox-rest-server/src/file_logger.rs]. An
    /// abort logs `received abort request ...`; the last line is the result,
    /// `TASK OK` / `TASK WARNINGS: n` / `TASK unknown` / `TASK ERROR: msg`
    /// [PB@938dd927^: proxmox-rest-server/src/worker_task.rs `log_result`, `result_text`].
    pub(super) fn log_lines(&self, tz: &TimeZone) -> Vec<String> {
        let start = self.upid.starttime;
        let mut lines: Vec<String> = self.log.iter().map(|l| prefix(start, tz, l)).collect();
        if let Some(at) = self.aborted_at {
            lines.push(prefix(at, tz, "received abort request ..."));
        }
        if let (Some(state), Some(end)) = (self.state(), self.endtime()) {
            let text = match state {
                TaskState::Error(m) => format!("TASK ERROR: {m}"),
                other => format!("TASK {other}"),
            };
            lines.push(prefix(end, tz, &text));
        }
        lines
    }
}

fn prefix(epoch: i64, tz: &TimeZone, msg: &str) -> String {
    let time = jiff::Timestamp::from_second(epoch)
        .map(|t| {
            t.to_zoned(tz.clone())
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string()
        })
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned());
    format!("{time}: {msg}")
}

/// `GET /nodes/localhost/tasks/{upid}/status` [PB: src/api2/node/tasks.rs `get_task_status`]:
/// `node` comes from the UPID; a token's user and token name are split. A task the server has
/// no record of is not an error: it is not active, and `upid_read_status` fails, so it answers
/// `stopped` with `exitstatus: "unknown"`.
pub(super) fn status_json(upid: &Upid, task: Option<&Task>) -> Value {
    let (user, token) = match upid.auth_id.split_once('!') {
        Some((user, token)) => (user.to_owned(), Some(token.to_owned())),
        None => (upid.auth_id.clone(), None),
    };
    let running = task.is_some_and(Task::running);
    let mut v = json!({"upid": upid.to_string(), "node": upid.node, "pid": upid.pid,
        "pstart": upid.pstart, "starttime": upid.starttime, "type": upid.worker_type,
        "id": upid.worker_id, "user": user,
        "status": if running { "running" } else { "stopped" }});
    if let Some(token) = token {
        v["tokenid"] = json!(token);
    }
    if !running {
        let state = task.and_then(Task::state).unwrap_or(TaskState::Unknown);
        v["exitstatus"] = json!(state.to_string());
    }
    v
}

/// An item of the task list [PB: src/api2/node/tasks.rs `into_task_list_item`]: node is always
/// `localhost`, `user` the whole auth id.
fn list_item_json(t: &Task) -> Value {
    let u = &t.upid;
    let mut v = json!({"upid": u.to_string(), "node": "localhost", "pid": u.pid, "pstart": u.pstart,
        "starttime": u.starttime, "worker_type": u.worker_type, "worker_id": u.worker_id, "user": u.auth_id});
    if let (Some(end), Some(state)) = (t.endtime(), t.state()) {
        v["endtime"] = json!(end);
        v["status"] = json!(state.to_string());
    }
    v
}

/// `check_job_store` [PB: src/api2/node/tasks.rs]: which tasks belong to a datastore.
fn belongs_to_store(upid: &Upid, store: &str) -> bool {
    let Some(wid) = upid.worker_id.as_deref() else {
        return false;
    };
    let prefixed = || wid == store || wid.starts_with(&format!("{store}:"));
    match upid.worker_type.as_str() {
        // verificationjob ids are `store:jobid`; verify/verify_group/verify_snapshot ids start
        // with the store too.
        t if t.starts_with("verif") => wid == store || wid.split(':').next() == Some(store),
        // `remote:remote-store:local-store:…`
        "syncjob" => wid.split(':').nth(2) == Some(store),
        "prune" | "prunejob" | "backup" | "garbage_collection" => prefixed(),
        _ => false,
    }
}

/// `GET /nodes/localhost/tasks` [PB: src/api2/node/tasks.rs `list_tasks`]: running tasks first,
/// then finished ones newest first (`TaskListInfoIterator`); `running` drops finished tasks,
/// `errors` drops only the `OK` ones (warnings, unknown and running tasks stay), a
/// `statusfilter` drops running tasks; `start` skips matches, `limit` (0 = all) caps the page
/// and `total` is ExtJS paging, `start + len`, plus one when the page is full ("more").
pub(super) fn list(tasks: &[Task], params: &Params) -> Reply {
    let start = usize::try_from(params.int("start", 0)?.unwrap_or(0)).unwrap_or(usize::MAX);
    let limit = match usize::try_from(params.int("limit", 0)?.unwrap_or(50)).unwrap_or(usize::MAX) {
        0 => usize::MAX,
        n => n,
    };
    let running = params.bool("running")?.unwrap_or(false);
    let errors = params.bool("errors")?.unwrap_or(false);
    let store = params.str("store")?;
    let userfilter = params.str("userfilter")?;
    let since = params.int("since", i64::MIN)?;
    let until = params.int("until", i64::MIN)?;
    let typefilter = params.str("typefilter")?;
    let statusfilter = params.list("statusfilter");
    for f in &statusfilter {
        if !matches!(f.as_str(), "ok" | "warning" | "error" | "unknown") {
            return Err(Params::verr(
                "statusfilter",
                &format!("value '{f}' is not defined in the enumeration."),
            ));
        }
    }
    let mut ordered: Vec<&Task> = tasks.iter().filter(|t| t.running()).rev().collect();
    let mut done: Vec<&Task> = tasks.iter().filter(|t| !t.running()).collect();
    done.sort_by_key(|t| std::cmp::Reverse((t.endtime(), t.upid.task_id)));
    ordered.extend(done);
    let mut skipped = 0;
    let mut page = Vec::new();
    for t in ordered {
        if until.is_some_and(|u| t.upid.starttime > u) {
            continue;
        }
        if let Some(since) = since {
            if t.endtime().is_some_and(|e| e < since) {
                break;
            }
            if t.upid.starttime < since {
                continue;
            }
        }
        if userfilter
            .as_ref()
            .is_some_and(|u| !t.upid.auth_id.contains(u.as_str()))
        {
            continue;
        }
        if store
            .as_ref()
            .is_some_and(|s| !belongs_to_store(&t.upid, s))
        {
            continue;
        }
        if typefilter
            .as_ref()
            .is_some_and(|f| !t.upid.worker_type.contains(f.as_str()))
        {
            continue;
        }
        match (t.state(), statusfilter.is_empty()) {
            (Some(_), _) if running => continue,
            (Some(TaskState::Ok), _) if errors => continue,
            (Some(state), false) => {
                let kind = match state {
                    TaskState::Ok => "ok",
                    TaskState::Warnings(_) => "warning",
                    TaskState::Unknown => "unknown",
                    TaskState::Error(_) => "error",
                };
                if !statusfilter.iter().any(|f| f == kind) {
                    continue;
                }
            }
            (None, false) => continue,
            _ => {}
        }
        if skipped < start {
            skipped += 1;
            continue;
        }
        page.push(list_item_json(t));
        if page.len() >= limit {
            break;
        }
    }
    let mut total = page.len() + start;
    if !page.is_empty() && page.len() >= limit {
        total += 1;
    }
    Ok(Answer {
        data: Value::Array(page),
        total: Some(total as u64),
        active: None,
        raw: None,
    })
}

/// `GET /nodes/localhost/tasks/{upid}/log` [PB: src/api2/node/tasks.rs `read_task_log`]: line
/// numbers start at 1, `start` is the first line returned (0 and 1 both mean the first),
/// `limit` 0 = all, `total` counts every line. A task without a log file fails to open it,
/// answered 400 with the io error.
pub(super) fn log(task: Option<&Task>, tz: &TimeZone, params: &Params) -> Reply {
    let start = params.int("start", 0)?.unwrap_or(0);
    let limit = usize::try_from(params.int("limit", 0)?.unwrap_or(50)).unwrap_or(usize::MAX);
    let test_status = params.bool("test-status")?.unwrap_or(false);
    let task = task.ok_or_else(|| bad_request("No such file or directory (os error 2)"))?;
    let lines = task.log_lines(tz);
    let total = lines.len() as u64;
    let data: Vec<Value> = lines
        .into_iter()
        .zip(1i64..)
        .filter(|(_, n)| *n >= start)
        .take(if limit == 0 { usize::MAX } else { limit })
        .map(|(l, n)| json!({"n": n, "t": l}))
        .collect();
    Ok(Answer {
        data: Value::Array(data),
        total: Some(total),
        active: test_status.then(|| task.running()),
        raw: None,
    })
}
