//! SHA-256 certificate fingerprints in PBS's colon-separated hex.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::error::Error;

/// A SHA-256 fingerprint of a DER certificate, as printed by `proxmox-backup-manager cert info`
/// and stored in Proxmox VE's `storage.cfg` (`ab:cd:…`, 32 bytes).
///
/// Parsing accepts upper or lower case, with or without colons; `Display` prints lowercase
/// hex pairs joined by `:` like PBS.
///
/// ```
/// use pbs_client::Fingerprint;
/// let text = "AB:".repeat(31) + "CD";
/// let fp: Fingerprint = text.parse().unwrap();
/// assert_eq!(fp.to_string(), text.to_lowercase());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// Wraps 32 raw bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Fingerprint(bytes)
    }

    /// The fingerprint of a DER-encoded certificate.
    pub fn of_der(der: &[u8]) -> Self {
        Fingerprint(Sha256::digest(der).into())
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl FromStr for Fingerprint {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        let compact: String = if s.contains(':') {
            let parts: Vec<&str> = s.split(':').collect();
            if parts.len() != 32 || parts.iter().any(|p| p.len() != 2) {
                return Err(Error::InvalidFingerprint {
                    message: format!(
                        "expected 32 colon-separated hex pairs, got {} groups",
                        parts.len()
                    ),
                });
            }
            parts.concat()
        } else {
            s.to_owned()
        };
        let mut out = [0u8; 32];
        hex::decode_to_slice(&compact, &mut out).map_err(|e| Error::InvalidFingerprint {
            message: format!("expected 64 hex digits: {e}"),
        })?;
        Ok(Fingerprint(out))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_forms() {
        let colon = (0..32)
            .map(|i| format!("{i:02X}"))
            .collect::<Vec<_>>()
            .join(":");
        let fp: Fingerprint = colon.parse().unwrap();
        assert_eq!(fp.as_bytes()[31], 31);
        assert_eq!(fp.to_string(), colon.to_lowercase());
        assert_eq!(fp.to_string().len(), 95);
        let bare: Fingerprint = colon.replace(':', "").parse().unwrap();
        assert_eq!(bare, fp);
        assert!("ab:cd".parse::<Fingerprint>().is_err());
        assert!("zz".repeat(32).parse::<Fingerprint>().is_err());
        assert!(colon.replacen(":", "", 1).parse::<Fingerprint>().is_err());
    }

    #[test]
    fn of_der_is_sha256() {
        // sha256("") = e3b0c442…b855
        let fp = Fingerprint::of_der(b"");
        assert!(fp.to_string().starts_with("e3:b0:c4:42"));
        assert!(fp.to_string().ends_with("b8:55"));
    }
}
