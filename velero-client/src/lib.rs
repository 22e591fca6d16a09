//! Velero's API (backups, restores, schedules, storage locations) over kube-rs, across several kube contexts.
//!
//! This crate is being built; see the workspace README for its status.
