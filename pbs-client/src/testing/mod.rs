//! A fake Proxmox Backup Server for tests: real TLS (a self-signed rcgen certificate, like PBS's
//! default one) on `127.0.0.1:0`, in-memory datastores, namespaces, snapshots, tasks and jobs,
//! PBS's envelope and plain-text errors, tickets that expire and the real prune selection.
//!
//! Every fake in the workspace starts the same way: [`FakePbs::start`] (or
//! [`FakePbs::start_with`] a [`FakePbsConfig`]), then [`FakePbs::client_builder`] returns a
//! [`ClientBuilder`](crate::ClientBuilder) already pointed at it (base URL, pinned certificate,
//! the full-privilege token), which a test can still change before `build()`.
//!
//! The `testing` feature is for tests: its API is **not covered by semver** and may change in
//! any release.
//!
//! ```
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use pbs_client::testing::FakePbs;
//! let pbs = FakePbs::start().await?;
//! let client = pbs.client_builder().build()?;
//! let stores = client.datastores().await?;
//! assert!(stores.iter().any(|s| s.store == "store1"));
//! # Ok(())
//! # }
//! ```

mod auth;
mod config;
mod datastore;
mod params;
pub mod prune;
mod routing;
mod server;
mod snapshot;
mod state;
mod tasks;

pub use config::FakePbsConfig;
pub use server::{AUDIT_TOKEN_ID, FakePbs, TOKEN_ID, USER};
pub use snapshot::FakeSnapshot;
