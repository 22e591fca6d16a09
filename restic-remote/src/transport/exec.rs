//! One fixed command over SSH, output collected: for the small housekeeping a caller needs on
//! the host besides restic (make a private scratch directory, check it, remove it).

use std::time::Duration;

use russh::{ChannelMsg, client};

use crate::error::{Error, Result};

/// Most bytes [`crate::SshTransport::exec`] keeps of each of standard output and standard error;
/// the rest is read and discarded (so the remote command never blocks on a full pipe) and
/// [`ExecOutput::truncated`] is set.
pub const EXEC_OUTPUT_LIMIT: usize = 64 * 1024;

/// What a command run with [`crate::SshTransport::exec`] left behind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExecOutput {
    /// Exit status, when the command exited.
    pub status: Option<u32>,
    /// The signal that ended it, when one did (`"TERM"`, …).
    pub signal: Option<String>,
    /// Standard output (at most [`EXEC_OUTPUT_LIMIT`] bytes).
    pub stdout: Vec<u8>,
    /// Standard error (at most [`EXEC_OUTPUT_LIMIT`] bytes).
    pub stderr: Vec<u8>,
    /// Whether either stream was longer than [`EXEC_OUTPUT_LIMIT`] and was cut.
    pub truncated: bool,
}

impl ExecOutput {
    /// Exit status 0.
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }

    /// Standard output as text (invalid UTF-8 replaced).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Standard error as text (invalid UTF-8 replaced).
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// The line the remote login shell runs: every word quoted for a POSIX shell, so each argument
/// arrives as exactly one word and nothing in it is interpreted.
pub(crate) fn command_line(argv: &[&str]) -> Result<String> {
    if argv.is_empty() {
        return Err(Error::InvalidArgument("exec needs a program name".into()));
    }
    shlex::try_join(argv.iter().copied())
        .map_err(|_| Error::InvalidArgument("argument contains a NUL byte".into()))
}

fn exec_error(program: &str, reason: &str) -> Error {
    Error::Exec {
        program: program.to_owned(),
        reason: reason.to_owned(),
    }
}

/// Appends what fits under the limit; says whether something was cut.
fn keep(buf: &mut Vec<u8>, data: &[u8]) -> bool {
    let room = EXEC_OUTPUT_LIMIT.saturating_sub(buf.len());
    buf.extend_from_slice(&data[..data.len().min(room)]);
    data.len() > room
}

/// Runs `line` on a fresh session channel with standard input closed, collecting its output
/// until the server closes the channel; after `timeout` the channel is closed and
/// [`Error::Exec`] returned.
pub(crate) async fn run(
    mut ch: russh::Channel<client::Msg>,
    line: String,
    program: &str,
    timeout: Duration,
) -> Result<ExecOutput> {
    let collect = async {
        ch.exec(true, line.into_bytes()).await.map_err(Error::Ssh)?;
        // Nothing to read: a command that waits for input ends at once instead of hanging.
        ch.eof().await.map_err(Error::Ssh)?;
        let mut out = ExecOutput::default();
        loop {
            match ch.wait().await {
                None | Some(ChannelMsg::Close) => break,
                Some(ChannelMsg::Data { data }) => out.truncated |= keep(&mut out.stdout, &data),
                Some(ChannelMsg::ExtendedData { data, ext: 1 }) => {
                    out.truncated |= keep(&mut out.stderr, &data);
                }
                Some(ChannelMsg::ExitStatus { exit_status }) => out.status = Some(exit_status),
                Some(ChannelMsg::ExitSignal { signal_name, .. }) => {
                    out.signal = Some(format!("{signal_name:?}"));
                }
                Some(ChannelMsg::Failure) => {
                    return Err(exec_error(program, "the server refused to run the command"));
                }
                Some(_) => {}
            }
        }
        if out.status.is_none() && out.signal.is_none() {
            return Err(exec_error(
                program,
                "the channel closed without an exit status (connection lost?)",
            ));
        }
        Ok(out)
    };
    let result = tokio::time::timeout(timeout, collect).await;
    match result {
        Ok(r) => r,
        Err(_) => {
            let _ = ch.close().await;
            Err(exec_error(
                program,
                &format!("no exit within {timeout:?}; the channel was closed"),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_round_trips_through_shell_splitting() {
        let argv = [
            "printf",
            "%s\\n",
            "two words",
            "it's \"quoted\"",
            "a; rm -rf /",
            "$(id) `id` $HOME",
            "*",
            "",
        ];
        let line = command_line(&argv).unwrap();
        assert_eq!(shlex::split(&line).unwrap(), argv);
        assert!(command_line(&[]).is_err());
        assert!(command_line(&["echo", "nul\0byte"]).is_err());
    }

    #[test]
    fn output_is_kept_up_to_the_limit() {
        let mut buf = Vec::new();
        assert!(!keep(&mut buf, &vec![b'a'; EXEC_OUTPUT_LIMIT - 1]));
        assert!(keep(&mut buf, b"bc"));
        assert_eq!(buf.len(), EXEC_OUTPUT_LIMIT);
        assert_eq!(buf.last(), Some(&b'b'));
        assert!(keep(&mut buf, b"d"));
        assert_eq!(buf.len(), EXEC_OUTPUT_LIMIT);
    }
}
