//! Secrets: v4 with explicit flags, v3 fallback, imports, references, recursion, single-secret
//! reads (missing folders and unreadable values: `fidelity.rs`).

use crate::{builder, client, fake};
use infisical_client::{Error, SecretSource, SecretsQuery};
use secrecy::ExposeSecret;

fn val(s: &infisical_client::Secrets, key: &str) -> Option<String> {
    s.value(key).map(|v| v.expose_secret().to_owned())
}

#[tokio::test]
async fn v4_list_sends_every_flag_explicitly() {
    let fake = fake().await;
    fake.with_secret("prod", "/backups/garage", "A", "1");
    let c = client(&fake);
    c.list_secrets(
        SecretsQuery::new("backups/garage/")
            .recursive()
            .without_imports(),
    )
    .await
    .unwrap();
    let reqs = fake.requests();
    let r = reqs.iter().find(|r| r.path == "/api/v4/secrets").unwrap();
    assert_eq!(r.param("projectId"), Some(fake.project_id()));
    assert_eq!(r.param("environment"), Some("prod"));
    assert_eq!(r.param("secretPath"), Some("/backups/garage"));
    assert_eq!(r.param("recursive"), Some("true"));
    assert_eq!(r.param("includeImports"), Some("false"));
    assert_eq!(r.param("include_imports"), Some("false"));
    assert_eq!(r.param("expandSecretReferences"), Some("true"));
    assert_eq!(r.param("includePersonalOverrides"), Some("false"));
    assert_eq!(r.param("viewSecretValue"), Some("true"));
}

#[tokio::test]
async fn falls_back_to_v3_on_servers_without_v4_and_remembers() {
    let fake = fake().await;
    fake.disable_v4()
        .with_secret("prod", "/app", "A", "one")
        .with_secret("prod", "/app", "B", "two");
    let c = client(&fake);
    let s = c.list_secrets("/app").await.unwrap();
    assert_eq!(val(&s, "A").as_deref(), Some("one"));
    let one = c.get_secret("/app", "B").await.unwrap();
    assert_eq!(one.value.expose_secret(), "two");
    // Only the first call probed v4.
    assert_eq!(fake.count("/api/v4/"), 1);
    assert_eq!(fake.count("/api/v3/secrets/raw"), 2);
    let v3 = fake
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/v3/secrets/raw")
        .unwrap();
    assert_eq!(v3.param("workspaceId"), Some(fake.project_id()));
    assert_eq!(v3.param("include_imports"), Some("true"));
    assert_eq!(v3.param("expandSecretReferences"), Some("true"));
    assert_eq!(v3.param("recursive"), Some("false"));
}

#[tokio::test]
async fn v3_fallback_keeps_imports_and_references() {
    let fake = fake().await;
    fake.disable_v4()
        .with_secret("prod", "/shared", "S", "shared-val")
        .with_secret("prod", "/app", "R", "x-${prod.shared.S}-y")
        .with_import("prod", "/app", "prod", "/shared");
    let s = client(&fake).list_secrets("/app").await.unwrap();
    assert_eq!(val(&s, "S").as_deref(), Some("shared-val"));
    // v3 defaults to no expansion and no imports: both were asked for explicitly.
    assert_eq!(val(&s, "R").as_deref(), Some("x-shared-val-y"));
}

#[tokio::test]
async fn imports_merge_like_the_cli() {
    let fake = fake().await;
    fake.with_secret("prod", "/app", "A", "local")
        .with_secret("prod", "/base", "A", "base-a")
        .with_secret("prod", "/base", "B", "base-b")
        .with_secret("prod", "/base", "C", "base-c")
        .with_secret("staging", "/override", "B", "override-b")
        .with_import("prod", "/app", "prod", "/base")
        .with_import("prod", "/app", "staging", "/override");
    let c = client(&fake);
    let s = c.list_secrets("/app").await.unwrap();
    assert_eq!(val(&s, "A").as_deref(), Some("local"));
    assert_eq!(val(&s, "B").as_deref(), Some("override-b"));
    assert_eq!(val(&s, "C").as_deref(), Some("base-c"));
    assert_eq!(s.len(), 3);
    assert_eq!(
        s.get("B").unwrap().source,
        SecretSource::Imported {
            environment: "staging".into(),
            path: "/override".into()
        }
    );
    assert_eq!(s.get("A").unwrap().source, SecretSource::Local);
    // Imports switched off explicitly (the fake defaults v4 imports to on, like Infisical 2026).
    let own = c
        .list_secrets(SecretsQuery::new("/app").without_imports())
        .await
        .unwrap();
    assert_eq!(own.keys().collect::<Vec<_>>(), ["A"]);
    // A single read falls through to the imports too, last import first.
    let b = c.get_secret("/app", "B").await.unwrap();
    assert_eq!(b.value.expose_secret(), "override-b");
}

#[tokio::test]
async fn references_are_expanded_unless_switched_off() {
    let fake = fake().await;
    fake.with_secret(
        "prod",
        "/backups/garage",
        "ENDPOINT",
        "http://127.0.0.1:3900",
    )
    .with_secret("prod", "/app", "HOST", "db.lan")
    .with_secret(
        "prod",
        "/app",
        "URL",
        "postgres://${HOST}/x via ${prod.backups.garage.ENDPOINT}",
    );
    let c = client(&fake);
    let s = c.list_secrets("/app").await.unwrap();
    assert_eq!(
        val(&s, "URL").as_deref(),
        Some("postgres://db.lan/x via http://127.0.0.1:3900")
    );
    let raw = c
        .list_secrets(SecretsQuery::new("/app").without_reference_expansion())
        .await
        .unwrap();
    assert_eq!(
        val(&raw, "URL").as_deref(),
        Some("postgres://${HOST}/x via ${prod.backups.garage.ENDPOINT}")
    );
}

#[tokio::test]
async fn recursive_listing_includes_subfolders_with_their_paths() {
    let fake = fake().await;
    fake.with_secret("prod", "/backups", "TOP", "t")
        .with_secret("prod", "/backups/garage", "KEY", "g")
        .with_secret("prod", "/backups/pbs", "KEY", "p")
        .with_secret("prod", "/backupsX", "NOT", "n");
    let c = client(&fake);
    let flat = c.list_secrets("/backups").await.unwrap();
    assert_eq!(flat.keys().collect::<Vec<_>>(), ["TOP"]);
    let deep = c
        .list_secrets(SecretsQuery::new("/backups").recursive())
        .await
        .unwrap();
    let mut got: Vec<(String, String)> = deep
        .iter()
        .map(|s| (s.path.clone(), s.key.clone()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("/backups".to_owned(), "TOP".to_owned()),
            ("/backups/garage".to_owned(), "KEY".to_owned()),
            ("/backups/pbs".to_owned(), "KEY".to_owned()),
        ]
    );
}

#[tokio::test]
async fn get_secret_by_name() {
    let fake = fake().await;
    fake.with_secret("prod", "/app", "WITH SPACE", "v1")
        .with_secret("prod", "/app", "WITH SPACE", "v2")
        .with_secret("staging", "/app", "WITH SPACE", "stg");
    let c = client(&fake);
    let s = c.get_secret("/app", "WITH SPACE").await.unwrap();
    assert_eq!(s.value.expose_secret(), "v2");
    assert_eq!(s.version, Some(2));
    assert_eq!(s.path, "/app");
    assert_eq!(s.to_string(), "WITH SPACE (prod:/app)");
    let stg = c
        .get_secret(
            SecretsQuery::new("/app").with_environment("staging"),
            "WITH SPACE",
        )
        .await
        .unwrap();
    assert_eq!(stg.value.expose_secret(), "stg");
    let err = c.get_secret("/app", "NOPE").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(
        err.to_string()
            .contains("Secret with name 'NOPE' not found"),
        "{err}"
    );
}

#[tokio::test]
async fn project_and_environment_are_required_and_checked() {
    let fake = fake().await;
    fake.with_secret("prod", "/app", "A", "1");
    let c = builder(&fake).with_project_id("").build().unwrap();
    let err = c.list_secrets("/app").await.unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err}");
    assert!(fake.requests().is_empty(), "no request without a project");
    let err = client(&fake)
        .list_secrets(SecretsQuery::new("/app").with_project_id("nope"))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    // The project's missing, not the route: no v3 fallback.
    assert_eq!(fake.count("/api/v3"), 0);
    // An empty folder is empty, not an error.
    fake.with_folder("prod", "/nothing/here");
    let empty = client(&fake).list_secrets("/nothing/here").await.unwrap();
    assert!(empty.is_empty());
}
