//! What the client costs on top of the HTTP round trip, against the fake Infisical on loopback.
//!
//! `cargo bench -p infisical-client --bench client`
//!
//! * `raw_get`: a bare reqwest GET of `/api/v4/secrets` (same query, same token), body read —
//!   the peer's own cost plus HTTP; the baseline.
//! * `list_secrets`: `Client::list_secrets` of the same folder (token check, the request,
//!   decoding into `SecretString`s, CLI-style import merging).
//! * `garage_cached`: `Client::garage_credentials` served from the bundle cache (no HTTP).

use criterion::{Criterion, criterion_group, criterion_main};
use infisical_client::Client;
use infisical_client::testing::FakeInfisical;
use secrecy::SecretString;
use std::hint::black_box;

const ID: &str = "bench-id";
const SECRET: &str = "bench-secret";

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let (fake, client, token) = rt.block_on(async {
        let fake = FakeInfisical::start().await.expect("fake Infisical starts");
        fake.with_identity(ID, SECRET);
        for i in 0..100 {
            fake.with_secret(
                "prod",
                "/bench",
                &format!("KEY_{i:03}"),
                &format!("value-{i}-{}", "x".repeat(40)),
            );
        }
        for i in 0..50 {
            fake.with_secret("prod", "/bench-base", &format!("BASE_{i:03}"), "base-value");
        }
        fake.with_import("prod", "/bench", "prod", "/bench-base");
        for k in ["ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "ADMIN_TOKEN"] {
            fake.with_secret("prod", "/backups/garage", k, "v");
        }
        fake.with_secret(
            "prod",
            "/backups/garage",
            "ENDPOINT",
            "http://127.0.0.1:3900",
        );
        let client = Client::builder()
            .with_base_url(fake.base_url())
            .with_universal_auth(ID, SecretString::from(SECRET))
            .with_project_id(fake.project_id())
            .with_environment("prod")
            .build()
            .expect("client");
        client.login().await.expect("login");
        let login: serde_json::Value = reqwest::Client::new()
            .post(format!(
                "{}/api/v1/auth/universal-auth/login",
                fake.base_url()
            ))
            .header("content-type", "application/json")
            .body(serde_json::json!({"clientId": ID, "clientSecret": SECRET}).to_string())
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("token");
        let token = login["accessToken"].as_str().unwrap_or_default().to_owned();
        (fake, client, token)
    });
    let raw = reqwest::Client::new();
    let url = format!(
        "{}/api/v4/secrets?projectId={}&environment=prod&secretPath=%2Fbench&viewSecretValue=true\
         &expandSecretReferences=true&recursive=false&includeImports=true&include_imports=true\
         &includePersonalOverrides=false",
        fake.base_url(),
        fake.project_id()
    );

    let mut g = c.benchmark_group("list_150_secrets");
    g.bench_function("raw_get", |b| {
        b.iter(|| {
            rt.block_on(async {
                let body = raw
                    .get(&url)
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("send")
                    .bytes()
                    .await
                    .expect("body");
                black_box(body.len())
            })
        })
    });
    g.bench_function("list_secrets", |b| {
        b.iter(|| {
            rt.block_on(async {
                black_box(client.list_secrets("/bench").await.expect("list").len())
            })
        })
    });
    g.finish();
    c.bench_function("garage_cached", |b| {
        rt.block_on(client.garage_credentials()).expect("prime");
        b.iter(|| {
            rt.block_on(async { black_box(client.garage_credentials().await.expect("cached")) })
        })
    });
    drop(fake);
}

criterion_group!(benches, bench);
criterion_main!(benches);
