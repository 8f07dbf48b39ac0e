//! What the outbound status and letters files read: events and letters not yet reported,
//! streamed a row at a time.

use super::{Balance, StoreError, Tx};
use crate::domain::Component;

/// One row of a status file (SPEC §7), amounts in minor units, open amounts as they were just
/// after the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRow {
    pub event_id: i64,
    pub event_date: String,
    pub creditor_id: String,
    pub case_no: String,
    pub invoice_no: Option<String>,
    pub event: String,
    pub state: String,
    pub amount_minor: Option<i64>,
    pub principal_open: i64,
    pub interest_open: i64,
    pub fees_open: i64,
    pub total_open: i64,
    pub deadline: Option<String>,
    pub reason: String,
}

/// One row of a letters file (SPEC §7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterRow {
    pub letter_id: i64,
    pub case_no: String,
    pub creditor_id: String,
    pub step: String,
    pub debtor_name: String,
    pub address: String,
    pub postcode: String,
    pub city: String,
    pub country: String,
    pub reference: String,
    pub account: String,
    pub currency: String,
    pub principal_minor: i64,
    pub interest_minor: i64,
    pub interest_rate: String,
    pub interest_from: Option<String>,
    pub fees_minor: i64,
    pub collection_costs_minor: i64,
    pub total_minor: i64,
    pub deadline: String,
}

impl Tx<'_> {
    /// Events after `after_id` of cases of `creditors`, in event order, handed to `each` one
    /// at a time (a status file may have a million rows; none is kept).
    pub fn for_each_status_row(
        &self,
        creditors: &[String],
        after_id: i64,
        mut each: impl FnMut(&StatusRow) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        // One query for all the sender's creditors, in event order (the primary key), so the
        // rows need no sorting; the statement is cached per number of creditors.
        let list = (0..creditors.len())
            .map(|i| format!("?{}", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT e.id, e.event_date, c.creditor_id, c.case_no, i.invoice_no, e.kind, e.state,
                    e.amount_minor, c.id,
                    (SELECT l.deadline FROM letters l WHERE l.event_id = e.id),
                    e.detail
             FROM case_events e
             JOIN cases c ON c.id = e.case_id
             LEFT JOIN invoices i ON i.id = e.invoice_id
             WHERE e.id > ?1 AND c.creditor_id IN ({list})
             ORDER BY e.id"
        ))?;
        let mut params: Vec<&dyn rusqlite::ToSql> = vec![&after_id];
        params.extend(creditors.iter().map(|c| c as &dyn rusqlite::ToSql));
        // What was open on the case once the event's postings were made: one pass over the
        // case's postings in `postings_case` order (three correlated sums in the query above
        // cost three index searches per event — a fifth of a daily run of a million notices).
        let mut open_after = self.tx.prepare_cached(
            "SELECT component, SUM(amount_minor) FROM postings
             WHERE case_id = ?1 AND event_id <= ?2 GROUP BY component",
        )?;
        let mut rows = stmt.query(params.as_slice())?;
        while let Some(r) = rows.next()? {
            let event_id: i64 = r.get(0)?;
            let case_id: i64 = r.get(8)?;
            let mut open = Balance::default();
            let mut sums = open_after.query((case_id, event_id))?;
            while let Some(sum) = sums.next()? {
                let component: Component =
                    super::enum_column(sum.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?)?;
                *open.component_mut(component) += sum.get::<_, i64>(1)?;
            }
            // The status file shows fees and collection costs as one column.
            let (principal, interest) = (open.principal, open.interest);
            let fees = open.fees + open.collection_costs;
            each(&StatusRow {
                event_id,
                event_date: r.get(1)?,
                creditor_id: r.get(2)?,
                case_no: r.get(3)?,
                invoice_no: r.get(4)?,
                event: r.get(5)?,
                state: r.get(6)?,
                amount_minor: r.get(7)?,
                principal_open: principal,
                interest_open: interest,
                fees_open: fees,
                total_open: principal + interest + fees,
                deadline: r.get(9)?,
                reason: r.get(10)?,
            })?;
        }
        Ok(())
    }

    /// Letters after `after_id`, in order, handed to `each` one at a time.
    pub fn for_each_letter_row(
        &self,
        after_id: i64,
        mut each: impl FnMut(&LetterRow) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT l.id, c.case_no, c.creditor_id, l.step, l.debtor_name, l.address, l.postcode,
                    l.city, l.country, l.reference, l.account, l.currency, l.principal_minor,
                    l.interest_minor, l.interest_rate, l.interest_from, l.fees_minor,
                    l.collection_costs_minor, l.total_minor, l.deadline
             FROM letters l JOIN cases c ON c.id = l.case_id
             WHERE l.id > ?1 ORDER BY l.id",
        )?;
        let mut rows = stmt.query([after_id])?;
        while let Some(r) = rows.next()? {
            each(&LetterRow {
                letter_id: r.get(0)?,
                case_no: r.get(1)?,
                creditor_id: r.get(2)?,
                step: r.get(3)?,
                debtor_name: r.get(4)?,
                address: r.get(5)?,
                postcode: r.get(6)?,
                city: r.get(7)?,
                country: r.get(8)?,
                reference: r.get(9)?,
                account: r.get(10)?,
                currency: r.get(11)?,
                principal_minor: r.get(12)?,
                interest_minor: r.get(13)?,
                interest_rate: r.get(14)?,
                interest_from: r.get(15)?,
                fees_minor: r.get(16)?,
                collection_costs_minor: r.get(17)?,
                total_minor: r.get(18)?,
                deadline: r.get(19)?,
            })?;
        }
        Ok(())
    }
}
