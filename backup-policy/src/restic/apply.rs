//! The retention engine: calendar buckets on each snapshot's own offset, applied per group.

use super::*;

/// Wall-clock fields in the snapshot's own offset, computed without a calendar library (the
/// engine's hot path; cross-checked against jiff in tests).
#[derive(Debug, Clone, Copy)]
pub(super) struct Civil {
    pub(super) days: i64,
    pub(super) y: i64,
    pub(super) m: i64,
    pub(super) d: i64,
    pub(super) h: i64,
}

/// Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Howard Hinnant's `days_from_civil`.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = y - i64::from(m <= 2);
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl Civil {
    #[cfg(test)]
    pub(super) fn of(t: &SnapshotTime) -> Civil {
        let mut secs = t.ts.as_second();
        if t.ts.subsec_nanosecond() < 0 {
            secs -= 1;
        }
        Civil::from_local_seconds(secs + i64::from(t.offset.seconds()))
    }

    pub(super) fn from_local_seconds(local: i64) -> Civil {
        let days = local.div_euclid(86_400);
        let h = local.rem_euclid(86_400) / 3600;
        let (y, m, d) = civil_from_days(days);
        Civil { days, y, m, d, h }
    }

    /// ISO 8601 (year, week), as Go's `ISOWeek`.
    pub(super) fn iso_week(&self) -> (i64, i64) {
        let wd = (self.days + 3).rem_euclid(7); // Monday = 0
        let thursday = self.days - wd + 3;
        let (ty, _, _) = civil_from_days(thursday);
        (ty, (thursday - days_from_civil(ty, 1, 1)) / 7 + 1)
    }
}

/// One snapshot in the engine's sorted order, in 16 bytes: grouping writes one per snapshot and
/// the per-group sorts move them, so their size is most of the engine's memory traffic.
#[derive(Debug, Clone, Copy)]
pub(super) struct Entry {
    /// `-seconds << OFF_BITS | (offset + OFF_BIAS)`: jiff's seconds need 40 bits with sign and
    /// its offsets (within ±26 h) 18, so both fit one `i64`; `>> OFF_BITS` gives `-seconds`.
    pub(super) neg_s_off: i64,
    pub(super) neg_ns: i32,
    /// Index into the input; within a group, entries are in increasing `idx` order.
    pub(super) idx: u32,
}

const OFF_BITS: u32 = 18;
const OFF_BIAS: i32 = 1 << (OFF_BITS - 1);

/// A timestamp as an ordered `(seconds, nanoseconds)` pair (jiff keeps both with one sign).
pub(super) fn key_of(t: Timestamp) -> (i64, i32) {
    (t.as_second(), t.subsec_nanosecond())
}

impl Entry {
    #[inline(always)]
    pub(super) fn new(t: &SnapshotTime, idx: usize) -> Entry {
        Entry::from_parts(
            -t.ts.as_second(),
            -t.ts.subsec_nanosecond(),
            t.offset.seconds(),
            idx as u32,
        )
    }

    #[inline(always)]
    pub(super) fn from_parts(neg_s: i64, neg_ns: i32, off: i32, idx: u32) -> Entry {
        Entry {
            neg_s_off: neg_s << OFF_BITS | i64::from(off + OFF_BIAS),
            neg_ns,
            idx,
        }
    }

    #[inline(always)]
    pub(super) fn neg_s(&self) -> i64 {
        self.neg_s_off >> OFF_BITS
    }

    #[inline(always)]
    pub(super) fn off(&self) -> i32 {
        (self.neg_s_off & ((1 << OFF_BITS) - 1)) as i32 - OFF_BIAS
    }

    pub(super) fn time_key(&self) -> (i64, i32) {
        (-self.neg_s(), -self.neg_ns)
    }

    /// Whole seconds of the wall clock in the recorded offset (floored like jiff's civil time).
    pub(super) fn local_seconds(&self) -> i64 {
        let mut secs = -self.neg_s();
        if self.neg_ns > 0 {
            secs -= 1;
        }
        secs + i64::from(self.off())
    }
}

/// Hour/day/week/month/year bucket keys (kinds 1 to 5 of [`bucket_key`]) as a function of local
/// seconds, remembering for each kind the local-seconds range its last key covers: within a
/// group most snapshots fall in an already computed year or month, so the calendar arithmetic
/// runs once per bucket rather than once per snapshot.
#[derive(Debug)]
pub(super) struct BucketCache {
    pub(super) lo: [i64; 6],
    pub(super) hi: [i64; 6],
    pub(super) val: [i64; 6],
}

impl BucketCache {
    pub(super) fn new() -> Self {
        BucketCache {
            lo: [i64::MAX; 6],
            hi: [i64::MIN; 6],
            val: [0; 6],
        }
    }

    #[inline]
    pub(super) fn key(&mut self, k: usize, local: i64) -> i64 {
        if self.lo[k] <= local && local < self.hi[k] {
            return self.val[k];
        }
        self.fill(k, local)
    }

    #[cold]
    pub(super) fn fill(&mut self, k: usize, local: i64) -> i64 {
        let c = Civil::from_local_seconds(local);
        let day = |d: i64| d * 86_400;
        let (lo, hi) = match k {
            1 => {
                let lo = day(c.days) + c.h * 3600;
                (lo, lo + 3600)
            }
            2 => (day(c.days), day(c.days + 1)),
            3 => {
                let monday = c.days - (c.days + 3).rem_euclid(7);
                (day(monday), day(monday + 7))
            }
            4 => {
                let (ny, nm) = if c.m == 12 {
                    (c.y + 1, 1)
                } else {
                    (c.y, c.m + 1)
                };
                (
                    day(days_from_civil(c.y, c.m, 1)),
                    day(days_from_civil(ny, nm, 1)),
                )
            }
            _ => (
                day(days_from_civil(c.y, 1, 1)),
                day(days_from_civil(c.y + 1, 1, 1)),
            ),
        };
        let v = bucket_key(k, &c, 0);
        self.lo[k] = lo;
        self.hi[k] = hi;
        self.val[k] = v;
        v
    }
}

/// Sorts a group's entries (given in increasing `idx` order) by (time descending, `idx`): the
/// order of a stable sort by time. When the group has whole seconds only and its span and
/// positions fit, the sort runs on packed `u64` keys (time, position in `order`) that preserve
/// exactly that order; otherwise on the entries with the full `(seconds, nanoseconds, idx)` key.
pub(super) fn sort_entries(mut order: Vec<Entry>) -> Vec<Entry> {
    let n = order.len();
    if n < 2 {
        return order;
    }
    let pos_bits = usize::BITS - (n - 1).leading_zeros();
    let (mut min_s, mut max_s, mut any_ns) = (i64::MAX, i64::MIN, false);
    for e in &order {
        min_s = min_s.min(e.neg_s());
        max_s = max_s.max(e.neg_s());
        any_ns |= e.neg_ns != 0;
    }
    let span_bits = u64::BITS - (max_s.wrapping_sub(min_s) as u64).leading_zeros();
    if any_ns || span_bits + pos_bits > 64 {
        order.sort_unstable_by_key(|e| (e.neg_s(), e.neg_ns, e.idx));
        return order;
    }
    let pos_mask = (1u64 << pos_bits) - 1;
    let key =
        |pos: usize, e: &Entry| (e.neg_s().wrapping_sub(min_s) as u64) << pos_bits | pos as u64;
    if n <= 1 << 14 {
        // small enough for the gather below to stay in cache: sort bare keys
        let mut keys: Vec<u64> = order.iter().enumerate().map(|(p, e)| key(p, e)).collect();
        keys.sort_unstable();
        return keys
            .iter()
            .map(|&k| order[(k & pos_mask) as usize])
            .collect();
    }
    // large: sort (key, payload) pairs so the result needs no random gather from `order`. Both
    // conversions are `into_iter().map().collect()` between 16-byte types, which std performs in
    // place: no fresh pages to fault in for a million-snapshot group.
    let mut keyed: Vec<(u64, u64)> = order
        .into_iter()
        .enumerate()
        .map(|(p, e)| {
            (
                key(p, &e),
                u64::from(e.idx) << 32 | u64::from(e.off() as u32),
            )
        })
        .collect();
    keyed.sort_unstable_by_key(|k| k.0);
    keyed
        .into_iter()
        .map(|(k, p)| {
            let neg_s = ((k >> pos_bits) as i64).wrapping_add(min_s);
            Entry::from_parts(neg_s, 0, p as u32 as i32, (p >> 32) as u32)
        })
        .collect()
}

/// Bucket key of kind `k` (0 = last … 5 = yearly) for a wall-clock time.
#[inline]
pub(super) fn bucket_key(k: usize, c: &Civil, nr: usize) -> i64 {
    match k {
        0 => nr as i64,
        1 => c.y * 1_000_000 + c.m * 10_000 + c.d * 100 + c.h,
        2 => c.y * 10_000 + c.m * 100 + c.d,
        3 => {
            let (y, w) = c.iso_week();
            y * 100 + w
        }
        4 => c.y * 100 + c.m,
        _ => c.y,
    }
}

/// The core of `ApplyPolicy` over `members` (indices into `all`); no validation, no refusal.
pub(crate) fn apply_all(p: &ForgetPolicy, all: &[Snapshot], opts: &ForgetOptions) -> ForgetPlan {
    let order = all
        .iter()
        .enumerate()
        .map(|(i, s)| Entry::new(&s.time, i))
        .collect();
    apply_entries(p, all, order, opts)
}

/// [`apply_all`] over prepared entries (one group, in increasing `idx` order).
pub(super) fn apply_entries(
    p: &ForgetPolicy,
    all: &[Snapshot],
    order: Vec<Entry>,
    opts: &ForgetOptions,
) -> ForgetPlan {
    // stable sort by time descending == unstable sort by (time desc, position in `members`).
    // Everything the loop needs travels in the sorted entries, so the hot loop never touches the
    // (large, randomly ordered) snapshots unless tag lists must be checked.
    let order = sort_entries(order);
    let mut plan = ForgetPlan::default();
    if order.is_empty() {
        return plan;
    }
    let v014 = opts.semantics == Semantics::Restic014;
    let now = key_of(opts.now);
    // newest non-future snapshot: the first entry (newest first) strictly before now
    let latest = order
        .iter()
        .find(|e| e.time_key() < now)
        .map(|e| all[e.idx as usize].time)
        // Go's zero time: 0001-01-01T00:00:00Z
        .unwrap_or_else(|| {
            SnapshotTime::utc(
                Offset::UTC
                    .to_timestamp(civil::date(1, 1, 1).at(0, 0, 0, 0))
                    .unwrap_or(Timestamp::MIN),
            )
        });
    let local = opts.local_tz.as_ref();
    let within_t = (!p.within.is_zero()).then(|| key_of(p.within.threshold(latest, local)));
    let wb = p.within_buckets();
    let within_ts: [Option<(i64, i32)>; 5] =
        std::array::from_fn(|k| (!wb[k].is_zero()).then(|| key_of(wb[k].threshold(latest, local))));
    let mut counts = p.counts();
    let mut last_val = [-1i64; 6];
    let mut wlast_val = [-1i64; 5];
    let mut cache = BucketCache::new();
    let n = order.len();
    plan.keep.reserve(n.min(1024));
    plan.remove.reserve(n);
    for (nr, e) in order.iter().enumerate() {
        let i = e.idx as usize;
        let tk = e.time_key();
        let oldest = nr + 1 == n;
        let mut matches: Vec<KeepMatch> = Vec::new();
        for tl in &p.tags {
            if all[i].has_tags(tl) {
                matches.push(KeepMatch::HasTags(tl.clone()));
            }
        }
        if let Some(t) = within_t
            && tk > t
        {
            matches.push(KeepMatch::Within(p.within));
        }
        let local = e.local_seconds();
        for k in 0..6 {
            let c = counts[k];
            let active = c > 0 || (!v014 && c == UNLIMITED);
            if !active {
                continue;
            }
            let v = if k == 0 {
                nr as i64
            } else {
                cache.key(k, local)
            };
            if v != last_val[k] || (!v014 && oldest) {
                matches.push(KeepMatch::Bucket {
                    bucket: Bucket::ALL[k],
                    oldest: !v014 && v == last_val[k] && oldest,
                });
                last_val[k] = v;
                if counts[k] > 0 {
                    counts[k] -= 1;
                }
            }
        }
        for k in 0..5 {
            let Some(t) = within_ts[k] else { continue };
            if tk > t {
                let v = cache.key(k + 1, local);
                if v != wlast_val[k] || (!v014 && oldest) {
                    matches.push(KeepMatch::WithinBucket {
                        bucket: Bucket::ALL[k + 1],
                        within: wb[k],
                        oldest: !v014 && v == wlast_val[k] && oldest,
                    });
                    wlast_val[k] = v;
                }
            }
        }
        if matches.is_empty() {
            plan.remove.push(i);
        } else {
            plan.keep.push(i);
            plan.reasons.push(KeepReason {
                index: i,
                matches,
                counters: Counters {
                    last: counts[0],
                    hourly: counts[1],
                    daily: counts[2],
                    weekly: counts[3],
                    monthly: counts[4],
                    yearly: counts[5],
                },
            });
        }
    }
    plan
}
