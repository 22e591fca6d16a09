use std::time::Duration;

use pbs_client::testing::{FakePbs, FakePbsConfig};

/// A fake with short delays so tests stay fast. Tasks run 1 s: long enough that a test can
/// still see them running on a loaded machine, short enough to wait for.
pub fn fast_config() -> FakePbsConfig {
    FakePbsConfig::default()
        .with_auth_failure_delay(Duration::from_millis(300))
        .with_task_duration(Duration::from_secs(1))
}

pub async fn fake() -> FakePbs {
    FakePbs::start_with(fast_config())
        .await
        .expect("fake PBS starts")
}
