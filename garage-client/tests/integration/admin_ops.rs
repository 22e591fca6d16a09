//! The operator's admin calls against a real Garage 2.5: scoped tokens, paging, per-node
//! operations, bucket website/CORS/lifecycle, key expiration, object inspection.

use garage_client::admin::{
    AdminTokenSpec, ApiVersion, Nodes, RepairType, RetryBlocks, ScrubCommand, WebsiteConfig,
    WorkerFilter,
};
use garage_client::s3::{CorsRule, LifecycleRule, PutOptions};
use garage_client::{AdminClient, Credentials, S3Client};
use secrecy::ExposeSecret;

use super::common::{admin, data, s3, start};

fn client_with_token(
    g: &garage_client::testing::GarageServer,
    token: &secrecy::SecretString,
) -> AdminClient {
    AdminClient::builder()
        .with_endpoint(g.admin_endpoint())
        .with_token(token.clone())
        .build()
        .unwrap()
}

/// A token scoped to a few read operations (as a monitoring job gets) must work: the version
/// probe may not need `GetClusterHealth`.
#[tokio::test]
async fn scoped_admin_token_without_cluster_health_works() {
    let g = start().await;
    let a = admin(&g);
    let expires: jiff::Timestamp = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(24))
        .unwrap();
    let created = a
        .create_admin_token(
            &AdminTokenSpec::new("monitoring")
                .with_scope(["ListBuckets", "GetBucketInfo"])
                .with_expiration(expires),
        )
        .await
        .unwrap();
    let id = created.info.id.clone().expect("token id");
    assert!(
        created
            .secret_token
            .expose_secret()
            .starts_with(&format!("{id}.")),
        "bearer token is <id>.<secret>"
    );
    assert_eq!(created.info.scope, ["ListBuckets", "GetBucketInfo"]);
    assert_eq!(
        created.info.expiration.map(|t| t.as_second()),
        Some(expires.as_second())
    );

    // A fresh client (nothing cached) with only the scoped token.
    let scoped = client_with_token(&g, &created.secret_token);
    let buckets = scoped
        .list_buckets()
        .await
        .expect("ListBuckets with a scoped token");
    assert!(buckets.iter().any(|b| &b.id == g.bucket_id()));
    assert_eq!(scoped.api_version().await.unwrap(), ApiVersion::V2);
    let info = scoped.bucket_info_by_alias(g.bucket()).await.unwrap();
    assert_eq!(&info.id, g.bucket_id());
    let me = scoped.current_token_info().await.unwrap();
    assert_eq!(me.name, "monitoring");
    assert!(me.allows("ListBuckets") && !me.allows("GetClusterHealth"));
    // Outside its scope: a typed 403, not a probe failure.
    let err = scoped.cluster_health().await.unwrap_err();
    assert!(err.is_permission_denied(), "{err}");
    assert!(!err.is_unauthenticated(), "{err}");
    // `/metrics` with the admin token: outside its scope too.
    let err = scoped.metrics().await.unwrap_err();
    assert!(err.is_permission_denied(), "{err}");

    // A wrong token still gets a typed 403 from the call itself.
    let wrong = client_with_token(&g, &secrecy::SecretString::from("nope.nope".to_owned()));
    let err = wrong.list_buckets().await.unwrap_err();
    assert!(err.is_unauthenticated(), "{err}");
    assert!(!err.is_permission_denied(), "{err}");

    // Token management with the master token.
    let master = a.current_token_info().await.unwrap();
    assert!(master.allows("*") && master.id.is_none(), "{master:?}");
    let all = a.list_admin_tokens().await.unwrap();
    assert!(
        all.iter().any(|t| t.id.as_deref() == Some(id.as_str())),
        "{all:?}"
    );
    let updated = a
        .update_admin_token(
            &id,
            &AdminTokenSpec::new("monitoring-2")
                .with_scope(["ListBuckets", "GetClusterHealth"])
                .never_expires(),
        )
        .await
        .unwrap();
    assert_eq!(updated.name, "monitoring-2");
    assert_eq!(updated.expiration, None);
    assert_eq!(a.admin_token_info(&id).await.unwrap().name, "monitoring-2");
    assert!(scoped.cluster_health().await.is_ok(), "scope widened");
    a.delete_admin_token(&id).await.unwrap();
    let err = scoped.list_buckets().await.unwrap_err();
    assert!(err.is_unauthenticated(), "deleted token refused: {err}");
    let err = a.admin_token_info(&id).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

/// Garage answers at most `limit` items per request (10,000 without one): listings follow the
/// pages to the end. Small pages prove the paging; page boundaries on and off the item count.
#[tokio::test]
async fn list_buckets_and_keys_follow_pages_to_the_end() {
    let g = start().await;
    let a = admin(&g);
    for i in 0..5 {
        a.create_bucket(&format!("paged-{i}")).await.unwrap();
        a.create_key(&format!("paged-{i}")).await.unwrap();
    }
    let mut want_buckets: Vec<String> = a
        .list_buckets()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.id.into_string())
        .collect();
    want_buckets.sort();
    assert_eq!(want_buckets.len(), 6);
    for page in [2, 3, 6] {
        let small = AdminClient::builder()
            .with_endpoint(g.admin_endpoint())
            .with_token(g.admin_token().clone())
            .with_page_size(page)
            .build()
            .unwrap();
        let buckets: Vec<String> = small
            .list_buckets()
            .await
            .unwrap()
            .into_iter()
            .map(|b| b.id.into_string())
            .collect();
        assert_eq!(buckets, want_buckets, "page size {page}");
        let keys = small.list_keys().await.unwrap();
        let mut ids: Vec<&str> = keys.iter().map(|k| k.id.as_str()).collect();
        assert_eq!(ids.len(), 6, "page size {page}: {ids:?}");
        ids.dedup();
        assert_eq!(ids.len(), 6, "no duplicates at page boundaries");
    }
    assert!(
        AdminClient::builder()
            .with_endpoint(g.admin_endpoint())
            .with_page_size(1)
            .build()
            .is_err()
    );
}

#[tokio::test]
async fn node_info_statistics_workers_repairs_snapshots_and_block_errors() {
    let g = start().await;
    let a = admin(&g);
    let info = a.node_info(Nodes::This).await.unwrap();
    let (node, info) = info.single().expect("one node answered");
    assert_eq!(node, g.node_id());
    assert!(info.garage_version.contains("2.5"), "{info:?}");
    assert!(info.db_engine.to_lowercase().contains("sqlite"), "{info:?}");
    assert_eq!(
        info.connection_parameters
            .as_ref()
            .map(|c| c.region.as_str()),
        Some("garage")
    );
    let all = a.node_info(Nodes::All).await.unwrap();
    assert_eq!(all.success.len(), 1);
    let by_prefix = a.node_info(Nodes::Id(&g.node_id()[..8])).await.unwrap();
    assert!(by_prefix.success.contains_key(g.node_id()));
    let err = a.node_info(Nodes::Id("ffffffffff")).await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");

    let stats = a.node_statistics(Nodes::This).await.unwrap();
    let (_, stats) = stats.single().unwrap();
    let tables = stats
        .table_stats
        .as_ref()
        .expect("structured table stats (2.3+)");
    assert!(
        tables.iter().any(|t| t.table_name == "object"),
        "{tables:?}"
    );
    assert!(stats.block_manager_stats.is_some());

    let workers = a
        .list_workers(Nodes::This, WorkerFilter::default())
        .await
        .unwrap();
    let (_, workers) = workers.single().unwrap();
    assert!(!workers.is_empty());
    let w = &workers[0];
    let one = a.worker_info(Nodes::This, w.id).await.unwrap();
    assert_eq!(one.single().unwrap().1.name, w.name);

    // Metadata snapshot: a new directory under metadata_dir/snapshots.
    let snaps = g.dir().join("meta/snapshots");
    let before = std::fs::read_dir(&snaps).map(|d| d.count()).unwrap_or(0);
    let r = a.create_metadata_snapshot(Nodes::This).await.unwrap();
    assert!(r.all_ok() && r.success.len() == 1, "{r:?}");
    let after = std::fs::read_dir(&snaps).map(|d| d.count()).unwrap_or(0);
    assert_eq!(after, before + 1, "snapshot in {}", snaps.display());

    // Block errors: none on a healthy node; a resync can be retried for all or by hash (the
    // hash of a real block, read with InspectObject), and a bad hash is a typed 400.
    let c = s3(&g);
    c.put_object(
        g.bucket(),
        "big",
        data(200_000, 11).into(),
        PutOptions::default(),
    )
    .await
    .unwrap();
    let inspected = a.inspect_object(g.bucket_id(), "big").await.unwrap();
    assert_eq!(inspected.key, "big");
    let version = inspected
        .versions
        .iter()
        .find(|v| !v.uploading && !v.delete_marker)
        .expect("a data version");
    assert_eq!(version.size, Some(200_000));
    assert!(!version.inline);
    let hash = version.blocks.first().expect("a block").hash.clone();
    assert!(
        find_file_starting_with(&g.dir().join("data"), &hash).is_some(),
        "block {hash} on disk"
    );
    let errors = a.list_block_errors(Nodes::This).await.unwrap();
    assert!(errors.single().unwrap().1.is_empty(), "{errors:?}");
    a.launch_repair(Nodes::This, RepairType::Blocks)
        .await
        .unwrap();
    let retried = a
        .retry_block_resync(Nodes::This, &RetryBlocks::All)
        .await
        .unwrap();
    assert_eq!(
        retried.single().map(|(_, n)| *n),
        Some(0),
        "no block in error"
    );
    let retried = a
        .retry_block_resync(Nodes::This, &RetryBlocks::Hashes(vec![hash.clone()]))
        .await
        .unwrap();
    // Garage answers per node: this block is not in error, so the node reports a failure.
    assert!(
        !retried.all_ok() && retried.success.is_empty(),
        "{retried:?}"
    );
    assert!(
        retried.error[g.node_id()].contains("not in an errored state"),
        "{retried:?}"
    );
    let bad = a
        .retry_block_resync(Nodes::This, &RetryBlocks::Hashes(vec!["zz".into()]))
        .await
        .unwrap();
    assert!(bad.error[g.node_id()].contains("invalid hash"), "{bad:?}");

    // Scrub and another repair start (background workers).
    for repair in [RepairType::Scrub(ScrubCommand::Start), RepairType::Versions] {
        let r = a.launch_repair(Nodes::This, repair).await.unwrap();
        assert!(r.all_ok() && r.success.len() == 1, "{repair:?}: {r:?}");
    }
    let err = a.inspect_object(g.bucket_id(), "absent").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

fn find_file_starting_with(dir: &std::path::Path, prefix: &str) -> Option<std::path::PathBuf> {
    for entry in std::fs::read_dir(dir).ok()? {
        let path = entry.ok()?.path();
        if path.is_dir() {
            if let Some(found) = find_file_starting_with(&path, prefix) {
                return Some(found);
            }
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(prefix))
        {
            return Some(path);
        }
    }
    None
}

#[tokio::test]
async fn bucket_website_cors_and_lifecycle_through_the_admin_api() {
    let g = start().await;
    let a = admin(&g);
    let id = g.bucket_id();
    let info = a
        .set_website(
            id,
            Some(&WebsiteConfig::new("index.html").with_error_document("404.html")),
        )
        .await
        .unwrap();
    assert!(info.website_access);
    assert_eq!(
        info.website_config,
        Some(WebsiteConfig::new("index.html").with_error_document("404.html"))
    );
    let info = a.set_website(id, None).await.unwrap();
    assert!(!info.website_access && info.website_config.is_none());

    let rule = CorsRule::new(["https://app.example.invalid"], ["GET", "PUT"])
        .with_allowed_headers(["*"])
        .with_expose_headers(["ETag"])
        .with_max_age(600)
        .with_id("app");
    let info = a
        .set_cors_rules(id, std::slice::from_ref(&rule))
        .await
        .unwrap();
    assert_eq!(info.cors_rules, Some(vec![rule]));
    // The rule is live on the S3 endpoint: a preflight from the origin is allowed.
    let preflight = reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/{}/x", g.s3_endpoint(), g.bucket()),
        )
        .header("Origin", "https://app.example.invalid")
        .header("Access-Control-Request-Method", "PUT")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    assert_eq!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("https://app.example.invalid")
    );
    let info = a.set_cors_rules(id, &[]).await.unwrap();
    assert_eq!(info.cors_rules, None);

    let rules = vec![
        LifecycleRule::abort_incomplete_uploads_after(1).with_id("abort-unfinished"),
        LifecycleRule::expire_after_days(30)
            .with_prefix("tmp/")
            .with_id("tmp"),
    ];
    let info = a.set_lifecycle_rules(id, &rules).await.unwrap();
    assert_eq!(info.lifecycle_rules.as_deref(), Some(&rules[..]));
    // The same rules through S3.
    assert_eq!(s3(&g).bucket_lifecycle(g.bucket()).await.unwrap(), rules);
    let info = a.set_lifecycle_rules(id, &[]).await.unwrap();
    assert_eq!(info.lifecycle_rules, None);
    // Garage refuses an invalid rule with a typed 400 (an expiration date not at midnight).
    let mut bad = LifecycleRule::expire_after_days(1);
    bad.expiration = Some(garage_client::s3::LifecycleExpiration::Date(
        "2030-01-01T12:34:56Z".into(),
    ));
    let err = a.set_lifecycle_rules(id, &[bad]).await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
}

#[tokio::test]
async fn expired_key_is_refused_until_it_never_expires() {
    let g = start().await;
    let a = admin(&g);
    let k = a.create_key("expiring").await.unwrap();
    a.allow_key(
        g.bucket_id(),
        &k.access_key_id,
        garage_client::admin::Permissions::ALL,
    )
    .await
    .unwrap();
    let client = S3Client::builder()
        .with_endpoint(g.s3_endpoint())
        .with_credentials(Credentials::new(
            k.access_key_id.clone(),
            k.secret_access_key.clone().unwrap(),
        ))
        .build()
        .unwrap();
    client
        .put_object(g.bucket(), "k", "v".into(), PutOptions::default())
        .await
        .unwrap();
    let later = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(48))
        .unwrap();
    let info = a
        .set_key_expiration(&k.access_key_id, Some(later))
        .await
        .unwrap();
    assert!(!info.expired);
    assert!(info.expiration.is_some());
    let past = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_secs(60))
        .unwrap();
    let info = a
        .set_key_expiration(&k.access_key_id, Some(past))
        .await
        .unwrap();
    assert!(info.expired, "{info:?}");
    let err = client
        .put_object(g.bucket(), "k", "v".into(), PutOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403), "expired key refused: {err}");
    assert!(err.is_unauthenticated(), "expired key refused: {err}");
    let listed = a.list_keys().await.unwrap();
    assert!(listed.iter().any(|x| x.id == k.access_key_id && x.expired));
    let info = a.set_key_expiration(&k.access_key_id, None).await.unwrap();
    assert!(!info.expired && info.expiration.is_none(), "{info:?}");
    client
        .put_object(g.bucket(), "k", "v".into(), PutOptions::default())
        .await
        .unwrap();
}

/// Block errors, for real: two block files corrupted on disk, one then read by a GET, the
/// other by a scrub. Garage moves a block that fails its hash check aside and queues it for
/// resync (`garage_block-2.5.0:manager.rs`, `read_block_from`); with no other node to fetch it
/// from, the resync fails and `ListBlockErrors` shows both. Once the operator puts the bytes
/// back, `RetryBlockResync` (by hash, then all) clears them and the objects read again. (A
/// deleted block file would only be looked at 2 × the RPC timeout = 10 min after its write:
/// the resync queue keeps the later of two times, `resync_queue.rs`
/// `put_to_resync_at_or_later`, so the `Blocks` repair cannot bring it forward.) Every wait is
/// bounded.
#[tokio::test]
async fn real_block_errors_are_listed_and_cleared_by_a_retried_resync() {
    use garage_client::RetryConfig;
    use garage_client::admin::BlockError;
    use garage_client::s3::GetOptions;
    use std::collections::BTreeSet;
    use std::time::{Duration, Instant};

    let g = start().await;
    let a = admin(&g);
    let c = S3Client::builder()
        .with_endpoint(g.s3_endpoint())
        .with_credentials(super::common::credentials(&g))
        .with_retry(
            RetryConfig::default()
                .with_max_retries(1)
                .with_retry_timeout(Duration::from_secs(2)),
        )
        .build()
        .unwrap();
    // One block each (Garage's block size is 1 MiB; above 3 KiB objects are not inlined).
    let mut blocks = Vec::new();
    for (i, key) in ["read", "scrubbed"].into_iter().enumerate() {
        let body = data(200_000, 70 + i as u64);
        c.put_object(g.bucket(), key, body.clone().into(), PutOptions::default())
            .await
            .unwrap();
        let inspected = a.inspect_object(g.bucket_id(), key).await.unwrap();
        let version = inspected
            .versions
            .iter()
            .find(|v| !v.uploading && !v.delete_marker)
            .expect("a data version");
        assert_eq!(version.blocks.len(), 1, "{key}: one block");
        let hash = version.blocks[0].hash.clone();
        let path = find_file_starting_with(&g.dir().join("data"), &hash)
            .unwrap_or_else(|| panic!("block {hash} on disk"));
        let stored = std::fs::read(&path).unwrap();
        blocks.push((key, body, hash, path, stored));
    }
    let errored = |errors: &[BlockError]| -> BTreeSet<String> {
        errors.iter().map(|e| e.block_hash.clone()).collect()
    };
    let wait_for = |want: BTreeSet<String>| {
        let a = a.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let r = a.list_block_errors(Nodes::This).await.unwrap();
                let (_, errors) = r.single().expect("one node answered");
                if errored(&errors[..]) == want {
                    return errors.clone();
                }
                assert!(
                    Instant::now() < deadline,
                    "block errors {:?} never became {want:?}",
                    errored(&errors[..])
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };

    // Flip bytes in the middle of both block files.
    for (.., path, stored) in &blocks {
        let mut bad = stored.clone();
        let mid = bad.len() / 2;
        bad[mid..mid + 16].iter_mut().for_each(|b| *b ^= 0xff);
        std::fs::write(path, &bad).unwrap();
    }
    // One is found by reading the object…
    let (key, _, hash_c, path_c, stored_c) = &blocks[0];
    let read = match c.get_object(g.bucket(), key, GetOptions::default()).await {
        Ok(got) => got.bytes().await.map(drop),
        Err(e) => Err(e),
    };
    assert!(read.is_err(), "a corrupted block cannot be read");
    // …the other by a scrub.
    let (_, _, hash_d, path_d, stored_d) = &blocks[1];
    let r = a
        .launch_repair(Nodes::This, RepairType::Scrub(ScrubCommand::Start))
        .await
        .unwrap();
    assert!(r.all_ok(), "{r:?}");

    let errors = wait_for([hash_c.clone(), hash_d.clone()].into()).await;
    for e in &errors {
        assert_eq!(e.refcount, 1, "{e:?}");
        assert!(e.error_count >= 1, "{e:?}");
        assert!(e.next_try_in_secs > 0, "backing off: {e:?}");
    }

    // The operator restores the first block's bytes and retries it by hash.
    std::fs::write(path_c, stored_c).unwrap();
    let retried = a
        .retry_block_resync(Nodes::This, &RetryBlocks::Hashes(vec![hash_c.clone()]))
        .await
        .unwrap();
    assert_eq!(retried.single().map(|(_, n)| *n), Some(1), "{retried:?}");
    wait_for([hash_d.clone()].into()).await;

    // Then the second, with a retry of all errored blocks.
    std::fs::write(path_d, stored_d).unwrap();
    let retried = a
        .retry_block_resync(Nodes::This, &RetryBlocks::All)
        .await
        .unwrap();
    assert_eq!(retried.single().map(|(_, n)| *n), Some(1), "{retried:?}");
    wait_for(BTreeSet::new()).await;

    for (key, body, ..) in &blocks {
        let got = c
            .get_object(g.bucket(), key, GetOptions::default())
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert!(got == body[..], "{key} reads back after the repair");
    }
}

/// Garage 2.5 answers `ListKeys` / `ListBuckets` with at most `limit` items, 10,000 when the
/// request has none (`garage_api_admin-2.5.0:key.rs` `list_keys_helper(garage, self.limit,
/// 10000, self.offset)`, `bucket.rs` `list_buckets_helper` likewise); `offset` is the first id
/// returned. Proving it with 10,001 real keys is too slow here: `CreateKey` took ≈ 23 ms on this
/// machine whatever the concurrency (200 sequential in 4.8 s, 500 with 16 in flight in 11.7 s),
/// so ≈ 4 min for 10,001. Instead the smallest page (2 items; each later page brings one new id
/// after the `offset` one) makes the server cap a page many times over, through a proxy that
/// counts the requests: the listing must be exactly the ids the create calls returned.
#[tokio::test]
async fn listings_return_exactly_what_was_created_across_many_server_pages() {
    use garage_client::testing::{Fault, FaultProxy};
    use std::collections::BTreeSet;

    let g = start().await;
    let a = admin(&g);
    let mut keys: BTreeSet<String> = [g.access_key_id().to_owned()].into();
    let mut buckets: BTreeSet<String> = [g.bucket_id().to_string()].into();
    for i in 0..40 {
        keys.insert(
            a.create_key(&format!("many-{i}"))
                .await
                .unwrap()
                .access_key_id
                .into_string(),
        );
        if i % 2 == 0 {
            buckets.insert(
                a.create_bucket(&format!("many-{i}"))
                    .await
                    .unwrap()
                    .id
                    .into_string(),
            );
        }
    }
    let proxy = FaultProxy::start(g.ports().admin, |_| Fault::None)
        .await
        .unwrap();
    let small = AdminClient::builder()
        .with_endpoint(proxy.endpoint())
        .with_token(g.admin_token().clone())
        .with_page_size(2)
        .build()
        .unwrap();
    let listed: Vec<String> = small
        .list_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.id.into_string())
        .collect();
    assert_eq!(listed.len(), keys.len(), "no key twice");
    assert!(
        listed.iter().cloned().collect::<BTreeSet<_>>() == keys,
        "exactly the keys created"
    );
    let listed: Vec<String> = small
        .list_buckets()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.id.into_string())
        .collect();
    assert_eq!(listed.len(), buckets.len(), "no bucket twice");
    assert!(
        listed.iter().cloned().collect::<BTreeSet<_>>() == buckets,
        "exactly the buckets created"
    );
    let pages = |op: &str| {
        proxy
            .requests()
            .iter()
            .filter(|(r, _)| r.target.starts_with(&format!("/v2/{op}?")))
            .inspect(|(r, _)| assert!(r.target.contains("limit=2"), "{}", r.target))
            .count()
    };
    // 41 keys: 2 on the first page, one new per page after it, and a last page with none new.
    assert_eq!(pages("ListKeys"), 41, "one request per server page");
    assert_eq!(pages("ListBuckets"), 21);

    // The streams fetch a page only when the previous one has been consumed.
    use futures::{StreamExt, TryStreamExt};
    let first_three: Vec<_> = small
        .list_keys_stream()
        .take(3)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(first_three.len(), 3);
    assert_eq!(pages("ListKeys"), 43, "three keys: two pages of two");
    let streamed: BTreeSet<String> = small
        .list_buckets_stream()
        .map_ok(|b| b.id.into_string())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed, buckets, "the stream lists every bucket once");
    assert_eq!(pages("ListBuckets"), 42);
}
