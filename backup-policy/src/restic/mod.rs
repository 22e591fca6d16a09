//! restic's `forget` policy, bit-exact with restic's `ApplyPolicy`.
//!
//! Two semantics are selectable with [`Semantics`]:
//!
//! * [`Semantics::Current`] (restic ≥ 0.18): `unlimited` counts (`-1`) and the keep-oldest rule
//!   (both since 0.16), refusal of an empty policy and of deleting a group's last snapshot (0.17),
//!   `oldest …` reasons (0.18). restic 0.16 and 0.17 are between the two modes: 0.16 has
//!   neither refusal and still prints `counters`, and neither prints the `oldest ` prefix.
//! * [`Semantics::Restic014`] (restic 0.14 and 0.15, Debian 12): none of the above; reasons
//!   carry counters.
//!
//! Both refuse an empty policy and negative counts (restic 0.14 would silently delete everything).
//!
//! Bucket keys are taken on the snapshot's wall clock in **its own recorded UTC offset**; weeks are
//! ISO 8601 year-weeks; `keep-within*` uses Go's `AddDate` normalisation (March 31 minus one month
//! is March 3), measured back from the newest non-future snapshot of the group.
//!
//! ```
//! use backup_policy::restic::{ForgetOptions, ForgetPolicy, Snapshot, SnapshotTime};
//!
//! let snaps: Vec<Snapshot> = (1..=10)
//!     .map(|d| Snapshot::new(format!("s{d}"), SnapshotTime::parse(&format!("2026-11-{d:02}T02:00:00+01:00")).unwrap()))
//!     .collect();
//! let policy = ForgetPolicy::default().keep_daily(3).keep_weekly(2);
//! let now = "2026-11-27T00:00:00Z".parse()?;
//! let plan = policy.apply(&snaps, &ForgetOptions::new(now))?;
//! let kept: Vec<&str> = plan.keep.iter().map(|&i| snaps[i].id.as_str()).collect();
//! assert_eq!(kept, ["s10", "s9", "s8"]); // Nov 8 (Sunday) opens a new ISO week but daily already holds 10, 9 and 8
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::str::FromStr;

use jiff::civil::{self, DateTime};
use jiff::tz::{Offset, TimeZone};
use jiff::{Span, Timestamp};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

mod apply;
mod duration;
mod group;
mod policy;
mod snapshot;
#[cfg(test)]
mod tests;

pub(crate) use apply::apply_all;
use apply::apply_entries;
pub use duration::ResticDuration;
use group::group_entries;
pub use group::{GroupBy, GroupKey, GroupPlan, group_snapshots};
pub use policy::{
    Bucket, Counters, ForgetOptions, ForgetPlan, ForgetPolicy, KeepMatch, KeepReason,
};
pub use snapshot::{Snapshot, SnapshotFilter, SnapshotTime, TagList};

/// Which restic release's `forget` behaviour to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[non_exhaustive]
pub enum Semantics {
    /// restic ≥ 0.18. Not exactly 0.16 or 0.17: 0.16 lacks 0.17's refusals and prints
    /// `counters`; both lack 0.18's `oldest ` reason prefix. Their keep/remove sets match this
    /// mode whenever no refusal applies.
    #[default]
    Current,
    /// restic 0.14 and 0.15 (Debian 12 ships 0.14.0).
    Restic014,
}

impl FromStr for Semantics {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "current" | "latest" | "0.18" | "0.19" => Ok(Semantics::Current),
            "0.14" | "0.15" => Ok(Semantics::Restic014),
            other => Err(Error::policy(format!(
                "unknown restic compatibility {other:?} (use 0.14 or current)"
            ))),
        }
    }
}

/// The count meaning "unlimited" (`--keep-daily unlimited`, restic ≥ 0.16).
pub const UNLIMITED: i32 = -1;

/// `restic forget --dry-run`: groups, validates and applies the policy to every group.
///
/// # Errors
/// As [`ForgetPolicy::apply`]; under [`Semantics::Current`] the whole call fails with
/// [`Error::WouldRemoveAll`] if any group would lose every snapshot (as restic ≥ 0.17 does).
pub fn forget(
    snapshots: &[Snapshot],
    by: GroupBy,
    policy: &ForgetPolicy,
    opts: &ForgetOptions,
) -> Result<Vec<GroupPlan>> {
    policy.validate(opts.semantics)?;
    if !opts.filter.is_empty() {
        return forget_filtered(snapshots, by, policy, opts);
    }
    let mut out = Vec::new();
    for (key, members) in group_entries(snapshots, by) {
        let n = members.len();
        let plan = apply_entries(policy, snapshots, members, opts);
        if opts.semantics == Semantics::Current && plan.keep.is_empty() && n > 0 {
            return Err(Error::WouldRemoveAll {
                group: key.to_json(),
            });
        }
        out.push(GroupPlan { key, plan });
    }
    Ok(out)
}

/// [`forget`] on the snapshots that pass `opts.filter` (out of line: the unfiltered path stays
/// the benchmarked one); indices are mapped back to the caller's slice.
#[cold]
fn forget_filtered(
    snapshots: &[Snapshot],
    by: GroupBy,
    policy: &ForgetPolicy,
    opts: &ForgetOptions,
) -> Result<Vec<GroupPlan>> {
    let (index, subset): (Vec<usize>, Vec<Snapshot>) = snapshots
        .iter()
        .enumerate()
        .filter(|(_, s)| opts.filter.matches(s))
        .map(|(i, s)| (i, s.clone()))
        .unzip();
    let inner = opts.clone().with_filter(SnapshotFilter::default());
    let mut groups = forget(&subset, by, policy, &inner)?;
    for g in &mut groups {
        for i in g.plan.keep.iter_mut().chain(g.plan.remove.iter_mut()) {
            *i = index[*i];
        }
        for r in &mut g.plan.reasons {
            r.index = index[r.index];
        }
    }
    Ok(groups)
}
