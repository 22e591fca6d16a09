//! Admin API tokens (Garage ≥ 2.0): list, info, create with scope and expiry, update, delete,
//! and the token the client itself uses (`GetCurrentAdminTokenInfo`, Garage ≥ 2.1).
//!
//! Shapes from `garage_api_admin-2.5.0:api.rs` (`GetAdminTokenInfoResponse`,
//! `UpdateAdminTokenRequestBody`, `CreateAdminTokenResponse`).

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::{AdminClient, Call};
use crate::error::Result;

/// An admin token as Garage describes it (never its secret).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct AdminTokenInfo {
    /// Token id, the part of the bearer token before the `.` (`None` for the tokens of the
    /// daemon's configuration file).
    pub id: Option<String>,
    /// Creation time.
    pub created: Option<jiff::Timestamp>,
    /// Name.
    pub name: String,
    /// Expiration time, `None` for never.
    pub expiration: Option<jiff::Timestamp>,
    /// Expired already.
    pub expired: bool,
    /// Operations the token may call (v2 operation names such as `ListBuckets`, `Metrics` for
    /// `/metrics`, or `*` for all).
    pub scope: Vec<String>,
}

impl AdminTokenInfo {
    /// Whether the token may call this operation.
    pub fn allows(&self, operation: &str) -> bool {
        self.scope.iter().any(|s| s == "*" || s == operation)
    }
}

/// A token just created: its secret (shown once by Garage) and its description.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct NewAdminToken {
    /// The bearer token (`<id>.<secret>`). Garage shows it only once.
    pub secret_token: SecretString,
    /// Its description.
    #[serde(flatten)]
    pub info: AdminTokenInfo,
}

/// Name, scope and expiry of an admin token to create or update.
///
/// ```
/// use garage_client::admin::AdminTokenSpec;
/// let spec = AdminTokenSpec::new("monitoring")
///     .with_scope(["GetClusterHealth", "ListBuckets", "GetBucketInfo", "Metrics"])
///     .with_expiration("2027-12-31T00:00:00Z".parse().unwrap());
/// # let _ = spec;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AdminTokenSpec {
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Expiration time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration: Option<jiff::Timestamp>,
    /// Remove any expiration.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub never_expires: bool,
    /// Operations allowed (Garage's default when unset on creation: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Vec<String>>,
}

impl AdminTokenSpec {
    /// A token with this name.
    pub fn new(name: impl Into<String>) -> Self {
        AdminTokenSpec {
            name: Some(name.into()),
            ..Default::default()
        }
    }
    /// Allowed operations (`*` for all). Granting `CreateAdminToken` or `UpdateAdminToken`
    /// amounts to granting `*`.
    pub fn with_scope<S: Into<String>>(mut self, scope: impl IntoIterator<Item = S>) -> Self {
        self.scope = Some(scope.into_iter().map(Into::into).collect());
        self
    }
    /// Expires at this time.
    pub fn with_expiration(mut self, at: jiff::Timestamp) -> Self {
        self.expiration = Some(at);
        self.never_expires = false;
        self
    }
    /// Never expires.
    pub fn never_expires(mut self) -> Self {
        self.expiration = None;
        self.never_expires = true;
        self
    }
}

impl AdminClient {
    /// `GetCurrentAdminTokenInfo`: the token this client uses, with its scope and expiry
    /// (allowed whatever the token's scope; Garage ≥ 2.1).
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
    /// let me = admin.current_token_info().await?;
    /// println!("token {:?} may list buckets: {}", me.name, me.allows("ListBuckets"));
    /// # Ok(()) }
    /// ```
    pub async fn current_token_info(&self) -> Result<AdminTokenInfo> {
        self.call(Call::new("GetCurrentAdminTokenInfo")).await
    }

    /// `ListAdminTokens` (the configuration file's tokens included, without id).
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
    /// for t in admin.list_admin_tokens().await? {
    ///     println!("{} {:?}", t.name, t.expiration);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_admin_tokens(&self) -> Result<Vec<AdminTokenInfo>> {
        self.call(Call::new("ListAdminTokens")).await
    }

    /// `GetAdminTokenInfo` by id.
    ///
    /// # Errors
    ///
    /// [`Error::Admin`](crate::Error::Admin) when Garage refuses the call (see
    /// [`Error::is_not_found`](crate::Error::is_not_found),
    /// [`Error::is_unauthenticated`](crate::Error::is_unauthenticated));
    /// [`Error::Transport`](crate::Error::Transport) when no answer came (reads are retried);
    /// [`Error::Decode`](crate::Error::Decode) when the answer does not have the documented shape
    /// (404 `NoSuchAdminToken`); [`Error::Unsupported`](crate::Error::Unsupported) against Garage
    /// 1.x (admin API v1).
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let t = admin.admin_token_info("8ed1830b10a276ff57061950").await?;
    /// println!("{:?}", t.scope);
    /// # Ok(()) }
    /// ```
    pub async fn admin_token_info(&self, id: &str) -> Result<AdminTokenInfo> {
        self.call(Call::new("GetAdminTokenInfo").q("id", id)).await
    }

    /// `CreateAdminToken`: the answer holds the bearer token, shown only this once.
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
    /// use garage_client::admin::AdminTokenSpec;
    /// let spec = AdminTokenSpec::new("monitoring").with_scope(["GetClusterHealth", "Metrics"]);
    /// let token = admin.create_admin_token(&spec).await?;
    /// # let _ = token.secret_token;
    /// # Ok(()) }
    /// ```
    pub async fn create_admin_token(&self, spec: &AdminTokenSpec) -> Result<NewAdminToken> {
        let body = serde_json::to_value(spec).map_err(|e| crate::Error::decode("token spec", e))?;
        self.call(Call::new("CreateAdminToken").body(body)).await
    }

    /// `UpdateAdminToken`: changes the fields set in `spec`.
    ///
    /// # Errors
    ///
    /// [`Error::Admin`](crate::Error::Admin) when Garage refuses the call (see
    /// [`Error::is_not_found`](crate::Error::is_not_found),
    /// [`Error::is_unauthenticated`](crate::Error::is_unauthenticated));
    /// [`Error::Transport`](crate::Error::Transport) when no answer came (reads are retried);
    /// [`Error::Decode`](crate::Error::Decode) when the answer does not have the documented shape
    /// (404 `NoSuchAdminToken`); [`Error::Unsupported`](crate::Error::Unsupported) against Garage
    /// 1.x (admin API v1).
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use garage_client::admin::AdminTokenSpec;
    /// let spec = AdminTokenSpec::default().never_expires();
    /// admin.update_admin_token("8ed1830b10a276ff57061950", &spec).await?;
    /// # Ok(()) }
    /// ```
    pub async fn update_admin_token(
        &self,
        id: &str,
        spec: &AdminTokenSpec,
    ) -> Result<AdminTokenInfo> {
        let body = serde_json::to_value(spec).map_err(|e| crate::Error::decode("token spec", e))?;
        self.call(Call::new("UpdateAdminToken").q("id", id).body(body))
            .await
    }

    /// `DeleteAdminToken`.
    ///
    /// # Errors
    ///
    /// [`Error::Admin`](crate::Error::Admin) when Garage refuses the call (see
    /// [`Error::is_not_found`](crate::Error::is_not_found),
    /// [`Error::is_unauthenticated`](crate::Error::is_unauthenticated));
    /// [`Error::Transport`](crate::Error::Transport) when no answer came (reads are retried);
    /// [`Error::Decode`](crate::Error::Decode) when the answer does not have the documented shape
    /// (404 `NoSuchAdminToken`); [`Error::Unsupported`](crate::Error::Unsupported) against Garage
    /// 1.x (admin API v1).
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// admin.delete_admin_token("8ed1830b10a276ff57061950").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_admin_token(&self, id: &str) -> Result<()> {
        self.call_value(Call::new("DeleteAdminToken").q("id", id))
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn spec_serializes_only_what_is_set() {
        let s = AdminTokenSpec::new("m").with_scope(["ListBuckets"]);
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            serde_json::json!({"name": "m", "scope": ["ListBuckets"]})
        );
        let s = AdminTokenSpec::default()
            .with_expiration("2027-01-02T03:04:05Z".parse().unwrap())
            .never_expires();
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            serde_json::json!({"neverExpires": true})
        );
    }

    #[test]
    fn new_token_reads_flattened_info_and_hides_the_secret() {
        let t: NewAdminToken = serde_json::from_str(
            r#"{"secretToken":"abc.s3cr3t","id":"abc","created":"2026-12-06T19:00:00.123Z","name":"m","expiration":null,"expired":false,"scope":["ListBuckets"]}"#,
        )
        .unwrap();
        assert_eq!(t.secret_token.expose_secret(), "abc.s3cr3t");
        assert_eq!(t.info.id.as_deref(), Some("abc"));
        assert!(t.info.allows("ListBuckets") && !t.info.allows("GetClusterHealth"));
        assert!(!format!("{t:?}").contains("s3cr3t"));
    }
}
