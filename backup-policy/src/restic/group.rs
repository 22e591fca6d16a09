//! `--group-by`: grouping snapshots by host, paths and tags.

use std::borrow::Cow;

use super::apply::Entry;
use super::*;

/// restic's `--group-by`: which of host, paths and tags form a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct GroupBy {
    /// Group by host name.
    pub host: bool,
    /// Group by (sorted) paths.
    pub paths: bool,
    /// Group by (sorted) tags.
    pub tags: bool,
}

impl Default for GroupBy {
    /// restic's default, `host,paths`.
    fn default() -> Self {
        GroupBy {
            host: true,
            paths: true,
            tags: false,
        }
    }
}

impl GroupBy {
    /// No grouping: one group (`--group-by ''`).
    pub fn none() -> Self {
        GroupBy {
            host: false,
            paths: false,
            tags: false,
        }
    }
}

impl FromStr for GroupBy {
    type Err = Error;
    /// Parses `host,paths,tags` (any subset; `""` = one group).
    fn from_str(s: &str) -> Result<Self> {
        let mut g = GroupBy::none();
        for part in s.split(',') {
            match part.trim() {
                "host" => g.host = true,
                "paths" => g.paths = true,
                "tags" => g.tags = true,
                "" => {}
                other => return Err(Error::policy(format!("unknown grouping option: {other:?}"))),
            }
        }
        Ok(g)
    }
}

/// The key of one group, as restic prints it in `forget --json` (`host`, `paths`, `tags`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize)]
#[non_exhaustive]
pub struct GroupKey {
    /// Host, `""` unless grouping by host.
    pub hostname: String,
    /// Sorted paths, `None` unless grouping by paths.
    pub paths: Option<Vec<String>>,
    /// Sorted tags, `None` unless grouping by tags.
    pub tags: Option<Vec<String>>,
}

impl GroupKey {
    /// The key as restic serialises it: `{"hostname":…,"paths":…,"tags":…}`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// One group's plan; indices refer to the full input slice.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupPlan {
    /// The group.
    pub key: GroupKey,
    /// What to keep and remove.
    pub plan: ForgetPlan,
}

/// The list sorted, borrowed when it already is (restic writes one path or sorted lists, so
/// the copy is the rare case and kept out of line).
#[inline(always)]
fn sorted(v: &[String]) -> Cow<'_, [String]> {
    if v.len() < 2 || v.windows(2).all(|w| w[0] <= w[1]) {
        Cow::Borrowed(v)
    } else {
        sorted_copy(v)
    }
}

#[cold]
fn sorted_copy(v: &[String]) -> Cow<'_, [String]> {
    let mut o = v.to_vec();
    o.sort();
    Cow::Owned(o)
}

/// Groups snapshots like restic (`host`, sorted `paths`, sorted `tags`); groups come out sorted
/// by key, members in input order.
pub fn group_snapshots(snapshots: &[Snapshot], by: GroupBy) -> Vec<(GroupKey, Vec<usize>)> {
    group_entries(snapshots, by)
        .into_iter()
        .map(|(k, es)| (k, es.iter().map(|e| e.idx as usize).collect()))
        .collect()
}

/// Appends a group key to the key arena: the host, then each listed key's sorted strings, each
/// string length-prefixed, so a key lives in one short contiguous run that is cheap to compare.
fn encode_key(arena: &mut Vec<u8>, host: &[u8], lists: [Option<&[String]>; 2]) {
    let mut put = |b: &[u8]| {
        arena.extend_from_slice(&(b.len() as u32).to_le_bytes());
        arena.extend_from_slice(b);
    };
    put(host);
    for list in lists.into_iter().flatten() {
        put(&(list.len() as u32).to_le_bytes());
        for item in list {
            put(item.as_bytes());
        }
    }
}

/// Whether an encoded key (see [`encode_key`]) is this host and these sorted lists.
#[inline(always)]
fn key_matches(mut enc: &[u8], host: &[u8], lists: [Option<&[String]>; 2]) -> bool {
    #[inline(always)]
    fn take(enc: &mut &[u8], want: &[u8]) -> bool {
        let Some((len, rest)) = enc.split_first_chunk::<4>() else {
            return false;
        };
        let n = u32::from_le_bytes(*len) as usize;
        if n != want.len() || rest.len() < n || !same_bytes(&rest[..n], want) {
            return false;
        }
        *enc = &rest[n..];
        true
    }
    if !take(&mut enc, host) {
        return false;
    }
    for list in lists.into_iter().flatten() {
        if !take(&mut enc, &(list.len() as u32).to_le_bytes()) {
            return false;
        }
        for item in list {
            if !take(&mut enc, item.as_bytes()) {
                return false;
            }
        }
    }
    true
}

const MIX: u64 = 0x51_7c_c1_b7_27_22_0a_95;

#[inline(always)]
fn mix(h: u64, v: u64) -> u64 {
    (h.rotate_left(5) ^ v).wrapping_mul(MIX)
}

#[inline(always)]
fn word(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

/// FxHash-style multiply-rotate over the bytes and their length, with fixed-size reads only
/// (whole words, then the last word overlapping; short strings from two halves).
#[inline(always)]
fn hash_bytes(mut h: u64, b: &[u8]) -> u64 {
    let n = b.len();
    h = mix(h, n as u64);
    if n >= 8 {
        let mut at = 0;
        while at + 8 < n {
            h = mix(h, word(b, at));
            at += 8;
        }
        mix(h, word(b, n - 8))
    } else if n >= 4 {
        let lo = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let hi = u32::from_le_bytes([b[n - 4], b[n - 3], b[n - 2], b[n - 1]]);
        mix(h, u64::from(lo) | (u64::from(hi) << 32))
    } else if n > 0 {
        mix(
            h,
            u64::from(b[0]) | (u64::from(b[n / 2]) << 8) | (u64::from(b[n - 1]) << 16),
        )
    } else {
        h
    }
}

/// Order-independent hash of a list (the key holds it sorted, so any permutation must hash the
/// same; no sorted copy needed to hash).
#[inline(always)]
fn hash_list(h: u64, l: Option<&[String]>) -> u64 {
    match l {
        None => mix(h, u64::MAX),
        Some(l) => {
            let sum = l.iter().fold(0u64, |acc, s| {
                acc.wrapping_add(hash_bytes(0x9E37_79B9_7F4A_7C15, s.as_bytes()))
            });
            mix(mix(h, l.len() as u64), sum)
        }
    }
}

/// Byte equality with word compares (keys are short; avoids a `memcmp` call per snapshot).
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n >= 8 {
        let mut at = 0;
        while at + 8 < n {
            if word(a, at) != word(b, at) {
                return false;
            }
            at += 8;
        }
        word(a, n - 8) == word(b, n - 8)
    } else if n >= 4 {
        a[..4] == b[..4] && a[n - 4..] == b[n - 4..]
    } else {
        a.iter().zip(b).all(|(x, y)| x == y)
    }
}

/// Snapshots hashed per batch before any is looked up: the batch's (cache-missing) key reads
/// overlap instead of each stalling the table probe of its own snapshot.
const BATCH: usize = 128;

/// Groups snapshots into restic's group order, each group's members as engine entries in input
/// order. Every key is hashed once into a `hashbrown::HashTable` of group ids (verified by full
/// comparison; it replaced a hand-written open-addressing table, which it matched or beat: 68.8
/// vs 71.5 ms median for 1M snapshots in 1,000 groups), and each snapshot's time goes straight
/// into its group's compact entry list, so applying the policy never goes back to the snapshots.
pub(super) fn group_entries(snapshots: &[Snapshot], by: GroupBy) -> Vec<(GroupKey, Vec<Entry>)> {
    // per group: key hash, key's range in `arena`, first member (the key's source), members
    let mut hashes: Vec<u64> = Vec::new();
    let mut spans: Vec<(u32, u32)> = Vec::new();
    let mut firsts: Vec<usize> = Vec::new();
    let mut groups: Vec<Vec<Entry>> = Vec::new();
    let mut arena: Vec<u8> = Vec::new();
    let mut table: hashbrown::HashTable<u32> = hashbrown::HashTable::new();
    let mut hs = [0u64; BATCH];
    // After the first eighth of a large input, each group seen so far reserves room for its
    // projected share of the rest: growing 1,000 member lists by doubling cost more than the
    // hashing. The projection reserves at most the input's length in total (address space only
    // until written), and groups first seen later grow as usual.
    let checkpoint = if snapshots.len() >= 1 << 14 {
        (snapshots.len() / 8).div_ceil(BATCH)
    } else {
        usize::MAX
    };
    for (b, batch) in snapshots.chunks(BATCH).enumerate() {
        if b == checkpoint {
            let seen = b * BATCH;
            let rest = snapshots.len() - seen;
            for members in &mut groups {
                members.reserve(members.len() * rest / seen);
            }
        }
        for (h, s) in hs.iter_mut().zip(batch) {
            let host = if by.host { s.hostname.as_bytes() } else { &[] };
            *h = hash_list(
                hash_list(hash_bytes(0, host), by.paths.then_some(&s.paths[..])),
                by.tags.then_some(&s.tags[..]),
            );
        }
        for (j, (&h, s)) in hs.iter().zip(batch).enumerate() {
            let host = if by.host { s.hostname.as_bytes() } else { &[] };
            let paths = by.paths.then(|| sorted(&s.paths));
            let tags = by.tags.then(|| sorted(&s.tags));
            let lists = [paths.as_deref(), tags.as_deref()];
            let found = table
                .find(h, |&g| {
                    let g = g as usize;
                    hashes[g] == h && {
                        let (start, len) = spans[g];
                        key_matches(&arena[start as usize..(start + len) as usize], host, lists)
                    }
                })
                .copied();
            let g = match found {
                Some(g) => g as usize,
                None => {
                    let g = groups.len();
                    let start = arena.len();
                    encode_key(&mut arena, host, lists);
                    spans.push((start as u32, (arena.len() - start) as u32));
                    hashes.push(h);
                    firsts.push(b * BATCH + j);
                    groups.push(Vec::new());
                    table.insert_unique(h, g as u32, |&k| hashes[k as usize]);
                    g
                }
            };
            groups[g].push(Entry::new(&s.time, b * BATCH + j));
        }
    }
    let mut out: Vec<(GroupKey, Vec<Entry>)> = firsts
        .into_iter()
        .zip(groups)
        .map(|(first, members)| {
            let s = &snapshots[first];
            let list =
                |on: bool, l: &[String]| (on && !l.is_empty()).then(|| sorted(l).into_owned());
            let key = GroupKey {
                hostname: if by.host {
                    s.hostname.clone()
                } else {
                    String::new()
                },
                paths: list(by.paths, &s.paths),
                tags: list(by.tags, &s.tags),
            };
            (key, members)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}
