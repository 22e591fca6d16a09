//! Health of Velero in a cluster, derived from the CRs (not from Prometheus counters, which reset
//! when the Velero pod restarts).
//!
//! The assessment is pure ([`assess`]); [`VeleroClient::health`] lists the objects and calls it.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;

use crate::client::{ListOptions, VeleroClient};
use crate::cron::CronSchedule;
use crate::ops::{StorageLocationState, storage_location_state};
use crate::types::*;
use crate::{Error, Result};

/// Thresholds for [`assess`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HealthOptions {
    /// A backup New/Queued/InProgress for longer than this is stuck (default 6 h).
    pub stuck_after: Duration,
    /// Slack added to a schedule's interval before it counts as stopped (default 1 h).
    pub grace: Duration,
    /// "Now" (default: the system clock).
    pub now: Option<Timestamp>,
}

impl Default for HealthOptions {
    fn default() -> Self {
        Self {
            stuck_after: Duration::from_secs(6 * 3600),
            grace: Duration::from_secs(3600),
            now: None,
        }
    }
}

impl HealthOptions {
    /// Sets the stuck threshold.
    pub fn with_stuck_after(mut self, d: Duration) -> Self {
        self.stuck_after = d;
        self
    }

    /// Sets the grace period.
    pub fn with_grace(mut self, d: Duration) -> Self {
        self.grace = d;
        self
    }

    /// Fixes "now".
    pub fn with_now(mut self, now: Timestamp) -> Self {
        self.now = Some(now);
        self
    }
}

/// The newest Completed backup of a schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LastSuccess {
    /// Backup name.
    pub backup: String,
    /// Its completion time.
    pub completed: Timestamp,
}

/// A backup that has been pending or running too long.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct StuckBackup {
    /// Backup name.
    pub name: String,
    /// Phase.
    pub phase: BackupPhase,
    /// Start time, else creation time.
    pub since: Timestamp,
    /// How long it has been in this state.
    pub age: Duration,
    /// Its schedule.
    pub schedule: Option<String>,
    /// Item progress.
    pub progress: Option<BackupProgress>,
}

/// Why a schedule counts as stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// Nothing new for longer than the interval plus grace.
    NoNewBackup,
    /// A New/InProgress backup of this schedule blocks new runs (Velero's overlap guard).
    BlockedBy(String),
    /// The schedule failed validation and never runs.
    FailedValidation(Vec<String>),
}

/// One schedule's state.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ScheduleHealth {
    /// Schedule name.
    pub name: String,
    /// Cron expression.
    pub cron: String,
    /// Paused.
    pub paused: bool,
    /// Phase.
    pub phase: SchedulePhase,
    /// Interval between runs (from the cron).
    pub expected_interval: Option<Duration>,
    /// Next cron time after the assessment (`None` when paused or the cron is invalid).
    pub next_run: Option<Timestamp>,
    /// When the controller last submitted a backup (`status.lastBackup`).
    pub last_submitted: Option<Timestamp>,
    /// Newest backup of the schedule, whatever its phase.
    pub newest_backup: Option<String>,
    /// Newest Completed backup.
    pub last_success: Option<LastSuccess>,
    /// Whether the last success is older than interval + grace.
    pub success_overdue: bool,
    /// Set when the schedule silently stopped.
    pub stopped: Option<StopReason>,
}

/// Health of Velero in one cluster.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HealthReport {
    /// Kube context.
    pub context: String,
    /// When it was assessed.
    pub assessed_at: Timestamp,
    /// Newest Completed backup per `velero.io/schedule-name` (`""` for ad-hoc backups).
    pub last_success: BTreeMap<String, LastSuccess>,
    /// Per schedule.
    pub schedules: Vec<ScheduleHealth>,
    /// Backups stuck New/Queued/InProgress.
    pub stuck_backups: Vec<StuckBackup>,
    /// Storage locations that are not Available.
    pub unavailable_locations: Vec<StorageLocationState>,
}

impl HealthReport {
    /// Nothing stuck, stopped, overdue or unavailable.
    pub fn is_healthy(&self) -> bool {
        self.stuck_backups.is_empty()
            && self.unavailable_locations.is_empty()
            && self
                .schedules
                .iter()
                .all(|s| s.paused || (s.stopped.is_none() && !s.success_overdue))
    }

    /// Schedules that silently stopped.
    pub fn stopped_schedules(&self) -> impl Iterator<Item = &ScheduleHealth> {
        self.schedules.iter().filter(|s| s.stopped.is_some())
    }
}

/// The next run strictly after `after`, as Velero computes it: robfig/cron v3 `ParseStandard`
/// ([`crate::cron`]), in UTC unless `CRON_TZ=`/`TZ=` names a zone. An expression Velero
/// refuses, or one that never runs within five years, is [`Error::InvalidSchedule`].
pub fn next_run(expr: &str, after: Timestamp) -> Result<Timestamp> {
    CronSchedule::parse(expr)?
        .next_after(after)
        .ok_or_else(|| Error::InvalidSchedule {
            expr: expr.to_owned(),
            message: "no run within five years".to_owned(),
        })
}

/// Interval between two runs: `next(next(now)) - next(now)`, as Velero main computes it.
pub fn expected_interval(expr: &str, now: Timestamp) -> Result<Duration> {
    let a = next_run(expr, now)?;
    let b = next_run(expr, a)?;
    Duration::try_from(b.duration_since(a)).map_err(|e| Error::InvalidSchedule {
        expr: expr.to_owned(),
        message: e.to_string(),
    })
}

/// Newest Completed backup by completion time, per schedule label (`""` for ad-hoc), like
/// Velero's `velero_backup_last_successful_timestamp`.
pub fn last_successful_by_schedule(backups: &[Backup]) -> BTreeMap<String, LastSuccess> {
    let mut out: BTreeMap<String, LastSuccess> = BTreeMap::new();
    for b in backups
        .iter()
        .filter(|b| b.phase() == BackupPhase::Completed)
    {
        let (Some(name), Some(completed)) = (b.metadata.name.clone(), b.completed()) else {
            continue;
        };
        let key = b.schedule_name().unwrap_or("").to_owned();
        let newer = out.get(&key).is_none_or(|cur| completed > cur.completed);
        if newer {
            out.insert(
                key,
                LastSuccess {
                    backup: name,
                    completed,
                },
            );
        }
    }
    out
}

fn age(now: Timestamp, since: Timestamp) -> Duration {
    Duration::try_from(now.duration_since(since)).unwrap_or(Duration::ZERO)
}

/// Backups New/Queued/ReadyToStart/InProgress for longer than `threshold`.
pub fn stuck_backups(backups: &[Backup], now: Timestamp, threshold: Duration) -> Vec<StuckBackup> {
    let mut out: Vec<StuckBackup> = backups
        .iter()
        .filter(|b| b.metadata.deletion_timestamp.is_none() && b.phase().is_pending())
        .filter_map(|b| {
            let since = b.started().or_else(|| b.created())?;
            let age = age(now, since);
            (age > threshold).then(|| StuckBackup {
                name: b.metadata.name.clone().unwrap_or_default(),
                phase: b.phase(),
                since,
                age,
                schedule: b.schedule_name().map(str::to_owned),
                progress: b.status.as_ref().and_then(|s| s.progress.clone()),
            })
        })
        .collect();
    out.sort_by_key(|s| s.since);
    out
}

fn schedule_health(
    s: &Schedule,
    backups: &[Backup],
    last: &BTreeMap<String, LastSuccess>,
    now: Timestamp,
    opts: &HealthOptions,
) -> ScheduleHealth {
    let name = s.metadata.name.clone().unwrap_or_default();
    let label = labels::valid_label_value(&name);
    let own: Vec<&Backup> = backups
        .iter()
        .filter(|b| b.schedule_name() == Some(label.as_str()))
        .collect();
    let newest = own
        .iter()
        .max_by_key(|b| (b.created(), b.metadata.name.clone()));
    let interval = expected_interval(&s.spec.schedule, now).ok();
    let last_success = last.get(&label).cloned();
    let grace = opts.grace;
    let overdue = |t: Option<Timestamp>| match (interval, t) {
        (Some(i), Some(t)) => age(now, t) > i + grace,
        (Some(i), None) => s
            .metadata
            .creation_timestamp
            .as_ref()
            .is_some_and(|c| age(now, c.0) > i + grace),
        _ => false,
    };
    let last_activity = [newest.and_then(|b| b.created()), s.last_backup()]
        .into_iter()
        .flatten()
        .max();
    let mut stopped = None;
    if !s.is_paused() {
        if s.phase() == SchedulePhase::FailedValidation {
            let errs = s
                .status
                .as_ref()
                .and_then(|st| st.validation_errors.clone())
                .unwrap_or_default();
            stopped = Some(StopReason::FailedValidation(errs));
        } else if overdue(last_activity) {
            stopped = Some(StopReason::NoNewBackup);
        }
        if stopped == Some(StopReason::NoNewBackup)
            && let Some(blocker) = own.iter().find(|b| b.phase().blocks_schedule())
        {
            stopped = Some(StopReason::BlockedBy(
                blocker.metadata.name.clone().unwrap_or_default(),
            ));
        }
    }
    ScheduleHealth {
        cron: s.spec.schedule.clone(),
        paused: s.is_paused(),
        phase: s.phase(),
        expected_interval: interval,
        next_run: if s.is_paused() {
            None
        } else {
            next_run(&s.spec.schedule, now).ok()
        },
        last_submitted: s.last_backup(),
        newest_backup: newest.and_then(|b| b.metadata.name.clone()),
        success_overdue: !s.is_paused() && overdue(last_success.as_ref().map(|l| l.completed)),
        last_success,
        stopped,
        name,
    }
}

/// Assesses schedules, backups and storage locations of one cluster.
pub fn assess(
    context: &str,
    schedules: &[Schedule],
    backups: &[Backup],
    locations: Vec<BackupStorageLocation>,
    opts: &HealthOptions,
) -> HealthReport {
    let now = opts.now.unwrap_or_else(Timestamp::now);
    let last_success = last_successful_by_schedule(backups);
    HealthReport {
        context: context.to_owned(),
        assessed_at: now,
        schedules: schedules
            .iter()
            .map(|s| schedule_health(s, backups, &last_success, now, opts))
            .collect(),
        stuck_backups: stuck_backups(backups, now, opts.stuck_after),
        unavailable_locations: locations
            .into_iter()
            .map(storage_location_state)
            .filter(|l| !l.is_available())
            .collect(),
        last_success,
    }
}

impl VeleroClient {
    /// Lists schedules, backups and storage locations and assesses them.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with the apiserver's answer (e.g. [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]), [`Error::Kube`] when the apiserver cannot be reached or
    /// its answer not decoded.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let report = client.health(&velero_client::HealthOptions::default()).await?;
    /// println!("healthy: {}", report.is_healthy());
    /// # Ok(()) }
    /// ```
    pub async fn health(&self, opts: &HealthOptions) -> Result<HealthReport> {
        let all = ListOptions::default();
        let (schedules, backups, locations) = futures::try_join!(
            self.list_all::<Schedule>(&all),
            self.list_all::<Backup>(&all),
            self.list_all::<BackupStorageLocation>(&all),
        )?;
        Ok(assess(&self.context, &schedules, &backups, locations, opts))
    }

    /// Newest Completed backup per schedule (by completion time).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with the apiserver's answer (e.g. [`Error::is_not_found`],
    /// [`Error::is_permission_denied`]), [`Error::Kube`] when the apiserver cannot be reached or
    /// its answer not decoded.
    ///
    /// ```no_run
    /// # async fn run(client: &velero_client::VeleroClient) -> Result<(), Box<dyn std::error::Error>> {
    /// for (schedule, last) in client.last_successful_backups().await? {
    ///     println!("{schedule}: {last:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn last_successful_backups(&self) -> Result<BTreeMap<String, LastSuccess>> {
        let backups: Vec<Backup> = self.list_all(&ListOptions::default()).await?;
        Ok(last_successful_by_schedule(&backups))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn backup(
        name: &str,
        schedule: Option<&str>,
        phase: &str,
        start: &str,
        done: Option<&str>,
    ) -> Backup {
        let mut b = Backup::new(name, BackupSpec::default());
        if let Some(s) = schedule {
            b.metadata.labels = Some([(labels::SCHEDULE_NAME.to_owned(), s.to_owned())].into());
        }
        b.metadata.creation_timestamp = Some(Time(ts(start)));
        b.status = Some(BackupStatus {
            phase: Some(BackupPhase::from_text(phase)),
            start_timestamp: Some(Time(ts(start))),
            completion_timestamp: done.map(|d| Time(ts(d))),
            ..BackupStatus::default()
        });
        b
    }

    fn schedule(name: &str, cron: &str, created: &str) -> Schedule {
        let spec = ScheduleSpec {
            schedule: cron.into(),
            ..ScheduleSpec::default()
        };
        let mut s = Schedule::new(name, spec);
        s.metadata.creation_timestamp = Some(Time(ts(created)));
        s.status = Some(ScheduleStatus {
            phase: Some(SchedulePhase::Enabled),
            ..ScheduleStatus::default()
        });
        s
    }

    #[test]
    fn intervals_from_cron_and_every() {
        let now = ts("2026-11-27T05:00:00Z");
        assert_eq!(
            expected_interval("0 2 * * *", now).unwrap(),
            Duration::from_secs(86400)
        );
        assert_eq!(
            expected_interval("0 3 * * 0", now).unwrap(),
            Duration::from_secs(7 * 86400)
        );
        assert_eq!(
            expected_interval("@every 6h", now).unwrap(),
            Duration::from_secs(6 * 3600)
        );
        assert_eq!(
            expected_interval("@daily", now).unwrap(),
            Duration::from_secs(86400)
        );
        assert_eq!(
            next_run("30 2 * * *", now).unwrap(),
            ts("2026-11-28T02:30:00Z")
        );
        assert!(expected_interval("not a cron", now).is_err());
    }

    #[test]
    fn last_success_is_newest_completed_by_completion_time() {
        let backups = vec![
            backup(
                "daily-1",
                Some("daily"),
                "Completed",
                "2026-11-25T02:00:00Z",
                Some("2026-11-25T02:10:00Z"),
            ),
            backup(
                "daily-2",
                Some("daily"),
                "Completed",
                "2026-11-26T02:00:00Z",
                Some("2026-11-26T02:05:00Z"),
            ),
            backup(
                "daily-3",
                Some("daily"),
                "PartiallyFailed",
                "2026-11-27T02:00:00Z",
                Some("2026-11-27T02:05:00Z"),
            ),
            backup(
                "adhoc",
                None,
                "Completed",
                "2026-11-20T10:00:00Z",
                Some("2026-11-20T10:01:00Z"),
            ),
        ];
        let last = last_successful_by_schedule(&backups);
        assert_eq!(last["daily"].backup, "daily-2");
        assert_eq!(last[""].backup, "adhoc");
    }

    #[test]
    fn stuck_and_stopped_schedules() {
        let now = ts("2026-11-27T12:00:00Z");
        let backups = vec![
            backup(
                "daily-1",
                Some("daily"),
                "Completed",
                "2026-11-25T02:00:00Z",
                Some("2026-11-25T02:10:00Z"),
            ),
            backup(
                "daily-2",
                Some("daily"),
                "InProgress",
                "2026-11-26T02:00:00Z",
                None,
            ),
            backup(
                "hourly-1",
                Some("hourly"),
                "Completed",
                "2026-11-27T11:00:00Z",
                Some("2026-11-27T11:01:00Z"),
            ),
        ];
        let schedules = vec![
            schedule("daily", "0 2 * * *", "2026-11-01T00:00:00Z"),
            schedule("hourly", "0 * * * *", "2026-11-01T00:00:00Z"),
        ];
        let report = assess(
            "prod",
            &schedules,
            &backups,
            vec![],
            &HealthOptions::default().with_now(now),
        );
        assert_eq!(report.stuck_backups.len(), 1);
        assert_eq!(report.stuck_backups[0].name, "daily-2");
        assert_eq!(report.stuck_backups[0].age, Duration::from_secs(34 * 3600));
        let daily = &report.schedules[0];
        assert_eq!(daily.stopped, Some(StopReason::BlockedBy("daily-2".into())));
        assert!(daily.success_overdue);
        assert_eq!(daily.next_run, Some(ts("2026-11-28T02:00:00Z")));
        let hourly = &report.schedules[1];
        assert_eq!(hourly.next_run, Some(ts("2026-11-27T13:00:00Z")));
        assert_eq!(hourly.stopped, None);
        assert!(!hourly.success_overdue);
        assert!(!report.is_healthy());
    }

    /// Velero's overlap guard (vmware-tanzu/velero pkg/controller/schedule_controller.go
    /// `checkIfBackupInNewOrProgress`) holds a schedule back only for a backup in phase "",
    /// New or InProgress: a Queued, ReadyToStart or Finalizing one does not block new runs.
    #[test]
    fn blocked_by_counts_only_what_the_overlap_guard_counts() {
        let now = ts("2026-11-27T12:00:00Z");
        let opts = HealthOptions::default().with_now(now);
        let schedules = vec![schedule("daily", "0 2 * * *", "2026-11-01T00:00:00Z")];
        for (phase, blocks) in [
            ("New", true),
            ("", true),
            ("InProgress", true),
            ("Queued", false),
            ("ReadyToStart", false),
            ("WaitingForPluginOperations", false),
            ("Finalizing", false),
            ("FinalizingPartiallyFailed", false),
        ] {
            let backups = vec![
                backup(
                    "daily-1",
                    Some("daily"),
                    "Completed",
                    "2026-11-24T02:00:00Z",
                    Some("2026-11-24T02:10:00Z"),
                ),
                backup(
                    "daily-2",
                    Some("daily"),
                    phase,
                    "2026-11-25T02:00:00Z",
                    None,
                ),
            ];
            let report = assess("prod", &schedules, &backups, vec![], &opts);
            let want = if blocks {
                StopReason::BlockedBy("daily-2".into())
            } else {
                StopReason::NoNewBackup
            };
            assert_eq!(report.schedules[0].stopped, Some(want), "phase {phase:?}");
        }
    }

    /// robfig/cron v3 as Velero parses schedules (`cron.ParseStandard`): zone prefixes,
    /// `@midnight`, and `@every` in whole seconds from the truncated current second.
    #[test]
    fn cron_like_robfig() {
        let now = ts("2026-11-27T05:00:00Z");
        assert_eq!(
            next_run("CRON_TZ=America/New_York 0 2 * * *", now).unwrap(),
            ts("2026-11-27T07:00:00Z")
        );
        assert_eq!(
            next_run("TZ=Europe/London 30 1 * * *", ts("2026-07-01T00:00:00Z")).unwrap(),
            ts("2026-07-01T00:30:00Z")
        );
        assert_eq!(
            next_run("@midnight", now).unwrap(),
            ts("2026-11-28T00:00:00Z")
        );
        assert_eq!(
            expected_interval("CRON_TZ=Europe/London @midnight", now).unwrap(),
            Duration::from_secs(86400)
        );
        assert_eq!(
            next_run("@every 90m30s500ms", ts("2026-11-27T05:00:00.25Z")).unwrap(),
            ts("2026-11-27T06:30:30Z")
        );
        assert_eq!(
            next_run("@every 100ms", ts("2026-11-27T05:00:00.25Z")).unwrap(),
            ts("2026-11-27T05:00:01Z")
        );
        assert!(next_run("CRON_TZ=Mars/Olympus 0 2 * * *", now).is_err());
        assert!(next_run("CRON_TZ=UTC", now).is_err());
    }

    /// An `@every 6h` schedule (robfig constantdelay.go) is on time 5 h after its last
    /// backup and stopped 8 h after it (interval 6 h + 1 h grace).
    #[test]
    fn every_6h_schedule_judged_late_and_on_time() {
        let created = "2026-11-01T00:00:00Z";
        let schedules = vec![schedule("six", "@every 6h", created)];
        let last = |done: &str| vec![backup("six-1", Some("six"), "Completed", done, Some(done))];
        let now = ts("2026-11-27T12:00:00Z");
        let opts = HealthOptions::default().with_now(now);
        let on_time = assess(
            "prod",
            &schedules,
            &last("2026-11-27T07:00:00Z"),
            vec![],
            &opts,
        );
        let s = &on_time.schedules[0];
        assert_eq!(s.expected_interval, Some(Duration::from_secs(6 * 3600)));
        assert_eq!(s.next_run, Some(ts("2026-11-27T18:00:00Z")));
        assert_eq!(s.stopped, None);
        assert!(!s.success_overdue);
        let late = assess(
            "prod",
            &schedules,
            &last("2026-11-27T04:00:00Z"),
            vec![],
            &opts,
        );
        assert_eq!(late.schedules[0].stopped, Some(StopReason::NoNewBackup));
        assert!(late.schedules[0].success_overdue);
    }

    /// `CRON_TZ=Europe/London 0 2 * * *` runs at 02:00 London time: 01:00Z in summer (BST),
    /// 02:00Z in winter (GMT); without a prefix Velero evaluates in UTC.
    #[test]
    fn cron_tz_is_evaluated_in_its_zone() {
        let expr = "CRON_TZ=Europe/London 0 2 * * *";
        assert_eq!(
            next_run(expr, ts("2026-07-01T12:00:00Z")).unwrap(),
            ts("2026-07-02T01:00:00Z")
        );
        assert_eq!(
            next_run(expr, ts("2026-12-01T12:00:00Z")).unwrap(),
            ts("2026-12-02T02:00:00Z")
        );
        assert_eq!(
            next_run("0 2 * * *", ts("2026-07-01T12:00:00Z")).unwrap(),
            ts("2026-07-02T02:00:00Z")
        );
        let mut s = schedule("london", expr, "2026-06-01T00:00:00Z");
        s.status.as_mut().unwrap().last_backup = Some(Time(ts("2026-07-01T01:00:00Z")));
        let report = assess(
            "prod",
            &[s],
            &[],
            vec![],
            &HealthOptions::default().with_now(ts("2026-07-01T12:00:00Z")),
        );
        assert_eq!(
            report.schedules[0].next_run,
            Some(ts("2026-07-02T01:00:00Z"))
        );
    }

    /// robfig/cron v3 `ParseStandard` knows no `L`, `W`, `#`, day-of-week 7 or seconds field:
    /// Velero puts such a schedule in FailedValidation, so health must refuse it too, naming it.
    #[test]
    fn refuses_what_velero_refuses() {
        let now = ts("2026-11-27T05:00:00Z");
        for expr in [
            "0 2 * * 7",
            "0 0 L * *",
            "0 0 15W * *",
            "0 0 * * 1#2",
            "0 0 * * 5L",
            "0 0 LW * *",
            "0 2 * * * *",
            " @daily",
            "@daily ",
            "@every  6h",
        ] {
            match next_run(expr, now) {
                Err(Error::InvalidSchedule { expr: e, .. }) => assert_eq!(e, expr),
                other => panic!("{expr:?}: {other:?}"),
            }
        }
    }

    /// Day-of-month and day-of-week: both restricted → either matches; one starting with `*`
    /// (or `?`) → both must (robfig spec.go `dayMatches`). `*/2` is not a star (step > 1).
    #[test]
    fn day_of_month_and_week_like_robfig() {
        let after = ts("2026-11-27T05:00:00Z"); // a Friday
        // 1st of the month or a Monday: Monday 30 Nov comes first.
        assert_eq!(
            next_run("0 0 1 * MON", after).unwrap(),
            ts("2026-11-30T00:00:00Z")
        );
        // `*/1` keeps the star bit: day-of-month is a star, so Monday only.
        assert_eq!(
            next_run("0 0 */1 * 1", after).unwrap(),
            ts("2026-11-30T00:00:00Z")
        );
        // `?` is a star.
        assert_eq!(
            next_run("0 0 ? * SUN", after).unwrap(),
            ts("2026-11-29T00:00:00Z")
        );
        // Day-of-month `*/2` (odd days) has no star: odd days or Saturdays, so Sat 28 Nov.
        assert_eq!(
            next_run("0 0 */2 * 6", after).unwrap(),
            ts("2026-11-28T00:00:00Z")
        );
        assert_eq!(
            next_run("0/15 * * jan-DEC *", after).unwrap(),
            ts("2026-11-27T05:15:00Z")
        );
    }
}
