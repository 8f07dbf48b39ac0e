//! What a chunk of invoice and credit note records reads and writes: everything its records
//! touch in a few set-based statements, and the decided changes in bulk (`invoicing`).

use std::collections::HashSet;

use chrono::NaiveDate;

use super::bulk::{bulk, next_id};
use super::{StoreError, Tx, date_column, enum_column};
use crate::domain::{CaseState, DocumentType};
use crate::ingest::validate::invoice::InvoiceRecord;
use crate::ledger::invoicing::{
    CaseInvoice, CaseLedger, ChunkState, InvoiceChanges, KnownCase, KnownDebtor, KnownInvoice,
    NextIds,
};

impl Tx<'_> {
    /// What deciding a chunk of records of the file `file_id` needs from the store: the stored
    /// invoices with a number the chunk names, the chunk's stored debtors with their open
    /// cases, the cases of the invoices its credit notes reduce and — only when it holds a
    /// credit note — every loaded case's invoices and ledger; then the next ids.
    ///
    /// Each set of keys is bound as one JSON array and joined (`json_each`) to the index that
    /// answers it: one statement per kind of row (per creditor for numbers), none per record.
    /// `CROSS JOIN` keeps the keys the outer loop: given a constant creditor, the planner would
    /// otherwise walk the creditor's whole range of the index and probe the keys.
    pub fn invoice_chunk_state(
        &self,
        file_id: i64,
        records: &[InvoiceRecord],
    ) -> Result<ChunkState, StoreError> {
        let file_name: String = self
            .tx
            .prepare_cached("SELECT original_name FROM inbound_files WHERE id = ?1")?
            .query_row([file_id], |r| r.get(0))?;
        let mut numbers = CreditorKeys::default();
        let mut customers = CreditorKeys::default();
        let mut credits = false;
        for record in records {
            numbers.add(&record.creditor_id, &record.invoice_no);
            match (&record.document_type, &record.credited_invoice_no) {
                (DocumentType::CreditNote, Some(credited)) => {
                    credits = true;
                    numbers.add(&record.creditor_id, credited);
                }
                (DocumentType::CreditNote, None) => credits = true,
                (DocumentType::Invoice, _) => {
                    customers.add(&record.creditor_id, &record.customer_no)
                }
            }
        }
        let invoices = self.known_invoices(&numbers)?;
        let debtors = self.known_debtors(&customers)?;
        let mut cases = self.open_cases_of(&debtors)?;
        if credits {
            // A credit note reads the case of the invoice it reduces, closed or not.
            let case_ids: Vec<i64> = invoices.iter().map(|i| i.case_id).collect();
            cases.extend(self.cases_by_id(&case_ids)?);
            self.add_ledgers(&mut cases)?;
        }
        // Ids are counted on by `decide` from the largest there is, as SQLite gives rowids one
        // at a time; taken, not returned, since the write lock is held and nobody else takes
        // one (a multi-row `INSERT … RETURNING` promises no order).
        let next = NextIds {
            debtor: self.next_id_of("SELECT COALESCE(MAX(id), 0) + 1 FROM debtors")?,
            case: self.next_id_of("SELECT COALESCE(MAX(id), 0) + 1 FROM cases")?,
            invoice: self.next_id_of("SELECT COALESCE(MAX(id), 0) + 1 FROM invoices")?,
            event: self.next_id_of("SELECT COALESCE(MAX(id), 0) + 1 FROM case_events")?,
        };
        Ok(ChunkState {
            file_name,
            invoices,
            debtors,
            cases,
            next,
        })
    }

    fn next_id_of(&self, sql: &str) -> Result<i64, StoreError> {
        Ok(self
            .tx
            .prepare_cached(sql)?
            .query_row(crate::store::db::NO_PARAMS, |r| r.get(0))?)
    }

    fn known_invoices(&self, numbers: &CreditorKeys) -> Result<Vec<KnownInvoice>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT i.id, i.case_id, i.creditor_id, i.invoice_no, i.document_type, i.currency,
                    i.fingerprint, d.customer_no, f.original_name, i.position
             FROM json_each(?2) k
             CROSS JOIN invoices i ON i.creditor_id = ?1 AND i.invoice_no = k.value
             JOIN cases c ON c.id = i.case_id
             JOIN debtors d ON d.id = c.debtor_id
             JOIN inbound_files f ON f.id = i.file_id",
        )?;
        let mut invoices = Vec::new();
        for (creditor_id, keys) in &numbers.by_creditor {
            let rows = stmt.query_map((creditor_id, json(keys)?), |r| {
                Ok(KnownInvoice {
                    id: r.get(0)?,
                    case_id: r.get(1)?,
                    creditor_id: r.get(2)?,
                    invoice_no: r.get(3)?,
                    document_type: enum_column(text(r, 4)?)?,
                    currency: r.get(5)?,
                    fingerprint: r.get(6)?,
                    customer_no: r.get(7)?,
                    origin: format!("{} {}", text(r, 8)?, text(r, 9)?),
                })
            })?;
            for row in rows {
                invoices.push(row?);
            }
        }
        Ok(invoices)
    }

    fn known_debtors(&self, customers: &CreditorKeys) -> Result<Vec<KnownDebtor>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT d.id, d.creditor_id, d.customer_no
             FROM json_each(?2) k
             CROSS JOIN debtors d ON d.creditor_id = ?1 AND d.customer_no = k.value",
        )?;
        let mut debtors = Vec::new();
        for (creditor_id, keys) in &customers.by_creditor {
            let rows = stmt.query_map((creditor_id, json(keys)?), |r| {
                Ok(KnownDebtor {
                    id: r.get(0)?,
                    creditor_id: r.get(1)?,
                    customer_no: r.get(2)?,
                })
            })?;
            for row in rows {
                debtors.push(row?);
            }
        }
        Ok(debtors)
    }

    /// The cases not closed of these debtors (the ones a new invoice may join), through the
    /// partial index of open cases.
    fn open_cases_of(&self, debtors: &[KnownDebtor]) -> Result<Vec<KnownCase>, StoreError> {
        if debtors.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = debtors.iter().map(|d| d.id).collect();
        let mut stmt = self.tx.prepare_cached(
            "SELECT c.id, c.case_no, c.state, c.creditor_id, c.debtor_id, d.debtor_type,
                    c.currency
             FROM json_each(?1) k
             CROSS JOIN debtors d ON d.id = CAST(k.value AS INTEGER)
             JOIN cases c ON c.creditor_id = d.creditor_id AND c.debtor_id = d.id
                         AND c.state <> 'closed'",
        )?;
        let rows = stmt.query_map([json(&ids)?], known_case)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn cases_by_id(&self, ids: &[i64]) -> Result<Vec<KnownCase>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut stmt = self.tx.prepare_cached(
            "SELECT c.id, c.case_no, c.state, c.creditor_id, c.debtor_id, d.debtor_type,
                    c.currency
             FROM json_each(?1) k
             CROSS JOIN cases c ON c.id = CAST(k.value AS INTEGER)
             JOIN debtors d ON d.id = c.debtor_id",
        )?;
        let rows = stmt.query_map([json(ids)?], known_case)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every case's invoices and the sums of its postings per invoice and component.
    fn add_ledgers(&self, cases: &mut [KnownCase]) -> Result<(), StoreError> {
        cases.sort_by_key(|c| c.id);
        let mut ids: Vec<i64> = cases.iter().map(|c| c.id).collect();
        ids.dedup();
        for case in cases.iter_mut() {
            case.ledger = Some(CaseLedger::default());
        }
        if ids.is_empty() {
            return Ok(());
        }
        let ids = json(&ids)?;
        let mut stmt = self.tx.prepare_cached(
            "SELECT i.case_id, i.id, i.invoice_no, i.document_type, i.due_date, i.interest_through
             FROM json_each(?1) k CROSS JOIN invoices i ON i.case_id = CAST(k.value AS INTEGER)",
        )?;
        let mut rows = stmt.query([&ids])?;
        while let Some(row) = rows.next()? {
            let r = &row;
            if let Some(ledger) = ledger_at(cases, r.get(0)?) {
                ledger.invoices.push(CaseInvoice {
                    id: r.get(1)?,
                    invoice_no: r.get(2)?,
                    document_type: enum_column(text(r, 3)?)?,
                    due_date: date_column(text(r, 4)?)?,
                    interest_through: r
                        .get::<Option<String>>(5)?
                        .map(|s| date_column(&s))
                        .transpose()?,
                });
            }
        }
        let mut stmt = self.tx.prepare_cached(
            "SELECT p.case_id, p.invoice_id, p.component, p.amount_minor
             FROM json_each(?1) k CROSS JOIN postings p ON p.case_id = CAST(k.value AS INTEGER)",
        )?;
        let mut rows = stmt.query([&ids])?;
        while let Some(row) = rows.next()? {
            let r = &row;
            if let Some(ledger) = ledger_at(cases, r.get(0)?) {
                ledger.post(r.get(1)?, enum_column(text(r, 2)?)?, r.get(3)?);
            }
        }
        Ok(())
    }

    /// Writes a chunk's changes in the order the record-at-a-time run made them, table by
    /// table: debtors, cases, invoices and events with the ids `invoicing::decide` gave them
    /// (what SQLite would have given them one at a time), postings in order, then how far
    /// interest is posted and the cases closed. Nothing written is read back.
    pub fn write_invoice_changes(
        &self,
        business_date: NaiveDate,
        file_id: i64,
        changes: &InvoiceChanges<'_>,
    ) -> Result<(), StoreError> {
        let date = business_date.to_string();
        self.insert_debtors(changes)?;
        self.update_debtors(changes)?;
        bulk(
            &self.tx,
            "INSERT INTO cases (id, case_no, reference, creditor_id, debtor_id, currency, state,
                 first_step, opened_on) VALUES ",
            "(#, #, #, #, #, #, 'registered', #, ?1)",
            "",
            &[&date],
            changes.cases.iter(),
            |stmt, at, c| {
                stmt.raw_bind_parameter(at, c.id)?;
                stmt.raw_bind_parameter(at + 1, c.case_no.as_str())?;
                stmt.raw_bind_parameter(at + 2, c.reference.as_str())?;
                stmt.raw_bind_parameter(at + 3, c.creditor_id)?;
                stmt.raw_bind_parameter(at + 4, c.debtor_id)?;
                stmt.raw_bind_parameter(at + 5, c.currency)?;
                stmt.raw_bind_parameter(at + 6, c.first_step.as_str())?;
                Ok(())
            },
        )?;
        bulk(
            &self.tx,
            "INSERT INTO invoices (id, creditor_id, invoice_no, case_id, document_type,
                 credited_invoice_id, issue_date, due_date, currency, amount_minor,
                 paid_before_minor, reminder_fee_minor, notice_sent_date, reference, fingerprint,
                 file_id, position) VALUES ",
            "(#, #, #, #, #, #, #, #, #, #, #, #, #, #, #, ?1, #)",
            "",
            &[&file_id],
            changes.invoices.iter(),
            |stmt, at, i| {
                let r = i.record;
                stmt.raw_bind_parameter(at, i.id)?;
                stmt.raw_bind_parameter(at + 1, r.creditor_id.as_str())?;
                stmt.raw_bind_parameter(at + 2, r.invoice_no.as_str())?;
                stmt.raw_bind_parameter(at + 3, i.case_id)?;
                stmt.raw_bind_parameter(at + 4, r.document_type.as_str())?;
                stmt.raw_bind_parameter(at + 5, i.credited_invoice_id)?;
                stmt.raw_bind_parameter(at + 6, r.issue_date.to_string())?;
                stmt.raw_bind_parameter(at + 7, r.due_date.to_string())?;
                stmt.raw_bind_parameter(at + 8, r.currency.as_str())?;
                stmt.raw_bind_parameter(at + 9, r.amount_minor)?;
                stmt.raw_bind_parameter(at + 10, r.paid_minor)?;
                stmt.raw_bind_parameter(at + 11, r.reminder_fee_minor)?;
                stmt.raw_bind_parameter(at + 12, r.notice_sent_date.map(|d| d.to_string()))?;
                stmt.raw_bind_parameter(at + 13, r.reference.as_deref())?;
                stmt.raw_bind_parameter(at + 14, i.fingerprint.as_str())?;
                stmt.raw_bind_parameter(at + 15, r.position.to_string())?;
                Ok(())
            },
        )?;
        bulk(
            &self.tx,
            "INSERT INTO case_events (id, case_id, event_date, kind, invoice_id, amount_minor,
                 state, detail, file_id) VALUES ",
            "(#, #, ?1, #, #, #, #, #, ?2)",
            "",
            &[&date, &file_id],
            changes.events.iter(),
            |stmt, at, e| {
                stmt.raw_bind_parameter(at, e.id)?;
                stmt.raw_bind_parameter(at + 1, e.case_id)?;
                stmt.raw_bind_parameter(at + 2, e.kind.as_str())?;
                stmt.raw_bind_parameter(at + 3, e.invoice_id)?;
                stmt.raw_bind_parameter(at + 4, e.amount_minor)?;
                stmt.raw_bind_parameter(at + 5, e.state.as_str())?;
                stmt.raw_bind_parameter(at + 6, e.detail.as_str())?;
                Ok(())
            },
        )?;
        // Numbered by SQLite in the order of the rows, as one at a time.
        let first_id = next_id(&self.tx, "postings")?;
        bulk(
            &self.tx,
            "INSERT INTO postings (id, case_id, invoice_id, posting_date, component,
                 amount_minor, event_id) VALUES ",
            "(#, #, #, ?1, #, #, #)",
            "",
            &[&date],
            changes.postings.iter().enumerate(),
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
        )?;
        for &(invoice_id, through) in &changes.interest_through {
            self.set_interest_through(invoice_id, through)?;
        }
        for &case_id in &changes.closed_credited {
            self.close_case(case_id, crate::domain::CloseReason::Credited, business_date)?;
        }
        Ok(())
    }

    fn insert_debtors(&self, changes: &InvoiceChanges<'_>) -> Result<(), StoreError> {
        bulk(
            &self.tx,
            "INSERT INTO debtors (id, creditor_id, customer_no, debtor_type, name, national_id,
                 address, postcode, city, country, email) VALUES ",
            "(#, #, #, #, #, #, #, #, #, #, #)",
            "",
            &[],
            changes.new_debtors.iter(),
            |stmt, at, d| {
                let r = d.latest;
                stmt.raw_bind_parameter(at, d.id)?;
                stmt.raw_bind_parameter(at + 1, r.creditor_id.as_str())?;
                stmt.raw_bind_parameter(at + 2, r.customer_no.as_str())?;
                stmt.raw_bind_parameter(at + 3, r.debtor_type.as_str())?;
                stmt.raw_bind_parameter(at + 4, r.debtor_name.as_str())?;
                stmt.raw_bind_parameter(at + 5, d.national_id)?;
                stmt.raw_bind_parameter(at + 6, r.address.as_str())?;
                stmt.raw_bind_parameter(at + 7, r.postcode.as_str())?;
                stmt.raw_bind_parameter(at + 8, r.city.as_str())?;
                stmt.raw_bind_parameter(at + 9, r.country.as_str())?;
                stmt.raw_bind_parameter(at + 10, d.email)?;
                Ok(())
            },
        )
    }

    /// A stored debtor takes the latest invoice's name and address; an identity number or
    /// e-mail the chunk did not give stays as it was.
    fn update_debtors(&self, changes: &InvoiceChanges<'_>) -> Result<(), StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "UPDATE debtors SET debtor_type = ?2, name = ?3,
                 national_id = COALESCE(?4, national_id), address = ?5, postcode = ?6,
                 city = ?7, country = ?8, email = COALESCE(?9, email)
             WHERE id = ?1",
        )?;
        for d in &changes.updated_debtors {
            let r = d.latest;
            stmt.raw_bind_parameter(1, d.id)?;
            stmt.raw_bind_parameter(2, r.debtor_type.as_str())?;
            stmt.raw_bind_parameter(3, r.debtor_name.as_str())?;
            stmt.raw_bind_parameter(4, d.national_id)?;
            stmt.raw_bind_parameter(5, r.address.as_str())?;
            stmt.raw_bind_parameter(6, r.postcode.as_str())?;
            stmt.raw_bind_parameter(7, r.city.as_str())?;
            stmt.raw_bind_parameter(8, r.country.as_str())?;
            stmt.raw_bind_parameter(9, d.email)?;
            stmt.raw_execute()?;
        }
        Ok(())
    }
}

/// Distinct numbers per creditor (a chunk names a handful of creditors), each creditor's
/// numbers bound as a JSON array of strings: `json_each` gives each one as text, with no JSON
/// to take apart per row.
#[derive(Default)]
struct CreditorKeys<'a> {
    seen: HashSet<(&'a str, &'a str)>,
    by_creditor: Vec<(&'a str, Vec<&'a str>)>,
}

impl<'a> CreditorKeys<'a> {
    fn add(&mut self, creditor_id: &'a str, number: &'a str) {
        if !self.seen.insert((creditor_id, number)) {
            return;
        }
        match self.by_creditor.iter_mut().find(|(c, _)| *c == creditor_id) {
            Some((_, numbers)) => numbers.push(number),
            None => self.by_creditor.push((creditor_id, vec![number])),
        }
    }
}

fn json(values: &(impl serde::Serialize + ?Sized)) -> Result<String, StoreError> {
    serde_json::to_string(values)
        .map_err(|e| StoreError::Invariant(format!("cannot write keys as JSON: {e}")))
}

fn known_case(r: &crate::store::db::Row<'_>) -> crate::store::db::Result<KnownCase> {
    Ok(KnownCase {
        id: r.get(0)?,
        case_no: r.get(1)?,
        state: enum_column::<CaseState>(text(r, 2)?)?,
        creditor_id: r.get(3)?,
        debtor_id: r.get(4)?,
        debtor_type: enum_column(text(r, 5)?)?,
        currency: r.get(6)?,
        ledger: None,
    })
}

/// The ledger of the case with this id in cases sorted by id (a case may be listed twice;
/// the first copy holds its ledger, the deciding keeps the first).
fn ledger_at(cases: &mut [KnownCase], id: i64) -> Option<&mut CaseLedger> {
    let at = cases.partition_point(|c| c.id < id);
    cases
        .get_mut(at)
        .filter(|c| c.id == id)
        .and_then(|c| c.ledger.as_mut())
}

/// A text column, read without copying it.
fn text<'r>(r: &'r crate::store::db::Row<'_>, idx: usize) -> crate::store::db::Result<&'r str> {
    r.get_str(idx)
}
