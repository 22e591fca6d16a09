//! Local transport: `/bin/sh -c SCRIPT` as a child process.

use std::process::Stdio;

use bytes::BytesMut;
use secrecy::{ExposeSecret as _, SecretString};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::mpsc;

use super::{CHANNEL_DEPTH, Msg, Process};
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
        let out_task = tokio::spawn(pump(stdout, tx.clone(), Msg::Stdout));
        let err_task = tokio::spawn(pump(stderr, tx.clone(), Msg::Stderr));
        tokio::spawn(async move {
            let status = tokio::select! {
                s = child.wait() => s,
                _ = tx.closed() => {
                    // Cancelled: end of input makes the script interrupt restic; reap it later.
                    drop(stdin);
                    let _ = child.wait().await;
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
        Ok(Process { rx })
    }
}

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
                if tx.send(wrap(buf.freeze())).await.is_err() {
                    return;
                }
            }
        }
    }
}
