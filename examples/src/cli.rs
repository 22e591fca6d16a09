//! What every runbook binary does around its own work: the shared arguments, crypto provider,
//! logging, colour, tables, the matrix, the runtime, and exit codes.
//!
//! Exit codes are shared: 0 everything ok, 1 the check the binary performs failed (a late row,
//! a failed verification, a disagreement), 2 the binary could not do its job (bad config,
//! unreachable system, bad arguments — clap's usage errors exit 2 too).
//!
//! Every binary flattens [`CommonArgs`] (`--config`, `--json`, `-v`, `--now`) and starts through
//! [`exit_with`]/[`exit_with_code`], which call [`init`]: `RUST_LOG` (when set) chooses what is
//! logged, `NO_COLOR` (when set and not empty, <https://no-color.org>) turns colour off
//! everywhere, and colour is only ever written to a terminal.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use backup_policy::matrix::Matrix;
use comfy_table::{ContentArrangement, Table, presets};
use jiff::Timestamp;

use crate::clients;
use crate::config::Config;

/// The arguments every runbook binary takes (`#[command(flatten)]`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CommonArgs {
    /// Runbook config: where each system lives and where credentials come from
    /// (see examples/config/homelab.toml).
    #[arg(long, env = "BACKUP_AUDIT_CONFIG", value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// Log more on stderr: -v info, -vv debug (`RUST_LOG`, when set, decides instead).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Evaluate as of this instant, RFC 3339 (`2026-11-27T12:00:00Z`); default: the clock.
    #[arg(long, value_name = "RFC3339", value_parser = parse_now, global = true)]
    pub now: Option<Timestamp>,
}

impl CommonArgs {
    /// `--now`, else the clock.
    pub fn now(&self) -> Timestamp {
        self.now.unwrap_or_else(Timestamp::now)
    }

    /// The `--config` path.
    ///
    /// # Errors
    /// When neither `--config` nor `BACKUP_AUDIT_CONFIG` names one.
    pub fn config_path(&self) -> Result<&Path> {
        self.config.as_deref().ok_or_else(|| {
            anyhow!("no runbook config: pass --config FILE or set BACKUP_AUDIT_CONFIG")
        })
    }

    /// The runbook config `--config` names.
    ///
    /// # Errors
    /// No `--config`, or the file cannot be read or parsed.
    pub fn load_config(&self) -> Result<Config> {
        Config::load(self.config_path()?)
    }
}

/// The one parser of `--now` for every binary: an RFC 3339 instant with its offset
/// (`2026-11-27T12:00:00Z`, `2026-07-01T03:00:00+01:00`).
///
/// # Errors
/// A message naming the expected form.
pub fn parse_now(s: &str) -> std::result::Result<Timestamp, String> {
    s.trim()
        .parse::<Timestamp>()
        .map_err(|e| format!("{s:?} is not an RFC 3339 instant such as 2026-11-27T12:00:00Z ({e})"))
}

/// Whether `NO_COLOR` asks for no colour (set and not empty, as <https://no-color.org> says).
pub fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Whether to colour stdout: a terminal, and no `NO_COLOR`.
pub fn color_stdout() -> bool {
    std::io::stdout().is_terminal() && !no_color()
}

/// Whether to colour stderr (logs): a terminal, and no `NO_COLOR`.
pub fn color_stderr() -> bool {
    std::io::stderr().is_terminal() && !no_color()
}

/// The width tables are laid out in when stdout is not a terminal.
pub const PIPE_WIDTH: u16 = 100;

/// The width output is laid out in: `COLUMNS` when set (the shell's convention, e.g.
/// `COLUMNS=200 backup-audit plan | less -S`), else the terminal's when stdout is one, else
/// [`PIPE_WIDTH`].
pub fn width() -> u16 {
    if let Some(c) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<u16>().ok())
        .filter(|c| *c >= 20)
    {
        return c;
    }
    if std::io::stdout().is_terminal() {
        Table::new().width().unwrap_or(PIPE_WIDTH)
    } else {
        PIPE_WIDTH
    }
}

/// A table as every binary prints them: wrapped to [`width`] (a terminal's full width, 100
/// columns on a pipe); coloured only when [`color_stdout`].
pub fn table() -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED);
    let width = width();
    if !color_stdout() {
        t.force_no_tty();
    }
    t.set_width(width)
        .set_content_arrangement(ContentArrangement::Dynamic);
    t
}

/// `text` as lines of at most `width` columns (words longer than that stay whole), each
/// starting with `indent`; continuation lines get two more spaces.
pub fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut line = indent.to_owned();
    let mut empty = true;
    for word in text.split_whitespace() {
        let fits = line.chars().count() + 1 + word.chars().count() <= width;
        if !empty && !fits {
            out.push_str(line.trim_end());
            out.push('\n');
            line = format!("{indent}  ");
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(line.trim_end());
    out.push('\n');
    out
}

/// The one start-up of every binary: the crypto provider and a stderr logger. `RUST_LOG`, when
/// set, chooses what is logged; else WARN, INFO with one `-v`, DEBUG with more. Log lines carry
/// colour only on a terminal without `NO_COLOR`.
pub fn init(verbose: u8) {
    clients::install_crypto_provider();
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .and_then(|v| tracing_subscriber::EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(color_stderr())
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs a binary's body after [`init`], then maps `Ok(true)` to 0, `Ok(false)` to 1 and errors to
/// 2 with the error chain printed after `name:`.
pub fn exit_with(name: &str, verbose: u8, body: impl FnOnce() -> Result<bool>) -> ExitCode {
    exit_with_code(name, verbose, || {
        body().map(|ok| {
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        })
    })
}

/// Like [`exit_with`], for bodies that choose their own exit code (e.g. a child's).
pub fn exit_with_code(
    name: &str,
    verbose: u8,
    body: impl FnOnce() -> Result<ExitCode>,
) -> ExitCode {
    init(verbose);
    match body() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{name}: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The matrix: `override_path`, else the config's `matrix`, else the embedded seed matrix.
pub fn load_matrix(config: &Config, override_path: Option<&Path>) -> Result<Matrix> {
    matrix_file(override_path.or(config.matrix.as_deref()))
}

/// The matrix in `path`, or the embedded seed matrix.
pub fn matrix_file(path: Option<&Path>) -> Result<Matrix> {
    match path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading matrix {}", path.display()))?;
            Ok(Matrix::from_toml(&text, &path.display().to_string())?)
        }
        None => Ok(Matrix::homelab()?),
    }
}

/// A multi-threaded tokio runtime.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// A byte count in binary units (`512 B`, `68.4 KiB`, `3.0 GiB`), as every runbook prints sizes.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// A duration as every runbook prints it (jiff's friendly printer, compact units): whole units
/// from days (of 24 hours) down to `smallest`, truncated, zero as `0` of `smallest`: `3d 4h 5m`,
/// `1h 30m`, `15m`, `0ms`. A negative duration (a clock ahead of the server's) prints as zero.
pub fn human_duration(d: jiff::SignedDuration, smallest: jiff::Unit) -> String {
    use jiff::{RoundMode, SignedDuration, Span, SpanRound, Unit};
    let d = d.max(SignedDuration::ZERO);
    let printer = jiff::fmt::friendly::SpanPrinter::new().zero_unit(smallest);
    let rounding = SpanRound::new()
        .largest(Unit::Day)
        .smallest(smallest)
        .mode(RoundMode::Trunc)
        .days_are_24_hours();
    match Span::try_from(d).and_then(|span| span.round(rounding)) {
        Ok(span) => printer.span_to_string(&span),
        // Beyond a span's range (centuries): hours are still right.
        Err(_) => printer.duration_to_string(&d),
    }
}

/// An age or a gap to a glance: the two largest units ([`human_duration`] down to the unit
/// below the largest): `3d 4h`, `4h 5m`, `5m 3s`, `42s`.
pub fn human_age(d: jiff::SignedDuration) -> String {
    use jiff::Unit;
    let secs = d.as_secs();
    let smallest = match secs {
        86_400.. => Unit::Hour,
        3_600.. => Unit::Minute,
        _ => Unit::Second,
    };
    human_duration(d, smallest)
}

/// A measured wall time, to a tenth of a second: `0.4s`, `2.5s`, `1m 3.2s`.
pub fn human_elapsed(d: std::time::Duration) -> String {
    use jiff::fmt::friendly::{FractionalUnit, SpanPrinter};
    let d = jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::MAX);
    // Truncate to tenths first: the printer's precision alone would round 59.96s up to "60.0s".
    let tenths = jiff::SignedDuration::from_millis(d.as_millis() as i64 / 100 * 100);
    SpanPrinter::new()
        .fractional(Some(FractionalUnit::Second))
        .precision(Some(1))
        .duration_to_string(&tenths)
}

/// [`human_bytes`], or `-` when the size is unknown.
pub fn bytes_or_dash(n: Option<u64>) -> String {
    n.map_or_else(|| "-".to_owned(), human_bytes)
}

#[cfg(test)]
mod tests {
    use super::{bytes_or_dash, human_age, human_bytes, human_duration, human_elapsed, parse_now};
    use jiff::{SignedDuration, Unit};
    use std::time::Duration;

    #[test]
    fn durations_are_human() {
        let secs = SignedDuration::from_secs;
        assert_eq!(human_duration(secs(900), Unit::Millisecond), "15m");
        assert_eq!(human_duration(secs(3600), Unit::Millisecond), "1h");
        assert_eq!(human_duration(secs(90), Unit::Millisecond), "1m 30s");
        assert_eq!(
            human_duration(SignedDuration::ZERO, Unit::Millisecond),
            "0ms"
        );
        assert_eq!(human_duration(secs(93_784), Unit::Minute), "1d 2h 3m");
        assert_eq!(
            human_duration(secs(59), Unit::Minute),
            "0m",
            "truncated, not rounded"
        );
        assert_eq!(human_duration(secs(-60), Unit::Minute), "0m");
        assert_eq!(human_duration(secs(400 * 86_400), Unit::Day), "400d");
        // Far beyond a span's range: still a duration, never a panic.
        assert!(human_duration(SignedDuration::MAX, Unit::Second).ends_with('s'));
        assert_eq!(human_age(secs(3 * 86_400 + 4 * 3600 + 59)), "3d 4h");
        assert_eq!(human_age(secs(4 * 3600 + 5 * 60 + 7)), "4h 5m");
        assert_eq!(human_age(secs(303)), "5m 3s");
        assert_eq!(human_age(secs(42)), "42s");
        assert_eq!(human_elapsed(Duration::from_millis(2_549)), "2.5s");
        assert_eq!(human_elapsed(Duration::from_millis(59_960)), "59.9s");
        assert_eq!(human_elapsed(Duration::from_millis(63_250)), "1m 3.2s");
        assert_eq!(human_elapsed(Duration::ZERO), "0.0s");
    }

    #[test]
    fn sizes_are_human() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(70_000), "68.4 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
        assert_eq!(human_bytes(1 << 50), "1.0 PiB");
        assert_eq!(bytes_or_dash(None), "-");
    }

    #[test]
    fn wrap_keeps_lines_within_the_width() {
        let w = super::wrap("aaa bbb ccc ddd", 10, "  ");
        assert_eq!(w, "  aaa bbb\n    ccc\n    ddd\n");
        assert!(w.lines().all(|l| l.chars().count() <= 10));
    }

    #[test]
    fn now_is_rfc3339_with_an_offset() {
        assert_eq!(
            parse_now("2026-07-01T03:00:00+01:00").unwrap().to_string(),
            "2026-07-01T02:00:00Z"
        );
        for bad in ["yesterday", "2026-11-27", "2026-11-27T12:00:00", ""] {
            let e = parse_now(bad).unwrap_err();
            assert!(e.contains("RFC 3339"), "{bad}: {e}");
        }
    }
}
