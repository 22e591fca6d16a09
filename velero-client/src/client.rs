//! Clients per kube context, and the generic Kubernetes calls every operation uses.

use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::NamespaceResourceScope;
use kube::runtime::wait::await_condition;
use kube::{Config, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::retry::RetryConfig;
use crate::transport::USER_AGENT;
use crate::types::*;
use crate::{Error, Result};

/// The variables [`ClientBuilder::from_env`] reads.
const ENV_VARS: [&str; 2] = ["KUBECONFIG", "VELERO_NAMESPACE"];

/// Velero's default namespace.
pub const DEFAULT_NAMESPACE: &str = "velero";

/// A Velero kind this crate knows: plural name and a printable phase.
pub trait VeleroResource:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Debug
    + Send
    + Sync
    + Serialize
    + DeserializeOwned
    + 'static
{
    /// The plural resource name (`backups`).
    const PLURAL: &'static str;
    /// The object's phase as text (for messages).
    fn phase_text(&self) -> String;
}

macro_rules! velero_resource {
    ($($kind:ty => $plural:literal),+ $(,)?) => {$(
        impl VeleroResource for $kind {
            const PLURAL: &'static str = $plural;
            fn phase_text(&self) -> String {
                self.status
                    .as_ref()
                    .and_then(|s| s.phase.as_ref())
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "New".to_owned())
            }
        }
    )+};
}

velero_resource!(
    Backup => "backups",
    Restore => "restores",
    Schedule => "schedules",
    BackupStorageLocation => "backupstoragelocations",
    DeleteBackupRequest => "deletebackuprequests",
    DownloadRequest => "downloadrequests",
    PodVolumeBackup => "podvolumebackups",
);

/// One page of a paged list.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Page<K> {
    /// Items on this page.
    pub items: Vec<K>,
    /// Token for the next page; `None` at the end (an empty token also means the end).
    pub continue_token: Option<String>,
    /// The apiserver's estimate of items after this page.
    pub remaining_item_count: Option<i64>,
}

/// Options for list calls.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ListOptions {
    /// Label selector, e.g. `velero.io/schedule-name=daily`.
    pub label_selector: Option<String>,
    /// Page size (`limit`); `None` means 500.
    pub page_size: Option<u32>,
}

impl ListOptions {
    /// Lists with this label selector.
    pub fn with_labels(mut self, selector: impl Into<String>) -> Self {
        self.label_selector = Some(selector.into());
        self
    }

    /// Sets the page size.
    pub fn with_page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }

    pub(crate) fn params(&self) -> ListParams {
        let mut lp = ListParams::default().limit(self.page_size.unwrap_or(500));
        if let Some(sel) = &self.label_selector {
            lp = lp.labels(sel);
        }
        lp
    }
}

/// Whether object-store downloads verify the server's certificate
/// ([`ClientBuilder::with_download_tls_verification`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsVerification {
    /// Verify against the system roots, the location's CA and the client's download CA.
    #[default]
    Verify,
    /// Accept any certificate (the CLI's `--insecure-skip-tls-verify`).
    InsecureSkipVerify,
}

/// Builds a [`VeleroClient`] for one kube context.
///
/// [`ClientBuilder::from_env`] and [`ClientBuilder::from_vars`] read the variables kubectl and
/// the velero CLI read; [`ClientBuilder::build`] is async because kube-rs turns a kubeconfig
/// context into a client config asynchronously (exec credential plugins and OIDC token refresh
/// run there).
#[derive(Clone, Debug, Default)]
pub struct ClientBuilder {
    kubeconfig_paths: Vec<PathBuf>,
    kubeconfig: Option<Kubeconfig>,
    context: Option<String>,
    namespace: Option<String>,
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    download_timeout: Option<Duration>,
    download_url_timeout: Option<Duration>,
    download_ca_cert: Option<Vec<u8>>,
    download_insecure_skip_tls_verify: bool,
    max_download_bytes: Option<usize>,
    max_log_line_bytes: Option<usize>,
    retry: RetryConfig,
}

impl ClientBuilder {
    /// A builder from the process environment: see [`ClientBuilder::from_vars`] for the
    /// variables. A `KUBECONFIG` that is not UTF-8 is left to kube-rs, which reads it itself.
    ///
    /// # Errors
    ///
    /// None today (the variables are only read here, the kubeconfig in
    /// [`ClientBuilder::build`]); the `Result` is the workspace's shape for `from_env`.
    ///
    /// ```no_run
    /// # async fn run() -> velero_client::Result<()> {
    /// let client = velero_client::ClientBuilder::from_env()?
    ///     .with_context("prod")
    ///     .build()
    ///     .await?;
    /// # let _ = client; Ok(()) }
    /// ```
    pub fn from_env() -> Result<Self> {
        Self::from_vars(
            ENV_VARS
                .iter()
                .filter_map(|k| std::env::var(k).ok().map(|v| (*k, v))),
        )
    }

    /// A builder from these `(name, value)` pairs (tests, config files); other names are
    /// ignored:
    ///
    /// * `KUBECONFIG`: kubeconfig files separated like `PATH`, merged as kubectl merges them
    ///   (the first file that sets a value wins). Empty or absent: kube-rs's default, the
    ///   process's `KUBECONFIG`, else `~/.kube/config`.
    /// * `VELERO_NAMESPACE`: Velero's namespace, as the velero CLI reads it (empty or absent:
    ///   `velero`).
    ///
    /// The context is the kubeconfig's current context unless [`ClientBuilder::with_context`]
    /// picks another.
    ///
    /// # Errors
    ///
    /// None today; the `Result` is the workspace's shape for `from_vars`.
    pub fn from_vars<I, K, V>(vars: I) -> Result<Self>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut builder = Self::default();
        for (k, v) in vars {
            let v = v.as_ref();
            match k.as_ref() {
                "KUBECONFIG" => {
                    builder.kubeconfig_paths = std::env::split_paths(v)
                        .filter(|p| !p.as_os_str().is_empty())
                        .collect();
                }
                "VELERO_NAMESPACE" if !v.is_empty() => builder.namespace = Some(v.to_owned()),
                _ => {}
            }
        }
        Ok(builder)
    }

    /// Reads this kubeconfig file (default: `KUBECONFIG`, else `~/.kube/config`).
    pub fn with_kubeconfig_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.kubeconfig_paths = vec![path.into()];
        self
    }

    /// Uses an already parsed kubeconfig.
    pub fn with_kubeconfig(mut self, kubeconfig: Kubeconfig) -> Self {
        self.kubeconfig = Some(kubeconfig);
        self
    }

    /// Uses this kube context (default: the current context).
    pub fn with_context(mut self, context: impl Into<String>) -> Self {
        self.context = Some(context.into());
        self
    }

    /// Velero's namespace (default `velero`).
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// TCP connect timeout to the apiserver (default 10 s).
    pub fn with_connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = Some(d);
        self
    }

    /// How long one apiserver request may wait for its answer (default 295 s, above the watch
    /// timeout of 290 s): kube-rs's read timeout, so a watch waits at most this long between
    /// events. Object-store downloads have their own [`ClientBuilder::with_download_timeout`].
    pub fn with_request_timeout(mut self, d: Duration) -> Self {
        self.request_timeout = Some(d);
        self
    }

    /// Total timeout of one object-store download (default 5 min).
    pub fn with_download_timeout(mut self, d: Duration) -> Self {
        self.download_timeout = Some(d);
        self
    }

    /// How long to wait for a DownloadRequest's URL (default 1 min, like the CLI's `--timeout`).
    pub fn with_download_url_timeout(mut self, d: Duration) -> Self {
        self.download_url_timeout = Some(d);
        self
    }

    /// Also trusts this PEM bundle when downloading from the object store (the CLI's
    /// `--cacert`). The BackupStorageLocation's own `caCertRef`/`caCert` is trusted anyway.
    pub fn with_download_ca_cert(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.download_ca_cert = Some(pem.into());
        self
    }

    /// Whether downloads verify the object store's certificate (default
    /// [`TlsVerification::Verify`]). [`TlsVerification::InsecureSkipVerify`] is the CLI's
    /// `--insecure-skip-tls-verify`: open to man-in-the-middle attacks, as a presigned URL for
    /// backup contents reads every Secret of the cluster. Prefer the location's `caCertRef`.
    pub fn with_download_tls_verification(mut self, verification: TlsVerification) -> Self {
        self.download_insecure_skip_tls_verify =
            verification == TlsVerification::InsecureSkipVerify;
        self
    }

    /// Largest download read into memory, after gunzip (default 256 MiB): more ends the
    /// download with [`Error::DownloadTooLarge`].
    pub fn with_max_download_bytes(mut self, bytes: usize) -> Self {
        self.max_download_bytes = Some(bytes);
        self
    }

    /// Longest gunzipped log line (default 1 MiB): a longer one ends the log stream with
    /// [`Error::LogLineTooLong`].
    pub fn with_max_log_line_bytes(mut self, bytes: usize) -> Self {
        self.max_log_line_bytes = Some(bytes);
        self
    }

    /// Retries (default [`RetryConfig::default`]): object-store downloads follow it (429 and
    /// 5xx, `Retry-After` honoured); apiserver calls keep kube-rs's own policy for 429/503/504,
    /// which [`RetryConfig::disabled`] (`max_retries == 0`) turns off.
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// Reads the kubeconfig, selects the context and builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the kubeconfig cannot be read or used, [`Error::UnknownContext`] when
    /// the context is not in it, [`Error::Kube`] or [`Error::Transport`] when a client cannot be
    /// built from it.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = velero_client::VeleroClient::builder()
    ///     .with_kubeconfig_path("/home/me/.kube/config")
    ///     .with_context("prod")
    ///     .build()
    ///     .await?;
    /// # let _ = client;
    /// # Ok(()) }
    /// ```
    pub async fn build(self) -> Result<VeleroClient> {
        let config_error = |source| Error::Config {
            context: self.context.clone(),
            source,
        };
        let kubeconfig = match (self.kubeconfig, self.kubeconfig_paths.as_slice()) {
            (Some(kc), _) => kc,
            (None, []) => Kubeconfig::read().map_err(config_error)?,
            (None, paths) => paths
                .iter()
                .try_fold(Kubeconfig::default(), |merged, path| {
                    merged.merge(Kubeconfig::read_from(path)?)
                })
                .map_err(config_error)?,
        };
        let context = match &self.context {
            Some(c) => c.clone(),
            None => kubeconfig.current_context.clone().unwrap_or_default(),
        };
        if !kubeconfig.contexts.iter().any(|c| c.name == context) {
            return Err(Error::UnknownContext {
                context,
                available: kubeconfig.contexts.iter().map(|c| c.name.clone()).collect(),
            });
        }
        let options = KubeConfigOptions {
            context: Some(context.clone()),
            cluster: None,
            user: None,
        };
        let mut config = Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|source| Error::Config {
                context: Some(context.clone()),
                source,
            })?;
        config.connect_timeout = Some(self.connect_timeout.unwrap_or(Duration::from_secs(10)));
        config.read_timeout = Some(self.request_timeout.unwrap_or(Duration::from_secs(295)));
        config.write_timeout = Some(Duration::from_secs(30));
        config.default_retry = self.retry.enabled();
        if let Ok(value) = http::HeaderValue::from_str(USER_AGENT) {
            config.headers.push((http::header::USER_AGENT, value));
        }
        let client = kube::Client::try_from(config)
            .map_err(|source| Error::kube(&context, "connect", "apiserver", None, source))?;
        let tls = crate::transport::DownloadSettings {
            timeout: self.download_timeout.unwrap_or(Duration::from_secs(300)),
            extra_ca: self.download_ca_cert.map(Arc::new),
            insecure_skip_tls_verify: self.download_insecure_skip_tls_verify,
            max_download: self
                .max_download_bytes
                .unwrap_or(crate::transport::DEFAULT_MAX_DOWNLOAD_BYTES),
            max_log_line: self
                .max_log_line_bytes
                .unwrap_or(crate::transport::DEFAULT_MAX_LOG_LINE_BYTES),
            retry: self.retry,
        };
        let http = crate::transport::http_client(&tls, None)?;
        Ok(VeleroClient {
            client,
            namespace: self
                .namespace
                .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
            context,
            http,
            download_tls: tls,
            download_url_timeout: self.download_url_timeout.unwrap_or(Duration::from_secs(60)),
        })
    }
}

/// Velero in one cluster (one kube context and namespace).
#[derive(Clone)]
pub struct VeleroClient {
    pub(crate) client: kube::Client,
    pub(crate) namespace: String,
    pub(crate) context: String,
    pub(crate) http: reqwest::Client,
    pub(crate) download_tls: crate::transport::DownloadSettings,
    pub(crate) download_url_timeout: Duration,
}

impl Debug for VeleroClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VeleroClient")
            .field("context", &self.context)
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl VeleroClient {
    /// A builder.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// `ClientBuilder::from_env()?.build()`: the current kube context of `KUBECONFIG` (or
    /// `~/.kube/config`), namespace from `VELERO_NAMESPACE` (default `velero`). Async because
    /// kube-rs loads a kubeconfig context asynchronously (exec plugins, token refresh).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the kubeconfig cannot be read or used, [`Error::UnknownContext`]
    /// when it has no current context, [`Error::Kube`] or [`Error::Transport`] when a client
    /// cannot be built from it.
    ///
    /// ```no_run
    /// # async fn run() -> velero_client::Result<()> {
    /// let client = velero_client::VeleroClient::from_env().await?;
    /// println!("{} / {}", client.context(), client.namespace());
    /// # Ok(()) }
    /// ```
    pub async fn from_env() -> Result<Self> {
        ClientBuilder::from_env()?.build().await
    }

    /// Wraps an existing kube client (e.g. one built in-cluster).
    pub fn from_kube(
        client: kube::Client,
        context: impl Into<String>,
        namespace: impl Into<String>,
    ) -> Result<Self> {
        let download_tls = crate::transport::DownloadSettings {
            timeout: Duration::from_secs(300),
            extra_ca: None,
            insecure_skip_tls_verify: false,
            max_download: crate::transport::DEFAULT_MAX_DOWNLOAD_BYTES,
            max_log_line: crate::transport::DEFAULT_MAX_LOG_LINE_BYTES,
            retry: RetryConfig::default(),
        };
        Ok(Self {
            client,
            namespace: namespace.into(),
            context: context.into(),
            http: crate::transport::http_client(&download_tls, None)?,
            download_tls,
            download_url_timeout: Duration::from_secs(60),
        })
    }

    /// The kube context name.
    pub fn context(&self) -> &str {
        &self.context
    }

    /// Velero's namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The underlying kube client.
    pub fn kube_client(&self) -> &kube::Client {
        &self.client
    }

    /// A typed `Api` for a Velero kind in Velero's namespace.
    pub fn api<K: VeleroResource>(&self) -> Api<K> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    fn span(
        &self,
        verb: &'static str,
        resource: &'static str,
        name: Option<&str>,
    ) -> tracing::Span {
        tracing::debug_span!("velero", context = %self.context, namespace = %self.namespace, verb, resource, name)
    }

    /// GET one object.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with the apiserver's answer (e.g. [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]), [`Error::Kube`] when the apiserver cannot be reached or
    /// its answer not decoded.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let backup: velero_client::Backup = client.get("daily-20261127020005").await?;
    /// println!("{}", backup.phase());
    /// # Ok(()) }
    /// ```
    pub async fn get<K: VeleroResource>(&self, name: &str) -> Result<K> {
        self.api::<K>()
            .get(name)
            .instrument(self.span("get", K::PLURAL, Some(name)))
            .await
            .map_err(|e| Error::kube(&self.context, "get", K::PLURAL, Some(name), e))
    }

    /// GET one object, `None` on 404.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with the apiserver's answer (e.g. [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]), [`Error::Kube`] when the apiserver cannot be reached or
    /// its answer not decoded, never for a 404 (that is `Ok(None)`).
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// if client.get_opt::<velero_client::Backup>("adhoc").await?.is_none() {
    ///     println!("no such backup");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get_opt<K: VeleroResource>(&self, name: &str) -> Result<Option<K>> {
        match self.get::<K>(name).await {
            Ok(k) => Ok(Some(k)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One page of a list; pass the previous page's token to continue.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with the apiserver's answer (e.g. [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]), [`Error::Kube`] when the apiserver cannot be reached or
    /// its answer not decoded.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use velero_client::{Backup, ListOptions};
    /// let page = client.list_page::<Backup>(&ListOptions::default().with_page_size(50), None).await?;
    /// println!("{} backups, more: {}", page.items.len(), page.continue_token.is_some());
    /// # Ok(()) }
    /// ```
    pub async fn list_page<K: VeleroResource>(
        &self,
        opts: &ListOptions,
        continue_token: Option<&str>,
    ) -> Result<Page<K>> {
        let mut lp = opts.params();
        if let Some(tok) = continue_token {
            lp = lp.continue_token(tok);
        }
        let list = self
            .api::<K>()
            .list(&lp)
            .instrument(self.span("list", K::PLURAL, None))
            .await
            .map_err(|e| Error::kube(&self.context, "list", K::PLURAL, None, e))?;
        Ok(Page {
            continue_token: list.metadata.continue_.filter(|t| !t.is_empty()),
            remaining_item_count: list.metadata.remaining_item_count,
            items: list.items,
        })
    }

    /// Every object matching `opts`, fetched one page (`limit`/`continue`) at a time as the
    /// stream is read. A failed page ends the stream with its error.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> velero_client::Result<()> {
    /// use futures::TryStreamExt;
    /// use velero_client::{ListOptions, PodVolumeBackup};
    /// let mut volumes = client.objects_stream::<PodVolumeBackup>(&ListOptions::default().with_page_size(100));
    /// while let Some(pvb) = volumes.try_next().await? {
    ///     println!("{:?}", pvb.metadata.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn objects_stream<K: VeleroResource>(
        &self,
        opts: &ListOptions,
    ) -> BoxStream<'_, Result<K>> {
        let opts = opts.clone();
        // `None`: no page left; `Some(token)`: the next page (`Some(None)`: the first).
        futures::stream::try_unfold(Some(None::<String>), move |next| {
            let opts = opts.clone();
            async move {
                let Some(token) = next else {
                    return Ok(None);
                };
                let page = match self.list_page::<K>(&opts, token.as_deref()).await {
                    Ok(page) => page,
                    Err(e) => return Err(e),
                };
                let items = futures::stream::iter(page.items.into_iter().map(Ok::<K, Error>));
                Ok(Some((items, page.continue_token.map(Some))))
            }
        })
        .try_flatten()
        .boxed()
    }

    /// Every object, following continue tokens (the eager twin of
    /// [`VeleroClient::objects_stream`]).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with the apiserver's answer (e.g. [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]), [`Error::Kube`] when the apiserver cannot be reached or
    /// its answer not decoded.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use velero_client::{ListOptions, Restore};
    /// let restores: Vec<Restore> = client.list_all(&ListOptions::default()).await?;
    /// # let _ = restores;
    /// # Ok(()) }
    /// ```
    pub async fn list_all<K: VeleroResource>(&self, opts: &ListOptions) -> Result<Vec<K>> {
        self.objects_stream(opts).try_collect().await
    }

    /// POST a new object (never with a status: Velero would keep it).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with the apiserver's answer (e.g. [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]), [`Error::Kube`] when the apiserver cannot be reached or
    /// its answer not decoded, [`Error::is_already_exists`] when the name is taken.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use velero_client::{Backup, BackupSpec};
    /// client.create(&Backup::new("adhoc", BackupSpec::default())).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create<K: VeleroResource>(&self, obj: &K) -> Result<K> {
        let name = obj
            .meta()
            .name
            .clone()
            .or_else(|| obj.meta().generate_name.clone());
        self.api::<K>()
            .create(&PostParams::default(), obj)
            .instrument(self.span("create", K::PLURAL, name.as_deref()))
            .await
            .map_err(|e| Error::kube(&self.context, "create", K::PLURAL, name.as_deref(), e))
    }

    /// JSON merge patch of the whole object (Velero has no status subresource).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with the apiserver's answer (e.g. [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]), [`Error::Kube`] when the apiserver cannot be reached or
    /// its answer not decoded.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let patch = serde_json::json!({ "spec": { "paused": true } });
    /// client.merge_patch::<velero_client::Schedule>("daily", &patch).await?;
    /// # Ok(()) }
    /// ```
    pub async fn merge_patch<K: VeleroResource>(
        &self,
        name: &str,
        patch: &serde_json::Value,
    ) -> Result<K> {
        self.api::<K>()
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .instrument(self.span("patch", K::PLURAL, Some(name)))
            .await
            .map_err(|e| Error::kube(&self.context, "patch", K::PLURAL, Some(name), e))
    }

    /// PUT a whole object; its `metadata.resourceVersion` must be current (409 `Conflict`
    /// otherwise). Prefer [`VeleroClient::merge_patch`].
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with the apiserver's answer (e.g. [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]), [`Error::Kube`] when the apiserver cannot be reached or
    /// its answer not decoded, [`Error::is_conflict`] when `metadata.resourceVersion` is stale.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut backup: velero_client::Backup = client.get("adhoc").await?;
    /// backup.spec.ttl = Some(velero_client::GoDuration::parse("24h0m0s")?);
    /// client.replace(&backup).await?;
    /// # Ok(()) }
    /// ```
    pub async fn replace<K: VeleroResource>(&self, obj: &K) -> Result<K> {
        let name = obj.meta().name.clone().unwrap_or_default();
        self.api::<K>()
            .replace(&name, &PostParams::default(), obj)
            .instrument(self.span("update", K::PLURAL, Some(&name)))
            .await
            .map_err(|e| Error::kube(&self.context, "update", K::PLURAL, Some(&name), e))
    }

    /// DELETE an object (for Backups prefer [`VeleroClient::delete_backup`]).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with the apiserver's answer (e.g. [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]), [`Error::Kube`] when the apiserver cannot be reached or
    /// its answer not decoded.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// client.delete::<velero_client::DownloadRequest>("stale-request").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete<K: VeleroResource>(&self, name: &str) -> Result<()> {
        self.api::<K>()
            .delete(name, &Default::default())
            .instrument(self.span("delete", K::PLURAL, Some(name)))
            .await
            .map(|_| ())
            .map_err(|e| Error::kube(&self.context, "delete", K::PLURAL, Some(name), e))
    }

    /// Watches one object until `done` holds, bounded by `timeout`.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when `timeout` passes first (with the last phase seen),
    /// [`Error::Deleted`] when the object is deleted meanwhile, [`Error::Watch`] or [`Error::Api`]
    /// with the apiserver's answer (e.g. [`Error::is_not_found`], [`Error::is_permission_denied`]),
    /// [`Error::Kube`] when the apiserver cannot be reached or its answer not decoded.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// let b = client
    ///     .wait_for::<velero_client::Backup, _>("adhoc", Duration::from_secs(600), |b| b.phase().is_terminal())
    ///     .await?;
    /// # let _ = b;
    /// # Ok(()) }
    /// ```
    pub async fn wait_for<K, F>(&self, name: &str, timeout: Duration, done: F) -> Result<K>
    where
        K: VeleroResource,
        F: Fn(&K) -> bool + Send + Sync,
    {
        // A deleted object ends the wait too; it becomes `Error::Deleted` below.
        let cond = move |obj: Option<&K>| obj.is_none_or(&done);
        let fut = await_condition(self.api::<K>(), name, cond).instrument(self.span(
            "watch",
            K::PLURAL,
            Some(name),
        ));
        match tokio::time::timeout(timeout, fut).await {
            Ok(Ok(Some(obj))) => Ok(obj),
            Ok(Ok(None)) => Err(Error::Deleted {
                context: self.context.clone(),
                resource: K::PLURAL,
                name: name.to_owned(),
            }),
            Ok(Err(kube::runtime::wait::Error::ProbeFailed(e))) => {
                Err(Error::watch(&self.context, K::PLURAL, name, e))
            }
            Err(_) => {
                let last_phase = match self.get_opt::<K>(name).await {
                    Ok(Some(obj)) => obj.phase_text(),
                    Ok(None) => "<deleted>".to_owned(),
                    Err(_) => "<unknown>".to_owned(),
                };
                Err(Error::Timeout {
                    context: self.context.clone(),
                    resource: K::PLURAL,
                    name: name.to_owned(),
                    waited: timeout,
                    last_phase,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_vars_reads_kubeconfig_paths_and_the_namespace() {
        let b = ClientBuilder::from_vars([
            ("KUBECONFIG", "/a/config:/b/config"),
            ("VELERO_NAMESPACE", "backups"),
            ("HOME", "/ignored"),
        ])
        .unwrap();
        assert_eq!(
            b.kubeconfig_paths,
            [PathBuf::from("/a/config"), PathBuf::from("/b/config")]
        );
        assert_eq!(b.namespace.as_deref(), Some("backups"));

        // Empty values mean "not set", as in kubectl and the velero CLI.
        let b = ClientBuilder::from_vars([("KUBECONFIG", ""), ("VELERO_NAMESPACE", "")]).unwrap();
        assert!(b.kubeconfig_paths.is_empty());
        assert_eq!(b.namespace, None);

        // Setters still change what the variables said.
        let b = ClientBuilder::from_vars([("KUBECONFIG", "/a:/b")])
            .unwrap()
            .with_kubeconfig_path("/c")
            .with_namespace("other");
        assert_eq!(b.kubeconfig_paths, [PathBuf::from("/c")]);
        assert_eq!(b.namespace.as_deref(), Some("other"));
    }

    #[test]
    fn timeouts_and_retry_are_kept_by_the_builder() {
        let b = VeleroClient::builder()
            .with_connect_timeout(Duration::from_secs(3))
            .with_request_timeout(Duration::from_secs(7))
            .with_retry(RetryConfig::disabled());
        assert_eq!(b.connect_timeout, Some(Duration::from_secs(3)));
        assert_eq!(b.request_timeout, Some(Duration::from_secs(7)));
        assert_eq!(b.retry, RetryConfig::disabled());
        assert_eq!(ClientBuilder::default().retry, RetryConfig::default());
        assert!(!ClientBuilder::default().download_insecure_skip_tls_verify);
        let insecure = ClientBuilder::default()
            .with_download_tls_verification(TlsVerification::InsecureSkipVerify);
        assert!(insecure.download_insecure_skip_tls_verify);
        let back = insecure.with_download_tls_verification(TlsVerification::Verify);
        assert!(!back.download_insecure_skip_tls_verify);
    }
}
