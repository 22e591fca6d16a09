//! Access keys: listing, info, creation, import, flags, expiration, deletion.

use futures::TryStreamExt;
use futures::stream::BoxStream;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::types::{AccessKeyId, KeyInfo, KeyListEntry};
use super::{AdminClient, Call};
use crate::error::Result;

impl AdminClient {
    /// `ListKeys`: every key, fetched in pages like [`AdminClient::list_buckets`].
    pub async fn list_keys(&self) -> Result<Vec<KeyListEntry>> {
        self.list_keys_stream().try_collect().await
    }

    /// [`Self::list_keys`] as a stream that fetches each page when the previous one has been
    /// consumed.
    pub fn list_keys_stream(&self) -> BoxStream<'static, Result<KeyListEntry>> {
        self.list_stream("ListKeys")
    }

    /// `GetKeyInfo` by id, without the secret key.
    pub async fn key_info(&self, access_key_id: &AccessKeyId) -> Result<KeyInfo> {
        self.call(Call::new("GetKeyInfo").q("id", access_key_id.as_str()))
            .await
    }

    /// `GetKeyInfo` by id with `showSecretKey`: [`KeyInfo::secret_access_key`] is set.
    pub async fn key_info_with_secret(&self, access_key_id: &AccessKeyId) -> Result<KeyInfo> {
        self.call(
            Call::new("GetKeyInfo")
                .q("id", access_key_id.as_str())
                .q("showSecretKey", "true"),
        )
        .await
    }

    /// `CreateKey` (the answer holds the secret).
    pub async fn create_key(&self, name: &str) -> Result<KeyInfo> {
        self.call(Call::new("CreateKey").body(json!({ "name": name })))
            .await
    }

    /// `ImportKey` with a given id (`GK` + 24 hex) and secret (64 hex).
    pub async fn import_key(
        &self,
        access_key_id: &AccessKeyId,
        secret: &SecretString,
        name: &str,
    ) -> Result<KeyInfo> {
        let body = json!({ "accessKeyId": access_key_id, "secretAccessKey": secret.expose_secret(), "name": name });
        self.call(Call::new("ImportKey").body(body)).await
    }

    /// Lets a key create buckets through S3 (`UpdateKey` `allow.createBucket`).
    pub async fn allow_key_create_bucket(&self, access_key_id: &AccessKeyId) -> Result<KeyInfo> {
        let body = json!({ "allow": { "createBucket": true } });
        self.update_key(access_key_id, body).await
    }

    /// Stops a key from creating buckets through S3 (`UpdateKey` `deny.createBucket`).
    pub async fn deny_key_create_bucket(&self, access_key_id: &AccessKeyId) -> Result<KeyInfo> {
        let body = json!({ "deny": { "createBucket": true } });
        self.update_key(access_key_id, body).await
    }

    async fn update_key(
        &self,
        access_key_id: &AccessKeyId,
        body: serde_json::Value,
    ) -> Result<KeyInfo> {
        self.call(
            Call::new("UpdateKey")
                .q("id", access_key_id.as_str())
                .body(body),
        )
        .await
    }

    /// `DeleteKey`.
    pub async fn delete_key(&self, access_key_id: &AccessKeyId) -> Result<()> {
        self.call_value(Call::new("DeleteKey").q("id", access_key_id.as_str()))
            .await
            .map(drop)
    }

    /// Sets when the key stops working (`UpdateKey` `expiration`), or makes it never expire
    /// with `None` (`neverExpires`). Garage 2.x.
    pub async fn set_key_expiration(
        &self,
        access_key_id: &AccessKeyId,
        expiration: Option<jiff::Timestamp>,
    ) -> Result<KeyInfo> {
        let body = match expiration {
            Some(t) => json!({ "expiration": t }),
            None => json!({ "neverExpires": true }),
        };
        self.update_key(access_key_id, body).await
    }
}
