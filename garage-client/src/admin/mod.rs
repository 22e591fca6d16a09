//! Garage's admin API: v2 (`/v2/<Operation>`, Garage 2.x) with a fallback to v1 (Garage 1.x),
//! detected once per client.

mod buckets;
mod keys;
mod node;
mod tokens;
mod types;

use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt};
use http::{HeaderMap, HeaderValue, Method};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::OnceCell;
use url::Url;

pub use buckets::*;
pub use node::*;
pub use tokens::*;
pub use types::*;

use crate::config::{HttpConfig, RetryConfig, Vars, parse_endpoint};
use crate::error::{AdminError, Error, Result};
use crate::transport::{Body, Request, Transport};

/// Admin API version spoken by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiVersion {
    /// `/v1/…` (Garage 0.9–1.x).
    V1,
    /// `/v2/…` (Garage ≥ 2.0).
    V2,
}

impl ApiVersion {
    /// `v1` or `v2`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V1 => "v1",
            ApiVersion::V2 => "v2",
        }
    }
}

/// Which bucket `GetBucketInfo` should look up.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum BucketRef<'a> {
    /// By id.
    Id(&'a BucketId),
    /// By global alias.
    GlobalAlias(&'a str),
}

/// A request in API-neutral form: the v2 operation name, its query and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Call {
    pub op: &'static str,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<Value>,
}

impl Call {
    fn new(op: &'static str) -> Self {
        Call {
            op,
            query: Vec::new(),
            body: None,
        }
    }
    fn q(mut self, k: &'static str, v: impl Into<String>) -> Self {
        self.query.push((k, v.into()));
        self
    }
    fn body(mut self, v: Value) -> Self {
        self.body = Some(v);
        self
    }
}

/// The v2 operations Garage routes as `GET` (everything else is `POST`), from
/// `garage_api_admin-2.5.0:router_v2.rs`.
const V2_GETS: &[&str] = &[
    "GetClusterHealth",
    "GetClusterStatus",
    "GetClusterStatistics",
    "GetClusterLayout",
    "GetClusterLayoutHistory",
    "ListAdminTokens",
    "GetAdminTokenInfo",
    "GetCurrentAdminTokenInfo",
    "ListBuckets",
    "ListBucketsInfo",
    "GetBucketInfo",
    "InspectObject",
    "ListKeys",
    "ListKeysInfo",
    "GetKeyInfo",
    "GetNodeInfo",
    "GetNodeStatistics",
    "ListBlockErrors",
];

/// Method, path and query of one admin request.
pub(crate) type Route = (Method, String, Vec<(String, String)>);

/// Maps a call to method, path and query for the given version (pure; unit-tested).
pub(crate) fn route(v: ApiVersion, call: &Call) -> Result<Route> {
    let q: Vec<(String, String)> = call
        .query
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    if v == ApiVersion::V2 {
        let m = if V2_GETS.contains(&call.op) {
            Method::GET
        } else {
            Method::POST
        };
        return Ok((m, format!("/v2/{}", call.op), q));
    }
    let (m, p) = match call.op {
        "GetClusterHealth" => (Method::GET, "/v1/health"),
        "GetClusterStatus" => (Method::GET, "/v1/status"),
        "GetClusterLayout" => (Method::GET, "/v1/layout"),
        "ListBuckets" | "GetBucketInfo" => (Method::GET, "/v1/bucket"),
        "CreateBucket" => (Method::POST, "/v1/bucket"),
        "UpdateBucket" => (Method::PUT, "/v1/bucket"),
        "DeleteBucket" => (Method::DELETE, "/v1/bucket"),
        "AllowBucketKey" => (Method::POST, "/v1/bucket/allow"),
        "DenyBucketKey" => (Method::POST, "/v1/bucket/deny"),
        "AddBucketAlias" => (Method::PUT, "/v1/bucket/alias/global"),
        "RemoveBucketAlias" => (Method::DELETE, "/v1/bucket/alias/global"),
        "ListKeys" | "GetKeyInfo" => (Method::GET, "/v1/key"),
        "CreateKey" => (Method::POST, "/v1/key"),
        "UpdateKey" => (Method::POST, "/v1/key"),
        "ImportKey" => (Method::POST, "/v1/key/import"),
        "DeleteKey" => (Method::DELETE, "/v1/key"),
        op => {
            return Err(Error::Unsupported {
                operation: op,
                version: "v1",
            });
        }
    };
    Ok((m, p.to_owned(), q))
}

/// First version probe: Garage ≥ 2.1 answers it for any valid token, whatever the token's scope
/// (`garage_api_admin-2.5.0:api_server.rs`, `verify_authorization`).
const PROBE_TOKEN_INFO: &str = "/v2/GetCurrentAdminTokenInfo";
/// Second probe, when the first is unknown to the server: Garage 2.0 has it, Garage 1.x does not.
const PROBE_HEALTH: &str = "/v2/GetClusterHealth";

/// Classifies the answer to a `GET /v2/…` probe.
///
/// 200 → v2. 400 "Unknown API endpoint" → the server does not know this v2 operation (v1, or a
/// 2.0 server for [`PROBE_TOKEN_INFO`]). 403 `AccessDenied` → v2 as well: Garage 1.x routes the
/// path before it checks the token and answers 400 for any `/v2/` path
/// (`garage@v1.2.0:src/api/admin/api_server.rs`), so only a v2 server gets as far as refusing a
/// token (a scoped token without this operation, an expired or a wrong one); the caller's own
/// call then reports the refusal.
pub(crate) fn classify_probe(status: u16, body: &str) -> Option<ApiVersion> {
    match status {
        200 => Some(ApiVersion::V2),
        400 if body.contains("Unknown API endpoint") => Some(ApiVersion::V1),
        403 if parse_error(status, body, "GET", "").code == "AccessDenied" => Some(ApiVersion::V2),
        _ => None,
    }
}

/// Adds one page of a paged listing to `out` and says where the next page starts (`None`: the
/// listing is complete). Pages start at `offset` inclusive; items are in ascending id order.
/// A server without paging (Garage < 2.5) ignores `offset` and `limit`: a first page longer
/// than `limit` is the whole list, and a page with no id beyond `offset` ends the listing, so
/// no page is taken twice and the loop always ends (each next offset is larger).
pub(crate) fn next_page<T: Listed>(
    out: &mut Vec<T>,
    page: Vec<T>,
    offset: Option<&str>,
    limit: usize,
) -> Option<String> {
    let n = page.len();
    let before = out.len();
    out.extend(
        page.into_iter()
            .filter(|x| offset.is_none_or(|o| x.list_id() > o)),
    );
    if n != limit || out.len() == before {
        return None;
    }
    out.last().map(|x| x.list_id().to_owned())
}

/// Builds the typed error from an admin error response.
pub(crate) fn parse_error(status: u16, body: &str, method: &str, path: &str) -> AdminError {
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct E {
        code: String,
        message: String,
    }
    let (code, message) = match serde_json::from_str::<E>(body) {
        Ok(e) => (e.code, e.message),
        Err(_) => (String::new(), body.trim().chars().take(512).collect()),
    };
    AdminError {
        status,
        code,
        message,
        method: method.to_owned(),
        path: path.to_owned(),
        token_valid: None,
    }
}

/// Builder of an [`AdminClient`].
#[derive(Default)]
pub struct AdminClientBuilder {
    endpoint: Option<String>,
    token: Option<SecretString>,
    metrics_token: Option<SecretString>,
    http: HttpConfig,
    version: Option<ApiVersion>,
    page_size: Option<usize>,
}

impl std::fmt::Debug for AdminClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminClientBuilder")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl AdminClientBuilder {
    /// A builder from the environment: `GARAGE_ADMIN_ENDPOINT` (or `GARAGE_ADMIN_URL`),
    /// `GARAGE_ADMIN_TOKEN`, optional `GARAGE_METRICS_TOKEN`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the endpoint is missing.
    pub fn from_env() -> Result<Self> {
        Self::from_parsed(&Vars::env())
    }

    /// A builder from these name/value pairs, read like [`Self::from_env`] reads the
    /// environment.
    ///
    /// ```
    /// let admin = garage_client::AdminClientBuilder::from_vars([
    ///     ("GARAGE_ADMIN_ENDPOINT", "http://127.0.0.1:3903"),
    ///     ("GARAGE_ADMIN_TOKEN", "s3cr3t"),
    /// ])?
    /// .build()?;
    /// # let _ = admin;
    /// # Ok::<(), garage_client::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the endpoint is missing.
    pub fn from_vars<K: AsRef<str>, V: AsRef<str>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self> {
        Self::from_parsed(&Vars::from_pairs(vars))
    }

    fn from_parsed(vars: &Vars) -> Result<Self> {
        let endpoint = vars
            .first(&["GARAGE_ADMIN_ENDPOINT", "GARAGE_ADMIN_URL"])
            .ok_or_else(|| Error::Config("set GARAGE_ADMIN_ENDPOINT".into()))?;
        let mut b = AdminClient::builder().with_endpoint(endpoint);
        if let Some(t) = vars.first(&["GARAGE_ADMIN_TOKEN"]) {
            b = b.with_token(t.into());
        }
        if let Some(t) = vars.first(&["GARAGE_METRICS_TOKEN"]) {
            b = b.with_metrics_token(t.into());
        }
        Ok(b)
    }

    /// Admin endpoint, e.g. `http://127.0.0.1:3903`.
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }
    /// Bearer token (master `admin_token` or a scoped admin token).
    pub fn with_token(mut self, token: SecretString) -> Self {
        self.token = Some(token);
        self
    }
    /// Token for `/metrics` (defaults to the admin token).
    pub fn with_metrics_token(mut self, token: SecretString) -> Self {
        self.metrics_token = Some(token);
        self
    }
    /// Timeouts and retries.
    pub fn with_http_config(mut self, http: HttpConfig) -> Self {
        self.http = http;
        self
    }
    /// TCP connect timeout ([`HttpConfig::connect_timeout`]).
    pub fn with_connect_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.http.connect_timeout = timeout;
        self
    }
    /// Whole-request timeout ([`HttpConfig::request_timeout`]).
    pub fn with_request_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.http.request_timeout = timeout;
        self
    }
    /// Retries of idempotent (read) requests ([`HttpConfig::retry`]).
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.http.retry = retry;
        self
    }
    /// Skips detection and speaks this version.
    pub fn with_api_version(mut self, v: ApiVersion) -> Self {
        self.version = Some(v);
        self
    }
    /// Items per request of the paged listings ([`AdminClient::list_buckets`],
    /// [`AdminClient::list_keys`]); default 1,000, at least 2, at most 10,000.
    pub fn with_page_size(mut self, n: usize) -> Self {
        self.page_size = Some(n);
        self
    }
    /// Builds the client.
    pub fn build(self) -> Result<AdminClient> {
        let endpoint = parse_endpoint(
            self.endpoint
                .as_deref()
                .ok_or_else(|| Error::Config("admin endpoint missing".into()))?,
            "admin endpoint",
        )?;
        let page_size = self.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(2..=10_000).contains(&page_size) {
            return Err(Error::Config(format!(
                "admin page size must be between 2 and 10000, not {page_size}"
            )));
        }
        let version = OnceCell::new();
        if let Some(v) = self.version {
            let _ = version.set(v);
        }
        Ok(AdminClient {
            inner: Arc::new(AdminInner {
                transport: Transport::new(&self.http)?,
                endpoint,
                token: self.token,
                metrics_token: self.metrics_token,
                version,
                page_size,
            }),
        })
    }
}

struct AdminInner {
    transport: Transport,
    endpoint: Url,
    token: Option<SecretString>,
    metrics_token: Option<SecretString>,
    version: OnceCell<ApiVersion>,
    page_size: usize,
}

const DEFAULT_PAGE_SIZE: usize = 1000;

/// An item of a listing Garage pages by id (`offset` = id of the first item to return,
/// inclusive; items in ascending id order: `garage_api_admin-2.5.0:bucket.rs`, `key.rs`).
pub(crate) trait Listed {
    fn list_id(&self) -> &str;
}

impl Listed for BucketListEntry {
    fn list_id(&self) -> &str {
        self.id.as_str()
    }
}

impl Listed for KeyListEntry {
    fn list_id(&self) -> &str {
        self.id.as_str()
    }
}

/// Client of Garage's admin API (cheap to clone).
///
/// ```no_run
/// # async fn demo() -> garage_client::Result<()> {
/// use garage_client::AdminClient;
/// let admin = AdminClient::builder()
///     .with_endpoint("http://127.0.0.1:3903")
///     .with_token("admin-token".to_owned().into())
///     .build()?;
/// let health = admin.cluster_health().await?;
/// for b in admin.list_buckets().await? {
///     let info = admin.bucket_info(garage_client::admin::BucketRef::Id(&b.id)).await?;
///     println!("{:?}: {} objects, {} bytes", b.global_aliases, info.objects, info.bytes);
/// }
/// # let _ = health; Ok(()) }
/// ```
#[derive(Clone)]
pub struct AdminClient {
    inner: Arc<AdminInner>,
}

impl std::fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminClient")
            .field("endpoint", &self.inner.endpoint.as_str())
            .field("version", &self.inner.version.get())
            .finish_non_exhaustive()
    }
}

impl AdminClient {
    /// Starts a builder.
    pub fn builder() -> AdminClientBuilder {
        AdminClientBuilder::default()
    }

    /// From the environment: [`AdminClientBuilder::from_env`], then `build()`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when `GARAGE_ADMIN_ENDPOINT` is missing or not a URL.
    pub fn from_env() -> Result<Self> {
        AdminClientBuilder::from_env()?.build()
    }

    fn url(&self, path: &str, query: &[(String, String)]) -> Url {
        let mut url = self.inner.endpoint.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base}{path}"));
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    async fn raw(
        &self,
        method: Method,
        path: &str,
        query: &[(String, String)],
        token: Option<&SecretString>,
        body: Option<&Value>,
    ) -> Result<(u16, Bytes)> {
        let url = self.url(path, query);
        let body = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        // `/health` is a probe: its 503 is the answer, not a reason to ask again.
        let idempotent = matches!(method, Method::GET | Method::HEAD) && path != "/health";
        let timeout = Some(self.inner.transport.config().request_timeout);
        let resp = self
            .inner
            .transport
            .send(idempotent, || {
                let mut h = HeaderMap::new();
                if let Some(t) = token {
                    let v = HeaderValue::from_str(&format!("Bearer {}", t.expose_secret().trim()))
                        .map_err(|_| {
                            Error::Config("admin token is not a valid header value".into())
                        })?;
                    let mut v = v;
                    v.set_sensitive(true);
                    h.insert(http::header::AUTHORIZATION, v);
                }
                if !body.is_empty() {
                    h.insert(
                        http::header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    );
                }
                Ok(Request {
                    method: method.clone(),
                    url: url.clone(),
                    headers: h,
                    body: if body.is_empty() {
                        Body::Empty
                    } else {
                        Body::Bytes(body.clone())
                    },
                    timeout,
                })
            })
            .await?;
        let status = resp.status.as_u16();
        Ok((status, resp.bytes().await?))
    }

    /// The admin API version, probed once and cached: `GET /v2/GetCurrentAdminTokenInfo`
    /// (Garage ≥ 2.1 answers it for any valid token, so a scoped token works), then, if the
    /// server does not know that operation, `GET /v2/GetClusterHealth` (Garage 2.0 vs 1.x).
    ///
    /// # Errors
    ///
    /// [`Error::Admin`] when neither probe answers as a v1 or v2 server would
    /// (e.g. 503); [`Error::Transport`] when no answer came.
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// println!("admin API {}", admin.api_version().await?.as_str());
    /// # Ok(()) }
    /// ```
    pub async fn api_version(&self) -> Result<ApiVersion> {
        self.inner
            .version
            .get_or_try_init(|| async {
                let mut last = (0, String::new(), PROBE_HEALTH);
                for path in [PROBE_TOKEN_INFO, PROBE_HEALTH] {
                    let (status, body) = self
                        .raw(Method::GET, path, &[], self.inner.token.as_ref(), None)
                        .await?;
                    let text = String::from_utf8_lossy(&body).into_owned();
                    match classify_probe(status, &text) {
                        Some(ApiVersion::V2) => return Ok(ApiVersion::V2),
                        Some(ApiVersion::V1) if path == PROBE_HEALTH => return Ok(ApiVersion::V1),
                        Some(ApiVersion::V1) => {}
                        None => {
                            last = (status, text, path);
                            break;
                        }
                    }
                }
                let (status, text, path) = last;
                Err(Error::Admin(Box::new(parse_error(
                    status, &text, "GET", path,
                ))))
            })
            .await
            .copied()
    }

    async fn call_value(&self, call: Call) -> Result<Value> {
        let v = self.api_version().await?;
        let (method, path, query) = route(v, &call)?;
        let (status, body) = self
            .raw(
                method.clone(),
                &path,
                &query,
                self.inner.token.as_ref(),
                call.body.as_ref(),
            )
            .await?;
        if !(200..300).contains(&status) {
            let text = String::from_utf8_lossy(&body);
            let mut e = parse_error(status, &text, method.as_str(), &path);
            if e.is_token_refusal() && v == ApiVersion::V2 && path != PROBE_TOKEN_INFO {
                e.token_valid = self.token_is_valid().await;
            }
            return Err(Error::Admin(Box::new(e)));
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&body).map_err(|e| Error::decode(format!("{} response", call.op), e))
    }

    /// After a 403 "Invalid bearer token", which Garage answers both to a bad token and to one
    /// outside its scope: `GetCurrentAdminTokenInfo` accepts any valid token (Garage ≥ 2.1).
    /// `None` when the answer says neither (Garage 2.0 does not know the operation).
    async fn token_is_valid(&self) -> Option<bool> {
        let (status, _) = self
            .raw(
                Method::GET,
                PROBE_TOKEN_INFO,
                &[],
                self.inner.token.as_ref(),
                None,
            )
            .await
            .ok()?;
        match status {
            200 => Some(true),
            401 | 403 => Some(false),
            _ => None,
        }
    }

    async fn call<T: DeserializeOwned>(&self, call: Call) -> Result<T> {
        let op = call.op;
        let v = self.call_value(call).await?;
        serde_path_to_error::deserialize(v).map_err(|e| Error::decode(format!("{op} response"), e))
    }

    /// Every item of a paged listing (`ListBuckets`, `ListKeys`) as a stream that fetches pages
    /// as it goes. v1 has no paging. A v2 server older than 2.5 ignores `offset`/`limit` and
    /// sends everything: a page longer than asked, or a repeated page (no id beyond the last one
    /// seen), ends the listing.
    fn list_stream<T>(&self, op: &'static str) -> BoxStream<'static, Result<T>>
    where
        T: DeserializeOwned + Listed + Send + 'static,
    {
        struct St {
            client: AdminClient,
            offset: Option<String>,
            done: bool,
        }
        let st = St {
            client: self.clone(),
            offset: None,
            done: false,
        };
        futures_util::stream::unfold(st, move |mut st| async move {
            if st.done {
                return None;
            }
            let page: Result<Vec<T>> = async {
                if st.client.api_version().await? == ApiVersion::V1 {
                    st.done = true;
                    return st.client.call(Call::new(op)).await;
                }
                let limit = st.client.inner.page_size;
                let mut call = Call::new(op).q("limit", limit.to_string());
                if let Some(o) = &st.offset {
                    call = call.q("offset", o.clone());
                }
                let page: Vec<T> = st.client.call(call).await?;
                let mut items = Vec::new();
                match next_page(&mut items, page, st.offset.as_deref(), limit) {
                    Some(next) => st.offset = Some(next),
                    None => st.done = true,
                }
                Ok(items)
            }
            .await;
            let items: Vec<Result<T>> = match page {
                Ok(items) => items.into_iter().map(Ok).collect(),
                Err(e) => {
                    st.done = true;
                    vec![Err(e)]
                }
            };
            Some((futures_util::stream::iter(items), st))
        })
        .flatten()
        .boxed()
    }

    /// Token-less `GET /health` (200 healthy or degraded, 503 unavailable).
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] only: any HTTP answer, 503 included, is the
    /// result.
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// if !admin.health().await?.is_operational() {
    ///     eprintln!("Garage is not operational");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn health(&self) -> Result<HealthCheck> {
        let (status, body) = self.raw(Method::GET, "/health", &[], None, None).await?;
        Ok(HealthCheck {
            status,
            message: String::from_utf8_lossy(&body).trim().to_owned(),
        })
    }

    /// Prometheus metrics (`/metrics`) as text.
    ///
    /// # Errors
    ///
    /// [`Error::Admin`] for any status but 200 (403 for a bad metrics token);
    /// [`Error::Transport`] when no answer came.
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let text = admin.metrics().await?;
    /// println!("{} lines", text.lines().count());
    /// # Ok(()) }
    /// ```
    pub async fn metrics(&self) -> Result<String> {
        let token = self
            .inner
            .metrics_token
            .as_ref()
            .or(self.inner.token.as_ref());
        let (status, body) = self.raw(Method::GET, "/metrics", &[], token, None).await?;
        let text = String::from_utf8_lossy(&body).into_owned();
        if status != 200 {
            let mut e = parse_error(status, &text, "GET", "/metrics");
            // The admin token may be valid without the `Metrics` scope; a separate metrics
            // token has no scope to lack.
            if e.is_token_refusal() && self.inner.metrics_token.is_none() {
                e.token_valid = self.token_is_valid().await;
            }
            return Err(Error::Admin(Box::new(e)));
        }
        Ok(text)
    }

    /// `GetClusterHealth`.
    ///
    /// # Errors
    ///
    /// [`Error::Admin`] when Garage refuses the call (see
    /// [`Error::is_not_found`],
    /// [`Error::is_unauthenticated`]);
    /// [`Error::Transport`] when no answer came (reads are retried);
    /// [`Error::Decode`] when the answer does not have the documented shape.
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let h = admin.cluster_health().await?;
    /// println!("{:?}: {}/{} storage nodes up", h.status, h.storage_nodes_up, h.storage_nodes);
    /// # Ok(()) }
    /// ```
    pub async fn cluster_health(&self) -> Result<ClusterHealth> {
        self.call(Call::new("GetClusterHealth")).await
    }

    /// `GetClusterStatus`.
    ///
    /// # Errors
    ///
    /// [`Error::Admin`] when Garage refuses the call (see
    /// [`Error::is_not_found`],
    /// [`Error::is_unauthenticated`]);
    /// [`Error::Transport`] when no answer came (reads are retried);
    /// [`Error::Decode`] when the answer does not have the documented shape.
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let s = admin.cluster_status().await?;
    /// println!("layout v{}, {} nodes", s.layout_version, s.nodes.len());
    /// # Ok(()) }
    /// ```
    pub async fn cluster_status(&self) -> Result<ClusterStatus> {
        self.call(Call::new("GetClusterStatus")).await
    }

    /// `GetClusterStatistics` (v2 only).
    ///
    /// # Errors
    ///
    /// [`Error::Admin`] when Garage refuses the call (see
    /// [`Error::is_not_found`],
    /// [`Error::is_unauthenticated`]);
    /// [`Error::Transport`] when no answer came (reads are retried);
    /// [`Error::Decode`] when the answer does not have the documented shape;
    /// [`Error::Unsupported`] against Garage 1.x (admin API v1).
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let s = admin.cluster_statistics().await?;
    /// println!("{:?} buckets", s.bucket_count);
    /// # Ok(()) }
    /// ```
    pub async fn cluster_statistics(&self) -> Result<ClusterStatistics> {
        self.call(Call::new("GetClusterStatistics")).await
    }

    /// `GetClusterLayout`.
    ///
    /// # Errors
    ///
    /// [`Error::Admin`] when Garage refuses the call (see
    /// [`Error::is_not_found`],
    /// [`Error::is_unauthenticated`]);
    /// [`Error::Transport`] when no answer came (reads are retried);
    /// [`Error::Decode`] when the answer does not have the documented shape.
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let l = admin.cluster_layout().await?;
    /// println!("layout v{}, {} roles", l.version, l.roles.len());
    /// # Ok(()) }
    /// ```
    pub async fn cluster_layout(&self) -> Result<ClusterLayout> {
        self.call(Call::new("GetClusterLayout")).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_routes_use_get_for_reads_and_post_for_writes() {
        let (m, p, q) = route(
            ApiVersion::V2,
            &Call::new("GetBucketInfo").q("globalAlias", "b"),
        )
        .unwrap();
        assert_eq!((m, p.as_str()), (Method::GET, "/v2/GetBucketInfo"));
        assert_eq!(q, vec![("globalAlias".to_owned(), "b".to_owned())]);
        let (m, p, _) = route(ApiVersion::V2, &Call::new("DeleteBucket").q("id", "x")).unwrap();
        assert_eq!((m, p.as_str()), (Method::POST, "/v2/DeleteBucket"));
    }

    #[test]
    fn v1_routes_follow_the_rest_style_api() {
        let r = |op| route(ApiVersion::V1, &Call::new(op)).map(|(m, p, _)| (m, p));
        assert_eq!(
            r("DeleteBucket").unwrap(),
            (Method::DELETE, "/v1/bucket".to_owned())
        );
        assert_eq!(
            r("UpdateBucket").unwrap(),
            (Method::PUT, "/v1/bucket".to_owned())
        );
        assert_eq!(
            r("GetClusterHealth").unwrap(),
            (Method::GET, "/v1/health".to_owned())
        );
        assert_eq!(
            r("ImportKey").unwrap(),
            (Method::POST, "/v1/key/import".to_owned())
        );
        assert!(matches!(
            r("GetClusterStatistics"),
            Err(Error::Unsupported { version: "v1", .. })
        ));
    }

    fn keys(ids: &[&str]) -> Vec<KeyListEntry> {
        ids.iter()
            .map(|id| KeyListEntry {
                id: AccessKeyId::new(*id),
                ..Default::default()
            })
            .collect()
    }

    /// Drives `next_page` against a simulated server and returns the ids and the requests made.
    fn run_pages(
        server: impl Fn(Option<&str>, usize) -> Vec<KeyListEntry>,
        limit: usize,
    ) -> (Vec<String>, usize) {
        let mut out = Vec::new();
        let mut offset: Option<String> = None;
        for requests in 1..100 {
            let page = server(offset.as_deref(), limit);
            match next_page(&mut out, page, offset.as_deref(), limit) {
                Some(next) => offset = Some(next),
                None => {
                    return (
                        out.into_iter().map(|k| k.id.into_string()).collect(),
                        requests,
                    );
                }
            }
        }
        panic!("paging did not end");
    }

    #[test]
    fn paging_follows_inclusive_offsets_and_survives_servers_without_paging() {
        let all = ["a", "b", "c", "d", "e"];
        // Garage 2.5: `offset` inclusive, at most `limit` items.
        let paged = |offset: Option<&str>, limit: usize| {
            keys(
                &all.iter()
                    .copied()
                    .filter(|id| offset.is_none_or(|o| *id >= o))
                    .take(limit)
                    .collect::<Vec<_>>(),
            )
        };
        for limit in 2..=6 {
            let (ids, _) = run_pages(paged, limit);
            assert_eq!(ids, all, "limit {limit}");
        }
        assert_eq!(
            run_pages(paged, 2).1,
            5,
            "a b, b c, c d, d e, then e alone ends it"
        );
        // Garage < 2.5 ignores both parameters: everything, every time.
        let unpaged = |_: Option<&str>, _: usize| keys(&all);
        for limit in [2, 5, 6] {
            let (ids, requests) = run_pages(unpaged, limit);
            assert_eq!(ids, all, "limit {limit}");
            assert!(requests <= 2, "limit {limit}: {requests} requests");
        }
        // An empty listing.
        assert_eq!(run_pages(|_, _| Vec::new(), 2), (Vec::new(), 1));
    }

    #[test]
    fn probe_classification() {
        assert_eq!(classify_probe(200, "{}"), Some(ApiVersion::V2));
        let v1 = r#"{"code":"InvalidRequest","message":"Bad request: Unknown API endpoint: GET /v2/GetClusterHealth","region":"garage","path":"/v2/GetClusterHealth"}"#;
        assert_eq!(classify_probe(400, v1), Some(ApiVersion::V1));
        assert_eq!(classify_probe(403, "{}"), None);
        let denied = r#"{"code":"AccessDenied","message":"Forbidden: Invalid bearer token","region":"garage","path":"/v2/GetClusterHealth"}"#;
        assert_eq!(classify_probe(403, denied), Some(ApiVersion::V2));
        assert_eq!(classify_probe(503, "Quorum is not available"), None);
    }

    #[test]
    fn error_bodies_json_or_text() {
        let e = parse_error(
            409,
            r#"{"code":"BucketNotEmpty","message":"Bucket not empty","region":"garage","path":"/v2/DeleteBucket"}"#,
            "POST",
            "/v2/DeleteBucket",
        );
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("BucketNotEmpty", "Bucket not empty")
        );
        let e = parse_error(503, "Quorum is not available\n", "GET", "/health");
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("", "Quorum is not available")
        );
    }

    #[test]
    fn from_vars_and_debug_hide_the_token() {
        let vars = [
            ("GARAGE_ADMIN_ENDPOINT", "http://127.0.0.1:3903"),
            ("GARAGE_ADMIN_TOKEN", "tok-secret"),
        ];
        let c = AdminClientBuilder::from_vars(vars)
            .unwrap()
            .with_connect_timeout(std::time::Duration::from_secs(1))
            .with_request_timeout(std::time::Duration::from_secs(2))
            .with_retry(RetryConfig::disabled())
            .build()
            .unwrap();
        let cfg = c.inner.transport.config();
        assert_eq!(cfg.connect_timeout, std::time::Duration::from_secs(1));
        assert_eq!(cfg.request_timeout, std::time::Duration::from_secs(2));
        assert_eq!(cfg.retry.max_retries, 0);
        assert!(!format!("{c:?}").contains("tok-secret"));
        assert_eq!(
            c.url("/v2/ListKeys", &[]).as_str(),
            "http://127.0.0.1:3903/v2/ListKeys"
        );
        assert!(matches!(
            AdminClientBuilder::from_vars([("GARAGE_ADMIN_TOKEN", "t")]),
            Err(Error::Config(_))
        ));
    }
}
