//! The remote command line: a constant POSIX `sh` script plus restic's quoted argv.
//!
//! What the remote login shell receives as its `-c` argument (and so what any user can see in
//! `ps`) is
//!
//! ```text
//! exec /bin/sh -c '<SCRIPT>' restic-remote restic <quoted args…>
//! ```
//!
//! with no secret in it. The client then writes `NAME=value` lines and an empty line on the
//! channel's standard input; the script reads them with the `read` builtin (no new process, no
//! argv), `export`s them, and starts restic with its standard input from `/dev/null`. The script
//! keeps reading its standard input: when it reaches end-of-file — the client dropped the command,
//! hit its timeout, or the connection died — it sends restic `SIGINT` (restic removes its lock
//! and exits 130), then `SIGKILL` if restic is still there ten seconds later (polling each second, so
//! nothing of the wrapper lingers for long). The script reaps that watcher before it exits, so
//! when the wrapper has ended no process of it is left. So no restic outlives its caller.
//!
//! restic's standard output and error do not go straight to the channel: they go through two
//! FIFOs (made in a private `mktemp -d` directory that is removed at once; the open descriptors
//! are reopened through `/dev/fd`, so Linux is assumed) to `cat` relays. When the caller goes
//! away — a cut connection, a killed parent — the relay's `cat` dies of the broken pipe and a
//! second `cat` keeps reading into `/dev/null`, so restic never writes into a closed pipe. That
//! matters: restic is a Go program, Go exits at once on `EPIPE` on descriptors 1 and 2 (whatever
//! `SIGPIPE`'s disposition), and restic prints as soon as it is interrupted — it would die with
//! its repository lock still in place.

use crate::error::{Error, Result};

/// The script run by `/bin/sh -c`. `$@` is restic's argv.
pub const SCRIPT: &str = r#"umask 077
while IFS= read -r l; do
  [ -z "$l" ] && break
  n=${l%%=*}; v=${l#*=}
  case $n in
    *[!A-Z0-9_]*|[0-9]*|'') echo "restic-remote: invalid variable name" >&2; exit 125 ;;
  esac
  export "$n=$v"
done
d=$(mktemp -d) || { echo "restic-remote: mktemp failed" >&2; exit 125; }
mkfifo "$d/o" "$d/e" || { rm -rf "$d"; echo "restic-remote: mkfifo failed" >&2; exit 125; }
exec 4<>"$d/o" 5<>"$d/e"
rm -rf "$d"
{ cat; cat >/dev/null; } </dev/fd/4 4>&- 5>&- &
ro=$!
{ cat >&2; cat >/dev/null; } </dev/fd/5 4>&- 5>&- &
re=$!
exec 3<&0
"$@" </dev/null 3<&- >/dev/fd/4 2>/dev/fd/5 4>&- 5>&- &
pid=$!
exec 4>&- 5>&-
{ while IFS= read -r l; do :; done; kill -INT "$pid"; i=0
  while [ "$i" -lt 10 ] && kill -0 "$pid"; do sleep 1; i=$((i+1)); done
  kill -KILL "$pid"; } <&3 >/dev/null 2>&1 &
wid=$!
exec 3<&-
wait "$pid"; rc=$?
kill "$wid" 2>/dev/null
wait "$wid" "$ro" "$re"
exit "$rc""#;

/// Exit status of the script when its preamble fails (bad variable line).
pub const PREAMBLE_FAILED: u32 = 125;

/// Checks a variable for the stdin protocol: a shell-safe name, a value without NUL or newline.
pub(crate) fn check_variable(name: &str, value: &str) -> Result<()> {
    let valid_name = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !valid_name {
        return Err(Error::InvalidArgument(format!(
            "environment variable name {name:?} must match [A-Z_][A-Z0-9_]*"
        )));
    }
    if value.contains(['\0', '\n', '\r']) {
        return Err(Error::InvalidArgument(format!(
            "the value of {name} contains a NUL byte or a line break"
        )));
    }
    Ok(())
}

/// Quotes one argument for a POSIX shell; NUL bytes are rejected.
pub fn quote(arg: &str) -> Result<String> {
    shlex::try_quote(arg)
        .map(|c| c.into_owned())
        .map_err(|_| Error::InvalidArgument("argument contains a NUL byte".into()))
}

/// The full command line for the remote login shell: `exec /bin/sh -c SCRIPT restic-remote ARGV…`.
pub fn remote_command_line(argv: &[String]) -> Result<String> {
    let mut words: Vec<&str> = vec!["exec", "/bin/sh", "-c", SCRIPT, "restic-remote"];
    words.extend(argv.iter().map(String::as_str));
    shlex::try_join(words)
        .map_err(|_| Error::InvalidArgument("argument contains a NUL byte".into()))
}

/// The bytes written on standard input: `NAME=value` lines, then an empty line.
pub(crate) fn stdin_preamble(vars: &[(&str, &secrecy::SecretString)]) -> secrecy::SecretString {
    use secrecy::ExposeSecret as _;
    let mut s = String::new();
    for (k, v) in vars {
        s.push_str(k);
        s.push('=');
        s.push_str(v.expose_secret());
        s.push('\n');
    }
    s.push('\n');
    s.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `remote_command_line(argv)` through a real `/bin/sh -c`, as sshd's login shell would.
    fn run_through_shell(argv: &[String]) -> Vec<u8> {
        use std::io::{Read as _, Write as _};
        let line = remote_command_line(argv).unwrap();
        let mut child = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(&line)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"\n").unwrap(); // empty preamble; stdin stays open while it runs
        let mut out = Vec::new();
        child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
        drop(stdin);
        assert!(child.wait().unwrap().success());
        out
    }

    #[test]
    fn command_line_quotes_every_argument_for_the_shell() {
        let line =
            remote_command_line(&["restic".into(), "backup".into(), "/srv/it's $(x)".into()])
                .unwrap();
        assert!(line.starts_with("exec /bin/sh -c '"), "{line}");
        assert!(line.contains(" restic-remote restic backup "), "{line}");
        assert!(!line.contains(" /srv/it's $(x)"), "unquoted: {line}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 24, failure_persistence: None, ..Default::default() })]
        #[test]
        fn arguments_reach_the_program_byte_exact(args in proptest::collection::vec("[^\\x00]{0,12}", 1..4)) {
            let mut argv = vec!["printf".to_owned(), "%s\\0".to_owned()];
            argv.extend(args.iter().cloned());
            let out = run_through_shell(&argv);
            let mut expected = Vec::new();
            for a in &args {
                expected.extend_from_slice(a.as_bytes());
                expected.push(0);
            }
            proptest::prop_assert_eq!(out, expected);
        }
    }

    #[test]
    fn nul_is_rejected() {
        assert!(remote_command_line(&["a\0b".into()]).is_err());
        assert!(quote("a\0b").is_err());
    }

    #[test]
    fn variables_are_validated() {
        assert!(check_variable("AWS_SECRET_ACCESS_KEY", "x/y+z=").is_ok());
        assert!(check_variable("aws", "x").is_err());
        assert!(check_variable("1A", "x").is_err());
        assert!(check_variable("A;B", "x").is_err());
        assert!(check_variable("A", "x\ny").is_err());
        assert!(check_variable("A", "x\0y").is_err());
    }
}
