//! Settings of the fake PBS.

use std::time::Duration;

use jiff::tz::TimeZone;

/// Settings of a [`FakePbs`](super::FakePbs).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FakePbsConfig {
    /// Ticket lifetime (PBS: 2 h).
    pub ticket_lifetime: Duration,
    /// Delay before a 401 answer (PBS: 3 s after the request started).
    pub auth_failure_delay: Duration,
    /// Delay before a 403 answer (PBS: 0.5 s).
    pub permission_failure_delay: Duration,
    /// How long each task runs before it stops.
    pub task_duration: Duration,
    /// The server's local time zone (prune periods).
    pub time_zone: TimeZone,
    /// Add unknown fields to every answer, as newer PBS versions would.
    pub extra_fields: bool,
    /// Seed the default datastores, snapshots and jobs.
    pub seed: bool,
    /// Present this DER certificate (e.g. another fake's, see [`FakePbs::certificate_der`](super::FakePbs::certificate_der))
    /// while signing the handshake with this fake's own key: an attacker replaying a public
    /// certificate it has no key for. Pinning clients must refuse it.
    pub impersonate: Option<Vec<u8>>,
    /// Answer `GET /admin/datastore/{store}/gc` with the job status (`store`, schedule, last
    /// run) like PBS 3.2.2 and later; `false` answers the bare statistics like older servers
    /// [proxmox/proxmox-backup fe1d34d2 "api: garbage collect job status"].
    pub gc_job_status: bool,
    /// Offer only TLS 1.2 (as a PBS behind an older reverse proxy may): the handshake
    /// signature then covers the ServerKeyExchange instead of TLS 1.3's CertificateVerify.
    pub tls12_only: bool,
}

impl Default for FakePbsConfig {
    fn default() -> Self {
        FakePbsConfig {
            ticket_lifetime: Duration::from_secs(7200),
            auth_failure_delay: Duration::from_secs(3),
            permission_failure_delay: Duration::from_millis(500),
            task_duration: Duration::from_millis(300),
            time_zone: TimeZone::UTC,
            extra_fields: true,
            seed: true,
            impersonate: None,
            gc_job_status: true,
            tls12_only: false,
        }
    }
}

impl FakePbsConfig {
    /// Ticket lifetime.
    pub fn with_ticket_lifetime(mut self, d: Duration) -> Self {
        self.ticket_lifetime = d;
        self
    }
    /// Delay of 401 answers.
    pub fn with_auth_failure_delay(mut self, d: Duration) -> Self {
        self.auth_failure_delay = d;
        self
    }
    /// Task run time.
    pub fn with_task_duration(mut self, d: Duration) -> Self {
        self.task_duration = d;
        self
    }
    /// Server time zone.
    pub fn with_time_zone(mut self, tz: TimeZone) -> Self {
        self.time_zone = tz;
        self
    }
    /// Whether to add unknown fields.
    pub fn with_extra_fields(mut self, on: bool) -> Self {
        self.extra_fields = on;
        self
    }
    /// Present another server's certificate without its key (see [`FakePbsConfig::impersonate`]).
    pub fn with_impersonate(mut self, der: Vec<u8>) -> Self {
        self.impersonate = Some(der);
        self
    }
    /// Whether `GET …/gc` answers the job status (PBS ≥ 3.2.2) or the bare statistics.
    pub fn with_gc_job_status(mut self, on: bool) -> Self {
        self.gc_job_status = on;
        self
    }
    /// Offer only TLS 1.2 (see [`FakePbsConfig::tls12_only`]).
    pub fn with_tls12_only(mut self) -> Self {
        self.tls12_only = true;
        self
    }
    /// Whether to seed data.
    pub fn with_seed(mut self, on: bool) -> Self {
        self.seed = on;
        self
    }
}
