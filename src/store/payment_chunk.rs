//! What settling a chunk of payments reads and writes: the working set its keys touch, loaded
//! in a few set-based queries, and the decided changes, written without reading anything back.
//!
//! Keys are bound as one JSON array per query and joined through `json_each` to the existing
//! indexes (`cases.reference`, `invoices_reference`, `invoices (creditor_id, invoice_no)`,
//! `payments (sender, payment_id)`, `invoices_case`, `postings_case`, `allocations_payment`).
//! New payments and events get their ids from `MAX(id) + 1` read with the working set: the
//! write lock is held, so nobody else takes one, and they are the ids a row-at-a-time run gave.

use std::collections::{BTreeMap, BTreeSet};

use super::bulk::{bulk, next_id};
use super::steps::IsoDate;
use super::{StoreError, Tx, date_column, enum_column};
use crate::ledger::settlement::{
    AllocationPart, KnownPayment, LedgerSum, LoadedCase, LoadedInvoice, NewCaseEvent, NewPosting,
    SettleKeys, Settlement, WorkingSet,
};

pub(super) fn json<T: serde::Serialize>(keys: &T) -> Result<String, StoreError> {
    serde_json::to_string(keys)
        .map_err(|e| StoreError::Invariant(format!("cannot bind the chunk's keys: {e}")))
}

pub(super) fn optional_date(
    text: Option<String>,
) -> crate::store::db::Result<Option<chrono::NaiveDate>> {
    text.map(|s| date_column(&s)).transpose()
}

impl Tx<'_> {
    /// The cases and earlier payments `keys` touch, with the next free payment and event ids.
    pub fn load_settlement(&self, keys: &SettleKeys) -> Result<WorkingSet, StoreError> {
        let payments = self.known_payments(keys)?;
        let mut case_ids: BTreeSet<i64> = keys.case_ids.clone();
        case_ids.extend(payments.iter().filter_map(|p| p.case_id));
        case_ids.extend(self.cases_of_keys(keys)?);
        let cases = self.loaded_cases(&case_ids)?;
        let next = |sql: &str| -> Result<i64, StoreError> {
            Ok(self
                .tx
                .prepare_cached(sql)?
                .query_row(crate::store::db::NO_PARAMS, |r| r.get(0))?)
        };
        Ok(WorkingSet::new(
            cases,
            payments,
            next("SELECT COALESCE(MAX(id), 0) + 1 FROM payments")?,
            next("SELECT COALESCE(MAX(id), 0) + 1 FROM case_events")?,
        ))
    }

    /// The payments named by (sender, payment id), and every payment a bank's correction among
    /// the keys may undo, with their allocations.
    fn known_payments(&self, keys: &SettleKeys) -> Result<Vec<KnownPayment>, StoreError> {
        const COLUMNS: &str = "p.id, p.sender, p.payment_id, p.fingerprint, p.amount_minor,
            p.reference, p.case_id, p.reverses, p.reversed_by";
        let row = |r: &crate::store::db::Row<'_>| {
            Ok(KnownPayment {
                id: r.get(0)?,
                sender: r.get(1)?,
                payment_id: r.get(2)?,
                fingerprint: r.get(3)?,
                amount_minor: r.get(4)?,
                reference: r.get(5)?,
                case_id: r.get(6)?,
                reverses: r.get(7)?,
                reversed_by: r.get(8)?,
                allocations: Vec::new(),
            })
        };
        let mut by_id: BTreeMap<i64, KnownPayment> = BTreeMap::new();
        if !keys.payments.is_empty() {
            let mut stmt = self.tx.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM json_each(?1) k
                 JOIN payments p ON p.sender = k.value ->> 0 AND p.payment_id = k.value ->> 1"
            ))?;
            let found = stmt.query_map([json(&keys.payments)?], row)?;
            for payment in found {
                let payment = payment?;
                by_id.insert(payment.id, payment);
            }
        }
        // One statement per correction, with its values bound: no index has the reference of
        // a matched payment, so each reads the sender's payments, and compares bound values
        // faster than a join's columns. Bank corrections are few.
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM payments p
             WHERE p.sender = ?1 AND p.reference = ?2 AND p.amount_minor = ?3
               AND p.reversed_by IS NULL AND p.reverses IS NULL"
        ))?;
        for (sender, reference, amount_minor) in &keys.corrections {
            for payment in stmt.query_map((sender, reference, amount_minor), row)? {
                let payment = payment?;
                by_id.insert(payment.id, payment);
            }
        }
        let with_case: Vec<i64> = by_id
            .values()
            .filter(|p| p.case_id.is_some())
            .map(|p| p.id)
            .collect();
        if !with_case.is_empty() {
            let mut stmt = self.tx.prepare_cached(
                "SELECT a.payment_id, a.case_id, a.invoice_id, a.component, a.amount_minor
                 FROM json_each(?1) k JOIN allocations a ON a.payment_id = CAST(k.value AS INTEGER)
                 ORDER BY a.id",
            )?;
            let mut rows = stmt.query([json(&with_case)?])?;
            while let Some(row) = rows.next()? {
                let r = &row;
                let component: String = r.get(3)?;
                let part = AllocationPart {
                    case_id: r.get(1)?,
                    invoice_id: r.get(2)?,
                    component: match component.as_str() {
                        "overpaid" => None,
                        other => Some(enum_column(other)?),
                    },
                    amount_minor: r.get(4)?,
                };
                if let Some(payment) = by_id.get_mut(&r.get(0)?) {
                    payment.allocations.push(part);
                }
            }
        }
        Ok(by_id.into_values().collect())
    }

    /// The cases a payment with one of the keys' references or invoice numbers may match.
    fn cases_of_keys(&self, keys: &SettleKeys) -> Result<BTreeSet<i64>, StoreError> {
        let mut found = BTreeSet::new();
        if !keys.references.is_empty() {
            let references = json(&keys.references)?;
            let mut stmt = self.tx.prepare_cached(
                "SELECT c.id FROM json_each(?1) k JOIN cases c ON c.reference = k.value",
            )?;
            for id in stmt.query_map([&references], |r| r.get(0))? {
                found.insert(id?);
            }
            let mut stmt = self.tx.prepare_cached(
                "SELECT i.case_id FROM json_each(?1) k JOIN invoices i ON i.reference = k.value",
            )?;
            for id in stmt.query_map([&references], |r| r.get(0))? {
                found.insert(id?);
            }
        }
        if !keys.invoice_nos.is_empty() {
            let mut stmt = self.tx.prepare_cached(
                "SELECT i.case_id FROM json_each(?1) k
                 JOIN invoices i ON i.creditor_id = k.value ->> 0 AND i.invoice_no = k.value ->> 1",
            )?;
            for id in stmt.query_map([json(&keys.invoice_nos)?], |r| r.get(0))? {
                found.insert(id?);
            }
        }
        Ok(found)
    }

    /// The cases with their invoices and the sums of their postings.
    pub(super) fn loaded_cases(
        &self,
        case_ids: &BTreeSet<i64>,
    ) -> Result<Vec<LoadedCase>, StoreError> {
        if case_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = json(case_ids)?;
        let mut cases: BTreeMap<i64, LoadedCase> = BTreeMap::new();
        let mut stmt = self.tx.prepare_cached(
            "SELECT c.id, c.case_no, c.reference, c.state, c.close_reason, c.state_before_close,
                    c.creditor_id, c.currency, d.debtor_type, c.opened_on
             FROM json_each(?1) k JOIN cases c ON c.id = CAST(k.value AS INTEGER)
             JOIN debtors d ON d.id = c.debtor_id",
        )?;
        let rows = stmt.query_map([&ids], |r| {
            Ok(LoadedCase {
                id: r.get(0)?,
                case_no: r.get(1)?,
                reference: r.get(2)?,
                state: enum_column(&r.get::<String>(3)?)?,
                close_reason: r
                    .get::<Option<String>>(4)?
                    .map(|s| enum_column(&s))
                    .transpose()?,
                state_before_close: r
                    .get::<Option<String>>(5)?
                    .map(|s| enum_column(&s))
                    .transpose()?,
                creditor_id: r.get(6)?,
                currency: r.get(7)?,
                debtor_type: enum_column(&r.get::<String>(8)?)?,
                opened_on: date_column(&r.get::<String>(9)?)?,
                invoices: Vec::new(),
                ledger: Vec::new(),
            })
        })?;
        for case in rows {
            let case = case?;
            cases.insert(case.id, case);
        }
        let mut stmt = self.tx.prepare_cached(
            "SELECT i.case_id, i.id, i.document_type, i.creditor_id, i.invoice_no, i.reference,
                    i.due_date, i.interest_through
             FROM json_each(?1) k JOIN invoices i ON i.case_id = CAST(k.value AS INTEGER)",
        )?;
        let mut rows = stmt.query([&ids])?;
        while let Some(row) = rows.next()? {
            let r = &row;
            let invoice = LoadedInvoice {
                id: r.get(1)?,
                document_type: enum_column(&r.get::<String>(2)?)?,
                creditor_id: r.get(3)?,
                invoice_no: r.get(4)?,
                reference: r.get(5)?,
                due_date: date_column(&r.get::<String>(6)?)?,
                interest_through: optional_date(r.get(7)?)?,
            };
            if let Some(case) = cases.get_mut(&r.get(0)?) {
                case.invoices.push(invoice);
            }
        }
        // Summed here, not with `GROUP BY` (a temporary b-tree): a case's postings come
        // straight off the `postings_case` index.
        let mut stmt = self.tx.prepare_cached(
            "SELECT p.case_id, p.invoice_id, p.component, p.amount_minor
             FROM json_each(?1) k JOIN postings p ON p.case_id = CAST(k.value AS INTEGER)",
        )?;
        let mut rows = stmt.query([&ids])?;
        while let Some(row) = rows.next()? {
            let r = &row;
            let sum = LedgerSum {
                invoice_id: r.get(1)?,
                component: enum_column(r.get_str(2)?)?,
                amount_minor: r.get(3)?,
            };
            if let Some(case) = cases.get_mut(&r.get(0)?) {
                case.ledger.push(sum);
            }
        }
        Ok(cases.into_values().collect())
    }

    /// Writes a chunk's settlement: rows in the order and with the ids it lists, inserted with
    /// multi-row statements; updates only where rows already existed.
    pub fn write_settlement(
        &self,
        settlement: &Settlement<'_>,
        file_id: Option<i64>,
    ) -> Result<(), StoreError> {
        let date = IsoDate::new(settlement.date);
        bulk(
            &self.tx,
            "INSERT INTO payments (id, sender, payment_id, kind, creditor_id, reference,
                 invoice_no, amount_minor, currency, payment_date, payer_name, payer_account,
                 reverses, fingerprint, file_id, case_id, matched_by, matched_on,
                 unmatched_reason) VALUES ",
            "(#, #, #, #, #, #, #, #, #, #, #, #, #, #, #, #, #, #, #)",
            "",
            &[],
            settlement.payments.iter(),
            |stmt, at, p| {
                let r = p.record;
                stmt.raw_bind_parameter(at, p.id)?;
                stmt.raw_bind_parameter(at + 1, p.sender)?;
                stmt.raw_bind_parameter(at + 2, r.payment_id.as_str())?;
                stmt.raw_bind_parameter(at + 3, r.kind.as_str())?;
                stmt.raw_bind_parameter(at + 4, r.creditor_id.as_deref())?;
                stmt.raw_bind_parameter(at + 5, r.reference.as_deref())?;
                stmt.raw_bind_parameter(at + 6, r.invoice_no.as_deref())?;
                stmt.raw_bind_parameter(at + 7, r.amount_minor)?;
                stmt.raw_bind_parameter(at + 8, r.currency.as_str())?;
                stmt.raw_bind_parameter(at + 9, IsoDate::new(r.payment_date))?;
                stmt.raw_bind_parameter(at + 10, r.payer_name.as_deref())?;
                stmt.raw_bind_parameter(at + 11, r.payer_account.as_deref())?;
                stmt.raw_bind_parameter(at + 12, p.reverses)?;
                stmt.raw_bind_parameter(at + 13, p.fingerprint.as_str())?;
                stmt.raw_bind_parameter(at + 14, file_id)?;
                stmt.raw_bind_parameter(at + 15, p.matched.map(|(case_id, _)| case_id))?;
                stmt.raw_bind_parameter(at + 16, p.matched.map(|(_, by)| by.as_str()))?;
                stmt.raw_bind_parameter(at + 17, p.matched.map(|_| &date))?;
                stmt.raw_bind_parameter(at + 18, p.unmatched_reason.map(|r| r.as_str()))?;
                Ok(())
            },
        )?;
        let mut stmt = self.tx.prepare_cached(
            "UPDATE payments SET case_id = ?2, matched_by = ?3, matched_on = ?4 WHERE id = ?1",
        )?;
        for m in &settlement.matched {
            stmt.execute(crate::store::db::params![
                m.payment,
                m.case_id,
                m.by.as_str(),
                &date
            ])?;
        }
        let mut stmt = self
            .tx
            .prepare_cached("UPDATE payments SET reversed_by = ?2 WHERE id = ?1")?;
        for (payment, by) in &settlement.reversed {
            stmt.execute((payment, by))?;
        }
        self.insert_case_events(&date, &settlement.events, file_id)?;
        self.insert_postings(&date, &settlement.postings)?;
        // The allocations share no value: every parameter is a row's (PostgreSQL cannot
        // type a parameter no expression uses).
        let first_allocation = next_id(&self.tx, "allocations")?;
        bulk(
            &self.tx,
            "INSERT INTO allocations (id, payment_id, case_id, invoice_id, component,
                 amount_minor) VALUES ",
            "(#, #, #, #, #, #)",
            "",
            &[],
            settlement.allocations.iter().enumerate(),
            |stmt, at, (i, a)| {
                stmt.raw_bind_parameter(at, first_allocation + i as i64)?;
                let at = at + 1;
                stmt.raw_bind_parameter(at, a.payment)?;
                stmt.raw_bind_parameter(at + 1, a.part.case_id)?;
                stmt.raw_bind_parameter(at + 2, a.part.invoice_id)?;
                stmt.raw_bind_parameter(
                    at + 3,
                    a.part.component.map_or("overpaid", |c| c.as_str()),
                )?;
                stmt.raw_bind_parameter(at + 4, a.part.amount_minor)?;
                Ok(())
            },
        )?;
        self.update_interest_through_to(&settlement.interest_through)?;
        // `closed_on` is the business date while the case is closed by this chunk.
        let mut stmt = self.tx.prepare_cached(
            "UPDATE cases SET state = ?2, close_reason = ?3, state_before_close = ?4,
                 closed_on = CASE WHEN ?2 = 'closed' THEN ?5 END,
                 deadline = CASE WHEN ?6 THEN NULL ELSE deadline END
             WHERE id = ?1",
        )?;
        for c in &settlement.cases {
            stmt.execute(crate::store::db::params![
                c.case_id,
                c.state.as_str(),
                c.close_reason.map(|r| r.as_str()),
                c.state_before_close.map(|s| s.as_str()),
                &date,
                c.deadline_cleared,
            ])?;
        }
        Ok(())
    }

    /// New case events with the ids the decisions gave them (never tied to an invoice).
    pub(super) fn insert_case_events(
        &self,
        date: &IsoDate,
        events: &[NewCaseEvent],
        file_id: Option<i64>,
    ) -> Result<(), StoreError> {
        bulk(
            &self.tx,
            "INSERT INTO case_events (id, case_id, event_date, kind, invoice_id, amount_minor,
                 state, detail, file_id) VALUES ",
            "(#, #, ?1, #, NULL, #, #, #, #)",
            "",
            &[date],
            events.iter(),
            |stmt, at, e| {
                stmt.raw_bind_parameter(at, e.id)?;
                stmt.raw_bind_parameter(at + 1, e.case_id)?;
                stmt.raw_bind_parameter(at + 2, e.kind.as_str())?;
                stmt.raw_bind_parameter(at + 3, e.amount_minor)?;
                stmt.raw_bind_parameter(at + 4, e.state.as_str())?;
                stmt.raw_bind_parameter(at + 5, e.detail.as_str())?;
                stmt.raw_bind_parameter(at + 6, file_id)?;
                Ok(())
            },
        )
    }

    /// New postings, in the order listed.
    pub(super) fn insert_postings(
        &self,
        date: &IsoDate,
        postings: &[NewPosting],
    ) -> Result<(), StoreError> {
        let first_id = next_id(&self.tx, "postings")?;
        bulk(
            &self.tx,
            "INSERT INTO postings (id, case_id, invoice_id, posting_date, component,
                 amount_minor, event_id) VALUES ",
            "(#, #, #, ?1, #, #, #)",
            "",
            &[date],
            postings.iter().enumerate(),
            |stmt, at, (i, p)| {
                stmt.raw_bind_parameter(at, first_id + i as i64)?;
                let at = at + 1;
                stmt.raw_bind_parameter(at, p.case_id)?;
                stmt.raw_bind_parameter(at + 1, p.invoice_id)?;
                stmt.raw_bind_parameter(at + 2, p.component.as_str())?;
                stmt.raw_bind_parameter(at + 3, p.amount_minor)?;
                stmt.raw_bind_parameter(at + 4, p.event_id)?;
                Ok(())
            },
        )
    }

    /// Moves `interest_through` of each invoice to the last date listed for it: one statement
    /// per date and chunk of ids (a chunk's payments share a handful of payment dates).
    pub(super) fn update_interest_through_to(
        &self,
        moves: &[(i64, chrono::NaiveDate)],
    ) -> Result<(), StoreError> {
        let last: BTreeMap<i64, chrono::NaiveDate> = moves.iter().copied().collect();
        let mut by_date: BTreeMap<chrono::NaiveDate, Vec<i64>> = BTreeMap::new();
        for (invoice, date) in last {
            by_date.entry(date).or_default().push(invoice);
        }
        for (date, invoices) in by_date {
            bulk(
                &self.tx,
                "UPDATE invoices SET interest_through = ?1 WHERE id IN (",
                "#",
                ")",
                &[&IsoDate::new(date)],
                invoices.iter(),
                |stmt, at, id| stmt.raw_bind_parameter(at, id),
            )?;
        }
        Ok(())
    }
}
