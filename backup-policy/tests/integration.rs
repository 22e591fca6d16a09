//! Integration tests of backup-policy (one binary, several modules).

// The differential tests run the real restic: they read its path from the environment and
// give it the clock (the library itself may do neither; see backup-policy/clippy.toml).
#![allow(clippy::disallowed_methods)]

mod integration {
    mod compliance;
    mod grammar_fuzz;
    mod pbs_vectors;
    mod proptests;
    mod restic_diff;
    mod restic_engine;
    mod schedules;
    mod velero_cron;
}
