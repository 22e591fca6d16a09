//! One handle over several clusters.

use std::collections::BTreeMap;
use std::path::Path;

use futures::future::join_all;

use crate::client::{ClientBuilder, VeleroClient};
use crate::health::{HealthOptions, HealthReport};
use crate::{Error, Result};

/// Velero clients keyed by kube context (e.g. `prod`, `agentic`, `monit`).
#[derive(Clone, Debug, Default)]
pub struct Clusters {
    clients: BTreeMap<String, VeleroClient>,
}

impl Clusters {
    /// One client per context of the kubeconfig at `path`, all in namespace `velero`.
    ///
    /// # Errors
    ///
    /// As [`crate::ClientBuilder::build`], for the first context that fails.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let clusters = velero_client::Clusters::from_kubeconfig("/home/me/.kube/config", &["prod", "monit"]).await?;
    /// # let _ = clusters;
    /// # Ok(()) }
    /// ```
    pub async fn from_kubeconfig<S: AsRef<str>>(
        path: impl AsRef<Path>,
        contexts: &[S],
    ) -> Result<Self> {
        Self::from_builder(
            VeleroClient::builder().with_kubeconfig_path(path.as_ref()),
            contexts,
        )
        .await
    }

    /// One client per context, each built from a clone of `builder` with the context set.
    ///
    /// # Errors
    ///
    /// As [`crate::ClientBuilder::build`], for the first context that fails.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let builder = velero_client::ClientBuilder::from_env()?.with_namespace("velero");
    /// let clusters = velero_client::Clusters::from_builder(builder, &["prod", "monit"]).await?;
    /// # let _ = clusters;
    /// # Ok(()) }
    /// ```
    pub async fn from_builder<S: AsRef<str>>(
        builder: ClientBuilder,
        contexts: &[S],
    ) -> Result<Self> {
        let mut clients = BTreeMap::new();
        for ctx in contexts {
            let client = builder.clone().with_context(ctx.as_ref()).build().await?;
            clients.insert(ctx.as_ref().to_owned(), client);
        }
        Ok(Self { clients })
    }

    /// Adds (or replaces) a client under its context name.
    pub fn insert(&mut self, client: VeleroClient) {
        self.clients.insert(client.context().to_owned(), client);
    }

    /// The client for a context.
    pub fn get(&self, context: &str) -> Result<&VeleroClient> {
        self.clients
            .get(context)
            .ok_or_else(|| Error::NoSuchCluster(context.to_owned()))
    }

    /// Context names.
    pub fn contexts(&self) -> impl Iterator<Item = &str> {
        self.clients.keys().map(String::as_str)
    }

    /// All clients.
    pub fn iter(&self) -> impl Iterator<Item = &VeleroClient> {
        self.clients.values()
    }

    /// Runs `f` against every cluster concurrently; one result per context.
    ///
    /// # Errors
    ///
    /// None itself: each context's `Result` is in the map.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let clusters = velero_client::Clusters::from_kubeconfig("/home/me/.kube/config", &["prod", "monit"]).await?;
    /// for (ctx, n) in clusters.each(|c| async move { Ok(c.list_schedules().await?.len()) }).await {
    ///     println!("{ctx}: {:?}", n);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn each<'a, T, F, Fut>(&'a self, f: F) -> BTreeMap<String, Result<T>>
    where
        F: Fn(&'a VeleroClient) -> Fut,
        Fut: Future<Output = Result<T>> + 'a,
    {
        let futs = self.clients.iter().map(|(ctx, c)| {
            let fut = f(c);
            async move { (ctx.clone(), fut.await) }
        });
        join_all(futs).await.into_iter().collect()
    }

    /// Health of every cluster.
    ///
    /// # Errors
    ///
    /// None itself: each context's `Result` is in the map (as [`VeleroClient::health`]).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let clusters = velero_client::Clusters::from_kubeconfig("/home/me/.kube/config", &["prod", "monit"]).await?;
    /// for (ctx, report) in clusters.health(&velero_client::HealthOptions::default()).await {
    ///     println!("{ctx}: {}", report.map(|r| r.is_healthy()).unwrap_or(false));
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn health(&self, opts: &HealthOptions) -> BTreeMap<String, Result<HealthReport>> {
        self.each(|c| c.health(opts)).await
    }
}
