//! The backup matrix, schedules (cron and Proxmox calendar events), retention engines (restic forget, PBS prune, Velero TTL) and compliance, as a pure library.
//!
//! This crate is being built; see the workspace README for its status.
