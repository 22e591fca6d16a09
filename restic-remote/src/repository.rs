//! The repository: its location, password and backend credentials, all secret.

use std::fmt;

use secrecy::{ExposeSecret as _, SecretString};

use crate::error::{Error, Result};

/// A restic repository and the secrets needed to open it.
///
/// The URI, password and every backend variable are [`SecretString`]s: they reach restic only
/// through its environment, which the remote shell fills from standard input (see
/// [`crate::script`]). They never appear on a command line, in `Debug` output, logs or errors.
#[derive(Clone)]
pub struct Repository {
    uri: SecretString,
    password: SecretString,
    env: Vec<(String, SecretString)>,
    options: Vec<String>,
}

impl fmt::Debug for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Repository")
            .field("uri", &"[redacted]")
            .field(
                "env",
                &self.env.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            )
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Repository {
    /// A repository at `uri` (`/srv/restic`, `s3:http://host:3900/bucket/path`, `sftp:…`, …).
    pub fn new(uri: impl Into<SecretString>, password: impl Into<SecretString>) -> Self {
        Repository {
            uri: uri.into(),
            password: password.into(),
            env: Vec::new(),
            options: Vec::new(),
        }
    }

    /// An S3 repository (Garage, MinIO, AWS): sets `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY` and `AWS_DEFAULT_REGION`.
    pub fn with_s3_credentials(
        self,
        access_key_id: impl Into<SecretString>,
        secret_access_key: impl Into<SecretString>,
        region: &str,
    ) -> Self {
        self.with_env("AWS_ACCESS_KEY_ID", access_key_id)
            .with_env("AWS_SECRET_ACCESS_KEY", secret_access_key)
            .with_env("AWS_DEFAULT_REGION", region.to_owned())
    }

    /// Adds a backend variable (`AWS_*`, `B2_*`, `AZURE_*`, `GOOGLE_*`, `RESTIC_*`, …). Names
    /// must match `[A-Z_][A-Z0-9_]*`; this is checked when a command is built.
    pub fn with_env(mut self, name: &str, value: impl Into<SecretString>) -> Self {
        self.env.retain(|(k, _)| k != name);
        self.env.push((name.to_owned(), value.into()));
        self
    }

    /// Adds an extended option, passed as `-o <option>` (e.g. `s3.bucket-lookup=path`). Options
    /// appear on the command line: never put secrets in them.
    pub fn with_option(mut self, option: impl Into<String>) -> Self {
        self.options.push(option.into());
        self
    }

    /// The variables [`Self::from_env`] and [`Self::from_vars`] read.
    const VARIABLES: [&'static str; 6] = [
        "RESTIC_REPOSITORY",
        "RESTIC_PASSWORD",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_DEFAULT_REGION",
    ];

    /// Reads `RESTIC_REPOSITORY`, `RESTIC_PASSWORD` and, when set, `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` and `AWS_DEFAULT_REGION` from the process
    /// environment (an empty value counts as unset).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when `RESTIC_REPOSITORY` or `RESTIC_PASSWORD` is missing.
    pub fn from_env() -> Result<Self> {
        Self::from_vars(
            Self::VARIABLES
                .iter()
                .filter_map(|k| std::env::var(k).ok().map(|v| (*k, v))),
        )
    }

    /// [`Self::from_env`] from `(name, value)` pairs instead of the process environment (tests,
    /// config files); other names are ignored, and a later pair wins over an earlier one.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when `RESTIC_REPOSITORY` or `RESTIC_PASSWORD` is missing.
    pub fn from_vars<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Result<Self>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut found: Vec<(&'static str, String)> = Vec::new();
        for (k, v) in vars {
            let (k, v) = (k.as_ref(), v.as_ref());
            if let Some(name) = Self::VARIABLES.iter().find(|n| **n == k) {
                found.retain(|(n, _)| n != name);
                if !v.is_empty() {
                    found.push((name, v.to_owned()));
                }
            }
        }
        let mut take = |k: &str| {
            found
                .iter()
                .position(|(n, _)| *n == k)
                .map(|i| found.remove(i).1)
        };
        let uri = take("RESTIC_REPOSITORY")
            .ok_or_else(|| Error::Config("RESTIC_REPOSITORY is not set".into()))?;
        let password = take("RESTIC_PASSWORD")
            .ok_or_else(|| Error::Config("RESTIC_PASSWORD is not set".into()))?;
        let mut repo = Repository::new(uri, password);
        for k in &Self::VARIABLES[2..] {
            if let Some(v) = take(k) {
                repo = repo.with_env(k, v);
            }
        }
        Ok(repo)
    }

    /// The `-o` options.
    pub fn options(&self) -> &[String] {
        &self.options
    }

    /// Every secret value (for scrubbing restic's messages before they reach an error).
    pub(crate) fn secret_values(&self) -> Vec<&str> {
        let mut v = vec![self.uri.expose_secret(), self.password.expose_secret()];
        v.extend(self.env.iter().map(|(_, s)| s.expose_secret()));
        // Short secrets too: scrubbing a few bytes too many beats leaking a short password.
        v.retain(|s| !s.is_empty());
        // Longest first, so a secret containing another is removed whole.
        v.sort_by_key(|s| std::cmp::Reverse(s.len()));
        v
    }

    /// The variables restic gets, in order, validated.
    pub(crate) fn variables(&self) -> Result<Vec<(&str, &SecretString)>> {
        let mut vars: Vec<(&str, &SecretString)> = vec![
            ("RESTIC_REPOSITORY", &self.uri),
            ("RESTIC_PASSWORD", &self.password),
        ];
        vars.extend(self.env.iter().map(|(k, v)| (k.as_str(), v)));
        for (name, value) in &vars {
            crate::script::check_variable(name, value.expose_secret())?;
        }
        Ok(vars)
    }
}

/// Removes every occurrence of the repository's secrets from `text`, in one pass (so a short
/// secret never matches inside an earlier replacement), longest secret first.
pub(crate) fn scrub(text: &str, secrets: &[&str]) -> String {
    if !secrets.iter().any(|s| !s.is_empty() && text.contains(s)) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'outer: while let Some(c) = rest.chars().next() {
        for s in secrets.iter().filter(|s| !s.is_empty()) {
            if let Some(after) = rest.strip_prefix(s) {
                out.push_str("[redacted]");
                rest = after;
                continue 'outer;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_vars_reads_the_restic_and_aws_variables() {
        let repo = Repository::from_vars([
            ("RESTIC_REPOSITORY", "s3:http://127.0.0.1:3900/b/r"),
            ("RESTIC_PASSWORD", "first"),
            ("RESTIC_PASSWORD", "pw"),
            ("AWS_ACCESS_KEY_ID", "GK1"),
            ("AWS_SESSION_TOKEN", ""),
            ("HOME", "/root"),
        ])
        .unwrap();
        assert_eq!(repo.uri.expose_secret(), "s3:http://127.0.0.1:3900/b/r");
        assert_eq!(repo.password.expose_secret(), "pw");
        let env: Vec<_> = repo
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.expose_secret()))
            .collect();
        assert_eq!(env, [("AWS_ACCESS_KEY_ID", "GK1")]);
        let missing = Repository::from_vars([("RESTIC_REPOSITORY", "/r")]).unwrap_err();
        assert!(
            matches!(&missing, Error::Config(m) if m.contains("RESTIC_PASSWORD")),
            "{missing:?}"
        );
        let empty = Repository::from_vars([("RESTIC_REPOSITORY", ""), ("RESTIC_PASSWORD", "pw")]);
        assert!(matches!(empty, Err(Error::Config(_))));
    }

    #[test]
    fn short_secrets_are_scrubbed_too() {
        let repo = Repository::new("/r", SecretString::from("pw".to_owned()))
            .with_env("AWS_SECRET_ACCESS_KEY", SecretString::from("k".to_owned()));
        let out = scrub(
            "Fatal: wrong password pw for /r with key k",
            &repo.secret_values(),
        );
        assert!(
            !out.contains("pw") && !out.contains(" k") && !out.contains("/r"),
            "{out}"
        );
    }
}
