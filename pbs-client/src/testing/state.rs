//! The fake's in-memory state: datastores, jobs, tickets, injected answers, the seed data and
//! the helpers that start tasks.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use serde_json::{Value, json};

use super::config::FakePbsConfig;
use super::server::now_epoch;
use super::snapshot::FakeSnapshot;
use super::tasks::Task;
use crate::types::TaskState;
use crate::upid::Upid;

pub(super) struct Store {
    pub(super) comment: Option<String>,
    pub(super) maintenance: Option<String>,
    pub(super) namespaces: BTreeSet<String>,
    pub(super) snapshots: Vec<FakeSnapshot>,
    pub(super) total: u64,
    pub(super) gc_upid: Option<String>,
    pub(super) gc_removed_bytes: u64,
}

pub(super) struct Job {
    pub(super) kind: &'static str,
    pub(super) config: Value,
    pub(super) last_upid: Option<String>,
    pub(super) last_state: Option<String>,
    pub(super) last_endtime: Option<i64>,
}

pub(super) struct TicketRecord {
    pub(super) user: String,
    pub(super) issued: Instant,
    pub(super) csrf: String,
}

pub(super) struct Injected {
    pub(super) path_contains: String,
    pub(super) status: u16,
    pub(super) body: Vec<u8>,
    pub(super) retry_after: Option<u64>,
}

#[derive(Default)]
pub(super) struct StateData {
    pub(super) stores: HashMap<String, Store>,
    pub(super) tasks: Vec<Task>,
    pub(super) jobs: Vec<Job>,
    pub(super) tickets: HashMap<String, TicketRecord>,
    pub(super) injected: Vec<Injected>,
    pub(super) next_task_id: u64,
    pub(super) tls_versions: Vec<String>,
}

pub(super) fn new_store(comment: Option<&str>) -> Store {
    Store {
        comment: comment.map(str::to_owned),
        maintenance: None,
        namespaces: BTreeSet::from([String::new()]),
        snapshots: Vec::new(),
        total: 4 << 40,
        gc_upid: None,
        gc_removed_bytes: 0,
    }
}

pub(super) fn add_ns_chain(set: &mut BTreeSet<String>, ns: &str) {
    let mut cur = String::new();
    for part in ns.split('/').filter(|p| !p.is_empty()) {
        if !cur.is_empty() {
            cur.push('/');
        }
        cur.push_str(part);
        set.insert(cur.clone());
    }
}

pub(super) fn seed_data(st: &mut StateData) {
    let mut store = new_store(Some("main store"));
    let day = 86_400;
    // 2024-03-31T02:00:00Z; 30 daily vm/100 snapshots, the oldest protected.
    let newest = 1_711_850_400;
    for d in 0..30 {
        let mut s = FakeSnapshot::new("", "vm", "100", newest - d * day);
        s.protected = d == 29;
        if d % 7 == 0 {
            s.verification = Some(("ok".to_owned(), "UPID:pbs:00000001:00000001:00000001:65F00000:verify_snapshot:store1\\x3a-vm-100:root@pam:".to_owned()));
        }
        if d == 0 {
            s.comment = Some("before upgrade".to_owned());
        }
        store.snapshots.push(s);
    }
    for d in 0..5 {
        store
            .snapshots
            .push(FakeSnapshot::new("", "ct", "200", newest - d * day + 600));
    }
    for d in 0..3 {
        let mut s = FakeSnapshot::new("prod", "host", "nas", newest - d * day + 1200);
        s.owner = "backup@pbs!nas".to_owned();
        s.corrupt = d == 1;
        store.snapshots.push(s);
    }
    store
        .snapshots
        .push(FakeSnapshot::new("prod/db", "vm", "300", newest + 1800));
    for ns in ["prod", "prod/db", "dev"] {
        add_ns_chain(&mut store.namespaces, ns);
    }
    st.stores.insert("store1".to_owned(), store);
    let mut archive = new_store(None);
    archive.maintenance = Some("type=read-only".to_owned());
    st.stores.insert("archive".to_owned(), archive);

    st.jobs.push(Job {
        kind: "prune",
        config: json!({"id": "daily-prune", "store": "store1", "schedule": "daily",
            "keep-daily": 7, "keep-weekly": 4, "keep-monthly": 6, "comment": "main retention"}),
        last_upid: Some(
            "UPID:pbs:00000100:00000200:00000001:66090A00:prunejob:store1:root@pam:".to_owned(),
        ),
        last_state: Some("OK".to_owned()),
        last_endtime: Some(newest + 3600),
    });
    st.jobs.push(Job {
        kind: "verify",
        config: json!({"id": "weekly-verify", "store": "store1", "schedule": "sat 03:00",
            "ignore-verified": true, "outdated-after": 30, "ns": "", "max-depth": 7}),
        last_upid: Some("UPID:pbs:00000100:00000200:00000002:66090B00:verificationjob:store1\\x3aweekly\\x2dverify:root@pam:".to_owned()),
        last_state: Some("verification failed - please check the log for details".to_owned()),
        last_endtime: Some(newest + 7200),
    });
    st.jobs.push(Job {
        kind: "sync",
        config: json!({"id": "offsite", "store": "store1", "remote": "offsite-pbs", "remote-store": "backup",
            "schedule": "hourly", "remove-vanished": false, "group-filter": ["type:vm", "exclude:group:vm/999"],
            "owner": "sync@pbs", "transfer-last": 3, "rate-in": "10MiB"}),
        last_upid: None,
        last_state: None,
        last_endtime: None,
    });
}

pub(super) fn make_upid(task_id: u64, wtype: &str, wid: &str, auth_id: &str) -> Upid {
    Upid::new(
        "pbs",
        0x4F37,
        0x0039_E469,
        task_id,
        now_epoch(),
        wtype,
        (!wid.is_empty()).then(|| wid.to_owned()),
        auth_id,
    )
}

pub(super) fn new_task(
    st: &mut StateData,
    cfg: &FakePbsConfig,
    wtype: &str,
    wid: &str,
    auth_id: &str,
    log: Vec<String>,
    result: TaskState,
) -> Upid {
    let upid = make_upid(st.next_task_id, wtype, wid, auth_id);
    st.next_task_id += 1;
    st.tasks.push(Task {
        upid: upid.clone(),
        started: Instant::now(),
        duration: cfg.task_duration,
        log,
        result,
        aborted_at: None,
        ended_at: None,
    });
    upid
}

pub(super) fn job_json(st: &StateData, j: &Job) -> Value {
    let mut v = j.config.clone();
    let mut state = j.last_state.clone();
    let mut end = j.last_endtime;
    if let Some(upid) = &j.last_upid
        && let Some(t) = st.tasks.iter().find(|t| &t.upid.to_string() == upid)
    {
        state = t.state().map(|s| s.to_string());
        end = t.endtime();
    }
    if let Some(upid) = &j.last_upid {
        v["last-run-upid"] = json!(upid);
    }
    if let Some(s) = state {
        v["last-run-state"] = json!(s);
    }
    if let Some(e) = end {
        v["last-run-endtime"] = json!(e);
        v["next-run"] = json!(e + 86_400);
    }
    v
}
