//! Payments, their allocations, and the questions matching asks.

use rusqlite::OptionalExtension;

use super::{StoreError, Tx, date_column, enum_column};
use crate::domain::{CaseState, Component, PaymentKind, UnmatchedReason};
use crate::ingest::validate::payment::PaymentRecord;
use crate::ledger::allocation::OpenItem;
use crate::ledger::matching::{Candidate, Lookup, MatchedBy};

/// A payment already in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPayment {
    pub id: i64,
    pub payment_id: String,
    pub fingerprint: String,
    pub amount_minor: i64,
    pub reference: Option<String>,
    pub case_id: Option<i64>,
    pub reversed_by: Option<i64>,
}

/// One allocation row of a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationRow {
    pub case_id: Option<i64>,
    pub invoice_id: Option<i64>,
    /// A balance component, or `None` for the over-paid part.
    pub component: Option<Component>,
    pub amount_minor: i64,
}

/// An unmatched payment, to be tried again.
#[derive(Debug, Clone)]
pub struct UnmatchedPayment {
    pub id: i64,
    pub sender: String,
    pub record: PaymentRecord,
    pub reason: Option<UnmatchedReason>,
}

/// Which unmatched payments to read.
enum Unmatched<'a> {
    AnyReferenceOrInvoiceNo,
    PaymentId(&'a str),
    Reference(&'a str),
    InvoiceNo(&'a str, &'a str),
}

impl Tx<'_> {
    pub fn find_payment(
        &self,
        sender: &str,
        payment_id: &str,
    ) -> Result<Option<StoredPayment>, StoreError> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT id, payment_id, fingerprint, amount_minor, reference, case_id, reversed_by
                 FROM payments WHERE sender = ?1 AND payment_id = ?2",
            )?
            .query_row((sender, payment_id), stored_payment)
            .optional()?)
    }

    /// A not yet reversed payment of this sender with this reference and amount: what a bank's
    /// own correction (which names no payment id) undoes.
    pub fn find_payment_to_correct(
        &self,
        sender: &str,
        reference: &str,
        amount_minor: i64,
    ) -> Result<Option<StoredPayment>, StoreError> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT id, payment_id, fingerprint, amount_minor, reference, case_id, reversed_by
                 FROM payments
                 WHERE sender = ?1 AND reference = ?2 AND amount_minor = ?3
                   AND reversed_by IS NULL AND reverses IS NULL
                 ORDER BY id DESC LIMIT 1",
            )?
            .query_row((sender, reference, amount_minor), stored_payment)
            .optional()?)
    }

    /// Records a payment (unmatched until `set_payment_case`).
    pub fn insert_payment(
        &self,
        sender: &str,
        p: &PaymentRecord,
        fingerprint: &str,
        reverses: Option<i64>,
        file_id: i64,
    ) -> Result<i64, StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO payments (sender, payment_id, kind, creditor_id, reference, invoice_no,
                     amount_minor, currency, payment_date, payer_name, payer_account, reverses,
                     fingerprint, file_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )?
            .execute(rusqlite::params![
                sender,
                p.payment_id,
                p.kind.as_str(),
                p.creditor_id,
                p.reference,
                p.invoice_no,
                p.amount_minor,
                p.currency,
                p.payment_date.to_string(),
                p.payer_name,
                p.payer_account,
                reverses,
                fingerprint,
                file_id,
            ])?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Places a payment on its case on business date `matched_on`. An earlier unmatched
    /// reason is kept: the reconciliation of the day it was received still lists it.
    pub fn set_payment_case(
        &self,
        payment: i64,
        case_id: i64,
        matched_by: MatchedBy,
        matched_on: chrono::NaiveDate,
    ) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "UPDATE payments SET case_id = ?2, matched_by = ?3, matched_on = ?4 WHERE id = ?1",
            )?
            .execute(rusqlite::params![
                payment,
                case_id,
                matched_by.as_str(),
                matched_on.to_string()
            ])?;
        Ok(())
    }

    pub fn set_payment_unmatched(
        &self,
        payment: i64,
        reason: UnmatchedReason,
    ) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("UPDATE payments SET unmatched_reason = ?2 WHERE id = ?1")?
            .execute(rusqlite::params![payment, reason.as_str()])?;
        Ok(())
    }

    pub fn set_payment_reversed(&self, payment: i64, by: i64) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("UPDATE payments SET reversed_by = ?2 WHERE id = ?1")?
            .execute((payment, by))?;
        Ok(())
    }

    pub fn insert_allocation(&self, payment: i64, row: &AllocationRow) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO allocations (payment_id, case_id, invoice_id, component, amount_minor)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(rusqlite::params![
                payment,
                row.case_id,
                row.invoice_id,
                row.component.map_or("overpaid", |c| c.as_str()),
                row.amount_minor,
            ])?;
        Ok(())
    }

    pub fn allocations_of(&self, payment: i64) -> Result<Vec<AllocationRow>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT case_id, invoice_id, component, amount_minor FROM allocations
             WHERE payment_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([payment], |r| {
            let component: String = r.get(2)?;
            Ok(AllocationRow {
                case_id: r.get(0)?,
                invoice_id: r.get(1)?,
                component: match component.as_str() {
                    "overpaid" => None,
                    other => Some(enum_column(other)?),
                },
                amount_minor: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The open amounts of a case, per component and invoice, for allocation: ordered by
    /// invoice (amounts of no invoice first), then component name.
    ///
    /// Summed here rather than with `GROUP BY … ORDER BY` in SQL: that query built and sorted
    /// two temporary b-trees on every payment, nearly a tenth of a payments file's time; the
    /// case's postings come straight off the `postings_case` index and are few.
    pub fn open_items(&self, case_id: i64) -> Result<Vec<OpenItem>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT p.component, p.invoice_id, COALESCE(i.due_date, c.opened_on), p.amount_minor
             FROM postings p
             JOIN cases c ON c.id = p.case_id
             LEFT JOIN invoices i ON i.id = p.invoice_id
             WHERE p.case_id = ?1",
        )?;
        // (invoice, component name) -> (component, due date, sum): the order the SQL had.
        let mut sums: std::collections::BTreeMap<(Option<i64>, &'static str), OpenItem> =
            std::collections::BTreeMap::new();
        let mut rows = stmt.query([case_id])?;
        while let Some(r) = rows.next()? {
            let component: Component =
                enum_column(r.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?)?;
            let invoice_id: Option<i64> = r.get(1)?;
            let amount: i64 = r.get(3)?;
            match sums.entry((invoice_id, component.as_str())) {
                std::collections::btree_map::Entry::Occupied(mut e) => {
                    e.get_mut().open_minor += amount;
                }
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(OpenItem {
                        component,
                        invoice_id,
                        due_date: date_column(
                            r.get_ref(2)?.as_str().map_err(rusqlite::Error::from)?,
                        )?,
                        open_minor: amount,
                    });
                }
            }
        }
        Ok(sums
            .into_values()
            .filter(|item| item.open_minor > 0)
            .collect())
    }

    /// Reopens a case closed as paid, in the state it was in before.
    pub fn reopen_case(&self, case_id: i64) -> Result<CaseState, StoreError> {
        let state: Option<String> = self
            .tx
            .prepare_cached("SELECT state_before_close FROM cases WHERE id = ?1")?
            .query_row([case_id], |r| r.get(0))?;
        let state = match state {
            Some(s) => enum_column::<CaseState>(&s)?,
            None => CaseState::Registered,
        };
        self.tx
            .prepare_cached(
                "UPDATE cases SET state = ?2, close_reason = NULL, closed_on = NULL,
                     state_before_close = NULL
                 WHERE id = ?1",
            )?
            .execute(rusqlite::params![case_id, state.as_str()])?;
        Ok(state)
    }

    /// Unmatched payments (money received, not corrections) with this payment id, from any
    /// sender (the desk names a payment by its id; the bank channel received it).
    pub fn unmatched_payments_with_id(
        &self,
        payment_id: &str,
    ) -> Result<Vec<UnmatchedPayment>, StoreError> {
        self.unmatched(Unmatched::PaymentId(payment_id))
    }

    /// Unmatched payments with a reference or invoice number, oldest first.
    pub fn unmatched_payments(&self) -> Result<Vec<UnmatchedPayment>, StoreError> {
        self.unmatched(Unmatched::AnyReferenceOrInvoiceNo)
    }

    /// Unmatched payments carrying this reference, oldest first.
    pub fn unmatched_payments_with_reference(
        &self,
        reference: &str,
    ) -> Result<Vec<UnmatchedPayment>, StoreError> {
        self.unmatched(Unmatched::Reference(reference))
    }

    /// Unmatched payments naming this invoice of this creditor, oldest first.
    pub fn unmatched_payments_with_invoice_no(
        &self,
        creditor_id: &str,
        invoice_no: &str,
    ) -> Result<Vec<UnmatchedPayment>, StoreError> {
        self.unmatched(Unmatched::InvoiceNo(creditor_id, invoice_no))
    }

    /// How many payments wait unmatched (money received, not corrections).
    pub fn unmatched_count(&self) -> Result<u64, StoreError> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT COUNT(*) FROM payments WHERE case_id IS NULL AND reverses IS NULL",
            )?
            .query_row([], |r| r.get::<_, i64>(0))?
            .unsigned_abs())
    }

    /// The references a payment for this invoice could carry: the invoice's own (if any) and
    /// the agency reference of its case. `None` when there is no such invoice.
    pub fn invoice_references(
        &self,
        creditor_id: &str,
        invoice_no: &str,
    ) -> Result<Option<(Option<String>, String)>, StoreError> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT i.reference, c.reference FROM invoices i JOIN cases c ON c.id = i.case_id
                 WHERE i.creditor_id = ?1 AND i.invoice_no = ?2",
            )?
            .query_row((creditor_id, invoice_no), |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    fn unmatched(&self, which: Unmatched<'_>) -> Result<Vec<UnmatchedPayment>, StoreError> {
        // One statement per filter, each answered from an index over the unmatched payments
        // only (`payments_unmatched*`): a look-up by id or reference must not read them all.
        const SELECT: &str = "SELECT id, sender, payment_id, kind, creditor_id, reference,
                    invoice_no, amount_minor, currency, payment_date, payer_name, payer_account,
                    unmatched_reason
             FROM payments
             WHERE case_id IS NULL AND reverses IS NULL AND reversed_by IS NULL
               AND amount_minor > 0";
        let (filter, params): (&str, Vec<&dyn rusqlite::ToSql>) = match &which {
            Unmatched::AnyReferenceOrInvoiceNo => (
                "AND (reference IS NOT NULL OR invoice_no IS NOT NULL)",
                vec![],
            ),
            Unmatched::PaymentId(id) => ("AND payment_id = ?1", vec![id]),
            Unmatched::Reference(reference) => ("AND reference = ?1", vec![reference]),
            Unmatched::InvoiceNo(creditor, invoice_no) => (
                "AND creditor_id = ?1 AND invoice_no = ?2",
                vec![creditor, invoice_no],
            ),
        };
        let mut stmt = self
            .tx
            .prepare_cached(&format!("{SELECT} {filter} ORDER BY id"))?;
        let rows = stmt.query_map(params.as_slice(), |r| {
            Ok(UnmatchedPayment {
                id: r.get(0)?,
                sender: r.get(1)?,
                record: PaymentRecord {
                    position: crate::diagnostic::Position::File,
                    payment_id: r.get(2)?,
                    kind: enum_column::<PaymentKind>(&r.get::<_, String>(3)?)?,
                    creditor_id: r.get(4)?,
                    reference: r.get(5)?,
                    invoice_no: r.get(6)?,
                    amount_minor: r.get(7)?,
                    currency: r.get(8)?,
                    payment_date: date_column(&r.get::<_, String>(9)?)?,
                    payer_name: r.get(10)?,
                    payer_account: r.get(11)?,
                    reverses: None,
                },
                reason: r
                    .get::<_, Option<String>>(12)?
                    .map(|s| enum_column(&s))
                    .transpose()?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn stored_payment(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredPayment> {
    Ok(StoredPayment {
        id: r.get(0)?,
        payment_id: r.get(1)?,
        fingerprint: r.get(2)?,
        amount_minor: r.get(3)?,
        reference: r.get(4)?,
        case_id: r.get(5)?,
        reversed_by: r.get(6)?,
    })
}

fn candidate(r: &rusqlite::Row<'_>) -> rusqlite::Result<Candidate> {
    Ok(Candidate {
        case_id: r.get(0)?,
        creditor_id: r.get(1)?,
        currency: r.get(2)?,
    })
}

impl Lookup for Tx<'_> {
    fn case_by_agency_reference(&self, reference: &str) -> Result<Option<Candidate>, StoreError> {
        Ok(self
            .tx
            .prepare_cached("SELECT id, creditor_id, currency FROM cases WHERE reference = ?1")?
            .query_row([reference], candidate)
            .optional()?)
    }

    fn cases_by_invoice_reference(&self, reference: &str) -> Result<Vec<Candidate>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            // No DISTINCT (a temporary b-tree per payment): `match_payment` drops repeats of
            // a case, which arrive next to each other in this order.
            "SELECT c.id, c.creditor_id, c.currency
             FROM invoices i JOIN cases c ON c.id = i.case_id
             WHERE i.reference = ?1 AND i.document_type = 'invoice' AND c.state <> 'closed'
               AND (SELECT COALESCE(SUM(p.amount_minor), 0) FROM postings p
                    WHERE p.invoice_id = i.id AND p.component = 'principal') > 0
             ORDER BY c.id",
        )?;
        let rows = stmt.query_map([reference], candidate)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn case_by_invoice_no(
        &self,
        creditor_id: &str,
        invoice_no: &str,
    ) -> Result<Option<Candidate>, StoreError> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT c.id, c.creditor_id, c.currency
                 FROM invoices i JOIN cases c ON c.id = i.case_id
                 WHERE i.creditor_id = ?1 AND i.invoice_no = ?2 AND i.document_type = 'invoice'",
            )?
            .query_row((creditor_id, invoice_no), candidate)
            .optional()?)
    }
}
