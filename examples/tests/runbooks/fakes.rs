//! velero-ops, pbs-ops and secrets against the fakes (kube-apiserver with Velero's controller,
//! PBS over TLS, Infisical).

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use infisical_client::testing::FakeInfisical;
use jiff::Timestamp;
use pbs_client::testing::{FakePbs, FakePbsConfig, FakeSnapshot, TOKEN_ID};
use secrecy::ExposeSecret;
use velero_client::BackupSpec;
use velero_client::testing::{FakeVelero, NamespaceSim};

use crate::bed::*;

const VELERO_OPS: &str = env!("CARGO_BIN_EXE_velero-ops");
const PBS_OPS: &str = env!("CARGO_BIN_EXE_pbs-ops");
const SECRETS: &str = env!("CARGO_BIN_EXE_secrets");

/// Runs a binary off the runtime's worker threads (the fakes serve on them).
async fn run_async(bin: &'static str, args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(bin, &args)
    })
    .await
    .expect("join")
}

fn args(cfg: &Path, rest: &[&str]) -> Vec<String> {
    let mut v = vec!["--config".to_owned(), cfg.display().to_string()];
    v.extend(rest.iter().map(|s| (*s).to_owned()));
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn velero_ops_backups_describe_logs_and_restore() {
    let fake = FakeVelero::start().await.expect("fake Velero");
    let prod = fake.cluster("prod").expect("prod");
    prod.set_namespace("apps", NamespaceSim::with_items(6));
    let client = fake
        .client_builder_for("prod")
        .build()
        .await
        .expect("client");
    let mut spec = BackupSpec::default();
    spec.included_namespaces = Some(vec!["apps".to_owned()]);
    client.create_backup("nightly", spec).await.expect("create");
    client
        .wait_for_backup("nightly", Duration::from_secs(20))
        .await
        .expect("backup completes");

    let dir = tempfile::tempdir().expect("tempdir");
    let matrix = write_matrix(dir.path(), dir.path());
    let cfg = write(
        &dir.path().join("config.toml"),
        &format!(
            "matrix = \"{}\"\n[velero]\nkubeconfig = \"{}\"\nnamespace = \"velero\"\ncontexts = {{ velero-prod = \"prod\" }}\n",
            matrix.display(),
            fake.kubeconfig_path().display()
        ),
    );

    // backup get: by kube context and by matrix target name.
    for ctx in ["prod", "velero-prod"] {
        let out = run_async(VELERO_OPS, args(&cfg, &["--context", ctx, "backups"])).await;
        assert_code(&out, 0);
        let text = stdout(&out);
        assert!(
            text.contains("nightly") && text.contains("Completed"),
            "{text}"
        );
    }
    let out = run_async(
        VELERO_OPS,
        args(&cfg, &["--context", "prod", "backups", "--json"]),
    )
    .await;
    assert_code(&out, 0);
    let v = json(&out);
    assert_eq!(v[0]["metadata"]["name"], "nightly", "{v:#}");
    // Another cluster has no backups.
    let out = run_async(
        VELERO_OPS,
        args(&cfg, &["--context", "monit", "backups", "--json"]),
    )
    .await;
    assert_code(&out, 0);
    assert_eq!(json(&out), serde_json::json!([]));
    // A missing backup is an error (exit 2).
    let out = run_async(
        VELERO_OPS,
        args(&cfg, &["--context", "prod", "backups", "nope"]),
    )
    .await;
    assert_code(&out, 2);

    // describe and logs.
    let out = run_async(
        VELERO_OPS,
        args(&cfg, &["--context", "prod", "describe", "nightly"]),
    )
    .await;
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains("Completed") && text.contains("apps"),
        "{text}"
    );
    let out = run_async(
        VELERO_OPS,
        args(
            &cfg,
            &["--context", "prod", "describe", "nightly", "--json"],
        ),
    )
    .await;
    let v = json(&out);
    assert_eq!(v["phase"], "Completed");
    assert_eq!(v["items_backed_up"], v["items_total"]);
    assert!(v["items_total"].as_i64().unwrap_or(0) >= 6, "{v:#}");
    let out = run_async(
        VELERO_OPS,
        args(&cfg, &["--context", "prod", "logs", "nightly"]),
    )
    .await;
    assert_code(&out, 0);
    assert!(stdout(&out).contains("Backup completed"), "{}", both(&out));

    // restore create as the seed's runbook does, waiting with progress.
    let out = run_async(
        VELERO_OPS,
        args(
            &cfg,
            &[
                "--context",
                "prod",
                "restore",
                "create",
                "--from-backup",
                "nightly",
                "--name",
                "r1",
                "--include-namespaces",
                "apps",
                "--include-resources",
                "persistentvolumeclaims,persistentvolumes",
                "--wait",
                "--timeout",
                "30",
            ],
        ),
    )
    .await;
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("Restore r1: Completed"), "{text}");
    assert_no_bar_chars(&out);
    let stored = prod.get_json("restores", "r1").expect("restore stored");
    assert_eq!(stored["spec"]["backupName"], "nightly");
    assert_eq!(
        stored["spec"]["includedNamespaces"],
        serde_json::json!(["apps"])
    );
    assert_eq!(
        stored["spec"]["includedResources"],
        serde_json::json!(["persistentvolumeclaims", "persistentvolumes"])
    );
    let out = run_async(
        VELERO_OPS,
        args(
            &cfg,
            &["--context", "prod", "restore", "wait", "r1", "--json"],
        ),
    )
    .await;
    assert_code(&out, 0);
    assert_eq!(json(&out)["phase"], "Completed");
    // Restoring a backup that does not exist: exit 2.
    let out = run_async(
        VELERO_OPS,
        args(
            &cfg,
            &[
                "--context",
                "prod",
                "restore",
                "create",
                "--from-backup",
                "missing",
            ],
        ),
    )
    .await;
    assert_code(&out, 2);
}

fn assert_no_bar_chars(out: &Output) {
    let all = both(out);
    assert!(!all.contains('█') && !all.contains('\u{1b}'), "{all}");
}

fn epoch(s: &str) -> i64 {
    s.parse::<Timestamp>().expect("timestamp").as_second()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pbs_ops_datastores_snapshots_prune_verify_gc_and_tasks() {
    let pbs = FakePbs::start_with(FakePbsConfig::default().with_seed(false))
        .await
        .expect("fake PBS");
    pbs.add_datastore("store1");
    // Five Sundays plus an extra Saturday run: keep_weekly 4 keeps the newest per ISO week.
    for t in [
        "2026-10-25T02:00:00Z",
        "2026-11-01T02:00:00Z",
        "2026-11-08T02:00:00Z",
        "2026-11-15T02:00:00Z",
        "2026-11-21T02:00:00Z",
        "2026-11-22T02:00:00Z",
    ] {
        pbs.add_snapshot("store1", FakeSnapshot::new("", "vm", "450", epoch(t)));
    }
    pbs.add_snapshot(
        "store1",
        FakeSnapshot::new("", "vm", "451", epoch("2026-11-22T02:00:00Z")),
    );
    let token = pbs.token_secret().expose_secret().to_owned();
    let dir = tempfile::tempdir().expect("tempdir");
    let matrix = write_matrix(dir.path(), dir.path());
    let token_file = write(&dir.path().join("pbs.token"), &token);
    let cfg = write(
        &dir.path().join("config.toml"),
        &format!(
            "matrix = \"{}\"\n[pbs]\nurl = \"{}\"\nfingerprint = \"{}\"\ntoken_id = \"{TOKEN_ID}\"\ntoken_secret = {{ file = \"{}\" }}\ndatastore = \"store1\"\n",
            matrix.display(),
            pbs.base_url(),
            pbs.fingerprint(),
            token_file.display()
        ),
    );

    let out = run_async(PBS_OPS, args(&cfg, &["datastores"])).await;
    assert_code(&out, 0);
    assert!(stdout(&out).contains("store1"), "{}", both(&out));

    let out = run_async(PBS_OPS, args(&cfg, &["snapshots", "--vm", "450"])).await;
    assert_code(&out, 0);
    assert!(
        stdout(&out).contains("6 snapshot(s) in store1"),
        "{}",
        both(&out)
    );
    let out = run_async(PBS_OPS, args(&cfg, &["snapshots"])).await;
    assert!(
        stdout(&out).contains("7 snapshot(s) in store1"),
        "{}",
        both(&out)
    );

    // Prune dry run: PBS's answer next to backup-policy's (keep_weekly 4 from the matrix).
    let out = run_async(PBS_OPS, args(&cfg, &["prune", "--vm", "450"])).await;
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains("4 kept, 2 removed; PBS and backup-policy agree"),
        "{text}"
    );
    let out = run_async(PBS_OPS, args(&cfg, &["prune", "--vm", "450", "--json"])).await;
    let v = json(&out);
    let removed: Vec<&str> = v["snapshots"]
        .as_array()
        .expect("snapshots")
        .iter()
        .filter(|s| s["pbs"] == "remove")
        .filter_map(|s| s["time"].as_str())
        .collect();
    assert_eq!(
        removed,
        ["2026-11-21T02:00:00Z", "2026-10-25T02:00:00Z"],
        "{v:#}"
    );
    assert_eq!(
        pbs.snapshots("store1").len(),
        7,
        "a dry run removes nothing"
    );
    // A VM the matrix has no PBS row for: exit 2.
    let out = run_async(PBS_OPS, args(&cfg, &["prune", "--vm", "999"])).await;
    assert_code(&out, 2);

    // verify and gc start tasks and follow them to the end.
    let out = run_async(PBS_OPS, args(&cfg, &["verify", "--vm", "450"])).await;
    assert_code(&out, 0);
    assert!(stdout(&out).contains(": OK"), "{}", both(&out));
    let out = run_async(PBS_OPS, args(&cfg, &["gc", "--json"])).await;
    assert_code(&out, 0);
    let v = json(&out);
    assert_eq!(v["ok"], true, "{v:#}");
    let upid = v["upid"].as_str().expect("upid").to_owned();
    assert!(upid.starts_with("UPID:"), "{upid}");
    // task follow on a finished task prints its log and status.
    let out = run_async(PBS_OPS, args(&cfg, &["task", "follow", &upid])).await;
    assert_code(&out, 0);
    // Each log line once: PBS's `start` is the 1-based number of the first line returned (0 and
    // 1 both mean the first), so a follower that advances by the count read prints a line twice.
    assert_eq!(stdout(&out).matches("TASK OK").count(), 1, "{}", both(&out));
    assert!(
        stdout(&out).contains(&format!("task {upid}: OK")),
        "{}",
        both(&out)
    );
    assert_no_secrets(&out, &[&token]);
    let out = run_async(PBS_OPS, args(&cfg, &["task", "follow", "not-a-upid"])).await;
    assert_code(&out, 2);
}

#[test]
fn secrets_show_redacted_and_run_with_the_bundle() {
    const CLIENT_ID: &str = "runbook-identity";
    const CLIENT_SECRET: &str = "runbook-identity-secret-canary";
    const ACCESS_KEY: &str = "GKaccess-key-canary-0001";
    const SECRET_KEY: &str = "secret-access-key-canary-abcdefghijkl";
    let inf = FakeInfisical::start_blocking().expect("fake Infisical starts");
    inf.with_identity(CLIENT_ID, CLIENT_SECRET);
    for (k, v) in [
        ("ACCESS_KEY_ID", ACCESS_KEY),
        ("SECRET_ACCESS_KEY", SECRET_KEY),
        ("ENDPOINT", "http://127.0.0.1:3900"),
        ("ADMIN_TOKEN", "admin-token-canary"),
    ] {
        inf.with_secret("prod", "/backups/garage", k, v);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let id_file = write(&dir.path().join("client_id"), CLIENT_ID);
    let secret_file = write(
        &dir.path().join("client_secret"),
        &format!("{CLIENT_SECRET}\n"),
    );
    let cfg = write(
        &dir.path().join("config.toml"),
        &format!(
            "[infisical]\nurl = \"{}\"\nproject_id = \"{}\"\nenvironment = \"prod\"\npath = \"/backups/garage\"\nclient_id = {{ file = \"{}\" }}\nclient_secret = {{ file = \"{}\" }}\n",
            inf.base_url(),
            inf.project_id(),
            id_file.display(),
            secret_file.display()
        ),
    );
    let cfg = cfg.to_str().expect("utf-8");
    let never = [CLIENT_SECRET, SECRET_KEY, ACCESS_KEY, "admin-token-canary"];

    let out = run(SECRETS, &["--config", cfg]);
    assert_code(&out, 0);
    let text = stdout(&out);
    for k in [
        "ACCESS_KEY_ID",
        "SECRET_ACCESS_KEY",
        "ENDPOINT",
        "ADMIN_TOKEN",
    ] {
        assert!(text.contains(k), "{text}");
    }
    assert!(text.contains("[REDACTED]"), "{text}");
    assert_no_secrets(&out, &never);

    let out = run(SECRETS, &["--config", cfg, "show", "--json"]);
    assert_code(&out, 0);
    let v = json(&out);
    let len = |key: &str| {
        v["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .find(|k| k["key"] == key)
            .map(|k| k["length"].clone())
    };
    assert_eq!(
        len("SECRET_ACCESS_KEY"),
        Some(serde_json::json!(SECRET_KEY.len()))
    );
    assert_eq!(
        len("ACCESS_KEY_ID"),
        Some(serde_json::json!(ACCESS_KEY.len()))
    );
    assert_no_secrets(&out, &never);

    // The child gets the bundle in its environment.
    let out = run(
        SECRETS,
        &[
            "--config",
            cfg,
            "run",
            "--",
            "sh",
            "-c",
            "echo $ACCESS_KEY_ID",
        ],
    );
    assert_code(&out, 0);
    assert_eq!(stdout(&out).trim(), ACCESS_KEY);
    // And its exit code is passed on.
    let out = run(
        SECRETS,
        &["--config", cfg, "run", "--", "sh", "-c", "exit 7"],
    );
    assert_code(&out, 7);

    // A wrong identity secret fails without printing it.
    write(&dir.path().join("client_secret"), "wrong-secret-canary");
    let out = run(SECRETS, &["--config", cfg]);
    assert_code(&out, 2);
    assert_no_secrets(&out, &["wrong-secret-canary", SECRET_KEY]);
}

#[test]
fn secrets_run_starts_the_child_with_a_clean_environment() {
    const CLIENT_ID: &str = "runbook-identity";
    const CLIENT_SECRET: &str = "parent-env-client-secret-canary";
    let inf = FakeInfisical::start_blocking().expect("fake Infisical starts");
    inf.with_identity(CLIENT_ID, CLIENT_SECRET);
    for (k, v) in [
        ("ACCESS_KEY_ID", "GKchild-access-key"),
        ("SECRET_ACCESS_KEY", "child-secret-access-key"),
        ("ENDPOINT", "http://127.0.0.1:3900"),
        ("ADMIN_TOKEN", "child-admin-token"),
        // Reserved names are never overridden, like `infisical run`.
        ("PATH", "/evil/bin"),
        ("HOME", "/evil/home"),
    ] {
        inf.with_secret("prod", "/backups/garage", k, v);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write(
        &dir.path().join("config.toml"),
        &format!(
            "[infisical]\nurl = \"{}\"\nproject_id = \"{}\"\nenvironment = \"prod\"\npath = \"/backups/garage\"\nclient_id = {{ env = \"INFISICAL_UNIVERSAL_AUTH_CLIENT_ID\" }}\nclient_secret = {{ env = \"INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET\" }}\n",
            inf.base_url(),
            inf.project_id(),
        ),
    );
    let keys = [
        "ACCESS_KEY_ID",
        "SECRET_ACCESS_KEY",
        "ENDPOINT",
        "ADMIN_TOKEN",
        "PATH",
        "HOME",
    ];
    let mut cmd = std::process::Command::new(SECRETS);
    cmd.arg("--config").arg(&cfg);
    for k in keys {
        cmd.args(["--key", k]);
    }
    let out = cmd
        .args(["run", "--", "env"])
        .env_remove("BACKUP_AUDIT_CONFIG")
        .env("INFISICAL_UNIVERSAL_AUTH_CLIENT_ID", CLIENT_ID)
        .env("INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET", CLIENT_SECRET)
        .env("PBS_PASSWORD", "parent-pbs-token-canary")
        .env("AWS_SECRET_ACCESS_KEY", "parent-aws-canary")
        .env("LANG", "C.UTF-8")
        .env("HOME", "/home/runbook")
        .output()
        .expect("secrets runs");
    assert_code(&out, 0);
    let env = stdout(&out);
    let vars: std::collections::BTreeMap<&str, &str> =
        env.lines().filter_map(|l| l.split_once('=')).collect();
    // The parent's credentials stay with the parent.
    for canary in [
        CLIENT_SECRET,
        "parent-pbs-token-canary",
        "parent-aws-canary",
    ] {
        assert!(
            !env.contains(canary),
            "{canary} leaked into the child:\n{env}"
        );
    }
    assert!(
        !vars.contains_key("INFISICAL_UNIVERSAL_AUTH_CLIENT_ID"),
        "{env}"
    );
    assert!(!vars.contains_key("PBS_PASSWORD"), "{env}");
    // The bundle is there, reserved names are not overridden, the basics pass through.
    assert_eq!(vars.get("ACCESS_KEY_ID"), Some(&"GKchild-access-key"));
    assert_eq!(vars.get("ADMIN_TOKEN"), Some(&"child-admin-token"));
    assert_ne!(vars.get("PATH"), Some(&"/evil/bin"), "{env}");
    assert!(vars.get("PATH").is_some_and(|p| !p.is_empty()), "{env}");
    assert_eq!(vars.get("HOME"), Some(&"/home/runbook"));
    assert_eq!(vars.get("LANG"), Some(&"C.UTF-8"));
}
