//! Applying payments and the desk's `assign_payment` inside the file's transaction
//! (SPEC §6.1): match, settle interest, allocate in the country's order, close `paid`; keep
//! what does not match with its reason and try it again when new invoices arrive; undo a
//! reversed payment exactly.
//!
//! The decisions are `settlement`'s, pure; here a chunk's keys are gathered, and what they
//! touch is loaded, decided over and written back in bulk (`Tx::load_settlement`,
//! `settlement::decide`, `Tx::write_settlement`). An instructions file's lifecycle actions are
//! applied in runs the same way (`instructions::apply_lifecycle_chunk`); an `assign_payment`
//! between them goes through the settlement on its own.

use crate::apply::instructions::apply_lifecycle_chunk;
use crate::apply::{ApplyContext, RecordOutcome};
use crate::config::Sender;
use crate::diagnostic::{Diagnostic, code};
use crate::domain::Action;
use crate::ingest::validate::instruction::InstructionRecord;
use crate::ingest::validate::payment::PaymentRecord;
use crate::ledger::instructing::case_key;
use crate::ledger::settlement::{self, Settle, SettleKeys};
use crate::store::{StoreError, Tx};

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

/// Applies a chunk of payment rows from `sender` in file order; one outcome per record: loads
/// the cases and earlier payments the chunk touches, decides every row over them
/// ([`settlement::decide`]), and writes the changes in bulk.
pub fn apply_payment_chunk(
    tx: &Tx<'_>,
    ctx: ApplyContext<'_>,
    sender: &Sender,
    records: &[PaymentRecord],
) -> Result<Vec<RecordOutcome>, StoreError> {
    // Every payment row is written with its file.
    ctx.file()?;
    let mut keys = SettleKeys::default();
    for record in records {
        keys.add(&sender.id, record);
    }
    let work: Vec<Settle<'_>> = records
        .iter()
        .map(|record| Settle::Received { sender, record })
        .collect();
    settle(tx, ctx, &keys, &work)
}

/// Loads what `keys` touch, decides `work` in order and writes the result.
fn settle(
    tx: &Tx<'_>,
    ctx: ApplyContext<'_>,
    keys: &SettleKeys,
    work: &[Settle<'_>],
) -> Result<Vec<RecordOutcome>, StoreError> {
    let mut set = tx.load_settlement(keys)?;
    let settlement = settlement::decide(ctx.config, ctx.business_date, &mut set, work)
        .map_err(|e| StoreError::Invariant(e.to_string()))?;
    tx.write_settlement(&settlement, ctx.file_id)?;
    Ok(settlement.outcomes)
}

/// Applies a chunk of instruction rows from `sender` in file order; one outcome per record.
///
/// The chunk is cut at each `assign_payment`: the lifecycle actions before it are loaded,
/// decided and written as one run (`apply_lifecycle_chunk`), then the assignment settles its
/// payment, then the next run is loaded — so every instruction sees what the earlier ones in
/// the file did, whichever path they took.
pub fn apply_instruction_chunk(
    tx: &Tx<'_>,
    ctx: ApplyContext<'_>,
    sender: &Sender,
    records: &[InstructionRecord],
) -> Result<Vec<RecordOutcome>, StoreError> {
    let mut outcomes = Vec::with_capacity(records.len());
    for run in records.split_inclusive(|r| r.action == Action::AssignPayment) {
        let (assignment, lifecycle) = match run.split_last() {
            Some((last, before)) if last.action == Action::AssignPayment => (Some(last), before),
            _ => (None, run),
        };
        outcomes.extend(apply_lifecycle_chunk(tx, ctx, sender, lifecycle)?);
        if let Some(record) = assignment {
            outcomes.push(apply_assignment(tx, ctx, sender, record)?);
        }
    }
    Ok(outcomes)
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
    // A chunk at a time, like a payments file: the working set stays bounded, and each chunk
    // is written before the next one is loaded.
    let mut matched = 0;
    for chunk in payments.chunks(RETRY_CHUNK) {
        let mut keys = SettleKeys::default();
        let work: Vec<Settle<'_>> = chunk
            .iter()
            .filter_map(|payment| {
                let sender = ctx.config.sender(&payment.sender)?;
                keys.add_match_keys(&payment.record);
                Some(Settle::Waiting {
                    payment: payment.id,
                    sender,
                    record: &payment.record,
                })
            })
            .collect();
        matched += settle(tx, ctx, &keys, &work)?
            .iter()
            .filter(|outcome| **outcome == RecordOutcome::Applied)
            .count() as u64;
    }
    Ok(matched)
}

/// How many waiting payments are tried again at a time (as many as a payments file's chunk).
const RETRY_CHUNK: usize = 4096;

/// Applies one `assign_payment` row.
fn apply_assignment(
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
    if !matches!(sender.acts_for, crate::config::ActsFor::AllCreditors) {
        return Ok(reject_here(
            "action",
            code::ACTION_NOT_ALLOWED,
            "only the agency's own channels (acting for every creditor, like the desk) may assign payments".to_owned(),
        ));
    }
    let Some(case_id) = tx.find_case_id(&case_key(record))? else {
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
    let outcome = assign_payment(tx, ctx, record, &case, &reject_here)?;
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
    let keys = SettleKeys {
        case_ids: [case_id].into(),
        ..SettleKeys::default()
    };
    settle(
        tx,
        ctx,
        &keys,
        &[Settle::Assigned {
            payment: payment.id,
            record: &payment.record,
            case_id,
        }],
    )?;
    Ok(Ok(()))
}
