//! What the outbound status and letters files read: events and letters not yet reported,
//! streamed a page at a time.

use std::collections::HashMap;

use super::{StoreError, Tx};
use crate::domain::Balance;
use crate::domain::Component;

/// Status rows handed on per page: their open amounts are read together.
const STATUS_PAGE: usize = 4096;

/// A case's postings as (event, component, amount), in no particular order.
type CasePostings = Vec<(i64, Component, i64)>;

/// Cases whose postings one statement reads.
const CASES_PER_READ: usize = 256;

/// What was open on a case once event `event_id`'s postings were made: the sum of the case's
/// postings of that event and the ones before it, by component.
fn open_after(postings: &[(i64, Component, i64)], event_id: i64) -> Balance {
    let mut open = Balance::default();
    for &(event, component, amount) in postings {
        if event <= event_id {
            *open.component_mut(component) += amount;
        }
    }
    open
}

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
    /// at a time (a status file may have a million rows; a page of them is kept).
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
        let mut params: Vec<&dyn crate::store::db::ToParam> = vec![&after_id];
        params.extend(
            creditors
                .iter()
                .map(|c| c as &dyn crate::store::db::ToParam),
        );
        let mut rows = stmt.query_streamed(params.as_slice())?;
        // Rows are handed on a page at a time: the open amounts of a page's events come from
        // one read of its cases' postings (`open_after`), not from a statement per event
        // (issue 14, BENCHMARKS.md).
        let mut page: Vec<(i64, StatusRow)> = Vec::with_capacity(STATUS_PAGE);
        while let Some(row) = rows.next()? {
            let r = &row;
            page.push((
                r.get(8)?,
                StatusRow {
                    event_id: r.get(0)?,
                    event_date: r.get(1)?,
                    creditor_id: r.get(2)?,
                    case_no: r.get(3)?,
                    invoice_no: r.get(4)?,
                    event: r.get(5)?,
                    state: r.get(6)?,
                    amount_minor: r.get(7)?,
                    principal_open: 0,
                    interest_open: 0,
                    fees_open: 0,
                    total_open: 0,
                    deadline: r.get(9)?,
                    reason: r.get(10)?,
                },
            ));
            if page.len() == STATUS_PAGE {
                self.status_page(&mut page, &mut each)?;
            }
        }
        self.status_page(&mut page, &mut each)
    }

    /// Fills in the open amounts of a page of status rows (in event order, with their case
    /// ids), hands them to `each` and empties the page.
    fn status_page(
        &self,
        page: &mut Vec<(i64, StatusRow)>,
        each: &mut impl FnMut(&StatusRow) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut cases: Vec<i64> = page.iter().map(|(case_id, _)| *case_id).collect();
        cases.sort_unstable();
        cases.dedup();
        let postings = self.case_postings(&cases)?;
        for (case_id, row) in page.iter_mut() {
            let open = open_after(
                postings.get(case_id).map_or(&[][..], Vec::as_slice),
                row.event_id,
            );
            // The status file shows fees and collection costs as one column.
            row.principal_open = open.principal;
            row.interest_open = open.interest;
            row.fees_open = open.fees + open.collection_costs;
            row.total_open = row.principal_open + row.interest_open + row.fees_open;
            each(row)?;
        }
        page.clear();
        Ok(())
    }

    /// Every posting of `cases` (sorted, distinct) as (event, component, amount), by case: one
    /// statement per [`CASES_PER_READ`] cases, the last list padded with its last id (`IN`
    /// ignores repeats), so one cached statement serves every read.
    fn case_postings(&self, cases: &[i64]) -> Result<HashMap<i64, CasePostings>, StoreError> {
        let list = (1..=CASES_PER_READ)
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT case_id, event_id, component, amount_minor FROM postings
             WHERE case_id IN ({list})"
        ))?;
        let mut postings: HashMap<i64, CasePostings> = HashMap::new();
        for chunk in cases.chunks(CASES_PER_READ) {
            let last = chunk[chunk.len() - 1];
            let ids: Vec<i64> = (0..CASES_PER_READ)
                .map(|i| chunk.get(i).copied().unwrap_or(last))
                .collect();
            let mut rows = stmt.query(&ids)?;
            while let Some(row) = rows.next()? {
                let r = &row;
                let component: Component = super::enum_column(r.get_str(2)?)?;
                postings
                    .entry(r.get(0)?)
                    .or_default()
                    .push((r.get(1)?, component, r.get(3)?));
            }
        }
        Ok(postings)
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
        let mut rows = stmt.query_streamed([after_id])?;
        while let Some(row) = rows.next()? {
            let r = &row;
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
