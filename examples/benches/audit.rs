//! Benchmark: `backup-audit check` wall time against its slowest single system.
//!
//! The systems are the end-to-end test bed (real Garage, sshd and restic; fake PBS, Velero and
//! Infisical) with deliberate delays in front of the fakes (delaying TCP proxies: PBS 800 ms,
//! Velero prod 300 ms, agentic 500 ms, monit 700 ms; restic over SSH is slow by itself).
//! Each round times, interleaved: the whole audit in-process, each system alone (a matrix with
//! only its targets), and the `backup-audit check` binary end to end. Medians are reported, and
//! the ratio audit / slowest single system (target ≤ 1.2).
//!
//! ```sh
//! GARAGE_BIN=~/.cache/backup-stack/garage-2.5.0/bin/garage \
//!   cargo bench -p examples --bench audit            # ROUNDS=7 by default
//! ```

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use backup_policy::matrix::Matrix;
use common::bed::*;
use examples::{audit, clients, config::Config};
use secrecy::{ExposeSecret, SecretString};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    clients::install_crypto_provider();
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(rounds));
}

async fn run(rounds: usize) {
    let bed = start_bed().await;
    let repos = Repos {
        web: make_repo(
            &bed.garage,
            "web",
            &["2026-11-26T03:00:30Z", "2026-11-27T03:00:30Z"],
        )
        .await,
        db: make_repo(&bed.garage, "db", &["2026-11-27T04:00:30Z"]).await,
        db_stale: String::new(),
    };
    let pbs_addr = bed
        .pbs
        .base_url()
        .trim_start_matches("https://")
        .parse()
        .expect("pbs addr");
    let pbs_proxy = delaying_proxy(pbs_addr, Duration::from_millis(800)).await;
    let kubeconfig = delayed_kubeconfig(
        &bed,
        &[
            ("prod", Duration::from_millis(300)),
            ("agentic", Duration::from_millis(500)),
            ("monit", Duration::from_millis(700)),
        ],
    )
    .await;
    let config_path = write_config(
        &bed,
        &repos,
        &repos.db,
        &format!("https://{pbs_proxy}"),
        &kubeconfig,
    );
    let config = Config::load(&config_path).expect("config");
    let matrix_text = std::fs::read_to_string(bed.dir.path().join("matrix.toml")).expect("matrix");
    let matrix = Matrix::from_toml(&matrix_text, "matrix.toml").expect("matrix parses");
    let env = [
        ("E2E_INFISICAL_CLIENT_ID", INFISICAL_CLIENT_ID.to_owned()),
        (
            "E2E_INFISICAL_CLIENT_SECRET",
            INFISICAL_CLIENT_SECRET.to_owned(),
        ),
        (
            "E2E_PBS_TOKEN",
            bed.pbs.token_secret().expose_secret().to_owned(),
        ),
    ];
    let secrets = secrets_with_env(&config, &env).await;

    let groups: Vec<(&str, Vec<&str>)> = vec![
        ("velero/prod", vec!["velero-prod"]),
        ("velero/agentic", vec!["velero-agentic"]),
        ("velero/monit", vec!["velero-monit"]),
        ("restic/web-daily (ssh)", vec!["web-daily"]),
        ("restic/db-daily (local)", vec!["db-daily"]),
        ("pbs", vec!["pbs-web"]),
    ];
    let mut full = Vec::new();
    let mut binary = Vec::new();
    let mut singles: Vec<Vec<Duration>> = vec![Vec::new(); groups.len()];
    let timeout = Duration::from_secs(60);
    for round in 0..rounds {
        let t = Instant::now();
        let (results, _) = audit::gather(&config, &secrets, &matrix, timeout).await;
        full.push(t.elapsed());
        assert!(
            results.iter().all(|r| r.observations.is_ok()),
            "every system answers: {results:?}"
        );
        for (i, (_, targets)) in groups.iter().enumerate() {
            let mut only = matrix.clone();
            only.target.retain(|t| targets.contains(&t.name.as_str()));
            let t = Instant::now();
            let _ = audit::gather(&config, &secrets, &only, timeout).await;
            singles[i].push(t.elapsed());
        }
        let t = Instant::now();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_backup-audit"))
            .arg("check")
            .arg("--config")
            .arg(&config_path)
            .arg("--now")
            .arg(NOW)
            .arg("--json")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .expect("backup-audit runs");
        binary.push(t.elapsed());
        assert_eq!(out.status.code(), Some(0), "round {round}: {out:?}");
    }
    println!("backup-audit check, {rounds} rounds, medians:");
    let mut slowest = Duration::ZERO;
    for ((name, _), times) in groups.iter().zip(singles) {
        let m = median(times);
        slowest = slowest.max(m);
        println!("  single {name:<26} {:>8.1} ms", ms(m));
    }
    let full = median(full);
    let binary = median(binary);
    println!("  all systems (in-process)        {:>8.1} ms", ms(full));
    println!("  backup-audit check (process)    {:>8.1} ms", ms(binary));
    println!(
        "ratio audit / slowest single system: {:.2} (in-process), {:.2} (whole process, incl. start-up and Infisical login)",
        full.as_secs_f64() / slowest.as_secs_f64(),
        binary.as_secs_f64() / slowest.as_secs_f64()
    );
}

/// Resolves the config's secrets, with the bench's values for the `{ env = … }` sources.
async fn secrets_with_env(config: &Config, env: &[(&str, String)]) -> examples::config::Secrets {
    let overrides = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), SecretString::from(v.clone())))
        .collect();
    clients::resolve_secrets_with(config, overrides)
        .await
        .expect("secrets resolve")
}
