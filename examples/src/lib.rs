//! The runbook library: how the homelab composes the six client crates, behind the thin binaries
//! in `src/bin/`.
//!
//! Every binary follows one path, and each step has its module:
//!
//! 1. [`cli`] — the arguments all binaries share ([`cli::CommonArgs`]: `--config`, `--json`,
//!    `-v`, `--now`), logging, colour, the matrix, the runtime and the exit codes (0 ok, 1 the
//!    check failed, 2 the binary could not do its job).
//! 2. [`config`] — the one config file: where each system lives and where each credential comes
//!    from (`{ env = … }`, `{ file = … }`, `{ infisical = … }`), never the command line.
//! 3. [`clients`] — credentials resolved once ([`clients::resolve_secrets`]) and every system's
//!    client built from config plus secrets, so a `SecretString` is the only way a credential
//!    travels.
//! 4. The runbooks themselves, each a library the binary calls:
//!    * [`audit`] — `backup-audit check`: every system queried concurrently, each bounded by its
//!      own timeout, turned into observations and judged against the matrix;
//!    * [`monitor`] — `backup-audit serve`: the audit as a long-running service (`/metrics`,
//!      `/health`, Keep alerts);
//!    * [`drill`] — `restore-drill`: restic, Velero and PBS restores into scratch places, timed
//!      against the DR table's RTOs.
//! 5. [`progress`] — progress bars that only ever draw on a terminal.
//!
//! A config is parsed and checked before anything connects:
//!
//! ```
//! let config = examples::config::Config::from_toml(r#"
//!     [pbs]
//!     url = "https://pbs.example.invalid:8007"
//!     token_id = "root@pam!backup-audit"
//!     token_secret = { env = "PBS_PASSWORD" }
//!     datastore = "store1"
//! "#)?;
//! assert!(config.pbs.is_some() && config.garage.is_none());
//! # Ok::<(), anyhow::Error>(())
//! ```

pub mod audit;
pub mod cli;
pub mod clients;
pub mod config;
pub mod drill;
pub mod monitor;
pub mod progress;
