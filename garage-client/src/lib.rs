//! Client for Garage: its S3 data plane (SigV4 over reqwest) and its admin API v2 with v1 fallback.

mod error;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{Error, Result};
