//! The calls scoped to one datastore: [`Datastore`], from [`Client::datastore`].

use reqwest::Method;

use crate::auth::encode_component;
use crate::client::{Client, MAX_BLOB_BYTES, group_query};
use crate::error::{Error, Result};
use crate::types::*;
use crate::upid::Upid;

/// One datastore of a server: the calls under `/admin/datastore/{store}`.
///
/// Made by [`Client::datastore`]; cheap to clone (it shares the client's connection pool and
/// tickets).
///
/// ```no_run
/// # async fn run(client: pbs_client::Client) -> pbs_client::Result<()> {
/// use pbs_client::StatusDetail;
/// let store = client.datastore("store1");
/// let status = store.status(StatusDetail::Summary).await?;
/// println!("{} of {} bytes used", status.used, status.total);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Datastore {
    client: Client,
    name: String,
}

impl Datastore {
    pub(crate) fn new(client: Client, name: String) -> Self {
        Datastore { client, name }
    }

    /// The datastore's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The client this handle was made from.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn path(&self, rest: &str) -> String {
        format!("admin/datastore/{}/{rest}", encode_component(&self.name))
    }

    /// `GET /admin/datastore/{store}/status`: sizes; [`StatusDetail::Verbose`] adds the GC
    /// status and the group and snapshot counts.
    ///
    /// ```no_run
    /// # async fn run(client: pbs_client::Client) -> pbs_client::Result<()> {
    /// use pbs_client::StatusDetail;
    /// let status = client.datastore("store1").status(StatusDetail::Verbose).await?;
    /// println!("{} bytes free, counts {:?}", status.avail, status.counts);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown datastore, and the errors of every request (see
    /// [`Client`]).
    pub async fn status(&self, detail: StatusDetail) -> Result<DataStoreStatus> {
        let verbose = detail == StatusDetail::Verbose;
        self.client
            .get(&self.path("status"), &[("verbose", verbose.to_string())])
            .await
    }

    /// `GET /admin/datastore/{store}/namespace`: `parent` and everything below it up to
    /// `max_depth` (the anchor itself is included; the root is `""`).
    ///
    /// ```no_run
    /// # async fn run(client: pbs_client::Client) -> pbs_client::Result<()> {
    /// for ns in client.datastore("store1").namespaces(Some("prod"), Some(2)).await? {
    ///     println!("{:?}", ns.ns);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown datastore or parent, and the errors of every request (see [`Client`]).
    pub async fn namespaces(
        &self,
        parent: Option<&str>,
        max_depth: Option<u8>,
    ) -> Result<Vec<NamespaceListItem>> {
        let mut q = Vec::new();
        if let Some(p) = parent {
            q.push(("parent", p.to_owned()));
        }
        if let Some(d) = max_depth {
            q.push(("max-depth", d.to_string()));
        }
        self.client.get(&self.path("namespace"), &q).await
    }

    /// `GET /admin/datastore/{store}/groups` of one namespace (not recursive; `None` is the
    /// root).
    ///
    /// ```no_run
    /// # async fn run(client: pbs_client::Client) -> pbs_client::Result<()> {
    /// for g in client.datastore("store1").groups(None).await? {
    ///     println!("{}/{}: {} snapshots", g.backup_type, g.backup_id, g.backup_count);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown datastore or namespace, and the errors of every
    /// request (see [`Client`]).
    pub async fn groups(&self, ns: Option<&str>) -> Result<Vec<GroupListItem>> {
        let q: Vec<_> = ns.map(|n| ("ns", n.to_owned())).into_iter().collect();
        self.client.get(&self.path("groups"), &q).await
    }

    /// `GET /admin/datastore/{store}/snapshots`, filtered (one namespace, not recursive).
    ///
    /// ```no_run
    /// # async fn run(client: pbs_client::Client) -> pbs_client::Result<()> {
    /// use pbs_client::{BackupType, SnapshotFilter};
    /// let filter = SnapshotFilter::new().with_ns("prod").with_group(BackupType::Vm, "100");
    /// let snaps = client.datastore("store1").snapshots(&filter).await?;
    /// println!("{} snapshots", snaps.len());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown datastore or namespace, and the errors of every
    /// request (see [`Client`]).
    pub async fn snapshots(&self, filter: &SnapshotFilter) -> Result<Vec<SnapshotListItem>> {
        self.client
            .get(&self.path("snapshots"), &filter.query())
            .await
    }

    /// Every snapshot of the datastore in every namespace (listing is per namespace in PBS, so
    /// tools that only query the root miss namespaced backups). Returns `(namespace, snapshot)`
    /// pairs; the root namespace is `""`.
    ///
    /// ```no_run
    /// # async fn run(client: pbs_client::Client) -> pbs_client::Result<()> {
    /// for (ns, snap) in client.datastore("store1").snapshots_all_namespaces().await? {
    ///     println!("{ns:?} {}/{} {}", snap.backup_type, snap.backup_id, snap.backup_time);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// The first error of the namespace or snapshot listings (see [`Datastore::snapshots`]).
    pub async fn snapshots_all_namespaces(&self) -> Result<Vec<(String, SnapshotListItem)>> {
        let mut out = Vec::new();
        for ns in self.namespaces(None, None).await? {
            let filter = if ns.ns.is_empty() {
                SnapshotFilter::new()
            } else {
                SnapshotFilter::new().with_ns(ns.ns.clone())
            };
            for snap in self.snapshots(&filter).await? {
                out.push((ns.ns.clone(), snap));
            }
        }
        Ok(out)
    }

    /// `GET /admin/datastore/{store}/files` of one snapshot.
    ///
    /// ```no_run
    /// # async fn run(client: pbs_client::Client) -> pbs_client::Result<()> {
    /// use pbs_client::{BackupType, GroupRef};
    /// let group = GroupRef::new(BackupType::Ct, "200");
    /// for f in client.datastore("store1").snapshot_files(&group, 1717200000).await? {
    ///     println!("{} {:?}", f.filename, f.size);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown datastore, group or snapshot, and the errors of every
    /// request (see [`Client`]).
    pub async fn snapshot_files(
        &self,
        group: &GroupRef,
        backup_time: i64,
    ) -> Result<Vec<BackupContent>> {
        let mut q = group_query(group);
        q.push(("backup-time", backup_time.to_string()));
        self.client.get(&self.path("files"), &q).await
    }

    /// `GET /admin/datastore/{store}/download-decoded`: the decoded content of one `.blob`
    /// file of a snapshot — its manifest `index.json.blob`, a VM's `qemu-server.conf.blob`, a
    /// container's `pct.conf.blob`, …  Reads back data from the datastore through the API (PBS
    /// decodes the blob and checks its CRC while streaming).
    ///
    /// Only blob files: index archives (`.fidx`, `.didx`) decode to whole disk images or
    /// file archives, which this call does not read. PBS refuses an encrypted file ("cannot
    /// decode … - is encrypted") [proxmox/proxmox-backup src/api2/admin/datastore.rs
    /// `download_file_decoded`].
    ///
    /// ```no_run
    /// # async fn run(client: pbs_client::Client) -> pbs_client::Result<()> {
    /// use pbs_client::{BackupType, GroupRef};
    /// let config = client
    ///     .datastore("store1")
    ///     .download_blob(&GroupRef::new(BackupType::Vm, "100"), 1717200000, "qemu-server.conf.blob")
    ///     .await?;
    /// println!("{}", String::from_utf8_lossy(&config));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] before any request for a name that is not a plain `.blob` file,
    /// [`Error::TooLarge`] beyond [`MAX_BLOB_BYTES`], [`Error::NotFound`] for an unknown
    /// snapshot or file, [`Error::Api`] for an encrypted file, and the errors of every request (see [`Client`]).
    pub async fn download_blob(
        &self,
        group: &GroupRef,
        backup_time: i64,
        file_name: &str,
    ) -> Result<Vec<u8>> {
        let plain = !file_name.is_empty()
            && file_name.ends_with(".blob")
            && !file_name.contains(['/', '\\', '\0']);
        if !plain {
            return Err(Error::config(format!(
                "download_blob reads .blob files only, not {file_name:?}"
            )));
        }
        let mut q = group_query(group);
        q.push(("backup-time", backup_time.to_string()));
        q.push(("file-name", file_name.to_owned()));
        self.client
            .inner
            .request_limited(
                Method::GET,
                &self.path("download-decoded"),
                &q,
                None,
                MAX_BLOB_BYTES,
            )
            .await
    }

    /// `POST /admin/datastore/{store}/prune` for one group; with [`PruneMode::DryRun`] nothing
    /// is removed. The answer lists every snapshot, oldest first, with its keep/remove
    /// decision.
    ///
    /// ```no_run
    /// # async fn run(client: pbs_client::Client) -> pbs_client::Result<()> {
    /// use pbs_client::{BackupType, GroupRef, KeepOptions, PruneMode};
    /// let keep = KeepOptions::new().keep_daily(7).keep_weekly(4);
    /// let plan = client
    ///     .datastore("store1")
    ///     .prune_group(&GroupRef::new(BackupType::Vm, "100"), &keep, PruneMode::DryRun)
    ///     .await?;
    /// println!("would remove {}", plan.iter().filter(|p| !p.keep).count());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown datastore or group, [`Error::Api`] for keep options
    /// PBS rejects (e.g. a count of 0), and the errors of every request (see [`Client`]).
    pub async fn prune_group(
        &self,
        group: &GroupRef,
        keep: &KeepOptions,
        mode: PruneMode,
    ) -> Result<Vec<PruneResult>> {
        let mut body = serde_json::to_value(keep).map_err(|e| Error::config(e.to_string()))?;
        if let serde_json::Value::Object(map) = &mut body {
            for (k, v) in group_query(group) {
                map.insert(k.to_owned(), v.into());
            }
            map.insert("dry-run".to_owned(), mode.is_dry_run().into());
        }
        self.client
            .write(Method::POST, &self.path("prune"), Some(body))
            .await
    }

    /// `POST /admin/datastore/{store}/prune-datastore`: starts a task pruning every group.
    ///
    /// ```no_run
    /// # async fn run(client: pbs_client::Client) -> pbs_client::Result<()> {
    /// use pbs_client::{KeepOptions, PruneDatastoreOptions, PruneMode};
    /// let options = PruneDatastoreOptions::new(KeepOptions::new().keep_daily(7).keep_weekly(4))
    ///     .with_mode(PruneMode::DryRun);
    /// let upid = client.datastore("store1").prune(&options).await?;
    /// println!("prune task {upid}");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown datastore, [`Error::Decode`] when the answer is not a
    /// UPID, and the errors of every request (see [`Client`]).
    pub async fn prune(&self, options: &PruneDatastoreOptions) -> Result<Upid> {
        let body = serde_json::to_value(options).map_err(|e| Error::config(e.to_string()))?;
        self.client
            .start_task(&self.path("prune-datastore"), body)
            .await
    }

    /// `POST /admin/datastore/{store}/verify`: starts a verify task.
    ///
    /// ```no_run
    /// # async fn run(client: pbs_client::Client) -> pbs_client::Result<()> {
    /// use std::time::Duration;
    /// use pbs_client::VerifyOptions;
    /// let upid = client.datastore("store1").verify(&VerifyOptions::new()).await?;
    /// client.wait_task(&upid, Duration::from_secs(3600)).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown datastore, [`Error::Decode`] when the answer is not a
    /// UPID, and the errors of every request (see [`Client`]).
    pub async fn verify(&self, options: &VerifyOptions) -> Result<Upid> {
        let body = serde_json::to_value(options).map_err(|e| Error::config(e.to_string()))?;
        self.client.start_task(&self.path("verify"), body).await
    }

    /// `POST /admin/datastore/{store}/gc`: starts garbage collection.
    ///
    /// ```no_run
    /// # async fn run(client: pbs_client::Client) -> pbs_client::Result<()> {
    /// use std::time::Duration;
    /// let upid = client.datastore("store1").start_gc().await?;
    /// client.wait_task(&upid, Duration::from_secs(3600)).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown datastore, [`Error::PermissionDenied`] without
    /// `Datastore.Modify`, [`Error::Decode`] when the answer is not a UPID, and the errors of
    /// every request (see [`Client`]).
    pub async fn start_gc(&self) -> Result<Upid> {
        self.client
            .start_task(&self.path("gc"), serde_json::json!({}))
            .await
    }

    /// `GET /admin/datastore/{store}/gc`: status of the last garbage collection (`store` is
    /// `None` on PBS before 3.2.2).
    ///
    /// ```no_run
    /// # async fn run(client: pbs_client::Client) -> pbs_client::Result<()> {
    /// let gc = client.datastore("store1").gc_status().await?;
    /// println!("last GC {:?}, removed {} bytes", gc.last_run_state, gc.status.removed_bytes);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown datastore, and the errors of every request (see [`Client`]).
    pub async fn gc_status(&self) -> Result<GarbageCollectionJobStatus> {
        self.client.get(&self.path("gc"), &[]).await
    }
}
