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

use crate::api::normalize_secret_path;

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
    pub(super) hidden: bool,
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
        hidden: bool,
    ) -> Self {
        Self {
            id: String::new(),
            project: project.into(),
            env: env.into(),
            path: normalize_secret_path(path),
            key: key.into(),
            value: value.into(),
            hidden,
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
}

struct Token {
    issued: Instant,
    since: Instant,
    ttl: Option<Duration>,
    max_ttl: Duration,
    expired: bool,
    revoked: bool,
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
    tokens: HashMap<String, Token>,
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
            tokens: HashMap::new(),
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

    fn next_id(&mut self) -> u64 {
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

    pub(super) fn add_static_token(&mut self, token: &str) {
        let now = Instant::now();
        self.tokens.insert(
            token.into(),
            Token {
                issued: now,
                since: now,
                ttl: None,
                max_ttl: Duration::ZERO,
                expired: false,
                revoked: false,
            },
        );
    }

    pub(super) fn expire_all(&mut self) {
        for t in self.tokens.values_mut() {
            t.expired = true;
        }
    }

    pub(super) fn revoke_all(&mut self) {
        for t in self.tokens.values_mut() {
            t.revoked = true;
        }
    }

    fn issue(&mut self, ttl: Duration, max_ttl: Duration) -> Value {
        let n = self.next_id();
        // Shaped like a JWT; the value is random enough for tests, not a real signature.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let token = format!("eyJhbGciOiJIUzI1NiJ9.fake-{n}-{nanos:08x}.sig");
        let now = Instant::now();
        self.tokens.insert(
            token.clone(),
            Token {
                issued: now,
                since: now,
                ttl: Some(ttl),
                max_ttl,
                expired: false,
                revoked: false,
            },
        );
        token_body(&token, ttl, max_ttl)
    }
}

fn token_body(token: &str, ttl: Duration, max_ttl: Duration) -> Value {
    json!({
        "accessToken": token,
        "expiresIn": ttl.as_secs(),
        "accessTokenMaxTTL": max_ttl.as_secs(),
        "tokenType": "Bearer"
    })
}

pub(super) fn router(state: Arc<Mutex<State>>) -> axum::Router {
    axum::Router::new().fallback(handle).with_state(state)
}

struct Reply {
    status: u16,
    body: Value,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    fn ok(body: Value) -> Self {
        Self {
            status: 200,
            body,
            headers: Vec::new(),
        }
    }

    fn error(status: u16, error: &str, message: impl Into<Value>) -> Self {
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
                ("universal-auth", "login") => universal_login(st, &body),
                ("kubernetes-auth", "login") => kubernetes_login(st, &body),
                ("token", "renew") => renew(st, &body, now),
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
            if let Err(r) = authenticate(st, bearer, now) {
                return r;
            }
            let q = match SecretsQuery::parse(query, v4) {
                Ok(q) => q,
                Err(r) => return r,
            };
            if !st.secrets.iter().any(|s| s.project == q.project) {
                return Reply::error(
                    404,
                    "NotFound",
                    format!("Project with ID '{}' not found", q.project),
                );
            }
            match name {
                None if is_list => list(st, &q, v4),
                Some(name) => get_one(st, &q, name),
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

fn field<'a>(body: &'a Value, name: &str) -> Result<&'a str, Reply> {
    body.get(name).and_then(Value::as_str).ok_or_else(|| {
        Reply::error(
            422,
            "ValidationFailure",
            json!([{ "code": "invalid_type", "expected": "string", "received": "undefined", "path": [name], "message": "Required" }]),
        )
    })
}

fn universal_login(st: &mut State, body: &Value) -> Reply {
    let (id, secret) = match (field(body, "clientId"), field(body, "clientSecret")) {
        (Ok(i), Ok(s)) => (i, s),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let found = st
        .identities
        .iter()
        .find(|i| !i.kubernetes && i.client_id.as_deref() == Some(id) && i.secret == secret)
        .map(|i| (i.ttl, i.max_ttl));
    match found {
        Some((ttl, max)) => Reply::ok(st.issue(ttl, max)),
        None => Reply::error(401, "UnauthorizedError", "Invalid credentials"),
    }
}

fn kubernetes_login(st: &mut State, body: &Value) -> Reply {
    let (id, jwt) = match (field(body, "identityId"), field(body, "jwt")) {
        (Ok(i), Ok(j)) => (i, j),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let Some(identity) = st.identities.iter().find(|i| i.kubernetes && i.id == id) else {
        return Reply::error(
            404,
            "NotFound",
            format!("Kubernetes auth method not found for identity with ID {id}"),
        );
    };
    if identity.secret != jwt {
        return Reply::error(
            401,
            "UnauthorizedError",
            "Access denied: K8s token review failed",
        );
    }
    let (ttl, max) = (identity.ttl, identity.max_ttl);
    Reply::ok(st.issue(ttl, max))
}

fn renew(st: &mut State, body: &Value, now: Instant) -> Reply {
    let token = match field(body, "accessToken") {
        Ok(t) => t.to_owned(),
        Err(r) => return r,
    };
    let Some(t) = st.tokens.get_mut(&token) else {
        return Reply::error(
            403,
            "TokenError",
            "The provided access token is malformed. Please use a valid token or generate a new one and try again.",
        );
    };
    let Some(ttl) = t.ttl else {
        return Reply::error(400, "BadRequest", "Unable to renew a token without a TTL");
    };
    if t.revoked {
        return Reply::error(
            401,
            "UnauthorizedError",
            "Failed to authorize: token revoked",
        );
    }
    if t.expired || now.duration_since(t.since) >= ttl {
        return Reply::error(
            403,
            "TokenError",
            "Your token has expired. Please re-authenticate.",
        );
    }
    if !t.max_ttl.is_zero() && now.duration_since(t.issued) + ttl > t.max_ttl {
        return Reply::error(
            401,
            "UnauthorizedError",
            "Failed to renew MI access token due to Max TTL expiration",
        );
    }
    t.since = now;
    Reply::ok(token_body(&token, ttl, t.max_ttl))
}

fn authenticate(st: &State, bearer: Option<&str>, now: Instant) -> Result<(), Reply> {
    let Some(bearer) = bearer else {
        return Err(Reply::error(
            401,
            "UnauthorizedError",
            "Missing Authorization Header in the request header.",
        ));
    };
    let Some(t) = st.tokens.get(bearer) else {
        return Err(Reply::error(
            403,
            "TokenError",
            "The provided access token is malformed. Please use a valid token or generate a new one and try again.",
        ));
    };
    if t.revoked {
        return Err(Reply::error(
            401,
            "UnauthorizedError",
            "Failed to authorize: token revoked",
        ));
    }
    let timed_out = t.ttl.is_some_and(|ttl| now.duration_since(t.since) >= ttl);
    if t.expired || timed_out {
        return Err(Reply::error(
            403,
            "TokenError",
            "Your token has expired. Please re-authenticate.",
        ));
    }
    Ok(())
}

struct SecretsQuery {
    project: String,
    env: String,
    path: String,
    expand: bool,
    recursive: bool,
    imports: bool,
    view: bool,
    personal: bool,
}

impl SecretsQuery {
    fn parse(q: &[(String, String)], v4: bool) -> Result<Self, Reply> {
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let mut issues = Vec::new();
        let mut flag = |k: &str, default: bool| -> Option<bool> {
            match get(k) {
                None => Some(default),
                Some("true") => Some(true),
                Some("false") => Some(false),
                Some(other) => {
                    issues.push(json!({
                        "received": other, "code": "invalid_enum_value", "options": ["true", "false"],
                        "path": [k], "message": format!("Invalid enum value. Expected 'true' | 'false', received '{other}'")
                    }));
                    None
                }
            }
        };
        // Since 2026 v4 defaults expansion and imports to true; v3 keeps false.
        let expand = flag("expandSecretReferences", v4);
        let recursive = flag("recursive", false);
        let old_imports = flag("include_imports", v4);
        let new_imports = if v4 { flag("includeImports", v4) } else { None };
        let view = flag("viewSecretValue", true);
        let personal = flag("includePersonalOverrides", false);
        if !issues.is_empty() {
            return Err(Reply::error(422, "ValidationFailure", Value::Array(issues)));
        }
        let project = if v4 {
            get("projectId")
        } else {
            get("workspaceId")
        };
        let (Some(project), Some(env)) = (project, get("environment")) else {
            return Err(Reply::error(
                400,
                "BadRequest",
                "Missing project id or environment",
            ));
        };
        let imports = if v4 && get("includeImports").is_some() {
            new_imports
        } else {
            old_imports
        };
        Ok(Self {
            project: project.to_owned(),
            env: env.to_owned(),
            path: normalize_secret_path(get("secretPath").unwrap_or("/")),
            expand: expand.unwrap_or(false),
            recursive: recursive.unwrap_or(false),
            imports: imports.unwrap_or(false),
            view: view.unwrap_or(true),
            // v3 returns shared and personal secrets alike.
            personal: if v4 { personal.unwrap_or(false) } else { true },
        })
    }
}

fn in_folder(s: &FakeSecret, project: &str, env: &str, path: &str, recursive: bool) -> bool {
    s.project == project
        && s.env == env
        && (s.path == path
            || (recursive && (path == "/" || s.path.starts_with(&format!("{path}/")))))
}

/// `${KEY}` (same folder) and `${env.a.b.KEY}` (folder `/a/b` of `env`); unknown references
/// stay as written.
fn expand(st: &State, project: &str, env: &str, path: &str, value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let reference = &after[..end];
        let parts: Vec<&str> = reference.split('.').collect();
        let (renv, rpath, rkey) = match parts.as_slice() {
            [key] => (env.to_owned(), path.to_owned(), (*key).to_owned()),
            [e, folders @ .., key] => (
                (*e).to_owned(),
                normalize_secret_path(&folders.join("/")),
                (*key).to_owned(),
            ),
            [] => (env.to_owned(), path.to_owned(), String::new()),
        };
        match st.secrets.iter().find(|s| {
            s.project == project && s.env == renv && s.path == rpath && s.key == rkey && !s.personal
        }) {
            Some(s) => out.push_str(&s.value),
            None => {
                out.push_str("${");
                out.push_str(reference);
                out.push('}');
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

fn secret_json(st: &State, s: &FakeSecret, q: &SecretsQuery) -> Value {
    let hidden = s.hidden || !q.view;
    let value = if hidden {
        crate::api::HIDDEN_VALUE.to_owned()
    } else if q.expand {
        expand(st, &s.project, &s.env, &s.path, &s.value)
    } else {
        s.value.clone()
    };
    json!({
        "id": s.id, "_id": s.id, "workspace": s.project, "environment": s.env,
        "version": s.version, "type": if s.personal { "personal" } else { "shared" },
        "secretKey": s.key, "secretValue": value, "secretComment": "",
        "secretReminderNote": null, "secretReminderRepeatDays": null,
        "skipMultilineEncoding": false,
        "createdAt": "2026-11-01T08:00:00.000Z", "updatedAt": "2026-11-20T08:00:00.000Z",
        "secretPath": s.path, "secretValueHidden": hidden,
        "secretMetadata": [], "tags": [], "isRotatedSecret": false, "rotationId": null,
    })
}

fn list(st: &State, q: &SecretsQuery, v4: bool) -> Reply {
    let secrets: Vec<Value> = st
        .secrets
        .iter()
        .filter(|s| in_folder(s, &q.project, &q.env, &q.path, q.recursive))
        .filter(|s| q.personal || !s.personal)
        .map(|s| secret_json(st, s, q))
        .collect();
    let mut body = json!({ "secrets": secrets });
    if q.imports {
        let imports: Vec<Value> = st
            .imports
            .iter()
            .filter(|i| i.project == q.project && i.env == q.env && i.path == q.path)
            .map(|i| {
                let secrets: Vec<Value> = st
                    .secrets
                    .iter()
                    .filter(|s| {
                        in_folder(s, &q.project, &i.from_env, &i.from_path, false) && !s.personal
                    })
                    .map(|s| secret_json(st, s, q))
                    .collect();
                json!({ "secretPath": i.from_path, "environment": i.from_env,
                        "folderId": format!("folder-{}", i.from_path), "secrets": secrets })
            })
            .collect();
        body["imports"] = Value::Array(imports);
    }
    let mut reply = Reply::ok(body);
    if v4 {
        reply
            .headers
            .push(("etag", format!("\"{}\"", st.secrets.len())));
    }
    reply
}

fn get_one(st: &State, q: &SecretsQuery, name: &str) -> Reply {
    let local = st
        .secrets
        .iter()
        .find(|s| in_folder(s, &q.project, &q.env, &q.path, false) && s.key == name && !s.personal);
    let found = local.or_else(|| {
        if !q.imports {
            return None;
        }
        st.imports
            .iter()
            .rev()
            .filter(|i| i.project == q.project && i.env == q.env && i.path == q.path)
            .find_map(|i| {
                st.secrets.iter().find(|s| {
                    in_folder(s, &q.project, &i.from_env, &i.from_path, false)
                        && s.key == name
                        && !s.personal
                })
            })
    });
    match found {
        Some(s) => Reply::ok(json!({ "secret": secret_json(st, s, q) })),
        None => Reply::error(
            404,
            "NotFound",
            format!("Secret with name '{name}' not found"),
        ),
    }
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
