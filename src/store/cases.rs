//! Debtors, cases, invoices, events and the postings ledger.

use chrono::NaiveDate;
use rusqlite::OptionalExtension;

use super::{StoreError, Tx, enum_column};
use crate::domain::{
    Balance, CaseState, CloseReason, Component, DebtorType, DocumentType, EventKind, HandoverStep,
};
use crate::ingest::validate::invoice::InvoiceRecord;

/// An invoice or credit note already in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredInvoice {
    pub id: i64,
    pub case_id: i64,
    pub document_type: DocumentType,
    pub currency: String,
    pub fingerprint: String,
    pub customer_no: String,
    /// Where it came from, for conflict messages: `<file name> line N`.
    pub origin: String,
}

/// The parts of a case that apply decisions need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRow {
    pub id: i64,
    pub case_no: String,
    pub state: CaseState,
    pub close_reason: Option<CloseReason>,
    pub currency: String,
    pub creditor_id: String,
    pub debtor_type: DebtorType,
}

/// What interest on one invoice is computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterestBasis {
    pub invoice_id: i64,
    pub invoice_no: String,
    pub due_date: NaiveDate,
    /// Interest is posted up to and including this date; `None`: not yet.
    pub interest_through: Option<NaiveDate>,
    pub principal_open_minor: i64,
}

/// A case to open.
#[derive(Debug, Clone)]
pub struct NewCase<'a> {
    pub case_no: &'a str,
    pub reference: &'a str,
    pub creditor_id: &'a str,
    pub debtor_id: i64,
    pub currency: &'a str,
    pub first_step: HandoverStep,
    pub opened_on: NaiveDate,
}

/// An invoice or credit note to record.
#[derive(Debug, Clone)]
pub struct NewInvoice<'a> {
    pub record: &'a InvoiceRecord,
    pub case_id: i64,
    pub credited_invoice_id: Option<i64>,
    pub file_id: i64,
}

/// An event to record.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub case_id: i64,
    pub date: NaiveDate,
    pub kind: EventKind,
    pub invoice_id: Option<i64>,
    pub amount_minor: Option<i64>,
    /// The case's state after the event.
    pub state: CaseState,
    pub detail: &'a str,
    pub file_id: Option<i64>,
}

impl Tx<'_> {
    pub fn find_invoice(
        &self,
        creditor_id: &str,
        invoice_no: &str,
    ) -> Result<Option<StoredInvoice>, StoreError> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT i.id, i.case_id, i.document_type, i.currency, i.fingerprint,
                        d.customer_no, f.original_name, i.position
                 FROM invoices i
                 JOIN cases c ON c.id = i.case_id
                 JOIN debtors d ON d.id = c.debtor_id
                 JOIN inbound_files f ON f.id = i.file_id
                 WHERE i.creditor_id = ?1 AND i.invoice_no = ?2",
            )?
            .query_row((creditor_id, invoice_no), |r| {
                Ok(StoredInvoice {
                    id: r.get(0)?,
                    case_id: r.get(1)?,
                    document_type: enum_column(&r.get::<_, String>(2)?)?,
                    currency: r.get(3)?,
                    fingerprint: r.get(4)?,
                    customer_no: r.get(5)?,
                    origin: format!("{} {}", r.get::<_, String>(6)?, r.get::<_, String>(7)?),
                })
            })
            .optional()?)
    }

    /// Creates the debtor or brings its name and address up to date with the latest invoice.
    pub fn upsert_debtor(&self, r: &InvoiceRecord) -> Result<i64, StoreError> {
        Ok(self
            .tx
            .prepare_cached(
                "INSERT INTO debtors (creditor_id, customer_no, debtor_type, name, national_id,
                 address, postcode, city, country, email)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (creditor_id, customer_no) DO UPDATE SET
                 debtor_type = excluded.debtor_type, name = excluded.name,
                 national_id = COALESCE(excluded.national_id, debtors.national_id),
                 address = excluded.address, postcode = excluded.postcode, city = excluded.city,
                 country = excluded.country, email = COALESCE(excluded.email, debtors.email)
             RETURNING id",
            )?
            .query_row(
                rusqlite::params![
                    r.creditor_id,
                    r.customer_no,
                    r.debtor_type.as_str(),
                    r.debtor_name,
                    r.debtor_id,
                    r.address,
                    r.postcode,
                    r.city,
                    r.country,
                    r.email,
                ],
                |row| row.get(0),
            )?)
    }

    /// The open case a new invoice of this creditor and debtor joins, if any.
    pub fn joinable_case(
        &self,
        creditor_id: &str,
        debtor_id: i64,
        currency: &str,
    ) -> Result<Option<CaseRow>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT c.id, c.case_no, c.state, c.currency, c.close_reason, c.creditor_id,
                    d.debtor_type
             FROM cases c JOIN debtors d ON d.id = c.debtor_id
             WHERE c.creditor_id = ?1 AND c.debtor_id = ?2 AND c.currency = ?3
               AND c.state <> 'closed'
             ORDER BY c.id",
        )?;
        let rows = stmt.query_map((creditor_id, debtor_id, currency), case_row)?;
        for row in rows {
            let row = row?;
            if row.state.accepts_new_invoices() {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }

    pub fn case_row(&self, case_id: i64) -> Result<CaseRow, StoreError> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT c.id, c.case_no, c.state, c.currency, c.close_reason, c.creditor_id,
                        d.debtor_type
                 FROM cases c JOIN debtors d ON d.id = c.debtor_id WHERE c.id = ?1",
            )?
            .query_row([case_id], case_row)?)
    }

    /// The number the next case will get (the write lock makes it safe to use).
    pub fn next_case_number(&self) -> Result<i64, StoreError> {
        Ok(self
            .tx
            .prepare_cached("SELECT COALESCE(MAX(id), 0) + 1 FROM cases")?
            .query_row([], |r| r.get(0))?)
    }

    pub fn insert_case(&self, id: i64, c: &NewCase<'_>) -> Result<i64, StoreError> {
        self.tx.prepare_cached(
            "INSERT INTO cases (id, case_no, reference, creditor_id, debtor_id, currency, state,
                 first_step, opened_on)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'registered', ?7, ?8)",
        )?.execute(
            rusqlite::params![
                id,
                c.case_no,
                c.reference,
                c.creditor_id,
                c.debtor_id,
                c.currency,
                c.first_step.as_str(),
                c.opened_on.to_string(),
            ],
        )?;
        Ok(id)
    }

    pub fn insert_invoice(&self, n: &NewInvoice<'_>) -> Result<i64, StoreError> {
        let r = n.record;
        self.tx
            .prepare_cached(
                "INSERT INTO invoices (creditor_id, invoice_no, case_id, document_type,
                 credited_invoice_id, issue_date, due_date, currency, amount_minor,
                 paid_before_minor, reminder_fee_minor, notice_sent_date, reference, fingerprint,
                 file_id, position)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            )?
            .execute(rusqlite::params![
                r.creditor_id,
                r.invoice_no,
                n.case_id,
                r.document_type.as_str(),
                n.credited_invoice_id,
                r.issue_date.to_string(),
                r.due_date.to_string(),
                r.currency,
                r.amount_minor,
                r.paid_minor,
                r.reminder_fee_minor,
                r.notice_sent_date.map(|d| d.to_string()),
                r.reference,
                r.fingerprint(),
                n.file_id,
                r.position.to_string(),
            ])?;
        Ok(self.tx.last_insert_rowid())
    }

    pub fn insert_event(&self, e: &NewEvent<'_>) -> Result<i64, StoreError> {
        self.tx.prepare_cached(
            "INSERT INTO case_events (case_id, event_date, kind, invoice_id, amount_minor, state,
                 detail, file_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?.execute(
            rusqlite::params![
                e.case_id,
                e.date.to_string(),
                e.kind.as_str(),
                e.invoice_id,
                e.amount_minor,
                e.state.as_str(),
                e.detail,
                e.file_id,
            ],
        )?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Books an amount on a case's ledger.
    pub fn insert_posting(
        &self,
        case_id: i64,
        invoice_id: Option<i64>,
        date: NaiveDate,
        component: Component,
        amount_minor: i64,
        event_id: i64,
    ) -> Result<(), StoreError> {
        self.tx.prepare_cached(
            "INSERT INTO postings (case_id, invoice_id, posting_date, component, amount_minor, event_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?.execute(
            rusqlite::params![
                case_id,
                invoice_id,
                date.to_string(),
                component.as_str(),
                amount_minor,
                event_id
            ],
        )?;
        Ok(())
    }

    /// The open principal of one invoice.
    pub fn invoice_principal_open(&self, invoice_id: i64) -> Result<i64, StoreError> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT COALESCE(SUM(amount_minor), 0) FROM postings
             WHERE invoice_id = ?1 AND component = 'principal'",
            )?
            .query_row([invoice_id], |r| r.get(0))?)
    }

    /// The open balance of a case, per component.
    pub fn case_balance(&self, case_id: i64) -> Result<Balance, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT component, COALESCE(SUM(amount_minor), 0) FROM postings
             WHERE case_id = ?1 GROUP BY component",
        )?;
        let mut balance = Balance::default();
        let rows = stmt.query_map([case_id], |r| {
            Ok((
                enum_column::<Component>(&r.get::<_, String>(0)?)?,
                r.get::<_, i64>(1)?,
            ))
        })?;
        for row in rows {
            let (component, amount) = row?;
            *balance.component_mut(component) = amount;
        }
        Ok(balance)
    }

    /// The invoices of a case that still have principal open, with how far interest is posted.
    pub fn interest_basis(&self, case_id: i64) -> Result<Vec<InterestBasis>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT i.id, i.invoice_no, i.due_date, i.interest_through,
                    (SELECT COALESCE(SUM(p.amount_minor), 0) FROM postings p
                     WHERE p.invoice_id = i.id AND p.component = 'principal')
             FROM invoices i
             WHERE i.case_id = ?1 AND i.document_type = 'invoice'",
        )?;
        let rows = stmt.query_map([case_id], |r| {
            Ok(InterestBasis {
                invoice_id: r.get(0)?,
                invoice_no: r.get(1)?,
                due_date: super::date_column(&r.get::<_, String>(2)?)?,
                interest_through: r
                    .get::<_, Option<String>>(3)?
                    .map(|s| super::date_column(&s))
                    .transpose()?,
                principal_open_minor: r.get(4)?,
            })
        })?;
        let mut open: Vec<InterestBasis> = rows
            .filter(|b| b.as_ref().map_or(true, |b| b.principal_open_minor > 0))
            .collect::<Result<_, _>>()?;
        // Sorted here, not by `ORDER BY` (a sorter per case and payment in SQLite): a case
        // has a handful of invoices.
        open.sort_by_key(|b| (b.due_date, b.invoice_id));
        Ok(open)
    }

    pub fn set_interest_through(&self, invoice_id: i64, date: NaiveDate) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("UPDATE invoices SET interest_through = ?2 WHERE id = ?1")?
            .execute(rusqlite::params![invoice_id, date.to_string()])?;
        Ok(())
    }

    pub fn close_case(
        &self,
        case_id: i64,
        reason: CloseReason,
        date: NaiveDate,
    ) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "UPDATE cases SET state_before_close = state, state = 'closed', close_reason = ?2,
                 closed_on = ?3, deadline = NULL
             WHERE id = ?1",
            )?
            .execute(rusqlite::params![
                case_id,
                reason.as_str(),
                date.to_string()
            ])?;
        Ok(())
    }
}

fn case_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CaseRow> {
    Ok(CaseRow {
        id: r.get(0)?,
        case_no: r.get(1)?,
        state: enum_column(&r.get::<_, String>(2)?)?,
        currency: r.get(3)?,
        close_reason: r
            .get::<_, Option<String>>(4)?
            .map(|s| enum_column(&s))
            .transpose()?,
        creditor_id: r.get(5)?,
        debtor_type: enum_column(&r.get::<_, String>(6)?)?,
    })
}
