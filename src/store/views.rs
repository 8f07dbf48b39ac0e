//! Read models for the CLI: one case in full, and filtered case lists.

use crate::store::db::OptionalExtension;
use chrono::NaiveDate;

use super::{StoreError, Tx, date_column, enum_column};
use crate::domain::Balance;
use crate::domain::{CaseState, CloseReason, DebtorType, EventKind};

/// One case with everything `case show` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseView {
    pub case_no: String,
    pub creditor_id: String,
    pub reference: String,
    pub currency: String,
    pub state: CaseState,
    pub close_reason: Option<CloseReason>,
    pub deadline: Option<NaiveDate>,
    pub opened_on: NaiveDate,
    pub debtor_name: String,
    pub debtor_type: DebtorType,
    pub debtor_id: Option<String>,
    pub invoices: Vec<InvoiceView>,
    pub balance: Balance,
    pub events: Vec<EventView>,
    pub letters: Vec<LetterView>,
}

/// A letter as it was sent (SPEC §7's letter contents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterView {
    pub letter_id: i64,
    pub step: String,
    pub date: NaiveDate,
    pub account: String,
    pub principal_minor: i64,
    pub interest_minor: i64,
    pub interest_rate: String,
    pub interest_from: Option<NaiveDate>,
    pub fees_minor: i64,
    pub collection_costs_minor: i64,
    pub total_minor: i64,
    pub deadline: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceView {
    pub invoice_no: String,
    pub document_type: String,
    pub reference: Option<String>,
    pub due_date: NaiveDate,
    pub amount_minor: i64,
    pub principal_open_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventView {
    pub date: NaiveDate,
    pub kind: EventKind,
    pub amount_minor: Option<i64>,
    pub detail: String,
}

/// One line of `case list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseSummary {
    pub case_no: String,
    pub creditor_id: String,
    pub reference: String,
    pub state: CaseState,
    pub close_reason: Option<CloseReason>,
    pub debtor_name: String,
    pub currency: String,
    pub invoice_count: i64,
    pub balance: Balance,
    pub deadline: Option<NaiveDate>,
}

/// Filters of `case list`.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub state: Option<CaseState>,
    pub creditor_id: Option<String>,
    /// Only cases of these creditors (a sender's view); `None`: all.
    pub visible_creditors: Option<Vec<String>>,
}

impl Tx<'_> {
    /// Finds a case by case number, agency reference, or `CREDITOR_ID/INVOICE_NO`.
    pub fn find_case_id(&self, key: &str) -> Result<Option<i64>, StoreError> {
        let by_number_or_reference = self
            .tx
            .query_row(
                "SELECT id FROM cases WHERE case_no = ?1 OR reference = ?2",
                (key, crate::reference::normalize(key)),
                |r| r.get(0),
            )
            .optional()?;
        if by_number_or_reference.is_some() {
            return Ok(by_number_or_reference);
        }
        let Some((creditor, invoice_no)) = key.split_once('/') else {
            return Ok(None);
        };
        Ok(self
            .tx
            .query_row(
                "SELECT case_id FROM invoices WHERE creditor_id = ?1 AND invoice_no = ?2",
                (creditor, invoice_no),
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn case_view(&self, case_id: i64) -> Result<CaseView, StoreError> {
        let mut view = self.tx.query_row(
            "SELECT c.case_no, c.creditor_id, c.reference, c.currency, c.state, c.close_reason,
                    c.deadline, c.opened_on, d.name, d.debtor_type, d.national_id
             FROM cases c JOIN debtors d ON d.id = c.debtor_id WHERE c.id = ?1",
            [case_id],
            |r| {
                Ok(CaseView {
                    case_no: r.get(0)?,
                    creditor_id: r.get(1)?,
                    reference: r.get(2)?,
                    currency: r.get(3)?,
                    state: enum_column(&r.get::<String>(4)?)?,
                    close_reason: r
                        .get::<Option<String>>(5)?
                        .map(|s| enum_column(&s))
                        .transpose()?,
                    deadline: r
                        .get::<Option<String>>(6)?
                        .map(|s| date_column(&s))
                        .transpose()?,
                    opened_on: date_column(&r.get::<String>(7)?)?,
                    debtor_name: r.get(8)?,
                    debtor_type: enum_column(&r.get::<String>(9)?)?,
                    debtor_id: r.get(10)?,
                    invoices: Vec::new(),
                    balance: Balance::default(),
                    events: Vec::new(),
                    letters: Vec::new(),
                })
            },
        )?;
        let mut stmt = self.tx.prepare(
            "SELECT i.invoice_no, i.document_type, i.reference, i.due_date, i.amount_minor,
                    COALESCE((SELECT SUM(p.amount_minor) FROM postings p
                              WHERE p.case_id = i.case_id AND p.component = 'principal'
                       AND p.invoice_id = i.id), 0)
             FROM invoices i WHERE i.case_id = ?1 ORDER BY i.due_date, i.id",
        )?;
        view.invoices = stmt
            .query_map([case_id], |r| {
                Ok(InvoiceView {
                    invoice_no: r.get(0)?,
                    document_type: r.get(1)?,
                    reference: r.get(2)?,
                    due_date: date_column(&r.get::<String>(3)?)?,
                    amount_minor: r.get(4)?,
                    principal_open_minor: r.get(5)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut stmt = self.tx.prepare(
            "SELECT event_date, kind, amount_minor, detail FROM case_events
             WHERE case_id = ?1 ORDER BY id",
        )?;
        view.events = stmt
            .query_map([case_id], |r| {
                Ok(EventView {
                    date: date_column(&r.get::<String>(0)?)?,
                    kind: enum_column(&r.get::<String>(1)?)?,
                    amount_minor: r.get(2)?,
                    detail: r.get(3)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut stmt = self.tx.prepare(
            "SELECT id, step, letter_date, account, principal_minor, interest_minor, interest_rate,
                    interest_from, fees_minor, collection_costs_minor, total_minor, deadline
             FROM letters WHERE case_id = ?1 ORDER BY id",
        )?;
        view.letters = stmt
            .query_map([case_id], |r| {
                Ok(LetterView {
                    letter_id: r.get(0)?,
                    step: r.get(1)?,
                    date: date_column(&r.get::<String>(2)?)?,
                    account: r.get(3)?,
                    principal_minor: r.get(4)?,
                    interest_minor: r.get(5)?,
                    interest_rate: r.get(6)?,
                    interest_from: r
                        .get::<Option<String>>(7)?
                        .map(|s| date_column(&s))
                        .transpose()?,
                    fees_minor: r.get(8)?,
                    collection_costs_minor: r.get(9)?,
                    total_minor: r.get(10)?,
                    deadline: date_column(&r.get::<String>(11)?)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        view.balance = self.case_balance(case_id)?;
        Ok(view)
    }

    pub fn case_list(&self, filter: &CaseFilter) -> Result<Vec<CaseSummary>, StoreError> {
        let mut stmt = self.tx.prepare(
            "SELECT c.id, c.case_no, c.creditor_id, c.reference, c.state, c.close_reason, d.name,
                    c.currency, (SELECT COUNT(*) FROM invoices i WHERE i.case_id = c.id
                                 AND i.document_type = 'invoice'), c.deadline
             FROM cases c JOIN debtors d ON d.id = c.debtor_id
             WHERE (CAST(?1 AS TEXT) IS NULL OR c.state = ?1)
               AND (CAST(?2 AS TEXT) IS NULL OR c.creditor_id = ?2)
             ORDER BY c.id",
        )?;
        let rows = stmt.query_map_streamed(
            (
                filter.state.map(|s| s.as_str()),
                filter.creditor_id.as_deref(),
            ),
            |r| {
                Ok((
                    r.get::<i64>(0)?,
                    CaseSummary {
                        case_no: r.get(1)?,
                        creditor_id: r.get(2)?,
                        reference: r.get(3)?,
                        state: enum_column(&r.get::<String>(4)?)?,
                        close_reason: r
                            .get::<Option<String>>(5)?
                            .map(|s| enum_column(&s))
                            .transpose()?,
                        debtor_name: r.get(6)?,
                        currency: r.get(7)?,
                        invoice_count: r.get(8)?,
                        balance: Balance::default(),
                        deadline: r
                            .get::<Option<String>>(9)?
                            .map(|s| date_column(&s))
                            .transpose()?,
                    },
                ))
            },
        )?;
        let mut out = Vec::new();
        for row in rows {
            let (id, mut summary) = row?;
            if let Some(visible) = &filter.visible_creditors
                && !visible.contains(&summary.creditor_id)
            {
                continue;
            }
            summary.balance = self.case_balance(id)?;
            out.push(summary);
        }
        Ok(out)
    }

    /// Counts of cases per state, for `status`.
    pub fn case_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let mut stmt = self
            .tx
            .prepare("SELECT state, COUNT(*) FROM cases GROUP BY state ORDER BY state")?;
        let rows = stmt.query_map(crate::store::db::NO_PARAMS, |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// The money of one business day in one currency: what was received and where it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentDay {
    pub date: NaiveDate,
    pub currency: String,
    pub payments: i64,
    /// Every payment of the day's files, reversals negative.
    pub received_minor: i64,
    pub allocated_minor: i64,
    pub overpaid_minor: i64,
    pub unmatched_minor: i64,
}

impl PaymentDay {
    /// Received = allocated + overpaid + unmatched, to the øre.
    pub fn ties_out(&self) -> bool {
        self.received_minor == self.allocated_minor + self.overpaid_minor + self.unmatched_minor
    }
}

/// An unmatched payment as the desk sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmatchedView {
    pub sender: String,
    pub payment_id: String,
    pub amount_minor: i64,
    pub currency: String,
    pub payment_date: NaiveDate,
    pub reference: Option<String>,
    pub payer_name: Option<String>,
    pub reason: Option<String>,
}

impl Tx<'_> {
    /// Per business day (of the file that brought them) and currency: payments received,
    /// allocated, overpaid and unmatched.
    pub fn payment_days(&self) -> Result<Vec<PaymentDay>, StoreError> {
        let mut stmt = self.tx.prepare(
            "SELECT f.business_date, p.currency, COUNT(*), SUM(p.amount_minor),
                    SUM(COALESCE((SELECT SUM(a.amount_minor) FROM allocations a
                                  WHERE a.payment_id = p.id AND a.component <> 'overpaid'), 0)),
                    SUM(COALESCE((SELECT SUM(a.amount_minor) FROM allocations a
                                  WHERE a.payment_id = p.id AND a.component = 'overpaid'), 0)),
                    SUM(CASE WHEN p.case_id IS NULL THEN p.amount_minor ELSE 0 END)
             FROM payments p JOIN inbound_files f ON f.id = p.file_id
             GROUP BY f.business_date, p.currency
             ORDER BY f.business_date, p.currency",
        )?;
        let rows = stmt.query_map(crate::store::db::NO_PARAMS, |r| {
            Ok(PaymentDay {
                date: date_column(&r.get::<String>(0)?)?,
                currency: r.get(1)?,
                payments: r.get(2)?,
                received_minor: r.get(3)?,
                allocated_minor: r.get(4)?,
                overpaid_minor: r.get(5)?,
                unmatched_minor: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Payments waiting for a case, oldest first (corrections included: the desk needs them).
    pub fn unmatched_views(&self) -> Result<Vec<UnmatchedView>, StoreError> {
        let mut stmt = self.tx.prepare(
            "SELECT sender, payment_id, amount_minor, currency, payment_date, reference,
                    payer_name, unmatched_reason
             FROM payments
             WHERE case_id IS NULL AND reverses IS NULL AND reversed_by IS NULL
             ORDER BY id",
        )?;
        let rows = stmt.query_map(crate::store::db::NO_PARAMS, |r| {
            Ok(UnmatchedView {
                sender: r.get(0)?,
                payment_id: r.get(1)?,
                amount_minor: r.get(2)?,
                currency: r.get(3)?,
                payment_date: date_column(&r.get::<String>(4)?)?,
                reference: r.get(5)?,
                payer_name: r.get(6)?,
                reason: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
