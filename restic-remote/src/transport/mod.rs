//! Where restic runs: a local process or a remote host over SSH (russh).
//!
//! The only module touching processes and russh. Both transports run the same
//! [`crate::script::SCRIPT`] with the same standard-input protocol, so secrets never reach a
//! command line and dropping a running command ends restic on either.

mod local;
mod ssh;

use bytes::Bytes;
use secrecy::SecretString;
use tokio::sync::mpsc;

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

    pub(crate) async fn spawn(&self, argv: &[String], preamble: SecretString) -> Result<Process> {
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

/// A running command. Dropping it closes restic's controlling input: the remote script then
/// interrupts restic (see [`crate::script`]).
#[derive(Debug)]
pub(crate) struct Process {
    pub(crate) rx: mpsc::Receiver<Msg>,
}

/// Bounded: a slow reader stops the producer, so memory stays flat.
pub(crate) const CHANNEL_DEPTH: usize = 32;
