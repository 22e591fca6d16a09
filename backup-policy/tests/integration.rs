//! Integration tests of backup-policy (one binary, several modules).

mod integration {
    mod compliance;
    mod pbs_vectors;
    mod proptests;
    mod restic_diff;
    mod restic_engine;
    mod schedules;
}
