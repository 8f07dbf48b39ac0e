//! kravflyt: Nordic invoice follow-up and debt collection, from inbox to outbox.
//!
//! Modules are declared in pipeline order (see `ARCHITECTURE.md`):
//! configuration and workspace, then the pure core that turns bytes into typed records
//! (detect → decode → parse → validate), then apply (cases, events, outbound rows),
//! then the store and the edges that touch the operating system (intake, outbox, daemon).

// Vocabulary shared by every stage.
pub mod domain;
pub mod identifiers;
pub mod money;
pub mod reference;

// Configuration and the folder layout.
pub mod config;
pub mod workspace;

// The pure core: bytes → typed records + diagnostics.
pub mod analysis;
pub mod decode;
pub mod detect;
pub mod diagnostic;
pub mod parse;
pub mod validate;

// Applying records: cases and events, inside the file's transaction.
pub mod apply;
pub mod receipt;

// State and the edges.
pub mod daemon;
pub mod intake;
pub mod outbox;
pub mod pipeline;
pub mod report;
pub mod store;
