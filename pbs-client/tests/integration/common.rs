use std::time::Duration;

use pbs_client::testing::{FakePbs, FakePbsConfig};

/// A fake with short delays so tests stay fast.
pub fn fast_config() -> FakePbsConfig {
    FakePbsConfig::default()
        .with_auth_failure_delay(Duration::from_millis(300))
        .with_task_duration(Duration::from_millis(200))
}

pub async fn fake() -> FakePbs {
    FakePbs::start_with(fast_config())
        .await
        .expect("fake PBS starts")
}
