//! Auth: universal, token, kubernetes; renewal; re-login on expiry; base URL and env handling.

use crate::{CLIENT_ID, CLIENT_SECRET, builder, client, fake};
use infisical_client::testing::FakeInfisical;
use infisical_client::{ApiErrorKind, Client, ClientBuilder, Error};
use secrecy::{ExposeSecret, SecretString};
use std::io::Write;
use std::time::Duration;

const LOGIN: &str = "/api/v1/auth/universal-auth/login";
const RENEW: &str = "/api/v1/auth/token/renew";
const V4: &str = "/api/v4/secrets";

#[tokio::test]
async fn universal_auth_logs_in_once_and_reuses_the_token() {
    let fake = fake().await;
    fake.with_secret("prod", "/app", "A", "1");
    let c = client(&fake);
    for _ in 0..3 {
        assert_eq!(c.list_secrets("/app").await.unwrap().len(), 1);
    }
    assert_eq!(fake.count(LOGIN), 1);
    let reqs = fake.requests();
    assert!(
        reqs.iter()
            .filter(|r| r.path == V4)
            .all(|r| r.authorized && r.status == 200)
    );
    let ua = reqs[0].user_agent.clone().unwrap_or_default();
    assert_eq!(
        ua,
        format!("infisical-client/{}", env!("CARGO_PKG_VERSION"))
    );
}

#[tokio::test]
async fn wrong_client_secret_is_a_typed_401() {
    let fake = fake().await;
    let c = Client::builder()
        .with_base_url(fake.base_url())
        .with_universal_auth(CLIENT_ID, SecretString::from("wrong"))
        .build()
        .unwrap();
    let err = c.login().await.unwrap_err();
    assert!(err.is_unauthenticated(), "{err}");
    assert_eq!(err.api_kind(), Some(&ApiErrorKind::Unauthorized));
    assert!(err.to_string().contains("Invalid credentials"), "{err}");
    // A failed login is not retried (client-secret lockout).
    assert_eq!(fake.count(LOGIN), 1);
}

#[tokio::test]
async fn given_token_is_used_as_is_and_never_relogs_in() {
    let fake = FakeInfisical::start().await.expect("fake Infisical starts");
    fake.with_token("tok-static-1")
        .with_secret("prod", "/app", "A", "1");
    let c = Client::builder()
        .with_base_url(fake.base_url())
        .with_token(SecretString::from("tok-static-1"))
        .with_project_id(fake.project_id())
        .with_environment("prod")
        .build()
        .unwrap();
    assert_eq!(c.auth_method(), "token");
    c.list_secrets("/app").await.unwrap();
    fake.revoke_tokens();
    let err = c.list_secrets("/app").await.unwrap_err();
    assert!(err.is_unauthenticated(), "{err}");
    assert_eq!(err.status(), Some(401));
    assert_eq!(fake.count("/api/v1/auth"), 0);
    assert_eq!(fake.count(V4), 2);
}

#[tokio::test]
async fn kubernetes_auth_reads_the_service_account_token_file() {
    let fake = FakeInfisical::start().await.expect("fake Infisical starts");
    let jwt = "eyJhbGciOiJSUzI1NiJ9.sa-token.sig";
    fake.with_kubernetes_identity("ident-velero", jwt)
        .with_secret("prod", "/backups/garage", "A", "1");
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "{jwt}").unwrap();
    let k8s = |path: &std::path::Path| {
        Client::builder()
            .with_base_url(fake.api_url())
            .with_kubernetes_auth("ident-velero", path)
            .with_project_id(fake.project_id())
            .with_environment("prod")
            .build()
            .unwrap()
    };
    let c = k8s(file.path());
    assert_eq!(c.list_secrets("/backups/garage").await.unwrap().len(), 1);
    assert_eq!(fake.count("/api/v1/auth/kubernetes-auth/login"), 1);

    // A token the cluster would not vouch for.
    let mut other = tempfile::NamedTempFile::new().unwrap();
    write!(other, "eyJ.other.sig").unwrap();
    let err = k8s(other.path()).login().await.unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");

    // No token file.
    let missing = file.path().with_extension("missing");
    let err = k8s(&missing).login().await.unwrap_err();
    assert!(matches!(err, Error::TokenFile { .. }), "{err}");
}

#[tokio::test]
async fn expired_token_triggers_exactly_one_relogin() {
    let fake = fake().await;
    fake.with_secret("prod", "/app", "A", "1");
    let c = client(&fake);
    c.list_secrets("/app").await.unwrap();
    fake.expire_tokens();
    c.list_secrets("/app").await.unwrap();
    assert_eq!(fake.count(LOGIN), 2);
    let statuses: Vec<(String, u16)> = fake
        .requests()
        .into_iter()
        .map(|r| (r.path, r.status))
        .collect();
    assert_eq!(
        statuses,
        [
            (LOGIN.to_owned(), 200),
            (V4.to_owned(), 200),
            (V4.to_owned(), 403),
            (LOGIN.to_owned(), 200),
            (V4.to_owned(), 200),
        ]
    );
}

#[tokio::test]
async fn a_token_rejected_again_after_relogin_is_an_error_not_a_loop() {
    let fake = FakeInfisical::start().await.expect("fake Infisical starts");
    // Tokens of this identity are dead on arrival.
    fake.with_identity(CLIENT_ID, CLIENT_SECRET)
        .issue_expired_tokens()
        .with_secret("prod", "/app", "A", "1");
    let err = client(&fake).list_secrets("/app").await.unwrap_err();
    assert_eq!(err.api_kind(), Some(&ApiErrorKind::TokenError), "{err}");
    assert!(err.to_string().contains("expired"), "{err}");
    assert_eq!(fake.count(LOGIN), 2);
    assert_eq!(fake.count(V4), 2);
}

#[tokio::test]
async fn token_is_renewed_before_it_expires() {
    let fake = FakeInfisical::start().await.expect("fake Infisical starts");
    fake.with_identity_ttl(
        CLIENT_ID,
        CLIENT_SECRET,
        Duration::from_secs(3),
        Duration::from_secs(600),
    )
    .with_secret("prod", "/app", "A", "1");
    let c = builder(&fake).with_refresh_at(0.5).build().unwrap();
    c.list_secrets("/app").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1600)).await;
    c.list_secrets("/app").await.unwrap();
    assert_eq!(fake.count(LOGIN), 1);
    assert_eq!(fake.count(RENEW), 1);
    // The renewed token is still good after its original lifetime.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    c.list_secrets("/app").await.unwrap();
    assert!(fake.requests().iter().all(|r| r.status == 200));
}

#[tokio::test]
async fn renewal_past_max_ttl_logs_in_again() {
    let fake = FakeInfisical::start().await.expect("fake Infisical starts");
    fake.with_identity_ttl(
        CLIENT_ID,
        CLIENT_SECRET,
        Duration::from_secs(2),
        Duration::from_secs(2),
    )
    .with_secret("prod", "/app", "A", "1");
    let c = builder(&fake).with_refresh_at(0.5).build().unwrap();
    c.list_secrets("/app").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    c.list_secrets("/app").await.unwrap();
    assert_eq!(fake.count(LOGIN), 2);
    assert_eq!(fake.count(RENEW), 0);
    assert!(fake.requests().iter().all(|r| r.status == 200));
}

#[tokio::test]
async fn base_url_works_with_and_without_api_and_from_cli_env_vars() {
    let fake = fake().await;
    fake.with_secret("prod", "/app", "A", "1");
    for url in [
        fake.base_url(),
        fake.api_url(),
        format!("{}/api/", fake.base_url()),
    ] {
        let c = builder(&fake).with_base_url(url).build().unwrap();
        c.list_secrets("/app").await.unwrap();
    }
    let mut vars = fake.env_vars(CLIENT_ID, CLIENT_SECRET);
    vars.push(("INFISICAL_ENVIRONMENT".into(), "prod".into()));
    let c = ClientBuilder::from_vars(vars).unwrap().build().unwrap();
    let s = c.list_secrets("/app").await.unwrap();
    assert_eq!(s.value("A").map(|v| v.expose_secret()), Some("1"));
    assert_eq!(c.base_url().as_str(), format!("{}/", fake.base_url()));
    // Every request went to /api/..., none to /api/api/...
    assert!(
        fake.requests()
            .iter()
            .all(|r| r.path.starts_with("/api/v") && r.status == 200)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_calls_share_one_login() {
    let fake = fake().await;
    fake.with_secret("prod", "/app", "A", "1");
    let c = client(&fake);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.list_secrets("/app").await.map(|s| s.len()) })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), 1);
    }
    assert_eq!(fake.count(LOGIN), 1);
    assert_eq!(fake.count(V4), 8);
}
