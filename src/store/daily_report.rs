//! What the daily HTML report reads: one business day's inbound and outbound files, cases
//! opened and closed, the unmatched payments open at the end of the day, and the money placed
//! on cases per day. Reads only.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::{StoreError, Tx, date_column};

/// The inbound files of one sender with one status on a business day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundCount {
    pub sender: String,
    /// `accepted`, `partly_accepted`, `rejected` or `duplicate`.
    pub status: String,
    pub files: i64,
    pub records_total: i64,
    pub records_accepted: i64,
    pub records_rejected: i64,
}

/// One inbound file of a business day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundFileRow {
    pub sender: String,
    pub original_name: String,
    pub status: String,
    pub records_total: i64,
    pub records_accepted: i64,
    pub records_rejected: i64,
}

/// The outbound files of one folder and kind that belong to a business day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundCount {
    /// A sender id or `_agency`.
    pub folder: String,
    pub kind: String,
    pub files: i64,
}

/// A payment that was waiting for a case at the end of a business day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenPayment {
    pub sender: String,
    pub payment_id: String,
    pub amount_minor: i64,
    pub currency: String,
    pub payment_date: NaiveDate,
    /// The business date of the file that brought it.
    pub received_on: NaiveDate,
    pub reference: Option<String>,
    pub reason: Option<String>,
}

/// The money placed on cases on one day in one currency (allocations without the overpaid
/// part; reversals count negative).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedDay {
    pub date: NaiveDate,
    pub currency: String,
    pub amount_minor: i64,
}

impl Tx<'_> {
    /// The inbound files with business date `day`, per sender and status.
    pub fn inbound_counts(&self, day: NaiveDate) -> Result<Vec<InboundCount>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT sender, status, COUNT(*), SUM(records_total), SUM(records_accepted),
                    SUM(records_rejected)
             FROM inbound_files WHERE business_date = ?1
             GROUP BY sender, status ORDER BY sender, status",
        )?;
        let rows = stmt.query_map([day.to_string()], |r| {
            Ok(InboundCount {
                sender: r.get(0)?,
                status: r.get(1)?,
                files: r.get(2)?,
                records_total: r.get(3)?,
                records_accepted: r.get(4)?,
                records_rejected: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The inbound files with business date `day` that were not accepted whole (partly
    /// accepted, rejected, duplicates), by sender and name.
    pub fn inbound_files_not_accepted(
        &self,
        day: NaiveDate,
    ) -> Result<Vec<InboundFileRow>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT sender, original_name, status, records_total, records_accepted,
                    records_rejected
             FROM inbound_files WHERE business_date = ?1 AND status <> 'accepted'
             ORDER BY sender, original_name, id",
        )?;
        let rows = stmt.query_map([day.to_string()], |r| {
            Ok(InboundFileRow {
                sender: r.get(0)?,
                original_name: r.get(1)?,
                status: r.get(2)?,
                records_total: r.get(3)?,
                records_accepted: r.get(4)?,
                records_rejected: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The outbound files of `day`, per folder and kind: the receipts of the inbound files
    /// with business date `day`, and every other file whose name carries the date
    /// (`status-YYYYMMDD-N.*`, `letters-YYYYMMDD-N.csv`, `reconciliation-YYYYMMDD.*`), except
    /// the daily report itself (`report-*`).
    pub fn outbound_counts(&self, day: NaiveDate) -> Result<Vec<OutboundCount>, StoreError> {
        let compact = day.format("%Y%m%d").to_string();
        let mut stmt = self.tx.prepare_cached(
            "SELECT o.folder, o.kind, COUNT(*)
             FROM outbox o LEFT JOIN inbound_files f ON f.id = o.file_id
             WHERE (o.kind = 'receipt' AND f.business_date = ?1)
                OR (o.kind NOT IN ('receipt', 'report') AND o.file_name NOT LIKE 'report-%'
                    AND (o.file_name LIKE '%-' || ?2 || '-%'
                         OR o.file_name LIKE '%-' || ?2 || '.%'))
             GROUP BY o.folder, o.kind ORDER BY o.folder, o.kind",
        )?;
        let rows = stmt.query_map((day.to_string(), compact), |r| {
            Ok(OutboundCount {
                folder: r.get(0)?,
                kind: r.get(1)?,
                files: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many cases were opened and how many closed on `day`.
    pub fn cases_opened_closed(&self, day: NaiveDate) -> Result<(i64, i64), StoreError> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT COALESCE(SUM(CASE WHEN opened_on = ?1 THEN 1 ELSE 0 END), 0),
                        COALESCE(SUM(CASE WHEN closed_on = ?1 THEN 1 ELSE 0 END), 0)
                 FROM cases",
            )?
            .query_row([day.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))?)
    }

    /// Payments that were waiting for a case at the end of `day`: received on or before it,
    /// not placed on a case by its end, not a reversal, and not reversed by its end; oldest
    /// first.
    pub fn open_payments_at_end_of(&self, day: NaiveDate) -> Result<Vec<OpenPayment>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT p.sender, p.payment_id, p.amount_minor, p.currency, p.payment_date,
                    f.business_date, p.reference, p.unmatched_reason
             FROM payments p
             JOIN inbound_files f ON f.id = p.file_id
             LEFT JOIN payments r ON r.id = p.reversed_by
             LEFT JOIN inbound_files rf ON rf.id = r.file_id
             WHERE f.business_date <= ?1
               AND (p.case_id IS NULL OR p.matched_on > ?1)
               AND p.reverses IS NULL
               AND (p.reversed_by IS NULL OR rf.business_date > ?1)
             ORDER BY f.business_date, p.id",
        )?;
        let rows = stmt.query_map([day.to_string()], |r| {
            Ok(OpenPayment {
                sender: r.get(0)?,
                payment_id: r.get(1)?,
                amount_minor: r.get(2)?,
                currency: r.get(3)?,
                payment_date: date_column(&r.get::<String>(4)?)?,
                received_on: date_column(&r.get::<String>(5)?)?,
                reference: r.get(6)?,
                reason: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The money placed on cases per day from `from` to `to` (inclusive) and currency: the
    /// allocations, without their overpaid part, of the payments matched on that day.
    pub fn placed_per_day(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<PlacedDay>, StoreError> {
        // Summed here per day and currency rather than by GROUP BY, which would sort the
        // allocations of the whole period in SQLite's memory first (a million a day, issue 8).
        let mut stmt = self.tx.prepare_cached(
            "SELECT p.matched_on, c.currency, a.amount_minor
             FROM payments p
             JOIN allocations a ON a.payment_id = p.id
             JOIN cases c ON c.id = p.case_id
             WHERE p.matched_on >= ?1 AND p.matched_on <= ?2 AND a.component <> 'overpaid'",
        )?;
        let mut sums: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
        let mut rows = stmt.query_streamed((from.to_string(), to.to_string()))?;
        while let Some(row) = rows.next()? {
            let r = &row;
            let text = |i| r.get_str(i);
            let (date, currency, amount) = (text(0)?, text(1)?, r.get::<i64>(2)?);
            if !sums.contains_key(date) {
                sums.insert(date.to_owned(), BTreeMap::new());
            }
            let per_currency = sums.get_mut(date).expect("inserted above");
            if !per_currency.contains_key(currency) {
                per_currency.insert(currency.to_owned(), 0);
            }
            let sum = per_currency.get_mut(currency).expect("inserted above");
            *sum = sum
                .checked_add(amount)
                .ok_or_else(|| StoreError::Invariant("integer overflow summing amounts".into()))?;
        }
        let mut placed = Vec::new();
        for (date, per_currency) in sums {
            let date = date_column(&date)?;
            for (currency, amount_minor) in per_currency {
                placed.push(PlacedDay {
                    date,
                    currency,
                    amount_minor,
                });
            }
        }
        Ok(placed)
    }
}
