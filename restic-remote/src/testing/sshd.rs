//! A real OpenSSH `sshd` on 127.0.0.1 for tests.

use std::fmt;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use russh::keys::{HashAlg, PublicKey};

use crate::{SshTransport, SshTransportBuilder};

/// The `sshd` binary used unless `SSHD_BIN` says otherwise (it must be an absolute path).
pub const DEFAULT_SSHD: &str = "/usr/sbin/sshd";

/// The passphrase of [`Sshd::encrypted_client_key_path`].
pub const ENCRYPTED_KEY_PASSPHRASE: &str = "correct horse battery staple";

/// Why a test sshd could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SshdError {
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A helper (`ssh-keygen`, `id`) failed.
    #[error("{what} failed: {stderr}")]
    Tool {
        /// The command.
        what: String,
        /// Its standard error.
        stderr: String,
    },
    /// sshd exited or never accepted connections; `log` is its log.
    #[error("sshd did not start: {reason}\n--- sshd log ---\n{log}")]
    Start {
        /// Why.
        reason: String,
        /// sshd's log file.
        log: String,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> SshdError {
    let what = what.into();
    move |source| SshdError::Io { what, source }
}

/// A running OpenSSH `sshd` on `127.0.0.1:<random port>`, stopped (and its directory removed) on
/// drop, including when a test panics.
///
/// It has its own ed25519 host key, authorizes a fresh client ed25519 key (and a second,
/// passphrase-protected one), and writes a `known_hosts` file for itself. It logs in the user it
/// runs as: as root it creates `/run/sshd` if needed and allows root key logins
/// (`PermitRootLogin prohibit-password`); as a normal user it can only log in that user.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// let sshd = restic_remote::testing::Sshd::start().await?;
/// println!("ssh -p {} -i {} {}@127.0.0.1", sshd.port(), sshd.client_key_path().display(), sshd.user());
/// let ssh = sshd.client_builder().connect().await.map_err(std::io::Error::other)?;
/// # let _ = ssh;
/// # Ok(()) }
/// ```
pub struct Sshd {
    child: Option<Child>,
    dir: tempfile::TempDir,
    port: u16,
    user: String,
    host_public_key: PublicKey,
}

impl fmt::Debug for Sshd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sshd")
            .field("port", &self.port)
            .field("user", &self.user)
            .field("dir", &self.dir.path())
            .finish_non_exhaustive()
    }
}

fn run_tool(cmd: &mut Command, what: &str) -> Result<String, SshdError> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(io(format!("running {what}")))?;
    if !out.status.success() {
        return Err(SshdError::Tool {
            what: what.to_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Generates an ed25519 key pair at `path` (and `path.pub`) with `ssh-keygen`.
pub(crate) fn keygen(path: &Path, passphrase: &str) -> Result<(), SshdError> {
    run_tool(
        Command::new("ssh-keygen")
            .args([
                "-q",
                "-t",
                "ed25519",
                "-C",
                "restic-remote-test",
                "-N",
                passphrase,
                "-f",
            ])
            .arg(path),
        "ssh-keygen",
    )
    .map(drop)
}

fn free_port() -> Result<u16, SshdError> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(io("binding 127.0.0.1:0"))?;
    Ok(l.local_addr().map_err(io("local_addr"))?.port())
}

fn is_root() -> bool {
    run_tool(Command::new("id").arg("-u"), "id -u").is_ok_and(|u| u == "0")
}

impl From<SshdError> for std::io::Error {
    fn from(e: SshdError) -> Self {
        let kind = match &e {
            SshdError::Io { source, .. } => source.kind(),
            _ => std::io::ErrorKind::Other,
        };
        std::io::Error::new(kind, e)
    }
}

impl Sshd {
    /// Starts sshd (from `SSHD_BIN` or `/usr/sbin/sshd`) and waits until it accepts connections
    /// (on a blocking thread of the Tokio runtime).
    ///
    /// # Errors
    ///
    /// When the keys cannot be generated or sshd does not start; the error wraps an
    /// [`SshdError`] (with sshd's log when it did not start).
    pub async fn start() -> std::io::Result<Self> {
        tokio::task::spawn_blocking(Self::start_blocking)
            .await
            .map_err(std::io::Error::other)?
    }

    /// [`Self::start`] for code without a Tokio runtime: blocks the calling thread until sshd
    /// accepts connections.
    ///
    /// # Errors
    ///
    /// As [`Self::start`].
    pub fn start_blocking() -> std::io::Result<Self> {
        Ok(Self::launch()?)
    }

    /// A builder already pointed at this sshd: `127.0.0.1`, its port and user, the client key
    /// and the `known_hosts` file listing its host key. Call `connect()` (or change it first).
    pub fn client_builder(&self) -> SshTransportBuilder {
        SshTransport::builder(self.host())
            .with_port(self.port())
            .with_user(self.user())
            .with_key_file(self.client_key_path())
            .with_known_hosts(self.known_hosts_path())
    }

    fn launch() -> Result<Self, SshdError> {
        let mut dir = tempfile::Builder::new()
            .prefix("restic-remote-sshd-")
            .tempdir()
            .map_err(io("creating temp dir"))?;
        let dpath = dir.path().to_path_buf();
        let d = dpath.as_path();
        keygen(&d.join("host_ed25519"), "")?;
        keygen(&d.join("client_ed25519"), "")?;
        keygen(
            &d.join("client_encrypted_ed25519"),
            ENCRYPTED_KEY_PASSPHRASE,
        )?;
        let mut authorized = String::new();
        for k in ["client_ed25519.pub", "client_encrypted_ed25519.pub"] {
            authorized.push_str(&std::fs::read_to_string(d.join(k)).map_err(io("reading key"))?);
        }
        std::fs::write(d.join("authorized_keys"), authorized).map_err(io("authorized_keys"))?;
        let host_pub =
            std::fs::read_to_string(d.join("host_ed25519.pub")).map_err(io("host key"))?;
        let host_public_key =
            PublicKey::from_openssh(host_pub.trim()).map_err(|e| SshdError::Tool {
                what: "parsing host key".into(),
                stderr: e.to_string(),
            })?;
        let user = run_tool(Command::new("id").arg("-un"), "id -un")?;
        let root = is_root();
        if root {
            // Privilege separation directory, required when sshd runs as root.
            std::fs::create_dir_all("/run/sshd").map_err(io("creating /run/sshd"))?;
        }
        let sshd_bin = std::env::var("SSHD_BIN").unwrap_or_else(|_| DEFAULT_SSHD.to_owned());

        let mut last_err = None;
        for _attempt in 0..3 {
            let port = free_port()?;
            let config = format!(
                "Port {port}\nListenAddress 127.0.0.1\nAddressFamily inet\n\
                 HostKey {d}/host_ed25519\nPidFile {d}/sshd.pid\n\
                 AuthorizedKeysFile {d}/authorized_keys\nStrictModes no\n\
                 PubkeyAuthentication yes\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nUsePAM no\n\
                 PermitRootLogin prohibit-password\nPrintMotd no\nPrintLastLog no\n\
                 MaxStartups 100\nMaxSessions 100\nLogLevel VERBOSE\n",
                d = d.display()
            );
            std::fs::write(d.join("sshd_config"), config).map_err(io("sshd_config"))?;
            let log = d.join("sshd.log");
            let child = Command::new(&sshd_bin)
                .arg("-D")
                .arg("-f")
                .arg(d.join("sshd_config"))
                .arg("-E")
                .arg(&log)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(io(format!("spawning {sshd_bin}")))?;
            let mut sshd = Sshd {
                child: Some(child),
                dir,
                port,
                user: user.clone(),
                host_public_key: host_public_key.clone(),
            };
            match sshd.wait_ready(Duration::from_secs(10)) {
                Ok(()) => {
                    let kh = format!(
                        "[127.0.0.1]:{port} {}\n",
                        sshd.host_public_key
                            .to_openssh()
                            .map_err(|e| SshdError::Tool {
                                what: "encoding host key".into(),
                                stderr: e.to_string(),
                            })?
                    );
                    std::fs::write(sshd.known_hosts_path(), kh).map_err(io("known_hosts"))?;
                    return Ok(sshd);
                }
                Err(e) => {
                    last_err = Some(e);
                    // Take the directory back and retry with another port (the port may have
                    // been taken between probing and binding).
                    sshd.stop();
                    dir = std::mem::replace(
                        &mut sshd.dir,
                        tempfile::tempdir().map_err(io("temp dir"))?,
                    );
                }
            }
        }
        Err(last_err.unwrap_or_else(|| SshdError::Start {
            reason: "no attempt made".into(),
            log: String::new(),
        }))
    }

    fn read_log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(self.dir.path().join("sshd.log")) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    fn wait_ready(&mut self, within: Duration) -> Result<(), SshdError> {
        let deadline = Instant::now() + within;
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(SshdError::Start {
                    reason: format!("sshd exited with {status}"),
                    log: self.read_log(),
                });
            }
            if let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
                // sshd sends its banner first; reading it proves it is sshd, not a stranger.
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let mut buf = [0u8; 8];
                if s.read_exact(&mut buf).is_ok() && buf.starts_with(b"SSH-") {
                    let _ = s.write_all(b"SSH-2.0-probe\r\n");
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(SshdError::Start {
                    reason: format!("no SSH banner on 127.0.0.1:{} within {within:?}", self.port),
                    log: self.read_log(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The host to connect to: always `127.0.0.1`.
    pub fn host(&self) -> &str {
        "127.0.0.1"
    }

    /// The user to log in as (the user running the tests).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The unencrypted client ed25519 private key (OpenSSH format); `.pub` beside it.
    pub fn client_key_path(&self) -> PathBuf {
        self.dir.path().join("client_ed25519")
    }

    /// A second authorized client key, encrypted with [`ENCRYPTED_KEY_PASSPHRASE`].
    pub fn encrypted_client_key_path(&self) -> PathBuf {
        self.dir.path().join("client_encrypted_ed25519")
    }

    /// A `known_hosts` file with one line, `[127.0.0.1]:<port> ssh-ed25519 …`.
    pub fn known_hosts_path(&self) -> PathBuf {
        self.dir.path().join("known_hosts")
    }

    /// The host key's fingerprint, `SHA256:…` as `ssh-keygen -l` prints it.
    pub fn host_key_fingerprint(&self) -> String {
        self.host_public_key
            .fingerprint(HashAlg::Sha256)
            .to_string()
    }

    /// The host's public key.
    pub fn host_public_key(&self) -> &PublicKey {
        &self.host_public_key
    }

    /// sshd's log so far (useful in assertion messages).
    pub fn log(&self) -> String {
        self.read_log()
    }

    /// A scratch directory owned by this server, removed on drop.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stops sshd now (also done on drop). Sessions already running end when their connection closes.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}
