//! Debtors, cases, invoices, events and the postings ledger.

use chrono::NaiveDate;

use super::{StoreError, Tx, enum_column};
use crate::domain::{Balance, CaseState, CloseReason, Component, DebtorType, EventKind};

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

    pub fn insert_event(&self, e: &NewEvent<'_>) -> Result<i64, StoreError> {
        Ok(self
            .tx
            .prepare_cached(
                "INSERT INTO case_events (id, case_id, event_date, kind, invoice_id, amount_minor,
                 state, detail, file_id)
             VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM case_events),
                     ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             RETURNING id",
            )?
            .query_row(
                crate::store::db::params![
                    e.case_id,
                    e.date.to_string(),
                    e.kind.as_str(),
                    e.invoice_id,
                    e.amount_minor,
                    e.state.as_str(),
                    e.detail,
                    e.file_id,
                ],
                |r| r.get(0),
            )?)
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
                enum_column::<Component>(&r.get::<String>(0)?)?,
                r.get::<i64>(1)?,
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
                     WHERE p.case_id = i.case_id AND p.component = 'principal'
                       AND p.invoice_id = i.id)
             FROM invoices i
             WHERE i.case_id = ?1 AND i.document_type = 'invoice'",
        )?;
        let rows = stmt.query_map([case_id], |r| {
            Ok(InterestBasis {
                invoice_id: r.get(0)?,
                invoice_no: r.get(1)?,
                due_date: super::date_column(&r.get::<String>(2)?)?,
                interest_through: r
                    .get::<Option<String>>(3)?
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
            .execute(crate::store::db::params![invoice_id, date.to_string()])?;
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
            .execute(crate::store::db::params![
                case_id,
                reason.as_str(),
                date.to_string()
            ])?;
        Ok(())
    }
}

fn case_row(r: &crate::store::db::Row<'_>) -> crate::store::db::Result<CaseRow> {
    Ok(CaseRow {
        id: r.get(0)?,
        case_no: r.get(1)?,
        state: enum_column(&r.get::<String>(2)?)?,
        currency: r.get(3)?,
        close_reason: r
            .get::<Option<String>>(4)?
            .map(|s| enum_column(&s))
            .transpose()?,
        creditor_id: r.get(5)?,
        debtor_type: enum_column(&r.get::<String>(6)?)?,
    })
}
