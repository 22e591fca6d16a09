//! Garage's S3 data plane: path-style requests signed with SigV4 (aws-sigv4) over reqwest.

mod download;
mod io;
mod parts;
mod types;
mod upload;
mod uploads;
pub(crate) mod xml;

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use bytes::Bytes;
use futures_util::stream::{BoxStream, Stream, StreamExt};
use http::{HeaderMap, HeaderValue, Method};
use url::Url;

pub use io::ObjectWriter;
pub use parts::{MAX_OBJECT_SIZE, MAX_PART_SIZE, MAX_PARTS};
pub use types::*;
pub use uploads::{
    CorsRule, LifecycleExpiration, LifecycleFilter, LifecycleRule, ListUploadsOptions,
    MultipartUpload, UploadedPart, UploadsMarker, UploadsPage,
};

use crate::config::{
    Credentials, DEFAULT_REGION, DownloadConfig, HttpConfig, MultipartConfig, RetryConfig, Vars,
    parse_endpoint,
};
use crate::error::{Error, Result, S3ErrorCode};
use crate::sign::{Payload, Signer, object_url};
use crate::transport::{Body, Request, Response, Transport};

/// Builder of an [`S3Client`].
#[derive(Debug, Default)]
pub struct S3ClientBuilder {
    endpoint: Option<String>,
    region: Option<String>,
    credentials: Option<Credentials>,
    http: HttpConfig,
    multipart: MultipartConfig,
    download: DownloadConfig,
}

impl S3ClientBuilder {
    /// A builder from the environment: endpoint from `GARAGE_S3_ENDPOINT`,
    /// `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`; region from `GARAGE_S3_REGION`, `AWS_REGION` or
    /// `AWS_DEFAULT_REGION` (default `garage`); key from `AWS_ACCESS_KEY_ID` /
    /// `AWS_SECRET_ACCESS_KEY` (or `GARAGE_ACCESS_KEY_ID` / `GARAGE_SECRET_ACCESS_KEY`).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the endpoint or a half of the key is missing.
    pub fn from_env() -> Result<Self> {
        Self::from_parsed(&Vars::env())
    }

    /// A builder from these name/value pairs, read like [`Self::from_env`] reads the
    /// environment (for tests and configuration files).
    ///
    /// ```
    /// let s3 = garage_client::S3ClientBuilder::from_vars([
    ///     ("AWS_ENDPOINT_URL", "http://127.0.0.1:3900"),
    ///     ("AWS_ACCESS_KEY_ID", "GK31c2f218a2e44f485b94239e"),
    ///     ("AWS_SECRET_ACCESS_KEY", "b892c0665f0ada8a4755dae98baa3b133590e11dae3bcc1f9d769d67f16c3835"),
    /// ])?
    /// .build()?;
    /// assert_eq!(s3.region(), "garage");
    /// # Ok::<(), garage_client::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the endpoint or a half of the key is missing.
    pub fn from_vars<K: AsRef<str>, V: AsRef<str>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self> {
        Self::from_parsed(&Vars::from_pairs(vars))
    }

    fn from_parsed(vars: &Vars) -> Result<Self> {
        let mut b = S3Client::builder();
        let endpoint = vars
            .first(&[
                "GARAGE_S3_ENDPOINT",
                "AWS_ENDPOINT_URL_S3",
                "AWS_ENDPOINT_URL",
            ])
            .ok_or_else(|| Error::Config("set GARAGE_S3_ENDPOINT or AWS_ENDPOINT_URL".into()))?;
        b = b.with_endpoint(endpoint);
        if let Some(r) = vars.first(&["GARAGE_S3_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"]) {
            b = b.with_region(r);
        }
        let id = vars
            .first(&["AWS_ACCESS_KEY_ID", "GARAGE_ACCESS_KEY_ID"])
            .ok_or_else(|| Error::Config("set AWS_ACCESS_KEY_ID".into()))?;
        let secret = vars
            .first(&["AWS_SECRET_ACCESS_KEY", "GARAGE_SECRET_ACCESS_KEY"])
            .ok_or_else(|| Error::Config("set AWS_SECRET_ACCESS_KEY".into()))?;
        Ok(b.with_credentials(Credentials::new(id, secret.into())))
    }

    /// S3 endpoint, e.g. `http://127.0.0.1:3900` (path-style requests go below it).
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }
    /// Region (`[s3_api] s3_region`; default `garage`).
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }
    /// Access key.
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }
    /// Timeouts and retries.
    pub fn with_http_config(mut self, http: HttpConfig) -> Self {
        self.http = http;
        self
    }
    /// TCP connect timeout ([`HttpConfig::connect_timeout`]).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.http.connect_timeout = timeout;
        self
    }
    /// Whole-request timeout of small requests ([`HttpConfig::request_timeout`]).
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.http.request_timeout = timeout;
        self
    }
    /// Retries of idempotent requests ([`HttpConfig::retry`]).
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.http.retry = retry;
        self
    }
    /// Multipart threshold, part size and concurrency.
    pub fn with_multipart(mut self, multipart: MultipartConfig) -> Self {
        self.multipart = multipart;
        self
    }
    /// Parallel download threshold, range size and concurrency.
    pub fn with_download(mut self, download: DownloadConfig) -> Self {
        self.download = download;
        self
    }
    /// Builds the client.
    pub fn build(self) -> Result<S3Client> {
        let endpoint = parse_endpoint(
            self.endpoint
                .as_deref()
                .ok_or_else(|| Error::Config("S3 endpoint missing".into()))?,
            "S3 endpoint",
        )?;
        let creds = self
            .credentials
            .ok_or_else(|| Error::Config("S3 credentials missing".into()))?;
        let region = self.region.unwrap_or_else(|| DEFAULT_REGION.to_owned());
        let mp = self.multipart;
        if mp.part_size < 5 << 20
            || mp.part_size as u64 > parts::MAX_PART_SIZE
            || mp.concurrency == 0
            || mp.threshold < mp.part_size as u64
            || !(1..=parts::MAX_PARTS).contains(&mp.max_parts)
        {
            return Err(Error::Config(
                "multipart: part_size must be 5 MiB to 5 GiB, concurrency ≥ 1, threshold ≥ \
                 part_size, max_parts 1 to 10,000"
                    .into(),
            ));
        }
        let dl = self.download;
        if dl.part_size == 0 || dl.concurrency == 0 {
            return Err(Error::Config(
                "download: part_size and concurrency must be ≥ 1".into(),
            ));
        }
        Ok(S3Client {
            inner: Arc::new(Inner {
                transport: Transport::new(&self.http)?,
                signer: Signer::new(&region, &creds),
                endpoint,
                region,
                multipart: mp,
                download: dl,
            }),
        })
    }
}

struct Inner {
    transport: Transport,
    signer: Signer,
    endpoint: Url,
    region: String,
    multipart: MultipartConfig,
    download: DownloadConfig,
}

/// A Garage S3 client (cheap to clone).
///
/// ```no_run
/// # async fn demo() -> garage_client::Result<()> {
/// use garage_client::{Credentials, S3Client, s3::PutOptions};
/// let s3 = S3Client::builder()
///     .with_endpoint("http://127.0.0.1:3900")
///     .with_credentials(Credentials::new("GK...", "secret".to_owned().into()))
///     .build()?;
/// s3.put_object("backups", "hello.txt", "hi".into(), PutOptions::default()).await?;
/// let data = s3.get_object("backups", "hello.txt", Default::default()).await?.bytes().await?;
/// assert_eq!(&data[..], b"hi");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct S3Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for S3Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Client")
            .field("endpoint", &self.inner.endpoint.as_str())
            .field("region", &self.inner.region)
            .finish_non_exhaustive()
    }
}

/// One S3 request with its body in memory, as [`S3Client::call`] sends it: idempotent (retried),
/// body unsigned (`UNSIGNED-PAYLOAD`) and the client's request timeout unless told otherwise.
struct Call {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Bytes,
    sign_body: bool,
    idempotent: bool,
    timeout: Option<Duration>,
}

impl Call {
    fn new(method: Method, url: Url) -> Self {
        Call {
            method,
            url,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            sign_body: false,
            idempotent: true,
            timeout: None,
        }
    }

    fn headers(mut self, headers: HeaderMap) -> Self {
        self.headers = headers;
        self
    }

    /// A body sent as is (integrity comes from a checksum header).
    fn body(mut self, body: Bytes) -> Self {
        self.body = body;
        self
    }

    /// A small body whose SHA-256 goes into the signature (XML requests).
    fn signed_body(mut self, body: Bytes) -> Self {
        self.body = body;
        self.sign_body = true;
        self
    }

    /// Not retried: repeating it could act twice.
    fn not_idempotent(mut self) -> Self {
        self.idempotent = false;
        self
    }

    fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

impl S3Client {
    /// Starts a builder.
    pub fn builder() -> S3ClientBuilder {
        S3ClientBuilder::default()
    }

    /// Builds a client from the environment: [`S3ClientBuilder::from_env`], then `build()`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when a variable is missing or the endpoint is not a URL.
    pub fn from_env() -> Result<Self> {
        S3ClientBuilder::from_env()?.build()
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Url {
        &self.inner.endpoint
    }

    /// The region.
    pub fn region(&self) -> &str {
        &self.inner.region
    }

    /// The URL of a bucket or an object: the one place names enter a URL, so a key or bucket that
    /// cannot be sent byte-exact is refused here, before any request ([`Error::InvalidKey`],
    /// [`Error::InvalidBucketName`]).
    fn url(&self, bucket: &str, key: Option<&str>, query: &[(&str, &str)]) -> Result<Url> {
        let mut url = object_url(&self.inner.endpoint, bucket, key)?;
        if !query.is_empty() {
            let q = query
                .iter()
                .map(|(k, v)| {
                    if v.is_empty() {
                        enc(k)
                    } else {
                        format!("{}={}", enc(k), enc(v))
                    }
                })
                .collect::<Vec<_>>()
                .join("&");
            url.set_query(Some(&q));
        }
        Ok(url)
    }

    /// A `DELETE` with no body (idempotent, so retried like a GET).
    async fn send_delete(&self, url: Url) -> Result<()> {
        self.call(Call::new(Method::DELETE, url)).await?;
        Ok(())
    }

    /// Sends a signed request; `body` must be cheap to clone (retries re-sign and resend).
    #[allow(clippy::too_many_arguments)]
    /// Signs and sends one request whose body is in memory; non-2xx answers become errors.
    async fn call(&self, call: Call) -> Result<Response> {
        let inner = &self.inner;
        let timeout = call
            .timeout
            .or(Some(inner.transport.config().request_timeout));
        let resp = inner
            .transport
            .send(call.idempotent, || {
                let mut h = call.headers.clone();
                let payload = if call.sign_body {
                    Payload::Bytes(&call.body)
                } else {
                    Payload::Unsigned
                };
                inner
                    .signer
                    .sign_headers(&call.method, &call.url, &mut h, payload)?;
                Ok(Request {
                    method: call.method.clone(),
                    url: call.url.clone(),
                    headers: h,
                    body: if call.body.is_empty() {
                        Body::Empty
                    } else {
                        Body::Bytes(call.body.clone())
                    },
                    timeout,
                })
            })
            .await?;
        check(resp).await
    }

    /// A GET whose body is streamed: retried like any idempotent request until the response
    /// starts, with no overall timeout (a large body may take long; the read timeout applies).
    async fn send_streaming_get(&self, url: &Url, headers: HeaderMap) -> Result<Response> {
        let inner = &self.inner;
        let resp = inner
            .transport
            .send(true, || {
                let mut h = headers.clone();
                inner
                    .signer
                    .sign_headers(&Method::GET, url, &mut h, Payload::Unsigned)?;
                Ok(Request {
                    method: Method::GET,
                    url: url.clone(),
                    headers: h,
                    body: Body::Empty,
                    timeout: None,
                })
            })
            .await?;
        check(resp).await
    }

    /// Lists the buckets the key can see.
    ///
    /// # Errors
    ///
    /// [`Error::S3`] when Garage refuses the request (see
    /// [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]);
    /// [`Error::Transport`] when no answer came within the retries.
    ///
    /// ```no_run
    /// # async fn demo(s3: garage_client::S3Client) -> Result<(), Box<dyn std::error::Error>> {
    /// for b in s3.list_buckets().await? {
    ///     println!("{}", b.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_buckets(&self) -> Result<Vec<BucketEntry>> {
        let mut url = self.inner.endpoint.clone();
        if url.path().is_empty() {
            url.set_path("/");
        }
        let resp = self.call(Call::new(Method::GET, url)).await?;
        xml::parse_list_buckets(&text(resp).await?)
    }

    /// Creates a bucket through S3 (needs the key's `createBucket` flag; the bucket gets a
    /// local alias in the key's namespace). Prefer [`crate::AdminClient::create_bucket`].
    ///
    /// # Errors
    ///
    /// [`Error::S3`] when Garage refuses the request (see
    /// [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]) (409 when the name is
    /// taken, 403 without the key's `createBucket` flag);
    /// [`Error::Transport`] when no answer came within the retries;
    /// [`Error::InvalidBucketName`] /
    /// [`Error::InvalidKey`] before any request for a name that cannot be
    /// sent byte-exact.
    ///
    /// ```no_run
    /// # async fn demo(s3: garage_client::S3Client) -> Result<(), Box<dyn std::error::Error>> {
    /// s3.create_bucket("scratch").await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_bucket(&self, bucket: &str) -> Result<()> {
        let url = self.url(bucket, None, &[])?;
        self.call(Call::new(Method::PUT, url)).await?;
        Ok(())
    }

    /// Deletes an empty bucket (409 `BucketNotEmpty` otherwise).
    ///
    /// # Errors
    ///
    /// [`Error::S3`] when Garage refuses the request (see
    /// [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]) (409 `BucketNotEmpty`);
    /// [`Error::Transport`] when no answer came within the retries;
    /// [`Error::InvalidBucketName`] /
    /// [`Error::InvalidKey`] before any request for a name that cannot be
    /// sent byte-exact.
    ///
    /// ```no_run
    /// # async fn demo(s3: garage_client::S3Client) -> Result<(), Box<dyn std::error::Error>> {
    /// s3.delete_bucket("scratch").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_bucket(&self, bucket: &str) -> Result<()> {
        let url = self.url(bucket, None, &[])?;
        self.send_delete(url).await
    }

    /// Whether the bucket exists and the key may access it (`HEAD /bucket`); `Ok(false)` on 404.
    ///
    /// # Errors
    ///
    /// [`Error::S3`] when Garage refuses the request (see
    /// [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]) other than 404;
    /// [`Error::Transport`] when no answer came within the retries;
    /// [`Error::InvalidBucketName`] /
    /// [`Error::InvalidKey`] before any request for a name that cannot be
    /// sent byte-exact.
    ///
    /// ```no_run
    /// # async fn demo(s3: garage_client::S3Client) -> Result<(), Box<dyn std::error::Error>> {
    /// if !s3.bucket_exists("backups").await? {
    ///     s3.create_bucket("backups").await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn bucket_exists(&self, bucket: &str) -> Result<bool> {
        let url = self.url(bucket, None, &[])?;
        match self.call(Call::new(Method::HEAD, url)).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// One page of `ListObjectsV2`.
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
    /// use garage_client::s3::ListOptions;
    /// let page = s3.list_objects_page("backups", &ListOptions::default().with_prefix("db/"), None).await?;
    /// println!("{} objects, more: {}", page.objects.len(), page.next_continuation_token.is_some());
    /// # Ok(()) }
    /// ```
    pub async fn list_objects_page(
        &self,
        bucket: &str,
        options: &ListOptions,
        continuation_token: Option<&str>,
    ) -> Result<ListPage> {
        let page_size = options.page_size.unwrap_or(1000).to_string();
        // Keys come back percent-encoded, so control characters (invalid in XML 1.0) survive.
        let mut q: Vec<(&str, &str)> = vec![
            ("list-type", "2"),
            ("max-keys", &page_size),
            ("encoding-type", "url"),
        ];
        if let Some(p) = &options.prefix {
            q.push(("prefix", p));
        }
        if let Some(d) = &options.delimiter {
            q.push(("delimiter", d));
        }
        if let Some(s) = &options.start_after {
            q.push(("start-after", s));
        }
        if let Some(t) = continuation_token {
            q.push(("continuation-token", t));
        }
        let url = self.url(bucket, None, &q)?;
        let resp = self.call(Call::new(Method::GET, url)).await?;
        xml::parse_list_v2(&text(resp).await?)
    }

    /// `ListObjectsV2` as a stream of pages, following continuation tokens.
    pub fn list_pages(
        &self,
        bucket: &str,
        options: ListOptions,
    ) -> BoxStream<'static, Result<ListPage>> {
        struct St {
            client: S3Client,
            bucket: String,
            options: ListOptions,
            token: Option<String>,
            done: bool,
        }
        let st = St {
            client: self.clone(),
            bucket: bucket.to_owned(),
            options,
            token: None,
            done: false,
        };
        futures_util::stream::unfold(st, |mut st| async move {
            if st.done {
                return None;
            }
            let page = st
                .client
                .list_objects_page(&st.bucket, &st.options, st.token.as_deref())
                .await;
            match &page {
                Ok(p) => match &p.next_continuation_token {
                    Some(t) => st.token = Some(t.clone()),
                    None => st.done = true,
                },
                Err(_) => st.done = true,
            }
            Some((page, st))
        })
        .boxed()
    }

    /// `ListObjectsV2` as a stream of objects (common prefixes are skipped; use
    /// [`Self::list_pages`] to see them).
    pub fn list_objects(
        &self,
        bucket: &str,
        options: ListOptions,
    ) -> BoxStream<'static, Result<ListedObject>> {
        self.list_pages(bucket, options)
            .flat_map(|page| match page {
                Ok(p) => {
                    futures_util::stream::iter(p.objects.into_iter().map(Ok).collect::<Vec<_>>())
                }
                Err(e) => futures_util::stream::iter(vec![Err(e)]),
            })
            .boxed()
    }

    /// Metadata of an object (`HEAD`); `is_not_found()` when absent. Sends that one request:
    /// a 404 has code [`S3ErrorCode::NotFound`], since the answer to HEAD cannot say whether
    /// the key or the bucket is missing. [`Self::head_object_checked`] finds out.
    ///
    /// # Errors
    ///
    /// [`Error::S3`] when Garage refuses the request (see
    /// [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]) (404 `NotFound`: key or
    /// bucket); [`Error::Transport`] when no answer came within the
    /// retries; [`Error::InvalidBucketName`] /
    /// [`Error::InvalidKey`] before any request for a name that cannot be
    /// sent byte-exact.
    ///
    /// ```no_run
    /// # async fn demo(s3: garage_client::S3Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let meta = s3.head_object("backups", "db/dump.sql").await?;
    /// println!("{} bytes, etag {:?}", meta.size, meta.etag);
    /// # Ok(()) }
    /// ```
    pub async fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectMeta> {
        let url = self.url(bucket, Some(key), &[])?;
        let mut h = HeaderMap::new();
        h.insert("x-amz-checksum-mode", HeaderValue::from_static("ENABLED"));
        let resp = self.call(Call::new(Method::HEAD, url).headers(h)).await?;
        Ok(meta_from_headers(&resp.headers))
    }

    /// [`Self::head_object`], and after a 404 a second request, `HEAD` on the bucket, to say
    /// [`S3ErrorCode::NoSuchBucket`] or [`S3ErrorCode::NoSuchKey`]. If that second request
    /// fails, the 404 keeps its code [`S3ErrorCode::NotFound`].
    ///
    /// # Errors
    ///
    /// [`Error::S3`] when Garage refuses the request (see
    /// [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]) (404 `NoSuchKey` or
    /// `NoSuchBucket`); [`Error::Transport`] when no answer came within
    /// the retries; [`Error::InvalidBucketName`] /
    /// [`Error::InvalidKey`] before any request for a name that cannot be
    /// sent byte-exact.
    ///
    /// ```no_run
    /// # async fn demo(s3: garage_client::S3Client) -> Result<(), Box<dyn std::error::Error>> {
    /// match s3.head_object_checked("backups", "db/dump.sql").await {
    ///     Err(e) if e.is_not_found() => println!("{e}"),
    ///     other => println!("{} bytes", other?.size),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn head_object_checked(&self, bucket: &str, key: &str) -> Result<ObjectMeta> {
        match self.head_object(bucket, key).await {
            Err(Error::S3(mut e)) if e.code == S3ErrorCode::NotFound => {
                match self.bucket_exists(bucket).await {
                    Ok(true) => {
                        e.code = S3ErrorCode::NoSuchKey;
                        e.message = format!("key {key:?} does not exist");
                    }
                    Ok(false) => {
                        e.code = S3ErrorCode::NoSuchBucket;
                        e.message = format!("bucket {bucket:?} does not exist");
                    }
                    Err(_) => {}
                }
                Err(Error::S3(e))
            }
            other => other,
        }
    }

    /// Downloads an object as a stream. The whole-object CRC32C stored with the object (if any)
    /// and the length are checked when the stream ends; a mismatch yields
    /// [`Error::Integrity`] as the last item.
    ///
    /// A whole object of at least [`DownloadConfig::threshold`] bytes is fetched as concurrent
    /// ranged GETs (the first response's own stream serves the first range), each pinned to the
    /// first response's ETag with `If-Match`: if the object is replaced meanwhile, the stream
    /// fails with `412 PreconditionFailed` rather than mixing two versions. The chunks still come
    /// in order and are checked as above. [`GetOptions::with_parallel`]`(false)` opts out.
    ///
    /// # Errors
    ///
    /// [`Error::S3`] when Garage refuses the request (see
    /// [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]);
    /// [`Error::Transport`] when no answer came within the retries;
    /// [`Error::InvalidBucketName`] /
    /// [`Error::InvalidKey`] before any request for a name that cannot be
    /// sent byte-exact. The stream itself ends with [`Error::Integrity`]
    /// on a CRC32C or length mismatch.
    ///
    /// ```no_run
    /// # async fn demo(s3: garage_client::S3Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let body = s3.get_object("backups", "db/dump.sql", Default::default()).await?.bytes().await?;
    /// println!("{} bytes", body.len());
    /// # Ok(()) }
    /// ```
    pub async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        options: GetOptions,
    ) -> Result<GetObject> {
        let inner = &self.inner;
        let url = self.url(bucket, Some(key), &[])?;
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-checksum-mode", HeaderValue::from_static("ENABLED"));
        if let Some(r) = &options.range {
            headers.insert(
                http::header::RANGE,
                HeaderValue::from_str(&r.header()).map_err(|e| Error::Config(e.to_string()))?,
            );
        }
        let resp = self.send_streaming_get(&url, headers).await?;
        let mut meta = meta_from_headers(&resp.headers);
        let content_length = resp
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if let Some(total) = resp
            .headers
            .get(http::header::CONTENT_RANGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit('/').next())
            .and_then(|v| v.parse::<u64>().ok())
        {
            meta.size = total;
        }
        let whole = options.range.is_none() && resp.status.as_u16() == 200;
        let verify = options.verify.unwrap_or(true) && whole;
        let expected_crc = if verify && meta.checksum_type.as_deref() != Some("COMPOSITE") {
            meta.checksum_crc32c
                .as_deref()
                .filter(|c| !c.contains('-'))
                .and_then(decode_crc32c)
        } else {
            None
        };
        // The object bytes this body carries: all of them, or the range of a 206.
        let span = match resp.status.as_u16() {
            206 => resp
                .headers
                .get(http::header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("bytes "))
                .and_then(|v| v.split_once('/'))
                .and_then(|(r, _)| r.split_once('-'))
                .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()? + 1))),
            _ => content_length.map(|len| (0, len)),
        };
        let resume = |start: u64, end: u64| download::Resume {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            etag: meta.etag.clone().unwrap_or_default(),
            start,
            end,
        };
        let dl = inner.download;
        let stream = match (&meta.etag, content_length, span) {
            (Some(etag), Some(size), _)
                if whole
                    && options.parallel.unwrap_or(true)
                    && dl.concurrency > 1
                    && size >= dl.threshold.max(2 * dl.part_size) =>
            {
                // The first range comes from this response, resumable like any other body.
                let head = download::resumable(
                    self.clone(),
                    resume(0, dl.part_size.min(size)),
                    resp.into_stream(),
                );
                download::ranged(
                    self.clone(),
                    download::Target {
                        bucket: bucket.to_owned(),
                        key: key.to_owned(),
                        etag: etag.clone(),
                        size,
                    },
                    head,
                    dl,
                )
            }
            (Some(_), _, Some((start, end))) if end > start => {
                download::resumable(self.clone(), resume(start, end), resp.into_stream())
            }
            _ => resp.into_stream(),
        };
        Ok(GetObject {
            meta,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            stream,
            expected_len: content_length,
            expected_crc,
            crc: 0,
            received: 0,
            finished: false,
        })
    }

    /// Deletes an object (succeeds if it does not exist).
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
    /// s3.delete_object("backups", "db/old.sql").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_object(&self, bucket: &str, key: &str) -> Result<()> {
        let url = self.url(bucket, Some(key), &[])?;
        self.send_delete(url).await
    }

    /// Deletes up to 1,000 objects in one request (`DeleteObjects`).
    ///
    /// # Errors
    ///
    /// [`Error::S3`] when Garage refuses the request (see
    /// [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]);
    /// [`Error::Transport`] when no answer came within the retries;
    /// [`Error::Config`] for more than 1,000 keys;
    /// [`Error::InvalidBucketName`] /
    /// [`Error::InvalidKey`] before any request for a name that cannot be
    /// sent byte-exact. Keys the server could not delete are in
    /// [`DeleteObjectsResult::errors`](crate::s3::DeleteObjectsResult::errors).
    ///
    /// ```no_run
    /// # async fn demo(s3: garage_client::S3Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let keys = vec!["db/a.sql".to_owned(), "db/b.sql".to_owned()];
    /// let r = s3.delete_objects("backups", &keys).await?;
    /// assert!(r.errors.is_empty());
    /// # Ok(()) }
    /// ```
    pub async fn delete_objects(
        &self,
        bucket: &str,
        keys: &[String],
    ) -> Result<DeleteObjectsResult> {
        if keys.len() > 1000 {
            return Err(Error::Config(
                "DeleteObjects takes at most 1000 keys".into(),
            ));
        }
        if keys.is_empty() {
            return Ok(DeleteObjectsResult::default());
        }
        let body = Bytes::from(xml::delete_objects_body(keys, false)?);
        let url = self.url(bucket, None, &[("delete", "")])?;
        let mut h = HeaderMap::new();
        h.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
        h.insert("content-md5", header_value(&content_md5(&body))?);
        let resp = self
            .call(Call::new(Method::POST, url).headers(h).signed_body(body))
            .await?;
        xml::parse_delete_result(&text(resp).await?)
    }

    /// Server-side copy (`CopyObject`) of an object up to 5 GiB; returns the new ETag.
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
    /// let etag = s3.copy_object("backups", "db/dump.sql", "archive", "2026/dump.sql").await?;
    /// # let _ = etag;
    /// # Ok(()) }
    /// ```
    pub async fn copy_object(
        &self,
        src_bucket: &str,
        src_key: &str,
        dst_bucket: &str,
        dst_key: &str,
    ) -> Result<String> {
        crate::sign::check_object(src_bucket, src_key)?;
        let url = self.url(dst_bucket, Some(dst_key), &[])?;
        let mut h = HeaderMap::new();
        let source = format!(
            "/{}/{}",
            crate::sign::encode_key(src_bucket),
            crate::sign::encode_key(src_key)
        );
        h.insert("x-amz-copy-source", header_value(&source)?);
        let resp = self
            .call(
                Call::new(Method::PUT, url)
                    .headers(h)
                    .timeout(Duration::from_secs(600)),
            )
            .await?;
        xml::parse_etag_result("CopyObject result", &text(resp).await?)
    }

    /// Uploads an object: a single PUT up to the multipart threshold, else a multipart upload
    /// with concurrent parts (aborted on failure or when this future is dropped). The server
    /// checks a CRC32C of every request body.
    ///
    /// # Errors
    ///
    /// [`Error::S3`] when Garage refuses the request (see
    /// [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]) (403 with
    /// [`Error::is_quota_exceeded`] when a quota refuses it);
    /// [`Error::Transport`] when no answer came within the retries;
    /// [`Error::InvalidBucketName`] /
    /// [`Error::InvalidKey`] before any request for a name that cannot be
    /// sent byte-exact; [`Error::InvalidMetadata`] and
    /// [`Error::ObjectTooLarge`] before any request;
    /// [`Error::Io`] when the file or stream cannot be read (a multipart upload
    /// is then aborted).
    ///
    /// ```no_run
    /// # async fn demo(s3: garage_client::S3Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use garage_client::s3::{PutOptions, PutPayload};
    /// let r = s3.put_object("backups", "db/dump.sql", PutPayload::file("/var/backups/dump.sql"),
    ///     PutOptions::default().with_content_type("application/sql")).await?;
    /// # let _ = r;
    /// # Ok(()) }
    /// ```
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        payload: PutPayload,
        options: PutOptions,
    ) -> Result<PutResult> {
        // Before the payload is touched: a refused key consumes nothing of a stream.
        crate::sign::check_object(bucket, key)?;
        upload::put(self, bucket, key, payload, &options).await
    }

    /// A presigned GET URL valid for `expires_in` (≤ 7 days).
    pub fn presign_get(&self, bucket: &str, key: &str, expires_in: Duration) -> Result<Url> {
        let url = self.url(bucket, Some(key), &[])?;
        self.inner
            .signer
            .presign(&Method::GET, &url, expires_in, SystemTime::now())
    }

    /// A presigned PUT URL valid for `expires_in` (≤ 7 days); the body is sent unsigned.
    pub fn presign_put(&self, bucket: &str, key: &str, expires_in: Duration) -> Result<Url> {
        let url = self.url(bucket, Some(key), &[])?;
        self.inner
            .signer
            .presign(&Method::PUT, &url, expires_in, SystemTime::now())
    }
}

/// Query-component encoding (RFC 3986 unreserved kept).
fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, crate::sign::URI_ENCODE).to_string()
}

fn header_value(s: &str) -> Result<HeaderValue> {
    HeaderValue::from_str(s).map_err(|_| Error::Config(format!("invalid header value {s:?}")))
}

pub(crate) fn content_md5(data: &[u8]) -> String {
    use md5::Digest;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(data))
}

pub(crate) fn encode_crc32c(crc: u32) -> String {
    base64::engine::general_purpose::STANDARD.encode(crc.to_be_bytes())
}

pub(crate) fn decode_crc32c(s: &str) -> Option<u32> {
    let b = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
    Some(u32::from_be_bytes(b.try_into().ok()?))
}

/// Turns an error status into [`Error::S3`], reading the XML body.
pub(crate) async fn check(resp: Response) -> Result<Response> {
    if resp.status.is_success() {
        return Ok(resp);
    }
    let status = resp.status.as_u16();
    let request_id = resp
        .headers
        .get("x-amz-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (method, path) = (resp.method().to_string(), resp.path());
    let body = resp.bytes().await.unwrap_or_default();
    let text = String::from_utf8_lossy(&body);
    Err(Error::S3(Box::new(xml::parse_error(
        status, &text, &method, &path, request_id,
    ))))
}

async fn text(resp: Response) -> Result<String> {
    let b = resp.bytes().await?;
    String::from_utf8(b.to_vec()).map_err(|e| Error::decode("S3 response", e))
}

pub(crate) fn meta_from_headers(h: &HeaderMap) -> ObjectMeta {
    let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut metadata = BTreeMap::new();
    for (k, v) in h {
        // Garage returns non-ASCII values as raw UTF-8; `to_str()` would drop them.
        if let Some(name) = k.as_str().strip_prefix("x-amz-meta-") {
            metadata.insert(
                name.to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            );
        }
    }
    ObjectMeta {
        size: get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        etag: get("etag").map(|e| e.trim_matches('"').to_owned()),
        content_type: get("content-type"),
        last_modified: get("last-modified")
            .and_then(|v| jiff::fmt::rfc2822::parse(&v).ok())
            .map(|z| z.timestamp()),
        metadata,
        checksum_crc32c: get("x-amz-checksum-crc32c"),
        checksum_type: get("x-amz-checksum-type"),
    }
}

/// A download in progress: a [`Stream`] of chunks plus the object's metadata.
pub struct GetObject {
    /// Metadata from the response headers.
    pub meta: ObjectMeta,
    bucket: String,
    key: String,
    stream: BoxStream<'static, Result<Bytes>>,
    expected_len: Option<u64>,
    expected_crc: Option<u32>,
    crc: u32,
    received: u64,
    finished: bool,
}

impl std::fmt::Debug for GetObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GetObject")
            .field("bucket", &self.bucket)
            .field("key", &self.key)
            .field("meta", &self.meta)
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

impl GetObject {
    /// Collects the whole body (checked like the stream).
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] when the body stops coming (after the resumptions a download is
    /// allowed); [`Error::Integrity`] when the CRC32C or the length does not match.
    ///
    /// ```no_run
    /// # async fn demo(s3: garage_client::S3Client) -> garage_client::Result<()> {
    /// let body = s3.get_object("backups", "db/dump.sql", Default::default()).await?.bytes().await?;
    /// # let _ = body;
    /// # Ok(()) }
    /// ```
    pub async fn bytes(mut self) -> Result<Bytes> {
        let mut buf =
            bytes::BytesMut::with_capacity(self.expected_len.unwrap_or(0).min(64 << 20) as usize);
        while let Some(chunk) = self.next().await {
            buf.extend_from_slice(&chunk?);
        }
        Ok(buf.freeze())
    }

    /// Whether a CRC32C check will run at the end of the stream.
    pub fn is_verified(&self) -> bool {
        self.expected_crc.is_some()
    }

    fn finish(&mut self) -> Option<Error> {
        self.finished = true;
        if let Some(len) = self.expected_len
            && len != self.received
        {
            return Some(self.integrity("length", len.to_string(), self.received.to_string()));
        }
        if let Some(expected) = self.expected_crc
            && expected != self.crc
        {
            return Some(self.integrity(
                "crc32c",
                encode_crc32c(expected),
                encode_crc32c(self.crc),
            ));
        }
        None
    }

    fn integrity(&self, what: &'static str, expected: String, actual: String) -> Error {
        Error::integrity(&self.bucket, &self.key, what, expected, actual)
    }
}

impl Stream for GetObject {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.finished {
            return Poll::Ready(None);
        }
        match self.stream.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                self.received += chunk.len() as u64;
                if self.expected_crc.is_some() {
                    self.crc = crc32c::crc32c_append(self.crc, &chunk);
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => {
                self.finished = true;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => Poll::Ready(self.finish().map(Err)),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_vars_reads_aws_and_garage_variables() {
        let vars = [
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:3900"),
            ("AWS_REGION", "garage"),
            ("AWS_ACCESS_KEY_ID", "GKabc"),
            ("AWS_SECRET_ACCESS_KEY", "s3cret"),
        ];
        let c = S3ClientBuilder::from_vars(vars).unwrap().build().unwrap();
        assert_eq!(c.region(), "garage");
        assert_eq!(c.endpoint().as_str(), "http://127.0.0.1:3900/");
        assert!(!format!("{c:?}").contains("s3cret"));
        let garage_names = [
            ("GARAGE_S3_ENDPOINT", "http://127.0.0.1:3901".to_owned()),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:3900".to_owned()),
            ("GARAGE_S3_REGION", "r1".to_owned()),
            ("GARAGE_ACCESS_KEY_ID", "GKabc".to_owned()),
            ("GARAGE_SECRET_ACCESS_KEY", "s3cret".to_owned()),
        ];
        let c = S3ClientBuilder::from_vars(garage_names)
            .unwrap()
            .with_region("r2")
            .build()
            .unwrap();
        assert_eq!(c.endpoint().as_str(), "http://127.0.0.1:3901/");
        assert_eq!(c.region(), "r2", "the builder can still be changed");
        assert!(matches!(
            S3ClientBuilder::from_vars([("AWS_ENDPOINT_URL", "http://127.0.0.1:3900")]),
            Err(Error::Config(_))
        ));
        assert!(S3ClientBuilder::from_vars(Vec::<(String, String)>::new()).is_err());
    }

    #[test]
    fn builder_timeouts_and_retry_reach_the_transport() {
        let c = S3Client::builder()
            .with_endpoint("http://127.0.0.1:1")
            .with_credentials(Credentials::new("a", "b".to_owned().into()))
            .with_connect_timeout(Duration::from_secs(1))
            .with_request_timeout(Duration::from_secs(2))
            .with_retry(RetryConfig::disabled())
            .build()
            .unwrap();
        let cfg = c.inner.transport.config();
        assert_eq!(cfg.connect_timeout, Duration::from_secs(1));
        assert_eq!(cfg.request_timeout, Duration::from_secs(2));
        assert_eq!(cfg.retry, RetryConfig::disabled());
    }

    #[test]
    fn builder_rejects_tiny_parts() {
        let r = S3Client::builder()
            .with_endpoint("http://127.0.0.1:1")
            .with_credentials(Credentials::new("a", "b".to_owned().into()))
            .with_multipart(MultipartConfig {
                part_size: 1024,
                ..Default::default()
            })
            .build();
        assert!(matches!(r, Err(Error::Config(_))));
    }

    #[test]
    fn urls_are_path_style_with_encoded_query() {
        let c = S3Client::builder()
            .with_endpoint("http://127.0.0.1:3900")
            .with_credentials(Credentials::new("a", "b".to_owned().into()))
            .build()
            .unwrap();
        let u = c
            .url("b", None, &[("list-type", "2"), ("prefix", "a b/&")])
            .unwrap();
        assert_eq!(
            u.as_str(),
            "http://127.0.0.1:3900/b?list-type=2&prefix=a%20b%2F%26"
        );
        let u = c.url("b", None, &[("delete", "")]).unwrap();
        assert_eq!(u.as_str(), "http://127.0.0.1:3900/b?delete");
    }

    fn get_object_over(
        chunks: Vec<&'static [u8]>,
        expected_len: Option<u64>,
        crc_of: &[u8],
    ) -> GetObject {
        let stream =
            futures_util::stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from_static(c))))
                .boxed();
        GetObject {
            meta: ObjectMeta::default(),
            bucket: "b".into(),
            key: "k".into(),
            stream,
            expected_len,
            expected_crc: Some(crc32c::crc32c(crc_of)),
            crc: 0,
            received: 0,
            finished: false,
        }
    }

    #[tokio::test]
    async fn get_stream_checks_crc32c_and_length_at_the_end() {
        let ok = get_object_over(vec![b"hello ", b"world"], Some(11), b"hello world");
        assert_eq!(&ok.bytes().await.unwrap()[..], b"hello world");
        let corrupted = get_object_over(vec![b"hello ", b"w0rld"], Some(11), b"hello world");
        let err = corrupted.bytes().await.unwrap_err();
        assert!(
            matches!(err, Error::Integrity { what: "crc32c", .. }),
            "{err:?}"
        );
        let short = get_object_over(vec![b"hello "], Some(11), b"hello ");
        let err = short.bytes().await.unwrap_err();
        assert!(
            matches!(err, Error::Integrity { what: "length", .. }),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn async_read_reports_a_failed_check_as_invalid_data() {
        use tokio::io::AsyncReadExt;
        let mut ok = Vec::new();
        get_object_over(vec![b"hello ", b"world"], Some(11), b"hello world")
            .into_async_read()
            .read_to_end(&mut ok)
            .await
            .unwrap();
        assert_eq!(ok, b"hello world");
        let mut out = Vec::new();
        let e = get_object_over(vec![b"hello ", b"w0rld"], Some(11), b"hello world")
            .into_async_read()
            .read_to_end(&mut out)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
        let inner = e.into_inner().unwrap().downcast::<Error>().unwrap();
        assert!(matches!(*inner, Error::Integrity { what: "crc32c", .. }));
    }

    #[test]
    fn part_timeouts_grow_with_the_part() {
        let c = S3Client::builder()
            .with_endpoint("http://127.0.0.1:1")
            .with_credentials(Credentials::new("a", "b".to_owned().into()))
            .build()
            .unwrap();
        let base = HttpConfig::default().request_timeout;
        assert_eq!(c.body_timeout(6 << 20), base + Duration::from_secs(1));
        // The largest part of a 5 TiB stream (3 GiB) gets 768 s more.
        assert_eq!(c.body_timeout(3 << 30), base + Duration::from_secs(768));
    }

    #[test]
    fn checksum_encodings() {
        assert_eq!(encode_crc32c(crc32c::crc32c(b"123456789")), "4waSgw==");
        assert_eq!(decode_crc32c("4waSgw=="), Some(0xE306_9283));
        assert_eq!(decode_crc32c("nonsense"), None);
        assert_eq!(content_md5(b""), "1B2M2Y8AsgTpgAmY7PhCfg==");
    }

    #[test]
    fn meta_from_headers_reads_user_metadata_and_checksum() {
        let mut h = HeaderMap::new();
        h.insert("content-length", HeaderValue::from_static("5"));
        h.insert("etag", HeaderValue::from_static("\"abc\""));
        h.insert("x-amz-meta-owner", HeaderValue::from_static("me"));
        h.insert(
            "x-amz-checksum-crc32c",
            HeaderValue::from_static("4waSgw=="),
        );
        h.insert(
            "last-modified",
            HeaderValue::from_static("Fri, 27 Nov 2026 05:00:00 GMT"),
        );
        let m = meta_from_headers(&h);
        assert_eq!(m.size, 5);
        assert_eq!(m.etag.as_deref(), Some("abc"));
        assert_eq!(m.metadata["owner"], "me");
        let mut h = HeaderMap::new();
        h.insert(
            "x-amz-meta-name",
            HeaderValue::from_bytes("café".as_bytes()).unwrap(),
        );
        assert_eq!(meta_from_headers(&h).metadata["name"], "café");
        assert_eq!(m.checksum_crc32c.as_deref(), Some("4waSgw=="));
        assert!(m.last_modified.is_some());
    }
}
