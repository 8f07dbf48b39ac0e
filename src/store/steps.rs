//! What the time-driven steps read and write: case clocks, letters, step changes.

use chrono::NaiveDate;

use super::{StoreError, Tx, date_column, enum_column};
use crate::domain::{CaseState, DebtorType, HandoverStep};

/// An open case as the daily steps see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepCase {
    pub id: i64,
    pub case_no: String,
    pub state: CaseState,
    pub first_step: HandoverStep,
    pub deadline: Option<NaiveDate>,
    pub collection_since: Option<NaiveDate>,
    pub heavy_fee_charged: bool,
    pub creditor_id: String,
    pub debtor_type: DebtorType,
    pub limitation_warned_on: Option<NaiveDate>,
    /// The oldest due date among invoices with principal open; `None` when nothing is open.
    pub oldest_open_due: Option<NaiveDate>,
    /// The latest payment or legal step: what interrupts limitation.
    pub last_interruption: Option<NaiveDate>,
    /// The latest date the creditor says it sent its own collection notice.
    pub notice_sent: Option<NaiveDate>,
}

/// Which open cases to read.
#[derive(Clone, Copy)]
enum Which {
    One(i64),
    /// Ids after the first, at most the second many.
    After(i64, u32),
}

/// A letter with what it says (SPEC §7's letter columns, amounts in minor units).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLetter<'a> {
    pub case_id: i64,
    pub step: HandoverStep,
    pub letter_date: NaiveDate,
    pub account: &'a str,
    pub principal_minor: i64,
    pub interest_minor: i64,
    pub interest_rate: &'a str,
    pub interest_from: Option<NaiveDate>,
    pub fees_minor: i64,
    pub fee_charged_minor: i64,
    pub collection_costs_minor: i64,
    pub total_minor: i64,
    pub deadline: NaiveDate,
    pub event_id: i64,
}

fn optional_date(text: Option<String>) -> rusqlite::Result<Option<NaiveDate>> {
    text.map(|s| date_column(&s)).transpose()
}

impl Tx<'_> {
    /// Up to `limit` cases not closed with ids after `after_id`, in case order: the daily
    /// steps read the open cases a page at a time, so a million of them are never held at
    /// once. (Taking a step changes only its own case, so reading the next page after the
    /// steps of the last one sees what reading them all first would have seen.)
    pub fn step_cases_after(&self, after_id: i64, limit: u32) -> Result<Vec<StepCase>, StoreError> {
        self.query_step_cases(Which::After(after_id, limit))
    }

    /// One case as the lifecycle sees it; `None` when it is closed (or does not exist).
    pub fn step_case(&self, case_id: i64) -> Result<Option<StepCase>, StoreError> {
        Ok(self
            .query_step_cases(Which::One(case_id))?
            .into_iter()
            .next())
    }

    fn query_step_cases(&self, which: Which) -> Result<Vec<StepCase>, StoreError> {
        const COLUMNS: &str = "SELECT c.id, c.case_no, c.state, c.first_step, c.deadline,
                    c.collection_since, c.heavy_fee_charged, c.creditor_id, d.debtor_type,
                    c.limitation_warned_on,
                    (SELECT MIN(i.due_date) FROM invoices i
                     WHERE i.case_id = c.id AND i.document_type = 'invoice'
                       AND (SELECT COALESCE(SUM(p.amount_minor), 0) FROM postings p
                            WHERE p.invoice_id = i.id AND p.component = 'principal') > 0),
                    (SELECT MAX(e.event_date) FROM case_events e
                     WHERE e.case_id = c.id AND e.kind IN ('payment', 'legal')),
                    (SELECT MAX(i.notice_sent_date) FROM invoices i WHERE i.case_id = c.id)
             FROM cases c JOIN debtors d ON d.id = c.debtor_id
             WHERE c.state <> 'closed'";
        // A statement per use, each by the primary key (one with `(?1 IS NULL OR c.id = ?1)`
        // cannot use it: reading one case scanned every case — each status message paid for
        // the whole table).
        let (mut stmt, params): (_, Vec<Box<dyn rusqlite::ToSql>>) = match which {
            Which::One(id) => (
                self.tx
                    .prepare_cached(&format!("{COLUMNS} AND c.id = ?1"))?,
                vec![Box::new(id)],
            ),
            Which::After(after_id, limit) => (
                self.tx
                    .prepare_cached(&format!("{COLUMNS} AND c.id > ?1 ORDER BY c.id LIMIT ?2"))?,
                vec![Box::new(after_id), Box::new(limit)],
            ),
        };
        let rows = stmt.query_map(rusqlite::params_from_iter(params.iter()), |r| {
            Ok(StepCase {
                id: r.get(0)?,
                case_no: r.get(1)?,
                state: enum_column(&r.get::<_, String>(2)?)?,
                first_step: enum_column(&r.get::<_, String>(3)?)?,
                deadline: optional_date(r.get(4)?)?,
                collection_since: optional_date(r.get(5)?)?,
                heavy_fee_charged: r.get(6)?,
                creditor_id: r.get(7)?,
                debtor_type: enum_column(&r.get::<_, String>(8)?)?,
                limitation_warned_on: optional_date(r.get(9)?)?,
                oldest_open_due: optional_date(r.get(10)?)?,
                last_interruption: optional_date(r.get(11)?)?,
                notice_sent: optional_date(r.get(12)?)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Moves a case to a letter step with its deadline.
    pub fn enter_step(
        &self,
        case_id: i64,
        state: CaseState,
        date: NaiveDate,
        deadline: Option<NaiveDate>,
    ) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "UPDATE cases SET state = ?2, step_date = ?3, deadline = ?4 WHERE id = ?1",
            )?
            .execute(rusqlite::params![
                case_id,
                state.as_str(),
                date.to_string(),
                deadline.map(|d| d.to_string())
            ])?;
        Ok(())
    }

    pub fn enter_collection(&self, case_id: i64, date: NaiveDate) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "UPDATE cases SET state = 'collection', step_date = ?2, deadline = NULL,
                     collection_since = ?2
                 WHERE id = ?1",
            )?
            .execute(rusqlite::params![case_id, date.to_string()])?;
        Ok(())
    }

    pub fn set_heavy_fee_charged(&self, case_id: i64) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("UPDATE cases SET heavy_fee_charged = 1 WHERE id = ?1")?
            .execute([case_id])?;
        Ok(())
    }

    pub fn set_limitation_warned(&self, case_id: i64, date: NaiveDate) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("UPDATE cases SET limitation_warned_on = ?2 WHERE id = ?1")?
            .execute(rusqlite::params![case_id, date.to_string()])?;
        Ok(())
    }

    /// How many letters of a step on this case carried a fee.
    pub fn fee_letters(&self, case_id: i64, step: HandoverStep) -> Result<u32, StoreError> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT COUNT(*) FROM letters
                 WHERE case_id = ?1 AND step = ?2 AND fee_charged_minor > 0",
            )?
            .query_row(rusqlite::params![case_id, step.as_str()], |r| r.get(0))?)
    }

    /// Records a letter, with the debtor's address and the case reference as they are now.
    pub fn insert_letter(&self, l: &NewLetter<'_>) -> Result<i64, StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO letters (case_id, step, letter_date, debtor_name, address, postcode,
                     city, country, reference, account, currency, principal_minor, interest_minor,
                     interest_rate, interest_from, fees_minor, fee_charged_minor,
                     collection_costs_minor, total_minor, deadline, event_id)
                 SELECT c.id, ?2, ?3, d.name, d.address, d.postcode, d.city, d.country,
                        c.reference, ?4, c.currency, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14
                 FROM cases c JOIN debtors d ON d.id = c.debtor_id WHERE c.id = ?1",
            )?
            .execute(rusqlite::params![
                l.case_id,
                l.step.as_str(),
                l.letter_date.to_string(),
                l.account,
                l.principal_minor,
                l.interest_minor,
                l.interest_rate,
                l.interest_from.map(|d| d.to_string()),
                l.fees_minor,
                l.fee_charged_minor,
                l.collection_costs_minor,
                l.total_minor,
                l.deadline.to_string(),
                l.event_id,
            ])?;
        Ok(self.tx.last_insert_rowid())
    }
}

/// A case's holds as the store keeps them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRow {
    pub holds: crate::lifecycle::Holds,
    pub deadline: Option<NaiveDate>,
    pub dispute_reply_deadline: Option<NaiveDate>,
    pub pause_until: Option<NaiveDate>,
}

impl Tx<'_> {
    pub fn holds(&self, case_id: i64) -> Result<HoldRow, StoreError> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT dispute_open, disputed_minor, state_before_hold, paused_since, deadline,
                        dispute_reply_deadline, pause_until
                 FROM cases WHERE id = ?1",
            )?
            .query_row([case_id], |r| {
                Ok(HoldRow {
                    holds: crate::lifecycle::Holds {
                        dispute_open: r.get(0)?,
                        disputed_minor: r.get(1)?,
                        state_before_hold: r
                            .get::<_, Option<String>>(2)?
                            .map(|s| enum_column(&s))
                            .transpose()?,
                        paused_since: optional_date(r.get(3)?)?,
                    },
                    deadline: optional_date(r.get(4)?)?,
                    dispute_reply_deadline: optional_date(r.get(5)?)?,
                    pause_until: optional_date(r.get(6)?)?,
                })
            })?)
    }

    /// Opens a dispute; a full one (`amount_minor` `None`) puts the case in `disputed`.
    pub fn start_dispute(
        &self,
        case_id: i64,
        amount_minor: Option<i64>,
        reply_deadline: NaiveDate,
    ) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "UPDATE cases SET dispute_open = 1, disputed_minor = ?2,
                     dispute_reply_deadline = ?3,
                     state_before_hold = CASE WHEN ?2 IS NULL THEN state ELSE state_before_hold END,
                     state = CASE WHEN ?2 IS NULL THEN 'disputed' ELSE state END
                 WHERE id = ?1",
            )?
            .execute(rusqlite::params![
                case_id,
                amount_minor,
                reply_deadline.to_string()
            ])?;
        Ok(())
    }

    /// Ends a dispute; `state` moves the case on (and clears the state it would return to).
    pub fn end_dispute(
        &self,
        case_id: i64,
        state: Option<CaseState>,
        deadline: Option<NaiveDate>,
    ) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "UPDATE cases SET dispute_open = 0, disputed_minor = NULL,
                     dispute_reply_deadline = NULL,
                     state = COALESCE(?2, state),
                     state_before_hold = CASE WHEN ?2 IS NULL THEN state_before_hold ELSE NULL END,
                     deadline = CASE WHEN ?2 IS NULL THEN deadline ELSE ?3 END
                 WHERE id = ?1",
            )?
            .execute(rusqlite::params![
                case_id,
                state.map(|s| s.as_str()),
                deadline.map(|d| d.to_string())
            ])?;
        Ok(())
    }

    pub fn start_pause(
        &self,
        case_id: i64,
        since: NaiveDate,
        until: Option<NaiveDate>,
    ) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "UPDATE cases SET state_before_hold = state, state = 'paused', paused_since = ?2,
                     pause_until = ?3
                 WHERE id = ?1",
            )?
            .execute(rusqlite::params![
                case_id,
                since.to_string(),
                until.map(|d| d.to_string())
            ])?;
        Ok(())
    }

    /// Ends a pause: back to `state`, the deadline (and collection clock) moved by the paused
    /// days.
    pub fn end_pause(
        &self,
        case_id: i64,
        state: CaseState,
        shift_days: i64,
    ) -> Result<(), StoreError> {
        let shift = format!("{shift_days:+} days");
        self.tx
            .prepare_cached(
                "UPDATE cases SET state = ?2, state_before_hold = NULL, paused_since = NULL,
                     pause_until = NULL,
                     deadline = CASE WHEN deadline IS NULL THEN NULL ELSE date(deadline, ?3) END,
                     collection_since = CASE WHEN collection_since IS NULL THEN NULL
                                             ELSE date(collection_since, ?3) END
                 WHERE id = ?1",
            )?
            .execute(rusqlite::params![case_id, state.as_str(), shift])?;
        Ok(())
    }

    pub fn set_state(&self, case_id: i64, state: CaseState) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("UPDATE cases SET state = ?2, deadline = NULL WHERE id = ?1")?
            .execute(rusqlite::params![case_id, state.as_str()])?;
        Ok(())
    }

    /// Cases waiting for a dispute reply whose deadline has passed, and paused cases whose
    /// pause ends by `today`.
    pub fn holds_due(&self, today: NaiveDate) -> Result<(Vec<i64>, Vec<i64>), StoreError> {
        let ids = |sql: &str| -> Result<Vec<i64>, StoreError> {
            let mut stmt = self.tx.prepare_cached(sql)?;
            let rows = stmt.query_map([today.to_string()], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        };
        Ok((
            ids(
                "SELECT id FROM cases WHERE state <> 'closed' AND dispute_open = 1
                 AND dispute_reply_deadline < ?1 ORDER BY id",
            )?,
            ids(
                "SELECT id FROM cases WHERE state = 'paused' AND pause_until IS NOT NULL
                 AND pause_until <= ?1 ORDER BY id",
            )?,
        ))
    }
}
