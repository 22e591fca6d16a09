//! Backrest's retention model mapped onto the restic engine.
//!
//! Backrest stores a `RetentionPolicy` per plan (keep-last-n, time-bucketed counts, or keep-all)
//! and runs `restic forget --tag plan:<id>,created-by:<instance> --group-by '' <keep flags>` after
//! each backup; only non-zero counts become flags.
//!
//! ```
//! use backup_policy::backrest::BackrestRetention;
//!
//! let r = BackrestRetention::TimeBucketed { hourly: 0, daily: 14, weekly: 4, monthly: 0, yearly: 0, keep_last_n: 0 };
//! assert_eq!(r.forget_flags(), ["--keep-daily", "14", "--keep-weekly", "4"]);
//! assert_eq!(r.to_forget_policy().unwrap().daily, 14);
//! ```

use serde::{Deserialize, Serialize};

use crate::restic::{ForgetPolicy, GroupBy, TagList};

/// A Backrest plan's retention policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum BackrestRetention {
    /// `policyKeepLastN`.
    KeepLastN(i32),
    /// `policyTimeBucketed`.
    TimeBucketed {
        /// hourly.
        hourly: i32,
        /// daily.
        daily: i32,
        /// weekly.
        weekly: i32,
        /// monthly.
        monthly: i32,
        /// yearly.
        yearly: i32,
        /// keepLastN.
        keep_last_n: i32,
    },
    /// `policyKeepAll`: no forget at all.
    KeepAll,
}

impl BackrestRetention {
    /// The restic flags Backrest passes (non-zero counts only).
    pub fn forget_flags(&self) -> Vec<String> {
        let pairs: Vec<(&str, i32)> = match *self {
            BackrestRetention::KeepLastN(n) => vec![("--keep-last", n)],
            BackrestRetention::TimeBucketed {
                hourly,
                daily,
                weekly,
                monthly,
                yearly,
                keep_last_n,
            } => vec![
                ("--keep-last", keep_last_n),
                ("--keep-hourly", hourly),
                ("--keep-daily", daily),
                ("--keep-weekly", weekly),
                ("--keep-monthly", monthly),
                ("--keep-yearly", yearly),
            ],
            BackrestRetention::KeepAll => vec![],
        };
        pairs
            .into_iter()
            .filter(|(_, n)| *n != 0)
            .flat_map(|(f, n)| [f.to_string(), n.to_string()])
            .collect()
    }

    /// The equivalent restic policy; `None` for keep-all (Backrest runs no forget).
    pub fn to_forget_policy(&self) -> Option<ForgetPolicy> {
        match *self {
            BackrestRetention::KeepLastN(n) => Some(ForgetPolicy::default().keep_last(n)),
            BackrestRetention::TimeBucketed {
                hourly,
                daily,
                weekly,
                monthly,
                yearly,
                keep_last_n,
            } => Some(
                ForgetPolicy::default()
                    .keep_last(keep_last_n)
                    .keep_hourly(hourly)
                    .keep_daily(daily)
                    .keep_weekly(weekly)
                    .keep_monthly(monthly)
                    .keep_yearly(yearly),
            ),
            BackrestRetention::KeepAll => None,
        }
    }

    /// Backrest's per-plan forget: the tag filter and grouping it uses.
    pub fn plan_filter(plan_id: &str, instance: &str) -> (TagList, GroupBy) {
        (
            TagList(vec![
                format!("plan:{plan_id}"),
                format!("created-by:{instance}"),
            ]),
            GroupBy::none(),
        )
    }
}
