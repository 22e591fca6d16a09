//! Unfinished multipart uploads: listing them (`ListMultipartUploads`, paged), their parts
//! (`ListParts`, paged), aborting the old ones, and the bucket lifecycle rules that make the
//! server abort them (`AbortIncompleteMultipartUpload`), plus the CORS rule type the admin API
//! shares.
//!
//! A process killed during an upload leaves its parts on the server, holding disk, until someone
//! aborts the upload: these calls find such uploads and clean them. Shapes from
//! `garage_api_s3-2.5.0:list.rs` and `xml.rs`, `garage_api_common-2.5.0:xml/lifecycle.rs` and
//! `xml/cors.rs`.

use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt};
use http::{HeaderMap, HeaderValue, Method};
use serde::{Deserialize, Serialize};

use super::{Call, S3Client, content_md5, text};
use crate::error::{Error, Result};

/// A multipart upload that was started and neither completed nor aborted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MultipartUpload {
    /// Object key.
    pub key: String,
    /// Upload id.
    pub upload_id: String,
    /// When the upload was started.
    pub initiated: Option<jiff::Timestamp>,
}

/// One page of `ListMultipartUploads`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadsPage {
    /// Uploads of this page, by key then upload id.
    pub uploads: Vec<MultipartUpload>,
    /// Common prefixes (with a delimiter).
    pub common_prefixes: Vec<String>,
    /// Where the next page starts, `None` on the last page.
    pub next: Option<UploadsMarker>,
}

/// Position in a `ListMultipartUploads` listing (`key-marker`, `upload-id-marker`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadsMarker {
    /// Key marker.
    pub key: String,
    /// Upload id marker (Garage may send the special value `include`).
    pub upload_id: Option<String>,
}

/// Options of `ListMultipartUploads`.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ListUploadsOptions {
    /// Only keys starting with this prefix.
    pub prefix: Option<String>,
    /// Group keys up to this delimiter into common prefixes.
    pub delimiter: Option<String>,
    /// Uploads per page (default 1000).
    pub page_size: Option<u32>,
}

impl ListUploadsOptions {
    /// Sets the prefix.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }
    /// Sets the delimiter.
    pub fn with_delimiter(mut self, delimiter: impl Into<String>) -> Self {
        self.delimiter = Some(delimiter.into());
        self
    }
    /// Sets the page size.
    pub fn with_page_size(mut self, n: u32) -> Self {
        self.page_size = Some(n);
        self
    }
}

/// A part already uploaded to an unfinished multipart upload (`ListParts`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadedPart {
    /// Part number (1-based).
    pub part_number: u32,
    /// ETag without quotes.
    pub etag: String,
    /// Size in bytes.
    pub size: u64,
    /// Upload time.
    pub last_modified: Option<jiff::Timestamp>,
    /// CRC32C (base64), when the part was sent with one.
    pub checksum_crc32c: Option<String>,
}

/// A CORS rule of a bucket (the S3 `CORSRule`, also the JSON of the admin API's `corsRules`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CorsRule {
    /// Rule id.
    #[serde(rename = "ID", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// How long browsers may cache the preflight answer.
    #[serde(
        rename = "MaxAgeSeconds",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub max_age_seconds: Option<u64>,
    /// Allowed origins (`*` for any).
    #[serde(rename = "AllowedOrigin", default)]
    pub allowed_origins: Vec<String>,
    /// Allowed methods (`GET`, `PUT`, …).
    #[serde(rename = "AllowedMethod", default)]
    pub allowed_methods: Vec<String>,
    /// Allowed request headers.
    #[serde(rename = "AllowedHeader", default)]
    pub allowed_headers: Vec<String>,
    /// Response headers exposed to scripts.
    #[serde(rename = "ExposeHeader", default)]
    pub expose_headers: Vec<String>,
}

impl CorsRule {
    /// Allows these methods from these origins.
    pub fn new<O: Into<String>, M: Into<String>>(
        origins: impl IntoIterator<Item = O>,
        methods: impl IntoIterator<Item = M>,
    ) -> Self {
        CorsRule {
            allowed_origins: origins.into_iter().map(Into::into).collect(),
            allowed_methods: methods.into_iter().map(Into::into).collect(),
            ..Default::default()
        }
    }
    /// Sets the id.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }
    /// Allows these request headers.
    pub fn with_allowed_headers<H: Into<String>>(mut self, h: impl IntoIterator<Item = H>) -> Self {
        self.allowed_headers = h.into_iter().map(Into::into).collect();
        self
    }
    /// Exposes these response headers.
    pub fn with_expose_headers<H: Into<String>>(mut self, h: impl IntoIterator<Item = H>) -> Self {
        self.expose_headers = h.into_iter().map(Into::into).collect();
        self
    }
    /// Sets the preflight cache time.
    pub fn with_max_age(mut self, secs: u64) -> Self {
        self.max_age_seconds = Some(secs);
        self
    }
}

/// A bucket lifecycle rule (the S3 `Rule`, also the JSON of the admin API's `lifecycleRules`).
///
/// ```
/// use garage_client::s3::LifecycleRule;
/// // Abort uploads left unfinished for a day, in the whole bucket.
/// let rule = LifecycleRule::abort_incomplete_uploads_after(1).with_id("abort-unfinished");
/// # let _ = rule;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "RuleRaw", into = "RuleRaw")]
#[non_exhaustive]
pub struct LifecycleRule {
    /// Rule id.
    pub id: Option<String>,
    /// `Status` `Enabled` (else `Disabled`).
    pub enabled: bool,
    /// Which objects the rule applies to (empty: all).
    pub filter: LifecycleFilter,
    /// Objects expire (are deleted) after this.
    pub expiration: Option<LifecycleExpiration>,
    /// Unfinished multipart uploads are aborted this many days after they started.
    pub abort_incomplete_multipart_upload_days: Option<u32>,
}

impl LifecycleRule {
    /// An enabled rule that aborts multipart uploads `days` days after they started.
    pub fn abort_incomplete_uploads_after(days: u32) -> Self {
        LifecycleRule {
            enabled: true,
            abort_incomplete_multipart_upload_days: Some(days),
            ..Default::default()
        }
    }
    /// An enabled rule that deletes objects `days` days after their creation.
    pub fn expire_after_days(days: u32) -> Self {
        LifecycleRule {
            enabled: true,
            expiration: Some(LifecycleExpiration::Days(days)),
            ..Default::default()
        }
    }
    /// Sets the id.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }
    /// Only keys with this prefix.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.filter.prefix = Some(prefix.into());
        self
    }
    /// Also aborts unfinished uploads after `days` days.
    pub fn with_abort_incomplete_uploads_after(mut self, days: u32) -> Self {
        self.abort_incomplete_multipart_upload_days = Some(days);
        self
    }
    /// Enables or disables the rule.
    pub fn with_enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }
}

/// Which objects a lifecycle rule applies to (all conditions must hold).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LifecycleFilter {
    /// Key prefix.
    pub prefix: Option<String>,
    /// Objects larger than this many bytes.
    pub object_size_greater_than: Option<u64>,
    /// Objects smaller than this many bytes.
    pub object_size_less_than: Option<u64>,
}

/// When objects expire.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LifecycleExpiration {
    /// Days after creation.
    Days(u32),
    /// At this date (`YYYY-MM-DD` or RFC 3339 midnight, as S3 wants).
    Date(String),
}

#[derive(Serialize, Deserialize, Default, Clone)]
struct FilterRaw {
    #[serde(rename = "And", default, skip_serializing_if = "Option::is_none")]
    and: Option<Box<FilterRaw>>,
    #[serde(rename = "Prefix", default, skip_serializing_if = "Option::is_none")]
    prefix: Option<String>,
    #[serde(
        rename = "ObjectSizeGreaterThan",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    size_gt: Option<u64>,
    #[serde(
        rename = "ObjectSizeLessThan",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    size_lt: Option<u64>,
}

#[derive(Serialize, Deserialize, Default, Clone)]
struct ExpirationRaw {
    #[serde(rename = "Days", default, skip_serializing_if = "Option::is_none")]
    days: Option<u32>,
    #[serde(rename = "Date", default, skip_serializing_if = "Option::is_none")]
    date: Option<String>,
}

#[derive(Serialize, Deserialize, Clone)]
struct AbortRaw {
    #[serde(rename = "DaysAfterInitiation")]
    days: u32,
}

#[derive(Serialize, Deserialize, Clone)]
struct RuleRaw {
    #[serde(rename = "ID", default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(rename = "Status", default)]
    status: String,
    #[serde(rename = "Filter", default, skip_serializing_if = "Option::is_none")]
    filter: Option<FilterRaw>,
    #[serde(
        rename = "Expiration",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    expiration: Option<ExpirationRaw>,
    #[serde(
        rename = "AbortIncompleteMultipartUpload",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    abort: Option<AbortRaw>,
}

impl From<RuleRaw> for LifecycleRule {
    fn from(r: RuleRaw) -> Self {
        // Garage wraps two or more conditions in `<And>` (`xml/lifecycle.rs`).
        let f = r.filter.unwrap_or_default();
        let f = match f.and {
            Some(and) => *and,
            None => f,
        };
        LifecycleRule {
            id: r.id,
            enabled: r.status == "Enabled",
            filter: LifecycleFilter {
                prefix: f.prefix,
                object_size_greater_than: f.size_gt,
                object_size_less_than: f.size_lt,
            },
            expiration: r.expiration.and_then(|e| match (e.days, e.date) {
                (Some(d), _) => Some(LifecycleExpiration::Days(d)),
                (None, Some(d)) => Some(LifecycleExpiration::Date(d)),
                (None, None) => None,
            }),
            abort_incomplete_multipart_upload_days: r.abort.map(|a| a.days),
        }
    }
}

impl From<LifecycleRule> for RuleRaw {
    fn from(r: LifecycleRule) -> Self {
        let f = FilterRaw {
            and: None,
            prefix: r.filter.prefix,
            size_gt: r.filter.object_size_greater_than,
            size_lt: r.filter.object_size_less_than,
        };
        let conditions = [f.prefix.is_some(), f.size_gt.is_some(), f.size_lt.is_some()]
            .iter()
            .filter(|c| **c)
            .count();
        let filter = if conditions > 1 {
            FilterRaw {
                and: Some(Box::new(f)),
                ..Default::default()
            }
        } else {
            f
        };
        RuleRaw {
            id: r.id,
            status: if r.enabled { "Enabled" } else { "Disabled" }.to_owned(),
            filter: Some(filter),
            expiration: r.expiration.map(|e| match e {
                LifecycleExpiration::Days(d) => ExpirationRaw {
                    days: Some(d),
                    date: None,
                },
                LifecycleExpiration::Date(d) => ExpirationRaw {
                    days: None,
                    date: Some(d),
                },
            }),
            abort: r
                .abort_incomplete_multipart_upload_days
                .map(|days| AbortRaw { days }),
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename = "LifecycleConfiguration")]
struct LifecycleConfigurationXml {
    #[serde(rename = "@xmlns", default, skip_deserializing)]
    xmlns: &'static str,
    #[serde(rename = "Rule", default)]
    rules: Vec<LifecycleRule>,
}

/// `LifecycleConfiguration` XML body of `PutBucketLifecycleConfiguration`.
pub(crate) fn lifecycle_body(rules: &[LifecycleRule]) -> Result<String> {
    let doc = LifecycleConfigurationXml {
        xmlns: "http://s3.amazonaws.com/doc/2006-03-01/",
        rules: rules.to_vec(),
    };
    quick_xml::se::to_string(&doc).map_err(|e| Error::Config(format!("lifecycle rules: {e}")))
}

pub(crate) fn parse_lifecycle(xml: &str) -> Result<Vec<LifecycleRule>> {
    let doc: LifecycleConfigurationXml =
        quick_xml::de::from_str(xml).map_err(|e| Error::decode("LifecycleConfiguration", e))?;
    Ok(doc.rules)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListUploadsXml {
    #[serde(default)]
    encoding_type: Option<String>,
    #[serde(default)]
    is_truncated: bool,
    #[serde(default)]
    next_key_marker: Option<String>,
    #[serde(default)]
    next_upload_id_marker: Option<String>,
    #[serde(default, rename = "Upload")]
    uploads: Vec<UploadXml>,
    #[serde(default)]
    common_prefixes: Vec<PrefixXml>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UploadXml {
    key: String,
    upload_id: String,
    #[serde(default)]
    initiated: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PrefixXml {
    prefix: String,
}

pub(crate) fn parse_list_uploads(xml: &str) -> Result<UploadsPage> {
    let r: ListUploadsXml = quick_xml::de::from_str(xml)
        .map_err(|e| Error::decode("ListMultipartUploads result", e))?;
    let encoded = r.encoding_type.as_deref() == Some("url");
    let dec = |s: String| if encoded { url_decode(&s) } else { Ok(s) };
    let mut uploads = Vec::with_capacity(r.uploads.len());
    for u in r.uploads {
        uploads.push(MultipartUpload {
            key: dec(u.key)?,
            upload_id: u.upload_id,
            initiated: u.initiated.and_then(|t| t.parse().ok()),
        });
    }
    let common_prefixes = r
        .common_prefixes
        .into_iter()
        .map(|p| dec(p.prefix))
        .collect::<Result<Vec<_>>>()?;
    let next = match (r.is_truncated, r.next_key_marker) {
        (true, Some(key)) => Some(UploadsMarker {
            key: dec(key)?,
            upload_id: r.next_upload_id_marker.filter(|m| !m.is_empty()),
        }),
        (true, None) => {
            return Err(Error::decode(
                "ListMultipartUploads result",
                "truncated listing without NextKeyMarker",
            ));
        }
        (false, _) => None,
    };
    Ok(UploadsPage {
        uploads,
        common_prefixes,
        next,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListPartsXml {
    #[serde(default)]
    is_truncated: bool,
    #[serde(default)]
    next_part_number_marker: Option<u32>,
    #[serde(default, rename = "Part")]
    parts: Vec<PartXml>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PartXml {
    part_number: u32,
    #[serde(rename = "ETag", default)]
    etag: String,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    last_modified: Option<String>,
    #[serde(rename = "ChecksumCRC32C", default)]
    checksum_crc32c: Option<String>,
}

/// One page of parts and the marker of the next page.
pub(crate) fn parse_list_parts(xml: &str) -> Result<(Vec<UploadedPart>, Option<u32>)> {
    let r: ListPartsXml =
        quick_xml::de::from_str(xml).map_err(|e| Error::decode("ListParts result", e))?;
    let parts = r
        .parts
        .into_iter()
        .map(|p| UploadedPart {
            part_number: p.part_number,
            etag: p.etag.trim_matches('"').to_owned(),
            size: p.size,
            last_modified: p.last_modified.and_then(|t| t.parse().ok()),
            checksum_crc32c: p.checksum_crc32c,
        })
        .collect();
    let next = if r.is_truncated {
        Some(r.next_part_number_marker.ok_or_else(|| {
            Error::decode(
                "ListParts result",
                "truncated listing without NextPartNumberMarker",
            )
        })?)
    } else {
        None
    };
    Ok((parts, next))
}

/// Decodes a value of a listing sent with `encoding-type=url` (`%XX`, and `+` for a space as
/// AWS writes it; Garage writes `%20` and `%2B`: `garage_api_common-2.5.0:encoding.rs`).
pub(crate) fn url_decode(s: &str) -> Result<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (
                    b.get(i + 1).and_then(|c| hex(*c)),
                    b.get(i + 2).and_then(|c| hex(*c)),
                ) {
                    (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
                    _ => {
                        return Err(Error::decode(
                            "url-encoded listing value",
                            format!("bad escape in {s:?}"),
                        ));
                    }
                }
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|e| Error::decode("url-encoded listing value", e))
}

impl S3Client {
    /// One page of `ListMultipartUploads` (keys requested URL-encoded, so any key round-trips),
    /// starting after `marker` (the previous page's [`UploadsPage::next`]).
    ///
    /// # Errors
    ///
    /// [`Error::S3`] when Garage refuses the request (see
    /// [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]);
    /// [`Error::Transport`] when no answer came within the retries;
    /// [`Error::InvalidBucketName`] /
    /// [`Error::InvalidKey`] before any request for a name that cannot be
    /// sent byte-exact; [`Error::Decode`] for a listing that cannot be read.
    ///
    /// ```no_run
    /// # async fn demo(s3: garage_client::S3Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let page = s3.list_multipart_uploads_page("backups", &Default::default(), None).await?;
    /// println!("{} unfinished uploads", page.uploads.len());
    /// # Ok(()) }
    /// ```
    pub async fn list_multipart_uploads_page(
        &self,
        bucket: &str,
        options: &ListUploadsOptions,
        marker: Option<&UploadsMarker>,
    ) -> Result<UploadsPage> {
        let page_size = options.page_size.unwrap_or(1000).to_string();
        let mut q: Vec<(&str, &str)> = vec![
            ("uploads", ""),
            ("encoding-type", "url"),
            ("max-uploads", &page_size),
        ];
        if let Some(p) = &options.prefix {
            q.push(("prefix", p));
        }
        if let Some(d) = &options.delimiter {
            q.push(("delimiter", d));
        }
        if let Some(m) = marker {
            q.push(("key-marker", &m.key));
            if let Some(u) = &m.upload_id {
                q.push(("upload-id-marker", u));
            }
        }
        let url = self.url(bucket, None, &q)?;
        let resp = self.call(Call::new(Method::GET, url)).await?;
        parse_list_uploads(&text(resp).await?)
    }

    /// Every unfinished multipart upload of the bucket, as a stream that fetches pages as it
    /// goes.
    pub fn list_multipart_uploads(
        &self,
        bucket: &str,
        options: ListUploadsOptions,
    ) -> BoxStream<'static, Result<MultipartUpload>> {
        struct St {
            client: S3Client,
            bucket: String,
            options: ListUploadsOptions,
            marker: Option<UploadsMarker>,
            done: bool,
        }
        let st = St {
            client: self.clone(),
            bucket: bucket.to_owned(),
            options,
            marker: None,
            done: false,
        };
        futures_util::stream::unfold(st, |mut st| async move {
            if st.done {
                return None;
            }
            let page = st
                .client
                .list_multipart_uploads_page(&st.bucket, &st.options, st.marker.as_ref())
                .await;
            let items: Vec<Result<MultipartUpload>> = match page {
                Ok(p) => {
                    match p.next {
                        // A marker that does not move would page forever.
                        Some(next) if Some(&next) != st.marker.as_ref() => st.marker = Some(next),
                        _ => st.done = true,
                    }
                    p.uploads.into_iter().map(Ok).collect()
                }
                Err(e) => {
                    st.done = true;
                    vec![Err(e)]
                }
            };
            Some((futures_util::stream::iter(items), st))
        })
        .flatten()
        .boxed()
    }

    /// Every part already uploaded to an unfinished upload (`ListParts`, all pages).
    ///
    /// # Errors
    ///
    /// [`Error::S3`] when Garage refuses the request (see
    /// [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]) (404 `NoSuchUpload`);
    /// [`Error::Transport`] when no answer came within the retries;
    /// [`Error::InvalidBucketName`] /
    /// [`Error::InvalidKey`] before any request for a name that cannot be
    /// sent byte-exact; [`Error::Decode`] for a listing that cannot be read.
    ///
    /// ```no_run
    /// # async fn demo(s3: garage_client::S3Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let parts = s3.list_parts("backups", "vm/100.img", "upload-id").await?;
    /// println!("{} parts", parts.len());
    /// # Ok(()) }
    /// ```
    pub async fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<UploadedPart>> {
        let mut all = Vec::new();
        let mut marker: Option<u32> = None;
        loop {
            let m = marker.map(|m| m.to_string());
            let mut q: Vec<(&str, &str)> = vec![("uploadId", upload_id), ("max-parts", "1000")];
            if let Some(m) = &m {
                q.push(("part-number-marker", m));
            }
            let url = self.url(bucket, Some(key), &q)?;
            let resp = self.call(Call::new(Method::GET, url)).await?;
            let (parts, next) = parse_list_parts(&text(resp).await?)?;
            all.extend(parts);
            match next {
                Some(n) if Some(n) > marker => marker = Some(n),
                _ => return Ok(all),
            }
        }
    }

    /// Aborts every unfinished upload of the bucket started more than `older_than` ago (uploads
    /// without a start time are kept) and returns the aborted ones. The S3 counterpart of
    /// [`crate::AdminClient::cleanup_incomplete_uploads`], for holders of an S3 key only.
    ///
    /// # Errors
    ///
    /// [`Error::S3`] when Garage refuses the request (see
    /// [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]);
    /// [`Error::Transport`] when no answer came within the retries;
    /// [`Error::InvalidBucketName`] /
    /// [`Error::InvalidKey`] before any request for a name that cannot be
    /// sent byte-exact; the first failed listing or abort ends the call.
    ///
    /// ```no_run
    /// # async fn demo(s3: garage_client::S3Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let aborted = s3.abort_incomplete_uploads("backups", std::time::Duration::from_secs(86_400)).await?;
    /// println!("{} uploads aborted", aborted.len());
    /// # Ok(()) }
    /// ```
    pub async fn abort_incomplete_uploads(
        &self,
        bucket: &str,
        older_than: Duration,
    ) -> Result<Vec<MultipartUpload>> {
        let cutoff = jiff::Timestamp::now()
            .checked_sub(
                jiff::SignedDuration::try_from(older_than)
                    .map_err(|e| Error::Config(format!("older_than: {e}")))?,
            )
            .map_err(|e| Error::Config(format!("older_than: {e}")))?;
        let mut stale = Vec::new();
        let mut uploads = self.list_multipart_uploads(bucket, ListUploadsOptions::default());
        while let Some(u) = uploads.next().await {
            let u = u?;
            if u.initiated.is_some_and(|t| t <= cutoff) {
                stale.push(u);
            }
        }
        for u in &stale {
            self.abort_multipart(bucket, &u.key, &u.upload_id).await?;
        }
        Ok(stale)
    }

    /// `PutBucketLifecycleConfiguration`: replaces the bucket's lifecycle rules.
    ///
    /// # Errors
    ///
    /// [`Error::S3`] when Garage refuses the request (see
    /// [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]);
    /// [`Error::Transport`] when no answer came within the retries;
    /// [`Error::InvalidBucketName`] /
    /// [`Error::InvalidKey`] before any request for a name that cannot be
    /// sent byte-exact.
    ///
    /// ```no_run
    /// # async fn demo(s3: garage_client::S3Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use garage_client::s3::LifecycleRule;
    /// s3.put_bucket_lifecycle("backups", &[LifecycleRule::abort_incomplete_uploads_after(1)]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn put_bucket_lifecycle(&self, bucket: &str, rules: &[LifecycleRule]) -> Result<()> {
        let body = Bytes::from(lifecycle_body(rules)?);
        let url = self.url(bucket, None, &[("lifecycle", "")])?;
        let mut h = HeaderMap::new();
        h.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
        h.insert(
            "content-md5",
            HeaderValue::from_str(&content_md5(&body))
                .map_err(|_| Error::Config("content-md5".into()))?,
        );
        self.call(Call::new(Method::PUT, url).headers(h).signed_body(body))
            .await?;
        Ok(())
    }

    /// `GetBucketLifecycleConfiguration`; no rules (not an error) when none are set.
    ///
    /// # Errors
    ///
    /// [`Error::S3`] when Garage refuses the request (see
    /// [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]);
    /// [`Error::Transport`] when no answer came within the retries;
    /// [`Error::InvalidBucketName`] /
    /// [`Error::InvalidKey`] before any request for a name that cannot be
    /// sent byte-exact; [`Error::Decode`] for a configuration that cannot be
    /// read.
    ///
    /// ```no_run
    /// # async fn demo(s3: garage_client::S3Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let rules = s3.bucket_lifecycle("backups").await?;
    /// println!("{} rules", rules.len());
    /// # Ok(()) }
    /// ```
    pub async fn bucket_lifecycle(&self, bucket: &str) -> Result<Vec<LifecycleRule>> {
        let url = self.url(bucket, None, &[("lifecycle", "")])?;
        match self.call(Call::new(Method::GET, url)).await {
            Ok(resp) => parse_lifecycle(&text(resp).await?),
            Err(e)
                if e.as_s3()
                    .is_some_and(|s| s.code.as_str() == "NoSuchLifecycleConfiguration") =>
            {
                Ok(Vec::new())
            }
            Err(e) => Err(e),
        }
    }

    /// `DeleteBucketLifecycle`.
    ///
    /// # Errors
    ///
    /// [`Error::S3`] when Garage refuses the request (see
    /// [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]);
    /// [`Error::Transport`] when no answer came within the retries;
    /// [`Error::InvalidBucketName`] /
    /// [`Error::InvalidKey`] before any request for a name that cannot be
    /// sent byte-exact.
    ///
    /// ```no_run
    /// # async fn demo(s3: garage_client::S3Client) -> Result<(), Box<dyn std::error::Error>> {
    /// s3.delete_bucket_lifecycle("backups").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_bucket_lifecycle(&self, bucket: &str) -> Result<()> {
        let url = self.url(bucket, None, &[("lifecycle", "")])?;
        self.send_delete(url).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_decoding_of_listing_values() {
        assert_eq!(
            url_decode("a%20b%2Bc+d%2F%C3%A9%01").unwrap(),
            "a b+c d/é\u{1}"
        );
        assert!(url_decode("bad%2").is_err());
        assert!(url_decode("bad%+1").is_err());
        assert!(url_decode("%FF").is_err(), "not UTF-8");
    }

    #[test]
    fn parses_garage_list_uploads_with_url_encoding_and_markers() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker><NextKeyMarker>a%20b</NextKeyMarker><NextUploadIdMarker>include</NextUploadIdMarker><Prefix></Prefix><EncodingType>url</EncodingType><MaxUploads>1</MaxUploads><IsTruncated>true</IsTruncated><Upload><Initiated>2026-12-06T19:00:00.123Z</Initiated><Key>a%20b</Key><UploadId>0a1b</UploadId><StorageClass>STANDARD</StorageClass><Initiator><DisplayName>Dummy Key</DisplayName><ID>GKDummyKey</ID></Initiator><Owner><DisplayName>Dummy Key</DisplayName><ID>GKDummyKey</ID></Owner></Upload></ListMultipartUploadsResult>"#;
        let p = parse_list_uploads(xml).unwrap();
        assert_eq!(p.uploads.len(), 1);
        assert_eq!(p.uploads[0].key, "a b");
        assert_eq!(p.uploads[0].upload_id, "0a1b");
        assert!(p.uploads[0].initiated.is_some());
        assert_eq!(
            p.next,
            Some(UploadsMarker {
                key: "a b".into(),
                upload_id: Some("include".into())
            })
        );
        let last = r#"<ListMultipartUploadsResult><IsTruncated>false</IsTruncated><CommonPrefixes><Prefix>x/</Prefix></CommonPrefixes></ListMultipartUploadsResult>"#;
        let p = parse_list_uploads(last).unwrap();
        assert!(p.uploads.is_empty() && p.next.is_none());
        assert_eq!(p.common_prefixes, ["x/"]);
        let broken = r#"<ListMultipartUploadsResult><IsTruncated>true</IsTruncated></ListMultipartUploadsResult>"#;
        assert!(parse_list_uploads(broken).is_err());
    }

    #[test]
    fn parses_list_parts_pages() {
        let xml = r#"<ListPartsResult><Bucket>b</Bucket><Key>k</Key><UploadId>u</UploadId><PartNumberMarker>1</PartNumberMarker><NextPartNumberMarker>3</NextPartNumberMarker><MaxParts>2</MaxParts><IsTruncated>true</IsTruncated><Part><ETag>"e2"</ETag><LastModified>2026-12-06T19:00:00.000Z</LastModified><PartNumber>2</PartNumber><Size>5242880</Size><ChecksumCRC32C>AAAAAA==</ChecksumCRC32C></Part><Part><ETag>"e3"</ETag><PartNumber>3</PartNumber><Size>7</Size></Part></ListPartsResult>"#;
        let (parts, next) = parse_list_parts(xml).unwrap();
        assert_eq!(next, Some(3));
        assert_eq!(parts[0].etag, "e2");
        assert_eq!(parts[0].size, 5 << 20);
        assert_eq!(parts[0].checksum_crc32c.as_deref(), Some("AAAAAA=="));
        assert_eq!(parts[1].part_number, 3);
    }

    #[test]
    fn lifecycle_rules_xml_and_json_match_garages_shapes() {
        let rules = vec![
            LifecycleRule::abort_incomplete_uploads_after(1).with_id("abort"),
            LifecycleRule::expire_after_days(30)
                .with_prefix("tmp/")
                .with_enabled(false),
        ];
        let xml = lifecycle_body(&rules).unwrap();
        assert_eq!(
            xml,
            concat!(
                r#"<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">"#,
                "<Rule><ID>abort</ID><Status>Enabled</Status><Filter/>",
                "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>",
                "<Rule><Status>Disabled</Status><Filter><Prefix>tmp/</Prefix></Filter><Expiration><Days>30</Days></Expiration></Rule>",
                "</LifecycleConfiguration>"
            )
        );
        assert_eq!(parse_lifecycle(&xml).unwrap(), rules);
        // The admin API's JSON is serde of the same XML structs (`xml::lifecycle::LifecycleRule`).
        let json = serde_json::to_value(&rules[0]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"ID": "abort", "Status": "Enabled", "Filter": {},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}})
        );
        // Two conditions come back wrapped in <And>.
        let and: LifecycleRule = serde_json::from_value(serde_json::json!(
            {"Status": "Enabled", "Filter": {"And": {"Prefix": "a/", "ObjectSizeGreaterThan": 10}},
             "Expiration": {"Days": 2}}
        ))
        .unwrap();
        assert_eq!(and.filter.prefix.as_deref(), Some("a/"));
        assert_eq!(and.filter.object_size_greater_than, Some(10));
        let back = serde_json::to_value(&and).unwrap();
        assert_eq!(back["Filter"]["And"]["Prefix"], "a/");
    }

    #[test]
    fn cors_rule_json_uses_s3_names() {
        let r = CorsRule::new(["https://example.invalid"], ["GET", "PUT"]).with_max_age(60);
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"MaxAgeSeconds": 60, "AllowedOrigin": ["https://example.invalid"],
                "AllowedMethod": ["GET", "PUT"], "AllowedHeader": [], "ExposeHeader": []})
        );
    }
}
