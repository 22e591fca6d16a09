//! Per-node operations (Garage ≥ 2.0): node info and statistics, metadata snapshots, repair
//! operations (scrub and the others), background workers, block errors and resync.
//!
//! Each call names the nodes it goes to ([`Nodes`]) and answers one result per node
//! ([`NodeResults`], Garage's `MultiResponse`). Shapes from `garage_api_admin-2.5.0:api.rs`.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::json;

use super::types::{FreeSpace, NodeRole};
use super::{AdminClient, Call};
use crate::error::Result;

/// Which nodes a per-node call goes to (`node=` query parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Nodes<'a> {
    /// The node that answers the admin request (`self`).
    This,
    /// Every node of the cluster (`*`).
    All,
    /// The node whose id starts with this hex prefix.
    Id(&'a str),
}

impl Nodes<'_> {
    fn as_query(&self) -> &str {
        match self {
            Nodes::This => "self",
            Nodes::All => "*",
            Nodes::Id(id) => id,
        }
    }
}

/// Answers of a per-node call: successes and error messages by node id.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(bound(deserialize = "T: DeserializeOwned"))]
#[non_exhaustive]
pub struct NodeResults<T> {
    /// Node id → answer, for the nodes that succeeded.
    #[serde(default = "BTreeMap::new")]
    pub success: BTreeMap<String, T>,
    /// Node id → error message, for the nodes that failed.
    #[serde(default)]
    pub error: BTreeMap<String, String>,
}

impl<T> NodeResults<T> {
    /// The only answer when exactly one node succeeded and none failed (calls with
    /// [`Nodes::This`] or [`Nodes::Id`]).
    pub fn single(&self) -> Option<(&str, &T)> {
        match (self.success.len(), self.error.is_empty()) {
            (1, true) => self.success.iter().next().map(|(k, v)| (k.as_str(), v)),
            _ => None,
        }
    }

    /// Whether every node answered successfully.
    pub fn all_ok(&self) -> bool {
        self.error.is_empty()
    }
}

/// `GetNodeInfo` for one node.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct NodeInfo {
    /// Node id.
    pub node_id: String,
    /// Host name (2.3+).
    pub hostname: Option<String>,
    /// Garage version, e.g. `v2.5.0`.
    pub garage_version: String,
    /// Build features.
    pub garage_features: Option<Vec<String>>,
    /// rustc version of the build.
    pub rust_version: String,
    /// Metadata engine (`sqlite`, `lmdb`, `fjall`).
    pub db_engine: String,
    /// How S3 clients should connect (2.5+).
    pub connection_parameters: Option<ConnectionParameters>,
    /// RPC address (2.3+).
    pub addr: Option<String>,
    /// Connected (2.3+).
    pub is_up: Option<bool>,
    /// Role in the layout (2.3+).
    pub role: Option<NodeRole>,
    /// Draining (2.3+).
    pub draining: Option<bool>,
    /// Data disk space (2.3+).
    pub data_partition: Option<FreeSpace>,
    /// Metadata disk space (2.3+).
    pub metadata_partition: Option<FreeSpace>,
}

/// Connection parameters a node advertises to S3 clients (Garage 2.5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct ConnectionParameters {
    /// S3 region.
    pub region: String,
    /// S3 endpoint URL, when configured (`s3_api.public_endpoint`).
    pub s3_endpoint: Option<String>,
    /// Path-style addressing.
    pub s3_use_path_style: Option<bool>,
    /// K2V endpoint URL.
    pub k2v_endpoint: Option<String>,
}

/// `GetNodeStatistics` for one node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct NodeStatistics {
    /// Human-readable text (do not parse).
    pub freeform: String,
    /// Metadata tables (2.3+).
    pub table_stats: Option<Vec<TableStats>>,
    /// Block manager (2.3+).
    pub block_manager_stats: Option<BlockManagerStats>,
}

/// Statistics of one metadata table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct TableStats {
    /// Table name (`bucket_v2`, `object`, `block_ref`, …).
    pub table_name: String,
    /// Items stored.
    pub items: u64,
    /// Merkle tree size.
    pub merkle_items: u64,
    /// Merkle update queue.
    pub merkle_queue_len: u64,
    /// Remote insert queue.
    pub insert_queue_len: u64,
    /// Garbage collection queue.
    pub gc_queue_len: u64,
}

/// Statistics of the block manager.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct BlockManagerStats {
    /// Reference counter entries.
    pub rc_entries: u64,
    /// Blocks waiting for resync.
    pub resync_queue_len: u64,
    /// Blocks whose resync failed.
    pub resync_errors: u64,
}

/// A repair operation (`LaunchRepairOperation` `repairType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RepairType {
    /// Full sync of metadata tables.
    Tables,
    /// Check that every referenced block is stored, fetch missing ones.
    Blocks,
    /// Repair object versions.
    Versions,
    /// Repair multipart uploads.
    MultipartUploads,
    /// Repair block references.
    BlockRefs,
    /// Recompute block reference counters.
    BlockRc,
    /// Move data blocks to their place after a layout change.
    Rebalance,
    /// Data scrub: read every block and check its hash.
    Scrub(ScrubCommand),
    /// Repair bucket aliases.
    Aliases,
    /// Empty the resync queue.
    ClearResyncQueue,
}

/// What to do with the scrub worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScrubCommand {
    /// Start a scrub.
    Start,
    /// Pause it.
    Pause,
    /// Resume it.
    Resume,
    /// Cancel it.
    Cancel,
}

impl RepairType {
    /// The JSON of `repairType` (serde's external tagging in camelCase, as Garage reads it).
    pub(crate) fn to_json(self) -> serde_json::Value {
        let name = match self {
            RepairType::Tables => "tables",
            RepairType::Blocks => "blocks",
            RepairType::Versions => "versions",
            RepairType::MultipartUploads => "multipartUploads",
            RepairType::BlockRefs => "blockRefs",
            RepairType::BlockRc => "blockRc",
            RepairType::Rebalance => "rebalance",
            RepairType::Aliases => "aliases",
            RepairType::ClearResyncQueue => "clearResyncQueue",
            RepairType::Scrub(cmd) => {
                let cmd = match cmd {
                    ScrubCommand::Start => "start",
                    ScrubCommand::Pause => "pause",
                    ScrubCommand::Resume => "resume",
                    ScrubCommand::Cancel => "cancel",
                };
                return json!({ "scrub": cmd });
            }
        };
        json!(name)
    }
}

/// A background worker of a node (`ListWorkers`, `GetWorkerInfo`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct WorkerInfo {
    /// Worker id (per node).
    pub id: u64,
    /// Name, e.g. `Block scrub worker`.
    pub name: String,
    /// State.
    pub state: WorkerState,
    /// Errors since start.
    pub errors: u64,
    /// Consecutive errors.
    pub consecutive_errors: u64,
    /// Last error.
    pub last_error: Option<WorkerLastError>,
    /// Tranquility (throttling) setting.
    pub tranquility: Option<u32>,
    /// Progress text.
    pub progress: Option<String>,
    /// Queue length.
    pub queue_length: Option<u64>,
    /// Persistent errors.
    pub persistent_errors: Option<u64>,
    /// Extra human-readable lines.
    pub freeform: Vec<String>,
}

/// State of a worker; unknown states are kept.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub enum WorkerState {
    /// Working.
    Busy,
    /// Sleeping for this many seconds between work items.
    Throttled {
        /// Seconds.
        duration_secs: f32,
    },
    /// Waiting for work.
    #[default]
    Idle,
    /// Finished.
    Done,
    /// Any other JSON value.
    Unknown(serde_json::Value),
}

impl<'de> Deserialize<'de> for WorkerState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Ok(match &v {
            serde_json::Value::String(s) if s == "busy" => WorkerState::Busy,
            serde_json::Value::String(s) if s == "idle" => WorkerState::Idle,
            serde_json::Value::String(s) if s == "done" => WorkerState::Done,
            serde_json::Value::Object(m) => match m
                .get("throttled")
                .and_then(|t| t.get("durationSecs"))
                .and_then(serde_json::Value::as_f64)
            {
                Some(secs) => WorkerState::Throttled {
                    duration_secs: secs as f32,
                },
                None => WorkerState::Unknown(v),
            },
            _ => WorkerState::Unknown(v),
        })
    }
}

/// The last error of a worker.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct WorkerLastError {
    /// Message.
    pub message: String,
    /// Seconds ago.
    pub secs_ago: u64,
}

/// A block whose resync failed (`ListBlockErrors`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct BlockError {
    /// Block hash (hex).
    pub block_hash: String,
    /// References to the block.
    pub refcount: u64,
    /// Failed attempts.
    pub error_count: u64,
    /// Seconds since the last attempt.
    pub last_try_secs_ago: u64,
    /// Seconds until the next attempt.
    pub next_try_in_secs: u64,
}

/// Which blocks `RetryBlockResync` retries now.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryBlocks {
    /// Every block in error.
    All,
    /// These block hashes.
    Hashes(Vec<String>),
}

#[derive(Deserialize)]
struct Count {
    count: u64,
}

/// Answers of calls that return nothing per node (`null`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Done;

impl<'de> Deserialize<'de> for Done {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d)?;
        Ok(Done)
    }
}

/// Which workers [`AdminClient::list_workers`] lists (default: all).
///
/// ```
/// use garage_client::admin::WorkerFilter;
/// let failing = WorkerFilter::default().busy().in_error();
/// assert!(failing.busy_only && failing.error_only);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerFilter {
    /// Only workers that are busy.
    pub busy_only: bool,
    /// Only workers whose last run failed.
    pub error_only: bool,
}

impl WorkerFilter {
    /// Only busy workers.
    pub fn busy(mut self) -> Self {
        self.busy_only = true;
        self
    }
    /// Only workers in error.
    pub fn in_error(mut self) -> Self {
        self.error_only = true;
        self
    }
}

impl AdminClient {
    /// `GetNodeInfo`: version, features, database engine, disk space of the nodes.
    ///
    /// # Errors
    ///
    /// [`Error::Admin`](crate::Error::Admin) when Garage refuses the call (see
    /// [`Error::is_not_found`](crate::Error::is_not_found),
    /// [`Error::is_unauthenticated`](crate::Error::is_unauthenticated));
    /// [`Error::Transport`](crate::Error::Transport) when no answer came (reads are retried);
    /// [`Error::Decode`](crate::Error::Decode) when the answer does not have the documented shape;
    /// [`Error::Unsupported`](crate::Error::Unsupported) against Garage 1.x (admin API v1).
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use garage_client::admin::Nodes;
    /// let info = admin.node_info(Nodes::This).await?;
    /// # let _ = info;
    /// # Ok(()) }
    /// ```
    pub async fn node_info(&self, nodes: Nodes<'_>) -> Result<NodeResults<NodeInfo>> {
        self.call(Call::new("GetNodeInfo").q("node", nodes.as_query()))
            .await
    }

    /// `GetNodeStatistics`.
    ///
    /// # Errors
    ///
    /// [`Error::Admin`](crate::Error::Admin) when Garage refuses the call (see
    /// [`Error::is_not_found`](crate::Error::is_not_found),
    /// [`Error::is_unauthenticated`](crate::Error::is_unauthenticated));
    /// [`Error::Transport`](crate::Error::Transport) when no answer came (reads are retried);
    /// [`Error::Decode`](crate::Error::Decode) when the answer does not have the documented shape;
    /// [`Error::Unsupported`](crate::Error::Unsupported) against Garage 1.x (admin API v1).
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use garage_client::admin::Nodes;
    /// let stats = admin.node_statistics(Nodes::All).await?;
    /// # let _ = stats;
    /// # Ok(()) }
    /// ```
    pub async fn node_statistics(&self, nodes: Nodes<'_>) -> Result<NodeResults<NodeStatistics>> {
        self.call(Call::new("GetNodeStatistics").q("node", nodes.as_query()))
            .await
    }

    /// `CreateMetadataSnapshot`: a consistent copy of the metadata database in
    /// `metadata_dir/snapshots/`.
    ///
    /// # Errors
    ///
    /// [`Error::Admin`](crate::Error::Admin) when Garage refuses the call (see
    /// [`Error::is_not_found`](crate::Error::is_not_found),
    /// [`Error::is_unauthenticated`](crate::Error::is_unauthenticated));
    /// [`Error::Transport`](crate::Error::Transport) when no answer came (reads are retried);
    /// [`Error::Decode`](crate::Error::Decode) when the answer does not have the documented shape;
    /// [`Error::Unsupported`](crate::Error::Unsupported) against Garage 1.x (admin API v1).
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use garage_client::admin::Nodes;
    /// admin.create_metadata_snapshot(Nodes::All).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_metadata_snapshot(&self, nodes: Nodes<'_>) -> Result<NodeResults<Done>> {
        self.call(Call::new("CreateMetadataSnapshot").q("node", nodes.as_query()))
            .await
    }

    /// `LaunchRepairOperation` (runs in the background; watch it with
    /// [`Self::list_workers`]).
    ///
    /// # Errors
    ///
    /// [`Error::Admin`](crate::Error::Admin) when Garage refuses the call (see
    /// [`Error::is_not_found`](crate::Error::is_not_found),
    /// [`Error::is_unauthenticated`](crate::Error::is_unauthenticated));
    /// [`Error::Transport`](crate::Error::Transport) when no answer came (reads are retried);
    /// [`Error::Decode`](crate::Error::Decode) when the answer does not have the documented shape;
    /// [`Error::Unsupported`](crate::Error::Unsupported) against Garage 1.x (admin API v1).
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use garage_client::admin::{Nodes, RepairType, ScrubCommand};
    /// admin.launch_repair(Nodes::All, RepairType::Scrub(ScrubCommand::Start)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn launch_repair(
        &self,
        nodes: Nodes<'_>,
        repair: RepairType,
    ) -> Result<NodeResults<Done>> {
        self.call(
            Call::new("LaunchRepairOperation")
                .q("node", nodes.as_query())
                .body(json!({ "repairType": repair.to_json() })),
        )
        .await
    }

    /// `ListWorkers`: all of them ([`WorkerFilter::default`]), or only the busy ones and/or
    /// those in error.
    ///
    /// # Errors
    ///
    /// [`Error::Admin`](crate::Error::Admin) when Garage refuses the call (see
    /// [`Error::is_not_found`](crate::Error::is_not_found),
    /// [`Error::is_unauthenticated`](crate::Error::is_unauthenticated));
    /// [`Error::Transport`](crate::Error::Transport) when no answer came (reads are retried);
    /// [`Error::Decode`](crate::Error::Decode) when the answer does not have the documented shape;
    /// [`Error::Unsupported`](crate::Error::Unsupported) against Garage 1.x (admin API v1).
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use garage_client::admin::{Nodes, WorkerFilter};
    /// let failing = admin.list_workers(Nodes::All, WorkerFilter::default().in_error()).await?;
    /// # let _ = failing;
    /// # Ok(()) }
    /// ```
    pub async fn list_workers(
        &self,
        nodes: Nodes<'_>,
        filter: WorkerFilter,
    ) -> Result<NodeResults<Vec<WorkerInfo>>> {
        self.call(
            Call::new("ListWorkers")
                .q("node", nodes.as_query())
                .body(json!({ "busyOnly": filter.busy_only, "errorOnly": filter.error_only })),
        )
        .await
    }

    /// `GetWorkerInfo` by worker id.
    ///
    /// # Errors
    ///
    /// [`Error::Admin`](crate::Error::Admin) when Garage refuses the call (see
    /// [`Error::is_not_found`](crate::Error::is_not_found),
    /// [`Error::is_unauthenticated`](crate::Error::is_unauthenticated));
    /// [`Error::Transport`](crate::Error::Transport) when no answer came (reads are retried);
    /// [`Error::Decode`](crate::Error::Decode) when the answer does not have the documented shape
    /// (404 for an unknown worker); [`Error::Unsupported`](crate::Error::Unsupported) against
    /// Garage 1.x (admin API v1).
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use garage_client::admin::Nodes;
    /// let w = admin.worker_info(Nodes::This, 1).await?;
    /// # let _ = w;
    /// # Ok(()) }
    /// ```
    pub async fn worker_info(&self, nodes: Nodes<'_>, id: u64) -> Result<NodeResults<WorkerInfo>> {
        self.call(
            Call::new("GetWorkerInfo")
                .q("node", nodes.as_query())
                .body(json!({ "id": id })),
        )
        .await
    }

    /// `ListBlockErrors`: blocks whose resync failed.
    ///
    /// # Errors
    ///
    /// [`Error::Admin`](crate::Error::Admin) when Garage refuses the call (see
    /// [`Error::is_not_found`](crate::Error::is_not_found),
    /// [`Error::is_unauthenticated`](crate::Error::is_unauthenticated));
    /// [`Error::Transport`](crate::Error::Transport) when no answer came (reads are retried);
    /// [`Error::Decode`](crate::Error::Decode) when the answer does not have the documented shape;
    /// [`Error::Unsupported`](crate::Error::Unsupported) against Garage 1.x (admin API v1).
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use garage_client::admin::Nodes;
    /// let errors = admin.list_block_errors(Nodes::All).await?;
    /// # let _ = errors;
    /// # Ok(()) }
    /// ```
    pub async fn list_block_errors(
        &self,
        nodes: Nodes<'_>,
    ) -> Result<NodeResults<Vec<BlockError>>> {
        self.call(Call::new("ListBlockErrors").q("node", nodes.as_query()))
            .await
    }

    /// `RetryBlockResync`: retries these blocks now; answers how many were queued per node.
    ///
    /// # Errors
    ///
    /// [`Error::Admin`](crate::Error::Admin) when Garage refuses the call (see
    /// [`Error::is_not_found`](crate::Error::is_not_found),
    /// [`Error::is_unauthenticated`](crate::Error::is_unauthenticated));
    /// [`Error::Transport`](crate::Error::Transport) when no answer came (reads are retried);
    /// [`Error::Decode`](crate::Error::Decode) when the answer does not have the documented shape;
    /// [`Error::Unsupported`](crate::Error::Unsupported) against Garage 1.x (admin API v1).
    ///
    /// ```no_run
    /// # async fn demo(admin: garage_client::AdminClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use garage_client::admin::{Nodes, RetryBlocks};
    /// admin.retry_block_resync(Nodes::All, &RetryBlocks::All).await?;
    /// # Ok(()) }
    /// ```
    pub async fn retry_block_resync(
        &self,
        nodes: Nodes<'_>,
        blocks: &RetryBlocks,
    ) -> Result<NodeResults<u64>> {
        let body = match blocks {
            RetryBlocks::All => json!({ "all": true }),
            RetryBlocks::Hashes(h) => json!({ "blockHashes": h }),
        };
        let r: NodeResults<Count> = self
            .call(
                Call::new("RetryBlockResync")
                    .q("node", nodes.as_query())
                    .body(body),
            )
            .await?;
        Ok(NodeResults {
            success: r.success.into_iter().map(|(k, c)| (k, c.count)).collect(),
            error: r.error,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repair_types_serialize_as_garage_reads_them() {
        assert_eq!(RepairType::Tables.to_json(), json!("tables"));
        assert_eq!(RepairType::BlockRc.to_json(), json!("blockRc"));
        assert_eq!(
            RepairType::ClearResyncQueue.to_json(),
            json!("clearResyncQueue")
        );
        assert_eq!(
            RepairType::Scrub(ScrubCommand::Start).to_json(),
            json!({"scrub": "start"})
        );
    }

    #[test]
    fn worker_states_and_multi_responses() {
        let r: NodeResults<Vec<WorkerInfo>> = serde_json::from_str(
            r#"{"success":{"ab":[{"id":1,"name":"w","state":"busy","errors":0,"consecutiveErrors":0,"lastError":null,"tranquility":null,"progress":null,"queueLength":3,"persistentErrors":null,"freeform":[]},
                                 {"id":2,"name":"t","state":{"throttled":{"durationSecs":0.5}},"errors":1,"consecutiveErrors":1,"lastError":{"message":"m","secsAgo":4},"freeform":["x"]},
                                 {"id":3,"name":"n","state":"sleeping"}]},
                "error":{"cd":"timeout"}}"#,
        )
        .unwrap();
        let w = &r.success["ab"];
        assert_eq!(w[0].state, WorkerState::Busy);
        assert_eq!(w[1].state, WorkerState::Throttled { duration_secs: 0.5 });
        assert_eq!(w[1].last_error.as_ref().unwrap().secs_ago, 4);
        assert_eq!(w[2].state, WorkerState::Unknown(json!("sleeping")));
        assert_eq!(r.error["cd"], "timeout");
        assert!(r.single().is_none() && !r.all_ok());
        let one: NodeResults<Done> =
            serde_json::from_str(r#"{"success":{"ab":null},"error":{}}"#).unwrap();
        assert_eq!(one.single(), Some(("ab", &Done)));
    }
}
