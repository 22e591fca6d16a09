//! Go's `time.ParseDuration`, which Velero (`spec.ttl`, a `metav1.Duration`) and robfig/cron
//! (`@every <duration>`) use.
//!
//! Grammar (golang/go `src/time/format.go`, `ParseDuration`): an optional sign, then one or more
//! `<number><unit>` pairs, where a number is decimal digits with an optional fraction (`1.5`,
//! `.5`, `5.`) and a unit is one of `ns`, `us`, `µs` (U+00B5), `μs` (U+03BC), `ms`, `s`, `m`, `h`.
//! A lone `0` (or `+0`/`-0`) needs no unit. There are **no days**: `7d` is an error. The value
//! must fit in Go's `int64` nanoseconds (about ±292 years). Fractions are scaled through a
//! `float64` exactly as Go does, so `0.3333333333333333333h` is 20m.
//!
//! ```
//! use backup_policy::duration::parse_go_duration;
//! use jiff::SignedDuration;
//!
//! assert_eq!(parse_go_duration("1.5h")?, SignedDuration::from_mins(90));
//! assert_eq!(parse_go_duration("720h0m0s")?, SignedDuration::from_hours(720));
//! assert_eq!(parse_go_duration("500ms")?, SignedDuration::from_millis(500));
//! assert!(parse_go_duration("7d").is_err());
//! # Ok::<(), backup_policy::Error>(())
//! ```

use jiff::SignedDuration;

use crate::error::{Error, Result};

const NANOS_PER_SEC: i128 = 1_000_000_000;
const LIMIT: u64 = 1 << 63;

fn invalid(orig: &str) -> Error {
    Error::Policy(format!("time: invalid duration {orig:?}"))
}

/// Consumes leading decimal digits; `None` on overflow past 2^63 (Go's `leadingInt`).
fn leading_int(s: &[u8]) -> Option<(u64, usize)> {
    let mut x: u64 = 0;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        if x > LIMIT / 10 {
            return None;
        }
        x = x * 10 + u64::from(s[i] - b'0');
        if x > LIMIT {
            return None;
        }
        i += 1;
    }
    Some((x, i))
}

/// Consumes leading fraction digits; digits past the precision limit are dropped, not an error
/// (Go's `leadingFraction`). Returns (value, scale, consumed).
fn leading_fraction(s: &[u8]) -> (u64, f64, usize) {
    let mut x: u64 = 0;
    let mut scale = 1.0f64;
    let mut overflow = false;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        i += 1;
        if overflow {
            continue;
        }
        if x > (LIMIT - 1) / 10 {
            overflow = true;
            continue;
        }
        let y = x * 10 + u64::from(s[i - 1] - b'0');
        if y > LIMIT {
            overflow = true;
            continue;
        }
        x = y;
        scale *= 10.0;
    }
    (x, scale, i)
}

fn unit_nanos(u: &str) -> Option<u64> {
    Some(match u {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

/// Parses a duration exactly as Go's `time.ParseDuration` does.
///
/// # Errors
/// [`Error::Policy`] with Go's message (`time: invalid duration "7d"`, `time: missing unit…`,
/// `time: unknown unit…`) when Go would reject the text.
pub fn parse_go_duration(text: &str) -> Result<SignedDuration> {
    let orig = text;
    let mut s = text.as_bytes();
    let mut neg = false;
    if let Some(&c) = s.first()
        && (c == b'-' || c == b'+')
    {
        neg = c == b'-';
        s = &s[1..];
    }
    if s == b"0" {
        return Ok(SignedDuration::ZERO);
    }
    if s.is_empty() {
        return Err(invalid(orig));
    }
    let mut d: u64 = 0;
    while !s.is_empty() {
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(invalid(orig));
        }
        let (v, n) = leading_int(s).ok_or_else(|| invalid(orig))?;
        let pre = n > 0;
        s = &s[n..];
        let (mut f, mut scale, mut post) = (0u64, 1.0f64, false);
        if s.first() == Some(&b'.') {
            s = &s[1..];
            let (ff, sc, m) = leading_fraction(s);
            (f, scale, post) = (ff, sc, m > 0);
            s = &s[m..];
        }
        if !pre && !post {
            return Err(invalid(orig));
        }
        let i = s
            .iter()
            .position(|&c| c == b'.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if i == 0 {
            return Err(Error::Policy(format!(
                "time: missing unit in duration {orig:?}"
            )));
        }
        let u = std::str::from_utf8(&s[..i]).unwrap_or("\u{fffd}");
        s = &s[i..];
        let unit = unit_nanos(u).ok_or_else(|| {
            Error::Policy(format!("time: unknown unit {u:?} in duration {orig:?}"))
        })?;
        if v > LIMIT / unit {
            return Err(invalid(orig));
        }
        let mut v = v * unit;
        if f > 0 {
            // float64 arithmetic on purpose: Go scales the fraction this way.
            #[allow(
                clippy::cast_precision_loss,
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss
            )]
            let add = (f as f64 * (unit as f64 / scale)) as u64;
            v = v.checked_add(add).ok_or_else(|| invalid(orig))?;
            if v > LIMIT {
                return Err(invalid(orig));
            }
        }
        d = d.checked_add(v).ok_or_else(|| invalid(orig))?;
        if d > LIMIT {
            return Err(invalid(orig));
        }
    }
    let nanos: i128 = if neg {
        -i128::from(d)
    } else {
        if d > LIMIT - 1 {
            return Err(invalid(orig));
        }
        i128::from(d)
    };
    let secs = i64::try_from(nanos.div_euclid(NANOS_PER_SEC)).map_err(|_| invalid(orig))?;
    let sub = i32::try_from(nanos.rem_euclid(NANOS_PER_SEC)).map_err(|_| invalid(orig))?;
    Ok(SignedDuration::new(secs, 0) + SignedDuration::new(0, sub))
}

/// The matrix's own durations for `grace`, `duration` and `rto` (`2h`, `90m`, `7d`, `1h30m`):
/// whole numbers of `d`, `h`, `m`, `s`. Not a Go duration (days are allowed).
///
/// # Errors
/// [`Error::Policy`] when the text is not such a duration.
pub fn parse_span(s: &str) -> Result<SignedDuration> {
    let bad = || {
        Error::policy(format!(
            "invalid duration {s:?} (use e.g. 2h, 90m, 1h30m, 7d)"
        ))
    };
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    if rest == "0" {
        return Ok(SignedDuration::ZERO);
    }
    let mut total: i64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: i64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let mult = match &rest[..unit_len] {
            "d" => 86_400,
            "h" => 3_600,
            "m" => 60,
            "s" => 1,
            _ => return Err(bad()),
        };
        total = n
            .checked_mul(mult)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        rest = rest[unit_len..].trim_start();
    }
    Ok(SignedDuration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Deserialize)]
    struct Vectors {
        ok: Vec<Ok>,
        error: Vec<String>,
    }

    #[derive(Deserialize)]
    struct Ok {
        #[serde(rename = "in")]
        input: String,
        nanos: String,
    }

    #[test]
    fn go_time_test_vectors() {
        let v: Vectors =
            toml::from_str(include_str!("../tests/vectors/go_parse_duration.toml")).unwrap();
        assert_eq!(v.ok.len(), 42);
        for c in &v.ok {
            let want: i128 = c.nanos.parse().unwrap();
            let got = parse_go_duration(&c.input)
                .unwrap_or_else(|e| panic!("{:?}: {e}", c.input))
                .as_nanos();
            assert_eq!(got, want, "{:?}", c.input);
        }
        for input in &v.error {
            let e = parse_go_duration(input).expect_err(input).to_string();
            assert!(e.contains(&format!("{input:?}")), "{input:?}: {e}");
        }
    }

    #[test]
    fn messages_name_the_problem() {
        let e = parse_go_duration("7d").unwrap_err().to_string();
        assert!(e.contains("unknown unit \"d\" in duration \"7d\""), "{e}");
        let e = parse_go_duration("3").unwrap_err().to_string();
        assert!(e.contains("missing unit in duration \"3\""), "{e}");
    }
}
