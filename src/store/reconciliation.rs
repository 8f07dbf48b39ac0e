//! What a day's reconciliation reads (SPEC §7): the money placed on cases that day, the money
//! kept or cleared as unmatched, the ledger's other postings, the open balances, and which
//! business days are closed.

use crate::store::db::OptionalExtension;
use chrono::NaiveDate;

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
                 ON CONFLICT (day) DO UPDATE SET reconciled_at = COALESCE(business_days.reconciled_at, ?2)",
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
        let rows = stmt.query_map([before.to_string()], |r| date_column(&r.get::<String>(0)?))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Reconciled days whose HTML report has not been written yet, oldest first.
    pub fn days_without_report(&self) -> Result<Vec<NaiveDate>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT day FROM business_days
             WHERE reconciled_at IS NOT NULL AND report_written_at IS NULL ORDER BY day",
        )?;
        let rows = stmt.query_map(crate::store::db::NO_PARAMS, |r| {
            date_column(&r.get::<String>(0)?)
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records that `day`'s HTML report was written.
    pub fn mark_report_written(&self, day: NaiveDate, at: &str) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("UPDATE business_days SET report_written_at = ?2 WHERE day = ?1")?
            .execute((day.to_string(), at))?;
        Ok(())
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
            .query_row(crate::store::db::NO_PARAMS, |r| r.get(0))
            .optional()?
            .flatten();
        Ok(day.map(|d| date_column(&d)).transpose()?)
    }

    /// The creditors with anything in `day`'s reconciliation — money placed on their cases,
    /// postings on their cases, unmatched money naming them — in id order.
    pub fn day_creditors(&self, day: NaiveDate) -> Result<Vec<String>, StoreError> {
        let mut creditors = std::collections::BTreeSet::new();
        // DISTINCT scans: SQLite keeps only the distinct ids (a few), never the rows.
        for sql in [
            "SELECT DISTINCT c.creditor_id FROM payments p JOIN cases c ON c.id = p.case_id
             WHERE p.matched_on = ?1",
            "SELECT DISTINCT c.creditor_id FROM postings p JOIN cases c ON c.id = p.case_id
             WHERE p.posting_date = ?1",
            // The unmatched money's two queries below, each by its index (an OR would scan
            // every payment ever).
            "SELECT DISTINCT p.creditor_id FROM inbound_files f JOIN payments p ON p.file_id = f.id
             WHERE f.business_date = ?1 AND (p.matched_on IS NULL OR p.matched_on > ?1)
               AND p.creditor_id IS NOT NULL",
            "SELECT DISTINCT p.creditor_id FROM payments p JOIN inbound_files f ON f.id = p.file_id
             WHERE p.matched_on = ?1 AND f.business_date < ?1 AND p.reverses IS NULL
               AND p.creditor_id IS NOT NULL",
        ] {
            let mut stmt = self.tx.prepare_cached(sql)?;
            let rows = stmt.query_map([day.to_string()], |r| r.get::<String>(0))?;
            for creditor in rows {
                creditors.insert(creditor?);
            }
        }
        Ok(creditors.into_iter().collect())
    }

    /// Streams what `day`'s reconciliation holds for `creditor` (`None`: the unmatched money
    /// of no creditor) to `read`, each part once, none kept: the allocations of every payment
    /// and reversal placed on its cases that day (`money`), per payment, invoice (invoice-less
    /// last) and component; the day's postings on its cases (`ledger`, payments' included: the
    /// reconciliation checks them against the allocations), per event, invoice and component;
    /// and the payments that moved the unmatched money (`suspense`), by payment.
    ///
    /// No query sorts: every one reads in the order of an index, and the few rows of one
    /// payment or one event are summed here. A day of a million payments is never sorted (and
    /// so never held) in SQLite's memory; the price is one pass over the day per creditor.
    pub fn with_day_parts<R>(
        &self,
        day: NaiveDate,
        creditor: Option<&str>,
        read: impl FnOnce(
            &mut dyn Iterator<Item = Result<MoneyPart, StoreError>>,
            &mut dyn Iterator<Item = Result<LedgerPart, StoreError>>,
            &mut dyn Iterator<Item = Result<SuspenseEntry, StoreError>>,
        ) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let today = day.to_string();
        // By payment: the index on `matched_on` gives the payments in id order, each one's
        // allocations follow it.
        let mut money = self.tx.prepare_cached(
            "SELECT p.id, p.payment_id, COALESCE(o.kind, p.kind), o.payment_id,
                    p.payment_date, p.reference, c.case_no, c.creditor_id, i.invoice_no,
                    a.component, a.amount_minor, p.matched_by, c.currency, a.invoice_id
             FROM payments p
             JOIN cases c ON c.id = p.case_id
             JOIN allocations a ON a.payment_id = p.id
             LEFT JOIN payments o ON o.id = p.reverses
             LEFT JOIN invoices i ON i.id = a.invoice_id
             WHERE p.matched_on = ?1 AND c.creditor_id IS ?2
             ORDER BY p.id",
        )?;
        // By event: the index on (posting_date, event_id) gives a day's postings event by
        // event without a sort (`Grouped` checks that each event comes once).
        let mut ledger = self.tx.prepare_cached(
            "SELECT e.id, e.kind, c.case_no, c.reference, c.creditor_id, i.invoice_no,
                    p.component, p.amount_minor, e.detail, c.currency, p.invoice_id
             FROM postings p
             JOIN cases c ON c.id = p.case_id
             JOIN case_events e ON e.id = p.event_id
             LEFT JOIN invoices i ON i.id = p.invoice_id
             WHERE p.posting_date = ?1 AND c.creditor_id IS ?2
             ORDER BY p.event_id, p.id",
        )?;
        const SUSPENSE: &str = "SELECT p.id, p.payment_id, p.kind, p.payment_date, p.reference,
                    p.invoice_no, p.creditor_id, p.currency, p.amount_minor, f.business_date,
                    p.case_id, p.matched_on, p.matched_by, p.unmatched_reason, c.case_no,
                    o.payment_id";
        // Received on the day and not placed by its end: the day's files in order, each one's
        // payments in order (a file's payments are written together, so this is id order).
        let mut received = self.tx.prepare_cached(&format!(
            "{SUSPENSE}
             FROM inbound_files f
             JOIN payments p ON p.file_id = f.id
             LEFT JOIN cases c ON c.id = p.case_id
             LEFT JOIN payments o ON o.id = p.reverses
             WHERE f.business_date = ?1 AND (p.matched_on IS NULL OR p.matched_on > ?1)
               AND p.creditor_id IS ?2
             ORDER BY f.id, p.id"
        ))?;
        // Received earlier, placed on the day.
        let mut cleared = self.tx.prepare_cached(&format!(
            "{SUSPENSE}
             FROM payments p
             JOIN inbound_files f ON f.id = p.file_id
             LEFT JOIN cases c ON c.id = p.case_id
             LEFT JOIN payments o ON o.id = p.reverses
             WHERE p.matched_on = ?1 AND f.business_date < ?1 AND p.reverses IS NULL
               AND p.creditor_id IS ?2
             ORDER BY p.id"
        ))?;
        let params = crate::store::db::params![today, creditor];
        let mut money = Grouped::new(
            "allocations",
            money.query_map_streamed(params, |r| {
                let part = money_part(r)?;
                Ok(Raw {
                    group: part.payment_row,
                    key: sum_key(r.get(13)?, r.get(9)?),
                    amount: part.amount_minor,
                    part,
                })
            })?,
            |part: &mut MoneyPart, amount| part.amount_minor = amount,
        );
        let mut ledger = Grouped::new(
            "postings",
            ledger.query_map_streamed(params, |r| {
                let part = ledger_part(r)?;
                Ok(Raw {
                    group: part.event_id,
                    key: sum_key(r.get(10)?, r.get(6)?),
                    amount: part.amount_minor,
                    part,
                })
            })?,
            |part: &mut LedgerPart, amount| part.amount_minor = amount,
        );
        let mut suspense = ById {
            received: received
                .query_map_streamed(params, |r| suspense_entry(r, &today))?
                .peekable(),
            cleared: cleared
                .query_map_streamed(params, |r| suspense_entry(r, &today))?
                .peekable(),
            last: None,
        };
        read(&mut money, &mut ledger, &mut suspense)
    }

    /// The open balance of each creditor's cases per currency at the start and the end of
    /// `day`.
    pub fn open_balances(
        &self,
        day: NaiveDate,
    ) -> Result<std::collections::BTreeMap<(String, String), OpenBalance>, StoreError> {
        // Summed here rather than by GROUP BY, which would sort every posting up to the day in
        // SQLite's memory first; the sums are one per creditor and currency.
        let mut stmt = self.tx.prepare_cached(
            "SELECT c.creditor_id, c.currency, p.posting_date < ?1, p.amount_minor
             FROM postings p JOIN cases c ON c.id = p.case_id
             WHERE p.posting_date <= ?1",
        )?;
        let mut sums: std::collections::BTreeMap<
            String,
            std::collections::BTreeMap<String, OpenBalance>,
        > = std::collections::BTreeMap::new();
        let mut rows = stmt.query_streamed([day.to_string()])?;
        while let Some(row) = rows.next()? {
            let r = &row;
            let creditor = r.get_str(0)?;
            let currency = r.get_str(1)?;
            let before: bool = r.get(2)?;
            let amount: i64 = r.get(3)?;
            if !sums.contains_key(creditor) {
                sums.insert(creditor.to_owned(), Default::default());
            }
            let per_currency = sums.get_mut(creditor).expect("inserted above");
            if !per_currency.contains_key(currency) {
                per_currency.insert(currency.to_owned(), OpenBalance::default());
            }
            let balance = per_currency.get_mut(currency).expect("inserted above");
            let add = |sum: i64| sum.checked_add(amount).ok_or_else(overflow);
            if before {
                balance.start_minor = add(balance.start_minor)?;
            }
            balance.end_minor = add(balance.end_minor)?;
        }
        Ok(sums
            .into_iter()
            .flat_map(|(creditor, per_currency)| {
                per_currency
                    .into_iter()
                    .map(move |(currency, balance)| ((creditor.clone(), currency), balance))
            })
            .collect())
    }
}

/// What SQLite's SUM says when a sum leaves 64 bits.
fn overflow() -> StoreError {
    StoreError::Invariant("integer overflow summing amounts".into())
}

/// The order a payment's allocations or an event's postings are summed and handed on in: by
/// invoice, invoice-less last, then by component (as `ORDER BY invoice_id IS NULL,
/// invoice_id, component` would).
type SumKey = (bool, Option<i64>, String);

fn sum_key(invoice_id: Option<i64>, component: String) -> SumKey {
    (invoice_id.is_none(), invoice_id, component)
}

/// One row of a query, in the group it belongs to (a payment, an event).
struct Raw<T> {
    group: i64,
    key: SumKey,
    amount: i64,
    part: T,
}

/// Rows that come group by group, summed per `SumKey` within each group: what `GROUP BY
/// group, key ORDER BY group, key` gives, holding one group's rows (a few) instead of the
/// day's. A group that comes back after another one would be summed twice: an internal error,
/// never a wrong file.
struct Grouped<I, T> {
    what: &'static str,
    rows: I,
    ahead: Option<Raw<T>>,
    ready: std::vec::IntoIter<T>,
    last: Option<i64>,
    set_amount: fn(&mut T, i64),
}

impl<I, T> Grouped<I, T>
where
    I: Iterator<Item = crate::store::db::Result<Raw<T>>>,
{
    fn new(what: &'static str, rows: I, set_amount: fn(&mut T, i64)) -> Self {
        Grouped {
            what,
            rows,
            ahead: None,
            ready: Vec::new().into_iter(),
            last: None,
            set_amount,
        }
    }

    fn pull(&mut self) -> Result<Option<Raw<T>>, StoreError> {
        match self.ahead.take() {
            Some(raw) => Ok(Some(raw)),
            None => Ok(self.rows.next().transpose()?),
        }
    }

    /// Reads the next group; `false` at the end.
    fn fill(&mut self) -> Result<bool, StoreError> {
        let Some(first) = self.pull()? else {
            return Ok(false);
        };
        let group = first.group;
        if self.last.is_some_and(|last| group <= last) {
            return Err(StoreError::Invariant(format!(
                "the {} of {group} do not come together (after {})",
                self.what,
                self.last.unwrap_or_default()
            )));
        }
        let mut sums: std::collections::BTreeMap<SumKey, (T, i64)> =
            std::collections::BTreeMap::new();
        let mut next = Some(first);
        while let Some(raw) = next {
            if raw.group != group {
                self.ahead = Some(raw);
                break;
            }
            match sums.get_mut(&raw.key) {
                Some((_, sum)) => *sum = sum.checked_add(raw.amount).ok_or_else(overflow)?,
                None => {
                    sums.insert(raw.key, (raw.part, raw.amount));
                }
            }
            next = self.pull()?;
        }
        self.last = Some(group);
        let set_amount = self.set_amount;
        self.ready = sums
            .into_values()
            .map(|(mut part, sum)| {
                set_amount(&mut part, sum);
                part
            })
            .collect::<Vec<_>>()
            .into_iter();
        Ok(true)
    }
}

impl<I, T> Iterator for Grouped<I, T>
where
    I: Iterator<Item = crate::store::db::Result<Raw<T>>>,
{
    type Item = Result<T, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(part) = self.ready.next() {
            return Some(Ok(part));
        }
        match self.fill() {
            Ok(true) => self.ready.next().map(Ok),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

/// The unmatched money's two streams (received on the day, cleared on the day: never the
/// same payment) merged by payment id, as `ORDER BY p.id` would give them.
struct ById<A: Iterator, B: Iterator> {
    received: std::iter::Peekable<A>,
    cleared: std::iter::Peekable<B>,
    last: Option<i64>,
}

impl<A, B> Iterator for ById<A, B>
where
    A: Iterator<Item = crate::store::db::Result<SuspenseEntry>>,
    B: Iterator<Item = crate::store::db::Result<SuspenseEntry>>,
{
    type Item = Result<SuspenseEntry, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        let id = |e: &crate::store::db::Result<SuspenseEntry>| {
            e.as_ref().map_or(i64::MIN, |e| e.payment_row)
        };
        let take_received = match (self.received.peek(), self.cleared.peek()) {
            (None, None) => return None,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(a), Some(b)) => id(a) <= id(b),
        };
        let entry = if take_received {
            self.received.next()
        } else {
            self.cleared.next()
        }?;
        Some(match entry {
            Ok(entry) if self.last.is_some_and(|last| entry.payment_row <= last) => {
                Err(StoreError::Invariant(format!(
                    "the unmatched payments of a day do not come in order at payment {}",
                    entry.payment_row
                )))
            }
            Ok(entry) => {
                self.last = Some(entry.payment_row);
                Ok(entry)
            }
            Err(e) => Err(e.into()),
        })
    }
}

fn money_part(r: &crate::store::db::Row<'_>) -> crate::store::db::Result<MoneyPart> {
    let component: String = r.get(9)?;
    Ok(MoneyPart {
        payment_row: r.get(0)?,
        payment_id: r.get(1)?,
        kind: enum_column(&r.get::<String>(2)?)?,
        reverses: r.get(3)?,
        payment_date: date_column(&r.get::<String>(4)?)?,
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
        matched_by: r.get::<Option<String>>(11)?.unwrap_or_default(),
    })
}

fn ledger_part(r: &crate::store::db::Row<'_>) -> crate::store::db::Result<LedgerPart> {
    Ok(LedgerPart {
        event_id: r.get(0)?,
        event: enum_column(&r.get::<String>(1)?)?,
        case_no: r.get(2)?,
        case_reference: r.get(3)?,
        creditor_id: r.get(4)?,
        currency: r.get(9)?,
        invoice_no: r.get(5)?,
        component: enum_column(&r.get::<String>(6)?)?,
        amount_minor: r.get(7)?,
        detail: r.get(8)?,
    })
}

/// A payment of the suspense queries, read for business day `today`.
fn suspense_entry(
    r: &crate::store::db::Row<'_>,
    today: &str,
) -> crate::store::db::Result<SuspenseEntry> {
    let received_on: String = r.get(9)?;
    let matched_on: Option<String> = r.get(11)?;
    let original: Option<String> = r.get(15)?;
    let movement = if matched_on.as_deref() == Some(today) {
        SuspenseMove::Cleared {
            case_no: r.get::<Option<String>>(14)?.unwrap_or_default(),
            received_on: date_column(&received_on)?,
            matched_by: r.get::<Option<String>>(12)?.unwrap_or_default(),
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
        kind: enum_column(&r.get::<String>(2)?)?,
        payment_date: date_column(&r.get::<String>(3)?)?,
        reference: r.get(4)?,
        invoice_no: r.get(5)?,
        creditor_id: r.get(6)?,
        currency: r.get(7)?,
        amount_minor: r.get(8)?,
        movement,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A summed part as the tests see it: group, invoice, component, amount.
    type Part = (i64, Option<i64>, String, i64);

    fn raw(
        group: i64,
        invoice: Option<i64>,
        component: &str,
        amount: i64,
    ) -> crate::store::db::Result<Raw<Part>> {
        Ok(Raw {
            group,
            key: sum_key(invoice, component.to_owned()),
            amount,
            part: (group, invoice, component.to_owned(), amount),
        })
    }

    fn grouped(rows: Vec<crate::store::db::Result<Raw<Part>>>) -> Result<Vec<Part>, StoreError> {
        Grouped::new("postings", rows.into_iter(), |part, amount| part.3 = amount).collect()
    }

    /// The same sums in the same order as `GROUP BY group, invoice, component ORDER BY group,
    /// invoice IS NULL, invoice, component`.
    #[test]
    fn rows_are_summed_per_group_invoice_and_component_in_sql_order() {
        let parts = grouped(vec![
            raw(7, None, "fee", 100),
            raw(7, Some(3), "principal", 10),
            raw(7, Some(2), "principal", 20),
            raw(7, Some(3), "principal", 5),
            raw(7, Some(3), "interest", 1),
            raw(9, Some(1), "principal", -4),
        ])
        .unwrap();
        let shown: Vec<_> = parts
            .iter()
            .map(|(g, i, c, a)| (*g, *i, c.as_str(), *a))
            .collect();
        assert_eq!(
            shown,
            [
                (7, Some(2), "principal", 20),
                (7, Some(3), "interest", 1),
                (7, Some(3), "principal", 15),
                (7, None, "fee", 100),
                (9, Some(1), "principal", -4),
            ]
        );
    }

    #[test]
    fn a_group_that_comes_back_is_an_error_not_counted_twice() {
        let err = grouped(vec![
            raw(7, Some(1), "principal", 10),
            raw(8, Some(1), "principal", 10),
            raw(7, Some(1), "principal", 10),
        ])
        .unwrap_err();
        assert!(matches!(err, StoreError::Invariant(_)), "{err}");
        let err = grouped(vec![
            raw(7, Some(1), "principal", i64::MAX),
            raw(7, Some(1), "principal", 1),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("overflow"), "{err}");
    }
}
