//! The homelab's backup matrix, schedules, retention engines and compliance — as a pure library:
//! no I/O, no async, the clock is always passed in.
//!
//! * [`matrix`]: the backup matrix as TOML ([`Matrix::from_toml`], the seed embedded as
//!   [`Matrix::homelab`]); errors carry line and column.
//! * [`schedule`]: each tool's own grammar on its own clock — Velero's robfig/cron
//!   ([`cron::robfig`]), Backrest's cronexpr ([`cron::cronexpr`]) and Proxmox calendar events
//!   ([`calendar`]) — across DST changes; [`duration`]: Go's `time.ParseDuration`.
//! * [`restic`]: `restic forget`, bit-exact with restic's `ApplyPolicy` in two semantics
//!   (current and 0.14/0.15); [`pbs`]: PBS prune; [`velero`]: TTL expiry; [`backrest`]: Backrest's
//!   retention mapped onto restic.
//! * [`compliance`]: [`Observation`]s from any tool → [`evaluate`] → per-schedule [`Status`].
//! * [`lint`](mod@lint): findings about the matrix itself; [`reach`]: how far back each retention reaches.
//! * [`contention`]: runs with their (observed or assumed) durations, job queues, and the true
//!   peak of runs per device; [`dr`]: DR rows checked against devices; [`rpo`]: worst-case data
//!   loss per system and overlapping restic buckets.
//!
//! # Example
//!
//! ```
//! use backup_policy::{evaluate, lint, Matrix, Observation, Outcome, Status};
//!
//! let matrix = Matrix::homelab()?;                       // the embedded seed matrix
//! let now = "2026-11-27T09:00:00Z".parse()?;
//! let tz = matrix.tz();
//! let prod = matrix.target("velero-prod").unwrap();
//! let daily = &prod.schedule[0];
//! let next = daily.schedule().unwrap().next_after(now, &tz).unwrap();
//! assert_eq!(next.to_string(), "2026-11-28T02:00:00Z");
//!
//! let obs = [Observation::new("velero-prod", "2026-11-27T02:00:07Z".parse()?, Outcome::Success)
//!     .with_schedule("daily")
//!     .with_id("prod-daily-20261127020007")];
//! let report = evaluate(&matrix, &obs, now);
//! assert_eq!(report[0].status, Status::Ok);
//! assert!(!lint(&matrix, now).is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Matrix format
//!
//! A TOML document; unknown keys are errors. Top level:
//!
//! | key | meaning |
//! |---|---|
//! | `title` | optional report title |
//! | `timezone` | the display zone (IANA, `Europe/London`): the plan and reports show times in it |
//! | `[zones]` | the zone each tool's scheduler runs in: `velero` (default `UTC`), `restic` (the Backrest process; default: the display zone), `pbs` (the Proxmox hosts; default: the display zone) |
//! | `grace` | how long after a scheduled run a backup may still arrive (default `2h`) |
//! | `[[storage]]` | `name`, `kind` (free text), `device` (physical disk — runs on one device compete), `address`, `datastore`, `offsite` (bool), `note` |
//! | `[[target]]` | `name` (unique), `system` (the protected system; several tools may protect one), `kind` = `k8s-cluster`/`vm`/`lxc`/`host`, `id` (VMID/CTID), `host`, `node` (the PVE node the guest lives on), `tool` = `velero`/`restic`/`pbs`, `kube_context`, `paths`, `storage`, `bucket`, `critical`, `enabled` (default true), `disabled_reason`, `purpose`, `timezone` (this target's scheduler zone) |
//! | `[[target.schedule]]` | `name`, `cron` (Velero: robfig/cron's standard grammar; restic: Backrest's cronexpr) or `calendar` (PBS: a Proxmox calendar event), `retention`, `duration` (expected run time; default 30m, PBS 60m), `job`, `timezone` (this schedule's zone) |
//! | `retention` | Velero: `ttl`, a Go duration (`168h`, `720h0m0s`, `1.5h`; no `d`; `0` = Velero's default 720h); restic: `keep_last`/`keep_hourly`/`keep_daily`/`keep_weekly`/`keep_monthly`/`keep_yearly` (−1 = unlimited), `keep_within` (`1y2m3d4h`); PBS: `keep_last`…`keep_yearly` |
//! | `[[exclusion]]` | `what`, `ids`, `reason` — deliberately not backed up |
//! | `[[dr]]` | `scenario`, `method`, `rto` (`30m`; absent = TBD), `tools`, `todo` |
//!
//! Fields read by the lints:
//!
//! * `[[dr]]` `protects` (storages, targets, systems or devices that fail in the scenario) and
//!   `sources` (storages the recovery restores from): a source on the same device as what it
//!   protects is a finding; targets no scenario protects are listed (a row without `protects`
//!   covers its `tools`' targets).
//! * `[[target]]` `device`: the device the protected system itself lives on (default: the device
//!   of the storage whose `address` is the target's `host`).
//! * `[[target.schedule]]` `job`: schedules of one tool with the same `job` firing together are
//!   guests of one job (a PVE backup job) and run one after another as vzdump runs them: per
//!   `node` (nodes run their shares in parallel), in ascending VMID (`id`) order, guests without
//!   an `id` last (proxmox/pve-manager `PVE/VZDump.pm`, `exec_backup`). `duration`
//!   is an estimate; without it the tool's default is used and labelled as an assumption.
//! * `retention` fields a tool cannot express are refused at load time with their line and
//!   column: `keep_*` on Velero; `ttl`, `keep_within` or a negative count on PBS; `ttl`,
//!   `keep_within` or `-1` on restic targets (they run as Backrest plans, which have neither).
//!
//! ```toml
//! timezone = "Europe/London"
//!
//! [zones]
//! velero = "UTC"
//! restic = "Europe/London"
//!
//! [[storage]]
//! name = "garage"
//! kind = "garage-s3"
//! device = "truenas-hdd"
//!
//! [[target]]
//! name = "iac-daily"
//! system = "iac-lxc"
//! kind = "lxc"
//! id = 100
//! tool = "restic"
//! paths = ["/home", "/root", "/etc"]
//! storage = "garage"
//!
//!   [[target.schedule]]
//!   name = "daily"
//!   cron = "0 3 * * *"
//!   retention = { keep_daily = 14, keep_weekly = 4 }
//! ```
//!
//! **Which clock a schedule runs on.** Each schedule is evaluated in the zone of the scheduler
//! that runs it, most specific first: a zone in the expression (Velero's `CRON_TZ=…`/`TZ=…`
//! prefix, a calendar event's `UTC` suffix), the schedule's `timezone`, the target's `timezone`,
//! the tool's entry in `[zones]`, the tool's default (Velero `UTC`; Backrest and PBS the display
//! zone). So Velero's `0 2 * * *` runs at 02:00 UTC — 03:00 in London in summer — unless the
//! matrix says otherwise. `timezone` only decides how times are shown: the plan shows every run
//! in it and names each schedule whose own zone differs, with its next run on both clocks
//! (`velero-prod/daily runs in UTC ([zones]): 02:00 UTC = 03:00 BST`).
//!
//! The whole seed is `matrix/homelab.toml` in this crate ([`matrix::HOMELAB_TOML`]).
//!
//! # Crate features
//!
//! None: the crate is pure (no I/O, no tokio, no clock read inside; `clippy.toml` forbids
//! `Timestamp::now` here), so every caller passes "now" and the same inputs give the same plan.

mod applicable;
pub mod backrest;
pub mod calendar;
pub mod compliance;
pub mod contention;
pub mod cron;
pub mod dr;
pub mod duration;
pub mod error;
pub mod lint;
pub mod matrix;
pub mod pbs;
pub mod reach;
pub mod restic;
pub mod rpo;
pub mod schedule;
pub mod velero;

pub use compliance::{
    Missing, Observation, Outcome, RetentionDrift, ScheduleReport, Status, evaluate,
};
pub use error::{Error, Result};
pub use lint::{Finding, LintKind, Severity, lint};
pub use matrix::Matrix;
pub use schedule::Schedule;

/// The README's example is compiled as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
