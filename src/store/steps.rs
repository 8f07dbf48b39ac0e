//! What the time-driven steps read and write: a page of open cases with what the day's
//! decisions need, the day's changes in bulk, and the holds.

use chrono::NaiveDate;

use super::bulk::{bulk, next_id};
use super::{StoreError, Tx, date_column, enum_column};
use crate::domain::Balance;
use crate::domain::{CaseState, Component, DocumentType, HandoverStep};
use crate::ledger::daily::{DayCase, DayChanges, FeeLetters, OpenInvoice};

fn optional_date(text: Option<String>) -> crate::store::db::Result<Option<NaiveDate>> {
    text.map(|s| date_column(&s)).transpose()
}

impl Tx<'_> {
    /// Up to `limit` cases not closed with ids after `after_id`, in case order, with what the
    /// day's decisions need (`daily::DayCase`). The daily steps read the open cases a page at
    /// a time, so a million of them are never held at once; taking a step changes only its own
    /// case, so reading the next page after the last one's changes were written sees what
    /// reading them all first would have seen.
    ///
    /// A few statements per page, each a range over the page's case ids in an index on
    /// `case_id` (closed cases in the range are read and skipped): the cases with their debtor
    /// type, their invoices, their postings (each case's balance per component and each
    /// invoice's open principal are summed here), their fee-bearing letters and — only when
    /// `needs_interruptions` holds for a case of the page — their payment and legal events. No
    /// statement per case, no SQL sort or grouping.
    pub fn day_cases_after(
        &self,
        after_id: i64,
        limit: u32,
        needs_interruptions: impl Fn(&DayCase) -> bool,
    ) -> Result<Vec<DayCase>, StoreError> {
        let mut cases = self.page_cases(after_id, limit)?;
        let Some(last_id) = cases.last().map(|c| c.id) else {
            return Ok(cases);
        };
        let range = (after_id, last_id);
        self.add_invoices(&mut cases, range)?;
        self.add_postings(&mut cases, range)?;
        self.add_fee_letters(&mut cases, range)?;
        if cases.iter().any(needs_interruptions) {
            self.add_interruptions(&mut cases, range)?;
        }
        Ok(cases)
    }

    fn page_cases(&self, after_id: i64, limit: u32) -> Result<Vec<DayCase>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT c.id, c.case_no, c.state, c.first_step, c.deadline, c.step_date,
                    c.collection_since, c.heavy_fee_charged, c.creditor_id, d.debtor_type,
                    c.currency, c.limitation_warned_on
             FROM cases c JOIN debtors d ON d.id = c.debtor_id
             WHERE c.state <> 'closed' AND c.id > ?1 ORDER BY c.id LIMIT ?2",
        )?;
        let rows = stmt.query_map(crate::store::db::params![after_id, limit], |r| {
            Ok(DayCase {
                id: r.get(0)?,
                case_no: r.get(1)?,
                state: enum_column(text(r, 2)?)?,
                first_step: enum_column(text(r, 3)?)?,
                deadline: optional_date_ref(r, 4)?,
                step_date: optional_date_ref(r, 5)?,
                collection_since: optional_date_ref(r, 6)?,
                heavy_fee_charged: r.get(7)?,
                creditor_id: r.get(8)?,
                debtor_type: enum_column(text(r, 9)?)?,
                currency: r.get(10)?,
                limitation_warned_on: optional_date_ref(r, 11)?,
                last_interruption: None,
                notice_sent: None,
                open_invoices: Vec::new(),
                balance: Balance::default(),
                fee_letters: FeeLetters::default(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The creditor's notice date from any invoice, and the claims (not credit notes) as
    /// candidates for interest; their open principal comes from the postings.
    fn add_invoices(
        &self,
        cases: &mut [DayCase],
        (after, last): (i64, i64),
    ) -> Result<(), StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT case_id, id, invoice_no, document_type, due_date, interest_through,
                    notice_sent_date
             FROM invoices WHERE case_id > ?1 AND case_id <= ?2",
        )?;
        let mut rows = stmt.query(crate::store::db::params![after, last])?;
        while let Some(row) = rows.next()? {
            let r = &row;
            let Some(case) = case_at(cases, r.get(0)?) else {
                continue;
            };
            let notice_sent = optional_date_ref(r, 6)?;
            if notice_sent > case.notice_sent {
                case.notice_sent = notice_sent;
            }
            if text(r, 3)? != DocumentType::Invoice.as_str() {
                continue;
            }
            case.open_invoices.push(OpenInvoice {
                id: r.get(1)?,
                invoice_no: r.get(2)?,
                due_date: date_column(text(r, 4)?)?,
                interest_through: optional_date_ref(r, 5)?,
                principal_open_minor: 0,
            });
        }
        Ok(())
    }

    /// Each case's balance per component and each invoice's open principal, summed from the
    /// postings; then only the invoices with principal open are kept, oldest due first. (A
    /// posting naming an invoice is always on that invoice's case.)
    fn add_postings(
        &self,
        cases: &mut [DayCase],
        (after, last): (i64, i64),
    ) -> Result<(), StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT case_id, invoice_id, component, amount_minor
             FROM postings WHERE case_id > ?1 AND case_id <= ?2",
        )?;
        let mut rows = stmt.query(crate::store::db::params![after, last])?;
        while let Some(row) = rows.next()? {
            let r = &row;
            let Some(case) = case_at(cases, r.get(0)?) else {
                continue;
            };
            let component: Component = enum_column(text(r, 2)?)?;
            let amount: i64 = r.get(3)?;
            *case.balance.component_mut(component) += amount;
            if component == Component::Principal
                && let Some(invoice_id) = r.get::<Option<i64>>(1)?
                && let Some(invoice) = case.open_invoices.iter_mut().find(|i| i.id == invoice_id)
            {
                invoice.principal_open_minor += amount;
            }
        }
        for case in cases {
            case.open_invoices.retain(|i| i.principal_open_minor > 0);
            // Sorted here, not by `ORDER BY` (a sorter per page): a case has a few invoices.
            case.open_invoices.sort_by_key(|i| (i.due_date, i.id));
        }
        Ok(())
    }

    /// Letters that carried a fee, counted per step.
    fn add_fee_letters(
        &self,
        cases: &mut [DayCase],
        (after, last): (i64, i64),
    ) -> Result<(), StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT case_id, step FROM letters
             WHERE case_id > ?1 AND case_id <= ?2 AND fee_charged_minor > 0",
        )?;
        let mut rows = stmt.query(crate::store::db::params![after, last])?;
        while let Some(row) = rows.next()? {
            let r = &row;
            if let Some(case) = case_at(cases, r.get(0)?) {
                let step: HandoverStep = enum_column(text(r, 1)?)?;
                case.fee_letters.count(step);
            }
        }
        Ok(())
    }

    /// Payments and legal steps: what interrupts limitation.
    fn add_interruptions(
        &self,
        cases: &mut [DayCase],
        (after, last): (i64, i64),
    ) -> Result<(), StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT case_id, event_date FROM case_events
             WHERE case_id > ?1 AND case_id <= ?2 AND kind IN ('payment', 'legal')",
        )?;
        let mut rows = stmt.query(crate::store::db::params![after, last])?;
        while let Some(row) = rows.next()? {
            let r = &row;
            if let Some(case) = case_at(cases, r.get(0)?) {
                let date = Some(date_column(text(r, 1)?)?);
                if date > case.last_interruption {
                    case.last_interruption = date;
                }
            }
        }
        Ok(())
    }

    /// Writes a page of the day's changes in bulk, in the order they are listed: events with
    /// ids counted on from the largest there is (what SQLite would give them one at a time, so
    /// the ids are the same as ever), then the postings and letters naming them, the cases'
    /// clocks (one statement per case) and how far interest is posted. Nothing written is read
    /// back.
    pub fn write_day_changes(&self, changes: &DayChanges<'_>) -> Result<(), StoreError> {
        if changes.events.is_empty()
            && changes.cases.is_empty()
            && changes.interest_through.is_empty()
        {
            return Ok(());
        }
        let date = IsoDate::new(changes.date);
        // Ids are taken, not returned: a multi-row INSERT … RETURNING gives no promise about
        // the order of its rows, and the write lock is held, so nobody else takes one.
        let first_event = self.next_id("SELECT COALESCE(MAX(id), 0) + 1 FROM case_events")?;
        self.insert_day_events(changes, &date, first_event)?;
        self.insert_day_postings(changes, &date, first_event)?;
        self.insert_day_letters(changes, &date, first_event)?;
        self.update_day_cases(changes)?;
        self.update_interest_through(changes, &date)?;
        Ok(())
    }

    fn next_id(&self, sql: &str) -> Result<i64, StoreError> {
        Ok(self
            .tx
            .prepare_cached(sql)?
            .query_row(crate::store::db::NO_PARAMS, |r| r.get(0))?)
    }

    fn insert_day_events(
        &self,
        changes: &DayChanges<'_>,
        date: &IsoDate,
        first_event: i64,
    ) -> Result<(), StoreError> {
        bulk(
            &self.tx,
            "INSERT INTO case_events (id, case_id, event_date, kind, invoice_id, amount_minor,
                 state, detail, file_id) VALUES ",
            "(#, #, ?1, #, NULL, #, #, #, NULL)",
            "",
            &[date],
            changes.events.iter().enumerate(),
            |stmt, at, (index, e)| {
                stmt.raw_bind_parameter(at, first_event + index as i64)?;
                stmt.raw_bind_parameter(at + 1, e.case_id)?;
                stmt.raw_bind_parameter(at + 2, e.kind.as_str())?;
                stmt.raw_bind_parameter(at + 3, e.amount_minor)?;
                stmt.raw_bind_parameter(at + 4, e.state.as_str())?;
                stmt.raw_bind_parameter(at + 5, e.detail.as_str())?;
                Ok(())
            },
        )
    }

    fn insert_day_postings(
        &self,
        changes: &DayChanges<'_>,
        date: &IsoDate,
        first_event: i64,
    ) -> Result<(), StoreError> {
        let first_id = next_id(&self.tx, "postings")?;
        bulk(
            &self.tx,
            "INSERT INTO postings (id, case_id, invoice_id, posting_date, component,
                 amount_minor, event_id) VALUES ",
            "(#, #, #, ?1, #, #, #)",
            "",
            &[date],
            changes.postings.iter().enumerate(),
            |stmt, at, (i, p)| {
                stmt.raw_bind_parameter(at, first_id + i as i64)?;
                let at = at + 1;
                stmt.raw_bind_parameter(at, p.case_id)?;
                stmt.raw_bind_parameter(at + 1, p.invoice_id)?;
                stmt.raw_bind_parameter(at + 2, p.component.as_str())?;
                stmt.raw_bind_parameter(at + 3, p.amount_minor)?;
                stmt.raw_bind_parameter(at + 4, first_event + p.event as i64)?;
                Ok(())
            },
        )
    }

    /// The debtor's address and the case reference as they are now come from the store (they
    /// are not the day's decision), joined to the letters' values. The letters get their ids
    /// explicitly, so the order the join yields them in does not matter.
    fn insert_day_letters(
        &self,
        changes: &DayChanges<'_>,
        date: &IsoDate,
        first_event: i64,
    ) -> Result<(), StoreError> {
        if changes.letters.is_empty() {
            return Ok(());
        }
        let first_letter = self.next_id("SELECT COALESCE(MAX(id), 0) + 1 FROM letters")?;
        bulk(
            &self.tx,
            "INSERT INTO letters (id, case_id, step, letter_date, debtor_name, address, postcode,
                 city, country, reference, account, currency, principal_minor, interest_minor,
                 interest_rate, interest_from, fees_minor, fee_charged_minor,
                 collection_costs_minor, total_minor, deadline, event_id)
             SELECT v.column1, c.id, v.column3, ?1, d.name, d.address, d.postcode, d.city,
                    d.country, c.reference, v.column4, c.currency, v.column5, v.column6,
                    v.column7, v.column8, v.column9, v.column10, v.column11, v.column12,
                    v.column13, v.column14
             FROM (VALUES ",
            // On PostgreSQL the integers are cast: a value list has no column types of its
            // own, and an untyped parameter there is text. Not on SQLite: there the casts made
            // each statement of 256 letters take 90 ms instead of about 1 at a million cases.
            if self.tx.is_postgres() {
                "(CAST(# AS INTEGER), CAST(# AS INTEGER), #, #, CAST(# AS INTEGER),
                  CAST(# AS INTEGER), #, #, CAST(# AS INTEGER), CAST(# AS INTEGER),
                  CAST(# AS INTEGER), CAST(# AS INTEGER), #, CAST(# AS INTEGER))"
            } else {
                "(#, #, #, #, #, #, #, #, #, #, #, #, #, #)"
            },
            ") AS v JOIN cases c ON c.id = v.column2 JOIN debtors d ON d.id = c.debtor_id",
            &[date],
            changes.letters.iter().enumerate(),
            |stmt, at, (index, l)| {
                stmt.raw_bind_parameter(at, first_letter + index as i64)?;
                stmt.raw_bind_parameter(at + 1, l.case_id)?;
                stmt.raw_bind_parameter(at + 2, l.step.as_str())?;
                stmt.raw_bind_parameter(at + 3, l.account)?;
                stmt.raw_bind_parameter(at + 4, l.principal_minor)?;
                stmt.raw_bind_parameter(at + 5, l.interest_minor)?;
                stmt.raw_bind_parameter(at + 6, l.interest_rate.as_str())?;
                stmt.raw_bind_parameter(at + 7, l.interest_from.map(IsoDate::new))?;
                stmt.raw_bind_parameter(at + 8, l.fees_minor)?;
                stmt.raw_bind_parameter(at + 9, l.fee_charged_minor)?;
                stmt.raw_bind_parameter(at + 10, l.collection_costs_minor)?;
                stmt.raw_bind_parameter(at + 11, l.total_minor)?;
                stmt.raw_bind_parameter(at + 12, IsoDate::new(l.deadline))?;
                stmt.raw_bind_parameter(at + 13, first_event + l.event as i64)?;
                Ok(())
            },
        )
    }

    /// One statement per case that changed, with every clock column the steps set.
    fn update_day_cases(&self, changes: &DayChanges<'_>) -> Result<(), StoreError> {
        if self.tx.is_postgres() {
            // A statement per case is a round trip per case to a server (56 000 of them for
            // 100 000 invoices' first steps, 7 s): there, one statement per 256 cases joins the
            // new values. (In SQLite a statement is a function call; the per-case form is kept.)
            return bulk(
                &self.tx,
                "UPDATE cases SET state = v.column2, step_date = v.column3, deadline = v.column4,
                     collection_since = v.column5, heavy_fee_charged = v.column6,
                     limitation_warned_on = v.column7
                 FROM (VALUES ",
                "(CAST(# AS INTEGER), #, #, #, #, CAST(# AS INTEGER), #)",
                ") AS v WHERE cases.id = v.column1",
                &[],
                changes.cases.iter(),
                |stmt, at, c| {
                    stmt.raw_bind_parameter(at, c.case_id)?;
                    stmt.raw_bind_parameter(at + 1, c.state.as_str())?;
                    stmt.raw_bind_parameter(at + 2, c.step_date.map(IsoDate::new))?;
                    stmt.raw_bind_parameter(at + 3, c.deadline.map(IsoDate::new))?;
                    stmt.raw_bind_parameter(at + 4, c.collection_since.map(IsoDate::new))?;
                    stmt.raw_bind_parameter(at + 5, c.heavy_fee_charged)?;
                    stmt.raw_bind_parameter(at + 6, c.limitation_warned_on.map(IsoDate::new))?;
                    Ok(())
                },
            );
        }
        let mut stmt = self.tx.prepare_cached(
            "UPDATE cases SET state = ?2, step_date = ?3, deadline = ?4, collection_since = ?5,
                 heavy_fee_charged = ?6, limitation_warned_on = ?7
             WHERE id = ?1",
        )?;
        for c in &changes.cases {
            stmt.raw_bind_parameter(1, c.case_id)?;
            stmt.raw_bind_parameter(2, c.state.as_str())?;
            stmt.raw_bind_parameter(3, c.step_date.map(IsoDate::new))?;
            stmt.raw_bind_parameter(4, c.deadline.map(IsoDate::new))?;
            stmt.raw_bind_parameter(5, c.collection_since.map(IsoDate::new))?;
            stmt.raw_bind_parameter(6, c.heavy_fee_charged)?;
            stmt.raw_bind_parameter(7, c.limitation_warned_on.map(IsoDate::new))?;
            stmt.raw_execute()?;
        }
        Ok(())
    }

    /// Every invoice is posted through the same date: one statement per chunk of ids.
    fn update_interest_through(
        &self,
        changes: &DayChanges<'_>,
        date: &IsoDate,
    ) -> Result<(), StoreError> {
        bulk(
            &self.tx,
            "UPDATE invoices SET interest_through = ?1 WHERE id IN (",
            "#",
            ")",
            &[date],
            changes.interest_through.iter(),
            |stmt, at, id| stmt.raw_bind_parameter(at, id),
        )
    }
}

/// A case's holds as the store keeps them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRow {
    pub holds: crate::ledger::lifecycle::Holds,
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
                    holds: crate::ledger::lifecycle::Holds {
                        dispute_open: r.get(0)?,
                        disputed_minor: r.get(1)?,
                        state_before_hold: r
                            .get::<Option<String>>(2)?
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
            .execute(crate::store::db::params![
                case_id,
                state.map(|s| s.as_str()),
                deadline.map(|d| d.to_string())
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
            .execute(crate::store::db::params![case_id, state.as_str(), shift])?;
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

/// A date as the store writes it (`YYYY-MM-DD`), formatted without going through `Display`
/// (a few million dates are bound in a daily run); years outside 0–9999 take chrono's form.
pub(super) struct IsoDate(IsoText);

enum IsoText {
    Short([u8; 10]),
    Other(String),
}

impl IsoDate {
    pub(super) fn new(date: NaiveDate) -> IsoDate {
        use chrono::Datelike;
        let year = date.year();
        if !(0..=9999).contains(&year) {
            return IsoDate(IsoText::Other(date.to_string()));
        }
        let digit = |n: u32| b'0' + (n % 10) as u8;
        let (y, m, d) = (year as u32, date.month(), date.day());
        IsoDate(IsoText::Short([
            digit(y / 1000),
            digit(y / 100),
            digit(y / 10),
            digit(y),
            b'-',
            digit(m / 10),
            digit(m),
            b'-',
            digit(d / 10),
            digit(d),
        ]))
    }

    fn as_str(&self) -> &str {
        match &self.0 {
            // Only ASCII digits and dashes were written.
            IsoText::Short(bytes) => std::str::from_utf8(bytes).unwrap_or_default(),
            IsoText::Other(text) => text,
        }
    }
}

impl crate::store::db::ToParam for IsoDate {
    fn to_param(&self) -> crate::store::db::Value<'_> {
        crate::store::db::Value::Text(std::borrow::Cow::Borrowed(self.as_str()))
    }
}

/// The page's case with this id; `None` for a closed case in the page's range of ids.
fn case_at(cases: &mut [DayCase], id: i64) -> Option<&mut DayCase> {
    cases
        .binary_search_by_key(&id, |c| c.id)
        .ok()
        .map(|at| &mut cases[at])
}

/// A text column, read without copying it.
fn text<'r>(r: &'r crate::store::db::Row<'_>, idx: usize) -> crate::store::db::Result<&'r str> {
    r.get_str(idx)
}

/// A nullable date column, read without copying its text.
fn optional_date_ref(
    r: &crate::store::db::Row<'_>,
    idx: usize,
) -> crate::store::db::Result<Option<NaiveDate>> {
    if r.is_null(idx)? {
        return Ok(None);
    }
    date_column(r.get_str(idx)?).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_as_chrono_writes_them() {
        for (y, m, d) in [
            (2026, 10, 1),
            (1, 1, 1),
            (0, 12, 31),
            (9999, 2, 28),
            (10000, 1, 1),
            (-5, 3, 4),
        ] {
            let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            assert_eq!(IsoDate::new(date).as_str(), date.to_string());
            assert_eq!(date_column(&date.to_string()).unwrap(), date);
        }
        // The shortcut for `YYYY-MM-DD` answers as chrono's parser does, errors included.
        for text in [
            "2026-02-30",
            "2026-1-05",
            "2026-01-5",
            "+12345-01-01",
            "abcd-ef-gh",
            "",
        ] {
            assert_eq!(
                date_column(text).ok(),
                NaiveDate::parse_from_str(text, "%Y-%m-%d").ok(),
                "{text}"
            );
        }
    }
}
