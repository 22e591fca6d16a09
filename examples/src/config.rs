//! The runbook binaries' one config file: where each system lives and where its credentials come from.
//!
//! Credentials are never given on the command line: each secret names a [`SecretSource`] — an
//! environment variable, a file, or a key of the Infisical bundle.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use secrecy::SecretString;
use serde::Deserialize;

/// The example config for the homelab, next to the seed matrix.
pub const HOMELAB_CONFIG: &str = include_str!("../config/homelab.toml");

/// Everything the binaries need to reach the homelab's systems.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Path of the backup matrix TOML; the embedded seed matrix when absent.
    #[serde(default)]
    pub matrix: Option<PathBuf>,
    /// Infisical, the source of the `/backups/garage` bundle.
    #[serde(default)]
    pub infisical: Option<InfisicalConfig>,
    /// Garage S3 and admin endpoints.
    #[serde(default)]
    pub garage: Option<GarageConfig>,
    /// Proxmox Backup Server.
    #[serde(default)]
    pub pbs: Option<PbsConfig>,
    /// Velero across kube contexts.
    #[serde(default)]
    pub velero: Option<VeleroConfig>,
    /// restic plans (Backrest-style), by plan name.
    #[serde(default)]
    pub restic: BTreeMap<String, ResticPlanConfig>,
    /// Alerting.
    #[serde(default)]
    pub alerts: AlertsConfig,
}

/// Where a secret's value comes from.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SecretSource {
    /// An environment variable.
    Env(String),
    /// A file (trailing newline trimmed).
    File(PathBuf),
    /// A key of the Infisical bundle at `infisical.path`.
    Infisical(String),
}

/// Infisical connection settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InfisicalConfig {
    /// Base URL (`https://app.infisical.com` or self-hosted).
    pub url: String,
    /// Project (workspace) id.
    pub project_id: String,
    /// Environment slug, e.g. `prod`.
    pub environment: String,
    /// Folder of the credential bundle.
    #[serde(default = "default_bundle_path")]
    pub path: String,
    /// Universal-auth client id.
    pub client_id: SecretSource,
    /// Universal-auth client secret.
    pub client_secret: SecretSource,
}

fn default_bundle_path() -> String {
    "/backups/garage".to_owned()
}

/// Garage endpoints and credentials.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GarageConfig {
    /// S3 endpoint, e.g. `http://garage.example:3900`.
    pub s3_endpoint: String,
    /// Admin API endpoint, e.g. `http://garage.example:3903`.
    pub admin_endpoint: String,
    /// S3 region (Garage's `s3_region`).
    #[serde(default = "default_region")]
    pub region: String,
    /// Access key id.
    pub access_key_id: SecretSource,
    /// Secret access key.
    pub secret_access_key: SecretSource,
    /// Admin bearer token.
    pub admin_token: SecretSource,
}

fn default_region() -> String {
    "garage".to_owned()
}

/// Proxmox Backup Server settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PbsConfig {
    /// Base URL, e.g. `https://pbs.example:8007`.
    pub url: String,
    /// SHA-256 certificate fingerprint in PBS's colon-separated hex.
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// API token id (`user@realm!name`).
    pub token_id: String,
    /// API token secret.
    pub token_secret: SecretSource,
    /// Datastore holding the VM snapshots.
    pub datastore: String,
    /// Namespace inside the datastore (root when absent).
    #[serde(default)]
    pub namespace: Option<String>,
}

/// Velero settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VeleroConfig {
    /// Kubeconfig path (`$KUBECONFIG` or `~/.kube/config` when absent).
    #[serde(default)]
    pub kubeconfig: Option<PathBuf>,
    /// Namespace Velero runs in.
    #[serde(default = "default_velero_namespace")]
    pub namespace: String,
    /// Kube context per matrix target name (e.g. `velero-prod = "prod"`); the matrix's own
    /// `kube_context` is used when a target is not listed.
    #[serde(default)]
    pub contexts: BTreeMap<String, String>,
}

fn default_velero_namespace() -> String {
    "velero".to_owned()
}

/// How to reach one restic plan's repository.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResticPlanConfig {
    /// Repository URI, e.g. `s3:http://garage.example:3900/backrest/iac`.
    pub repository: String,
    /// Repository password.
    pub password: SecretSource,
    /// Run restic on this host over SSH; run it locally when absent.
    #[serde(default)]
    pub ssh: Option<SshConfig>,
    /// Use the Garage credentials (access key, secret, region) as the repository's AWS_* variables.
    #[serde(default = "yes")]
    pub garage_credentials: bool,
}

fn yes() -> bool {
    true
}

/// An SSH destination.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshConfig {
    /// Host name or address.
    pub host: String,
    /// Port.
    #[serde(default = "default_ssh_port")]
    pub port: u16,
    /// Login user.
    #[serde(default = "default_ssh_user")]
    pub user: String,
    /// Private key file (OpenSSH format).
    pub key_file: PathBuf,
    /// known_hosts file to verify the host key against.
    #[serde(default)]
    pub known_hosts: Option<PathBuf>,
    /// Pinned host key fingerprint (`SHA256:…`), instead of known_hosts.
    #[serde(default)]
    pub host_fingerprint: Option<String>,
    /// restic binary on the host.
    #[serde(default = "default_restic_bin")]
    pub restic_bin: String,
}

fn default_ssh_port() -> u16 {
    22
}
fn default_ssh_user() -> String {
    "root".to_owned()
}
fn default_restic_bin() -> String {
    "restic".to_owned()
}

/// Alerting settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// Webhook (e.g. Keep) that receives a JSON alert for failing rows.
    #[serde(default)]
    pub webhook: Option<String>,
}

impl Config {
    /// Parses a config from TOML text.
    pub fn from_toml(text: &str) -> Result<Self> {
        toml::from_str(text).context("invalid config")
    }

    /// Reads a config file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config {}", path.display()))?;
        Self::from_toml(&text).with_context(|| format!("in {}", path.display()))
    }
}

/// Resolves [`SecretSource`]s, fetching the Infisical bundle at most once.
#[derive(Default)]
pub struct Secrets {
    infisical: BTreeMap<String, SecretString>,
    env_overrides: BTreeMap<String, SecretString>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("infisical_keys", &self.infisical.keys().collect::<Vec<_>>())
            .field(
                "env_overrides",
                &self.env_overrides.keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Secrets {
    /// Secrets with the given Infisical bundle values.
    pub fn with_infisical(values: BTreeMap<String, SecretString>) -> Self {
        Self {
            infisical: values,
            env_overrides: BTreeMap::new(),
        }
    }

    /// Values that `{ env = "VAR" }` sources see before the process environment (for
    /// embedding, tests and benchmarks: the process environment cannot be changed safely).
    #[must_use]
    pub fn with_env_overrides(mut self, values: BTreeMap<String, SecretString>) -> Self {
        self.env_overrides = values;
        self
    }

    /// The value of one secret.
    pub fn resolve(&self, source: &SecretSource) -> Result<SecretString> {
        match source {
            SecretSource::Env(var) if self.env_overrides.contains_key(var) => {
                Ok(self.env_overrides[var].clone())
            }
            SecretSource::Env(var) => match std::env::var(var) {
                Ok(v) if !v.is_empty() => Ok(SecretString::from(v)),
                _ => bail!("environment variable {var} is not set"),
            },
            SecretSource::File(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading secret file {}", path.display()))?;
                Ok(SecretString::from(
                    text.trim_end_matches(['\n', '\r']).to_owned(),
                ))
            }
            SecretSource::Infisical(key) => self.infisical.get(key).cloned().with_context(|| {
                format!("key {key} is not in the Infisical bundle (is [infisical] configured?)")
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn homelab_example_parses() {
        let config = Config::from_toml(HOMELAB_CONFIG).unwrap();
        assert_eq!(config.restic.len(), 3);
        assert!(config.pbs.unwrap().fingerprint.is_some());
        assert_eq!(config.velero.unwrap().contexts.len(), 3);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let err = Config::from_toml("[garage]\nsecret = 'x'\n").unwrap_err();
        assert!(format!("{err:#}").contains("unknown field"), "{err:#}");
    }

    #[test]
    fn secrets_resolve_from_file_and_bundle_without_leaking() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "hunter2\n").unwrap();
        let secrets = Secrets::with_infisical(BTreeMap::from([(
            "ADMIN_TOKEN".to_owned(),
            SecretString::from("canary-token".to_owned()),
        )]));
        let pw = secrets.resolve(&SecretSource::File(file)).unwrap();
        assert_eq!(pw.expose_secret(), "hunter2");
        let token = secrets
            .resolve(&SecretSource::Infisical("ADMIN_TOKEN".into()))
            .unwrap();
        assert_eq!(token.expose_secret(), "canary-token");
        assert!(!format!("{secrets:?}").contains("canary"));
        let missing = secrets
            .resolve(&SecretSource::Infisical("NOPE".into()))
            .unwrap_err();
        assert!(format!("{missing:#}").contains("NOPE"));
    }
}
