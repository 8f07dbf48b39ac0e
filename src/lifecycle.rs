//! The case lifecycle driven by time (SPEC §6.2): on an as-of date, which step a case takes.
//!
//! Pure: the case's clock, the date and the country's day counts are arguments. A step that
//! fell due on a day without a run happens at the next run and is dated that run's date (a
//! letter is never back-dated), so running the same date twice changes nothing and a skipped
//! day is caught up by the next run.

use chrono::{Days as ChronoDays, NaiveDate};

use crate::domain::{CaseState, HandoverStep};
use crate::rules::Days;

/// What the time-driven steps need to know about a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    pub state: CaseState,
    /// The step a registered case starts at.
    pub first_step: HandoverStep,
    /// The payment deadline of the current letter.
    pub deadline: Option<NaiveDate>,
    /// The oldest due date among the case's open invoices.
    pub oldest_due: NaiveDate,
    /// When the case entered collection.
    pub collection_since: Option<NaiveDate>,
    pub heavy_fee_charged: bool,
}

/// The step a case takes today, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Send the letter of this step; its payment deadline.
    Letter {
        step: HandoverStep,
        deadline: NaiveDate,
    },
    /// The payment demand expired unpaid: the case is in collection (light collection fee).
    Collection,
    /// Long enough in collection for the heavy collection fee.
    HeavyCollectionFee,
}

fn plus(date: NaiveDate, days: u32) -> NaiveDate {
    date.checked_add_days(ChronoDays::new(u64::from(days)))
        .unwrap_or(NaiveDate::MAX)
}

/// The step due on `today`, given the case's clock and the country's days.
pub fn due_step(clock: &Clock, today: NaiveDate, days: &Days) -> Option<Step> {
    let letter = |step: HandoverStep| Step::Letter {
        step,
        deadline: plus(today, days.deadline(step)),
    };
    let expired = clock.deadline.is_some_and(|deadline| today > deadline);
    match clock.state {
        // The first fee-bearing letter may go once the due date is far enough behind.
        CaseState::Registered => (today >= plus(clock.oldest_due, days.first_letter_after_due))
            .then(|| letter(clock.first_step)),
        CaseState::Reminder => expired.then(|| letter(HandoverStep::Notice)),
        CaseState::Notice => expired.then(|| letter(HandoverStep::Demand)),
        CaseState::Demand => expired.then_some(Step::Collection),
        CaseState::Collection => match (days.light_to_heavy, clock.collection_since) {
            (Some(wait), Some(since)) if !clock.heavy_fee_charged && today >= plus(since, wait) => {
                Some(Step::HeavyCollectionFee)
            }
            _ => None,
        },
        // Legal is entered by instruction only; disputed and paused cases wait for one;
        // closed cases are done.
        CaseState::Legal | CaseState::Disputed | CaseState::Paused | CaseState::Closed => None,
    }
}

/// The state a case is in after a step.
pub fn state_after(step: Step) -> CaseState {
    match step {
        Step::Letter {
            step: HandoverStep::Reminder,
            ..
        } => CaseState::Reminder,
        Step::Letter {
            step: HandoverStep::Notice,
            ..
        } => CaseState::Notice,
        Step::Letter {
            step: HandoverStep::Demand,
            ..
        } => CaseState::Demand,
        Step::Collection | Step::HeavyCollectionFee => CaseState::Collection,
    }
}

/// When a limitation warning is due: ninety days before three years have passed since the
/// oldest due date or the last interrupting event (a payment, a legal step), whichever is later.
pub fn limitation_warning_due(since: NaiveDate, today: NaiveDate) -> bool {
    let Some(three_years) = since.checked_add_months(chrono::Months::new(36)) else {
        return false;
    };
    let warn_from = three_years
        .checked_sub_days(ChronoDays::new(90))
        .unwrap_or(three_years);
    today >= warn_from
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    const NO: Days = Days {
        first_letter_after_due: 14,
        reminder_deadline: 14,
        notice_deadline: 14,
        demand_deadline: 14,
        light_to_heavy: Some(28),
        dispute_reply: 14,
    };

    fn clock(state: CaseState, deadline: Option<NaiveDate>) -> Clock {
        Clock {
            state,
            first_step: HandoverStep::Notice,
            deadline,
            oldest_due: d(2026, 9, 1),
            collection_since: None,
            heavy_fee_charged: false,
        }
    }

    #[test]
    fn the_first_letter_waits_fourteen_days_after_the_due_date() {
        let c = clock(CaseState::Registered, None);
        assert_eq!(due_step(&c, d(2026, 9, 14), &NO), None);
        assert_eq!(
            due_step(&c, d(2026, 9, 15), &NO),
            Some(Step::Letter {
                step: HandoverStep::Notice,
                deadline: d(2026, 9, 29)
            })
        );
    }

    #[test]
    fn each_step_follows_when_its_deadline_has_passed_and_a_late_run_is_dated_that_day() {
        let c = clock(CaseState::Notice, Some(d(2026, 9, 29)));
        assert_eq!(
            due_step(&c, d(2026, 9, 29), &NO),
            None,
            "the deadline day itself is still in time"
        );
        assert_eq!(
            due_step(&c, d(2026, 10, 20), &NO),
            Some(Step::Letter {
                step: HandoverStep::Demand,
                deadline: d(2026, 11, 3)
            }),
            "a run three weeks late sends the demand that day, with a full deadline"
        );
        let c = clock(CaseState::Demand, Some(d(2026, 11, 3)));
        assert_eq!(due_step(&c, d(2026, 11, 4), &NO), Some(Step::Collection));
    }

    #[test]
    fn the_heavy_fee_comes_twenty_eight_days_into_collection_once() {
        let mut c = clock(CaseState::Collection, None);
        c.collection_since = Some(d(2026, 11, 4));
        assert_eq!(due_step(&c, d(2026, 12, 1), &NO), None);
        assert_eq!(
            due_step(&c, d(2026, 12, 2), &NO),
            Some(Step::HeavyCollectionFee)
        );
        c.heavy_fee_charged = true;
        assert_eq!(due_step(&c, d(2027, 1, 2), &NO), None);
        let sweden = Days {
            light_to_heavy: None,
            ..NO
        };
        c.heavy_fee_charged = false;
        assert_eq!(due_step(&c, d(2027, 1, 2), &sweden), None);
    }

    #[test]
    fn cases_waiting_for_an_instruction_or_closed_do_not_move() {
        for state in [
            CaseState::Legal,
            CaseState::Disputed,
            CaseState::Paused,
            CaseState::Closed,
        ] {
            assert_eq!(
                due_step(&clock(state, Some(d(2026, 1, 1))), d(2027, 1, 1), &NO),
                None
            );
        }
    }

    #[test]
    fn limitation_warning_ninety_days_before_three_years() {
        let since = d(2024, 3, 1);
        // Three years end on 2027-03-01; ninety days before is 2026-12-01.
        assert!(!limitation_warning_due(since, d(2026, 11, 30)));
        assert!(limitation_warning_due(since, d(2026, 12, 1)));
    }
}
