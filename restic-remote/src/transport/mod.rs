//! Where restic runs: a local process or a remote host over SSH (russh).
//!
//! The only module touching processes and russh. Both transports run the same
//! [`crate::script::SCRIPT`] with the same standard-input protocol, so secrets never reach a
//! command line and dropping a running command ends restic on either.

mod exec;
mod known_hosts;
mod local;
mod ssh;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use secrecy::SecretString;
use tokio::sync::{mpsc, oneshot, watch};

pub use exec::{EXEC_OUTPUT_LIMIT, ExecOutput};
pub use local::LocalTransport;
pub use ssh::{HostKeyPolicy, SshTransport, SshTransportBuilder};

use crate::error::Result;

/// Where restic runs. Cheap to clone: an SSH transport's clones share one connection.
#[derive(Debug, Clone)]
pub struct Transport {
    inner: Inner,
}

#[derive(Debug, Clone)]
enum Inner {
    Local(LocalTransport),
    Ssh(SshTransport),
}

impl Transport {
    /// Runs restic on this machine.
    pub fn local() -> Self {
        Transport {
            inner: Inner::Local(LocalTransport::new()),
        }
    }

    /// A short description for logs (`local` or `ssh://user@host:port`).
    pub fn describe(&self) -> String {
        match &self.inner {
            Inner::Local(_) => "local".to_owned(),
            Inner::Ssh(s) => s.describe(),
        }
    }

    /// The SSH connection, when restic runs on a remote host (`None` for the local transport).
    pub fn as_ssh(&self) -> Option<&SshTransport> {
        match &self.inner {
            Inner::Local(_) => None,
            Inner::Ssh(s) => Some(s),
        }
    }

    /// Waits until every command cancelled on this transport has ended (bounded); see
    /// [`crate::Restic::settle`]. It cannot fail.
    ///
    /// ```no_run
    /// # async fn demo() {
    /// restic_remote::Transport::local().settle().await;
    /// # }
    /// ```
    pub async fn settle(&self) {
        self.pending().settle().await;
    }

    fn pending(&self) -> Arc<Pending> {
        match &self.inner {
            Inner::Local(_) => LocalTransport::pending(),
            Inner::Ssh(s) => s.pending(),
        }
    }

    /// Starts `argv` once no cancelled command is still ending on this transport.
    pub(crate) async fn spawn(&self, argv: &[String], preamble: SecretString) -> Result<Process> {
        self.settle().await;
        match &self.inner {
            Inner::Local(l) => l.spawn(argv, preamble).await,
            Inner::Ssh(s) => s.spawn(argv, preamble).await,
        }
    }
}

impl From<LocalTransport> for Transport {
    fn from(l: LocalTransport) -> Self {
        Transport {
            inner: Inner::Local(l),
        }
    }
}

impl From<SshTransport> for Transport {
    fn from(s: SshTransport) -> Self {
        Transport {
            inner: Inner::Ssh(s),
        }
    }
}

/// What a running command reports.
#[derive(Debug)]
pub(crate) enum Msg {
    Stdout(Bytes),
    Stderr(Bytes),
    Exit {
        code: Option<u32>,
        signal: Option<String>,
    },
    /// The connection/channel ended without an exit status.
    Lost(String),
}

/// How long a cancelled command may take to end: the wrapper script interrupts restic at once
/// and kills it 10 s later (see [`crate::script`]); the rest is slack for a loaded host.
pub(crate) const CANCEL_GRACE: Duration = Duration::from_secs(15);

/// Commands cancelled on one transport that have not ended yet. Every new command waits for
/// them (bounded), so it does not run into the lock of a restic that is still cleaning up.
#[derive(Debug)]
pub(crate) struct Pending {
    count: watch::Sender<usize>,
}

impl Default for Pending {
    fn default() -> Self {
        Pending {
            count: watch::Sender::new(0),
        }
    }
}

/// Held while a cancelled command is ending.
#[derive(Debug)]
pub(crate) struct PendingGuard(Arc<Pending>);

impl Pending {
    fn begin(self: &Arc<Self>) -> PendingGuard {
        self.count.send_modify(|n| *n += 1);
        PendingGuard(self.clone())
    }

    /// Waits until no cancelled command is still ending (at most [`CANCEL_GRACE`] + 5 s).
    pub(crate) async fn settle(&self) {
        let mut rx = self.count.subscribe();
        if tokio::time::timeout(
            CANCEL_GRACE + Duration::from_secs(5),
            rx.wait_for(|n| *n == 0),
        )
        .await
        .is_err()
        {
            tracing::warn!("a cancelled restic has not ended within the grace period");
        }
    }
}

impl Drop for PendingGuard {
    fn drop(&mut self) {
        self.0.count.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// A running command.
///
/// Dropping it (or [`Process::cancel_and_wait`]) cancels it: the transport closes the wrapper's
/// input, which interrupts restic (see [`crate::script`]), and keeps draining restic's output
/// until it has exited (bounded by [`CANCEL_GRACE`]) before it closes anything, so restic can
/// still print while it removes its lock.
#[derive(Debug)]
pub(crate) struct Process {
    pub(crate) rx: mpsc::Receiver<Msg>,
    cancel: Option<oneshot::Sender<PendingGuard>>,
    pending: Arc<Pending>,
}

impl Process {
    /// A process whose transport task ends it when `cancel` fires (or its sender is dropped).
    pub(crate) fn new(
        rx: mpsc::Receiver<Msg>,
        cancel: oneshot::Sender<PendingGuard>,
        pending: Arc<Pending>,
    ) -> Self {
        Process {
            rx,
            cancel: Some(cancel),
            pending,
        }
    }

    fn cancel(&mut self) {
        if let Some(tx) = self.cancel.take() {
            // Registered before returning, so a command started right after a drop waits.
            // When the task is already gone the guard comes back here and is dropped.
            let _ = tx.send(self.pending.begin());
        }
    }

    /// Cancels the command and waits until it has ended (or the grace period ran out).
    pub(crate) async fn cancel_and_wait(mut self) {
        self.cancel();
        let end = tokio::time::Instant::now() + CANCEL_GRACE + Duration::from_secs(5);
        while let Ok(Some(_)) = tokio::time::timeout_at(end, self.rx.recv()).await {}
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// Bounded: a slow reader stops the producer, so memory stays flat.
pub(crate) const CHANNEL_DEPTH: usize = 32;
