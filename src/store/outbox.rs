//! Outbound rows: committed with the change that caused them, rendered to files afterwards.

use super::{StoreError, Tx};
use rusqlite::OptionalExtension;

/// One outbound file waiting to be written (or already written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    /// A sender id or `_agency`.
    pub folder: String,
    pub file_name: String,
    pub kind: String,
    pub content: Vec<u8>,
}

impl Tx<'_> {
    /// Whether a name was ever used in a folder: names are never reused.
    pub fn outbox_name_taken(&self, folder: &str, file_name: &str) -> Result<bool, StoreError> {
        Ok(self
            .tx
            .prepare_cached("SELECT 1 FROM outbox WHERE folder = ?1 AND file_name = ?2")?
            .query_row((folder, file_name), |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// The content of a file queued before under this name, if any.
    pub fn outbox_content(
        &self,
        folder: &str,
        file_name: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .tx
            .prepare_cached("SELECT content FROM outbox WHERE folder = ?1 AND file_name = ?2")?
            .query_row((folder, file_name), |r| r.get(0))
            .optional()?)
    }

    pub fn insert_outbox(
        &self,
        folder: &str,
        file_name: &str,
        kind: &str,
        content: &[u8],
        file_id: Option<i64>,
        created_at: &str,
    ) -> Result<i64, StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO outbox (folder, file_name, kind, content, file_id, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(rusqlite::params![
                folder, file_name, kind, content, file_id, created_at
            ])?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Rows committed but not yet written, oldest first.
    pub fn pending_outbox(&self) -> Result<Vec<OutboxRow>, StoreError> {
        let mut stmt = self.tx.prepare(
            "SELECT id, folder, file_name, kind, content FROM outbox
             WHERE written_at IS NULL ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(OutboxRow {
                id: r.get(0)?,
                folder: r.get(1)?,
                file_name: r.get(2)?,
                kind: r.get(3)?,
                content: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn mark_written(&self, id: i64, written_at: &str) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("UPDATE outbox SET written_at = ?2 WHERE id = ?1")?
            .execute(rusqlite::params![id, written_at])?;
        Ok(())
    }
}
