//! Applying payments and the desk's `assign_payment` inside the file's transaction
//! (SPEC §6.1): match, settle interest, allocate in the country's order, close `paid`; keep
//! what does not match with its reason and try it again when new invoices arrive; undo a
//! reversed payment exactly.

use crate::apply::instructions::apply_command;
use crate::apply::{ApplyContext, RecordOutcome, accrue_interest_on};
use crate::config::Sender;
use crate::diagnostic::{Diagnostic, code};
use crate::domain::{Action, CaseState, CloseReason, Country, EventKind, PaymentKind};
use crate::ingest::validate::instruction::{InstructionRecord, Target};
use crate::ingest::validate::payment::PaymentRecord;
use crate::ledger::allocation::allocate;
use crate::ledger::lifecycle::Command;
use crate::ledger::matching::{Candidate, MatchedBy, match_payment};
use crate::money::format_minor;
use crate::store::{AllocationRow, NewEvent, StoreError, Tx};

fn reject(
    position: &crate::diagnostic::Position,
    key: &str,
    field: &str,
    code: &'static str,
    message: String,
) -> RecordOutcome {
    RecordOutcome::Rejected(
        Diagnostic::at(position.clone(), code, message)
            .with_field(field)
            .with_key(Some(key)),
    )
}

/// Applies a chunk of payment rows from `sender` in file order; one outcome per record.
pub fn apply_payment_chunk(
    tx: &Tx<'_>,
    ctx: ApplyContext<'_>,
    sender: &Sender,
    records: &[PaymentRecord],
) -> Result<Vec<RecordOutcome>, StoreError> {
    records
        .iter()
        .map(|record| apply_payment(tx, ctx, sender, record))
        .collect()
}

/// Applies a chunk of instruction rows from `sender` in file order; one outcome per record.
pub fn apply_instruction_chunk(
    tx: &Tx<'_>,
    ctx: ApplyContext<'_>,
    sender: &Sender,
    records: &[InstructionRecord],
) -> Result<Vec<RecordOutcome>, StoreError> {
    records
        .iter()
        .map(|record| apply_instruction(tx, ctx, sender, record))
        .collect()
}

/// Applies one payment row from `sender`.
pub fn apply_payment(
    tx: &Tx<'_>,
    ctx: ApplyContext<'_>,
    sender: &Sender,
    record: &PaymentRecord,
) -> Result<RecordOutcome, StoreError> {
    let fingerprint = record.fingerprint();
    if let Some(existing) = tx.find_payment(&sender.id, &record.payment_id)? {
        if existing.fingerprint == fingerprint {
            return Ok(RecordOutcome::Unchanged);
        }
        return Ok(reject(
            &record.position,
            &record.payment_id,
            "payment_id",
            code::CONFLICT,
            format!(
                "payment {} was already received with other content; a payment id is used once: correct it with a reversal, or ask the agency desk",
                record.payment_id
            ),
        ));
    }
    if record.amount_minor < 0 {
        return reverse(tx, ctx, sender, record, &fingerprint);
    }
    let row = tx.insert_payment(&sender.id, record, &fingerprint, None, ctx.file()?)?;
    match match_payment(record, sender, tx)? {
        Ok((case, by)) => settle_on_case(tx, ctx, row, record, &case, by)?,
        Err(reason) => tx.set_payment_unmatched(row, reason)?,
    }
    Ok(RecordOutcome::Applied)
}

/// Allocates a matched payment over its case, records the allocation as postings and closes
/// the case `paid` when nothing is left open.
fn settle_on_case(
    tx: &Tx<'_>,
    ctx: ApplyContext<'_>,
    payment_row: i64,
    record: &PaymentRecord,
    case: &Candidate,
    by: MatchedBy,
) -> Result<(), StoreError> {
    tx.set_payment_case(payment_row, case.case_id, by, ctx.business_date)?;
    let row = tx.case_row(case.case_id)?;
    // Interest is settled up to the payment date first (SPEC §6.1.4).
    if row.state != CaseState::Closed {
        accrue_interest_on(tx, ctx, &row, record.payment_date)?;
    }
    let country = ctx
        .config
        .creditor(&case.creditor_id)
        .map_or(Country::No, |c| c.country);
    let order = ctx
        .config
        .rules
        // A payment from before the tables start is settled in their first order.
        .allocation_order(
            country,
            row.debtor_type,
            record.payment_date.max(ctx.config.rules.covers_from()),
        )
        .map_err(|e| StoreError::Invariant(format!("allocation order: {e}")))?;
    let items = tx.open_items(case.case_id)?;
    let allocation = allocate(record.amount_minor, &items, &order);
    let mut detail = format!(
        "payment {} of {} paid {} matched by {}",
        record.payment_id,
        format_minor(record.amount_minor, '.'),
        record.payment_date,
        by.as_str()
    );
    if allocation.overpaid_minor > 0 {
        detail.push_str(&format!(
            "; {} overpaid, to be refunded",
            format_minor(allocation.overpaid_minor, '.')
        ));
    }
    let event_id = tx.insert_event(&NewEvent {
        case_id: case.case_id,
        date: ctx.business_date,
        kind: EventKind::Payment,
        invoice_id: None,
        amount_minor: Some(record.amount_minor),
        state: row.state,
        detail: &detail,
        file_id: ctx.file_id,
    })?;
    for (index, amount) in &allocation.parts {
        let item = &items[*index];
        tx.insert_allocation(
            payment_row,
            &AllocationRow {
                case_id: Some(case.case_id),
                invoice_id: item.invoice_id,
                component: Some(item.component),
                amount_minor: *amount,
            },
        )?;
        tx.insert_posting(
            case.case_id,
            item.invoice_id,
            ctx.business_date,
            item.component,
            -amount,
            event_id,
        )?;
    }
    if allocation.overpaid_minor > 0 {
        tx.insert_allocation(
            payment_row,
            &AllocationRow {
                case_id: Some(case.case_id),
                invoice_id: None,
                component: None,
                amount_minor: allocation.overpaid_minor,
            },
        )?;
    }
    if row.state != CaseState::Closed && tx.case_balance(case.case_id)?.total() == 0 {
        tx.close_case(case.case_id, CloseReason::Paid, ctx.business_date)?;
        tx.insert_event(&NewEvent {
            case_id: case.case_id,
            date: ctx.business_date,
            kind: EventKind::Closed,
            invoice_id: None,
            amount_minor: None,
            state: CaseState::Closed,
            detail: CloseReason::Paid.as_str(),
            file_id: ctx.file_id,
        })?;
    }
    Ok(())
}

/// A negative payment: undoes exactly the allocation of the payment it reverses, and reopens
/// a case that payment had closed.
fn reverse(
    tx: &Tx<'_>,
    ctx: ApplyContext<'_>,
    sender: &Sender,
    record: &PaymentRecord,
    fingerprint: &str,
) -> Result<RecordOutcome, StoreError> {
    let original = match (&record.reverses, &record.reference) {
        (Some(id), _) => tx.find_payment(&sender.id, id)?,
        // A bank's own correction names no payment: the latest one with the same reference
        // and amount is the one it corrects.
        (None, Some(reference)) if record.kind == PaymentKind::Bank => {
            tx.find_payment_to_correct(&sender.id, reference, -record.amount_minor)?
        }
        (None, _) => None,
    };
    let Some(original) = original else {
        if record.reverses.is_none() {
            // A bank's correction that undoes no payment we have (a BgMax deduction the payer
            // made, a correction of a payment from before kravflyt): the money movement is
            // real, so it is kept as an unmatched payment for the desk, not refused.
            let row = tx.insert_payment(&sender.id, record, fingerprint, None, ctx.file()?)?;
            tx.set_payment_unmatched(row, crate::domain::UnmatchedReason::UnknownReference)?;
            return Ok(RecordOutcome::Applied);
        }
        let what = record.reverses.as_deref().map_or(
            "no payment with the same reference and amount".to_owned(),
            |id| format!("payment {id}"),
        );
        return Ok(reject(
            &record.position,
            &record.payment_id,
            "reverses",
            code::UNKNOWN_PAYMENT,
            format!(
                "the reversal undoes {what}, which was never received from sender `{}`; check reverses",
                sender.id
            ),
        ));
    };
    if original.reversed_by.is_some() {
        return Ok(reject(
            &record.position,
            &record.payment_id,
            "reverses",
            code::CONFLICT,
            format!("payment {} was already reversed", original.payment_id),
        ));
    }
    if original.amount_minor != -record.amount_minor {
        return Ok(reject(
            &record.position,
            &record.payment_id,
            "amount",
            code::BAD_AMOUNT,
            format!(
                "a reversal undoes a whole payment: payment {} was {}, so the reversal must be -{}",
                original.payment_id,
                format_minor(original.amount_minor, '.'),
                format_minor(original.amount_minor, '.')
            ),
        ));
    }
    let row = tx.insert_payment(
        &sender.id,
        record,
        fingerprint,
        Some(original.id),
        ctx.file()?,
    )?;
    tx.set_payment_reversed(original.id, row)?;
    let Some(case_id) = original.case_id else {
        // The reversed payment never reached a case: nothing to undo but the money itself.
        return Ok(RecordOutcome::Applied);
    };
    tx.set_payment_case(row, case_id, MatchedBy::Reversal, ctx.business_date)?;
    let case = tx.case_row(case_id)?;
    let mut state = case.state;
    let reopen = case.state == CaseState::Closed && case.close_reason == Some(CloseReason::Paid);
    if reopen {
        state = tx.reopen_case(case_id)?;
    }
    let detail = format!(
        "payment {} reversed by {}{}",
        original.payment_id,
        record.payment_id,
        if reopen {
            "; the case is open again"
        } else {
            ""
        }
    );
    let event_id = tx.insert_event(&NewEvent {
        case_id,
        date: ctx.business_date,
        kind: EventKind::PaymentReversed,
        invoice_id: None,
        amount_minor: Some(record.amount_minor),
        state,
        detail: &detail,
        file_id: ctx.file_id,
    })?;
    for allocation in tx.allocations_of(original.id)? {
        tx.insert_allocation(
            row,
            &AllocationRow {
                amount_minor: -allocation.amount_minor,
                ..allocation.clone()
            },
        )?;
        if let Some(component) = allocation.component {
            tx.insert_posting(
                case_id,
                allocation.invoice_id,
                ctx.business_date,
                component,
                allocation.amount_minor,
                event_id,
            )?;
        }
    }
    if reopen {
        tx.insert_event(&NewEvent {
            case_id,
            date: ctx.business_date,
            kind: EventKind::Reopened,
            invoice_id: None,
            amount_minor: None,
            state,
            detail: "a payment that had settled the case was reversed",
            file_id: ctx.file_id,
        })?;
    }
    Ok(RecordOutcome::Applied)
}

/// The unmatched payments an invoice file may have made matchable, gathered while it applies.
///
/// A payment waits unmatched until a look-up of `match_payment` answers differently, and an
/// invoice file changes only the answers about its own invoices: a new invoice's reference
/// and number, the agency reference of the case it opened or joined, and — through a credit
/// note that closes a case — the references of the credited invoice. So only the payments
/// carrying one of those are tried again, from indexes over the unmatched payments: a
/// 1 000-invoice file against a million payments waiting no longer reads them all. Once the
/// file has more invoices than payments wait, trying every payment is cheaper, and the list
/// stops growing (memory stays bounded by the smaller of the two).
#[derive(Debug)]
pub struct RetryScope {
    /// Payments waiting when the file began.
    waiting: u64,
    /// (creditor, invoice number) of the invoices applied and invoices credited; `None`: try
    /// every waiting payment.
    noted: Option<Vec<(String, String)>>,
}

impl RetryScope {
    pub fn new(tx: &Tx<'_>) -> Result<Self, StoreError> {
        Ok(RetryScope {
            waiting: tx.unmatched_count()?,
            noted: Some(Vec::new()),
        })
    }

    /// For files that bring no invoices: nothing to try again.
    pub fn nothing() -> Self {
        RetryScope {
            waiting: 0,
            noted: None,
        }
    }

    /// Notes an invoice or credit note the file applied.
    pub fn note(&mut self, record: &crate::ingest::validate::invoice::InvoiceRecord) {
        if self.waiting == 0 {
            return;
        }
        let Some(noted) = &mut self.noted else {
            return;
        };
        if noted.len() as u64 >= self.waiting {
            self.noted = None;
            return;
        }
        let invoice_no = match record.document_type {
            crate::domain::DocumentType::Invoice => &record.invoice_no,
            crate::domain::DocumentType::CreditNote => {
                let Some(credited) = &record.credited_invoice_no else {
                    return;
                };
                credited
            }
        };
        noted.push((record.creditor_id.clone(), invoice_no.clone()));
    }
}

/// Tries the unmatched payments the file's invoices may have made matchable again, oldest
/// first (see [`RetryScope`]); returns how many now matched.
pub fn retry_unmatched(
    tx: &Tx<'_>,
    ctx: ApplyContext<'_>,
    scope: &RetryScope,
) -> Result<u64, StoreError> {
    if scope.waiting == 0 {
        return Ok(0);
    }
    let payments = match &scope.noted {
        None => tx.unmatched_payments()?,
        Some(noted) => {
            let mut by_id = std::collections::BTreeMap::new();
            for (creditor_id, invoice_no) in noted {
                let mut found = tx.unmatched_payments_with_invoice_no(creditor_id, invoice_no)?;
                if let Some((own, case)) = tx.invoice_references(creditor_id, invoice_no)? {
                    for reference in own.iter().chain(std::iter::once(&case)) {
                        found.extend(tx.unmatched_payments_with_reference(reference)?);
                    }
                }
                for payment in found {
                    by_id.entry(payment.id).or_insert(payment);
                }
            }
            by_id.into_values().collect()
        }
    };
    let mut matched = 0;
    for payment in payments {
        let Some(sender) = ctx.config.sender(&payment.sender) else {
            continue;
        };
        if let Ok((case, by)) = match_payment(&payment.record, sender, tx)? {
            settle_on_case(tx, ctx, payment.id, &payment.record, &case, by)?;
            matched += 1;
        }
    }
    Ok(matched)
}

/// Applies one instruction row: `assign_payment` here, the lifecycle's actions through
/// `instructions::apply_command`; one that does not fit the case's state changes nothing.
pub fn apply_instruction(
    tx: &Tx<'_>,
    ctx: ApplyContext<'_>,
    sender: &Sender,
    record: &InstructionRecord,
) -> Result<RecordOutcome, StoreError> {
    let fingerprint = record.fingerprint();
    if let Some(existing) = tx.instruction_fingerprint(&sender.id, &record.instruction_id)? {
        if existing == fingerprint {
            return Ok(RecordOutcome::Unchanged);
        }
        return Ok(reject(
            &record.position,
            &record.instruction_id,
            "instruction_id",
            code::CONFLICT,
            format!(
                "instruction {} was already received with other content; an instruction id is used once",
                record.instruction_id
            ),
        ));
    }
    let reject_here = |field: &str, code: &'static str, message: String| {
        reject(
            &record.position,
            &record.instruction_id,
            field,
            code,
            message,
        )
    };
    // Money the agency received is placed by the agency: only its own channels (acting for
    // every creditor) may assign a payment — said before anything is looked up, so the
    // answer is the same whatever case the instruction names.
    if record.action == Action::AssignPayment
        && !matches!(sender.acts_for, crate::config::ActsFor::AllCreditors)
    {
        return Ok(reject_here(
            "action",
            code::ACTION_NOT_ALLOWED,
            "only the agency's own channels (acting for every creditor, like the desk) may assign payments".to_owned(),
        ));
    }
    let case_id = match &record.target {
        Target::Case(case_no) => tx.find_case_id(case_no)?,
        Target::Invoice(invoice_no) => {
            tx.find_case_id(&format!("{}/{invoice_no}", record.creditor_id))?
        }
    };
    let Some(case_id) = case_id else {
        return Ok(reject_here(
            "case_no",
            code::UNKNOWN_INVOICE,
            "no case of this creditor has that invoice or case number".to_owned(),
        ));
    };
    let case = tx.case_row(case_id)?;
    if case.creditor_id != record.creditor_id {
        // The same message as for a case that does not exist: a sender learns nothing about
        // other creditors' cases.
        return Ok(reject_here(
            "case_no",
            code::UNKNOWN_INVOICE,
            "no case of this creditor has that invoice or case number".to_owned(),
        ));
    }
    let outcome = match (record.action, command_of(record)) {
        (Action::AssignPayment, _) => assign_payment(tx, ctx, record, &case, &reject_here)?,
        (_, Some(command)) => {
            match apply_command(tx, ctx, case_id, command, record.reason.as_deref())? {
                Ok(()) => Ok(()),
                Err(why) => Err(reject_here(
                    "action",
                    code::INVALID_STATE,
                    format!(
                        "{} does not fit case {}: {why}",
                        record.action, case.case_no
                    ),
                )),
            }
        }
        // Validation requires an outcome for a reply; say so rather than guess one.
        (_, None) => Err(reject_here(
            "outcome",
            code::MISSING_FIELD,
            "a dispute_reply needs an outcome".to_owned(),
        )),
    };
    match outcome {
        Ok(()) => {
            tx.insert_instruction(
                &sender.id,
                &record.instruction_id,
                record.action.as_str(),
                Some(case_id),
                &fingerprint,
                ctx.file()?,
            )?;
            Ok(RecordOutcome::Applied)
        }
        Err(rejection) => Ok(rejection),
    }
}

/// The lifecycle command of an instruction; `None` for `assign_payment` (not the lifecycle's)
/// and for a reply without its outcome.
fn command_of(record: &InstructionRecord) -> Option<Command> {
    match record.action {
        Action::Dispute => Some(Command::Dispute {
            amount_minor: record.amount_minor,
        }),
        Action::DisputeReply => record.outcome.map(Command::DisputeReply),
        Action::Pause => Some(Command::Pause {
            until: record.until_date,
        }),
        Action::Resume => Some(Command::Resume),
        Action::Withdraw => Some(Command::Withdraw),
        Action::WriteOff => Some(Command::WriteOff),
        Action::Legal => Some(Command::Legal),
        Action::AssignPayment => None,
    }
}

/// `assign_payment`: applies one unmatched payment to the instruction's case.
fn assign_payment(
    tx: &Tx<'_>,
    ctx: ApplyContext<'_>,
    record: &InstructionRecord,
    case: &crate::store::CaseRow,
    reject_here: &dyn Fn(&str, &'static str, String) -> RecordOutcome,
) -> Result<Result<(), RecordOutcome>, StoreError> {
    let case_id = case.id;
    let payment_id = record.payment_id.as_deref().unwrap_or_default();
    let mut candidates = tx.unmatched_payments_with_id(payment_id)?;
    let payment = match candidates.len() {
        1 => candidates.remove(0),
        0 => {
            return Ok(Err(reject_here(
                "payment_id",
                code::UNKNOWN_PAYMENT,
                format!(
                    "no unmatched payment has id {payment_id}; it may have matched a case already"
                ),
            )));
        }
        _ => {
            return Ok(Err(reject_here(
                "payment_id",
                code::CONFLICT,
                format!(
                    "more than one channel delivered an unmatched payment with id {payment_id}; the desk must tell them apart"
                ),
            )));
        }
    };
    // Money a debtor paid to one creditor directly settles only that creditor's claims.
    if let Some(paid_to) = &payment.record.creditor_id
        && *paid_to != case.creditor_id
    {
        return Ok(Err(reject_here(
            "payment_id",
            code::CREDITOR_NOT_ALLOWED,
            format!(
                "payment {payment_id} was paid directly to another creditor; it can settle only that creditor's cases"
            ),
        )));
    }
    if payment.record.currency != case.currency {
        return Ok(Err(reject_here(
            "payment_id",
            code::BAD_CURRENCY,
            format!(
                "payment {payment_id} is in {} but case {} is in {}",
                payment.record.currency, case.case_no, case.currency
            ),
        )));
    }
    let candidate = Candidate {
        case_id,
        creditor_id: case.creditor_id.clone(),
        currency: case.currency.clone(),
    };
    settle_on_case(
        tx,
        ctx,
        payment.id,
        &payment.record,
        &candidate,
        MatchedBy::Assignment,
    )?;
    Ok(Ok(()))
}
