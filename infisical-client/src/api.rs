//! Request building and response types: plain code, no network.
//!
//! Every request the client sends is an [`ApiRequest`] built here; the transport turns it into
//! HTTP. Response bodies are parsed into the `Raw*` types, which ignore unknown fields.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::fmt;

use crate::error::{ApiErrorKind, Error, Result};
use crate::secrets::{Secret, SecretKind, SecretSource, Secrets, normalize_secret_path};

/// The literal Infisical puts in `secretValue` when the identity may not read the value.
pub const HIDDEN_VALUE: &str = "<hidden-by-infisical>";

/// HTTP method of an [`ApiRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
}

impl Method {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
        }
    }
}

/// One request, before it meets the network.
pub(crate) struct ApiRequest {
    pub(crate) method: Method,
    /// Path segments below the base URL, e.g. `["api", "v4", "secrets", "NAME"]` (each is
    /// percent-encoded by the transport, so a secret name can never escape its segment).
    pub(crate) segments: Vec<String>,
    pub(crate) query: Vec<(&'static str, String)>,
    /// JSON body; wrapped because login bodies carry credentials.
    pub(crate) body: Option<SecretString>,
    /// Safe to resend after a 5xx or a connection error.
    pub(crate) idempotent: bool,
}

impl fmt::Debug for ApiRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiRequest")
            .field("endpoint", &self.endpoint())
            .field("query", &self.query)
            .field("body", &self.body.as_ref().map(|_| "[REDACTED]"))
            .finish()
    }
}

impl ApiRequest {
    fn get(segments: &[&str]) -> Self {
        Self {
            method: Method::Get,
            segments: segments.iter().map(|s| (*s).to_owned()).collect(),
            query: Vec::new(),
            body: None,
            idempotent: true,
        }
    }

    fn post_json(segments: &[&str], body: serde_json::Value) -> Self {
        Self {
            method: Method::Post,
            segments: segments.iter().map(|s| (*s).to_owned()).collect(),
            query: Vec::new(),
            body: Some(SecretString::from(body.to_string())),
            idempotent: false,
        }
    }

    /// `METHOD /path` for errors and spans: no query, no body, no host.
    pub(crate) fn endpoint(&self) -> String {
        format!("{} /{}", self.method.as_str(), self.segments.join("/"))
    }

    /// The value of a query parameter (tests and the fake's assertions).
    #[cfg(test)]
    pub(crate) fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn flag(b: bool) -> String {
    if b { "true" } else { "false" }.to_owned()
}

// ---------------------------------------------------------------------------------------------
// Auth

/// `POST /api/v1/auth/universal-auth/login`.
pub(crate) fn universal_auth_login(client_id: &str, client_secret: &SecretString) -> ApiRequest {
    ApiRequest::post_json(
        &["api", "v1", "auth", "universal-auth", "login"],
        serde_json::json!({ "clientId": client_id, "clientSecret": client_secret.expose_secret() }),
    )
}

/// `POST /api/v1/auth/kubernetes-auth/login`.
pub(crate) fn kubernetes_auth_login(identity_id: &str, jwt: &SecretString) -> ApiRequest {
    ApiRequest::post_json(
        &["api", "v1", "auth", "kubernetes-auth", "login"],
        serde_json::json!({ "identityId": identity_id, "jwt": jwt.expose_secret() }),
    )
}

/// `POST /api/v1/auth/token/renew`.
pub(crate) fn renew_token(token: &SecretString) -> ApiRequest {
    ApiRequest::post_json(
        &["api", "v1", "auth", "token", "renew"],
        serde_json::json!({ "accessToken": token.expose_secret() }),
    )
}

/// The four-field answer of every login and of renew.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawToken {
    pub(crate) access_token: SecretString,
    /// Seconds.
    #[serde(default)]
    pub(crate) expires_in: u64,
    /// Seconds; 0 means the server did not say.
    #[serde(default, rename = "accessTokenMaxTTL")]
    pub(crate) access_token_max_ttl: u64,
    #[serde(default)]
    #[allow(dead_code)]
    pub(crate) token_type: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Secrets

/// Where and how to read secrets, resolved against the client's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scope<'a> {
    pub(crate) project_id: &'a str,
    pub(crate) environment: &'a str,
    pub(crate) path: &'a str,
    pub(crate) recursive: bool,
    pub(crate) include_imports: bool,
    pub(crate) expand_references: bool,
}

/// `GET /api/v4/secrets`: every boolean sent explicitly (v4 changed its defaults in 2026), and
/// the imports flag under both its new (`includeImports`) and old (`include_imports`) names.
pub(crate) fn list_secrets_v4(s: &Scope<'_>) -> ApiRequest {
    let mut r = ApiRequest::get(&["api", "v4", "secrets"]);
    r.query = vec![
        ("projectId", s.project_id.to_owned()),
        ("environment", s.environment.to_owned()),
        ("secretPath", s.path.to_owned()),
        ("viewSecretValue", flag(true)),
        ("expandSecretReferences", flag(s.expand_references)),
        ("recursive", flag(s.recursive)),
        ("includeImports", flag(s.include_imports)),
        ("include_imports", flag(s.include_imports)),
        ("includePersonalOverrides", flag(false)),
    ];
    r
}

/// `GET /api/v3/secrets/raw` for servers without v4.
pub(crate) fn list_secrets_v3(s: &Scope<'_>) -> ApiRequest {
    let mut r = ApiRequest::get(&["api", "v3", "secrets", "raw"]);
    r.query = vec![
        ("workspaceId", s.project_id.to_owned()),
        ("environment", s.environment.to_owned()),
        ("secretPath", s.path.to_owned()),
        ("viewSecretValue", flag(true)),
        ("expandSecretReferences", flag(s.expand_references)),
        ("recursive", flag(s.recursive)),
        ("include_imports", flag(s.include_imports)),
    ];
    r
}

/// `GET /api/v4/secrets/{name}` (shared secret).
pub(crate) fn get_secret_v4(s: &Scope<'_>, name: &str) -> ApiRequest {
    let mut r = ApiRequest::get(&["api", "v4", "secrets", name]);
    r.query = vec![
        ("projectId", s.project_id.to_owned()),
        ("environment", s.environment.to_owned()),
        ("secretPath", s.path.to_owned()),
        ("type", "shared".to_owned()),
        ("viewSecretValue", flag(true)),
        ("expandSecretReferences", flag(s.expand_references)),
        ("includeImports", flag(s.include_imports)),
        ("include_imports", flag(s.include_imports)),
    ];
    r
}

/// `GET /api/v3/secrets/raw/{name}` (shared secret).
pub(crate) fn get_secret_v3(s: &Scope<'_>, name: &str) -> ApiRequest {
    let mut r = ApiRequest::get(&["api", "v3", "secrets", "raw", name]);
    r.query = vec![
        ("workspaceId", s.project_id.to_owned()),
        ("environment", s.environment.to_owned()),
        ("secretPath", s.path.to_owned()),
        ("type", "shared".to_owned()),
        ("viewSecretValue", flag(true)),
        ("expandSecretReferences", flag(s.expand_references)),
        ("include_imports", flag(s.include_imports)),
    ];
    r
}

/// A secret as the server sends it (v3 and v4 share the shape). Unknown fields are ignored.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawSecret {
    pub(crate) secret_key: String,
    #[serde(default)]
    pub(crate) secret_value: Option<SecretString>,
    #[serde(default)]
    pub(crate) secret_value_hidden: bool,
    #[serde(default)]
    pub(crate) secret_comment: Option<String>,
    #[serde(default)]
    pub(crate) secret_path: Option<String>,
    #[serde(default)]
    pub(crate) environment: Option<String>,
    #[serde(default)]
    pub(crate) version: Option<i64>,
    #[serde(default, rename = "type")]
    pub(crate) kind: Option<String>,
}

impl RawSecret {
    fn is_hidden(&self) -> bool {
        self.secret_value_hidden
            || self
                .secret_value
                .as_ref()
                .is_some_and(|v| v.expose_secret() == HIDDEN_VALUE)
    }
}

/// One import block of a list answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawImport {
    #[serde(default)]
    pub(crate) secret_path: String,
    #[serde(default)]
    pub(crate) environment: String,
    #[serde(default)]
    pub(crate) secrets: Vec<RawSecret>,
}

/// `{secrets, imports?}`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawList {
    pub(crate) secrets: Vec<RawSecret>,
    #[serde(default)]
    pub(crate) imports: Option<Vec<RawImport>>,
}

/// `{secret}`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawOne {
    pub(crate) secret: RawSecret,
}

/// Infisical's JSON error body. `message` is a string, or an array of zod issues for 422.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawError {
    #[serde(default)]
    pub(crate) req_id: Option<String>,
    #[serde(default)]
    pub(crate) message: serde_json::Value,
    #[serde(default)]
    pub(crate) error: Option<String>,
}

/// Builds the typed error for a non-success answer.
pub(crate) fn api_error(endpoint: String, status: u16, body: &[u8]) -> Error {
    let parsed: Option<RawError> = serde_json::from_slice(body).ok();
    let (kind, message, req_id) = match parsed {
        Some(e) => {
            let message = match e.message {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            let name = e.error.unwrap_or_default();
            (ApiErrorKind::from_name(&name, status), message, e.req_id)
        }
        None => {
            let text = String::from_utf8_lossy(body);
            let text: String = text.chars().take(200).collect();
            // Not Infisical's own error body: for a 404 that means the route is unknown to
            // whatever answered (an older server behind a proxy, say).
            let kind = if status == 404 {
                ApiErrorKind::RouteNotFound
            } else {
                ApiErrorKind::Other(String::new())
            };
            (kind, text, None)
        }
    };
    Error::Api {
        endpoint,
        status,
        kind,
        message,
        req_id,
    }
}

// ---------------------------------------------------------------------------------------------
// Turning raw answers into public secrets

fn to_secret(
    raw: RawSecret,
    default_env: &str,
    default_path: &str,
    source: SecretSource,
) -> Secret {
    let value = raw
        .secret_value
        .unwrap_or_else(|| SecretString::from(String::new()));
    Secret {
        key: raw.secret_key,
        value,
        path: raw
            .secret_path
            .map(|p| normalize_secret_path(&p))
            .unwrap_or_else(|| default_path.to_owned()),
        environment: raw.environment.unwrap_or_else(|| default_env.to_owned()),
        version: raw.version,
        kind: SecretKind::from_api(raw.kind.as_deref()),
        comment: raw.secret_comment.filter(|c| !c.is_empty()),
        source,
    }
}

/// Fails if any secret (local or imported) has its value hidden, naming every such key.
fn check_hidden<'a>(path: &str, all: impl Iterator<Item = &'a RawSecret>) -> Result<()> {
    let keys: Vec<String> = all
        .filter(|s| s.is_hidden())
        .map(|s| s.secret_key.clone())
        .collect();
    if keys.is_empty() {
        Ok(())
    } else {
        Err(Error::HiddenValue {
            path: path.to_owned(),
            keys,
        })
    }
}

/// Merges a list answer the way the Infisical CLI does: the folder's own secrets win; then the
/// imports are walked from the last to the first, and the first time a key is seen wins (so a
/// later import overrides an earlier one).
pub(crate) fn merge_list(raw: RawList, environment: &str, path: &str) -> Result<Secrets> {
    let imports = raw.imports.unwrap_or_default();
    check_hidden(
        path,
        raw.secrets
            .iter()
            .chain(imports.iter().flat_map(|i| i.secrets.iter())),
    )?;
    let mut items: Vec<Secret> = raw
        .secrets
        .into_iter()
        .map(|s| to_secret(s, environment, path, SecretSource::Local))
        .collect();
    let mut seen: std::collections::HashSet<String> = items.iter().map(|s| s.key.clone()).collect();
    for import in imports.into_iter().rev() {
        let import_path = normalize_secret_path(&import.secret_path);
        let source = SecretSource::Imported {
            environment: import.environment.clone(),
            path: import_path.clone(),
        };
        for s in import.secrets {
            if seen.insert(s.secret_key.clone()) {
                items.push(to_secret(
                    s,
                    &import.environment,
                    &import_path,
                    source.clone(),
                ));
            }
        }
    }
    Ok(Secrets::new(environment.to_owned(), path.to_owned(), items))
}

/// Converts a single-secret answer.
pub(crate) fn one_secret(raw: RawOne, environment: &str, path: &str) -> Result<Secret> {
    check_hidden(path, std::iter::once(&raw.secret))?;
    Ok(to_secret(
        raw.secret,
        environment,
        path,
        SecretSource::Local,
    ))
}

/// Decodes JSON with the failing path in the error.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(endpoint: &str, body: &[u8]) -> Result<T> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|source| Error::Decode {
        endpoint: endpoint.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope<'static> {
        Scope {
            project_id: "proj-1",
            environment: "prod",
            path: "/backups/garage",
            recursive: false,
            include_imports: true,
            expand_references: true,
        }
    }

    #[test]
    fn v4_list_sends_every_flag_explicitly() {
        let r = list_secrets_v4(&scope());
        assert_eq!(r.endpoint(), "GET /api/v4/secrets");
        assert_eq!(r.param("projectId"), Some("proj-1"));
        assert_eq!(r.param("environment"), Some("prod"));
        assert_eq!(r.param("secretPath"), Some("/backups/garage"));
        assert_eq!(r.param("recursive"), Some("false"));
        assert_eq!(r.param("includeImports"), Some("true"));
        assert_eq!(r.param("include_imports"), Some("true"));
        assert_eq!(r.param("expandSecretReferences"), Some("true"));
        assert_eq!(r.param("includePersonalOverrides"), Some("false"));
        assert_eq!(r.param("viewSecretValue"), Some("true"));
        assert!(r.idempotent);
    }

    #[test]
    fn v3_list_uses_workspace_id_and_old_names() {
        let s = Scope {
            recursive: true,
            include_imports: false,
            expand_references: false,
            ..scope()
        };
        let r = list_secrets_v3(&s);
        assert_eq!(r.endpoint(), "GET /api/v3/secrets/raw");
        assert_eq!(r.param("workspaceId"), Some("proj-1"));
        assert_eq!(r.param("projectId"), None);
        assert_eq!(r.param("recursive"), Some("true"));
        assert_eq!(r.param("include_imports"), Some("false"));
        assert_eq!(r.param("expandSecretReferences"), Some("false"));
    }

    #[test]
    fn get_puts_name_in_its_own_segment() {
        let r = get_secret_v4(&scope(), "A/B?x");
        assert_eq!(r.segments.last().map(String::as_str), Some("A/B?x"));
        assert_eq!(r.param("type"), Some("shared"));
        let r = get_secret_v3(&scope(), "KEY");
        assert_eq!(r.endpoint(), "GET /api/v3/secrets/raw/KEY");
    }

    #[test]
    fn login_body_is_redacted_in_debug() {
        let r = universal_auth_login("id-1", &SecretString::from("s3cr3t-canary"));
        let dbg = format!("{r:?}");
        assert!(!dbg.contains("s3cr3t-canary"), "{dbg}");
        assert!(!r.idempotent);
        let body: serde_json::Value =
            serde_json::from_str(r.body.as_ref().map(|b| b.expose_secret()).unwrap_or("{}"))
                .unwrap_or_default();
        assert_eq!(body["clientId"], "id-1");
        assert_eq!(body["clientSecret"], "s3cr3t-canary");
    }

    #[test]
    fn normalizes_paths() {
        assert_eq!(normalize_secret_path(""), "/");
        assert_eq!(normalize_secret_path("/"), "/");
        assert_eq!(normalize_secret_path("backups/garage/"), "/backups/garage");
        assert_eq!(normalize_secret_path("//a//b"), "/a/b");
    }

    fn raw_secret(key: &str, value: &str) -> serde_json::Value {
        serde_json::json!({
            "_id": "x", "id": "x", "workspace": "proj-1", "environment": "prod", "version": 1,
            "type": "shared", "secretKey": key, "secretValue": value, "secretComment": "",
            "secretValueHidden": false, "skipMultilineEncoding": null, "tags": [], "unknownField": 7
        })
    }

    #[test]
    fn merge_follows_cli_precedence() {
        let body = serde_json::json!({
            "secrets": [raw_secret("A", "local-a")],
            "imports": [
                {"secretPath": "/first", "environment": "prod", "folderId": "f1",
                 "secrets": [raw_secret("A", "first-a"), raw_secret("B", "first-b"), raw_secret("C", "first-c")]},
                {"secretPath": "/second", "environment": "staging",
                 "secrets": [raw_secret("B", "second-b")]}
            ]
        });
        let raw: RawList = decode("t", body.to_string().as_bytes()).unwrap();
        let s = merge_list(raw, "prod", "/app").unwrap();
        let v = |k: &str| s.get(k).map(|x| x.value.expose_secret().to_owned());
        assert_eq!(v("A").as_deref(), Some("local-a"));
        assert_eq!(v("B").as_deref(), Some("second-b"));
        assert_eq!(v("C").as_deref(), Some("first-c"));
        assert_eq!(s.len(), 3);
        let b = s.get("B").unwrap();
        assert_eq!(
            b.source,
            SecretSource::Imported {
                environment: "staging".into(),
                path: "/second".into()
            }
        );
        assert_eq!(b.path, "/second");
    }

    #[test]
    fn hidden_values_are_an_error_naming_keys() {
        let mut hidden = raw_secret("H", HIDDEN_VALUE);
        hidden["secretValueHidden"] = true.into();
        let body = serde_json::json!({ "secrets": [raw_secret("A", "a"), hidden] });
        let raw: RawList = decode("t", body.to_string().as_bytes()).unwrap();
        let err = merge_list(raw, "prod", "/p").unwrap_err();
        assert!(err.is_hidden_value());
        assert!(err.to_string().contains(": H"), "{err}");

        // The literal alone (older servers without the flag) is also hidden.
        let body = serde_json::json!({ "secret": raw_secret("L", HIDDEN_VALUE) });
        let raw: RawOne = decode("t", body.to_string().as_bytes()).unwrap();
        assert!(one_secret(raw, "prod", "/p").unwrap_err().is_hidden_value());
    }

    #[test]
    fn error_bodies_map_to_kinds() {
        let e = api_error(
            "GET /api/v4/secrets".into(),
            403,
            br#"{"reqId":"req-1","statusCode":403,"error":"TokenError","message":"Your token has expired. Please re-authenticate."}"#,
        );
        assert!(e.is_unauthenticated());
        assert!(e.to_string().contains("expired"));
        let e = api_error(
            "GET /x".into(),
            422,
            br#"{"reqId":"r","statusCode":422,"error":"ValidationFailure","message":[{"code":"invalid_enum_value","path":["recursive"]}]}"#,
        );
        assert_eq!(e.api_kind(), Some(&ApiErrorKind::ValidationFailure));
        assert!(e.to_string().contains("invalid_enum_value"));
        let e = api_error("GET /x".into(), 502, b"<html>bad gateway</html>");
        assert!(e.is_retryable());
        assert!(e.to_string().contains("bad gateway"));
        let e = api_error(
            "GET /api/v4/secrets".into(),
            404,
            br#"{"message":"Route GET:/api/v4/secrets not found","error":"Not Found","statusCode":404}"#,
        );
        assert!(e.is_route_missing());
        let e = api_error(
            "GET /api/v4/secrets".into(),
            404,
            b"<html>404 Not Found</html>",
        );
        assert!(e.is_route_missing());
        let e = api_error(
            "GET /api/v4/secrets".into(),
            404,
            br#"{"reqId":"r","statusCode":404,"error":"NotFound","message":"Project with ID 'x' not found"}"#,
        );
        assert!(e.is_not_found() && !e.is_route_missing());
    }

    #[test]
    fn decode_errors_name_the_field() {
        let err = decode::<RawList>("GET /x", br#"{"secrets":[{"secretValue":"v"}]}"#).unwrap_err();
        assert!(matches!(err, Error::Decode { .. }));
        let src = std::error::Error::source(&err)
            .map(|s| s.to_string())
            .unwrap_or_default();
        assert!(src.contains("secrets[0]"), "{src}");
    }

    mod props {
        use super::*;
        use proptest::prelude::*;
        use std::collections::BTreeMap;

        fn folder() -> impl Strategy<Value = BTreeMap<String, String>> {
            prop::collection::btree_map("[A-E]", "[a-z]{1,4}", 0..5)
        }

        fn list_json(
            local: &BTreeMap<String, String>,
            imports: &[BTreeMap<String, String>],
        ) -> Vec<u8> {
            let secrets = |m: &BTreeMap<String, String>| -> Vec<serde_json::Value> {
                m.iter()
                    .map(|(k, v)| serde_json::json!({"secretKey": k, "secretValue": v, "secretValueHidden": false}))
                    .collect()
            };
            let imports: Vec<serde_json::Value> = imports
                .iter()
                .enumerate()
                .map(|(i, m)| serde_json::json!({"secretPath": format!("/i{i}"), "environment": "prod", "secrets": secrets(m)}))
                .collect();
            serde_json::json!({"secrets": secrets(local), "imports": imports})
                .to_string()
                .into_bytes()
        }

        proptest! {
            /// The CLI's precedence: the folder's own value, else the last import holding the key;
            /// every key once.
            #[test]
            fn merge_matches_cli_model(local in folder(), imports in prop::collection::vec(folder(), 0..4)) {
                let raw: RawList = decode("t", &list_json(&local, &imports)).unwrap();
                let merged = merge_list(raw, "prod", "/app").unwrap();
                let mut model: BTreeMap<String, String> = BTreeMap::new();
                for m in &imports {
                    for (k, v) in m {
                        model.insert(k.clone(), v.clone());
                    }
                }
                for (k, v) in &local {
                    model.insert(k.clone(), v.clone());
                }
                prop_assert_eq!(merged.len(), model.len());
                for (k, v) in &model {
                    let got = merged.value(k).map(|s| s.expose_secret().to_owned());
                    prop_assert_eq!(got.as_deref(), Some(v.as_str()));
                }
            }

            #[test]
            fn secret_paths_normalise_idempotently(p in "[a-z/]{0,12}") {
                let n = normalize_secret_path(&p);
                prop_assert!(n.starts_with('/'));
                prop_assert!(!n.contains("//"));
                prop_assert!(n == "/" || !n.ends_with('/'));
                prop_assert_eq!(normalize_secret_path(&n), n);
            }
        }
    }
}
