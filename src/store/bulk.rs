//! Multi-row statements: many rows written by one `INSERT … VALUES (…), (…)` (or one `IN (…)`
//! list), the store's bulk writes for the chunked apply and the daily steps (issue 14).

use crate::store::db::ToParam;

use super::StoreError;

/// Rows per multi-row statement, largest first: a list's rows go in statements of 256, the
/// rest in statements of 16 and then one at a time, so there are three cached statements per
/// kind and never one prepared for an odd size. (256 rows of the widest kind, a payment, bind
/// 4 864 values, well under SQLite's 32 766.)
const CHUNK_SIZES: [usize; 3] = [256, 16, 1];

/// `head`, `n` copies of `row` separated by commas, then `tail`; each `#` in `row` becomes the
/// next numbered parameter from `?first` on (the ones before are the values every row shares).
fn multi_row_sql(head: &str, row: &str, tail: &str, first: usize, n: usize) -> String {
    use std::fmt::Write;
    let mut sql = String::with_capacity(head.len() + n * (row.len() * 2 + 2) + tail.len());
    sql.push_str(head);
    let mut next = first;
    for i in 0..n {
        if i > 0 {
            sql.push_str(", ");
        }
        for (j, part) in row.split('#').enumerate() {
            if j > 0 {
                // Writing to a String cannot fail.
                let _ = write!(sql, "?{next}");
                next += 1;
            }
            sql.push_str(part);
        }
    }
    sql.push_str(tail);
    sql
}

/// Writes `rows` with multi-row statements (`head`, the rows from `row`, `tail`; see
/// [`multi_row_sql`]): `shared` are bound once per statement as `?1`, `?2`, …; `bind` binds one
/// row's values from the given parameter number on. Nothing is read back.
pub(super) fn bulk<T>(
    tx: &crate::store::db::Transaction<'_>,
    head: &str,
    row: &str,
    tail: &str,
    shared: &[&dyn ToParam],
    mut rows: impl ExactSizeIterator<Item = T>,
    bind: impl Fn(&mut crate::store::db::Statement<'_>, usize, T) -> crate::store::db::Result<()>,
) -> Result<(), StoreError> {
    let per_row = row.matches('#').count();
    let first = shared.len() + 1;
    for size in CHUNK_SIZES {
        if rows.len() < size {
            continue;
        }
        // Built once per size and call, not per statement: the text of 256 rows is long.
        let sql = multi_row_sql(head, row, tail, first, size);
        // Taken from the cache once per size, not per statement run: the cache hashes the
        // long text on the way out and back, and clears every binding on the way back.
        let mut stmt = tx.prepare_cached(&sql)?;
        for (at, value) in shared.iter().enumerate() {
            stmt.raw_bind_parameter(at + 1, value)?;
        }
        while rows.len() >= size {
            for (i, item) in rows.by_ref().take(size).enumerate() {
                bind(&mut stmt, first + i * per_row, item)?;
            }
            stmt.raw_execute()?;
        }
    }
    Ok(())
}

/// The id the next row of `table` gets: one more than the largest (what SQLite gives a row
/// inserted without one). Every insert names its ids this way, so both stores number rows
/// alike; the write lock makes it safe.
pub(super) fn next_id(
    tx: &crate::store::db::Transaction<'_>,
    table: &str,
) -> Result<i64, StoreError> {
    Ok(tx
        .prepare_cached(&format!("SELECT COALESCE(MAX(id), 0) + 1 FROM {table}"))?
        .query_row(crate::store::db::NO_PARAMS, |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_row_statements_number_their_parameters_after_the_shared_values() {
        assert_eq!(
            multi_row_sql("INSERT INTO t VALUES ", "(#, ?1, #)", "", 2, 2),
            "INSERT INTO t VALUES (?2, ?1, ?3), (?4, ?1, ?5)"
        );
        assert_eq!(
            multi_row_sql("WHERE id IN (", "#", ")", 2, 3),
            "WHERE id IN (?2, ?3, ?4)"
        );
        assert_eq!(
            multi_row_sql("VALUES ", "(#)", "", 1, 2),
            "VALUES (?1), (?2)"
        );
    }
}
