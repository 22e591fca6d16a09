//! SSH transport through russh: one connection, one session channel per command.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh::{ChannelMsg, Disconnect, client};
use secrecy::{ExposeSecret as _, SecretString};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument as _;

use super::{CANCEL_GRACE, CHANNEL_DEPTH, Msg, Pending, PendingGuard, Process};
use crate::error::{Error, Result};

/// How the server's host key is verified.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum HostKeyPolicy {
    /// Must be listed for `[host]:port` (or `host` on port 22) in this OpenSSH `known_hosts`
    /// file. Unknown or changed keys are refused.
    KnownHosts(PathBuf),
    /// Must have this SHA-256 fingerprint (`SHA256:…` as `ssh-keygen -l` prints it).
    Fingerprint(String),
    /// Accept any key. Only with an explicit opt-in: [`SshTransportBuilder::danger_accept_any_host_key`].
    AcceptAny,
}

enum KeySource {
    File(PathBuf),
    Memory(SecretString),
}

/// Builds an [`SshTransport`]; see [`SshTransport::builder`].
pub struct SshTransportBuilder {
    host: String,
    port: u16,
    user: Option<String>,
    key: Option<KeySource>,
    passphrase: Option<SecretString>,
    host_key: Option<HostKeyPolicy>,
    /// Every policy asked for, to refuse an ambiguous configuration.
    host_key_requests: Vec<&'static str>,
    connect_timeout: Duration,
    keepalive_interval: Duration,
    keepalive_max: usize,
    inactivity_timeout: Option<Duration>,
}

impl std::fmt::Debug for SshTransportBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshTransportBuilder")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("host_key", &self.host_key)
            .finish_non_exhaustive()
    }
}

impl SshTransportBuilder {
    /// Port (default 22).
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
    /// User to log in as (default `$USER`).
    pub fn with_user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }
    /// Private key file (OpenSSH format; ed25519, ECDSA or RSA).
    pub fn with_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.key = Some(KeySource::File(path.into()));
        self
    }
    /// Private key from memory (e.g. a Kubernetes secret), OpenSSH PEM text.
    pub fn with_key(mut self, openssh_private_key: SecretString) -> Self {
        self.key = Some(KeySource::Memory(openssh_private_key));
        self
    }
    /// Passphrase of an encrypted key.
    pub fn with_key_passphrase(mut self, passphrase: SecretString) -> Self {
        self.passphrase = Some(passphrase);
        self
    }
    /// Verify the host key against a `known_hosts` file, as OpenSSH does: `@revoked` keys are
    /// refused, any line for the host with the presented key accepts it (key rotation), hashed
    /// names and `[host]:port` entries are understood, `@cert-authority` lines are refused
    /// clearly (host certificates are not supported). Combined with another host key policy,
    /// [`Self::connect`] refuses the configuration as ambiguous.
    pub fn with_known_hosts(mut self, path: impl Into<PathBuf>) -> Self {
        self.host_key = Some(HostKeyPolicy::KnownHosts(path.into()));
        self.host_key_requests.push("with_known_hosts");
        self
    }
    /// Verify the host key against a pinned `SHA256:…` fingerprint.
    pub fn with_host_key_fingerprint(mut self, fingerprint: impl Into<String>) -> Self {
        self.host_key = Some(HostKeyPolicy::Fingerprint(fingerprint.into()));
        self.host_key_requests.push("with_host_key_fingerprint");
        self
    }
    /// Accept any host key. This defeats SSH's protection against a man in the middle.
    pub fn danger_accept_any_host_key(mut self) -> Self {
        self.host_key = Some(HostKeyPolicy::AcceptAny);
        self.host_key_requests.push("danger_accept_any_host_key");
        self
    }
    /// TCP connect + handshake + authentication timeout (default 15 s).
    pub fn with_connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }
    /// Keepalive interval (default 15 s) and how many unanswered keepalives end the
    /// connection (default 3).
    pub fn with_keepalive(mut self, interval: Duration, max: usize) -> Self {
        self.keepalive_interval = interval;
        self.keepalive_max = max;
        self
    }
    /// Close the connection after this long without traffic (default: never).
    pub fn with_inactivity_timeout(mut self, t: Option<Duration>) -> Self {
        self.inactivity_timeout = t;
        self
    }

    /// Connects, verifies the host key and authenticates.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] without a host key policy, with two of them, or without a key or user;
    /// [`Error::Key`] when the key cannot be read or decrypted; [`Error::Transport`] when the
    /// server cannot be reached within the connect timeout; [`Error::HostKey`] when its host key
    /// is refused; [`Error::AuthRejected`] when it refuses the key; [`Error::Ssh`] for another
    /// SSH protocol failure.
    ///
    /// ```no_run
    /// # async fn demo() -> restic_remote::Result<()> {
    /// let ssh = restic_remote::SshTransport::builder("web1.example")
    ///     .with_user("backup")
    ///     .with_key_file("/etc/backup/id_ed25519")
    ///     .with_known_hosts("/etc/backup/known_hosts")
    ///     .connect()
    ///     .await?;
    /// # let _ = ssh;
    /// # Ok(()) }
    /// ```
    pub async fn connect(self) -> Result<SshTransport> {
        let mut asked = self.host_key_requests.clone();
        asked.sort_unstable();
        asked.dedup();
        if asked.len() > 1 {
            return Err(Error::Config(format!(
                "ambiguous host key verification: {} were all given; choose one",
                asked.join(", ")
            )));
        }
        let host_key = self.host_key.clone().ok_or_else(|| {
            Error::Config(
                "no host key verification configured: use with_known_hosts, \
                 with_host_key_fingerprint or (explicitly) danger_accept_any_host_key"
                    .into(),
            )
        })?;
        let user = match self.user.clone() {
            Some(u) => u,
            None => std::env::var("USER")
                .map_err(|_| Error::Config("no SSH user given and $USER is not set".into()))?,
        };
        // No copy of the passphrase: it stays in its zeroizing SecretString.
        let passphrase = self.passphrase.as_ref().map(|p| p.expose_secret());
        let key = match &self.key {
            Some(KeySource::File(p)) => russh::keys::load_secret_key(p, passphrase)
                .map_err(|e| Error::Key(format!("{}: {e}", p.display())))?,
            Some(KeySource::Memory(k)) => {
                russh::keys::decode_secret_key(k.expose_secret(), passphrase)
                    .map_err(|e| Error::Key(e.to_string()))?
            }
            None => return Err(Error::Config("no SSH private key given".into())),
        };
        let config = Arc::new(client::Config {
            inactivity_timeout: self.inactivity_timeout,
            keepalive_interval: Some(self.keepalive_interval),
            keepalive_max: self.keepalive_max,
            nodelay: true,
            ..Default::default()
        });
        let verdict = Arc::new(Mutex::new(None));
        let verifier = Verifier {
            host: self.host.clone(),
            port: self.port,
            policy: host_key,
            verdict: verdict.clone(),
        };
        let host = self.host.clone();
        let port = self.port;
        let span = tracing::debug_span!("ssh_connect", host = %host, port, user = %user);
        let fut = async {
            let mut handle = client::connect(config, (host.as_str(), port), verifier)
                .await
                .map_err(|e| {
                    if let Some((presented, reason)) =
                        verdict.lock().ok().and_then(|mut v| v.take())
                    {
                        Error::HostKey {
                            host: host.clone(),
                            port,
                            presented,
                            reason,
                        }
                    } else if let russh::Error::IO(io) = &e {
                        Error::Transport {
                            host: host.clone(),
                            port,
                            reason: io.to_string(),
                        }
                    } else {
                        Error::Ssh(e)
                    }
                })?;
            let hash = handle
                .best_supported_rsa_hash()
                .await
                .map_err(Error::Ssh)?
                .flatten();
            let res = handle
                .authenticate_publickey(
                    user.clone(),
                    PrivateKeyWithHashAlg::new(Arc::new(key), hash),
                )
                .await
                .map_err(Error::Ssh)?;
            if !res.success() {
                return Err(Error::AuthRejected {
                    user: user.clone(),
                    host: host.clone(),
                });
            }
            Ok(handle)
        }
        .instrument(span);
        let handle = tokio::time::timeout(self.connect_timeout, fut)
            .await
            .map_err(|_| Error::Transport {
                host: self.host.clone(),
                port: self.port,
                reason: format!("timed out after {:?}", self.connect_timeout),
            })??;
        Ok(SshTransport {
            inner: Arc::new(Conn {
                handle,
                pending: Arc::default(),
                host: self.host,
                port: self.port,
                user,
            }),
        })
    }
}

struct Verifier {
    host: String,
    port: u16,
    policy: HostKeyPolicy,
    verdict: Arc<Mutex<Option<(String, String)>>>,
}

impl Verifier {
    fn refuse(&self, presented: String, reason: String) -> bool {
        if let Ok(mut v) = self.verdict.lock() {
            *v = Some((presented, reason));
        }
        false
    }
}

/// Normalises a fingerprint for comparison (`SHA256:` prefix optional, base64 padding ignored).
fn normalise_fingerprint(f: &str) -> &str {
    f.trim().trim_start_matches("SHA256:").trim_end_matches('=')
}

impl client::Handler for Verifier {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> std::result::Result<bool, Self::Error> {
        let PublicKeyOrCertificate::PublicKey { key, .. } = key else {
            return Ok(self.refuse(
                "certificate".into(),
                "host certificates are not supported; pin the host key".into(),
            ));
        };
        let presented = key.fingerprint(HashAlg::Sha256).to_string();
        let ok = match &self.policy {
            HostKeyPolicy::AcceptAny => true,
            HostKeyPolicy::Fingerprint(f) => {
                normalise_fingerprint(f) == normalise_fingerprint(&presented)
                    || self.refuse(presented.clone(), format!("does not match the pinned {f}"))
            }
            HostKeyPolicy::KnownHosts(path) => {
                use super::known_hosts::{Verdict, check};
                let file = path.display();
                match check(path, &self.host, self.port, key) {
                    Ok(Verdict::Known) => true,
                    Ok(Verdict::Unknown) => {
                        self.refuse(presented.clone(), format!("no matching key in {file}"))
                    }
                    Ok(Verdict::Changed { line }) => self.refuse(
                        presented.clone(),
                        format!("HOST KEY CHANGED: {file} line {line} lists a different key"),
                    ),
                    Ok(Verdict::Revoked { line }) => self.refuse(
                        presented.clone(),
                        format!("the key is revoked (@revoked, {file} line {line})"),
                    ),
                    Ok(Verdict::CertAuthorityOnly { line }) => self.refuse(
                        presented.clone(),
                        format!(
                            "{file} line {line} trusts a @cert-authority for this host, but host \
                             certificates are not supported: list the host key itself"
                        ),
                    ),
                    Err(e) => self.refuse(presented.clone(), format!("cannot read {file}: {e}")),
                }
            }
        };
        tracing::debug!(fingerprint = %presented, accepted = ok, "ssh host key");
        Ok(ok)
    }
}

struct Conn {
    handle: client::Handle<Verifier>,
    pending: Arc<Pending>,
    host: String,
    port: u16,
    user: String,
}

/// An authenticated SSH connection; every command opens a session channel on it. Clones share
/// the connection.
#[derive(Clone)]
pub struct SshTransport {
    inner: Arc<Conn>,
}

impl std::fmt::Debug for SshTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshTransport")
            .field("target", &self.describe())
            .finish_non_exhaustive()
    }
}

impl SshTransport {
    /// Starts building a connection to `host`.
    pub fn builder(host: impl Into<String>) -> SshTransportBuilder {
        SshTransportBuilder {
            host: host.into(),
            port: 22,
            user: None,
            key: None,
            passphrase: None,
            host_key: None,
            host_key_requests: Vec::new(),
            connect_timeout: Duration::from_secs(15),
            keepalive_interval: Duration::from_secs(15),
            keepalive_max: 3,
            inactivity_timeout: None,
        }
    }

    /// `ssh://user@host:port`.
    pub fn describe(&self) -> String {
        format!(
            "ssh://{}@{}:{}",
            self.inner.user, self.inner.host, self.inner.port
        )
    }

    /// Whether the connection is closed.
    pub fn is_closed(&self) -> bool {
        self.inner.handle.is_closed()
    }

    /// Closes the connection (commands still running are interrupted remotely).
    ///
    /// # Errors
    ///
    /// [`Error::Ssh`] when the disconnect message cannot be sent (the connection is gone).
    ///
    /// ```no_run
    /// # async fn demo(ssh: restic_remote::SshTransport) -> restic_remote::Result<()> {
    /// ssh.disconnect().await?;
    /// assert!(ssh.is_closed());
    /// # Ok(()) }
    /// ```
    pub async fn disconnect(&self) -> Result<()> {
        self.inner
            .handle
            .disconnect(Disconnect::ByApplication, "", "en")
            .await
            .map_err(Error::Ssh)
    }

    /// Runs one fixed command on the host and collects its output: for housekeeping beside
    /// restic (make a private scratch directory, check it, remove it).
    ///
    /// Each element of `argv` is quoted for the remote login shell (POSIX `sh` quoting), so it
    /// arrives as exactly one argument — spaces, quotes, `;`, `$(…)` and globs included — and
    /// no shell syntax is ever interpreted. Standard input is closed at once. Standard output
    /// and error are kept up to [`crate::EXEC_OUTPUT_LIMIT`] bytes each (the rest is read and
    /// discarded, [`ExecOutput::truncated`](crate::ExecOutput::truncated) set). A non-zero
    /// exit is not an error: look at [`ExecOutput::status`](crate::ExecOutput::status).
    /// After `timeout` the channel is closed and [`Error::Exec`] returned.
    ///
    /// The command line is visible to every user of the host (`ps`, `/proc`): never put a secret
    /// in `argv` (restic's secrets travel on standard input instead; see [`crate::script`]).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an empty `argv` or a NUL byte; [`Error::Exec`] when the
    /// command cannot be run to its end (refused, connection lost, timeout); [`Error::Ssh`]
    /// when no channel can be opened on a live connection.
    ///
    /// ```no_run
    /// # async fn demo(ssh: restic_remote::SshTransport) -> restic_remote::Result<()> {
    /// use std::time::Duration;
    /// let out = ssh.exec(&["mktemp", "-d"], Duration::from_secs(10)).await?;
    /// if out.success() {
    ///     println!("scratch: {}", out.stdout_text().trim());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn exec(&self, argv: &[&str], timeout: Duration) -> Result<crate::ExecOutput> {
        let line = super::exec::command_line(argv)?;
        let program = argv.first().copied().unwrap_or_default();
        let ch = self
            .inner
            .handle
            .channel_open_session()
            .await
            .map_err(|e| {
                if self.inner.handle.is_closed() {
                    Error::Exec {
                        program: program.to_owned(),
                        reason: "the SSH connection is closed".into(),
                    }
                } else {
                    Error::Ssh(e)
                }
            })?;
        super::exec::run(ch, line, program, timeout).await
    }

    pub(crate) async fn spawn(&self, argv: &[String], preamble: SecretString) -> Result<Process> {
        let line = crate::script::remote_command_line(argv)?;
        let lost = |e: russh::Error| {
            if self.inner.handle.is_closed() {
                Error::ConnectionLost {
                    command: argv.get(1).cloned().unwrap_or_default(),
                }
            } else {
                Error::Ssh(e)
            }
        };
        let mut ch = self
            .inner
            .handle
            .channel_open_session()
            .await
            .map_err(lost)?;
        ch.exec(true, line.into_bytes()).await.map_err(lost)?;
        ch.data_bytes(bytes::Bytes::copy_from_slice(
            preamble.expose_secret().as_bytes(),
        ))
        .await
        .map_err(lost)?;
        drop(preamble);
        let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
        let (cancel_tx, mut cancel_rx) = oneshot::channel::<PendingGuard>();
        tokio::spawn(async move {
            let mut code = None;
            let mut signal = None;
            loop {
                let msg = tokio::select! {
                    m = ch.wait() => m,
                    c = &mut cancel_rx => {
                        finish_cancelled(ch, c.ok()).await;
                        return;
                    }
                };
                let forward = match msg {
                    None | Some(ChannelMsg::Close) => break,
                    Some(ChannelMsg::Data { data }) => Msg::Stdout(data),
                    Some(ChannelMsg::ExtendedData { data, ext: 1 }) => Msg::Stderr(data),
                    Some(ChannelMsg::ExitStatus { exit_status }) => {
                        code = Some(exit_status);
                        continue;
                    }
                    Some(ChannelMsg::ExitSignal { signal_name, .. }) => {
                        signal = Some(format!("{signal_name:?}"));
                        continue;
                    }
                    Some(ChannelMsg::Failure) => {
                        let _ = tx
                            .send(Msg::Lost("the server refused to run the command".into()))
                            .await;
                        return;
                    }
                    Some(_) => continue,
                };
                if tx.send(forward).await.is_err() {
                    // The reader is gone: its Process was dropped, which sent the cancel first.
                    finish_cancelled(ch, cancel_rx.try_recv().ok()).await;
                    return;
                }
            }
            let msg = if code.is_some() || signal.is_some() {
                Msg::Exit { code, signal }
            } else {
                Msg::Lost("the SSH channel closed without an exit status".into())
            };
            let _ = tx.send(msg).await;
        });
        Ok(Process::new(rx, cancel_tx, self.pending()))
    }

    pub(crate) fn pending(&self) -> Arc<Pending> {
        self.inner.pending.clone()
    }
}

/// Ends a cancelled command: EOF on the wrapper's input interrupts restic remotely; then the
/// channel stays open, its output read and discarded, until the wrapper reports its exit (or
/// the grace period runs out), because restic still prints while it removes its lock and would
/// die of a closed pipe (Go exits on EPIPE on standard output/error) with the lock in place.
async fn finish_cancelled(mut ch: russh::Channel<client::Msg>, guard: Option<PendingGuard>) {
    let _ = ch.eof().await;
    let deadline = tokio::time::Instant::now() + CANCEL_GRACE;
    loop {
        match tokio::time::timeout_at(deadline, ch.wait()).await {
            Err(_) => {
                tracing::warn!("remote restic did not end within the grace period after cancel");
                break;
            }
            Ok(None | Some(ChannelMsg::Close))
            | Ok(Some(ChannelMsg::ExitStatus { .. } | ChannelMsg::ExitSignal { .. })) => break,
            Ok(Some(_)) => continue,
        }
    }
    let _ = ch.close().await;
    drop(guard);
}
