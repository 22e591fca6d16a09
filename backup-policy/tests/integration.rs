//! Integration tests of backup-policy (one binary, several modules).

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
