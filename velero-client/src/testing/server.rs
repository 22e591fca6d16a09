//! HTTP side of the fake apiserver (axum): the velero.io/v1 REST paths, watch, and the object
//! store's presigned-URL downloads.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::store::{ApiError, FieldSelector, Filter, Selector, StoredEvent, kind_of};
use super::{ClusterState, DownloadFault, discovery};

pub(crate) fn router(state: Arc<ClusterState>) -> Router {
    Router::new()
        .route(
            "/apis/velero.io/v1/namespaces/{ns}/{plural}",
            get(list_or_watch).post(create),
        )
        .route(
            "/apis/velero.io/v1/namespaces/{ns}/{plural}/{name}",
            get(get_one).patch(patch).put(replace).delete(delete),
        )
        // core/v1 Secrets, read-only: what a `caCertRef` points at.
        .route("/api/v1/namespaces/{ns}/secrets/{name}", get(get_secret))
        .route("/version", get(discovery::version))
        .route("/api", get(discovery::core_versions))
        .route("/api/v1", get(discovery::core_resources))
        .route("/apis", get(discovery::groups))
        .route("/apis/velero.io/v1", get(discovery::velero_resources))
        .route(
            "/api/v1/namespaces/{ns}",
            axum::routing::delete(super::namespaces::delete_namespace),
        )
        .fallback(|| async {
            error(&ApiError {
                code: 404,
                reason: "NotFound",
                message: "the server could not find the requested resource".into(),
                name: None,
                plural: String::new(),
            })
        })
        .with_state(state)
}

/// The object store's own listener: `GET /<bucket>/<key>?X-Amz-...` (path-style, as Garage and
/// MinIO serve presigned URLs).
pub(crate) fn store_router(state: Arc<ClusterState>) -> Router {
    Router::new().route("/{*key}", get(blob)).with_state(state)
}

/// `GET /api/v1/namespaces/{ns}/secrets/{name}`: a core/v1 Secret with base64 `data`
/// (k8s.io/api core/v1 types.go, `Secret.Data map[string][]byte`).
async fn get_secret(
    State(state): State<Arc<ClusterState>>,
    Path((ns, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    use base64::Engine as _;
    state.saw_user_agent(
        headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
    );
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if token != Some(state.token.as_str()) {
        return error(&ApiError {
            code: 401,
            reason: "Unauthorized",
            message: "Unauthorized".into(),
            name: None,
            plural: "secrets".into(),
        });
    }
    if state.is_forbidden("get", "secrets") {
        return error(&ApiError {
            code: 403,
            reason: "Forbidden",
            message: format!(
                "secrets \"{name}\" is forbidden: User \"system:serviceaccount:ops:backup-audit\" cannot get resource \"secrets\" in API group \"\" in the namespace \"{ns}\""
            ),
            name: Some(name),
            plural: "secrets".into(),
        });
    }
    let secret = if ns == state.namespace {
        state.lock_world().secrets.get(&name).cloned()
    } else {
        None
    };
    let Some(data) = secret else {
        return error(&ApiError {
            code: 404,
            reason: "NotFound",
            message: format!("secrets \"{name}\" not found"),
            name: Some(name),
            plural: "secrets".into(),
        });
    };
    let data: serde_json::Map<String, Value> = data
        .into_iter()
        .map(|(k, v)| {
            (
                k,
                Value::String(base64::engine::general_purpose::STANDARD.encode(v)),
            )
        })
        .collect();
    json_response(
        StatusCode::OK,
        &json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": { "name": name, "namespace": ns },
            "type": "Opaque",
            "data": data
        }),
    )
}

/// Parses a request body as JSON; the error is the apiserver's 400 `BadRequest`.
fn json_body(body: &[u8], plural: &str, name: Option<&str>) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError {
        code: 400,
        reason: "BadRequest",
        message: e.to_string(),
        name: name.map(str::to_owned),
        plural: plural.to_owned(),
    })
}

pub(crate) fn error(e: &ApiError) -> Response {
    let code = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        e.body().to_string(),
    )
        .into_response()
}

pub(crate) fn json_response(code: StatusCode, v: &Value) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

/// Authentication: the bearer token must match, else 401 like the real apiserver.
pub(crate) fn authenticate(state: &ClusterState, headers: &HeaderMap) -> Result<(), ApiError> {
    state.saw_user_agent(
        headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
    );
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if token != Some(state.token.as_str()) {
        return Err(ApiError {
            code: 401,
            reason: "Unauthorized",
            message: "Unauthorized".into(),
            name: None,
            plural: String::new(),
        });
    }
    Ok(())
}

/// Auth and RBAC: bearer token must match; denied verbs answer 403 like the real apiserver.
fn authorize(
    state: &ClusterState,
    headers: &HeaderMap,
    verb: &str,
    plural: &str,
    ns: &str,
) -> Result<(), ApiError> {
    authenticate(state, headers)?;
    if kind_of(plural).is_none() {
        return Err(ApiError {
            code: 404,
            reason: "NotFound",
            message: "the server could not find the requested resource".into(),
            name: None,
            plural: plural.into(),
        });
    }
    if state.is_forbidden(verb, plural) {
        return Err(ApiError {
            code: 403,
            reason: "Forbidden",
            message: format!(
                "{plural}.velero.io is forbidden: User \"system:serviceaccount:ops:backup-audit\" cannot {verb} resource \"{plural}\" in API group \"velero.io\" in the namespace \"{ns}\""
            ),
            name: None,
            plural: plural.into(),
        });
    }
    Ok(())
}

fn filter_from(q: &HashMap<String, String>, plural: &str) -> Result<Filter, ApiError> {
    let bad = |m: String| ApiError {
        code: 400,
        reason: "BadRequest",
        message: m,
        name: None,
        plural: plural.into(),
    };
    let labels = q
        .get("labelSelector")
        .filter(|s| !s.is_empty())
        .map(|s| Selector::parse(s))
        .transpose()
        .map_err(bad)?;
    let fields = q
        .get("fieldSelector")
        .filter(|s| !s.is_empty())
        .map(|s| FieldSelector::parse(s))
        .transpose()
        .map_err(|m| ApiError {
            code: 400,
            reason: "BadRequest",
            message: m,
            name: None,
            plural: plural.into(),
        })?;
    Ok(Filter { labels, fields })
}

async fn list_or_watch(
    State(state): State<Arc<ClusterState>>,
    Path((ns, plural)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let watch = q.get("watch").is_some_and(|w| w == "true" || w == "1");
    let verb = if watch { "watch" } else { "list" };
    if let Err(e) = authorize(&state, &headers, verb, &plural, &ns) {
        return error(&e);
    }
    let filter = match filter_from(&q, &plural) {
        Ok(f) => f,
        Err(e) => return error(&e),
    };
    if watch {
        return watch_response(state, ns, plural, filter, &q);
    }
    let limit = q.get("limit").and_then(|l| l.parse::<usize>().ok());
    let after = match q.get("continue").filter(|c| !c.is_empty()) {
        None => None,
        Some(tok) => match decode_continue(tok) {
            Some(name) => Some(name),
            None => {
                return error(&ApiError {
                    code: 400,
                    reason: "BadRequest",
                    message: "continue key is not valid: illegal base64 data".into(),
                    name: None,
                    plural,
                });
            }
        },
    };
    let (items, rv, next, remaining) = {
        let store = state.lock_store();
        let (items, next, remaining) = store.list(&plural, &ns, &filter, limit, after.as_deref());
        (items, store.rv(), next, remaining)
    };
    let kind = kind_of(&plural).unwrap_or("Unknown");
    let mut meta = json!({ "resourceVersion": rv.to_string() });
    if let Some(last) = next {
        meta["continue"] = json!(encode_continue(&last, rv));
        meta["remainingItemCount"] = json!(remaining);
    }
    if discovery::wants_table(&headers) {
        return json_response(StatusCode::OK, &discovery::table(kind, &items, &meta));
    }
    json_response(
        StatusCode::OK,
        &json!({ "apiVersion": "velero.io/v1", "kind": format!("{kind}List"), "metadata": meta, "items": items }),
    )
}

fn encode_continue(name: &str, rv: u64) -> String {
    hex::encode(format!("{rv}/{name}"))
}

fn decode_continue(tok: &str) -> Option<String> {
    let raw = String::from_utf8(hex::decode(tok).ok()?).ok()?;
    raw.split_once('/').map(|(_, name)| name.to_owned())
}

struct WatchState {
    pending: VecDeque<StoredEvent>,
    rx: broadcast::Receiver<StoredEvent>,
    last_rv: u64,
    ns: String,
    plural: String,
    filter: Filter,
    deadline: tokio::time::Instant,
}

impl WatchState {
    fn wanted(&self, e: &StoredEvent) -> bool {
        e.rv > self.last_rv
            && e.plural == self.plural
            && e.namespace == self.ns
            && self.filter.matches(&e.object)
    }
}

fn watch_response(
    state: Arc<ClusterState>,
    ns: String,
    plural: String,
    filter: Filter,
    q: &HashMap<String, String>,
) -> Response {
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(300)
        .min(600);
    let since = q
        .get("resourceVersion")
        .and_then(|r| r.parse::<u64>().ok())
        .unwrap_or(0);
    // Subscribe before reading history so nothing falls between the two.
    let rx = state.events.subscribe();
    let mut pending = VecDeque::new();
    let mut last_rv = since;
    {
        let store = state.lock_store();
        if since == 0 {
            // "Any" resourceVersion: synthetic ADDED for what exists now, then changes.
            for obj in store.all(&plural, &ns) {
                if filter.matches(&obj) {
                    pending.push_back(StoredEvent {
                        rv: 0,
                        plural: plural.clone(),
                        namespace: ns.clone(),
                        kind: "ADDED",
                        object: obj,
                    });
                }
            }
            last_rv = store.rv();
        } else {
            for e in store.history.iter().filter(|e| {
                e.rv > since && e.plural == plural && e.namespace == ns && filter.matches(&e.object)
            }) {
                pending.push_back(e.clone());
            }
            if let Some(e) = pending.back() {
                last_rv = e.rv;
            }
        }
    }
    let ws = WatchState {
        pending,
        rx,
        last_rv,
        ns,
        plural,
        filter,
        deadline: tokio::time::Instant::now() + Duration::from_secs(timeout),
    };
    let stream = futures::stream::unfold(ws, |mut ws| async move {
        loop {
            if let Some(e) = ws.pending.pop_front() {
                let line = format!("{}\n", json!({ "type": e.kind, "object": e.object }));
                return Some((Ok::<Bytes, Infallible>(Bytes::from(line)), ws));
            }
            let next = tokio::time::timeout_at(ws.deadline, ws.rx.recv()).await;
            match next {
                Err(_) => return None,
                Ok(Ok(e)) => {
                    if ws.wanted(&e) {
                        ws.last_rv = e.rv;
                        ws.pending.push_back(e);
                    }
                }
                // A slow watcher missed events: end the watch; the client re-lists.
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => return None,
                Ok(Err(broadcast::error::RecvError::Closed)) => return None,
            }
        }
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

async fn create(
    State(state): State<Arc<ClusterState>>,
    Path((ns, plural)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(e) = authorize(&state, &headers, "create", &plural, &ns) {
        return error(&e);
    }
    let obj = match json_body(&body, &plural, None) {
        Ok(v) => v,
        Err(e) => return error(&e),
    };
    match state.write(|s| s.create(&plural, &ns, obj)) {
        Ok(v) => json_response(StatusCode::CREATED, &v),
        Err(e) => error(&e),
    }
}

async fn get_one(
    State(state): State<Arc<ClusterState>>,
    Path((ns, plural, name)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = authorize(&state, &headers, "get", &plural, &ns) {
        return error(&e);
    }
    let found = state.lock_store().get(&plural, &ns, &name).cloned();
    match found {
        Some(v) => json_response(StatusCode::OK, &v),
        None => error(&ApiError::not_found(&plural, &name)),
    }
}

async fn patch(
    State(state): State<Arc<ClusterState>>,
    Path((ns, plural, name)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(e) = authorize(&state, &headers, "patch", &plural, &ns) {
        return error(&e);
    }
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ctype.starts_with("application/merge-patch+json") {
        // CRDs do not support strategic merge patch; this fake implements merge patch only.
        return error(&ApiError {
            code: 415,
            reason: "UnsupportedMediaType",
            message: format!(
                "the body of the request was in an unknown format - accepted media types include: application/merge-patch+json (got {ctype})"
            ),
            name: Some(name),
            plural,
        });
    }
    let p = match json_body(&body, &plural, Some(&name)) {
        Ok(v) => v,
        Err(e) => return error(&e),
    };
    match state.write(|s| s.merge(&plural, &ns, &name, &p)) {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => error(&e),
    }
}

async fn replace(
    State(state): State<Arc<ClusterState>>,
    Path((ns, plural, name)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(e) = authorize(&state, &headers, "update", &plural, &ns) {
        return error(&e);
    }
    let obj = match json_body(&body, &plural, Some(&name)) {
        Ok(v) => v,
        Err(e) => return error(&e),
    };
    match state.write(|s| s.replace(&plural, &ns, &name, obj)) {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => error(&e),
    }
}

async fn delete(
    State(state): State<Arc<ClusterState>>,
    Path((ns, plural, name)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = authorize(&state, &headers, "delete", &plural, &ns) {
        return error(&e);
    }
    match state.write(|s| s.delete(&plural, &ns, &name)) {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => error(&e),
    }
}

/// The object store side of presigned URLs: `GET /<bucket>/<key>?X-Amz-...`.
async fn blob(
    State(state): State<Arc<ClusterState>>,
    method: Method,
    headers: HeaderMap,
    Path(key): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    state.saw_user_agent(
        headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
    );
    if method != Method::GET {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let fault = state.download_attempt();
    match fault {
        Some(DownloadFault::SlowDown(retry_after)) => {
            let mut resp = (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "application/xml")],
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
            )
                .into_response();
            if let Some(secs) = retry_after
                && let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string())
            {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return resp;
        }
        Some(DownloadFault::BadSignature) => {
            // The body AWS S3 sends for a bad presigned URL: it echoes the signature and the
            // canonical request, query included (AWS S3 API reference, "Error responses",
            // SignatureDoesNotMatch).
            let sig = q.get("X-Amz-Signature").cloned().unwrap_or_default();
            let mut query: Vec<String> = q
                .iter()
                .filter(|(k, _)| k.as_str() != "X-Amz-Signature")
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            query.sort();
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided. Check your key and signing method.</Message><AWSAccessKeyId>GKfake</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256\n20261127T020000Z\n20261127/garage/s3/aws4_request\n0f0e</StringToSign><SignatureProvided>{sig}</SignatureProvided><CanonicalRequest>GET\n/{key}\n{}\nhost:127.0.0.1\n\nhost\nUNSIGNED-PAYLOAD</CanonicalRequest><RequestId>4442587FB7D0A2F9</RequestId></Error>",
                query.join("&")
            );
            return (
                StatusCode::FORBIDDEN,
                [(header::CONTENT_TYPE, "application/xml")],
                body,
            )
                .into_response();
        }
        Some(DownloadFault::CutOff) | None => {}
    }
    match state.blob(&key) {
        Some(bytes) if matches!(fault, Some(DownloadFault::CutOff)) => {
            // Promise the whole body, send half, then drop the connection.
            let len = bytes.len();
            let half = Bytes::from(bytes[..len / 2].to_vec());
            // The error comes after a pause so that the headers and the first half are
            // flushed: the client sees a body cut short, not a failed request.
            let chunks = futures::stream::iter([0u8, 1]).then(move |step| {
                let half = half.clone();
                async move {
                    if step == 0 {
                        Ok(half)
                    } else {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Err(std::io::Error::other("connection reset by the fake"))
                    }
                }
            });
            Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .header(header::CONTENT_LENGTH, len)
                .body(Body::from_stream(chunks))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
        Some(bytes) => (StatusCode::OK, [(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "application/xml")],
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>{key}</Key></Error>"),
        )
            .into_response(),
    }
}
