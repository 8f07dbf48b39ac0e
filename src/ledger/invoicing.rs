//! Invoices and credit notes decided pure: from a chunk of records and what the store holds
//! about them, the outcome of each record and every change to write.
//!
//! `apply::apply_invoice_chunk` loads what a chunk's records touch in a few set-based
//! statements (`Tx::invoice_chunk_state`: invoices by number, debtors, their open cases and —
//! when the chunk holds a credit note — the cases' invoices and ledgers), calls [`decide`], and
//! writes the [`InvoiceChanges`] in bulk (`Tx::write_invoice_changes`). Nothing here reads the
//! store: the records are decided one by one in file order against a working set that starts
//! as loaded and takes in each record's changes, so a later record sees what an earlier one of
//! the chunk did (a repeated invoice number, a case opened, an invoice credited, a case closed).
//!
//! Ids are counted on from the next ones the store would give, in the order the
//! record-at-a-time run took them, so every output file stays byte for byte what it was.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};

use crate::config::{Config, Creditor};
use crate::diagnostic::{Diagnostic, Position, code};
use crate::domain::{
    CaseState, CloseReason, Component, Country, DebtorType, DocumentType, EventKind, HandoverStep,
};
use crate::ingest::validate::invoice::InvoiceRecord;
use crate::ledger::RecordOutcome;
use crate::ledger::daily::{OpenInvoice, interest_posting};
use crate::money::format_minor;
use crate::reference::{self, Scheme};

/// What the store holds about a chunk's records, read before deciding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChunkState {
    /// The inbound file's name: where an invoice of this chunk came from, for conflicts.
    pub file_name: String,
    /// Stored invoices and credit notes with a number the chunk names (its own numbers and
    /// the invoices its credit notes reduce).
    pub invoices: Vec<KnownInvoice>,
    /// Stored debtors of the chunk's invoices.
    pub debtors: Vec<KnownDebtor>,
    /// The cases not closed of those debtors, and the cases of the invoices credited (closed
    /// or not). A case may be listed twice.
    pub cases: Vec<KnownCase>,
    /// The ids the store gives next.
    pub next: NextIds,
}

/// An invoice or credit note already in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownInvoice {
    pub id: i64,
    pub case_id: i64,
    pub creditor_id: String,
    pub invoice_no: String,
    pub document_type: DocumentType,
    pub currency: String,
    pub fingerprint: String,
    /// The customer number of its case's debtor.
    pub customer_no: String,
    /// Where it came from, for conflict messages: `<file name> line N`.
    pub origin: String,
}

/// A debtor already in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownDebtor {
    pub id: i64,
    pub creditor_id: String,
    pub customer_no: String,
}

/// A case already in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownCase {
    pub id: i64,
    pub case_no: String,
    pub state: CaseState,
    pub creditor_id: String,
    pub debtor_id: i64,
    pub debtor_type: DebtorType,
    pub currency: String,
    /// Its invoices and ledger: loaded only for a chunk with credit notes, the only records
    /// that read them.
    pub ledger: Option<CaseLedger>,
}

/// What a credit note needs of a case: its invoices and the sums of its postings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseLedger {
    pub invoices: Vec<CaseInvoice>,
    /// The open amount per invoice (`None`: the case's own) and component, ordered by invoice
    /// (the case's own first), then component name: the order charges are written off in.
    pub sums: BTreeMap<(Option<i64>, &'static str), (Component, i64)>,
}

impl CaseLedger {
    /// Adds a posting's amount.
    pub fn post(&mut self, invoice_id: Option<i64>, component: Component, amount_minor: i64) {
        self.sums
            .entry((invoice_id, component.as_str()))
            .or_insert((component, 0))
            .1 += amount_minor;
    }

    fn principal_open(&self, invoice_id: i64) -> i64 {
        self.sums
            .get(&(Some(invoice_id), Component::Principal.as_str()))
            .map_or(0, |&(_, open)| open)
    }

    fn principal_balance(&self) -> i64 {
        self.sums
            .values()
            .filter(|(component, _)| *component == Component::Principal)
            .map(|(_, amount)| amount)
            .sum()
    }
}

/// An invoice or credit note of a case, as interest is computed from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseInvoice {
    pub id: i64,
    pub invoice_no: String,
    pub document_type: DocumentType,
    pub due_date: NaiveDate,
    /// Interest is posted up to and including this date; `None`: not yet.
    pub interest_through: Option<NaiveDate>,
}

/// The ids the store gives next (`MAX(id) + 1` under the write lock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextIds {
    pub debtor: i64,
    pub case: i64,
    pub invoice: i64,
    pub event: i64,
}

impl Default for NextIds {
    fn default() -> Self {
        NextIds {
            debtor: 1,
            case: 1,
            invoice: 1,
            event: 1,
        }
    }
}

/// Everything a chunk writes, in the order it is written, with the ids it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceChanges<'r> {
    /// One per record, in record order.
    pub outcomes: Vec<RecordOutcome>,
    /// Debtors to create, in id order, with their values after the chunk.
    pub new_debtors: Vec<DebtorValues<'r>>,
    /// Stored debtors an invoice of the chunk brought up to date, with their values after it.
    pub updated_debtors: Vec<DebtorValues<'r>>,
    pub cases: Vec<OpenedCase<'r>>,
    pub invoices: Vec<RecordedInvoice<'r>>,
    pub events: Vec<ChunkEvent>,
    /// In the order they are booked (they are numbered by the store in that order).
    pub postings: Vec<ChunkPosting>,
    /// Invoices whose interest is now posted through a date, in order (the last one counts).
    pub interest_through: Vec<(i64, NaiveDate)>,
    /// Cases closed `credited`, in order.
    pub closed_credited: Vec<i64>,
}

/// A debtor's name and address as the latest invoice of the chunk gives them; identity number
/// and e-mail are the latest given (an invoice without them keeps what was known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebtorValues<'r> {
    pub id: i64,
    pub latest: &'r InvoiceRecord,
    pub national_id: Option<&'r str>,
    pub email: Option<&'r str>,
}

/// A case to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedCase<'r> {
    pub id: i64,
    pub case_no: String,
    pub reference: String,
    pub creditor_id: &'r str,
    pub debtor_id: i64,
    pub currency: &'r str,
    pub first_step: HandoverStep,
}

/// An invoice or credit note to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedInvoice<'r> {
    pub id: i64,
    pub record: &'r InvoiceRecord,
    pub fingerprint: String,
    pub case_id: i64,
    pub credited_invoice_id: Option<i64>,
}

/// A case event; its date is the business date and its file the chunk's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkEvent {
    pub id: i64,
    pub case_id: i64,
    pub kind: EventKind,
    pub invoice_id: Option<i64>,
    pub amount_minor: Option<i64>,
    /// The case's state after the event.
    pub state: CaseState,
    pub detail: String,
}

/// A posting on a case's ledger, dated with the business date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkPosting {
    pub case_id: i64,
    pub invoice_id: Option<i64>,
    pub component: Component,
    pub amount_minor: i64,
    pub event_id: i64,
}

/// A defect, not bad input: the file's transaction is rolled back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecideError {
    /// The agency prefix is checked when the configuration loads.
    #[error("cannot make an agency reference: {0}")]
    Reference(String),
    #[error("interest for case {case_no}: {error}")]
    Interest { case_no: String, error: String },
    /// The loader reads a case's ledger for every chunk with a credit note.
    #[error("case {0} was not loaded with its ledger")]
    LedgerNotLoaded(i64),
    /// The loader reads the case of every invoice it reads for a credit note.
    #[error("case {0} was not loaded")]
    CaseNotLoaded(i64),
}

/// Case numbers: the year the case opened and a running number, e.g. `2026-000017`.
pub fn case_number(opened_on: NaiveDate, number: i64) -> String {
    format!("{}-{number:06}", opened_on.year())
}

/// The agency reference a debtor pays a case with, in the scheme of the creditor's country
/// (SPEC §9): the agency prefix, the case's running number, and the check digit(s).
pub fn agency_reference(
    prefix: &str,
    creditor: &Creditor,
    number: i64,
) -> Result<String, reference::ReferenceError> {
    let base = format!("{prefix}{number:07}");
    match creditor.country {
        Country::No => reference::generate(Scheme::KidMod10, &base),
        Country::Se => reference::generate_se_ocr_with_length_digit(&base),
        Country::Fi => reference::generate(Scheme::FiRef, &base),
    }
}

/// A case as the chunk's records see it.
#[derive(Debug)]
struct WorkingCase {
    case_no: String,
    state: CaseState,
    creditor_id: String,
    debtor_id: i64,
    currency: String,
    ledger: Option<CaseLedger>,
}

/// A debtor the chunk knows: stored or created by it, and what the chunk gave it.
#[derive(Debug)]
struct WorkingDebtor<'r> {
    id: i64,
    stored: bool,
    given: Option<DebtorValues<'r>>,
}

/// An invoice the chunk knows: stored, or recorded by an earlier record of the chunk.
#[derive(Debug)]
struct SeenInvoice {
    id: i64,
    case_id: i64,
    document_type: DocumentType,
    currency: String,
    fingerprint: String,
    customer_no: String,
    origin: Origin,
}

/// Where an invoice came from, for conflict messages.
#[derive(Debug)]
enum Origin {
    /// `<file name> line N` of a stored invoice.
    Stored(String),
    /// A position in the chunk's file: formatted only when a conflict names it.
    ThisFile(Position),
}

/// The store as the chunk has changed it so far.
struct Working<'r> {
    /// Per creditor, per invoice number: looked up by `&str`, with no key made per record.
    invoices: HashMap<String, HashMap<String, SeenInvoice>>,
    /// Per creditor, per customer number.
    debtors: HashMap<String, HashMap<String, WorkingDebtor<'r>>>,
    /// A debtor's type as the latest invoice gives it (interest depends on it).
    debtor_types: HashMap<i64, DebtorType>,
    cases: HashMap<i64, WorkingCase>,
    /// Cases not closed per debtor (a debtor is one creditor's), in id order: the first of
    /// the invoice's currency that accepts new invoices is the one a new invoice joins.
    open_cases: HashMap<i64, Vec<i64>>,
    next: NextIds,
    file_name: String,
}

/// The outcomes and changes of a chunk of invoice and credit note records (in file order),
/// applied on `business_date`, against what the store holds about them (`state`).
pub fn decide<'r>(
    config: &Config,
    business_date: NaiveDate,
    records: &'r [InvoiceRecord],
    state: ChunkState,
) -> Result<InvoiceChanges<'r>, DecideError> {
    let mut working = Working::new(state);
    let mut changes = InvoiceChanges {
        outcomes: Vec::with_capacity(records.len()),
        new_debtors: Vec::new(),
        updated_debtors: Vec::new(),
        cases: Vec::new(),
        invoices: Vec::new(),
        events: Vec::new(),
        postings: Vec::new(),
        interest_through: Vec::new(),
        closed_credited: Vec::new(),
    };
    for record in records {
        let outcome = match record.document_type {
            DocumentType::Invoice => {
                working.apply_invoice(config, business_date, record, &mut changes)?
            }
            DocumentType::CreditNote => working.apply_credit_note(config, record, &mut changes)?,
        };
        changes.outcomes.push(outcome);
    }
    let mut debtors: Vec<WorkingDebtor<'r>> = working
        .debtors
        .into_values()
        .flat_map(HashMap::into_values)
        .collect();
    debtors.sort_by_key(|d| d.id);
    for debtor in debtors {
        if let Some(values) = debtor.given {
            if debtor.stored {
                changes.updated_debtors.push(values);
            } else {
                changes.new_debtors.push(values);
            }
        }
    }
    Ok(changes)
}

fn reject(
    record: &InvoiceRecord,
    field: &str,
    code: &'static str,
    message: String,
) -> RecordOutcome {
    RecordOutcome::Rejected(
        Diagnostic::at(record.position.clone(), code, message)
            .with_field(field)
            .with_key(Some(&record.invoice_no)),
    )
}

impl<'r> Working<'r> {
    fn new(state: ChunkState) -> Working<'r> {
        let mut working = Working {
            invoices: HashMap::new(),
            debtors: HashMap::new(),
            debtor_types: HashMap::new(),
            cases: HashMap::with_capacity(state.cases.len()),
            open_cases: HashMap::new(),
            next: state.next,
            file_name: state.file_name,
        };
        for invoice in state.invoices {
            working.remember_invoice(
                invoice.creditor_id,
                invoice.invoice_no,
                SeenInvoice {
                    id: invoice.id,
                    case_id: invoice.case_id,
                    document_type: invoice.document_type,
                    currency: invoice.currency,
                    fingerprint: invoice.fingerprint,
                    customer_no: invoice.customer_no,
                    origin: Origin::Stored(invoice.origin),
                },
            );
        }
        for debtor in state.debtors {
            working
                .debtors
                .entry(debtor.creditor_id)
                .or_default()
                .insert(
                    debtor.customer_no,
                    WorkingDebtor {
                        id: debtor.id,
                        stored: true,
                        given: None,
                    },
                );
        }
        let mut cases = state.cases;
        cases.sort_by_key(|c| c.id);
        cases.dedup_by_key(|c| c.id);
        for case in cases {
            working
                .debtor_types
                .insert(case.debtor_id, case.debtor_type);
            if case.state != CaseState::Closed {
                working
                    .open_cases
                    .entry(case.debtor_id)
                    .or_default()
                    .push(case.id);
            }
            working.cases.insert(
                case.id,
                WorkingCase {
                    case_no: case.case_no,
                    state: case.state,
                    creditor_id: case.creditor_id,
                    debtor_id: case.debtor_id,
                    currency: case.currency,
                    ledger: case.ledger,
                },
            );
        }
        working
    }

    /// The same invoice number again: a no-op when nothing changed, a conflict otherwise.
    fn seen_before(&self, record: &InvoiceRecord, fingerprint: &str) -> Option<RecordOutcome> {
        let existing = self.known_invoice(&record.creditor_id, &record.invoice_no)?;
        if existing.fingerprint == fingerprint {
            return Some(RecordOutcome::Unchanged);
        }
        let origin = match &existing.origin {
            Origin::Stored(origin) => origin.clone(),
            Origin::ThisFile(position) => format!("{} {position}", self.file_name),
        };
        Some(reject(
            record,
            "invoice_no",
            code::CONFLICT,
            format!(
                "{} {} was already delivered with different content ({}); a delivered invoice is not changed by sending it again: send a credit note, or ask the agency desk",
                record.document_type.as_str().replace('_', " "),
                record.invoice_no,
                origin
            ),
        ))
    }

    fn known_invoice(&self, creditor_id: &str, invoice_no: &str) -> Option<&SeenInvoice> {
        self.invoices.get(creditor_id)?.get(invoice_no)
    }

    fn remember_invoice(&mut self, creditor_id: String, invoice_no: String, seen: SeenInvoice) {
        self.invoices
            .entry(creditor_id)
            .or_default()
            .insert(invoice_no, seen);
    }

    /// Creates the debtor or brings its name and address up to date with this invoice.
    fn upsert_debtor(&mut self, record: &'r InvoiceRecord) -> i64 {
        let of_creditor = match self.debtors.get_mut(record.creditor_id.as_str()) {
            Some(of_creditor) => of_creditor,
            None => self.debtors.entry(record.creditor_id.clone()).or_default(),
        };
        if !of_creditor.contains_key(record.customer_no.as_str()) {
            let id = self.next.debtor;
            self.next.debtor += 1;
            of_creditor.insert(
                record.customer_no.clone(),
                WorkingDebtor {
                    id,
                    stored: false,
                    given: None,
                },
            );
        }
        let Some(debtor) = of_creditor.get_mut(record.customer_no.as_str()) else {
            unreachable!("the debtor was inserted above");
        };
        let (national_id, email) = match &debtor.given {
            Some(before) => (before.national_id, before.email),
            None => (None, None),
        };
        debtor.given = Some(DebtorValues {
            id: debtor.id,
            latest: record,
            national_id: record.debtor_id.as_deref().or(national_id),
            email: record.email.as_deref().or(email),
        });
        let id = debtor.id;
        self.debtor_types.insert(id, record.debtor_type);
        id
    }

    /// The open case a new invoice of this creditor and debtor joins, if any.
    fn joinable_case(&self, creditor_id: &str, debtor_id: i64, currency: &str) -> Option<i64> {
        self.open_cases.get(&debtor_id)?.iter().copied().find(|id| {
            self.cases.get(id).is_some_and(|case| {
                case.creditor_id == creditor_id
                    && case.currency == currency
                    && case.state.accepts_new_invoices()
            })
        })
    }

    fn take_event_id(&mut self) -> i64 {
        let id = self.next.event;
        self.next.event += 1;
        id
    }

    fn take_invoice_id(&mut self) -> i64 {
        let id = self.next.invoice;
        self.next.invoice += 1;
        id
    }

    /// An invoice: a number seen before is a no-op or a conflict; otherwise its debtor is
    /// created or brought up to date, and it joins the debtor's first open case of its
    /// currency that accepts invoices or opens one, with its event and postings (the principal
    /// less what was paid before hand-over, the creditor's reminder fee).
    fn apply_invoice(
        &mut self,
        config: &Config,
        business_date: NaiveDate,
        record: &'r InvoiceRecord,
        changes: &mut InvoiceChanges<'r>,
    ) -> Result<RecordOutcome, DecideError> {
        let fingerprint = record.fingerprint();
        if let Some(outcome) = self.seen_before(record, &fingerprint) {
            return Ok(outcome);
        }
        let Some(creditor) = config.creditor(&record.creditor_id) else {
            // Validation only lets through creditors of the configuration.
            return Ok(reject(
                record,
                "creditor_id",
                code::UNKNOWN_CREDITOR,
                format!(
                    "creditor `{}` is not a creditor of the agency",
                    record.creditor_id
                ),
            ));
        };
        let debtor_id = self.upsert_debtor(record);
        let (case_id, case_no, state, opened) =
            match self.joinable_case(&record.creditor_id, debtor_id, &record.currency) {
                Some(id) => {
                    let case = &self.cases[&id];
                    (id, case.case_no.clone(), case.state, false)
                }
                None => {
                    let number = self.next.case;
                    self.next.case += 1;
                    let case_no = case_number(business_date, number);
                    let reference =
                        agency_reference(&config.agency.reference_prefix, creditor, number)
                            .map_err(|e| DecideError::Reference(e.to_string()))?;
                    // The creditor sent its own collection notice: the case starts at the demand.
                    let first_step = if record.notice_sent_date.is_some() {
                        HandoverStep::Demand
                    } else {
                        creditor.handover
                    };
                    changes.cases.push(OpenedCase {
                        id: number,
                        case_no: case_no.clone(),
                        reference,
                        creditor_id: &record.creditor_id,
                        debtor_id,
                        currency: &record.currency,
                        first_step,
                    });
                    self.cases.insert(
                        number,
                        WorkingCase {
                            case_no: case_no.clone(),
                            state: CaseState::Registered,
                            creditor_id: record.creditor_id.clone(),
                            debtor_id,
                            currency: record.currency.clone(),
                            ledger: Some(CaseLedger::default()),
                        },
                    );
                    self.open_cases.entry(debtor_id).or_default().push(number);
                    (number, case_no, CaseState::Registered, true)
                }
            };
        let invoice_id = self.take_invoice_id();
        self.remember_invoice(
            record.creditor_id.clone(),
            record.invoice_no.clone(),
            SeenInvoice {
                id: invoice_id,
                case_id,
                document_type: DocumentType::Invoice,
                currency: record.currency.clone(),
                fingerprint: fingerprint.clone(),
                customer_no: record.customer_no.clone(),
                origin: Origin::ThisFile(record.position.clone()),
            },
        );
        changes.invoices.push(RecordedInvoice {
            id: invoice_id,
            record,
            fingerprint,
            case_id,
            credited_invoice_id: None,
        });
        let principal = record.amount_minor - record.paid_minor;
        let mut detail = format!("invoice {} due {}", record.invoice_no, record.due_date);
        if record.paid_minor > 0 {
            detail.push_str(&format!(
                "; {} paid before hand-over",
                format_minor(record.paid_minor, '.')
            ));
        }
        if record.reminder_fee_minor > 0 {
            detail.push_str(&format!(
                "; creditor's reminder fee {}",
                format_minor(record.reminder_fee_minor, '.')
            ));
        }
        if opened {
            detail.push_str(&format!("; case {case_no} opened"));
        }
        let event_id = self.take_event_id();
        changes.events.push(ChunkEvent {
            id: event_id,
            case_id,
            kind: if opened {
                EventKind::Registered
            } else {
                EventKind::InvoiceAdded
            },
            invoice_id: Some(invoice_id),
            amount_minor: Some(principal),
            state,
            detail,
        });
        let mut postings = vec![(Component::Principal, principal)];
        if record.reminder_fee_minor > 0 {
            postings.push((Component::Fee, record.reminder_fee_minor));
        }
        let ledger = self.cases.get_mut(&case_id).and_then(|c| c.ledger.as_mut());
        if let Some(ledger) = ledger {
            ledger.invoices.push(CaseInvoice {
                id: invoice_id,
                invoice_no: record.invoice_no.clone(),
                document_type: DocumentType::Invoice,
                due_date: record.due_date,
                interest_through: None,
            });
            for &(component, amount) in &postings {
                ledger.post(Some(invoice_id), component, amount);
            }
        }
        for (component, amount_minor) in postings {
            changes.postings.push(ChunkPosting {
                case_id,
                invoice_id: Some(invoice_id),
                component,
                amount_minor,
                event_id,
            });
        }
        Ok(RecordOutcome::Applied)
    }

    /// A credit note: reduces the principal of an invoice of the same customer and currency
    /// on a case not closed, by at most what is open on it, after posting the case's interest
    /// up to the credit note's date; closes the case `credited` when no principal is left.
    fn apply_credit_note(
        &mut self,
        config: &Config,
        record: &'r InvoiceRecord,
        changes: &mut InvoiceChanges<'r>,
    ) -> Result<RecordOutcome, DecideError> {
        let fingerprint = record.fingerprint();
        if let Some(outcome) = self.seen_before(record, &fingerprint) {
            return Ok(outcome);
        }
        let credited_no = record.credited_invoice_no.as_deref().unwrap_or_default();
        let Some(credited) = self.known_invoice(&record.creditor_id, credited_no) else {
            return Ok(reject(
                record,
                "credited_invoice_no",
                code::UNKNOWN_INVOICE,
                format!(
                    "credit note {} reduces invoice {credited_no}, which was never handed over; send the invoice first, or correct credited_invoice_no",
                    record.invoice_no
                ),
            ));
        };
        if credited.document_type != DocumentType::Invoice {
            return Ok(reject(
                record,
                "credited_invoice_no",
                code::BAD_VALUE,
                format!("{credited_no} is itself a credit note; a credit note reduces an invoice"),
            ));
        }
        if credited.customer_no != record.customer_no {
            return Ok(reject(
                record,
                "customer_no",
                code::CONFLICT,
                format!(
                    "credit note {} is for customer {}, but invoice {credited_no} is for customer {}",
                    record.invoice_no, record.customer_no, credited.customer_no
                ),
            ));
        }
        if credited.currency != record.currency {
            return Ok(reject(
                record,
                "currency",
                code::BAD_CURRENCY,
                format!(
                    "credit note {} is in {} but invoice {credited_no} is in {}",
                    record.invoice_no, record.currency, credited.currency
                ),
            ));
        }
        let (credited_id, case_id) = (credited.id, credited.case_id);
        let customer_no = credited.customer_no.clone();
        let Some(case) = self.cases.get(&case_id) else {
            return Err(DecideError::CaseNotLoaded(case_id));
        };
        if case.state == CaseState::Closed {
            return Ok(reject(
                record,
                "credited_invoice_no",
                code::CASE_CLOSED,
                format!(
                    "invoice {credited_no} belongs to case {}, which is closed; a credit after closing is settled between creditor and debtor",
                    case.case_no
                ),
            ));
        }
        let Some(ledger) = &case.ledger else {
            return Err(DecideError::LedgerNotLoaded(case_id));
        };
        let open = ledger.principal_open(credited_id);
        if record.amount_minor > open {
            return Ok(reject(
                record,
                "amount",
                code::CREDIT_EXCEEDS_OPEN,
                format!(
                    "credit note {} of {} is more than the {} still open on invoice {credited_no}; credit at most the open amount and refund the rest to the debtor directly",
                    record.invoice_no,
                    format_minor(record.amount_minor, '.'),
                    format_minor(open, '.')
                ),
            ));
        }
        // Interest up to the credit note's date is owed on the principal as it was.
        self.accrue_interest(config, case_id, record.issue_date, changes)?;
        let credit_id = self.take_invoice_id();
        self.remember_invoice(
            record.creditor_id.clone(),
            record.invoice_no.clone(),
            SeenInvoice {
                id: credit_id,
                case_id,
                document_type: DocumentType::CreditNote,
                currency: record.currency.clone(),
                fingerprint: fingerprint.clone(),
                customer_no,
                origin: Origin::ThisFile(record.position.clone()),
            },
        );
        changes.invoices.push(RecordedInvoice {
            id: credit_id,
            record,
            fingerprint,
            case_id,
            credited_invoice_id: Some(credited_id),
        });
        let event_id = self.take_event_id();
        let case = self
            .cases
            .get_mut(&case_id)
            .ok_or(DecideError::CaseNotLoaded(case_id))?;
        changes.events.push(ChunkEvent {
            id: event_id,
            case_id,
            kind: EventKind::Credited,
            invoice_id: Some(credit_id),
            amount_minor: Some(-record.amount_minor),
            state: case.state,
            detail: format!(
                "credit note {} reduces invoice {credited_no}",
                record.invoice_no
            ),
        });
        changes.postings.push(ChunkPosting {
            case_id,
            invoice_id: Some(credited_id),
            component: Component::Principal,
            amount_minor: -record.amount_minor,
            event_id,
        });
        let ledger = case
            .ledger
            .as_mut()
            .ok_or(DecideError::LedgerNotLoaded(case_id))?;
        ledger.invoices.push(CaseInvoice {
            id: credit_id,
            invoice_no: record.invoice_no.clone(),
            document_type: DocumentType::CreditNote,
            due_date: record.due_date,
            interest_through: None,
        });
        ledger.post(
            Some(credited_id),
            Component::Principal,
            -record.amount_minor,
        );
        if ledger.principal_balance() == 0 {
            self.close_credited(case_id, changes)?;
        }
        Ok(RecordOutcome::Applied)
    }

    /// Posts the late-payment interest of a case up to and including `to`, as settlement and
    /// `instructing` do: per invoice with principal open (oldest due first),
    /// from the day after its due date or `interest_through`, never before the tables start,
    /// rounded per invoice; one `interest` event for what is not zero; every invoice computed
    /// is marked posted through `to`.
    fn accrue_interest(
        &mut self,
        config: &Config,
        case_id: i64,
        to: NaiveDate,
        changes: &mut InvoiceChanges<'r>,
    ) -> Result<(), DecideError> {
        let event_id = self.next.event;
        let case = self
            .cases
            .get_mut(&case_id)
            .ok_or(DecideError::CaseNotLoaded(case_id))?;
        let Some(creditor) = config.creditor(&case.creditor_id) else {
            return Ok(());
        };
        let debtor_type = self
            .debtor_types
            .get(&case.debtor_id)
            .copied()
            .ok_or(DecideError::CaseNotLoaded(case_id))?;
        let ledger = case
            .ledger
            .as_mut()
            .ok_or(DecideError::LedgerNotLoaded(case_id))?;
        // The invoices with principal open, oldest due date first (then by id), as the daily
        // steps and the settlement of payments see them: one interest rule for all three.
        let mut open: Vec<OpenInvoice> = ledger
            .invoices
            .iter()
            .filter(|i| i.document_type == DocumentType::Invoice)
            .map(|i| OpenInvoice {
                id: i.id,
                invoice_no: i.invoice_no.clone(),
                due_date: i.due_date,
                interest_through: i.interest_through,
                principal_open_minor: ledger.principal_open(i.id),
            })
            .filter(|i| i.principal_open_minor > 0)
            .collect();
        open.sort_by_key(|i| (i.due_date, i.id));
        let due = interest_posting(&config.rules, creditor.country, debtor_type, &open, to)
            .map_err(|error| DecideError::Interest {
                case_no: case.case_no.clone(),
                error: error.to_string(),
            })?;
        for &invoice_id in &due.through {
            if let Some(stored) = ledger.invoices.iter_mut().find(|i| i.id == invoice_id) {
                stored.interest_through = Some(to);
            }
            changes.interest_through.push((invoice_id, to));
        }
        if due.total == 0 {
            return Ok(());
        }
        changes.events.push(ChunkEvent {
            id: event_id,
            case_id,
            kind: EventKind::Interest,
            invoice_id: None,
            amount_minor: Some(due.total),
            state: case.state,
            detail: due.detail,
        });
        for (invoice_id, minor) in due.parts {
            ledger.post(Some(invoice_id), Component::Interest, minor);
            changes.postings.push(ChunkPosting {
                case_id,
                invoice_id: Some(invoice_id),
                component: Component::Interest,
                amount_minor: minor,
                event_id,
            });
        }
        self.next.event += 1;
        Ok(())
    }

    /// Nothing of the claims is left: unpaid fees, costs and interest are written off item by
    /// item (per invoice and component, as they were charged) and the case closes `credited`
    /// (SPEC §6.2), as an accepted dispute does in `instructing`.
    fn close_credited(
        &mut self,
        case_id: i64,
        changes: &mut InvoiceChanges<'r>,
    ) -> Result<(), DecideError> {
        let first_event = self.next.event;
        let case = self
            .cases
            .get_mut(&case_id)
            .ok_or(DecideError::CaseNotLoaded(case_id))?;
        let ledger = case
            .ledger
            .as_mut()
            .ok_or(DecideError::LedgerNotLoaded(case_id))?;
        let charges: Vec<(Option<i64>, Component, i64)> = ledger
            .sums
            .iter()
            .filter(|(_, (component, open))| *open > 0 && *component != Component::Principal)
            .map(|(&(invoice_id, _), &(component, open))| (invoice_id, component, open))
            .collect();
        let written_off: i64 = charges.iter().map(|(_, _, open)| open).sum();
        let mut event_id = first_event;
        if written_off != 0 {
            changes.events.push(ChunkEvent {
                id: event_id,
                case_id,
                kind: EventKind::FeesWrittenOff,
                invoice_id: None,
                amount_minor: Some(-written_off),
                state: CaseState::Closed,
                detail: "the claims were credited in full; unpaid fees, costs and interest are written off".to_owned(),
            });
            for (invoice_id, component, open) in charges {
                ledger.post(invoice_id, component, -open);
                changes.postings.push(ChunkPosting {
                    case_id,
                    invoice_id,
                    component,
                    amount_minor: -open,
                    event_id,
                });
            }
            event_id += 1;
        }
        case.state = CaseState::Closed;
        changes.closed_credited.push(case_id);
        changes.events.push(ChunkEvent {
            id: event_id,
            case_id,
            kind: EventKind::Closed,
            invoice_id: None,
            amount_minor: None,
            state: CaseState::Closed,
            detail: CloseReason::Credited.as_str().to_owned(),
        });
        self.next.event = event_id + 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::Scheme;

    /// Nordlys: Norway, NOK, cases start at the collection notice.
    const NORDLYS: &str = "923609016";

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

    fn today() -> NaiveDate {
        day(2026, 10, 1)
    }

    /// An invoice of 1 000.00 NOK from Nordlys to customer `customer`, due 15 August 2026, on
    /// line `line` of the file.
    fn invoice(line: u64, invoice_no: &str, customer: &str) -> InvoiceRecord {
        InvoiceRecord {
            position: Position::Line(line),
            creditor_id: NORDLYS.to_owned(),
            invoice_no: invoice_no.to_owned(),
            document_type: DocumentType::Invoice,
            credited_invoice_no: None,
            customer_no: customer.to_owned(),
            debtor_type: DebtorType::Person,
            debtor_name: "Kari Nordmann".to_owned(),
            debtor_id: None,
            address: "Storgata 1".to_owned(),
            postcode: "0155".to_owned(),
            city: "Oslo".to_owned(),
            country: "NO".to_owned(),
            email: None,
            issue_date: day(2026, 7, 15),
            due_date: day(2026, 8, 15),
            currency: "NOK".to_owned(),
            amount_minor: 100_000,
            reference: None,
            reminder_fee_minor: 0,
            notice_sent_date: None,
            paid_minor: 0,
        }
    }

    /// A credit note of `amount_minor` issued 1 September 2026 reducing `credited`.
    fn credit_note(
        line: u64,
        invoice_no: &str,
        credited: &str,
        customer: &str,
        amount_minor: i64,
    ) -> InvoiceRecord {
        InvoiceRecord {
            document_type: DocumentType::CreditNote,
            credited_invoice_no: Some(credited.to_owned()),
            amount_minor,
            issue_date: day(2026, 9, 1),
            due_date: day(2026, 9, 1),
            ..invoice(line, invoice_no, customer)
        }
    }

    fn store(next: NextIds) -> ChunkState {
        ChunkState {
            file_name: "invoices.csv".to_owned(),
            next,
            ..ChunkState::default()
        }
    }

    fn next() -> NextIds {
        NextIds {
            debtor: 5,
            case: 40,
            invoice: 300,
            event: 1000,
        }
    }

    /// A stored invoice `F-1` of customer `C1` (debtor 4) on case 39, registered.
    fn stored_invoice(fingerprint: &str) -> KnownInvoice {
        KnownInvoice {
            id: 299,
            case_id: 39,
            creditor_id: NORDLYS.to_owned(),
            invoice_no: "F-1".to_owned(),
            document_type: DocumentType::Invoice,
            currency: "NOK".to_owned(),
            fingerprint: fingerprint.to_owned(),
            customer_no: "C1".to_owned(),
            origin: "earlier.csv line 2".to_owned(),
        }
    }

    fn stored_case(state: CaseState, ledger: Option<CaseLedger>) -> KnownCase {
        KnownCase {
            id: 39,
            case_no: "2026-000039".to_owned(),
            state,
            creditor_id: NORDLYS.to_owned(),
            debtor_id: 4,
            debtor_type: DebtorType::Person,
            currency: "NOK".to_owned(),
            ledger,
        }
    }

    fn stored_debtor() -> KnownDebtor {
        KnownDebtor {
            id: 4,
            creditor_id: NORDLYS.to_owned(),
            customer_no: "C1".to_owned(),
        }
    }

    /// The ledger of case 39: invoice 299 due 15 August 2026 with `principal` open and a
    /// reminder fee of 70.00 on it.
    fn ledger(principal: i64) -> CaseLedger {
        let mut ledger = CaseLedger {
            invoices: vec![CaseInvoice {
                id: 299,
                invoice_no: "F-1".to_owned(),
                document_type: DocumentType::Invoice,
                due_date: day(2026, 8, 15),
                interest_through: None,
            }],
            ..CaseLedger::default()
        };
        ledger.post(Some(299), Component::Principal, principal);
        ledger.post(Some(299), Component::Fee, 7_000);
        ledger
    }

    fn rejected_with(outcome: &RecordOutcome) -> &'static str {
        match outcome {
            RecordOutcome::Rejected(d) => d.code,
            other => panic!("not rejected: {other:?}"),
        }
    }

    fn kinds(changes: &InvoiceChanges<'_>) -> Vec<(i64, EventKind)> {
        changes.events.iter().map(|e| (e.id, e.kind)).collect()
    }

    #[test]
    fn a_new_debtors_first_invoice_opens_a_case_and_the_second_joins_it() {
        let records = [invoice(2, "F-1", "C1"), invoice(3, "F-2", "C1")];
        let changes = decide(&config(), today(), &records, store(next())).unwrap();
        assert_eq!(
            changes.outcomes,
            [RecordOutcome::Applied, RecordOutcome::Applied]
        );
        assert_eq!(changes.new_debtors.len(), 1);
        assert_eq!(changes.new_debtors[0].id, 5);
        assert!(changes.updated_debtors.is_empty());
        assert_eq!(changes.cases.len(), 1);
        let case = &changes.cases[0];
        assert_eq!((case.id, case.case_no.as_str()), (40, "2026-000040"));
        assert_eq!(case.first_step, HandoverStep::Notice);
        assert!(case.reference.starts_with("700000040"));
        let invoices: Vec<(i64, i64)> =
            changes.invoices.iter().map(|i| (i.id, i.case_id)).collect();
        assert_eq!(invoices, [(300, 40), (301, 40)]);
        assert_eq!(
            kinds(&changes),
            [
                (1000, EventKind::Registered),
                (1001, EventKind::InvoiceAdded)
            ]
        );
        assert_eq!(
            changes.events[0].detail,
            "invoice F-1 due 2026-08-15; case 2026-000040 opened"
        );
        let postings: Vec<(i64, Option<i64>, i64)> = changes
            .postings
            .iter()
            .map(|p| (p.event_id, p.invoice_id, p.amount_minor))
            .collect();
        assert_eq!(
            postings,
            [(1000, Some(300), 100_000), (1001, Some(301), 100_000)]
        );
    }

    #[test]
    fn an_invoice_joins_a_stored_case_that_accepts_invoices_and_updates_its_debtor() {
        let mut state = store(next());
        state.debtors.push(stored_debtor());
        state.cases.push(stored_case(CaseState::Reminder, None));
        let mut record = invoice(2, "F-9", "C1");
        record.paid_minor = 20_000;
        record.reminder_fee_minor = 7_000;
        let records = [record];
        let changes = decide(&config(), today(), &records, state).unwrap();
        assert_eq!(changes.outcomes, [RecordOutcome::Applied]);
        assert!(changes.cases.is_empty() && changes.new_debtors.is_empty());
        assert_eq!(changes.updated_debtors[0].id, 4);
        assert_eq!(changes.invoices[0].case_id, 39);
        let event = &changes.events[0];
        assert_eq!(
            (event.kind, event.state),
            (EventKind::InvoiceAdded, CaseState::Reminder)
        );
        assert_eq!(event.amount_minor, Some(80_000));
        assert_eq!(
            event.detail,
            "invoice F-9 due 2026-08-15; 200.00 paid before hand-over; creditor's reminder fee 70.00"
        );
        let components: Vec<(Component, i64)> = changes
            .postings
            .iter()
            .map(|p| (p.component, p.amount_minor))
            .collect();
        assert_eq!(
            components,
            [(Component::Principal, 80_000), (Component::Fee, 7_000)]
        );
    }

    #[test]
    fn a_case_past_the_letters_takes_no_new_invoice_so_another_case_opens() {
        let mut state = store(next());
        state.debtors.push(stored_debtor());
        state.cases.push(stored_case(CaseState::Collection, None));
        let mut record = invoice(2, "F-9", "C1");
        record.notice_sent_date = Some(day(2026, 9, 1));
        let records = [record];
        let changes = decide(&config(), today(), &records, state).unwrap();
        assert_eq!(changes.cases.len(), 1);
        assert_eq!(changes.cases[0].debtor_id, 4);
        // The creditor sent its own notice: the case starts at the demand.
        assert_eq!(changes.cases[0].first_step, HandoverStep::Demand);
        assert_eq!(changes.invoices[0].case_id, 40);
    }

    #[test]
    fn an_invoice_in_another_currency_opens_its_own_case_which_the_next_one_joins() {
        let mut state = store(next());
        state.debtors.push(stored_debtor());
        state.cases.push(stored_case(CaseState::Registered, None));
        let mut in_euro = invoice(2, "F-8", "C1");
        in_euro.currency = "EUR".to_owned();
        let mut again_in_euro = invoice(3, "F-9", "C1");
        again_in_euro.currency = "EUR".to_owned();
        let records = [in_euro, again_in_euro, invoice(4, "F-10", "C1")];
        let changes = decide(&config(), today(), &records, state).unwrap();
        let cases: Vec<i64> = changes.invoices.iter().map(|i| i.case_id).collect();
        assert_eq!(cases, [40, 40, 39]);
        assert_eq!(changes.cases.len(), 1);
        assert_eq!(changes.cases[0].currency, "EUR");
    }

    #[test]
    fn the_same_number_twice_in_a_chunk_is_unchanged_or_a_conflict() {
        let mut changed = invoice(4, "F-1", "C1");
        changed.amount_minor = 99_000;
        let records = [invoice(2, "F-1", "C1"), invoice(3, "F-1", "C1"), changed];
        let changes = decide(&config(), today(), &records, store(next())).unwrap();
        assert_eq!(changes.outcomes[0], RecordOutcome::Applied);
        assert_eq!(changes.outcomes[1], RecordOutcome::Unchanged);
        assert_eq!(rejected_with(&changes.outcomes[2]), code::CONFLICT);
        let RecordOutcome::Rejected(conflict) = &changes.outcomes[2] else {
            unreachable!()
        };
        assert!(
            conflict.message.contains("(invoices.csv line 2)"),
            "{}",
            conflict.message
        );
        assert_eq!(changes.invoices.len(), 1);
        assert_eq!(changes.events.len(), 1);
    }

    #[test]
    fn a_stored_number_is_unchanged_with_the_same_content_and_a_conflict_otherwise() {
        let same = invoice(2, "F-1", "C1");
        let mut state = store(next());
        state.invoices.push(stored_invoice(&same.fingerprint()));
        let mut changed = invoice(3, "F-1", "C1");
        changed.due_date = day(2026, 8, 31);
        let records = [same, changed];
        let changes = decide(&config(), today(), &records, state).unwrap();
        assert_eq!(changes.outcomes[0], RecordOutcome::Unchanged);
        assert_eq!(rejected_with(&changes.outcomes[1]), code::CONFLICT);
        let RecordOutcome::Rejected(conflict) = &changes.outcomes[1] else {
            unreachable!()
        };
        assert!(conflict.message.contains("(earlier.csv line 2)"));
        assert!(changes.invoices.is_empty() && changes.events.is_empty());
        assert!(changes.new_debtors.is_empty() && changes.updated_debtors.is_empty());
    }

    #[test]
    fn an_invoice_of_a_creditor_not_configured_is_rejected_and_writes_nothing() {
        let mut record = invoice(2, "F-1", "C1");
        record.creditor_id = "111111111".to_owned();
        let records = [record];
        let changes = decide(&config(), today(), &records, store(next())).unwrap();
        assert_eq!(rejected_with(&changes.outcomes[0]), code::UNKNOWN_CREDITOR);
        assert!(changes.new_debtors.is_empty() && changes.cases.is_empty());
        assert!(changes.events.is_empty() && changes.postings.is_empty());
    }

    #[test]
    fn a_debtor_keeps_the_identity_number_and_e_mail_a_later_invoice_leaves_out() {
        let mut first = invoice(2, "F-1", "C1");
        first.debtor_id = Some("01017012345".to_owned());
        first.email = Some("kari@example.no".to_owned());
        let mut second = invoice(3, "F-2", "C1");
        second.address = "Lillegata 2".to_owned();
        let records = [first, second];
        let changes = decide(&config(), today(), &records, store(next())).unwrap();
        let debtor = &changes.new_debtors[0];
        assert_eq!(debtor.latest.address, "Lillegata 2");
        assert_eq!(debtor.national_id, Some("01017012345"));
        assert_eq!(debtor.email, Some("kari@example.no"));
    }

    #[test]
    fn a_credit_note_of_a_whole_invoice_of_the_chunk_writes_off_the_fee_and_closes_the_case() {
        let mut first = invoice(2, "F-1", "C1");
        first.reminder_fee_minor = 7_000;
        // Interest runs from 16 August; the credit note of 1 September posts it first.
        let records = [
            first,
            credit_note(3, "K-1", "F-1", "C1", 100_000),
            credit_note(4, "K-2", "F-1", "C1", 100),
        ];
        let changes = decide(&config(), today(), &records, store(next())).unwrap();
        assert_eq!(changes.outcomes[1], RecordOutcome::Applied);
        assert_eq!(rejected_with(&changes.outcomes[2]), code::CASE_CLOSED);
        assert_eq!(
            kinds(&changes),
            [
                (1000, EventKind::Registered),
                (1001, EventKind::Interest),
                (1002, EventKind::Credited),
                (1003, EventKind::FeesWrittenOff),
                (1004, EventKind::Closed),
            ]
        );
        let interest = changes.postings[2].amount_minor;
        assert!(interest > 0);
        assert_eq!(changes.events[1].amount_minor, Some(interest));
        assert_eq!(changes.interest_through, [(300, day(2026, 9, 1))]);
        let credit = &changes.invoices[1];
        assert_eq!((credit.id, credit.credited_invoice_id), (301, Some(300)));
        assert_eq!(
            changes.events[2].detail,
            "credit note K-1 reduces invoice F-1"
        );
        // Written off per component in the order the store lists open items: fee, interest.
        let written_off: Vec<(Component, i64)> = changes
            .postings
            .iter()
            .filter(|p| p.event_id == 1003)
            .map(|p| (p.component, p.amount_minor))
            .collect();
        assert_eq!(
            written_off,
            [(Component::Fee, -7_000), (Component::Interest, -interest)]
        );
        assert_eq!(changes.events[3].amount_minor, Some(-7_000 - interest));
        assert_eq!(changes.closed_credited, [40]);
    }

    #[test]
    fn a_partial_credit_note_of_a_stored_invoice_posts_interest_and_leaves_the_case_open() {
        let mut state = store(next());
        state.invoices.push(stored_invoice("other"));
        state
            .cases
            .push(stored_case(CaseState::Notice, Some(ledger(100_000))));
        let records = [credit_note(2, "K-1", "F-1", "C1", 40_000)];
        let changes = decide(&config(), today(), &records, state).unwrap();
        assert_eq!(changes.outcomes, [RecordOutcome::Applied]);
        assert_eq!(
            kinds(&changes),
            [(1000, EventKind::Interest), (1001, EventKind::Credited)]
        );
        assert_eq!(changes.events[1].state, CaseState::Notice);
        assert_eq!(changes.invoices[0].case_id, 39);
        assert_eq!(changes.postings.last().unwrap().amount_minor, -40_000);
        assert!(changes.closed_credited.is_empty());
    }

    #[test]
    fn a_credit_note_more_than_what_is_open_or_on_a_closed_case_is_rejected() {
        let mut state = store(next());
        state.invoices.push(stored_invoice("other"));
        state
            .cases
            .push(stored_case(CaseState::Notice, Some(ledger(30_000))));
        let records = [credit_note(2, "K-1", "F-1", "C1", 40_000)];
        let changes = decide(&config(), today(), &records, state.clone()).unwrap();
        assert_eq!(
            rejected_with(&changes.outcomes[0]),
            code::CREDIT_EXCEEDS_OPEN
        );
        assert!(changes.events.is_empty() && changes.interest_through.is_empty());
        state.cases[0].state = CaseState::Closed;
        let changes = decide(&config(), today(), &records, state).unwrap();
        assert_eq!(rejected_with(&changes.outcomes[0]), code::CASE_CLOSED);
    }

    #[test]
    fn a_credit_note_must_reduce_a_known_invoice_of_its_customer_and_currency() {
        let mut state = store(next());
        state.invoices.push(stored_invoice("other"));
        state.invoices.push(KnownInvoice {
            id: 298,
            invoice_no: "K-0".to_owned(),
            document_type: DocumentType::CreditNote,
            ..stored_invoice("other")
        });
        state
            .cases
            .push(stored_case(CaseState::Notice, Some(ledger(100_000))));
        let mut in_euro = credit_note(5, "K-4", "F-1", "C1", 100);
        in_euro.currency = "EUR".to_owned();
        let records = [
            credit_note(2, "K-1", "F-404", "C1", 100),
            credit_note(3, "K-2", "K-0", "C1", 100),
            credit_note(4, "K-3", "F-1", "C2", 100),
            in_euro,
        ];
        let changes = decide(&config(), today(), &records, state).unwrap();
        let codes: Vec<&str> = changes.outcomes.iter().map(rejected_with).collect();
        assert_eq!(
            codes,
            [
                code::UNKNOWN_INVOICE,
                code::BAD_VALUE,
                code::CONFLICT,
                code::BAD_CURRENCY
            ]
        );
        assert!(changes.events.is_empty() && changes.invoices.is_empty());
    }

    #[test]
    fn a_credit_note_on_a_case_loaded_without_its_ledger_is_a_defect() {
        let mut state = store(next());
        state.invoices.push(stored_invoice("other"));
        state.cases.push(stored_case(CaseState::Notice, None));
        let records = [credit_note(2, "K-1", "F-1", "C1", 100)];
        assert_eq!(
            decide(&config(), today(), &records, state),
            Err(DecideError::LedgerNotLoaded(39))
        );
    }

    fn creditor(country: Country) -> Creditor {
        Creditor {
            id: "x".into(),
            name: "x".into(),
            country,
            currency: country.home_currency().into(),
            other_currencies: vec![],
            reference_scheme: Scheme::KidMod10,
            reference_lengths: vec![],
            handover: HandoverStep::Notice,
        }
    }

    #[test]
    fn agency_references_follow_the_country_scheme() {
        let no = agency_reference("70", &creditor(Country::No), 17).unwrap();
        assert!(no.starts_with("700000017"));
        assert_eq!(reference::validate(Scheme::KidMod10, &no), Ok(()));
        let se = agency_reference("70", &creditor(Country::Se), 17).unwrap();
        assert_eq!(reference::validate_se_ocr_with_length_digit(&se), Ok(()));
        let fi = agency_reference("70", &creditor(Country::Fi), 17).unwrap();
        assert_eq!(reference::validate(Scheme::FiRef, &fi), Ok(()));
    }

    #[test]
    fn case_numbers_carry_the_year() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert_eq!(case_number(date, 17), "2026-000017");
    }
}
