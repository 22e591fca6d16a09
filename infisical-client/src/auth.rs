//! [`Auth`], the configured login method, and access-token lifetime bookkeeping: when to
//! renew, when to log in again. Pure code; the clock is passed in.

use secrecy::SecretString;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::api::RawToken;

/// Where a pod's service-account token lives.
pub const DEFAULT_KUBERNETES_TOKEN_PATH: &str =
    "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// How the client authenticates.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Auth {
    /// Machine identity with Universal Auth: logs in with client id and secret, renews the
    /// access token before it expires and logs in again when renewal is no longer possible.
    UniversalAuth {
        /// The identity's client id.
        client_id: String,
        /// The client secret.
        client_secret: SecretString,
    },
    /// A ready access token (Token Auth, or one minted by `infisical login`), used as is; it
    /// cannot be renewed. (Legacy `st.` service tokens are not supported.)
    Token(SecretString),
    /// Machine identity with Kubernetes Auth: the pod's service-account JWT (read from
    /// `token_path` at every login, since kubelet rotates it) is exchanged for an access token.
    Kubernetes {
        /// The machine identity's id.
        identity_id: String,
        /// The service-account token file.
        token_path: PathBuf,
    },
}

impl Auth {
    /// Universal Auth.
    pub fn universal(client_id: impl Into<String>, client_secret: SecretString) -> Self {
        Self::UniversalAuth {
            client_id: client_id.into(),
            client_secret,
        }
    }

    /// A given access token.
    pub fn token(token: SecretString) -> Self {
        Self::Token(token)
    }

    /// Kubernetes Auth with the token at `token_path`.
    pub fn kubernetes(identity_id: impl Into<String>, token_path: impl Into<PathBuf>) -> Self {
        Self::Kubernetes {
            identity_id: identity_id.into(),
            token_path: token_path.into(),
        }
    }

    /// A short name for logs: `universal-auth`, `token`, `kubernetes-auth`.
    pub fn method_name(&self) -> &'static str {
        match self {
            Self::UniversalAuth { .. } => "universal-auth",
            Self::Token(_) => "token",
            Self::Kubernetes { .. } => "kubernetes-auth",
        }
    }
}

/// What to do with the current token before the next request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plan {
    /// The token is fresh enough.
    Use,
    /// Past the refresh point but still valid, and renewing stays within the max TTL.
    Renew,
    /// Log in again (no token, expired, or renewal would pass the max TTL).
    Login,
}

/// A token obtained by logging in (or renewing).
#[derive(Debug)]
pub(crate) struct TokenState {
    pub(crate) token: SecretString,
    /// When the current lifetime started (login or last renewal).
    pub(crate) since: Instant,
    /// When the token was first issued (login); the max TTL counts from here.
    pub(crate) issued: Instant,
    pub(crate) ttl: Duration,
    /// Zero when the server did not say.
    pub(crate) max_ttl: Duration,
    /// False for a given token: use as is, never renew.
    pub(crate) managed: bool,
}

impl TokenState {
    pub(crate) fn from_login(raw: RawToken, now: Instant) -> Self {
        Self {
            token: raw.access_token,
            since: now,
            issued: now,
            ttl: Duration::from_secs(raw.expires_in),
            max_ttl: Duration::from_secs(raw.access_token_max_ttl),
            managed: true,
        }
    }

    pub(crate) fn given(token: SecretString, now: Instant) -> Self {
        Self {
            token,
            since: now,
            issued: now,
            ttl: Duration::ZERO,
            max_ttl: Duration::ZERO,
            managed: false,
        }
    }

    /// Applies a renewal answer (same token, new lifetime).
    pub(crate) fn renewed(&mut self, raw: RawToken, now: Instant) {
        self.token = raw.access_token;
        self.since = now;
        self.ttl = Duration::from_secs(raw.expires_in);
        if raw.access_token_max_ttl > 0 {
            self.max_ttl = Duration::from_secs(raw.access_token_max_ttl);
        }
    }

    pub(crate) fn plan(&self, now: Instant, refresh_at: f64) -> Plan {
        if !self.managed {
            return Plan::Use;
        }
        if self.ttl.is_zero() {
            // A token without a stated lifetime: use it until the server says it expired.
            return Plan::Use;
        }
        let age = now.saturating_duration_since(self.since);
        if age >= self.ttl {
            return Plan::Login;
        }
        if age < self.ttl.mul_f64(refresh_at) {
            return Plan::Use;
        }
        // Renewal extends by `ttl` from now; it fails once that would pass the max TTL.
        if self.max_ttl.is_zero()
            || now.saturating_duration_since(self.issued) + self.ttl <= self.max_ttl
        {
            Plan::Renew
        } else {
            Plan::Login
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(ttl: u64, max: u64, t0: Instant) -> TokenState {
        TokenState::from_login(
            RawToken {
                access_token: SecretString::from("t"),
                expires_in: ttl,
                access_token_max_ttl: max,
                token_type: None,
            },
            t0,
        )
    }

    #[test]
    fn plans_follow_the_lifetime() {
        let t0 = Instant::now();
        let s = state(100, 1000, t0);
        assert_eq!(s.plan(t0, 0.7), Plan::Use);
        assert_eq!(s.plan(t0 + Duration::from_secs(69), 0.7), Plan::Use);
        assert_eq!(s.plan(t0 + Duration::from_secs(71), 0.7), Plan::Renew);
        assert_eq!(s.plan(t0 + Duration::from_secs(100), 0.7), Plan::Login);
    }

    #[test]
    fn renewal_past_max_ttl_logs_in() {
        let t0 = Instant::now();
        let s = state(100, 150, t0);
        // At 71 s, renewing would run to 171 s > 150 s.
        assert_eq!(s.plan(t0 + Duration::from_secs(71), 0.7), Plan::Login);
        // Unknown max TTL: try to renew.
        let s = state(100, 0, t0);
        assert_eq!(s.plan(t0 + Duration::from_secs(71), 0.7), Plan::Renew);
    }

    #[test]
    fn renewal_resets_the_clock_but_not_max_ttl() {
        let t0 = Instant::now();
        let mut s = state(100, 250, t0);
        let t1 = t0 + Duration::from_secs(80);
        s.renewed(
            RawToken {
                access_token: SecretString::from("t"),
                expires_in: 100,
                access_token_max_ttl: 250,
                token_type: None,
            },
            t1,
        );
        assert_eq!(s.plan(t1 + Duration::from_secs(10), 0.7), Plan::Use);
        // 80 + 71 = 151 s since issue; renewing to 251 s passes 250 s.
        assert_eq!(s.plan(t1 + Duration::from_secs(71), 0.7), Plan::Login);
    }

    #[test]
    fn given_tokens_are_used_as_is() {
        let t0 = Instant::now();
        let s = TokenState::given(SecretString::from("x"), t0);
        assert_eq!(s.plan(t0 + Duration::from_secs(1_000_000), 0.7), Plan::Use);
    }
}
