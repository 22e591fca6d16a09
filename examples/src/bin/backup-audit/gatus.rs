//! `backup-audit gatus`: Gatus endpoint configuration generated from the matrix.
//!
//! The seed's own checks (backup-infrastructure-overview.md, "Gatus Endpoints": Garage S3 API
//! answers 403 to an anonymous request, the Garage web UI and Backrest answer 200), plus one
//! endpoint per matrix target against `backup-audit serve`'s `/health/<target>`, each with a
//! `custom` alert that Gatus posts to Keep's webhook.
//!
//! Field names and rules follow Gatus's README (TwiN/gatus README.md, "Endpoints",
//! "Conditions", "Alerting", "Configuring custom alerts"): `endpoints[].name`, `url` and at
//! least one condition are required; `custom` is the provider for an arbitrary webhook and needs
//! `alerting.custom.url`; names, groups and alert descriptions must not contain `"` or `\`
//! (config/endpoint/common.go, alerting/alert/alert.go); `(group, name)` must be unique
//! (config/config.go). Gatus expands `${VAR}` in its config, so the Keep URL and API key stay in
//! Gatus's environment, never in this file.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use backup_policy::matrix::Matrix;
use serde::Serialize;

/// Arguments of `backup-audit gatus`.
#[derive(Debug, clap::Args)]
pub struct GatusArgs {
    /// `--config` (its `matrix`), `--json` (the same document as JSON, which is also valid YAML),
    /// `-v`.
    #[command(flatten)]
    pub common: examples::cli::CommonArgs,
    /// Matrix TOML file (default: the config's `matrix`, else the embedded homelab seed matrix).
    #[arg(long, env = "BACKUP_MATRIX")]
    pub matrix: Option<PathBuf>,
    /// Where Gatus reaches `backup-audit serve` (its `/health/<target>` per row).
    #[arg(long, default_value = "http://127.0.0.1:9810")]
    pub serve_url: String,
    /// Keep's webhook URL as written into the Gatus config (default: an environment variable
    /// Gatus expands at start).
    #[arg(long, default_value = "${KEEP_WEBHOOK_URL}")]
    pub keep_url: String,
    /// Plain HTTP checks (`[[check]]` with `name`, `url`, `status`); default: the example
    /// config's `examples/config/gatus-checks.toml`.
    #[arg(long, value_name = "FILE")]
    pub checks: Option<PathBuf>,
    /// Write the YAML here (default: stdout).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// The homelab's own checks, from the example config `examples/config/gatus-checks.toml`.
const SEED_CHECKS_TOML: &str = include_str!("../../../config/gatus-checks.toml");

/// A plain HTTP check: the status `url` must answer.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    name: String,
    url: String,
    status: u16,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ChecksFile {
    #[serde(default)]
    check: Vec<Check>,
}

/// The checks in `path`, or the example config's when `None`.
fn load_checks(path: Option<&PathBuf>) -> Result<Vec<Check>> {
    let (what, text) = match path {
        Some(p) => (
            p.display().to_string(),
            std::fs::read_to_string(p).map_err(|e| anyhow!("{}: {e}", p.display()))?,
        ),
        None => ("gatus-checks.toml".to_owned(), SEED_CHECKS_TOML.to_owned()),
    };
    let file: ChecksFile = toml::from_str(&text).map_err(|e| anyhow!("{what}: {e}"))?;
    Ok(file.check)
}

/// Runs `backup-audit gatus`.
pub fn run(args: &GatusArgs) -> ExitCode {
    examples::cli::exit_with("backup-audit gatus", args.common.verbose, || {
        let matrix = crate::rules::matrix_for(&args.common, args.matrix.as_ref())?;
        let checks = load_checks(args.checks.as_ref())?;
        let config = gatus_config(&matrix, &checks, &args.serve_url, &args.keep_url)?;
        let text = crate::rules::render(&config, args.common.json)?;
        match &args.output {
            Some(p) => examples::audit::write_atomically(p, &text)?,
            None => print!("{text}"),
        }
        Ok(true)
    })
}

/// A Gatus configuration: alerting providers and endpoints.
#[derive(Debug, Serialize)]
pub struct GatusConfig {
    alerting: Alerting,
    endpoints: Vec<Endpoint>,
}

#[derive(Debug, Serialize)]
struct Alerting {
    custom: CustomProvider,
}

#[derive(Debug, Serialize)]
struct CustomProvider {
    url: String,
    method: String,
    headers: BTreeMap<String, String>,
    body: String,
    placeholders: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct Endpoint {
    name: String,
    group: String,
    enabled: bool,
    url: String,
    interval: String,
    conditions: Vec<String>,
    alerts: Vec<Alert>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct Alert {
    #[serde(rename = "type")]
    kind: String,
    failure_threshold: u32,
    success_threshold: u32,
    send_on_resolved: bool,
    description: String,
}

/// Gatus forbids `"` and `\` in names, groups and alert descriptions.
fn gatus_safe(what: &str, s: &str) -> Result<String> {
    if s.contains(['"', '\\']) || s.is_empty() {
        return Err(anyhow!(
            "{what} {s:?} cannot be a Gatus name (empty, or contains \" or \\)"
        ));
    }
    Ok(s.to_owned())
}

fn alert(description: String) -> Alert {
    Alert {
        kind: "custom".into(),
        failure_threshold: 2,
        success_threshold: 1,
        send_on_resolved: true,
        description,
    }
}

/// The Gatus config for `checks` and `matrix`, with row endpoints under `serve_url` and alerts
/// to `keep_url`.
pub fn gatus_config(
    matrix: &Matrix,
    checks: &[Check],
    serve_url: &str,
    keep_url: &str,
) -> Result<GatusConfig> {
    let base =
        reqwest::Url::parse(serve_url).map_err(|e| anyhow!("--serve-url {serve_url:?}: {e}"))?;
    if !matches!(base.scheme(), "http" | "https") {
        return Err(anyhow!("--serve-url {serve_url:?}: expected http or https"));
    }
    let mut endpoints = Vec::new();
    for Check { name, url, status } in checks {
        let name = gatus_safe("check", name)?;
        endpoints.push(Endpoint {
            alerts: vec![alert(format!("{name} did not answer {status}"))],
            name,
            group: "backup-infrastructure".into(),
            enabled: true,
            url: url.clone(),
            interval: "1m".into(),
            conditions: vec![format!("[STATUS] == {status}")],
        });
    }
    for t in &matrix.target {
        let name = gatus_safe("target", &t.name)?;
        let mut url = base.clone();
        url.path_segments_mut()
            .map_err(|()| anyhow!("--serve-url {serve_url:?} cannot take a path"))?
            .pop_if_empty()
            .extend(["health", &t.name]);
        endpoints.push(Endpoint {
            name: format!("backup {name}"),
            group: "backups".into(),
            enabled: t.enabled,
            url: url.to_string(),
            interval: "5m".into(),
            conditions: vec!["[STATUS] == 200".into()],
            alerts: vec![alert(format!(
                "backup-audit reports backup {name} ({}) not ok",
                examples::audit::tool_name(t.tool)
            ))],
        });
    }
    // Keep's webhook event: the fields Keep maps onto an alert; the fingerprint is stable per
    // endpoint so the resolved event closes the alert the triggered one opened.
    let body = r#"{"name": "[ENDPOINT_GROUP]/[ENDPOINT_NAME]", "status": "[ALERT_TRIGGERED_OR_RESOLVED]", "severity": "critical", "fingerprint": "gatus-[ENDPOINT_GROUP]-[ENDPOINT_NAME]", "source": ["gatus"], "url": "[ENDPOINT_URL]", "description": "[ALERT_DESCRIPTION]: [RESULT_ERRORS]"}"#;
    Ok(GatusConfig {
        alerting: Alerting {
            custom: CustomProvider {
                url: keep_url.to_owned(),
                method: "POST".into(),
                headers: BTreeMap::from([
                    ("Content-Type".into(), "application/json".into()),
                    ("X-API-KEY".into(), "${KEEP_API_KEY}".into()),
                ]),
                body: body.into(),
                placeholders: BTreeMap::from([(
                    "ALERT_TRIGGERED_OR_RESOLVED".into(),
                    BTreeMap::from([
                        ("TRIGGERED".into(), "firing".into()),
                        ("RESOLVED".into(), "resolved".into()),
                    ]),
                )]),
            },
        },
        endpoints,
    })
}
