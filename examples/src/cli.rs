//! What every runbook binary does around its own work: crypto provider, logging, the matrix,
//! the runtime, and exit codes.
//!
//! Exit codes are shared: 0 everything ok, 1 the check the binary performs failed (a late row,
//! a failed verification, a disagreement), 2 the binary could not do its job (bad config,
//! unreachable system, bad arguments).

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use backup_policy::matrix::Matrix;

use crate::clients;
use crate::config::Config;

/// Runs a binary's body: installs the crypto provider and a stderr logger (WARN, INFO with one
/// `-v`, DEBUG with more), then maps `Ok(true)` to 0, `Ok(false)` to 1 and errors to 2 with the
/// error chain printed after `name:`.
pub fn exit_with(name: &str, verbose: u8, body: impl FnOnce() -> Result<bool>) -> ExitCode {
    exit_with_code(name, verbose, || {
        body().map(|ok| {
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        })
    })
}

/// Like [`exit_with`], for bodies that choose their own exit code (e.g. a child's).
pub fn exit_with_code(
    name: &str,
    verbose: u8,
    body: impl FnOnce() -> Result<ExitCode>,
) -> ExitCode {
    clients::install_crypto_provider();
    let level = match verbose {
        0 => tracing::Level::WARN,
        1 => tracing::Level::INFO,
        _ => tracing::Level::DEBUG,
    };
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .try_init();
    match body() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{name}: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The matrix: `override_path`, else the config's `matrix`, else the embedded seed matrix.
pub fn load_matrix(config: &Config, override_path: Option<&Path>) -> Result<Matrix> {
    match override_path.or(config.matrix.as_deref()) {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading matrix {}", path.display()))?;
            Ok(Matrix::from_toml(&text, &path.display().to_string())?)
        }
        None => Ok(Matrix::homelab()?),
    }
}

/// A multi-threaded tokio runtime.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// A byte count in binary units (`512 B`, `68.4 KiB`, `3.0 GiB`), as every runbook prints sizes.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// [`human_bytes`], or `-` when the size is unknown.
pub fn bytes_or_dash(n: Option<u64>) -> String {
    n.map_or_else(|| "-".to_owned(), human_bytes)
}

#[cfg(test)]
mod tests {
    use super::{bytes_or_dash, human_bytes};

    #[test]
    fn sizes_are_human() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(70_000), "68.4 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
        assert_eq!(human_bytes(1 << 50), "1.0 PiB");
        assert_eq!(bytes_or_dash(None), "-");
    }
}
