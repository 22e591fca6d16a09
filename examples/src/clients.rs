//! Building each system's client from the [`Config`] and resolved [`Secrets`].
//!
//! Every binary goes through these functions, so credentials follow one path: config names a
//! source, [`Secrets`] resolves it, the client receives a `SecretString`.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use secrecy::{ExposeSecret, SecretString};

use crate::config::{Config, ResticPlanConfig, SecretSource, Secrets};

/// Keys of the Infisical bundle the seed keeps at `/backups/garage`.
pub const GARAGE_BUNDLE_KEYS: [&str; 4] = [
    "ACCESS_KEY_ID",
    "SECRET_ACCESS_KEY",
    "ENDPOINT",
    "ADMIN_TOKEN",
];

/// Installs the workspace's one rustls crypto provider (aws-lc-rs). Call first thing in `main`.
pub fn install_crypto_provider() {
    // Err means a provider is already installed, which is what we want.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// Resolves secrets: fetches the Infisical bundle once when any source names it.
pub async fn resolve_secrets(config: &Config) -> Result<Secrets> {
    resolve_secrets_with(config, BTreeMap::new()).await
}

/// Like [`resolve_secrets`], with values that `{ env = … }` sources see before the process
/// environment.
pub async fn resolve_secrets_with(
    config: &Config,
    env_overrides: BTreeMap<String, SecretString>,
) -> Result<Secrets> {
    if !config_uses_infisical(config) {
        return Ok(Secrets::default().with_env_overrides(env_overrides));
    }
    let infisical = config.infisical.as_ref().ok_or_else(|| {
        anyhow!("a secret comes from Infisical but [infisical] is not configured")
    })?;
    let plain = Secrets::default().with_env_overrides(env_overrides.clone());
    let client = infisical_client::Client::builder()
        .with_base_url(&infisical.url)
        .with_universal_auth(
            // The client id is an identifier, not a secret; config may still keep it beside one.
            plain
                .resolve(&infisical.client_id)?
                .expose_secret()
                .to_owned(),
            plain.resolve(&infisical.client_secret)?,
        )
        .with_project_id(&infisical.project_id)
        .with_environment(&infisical.environment)
        .with_plain_http(if infisical.allow_plain_http {
            infisical_client::PlainHttp::AnyHost
        } else {
            infisical_client::PlainHttp::LoopbackOnly
        })
        .with_request_timeout(Duration::from_secs(20))
        .build()
        .context("building the Infisical client")?;
    let bundle = client
        .bundle(infisical.path.as_str(), &GARAGE_BUNDLE_KEYS)
        .await
        .with_context(|| format!("fetching the Infisical bundle {}", infisical.path))?;
    Ok(Secrets::with_infisical(bundle.to_map()).with_env_overrides(env_overrides))
}

fn config_uses_infisical(config: &Config) -> bool {
    let mut sources: Vec<&SecretSource> = Vec::new();
    if let Some(g) = &config.garage {
        sources.extend([&g.access_key_id, &g.secret_access_key, &g.admin_token]);
    }
    if let Some(p) = &config.pbs {
        sources.push(&p.token_secret);
    }
    for plan in config.restic.values() {
        sources.push(&plan.password);
        sources.extend(
            plan.access_key_id
                .iter()
                .chain(plan.secret_access_key.iter()),
        );
    }
    sources
        .iter()
        .any(|s| matches!(s, SecretSource::Infisical(_)))
}

/// The Garage admin client.
pub fn garage_admin(config: &Config, secrets: &Secrets) -> Result<garage_client::AdminClient> {
    let g = config
        .garage
        .as_ref()
        .ok_or_else(|| anyhow!("[garage] is not configured"))?;
    garage_client::AdminClient::builder()
        .with_endpoint(&g.admin_endpoint)
        .with_token(secrets.resolve(&g.admin_token)?)
        .build()
        .context("building the Garage admin client")
}

/// The Garage S3 credentials and region, for restic repositories on Garage.
pub fn garage_s3_credentials(
    config: &Config,
    secrets: &Secrets,
) -> Result<(SecretString, SecretString, String)> {
    let g = config
        .garage
        .as_ref()
        .ok_or_else(|| anyhow!("[garage] is not configured"))?;
    Ok((
        secrets.resolve(&g.access_key_id)?,
        secrets.resolve(&g.secret_access_key)?,
        g.region.clone(),
    ))
}

/// The PBS client.
pub fn pbs(config: &Config, secrets: &Secrets) -> Result<pbs_client::Client> {
    let p = config
        .pbs
        .as_ref()
        .ok_or_else(|| anyhow!("[pbs] is not configured"))?;
    let mut builder = pbs_client::Client::builder()
        .with_base_url(&p.url)
        .with_token(&p.token_id, secrets.resolve(&p.token_secret)?)
        .with_datastore(&p.datastore)
        .with_connect_timeout(Duration::from_secs(10));
    if let Some(fp) = &p.fingerprint {
        let fingerprint: pbs_client::Fingerprint = fp
            .parse()
            .map_err(|e| anyhow!("invalid PBS fingerprint {fp}: {e}"))?;
        builder = builder.with_fingerprint(fingerprint);
    }
    builder.build().context("building the PBS client")
}

/// The Velero client of one kube context.
pub async fn velero(config: &Config, context: &str) -> Result<velero_client::VeleroClient> {
    let v = config
        .velero
        .as_ref()
        .ok_or_else(|| anyhow!("[velero] is not configured"))?;
    let mut builder = velero_client::VeleroClient::builder()
        .with_namespace(&v.namespace)
        .with_context(context)
        .with_connect_timeout(Duration::from_secs(10));
    if let Some(path) = &v.kubeconfig {
        builder = builder.with_kubeconfig_path(path);
    }
    builder
        .build()
        .await
        .with_context(|| format!("building the Velero client for kube context {context}"))
}

/// A restic client for one plan: over SSH when the plan names a host, else local.
pub async fn restic(
    config: &Config,
    secrets: &Secrets,
    plan: &ResticPlanConfig,
) -> Result<restic_remote::Restic> {
    let mut repo =
        restic_remote::Repository::new(plan.repository.clone(), secrets.resolve(&plan.password)?);
    if let (Some(key), Some(secret)) = (&plan.access_key_id, &plan.secret_access_key) {
        // The plan's own (per-host) key; the region still comes from [garage] when present.
        let region = config
            .garage
            .as_ref()
            .map_or_else(|| "garage".to_owned(), |g| g.region.clone());
        repo = repo.with_s3_credentials(secrets.resolve(key)?, secrets.resolve(secret)?, &region);
    } else if plan.garage_credentials && config.garage.is_some() {
        let (key, secret, region) = garage_s3_credentials(config, secrets)?;
        repo = repo.with_s3_credentials(key, secret, &region);
    }
    let mut builder = restic_remote::Restic::builder().with_repository(repo);
    if let Some(ssh) = &plan.ssh {
        let mut t = restic_remote::SshTransport::builder(ssh.host.clone())
            .with_port(ssh.port)
            .with_user(ssh.user.clone())
            .with_key_file(ssh.key_file.clone())
            .with_connect_timeout(Duration::from_secs(10));
        if let Some(kh) = &ssh.known_hosts {
            t = t.with_known_hosts(kh.clone());
        }
        if let Some(fp) = &ssh.host_fingerprint {
            t = t.with_host_key_fingerprint(fp.clone());
        }
        let transport = t
            .connect()
            .await
            .with_context(|| format!("connecting to {}:{}", ssh.host, ssh.port))?;
        builder = builder
            .with_transport(transport)
            .with_restic_binary(ssh.restic_bin.clone());
    }
    builder.build().context("building the restic client")
}

/// The kube context of each Velero target: the config's mapping, else the matrix's own.
pub fn velero_contexts(
    config: &Config,
    matrix: &backup_policy::matrix::Matrix,
) -> BTreeMap<String, String> {
    let mapping = config
        .velero
        .as_ref()
        .map(|v| v.contexts.clone())
        .unwrap_or_default();
    matrix
        .target
        .iter()
        .filter(|t| t.tool == backup_policy::matrix::Tool::Velero)
        .filter_map(|t| {
            mapping
                .get(&t.name)
                .cloned()
                .or_else(|| t.kube_context.clone())
                .map(|ctx| (t.name.clone(), ctx))
        })
        .collect()
}
