//! kravflyt: Nordic invoice follow-up and debt collection, from inbox to outbox.
//!
//! Modules are declared in pipeline order (see `ARCHITECTURE.md`; `rustfmt.toml` keeps
//! rustfmt from sorting them): the shared vocabulary, configuration and workspace, then the
//! pure core that turns bytes into typed records (detect → decode → parse → validate →
//! analysis), then applying them (cases, events, receipts), then the store and the edges that
//! touch the operating system (intake, outbox, pipeline, daemon) and what the CLI prints.

// Vocabulary shared by every stage.
pub mod domain;
pub mod money;
pub mod reference;
pub mod identifiers;

// Configuration, the legal rule tables and the folder layout.
pub mod config;
pub mod rules;
pub mod workspace;

// The pure core: bytes → typed records + diagnostics.
pub mod diagnostic;
pub mod detect;
pub mod decode;
pub mod parse;
pub mod validate;
pub mod analysis;

// Applying records: cases and events, inside the file's transaction; the receipt that answers.
pub mod interest;
pub mod lifecycle;
pub mod matching;
pub mod settlement;
pub mod allocation;
pub mod apply;
pub mod invoicing;
pub mod payments;
pub mod instructions;
pub mod daily;
pub mod steps;
pub mod receipt;
pub mod outbound;
pub mod reconciliation;
pub mod daily_report;

// State and the edges.
pub mod faults;
pub mod store;
pub mod intake;
pub mod outbox;
pub mod pipeline;
pub mod watchdog;
pub mod metrics;
pub mod http;
pub mod daemon;
pub mod report;
pub mod status;
