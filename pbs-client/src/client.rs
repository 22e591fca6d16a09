//! The client, its builder and the endpoints.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::BoxStream;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use crate::auth::{Credentials, Repository, encode_component};
use crate::datastore::Datastore;
use crate::error::{Error, Result};
use crate::fingerprint::Fingerprint;
use crate::retry::RetryConfig;
use crate::tls::{self, TlsVerification};
use crate::transport::Transport;
use crate::types::*;
use crate::upid::Upid;

/// Default request timeout. PBS delays 401 answers by 3 s; PVE uses 7 s. Listing snapshots
/// reads every manifest, so we allow more.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The most bytes [`Datastore::download_blob`] reads (blobs are configs and manifests: small).
pub const MAX_BLOB_BYTES: usize = 16 << 20;

/// Tickets live 2 h; renew after 1 h like proxmoxer (the official client renews every 15 min).
pub const DEFAULT_TICKET_RENEW_AFTER: Duration = Duration::from_secs(3600);

/// A Proxmox Backup Server API client. Cheap to clone.
///
/// The calls of one datastore are on the [`Datastore`] handle from [`Client::datastore`].
///
/// Every request can fail with [`Error::Transport`] (connect, reset, timeout), [`Error::Tls`]
/// (refused certificate or pin mismatch), [`Error::Auth`] (401), [`Error::PermissionDenied`]
/// (403), [`Error::NotFound`], [`Error::Api`] (any other error answer) and [`Error::Decode`]
/// (an answer of the wrong shape); reads are retried first as [`ClientBuilder::with_retry`]
/// says.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Transport>,
    datastore: Option<String>,
    poll_interval: Duration,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base.as_str())
            .field("auth_id", &self.inner.credentials.auth_id())
            .field("datastore", &self.datastore)
            .finish_non_exhaustive()
    }
}

/// Builder for [`Client`].
#[must_use]
pub struct ClientBuilder {
    base_url: Option<String>,
    credentials: Option<Credentials>,
    tls: TlsVerification,
    timeout: Duration,
    connect_timeout: Duration,
    ticket_renew_after: Duration,
    poll_interval: Duration,
    retry: RetryConfig,
    datastore: Option<String>,
    /// May carry proxy credentials: never printed.
    proxy: Option<SecretString>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("credentials", &self.credentials)
            .field("tls", &self.tls)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            base_url: None,
            credentials: None,
            tls: TlsVerification::SystemRoots,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: Duration::from_secs(10),
            ticket_renew_after: DEFAULT_TICKET_RENEW_AFTER,
            poll_interval: Duration::from_secs(1),
            retry: RetryConfig::default(),
            datastore: None,
            proxy: None,
        }
    }
}

impl ClientBuilder {
    /// Server URL, e.g. `https://pbs.example:8007`. The port written is kept (`:443` for a PBS
    /// behind a reverse proxy included); PBS's 8007 is used only when none is given.
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Credentials (token or password).
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// API token `user@realm!name` with its secret.
    pub fn with_token(self, id: impl Into<String>, secret: SecretString) -> Self {
        self.with_credentials(Credentials::token(id, secret))
    }

    /// User `user@realm` with a password (ticket auth).
    pub fn with_password(self, username: impl Into<String>, password: SecretString) -> Self {
        self.with_credentials(Credentials::password(username, password))
    }

    /// Pin the server certificate by its SHA-256 fingerprint.
    pub fn with_fingerprint(mut self, fingerprint: Fingerprint) -> Self {
        self.tls = TlsVerification::Pinned(fingerprint);
        self
    }

    /// Certificate verification mode (default: system CA roots).
    pub fn with_tls(mut self, tls: TlsVerification) -> Self {
        self.tls = tls;
        self
    }

    /// Accept any server certificate. Insecure; prefer [`ClientBuilder::with_fingerprint`].
    pub fn danger_accept_invalid_certs(mut self) -> Self {
        self.tls = TlsVerification::DangerAcceptInvalidCerts;
        self
    }

    /// Total timeout per request (default 30 s; keep it above PBS's 3 s delay on 401).
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connect timeout (default 10 s).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Renew the ticket once it is older than this (default 1 h; PBS tickets live 2 h).
    pub fn with_ticket_renew_after(mut self, age: Duration) -> Self {
        self.ticket_renew_after = age;
        self
    }

    /// Interval between status polls in [`Client::wait_task`] (default 1 s).
    pub fn with_task_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Retries of idempotent requests (default [`RetryConfig::default`]: 3 retries within
    /// 30 s; [`RetryConfig::disabled`] sends every request once).
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// Sends every request through this HTTP proxy (`http://[user:password@]host:port`).
    /// HTTPS travels in a `CONNECT` tunnel, so TLS and the pinned certificate still end at PBS;
    /// the proxy sees the `host:port` the client connects to and nothing else. The URL is
    /// treated as a secret (it may carry proxy credentials) and never appears in errors.
    pub fn with_proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(SecretString::from(url.into()));
        self
    }

    /// Default datastore (from `PBS_REPOSITORY`), see [`Client::default_datastore`].
    pub fn with_datastore(mut self, store: impl Into<String>) -> Self {
        self.datastore = Some(store.into());
        self
    }

    /// Configures the builder from `PBS_REPOSITORY`, `PBS_PASSWORD` (or the first line of
    /// `PBS_PASSWORD_FILE`) and `PBS_FINGERPRINT`, like proxmox-backup-client. A repository
    /// user containing `!` is an API token and `PBS_PASSWORD` is its secret.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when `PBS_REPOSITORY` or the secret is missing or the repository
    /// string is invalid, [`Error::InvalidFingerprint`] for a bad `PBS_FINGERPRINT`.
    pub fn from_env() -> Result<Self> {
        // Like `std::env::var(..).ok()`: a value that is not UTF-8 counts as unset.
        Self::from_vars(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    /// [`ClientBuilder::from_env`] from `(name, value)` pairs instead of the process
    /// environment (tests, config files); other names are ignored.
    ///
    /// ```
    /// let builder = pbs_client::ClientBuilder::from_vars([
    ///     ("PBS_REPOSITORY", "monitor@pbs!ro@pbs.example:store1"),
    ///     ("PBS_PASSWORD", "token-secret"),
    /// ])?;
    /// let client = builder.build()?;
    /// assert_eq!(client.default_datastore(), Some("store1"));
    /// # Ok::<(), pbs_client::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`ClientBuilder::from_env`].
    pub fn from_vars<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Result<Self>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let vars: std::collections::HashMap<String, String> = vars
            .into_iter()
            .filter(|(k, _)| k.as_ref().starts_with("PBS_"))
            .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned()))
            .collect();
        let lookup = |k: &str| vars.get(k).cloned();
        let repo: Repository = lookup("PBS_REPOSITORY")
            .ok_or_else(|| Error::config("PBS_REPOSITORY is not set"))?
            .parse()?;
        let secret = match lookup("PBS_PASSWORD") {
            Some(p) => p,
            None => match lookup("PBS_PASSWORD_FILE") {
                Some(path) => std::fs::read_to_string(&path)
                    .map_err(|e| Error::config(format!("reading PBS_PASSWORD_FILE: {e}")))?
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                None => return Err(Error::config("PBS_PASSWORD is not set")),
            },
        };
        let secret = SecretString::from(secret);
        let mut b = ClientBuilder::default()
            .with_base_url(repo.base_url())
            .with_datastore(repo.datastore.clone());
        b = if repo.is_token() {
            b.with_token(repo.auth_id, secret)
        } else {
            b.with_password(repo.auth_id, secret)
        };
        if let Some(fp) = lookup("PBS_FINGERPRINT").filter(|f| !f.trim().is_empty()) {
            b = b.with_fingerprint(fp.parse()?);
        }
        Ok(b)
    }

    /// Builds the client (opens no connection).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] without a base URL or credentials, for a URL that is not `https` or
    /// carries credentials, a bad proxy URL, or a TLS setup that cannot be made.
    pub fn build(self) -> Result<Client> {
        let raw = self
            .base_url
            .ok_or_else(|| Error::config("no base URL (with_base_url)"))?;
        let credentials = self
            .credentials
            .ok_or_else(|| Error::config("no credentials (with_token or with_password)"))?;
        let mut base =
            Url::parse(&raw).map_err(|e| Error::config(format!("base URL {raw:?}: {e}")))?;
        if base.scheme() != "https" {
            return Err(Error::config("PBS only speaks https"));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(Error::config(
                "put credentials in with_token/with_password, not in the URL",
            ));
        }
        // `url` forgets a port equal to the scheme's default (`:443`), so look at what the
        // user wrote: only a URL without any port gets PBS's 8007.
        if !has_explicit_port(&raw) {
            base.set_port(Some(8007))
                .map_err(|()| Error::config("cannot set port"))?;
        }
        base.set_path("/api2/json/");
        base.set_query(None);
        let http = reqwest::Client::builder()
            .user_agent(concat!(
                env!("CARGO_PKG_NAME"),
                "/",
                env!("CARGO_PKG_VERSION")
            ))
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .redirect(reqwest::redirect::Policy::none());
        let http = match &self.proxy {
            Some(url) => http.proxy(reqwest::Proxy::all(url.expose_secret()).map_err(|_| {
                Error::config("invalid proxy URL (not shown: it may hold credentials)")
            })?),
            None => http,
        };
        let http = tls::configure(http, &self.tls)?
            .build()
            .map_err(|e| Error::config(format!("HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Transport::new(
                http,
                base,
                credentials,
                self.ticket_renew_after,
                self.retry,
            )),
            datastore: self.datastore,
            poll_interval: self.poll_interval,
        })
    }
}

/// True when the authority of `raw` (an absolute URL) names a non-empty port.
fn has_explicit_port(raw: &str) -> bool {
    let raw = raw.trim();
    let rest = raw.split_once("://").map_or(raw, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    // After an IPv6 literal's ']' only the port can follow.
    let after_host = host_port.rsplit_once(']').map_or(host_port, |(_, p)| p);
    after_host
        .split_once(':')
        .is_some_and(|(_, port)| !port.is_empty())
}

fn task_path(upid: &Upid, rest: &str) -> String {
    format!(
        "nodes/localhost/tasks/{}{rest}",
        encode_component(&upid.to_string())
    )
}

pub(crate) fn group_query(group: &GroupRef) -> Vec<(&'static str, String)> {
    let mut q = vec![
        ("backup-type", group.backup_type.to_string()),
        ("backup-id", group.backup_id.clone()),
    ];
    if let Some(ns) = &group.ns {
        q.push(("ns", ns.clone()));
    }
    q
}

impl Client {
    /// A builder.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from `PBS_REPOSITORY`, `PBS_PASSWORD` and `PBS_FINGERPRINT`: the
    /// shortcut for `ClientBuilder::from_env()?.build()`.
    ///
    /// # Errors
    ///
    /// As [`ClientBuilder::from_env`] and [`ClientBuilder::build`].
    pub fn from_env() -> Result<Client> {
        ClientBuilder::from_env()?.build()
    }

    /// The datastore named by `PBS_REPOSITORY` or [`ClientBuilder::with_datastore`].
    pub fn default_datastore(&self) -> Option<&str> {
        self.datastore.as_deref()
    }

    /// A handle on the datastore `name` for the calls scoped to one store (status, groups,
    /// snapshots, prune, verify, GC). Cheap: it shares this client's connection pool.
    pub fn datastore(&self, name: impl Into<String>) -> Datastore {
        Datastore::new(self.clone(), name.into())
    }

    /// The API base URL (`https://host:port/api2/json/`).
    pub fn base_url(&self) -> &str {
        self.inner.base.as_str()
    }

    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T> {
        let body = self.inner.request(Method::GET, path, query, None).await?;
        decode_data(&format!("GET /{path}"), &body)
    }

    pub(crate) async fn write<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<T> {
        let endpoint = format!("{method} /{path}");
        let bytes = self.inner.request(method, path, &[], body.as_ref()).await?;
        decode_data(&endpoint, &bytes)
    }

    pub(crate) async fn start_task(&self, path: &str, body: serde_json::Value) -> Result<Upid> {
        let text: String = self.write(Method::POST, path, Some(body)).await?;
        text.parse().map_err(|e: Error| Error::Decode {
            endpoint: format!("POST /{path}"),
            message: e.to_string(),
        })
    }

    /// `GET /ping`: true when the server answers `{"pong": true}`.
    ///
    /// ```no_run
    /// # async fn run(client: pbs_client::Client) -> pbs_client::Result<()> {
    /// assert!(client.ping().await?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] or [`Error::Tls`] when the server cannot be reached, and the errors of every request (see [`Client`]).
    pub async fn ping(&self) -> Result<bool> {
        #[derive(serde::Deserialize)]
        struct Pong {
            #[serde(default)]
            pong: bool,
        }
        Ok(self.get::<Pong>("ping", &[]).await?.pong)
    }

    /// `GET /version`.
    ///
    /// ```no_run
    /// # async fn run(client: pbs_client::Client) -> pbs_client::Result<()> {
    /// let v = client.version().await?;
    /// println!("PBS {}-{}", v.version, v.release);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Auth`] for rejected credentials, and the errors of every request (see [`Client`]).
    pub async fn version(&self) -> Result<VersionInfo> {
        self.get("version", &[]).await
    }

    /// `GET /admin/datastore`.
    ///
    /// ```no_run
    /// # async fn run(client: pbs_client::Client) -> pbs_client::Result<()> {
    /// for ds in client.datastores().await? {
    ///     println!("{} {:?}", ds.store, ds.maintenance);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Auth`] for rejected credentials, and the errors of every request (see [`Client`]).
    pub async fn datastores(&self) -> Result<Vec<DataStoreListItem>> {
        self.get("admin/datastore", &[]).await
    }

    /// `GET /status/datastore-usage`: usage, history and estimated full date of every store.
    ///
    /// ```no_run
    /// # async fn run(client: pbs_client::Client) -> pbs_client::Result<()> {
    /// for u in client.datastore_usage().await? {
    ///     println!("{}: full on {:?}", u.store, u.estimated_full_date);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Auth`] for rejected credentials, and the errors of every request (see [`Client`]).
    pub async fn datastore_usage(&self) -> Result<Vec<DataStoreUsage>> {
        self.get("status/datastore-usage", &[]).await
    }

    /// `GET /nodes/localhost/tasks`: one page of tasks (at most `filter.limit`, PBS's default
    /// 50, starting at `filter.start`). PBS's `total` is ExtJS paging, not a count: see
    /// [`TaskPage::has_more`], or let [`Client::tasks_stream`] walk the pages.
    ///
    /// ```no_run
    /// # async fn run(client: pbs_client::Client) -> pbs_client::Result<()> {
    /// use pbs_client::TaskFilter;
    /// let page = client.tasks(&TaskFilter::new().running()).await?;
    /// println!("{} running, more: {}", page.tasks.len(), page.has_more());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Api`] for a filter PBS rejects, and the errors of every request (see [`Client`]).
    pub async fn tasks(&self, filter: &TaskFilter) -> Result<TaskPage> {
        let path = "nodes/localhost/tasks";
        let body = self
            .inner
            .request(Method::GET, path, &filter.query(), None)
            .await?;
        let (tasks, total) = decode_list_with_total(&format!("GET /{path}"), &body)?;
        Ok(TaskPage {
            tasks,
            start: filter.start.unwrap_or(0),
            total,
        })
    }

    /// Every task matching `filter`, reading pages of `filter.limit` (default 50) from
    /// `filter.start` while PBS says more follow; the next page is read only when the stream
    /// is polled past the current one (`.take(n)` reads no further). Tasks that start while
    /// paging shift older ones onto the next page: duplicates (same UPID) are dropped, and a
    /// page that brings nothing new ends the stream. An error ends it too.
    ///
    /// ```no_run
    /// # async fn run(client: pbs_client::Client) -> pbs_client::Result<()> {
    /// use futures::{StreamExt, TryStreamExt};
    /// use pbs_client::TaskFilter;
    /// let filter = TaskFilter::new().with_store("store1").with_errors();
    /// let failed: Vec<_> = client.tasks_stream(&filter).take(500).try_collect().await?;
    /// println!("{} tasks did not end OK", failed.len());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// Each item is a task or the error that ended the stream (see [`Client::tasks`]).
    pub fn tasks_stream(&self, filter: &TaskFilter) -> BoxStream<'_, Result<TaskListItem>> {
        struct Walk {
            filter: TaskFilter,
            start: u64,
            page_size: u64,
            seen: HashSet<Upid>,
            ready: VecDeque<TaskListItem>,
            done: bool,
        }
        let mut filter = filter.clone();
        let page_size = filter.limit.unwrap_or(50);
        filter.limit = Some(page_size);
        let walk = Walk {
            start: filter.start.unwrap_or(0),
            filter,
            page_size,
            seen: HashSet::new(),
            ready: VecDeque::new(),
            done: false,
        };
        futures::stream::unfold(walk, move |mut w| async move {
            loop {
                if let Some(task) = w.ready.pop_front() {
                    return Some((Ok(task), w));
                }
                if w.done {
                    return None;
                }
                w.filter.start = Some(w.start);
                let page = match self.tasks(&w.filter).await {
                    Ok(page) => page,
                    Err(e) => {
                        w.done = true;
                        return Some((Err(e), w));
                    }
                };
                let more = page.has_more();
                w.start += page.tasks.len() as u64;
                for task in page.tasks {
                    if w.seen.insert(task.upid.clone()) {
                        w.ready.push_back(task);
                    }
                }
                // `limit` 0 asks for everything in one page; a page with nothing new ends the
                // walk too (a server repeating itself must not keep us here).
                if !more || w.page_size == 0 || w.ready.is_empty() {
                    w.done = true;
                }
            }
        })
        .boxed()
    }

    /// `GET /nodes/localhost/tasks/{upid}/status`.
    ///
    /// ```no_run
    /// # async fn run(client: pbs_client::Client) -> pbs_client::Result<()> {
    /// let upid: pbs_client::Upid =
    ///     "UPID:pbs:000003E8:0000AAAA:00000002:65F00000:garbage_collection:store1:root@pam:".parse()?;
    /// println!("running: {}", client.task_status(&upid).await?.is_running());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Api`] for a UPID of another node, and the errors of every request (see [`Client`]). An unknown UPID is not an
    /// error: PBS answers it as stopped with exit status `unknown`.
    pub async fn task_status(&self, upid: &Upid) -> Result<TaskStatus> {
        self.get(&task_path(upid, "/status"), &[]).await
    }

    /// `GET /nodes/localhost/tasks/{upid}/log` from line `start` (1-based), at most `limit`
    /// lines (0 = all), with the running state.
    ///
    /// ```no_run
    /// # async fn run(client: pbs_client::Client) -> pbs_client::Result<()> {
    /// # let upid: pbs_client::Upid = "UPID:pbs:000003E8:0000AAAA:00000002:65F00000:garbage_collection:store1:root@pam:".parse()?;
    /// for line in client.task_log(&upid, 1, 0).await?.lines {
    ///     println!("{}", line.message());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// And the errors of every request (see [`Client`]).
    pub async fn task_log(&self, upid: &Upid, start: u64, limit: u64) -> Result<TaskLog> {
        let path = task_path(upid, "/log");
        let q = [
            ("start", start.to_string()),
            ("limit", limit.to_string()),
            ("test-status", "true".to_owned()),
        ];
        let body = self.inner.request(Method::GET, &path, &q, None).await?;
        decode_task_log(&format!("GET /{path}"), &body)
    }

    /// `DELETE /nodes/localhost/tasks/{upid}`: asks the task to stop.
    ///
    /// ```no_run
    /// # async fn run(client: pbs_client::Client) -> pbs_client::Result<()> {
    /// # let upid: pbs_client::Upid = "UPID:pbs:000003E8:0000AAAA:00000002:65F00000:garbage_collection:store1:root@pam:".parse()?;
    /// client.stop_task(&upid).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::PermissionDenied`] without the privilege to stop it, and the errors of every request (see [`Client`]).
    pub async fn stop_task(&self, upid: &Upid) -> Result<()> {
        let _: serde_json::Value = self
            .write(Method::DELETE, &task_path(upid, ""), None)
            .await?;
        Ok(())
    }

    /// Polls the task status until it is stopped. Returns the final status when the task
    /// ended `OK` or with warnings, [`Error::TaskFailed`] when it failed,
    /// [`Error::TaskUnknown`] when PBS has no result for it (it answers an unknown UPID as
    /// stopped with exit status `unknown`), and [`Error::TaskTimeout`] when it still runs after
    /// `timeout`.
    ///
    /// ```no_run
    /// # async fn run(client: pbs_client::Client) -> pbs_client::Result<()> {
    /// use std::time::Duration;
    /// let upid = client.datastore("store1").start_gc().await?;
    /// let status = client.wait_task(&upid, Duration::from_secs(3600)).await?;
    /// println!("{:?}", status.exitstatus);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::TaskFailed`], [`Error::TaskUnknown`] and [`Error::TaskTimeout`] as above, and the errors of every request (see [`Client`]).
    pub async fn wait_task(&self, upid: &Upid, timeout: Duration) -> Result<TaskStatus> {
        let started = Instant::now();
        loop {
            let status = self.task_status(upid).await?;
            if !status.is_running() {
                return match &status.exitstatus {
                    Some(state) if state.is_success() => Ok(status),
                    // PBS always sends an exit status once stopped; none at all is as unknown.
                    Some(TaskState::Unknown) | None => Err(Error::TaskUnknown {
                        upid: upid.to_string(),
                    }),
                    Some(state) => Err(Error::TaskFailed {
                        upid: upid.to_string(),
                        exit_status: state.to_string(),
                    }),
                };
            }
            let waited = started.elapsed();
            if waited >= timeout {
                return Err(Error::TaskTimeout {
                    upid: upid.to_string(),
                    waited,
                });
            }
            tokio::time::sleep(self.poll_interval.min(timeout - waited)).await;
        }
    }

    /// `GET /admin/prune`: prune jobs with their last-run state.
    ///
    /// ```no_run
    /// # async fn run(client: pbs_client::Client) -> pbs_client::Result<()> {
    /// for job in client.prune_jobs(Some("store1")).await? {
    ///     println!("{} last {:?}", job.id, job.state.last_run_state);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// And the errors of every request (see [`Client`]).
    pub async fn prune_jobs(&self, store: Option<&str>) -> Result<Vec<PruneJobStatus>> {
        let q: Vec<_> = store.map(|s| ("store", s.to_owned())).into_iter().collect();
        self.get("admin/prune", &q).await
    }

    /// `GET /admin/verify`: verification jobs with their last-run state.
    ///
    /// ```no_run
    /// # async fn run(client: pbs_client::Client) -> pbs_client::Result<()> {
    /// for job in client.verify_jobs(None).await? {
    ///     println!("{} last {:?}", job.id, job.state.last_run_state);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// And the errors of every request (see [`Client`]).
    pub async fn verify_jobs(&self, store: Option<&str>) -> Result<Vec<VerificationJobStatus>> {
        let q: Vec<_> = store.map(|s| ("store", s.to_owned())).into_iter().collect();
        self.get("admin/verify", &q).await
    }

    /// `GET /admin/sync`: sync jobs with their last-run state.
    ///
    /// ```no_run
    /// # async fn run(client: pbs_client::Client) -> pbs_client::Result<()> {
    /// for job in client.sync_jobs(None).await? {
    ///     println!("{} from {:?}", job.id, job.remote);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// And the errors of every request (see [`Client`]).
    pub async fn sync_jobs(&self, store: Option<&str>) -> Result<Vec<SyncJobStatus>> {
        let q: Vec<_> = store.map(|s| ("store", s.to_owned())).into_iter().collect();
        self.get("admin/sync", &q).await
    }

    /// `POST /admin/{prune,verify,sync}/{id}/run`: runs a job now.
    ///
    /// ```no_run
    /// # async fn run(client: pbs_client::Client) -> pbs_client::Result<()> {
    /// use pbs_client::JobKind;
    /// let upid = client.run_job(JobKind::Verify, "weekly-verify").await?;
    /// println!("started {upid}");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown job id, [`Error::Decode`] when the answer is not a UPID,
    /// and the errors of every request (see [`Client`]).
    pub async fn run_job(&self, kind: JobKind, id: &str) -> Result<Upid> {
        let path = format!("admin/{}/{}/run", kind.as_path(), encode_component(id));
        self.start_task(&path, serde_json::json!({})).await
    }
}

/// Kinds of scheduled jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobKind {
    /// Prune job.
    Prune,
    /// Verification job.
    Verify,
    /// Sync job.
    Sync,
}

impl JobKind {
    fn as_path(self) -> &'static str {
        match self {
            JobKind::Prune => "prune",
            JobKind::Verify => "verify",
            JobKind::Sync => "sync",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_env_token_and_fingerprint() {
        let fp = "ab:".repeat(31) + "cd";
        let b = ClientBuilder::from_vars([
            ("PBS_REPOSITORY", "mon@pbs!ro@pbs.example:store1"),
            ("PBS_PASSWORD", "tok-secret"),
            ("PBS_FINGERPRINT", fp.as_str()),
            ("HOME", "/root"),
        ])
        .unwrap();
        assert_eq!(b.base_url.as_deref(), Some("https://pbs.example:8007"));
        assert_eq!(b.datastore.as_deref(), Some("store1"));
        match &b.credentials {
            Some(Credentials::Token { id, secret }) => {
                assert_eq!(id, "mon@pbs!ro");
                assert_eq!(secret.expose_secret(), "tok-secret");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(b.tls, TlsVerification::Pinned(fp.parse().unwrap()));
        let c = b.build().unwrap();
        assert_eq!(c.base_url(), "https://pbs.example:8007/api2/json/");
        assert!(!format!("{c:?}").contains("tok-secret"));
    }

    #[test]
    fn from_env_password_file_and_errors() {
        let dir = std::env::temp_dir().join(format!("pbs-client-pw-{}", std::process::id()));
        std::fs::write(&dir, "pw-line\nsecond\n").unwrap();
        let path = dir.to_string_lossy().into_owned();
        let b = ClientBuilder::from_vars([
            ("PBS_REPOSITORY".to_owned(), "store".to_owned()),
            ("PBS_PASSWORD_FILE".to_owned(), path),
        ])
        .unwrap();
        std::fs::remove_file(&dir).ok();
        match &b.credentials {
            Some(Credentials::Password { username, password }) => {
                assert_eq!(username, "root@pam");
                assert_eq!(password.expose_secret(), "pw-line");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(ClientBuilder::from_vars(Vec::<(String, String)>::new()).is_err());
        assert!(ClientBuilder::from_vars([("PBS_REPOSITORY", "h:s")]).is_err());
        let bad_fp = ClientBuilder::from_vars([
            ("PBS_REPOSITORY", "h:s"),
            ("PBS_PASSWORD", "x"),
            ("PBS_FINGERPRINT", "nope"),
        ]);
        assert!(matches!(bad_fp, Err(Error::InvalidFingerprint { .. })));
    }

    /// The port the client will connect to.
    fn effective_port(c: &Client) -> Option<u16> {
        Url::parse(c.base_url()).unwrap().port_or_known_default()
    }

    fn token_builder() -> ClientBuilder {
        Client::builder().with_token("a@pbs!t", SecretString::from("s"))
    }

    #[test]
    fn explicit_port_is_kept_and_8007_only_when_none_was_given() {
        // (URL, port the client must connect to). Building a client opens no connection.
        for (url, port) in [
            ("https://pbs.example:443", 443),
            ("https://pbs.example:443/", 443),
            ("  https://pbs.example:443/api2/json  ", 443),
            ("https://[2001:db8::5]:443", 443),
            ("https://192.0.2.5:443", 443), // RFC 5737/3849 documentation addresses: parsed, never reached
            ("https://pbs.example", 8007),
            ("https://pbs.example/", 8007),
            ("https://pbs.example:", 8007),
            ("https://[2001:db8::5]", 8007),
            ("https://pbs.example:8443", 8443),
            ("https://pbs.example:8007", 8007),
        ] {
            let c = token_builder().with_base_url(url).build().unwrap();
            assert_eq!(effective_port(&c), Some(port), "{url}");
        }
    }

    #[test]
    fn repository_with_port_443_keeps_it() {
        let b = ClientBuilder::from_vars([
            ("PBS_REPOSITORY", "mon@pbs!ro@pbs.example:443:store1"),
            ("PBS_PASSWORD", "x"),
        ])
        .unwrap();
        assert_eq!(effective_port(&b.build().unwrap()), Some(443));
    }

    #[test]
    fn build_rejects_bad_urls() {
        let t = || Client::builder().with_token("a@pbs!t", SecretString::from("s"));
        assert!(t().with_base_url("http://x").build().is_err());
        assert!(t().with_base_url("https://u:p@x").build().is_err());
        assert!(
            Client::builder()
                .with_base_url("https://x")
                .build()
                .is_err()
        );
        let c = t()
            .with_base_url("https://x:9/ignored?q=1")
            .build()
            .unwrap();
        assert_eq!(c.base_url(), "https://x:9/api2/json/");
    }
}
