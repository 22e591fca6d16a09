//! What the apiserver does with a velero.io/v1 object before storing it, from Velero's CRDs
//! (vmware-tanzu/velero config/crd/v1/bases/velero.io_*.yaml, `openAPIV3Schema`) and the
//! apiserver's object-meta validation (kubernetes/apimachinery pkg/util/validation/validation.go,
//! pkg/apis/meta/v1/validation/validation.go):
//!
//! * `metadata.name` must be a DNS-1123 subdomain; label keys qualified names and label values
//!   valid label values: else 422 `Invalid`;
//! * the object is pruned, defaulted and validated against its CRD's `openAPIV3Schema`
//!   ([`super::crd`]) at every level, as for a structural schema:
//!   - pruning (kubernetes/apiextensions-apiserver pkg/apiserver/schema/pruning/algorithm.go):
//!     fields the schema does not declare vanish without an error, in nested objects and in
//!     arrays' items alike; `x-kubernetes-preserve-unknown-fields: true` keeps them, an
//!     `additionalProperties` schema makes the object a map whose values follow it; at the
//!     root `apiVersion`, `kind` and `metadata` are kept (metadata is ObjectMeta's business);
//!   - nulls of fields that are not `nullable` are dropped and missing fields with a
//!     `default` get it (pkg/apiserver/schema/defaulting/prunenulls.go, algorithm.go);
//!   - validation (pkg/apiserver/validation/validation.go over kube-openapi
//!     pkg/validation/validate): a wrong `type` is 422 `Invalid value: "<type>": <path> in
//!     body must be of type <want>: "<type>"`, a value outside an `enum` 422 `Unsupported
//!     value`, a missing `required` field 422 `Required value`, too few items 422; formats
//!     are not checked.

use serde_json::Value;

use super::crd;
use super::store::ApiError;

const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const QUALIFIED_NAME_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

/// `IsDNS1123Subdomain`.
pub(crate) fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253
        && !s.is_empty()
        && s.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
        })
}

/// The "name" shape shared by label values and qualified-name parts:
/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`.
fn is_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

/// `IsValidLabelValue`: empty, or at most 63 characters of the name shape.
fn label_value_problem(v: &str) -> Option<String> {
    if v.is_empty() {
        return None;
    }
    if v.len() > 63 {
        return Some("must be no more than 63 characters".into());
    }
    (!is_name_part(v)).then(|| LABEL_VALUE_MSG.to_owned())
}

/// `IsQualifiedName`: `[prefix/]name`, prefix a DNS-1123 subdomain, name ≤ 63 of the name shape.
fn label_key_problem(k: &str) -> Option<String> {
    let (prefix, name) = match k.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    if let Some(p) = prefix
        && !is_dns1123_subdomain(p)
    {
        return Some(format!("prefix part {DNS1123_SUBDOMAIN_MSG}"));
    }
    if name.is_empty() {
        return Some("name part must be non-empty".into());
    }
    if name.len() > 63 {
        return Some("name part must be no more than 63 characters".into());
    }
    (!is_name_part(name)).then(|| QUALIFIED_NAME_MSG.to_owned())
}

fn quote(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// Prunes unknown fields and validates `obj` (kind `kind`, final name `name`) as the
/// apiserver does on create, update and patch.
pub(crate) fn admit(kind: &str, plural: &str, name: &str, obj: &mut Value) -> Result<(), ApiError> {
    let invalid = |problems: Vec<String>| ApiError {
        code: 422,
        reason: "Invalid",
        message: format!(
            "{kind}.velero.io \"{name}\" is invalid: {}",
            problems.join(", ")
        ),
        name: Some(name.to_owned()),
        plural: plural.to_owned(),
    };
    let mut problems = Vec::new();
    if !is_dns1123_subdomain(name) {
        problems.push(format!(
            "metadata.name: Invalid value: {name:?}: {DNS1123_SUBDOMAIN_MSG}"
        ));
    }
    if let Some(labels) = obj["metadata"]["labels"].as_object() {
        for (k, v) in labels {
            if let Some(p) = label_key_problem(k) {
                problems.push(format!("metadata.labels: Invalid value: {k:?}: {p}"));
            }
            match v.as_str() {
                Some(s) => {
                    if let Some(p) = label_value_problem(s) {
                        problems.push(format!("metadata.labels: Invalid value: {s:?}: {p}"));
                    }
                }
                None => problems.push(format!(
                    "metadata.labels.{k}: Invalid value: {}: must be a string",
                    quote(v)
                )),
            }
        }
    }
    if let Some(crd) = crd::by_kind(kind) {
        prune_and_default(obj, &crd.schema, true);
        validate(obj, &crd.schema, "", true, &mut problems);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(invalid(problems))
    }
}

fn is_true(schema: &Value, key: &str) -> bool {
    schema.get(key).and_then(Value::as_bool) == Some(true)
}

/// The schema values of an object's keys follow: its `properties`, else (a map) its
/// `additionalProperties` schema.
fn field_schema<'a>(schema: &'a Value, key: &str) -> Option<&'a Value> {
    schema
        .get("properties")
        .and_then(|p| p.get(key))
        .or_else(|| schema.get("additionalProperties").filter(|a| a.is_object()))
}

/// Structural pruning, null dropping and defaulting (apiextensions-apiserver
/// pkg/apiserver/schema/pruning/algorithm.go `prune`, defaulting/prunenulls.go, defaulting).
fn prune_and_default(v: &mut Value, schema: &Value, root: bool) {
    match v {
        Value::Object(map) => {
            let preserve = is_true(schema, "x-kubernetes-preserve-unknown-fields")
                || schema.get("additionalProperties") == Some(&Value::Bool(true));
            map.retain(|k, child| {
                if root && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                    return true;
                }
                match field_schema(schema, k) {
                    // prunenulls.go: a null survives only where the schema allows it.
                    Some(s) => !child.is_null() || is_true(s, "nullable"),
                    None => preserve,
                }
            });
            for (k, child) in map.iter_mut() {
                if root && k == "metadata" {
                    continue;
                }
                if let Some(s) = field_schema(schema, k) {
                    prune_and_default(child, s, false);
                }
            }
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (k, s) in props {
                    if let Some(d) = s.get("default")
                        && !map.contains_key(k)
                    {
                        map.insert(k.clone(), d.clone());
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for item in items {
                    prune_and_default(item, s, false);
                }
            }
        }
        _ => {}
    }
}

/// The OpenAPI type name of a JSON value, as kube-openapi reports it.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Schema validation (apiextensions-apiserver pkg/apiserver/validation/validation.go, kube-openapi
/// pkg/validation/validate type, enum, required and minItems validators).
fn validate(v: &Value, schema: &Value, path: &str, root: bool, problems: &mut Vec<String>) {
    if v.is_null() && is_true(schema, "nullable") {
        return;
    }
    if let Some(want) = schema.get("type").and_then(Value::as_str) {
        let got = type_name(v);
        let ok = got == want || (want == "number" && got == "integer");
        if !ok {
            problems.push(format!(
                "{path}: Invalid value: \"{got}\": {path} in body must be of type {want}: \"{got}\""
            ));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(v)
    {
        let supported: Vec<String> = allowed.iter().map(quote_json).collect();
        problems.push(format!(
            "{path}: Unsupported value: {}: supported values: {}",
            quote(v),
            supported.join(", ")
        ));
    }
    match v {
        Value::Object(map) => {
            for r in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if map.get(r).is_none_or(Value::is_null) {
                    problems.push(format!("{}: Required value", join(path, r)));
                }
            }
            for (k, child) in map {
                if root && k == "metadata" {
                    continue;
                }
                if let Some(s) = field_schema(schema, k) {
                    validate(child, s, &join(path, k), false, problems);
                }
            }
        }
        Value::Array(items) => {
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                && (items.len() as u64) < min
            {
                problems.push(format!(
                    "{path}: Invalid value: {}: {path} in body should have at least {min} items",
                    items.len()
                ));
            }
            if let Some(s) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    validate(item, s, &format!("{path}[{i}]"), false, problems);
                }
            }
        }
        _ => {}
    }
}

fn quote_json(v: &Value) -> String {
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_and_labels_follow_apimachinery() {
        assert!(is_dns1123_subdomain("daily-20261127020000"));
        assert!(is_dns1123_subdomain("a.b-c"));
        for bad in ["Bad", "a_b", "-a", "a-", "", "a..b", &"a".repeat(254)] {
            assert!(!is_dns1123_subdomain(bad), "{bad}");
        }
        assert!(label_value_problem("").is_none());
        assert!(label_value_problem("My_value.1").is_none());
        assert!(label_value_problem("has space").is_some());
        assert!(label_value_problem(&"a".repeat(64)).is_some());
        assert!(label_key_problem("velero.io/schedule-name").is_none());
        assert!(label_key_problem("Velero.io/x").is_some());
        assert!(label_key_problem("a/b/c").is_some());
    }

    #[test]
    fn prunes_unknown_fields_and_checks_enums() {
        let mut obj = json!({
            "apiVersion": "velero.io/v1", "kind": "Backup", "extra": 1,
            "metadata": { "name": "b" },
            "spec": { "ttl": "1h0m0s", "includeNamespaces": ["typo"] },
            "status": { "phase": "Completed", "bogus": true }
        });
        admit("Backup", "backups", "b", &mut obj).unwrap();
        assert!(obj.get("extra").is_none());
        assert_eq!(obj["spec"], json!({ "ttl": "1h0m0s" }));
        assert_eq!(obj["status"], json!({ "phase": "Completed" }));
        let mut bad = json!({ "metadata": {}, "status": { "phase": "Done" } });
        let err = admit("Backup", "backups", "b", &mut bad).unwrap_err();
        assert_eq!(err.code, 422);
        assert!(
            err.message
                .contains("status.phase: Unsupported value: \"Done\""),
            "{}",
            err.message
        );
        let mut sched = json!({ "metadata": {}, "spec": { "schedule": "@daily" } });
        let err = admit("Schedule", "schedules", "s", &mut sched).unwrap_err();
        assert!(
            err.message.contains("spec.template: Required value"),
            "{}",
            err.message
        );
    }
}
