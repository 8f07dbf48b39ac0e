//! The daily run's time-driven steps (SPEC §6.2): for an as-of date, every open case takes the
//! step the lifecycle says is due — a letter with its fee and deadline, collection with the
//! collection fee, the heavy collection fee — and limitation warnings are given. One
//! transaction for the whole run; running the same date twice changes nothing.

use chrono::NaiveDate;

use crate::apply::{ApplyContext, accrue_interest_on};
use crate::config::Config;
use crate::domain::{CaseState, Component, EventKind, HandoverStep};
use crate::lifecycle::{
    Clock, Holds, Step, Transition, Trigger, limitation_warning_due, state_after, transition,
};
use crate::money::format_minor;
use crate::rules::CollectionLevel;
use crate::store::{NewEvent, NewLetter, StepCase, Store, StoreError, Tx};

/// What a daily run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StepSummary {
    pub letters: u64,
    pub to_collection: u64,
    pub heavy_fees: u64,
    pub limitation_warnings: u64,
}

/// The `meta` key of the last inbound file recorded when the steps last ran.
pub const LAST_STEPS_FILE: &str = "last_steps_file";

/// Open cases read at a time by the daily steps: memory stays the same whatever their number.
const STEP_PAGE: u32 = 4096;

/// [`STEP_PAGE`]; debug builds take `KRAVFLYT_STEP_PAGE` instead when it is set, so tests can
/// cross page boundaries with a handful of cases. Release builds ignore it.
fn step_page() -> u32 {
    if cfg!(debug_assertions)
        && let Some(page) = std::env::var("KRAVFLYT_STEP_PAGE")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&p| p > 0)
    {
        return page;
    }
    STEP_PAGE
}

/// Runs the steps for `as_of` in one transaction.
pub fn run_daily_steps(
    store: &mut Store,
    config: &Config,
    as_of: NaiveDate,
) -> Result<StepSummary, StoreError> {
    let tx = store.write()?;
    let ctx = ApplyContext {
        config,
        business_date: as_of,
        file_id: None,
    };
    let mut summary = StepSummary::default();
    // Unanswered disputes close and ended pauses resume before the steps look at the cases.
    crate::instructions::holds_due(&tx, ctx)?;
    let mut after = 0;
    loop {
        let page = tx.step_cases_after(after, step_page())?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.id;
        for case in &page {
            step_case(&tx, ctx, case, as_of, &mut summary)?;
        }
    }
    tx.set_meta("last_steps_date", &as_of.to_string())?;
    // The files the steps saw: `process` runs them again for the same date only if a file
    // was recorded since (`Engine::steps_done`).
    tx.set_meta(LAST_STEPS_FILE, &tx.last_file_id()?.to_string())?;
    tx.mark_business_day(as_of)?;
    tx.commit()?;
    Ok(summary)
}

fn rule_error(case: &StepCase) -> impl Fn(crate::rules::RuleError) -> StoreError + '_ {
    move |e| StoreError::Invariant(format!("rules for case {}: {e}", case.case_no))
}

fn step_case(
    tx: &Tx<'_>,
    ctx: ApplyContext<'_>,
    case: &StepCase,
    as_of: NaiveDate,
    summary: &mut StepSummary,
) -> Result<(), StoreError> {
    let Some(oldest_due) = case.oldest_open_due else {
        // Nothing of the claims is open (fees or interest only): no letters for that.
        return Ok(());
    };
    let Some(creditor) = ctx.config.creditor(&case.creditor_id) else {
        return Ok(());
    };
    let rules = &ctx.config.rules;
    // Days before the tables start are not this code's to invent.
    if as_of < rules.covers_from() {
        return Ok(());
    }
    let days = rules
        .days(creditor.country, as_of)
        .map_err(rule_error(case))?;
    let clock = Clock {
        state: case.state,
        first_step: case.first_step,
        deadline: case.deadline,
        oldest_due: Some(oldest_due),
        notice_sent: case.notice_sent,
        collection_since: case.collection_since,
        heavy_fee_charged: case.heavy_fee_charged,
    };
    // Holds do not matter for the daily trigger: disputed and paused cases do not move.
    if let Ok(Some(Transition::Step(step))) =
        transition(&clock, &Holds::default(), Trigger::Day, as_of, &days)
    {
        let at = Due {
            country: creditor.country,
            oldest_due,
            as_of,
        };
        take_step(tx, ctx, case, at, step, summary)?;
    }
    let since = case
        .last_interruption
        .map_or(oldest_due, |d| d.max(oldest_due));
    let warned_since = case.limitation_warned_on.is_some_and(|w| w >= since);
    if !warned_since && limitation_warning_due(since, as_of) {
        let row = tx.case_row(case.id)?;
        tx.insert_event(&NewEvent {
            case_id: case.id,
            date: as_of,
            kind: EventKind::LimitationWarning,
            invoice_id: None,
            amount_minor: None,
            state: row.state,
            detail: &format!(
                "the claim becomes time-barred three years after {since} unless interrupted"
            ),
            file_id: None,
        })?;
        tx.set_limitation_warned(case.id, as_of)?;
        summary.limitation_warnings += 1;
    }
    Ok(())
}

/// Where and when a step is taken.
#[derive(Clone, Copy)]
struct Due {
    country: crate::domain::Country,
    oldest_due: NaiveDate,
    as_of: NaiveDate,
}

fn take_step(
    tx: &Tx<'_>,
    ctx: ApplyContext<'_>,
    case: &StepCase,
    at: Due,
    step: Step,
    summary: &mut StepSummary,
) -> Result<(), StoreError> {
    let Due { country, as_of, .. } = at;
    let rules = &ctx.config.rules;
    // Interest up to today belongs on the letter and under any fee computed on the balance.
    let row = tx.case_row(case.id)?;
    accrue_interest_on(tx, ctx, &row, as_of)?;
    let balance = tx.case_balance(case.id)?;
    let new_state = state_after(step);
    match step {
        Step::Letter {
            step: letter,
            deadline,
        } => {
            let max = rules
                .max_fee_letters(country, letter, as_of)
                .map_err(rule_error(case))?;
            let charge = if tx.fee_letters(case.id, letter)? < max {
                Some(
                    rules
                        .fee(country, letter, case.debtor_type, balance.principal, as_of)
                        .map_err(rule_error(case))?,
                )
            } else {
                None
            }
            .filter(|c| c.amount_minor > 0);
            let fee_minor = charge.map_or(0, |c| c.amount_minor);
            let detail = format!(
                "{} sent, payment deadline {deadline}{}",
                letter_name(letter),
                if fee_minor > 0 {
                    format!("; fee {}", format_minor(fee_minor, '.'))
                } else {
                    String::new()
                }
            );
            tx.enter_step(case.id, new_state, as_of, Some(deadline))?;
            let event_id = tx.insert_event(&NewEvent {
                case_id: case.id,
                date: as_of,
                kind: letter_event(letter),
                invoice_id: None,
                amount_minor: (fee_minor > 0).then_some(fee_minor),
                state: new_state,
                detail: &detail,
                file_id: None,
            })?;
            if let Some(charge) = charge {
                tx.insert_posting(
                    case.id,
                    None,
                    as_of,
                    charge.component,
                    charge.amount_minor,
                    event_id,
                )?;
            }
            // The balance the letter states: the one read above plus the fee just posted
            // (read once, not again: a million notices make every statement count).
            let mut after = balance;
            if let Some(charge) = charge {
                *after.component_mut(charge.component) += charge.amount_minor;
            }
            let account = ctx
                .config
                .agency
                .accounts
                .get(&row.currency)
                .cloned()
                .unwrap_or_default();
            let rate = rules
                .interest_rate(country, case.debtor_type, as_of)
                .map_err(rule_error(case))?;
            // Interest runs from the day after the oldest open due date.
            let interest_from = at.oldest_due.succ_opt();
            tx.insert_letter(&NewLetter {
                case_id: case.id,
                step: letter,
                letter_date: as_of,
                account: &account,
                principal_minor: after.principal,
                interest_minor: after.interest,
                interest_rate: &format!("{rate:.2}"),
                interest_from,
                fees_minor: after.fees,
                fee_charged_minor: fee_minor,
                collection_costs_minor: after.collection_costs,
                total_minor: after.total(),
                deadline,
                event_id,
            })?;
            summary.letters += 1;
        }
        Step::Collection => {
            let fee = rules
                .collection_fee(
                    country,
                    CollectionLevel::Light,
                    case.debtor_type,
                    balance.principal,
                    as_of,
                )
                .map_err(rule_error(case))?;
            tx.enter_collection(case.id, as_of)?;
            let detail = if fee > 0 {
                format!(
                    "the payment demand expired unpaid; collection fee (light) {}",
                    format_minor(fee, '.')
                )
            } else {
                "the payment demand expired unpaid".to_owned()
            };
            let event_id = tx.insert_event(&NewEvent {
                case_id: case.id,
                date: as_of,
                kind: EventKind::Collection,
                invoice_id: None,
                amount_minor: (fee > 0).then_some(fee),
                state: CaseState::Collection,
                detail: &detail,
                file_id: None,
            })?;
            if fee > 0 {
                tx.insert_posting(
                    case.id,
                    None,
                    as_of,
                    Component::CollectionCost,
                    fee,
                    event_id,
                )?;
            }
            summary.to_collection += 1;
        }
        Step::HeavyCollectionFee => {
            // The heavy fee replaces the light one: only the difference is charged, computed
            // on the principal as it is today.
            let light = rules
                .collection_fee(
                    country,
                    CollectionLevel::Light,
                    case.debtor_type,
                    balance.principal,
                    as_of,
                )
                .map_err(rule_error(case))?;
            let heavy = rules
                .collection_fee(
                    country,
                    CollectionLevel::Heavy,
                    case.debtor_type,
                    balance.principal,
                    as_of,
                )
                .map_err(rule_error(case))?;
            let difference = (heavy - light).max(0);
            tx.set_heavy_fee_charged(case.id)?;
            let event_id = tx.insert_event(&NewEvent {
                case_id: case.id,
                date: as_of,
                kind: EventKind::HeavyCollectionFee,
                invoice_id: None,
                amount_minor: Some(difference),
                state: CaseState::Collection,
                detail: &format!(
                    "collection fee raised to the heavy level {} (light {})",
                    format_minor(heavy, '.'),
                    format_minor(light, '.')
                ),
                file_id: None,
            })?;
            if difference > 0 {
                tx.insert_posting(
                    case.id,
                    None,
                    as_of,
                    Component::CollectionCost,
                    difference,
                    event_id,
                )?;
            }
            summary.heavy_fees += 1;
        }
    }
    Ok(())
}

fn letter_event(step: HandoverStep) -> EventKind {
    match step {
        HandoverStep::Reminder => EventKind::Reminder,
        HandoverStep::Notice => EventKind::Notice,
        HandoverStep::Demand => EventKind::Demand,
    }
}

fn letter_name(step: HandoverStep) -> &'static str {
    match step {
        HandoverStep::Reminder => "reminder",
        HandoverStep::Notice => "collection notice",
        HandoverStep::Demand => "payment demand",
    }
}
