//! Velero restore drill: the cluster's newest Completed backup restored into scratch namespaces.
//!
//! 1. The newest `Completed` backup of the cluster (any schedule).
//! 2. Its namespaces, from its resource list (`BackupResourceList`: "group/version/Kind" →
//!    `namespace/name` entries).
//! 3. A Restore of that backup with **every** one of those namespaces mapped to a fresh scratch
//!    namespace (`spec.namespaceMapping`) and no cluster-scoped resources
//!    (`includeClusterResources: false`): nothing of the live namespaces or of the cluster is
//!    touched.
//! 4. Waits for it (bounded), then compares `status.progress.itemsRestored` with the restore's
//!    `totalItems` and with the backup's namespaced items (`itemsBackedUp` less the cluster-scoped
//!    entries of its resource list, which this restore leaves out).
//! 5. Deletes the scratch namespaces — also when the restore failed or timed out.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams};
use velero_client::{
    Backup, BackupPhase, DownloadTargetKind, ListOptions, RestoreOptions, VeleroClient,
};

/// What a Velero drill did.
#[derive(Debug, Clone)]
pub struct VeleroDrill {
    /// The backup restored.
    pub backup: String,
    /// The Restore object's name.
    pub restore: String,
    /// Source namespace → scratch namespace.
    pub mapping: BTreeMap<String, String>,
    /// The Restore's final phase (or the last seen, when it timed out).
    pub phase: String,
    /// The backup's `status.progress.itemsBackedUp`.
    pub items_backed_up: Option<i64>,
    /// Cluster-scoped entries of the backup's resource list (not restored here).
    pub cluster_scoped: i64,
    /// The restore's `status.progress.totalItems`.
    pub total_items: Option<i64>,
    /// The restore's `status.progress.itemsRestored`.
    pub items_restored: Option<i64>,
    /// From creating the Restore to its final phase.
    pub took: Duration,
    /// Scratch namespaces deleted.
    pub deleted: Vec<String>,
    /// Scratch namespaces that could not be deleted, with the error.
    pub not_deleted: Vec<(String, String)>,
    /// Why waiting ended early, if it did.
    pub wait_error: Option<String>,
}

impl VeleroDrill {
    /// The items this restore should have restored: the backup's, less the cluster-scoped ones.
    pub fn expected_items(&self) -> Option<i64> {
        self.items_backed_up.map(|n| n - self.cluster_scoped)
    }

    /// The failed checks (empty: verified).
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(e) = &self.wait_error {
            out.push(e.clone());
        } else if self.phase != "Completed" {
            out.push(format!("restore {} ended {}", self.restore, self.phase));
        }
        match (self.items_restored, self.total_items) {
            (Some(r), Some(t)) if r == t => {}
            (r, t) => out.push(format!(
                "items restored {} of the restore's {}",
                opt(r),
                opt(t)
            )),
        }
        match (self.items_restored, self.expected_items()) {
            (Some(r), Some(e)) if r == e => {}
            (r, e) => out.push(format!(
                "items restored {} but the backup holds {} namespaced items",
                opt(r),
                opt(e)
            )),
        }
        for (ns, e) in &self.not_deleted {
            out.push(format!("scratch namespace {ns} not deleted: {e}"));
        }
        out
    }

    /// A few words for the table.
    pub fn detail(&self) -> String {
        format!(
            "backup {} → {} namespace(s); items {}/{} restored (backup {})",
            self.backup,
            self.mapping.len(),
            opt(self.items_restored),
            opt(self.total_items),
            opt(self.items_backed_up),
        )
    }
}

fn opt(n: Option<i64>) -> String {
    n.map_or_else(|| "?".to_owned(), |n| n.to_string())
}

/// The newest Completed backup of the cluster.
pub fn newest_completed(backups: &[Backup]) -> Option<&Backup> {
    velero_client::cli::newest_backup_in(backups, &[BackupPhase::Completed])
}

/// Namespaces and the count of cluster-scoped entries in a backup's resource list.
pub fn resource_list_namespaces(list: &[u8]) -> Result<(BTreeSet<String>, i64)> {
    let map: BTreeMap<String, Vec<String>> =
        serde_json::from_slice(list).context("parsing the backup's resource list")?;
    let mut namespaces = BTreeSet::new();
    let mut cluster_scoped = 0;
    for (kind, items) in &map {
        for item in items {
            match item.split_once('/') {
                Some((ns, _)) if !ns.is_empty() => {
                    namespaces.insert(ns.to_owned());
                }
                _ => {
                    cluster_scoped += 1;
                    // A backed-up Namespace object names a namespace too.
                    if kind == "v1/Namespace" {
                        namespaces.insert(item.clone());
                    }
                }
            }
        }
    }
    Ok((namespaces, cluster_scoped))
}

/// Scratch namespace names: `drill-<suffix>-<i>-<source>`, cut to a 63-character DNS label.
/// The index keeps them distinct after cutting.
pub fn scratch_names(sources: &BTreeSet<String>, suffix: &str) -> BTreeMap<String, String> {
    sources
        .iter()
        .enumerate()
        .map(|(i, src)| {
            let mut name = format!("drill-{suffix}-{i}-{src}");
            name.truncate(63);
            let name = name.trim_end_matches('-').to_owned();
            (src.clone(), name)
        })
        .collect()
}

/// Runs the drill; `wait` bounds the wait for the restore, `suffix` makes the scratch names
/// unique (lowercase alphanumerics).
pub async fn drill(client: &VeleroClient, wait: Duration, suffix: &str) -> Result<VeleroDrill> {
    let backups = client
        .list_backups(&ListOptions::default())
        .await
        .context("listing backups")?;
    let backup = newest_completed(&backups)
        .ok_or_else(|| anyhow!("no Completed backup in context {}", client.context()))?;
    let backup_name = backup
        .metadata
        .name
        .clone()
        .ok_or_else(|| anyhow!("a backup without a name"))?;
    let items_backed_up = backup
        .status
        .as_ref()
        .and_then(|s| s.progress.as_ref())
        .and_then(|p| p.items_backed_up);
    let list = client
        .download(DownloadTargetKind::BackupResourceList, &backup_name)
        .await
        .with_context(|| format!("downloading the resource list of {backup_name}"))?;
    let (namespaces, cluster_scoped) = resource_list_namespaces(&list)?;
    if namespaces.is_empty() {
        bail!("backup {backup_name} holds no namespaced resources to restore");
    }
    let mapping = scratch_names(&namespaces, suffix);
    let mut opts = RestoreOptions::from_backup(backup_name.clone());
    let mut restore_name = format!("drill-{suffix}-{backup_name}");
    restore_name.truncate(63);
    opts.name = Some(restore_name.trim_end_matches('-').to_owned());
    opts.include_namespaces = namespaces.iter().cloned().collect();
    opts.namespace_mapping = mapping.clone();
    opts.include_cluster_resources = Some(false);
    let started = Instant::now();
    let created = client
        .create_restore(&opts)
        .await
        .with_context(|| format!("creating a restore of {backup_name}"))?;
    let restore_name = created.metadata.name.clone().unwrap_or_default();
    let waited = client.wait_for_restore(&restore_name, wait).await;
    let took = started.elapsed();
    let (restore, wait_error) = match waited {
        Ok(r) => (Some(r), None),
        Err(e) => (
            client.get_restore(&restore_name).await.ok(),
            Some(format!("{e:#}")),
        ),
    };
    let status = restore.as_ref().and_then(|r| r.status.clone());
    let phase = restore
        .as_ref()
        .map_or_else(|| "unknown".to_owned(), |r| r.phase().to_string());
    let progress = status.as_ref().and_then(|s| s.progress.clone());
    let (deleted, not_deleted) = delete_namespaces(client, mapping.values()).await;
    Ok(VeleroDrill {
        backup: backup_name,
        restore: restore_name,
        mapping,
        phase,
        items_backed_up,
        cluster_scoped,
        total_items: progress.as_ref().and_then(|p| p.total_items),
        items_restored: progress.as_ref().and_then(|p| p.items_restored),
        took,
        deleted,
        not_deleted,
        wait_error,
    })
}

/// Deletes each scratch namespace; one that does not exist (the restore never made it) counts
/// as gone.
async fn delete_namespaces<'a>(
    client: &VeleroClient,
    names: impl Iterator<Item = &'a String>,
) -> (Vec<String>, Vec<(String, String)>) {
    let api: Api<Namespace> = Api::all(client.kube_client().clone());
    let mut deleted = Vec::new();
    let mut failed = Vec::new();
    for ns in names {
        match api.delete(ns, &DeleteParams::default()).await {
            Ok(_) => deleted.push(ns.clone()),
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => failed.push((ns.clone(), e.to_string())),
        }
    }
    (deleted, failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_list_gives_namespaces_and_cluster_scoped_count() {
        let list = br#"{"apps/v1/Deployment":["web/api","web/db"],"v1/ConfigMap":["shop/x"],
            "v1/Namespace":["web","shop"],"v1/PersistentVolume":["pv-1"]}"#;
        let (ns, cluster) = resource_list_namespaces(list).unwrap();
        assert_eq!(ns.into_iter().collect::<Vec<_>>(), ["shop", "web"]);
        assert_eq!(cluster, 3);
        assert!(resource_list_namespaces(b"[]").is_err());
    }

    #[test]
    fn scratch_names_are_distinct_dns_labels() {
        let long = "n".repeat(70);
        let sources: BTreeSet<String> = [long.clone(), format!("{long}x"), "web".to_owned()]
            .into_iter()
            .collect();
        let m = scratch_names(&sources, "abc123");
        let names: BTreeSet<&String> = m.values().collect();
        assert_eq!(names.len(), 3);
        for n in names {
            assert!(n.len() <= 63 && n.starts_with("drill-abc123-"), "{n}");
            assert!(!n.ends_with('-'));
        }
        assert_eq!(m["web"], "drill-abc123-2-web");
    }
}
