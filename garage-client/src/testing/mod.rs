//! A real single-node Garage on loopback, for tests (feature `testing`). This module is for
//! tests and is not covered by semver.
//!
//! [`GarageServer::start`] runs the `garage` binary (found through `GARAGE_BIN`, else `PATH`, else
//! the cache directory `scripts/test.sh` installs into) in a fresh temporary directory with random
//! loopback ports for S3, admin, RPC and web, applies a one-node layout, creates a bucket and an
//! access key with read/write/owner rights on it, and waits until the admin `/health` endpoint
//! answers 200. Dropping the server kills the process and removes the directory, also when a test
//! panics. Several servers can run at once.
//!
//! Bootstrap uses only plain HTTP/1.0 to the admin API (no S3 client), so the test bed does not
//! depend on the code it tests.
//!
//! ```no_run
//! use garage_client::testing::GarageServer;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let garage = GarageServer::start().await?;
//! let s3 = garage.client_builder().build()?;
//! let admin = garage.admin_client_builder().build()?;
//! s3.put_object(garage.bucket(), "k", "v".into(), Default::default()).await?;
//! println!("{} objects", admin.bucket_info_by_alias(garage.bucket()).await?.objects);
//! # Ok(()) }
//! ```

mod http;
mod proxy;

use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use std::io;

use crate::admin::{AccessKeyId, AdminClientBuilder, BucketId};
use crate::config::Credentials;
use crate::s3::S3ClientBuilder;

pub use proxy::{Fault, FaultProxy, RequestHead};

/// How to install Garage when the binary cannot be found.
pub const INSTALL_HINT: &str = "install Garage 2.5.0 with `cargo install garage --version 2.5.0 --locked` \
     (or run scripts/test.sh, which caches it in ~/.cache/backup-stack/garage-2.5.0/bin) \
     and point GARAGE_BIN at the binary or put it on PATH";

/// The S3 region the test bed configures.
pub const REGION: &str = "garage";

const START_TIMEOUT: Duration = Duration::from_secs(60);
const START_ATTEMPTS: u32 = 3;

/// Loopback ports of one Garage instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Ports {
    /// S3 API.
    pub s3: u16,
    /// Admin API.
    pub admin: u16,
    /// Inter-node RPC.
    pub rpc: u16,
    /// S3 website endpoint.
    pub web: u16,
}

/// A running single-node Garage server in a temporary directory.
///
/// See the [module docs](self).
pub struct GarageServer {
    bin: PathBuf,
    config_path: PathBuf,
    log_path: PathBuf,
    ports: Ports,
    child: Option<Child>,
    access_key_id: String,
    secret_access_key: SecretString,
    admin_token: SecretString,
    metrics_token: SecretString,
    bucket: String,
    bucket_id: BucketId,
    node_id: String,
    // Last field: dropped after the process has been killed in `Drop`.
    dir: tempfile::TempDir,
}

impl fmt::Debug for GarageServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GarageServer")
            .field("bin", &self.bin)
            .field("dir", &self.dir.path())
            .field("ports", &self.ports)
            .field("running", &self.child.is_some())
            .field("access_key_id", &self.access_key_id)
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

/// Locates the `garage` binary: `GARAGE_BIN`, else `garage` on `PATH`, else the cache directory
/// used by `scripts/test.sh` (`$BACKUP_STACK_CACHE` or `~/.cache/backup-stack`, `garage-2.5.0/bin`).
pub fn garage_binary() -> io::Result<PathBuf> {
    if let Some(bin) = std::env::var_os("GARAGE_BIN").filter(|v| !v.is_empty()) {
        let bin = PathBuf::from(bin);
        if bin.is_file() {
            return Ok(bin);
        }
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "GARAGE_BIN={} does not exist; {INSTALL_HINT}",
                bin.display()
            ),
        ));
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join("garage");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    let cache = std::env::var_os("BACKUP_STACK_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("backup-stack"))
        })
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/backup-stack")));
    if let Some(cache) = cache {
        let candidate = cache.join("garage-2.5.0/bin/garage");
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!(
            "the garage binary was not found (GARAGE_BIN unset, no `garage` on PATH); {INSTALL_HINT}"
        ),
    ))
}

impl GarageServer {
    /// Starts a fresh single-node Garage, bootstraps it and waits until it is healthy (a second
    /// or two, on a blocking thread of the tokio runtime).
    ///
    /// # Errors
    ///
    /// The binary is missing ([`io::ErrorKind::NotFound`], with an install hint), or Garage did
    /// not start (the message ends with the last lines of its log).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let garage = garage_client::testing::GarageServer::start().await?;
    /// let s3 = garage.client_builder().build()?;
    /// assert!(s3.bucket_exists(garage.bucket()).await?);
    /// # Ok(()) }
    /// ```
    pub async fn start() -> io::Result<Self> {
        tokio::task::spawn_blocking(Self::start_blocking)
            .await
            .map_err(io::Error::other)?
    }

    /// [`Self::start`] for code without a runtime: blocks until Garage is healthy.
    ///
    /// # Errors
    ///
    /// As [`Self::start`].
    pub fn start_blocking() -> io::Result<Self> {
        let bin = garage_binary()?;
        let mut last_err = None;
        for _ in 0..START_ATTEMPTS {
            match Self::start_once(&bin) {
                Ok(server) => return Ok(server),
                // A port picked at random may have been taken by a parallel test: retry with new ones.
                Err(e) if e.to_string().contains("ddress already in use") => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| io::Error::other("garage did not start")))
    }

    fn start_once(bin: &Path) -> io::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("garage-test-")
            .tempdir()
            .map_err(|e| io::Error::other(format!("cannot create a temp dir: {e}")))?;
        let ports = free_ports()?;
        let admin_token = random_hex(32);
        let metrics_token = random_hex(32);
        let config_path = dir.path().join("garage.toml");
        let config = format!(
            r#"metadata_dir = "{meta}"
data_dir = "{data}"
db_engine = "sqlite"
replication_factor = 1

rpc_bind_addr = "127.0.0.1:{rpc}"
rpc_public_addr = "127.0.0.1:{rpc}"
rpc_secret = "{rpc_secret}"

[s3_api]
s3_region = "{REGION}"
api_bind_addr = "127.0.0.1:{s3}"

[s3_web]
bind_addr = "127.0.0.1:{web}"
root_domain = ".web.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:{admin}"
admin_token = "{admin_token}"
metrics_token = "{metrics_token}"
"#,
            meta = dir.path().join("meta").display(),
            data = dir.path().join("data").display(),
            rpc = ports.rpc,
            rpc_secret = random_hex(32),
            s3 = ports.s3,
            web = ports.web,
            admin = ports.admin,
        );
        std::fs::write(&config_path, config).map_err(|e| {
            io::Error::other(format!("cannot write {}: {e}", config_path.display()))
        })?;
        let log_path = dir.path().join("garage.log");

        let mut server = GarageServer {
            bin: bin.to_path_buf(),
            config_path,
            log_path,
            ports,
            child: None,
            access_key_id: String::new(),
            secret_access_key: SecretString::from(String::new()),
            admin_token: SecretString::from(admin_token),
            metrics_token: SecretString::from(metrics_token),
            bucket: "test-bucket".to_owned(),
            bucket_id: BucketId::default(),
            node_id: String::new(),
            dir,
        };
        server.spawn()?;
        server.bootstrap()?;
        server.check_s3_listens()?;
        Ok(server)
    }

    /// Garage keeps running when its S3 port cannot be bound (it logs "S3 API server exited
    /// with error: … Address already in use" and the admin API still answers), which happens
    /// when another process takes a port between [`free_ports`] and the bind: fail with that
    /// message so [`Self::start`] retries on fresh ports.
    fn check_s3_listens(&self) -> io::Result<()> {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.ports.s3));
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let tail = self.log_tail();
            if tail.contains("ddress already in use") {
                return Err(io::Error::other(format!(
                    "a port was taken before garage bound it (address already in use): {tail}"
                )));
            }
            if std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(self.failure("the S3 API does not accept connections"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn spawn(&mut self) -> io::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(|e| {
                io::Error::other(format!("cannot open {}: {e}", self.log_path.display()))
            })?;
        let log2 = log
            .try_clone()
            .map_err(|e| io::Error::other(format!("cannot clone log handle: {e}")))?;
        let rust_log = std::env::var("GARAGE_TEST_LOG").unwrap_or_else(|_| "garage=warn".into());
        let child = Command::new(&self.bin)
            .arg("-c")
            .arg(&self.config_path)
            .arg("server")
            .env("RUST_LOG", rust_log)
            .env_remove("GARAGE_ADMIN_TOKEN")
            .env_remove("GARAGE_METRICS_TOKEN")
            .env_remove("GARAGE_RPC_SECRET")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2))
            .spawn()
            .map_err(|e| {
                io::Error::other(format!(
                    "cannot run {}: {e}; {INSTALL_HINT}",
                    self.bin.display()
                ))
            })?;
        self.child = Some(child);
        self.wait_for_admin()
    }

    /// Waits until the admin API answers an authenticated request.
    fn wait_for_admin(&mut self) -> io::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            self.check_alive()?;
            if let Ok((200, _)) = self.admin_call("GET", "/v2/GetClusterStatus", None) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(self.failure("the admin API did not answer within 60 s"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn check_alive(&mut self) -> io::Result<()> {
        let exited = match self.child.as_mut() {
            Some(child) => child
                .try_wait()
                .map_err(|e| io::Error::other(format!("cannot poll garage: {e}")))?,
            None => return Err(io::Error::other("garage is not running")),
        };
        if let Some(status) = exited {
            self.child = None;
            return Err(self.failure(&format!("garage exited early ({status})")));
        }
        Ok(())
    }

    fn failure(&self, what: &str) -> io::Error {
        io::Error::other(format!(
            "{what}; last lines of {}:\n{}",
            self.log_path.display(),
            self.log_tail()
        ))
    }

    fn log_tail(&self) -> String {
        let mut buf = Vec::new();
        if let Ok(mut f) = File::open(&self.log_path) {
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            let _ = f.seek(SeekFrom::Start(len.saturating_sub(4096)));
            let _ = f.read_to_end(&mut buf);
        }
        String::from_utf8_lossy(&buf).into_owned()
    }

    fn admin_call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> std::io::Result<(u16, String)> {
        let body = body.map(Value::to_string);
        http::request(
            self.ports.admin,
            method,
            path,
            Some(self.admin_token.expose_secret()),
            body.as_deref(),
        )
    }

    /// An admin call that must succeed with 200 and JSON.
    fn admin_json(&self, method: &str, path: &str, body: Option<Value>) -> io::Result<Value> {
        let (status, text) = self
            .admin_call(method, path, body.as_ref())
            .map_err(|e| self.failure(&format!("{method} {path}: {e}")))?;
        if status != 200 {
            return Err(self.failure(&format!("{method} {path}: HTTP {status}: {text}")));
        }
        serde_json::from_str(&text)
            .map_err(|e| io::Error::other(format!("{method} {path}: invalid JSON ({e}): {text}")))
    }

    fn bootstrap(&mut self) -> io::Result<()> {
        let status = self.admin_json("GET", "/v2/GetClusterStatus", None)?;
        self.node_id = status["nodes"][0]["id"]
            .as_str()
            .ok_or_else(|| io::Error::other(format!("no node id in GetClusterStatus: {status}")))?
            .to_owned();
        self.admin_json(
            "POST",
            "/v2/UpdateClusterLayout",
            Some(json!({"roles": [{"id": self.node_id, "zone": "dc1", "capacity": 100u64 << 30, "tags": []}]})),
        )?;
        self.admin_json(
            "POST",
            "/v2/ApplyClusterLayout",
            Some(json!({"version": 1})),
        )?;
        self.wait_healthy()?;

        let bucket = self.admin_json(
            "POST",
            "/v2/CreateBucket",
            Some(json!({"globalAlias": self.bucket})),
        )?;
        self.bucket_id = bucket["id"]
            .as_str()
            .ok_or_else(|| io::Error::other(format!("no bucket id in CreateBucket: {bucket}")))?
            .into();
        let key = self.admin_json(
            "POST",
            "/v2/CreateKey",
            Some(json!({"name": "test", "allow": {"createBucket": true}})),
        )?;
        let (Some(id), Some(secret)) =
            (key["accessKeyId"].as_str(), key["secretAccessKey"].as_str())
        else {
            return Err(io::Error::other("CreateKey returned no credentials"));
        };
        self.access_key_id = id.to_owned();
        self.secret_access_key = SecretString::from(secret.to_owned());
        self.admin_json(
            "POST",
            "/v2/AllowBucketKey",
            Some(json!({
                "bucketId": self.bucket_id,
                "accessKeyId": self.access_key_id,
                "permissions": {"read": true, "write": true, "owner": true},
            })),
        )?;
        Ok(())
    }

    /// Polls the token-less admin `/health` until it answers 200.
    fn wait_healthy(&mut self) -> io::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            self.check_alive()?;
            if let Ok((200, _)) = http::request(self.ports.admin, "GET", "/health", None, None) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(self.failure("/health did not answer 200 within 60 s"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the server process (SIGKILL) and waits for it; the data stays for [`Self::restart`].
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether the server process is running (not killed, not exited).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Restarts the server on the same ports and data (killing it first if it runs) and waits
    /// until it is healthy again.
    pub fn restart(&mut self) -> io::Result<()> {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.spawn() {
                Ok(()) => break,
                // The old process's sockets may linger for a moment.
                Err(e)
                    if e.to_string().contains("ddress already in use")
                        && Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => return Err(e),
            }
        }
        self.wait_healthy()
    }

    /// Runs the `garage` CLI against this server (`garage -c <config> <args>`), returning stdout.
    pub fn cli(&self, args: &[&str]) -> io::Result<String> {
        let out = Command::new(&self.bin)
            .arg("-c")
            .arg(&self.config_path)
            .args(args)
            .env("RUST_LOG", "garage=warn")
            .output()
            .map_err(|e| io::Error::other(format!("cannot run {}: {e}", self.bin.display())))?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "garage {} failed ({}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// An [`S3ClientBuilder`] pointed at this server: its S3 endpoint, region and the key of
    /// [`Self::access_key_id`].
    pub fn client_builder(&self) -> S3ClientBuilder {
        S3ClientBuilder::default()
            .with_endpoint(self.s3_endpoint())
            .with_region(REGION)
            .with_credentials(self.credentials())
    }

    /// An [`AdminClientBuilder`] pointed at this server's admin API with the master token (and
    /// the metrics token for `/metrics`).
    pub fn admin_client_builder(&self) -> AdminClientBuilder {
        AdminClientBuilder::default()
            .with_endpoint(self.admin_endpoint())
            .with_token(self.admin_token.clone())
            .with_metrics_token(self.metrics_token.clone())
    }

    /// The key of [`Self::access_key_id`] as [`Credentials`].
    pub fn credentials(&self) -> Credentials {
        Credentials::new(self.access_key_id.clone(), self.secret_access_key.clone())
    }

    /// S3 endpoint, e.g. `http://127.0.0.1:41234`.
    pub fn s3_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.s3)
    }

    /// Admin API endpoint, e.g. `http://127.0.0.1:41235`.
    pub fn admin_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.admin)
    }

    /// S3 website endpoint.
    pub fn web_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.web)
    }

    /// All four ports.
    pub fn ports(&self) -> Ports {
        self.ports
    }

    /// The S3 region (`garage`).
    pub fn region(&self) -> &str {
        REGION
    }

    /// Access key id with read/write/owner on [`Self::bucket`] and the `createBucket` flag.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// Secret of [`Self::access_key_id`].
    pub fn secret_access_key(&self) -> &SecretString {
        &self.secret_access_key
    }

    /// Global alias of the bucket created at start.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Id (64 hex) of the bucket created at start.
    pub fn bucket_id(&self) -> &BucketId {
        &self.bucket_id
    }

    /// [`Self::access_key_id`] as the admin API's [`AccessKeyId`].
    pub fn key_id(&self) -> AccessKeyId {
        AccessKeyId::new(self.access_key_id.clone())
    }

    /// Id of the single node.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// The master admin token (`[admin] admin_token`).
    pub fn admin_token(&self) -> &SecretString {
        &self.admin_token
    }

    /// The `/metrics` token (`[admin] metrics_token`).
    pub fn metrics_token(&self) -> &SecretString {
        &self.metrics_token
    }

    /// The temporary directory holding config, data, metadata and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Path of `garage.toml`.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// Path of the server log (stdout and stderr; level from `GARAGE_TEST_LOG`, default `garage=warn`).
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Process id of the running server, if any (e.g. to sample its CPU time).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for GarageServer {
    fn drop(&mut self) {
        self.kill();
        // `self.dir` (TempDir) removes the directory when dropped after this.
    }
}

/// Picks four distinct free loopback ports (held open together so they differ).
fn free_ports() -> io::Result<Ports> {
    let bind = || {
        TcpListener::bind("127.0.0.1:0")
            .map_err(|e| io::Error::other(format!("cannot bind 127.0.0.1:0: {e}")))
    };
    let (a, b, c, d) = (bind()?, bind()?, bind()?, bind()?);
    let port = |l: &TcpListener| {
        l.local_addr()
            .map(|a| a.port())
            .map_err(|e| io::Error::other(format!("local_addr: {e}")))
    };
    Ok(Ports {
        s3: port(&a)?,
        admin: port(&b)?,
        rpc: port(&c)?,
        web: port(&d)?,
    })
}

/// `n` random bytes as hex, from the std library's randomly keyed hasher (test secrets only).
fn random_hex(n: usize) -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let state = std::collections::hash_map::RandomState::new();
    let mut out = String::with_capacity(n * 2);
    while out.len() < n * 2 {
        let mut h = state.build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        h.write_u32(std::process::id());
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out.truncate(n * 2);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_hex_has_the_requested_length_and_differs() {
        let a = random_hex(32);
        let b = random_hex(32);
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn free_ports_are_distinct() {
        let p = free_ports().unwrap();
        let mut v = [p.s3, p.admin, p.rpc, p.web];
        v.sort_unstable();
        v.windows(2).for_each(|w| assert_ne!(w[0], w[1]));
    }
}
