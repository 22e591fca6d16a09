//! Credential bundles: a set of named keys read from one folder, generic ([`Bundle`]) or typed
//! ([`CredentialBundle`], e.g. [`GarageCredentials`]).

use secrecy::SecretString;
use std::collections::BTreeMap;
use std::fmt;

use crate::error::{Error, Result};
use crate::secrets::{EnvMap, Secrets};

/// Named secret values read together from one folder.
#[derive(Debug, Clone)]
pub struct Bundle {
    name: String,
    environment: String,
    path: String,
    values: BTreeMap<String, SecretString>,
}

impl Bundle {
    /// Picks `keys` out of a listing; every missing key is named in one
    /// [`Error::MissingKeys`].
    ///
    /// # Errors
    ///
    /// [`Error::MissingKeys`] naming every key of `keys` that `secrets` lacks.
    pub fn from_secrets(name: &str, secrets: &Secrets, keys: &[&str]) -> Result<Self> {
        let mut values = BTreeMap::new();
        let mut missing = Vec::new();
        for key in keys {
            match secrets.value(key) {
                Some(v) => {
                    values.insert((*key).to_owned(), v.clone());
                }
                None => {
                    if !missing.iter().any(|m| m == key) {
                        missing.push((*key).to_owned());
                    }
                }
            }
        }
        if !missing.is_empty() {
            return Err(Error::MissingKeys {
                bundle: name.to_owned(),
                path: secrets.path().to_owned(),
                missing,
            });
        }
        Ok(Self {
            name: name.to_owned(),
            environment: secrets.environment().to_owned(),
            path: secrets.path().to_owned(),
            values,
        })
    }

    /// The bundle's name (used in errors).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The environment it was read from.
    pub fn environment(&self) -> &str {
        &self.environment
    }

    /// The folder it was read from.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&SecretString> {
        self.values.get(key)
    }

    /// The value of `key`.
    ///
    /// # Errors
    ///
    /// [`Error::MissingKeys`] naming `key` when the bundle lacks it.
    pub fn require(&self, key: &str) -> Result<&SecretString> {
        self.values.get(key).ok_or_else(|| Error::MissingKeys {
            bundle: self.name.clone(),
            path: self.path.clone(),
            missing: vec![key.to_owned()],
        })
    }

    /// The keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// The values by key (for callers that keep their own map of secrets).
    pub fn to_map(&self) -> BTreeMap<String, SecretString> {
        self.values.clone()
    }

    /// The values as environment variables under their Infisical names (reserved names such
    /// as `PATH` are left out, like `infisical run`).
    pub fn to_env_map(&self) -> EnvMap {
        let mut env = EnvMap::new();
        for (k, v) in &self.values {
            env.insert_filtered(k, v.clone());
        }
        env
    }
}

/// A typed set of keys in one Infisical folder.
///
/// ```
/// use infisical_client::{Bundle, CredentialBundle, Result};
/// use secrecy::SecretString;
///
/// struct ResticPassword { password: SecretString }
///
/// impl CredentialBundle for ResticPassword {
///     const NAME: &'static str = "ResticPassword";
///     const DEFAULT_PATH: &'static str = "/backups/restic";
///     const KEYS: &'static [&'static str] = &["RESTIC_PASSWORD"];
///     fn from_bundle(b: &Bundle) -> Result<Self> {
///         Ok(Self { password: b.require("RESTIC_PASSWORD")?.clone() })
///     }
/// }
/// // let pw: ResticPassword = client.fetch().await?;
/// ```
pub trait CredentialBundle: Sized {
    /// Name used in errors.
    const NAME: &'static str;
    /// The folder read by [`Client::fetch`](crate::Client::fetch).
    const DEFAULT_PATH: &'static str;
    /// Every key the bundle needs; missing ones are reported together.
    const KEYS: &'static [&'static str];
    /// Builds the typed value (all [`Self::KEYS`] are present).
    ///
    /// # Errors
    ///
    /// Whatever the implementation refuses, typically [`Error::InvalidValue`].
    fn from_bundle(bundle: &Bundle) -> Result<Self>;
}

/// Garage's credentials as the homelab keeps them in Infisical at `/backups/garage`:
/// `ACCESS_KEY_ID`, `SECRET_ACCESS_KEY`, `ENDPOINT`, `ADMIN_TOKEN`.
///
/// `Debug` shows the endpoint and where the bundle came from, never a key or token.
#[derive(Clone)]
#[non_exhaustive]
pub struct GarageCredentials {
    /// S3 access key id.
    pub access_key_id: SecretString,
    /// S3 secret access key.
    pub secret_access_key: SecretString,
    /// The S3 endpoint URL (e.g. `http://garage.example:3900`); not secret.
    pub endpoint: String,
    /// The admin API bearer token.
    pub admin_token: SecretString,
    /// The environment the bundle was read from.
    pub environment: String,
    /// The folder the bundle was read from.
    pub path: String,
}

impl GarageCredentials {
    /// Infisical key of the access key id.
    pub const ACCESS_KEY_ID: &'static str = "ACCESS_KEY_ID";
    /// Infisical key of the secret key.
    pub const SECRET_ACCESS_KEY: &'static str = "SECRET_ACCESS_KEY";
    /// Infisical key of the S3 endpoint.
    pub const ENDPOINT: &'static str = "ENDPOINT";
    /// Infisical key of the admin token.
    pub const ADMIN_TOKEN: &'static str = "ADMIN_TOKEN";

    /// The four values under their Infisical names (`ACCESS_KEY_ID`, …), as `infisical run`
    /// would export them.
    pub fn env_map(&self) -> EnvMap {
        let mut env = EnvMap::new();
        env.insert(Self::ACCESS_KEY_ID, self.access_key_id.clone());
        env.insert(Self::SECRET_ACCESS_KEY, self.secret_access_key.clone());
        env.insert(Self::ENDPOINT, SecretString::from(self.endpoint.clone()));
        env.insert(Self::ADMIN_TOKEN, self.admin_token.clone());
        env
    }

    /// What an S3 tool (restic, aws-cli, rclone) needs: `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_ENDPOINT_URL`. The admin token is left out on purpose.
    pub fn aws_env_map(&self) -> EnvMap {
        let mut env = EnvMap::new();
        env.insert("AWS_ACCESS_KEY_ID", self.access_key_id.clone());
        env.insert("AWS_SECRET_ACCESS_KEY", self.secret_access_key.clone());
        env.insert(
            "AWS_ENDPOINT_URL",
            SecretString::from(self.endpoint.clone()),
        );
        env
    }
}

impl CredentialBundle for GarageCredentials {
    const NAME: &'static str = "GarageCredentials";
    const DEFAULT_PATH: &'static str = "/backups/garage";
    const KEYS: &'static [&'static str] = &[
        Self::ACCESS_KEY_ID,
        Self::SECRET_ACCESS_KEY,
        Self::ENDPOINT,
        Self::ADMIN_TOKEN,
    ];

    fn from_bundle(b: &Bundle) -> Result<Self> {
        use secrecy::ExposeSecret;
        let endpoint = b.require(Self::ENDPOINT)?.expose_secret().trim().to_owned();
        let invalid = |reason: &str| Error::InvalidValue {
            bundle: Self::NAME.to_owned(),
            path: b.path().to_owned(),
            key: Self::ENDPOINT.to_owned(),
            reason: reason.to_owned(),
        };
        let url = url::Url::parse(&endpoint).map_err(|_| invalid("not a URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("scheme must be http or https"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("must not contain credentials"));
        }
        Ok(Self {
            access_key_id: b.require(Self::ACCESS_KEY_ID)?.clone(),
            secret_access_key: b.require(Self::SECRET_ACCESS_KEY)?.clone(),
            endpoint,
            admin_token: b.require(Self::ADMIN_TOKEN)?.clone(),
            environment: b.environment().to_owned(),
            path: b.path().to_owned(),
        })
    }
}

impl fmt::Debug for GarageCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GarageCredentials")
            .field("access_key_id", &"[REDACTED]")
            .field("secret_access_key", &"[REDACTED]")
            .field("endpoint", &self.endpoint)
            .field("admin_token", &"[REDACTED]")
            .field("environment", &self.environment)
            .field("path", &self.path)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::{Secret, SecretKind, SecretSource};
    use secrecy::ExposeSecret;

    fn listing(pairs: &[(&str, &str)]) -> Secrets {
        Secrets::new(
            "prod".into(),
            "/backups/garage".into(),
            pairs
                .iter()
                .map(|(k, v)| Secret {
                    key: (*k).into(),
                    value: SecretString::from(*v),
                    path: "/backups/garage".into(),
                    environment: "prod".into(),
                    version: Some(1),
                    kind: SecretKind::Shared,
                    comment: None,
                    source: SecretSource::Local,
                })
                .collect(),
        )
    }

    #[test]
    fn missing_keys_are_named_together() {
        let s = listing(&[("ACCESS_KEY_ID", "GK1")]);
        let err =
            Bundle::from_secrets("GarageCredentials", &s, GarageCredentials::KEYS).unwrap_err();
        assert_eq!(
            err.missing_keys(),
            ["SECRET_ACCESS_KEY", "ENDPOINT", "ADMIN_TOKEN"]
        );
    }

    #[test]
    fn garage_from_bundle_and_env() {
        let s = listing(&[
            ("ACCESS_KEY_ID", "GK1"),
            ("SECRET_ACCESS_KEY", "sak-canary"),
            ("ENDPOINT", " http://127.0.0.1:3900 "),
            ("ADMIN_TOKEN", "adm-canary"),
            ("OTHER", "x"),
        ]);
        let b = Bundle::from_secrets("GarageCredentials", &s, GarageCredentials::KEYS).unwrap();
        assert_eq!(b.keys().count(), 4);
        let g = GarageCredentials::from_bundle(&b).unwrap();
        assert_eq!(g.endpoint, "http://127.0.0.1:3900");
        let aws = g.aws_env_map();
        assert_eq!(
            aws.names().collect::<Vec<_>>(),
            [
                "AWS_ACCESS_KEY_ID",
                "AWS_ENDPOINT_URL",
                "AWS_SECRET_ACCESS_KEY"
            ]
        );
        assert_eq!(
            aws.get("AWS_SECRET_ACCESS_KEY").map(|v| v.expose_secret()),
            Some("sak-canary")
        );
        assert!(aws.get("ADMIN_TOKEN").is_none());
        assert_eq!(g.env_map().len(), 4);
        let dbg = format!("{g:?} {b:?} {aws:?}");
        assert!(!dbg.contains("canary") && !dbg.contains("GK1"), "{dbg}");
    }

    #[test]
    fn bad_endpoint_is_reported_without_its_value() {
        let s = listing(&[
            ("ACCESS_KEY_ID", "a"),
            ("SECRET_ACCESS_KEY", "b"),
            ("ENDPOINT", "garage-canary:3900 nope"),
            ("ADMIN_TOKEN", "d"),
        ]);
        let b = Bundle::from_secrets("GarageCredentials", &s, GarageCredentials::KEYS).unwrap();
        let err = GarageCredentials::from_bundle(&b).unwrap_err();
        assert!(matches!(err, Error::InvalidValue { .. }));
        assert!(!err.to_string().contains("canary"), "{err}");
    }
}
