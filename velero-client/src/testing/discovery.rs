//! API discovery and server-side tables, so `kubectl` works against the fake:
//!
//! * `GET /api`, `/api/v1`, `/apis`, `/apis/velero.io/v1`: the legacy discovery documents
//!   (k8s.io/apimachinery pkg/apis/meta/v1/types.go `APIVersions`, `APIGroupList`,
//!   `APIResourceList`). A CRD's entry carries its plural, singular, kind, shortNames and the
//!   verbs every custom resource has (kubernetes/apiextensions-apiserver
//!   pkg/apiserver/customresource_discovery_controller.go). Clients asking for aggregated
//!   discovery (`as=APIGroupDiscoveryList`) get these plain `application/json` documents, which
//!   client-go takes as a server without aggregated discovery.
//! * `GET /version` (k8s.io/apimachinery pkg/version/types.go `Info`).
//! * Lists asked for `as=Table`: a `meta.k8s.io/v1` Table whose columns are `Name` then the
//!   CRD's `additionalPrinterColumns`, or `Age` when it declares none
//!   (apiextensions-apiserver pkg/registry/customresource/tableconvertor/tableconvertor.go,
//!   pkg/apiserver/customresource_handler.go), each row with the object's metadata as a
//!   `PartialObjectMetadata`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::ClusterState;
use super::crd;
use super::server::{authenticate, error, json_response};

/// The verbs of every custom resource (customresource_discovery_controller.go).
const CR_VERBS: [&str; 8] = [
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "create",
    "update",
    "watch",
];

fn answer(state: &ClusterState, headers: &HeaderMap, body: impl FnOnce() -> Value) -> Response {
    // Discovery needs an authenticated user, as on any cluster (system:discovery is bound to
    // system:authenticated).
    match authenticate(state, headers) {
        Ok(()) => json_response(StatusCode::OK, &body()),
        Err(e) => error(&e),
    }
}

/// `GET /version`.
pub(crate) async fn version(
    State(state): State<Arc<ClusterState>>,
    headers: HeaderMap,
) -> Response {
    answer(&state, &headers, || {
        json!({
            "major": "1", "minor": "33", "gitVersion": "v1.33.0", "gitCommit": "",
            "gitTreeState": "clean", "buildDate": "2025-04-23T00:00:00Z",
            "goVersion": "go1.24.2", "compiler": "gc", "platform": "linux/amd64"
        })
    })
}

/// `GET /api`: the core group's versions.
pub(crate) async fn core_versions(
    State(state): State<Arc<ClusterState>>,
    headers: HeaderMap,
) -> Response {
    let addr = state.base_url.trim_start_matches("https://").to_owned();
    answer(&state, &headers, || {
        json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{ "clientCIDR": "0.0.0.0/0", "serverAddress": addr }]
        })
    })
}

/// `GET /api/v1`: of the core group the fake serves only Secrets (read by `caCertRef`).
pub(crate) async fn core_resources(
    State(state): State<Arc<ClusterState>>,
    headers: HeaderMap,
) -> Response {
    answer(&state, &headers, || {
        json!({
            "kind": "APIResourceList",
            "groupVersion": "v1",
            "resources": [{
                "name": "secrets", "singularName": "secret", "namespaced": true, "kind": "Secret",
                "verbs": CR_VERBS,
            }]
        })
    })
}

/// `GET /apis`: the groups besides core.
pub(crate) async fn groups(State(state): State<Arc<ClusterState>>, headers: HeaderMap) -> Response {
    answer(&state, &headers, || {
        let v1 = json!({ "groupVersion": "velero.io/v1", "version": "v1" });
        json!({
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [{ "name": "velero.io", "versions": [v1], "preferredVersion": v1 }]
        })
    })
}

/// `GET /apis/velero.io/v1`: one entry per CRD.
pub(crate) async fn velero_resources(
    State(state): State<Arc<ClusterState>>,
    headers: HeaderMap,
) -> Response {
    answer(&state, &headers, || {
        let resources: Vec<Value> = crd::all()
            .iter()
            .map(|c| {
                let mut r = json!({
                    "name": c.plural, "singularName": c.singular, "namespaced": c.namespaced,
                    "kind": c.kind, "verbs": CR_VERBS,
                });
                if !c.short_names.is_empty() {
                    r["shortNames"] = json!(c.short_names);
                }
                r
            })
            .collect();
        json!({
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": "velero.io/v1",
            "resources": resources
        })
    })
}

/// Whether the client asked for a Table (kubectl's human-readable `get`).
pub(crate) fn wants_table(headers: &HeaderMap) -> bool {
    headers
        .get_all(axum::http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next()
        .is_some_and(|first| first.contains("as=Table") && first.contains("g=meta.k8s.io"))
}

/// A simple JSONPath (`.a.b`) as the printer columns use it.
fn at_path<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    path.trim_start_matches('.')
        .split('.')
        .filter(|k| !k.is_empty())
        .try_fold(obj, |v, k| v.get(k))
}

/// The Table for a list of objects of `kind`.
pub(crate) fn table(kind: &str, items: &[Value], list_meta: &Value) -> Value {
    let mut columns: Vec<Value> = crd::by_kind(kind)
        .map(|c| c.printer_columns.clone())
        .unwrap_or_default();
    if columns.is_empty() {
        columns.push(
            json!({ "name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp" }),
        );
    }
    let mut definitions = vec![json!({
        "name": "Name", "type": "string", "format": "name", "priority": 0,
        "description": "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
    })];
    definitions.extend(columns.iter().map(|c| {
        json!({
            "name": c["name"], "type": c["type"], "format": c.get("format").cloned().unwrap_or(json!("")),
            "description": c.get("description").cloned().unwrap_or(json!("")),
            "priority": c.get("priority").cloned().unwrap_or(json!(0)),
        })
    }));
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let mut cells = vec![o["metadata"]["name"].clone()];
            cells.extend(columns.iter().map(|c| {
                c["jsonPath"]
                    .as_str()
                    .and_then(|p| at_path(o, p))
                    .cloned()
                    .unwrap_or(Value::Null)
            }));
            json!({
                "cells": cells,
                "object": {
                    "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                    "metadata": o["metadata"],
                }
            })
        })
        .collect();
    json!({
        "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta,
        "columnDefinitions": definitions, "rows": rows
    })
}
