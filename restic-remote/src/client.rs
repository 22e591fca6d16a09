//! The restic client: typed commands over a [`Transport`].

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, BoxStream, StreamExt as _, TryStreamExt as _};
use secrecy::SecretString;
use tokio::sync::OnceCell;
use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::options::{
    BackupOptions, CheckOptions, ForgetOptions, PruneOptions, RestoreOptions, SnapshotFilter,
    StatsMode, UnlockMode,
};
use crate::output::{
    self, BackupEvent, BackupSummary, CheckReport, ForgetGroup, InitResult, LsEntry, ResticVersion,
    RestoreEvent, RestoreProgress, Snapshot, Stats,
};
use crate::repository::{Repository, scrub};
use crate::script::{PREAMBLE_FAILED, stdin_preamble};
use crate::transport::{Msg, Process, Transport};

/// Bound on the stderr kept for error messages.
const STDERR_KEEP: usize = 64 * 1024;
/// Bound on one standard-output line (`snapshots --json` prints its whole array as one line:
/// 32 MiB is some 60 000 snapshots), and on a command's collected output.
const MAX_LINE: usize = 32 << 20;
/// Bound on JSON lines from standard error (backup's per-file errors) not yet read as events.
const STDERR_JSON_KEEP: usize = 1 << 20;
/// Bound on the per-file errors kept for [`Error::IncompleteBackup`].
const ERRORS_KEEP: usize = 1000;

/// Drives restic on one host (local or SSH) against one repository.
///
/// Build it with [`Restic::builder`]. Cloning is cheap; clones share the transport and the
/// detected version.
#[derive(Debug, Clone)]
pub struct Restic {
    transport: Transport,
    repo: Arc<Repository>,
    restic_bin: String,
    timeout: Option<Duration>,
    progress_fps: f64,
    global_args: Arc<Vec<String>>,
    version: Arc<OnceCell<ResticVersion>>,
}

/// Builds a [`Restic`].
#[derive(Debug)]
pub struct ResticBuilder {
    transport: Option<Transport>,
    repo: Option<Repository>,
    restic_bin: String,
    timeout: Option<Duration>,
    progress_fps: f64,
    global_args: Vec<String>,
}

impl ResticBuilder {
    /// A builder for a local restic on the repository in the process environment
    /// (`RESTIC_REPOSITORY`, `RESTIC_PASSWORD`, `AWS_*`; see [`Repository::from_env`]); set a
    /// transport and more before [`Self::build`].
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when `RESTIC_REPOSITORY` or `RESTIC_PASSWORD` is missing.
    pub fn from_env() -> Result<Self> {
        Ok(Restic::builder().with_repository(Repository::from_env()?))
    }

    /// [`Self::from_env`] from `(name, value)` pairs instead of the process environment (tests,
    /// config files); see [`Repository::from_vars`].
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when `RESTIC_REPOSITORY` or `RESTIC_PASSWORD` is missing.
    pub fn from_vars<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Result<Self>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        Ok(Restic::builder().with_repository(Repository::from_vars(vars)?))
    }

    /// Limits restic's upload rate (`--limit-upload`, KiB/s).
    pub fn with_limit_upload(mut self, kib_per_s: u32) -> Self {
        self.global_args.push(format!("--limit-upload={kib_per_s}"));
        self
    }
    /// Limits restic's download rate (`--limit-download`, KiB/s).
    pub fn with_limit_download(mut self, kib_per_s: u32) -> Self {
        self.global_args
            .push(format!("--limit-download={kib_per_s}"));
        self
    }
    /// Sets restic's cache directory (`--cache-dir`) on the target host.
    pub fn with_cache_dir(mut self, dir: impl Into<String>) -> Self {
        self.global_args.push(format!("--cache-dir={}", dir.into()));
        self
    }
    /// Where restic runs (default: locally).
    pub fn with_transport(mut self, t: impl Into<Transport>) -> Self {
        self.transport = Some(t.into());
        self
    }
    /// The repository (required).
    pub fn with_repository(mut self, r: Repository) -> Self {
        self.repo = Some(r);
        self
    }
    /// The restic binary on the target host (default `restic`, found on `PATH`).
    pub fn with_restic_binary(mut self, path: impl Into<String>) -> Self {
        self.restic_bin = path.into();
        self
    }
    /// Timeout of every command, from start to exit (default: none). A command that exceeds it
    /// is cancelled (restic is interrupted) and fails with [`Error::Timeout`]. The SSH connect
    /// timeout is [`crate::SshTransportBuilder::with_connect_timeout`].
    pub fn with_request_timeout(mut self, t: Duration) -> Self {
        self.timeout = Some(t);
        self
    }
    /// Progress events per second for `backup`/`restore` (`RESTIC_PROGRESS_FPS`, default 2).
    pub fn with_progress_fps(mut self, fps: f64) -> Self {
        self.progress_fps = fps;
        self
    }
    /// Builds the client.
    pub fn build(self) -> Result<Restic> {
        let repo = self
            .repo
            .ok_or_else(|| Error::Config("no repository given".into()))?;
        repo.variables()?;
        for o in repo.options() {
            crate::script::quote(o)?;
        }
        Ok(Restic {
            transport: self.transport.unwrap_or_else(Transport::local),
            repo: Arc::new(repo),
            restic_bin: self.restic_bin,
            timeout: self.timeout,
            progress_fps: self.progress_fps,
            global_args: Arc::new(self.global_args),
            version: Arc::new(OnceCell::new()),
        })
    }
}

impl Restic {
    /// Starts building a client.
    pub fn builder() -> ResticBuilder {
        ResticBuilder {
            transport: None,
            repo: None,
            restic_bin: "restic".into(),
            timeout: None,
            progress_fps: 2.0,
            global_args: Vec::new(),
        }
    }

    /// A local client for the repository in `RESTIC_REPOSITORY`/`RESTIC_PASSWORD`/`AWS_*`:
    /// [`ResticBuilder::from_env`], then [`ResticBuilder::build`].
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when a variable is missing; see [`ResticBuilder::build`].
    pub fn from_env() -> Result<Restic> {
        ResticBuilder::from_env()?.build()
    }

    /// The transport.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Waits until every command cancelled on this client's transport (dropped, or timed out)
    /// has ended on the target host, so its repository lock is gone. Bounded by the wrapper's
    /// grace period (restic is interrupted, then killed after 10 s).
    ///
    /// Every command waits for this by itself before it starts; call it before the program
    /// exits after dropping a running command. It cannot fail (a command still ending after
    /// the grace period is logged, not waited for).
    ///
    /// ```no_run
    /// # async fn demo(restic: restic_remote::Restic) {
    /// let run = restic.backup(&restic_remote::BackupOptions::new(["/srv"])).await;
    /// drop(run); // interrupts restic
    /// restic.settle().await; // restic has removed its lock
    /// # }
    /// ```
    pub async fn settle(&self) {
        self.transport.settle().await;
    }

    async fn start(
        &self,
        args: Vec<String>,
        with_repo: bool,
        extra: &[(&str, &str)],
    ) -> Result<Running> {
        let command = args.first().cloned().unwrap_or_default();
        let mut argv = vec![self.restic_bin.clone()];
        if with_repo {
            argv.push("--json".into());
            for o in self.repo.options() {
                argv.push(format!("--option={o}"));
            }
            argv.extend(self.global_args.iter().cloned());
        }
        argv.extend(args);
        let extra_secrets: Vec<(&str, SecretString)> = extra
            .iter()
            .map(|(k, v)| (*k, SecretString::from(v.to_string())))
            .collect();
        let mut vars = if with_repo {
            self.repo.variables()?
        } else {
            Vec::new()
        };
        for (k, v) in &extra_secrets {
            crate::script::check_variable(k, secrecy::ExposeSecret::expose_secret(v))?;
            vars.push((k, v));
        }
        let preamble = stdin_preamble(&vars);
        let span = tracing::info_span!("restic", command = %command, transport = %self.transport.describe());
        let process = {
            use tracing::Instrument as _;
            async {
                tracing::debug!("starting");
                self.transport.spawn(&argv, preamble).await
            }
            .instrument(span)
            .await?
        };
        Ok(Running {
            process: Some(process),
            command,
            stdout_buf: Vec::new(),
            stderr: Vec::new(),
            stderr_line: Vec::new(),
            stderr_json: VecDeque::new(),
            stderr_json_bytes: 0,
            collect_stderr_json: false,
            exit: None,
            deadline: self.timeout.map(|t| (Instant::now() + t, t)),
            version: self.version.get().cloned(),
            client: Some(self.clone()),
        })
    }

    /// Runs a command to completion, collecting stdout.
    async fn run(&self, args: Vec<String>, extra: &[(&str, &str)]) -> Result<(Vec<u8>, Finished)> {
        let mut r = self.start(args, true, extra).await?;
        let mut out = Vec::new();
        while let Some(line) = r.next_line().await? {
            if out.len() + line.len() >= MAX_LINE {
                return Err(r.too_large().await);
            }
            out.extend_from_slice(&line);
            out.push(b'\n');
        }
        let f = r.finish().await?;
        Ok((out, f))
    }

    /// Whether the process holding a lock is gone: the lock was made on the target host (same
    /// host name) by a PID that no longer exists there. restic itself calls such locks stale.
    async fn lock_owner_gone(&self, host: &str, pid: u32) -> bool {
        let argv = vec![
            "/bin/sh".to_owned(),
            "-c".to_owned(),
            r#"uname -n; if kill -0 "$1" 2>/dev/null || [ -d "/proc/$1" ]; then echo alive; else echo gone; fi"#.to_owned(),
            "sh".to_owned(),
            pid.to_string(),
        ];
        let Ok(process) = self.transport.spawn(&argv, stdin_preamble(&[])).await else {
            return false;
        };
        let mut r = Running {
            process: Some(process),
            command: "lock-probe".into(),
            stdout_buf: Vec::new(),
            stderr: Vec::new(),
            stderr_line: Vec::new(),
            stderr_json: VecDeque::new(),
            stderr_json_bytes: 0,
            collect_stderr_json: false,
            exit: None,
            deadline: Some((
                Instant::now() + Duration::from_secs(10),
                Duration::from_secs(10),
            )),
            version: None,
            client: None,
        };
        let mut lines = Vec::new();
        while let Ok(Some(l)) = r.next_line().await {
            lines.push(String::from_utf8_lossy(&l).trim().to_owned());
        }
        matches!(lines.as_slice(), [h, state] if h == host && state == "gone")
    }

    /// The restic version on the target host, detected once per client.
    ///
    /// # Errors
    ///
    /// When restic cannot be started ([`Error::CommandFailed`] with exit 127 when it is not
    /// installed), the transport fails, or the output names no version ([`Error::Decode`]).
    ///
    /// ```no_run
    /// # async fn demo(restic: restic_remote::Restic) -> restic_remote::Result<()> {
    /// let v = restic.version().await?;
    /// assert!(v.at_least(0, 14, 0));
    /// # Ok(()) }
    /// ```
    pub async fn version(&self) -> Result<ResticVersion> {
        self.version
            .get_or_try_init(|| async {
                let mut r = self.start(vec!["version".into()], false, &[]).await?;
                let mut out = Vec::new();
                while let Some(line) = r.next_line().await? {
                    out.extend_from_slice(&line);
                    out.push(b'\n');
                }
                r.finish().await?.into_result().await?;
                ResticVersion::parse(&String::from_utf8_lossy(&out))
            })
            .await
            .cloned()
    }

    async fn ensure_version(&self) -> Result<ResticVersion> {
        self.version().await
    }

    /// `restic init`.
    ///
    /// # Errors
    ///
    /// restic's failures as typed errors: [`Error::NoRepository`], [`Error::WrongPassword`],
    /// [`Error::LockHeld`], else [`Error::CommandFailed`]; [`Error::Timeout`] past the request
    /// timeout; [`Error::ConnectionLost`] or [`Error::Ssh`] when the transport fails; [`Error::Decode`]
    /// when restic's answer names no repository id. Initialising an existing repository fails.
    ///
    /// ```no_run
    /// # async fn demo(restic: restic_remote::Restic) -> restic_remote::Result<()> {
    /// let created = restic.init().await?;
    /// println!("repository {}", created.id);
    /// # Ok(()) }
    /// ```
    pub async fn init(&self) -> Result<InitResult> {
        self.ensure_version().await?;
        let (out, f) = self.run(vec!["init".into()], &[]).await?;
        f.into_result().await?;
        output::parse_init(&out)
    }

    /// Whether the repository exists (`restic cat config`).
    ///
    /// # Errors
    ///
    /// restic's failures as typed errors: [`Error::NoRepository`], [`Error::WrongPassword`],
    /// [`Error::LockHeld`], else [`Error::CommandFailed`]; [`Error::Timeout`] past the request
    /// timeout; [`Error::ConnectionLost`] or [`Error::Ssh`] when the transport fails. A missing repository
    /// is `Ok(false)`, not an error.
    ///
    /// ```no_run
    /// # async fn demo(restic: restic_remote::Restic) -> restic_remote::Result<()> {
    /// if !restic.exists().await? {
    ///     restic.init().await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn exists(&self) -> Result<bool> {
        self.ensure_version().await?;
        let (_, f) = self.run(vec!["cat".into(), "config".into()], &[]).await?;
        match f.into_result().await {
            Ok(()) => Ok(true),
            Err(Error::NoRepository { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Starts `restic backup`; read its events with [`BackupRun::events`], then
    /// [`BackupRun::finish`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for options that cannot be passed (no path, a tag with a comma);
    /// the transport's errors when restic cannot be started. restic's own failures come from
    /// [`BackupRun::finish`].
    ///
    /// ```no_run
    /// use futures::TryStreamExt as _;
    /// use restic_remote::{BackupEvent, BackupOptions};
    /// # async fn demo(restic: restic_remote::Restic) -> restic_remote::Result<()> {
    /// let mut run = restic.backup(&BackupOptions::new(["/srv"])).await?;
    /// {
    ///     let mut events = run.events();
    ///     while let Some(event) = events.try_next().await? {
    ///         if let BackupEvent::Status(s) = event {
    ///             println!("{:.0}%", s.percent_done * 100.0);
    ///         }
    ///     }
    /// }
    /// let summary = run.finish().await?;
    /// println!("snapshot {:?}", summary.snapshot_id);
    /// # Ok(()) }
    /// ```
    pub async fn backup(&self, options: &BackupOptions) -> Result<BackupRun> {
        self.ensure_version().await?;
        let fps = format!("{}", self.progress_fps);
        let mut extra = vec![("RESTIC_PROGRESS_FPS", fps.as_str())];
        if options.time.is_some() {
            // --time is parsed in the local zone; make that UTC, as the options format it.
            extra.push(("TZ", "UTC"));
        }
        let mut running = self.start(options.args()?, true, &extra).await?;
        running.collect_stderr_json = true;
        Ok(BackupRun {
            running,
            summary: None,
            errors: Vec::new(),
        })
    }

    /// `restic snapshots --json`.
    ///
    /// # Errors
    ///
    /// restic's failures as typed errors: [`Error::NoRepository`], [`Error::WrongPassword`],
    /// [`Error::LockHeld`], else [`Error::CommandFailed`]; [`Error::Timeout`] past the request
    /// timeout; [`Error::ConnectionLost`] or [`Error::Ssh`] when the transport fails; [`Error::Decode`] when
    /// the list cannot be read; [`Error::InvalidArgument`] for a tag with a comma.
    ///
    /// ```no_run
    /// use restic_remote::SnapshotFilter;
    /// # async fn demo(restic: restic_remote::Restic) -> restic_remote::Result<()> {
    /// let web1 = restic.snapshots(&SnapshotFilter::new().with_host("web1")).await?;
    /// println!("{} snapshots", web1.len());
    /// # Ok(()) }
    /// ```
    pub async fn snapshots(&self, filter: &SnapshotFilter) -> Result<Vec<Snapshot>> {
        self.ensure_version().await?;
        let mut args = vec!["snapshots".to_owned()];
        filter.push_args(&mut args)?;
        let (out, f) = self.run(args, &[]).await?;
        f.into_result().await?;
        output::parse_snapshots(&out)
    }

    /// `restic forget --json` with a typed policy (`dry_run` to preview).
    ///
    /// # Errors
    ///
    /// restic's failures as typed errors: [`Error::NoRepository`], [`Error::WrongPassword`],
    /// [`Error::LockHeld`], else [`Error::CommandFailed`]; [`Error::Timeout`] past the request
    /// timeout; [`Error::ConnectionLost`] or [`Error::Ssh`] when the transport fails; [`Error::InvalidArgument`]
    /// for an empty policy; [`Error::Unsupported`] for `unlimited` below restic 0.16.
    ///
    /// ```no_run
    /// use restic_remote::ForgetOptions;
    /// # async fn demo(restic: restic_remote::Restic) -> restic_remote::Result<()> {
    /// let policy = ForgetOptions::new().keep_daily(7).keep_weekly(4);
    /// let preview = restic.forget(&policy.clone().dry_run()).await?;
    /// let removed: usize = preview.iter().map(|g| g.remove.len()).sum();
    /// if removed < 10 {
    ///     restic.forget(&policy).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn forget(&self, options: &ForgetOptions) -> Result<Vec<ForgetGroup>> {
        let v = self.ensure_version().await?;
        let (out, f) = self.run(options.args(&v)?, &[]).await?;
        f.into_result().await?;
        output::parse_forget(&out)
    }

    /// `restic prune`; returns restic's text report (prune has no JSON before 0.20).
    ///
    /// # Errors
    ///
    /// restic's failures as typed errors: [`Error::NoRepository`], [`Error::WrongPassword`],
    /// [`Error::LockHeld`], else [`Error::CommandFailed`]; [`Error::Timeout`] past the request
    /// timeout; [`Error::ConnectionLost`] or [`Error::Ssh`] when the transport fails.
    ///
    /// ```no_run
    /// use restic_remote::PruneOptions;
    /// # async fn demo(restic: restic_remote::Restic) -> restic_remote::Result<()> {
    /// let report = restic.prune(&PruneOptions::default()).await?;
    /// println!("{report}");
    /// # Ok(()) }
    /// ```
    pub async fn prune(&self, options: &PruneOptions) -> Result<String> {
        self.ensure_version().await?;
        let (out, f) = self.run(options.args(), &[]).await?;
        f.into_result().await?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// `restic check`.
    ///
    /// # Errors
    ///
    /// restic's failures as typed errors: [`Error::NoRepository`], [`Error::WrongPassword`],
    /// [`Error::LockHeld`], else [`Error::CommandFailed`]; [`Error::Timeout`] past the request
    /// timeout; [`Error::ConnectionLost`] or [`Error::Ssh`] when the transport fails; a repository with
    /// errors is [`Error::CommandFailed`] (restic exits 1).
    ///
    /// ```no_run
    /// use restic_remote::CheckOptions;
    /// # async fn demo(restic: restic_remote::Restic) -> restic_remote::Result<()> {
    /// let report = restic.check(&CheckOptions::default()).await?;
    /// assert_eq!(report.num_errors, 0);
    /// # Ok(()) }
    /// ```
    pub async fn check(&self, options: &CheckOptions) -> Result<CheckReport> {
        self.ensure_version().await?;
        let (out, f) = self.run_all_stdout(options.args()).await?;
        f.into_result().await?;
        Ok(output::parse_check(&out))
    }

    async fn run_all_stdout(&self, args: Vec<String>) -> Result<(Vec<u8>, Finished)> {
        self.run(args, &[]).await
    }

    /// Starts `restic restore`; progress events are JSON from restic 0.16, text lines before.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a tag with a comma; the transport's errors when restic
    /// cannot be started. restic's own failures come from [`RestoreRun::finish`].
    ///
    /// ```no_run
    /// use restic_remote::RestoreOptions;
    /// # async fn demo(restic: restic_remote::Restic) -> restic_remote::Result<()> {
    /// let run = restic.restore(&RestoreOptions::new("latest", "/tmp/restore")).await?;
    /// let summary = run.finish().await?;
    /// println!("{:?}", summary.map(|s| s.bytes_restored));
    /// # Ok(()) }
    /// ```
    pub async fn restore(&self, options: &RestoreOptions) -> Result<RestoreRun> {
        self.ensure_version().await?;
        let fps = format!("{}", self.progress_fps);
        let running = self
            .start(
                options.args()?,
                true,
                &[("RESTIC_PROGRESS_FPS", fps.as_str())],
            )
            .await?;
        Ok(RestoreRun {
            running,
            summary: None,
        })
    }

    /// Streams `restic ls --json <snapshot> [paths…]` one entry at a time (memory stays flat):
    /// the snapshot first, then its nodes. A failure of restic is the stream's last item, after
    /// the last entry. Dropping the stream early cancels `ls`.
    ///
    /// # Errors
    ///
    /// As items of the stream: restic's failures as typed errors: [`Error::NoRepository`], [`Error::WrongPassword`],
    /// [`Error::LockHeld`], else [`Error::CommandFailed`]; [`Error::Timeout`] past the request
    /// timeout; [`Error::ConnectionLost`] or [`Error::Ssh`] when the transport fails; [`Error::Decode`] for a line that cannot be read. A snapshot
    /// id that matches nothing is an empty stream where restic only warns about it (0.14) and
    /// an error ([`Error::is_snapshot_not_found`]) where restic fails.
    ///
    /// ```no_run
    /// use futures::TryStreamExt as _;
    /// use restic_remote::LsEntry;
    /// # async fn demo(restic: restic_remote::Restic) -> restic_remote::Result<()> {
    /// let mut entries = restic.ls("latest", &[]);
    /// while let Some(entry) = entries.try_next().await? {
    ///     if let LsEntry::Node(node) = entry {
    ///         println!("{}", node.path);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn ls(&self, snapshot: &str, paths: &[String]) -> BoxStream<'_, Result<LsEntry>> {
        let mut args = vec!["ls".to_owned(), "--".into(), snapshot.to_owned()];
        args.extend(paths.iter().cloned());
        stream::once(async move {
            self.ensure_version().await?;
            self.start(args, true, &[]).await
        })
        .map_ok(|running| {
            stream::try_unfold(LsEntries { running }, |mut ls| async move {
                Ok(ls.next().await?.map(|entry| (entry, ls)))
            })
        })
        .try_flatten()
        .boxed()
    }

    /// `restic stats --json` over `snapshots` (all when empty).
    ///
    /// # Errors
    ///
    /// restic's failures as typed errors: [`Error::NoRepository`], [`Error::WrongPassword`],
    /// [`Error::LockHeld`], else [`Error::CommandFailed`]; [`Error::Timeout`] past the request
    /// timeout; [`Error::ConnectionLost`] or [`Error::Ssh`] when the transport fails; [`Error::Decode`] when
    /// the answer cannot be read.
    ///
    /// ```no_run
    /// use restic_remote::StatsMode;
    /// # async fn demo(restic: restic_remote::Restic) -> restic_remote::Result<()> {
    /// let stats = restic.stats(&[], StatsMode::RestoreSize).await?;
    /// println!("{} bytes in {} snapshots", stats.total_size, stats.snapshots_count);
    /// # Ok(()) }
    /// ```
    pub async fn stats(&self, snapshots: &[String], mode: StatsMode) -> Result<Stats> {
        self.ensure_version().await?;
        let mut args = vec![
            "stats".to_owned(),
            format!("--mode={}", mode.as_str()),
            "--".into(),
        ];
        args.extend(snapshots.iter().cloned());
        let (out, f) = self.run(args, &[]).await?;
        f.into_result().await?;
        output::parse_stats(&out)
    }

    /// `restic unlock`: removes stale locks ([`UnlockMode::StaleOnly`]) or every lock
    /// ([`UnlockMode::All`], `--remove-all`); returns how many locks restic reported removing
    /// (`None`: some, restic did not say how many).
    ///
    /// # Errors
    ///
    /// restic's failures as typed errors: [`Error::NoRepository`], [`Error::WrongPassword`],
    /// [`Error::LockHeld`], else [`Error::CommandFailed`]; [`Error::Timeout`] past the request
    /// timeout; [`Error::ConnectionLost`] or [`Error::Ssh`] when the transport fails.
    ///
    /// ```no_run
    /// use restic_remote::UnlockMode;
    /// # async fn demo(restic: restic_remote::Restic) -> restic_remote::Result<()> {
    /// match restic.snapshots(&Default::default()).await {
    ///     Err(e) if e.is_stale_lock() => {
    ///         restic.unlock(UnlockMode::StaleOnly).await?;
    ///     }
    ///     other => {
    ///         other?;
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn unlock(&self, mode: UnlockMode) -> Result<Option<u64>> {
        self.ensure_version().await?;
        let (out, f) = self.run(mode.args(), &[]).await?;
        let mut all = out;
        all.extend_from_slice(f.stderr.as_bytes());
        f.into_result().await?;
        Ok(output::parse_unlock(&all))
    }
}

/// A finished process.
#[derive(Debug)]
struct Finished {
    command: String,
    code: Option<u32>,
    signal: Option<String>,
    stderr: String,
    version: Option<ResticVersion>,
    /// Client used to check whether a lock's owner is gone.
    probe: Option<Restic>,
}

impl Finished {
    async fn into_result(self) -> Result<()> {
        if self.code == Some(0) {
            return Ok(());
        }
        let mut err = map_failure(
            &self.command,
            self.version.as_ref(),
            self.code,
            self.signal,
            self.stderr,
        );
        if let (
            Error::LockHeld {
                lock: Some(lock), ..
            },
            Some(client),
        ) = (&mut err, &self.probe)
            && !lock.stale
            && let (Some(pid), Some(host)) = (lock.pid, lock.host.clone())
        {
            lock.stale = client.lock_owner_gone(&host, pid).await;
        }
        Err(err)
    }
}

/// Maps a failed restic run to a typed error: by exit code where the version has dedicated
/// codes (0.17+), by message otherwise.
pub(crate) fn map_failure(
    command: &str,
    version: Option<&ResticVersion>,
    code: Option<u32>,
    signal: Option<String>,
    stderr: String,
) -> Error {
    let modern = version.is_some_and(|v| v.at_least(0, 17, 0));
    let msg = stderr.as_str();
    let no_repo = || Error::NoRepository {
        message: first_fatal(msg),
    };
    let locked = || Error::LockHeld {
        lock: crate::records::parse_lock(msg).map(Box::new),
        message: first_fatal(msg),
    };
    match code {
        Some(10) if modern => return no_repo(),
        Some(11) if modern => return locked(),
        Some(12) if modern => return Error::WrongPassword,
        Some(130) => return Error::Interrupted,
        _ => {}
    }
    if code == Some(1) || !modern {
        if msg.contains("wrong password or no key found") {
            return Error::WrongPassword;
        }
        if msg.contains("Is there a repository at the following location?")
            || msg.contains("unable to open config file")
            || msg.contains("repository does not exist")
        {
            return no_repo();
        }
        if msg.contains("repository is already locked") || msg.contains("unable to create lock") {
            return locked();
        }
    }
    if code.is_none() && signal.is_some() {
        // sh reports restic killed by a signal as 128+n; a signal on the script itself:
        return Error::Interrupted;
    }
    if code == Some(PREAMBLE_FAILED) && msg.contains("restic-remote:") {
        return Error::InvalidArgument(first_fatal(msg));
    }
    Error::CommandFailed {
        command: command.to_owned(),
        code,
        signal,
        stderr: msg.trim().to_owned(),
    }
}

fn first_fatal(msg: &str) -> String {
    msg.lines()
        .find(|l| l.contains("Fatal:") || l.contains("unable to") || l.contains("already locked"))
        .unwrap_or_else(|| msg.lines().next().unwrap_or_default())
        .trim()
        .to_owned()
}

/// A running command, reading stdout line by line.
///
/// No derived `Debug`: its buffers hold restic's raw output, which may echo the repository
/// location (with credentials) before it is scrubbed.
struct Running {
    process: Option<Process>,
    command: String,
    stdout_buf: Vec<u8>,
    stderr: Vec<u8>,
    stderr_line: Vec<u8>,
    stderr_json: VecDeque<Vec<u8>>,
    /// Bytes in `stderr_json`, bounded by [`STDERR_JSON_KEEP`].
    stderr_json_bytes: usize,
    /// Only `backup` reads JSON from standard error.
    collect_stderr_json: bool,
    exit: Option<(Option<u32>, Option<String>)>,
    deadline: Option<(Instant, Duration)>,
    version: Option<ResticVersion>,
    /// The client that started it: its repository's secrets are scrubbed from restic's
    /// messages, and it runs follow-up probes (lock staleness).
    client: Option<Restic>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("command", &self.command)
            .field("running", &self.process.is_some())
            .field("exit", &self.exit)
            .field("timeout", &self.deadline.map(|d| d.1))
            .finish_non_exhaustive()
    }
}

impl Running {
    /// Cancels the command and waits until restic has ended (bounded), so the caller sees the
    /// timeout only once restic has removed its lock.
    async fn timeout_error(&mut self) -> Error {
        if let Some(p) = self.process.take() {
            p.cancel_and_wait().await;
        }
        Error::Timeout {
            command: self.command.clone(),
            after: self.deadline.map(|d| d.1).unwrap_or_default(),
        }
    }

    async fn recv(&mut self) -> Result<Option<Msg>> {
        let Some(p) = self.process.as_mut() else {
            return Ok(None);
        };
        match self.deadline {
            Some((at, _)) => match tokio::time::timeout_at(at, p.rx.recv()).await {
                Ok(m) => Ok(m),
                Err(_) => Err(self.timeout_error().await),
            },
            None => Ok(p.rx.recv().await),
        }
    }

    /// Cancels the command (it printed more than this crate buffers) and says so.
    async fn too_large(&mut self) -> Error {
        self.stdout_buf = Vec::new();
        if let Some(p) = self.process.take() {
            p.cancel_and_wait().await;
        }
        Error::OutputTooLarge {
            command: self.command.clone(),
            limit: MAX_LINE,
        }
    }

    /// The next JSON line restic printed on standard error, if any.
    fn pop_stderr_json(&mut self) -> Option<Vec<u8>> {
        let line = self.stderr_json.pop_front()?;
        self.stderr_json_bytes -= line.len();
        Some(line)
    }

    /// restic's standard error so far, with the repository's secrets scrubbed out.
    fn scrubbed_stderr(&self) -> String {
        let secrets = self
            .client
            .as_ref()
            .map(|c| c.repo.secret_values())
            .unwrap_or_default();
        scrub(&String::from_utf8_lossy(&self.stderr), &secrets)
    }

    fn take_line(&mut self) -> Option<Vec<u8>> {
        let pos = self.stdout_buf.iter().position(|b| *b == b'\n')?;
        let mut line: Vec<u8> = self.stdout_buf.drain(..=pos).collect();
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Some(line)
    }

    fn push_stderr(&mut self, data: &[u8]) {
        for &b in data {
            if b == b'\n' {
                let line = std::mem::take(&mut self.stderr_line);
                if self.collect_stderr_json && output::is_json_line(&line) {
                    if self.stderr_json_bytes + line.len() <= STDERR_JSON_KEEP {
                        self.stderr_json_bytes += line.len();
                        self.stderr_json.push_back(line.clone());
                    } else {
                        tracing::debug!(command = %self.command, "standard error JSON not read fast enough; dropping a line");
                    }
                }
                self.stderr.extend_from_slice(&line);
                self.stderr.push(b'\n');
            } else if self.stderr_line.len() < STDERR_KEEP {
                self.stderr_line.push(b);
            }
        }
        if self.stderr.len() > STDERR_KEEP {
            let cut = self.stderr.len() - STDERR_KEEP;
            self.stderr.drain(..cut);
        }
    }

    /// The next complete stdout line, or `None` once the process exited.
    async fn next_line(&mut self) -> Result<Option<Vec<u8>>> {
        loop {
            if let Some(l) = self.take_line() {
                return Ok(Some(l));
            }
            if self.exit.is_some() || self.process.is_none() {
                if self.stdout_buf.is_empty() {
                    return Ok(None);
                }
                return Ok(Some(std::mem::take(&mut self.stdout_buf)));
            }
            match self.recv().await? {
                Some(Msg::Stdout(b)) => {
                    if self.stdout_buf.len() + b.len() > MAX_LINE {
                        return Err(self.too_large().await);
                    }
                    self.stdout_buf.extend_from_slice(&b)
                }
                Some(Msg::Stderr(b)) => self.push_stderr(&b),
                Some(Msg::Exit { code, signal }) => self.exit = Some((code, signal)),
                Some(Msg::Lost(reason)) => {
                    tracing::warn!(command = %self.command, %reason, "connection lost");
                    self.process = None;
                    return Err(Error::ConnectionLost {
                        command: self.command.clone(),
                    });
                }
                None => {
                    self.process = None;
                    return Err(Error::ConnectionLost {
                        command: self.command.clone(),
                    });
                }
            }
        }
    }

    /// Drains the rest and returns the exit status and stderr.
    async fn finish(mut self) -> Result<Finished> {
        while self.next_line().await?.is_some() {}
        let (code, signal) = self.exit.take().unwrap_or((None, None));
        if !self.stderr_line.is_empty() {
            self.push_stderr(b"\n");
        }
        let stderr = self.scrubbed_stderr();
        tracing::debug!(command = %self.command, ?code, "finished");
        Ok(Finished {
            command: self.command.clone(),
            code,
            signal,
            stderr,
            version: self.version.clone(),
            probe: self.client.clone(),
        })
    }
}

/// A running `restic backup`. Dropping it cancels the backup (restic is interrupted and
/// removes its lock).
#[derive(Debug)]
pub struct BackupRun {
    running: Running,
    summary: Option<BackupSummary>,
    errors: Vec<String>,
}

impl BackupRun {
    /// The backup's events as they come (progress, per-file errors, the summary); the stream
    /// ends when restic has finished, or with its first error. Then call [`Self::finish`] (once
    /// the stream, which borrows the run, is dropped). Events not read are read by `finish`.
    pub fn events(&mut self) -> BoxStream<'_, Result<BackupEvent>> {
        stream::try_unfold(self, |run| async move {
            Ok(run.next_event().await?.map(|event| (event, run)))
        })
        .boxed()
    }

    /// The next progress event, `None` when restic has finished.
    async fn next_event(&mut self) -> Result<Option<BackupEvent>> {
        loop {
            if let Some(line) = self.running.pop_stderr_json()
                && let Ok(Some(ev)) = output::parse_backup_line(&line)
            {
                if let BackupEvent::Error(e) = &ev
                    && self.errors.len() < ERRORS_KEEP
                {
                    self.errors.push(if e.error.message.is_empty() {
                        format!("{} ({})", e.item, e.during)
                    } else {
                        format!("{}: {}", e.item, e.error.message)
                    });
                }
                return Ok(Some(ev));
            }
            let Some(line) = self.running.next_line().await? else {
                return Ok(None);
            };
            if let Some(ev) = output::parse_backup_line(&line)? {
                if let BackupEvent::Summary(s) = &ev {
                    self.summary = Some(s.clone());
                }
                return Ok(Some(ev));
            }
        }
    }

    /// Waits for the end; the summary, or the typed failure (exit 3 →
    /// [`Error::IncompleteBackup`]).
    ///
    /// # Errors
    ///
    /// restic's failures as typed errors: [`Error::NoRepository`], [`Error::WrongPassword`],
    /// [`Error::LockHeld`], else [`Error::CommandFailed`]; [`Error::Timeout`] past the request
    /// timeout; [`Error::ConnectionLost`] or [`Error::Ssh`] when the transport fails; [`Error::IncompleteBackup`]
    /// when restic exited 3 (a snapshot was written, some source data could not be read), with
    /// its summary and per-file errors; [`Error::Decode`] when restic printed no summary.
    ///
    /// ```no_run
    /// use restic_remote::BackupOptions;
    /// # async fn demo(restic: restic_remote::Restic) -> restic_remote::Result<()> {
    /// let run = restic.backup(&BackupOptions::new(["/srv"])).await?;
    /// match run.finish().await {
    ///     Ok(summary) => println!("saved {:?}", summary.snapshot_id),
    ///     Err(restic_remote::Error::IncompleteBackup { errors, .. }) => eprintln!("partial: {errors:?}"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn finish(mut self) -> Result<BackupSummary> {
        while self.next_event().await?.is_some() {}
        let f = self.running.finish().await?;
        if f.code == Some(3) {
            return Err(Error::IncompleteBackup {
                summary: self.summary.map(Box::new),
                errors: self.errors,
            });
        }
        f.into_result().await?;
        self.summary
            .ok_or_else(|| output::parse_err("backup", "no summary line"))
    }
}

/// A running `restic restore`. Dropping it cancels the restore.
#[derive(Debug)]
pub struct RestoreRun {
    running: Running,
    summary: Option<RestoreProgress>,
}

impl RestoreRun {
    /// The restore's events as they come (progress, the summary; JSON from restic 0.16, none
    /// before); the stream ends when restic has finished, or with its first error. Then call
    /// [`Self::finish`] (once the stream, which borrows the run, is dropped).
    pub fn events(&mut self) -> BoxStream<'_, Result<RestoreEvent>> {
        stream::try_unfold(self, |run| async move {
            Ok(run.next_event().await?.map(|event| (event, run)))
        })
        .boxed()
    }

    /// The next event, `None` at the end.
    async fn next_event(&mut self) -> Result<Option<RestoreEvent>> {
        loop {
            let Some(line) = self.running.next_line().await? else {
                return Ok(None);
            };
            if let Some(ev) = output::parse_restore_line(&line)? {
                if let RestoreEvent::Summary(s) = &ev {
                    self.summary = Some(s.clone());
                }
                return Ok(Some(ev));
            }
        }
    }

    /// Waits for the end; the JSON summary on restic ≥ 0.16, `None` before.
    ///
    /// # Errors
    ///
    /// restic's failures as typed errors: [`Error::NoRepository`], [`Error::WrongPassword`],
    /// [`Error::LockHeld`], else [`Error::CommandFailed`]; [`Error::Timeout`] past the request
    /// timeout; [`Error::ConnectionLost`] or [`Error::Ssh`] when the transport fails; a snapshot id that
    /// matches nothing is [`Error::CommandFailed`] ([`Error::is_snapshot_not_found`]).
    ///
    /// ```no_run
    /// use restic_remote::RestoreOptions;
    /// # async fn demo(restic: restic_remote::Restic) -> restic_remote::Result<()> {
    /// let run = restic.restore(&RestoreOptions::new("latest", "/tmp/restore")).await?;
    /// run.finish().await?;
    /// # Ok(()) }
    /// ```
    pub async fn finish(mut self) -> Result<Option<RestoreProgress>> {
        while self.next_event().await?.is_some() {}
        self.running.finish().await?.into_result().await?;
        Ok(self.summary)
    }
}

/// The `ls` command behind [`Restic::ls`]'s stream. Dropping it early cancels `ls`.
struct LsEntries {
    running: Running,
}

impl LsEntries {
    /// The next entry (the snapshot first, then nodes), `None` at the end. A failure of restic
    /// is reported here, after the last entry.
    async fn next(&mut self) -> Result<Option<LsEntry>> {
        loop {
            match self.running.next_line().await? {
                Some(line) => {
                    if let Some(e) = output::parse_ls_line(&line)? {
                        return Ok(Some(e));
                    }
                }
                None => {
                    if let Some((code, signal)) = self.running.exit.clone()
                        && code != Some(0)
                    {
                        let stderr = self.running.scrubbed_stderr();
                        return Err(map_failure(
                            "ls",
                            self.running.version.as_ref(),
                            code,
                            signal,
                            stderr,
                        ));
                    }
                    return Ok(None);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{CHANNEL_DEPTH, Pending, Process};

    /// A `Running` fed by the test instead of a transport.
    fn fake(command: &str) -> (Running, tokio::sync::mpsc::Sender<Msg>) {
        let (tx, rx) = tokio::sync::mpsc::channel(CHANNEL_DEPTH);
        let (cancel, _) = tokio::sync::oneshot::channel();
        let process = Process::new(rx, cancel, std::sync::Arc::new(Pending::default()));
        let running = Running {
            process: Some(process),
            command: command.into(),
            stdout_buf: Vec::new(),
            stderr: Vec::new(),
            stderr_line: Vec::new(),
            stderr_json: VecDeque::new(),
            stderr_json_bytes: 0,
            collect_stderr_json: false,
            exit: None,
            deadline: None,
            version: None,
            client: None,
        };
        (running, tx)
    }

    #[tokio::test]
    async fn a_stdout_line_without_end_is_bounded() {
        let (mut r, tx) = fake("snapshots");
        let feeder = tokio::spawn(async move {
            let chunk = bytes::Bytes::from(vec![b'x'; 1 << 20]);
            // Bounded: 1 MiB more than the limit, then the exit.
            for _ in 0..(MAX_LINE >> 20) + 1 {
                if tx.send(Msg::Stdout(chunk.clone())).await.is_err() {
                    return;
                }
            }
            let _ = tx
                .send(Msg::Exit {
                    code: Some(0),
                    signal: None,
                })
                .await;
        });
        let err = r.next_line().await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::OutputTooLarge {
                    limit: MAX_LINE,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(r.stdout_buf.capacity() <= MAX_LINE);
        feeder.await.unwrap();
    }

    #[tokio::test]
    async fn unread_stderr_json_is_bounded() {
        let (mut r, tx) = fake("backup");
        r.collect_stderr_json = true;
        let feeder = tokio::spawn(async move {
            let line = bytes::Bytes::from(format!(
                "{{\"message_type\":\"error\",\"error\":{{\"message\":\"{}\"}},\"during\":\"scan\",\"item\":\"/x\"}}\n",
                "e".repeat(1000)
            ));
            // 10 000 lines of 1 KiB, ~10 MiB, nobody reading events in between.
            for _ in 0..10_000 {
                tx.send(Msg::Stderr(line.clone())).await.unwrap();
            }
            tx.send(Msg::Stdout(bytes::Bytes::from_static(b"{}\n")))
                .await
                .unwrap();
        });
        r.next_line().await.unwrap();
        feeder.await.unwrap();
        assert!(
            r.stderr_json_bytes <= STDERR_JSON_KEEP,
            "{}",
            r.stderr_json_bytes
        );
        let kept: usize = r.stderr_json.iter().map(Vec::len).sum();
        assert!(kept <= STDERR_JSON_KEEP, "{kept}");
        assert!(!r.stderr_json.is_empty());
        assert!(r.stderr.len() <= STDERR_KEEP + 1);
    }

    #[test]
    fn builder_from_vars_takes_the_repository_and_still_builds() {
        let restic = ResticBuilder::from_vars([
            ("RESTIC_REPOSITORY", "/srv/restic"),
            ("RESTIC_PASSWORD", "pw"),
        ])
        .unwrap()
        .with_request_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
        assert_eq!(restic.timeout, Some(Duration::from_secs(5)));
        assert_eq!(restic.transport.describe(), "local");
        let err = ResticBuilder::from_vars([("RESTIC_PASSWORD", "pw")]).unwrap_err();
        assert!(
            matches!(&err, Error::Config(m) if m.contains("RESTIC_REPOSITORY")),
            "{err:?}"
        );
    }

    #[test]
    fn failures_map_by_message_on_0_14_and_by_code_later() {
        let v14 = ResticVersion::new(0, 14, 0);
        let v17 = ResticVersion::new(0, 17, 1);
        let e = map_failure(
            "snapshots",
            Some(&v14),
            Some(1),
            None,
            "Fatal: wrong password or no key found\n".into(),
        );
        assert!(e.is_wrong_password());
        let e = map_failure("snapshots", Some(&v17), Some(12), None, "whatever".into());
        assert!(e.is_wrong_password());
        let e = map_failure("snapshots", Some(&v14), Some(1), None,
            "Fatal: unable to open config file: stat /x/config: no such file or directory\nIs there a repository at the following location?\n/x\n".into());
        assert!(e.is_no_repository());
        let e = map_failure("snapshots", Some(&v17), Some(10), None, String::new());
        assert!(e.is_no_repository());
        let lock = "unable to create lock in backend: repository is already locked exclusively by PID 4242 on web1 by root (UID 0, GID 0)\nlock was created at 2026-11-27 05:00:00 (45m3.2s ago)\nstorage ID 1a2b3c4d\nthe `unlock` command can be used to remove stale locks\n";
        let e = map_failure("prune", Some(&v14), Some(1), None, lock.into());
        assert!(e.is_locked() && e.is_stale_lock(), "{e:?}");
        if let Error::LockHeld { lock: Some(l), .. } = &e {
            assert_eq!(l.pid, Some(4242));
            assert_eq!(l.host.as_deref(), Some("web1"));
            assert_eq!(l.user.as_deref(), Some("root"));
            assert!(l.exclusive);
            assert_eq!(l.storage_id.as_deref(), Some("1a2b3c4d"));
        }
        let e = map_failure("backup", Some(&v14), Some(130), None, String::new());
        assert!(matches!(e, Error::Interrupted));
        let e = map_failure(
            "check",
            Some(&v14),
            Some(1),
            None,
            "Fatal: repository contains errors".into(),
        );
        assert!(matches!(e, Error::CommandFailed { code: Some(1), .. }));
    }
}
