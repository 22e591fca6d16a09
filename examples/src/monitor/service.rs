//! The monitor behind `backup-audit serve`: runs check cycles and keeps the last result.
//!
//! One cycle runs at a time (a mutex), so a flood of on-demand requests cannot multiply the
//! load on the backup systems: a request that waited while a full check ran is answered by that
//! check. Within a cycle at most `limit` systems are queried at once, each under its own
//! timeout, so a hanging system marks only its own rows unreachable (as `check` does).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use backup_policy::matrix::Matrix;
use jiff::Timestamp;

use crate::audit::{self, Audit, GarageState, SystemResult};
use crate::clients;
use crate::config::Config;
use crate::monitor::health::{Health, health};
use crate::monitor::keep::KeepClient;
use crate::monitor::metrics::{self, SystemTiming};

/// What a check covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every system.
    All,
    /// The systems holding this target's backups (a Velero context, the PBS, one restic plan).
    Target(String),
}

/// The last result.
#[derive(Debug, Default)]
struct Snapshot {
    audit: Option<Audit>,
    results: Vec<SystemResult>,
    garage: GarageState,
    systems: BTreeMap<String, SystemTiming>,
    last_error: Option<String>,
    /// When the last full check finished (for coalescing on-demand requests).
    full_done: Option<Instant>,
}

/// Settings of a monitor.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Per-system query timeout.
    pub timeout: Duration,
    /// Systems queried at once.
    pub limit: usize,
}

/// The monitor: config, matrix, the last result, and the Keep client.
#[derive(Debug)]
pub struct Monitor {
    config: Config,
    matrix: Matrix,
    settings: Settings,
    snapshot: RwLock<Snapshot>,
    cycle: tokio::sync::Mutex<Option<KeepClient>>,
}

impl Monitor {
    /// A monitor that has not checked anything yet.
    pub fn new(
        config: Config,
        matrix: Matrix,
        settings: Settings,
        keep: Option<KeepClient>,
    ) -> Arc<Self> {
        Arc::new(Self {
            config,
            matrix,
            settings,
            snapshot: RwLock::new(Snapshot::default()),
            cycle: tokio::sync::Mutex::new(keep),
        })
    }

    /// Whether the matrix has this target.
    pub fn knows(&self, target: &str) -> bool {
        self.matrix.target.iter().any(|t| t.name == target)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Snapshot> {
        // A panic while holding the lock cannot leave a half-written snapshot (it is replaced
        // field by field from finished values), so a poisoned lock is still readable.
        self.snapshot
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Snapshot> {
        self.snapshot
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The `/health` answer for every row or one target's rows.
    pub fn health(&self, target: Option<&str>) -> Health {
        let s = self.read();
        health(s.audit.as_ref(), s.last_error.as_deref(), target)
    }

    /// The `/metrics` body.
    pub fn metrics(&self) -> String {
        let s = self.read();
        metrics::render(s.audit.as_ref(), &s.systems)
    }

    /// The targets sharing a system query with `target` (from the last full check).
    fn systems_of(&self, target: &str) -> Option<Vec<String>> {
        let s = self.read();
        s.full_done?;
        let mut names: Vec<String> = s
            .results
            .iter()
            .filter(|r| r.targets.iter().any(|t| t == target))
            .flat_map(|r| r.targets.iter().cloned())
            .collect();
        names.sort();
        names.dedup();
        Some(names)
    }

    /// Runs one check of `scope` (waiting for a running one first) and returns the overall
    /// health afterwards. A request that waited while a full check ran gets that check's
    /// result instead of starting another.
    pub async fn check(&self, scope: Scope) -> Health {
        let asked = Instant::now();
        let mut keep = self.cycle.lock().await;
        if self.read().full_done.is_some_and(|done| done > asked) {
            return self.health(None);
        }
        let scope = match scope {
            Scope::Target(t) => match self.systems_of(&t) {
                Some(targets) => Scoped::Targets(targets),
                None => Scoped::All, // no full result to merge into yet
            },
            Scope::All => Scoped::All,
        };
        self.run(&scope).await;
        if let Some(client) = keep.as_mut() {
            let audit = self.read().audit.clone();
            if let Some(audit) = audit {
                match client.notify(&audit).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!("sent {n} Keep alert(s)"),
                    Err(e) => {
                        tracing::warn!("Keep alert not delivered (retried next cycle): {e:#}")
                    }
                }
            }
        }
        self.health(None)
    }

    async fn run(&self, scope: &Scoped) {
        let started = Instant::now();
        let secrets = match clients::resolve_secrets(&self.config).await {
            Ok(s) => s,
            Err(e) => {
                let msg = format!("resolving secrets: {e:#}");
                tracing::warn!("check not run: {msg}");
                self.write().last_error = Some(msg);
                return;
            }
        };
        let matrix = match scope {
            Scoped::All => self.matrix.clone(),
            Scoped::Targets(names) => {
                let mut m = self.matrix.clone();
                m.target.retain(|t| names.contains(&t.name));
                m
            }
        };
        let (results, garage) = audit::gather_bounded(
            &self.config,
            &secrets,
            &matrix,
            self.settings.timeout,
            self.settings.limit,
        )
        .await;
        let finished = Timestamp::now();
        let mut s = self.write();
        for r in &results {
            s.systems.insert(
                r.system.clone(),
                SystemTiming {
                    last_check_seconds: finished.as_millisecond() as f64 / 1000.0,
                    duration_seconds: r.elapsed_ms as f64 / 1000.0,
                    up: r.observations.is_ok(),
                },
            );
        }
        match scope {
            Scoped::All => {
                s.systems
                    .retain(|name, _| results.iter().any(|r| &r.system == name));
                s.results = results;
                s.garage = garage;
            }
            Scoped::Targets(_) => {
                for r in results {
                    match s.results.iter_mut().find(|old| old.system == r.system) {
                        Some(old) => *old = r,
                        None => s.results.push(r),
                    }
                }
            }
        }
        let audit = audit::assemble(&self.matrix, s.results.clone(), s.garage.clone(), finished);
        let failing = audit.rows.iter().filter(|r| r.status.is_failing()).count();
        tracing::info!(
            "check done in {} ms: {} row(s), {failing} failing",
            started.elapsed().as_millis(),
            audit.rows.len()
        );
        s.audit = Some(audit);
        s.last_error = None;
        if matches!(scope, Scoped::All) {
            s.full_done = Some(Instant::now());
        }
    }
}

/// A resolved scope: everything, or these targets.
#[derive(Debug)]
enum Scoped {
    All,
    Targets(Vec<String>),
}
