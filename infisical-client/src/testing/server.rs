//! The fake's state and request handling (one catch-all handler, routed by hand so unknown
//! routes get Fastify's own 404 like the real server).

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{reads, tokens};
use crate::secrets::normalize_secret_path;

/// One request the fake received.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, without query.
    pub path: String,
    /// Decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    /// Whether an `Authorization: Bearer` header was present.
    pub authorized: bool,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// The status the fake answered.
    pub status: u16,
}

impl RecordedRequest {
    /// The first value of query parameter `key`.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

pub(super) struct FakeSecret {
    pub(super) id: String,
    pub(super) project: String,
    pub(super) env: String,
    pub(super) path: String,
    pub(super) key: String,
    pub(super) value: String,
    /// The identity may describe the secret but lacks `ReadValue` on it.
    pub(super) unreadable: bool,
    pub(super) personal: bool,
    pub(super) version: u32,
}

impl FakeSecret {
    pub(super) fn new(
        project: &str,
        env: &str,
        path: &str,
        key: &str,
        value: &str,
        unreadable: bool,
    ) -> Self {
        Self {
            id: String::new(),
            project: project.into(),
            env: env.into(),
            path: normalize_secret_path(path),
            key: key.into(),
            value: value.into(),
            unreadable,
            personal: false,
            version: 1,
        }
    }
}

pub(super) struct FakeImport {
    pub(super) project: String,
    pub(super) env: String,
    pub(super) path: String,
    pub(super) from_env: String,
    pub(super) from_path: String,
}

pub(super) struct Identity {
    pub(super) id: String,
    pub(super) client_id: Option<String>,
    /// Client secret, or the accepted JWT for Kubernetes identities.
    pub(super) secret: String,
    pub(super) kubernetes: bool,
    pub(super) ttl: Duration,
    pub(super) max_ttl: Duration,
    /// `accessTokenNumUsesLimit` (0 = unlimited).
    pub(super) uses_limit: u32,
}

#[derive(Default)]
pub(super) struct Limiter {
    limit: Option<u32>,
    window: Duration,
    started: Option<Instant>,
    used: u32,
}

impl Limiter {
    pub(super) fn configure(&mut self, limit: u32, window: Duration) {
        self.limit = Some(limit);
        self.window = window;
        self.started = None;
        self.used = 0;
    }

    /// `Err(seconds to wait)` when over the limit.
    fn check(&mut self, now: Instant) -> Result<(), u64> {
        let Some(limit) = self.limit else {
            return Ok(());
        };
        let start = match self.started {
            Some(s) if now.duration_since(s) < self.window => s,
            _ => {
                self.started = Some(now);
                self.used = 0;
                now
            }
        };
        if self.used >= limit {
            let left = self.window.saturating_sub(now.duration_since(start));
            let secs = left.as_millis().div_ceil(1000).max(1);
            return Err(u64::try_from(secs).unwrap_or(u64::MAX));
        }
        self.used += 1;
        Ok(())
    }
}

pub(super) struct State {
    pub(super) secrets: Vec<FakeSecret>,
    pub(super) imports: Vec<FakeImport>,
    pub(super) identities: Vec<Identity>,
    pub(super) folders: Vec<(String, String, String)>,
    pub(super) tokens: HashMap<String, super::tokens::Jwt>,
    pub(super) rows: Vec<super::tokens::Row>,
    pub(super) legacy_tokens: bool,
    pub(super) issue_expired: bool,
    pub(super) v4_enabled: bool,
    pub(super) secrets_limit: Limiter,
    pub(super) auth_limit: Limiter,
    pub(super) fail_next: u32,
    pub(super) fail_status: u16,
    pub(super) fail_retry_after: Option<u64>,
    pub(super) log: Vec<RecordedRequest>,
    counter: u64,
}

impl State {
    pub(super) fn new() -> Self {
        Self {
            secrets: Vec::new(),
            imports: Vec::new(),
            identities: Vec::new(),
            folders: Vec::new(),
            tokens: HashMap::new(),
            rows: Vec::new(),
            legacy_tokens: false,
            issue_expired: false,
            v4_enabled: true,
            secrets_limit: Limiter::default(),
            auth_limit: Limiter::default(),
            fail_next: 0,
            fail_status: 503,
            fail_retry_after: None,
            log: Vec::new(),
            counter: 0,
        }
    }

    pub(super) fn next_id(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    pub(super) fn put_secret(&mut self, mut s: FakeSecret) {
        let n = self.next_id();
        s.id = format!("7d1e{n:04x}-0000-4000-8000-{n:012x}");
        if let Some(old) = self.secrets.iter_mut().find(|o| {
            o.project == s.project
                && o.env == s.env
                && o.path == s.path
                && o.key == s.key
                && o.personal == s.personal
        }) {
            s.version = old.version + 1;
            *old = s;
        } else {
            self.secrets.push(s);
        }
    }

    pub(super) fn remove_secret(&mut self, project: &str, env: &str, path: &str, key: &str) {
        let path = normalize_secret_path(path);
        self.secrets
            .retain(|s| !(s.project == project && s.env == env && s.path == path && s.key == key));
    }
}

pub(super) fn router(state: Arc<Mutex<State>>) -> axum::Router {
    axum::Router::new().fallback(handle).with_state(state)
}

pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) body: Value,
    pub(super) headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub(super) fn ok(body: Value) -> Self {
        Self {
            status: 200,
            body,
            headers: Vec::new(),
        }
    }

    pub(super) fn error(status: u16, error: &str, message: impl Into<Value>) -> Self {
        Self {
            status,
            body: json!({
                "reqId": "req-fake",
                "statusCode": status,
                "message": message.into(),
                "error": error,
            }),
            headers: Vec::new(),
        }
    }

    /// Fastify's answer for a route that does not exist.
    fn route_not_found(method: &Method, uri: &Uri) -> Self {
        Self {
            status: 404,
            body: json!({
                "message": format!("Route {}:{} not found", method, uri),
                "error": "Not Found",
                "statusCode": 404,
            }),
            headers: Vec::new(),
        }
    }
}

async fn handle(
    AxState(state): AxState<Arc<Mutex<State>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let query: Vec<(String, String)> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let user_agent = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);

    let reply = {
        let mut st = match state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let reply = route(
            &mut st,
            &method,
            &uri,
            &path,
            &query,
            bearer.as_deref(),
            &body,
        );
        st.log.push(RecordedRequest {
            method: method.to_string(),
            path,
            query,
            authorized: bearer.is_some(),
            user_agent,
            status: reply.status,
        });
        reply
    };

    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, axum::Json(reply.body)).into_response();
    for (k, v) in reply.headers {
        if let Ok(v) = HeaderValue::from_str(&v) {
            resp.headers_mut().insert(k, v);
        }
    }
    resp
}

fn route(
    st: &mut State,
    method: &Method,
    uri: &Uri,
    path: &str,
    query: &[(String, String)],
    bearer: Option<&str>,
    body: &[u8],
) -> Reply {
    if st.fail_next > 0 {
        st.fail_next -= 1;
        let status = st.fail_status;
        let name = match status {
            401 => "UnauthorizedError",
            403 => "TokenError",
            404 => "NotFound",
            429 => "RateLimitExceeded",
            500.. => "InternalServerError",
            _ => "BadRequest",
        };
        let mut reply = Reply::error(status, name, "Injected failure");
        if let Some(secs) = st.fail_retry_after {
            reply.headers.push(("retry-after", secs.to_string()));
        }
        return reply;
    }
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let now = Instant::now();
    match (method.as_str(), segs.as_slice()) {
        (
            "POST",
            [
                "api",
                "v1",
                "auth",
                kind @ ("universal-auth" | "kubernetes-auth" | "token"),
                action,
            ],
        ) => {
            if let Err(secs) = st.auth_limit.check(now) {
                return rate_limited(secs);
            }
            let body: Value = match serde_json::from_slice(body) {
                Ok(v) => v,
                Err(_) => return Reply::error(400, "BadRequest", "Body is not valid JSON"),
            };
            match (*kind, *action) {
                ("universal-auth", "login") => tokens::universal_login(st, &body),
                ("kubernetes-auth", "login") => tokens::kubernetes_login(st, &body),
                ("token", "renew") => tokens::renew(st, &body, now),
                _ => Reply::route_not_found(method, uri),
            }
        }
        ("GET", ["api", version @ ("v3" | "v4"), "secrets", rest @ ..]) => {
            let v4 = *version == "v4";
            let (is_list, name) = match (v4, rest) {
                (true, []) => (true, None),
                (true, [name]) => (false, Some(*name)),
                (false, ["raw"]) => (true, None),
                (false, ["raw", name]) => (false, Some(*name)),
                _ => return Reply::route_not_found(method, uri),
            };
            if v4 && !st.v4_enabled {
                return Reply::route_not_found(method, uri);
            }
            if let Err(secs) = st.secrets_limit.check(now) {
                return rate_limited(secs);
            }
            if let Err(r) = tokens::authenticate(st, bearer, now) {
                return r;
            }
            let q = match reads::SecretsQuery::parse(query, v4) {
                Ok(q) => q,
                Err(r) => return r,
            };
            if !st.project_exists(&q.project) {
                return Reply::error(
                    404,
                    "NotFound",
                    format!("Project with ID '{}' not found", q.project),
                );
            }
            match name {
                None if is_list => reads::list(st, &q, v4),
                Some(name) => reads::get_one(st, &q, name),
                None => Reply::route_not_found(method, uri),
            }
        }
        _ => Reply::route_not_found(method, uri),
    }
}

fn rate_limited(secs: u64) -> Reply {
    let mut r = Reply::error(
        429,
        "RateLimitExceeded",
        format!("Rate limit exceeded. Please try again in {secs} seconds"),
    );
    r.headers.push(("retry-after", secs.to_string()));
    r.headers.push(("x-ratelimit-remaining", "0".into()));
    r.headers.push(("x-ratelimit-reset", secs.to_string()));
    r
}

pub(super) fn field<'a>(body: &'a Value, name: &str) -> Result<&'a str, Reply> {
    body.get(name).and_then(Value::as_str).ok_or_else(|| {
        Reply::error(
            422,
            "ValidationFailure",
            json!([{ "code": "invalid_type", "expected": "string", "received": "undefined", "path": [name], "message": "Required" }]),
        )
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}
