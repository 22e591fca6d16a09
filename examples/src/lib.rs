//! Shared glue for the runbook binaries in `src/bin/`: the config file, secret sources, and output helpers.
//!
//! The binaries stay thin: parse arguments, build clients from [`config::Config`] and the
//! environment, call the libraries, print a table or JSON, and exit with a meaningful code.

pub mod audit;
pub mod cli;
pub mod clients;
pub mod config;
pub mod drill;
pub mod monitor;
pub mod progress;
