//! The snapshots a fake PBS holds.

use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A snapshot held by the fake.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct FakeSnapshot {
    /// Namespace (`""` = root).
    pub ns: String,
    /// `vm`, `ct` or `host`.
    pub backup_type: String,
    /// Backup id.
    pub backup_id: String,
    /// Epoch seconds.
    pub time: i64,
    /// Protected.
    pub protected: bool,
    /// Has a manifest.
    pub finished: bool,
    /// Verification `(state, upid)`.
    pub verification: Option<(String, String)>,
    /// Verification would fail (bad chunks).
    pub corrupt: bool,
    /// First line of the notes.
    pub comment: Option<String>,
    /// Owner.
    pub owner: String,
    /// Files and sizes.
    pub files: Vec<(String, u64)>,
    /// Decoded content of `.blob` files (see [`FakeSnapshot::with_blob`]); the manifest
    /// `index.json.blob` is generated from the snapshot itself.
    pub blobs: std::collections::BTreeMap<String, Vec<u8>>,
    /// How long the `backup` task that wrote it ran; `None` records no task (see
    /// [`FakeSnapshot::with_backup_task`]).
    pub backup_task: Option<Duration>,
}

impl FakeSnapshot {
    /// A finished snapshot owned by `root@pam` with a manifest and one archive.
    pub fn new(ns: &str, backup_type: &str, backup_id: &str, time: i64) -> Self {
        let archive = match backup_type {
            "vm" => "drive-scsi0.img.fidx",
            "ct" => "root.pxar.didx",
            _ => "data.pxar.didx",
        };
        FakeSnapshot {
            ns: ns.to_owned(),
            backup_type: backup_type.to_owned(),
            backup_id: backup_id.to_owned(),
            time,
            protected: false,
            finished: true,
            verification: None,
            corrupt: false,
            comment: None,
            owner: "root@pam".to_owned(),
            files: vec![
                ("index.json.blob".to_owned(), 512),
                (archive.to_owned(), 1 << 30),
            ],
            blobs: std::collections::BTreeMap::new(),
            backup_task: None,
        }
    }

    /// [`FakePbs::add_snapshot`](super::FakePbs::add_snapshot) also records the finished `backup` task that wrote it: started
    /// at the snapshot's time, ended `OK` after `run`.
    pub fn with_backup_task(mut self, run: Duration) -> Self {
        self.backup_task = Some(run);
        self
    }

    /// Adds a `.blob` file (e.g. `qemu-server.conf.blob`) with this decoded content, served by
    /// `download-decoded`.
    pub fn with_blob(mut self, name: &str, content: &[u8]) -> Self {
        self.files.retain(|(n, _)| n != name);
        self.files.push((name.to_owned(), content.len() as u64));
        self.blobs.insert(name.to_owned(), content.to_vec());
        self
    }

    /// The manifest as `index.json.blob` decodes: type, id, time, the other files with size,
    /// checksum and crypt mode, `unprotected` (verify state) and `signature`
    /// [PB: pbs-datastore/src/manifest.rs `BackupManifest`, `FileInfo`].
    pub(super) fn manifest(&self) -> Value {
        let files: Vec<Value> = self
            .files
            .iter()
            .filter(|(n, _)| n != "index.json.blob")
            .map(|(n, size)| {
                let csum = hex::encode(Sha256::digest(format!("{}/{n}", self.time).as_bytes()));
                json!({"filename": n, "crypt-mode": "none", "size": size, "csum": csum})
            })
            .collect();
        let mut unprotected = json!({});
        if let Some((state, upid)) = &self.verification {
            unprotected["verify_state"] = json!({"state": state, "upid": upid});
        }
        json!({
            "backup-type": self.backup_type,
            "backup-id": self.backup_id,
            "backup-time": self.time,
            "files": files,
            "unprotected": unprotected,
            "signature": null,
        })
    }

    /// Marks it protected.
    pub fn protected(mut self) -> Self {
        self.protected = true;
        self
    }

    pub(super) fn size(&self) -> u64 {
        self.files.iter().map(|f| f.1).sum()
    }

    pub(super) fn json(&self) -> Value {
        let mut v = json!({
            "backup-type": self.backup_type,
            "backup-id": self.backup_id,
            "backup-time": self.time,
            "files": self.files.iter().map(|(n, s)| json!({"filename": n, "crypt-mode": "none", "size": s})).collect::<Vec<_>>(),
            "size": self.size(),
            "owner": self.owner,
            "protected": self.protected,
        });
        if let Some((state, upid)) = &self.verification {
            v["verification"] = json!({"state": state, "upid": upid});
        }
        if let Some(c) = &self.comment {
            v["comment"] = json!(c);
        }
        v
    }
}
