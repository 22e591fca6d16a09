//! Access keys: listing, info, creation, import, flags, expiration, deletion.

use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::types::{KeyInfo, KeyListEntry};
use super::{AdminClient, Call};
use crate::error::Result;

impl AdminClient {
    /// `ListKeys`: every key, fetched in pages like [`AdminClient::list_buckets`].
    pub async fn list_keys(&self) -> Result<Vec<KeyListEntry>> {
        self.list_all("ListKeys").await
    }

    /// `GetKeyInfo` by id; `show_secret` includes the secret key.
    pub async fn key_info(&self, access_key_id: &str, show_secret: bool) -> Result<KeyInfo> {
        let mut call = Call::new("GetKeyInfo").q("id", access_key_id);
        if show_secret {
            call = call.q("showSecretKey", "true");
        }
        self.call(call).await
    }

    /// `CreateKey` (the answer holds the secret).
    pub async fn create_key(&self, name: &str) -> Result<KeyInfo> {
        self.call(Call::new("CreateKey").body(json!({ "name": name })))
            .await
    }

    /// `ImportKey` with a given id (`GK` + 24 hex) and secret (64 hex).
    pub async fn import_key(
        &self,
        access_key_id: &str,
        secret: &SecretString,
        name: &str,
    ) -> Result<KeyInfo> {
        let body = json!({ "accessKeyId": access_key_id, "secretAccessKey": secret.expose_secret(), "name": name });
        self.call(Call::new("ImportKey").body(body)).await
    }

    /// Lets a key create buckets through S3 (or not), with `UpdateKey`.
    pub async fn set_key_create_bucket(
        &self,
        access_key_id: &str,
        allowed: bool,
    ) -> Result<KeyInfo> {
        let flag = json!({ "createBucket": true });
        let body = if allowed {
            json!({ "allow": flag })
        } else {
            json!({ "deny": flag })
        };
        self.call(Call::new("UpdateKey").q("id", access_key_id).body(body))
            .await
    }

    /// `DeleteKey`.
    pub async fn delete_key(&self, access_key_id: &str) -> Result<()> {
        self.call_value(Call::new("DeleteKey").q("id", access_key_id))
            .await
            .map(drop)
    }

    /// Sets when the key stops working (`UpdateKey` `expiration`), or makes it never expire
    /// with `None` (`neverExpires`). Garage 2.x.
    pub async fn set_key_expiration(
        &self,
        access_key_id: &str,
        expiration: Option<jiff::Timestamp>,
    ) -> Result<KeyInfo> {
        let body = match expiration {
            Some(t) => json!({ "expiration": t }),
            None => json!({ "neverExpires": true }),
        };
        self.call(Call::new("UpdateKey").q("id", access_key_id).body(body))
            .await
    }
}
