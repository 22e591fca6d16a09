//! The private directory an SSH plan's drill restores into, on the plan's host.
//!
//! A predictable name in a shared directory (`/tmp/restore-drill-<plan>-<secs>`) can be
//! pre-created by any local user — a symlink into their own directory, or a directory of theirs
//! — and would receive a full copy of production data. So, over the plan's SSH connection:
//!
//! 1. every component of the configured `scratch_dir` (default `/tmp`) is checked with
//!    `stat`: no symbolic link, a directory, owned by root or by the SSH user, and not writable
//!    by group or others unless the sticky bit is set (as on `/tmp`, mode 1777): nobody else can
//!    rename or replace what lies under it;
//! 2. `mktemp -d <scratch_dir>/restore-drill-<plan>.XXXXXXXXXX` creates a fresh directory
//!    atomically (it fails rather than reuse an existing name) with mode 0700;
//! 3. `stat` proves the result: a real directory, owned by the SSH user, mode 0700;
//! 4. after the drill — failed or not — `rm -rf --one-file-system -- <that path>` removes it,
//!    unless the operator asked to keep it.
//!
//! Needs GNU coreutils on the host (`mktemp -d`, `stat -c`, `rm --one-file-system`). Every
//! command is a fixed argv ([`restic_remote::SshTransport::exec`]): no secret, no shell syntax.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail, ensure};
use restic_remote::SshTransport;

/// Bound for the quick commands (`id`, `stat`, `mktemp`).
const QUICK: Duration = Duration::from_secs(60);
/// Bound for removing a restored tree.
const REMOVE: Duration = Duration::from_secs(30 * 60);

/// The default parent of the drill directories on a host.
pub const DEFAULT_SCRATCH_DIR: &str = "/tmp";

/// A private directory on the host, made by [`RemoteScratch::create`].
#[derive(Debug)]
pub struct RemoteScratch {
    ssh: SshTransport,
    path: String,
}

/// One `stat -c '%u %a %F'` line: owner uid, permission bits, file type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatLine {
    /// Owner uid.
    pub uid: u32,
    /// Permission bits including setuid/setgid/sticky (`%a` is octal).
    pub mode: u32,
    /// `%F`: `directory`, `symbolic link`, `regular file`, …
    pub kind: String,
}

impl StatLine {
    fn parse(line: &str) -> Result<Self> {
        let mut words = line.splitn(3, ' ');
        let (Some(uid), Some(mode), Some(kind)) = (words.next(), words.next(), words.next()) else {
            bail!("unexpected stat output {line:?}");
        };
        Ok(StatLine {
            uid: uid
                .parse()
                .with_context(|| format!("uid in stat output {line:?}"))?,
            mode: u32::from_str_radix(mode, 8)
                .with_context(|| format!("mode in stat output {line:?}"))?,
            kind: kind.to_owned(),
        })
    }
}

/// `/`, `/a`, `/a/b` for `/a/b/`; refuses a relative path, `.`/`..` and odd characters.
pub fn components(dir: &str) -> Result<Vec<String>> {
    ensure!(
        dir.starts_with('/'),
        "scratch_dir {dir:?} must be an absolute path"
    );
    ensure!(
        !dir.contains(['\0', '\n', '\r']),
        "scratch_dir {dir:?} contains a control character"
    );
    let mut out = vec!["/".to_owned()];
    let mut current = String::new();
    for part in dir.split('/').filter(|p| !p.is_empty()) {
        ensure!(
            part != "." && part != "..",
            "scratch_dir {dir:?} must not contain . or .. components"
        );
        current.push('/');
        current.push_str(part);
        out.push(current.clone());
    }
    Ok(out)
}

/// The rule for every component of `scratch_dir` (see the module documentation).
pub fn judge_component(path: &str, st: &StatLine, user_uid: u32) -> Result<()> {
    if st.kind == "symbolic link" {
        bail!("{path} is a symbolic link; give scratch_dir as a path without links");
    }
    if st.kind != "directory" {
        bail!("{path} is a {}, not a directory", st.kind);
    }
    if st.uid != 0 && st.uid != user_uid {
        bail!(
            "{path} is owned by uid {}, neither root nor the SSH user (uid {user_uid})",
            st.uid
        );
    }
    let others_write = st.mode & 0o022 != 0;
    let sticky = st.mode & 0o1000 != 0;
    if others_write && !sticky {
        bail!(
            "{path} (mode {:o}) is writable by group or others without the sticky bit: \
             anyone could replace what lies under it",
            st.mode
        );
    }
    Ok(())
}

/// Drill directories carry the plan's name; anything but `[A-Za-z0-9._-]` becomes `_`.
pub fn safe_plan_name(plan: &str) -> String {
    let s: String = plan
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() { "plan".to_owned() } else { s }
}

async fn run(ssh: &SshTransport, argv: &[&str], timeout: Duration) -> Result<String> {
    let out = ssh
        .exec(argv, timeout)
        .await
        .with_context(|| format!("running {} on {}", argv[0], ssh.describe()))?;
    if !out.success() {
        bail!(
            "{} on {} failed ({}): {}",
            argv[0],
            ssh.describe(),
            out.status
                .map_or_else(|| "no exit status".to_owned(), |c| format!("exit {c}")),
            out.stderr_text().trim()
        );
    }
    ensure!(!out.truncated, "{} printed too much output", argv[0]);
    Ok(out.stdout_text())
}

async fn stat(ssh: &SshTransport, paths: &[&str]) -> Result<Vec<StatLine>> {
    let mut argv = vec!["stat", "-c", "%u %a %F", "--"];
    argv.extend_from_slice(paths);
    let text = run(ssh, &argv, QUICK).await?;
    let lines: Vec<StatLine> = text.lines().map(StatLine::parse).collect::<Result<_>>()?;
    ensure!(
        lines.len() == paths.len(),
        "stat printed {} lines for {} paths",
        lines.len(),
        paths.len()
    );
    Ok(lines)
}

impl RemoteScratch {
    /// Checks `scratch_dir` on the host and creates a fresh private directory under it.
    pub async fn create(ssh: &SshTransport, scratch_dir: &str, plan: &str) -> Result<Self> {
        let uid: u32 = run(ssh, &["id", "-u"], QUICK)
            .await?
            .trim()
            .parse()
            .context("the SSH user's uid (id -u)")?;
        let parts = components(scratch_dir)?;
        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
        let stats = stat(ssh, &refs)
            .await
            .with_context(|| format!("checking scratch_dir {scratch_dir} on the host"))?;
        for (path, st) in parts.iter().zip(&stats) {
            judge_component(path, st, uid)
                .with_context(|| format!("scratch_dir {scratch_dir} is refused"))?;
        }
        let dir = parts.last().map_or("/", String::as_str);
        let prefix = format!(
            "{}/restore-drill-{}.",
            dir.trim_end_matches('/'),
            safe_plan_name(plan)
        );
        let template = format!("{prefix}XXXXXXXXXX");
        let made = run(ssh, &["mktemp", "-d", &template], QUICK)
            .await
            .context("creating the drill directory")?;
        let path = made.strip_suffix('\n').unwrap_or(&made).to_owned();
        let suffix = path.strip_prefix(&prefix).unwrap_or_default();
        ensure!(
            suffix.len() == 10 && suffix.chars().all(|c| c.is_ascii_alphanumeric()),
            "mktemp printed an unexpected path {path:?}"
        );
        let st = stat(ssh, &[&path]).await?.remove(0);
        // mktemp made it, so it must be ours: anything else means someone swapped it.
        if st.kind != "directory" || st.uid != uid || st.mode != 0o700 {
            bail!(
                "the new drill directory {path} is not a private directory of the SSH user \
                 (got {}, uid {}, mode {:o}; want directory, uid {uid}, mode 700): refusing \
                 to restore into it",
                st.kind,
                st.uid,
                st.mode
            );
        }
        Ok(RemoteScratch {
            ssh: ssh.clone(),
            path,
        })
    }

    /// The directory on the host.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Removes the directory and everything under it (never crossing into another file system).
    pub async fn remove(self) -> Result<()> {
        run(
            &self.ssh,
            &["rm", "-rf", "--one-file-system", "--", &self.path],
            REMOVE,
        )
        .await
        .map(drop)
        .map_err(|e| anyhow!("removing {} on the host: {e:#}", self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(uid: u32, mode: u32, kind: &str) -> StatLine {
        StatLine {
            uid,
            mode,
            kind: kind.to_owned(),
        }
    }

    #[test]
    fn stat_lines_parse() {
        assert_eq!(
            StatLine::parse("0 1777 directory").unwrap(),
            st(0, 0o1777, "directory")
        );
        assert_eq!(
            StatLine::parse("1000 777 symbolic link").unwrap(),
            st(1000, 0o777, "symbolic link")
        );
        assert!(StatLine::parse("x 700 directory").is_err());
        assert!(StatLine::parse("0 9 directory").is_err());
        assert!(StatLine::parse("0").is_err());
    }

    #[test]
    fn components_from_root_down() {
        assert_eq!(components("/").unwrap(), ["/"]);
        assert_eq!(
            components("/var/tmp/drills/").unwrap(),
            ["/", "/var", "/var/tmp", "/var/tmp/drills"]
        );
        assert!(components("tmp").is_err());
        assert!(components("/tmp/../etc").is_err());
        assert!(components("/tmp/./x").is_err());
    }

    #[test]
    fn the_scratch_dir_rule() {
        let user = 1000;
        // /tmp: root's, world-writable with the sticky bit.
        judge_component("/tmp", &st(0, 0o1777, "directory"), user).unwrap();
        // The user's own private directory, and root's ordinary ones.
        judge_component("/home/u/d", &st(user, 0o700, "directory"), user).unwrap();
        judge_component("/var", &st(0, 0o755, "directory"), user).unwrap();
        let refused = |s: StatLine| {
            format!(
                "{:#}",
                judge_component("/x", &s, user).expect_err("refused")
            )
        };
        assert!(refused(st(0, 0o777, "symbolic link")).contains("symbolic link"));
        assert!(refused(st(0, 0o644, "regular file")).contains("not a directory"));
        assert!(refused(st(65534, 0o755, "directory")).contains("uid 65534"));
        assert!(refused(st(65534, 0o1777, "directory")).contains("uid 65534"));
        assert!(refused(st(0, 0o777, "directory")).contains("sticky"));
        assert!(refused(st(user, 0o770, "directory")).contains("sticky"));
    }

    #[test]
    fn plan_names_are_made_safe() {
        assert_eq!(safe_plan_name("web-daily"), "web-daily");
        assert_eq!(safe_plan_name("a/b c"), "a_b_c");
        assert_eq!(safe_plan_name(""), "plan");
    }
}
