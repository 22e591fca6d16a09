//! The backup matrix, schedules, retention engines and compliance, as a pure library.

pub mod backrest;
pub mod calendar;
pub mod error;
pub mod matrix;
pub mod pbs;
pub mod restic;
pub mod schedule;
pub mod velero;

pub use error::{Error, Result};
