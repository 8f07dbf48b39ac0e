//! What applying a chunk of lifecycle instructions reads and writes: the cases its records
//! name, with their clocks, holds, invoices and ledger sums, and the instruction ids already
//! received, loaded in a few set-based queries; the decided changes written in bulk without
//! reading anything back.
//!
//! Keys are bound as one JSON array per query and joined through `json_each` to the existing
//! indexes (`cases.case_no`, `cases.reference`, `invoices (creditor_id, invoice_no)`,
//! `instructions (sender, instruction_id)`). New events get their ids from `MAX(id) + 1` read
//! with the working set: the write lock is held, so nobody else takes one, and they are the
//! ids a row-at-a-time run gave.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::bulk::{bulk, next_id};
use super::payment_chunk::{json, optional_date};
use super::steps::IsoDate;
use super::{StoreError, Tx, enum_column};
use crate::ledger::instructing::{Instructed, InstructedCase, InstructionKeys, InstructionSet};
use crate::ledger::lifecycle::Holds;

impl Tx<'_> {
    /// The cases the chunk's keys name, the fingerprints of its instruction ids already
    /// received from `sender`, and the next free event id.
    pub fn load_instructions(
        &self,
        sender: &str,
        keys: &InstructionKeys,
    ) -> Result<InstructionSet, StoreError> {
        let applied = self.fingerprints(sender, &keys.instruction_ids)?;
        let by_key = self.case_ids_of_keys(&keys.case_keys)?;
        let case_ids: BTreeSet<i64> = by_key.values().copied().collect();
        let cases = self.instructed_cases(&case_ids)?;
        let next_event_id: i64 = self
            .tx
            .prepare_cached("SELECT COALESCE(MAX(id), 0) + 1 FROM case_events")?
            .query_row(crate::store::db::NO_PARAMS, |r| r.get(0))?;
        Ok(InstructionSet::new(cases, by_key, applied, next_event_id))
    }

    fn fingerprints(
        &self,
        sender: &str,
        instruction_ids: &BTreeSet<String>,
    ) -> Result<HashMap<String, String>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT i.instruction_id, i.fingerprint
             FROM json_each(?2) k JOIN instructions i
               ON i.sender = ?1 AND i.instruction_id = k.value",
        )?;
        let rows = stmt.query_map((sender, json(instruction_ids)?), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Resolves each key as `find_case_id` does: a case number, else an agency reference,
    /// else `creditor/invoice number`. A key missing from the answer names no case.
    fn case_ids_of_keys(
        &self,
        keys: &BTreeSet<String>,
    ) -> Result<HashMap<String, i64>, StoreError> {
        let mut found: HashMap<String, i64> = HashMap::new();
        if keys.is_empty() {
            return Ok(found);
        }
        let mut stmt = self.tx.prepare_cached(
            "SELECT k.value, c.id FROM json_each(?1) k JOIN cases c ON c.case_no = k.value",
        )?;
        let rows = stmt.query_map([json(keys)?], |r| Ok((r.get(0)?, r.get(1)?)))?;
        for row in rows {
            let (key, id): (String, i64) = row?;
            found.entry(key).or_insert(id);
        }
        // Normalized reference -> the keys that normalize to it.
        let mut references: BTreeMap<String, Vec<&String>> = BTreeMap::new();
        for key in keys.iter().filter(|k| !found.contains_key(*k)) {
            references
                .entry(crate::reference::normalize(key))
                .or_default()
                .push(key);
        }
        if !references.is_empty() {
            let wanted: Vec<&String> = references.keys().collect();
            let mut stmt = self.tx.prepare_cached(
                "SELECT k.value, c.id FROM json_each(?1) k JOIN cases c ON c.reference = k.value",
            )?;
            let rows = stmt.query_map([json(&wanted)?], |r| Ok((r.get(0)?, r.get(1)?)))?;
            for row in rows {
                let (reference, id): (String, i64) = row?;
                for key in references.get(&reference).into_iter().flatten() {
                    found.entry((*key).clone()).or_insert(id);
                }
            }
        }
        let invoices: Vec<(&str, &str)> = keys
            .iter()
            .filter(|k| !found.contains_key(*k))
            .filter_map(|k| k.split_once('/'))
            .collect();
        if !invoices.is_empty() {
            let mut stmt = self.tx.prepare_cached(
                "SELECT i.creditor_id, i.invoice_no, i.case_id FROM json_each(?1) k
                 JOIN invoices i ON i.creditor_id = json_extract(k.value, '$[0]')
                                AND i.invoice_no = json_extract(k.value, '$[1]')",
            )?;
            let rows = stmt.query_map([json(&invoices)?], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
            for row in rows {
                let (creditor, invoice_no, id): (String, String, i64) = row?;
                found
                    .entry(format!("{creditor}/{invoice_no}"))
                    .or_insert(id);
            }
        }
        Ok(found)
    }

    /// The cases as settling loads them, with their clocks and holds.
    fn instructed_cases(
        &self,
        case_ids: &BTreeSet<i64>,
    ) -> Result<Vec<InstructedCase>, StoreError> {
        let mut loaded: BTreeMap<i64, _> = self
            .loaded_cases(case_ids)?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        if loaded.is_empty() {
            return Ok(Vec::new());
        }
        let mut stmt = self.tx.prepare_cached(
            "SELECT c.id, c.first_step, c.deadline, c.collection_since, c.heavy_fee_charged,
                    (SELECT MAX(i.notice_sent_date) FROM invoices i WHERE i.case_id = c.id),
                    c.dispute_open, c.disputed_minor, c.state_before_hold, c.paused_since,
                    c.dispute_reply_deadline, c.pause_until, c.closed_on
             FROM json_each(?1) k JOIN cases c ON c.id = CAST(k.value AS INTEGER)",
        )?;
        let mut rows = stmt.query([json(case_ids)?])?;
        let mut cases = Vec::with_capacity(loaded.len());
        while let Some(row) = rows.next()? {
            let r = &row;
            let Some(case) = loaded.remove(&r.get(0)?) else {
                continue;
            };
            cases.push(InstructedCase {
                case,
                first_step: enum_column(&r.get::<String>(1)?)?,
                deadline: optional_date(r.get(2)?)?,
                collection_since: optional_date(r.get(3)?)?,
                heavy_fee_charged: r.get(4)?,
                notice_sent: optional_date(r.get(5)?)?,
                holds: Holds {
                    dispute_open: r.get(6)?,
                    disputed_minor: r.get(7)?,
                    state_before_hold: r
                        .get::<Option<String>>(8)?
                        .map(|s| enum_column(&s))
                        .transpose()?,
                    paused_since: optional_date(r.get(9)?)?,
                },
                dispute_reply_deadline: optional_date(r.get(10)?)?,
                pause_until: optional_date(r.get(11)?)?,
                closed_on: optional_date(r.get(12)?)?,
            });
        }
        Ok(cases)
    }

    /// Writes a chunk's decided instructions: events, postings and instruction rows with
    /// multi-row statements, then one update per changed case with every column an
    /// instruction sets, and how far interest is posted.
    pub fn write_instructions(
        &self,
        instructed: &Instructed,
        sender: &str,
        file_id: i64,
    ) -> Result<(), StoreError> {
        let date = IsoDate::new(instructed.date);
        self.insert_case_events(&date, &instructed.events, Some(file_id))?;
        self.insert_postings(&date, &instructed.postings)?;
        self.update_interest_through_to(&instructed.interest_through)?;
        let mut stmt = self.tx.prepare_cached(
            "UPDATE cases SET state = ?2, deadline = ?3, collection_since = ?4,
                 dispute_open = ?5, disputed_minor = ?6, dispute_reply_deadline = ?7,
                 state_before_hold = ?8, paused_since = ?9, pause_until = ?10,
                 close_reason = ?11, state_before_close = ?12, closed_on = ?13
             WHERE id = ?1",
        )?;
        for c in &instructed.cases {
            stmt.execute(crate::store::db::params![
                c.case_id,
                c.state.as_str(),
                c.deadline.map(IsoDate::new),
                c.collection_since.map(IsoDate::new),
                c.dispute_open,
                c.disputed_minor,
                c.dispute_reply_deadline.map(IsoDate::new),
                c.state_before_hold.map(|s| s.as_str()),
                c.paused_since.map(IsoDate::new),
                c.pause_until.map(IsoDate::new),
                c.close_reason.map(|r| r.as_str()),
                c.state_before_close.map(|s| s.as_str()),
                c.closed_on.map(IsoDate::new),
            ])?;
        }
        // Ids follow the largest there is in the order rows are inserted, as one at a time.
        let first_id = next_id(&self.tx, "instructions")?;
        bulk(
            &self.tx,
            "INSERT INTO instructions (id, sender, instruction_id, action, case_id, fingerprint,
                 file_id) VALUES ",
            "(#, ?1, #, #, #, #, ?2)",
            "",
            &[&sender, &file_id],
            instructed.instructions.iter().enumerate(),
            |stmt, at, (i, (instruction_id, action, case_id, fingerprint))| {
                stmt.raw_bind_parameter(at, first_id + i as i64)?;
                let at = at + 1;
                stmt.raw_bind_parameter(at, instruction_id.as_str())?;
                stmt.raw_bind_parameter(at + 1, action.as_str())?;
                stmt.raw_bind_parameter(at + 2, case_id)?;
                stmt.raw_bind_parameter(at + 3, fingerprint.as_str())?;
                Ok(())
            },
        )
    }
}
