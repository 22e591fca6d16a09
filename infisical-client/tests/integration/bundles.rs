//! Typed bundles: Garage credentials, missing keys, cache, env export, generic bundles.

use crate::{builder, client, fake, seed_garage};
use infisical_client::{Bundle, CredentialBundle, Error, SecretsQuery};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

#[tokio::test]
async fn garage_credentials_from_backups_garage() {
    let fake = fake().await;
    seed_garage(&fake);
    fake.with_secret("prod", "/backups/garage", "UNRELATED", "x");
    let g = client(&fake).garage_credentials().await.unwrap();
    assert_eq!(
        g.access_key_id.expose_secret(),
        "GK31c2f218a2e44f485b94239e"
    );
    assert!(g.secret_access_key.expose_secret().starts_with("b892c066"));
    assert_eq!(g.endpoint, "http://127.0.0.1:3900");
    assert_eq!(g.admin_token.expose_secret(), "adm-5bc5e2f8d0a94e6c");
    assert_eq!(
        (g.environment.as_str(), g.path.as_str()),
        ("prod", "/backups/garage")
    );
    // One list request, no per-key reads.
    assert_eq!(fake.count("/api/v4/secrets"), 1);
}

#[tokio::test]
async fn missing_keys_are_named_in_one_error() {
    let fake = fake().await;
    fake.with_secret("prod", "/backups/garage", "ACCESS_KEY_ID", "GK1");
    let err = client(&fake).garage_credentials().await.unwrap_err();
    assert_eq!(
        err.missing_keys(),
        ["SECRET_ACCESS_KEY", "ENDPOINT", "ADMIN_TOKEN"]
    );
    assert_eq!(
        err.to_string(),
        "GarageCredentials at /backups/garage lacks SECRET_ACCESS_KEY, ENDPOINT, ADMIN_TOKEN"
    );
}

#[tokio::test]
async fn bundles_are_cached_for_their_ttl() {
    let fake = fake().await;
    seed_garage(&fake);
    let c = builder(&fake)
        .with_cache_ttl(Duration::from_millis(300))
        .build()
        .unwrap();
    c.garage_credentials().await.unwrap();
    c.garage_credentials().await.unwrap();
    assert_eq!(fake.count("/api/v4/secrets"), 1);
    // A rotated key shows up once the entry is stale.
    fake.with_secret("prod", "/backups/garage", "SECRET_ACCESS_KEY", "rotated");
    tokio::time::sleep(Duration::from_millis(350)).await;
    let g = c.garage_credentials().await.unwrap();
    assert_eq!(g.secret_access_key.expose_secret(), "rotated");
    assert_eq!(fake.count("/api/v4/secrets"), 2);
    c.clear_cache();
    c.garage_credentials().await.unwrap();
    assert_eq!(fake.count("/api/v4/secrets"), 3);
    // A clone shares the cache.
    c.clone().garage_credentials().await.unwrap();
    assert_eq!(fake.count("/api/v4/secrets"), 3);

    let uncached = builder(&fake)
        .with_cache_ttl(Duration::ZERO)
        .build()
        .unwrap();
    uncached.garage_credentials().await.unwrap();
    uncached.garage_credentials().await.unwrap();
    assert_eq!(fake.count("/api/v4/secrets"), 5);
}

#[tokio::test]
async fn env_map_reaches_a_child_process() {
    let fake = fake().await;
    seed_garage(&fake);
    let g = client(&fake).garage_credentials().await.unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"printf '%s|%s|%s|%s' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_ENDPOINT_URL" "${ADMIN_TOKEN:-none}""#)
        .env_clear()
        .envs(g.aws_env_map().exposed())
        .output()
        .unwrap();
    let printed = String::from_utf8(out.stdout).unwrap();
    let expected = format!(
        "GK31c2f218a2e44f485b94239e|{}|http://127.0.0.1:3900|none",
        g.secret_access_key.expose_secret()
    );
    assert_eq!(printed, expected);
    let raw = g.env_map();
    assert_eq!(
        raw.names().collect::<Vec<_>>(),
        [
            "ACCESS_KEY_ID",
            "ADMIN_TOKEN",
            "ENDPOINT",
            "SECRET_ACCESS_KEY"
        ]
    );
}

#[tokio::test]
async fn generic_bundle_of_named_keys() {
    let fake = fake().await;
    fake.with_secret("prod", "/backups/restic", "RESTIC_PASSWORD", "pw")
        .with_secret(
            "prod",
            "/backups/restic",
            "RESTIC_REPOSITORY",
            "s3:http://127.0.0.1:3900/restic",
        )
        .with_secret("prod", "/backups/restic", "PATH", "/evil");
    let c = client(&fake);
    let b = c
        .bundle("/backups/restic", &["RESTIC_PASSWORD", "RESTIC_REPOSITORY"])
        .await
        .unwrap();
    assert_eq!(
        b.keys().collect::<Vec<_>>(),
        ["RESTIC_PASSWORD", "RESTIC_REPOSITORY"]
    );
    assert_eq!(
        b.get("RESTIC_PASSWORD").map(|v| v.expose_secret()),
        Some("pw")
    );
    assert_eq!(b.to_env_map().len(), 2);
    assert_eq!(b.to_map().len(), 2);
    let err = c
        .bundle("/backups/restic", &["RESTIC_PASSWORD", "NOPE1", "NOPE2"])
        .await
        .unwrap_err();
    assert_eq!(err.missing_keys(), ["NOPE1", "NOPE2"]);
    // A whole folder as an environment: reserved names are not exported.
    let env = c
        .list_secrets("/backups/restic")
        .await
        .unwrap()
        .to_env_map();
    assert_eq!(
        env.names().collect::<Vec<_>>(),
        ["RESTIC_PASSWORD", "RESTIC_REPOSITORY"]
    );
}

struct PbsToken {
    token_id: String,
    secret: SecretString,
}

impl CredentialBundle for PbsToken {
    const NAME: &'static str = "PbsToken";
    const DEFAULT_PATH: &'static str = "/backups/pbs";
    const KEYS: &'static [&'static str] = &["PBS_TOKEN_ID", "PBS_TOKEN_SECRET"];
    fn from_bundle(b: &Bundle) -> infisical_client::Result<Self> {
        Ok(Self {
            token_id: b.require("PBS_TOKEN_ID")?.expose_secret().to_owned(),
            secret: b.require("PBS_TOKEN_SECRET")?.clone(),
        })
    }
}

#[tokio::test]
async fn custom_typed_bundles_and_imported_keys() {
    let fake = fake().await;
    fake.with_secret("prod", "/backups/pbs", "PBS_TOKEN_ID", "backup@pbs!audit")
        .with_secret("prod", "/shared/pbs", "PBS_TOKEN_SECRET", "pbs-secret")
        .with_import("prod", "/backups/pbs", "prod", "/shared/pbs");
    let c = client(&fake);
    let t: PbsToken = c.fetch().await.unwrap();
    assert_eq!(t.token_id, "backup@pbs!audit");
    assert_eq!(t.secret.expose_secret(), "pbs-secret");
    // Same keys elsewhere: another environment, whose folder exists but is empty.
    fake.with_folder("staging", "/backups/pbs");
    let Err(err) = c
        .fetch_at::<PbsToken>(SecretsQuery::new("/backups/pbs").with_environment("staging"))
        .await
    else {
        panic!("staging has no PBS token");
    };
    assert!(
        matches!(err, Error::MissingKeys { ref bundle, .. } if bundle == "PbsToken"),
        "{err}"
    );
}

#[test]
fn fake_serves_while_the_test_thread_blocks() {
    // Runbook tests wait synchronously for a child process that talks to the fake: the fake
    // must not depend on the test's runtime.
    let fake =
        infisical_client::testing::FakeInfisical::start_blocking().expect("fake Infisical starts");
    fake.with_identity(crate::CLIENT_ID, crate::CLIENT_SECRET);
    seed_garage(&fake);
    let vars = fake.env_vars(crate::CLIENT_ID, crate::CLIENT_SECRET);
    let child = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut vars = vars;
            vars.push(("INFISICAL_ENVIRONMENT".into(), "prod".into()));
            let c = infisical_client::ClientBuilder::from_vars(vars)
                .unwrap()
                .build()
                .unwrap();
            c.garage_credentials().await.map(|g| g.endpoint)
        })
    });
    let endpoint = child.join().unwrap().unwrap();
    assert_eq!(endpoint, "http://127.0.0.1:3900");
}

#[tokio::test]
async fn the_fakes_client_builder_is_ready_to_use() {
    let fake = infisical_client::testing::FakeInfisical::start()
        .await
        .expect("fake Infisical starts");
    crate::seed_garage(&fake);
    let client = fake.client_builder().build().unwrap();
    assert_eq!(client.base_url().as_str(), format!("{}/", fake.base_url()));
    assert_eq!(client.auth_method(), "universal-auth");
    let garage = client.garage_credentials().await.unwrap();
    assert_eq!(
        garage.access_key_id.expose_secret(),
        "GK31c2f218a2e44f485b94239e"
    );
    let logins: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/auth/universal-auth/login")
        .map(|r| r.status)
        .collect();
    assert_eq!(logins, [200]);
    let list = fake
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/v4/secrets")
        .expect("a list request");
    assert_eq!(list.param("projectId"), Some(fake.project_id()));
    assert_eq!(list.param("environment"), Some("prod"));
}
