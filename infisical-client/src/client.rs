//! The [`Client`]: auth lifecycle, secrets, bundles.

use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use url::Url;

use crate::api::{self, ApiRequest, RawList, RawOne, RawToken, Scope};
use crate::auth::{Auth, Plan, TokenState};
use crate::bundle::{Bundle, CredentialBundle, GarageCredentials};
use crate::error::{Error, Result};
use crate::secrets::{Secret, Secrets, SecretsQuery};
use crate::transport::HttpOptions;

/// An Infisical client. Cheap to clone (shared state: token, bundle cache).
///
/// Created with [`Client::builder`] or [`Client::from_env`]; see the crate docs for an example.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    transport: crate::transport::Transport,
    auth: Auth,
    project_id: Option<String>,
    environment: Option<String>,
    refresh_at: f64,
    cache_ttl: Duration,
    token: tokio::sync::Mutex<Option<TokenState>>,
    v4_missing: AtomicBool,
    /// The server answered a renewal with the token it was given (older Infisical): its
    /// expiry cannot have moved, so log in instead of renewing.
    renew_returns_same_token: AtomicBool,
    cache: Mutex<HashMap<CacheKey, (Instant, Bundle)>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    project_id: String,
    environment: String,
    query: String,
    keys: Vec<String>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.transport.base().as_str())
            .field("auth", &self.inner.auth.method_name())
            .field("project_id", &self.inner.project_id)
            .field("environment", &self.inner.environment)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub(crate) fn from_parts(
        base: Url,
        auth: Auth,
        project_id: Option<String>,
        environment: Option<String>,
        http: HttpOptions,
        refresh_at: f64,
        cache_ttl: Duration,
    ) -> Result<Self> {
        Ok(Self {
            inner: Arc::new(Inner {
                transport: crate::transport::Transport::new(base, http)?,
                auth,
                project_id,
                environment,
                refresh_at,
                cache_ttl,
                token: tokio::sync::Mutex::new(None),
                v4_missing: AtomicBool::new(false),
                renew_returns_same_token: AtomicBool::new(false),
                cache: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The normalised site URL (without `/api`).
    pub fn base_url(&self) -> &Url {
        self.inner.transport.base()
    }

    /// The configured auth method's name.
    pub fn auth_method(&self) -> &'static str {
        self.inner.auth.method_name()
    }

    /// Logs in now (or renews), so that bad credentials surface early. Other calls log in on
    /// demand.
    ///
    /// ```no_run
    /// # async fn run() -> infisical_client::Result<()> {
    /// let client = infisical_client::Client::from_env()?;
    /// client.login().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// * [`Error::is_unauthenticated`] when the client id and secret, the token or the
    ///   service-account JWT are rejected;
    /// * [`Error::TokenFile`] when the Kubernetes service-account token cannot be read;
    /// * [`Error::RateLimited`], [`Error::Transport`], [`Error::Api`], [`Error::Decode`] or
    ///   [`Error::Redirected`] as for every request (login is retried on 429 only).
    pub async fn login(&self) -> Result<()> {
        self.token().await.map(drop)
    }

    // -----------------------------------------------------------------------------------------
    // Tokens

    async fn token(&self) -> Result<SecretString> {
        let mut guard = self.inner.token.lock().await;
        let now = Instant::now();
        let plan = guard
            .as_ref()
            .map_or(Plan::Login, |s| s.plan(now, self.inner.refresh_at));
        match (plan, guard.as_mut()) {
            (Plan::Use, Some(state)) => return Ok(state.token.clone()),
            (Plan::Renew, Some(state))
                if !self.inner.renew_returns_same_token.load(Ordering::Relaxed) =>
            {
                let req = api::renew_token(&state.token);
                match self.inner.transport.execute(&req, None).await {
                    Ok(body) => {
                        let raw: RawToken = api::decode(&req.endpoint(), &body)?;
                        if raw.access_token.expose_secret() == state.token.expose_secret() {
                            // Older servers answer with the same JWT, whose `exp` still says
                            // the original time: the renewal bought nothing.
                            tracing::info!(
                                "Infisical renewed the token without a new one; logging in instead"
                            );
                            self.inner
                                .renew_returns_same_token
                                .store(true, Ordering::Relaxed);
                        } else {
                            state.renewed(raw, Instant::now());
                            tracing::debug!("renewed Infisical access token");
                            return Ok(state.token.clone());
                        }
                    }
                    Err(e) => {
                        tracing::info!(error = %e, "token renewal failed; logging in again");
                    }
                }
            }
            _ => {}
        }
        let state = self.login_now().await?;
        let token = state.token.clone();
        *guard = Some(state);
        Ok(token)
    }

    async fn login_now(&self) -> Result<TokenState> {
        let req = match &self.inner.auth {
            Auth::Token(t) => return Ok(TokenState::given(t.clone(), Instant::now())),
            Auth::UniversalAuth {
                client_id,
                client_secret,
            } => api::universal_auth_login(client_id, client_secret),
            Auth::Kubernetes {
                identity_id,
                token_path,
            } => {
                let jwt = tokio::fs::read_to_string(token_path)
                    .await
                    .map_err(|source| Error::TokenFile {
                        path: token_path.clone(),
                        source,
                    })?;
                let jwt = SecretString::from(jwt.trim().to_owned());
                api::kubernetes_auth_login(identity_id, &jwt)
            }
        };
        let body = self.inner.transport.execute(&req, None).await?;
        let raw: RawToken = api::decode(&req.endpoint(), &body)?;
        tracing::debug!(
            method = self.inner.auth.method_name(),
            expires_in = raw.expires_in,
            "logged in to Infisical"
        );
        Ok(TokenState::from_login(raw, Instant::now()))
    }

    /// Forgets `used` if it is still the current token, so the next call logs in.
    async fn invalidate(&self, used: &SecretString) {
        let mut guard = self.inner.token.lock().await;
        if guard
            .as_ref()
            .is_some_and(|s| s.token.expose_secret() == used.expose_secret())
        {
            *guard = None;
        }
    }

    fn can_relogin(&self) -> bool {
        !matches!(self.inner.auth, Auth::Token(_))
    }

    /// Sends with the current token; a rejected token (401, 403 `TokenError`, or the 400 older
    /// servers give for an exhausted use count) triggers one fresh login and one resend.
    async fn send_authed(&self, req: &ApiRequest) -> Result<Vec<u8>> {
        let token = self.token().await?;
        match self.inner.transport.execute(req, Some(&token)).await {
            Err(e)
                if (e.is_unauthenticated() || e.is_token_uses_exhausted())
                    && self.can_relogin() =>
            {
                tracing::info!(error = %e, "access token rejected; logging in again");
                self.invalidate(&token).await;
                let token = self.token().await?;
                self.inner.transport.execute(req, Some(&token)).await
            }
            other => other,
        }
    }

    /// Sends the v4 request, or the v3 one on servers without v4 (remembered per client).
    async fn versioned(&self, v4: ApiRequest, v3: ApiRequest) -> Result<(String, Vec<u8>)> {
        if !self.inner.v4_missing.load(Ordering::Relaxed) {
            match self.send_authed(&v4).await {
                Err(e) if e.is_route_missing() => {
                    tracing::info!("Infisical has no v4 secrets API; using v3");
                    self.inner.v4_missing.store(true, Ordering::Relaxed);
                }
                other => return other.map(|b| (v4.endpoint(), b)),
            }
        }
        let body = self.send_authed(&v3).await?;
        Ok((v3.endpoint(), body))
    }

    fn resolve<'a>(&'a self, q: &'a SecretsQuery) -> Result<Scope<'a>> {
        let project_id = q
            .project_id
            .as_deref()
            .or(self.inner.project_id.as_deref())
            .ok_or_else(|| {
                Error::config(
                    "no project id (set it on the builder, the query or INFISICAL_PROJECT_ID)",
                )
            })?;
        let environment = q
            .environment
            .as_deref()
            .or(self.inner.environment.as_deref())
            .ok_or_else(|| {
                Error::config(
                    "no environment (set it on the builder, the query or INFISICAL_ENVIRONMENT)",
                )
            })?;
        Ok(Scope {
            project_id,
            environment,
            path: &q.path,
            recursive: q.recursive,
            include_imports: q.include_imports,
            expand_references: q.expand_references,
        })
    }

    // -----------------------------------------------------------------------------------------
    // Secrets

    /// Lists the secrets of a folder (one request; v4, or v3 on older servers), imports merged
    /// like the CLI.
    ///
    /// Fails with [`Error::FolderNotFound`] when the folder (or environment) does not exist.
    /// Values the identity may not read never come back as values: Infisical refuses the
    /// listing (403, [`Error::is_permission_denied`]) when the folder's own secrets are
    /// unreadable and leaves unreadable imported ones out; a value still served masked fails
    /// with [`Error::HiddenValue`].
    ///
    /// ```no_run
    /// use infisical_client::SecretsQuery;
    /// # async fn run(client: infisical_client::Client) -> infisical_client::Result<()> {
    /// let secrets = client.list_secrets("/backups/restic").await?;
    /// for s in &secrets {
    ///     println!("{} from {:?}", s.key, s.source);
    /// }
    /// let staging = client
    ///     .list_secrets(SecretsQuery::new("/backups").with_environment("staging").recursive())
    ///     .await?;
    /// # let _ = staging; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// * [`Error::FolderNotFound`] when the folder or environment does not exist;
    /// * [`Error::HiddenValue`] naming every key whose value came back masked;
    /// * [`Error::Config`] when no project id or environment is set (neither on the query nor
    ///   on the builder);
    /// * [`Error::is_unauthenticated`] when the credentials are rejected, also after the one
    ///   fresh login a rejected token triggers;
    /// * [`Error::is_permission_denied`] when the identity may not read the folder;
    /// * [`Error::RateLimited`], [`Error::Transport`] or a 5xx [`Error::Api`] when retries (see
    ///   [`RetryConfig`](crate::RetryConfig)) did not help;
    /// * [`Error::Decode`] when the answer does not have Infisical's shape;
    /// * [`Error::Redirected`] when something answered with a redirect.
    pub async fn list_secrets(&self, query: impl Into<SecretsQuery>) -> Result<Secrets> {
        let q = query.into();
        let scope = self.resolve(&q)?;
        let span = tracing::info_span!("infisical.list_secrets", path = %q.path, environment = scope.environment);
        let (endpoint, body) = tracing::Instrument::instrument(
            self.versioned(api::list_secrets_v4(&scope), api::list_secrets_v3(&scope)),
            span,
        )
        .await
        .map_err(|e| folder_error(e, scope.environment, &q.path))?;
        let raw: RawList = api::decode(&endpoint, &body)?;
        api::merge_list(raw, scope.environment, &q.path)
    }

    /// Reads one shared secret by name.
    ///
    /// ```no_run
    /// use secrecy::ExposeSecret;
    /// # async fn run(client: infisical_client::Client) -> infisical_client::Result<()> {
    /// let pw = client.get_secret("/backups/restic", "RESTIC_PASSWORD").await?;
    /// let _len = pw.value.expose_secret().len();
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// * [`Error::is_not_found`] when the secret does not exist ([`Error::FolderNotFound`]
    ///   when its folder does not);
    /// * [`Error::is_permission_denied`] when the identity may not read its value,
    ///   [`Error::HiddenValue`] when the value came back masked;
    /// * [`Error::Config`] when no project id or environment is set (neither on the query nor
    ///   on the builder);
    /// * [`Error::is_unauthenticated`] when the credentials are rejected, also after the one
    ///   fresh login a rejected token triggers;
    /// * [`Error::is_permission_denied`] when the identity may not read the folder;
    /// * [`Error::RateLimited`], [`Error::Transport`] or a 5xx [`Error::Api`] when retries (see
    ///   [`RetryConfig`](crate::RetryConfig)) did not help;
    /// * [`Error::Decode`] when the answer does not have Infisical's shape;
    /// * [`Error::Redirected`] when something answered with a redirect.
    pub async fn get_secret(&self, query: impl Into<SecretsQuery>, key: &str) -> Result<Secret> {
        let q = query.into();
        let scope = self.resolve(&q)?;
        let span = tracing::info_span!("infisical.get_secret", path = %q.path, key);
        let (endpoint, body) = tracing::Instrument::instrument(
            self.versioned(
                api::get_secret_v4(&scope, key),
                api::get_secret_v3(&scope, key),
            ),
            span,
        )
        .await
        .map_err(|e| folder_error(e, scope.environment, &q.path))?;
        let raw: RawOne = api::decode(&endpoint, &body)?;
        api::one_secret(raw, scope.environment, &q.path)
    }

    // -----------------------------------------------------------------------------------------
    // Bundles

    /// Reads the named `keys` from a folder as one [`Bundle`] (one list request, cached for the
    /// configured TTL). Missing keys fail with [`Error::MissingKeys`] naming all of them; a
    /// hidden value anywhere in the folder fails with [`Error::HiddenValue`] (an identity without
    /// read-value permission is a misconfiguration to fix, not something to work around).
    ///
    /// ```no_run
    /// # async fn run(client: infisical_client::Client) -> infisical_client::Result<()> {
    /// let b = client.bundle("/backups/pbs", &["PBS_TOKEN_ID", "PBS_TOKEN_SECRET"]).await?;
    /// let _secret = b.require("PBS_TOKEN_SECRET")?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// * [`Error::MissingKeys`] naming every key of `keys` the folder lacks;
    /// * every error of [`Client::list_secrets`].
    pub async fn bundle(&self, query: impl Into<SecretsQuery>, keys: &[&str]) -> Result<Bundle> {
        self.named_bundle("bundle", query.into(), keys).await
    }

    /// Reads a typed bundle from its default folder ([`CredentialBundle::DEFAULT_PATH`]).
    ///
    /// ```no_run
    /// use infisical_client::GarageCredentials;
    /// # async fn run(client: infisical_client::Client) -> infisical_client::Result<()> {
    /// let garage: GarageCredentials = client.fetch().await?;
    /// # let _ = garage; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Client::fetch_at`].
    pub async fn fetch<T: CredentialBundle>(&self) -> Result<T> {
        self.fetch_at::<T>(T::DEFAULT_PATH).await
    }

    /// Reads a typed bundle from another folder (or environment, project).
    ///
    /// ```no_run
    /// use infisical_client::{GarageCredentials, SecretsQuery};
    /// # async fn run(client: infisical_client::Client) -> infisical_client::Result<()> {
    /// let q = SecretsQuery::new("/backups/garage").with_environment("staging");
    /// let garage = client.fetch_at::<GarageCredentials>(q).await?;
    /// # let _ = garage; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// * [`Error::MissingKeys`] naming every key of [`CredentialBundle::KEYS`] the folder lacks;
    /// * whatever [`CredentialBundle::from_bundle`] refuses (e.g. [`Error::InvalidValue`]);
    /// * every error of [`Client::list_secrets`].
    pub async fn fetch_at<T: CredentialBundle>(&self, query: impl Into<SecretsQuery>) -> Result<T> {
        let bundle = self.named_bundle(T::NAME, query.into(), T::KEYS).await?;
        T::from_bundle(&bundle)
    }

    /// Garage's credentials from `/backups/garage`.
    ///
    /// ```no_run
    /// # async fn run(client: infisical_client::Client) -> infisical_client::Result<()> {
    /// let garage = client.garage_credentials().await?;
    /// let mut restic = std::process::Command::new("restic");
    /// restic.envs(garage.aws_env_map().exposed());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Client::fetch_at`]; [`Error::InvalidValue`] when `ENDPOINT` is not an http(s) URL or
    /// carries credentials.
    pub async fn garage_credentials(&self) -> Result<GarageCredentials> {
        self.fetch::<GarageCredentials>().await
    }

    /// Drops every cached bundle.
    pub fn clear_cache(&self) {
        if let Ok(mut c) = self.inner.cache.lock() {
            c.clear();
        }
    }

    async fn named_bundle(&self, name: &str, q: SecretsQuery, keys: &[&str]) -> Result<Bundle> {
        let scope = self.resolve(&q)?;
        let mut sorted: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
        sorted.sort();
        sorted.dedup();
        let key = CacheKey {
            project_id: scope.project_id.to_owned(),
            environment: scope.environment.to_owned(),
            query: format!(
                "{}|{}|{}|{}|{}",
                name, q.path, q.recursive, q.include_imports, q.expand_references
            ),
            keys: sorted,
        };
        let ttl = self.inner.cache_ttl;
        if !ttl.is_zero()
            && let Ok(cache) = self.inner.cache.lock()
            && let Some((at, bundle)) = cache.get(&key)
            && at.elapsed() < ttl
        {
            tracing::debug!(path = %q.path, "bundle served from cache");
            return Ok(bundle.clone());
        }
        let secrets = self.list_secrets(&q).await?;
        let bundle = Bundle::from_secrets(name, &secrets, keys)?;
        if !ttl.is_zero()
            && let Ok(mut cache) = self.inner.cache.lock()
        {
            cache.retain(|_, (at, _)| at.elapsed() < ttl);
            cache.insert(key, (Instant::now(), bundle.clone()));
        }
        Ok(bundle)
    }
}

/// Turns Infisical's "this folder does not exist" into [`Error::FolderNotFound`].
fn folder_error(e: Error, environment: &str, path: &str) -> Error {
    if e.is_folder_missing() {
        Error::FolderNotFound {
            environment: environment.to_owned(),
            path: path.to_owned(),
        }
    } else {
        e
    }
}
