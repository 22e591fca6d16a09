//! Datastore endpoints of the fake PBS: status, usage, namespaces, groups, snapshots, files,
//! garbage collection, prune (one group or the whole datastore), verify and the decoded
//! download of a snapshot's blob files. Citations as in
//! `server.rs` (`[PB: …]` = proxmox/proxmox-backup).

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use jiff::tz::TimeZone;
use serde_json::{Map, Value, json};

use super::config::FakePbsConfig;
use super::params::{ApiErr, Identity, Params, Reply, bad_request};
use super::prune::{PruneItem, PruneMark, compute_prune_marks};
use super::server::now_epoch;
use super::snapshot::FakeSnapshot;
use super::state::{StateData, Store, make_upid, new_task};
use crate::types::{KeepOptions, TaskState};

pub(super) fn usage_json(name: &str, s: &Store) -> Value {
    let used = used_bytes(s);
    let history: Vec<Value> = (0..10)
        .map(|i| {
            if i == 3 {
                Value::Null
            } else {
                json!((used as f64 / s.total as f64) * (0.5 + f64::from(i) / 20.0))
            }
        })
        .collect();
    json!({"store": name, "total": s.total, "used": used, "avail": s.total - used,
        "history": history, "history-start": 1_709_251_200u64, "history-delta": 259_200,
        "estimated-full-date": 1_893_456_000i64, "gc-status": gc_status_json(s)})
}

pub(super) fn used_bytes(s: &Store) -> u64 {
    (s.snapshots.iter().map(FakeSnapshot::size).sum::<u64>() / 4).min(s.total)
}

pub(super) fn gc_status_json(s: &Store) -> Value {
    let used = used_bytes(s);
    json!({"upid": s.gc_upid, "index-file-count": s.snapshots.len(), "index-data-bytes": used * 4,
        "disk-bytes": used, "disk-chunks": used >> 22, "removed-bytes": s.gc_removed_bytes,
        "removed-chunks": s.gc_removed_bytes >> 22, "pending-bytes": 0, "pending-chunks": 0,
        "removed-bad": 0, "still-bad": 0})
}

pub(super) fn ns_depth(ns: &str) -> usize {
    ns.split('/').filter(|p| !p.is_empty()).count()
}

pub(super) fn ns_below(ns: &str, parent: &str, max_depth: usize) -> bool {
    let inside = parent.is_empty() || ns == parent || ns.starts_with(&format!("{parent}/"));
    inside && ns_depth(ns) - ns_depth(parent).min(ns_depth(ns)) <= max_depth
}

pub(super) fn datastore_endpoint(
    st: &mut StateData,
    cfg: &FakePbsConfig,
    who: &Identity,
    m: &Method,
    store: &str,
    rest: &[&str],
    params: &Params,
) -> Option<Reply> {
    let ns_param = |p: &Params| -> Result<String, ApiErr> { Ok(p.str("ns")?.unwrap_or_default()) };
    let check_ns = |s: &Store, ns: &str| -> Result<(), ApiErr> {
        if s.namespaces.contains(ns) {
            Ok(())
        } else {
            Err(bad_request(format!("namespace '{ns}' does not exist")))
        }
    };
    let reply = (|| -> Reply {
        let s = st
            .stores
            .get(store)
            .ok_or_else(|| bad_request("datastore vanished"))?;
        match (m, rest) {
            (&Method::GET, ["status"]) => {
                let used = used_bytes(s);
                let mut v = json!({"total": s.total, "used": used, "avail": s.total - used});
                if params.bool("verbose")?.unwrap_or(false) {
                    v["gc-status"] = gc_status_json(s);
                    let mut counts = Map::new();
                    for t in ["vm", "ct", "host"] {
                        let snaps: Vec<_> =
                            s.snapshots.iter().filter(|x| x.backup_type == t).collect();
                        let groups: BTreeSet<_> =
                            snaps.iter().map(|x| (&x.ns, &x.backup_id)).collect();
                        counts.insert(
                            t.to_owned(),
                            json!({"groups": groups.len(), "snapshots": snaps.len()}),
                        );
                    }
                    v["counts"] = Value::Object(counts);
                }
                Ok(v.into())
            }
            (&Method::GET, ["namespace"]) => {
                let parent = params.str("parent")?.unwrap_or_default();
                check_ns(s, &parent)?;
                let depth = params.int("max-depth", 0)?.unwrap_or(7);
                if depth > 7 {
                    return Err(Params::verr(
                        "max-depth",
                        "value must have a maximum value of 7",
                    ));
                }
                let depth = usize::try_from(depth).unwrap_or(7);
                Ok(Value::Array(
                    s.namespaces
                        .iter()
                        .filter(|ns| ns_below(ns, &parent, depth))
                        .map(|ns| json!({"ns": ns}))
                        .collect(),
                )
                .into())
            }
            (&Method::GET, ["groups"]) => {
                let ns = ns_param(params)?;
                check_ns(s, &ns)?;
                let mut groups: Vec<(String, String)> = s
                    .snapshots
                    .iter()
                    .filter(|x| x.ns == ns)
                    .map(|x| (x.backup_type.clone(), x.backup_id.clone()))
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                groups.sort();
                let items = groups
                    .iter()
                    .filter_map(|(t, id)| {
                        let snaps: Vec<&FakeSnapshot> = s
                            .snapshots
                            .iter()
                            .filter(|x| x.ns == ns && &x.backup_type == t && &x.backup_id == id)
                            .collect();
                        let last = snaps.iter().filter(|x| x.finished).max_by_key(|x| x.time)?;
                        Some(
                            json!({"backup-type": t, "backup-id": id, "last-backup": last.time,
                            "backup-count": snaps.len(), "owner": last.owner,
                            "files": last.files.iter().map(|f| f.0.clone()).collect::<Vec<_>>()}),
                        )
                    })
                    .collect();
                Ok(Value::Array(items).into())
            }
            (&Method::GET, ["snapshots"]) => {
                let ns = ns_param(params)?;
                check_ns(s, &ns)?;
                let bt = params.str("backup-type")?;
                let bid = params.str("backup-id")?;
                let mut snaps: Vec<&FakeSnapshot> = s
                    .snapshots
                    .iter()
                    .filter(|x| x.ns == ns)
                    .filter(|x| bt.as_ref().is_none_or(|t| &x.backup_type == t))
                    .filter(|x| bid.as_ref().is_none_or(|i| &x.backup_id == i))
                    .collect();
                snaps.sort_by_key(|x| (x.backup_type.clone(), x.backup_id.clone(), x.time));
                Ok(Value::Array(snaps.iter().map(|x| x.json()).collect()).into())
            }
            (&Method::GET, ["files"]) => {
                let ns = ns_param(params)?;
                let t = params.req_str("backup-type")?;
                let id = params.req_str("backup-id")?;
                let time = params.int("backup-time", 0)?.ok_or_else(|| {
                    Params::verr(
                        "backup-time",
                        "parameter is missing and it is not optional.",
                    )
                })?;
                let snap = s
                    .snapshots
                    .iter()
                    .find(|x| {
                        x.ns == ns && x.backup_type == t && x.backup_id == id && x.time == time
                    })
                    .ok_or_else(|| {
                        bad_request(format!("snapshot {t}/{id}/{time} does not exist"))
                    })?;
                Ok(snap.json()["files"].clone().into())
            }
            (&Method::GET, ["download-decoded"]) => {
                let ns = ns_param(params)?;
                check_ns(s, &ns)?;
                download_decoded(s, &ns, params)
            }
            (&Method::GET, ["gc"]) => {
                let mut v = gc_status_json(s);
                if !cfg.gc_job_status {
                    return Ok(v.into());
                }
                v["store"] = json!(store);
                v["schedule"] = json!("daily");
                v["next-run"] = json!(now_epoch() + 3600);
                if let Some(upid) = &s.gc_upid
                    && let Some(t) = st.tasks.iter().find(|t| &t.upid.to_string() == upid)
                {
                    if let Some(state) = t.state() {
                        v["last-run-state"] = json!(state.to_string());
                    }
                    if let Some(end) = t.endtime() {
                        v["last-run-endtime"] = json!(end);
                        v["duration"] = json!(end - t.upid.starttime);
                    }
                }
                Ok(v.into())
            }
            _ => Err(ApiErr(StatusCode::IM_A_TEAPOT, String::new())),
        }
    })();
    match reply {
        Err(ApiErr(StatusCode::IM_A_TEAPOT, _)) => {}
        other => return Some(other),
    }
    // Writes.
    let reply = (|| -> Reply {
        match (m, rest) {
            (&Method::POST, ["prune"]) => prune_group(st, cfg, store, params),
            (&Method::POST, ["prune-datastore"]) => prune_datastore(st, cfg, who, store, params),
            (&Method::POST, ["verify"]) => verify(st, cfg, who, store, params),
            (&Method::POST, ["gc"]) => {
                let running = st.tasks.iter().any(|t| {
                    t.running()
                        && t.upid.worker_type == "garbage_collection"
                        && t.upid.worker_id.as_deref() == Some(store)
                });
                // The job lock is taken first: `Job::new(..).map_err(|_| format_err!("garbage
                // collection already running"))` [PB: src/api2/admin/datastore.rs
                // `start_garbage_collection`].
                if running {
                    return Err(bad_request("garbage collection already running"));
                }
                let upid = new_task(
                    st,
                    cfg,
                    "garbage_collection",
                    store,
                    who.auth_id(),
                    // [PB: src/server/gc_job.rs]
                    vec![
                        format!("starting garbage collection on store {store}"),
                        "Start GC phase1 (mark used chunks)".to_owned(),
                        "Start GC phase2 (sweep unused chunks)".to_owned(),
                    ],
                    TaskState::Ok,
                );
                if let Some(s) = st.stores.get_mut(store) {
                    s.gc_upid = Some(upid.to_string());
                    s.gc_removed_bytes += 1 << 24;
                }
                Ok(json!(upid.to_string()).into())
            }
            _ => Err(ApiErr(StatusCode::IM_A_TEAPOT, String::new())),
        }
    })();
    match reply {
        Err(ApiErr(StatusCode::IM_A_TEAPOT, _)) => None,
        other => Some(other),
    }
}

pub(super) fn group_items(s: &Store, ns: &str, t: &str, id: &str) -> Vec<(usize, PruneItem)> {
    s.snapshots
        .iter()
        .enumerate()
        .filter(|(_, x)| x.ns == ns && x.backup_type == t && x.backup_id == id)
        .map(|(i, x)| {
            (
                i,
                PruneItem {
                    time: x.time,
                    finished: x.finished,
                    protected: x.protected,
                },
            )
        })
        .collect()
}

/// Runs the selection on one group; returns (snapshot index, mark) oldest first.
pub(super) fn select(
    s: &Store,
    ns: &str,
    t: &str,
    id: &str,
    keep: &KeepOptions,
    tz: &TimeZone,
) -> Vec<(usize, PruneMark)> {
    let items = group_items(s, ns, t, id);
    let plain: Vec<PruneItem> = items.iter().map(|x| x.1).collect();
    let marks = if keep.keeps_something() {
        compute_prune_marks(&plain, keep, tz)
    } else {
        plain
            .iter()
            .map(|p| {
                if p.protected {
                    PruneMark::Protected
                } else {
                    PruneMark::Keep
                }
            })
            .collect()
    };
    let mut out: Vec<(usize, PruneMark)> = items.iter().map(|x| x.0).zip(marks).collect();
    out.sort_by_key(|(i, _)| s.snapshots[*i].time);
    out
}

pub(super) fn remove_indices(s: &mut Store, mut idx: Vec<usize>) {
    idx.sort_unstable();
    for i in idx.into_iter().rev() {
        s.snapshots.remove(i);
    }
}

pub(super) fn prune_group(
    st: &mut StateData,
    cfg: &FakePbsConfig,
    store: &str,
    params: &Params,
) -> Reply {
    let t = params.req_str("backup-type")?;
    let id = params.req_str("backup-id")?;
    let ns = params.str("ns")?.unwrap_or_default();
    let dry_run = params.bool("dry-run")?.unwrap_or(false);
    let keep = params.keep()?;
    let s = st
        .stores
        .get_mut(store)
        .ok_or_else(|| bad_request("no store"))?;
    let sel = select(s, &ns, &t, &id, &keep, &cfg.time_zone);
    if sel.is_empty() {
        return Err(bad_request(format!(
            "backup group '{t}/{id}' does not exist"
        )));
    }
    let out: Vec<Value> = sel
        .iter()
        .map(|(i, mark)| {
            let x = &s.snapshots[*i];
            let mut v = json!({"backup-type": x.backup_type, "backup-id": x.backup_id, "backup-time": x.time,
                "keep": mark.keep(), "protected": *mark == PruneMark::Protected});
            if dry_run && !ns.is_empty() {
                v["ns"] = json!(ns);
            }
            v
        })
        .collect();
    if !dry_run {
        remove_indices(
            s,
            sel.iter()
                .filter(|(_, m)| !m.keep())
                .map(|(i, _)| *i)
                .collect(),
        );
    }
    Ok(Value::Array(out).into())
}

pub(super) fn prune_datastore(
    st: &mut StateData,
    cfg: &FakePbsConfig,
    who: &Identity,
    store: &str,
    params: &Params,
) -> Reply {
    let keep = params.keep()?;
    let ns = params.str("ns")?.unwrap_or_default();
    let max_depth_param = params.int("max-depth", 0)?;
    let depth = usize::try_from(max_depth_param.unwrap_or(7)).unwrap_or(7);
    let dry_run = params.bool("dry-run")?.unwrap_or(false);
    let s = st
        .stores
        .get_mut(store)
        .ok_or_else(|| bad_request("no store"))?;
    let groups: BTreeSet<(String, String, String)> = s
        .snapshots
        .iter()
        .filter(|x| ns_below(&x.ns, &ns, depth))
        .map(|x| (x.ns.clone(), x.backup_type.clone(), x.backup_id.clone()))
        .collect();
    // [PB: src/server/prune_job.rs `prune_datastore`, `cli_prune_options_string`;
    // pbs-api-types/src/datastore.rs `print_store_and_ns`]
    let store_ns = if ns.is_empty() {
        format!("datastore '{store}', root namespace")
    } else {
        format!("datastore '{store}', namespace '{ns}'")
    };
    let depth_text = match depth {
        7 => "down to full depth".to_owned(),
        d if d > 0 => format!("to depth {d}"),
        _ => "non-recursive".to_owned(),
    };
    let mut log = vec![format!(
        "Starting datastore prune on {store_ns}, {depth_text}"
    )];
    if dry_run {
        log.push("(dry test run)".to_owned());
    }
    if keep.keeps_something() {
        let mut opts = Vec::new();
        if !ns.is_empty() {
            opts.push(format!("--ns {ns}"));
        }
        if let Some(d) = max_depth_param {
            opts.push(format!("--max-depth {d}"));
        }
        for (key, n) in [
            ("last", keep.keep_last),
            ("hourly", keep.keep_hourly),
            ("daily", keep.keep_daily),
            ("weekly", keep.keep_weekly),
            ("monthly", keep.keep_monthly),
            ("yearly", keep.keep_yearly),
        ] {
            if let Some(n) = n.filter(|n| *n > 0) {
                opts.push(format!("--keep-{key} {n}"));
            }
        }
        log.push(format!("retention options: {}", opts.join(" ")));
    } else {
        log.push("No prune selection - keeping all files.".to_owned());
    }
    let mut remove = Vec::new();
    let would = if dry_run { "would " } else { "" };
    for (gns, t, id) in &groups {
        log.push(format!("Pruning group {gns}:\"{t}/{id}\""));
        for (i, mark) in select(s, gns, t, id, &keep, &cfg.time_zone) {
            let word = match mark {
                PruneMark::Protected => "protected",
                PruneMark::Keep => "keep",
                PruneMark::KeepPartial => "keep-partial",
                PruneMark::Remove => "remove",
            };
            let x = &s.snapshots[i];
            let time = jiff::Timestamp::from_second(x.time)
                .map(|t| t.to_string())
                .unwrap_or_default();
            log.push(format!("{would}{word} {t}/{id}/{time}"));
            if mark == PruneMark::Remove {
                remove.push(i);
            }
        }
    }
    if !dry_run {
        remove_indices(s, remove);
    }
    // Always `store:ns`, so the root namespace leaves a trailing ':'
    // [PB: src/api2/admin/datastore.rs `prune_datastore`].
    let wid = format!("{store}:{ns}");
    let upid = new_task(st, cfg, "prune", &wid, who.auth_id(), log, TaskState::Ok);
    Ok(json!(upid.to_string()).into())
}

/// `GET /admin/datastore/{store}/download-decoded` [PB: src/api2/admin/datastore.rs
/// `download_file_decoded`]: all of `backup-type`, `backup-id`, `backup-time` and `file-name`
/// are required; the snapshot's manifest is read first (a missing snapshot fails there); the
/// name's extension picks the archive type (`.blob`, `.didx`, `.fidx`, anything else refused
/// as an unknown archive type); a blob that is not there fails to open ("File open failed",
/// 400); a blob is answered decoded as `application/octet-stream`. (PBS refuses encrypted files
/// with "cannot decode '…' - is encrypted"; this fake holds none.) The manifest `index.json.blob` decodes to
/// its JSON. Index archives decode to whole images in PBS; this fake does not stream those
/// and answers 501.
fn download_decoded(s: &Store, ns: &str, params: &Params) -> Reply {
    let t = params.req_str("backup-type")?;
    let id = params.req_str("backup-id")?;
    let time = params.int("backup-time", 0)?.ok_or_else(|| {
        Params::verr(
            "backup-time",
            "parameter is missing and it is not optional.",
        )
    })?;
    let name = params.req_str("file-name")?;
    let snap = s
        .snapshots
        .iter()
        .find(|x| x.ns == ns && x.backup_type == t && x.backup_id == id && x.time == time)
        .ok_or_else(|| {
            bad_request(format!(
                "unable to load blob '\"{t}/{id}/{time}/index.json.blob\"' - No such file or directory (os error 2)"
            ))
        })?;
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
    if !matches!(ext, "blob" | "didx" | "fidx") {
        return Err(Params::verr(
            "file-name",
            &format!("unknown archive type: {name:?}"),
        ));
    }
    if ext != "blob" {
        return Err(ApiErr(
            StatusCode::NOT_IMPLEMENTED,
            "the fake PBS does not stream decoded index archives".to_owned(),
        ));
    }
    let content = if name == "index.json.blob" {
        serde_json::to_vec_pretty(&snap.manifest()).unwrap_or_default()
    } else if let Some(b) = snap.blobs.get(&name) {
        b.clone()
    } else {
        return Err(bad_request(
            "File open failed: No such file or directory (os error 2)",
        ));
    };
    let mut answer: super::params::Answer = Value::Null.into();
    answer.raw = Some(content);
    Ok(answer)
}

pub(super) fn verify(
    st: &mut StateData,
    cfg: &FakePbsConfig,
    who: &Identity,
    store: &str,
    params: &Params,
) -> Reply {
    let ns = params.str("ns")?.unwrap_or_default();
    let bt = params.str("backup-type")?;
    let bid = params.str("backup-id")?;
    let btime = params.int("backup-time", 0)?;
    let ignore_verified = params.bool("ignore-verified")?.unwrap_or(true);
    let _outdated = params.int("outdated-after", 0)?;
    let depth = usize::try_from(params.int("max-depth", 0)?.unwrap_or(7)).unwrap_or(7);
    let (wtype, wid) = match (&bt, &bid, btime) {
        (Some(t), Some(id), Some(time)) => (
            "verify_snapshot",
            format!("{store}:{ns}/{t}/{id}/{time:08X}"),
        ),
        (Some(t), Some(id), None) => ("verify_group", format!("{store}:{ns}/{t}/{id}")),
        (None, None, None) => (
            "verify",
            if ns.is_empty() {
                store.to_owned()
            } else {
                format!("{store}:{ns}")
            },
        ),
        _ => {
            return Err(bad_request(
                "parameter verification errors\n\nbackup-id: incomplete snapshot selector",
            ));
        }
    };
    let task_id = st.next_task_id;
    let upid = make_upid(task_id, wtype, &wid, who.auth_id());
    let s = st
        .stores
        .get_mut(store)
        .ok_or_else(|| bad_request("no store"))?;
    let mut log = vec![format!("verify datastore {store}")];
    let mut failed = 0;
    for x in s.snapshots.iter_mut().filter(|x| {
        (if bt.is_some() {
            x.ns == ns
        } else {
            ns_below(&x.ns, &ns, depth)
        }) && bt.as_ref().is_none_or(|t| &x.backup_type == t)
            && bid.as_ref().is_none_or(|i| &x.backup_id == i)
            && btime.is_none_or(|t| x.time == t)
    }) {
        if ignore_verified && x.verification.as_ref().is_some_and(|v| v.0 == "ok") {
            log.push(format!(
                "SKIPPED: verify {store}:{}/{}/{} (recently verified)",
                x.backup_type, x.backup_id, x.time
            ));
            continue;
        }
        let state = if x.corrupt { "failed" } else { "ok" };
        if x.corrupt {
            failed += 1;
            log.push(format!(
                "verify {}/{}/{} failed: chunk checksum mismatch",
                x.backup_type, x.backup_id, x.time
            ));
        }
        x.verification = Some((state.to_owned(), upid.to_string()));
    }
    let result = if failed > 0 {
        log.push(format!(
            "Failed to verify the following snapshots/groups: {failed}"
        ));
        TaskState::Error("verification failed - please check the log for details".to_owned())
    } else {
        TaskState::Ok
    };
    let upid = new_task(st, cfg, wtype, &wid, who.auth_id(), log, result);
    Ok(json!(upid.to_string()).into())
}
