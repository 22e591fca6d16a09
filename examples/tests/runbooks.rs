//! The runbook binaries run as a user would (`CARGO_BIN_EXE_*`), against a real Garage with
//! real restic repositories on it, the fake kube-apiserver (Velero), the fake PBS and the fake
//! Infisical. Config files are written to temp dirs; secrets come from `{ file = … }` sources.
//!
//! * `restic.rs` — one real Garage: `restore-drill` (pass, verification failure, RTO
//!   exceeded), `restic-ops` (snapshots, forget preview vs backup-policy, backup and restore with
//!   the progress bar in tmux and silent when piped), `garage-ops` (health, buckets, keys).
//! * `garage_uploads.rs` — `garage-ops uploads` lists, flags and cleans an upload left behind.
//! * `fakes.rs` — `velero-ops`, `pbs-ops` and `secrets` against the fakes.

#[path = "runbooks/bed.rs"]
mod bed;
#[path = "runbooks/fakes.rs"]
mod fakes;
#[path = "runbooks/garage_uploads.rs"]
mod garage_uploads;
#[path = "runbooks/restic.rs"]
mod restic;
