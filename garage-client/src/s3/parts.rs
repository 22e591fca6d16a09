//! The part sizes of a multipart upload (pure code).
//!
//! S3 allows at most 10,000 parts of 5 MiB to 5 GiB (the last may be smaller) and objects up to
//! 5 TiB. With a known size every part has the size that fits the object into the part limit
//! (at least the configured part size). A stream of unknown length starts with the configured
//! size and doubles it every `group` parts, `group` being the largest value for which the part
//! limit still holds 5 TiB (or, with a part limit too small for that, doubling at every part):
//! small streams keep small parts, and parts grow only as far as the bytes seen so far require.

use crate::config::MultipartConfig;
use crate::error::{Error, Result};

/// S3's largest object (5 TiB).
pub const MAX_OBJECT_SIZE: u64 = 5 << 40;
/// S3's largest part (5 GiB).
pub const MAX_PART_SIZE: u64 = 5 << 30;
/// S3's largest part count.
pub const MAX_PARTS: u32 = 10_000;

/// The sizes of the parts of one upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PartPlan {
    first: u64,
    /// Parts per size step; `u32::MAX` keeps one size.
    group: u32,
    max_parts: u32,
    /// Bytes of part buffers the configuration allows in flight (`part_size × concurrency`).
    budget: u64,
    concurrency: usize,
}

impl PartPlan {
    /// For an object of `size` bytes; refused when S3 cannot hold it.
    pub fn known(size: u64, cfg: &MultipartConfig) -> Result<Self> {
        let max_parts = cfg.max_parts.clamp(1, MAX_PARTS);
        if size > MAX_OBJECT_SIZE {
            return Err(Error::ObjectTooLarge {
                size,
                limit: MAX_OBJECT_SIZE,
            });
        }
        let needed = size
            .div_ceil(u64::from(max_parts))
            .next_multiple_of(1 << 20);
        let first = (cfg.part_size as u64).max(needed);
        if first > MAX_PART_SIZE {
            return Err(Error::ObjectTooLarge {
                size,
                limit: MAX_PART_SIZE * u64::from(max_parts),
            });
        }
        Ok(PartPlan {
            first,
            group: u32::MAX,
            max_parts,
            budget: budget(cfg),
            concurrency: cfg.concurrency.max(1),
        })
    }

    /// For a stream of unknown length.
    pub fn stream(cfg: &MultipartConfig) -> Self {
        let max_parts = cfg.max_parts.clamp(1, MAX_PARTS);
        let first = cfg.part_size as u64;
        let capacity = |group: u32| {
            let plan = PartPlan {
                first,
                group,
                max_parts,
                budget: 0,
                concurrency: 1,
            };
            plan.capacity()
        };
        let target = MAX_OBJECT_SIZE.min(MAX_PART_SIZE * u64::from(max_parts));
        // The largest group that still holds `target` (capacity falls as the group grows).
        let (mut lo, mut hi) = (1u32, max_parts);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if capacity(mid) >= target {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        PartPlan {
            first,
            group: lo,
            max_parts,
            budget: budget(cfg),
            concurrency: cfg.concurrency.max(1),
        }
    }

    /// Size of part `n` (1-based).
    pub fn part_size(&self, n: u32) -> u64 {
        let steps = (n.saturating_sub(1) / self.group).min(40);
        (self.first << steps).min(MAX_PART_SIZE)
    }

    /// The part limit.
    pub fn max_parts(&self) -> u32 {
        self.max_parts
    }

    /// The most bytes the plan's parts can hold.
    pub fn capacity(&self) -> u64 {
        if self.group == u32::MAX {
            return self.first * u64::from(self.max_parts);
        }
        (1..=self.max_parts)
            .map(|n| self.part_size(n))
            .fold(0u64, u64::saturating_add)
    }

    /// Parts in flight while parts of `size` bytes are sent: the configured concurrency while
    /// parts have the configured size, fewer as they grow (but two, so reading overlaps
    /// sending), so buffers stay within the configured `part_size × concurrency` or two parts,
    /// whichever is larger.
    pub fn concurrency(&self, size: u64) -> usize {
        let fits = (self.budget / size.max(1)) as usize;
        fits.max(2).min(self.concurrency)
    }
}

fn budget(cfg: &MultipartConfig) -> u64 {
    cfg.part_size as u64 * cfg.concurrency.max(1) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(part_size: usize, max_parts: u32) -> MultipartConfig {
        MultipartConfig {
            part_size,
            max_parts,
            ..MultipartConfig::default()
        }
    }

    #[test]
    fn a_stream_with_default_settings_can_reach_5_tib() {
        let plan = PartPlan::stream(&MultipartConfig::default());
        assert!(plan.capacity() >= MAX_OBJECT_SIZE, "{plan:?}");
        let mut previous = 0;
        let mut total = 0u64;
        let mut reached_at = None;
        for n in 1..=MAX_PARTS {
            let s = plan.part_size(n);
            assert!((5 << 20..=MAX_PART_SIZE).contains(&s), "part {n}: {s}");
            assert!(s >= previous, "sizes never shrink");
            previous = s;
            total += s;
            if total >= MAX_OBJECT_SIZE && reached_at.is_none() {
                reached_at = Some((n, s));
            }
        }
        let (n, s) = reached_at.unwrap();
        assert!(n <= MAX_PARTS);
        // Parts stay at the configured 6 MiB for the first ~6 GiB.
        assert_eq!(plan.part_size(1), 6 << 20);
        assert_eq!(plan.part_size(900), 6 << 20);
        // The largest part used on the way to 5 TiB.
        assert!(s <= 4 << 30, "{s}");
    }

    #[test]
    fn the_schedule_holds_5_tib_for_any_allowed_part_size() {
        for part_size in [5 << 20, 6 << 20, 8 << 20, 64 << 20, 1 << 30] {
            let plan = PartPlan::stream(&cfg(part_size, MAX_PARTS));
            assert!(plan.capacity() >= MAX_OBJECT_SIZE, "{part_size}: {plan:?}");
        }
    }

    #[test]
    fn a_small_part_limit_doubles_every_part() {
        let plan = PartPlan::stream(&cfg(5 << 20, 3));
        assert_eq!(
            [plan.part_size(1), plan.part_size(2), plan.part_size(3)],
            [5 << 20, 10 << 20, 20 << 20]
        );
        assert_eq!(plan.capacity(), 35 << 20);
    }

    #[test]
    fn a_known_size_fits_the_part_limit() {
        let plan = PartPlan::known(100 << 30, &MultipartConfig::default()).unwrap();
        assert_eq!(
            plan.part_size(1),
            11 << 20,
            "100 GiB / 10,000 rounded up to MiB"
        );
        assert!(plan.capacity() >= 100 << 30);
        let plan = PartPlan::known(MAX_OBJECT_SIZE, &MultipartConfig::default()).unwrap();
        assert!(plan.capacity() >= MAX_OBJECT_SIZE);
        assert!(plan.part_size(1) <= MAX_PART_SIZE);
        let small = PartPlan::known(1 << 30, &MultipartConfig::default()).unwrap();
        assert_eq!(
            small.part_size(1),
            6 << 20,
            "the configured size when it fits"
        );
        assert_eq!(small.part_size(171), 6 << 20);
    }

    #[test]
    fn objects_beyond_5_tib_are_refused() {
        let e = PartPlan::known(MAX_OBJECT_SIZE + 1, &MultipartConfig::default()).unwrap_err();
        assert!(matches!(e, Error::ObjectTooLarge { .. }), "{e:?}");
        let e = PartPlan::known(100 << 30, &cfg(5 << 20, 3)).unwrap_err();
        assert!(matches!(e, Error::ObjectTooLarge { .. }), "{e:?}");
    }

    #[test]
    fn concurrency_shrinks_as_parts_grow() {
        let plan = PartPlan::stream(&MultipartConfig::default());
        assert_eq!(plan.concurrency(6 << 20), 3);
        assert_eq!(plan.concurrency(12 << 20), 2);
        assert_eq!(plan.concurrency(3 << 30), 2);
        let one = PartPlan::stream(&MultipartConfig {
            concurrency: 1,
            ..MultipartConfig::default()
        });
        assert_eq!(one.concurrency(12 << 20), 1);
    }
}
