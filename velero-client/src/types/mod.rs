//! Typed velero.io/v1 custom resources, with every spec and status field of Velero 1.18.
//!
//! Every field is optional on the wire and unknown fields are ignored, so newer servers parse.
//! Phases are enums with an `Unknown(String)` catch-all. Velero's CRDs have **no status
//! subresource**: status is written with an ordinary patch of the object, and `generation` bumps
//! on every status write.

mod backup;
pub mod common;
mod other;
mod restore;
mod schedule;
mod storage_location;

pub use backup::*;
pub use common::{GoDuration, LabelSelector, Time, labels};
pub use other::*;
pub use restore::*;
pub use schedule::*;
pub use storage_location::*;
