//! The fake apiserver behaves as a real one with Velero's CRDs installed (issue 16 point 10):
//! TLS with the kubeconfig's CA, objects pruned and validated against the CRDs'
//! `openAPIV3Schema`, 422 for bad names and labels, and Velero 1.18's phases.

use std::time::Duration;

use futures::TryStreamExt;
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;
use velero_client::testing::NamespaceSim;
use velero_client::{
    Backup, BackupSpec, BackupStorageLocation, Error, Restore, RestoreOptions, VeleroResource,
};

use crate::setup;

fn invalid(err: &Error) -> String {
    match err {
        Error::Api(a) if a.code == 422 && a.reason == "Invalid" => a.message.clone(),
        other => panic!("expected 422 Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn the_apiserver_speaks_tls_with_the_kubeconfigs_ca() {
    let (fake, client) = setup("prod").await;
    let prod = fake.cluster("prod").unwrap();
    assert!(
        prod.url().starts_with("https://127.0.0.1:"),
        "{}",
        prod.url()
    );
    let kubeconfig = std::fs::read_to_string(fake.kubeconfig_path()).unwrap();
    assert!(
        kubeconfig.contains("certificate-authority-data:"),
        "{kubeconfig}"
    );
    // A client that does not trust the cluster's CA is refused; kube-rs (through the
    // kubeconfig) is not.
    let stranger = reqwest::Client::builder().build().unwrap();
    let err = stranger.get(prod.url()).send().await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    client.list_schedules().await.unwrap();
}

#[tokio::test]
async fn objects_are_pruned_and_validated_like_the_crds_say() {
    let (fake, client) = setup("prod").await;
    let prod = fake.cluster("prod").unwrap();
    prod.pause_controller();
    client
        .create_backup("b", BackupSpec::default())
        .await
        .unwrap();

    // Unknown fields (a typo in a field name) vanish silently, as with a structural schema.
    let patched: Backup = client
        .merge_patch(
            "b",
            &json!({ "spec": { "includeNamespaces": ["typo"], "ttl": "1h0m0s" }, "extra": true }),
        )
        .await
        .unwrap();
    assert_eq!(
        patched.spec.ttl.as_ref().map(|t| t.as_str()),
        Some("1h0m0s")
    );
    let raw = prod.get_json("backups", "b").unwrap();
    assert!(raw["spec"].get("includeNamespaces").is_none(), "{raw}");
    assert!(raw.get("extra").is_none(), "{raw}");

    // Names must be DNS-1123 subdomains.
    let err = client
        .create_backup("Nightly_Backup", BackupSpec::default())
        .await
        .unwrap_err();
    let msg = invalid(&err);
    assert!(
        msg.contains("metadata.name: Invalid value: \"Nightly_Backup\""),
        "{msg}"
    );
    assert!(msg.contains("RFC 1123 subdomain"), "{msg}");

    // Label values must be valid label values.
    let err = client
        .merge_patch::<Backup>(
            "b",
            &json!({ "metadata": { "labels": { "team": "ops team" } } }),
        )
        .await
        .unwrap_err();
    assert!(invalid(&err).contains("metadata.labels: Invalid value: \"ops team\""));

    // Enums.
    let err = client
        .merge_patch::<BackupStorageLocation>(
            "default",
            &json!({ "spec": { "accessMode": "readonly" } }),
        )
        .await
        .unwrap_err();
    let msg = invalid(&err);
    assert!(
        msg.contains("spec.accessMode: Unsupported value: \"readonly\": supported values: \"ReadOnly\", \"ReadWrite\""),
        "{msg}"
    );
    let err = client
        .merge_patch::<Backup>("b", &json!({ "status": { "phase": "Done" } }))
        .await
        .unwrap_err();
    assert!(invalid(&err).contains("status.phase: Unsupported value: \"Done\""));

    // Required fields.
    let err = prod
        .insert_json(json!({ "kind": "Schedule", "metadata": { "name": "s" }, "spec": { "schedule": "@daily" } }))
        .unwrap_err();
    assert!(err.contains("spec.template: Required value"), "{err}");
    let err = prod
        .insert_json(json!({ "kind": "BackupStorageLocation", "metadata": { "name": "x" }, "spec": { "provider": "velero.io/aws", "objectStorage": {} } }))
        .unwrap_err();
    assert!(
        err.contains("spec.objectStorage.bucket: Required value"),
        "{err}"
    );
}

/// Pruning and validation reach every level of the schema, as a structural-schema apiserver
/// does (kubernetes/apiextensions-apiserver pkg/apiserver/schema/pruning/algorithm.go,
/// pkg/apiserver/validation): unknown fields inside arrays' items and nested objects vanish,
/// `x-kubernetes-preserve-unknown-fields` keeps them, maps (`additionalProperties`) keep their
/// keys, and a bad nested enum or type is 422.
#[tokio::test]
async fn nested_fields_are_pruned_and_validated() {
    let (fake, client) = setup("prod").await;
    let prod = fake.cluster("prod").unwrap();
    prod.pause_controller();
    let hook = |on_error: &str| {
        json!({ "resources": [{
            "name": "freeze", "bogus": 1,
            "labelSelector": { "matchLabels": { "app": "db" }, "typo": true },
            "pre": [{ "exec": { "command": ["fsfreeze"], "onError": on_error, "extra": "x" } }]
        }] })
    };
    prod.insert_json(json!({
        "kind": "Backup", "metadata": { "name": "nested" },
        "spec": { "hooks": hook("Fail"), "orderedResources": { "pods": "ns/a" } }
    }))
    .unwrap();
    let raw = prod.get_json("backups", "nested").unwrap();
    let res = &raw["spec"]["hooks"]["resources"][0];
    assert!(res.get("bogus").is_none(), "{raw}");
    assert_eq!(res["name"], "freeze", "{raw}");
    assert!(res["labelSelector"].get("typo").is_none(), "{raw}");
    assert_eq!(res["labelSelector"]["matchLabels"]["app"], "db", "{raw}");
    let exec = &res["pre"][0]["exec"];
    assert!(exec.get("extra").is_none(), "{raw}");
    assert_eq!(exec["onError"], "Fail", "{raw}");
    assert_eq!(raw["spec"]["orderedResources"]["pods"], "ns/a", "{raw}");

    // A bad enum deep inside an array is 422 with its full path.
    let err = client
        .merge_patch::<Backup>("nested", &json!({ "spec": { "hooks": hook("Sometimes") } }))
        .await
        .unwrap_err();
    let msg = invalid(&err);
    assert!(
        msg.contains("spec.hooks.resources[0].pre[0].exec.onError: Unsupported value: \"Sometimes\": supported values: \"Continue\", \"Fail\""),
        "{msg}"
    );
    // Wrong types, nested too.
    let err = client
        .merge_patch::<Backup>("nested", &json!({ "spec": { "ttl": 3600, "hooks": { "resources": [{ "name": "x", "includedNamespaces": "apps" }] } } }))
        .await
        .unwrap_err();
    let msg = invalid(&err);
    assert!(msg.contains("spec.ttl: Invalid value: \"integer\": spec.ttl in body must be of type string: \"integer\""), "{msg}");
    assert!(
        msg.contains("spec.hooks.resources[0].includedNamespaces: Invalid value: \"string\""),
        "{msg}"
    );
    // Required fields inside array items.
    let err = client
        .merge_patch::<Backup>(
            "nested",
            &json!({ "spec": { "hooks": { "resources": [{ "pre": [] }] } } }),
        )
        .await
        .unwrap_err();
    assert!(invalid(&err).contains("spec.hooks.resources[0].name: Required value"));

    // x-kubernetes-preserve-unknown-fields keeps what it holds (a Restore's resource
    // modifier... here: init-container hooks, velero.io_restores.yaml).
    prod.insert_json(json!({
        "kind": "Restore", "metadata": { "name": "r" },
        "spec": { "backupName": "nested", "hooks": { "resources": [{ "name": "h", "postHooks": [{
            "init": { "initContainers": [{ "name": "c", "image": "busybox", "anything": { "kept": true } }] }
        }] }] } }
    }))
    .unwrap();
    let raw = prod.get_json("restores", "r").unwrap();
    let c = &raw["spec"]["hooks"]["resources"][0]["postHooks"][0]["init"]["initContainers"][0];
    assert_eq!(c["anything"]["kept"], true, "{raw}");
}

/// Every phase an object of `K` named `name` goes through, until `last`.
async fn phases_of<K>(client: &velero_client::VeleroClient, name: &str, last: &str) -> Vec<String>
where
    K: VeleroResource,
{
    let cfg = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut stream = Box::pin(watcher(client.api::<K>(), cfg).applied_objects());
    let mut seen: Vec<String> = Vec::new();
    let collect = async {
        while let Some(obj) = stream.try_next().await.unwrap() {
            let phase = obj.phase_text();
            if seen.last() != Some(&phase) {
                seen.push(phase.clone());
            }
            if phase == last {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), collect)
        .await
        .unwrap_or_else(|_| panic!("{name} never reached {last}: {seen:?}"));
    seen
}

fn in_order(seen: &[String], want: &[&str]) -> bool {
    let mut it = seen.iter();
    want.iter().all(|w| it.any(|s| s == w))
}

#[tokio::test]
async fn backups_and_restores_go_through_velero_1_18_phases() {
    let (fake, client) = setup("agentic").await;
    let agentic = fake.cluster("agentic").unwrap();
    agentic.set_namespace("apps", NamespaceSim::with_items(3).pod_volumes(2));

    let watch = phases_of::<Backup>(&client, "plain", "Completed");
    let (seen, created) = tokio::join!(watch, client.create_backup("plain", BackupSpec::default()));
    created.unwrap();
    assert!(
        in_order(
            &seen,
            &[
                "Queued",
                "ReadyToStart",
                "InProgress",
                "Finalizing",
                "Completed"
            ]
        ),
        "{seen:?}"
    );

    let mut spec = BackupSpec::default();
    spec.snapshot_move_data = Some(true);
    let watch = phases_of::<Backup>(&client, "moved", "Completed");
    let (seen, created) = tokio::join!(watch, client.create_backup("moved", spec));
    created.unwrap();
    assert!(
        in_order(
            &seen,
            &[
                "InProgress",
                "WaitingForPluginOperations",
                "Finalizing",
                "Completed"
            ]
        ),
        "{seen:?}"
    );
    let moved = client.get_backup("moved").await.unwrap();
    let status = moved.status.unwrap();
    assert_eq!(status.backup_item_operations_attempted, Some(2));
    assert_eq!(status.backup_item_operations_completed, Some(2));

    let watch = phases_of::<Restore>(&client, "r", "Completed");
    let opts = RestoreOptions::from_backup("plain").with_name("r");
    let (seen, created) = tokio::join!(watch, client.create_restore(&opts));
    created.unwrap();
    assert!(
        in_order(&seen, &["InProgress", "Finalizing", "Completed"]),
        "{seen:?}"
    );
}
