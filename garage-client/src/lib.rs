//! Client for Garage: its S3 data plane (SigV4 over reqwest) and its admin API v2 with v1 fallback.

pub mod admin;
mod config;
mod error;
pub mod s3;
mod sign;
#[cfg(feature = "testing")]
pub mod testing;
mod transport;

pub use admin::{AdminClient, AdminClientBuilder};
pub use config::{Credentials, DEFAULT_REGION, HttpConfig, MultipartConfig};
pub use error::{AdminError, Error, Result, S3Error, S3ErrorCode};
pub use s3::{S3Client, S3ClientBuilder};
