//! Access keys: listing, info, creation, import, flags, expiration, deletion.

use futures_util::TryStreamExt;
use futures_util::stream::BoxStream;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::types::{AccessKeyId, KeyInfo, KeyListEntry};
use super::{AdminClient, Call};
use crate::error::Result;

impl AdminClient {
    /// `ListKeys`: every key, fetched in pages like [`AdminClient::list_buckets`].
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
    /// for k in admin.list_keys().await? {
    ///     println!("{} {}", k.id, k.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_keys(&self) -> Result<Vec<KeyListEntry>> {
        self.list_keys_stream().try_collect().await
    }

    /// [`Self::list_keys`] as a stream that fetches each page when the previous one has been
    /// consumed.
    pub fn list_keys_stream(&self) -> BoxStream<'static, Result<KeyListEntry>> {
        self.list_stream("ListKeys")
    }

    /// `GetKeyInfo` by id, without the secret key.
    ///
    /// # Errors
    ///
    /// [`Error::Admin`](crate::Error::Admin) when Garage refuses the call (see
    /// [`Error::is_not_found`](crate::Error::is_not_found),
    /// [`Error::is_unauthenticated`](crate::Error::is_unauthenticated));
    /// [`Error::Transport`](crate::Error::Transport) when no answer came (reads are retried);
    /// [`Error::Decode`](crate::Error::Decode) when the answer does not have the documented shape
    /// (404 `NoSuchAccessKey`).
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use garage_client::admin::AccessKeyId;
    /// let k = admin.key_info(&AccessKeyId::from("GK31c2f218a2e44f485b94239e")).await?;
    /// println!("{} buckets", k.buckets.len());
    /// # Ok(()) }
    /// ```
    pub async fn key_info(&self, access_key_id: &AccessKeyId) -> Result<KeyInfo> {
        self.call(Call::new("GetKeyInfo").q("id", access_key_id.as_str()))
            .await
    }

    /// `GetKeyInfo` by id with `showSecretKey`: [`KeyInfo::secret_access_key`] is set.
    ///
    /// # Errors
    ///
    /// [`Error::Admin`](crate::Error::Admin) when Garage refuses the call (see
    /// [`Error::is_not_found`](crate::Error::is_not_found),
    /// [`Error::is_unauthenticated`](crate::Error::is_unauthenticated));
    /// [`Error::Transport`](crate::Error::Transport) when no answer came (reads are retried);
    /// [`Error::Decode`](crate::Error::Decode) when the answer does not have the documented shape
    /// (404 `NoSuchAccessKey`).
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use garage_client::admin::AccessKeyId;
    /// let k = admin.key_info_with_secret(&AccessKeyId::from("GK31c2f218a2e44f485b94239e")).await?;
    /// assert!(k.secret_access_key.is_some());
    /// # Ok(()) }
    /// ```
    pub async fn key_info_with_secret(&self, access_key_id: &AccessKeyId) -> Result<KeyInfo> {
        self.call(
            Call::new("GetKeyInfo")
                .q("id", access_key_id.as_str())
                .q("showSecretKey", "true"),
        )
        .await
    }

    /// `CreateKey` (the answer holds the secret).
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
    /// let k = admin.create_key("restic-nightly").await?;
    /// println!("{}", k.access_key_id);
    /// # Ok(()) }
    /// ```
    pub async fn create_key(&self, name: &str) -> Result<KeyInfo> {
        self.call(Call::new("CreateKey").body(json!({ "name": name })))
            .await
    }

    /// `ImportKey` with a given id (`GK` + 24 hex) and secret (64 hex).
    ///
    /// # Errors
    ///
    /// [`Error::Admin`](crate::Error::Admin) when Garage refuses the call (see
    /// [`Error::is_not_found`](crate::Error::is_not_found),
    /// [`Error::is_unauthenticated`](crate::Error::is_unauthenticated));
    /// [`Error::Transport`](crate::Error::Transport) when no answer came (reads are retried);
    /// [`Error::Decode`](crate::Error::Decode) when the answer does not have the documented shape
    /// (409 `KeyAlreadyExists`, 400 for a malformed id or secret).
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use garage_client::admin::AccessKeyId;
    /// let secret = secrecy::SecretString::from("0123456789abcdef".repeat(4));
    /// admin.import_key(&AccessKeyId::from("GK0123456789abcdef01234567"), &secret, "imported").await?;
    /// # Ok(()) }
    /// ```
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
    /// use garage_client::admin::AccessKeyId;
    /// admin.allow_key_create_bucket(&AccessKeyId::from("GK31c2f218a2e44f485b94239e")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn allow_key_create_bucket(&self, access_key_id: &AccessKeyId) -> Result<KeyInfo> {
        let body = json!({ "allow": { "createBucket": true } });
        self.update_key(access_key_id, body).await
    }

    /// Stops a key from creating buckets through S3 (`UpdateKey` `deny.createBucket`).
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
    /// use garage_client::admin::AccessKeyId;
    /// admin.deny_key_create_bucket(&AccessKeyId::from("GK31c2f218a2e44f485b94239e")).await?;
    /// # Ok(()) }
    /// ```
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
    ///
    /// # Errors
    ///
    /// [`Error::Admin`](crate::Error::Admin) when Garage refuses the call (see
    /// [`Error::is_not_found`](crate::Error::is_not_found),
    /// [`Error::is_unauthenticated`](crate::Error::is_unauthenticated));
    /// [`Error::Transport`](crate::Error::Transport) when no answer came (reads are retried);
    /// [`Error::Decode`](crate::Error::Decode) when the answer does not have the documented shape
    /// (404 `NoSuchAccessKey`).
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use garage_client::admin::AccessKeyId;
    /// admin.delete_key(&AccessKeyId::from("GK31c2f218a2e44f485b94239e")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_key(&self, access_key_id: &AccessKeyId) -> Result<()> {
        self.call_value(Call::new("DeleteKey").q("id", access_key_id.as_str()))
            .await
            .map(drop)
    }

    /// Sets when the key stops working (`UpdateKey` `expiration`), or makes it never expire
    /// with `None` (`neverExpires`). Garage 2.x.
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
    /// use garage_client::admin::AccessKeyId;
    /// let at = "2027-01-01T00:00:00Z".parse()?;
    /// admin.set_key_expiration(&AccessKeyId::from("GK31c2f218a2e44f485b94239e"), Some(at)).await?;
    /// # Ok(()) }
    /// ```
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
