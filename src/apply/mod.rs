//! Applying typed records inside the file's transaction: invoices open or join cases, credit
//! notes reduce them. Decisions live here; the SQL lives in `store`.

pub mod payments;
pub mod instructions;
pub mod steps;

use chrono::{Datelike, NaiveDate};

use crate::config::{Config, Creditor};
use crate::diagnostic::{Diagnostic, code};
use crate::domain::{
    CaseState, CloseReason, Component, Country, DocumentType, EventKind, HandoverStep,
};
use crate::ingest::validate::invoice::InvoiceRecord;
use crate::money::format_minor;
use crate::reference::{self, Scheme};
use crate::store::{CaseRow, NewCase, NewEvent, NewInvoice, StoreError, Tx};

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

/// What became of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutcome {
    Applied,
    /// Seen before with the same content: nothing to do (SPEC §5.4).
    Unchanged,
    Rejected(Diagnostic),
}

/// Applies a chunk of invoice and credit note rows in file order; one outcome per record.
pub fn apply_invoice_chunk(
    tx: &Tx<'_>,
    ctx: ApplyContext<'_>,
    records: &[InvoiceRecord],
) -> Result<Vec<RecordOutcome>, StoreError> {
    records
        .iter()
        .map(|record| apply_invoice_row(tx, ctx, record))
        .collect()
}

/// Applies one invoice or credit note row. The caller applies a file's invoices before its
/// credit notes (two passes), so a credit note may reduce an invoice further down the file.
pub fn apply_invoice_row(
    tx: &Tx<'_>,
    ctx: ApplyContext<'_>,
    record: &InvoiceRecord,
) -> Result<RecordOutcome, StoreError> {
    match record.document_type {
        DocumentType::Invoice => apply_invoice(tx, ctx, record),
        DocumentType::CreditNote => apply_credit_note(tx, ctx, record),
    }
}

fn reject(
    record: &InvoiceRecord,
    field: &str,
    code: &'static str,
    message: String,
) -> RecordOutcome {
    RecordOutcome::Rejected(
        Diagnostic::at(record.position.clone(), code, message)
            .with_field(field)
            .with_key(Some(&record.invoice_no)),
    )
}

/// The same invoice number again: a no-op when nothing changed, a conflict otherwise.
fn seen_before(tx: &Tx<'_>, record: &InvoiceRecord) -> Result<Option<RecordOutcome>, StoreError> {
    let Some(existing) = tx.find_invoice(&record.creditor_id, &record.invoice_no)? else {
        return Ok(None);
    };
    if existing.fingerprint == record.fingerprint() {
        return Ok(Some(RecordOutcome::Unchanged));
    }
    Ok(Some(reject(
        record,
        "invoice_no",
        code::CONFLICT,
        format!(
            "{} {} was already delivered with different content ({}); a delivered invoice is not changed by sending it again: send a credit note, or ask the agency desk",
            record.document_type.as_str().replace('_', " "),
            record.invoice_no,
            existing.origin
        ),
    )))
}

fn apply_invoice(
    tx: &Tx<'_>,
    ctx: ApplyContext<'_>,
    record: &InvoiceRecord,
) -> Result<RecordOutcome, StoreError> {
    if let Some(outcome) = seen_before(tx, record)? {
        return Ok(outcome);
    }
    let Some(creditor) = ctx.config.creditor(&record.creditor_id) else {
        // Validation only lets through creditors of the configuration.
        return Ok(reject(
            record,
            "creditor_id",
            code::UNKNOWN_CREDITOR,
            format!(
                "creditor `{}` is not a creditor of the agency",
                record.creditor_id
            ),
        ));
    };
    let debtor_id = tx.upsert_debtor(record)?;
    let joined = tx.joinable_case(&record.creditor_id, debtor_id, &record.currency)?;
    let (case_id, case_no, state, opened) = match joined {
        Some(case) => (case.id, case.case_no, case.state, false),
        None => {
            let number = tx.next_case_number()?;
            let case_no = case_number(ctx.business_date, number);
            let reference = agency_reference(&ctx.config.agency.reference_prefix, creditor, number)
                .map_err(|e| {
                    // The prefix is checked when the configuration loads, so this is a defect;
                    // the error rolls the file's transaction back.
                    StoreError::Invariant(format!("cannot make an agency reference: {e}"))
                })?;
            // The creditor sent its own collection notice: the case starts at the demand.
            let first_step = if record.notice_sent_date.is_some() {
                HandoverStep::Demand
            } else {
                creditor.handover
            };
            tx.insert_case(
                number,
                &NewCase {
                    case_no: &case_no,
                    reference: &reference,
                    creditor_id: &creditor.id,
                    debtor_id,
                    currency: &record.currency,
                    first_step,
                    opened_on: ctx.business_date,
                },
            )?;
            (number, case_no, CaseState::Registered, true)
        }
    };
    let invoice_id = tx.insert_invoice(&NewInvoice {
        record,
        case_id,
        credited_invoice_id: None,
        file_id: ctx.file()?,
    })?;
    let principal = record.amount_minor - record.paid_minor;
    let mut detail = format!("invoice {} due {}", record.invoice_no, record.due_date);
    if record.paid_minor > 0 {
        detail.push_str(&format!(
            "; {} paid before hand-over",
            format_minor(record.paid_minor, '.')
        ));
    }
    if record.reminder_fee_minor > 0 {
        detail.push_str(&format!(
            "; creditor's reminder fee {}",
            format_minor(record.reminder_fee_minor, '.')
        ));
    }
    if opened {
        detail.push_str(&format!("; case {case_no} opened"));
    }
    let event_id = tx.insert_event(&NewEvent {
        case_id,
        date: ctx.business_date,
        kind: if opened {
            EventKind::Registered
        } else {
            EventKind::InvoiceAdded
        },
        invoice_id: Some(invoice_id),
        amount_minor: Some(principal),
        state,
        detail: &detail,
        file_id: ctx.file_id,
    })?;
    tx.insert_posting(
        case_id,
        Some(invoice_id),
        ctx.business_date,
        Component::Principal,
        principal,
        event_id,
    )?;
    if record.reminder_fee_minor > 0 {
        tx.insert_posting(
            case_id,
            Some(invoice_id),
            ctx.business_date,
            Component::Fee,
            record.reminder_fee_minor,
            event_id,
        )?;
    }
    Ok(RecordOutcome::Applied)
}

fn apply_credit_note(
    tx: &Tx<'_>,
    ctx: ApplyContext<'_>,
    record: &InvoiceRecord,
) -> Result<RecordOutcome, StoreError> {
    if let Some(outcome) = seen_before(tx, record)? {
        return Ok(outcome);
    }
    let credited_no = record.credited_invoice_no.as_deref().unwrap_or_default();
    let Some(credited) = tx.find_invoice(&record.creditor_id, credited_no)? else {
        return Ok(reject(
            record,
            "credited_invoice_no",
            code::UNKNOWN_INVOICE,
            format!(
                "credit note {} reduces invoice {credited_no}, which was never handed over; send the invoice first, or correct credited_invoice_no",
                record.invoice_no
            ),
        ));
    };
    if credited.document_type != DocumentType::Invoice {
        return Ok(reject(
            record,
            "credited_invoice_no",
            code::BAD_VALUE,
            format!("{credited_no} is itself a credit note; a credit note reduces an invoice"),
        ));
    }
    if credited.customer_no != record.customer_no {
        return Ok(reject(
            record,
            "customer_no",
            code::CONFLICT,
            format!(
                "credit note {} is for customer {}, but invoice {credited_no} is for customer {}",
                record.invoice_no, record.customer_no, credited.customer_no
            ),
        ));
    }
    if credited.currency != record.currency {
        return Ok(reject(
            record,
            "currency",
            code::BAD_CURRENCY,
            format!(
                "credit note {} is in {} but invoice {credited_no} is in {}",
                record.invoice_no, record.currency, credited.currency
            ),
        ));
    }
    let case = tx.case_row(credited.case_id)?;
    if case.state == CaseState::Closed {
        return Ok(reject(
            record,
            "credited_invoice_no",
            code::CASE_CLOSED,
            format!(
                "invoice {credited_no} belongs to case {}, which is closed; a credit after closing is settled between creditor and debtor",
                case.case_no
            ),
        ));
    }
    let open = tx.invoice_principal_open(credited.id)?;
    if record.amount_minor > open {
        return Ok(reject(
            record,
            "amount",
            code::CREDIT_EXCEEDS_OPEN,
            format!(
                "credit note {} of {} is more than the {} still open on invoice {credited_no}; credit at most the open amount and refund the rest to the debtor directly",
                record.invoice_no,
                format_minor(record.amount_minor, '.'),
                format_minor(open, '.')
            ),
        ));
    }
    // Interest up to the credit note's date is owed on the principal as it was.
    if case.state != CaseState::Closed {
        accrue_interest(tx, ctx, case.id, record.issue_date)?;
    }
    let credit_id = tx.insert_invoice(&NewInvoice {
        record,
        case_id: case.id,
        credited_invoice_id: Some(credited.id),
        file_id: ctx.file()?,
    })?;
    let detail = format!(
        "credit note {} reduces invoice {credited_no}",
        record.invoice_no
    );
    let event_id = tx.insert_event(&NewEvent {
        case_id: case.id,
        date: ctx.business_date,
        kind: EventKind::Credited,
        invoice_id: Some(credit_id),
        amount_minor: Some(-record.amount_minor),
        state: case.state,
        detail: &detail,
        file_id: ctx.file_id,
    })?;
    tx.insert_posting(
        case.id,
        Some(credited.id),
        ctx.business_date,
        Component::Principal,
        -record.amount_minor,
        event_id,
    )?;
    let balance = tx.case_balance(case.id)?;
    if balance.principal == 0 {
        close_credited(tx, ctx, case.id)?;
    }
    Ok(RecordOutcome::Applied)
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

/// Case numbers: the year the case opened and a running number, e.g. `2026-000017`.
pub fn case_number(opened_on: NaiveDate, number: i64) -> String {
    format!("{}-{number:06}", opened_on.year())
}

/// The agency reference a debtor pays a case with, in the scheme of the creditor's country
/// (SPEC §9): the agency prefix, the case's running number, and the check digit(s).
pub fn agency_reference(
    prefix: &str,
    creditor: &Creditor,
    number: i64,
) -> Result<String, reference::ReferenceError> {
    let base = format!("{prefix}{number:07}");
    match creditor.country {
        Country::No => reference::generate(Scheme::KidMod10, &base),
        Country::Se => reference::generate_se_ocr_with_length_digit(&base),
        Country::Fi => reference::generate(Scheme::FiRef, &base),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creditor(country: Country) -> Creditor {
        Creditor {
            id: "x".into(),
            name: "x".into(),
            country,
            currency: country.home_currency().into(),
            other_currencies: vec![],
            reference_scheme: Scheme::KidMod10,
            reference_lengths: vec![],
            handover: HandoverStep::Notice,
        }
    }

    #[test]
    fn agency_references_follow_the_country_scheme() {
        let no = agency_reference("70", &creditor(Country::No), 17).unwrap();
        assert!(no.starts_with("700000017"));
        assert_eq!(reference::validate(Scheme::KidMod10, &no), Ok(()));
        let se = agency_reference("70", &creditor(Country::Se), 17).unwrap();
        assert_eq!(reference::validate_se_ocr_with_length_digit(&se), Ok(()));
        let fi = agency_reference("70", &creditor(Country::Fi), 17).unwrap();
        assert_eq!(reference::validate(Scheme::FiRef, &fi), Ok(()));
    }

    #[test]
    fn case_numbers_carry_the_year() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert_eq!(case_number(date, 17), "2026-000017");
    }
}
