//! Shared building blocks: Go durations, phase enums, label selectors, hooks, references.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use k8s_openapi::api::core::v1::{
    ObjectReference, SecretKeySelector, TypedLocalObjectReference,
};
pub use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};

/// A Go `time.Duration` as Velero stores it (`metav1.Duration`, e.g. `"720h0m0s"`).
///
/// The text is kept verbatim so it round-trips; [`GoDuration::to_std`] parses it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct GoDuration(String);

impl GoDuration {
    /// Wraps a Go duration string after checking that it parses.
    pub fn parse(text: impl Into<String>) -> crate::Result<Self> {
        let text = text.into();
        parse_go_duration(&text)?;
        Ok(Self(text))
    }

    /// Formats a std duration the way Go's `Duration.String()` does (`720h0m0s`, `1m30s`, `500ms`).
    pub fn from_std(d: Duration) -> Self {
        Self(format_go_duration(d))
    }

    /// The duration as sent by the server.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses the text into a std duration. Negative durations are an error.
    pub fn to_std(&self) -> crate::Result<Duration> {
        parse_go_duration(&self.0)
    }
}

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Duration> for GoDuration {
    fn from(d: Duration) -> Self {
        Self::from_std(d)
    }
}

impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Keep whatever the server sent; parsing errors surface on `to_std`.
        Ok(Self(String::deserialize(d)?))
    }
}

/// Parses Go's `time.ParseDuration` syntax (`1h30m`, `1.5s`, `300ms`, `0`), non-negative only.
pub fn parse_go_duration(text: &str) -> crate::Result<Duration> {
    let bad = || crate::Error::InvalidDuration {
        input: text.to_owned(),
    };
    let s = text.strip_prefix('+').unwrap_or(text);
    if let Some(neg) = s.strip_prefix('-') {
        // Only "-0" is accepted: negative durations make no sense for Velero's timeouts.
        if !neg.is_empty() && neg.chars().all(|c| c == '0') {
            return Ok(Duration::ZERO);
        }
        return Err(bad());
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(bad());
    }
    let mut rest = s;
    let mut total_nanos: u128 = 0;
    while !rest.is_empty() {
        let int_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (int_part, after) = rest.split_at(int_end);
        let (frac_part, after) = if let Some(a) = after.strip_prefix('.') {
            let e = a.find(|c: char| !c.is_ascii_digit()).unwrap_or(a.len());
            a.split_at(e)
        } else {
            ("", after)
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(bad());
        }
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_end);
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60 * 1_000_000_000,
            "h" => 3600 * 1_000_000_000,
            _ => return Err(bad()),
        };
        let int: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| bad())?
        };
        total_nanos = total_nanos
            .checked_add(int.checked_mul(unit_nanos).ok_or_else(bad)?)
            .ok_or_else(bad)?;
        if !frac_part.is_empty() {
            let digits = frac_part.len().min(18) as u32;
            let frac: u128 = frac_part[..digits as usize].parse().map_err(|_| bad())?;
            total_nanos += frac * unit_nanos / 10u128.pow(digits);
        }
        rest = after;
    }
    let secs = u64::try_from(total_nanos / 1_000_000_000).map_err(|_| bad())?;
    Ok(Duration::new(secs, (total_nanos % 1_000_000_000) as u32))
}

/// Formats like Go's `time.Duration.String()`.
pub fn format_go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}µs", trim_frac(nanos, 1_000));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", trim_frac(nanos, 1_000_000));
    }
    let secs_total = d.as_secs();
    let h = secs_total / 3600;
    let m = (secs_total % 3600) / 60;
    let s_nanos = u128::from(secs_total % 60) * 1_000_000_000 + u128::from(d.subsec_nanos());
    let s = trim_frac(s_nanos, 1_000_000_000);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

fn trim_frac(value: u128, unit: u128) -> String {
    let int = value / unit;
    let frac = value % unit;
    if frac == 0 {
        return int.to_string();
    }
    let width = unit.ilog10() as usize;
    let frac = format!("{frac:0width$}");
    format!("{int}.{}", frac.trim_end_matches('0'))
}

macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $name:ident, empty = $empty:ident, { $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this crate does not know yet (Velero adds values between releases).
            Unknown(String),
        }

        impl $name {
            /// The value as Velero spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $text, )+
                    Self::Unknown(s) => s,
                }
            }

            /// Parses Velero's spelling; unknown values become `Unknown`.
            pub fn from_text(text: &str) -> Self {
                match text {
                    "" => Self::$empty,
                    $( $text => Self::$variant, )+
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::$empty
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self::from_text(s))
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok(Self::from_text(&s))
            }
        }
    };
}
pub(crate) use string_enum;

/// A hook's error mode (`onError`).
pub type HookErrorMode = String;

/// Exec hook run in a container (`pre`/`post` backup hooks).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ExecHook {
    /// Container to run in (defaults to the pod's first container).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Command and arguments.
    #[serde(default)]
    pub command: Vec<String>,
    /// `Continue` or `Fail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_error: Option<HookErrorMode>,
    /// How long to wait for the command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<GoDuration>,
}

/// Counts of hooks run for a backup or restore.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct HookStatus {
    /// Hooks attempted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks_attempted: Option<i64>,
    /// Hooks that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks_failed: Option<i64>,
}

/// Velero's label keys and helpers.
pub mod labels {
    use sha2::{Digest, Sha256};

    /// Set on Backups created from a Schedule.
    pub const SCHEDULE_NAME: &str = "velero.io/schedule-name";
    /// Set by the server on Backups: the storage location.
    pub const STORAGE_LOCATION: &str = "velero.io/storage-location";
    /// On DeleteBackupRequests, PodVolumeBackups, DataUploads.
    pub const BACKUP_NAME: &str = "velero.io/backup-name";
    /// On DeleteBackupRequests, PodVolumeBackups.
    pub const BACKUP_UID: &str = "velero.io/backup-uid";
    /// On PodVolumeRestores and DataDownloads.
    pub const RESTORE_NAME: &str = "velero.io/restore-name";
    /// On PodVolumeRestores and DataDownloads.
    pub const RESTORE_UID: &str = "velero.io/restore-uid";

    /// Velero's `label.GetValidName`: values longer than 63 characters become the first 57
    /// characters plus the first 6 hex digits of their SHA-256.
    pub fn valid_label_value(value: &str) -> String {
        if value.len() <= 63 {
            return value.to_owned();
        }
        let digest = hex::encode(Sha256::digest(value.as_bytes()));
        let mut cut = 57;
        while !value.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}{}", &value[..cut], &digest[..6])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse() {
        assert_eq!(
            parse_go_duration("720h0m0s").unwrap(),
            Duration::from_secs(720 * 3600)
        );
        assert_eq!(
            parse_go_duration("1h30m").unwrap(),
            Duration::from_secs(5400)
        );
        assert_eq!(
            parse_go_duration("1.5s").unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(
            parse_go_duration("300ms").unwrap(),
            Duration::from_millis(300)
        );
        assert_eq!(
            parse_go_duration("2592000s").unwrap(),
            Duration::from_secs(2_592_000)
        );
        assert_eq!(parse_go_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_go_duration("").is_err());
        assert!(parse_go_duration("10").is_err());
        assert!(parse_go_duration("5d").is_err());
        assert!(parse_go_duration("-1h").is_err());
    }

    #[test]
    fn go_durations_format_like_go() {
        assert_eq!(
            format_go_duration(Duration::from_secs(720 * 3600)),
            "720h0m0s"
        );
        assert_eq!(format_go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_go_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(format_go_duration(Duration::ZERO), "0s");
        assert_eq!(format_go_duration(Duration::from_secs(4 * 3600)), "4h0m0s");
    }

    proptest::proptest! {
        #[test]
        fn go_duration_round_trips(ms in 0u64..10_000_000_000) {
            let d = Duration::from_millis(ms);
            let text = format_go_duration(d);
            proptest::prop_assert_eq!(parse_go_duration(&text).unwrap(), d);
        }
    }

    #[test]
    fn long_label_values_are_shortened_like_velero() {
        let short = "daily-20261127020000";
        assert_eq!(labels::valid_label_value(short), short);
        let long = "a".repeat(70);
        let v = labels::valid_label_value(&long);
        assert_eq!(v.len(), 63);
        assert!(v.starts_with(&"a".repeat(57)));
    }

    string_enum!(
        /// test enum
        Colour, empty = Red, { Red => "Red", Blue => "Blue" }
    );

    #[test]
    fn string_enums_keep_unknown_values() {
        let c: Colour = serde_json::from_str("\"Green\"").unwrap();
        assert_eq!(c, Colour::Unknown("Green".into()));
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"Green\"");
        let empty: Colour = serde_json::from_str("\"\"").unwrap();
        assert_eq!(empty, Colour::Red);
    }
}
