//! Shared glue for the runbook binaries in `src/bin/`: config loading and output helpers.
