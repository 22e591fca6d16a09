//! Admin API v2 against a real Garage, and its effect on the S3 data plane.

use futures::TryStreamExt;
use garage_client::admin::{AccessKeyId, ApiVersion, BucketRef, HealthStatus, Permissions, Quotas};
use garage_client::s3::{ListOptions, PutOptions};
use garage_client::{AdminClient, Credentials, S3Client};
use secrecy::{ExposeSecret, SecretString};

use super::common::{admin, s3, start};

#[tokio::test]
async fn cluster_health_status_statistics_layout_metrics() {
    let g = start().await;
    let a = admin(&g);
    assert_eq!(a.api_version().await.unwrap(), ApiVersion::V2);
    let h = a.health().await.unwrap();
    assert!(h.is_operational(), "{h:?}");
    assert!(h.message.contains("operational"));
    let ch = a.cluster_health().await.unwrap();
    assert_eq!(ch.status, HealthStatus::Healthy);
    assert_eq!(ch.storage_nodes_up, 1, "storageNodesUp (2.1+) read: {ch:?}");
    assert_eq!(ch.partitions_quorum, ch.partitions);
    let st = a.cluster_status().await.unwrap();
    assert_eq!(st.layout_version, 1);
    assert_eq!(st.nodes.len(), 1);
    assert_eq!(st.nodes[0].id, g.node_id());
    assert!(st.nodes[0].is_up);
    assert_eq!(
        st.nodes[0].role.as_ref().map(|r| r.zone.as_str()),
        Some("dc1")
    );
    let layout = a.cluster_layout().await.unwrap();
    assert_eq!(layout.version, 1);
    assert_eq!(layout.roles.len(), 1);
    let stats = a.cluster_statistics().await.unwrap();
    assert_eq!(stats.bucket_count, Some(1), "{stats:?}");
    let metrics = a.metrics().await.unwrap();
    assert!(
        metrics.contains("garage_build_info"),
        "{}",
        &metrics[..metrics.len().min(300)]
    );

    let wrong = AdminClient::builder()
        .with_endpoint(g.admin_endpoint())
        .with_token(SecretString::from("not-the-token".to_owned()))
        .with_api_version(ApiVersion::V2)
        .build()
        .unwrap();
    let err = wrong.cluster_status().await.unwrap_err();
    assert!(err.is_unauthenticated(), "{err}");
    assert!(!err.is_permission_denied(), "{err}");
    assert_eq!(
        err.as_admin().map(|e| e.code.as_str()),
        Some("AccessDenied")
    );
    assert!(
        wrong.health().await.unwrap().is_operational(),
        "/health needs no token"
    );
}

/// Waits (at most 20 s) until the bucket's object and byte counters reach these values.
async fn wait_for_counters(a: &garage_client::AdminClient, alias: &str, objects: i64, bytes: i64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let info = a.bucket_info_by_alias(alias).await.unwrap();
        if (info.objects, info.bytes) == (objects, bytes) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "counters stuck at {} objects, {} bytes (want {objects}, {bytes})",
            info.objects,
            info.bytes
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn buckets_aliases_quotas_and_non_empty_delete() {
    let g = start().await;
    let a = admin(&g);
    let c = s3(&g);
    let created = a.create_bucket("photos").await.unwrap();
    assert_eq!(created.global_aliases, ["photos"]);
    let listed = a.list_buckets().await.unwrap();
    assert!(listed.iter().any(|b| b.id == created.id));
    assert_eq!(listed.len(), 2);

    let with_alias = a.add_global_alias(&created.id, "pictures").await.unwrap();
    assert!(with_alias.global_aliases.contains(&"pictures".to_owned()));
    let without = a
        .remove_global_alias(&created.id, "pictures")
        .await
        .unwrap();
    assert_eq!(without.global_aliases, ["photos"]);

    a.allow_key(&created.id, &g.key_id(), Permissions::READ_WRITE)
        .await
        .unwrap();
    let info = a.bucket_info(BucketRef::Id(&created.id)).await.unwrap();
    let perms = info
        .keys
        .iter()
        .find(|k| k.access_key_id == g.access_key_id())
        .unwrap()
        .permissions;
    assert_eq!(perms, Permissions::READ_WRITE);

    // Quota: two objects at most.
    let q = a
        .set_quotas(
            &created.id,
            Quotas {
                max_size: None,
                max_objects: Some(2),
            },
        )
        .await
        .unwrap();
    assert_eq!(q.quotas.max_objects, Some(2));
    c.put_object("photos", "1", "a".into(), PutOptions::default())
        .await
        .unwrap();
    c.put_object("photos", "2", "b".into(), PutOptions::default())
        .await
        .unwrap();
    // Garage checks quotas against its bucket counters, which lag writes a little (a loaded CI
    // box let a third object through once): wait until they show both objects.
    wait_for_counters(&a, "photos", 2, 2).await;
    let err = c
        .put_object("photos", "3", "c".into(), PutOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");
    assert!(err.is_quota_exceeded(), "{err}");
    // Overwriting an existing object does not add one: allowed.
    c.put_object("photos", "2", "bb".into(), PutOptions::default())
        .await
        .unwrap();
    wait_for_counters(&a, "photos", 2, 3).await;

    // A size quota.
    a.set_quotas(
        &created.id,
        Quotas {
            max_size: Some(10),
            max_objects: None,
        },
    )
    .await
    .unwrap();
    let err = c
        .put_object("photos", "3", vec![0u8; 100].into(), PutOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_quota_exceeded(), "{err}");
    a.set_quotas(&created.id, Quotas::default()).await.unwrap();
    c.put_object("photos", "3", vec![0u8; 100].into(), PutOptions::default())
        .await
        .unwrap();

    let err = a.delete_bucket(&created.id).await.unwrap_err();
    assert!(err.is_conflict(), "{err}");
    assert_eq!(
        err.as_admin().map(|e| e.code.as_str()),
        Some("BucketNotEmpty")
    );
    let keys: Vec<String> = c
        .list_objects("photos", ListOptions::default())
        .map_ok(|o| o.key)
        .try_collect()
        .await
        .unwrap();
    c.delete_objects("photos", &keys).await.unwrap();
    a.delete_bucket(&created.id).await.unwrap();
    let err = a.bucket_info(BucketRef::Id(&created.id)).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");

    a.deny_key(
        g.bucket_id(),
        &g.key_id(),
        Permissions {
            write: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let err = c
        .put_object(g.bucket(), "x", "x".into(), PutOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403), "write denied: {err}");
    assert!(err.is_permission_denied(), "write denied: {err}");
    assert!(!err.is_unauthenticated(), "write denied: {err}");
    assert!(
        c.list_objects_page(g.bucket(), &ListOptions::default(), None)
            .await
            .is_ok(),
        "read still allowed"
    );
}

#[tokio::test]
async fn keys_create_import_info_and_deleted_key_is_refused() {
    let g = start().await;
    let a = admin(&g);
    let created = a.create_key("backup-job").await.unwrap();
    assert!(created.access_key_id.as_str().starts_with("GK"));
    let secret = created.secret_access_key.clone().expect("secret on create");
    a.allow_key(g.bucket_id(), &created.access_key_id, Permissions::ALL)
        .await
        .unwrap();

    let id = &AccessKeyId::from("GK0123456789abcdef01234567");
    let imported_secret = SecretString::from("0123456789abcdef".repeat(4));
    let imported = a
        .import_key(id, &imported_secret, "imported")
        .await
        .unwrap();
    assert_eq!(&imported.access_key_id, id);
    let keys = a.list_keys().await.unwrap();
    let names: Vec<&str> = keys.iter().map(|k| k.name.as_str()).collect();
    assert!(
        names.contains(&"backup-job") && names.contains(&"imported") && names.contains(&"test"),
        "{names:?}"
    );
    let info = a
        .key_info_with_secret(&created.access_key_id)
        .await
        .unwrap();
    assert_eq!(
        info.secret_access_key.as_ref().map(|s| s.expose_secret()),
        Some(secret.expose_secret())
    );
    assert_eq!(info.buckets.len(), 1);
    assert_eq!(info.buckets[0].permissions, Permissions::ALL);
    let info = a.key_info(&created.access_key_id).await.unwrap();
    assert!(info.secret_access_key.is_none());
    let flagged = a
        .allow_key_create_bucket(&created.access_key_id)
        .await
        .unwrap();
    assert!(flagged.permissions.create_bucket);

    let client = S3Client::builder()
        .with_endpoint(g.s3_endpoint())
        .with_credentials(Credentials::new(created.access_key_id.clone(), secret))
        .build()
        .unwrap();
    client
        .put_object(g.bucket(), "by-new-key", "v".into(), PutOptions::default())
        .await
        .unwrap();
    a.delete_key(&created.access_key_id).await.unwrap();
    let err = client
        .put_object(g.bucket(), "by-new-key", "v".into(), PutOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403), "deleted key refused: {err}");
    assert!(err.is_unauthenticated(), "deleted key refused: {err}");
    let err = a.key_info(&created.access_key_id).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

/// Garage 2.x still answers most `/v1/` calls (translated to v2 handlers), so forcing the v1
/// dialect against it exercises the fallback routes for real.
#[tokio::test]
async fn v1_dialect_routes_work_against_garage_2s_v1_compatibility_layer() {
    let g = start().await;
    let v1 = AdminClient::builder()
        .with_endpoint(g.admin_endpoint())
        .with_token(g.admin_token().clone())
        .with_api_version(ApiVersion::V1)
        .build()
        .unwrap();
    assert_eq!(
        v1.cluster_health().await.unwrap().status,
        HealthStatus::Healthy
    );
    assert_eq!(v1.cluster_layout().await.unwrap().version, 1);
    let b = v1.create_bucket("legacy").await.unwrap();
    assert_eq!(b.global_aliases, ["legacy"]);
    let info = v1.bucket_info(BucketRef::Id(&b.id)).await.unwrap();
    assert_eq!(info.id, b.id);
    let info = v1.bucket_info_by_alias("legacy").await.unwrap();
    assert_eq!(info.id, b.id);
    assert!(
        v1.list_buckets()
            .await
            .unwrap()
            .iter()
            .any(|x| x.id == b.id)
    );
    let q = v1
        .set_quotas(
            &b.id,
            Quotas {
                max_size: Some(1 << 20),
                max_objects: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(q.quotas.max_size, Some(1 << 20));
    let k = v1.create_key("legacy-key").await.unwrap();
    let allowed = v1
        .allow_key(&b.id, &k.access_key_id, Permissions::READ_WRITE)
        .await
        .unwrap();
    assert!(
        allowed
            .keys
            .iter()
            .any(|x| x.access_key_id == k.access_key_id)
    );
    let info = v1.key_info(&k.access_key_id).await.unwrap();
    assert_eq!(info.name, "legacy-key");
    let aliased = v1.add_global_alias(&b.id, "legacy-2").await.unwrap();
    assert!(aliased.global_aliases.contains(&"legacy-2".to_owned()));
    // Garage 2 refuses the v1 DELETE routes ("no longer supported"): a typed 400, not a crash.
    let err = v1.delete_bucket(&b.id).await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    assert!(matches!(
        v1.cluster_statistics().await,
        Err(garage_client::Error::Unsupported { .. })
    ));
}
