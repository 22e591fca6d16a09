//! Public secret types: [`Secret`], [`Secrets`], [`SecretsQuery`] and [`EnvMap`].

use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::fmt;

/// Normalises a secret path the way the server does: leading `/`, no trailing `/`, no empty
/// segments.
pub(crate) fn normalize_secret_path(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    format!("/{}", parts.join("/"))
}

/// `shared` or `personal`, as the server reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretKind {
    /// A secret shared by everyone with access to the folder.
    Shared,
    /// A user's personal override.
    Personal,
    /// A type this crate does not know yet.
    Unknown(String),
}

impl SecretKind {
    pub(crate) fn from_api(s: Option<&str>) -> Self {
        match s {
            None | Some("shared") => Self::Shared,
            Some("personal") => Self::Personal,
            Some(other) => Self::Unknown(other.to_owned()),
        }
    }
}

/// Where a secret of a listing came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretSource {
    /// The folder that was read (or one of its subfolders, when listing recursively).
    Local,
    /// A secret import of that folder.
    Imported {
        /// The imported environment's slug.
        environment: String,
        /// The imported folder.
        path: String,
    },
}

/// One secret. The value is a [`SecretString`]: `Debug` prints `[REDACTED]`, and only
/// [`ExposeSecret::expose_secret`] reveals it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Secret {
    /// The secret's name (`secretKey`).
    pub key: String,
    /// The value (references already expanded when the query asked for it).
    pub value: SecretString,
    /// The folder the secret lives in.
    pub path: String,
    /// The environment slug.
    pub environment: String,
    /// The server's version counter.
    pub version: Option<i64>,
    /// Shared or personal.
    pub kind: SecretKind,
    /// The secret's comment, if any (comments are not treated as secret).
    pub comment: Option<String>,
    /// Local or imported.
    pub source: SecretSource,
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}:{})", self.key, self.environment, self.path)
    }
}

/// The secrets of one folder, imports merged the way the Infisical CLI merges them.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Secrets {
    environment: String,
    path: String,
    items: Vec<Secret>,
}

impl Secrets {
    pub(crate) fn new(environment: String, path: String, items: Vec<Secret>) -> Self {
        Self {
            environment,
            path,
            items,
        }
    }

    /// The environment that was read.
    pub fn environment(&self) -> &str {
        &self.environment
    }

    /// The folder that was read.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The secret named `key`. In a recursive listing the folder's own secret wins over one of
    /// the same name in a subfolder.
    pub fn get(&self, key: &str) -> Option<&Secret> {
        self.items
            .iter()
            .find(|s| s.key == key && s.path == self.path)
            .or_else(|| self.items.iter().find(|s| s.key == key))
    }

    /// The value of the secret named `key`.
    pub fn value(&self, key: &str) -> Option<&SecretString> {
        self.get(key).map(|s| &s.value)
    }

    /// All secrets: the folder's own first (server order), then imported ones.
    pub fn iter(&self) -> std::slice::Iter<'_, Secret> {
        self.items.iter()
    }

    /// The keys, in [`Secrets::iter`] order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(|s| s.key.as_str())
    }

    /// Number of secrets.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when the folder holds no secrets.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The secrets as environment variables for a child process, like `infisical run`:
    /// names the CLI refuses to override (`HOME`, `PATH`, `XDG_*`, …) and names that cannot be
    /// environment variables are left out.
    pub fn to_env_map(&self) -> EnvMap {
        let mut env = EnvMap::new();
        // Reverse so that, for duplicate keys (recursive listings), `get`'s choice wins.
        for s in self.items.iter().rev() {
            if s.path == self.path
                || !self
                    .items
                    .iter()
                    .any(|o| o.key == s.key && o.path == self.path)
            {
                env.insert_filtered(&s.key, s.value.clone());
            }
        }
        env
    }

    /// Every key with its value (the folder's own secret wins over a subfolder's of the same
    /// name, like [`Secrets::get`]).
    pub fn to_map(&self) -> BTreeMap<String, SecretString> {
        let mut map = BTreeMap::new();
        for s in &self.items {
            if let Some(chosen) = self.get(&s.key) {
                map.entry(s.key.clone())
                    .or_insert_with(|| chosen.value.clone());
            }
        }
        map
    }

    /// Consumes the listing.
    pub fn into_vec(self) -> Vec<Secret> {
        self.items
    }
}

impl<'a> IntoIterator for &'a Secrets {
    type Item = &'a Secret;
    type IntoIter = std::slice::Iter<'a, Secret>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

/// What to read: a folder plus options. Environment and project default to the client's.
///
/// Defaults: not recursive, imports included, references expanded — and all three are always
/// sent to the server explicitly.
///
/// ```
/// use infisical_client::SecretsQuery;
/// let q = SecretsQuery::new("/backups/garage").with_environment("prod").recursive();
/// assert_eq!(q.path(), "/backups/garage");
/// let q: SecretsQuery = "backups/garage/".into();
/// assert_eq!(q.path(), "/backups/garage");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecretsQuery {
    pub(crate) path: String,
    pub(crate) environment: Option<String>,
    pub(crate) project_id: Option<String>,
    pub(crate) recursive: bool,
    pub(crate) include_imports: bool,
    pub(crate) expand_references: bool,
}

impl SecretsQuery {
    /// Reads the folder `path` (normalised: leading `/`, no trailing `/`).
    pub fn new(path: &str) -> Self {
        Self {
            path: normalize_secret_path(path),
            environment: None,
            project_id: None,
            recursive: false,
            include_imports: true,
            expand_references: true,
        }
    }

    /// The normalised folder.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Reads this environment instead of the client's default.
    #[must_use]
    pub fn with_environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// Reads this project instead of the client's default.
    #[must_use]
    pub fn with_project_id(mut self, project_id: impl Into<String>) -> Self {
        self.project_id = Some(project_id.into());
        self
    }

    /// Also reads subfolders (default: only the folder itself).
    #[must_use]
    pub fn recursive(mut self) -> Self {
        self.recursive = true;
        self
    }

    /// Leaves the folder's secret imports out (default: merged like the CLI).
    #[must_use]
    pub fn without_imports(mut self) -> Self {
        self.include_imports = false;
        self
    }

    /// Returns `${KEY}` / `${env.path.KEY}` references as written instead of letting the server
    /// expand them (default: expanded).
    #[must_use]
    pub fn without_reference_expansion(mut self) -> Self {
        self.expand_references = false;
        self
    }
}

impl From<&str> for SecretsQuery {
    fn from(path: &str) -> Self {
        Self::new(path)
    }
}

impl From<&SecretsQuery> for SecretsQuery {
    fn from(q: &SecretsQuery) -> Self {
        q.clone()
    }
}

/// Names `infisical run` never overrides in a child's environment.
const RESERVED: &[&str] = &[
    "HOME",
    "PATH",
    "PS1",
    "PS2",
    "PWD",
    "EDITOR",
    "XAUTHORITY",
    "USER",
    "TERM",
    "TERMINFO",
    "SHELL",
    "MAIL",
];
const RESERVED_PREFIXES: &[&str] = &["XDG_", "LC_"];

/// Environment variables for a child process. Values stay [`SecretString`]s until the caller
/// exposes them, at the last moment, with [`EnvMap::exposed`]:
///
/// ```
/// # use infisical_client::EnvMap;
/// # let env = EnvMap::new();
/// let mut cmd = std::process::Command::new("restic");
/// cmd.envs(env.exposed());
/// ```
#[derive(Clone, Default)]
pub struct EnvMap(BTreeMap<String, SecretString>);

impl EnvMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a variable.
    pub fn insert(&mut self, name: impl Into<String>, value: SecretString) {
        self.0.insert(name.into(), value);
    }

    /// Adds a variable unless its name is reserved or invalid (returns whether it was added).
    pub(crate) fn insert_filtered(&mut self, name: &str, value: SecretString) -> bool {
        let invalid = name.is_empty() || name.contains(['=', '\0']);
        let reserved =
            RESERVED.contains(&name) || RESERVED_PREFIXES.iter().any(|p| name.starts_with(p));
        if invalid || reserved {
            tracing::warn!(
                name,
                "secret not exported to the environment (reserved or invalid name)"
            );
            return false;
        }
        self.insert(name, value);
        true
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&SecretString> {
        self.0.get(name)
    }

    /// The names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Number of variables.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `(name, value)` pairs with the values exposed, for `Command::envs`. Do not log them.
    pub fn exposed(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.expose_secret()))
    }
}

impl fmt::Debug for EnvMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "[REDACTED]")))
            .finish()
    }
}

impl Extend<(String, SecretString)> for EnvMap {
    fn extend<T: IntoIterator<Item = (String, SecretString)>>(&mut self, iter: T) {
        self.0.extend(iter);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(key: &str, path: &str, v: &str) -> Secret {
        Secret {
            key: key.into(),
            value: SecretString::from(v),
            path: path.into(),
            environment: "prod".into(),
            version: None,
            kind: SecretKind::Shared,
            comment: None,
            source: SecretSource::Local,
        }
    }

    #[test]
    fn env_map_drops_reserved_names_and_prefers_own_folder() {
        let s = Secrets::new(
            "prod".into(),
            "/app".into(),
            vec![
                secret("PATH", "/app", "x"),
                secret("XDG_DIR", "/app", "x"),
                secret("A", "/app/sub", "sub"),
                secret("A", "/app", "own"),
                secret("B", "/app/sub", "b"),
            ],
        );
        let env = s.to_env_map();
        assert_eq!(env.names().collect::<Vec<_>>(), vec!["A", "B"]);
        assert_eq!(env.get("A").map(|v| v.expose_secret()), Some("own"));
        assert_eq!(s.value("A").map(|v| v.expose_secret()), Some("own"));
        let map = s.to_map();
        assert_eq!(map.len(), 4);
        assert_eq!(map.get("A").map(|v| v.expose_secret()), Some("own"));
        let dbg = format!("{env:?}");
        assert!(dbg.contains("\"A\"") && !dbg.contains("own"), "{dbg}");
    }

    #[test]
    fn unknown_kinds_are_kept() {
        assert_eq!(SecretKind::from_api(Some("personal")), SecretKind::Personal);
        assert_eq!(
            SecretKind::from_api(Some("rotated")),
            SecretKind::Unknown("rotated".into())
        );
    }
}
