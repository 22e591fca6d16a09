//! Disaster-recovery rows checked against devices: a recovery that restores from a storage on
//! the same device as what it protects, a backup stored on the device of the system it protects,
//! and targets no DR scenario covers.
//!
//! Devices come from the matrix: a storage's `device`; a target's `device`, or — when absent —
//! the device of the storage whose `address` is the target's `host` (the backup then lives on the
//! machine it protects); a system's devices are those of its targets; a device name stands for
//! itself.
//!
//! ```
//! use backup_policy::lint::{lint, LintKind};
//! use backup_policy::matrix::Matrix;
//!
//! let f = lint(&Matrix::homelab()?, "2026-11-27T12:00:00Z".parse()?);
//! // "Garage storage failure → rebuild from PBS": pbs-ruapehu sits on truenas-hdd like Garage
//! assert!(f.iter().any(|f| f.kind == LintKind::DrColocated && f.message.contains("pbs-ruapehu")));
//! // truenas-weekly backs the TrueNAS host up into Garage on that same host
//! assert!(f.iter().any(|f| f.kind == LintKind::BackupOnSource && f.subject == "truenas-weekly"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeSet;
use std::ops::Range;

use crate::lint::{Finding, LintKind, Severity};
use crate::matrix::{Matrix, Target};

/// The host part of an address (`http://192.0.2.103:30188/x` → `192.0.2.103`).
fn address_host(addr: &str) -> &str {
    let rest = addr.split_once("://").map_or(addr, |(_, r)| r);
    let rest = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    if let Some(v6) = rest.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    match rest.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => rest,
    }
}

/// The device a target's protected system lives on, and why we think so.
pub fn target_device<'m>(m: &'m Matrix, t: &'m Target) -> Option<(&'m str, String)> {
    if let Some(d) = &t.device {
        return Some((d.as_str(), format!("{} is on {d}", t.name)));
    }
    let host = t.host.as_deref()?;
    m.storage.iter().find_map(|s| {
        let a = s.address.as_deref()?;
        (address_host(a) == host).then(|| {
            (
                s.device.as_str(),
                format!("host {host} is {}'s address", s.name),
            )
        })
    })
}

/// The devices a DR `protects` entry stands for.
fn devices_of<'m>(m: &'m Matrix, item: &'m str) -> BTreeSet<&'m str> {
    let mut out = BTreeSet::new();
    if let Some(s) = m.storage(item) {
        out.insert(s.device.as_str());
    }
    for t in m
        .target
        .iter()
        .filter(|t| t.name == item || t.system() == item)
    {
        if let Some((d, _)) = target_device(m, t) {
            out.insert(d);
        }
    }
    if m.storage.iter().any(|s| s.device == item)
        || m.target.iter().any(|t| t.device.as_deref() == Some(item))
    {
        out.insert(item);
    }
    out
}

/// Load-time check of the DR rows: every `protects` entry names a storage, target, system or
/// device; every `sources` entry a storage. The error carries the entry's span.
pub(crate) fn validate(m: &Matrix) -> Result<(), (Range<usize>, String)> {
    for d in &m.dr {
        for p in &d.protects {
            let n = p.get_ref().as_str();
            let known = m.storage(n).is_some()
                || m.target.iter().any(|t| t.name == n || t.system() == n)
                || m.storage.iter().any(|s| s.device == n)
                || m.target.iter().any(|t| t.device.as_deref() == Some(n));
            if !known {
                return Err((
                    p.span(),
                    format!(
                        "DR scenario {:?} protects {n:?}, which is no storage, target, system or device",
                        d.scenario
                    ),
                ));
            }
        }
        for s in &d.sources {
            if m.storage(s.get_ref()).is_none() {
                return Err((
                    s.span(),
                    format!(
                        "DR scenario {:?} restores from unknown storage {:?}",
                        d.scenario,
                        s.get_ref()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The DR and device findings.
pub fn findings(m: &Matrix) -> Vec<Finding> {
    let mut out = Vec::new();
    for d in &m.dr {
        for src in &d.sources {
            let Some(storage) = m.storage(src.get_ref()) else {
                continue;
            };
            let dev = storage.device.as_str();
            let hit: Vec<&str> = d
                .protects
                .iter()
                .map(|p| p.get_ref().as_str())
                .filter(|p| *p != storage.name && devices_of(m, p).contains(dev))
                .collect();
            if !hit.is_empty() {
                out.push(Finding {
                    severity: Severity::Error,
                    kind: LintKind::DrColocated,
                    subject: d.scenario.clone(),
                    message: format!(
                        "DR scenario {:?} restores from {} on {dev}, the same device as {} it protects: one {dev} failure loses both",
                        d.scenario,
                        storage.name,
                        hit.join(", ")
                    ),
                });
            }
        }
    }
    for t in &m.target {
        let Some(storage) = t.storage_name().and_then(|s| m.storage(s)) else {
            continue;
        };
        if let Some((dev, why)) = target_device(m, t)
            && dev == storage.device
        {
            out.push(Finding {
                severity: if t.enabled {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                kind: LintKind::BackupOnSource,
                subject: t.name.clone(),
                message: format!(
                    "{} backs {} up into {} on {dev}, the device {} itself lives on ({why}): losing it loses the backup too",
                    t.name,
                    t.system(),
                    storage.name,
                    t.system()
                ),
            });
        }
    }
    let named: BTreeSet<&str> =
        m.dr.iter()
            .flat_map(|d| d.protects.iter().map(|p| p.get_ref().as_str()))
            .collect();
    let uncovered: Vec<&Target> = m
        .target
        .iter()
        .filter(|t| {
            let explicit = named.contains(t.name.as_str()) || named.contains(t.system());
            // a row without `protects` covers its tools' targets (matrices written before it)
            let legacy =
                m.dr.iter()
                    .any(|d| d.protects.is_empty() && d.tools.contains(&t.tool));
            !explicit && !legacy
        })
        .collect();
    if !uncovered.is_empty() {
        let names: Vec<String> = uncovered
            .iter()
            .map(|t| format!("{} ({})", t.name, t.system()))
            .collect();
        out.push(Finding {
            severity: Severity::Warning,
            kind: LintKind::DrUncovered,
            subject: "dr".into(),
            message: format!(
                "no DR scenario covers {}: how they are recovered is not written down",
                names.join(", ")
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_hosts() {
        assert_eq!(address_host("http://192.0.2.103:30188"), "192.0.2.103");
        assert_eq!(address_host("https://u:p@nas.lan:8007/x"), "nas.lan");
        assert_eq!(address_host("[2001:db8::1]:8007"), "2001:db8::1");
        assert_eq!(address_host("nas"), "nas");
    }

    const BASE: &str = "timezone = \"UTC\"\n\
        [[storage]]\nname = \"a\"\nkind = \"s3\"\ndevice = \"disk1\"\naddress = \"http://192.0.2.1:9000\"\n\
        [[storage]]\nname = \"b\"\nkind = \"pbs\"\ndevice = \"disk2\"\n\
        [[target]]\nname = \"t\"\nsystem = \"sys\"\nkind = \"vm\"\ntool = \"pbs\"\nstorage = \"b\"\n\
        [[target.schedule]]\nname = \"w\"\ncalendar = \"sun 02:00\"\nretention = { keep_last = 3 }\n";

    fn kinds(extra: &str) -> Vec<(LintKind, String)> {
        let m = Matrix::from_toml(&format!("{BASE}{extra}"), "t.toml").unwrap();
        findings(&m)
            .into_iter()
            .map(|f| (f.kind, f.message))
            .collect()
    }

    #[test]
    fn separate_devices_are_fine_and_colocation_is_found() {
        let ok = "[[dr]]\nscenario = \"s3 lost\"\nmethod = \"m\"\nprotects = [\"a\"]\nsources = [\"b\"]\n\
                  [[dr]]\nscenario = \"vm lost\"\nmethod = \"m\"\nprotects = [\"sys\"]\nsources = [\"b\"]\n";
        assert!(kinds(ok).is_empty(), "{:?}", kinds(ok));
        let bad = "[[dr]]\nscenario = \"disk2 lost\"\nmethod = \"m\"\nprotects = [\"disk2\"]\nsources = [\"b\"]\n\
                   [[dr]]\nscenario = \"vm lost\"\nmethod = \"m\"\nprotects = [\"t\"]\n";
        let k = kinds(bad);
        assert_eq!(k.len(), 1, "{k:?}");
        assert_eq!(k[0].0, LintKind::DrColocated);
    }

    #[test]
    fn backup_on_its_own_host_is_found() {
        let extra = "[[target]]\nname = \"nas\"\nkind = \"host\"\nhost = \"192.0.2.1\"\ntool = \"restic\"\nstorage = \"a\"\n\
                     [[target.schedule]]\nname = \"w\"\ncron = \"0 6 * * 0\"\nretention = { keep_last = 3 }\n\
                     [[dr]]\nscenario = \"all\"\nmethod = \"m\"\nprotects = [\"sys\", \"nas\"]\n";
        let k = kinds(extra);
        assert_eq!(k.len(), 1, "{k:?}");
        assert_eq!(k[0].0, LintKind::BackupOnSource);
        assert!(
            k[0].1.contains("host 192.0.2.1 is a's address"),
            "{}",
            k[0].1
        );
    }

    #[test]
    fn uncovered_targets_are_listed() {
        let k = kinds("[[dr]]\nscenario = \"s\"\nmethod = \"m\"\nprotects = [\"a\"]\n");
        assert_eq!(k.len(), 1);
        assert_eq!(k[0].0, LintKind::DrUncovered);
        assert!(k[0].1.contains("t (sys)"), "{}", k[0].1);
        // a legacy row (no `protects`) covers its tools' targets
        assert!(kinds("[[dr]]\nscenario = \"s\"\nmethod = \"m\"\ntools = [\"pbs\"]\n").is_empty());
    }

    #[test]
    fn unknown_names_are_refused_with_position() {
        let src = format!(
            "{BASE}[[dr]]\nscenario = \"s\"\nmethod = \"m\"\nprotects = [\"a\", \"nope\"]\n"
        );
        let e = Matrix::from_toml(&src, "t.toml").unwrap_err();
        let line = src.lines().position(|l| l.contains("nope")).unwrap() + 1;
        assert_eq!(e.line_column(), Some((line, 18)), "{e}");
        let src =
            format!("{BASE}[[dr]]\nscenario = \"s\"\nmethod = \"m\"\nsources = [\"disk1\"]\n");
        let e = Matrix::from_toml(&src, "t.toml").unwrap_err();
        assert!(e.to_string().contains("unknown storage \"disk1\""), "{e}");
    }
}
