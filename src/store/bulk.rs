//! Multi-row statements: many rows written by one `INSERT … VALUES (…), (…)` (or one `IN (…)`
//! list), the store's bulk writes for the chunked apply and the daily steps (issue 14).

use crate::store::db::{ToParam, Value};

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
    if tx.is_postgres()
        && let Some(plan) = CopyPlan::new(head, row, tail)
    {
        return copy_rows(tx, &plan, shared, rows, first, per_row, bind);
    }
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

/// A plain `INSERT INTO t (columns) VALUES (…)` whose row is made of `#`, `?n`, `NULL` and
/// quoted literals: on PostgreSQL such rows go in by `COPY … FROM STDIN` instead, one round
/// trip per call and less of the server's work per row than a statement of 256 rows to bind,
/// check and execute.
#[derive(Debug, PartialEq)]
struct CopyPlan {
    table: String,
    columns: String,
    items: Vec<RowItem>,
}

/// One value of a row template.
#[derive(Debug, PartialEq)]
enum RowItem {
    /// The row's next bound value.
    Row,
    /// A value every row shares (`?n`).
    Shared(usize),
    Null,
    Literal(String),
}

impl CopyPlan {
    fn new(head: &str, row: &str, tail: &str) -> Option<CopyPlan> {
        if !tail.trim().is_empty() {
            return None;
        }
        let rest = head
            .trim()
            .strip_prefix("INSERT INTO ")?
            .strip_suffix("VALUES")?
            .trim_end();
        let (table, columns) = rest.split_once('(')?;
        let columns = columns.strip_suffix(')')?;
        let table = table.trim();
        if columns.contains(['(', ')'])
            || !table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return None;
        }
        let inner = row.trim().strip_prefix('(')?.strip_suffix(')')?;
        let items = inner
            .split(',')
            .map(|item| {
                let item = item.trim();
                Some(match item {
                    "#" => RowItem::Row,
                    "NULL" => RowItem::Null,
                    _ if item.starts_with('?') => RowItem::Shared(item[1..].parse().ok()?),
                    _ if item.len() >= 2 && item.starts_with('\'') && item.ends_with('\'') => {
                        let text = &item[1..item.len() - 1];
                        if text.contains('\'') {
                            return None;
                        }
                        RowItem::Literal(text.to_owned())
                    }
                    _ => return None,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        if items.len() != columns.split(',').count() {
            return None;
        }
        Some(CopyPlan {
            table: table.to_owned(),
            columns: columns.split_whitespace().collect::<Vec<_>>().join(" "),
            items,
        })
    }
}

/// Appends `value` to a line of `COPY`'s text format.
fn push_copy_value(line: &mut Vec<u8>, value: &Value<'_>) {
    match value {
        Value::Null => line.extend_from_slice(b"\\N"),
        Value::Integer(i) => line.extend_from_slice(i.to_string().as_bytes()),
        Value::Text(text) => {
            for &byte in text.as_bytes() {
                match byte {
                    b'\\' => line.extend_from_slice(b"\\\\"),
                    b'\n' => line.extend_from_slice(b"\\n"),
                    b'\r' => line.extend_from_slice(b"\\r"),
                    b'\t' => line.extend_from_slice(b"\\t"),
                    other => line.push(other),
                }
            }
        }
        Value::Blob(bytes) => {
            // bytea's hex form, its backslash escaped for COPY.
            line.extend_from_slice(b"\\\\x");
            for byte in bytes.iter() {
                line.extend_from_slice(format!("{byte:02x}").as_bytes());
            }
        }
    }
}

/// [`bulk`] by `COPY` (PostgreSQL): the rows' values are bound into a recording statement by
/// the same `bind`, then written in `COPY`'s text format, all in one round trip.
fn copy_rows<T>(
    tx: &crate::store::db::Transaction<'_>,
    plan: &CopyPlan,
    shared: &[&dyn ToParam],
    rows: impl ExactSizeIterator<Item = T>,
    first: usize,
    per_row: usize,
    bind: impl Fn(&mut crate::store::db::Statement<'_>, usize, T) -> crate::store::db::Result<()>,
) -> Result<(), StoreError> {
    if rows.len() == 0 {
        return Ok(());
    }
    let mut data = Vec::with_capacity(rows.len() * 128);
    let mut recorder = crate::store::db::Statement::recording();
    for item in rows {
        recorder.clear_recorded();
        bind(&mut recorder, first, item)?;
        let values = recorder.recorded();
        let mut next = 0;
        for (i, part) in plan.items.iter().enumerate() {
            if i > 0 {
                data.push(b'\t');
            }
            match part {
                RowItem::Row => {
                    let value = values.get(first - 1 + next).cloned().unwrap_or(Value::Null);
                    push_copy_value(&mut data, &value);
                    next += 1;
                }
                RowItem::Shared(n) => {
                    let value = shared
                        .get(n - 1)
                        .map(|v| v.to_param())
                        .unwrap_or(Value::Null);
                    push_copy_value(&mut data, &value);
                }
                RowItem::Null => push_copy_value(&mut data, &Value::Null),
                RowItem::Literal(text) => {
                    push_copy_value(&mut data, &Value::Text(text.as_str().into()))
                }
            }
        }
        debug_assert_eq!(next, per_row);
        data.push(b'\n');
    }
    tx.copy_in(
        &format!("COPY {} ({}) FROM STDIN", plan.table, plan.columns),
        &data,
    )?;
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
    fn plain_inserts_are_copied_and_others_are_not() {
        assert_eq!(
            CopyPlan::new(
                "INSERT INTO cases (id, case_no, state,\n                 opened_on) VALUES ",
                "(#, #, 'registered', ?1)",
                ""
            ),
            Some(CopyPlan {
                table: "cases".to_owned(),
                columns: "id, case_no, state, opened_on".to_owned(),
                items: vec![
                    RowItem::Row,
                    RowItem::Row,
                    RowItem::Literal("registered".to_owned()),
                    RowItem::Shared(1)
                ],
            })
        );
        // A select from a value list, a conflict clause, an expression: statements, not COPY.
        for (head, row, tail) in [
            (
                "INSERT INTO t (a) SELECT v.column1 FROM (VALUES ",
                "(#)",
                ") AS v",
            ),
            (
                "INSERT INTO t (a) VALUES ",
                "(#)",
                " ON CONFLICT DO NOTHING",
            ),
            (
                "INSERT INTO t (a, b) VALUES ",
                "(#, CAST(# AS INTEGER))",
                "",
            ),
            ("UPDATE t SET a = 1 WHERE id IN (", "#", ")"),
        ] {
            assert_eq!(CopyPlan::new(head, row, tail), None, "{head}");
        }
    }

    #[test]
    fn copy_text_escapes_what_it_must() {
        let mut line = Vec::new();
        for value in [
            Value::Text("a\tb\\c\nd".into()),
            Value::Null,
            Value::Integer(-42),
            Value::Blob(vec![0, 255].into()),
        ] {
            push_copy_value(&mut line, &value);
            line.push(b'|');
        }
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "a\\tb\\\\c\\nd|\\N|-42|\\\\x00ff|"
        );
    }

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
