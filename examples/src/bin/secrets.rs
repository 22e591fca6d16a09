//! `secrets`: the Infisical credential bundle of the config (`/backups/garage` by default).
//!
//! * `secrets [show]` — the bundle's keys with their values redacted (length only);
//! * `secrets run -- CMD ARGS…` — runs a child process with the bundle in its environment and
//!   exits with the child's exit code. The child starts from a **clean** environment: only
//!   [`PASS_THROUGH`] basics (`PATH`, `HOME`, `LANG`, `LC_*`, `TZ`, …) are kept from this
//!   process, so the Infisical client secret, a PBS token or AWS keys this process was given
//!   never reach the child; bundle keys with reserved names (`PATH`, `HOME`, `XDG_*`, …) are
//!   left out like `infisical run` does.
//!
//! The Infisical identity comes from the config's `[infisical]` sources (environment or files),
//! never from the command line; values are never printed.
//!
//! Exit codes: `show` 0 ok, 2 error; `run` the child's code (2 when it could not start).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use clap::{Parser, Subcommand};
use examples::cli::CommonArgs;
use examples::clients::GARAGE_BUNDLE_KEYS;
use examples::config::{Config, Secrets};
use infisical_client::EnvMap;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

/// The variables `secrets run` keeps from its own environment for the child: what a program
/// needs to find binaries, its home, locale and terminal, and nothing that carries credentials.
const PASS_THROUGH: &[&str] = &[
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TERM", "TMPDIR",
];

/// True for a variable `secrets run` passes from its own environment to the child.
fn passes_through(name: &str) -> bool {
    PASS_THROUGH.contains(&name) || name.starts_with("LC_")
}

/// Show (redacted) or use the Infisical credential bundle.
#[derive(Debug, Parser)]
#[command(name = "secrets", version)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    /// Bundle keys to read (repeatable); default: the seed's Garage bundle keys.
    #[arg(long = "key", global = true)]
    keys: Vec<String>,
    /// Folder to read instead of the config's `infisical.path`.
    #[arg(long, global = true)]
    path: Option<String>,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// The bundle's keys, values redacted.
    Show,
    /// Run a command with the bundle in its environment.
    Run {
        /// The command and its arguments (after `--`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true, num_args = 1..)]
        command: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    examples::cli::exit_with_code("secrets", cli.common.verbose, || run(&cli))
}

/// The bundle as read.
struct Fetched {
    /// The folder it was read from.
    path: String,
    /// Key → value, in the bundle's order.
    values: Vec<(String, SecretString)>,
    /// The bundle as a child's environment (reserved names left out).
    env: EnvMap,
}

/// Fetches the bundle.
fn fetch(cli: &Cli, config: &Config) -> Result<Fetched> {
    let inf = config
        .infisical
        .as_ref()
        .ok_or_else(|| anyhow!("[infisical] is not configured"))?;
    let path = cli.path.clone().unwrap_or_else(|| inf.path.clone());
    let keys: Vec<&str> = if cli.keys.is_empty() {
        GARAGE_BUNDLE_KEYS.to_vec()
    } else {
        cli.keys.iter().map(String::as_str).collect()
    };
    let plain = Secrets::default();
    // The universal-auth client id is an identifier, not a secret.
    let client_id = plain.resolve(&inf.client_id)?.expose_secret().to_owned();
    let client_secret = plain.resolve(&inf.client_secret)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let bundle = runtime.block_on(async {
        let client = infisical_client::Client::builder()
            .with_base_url(&inf.url)
            .with_universal_auth(client_id, client_secret)
            .with_project_id(&inf.project_id)
            .with_environment(&inf.environment)
            .with_plain_http(if inf.allow_plain_http {
                infisical_client::PlainHttp::AnyHost
            } else {
                infisical_client::PlainHttp::LoopbackOnly
            })
            .with_request_timeout(Duration::from_secs(20))
            .build()
            .context("building the Infisical client")?;
        client
            .bundle(path.as_str(), &keys)
            .await
            .with_context(|| format!("fetching the Infisical bundle {path}"))
    })?;
    let values = bundle
        .keys()
        .filter_map(|k| bundle.get(k).map(|v| (k.to_owned(), v.clone())))
        .collect();
    // The library's filter: reserved (`PATH`, `HOME`, …) and invalid names are left out.
    let env = bundle.to_env_map();
    Ok(Fetched { path, values, env })
}

fn run(cli: &Cli) -> Result<ExitCode> {
    let config = cli.common.load_config()?;
    let Fetched { path, values, env } = fetch(cli, &config)?;
    match &cli.command {
        None | Some(Cmd::Show) => {
            if cli.common.json {
                let v: Vec<_> = values
                    .iter()
                    .map(|(k, v)| json!({"key": k, "length": v.expose_secret().chars().count()}))
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({"path": path, "keys": v}))?
                );
            } else {
                let mut table = examples::cli::table();
                table.set_header(["key", "value", "length"]);
                for (k, v) in &values {
                    let n = v.expose_secret().chars().count();
                    table.add_row([k.clone(), "[REDACTED]".to_owned(), n.to_string()]);
                }
                println!("bundle {path}");
                println!("{table}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Cmd::Run { command }) => {
            let (program, args) = command
                .split_first()
                .ok_or_else(|| anyhow!("no command given after --"))?;
            let mut child = std::process::Command::new(program);
            child.args(args).env_clear();
            child.envs(std::env::vars_os().filter(|(k, _)| k.to_str().is_some_and(passes_through)));
            child.envs(env.exposed());
            let status = child
                .status()
                .with_context(|| format!("running {program}"))?;
            Ok(match status.code() {
                Some(c) => ExitCode::from(u8::try_from(c).unwrap_or(1)),
                None => {
                    #[cfg(unix)]
                    {
                        use std::os::unix::process::ExitStatusExt;
                        let sig = status.signal().unwrap_or(0);
                        ExitCode::from(u8::try_from(128 + sig).unwrap_or(1))
                    }
                    #[cfg(not(unix))]
                    {
                        ExitCode::from(1)
                    }
                }
            })
        }
    }
}
