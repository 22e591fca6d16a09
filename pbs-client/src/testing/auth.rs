//! Authentication of the fake PBS: API tokens, tickets with their CSRF tokens and renewal.

use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::http::{HeaderMap, Method, StatusCode, header};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::params::{ApiErr, Identity, Params, Reply, pct_decode};
use super::server::{
    AUDIT_TOKEN_ID, AUDIT_TOKEN_SECRET, PASSWORD, Shared, TOKEN_ID, TOKEN_SECRET, USER, now_epoch,
};
use super::state::TicketRecord;

pub(super) fn authenticate(
    shared: &Shared,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Identity, ApiErr> {
    let fail = |m: &str| {
        ApiErr(
            StatusCode::UNAUTHORIZED,
            format!("authentication failed - {m}"),
        )
    };
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().strip_prefix("PBSAuthCookie="))
        .next()
        .map(str::to_owned);
    if let Some(cookie) = cookie {
        let ticket = pct_decode(&cookie).ok_or_else(|| fail("invalid ticket"))?;
        let st = shared.lock();
        let rec = st
            .tickets
            .get(&ticket)
            .ok_or_else(|| fail("invalid ticket"))?;
        if rec.issued.elapsed() >= shared.config.ticket_lifetime {
            return Err(fail("ticket expired"));
        }
        if method != Method::GET {
            let csrf = headers
                .get("CSRFPreventionToken")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| fail("missing CSRF prevention token"))?;
            if csrf != rec.csrf {
                return Err(fail("invalid CSRF prevention token"));
            }
        }
        return Ok(Identity::Ticket {
            user: rec.user.clone(),
        });
    }
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| fail("no authentication credentials provided."))?;
    let rest = auth
        .strip_prefix("PBSAPIToken=")
        .or_else(|| auth.strip_prefix("PBSAPIToken "))
        .ok_or_else(|| fail("invalid authorization header"))?;
    let (id, secret) = rest.split_once(':').ok_or_else(|| fail("invalid token"))?;
    let secret = pct_decode(secret).ok_or_else(|| fail("invalid token"))?;
    match (id, secret.as_str()) {
        (TOKEN_ID, TOKEN_SECRET) => Ok(Identity::Token {
            id: id.to_owned(),
            audit_only: false,
        }),
        (AUDIT_TOKEN_ID, AUDIT_TOKEN_SECRET) => Ok(Identity::Token {
            id: id.to_owned(),
            audit_only: true,
        }),
        _ => Err(fail("invalid API token")),
    }
}

pub(super) fn create_ticket(shared: &Shared, params: &Params) -> Reply {
    let fail = || {
        ApiErr(
            StatusCode::UNAUTHORIZED,
            "permission check failed.".to_owned(),
        )
    };
    let username = params.req_str("username")?;
    let password = params.req_str("password")?;
    let mut st = shared.lock();
    let renewing = st
        .tickets
        .get(&password)
        .is_some_and(|r| r.user == username && r.issued.elapsed() < shared.config.ticket_lifetime);
    if renewing {
        shared.renewals.fetch_add(1, Ordering::Relaxed);
    } else if username == USER && password == PASSWORD {
        shared.logins.fetch_add(1, Ordering::Relaxed);
    } else {
        return Err(fail());
    }
    let epoch = now_epoch();
    let n = st.tickets.len();
    let data = format!("PBS:{username}:{epoch:08X}");
    let sig = hex::encode(Sha256::digest(
        [&shared.key[..], data.as_bytes(), &n.to_le_bytes()].concat(),
    ));
    let ticket = format!("{data}::{sig}");
    let csrf = format!(
        "{epoch:08X}:{}",
        &hex::encode(Sha256::digest(
            [&shared.key[..], ticket.as_bytes()].concat()
        ))[..43]
    );
    st.tickets.insert(
        ticket.clone(),
        TicketRecord {
            user: username.clone(),
            issued: Instant::now(),
            csrf: csrf.clone(),
        },
    );
    Ok(json!({"username": username, "ticket": ticket, "CSRFPreventionToken": csrf}).into())
}
