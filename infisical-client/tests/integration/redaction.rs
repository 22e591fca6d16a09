//! Canary: no secret ever shows in Debug or Display of a public type, nor in an error chain.

use crate::{CLIENT_ID, builder};
use infisical_client::testing::FakeInfisical;
use infisical_client::{
    ApiErrorKind, Auth, Bundle, Client, ClientBuilder, EnvMap, Error, GarageCredentials,
    SecretKind, SecretsQuery,
};
use secrecy::SecretString;
use std::fmt::{Debug, Display};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

const CANARY: &str = "CANARY7f3a";

fn canary(tag: &str) -> String {
    format!("{CANARY}-{tag}")
}

#[track_caller]
fn assert_debug_clean<T: Debug>(what: &str, v: &T) {
    for s in [format!("{v:?}"), format!("{v:#?}")] {
        assert!(!s.contains(CANARY), "{what} Debug leaks: {s}");
    }
}

#[track_caller]
fn assert_display_clean<T: Display>(what: &str, v: &T) {
    let s = v.to_string();
    assert!(!s.contains(CANARY), "{what} Display leaks: {s}");
}

#[track_caller]
fn assert_error_clean(what: &str, e: &Error) {
    assert_debug_clean(what, e);
    assert_display_clean(what, e);
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        assert!(!s.to_string().contains(CANARY), "{what} source leaks: {s}");
        assert!(
            !format!("{s:?}").contains(CANARY),
            "{what} source Debug leaks: {s:?}"
        );
        source = s.source();
    }
}

/// Records every span field and event of this crate as text.
struct Capture {
    out: Arc<Mutex<String>>,
    ids: AtomicU64,
}

struct Visitor<'a>(&'a mut String);

impl tracing::field::Visit for Visitor<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn Debug) {
        use std::fmt::Write as _;
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl Capture {
    fn push(&self, f: impl FnOnce(&mut Visitor<'_>)) {
        let mut out = self.out.lock().unwrap();
        f(&mut Visitor(&mut out));
        out.push('\n');
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, m: &tracing::Metadata<'_>) -> bool {
        m.target().starts_with("infisical_client")
    }
    fn new_span(&self, attrs: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        self.push(|v| attrs.record(v));
        tracing::span::Id::from_u64(self.ids.fetch_add(1, Ordering::Relaxed))
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        self.push(|v| values.record(v));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, e: &tracing::Event<'_>) {
        self.push(|v| e.record(v));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test]
async fn no_public_type_prints_a_secret() {
    let logs = Arc::new(Mutex::new(String::new()));
    let _trace = tracing::subscriber::set_default(Capture {
        out: logs.clone(),
        ids: AtomicU64::new(1),
    });
    let fake = FakeInfisical::start().await.expect("fake Infisical starts");
    let client_secret = canary("client-secret");
    let static_token = canary("static-token");
    let jwt = canary("sa-jwt");
    fake.with_identity(CLIENT_ID, &client_secret)
        .with_token(&static_token)
        .with_kubernetes_identity("ident", &jwt)
        .with_secret("prod", "/backups/garage", "ACCESS_KEY_ID", &canary("akid"))
        .with_secret(
            "prod",
            "/backups/garage",
            "SECRET_ACCESS_KEY",
            &canary("sak"),
        )
        .with_secret(
            "prod",
            "/backups/garage",
            "ENDPOINT",
            "http://127.0.0.1:3900",
        )
        .with_secret("prod", "/backups/garage", "ADMIN_TOKEN", &canary("admin"))
        .with_secret("prod", "/app", "ONLY", &canary("only"))
        .with_hidden_secret("prod", "/hidden", "H");

    // Configuration types.
    let auths = [
        Auth::universal(CLIENT_ID, SecretString::from(client_secret.clone())),
        Auth::token(SecretString::from(static_token.clone())),
        Auth::kubernetes(
            "ident",
            "/var/run/secrets/kubernetes.io/serviceaccount/token",
        ),
    ];
    for a in &auths {
        assert_debug_clean("Auth", a);
    }
    let b =
        builder(&fake).with_universal_auth(CLIENT_ID, SecretString::from(client_secret.clone()));
    assert_debug_clean("ClientBuilder", &b);
    let from_env = ClientBuilder::from_vars(fake.env_vars(CLIENT_ID, &client_secret)).unwrap();
    assert_debug_clean("ClientBuilder::from_vars", &from_env);
    let c = b.build().unwrap();
    c.login().await.unwrap();
    assert_debug_clean("Client (after login)", &c);
    let q = SecretsQuery::new("/backups/garage");
    assert_debug_clean("SecretsQuery", &q);
    assert_debug_clean("FakeInfisical", &fake);

    // Secrets and bundles.
    let secrets = c.list_secrets("/backups/garage").await.unwrap();
    assert_debug_clean("Secrets", &secrets);
    for s in &secrets {
        assert_debug_clean("Secret", s);
        assert_display_clean("Secret", s);
        assert_debug_clean("SecretKind", &s.kind);
        assert_debug_clean("SecretSource", &s.source);
    }
    let one = c.get_secret("/app", "ONLY").await.unwrap();
    assert_debug_clean("Secret (get)", &one);
    let g: GarageCredentials = c.garage_credentials().await.unwrap();
    assert_debug_clean("GarageCredentials", &g);
    assert_debug_clean("EnvMap (raw)", &g.env_map());
    assert_debug_clean("EnvMap (aws)", &g.aws_env_map());
    let bundle: Bundle = c.bundle("/backups/garage", &["ADMIN_TOKEN"]).await.unwrap();
    assert_debug_clean("Bundle", &bundle);
    assert_debug_clean("EnvMap (bundle)", &bundle.to_env_map());
    assert_debug_clean("EnvMap (secrets)", &secrets.to_env_map());
    let mut manual = EnvMap::new();
    manual.insert("X", SecretString::from(canary("manual")));
    assert_debug_clean("EnvMap (manual)", &manual);
    assert_debug_clean("SecretKind::Unknown", &SecretKind::Unknown("x".into()));
    assert_debug_clean("ApiErrorKind", &ApiErrorKind::TokenError);
    assert_display_clean("ApiErrorKind", &ApiErrorKind::Other("x".into()));

    // Errors of every kind we can provoke.
    let mut errors: Vec<(&str, Error)> = Vec::new();
    let wrong = Client::builder()
        .with_base_url(fake.base_url())
        .with_universal_auth(CLIENT_ID, SecretString::from(canary("wrong-secret")))
        .build()
        .unwrap();
    errors.push(("Api 401", wrong.login().await.unwrap_err()));
    let bad_token = Client::builder()
        .with_base_url(fake.base_url())
        .with_token(SecretString::from(canary("bad-token")))
        .with_project_id(fake.project_id())
        .with_environment("prod")
        .build()
        .unwrap();
    errors.push(("Api 403", bad_token.list_secrets("/app").await.unwrap_err()));
    errors.push((
        "Api 403 readValue",
        c.list_secrets("/hidden").await.unwrap_err(),
    ));
    errors.push((
        "FolderNotFound",
        c.list_secrets("/no/such/folder").await.unwrap_err(),
    ));
    fake.remove_secret("prod", "/backups/garage", "ENDPOINT");
    c.clear_cache();
    errors.push(("MissingKeys", c.garage_credentials().await.unwrap_err()));
    fake.with_secret("prod", "/backups/garage", "ENDPOINT", &canary("not a url"));
    errors.push(("InvalidValue", c.garage_credentials().await.unwrap_err()));
    errors.push((
        "Config (env)",
        ClientBuilder::from_vars([("INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET", canary("env"))])
            .unwrap_err(),
    ));
    errors.push((
        "Config (url)",
        Client::builder()
            .with_base_url(format!("https://user:{}@infisical.lan", canary("url")))
            .with_token(SecretString::from("t"))
            .build()
            .unwrap_err(),
    ));
    let k8s = Client::builder()
        .with_base_url(fake.base_url())
        .with_kubernetes_auth("ident", format!("/nonexistent/{}", "token"))
        .build()
        .unwrap();
    errors.push(("TokenFile", k8s.login().await.unwrap_err()));
    fake.with_rate_limit(0, std::time::Duration::from_secs(60));
    let limited = builder(&fake)
        .with_universal_auth(CLIENT_ID, SecretString::from(client_secret.clone()))
        .with_retry(
            crate::retry()
                .with_backoff(crate::backoff().with_max_backoff(std::time::Duration::from_secs(1))),
        )
        .build()
        .unwrap();
    errors.push((
        "RateLimited",
        limited.list_secrets("/app").await.unwrap_err(),
    ));
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let unreachable = Client::builder()
        .with_base_url(format!("http://{closed}"))
        .with_universal_auth(CLIENT_ID, SecretString::from(client_secret.clone()))
        .with_retry(infisical_client::RetryConfig::disabled())
        .build()
        .unwrap();
    errors.push(("Transport", unreachable.login().await.unwrap_err()));

    let kinds: Vec<&str> = errors.iter().map(|(k, _)| *k).collect();
    for (what, e) in &errors {
        assert_error_clean(what, e);
    }
    let get = |label: &str| {
        &errors
            .iter()
            .find(|(k, _)| *k == label)
            .unwrap_or_else(|| panic!("no {label} in {kinds:?}"))
            .1
    };
    assert!(matches!(get("Api 401"), Error::Api { status: 401, .. }));
    assert!(matches!(get("Api 403"), Error::Api { status: 403, .. }));
    assert!(get("Api 403 readValue").is_permission_denied());
    assert!(matches!(
        get("FolderNotFound"),
        Error::FolderNotFound { .. }
    ));
    assert!(matches!(get("MissingKeys"), Error::MissingKeys { .. }));
    assert!(matches!(get("InvalidValue"), Error::InvalidValue { .. }));
    assert!(matches!(get("Config (env)"), Error::Config { .. }));
    assert!(matches!(get("Config (url)"), Error::Config { .. }));
    assert!(matches!(get("TokenFile"), Error::TokenFile { .. }));
    assert!(matches!(get("RateLimited"), Error::RateLimited { .. }));
    assert!(
        matches!(get("Transport"), Error::Transport { .. }),
        "{:?}",
        get("Transport")
    );

    // What went over the wire is visible to the fake; its log keeps no secret either.
    for r in fake.requests() {
        assert_debug_clean("RecordedRequest", &r);
    }

    // Nor do the client's own spans and events (requests, answers, logins, warnings).
    let logs = logs.lock().unwrap().clone();
    assert!(logs.contains("endpoint=GET /api/v4/secrets"), "{logs}");
    assert!(logs.contains("status=429"), "{logs}");
    assert!(!logs.contains(CANARY), "tracing output leaks: {logs}");
}
