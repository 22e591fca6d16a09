//! PBS task identifiers (UPIDs).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;

/// A PBS task id, `UPID:{node}:{pid:08X}:{pstart:08X}:{task_id:08X}:{starttime:08X}:{worker_type}:{worker_id}:{auth_id}:`.
///
/// The worker id is kept unescaped (`store1:vm/100`); [`fmt::Display`] applies PBS's systemd-style
/// escaping again, so a parsed UPID prints back to the same string.
///
/// ```
/// use pbs_client::Upid;
/// let text = r"UPID:pbs:000004D2:00ABCDEF:00000001:65F0A000:prune:store1\x3a\x3avm-100:root@pam:";
/// let upid: Upid = text.parse().unwrap();
/// assert_eq!(upid.worker_id.as_deref(), Some("store1::vm/100"));
/// assert_eq!(upid.worker_type, "prune");
/// assert_eq!(upid.to_string(), text);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Upid {
    /// Node name.
    pub node: String,
    /// Worker process id.
    pub pid: u32,
    /// Process start time in clock ticks (may need 9 hex digits after ~497 days of uptime).
    pub pstart: u64,
    /// Task sequence number within the process.
    pub task_id: u64,
    /// Start time, Unix epoch seconds.
    pub starttime: i64,
    /// Worker type, e.g. `garbage_collection`, `prune`, `verify`, `syncjob`.
    pub worker_type: String,
    /// Worker id (unescaped), e.g. the datastore name.
    pub worker_id: Option<String>,
    /// Who started the task (`user@realm` or `user@realm!token`).
    pub auth_id: String,
}

impl Upid {
    /// A new UPID; `worker_id` is given unescaped.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        node: impl Into<String>,
        pid: u32,
        pstart: u64,
        task_id: u64,
        starttime: i64,
        worker_type: impl Into<String>,
        worker_id: Option<String>,
        auth_id: impl Into<String>,
    ) -> Self {
        Upid {
            node: node.into(),
            pid,
            pstart,
            task_id,
            starttime,
            worker_type: worker_type.into(),
            worker_id,
            auth_id: auth_id.into(),
        }
    }
}

fn bad(s: &str, message: impl Into<String>) -> Error {
    Error::InvalidUpid {
        upid: s.chars().take(200).collect(),
        message: message.into(),
    }
}

fn hex_field(s: &str, field: &str, name: &str, min: usize, max: usize) -> Result<u64, Error> {
    if field.len() < min || field.len() > max || !field.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad(
            s,
            format!("{name} must be {min}..={max} hex digits, got {field:?}"),
        ));
    }
    u64::from_str_radix(field, 16).map_err(|e| bad(s, format!("{name}: {e}")))
}

impl FromStr for Upid {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let rest = s
            .strip_prefix("UPID:")
            .ok_or_else(|| bad(s, "missing UPID: prefix"))?;
        let rest = rest
            .strip_suffix(':')
            .ok_or_else(|| bad(s, "missing trailing ':'"))?;
        let parts: Vec<&str> = rest.split(':').collect();
        let [node, pid, pstart, task_id, start, wtype, wid, auth] = parts.as_slice() else {
            return Err(bad(s, format!("expected 8 fields, got {}", parts.len())));
        };
        let node_ok = !node.is_empty()
            && node.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !node.starts_with('-')
            && !node.ends_with('-');
        if !node_ok {
            return Err(bad(s, "invalid node name"));
        }
        let pid = hex_field(s, pid, "pid", 8, 8)?;
        let pstart = hex_field(s, pstart, "pstart", 8, 9)?;
        let task_id = hex_field(s, task_id, "task id", 8, 16)?;
        let starttime = hex_field(s, start, "starttime", 8, 8)?;
        let no_space = |f: &str| !f.chars().any(char::is_whitespace);
        if wtype.is_empty() || !no_space(wtype) {
            return Err(bad(s, "invalid worker type"));
        }
        if auth.is_empty() || !no_space(auth) {
            return Err(bad(s, "invalid auth id"));
        }
        if !no_space(wid) {
            return Err(bad(s, "invalid worker id"));
        }
        let worker_id = if wid.is_empty() {
            None
        } else {
            Some(unescape_id(wid).ok_or_else(|| bad(s, "invalid escape in worker id"))?)
        };
        Ok(Upid {
            node: (*node).to_owned(),
            pid: u32::try_from(pid).map_err(|_| bad(s, "pid out of range"))?,
            pstart,
            task_id,
            starttime: i64::try_from(starttime).map_err(|_| bad(s, "starttime out of range"))?,
            worker_type: (*wtype).to_owned(),
            worker_id,
            auth_id: (*auth).to_owned(),
        })
    }
}

impl fmt::Display for Upid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let wid = self.worker_id.as_deref().map(escape_id).unwrap_or_default();
        write!(
            f,
            "UPID:{}:{:08X}:{:08X}:{:08X}:{:08X}:{}:{}:{}:",
            self.node,
            self.pid,
            self.pstart,
            self.task_id,
            self.starttime,
            self.worker_type,
            wid,
            self.auth_id
        )
    }
}

impl Serialize for Upid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Upid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// systemd unit-name escaping as PBS uses it for worker ids: `/` → `-`; bytes outside
/// `[A-Za-z0-9_.]` (and a leading `.`) → `\xNN`.
pub fn escape_id(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for (i, b) in id.bytes().enumerate() {
        if b == b'/' {
            out.push('-');
        } else if (i == 0 && b == b'.') || !(b.is_ascii_alphanumeric() || b == b'_' || b == b'.') {
            out.push_str(&format!("\\x{b:02x}"));
        } else {
            out.push(b as char);
        }
    }
    out
}

/// Reverses [`escape_id`]; `None` for a malformed escape.
pub fn unescape_id(escaped: &str) -> Option<String> {
    let bytes = escaped.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'-' => {
                out.push(b'/');
                i += 1;
            }
            b'\\' => {
                let hex = escaped.get(i + 2..i + 4)?;
                if bytes.get(i + 1) != Some(&b'x') || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return None;
                }
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 4;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_upstream_example() {
        let s = "UPID:elsa:00004F37:0039E469:00000000:5CA78B83:garbage_collection::root@pam:";
        let u: Upid = s.parse().unwrap();
        assert_eq!(u.node, "elsa");
        assert_eq!(u.pid, 0x4F37);
        assert_eq!(u.pstart, 0x0039_E469);
        assert_eq!(u.starttime, 0x5CA7_8B83);
        assert_eq!(u.worker_type, "garbage_collection");
        assert_eq!(u.worker_id, None);
        assert_eq!(u.auth_id, "root@pam");
        assert_eq!(u.to_string(), s);
    }

    #[test]
    fn nine_digit_pstart_and_token_auth() {
        let s = "UPID:pbs1:00000001:1000ABCDE:00000002:65000000:verify:store1\\x3a-vm-100:backup@pbs!mon:";
        let u: Upid = s.parse().unwrap();
        assert_eq!(u.pstart, 0x1_000A_BCDE);
        assert_eq!(u.worker_id.as_deref(), Some("store1:/vm/100"));
        assert_eq!(u.auth_id, "backup@pbs!mon");
        assert_eq!(u.to_string(), s);
    }

    #[test]
    fn rejects_malformed() {
        for s in [
            "",
            "UPID:",
            "UPID:n:1:2:3:4:t::a:",
            "UPID:n:0000000G:00000000:00000000:00000000:t::a:",
            "UPID:-n:00000001:00000000:00000000:00000000:t::a:",
            "UPID:n:00000001:00000000:00000000:00000000:t::a",
            "UPID:n:00000001:00000000:00000000:00000000:::a:",
            "UPID:n:00000001:00000000:00000000:00000000:t:\\x4:a:",
        ] {
            assert!(s.parse::<Upid>().is_err(), "{s:?} should be rejected");
        }
    }

    #[test]
    fn escape_examples() {
        assert_eq!(escape_id("store1::vm/100"), "store1\\x3a\\x3avm-100");
        assert_eq!(escape_id(".hidden"), "\\x2ehidden");
        assert_eq!(
            unescape_id("store1\\x3a\\x3avm-100").unwrap(),
            "store1::vm/100"
        );
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,120}") {
            let _ = s.parse::<Upid>();
        }

        #[test]
        fn upid_like_never_panics(s in "UPID:[a-z0-9-]{0,6}:[0-9A-Fa-f:x\\\\]{0,60}[a-z_]{0,8}:[^\\s]{0,20}:[a-z@!]{0,10}:?") {
            let _ = s.parse::<Upid>();
        }

        #[test]
        fn round_trip(
            node in "[a-z][a-z0-9]{0,10}",
            pid: u32,
            pstart in 0u64..0xF_FFFF_FFFF,
            task_id: u32,
            start in 0i64..0xFFFF_FFFF,
            wtype in "[a-z_]{1,12}",
            wid in proptest::option::of("[ -~]{1,30}"),
            auth in "[a-z]{1,8}@(pam|pbs)(![a-z]{1,5})?",
        ) {
            let u = Upid::new(node, pid, pstart, u64::from(task_id), start, wtype, wid, auth);
            let text = u.to_string();
            let back: Upid = text.parse().unwrap();
            proptest::prop_assert_eq!(back, u);
        }
    }
}
