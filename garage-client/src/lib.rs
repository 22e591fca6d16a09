//! Client for [Garage](https://garagehq.deuxfleurs.fr/): its S3 data plane (SigV4 over reqwest)
//! and its admin API v2 with a v1 fallback.
//!
//! - [`S3Client`]: path-style S3 signed with `aws-sigv4` (single-encoded, non-normalised canonical
//!   URI, region default `garage`): list buckets, `ListObjectsV2` as a paging stream, head, get as
//!   a byte stream with ranges, put from bytes, a file or a stream (multipart above a threshold,
//!   concurrent parts, bounded memory, aborted on failure or drop), delete, multi-delete, copy,
//!   presigned GET/PUT. Every upload carries a CRC32C the server verifies (`UNSIGNED-PAYLOAD` plus
//!   `x-amz-checksum-crc32c`, and a full-object CRC32C on multipart completion); downloads of whole
//!   objects check the stored CRC32C and the length. Keys are sent byte-exact (`a/./b`,
//!   `x/../k` and `/etc/hosts` are those keys) or refused before any request
//!   ([`Error::InvalidKey`]); objects up to S3's 5 TiB, part sizes chosen to fit; a lost
//!   CompleteMultipartUpload answer and a body cut mid-download are survived. Downloads are
//!   also a `tokio::io::AsyncRead` ([`s3::GetObject::into_async_read`]), uploads a
//!   `tokio::io::AsyncWrite` ([`S3Client::put_writer`]).
//! - [`AdminClient`]: `/health`, `/metrics`, cluster health/status/statistics/layout, buckets
//!   (info with usage and quotas, create, delete, aliases, quotas, allow/deny), keys (list, info,
//!   create, import, delete). Speaks `/v2/` and falls back to `/v1/` for Garage 1.x, detected once.
//! - Errors are one [`enum@Error`] with typed S3 ([`S3Error`], [`S3ErrorCode`]) and admin
//!   ([`AdminError`]) variants and helpers such as [`Error::is_not_found`].
//! - [`Error::is_unauthenticated`] (bad key, secret or token) and [`Error::is_permission_denied`]
//!   (an accepted key or token that may not do this) tell credentials from rights.
//!
//! ```no_run
//! use garage_client::s3::{GetOptions, ListOptions, PutOptions, PutPayload};
//! use garage_client::{AdminClient, S3Client};
//! use futures::TryStreamExt;
//!
//! # async fn demo() -> garage_client::Result<()> {
//! // AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (+ AWS_REGION, default "garage")
//! let s3 = S3Client::from_env()?;
//! // GARAGE_ADMIN_ENDPOINT, GARAGE_ADMIN_TOKEN
//! let admin = AdminClient::from_env()?;
//!
//! let bucket = admin.create_bucket("backups").await?;
//! admin.set_quotas(&bucket.id, garage_client::admin::Quotas { max_size: Some(10 << 30), max_objects: None }).await?;
//!
//! s3.put_object("backups", "db/dump.sql", PutPayload::file("/var/backups/dump.sql"),
//!     PutOptions::default().with_content_type("application/sql")).await?;
//! let keys: Vec<String> = s3.list_objects("backups", ListOptions::default().with_prefix("db/"))
//!     .map_ok(|o| o.key).try_collect().await?;
//! let dump = s3.get_object("backups", "db/dump.sql", GetOptions::default()).await?.bytes().await?;
//! let info = admin.bucket_info_by_alias("backups").await?;
//! println!("{} keys, {} bytes read, bucket holds {} bytes", keys.len(), dump.len(), info.bytes);
//! # Ok(()) }
//! ```
//!
//! # Crate features
//!
//! - `testing` (off by default): the `testing` module, for tests and not covered by semver:
//!   `testing::GarageServer` runs a real single-node Garage on loopback (`start().await`,
//!   `client_builder()`, `admin_client_builder()`, `kill()`, `restart()`), and
//!   `testing::FaultProxy` injects faults between a client and it. Needs the `garage` binary
//!   (`GARAGE_BIN`, `PATH` or `~/.cache/backup-stack/garage-2.5.0/bin`).
//! - `bench-peers` (off by default): the `aws-sdk-s3` and `object_store` peers of the `s3`
//!   benchmark (`cargo bench -p garage-client --features bench-peers --bench s3`); never needed
//!   by the library or its tests.
//! - `http2` (off by default): HTTP/2 over TLS (ALPN) through reqwest, for a reverse proxy in front
//!   of Garage that speaks it. Garage itself serves HTTP/1.1, so the default build leaves the h2
//!   stack out.

pub mod admin;
mod config;
mod error;
pub mod s3;
mod sign;
#[cfg(feature = "testing")]
pub mod testing;
mod transport;

pub use admin::{AdminClient, AdminClientBuilder};
pub use config::{
    BackoffConfig, Credentials, DEFAULT_REGION, DownloadConfig, HttpConfig, MultipartConfig,
    RetryConfig,
};
pub use error::{AdminError, Error, Result, S3Error, S3ErrorCode};
pub use s3::{S3Client, S3ClientBuilder};

/// The README's example is compiled as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
