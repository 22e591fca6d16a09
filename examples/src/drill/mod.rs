//! Restore drills: the logic behind `restore-drill`.

pub mod scratch;
