//! Client for the Proxmox Backup Server REST API, with token and ticket auth and certificate pinning.
//!
//! This crate is being built; see the workspace README for its status.
