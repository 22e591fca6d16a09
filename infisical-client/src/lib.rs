//! Client for [Infisical](https://infisical.com): machine-identity auth, secrets, and typed
//! credential bundles.
//!
//! * **Auth**: Universal Auth (client id + secret), a given access token, or Kubernetes Auth
//!   (identity id + the pod's service-account token file). Managed tokens are renewed at 70 % of
//!   their lifetime and re-obtained by logging in when renewal would pass the max TTL; a token
//!   the server rejects (401, or 403 `TokenError`) triggers exactly one fresh login.
//! * **Secrets**: one list request per folder (`GET /api/v4/secrets`, falling back to
//!   `/api/v3/secrets/raw` on older self-hosted servers), with environment, `recursive`, imports
//!   and reference expansion always sent explicitly; imports merged like the Infisical CLI;
//!   hidden values are an error, never a value; every value is a [`secrecy::SecretString`].
//! * **Limits**: [`RetryConfig`]: 429 waits for `Retry-After` (bounded in count and time);
//!   502–504 and connection errors are retried for reads only.
//! * **Bundles**: [`GarageCredentials`] from `/backups/garage`, any set of keys as a
//!   [`Bundle`] or your own [`CredentialBundle`]; missing keys are reported together; a small
//!   TTL cache; [`EnvMap`] for child processes.
//! * **Configuration**: [`ClientBuilder`], or [`Client::from_env`] with the CLI's variables
//!   (`INFISICAL_DOMAIN` / `INFISICAL_API_URL`, `INFISICAL_TOKEN`,
//!   `INFISICAL_UNIVERSAL_AUTH_CLIENT_ID` / `_SECRET`, `INFISICAL_PROJECT_ID`, …). A base URL
//!   works with or without its `/api` suffix.
//!
//! ```no_run
//! use infisical_client::Client;
//! use secrecy::ExposeSecret;
//!
//! # async fn run() -> infisical_client::Result<()> {
//! // INFISICAL_API_URL=https://infisical.lan/api INFISICAL_UNIVERSAL_AUTH_CLIENT_ID=…
//! // INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET=… INFISICAL_PROJECT_ID=… INFISICAL_ENVIRONMENT=prod
//! let client = Client::from_env()?;
//!
//! // A typed bundle: all four keys or one error naming every missing key.
//! let garage = client.garage_credentials().await?;
//! println!("S3 endpoint {}", garage.endpoint);
//!
//! // Hand the S3 credentials to restic without putting them on a command line.
//! let mut restic = std::process::Command::new("restic");
//! restic.envs(garage.aws_env_map().exposed());
//!
//! // Or any folder, any keys.
//! let secrets = client.list_secrets("/backups/restic").await?;
//! if let Some(pw) = secrets.value("RESTIC_PASSWORD") {
//!     let _len = pw.expose_secret().len();
//! }
//! # Ok(()) }
//! ```
//!
//! All I/O is async and needs a Tokio runtime (with the time driver enabled).
//!
//! # Crate features
//!
//! * `testing` (off by default): `testing::FakeInfisical`, a fake Infisical on loopback that
//!   this crate's and downstream crates' tests seed with secrets and identities, with
//!   `client_builder()` returning a [`ClientBuilder`] already pointed at it. For tests only; not
//!   covered by semver.

mod api;
mod auth;
mod builder;
mod bundle;
mod client;
mod error;
mod retry;
mod secrets;
mod transport;

#[cfg(feature = "testing")]
pub mod testing;

pub use api::HIDDEN_VALUE;
pub use auth::{Auth, DEFAULT_KUBERNETES_TOKEN_PATH};
pub use builder::{ClientBuilder, DEFAULT_SITE_URL, PlainHttp, normalize_base_url};
pub use bundle::{Bundle, CredentialBundle, GarageCredentials};
pub use client::Client;
pub use error::{ApiErrorKind, Error, Result};
pub use retry::{BackoffConfig, RetryConfig};
pub use secrets::{EnvMap, Secret, SecretKind, SecretSource, Secrets, SecretsQuery};

/// The README's example is compiled as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
