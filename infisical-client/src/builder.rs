//! Configuration: [`ClientBuilder`], the base-URL rules and the CLI's environment variables.

use secrecy::SecretString;
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

use crate::auth::{Auth, DEFAULT_KUBERNETES_TOKEN_PATH};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::retry::RetryConfig;
use crate::transport::HttpOptions;

/// Infisical Cloud (US), the CLI's default.
pub const DEFAULT_SITE_URL: &str = "https://app.infisical.com";

/// Normalises a site URL the way the Infisical CLI treats domains: `https://host`,
/// `https://host/`, `https://host/api` and `https://host/api/` all mean the same server; a path
/// prefix in front of `/api` (reverse proxy) is kept.
///
/// ```
/// # use infisical_client::normalize_base_url;
/// let u = normalize_base_url("https://infisical.lan/api/").unwrap();
/// assert_eq!(u.as_str(), "https://infisical.lan/");
/// let u = normalize_base_url("http://127.0.0.1:8080/infisical/api").unwrap();
/// assert_eq!(u.as_str(), "http://127.0.0.1:8080/infisical/");
/// ```
///
/// # Errors
///
/// [`Error::Config`] when the input is not an `http`/`https` URL with a host, or carries
/// credentials.
pub fn normalize_base_url(input: &str) -> Result<Url> {
    let trimmed = input.trim();
    let mut url =
        Url::parse(trimmed).map_err(|e| Error::config(format!("base URL is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::config(format!(
            "base URL must be http or https, not {}",
            url.scheme()
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(
            "base URL must not contain credentials; use the auth settings",
        ));
    }
    if url.host_str().is_none() {
        return Err(Error::config("base URL has no host"));
    }
    url.set_query(None);
    url.set_fragment(None);
    let mut segments: Vec<String> = url
        .path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    if segments.last().map(String::as_str) == Some("api") {
        segments.pop();
    }
    let mut path = segments.join("/");
    path.push('/');
    url.set_path(&path);
    Ok(url)
}

/// True for `localhost`, 127.0.0.0/8 and `::1`.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Where the client accepts a plain `http://` base URL; see [`ClientBuilder::with_plain_http`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PlainHttp {
    /// Only to `127.0.0.0/8`, `[::1]` and `localhost` (the default); `https://` anywhere.
    #[default]
    LoopbackOnly,
    /// To any host (e.g. Infisical behind a trusted network segment). Credentials and secret
    /// values then travel unencrypted.
    AnyHost,
}

impl Client {
    /// A builder.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client from the Infisical CLI's environment variables ([`ClientBuilder::from_vars`]).
    ///
    /// # Errors
    ///
    /// As [`ClientBuilder::from_vars`] and [`ClientBuilder::build`].
    pub fn from_env() -> Result<Self> {
        ClientBuilder::from_env()?.build()
    }
}

/// Builds a [`Client`].
///
/// ```
/// use infisical_client::{Auth, Client};
/// use secrecy::SecretString;
///
/// let client = Client::builder()
///     .with_base_url("https://infisical.lan/api")
///     .with_auth(Auth::universal("client-id", SecretString::from("client-secret")))
///     .with_project_id("6f0c…")
///     .with_environment("prod")
///     .build()?;
/// assert_eq!(client.base_url().as_str(), "https://infisical.lan/");
/// # Ok::<(), infisical_client::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct ClientBuilder {
    pub(crate) base_url: Option<String>,
    pub(crate) auth: Option<Auth>,
    pub(crate) project_id: Option<String>,
    pub(crate) environment: Option<String>,
    pub(crate) http: HttpOptions,
    pub(crate) refresh_at: Option<f64>,
    pub(crate) cache_ttl: Option<Duration>,
    pub(crate) plain_http: PlainHttp,
}

impl ClientBuilder {
    /// An empty builder (base URL defaults to [`DEFAULT_SITE_URL`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the Infisical CLI's environment variables; see [`ClientBuilder::from_vars`].
    /// Variables whose name or value is not Unicode are ignored.
    ///
    /// # Errors
    ///
    /// As [`ClientBuilder::from_vars`].
    pub fn from_env() -> Result<Self> {
        Self::from_vars(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    /// Reads configuration from `(name, value)` pairs with the CLI's conventions:
    ///
    /// * base URL: `INFISICAL_DOMAIN`, else the legacy `INFISICAL_API_URL`, else
    ///   [`DEFAULT_SITE_URL`]; a trailing `/api` is optional.
    /// * auth, first match wins: `INFISICAL_UNIVERSAL_AUTH_CLIENT_ID` +
    ///   `INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET` (renewable, so preferred); then a token from
    ///   `INFISICAL_UNIVERSAL_AUTH_ACCESS_TOKEN` or `INFISICAL_TOKEN`; then Kubernetes Auth from
    ///   `INFISICAL_MACHINE_IDENTITY_ID` with the token file
    ///   `INFISICAL_KUBERNETES_SERVICE_ACCOUNT_TOKEN_PATH` (default
    ///   [`DEFAULT_KUBERNETES_TOKEN_PATH`]). Only one of client id / secret is an error.
    /// * `INFISICAL_PROJECT_ID`, `INFISICAL_ENVIRONMENT` as defaults for every query.
    ///
    /// Empty values count as unset. Anything can still be overridden with the `with_*` methods.
    ///
    /// ```
    /// use infisical_client::ClientBuilder;
    ///
    /// let client = ClientBuilder::from_vars([
    ///     ("INFISICAL_DOMAIN", "https://infisical.lan"),
    ///     ("INFISICAL_TOKEN", "at-…"),
    ///     ("INFISICAL_PROJECT_ID", "6f0c…"),
    /// ])?
    /// .with_environment("prod")
    /// .build()?;
    /// assert_eq!(client.auth_method(), "token");
    /// # Ok::<(), infisical_client::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when only one of the Universal Auth client id and secret is set.
    pub fn from_vars<I, K, V>(vars: I) -> Result<Self>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut map = std::collections::HashMap::new();
        for (k, v) in vars {
            let (k, v) = (k.as_ref(), v.as_ref());
            if k.starts_with("INFISICAL_") && !v.trim().is_empty() {
                map.insert(k.to_owned(), v.to_owned());
            }
        }
        let mut take = |k: &str| map.remove(k);
        let mut b = Self::new();
        b.base_url = take("INFISICAL_DOMAIN").or_else(|| take("INFISICAL_API_URL"));
        let id = take("INFISICAL_UNIVERSAL_AUTH_CLIENT_ID");
        let secret = take("INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET");
        let token =
            take("INFISICAL_UNIVERSAL_AUTH_ACCESS_TOKEN").or_else(|| take("INFISICAL_TOKEN"));
        let identity = take("INFISICAL_MACHINE_IDENTITY_ID");
        let token_path = take("INFISICAL_KUBERNETES_SERVICE_ACCOUNT_TOKEN_PATH");
        b.auth = match (id, secret) {
            (Some(id), Some(secret)) => {
                Some(Auth::universal(id.trim(), SecretString::from(secret)))
            }
            (Some(_), None) => {
                return Err(Error::config(
                    "INFISICAL_UNIVERSAL_AUTH_CLIENT_ID is set but INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET is not",
                ));
            }
            (None, Some(_)) => {
                return Err(Error::config(
                    "INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET is set but INFISICAL_UNIVERSAL_AUTH_CLIENT_ID is not",
                ));
            }
            (None, None) => match (token, identity) {
                (Some(t), _) => Some(Auth::token(SecretString::from(t.trim().to_owned()))),
                (None, Some(identity)) => Some(Auth::kubernetes(
                    identity.trim(),
                    token_path.unwrap_or_else(|| DEFAULT_KUBERNETES_TOKEN_PATH.to_owned()),
                )),
                (None, None) => None,
            },
        };
        b.project_id = take("INFISICAL_PROJECT_ID").map(|s| s.trim().to_owned());
        b.environment = take("INFISICAL_ENVIRONMENT").map(|s| s.trim().to_owned());
        Ok(b)
    }

    /// The Infisical site URL (`https://infisical.lan`, with or without `/api`).
    #[must_use]
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// How to authenticate.
    #[must_use]
    pub fn with_auth(mut self, auth: Auth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Universal Auth with client id and secret.
    #[must_use]
    pub fn with_universal_auth(
        self,
        client_id: impl Into<String>,
        client_secret: SecretString,
    ) -> Self {
        self.with_auth(Auth::universal(client_id, client_secret))
    }

    /// A ready access token.
    #[must_use]
    pub fn with_token(self, token: SecretString) -> Self {
        self.with_auth(Auth::token(token))
    }

    /// Kubernetes Auth.
    #[must_use]
    pub fn with_kubernetes_auth(
        self,
        identity_id: impl Into<String>,
        token_path: impl Into<PathBuf>,
    ) -> Self {
        self.with_auth(Auth::kubernetes(identity_id, token_path))
    }

    /// The default project for every query.
    #[must_use]
    pub fn with_project_id(mut self, project_id: impl Into<String>) -> Self {
        self.project_id = Some(project_id.into());
        self
    }

    /// The default environment slug for every query (e.g. `prod`).
    #[must_use]
    pub fn with_environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// TCP connect timeout (default 10 s).
    #[must_use]
    pub fn with_connect_timeout(mut self, d: Duration) -> Self {
        self.http.connect_timeout = d;
        self
    }

    /// Whole-request timeout (default 30 s).
    #[must_use]
    pub fn with_request_timeout(mut self, d: Duration) -> Self {
        self.http.request_timeout = d;
        self
    }

    /// How requests are retried (default [`RetryConfig::default`]: 3 retries within 120 s,
    /// backoff from 250 ms with full jitter, `Retry-After` up to 60 s honoured). 429s are
    /// retried for every request, 502–504 and connection errors only for reads.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.http.retry = retry;
        self
    }

    /// Renew (or log in again) once this fraction of the token's lifetime has passed (default
    /// 0.7, like the Infisical Kubernetes operator). Clamped to `0.05..=0.95`.
    #[must_use]
    pub fn with_refresh_at(mut self, fraction: f64) -> Self {
        self.refresh_at = Some(fraction);
        self
    }

    /// Where a plain `http://` base URL is accepted (default [`PlainHttp::LoopbackOnly`]: to any
    /// other host it is refused, since the client secret and every secret value would cross the
    /// network in clear text).
    #[must_use]
    pub fn with_plain_http(mut self, plain_http: PlainHttp) -> Self {
        self.plain_http = plain_http;
        self
    }

    /// How long credential bundles are cached (default 60 s; zero disables the cache).
    #[must_use]
    pub fn with_cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = Some(ttl);
        self
    }

    /// Validates and builds the client (no network traffic yet).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the base URL is invalid, is plain `http://` to a host
    /// [`PlainHttp`] does not allow, no auth is configured, the client id or identity id is
    /// empty, or the HTTP client cannot be built.
    pub fn build(self) -> Result<Client> {
        let base = normalize_base_url(self.base_url.as_deref().unwrap_or(DEFAULT_SITE_URL))?;
        if base.scheme() == "http"
            && self.plain_http == PlainHttp::LoopbackOnly
            && !is_loopback(&base)
        {
            return Err(Error::config(format!(
                "refusing plain http:// to {}: credentials and secrets would travel unencrypted \
                 (use https://, or opt in with with_plain_http(PlainHttp::AnyHost))",
                base.host_str().unwrap_or("?")
            )));
        }
        let auth = self.auth.ok_or_else(|| {
            Error::config(
                "no authentication configured (universal auth, token or kubernetes auth; \
                 or INFISICAL_UNIVERSAL_AUTH_CLIENT_ID/_SECRET, INFISICAL_TOKEN)",
            )
        })?;
        if let Auth::UniversalAuth { client_id, .. } = &auth
            && client_id.is_empty()
        {
            return Err(Error::config("universal auth client id is empty"));
        }
        if let Auth::Kubernetes { identity_id, .. } = &auth
            && identity_id.is_empty()
        {
            return Err(Error::config("kubernetes auth identity id is empty"));
        }
        let refresh_at = self.refresh_at.unwrap_or(0.7).clamp(0.05, 0.95);
        Client::from_parts(
            base,
            auth,
            self.project_id.filter(|s| !s.is_empty()),
            self.environment.filter(|s| !s.is_empty()),
            self.http,
            refresh_at,
            self.cache_ttl.unwrap_or(Duration::from_secs(60)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn base_url_api_suffix_is_optional() {
        for input in [
            "https://infisical.lan",
            "https://infisical.lan/",
            "https://infisical.lan/api",
            "https://infisical.lan/api/",
            " https://infisical.lan/api?x=1#f ",
        ] {
            assert_eq!(
                normalize_base_url(input).unwrap().as_str(),
                "https://infisical.lan/",
                "{input}"
            );
        }
        assert_eq!(
            normalize_base_url("https://h/prefix/api").unwrap().as_str(),
            "https://h/prefix/"
        );
        assert!(normalize_base_url("ftp://h").is_err());
        assert!(normalize_base_url("https://user:pw@h").is_err());
        let e = normalize_base_url("https://user:hunter2@h")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2"));
        assert!(normalize_base_url("not a url").is_err());
    }

    #[test]
    fn plain_http_only_to_loopback_unless_allowed() {
        let build = |url: &str, plain_http: PlainHttp| {
            ClientBuilder::new()
                .with_base_url(url)
                .with_token(SecretString::from("t"))
                .with_plain_http(plain_http)
                .build()
        };
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.3.4.5",
            "http://[::1]:80/api",
            "http://LOCALHOST:1",
            "https://infisical.lan",
        ] {
            assert!(build(ok, PlainHttp::LoopbackOnly).is_ok(), "{ok}");
        }
        for refused in [
            "http://infisical.lan",
            "http://192.0.2.5:8080/api", // RFC 5737 documentation address; refused before any request
            "http://127.0.0.1.nip.io",
            "http://localhost.evil.example",
        ] {
            let e = build(refused, PlainHttp::LoopbackOnly).unwrap_err();
            assert!(matches!(e, Error::Config { .. }), "{refused}: {e}");
            assert!(e.to_string().contains("plain http"), "{e}");
            assert!(
                build(refused, PlainHttp::AnyHost).is_ok(),
                "{refused} with opt-in"
            );
        }
    }

    #[test]
    fn env_prefers_domain_and_universal_auth() {
        let b = ClientBuilder::from_vars([
            ("INFISICAL_API_URL", "https://old.example/api"),
            ("INFISICAL_DOMAIN", "https://new.example"),
            ("INFISICAL_UNIVERSAL_AUTH_CLIENT_ID", "cid"),
            ("INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET", "csecret"),
            ("INFISICAL_TOKEN", "tok"),
            ("INFISICAL_PROJECT_ID", "p1"),
            ("INFISICAL_ENVIRONMENT", "prod"),
            ("HOME", "/root"),
        ])
        .unwrap();
        assert_eq!(b.base_url.as_deref(), Some("https://new.example"));
        assert_eq!(b.project_id.as_deref(), Some("p1"));
        assert_eq!(b.environment.as_deref(), Some("prod"));
        match &b.auth {
            Some(Auth::UniversalAuth {
                client_id,
                client_secret,
            }) => {
                assert_eq!(client_id, "cid");
                assert_eq!(client_secret.expose_secret(), "csecret");
            }
            other => panic!("unexpected auth {other:?}"),
        }
        assert!(!format!("{b:?}").contains("csecret"));
    }

    #[test]
    fn env_token_order_and_legacy_url() {
        let b = ClientBuilder::from_vars([
            ("INFISICAL_API_URL", "https://old.example/api"),
            ("INFISICAL_TOKEN", "generic"),
            ("INFISICAL_UNIVERSAL_AUTH_ACCESS_TOKEN", "ua-token"),
        ])
        .unwrap();
        assert_eq!(b.base_url.as_deref(), Some("https://old.example/api"));
        match &b.auth {
            Some(Auth::Token(t)) => assert_eq!(t.expose_secret(), "ua-token"),
            other => panic!("unexpected auth {other:?}"),
        }
        let client = b.build().unwrap();
        assert_eq!(client.base_url().as_str(), "https://old.example/");
    }

    #[test]
    fn env_kubernetes_auth() {
        let b = ClientBuilder::from_vars([("INFISICAL_MACHINE_IDENTITY_ID", "ident")]).unwrap();
        match &b.auth {
            Some(Auth::Kubernetes {
                identity_id,
                token_path,
            }) => {
                assert_eq!(identity_id, "ident");
                assert_eq!(token_path, &PathBuf::from(DEFAULT_KUBERNETES_TOKEN_PATH));
            }
            other => panic!("unexpected auth {other:?}"),
        }
    }

    #[test]
    fn env_errors() {
        let e =
            ClientBuilder::from_vars([("INFISICAL_UNIVERSAL_AUTH_CLIENT_ID", "x")]).unwrap_err();
        assert!(e.to_string().contains("CLIENT_SECRET is not"), "{e}");
        let e = ClientBuilder::from_vars([("INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET", "sekrit")])
            .unwrap_err();
        assert!(!e.to_string().contains("sekrit"));
        let e = ClientBuilder::from_vars(Vec::<(String, String)>::new())
            .unwrap()
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("no authentication"), "{e}");
        // Empty values are unset.
        let b =
            ClientBuilder::from_vars([("INFISICAL_TOKEN", " "), ("INFISICAL_DOMAIN", "")]).unwrap();
        assert!(b.auth.is_none() && b.base_url.is_none());
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn base_urls_normalise_idempotently(prefix in "(/[a-z]{1,5}){0,2}", api in any::<bool>(), slash in any::<bool>()) {
                let input = format!("https://infisical.lan{prefix}{}{}", if api { "/api" } else { "" }, if slash { "/" } else { "" });
                let once = normalize_base_url(&input).unwrap();
                prop_assert_eq!(once.as_str(), format!("https://infisical.lan{prefix}/"));
                let twice = normalize_base_url(once.as_str()).unwrap();
                prop_assert_eq!(twice, once);
            }
        }
    }
}
