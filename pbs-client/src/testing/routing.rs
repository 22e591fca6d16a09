//! Request routing of the fake PBS: injected answers, the envelope, failure delays and the
//! dispatch of paths to the datastore, task and job handlers.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::auth::{authenticate, create_ticket};
use super::datastore::{datastore_endpoint, usage_json};
use super::params::{
    Answer, ApiErr, Identity, Params, Reply, bad_request, json_response, pct_decode,
};
use super::server::{Shared, now_epoch};
use super::state::{job_json, new_task};
use super::tasks;
use crate::types::TaskState;
use crate::upid::Upid;

pub(super) async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    shared.requests.fetch_add(1, Ordering::Relaxed);
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let injected = {
        let mut st = shared.lock();
        st.injected
            .iter()
            .position(|i| path.contains(&i.path_contains))
            .map(|pos| st.injected.remove(pos))
    };
    if let Some(inj) = injected {
        let mut resp = json_response(
            StatusCode::from_u16(inj.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            inj.body,
        );
        if let Some(ra) = inj.retry_after
            && let Ok(v) = header::HeaderValue::from_str(&ra.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return resp;
    }
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let result = dispatch(
        &shared,
        &parts.method,
        &path,
        parts.uri.query(),
        &parts.headers,
        &body,
    );
    match result {
        Ok(Answer { raw: Some(raw), .. }) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(Body::from(raw))
            .unwrap_or_default(),
        Ok(answer) => {
            let mut data = answer.data;
            let mut env = Map::new();
            if shared.config.extra_fields {
                add_extra_fields(&mut data);
                env.insert("x-fake-envelope".to_owned(), json!({"ignored": true}));
            }
            env.insert("data".to_owned(), data);
            if let Some(t) = answer.total {
                env.insert("total".to_owned(), json!(t));
            }
            if let Some(a) = answer.active {
                env.insert("active".to_owned(), json!(a));
                env.insert("success".to_owned(), json!(1));
            }
            json_response(StatusCode::OK, Value::Object(env).to_string().into_bytes())
        }
        Err(ApiErr(status, msg)) => {
            let delay = match status {
                StatusCode::UNAUTHORIZED => shared.config.auth_failure_delay,
                StatusCode::FORBIDDEN => shared.config.permission_failure_delay,
                _ => Duration::ZERO,
            };
            if let Some(rest) = delay.checked_sub(started.elapsed()) {
                tokio::time::sleep(rest).await;
            }
            json_response(status, msg.into_bytes())
        }
    }
}

pub(super) fn add_extra_fields(v: &mut Value) {
    match v {
        Value::Object(o) => {
            o.insert(
                "x-fake-future-field".to_owned(),
                json!({"nested": [1, "two", null]}),
            );
        }
        Value::Array(a) => a.iter_mut().for_each(add_extra_fields),
        _ => {}
    }
}

pub(super) fn dispatch(
    shared: &Shared,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Reply {
    let not_found = || ApiErr(StatusCode::NOT_FOUND, format!("Path '{path}' not found."));
    let Some(rest) = path.strip_prefix("/api2/json/") else {
        if path.starts_with("/api2/") {
            return Err(bad_request("Unsupported output format"));
        }
        return Err(not_found());
    };
    let segs: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| pct_decode(s).ok_or_else(not_found))
        .collect::<Result<_, _>>()?;
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let params = Params::parse(query, headers, body)?;
    let m = method.clone();
    match (&m, segs.as_slice()) {
        (&Method::GET, ["ping"]) => return Ok(json!({"pong": true}).into()),
        (&Method::POST, ["access", "ticket"]) => return create_ticket(shared, &params),
        _ => {}
    }
    let who = authenticate(shared, method, headers)?;
    if m != Method::GET
        && matches!(
            who,
            Identity::Token {
                audit_only: true,
                ..
            }
        )
    {
        return Err(ApiErr(
            StatusCode::FORBIDDEN,
            "permission check failed".to_owned(),
        ));
    }
    let mut st = shared.lock();
    let cfg = &shared.config;
    match (&m, segs.as_slice()) {
        (&Method::GET, ["version"]) => {
            Ok(json!({"version": "3.2", "release": "4", "repoid": "4940514b"}).into())
        }
        (&Method::GET, ["admin", "datastore"]) => {
            let mut names: Vec<&String> = st.stores.keys().collect();
            names.sort();
            Ok(Value::Array(
                names
                    .into_iter()
                    .map(|n| {
                        let s = &st.stores[n];
                        let mut v = json!({"store": n, "comment": s.comment});
                        if let Some(mm) = &s.maintenance {
                            v["maintenance"] = json!(mm);
                        }
                        v
                    })
                    .collect(),
            )
            .into())
        }
        (&Method::GET, ["status", "datastore-usage"]) => {
            let mut names: Vec<&String> = st.stores.keys().collect();
            names.sort();
            Ok(Value::Array(
                names
                    .into_iter()
                    .map(|n| usage_json(n, &st.stores[n]))
                    .collect(),
            )
            .into())
        }
        (_, ["admin", "datastore", store, rest @ ..]) => {
            let store = (*store).to_owned();
            if !st.stores.contains_key(&store) {
                return Err(bad_request(format!("datastore '{store}' does not exist")));
            }
            datastore_endpoint(&mut st, cfg, &who, &m, &store, rest, &params)
                .ok_or_else(not_found)?
        }
        (&Method::GET, ["nodes", "localhost", "tasks"]) => tasks::list(&st.tasks, &params),
        (_, ["nodes", "localhost", "tasks", upid, rest @ ..]) => {
            // The path's UPID must parse; a task the server has no record of is answered
            // anyway [PB: src/api2/node/tasks.rs `extract_upid`, `get_task_status`].
            let upid: Upid = upid
                .parse()
                .map_err(|_| Params::verr("upid", "value does not match the regex pattern"))?;
            let pos = st.tasks.iter().position(|t| t.upid == upid);
            match (&m, rest) {
                (&Method::GET, ["status"]) => {
                    Ok(tasks::status_json(&upid, pos.map(|p| &st.tasks[p])).into())
                }
                (&Method::GET, ["log"]) => {
                    tasks::log(pos.map(|p| &st.tasks[p]), &cfg.time_zone, &params)
                }
                // `stop_task`: sends the abort and answers null, known task or not.
                (&Method::DELETE, []) => {
                    if let Some(t) = pos.map(|p| &mut st.tasks[p])
                        && t.running()
                    {
                        t.aborted_at = Some(now_epoch());
                    }
                    Ok(Value::Null.into())
                }
                _ => Err(not_found()),
            }
        }
        (&Method::GET, ["admin", kind @ ("prune" | "verify" | "sync")]) => {
            let store = params.str("store")?;
            let items: Vec<Value> = st
                .jobs
                .iter()
                .filter(|j| j.kind == *kind)
                .filter(|j| store.as_deref().is_none_or(|s| j.config["store"] == s))
                .map(|j| job_json(&st, j))
                .collect();
            Ok(Value::Array(items).into())
        }
        (&Method::POST, ["admin", kind @ ("prune" | "verify" | "sync"), id, "run"]) => {
            let pos = st
                .jobs
                .iter()
                .position(|j| j.kind == *kind && j.config["id"] == *id)
                .ok_or_else(|| bad_request(format!("job '{id}' does not exist")))?;
            let store = st.jobs[pos].config["store"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let (wtype, wid) = match *kind {
                "prune" => ("prunejob", store),
                "verify" => ("verificationjob", format!("{store}:{id}")),
                _ => ("syncjob", format!("offsite-pbs:backup:{store}:{id}")),
            };
            let upid = new_task(
                &mut st,
                cfg,
                wtype,
                &wid,
                who.auth_id(),
                vec![format!("starting {wtype} {id}")],
                TaskState::Ok,
            );
            st.jobs[pos].last_upid = Some(upid.to_string());
            Ok(json!(upid.to_string()).into())
        }
        _ => Err(not_found()),
    }
}
