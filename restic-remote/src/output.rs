//! Typed results parsed from restic's output (`--json`), tolerant of every version 0.14–0.19.
//!
//! Every field that some version omits is an `Option` or defaults; unknown fields are ignored;
//! unknown message types become `Other`. Pure code, unit-tested without restic.

use jiff::Timestamp;
use serde::Deserialize;

use crate::error::{Error, Result};
pub use crate::records::{BackupSummary, LockInfo};

/// A restic version, detected once per client from `restic version`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub struct ResticVersion {
    /// Major.
    pub major: u32,
    /// Minor.
    pub minor: u32,
    /// Patch.
    pub patch: u32,
}

impl ResticVersion {
    /// Builds a version.
    pub fn new(major: u32, minor: u32, patch: u32) -> Self {
        ResticVersion {
            major,
            minor,
            patch,
        }
    }

    /// `self >= major.minor.patch`.
    pub fn at_least(&self, major: u32, minor: u32, patch: u32) -> bool {
        (self.major, self.minor, self.patch) >= (major, minor, patch)
    }

    /// Parses the first line of `restic version` (`restic 0.14.0 compiled with go1.19.8 on
    /// linux/amd64`) or `restic version --json` (`{"message_type":"version","version":"0.17.3",…}`).
    pub fn parse(output: &str) -> Result<Self> {
        let text = output.trim();
        let number = if text.starts_with('{') {
            #[derive(Deserialize)]
            struct V {
                version: String,
            }
            serde_json::from_str::<V>(text.lines().next().unwrap_or_default())
                .map_err(|e| parse_err("version", e))?
                .version
        } else {
            text.split_whitespace()
                .skip_while(|w| *w != "restic")
                .nth(1)
                .unwrap_or_default()
                .to_owned()
        };
        let mut parts = number
            .trim_start_matches('v')
            .split(|c: char| !c.is_ascii_digit())
            .map(|p| p.parse::<u32>());
        match (parts.next(), parts.next(), parts.next()) {
            (Some(Ok(major)), Some(Ok(minor)), patch) => Ok(ResticVersion {
                major,
                minor,
                patch: patch.and_then(|p| p.ok()).unwrap_or(0),
            }),
            _ => Err(parse_err(
                "version",
                format!("no version number in {:?}", truncate(text, 200)),
            )),
        }
    }
}

impl std::fmt::Display for ResticVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

pub(crate) fn parse_err(command: &str, e: impl std::fmt::Display) -> Error {
    Error::Decode {
        command: command.to_owned(),
        path: None,
        reason: e.to_string(),
    }
}

/// [`Error::Decode`] for `e`, naming the JSON path of the field that did not decode (`None` at
/// the root). The path is found by decoding again with path tracking, only on this failure path:
/// tracking costs an allocation per field, too much for every line of a million-entry `ls`.
fn decode_err<'de, T, D>(command: &str, e: impl std::fmt::Display, again: D) -> Error
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    let path = match serde_path_to_error::deserialize::<D, T>(again) {
        Err(tracked) => Some(tracked.path().to_string()).filter(|p| p != "."),
        Ok(_) => None,
    };
    Error::Decode {
        command: command.to_owned(),
        path,
        reason: e.to_string(),
    }
}

/// Decodes `bytes`, one JSON value and nothing else but white space (as `serde_json::from_slice`).
pub(crate) fn decode<T: serde::de::DeserializeOwned>(command: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| {
        decode_err::<T, _>(command, e, &mut serde_json::Deserializer::from_slice(bytes))
    })
}

/// Decodes the JSON value at the start of `bytes`; whatever follows it is left alone.
fn decode_prefix<T: serde::de::DeserializeOwned>(command: &str, bytes: &[u8]) -> Result<T> {
    T::deserialize(&mut serde_json::Deserializer::from_slice(bytes)).map_err(|e| {
        decode_err::<T, _>(command, e, &mut serde_json::Deserializer::from_slice(bytes))
    })
}

fn decode_value<T: serde::de::DeserializeOwned>(command: &str, v: &serde_json::Value) -> Result<T> {
    T::deserialize(v).map_err(|e| decode_err::<T, _>(command, e, v))
}

pub(crate) fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Whether a stdout line looks like JSON; restic occasionally prints plain warnings on stdout.
pub(crate) fn is_json_line(line: &[u8]) -> bool {
    line.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{' || *b == b'[')
}

#[derive(Deserialize)]
struct MessageType {
    #[serde(default)]
    message_type: Option<String>,
    #[serde(default)]
    struct_type: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// backup

/// One event of a running `restic backup --json`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum BackupEvent {
    /// Periodic progress.
    Status(BackupStatus),
    /// An item could not be read (stderr; the message is empty on restic < 0.17.1).
    Error(BackupItemError),
    /// `-vv` per-file output.
    Verbose(serde_json::Value),
    /// The final summary.
    Summary(BackupSummary),
    /// A message type this crate does not know (newer restic).
    Other(serde_json::Value),
}

/// A `status` line of `backup --json`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct BackupStatus {
    /// Seconds since the start.
    pub seconds_elapsed: u64,
    /// Estimated seconds left.
    pub seconds_remaining: u64,
    /// 0.0–1.0.
    pub percent_done: f64,
    /// Files found so far.
    pub total_files: u64,
    /// Files done.
    pub files_done: u64,
    /// Bytes found so far.
    pub total_bytes: u64,
    /// Bytes done.
    pub bytes_done: u64,
    /// Errors so far.
    pub error_count: u64,
    /// Files being read now.
    pub current_files: Vec<String>,
}

/// An `error` line of `backup --json` (written to stderr).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct BackupItemError {
    /// The error; `{}` (no message) on restic < 0.17.1.
    pub error: ErrorMessage,
    /// `scan` or `archival`.
    pub during: String,
    /// The path concerned.
    pub item: String,
}

/// `{"message": …}` from restic 0.17.1; before, Go's error value as restic marshalled it
/// (`{}`, or `{"Op":"read","Path":…,"Err":5}` for a path error), kept in `raw`.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ErrorMessage {
    /// The message; for old restic synthesised from `Op`/`Path`/`Err` when present, else empty.
    pub message: String,
    /// The error object as restic printed it.
    pub raw: serde_json::Value,
}

impl<'de> Deserialize<'de> for ErrorMessage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let raw = serde_json::Value::deserialize(d)?;
        let message = match raw.get("message").and_then(|m| m.as_str()) {
            Some(m) => m.to_owned(),
            None => match (raw.get("Op"), raw.get("Path"), raw.get("Err")) {
                (Some(op), Some(path), err) => format!(
                    "{} {}: {}",
                    op.as_str().unwrap_or("?"),
                    path.as_str().unwrap_or("?"),
                    err.map(|e| format!("errno {e}")).unwrap_or_default()
                ),
                _ => String::new(),
            },
        };
        Ok(ErrorMessage { message, raw })
    }
}

pub(crate) fn parse_backup_line(line: &[u8]) -> Result<Option<BackupEvent>> {
    if !is_json_line(line) {
        return Ok(None);
    }
    let kind: MessageType = decode("backup", line)?;
    let ev = match kind.message_type.as_deref() {
        Some("status") => {
            // Up to 0.15 the `scan_finished` verbose line was mislabelled `status`.
            let v: serde_json::Value = decode("backup", line)?;
            if v.get("action").is_some() {
                BackupEvent::Verbose(v)
            } else {
                BackupEvent::Status(decode_value("backup", &v)?)
            }
        }
        Some("summary") => BackupEvent::Summary(decode("backup", line)?),
        Some("error") => BackupEvent::Error(decode("backup", line)?),
        Some("verbose_status") => BackupEvent::Verbose(decode("backup", line)?),
        _ => BackupEvent::Other(decode("backup", line)?),
    };
    Ok(Some(ev))
}

// ---------------------------------------------------------------------------------------------
// snapshots, forget

/// A snapshot as `snapshots --json` (and `forget --json`, `ls --json`) print it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Snapshot {
    /// Full id (64 hex). Absent inside `forget` reasons before 0.17.
    #[serde(default)]
    pub id: Option<String>,
    /// Short id (8 hex).
    #[serde(default)]
    pub short_id: Option<String>,
    /// When the snapshot was taken.
    pub time: Timestamp,
    /// Parent snapshot.
    #[serde(default)]
    pub parent: Option<String>,
    /// Root tree.
    #[serde(default)]
    pub tree: Option<String>,
    /// Backed-up paths.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Host.
    #[serde(default)]
    pub hostname: Option<String>,
    /// User.
    #[serde(default)]
    pub username: Option<String>,
    /// Uid.
    #[serde(default)]
    pub uid: Option<u32>,
    /// Gid.
    #[serde(default)]
    pub gid: Option<u32>,
    /// Exclude patterns used.
    #[serde(default)]
    pub excludes: Vec<String>,
    /// Tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// Original snapshot (after `rewrite`).
    #[serde(default)]
    pub original: Option<String>,
    /// restic version that wrote it (0.16+).
    #[serde(default)]
    pub program_version: Option<String>,
    /// Backup statistics (snapshots created by 0.17+).
    #[serde(default)]
    pub summary: Option<serde_json::Value>,
}

fn null_as_default<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

pub(crate) fn parse_snapshots(out: &[u8]) -> Result<Vec<Snapshot>> {
    let start = out.iter().position(|b| *b == b'[').unwrap_or(out.len());
    if start == out.len() {
        return Err(parse_err("snapshots", "no JSON array in output"));
    }
    decode("snapshots", &out[start..])
}

/// One group of `forget --json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ForgetGroup {
    /// Group tags (when grouping by tags).
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// Group host (when grouping by host).
    #[serde(default)]
    pub host: String,
    /// Group paths (when grouping by paths).
    #[serde(default, deserialize_with = "null_as_default")]
    pub paths: Vec<String>,
    /// Kept snapshots, newest first.
    #[serde(default, deserialize_with = "null_as_default")]
    pub keep: Vec<Snapshot>,
    /// Removed snapshots.
    #[serde(default, deserialize_with = "null_as_default")]
    pub remove: Vec<Snapshot>,
    /// Why each kept snapshot was kept.
    #[serde(default, deserialize_with = "null_as_default")]
    pub reasons: Vec<KeepReason>,
}

/// Why `forget` keeps a snapshot.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct KeepReason {
    /// The snapshot (without ids before 0.17).
    pub snapshot: Snapshot,
    /// E.g. `daily snapshot`, `oldest monthly snapshot` (0.18+).
    #[serde(default, deserialize_with = "null_as_default")]
    pub matches: Vec<String>,
}

pub(crate) fn parse_forget(out: &[u8]) -> Result<Vec<ForgetGroup>> {
    // 0.14 prints nothing for an empty policy; with --prune, prune's text may follow the array.
    let Some(start) = out.iter().position(|b| *b == b'[') else {
        return Ok(Vec::new());
    };
    decode_prefix("forget", &out[start..])
}

// ---------------------------------------------------------------------------------------------
// ls

/// The kind of an `ls` node.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NodeType {
    /// Regular file.
    File,
    /// Directory.
    Dir,
    /// Symbolic link.
    Symlink,
    /// Anything else (`dev`, `chardev`, `fifo`, `socket`, …).
    Other(String),
}

impl<'de> Deserialize<'de> for NodeType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "file" => NodeType::File,
            "dir" => NodeType::Dir,
            "symlink" => NodeType::Symlink,
            _ => NodeType::Other(s),
        })
    }
}

/// One entry of `ls --json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct LsNode {
    /// Base name.
    pub name: String,
    /// Kind.
    #[serde(rename = "type")]
    pub node_type: NodeType,
    /// Full path inside the snapshot.
    pub path: String,
    /// Owner.
    #[serde(default)]
    pub uid: u32,
    /// Group.
    #[serde(default)]
    pub gid: u32,
    /// Size (files only).
    #[serde(default)]
    pub size: Option<u64>,
    /// Mode bits as Go prints them.
    #[serde(default)]
    pub mode: Option<u32>,
    /// `-rw-r--r--` style.
    #[serde(default)]
    pub permissions: Option<String>,
    /// Modification time.
    #[serde(default)]
    pub mtime: Option<Timestamp>,
    /// Inode (0.16.1+).
    #[serde(default)]
    pub inode: Option<u64>,
}

/// A line of `ls --json`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum LsEntry {
    /// The first line: the snapshot listed.
    Snapshot(Box<Snapshot>),
    /// A file, directory, link, ….
    Node(LsNode),
}

pub(crate) fn parse_ls_line(line: &[u8]) -> Result<Option<LsEntry>> {
    if !is_json_line(line) {
        return Ok(None);
    }
    #[derive(Deserialize)]
    struct Probe {
        #[serde(default)]
        message_type: Option<String>,
        #[serde(default)]
        struct_type: Option<String>,
    }
    let p: Probe = decode("ls", line)?;
    let kind = p.message_type.or(p.struct_type).unwrap_or_default();
    match kind.as_str() {
        "snapshot" => Ok(Some(LsEntry::Snapshot(Box::new(decode("ls", line)?)))),
        "node" => Ok(Some(LsEntry::Node(decode("ls", line)?))),
        _ => Ok(None),
    }
}

// ---------------------------------------------------------------------------------------------
// stats, restore, check, init, unlock

/// `stats --json`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Stats {
    /// Total size for the mode asked.
    pub total_size: u64,
    /// Uncompressed size (0.15+, raw-data).
    pub total_uncompressed_size: Option<u64>,
    /// Compression ratio (0.15+).
    pub compression_ratio: Option<f64>,
    /// Files counted.
    pub total_file_count: Option<u64>,
    /// Blobs counted.
    pub total_blob_count: Option<u64>,
    /// Snapshots considered.
    pub snapshots_count: u64,
}

pub(crate) fn parse_stats(out: &[u8]) -> Result<Stats> {
    let line = out
        .split(|b| *b == b'\n')
        .rfind(|l| is_json_line(l))
        .ok_or_else(|| parse_err("stats", "no JSON object in output"))?;
    decode("stats", line)
}

/// Progress of `restore` (JSON only from restic 0.16).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct RestoreProgress {
    /// Seconds since start.
    pub seconds_elapsed: u64,
    /// 0.0–1.0.
    pub percent_done: f64,
    /// Files to restore.
    pub total_files: u64,
    /// Files restored.
    pub files_restored: u64,
    /// Files skipped (0.17+).
    pub files_skipped: u64,
    /// Bytes to restore.
    pub total_bytes: u64,
    /// Bytes restored.
    pub bytes_restored: u64,
}

/// One event of a running `restore`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RestoreEvent {
    /// Periodic progress (0.16+).
    Status(RestoreProgress),
    /// Final summary (0.16+).
    Summary(RestoreProgress),
    /// A plain-text line (restic < 0.16 prints `restoring <Snapshot …> to …`).
    Text(String),
    /// Anything else.
    Other(serde_json::Value),
}

pub(crate) fn parse_restore_line(line: &[u8]) -> Result<Option<RestoreEvent>> {
    if !is_json_line(line) {
        let text = String::from_utf8_lossy(line).trim().to_owned();
        return Ok((!text.is_empty()).then_some(RestoreEvent::Text(text)));
    }
    let kind: MessageType = decode("restore", line)?;
    let _ = kind.struct_type;
    Ok(Some(match kind.message_type.as_deref() {
        Some("status") => RestoreEvent::Status(decode("restore", line)?),
        Some("summary") => RestoreEvent::Summary(decode("restore", line)?),
        _ => RestoreEvent::Other(decode("restore", line)?),
    }))
}

/// The result of `check`.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct CheckReport {
    /// Errors found (from the 0.18+ JSON summary; 0 on success otherwise).
    pub num_errors: u64,
    /// Whether restic suggests `repair index`.
    pub suggest_repair_index: bool,
    /// Whether restic suggests `prune`.
    pub suggest_prune: bool,
    /// restic's text output (< 0.18).
    pub text: String,
}

pub(crate) fn parse_check(out: &[u8]) -> CheckReport {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Summary {
        message_type: String,
        num_errors: u64,
        suggest_repair_index: bool,
        suggest_prune: bool,
    }
    let mut report = CheckReport {
        text: String::from_utf8_lossy(out).into_owned(),
        ..CheckReport::default()
    };
    for line in out.split(|b| *b == b'\n').filter(|l| is_json_line(l)) {
        if let Ok(s) = serde_json::from_slice::<Summary>(line)
            && s.message_type == "summary"
        {
            report.num_errors = s.num_errors;
            report.suggest_repair_index = s.suggest_repair_index;
            report.suggest_prune = s.suggest_prune;
        }
    }
    report
}

/// The result of `init`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InitResult {
    /// The repository id: 64 hex from 0.15 (JSON), the 10-hex prefix 0.14 prints otherwise.
    pub id: String,
}

pub(crate) fn parse_init(out: &[u8]) -> Result<InitResult> {
    let text = String::from_utf8_lossy(out);
    for line in text.lines() {
        if is_json_line(line.as_bytes()) {
            #[derive(Deserialize)]
            struct Init {
                id: String,
            }
            if let Ok(i) = serde_json::from_str::<Init>(line) {
                return Ok(InitResult { id: i.id });
            }
        } else if let Some(rest) = line.trim().strip_prefix("created restic repository ") {
            let id = rest.split_whitespace().next().unwrap_or_default();
            return Ok(InitResult { id: id.to_owned() });
        }
    }
    Err(parse_err(
        "init",
        format!("unexpected output {:?}", truncate(&text, 200)),
    ))
}

/// How many locks `unlock` removed: `Some(n)` when restic says (restic ≥ 0.15 prints nothing
/// when there were none), `None` when it only says it removed some (`--remove-all`).
pub(crate) fn parse_unlock(out: &[u8]) -> Option<u64> {
    let text = String::from_utf8_lossy(out);
    for l in text.lines() {
        if let Some(rest) = l.trim().strip_prefix("successfully removed ") {
            return rest.split_whitespace().next().and_then(|n| n.parse().ok());
        }
    }
    Some(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_text_and_json() {
        let v =
            ResticVersion::parse("restic 0.14.0 compiled with go1.19.8 on linux/amd64\n").unwrap();
        assert_eq!(v, ResticVersion::new(0, 14, 0));
        let v = ResticVersion::parse(
            r#"{"message_type":"version","version":"0.19.1","go_version":"go1.25","go_os":"linux","go_arch":"amd64"}"#,
        )
        .unwrap();
        assert_eq!(v, ResticVersion::new(0, 19, 1));
        assert!(v.at_least(0, 17, 0) && !v.at_least(0, 20, 0));
        assert!(ResticVersion::parse("garbage").is_err());
    }

    #[test]
    fn backup_lines_of_0_14_and_0_18() {
        // 0.14: short id, no packed size, no start/end, error as `{}`.
        let s = br#"{"message_type":"summary","files_new":1,"files_changed":0,"files_unmodified":0,"dirs_new":2,"dirs_changed":0,"dirs_unmodified":0,"data_blobs":1,"tree_blobs":3,"data_added":709,"total_files_processed":1,"total_bytes_processed":6,"total_duration":0.2268,"snapshot_id":"823491e7"}"#;
        let Some(BackupEvent::Summary(sum)) = parse_backup_line(s).unwrap() else {
            panic!()
        };
        assert_eq!(sum.snapshot_id.as_deref(), Some("823491e7"));
        assert_eq!(sum.data_added_packed, None);
        assert_eq!(sum.backup_start, None);
        let s = br#"{"message_type":"summary","files_new":0,"data_added":10,"data_added_packed":5,"total_duration":1.5,"backup_start":"2026-11-27T01:00:00.5+01:00","backup_end":"2026-11-27T00:00:02Z","snapshot_id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","new_field":{"x":1}}"#;
        let Some(BackupEvent::Summary(sum)) = parse_backup_line(s).unwrap() else {
            panic!()
        };
        assert_eq!(sum.data_added_packed, Some(5));
        assert_eq!(
            sum.backup_start.unwrap().to_string(),
            "2026-11-27T00:00:00.5Z"
        );
        let e = br#"{"message_type":"error","error":{},"during":"archival","item":"/srv/x"}"#;
        let Some(BackupEvent::Error(err)) = parse_backup_line(e).unwrap() else {
            panic!()
        };
        assert_eq!(
            (err.error.message.as_str(), err.item.as_str()),
            ("", "/srv/x")
        );
        let e = br#"{"message_type":"error","error":{"Op":"read","Path":"/proc/self/mem","Err":5},"during":"archival","item":"/proc/self/mem"}"#;
        let Some(BackupEvent::Error(err)) = parse_backup_line(e).unwrap() else {
            panic!()
        };
        assert_eq!(err.error.message, "read /proc/self/mem: errno 5");
        let e = br#"{"message_type":"error","error":{"message":"permission denied"},"during":"scan","item":"/srv/y"}"#;
        let Some(BackupEvent::Error(err)) = parse_backup_line(e).unwrap() else {
            panic!()
        };
        assert_eq!(err.error.message, "permission denied");
        let st = br#"{"message_type":"status","percent_done":0.5,"total_files":2,"current_files":["/a"]}"#;
        let Some(BackupEvent::Status(st)) = parse_backup_line(st).unwrap() else {
            panic!()
        };
        assert_eq!(
            (st.percent_done, st.total_files, st.files_done),
            (0.5, 2, 0)
        );
        // 0.15's mislabelled scan_finished, a future message type, and plain-text noise.
        let v = br#"{"message_type":"status","action":"scan_finished","item":"","duration":0.1}"#;
        assert!(matches!(
            parse_backup_line(v).unwrap(),
            Some(BackupEvent::Verbose(_))
        ));
        let o = br#"{"message_type":"excluded_item","item":"/x"}"#;
        assert!(matches!(
            parse_backup_line(o).unwrap(),
            Some(BackupEvent::Other(_))
        ));
        assert!(
            parse_backup_line(b"using parent snapshot 1234")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn snapshots_with_and_without_summary() {
        let out = br#"[{"time":"2025-03-01T23:30:00-05:00","tree":"t","paths":["/srv"],"hostname":"h","username":"root","uid":0,"gid":0,"id":"abc","short_id":"ab"},
          {"time":"2026-11-27T02:28:22.939452169Z","parent":"abc","tree":"t2","paths":["/srv"],"tags":null,"program_version":"restic 0.18.0","summary":{"files_new":1},"id":"def","short_id":"de"}]"#;
        let s = parse_snapshots(out).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].time.to_string(), "2025-03-02T04:30:00Z");
        assert!(s[0].tags.is_empty() && s[1].tags.is_empty());
        assert_eq!(s[1].program_version.as_deref(), Some("restic 0.18.0"));
        assert!(s[1].summary.is_some() && s[0].summary.is_none());
        assert!(parse_snapshots(b"Fatal: nope").is_err());
        // A bad field deep inside: the error names where it is.
        let bad = br#"[{"time":"2026-11-27T00:00:00Z","id":"a"},{"time":"yesterday","id":"b"}]"#;
        match parse_snapshots(bad).unwrap_err() {
            Error::Decode { path: Some(p), .. } => {
                assert!(p.contains('1') && p.ends_with("time"), "{p}")
            }
            e => panic!("expected Decode with a path, got {e:?}"),
        }
    }

    #[test]
    fn forget_shapes_of_0_14_and_0_17() {
        let v14 = br#"[{"tags":null,"host":"h","paths":["/srv"],"keep":[{"time":"2026-11-22T10:00:00Z","paths":["/srv"],"id":"c","short_id":"c"}],"remove":[{"time":"2026-11-20T10:00:00Z","paths":["/srv"],"id":"a","short_id":"a"}],"reasons":[{"snapshot":{"time":"2026-11-22T10:00:00Z","paths":["/srv"]},"matches":["last snapshot"],"counters":{"last":1}}]}]"#;
        let g = parse_forget(v14).unwrap();
        assert_eq!((g[0].keep.len(), g[0].remove.len()), (1, 1));
        assert_eq!(g[0].reasons[0].snapshot.id, None);
        assert_eq!(g[0].reasons[0].matches, ["last snapshot"]);
        let v17 = br#"[{"tags":["a"],"host":"","paths":null,"keep":null,"remove":null,"reasons":[{"snapshot":{"time":"2026-11-22T10:00:00Z","id":"c","short_id":"c"},"matches":["oldest monthly snapshot"]}]}]"#;
        let g = parse_forget(v17).unwrap();
        assert!(g[0].keep.is_empty() && g[0].paths.is_empty());
        assert_eq!(g[0].reasons[0].snapshot.id.as_deref(), Some("c"));
        assert!(parse_forget(b"").unwrap().is_empty());
    }

    #[test]
    fn ls_lines_of_0_14_and_0_17() {
        let snap = br#"{"time":"2026-11-27T00:00:00Z","tree":"t","paths":["/srv"],"id":"x","short_id":"x","struct_type":"snapshot"}"#;
        assert!(matches!(
            parse_ls_line(snap).unwrap(),
            Some(LsEntry::Snapshot(_))
        ));
        let n14 = br#"{"name":"a b","type":"file","path":"/srv/a b","uid":0,"gid":0,"size":5,"mode":420,"permissions":"-rw-r--r--","mtime":"2026-11-27T00:00:00Z","atime":"2026-11-27T00:00:00Z","ctime":"2026-11-27T00:00:00Z","struct_type":"node"}"#;
        let Some(LsEntry::Node(n)) = parse_ls_line(n14).unwrap() else {
            panic!()
        };
        assert_eq!((n.name.as_str(), n.size, n.inode), ("a b", Some(5), None));
        let n17 = br#"{"name":"d","type":"dir","path":"/srv/d","uid":0,"gid":0,"mode":2147484141,"mtime":"2026-11-27T00:00:00Z","inode":42,"message_type":"node","struct_type":"node"}"#;
        let Some(LsEntry::Node(n)) = parse_ls_line(n17).unwrap() else {
            panic!()
        };
        assert_eq!((n.node_type, n.inode), (NodeType::Dir, Some(42)));
        let dev = br#"{"name":"null","type":"chardev","path":"/dev/null","message_type":"node"}"#;
        let Some(LsEntry::Node(n)) = parse_ls_line(dev).unwrap() else {
            panic!()
        };
        assert_eq!(n.node_type, NodeType::Other("chardev".into()));
    }

    #[test]
    fn stats_init_check_unlock() {
        let s =
            parse_stats(br#"{"total_size":42,"total_file_count":14,"snapshots_count":7}"#).unwrap();
        assert_eq!(
            (s.total_size, s.total_file_count, s.snapshots_count),
            (42, Some(14), 7)
        );
        let s = parse_stats(br#"{"total_size":548,"total_uncompressed_size":900,"compression_ratio":1.6,"total_blob_count":3,"snapshots_count":7}"#).unwrap();
        assert_eq!(s.total_uncompressed_size, Some(900));
        assert_eq!(
            parse_init(b"created restic repository e38243d5f6 at /tmp/r\n\nPlease note")
                .unwrap()
                .id,
            "e38243d5f6"
        );
        let id = "a".repeat(64);
        let json = format!(r#"{{"message_type":"initialized","id":"{id}","repository":"/tmp/r"}}"#);
        assert_eq!(parse_init(json.as_bytes()).unwrap().id, id);
        let c = parse_check(br#"{"message_type":"summary","num_errors":2,"broken_packs":["p"],"suggest_repair_index":true,"suggest_prune":false}"#);
        assert_eq!((c.num_errors, c.suggest_repair_index), (2, true));
        assert_eq!(parse_check(b"no errors were found\n").num_errors, 0);
        assert_eq!(parse_unlock(b"successfully removed 3 locks\n"), Some(3));
        assert_eq!(parse_unlock(b"successfully removed locks\n"), None);
        assert_eq!(parse_unlock(b""), Some(0));
    }
}
