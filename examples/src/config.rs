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
    /// Allow a plain `http://` URL to a host other than loopback (default false: the client
    /// secret and every secret value would cross the network unencrypted).
    #[serde(default)]
    pub allow_plain_http: bool,
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
    /// This plan's own S3 access key id (a per-host Garage key scoped to its bucket prefix),
    /// instead of the `[garage]` one. Needs `secret_access_key` too.
    #[serde(default)]
    pub access_key_id: Option<SecretSource>,
    /// This plan's own S3 secret access key.
    #[serde(default)]
    pub secret_access_key: Option<SecretSource>,
    /// Silences the warning that this SSH plan shares its S3 access key with another SSH plan
    /// (with one shared key, any one compromised host can delete every other host's
    /// repository).
    #[serde(default)]
    pub shared_key_ok: bool,
}

impl ResticPlanConfig {
    /// Where this plan's S3 access key id comes from: its own, else `[garage]`'s when
    /// `garage_credentials` is on and `[garage]` is configured.
    pub fn access_key_source<'a>(&'a self, config: &'a Config) -> Option<&'a SecretSource> {
        self.access_key_id.as_ref().or_else(|| {
            config
                .garage
                .as_ref()
                .filter(|_| self.garage_credentials)
                .map(|g| &g.access_key_id)
        })
    }
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
    /// Pinned host key fingerprint (`SHA256:…`), instead of known_hosts (giving both is
    /// refused as ambiguous).
    #[serde(default)]
    pub host_fingerprint: Option<String>,
    /// restic binary on the host.
    #[serde(default = "default_restic_bin")]
    pub restic_bin: String,
    /// Absolute directory on the host under which `restore-drill` restores (default `/tmp`);
    /// each drill restores into a new private subdirectory (`mktemp -d`), removed afterwards.
    /// Refused when any component of it is a symlink, is owned by neither root nor the SSH
    /// user, or is writable by group/others without the sticky bit.
    #[serde(default)]
    pub scratch_dir: Option<String>,
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
    /// Parses a config from TOML text and checks it ([`Config::validate`]); warnings are not
    /// errors (see [`Config::warnings`]).
    pub fn from_toml(text: &str) -> Result<Self> {
        let config: Self = toml::from_str(text).context("invalid config")?;
        config.validate()?;
        Ok(config)
    }

    /// Reads a config file; prints each of [`Config::warnings`] on stderr.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config {}", path.display()))?;
        let config = Self::from_toml(&text).with_context(|| format!("in {}", path.display()))?;
        for w in config.warnings() {
            eprintln!("warning: {}: {w}", path.display());
        }
        Ok(config)
    }

    /// Refuses what cannot be meant: an SSH plan with both `known_hosts` and
    /// `host_fingerprint` (which one would decide?), a plan with only half of its own S3 key.
    pub fn validate(&self) -> Result<()> {
        for (name, plan) in &self.restic {
            if let Some(ssh) = &plan.ssh
                && ssh.known_hosts.is_some()
                && ssh.host_fingerprint.is_some()
            {
                bail!(
                    "restic plan {name}: ssh has both known_hosts and host_fingerprint; \
                     give exactly one (ambiguous host-key policy)"
                );
            }
            if let Some(dir) = plan.ssh.as_ref().and_then(|s| s.scratch_dir.as_deref())
                && (!dir.starts_with('/') || dir.contains(['\0', '\n']))
            {
                bail!("restic plan {name}: ssh.scratch_dir must be an absolute path");
            }
            if plan.access_key_id.is_some() != plan.secret_access_key.is_some() {
                bail!(
                    "restic plan {name}: access_key_id and secret_access_key go together \
                     (give both or neither)"
                );
            }
        }
        Ok(())
    }

    /// What is allowed but risky: SSH plans sharing one S3 access key (one compromised host
    /// could delete every other host's repository), unless each of them says
    /// `shared_key_ok = true`. Give each host its own Garage key scoped to its bucket prefix
    /// (`access_key_id` / `secret_access_key` on the plan).
    pub fn warnings(&self) -> Vec<String> {
        let mut by_key: Vec<(&SecretSource, Vec<&str>)> = Vec::new();
        for (name, plan) in &self.restic {
            if plan.ssh.is_none() || plan.shared_key_ok {
                continue;
            }
            let Some(key) = plan.access_key_source(self) else {
                continue;
            };
            match by_key.iter_mut().find(|(k, _)| *k == key) {
                Some((_, names)) => names.push(name.as_str()),
                None => by_key.push((key, vec![name.as_str()])),
            }
        }
        // Plans that opted in still count as sharers of the key they share.
        let mut out = Vec::new();
        for (key, names) in by_key {
            let others: Vec<&str> = self
                .restic
                .iter()
                .filter(|(n, p)| {
                    p.ssh.is_some()
                        && p.shared_key_ok
                        && !names.contains(&n.as_str())
                        && p.access_key_source(self) == Some(key)
                })
                .map(|(n, _)| n.as_str())
                .collect();
            if names.len() + others.len() > 1 {
                out.push(format!(
                    "SSH plans {} share one S3 access key: any one of those hosts can delete the \
                     others' repositories; give each its own key (access_key_id / \
                     secret_access_key on the plan), or set shared_key_ok = true",
                    names
                        .iter()
                        .chain(others.iter())
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        out
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
    fn ssh_plans_sharing_a_key_warn_unless_opted_in() {
        let plans = |a: &str, b: &str| {
            format!(
                "[garage]\ns3_endpoint = \"http://g:3900\"\nadmin_endpoint = \"http://g:3903\"\n\
                 access_key_id = {{ env = \"K\" }}\nsecret_access_key = {{ env = \"S\" }}\nadmin_token = {{ env = \"T\" }}\n\
                 [restic.a]\nrepository = \"s3:http://g:3900/b/a\"\npassword = {{ env = \"P\" }}\n\
                 ssh = {{ host = \"h1\", key_file = \"/k\", known_hosts = \"/kh\" }}\n{a}\n\
                 [restic.b]\nrepository = \"s3:http://g:3900/b/b\"\npassword = {{ env = \"P\" }}\n\
                 ssh = {{ host = \"h2\", key_file = \"/k\", known_hosts = \"/kh\" }}\n{b}\n\
                 [restic.local]\nrepository = \"s3:http://g:3900/b/l\"\npassword = {{ env = \"P\" }}\n"
            )
        };
        // Both SSH plans use [garage]'s key: one warning naming both (not the local plan).
        let w = Config::from_toml(&plans("", "")).unwrap().warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("a, b") && !w[0].contains("local"), "{w:?}");
        // Opting in on both silences it; on one only, the other still warns.
        assert!(
            Config::from_toml(&plans("shared_key_ok = true", "shared_key_ok = true"))
                .unwrap()
                .warnings()
                .is_empty()
        );
        let w = Config::from_toml(&plans("shared_key_ok = true", ""))
            .unwrap()
            .warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        // Per-host keys: no warning.
        let own = "access_key_id = { env = \"KB\" }\nsecret_access_key = { env = \"SB\" }";
        assert!(
            Config::from_toml(&plans("", own))
                .unwrap()
                .warnings()
                .is_empty()
        );
        // Half a key is an error.
        let err = Config::from_toml(&plans("", "access_key_id = { env = \"KB\" }")).unwrap_err();
        assert!(format!("{err:#}").contains("go together"), "{err:#}");
        // The homelab example gives each host its own key.
        assert!(
            Config::from_toml(HOMELAB_CONFIG)
                .unwrap()
                .warnings()
                .is_empty()
        );
    }

    #[test]
    fn known_hosts_and_fingerprint_together_are_ambiguous() {
        let text = "[restic.a]\nrepository = \"/r\"\npassword = { env = \"P\" }\n\
                    ssh = { host = \"h\", key_file = \"/k\", known_hosts = \"/kh\", host_fingerprint = \"SHA256:abc\" }\n";
        let err = Config::from_toml(text).unwrap_err();
        assert!(format!("{err:#}").contains("ambiguous"), "{err:#}");
        let one = text.replace(", host_fingerprint = \"SHA256:abc\"", "");
        assert!(Config::from_toml(&one).is_ok());
        // The drill's scratch directory on the host must be absolute.
        let rel = one.replace(
            "known_hosts = \"/kh\"",
            "known_hosts = \"/kh\", scratch_dir = \"tmp\"",
        );
        let err = Config::from_toml(&rel).unwrap_err();
        assert!(format!("{err:#}").contains("scratch_dir"), "{err:#}");
        let abs = rel.replace("\"tmp\"", "\"/var/tmp/drills\"");
        assert!(Config::from_toml(&abs).is_ok());
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
