//! The integration tests: one binary, modules per area (ripgrep's layout).

mod cli;
mod crash;
mod intake;
mod scenarios;
mod support;
mod tidy;
