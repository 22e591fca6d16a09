//! `backup-audit alert-rules` and `backup-audit gatus`: the generated configs checked by the real
//! `promtool` (Debian's `prometheus` package; scripts/test.sh installs it) and, for Gatus (which
//! cannot run here), against the schema Gatus documents (TwiN/gatus README.md "Endpoints",
//! "Conditions", "Alerting"; config/config.go, config/endpoint/common.go,
//! config/endpoint/condition.go, alerting/alert/alert.go, alerting/alert/type.go).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_backup-audit")
}

/// The real promtool, or a failure that says how to get it (no silent skip).
fn promtool() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("promtool"))
            .find(|p| p.is_file())
    });
    found.expect(
        "promtool not found on PATH: these tests need the real promtool from Debian's \
         `prometheus` package (scripts/test.sh installs it; locally: \
         apt-get install -y --no-install-recommends prometheus)",
    )
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("running a child process")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Generates the rules and tests for the seed matrix into `dir`.
fn generate(dir: &Path) -> (PathBuf, PathBuf) {
    let rules = dir.join("backup-audit.rules.yml");
    let tests = dir.join("backup-audit.rules.test.yml");
    let o = run(Command::new(bin())
        .args(["alert-rules", "--output"])
        .arg(&rules)
        .arg("--tests")
        .arg(&tests));
    assert!(o.status.success(), "alert-rules failed: {}", text(&o));
    (rules, tests)
}

#[test]
fn alert_rules_pass_promtool_check_and_unit_tests() {
    let promtool = promtool();
    let dir = tempfile::tempdir().unwrap();
    let (rules, tests) = generate(dir.path());
    let check = run(Command::new(&promtool).args(["check", "rules"]).arg(&rules));
    assert!(
        check.status.success(),
        "promtool check rules: {}",
        text(&check)
    );
    let rules_text = std::fs::read_to_string(&rules).unwrap();
    for alert in [
        "BackupLate",
        "BackupFailed",
        "BackupMissing",
        "BackupUnreachable",
        "BackupTooOld",
        "BackupAuditStale",
        "BackupAuditAbsent",
    ] {
        assert!(
            rules_text.contains(&format!("alert: {alert}\n")),
            "{alert} missing"
        );
    }
    // One age rule per enabled schedule of the seed matrix.
    let matrix = backup_policy::matrix::Matrix::homelab().unwrap();
    let rows: usize = matrix
        .target
        .iter()
        .filter(|t| t.enabled)
        .map(|t| t.schedule.len())
        .sum();
    assert_eq!(rules_text.matches("alert: BackupTooOld\n").count(), rows);
    // velero-prod's daily schedule runs every 24h; grace 2h plus Velero's run time on top.
    assert!(
        rules_text.contains(
            "backup_audit_last_success_timestamp_seconds{target=\"velero-prod\",schedule=\"daily\"} > 95400"
        ),
        "{rules_text}"
    );
    let test = run(Command::new(&promtool).args(["test", "rules"]).arg(&tests));
    assert!(
        test.status.success(),
        "promtool test rules: {}",
        text(&test)
    );
    // Every alert has a firing and a silent case in the generated tests.
    let tests_text = std::fs::read_to_string(&tests).unwrap();
    for name in [
        "BackupLate fires",
        "BackupLate stays silent",
        "BackupAuditAbsent fires",
    ] {
        assert!(tests_text.contains(name), "no test {name:?}");
    }
}

#[test]
fn promtool_rejects_a_broken_rule_and_a_rule_that_never_fires() {
    let promtool = promtool();
    let dir = tempfile::tempdir().unwrap();
    let (rules, tests) = generate(dir.path());
    let good = std::fs::read_to_string(&rules).unwrap();

    // A syntax error in one expression: `promtool check rules` must reject the file.
    let broken = good.replacen(
        "expr: backup_audit_status{status=\"failed\"} == 1",
        "expr: backup_audit_status{status=\"failed\"} ==",
        1,
    );
    assert_ne!(broken, good);
    std::fs::write(&rules, &broken).unwrap();
    let check = run(Command::new(&promtool).args(["check", "rules"]).arg(&rules));
    assert!(
        !check.status.success(),
        "accepted a broken rule: {}",
        text(&check)
    );

    // A rule that can never fire: the generated unit tests must catch it.
    let silent = good.replacen(
        "expr: backup_audit_status{status=\"late\"} == 1",
        "expr: backup_audit_status{status=\"late\"} == 2",
        1,
    );
    assert_ne!(silent, good);
    std::fs::write(&rules, &silent).unwrap();
    let check = run(Command::new(&promtool).args(["check", "rules"]).arg(&rules));
    assert!(check.status.success(), "{}", text(&check));
    let test = run(Command::new(&promtool).args(["test", "rules"]).arg(&tests));
    assert!(
        !test.status.success(),
        "unit tests passed a BackupLate that never fires: {}",
        text(&test)
    );
    assert!(
        text(&test).contains("name: BackupLate fires for a late row"),
        "{}",
        text(&test)
    );

    // An age threshold off by an hour: caught too.
    let late = good.replacen("> 95400", "> 99000", 1);
    assert_ne!(late, good);
    std::fs::write(&rules, &late).unwrap();
    let test = run(Command::new(&promtool).args(["test", "rules"]).arg(&tests));
    assert!(
        !test.status.success(),
        "wrong threshold passed: {}",
        text(&test)
    );
}

#[test]
fn textfile_passes_promtool_check_metrics() {
    use examples::audit;
    let promtool = promtool();
    let matrix = backup_policy::matrix::Matrix::homelab().unwrap();
    // No system answered: every row is missing; plus one unreachable system.
    let results = vec![audit::SystemResult {
        system: "pbs".into(),
        targets: vec!["pbs-critical".into()],
        observations: Err("connection refused".into()),
        elapsed_ms: 3,
    }];
    let now: jiff::Timestamp = "2026-12-06T12:00:00Z".parse().unwrap();
    let a = audit::assemble(&matrix, results, audit::GarageState::default(), now);
    let textfile = audit::render_prometheus(&a);
    let mut child = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(textfile.as_bytes())
            .unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "promtool check metrics: {}\n{textfile}",
        text(&o)
    );
    // The metric names the rules read are there.
    for m in [
        "backup_audit_status{",
        "backup_audit_timestamp_seconds ",
        "backup_audit_system_up{",
    ] {
        assert!(textfile.contains(m), "{m} missing");
    }

    // A malformed exposition is rejected, so the check above can fail.
    let mut child = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"# TYPE x gauge\nx{a=\"1\" 1\n")
            .unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert!(
        !o.status.success(),
        "accepted a broken exposition: {}",
        text(&o)
    );
}

// --- Gatus ---------------------------------------------------------------------------------

/// Top-level keys Gatus documents (README "Configuration").
const TOP_LEVEL: &[&str] = &[
    "metrics",
    "storage",
    "alerting",
    "announcements",
    "endpoints",
    "external-endpoints",
    "security",
    "concurrency",
    "disable-monitoring-lock",
    "skip-invalid-config-update",
    "web",
    "ui",
    "maintenance",
];

/// Endpoint keys Gatus documents (README "Endpoints").
const ENDPOINT_KEYS: &[&str] = &[
    "enabled",
    "name",
    "group",
    "url",
    "method",
    "conditions",
    "interval",
    "graphql",
    "body",
    "headers",
    "dns",
    "ssh",
    "alerts",
    "maintenance-windows",
    "client",
    "ui",
    "extra-labels",
];

/// Alert keys (README "Alerting").
const ALERT_KEYS: &[&str] = &[
    "type",
    "enabled",
    "failure-threshold",
    "success-threshold",
    "minimum-reminder-interval",
    "send-on-resolved",
    "description",
    "provider-override",
];

/// Alert types (alerting/alert/type.go).
const ALERT_TYPES: &[&str] = &[
    "aws-ses",
    "clickup",
    "custom",
    "datadog",
    "discord",
    "email",
    "github",
    "gitlab",
    "gitea",
    "googlechat",
    "gotify",
    "homeassistant",
    "ifttt",
    "ilert",
    "incident-io",
    "line",
    "matrix",
    "mattermost",
    "messagebird",
    "newrelic",
    "n8n",
    "ntfy",
    "opsgenie",
    "pagerduty",
    "plivo",
    "pushover",
    "rocketchat",
    "sendgrid",
    "signal",
    "signl4",
    "slack",
    "splunk",
    "squadcast",
    "teams",
    "teams-workflows",
    "telegram",
    "twilio",
    "vonage",
    "webex",
    "zapier",
    "zulip",
];

/// Placeholders a condition may use (README "Placeholders").
const PLACEHOLDERS: &[&str] = &[
    "[STATUS]",
    "[RESPONSE_TIME]",
    "[IP]",
    "[BODY]",
    "[CONNECTED]",
    "[CERTIFICATE_EXPIRATION]",
    "[DOMAIN_EXPIRATION]",
    "[DNS_RCODE]",
];

/// Go duration (`30s`, `1m`, `1h30m`), as Gatus's `interval` is parsed.
fn is_go_duration(s: &str) -> bool {
    let mut rest = s;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        let unit = ["ns", "us", "ms", "s", "m", "h"]
            .into_iter()
            .find(|u| rest.starts_with(u) && !(*u == "m" && rest.starts_with("ms")));
        match unit {
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

/// A condition is `<VALUE> <COMPARATOR> <VALUE>` with one of Gatus's comparators
/// (config/endpoint/condition.go) and a documented placeholder on the left.
fn check_condition(c: &str) -> Result<(), String> {
    let comparators = [" == ", " != ", " <= ", " >= ", " < ", " > "];
    let Some(op) = comparators.iter().find(|op| c.contains(*op)) else {
        return Err(format!("condition {c:?}: no comparator"));
    };
    let parts: Vec<&str> = c.split(op).collect();
    if parts.len() != 2 || parts.iter().any(|p| p.trim().is_empty()) {
        return Err(format!("condition {c:?}: not <VALUE> <COMPARATOR> <VALUE>"));
    }
    let left = parts[0]
        .trim_start_matches("len(")
        .trim_start_matches("has(");
    if !PLACEHOLDERS.iter().any(|p| left.starts_with(p)) {
        return Err(format!("condition {c:?}: unknown placeholder"));
    }
    if left.starts_with("[STATUS]") {
        let right = parts[1].trim();
        let numeric = right.parse::<u16>().is_ok_and(|n| (100..600).contains(&n));
        if !numeric && !right.starts_with("any(") && !right.starts_with("pat(") {
            return Err(format!("condition {c:?}: status is not an HTTP code"));
        }
    }
    Ok(())
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Validates a Gatus config the way Gatus's docs and loader describe; every violation listed.
fn validate_gatus(doc: &Value) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    let Some(top) = doc.as_object() else {
        return Err(vec!["not a mapping".into()]);
    };
    for k in top.keys() {
        if !TOP_LEVEL.contains(&k.as_str()) {
            errors.push(format!("unknown top-level key {k:?}"));
        }
    }
    let providers = doc.get("alerting").and_then(Value::as_object);
    if let Some(p) = providers {
        for (name, cfg) in p {
            if !ALERT_TYPES.contains(&name.as_str()) {
                errors.push(format!("unknown alerting provider {name:?}"));
            }
            if name == "custom" && str_field(cfg, "url").is_none_or(str::is_empty) {
                errors.push("alerting.custom.url is required".into());
            }
        }
    }
    let endpoints = doc.get("endpoints").and_then(Value::as_array);
    let Some(endpoints) = endpoints.filter(|e| !e.is_empty()) else {
        errors.push("endpoints is required and must not be empty".into());
        return Err(errors);
    };
    let mut keys = HashSet::new();
    for e in endpoints {
        let name = str_field(e, "name").unwrap_or_default();
        let group = str_field(e, "group").unwrap_or_default();
        let at = format!("endpoint {group}/{name}");
        if let Some(obj) = e.as_object() {
            for k in obj.keys() {
                if !ENDPOINT_KEYS.contains(&k.as_str()) {
                    errors.push(format!("{at}: unknown key {k:?}"));
                }
            }
        }
        if name.is_empty() {
            errors.push(format!("{at}: name is required"));
        }
        if name.contains(['"', '\\']) || group.contains(['"', '\\']) {
            errors.push(format!("{at}: name and group must not have \" or \\"));
        }
        // Gatus keys endpoints by group and name, lower-cased (config/config.go).
        if !keys.insert((group.to_lowercase(), name.to_lowercase())) {
            errors.push(format!("{at}: name and group combination must be unique"));
        }
        match str_field(e, "url") {
            Some(u) if reqwest::Url::parse(u).is_ok() => {}
            other => errors.push(format!("{at}: url {other:?} is required and must parse")),
        }
        if let Some(i) = e.get("interval")
            && !i.as_str().is_some_and(is_go_duration)
        {
            errors.push(format!("{at}: interval {i} is not a duration"));
        }
        let conditions = e.get("conditions").and_then(Value::as_array);
        match conditions.filter(|c| !c.is_empty()) {
            None => errors.push(format!("{at}: at least one condition is required")),
            Some(cs) => {
                for c in cs {
                    match c.as_str() {
                        Some(c) => {
                            if let Err(m) = check_condition(c) {
                                errors.push(format!("{at}: {m}"));
                            }
                        }
                        None => errors.push(format!("{at}: condition {c} is not a string")),
                    }
                }
            }
        }
        for a in e
            .get("alerts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(obj) = a.as_object() {
                for k in obj.keys() {
                    if !ALERT_KEYS.contains(&k.as_str()) {
                        errors.push(format!("{at}: unknown alert key {k:?}"));
                    }
                }
            }
            let kind = str_field(a, "type").unwrap_or_default();
            if !ALERT_TYPES.contains(&kind) {
                errors.push(format!("{at}: unknown alert type {kind:?}"));
            } else if providers.is_none_or(|p| !p.contains_key(kind)) {
                errors.push(format!(
                    "{at}: alert type {kind:?} has no alerting.{kind} provider"
                ));
            }
            if str_field(a, "description").is_some_and(|d| d.contains(['"', '\\'])) {
                errors.push(format!("{at}: alert description must not have \" or \\"));
            }
            for k in ["failure-threshold", "success-threshold"] {
                if let Some(v) = a.get(k)
                    && v.as_u64().is_none_or(|n| n == 0)
                {
                    errors.push(format!("{at}: {k} {v} must be a positive integer"));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn gatus_yaml(args: &[&str]) -> Output {
    run(Command::new(bin()).arg("gatus").args(args))
}

fn parse(o: &Output) -> Value {
    assert!(o.status.success(), "gatus failed: {}", text(o));
    serde_norway::from_slice(&o.stdout).expect("gatus output is YAML")
}

#[test]
fn gatus_config_matches_gatus_documented_schema() {
    let doc = parse(&gatus_yaml(&["--serve-url", "http://127.0.0.1:9810/"]));
    if let Err(errors) = validate_gatus(&doc) {
        panic!("invalid Gatus config:\n{}", errors.join("\n"));
    }
    let endpoints = doc["endpoints"].as_array().unwrap();
    let find = |name: &str| {
        endpoints
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("no endpoint {name}"))
    };
    // The example config's checks, with the statuses it expects.
    let seed: toml::Table =
        toml::from_str(include_str!("../config/gatus-checks.toml")).expect("gatus-checks.toml");
    let seed = seed["check"].as_array().expect("[[check]]");
    assert_eq!(seed.len(), 3);
    for c in seed {
        let e = find(c["name"].as_str().unwrap());
        assert_eq!(e["url"], c["url"].as_str().unwrap());
        let cond = format!("[STATUS] == {}", c["status"].as_integer().unwrap());
        assert_eq!(e["conditions"], serde_json::json!([cond]));
    }
    // One endpoint per matrix target against serve's /health/<target>, alerting Keep.
    let matrix = backup_policy::matrix::Matrix::homelab().unwrap();
    for t in &matrix.target {
        let e = find(&format!("backup {}", t.name));
        assert_eq!(
            e["url"],
            format!("http://127.0.0.1:9810/health/{}", t.name),
            "{e}"
        );
        assert_eq!(e["enabled"], t.enabled);
        assert_eq!(e["alerts"][0]["type"], "custom");
        assert_eq!(e["alerts"][0]["send-on-resolved"], true);
    }
    assert_eq!(endpoints.len(), 3 + matrix.target.len());
    let body = doc["alerting"]["custom"]["body"].as_str().unwrap();
    let keep: Value = serde_json::from_str(body).expect("the Keep body is JSON");
    for k in [
        "name",
        "status",
        "severity",
        "fingerprint",
        "source",
        "description",
    ] {
        assert!(keep.get(k).is_some(), "Keep body lacks {k}: {body}");
    }
}

#[test]
fn gatus_validator_rejects_what_gatus_rejects() {
    let good = parse(&gatus_yaml(&[]));
    assert!(validate_gatus(&good).is_ok());
    let mutate = |f: &dyn Fn(&mut Value)| {
        let mut d = good.clone();
        f(&mut d);
        validate_gatus(&d).expect_err("the validator accepted a broken config")
    };
    let e = mutate(&|d| {
        let first = d["endpoints"][0].clone();
        d["endpoints"].as_array_mut().unwrap().push(first);
    });
    assert!(e.iter().any(|m| m.contains("unique")), "{e:?}");
    let e = mutate(&|d| d["endpoints"][0]["conditions"][0] = "[STATUS] = 200".into());
    assert!(e.iter().any(|m| m.contains("comparator")), "{e:?}");
    let e = mutate(&|d| d["endpoints"][0]["alerts"][0]["type"] = "webhook".into());
    assert!(e.iter().any(|m| m.contains("unknown alert type")), "{e:?}");
    let e = mutate(&|d| d["endpoints"][1]["conditions"] = serde_json::json!([]));
    assert!(
        e.iter().any(|m| m.contains("at least one condition")),
        "{e:?}"
    );
    let e = mutate(&|d| d["endpoints"][2]["interval"] = "5 minutes".into());
    assert!(e.iter().any(|m| m.contains("interval")), "{e:?}");
    let e = mutate(&|d| {
        d["alerting"].as_object_mut().unwrap().remove("custom");
    });
    assert!(e.iter().any(|m| m.contains("no alerting.custom")), "{e:?}");
}

#[test]
fn gatus_rejects_a_serve_url_that_is_not_http() {
    let o = gatus_yaml(&["--serve-url", "ftp://127.0.0.1/"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--serve-url"));
}

#[test]
fn gatus_checks_come_from_the_checks_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("checks.toml");
    std::fs::write(
        &file,
        "[[check]]\nname = \"Local S3\"\nurl = \"http://127.0.0.1:3900\"\nstatus = 403\n",
    )
    .unwrap();
    let doc = parse(&gatus_yaml(&["--checks", file.to_str().unwrap()]));
    let endpoints = doc["endpoints"].as_array().unwrap();
    let local: Vec<&Value> = endpoints
        .iter()
        .filter(|e| !e["name"].as_str().unwrap().starts_with("backup "))
        .collect();
    assert_eq!(
        local.len(),
        1,
        "the file replaces the example checks: {local:?}"
    );
    assert_eq!(local[0]["url"], "http://127.0.0.1:3900");
    assert_eq!(
        local[0]["conditions"],
        serde_json::json!(["[STATUS] == 403"])
    );

    std::fs::write(
        &file,
        "[[check]]\nname = \"x\"\nurl = \"http://127.0.0.1\"\n",
    )
    .unwrap();
    let o = gatus_yaml(&["--checks", file.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "a check without status: {}",
        text(&o)
    );
}
