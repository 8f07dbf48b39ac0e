//! The ledger's rules as plain functions over values, with no database in sight: which case a
//! payment belongs to (`matching`), how it is split (`allocation`), which lifecycle changes fit
//! a case (`lifecycle`), what the daily steps do to a page of open cases (`daily`), what a
//! chunk of invoices and credit notes does (`invoicing`), a chunk of payments (`settlement`)
//! and a chunk of the lifecycle's instructions (`instructing`). The `apply` layer loads their
//! inputs from the store and writes their outputs back.

pub mod lifecycle;
pub mod matching;
pub mod allocation;
pub mod daily;
pub mod invoicing;
pub mod settlement;
pub mod instructing;

use crate::diagnostic::Diagnostic;

/// What became of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutcome {
    Applied,
    /// Seen before with the same content: nothing to do (SPEC §5.4).
    Unchanged,
    Rejected(Diagnostic),
}
