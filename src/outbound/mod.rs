//! What goes back to the senders and the agency: receipts (`receipt`), status, letters and
//! reconciliation files (`files`, `reconciliation`, `daily_report`), the outbox that writes
//! committed rows to files atomically and exactly once (`outbox`), and what the CLI prints
//! about cases (`report`).

pub mod receipt;
pub mod files;
pub mod reconciliation;
pub mod daily_report;
pub mod outbox;
pub mod report;
