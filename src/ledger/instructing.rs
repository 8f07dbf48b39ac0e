//! Applying the lifecycle's instructions, pure: from the cases a chunk of instructions touches,
//! as loaded, the changes its disputes, replies, pauses, resumes, closings and legal steps make
//! (SPEC §6.2, §6.4).
//!
//! `apply::instructions` gathers a chunk's keys ([`InstructionKeys`]), the store loads what
//! they touch into an [`InstructionSet`] (`Tx::load_instructions`), [`decide`] works through
//! the chunk in file order and the store writes the [`Instructed`] changes in bulk
//! (`Tx::write_instructions`). The working set is changed as each instruction is decided, so a
//! second instruction on a case in the same chunk sees what the first one did, and an
//! instruction id repeated further down is found. `assign_payment` is not decided here: it
//! settles a payment (`settlement`), and the caller splits the chunk around it.
//!
//! Changes are listed in the order the one-instruction-at-a-time run made them, and new events
//! carry the ids that run gave them (from the next free id loaded with the working set), so
//! every output stays byte for byte what it was.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Days as ChronoDays, NaiveDate};

use crate::config::Config;
use crate::config::rules::RuleError;
use crate::diagnostic::{Diagnostic, code};
use crate::domain::{Action, CaseState, CloseReason, Component, EventKind, HandoverStep};
use crate::ingest::validate::instruction::{InstructionRecord, Target};
use crate::ledger::RecordOutcome;
use crate::ledger::allocation::{OpenItem, allocate};
use crate::ledger::daily::{OpenInvoice, interest_posting};
use crate::ledger::lifecycle::{Change, Clock, Command, Holds, Transition, Trigger, transition};
use crate::ledger::settlement::{CaseLedger, LoadedCase, NewCaseEvent, NewPosting};
use crate::money::format_minor;

/// The key a record names its case by: the case number (or agency reference), or
/// `creditor/invoice number` for an invoice.
pub fn case_key(record: &InstructionRecord) -> String {
    match &record.target {
        Target::Case(case_no) => case_no.clone(),
        Target::Invoice(invoice_no) => format!("{}/{invoice_no}", record.creditor_id),
    }
}

/// The lifecycle command of an instruction; `None` for `assign_payment` (not the lifecycle's)
/// and for a reply without its outcome.
pub fn command_of(record: &InstructionRecord) -> Option<Command> {
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

/// What the store must load for a chunk from one sender.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct InstructionKeys {
    /// The instruction ids (repeats are found by them).
    pub instruction_ids: BTreeSet<String>,
    /// The keys the records name their cases by ([`case_key`]).
    pub case_keys: BTreeSet<String>,
}

impl InstructionKeys {
    pub fn add(&mut self, record: &InstructionRecord) {
        self.instruction_ids.insert(record.instruction_id.clone());
        self.case_keys.insert(case_key(record));
    }
}

/// A case as loaded for instructions: what settling loads, plus its clock and holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstructedCase {
    pub case: LoadedCase,
    pub first_step: HandoverStep,
    pub deadline: Option<NaiveDate>,
    pub collection_since: Option<NaiveDate>,
    pub heavy_fee_charged: bool,
    /// The latest date the creditor says it sent its own collection notice.
    pub notice_sent: Option<NaiveDate>,
    pub holds: Holds,
    pub dispute_reply_deadline: Option<NaiveDate>,
    pub pause_until: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
}

/// A case's columns after the chunk changed it: every column an instruction can set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseColumns {
    pub case_id: i64,
    pub state: CaseState,
    pub deadline: Option<NaiveDate>,
    pub collection_since: Option<NaiveDate>,
    pub dispute_open: bool,
    pub disputed_minor: Option<i64>,
    pub dispute_reply_deadline: Option<NaiveDate>,
    pub state_before_hold: Option<CaseState>,
    pub paused_since: Option<NaiveDate>,
    pub pause_until: Option<NaiveDate>,
    pub close_reason: Option<CloseReason>,
    pub state_before_close: Option<CaseState>,
    pub closed_on: Option<NaiveDate>,
}

/// A case as the chunk's decisions have left it so far.
#[derive(Debug, Clone)]
struct WorkCase {
    loaded: InstructedCase,
    ledger: CaseLedger,
    changed: bool,
}

impl WorkCase {
    fn post(&mut self, invoice_id: Option<i64>, component: Component, amount_minor: i64) {
        self.ledger.post(invoice_id, component, amount_minor);
    }

    fn principal(&self) -> i64 {
        self.ledger.principal()
    }

    fn open_invoices(&self) -> Vec<OpenInvoice> {
        self.ledger.open_invoices(&self.loaded.case)
    }

    fn open_items(&self) -> Vec<OpenItem> {
        self.ledger.open_items(&self.loaded.case)
    }

    fn clock(&self) -> Clock {
        Clock {
            state: self.loaded.case.state,
            first_step: self.loaded.first_step,
            deadline: self.loaded.deadline,
            oldest_due: self.open_invoices().first().map(|i| i.due_date),
            notice_sent: self.loaded.notice_sent,
            collection_since: self.loaded.collection_since,
            heavy_fee_charged: self.loaded.heavy_fee_charged,
        }
    }

    /// Ends a dispute; `state` moves the case on (and clears the state it would return to)
    /// with `deadline` as its new deadline.
    fn end_dispute(&mut self, state: Option<CaseState>, deadline: Option<NaiveDate>) {
        let l = &mut self.loaded;
        l.holds.dispute_open = false;
        l.holds.disputed_minor = None;
        l.dispute_reply_deadline = None;
        if let Some(state) = state {
            l.case.state = state;
            l.holds.state_before_hold = None;
            l.deadline = deadline;
        }
    }

    fn close(&mut self, reason: CloseReason, today: NaiveDate) {
        let l = &mut self.loaded;
        l.case.state_before_close = Some(l.case.state);
        l.case.state = CaseState::Closed;
        l.case.close_reason = Some(reason);
        l.closed_on = Some(today);
        l.deadline = None;
    }

    fn columns(&self) -> CaseColumns {
        let l = &self.loaded;
        CaseColumns {
            case_id: l.case.id,
            state: l.case.state,
            deadline: l.deadline,
            collection_since: l.collection_since,
            dispute_open: l.holds.dispute_open,
            disputed_minor: l.holds.disputed_minor,
            dispute_reply_deadline: l.dispute_reply_deadline,
            state_before_hold: l.holds.state_before_hold,
            paused_since: l.holds.paused_since,
            pause_until: l.pause_until,
            close_reason: l.case.close_reason,
            state_before_close: l.case.state_before_close,
            closed_on: l.closed_on,
        }
    }
}

/// The cases a chunk of one sender's instructions touches, changed as they are decided.
#[derive(Debug, Clone)]
pub struct InstructionSet {
    cases: BTreeMap<i64, WorkCase>,
    /// [`case_key`] -> case.
    by_key: HashMap<String, i64>,
    /// The sender's instruction ids already applied, with their fingerprints.
    applied: HashMap<String, String>,
    next_event_id: i64,
}

impl InstructionSet {
    /// `by_key` resolves the records' case keys (a key missing names no case); `applied`
    /// holds the fingerprints of the chunk's instruction ids already received from the
    /// sender; `next_event_id` is the id the next event gets.
    pub fn new(
        cases: Vec<InstructedCase>,
        by_key: HashMap<String, i64>,
        applied: HashMap<String, String>,
        next_event_id: i64,
    ) -> Self {
        let cases = cases
            .into_iter()
            .map(|mut loaded| {
                let sums = std::mem::take(&mut loaded.case.ledger);
                let mut work = WorkCase {
                    loaded,
                    ledger: CaseLedger::default(),
                    changed: false,
                };
                for sum in sums {
                    work.post(sum.invoice_id, sum.component, sum.amount_minor);
                }
                (work.loaded.case.id, work)
            })
            .collect();
        InstructionSet {
            cases,
            by_key,
            applied,
            next_event_id,
        }
    }
}

/// Everything a chunk writes, in the order it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instructed {
    /// The business date: events and postings are dated with it.
    pub date: NaiveDate,
    /// One per record, in order.
    pub outcomes: Vec<RecordOutcome>,
    /// The instructions applied, in order: (instruction id, action, case, fingerprint).
    pub instructions: Vec<(String, Action, i64, String)>,
    /// New events, in id order.
    pub events: Vec<NewCaseEvent>,
    /// New postings in order.
    pub postings: Vec<NewPosting>,
    /// (invoice, date): interest is now posted up to and including the date.
    pub interest_through: Vec<(i64, NaiveDate)>,
    /// The columns of every case changed, in case order.
    pub cases: Vec<CaseColumns>,
}

/// A decision the rule tables or the loaded data cannot answer: the file's transaction rolls
/// back (a defect, not a bad record).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstructError {
    #[error("rules: {0}")]
    Days(RuleError),
    #[error("interest for case {case_no}: {error}")]
    Interest { case_no: String, error: RuleError },
    #[error("case {case_id} was not loaded with the chunk's working set")]
    NotLoaded { case_id: i64 },
    #[error("assign_payment is settled, not decided with the lifecycle's instructions")]
    Assignment,
    #[error("an instruction always changes or is refused")]
    NoChange,
}

fn reject(
    record: &InstructionRecord,
    field: &str,
    code: &'static str,
    message: String,
) -> RecordOutcome {
    RecordOutcome::Rejected(
        Diagnostic::at(record.position.clone(), code, message)
            .with_field(field)
            .with_key(Some(&record.instruction_id)),
    )
}

/// Decides `records` (none of them `assign_payment`) in order over `set` on business date
/// `today`.
pub fn decide(
    config: &Config,
    today: NaiveDate,
    set: &mut InstructionSet,
    records: &[InstructionRecord],
) -> Result<Instructed, InstructError> {
    let mut out = Instructed {
        date: today,
        outcomes: Vec::with_capacity(records.len()),
        instructions: Vec::new(),
        events: Vec::new(),
        postings: Vec::new(),
        interest_through: Vec::new(),
        cases: Vec::new(),
    };
    for record in records {
        let outcome = Decider {
            config,
            today,
            set,
            out: &mut out,
        }
        .record(record)?;
        out.outcomes.push(outcome);
    }
    out.cases = set
        .cases
        .values()
        .filter(|c| c.changed)
        .map(WorkCase::columns)
        .collect();
    Ok(out)
}

struct Decider<'s> {
    config: &'s Config,
    today: NaiveDate,
    set: &'s mut InstructionSet,
    out: &'s mut Instructed,
}

impl Decider<'_> {
    fn record(&mut self, record: &InstructionRecord) -> Result<RecordOutcome, InstructError> {
        if record.action == Action::AssignPayment {
            return Err(InstructError::Assignment);
        }
        let fingerprint = record.fingerprint();
        if let Some(existing) = self.set.applied.get(&record.instruction_id) {
            if *existing == fingerprint {
                return Ok(RecordOutcome::Unchanged);
            }
            return Ok(reject(
                record,
                "instruction_id",
                code::CONFLICT,
                format!(
                    "instruction {} was already received with other content; an instruction id is used once",
                    record.instruction_id
                ),
            ));
        }
        // A case of another creditor gets the same message as one that does not exist: a
        // sender learns nothing about other creditors' cases.
        let case_id = self.set.by_key.get(&case_key(record)).copied();
        let case_id = case_id.filter(|id| {
            self.set
                .cases
                .get(id)
                .is_some_and(|c| c.loaded.case.creditor_id == record.creditor_id)
        });
        let Some(case_id) = case_id else {
            return Ok(reject(
                record,
                "case_no",
                code::UNKNOWN_INVOICE,
                "no case of this creditor has that invoice or case number".to_owned(),
            ));
        };
        // Validation requires an outcome for a reply; say so rather than guess one.
        let Some(command) = command_of(record) else {
            return Ok(reject(
                record,
                "outcome",
                code::MISSING_FIELD,
                "a dispute_reply needs an outcome".to_owned(),
            ));
        };
        if let Err(why) = self.command(case_id, command, record.reason.as_deref())? {
            let case_no = &self.case(case_id)?.loaded.case.case_no;
            return Ok(reject(
                record,
                "action",
                code::INVALID_STATE,
                format!("{} does not fit case {case_no}: {why}", record.action),
            ));
        }
        self.set
            .applied
            .insert(record.instruction_id.clone(), fingerprint.clone());
        self.out.instructions.push((
            record.instruction_id.clone(),
            record.action,
            case_id,
            fingerprint,
        ));
        Ok(RecordOutcome::Applied)
    }

    fn case(&mut self, case_id: i64) -> Result<&mut WorkCase, InstructError> {
        self.set
            .cases
            .get_mut(&case_id)
            .ok_or(InstructError::NotLoaded { case_id })
    }

    fn event(
        &mut self,
        case_id: i64,
        kind: EventKind,
        state: CaseState,
        amount_minor: Option<i64>,
        detail: String,
    ) -> i64 {
        let id = self.set.next_event_id;
        self.set.next_event_id += 1;
        self.out.events.push(NewCaseEvent {
            id,
            case_id,
            kind,
            amount_minor,
            state,
            detail,
        });
        id
    }

    fn posting(
        &mut self,
        event_id: i64,
        case_id: i64,
        invoice_id: Option<i64>,
        component: Component,
        amount_minor: i64,
    ) -> Result<(), InstructError> {
        self.case(case_id)?
            .post(invoice_id, component, amount_minor);
        self.out.postings.push(NewPosting {
            event_id,
            case_id,
            invoice_id,
            component,
            amount_minor,
        });
        Ok(())
    }

    /// Applies an instruction's command to a case: the inner `Err` holds the reason it does
    /// not fit (nothing changed).
    fn command(
        &mut self,
        case_id: i64,
        command: Command,
        reason: Option<&str>,
    ) -> Result<Result<(), String>, InstructError> {
        let today = self.today;
        let config = self.config;
        let case = self.case(case_id)?;
        let Some(creditor) = config.creditor(&case.loaded.case.creditor_id) else {
            return Ok(Err("the case's creditor is no longer configured".to_owned()));
        };
        let days = config
            .rules
            .days(creditor.country, today)
            .map_err(InstructError::Days)?;
        if case.loaded.case.state == CaseState::Closed {
            return Ok(Err(
                "the case is closed; an instruction cannot change it".to_owned()
            ));
        }
        let hold = case.loaded.holds.clone();
        let before_change = case.loaded.case.state;
        let deadline_before = case.loaded.deadline;
        let change = match transition(
            &case.clock(),
            &hold,
            Trigger::Instruction(command),
            today,
            &days,
        ) {
            Ok(Some(Transition::Change(change))) => change,
            // The lifecycle promises a change or a refusal for an instruction.
            Ok(Some(Transition::Step(_)) | None) => return Err(InstructError::NoChange),
            Err(why) => return Ok(Err(why)),
        };
        case.changed = true;
        let note = reason.map(|r| format!(" ({r})")).unwrap_or_default();
        match change {
            Change::Dispute {
                amount_minor,
                reply_deadline,
            } => {
                let l = &mut case.loaded;
                l.holds.dispute_open = true;
                l.holds.disputed_minor = amount_minor;
                l.dispute_reply_deadline = Some(reply_deadline);
                // Only a full dispute stops the steps; a partial one holds only its part.
                if amount_minor.is_none() {
                    l.holds.state_before_hold = Some(l.case.state);
                    l.case.state = CaseState::Disputed;
                }
                let what = amount_minor.map_or("the whole claim".to_owned(), |a| {
                    format!("{} of the claim", format_minor(a, '.'))
                });
                let state = l.case.state;
                self.event(
                    case_id,
                    EventKind::Disputed,
                    state,
                    amount_minor,
                    format!(
                        "the debtor disputes {what}; the creditor must reply by {reply_deadline}{note}"
                    ),
                );
            }
            Change::Maintain { state, deadline } => {
                let full = before_change == CaseState::Disputed;
                // A partial dispute never stopped the steps: only the hold ends; a full one
                // goes on from its step with a fresh deadline.
                case.end_dispute(full.then_some(state), deadline);
                let detail = match (full, deadline) {
                    (true, Some(d)) => {
                        format!(
                            "maintain: the creditor maintains the claim; new deadline {d}{note}"
                        )
                    }
                    (true, None) => format!("maintain: the creditor maintains the claim{note}"),
                    (false, _) => {
                        format!("maintain: the creditor maintains the disputed part{note}")
                    }
                };
                let after = case.loaded.case.state;
                self.event(case_id, EventKind::DisputeReply, after, None, detail);
            }
            Change::Accept { amount_minor } => {
                let full = before_change == CaseState::Disputed;
                let before = hold.state_before_hold.unwrap_or(CaseState::Registered);
                case.end_dispute(full.then_some(before), deadline_before);
                self.post_interest(case_id)?;
                let case = self.case(case_id)?;
                let principal = case.principal();
                let credit = amount_minor.unwrap_or(principal).min(principal);
                let state = case.loaded.case.state;
                let event_id = self.event(
                    case_id,
                    EventKind::DisputeReply,
                    state,
                    Some(-credit),
                    format!(
                        "accept: the creditor accepts the dispute; {} credited{note}",
                        format_minor(credit, '.')
                    ),
                );
                // The credit reduces the principal, oldest invoice first.
                let items: Vec<OpenItem> = self
                    .case(case_id)?
                    .open_items()
                    .into_iter()
                    .filter(|i| i.component == Component::Principal)
                    .collect();
                for (index, amount) in allocate(credit, &items, &[Component::Principal]).parts {
                    self.posting(
                        event_id,
                        case_id,
                        items[index].invoice_id,
                        Component::Principal,
                        -amount,
                    )?;
                }
                if self.case(case_id)?.principal() == 0 {
                    self.close_credited(case_id)?;
                }
            }
            Change::ToLegal => {
                if hold.dispute_open {
                    case.end_dispute(None, None);
                }
                case.loaded.case.state = CaseState::Legal;
                case.loaded.deadline = None;
                self.event(
                    case_id,
                    EventKind::Legal,
                    CaseState::Legal,
                    None,
                    format!("the case goes to legal proceedings{note}"),
                );
            }
            Change::Close(close_reason) => {
                if hold.dispute_open {
                    case.end_dispute(None, None);
                }
                if close_reason == CloseReason::WrittenOff {
                    self.write_off(case_id, &note)?;
                }
                self.case(case_id)?.close(close_reason, today);
                self.event(
                    case_id,
                    EventKind::Closed,
                    CaseState::Closed,
                    None,
                    format!("{close_reason}{note}"),
                );
            }
            Change::Pause { until } => {
                let l = &mut case.loaded;
                l.holds.state_before_hold = Some(l.case.state);
                l.case.state = CaseState::Paused;
                l.holds.paused_since = Some(today);
                l.pause_until = until;
                let detail = match until {
                    Some(u) => format!("paused until {u}{note}"),
                    None => format!("paused until resumed{note}"),
                };
                self.event(case_id, EventKind::Paused, CaseState::Paused, None, detail);
            }
            Change::Resume { state, shift_days } => {
                let l = &mut case.loaded;
                l.case.state = state;
                l.holds.state_before_hold = None;
                l.holds.paused_since = None;
                l.pause_until = None;
                // Every deadline moves by the paused days.
                l.deadline = l.deadline.map(|d| shift(d, shift_days));
                l.collection_since = l.collection_since.map(|d| shift(d, shift_days));
                self.event(
                    case_id,
                    EventKind::Resumed,
                    state,
                    None,
                    format!("resumed; deadlines moved by {shift_days} paused day(s){note}"),
                );
            }
        }
        Ok(Ok(()))
    }

    /// Posts the case's late-payment interest up to and including today, as the daily steps
    /// and settlement do (`daily::interest_posting`), before anything changes its principal.
    fn post_interest(&mut self, case_id: i64) -> Result<(), InstructError> {
        let today = self.today;
        let rules = &self.config.rules;
        let config = self.config;
        // Through the field, not `self.case`: the interest dates go to `self.out` meanwhile.
        let case = self
            .set
            .cases
            .get_mut(&case_id)
            .ok_or(InstructError::NotLoaded { case_id })?;
        let Some(creditor) = config.creditor(&case.loaded.case.creditor_id) else {
            return Ok(());
        };
        let open = case.open_invoices();
        let due = interest_posting(
            rules,
            creditor.country,
            case.loaded.case.debtor_type,
            &open,
            today,
        )
        .map_err(|error| InstructError::Interest {
            case_no: case.loaded.case.case_no.clone(),
            error,
        })?;
        for &invoice_id in &due.through {
            if let Some(loaded) = case
                .loaded
                .case
                .invoices
                .iter_mut()
                .find(|i| i.id == invoice_id)
            {
                loaded.interest_through = Some(today);
            }
            self.out.interest_through.push((invoice_id, today));
        }
        if due.total == 0 {
            return Ok(());
        }
        let state = case.loaded.case.state;
        let event_id = self.event(
            case_id,
            EventKind::Interest,
            state,
            Some(due.total),
            due.detail,
        );
        for (invoice_id, minor) in due.parts {
            self.posting(
                event_id,
                case_id,
                Some(invoice_id),
                Component::Interest,
                minor,
            )?;
        }
        Ok(())
    }

    /// Writes off everything open on a case (the reconciliation's `write_off`).
    fn write_off(&mut self, case_id: i64, note: &str) -> Result<(), InstructError> {
        self.post_interest(case_id)?;
        let case = self.case(case_id)?;
        let items = case.open_items();
        let total: i64 = items.iter().map(|i| i.open_minor).sum();
        let state = case.loaded.case.state;
        let event_id = self.event(
            case_id,
            EventKind::WrittenOff,
            state,
            Some(-total),
            format!("{} written off{note}", format_minor(total, '.')),
        );
        for item in items {
            self.posting(
                event_id,
                case_id,
                item.invoice_id,
                item.component,
                -item.open_minor,
            )?;
        }
        Ok(())
    }

    /// Nothing of the claims is left: unpaid fees, costs and interest are written off item by
    /// item (as they were charged, so a later payment finds nothing open and is overpaid
    /// whole) and the case closes `credited` (SPEC §6.2).
    fn close_credited(&mut self, case_id: i64) -> Result<(), InstructError> {
        let charges: Vec<OpenItem> = self
            .case(case_id)?
            .open_items()
            .into_iter()
            .filter(|item| item.component != Component::Principal)
            .collect();
        let written_off: i64 = charges.iter().map(|item| item.open_minor).sum();
        if written_off != 0 {
            let event_id = self.event(
                case_id,
                EventKind::FeesWrittenOff,
                CaseState::Closed,
                Some(-written_off),
                "the claims were credited in full; unpaid fees, costs and interest are written off"
                    .to_owned(),
            );
            for item in &charges {
                self.posting(
                    event_id,
                    case_id,
                    item.invoice_id,
                    item.component,
                    -item.open_minor,
                )?;
            }
        }
        let today = self.today;
        self.case(case_id)?.close(CloseReason::Credited, today);
        self.event(
            case_id,
            EventKind::Closed,
            CaseState::Closed,
            None,
            CloseReason::Credited.as_str().to_owned(),
        );
        Ok(())
    }
}

/// `date` moved by `days` (as SQLite's `date(d, '+N days')` did).
fn shift(date: NaiveDate, days: i64) -> NaiveDate {
    let moved = if days >= 0 {
        date.checked_add_days(ChronoDays::new(days.unsigned_abs()))
    } else {
        date.checked_sub_days(ChronoDays::new(days.unsigned_abs()))
    };
    moved.unwrap_or(date)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Position;
    use crate::domain::DocumentType;
    use crate::domain::{Country, DebtorType, DisputeOutcome};
    use crate::ledger::settlement::{LedgerSum, LoadedInvoice};
    use std::path::Path;

    const NORDLYS: &str = "923609016";
    const CASE_NO: &str = "2026-000001";

    fn day(month: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, month, d).unwrap()
    }

    /// The business date every test decides on.
    fn today() -> NaiveDate {
        day(10, 2)
    }

    fn config() -> Config {
        let source = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config/kravflyt.toml"));
        let text = std::fs::read_to_string(source).unwrap();
        Config::from_toml(&text, source, Path::new("/")).unwrap()
    }

    fn days() -> crate::config::rules::Days {
        config().rules.days(Country::No, today()).unwrap()
    }

    /// Case 1 of nordlys in `notice` (deadline 10 October): invoice 11 with `principal` open
    /// and a 70.00 fee, interest posted through `interest_through`.
    fn case(principal: i64, interest_through: NaiveDate) -> InstructedCase {
        InstructedCase {
            case: LoadedCase {
                id: 1,
                case_no: CASE_NO.into(),
                reference: "7000000013".into(),
                state: CaseState::Notice,
                close_reason: None,
                state_before_close: None,
                creditor_id: NORDLYS.into(),
                currency: "NOK".into(),
                debtor_type: DebtorType::Person,
                opened_on: day(6, 1),
                invoices: vec![LoadedInvoice {
                    id: 11,
                    document_type: DocumentType::Invoice,
                    creditor_id: NORDLYS.into(),
                    invoice_no: "INV1".into(),
                    reference: None,
                    due_date: day(5, 1),
                    interest_through: Some(interest_through),
                }],
                ledger: vec![
                    LedgerSum {
                        invoice_id: Some(11),
                        component: Component::Principal,
                        amount_minor: principal,
                    },
                    LedgerSum {
                        invoice_id: Some(11),
                        component: Component::Fee,
                        amount_minor: 7000,
                    },
                ],
            },
            first_step: HandoverStep::Notice,
            deadline: Some(day(10, 10)),
            collection_since: None,
            heavy_fee_charged: false,
            notice_sent: None,
            holds: Holds::default(),
            dispute_reply_deadline: None,
            pause_until: None,
            closed_on: None,
        }
    }

    /// The case fully disputed, waiting for the reply.
    fn disputed(principal: i64, disputed_minor: Option<i64>) -> InstructedCase {
        let mut c = case(principal, today());
        if disputed_minor.is_none() {
            c.case.state = CaseState::Disputed;
            c.holds.state_before_hold = Some(CaseState::Notice);
        }
        c.holds.dispute_open = true;
        c.holds.disputed_minor = disputed_minor;
        c.dispute_reply_deadline = Some(day(10, 5));
        c
    }

    fn instruction(id: &str, action: Action) -> InstructionRecord {
        InstructionRecord {
            position: Position::Line(2),
            instruction_id: id.into(),
            creditor_id: NORDLYS.into(),
            target: Target::Case(CASE_NO.into()),
            action,
            amount_minor: None,
            outcome: None,
            until_date: None,
            payment_id: None,
            reason: None,
        }
    }

    fn reply(id: &str, outcome: DisputeOutcome) -> InstructionRecord {
        InstructionRecord {
            outcome: Some(outcome),
            ..instruction(id, Action::DisputeReply)
        }
    }

    fn set_with(case: InstructedCase, applied: &[(&str, String)]) -> InstructionSet {
        InstructionSet::new(
            vec![case],
            [(CASE_NO.to_owned(), 1)].into(),
            applied
                .iter()
                .map(|(id, f)| ((*id).to_owned(), f.clone()))
                .collect(),
            500,
        )
    }

    fn run(set: &mut InstructionSet, records: &[InstructionRecord]) -> Instructed {
        decide(&config(), today(), set, records).unwrap()
    }

    fn kinds(out: &Instructed) -> Vec<EventKind> {
        out.events.iter().map(|e| e.kind).collect()
    }

    fn rejected_code(outcome: &RecordOutcome) -> &'static str {
        match outcome {
            RecordOutcome::Rejected(d) => d.code,
            other => panic!("not rejected: {other:?}"),
        }
    }

    #[test]
    fn a_full_dispute_holds_the_case_until_the_reply_deadline() {
        let mut set = set_with(case(100_000, today()), &[]);
        let out = run(&mut set, &[instruction("I1", Action::Dispute)]);
        assert_eq!(out.outcomes, vec![RecordOutcome::Applied]);
        let reply_by = today() + chrono::Days::new(u64::from(days().dispute_reply));
        assert_eq!(
            out.events,
            vec![NewCaseEvent {
                id: 500,
                case_id: 1,
                kind: EventKind::Disputed,
                amount_minor: None,
                state: CaseState::Disputed,
                detail: format!(
                    "the debtor disputes the whole claim; the creditor must reply by {reply_by}"
                ),
            }]
        );
        let c = &out.cases[0];
        assert_eq!(c.state, CaseState::Disputed);
        assert!(c.dispute_open);
        assert_eq!(c.disputed_minor, None);
        assert_eq!(c.dispute_reply_deadline, Some(reply_by));
        assert_eq!(c.state_before_hold, Some(CaseState::Notice));
        assert_eq!(c.deadline, Some(day(10, 10)));
        assert_eq!(
            out.instructions,
            vec![(
                "I1".to_owned(),
                Action::Dispute,
                1,
                instruction("I1", Action::Dispute).fingerprint()
            )]
        );
    }

    #[test]
    fn a_dispute_maintained_in_the_same_chunk_goes_on_with_a_fresh_deadline() {
        let mut set = set_with(case(100_000, today()), &[]);
        let out = run(
            &mut set,
            &[
                instruction("I1", Action::Dispute),
                reply("I2", DisputeOutcome::Maintain),
            ],
        );
        assert_eq!(out.outcomes, vec![RecordOutcome::Applied; 2]);
        assert_eq!(
            kinds(&out),
            vec![EventKind::Disputed, EventKind::DisputeReply]
        );
        assert_eq!(out.events[1].id, 501);
        assert_eq!(out.events[1].state, CaseState::Notice);
        let deadline = today() + chrono::Days::new(u64::from(days().notice_deadline));
        assert_eq!(
            out.events[1].detail,
            format!("maintain: the creditor maintains the claim; new deadline {deadline}")
        );
        let c = &out.cases[0];
        assert_eq!(c.state, CaseState::Notice);
        assert_eq!(c.deadline, Some(deadline));
        assert!(!c.dispute_open);
        assert_eq!(c.state_before_hold, None);
        assert_eq!(c.dispute_reply_deadline, None);
    }

    #[test]
    fn an_accepted_full_dispute_credits_the_principal_and_closes_credited() {
        let mut set = set_with(disputed(100_000, None), &[]);
        let out = run(&mut set, &[reply("I1", DisputeOutcome::Accept)]);
        assert_eq!(out.outcomes, vec![RecordOutcome::Applied]);
        assert_eq!(
            kinds(&out),
            vec![
                EventKind::DisputeReply,
                EventKind::FeesWrittenOff,
                EventKind::Closed
            ]
        );
        assert_eq!(out.events[0].amount_minor, Some(-100_000));
        assert_eq!(out.events[0].state, CaseState::Notice);
        assert_eq!(out.events[1].amount_minor, Some(-7000));
        assert_eq!(out.events[2].detail, "credited");
        assert_eq!(
            out.postings,
            vec![
                NewPosting {
                    event_id: 500,
                    case_id: 1,
                    invoice_id: Some(11),
                    component: Component::Principal,
                    amount_minor: -100_000,
                },
                NewPosting {
                    event_id: 501,
                    case_id: 1,
                    invoice_id: Some(11),
                    component: Component::Fee,
                    amount_minor: -7000,
                },
            ]
        );
        let c = &out.cases[0];
        assert_eq!(c.state, CaseState::Closed);
        assert_eq!(c.close_reason, Some(CloseReason::Credited));
        assert_eq!(c.state_before_close, Some(CaseState::Notice));
        assert_eq!(c.closed_on, Some(today()));
        assert_eq!(c.deadline, None);
        // Nothing was due since the interest was posted through today.
        assert!(out.interest_through.iter().all(|(_, d)| *d == today()));
    }

    #[test]
    fn an_accepted_partial_dispute_credits_only_its_part_and_keeps_the_case_open() {
        let mut set = set_with(disputed(100_000, Some(30_000)), &[]);
        let out = run(&mut set, &[reply("I1", DisputeOutcome::Accept)]);
        assert_eq!(kinds(&out), vec![EventKind::DisputeReply]);
        assert_eq!(out.events[0].amount_minor, Some(-30_000));
        assert_eq!(out.postings[0].amount_minor, -30_000);
        let c = &out.cases[0];
        assert_eq!(c.state, CaseState::Notice);
        assert!(!c.dispute_open);
        assert_eq!(c.deadline, Some(day(10, 10)));
    }

    #[test]
    fn a_pause_and_its_resume_move_the_deadline_by_the_paused_days() {
        let until = day(12, 1);
        let mut set = set_with(case(100_000, today()), &[]);
        let out = run(
            &mut set,
            &[InstructionRecord {
                until_date: Some(until),
                ..instruction("I1", Action::Pause)
            }],
        );
        assert_eq!(kinds(&out), vec![EventKind::Paused]);
        assert_eq!(out.events[0].detail, format!("paused until {until}"));
        let c = &out.cases[0];
        assert_eq!(
            (c.state, c.state_before_hold, c.paused_since, c.pause_until),
            (
                CaseState::Paused,
                Some(CaseState::Notice),
                Some(today()),
                Some(until)
            )
        );

        // Paused ten days ago, with a collection date: both move.
        let mut paused = case(100_000, today());
        paused.case.state = CaseState::Paused;
        paused.holds.state_before_hold = Some(CaseState::Notice);
        paused.holds.paused_since = Some(day(9, 22));
        paused.collection_since = Some(day(9, 1));
        paused.pause_until = Some(until);
        let mut set = set_with(paused, &[]);
        let out = run(
            &mut set,
            &[InstructionRecord {
                reason: Some("agreed".into()),
                ..instruction("I2", Action::Resume)
            }],
        );
        assert_eq!(
            out.events[0].detail,
            "resumed; deadlines moved by 10 paused day(s) (agreed)"
        );
        let c = &out.cases[0];
        assert_eq!(c.state, CaseState::Notice);
        assert_eq!(c.deadline, Some(day(10, 20)));
        assert_eq!(c.collection_since, Some(day(9, 11)));
        assert_eq!(
            (c.state_before_hold, c.paused_since, c.pause_until),
            (None, None, None)
        );
    }

    #[test]
    fn a_write_off_posts_the_interest_then_writes_everything_off_and_closes() {
        let mut set = set_with(case(100_000, day(9, 1)), &[]);
        let out = run(&mut set, &[instruction("I1", Action::WriteOff)]);
        assert_eq!(
            kinds(&out),
            vec![
                EventKind::Interest,
                EventKind::WrittenOff,
                EventKind::Closed
            ]
        );
        let interest = out.events[0].amount_minor.unwrap();
        assert!(interest > 0);
        assert_eq!(out.interest_through, vec![(11, today())]);
        assert_eq!(
            out.events[1].amount_minor,
            Some(-(100_000 + 7000 + interest))
        );
        // Written off per invoice and component in name order: fee, interest, principal.
        let written: Vec<(Component, i64)> = out.postings[1..]
            .iter()
            .map(|p| (p.component, p.amount_minor))
            .collect();
        assert_eq!(
            written,
            vec![
                (Component::Fee, -7000),
                (Component::Interest, -interest),
                (Component::Principal, -100_000)
            ]
        );
        assert_eq!(out.events[2].detail, "written_off");
        let c = &out.cases[0];
        assert_eq!(c.close_reason, Some(CloseReason::WrittenOff));
        assert_eq!(c.state_before_close, Some(CaseState::Notice));
    }

    #[test]
    fn a_withdrawal_closes_without_posting_and_ends_an_open_dispute() {
        let mut set = set_with(disputed(100_000, None), &[]);
        let out = run(&mut set, &[instruction("I1", Action::Withdraw)]);
        assert_eq!(kinds(&out), vec![EventKind::Closed]);
        assert_eq!(out.events[0].detail, "withdrawn");
        assert!(out.postings.is_empty());
        let c = &out.cases[0];
        assert_eq!(c.state, CaseState::Closed);
        assert_eq!(c.close_reason, Some(CloseReason::Withdrawn));
        // The dispute ends without moving the case on: it closes from `disputed`.
        assert_eq!(c.state_before_close, Some(CaseState::Disputed));
        assert!(!c.dispute_open);
    }

    #[test]
    fn an_instruction_that_does_not_fit_changes_nothing() {
        let mut set = set_with(case(100_000, today()), &[]);
        let out = run(
            &mut set,
            &[
                instruction("I1", Action::Legal),
                instruction("I2", Action::Resume),
            ],
        );
        assert_eq!(rejected_code(&out.outcomes[0]), code::INVALID_STATE);
        match &out.outcomes[0] {
            RecordOutcome::Rejected(d) => assert_eq!(
                d.message,
                format!(
                    "legal does not fit case {CASE_NO}: a case goes to legal proceedings after the payment demand; this one is notice"
                )
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!(rejected_code(&out.outcomes[1]), code::INVALID_STATE);
        assert!(out.events.is_empty() && out.cases.is_empty() && out.instructions.is_empty());
    }

    #[test]
    fn a_closed_case_takes_no_instruction_and_a_second_close_in_the_chunk_is_refused() {
        let mut set = set_with(case(100_000, today()), &[]);
        let out = run(
            &mut set,
            &[
                instruction("I1", Action::Withdraw),
                instruction("I2", Action::WriteOff),
            ],
        );
        assert_eq!(out.outcomes[0], RecordOutcome::Applied);
        assert_eq!(rejected_code(&out.outcomes[1]), code::INVALID_STATE);
        assert_eq!(kinds(&out), vec![EventKind::Closed]);
    }

    #[test]
    fn a_repeated_instruction_is_unchanged_and_a_changed_one_a_conflict() {
        let dispute = instruction("I1", Action::Dispute);
        let mut set = set_with(case(100_000, today()), &[("I1", dispute.fingerprint())]);
        let out = run(
            &mut set,
            &[
                dispute.clone(),
                InstructionRecord {
                    amount_minor: Some(500),
                    ..dispute.clone()
                },
            ],
        );
        assert_eq!(out.outcomes[0], RecordOutcome::Unchanged);
        assert_eq!(rejected_code(&out.outcomes[1]), code::CONFLICT);
        assert!(out.events.is_empty() && out.cases.is_empty());

        // Repeated within the chunk: the second sees the first.
        let mut set = set_with(case(100_000, today()), &[]);
        let out = run(&mut set, &[dispute.clone(), dispute]);
        assert_eq!(
            out.outcomes,
            vec![RecordOutcome::Applied, RecordOutcome::Unchanged]
        );
        assert_eq!(out.instructions.len(), 1);
    }

    #[test]
    fn another_creditors_case_is_as_unknown_as_none() {
        let mut set = set_with(case(100_000, today()), &[]);
        let other = InstructionRecord {
            creditor_id: "987654325".into(),
            ..instruction("I1", Action::Pause)
        };
        let missing = InstructionRecord {
            target: Target::Case("2026-999999".into()),
            ..instruction("I2", Action::Pause)
        };
        let out = run(&mut set, &[other, missing]);
        assert_eq!(rejected_code(&out.outcomes[0]), code::UNKNOWN_INVOICE);
        assert_eq!(rejected_code(&out.outcomes[1]), code::UNKNOWN_INVOICE);
        match (&out.outcomes[0], &out.outcomes[1]) {
            (RecordOutcome::Rejected(a), RecordOutcome::Rejected(b)) => {
                assert_eq!(a.message, b.message)
            }
            other => panic!("{other:?}"),
        }
    }
}
