//! PBS's prune selection (`compute_prune_info`), re-implemented from its documented behaviour.
//!
//! Options apply in the order last → hourly → daily → weekly → monthly → yearly, with periods in
//! the server's local time zone. A period already kept by an earlier option is skipped without
//! using up the later option's count; a `Remove` decided by an earlier pass is final; protected
//! snapshots are always kept and never use a slot; an unfinished snapshot survives only when it is
//! newer than every finished one.

use std::collections::HashSet;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::types::KeepOptions;

/// The decision for one snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PruneMark {
    /// Protected: always kept.
    Protected,
    /// Kept by an option.
    Keep,
    /// Unfinished but newer than every finished snapshot: kept.
    KeepPartial,
    /// Removed.
    Remove,
}

impl PruneMark {
    /// True unless the snapshot is removed.
    pub fn keep(self) -> bool {
        self != PruneMark::Remove
    }
}

/// One snapshot of a group, as the selection sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PruneItem {
    /// Backup time, epoch seconds.
    pub time: i64,
    /// Has a manifest (the backup completed).
    pub finished: bool,
    /// Protected from pruning.
    pub protected: bool,
}

impl PruneItem {
    /// A finished, unprotected snapshot.
    pub fn new(time: i64) -> Self {
        PruneItem {
            time,
            finished: true,
            protected: false,
        }
    }
}

#[derive(Clone, Copy)]
enum Period {
    Last,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

fn period_id(time: i64, period: Period, tz: &TimeZone) -> String {
    let Ok(ts) = Timestamp::from_second(time) else {
        // Out of jiff's range: every such snapshot is its own period.
        return format!("raw/{time}");
    };
    let z = ts.to_zoned(tz.clone());
    match period {
        Period::Last => format!("{time}"),
        Period::Hour => z.strftime("%Y/%m/%d/%H").to_string(),
        Period::Day => z.strftime("%Y/%m/%d").to_string(),
        Period::Week => {
            let w = z.date().iso_week_date();
            format!("{}/{:02}", w.year(), w.week())
        }
        Period::Month => z.strftime("%Y/%m").to_string(),
        Period::Year => z.strftime("%Y").to_string(),
    }
}

/// Computes PBS's prune marks; the result has the same order as `items`.
///
/// This is the raw selection (`Some(0)` keeps nothing for that option); the API keeps everything
/// when no option is positive, see [`KeepOptions::keeps_something`].
pub fn compute_prune_marks(
    items: &[PruneItem],
    keep: &KeepOptions,
    tz: &TimeZone,
) -> Vec<PruneMark> {
    // Indices sorted newest first (stable for equal times).
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| items[b].time.cmp(&items[a].time));
    let mut mark: Vec<Option<PruneMark>> = vec![None; items.len()];

    let mut keep_unfinished = true;
    for &i in &order {
        if items[i].finished {
            keep_unfinished = false;
        } else {
            mark[i] = Some(if keep_unfinished {
                PruneMark::KeepPartial
            } else {
                PruneMark::Remove
            });
            keep_unfinished = false;
        }
    }

    let passes = [
        (keep.keep_last, Period::Last),
        (keep.keep_hourly, Period::Hour),
        (keep.keep_daily, Period::Day),
        (keep.keep_weekly, Period::Week),
        (keep.keep_monthly, Period::Month),
        (keep.keep_yearly, Period::Year),
    ];
    for (count, period) in passes {
        let Some(count) = count else { continue };
        let already: HashSet<String> = order
            .iter()
            .filter(|&&i| mark[i] == Some(PruneMark::Keep))
            .map(|&i| period_id(items[i].time, period, tz))
            .collect();
        let mut included: HashSet<String> = HashSet::new();
        for &i in &order {
            if mark[i].is_some() {
                continue;
            }
            if items[i].protected {
                mark[i] = Some(PruneMark::Protected);
                continue;
            }
            let id = period_id(items[i].time, period, tz);
            if already.contains(&id) {
                continue;
            }
            if !included.contains(&id) {
                if included.len() as u64 >= count {
                    break;
                }
                included.insert(id);
                mark[i] = Some(PruneMark::Keep);
            } else {
                mark[i] = Some(PruneMark::Remove);
            }
        }
    }

    items
        .iter()
        .zip(mark)
        .map(|(item, m)| {
            if item.protected {
                PruneMark::Protected
            } else {
                m.unwrap_or(PruneMark::Remove)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> i64 {
        s.parse::<Timestamp>().unwrap().as_second()
    }

    fn run(times: &[&str], keep: KeepOptions) -> (Vec<String>, Vec<String>) {
        let items: Vec<PruneItem> = times.iter().map(|t| PruneItem::new(ts(t))).collect();
        let marks = compute_prune_marks(&items, &keep, &TimeZone::UTC);
        let mut kept = Vec::new();
        let mut removed = Vec::new();
        for (t, m) in times.iter().zip(marks) {
            if m.keep() {
                kept.push((*t).to_owned());
            } else {
                removed.push((*t).to_owned());
            }
        }
        (kept, removed)
    }

    const A: [&str; 4] = [
        "2019-12-02T11:59:15Z",
        "2019-12-03T11:59:15Z",
        "2019-12-04T11:59:15Z",
        "2019-12-04T12:59:15Z",
    ];

    #[test]
    fn upstream_keep_last() {
        let k = |n| KeepOptions::new().keep_last(n);
        assert!(run(&A, k(4)).1.is_empty());
        assert_eq!(run(&A, k(3)).1, [A[0]]);
        assert_eq!(run(&A, k(2)).1, [A[0], A[1]]);
        assert_eq!(run(&A, k(1)).1, [A[0], A[1], A[2]]);
        assert_eq!(run(&A, k(0)).1, A);
    }

    #[test]
    fn upstream_daily_and_coarser() {
        assert!(
            run(&A, KeepOptions::new().keep_last(2).keep_daily(2))
                .1
                .is_empty()
        );
        assert_eq!(run(&A, KeepOptions::new().keep_daily(3)).1, [A[2]]);
        assert_eq!(run(&A, KeepOptions::new().keep_daily(2)).1, [A[0], A[2]]);
        for k in [
            KeepOptions::new().keep_weekly(5),
            KeepOptions::new().keep_daily(1).keep_weekly(5),
            KeepOptions::new().keep_monthly(6),
            KeepOptions::new().keep_yearly(7),
            KeepOptions::new()
                .keep_weekly(5)
                .keep_monthly(6)
                .keep_yearly(7),
        ] {
            assert_eq!(run(&A, k.clone()).1, [A[0], A[1], A[2]], "{k:?}");
        }
    }

    #[test]
    fn upstream_hourly() {
        let t = [
            "2019-11-15T09:39:15Z",
            "2019-11-15T10:49:15Z",
            "2019-11-15T10:59:15Z",
            "2019-11-15T11:39:15Z",
            "2019-11-15T11:49:15Z",
            "2019-11-15T11:59:15Z",
        ];
        assert_eq!(
            run(&t, KeepOptions::new().keep_hourly(3)).1,
            [t[1], t[3], t[4]]
        );
        assert_eq!(run(&t, KeepOptions::new().keep_hourly(2)).0, [t[2], t[5]]);
    }

    #[test]
    fn upstream_mixed() {
        let t = [
            "2018-11-15T11:59:15Z",
            "2019-11-15T11:59:15Z",
            "2019-11-21T11:59:15Z",
            "2019-11-22T11:59:15Z",
            "2019-11-29T11:59:15Z",
            "2019-12-01T11:59:15Z",
            "2019-12-02T11:59:15Z",
            "2019-12-03T11:59:15Z",
            "2019-12-04T11:59:15Z",
        ];
        let k = KeepOptions::new;
        assert_eq!(run(&t, k().keep_daily(1)).0, [t[8]]);
        assert_eq!(run(&t, k().keep_last(1).keep_daily(1)).0, [t[7], t[8]]);
        assert_eq!(run(&t, k().keep_daily(1).keep_weekly(1)).0, [t[5], t[8]]);
        assert_eq!(
            run(&t, k().keep_daily(1).keep_weekly(1).keep_monthly(1)).0,
            [t[3], t[5], t[8]]
        );
        assert_eq!(run(&t, k().keep_monthly(1).keep_yearly(1)).0, [t[0], t[8]]);
    }

    #[test]
    fn upstream_protected() {
        let t = [
            "2019-11-15T09:39:15Z",
            "2019-11-15T10:39:15Z",
            "2019-11-15T10:49:15Z",
            "2019-11-15T10:59:15Z",
        ];
        let items: Vec<PruneItem> = t
            .iter()
            .enumerate()
            .map(|(i, s)| PruneItem {
                time: ts(s),
                finished: true,
                protected: i == 0 || i == 3,
            })
            .collect();
        for k in [
            KeepOptions::new().keep_last(1),
            KeepOptions::new().keep_hourly(1),
        ] {
            let marks = compute_prune_marks(&items, &k, &TimeZone::UTC);
            assert_eq!(
                marks,
                [
                    PruneMark::Protected,
                    PruneMark::Remove,
                    PruneMark::Keep,
                    PruneMark::Protected
                ]
            );
        }
    }

    #[test]
    fn derived_vector_w_keeps_13() {
        let start = ts("2024-01-01T02:00:00Z");
        let items: Vec<PruneItem> = (0..91).map(|d| PruneItem::new(start + d * 86400)).collect();
        let k = KeepOptions::new()
            .keep_daily(7)
            .keep_weekly(4)
            .keep_monthly(3);
        let marks = compute_prune_marks(&items, &k, &TimeZone::UTC);
        let kept: Vec<String> = items
            .iter()
            .zip(&marks)
            .filter(|(_, m)| m.keep())
            .map(|(i, _)| {
                Timestamp::from_second(i.time)
                    .unwrap()
                    .strftime("%m-%d")
                    .to_string()
            })
            .collect();
        assert_eq!(
            kept,
            [
                "01-31", "02-25", "03-03", "03-10", "03-17", "03-24", "03-25", "03-26", "03-27",
                "03-28", "03-29", "03-30", "03-31"
            ]
        );
    }

    #[test]
    fn unfinished_only_newest_survives() {
        let items = [
            PruneItem {
                time: 100,
                finished: false,
                protected: false,
            },
            PruneItem {
                time: 50,
                finished: true,
                protected: false,
            },
            PruneItem {
                time: 10,
                finished: false,
                protected: false,
            },
        ];
        let marks = compute_prune_marks(&items, &KeepOptions::new().keep_last(5), &TimeZone::UTC);
        assert_eq!(
            marks,
            [PruneMark::KeepPartial, PruneMark::Keep, PruneMark::Remove]
        );
    }

    #[test]
    fn local_time_zone_changes_days() {
        // 23:30 and 00:30 UTC are the same day in New York (UTC-5 in winter).
        let items = [
            PruneItem::new(ts("2024-01-10T23:30:00Z")),
            PruneItem::new(ts("2024-01-11T00:30:00Z")),
        ];
        let k = KeepOptions::new().keep_daily(5);
        let utc = compute_prune_marks(&items, &k, &TimeZone::UTC);
        assert_eq!(utc, [PruneMark::Keep, PruneMark::Keep]);
        let ny = TimeZone::get("America/New_York")
            .unwrap_or_else(|_| TimeZone::fixed(jiff::tz::offset(-5)));
        assert_eq!(
            compute_prune_marks(&items, &k, &ny),
            [PruneMark::Remove, PruneMark::Keep]
        );
    }

    proptest::proptest! {
        #[test]
        fn invariants(times in proptest::collection::vec(-10_000_000_000i64..10_000_000_000, 0..40),
                      last in proptest::option::of(0u64..5), daily in proptest::option::of(0u64..5),
                      weekly in proptest::option::of(0u64..5), prot in proptest::collection::vec(proptest::bool::ANY, 40)) {
            let items: Vec<PruneItem> = times.iter().enumerate().map(|(i, &t)| PruneItem { time: t, finished: true, protected: prot[i] }).collect();
            let k = KeepOptions { keep_last: last, keep_daily: daily, keep_weekly: weekly, ..Default::default() };
            let marks = compute_prune_marks(&items, &k, &TimeZone::UTC);
            proptest::prop_assert_eq!(marks.len(), items.len());
            let kept_by_option = marks.iter().filter(|m| **m == PruneMark::Keep).count() as u64;
            let budget = last.unwrap_or(0) + daily.unwrap_or(0) + weekly.unwrap_or(0);
            proptest::prop_assert!(kept_by_option <= budget);
            for (i, m) in items.iter().zip(&marks) {
                if i.protected { proptest::prop_assert_eq!(*m, PruneMark::Protected); }
            }
        }
    }
}
