//! The daily steps' decisions, pure: from a page of open cases as loaded, the changes a run makes.
//!
//! `steps::run_daily_steps` loads a page of open cases with everything their decisions need
//! (`Tx::day_cases_after`: the clock, the open invoices with their interest basis, the balance,
//! the fee-bearing letters so far), calls [`decide`], and writes the [`DayChanges`] in bulk
//! (`Tx::write_day_changes`). Nothing here reads the store or the clock: the as-of date, the
//! configuration and the cases are arguments, so every step kind is tested with values.
//!
//! The changes are listed in the order the one-case-at-a-time run made them (per case: the
//! interest event, the step's event, the limitation warning), so events, postings and letters
//! get the same ids and the outputs stay byte for byte what they were.

use chrono::NaiveDate;

use crate::config::Config;
use crate::config::rules::{CollectionLevel, RuleError, Rules};
use crate::domain::Balance;
use crate::domain::{CaseState, Component, Country, DebtorType, EventKind, HandoverStep};
use crate::ledger::lifecycle::{
    Clock, Holds, Step, Transition, Trigger, limitation_warning_due, state_after, transition,
};
use crate::money::format_minor;

/// What a daily run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StepSummary {
    pub letters: u64,
    pub to_collection: u64,
    pub heavy_fees: u64,
    pub limitation_warnings: u64,
}

impl StepSummary {
    /// Adds another page's counts.
    pub fn add(&mut self, other: &StepSummary) {
        self.letters += other.letters;
        self.to_collection += other.to_collection;
        self.heavy_fees += other.heavy_fees;
        self.limitation_warnings += other.limitation_warnings;
    }
}

/// An open case with everything the day's decisions need about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayCase {
    pub id: i64,
    pub case_no: String,
    pub state: CaseState,
    pub first_step: HandoverStep,
    pub deadline: Option<NaiveDate>,
    /// When the case entered its current step.
    pub step_date: Option<NaiveDate>,
    pub collection_since: Option<NaiveDate>,
    pub heavy_fee_charged: bool,
    pub creditor_id: String,
    pub debtor_type: DebtorType,
    pub currency: String,
    pub limitation_warned_on: Option<NaiveDate>,
    /// The latest payment or legal step: what interrupts limitation. Read only for pages
    /// where some case [`needs_interruptions`]; for the others `None` decides the same.
    pub last_interruption: Option<NaiveDate>,
    /// The latest date the creditor says it sent its own collection notice.
    pub notice_sent: Option<NaiveDate>,
    /// The invoices with principal open, oldest due date first (then by id).
    pub open_invoices: Vec<OpenInvoice>,
    /// The open balance per component: the sums of the case's postings.
    pub balance: Balance,
    /// How many letters of each step carried a fee so far.
    pub fee_letters: FeeLetters,
}

/// An invoice with principal open: what its interest is computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenInvoice {
    pub id: i64,
    pub invoice_no: String,
    pub due_date: NaiveDate,
    /// Interest is posted up to and including this date; `None`: not yet.
    pub interest_through: Option<NaiveDate>,
    pub principal_open_minor: i64,
}

/// Fee-bearing letters of a case per step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeeLetters {
    pub reminder: u32,
    pub notice: u32,
    pub demand: u32,
}

impl FeeLetters {
    pub fn get(&self, step: HandoverStep) -> u32 {
        match step {
            HandoverStep::Reminder => self.reminder,
            HandoverStep::Notice => self.notice,
            HandoverStep::Demand => self.demand,
        }
    }

    pub fn count(&mut self, step: HandoverStep) {
        match step {
            HandoverStep::Reminder => self.reminder += 1,
            HandoverStep::Notice => self.notice += 1,
            HandoverStep::Demand => self.demand += 1,
        }
    }
}

/// Everything a page of the day's run writes, in the order it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayChanges<'a> {
    /// The as-of date: every event, posting and letter is dated with it.
    pub date: NaiveDate,
    /// New events in the order they are numbered.
    pub events: Vec<DayEvent>,
    /// New postings in order, each naming its event by index in `events`.
    pub postings: Vec<DayPosting>,
    /// New letters in order, each naming its event by index in `events`.
    pub letters: Vec<DayLetter<'a>>,
    /// The new clock of every case that changed, in case order.
    pub cases: Vec<CaseUpdate>,
    /// Invoices whose interest is now posted up to and including `date`.
    pub interest_through: Vec<i64>,
    pub summary: StepSummary,
}

/// A case event (invoice and file are never set by the daily run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayEvent {
    pub case_id: i64,
    pub kind: EventKind,
    pub amount_minor: Option<i64>,
    /// The case's state after the event.
    pub state: CaseState,
    pub detail: String,
}

/// A posting on a case's ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayPosting {
    /// Index of its event in [`DayChanges::events`].
    pub event: usize,
    pub case_id: i64,
    pub invoice_id: Option<i64>,
    pub component: Component,
    pub amount_minor: i64,
}

/// A letter with what it says; the debtor's address and the case reference are the store's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayLetter<'a> {
    /// Index of its event in [`DayChanges::events`].
    pub event: usize,
    pub case_id: i64,
    pub step: HandoverStep,
    /// The agency's account for the case's currency (`[agency.accounts]`; empty if none).
    pub account: &'a str,
    pub principal_minor: i64,
    pub interest_minor: i64,
    pub interest_rate: String,
    pub interest_from: Option<NaiveDate>,
    pub fees_minor: i64,
    pub fee_charged_minor: i64,
    pub collection_costs_minor: i64,
    pub total_minor: i64,
    pub deadline: NaiveDate,
}

/// A case's clock after the day: every column the steps set, whether it changed or not, so
/// one statement per case writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseUpdate {
    pub case_id: i64,
    pub state: CaseState,
    pub step_date: Option<NaiveDate>,
    pub deadline: Option<NaiveDate>,
    pub collection_since: Option<NaiveDate>,
    pub heavy_fee_charged: bool,
    pub limitation_warned_on: Option<NaiveDate>,
}

/// A rule table that cannot answer for a case: the run stops (an infrastructure problem, as
/// the shipped tables are checked when loaded).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecideError {
    #[error("rules for case {case_no}: {error}")]
    Rules { case_no: String, error: RuleError },
    #[error("interest for case {case_no}: {error}")]
    Interest { case_no: String, error: RuleError },
}

/// The day's changes for a page of open cases (in case order) on `as_of`: the step each case
/// takes, if any, with interest up to the day, the fee, the event and the letter; collection
/// with the light collection fee; the heavy fee's difference; then the limitation warning.
pub fn decide<'a>(
    config: &'a Config,
    as_of: NaiveDate,
    cases: &[DayCase],
) -> Result<DayChanges<'a>, DecideError> {
    let mut changes = DayChanges {
        date: as_of,
        events: Vec::new(),
        postings: Vec::new(),
        letters: Vec::new(),
        cases: Vec::new(),
        interest_through: Vec::new(),
        summary: StepSummary::default(),
    };
    // Days before the tables start are not this code's to invent.
    if as_of < config.rules.covers_from() {
        return Ok(changes);
    }
    for case in cases {
        decide_case(config, as_of, case, &mut changes)?;
    }
    Ok(changes)
}

fn decide_case<'a>(
    config: &'a Config,
    as_of: NaiveDate,
    case: &DayCase,
    changes: &mut DayChanges<'a>,
) -> Result<(), DecideError> {
    let Some(oldest_due) = case.open_invoices.iter().map(|i| i.due_date).min() else {
        // Nothing of the claims is open (fees or interest only): no letters for that.
        return Ok(());
    };
    let Some(creditor) = config.creditor(&case.creditor_id) else {
        return Ok(());
    };
    let rules_error = |error| DecideError::Rules {
        case_no: case.case_no.clone(),
        error,
    };
    let days = config
        .rules
        .days(creditor.country, as_of)
        .map_err(rules_error)?;
    let clock = Clock {
        state: case.state,
        first_step: case.first_step,
        deadline: case.deadline,
        oldest_due: Some(oldest_due),
        notice_sent: case.notice_sent,
        collection_since: case.collection_since,
        heavy_fee_charged: case.heavy_fee_charged,
    };
    let mut update = CaseUpdate {
        case_id: case.id,
        state: case.state,
        step_date: case.step_date,
        deadline: case.deadline,
        collection_since: case.collection_since,
        heavy_fee_charged: case.heavy_fee_charged,
        limitation_warned_on: case.limitation_warned_on,
    };
    let mut touched = false;
    // Holds do not matter for the daily trigger: disputed and paused cases do not move.
    if let Ok(Some(Transition::Step(step))) =
        transition(&clock, &Holds::default(), Trigger::Day, as_of, &days)
    {
        let at = Due {
            country: creditor.country,
            oldest_due,
            as_of,
        };
        take_step(config, case, at, step, &mut update, changes)?;
        touched = true;
    }
    let since = case
        .last_interruption
        .map_or(oldest_due, |d| d.max(oldest_due));
    let warned_since = case.limitation_warned_on.is_some_and(|w| w >= since);
    if !warned_since && limitation_warning_due(since, as_of) {
        changes.events.push(DayEvent {
            case_id: case.id,
            kind: EventKind::LimitationWarning,
            amount_minor: None,
            state: update.state,
            detail: format!(
                "the claim becomes time-barred three years after {since} unless interrupted"
            ),
        });
        update.limitation_warned_on = Some(as_of);
        changes.summary.limitation_warnings += 1;
        touched = true;
    }
    if touched {
        changes.cases.push(update);
    }
    Ok(())
}

/// Whether the case's limitation warning could be due on `as_of`, whatever interrupted
/// limitation: a payment or legal step only moves the warning later, so for a case where this
/// is false the latest interruption cannot change the decision, and the store need not read
/// it (`DayCase::last_interruption` is then left `None`).
pub fn needs_interruptions(case: &DayCase, as_of: NaiveDate) -> bool {
    case.open_invoices
        .iter()
        .map(|i| i.due_date)
        .min()
        .is_some_and(|oldest_due| limitation_warning_due(oldest_due, as_of))
}

/// Where and when a step is taken.
#[derive(Clone, Copy)]
struct Due {
    country: Country,
    oldest_due: NaiveDate,
    as_of: NaiveDate,
}

fn take_step<'a>(
    config: &'a Config,
    case: &DayCase,
    at: Due,
    step: Step,
    update: &mut CaseUpdate,
    changes: &mut DayChanges<'a>,
) -> Result<(), DecideError> {
    let Due { country, as_of, .. } = at;
    let rules = &config.rules;
    let rules_error = |error| DecideError::Rules {
        case_no: case.case_no.clone(),
        error,
    };
    // Interest up to today belongs on the letter and under any fee computed on the balance.
    let interest = post_interest(config, case, country, as_of, changes)?;
    let mut balance = case.balance;
    balance.interest += interest;
    let new_state = state_after(step);
    match step {
        Step::Letter {
            step: letter,
            deadline,
        } => {
            let max = rules
                .max_fee_letters(country, letter, as_of)
                .map_err(rules_error)?;
            let charge = if case.fee_letters.get(letter) < max {
                Some(
                    rules
                        .fee(country, letter, case.debtor_type, balance.principal, as_of)
                        .map_err(rules_error)?,
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
            update.state = new_state;
            update.step_date = Some(as_of);
            update.deadline = Some(deadline);
            let event = changes.events.len();
            changes.events.push(DayEvent {
                case_id: case.id,
                kind: letter_event(letter),
                amount_minor: (fee_minor > 0).then_some(fee_minor),
                state: new_state,
                detail,
            });
            if let Some(charge) = charge {
                changes.postings.push(DayPosting {
                    event,
                    case_id: case.id,
                    invoice_id: None,
                    component: charge.component,
                    amount_minor: charge.amount_minor,
                });
                // The balance the letter states includes the fee it charges.
                *balance.component_mut(charge.component) += charge.amount_minor;
            }
            let account = config
                .agency
                .accounts
                .get(&case.currency)
                .map_or("", String::as_str);
            let rate = rules
                .interest_rate(country, case.debtor_type, as_of)
                .map_err(rules_error)?;
            changes.letters.push(DayLetter {
                event,
                case_id: case.id,
                step: letter,
                account,
                principal_minor: balance.principal,
                interest_minor: balance.interest,
                interest_rate: format!("{rate:.2}"),
                // Interest runs from the day after the oldest open due date.
                interest_from: at.oldest_due.succ_opt(),
                fees_minor: balance.fees,
                fee_charged_minor: fee_minor,
                collection_costs_minor: balance.collection_costs,
                total_minor: balance.total(),
                deadline,
            });
            changes.summary.letters += 1;
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
                .map_err(rules_error)?;
            update.state = CaseState::Collection;
            update.step_date = Some(as_of);
            update.deadline = None;
            update.collection_since = Some(as_of);
            let detail = if fee > 0 {
                format!(
                    "the payment demand expired unpaid; collection fee (light) {}",
                    format_minor(fee, '.')
                )
            } else {
                "the payment demand expired unpaid".to_owned()
            };
            let event = changes.events.len();
            changes.events.push(DayEvent {
                case_id: case.id,
                kind: EventKind::Collection,
                amount_minor: (fee > 0).then_some(fee),
                state: CaseState::Collection,
                detail,
            });
            if fee > 0 {
                changes.postings.push(DayPosting {
                    event,
                    case_id: case.id,
                    invoice_id: None,
                    component: Component::CollectionCost,
                    amount_minor: fee,
                });
            }
            changes.summary.to_collection += 1;
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
                .map_err(rules_error)?;
            let heavy = rules
                .collection_fee(
                    country,
                    CollectionLevel::Heavy,
                    case.debtor_type,
                    balance.principal,
                    as_of,
                )
                .map_err(rules_error)?;
            let difference = (heavy - light).max(0);
            // The case stays in collection; only the flag moves it past this step.
            update.heavy_fee_charged = true;
            let event = changes.events.len();
            changes.events.push(DayEvent {
                case_id: case.id,
                kind: EventKind::HeavyCollectionFee,
                amount_minor: Some(difference),
                state: CaseState::Collection,
                detail: format!(
                    "collection fee raised to the heavy level {} (light {})",
                    format_minor(heavy, '.'),
                    format_minor(light, '.')
                ),
            });
            if difference > 0 {
                changes.postings.push(DayPosting {
                    event,
                    case_id: case.id,
                    invoice_id: None,
                    component: Component::CollectionCost,
                    amount_minor: difference,
                });
            }
            changes.summary.heavy_fees += 1;
        }
    }
    Ok(())
}

/// The case's late-payment interest up to and including `to` (see [`interest_parts`]), one
/// `interest` event for what is not zero; every invoice computed is marked posted through
/// `to`. Returns the amount posted.
fn post_interest(
    config: &Config,
    case: &DayCase,
    country: Country,
    to: NaiveDate,
    changes: &mut DayChanges<'_>,
) -> Result<i64, DecideError> {
    let due = interest_posting(
        &config.rules,
        country,
        case.debtor_type,
        &case.open_invoices,
        to,
    )
    .map_err(|error| DecideError::Interest {
        case_no: case.case_no.clone(),
        error,
    })?;
    changes.interest_through.extend(due.through);
    if due.total == 0 {
        return Ok(0);
    }
    let event = changes.events.len();
    changes.events.push(DayEvent {
        case_id: case.id,
        kind: EventKind::Interest,
        amount_minor: Some(due.total),
        state: case.state,
        detail: due.detail,
    });
    for (invoice_id, minor) in due.parts {
        changes.postings.push(DayPosting {
            event,
            case_id: case.id,
            invoice_id: Some(invoice_id),
            component: Component::Interest,
            amount_minor: minor,
        });
    }
    Ok(due.total)
}

/// The late-payment interest of a case's open invoices up to and including `to`, as every
/// caller posts it (the daily steps, and settlement before a payment, SPEC §6.1.4): per open
/// invoice on its open principal from the day after its due date (or `interest_through`),
/// never before the tables start, rounded per invoice. Lists every invoice it was computed
/// for, zero amounts included: each of them is posted through `to`.
pub fn interest_parts<'i>(
    rules: &Rules,
    country: Country,
    debtor_type: DebtorType,
    open_invoices: &'i [OpenInvoice],
    to: NaiveDate,
) -> Result<Vec<(&'i OpenInvoice, i64)>, RuleError> {
    let tables_start = rules
        .covers_from()
        .pred_opt()
        .unwrap_or(rules.covers_from());
    let mut parts = Vec::with_capacity(open_invoices.len());
    for invoice in open_invoices {
        let from = invoice
            .interest_through
            .unwrap_or(invoice.due_date)
            .max(tables_start);
        if to <= from {
            continue;
        }
        let accrued = rules.interest_on_balance(
            country,
            debtor_type,
            &[(from, invoice.principal_open_minor)],
            from,
            to,
        )?;
        parts.push((invoice, crate::config::interest::round_to_minor(accrued)));
    }
    Ok(parts)
}

/// What posting a case's interest up to a date comes to, for every caller alike (the daily
/// steps, payments, instructions, credit notes): one `interest` event of `total` with `detail`
/// and a posting per entry of `parts` — nothing when `total` is 0 — and, either way, every
/// invoice of `through` posted through the date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterestPosting {
    /// The invoices whose interest is now posted through the date, some maybe with nothing.
    pub through: Vec<i64>,
    /// (invoice, amount) of the invoices that accrued something, in the open invoices' order.
    pub parts: Vec<(i64, i64)>,
    pub total: i64,
    /// The event's detail; empty when there is nothing to post.
    pub detail: String,
}

/// [`interest_parts`] made into what is posted: see [`InterestPosting`].
pub fn interest_posting(
    rules: &Rules,
    country: Country,
    debtor_type: DebtorType,
    open_invoices: &[OpenInvoice],
    to: NaiveDate,
) -> Result<InterestPosting, RuleError> {
    let mut parts = interest_parts(rules, country, debtor_type, open_invoices, to)?;
    let through = parts.iter().map(|(invoice, _)| invoice.id).collect();
    parts.retain(|(_, minor)| *minor > 0);
    let total = parts.iter().map(|(_, minor)| minor).sum();
    let detail = if total == 0 {
        String::new()
    } else {
        interest_detail(to, &parts)
    };
    Ok(InterestPosting {
        through,
        parts: parts
            .iter()
            .map(|(invoice, minor)| (invoice.id, *minor))
            .collect(),
        total,
        detail,
    })
}

/// The detail of an `interest` event: each invoice's number and amount.
fn interest_detail(to: NaiveDate, parts: &[(&OpenInvoice, i64)]) -> String {
    let mut detail = format!("late-payment interest up to {to}: ");
    for (i, (invoice, minor)) in parts.iter().enumerate() {
        if i > 0 {
            detail.push_str(", ");
        }
        detail.push_str(&invoice.invoice_no);
        detail.push(' ');
        detail.push_str(&format_minor(*minor, '.'));
    }
    detail
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped configuration and rule tables.
    fn config() -> Config {
        let source =
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config/kravflyt.toml"));
        let text = std::fs::read_to_string(source).unwrap();
        Config::from_toml(&text, source, std::path::Path::new("/data")).unwrap()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    const AS_OF: (i32, u32, u32) = (2026, 10, 1);

    fn as_of() -> NaiveDate {
        day(AS_OF.0, AS_OF.1, AS_OF.2)
    }

    /// A Nordlys (Norway, hands over at the collection notice) case for a person: one invoice
    /// of 10 000.00 NOK due 15 September 2026, nothing posted but the principal.
    fn nordlys_case() -> DayCase {
        DayCase {
            id: 7,
            case_no: "2026-000007".to_owned(),
            state: CaseState::Registered,
            first_step: HandoverStep::Notice,
            deadline: None,
            step_date: None,
            collection_since: None,
            heavy_fee_charged: false,
            creditor_id: "923609016".to_owned(),
            debtor_type: DebtorType::Person,
            currency: "NOK".to_owned(),
            limitation_warned_on: None,
            last_interruption: None,
            notice_sent: None,
            open_invoices: vec![OpenInvoice {
                id: 70,
                invoice_no: "F-1".to_owned(),
                due_date: day(2026, 9, 15),
                interest_through: None,
                principal_open_minor: 1_000_000,
            }],
            balance: Balance {
                principal: 1_000_000,
                ..Balance::default()
            },
            fee_letters: FeeLetters::default(),
        }
    }

    /// The same case in collection with interest posted up to today, so only the step's own
    /// changes are made.
    fn in_collection(since: NaiveDate) -> DayCase {
        let mut case = nordlys_case();
        case.state = CaseState::Collection;
        case.step_date = Some(since);
        case.collection_since = Some(since);
        case.open_invoices[0].interest_through = Some(as_of());
        case
    }

    /// The shipped configuration, read once: decisions borrow from it.
    static CONFIG: std::sync::LazyLock<Config> = std::sync::LazyLock::new(config);

    fn decided(cases: &[DayCase]) -> DayChanges<'static> {
        decide(&CONFIG, as_of(), cases).unwrap()
    }

    #[test]
    fn a_letter_with_a_fee_comes_after_the_interest_up_to_the_day() {
        let changes = decided(&[nordlys_case()]);
        // 10 000.00 at 12.00 % for 16 days of a 365-day year: 52.6027… NOK.
        assert_eq!(
            changes.events,
            [
                DayEvent {
                    case_id: 7,
                    kind: EventKind::Interest,
                    amount_minor: Some(5260),
                    state: CaseState::Registered,
                    detail: "late-payment interest up to 2026-10-01: F-1 52.60".to_owned(),
                },
                DayEvent {
                    case_id: 7,
                    kind: EventKind::Notice,
                    amount_minor: Some(3500),
                    state: CaseState::Notice,
                    detail: "collection notice sent, payment deadline 2026-10-15; fee 35.00"
                        .to_owned(),
                },
            ]
        );
        assert_eq!(
            changes.postings,
            [
                DayPosting {
                    event: 0,
                    case_id: 7,
                    invoice_id: Some(70),
                    component: Component::Interest,
                    amount_minor: 5260,
                },
                DayPosting {
                    event: 1,
                    case_id: 7,
                    invoice_id: None,
                    component: Component::Fee,
                    amount_minor: 3500,
                },
            ]
        );
        assert_eq!(
            changes.letters,
            [DayLetter {
                event: 1,
                case_id: 7,
                step: HandoverStep::Notice,
                account: "1503.12.34562",
                principal_minor: 1_000_000,
                interest_minor: 5260,
                interest_rate: "12.00".to_owned(),
                interest_from: Some(day(2026, 9, 16)),
                fees_minor: 3500,
                fee_charged_minor: 3500,
                collection_costs_minor: 0,
                total_minor: 1_008_760,
                deadline: day(2026, 10, 15),
            }]
        );
        assert_eq!(
            changes.cases,
            [CaseUpdate {
                case_id: 7,
                state: CaseState::Notice,
                step_date: Some(as_of()),
                deadline: Some(day(2026, 10, 15)),
                collection_since: None,
                heavy_fee_charged: false,
                limitation_warned_on: None,
            }]
        );
        assert_eq!(changes.interest_through, [70]);
        assert_eq!(
            changes.summary,
            StepSummary {
                letters: 1,
                ..StepSummary::default()
            }
        );
    }

    #[test]
    fn a_letter_whose_fee_cap_is_reached_goes_without_a_fee() {
        let mut case = nordlys_case();
        case.fee_letters.count(HandoverStep::Notice);
        let changes = decided(&[case]);
        let notice = &changes.events[1];
        assert_eq!(notice.kind, EventKind::Notice);
        assert_eq!(notice.amount_minor, None);
        assert_eq!(
            notice.detail,
            "collection notice sent, payment deadline 2026-10-15"
        );
        // Only the interest is posted; the letter states no fee.
        assert_eq!(changes.postings.len(), 1);
        assert_eq!(changes.postings[0].component, Component::Interest);
        let letter = &changes.letters[0];
        assert_eq!((letter.fee_charged_minor, letter.fees_minor), (0, 0));
        assert_eq!(letter.total_minor, 1_005_260);
        assert_eq!(changes.summary.letters, 1);
    }

    #[test]
    fn an_expired_demand_goes_to_collection_with_the_light_fee() {
        let mut case = nordlys_case();
        case.state = CaseState::Demand;
        case.step_date = Some(day(2026, 9, 16));
        case.deadline = Some(day(2026, 9, 30));
        case.open_invoices[0].interest_through = Some(as_of());
        let changes = decided(&[case]);
        // Light collection fee for a person's claim of 10 000.00 NOK: 0.8 × 700.00.
        assert_eq!(
            changes.events,
            [DayEvent {
                case_id: 7,
                kind: EventKind::Collection,
                amount_minor: Some(56_000),
                state: CaseState::Collection,
                detail: "the payment demand expired unpaid; collection fee (light) 560.00"
                    .to_owned(),
            }]
        );
        assert_eq!(
            changes.postings,
            [DayPosting {
                event: 0,
                case_id: 7,
                invoice_id: None,
                component: Component::CollectionCost,
                amount_minor: 56_000,
            }]
        );
        assert!(changes.letters.is_empty());
        // Interest was posted through today already: nothing to post, nothing to mark.
        assert!(changes.interest_through.is_empty());
        assert_eq!(
            changes.cases,
            [CaseUpdate {
                case_id: 7,
                state: CaseState::Collection,
                step_date: Some(as_of()),
                deadline: None,
                collection_since: Some(as_of()),
                heavy_fee_charged: false,
                limitation_warned_on: None,
            }]
        );
        assert_eq!(changes.summary.to_collection, 1);
    }

    #[test]
    fn the_heavy_fee_charges_the_difference_to_the_light_one() {
        // 28 days in collection (Norway's light_to_heavy) by 29 September.
        let changes = decided(&[in_collection(day(2026, 9, 1))]);
        // Heavy 1.6 × 700.00 = 1 120.00 against light 560.00.
        assert_eq!(
            changes.events,
            [DayEvent {
                case_id: 7,
                kind: EventKind::HeavyCollectionFee,
                amount_minor: Some(56_000),
                state: CaseState::Collection,
                detail: "collection fee raised to the heavy level 1120.00 (light 560.00)"
                    .to_owned(),
            }]
        );
        assert_eq!(changes.postings[0].component, Component::CollectionCost);
        assert_eq!(changes.postings[0].amount_minor, 56_000);
        // The case stays in collection; only the flag moves it on.
        assert_eq!(
            changes.cases,
            [CaseUpdate {
                heavy_fee_charged: true,
                ..CaseUpdate {
                    case_id: 7,
                    state: CaseState::Collection,
                    step_date: Some(day(2026, 9, 1)),
                    deadline: None,
                    collection_since: Some(day(2026, 9, 1)),
                    heavy_fee_charged: false,
                    limitation_warned_on: None,
                }
            }]
        );
        assert_eq!(changes.summary.heavy_fees, 1);
        // Not yet 28 days: nothing is due, nothing changes.
        let changes = decided(&[in_collection(day(2026, 9, 10))]);
        assert!(changes.events.is_empty() && changes.cases.is_empty());
    }

    #[test]
    fn interest_is_posted_per_invoice_from_where_it_stopped_and_the_letter_states_it() {
        let mut case = nordlys_case();
        case.state = CaseState::Notice;
        case.step_date = Some(day(2026, 9, 16));
        case.deadline = Some(day(2026, 9, 30));
        // The first invoice has interest posted up to 20 September (30.00 of it); a second
        // invoice joined later, due 25 September, has none.
        case.open_invoices[0].interest_through = Some(day(2026, 9, 20));
        case.open_invoices.push(OpenInvoice {
            id: 71,
            invoice_no: "F-2".to_owned(),
            due_date: day(2026, 9, 25),
            interest_through: None,
            principal_open_minor: 500_000,
        });
        case.balance = Balance {
            principal: 1_500_000,
            interest: 3_000,
            fees: 3_500,
            collection_costs: 0,
        };
        let changes = decided(&[case]);
        // 11 days on 10 000.00 (36.164…) and 6 days on 5 000.00 (9.863…), each rounded alone.
        assert_eq!(changes.events[0].kind, EventKind::Interest);
        assert_eq!(changes.events[0].amount_minor, Some(3616 + 986));
        assert_eq!(
            changes.events[0].detail,
            "late-payment interest up to 2026-10-01: F-1 36.16, F-2 9.86"
        );
        assert_eq!(changes.events[0].state, CaseState::Notice);
        let interest: Vec<_> = changes
            .postings
            .iter()
            .filter(|p| p.event == 0)
            .map(|p| (p.invoice_id, p.component, p.amount_minor))
            .collect();
        assert_eq!(
            interest,
            [
                (Some(70), Component::Interest, 3616),
                (Some(71), Component::Interest, 986)
            ]
        );
        assert_eq!(changes.interest_through, [70, 71]);
        // The demand follows (Norway's demand carries no fee) and states the new interest.
        assert_eq!(changes.events[1].kind, EventKind::Demand);
        assert_eq!(changes.events[1].amount_minor, None);
        let letter = &changes.letters[0];
        assert_eq!(letter.event, 1);
        assert_eq!(letter.interest_minor, 3_000 + 3616 + 986);
        assert_eq!(letter.interest_from, Some(day(2026, 9, 16)));
        assert_eq!(letter.total_minor, 1_500_000 + 3_000 + 3616 + 986 + 3_500);
    }

    #[test]
    fn a_limitation_warning_is_given_once_ninety_days_before_three_years() {
        // A case in collection with nothing else due, its oldest claim due 1 September 2023:
        // time-barred on 1 September 2026 unless interrupted, warned from 3 June 2026.
        let mut case = in_collection(day(2024, 1, 10));
        case.heavy_fee_charged = true;
        case.open_invoices[0].due_date = day(2023, 9, 1);
        assert!(needs_interruptions(&case, as_of()));
        let changes = decided(&[case.clone()]);
        assert_eq!(
            changes.events,
            [DayEvent {
                case_id: 7,
                kind: EventKind::LimitationWarning,
                amount_minor: None,
                state: CaseState::Collection,
                detail:
                    "the claim becomes time-barred three years after 2023-09-01 unless interrupted"
                        .to_owned(),
            }]
        );
        assert_eq!(changes.cases[0].limitation_warned_on, Some(as_of()));
        assert_eq!(changes.cases[0].state, CaseState::Collection);
        assert_eq!(changes.summary.limitation_warnings, 1);

        // Warned since the oldest due date: not again.
        let mut warned = case.clone();
        warned.limitation_warned_on = Some(day(2026, 6, 3));
        assert!(decided(&[warned]).events.is_empty());
        // A payment in 2024 starts the three years again.
        let mut paid = case.clone();
        paid.last_interruption = Some(day(2024, 5, 2));
        assert!(decided(&[paid]).events.is_empty());
        // A young claim needs no interruptions read: whatever they are, nothing is due.
        let young = nordlys_case();
        assert!(!needs_interruptions(&young, as_of()));
    }

    #[test]
    fn a_step_and_a_warning_on_one_case_make_one_update_and_events_in_order() {
        let mut case = nordlys_case();
        case.open_invoices[0].due_date = day(2023, 9, 1);
        let mut other = nordlys_case();
        other.id = 8;
        other.open_invoices[0].id = 80;
        let changes = decided(&[case, other]);
        let kinds: Vec<_> = changes.events.iter().map(|e| (e.case_id, e.kind)).collect();
        assert_eq!(
            kinds,
            [
                (7, EventKind::Interest),
                (7, EventKind::Notice),
                (7, EventKind::LimitationWarning),
                (8, EventKind::Interest),
                (8, EventKind::Notice),
            ]
        );
        // The warning carries the state the step left.
        assert_eq!(changes.events[2].state, CaseState::Notice);
        assert_eq!(changes.cases.len(), 2);
        assert_eq!(changes.cases[0].state, CaseState::Notice);
        assert_eq!(changes.cases[0].limitation_warned_on, Some(as_of()));
        // Postings and letters name their own case's events.
        let named: Vec<_> = changes
            .postings
            .iter()
            .map(|p| changes.events[p.event].case_id == p.case_id)
            .collect();
        assert!(named.iter().all(|&ok| ok), "{:?}", changes.postings);
        assert_eq!(
            changes.letters.iter().map(|l| l.event).collect::<Vec<_>>(),
            [1, 4]
        );
    }

    #[test]
    fn nothing_is_decided_without_open_principal_or_before_the_tables_start() {
        let mut fees_only = nordlys_case();
        fees_only.open_invoices.clear();
        assert!(decided(&[fees_only]).events.is_empty());
        let early = decide(&CONFIG, day(2023, 6, 1), &[nordlys_case()]).unwrap();
        assert!(early.events.is_empty() && early.cases.is_empty());
    }
}
