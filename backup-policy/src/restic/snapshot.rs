//! Snapshots as restic lists them, their times, and `--host`/`--tag`/`--path` filters.

use std::borrow::Cow;
use std::fmt;

use super::*;

/// A snapshot time as restic records it: an instant plus the UTC offset it was written with.
///
/// restic computes its hour/day/week/month/year buckets on this offset's wall clock, not in UTC
/// and not in the machine's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SnapshotTime {
    pub(super) ts: Timestamp,
    pub(super) offset: Offset,
}

impl SnapshotTime {
    /// An instant recorded with the given offset.
    pub fn new(ts: Timestamp, offset: Offset) -> Self {
        SnapshotTime { ts, offset }
    }

    /// An instant recorded in UTC.
    pub fn utc(ts: Timestamp) -> Self {
        SnapshotTime {
            ts,
            offset: Offset::UTC,
        }
    }

    /// The instant of a zoned time, recorded with that zone's offset at that instant.
    pub fn from_zoned(z: &jiff::Zoned) -> Self {
        SnapshotTime {
            ts: z.timestamp(),
            offset: z.offset(),
        }
    }

    /// Parses an RFC 3339 time with its offset, e.g. `2025-03-01T23:30:00-05:00` or `…Z`.
    ///
    /// # Errors
    /// [`Error::Time`] when the text is not RFC 3339 with an offset.
    pub fn parse(s: &str) -> Result<Self> {
        let err = |m: String| Error::Time {
            input: s.to_string(),
            message: m,
        };
        let pieces = jiff::fmt::temporal::Pieces::parse(s).map_err(|e| err(e.to_string()))?;
        let offset = match pieces.offset() {
            Some(jiff::fmt::temporal::PiecesOffset::Zulu) => Offset::UTC,
            Some(jiff::fmt::temporal::PiecesOffset::Numeric(n)) => n.offset(),
            _ => return Err(err("missing UTC offset".into())),
        };
        let time = pieces
            .time()
            .ok_or_else(|| err("missing time of day".into()))?;
        let dt = pieces.date().to_datetime(time);
        let ts = offset.to_timestamp(dt).map_err(|e| err(e.to_string()))?;
        Ok(SnapshotTime { ts, offset })
    }

    /// The instant.
    pub fn timestamp(&self) -> Timestamp {
        self.ts
    }

    /// The recorded offset.
    pub fn offset(&self) -> Offset {
        self.offset
    }

    /// The wall-clock time in the recorded offset.
    pub fn civil(&self) -> DateTime {
        self.offset.to_datetime(self.ts)
    }
}

impl fmt::Display for SnapshotTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dt = self.civil();
        write!(f, "{}", dt.strftime("%Y-%m-%dT%H:%M:%S"))?;
        let ns = dt.subsec_nanosecond();
        if ns != 0 {
            let frac = format!("{ns:09}");
            write!(f, ".{}", frac.trim_end_matches('0'))?;
        }
        if self.offset == Offset::UTC {
            f.write_str("Z")
        } else {
            let secs = self.offset.seconds();
            let sign = if secs < 0 { '-' } else { '+' };
            let a = secs.unsigned_abs();
            write!(f, "{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60)
        }
    }
}

impl FromStr for SnapshotTime {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        SnapshotTime::parse(s)
    }
}

impl Serialize for SnapshotTime {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SnapshotTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = Cow::<str>::deserialize(d)?;
        SnapshotTime::parse(&s).map_err(serde::de::Error::custom)
    }
}

fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// The parts of a restic snapshot the policy looks at. Deserialises from `restic snapshots --json`
/// elements (unknown fields ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Snapshot {
    /// Snapshot id (full or short; used only to identify results).
    #[serde(default)]
    pub id: String,
    /// When the snapshot was taken, with its recorded offset.
    pub time: SnapshotTime,
    /// Host name.
    #[serde(default)]
    pub hostname: String,
    /// Backed-up paths.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub paths: Vec<String>,
    /// Tags.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub tags: Vec<String>,
}

impl Snapshot {
    /// A snapshot with an id and time, no host, paths or tags.
    pub fn new(id: impl Into<String>, time: SnapshotTime) -> Self {
        Snapshot {
            id: id.into(),
            time,
            hostname: String::new(),
            paths: Vec::new(),
            tags: Vec::new(),
        }
    }

    /// Sets the host name.
    #[must_use]
    pub fn with_hostname(mut self, h: impl Into<String>) -> Self {
        self.hostname = h.into();
        self
    }

    /// Sets the paths.
    #[must_use]
    pub fn with_paths<I: IntoIterator<Item = S>, S: Into<String>>(mut self, p: I) -> Self {
        self.paths = p.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the tags.
    #[must_use]
    pub fn with_tags<I: IntoIterator<Item = S>, S: Into<String>>(mut self, t: I) -> Self {
        self.tags = t.into_iter().map(Into::into).collect();
        self
    }

    /// restic's `HasTags`: all tags of the list are present; `""` matches an untagged snapshot.
    pub fn has_tags(&self, list: &TagList) -> bool {
        for tag in &list.0 {
            if tag.is_empty() && self.tags.is_empty() {
                return true;
            }
            if !self.tags.iter().any(|t| t == tag) {
                return false;
            }
        }
        true
    }
}

/// One `--keep-tag` value: a snapshot matches when it carries all of these tags.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash, Serialize, Deserialize)]
pub struct TagList(pub Vec<String>);

impl FromStr for TagList {
    type Err = std::convert::Infallible;
    /// Splits `a,b` like restic (each part trimmed; `""` means "untagged").
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(TagList(
            s.split(',').map(|t| t.trim().to_string()).collect(),
        ))
    }
}

impl fmt::Display for TagList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]", self.0.join(", "))
    }
}

/// restic's snapshot filter — `--host`, `--tag` and `--path` of `forget`, `snapshots` and the
/// other multi-snapshot commands (restic `internal/data/snapshot_find.go` `SnapshotFilter.matches`;
/// `internal/restic/snapshot_find.go` `FindFilteredSnapshots` in 0.14). A snapshot matches when
/// all three hold:
///
/// * **hosts**: no host given, or its host name equals one of them (repeated `--host` = OR);
/// * **tags**: no tag list given, or it satisfies at least one list (repeated `--tag` = OR),
///   where satisfying a list means carrying every tag of it (`--tag a,b` = a AND b); a `""` in a
///   list matches an untagged snapshot (`--tag ''`);
/// * **paths**: it has every given path, compared byte for byte (repeated `--path` = AND; restic
///   does not clean or absolutise them for `forget`).
///
/// ```
/// use backup_policy::restic::{Semantics, Snapshot, SnapshotFilter, SnapshotTime};
///
/// let s = Snapshot::new("a", SnapshotTime::parse("2026-11-27T02:00:00Z")?)
///     .with_hostname("plex")
///     .with_paths(["/etc", "/opt"])
///     .with_tags(["daily", "plex"]);
/// let f = SnapshotFilter::default().with_tag("daily,plex".parse()?).with_path("/etc");
/// assert!(f.matches(&s));
/// let f = SnapshotFilter::default().with_tag("daily,weekly".parse()?);  // AND within a list
/// assert!(!f.matches(&s));
/// let f = f.with_tag("weekly".parse()?).with_tag("plex".parse()?);       // OR across lists
/// assert!(f.matches(&s));
/// // restic ≥ 0.17: `--host ''` alone means "every host"; 0.14 looks for an empty host name
/// let f = SnapshotFilter::default().with_host("").finalized(Semantics::Current);
/// assert!(f.matches(&s));
/// let f = SnapshotFilter::default().with_host("").finalized(Semantics::Restic014);
/// assert!(!f.matches(&s));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SnapshotFilter {
    /// `--host` values (any of them).
    pub hosts: Vec<String>,
    /// `--tag` lists (any list, all tags of it).
    pub tags: Vec<TagList>,
    /// `--path` values (all of them).
    pub paths: Vec<String>,
}

impl SnapshotFilter {
    /// Adds a `--host`.
    #[must_use]
    pub fn with_host(mut self, host: impl Into<String>) -> Self {
        self.hosts.push(host.into());
        self
    }

    /// Adds a `--tag` list.
    #[must_use]
    pub fn with_tag(mut self, list: TagList) -> Self {
        self.tags.push(list);
        self
    }

    /// Adds a `--path`.
    #[must_use]
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.paths.push(path.into());
        self
    }

    /// True when no filter is set (every snapshot matches).
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty() && self.tags.is_empty() && self.paths.is_empty()
    }

    /// Applies restic's post-parsing rule for `--host`: from 0.17 (`cmd/restic/find.go`
    /// `finalizeSnapshotFilter`) a single empty `--host ''` unsets the host filter; restic 0.14
    /// keeps it, and then only snapshots with an empty host name match. (`RESTIC_HOST` as the
    /// default host is the caller's business: this crate reads no environment.)
    #[must_use]
    pub fn finalized(mut self, semantics: Semantics) -> Self {
        if semantics == Semantics::Current && self.hosts.len() == 1 && self.hosts[0].is_empty() {
            self.hosts.clear();
        }
        self
    }

    /// Whether `s` passes the filter (restic's `HasHostname && HasTagList && HasPaths`).
    pub fn matches(&self, s: &Snapshot) -> bool {
        (self.hosts.is_empty() || self.hosts.contains(&s.hostname))
            && (self.tags.is_empty() || self.tags.iter().any(|l| s.has_tags(l)))
            && self.paths.iter().all(|p| s.paths.iter().any(|q| q == p))
    }
}
