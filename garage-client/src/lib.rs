//! Client for Garage: its S3 data plane (SigV4 over reqwest) and its admin API v2 with v1 fallback.
//!
//! This crate is being built; see the workspace README for its status.
