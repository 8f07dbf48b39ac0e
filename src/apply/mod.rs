//! Applying typed records inside the file's transaction: a chunk of invoices and credit notes
//! at a time (decided by `invoicing`), payments and instructions (`payments`, `instructions`),
//! the daily steps (`steps`), and the running interest `case show` prints. The SQL lives in
//! `store`.

pub mod payments;
pub mod instructions;
pub mod steps;

use chrono::NaiveDate;

use crate::config::Config;
use crate::ingest::validate::invoice::InvoiceRecord;
use crate::ledger::daily::{OpenInvoice, interest_parts};
use crate::ledger::invoicing;
use crate::store::{StoreError, Tx};

/// What became of one record (defined in `ledger`, beside the decisions), named here for the
/// pipeline and the appliers.
pub use crate::ledger::RecordOutcome;

/// Everything applying needs besides the records.
#[derive(Debug, Clone, Copy)]
pub struct ApplyContext<'a> {
    pub config: &'a Config,
    /// The business date the file is processed as of: events are dated with it.
    pub business_date: NaiveDate,
    /// The inbound file's row; `None` for the daily steps, which no file caused.
    pub file_id: Option<i64>,
}

impl ApplyContext<'_> {
    /// The file a record came from; records always come from one.
    pub fn file(&self) -> Result<i64, StoreError> {
        self.file_id
            .ok_or_else(|| StoreError::Invariant("a record applied without its file".to_owned()))
    }
}

/// Applies a chunk of invoice and credit note rows in file order; one outcome per record.
/// Load → decide → write: what the records touch is read in a few set-based statements
/// (`Tx::invoice_chunk_state`), the decisions are made over those values by
/// `invoicing::decide` with no store in sight, and the changes are written in bulk
/// (`Tx::write_invoice_changes`). The caller applies a file's invoices before its credit notes
/// (two passes), so a credit note may reduce an invoice further down the file.
pub fn apply_invoice_chunk(
    tx: &Tx<'_>,
    ctx: ApplyContext<'_>,
    records: &[InvoiceRecord],
) -> Result<Vec<RecordOutcome>, StoreError> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let file_id = ctx.file()?;
    let state = tx.invoice_chunk_state(file_id, records)?;
    // A decision error is a defect (an agency prefix the configuration let through, a rule
    // table that cannot answer): the error rolls the file's transaction back.
    let changes = invoicing::decide(ctx.config, ctx.business_date, records, state)
        .map_err(|e| StoreError::Invariant(e.to_string()))?;
    tx.write_invoice_changes(ctx.business_date, file_id, &changes)?;
    Ok(changes.outcomes)
}

/// The interest not yet posted on each invoice of a case with principal open, up to and
/// including `to`, rounded per invoice: (invoice id, invoice number, minor units). Reads only;
/// computed by `daily::interest_parts`, as the steps, settlement and instructions post it.
pub fn interest_due(
    tx: &Tx<'_>,
    config: &Config,
    case_id: i64,
    to: NaiveDate,
) -> Result<Vec<(i64, String, i64)>, StoreError> {
    let case = tx.case_row(case_id)?;
    let Some(creditor) = config.creditor(&case.creditor_id) else {
        return Ok(Vec::new());
    };
    let open: Vec<OpenInvoice> = tx
        .interest_basis(case_id)?
        .into_iter()
        .map(|basis| OpenInvoice {
            id: basis.invoice_id,
            invoice_no: basis.invoice_no,
            due_date: basis.due_date,
            interest_through: basis.interest_through,
            principal_open_minor: basis.principal_open_minor,
        })
        .collect();
    let parts = interest_parts(&config.rules, creditor.country, case.debtor_type, &open, to)
        .map_err(|e| StoreError::Invariant(format!("interest for case {}: {e}", case.case_no)))?;
    Ok(parts
        .into_iter()
        .map(|(invoice, minor)| (invoice.id, invoice.invoice_no.clone(), minor))
        .collect())
}
