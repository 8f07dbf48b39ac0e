//! `kravflyt store copy`: every row of the embedded database into an empty PostgreSQL one
//! (SPEC §10), in one transaction of the target, and a comparison of the two afterwards.
//!
//! Both databases have the same schema (the same migrations ran on both), so rows are copied
//! column for column in id order: a row only ever refers to rows with smaller ids (an inbound
//! file to the one it duplicates, a payment to the one it reverses), so every reference is
//! already there when PostgreSQL checks it.

use sha2::{Digest, Sha256};

use super::bulk::bulk;
use super::db::{self, NO_PARAMS, Value};
use super::{Store, StoreError};

/// Every table of the ledger with the key that orders its rows, parents before children. The
/// `nodes` of a PostgreSQL store are its daemons, not the ledger's: never copied.
pub const LEDGER_TABLES: &[(&str, &str)] = &[
    ("meta", "key"),
    ("creditors", "id"),
    ("inbound_files", "id"),
    ("inbox_sightings", "sender, name"),
    ("inbox_writer_detection", "sender"),
    ("business_days", "day"),
    ("debtors", "id"),
    ("cases", "id"),
    ("invoices", "id"),
    ("case_events", "id"),
    ("postings", "id"),
    ("letters", "id"),
    ("instructions", "id"),
    ("payments", "id"),
    ("allocations", "id"),
    ("outbox", "id"),
    ("outbox_chunks", "outbox_id, seq"),
];

/// Rows read from the source and written to the target at a time.
const ROWS_PER_BATCH: usize = 2048;

/// What was copied, or found, per table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDigest {
    pub table: &'static str,
    pub rows: i64,
    /// SHA-256 over every row's values in key order.
    pub sha256: String,
}

impl Store {
    /// The ledger's tables that hold rows (a fresh PostgreSQL store holds none).
    pub fn nonempty_tables(&mut self) -> Result<Vec<(&'static str, i64)>, StoreError> {
        let tx = self.read()?;
        let mut found = Vec::new();
        for (table, _) in LEDGER_TABLES {
            let rows: i64 =
                tx.tx
                    .query_row(&format!("SELECT COUNT(*) FROM {table}"), NO_PARAMS, |r| {
                        r.get(0)
                    })?;
            if rows > 0 {
                found.push((*table, rows));
            }
        }
        Ok(found)
    }

    /// Copies every ledger row of `self` into `target` in one transaction of the target;
    /// `progress` hears each table as it is done.
    pub fn copy_into(
        &mut self,
        target: &mut Store,
        mut progress: impl FnMut(&str, i64),
    ) -> Result<(), StoreError> {
        let source = self.read()?;
        let into = target.write()?;
        for (table, key) in LEDGER_TABLES {
            let columns = source.column_names(table)?;
            let placeholders = vec!["#"; columns.len()].join(", ");
            let mut stmt = source.tx.prepare(&format!(
                "SELECT {} FROM {table} ORDER BY {key}",
                columns.join(", ")
            ))?;
            let mut rows = stmt.query_streamed(NO_PARAMS)?;
            let mut batch: Vec<Vec<Value<'static>>> = Vec::with_capacity(ROWS_PER_BATCH);
            let mut copied = 0i64;
            let head = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
            let row_sql = format!("({placeholders})");
            let write = |batch: &mut Vec<Vec<Value<'static>>>| -> Result<(), StoreError> {
                bulk(
                    &into.tx,
                    &head,
                    &row_sql,
                    "",
                    &[],
                    batch.drain(..),
                    |stmt, at, values| {
                        for (i, value) in values.into_iter().enumerate() {
                            stmt.raw_bind_parameter(at + i, value)?;
                        }
                        Ok(())
                    },
                )
            };
            while let Some(row) = rows.next()? {
                batch.push(
                    (0..columns.len())
                        .map(|i| row.value(i))
                        .collect::<db::Result<_>>()?,
                );
                copied += 1;
                if batch.len() == ROWS_PER_BATCH {
                    write(&mut batch)?;
                }
            }
            write(&mut batch)?;
            progress(table, copied);
        }
        drop(source);
        into.commit()
    }

    /// Each ledger table's row count and digest, for comparing two stores.
    pub fn digests(&mut self) -> Result<Vec<TableDigest>, StoreError> {
        let tx = self.read()?;
        let mut out = Vec::new();
        for (table, key) in LEDGER_TABLES {
            let columns = tx.column_names(table)?;
            let mut stmt = tx.tx.prepare(&format!(
                "SELECT {} FROM {table} ORDER BY {key}",
                columns.join(", ")
            ))?;
            let mut rows = stmt.query_streamed(NO_PARAMS)?;
            let mut hash = Sha256::new();
            let mut count = 0i64;
            while let Some(row) = rows.next()? {
                count += 1;
                for i in 0..columns.len() {
                    // Each value with its kind and length, so no two rows hash alike by
                    // shifting bytes between columns.
                    match row.value(i)? {
                        Value::Null => hash.update(b"n"),
                        Value::Integer(v) => {
                            hash.update(b"i");
                            hash.update(v.to_le_bytes());
                        }
                        Value::Text(t) => {
                            hash.update(b"t");
                            hash.update((t.len() as u64).to_le_bytes());
                            hash.update(t.as_bytes());
                        }
                        Value::Blob(b) => {
                            hash.update(b"b");
                            hash.update((b.len() as u64).to_le_bytes());
                            hash.update(&b);
                        }
                    }
                }
            }
            out.push(TableDigest {
                table,
                rows: count,
                sha256: format!("{:x}", hash.finalize()),
            });
        }
        Ok(out)
    }
}

impl super::Tx<'_> {
    /// A table's columns in the order the migrations made them (the same on both stores).
    fn column_names(&self, table: &str) -> Result<Vec<String>, StoreError> {
        let sql = if self.tx.is_postgres() {
            "SELECT column_name FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = ?1
             ORDER BY ordinal_position"
        } else {
            "SELECT name FROM pragma_table_info(?1) ORDER BY cid"
        };
        let mut stmt = self.tx.prepare(sql)?;
        let names = stmt
            .query_map([table], |r| r.get::<String>(0))?
            .collect::<db::Result<Vec<_>>>()?;
        if names.is_empty() {
            return Err(StoreError::Invariant(format!(
                "the store has no table {table}"
            )));
        }
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_of_the_schema_is_copied_but_the_nodes() {
        let mut store = Store::open_in_memory().unwrap();
        let tx = store.read().unwrap();
        let mut stmt = tx
            .tx
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
            .unwrap();
        let tables: Vec<String> = stmt
            .query_map(NO_PARAMS, |r| r.get(0))
            .unwrap()
            .collect::<db::Result<_>>()
            .unwrap();
        let mut copied: Vec<&str> = LEDGER_TABLES.iter().map(|(t, _)| *t).collect();
        copied.sort();
        let expected: Vec<&str> = tables
            .iter()
            .map(String::as_str)
            .filter(|t| *t != "nodes")
            .collect();
        assert_eq!(copied, expected);
    }

    #[test]
    fn a_copy_between_embedded_stores_has_the_same_digests() {
        let mut source = Store::open_in_memory().unwrap();
        {
            let tx = source.write().unwrap();
            tx.set_meta("last_steps_date", "2026-10-01").unwrap();
            tx.tx
                .execute(
                    "INSERT INTO creditors (id, name, country, currency) VALUES ('1', 'A', 'NO', 'NOK')",
                    NO_PARAMS,
                )
                .unwrap();
            tx.commit().unwrap();
        }
        let mut target = Store::open_in_memory().unwrap();
        assert!(target.nonempty_tables().unwrap().is_empty());
        let mut heard = Vec::new();
        source
            .copy_into(&mut target, |table, rows| {
                heard.push((table.to_owned(), rows))
            })
            .unwrap();
        assert_eq!(heard.len(), LEDGER_TABLES.len());
        assert_eq!(source.digests().unwrap(), target.digests().unwrap());
        assert_eq!(
            target.nonempty_tables().unwrap(),
            vec![("meta", 1), ("creditors", 1)]
        );
    }
}
