//! A fake kube-apiserver with a Velero-like controller, on 127.0.0.1 (feature `testing`).
//!
//! No kube-apiserver can run in CI here, so this fake is written from Velero's CRDs and the
//! apiserver's documented behaviour:
//!
//! * velero.io/v1 objects per cluster, one loopback listener per kube context, a kubeconfig
//!   with one context per cluster (bearer token per cluster; namespace `velero`);
//! * list with `limit`/`continue` (opaque tokens, `remainingItemCount`), label and field
//!   selectors, get, create (with `generateName`), JSON merge patch, update with
//!   resourceVersion checks, delete, and watch (history replay from a resourceVersion);
//! * errors as Kubernetes `Status` bodies: 401, 403 (per verb and resource, see
//!   [`FakeCluster::forbid`]), 404, 409 `AlreadyExists` and `Conflict`, 415, 422;
//! * no status subresource: status is part of the object and every change bumps `generation`;
//! * a controller ([`controller`]) that moves phases the way Velero does, from a simulated
//!   cluster ([`FakeCluster::set_namespace`]) and object store ([`FakeCluster::add_bucket`]),
//!   and serves gzip logs and results behind presigned-looking URLs.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use velero_client::testing::FakeVelero;
//! let fake = FakeVelero::start().await?;
//! let prod = fake
//!     .client_builder_for("prod")
//!     .build()
//!     .await
//!     .map_err(std::io::Error::other)?;
//! # let _ = prod; Ok(()) }
//! ```
//!
//! This module is for tests and demos: its API is **not covered by semver** and may change in
//! any release.

pub mod controller;
mod crd;
mod discovery;
mod namespaces;
mod schema;
mod server;
mod store;
mod tls;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use store::{ApiError, Store, StoredEvent};

use crate::ClientBuilder;

/// What the simulated cluster holds in one namespace; drives the controller's outcomes.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct NamespaceSim {
    /// Kubernetes objects in the namespace (backed up / restored as items).
    pub items: i64,
    /// Items that fail to back up (errors → `PartiallyFailed`).
    pub failing_items: i64,
    /// A pod volume whose file-system backup never finishes: backups including it stay
    /// `InProgress` (a stuck backup).
    pub hangs: bool,
    /// Pod volumes (one PodVolumeBackup each).
    pub pod_volumes: i64,
    /// Items an admission webhook rejects when restored into this namespace (restore errors).
    pub rejects_restores: i64,
}

impl NamespaceSim {
    /// A namespace with `items` objects and nothing wrong.
    pub fn with_items(items: i64) -> Self {
        Self {
            items,
            ..Self::default()
        }
    }

    /// Sets failing items.
    pub fn failing(mut self, n: i64) -> Self {
        self.failing_items = n;
        self
    }

    /// Makes backups of this namespace hang.
    pub fn hanging(mut self) -> Self {
        self.hangs = true;
        self
    }

    /// Sets pod volumes.
    pub fn pod_volumes(mut self, n: i64) -> Self {
        self.pod_volumes = n;
        self
    }

    /// Sets items rejected on restore.
    pub fn rejecting_restores(mut self, n: i64) -> Self {
        self.rejects_restores = n;
        self
    }
}

#[derive(Default)]
pub(crate) struct World {
    pub namespaces: BTreeMap<String, NamespaceSim>,
    pub buckets: BTreeSet<String>,
    pub blobs: HashMap<String, Vec<u8>>,
    /// What each completed backup holds: (namespace, items).
    pub backup_contents: HashMap<String, Vec<(String, i64)>>,
    pub forbidden: BTreeSet<(String, String)>,
    pub controller_paused: bool,
    /// Object-store GETs still to fail with 503, and the Retry-After seconds to send.
    pub download_failures: (u32, Option<u64>),
    /// Object-store GETs still to be cut off after half of the body.
    pub broken_downloads: u32,
    /// Object-store GETs still to answer 403 `SignatureDoesNotMatch` (echoing the signature).
    pub rejected_signatures: u32,
    /// Object-store GETs served (any status).
    pub download_hits: u64,
    /// User-Agent headers seen (apiserver and object store).
    pub user_agents: BTreeSet<String>,
    /// Namespaces deleted through the API (`DELETE /api/v1/namespaces/{name}`), in order.
    pub deleted_namespaces: Vec<String>,
    /// core/v1 Secrets in Velero's namespace: name → key → bytes (for `caCertRef`).
    pub secrets: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
}

/// How an object-store GET fails.
pub(crate) enum DownloadFault {
    /// 503 `SlowDown`, with an optional Retry-After.
    SlowDown(Option<u64>),
    /// 403 `SignatureDoesNotMatch`.
    BadSignature,
    /// The connection drops after half of the body.
    CutOff,
}

/// Shared state of one fake cluster.
pub(crate) struct ClusterState {
    store: Mutex<Store>,
    pub(crate) events: broadcast::Sender<StoredEvent>,
    pub(crate) token: String,
    pub(crate) world: Mutex<World>,
    pub(crate) base_url: String,
    /// The object store's URL (its own listener, TLS with its own CA).
    pub(crate) store_url: String,
    pub(crate) namespace: String,
}

impl ClusterState {
    pub(crate) fn lock_store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn lock_world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs a store mutation and publishes the events it recorded.
    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut store = self.lock_store();
        let before = store.history.len();
        let out = f(&mut store);
        for e in &store.history[before..] {
            let _ = self.events.send(e.clone());
        }
        out
    }

    pub(crate) fn is_forbidden(&self, verb: &str, plural: &str) -> bool {
        let w = self.lock_world();
        w.forbidden.contains(&(verb.to_owned(), plural.to_owned()))
            || w.forbidden.contains(&("*".to_owned(), plural.to_owned()))
    }

    pub(crate) fn saw_user_agent(&self, ua: Option<&str>) {
        self.lock_world()
            .user_agents
            .insert(ua.unwrap_or("<none>").to_owned());
    }

    pub(crate) fn blob(&self, key: &str) -> Option<Vec<u8>> {
        self.lock_world().blobs.get(key).cloned()
    }

    /// Counts a download and says how it must fail, if it must.
    pub(crate) fn download_attempt(&self) -> Option<DownloadFault> {
        let mut w = self.lock_world();
        w.download_hits += 1;
        if w.rejected_signatures > 0 {
            w.rejected_signatures -= 1;
            return Some(DownloadFault::BadSignature);
        }
        if w.broken_downloads > 0 {
            w.broken_downloads -= 1;
            return Some(DownloadFault::CutOff);
        }
        let (left, retry_after) = w.download_failures;
        if left == 0 {
            return None;
        }
        w.download_failures.0 = left - 1;
        Some(DownloadFault::SlowDown(retry_after))
    }
}

/// One fake cluster (one kube context).
#[derive(Clone)]
pub struct FakeCluster {
    state: Arc<ClusterState>,
    addr: SocketAddr,
    context: String,
    api_ca_pem: Arc<str>,
    store_ca_pem: Arc<str>,
}

impl std::fmt::Debug for FakeCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeCluster")
            .field("context", &self.context)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl FakeCluster {
    async fn start(context: &str, tick: Duration) -> std::io::Result<Self> {
        // Clusters serve their API over TLS with a private CA that the kubeconfig carries
        // (`certificate-authority-data`); the object store (Garage, MinIO) has its own CA, which
        // Velero learns from the BackupStorageLocation's `caCert`/`caCertRef`.
        let api_ca = tls::TestCa::new(&format!("{context}-apiserver-ca"))?;
        let store_ca = tls::TestCa::new(&format!("{context}-object-store-ca"))?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let store_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let store_addr = store_listener.local_addr()?;
        let (events, _) = broadcast::channel(4096);
        let state = Arc::new(ClusterState {
            store: Mutex::new(Store::default()),
            events,
            token: format!("fake-token-{context}"),
            world: Mutex::new(World::default()),
            base_url: format!("https://{addr}"),
            store_url: format!("https://{store_addr}"),
            namespace: crate::DEFAULT_NAMESPACE.to_owned(),
        });
        tls::serve(
            listener,
            api_ca.server.clone(),
            server::router(state.clone()),
        );
        tls::serve(
            store_listener,
            store_ca.server.clone(),
            server::store_router(state.clone()),
        );
        let weak = Arc::downgrade(&state);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(tick);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                let Some(state) = weak.upgrade() else { return };
                controller::reconcile(&state, jiff::Timestamp::now());
            }
        });
        Ok(Self {
            state,
            addr,
            context: context.to_owned(),
            api_ca_pem: api_ca.ca_pem.into(),
            store_ca_pem: store_ca.ca_pem.into(),
        })
    }

    /// The apiserver URL (`https://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        self.state.base_url.clone()
    }

    /// The CA (PEM) that signed the apiserver's certificate (the kubeconfig carries it).
    pub fn api_ca_pem(&self) -> &str {
        &self.api_ca_pem
    }

    /// The object store URL (`https://127.0.0.1:PORT`, its own listener) that presigned URLs
    /// point at.
    pub fn s3_url(&self) -> String {
        self.state.store_url.clone()
    }

    /// The private CA (PEM) that signed the object store's certificate: what a
    /// BackupStorageLocation's `caCert` carries.
    pub fn store_ca_pem(&self) -> &str {
        &self.store_ca_pem
    }

    /// Stores a core/v1 Secret in Velero's namespace (e.g. the target of a `caCertRef`).
    pub fn add_secret(&self, name: &str, data: &[(&str, &[u8])]) {
        self.state.lock_world().secrets.insert(
            name.to_owned(),
            data.iter()
                .map(|(k, v)| ((*k).to_owned(), v.to_vec()))
                .collect(),
        );
    }

    /// The kube context name.
    pub fn context(&self) -> &str {
        &self.context
    }

    /// Stores an object as-is (status included), like `kubectl create` of a dumped YAML.
    /// `kind` picks the resource; namespace defaults to `velero`.
    pub fn insert_json(&self, mut obj: Value) -> Result<Value, String> {
        let kind = obj["kind"].as_str().unwrap_or("").to_owned();
        let plural = store::plural_of(&kind).ok_or(format!("unknown kind {kind:?}"))?;
        let ns = obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or(&self.state.namespace)
            .to_owned();
        obj["metadata"]["namespace"] = json!(ns);
        self.state
            .write(|s| s.create(plural, &ns, obj))
            .map_err(|e| e.message)
    }

    /// Stores an object without the CRD schema's pruning and validation, as a newer Velero's
    /// CRD (new phases, new fields) would let through.
    pub fn insert_json_unchecked(&self, mut obj: Value) -> Result<Value, String> {
        let kind = obj["kind"].as_str().unwrap_or("").to_owned();
        let plural = store::plural_of(&kind).ok_or(format!("unknown kind {kind:?}"))?;
        let ns = obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or(&self.state.namespace)
            .to_owned();
        obj["metadata"]["namespace"] = json!(ns);
        self.state
            .write(|s| {
                s.unchecked = true;
                let out = s.create(plural, &ns, obj);
                s.unchecked = false;
                out
            })
            .map_err(|e| e.message)
    }

    /// Stores a typed object as-is (status included).
    pub fn insert<K: kube::Resource<DynamicType = ()> + Serialize>(
        &self,
        obj: &K,
    ) -> Result<Value, String> {
        let mut v = serde_json::to_value(obj).map_err(|e| e.to_string())?;
        v["kind"] = json!(K::kind(&()));
        self.insert_json(v)
    }

    /// The stored object, if any.
    pub fn get_json(&self, plural: &str, name: &str) -> Option<Value> {
        self.state
            .lock_store()
            .get(plural, &self.state.namespace, name)
            .cloned()
    }

    /// All stored objects of a resource.
    pub fn list_json(&self, plural: &str) -> Vec<Value> {
        self.state.lock_store().all(plural, &self.state.namespace)
    }

    /// Merge-patches a stored object (as Velero's controllers do), bypassing RBAC.
    pub fn patch_json(&self, plural: &str, name: &str, patch: &Value) -> Result<Value, String> {
        self.state
            .write(|s| s.merge(plural, &self.state.namespace, name, patch))
            .map_err(|e| e.message)
    }

    /// Sets what a namespace of the simulated cluster holds.
    pub fn set_namespace(&self, name: &str, sim: NamespaceSim) {
        self.state
            .lock_world()
            .namespaces
            .insert(name.to_owned(), sim);
    }

    /// Namespaces deleted through the API, in order.
    pub fn deleted_namespaces(&self) -> Vec<String> {
        self.state.lock_world().deleted_namespaces.clone()
    }

    /// Whether the simulated cluster has this namespace (restores create namespaces).
    pub fn has_namespace(&self, name: &str) -> bool {
        self.state.lock_world().namespaces.contains_key(name)
    }

    /// Creates a bucket in the simulated object store (a BSL on it becomes Available).
    pub fn add_bucket(&self, bucket: &str) {
        self.state.lock_world().buckets.insert(bucket.to_owned());
    }

    /// Removes a bucket (a BSL on it becomes Unavailable).
    pub fn remove_bucket(&self, bucket: &str) {
        self.state.lock_world().buckets.remove(bucket);
    }

    /// Denies `verb` (`get`, `list`, `watch`, `create`, `patch`, `update`, `delete`, or `*`) on
    /// a resource: the apiserver answers 403.
    pub fn forbid(&self, verb: &str, plural: &str) {
        self.state
            .lock_world()
            .forbidden
            .insert((verb.to_owned(), plural.to_owned()));
    }

    /// Stops the controller, as if the Velero pod were down.
    pub fn pause_controller(&self) {
        self.state.lock_world().controller_paused = true;
    }

    /// Starts the controller again after [`FakeCluster::pause_controller`].
    pub fn resume_controller(&self) {
        self.state.lock_world().controller_paused = false;
    }

    /// Makes the next `count` object-store downloads answer 503 (with `Retry-After` seconds
    /// when given), like an overloaded S3 endpoint.
    pub fn fail_downloads(&self, count: u32, retry_after_secs: Option<u64>) {
        self.state.lock_world().download_failures = (count, retry_after_secs);
    }

    /// Makes the next `count` object-store downloads drop the connection after half of the
    /// body (the `Content-Length` promises more).
    pub fn break_downloads(&self, count: u32) {
        self.state.lock_world().broken_downloads = count;
    }

    /// Makes the next `count` object-store downloads answer 403 `SignatureDoesNotMatch` with
    /// the body AWS S3 sends, which echoes the signature and the canonical request.
    pub fn reject_signatures(&self, count: u32) {
        self.state.lock_world().rejected_signatures = count;
    }

    /// Every User-Agent seen so far (apiserver and object store).
    pub fn user_agents(&self) -> Vec<String> {
        self.state
            .lock_world()
            .user_agents
            .iter()
            .cloned()
            .collect()
    }

    /// Object-store GETs served so far.
    pub fn download_hits(&self) -> u64 {
        self.state.lock_world().download_hits
    }

    /// Whether the object store holds a key (`<bucket>/<prefix>/backups/...`).
    pub fn has_blob(&self, key: &str) -> bool {
        self.state.lock_world().blobs.contains_key(key)
    }

    /// Adds the usual `default` BackupStorageLocation on bucket `velero-<context>`, pointing at
    /// this fake's object store (with its CA in `objectStorage.caCert`), and creates the bucket.
    pub fn add_default_location(&self) -> Result<Value, String> {
        use base64::Engine as _;
        let bucket = format!("velero-{}", self.context);
        self.add_bucket(&bucket);
        let ca = base64::engine::general_purpose::STANDARD.encode(self.store_ca_pem.as_bytes());
        self.insert_json(json!({
            "kind": "BackupStorageLocation",
            "metadata": { "name": "default" },
            "spec": {
                "provider": "velero.io/aws",
                "default": true,
                "objectStorage": { "bucket": bucket, "prefix": "cluster", "caCert": ca },
                "config": { "region": "garage", "s3ForcePathStyle": "true", "s3Url": self.s3_url() },
                "credential": { "name": "velero-credentials", "key": "cloud" }
            }
        }))
    }
}

/// Several fake clusters and a kubeconfig with one context per cluster.
pub struct FakeVelero {
    clusters: BTreeMap<String, FakeCluster>,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for FakeVelero {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeVelero")
            .field("clusters", &self.clusters)
            .field("kubeconfig", &self.kubeconfig)
            .finish()
    }
}

impl FakeVelero {
    /// Starts the homelab's three contexts (`agentic`, `monit`, `prod`), each with a `default`
    /// storage location on an existing bucket (controller tick 10 ms).
    ///
    /// # Errors
    ///
    /// When a loopback listener, a test CA or the kubeconfig file cannot be made.
    ///
    /// ```no_run
    /// # async fn run() -> std::io::Result<()> {
    /// let fake = velero_client::testing::FakeVelero::start().await?;
    /// let prod = fake.client_builder_for("prod").build().await.map_err(std::io::Error::other)?;
    /// # let _ = prod; Ok(()) }
    /// ```
    pub async fn start() -> std::io::Result<Self> {
        let fake = Self::start_contexts(&["prod", "agentic", "monit"]).await?;
        for c in fake.clusters.values() {
            c.add_default_location().map_err(std::io::Error::other)?;
        }
        Ok(fake)
    }

    /// Starts one fake cluster per context (controller tick 10 ms), without storage locations.
    ///
    /// # Errors
    ///
    /// When a loopback listener, a test CA or the kubeconfig file cannot be made.
    pub async fn start_contexts(contexts: &[&str]) -> std::io::Result<Self> {
        Self::start_with_tick(contexts, Duration::from_millis(10)).await
    }

    /// Starts one fake cluster per context with this controller tick.
    ///
    /// # Errors
    ///
    /// When a loopback listener, a test CA or the kubeconfig file cannot be made.
    pub async fn start_with_tick(contexts: &[&str], tick: Duration) -> std::io::Result<Self> {
        let mut clusters = BTreeMap::new();
        for ctx in contexts {
            clusters.insert((*ctx).to_owned(), FakeCluster::start(ctx, tick).await?);
        }
        let dir = tempfile::tempdir()?;
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, kubeconfig_yaml(&clusters))?;
        Ok(Self {
            clusters,
            kubeconfig,
            _dir: dir,
        })
    }

    /// A client builder pointed at this fake: its kubeconfig and its current context (the
    /// first context in name order; `agentic` for [`FakeVelero::start`]).
    pub fn client_builder(&self) -> ClientBuilder {
        let builder = ClientBuilder::default().with_kubeconfig_path(&self.kubeconfig);
        match self.clusters.keys().next() {
            Some(first) => builder.with_context(first),
            None => builder,
        }
    }

    /// A client builder pointed at one context of this fake.
    pub fn client_builder_for(&self, context: &str) -> ClientBuilder {
        ClientBuilder::default()
            .with_kubeconfig_path(&self.kubeconfig)
            .with_context(context)
    }

    /// Path of the kubeconfig (current context: the first one).
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// A cluster by context name.
    pub fn cluster(&self, context: &str) -> Option<&FakeCluster> {
        self.clusters.get(context)
    }

    /// Context names.
    pub fn contexts(&self) -> Vec<String> {
        self.clusters.keys().cloned().collect()
    }
}

fn kubeconfig_yaml(clusters: &BTreeMap<String, FakeCluster>) -> String {
    use base64::Engine as _;
    let mut y = String::from("apiVersion: v1\nkind: Config\nclusters:\n");
    for (name, c) in clusters {
        y.push_str(&format!(
            "- name: {name}\n  cluster:\n    server: {}\n    certificate-authority-data: {}\n",
            c.url(),
            base64::engine::general_purpose::STANDARD.encode(c.api_ca_pem.as_bytes())
        ));
    }
    y.push_str("contexts:\n");
    for name in clusters.keys() {
        y.push_str(&format!("- name: {name}\n  context:\n    cluster: {name}\n    user: {name}-admin\n    namespace: velero\n"));
    }
    y.push_str("users:\n");
    for (name, c) in clusters {
        y.push_str(&format!(
            "- name: {name}-admin\n  user:\n    token: {}\n",
            c.state.token
        ));
    }
    if let Some(first) = clusters.keys().next() {
        y.push_str(&format!("current-context: {first}\n"));
    }
    y
}
