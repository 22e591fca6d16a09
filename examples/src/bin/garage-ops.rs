//! `garage-ops`: the Garage runbook.
//!
//! * `health` — as the seed's Gatus checks it: the S3 endpoint answers an anonymous request with
//!   403 Forbidden, and the admin API's `/health` answers 200;
//! * `buckets` — every bucket with its usage and quotas;
//! * `keys` — the access keys (ids and names; never secrets).
//!
//! Exit codes: 0 ok, 1 a health check failed, 2 bad config or an API error.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use clap::{Parser, Subcommand};
use comfy_table::Table;
use examples::cli::{bytes_or_dash, human_bytes};
use examples::clients;
use examples::config::Config;
use garage_client::admin::BucketRef;
use serde_json::json;

/// Garage health, buckets and keys.
#[derive(Debug, Parser)]
#[command(name = "garage-ops", version)]
struct Cli {
    /// Runbook config (see examples/config/homelab.toml).
    #[arg(long, env = "BACKUP_AUDIT_CONFIG")]
    config: PathBuf,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    /// Request timeout in seconds.
    #[arg(long, default_value_t = 10, global = true)]
    timeout: u64,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// S3 endpoint answers 403 to an anonymous request; admin /health answers 200.
    Health,
    /// Buckets with usage and quotas.
    Buckets,
    /// Access keys.
    Keys,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    examples::cli::exit_with("garage-ops", 0, || run(&cli))
}

fn run(cli: &Cli) -> Result<bool> {
    let config = Config::load(&cli.config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        match cli.command {
            Cmd::Health => health(cli, &config).await,
            Cmd::Buckets => buckets(cli, &config).await,
            Cmd::Keys => keys(cli, &config).await,
        }
    })
}

struct Probe {
    check: &'static str,
    url: String,
    expected: u16,
    got: Result<u16, String>,
}

async fn health(cli: &Cli, config: &Config) -> Result<bool> {
    let g = config
        .garage
        .as_ref()
        .ok_or_else(|| anyhow!("[garage] is not configured"))?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(cli.timeout))
        .user_agent(concat!("garage-ops/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("building the HTTP client")?;
    // Gatus: an anonymous request to the S3 API must be refused (403), which proves it serves.
    let s3 = http
        .get(&g.s3_endpoint)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map_err(|e| e.without_url().to_string());
    let mut probes = vec![Probe {
        check: "S3 API (anonymous)",
        url: g.s3_endpoint.clone(),
        expected: 403,
        got: s3,
    }];
    // Admin /health needs no token; the admin client is used when the token resolves.
    let admin_url = format!("{}/health", g.admin_endpoint.trim_end_matches('/'));
    let secrets = clients::resolve_secrets(config).await;
    let admin = match secrets.and_then(|s| clients::garage_admin(config, &s)) {
        Ok(admin) => admin
            .health()
            .await
            .map(|h| h.status)
            .map_err(|e| e.to_string()),
        Err(_) => http
            .get(&admin_url)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .map_err(|e| e.without_url().to_string()),
    };
    probes.push(Probe {
        check: "admin /health",
        url: admin_url,
        expected: 200,
        got: admin,
    });
    let ok = probes
        .iter()
        .all(|p| p.got.as_ref().ok() == Some(&p.expected));
    if cli.json {
        let v: Vec<_> = probes
            .iter()
            .map(|p| {
                json!({
                    "check": p.check, "url": p.url, "expected": p.expected,
                    "status": p.got.as_ref().ok(), "error": p.got.as_ref().err(),
                    "ok": p.got.as_ref().ok() == Some(&p.expected),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"ok": ok, "checks": v}))?
        );
    } else {
        let mut table = Table::new();
        table.set_header(["check", "url", "expected", "got", "result"]);
        for p in &probes {
            let good = p.got.as_ref().ok() == Some(&p.expected);
            table.add_row([
                p.check.to_owned(),
                p.url.clone(),
                p.expected.to_string(),
                match &p.got {
                    Ok(s) => s.to_string(),
                    Err(e) => e.clone(),
                },
                if good { "ok" } else { "FAILED" }.to_owned(),
            ]);
        }
        println!("{table}");
        println!("Garage is {}", if ok { "healthy" } else { "UNHEALTHY" });
    }
    Ok(ok)
}

async fn buckets(cli: &Cli, config: &Config) -> Result<bool> {
    let secrets = clients::resolve_secrets(config).await?;
    let admin = clients::garage_admin(config, &secrets)?;
    let list = admin.list_buckets().await?;
    let mut rows = Vec::new();
    for b in &list {
        let info = admin.bucket_info(BucketRef::Id(&b.id)).await?;
        rows.push(info);
    }
    rows.sort_by(|a, b| a.global_aliases.cmp(&b.global_aliases));
    if cli.json {
        let v: Vec<_> = rows
            .iter()
            .map(|i| {
                json!({
                    "id": i.id, "aliases": i.global_aliases, "objects": i.objects,
                    "bytes": i.bytes, "unfinished_uploads": i.unfinished_uploads,
                    "quota_max_size": i.quotas.max_size, "quota_max_objects": i.quotas.max_objects,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(true);
    }
    let mut table = Table::new();
    table.set_header([
        "bucket",
        "id",
        "objects",
        "size",
        "quota size",
        "quota objects",
        "used",
    ]);
    for i in &rows {
        let bytes = u64::try_from(i.bytes).unwrap_or(0);
        let used = i
            .quotas
            .max_size
            .filter(|m| *m > 0)
            .map(|m| format!("{:.1}%", 100.0 * bytes as f64 / m as f64))
            .unwrap_or_else(|| "-".to_owned());
        table.add_row([
            i.global_aliases.join(", "),
            i.id.chars().take(16).collect(),
            i.objects.to_string(),
            human_bytes(bytes),
            bytes_or_dash(i.quotas.max_size),
            i.quotas
                .max_objects
                .map_or_else(|| "-".to_owned(), |n| n.to_string()),
            used,
        ]);
    }
    println!("{table}");
    Ok(true)
}

async fn keys(cli: &Cli, config: &Config) -> Result<bool> {
    let secrets = clients::resolve_secrets(config).await?;
    let admin = clients::garage_admin(config, &secrets)?;
    let mut keys = admin.list_keys().await?;
    keys.sort_by(|a, b| a.name.cmp(&b.name));
    if cli.json {
        let v: Vec<_> = keys
            .iter()
            .map(|k| {
                json!({"id": k.id, "name": k.name, "created": k.created,
                       "expiration": k.expiration, "expired": k.expired})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(true);
    }
    let mut table = Table::new();
    table.set_header(["access key id", "name", "created", "expires", "expired"]);
    for k in &keys {
        table.add_row([
            k.id.clone(),
            k.name.clone(),
            k.created.clone().unwrap_or_default(),
            k.expiration.clone().unwrap_or_else(|| "never".to_owned()),
            if k.expired { "yes" } else { "no" }.to_owned(),
        ]);
    }
    println!("{table}");
    Ok(true)
}
