//! kravflyt: Nordic invoice follow-up and debt collection, from inbox to outbox.
//!
//! The folders follow the data's path (see `ARCHITECTURE.md`), and each may use only the ones
//! before it in this list (`tests/it/layout.rs` checks that): the shared vocabulary at the
//! root, then `config` (settings and the legal rule tables), `ingest` (bytes → checked
//! records), `ledger` (the decisions, pure), `store` (SQL), `apply` (load, decide, write inside
//! a transaction), `outbound` (receipts, status, letters and reconciliation files, the outbox)
//! and `service` (intake, the file transaction, the daemon, metrics). `rustfmt.toml` keeps
//! rustfmt from sorting the declarations.

// Vocabulary shared by every stage: it uses nothing else of the crate.
pub mod domain;
pub mod money;
pub mod reference;
pub mod identifiers;
pub mod columns;
pub mod diagnostic;
pub mod faults;
pub mod workspace;

// Configuration and the dated legal rule tables.
pub mod config;

// Bytes → typed, checked records and file-level diagnostics; pure.
pub mod ingest;

// The rules as plain functions over values: matching, allocation, lifecycle, the daily steps.
pub mod ledger;

// The database: the only place that speaks SQL.
pub mod store;

// Records and the daily run applied inside a transaction: load, decide (ledger), write (store).
pub mod apply;

// What goes back: receipts, status, letters and reconciliation files, the outbox that writes
// them, and what the CLI prints.
pub mod outbound;

// The running service: intake, the one-file transaction, the daemon loop, health and metrics.
pub mod service;
