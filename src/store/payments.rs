//! Payments waiting unmatched.

use crate::store::db::OptionalExtension;

use super::{StoreError, Tx, date_column, enum_column};
use crate::domain::{PaymentKind, UnmatchedReason};
use crate::ingest::validate::payment::PaymentRecord;

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
            .query_row(crate::store::db::NO_PARAMS, |r| r.get::<i64>(0))?
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
        let (filter, params): (&str, Vec<&dyn crate::store::db::ToParam>) = match &which {
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
                    kind: enum_column::<PaymentKind>(&r.get::<String>(3)?)?,
                    creditor_id: r.get(4)?,
                    reference: r.get(5)?,
                    invoice_no: r.get(6)?,
                    amount_minor: r.get(7)?,
                    currency: r.get(8)?,
                    payment_date: date_column(&r.get::<String>(9)?)?,
                    payer_name: r.get(10)?,
                    payer_account: r.get(11)?,
                    reverses: None,
                },
                reason: r
                    .get::<Option<String>>(12)?
                    .map(|s| enum_column(&s))
                    .transpose()?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
