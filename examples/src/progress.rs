//! Progress bars for the runbook binaries: drawn on a terminal, silent otherwise.
//!
//! A bar is only drawn when both standard output and standard error are terminals, so output
//! piped into a file, `jq` or a CI log never contains bar characters or escape codes.
//!
//! ```
//! let bar = examples::progress::bytes_bar("backup", false);
//! bar.set_length(1024);
//! bar.set_position(512);
//! bar.finish();
//! assert!(bar.is_hidden());
//! ```

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The characters a bar fills with (full, partial, empty).
pub const BAR_CHARS: &str = "█▓░";

/// Whether bars should be drawn: stdout and stderr are both terminals.
pub fn is_interactive() -> bool {
    std::io::stdout().is_terminal() && std::io::stderr().is_terminal()
}

fn make(style: ProgressStyle, message: &str, draw: bool) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(0),
        if draw {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    bar.set_style(style);
    bar.set_message(message.to_owned());
    if draw {
        bar.enable_steady_tick(Duration::from_millis(200));
    }
    bar
}

/// A bar counting bytes (`12.3 MiB/40.0 MiB`); drawn only when `draw` is true.
pub fn bytes_bar(message: &str, draw: bool) -> ProgressBar {
    make(bytes_style(), message, draw)
}

/// A bar counting items (`42/100 items`); drawn only when `draw` is true.
pub fn items_bar(message: &str, draw: bool) -> ProgressBar {
    make(items_style(), message, draw)
}

/// A spinner for work of unknown size; drawn only when `draw` is true.
pub fn spinner(message: &str, draw: bool) -> ProgressBar {
    let bar = make(spinner_style(), message, draw);
    bar.set_length(0);
    bar
}

/// Style of [`bytes_bar`].
pub fn bytes_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{msg:12} [{elapsed_precise}] {bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars(BAR_CHARS)
}

/// Style of [`items_bar`].
pub fn items_style() -> ProgressStyle {
    ProgressStyle::with_template("{msg:12} [{elapsed_precise}] {bar:40} {pos}/{len} items")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars(BAR_CHARS)
}

/// Style of [`spinner`].
pub fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {msg} [{elapsed_precise}]")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

/// Converts a 0.0–1.0 fraction of `total` into a position, clamped to `0..=total`.
pub fn position(fraction: f64, total: u64) -> u64 {
    if !fraction.is_finite() || fraction <= 0.0 {
        return 0;
    }
    if fraction >= 1.0 {
        return total;
    }
    // Lossy by design: a progress position.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let p = (fraction * total as f64) as u64;
    p.min(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_bars_track_state_without_drawing() {
        let bar = bytes_bar("restore", false);
        assert!(bar.is_hidden());
        bar.set_length(10);
        bar.inc(4);
        assert_eq!(bar.position(), 4);
        let items = items_bar("items", false);
        assert!(items.is_hidden());
    }

    #[test]
    fn position_is_clamped() {
        assert_eq!(position(0.5, 200), 100);
        assert_eq!(position(1.7, 200), 200);
        assert_eq!(position(-1.0, 200), 0);
        assert_eq!(position(f64::NAN, 200), 0);
    }

    #[test]
    fn styles_use_the_bar_characters() {
        // The templates parse (a typo would fall back to indicatif's default silently).
        assert!(
            ProgressStyle::with_template(
                "{msg:12} [{elapsed_precise}] {bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})"
            )
            .is_ok()
        );
        assert!(ProgressStyle::with_template("{spinner} {msg} [{elapsed_precise}]").is_ok());
        assert_eq!(BAR_CHARS.chars().count(), 3);
    }
}
