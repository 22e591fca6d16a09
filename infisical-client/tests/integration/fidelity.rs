//! Behaviours where the fake must answer as Infisical does (issue: fake fidelity), and the
//! client's handling of each: missing folders, values the identity may not read, use-count
//! limits and token renewal on current and older servers.

use crate::{CLIENT_ID, CLIENT_SECRET, builder, client, fake, seed_garage};
use infisical_client::testing::FakeInfisical;
use infisical_client::{ApiErrorKind, Error, SecretsQuery};
use secrecy::ExposeSecret;
use std::time::Duration;

const LOGIN: &str = "/api/v1/auth/universal-auth/login";
const RENEW: &str = "/api/v1/auth/token/renew";

#[tokio::test]
async fn a_missing_folder_is_a_typed_error_naming_the_path_not_missing_keys() {
    let fake = fake().await;
    seed_garage(&fake);
    fake.with_folder("prod", "/empty");
    let c = client(&fake);
    // A mistyped bundle folder: the server says 404 SecretPathNotFound.
    let err = c
        .fetch_at::<infisical_client::GarageCredentials>("/backups/garrage")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::FolderNotFound { path, environment } if path == "/backups/garrage" && environment == "prod"),
        "{err:?}"
    );
    assert!(err.is_not_found(), "{err}");
    assert!(err.missing_keys().is_empty());
    assert!(err.to_string().contains("/backups/garrage"), "{err}");
    let reqs = fake.requests();
    let last = reqs.last().unwrap();
    assert_eq!(last.status, 404);
    // No v3 fallback: the route exists, the folder does not.
    assert_eq!(fake.count("/api/v3"), 0);
    // Same for a recursive listing, a single read and an unknown environment.
    let err = c
        .list_secrets(SecretsQuery::new("/nope").recursive())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::FolderNotFound { .. }), "{err:?}");
    let err = c.get_secret("/nope/deeper", "KEY").await.unwrap_err();
    assert!(
        matches!(&err, Error::FolderNotFound { path, .. } if path == "/nope/deeper"),
        "{err:?}"
    );
    let err = c
        .list_secrets(SecretsQuery::new("/").with_environment("prdo"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::FolderNotFound { environment, .. } if environment == "prdo"),
        "{err:?}"
    );
    // An existing empty folder is empty, and parents of folders exist.
    assert!(c.list_secrets("/empty").await.unwrap().is_empty());
    assert!(c.list_secrets("/backups").await.unwrap().is_empty());
    // On a server without v4 the v3 route answers the same way.
    fake.disable_v4();
    let v3 = client(&fake);
    let err = v3.list_secrets("/backups/garrage").await.unwrap_err();
    assert!(matches!(err, Error::FolderNotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn unreadable_values_fail_closed_local_403_and_imports_left_out() {
    let fake = fake().await;
    fake.with_secret("prod", "/app", "OK", "fine")
        .with_hidden_secret("prod", "/app", "LOCKED")
        .with_secret("prod", "/app/sub", "SUB_OK", "s")
        .with_hidden_secret("prod", "/app/sub", "SUB_LOCKED")
        .with_secret("prod", "/base", "READABLE", "r")
        .with_hidden_secret("prod", "/base", "IMPORTED_LOCKED")
        .with_folder("prod", "/other")
        .with_import("prod", "/other", "prod", "/base");
    let c = client(&fake);
    // The folder's own unreadable secret fails the whole listing: 403 PermissionDenied.
    let err = c.list_secrets("/app").await.unwrap_err();
    assert!(err.is_permission_denied(), "{err:?}");
    assert_eq!(err.status(), Some(403));
    assert_eq!(err.api_kind(), Some(&ApiErrorKind::PermissionDenied));
    assert!(!err.to_string().contains("real-but-hidden"));
    // Reading it by name: 403 ForbiddenReadSecretError, a permission error too.
    let err = c.get_secret("/app", "LOCKED").await.unwrap_err();
    assert!(err.is_permission_denied(), "{err:?}");
    assert!(err.to_string().contains("LOCKED"), "{err}");
    // An imported unreadable secret is silently left out by the server...
    let other = c.list_secrets("/other").await.unwrap();
    assert_eq!(other.keys().collect::<Vec<_>>(), ["READABLE"]);
    // ...so a bundle needing it fails as missing, never with a value.
    let err = c
        .bundle("/other", &["READABLE", "IMPORTED_LOCKED"])
        .await
        .unwrap_err();
    assert_eq!(err.missing_keys(), ["IMPORTED_LOCKED"]);
    // A recursive listing of a parent leaves the subfolder's unreadable secret out, but the
    // parent's own unreadable one still fails it.
    fake.with_secret("prod", "/parent/sub", "SUB_OK", "s")
        .with_hidden_secret("prod", "/parent/sub", "SUB_LOCKED");
    let deep = c
        .list_secrets(SecretsQuery::new("/parent").recursive())
        .await
        .unwrap();
    assert_eq!(deep.keys().collect::<Vec<_>>(), ["SUB_OK"]);
    let err = c
        .list_secrets(SecretsQuery::new("/app").recursive())
        .await
        .unwrap_err();
    assert!(err.is_permission_denied(), "{err:?}");
    // The readable secret alone reads fine.
    let ok = c.get_secret("/app", "OK").await.unwrap();
    assert_eq!(ok.value.expose_secret(), "fine");
}

#[tokio::test]
async fn exhausted_use_count_logs_in_again_on_current_servers() {
    let fake = fake().await;
    fake.with_token_uses_limit(CLIENT_ID, 2)
        .with_secret("prod", "/app", "A", "1");
    let c = client(&fake);
    for _ in 0..3 {
        c.list_secrets("/app").await.unwrap();
    }
    assert_eq!(fake.count(LOGIN), 2);
    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert!(statuses.contains(&401), "{statuses:?}");
}

#[tokio::test]
async fn exhausted_use_count_logs_in_again_on_older_servers_answering_400() {
    let fake = fake().await;
    fake.legacy_tokens()
        .with_token_uses_limit(CLIENT_ID, 2)
        .with_secret("prod", "/app", "A", "1");
    let c = client(&fake);
    for _ in 0..3 {
        c.list_secrets("/app").await.unwrap();
    }
    assert_eq!(fake.count(LOGIN), 2);
    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert!(statuses.contains(&400), "{statuses:?}");
    // A plain 400 (a bad request) is not a reason to log in again.
    fake.fail_next(1, 400);
    let err = c.list_secrets("/app").await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(fake.count(LOGIN), 2);
}

async fn renew_scenario(fake: &FakeInfisical) {
    // TTL 4 s, renewal from 2.4 s on: renew at 2.7 s, then read at 4.5 s — past the first
    // token's original expiry (4 s), before the next renewal point (2.7 + 2.4 s).
    fake.with_identity_ttl(
        CLIENT_ID,
        CLIENT_SECRET,
        Duration::from_secs(4),
        Duration::from_secs(600),
    )
    .with_secret("prod", "/app", "A", "1");
    let c = builder(fake).with_refresh_at(0.6).build().unwrap();
    c.list_secrets("/app").await.unwrap();
    tokio::time::sleep(Duration::from_millis(2700)).await;
    c.list_secrets("/app").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1800)).await;
    c.list_secrets("/app").await.unwrap();
    let statuses: Vec<(String, u16)> = fake
        .requests()
        .iter()
        .map(|r| (r.path.clone(), r.status))
        .collect();
    assert!(
        statuses.iter().all(|(_, s)| *s == 200),
        "no request may be refused: {statuses:?}"
    );
}

#[tokio::test]
async fn renewal_uses_the_new_token_current_servers_sign() {
    let fake = FakeInfisical::start().await.expect("fake Infisical starts");
    renew_scenario(&fake).await;
    assert_eq!(fake.count(LOGIN), 1);
    assert_eq!(fake.count(RENEW), 1);
}

#[tokio::test]
async fn renewal_on_older_servers_that_return_the_same_token_logs_in_instead() {
    let fake = FakeInfisical::start().await.expect("fake Infisical starts");
    fake.legacy_tokens();
    renew_scenario(&fake).await;
    // The renewal could not move the token's expiry: the client logged in instead, and did
    // not try renewing again.
    assert_eq!(fake.count(RENEW), 1);
    assert_eq!(fake.count(LOGIN), 2);
}

#[tokio::test]
async fn the_fake_expires_an_old_token_at_its_own_time_after_renewal() {
    // The fake's model, checked directly: after a renewal the old token still expires at its
    // original time (current servers) and the same token keeps its expiry (older servers).
    for legacy in [false, true] {
        let fake = FakeInfisical::start().await.expect("fake Infisical starts");
        fake.with_identity_ttl(
            CLIENT_ID,
            CLIENT_SECRET,
            Duration::from_secs(2),
            Duration::from_secs(600),
        )
        .with_secret("prod", "/app", "A", "1");
        if legacy {
            fake.legacy_tokens();
        }
        let http = reqwest::Client::new();
        let login: serde_json::Value = http
            .post(format!("{}{LOGIN}", fake.base_url()))
            .json(&serde_json::json!({"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let old = login["accessToken"].as_str().unwrap().to_owned();
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let renewed: serde_json::Value = http
            .post(format!("{}{RENEW}", fake.base_url()))
            .json(&serde_json::json!({"accessToken": old}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let new = renewed["accessToken"].as_str().unwrap().to_owned();
        assert_eq!(new == old, legacy, "legacy={legacy}");
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let list = |t: String| {
            http.get(format!(
                "{}/api/v4/secrets?projectId={}&environment=prod&secretPath=/app",
                fake.base_url(),
                fake.project_id()
            ))
            .bearer_auth(t)
            .send()
        };
        assert_eq!(list(old.clone()).await.unwrap().status().as_u16(), 403);
        let expect_new = if legacy { 403 } else { 200 };
        assert_eq!(list(new).await.unwrap().status().as_u16(), expect_new);
    }
}
