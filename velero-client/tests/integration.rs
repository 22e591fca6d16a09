//! Integration tests: every operation against the fake kube-apiserver and its Velero-like
//! controller (`velero_client::testing`), through a kubeconfig with three contexts.

mod integration {
    pub mod apiserver;
    pub mod backups;
    pub mod builder;
    pub mod canary;
    pub mod errors;
    pub mod fidelity;
    pub mod health;
    pub mod leaks;
    pub mod logs;
    pub mod multi;
    pub mod restores;
    pub mod schedules;
    pub mod tls;
}

use std::time::Duration;

use velero_client::testing::FakeVelero;
use velero_client::{BslPhase, VeleroClient};

/// Installs the workspace's rustls provider (ignored if already installed).
pub fn install_crypto() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// Starts the fake (prod, agentic, monit) and returns a client for `context`, once the default
/// storage location has been validated.
pub async fn setup(context: &str) -> (FakeVelero, VeleroClient) {
    install_crypto();
    let fake = FakeVelero::start().await.expect("fake starts");
    let client = client(&fake, context).await;
    wait_available(&client, "default").await;
    (fake, client)
}

/// A client for one context of the fake's kubeconfig.
pub async fn client(fake: &FakeVelero, context: &str) -> VeleroClient {
    fake.client_builder_for(context)
        .with_download_url_timeout(Duration::from_secs(5))
        .build()
        .await
        .expect("client builds")
}

/// Polls until a storage location is Available.
pub async fn wait_available(client: &VeleroClient, name: &str) {
    for _ in 0..1000 {
        let locs = client.storage_locations().await.expect("list locations");
        if locs
            .iter()
            .any(|l| l.name == name && l.phase == BslPhase::Available)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("storage location {name} never became Available");
}

/// Polls `f` until it returns `Some`.
pub async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    for _ in 0..1000 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}
