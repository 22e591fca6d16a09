//! The backup matrix as data: storages, targets with their tool, schedules and retention,
//! exclusions and disaster-recovery scenarios. See the crate docs for the TOML format.

use std::fmt;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::error::{Error, Result};
use crate::pbs::PruneOptions;
use crate::restic::{ForgetPolicy, ResticDuration};
use crate::schedule::{Grammar, Schedule};

/// The seed matrix of the homelab (`matrix/homelab.toml`), embedded.
pub const HOMELAB_TOML: &str = include_str!("../matrix/homelab.toml");

/// What kind of system a target is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum TargetKind {
    /// A Kubernetes cluster (PVCs and resources).
    K8sCluster,
    /// A virtual machine.
    Vm,
    /// An LXC container.
    Lxc,
    /// A bare-metal host or appliance.
    Host,
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TargetKind::K8sCluster => "k8s cluster",
            TargetKind::Vm => "VM",
            TargetKind::Lxc => "LXC",
            TargetKind::Host => "host",
        })
    }
}

/// The backup tool of a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Tool {
    /// Velero schedules (TTL retention).
    Velero,
    /// restic run over SSH as a Backrest plan (restic `forget` retention).
    Restic,
    /// Proxmox Backup Server jobs (PBS prune retention).
    Pbs,
}

impl Tool {
    /// Default time a run is expected to take, for the storage-load lint and the timeline.
    pub fn default_duration(self) -> SignedDuration {
        match self {
            Tool::Velero => SignedDuration::from_mins(30),
            Tool::Restic => SignedDuration::from_mins(30),
            Tool::Pbs => SignedDuration::from_mins(60),
        }
    }
}

impl Tool {
    /// The zone this tool's scheduler uses when the matrix does not say: Velero's server runs
    /// robfig/cron in UTC; PBS/PVE and Backrest are assumed to run in the matrix's display zone.
    pub fn default_zone(self, display: &TimeZone) -> TimeZone {
        match self {
            Tool::Velero => TimeZone::UTC,
            Tool::Restic | Tool::Pbs => display.clone(),
        }
    }

    /// The schedule grammar this tool accepts.
    pub fn grammar(self) -> Grammar {
        match self {
            Tool::Velero => Grammar::Velero,
            Tool::Restic => Grammar::Backrest,
            Tool::Pbs => Grammar::Proxmox,
        }
    }
}

/// Where a schedule's zone came from (most specific first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ZoneOrigin {
    /// The expression names it (`CRON_TZ=…`, `TZ=…`, a calendar event's `UTC`).
    Expression,
    /// The schedule's `timezone`.
    Schedule,
    /// The target's `timezone`.
    Target,
    /// The matrix's `[zones]` entry for the tool.
    Tool,
    /// The tool's default ([`Tool::default_zone`]).
    #[default]
    Default,
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tool::Velero => "Velero",
            Tool::Restic => "restic (Backrest)",
            Tool::Pbs => "PBS",
        })
    }
}

/// Where backups land.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Storage {
    /// Unique name, referenced by targets.
    pub name: String,
    /// Free text, e.g. `garage-s3` or `pbs-datastore`.
    pub kind: String,
    /// The physical device it sits on; schedules sharing a device compete for it.
    pub device: String,
    /// Endpoint (configuration data only; nothing here connects to it).
    #[serde(default)]
    pub address: Option<String>,
    /// PBS datastore name.
    #[serde(default)]
    pub datastore: Option<String>,
    /// True if this storage is off-site.
    #[serde(default)]
    pub offsite: bool,
    /// Free-text notes (capacity...).
    #[serde(default)]
    pub note: Option<String>,
}

/// How long backups are kept. Which fields apply depends on the tool:
/// Velero uses `ttl`; restic uses `keep_*`/`keep_within`; PBS uses `keep_last`…`keep_yearly`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Retention {
    /// Velero TTL, e.g. `"7d"`, `"720h"`.
    #[serde(default)]
    pub ttl: Option<String>,
    /// Keep the last n.
    #[serde(default)]
    pub keep_last: Option<i32>,
    /// Keep n hourly.
    #[serde(default)]
    pub keep_hourly: Option<i32>,
    /// Keep n daily.
    #[serde(default)]
    pub keep_daily: Option<i32>,
    /// Keep n weekly.
    #[serde(default)]
    pub keep_weekly: Option<i32>,
    /// Keep n monthly.
    #[serde(default)]
    pub keep_monthly: Option<i32>,
    /// Keep n yearly.
    #[serde(default)]
    pub keep_yearly: Option<i32>,
    /// restic `--keep-within` (`1y2m3d4h`).
    #[serde(default)]
    pub keep_within: Option<String>,
}

impl Retention {
    /// The Velero TTL.
    ///
    /// # Errors
    /// [`Error::Policy`] if `ttl` is missing or not a duration.
    pub fn ttl(&self) -> Result<SignedDuration> {
        let s = self
            .ttl
            .as_deref()
            .ok_or_else(|| Error::policy("Velero retention needs `ttl`"))?;
        crate::velero::parse_ttl(s)
    }

    /// The restic forget policy this retention means.
    ///
    /// # Errors
    /// [`Error::Policy`] on a bad `keep_within`.
    pub fn forget_policy(&self) -> Result<ForgetPolicy> {
        let mut p = ForgetPolicy::default()
            .keep_last(self.keep_last.unwrap_or(0))
            .keep_hourly(self.keep_hourly.unwrap_or(0))
            .keep_daily(self.keep_daily.unwrap_or(0))
            .keep_weekly(self.keep_weekly.unwrap_or(0))
            .keep_monthly(self.keep_monthly.unwrap_or(0))
            .keep_yearly(self.keep_yearly.unwrap_or(0));
        if let Some(w) = &self.keep_within {
            p = p.keep_within(w.parse::<ResticDuration>()?);
        }
        Ok(p)
    }

    /// The PBS prune options this retention means.
    ///
    /// # Errors
    /// [`Error::Policy`] on a negative count.
    pub fn prune_options(&self) -> Result<PruneOptions> {
        let c = |v: Option<i32>| -> Result<Option<u64>> {
            v.map(|n| u64::try_from(n).map_err(|_| Error::policy("PBS keep counts must be ≥ 0")))
                .transpose()
        };
        Ok(PruneOptions {
            keep_last: c(self.keep_last)?,
            keep_hourly: c(self.keep_hourly)?,
            keep_daily: c(self.keep_daily)?,
            keep_weekly: c(self.keep_weekly)?,
            keep_monthly: c(self.keep_monthly)?,
            keep_yearly: c(self.keep_yearly)?,
        })
    }
}

impl fmt::Display for Retention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(t) = &self.ttl {
            parts.push(format!("ttl {t}"));
        }
        for (v, n) in [
            (self.keep_last, "last"),
            (self.keep_hourly, "hourly"),
            (self.keep_daily, "daily"),
            (self.keep_weekly, "weekly"),
            (self.keep_monthly, "monthly"),
            (self.keep_yearly, "yearly"),
        ] {
            if let Some(v) = v {
                parts.push(if v < 0 {
                    format!("all {n}")
                } else {
                    format!("{v} {n}")
                });
            }
        }
        if let Some(w) = &self.keep_within {
            parts.push(format!("within {w}"));
        }
        f.write_str(&parts.join(", "))
    }
}

/// One schedule of a target, with its own retention.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ScheduleSpec {
    /// Name, unique within the target (e.g. `daily`).
    pub name: String,
    /// A 5-field cron expression (Velero, Backrest).
    #[serde(default)]
    pub cron: Option<Spanned<String>>,
    /// A Proxmox calendar event (PBS, PVE vzdump).
    #[serde(default)]
    pub calendar: Option<Spanned<String>>,
    /// Retention of the backups this schedule makes.
    pub retention: Retention,
    /// How long a run is expected to take (default per tool).
    #[serde(default)]
    pub duration: Option<String>,
    /// The Velero schedule / Backrest plan / PBS job name, if it differs from `target-name`.
    #[serde(default)]
    pub job: Option<String>,
    /// IANA zone this schedule runs in, overriding the target's and the tool's.
    #[serde(default)]
    pub timezone: Option<Spanned<String>>,
    #[serde(skip)]
    parsed: Option<Schedule>,
    #[serde(skip)]
    zone_origin: ZoneOrigin,
}

impl ScheduleSpec {
    /// The parsed schedule (always present in a matrix built by [`Matrix::from_toml`]).
    pub fn schedule(&self) -> Option<&Schedule> {
        self.parsed.as_ref()
    }

    /// The expression as written.
    pub fn expr(&self) -> &str {
        self.cron
            .as_ref()
            .or(self.calendar.as_ref())
            .map(|s| s.get_ref().as_str())
            .unwrap_or("")
    }

    /// The zone this schedule runs in (its tool's clock; UTC if it was never loaded).
    pub fn zone(&self) -> TimeZone {
        self.parsed
            .as_ref()
            .and_then(Schedule::zone)
            .unwrap_or(TimeZone::UTC)
    }

    /// The zone's name (`UTC`, `Europe/London`, or an offset).
    pub fn zone_name(&self) -> String {
        zone_name(&self.zone())
    }

    /// Where [`ScheduleSpec::zone`] came from.
    pub fn zone_origin(&self) -> ZoneOrigin {
        self.zone_origin
    }

    /// The first run strictly after `after`, on the tool's clock.
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        self.parsed.as_ref()?.next_after(after, &self.zone())
    }

    /// [`ScheduleSpec::next_after`] as wall-clock time in the schedule's own zone.
    pub fn next_after_zoned(&self, after: Timestamp) -> Option<jiff::Zoned> {
        self.next_after(after).map(|t| t.to_zoned(self.zone()))
    }

    /// The last run at or before `at`, on the tool's clock.
    pub fn last_at_or_before(&self, at: Timestamp) -> Option<Timestamp> {
        self.parsed.as_ref()?.last_at_or_before(at, &self.zone())
    }

    /// Expected run duration.
    pub fn run_duration(&self, tool: Tool) -> SignedDuration {
        self.duration
            .as_deref()
            .and_then(|d| crate::duration::parse_span(d).ok())
            .unwrap_or_else(|| tool.default_duration())
    }
}

/// A thing that is backed up by one tool.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Target {
    /// Unique name (observations refer to it).
    pub name: String,
    /// The protected system; several targets (tools) may protect one system. Defaults to `name`.
    #[serde(default)]
    pub system: Option<String>,
    /// Kind of system.
    pub kind: TargetKind,
    /// Proxmox VMID or CTID.
    #[serde(default)]
    pub id: Option<u32>,
    /// Host address (configuration data only).
    #[serde(default)]
    pub host: Option<String>,
    /// The Proxmox VE node the guest lives on: each node runs its own guests of a PVE backup
    /// job, so guests on different nodes do not queue behind each other.
    #[serde(default)]
    pub node: Option<String>,
    /// The tool.
    pub tool: Tool,
    /// kube context (Velero).
    #[serde(default)]
    pub kube_context: Option<String>,
    /// Paths backed up (restic).
    #[serde(default)]
    pub paths: Vec<String>,
    /// Storage name.
    #[serde(default)]
    pub storage: Option<Spanned<String>>,
    /// Bucket within the storage (Garage).
    #[serde(default)]
    pub bucket: Option<String>,
    /// Critical systems must be protected more often than weekly.
    #[serde(default)]
    pub critical: bool,
    /// False for a disabled target.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Why the target is disabled.
    #[serde(default)]
    pub disabled_reason: Option<String>,
    /// Free-text purpose.
    #[serde(default)]
    pub purpose: Option<String>,
    /// IANA zone this target's scheduler runs in (the Proxmox host's, the Backrest process's),
    /// overriding `[zones]`.
    #[serde(default)]
    pub timezone: Option<Spanned<String>>,
    /// Schedules, each with its retention.
    #[serde(default)]
    pub schedule: Vec<ScheduleSpec>,
    /// The physical device the protected system itself lives on (for the DR lints). When absent
    /// and `host` is the address of a storage, that storage's device is assumed.
    #[serde(default)]
    pub device: Option<String>,
}

fn yes() -> bool {
    true
}

impl Target {
    /// The protected system's name.
    pub fn system(&self) -> &str {
        self.system.as_deref().unwrap_or(&self.name)
    }

    /// The storage name, if any.
    pub fn storage_name(&self) -> Option<&str> {
        self.storage.as_ref().map(|s| s.get_ref().as_str())
    }
}

/// Something deliberately not backed up.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Exclusion {
    /// What is excluded.
    pub what: String,
    /// Proxmox ids, if any.
    #[serde(default)]
    pub ids: Vec<u32>,
    /// Why.
    pub reason: String,
}

/// A disaster-recovery scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DrScenario {
    /// What happened.
    pub scenario: String,
    /// How to recover.
    pub method: String,
    /// Recovery time objective (`"30m"`, `"4h"`); absent = to be determined.
    #[serde(default)]
    pub rto: Option<String>,
    /// Tools the recovery relies on.
    #[serde(default)]
    pub tools: Vec<Tool>,
    /// Something still missing for this scenario.
    #[serde(default)]
    pub todo: Option<String>,
    /// What fails in this scenario: storage, target, system or device names. Targets named here
    /// (or whose system is) count as covered by a DR scenario.
    #[serde(default)]
    pub protects: Vec<Spanned<String>>,
    /// Storages the recovery restores from; one on the same device as something it protects is
    /// a finding.
    #[serde(default)]
    pub sources: Vec<Spanned<String>>,
}

/// The zones the tools' schedulers run in (`[zones]` in the matrix). Unset: Velero UTC, the
/// others the display zone ([`Tool::default_zone`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ToolZones {
    /// The Velero server's zone (robfig/cron evaluates `spec.schedule` in it).
    #[serde(default)]
    pub velero: Option<Spanned<String>>,
    /// The Backrest process's zone.
    #[serde(default)]
    pub restic: Option<Spanned<String>>,
    /// The Proxmox hosts' zone (PBS jobs, PVE vzdump jobs).
    #[serde(default)]
    pub pbs: Option<Spanned<String>>,
}

impl ToolZones {
    /// The entry for `tool`.
    pub fn get(&self, tool: Tool) -> Option<&Spanned<String>> {
        match tool {
            Tool::Velero => self.velero.as_ref(),
            Tool::Restic => self.restic.as_ref(),
            Tool::Pbs => self.pbs.as_ref(),
        }
    }
}

/// A zone's name: the IANA name, `UTC`, or its fixed offset.
pub fn zone_name(tz: &TimeZone) -> String {
    tz.iana_name().map_or_else(
        || {
            tz.to_fixed_offset()
                .map_or_else(|_| "?".into(), |o| o.to_string())
        },
        str::to_string,
    )
}

/// The whole matrix.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Matrix {
    /// Title shown in reports.
    #[serde(default)]
    pub title: Option<String>,
    /// IANA zone the plan and reports are shown in (the display zone). Schedules run on their
    /// tool's clock: see [`ToolZones`].
    pub timezone: String,
    /// The zone each tool's scheduler uses (`[zones]`).
    #[serde(default)]
    pub zones: ToolZones,
    /// Grace after a scheduled run before it counts as late (default `"2h"`).
    #[serde(default)]
    pub grace: Option<String>,
    /// Storages.
    #[serde(default)]
    pub storage: Vec<Storage>,
    /// Targets.
    #[serde(default)]
    pub target: Vec<Target>,
    /// Exclusions.
    #[serde(default)]
    pub exclusion: Vec<Exclusion>,
    /// DR scenarios.
    #[serde(default)]
    pub dr: Vec<DrScenario>,
    #[serde(skip)]
    tz: Option<TimeZone>,
}

fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(offset, |p| offset - p - 1) + 1;
    (line, col)
}

impl Matrix {
    /// The embedded seed matrix.
    ///
    /// # Errors
    /// Never in practice (the embedded file is tested); kept fallible for uniformity.
    pub fn homelab() -> Result<Self> {
        Matrix::from_toml(HOMELAB_TOML, "<embedded homelab.toml>")
    }

    /// Parses and validates a matrix. `origin` names the source in errors.
    ///
    /// # Errors
    /// [`Error::Config`] with line and column for syntax errors, unknown fields, bad schedules,
    /// unknown storages or time zones; [`Error::Matrix`] for duplicate names.
    pub fn from_toml(src: &str, origin: &str) -> Result<Self> {
        let at = |span: Option<std::ops::Range<usize>>, message: String| {
            let (line, column) = span.map_or((0, 0), |s| line_col(src, s.start));
            Error::Config {
                origin: origin.to_string(),
                line,
                column,
                message,
            }
        };
        let mut m: Matrix =
            toml::from_str(src).map_err(|e| at(e.span(), e.message().to_string()))?;
        let tz = TimeZone::get(&m.timezone)
            .map_err(|e| at(None, format!("unknown time zone {:?}: {e}", m.timezone)))?;
        m.tz = Some(tz.clone());
        let tool_zones = m.zones.clone();
        for z in [&tool_zones.velero, &tool_zones.restic, &tool_zones.pbs]
            .into_iter()
            .flatten()
        {
            TimeZone::get(z.get_ref()).map_err(|e| {
                at(
                    Some(z.span()),
                    format!("unknown time zone {:?}: {e}", z.get_ref()),
                )
            })?;
        }
        crate::applicable::check(src, &m).map_err(|(span, msg)| at(Some(span), msg))?;
        let mut names = std::collections::HashSet::new();
        for s in &m.storage {
            if !names.insert(s.name.clone()) {
                return Err(Error::Matrix(format!("duplicate storage {:?}", s.name)));
            }
        }
        let mut tnames = std::collections::HashSet::new();
        let storages: Vec<String> = m.storage.iter().map(|s| s.name.clone()).collect();
        for t in &mut m.target {
            if !tnames.insert(t.name.clone()) {
                return Err(Error::Matrix(format!("duplicate target {:?}", t.name)));
            }
            if let Some(s) = &t.storage
                && !storages.contains(s.get_ref())
            {
                return Err(at(
                    Some(s.span()),
                    format!("unknown storage {:?}", s.get_ref()),
                ));
            }
            if t.enabled && t.schedule.is_empty() {
                return Err(Error::Matrix(format!(
                    "enabled target {:?} has no schedule",
                    t.name
                )));
            }
            let mut snames = std::collections::HashSet::new();
            for sc in &mut t.schedule {
                if !snames.insert(sc.name.clone()) {
                    return Err(Error::Matrix(format!(
                        "duplicate schedule {:?} in {:?}",
                        sc.name, t.name
                    )));
                }
                let grammar = t.tool.grammar();
                let text = match (&sc.cron, &sc.calendar, grammar) {
                    (Some(c), None, Grammar::Velero | Grammar::Backrest)
                    | (None, Some(c), Grammar::Proxmox) => c,
                    (Some(c), None, _) => {
                        return Err(at(
                            Some(c.span()),
                            format!(
                                "{} schedules are calendar events (`calendar = \"sun 02:00\"`), not cron",
                                t.tool
                            ),
                        ));
                    }
                    (None, Some(c), _) => {
                        return Err(at(
                            Some(c.span()),
                            format!(
                                "{} schedules are cron expressions (`cron = \"0 2 * * *\"`), not calendar events",
                                t.tool
                            ),
                        ));
                    }
                    _ => {
                        return Err(Error::Matrix(format!(
                            "schedule {:?} of {:?} needs exactly one of `cron` or `calendar`",
                            sc.name, t.name
                        )));
                    }
                };
                let parsed = Schedule::parse(grammar, text.get_ref())
                    .map_err(|e| at(Some(text.span()), e.to_string()))?;
                let named = |z: &Spanned<String>| {
                    TimeZone::get(z.get_ref()).map_err(|e| {
                        at(
                            Some(z.span()),
                            format!("unknown time zone {:?}: {e}", z.get_ref()),
                        )
                    })
                };
                let (zone, origin) = if parsed.expr_zone().is_some() {
                    (tz.clone(), ZoneOrigin::Expression)
                } else if let Some(z) = &sc.timezone {
                    (named(z)?, ZoneOrigin::Schedule)
                } else if let Some(z) = &t.timezone {
                    (named(z)?, ZoneOrigin::Target)
                } else if let Some(z) = tool_zones.get(t.tool) {
                    (named(z)?, ZoneOrigin::Tool)
                } else {
                    (t.tool.default_zone(&tz), ZoneOrigin::Default)
                };
                sc.parsed = Some(parsed.with_zone(zone));
                sc.zone_origin = origin;
                let r = &sc.retention;
                let bad = |m: String| Error::Matrix(format!("{}/{}: {m}", t.name, sc.name));
                match t.tool {
                    Tool::Velero => {
                        r.ttl().map_err(|e| bad(e.to_string()))?;
                    }
                    Tool::Restic => {
                        r.forget_policy()
                            .and_then(|p| p.validate(crate::restic::Semantics::Current))
                            .map_err(|e| bad(e.to_string()))?;
                    }
                    Tool::Pbs => {
                        r.prune_options().map_err(|e| bad(e.to_string()))?;
                    }
                }
                if let Some(d) = &sc.duration {
                    crate::duration::parse_span(d).map_err(|e| bad(e.to_string()))?;
                }
            }
        }
        crate::dr::validate(&m).map_err(|(span, msg)| at(Some(span), msg))?;
        if let Some(g) = &m.grace {
            crate::duration::parse_span(g).map_err(|e| Error::Matrix(format!("grace: {e}")))?;
        }
        Ok(m)
    }

    /// The display zone (`timezone`): what the plan and reports show times in. Each schedule
    /// runs on its own tool's clock ([`ScheduleSpec::zone`]); a schedule loaded from a matrix
    /// ignores a zone passed to [`Schedule::next_after`].
    pub fn tz(&self) -> TimeZone {
        self.tz
            .clone()
            .unwrap_or_else(|| TimeZone::get(&self.timezone).unwrap_or(TimeZone::UTC))
    }

    /// Grace after a scheduled run (default 2 h).
    pub fn grace(&self) -> SignedDuration {
        self.grace
            .as_deref()
            .and_then(|g| crate::duration::parse_span(g).ok())
            .unwrap_or(SignedDuration::from_hours(2))
    }

    /// A target by name.
    pub fn target(&self, name: &str) -> Option<&Target> {
        self.target.iter().find(|t| t.name == name)
    }

    /// A storage by name.
    pub fn storage(&self, name: &str) -> Option<&Storage> {
        self.storage.iter().find(|s| s.name == name)
    }

    /// Every run of every enabled schedule in `[from, to)`, each on its tool's clock, sorted by
    /// start time.
    pub fn runs_between(&self, from: Timestamp, to: Timestamp) -> Vec<Run<'_>> {
        let tz = self.tz();
        let mut out = Vec::new();
        for t in self.target.iter().filter(|t| t.enabled) {
            for s in &t.schedule {
                let mut cur = from
                    .checked_sub(SignedDuration::from_secs(1))
                    .unwrap_or(from);
                let Some(sched) = s.schedule() else { continue };
                while let Some(n) = sched.next_after(cur, &tz) {
                    if n >= to {
                        break;
                    }
                    out.push(Run {
                        target: t,
                        schedule: s,
                        start: n,
                        end: n.saturating_add(s.run_duration(t.tool)).unwrap_or(n),
                    });
                    cur = n;
                }
            }
        }
        out.sort_by(|a, b| {
            a.start
                .cmp(&b.start)
                .then_with(|| a.target.name.cmp(&b.target.name))
        });
        out
    }
}

/// One expected run of a schedule.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Run<'a> {
    /// The target.
    pub target: &'a Target,
    /// The schedule.
    pub schedule: &'a ScheduleSpec,
    /// Start instant.
    pub start: Timestamp,
    /// Expected end (start + expected duration).
    pub end: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_parses() {
        let m = Matrix::homelab().unwrap();
        assert!(m.target.len() >= 9);
        assert!(
            m.target
                .iter()
                .any(|t| !t.enabled && t.disabled_reason.is_some())
        );
    }

    #[test]
    fn unknown_field_has_line_and_column() {
        let src = "timezone = \"UTC\"\n\n[[storage]]\nname = \"x\"\nkind = \"s3\"\ndevice = \"d\"\ncolour = \"red\"\n";
        let e = Matrix::from_toml(src, "t.toml").unwrap_err();
        assert_eq!(e.line_column(), Some((7, 1)), "{e}");
        assert!(e.to_string().starts_with("t.toml:7:1:"), "{e}");
    }

    #[test]
    fn bad_cron_points_at_it() {
        let src = "timezone = \"UTC\"\n[[target]]\nname = \"a\"\nkind = \"vm\"\ntool = \"velero\"\n[[target.schedule]]\nname = \"d\"\ncron = \"0 25 * * *\"\nretention = { ttl = \"7d\" }\n";
        let e = Matrix::from_toml(src, "t.toml").unwrap_err();
        assert_eq!(e.line_column().map(|l| l.0), Some(8), "{e}");
    }
}
