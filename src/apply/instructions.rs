//! Applying the lifecycle's instructions (SPEC §6.2, §6.4): disputes and the creditor's reply,
//! pause and resume, withdraw, write-off, legal. The decision is `lifecycle::instruct`'s; this
//! module records it: state, postings and events.

use chrono::NaiveDate;

use crate::apply::{ApplyContext, accrue_interest, close_credited};
use crate::domain::{CaseState, CloseReason, Component, EventKind};
use crate::ledger::allocation::allocate;
use crate::ledger::lifecycle::{Change, Clock, Command, Transition, Trigger, transition};
use crate::money::format_minor;
use crate::store::{NewEvent, StoreError, Tx};

/// Applies an instruction's command to a case: `Err` holds the reason it does not fit (nothing
/// changed), `Ok` the event detail recorded.
pub fn apply_command(
    tx: &Tx<'_>,
    ctx: ApplyContext<'_>,
    case_id: i64,
    command: Command,
    reason: Option<&str>,
) -> Result<Result<(), String>, StoreError> {
    let case = tx.case_row(case_id)?;
    let Some(creditor) = ctx.config.creditor(&case.creditor_id) else {
        return Ok(Err("the case's creditor is no longer configured".to_owned()));
    };
    let today = ctx.business_date;
    let days = ctx
        .config
        .rules
        .days(creditor.country, today)
        .map_err(|e| StoreError::Invariant(format!("rules: {e}")))?;
    let hold = tx.holds(case_id)?;
    let clock = match tx.step_case(case_id)? {
        Some(c) => Clock {
            state: c.state,
            first_step: c.first_step,
            deadline: c.deadline,
            oldest_due: c.oldest_open_due,
            notice_sent: c.notice_sent,
            collection_since: c.collection_since,
            heavy_fee_charged: c.heavy_fee_charged,
        },
        None => {
            return Ok(Err(
                "the case is closed; an instruction cannot change it".to_owned()
            ));
        }
    };
    let change = match transition(
        &clock,
        &hold.holds,
        Trigger::Instruction(command),
        today,
        &days,
    ) {
        Ok(Some(Transition::Change(change))) => change,
        Ok(Some(Transition::Step(_)) | None) => {
            return Err(StoreError::Invariant(
                "an instruction always changes or is refused".to_owned(),
            ));
        }
        Err(why) => return Ok(Err(why)),
    };
    let note = reason.map(|r| format!(" ({r})")).unwrap_or_default();
    let event = |kind: EventKind, state: CaseState, amount: Option<i64>, detail: String| {
        tx.insert_event(&NewEvent {
            case_id,
            date: today,
            kind,
            invoice_id: None,
            amount_minor: amount,
            state,
            detail: &detail,
            file_id: ctx.file_id,
        })
    };
    match change {
        Change::Dispute {
            amount_minor,
            reply_deadline,
        } => {
            tx.start_dispute(case_id, amount_minor, reply_deadline)?;
            let state = if amount_minor.is_none() {
                CaseState::Disputed
            } else {
                case.state
            };
            let what = amount_minor.map_or("the whole claim".to_owned(), |a| {
                format!("{} of the claim", format_minor(a, '.'))
            });
            event(
                EventKind::Disputed,
                state,
                amount_minor,
                format!(
                    "the debtor disputes {what}; the creditor must reply by {reply_deadline}{note}"
                ),
            )?;
        }
        Change::Maintain { state, deadline } => {
            let full = case.state == CaseState::Disputed;
            // A partial dispute never stopped the steps: only the hold ends; a full one
            // goes on from its step with a fresh deadline.
            tx.end_dispute(case_id, full.then_some(state), deadline)?;
            let (after, detail) = match (full, deadline) {
                (true, Some(d)) => (
                    state,
                    format!("maintain: the creditor maintains the claim; new deadline {d}{note}"),
                ),
                (true, None) => (
                    state,
                    format!("maintain: the creditor maintains the claim{note}"),
                ),
                (false, _) => (
                    case.state,
                    format!("maintain: the creditor maintains the disputed part{note}"),
                ),
            };
            event(EventKind::DisputeReply, after, None, detail)?;
        }
        Change::Accept { amount_minor } => {
            let full = case.state == CaseState::Disputed;
            let before = hold
                .holds
                .state_before_hold
                .unwrap_or(CaseState::Registered);
            tx.end_dispute(case_id, full.then_some(before), hold.deadline)?;
            accrue_interest(tx, ctx, case_id, today)?;
            let principal = tx.case_balance(case_id)?.principal;
            let credit = amount_minor.unwrap_or(principal).min(principal);
            let event_id = event(
                EventKind::DisputeReply,
                if full { before } else { case.state },
                Some(-credit),
                format!(
                    "accept: the creditor accepts the dispute; {} credited{note}",
                    format_minor(credit, '.')
                ),
            )?;
            // The credit reduces the principal, oldest invoice first.
            let items: Vec<_> = tx
                .open_items(case_id)?
                .into_iter()
                .filter(|i| i.component == Component::Principal)
                .collect();
            for (index, amount) in allocate(credit, &items, &[Component::Principal]).parts {
                tx.insert_posting(
                    case_id,
                    items[index].invoice_id,
                    today,
                    Component::Principal,
                    -amount,
                    event_id,
                )?;
            }
            if tx.case_balance(case_id)?.principal == 0 {
                close_credited(tx, ctx, case_id)?;
            }
        }
        Change::ToLegal => {
            if hold.holds.dispute_open {
                tx.end_dispute(case_id, None, None)?;
            }
            tx.set_state(case_id, CaseState::Legal)?;
            event(
                EventKind::Legal,
                CaseState::Legal,
                None,
                format!("the case goes to legal proceedings{note}"),
            )?;
        }
        Change::Close(close_reason) => {
            if hold.holds.dispute_open {
                tx.end_dispute(case_id, None, None)?;
            }
            if close_reason == CloseReason::WrittenOff {
                write_off(tx, ctx, case_id, today, &note)?;
            }
            close(tx, ctx, case_id, close_reason, &note)?;
        }
        Change::Pause { until } => {
            tx.start_pause(case_id, today, until)?;
            let detail = match until {
                Some(u) => format!("paused until {u}{note}"),
                None => format!("paused until resumed{note}"),
            };
            event(EventKind::Paused, CaseState::Paused, None, detail)?;
        }
        Change::Resume { state, shift_days } => {
            resume(tx, ctx, case_id, state, shift_days, &note)?;
        }
    }
    Ok(Ok(()))
}

/// Writes off everything open on a case (the reconciliation's `write_off`).
fn write_off(
    tx: &Tx<'_>,
    ctx: ApplyContext<'_>,
    case_id: i64,
    today: NaiveDate,
    note: &str,
) -> Result<(), StoreError> {
    accrue_interest(tx, ctx, case_id, today)?;
    let items = tx.open_items(case_id)?;
    let total: i64 = items.iter().map(|i| i.open_minor).sum();
    let state = tx.case_row(case_id)?.state;
    let event_id = tx.insert_event(&NewEvent {
        case_id,
        date: today,
        kind: EventKind::WrittenOff,
        invoice_id: None,
        amount_minor: Some(-total),
        state,
        detail: &format!("{} written off{note}", format_minor(total, '.')),
        file_id: ctx.file_id,
    })?;
    for item in items {
        tx.insert_posting(
            case_id,
            item.invoice_id,
            today,
            item.component,
            -item.open_minor,
            event_id,
        )?;
    }
    Ok(())
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
