//! `backup-audit serve`: the audit as a long-running monitor for Prometheus, Gatus and Keep.
//!
//! Re-checks every `--interval` and on demand (`POST /check`, `POST /check/<target>`), keeps the
//! last result and serves it:
//!
//! * `GET /metrics` — the metrics `check --prometheus` writes, plus per-system check duration
//!   and last check time (OpenMetrics text, written by `prometheus-client`);
//! * `GET /health` — 200 when every enabled row is ok, 503 otherwise; JSON with each verdict;
//! * `GET /health/<target>` — the same for one target's rows (404 for an unknown target).
//!
//! Failing rows are sent to Keep (the `alerts.webhook` URL, or `BACKUP_AUDIT_WEBHOOK`) once,
//! and resolved when they recover. Listens on loopback unless told otherwise; SIGTERM or
//! Ctrl-C stops it gracefully.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use examples::config::Config;
use examples::monitor::health::Health;
use examples::monitor::keep::{KEEP_API_KEY_ENV, KeepClient};
use examples::monitor::metrics::CONTENT_TYPE;
use examples::monitor::service::{Monitor, Scope, Settings};
use secrecy::SecretString;

/// Arguments of `backup-audit serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// `--config` (required: where each system lives and where credentials come from), `-v`.
    #[command(flatten)]
    pub common: examples::cli::CommonArgs,
    /// Matrix file; default: the config's `matrix`, else the embedded seed matrix.
    #[arg(long)]
    pub matrix: Option<PathBuf>,
    /// Address to listen on. Loopback by default: the answers name every backup and system.
    /// Port 9810 is the one `backup-audit gatus --serve-url` assumes (9187, the first choice,
    /// is postgres_exporter's in Prometheus's default port allocations).
    #[arg(long, default_value = "127.0.0.1:9810")]
    pub listen: SocketAddr,
    /// Time between checks (`5m`, `90s`, `1h`).
    #[arg(long, default_value = "5m")]
    pub interval: String,
    /// Per-system timeout in seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// Systems queried at once.
    #[arg(long, default_value_t = 4)]
    pub max_concurrent: usize,
}

/// Runs `backup-audit serve` until SIGTERM/Ctrl-C; exit 2 when it cannot start.
pub fn run(args: &ServeArgs) -> ExitCode {
    examples::cli::exit_with_code("backup-audit serve", args.common.verbose, || {
        if args.common.now.is_some() || args.common.json {
            anyhow::bail!(
                "serve runs on the clock and answers JSON on /health: no --now or --json"
            );
        }
        let config = args.common.load_config()?;
        let matrix = examples::cli::load_matrix(&config, args.matrix.as_deref())?;
        let interval = parse_interval(&args.interval)?;
        let keep = keep_client(&config)?;
        let monitor = Monitor::new(
            config,
            matrix,
            Settings {
                timeout: Duration::from_secs(args.timeout.max(1)),
                limit: args.max_concurrent.max(1),
            },
            keep,
        );
        examples::cli::runtime()?.block_on(serve(monitor, args.listen, interval))?;
        Ok(ExitCode::SUCCESS)
    })
}

/// The Keep client, when a webhook is configured (`BACKUP_AUDIT_WEBHOOK` over the config's
/// `alerts.webhook`, as for `check`).
fn keep_client(config: &Config) -> Result<Option<KeepClient>> {
    let url = std::env::var(crate::check::WEBHOOK_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| config.alerts.webhook.clone());
    let Some(url) = url else {
        return Ok(None);
    };
    let key = std::env::var(KEEP_API_KEY_ENV)
        .ok()
        .filter(|v| !v.is_empty())
        .map(SecretString::from);
    KeepClient::new(SecretString::from(url), key).map(Some)
}

fn parse_interval(s: &str) -> Result<Duration> {
    let d = s
        .parse::<jiff::Span>()
        .ok()
        .and_then(|span| jiff::SignedDuration::try_from(span).ok())
        .and_then(|d| Duration::try_from(d).ok())
        .ok_or_else(|| anyhow!("--interval {s:?}: expected a duration such as 5m or 90s"))?;
    if d < Duration::from_secs(1) {
        return Err(anyhow!("--interval {s:?}: must be at least 1s"));
    }
    Ok(d)
}

async fn serve(monitor: Arc<Monitor>, listen: SocketAddr, interval: Duration) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() {
        tracing::warn!("listening on {addr}, beyond loopback: restrict who can reach it");
    }
    eprintln!("backup-audit serve: listening on http://{addr}");
    let checker = tokio::spawn({
        let monitor = monitor.clone();
        async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                monitor.check(Scope::All).await;
            }
        }
    });
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/health", get(health_all))
        .route("/health/{target}", get(health_target))
        .route("/check", post(check_all))
        .route("/check/{target}", post(check_target))
        .with_state(monitor);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving HTTP")?;
    checker.abort();
    eprintln!("backup-audit serve: stopped");
    Ok(())
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!("cannot watch SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    eprintln!("backup-audit serve: shutting down");
}

fn health_response(h: &Health) -> Response {
    let code = StatusCode::from_u16(h.http_status()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    (code, axum::Json(h)).into_response()
}

fn unknown_target() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({ "error": "no such target in the matrix" })),
    )
        .into_response()
}

async fn metrics(State(m): State<Arc<Monitor>>) -> Response {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], m.metrics()).into_response()
}

async fn health_all(State(m): State<Arc<Monitor>>) -> Response {
    health_response(&m.health(None))
}

async fn health_target(State(m): State<Arc<Monitor>>, Path(target): Path<String>) -> Response {
    if !m.knows(&target) {
        return unknown_target();
    }
    health_response(&m.health(Some(&target)))
}

async fn check_all(State(m): State<Arc<Monitor>>) -> Response {
    health_response(&m.check(Scope::All).await)
}

async fn check_target(State(m): State<Arc<Monitor>>, Path(target): Path<String>) -> Response {
    if !m.knows(&target) {
        return unknown_target();
    }
    m.check(Scope::Target(target.clone())).await;
    health_response(&m.health(Some(&target)))
}
