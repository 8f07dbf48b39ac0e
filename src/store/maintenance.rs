//! Keeping the database safe: online backups and the checks `kravflyt verify` runs.

use std::path::Path;
use std::time::Duration;

use chrono::NaiveDate;
use rusqlite::{Connection, OpenFlags};

use super::{Store, StoreError, Tx, date_column};

/// What a backup copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    pub pages: i64,
    pub bytes: u64,
}

impl Store {
    /// Copies the database to `dest` with SQLite's online backup (a consistent snapshot, while
    /// other connections keep reading and writing), checks the copy's integrity, and makes it
    /// appear under `dest` only when complete.
    pub fn backup_to(&self, dest: &Path) -> Result<BackupSummary, StoreError> {
        let Some(conn) = self.sqlite() else {
            return Err(StoreError::Invariant(format!(
                "`kravflyt backup` copies the embedded SQLite database; this workspace's ledger is in PostgreSQL ({}), which its operators back up with pg_dump or their own base backups",
                self.path
            )));
        };
        let shown = dest.display().to_string();
        let temp = dest.with_file_name(format!(
            ".{}.kravflyt-tmp",
            dest.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
        let _ = std::fs::remove_file(&temp);
        let open_error = |source| StoreError::Open {
            path: shown.clone(),
            source,
        };
        {
            let mut copy = Connection::open_with_flags(
                &temp,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
            )
            .map_err(open_error)?;
            {
                let backup = rusqlite::backup::Backup::new(conn, &mut copy)?;
                // Steps of 1024 pages let the daemon's writers in between; a change made
                // meanwhile restarts the copy, so what lands is one consistent snapshot.
                backup.run_to_completion(1024, Duration::from_millis(10), None)?;
            }
            let check: String = copy.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
            if check != "ok" {
                let _ = std::fs::remove_file(&temp);
                return Err(StoreError::Damaged {
                    path: shown,
                    detail: format!("the copy fails its integrity check: {check}"),
                });
            }
            // A single file, readable without its -wal.
            copy.pragma_update(None, "journal_mode", "DELETE")?;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(0o600));
        }
        let io_error = |source| StoreError::Io {
            path: shown.clone(),
            source,
        };
        std::fs::File::open(&temp)
            .and_then(|f| f.sync_all())
            .map_err(io_error)?;
        std::fs::rename(&temp, dest).map_err(io_error)?;
        let bytes = std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0);
        let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
        Ok(BackupSummary { pages, bytes })
    }

    /// Rows whose references point nowhere, as text: SQLite's `PRAGMA foreign_key_check`; on
    /// PostgreSQL, where the schema leaves references unchecked per row (`store::dialect`),
    /// one query per reference the schema declares — the same list SQLite enforces, read from
    /// a fresh embedded schema.
    pub fn foreign_key_problems(&mut self) -> Result<Vec<String>, StoreError> {
        if self.sqlite().is_none() {
            let references = declared_references()?;
            let tx = self.read()?;
            let mut problems = Vec::new();
            for (child, column, parent, key) in references {
                let mut stmt = tx.tx.prepare(&format!(
                    "SELECT c.rowid_key FROM (SELECT {column} AS reference, {child_key} AS rowid_key
                                               FROM {child}) c
                     WHERE c.reference IS NOT NULL
                       AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.{key} = c.reference)
                     LIMIT 100",
                    child_key = key_of(&child),
                ))?;
                let orphans = stmt
                    .query_map(crate::store::db::NO_PARAMS, |r| r.get::<String>(0))?
                    .collect::<crate::store::db::Result<Vec<_>>>()?;
                for orphan in orphans {
                    problems.push(format!(
                        "{child} row {orphan} refers to a missing {parent} row ({column})"
                    ));
                }
            }
            return Ok(problems);
        }
        let Some(conn) = self.sqlite() else {
            return Ok(Vec::new());
        };
        let mut stmt = conn.prepare("PRAGMA foreign_key_check")?;
        let rows = stmt.query_map([], |r| {
            Ok(format!(
                "{} row {} refers to a missing {} row",
                r.get::<_, String>(0)?,
                r.get::<_, Option<i64>>(1)?.unwrap_or_default(),
                r.get::<_, String>(2)?
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Every reference the schema declares: (child table, column, parent table, parent column),
/// read from SQLite's own list of a fresh in-memory database with this build's schema.
fn declared_references() -> Result<Vec<(String, String, String, String)>, StoreError> {
    let schema = Store::open_in_memory()?;
    let conn = schema
        .sqlite()
        .ok_or_else(|| StoreError::Invariant("the in-memory store is SQLite".to_owned()))?;
    let mut references = Vec::new();
    for (table, _) in super::LEDGER_TABLES {
        let mut stmt = conn.prepare(
            "SELECT \"from\", \"table\", COALESCE(\"to\", 'id') FROM pragma_foreign_key_list(?1)",
        )?;
        let rows = stmt.query_map([table], |r| {
            Ok((
                (*table).to_owned(),
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        for row in rows {
            references.push(row?);
        }
    }
    Ok(references)
}

/// What names a row of `table` in a problem: its id, or its key columns.
fn key_of(table: &str) -> String {
    let key = super::LEDGER_TABLES
        .iter()
        .find(|(t, _)| *t == table)
        .map_or("id", |(_, key)| *key);
    // A text of the key's columns, whatever their types.
    key.split(',')
        .map(|column| format!("CAST({} AS TEXT)", column.trim()))
        .collect::<Vec<_>>()
        .join(" || '/' || ")
}

impl Tx<'_> {
    /// Matched payments whose allocation rows do not add up to the payment.
    pub fn unbalanced_allocations(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.tx.prepare(
            "SELECT p.sender, p.payment_id, p.amount_minor, COALESCE(SUM(a.amount_minor), 0)
             FROM payments p LEFT JOIN allocations a ON a.payment_id = p.id
             WHERE p.case_id IS NOT NULL
             GROUP BY p.id
             HAVING COALESCE(SUM(a.amount_minor), 0) <> p.amount_minor",
        )?;
        let rows = stmt.query_map(crate::store::db::NO_PARAMS, |r| {
            Ok(format!(
                "payment {}/{} of {} minor units has allocations summing to {}",
                r.get::<String>(0)?,
                r.get::<String>(1)?,
                r.get::<i64>(2)?,
                r.get::<i64>(3)?
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Cases whose postings of payments disagree with the allocations of those payments.
    pub fn postings_disagreeing_with_allocations(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.tx.prepare(
            "SELECT c.case_no, posted, allocated FROM (
                 SELECT p.case_id,
                        -SUM(p.amount_minor) AS posted
                 FROM postings p JOIN case_events e ON e.id = p.event_id
                 WHERE e.kind IN ('payment', 'payment_reversed')
                 GROUP BY p.case_id) x
             JOIN (SELECT a.case_id, SUM(a.amount_minor) AS allocated
                   FROM allocations a WHERE a.component <> 'overpaid' AND a.case_id IS NOT NULL
                   GROUP BY a.case_id) y ON y.case_id = x.case_id
             JOIN cases c ON c.id = x.case_id
             WHERE posted <> allocated",
        )?;
        let rows = stmt.query_map(crate::store::db::NO_PARAMS, |r| {
            Ok(format!(
                "case {}: payments posted {} but allocated {} minor units",
                r.get::<String>(0)?,
                r.get::<i64>(1)?,
                r.get::<i64>(2)?
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every reconciled business day, oldest first.
    pub fn reconciled_days(&self) -> Result<Vec<NaiveDate>, StoreError> {
        let mut stmt = self.tx.prepare(
            "SELECT day FROM business_days WHERE reconciled_at IS NOT NULL ORDER BY day",
        )?;
        let rows = stmt.query_map(crate::store::db::NO_PARAMS, |r| {
            date_column(&r.get::<String>(0)?)
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
