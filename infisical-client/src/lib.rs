//! Client for Infisical: machine-identity auth, secrets, and typed credential bundles.
//!
//! This crate is being built; see the workspace README for its status.
