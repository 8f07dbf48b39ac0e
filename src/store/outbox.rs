//! Outbound rows: committed with the change that caused them, rendered to files afterwards.
//!
//! A file is its row's `content` followed by its chunks (`outbox_chunks`) in order: receipts
//! are small and kept whole in `content`; status, letters and reconciliation files are
//! streamed into chunks by `crate::outbound::outbox::OutboxWriter`, in the same transaction, so no file
//! is ever held whole (issue 8).

use super::{StoreError, Tx};
use crate::store::db::OptionalExtension;

/// One outbound file waiting to be written (or already written); its bytes are read piece by
/// piece (`outbox_content`, then `outbox_chunk`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    /// A sender id or `_agency`.
    pub folder: String,
    pub file_name: String,
    pub kind: String,
}

impl Tx<'_> {
    /// Whether a name was ever used in a folder: names are never reused.
    pub fn outbox_name_taken(&self, folder: &str, file_name: &str) -> Result<bool, StoreError> {
        Ok(self.outbox_id(folder, file_name)?.is_some())
    }

    /// The row of a file queued before under this name, if any.
    pub fn outbox_id(&self, folder: &str, file_name: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .tx
            .prepare_cached("SELECT id FROM outbox WHERE folder = ?1 AND file_name = ?2")?
            .query_row((folder, file_name), |r| r.get(0))
            .optional()?)
    }

    /// The first piece of a queued file: the row's own content (empty for a chunked file).
    pub fn outbox_content(&self, id: i64) -> Result<Vec<u8>, StoreError> {
        Ok(self
            .tx
            .prepare_cached("SELECT content FROM outbox WHERE id = ?1")?
            .query_row([id], |r| r.get(0))?)
    }

    /// Chunk `seq` of a queued file, if it has that many; one chunk in memory at a time.
    pub fn outbox_chunk(&self, id: i64, seq: i64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .tx
            .prepare_cached("SELECT bytes FROM outbox_chunks WHERE outbox_id = ?1 AND seq = ?2")?
            .query_row((id, seq), |r| r.get(0))
            .optional()?)
    }

    /// Appends chunk `seq` (0, 1, 2, … without gaps) to a file queued with empty content.
    pub fn insert_outbox_chunk(&self, id: i64, seq: i64, bytes: &[u8]) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO outbox_chunks (outbox_id, seq, bytes) VALUES (?1, ?2, ?3)",
            )?
            .execute(crate::store::db::params![id, seq, bytes])?;
        Ok(())
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
        Ok(self
            .tx
            .prepare_cached(
                "INSERT INTO outbox (id, folder, file_name, kind, content, file_id, created_at)
                 VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM outbox), ?1, ?2, ?3, ?4, ?5, ?6)
                 RETURNING id",
            )?
            .query_row(
                crate::store::db::params![folder, file_name, kind, content, file_id, created_at],
                |r| r.get(0),
            )?)
    }

    /// Rows committed but not yet written, oldest first (without their content).
    pub fn pending_outbox(&self) -> Result<Vec<OutboxRow>, StoreError> {
        let mut stmt = self.tx.prepare(
            "SELECT id, folder, file_name, kind FROM outbox
             WHERE written_at IS NULL ORDER BY id",
        )?;
        let rows = stmt.query_map(crate::store::db::NO_PARAMS, |r| {
            Ok(OutboxRow {
                id: r.get(0)?,
                folder: r.get(1)?,
                file_name: r.get(2)?,
                kind: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn mark_written(&self, id: i64, written_at: &str) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("UPDATE outbox SET written_at = ?2 WHERE id = ?1")?
            .execute(crate::store::db::params![id, written_at])?;
        Ok(())
    }
}
