//! Local transport: `/bin/sh -c SCRIPT` as a child process.

use std::process::Stdio;
use std::sync::{Arc, OnceLock};

use bytes::BytesMut;
use secrecy::{ExposeSecret as _, SecretString};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::{mpsc, oneshot};

use super::{CANCEL_GRACE, CHANNEL_DEPTH, Msg, Pending, PendingGuard, Process};
use crate::error::{Error, Result};
use crate::script::SCRIPT;

/// Runs restic as a local child process (through the same `sh` wrapper as over SSH).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct LocalTransport {}

impl LocalTransport {
    /// The local transport.
    pub fn new() -> Self {
        LocalTransport {}
    }

    pub(crate) async fn spawn(&self, argv: &[String], preamble: SecretString) -> Result<Process> {
        if argv.iter().any(|a| a.contains('\0')) {
            return Err(Error::InvalidArgument(
                "argument contains a NUL byte".into(),
            ));
        }
        let mut child = tokio::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(SCRIPT)
            .arg("restic-remote")
            .args(argv)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(Error::Io)?;
        let mut stdin = child
            .stdin
            .take()
            .ok_or_else(|| Error::Io(std::io::Error::other("no stdin")))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| Error::Io(std::io::Error::other("no stdout")))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| Error::Io(std::io::Error::other("no stderr")))?;
        stdin
            .write_all(preamble.expose_secret().as_bytes())
            .await
            .map_err(Error::Io)?;
        stdin.flush().await.map_err(Error::Io)?;
        let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
        let (cancel_tx, mut cancel_rx) = oneshot::channel::<PendingGuard>();
        let out_task = tokio::spawn(pump(stdout, tx.clone(), Msg::Stdout));
        let err_task = tokio::spawn(pump(stderr, tx.clone(), Msg::Stderr));
        tokio::spawn(async move {
            let status = tokio::select! {
                s = child.wait() => s,
                c = &mut cancel_rx => {
                    // Cancelled: end of input makes the script interrupt restic. The pumps keep
                    // draining restic's output (so it can print while it removes its lock) until
                    // it has exited; the guard makes the next command wait for that.
                    let _guard = c.ok();
                    drop(stdin);
                    match tokio::time::timeout(CANCEL_GRACE, child.wait()).await {
                        Ok(_) => {}
                        Err(_) => {
                            tracing::warn!("restic did not end within the grace period; killing its wrapper");
                            let _ = child.kill().await;
                        }
                    }
                    let _ = tokio::time::timeout(CANCEL_GRACE, async {
                        let _ = out_task.await;
                        let _ = err_task.await;
                    })
                    .await;
                    return;
                }
            };
            drop(stdin);
            let _ = out_task.await;
            let _ = err_task.await;
            let msg = match status {
                Ok(s) => {
                    use std::os::unix::process::ExitStatusExt as _;
                    Msg::Exit {
                        code: s.code().map(|c| c as u32),
                        signal: s.signal().map(|n| format!("signal {n}")),
                    }
                }
                Err(e) => Msg::Lost(e.to_string()),
            };
            let _ = tx.send(msg).await;
        });
        Ok(Process::new(rx, cancel_tx, Self::pending()))
    }

    /// Cancelled local commands still ending (one machine: one list).
    pub(crate) fn pending() -> Arc<Pending> {
        static PENDING: OnceLock<Arc<Pending>> = OnceLock::new();
        PENDING.get_or_init(Default::default).clone()
    }
}

/// Forwards `r` to `tx`; once nobody listens any more it keeps reading and discards, so the
/// writer (restic, through the wrapper) never meets a closed pipe.
async fn pump<R: AsyncRead + Unpin>(
    mut r: R,
    tx: mpsc::Sender<Msg>,
    wrap: fn(bytes::Bytes) -> Msg,
) {
    loop {
        let mut buf = BytesMut::with_capacity(64 * 1024);
        match r.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                if !tx.is_closed() {
                    let _ = tx.send(wrap(buf.freeze())).await;
                }
            }
        }
    }
}
