//! `garage-ops`: the Garage runbook.
//!
//! * `health` — as the seed's Gatus checks it: the S3 endpoint answers an anonymous request with
//!   403 Forbidden, and the admin API's `/health` answers 200;
//! * `buckets` — every bucket with its usage and quotas;
//! * `keys` — the access keys (ids and names; never secrets);
//! * `uploads [--bucket B]… [--older-than 1d] [--clean]` — unfinished multipart uploads (left by
//!   killed or crashed uploaders; they hold disk until aborted), listed through S3 with their
//!   parts and age; `--clean` aborts those older than `--older-than` with the admin API's
//!   `CleanupIncompleteUploads`.
//!
//! Exit codes: 0 ok, 1 a health check failed or stale uploads remain, 2 bad config or an API
//! error.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use clap::{Parser, Subcommand};
use examples::cli::CommonArgs;
use examples::cli::{bytes_or_dash, human_bytes};
use examples::clients;
use examples::config::Config;
use garage_client::admin::BucketRef;
use serde_json::json;

/// Garage health, buckets and keys.
#[derive(Debug, Parser)]
#[command(name = "garage-ops", version)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
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
    /// Unfinished multipart uploads; `--clean` aborts the stale ones.
    Uploads {
        /// Bucket (global alias); repeatable. Default: every bucket with a global alias.
        #[arg(long = "bucket")]
        buckets: Vec<String>,
        /// An upload is stale once started longer ago than this (`90s`, `30m`, `12h`, `7d`, `2w`).
        #[arg(long, default_value = "1d", value_parser = parse_age)]
        older_than: Duration,
        /// Abort the stale uploads (admin `CleanupIncompleteUploads`).
        #[arg(long)]
        clean: bool,
    },
}

/// Parses `<n><unit>` with unit `s`, `m`, `h`, `d` or `w` (a bare `0` is zero).
fn parse_age(s: &str) -> Result<Duration, String> {
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{s:?}: expected a number and a unit, e.g. 12h or 7d"))?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(format!("{s:?}: the unit must be s, m, h, d or w")),
    };
    n.checked_mul(secs)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{s:?} is too long"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    examples::cli::exit_with("garage-ops", cli.common.verbose, || run(&cli))
}

fn run(cli: &Cli) -> Result<bool> {
    let config = cli.common.load_config()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        match cli.command {
            Cmd::Health => health(cli, &config).await,
            Cmd::Buckets => buckets(cli, &config).await,
            Cmd::Keys => keys(cli, &config).await,
            Cmd::Uploads {
                ref buckets,
                older_than,
                clean,
            } => uploads(cli, &config, buckets, older_than, clean).await,
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
    if cli.common.json {
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
        let mut table = examples::cli::table();
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
    if cli.common.json {
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
    let mut table = examples::cli::table();
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
            i.id.as_str().chars().take(16).collect(),
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
    if cli.common.json {
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
    let mut table = examples::cli::table();
    table.set_header(["access key id", "name", "created", "expires", "expired"]);
    for k in &keys {
        table.add_row([
            k.id.to_string(),
            k.name.clone(),
            k.created.clone().unwrap_or_default(),
            k.expiration.clone().unwrap_or_else(|| "never".to_owned()),
            if k.expired { "yes" } else { "no" }.to_owned(),
        ]);
    }
    println!("{table}");
    Ok(true)
}

/// One unfinished upload as the `uploads` command reports it.
struct UploadRow {
    bucket: String,
    key: String,
    upload_id: String,
    initiated: Option<jiff::Timestamp>,
    age: Option<Duration>,
    parts: usize,
    bytes: u64,
    stale: bool,
}

async fn uploads(
    cli: &Cli,
    config: &Config,
    only: &[String],
    older_than: Duration,
    clean: bool,
) -> Result<bool> {
    let g = config
        .garage
        .as_ref()
        .ok_or_else(|| anyhow!("[garage] is not configured"))?;
    let secrets = clients::resolve_secrets(config).await?;
    let admin = clients::garage_admin(config, &secrets)?;
    let (id, secret, region) = clients::garage_s3_credentials(config, &secrets)?;
    let s3 = garage_client::S3Client::builder()
        .with_endpoint(&g.s3_endpoint)
        .with_region(region)
        .with_credentials(garage_client::Credentials::new(
            secrecy::ExposeSecret::expose_secret(&id),
            secret,
        ))
        .build()
        .context("building the Garage S3 client")?;
    // (alias, bucket id) of the buckets to look at.
    let mut targets: Vec<(String, garage_client::admin::BucketId)> = Vec::new();
    if only.is_empty() {
        for b in admin.list_buckets().await? {
            if let Some(alias) = b.global_aliases.first() {
                targets.push((alias.clone(), b.id));
            }
        }
    } else {
        for alias in only {
            let info = admin
                .bucket_info_by_alias(alias)
                .await
                .with_context(|| format!("bucket {alias}"))?;
            targets.push((alias.clone(), info.id));
        }
    }
    targets.sort();
    let now = cli.common.now();
    let mut rows = Vec::new();
    for (alias, _) in &targets {
        let mut list = s3.list_multipart_uploads(alias, Default::default());
        while let Some(u) = futures::StreamExt::next(&mut list).await {
            let u = u.with_context(|| format!("listing the uploads of {alias}"))?;
            let parts = s3.list_parts(alias, &u.key, &u.upload_id).await;
            // The upload may have finished or been aborted since it was listed.
            let parts = match parts {
                Ok(p) => p,
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(e.into()),
            };
            let age = u
                .initiated
                .and_then(|t| Duration::try_from(now.duration_since(t)).ok());
            rows.push(UploadRow {
                bucket: alias.clone(),
                stale: age.is_some_and(|a| a >= older_than),
                key: u.key,
                upload_id: u.upload_id,
                initiated: u.initiated,
                age,
                parts: parts.len(),
                bytes: parts.iter().map(|p| p.size).sum(),
            });
        }
    }
    let mut cleaned: Vec<(String, u64)> = Vec::new();
    if clean {
        for (alias, id) in &targets {
            if rows.iter().any(|r| &r.bucket == alias && r.stale) {
                let n = admin
                    .cleanup_incomplete_uploads(id, older_than)
                    .await
                    .with_context(|| format!("cleaning the uploads of {alias}"))?;
                cleaned.push((alias.clone(), n));
            }
        }
    }
    let stale = rows.iter().filter(|r| r.stale).count();
    let ok = stale == 0 || clean;
    if cli.common.json {
        let v: Vec<_> = rows
            .iter()
            .map(|r| {
                json!({
                    "bucket": r.bucket, "key": r.key, "upload_id": r.upload_id,
                    "initiated": r.initiated.map(|t| t.to_string()),
                    "age_secs": r.age.map(|a| a.as_secs()), "parts": r.parts, "bytes": r.bytes,
                    "stale": r.stale,
                })
            })
            .collect();
        let cleaned: serde_json::Map<String, serde_json::Value> =
            cleaned.iter().map(|(b, n)| (b.clone(), json!(n))).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "older_than_secs": older_than.as_secs(), "uploads": v,
                "stale": stale, "cleaned": cleaned, "ok": ok,
            }))?
        );
        return Ok(ok);
    }
    let mut table = examples::cli::table();
    table.set_header([
        "bucket",
        "key",
        "upload id",
        "started",
        "age",
        "parts",
        "size",
        "stale",
    ]);
    for r in &rows {
        table.add_row([
            r.bucket.clone(),
            r.key.escape_debug().to_string(),
            r.upload_id.chars().take(16).collect(),
            r.initiated
                .map(|t| t.to_string())
                .unwrap_or_else(|| "-".into()),
            r.age.map(human_age).unwrap_or_else(|| "-".into()),
            r.parts.to_string(),
            human_bytes(r.bytes),
            if r.stale { "yes" } else { "no" }.to_owned(),
        ]);
    }
    println!("{table}");
    let limit = human_age(older_than);
    if clean {
        let n: u64 = cleaned.iter().map(|(_, n)| n).sum();
        println!("{n} upload(s) older than {limit} aborted");
    } else if stale > 0 {
        println!("{stale} upload(s) older than {limit}: run with --clean to abort them");
    } else {
        println!("no upload older than {limit}");
    }
    Ok(ok)
}

fn human_age(d: Duration) -> String {
    examples::cli::human_age(jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_parse_and_print() {
        assert_eq!(parse_age("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_age("12h"), Ok(Duration::from_secs(43_200)));
        assert_eq!(parse_age("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_age("0"), Ok(Duration::ZERO));
        assert!(parse_age("7").is_err());
        assert!(parse_age("d").is_err());
        assert!(parse_age("3y").is_err());
        assert!(parse_age("99999999999999999999w").is_err());
        assert_eq!(human_age(Duration::from_secs(90_061)), "1d 1h");
        assert_eq!(human_age(Duration::from_secs(3_700)), "1h 1m");
    }
}
