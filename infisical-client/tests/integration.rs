//! End-to-end tests of `infisical-client` against the crate's one fake Infisical
//! (`infisical_client::testing::FakeInfisical`, feature `testing`) on 127.0.0.1.

#[path = "integration/auth.rs"]
mod auth;
#[path = "integration/bundles.rs"]
mod bundles;
#[path = "integration/fidelity.rs"]
mod fidelity;
#[path = "integration/limits.rs"]
mod limits;
#[path = "integration/redaction.rs"]
mod redaction;
#[path = "integration/sdk.rs"]
mod sdk;
#[path = "integration/secrets.rs"]
mod secrets;
#[path = "integration/security.rs"]
mod security;

use infisical_client::testing::FakeInfisical;
use infisical_client::{BackoffConfig, Client, ClientBuilder, RetryConfig};
use secrecy::SecretString;

/// The Universal Auth client id every test identity uses.
pub const CLIENT_ID: &str = "backup-runner";
/// Its client secret.
pub const CLIENT_SECRET: &str = "cs-9f2b7c4e1a";

/// A fake with the Universal Auth identity [`CLIENT_ID`] / [`CLIENT_SECRET`].
pub async fn fake() -> FakeInfisical {
    let fake = FakeInfisical::start().await.expect("fake Infisical starts");
    fake.with_identity(CLIENT_ID, CLIENT_SECRET);
    fake
}

/// A builder for `fake` with universal auth, the fake's project and environment `prod`, and
/// short retry delays.
pub fn builder(fake: &FakeInfisical) -> ClientBuilder {
    Client::builder()
        .with_base_url(fake.base_url())
        .with_universal_auth(CLIENT_ID, SecretString::from(CLIENT_SECRET))
        .with_project_id(fake.project_id())
        .with_environment("prod")
        .with_retry(retry())
}

/// Backoff with short delays (10 ms first cap), otherwise the defaults.
pub fn backoff() -> BackoffConfig {
    BackoffConfig::default().with_init_backoff(std::time::Duration::from_millis(10))
}

/// The default retries with [`backoff`]'s short delays.
pub fn retry() -> RetryConfig {
    RetryConfig::default().with_backoff(backoff())
}

/// [`builder`], built.
pub fn client(fake: &FakeInfisical) -> Client {
    builder(fake).build().expect("client builds")
}

/// Seeds the homelab's Garage folder.
pub fn seed_garage(fake: &FakeInfisical) {
    fake.with_garage_bundle(
        "GK31c2f218a2e44f485b94239e",
        "b892c0665f0ada8a4755dae98baa3b133590e11dae3bcc1f9d769d67f16c3835",
        "http://127.0.0.1:3900",
        "adm-5bc5e2f8d0a94e6c",
    );
}
