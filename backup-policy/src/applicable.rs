//! Load-time check that each schedule's retention uses only fields its tool can express, with
//! the offending field's position:
//!
//! * Velero keeps each backup for its `ttl` (Velero `Schedule.spec.template.ttl`): no `keep_*`.
//! * PBS prune has `keep-last`…`keep-yearly`, counts ≥ 0 (proxmox-backup `PruneJobOptions`): no
//!   `keep_within`, no `ttl`, no `-1`.
//! * restic targets run as Backrest plans, whose `RetentionPolicy` is keep-last-n or
//!   time-bucketed counts (garethgeorge/backrest `proto/v1/config.proto`): no `keep_within`, no
//!   `ttl`, and no `-1` (Backrest passes counts through as flags, and restic ≥ 0.16 refuses a
//!   negative `--keep-*`).

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use crate::matrix::{Matrix, Tool};

#[derive(Deserialize)]
struct RawDoc {
    #[serde(default)]
    target: Vec<RawTarget>,
}

#[derive(Deserialize)]
struct RawTarget {
    #[serde(default)]
    schedule: Vec<RawSchedule>,
}

#[derive(Deserialize)]
struct RawSchedule {
    #[serde(default)]
    retention: BTreeMap<String, Spanned<toml::Value>>,
}

const COUNTS: [&str; 6] = [
    "keep_last",
    "keep_hourly",
    "keep_daily",
    "keep_weekly",
    "keep_monthly",
    "keep_yearly",
];

/// Why `field` (with `value`) cannot be used by `tool`, if it cannot.
fn refusal(tool: Tool, field: &str, value: &toml::Value) -> Option<String> {
    let negative = value.as_integer().is_some_and(|n| n < 0);
    match tool {
        Tool::Velero if field != "ttl" => Some(format!(
            "`{field}` does not apply to Velero: a Velero backup is kept for its `ttl`"
        )),
        Tool::Pbs if field == "ttl" || field == "keep_within" => Some(format!(
            "`{field}` does not apply to PBS: prune knows keep_last…keep_yearly only"
        )),
        Tool::Pbs if COUNTS.contains(&field) && negative => {
            Some(format!("`{field} = {value}`: PBS keep counts must be ≥ 0"))
        }
        Tool::Restic if field == "ttl" || field == "keep_within" => Some(format!(
            "`{field}` cannot be expressed in a Backrest plan (its retention is keep-last-n or time-bucketed counts)"
        )),
        Tool::Restic if COUNTS.contains(&field) && negative => Some(format!(
            "`{field} = {value}`: Backrest cannot express unlimited (restic ≥ 0.16 refuses negative counts); use a large count"
        )),
        _ => None,
    }
}

/// The first inapplicable retention field of `m` (parsed from `src`), with its span.
pub(crate) fn check(src: &str, m: &Matrix) -> Result<(), (Range<usize>, String)> {
    let Ok(raw) = toml::from_str::<RawDoc>(src) else {
        return Ok(()); // the typed parse already succeeded; nothing more to locate
    };
    for (t, rt) in m.target.iter().zip(&raw.target) {
        for (s, rs) in t.schedule.iter().zip(&rt.schedule) {
            let mut fields: Vec<(&String, &Spanned<toml::Value>)> = rs.retention.iter().collect();
            fields.sort_by_key(|(_, v)| v.span().start);
            for (field, value) in fields {
                if let Some(why) = refusal(t.tool, field, value.get_ref()) {
                    return Err((value.span(), format!("{}/{}: {why}", t.name, s.name)));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(tool: &str, retention: &str) -> crate::Result<Matrix> {
        let sched = if tool == "pbs" {
            "calendar = \"sun 02:00\""
        } else {
            "cron = \"0 2 * * *\""
        };
        let src = format!(
            "timezone = \"UTC\"\n[[target]]\nname = \"t\"\nkind = \"vm\"\ntool = \"{tool}\"\n\
             [[target.schedule]]\nname = \"s\"\n{sched}\nretention = {retention}\n"
        );
        Matrix::from_toml(&src, "m.toml")
    }

    #[test]
    fn inapplicable_fields_are_refused_with_position() {
        for (tool, ret, field) in [
            (
                "pbs",
                "{ keep_weekly = 4, keep_within = \"7d\" }",
                "keep_within",
            ),
            ("pbs", "{ keep_daily = -1 }", "keep_daily"),
            ("pbs", "{ ttl = \"7d\", keep_last = 2 }", "ttl"),
            ("velero", "{ ttl = \"168h\", keep_daily = 7 }", "keep_daily"),
            (
                "restic",
                "{ keep_daily = 7, keep_within = \"30d\" }",
                "keep_within",
            ),
            (
                "restic",
                "{ keep_daily = 7, keep_monthly = -1 }",
                "keep_monthly",
            ),
            ("restic", "{ ttl = \"7d\", keep_daily = 1 }", "ttl"),
        ] {
            let e = load(tool, ret).expect_err(ret);
            let (line, col) = e
                .line_column()
                .unwrap_or_else(|| panic!("{tool} {ret}: {e}"));
            assert_eq!(line, 9, "{e}");
            let at = ret.find(&format!("{field} = ")).unwrap() + field.len() + 3;
            assert_eq!(col, "retention = ".len() + at + 1, "{tool} {ret}: {e}");
            assert!(e.to_string().starts_with("m.toml:9:"), "{e}");
            assert!(e.to_string().contains(field), "{e}");
        }
        for (tool, ret) in [
            ("pbs", "{ keep_last = 3, keep_weekly = 4 }"),
            ("velero", "{ ttl = \"720h0m0s\" }"),
            ("restic", "{ keep_daily = 14, keep_weekly = 4 }"),
        ] {
            load(tool, ret).unwrap_or_else(|e| panic!("{tool} {ret}: {e}"));
        }
    }
}
