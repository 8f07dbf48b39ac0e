//! What a day's reconciliation reads (SPEC §7): the money placed on cases that day, the money
//! kept or cleared as unmatched, the ledger's other postings, the open balances, and which
//! business days are closed.

use chrono::NaiveDate;
use rusqlite::OptionalExtension;

use super::{StoreError, Tx, date_column, enum_column};
use crate::domain::{Component, EventKind, PaymentKind};

/// One allocation part of a payment (or a reversal) placed on a case on the day, summed per
/// invoice and component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoneyPart {
    pub payment_row: i64,
    pub payment_id: String,
    /// Where the money was paid: for a reversal, where the payment it undoes was paid.
    pub kind: PaymentKind,
    /// For a reversal, the id of the payment it undoes.
    pub reverses: Option<String>,
    pub payment_date: NaiveDate,
    pub reference: Option<String>,
    pub case_no: String,
    pub creditor_id: String,
    pub currency: String,
    pub invoice_no: Option<String>,
    /// A balance component, or `None` for the over-paid part.
    pub component: Option<Component>,
    pub amount_minor: i64,
    pub matched_by: String,
}

/// How the unmatched money moved on the day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuspenseMove {
    /// Received on the day and not placed on a case by its end.
    Received { reason: Option<String> },
    /// Received on an earlier day, placed on a case on this day.
    Cleared {
        case_no: String,
        received_on: NaiveDate,
        matched_by: String,
    },
    /// A reversal, received on the day, of a payment that never reached a case.
    Reversed { original_payment_id: String },
}

/// A payment that moved the unmatched money on the day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuspenseEntry {
    pub payment_row: i64,
    pub payment_id: String,
    pub kind: PaymentKind,
    pub payment_date: NaiveDate,
    pub reference: Option<String>,
    pub invoice_no: Option<String>,
    /// The creditor the payment named (direct payments do); bank payments name none.
    pub creditor_id: Option<String>,
    pub currency: String,
    pub amount_minor: i64,
    pub movement: SuspenseMove,
}

/// Postings of the day that are not payments, summed per event, invoice and component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerPart {
    pub event_id: i64,
    pub event: EventKind,
    pub case_no: String,
    pub case_reference: String,
    pub creditor_id: String,
    pub currency: String,
    pub invoice_no: Option<String>,
    pub component: Component,
    pub amount_minor: i64,
    pub detail: String,
}

/// A creditor's open balance (every component of all its cases) at the start and end of a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpenBalance {
    pub start_minor: i64,
    pub end_minor: i64,
}

impl Tx<'_> {
    /// Records that kravflyt works on business date `day` (a file processed, the steps run).
    pub fn mark_business_day(&self, day: NaiveDate) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("INSERT OR IGNORE INTO business_days (day) VALUES (?1)")?
            .execute([day.to_string()])?;
        Ok(())
    }

    /// Records that `day`'s reconciliation files were queued: the day is closed.
    pub fn mark_reconciled(&self, day: NaiveDate, at: &str) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO business_days (day, reconciled_at) VALUES (?1, ?2)
                 ON CONFLICT (day) DO UPDATE SET reconciled_at = COALESCE(reconciled_at, ?2)",
            )?
            .execute((day.to_string(), at))?;
        Ok(())
    }

    /// Business days before `before` whose reconciliation has not been queued, oldest first.
    pub fn unreconciled_days_before(
        &self,
        before: NaiveDate,
    ) -> Result<Vec<NaiveDate>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT day FROM business_days WHERE reconciled_at IS NULL AND day < ?1 ORDER BY day",
        )?;
        let rows = stmt.query_map([before.to_string()], |r| {
            date_column(&r.get::<_, String>(0)?)
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The latest reconciled (closed) business day, if any.
    pub fn last_reconciled_day(&self) -> Result<Option<NaiveDate>, StoreError> {
        self.latest_day("SELECT MAX(day) FROM business_days WHERE reconciled_at IS NOT NULL")
    }

    /// The latest business day kravflyt worked on, if any.
    pub fn last_business_day(&self) -> Result<Option<NaiveDate>, StoreError> {
        self.latest_day("SELECT MAX(day) FROM business_days")
    }

    fn latest_day(&self, sql: &str) -> Result<Option<NaiveDate>, StoreError> {
        let day: Option<String> = self
            .tx
            .prepare_cached(sql)?
            .query_row([], |r| r.get(0))
            .optional()?
            .flatten();
        Ok(day.map(|d| date_column(&d)).transpose()?)
    }

    /// The allocations of every payment and reversal placed on a case on `day`.
    pub fn money_parts(&self, day: NaiveDate) -> Result<Vec<MoneyPart>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT p.id, p.payment_id, COALESCE(o.kind, p.kind), o.payment_id,
                    p.payment_date, p.reference, c.case_no, c.creditor_id, i.invoice_no,
                    a.component, SUM(a.amount_minor), p.matched_by, c.currency
             FROM payments p
             JOIN allocations a ON a.payment_id = p.id
             JOIN cases c ON c.id = p.case_id
             LEFT JOIN payments o ON o.id = p.reverses
             LEFT JOIN invoices i ON i.id = a.invoice_id
             WHERE p.matched_on = ?1
             GROUP BY p.id, a.invoice_id, a.component
             ORDER BY p.id, a.invoice_id IS NULL, a.invoice_id, a.component",
        )?;
        let rows = stmt.query_map([day.to_string()], |r| {
            let component: String = r.get(9)?;
            Ok(MoneyPart {
                payment_row: r.get(0)?,
                payment_id: r.get(1)?,
                kind: enum_column(&r.get::<_, String>(2)?)?,
                reverses: r.get(3)?,
                payment_date: date_column(&r.get::<_, String>(4)?)?,
                reference: r.get(5)?,
                case_no: r.get(6)?,
                creditor_id: r.get(7)?,
                currency: r.get(12)?,
                invoice_no: r.get(8)?,
                component: match component.as_str() {
                    "overpaid" => None,
                    other => Some(enum_column(other)?),
                },
                amount_minor: r.get(10)?,
                matched_by: r.get::<_, Option<String>>(11)?.unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Payments that moved the unmatched money on `day`: received and not placed by the end of
    /// the day, received earlier and placed on the day, and reversals of payments that never
    /// reached a case.
    pub fn suspense_entries(&self, day: NaiveDate) -> Result<Vec<SuspenseEntry>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT p.id, p.payment_id, p.kind, p.payment_date, p.reference, p.invoice_no,
                    p.creditor_id, p.currency, p.amount_minor, f.business_date, p.case_id,
                    p.matched_on, p.matched_by, p.unmatched_reason, c.case_no, o.payment_id
             FROM payments p
             JOIN inbound_files f ON f.id = p.file_id
             LEFT JOIN cases c ON c.id = p.case_id
             LEFT JOIN payments o ON o.id = p.reverses
             WHERE (f.business_date = ?1
                    AND (p.matched_on IS NULL OR p.matched_on > ?1))
                OR (p.matched_on = ?1 AND f.business_date < ?1 AND p.reverses IS NULL)
             ORDER BY p.id",
        )?;
        let today = day.to_string();
        let rows = stmt.query_map([&today], |r| {
            let received_on: String = r.get(9)?;
            let matched_on: Option<String> = r.get(11)?;
            let original: Option<String> = r.get(15)?;
            let movement = if matched_on.as_deref() == Some(today.as_str()) {
                SuspenseMove::Cleared {
                    case_no: r.get::<_, Option<String>>(14)?.unwrap_or_default(),
                    received_on: date_column(&received_on)?,
                    matched_by: r.get::<_, Option<String>>(12)?.unwrap_or_default(),
                }
            } else if let Some(original_payment_id) = original {
                SuspenseMove::Reversed {
                    original_payment_id,
                }
            } else {
                SuspenseMove::Received { reason: r.get(13)? }
            };
            Ok(SuspenseEntry {
                payment_row: r.get(0)?,
                payment_id: r.get(1)?,
                kind: enum_column(&r.get::<_, String>(2)?)?,
                payment_date: date_column(&r.get::<_, String>(3)?)?,
                reference: r.get(4)?,
                invoice_no: r.get(5)?,
                creditor_id: r.get(6)?,
                currency: r.get(7)?,
                amount_minor: r.get(8)?,
                movement,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The day's postings, per event, invoice and component (payments' included: the
    /// reconciliation checks them against the allocations).
    pub fn ledger_parts(&self, day: NaiveDate) -> Result<Vec<LedgerPart>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT e.id, e.kind, c.case_no, c.reference, c.creditor_id, i.invoice_no,
                    p.component, SUM(p.amount_minor), e.detail, c.currency
             FROM postings p
             JOIN case_events e ON e.id = p.event_id
             JOIN cases c ON c.id = p.case_id
             LEFT JOIN invoices i ON i.id = p.invoice_id
             WHERE p.posting_date = ?1
             GROUP BY e.id, p.invoice_id, p.component
             ORDER BY e.id, p.invoice_id IS NULL, p.invoice_id, p.component",
        )?;
        let rows = stmt.query_map([day.to_string()], |r| {
            Ok(LedgerPart {
                event_id: r.get(0)?,
                event: enum_column(&r.get::<_, String>(1)?)?,
                case_no: r.get(2)?,
                case_reference: r.get(3)?,
                creditor_id: r.get(4)?,
                currency: r.get(9)?,
                invoice_no: r.get(5)?,
                component: enum_column(&r.get::<_, String>(6)?)?,
                amount_minor: r.get(7)?,
                detail: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The open balance of each creditor's cases per currency at the start and the end of
    /// `day`.
    pub fn open_balances(
        &self,
        day: NaiveDate,
    ) -> Result<std::collections::BTreeMap<(String, String), OpenBalance>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT c.creditor_id, c.currency,
                    COALESCE(SUM(CASE WHEN p.posting_date < ?1 THEN p.amount_minor END), 0),
                    COALESCE(SUM(p.amount_minor), 0)
             FROM postings p JOIN cases c ON c.id = p.case_id
             WHERE p.posting_date <= ?1
             GROUP BY c.creditor_id, c.currency",
        )?;
        let rows = stmt.query_map([day.to_string()], |r| {
            Ok((
                (r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                OpenBalance {
                    start_minor: r.get(2)?,
                    end_minor: r.get(3)?,
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
