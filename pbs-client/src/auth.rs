//! Credentials, `PBS_REPOSITORY` parsing and percent-encoding helpers.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};

/// How the client authenticates.
#[derive(Clone)]
#[non_exhaustive]
pub enum Credentials {
    /// An API token: `Authorization: PBSAPIToken=user@realm!name:SECRET` on every request.
    Token {
        /// Token id, `user@realm!tokenname`.
        id: String,
        /// Token secret (shown once when the token is created).
        secret: SecretString,
    },
    /// A password: the client logs in at `/access/ticket`, sends the ticket cookie (plus the
    /// CSRF header on writes) and renews the ticket before its 2 h lifetime ends.
    Password {
        /// User id, `user@realm`.
        username: String,
        /// Password.
        password: SecretString,
    },
}

impl Credentials {
    /// API token credentials (`id` is `user@realm!tokenname`).
    pub fn token(id: impl Into<String>, secret: SecretString) -> Self {
        Credentials::Token {
            id: id.into(),
            secret,
        }
    }

    /// Password (ticket) credentials for `user@realm`.
    pub fn password(username: impl Into<String>, password: SecretString) -> Self {
        Credentials::Password {
            username: username.into(),
            password,
        }
    }

    /// The identity (token id or user id), without any secret.
    pub fn auth_id(&self) -> &str {
        match self {
            Credentials::Token { id, .. } => id,
            Credentials::Password { username, .. } => username,
        }
    }

    /// `PBSAPIToken=<id>:<percent-encoded secret>` for token credentials.
    pub(crate) fn token_header(&self) -> Option<SecretString> {
        match self {
            Credentials::Token { id, secret } => Some(SecretString::from(format!(
                "PBSAPIToken={id}:{}",
                encode_component(secret.expose_secret())
            ))),
            Credentials::Password { .. } => None,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Token { id, .. } => f
                .debug_struct("Token")
                .field("id", id)
                .field("secret", &"[REDACTED]")
                .finish(),
            Credentials::Password { username, .. } => f
                .debug_struct("Password")
                .field("username", username)
                .field("password", &"[REDACTED]")
                .finish(),
        }
    }
}

/// A parsed `PBS_REPOSITORY`: `[[username@]server[:port]:]datastore`.
///
/// ```
/// use pbs_client::Repository;
/// let r: Repository = "backup@pbs!monitor@[2001:db8::1]:8008:store1".parse().unwrap();
/// assert_eq!(r.auth_id, "backup@pbs!monitor");
/// assert_eq!(r.host, "[2001:db8::1]");
/// assert_eq!(r.port, 8008);
/// assert_eq!(r.datastore, "store1");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Repository {
    /// User or token id (default `root@pam`).
    pub auth_id: String,
    /// Host name or IP address (IPv6 in brackets); default `localhost`.
    pub host: String,
    /// Port (default 8007).
    pub port: u16,
    /// Datastore name.
    pub datastore: String,
}

impl Repository {
    /// True when the auth id names an API token (`user@realm!name`).
    pub fn is_token(&self) -> bool {
        self.auth_id.contains('!')
    }

    /// `https://host:port`.
    pub fn base_url(&self) -> String {
        format!("https://{}:{}", self.host, self.port)
    }
}

impl std::str::FromStr for Repository {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = |m: &str| Error::config(format!("PBS repository {s:?}: {m}"));
        let s = s.trim();
        // The datastore follows the last ':' outside brackets.
        let split = match s.rfind(':') {
            Some(i) if s.rfind(']').is_none_or(|b| i > b) => Some(i),
            _ => None,
        };
        let (prefix, datastore) = match split {
            Some(i) => (Some(&s[..i]), &s[i + 1..]),
            None => (None, s),
        };
        if datastore.is_empty()
            || !datastore
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        {
            return Err(bad("invalid datastore name"));
        }
        let mut repo = Repository {
            auth_id: "root@pam".to_owned(),
            host: "localhost".to_owned(),
            port: 8007,
            datastore: datastore.to_owned(),
        };
        let Some(prefix) = prefix else {
            return Ok(repo);
        };
        let host_port = match prefix.rfind('@') {
            Some(at) => {
                let user = &prefix[..at];
                if !user.contains('@') {
                    return Err(bad("the user must be user@realm"));
                }
                repo.auth_id = user.to_owned();
                &prefix[at + 1..]
            }
            None => prefix,
        };
        let (host, port) = if host_port.starts_with('[') {
            let end = host_port.find(']').ok_or_else(|| bad("unclosed '['"))?;
            let rest = &host_port[end + 1..];
            let port = match rest.strip_prefix(':') {
                Some(p) => Some(p),
                None if rest.is_empty() => None,
                None => return Err(bad("garbage after IPv6 address")),
            };
            (&host_port[..=end], port)
        } else {
            match host_port.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (host_port, None),
            }
        };
        if host.is_empty() || host.contains(['/', '@', ' ']) {
            return Err(bad("invalid host"));
        }
        repo.host = host.to_owned();
        if let Some(p) = port {
            repo.port = p.parse().map_err(|_| bad("invalid port"))?;
        }
        Ok(repo)
    }
}

/// Percent-encodes everything except ASCII alphanumerics and `-_.~` (for path segments,
/// cookies and the token secret).
pub(crate) fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_forms() {
        let r: Repository = "store1".parse().unwrap();
        assert_eq!(
            (r.host.as_str(), r.port, r.auth_id.as_str()),
            ("localhost", 8007, "root@pam")
        );
        let r: Repository = "pbs.example:store2".parse().unwrap();
        assert_eq!(
            (r.host.as_str(), r.datastore.as_str()),
            ("pbs.example", "store2")
        );
        let r: Repository = "admin@pbs@192.0.2.5:8007:store".parse().unwrap();
        assert_eq!(r.auth_id, "admin@pbs");
        assert!(!r.is_token());
        let r: Repository = "mon@pbs!ro@host:9000:s".parse().unwrap();
        assert!(r.is_token());
        assert_eq!(r.base_url(), "https://host:9000");
        assert!("user@host:store".parse::<Repository>().is_err());
        assert!("host:notaport:store".parse::<Repository>().is_err());
        assert!("host:".parse::<Repository>().is_err());
        assert!("[::1:store".parse::<Repository>().is_err());
    }

    #[test]
    fn debug_redacts() {
        let c = Credentials::token("a@pbs!t", SecretString::from("s3cr3t-value"));
        let p = Credentials::password("a@pam", SecretString::from("hunter2"));
        assert!(!format!("{c:?}{p:?}").contains("s3cr3t"));
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[test]
    fn token_header_format() {
        let c = Credentials::token("a@pbs!t", SecretString::from("d63e:5a"));
        assert_eq!(
            c.token_header().unwrap().expose_secret(),
            "PBSAPIToken=a@pbs!t:d63e%3A5a"
        );
    }

    proptest::proptest! {
        #[test]
        fn repository_parse_never_panics(s in "\\PC{0,60}") {
            let _ = s.parse::<Repository>();
        }
    }
}
