//! Host key checking against an OpenSSH `known_hosts` file, as OpenSSH does it.
//!
//! The semantics follow OpenSSH's `hostfile.c` (`check_key_in_hostkeys`) and `sshd(8)`
//! "SSH_KNOWN_HOSTS FILE FORMAT":
//!
//! - the host is looked up as `host` on port 22 and as `[host]:port` otherwise, against plain
//!   patterns (`*`/`?` wildcards, `!` negation, case-insensitive) and hashed names
//!   (`|1|salt|HMAC-SHA1(salt, name)`);
//! - a key on an `@revoked` line is never accepted (checked for every `@revoked` line, whatever
//!   its host patterns: "must not ever be accepted");
//! - the presented key is accepted when **any** plain line for the host lists it, so two keys of
//!   one type for a host (key rotation) work whatever their order; only when none matches and a
//!   line lists another key of the same type is the key "changed";
//! - `@cert-authority` lines vouch for host *certificates*, which this crate does not accept:
//!   when such a line is all the file has for the host, the refusal says so.
//!
//! Lines that cannot be parsed (unknown key types, garbage) are skipped, as OpenSSH skips them.

use std::path::Path;

use hmac::{KeyInit as _, Mac as _};
use russh::keys::ssh_key::PublicKey;
use russh::keys::ssh_key::known_hosts::{Entry, HostPatterns, KnownHosts, Marker};

/// The verdict for one presented key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// A plain line for the host lists the key.
    Known,
    /// An `@revoked` line lists the key (1-based line number).
    Revoked { line: usize },
    /// Lines for the host list other keys of the same type, none this one.
    Changed { line: usize },
    /// Only `@cert-authority` lines are there for the host.
    CertAuthorityOnly { line: usize },
    /// Nothing for this host and key type.
    Unknown,
}

/// Checks `key` for `host`:`port` against the `known_hosts` file at `path`.
pub(crate) fn check(
    path: &Path,
    host: &str,
    port: u16,
    key: &PublicKey,
) -> std::io::Result<Verdict> {
    let text = std::fs::read_to_string(path)?;
    Ok(check_text(&text, host, port, key))
}

pub(crate) fn check_text(text: &str, host: &str, port: u16, key: &PublicKey) -> Verdict {
    let name = if port == 22 {
        host.to_ascii_lowercase()
    } else {
        format!("[{}]:{port}", host.to_ascii_lowercase())
    };
    let entries: Vec<(usize, Entry)> = text
        .lines()
        .enumerate()
        .filter_map(|(i, line)| parse_line(line).map(|e| (i + 1, e)))
        .collect();
    // Revoked anywhere: never accepted.
    if let Some((line, _)) = entries
        .iter()
        .find(|(_, e)| e.marker() == Some(&Marker::Revoked) && same_key(e.public_key(), key))
    {
        return Verdict::Revoked { line: *line };
    }
    let for_host: Vec<&(usize, Entry)> = entries
        .iter()
        .filter(|(_, e)| host_matches(e.host_patterns(), &name))
        .collect();
    let plain = || for_host.iter().filter(|(_, e)| e.marker().is_none());
    if plain().any(|(_, e)| same_key(e.public_key(), key)) {
        return Verdict::Known;
    }
    if let Some((line, _)) = plain().find(|(_, e)| e.public_key().algorithm() == key.algorithm()) {
        return Verdict::Changed { line: *line };
    }
    if let Some((line, _)) = for_host
        .iter()
        .find(|(_, e)| e.marker() == Some(&Marker::CertAuthority))
    {
        return Verdict::CertAuthorityOnly { line: *line };
    }
    Verdict::Unknown
}

fn parse_line(line: &str) -> Option<Entry> {
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return None;
    }
    match KnownHosts::new(trimmed).next()? {
        Ok(e) => Some(e),
        Err(e) => {
            tracing::debug!(error = %e, "skipping a known_hosts line that does not parse");
            None
        }
    }
}

/// Same key material (comments do not count).
fn same_key(a: &PublicKey, b: &PublicKey) -> bool {
    a.key_data() == b.key_data()
}

fn host_matches(patterns: &HostPatterns, name: &str) -> bool {
    match patterns {
        HostPatterns::HashedName { salt, hash } => {
            let Ok(mac) = hmac::Hmac::<sha1::Sha1>::new_from_slice(salt) else {
                return false;
            };
            mac.chain_update(name.as_bytes()).verify_slice(hash).is_ok()
        }
        HostPatterns::Patterns(list) => {
            let mut positive = false;
            for p in list {
                let p = p.to_ascii_lowercase();
                if let Some(neg) = p.strip_prefix('!') {
                    if glob(neg.as_bytes(), name.as_bytes()) {
                        return false;
                    }
                } else if glob(p.as_bytes(), name.as_bytes()) {
                    positive = true;
                }
            }
            positive
        }
    }
}

/// OpenSSH's `match_pattern`: `*` any run, `?` one character.
fn glob(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob(&p[1..], s) || (!s.is_empty() && glob(p, &s[1..])),
        (Some(b'?'), Some(_)) => glob(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => glob(&p[1..], &s[1..]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";
    const B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILIG2T/B0l0gaqj3puu510tu9N1OkQ4znY3LYuEm5zCF";

    fn key(s: &str) -> PublicKey {
        PublicKey::from_openssh(s).unwrap()
    }

    #[test]
    fn patterns_negation_and_ports() {
        let k = key(A);
        assert_eq!(
            check_text(&format!("web*,!web9 {A}\n"), "web1", 22, &k),
            Verdict::Known
        );
        assert_eq!(
            check_text(&format!("web*,!web9 {A}\n"), "web9", 22, &k),
            Verdict::Unknown
        );
        assert_eq!(
            check_text(&format!("web1 {A}\n"), "web1", 2222, &k),
            Verdict::Unknown
        );
        assert_eq!(
            check_text(&format!("[WEB1]:2222 {A}\n"), "web1", 2222, &k),
            Verdict::Known
        );
        assert_eq!(
            check_text(
                &format!("# web1 {A}\n\ngarbage line\nweb1 {A} comment\n"),
                "web1",
                22,
                &k
            ),
            Verdict::Known
        );
    }

    #[test]
    fn rotation_revocation_and_cert_authority() {
        let (a, b) = (key(A), key(B));
        let both = format!("web1 {B}\nweb1 {A}\n");
        assert_eq!(check_text(&both, "web1", 22, &a), Verdict::Known);
        assert_eq!(
            check_text(&format!("web1 {B}\n"), "web1", 22, &a),
            Verdict::Changed { line: 1 }
        );
        assert_eq!(
            check_text(&format!("web1 {A}\n@revoked * {A}\n"), "web1", 22, &a),
            Verdict::Revoked { line: 2 }
        );
        assert_eq!(
            check_text(&format!("@revoked * {B}\nweb1 {A}\n"), "web1", 22, &a),
            Verdict::Known
        );
        assert_eq!(
            check_text(&format!("@cert-authority *.lan {B}\n"), "web1.lan", 22, &a),
            Verdict::CertAuthorityOnly { line: 1 }
        );
        assert_eq!(
            check_text(&format!("@cert-authority * {A}\n"), "web1", 22, &b),
            Verdict::CertAuthorityOnly { line: 1 }
        );
    }
}
