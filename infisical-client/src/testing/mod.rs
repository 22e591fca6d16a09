//! A faithful fake Infisical on loopback, for tests of this crate and of its users
//! (feature `testing`).
//!
//! This module is for tests: its API is **not covered by semver** and may change in any
//! release.
//!
//! It serves the routes this crate uses, with the shapes of Infisical's own answers (see the
//! crate README for the sources):
//!
//! * `POST /api/v1/auth/universal-auth/login`, `POST /api/v1/auth/kubernetes-auth/login`,
//!   `POST /api/v1/auth/token/renew` → `{accessToken, expiresIn, accessTokenMaxTTL, tokenType}`;
//!   tokens expire after the identity's TTL (→ 403 `TokenError`), renewal fails past the max TTL
//!   and signs a new token (or, with [`FakeInfisical::legacy_tokens`], returns the same one),
//!   use-count limits (see `tokens.rs` for the upstream sources).
//! * `GET /api/v4/secrets`, `GET /api/v4/secrets/{name}` (`projectId`; 2026 defaults:
//!   `expandSecretReferences` and `includeImports` default to **true**) and the legacy
//!   `GET /api/v3/secrets/raw[/{name}]` (`workspaceId`; defaults false) — folders, recursive
//!   listing, secret imports, `${KEY}` / `${env.folder.KEY}` references, hidden values
//!   (`secretValueHidden: true`, `<hidden-by-infisical>`), unknown extra fields; a folder that
//!   does not exist is 404 `SecretPathNotFound`; values the identity may not read are 403
//!   for the folder's own secrets and silently left out of imports (see `reads.rs` for the
//!   upstream files each behaviour comes from).
//! * zod-style 422 for booleans other than `"true"`/`"false"`, Fastify's own 404 for unknown
//!   routes (and for v4 when [`FakeInfisical::disable_v4`] simulates an older server), a
//!   fixed-window rate limiter answering 429 with `Retry-After`, and injected failures.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use infisical_client::testing::FakeInfisical;
//! use secrecy::ExposeSecret;
//!
//! let fake = FakeInfisical::start().await?;
//! fake.with_garage_bundle("GK123", "s3cr3t", "http://127.0.0.1:3900", "adm1n");
//! let client = fake.client_builder().build()?;
//! let garage = client.garage_credentials().await?;
//! assert_eq!(garage.secret_access_key.expose_secret(), "s3cr3t");
//!
//! // Other identities, folders and failures are seeded the same way.
//! fake.with_identity("cid", "csecret")
//!     .with_secret("prod", "/backups/restic", "RESTIC_PASSWORD", "pw");
//! let other = fake
//!     .client_builder()
//!     .with_universal_auth("cid", "csecret".into())
//!     .build()?;
//! let pw = other.get_secret("/backups/restic", "RESTIC_PASSWORD").await?;
//! assert_eq!(pw.value.expose_secret(), "pw");
//! # Ok(()) }
//! ```

mod reads;
mod server;
mod tokens;

use secrecy::SecretString;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::builder::ClientBuilder;
pub use server::RecordedRequest;
use server::{FakeImport, FakeSecret, Identity, State};

/// The project id the fake serves by default.
pub const DEFAULT_PROJECT_ID: &str = "6f0c2d1e-backups-homelab";

/// The client id of the Universal Auth identity every fake starts with.
pub const DEFAULT_CLIENT_ID: &str = "fake-infisical-client";

/// That identity's client secret.
pub const DEFAULT_CLIENT_SECRET: &str = "fake-infisical-secret";

/// A fake Infisical listening on `127.0.0.1:<random port>`; stops when dropped.
///
/// Seeding methods take `&self` and return `&Self`, so they chain and can be called while a
/// test runs (e.g. to expire tokens mid-test).
pub struct FakeInfisical {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl fmt::Debug for FakeInfisical {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeInfisical")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl FakeInfisical {
    /// Starts the fake on a random loopback port, with the Universal Auth identity
    /// [`DEFAULT_CLIENT_ID`] / [`DEFAULT_CLIENT_SECRET`] that [`FakeInfisical::client_builder`]
    /// logs in with.
    ///
    /// The server runs on its own thread with its own runtime, so a test may block (e.g. wait
    /// for a child process that talks to the fake) without stalling it.
    ///
    /// # Errors
    ///
    /// When no loopback port can be bound or the server's thread cannot be started.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_blocking()
    }

    /// [`FakeInfisical::start`] for synchronous tests (no runtime needed).
    ///
    /// # Errors
    ///
    /// As [`FakeInfisical::start`].
    pub fn start_blocking() -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::new()));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = server::router(state.clone());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("fake-infisical".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = rx.await;
                        })
                        .await;
                });
            })?;
        let fake = Self {
            addr,
            state,
            shutdown: Some(tx),
        };
        fake.with_identity(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET);
        Ok(fake)
    }

    /// A [`ClientBuilder`] pointed at the fake: its [`base_url`](Self::base_url), Universal Auth
    /// as [`DEFAULT_CLIENT_ID`], the default project and environment `prod` (where
    /// [`FakeInfisical::with_garage_bundle`] seeds). Every setting can still be changed.
    pub fn client_builder(&self) -> ClientBuilder {
        ClientBuilder::new()
            .with_base_url(self.base_url())
            .with_universal_auth(DEFAULT_CLIENT_ID, SecretString::from(DEFAULT_CLIENT_SECRET))
            .with_project_id(DEFAULT_PROJECT_ID)
            .with_environment("prod")
    }

    fn state(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// `http://127.0.0.1:<port>` (the site URL; the client appends `/api/...`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:<port>/api`, the form the CLI's `INFISICAL_API_URL` uses.
    pub fn api_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The default project's id ([`DEFAULT_PROJECT_ID`]).
    pub fn project_id(&self) -> &'static str {
        DEFAULT_PROJECT_ID
    }

    /// Environment variables a runbook would get (`INFISICAL_API_URL`, client id/secret,
    /// `INFISICAL_PROJECT_ID`), for [`crate::ClientBuilder::from_vars`] or a child process.
    pub fn env_vars(&self, client_id: &str, client_secret: &str) -> Vec<(String, String)> {
        vec![
            ("INFISICAL_API_URL".into(), self.api_url()),
            (
                "INFISICAL_UNIVERSAL_AUTH_CLIENT_ID".into(),
                client_id.into(),
            ),
            (
                "INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET".into(),
                client_secret.into(),
            ),
            ("INFISICAL_PROJECT_ID".into(), DEFAULT_PROJECT_ID.into()),
        ]
    }

    // ------------------------------------------------------------------ seeding: secrets

    /// Adds (or replaces) a shared secret in the default project.
    pub fn with_secret(&self, env: &str, path: &str, key: &str, value: &str) -> &Self {
        self.with_secret_in(DEFAULT_PROJECT_ID, env, path, key, value)
    }

    /// Adds (or replaces) a shared secret in `project`.
    pub fn with_secret_in(
        &self,
        project: &str,
        env: &str,
        path: &str,
        key: &str,
        value: &str,
    ) -> &Self {
        self.state()
            .put_secret(FakeSecret::new(project, env, path, key, value, false));
        self
    }

    /// Adds a secret this identity may see but whose value it may not read (no `ReadValue`
    /// permission), answered as Infisical answers it with `viewSecretValue=true`: listing its
    /// own folder is 403 `PermissionDenied`, a recursive listing of a parent folder and any
    /// folder importing it silently leave it out, reading it by name is 403
    /// `ForbiddenReadSecretError`; with `viewSecretValue=false` it is masked
    /// (`<hidden-by-infisical>`, `secretValueHidden: true`).
    pub fn with_hidden_secret(&self, env: &str, path: &str, key: &str) -> &Self {
        self.state().put_secret(FakeSecret::new(
            DEFAULT_PROJECT_ID,
            env,
            path,
            key,
            "real-but-hidden",
            true,
        ));
        self
    }

    /// Adds a personal secret (served by v3 only, never by v4 with
    /// `includePersonalOverrides=false`).
    pub fn with_personal_secret(&self, env: &str, path: &str, key: &str, value: &str) -> &Self {
        let mut s = FakeSecret::new(DEFAULT_PROJECT_ID, env, path, key, value, false);
        s.personal = true;
        self.state().put_secret(s);
        self
    }

    /// Seeds the homelab's Garage bundle in `prod` at `/backups/garage` (`ACCESS_KEY_ID`,
    /// `SECRET_ACCESS_KEY`, `ENDPOINT`, `ADMIN_TOKEN`).
    pub fn with_garage_bundle(
        &self,
        access_key_id: &str,
        secret_access_key: &str,
        endpoint: &str,
        admin_token: &str,
    ) -> &Self {
        self.with_secret("prod", "/backups/garage", "ACCESS_KEY_ID", access_key_id)
            .with_secret(
                "prod",
                "/backups/garage",
                "SECRET_ACCESS_KEY",
                secret_access_key,
            )
            .with_secret("prod", "/backups/garage", "ENDPOINT", endpoint)
            .with_secret("prod", "/backups/garage", "ADMIN_TOKEN", admin_token)
    }

    /// Removes a secret.
    pub fn remove_secret(&self, env: &str, path: &str, key: &str) -> &Self {
        self.state()
            .remove_secret(DEFAULT_PROJECT_ID, env, path, key);
        self
    }

    /// Creates an (empty) folder. Folders holding secrets, and their parents, exist anyway;
    /// any other folder answers 404 `SecretPathNotFound`.
    pub fn with_folder(&self, env: &str, path: &str) -> &Self {
        self.state().folders.push((
            DEFAULT_PROJECT_ID.into(),
            env.into(),
            crate::secrets::normalize_secret_path(path),
        ));
        self
    }

    /// Makes folder `path` in `env` import the secrets of `from_path` in `from_env`
    /// (imports are listed in the order they were added).
    pub fn with_import(&self, env: &str, path: &str, from_env: &str, from_path: &str) -> &Self {
        self.state().imports.push(FakeImport {
            project: DEFAULT_PROJECT_ID.into(),
            env: env.into(),
            path: crate::secrets::normalize_secret_path(path),
            from_env: from_env.into(),
            from_path: crate::secrets::normalize_secret_path(from_path),
        });
        self
    }

    // ------------------------------------------------------------------ seeding: identities

    /// A Universal Auth identity with Infisical's default token lifetime (30 days).
    pub fn with_identity(&self, client_id: &str, client_secret: &str) -> &Self {
        let ttl = Duration::from_secs(2_592_000);
        self.with_identity_ttl(client_id, client_secret, ttl, ttl)
    }

    /// A Universal Auth identity with its token TTL and max TTL (whole seconds on the wire).
    pub fn with_identity_ttl(
        &self,
        client_id: &str,
        client_secret: &str,
        ttl: Duration,
        max_ttl: Duration,
    ) -> &Self {
        self.state().identities.push(Identity {
            id: format!("identity-{client_id}"),
            client_id: Some(client_id.into()),
            secret: client_secret.into(),
            kubernetes: false,
            ttl,
            max_ttl,
            uses_limit: 0,
        });
        self
    }

    /// Limits every access token issued to `client_id` (or Kubernetes identity id) from now on
    /// to `uses` authenticated requests (`accessTokenNumUsesLimit`; 0 = unlimited). The request
    /// after the last allowed one answers 401 `UnauthorizedError`, or 400 `BadRequest` with
    /// [`Self::legacy_tokens`].
    pub fn with_token_uses_limit(&self, client_id: &str, uses: u32) -> &Self {
        for i in &mut self.state().identities {
            if i.client_id.as_deref() == Some(client_id) || i.id == client_id {
                i.uses_limit = uses;
            }
        }
        self
    }

    /// Answers token requests like older Infisical servers: renewal returns the very token it
    /// was given (whose JWT still expires at its original time), and an exhausted use count is
    /// 400 `BadRequest` instead of 401. By default the fake behaves like current servers:
    /// renewal signs a new token (the old one keeps its own expiry).
    pub fn legacy_tokens(&self) -> &Self {
        self.state().legacy_tokens = true;
        self
    }

    /// A Kubernetes Auth identity that accepts the service-account JWT `jwt`.
    pub fn with_kubernetes_identity(&self, identity_id: &str, jwt: &str) -> &Self {
        let ttl = Duration::from_secs(2_592_000);
        self.state().identities.push(Identity {
            id: identity_id.into(),
            client_id: None,
            secret: jwt.into(),
            kubernetes: true,
            ttl,
            max_ttl: ttl,
            uses_limit: 0,
        });
        self
    }

    /// An access token minted elsewhere (Token Auth); valid until [`Self::revoke_tokens`].
    pub fn with_token(&self, token: &str) -> &Self {
        self.state().add_static_token(token);
        self
    }

    /// Expires every token issued so far (the next use answers 403 `TokenError`).
    pub fn expire_tokens(&self) -> &Self {
        self.state().expire_all();
        self
    }

    /// Every token issued from now on is already expired at its first use (403 `TokenError`),
    /// as with a TTL shorter than a round trip.
    pub fn issue_expired_tokens(&self) -> &Self {
        self.state().issue_expired = true;
        self
    }

    /// Revokes every token (the next use answers 401 `UnauthorizedError`).
    pub fn revoke_tokens(&self) -> &Self {
        self.state().revoke_all();
        self
    }

    // ------------------------------------------------------------------ behaviour knobs

    /// Simulates a self-hosted Infisical from before the v4 secrets API: v4 routes answer
    /// Fastify's "Route … not found" 404.
    pub fn disable_v4(&self) -> &Self {
        self.state().v4_enabled = false;
        self
    }

    /// Limits the secrets routes to `limit` requests per fixed `window` (429 + `Retry-After`).
    pub fn with_rate_limit(&self, limit: u32, window: Duration) -> &Self {
        self.state().secrets_limit.configure(limit, window);
        self
    }

    /// Limits the auth routes to `limit` requests per fixed `window`.
    pub fn with_auth_rate_limit(&self, limit: u32, window: Duration) -> &Self {
        self.state().auth_limit.configure(limit, window);
        self
    }

    /// The next `n` requests (any route, auth included) fail with `status` and an Infisical
    /// error body whose `error` name fits the status (403 → `TokenError`, 429 →
    /// `RateLimitExceeded`, 5xx → `InternalServerError`), without `Retry-After`.
    pub fn fail_next(&self, n: u32, status: u16) -> &Self {
        let mut s = self.state();
        s.fail_next = n;
        s.fail_status = status;
        s.fail_retry_after = None;
        self
    }

    /// Like [`Self::fail_next`], with a `Retry-After: <seconds>` header (e.g. a 503 from a
    /// proxy during maintenance).
    pub fn fail_next_with_retry_after(&self, n: u32, status: u16, retry_after: Duration) -> &Self {
        let mut s = self.state();
        s.fail_next = n;
        s.fail_status = status;
        s.fail_retry_after = Some(retry_after.as_secs());
        self
    }

    // ------------------------------------------------------------------ observation

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().log.clone()
    }

    /// How many requests went to a path starting with `prefix` (e.g. `/api/v4/secrets`).
    pub fn count(&self, prefix: &str) -> usize {
        self.state()
            .log
            .iter()
            .filter(|r| r.path.starts_with(prefix))
            .count()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) -> &Self {
        self.state().log.clear();
        self
    }
}

impl Drop for FakeInfisical {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
