//! Applying the lifecycle's instructions (SPEC §6.2, §6.4): disputes and the creditor's reply,
//! pause and resume, withdraw, write-off, legal — a chunk at a time, decided by
//! `instructing` — and the daily run's part of the holds: unanswered disputes and pauses that
//! have ended.

use crate::apply::{ApplyContext, RecordOutcome};
use crate::config::Sender;
use crate::domain::{CaseState, CloseReason, EventKind};
use crate::ingest::validate::instruction::InstructionRecord;
use crate::ledger::instructing::{self, InstructionKeys};
use crate::store::{NewEvent, StoreError, Tx};

/// Applies a run of lifecycle instructions (no `assign_payment`) from `sender` in file order;
/// one outcome per record. Load → decide → write: the cases the run names and its instruction
/// ids already received are read in a few set-based statements (`Tx::load_instructions`),
/// `instructing::decide` decides every record over them with no store in sight, and the
/// changes are written in bulk (`Tx::write_instructions`).
pub fn apply_lifecycle_chunk(
    tx: &Tx<'_>,
    ctx: ApplyContext<'_>,
    sender: &Sender,
    records: &[InstructionRecord],
) -> Result<Vec<RecordOutcome>, StoreError> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let file_id = ctx.file()?;
    let mut keys = InstructionKeys::default();
    for record in records {
        keys.add(record);
    }
    let mut set = tx.load_instructions(&sender.id, &keys)?;
    // A decision error is a defect (a rule table that cannot answer, a case not loaded): the
    // error rolls the file's transaction back.
    let instructed = instructing::decide(ctx.config, ctx.business_date, &mut set, records)
        .map_err(|e| StoreError::Invariant(e.to_string()))?;
    tx.write_instructions(&instructed, &sender.id, file_id)?;
    Ok(instructed.outcomes)
}

fn close(
    tx: &Tx<'_>,
    ctx: ApplyContext<'_>,
    case_id: i64,
    reason: CloseReason,
    note: &str,
) -> Result<(), StoreError> {
    tx.close_case(case_id, reason, ctx.business_date)?;
    tx.insert_event(&NewEvent {
        case_id,
        date: ctx.business_date,
        kind: EventKind::Closed,
        invoice_id: None,
        amount_minor: None,
        state: CaseState::Closed,
        detail: &format!("{reason}{note}"),
        file_id: ctx.file_id,
    })?;
    Ok(())
}

fn resume(
    tx: &Tx<'_>,
    ctx: ApplyContext<'_>,
    case_id: i64,
    state: CaseState,
    shift_days: i64,
    note: &str,
) -> Result<(), StoreError> {
    tx.end_pause(case_id, state, shift_days)?;
    tx.insert_event(&NewEvent {
        case_id,
        date: ctx.business_date,
        kind: EventKind::Resumed,
        invoice_id: None,
        amount_minor: None,
        state,
        detail: &format!("resumed; deadlines moved by {shift_days} paused day(s){note}"),
        file_id: ctx.file_id,
    })?;
    Ok(())
}

/// The daily run's part: a dispute the creditor did not answer in time closes the case
/// `no_reply`; a pause that has reached its end resumes by itself.
pub fn holds_due(tx: &Tx<'_>, ctx: ApplyContext<'_>) -> Result<(), StoreError> {
    let (unanswered, pauses_ended) = tx.holds_due(ctx.business_date)?;
    for case_id in unanswered {
        tx.end_dispute(case_id, None, None)?;
        close(
            tx,
            ctx,
            case_id,
            CloseReason::NoReply,
            " (the creditor did not answer the dispute in time)",
        )?;
    }
    for case_id in pauses_ended {
        let hold = tx.holds(case_id)?;
        let state = hold
            .holds
            .state_before_hold
            .unwrap_or(CaseState::Registered);
        let shift = hold
            .holds
            .paused_since
            .map_or(0, |since| (ctx.business_date - since).num_days().max(0));
        resume(tx, ctx, case_id, state, shift, " (the pause ended)")?;
    }
    Ok(())
}
