//! The crate's error type.

/// Result with this crate's [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to Garage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The test bed ([`crate::testing::GarageServer`]) could not start or drive Garage.
    #[cfg(feature = "testing")]
    #[error("garage test bed: {0}")]
    TestBed(String),
}
