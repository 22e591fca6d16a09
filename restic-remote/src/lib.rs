//! Drive restic locally or on remote hosts over SSH (russh), with typed commands and results.

#[cfg(feature = "testing")]
pub mod testing;
