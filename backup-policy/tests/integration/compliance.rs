//! Compliance scenarios from the seed, and lints of the seed matrix.

use backup_policy::compliance::{Missing, Observation, Outcome, Status, evaluate};
use backup_policy::lint::{LintKind, Severity, lint};
use backup_policy::matrix::Matrix;
use jiff::{SignedDuration, Timestamp};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// A healthy week of observations up to `now` for every enabled schedule.
fn healthy(m: &Matrix, now: Timestamp) -> Vec<Observation> {
    let tz = m.tz();
    let mut out = Vec::new();
    for t in m.target.iter().filter(|t| t.enabled) {
        for s in &t.schedule {
            let sched = s.schedule().unwrap();
            let from = now
                .checked_sub(SignedDuration::from_hours(24 * 40))
                .unwrap();
            for f in sched
                .next_n(from, &tz, 200)
                .into_iter()
                .filter(|f| *f <= now)
            {
                out.push(
                    Observation::new(
                        &t.name,
                        f.checked_add(SignedDuration::from_mins(3)).unwrap(),
                        Outcome::Success,
                    )
                    .with_schedule(&s.name)
                    .with_size(1 << 30),
                );
            }
        }
    }
    out
}

fn status(r: &[backup_policy::ScheduleReport], target: &str, sched: &str) -> Status {
    r.iter()
        .find(|x| x.target == target && x.schedule.as_deref() == Some(sched))
        .unwrap()
        .status
}

#[test]
fn everything_ok_in_a_healthy_week() {
    let m = Matrix::homelab().unwrap();
    let now = ts("2026-11-27T09:00:00Z");
    let r = evaluate(&m, &healthy(&m, now), now);
    for x in &r {
        if x.target.starts_with("unifi") {
            assert_eq!(x.status, Status::Disabled);
        } else {
            assert_eq!(x.status, Status::Ok, "{x:?}");
            assert!(x.next_run.unwrap() > now);
        }
    }
}

#[test]
fn velero_prod_daily_missing_since_tuesday_is_late() {
    let m = Matrix::homelab().unwrap();
    let now = ts("2026-11-27T09:00:00Z"); // Friday
    let obs: Vec<Observation> = healthy(&m, now)
        .into_iter()
        .filter(|o| {
            !(o.target == "velero-prod"
                && o.schedule.as_deref() == Some("daily")
                && o.time > ts("2026-11-24T12:00:00Z"))
        })
        .collect();
    let r = evaluate(&m, &obs, now);
    let prod = r
        .iter()
        .find(|x| x.target == "velero-prod" && x.schedule.as_deref() == Some("daily"))
        .unwrap();
    assert_eq!(prod.status, Status::Late);
    assert_eq!(prod.last_good.unwrap().to_string(), "2026-11-24T02:03:00Z");
    assert!(prod.detail.contains("Tue 2026-11-24"), "{}", prod.detail);
    assert_eq!(status(&r, "velero-prod", "weekly"), Status::Ok);
    assert_eq!(status(&r, "velero-agentic", "daily"), Status::Ok);
}

#[test]
fn unifi_is_disabled_with_reason() {
    let m = Matrix::homelab().unwrap();
    let r = evaluate(&m, &[], ts("2026-11-27T09:00:00Z"));
    let u = r.iter().find(|x| x.target == "unifi-daily").unwrap();
    assert_eq!(u.status, Status::Disabled);
    assert!(u.detail.contains("password"));
    // and with no observations at all, every enabled schedule is missing
    assert!(
        r.iter()
            .filter(|x| x.status != Status::Disabled)
            .all(|x| x.status == Status::Missing)
    );
}

#[test]
fn failed_last_run_and_grace() {
    let m = Matrix::homelab().unwrap();
    let mut obs = healthy(&m, ts("2026-11-26T09:00:00Z"));
    obs.push(
        Observation::new("iac-daily", ts("2026-11-27T03:04:00Z"), Outcome::Failed)
            .with_schedule("daily"),
    );
    let r = evaluate(&m, &obs, ts("2026-11-27T09:00:00Z"));
    assert_eq!(status(&r, "iac-daily", "daily"), Status::Failed);
    // Within the 2h grace after 04:00, plex's run of today is not due yet: still ok.
    let r = evaluate(&m, &obs, ts("2026-11-27T05:30:00Z"));
    assert_eq!(status(&r, "plex-daily", "daily"), Status::Ok);
    let r = evaluate(&m, &obs, ts("2026-11-27T06:30:00Z"));
    assert_eq!(status(&r, "plex-daily", "daily"), Status::Late);
}

#[test]
fn retained_counts_against_policy() {
    let m = Matrix::homelab().unwrap();
    let now = ts("2026-11-27T09:00:00Z");
    let r = evaluate(&m, &[], now);
    let exp = |t: &str, s: &str| {
        r.iter()
            .find(|x| x.target == t && x.schedule.as_deref() == Some(s))
            .unwrap()
            .expected_retained
            .unwrap()
    };
    assert_eq!(exp("velero-prod", "daily"), 7);
    assert_eq!(exp("velero-prod", "weekly"), 4); // 720h: Nov 1, 8, 15, 22 (Oct 25 expired on Nov 24)
    assert_eq!(exp("iac-daily", "daily"), 14 + 1); // Nov 14…27 daily, plus Sun Nov 8 as the 4th week
    assert_eq!(exp("pbs-iac", "weekly"), 4);
    assert_eq!(exp("truenas-weekly", "weekly"), 4 + 1);
}

#[test]
fn seed_lints() {
    let m = Matrix::homelab().unwrap();
    let f = lint(&m, ts("2026-11-27T12:00:00Z"));
    let has =
        |k: LintKind, needle: &str| f.iter().any(|x| x.kind == k && x.message.contains(needle));
    assert!(has(LintKind::NoOffsite, "truenas-hdd"));
    assert!(has(LintKind::DisabledTarget, "unifi-daily"));
    assert!(has(LintKind::CriticalOnlyWeekly, "unifi-vm"));
    assert!(!has(LintKind::CriticalOnlyWeekly, "iac-lxc"));
    assert!(has(LintKind::DrGap, "Complete site failure"));
    // Sunday night: the three PBS guests of pve-weekly queue (02:00, 03:00, 04:00), so the true
    // peak is four runs at 03:00–03:30, not "11 runs overlap" across the whole night
    let contention: Vec<&str> = f
        .iter()
        .filter(|x| x.kind == LintKind::StorageContention)
        .map(|x| x.message.as_str())
        .collect();
    let sunday = f
        .iter()
        .find(|x| {
            x.kind == LintKind::StorageContention
                && x.message.contains("4 runs overlap Sun 03:00–03:30")
        })
        .unwrap_or_else(|| panic!("sunday peak: {contention:#?}"));
    assert_eq!(sunday.severity, Severity::Warning);
    for needle in [
        "pbs-plex/weekly",
        "velero-prod/weekly",
        "iac-daily/daily",
        "pbs-plex/weekly queued in job pve-weekly",
        "assumed durations",
        "PBS 1h default",
    ] {
        assert!(
            sunday.message.contains(needle),
            "{needle}: {}",
            sunday.message
        );
    }
    assert!(
        contention
            .iter()
            .any(|m| m.contains("2 runs overlap daily except Sun 02:00–02:30")),
        "{contention:#?}"
    );
    // back-to-back runs (velero-monit 02:30 after the 02:00 dailies, iac-daily at 03:00) are
    // not overlaps, and no peak exceeds four
    assert!(
        !contention
            .iter()
            .any(|m| m.contains("velero-monit/daily, iac-daily")),
        "{contention:#?}"
    );
    assert!(
        !contention.iter().any(|m| ["5 runs", "6 runs", "11 runs"]
            .iter()
            .any(|n| m.contains(n))),
        "{contention:#?}"
    );
    // DR rows checked against devices
    assert!(has(LintKind::DrColocated, "Garage storage failure"));
    assert!(has(LintKind::DrColocated, "pbs-ruapehu on truenas-hdd"));
    assert!(has(
        LintKind::BackupOnSource,
        "truenas-weekly backs truenas up into garage"
    ));
    assert!(has(LintKind::DrUncovered, "truenas-weekly (truenas)"));
    assert!(
        !f.iter().any(|x| x.kind == LintKind::RetentionTooShort),
        "{f:#?}"
    );
}

#[test]
fn retention_too_short_is_flagged() {
    let src = r#"
timezone = "UTC"
[[storage]]
name = "s"
kind = "s3"
device = "d"
[[target]]
name = "t"
kind = "host"
tool = "velero"
storage = "s"
  [[target.schedule]]
  name = "weekly"
  cron = "0 1 * * 0"
  retention = { ttl = "72h" }
"#;
    let m = Matrix::from_toml(src, "x.toml").unwrap();
    let f = lint(&m, ts("2026-11-27T12:00:00Z"));
    assert!(
        f.iter()
            .any(|x| x.kind == LintKind::RetentionTooShort && x.subject == "t/weekly"),
        "{f:#?}"
    );
}

fn report<'a>(
    r: &'a [backup_policy::ScheduleReport],
    target: &str,
    sched: &str,
) -> &'a backup_policy::ScheduleReport {
    r.iter()
        .find(|x| x.target == target && x.schedule.as_deref() == Some(sched))
        .unwrap()
}

/// Unlabeled daily backups of velero-prod (02:03 every day) must not make its missing weekly
/// (Sunday 03:00) look fine: an observation belongs to a schedule only inside its window.
#[test]
fn a_daily_success_does_not_satisfy_the_weekly() {
    let m = Matrix::homelab().unwrap();
    let now = ts("2026-11-27T09:00:00Z");
    let obs: Vec<Observation> = (0..10)
        .map(|d| {
            let t = ts("2026-11-18T02:03:00Z")
                .checked_add(SignedDuration::from_hours(24 * d))
                .unwrap();
            Observation::new("velero-prod", t, Outcome::Success)
        })
        .collect();
    let r = evaluate(&m, &obs, now);
    assert_eq!(status(&r, "velero-prod", "daily"), Status::Ok);
    let weekly = report(&r, "velero-prod", "weekly");
    assert_eq!(weekly.status, Status::Missing, "{weekly:?}");
    assert_eq!(weekly.missing, Some(Missing::NeverRan));
    assert_eq!(weekly.retained, 0);
    // a labelled daily never belongs to the weekly, whatever its time
    let obs = [
        Observation::new("velero-prod", ts("2026-11-22T03:01:00Z"), Outcome::Success)
            .with_schedule("daily"),
    ];
    let r = evaluate(&m, &obs, now);
    assert_eq!(status(&r, "velero-prod", "weekly"), Status::Missing);
    // an unlabeled backup inside the weekly's window does
    let obs = [Observation::new(
        "velero-prod",
        ts("2026-11-22T03:01:00Z"),
        Outcome::Success,
    )];
    let r = evaluate(&m, &obs, now);
    assert_eq!(status(&r, "velero-prod", "weekly"), Status::Ok);
}

#[test]
fn missing_splits_into_never_ran_and_all_expired() {
    let m = Matrix::homelab().unwrap();
    let now = ts("2026-11-27T09:00:00Z");
    // velero-prod daily (ttl 168h) last ran on Nov 19: expired on Nov 26
    let obs = [
        Observation::new("velero-prod", ts("2026-11-18T02:01:00Z"), Outcome::Success)
            .with_schedule("daily"),
        Observation::new("velero-prod", ts("2026-11-19T02:01:00Z"), Outcome::Success)
            .with_schedule("daily"),
    ];
    let r = evaluate(&m, &obs, now);
    let d = report(&r, "velero-prod", "daily");
    assert_eq!(d.status, Status::Missing, "{d:?}");
    assert_eq!(d.missing, Some(Missing::AllExpired));
    assert!(d.detail.contains("all expired"), "{}", d.detail);
    assert_eq!(
        report(&r, "velero-agentic", "daily").missing,
        Some(Missing::NeverRan)
    );
    // a backup that has not expired yet is late, not missing
    let obs = [
        Observation::new("velero-prod", ts("2026-11-21T02:01:00Z"), Outcome::Success)
            .with_schedule("daily"),
    ];
    let r = evaluate(&m, &obs, now);
    assert_eq!(status(&r, "velero-prod", "daily"), Status::Late);
    assert_eq!(report(&r, "velero-prod", "daily").missing, None);
}

#[test]
fn retention_drift_is_reported() {
    let m = Matrix::homelab().unwrap();
    let now = ts("2026-11-27T09:00:00Z");
    // 40 days of iac-daily snapshots: pruning is not running (expected 15)
    let obs = healthy(&m, now);
    let r = evaluate(&m, &obs, now);
    let iac = report(&r, "iac-daily", "daily");
    let drift = iac.retention_drift.expect("drift");
    assert_eq!(drift.expected, 15);
    assert!(drift.delta() > 20, "{drift:?}");
    assert!(drift.to_string().starts_with("retention-drift:"), "{drift}");
    // exactly the steady state: no drift
    let keep = iac.expected_retained.unwrap();
    let mut recent: Vec<Observation> = obs
        .iter()
        .filter(|o| o.target == "pbs-iac")
        .cloned()
        .collect();
    recent.sort_by_key(|o| std::cmp::Reverse(o.time));
    recent.truncate(report(&r, "pbs-iac", "weekly").expected_retained.unwrap());
    let r2 = evaluate(&m, &recent, now);
    assert_eq!(report(&r2, "pbs-iac", "weekly").retention_drift, None);
    assert!(keep > 1);
    // fewer than expected: drift the other way
    let r3 = evaluate(&m, &recent[..1], now);
    assert_eq!(
        report(&r3, "pbs-iac", "weekly")
            .retention_drift
            .map(|d| d.delta()),
        Some(1 - 4)
    );
}
