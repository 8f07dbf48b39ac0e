//! The case lifecycle driven by time (SPEC §6.2): on an as-of date, which step a case takes.
//!
//! Pure: the case's clock, the date and the country's day counts are arguments. A step that
//! fell due on a day without a run happens at the next run and is dated that run's date (a
//! letter is never back-dated), so running the same date twice changes nothing and a skipped
//! day is caught up by the next run.

use chrono::{Days as ChronoDays, NaiveDate};

use crate::config::rules::Days;
use crate::domain::{CaseState, CloseReason, DisputeOutcome, HandoverStep};

/// What the time-driven steps need to know about a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    pub state: CaseState,
    /// The step a registered case starts at.
    pub first_step: HandoverStep,
    /// The payment deadline of the current letter.
    pub deadline: Option<NaiveDate>,
    /// The oldest due date among the case's open invoices; `None` when no principal is open.
    pub oldest_due: Option<NaiveDate>,
    /// When the creditor sent its own collection notice (the case then starts at the demand,
    /// which may go only once that notice's deadline has passed).
    pub notice_sent: Option<NaiveDate>,
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

/// What makes a case change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A day passes: the daily run for an as-of date.
    Day,
    /// An instruction of the creditor or the desk.
    Instruction(Command),
}

/// A change of a case, for the caller to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Step(Step),
    Change(Change),
}

/// The lifecycle's one transition function: what `trigger` does to a case on `today`.
/// `Ok(None)`: nothing is due; `Err`: the instruction does not fit the case (nothing changes).
pub fn transition(
    clock: &Clock,
    holds: &Holds,
    trigger: Trigger,
    today: NaiveDate,
    days: &Days,
) -> Result<Option<Transition>, String> {
    match trigger {
        Trigger::Day => Ok(due_step(clock, today, days).map(Transition::Step)),
        Trigger::Instruction(command) => {
            instruct(clock.state, holds, command, today, days).map(|c| Some(Transition::Change(c)))
        }
    }
}

/// The step due on `today`, given the case's clock and the country's days.
fn due_step(clock: &Clock, today: NaiveDate, days: &Days) -> Option<Step> {
    let letter = |step: HandoverStep| Step::Letter {
        step,
        deadline: plus(today, days.deadline(step)),
    };
    let expired = clock.deadline.is_some_and(|deadline| today > deadline);
    match clock.state {
        // The first fee-bearing letter may go once the due date is far enough behind.
        CaseState::Registered => {
            let after_due = plus(clock.oldest_due?, days.first_letter_after_due);
            let after_notice = clock
                .notice_sent
                .map_or(after_due, |sent| plus(sent, days.notice_deadline + 1));
            (today >= after_due.max(after_notice)).then(|| letter(clock.first_step))
        }
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

/// What an instruction needs to know about a case beyond its state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Holds {
    pub dispute_open: bool,
    /// The disputed part of a partial dispute; `None` with `dispute_open`: all of it.
    pub disputed_minor: Option<i64>,
    /// The state a disputed or paused case returns to.
    pub state_before_hold: Option<CaseState>,
    pub paused_since: Option<NaiveDate>,
}

/// An instruction of the creditor or the desk (SPEC §6.4), as the lifecycle sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Dispute { amount_minor: Option<i64> },
    DisputeReply(DisputeOutcome),
    Pause { until: Option<NaiveDate> },
    Resume,
    Withdraw,
    WriteOff,
    Legal,
}

/// What an instruction does to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The case waits for the creditor's reply; a partial dispute (`amount_minor`) holds only
    /// that part and the case keeps its state.
    Dispute {
        amount_minor: Option<i64>,
        reply_deadline: NaiveDate,
    },
    /// `maintain`: the case goes on from where it was, with a fresh deadline.
    Maintain {
        state: CaseState,
        deadline: Option<NaiveDate>,
    },
    /// `accept`: the disputed part (all of it when `None`) is credited.
    Accept {
        amount_minor: Option<i64>,
    },
    ToLegal,
    Close(CloseReason),
    Pause {
        until: Option<NaiveDate>,
    },
    /// Back to the state before the pause, every deadline moved by the paused days.
    Resume {
        state: CaseState,
        shift_days: i64,
    },
}

/// The one transition function for instructions: the change an instruction makes, or why it
/// does not fit the case (then nothing changes).
fn instruct(
    state: CaseState,
    holds: &Holds,
    command: Command,
    today: NaiveDate,
    days: &Days,
) -> Result<Change, String> {
    let before = holds.state_before_hold.unwrap_or(state);
    let open_step = |s: CaseState| match s {
        CaseState::Registered
        | CaseState::Reminder
        | CaseState::Notice
        | CaseState::Demand
        | CaseState::Collection => true,
        CaseState::Legal | CaseState::Disputed | CaseState::Paused | CaseState::Closed => false,
    };
    if state == CaseState::Closed {
        return Err("the case is closed; an instruction cannot change it".to_owned());
    }
    match command {
        Command::Dispute { amount_minor } => {
            if holds.dispute_open {
                return Err(
                    "the case is already disputed; wait for the creditor's reply".to_owned(),
                );
            }
            if !open_step(state) {
                return Err(format!("a case in state {state} cannot be disputed here"));
            }
            Ok(Change::Dispute {
                amount_minor,
                reply_deadline: plus(today, days.dispute_reply),
            })
        }
        Command::DisputeReply(outcome) => {
            if !holds.dispute_open {
                return Err("there is no open dispute to reply to".to_owned());
            }
            Ok(match outcome {
                DisputeOutcome::Maintain => {
                    let deadline = match before {
                        CaseState::Reminder => Some(plus(today, days.reminder_deadline)),
                        CaseState::Notice => Some(plus(today, days.notice_deadline)),
                        CaseState::Demand => Some(plus(today, days.demand_deadline)),
                        CaseState::Registered
                        | CaseState::Collection
                        | CaseState::Legal
                        | CaseState::Disputed
                        | CaseState::Paused
                        | CaseState::Closed => None,
                    };
                    Change::Maintain {
                        state: before,
                        deadline,
                    }
                }
                DisputeOutcome::Accept => Change::Accept {
                    amount_minor: holds.disputed_minor,
                },
                DisputeOutcome::Legal => Change::ToLegal,
                DisputeOutcome::Withdraw => Change::Close(CloseReason::Withdrawn),
            })
        }
        Command::Pause { until } => {
            if state == CaseState::Paused {
                return Err("the case is already paused".to_owned());
            }
            if holds.dispute_open || !open_step(state) {
                return Err(format!(
                    "a case in state {state} cannot be paused; only cases following the steps can"
                ));
            }
            Ok(Change::Pause { until })
        }
        Command::Resume => match (state, holds.paused_since) {
            (CaseState::Paused, Some(since)) => Ok(Change::Resume {
                state: before,
                shift_days: (today - since).num_days().max(0),
            }),
            _ => Err(format!(
                "the case is {state}, not paused; there is nothing to resume"
            )),
        },
        Command::Withdraw => Ok(Change::Close(CloseReason::Withdrawn)),
        Command::WriteOff => Ok(Change::Close(CloseReason::WrittenOff)),
        Command::Legal => match state {
            CaseState::Demand | CaseState::Collection => Ok(Change::ToLegal),
            CaseState::Registered
            | CaseState::Reminder
            | CaseState::Notice
            | CaseState::Legal
            | CaseState::Disputed
            | CaseState::Paused
            | CaseState::Closed => Err(format!(
                "a case goes to legal proceedings after the payment demand; this one is {state}"
            )),
        },
    }
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
            oldest_due: Some(d(2026, 9, 1)),
            notice_sent: None,
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
    fn after_the_creditors_own_notice_the_demand_waits_for_its_deadline() {
        let mut c = clock(CaseState::Registered, None);
        c.first_step = HandoverStep::Demand;
        c.notice_sent = Some(d(2026, 9, 20));
        assert_eq!(
            due_step(&c, d(2026, 10, 4), &NO),
            None,
            "the notice's deadline day"
        );
        assert!(matches!(
            due_step(&c, d(2026, 10, 5), &NO),
            Some(Step::Letter {
                step: HandoverStep::Demand,
                ..
            })
        ));
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

    #[test]
    fn an_instruction_that_does_not_fit_the_state_is_refused() {
        let today = d(2026, 10, 1);
        let none = Holds::default();
        assert!(instruct(CaseState::Notice, &none, Command::Resume, today, &NO).is_err());
        assert!(instruct(CaseState::Closed, &none, Command::Withdraw, today, &NO).is_err());
        assert!(instruct(CaseState::Notice, &none, Command::Legal, today, &NO).is_err());
        assert!(
            instruct(
                CaseState::Notice,
                &none,
                Command::DisputeReply(DisputeOutcome::Accept),
                today,
                &NO
            )
            .is_err()
        );
        let disputed = Holds {
            dispute_open: true,
            state_before_hold: Some(CaseState::Notice),
            ..Holds::default()
        };
        assert!(
            instruct(
                CaseState::Disputed,
                &disputed,
                Command::Dispute { amount_minor: None },
                today,
                &NO
            )
            .is_err()
        );
        assert!(
            instruct(
                CaseState::Disputed,
                &disputed,
                Command::Pause { until: None },
                today,
                &NO
            )
            .is_err()
        );
    }

    #[test]
    fn disputes_pauses_and_replies() {
        let today = d(2026, 10, 1);
        assert_eq!(
            instruct(
                CaseState::Notice,
                &Holds::default(),
                Command::Dispute {
                    amount_minor: Some(500)
                },
                today,
                &NO
            ),
            Ok(Change::Dispute {
                amount_minor: Some(500),
                reply_deadline: d(2026, 10, 15)
            })
        );
        let disputed = Holds {
            dispute_open: true,
            state_before_hold: Some(CaseState::Notice),
            ..Holds::default()
        };
        assert_eq!(
            instruct(
                CaseState::Disputed,
                &disputed,
                Command::DisputeReply(DisputeOutcome::Maintain),
                today,
                &NO
            ),
            Ok(Change::Maintain {
                state: CaseState::Notice,
                deadline: Some(d(2026, 10, 15))
            })
        );
        let paused = Holds {
            state_before_hold: Some(CaseState::Demand),
            paused_since: Some(d(2026, 9, 21)),
            ..Holds::default()
        };
        assert_eq!(
            instruct(CaseState::Paused, &paused, Command::Resume, today, &NO),
            Ok(Change::Resume {
                state: CaseState::Demand,
                shift_days: 10
            })
        );
    }
}
