//! The backup matrix, schedules, retention engines and compliance, as a pure library.

pub mod error;
pub mod restic;

pub use error::{Error, Result};
