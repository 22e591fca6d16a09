//! Recovery point objective per system: the worst-case data-loss window given the enabled
//! schedules of every enabled target protecting it, and where restic's buckets overlap so the
//! retention reaches back less far than its counts suggest.
//!
//! ```
//! use backup_policy::matrix::Matrix;
//! use backup_policy::rpo::{rpo, bucket_overlaps};
//!
//! let m = Matrix::homelab()?;
//! let now = "2026-11-27T12:00:00Z".parse()?;
//! let unifi = rpo(&m, now).into_iter().find(|r| r.system == "unifi-vm").unwrap();
//! assert_eq!(unifi.window.map(|w| w.as_hours()), Some(7 * 24)); // its daily is disabled
//! assert_eq!(unifi.disabled, ["unifi-daily"]);
//! let notes = bucket_overlaps(&m, now);
//! assert!(notes.iter().any(|n| n.message.contains("14 daily + 4 weekly") && n.message.contains("not 6 weeks")));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::matrix::{Matrix, Tool};

/// The RPO of one system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Rpo {
    /// The protected system.
    pub system: String,
    /// Longest time between two consecutive backups of it (any tool); `None` = never backed up.
    pub window: Option<SignedDuration>,
    /// When the longest gap starts (the backup before it).
    pub worst_after: Option<Timestamp>,
    /// The enabled `target/schedule`s that back it up.
    pub schedules: Vec<String>,
    /// Its disabled targets.
    pub disabled: Vec<String>,
}

/// Look-ahead for finding gaps: five weeks catches every weekly pattern and DST change nearby.
const HORIZON: SignedDuration = SignedDuration::from_hours(35 * 24);

/// Per system (in matrix order), the worst-case data-loss window over the five weeks after
/// `now`: the longest gap between consecutive runs of all its enabled schedules. A system with
/// one run in that span gets that schedule's longest interval.
pub fn rpo(m: &Matrix, now: Timestamp) -> Vec<Rpo> {
    let tz = m.tz();
    let end = now.saturating_add(HORIZON).unwrap_or(now);
    let mut order: Vec<&str> = Vec::new();
    let mut by: BTreeMap<&str, Rpo> = BTreeMap::new();
    let mut fires: BTreeMap<&str, Vec<Timestamp>> = BTreeMap::new();
    let mut longest: BTreeMap<&str, SignedDuration> = BTreeMap::new();
    for t in &m.target {
        let sys = t.system();
        let e = by.entry(sys).or_insert_with(|| {
            order.push(sys);
            Rpo {
                system: sys.to_string(),
                window: None,
                worst_after: None,
                schedules: Vec::new(),
                disabled: Vec::new(),
            }
        });
        if !t.enabled {
            e.disabled.push(t.name.clone());
            continue;
        }
        for s in &t.schedule {
            let Some(sched) = s.schedule() else { continue };
            e.schedules.push(format!("{}/{}", t.name, s.name));
            let f = fires.entry(sys).or_default();
            let mut cur = now;
            while let Some(n) = sched.next_after(cur, &tz) {
                if n > end || f.len() > 100_000 {
                    break;
                }
                f.push(n);
                cur = n;
            }
            if let Some(i) = sched.max_interval(now, &tz) {
                let l = longest.entry(sys).or_insert(i);
                *l = (*l).min(i);
            }
        }
    }
    for (sys, mut f) in fires {
        f.sort();
        f.dedup();
        let Some(e) = by.get_mut(sys) else { continue };
        let worst = f
            .windows(2)
            .map(|w| (w[1].duration_since(w[0]), w[0]))
            .max_by_key(|(d, _)| *d);
        match worst {
            Some((d, at)) => {
                e.window = Some(d);
                e.worst_after = Some(at);
            }
            None => e.window = longest.get(sys).copied(),
        }
    }
    order.into_iter().filter_map(|s| by.remove(s)).collect()
}

/// A restic retention whose buckets overlap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct BucketOverlap {
    /// `target/schedule`.
    pub subject: String,
    /// What the counts suggest (sum of the bucket lengths).
    pub naive: SignedDuration,
    /// How far back the retention really reaches in steady state.
    pub reach: SignedDuration,
    /// `14 daily + 4 weekly reaches back 19 days, not 6 weeks`.
    pub message: String,
}

fn days_or_weeks(d: SignedDuration) -> String {
    let days = d.as_secs() / 86_400;
    if days >= 14 && days % 7 == 0 {
        format!("{} weeks", days / 7)
    } else if days >= 1 {
        format!("{days} days")
    } else {
        format!("{} hours", d.as_secs() / 3600)
    }
}

/// restic schedules whose buckets overlap: restic fills every bucket from the newest snapshot
/// down, so a weekly bucket's first weeks are the same days the daily bucket holds, and the
/// retention reaches back less far than adding up the counts suggests.
pub fn bucket_overlaps(m: &Matrix, now: Timestamp) -> Vec<BucketOverlap> {
    let tz = m.tz();
    let mut out = Vec::new();
    for t in m
        .target
        .iter()
        .filter(|t| t.enabled && t.tool == Tool::Restic)
    {
        for s in &t.schedule {
            let r = &s.retention;
            let parts: Vec<(i32, &str, i64)> = [
                (r.keep_hourly, "hourly", 3600),
                (r.keep_daily, "daily", 86_400),
                (r.keep_weekly, "weekly", 7 * 86_400),
                (r.keep_monthly, "monthly", 30 * 86_400),
                (r.keep_yearly, "yearly", 365 * 86_400),
            ]
            .into_iter()
            .filter_map(|(v, n, secs)| v.filter(|v| *v > 0).map(|v| (v, n, secs)))
            .collect();
            if parts.len() < 2 {
                continue;
            }
            let naive =
                SignedDuration::from_secs(parts.iter().map(|(v, _, s)| i64::from(*v) * s).sum());
            let Ok(reach) = crate::reach::reach(s, t.tool, &tz, now) else {
                continue;
            };
            if reach.span + SignedDuration::from_hours(7 * 24) > naive {
                continue;
            }
            let counts: Vec<String> = parts.iter().map(|(v, n, _)| format!("{v} {n}")).collect();
            out.push(BucketOverlap {
                subject: format!("{}/{}", t.name, s.name),
                naive,
                reach: reach.span,
                message: format!(
                    "{}/{}: {} reaches back {}, not {} — the buckets overlap (restic fills each from the newest snapshot)",
                    t.name,
                    s.name,
                    counts.join(" + "),
                    days_or_weeks(reach.span),
                    days_or_weeks(naive)
                ),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_rpo_per_system() {
        let m = Matrix::homelab().unwrap();
        let r = rpo(&m, "2026-11-27T12:00:00Z".parse().unwrap());
        let get = |s: &str| r.iter().find(|x| x.system == s).unwrap();
        // restic daily at 03:00 plus PBS weekly: the daily decides
        assert_eq!(get("iac-lxc").window, Some(SignedDuration::from_hours(24)));
        assert_eq!(
            get("unifi-vm").window,
            Some(SignedDuration::from_hours(168))
        );
        assert_eq!(get("truenas").window, Some(SignedDuration::from_hours(168)));
        // Velero daily 02:00 and weekly Sunday 03:00: still 24 h at worst
        assert_eq!(get("prod-k8s").window, Some(SignedDuration::from_hours(24)));
        assert_eq!(
            get("iac-lxc").schedules,
            ["iac-daily/daily", "pbs-iac/weekly"]
        );
    }

    #[test]
    fn disabled_only_system_has_no_window() {
        let src = "timezone = \"UTC\"\n[[target]]\nname = \"a\"\nkind = \"vm\"\ntool = \"pbs\"\nenabled = false\n";
        let m = Matrix::from_toml(src, "t.toml").unwrap();
        let r = rpo(&m, "2026-11-27T12:00:00Z".parse().unwrap());
        assert_eq!(r[0].window, None);
        assert_eq!(r[0].disabled, ["a"]);
    }

    #[test]
    fn irregular_schedule_worst_gap() {
        // Mon and Thu at 01:00: gaps of 3 and 4 days; the worst is 4 days, after Thursday
        let src = "timezone = \"UTC\"\n[[target]]\nname = \"a\"\nkind = \"vm\"\ntool = \"pbs\"\n\
                   [[target.schedule]]\nname = \"s\"\ncalendar = \"mon,thu 01:00\"\nretention = { keep_last = 9 }\n";
        let m = Matrix::from_toml(src, "t.toml").unwrap();
        let r = rpo(&m, "2026-11-27T12:00:00Z".parse().unwrap());
        assert_eq!(r[0].window, Some(SignedDuration::from_hours(96)));
        assert_eq!(
            r[0].worst_after
                .unwrap()
                .to_zoned(jiff::tz::TimeZone::UTC)
                .weekday(),
            jiff::civil::Weekday::Thursday
        );
    }
}
