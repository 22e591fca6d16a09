//! The fake PBS server: certificate, listener and the [`FakePbs`] handle with its accessors.

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::config::FakePbsConfig;
use super::routing::handle;
use super::snapshot::FakeSnapshot;
use super::state::{Injected, StateData, add_ns_chain, make_upid, new_store, seed_data};
use super::tasks::Task;
use crate::client::ClientBuilder;
use crate::fingerprint::Fingerprint;
use crate::types::TaskState;
use crate::upid::Upid;

pub(super) struct Shared {
    pub(super) config: FakePbsConfig,
    pub(super) state: Mutex<StateData>,
    pub(super) key: [u8; 32],
    pub(super) logins: AtomicU64,
    pub(super) renewals: AtomicU64,
    pub(super) requests: AtomicU64,
    pub(super) handshake_failures: AtomicU64,
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, StateData> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The default full-privilege API token id of the fake.
pub const TOKEN_ID: &str = "root@pam!test";
pub(super) const TOKEN_SECRET: &str = "0b5e1c4a-8a2f-4d1e-9f3c-6d7e8f9a0b1c";
/// An audit-only token (reads allowed, writes answered 403).
pub const AUDIT_TOKEN_ID: &str = "audit@pbs!monitor";
pub(super) const AUDIT_TOKEN_SECRET: &str = "a11d17ed-0000-4000-8000-000000000001";
/// The fake's password user.
pub const USER: &str = "root@pam";
pub(super) const PASSWORD: &str = "fake-pbs-password";

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
pub(super) struct FixedCert(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for FixedCert {
    fn resolve(
        &self,
        _hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}
