//! Instructions received, so the same instruction id is applied once.

use crate::store::db::OptionalExtension;

use super::{StoreError, Tx};

impl Tx<'_> {
    /// The fingerprint of an instruction already received from this sender.
    pub fn instruction_fingerprint(
        &self,
        sender: &str,
        instruction_id: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT fingerprint FROM instructions WHERE sender = ?1 AND instruction_id = ?2",
            )?
            .query_row((sender, instruction_id), |r| r.get(0))
            .optional()?)
    }

    pub fn insert_instruction(
        &self,
        sender: &str,
        instruction_id: &str,
        action: &str,
        case_id: Option<i64>,
        fingerprint: &str,
        file_id: i64,
    ) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO instructions (id, sender, instruction_id, action, case_id, fingerprint,
                     file_id)
                 VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM instructions),
                     ?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(crate::store::db::params![sender, instruction_id, action, case_id, fingerprint, file_id])?;
        Ok(())
    }
}
