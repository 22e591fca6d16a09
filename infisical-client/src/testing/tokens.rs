//! Machine-identity logins, access tokens and their renewal, as Infisical models them.
//!
//! Sources (Infisical/infisical):
//! * `backend/src/services/identity-ua/identity-ua-service.ts` (`login`): a login creates one
//!   access-token row (TTL, max TTL, use-count limit) and signs a JWT whose `exp` is the TTL.
//! * `backend/src/services/identity-access-token/identity-access-token-service.ts`
//!   (`validateAccessTokenExp`, `renewAccessToken`, `fnValidateIdentityAccessToken`): every
//!   authenticated request counts one use; an exhausted use count answers 401
//!   `UnauthorizedError` on current servers and 400 `BadRequest` on older ones; renewal checks
//!   TTL and max TTL, then current servers sign a **new** JWT for the same row (the old JWT
//!   keeps its own `exp`), while older ones answered with the **same** JWT — whose `exp` the
//!   renewal cannot move, so it still expires at its original time.
//! * `backend/src/server/plugins/error-handler.ts`: a JWT that fails verification (expired,
//!   malformed) is 403 `TokenError`, before any row is looked at.

use serde_json::{Value, json};
use std::time::{Duration, Instant};

use super::server::{Reply, State, field};

/// One access-token row (`identity_access_tokens`).
pub(super) struct Row {
    issued: Instant,
    /// Creation or last renewal: the TTL counts from here.
    renewed: Instant,
    ttl: Option<Duration>,
    max_ttl: Duration,
    uses: u32,
    uses_limit: u32,
    revoked: bool,
}

/// One signed JWT pointing at a row.
pub(super) struct Jwt {
    row: usize,
    /// The JWT's own `exp` (none for tokens without a TTL).
    exp: Option<Instant>,
    /// Forced expiry ([`State::expire_all`]).
    expired: bool,
}

const MALFORMED: &str = "The provided access token is malformed. Please use a valid token or generate a new one and try again.";
const EXPIRED: &str = "Your token has expired. Please re-authenticate.";
const USES_EXHAUSTED: &str = "Unable to renew because access token number of uses limit reached";

impl State {
    fn new_jwt(&mut self, row: usize, exp: Option<Instant>) -> String {
        let n = self.next_id();
        // Shaped like a JWT; the value is random enough for tests, not a real signature.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let token = format!("eyJhbGciOiJIUzI1NiJ9.fake-{n}-{nanos:08x}.sig");
        self.tokens.insert(
            token.clone(),
            Jwt {
                row,
                exp,
                expired: self.issue_expired,
            },
        );
        token
    }

    pub(super) fn add_static_token(&mut self, token: &str) {
        let now = Instant::now();
        self.rows.push(Row {
            issued: now,
            renewed: now,
            ttl: None,
            max_ttl: Duration::ZERO,
            uses: 0,
            uses_limit: 0,
            revoked: false,
        });
        let row = self.rows.len() - 1;
        self.tokens.insert(
            token.into(),
            Jwt {
                row,
                exp: None,
                expired: false,
            },
        );
    }

    pub(super) fn expire_all(&mut self) {
        for t in self.tokens.values_mut() {
            t.expired = true;
        }
    }

    pub(super) fn revoke_all(&mut self) {
        for r in &mut self.rows {
            r.revoked = true;
        }
    }

    fn issue(&mut self, ttl: Duration, max_ttl: Duration, uses_limit: u32) -> Value {
        let now = Instant::now();
        self.rows.push(Row {
            issued: now,
            renewed: now,
            ttl: Some(ttl),
            max_ttl,
            uses: 0,
            uses_limit,
            revoked: false,
        });
        let row = self.rows.len() - 1;
        let exp = (!ttl.is_zero()).then(|| now + ttl);
        let token = self.new_jwt(row, exp);
        token_body(&token, ttl, max_ttl)
    }

    /// JWT verification, then the row checks of `validateAccessTokenExp` (without counting a use).
    fn check(&self, token: &str, now: Instant) -> Result<usize, Reply> {
        let Some(jwt) = self.tokens.get(token) else {
            return Err(Reply::error(403, "TokenError", MALFORMED));
        };
        if jwt.expired || jwt.exp.is_some_and(|exp| now >= exp) {
            return Err(Reply::error(403, "TokenError", EXPIRED));
        }
        let row = &self.rows[jwt.row];
        if row.revoked {
            return Err(Reply::error(
                401,
                "UnauthorizedError",
                "Failed to authorize revoked access token, access token is revoked",
            ));
        }
        if row.uses_limit > 0 && row.uses > 0 && row.uses >= row.uses_limit {
            return Err(if self.legacy_tokens {
                Reply::error(400, "BadRequest", USES_EXHAUSTED)
            } else {
                Reply::error(401, "UnauthorizedError", USES_EXHAUSTED)
            });
        }
        if let Some(ttl) = row.ttl
            && !ttl.is_zero()
            && now.duration_since(row.renewed) > ttl
        {
            return Err(Reply::error(
                401,
                "UnauthorizedError",
                "Failed to renew MI access token due to TTL expiration",
            ));
        }
        Ok(jwt.row)
    }
}

fn token_body(token: &str, ttl: Duration, max_ttl: Duration) -> Value {
    json!({
        "accessToken": token,
        "expiresIn": ttl.as_secs(),
        "accessTokenMaxTTL": max_ttl.as_secs(),
        "tokenType": "Bearer"
    })
}

/// `POST /api/v1/auth/universal-auth/login`.
pub(super) fn universal_login(st: &mut State, body: &Value) -> Reply {
    let (id, secret) = match (field(body, "clientId"), field(body, "clientSecret")) {
        (Ok(i), Ok(s)) => (i, s),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let found = st
        .identities
        .iter()
        .find(|i| !i.kubernetes && i.client_id.as_deref() == Some(id) && i.secret == secret)
        .map(|i| (i.ttl, i.max_ttl, i.uses_limit));
    match found {
        Some((ttl, max, uses)) => Reply::ok(st.issue(ttl, max, uses)),
        None => Reply::error(401, "UnauthorizedError", "Invalid credentials"),
    }
}

/// `POST /api/v1/auth/kubernetes-auth/login`.
pub(super) fn kubernetes_login(st: &mut State, body: &Value) -> Reply {
    let (id, jwt) = match (field(body, "identityId"), field(body, "jwt")) {
        (Ok(i), Ok(j)) => (i, j),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let Some(identity) = st.identities.iter().find(|i| i.kubernetes && i.id == id) else {
        return Reply::error(
            404,
            "NotFound",
            format!("Kubernetes auth method not found for identity with ID {id}"),
        );
    };
    if identity.secret != jwt {
        return Reply::error(
            401,
            "UnauthorizedError",
            "Access denied: K8s token review failed",
        );
    }
    let (ttl, max, uses) = (identity.ttl, identity.max_ttl, identity.uses_limit);
    Reply::ok(st.issue(ttl, max, uses))
}

/// `POST /api/v1/auth/token/renew`.
pub(super) fn renew(st: &mut State, body: &Value, now: Instant) -> Reply {
    let token = match field(body, "accessToken") {
        Ok(t) => t.to_owned(),
        Err(r) => return r,
    };
    let row_id = match st.check(&token, now) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let legacy = st.legacy_tokens;
    let row = &mut st.rows[row_id];
    let Some(ttl) = row.ttl else {
        return Reply::error(400, "BadRequest", "Unable to renew a token without a TTL");
    };
    if !row.max_ttl.is_zero() {
        let expires = row.issued + row.max_ttl;
        if now > expires {
            return Reply::error(
                401,
                "UnauthorizedError",
                "Failed to renew MI access token due to Max TTL expiration",
            );
        }
        if now + ttl > expires {
            return Reply::error(
                401,
                "UnauthorizedError",
                "Failed to renew MI access token past its Max TTL expiration",
            );
        }
    }
    row.renewed = now;
    let max_ttl = row.max_ttl;
    if legacy {
        // Older servers answer with the token they were given; its JWT `exp` is unchanged.
        return Reply::ok(token_body(&token, ttl, max_ttl));
    }
    let exp = (!ttl.is_zero()).then(|| now + ttl);
    let renewed = st.new_jwt(row_id, exp);
    Reply::ok(token_body(&renewed, ttl, max_ttl))
}

/// The auth plugin plus `fnValidateIdentityAccessToken`: checks the bearer token and counts one
/// use of its row.
pub(super) fn authenticate(
    st: &mut State,
    bearer: Option<&str>,
    now: Instant,
) -> Result<(), Reply> {
    let Some(bearer) = bearer else {
        return Err(Reply::error(
            401,
            "UnauthorizedError",
            "Missing Authorization Header in the request header.",
        ));
    };
    let row = st.check(bearer, now)?;
    st.rows[row].uses += 1;
    Ok(())
}
