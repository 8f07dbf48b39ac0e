//! The running service, where kravflyt meets the operating system: claiming files from the
//! inboxes (`intake`), the one-file transaction and the engine behind `process`, `check` and
//! `run` (`pipeline`), the daemon loop (`daemon`), the systemd watchdog, metrics and the
//! health endpoints (`watchdog`, `metrics`, `http`), and what `status` gathers.

pub mod intake;
pub mod pipeline;
pub mod daemon;
pub mod watchdog;
pub mod metrics;
pub mod http;
pub mod status;
pub mod store_copy;
