//! `backup-audit serve`: the audit as a long-running monitor.
//!
//! * [`service`] runs check cycles (on an interval and on demand, one at a time) and keeps the
//!   last result;
//! * [`health`] turns it into the JSON `/health` answers Gatus polls;
//! * [`metrics`] renders `/metrics` with the `prometheus-client` library;
//! * [`keep`] sends one Keep alert per failing row and resolves it when the row recovers.

pub mod health;
pub mod keep;
pub mod metrics;
pub mod service;
