//! The cron grammars of the tools, each re-implemented from its upstream source so that an
//! expression means here exactly what it means to the tool that runs it:
//!
//! * [`robfig`]: Velero's `spec.schedule` (robfig/cron v3 `ParseStandard`);
//! * [`cronexpr`]: Backrest's plan schedules (gitploy-io/cronexpr).
//!
//! Both evaluate with Go's clock arithmetic (`gotime`), which decides what happens around
//! daylight-saving changes.

pub mod cronexpr;
pub(crate) mod gotime;
pub mod robfig;
