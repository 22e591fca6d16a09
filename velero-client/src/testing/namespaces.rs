//! core/v1 Namespaces, delete only: what a restore drill needs to remove the scratch namespace
//! it restored into. Deletions are recorded ([`super::FakeCluster::deleted_namespaces`]).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::ClusterState;

fn answer(code: StatusCode, body: &Value) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// A `Status` failure body (k8s.io/apimachinery pkg/apis/meta/v1 types.go `Status`).
fn status(code: StatusCode, reason: &str, message: String, name: &str) -> Response {
    answer(
        code,
        &json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason,
            "details": { "name": name, "kind": "namespaces" }, "code": code.as_u16()
        }),
    )
}

/// `DELETE /api/v1/namespaces/{name}`. Namespace deletion is graceful in Kubernetes: the
/// apiserver sets `deletionTimestamp` and `status.phase: Terminating` and answers 200 with the
/// object, and the namespace controller removes the contents and then the namespace
/// (kubernetes pkg/registry/core/namespace/storage/storage.go `Delete`; the `kubernetes`
/// finalizer in `spec.finalizers`). The fake drops the simulated namespace at once and records
/// the deletion. Unknown: 404 `namespaces "x" not found`; RBAC: 403 as for any resource.
pub(crate) async fn delete_namespace(
    State(state): State<Arc<ClusterState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    state.saw_user_agent(
        headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
    );
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if token != Some(state.token.as_str()) {
        return status(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Unauthorized".into(),
            &name,
        );
    }
    if state.is_forbidden("delete", "namespaces") {
        return status(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!(
                "namespaces \"{name}\" is forbidden: User \"system:serviceaccount:ops:backup-audit\" cannot delete resource \"namespaces\" in API group \"\" at the cluster scope"
            ),
            &name,
        );
    }
    let mut world = state.lock_world();
    if world.namespaces.remove(&name).is_none() {
        return status(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("namespaces \"{name}\" not found"),
            &name,
        );
    }
    world.deleted_namespaces.push(name.clone());
    let now = jiff::Timestamp::now();
    let now = jiff::Timestamp::from_second(now.as_second()).unwrap_or(now);
    answer(
        StatusCode::OK,
        &json!({
            "kind": "Namespace", "apiVersion": "v1",
            "metadata": { "name": name, "deletionTimestamp": now.to_string(),
                          "labels": { "kubernetes.io/metadata.name": name } },
            "spec": { "finalizers": ["kubernetes"] },
            "status": { "phase": "Terminating" }
        }),
    )
}
