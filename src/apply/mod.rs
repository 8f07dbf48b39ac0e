//! Applying typed records inside the file's transaction: a chunk of invoices and credit notes
//! at a time (decided by `invoicing`), and the interest and closing that payments and
//! instructions share. The SQL lives in `store`.

pub mod payments;
pub mod instructions;
pub mod steps;

use chrono::NaiveDate;

use crate::config::Config;
use crate::domain::{CaseState, CloseReason, Component, EventKind};
use crate::ingest::validate::invoice::InvoiceRecord;
use crate::ledger::invoicing;
use crate::money::format_minor;
use crate::store::{CaseRow, NewEvent, StoreError, Tx};

/// What became of one record; decided in `invoicing`, named here by payments and instructions.
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

/// Nothing of the claims is left: unpaid fees, costs and interest are written off and the case
/// closes `credited` (SPEC §6.2).
pub fn close_credited(tx: &Tx<'_>, ctx: ApplyContext<'_>, case_id: i64) -> Result<(), StoreError> {
    // Written off item by item (per invoice and component), as they were charged: a payment
    // that arrives later finds nothing open on any invoice and is overpaid whole.
    let charges: Vec<_> = tx
        .open_items(case_id)?
        .into_iter()
        .filter(|item| item.component != Component::Principal)
        .collect();
    let written_off: i64 = charges.iter().map(|item| item.open_minor).sum();
    if written_off != 0 {
        let event_id = tx.insert_event(&NewEvent {
            case_id,
            date: ctx.business_date,
            kind: EventKind::FeesWrittenOff,
            invoice_id: None,
            amount_minor: Some(-written_off),
            state: CaseState::Closed,
            detail: "the claims were credited in full; unpaid fees, costs and interest are written off",
            file_id: ctx.file_id,
        })?;
        for item in &charges {
            tx.insert_posting(
                case_id,
                item.invoice_id,
                ctx.business_date,
                item.component,
                -item.open_minor,
                event_id,
            )?;
        }
    }
    tx.close_case(case_id, CloseReason::Credited, ctx.business_date)?;
    tx.insert_event(&NewEvent {
        case_id,
        date: ctx.business_date,
        kind: EventKind::Closed,
        invoice_id: None,
        amount_minor: None,
        state: CaseState::Closed,
        detail: CloseReason::Credited.as_str(),
        file_id: ctx.file_id,
    })?;
    Ok(())
}

/// Posts the late-payment interest of a case up to and including `to`: per invoice, on its
/// open principal, from the day after its due date (or after the date interest was last
/// posted to), at the rates of the creditor's country in force each day, rounded to minor
/// units only now. Called before anything changes the principal (a payment, a credit note),
/// so the principal is constant over every stretch computed. Returns the amount posted.
pub fn accrue_interest(
    tx: &Tx<'_>,
    ctx: ApplyContext<'_>,
    case_id: i64,
    to: NaiveDate,
) -> Result<i64, StoreError> {
    accrue_interest_on(tx, ctx, &tx.case_row(case_id)?, to)
}

/// [`accrue_interest`] for a case whose row the caller has already read (a payment has).
pub fn accrue_interest_on(
    tx: &Tx<'_>,
    ctx: ApplyContext<'_>,
    case: &CaseRow,
    to: NaiveDate,
) -> Result<i64, StoreError> {
    let case_id = case.id;
    let postings = interest_due_on(tx, ctx.config, case, to)?;
    for (invoice_id, _, _) in &postings {
        tx.set_interest_through(*invoice_id, to)?;
    }
    let postings: Vec<_> = postings.into_iter().filter(|(_, _, m)| *m > 0).collect();
    let total: i64 = postings.iter().map(|(_, _, m)| m).sum();
    if total == 0 {
        return Ok(0);
    }
    let invoices: Vec<String> = postings
        .iter()
        .map(|(_, no, m)| format!("{no} {}", format_minor(*m, '.')))
        .collect();
    let detail = format!("late-payment interest up to {to}: {}", invoices.join(", "));
    let event_id = tx.insert_event(&NewEvent {
        case_id,
        date: ctx.business_date,
        kind: EventKind::Interest,
        invoice_id: None,
        amount_minor: Some(total),
        state: case.state,
        detail: &detail,
        file_id: ctx.file_id,
    })?;
    for (invoice_id, _, minor) in postings {
        tx.insert_posting(
            case_id,
            Some(invoice_id),
            ctx.business_date,
            Component::Interest,
            minor,
            event_id,
        )?;
    }
    Ok(total)
}

/// The interest not yet posted on each invoice of a case with principal open, up to and
/// including `to`, rounded per invoice: (invoice id, invoice number, minor units). Reads only.
pub fn interest_due(
    tx: &Tx<'_>,
    config: &Config,
    case_id: i64,
    to: NaiveDate,
) -> Result<Vec<(i64, String, i64)>, StoreError> {
    interest_due_on(tx, config, &tx.case_row(case_id)?, to)
}

/// [`interest_due`] for a case whose row the caller has already read.
pub fn interest_due_on(
    tx: &Tx<'_>,
    config: &Config,
    case: &CaseRow,
    to: NaiveDate,
) -> Result<Vec<(i64, String, i64)>, StoreError> {
    let case_id = case.id;
    let Some(creditor) = config.creditor(&case.creditor_id) else {
        return Ok(Vec::new());
    };
    let rules = &config.rules;
    let mut due = Vec::new();
    for basis in tx.interest_basis(case_id)? {
        // The tables start on a date; no interest is invented for days before it.
        let from = basis.interest_through.unwrap_or(basis.due_date).max(
            rules
                .covers_from()
                .pred_opt()
                .unwrap_or(rules.covers_from()),
        );
        if to <= from {
            continue;
        }
        let accrued = rules
            .interest_on_balance(
                creditor.country,
                case.debtor_type,
                &[(from, basis.principal_open_minor)],
                from,
                to,
            )
            .map_err(|e| {
                StoreError::Invariant(format!("interest for case {}: {e}", case.case_no))
            })?;
        due.push((
            basis.invoice_id,
            basis.invoice_no,
            crate::config::interest::round_to_minor(accrued),
        ));
    }
    Ok(due)
}
