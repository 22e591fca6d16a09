//! A fake Proxmox Backup Server for tests: real TLS (a self-signed rcgen certificate, like PBS's
//! default one) on `127.0.0.1:0`, in-memory datastores, namespaces, snapshots, tasks and jobs,
//! PBS's envelope and plain-text errors, tickets that expire and the real prune selection.
//!
//! ```no_run
//! # async fn demo() {
//! use pbs_client::testing::FakePbs;
//! let pbs = FakePbs::start().await.unwrap();
//! let client = pbs.client_builder().build().unwrap();
//! let stores = client.datastores().await.unwrap();
//! assert_eq!(stores[0].store, "store1");
//! # }
//! ```

mod datastore;
pub mod prune;
mod server;
mod tasks;

pub use server::{AUDIT_TOKEN_ID, FakePbs, FakePbsConfig, FakeSnapshot, TOKEN_ID, USER};
