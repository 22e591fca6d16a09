//! The runbook binaries as one CLI family, run as processes: the shared flags in every `--help`,
//! exit 2 on every error, `NO_COLOR` and `RUST_LOG` honoured, tables that fit 100 columns.

use std::path::Path;
use std::process::{Command, Output};

const NOW: &str = "2026-11-27T12:00:00Z";

/// Every binary (with the subcommand that does the work, where it has one).
const BINARIES: [(&str, &[&str]); 12] = [
    (env!("CARGO_BIN_EXE_backup-audit"), &["plan"]),
    (env!("CARGO_BIN_EXE_backup-audit"), &["check"]),
    (env!("CARGO_BIN_EXE_backup-audit"), &["alert-rules"]),
    (env!("CARGO_BIN_EXE_backup-audit"), &["gatus"]),
    (env!("CARGO_BIN_EXE_backup-audit"), &["serve"]),
    (env!("CARGO_BIN_EXE_restore-drill"), &[]),
    (env!("CARGO_BIN_EXE_garage-ops"), &[]),
    (env!("CARGO_BIN_EXE_pbs-ops"), &[]),
    (env!("CARGO_BIN_EXE_restic-ops"), &[]),
    (env!("CARGO_BIN_EXE_retention"), &[]),
    (env!("CARGO_BIN_EXE_secrets"), &[]),
    (env!("CARGO_BIN_EXE_velero-ops"), &[]),
];

fn run(bin: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(bin);
    c.args(args)
        .env_remove("BACKUP_AUDIT_CONFIG")
        .env_remove("BACKUP_MATRIX")
        .env_remove("NO_COLOR")
        .env_remove("RUST_LOG")
        .env_remove("COLUMNS");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("binary runs")
}

fn all(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn name(bin: &str) -> &str {
    Path::new(bin)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(bin)
}

#[test]
fn every_help_lists_the_shared_flags() {
    for (bin, sub) in BINARIES {
        let mut args = sub.to_vec();
        args.push("--help");
        let o = run(bin, &args, &[]);
        assert!(o.status.success(), "{} {args:?}: {}", name(bin), all(&o));
        let help = String::from_utf8_lossy(&o.stdout);
        for flag in [
            "--config <FILE>",
            "--json",
            "-v, --verbose",
            "--now <RFC3339>",
        ] {
            assert!(
                help.contains(flag),
                "{} {sub:?} --help lacks {flag}:\n{help}",
                name(bin)
            );
        }
    }
}

/// A runbook config whose every system is a closed loopback port and whose credentials come
/// from the environment: enough for each binary to start and fail at its job.
fn dead_config(dir: &Path) -> std::path::PathBuf {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let p = dir.join("config.toml");
    std::fs::write(
        &p,
        format!(
            r#"
[garage]
s3_endpoint = "http://127.0.0.1:{port}"
admin_endpoint = "http://127.0.0.1:{port}"
access_key_id = {{ env = "CLI_TEST_KEY" }}
secret_access_key = {{ env = "CLI_TEST_KEY" }}
admin_token = {{ env = "CLI_TEST_KEY" }}

[pbs]
url = "https://127.0.0.1:{port}"
token_id = "root@pam!t"
token_secret = {{ env = "CLI_TEST_KEY" }}
datastore = "d"

[restic.plan]
repository = "/nonexistent/repo"
password = {{ env = "CLI_TEST_KEY" }}
"#
        ),
    )
    .unwrap();
    p
}

/// Every error path exits 2: a missing config, a bad `--now`, a bad matrix, an unreachable
/// system, unreadable input.
#[test]
fn every_error_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.toml");
    let missing = missing.to_str().unwrap();
    let bad_matrix = dir.path().join("bad.toml");
    std::fs::write(
        &bad_matrix,
        "timezone = \"UTC\"\n[[target]]\nnmae = \"x\"\n",
    )
    .unwrap();
    let dead = dead_config(dir.path());
    let dead = dead.to_str().unwrap();
    let audit = env!("CARGO_BIN_EXE_backup-audit");
    let cases: Vec<(&str, Vec<&str>)> = vec![
        (audit, vec!["plan", "--now", "yesterday"]),
        (
            audit,
            vec!["plan", "--matrix", bad_matrix.to_str().unwrap()],
        ),
        (audit, vec!["plan", "--config", missing]),
        (audit, vec!["check", "--config", missing]),
        (audit, vec!["check", "--now", "2026-11-27"]),
        (
            env!("CARGO_BIN_EXE_garage-ops"),
            vec!["--config", missing, "health"],
        ),
        (
            env!("CARGO_BIN_EXE_garage-ops"),
            vec!["--config", dead, "buckets"],
        ),
        (
            env!("CARGO_BIN_EXE_pbs-ops"),
            vec!["--config", missing, "datastores"],
        ),
        (
            env!("CARGO_BIN_EXE_pbs-ops"),
            vec!["--config", dead, "datastores"],
        ),
        (
            env!("CARGO_BIN_EXE_restic-ops"),
            vec!["--config", missing, "plan", "snapshots"],
        ),
        (
            env!("CARGO_BIN_EXE_restic-ops"),
            vec!["--config", dead, "nope", "snapshots"],
        ),
        (env!("CARGO_BIN_EXE_retention"), vec!["--keep-daily", "-1"]),
        (
            env!("CARGO_BIN_EXE_retention"),
            vec!["--keep-daily", "1", "--now", "noon"],
        ),
        (
            env!("CARGO_BIN_EXE_secrets"),
            vec!["--config", missing, "show"],
        ),
        (
            env!("CARGO_BIN_EXE_velero-ops"),
            vec!["--config", missing, "--context", "prod", "backups"],
        ),
    ];
    for (bin, args) in cases {
        let o = run(bin, &args, &[("CLI_TEST_KEY", "k")]);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{} {args:?} must exit 2: {}",
            name(bin),
            all(&o)
        );
    }
}

/// `backup-audit plan` under a pseudo-terminal (util-linux `script`) of `cols` columns: what a
/// person at a terminal sees.
fn plan_on_a_tty(cols: u16, env: &[(&str, &str)]) -> String {
    let cmd = format!(
        "stty cols {cols} rows 50; {} plan --now {NOW}",
        env!("CARGO_BIN_EXE_backup-audit")
    );
    let o = run("script", &["-qec", &cmd, "/dev/null"], env);
    assert!(o.status.success(), "script: {}", all(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn no_color_means_no_escapes_even_on_a_terminal() {
    // the terminal gets colour: the test can see it
    assert!(
        plan_on_a_tty(120, &[]).contains("\x1b["),
        "colour on a terminal"
    );
    let out = plan_on_a_tty(120, &[("NO_COLOR", "1")]);
    assert!(out.contains("Findings"), "{out}");
    assert!(!out.contains("\x1b["), "NO_COLOR=1 but escapes:\n{out:?}");
}

/// `RUST_LOG` chooses what is logged, and logs on a pipe (or with `NO_COLOR`) carry no colour.
#[test]
fn rust_log_is_honoured_and_logs_are_plain() {
    let dir = tempfile::tempdir().unwrap();
    let dead = dead_config(dir.path());
    let args = ["--config", dead.to_str().unwrap(), "health"];
    let garage = env!("CARGO_BIN_EXE_garage-ops");
    let quiet = run(garage, &args, &[("CLI_TEST_KEY", "k")]);
    let loud = run(
        garage,
        &args,
        &[("CLI_TEST_KEY", "k"), ("RUST_LOG", "debug")],
    );
    let quiet_err = String::from_utf8_lossy(&quiet.stderr);
    let loud_err = String::from_utf8_lossy(&loud.stderr);
    assert!(!quiet_err.contains("DEBUG"), "{quiet_err}");
    assert!(
        loud_err.contains("DEBUG"),
        "RUST_LOG=debug logs nothing:\n{loud_err}"
    );
    assert!(
        !loud_err.contains('\x1b'),
        "escapes in logs on a pipe:\n{loud_err:?}"
    );
}

#[test]
fn plan_fits_100_columns_on_a_pipe_and_uses_a_wide_terminal() {
    let o = run(
        env!("CARGO_BIN_EXE_backup-audit"),
        &["plan", "--now", NOW],
        &[],
    );
    assert!(o.status.success(), "{}", all(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    let widest = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    for l in text.lines() {
        assert!(
            l.chars().count() <= 100,
            "{} columns: {l}",
            l.chars().count()
        );
    }
    assert!(widest > 90, "the tables use the width they have ({widest})");
    // the findings' long text is wrapped, not cut
    assert!(text.contains("Findings"));
    // a wide terminal gets its full width
    let wide = plan_on_a_tty(180, &[("NO_COLOR", "1")]);
    let widest = wide
        .lines()
        .map(|l| l.trim_end().chars().count())
        .max()
        .unwrap_or(0);
    assert!(
        widest > 100 && widest <= 180,
        "widest line {widest} on a 180-column terminal"
    );
}

/// `plan --config` takes the runbook config, like `check`: the matrix is the config's `matrix`,
/// and `--matrix` overrides it.
#[test]
fn plan_takes_the_runbook_config() {
    let dir = tempfile::tempdir().unwrap();
    let matrix = dir.path().join("m.toml");
    std::fs::write(
        &matrix,
        "title = \"from the config\"\ntimezone = \"UTC\"\n[[storage]]\nname = \"s\"\nkind = \"x\"\ndevice = \"d\"\n\
         [[target]]\nname = \"t\"\nkind = \"vm\"\ntool = \"pbs\"\nstorage = \"s\"\n\
         [[target.schedule]]\nname = \"w\"\ncalendar = \"sun 02:00\"\nretention = { keep_last = 3 }\n",
    )
    .unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!("matrix = {:?}\n", matrix.to_str().unwrap()),
    )
    .unwrap();
    let audit = env!("CARGO_BIN_EXE_backup-audit");
    let o = run(
        audit,
        &[
            "plan",
            "--json",
            "--now",
            NOW,
            "--config",
            config.to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", all(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["title"], "from the config");
    let o = run(
        audit,
        &[
            "plan",
            "--json",
            "--now",
            NOW,
            "--config",
            config.to_str().unwrap(),
            "--matrix",
            "/nonexistent.toml",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", all(&o));
    assert!(all(&o).contains("/nonexistent.toml"));
}

#[test]
fn generators_print_json_on_request_and_serve_refuses_what_it_cannot_honour() {
    let bin = env!("CARGO_BIN_EXE_backup-audit");
    let rules = run(bin, &["alert-rules", "--json"], &[]);
    assert!(rules.status.success(), "{}", all(&rules));
    let doc: serde_json::Value = serde_json::from_slice(&rules.stdout).expect("rules as JSON");
    assert!(
        doc["groups"].as_array().is_some_and(|g| !g.is_empty()),
        "{doc}"
    );

    let gatus = run(bin, &["gatus", "--json"], &[]);
    assert!(gatus.status.success(), "{}", all(&gatus));
    let doc: serde_json::Value = serde_json::from_slice(&gatus.stdout).expect("gatus as JSON");
    assert!(
        doc["endpoints"].as_array().is_some_and(|e| !e.is_empty()),
        "{doc}"
    );

    let dir = tempfile::tempdir().unwrap();
    let config = dead_config(dir.path());
    let serve = run(
        bin,
        &[
            "serve",
            "--config",
            config.to_str().unwrap(),
            "--now",
            "2026-11-27T12:00:00Z",
        ],
        &[],
    );
    assert_eq!(serve.status.code(), Some(2), "{}", all(&serve));
    assert!(all(&serve).contains("no --now"), "{}", all(&serve));
}
