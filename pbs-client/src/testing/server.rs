//! The fake PBS server.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use jiff::tz::TimeZone;
use secrecy::SecretString;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::datastore::{datastore_endpoint, usage_json};
use super::tasks::{self, Task};
use crate::client::ClientBuilder;
use crate::fingerprint::Fingerprint;
use crate::types::{KeepOptions, TaskState};
use crate::upid::Upid;

/// Settings of a [`FakePbs`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FakePbsConfig {
    /// Ticket lifetime (PBS: 2 h).
    pub ticket_lifetime: Duration,
    /// Delay before a 401 answer (PBS: 3 s after the request started).
    pub auth_failure_delay: Duration,
    /// Delay before a 403 answer (PBS: 0.5 s).
    pub permission_failure_delay: Duration,
    /// How long each task runs before it stops.
    pub task_duration: Duration,
    /// The server's local time zone (prune periods).
    pub time_zone: TimeZone,
    /// Add unknown fields to every answer, as newer PBS versions would.
    pub extra_fields: bool,
    /// Seed the default datastores, snapshots and jobs.
    pub seed: bool,
    /// Present this DER certificate (e.g. another fake's, see [`FakePbs::certificate_der`])
    /// while signing the handshake with this fake's own key: an attacker replaying a public
    /// certificate it has no key for. Pinning clients must refuse it.
    pub impersonate: Option<Vec<u8>>,
    /// Answer `GET /admin/datastore/{store}/gc` with the job status (`store`, schedule, last
    /// run) like PBS 3.2.2 and later; `false` answers the bare statistics like older servers
    /// [proxmox/proxmox-backup fe1d34d2 "api: garbage collect job status"].
    pub gc_job_status: bool,
    /// Offer only TLS 1.2 (as a PBS behind an older reverse proxy may): the handshake
    /// signature then covers the ServerKeyExchange instead of TLS 1.3's CertificateVerify.
    pub tls12_only: bool,
}

impl Default for FakePbsConfig {
    fn default() -> Self {
        FakePbsConfig {
            ticket_lifetime: Duration::from_secs(7200),
            auth_failure_delay: Duration::from_secs(3),
            permission_failure_delay: Duration::from_millis(500),
            task_duration: Duration::from_millis(300),
            time_zone: TimeZone::UTC,
            extra_fields: true,
            seed: true,
            impersonate: None,
            gc_job_status: true,
            tls12_only: false,
        }
    }
}

impl FakePbsConfig {
    /// Ticket lifetime.
    pub fn with_ticket_lifetime(mut self, d: Duration) -> Self {
        self.ticket_lifetime = d;
        self
    }
    /// Delay of 401 answers.
    pub fn with_auth_failure_delay(mut self, d: Duration) -> Self {
        self.auth_failure_delay = d;
        self
    }
    /// Task run time.
    pub fn with_task_duration(mut self, d: Duration) -> Self {
        self.task_duration = d;
        self
    }
    /// Server time zone.
    pub fn with_time_zone(mut self, tz: TimeZone) -> Self {
        self.time_zone = tz;
        self
    }
    /// Whether to add unknown fields.
    pub fn with_extra_fields(mut self, on: bool) -> Self {
        self.extra_fields = on;
        self
    }
    /// Present another server's certificate without its key (see [`FakePbsConfig::impersonate`]).
    pub fn with_impersonate(mut self, der: Vec<u8>) -> Self {
        self.impersonate = Some(der);
        self
    }
    /// Whether `GET …/gc` answers the job status (PBS ≥ 3.2.2) or the bare statistics.
    pub fn with_gc_job_status(mut self, on: bool) -> Self {
        self.gc_job_status = on;
        self
    }
    /// Offer only TLS 1.2 (see [`FakePbsConfig::tls12_only`]).
    pub fn with_tls12_only(mut self) -> Self {
        self.tls12_only = true;
        self
    }
    /// Whether to seed data.
    pub fn with_seed(mut self, on: bool) -> Self {
        self.seed = on;
        self
    }
}

/// A snapshot held by the fake.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct FakeSnapshot {
    /// Namespace (`""` = root).
    pub ns: String,
    /// `vm`, `ct` or `host`.
    pub backup_type: String,
    /// Backup id.
    pub backup_id: String,
    /// Epoch seconds.
    pub time: i64,
    /// Protected.
    pub protected: bool,
    /// Has a manifest.
    pub finished: bool,
    /// Verification `(state, upid)`.
    pub verification: Option<(String, String)>,
    /// Verification would fail (bad chunks).
    pub corrupt: bool,
    /// First line of the notes.
    pub comment: Option<String>,
    /// Owner.
    pub owner: String,
    /// Files and sizes.
    pub files: Vec<(String, u64)>,
    /// Decoded content of `.blob` files (see [`FakeSnapshot::with_blob`]); the manifest
    /// `index.json.blob` is generated from the snapshot itself.
    pub blobs: std::collections::BTreeMap<String, Vec<u8>>,
    /// How long the `backup` task that wrote it ran; `None` records no task (see
    /// [`FakeSnapshot::with_backup_task`]).
    pub backup_task: Option<Duration>,
}

impl FakeSnapshot {
    /// A finished snapshot owned by `root@pam` with a manifest and one archive.
    pub fn new(ns: &str, backup_type: &str, backup_id: &str, time: i64) -> Self {
        let archive = match backup_type {
            "vm" => "drive-scsi0.img.fidx",
            "ct" => "root.pxar.didx",
            _ => "data.pxar.didx",
        };
        FakeSnapshot {
            ns: ns.to_owned(),
            backup_type: backup_type.to_owned(),
            backup_id: backup_id.to_owned(),
            time,
            protected: false,
            finished: true,
            verification: None,
            corrupt: false,
            comment: None,
            owner: "root@pam".to_owned(),
            files: vec![
                ("index.json.blob".to_owned(), 512),
                (archive.to_owned(), 1 << 30),
            ],
            blobs: std::collections::BTreeMap::new(),
            backup_task: None,
        }
    }

    /// [`FakePbs::add_snapshot`] also records the finished `backup` task that wrote it: started
    /// at the snapshot's time, ended `OK` after `run`.
    pub fn with_backup_task(mut self, run: Duration) -> Self {
        self.backup_task = Some(run);
        self
    }

    /// Adds a `.blob` file (e.g. `qemu-server.conf.blob`) with this decoded content, served by
    /// `download-decoded`.
    pub fn with_blob(mut self, name: &str, content: &[u8]) -> Self {
        self.files.retain(|(n, _)| n != name);
        self.files.push((name.to_owned(), content.len() as u64));
        self.blobs.insert(name.to_owned(), content.to_vec());
        self
    }

    /// The manifest as `index.json.blob` decodes: type, id, time, the other files with size,
    /// checksum and crypt mode, `unprotected` (verify state) and `signature`
    /// [PB: pbs-datastore/src/manifest.rs `BackupManifest`, `FileInfo`].
    pub(super) fn manifest(&self) -> Value {
        let files: Vec<Value> = self
            .files
            .iter()
            .filter(|(n, _)| n != "index.json.blob")
            .map(|(n, size)| {
                let csum = hex::encode(Sha256::digest(format!("{}/{n}", self.time).as_bytes()));
                json!({"filename": n, "crypt-mode": "none", "size": size, "csum": csum})
            })
            .collect();
        let mut unprotected = json!({});
        if let Some((state, upid)) = &self.verification {
            unprotected["verify_state"] = json!({"state": state, "upid": upid});
        }
        json!({
            "backup-type": self.backup_type,
            "backup-id": self.backup_id,
            "backup-time": self.time,
            "files": files,
            "unprotected": unprotected,
            "signature": null,
        })
    }

    /// Marks it protected.
    pub fn protected(mut self) -> Self {
        self.protected = true;
        self
    }

    pub(super) fn size(&self) -> u64 {
        self.files.iter().map(|f| f.1).sum()
    }

    pub(super) fn json(&self) -> Value {
        let mut v = json!({
            "backup-type": self.backup_type,
            "backup-id": self.backup_id,
            "backup-time": self.time,
            "files": self.files.iter().map(|(n, s)| json!({"filename": n, "crypt-mode": "none", "size": s})).collect::<Vec<_>>(),
            "size": self.size(),
            "owner": self.owner,
            "protected": self.protected,
        });
        if let Some((state, upid)) = &self.verification {
            v["verification"] = json!({"state": state, "upid": upid});
        }
        if let Some(c) = &self.comment {
            v["comment"] = json!(c);
        }
        v
    }
}

pub(super) struct Store {
    pub(super) comment: Option<String>,
    pub(super) maintenance: Option<String>,
    pub(super) namespaces: BTreeSet<String>,
    pub(super) snapshots: Vec<FakeSnapshot>,
    pub(super) total: u64,
    pub(super) gc_upid: Option<String>,
    pub(super) gc_removed_bytes: u64,
}

struct Job {
    kind: &'static str,
    config: Value,
    last_upid: Option<String>,
    last_state: Option<String>,
    last_endtime: Option<i64>,
}

struct TicketRecord {
    user: String,
    issued: Instant,
    csrf: String,
}

struct Injected {
    path_contains: String,
    status: u16,
    body: Vec<u8>,
    retry_after: Option<u64>,
}

#[derive(Default)]
pub(super) struct StateData {
    pub(super) stores: HashMap<String, Store>,
    pub(super) tasks: Vec<Task>,
    jobs: Vec<Job>,
    tickets: HashMap<String, TicketRecord>,
    injected: Vec<Injected>,
    pub(super) next_task_id: u64,
    tls_versions: Vec<String>,
}

struct Shared {
    config: FakePbsConfig,
    state: Mutex<StateData>,
    key: [u8; 32],
    logins: AtomicU64,
    renewals: AtomicU64,
    requests: AtomicU64,
    handshake_failures: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, StateData> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The default full-privilege API token id of the fake.
pub const TOKEN_ID: &str = "root@pam!test";
const TOKEN_SECRET: &str = "0b5e1c4a-8a2f-4d1e-9f3c-6d7e8f9a0b1c";
/// An audit-only token (reads allowed, writes answered 403).
pub const AUDIT_TOKEN_ID: &str = "audit@pbs!monitor";
const AUDIT_TOKEN_SECRET: &str = "a11d17ed-0000-4000-8000-000000000001";
/// The fake's password user.
pub const USER: &str = "root@pam";
const PASSWORD: &str = "fake-pbs-password";

/// A running fake PBS. Dropping it stops accepting connections.
pub struct FakePbs {
    addr: SocketAddr,
    fingerprint: Fingerprint,
    cert_der: Vec<u8>,
    cert_pem: String,
    shared: Arc<Shared>,
    accept_loop: JoinHandle<()>,
}

impl fmt::Debug for FakePbs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakePbs")
            .field("addr", &self.addr)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl Drop for FakePbs {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

pub(super) fn now_epoch() -> i64 {
    jiff::Timestamp::now().as_second()
}

impl FakePbs {
    /// Starts a fake with the default configuration (401 answers delayed 3 s like PBS) on
    /// `127.0.0.1` and a free port.
    ///
    /// # Errors
    ///
    /// When the certificate cannot be made or the listener cannot bind.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(FakePbsConfig::default()).await
    }

    /// Starts a fake with `config`.
    ///
    /// # Errors
    ///
    /// As [`FakePbs::start`].
    pub async fn start_with(config: FakePbsConfig) -> std::io::Result<Self> {
        let io_err = |e: &dyn fmt::Display| std::io::Error::other(e.to_string());
        // Shaped like PBS's own certificate: SANs 127.0.0.1, ::1, localhost and the node name,
        // `CA:FALSE`, extended key usage serverAuth, O=Proxmox Backup Server
        // [PB: src/config/mod.rs `update_self_signed_cert`] (an ECDSA key instead of RSA-4096,
        // to start fast). Clients that verify it as their only trust anchor (proxmoxer with
        // `verify_ssl=<pem>`) need the IP SANs.
        let signing_key = rcgen::KeyPair::generate().map_err(|e| io_err(&e))?;
        let mut params = rcgen::CertificateParams::new(vec![
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
            "localhost".to_owned(),
            "pbs-fake".to_owned(),
        ])
        .map_err(|e| io_err(&e))?;
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Proxmox Backup Server");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "pbs-fake");
        params.is_ca = rcgen::IsCa::ExplicitNoCa;
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let certificate = params.self_signed(&signing_key).map_err(|e| io_err(&e))?;
        let cert_der = certificate.der().clone();
        let cert_pem = certificate.pem();
        // The fingerprint of the certificate this fake presents.
        let fingerprint =
            Fingerprint::of_der(config.impersonate.as_deref().unwrap_or(cert_der.as_ref()));
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(
            rustls::pki_types::PrivatePkcs8KeyDer::from(signing_key.serialize_der()),
        );
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let versions: &[&rustls::SupportedProtocolVersion] = if config.tls12_only {
            &[&rustls::version::TLS12]
        } else {
            rustls::DEFAULT_VERSIONS
        };
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)
            .map_err(|e| io_err(&e))?
            .with_no_client_auth();
        let tls = match &config.impersonate {
            None => builder
                .with_single_cert(vec![cert_der.clone()], key)
                .map_err(|e| io_err(&e))?,
            Some(other) => {
                let signer = provider
                    .key_provider
                    .load_private_key(key)
                    .map_err(|e| io_err(&e))?;
                let certified = rustls::sign::CertifiedKey::new(
                    vec![rustls::pki_types::CertificateDer::from(other.clone())],
                    signer,
                );
                builder.with_cert_resolver(Arc::new(FixedCert(Arc::new(certified))))
            }
        };
        let acceptor = TlsAcceptor::from(Arc::new(tls));
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;

        let mut hmac_key = [0u8; 32];
        hmac_key.copy_from_slice(&Sha256::digest(format!(
            "{addr}{:?}{}",
            Instant::now(),
            std::process::id()
        )));
        let seed = config.seed;
        let shared = Arc::new(Shared {
            config,
            state: Mutex::new(StateData::default()),
            key: hmac_key,
            logins: AtomicU64::new(0),
            renewals: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            handshake_failures: AtomicU64::new(0),
        });
        if seed {
            seed_data(&mut shared.lock());
        }
        let router = Router::new().fallback(handle).with_state(shared.clone());
        let loop_shared = shared.clone();
        let accept_loop = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let router = router.clone();
                let shared = loop_shared.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        shared.handshake_failures.fetch_add(1, Ordering::Relaxed);
                        return;
                    };
                    if let Some(v) = tls.get_ref().1.protocol_version() {
                        shared.lock().tls_versions.push(format!("{v:?}"));
                    }
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), TowerToHyperService::new(router))
                        .await;
                });
            }
        });
        Ok(FakePbs {
            addr,
            fingerprint,
            cert_der: cert_der.to_vec(),
            cert_pem,
            shared,
            accept_loop,
        })
    }

    /// `https://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The SHA-256 fingerprint of the certificate the fake presents.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// The DER of this fake's own (self-signed) certificate.
    pub fn certificate_der(&self) -> Vec<u8> {
        self.cert_der.clone()
    }

    /// This fake's own certificate in PEM, e.g. as the only trust anchor of another client.
    pub fn certificate_pem(&self) -> String {
        self.cert_pem.clone()
    }

    /// The full-privilege token secret (id [`TOKEN_ID`]).
    pub fn token_secret(&self) -> SecretString {
        SecretString::from(TOKEN_SECRET)
    }

    /// The audit-only token secret (id [`AUDIT_TOKEN_ID`]).
    pub fn audit_token_secret(&self) -> SecretString {
        SecretString::from(AUDIT_TOKEN_SECRET)
    }

    /// The password of [`USER`].
    pub fn password(&self) -> SecretString {
        SecretString::from(PASSWORD)
    }

    /// A client builder already pointed at this fake: its base URL, its pinned fingerprint, the
    /// full-privilege token ([`TOKEN_ID`]), task polls every 50 ms; change any of it before
    /// `build()` (e.g. [`ClientBuilder::with_password`] with [`USER`] and
    /// [`FakePbs::password`]).
    pub fn client_builder(&self) -> ClientBuilder {
        ClientBuilder::default()
            .with_base_url(self.base_url())
            .with_fingerprint(self.fingerprint)
            .with_token(TOKEN_ID, self.token_secret())
            .with_task_poll_interval(Duration::from_millis(50))
            .with_request_timeout(Duration::from_secs(20))
    }

    /// Password logins served so far.
    pub fn logins(&self) -> u64 {
        self.shared.logins.load(Ordering::Relaxed)
    }

    /// Ticket renewals (a ticket presented as the password) served so far.
    pub fn renewals(&self) -> u64 {
        self.shared.renewals.load(Ordering::Relaxed)
    }

    /// HTTP requests served so far.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// The protocol version of every completed TLS handshake, in order (`"TLSv1_2"`,
    /// `"TLSv1_3"`).
    pub fn tls_versions(&self) -> Vec<String> {
        self.shared.lock().tls_versions.clone()
    }

    /// Every ticket and CSRF token issued so far (for tests proving they never leak).
    pub fn issued_tickets(&self) -> Vec<(SecretString, SecretString)> {
        self.shared
            .lock()
            .tickets
            .iter()
            .map(|(t, r)| {
                (
                    SecretString::from(t.clone()),
                    SecretString::from(r.csrf.clone()),
                )
            })
            .collect()
    }

    /// TLS handshakes that failed (e.g. the client refused the certificate).
    pub fn handshake_failures(&self) -> u64 {
        self.shared.handshake_failures.load(Ordering::Relaxed)
    }

    /// Answers the next request whose path contains `path_contains` with this raw status and
    /// body (JSON content type, like PBS), e.g. garbage or a 503 with `Retry-After`.
    pub fn inject_response(
        &self,
        path_contains: &str,
        status: u16,
        body: impl Into<Vec<u8>>,
        retry_after: Option<u64>,
    ) {
        self.shared.lock().injected.push(Injected {
            path_contains: path_contains.to_owned(),
            status,
            body: body.into(),
            retry_after,
        });
    }

    /// Adds a datastore.
    pub fn add_datastore(&self, name: &str) {
        self.shared
            .lock()
            .stores
            .insert(name.to_owned(), new_store(None));
    }

    /// Adds a snapshot (creating its namespace chain; the store must exist), and its finished
    /// `backup` task when it has one ([`FakeSnapshot::with_backup_task`]).
    pub fn add_snapshot(&self, store: &str, snapshot: FakeSnapshot) {
        let mut st = self.shared.lock();
        let Some(s) = st.stores.get_mut(store) else {
            return;
        };
        add_ns_chain(&mut s.namespaces, &snapshot.ns);
        let task = snapshot.backup_task.map(|run| {
            // A backup runs as worker type `backup` with worker id `<store>:<type>/<id>`, the
            // namespace left out ("FIXME: include namespace here?"), under the auth id of the
            // client [PB: src/api2/backup/mod.rs `upgrade_to_backup_protocol`].
            let wid = format!("{store}:{}/{}", snapshot.backup_type, snapshot.backup_id);
            (wid, snapshot.time, snapshot.owner.clone(), run)
        });
        s.snapshots.push(snapshot);
        if let Some((wid, start, owner, run)) = task {
            let upid = Upid::new(
                "pbs",
                0x4F37,
                0x0039_E469,
                st.next_task_id,
                start,
                "backup",
                Some(wid),
                owner,
            );
            st.next_task_id += 1;
            st.tasks.push(Task {
                upid,
                started: Instant::now(),
                duration: Duration::ZERO,
                log: vec!["backup finished successfully".to_owned()],
                result: TaskState::Ok,
                aborted_at: None,
                ended_at: Some(
                    start.saturating_add(i64::try_from(run.as_secs()).unwrap_or(i64::MAX)),
                ),
            });
        }
    }

    /// Records a task that already ended with `state` (started and ended now, by `root@pam`),
    /// as if the server had run it: for tests of task lists, filters and job health.
    pub fn add_finished_task(
        &self,
        worker_type: &str,
        worker_id: Option<&str>,
        state: TaskState,
    ) -> Upid {
        let mut st = self.shared.lock();
        let upid = make_upid(st.next_task_id, worker_type, worker_id.unwrap_or(""), USER);
        st.next_task_id += 1;
        let end = upid.starttime;
        st.tasks.push(Task {
            upid: upid.clone(),
            started: Instant::now(),
            duration: Duration::ZERO,
            log: Vec::new(),
            result: state,
            aborted_at: None,
            ended_at: Some(end),
        });
        upid
    }

    /// The snapshots currently held for `store`.
    pub fn snapshots(&self, store: &str) -> Vec<FakeSnapshot> {
        self.shared
            .lock()
            .stores
            .get(store)
            .map(|s| s.snapshots.clone())
            .unwrap_or_default()
    }
}

/// Always presents one certificate (used to impersonate another server).
#[derive(Debug)]
struct FixedCert(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for FixedCert {
    fn resolve(
        &self,
        _hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

fn new_store(comment: Option<&str>) -> Store {
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

fn add_ns_chain(set: &mut BTreeSet<String>, ns: &str) {
    let mut cur = String::new();
    for part in ns.split('/').filter(|p| !p.is_empty()) {
        if !cur.is_empty() {
            cur.push('/');
        }
        cur.push_str(part);
        set.insert(cur.clone());
    }
}

fn seed_data(st: &mut StateData) {
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

/// An error answer: status and PBS's plain-text message.
pub(super) struct ApiErr(pub(super) StatusCode, pub(super) String);

pub(super) fn bad_request(msg: impl Into<String>) -> ApiErr {
    ApiErr(StatusCode::BAD_REQUEST, msg.into())
}

/// A success answer.
pub(super) struct Answer {
    pub(super) data: Value,
    pub(super) total: Option<u64>,
    pub(super) active: Option<bool>,
    /// A raw `application/octet-stream` body instead of the JSON envelope (downloads).
    pub(super) raw: Option<Vec<u8>>,
}

impl From<Value> for Answer {
    fn from(data: Value) -> Self {
        Answer {
            data,
            total: None,
            active: None,
            raw: None,
        }
    }
}

pub(super) type Reply = Result<Answer, ApiErr>;

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json;charset=UTF-8")
        .body(Body::from(body))
        .unwrap_or_default()
}

fn pct_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[derive(Clone, Debug)]
pub(super) enum Identity {
    Token { id: String, audit_only: bool },
    Ticket { user: String },
}

impl Identity {
    pub(super) fn auth_id(&self) -> &str {
        match self {
            Identity::Token { id, .. } => id,
            Identity::Ticket { user } => user,
        }
    }
}

/// Request parameters: query and body merged, JSON types kept.
pub(super) struct Params(Map<String, Value>);

impl Params {
    fn parse(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Result<Params, ApiErr> {
        let mut map = Map::new();
        for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            let k = k.into_owned();
            if k == "_dc" {
                continue;
            }
            match map.get_mut(&k) {
                Some(Value::Array(a)) => a.push(Value::String(v.into_owned())),
                Some(prev) => {
                    let p = prev.take();
                    *prev = Value::Array(vec![p, Value::String(v.into_owned())]);
                }
                None => {
                    map.insert(k, Value::String(v.into_owned()));
                }
            }
        }
        if !body.is_empty() {
            if body.len() > 64 * 1024 {
                return Err(bad_request("request body too large"));
            }
            let ct = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if ct.starts_with("application/json") {
                match serde_json::from_slice::<Value>(body) {
                    Ok(Value::Object(o)) => map.extend(o),
                    Ok(_) => {
                        return Err(bad_request(
                            "parameter verification errors\nbody: expected object",
                        ));
                    }
                    Err(e) => return Err(bad_request(format!("unable to parse json body - {e}"))),
                }
            } else if ct.starts_with("application/x-www-form-urlencoded") {
                for (k, v) in url::form_urlencoded::parse(body) {
                    map.insert(k.into_owned(), Value::String(v.into_owned()));
                }
            } else {
                return Err(bad_request("unsupported content type"));
            }
        }
        Ok(Params(map))
    }

    pub(super) fn verr(name: &str, msg: &str) -> ApiErr {
        bad_request(format!("parameter verification errors\n\n{name}: {msg}"))
    }

    pub(super) fn str(&self, name: &str) -> Result<Option<String>, ApiErr> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Array(_)) => Err(bad_request("duplicate parameter.")),
            Some(_) => Err(Self::verr(name, "Expected string value.")),
        }
    }

    pub(super) fn req_str(&self, name: &str) -> Result<String, ApiErr> {
        self.str(name)?
            .ok_or_else(|| Self::verr(name, "parameter is missing and it is not optional."))
    }

    pub(super) fn int(&self, name: &str, min: i64) -> Result<Option<i64>, ApiErr> {
        let v = match self.0.get(name) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .ok_or_else(|| Self::verr(name, "Expected integer value."))?,
            Some(Value::String(s)) => s
                .parse()
                .map_err(|_| Self::verr(name, "Expected integer value."))?,
            Some(Value::Array(_)) => return Err(bad_request("duplicate parameter.")),
            Some(_) => return Err(Self::verr(name, "Expected integer value.")),
        };
        if v < min {
            return Err(Self::verr(
                name,
                &format!("value must have a minimum value of {min}"),
            ));
        }
        Ok(Some(v))
    }

    pub(super) fn bool(&self, name: &str) -> Result<Option<bool>, ApiErr> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "1" | "on" | "yes" | "true" => Ok(Some(true)),
                "0" | "off" | "no" | "false" => Ok(Some(false)),
                _ => Err(Self::verr(name, "Unable to parse boolean option.")),
            },
            Some(_) => Err(Self::verr(name, "Expected boolean value.")),
        }
    }

    pub(super) fn list(&self, name: &str) -> Vec<String> {
        match self.0.get(name) {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    }

    pub(super) fn keep(&self) -> Result<KeepOptions, ApiErr> {
        let k = |n: &str| -> Result<Option<u64>, ApiErr> {
            Ok(self.int(n, 1)?.and_then(|v| u64::try_from(v).ok()))
        };
        Ok(KeepOptions {
            keep_last: k("keep-last")?,
            keep_hourly: k("keep-hourly")?,
            keep_daily: k("keep-daily")?,
            keep_weekly: k("keep-weekly")?,
            keep_monthly: k("keep-monthly")?,
            keep_yearly: k("keep-yearly")?,
        })
    }
}

async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
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

fn add_extra_fields(v: &mut Value) {
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

fn authenticate(shared: &Shared, method: &Method, headers: &HeaderMap) -> Result<Identity, ApiErr> {
    let fail = |m: &str| {
        ApiErr(
            StatusCode::UNAUTHORIZED,
            format!("authentication failed - {m}"),
        )
    };
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().strip_prefix("PBSAuthCookie="))
        .next()
        .map(str::to_owned);
    if let Some(cookie) = cookie {
        let ticket = pct_decode(&cookie).ok_or_else(|| fail("invalid ticket"))?;
        let st = shared.lock();
        let rec = st
            .tickets
            .get(&ticket)
            .ok_or_else(|| fail("invalid ticket"))?;
        if rec.issued.elapsed() >= shared.config.ticket_lifetime {
            return Err(fail("ticket expired"));
        }
        if method != Method::GET {
            let csrf = headers
                .get("CSRFPreventionToken")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| fail("missing CSRF prevention token"))?;
            if csrf != rec.csrf {
                return Err(fail("invalid CSRF prevention token"));
            }
        }
        return Ok(Identity::Ticket {
            user: rec.user.clone(),
        });
    }
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| fail("no authentication credentials provided."))?;
    let rest = auth
        .strip_prefix("PBSAPIToken=")
        .or_else(|| auth.strip_prefix("PBSAPIToken "))
        .ok_or_else(|| fail("invalid authorization header"))?;
    let (id, secret) = rest.split_once(':').ok_or_else(|| fail("invalid token"))?;
    let secret = pct_decode(secret).ok_or_else(|| fail("invalid token"))?;
    match (id, secret.as_str()) {
        (TOKEN_ID, TOKEN_SECRET) => Ok(Identity::Token {
            id: id.to_owned(),
            audit_only: false,
        }),
        (AUDIT_TOKEN_ID, AUDIT_TOKEN_SECRET) => Ok(Identity::Token {
            id: id.to_owned(),
            audit_only: true,
        }),
        _ => Err(fail("invalid API token")),
    }
}

fn create_ticket(shared: &Shared, params: &Params) -> Reply {
    let fail = || {
        ApiErr(
            StatusCode::UNAUTHORIZED,
            "permission check failed.".to_owned(),
        )
    };
    let username = params.req_str("username")?;
    let password = params.req_str("password")?;
    let mut st = shared.lock();
    let renewing = st
        .tickets
        .get(&password)
        .is_some_and(|r| r.user == username && r.issued.elapsed() < shared.config.ticket_lifetime);
    if renewing {
        shared.renewals.fetch_add(1, Ordering::Relaxed);
    } else if username == USER && password == PASSWORD {
        shared.logins.fetch_add(1, Ordering::Relaxed);
    } else {
        return Err(fail());
    }
    let epoch = now_epoch();
    let n = st.tickets.len();
    let data = format!("PBS:{username}:{epoch:08X}");
    let sig = hex::encode(Sha256::digest(
        [&shared.key[..], data.as_bytes(), &n.to_le_bytes()].concat(),
    ));
    let ticket = format!("{data}::{sig}");
    let csrf = format!(
        "{epoch:08X}:{}",
        &hex::encode(Sha256::digest(
            [&shared.key[..], ticket.as_bytes()].concat()
        ))[..43]
    );
    st.tickets.insert(
        ticket.clone(),
        TicketRecord {
            user: username.clone(),
            issued: Instant::now(),
            csrf: csrf.clone(),
        },
    );
    Ok(json!({"username": username, "ticket": ticket, "CSRFPreventionToken": csrf}).into())
}

fn dispatch(
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

fn job_json(st: &StateData, j: &Job) -> Value {
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
