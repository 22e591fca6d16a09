//! `backup-audit plan`: the offline view of the matrix.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use backup_policy::contention::{DurationSource, Durations, PlannedRun, planned_runs};
use backup_policy::lint::{Finding, Severity, lint_with};
use backup_policy::matrix::{Matrix, Tool, ZoneOrigin, zone_name};
use backup_policy::reach::reach;
use backup_policy::rpo::{BucketOverlap, Rpo, bucket_overlaps, rpo};
use clap::Args;
use comfy_table::{Attribute, Cell, Color, ColumnConstraint, Table, Width};
use examples::cli::{CommonArgs, wrap};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan, Zoned};
use serde_json::{Value, json};

/// Arguments of `backup-audit plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Matrix file; default: the config's `matrix`, else the embedded seed matrix.
    #[arg(long, env = "BACKUP_MATRIX", value_name = "FILE")]
    matrix: Option<PathBuf>,
    /// Observed run durations (JSON `{"durations":[{"target","schedule","seconds"}]}`), used
    /// instead of assumed ones for the timeline and the contention lint.
    #[arg(long, value_name = "FILE")]
    observed: Option<PathBuf>,
}

fn observed(args: &PlanArgs) -> Result<Durations> {
    match &args.observed {
        None => Ok(Durations::default()),
        Some(p) => {
            let src =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Durations::from_json(&src).with_context(|| format!("{}", p.display()))
        }
    }
}

/// The matrix: `--matrix`, else the runbook config's `matrix` (with `--config`), else the seed.
fn load(args: &PlanArgs) -> Result<Matrix> {
    if args.common.config.is_some() {
        let config = args.common.load_config()?;
        return examples::cli::load_matrix(&config, args.matrix.as_deref());
    }
    examples::cli::matrix_file(args.matrix.as_deref())
}

fn local(t: Timestamp, tz: &TimeZone, fmt: &str) -> String {
    t.to_zoned(tz.clone()).strftime(fmt).to_string()
}

/// One row of the schedule table.
struct Row<'a> {
    target: &'a backup_policy::matrix::Target,
    schedule: Option<&'a backup_policy::matrix::ScheduleSpec>,
    next: Vec<Timestamp>,
    keeps: Option<(usize, SignedDuration)>,
}

fn rows<'a>(m: &'a Matrix, now: Timestamp) -> Vec<Row<'a>> {
    let tz = m.tz();
    let mut out = Vec::new();
    for t in &m.target {
        if t.schedule.is_empty() {
            out.push(Row {
                target: t,
                schedule: None,
                next: vec![],
                keeps: None,
            });
        }
        for s in &t.schedule {
            let next = if t.enabled {
                s.schedule()
                    .map(|x| x.next_n(now, &tz, 3))
                    .unwrap_or_default()
            } else {
                vec![]
            };
            let keeps = reach(s, t.tool, &tz, now).ok().map(|r| (r.count, r.span));
            out.push(Row {
                target: t,
                schedule: Some(s),
                next,
                keeps,
            });
        }
    }
    out
}

/// The night to show: the coming 00:00–08:00 local window (the current one if we are inside it),
/// and the busiest night of the coming week.
fn nights(m: &Matrix, now: Timestamp) -> Vec<(Timestamp, Timestamp)> {
    let tz = m.tz();
    let z = now.to_zoned(tz.clone());
    let start_of = |d: jiff::civil::Date| -> Option<Timestamp> {
        d.to_zoned(tz.clone()).ok().map(|z| z.timestamp())
    };
    let mut day = z.date();
    if z.hour() >= 8 {
        day = day.tomorrow().unwrap_or(day);
    }
    let night = |d: jiff::civil::Date| -> Option<(Timestamp, Timestamp)> {
        let s = start_of(d)?;
        let e = d.at(8, 0, 0, 0).to_zoned(tz.clone()).ok()?.timestamp();
        Some((s, e))
    };
    let mut out = Vec::new();
    let Some(first) = night(day) else { return out };
    out.push(first);
    let mut busiest = first;
    let mut most = m.runs_between(first.0, first.1).len();
    for i in 1..7 {
        if let Some(n) = day.checked_add(i.days()).ok().and_then(night) {
            let c = m.runs_between(n.0, n.1).len();
            if c > most {
                most = c;
                busiest = n;
            }
        }
    }
    if busiest != first {
        out.push(busiest);
    }
    out
}

fn bar(run: &PlannedRun<'_>, night: (Timestamp, Timestamp)) -> String {
    // 8 hours in 15-minute cells
    let cells = i64::from(BAR_CELLS);
    let slot = |t: Timestamp| -> i64 { t.duration_since(night.0).as_secs() / 900 };
    let (a, b) = (
        slot(run.start).clamp(0, cells),
        slot(run.end).clamp(0, cells),
    );
    let b = b.max(a + 1).min(cells);
    (0..cells)
        .map(|i| {
            if i >= a && i < b {
                '█'
            } else if i % 4 == 0 {
                '┆'
            } else {
                '·'
            }
        })
        .collect()
}

/// The timeline's bar: 8 hours in 15-minute cells.
const BAR_CELLS: u16 = 32;

fn new_table() -> Table {
    examples::cli::table()
}

fn header_row(t: &mut Table, cols: &[&str]) {
    t.set_header(
        cols.iter()
            .map(|c| Cell::new(c).add_attribute(Attribute::Bold))
            .collect::<Vec<_>>(),
    );
}

fn tool_color(tool: Tool) -> Color {
    match tool {
        Tool::Velero => Color::Cyan,
        Tool::Restic => Color::Green,
        Tool::Pbs => Color::Magenta,
        _ => Color::Reset,
    }
}

fn sev_cell(s: Severity) -> Cell {
    let c = Cell::new(s.to_string());
    match s {
        Severity::Error => c.fg(Color::Red).add_attribute(Attribute::Bold),
        Severity::Warning => c.fg(Color::Yellow),
        _ => c.fg(Color::Blue),
    }
}

/// Runs `backup-audit plan`: exit 0, or 2 with the reason when it cannot plan.
pub fn run(args: &PlanArgs) -> Result<ExitCode> {
    Ok(examples::cli::exit_with_code(
        "backup-audit plan",
        args.common.verbose,
        || plan(args),
    ))
}

fn plan(args: &PlanArgs) -> Result<ExitCode> {
    let m = load(args)?;
    let now = args.common.now();
    let tz = m.tz();
    let observed = observed(args)?;
    let rows = rows(&m, now);
    let findings = lint_with(&m, now, &observed);
    let nights = nights(&m, now);
    let rpos = rpo(&m, now);
    let overlaps = bucket_overlaps(&m, now);
    if args.common.json {
        let plan = Plan {
            m: &m,
            now,
            rows: &rows,
            findings: &findings,
            nights: &nights,
            observed: &observed,
            rpos: &rpos,
            overlaps: &overlaps,
        };
        let text = serde_json::to_string_pretty(&to_json(&plan))?;
        return emit(&(text + "\n"));
    }
    let tty = examples::cli::color_stdout();
    let mut out = String::new();
    let bold = |s: &str| {
        if tty {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let nowz: Zoned = now.to_zoned(tz.clone());
    writeln!(
        out,
        "{} — times in {} — planned from {}\n",
        bold(m.title.as_deref().unwrap_or("Backup matrix")),
        m.timezone,
        nowz.strftime("%a %Y-%m-%d %H:%M %Z")
    )?;

    // 1. the matrix
    writeln!(
        out,
        "{}",
        bold("Matrix: what is backed up, when, and how long it is kept")
    )?;
    let mut t = new_table();
    header_row(
        &mut t,
        &[
            "Target",
            "System",
            "Tool",
            "Schedule",
            "When",
            "Retention",
            "Storage",
            "Next run",
            "Keeps",
            "Reaches back",
        ],
    );
    for r in &rows {
        let tg = r.target;
        let sys = match tg.id {
            Some(id) => format!("{} ({} {id})", tg.system(), tg.kind),
            None => format!("{} ({})", tg.system(), tg.kind),
        };
        let storage = match (tg.storage_name(), &tg.bucket) {
            (Some(s), Some(b)) => format!("{s}/{b}"),
            (Some(s), None) => s.to_string(),
            _ => "-".into(),
        };
        let mut name = Cell::new(&tg.name);
        if tg.critical {
            name = name.add_attribute(Attribute::Bold);
        }
        let (sname, when, ret) = match r.schedule {
            Some(s) => (
                s.name.clone(),
                s.expr().to_string(),
                s.retention.to_string(),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        let (next, keeps, back) = if !tg.enabled {
            (
                Cell::new("disabled (see findings)").fg(Color::Red),
                Cell::new("-"),
                Cell::new("-"),
            )
        } else {
            (
                Cell::new(
                    r.next
                        .first()
                        .map_or("never".into(), |n| local(*n, &tz, "%a %d %b %H:%M")),
                ),
                Cell::new(r.keeps.map_or("?".into(), |k| k.0.to_string())),
                Cell::new(
                    r.keeps
                        .map_or("?".into(), |k| examples::cli::human_age(k.1)),
                ),
            )
        };
        t.add_row(vec![
            name,
            Cell::new(sys),
            Cell::new(tg.tool.to_string()).fg(tool_color(tg.tool)),
            Cell::new(sname),
            Cell::new(when),
            Cell::new(ret),
            Cell::new(storage),
            next,
            keeps,
            back,
        ]);
    }
    writeln!(out, "{t}")?;
    let clocks = clock_notes(&rows, &tz);
    if !clocks.is_empty() {
        writeln!(
            out,
            "  Times above are {}; these schedules run on another clock:",
            m.timezone
        )?;
        for n in &clocks {
            out.push_str(&wrap(n, usize::from(examples::cli::width()), "  "));
        }
    }
    writeln!(out)?;

    // 2. the night(s)
    for (i, night) in nights.iter().enumerate() {
        let runs = planned_runs(&m, night.0, night.1, &observed);
        let title = if i == 0 {
            "Tonight"
        } else {
            "Busiest night this week"
        };
        writeln!(
            out,
            "{}",
            bold(&format!(
                "{title}: {} 00:00–08:00, {} runs (█ = expected run time, ┆ = hour)",
                local(night.0, &tz, "%a %d %b"),
                runs.len()
            ))
        )?;
        let mut by_dev: BTreeMap<String, Vec<&PlannedRun<'_>>> = BTreeMap::new();
        for r in &runs {
            let dev = r.device.unwrap_or("(no storage)").to_string();
            by_dev.entry(dev).or_default().push(r);
        }
        let mut t = new_table();
        header_row(
            &mut t,
            &[
                "Device",
                "Start",
                "End",
                "Job",
                "Tool",
                "Storage",
                "Duration",
                "00  01  02  03  04  05  06  07  ",
            ],
        );
        // the bar is a picture: never wrapped
        if let Some(c) = t.column_mut(7) {
            c.set_constraint(ColumnConstraint::Absolute(Width::Fixed(BAR_CELLS + 2)));
        }
        for (dev, rs) in &by_dev {
            for (j, r) in rs.iter().enumerate() {
                t.add_row(vec![
                    Cell::new(if j == 0 { dev.as_str() } else { "" })
                        .add_attribute(Attribute::Bold),
                    Cell::new(local(r.start, &tz, "%H:%M")),
                    Cell::new(local(r.end, &tz, "%H:%M")),
                    Cell::new(format!("{}/{}", r.target.name, r.schedule.name)),
                    Cell::new(r.target.tool.to_string()).fg(tool_color(r.target.tool)),
                    Cell::new(r.target.storage_name().unwrap_or("-")),
                    duration_cell(r),
                    Cell::new(bar(r, *night)).fg(tool_color(r.target.tool)),
                ]);
            }
        }
        if runs.is_empty() {
            writeln!(out, "  nothing scheduled\n")?;
        } else {
            writeln!(out, "{t}")?;
            if runs.iter().any(|r| r.source.is_assumption()) {
                out.push_str(&wrap(
                    "durations marked \"assumed\" are tool defaults and \"configured\" the matrix's estimate, not measurements (pass --observed)",
                    usize::from(examples::cli::width()),
                    "  ",
                ));
            }
            writeln!(out)?;
        }
    }

    // RPO
    writeln!(
        out,
        "{}",
        bold("Recovery point: worst-case data loss per system (enabled schedules only)")
    )?;
    let mut t = new_table();
    header_row(
        &mut t,
        &[
            "System",
            "Worst case",
            "Worst after",
            "Backed up by",
            "Disabled",
        ],
    );
    for r in &rpos {
        t.add_row(vec![
            Cell::new(&r.system),
            match r.window {
                Some(w) => Cell::new(examples::cli::human_age(w)),
                None => Cell::new("never backed up").fg(Color::Red),
            },
            Cell::new(
                r.worst_after
                    .map_or("-".into(), |a| local(a, &tz, "%a %H:%M")),
            ),
            Cell::new(r.schedules.join(", ")),
            match r.disabled.is_empty() {
                true => Cell::new(""),
                false => Cell::new(r.disabled.join(", ")).fg(Color::Red),
            },
        ]);
    }
    writeln!(out, "{t}")?;
    for o in &overlaps {
        out.push_str(&wrap(
            &format!("note: {}", o.message),
            usize::from(examples::cli::width()),
            "  ",
        ));
    }
    writeln!(out)?;

    // 3. lints
    writeln!(out, "{}", bold(&format!("Findings ({})", findings.len())))?;
    let mut t = new_table();
    header_row(&mut t, &["Severity", "Lint", "Finding"]);
    for f in &findings {
        t.add_row(vec![
            sev_cell(f.severity),
            Cell::new(f.kind.code()),
            Cell::new(&f.message),
        ]);
    }
    writeln!(out, "{t}\n")?;

    // 4. DR and exclusions
    writeln!(out, "{}", bold("Disaster recovery"))?;
    let mut t = new_table();
    header_row(
        &mut t,
        &[
            "Scenario",
            "Recovery",
            "RTO",
            "Relies on",
            "Protects",
            "Restores from",
            "Open",
        ],
    );
    for d in &m.dr {
        let tools: Vec<String> = d.tools.iter().map(ToString::to_string).collect();
        t.add_row(vec![
            Cell::new(&d.scenario),
            Cell::new(&d.method),
            Cell::new(d.rto.as_deref().unwrap_or("TBD")),
            Cell::new(tools.join(", ")),
            Cell::new(
                d.protects
                    .iter()
                    .map(|p| p.get_ref().as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            Cell::new(
                d.sources
                    .iter()
                    .map(|p| p.get_ref().as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            match &d.todo {
                Some(todo) => Cell::new(todo).fg(Color::Yellow),
                None => Cell::new(""),
            },
        ]);
    }
    writeln!(out, "{t}\n")?;
    if !m.exclusion.is_empty() {
        writeln!(out, "{}", bold("Deliberately not backed up"))?;
        let mut t = new_table();
        header_row(&mut t, &["What", "IDs", "Why"]);
        for e in &m.exclusion {
            let ids: Vec<String> = e.ids.iter().map(u32::to_string).collect();
            t.add_row(vec![
                Cell::new(&e.what),
                Cell::new(ids.join(", ")),
                Cell::new(&e.reason),
            ]);
        }
        writeln!(out, "{t}")?;
    }
    emit(&out)
}

/// Where a schedule's zone was set, for the clock notes.
fn origin_text(o: ZoneOrigin, tool: Tool) -> String {
    match o {
        ZoneOrigin::Expression => "named in the expression".into(),
        ZoneOrigin::Schedule => "the schedule's timezone".into(),
        ZoneOrigin::Target => "the target's timezone".into(),
        ZoneOrigin::Tool => "[zones]".into(),
        _ => format!("{tool}'s default"),
    }
}

/// One note per schedule whose tool runs it in a zone other than the display zone:
/// `velero-prod/daily runs in UTC ([zones]): 02:00 UTC = 03:00 BST`, with its next run shown on
/// both clocks so a summer/winter shift is visible.
fn clock_notes(rows: &[Row<'_>], display: &TimeZone) -> Vec<String> {
    let display_name = zone_name(display);
    let mut out = Vec::new();
    for r in rows {
        let Some(s) = r.schedule else { continue };
        if s.schedule().is_none() || s.zone_name() == display_name {
            continue;
        }
        let zone = s.zone();
        let mut note = format!(
            "{}/{} runs in {} ({})",
            r.target.name,
            s.name,
            s.zone_name(),
            origin_text(s.zone_origin(), r.target.tool)
        );
        if let Some(n) = r.next.first() {
            note.push_str(&format!(
                ": {} = {}",
                local(*n, &zone, "%H:%M %Z"),
                local(*n, display, "%H:%M %Z")
            ));
        }
        out.push(note);
    }
    out
}

/// Writes the report; a closed pipe (`| head`) is not an error.
fn emit(text: &str) -> Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// Everything the JSON report is made of.
struct Plan<'a> {
    m: &'a Matrix,
    now: Timestamp,
    rows: &'a [Row<'a>],
    findings: &'a [Finding],
    nights: &'a [(Timestamp, Timestamp)],
    observed: &'a Durations,
    rpos: &'a [Rpo],
    overlaps: &'a [BucketOverlap],
}

/// `60m assumed`, `45m observed`, `60m configured, queued in pve-weekly`.
fn duration_text(r: &PlannedRun<'_>) -> String {
    let mut t = format!(
        "{} {}",
        examples::cli::human_age(r.end.duration_since(r.start)),
        r.source
    );
    if r.start > r.scheduled
        && let Some(j) = r.job
    {
        t.push_str(&format!(", queued in {j}"));
    }
    t
}

fn duration_cell(r: &PlannedRun<'_>) -> Cell {
    let c = Cell::new(duration_text(r));
    match r.source {
        DurationSource::Observed => c,
        _ => c.fg(Color::Yellow),
    }
}

fn to_json(p: &Plan<'_>) -> Value {
    let m = p.m;
    let schedules: Vec<Value> = p
        .rows
        .iter()
        .map(|r| {
            json!({
                "target": r.target.name,
                "system": r.target.system(),
                "kind": r.target.kind,
                "id": r.target.id,
                "tool": r.target.tool,
                "enabled": r.target.enabled,
                "disabled_reason": r.target.disabled_reason,
                "critical": r.target.critical,
                "storage": r.target.storage_name(),
                "bucket": r.target.bucket,
                "schedule": r.schedule.map(|s| s.name.clone()),
                "expr": r.schedule.map(|s| s.expr().to_string()),
                "zone": r.schedule.map(|s| s.zone_name()),
                "retention": r.schedule.map(|s| s.retention.clone()),
                "next_runs": r.next.iter().map(Timestamp::to_string).collect::<Vec<_>>(),
                "keeps": r.keeps.map(|k| k.0),
                "reaches_back_seconds": r.keeps.map(|k| k.1.as_secs()),
            })
        })
        .collect();
    let timeline: Vec<Value> = p
        .nights
        .iter()
        .map(|n| {
            let runs: Vec<Value> = planned_runs(m, n.0, n.1, p.observed)
                .iter()
                .map(|r| {
                    json!({
                        "target": r.target.name,
                        "schedule": r.schedule.name,
                        "tool": r.target.tool,
                        "storage": r.target.storage_name(),
                        "device": r.device,
                        "scheduled": r.scheduled.to_string(),
                        "start": r.start.to_string(),
                        "end": r.end.to_string(),
                        "duration_source": r.source,
                        "job": r.job,
                    })
                })
                .collect();
            json!({"from": n.0.to_string(), "to": n.1.to_string(), "runs": runs})
        })
        .collect();
    let rpo: Vec<Value> = p
        .rpos
        .iter()
        .map(|r| {
            json!({
                "system": r.system,
                "worst_case_seconds": r.window.map(|w| w.as_secs()),
                "worst_after": r.worst_after.map(|a| a.to_string()),
                "schedules": r.schedules,
                "disabled": r.disabled,
            })
        })
        .collect();
    json!({
        "title": m.title,
        "timezone": m.timezone,
        "now": p.now.to_string(),
        "schedules": schedules,
        "nights": timeline,
        "findings": p.findings,
        "rpo": rpo,
        "bucket_overlaps": p.overlaps.iter().map(|o| json!({"subject": o.subject, "message": o.message})).collect::<Vec<_>>(),
        "dr": m.dr,
        "exclusions": m.exclusion,
    })
}
