//! One real Garage with a real restic repository: restore-drill, restic-ops, garage-ops.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use garage_client::testing::GarageServer;
use restic_remote::testing::Sshd;
use restic_remote::{BackupOptions, Repository, Restic};
use secrecy::{ExposeSecret, SecretString};

use crate::bed::*;

const REPO_PASSWORD: &str = "drill-repo-password-canary";
const DRILL: &str = env!("CARGO_BIN_EXE_restore-drill");
const RESTIC_OPS: &str = env!("CARGO_BIN_EXE_restic-ops");
const GARAGE_OPS: &str = env!("CARGO_BIN_EXE_garage-ops");

/// Test data: 4 entries restic counts as files (3 regular files and a symlink), 70 000 bytes
/// of file content in total.
fn make_data(root: &Path) {
    write(&root.join("etc/app.conf"), "listen = 8080\n"); // 14 bytes
    let blob: String = (0..65_536u32)
        .map(|i| char::from(b'a' + u8::try_from(i % 26).unwrap_or(0)))
        .collect();
    write(&root.join("etc/sub/blob.bin"), &blob); // 65 536 bytes
    write(&root.join("notes.txt"), &"n".repeat(4450)); // 4 450 bytes
    std::os::unix::fs::symlink("notes.txt", root.join("link")).expect("symlink");
}

struct Setup {
    dir: tempfile::TempDir,
    data: PathBuf,
    config: PathBuf,
    secrets: Vec<String>,
}

fn setup(garage: &GarageServer) -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let data = d.join("data");
    make_data(&data);
    let key = write(&d.join("secrets/access_key"), garage.access_key_id());
    let secret = write(
        &d.join("secrets/secret_key"),
        &format!("{}\n", garage.secret_access_key().expose_secret()),
    );
    let token = write(
        &d.join("secrets/admin_token"),
        garage.admin_token().expose_secret(),
    );
    let pw = write(&d.join("secrets/repo.pw"), &format!("{REPO_PASSWORD}\n"));
    let repo = format!("s3:{}/{}/drill", garage.s3_endpoint(), garage.bucket());

    // A real repository with three backups of the data, made through the library.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let restic = Restic::builder()
            .with_repository(
                Repository::new(repo.clone(), SecretString::from(REPO_PASSWORD))
                    .with_s3_credentials(
                        SecretString::from(garage.access_key_id().to_owned()),
                        garage.secret_access_key().clone(),
                        garage.region(),
                    ),
            )
            .build()
            .expect("restic client");
        restic.init().await.expect("restic init");
        for t in [
            "2026-11-25T03:00:00Z",
            "2026-11-26T03:00:00Z",
            "2026-11-26T04:00:00Z",
        ] {
            let opts = BackupOptions::new([data.display().to_string()])
                .with_time(t.parse().expect("timestamp"));
            let run = restic.backup(&opts).await.expect("backup starts");
            run.finish().await.expect("backup");
        }
    });

    let matrix = write_matrix(d, &data);
    let config = write(
        &d.join("config.toml"),
        &format!(
            r#"
matrix = "{matrix}"

[garage]
s3_endpoint = "{s3}"
admin_endpoint = "{admin}"
region = "{region}"
access_key_id = {{ file = "{key}" }}
secret_access_key = {{ file = "{secret}" }}
admin_token = {{ file = "{token}" }}

[restic.drill]
repository = "{repo}"
password = {{ file = "{pw}" }}
"#,
            matrix = matrix.display(),
            s3 = garage.s3_endpoint(),
            admin = garage.admin_endpoint(),
            region = garage.region(),
            key = key.display(),
            secret = secret.display(),
            token = token.display(),
            pw = pw.display(),
        ),
    );
    Setup {
        dir,
        data,
        config,
        secrets: vec![
            REPO_PASSWORD.to_owned(),
            garage.secret_access_key().expose_secret().to_owned(),
            garage.admin_token().expose_secret().to_owned(),
        ],
    }
}

#[test]
fn garage_and_restic_runbooks() {
    let garage = GarageServer::start_blocking()
        .expect("Garage starts (set GARAGE_BIN or run scripts/test.sh)");
    let s = setup(&garage);
    let cfg = s.config.to_str().expect("utf-8 path");
    let secrets: Vec<&str> = s.secrets.iter().map(String::as_str).collect();

    restore_drill(&s, cfg, &secrets);
    restore_drill_over_ssh(&s, &secrets);
    restic_ops(&s, cfg, &secrets);
    progress_bars(&s, cfg);
    incomplete_backup(&s, cfg, &secrets);
    garage_ops(&garage, &s, cfg, &secrets);
}

fn restore_drill(s: &Setup, cfg: &str, secrets: &[&str]) {
    // A real drill: newest snapshot restored to a scratch dir, verified, timed against 15m.
    let out = run(DRILL, &["--config", cfg, "drill"]);
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("verdict: PASS"), "{}", both(&out));
    let rto_line = text
        .lines()
        .find(|l| l.starts_with("RTO: "))
        .unwrap_or_else(|| panic!("no RTO line: {text}"));
    assert!(
        rto_line.contains("of 15m")
            && rto_line.contains("\"VM config corruption\"")
            && rto_line.ends_with("within RTO"),
        "{rto_line}"
    );
    assert!(text.contains("restic check"), "{text}");
    assert_no_secrets(&out, secrets);

    // JSON: the expected counts are the data's real ones, and the restore matched them.
    let out = run(
        DRILL,
        &[
            "--config",
            cfg,
            "drill",
            "--json",
            "--read-data-subset",
            "50%",
        ],
    );
    assert_code(&out, 0);
    let v = json(&out);
    assert_eq!(v["verified"], true, "{v:#}");
    assert_eq!(v["within_rto"], true);
    assert_eq!(v["rto_seconds"], 900);
    assert_eq!(
        v["snapshot_time"], "2026-11-26T04:00:00Z",
        "newest snapshot"
    );
    let checks = v["checks"].as_array().expect("checks");
    let check = |name: &str| {
        checks
            .iter()
            .find(|c| c["check"] == name)
            .unwrap_or_else(|| panic!("no {name} check: {v:#}"))
    };
    assert_eq!(check("files")["expected"], "4");
    assert_eq!(check("files")["got"], "4");
    assert_eq!(check("bytes")["expected"], "70000");
    assert_eq!(check("bytes")["got"], "70000");
    assert_eq!(check("restic check --read-data-subset")["ok"], true);

    // Verification failure: a stray file in the target makes the count differ → exit 1.
    let target = s.dir.path().join("dirty-target");
    write(&target.join("stray.txt"), "not from the snapshot");
    let out = run(
        DRILL,
        &[
            "--config",
            cfg,
            "drill",
            "--target",
            target.to_str().expect("utf-8"),
        ],
    );
    assert_code(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("FAIL — verification failed"), "{text}");
    assert!(
        target
            .join(s.data.strip_prefix("/").expect("absolute"))
            .join("notes.txt")
            .is_file(),
        "restored into the given target"
    );

    // RTO exceeded: a scenario whose RTO is zero → exit 1 with the comparison line.
    let out = run(
        DRILL,
        &["--config", cfg, "drill", "--scenario", "Impossible"],
    );
    assert_code(&out, 1);
    let text = stdout(&out);
    assert!(
        text.contains("of 0ms (n/a)") && text.contains("RTO EXCEEDED"),
        "{text}"
    );
    assert!(
        text.contains("FAIL — verified but slower than the RTO"),
        "{text}"
    );
}

/// The same repository as a plan whose restic runs on a host over SSH (real sshd on loopback):
/// the restore lands on that host, verified by restic's `--verify` and `check`.
fn restore_drill_over_ssh(s: &Setup, secrets: &[&str]) {
    let sshd =
        Sshd::start_blocking().expect("sshd starts (openssh-server; scripts/test.sh installs it)");
    let text = std::fs::read_to_string(&s.config).expect("config");
    let repo = text
        .lines()
        .find_map(|l| l.strip_prefix("repository = "))
        .expect("repository line")
        .to_owned();
    let pw = s.dir.path().join("secrets/repo.pw");
    let config = write(
        &s.dir.path().join("config-ssh.toml"),
        &format!(
            "{text}\n[restic.drill-ssh]\nrepository = {repo}\npassword = {{ file = \"{pw}\" }}\nssh = {{ host = \"127.0.0.1\", port = {port}, user = \"{user}\", key_file = \"{key}\", known_hosts = \"{kh}\" }}\n",
            pw = pw.display(),
            port = sshd.port(),
            user = sshd.user(),
            key = sshd.client_key_path().display(),
            kh = sshd.known_hosts_path().display(),
        ),
    );
    // A local user pre-creates directories at the names the drill used to pick
    // (`/tmp/restore-drill-<plan>-<unix seconds>`), world-writable and not the drill's: the
    // restore must land in none of them.
    let start = jiff::Timestamp::now().as_second();
    let traps: Vec<PathBuf> = (start - 2..start + 120)
        .map(|t| PathBuf::from(format!("/tmp/restore-drill-drill-ssh-{t}")))
        .collect();
    for t in &traps {
        std::fs::create_dir_all(t).expect("trap dir");
        std::fs::set_permissions(t, std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .expect("chmod trap");
        let _ = std::os::unix::fs::chown(t, Some(65534), Some(65534));
    }
    let out = run(
        DRILL,
        &[
            "--config",
            config.to_str().expect("utf-8"),
            "drill-ssh",
            "--json",
        ],
    );
    let trapped: Vec<&PathBuf> = traps
        .iter()
        .filter(|t| {
            std::fs::read_dir(t)
                .map(|mut d| d.next().is_some())
                .unwrap_or(false)
        })
        .collect();
    for t in &traps {
        let _ = std::fs::remove_dir_all(t);
    }
    assert!(
        trapped.is_empty(),
        "restored into a pre-created directory: {trapped:?}"
    );
    let v = json(&out);
    // The restore went to a fresh private directory made by mktemp on the host (default
    // scratch_dir /tmp), removed after the drill (drill_scratch.rs tests it in depth).
    let target = v["target"].as_str().unwrap_or_default();
    let suffix = target
        .strip_prefix("/tmp/restore-drill-drill-ssh.")
        .unwrap_or_else(|| panic!("not a mktemp directory in /tmp: {}", both(&out)));
    assert_eq!(suffix.len(), 10, "{target}");
    assert!(
        !Path::new(target).exists(),
        "{target} was left behind on the host"
    );
    assert_code(&out, 0);
    assert_eq!(v["verified"], true, "{v:#}");
    assert_eq!(v["within_rto"], true, "{v:#}");
    // restic 0.14 (Debian's) prints no restore summary: the file count is "not checked",
    // never reported as passed.
    let files = v["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["check"] == "files")
        .expect("files check")
        .clone();
    let restic_has_summary = restic_minor() >= 16;
    if restic_has_summary {
        assert_eq!(files["ok"], true, "{v:#}");
    } else {
        assert_eq!(files["ok"], serde_json::Value::Null, "{v:#}");
        assert_eq!(files["result"], "not checked", "{v:#}");
        assert_eq!(v["not_checked"], serde_json::json!(["files"]), "{v:#}");
    }
    assert_no_secrets(&out, secrets);
}

/// The minor version of the local restic (`restic 0.14.0 …` → 14).
fn restic_minor() -> u32 {
    let out = Command::new("restic")
        .arg("version")
        .output()
        .expect("restic version");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.split('.').nth(1))
        .and_then(|m| m.parse().ok())
        .expect("restic version number")
}

fn restic_ops(s: &Setup, cfg: &str, secrets: &[&str]) {
    let out = run(
        RESTIC_OPS,
        &["--config", cfg, "drill", "snapshots", "--json"],
    );
    assert_code(&out, 0);
    let v = json(&out);
    let snaps = v.as_array().expect("array");
    assert_eq!(snaps.len(), 3, "{v:#}");
    assert_eq!(snaps[0]["time"], "2026-11-25T03:00:00Z");

    // forget preview: keep_daily 7 keeps the newest per day; restic and backup-policy agree.
    let out = run(RESTIC_OPS, &["--config", cfg, "drill", "forget"]);
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains("2 kept, 1 removed; restic and backup-policy agree"),
        "{text}"
    );
    assert!(!text.contains("DIFFERS"), "{text}");
    let out = run(RESTIC_OPS, &["--config", cfg, "drill", "forget", "--json"]);
    assert_code(&out, 0);
    let v = json(&out);
    let removed: Vec<_> = v["snapshots"]
        .as_array()
        .expect("snapshots")
        .iter()
        .filter(|s| s["restic"] == "remove")
        .collect();
    assert_eq!(removed.len(), 1, "{v:#}");
    assert_eq!(removed[0]["time"], "2026-11-26T03:00:00Z");
    assert_eq!(removed[0]["backup_policy"], "remove");
    assert_eq!(v["agree"], true);

    let out = run(RESTIC_OPS, &["--config", cfg, "drill", "unlock"]);
    assert_code(&out, 0);
    assert!(stdout(&out).contains("drill: removed"), "{}", both(&out));

    // Restore through restic-ops (piped: no progress bar).
    let target = s.dir.path().join("ops-restore");
    let out = run(
        RESTIC_OPS,
        &[
            "--config",
            cfg,
            "drill",
            "restore",
            "latest",
            "--target",
            target.to_str().expect("utf-8"),
        ],
    );
    assert_code(&out, 0);
    assert_no_bar(&out);
    let restored = target.join(s.data.strip_prefix("/").expect("absolute"));
    assert_eq!(
        std::fs::read_to_string(restored.join("etc/app.conf")).expect("restored file"),
        "listen = 8080\n"
    );
    assert_no_secrets(&out, secrets);

    // Unknown plan: exit 2 with the plans listed.
    let out = run(RESTIC_OPS, &["--config", cfg, "nope", "snapshots"]);
    assert_code(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("plans: drill"));
}

/// restic exits 3 when a snapshot was written but some source could not be read; restic-ops
/// says so and exits 1 (the operation did not fully succeed), not 2 (bad config or arguments).
fn incomplete_backup(s: &Setup, cfg: &str, secrets: &[&str]) {
    let data = s.data.to_str().expect("utf-8");
    // Reading /proc/self/mem fails with EIO, even as root: restic's exit 3.
    for json in [false, true] {
        let mut args = vec![
            "--config",
            cfg,
            "drill",
            "backup",
            "--path",
            data,
            "--path",
            "/proc/self/mem",
        ];
        if json {
            args.push("--json");
        }
        let out = run(RESTIC_OPS, &args);
        assert_code(&out, 1);
        let all = both(&out);
        assert!(all.contains("incomplete"), "{all}");
        assert!(all.contains("/proc/self/mem"), "{all}");
        if json {
            let v = json_value(&out);
            assert_eq!(v["complete"], false, "{v:#}");
            assert!(v["snapshot_id"].is_string(), "{v:#}");
        }
        assert_no_secrets(&out, secrets);
    }
}

fn json_value(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", both(out)))
}

fn assert_no_bar(out: &std::process::Output) {
    let all = both(out);
    for c in examples::progress::BAR_CHARS.chars() {
        assert!(
            !all.contains(c),
            "bar character {c:?} in piped output:\n{all}"
        );
    }
    assert!(
        !all.contains('\u{1b}'),
        "escape codes in piped output:\n{all}"
    );
}

fn progress_bars(s: &Setup, cfg: &str) {
    // Piped: the backup works and prints no bar.
    let data = s.data.to_str().expect("utf-8");
    let out = run(
        RESTIC_OPS,
        &["--config", cfg, "drill", "backup", "--path", data],
    );
    assert_code(&out, 0);
    assert_no_bar(&out);
    assert!(stdout(&out).contains("processed"), "{}", both(&out));

    // In a real terminal (tmux): the bar is drawn.
    let tmux = Command::new("which").arg("tmux").output();
    assert!(
        tmux.is_ok_and(|o| o.status.success()),
        "tmux is required for the terminal progress-bar test (scripts/test.sh installs it: apt-get install tmux)"
    );
    let script = write(
        &s.dir.path().join("tmux-backup.sh"),
        &format!(
            "#!/bin/sh\n'{RESTIC_OPS}' --config '{cfg}' drill backup --path '{data}'\necho \"EXIT=$?\"\nsleep 60\n"
        ),
    );
    let socket = format!("runbooks-{}", std::process::id());
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .arg("-L")
            .arg(&socket)
            .arg("-f")
            .arg("/dev/null")
            .args(args)
            .env_remove("TMUX")
            .env_remove("BACKUP_AUDIT_CONFIG")
            .output()
            .expect("tmux runs")
    };
    let started = tmux(&[
        "new-session",
        "-d",
        "-s",
        "bars",
        "-x",
        "160",
        "-y",
        "40",
        &format!("sh '{}'", script.display()),
    ]);
    assert!(started.status.success(), "{}", both(&started));
    let deadline = Instant::now() + Duration::from_secs(60);
    let screen = loop {
        let cap = tmux(&["capture-pane", "-p", "-t", "bars"]);
        let text = String::from_utf8_lossy(&cap.stdout).into_owned();
        if text.contains("EXIT=") || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = tmux(&["kill-server"]);
    assert!(
        screen.contains("EXIT=0"),
        "backup in tmux did not finish:\n{screen}"
    );
    assert!(
        screen.contains("backup") && screen.contains('█'),
        "no progress bar on the terminal:\n{screen}"
    );
}

fn garage_ops(garage: &GarageServer, s: &Setup, cfg: &str, secrets: &[&str]) {
    // Health as Gatus checks it.
    let out = run(GARAGE_OPS, &["--config", cfg, "health"]);
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("Garage is healthy"), "{text}");
    let out = run(GARAGE_OPS, &["--config", cfg, "health", "--json"]);
    let v = json(&out);
    let checks = v["checks"].as_array().expect("checks");
    assert_eq!(checks[0]["status"], 403, "{v:#}");
    assert_eq!(checks[1]["status"], 200, "{v:#}");

    // Admin API down: unhealthy, exit 1, the S3 check still reported.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let text = std::fs::read_to_string(&s.config).expect("config");
    let broken = write(
        &s.dir.path().join("broken.toml"),
        &text.replace(&garage.admin_endpoint(), &dead),
    );
    let out = run(
        GARAGE_OPS,
        &[
            "--config",
            broken.to_str().expect("utf-8"),
            "health",
            "--json",
        ],
    );
    assert_code(&out, 1);
    let v = json(&out);
    assert_eq!(v["ok"], false);
    assert_eq!(v["checks"][0]["ok"], true, "{v:#}");
    assert_eq!(v["checks"][1]["ok"], false, "{v:#}");

    // Buckets: the test bucket holds the restic repository.
    let out = run(GARAGE_OPS, &["--config", cfg, "buckets", "--json"]);
    assert_code(&out, 0);
    let v = json(&out);
    let bucket = v
        .as_array()
        .expect("array")
        .iter()
        .find(|b| {
            b["aliases"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == garage.bucket()))
        })
        .unwrap_or_else(|| panic!("bucket {} missing: {v:#}", garage.bucket()));
    assert!(bucket["objects"].as_i64().unwrap_or(0) > 5, "{bucket:#}");
    assert!(bucket["bytes"].as_i64().unwrap_or(0) > 0, "{bucket:#}");
    let out = run(GARAGE_OPS, &["--config", cfg, "buckets"]);
    assert_code(&out, 0);
    assert!(stdout(&out).contains(garage.bucket()));

    // Keys: ids and names, never secrets.
    let out = run(GARAGE_OPS, &["--config", cfg, "keys"]);
    assert_code(&out, 0);
    assert!(
        stdout(&out).contains(garage.access_key_id()),
        "{}",
        both(&out)
    );
    assert_no_secrets(&out, secrets);
}
