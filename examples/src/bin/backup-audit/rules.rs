//! `backup-audit alert-rules`: a Prometheus rules file generated from the matrix, and a
//! `promtool test rules` unit-test file that proves every alert.
//!
//! The rules read the metrics `backup-audit check --prometheus` writes for node_exporter's
//! textfile collector (see `examples::audit::render_prometheus`):
//!
//! * `backup_audit_status{target,schedule,tool,status}` one-hot verdict per row →
//!   `BackupLate`, `BackupFailed`, `BackupMissing`, `BackupUnreachable`;
//! * `backup_audit_last_success_timestamp_seconds{target,schedule,tool}` → one `BackupTooOld`
//!   rule per enabled matrix row whose threshold is the row's longest gap between scheduled runs
//!   plus its run duration and the matrix grace (so it fires even when the audit itself stopped
//!   judging the row);
//! * `backup_audit_timestamp_seconds` (when the audit last ran) → `BackupAuditStale` and
//!   `BackupAuditAbsent` (the textfile is old or gone).
//!
//! Rule file format: Prometheus `docs/configuration/recording_rules.md` and
//! `docs/configuration/unit_testing_rules.md` (prometheus/prometheus).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use backup_policy::matrix::{Matrix, ScheduleSpec, Target};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

/// Arguments of `backup-audit alert-rules`.
#[derive(Debug, clap::Args)]
pub struct AlertRulesArgs {
    /// `--config` (its `matrix`), `--json` (the same document as JSON, which is also valid YAML),
    /// `-v`.
    #[command(flatten)]
    pub common: examples::cli::CommonArgs,
    /// Matrix TOML file (default: the config's `matrix`, else the embedded homelab seed matrix).
    #[arg(long, env = "BACKUP_MATRIX")]
    pub matrix: Option<PathBuf>,
    /// Write the rules here (default: stdout).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write a `promtool test rules` unit-test file here; it names the rules file by
    /// `--output`'s file name (so keep both in one directory).
    #[arg(long, value_name = "FILE")]
    pub tests: Option<PathBuf>,
    /// The textfile counts as stale when the audit has not run for this long (`2h`, `90m`).
    #[arg(long, default_value = "2h")]
    pub stale_after: String,
}

/// Name the tests file uses for the rules file when the rules go to stdout.
pub const DEFAULT_RULES_FILE: &str = "backup-audit.rules.yml";

/// How long a verdict must hold before its alert fires (a textfile is rewritten per check).
const VERDICT_FOR: &str = "10m";
const VERDICT_FOR_MINUTES: i64 = 10;

/// Runs `backup-audit alert-rules`.
pub fn run(args: &AlertRulesArgs) -> ExitCode {
    examples::cli::exit_with("backup-audit alert-rules", args.common.verbose, || {
        let matrix = matrix_for(&args.common, args.matrix.as_ref())?;
        let stale_after = parse_minutes(&args.stale_after)?;
        let rules = alert_rules(&matrix, stale_after)?;
        let text = render(&rules, args.common.json)?;
        match &args.output {
            Some(p) => examples::audit::write_atomically(p, &text)?,
            None => print!("{text}"),
        }
        if let Some(t) = &args.tests {
            let rules_name = args
                .output
                .as_ref()
                .and_then(|p| p.file_name())
                .map_or_else(
                    || DEFAULT_RULES_FILE.to_owned(),
                    |n| n.to_string_lossy().into_owned(),
                );
            let tests = rule_tests(&matrix, &rules, stale_after, &rules_name)?;
            examples::audit::write_atomically(t, &serde_norway::to_string(&tests)?)?;
        }
        Ok(true)
    })
}

/// The matrix from `path`, else the embedded seed.
/// The matrix `--matrix` names, else the one `--config` names, else the embedded seed matrix.
pub fn matrix_for(common: &examples::cli::CommonArgs, path: Option<&PathBuf>) -> Result<Matrix> {
    match (&common.config, path) {
        (Some(_), None) => examples::cli::load_matrix(&common.load_config()?, None),
        _ => load_matrix(path),
    }
}

/// YAML, or with `--json` the same document as JSON (JSON is YAML too, so both tools read it).
pub fn render(doc: &impl serde::Serialize, json: bool) -> Result<String> {
    Ok(if json {
        serde_json::to_string_pretty(doc)? + "\n"
    } else {
        serde_norway::to_string(doc)?
    })
}

pub fn load_matrix(path: Option<&PathBuf>) -> Result<Matrix> {
    match path {
        None => Ok(Matrix::homelab()?),
        Some(p) => {
            let src =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Ok(Matrix::from_toml(&src, &p.display().to_string())?)
        }
    }
}

fn parse_minutes(s: &str) -> Result<i64> {
    let d: SignedDuration = s
        .parse::<jiff::Span>()
        .ok()
        .and_then(|span| SignedDuration::try_from(span).ok())
        .ok_or_else(|| anyhow!("--stale-after {s:?}: expected a duration such as 2h or 90m"))?;
    let mins = d.as_secs() / 60;
    if mins < 1 {
        return Err(anyhow!("--stale-after {s:?}: must be at least 1m"));
    }
    Ok(mins)
}

/// A Prometheus rules file.
#[derive(Debug, Serialize)]
pub struct RulesFile {
    groups: Vec<RuleGroup>,
}

#[derive(Debug, Serialize)]
struct RuleGroup {
    name: String,
    rules: Vec<Rule>,
}

#[derive(Debug, Serialize)]
struct Rule {
    alert: String,
    expr: String,
    #[serde(rename = "for")]
    for_: String,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    /// The row a per-row rule is about (for the generated tests; not written).
    #[serde(skip)]
    row: Option<(String, String, String, i64)>,
}

/// PromQL string literal body: backslash and double quote escaped.
fn promql_str(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The verdict alerts: (alert, status label, severity, what it means).
const VERDICTS: [(&str, &str, &str, &str); 4] = [
    (
        "BackupLate",
        "late",
        "warning",
        "has no good backup since its last expected run (plus grace)",
    ),
    (
        "BackupFailed",
        "failed",
        "critical",
        "failed its last expected run (or the newest backup only partially succeeded)",
    ),
    (
        "BackupMissing",
        "missing",
        "critical",
        "has no backup at all in its system",
    ),
    (
        "BackupUnreachable",
        "unreachable",
        "critical",
        "could not be checked: its backup system did not answer the audit",
    ),
];

/// The longest gap between two scheduled runs over a year from a fixed instant, bounded in
/// iterations (an every-minute schedule stops after 20 000 runs).
fn longest_gap(s: &ScheduleSpec) -> Option<SignedDuration> {
    let start: Timestamp = "2026-01-01T00:00:00Z".parse().ok()?;
    let end = start
        .checked_add(SignedDuration::from_hours(24 * 400))
        .ok()?;
    let mut prev = s.next_after(start)?;
    let mut gap = SignedDuration::ZERO;
    for _ in 0..20_000 {
        let Some(next) = s.next_after(prev) else {
            break;
        };
        gap = gap.max(next.duration_since(prev));
        if next > end {
            break;
        }
        prev = next;
    }
    (gap > SignedDuration::ZERO).then_some(gap)
}

/// `1d 2h 3m`: an alert's threshold in its description and its unit test's name.
fn human(secs: i64) -> String {
    examples::cli::human_duration(SignedDuration::from_secs(secs), jiff::Unit::Minute)
}

fn too_old_rule(matrix: &Matrix, t: &Target, s: &ScheduleSpec) -> Result<Rule> {
    let gap = longest_gap(s).ok_or_else(|| {
        anyhow!(
            "target {:?} schedule {:?}: no two runs within 400 days",
            t.name,
            s.name
        )
    })?;
    let threshold = gap + s.run_duration(t.tool) + matrix.grace();
    let secs = threshold.as_secs();
    let tool = examples::audit::tool_name(t.tool);
    let severity = if t.critical { "critical" } else { "warning" };
    Ok(Rule {
        alert: "BackupTooOld".into(),
        expr: format!(
            "time() - backup_audit_last_success_timestamp_seconds{{target=\"{}\",schedule=\"{}\"}} > {secs}",
            promql_str(&t.name),
            promql_str(&s.name)
        ),
        for_: "0m".into(),
        // The row's labels make each rule distinct (promtool rejects duplicate alert/labels).
        labels: BTreeMap::from([
            ("severity".into(), severity.into()),
            ("target".into(), t.name.clone()),
            ("schedule".into(), s.name.clone()),
        ]),
        annotations: BTreeMap::from([
            (
                "summary".into(),
                format!("Backup {}/{} ({tool}) is too old", t.name, s.name),
            ),
            (
                "description".into(),
                format!(
                    "The newest good backup of {}/{} is older than {} (longest gap of `{}` plus run time and grace).",
                    t.name,
                    s.name,
                    human(secs),
                    s.expr()
                ),
            ),
        ]),
        row: Some((t.name.clone(), s.name.clone(), tool.to_owned(), secs)),
    })
}

/// The rules for `matrix`; the audit counts as stale after `stale_minutes`.
pub fn alert_rules(matrix: &Matrix, stale_minutes: i64) -> Result<RulesFile> {
    let mut verdicts = Vec::new();
    for (alert, status, severity, meaning) in VERDICTS {
        verdicts.push(Rule {
            alert: alert.into(),
            expr: format!("backup_audit_status{{status=\"{status}\"}} == 1"),
            for_: VERDICT_FOR.into(),
            labels: BTreeMap::from([("severity".into(), severity.into())]),
            annotations: BTreeMap::from([
                (
                    "summary".into(),
                    format!("Backup {{{{ $labels.target }}}}/{{{{ $labels.schedule }}}} is {status}"),
                ),
                (
                    "description".into(),
                    format!("Matrix row {{{{ $labels.target }}}}/{{{{ $labels.schedule }}}} ({{{{ $labels.tool }}}}) {meaning}."),
                ),
            ]),
            row: None,
        });
    }
    let mut age = Vec::new();
    for t in matrix.target.iter().filter(|t| t.enabled) {
        for s in &t.schedule {
            age.push(too_old_rule(matrix, t, s)?);
        }
    }
    let audit = vec![
        Rule {
            alert: "BackupAuditStale".into(),
            expr: format!("time() - backup_audit_timestamp_seconds > {}", stale_minutes * 60),
            for_: "5m".into(),
            labels: BTreeMap::from([("severity".into(), "warning".into())]),
            annotations: BTreeMap::from([
                ("summary".into(), "backup-audit textfile is stale".into()),
                (
                    "description".into(),
                    format!(
                        "backup-audit check has not rewritten its textfile for more than {}; the backup verdicts are out of date.",
                        human(stale_minutes * 60)
                    ),
                ),
            ]),
            row: None,
        },
        Rule {
            alert: "BackupAuditAbsent".into(),
            expr: "absent(backup_audit_timestamp_seconds)".into(),
            for_: "15m".into(),
            labels: BTreeMap::from([("severity".into(), "warning".into())]),
            annotations: BTreeMap::from([
                ("summary".into(), "backup-audit metrics are absent".into()),
                (
                    "description".into(),
                    "No backup_audit_timestamp_seconds series: the textfile is gone or node_exporter cannot read it.".into(),
                ),
            ]),
            row: None,
        },
    ];
    Ok(RulesFile {
        groups: vec![
            RuleGroup {
                name: "backup-audit-verdicts".into(),
                rules: verdicts,
            },
            RuleGroup {
                name: "backup-audit-age".into(),
                rules: age,
            },
            RuleGroup {
                name: "backup-audit-textfile".into(),
                rules: audit,
            },
        ],
    })
}

/// A `promtool test rules` file.
#[derive(Debug, Serialize)]
pub struct TestsFile {
    rule_files: Vec<String>,
    evaluation_interval: String,
    tests: Vec<TestGroup>,
}

#[derive(Debug, Serialize)]
struct TestGroup {
    name: String,
    interval: String,
    input_series: Vec<Series>,
    alert_rule_test: Vec<AlertTest>,
}

#[derive(Debug, Serialize)]
struct Series {
    series: String,
    values: String,
}

#[derive(Debug, Serialize)]
struct AlertTest {
    eval_time: String,
    alertname: String,
    exp_alerts: Vec<ExpAlert>,
}

#[derive(Debug, Serialize)]
struct ExpAlert {
    exp_labels: BTreeMap<String, String>,
    exp_annotations: BTreeMap<String, String>,
}

fn find<'a>(rules: &'a RulesFile, alert: &str) -> Result<&'a Rule> {
    rules
        .groups
        .iter()
        .flat_map(|g| &g.rules)
        .find(|r| r.alert == alert)
        .ok_or_else(|| anyhow!("no {alert} rule"))
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Expands the `{{ $labels.x }}` templates the generated annotations use.
fn expand(template: &str, l: &BTreeMap<String, String>) -> String {
    let mut out = template.to_owned();
    for (k, v) in l {
        out = out.replace(&format!("{{{{ $labels.{k} }}}}"), v);
    }
    out
}

fn series(metric: &str, l: &BTreeMap<String, String>, values: &str) -> Series {
    let body: Vec<String> = l
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", promql_str(v)))
        .collect();
    Series {
        series: format!("{metric}{{{}}}", body.join(",")),
        values: values.to_owned(),
    }
}

fn expect(rule: &Rule, mut l: BTreeMap<String, String>) -> ExpAlert {
    let annotations = rule
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), expand(v, &l)))
        .collect();
    l.extend(rule.labels.clone());
    ExpAlert {
        exp_labels: l,
        exp_annotations: annotations,
    }
}

/// Unit tests for `rules`: each alert fires for a failing series and stays silent for a
/// healthy one. `rules_file` is the rules file's name relative to the tests file.
pub fn rule_tests(
    matrix: &Matrix,
    rules: &RulesFile,
    stale_minutes: i64,
    rules_file: &str,
) -> Result<TestsFile> {
    let mut tests = Vec::new();
    // A real row of the matrix, so the series look like what `check --prometheus` writes.
    let (target, schedule, tool) = matrix
        .target
        .iter()
        .filter(|t| t.enabled)
        .find_map(|t| {
            t.schedule.first().map(|s| {
                (
                    t.name.clone(),
                    s.name.clone(),
                    examples::audit::tool_name(t.tool),
                )
            })
        })
        .ok_or_else(|| anyhow!("the matrix has no enabled row to test with"))?;
    let row = [
        ("target", target.as_str()),
        ("schedule", schedule.as_str()),
        ("tool", tool),
    ];
    let eval = format!("{}m", VERDICT_FOR_MINUTES + 5);
    let samples = format!("1x{}", VERDICT_FOR_MINUTES + 10);
    let zeros = format!("0x{}", VERDICT_FOR_MINUTES + 10);
    for (alert, status, _, _) in VERDICTS {
        let rule = find(rules, alert)?;
        let mut input = Vec::new();
        for other in examples::audit::ALL_STATUSES {
            let mut l = labels(&row);
            l.insert("status".into(), other.into());
            input.push(series(
                "backup_audit_status",
                &l,
                if other == status { &samples } else { &zeros },
            ));
        }
        let mut l = labels(&row);
        l.insert("status".into(), status.into());
        tests.push(TestGroup {
            name: format!("{alert} fires for a {status} row"),
            interval: "1m".into(),
            input_series: input,
            alert_rule_test: vec![
                AlertTest {
                    eval_time: format!("{}m", VERDICT_FOR_MINUTES - 1),
                    alertname: alert.into(),
                    exp_alerts: vec![],
                },
                AlertTest {
                    eval_time: eval.clone(),
                    alertname: alert.into(),
                    exp_alerts: vec![expect(rule, l)],
                },
            ],
        });
        // Healthy: the row is ok, every other status 0.
        let mut input = Vec::new();
        for other in examples::audit::ALL_STATUSES {
            let mut l = labels(&row);
            l.insert("status".into(), other.into());
            input.push(series(
                "backup_audit_status",
                &l,
                if other == "ok" { &samples } else { &zeros },
            ));
        }
        tests.push(TestGroup {
            name: format!("{alert} stays silent for an ok row"),
            interval: "1m".into(),
            input_series: input,
            alert_rule_test: vec![AlertTest {
                eval_time: eval.clone(),
                alertname: alert.into(),
                exp_alerts: vec![],
            }],
        });
    }
    // BackupTooOld, per row. In a promtool test `time()` is the seconds since the test began,
    // so a last-success stamp of `-threshold` is exactly at the threshold at 0m and one minute
    // past it at 1m; a stamp two minutes younger stays under it.
    for rule in rules
        .groups
        .iter()
        .flat_map(|g| &g.rules)
        .filter(|r| r.alert == "BackupTooOld")
    {
        let Some((t, s, tool, secs)) = &rule.row else {
            continue;
        };
        let l = labels(&[("target", t), ("schedule", s), ("tool", tool)]);
        tests.push(TestGroup {
            name: format!("BackupTooOld {t}/{s}: fires past {}", human(*secs)),
            interval: "1m".into(),
            input_series: vec![series(
                "backup_audit_last_success_timestamp_seconds",
                &l,
                &format!("-{secs}x5"),
            )],
            alert_rule_test: vec![
                AlertTest {
                    eval_time: "0m".into(),
                    alertname: "BackupTooOld".into(),
                    exp_alerts: vec![],
                },
                AlertTest {
                    eval_time: "1m".into(),
                    alertname: "BackupTooOld".into(),
                    exp_alerts: vec![expect(rule, l.clone())],
                },
            ],
        });
        tests.push(TestGroup {
            name: format!("BackupTooOld {t}/{s}: silent under {}", human(*secs)),
            interval: "1m".into(),
            input_series: vec![series(
                "backup_audit_last_success_timestamp_seconds",
                &l,
                &format!("-{}x5", secs - 120),
            )],
            alert_rule_test: vec![AlertTest {
                eval_time: "1m".into(),
                alertname: "BackupTooOld".into(),
                exp_alerts: vec![],
            }],
        });
    }
    // The textfile: an audit stamp stuck at the epoch goes stale; one rewritten every minute
    // does not; no stamp at all is absent.
    let stale = find(rules, "BackupAuditStale")?;
    let horizon = stale_minutes + 20;
    tests.push(TestGroup {
        name: "BackupAuditStale fires when the textfile stops changing".into(),
        interval: "1m".into(),
        input_series: vec![series(
            "backup_audit_timestamp_seconds",
            &BTreeMap::new(),
            &format!("0x{horizon}"),
        )],
        alert_rule_test: vec![
            AlertTest {
                eval_time: format!("{stale_minutes}m"),
                alertname: "BackupAuditStale".into(),
                exp_alerts: vec![],
            },
            AlertTest {
                eval_time: format!("{}m", stale_minutes + 10),
                alertname: "BackupAuditStale".into(),
                exp_alerts: vec![expect(stale, BTreeMap::new())],
            },
        ],
    });
    tests.push(TestGroup {
        name: "BackupAuditStale and BackupAuditAbsent stay silent while the audit runs".into(),
        interval: "1m".into(),
        input_series: vec![series(
            "backup_audit_timestamp_seconds",
            &BTreeMap::new(),
            &format!("0+60x{horizon}"),
        )],
        alert_rule_test: vec![
            AlertTest {
                eval_time: format!("{}m", stale_minutes + 10),
                alertname: "BackupAuditStale".into(),
                exp_alerts: vec![],
            },
            AlertTest {
                eval_time: format!("{}m", stale_minutes + 10),
                alertname: "BackupAuditAbsent".into(),
                exp_alerts: vec![],
            },
        ],
    });
    let absent = find(rules, "BackupAuditAbsent")?;
    tests.push(TestGroup {
        name: "BackupAuditAbsent fires when the textfile is gone".into(),
        interval: "1m".into(),
        input_series: vec![series(
            "backup_audit_timestamp_seconds",
            &BTreeMap::new(),
            "0+60x5",
        )],
        alert_rule_test: vec![
            AlertTest {
                eval_time: "15m".into(),
                alertname: "BackupAuditAbsent".into(),
                exp_alerts: vec![],
            },
            AlertTest {
                eval_time: "30m".into(),
                alertname: "BackupAuditAbsent".into(),
                exp_alerts: vec![expect(absent, BTreeMap::new())],
            },
        ],
    });
    Ok(TestsFile {
        rule_files: vec![rules_file.to_owned()],
        evaluation_interval: "1m".into(),
        tests,
    })
}
