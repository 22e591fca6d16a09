//! End to end: `backup-audit serve` as the homelab runs it, wired into the real monitoring parts.
//!
//! The test bed of `audit_e2e` (real Garage, sshd and restic; the PBS, Velero and Infisical
//! fakes), with backups stamped relative to the real clock (Prometheus evaluates against it),
//! plus, from Debian's packages (scripts/test.sh installs them): `prometheus` scraping serve with
//! the rules `backup-audit alert-rules` generates, `prometheus-alertmanager` delivering to a
//! loopback webhook that stands in for Keep, and `prometheus-node-exporter` exporting the
//! textfile `check --prometheus` writes. One restic plan (db-daily) is late from the start; the
//! test follows it from serve's `/health` through Prometheus and Alertmanager and serve's own
//! Keep alert, then backs it up and follows the recovery.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::bed::*;
use jiff::{SignedDuration, Timestamp};
use restic_remote::{BackupOptions, Repository, Restic};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

const KEEP_URL_CANARY: &str = "keep-url-token-canary";
const KEEP_KEY_CANARY: &str = "keep-api-key-canary";

/// A child process killed (and reaped) when dropped, with its stderr collected.
struct Proc {
    name: &'static str,
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Proc {
    fn spawn(name: &'static str, cmd: &mut Command) -> Proc {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{name} does not start ({e}); scripts/test.sh installs it from Debian")
            });
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().expect("stderr");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        Proc {
            name,
            child,
            stderr,
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- {} stderr ---\n{}", self.name, self.stderr());
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Polls `f` every 250 ms until it returns Some, or panics after `limit` saying `what`.
async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// What the stand-in for Keep and Alertmanager's webhook received: (path, headers, body).
type Received = Arc<Mutex<Vec<(String, Vec<(String, String)>, Value)>>>;

/// A loopback HTTP server that answers 200 to every POST and records it.
async fn receiver() -> (String, Received) {
    use axum::extract::{Request, State};
    let got: Received = Arc::default();
    async fn record(State(got): State<Received>, req: Request) -> &'static str {
        let path = req.uri().path().to_owned();
        let headers = req
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        let body = axum::body::to_bytes(req.into_body(), 1 << 20)
            .await
            .unwrap_or_default();
        let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
        got.lock().unwrap().push((path, headers, json));
        "ok"
    }
    let app = axum::Router::new().fallback(record).with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind receiver");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

fn received(got: &Received, path: &str) -> Vec<Value> {
    got.lock()
        .unwrap()
        .iter()
        .filter(|(p, _, _)| p == path)
        .map(|(_, _, b)| b.clone())
        .collect()
}

/// Waits (30 s) until Alertmanager has delivered db-daily's BackupLate alert with `status`
/// (`firing` or `resolved`) to the test's webhook.
async fn wait_for_alertmanager_delivery(got: &Received, status: &'static str) {
    wait_for(
        &format!("Alertmanager's {status} delivery"),
        Duration::from_secs(30),
        || {
            let got = got.clone();
            async move {
                received(&got, "/alertmanager")
                    .iter()
                    .flat_map(|b| b["alerts"].as_array().cloned().unwrap_or_default())
                    .find(|a| {
                        a["labels"]["alertname"] == "BackupLate"
                            && a["labels"]["target"] == "db-daily"
                            && a["labels"]["job"] == "backup-audit"
                            && a["status"] == status
                    })
                    .map(|_| ())
            }
        },
    )
    .await;
}

/// A restic client for `uri` on the bed's Garage.
fn restic(garage: &garage_client::testing::GarageServer, uri: &str) -> Restic {
    let repo = Repository::new(uri.to_owned(), SecretString::from("repo-password-canary"))
        .with_s3_credentials(
            SecretString::from(garage.access_key_id().to_owned()),
            garage.secret_access_key().clone(),
            garage.region(),
        );
    Restic::builder()
        .with_repository(repo)
        .build()
        .expect("restic client")
}

async fn backup_now(garage: &garage_client::testing::GarageServer, uri: &str) {
    let data = tempfile::tempdir().expect("tempdir");
    std::fs::write(data.path().join("file.txt"), "fresh").expect("write");
    restic(garage, uri)
        .backup(
            &BackupOptions::new([data.path().to_string_lossy().into_owned()])
                .with_time(last_run(None, 4, 0)),
        )
        .await
        .expect("restic backup starts")
        .finish()
        .await
        .expect("restic backup");
}

/// The newest `HH:MM:30` UTC at or before now (on `weekday` when given): when a backup of a
/// schedule firing at `HH:MM` finishes. The audit counts an unnamed backup (restic, PBS) for a
/// schedule only when it starts within the grace after a firing, so fresh backups are stamped
/// there, not at "now".
fn last_run(weekday: Option<jiff::civil::Weekday>, hour: i8, minute: i8) -> Timestamp {
    let now = Timestamp::now();
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    (0..8)
        .filter_map(|back| today.checked_sub(jiff::Span::new().days(back)).ok())
        .filter(|d| weekday.is_none_or(|w| d.weekday() == w))
        .filter_map(|d| {
            d.at(hour, minute, 30, 0)
                .to_zoned(jiff::tz::TimeZone::UTC)
                .ok()
        })
        .map(|z| z.timestamp())
        .find(|t| *t <= now)
        .expect("a run in the last week")
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_backup-audit")
}

fn with_secrets_env<'c>(cmd: &'c mut Command, bed: &Bed) -> &'c mut Command {
    cmd.env("E2E_INFISICAL_CLIENT_ID", INFISICAL_CLIENT_ID)
        .env("E2E_INFISICAL_CLIENT_SECRET", INFISICAL_CLIENT_SECRET)
        .env("E2E_PBS_TOKEN", bed.pbs.token_secret().expose_secret())
        .env_remove("BACKUP_AUDIT_CONFIG")
        .env_remove("BACKUP_AUDIT_WEBHOOK")
        .env_remove("BACKUP_AUDIT_KEEP_API_KEY")
}

fn secrets(bed: &Bed) -> Vec<String> {
    vec![
        "repo-password-canary".into(),
        INFISICAL_CLIENT_SECRET.into(),
        bed.garage.secret_access_key().expose_secret().to_owned(),
        bed.garage.admin_token().expose_secret().to_owned(),
        bed.pbs.token_secret().expose_secret().to_owned(),
        KEEP_URL_CANARY.into(),
        KEEP_KEY_CANARY.into(),
    ]
}

fn assert_no_secret(what: &str, text: &str, bed: &Bed) {
    for s in secrets(bed) {
        assert!(!text.contains(&s), "a secret leaked into {what}");
    }
}

/// Whether this process runs as root (then node_exporter runs as `nobody`, so reading the
/// textfile proves its mode, not root's privilege).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

fn promtool_check_metrics(text: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package) runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    child.wait_with_output().expect("promtool")
}

/// Prometheus' query API: the result vector of `query`.
async fn prom_query(http: &reqwest::Client, prom: &str, query: &str) -> Vec<Value> {
    let url = reqwest::Url::parse_with_params(&format!("{prom}/api/v1/query"), [("query", query)])
        .expect("query URL");
    let Ok(resp) = http.get(url).send().await else {
        return Vec::new();
    };
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    body["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// User+system CPU time in ms of `pid` and of its waited-for children (restic), from
/// `/proc/<pid>/stat` utime+stime and cutime+cstime (clock ticks).
fn cpu_ms(pid: u32) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/<pid>/stat");
    // Fields after the command (which may hold spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // utime and stime are fields 14 and 15 of stat(5), i.e. 11 and 12 after the state field.
    let (own, children) = (f[11] + f[12], f[13] + f[14]);
    let hz: u64 = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100);
    (own * 1000 / hz, children * 1000 / hz)
}

/// Resident set size of `pid` in KiB (`/proc/<pid>/status` VmRSS).
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("/proc/<pid>/status")
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::write(path, text).expect("write config file");
    path.to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn serve_travels_through_prometheus_alertmanager_and_keep() {
    let test_start = Instant::now();
    let bed = start_bed().await;
    let http = reqwest::Client::new();
    let minute = SignedDuration::from_mins(1);
    let days3 = SignedDuration::from_hours(72);

    // Fresh backups everywhere (the real clock), except db-daily: its newest is 3 days old.
    let repos = Repos {
        web: make_repo(
            &bed.garage,
            "web",
            &[last_run(None, 3, 0).to_string().as_str()],
        )
        .await,
        db: make_repo(
            &bed.garage,
            "db",
            &[(last_run(None, 4, 0) - days3).to_string().as_str()],
        )
        .await,
        db_stale: String::new(),
    };
    for ctx in ["prod", "agentic", "monit"] {
        bed.velero
            .cluster(ctx)
            .expect("context")
            .insert_json(velero_backup(
                &format!("{ctx}-daily-fresh"),
                &format!("{ctx}-daily"),
                &(Timestamp::now() - minute).to_string(),
                "Completed",
            ))
            .expect("insert backup");
    }
    bed.pbs.add_snapshot(
        "store1",
        pbs_client::testing::FakeSnapshot::new(
            "",
            "vm",
            "450",
            last_run(Some(jiff::civil::Weekday::Sunday), 2, 0).as_second(),
        ),
    );
    let config = write_config(
        &bed,
        &repos,
        &repos.db,
        &bed.pbs.base_url(),
        bed.velero.kubeconfig_path(),
    );
    let dir = bed.dir.path();
    let matrix = dir.join("matrix.toml");

    // `check --prometheus` writes the textfile node_exporter reads; the directory must be
    // readable by node_exporter's own user.
    let textdir = dir.join("textfile");
    std::fs::create_dir(&textdir).expect("textfile dir");
    {
        use std::os::unix::fs::PermissionsExt;
        for d in [dir, textdir.as_path()] {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
    }
    let textfile = textdir.join("backup-audit.prom");
    let out = with_secrets_env(Command::new(bin()).arg("check"), &bed)
        .arg("--config")
        .arg(&config)
        .arg("--prometheus")
        .arg(&textfile)
        .arg("--json")
        .output()
        .expect("check runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "db-daily is late: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Keep and Alertmanager's webhook: one loopback receiver, two paths.
    let (recv, got) = receiver().await;
    let keep_url = format!("{recv}/keep?token={KEEP_URL_CANARY}");

    // serve, checking on start and then only on demand (the interval is long).
    let serve = Proc::spawn(
        "backup-audit serve",
        with_secrets_env(Command::new(bin()).arg("serve"), &bed)
            .arg("--config")
            .arg(&config)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--interval",
                "1h",
                "--timeout",
                "20",
            ])
            .arg("-v")
            .env("BACKUP_AUDIT_WEBHOOK", &keep_url)
            .env("BACKUP_AUDIT_KEEP_API_KEY", KEEP_KEY_CANARY),
    );
    let base = wait_for("serve to listen", Duration::from_secs(20), || {
        let err = serve.stderr();
        async move {
            err.lines()
                .find_map(|l| l.split("listening on ").nth(1))
                .map(str::to_owned)
        }
    })
    .await;
    let serve_addr = base.trim_start_matches("http://").to_owned();

    // 1. /health: 503 once the first check is in, db-daily late, every other row ok.
    let (code_all, health): (u16, Value) =
        wait_for("the first check", Duration::from_secs(60), || {
            let http = http.clone();
            let url = format!("{base}/health");
            async move {
                let resp = http.get(url).send().await.ok()?;
                let code = resp.status().as_u16();
                let body: Value = resp.json().await.ok()?;
                (body["status"] != "pending").then_some((code, body))
            }
        })
        .await;
    assert_eq!(code_all, 503, "{health:#}");
    assert_eq!(health["status"], "failing");
    for row in health["rows"].as_array().expect("rows") {
        let want = match row["target"].as_str() {
            Some("db-daily") => "late",
            Some("unifi") => "disabled",
            _ => "ok",
        };
        assert_eq!(row["verdict"], want, "{row:#}");
    }
    let code = |path: String| {
        let http = http.clone();
        async move { http.get(path).send().await.expect("GET").status().as_u16() }
    };
    assert_eq!(code(format!("{base}/health/db-daily")).await, 503);
    assert_eq!(code(format!("{base}/health/web-daily")).await, 200);
    assert_eq!(code(format!("{base}/health/unifi")).await, 200);
    assert_eq!(code(format!("{base}/health/no-such-target")).await, 404);

    // 2. /metrics: the existing names plus per-system timing, accepted by promtool.
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("body");
    for series in [
        "backup_audit_status{target=\"db-daily\",schedule=\"daily\",tool=\"restic\",status=\"late\"} 1",
        "backup_audit_system_up{system=\"pbs\"} 1",
        "backup_audit_system_check_duration_seconds{system=\"restic/web-daily\"}",
        "backup_audit_system_last_check_timestamp_seconds{system=\"velero/prod\"}",
        "backup_audit_timestamp_seconds ",
    ] {
        assert!(metrics.contains(series), "{series} missing:\n{metrics}");
    }
    let o = promtool_check_metrics(&metrics);
    assert!(
        o.status.success(),
        "promtool check metrics rejected /metrics: {}\n{metrics}",
        String::from_utf8_lossy(&o.stderr)
    );

    // 3. node_exporter (as `nobody` when we are root) exports the textfile.
    let node_port = free_port();
    let mut node_cmd = Command::new("prometheus-node-exporter");
    node_cmd
        .arg(format!("--web.listen-address=127.0.0.1:{node_port}"))
        .arg("--collector.disable-defaults")
        .arg("--collector.textfile")
        .arg(format!(
            "--collector.textfile.directory={}",
            textdir.display()
        ));
    let as_nobody = is_root();
    if as_nobody {
        use std::os::unix::process::CommandExt;
        node_cmd.uid(65534).gid(65534);
    }
    let node = Proc::spawn("prometheus-node-exporter", &mut node_cmd);
    let node_metrics = wait_for("node_exporter", Duration::from_secs(20), || {
        let http = http.clone();
        async move {
            let r = http
                .get(format!("http://127.0.0.1:{node_port}/metrics"))
                .send()
                .await
                .ok()?;
            r.text().await.ok()
        }
    })
    .await;
    assert!(
        node_metrics.contains("node_textfile_scrape_error 0"),
        "{node_metrics}"
    );
    assert!(
        node_metrics.contains("backup_audit_status{schedule=\"daily\",status=\"late\",target=\"db-daily\",tool=\"restic\"} 1"),
        "node_exporter did not export the textfile:\n{node_metrics}"
    );

    // 4. Alertmanager → the webhook; Prometheus → serve + node_exporter, with the generated
    //    rules (their 10m `for` shortened so the test does not wait 10 minutes).
    let am_port = free_port();
    let am_config = write(
        &dir.join("alertmanager.yml"),
        &format!(
            "route:\n  receiver: keep\n  group_by: ['alertname', 'target']\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: keep\n    webhook_configs:\n      - url: {recv}/alertmanager\n        send_resolved: true\n"
        ),
    );
    let am_data = dir.join("alertmanager-data");
    let _am = Proc::spawn(
        "prometheus-alertmanager",
        Command::new("prometheus-alertmanager")
            .arg(format!("--config.file={}", am_config.display()))
            .arg(format!("--storage.path={}", am_data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{am_port}"))
            .arg("--cluster.listen-address="),
    );
    let rules_path = dir.join("backup-audit.rules.yml");
    let o = Command::new(bin())
        .args(["alert-rules", "--matrix"])
        .arg(&matrix)
        .arg("--output")
        .arg(&rules_path)
        .output()
        .expect("alert-rules");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rules = std::fs::read_to_string(&rules_path).expect("rules");
    let fast = rules.replace("for: 10m", "for: 1s");
    assert_ne!(
        fast, rules,
        "the verdict rules' `for` changed: update the test"
    );
    std::fs::write(&rules_path, fast).expect("write rules");
    let prom_port = free_port();
    let prom_config = write(
        &dir.join("prometheus.yml"),
        &format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {rules}\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:{am_port}']\nscrape_configs:\n  - job_name: backup-audit\n    static_configs:\n      - targets: ['{serve_addr}']\n  - job_name: node\n    static_configs:\n      - targets: ['127.0.0.1:{node_port}']\n",
            rules = rules_path.display()
        ),
    );
    let _prom = Proc::spawn(
        "prometheus",
        Command::new("prometheus")
            .arg(format!("--config.file={}", prom_config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}")),
    );
    let prom = format!("http://127.0.0.1:{prom_port}");

    // Prometheus' query API sees serve's series and node_exporter's copy of the textfile.
    let late = "backup_audit_status{target=\"db-daily\",status=\"late\"} == 1";
    let series = wait_for(
        "both late series in Prometheus",
        Duration::from_secs(30),
        || {
            let http = http.clone();
            let prom = prom.clone();
            async move {
                let r = prom_query(&http, &prom, late).await;
                (r.len() == 2).then_some(r)
            }
        },
    )
    .await;
    let mut jobs: Vec<&str> = series
        .iter()
        .filter_map(|s| s["metric"]["job"].as_str())
        .collect();
    jobs.sort_unstable();
    assert_eq!(jobs, ["backup-audit", "node"]);
    let durations = prom_query(
        &http,
        &prom,
        "backup_audit_system_check_duration_seconds{job=\"backup-audit\"}",
    )
    .await;
    assert!(
        durations.len() >= 4,
        "one duration per system: {durations:#?}"
    );

    // The alert fires in Prometheus.
    wait_for("BackupLate firing in Prometheus", Duration::from_secs(30), || {
        let http = http.clone();
        let prom = prom.clone();
        async move {
            let r = prom_query(
                &http,
                &prom,
                "ALERTS{alertname=\"BackupLate\",target=\"db-daily\",alertstate=\"firing\",job=\"backup-audit\"}",
            )
            .await;
            (!r.is_empty()).then_some(())
        }
    })
    .await;
    // No other row alerts on a verdict.
    let others = prom_query(
        &http,
        &prom,
        "ALERTS{alertname=~\"BackupLate|BackupFailed|BackupMissing|BackupUnreachable\",target!=\"db-daily\"}",
    )
    .await;
    assert!(others.is_empty(), "{others:#?}");

    // Alertmanager delivers it to the webhook.
    wait_for_alertmanager_delivery(&got, "firing").await;

    // 5. serve's own Keep alert: exactly one, even after more checks, with the API key header.
    let check = http
        .post(format!("{base}/check"))
        .send()
        .await
        .expect("POST /check");
    assert_eq!(check.status().as_u16(), 503);
    let keep = received(&got, "/keep");
    assert_eq!(keep.len(), 1, "{keep:#?}");
    let firing = &keep[0];
    assert_eq!(firing["name"], "BackupLate");
    assert_eq!(firing["status"], "firing");
    assert_eq!(firing["severity"], "warning");
    assert_eq!(firing["source"][0], "backup-audit");
    assert_eq!(firing["labels"]["target"], "db-daily");
    assert!(firing["lastReceived"].is_string());
    let fingerprint = firing["fingerprint"]
        .as_str()
        .expect("fingerprint")
        .to_owned();
    assert_eq!(
        fingerprint,
        examples::monitor::keep::fingerprint("db-daily", Some("daily")),
        "the fingerprint is the pinned hash of the row, stable across restarts"
    );
    assert!(
        got.lock().unwrap().iter().any(|(p, h, _)| p == "/keep"
            && h.iter()
                .any(|(k, v)| k == "x-api-key" && v == KEEP_KEY_CANARY)),
        "Keep's X-API-KEY header"
    );

    // Figures for the README: RSS and CPU at idle and per full check cycle (debug build here;
    // `--release` for the README's numbers).
    let pid = serve.child.id();
    let idle_before = cpu_ms(pid).0;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let idle_ms = cpu_ms(pid).0 - idle_before;
    let rss_idle = rss_kib(pid);
    let before = cpu_ms(pid);
    let cycles = 5;
    for _ in 0..cycles {
        http.post(format!("{base}/check"))
            .send()
            .await
            .expect("POST /check");
    }
    let after = cpu_ms(pid);
    eprintln!(
        "serve figures: idle {idle_ms} ms CPU in 5 s, RSS {rss_idle} KiB; per check cycle {} ms CPU in serve + {} ms in its restic children; RSS after {cycles} more cycles {} KiB",
        (after.0 - before.0) / cycles,
        (after.1 - before.1) / cycles,
        rss_kib(pid)
    );
    assert_eq!(
        received(&got, "/keep").len(),
        1,
        "no duplicate while still late"
    );

    // 6. Recovery: a fresh db-daily backup, an on-demand check of that row.
    backup_now(&bed.garage, &repos.db).await;
    let resp = http
        .post(format!("{base}/check/db-daily"))
        .send()
        .await
        .expect("POST /check/db-daily");
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.expect("JSON");
    assert_eq!(body["rows"][0]["verdict"], "ok", "{body:#}");
    assert_eq!(code(format!("{base}/health")).await, 200);
    let unknown = http
        .post(format!("{base}/check/no-such-target"))
        .send()
        .await
        .expect("POST");
    assert_eq!(unknown.status().as_u16(), 404);
    let keep = received(&got, "/keep");
    assert_eq!(keep.len(), 2, "{keep:#?}");
    assert_eq!(keep[1]["status"], "resolved");
    assert_eq!(keep[1]["fingerprint"], fingerprint.as_str());
    // And Prometheus/Alertmanager follow: the alert resolves there too.
    wait_for_alertmanager_delivery(&got, "resolved").await;

    // 7. The textfile's mode matters: made 0600, node_exporter (not root) can no longer read it.
    if as_nobody {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&textfile, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let text = http
            .get(format!("http://127.0.0.1:{node_port}/metrics"))
            .send()
            .await
            .expect("node_exporter")
            .text()
            .await
            .expect("body");
        assert!(text.contains("node_textfile_scrape_error 1"), "{text}");
    }
    drop(node);

    // 8. No secret in any answer or log line.
    for path in ["/health", "/metrics", "/health/db-daily"] {
        let text = http
            .get(format!("{base}{path}"))
            .send()
            .await
            .expect("GET")
            .text()
            .await
            .expect("body");
        assert_no_secret(path, &text, &bed);
    }
    for (_, _, body) in got.lock().unwrap().iter() {
        assert_no_secret("an alert", &body.to_string(), &bed);
    }

    // 9. SIGTERM: a graceful stop, exit 0.
    let mut serve = serve;
    let pid = serve.child.id().to_string();
    let term = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(term.success());
    let start = Instant::now();
    let status = loop {
        if let Some(s) = serve.child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "serve ignored SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0), "{}", serve.stderr());
    std::thread::sleep(Duration::from_millis(100)); // the stderr reader drains the pipe
    let log = serve.stderr();
    assert!(log.contains("shutting down"), "{log}");
    assert!(log.contains("check done"), "-v logs each check: {log}");
    assert_no_secret("serve's log", &log, &bed);
    eprintln!("serve e2e took {:?}", test_start.elapsed());
}

/// The Kubernetes example parses as the API's own types (k8s-openapi) and agrees with serve:
/// the `serve` subcommand, the port Gatus and the Service use, a single replica (the Keep alert
/// state lives in the process), a non-root read-only container, config from a Secret.
#[test]
fn kubernetes_example_is_a_valid_deployment_and_service() {
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::Service;
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/backup-audit-deployment.yaml"
    ))
    .expect("manifest");
    let docs: Vec<&str> = text.split("\n---\n").collect();
    assert_eq!(docs.len(), 2);
    let deploy: Deployment = serde_norway::from_str(docs[0]).expect("a Deployment");
    let service: Service = serde_norway::from_str(docs[1]).expect("a Service");
    let spec = deploy.spec;
    assert_eq!(spec.replicas, Some(1));
    let pod = spec.template.spec.expect("pod spec");
    let c = &pod.containers[0];
    let args = c.args.clone().unwrap_or_default();
    assert_eq!(args[0], "serve");
    assert!(
        args.iter().any(|a| a == "--listen=0.0.0.0:9810"),
        "{args:?}"
    );
    let port = c.ports.as_ref().expect("ports")[0].container_port;
    assert_eq!(port, 9810);
    let sc = c
        .security_context
        .as_ref()
        .expect("container securityContext");
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    assert_eq!(sc.allow_privilege_escalation, Some(false));
    assert_eq!(
        pod.security_context
            .as_ref()
            .and_then(|s| s.run_as_non_root),
        Some(true)
    );
    assert!(
        pod.volumes
            .unwrap_or_default()
            .iter()
            .any(|v| v.secret.is_some())
    );
    let svc_port = &service.spec.expect("service spec").ports.expect("ports")[0];
    assert_eq!(svc_port.port, 9810);
    // Nothing secret is written into the manifest itself.
    assert!(!text.contains("password =") && !text.contains("token ="));
}

/// A PBS that accepts connections and never answers: only its row turns unreachable (after
/// `--timeout`), the restic row stays ok, and a burst of on-demand checks while a check runs
/// is answered by that check instead of queueing one check each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_survives_a_hanging_system_and_coalesces_checks() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A local restic repository with a fresh snapshot.
    let repo = dir.path().join("repo");
    let password = dir.path().join("password");
    std::fs::write(&password, "repo-password-canary\n").expect("password");
    let restic = Restic::builder()
        .with_repository(Repository::new(
            repo.display().to_string(),
            SecretString::from("repo-password-canary"),
        ))
        .build()
        .expect("restic");
    restic.init().await.expect("init");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("data");
    std::fs::write(data.join("f"), "x").expect("file");
    restic
        .backup(&BackupOptions::new([data.display().to_string()]).with_time(last_run(None, 4, 0)))
        .await
        .expect("backup starts")
        .finish()
        .await
        .expect("backup");

    // The hanging PBS: accepts, holds the connection, says nothing.
    let hang = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hang_addr = hang.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = hang.accept().await {
            held.push(conn);
        }
    });

    let matrix = dir.path().join("matrix.toml");
    write(
        &matrix,
        r#"
title = "hang"
timezone = "UTC"
grace = "1h"

[[storage]]
name = "local"
kind = "garage-s3"
device = "hdd"

[[storage]]
name = "pbs-store"
kind = "pbs-datastore"
device = "hdd"
datastore = "store1"

[[target]]
name = "db-daily"
kind = "lxc"
id = 100
tool = "restic"
paths = ["/var/lib/db"]
storage = "local"
  [[target.schedule]]
  name = "daily"
  cron = "0 4 * * *"
  retention = { keep_daily = 7 }

[[target]]
name = "pbs-web"
kind = "vm"
id = 450
tool = "pbs"
storage = "pbs-store"
  [[target.schedule]]
  name = "weekly"
  calendar = "sun 02:00"
  retention = { keep_weekly = 4 }
"#,
    );
    let config = write(
        &dir.path().join("config.toml"),
        &format!(
            r#"
matrix = "{matrix}"

[pbs]
url = "https://{hang_addr}"
fingerprint = "{fp}"
token_id = "root@pam!audit"
token_secret = {{ env = "E2E_PBS_TOKEN" }}
datastore = "store1"

[restic.db-daily]
repository = "{repo}"
password = {{ file = "{password}" }}
"#,
            matrix = matrix.display(),
            fp = ["ab"; 32].join(":"),
            repo = repo.display(),
            password = password.display(),
        ),
    );
    let serve = Proc::spawn(
        "backup-audit serve",
        Command::new(bin())
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--interval",
                "1h",
                "--timeout",
                "2",
            ])
            .arg("-v")
            .env("E2E_PBS_TOKEN", "pbs-token-canary")
            .env_remove("BACKUP_AUDIT_WEBHOOK"),
    );
    let base = wait_for("serve to listen", Duration::from_secs(20), || {
        let err = serve.stderr();
        async move {
            err.lines()
                .find_map(|l| l.split("listening on ").nth(1))
                .map(str::to_owned)
        }
    })
    .await;

    // Five on-demand checks at once, while the first check waits for the hanging PBS.
    let http = reqwest::Client::new();
    let burst = futures::future::join_all((0..5).map(|_| {
        let http = http.clone();
        let url = format!("{base}/check");
        async move {
            let r = http.post(url).send().await.expect("POST /check");
            (r.status().as_u16(), r.json::<Value>().await.expect("JSON"))
        }
    }))
    .await;
    for (code, body) in &burst {
        assert_eq!(*code, 503, "{body:#}");
    }
    // The log line and the answers race: wait for the line, then count.
    let checks = wait_for("the check's log line", Duration::from_secs(10), || {
        let err = serve.stderr();
        async move {
            let n = err.matches("check done").count();
            (n > 0).then_some(n)
        }
    })
    .await;
    assert!(
        (1..=2).contains(&checks),
        "{checks} checks for 1 start-up check + 5 concurrent requests: {}",
        serve.stderr()
    );

    let health: Value = http
        .get(format!("{base}/health"))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    let rows = health["rows"].as_array().expect("rows");
    let row = |t: &str| rows.iter().find(|r| r["target"] == t).expect("row").clone();
    assert_eq!(row("pbs-web")["verdict"], "unreachable", "{health:#}");
    assert!(
        row("pbs-web")["detail"]
            .as_str()
            .is_some_and(|d| d.contains("no answer within 2s")),
        "{health:#}"
    );
    assert_eq!(row("db-daily")["verdict"], "ok", "{health:#}");
    let code = |path: &str| {
        let req = http.get(format!("{base}{path}"));
        async move { req.send().await.expect("GET").status().as_u16() }
    };
    assert_eq!(code("/health/db-daily").await, 200);
    assert_eq!(code("/health/pbs-web").await, 503);
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    assert!(
        metrics.contains("backup_audit_system_up{system=\"pbs\"} 0"),
        "{metrics}"
    );
    let all = format!("{}{health}{metrics}", serve.stderr());
    for canary in ["pbs-token-canary", "repo-password-canary"] {
        assert!(!all.contains(canary), "a secret leaked");
    }
}
