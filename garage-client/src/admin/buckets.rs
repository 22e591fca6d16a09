//! Buckets: listing, info, creation and deletion, aliases, quotas, permissions, website, CORS and
//! lifecycle configuration, unfinished-upload cleanup and object inspection.

use std::time::Duration;

use futures_util::TryStreamExt;
use futures_util::stream::BoxStream;
use serde::Deserialize;
use serde_json::json;

use super::{AdminClient, ApiVersion, BucketRef, Call};
use crate::error::Result;
use crate::s3::{CorsRule, LifecycleRule};

use super::types::{AccessKeyId, BucketId, BucketInfo, BucketListEntry, Permissions, Quotas};

/// Website hosting of a bucket (`UpdateBucket` `websiteAccess`, `GetBucketInfo` `websiteConfig`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct WebsiteConfig {
    /// Document served for a directory (e.g. `index.html`).
    pub index_document: String,
    /// Document served on errors.
    pub error_document: Option<String>,
}

impl WebsiteConfig {
    /// Serves `index_document` for directories, no error document.
    pub fn new(index_document: impl Into<String>) -> Self {
        WebsiteConfig {
            index_document: index_document.into(),
            error_document: None,
        }
    }
    /// Sets the error document.
    pub fn with_error_document(mut self, doc: impl Into<String>) -> Self {
        self.error_document = Some(doc.into());
        self
    }
}

/// `InspectObject`: what Garage stores for one key (all versions, with their blocks).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct InspectedObject {
    /// Bucket id.
    pub bucket_id: BucketId,
    /// Object key.
    pub key: String,
    /// Versions currently stored (uploads in progress, aborted ones, delete markers, data).
    pub versions: Vec<ObjectVersion>,
}

/// One stored version of an object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct ObjectVersion {
    /// Version id.
    pub uuid: String,
    /// Creation time.
    pub timestamp: Option<jiff::Timestamp>,
    /// Encrypted with SSE-C.
    pub encrypted: bool,
    /// Still uploading (an unfinished upload).
    pub uploading: bool,
    /// An aborted upload.
    pub aborted: bool,
    /// A delete marker.
    pub delete_marker: bool,
    /// Data stored inline in the metadata (small objects).
    pub inline: bool,
    /// Size in bytes.
    pub size: Option<u64>,
    /// ETag.
    pub etag: Option<String>,
    /// Stored HTTP headers (name, value).
    pub headers: Vec<(String, String)>,
    /// Data blocks.
    pub blocks: Vec<ObjectBlock>,
}

/// A data block of an object version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct ObjectBlock {
    /// Part number (multipart uploads).
    pub part_number: u64,
    /// Offset within the part.
    pub offset: u64,
    /// BLAKE2 hash of the block (hex).
    pub hash: String,
    /// Length in bytes.
    pub size: u64,
}

impl AdminClient {
    /// `ListBuckets`: every bucket, fetched in pages of [`super::AdminClientBuilder::with_page_size`]
    /// items (`offset`/`limit`, Garage ≥ 2.5; older servers send the whole list at once, which is
    /// detected). Garage answers at most 10,000 buckets to a request without `limit`.
    ///
    /// # Errors
    ///
    /// [`Error::Admin`](crate::Error::Admin) when Garage refuses the call (see
    /// [`Error::is_not_found`](crate::Error::is_not_found),
    /// [`Error::is_unauthenticated`](crate::Error::is_unauthenticated));
    /// [`Error::Transport`](crate::Error::Transport) when no answer came (reads are retried);
    /// [`Error::Decode`](crate::Error::Decode) when the answer does not have the documented shape.
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// for b in admin.list_buckets().await? {
    ///     println!("{} {:?}", b.id, b.global_aliases);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_buckets(&self) -> Result<Vec<BucketListEntry>> {
        self.list_buckets_stream().try_collect().await
    }

    /// [`Self::list_buckets`] as a stream that fetches each page when the previous one has been
    /// consumed.
    pub fn list_buckets_stream(&self) -> BoxStream<'static, Result<BucketListEntry>> {
        self.list_stream("ListBuckets")
    }

    /// `GetBucketInfo` (objects, bytes, unfinished uploads, quotas, keys).
    ///
    /// # Errors
    ///
    /// [`Error::Admin`](crate::Error::Admin) when Garage refuses the call (see
    /// [`Error::is_not_found`](crate::Error::is_not_found),
    /// [`Error::is_unauthenticated`](crate::Error::is_unauthenticated));
    /// [`Error::Transport`](crate::Error::Transport) when no answer came (reads are retried);
    /// [`Error::Decode`](crate::Error::Decode) when the answer does not have the documented shape
    /// (404 `NoSuchBucket`).
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use garage_client::admin::BucketRef;
    /// let info = admin.bucket_info(BucketRef::GlobalAlias("backups")).await?;
    /// println!("{} objects", info.objects);
    /// # Ok(()) }
    /// ```
    pub async fn bucket_info(&self, bucket: BucketRef<'_>) -> Result<BucketInfo> {
        let call = match bucket {
            BucketRef::Id(id) => Call::new("GetBucketInfo").q("id", id.as_str()),
            BucketRef::GlobalAlias(a) => Call::new("GetBucketInfo").q("globalAlias", a),
        };
        self.call(call).await
    }

    /// `GetBucketInfo` by global alias.
    ///
    /// # Errors
    ///
    /// [`Error::Admin`](crate::Error::Admin) when Garage refuses the call (see
    /// [`Error::is_not_found`](crate::Error::is_not_found),
    /// [`Error::is_unauthenticated`](crate::Error::is_unauthenticated));
    /// [`Error::Transport`](crate::Error::Transport) when no answer came (reads are retried);
    /// [`Error::Decode`](crate::Error::Decode) when the answer does not have the documented shape
    /// (404 `NoSuchBucket`).
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let info = admin.bucket_info_by_alias("backups").await?;
    /// println!("{} bytes", info.bytes);
    /// # Ok(()) }
    /// ```
    pub async fn bucket_info_by_alias(&self, alias: &str) -> Result<BucketInfo> {
        self.bucket_info(BucketRef::GlobalAlias(alias)).await
    }

    /// `CreateBucket` with a global alias.
    ///
    /// # Errors
    ///
    /// [`Error::Admin`](crate::Error::Admin) when Garage refuses the call (see
    /// [`Error::is_not_found`](crate::Error::is_not_found),
    /// [`Error::is_unauthenticated`](crate::Error::is_unauthenticated));
    /// [`Error::Transport`](crate::Error::Transport) when no answer came (reads are retried);
    /// [`Error::Decode`](crate::Error::Decode) when the answer does not have the documented shape
    /// (409 `BucketAlreadyExists`).
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let bucket = admin.create_bucket("backups").await?;
    /// println!("created {}", bucket.id);
    /// # Ok(()) }
    /// ```
    pub async fn create_bucket(&self, global_alias: &str) -> Result<BucketInfo> {
        self.call(Call::new("CreateBucket").body(json!({ "globalAlias": global_alias })))
            .await
    }

    /// `DeleteBucket` by id (409 `BucketNotEmpty` if it holds objects).
    ///
    /// # Errors
    ///
    /// [`Error::Admin`](crate::Error::Admin) when Garage refuses the call (see
    /// [`Error::is_not_found`](crate::Error::is_not_found),
    /// [`Error::is_unauthenticated`](crate::Error::is_unauthenticated));
    /// [`Error::Transport`](crate::Error::Transport) when no answer came (reads are retried);
    /// [`Error::Decode`](crate::Error::Decode) when the answer does not have the documented shape
    /// (409 `BucketNotEmpty`).
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let info = admin.bucket_info_by_alias("scratch").await?;
    /// admin.delete_bucket(&info.id).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_bucket(&self, id: &BucketId) -> Result<()> {
        self.call_value(Call::new("DeleteBucket").q("id", id.as_str()))
            .await
            .map(drop)
    }

    /// Sets both quotas (`None` removes one) with `UpdateBucket`.
    ///
    /// # Errors
    ///
    /// [`Error::Admin`](crate::Error::Admin) when Garage refuses the call (see
    /// [`Error::is_not_found`](crate::Error::is_not_found),
    /// [`Error::is_unauthenticated`](crate::Error::is_unauthenticated));
    /// [`Error::Transport`](crate::Error::Transport) when no answer came (reads are retried);
    /// [`Error::Decode`](crate::Error::Decode) when the answer does not have the documented shape.
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use garage_client::admin::Quotas;
    /// let id = admin.bucket_info_by_alias("backups").await?.id;
    /// admin.set_quotas(&id, Quotas { max_size: Some(10 << 30), max_objects: None }).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_quotas(&self, id: &BucketId, quotas: Quotas) -> Result<BucketInfo> {
        self.call(
            Call::new("UpdateBucket")
                .q("id", id.as_str())
                .body(json!({ "quotas": quotas })),
        )
        .await
    }

    /// Adds a global alias.
    ///
    /// # Errors
    ///
    /// [`Error::Admin`](crate::Error::Admin) when Garage refuses the call (see
    /// [`Error::is_not_found`](crate::Error::is_not_found),
    /// [`Error::is_unauthenticated`](crate::Error::is_unauthenticated));
    /// [`Error::Transport`](crate::Error::Transport) when no answer came (reads are retried);
    /// [`Error::Decode`](crate::Error::Decode) when the answer does not have the documented shape.
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let id = admin.bucket_info_by_alias("backups").await?.id;
    /// admin.add_global_alias(&id, "backups-2026").await?;
    /// # Ok(()) }
    /// ```
    pub async fn add_global_alias(&self, id: &BucketId, alias: &str) -> Result<BucketInfo> {
        let call = match self.api_version().await? {
            ApiVersion::V2 => {
                Call::new("AddBucketAlias").body(json!({ "bucketId": id, "globalAlias": alias }))
            }
            ApiVersion::V1 => Call::new("AddBucketAlias")
                .q("id", id.as_str())
                .q("alias", alias),
        };
        self.call(call).await
    }

    /// Removes a global alias.
    ///
    /// # Errors
    ///
    /// [`Error::Admin`](crate::Error::Admin) when Garage refuses the call (see
    /// [`Error::is_not_found`](crate::Error::is_not_found),
    /// [`Error::is_unauthenticated`](crate::Error::is_unauthenticated));
    /// [`Error::Transport`](crate::Error::Transport) when no answer came (reads are retried);
    /// [`Error::Decode`](crate::Error::Decode) when the answer does not have the documented shape.
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let id = admin.bucket_info_by_alias("backups").await?.id;
    /// admin.remove_global_alias(&id, "backups-2026").await?;
    /// # Ok(()) }
    /// ```
    pub async fn remove_global_alias(&self, id: &BucketId, alias: &str) -> Result<BucketInfo> {
        let call = match self.api_version().await? {
            ApiVersion::V2 => {
                Call::new("RemoveBucketAlias").body(json!({ "bucketId": id, "globalAlias": alias }))
            }
            ApiVersion::V1 => Call::new("RemoveBucketAlias")
                .q("id", id.as_str())
                .q("alias", alias),
        };
        self.call(call).await
    }

    /// Grants the flags set to `true` (others are left as they are).
    ///
    /// # Errors
    ///
    /// [`Error::Admin`](crate::Error::Admin) when Garage refuses the call (see
    /// [`Error::is_not_found`](crate::Error::is_not_found),
    /// [`Error::is_unauthenticated`](crate::Error::is_unauthenticated));
    /// [`Error::Transport`](crate::Error::Transport) when no answer came (reads are retried);
    /// [`Error::Decode`](crate::Error::Decode) when the answer does not have the documented shape.
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use garage_client::admin::{AccessKeyId, Permissions};
    /// let id = admin.bucket_info_by_alias("backups").await?.id;
    /// admin.allow_key(&id, &AccessKeyId::from("GK31c2f218a2e44f485b94239e"), Permissions::READ_WRITE).await?;
    /// # Ok(()) }
    /// ```
    pub async fn allow_key(
        &self,
        bucket_id: &BucketId,
        access_key_id: &AccessKeyId,
        permissions: Permissions,
    ) -> Result<BucketInfo> {
        let body = json!({ "bucketId": bucket_id, "accessKeyId": access_key_id, "permissions": permissions });
        self.call(Call::new("AllowBucketKey").body(body)).await
    }

    /// Revokes the flags set to `true` (others are left as they are).
    ///
    /// # Errors
    ///
    /// [`Error::Admin`](crate::Error::Admin) when Garage refuses the call (see
    /// [`Error::is_not_found`](crate::Error::is_not_found),
    /// [`Error::is_unauthenticated`](crate::Error::is_unauthenticated));
    /// [`Error::Transport`](crate::Error::Transport) when no answer came (reads are retried);
    /// [`Error::Decode`](crate::Error::Decode) when the answer does not have the documented shape.
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use garage_client::admin::{AccessKeyId, Permissions};
    /// let id = admin.bucket_info_by_alias("backups").await?.id;
    /// let write = Permissions { write: true, ..Default::default() };
    /// admin.deny_key(&id, &AccessKeyId::from("GK31c2f218a2e44f485b94239e"), write).await?;
    /// # Ok(()) }
    /// ```
    pub async fn deny_key(
        &self,
        bucket_id: &BucketId,
        access_key_id: &AccessKeyId,
        permissions: Permissions,
    ) -> Result<BucketInfo> {
        let body = json!({ "bucketId": bucket_id, "accessKeyId": access_key_id, "permissions": permissions });
        self.call(Call::new("DenyBucketKey").body(body)).await
    }

    /// Enables website hosting with this configuration, or disables it with `None`
    /// (`UpdateBucket` `websiteAccess`; Garage keeps its routing rules).
    ///
    /// # Errors
    ///
    /// [`Error::Admin`](crate::Error::Admin) when Garage refuses the call (see
    /// [`Error::is_not_found`](crate::Error::is_not_found),
    /// [`Error::is_unauthenticated`](crate::Error::is_unauthenticated));
    /// [`Error::Transport`](crate::Error::Transport) when no answer came (reads are retried);
    /// [`Error::Decode`](crate::Error::Decode) when the answer does not have the documented shape.
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use garage_client::admin::WebsiteConfig;
    /// let id = admin.bucket_info_by_alias("site").await?.id;
    /// admin.set_website(&id, Some(&WebsiteConfig::new("index.html"))).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_website(
        &self,
        id: &BucketId,
        website: Option<&WebsiteConfig>,
    ) -> Result<BucketInfo> {
        let access = match website {
            Some(w) => json!({
                "enabled": true,
                "indexDocument": w.index_document,
                "errorDocument": w.error_document,
            }),
            None => json!({ "enabled": false }),
        };
        self.update_bucket(id, json!({ "websiteAccess": access }))
            .await
    }

    /// Replaces the bucket's CORS rules (an empty slice removes them; Garage ≥ 2.3).
    ///
    /// # Errors
    ///
    /// [`Error::Admin`](crate::Error::Admin) when Garage refuses the call (see
    /// [`Error::is_not_found`](crate::Error::is_not_found),
    /// [`Error::is_unauthenticated`](crate::Error::is_unauthenticated));
    /// [`Error::Transport`](crate::Error::Transport) when no answer came (reads are retried);
    /// [`Error::Decode`](crate::Error::Decode) when the answer does not have the documented shape.
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use garage_client::s3::CorsRule;
    /// let id = admin.bucket_info_by_alias("site").await?.id;
    /// admin.set_cors_rules(&id, &[CorsRule::new(["https://example.org"], ["GET"])]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_cors_rules(&self, id: &BucketId, rules: &[CorsRule]) -> Result<BucketInfo> {
        self.update_bucket(id, json!({ "corsRules": rules })).await
    }

    /// Replaces the bucket's lifecycle rules (an empty slice removes them; Garage ≥ 2.3), e.g. a
    /// rule that aborts multipart uploads left unfinished for a day
    /// ([`LifecycleRule::abort_incomplete_uploads_after`]). Garage applies lifecycle rules once a
    /// day.
    ///
    /// # Errors
    ///
    /// [`Error::Admin`](crate::Error::Admin) when Garage refuses the call (see
    /// [`Error::is_not_found`](crate::Error::is_not_found),
    /// [`Error::is_unauthenticated`](crate::Error::is_unauthenticated));
    /// [`Error::Transport`](crate::Error::Transport) when no answer came (reads are retried);
    /// [`Error::Decode`](crate::Error::Decode) when the answer does not have the documented shape.
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use garage_client::s3::LifecycleRule;
    /// let id = admin.bucket_info_by_alias("backups").await?.id;
    /// admin.set_lifecycle_rules(&id, &[LifecycleRule::abort_incomplete_uploads_after(1)]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_lifecycle_rules(
        &self,
        id: &BucketId,
        rules: &[LifecycleRule],
    ) -> Result<BucketInfo> {
        self.update_bucket(id, json!({ "lifecycleRules": rules }))
            .await
    }

    async fn update_bucket(&self, id: &BucketId, body: serde_json::Value) -> Result<BucketInfo> {
        self.call(Call::new("UpdateBucket").q("id", id.as_str()).body(body))
            .await
    }

    /// `CleanupIncompleteUploads`: aborts the bucket's multipart uploads started more than
    /// `older_than` ago (whole seconds) and returns how many were deleted.
    ///
    /// # Errors
    ///
    /// [`Error::Admin`](crate::Error::Admin) when Garage refuses the call (see
    /// [`Error::is_not_found`](crate::Error::is_not_found),
    /// [`Error::is_unauthenticated`](crate::Error::is_unauthenticated));
    /// [`Error::Transport`](crate::Error::Transport) when no answer came (reads are retried);
    /// [`Error::Decode`](crate::Error::Decode) when the answer does not have the documented shape;
    /// [`Error::Unsupported`](crate::Error::Unsupported) against Garage 1.x (admin API v1).
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let id = admin.bucket_info_by_alias("backups").await?.id;
    /// let n = admin.cleanup_incomplete_uploads(&id, std::time::Duration::from_secs(86_400)).await?;
    /// println!("{n} uploads aborted");
    /// # Ok(()) }
    /// ```
    pub async fn cleanup_incomplete_uploads(
        &self,
        bucket_id: &BucketId,
        older_than: Duration,
    ) -> Result<u64> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct R {
            uploads_deleted: u64,
        }
        let body = json!({ "bucketId": bucket_id, "olderThanSecs": older_than.as_secs() });
        let r: R = self
            .call(Call::new("CleanupIncompleteUploads").body(body))
            .await?;
        Ok(r.uploads_deleted)
    }

    /// `InspectObject`: the stored versions and blocks of one key (404 `NoSuchKey` if Garage
    /// has no entry for it).
    ///
    /// # Errors
    ///
    /// [`Error::Admin`](crate::Error::Admin) when Garage refuses the call (see
    /// [`Error::is_not_found`](crate::Error::is_not_found),
    /// [`Error::is_unauthenticated`](crate::Error::is_unauthenticated));
    /// [`Error::Transport`](crate::Error::Transport) when no answer came (reads are retried);
    /// [`Error::Decode`](crate::Error::Decode) when the answer does not have the documented shape
    /// (404 `NoSuchKey`); [`Error::Unsupported`](crate::Error::Unsupported) against Garage 1.x
    /// (admin API v1).
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let id = admin.bucket_info_by_alias("backups").await?.id;
    /// let o = admin.inspect_object(&id, "db/dump.sql").await?;
    /// println!("{} versions", o.versions.len());
    /// # Ok(()) }
    /// ```
    pub async fn inspect_object(&self, bucket_id: &BucketId, key: &str) -> Result<InspectedObject> {
        self.call(
            Call::new("InspectObject")
                .q("bucketId", bucket_id.as_str())
                .q("key", key),
        )
        .await
    }
}
