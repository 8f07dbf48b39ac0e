//! Settling payments, pure: from the cases and earlier payments a chunk touches, as loaded, the
//! changes its payments make (SPEC §6.1).
//!
//! `payments` gathers a chunk's keys ([`SettleKeys`]), the store loads what they touch into a
//! [`WorkingSet`] (`Tx::load_settlement`), [`decide`] works through the chunk in file order and
//! the store writes the [`Settlement`] in bulk (`Tx::write_settlement`). Nothing here reads the
//! store: the working set is changed as each payment is decided, so a second payment to a case
//! in the same chunk sees what the first one settled, and the chunk's own payments can be
//! repeated or reversed further down.
//!
//! Changes are listed in the order the one-payment-at-a-time run made them, and the new
//! payments and events carry the ids that run gave them (taken from the next free id loaded
//! with the working set), so every output stays byte for byte what it was.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;

use crate::config::rules::RuleError;
use crate::config::{Config, Sender};
use crate::diagnostic::{Diagnostic, code};
use crate::domain::{
    CaseState, CloseReason, Component, Country, DebtorType, DocumentType, EventKind, PaymentKind,
    UnmatchedReason,
};
use crate::ingest::validate::payment::PaymentRecord;
use crate::ledger::RecordOutcome;
use crate::ledger::allocation::{OpenItem, allocate};
use crate::ledger::daily::{OpenInvoice, interest_posting};
use crate::ledger::matching::{Candidate, Lookup, MatchedBy, match_payment};
use crate::money::format_minor;

/// What the store must load for a chunk: every key its payments can be matched, repeated or
/// reversed by.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SettleKeys {
    /// Agency references and invoices' own references.
    pub references: BTreeSet<String>,
    /// (creditor, invoice number).
    pub invoice_nos: BTreeSet<(String, String)>,
    /// Cases named directly (the desk's `assign_payment`).
    pub case_ids: BTreeSet<i64>,
    /// (sender, payment id) of the payments themselves (repeats) and of those they reverse.
    pub payments: BTreeSet<(String, String)>,
    /// (sender, reference, amount) of the payments a bank's own correction may undo.
    pub corrections: BTreeSet<(String, String, i64)>,
}

impl SettleKeys {
    /// Notes what matching, repeating or reversing `record` from `sender` may look up.
    pub fn add(&mut self, sender: &str, record: &PaymentRecord) {
        self.payments
            .insert((sender.to_owned(), record.payment_id.clone()));
        if let Some(reverses) = &record.reverses {
            self.payments.insert((sender.to_owned(), reverses.clone()));
        }
        if let Some(reference) = &record.reference
            && record.amount_minor < 0
            && record.reverses.is_none()
        {
            self.corrections
                .insert((sender.to_owned(), reference.clone(), -record.amount_minor));
        }
        self.add_match_keys(record);
    }

    /// Notes what matching `record` may look up.
    pub fn add_match_keys(&mut self, record: &PaymentRecord) {
        if let Some(reference) = &record.reference {
            self.references.insert(reference.clone());
        }
        if let (Some(creditor), Some(invoice_no)) = (&record.creditor_id, &record.invoice_no) {
            self.invoice_nos
                .insert((creditor.clone(), invoice_no.clone()));
        }
    }
}

/// A case as loaded, with its invoices and ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedCase {
    pub id: i64,
    pub case_no: String,
    /// The agency reference.
    pub reference: String,
    pub state: CaseState,
    pub close_reason: Option<CloseReason>,
    pub state_before_close: Option<CaseState>,
    pub creditor_id: String,
    pub currency: String,
    pub debtor_type: DebtorType,
    /// The due date of the amounts that belong to no invoice.
    pub opened_on: NaiveDate,
    /// Every invoice and credit note of the case.
    pub invoices: Vec<LoadedInvoice>,
    /// The sums of the case's postings per invoice and component.
    pub ledger: Vec<LedgerSum>,
}

/// An invoice or credit note of a loaded case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedInvoice {
    pub id: i64,
    pub document_type: DocumentType,
    pub creditor_id: String,
    pub invoice_no: String,
    pub reference: Option<String>,
    pub due_date: NaiveDate,
    /// Interest is posted up to and including this date; `None`: not yet.
    pub interest_through: Option<NaiveDate>,
}

/// The sum of a case's postings on one invoice (or none) and component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerSum {
    pub invoice_id: Option<i64>,
    pub component: Component,
    pub amount_minor: i64,
}

/// A payment already received, as repeats and reversals need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownPayment {
    pub id: i64,
    pub sender: String,
    pub payment_id: String,
    pub fingerprint: String,
    pub amount_minor: i64,
    pub reference: Option<String>,
    pub case_id: Option<i64>,
    pub reverses: Option<i64>,
    pub reversed_by: Option<i64>,
    /// Its allocation rows in the order they were written.
    pub allocations: Vec<AllocationPart>,
}

/// One allocation row of a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationPart {
    pub case_id: Option<i64>,
    pub invoice_id: Option<i64>,
    /// A balance component, or `None` for the over-paid part.
    pub component: Option<Component>,
    pub amount_minor: i64,
}

/// A case as the chunk's decisions have left it so far.
#[derive(Debug, Clone)]
struct WorkCase {
    loaded: LoadedCase,
    ledger: CaseLedger,
    /// Closed or reopened in this chunk: its state columns are written.
    state_changed: bool,
    /// Closed in this chunk: closing clears the deadline (reopening does not restore it).
    deadline_cleared: bool,
}

impl WorkCase {
    fn candidate(&self) -> Candidate {
        Candidate {
            case_id: self.loaded.id,
            creditor_id: self.loaded.creditor_id.clone(),
            currency: self.loaded.currency.clone(),
        }
    }

    fn post(&mut self, invoice_id: Option<i64>, component: Component, amount_minor: i64) {
        self.ledger.post(invoice_id, component, amount_minor);
    }

    fn total(&self) -> i64 {
        self.ledger.total()
    }

    fn principal_open(&self, invoice_id: i64) -> i64 {
        self.ledger.principal_open(invoice_id)
    }

    fn open_invoices(&self) -> Vec<OpenInvoice> {
        self.ledger.open_invoices(&self.loaded)
    }

    fn open_items(&self) -> Vec<OpenItem> {
        self.ledger.open_items(&self.loaded)
    }
}

/// A case's open amounts per invoice and component as a chunk's decisions leave them, shared by
/// the settlement of payments and the instructions (`instructing`): (invoice, component name)
/// -> (component, sum), in the order allocation has always seen the open items (by invoice,
/// amounts of no invoice first, then component name).
#[derive(Debug, Clone, Default)]
pub(crate) struct CaseLedger(BTreeMap<(Option<i64>, &'static str), (Component, i64)>);

impl CaseLedger {
    pub(crate) fn post(
        &mut self,
        invoice_id: Option<i64>,
        component: Component,
        amount_minor: i64,
    ) {
        self.0
            .entry((invoice_id, component.as_str()))
            .or_insert((component, 0))
            .1 += amount_minor;
    }

    pub(crate) fn total(&self) -> i64 {
        self.0.values().map(|(_, sum)| sum).sum()
    }

    /// The principal open over all invoices.
    pub(crate) fn principal(&self) -> i64 {
        self.0
            .values()
            .filter(|(c, _)| *c == Component::Principal)
            .map(|(_, sum)| sum)
            .sum()
    }

    pub(crate) fn principal_open(&self, invoice_id: i64) -> i64 {
        self.0
            .get(&(Some(invoice_id), Component::Principal.as_str()))
            .map_or(0, |(_, sum)| *sum)
    }

    /// The invoices of `case` with principal open, oldest due date first (then by id).
    pub(crate) fn open_invoices(&self, case: &LoadedCase) -> Vec<OpenInvoice> {
        let mut open: Vec<OpenInvoice> = case
            .invoices
            .iter()
            .filter(|i| i.document_type == DocumentType::Invoice)
            .filter_map(|i| {
                let principal_open_minor = self.principal_open(i.id);
                (principal_open_minor > 0).then(|| OpenInvoice {
                    id: i.id,
                    invoice_no: i.invoice_no.clone(),
                    due_date: i.due_date,
                    interest_through: i.interest_through,
                    principal_open_minor,
                })
            })
            .collect();
        open.sort_by_key(|i| (i.due_date, i.id));
        open
    }

    /// The open amounts a payment or an instruction can settle, each with the due date that
    /// orders it (the case's opening date for amounts of no invoice).
    pub(crate) fn open_items(&self, case: &LoadedCase) -> Vec<OpenItem> {
        self.0
            .iter()
            .filter(|(_, (_, sum))| *sum > 0)
            .map(|((invoice_id, _), (component, sum))| OpenItem {
                component: *component,
                invoice_id: *invoice_id,
                due_date: invoice_id
                    .and_then(|id| case.invoices.iter().find(|i| i.id == id))
                    .map_or(case.opened_on, |i| i.due_date),
                open_minor: *sum,
            })
            .collect()
    }
}

/// The cases and payments a chunk touches, changed as its payments are decided.
#[derive(Debug, Clone)]
pub struct WorkingSet {
    cases: BTreeMap<i64, WorkCase>,
    by_agency_reference: HashMap<String, i64>,
    /// Reference -> (case, invoice) of the invoices (not credit notes) carrying it, in case
    /// order.
    by_invoice_reference: HashMap<String, Vec<(i64, i64)>>,
    by_invoice_no: HashMap<(String, String), i64>,
    payments: Vec<KnownPayment>,
    payment_index: HashMap<(String, String), usize>,
    next_payment_id: i64,
    next_event_id: i64,
}

impl WorkingSet {
    /// `next_payment_id` and `next_event_id` are the ids the next payment and event get.
    pub fn new(
        cases: Vec<LoadedCase>,
        payments: Vec<KnownPayment>,
        next_payment_id: i64,
        next_event_id: i64,
    ) -> Self {
        let mut set = WorkingSet {
            cases: BTreeMap::new(),
            by_agency_reference: HashMap::new(),
            by_invoice_reference: HashMap::new(),
            by_invoice_no: HashMap::new(),
            payments: Vec::new(),
            payment_index: HashMap::new(),
            next_payment_id,
            next_event_id,
        };
        for case in cases {
            set.by_agency_reference
                .insert(case.reference.clone(), case.id);
            for invoice in &case.invoices {
                if invoice.document_type != DocumentType::Invoice {
                    continue;
                }
                set.by_invoice_no.insert(
                    (invoice.creditor_id.clone(), invoice.invoice_no.clone()),
                    case.id,
                );
                if let Some(reference) = &invoice.reference {
                    set.by_invoice_reference
                        .entry(reference.clone())
                        .or_default()
                        .push((case.id, invoice.id));
                }
            }
            let mut work = WorkCase {
                ledger: CaseLedger::default(),
                state_changed: false,
                deadline_cleared: false,
                loaded: case,
            };
            for sum in std::mem::take(&mut work.loaded.ledger) {
                work.post(sum.invoice_id, sum.component, sum.amount_minor);
            }
            set.cases.insert(work.loaded.id, work);
        }
        for invoices in set.by_invoice_reference.values_mut() {
            invoices.sort_unstable();
        }
        for payment in payments {
            set.remember(payment);
        }
        set
    }

    fn remember(&mut self, payment: KnownPayment) {
        self.payment_index.insert(
            (payment.sender.clone(), payment.payment_id.clone()),
            self.payments.len(),
        );
        self.payments.push(payment);
    }

    fn payment(&self, sender: &str, payment_id: &str) -> Option<usize> {
        self.payment_index
            .get(&(sender.to_owned(), payment_id.to_owned()))
            .copied()
    }

    /// The latest payment of `sender` with this reference and amount, not a reversal and not
    /// reversed: what a bank's own correction (which names no payment id) undoes.
    fn payment_to_correct(&self, sender: &str, reference: &str, amount: i64) -> Option<usize> {
        self.payments
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                p.sender == sender
                    && p.reference.as_deref() == Some(reference)
                    && p.amount_minor == amount
                    && p.reverses.is_none()
                    && p.reversed_by.is_none()
            })
            .max_by_key(|(_, p)| p.id)
            .map(|(index, _)| index)
    }

    fn take_payment_id(&mut self) -> i64 {
        let id = self.next_payment_id;
        self.next_payment_id += 1;
        id
    }

    fn case(&mut self, case_id: i64) -> Result<&mut WorkCase, SettleError> {
        self.cases
            .get_mut(&case_id)
            .ok_or(SettleError::NotLoaded { case_id })
    }
}

impl Lookup for WorkingSet {
    fn case_by_agency_reference(&self, reference: &str) -> Option<Candidate> {
        let case_id = self.by_agency_reference.get(reference)?;
        self.cases.get(case_id).map(WorkCase::candidate)
    }

    fn cases_by_invoice_reference(&self, reference: &str) -> Vec<Candidate> {
        let Some(invoices) = self.by_invoice_reference.get(reference) else {
            return Vec::new();
        };
        invoices
            .iter()
            .filter_map(|(case_id, invoice_id)| {
                let case = self.cases.get(case_id)?;
                (case.loaded.state != CaseState::Closed && case.principal_open(*invoice_id) > 0)
                    .then(|| case.candidate())
            })
            .collect()
    }

    fn case_by_invoice_no(&self, creditor_id: &str, invoice_no: &str) -> Option<Candidate> {
        let case_id = self
            .by_invoice_no
            .get(&(creditor_id.to_owned(), invoice_no.to_owned()))?;
        self.cases.get(case_id).map(WorkCase::candidate)
    }
}

/// One payment to decide.
#[derive(Debug, Clone, Copy)]
pub enum Settle<'a> {
    /// A row of a payments file from `sender`.
    Received {
        sender: &'a Sender,
        record: &'a PaymentRecord,
    },
    /// A payment waiting unmatched (row `payment`), tried again after new invoices.
    Waiting {
        payment: i64,
        sender: &'a Sender,
        record: &'a PaymentRecord,
    },
    /// A payment waiting unmatched (row `payment`) that the desk places on a case.
    Assigned {
        payment: i64,
        record: &'a PaymentRecord,
        case_id: i64,
    },
}

/// Everything a chunk writes, in the order it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement<'a> {
    /// The business date: events, postings and matches are dated with it.
    pub date: NaiveDate,
    /// Per payment decided, in order: a received row's outcome; for a waiting payment
    /// `Applied` when it matched now, `Unchanged` when it still waits; `Applied` for an
    /// assigned one.
    pub outcomes: Vec<RecordOutcome>,
    /// New payment rows, in id order.
    pub payments: Vec<NewPayment<'a>>,
    /// Waiting payments placed on a case now.
    pub matched: Vec<PaymentMatch>,
    /// (payment, the payment that reversed it).
    pub reversed: Vec<(i64, i64)>,
    /// New events, in id order.
    pub events: Vec<NewCaseEvent>,
    /// New postings in order.
    pub postings: Vec<NewPosting>,
    /// New allocation rows in order.
    pub allocations: Vec<NewAllocation>,
    /// (invoice, date): interest is now posted up to and including the date, in order.
    pub interest_through: Vec<(i64, NaiveDate)>,
    /// The state columns of every case closed or reopened, in case order.
    pub cases: Vec<CaseStateChange>,
}

/// A payment row as it is written, matched or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayment<'a> {
    pub id: i64,
    pub sender: &'a str,
    pub record: &'a PaymentRecord,
    pub fingerprint: String,
    /// The payment it reverses.
    pub reverses: Option<i64>,
    /// The case and how, when it was placed on one.
    pub matched: Option<(i64, MatchedBy)>,
    pub unmatched_reason: Option<UnmatchedReason>,
}

/// A waiting payment placed on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentMatch {
    pub payment: i64,
    pub case_id: i64,
    pub by: MatchedBy,
}

/// A case event (never tied to an invoice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCaseEvent {
    pub id: i64,
    pub case_id: i64,
    pub kind: EventKind,
    pub amount_minor: Option<i64>,
    /// The case's state with the event.
    pub state: CaseState,
    pub detail: String,
}

/// A posting on a case's ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewPosting {
    pub event_id: i64,
    pub case_id: i64,
    pub invoice_id: Option<i64>,
    pub component: Component,
    pub amount_minor: i64,
}

/// An allocation row of a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAllocation {
    pub payment: i64,
    pub part: AllocationPart,
}

/// A case's state columns after the chunk closed or reopened it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseStateChange {
    pub case_id: i64,
    pub state: CaseState,
    pub close_reason: Option<CloseReason>,
    /// Set while closed; `closed_on` is the business date then, `NULL` otherwise.
    pub state_before_close: Option<CaseState>,
    pub deadline_cleared: bool,
}

/// A decision the rule tables or the loaded data cannot answer: the file's transaction rolls
/// back (an infrastructure problem; the shipped tables are checked when loaded).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettleError {
    #[error("allocation order: {0}")]
    AllocationOrder(RuleError),
    #[error("interest for case {case_no}: {error}")]
    Interest { case_no: String, error: RuleError },
    #[error("case {case_id} was not loaded with the chunk's working set")]
    NotLoaded { case_id: i64 },
}

/// Decides `work` in order over `set` on business date `date`.
pub fn decide<'a>(
    config: &Config,
    date: NaiveDate,
    set: &mut WorkingSet,
    work: &[Settle<'a>],
) -> Result<Settlement<'a>, SettleError> {
    let mut out = Settlement {
        date,
        outcomes: Vec::with_capacity(work.len()),
        payments: Vec::with_capacity(work.len()),
        matched: Vec::new(),
        reversed: Vec::new(),
        events: Vec::new(),
        postings: Vec::new(),
        allocations: Vec::new(),
        interest_through: Vec::new(),
        cases: Vec::new(),
    };
    let mut decider = Decider {
        config,
        set,
        out: &mut out,
    };
    for item in work {
        let outcome = match *item {
            Settle::Received { sender, record } => decider.received(sender, record)?,
            Settle::Waiting {
                payment,
                sender,
                record,
            } => match match_payment(record, sender, decider.set) {
                Ok((case, by)) => {
                    decider.place(payment, record, case.case_id, by)?;
                    RecordOutcome::Applied
                }
                Err(_) => RecordOutcome::Unchanged,
            },
            Settle::Assigned {
                payment,
                record,
                case_id,
            } => {
                decider.place(payment, record, case_id, MatchedBy::Assignment)?;
                RecordOutcome::Applied
            }
        };
        decider.out.outcomes.push(outcome);
    }
    out.cases = set
        .cases
        .values()
        .filter(|c| c.state_changed)
        .map(|c| CaseStateChange {
            case_id: c.loaded.id,
            state: c.loaded.state,
            close_reason: c.loaded.close_reason,
            state_before_close: c.loaded.state_before_close,
            deadline_cleared: c.deadline_cleared,
        })
        .collect();
    Ok(out)
}

struct Decider<'s, 'o, 'a> {
    config: &'s Config,
    set: &'s mut WorkingSet,
    out: &'o mut Settlement<'a>,
}

fn reject(
    record: &PaymentRecord,
    field: &str,
    code: &'static str,
    message: String,
) -> RecordOutcome {
    RecordOutcome::Rejected(
        Diagnostic::at(record.position.clone(), code, message)
            .with_field(field)
            .with_key(Some(&record.payment_id)),
    )
}

impl<'a> Decider<'_, '_, 'a> {
    fn event(
        &mut self,
        case_id: i64,
        kind: EventKind,
        amount_minor: Option<i64>,
        state: CaseState,
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
    ) -> Result<(), SettleError> {
        self.set
            .case(case_id)?
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

    fn allocation(&mut self, payment: i64, part: AllocationPart) {
        if let Some(index) = self.set.payments.iter().rposition(|p| p.id == payment) {
            self.set.payments[index].allocations.push(part.clone());
        }
        self.out.allocations.push(NewAllocation { payment, part });
    }

    /// A new payment row; remembered so the chunk's later rows can repeat or reverse it.
    fn new_payment(
        &mut self,
        sender: &'a str,
        record: &'a PaymentRecord,
        fingerprint: String,
        reverses: Option<i64>,
    ) -> usize {
        let id = self.set.take_payment_id();
        self.set.remember(KnownPayment {
            id,
            sender: sender.to_owned(),
            payment_id: record.payment_id.clone(),
            fingerprint: fingerprint.clone(),
            amount_minor: record.amount_minor,
            reference: record.reference.clone(),
            case_id: None,
            reverses,
            reversed_by: None,
            allocations: Vec::new(),
        });
        self.out.payments.push(NewPayment {
            id,
            sender,
            record,
            fingerprint,
            reverses,
            matched: None,
            unmatched_reason: None,
        });
        self.out.payments.len() - 1
    }

    /// Places the new payment `row` (an index into the settlement's payments) on a case.
    fn match_new(&mut self, row: usize, case_id: i64, by: MatchedBy) {
        let payment = &mut self.out.payments[row];
        payment.matched = Some((case_id, by));
        let id = payment.id;
        if let Some(known) = self.set.payments.iter_mut().rev().find(|p| p.id == id) {
            known.case_id = Some(case_id);
        }
    }

    fn received(
        &mut self,
        sender: &'a Sender,
        record: &'a PaymentRecord,
    ) -> Result<RecordOutcome, SettleError> {
        let fingerprint = record.fingerprint();
        if let Some(existing) = self.set.payment(&sender.id, &record.payment_id) {
            if self.set.payments[existing].fingerprint == fingerprint {
                return Ok(RecordOutcome::Unchanged);
            }
            return Ok(reject(
                record,
                "payment_id",
                code::CONFLICT,
                format!(
                    "payment {} was already received with other content; a payment id is used once: correct it with a reversal, or ask the agency desk",
                    record.payment_id
                ),
            ));
        }
        if record.amount_minor < 0 {
            return self.reverse(sender, record, fingerprint);
        }
        let row = self.new_payment(&sender.id, record, fingerprint, None);
        match match_payment(record, sender, self.set) {
            Ok((case, by)) => {
                self.match_new(row, case.case_id, by);
                let id = self.out.payments[row].id;
                self.settle(id, record, case.case_id, by)?;
            }
            Err(reason) => self.out.payments[row].unmatched_reason = Some(reason),
        }
        Ok(RecordOutcome::Applied)
    }

    /// Places the waiting payment `payment` on a case and settles it there.
    fn place(
        &mut self,
        payment: i64,
        record: &PaymentRecord,
        case_id: i64,
        by: MatchedBy,
    ) -> Result<(), SettleError> {
        self.out.matched.push(PaymentMatch {
            payment,
            case_id,
            by,
        });
        self.settle(payment, record, case_id, by)
    }

    /// Allocates a matched payment over its case, interest up to the payment date first
    /// (SPEC §6.1.4), and closes the case `paid` when nothing is left open.
    fn settle(
        &mut self,
        payment: i64,
        record: &PaymentRecord,
        case_id: i64,
        by: MatchedBy,
    ) -> Result<(), SettleError> {
        let config = self.config;
        let case = self.set.case(case_id)?;
        let state = case.loaded.state;
        let debtor_type = case.loaded.debtor_type;
        let country = config.creditor(&case.loaded.creditor_id).map(|c| c.country);
        if state != CaseState::Closed
            && let Some(country) = country
        {
            self.post_interest(case_id, country, record.payment_date)?;
        }
        let order = config
            .rules
            // A payment from before the tables start is settled in their first order.
            .allocation_order(
                country.unwrap_or(Country::No),
                debtor_type,
                record.payment_date.max(config.rules.covers_from()),
            )
            .map_err(SettleError::AllocationOrder)?;
        let items = self.set.case(case_id)?.open_items();
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
        let event_id = self.event(
            case_id,
            EventKind::Payment,
            Some(record.amount_minor),
            state,
            detail,
        );
        for (index, amount) in &allocation.parts {
            let item = &items[*index];
            self.allocation(
                payment,
                AllocationPart {
                    case_id: Some(case_id),
                    invoice_id: item.invoice_id,
                    component: Some(item.component),
                    amount_minor: *amount,
                },
            );
            self.posting(event_id, case_id, item.invoice_id, item.component, -amount)?;
        }
        if allocation.overpaid_minor > 0 {
            self.allocation(
                payment,
                AllocationPart {
                    case_id: Some(case_id),
                    invoice_id: None,
                    component: None,
                    amount_minor: allocation.overpaid_minor,
                },
            );
        }
        let case = self.set.case(case_id)?;
        if state != CaseState::Closed && case.total() == 0 {
            case.loaded.state_before_close = Some(state);
            case.loaded.state = CaseState::Closed;
            case.loaded.close_reason = Some(CloseReason::Paid);
            case.state_changed = true;
            case.deadline_cleared = true;
            self.event(
                case_id,
                EventKind::Closed,
                None,
                CaseState::Closed,
                CloseReason::Paid.as_str().to_owned(),
            );
        }
        Ok(())
    }

    /// Posts the case's interest up to and including `to`, as the daily steps do.
    fn post_interest(
        &mut self,
        case_id: i64,
        country: Country,
        to: NaiveDate,
    ) -> Result<(), SettleError> {
        let rules = &self.config.rules;
        let case = self.set.case(case_id)?;
        let open = case.open_invoices();
        let due = interest_posting(rules, country, case.loaded.debtor_type, &open, to).map_err(
            |error| SettleError::Interest {
                case_no: case.loaded.case_no.clone(),
                error,
            },
        )?;
        for &invoice_id in &due.through {
            if let Some(loaded) = case.loaded.invoices.iter_mut().find(|i| i.id == invoice_id) {
                loaded.interest_through = Some(to);
            }
            self.out.interest_through.push((invoice_id, to));
        }
        if due.total == 0 {
            return Ok(());
        }
        let state = case.loaded.state;
        let event_id = self.event(
            case_id,
            EventKind::Interest,
            Some(due.total),
            state,
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

    /// A negative payment: undoes exactly the allocation of the payment it reverses, and
    /// reopens a case that payment had closed.
    fn reverse(
        &mut self,
        sender: &'a Sender,
        record: &'a PaymentRecord,
        fingerprint: String,
    ) -> Result<RecordOutcome, SettleError> {
        let original = match (&record.reverses, &record.reference) {
            (Some(id), _) => self.set.payment(&sender.id, id),
            // A bank's own correction names no payment: the latest one with the same
            // reference and amount is the one it corrects.
            (None, Some(reference)) if record.kind == PaymentKind::Bank => self
                .set
                .payment_to_correct(&sender.id, reference, -record.amount_minor),
            (None, _) => None,
        };
        let Some(original) = original else {
            if record.reverses.is_none() {
                // A bank's correction that undoes no payment we have (a BgMax deduction the
                // payer made, a correction of a payment from before kravflyt): the money
                // movement is real, so it is kept as an unmatched payment for the desk, not
                // refused.
                let row = self.new_payment(&sender.id, record, fingerprint, None);
                self.out.payments[row].unmatched_reason = Some(UnmatchedReason::UnknownReference);
                return Ok(RecordOutcome::Applied);
            }
            let what = record.reverses.as_deref().map_or(
                "no payment with the same reference and amount".to_owned(),
                |id| format!("payment {id}"),
            );
            return Ok(reject(
                record,
                "reverses",
                code::UNKNOWN_PAYMENT,
                format!(
                    "the reversal undoes {what}, which was never received from sender `{}`; check reverses",
                    sender.id
                ),
            ));
        };
        let original = self.set.payments[original].clone();
        if original.reversed_by.is_some() {
            return Ok(reject(
                record,
                "reverses",
                code::CONFLICT,
                format!("payment {} was already reversed", original.payment_id),
            ));
        }
        if original.amount_minor != -record.amount_minor {
            return Ok(reject(
                record,
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
        let row = self.new_payment(&sender.id, record, fingerprint, Some(original.id));
        let id = self.out.payments[row].id;
        if let Some(known) = self.set.payments.iter_mut().find(|p| p.id == original.id) {
            known.reversed_by = Some(id);
        }
        self.out.reversed.push((original.id, id));
        let Some(case_id) = original.case_id else {
            // The reversed payment never reached a case: nothing to undo but the money itself.
            return Ok(RecordOutcome::Applied);
        };
        self.match_new(row, case_id, MatchedBy::Reversal);
        let case = self.set.case(case_id)?;
        let reopen = case.loaded.state == CaseState::Closed
            && case.loaded.close_reason == Some(CloseReason::Paid);
        if reopen {
            case.loaded.state = case
                .loaded
                .state_before_close
                .unwrap_or(CaseState::Registered);
            case.loaded.close_reason = None;
            case.loaded.state_before_close = None;
            case.state_changed = true;
        }
        let state = case.loaded.state;
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
        let event_id = self.event(
            case_id,
            EventKind::PaymentReversed,
            Some(record.amount_minor),
            state,
            detail,
        );
        for part in original.allocations {
            self.allocation(
                id,
                AllocationPart {
                    amount_minor: -part.amount_minor,
                    ..part.clone()
                },
            );
            if let Some(component) = part.component {
                self.posting(
                    event_id,
                    case_id,
                    part.invoice_id,
                    component,
                    part.amount_minor,
                )?;
            }
        }
        if reopen {
            self.event(
                case_id,
                EventKind::Reopened,
                None,
                state,
                "a payment that had settled the case was reversed".to_owned(),
            );
        }
        Ok(RecordOutcome::Applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Position;
    use std::path::Path;

    const NORDLYS: &str = "923609016";
    const AGENCY_REFERENCE: &str = "7000000013";
    const INVOICE_REFERENCE: &str = "12345674";

    fn day(month: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, month, d).unwrap()
    }

    fn config() -> Config {
        let source = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config/kravflyt.toml"));
        let text = std::fs::read_to_string(source).unwrap();
        Config::from_toml(&text, source, Path::new("/")).unwrap()
    }

    /// Case 1 of nordlys in NOK: invoice 11 (`INV1`, its own reference) with `principal` open,
    /// interest posted up to the payment dates used, so only the tests that want interest get
    /// it.
    fn case(principal: i64) -> LoadedCase {
        LoadedCase {
            id: 1,
            case_no: "2026-000001".into(),
            reference: AGENCY_REFERENCE.into(),
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
                reference: Some(INVOICE_REFERENCE.into()),
                due_date: day(5, 1),
                interest_through: Some(day(12, 31)),
            }],
            ledger: vec![LedgerSum {
                invoice_id: Some(11),
                component: Component::Principal,
                amount_minor: principal,
            }],
        }
    }

    fn payment(id: &str, reference: Option<&str>, amount_minor: i64) -> PaymentRecord {
        PaymentRecord {
            position: Position::Line(2),
            payment_id: id.into(),
            kind: PaymentKind::Bank,
            creditor_id: None,
            reference: reference.map(str::to_owned),
            invoice_no: None,
            amount_minor,
            currency: "NOK".into(),
            payment_date: day(10, 1),
            payer_name: None,
            payer_account: None,
            reverses: None,
        }
    }

    fn run<'a>(
        config: &Config,
        set: &mut WorkingSet,
        sender: &'a Sender,
        records: &'a [PaymentRecord],
    ) -> Settlement<'a> {
        let work: Vec<Settle<'a>> = records
            .iter()
            .map(|record| Settle::Received { sender, record })
            .collect();
        decide(config, day(10, 2), set, &work).unwrap()
    }

    fn set_with(cases: Vec<LoadedCase>, payments: Vec<KnownPayment>) -> WorkingSet {
        WorkingSet::new(cases, payments, 100, 1000)
    }

    /// Every payment's allocation rows sum to it.
    fn assert_allocations_sum(settlement: &Settlement<'_>) {
        for p in &settlement.payments {
            if p.matched.is_none() {
                continue;
            }
            let sum: i64 = settlement
                .allocations
                .iter()
                .filter(|a| a.payment == p.id)
                .map(|a| a.part.amount_minor)
                .sum();
            assert_eq!(sum, p.record.amount_minor, "payment {}", p.id);
        }
    }

    #[test]
    fn matched_by_agency_reference_invoice_reference_and_invoice_number() {
        let config = config();
        let bank = config.sender("bank").unwrap();
        let nordlys = config.sender("nordlys").unwrap();
        let mut set = set_with(vec![case(100_000)], vec![]);
        let by_agency = [payment("P1", Some(AGENCY_REFERENCE), 1_000)];
        let s = run(&config, &mut set, bank, &by_agency);
        assert_eq!(s.payments[0].matched, Some((1, MatchedBy::AgencyReference)));
        let by_invoice_reference = [payment("P2", Some(INVOICE_REFERENCE), 1_000)];
        let s = run(&config, &mut set, bank, &by_invoice_reference);
        assert_eq!(
            s.payments[0].matched,
            Some((1, MatchedBy::InvoiceReference))
        );
        let mut direct = payment("P3", None, 1_000);
        direct.kind = PaymentKind::Direct;
        direct.creditor_id = Some(NORDLYS.into());
        direct.invoice_no = Some("INV1".into());
        let direct = [direct];
        let s = run(&config, &mut set, nordlys, &direct);
        assert_eq!(s.payments[0].matched, Some((1, MatchedBy::InvoiceNumber)));
        // Ids continue from the working set's and from one decision to the next.
        assert_eq!(s.payments[0].id, 102);
        assert_eq!(s.events[0].id, 1002);
    }

    #[test]
    fn two_payments_to_one_case_in_a_chunk_the_second_closes_it_paid_a_third_overpays() {
        let config = config();
        let bank = config.sender("bank").unwrap();
        let mut set = set_with(vec![case(100_000)], vec![]);
        let records = [
            payment("P1", Some(AGENCY_REFERENCE), 60_000),
            payment("P2", Some(INVOICE_REFERENCE), 40_000),
            // The case is closed now: its invoice reference no longer matches, its agency
            // reference still does, as an over-payment.
            payment("P3", Some(INVOICE_REFERENCE), 5_000),
            payment("P4", Some(AGENCY_REFERENCE), 5_000),
        ];
        let s = run(&config, &mut set, bank, &records);
        assert_eq!(s.outcomes, vec![RecordOutcome::Applied; 4]);
        let amounts: Vec<i64> = s.allocations.iter().map(|a| a.part.amount_minor).collect();
        assert_eq!(amounts, [60_000, 40_000, 5_000]);
        assert_eq!(s.allocations[2].part.component, None);
        assert_eq!(s.allocations[2].payment, 103);
        assert_eq!(
            s.payments[2].unmatched_reason,
            Some(UnmatchedReason::UnknownReference)
        );
        let kinds: Vec<EventKind> = s.events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                EventKind::Payment,
                EventKind::Payment,
                EventKind::Closed,
                EventKind::Payment
            ]
        );
        assert!(
            s.events[3]
                .detail
                .ends_with("; 50.00 overpaid, to be refunded")
        );
        assert_eq!(s.events[3].state, CaseState::Closed);
        assert_eq!(
            s.cases,
            [CaseStateChange {
                case_id: 1,
                state: CaseState::Closed,
                close_reason: Some(CloseReason::Paid),
                state_before_close: Some(CaseState::Notice),
                deadline_cleared: true,
            }]
        );
        assert_allocations_sum(&s);
    }

    #[test]
    fn interest_is_posted_up_to_the_payment_date_and_settled_before_principal() {
        let config = config();
        let bank = config.sender("bank").unwrap();
        let mut unposted = case(100_000);
        unposted.invoices[0].interest_through = None;
        let mut set = set_with(vec![unposted], vec![]);
        let records = [payment("P1", Some(AGENCY_REFERENCE), 50_000)];
        let s = run(&config, &mut set, bank, &records);
        assert_eq!(s.events[0].kind, EventKind::Interest);
        assert_eq!(s.events[1].kind, EventKind::Payment);
        let interest = s.events[0].amount_minor.unwrap();
        assert!(interest > 0);
        assert_eq!(s.interest_through, [(11, day(10, 1))]);
        assert_eq!(s.allocations[0].part.component, Some(Component::Interest));
        assert_eq!(s.allocations[0].part.amount_minor, interest);
        assert_eq!(s.allocations[1].part.amount_minor, 50_000 - interest);
        assert_allocations_sum(&s);
    }

    #[test]
    fn a_reversal_undoes_the_allocation_and_reopens_the_case_it_had_closed() {
        let config = config();
        let bank = config.sender("bank").unwrap();
        let mut paid = case(0);
        paid.state = CaseState::Closed;
        paid.close_reason = Some(CloseReason::Paid);
        paid.state_before_close = Some(CaseState::Demand);
        let earlier = KnownPayment {
            id: 7,
            sender: "bank".into(),
            payment_id: "P0".into(),
            fingerprint: "f".into(),
            amount_minor: 100_000,
            reference: Some(AGENCY_REFERENCE.into()),
            case_id: Some(1),
            reverses: None,
            reversed_by: None,
            allocations: vec![AllocationPart {
                case_id: Some(1),
                invoice_id: Some(11),
                component: Some(Component::Principal),
                amount_minor: 100_000,
            }],
        };
        let mut set = set_with(vec![paid], vec![earlier]);
        let mut reversal = payment("R1", None, -100_000);
        reversal.reverses = Some("P0".into());
        let mut again = reversal.clone();
        again.payment_id = "R2".into();
        let records = [reversal, again];
        let s = run(&config, &mut set, bank, &records);
        assert_eq!(s.outcomes[0], RecordOutcome::Applied);
        let RecordOutcome::Rejected(twice) = &s.outcomes[1] else {
            panic!("a payment is reversed once");
        };
        assert_eq!(twice.code, code::CONFLICT);
        assert_eq!(s.reversed, [(7, 100)]);
        assert_eq!(s.payments[0].reverses, Some(7));
        assert_eq!(s.payments[0].matched, Some((1, MatchedBy::Reversal)));
        assert_eq!(s.allocations[0].part.amount_minor, -100_000);
        assert_eq!(s.postings[0].amount_minor, 100_000);
        let kinds: Vec<(EventKind, CaseState)> =
            s.events.iter().map(|e| (e.kind, e.state)).collect();
        assert_eq!(
            kinds,
            [
                (EventKind::PaymentReversed, CaseState::Demand),
                (EventKind::Reopened, CaseState::Demand)
            ]
        );
        assert_eq!(s.cases[0].state, CaseState::Demand);
        assert_eq!(s.cases[0].close_reason, None);
        assert!(!s.cases[0].deadline_cleared);
    }

    #[test]
    fn a_payment_reversed_in_its_own_chunk_and_a_bank_correction_naming_none() {
        let config = config();
        let bank = config.sender("bank").unwrap();
        let mut set = set_with(vec![case(100_000)], vec![]);
        let records = [
            payment("P1", Some(AGENCY_REFERENCE), 100_000),
            // The bank's own correction: the latest payment with its reference and amount.
            payment("C1", Some(AGENCY_REFERENCE), -100_000),
            // Nothing left for a second one to correct: kept unmatched, not refused.
            payment("C2", Some(AGENCY_REFERENCE), -100_000),
        ];
        let s = run(&config, &mut set, bank, &records);
        assert_eq!(s.outcomes, vec![RecordOutcome::Applied; 3]);
        assert_eq!(s.reversed, [(100, 101)]);
        assert_eq!(
            s.payments[2].unmatched_reason,
            Some(UnmatchedReason::UnknownReference)
        );
        // Closed by the payment, reopened by its correction.
        assert_eq!(s.cases[0].state, CaseState::Notice);
        assert!(s.cases[0].deadline_cleared);
        let principal: i64 = s.postings.iter().map(|p| p.amount_minor).sum();
        assert_eq!(principal, 0);
    }

    #[test]
    fn a_repeat_is_unchanged_and_other_content_under_the_same_id_a_conflict() {
        let config = config();
        let bank = config.sender("bank").unwrap();
        let first = payment("P1", Some(AGENCY_REFERENCE), 1_000);
        let earlier = KnownPayment {
            id: 7,
            sender: "bank".into(),
            payment_id: "P1".into(),
            fingerprint: first.fingerprint(),
            amount_minor: 1_000,
            reference: first.reference.clone(),
            case_id: Some(1),
            reverses: None,
            reversed_by: None,
            allocations: vec![],
        };
        let mut set = set_with(vec![case(100_000)], vec![earlier]);
        let changed = payment("P1", Some(AGENCY_REFERENCE), 2_000);
        let records = [first, changed];
        let s = run(&config, &mut set, bank, &records);
        assert_eq!(s.outcomes[0], RecordOutcome::Unchanged);
        let RecordOutcome::Rejected(conflict) = &s.outcomes[1] else {
            panic!("other content is a conflict");
        };
        assert_eq!(conflict.code, code::CONFLICT);
        assert!(s.payments.is_empty() && s.events.is_empty());
    }

    #[test]
    fn unmatched_payments_keep_their_reason() {
        let config = config();
        let bank = config.sender("bank").unwrap();
        let mut set = set_with(vec![case(100_000)], vec![]);
        let mut in_sek = payment("P4", Some(AGENCY_REFERENCE), 1_000);
        in_sek.currency = "SEK".into();
        let records = [
            payment("P1", None, 1_000),
            payment("P2", Some("7000000014"), 1_000),
            payment("P3", Some("7000000021"), 1_000),
            in_sek,
        ];
        let s = run(&config, &mut set, bank, &records);
        let reasons: Vec<Option<UnmatchedReason>> =
            s.payments.iter().map(|p| p.unmatched_reason).collect();
        assert_eq!(
            reasons,
            [
                Some(UnmatchedReason::NoReference),
                Some(UnmatchedReason::BadCheckDigit),
                Some(UnmatchedReason::UnknownReference),
                Some(UnmatchedReason::CurrencyMismatch)
            ]
        );
        assert!(s.events.is_empty() && s.allocations.is_empty());
    }

    #[test]
    fn a_waiting_payment_matches_or_keeps_waiting_and_an_assigned_one_is_placed() {
        let config = config();
        let bank = config.sender("bank").unwrap();
        let mut set = set_with(vec![case(100_000)], vec![]);
        let matching = payment("P1", Some(INVOICE_REFERENCE), 1_000);
        let unknown = payment("P2", Some("7000000021"), 1_000);
        let work = [
            Settle::Waiting {
                payment: 5,
                sender: bank,
                record: &matching,
            },
            Settle::Waiting {
                payment: 6,
                sender: bank,
                record: &unknown,
            },
            Settle::Assigned {
                payment: 6,
                record: &unknown,
                case_id: 1,
            },
        ];
        let s = decide(&config, day(10, 2), &mut set, &work).unwrap();
        assert_eq!(
            s.outcomes,
            [
                RecordOutcome::Applied,
                RecordOutcome::Unchanged,
                RecordOutcome::Applied
            ]
        );
        assert_eq!(
            s.matched,
            [
                PaymentMatch {
                    payment: 5,
                    case_id: 1,
                    by: MatchedBy::InvoiceReference
                },
                PaymentMatch {
                    payment: 6,
                    case_id: 1,
                    by: MatchedBy::Assignment
                }
            ]
        );
        assert!(s.payments.is_empty());
        assert_eq!(s.allocations.len(), 2);
    }
}
