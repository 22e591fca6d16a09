//! Drive restic locally or on remote hosts over SSH (russh), with typed commands and results.
//!
//! This crate is being built; see the workspace README for its status.
