//! The integration tests: one binary, modules per area (ripgrep's layout).

mod backup;
mod cli;
mod crash;
mod daily_report;
mod docs;
mod faults;
mod fuzz_regressions;
mod hostile;
mod intake;
mod monitoring;
mod nodes;
mod privacy;
mod public_files;
mod reconciliation;
mod rematch;
mod reference_vectors;
mod scenarios;
mod schemas;
mod self_contained;
mod postgres_store;
mod sftp;
mod support;
mod tenants;
mod tidy;
mod uploads;
