//! The two databases behind one small interface: embedded SQLite (rusqlite) and PostgreSQL (the
//! synchronous `postgres` client). Statements are written once, in the SQLite dialect this store
//! always spoke; [`super::dialect`] rewrites them for PostgreSQL once, when first prepared.
//!
//! The interface mirrors the part of rusqlite the store used (`prepare_cached`, `query_map`,
//! `query_row`, `raw_bind_parameter`, `Row::get`), so the queries read as they did. Values cross
//! it as four kinds (null, integer, text, bytes) — the only ones the schema has: money is whole
//! minor units, dates are `YYYY-MM-DD` text — and each side converts them to what the column is.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use postgres::types::{FromSql, IsNull, ToSql as PgToSql, Type, to_sql_checked};

use super::dialect;

/// What a statement can fail with. `NoRows` is `query_row` finding nothing (see
/// [`OptionalExtension`]).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("the query returned no rows")]
    NoRows,
    #[error(transparent)]
    Sqlite(rusqlite::Error),
    #[error("{}", describe_postgres(.0))]
    Postgres(#[from] postgres::Error),
    #[error("cannot read column {column}: {detail}")]
    Conversion { column: usize, detail: String },
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> DbError {
        match e {
            rusqlite::Error::QueryReturnedNoRows => DbError::NoRows,
            other => DbError::Sqlite(other),
        }
    }
}

/// PostgreSQL's own message with its detail and hint, which `postgres::Error`'s display leaves
/// out ("db error" alone says nothing to an operator).
fn describe_postgres(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut text = format!("{}: {}", db.severity(), db.message());
            if let Some(detail) = db.detail() {
                text.push_str(&format!(" ({detail})"));
            }
            if let Some(hint) = db.hint() {
                text.push_str(&format!("; {hint}"));
            }
            text
        }
        None => e.to_string(),
    }
}

pub type Result<T, E = DbError> = std::result::Result<T, E>;

/// `query_row(…).optional()`: no row is `None`, not an error.
pub trait OptionalExtension<T> {
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(value) => Ok(Some(value)),
            Err(DbError::NoRows) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// One value bound to a statement.
#[derive(Debug, Clone)]
pub enum Value<'a> {
    Null,
    Integer(i64),
    Text(Cow<'a, str>),
    Blob(Cow<'a, [u8]>),
}

/// A Rust value that can be bound to a statement.
pub trait ToParam {
    fn to_param(&self) -> Value<'_>;
}

impl<T: ToParam + ?Sized> ToParam for &T {
    fn to_param(&self) -> Value<'_> {
        (**self).to_param()
    }
}

impl<T: ToParam> ToParam for Option<T> {
    fn to_param(&self) -> Value<'_> {
        match self {
            Some(value) => value.to_param(),
            None => Value::Null,
        }
    }
}

impl ToParam for Value<'_> {
    fn to_param(&self) -> Value<'_> {
        match self {
            Value::Null => Value::Null,
            Value::Integer(i) => Value::Integer(*i),
            Value::Text(t) => Value::Text(Cow::Borrowed(t)),
            Value::Blob(b) => Value::Blob(Cow::Borrowed(b)),
        }
    }
}

macro_rules! integer_param {
    ($($t:ty),*) => {$(
        impl ToParam for $t {
            fn to_param(&self) -> Value<'_> {
                Value::Integer(*self as i64)
            }
        }
    )*};
}
integer_param!(i64, i32, u32, i16, u16, u8);

impl ToParam for usize {
    fn to_param(&self) -> Value<'_> {
        Value::Integer(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl ToParam for u64 {
    fn to_param(&self) -> Value<'_> {
        Value::Integer(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl ToParam for bool {
    fn to_param(&self) -> Value<'_> {
        Value::Integer(i64::from(*self))
    }
}

impl ToParam for str {
    fn to_param(&self) -> Value<'_> {
        Value::Text(Cow::Borrowed(self))
    }
}

impl ToParam for String {
    fn to_param(&self) -> Value<'_> {
        Value::Text(Cow::Borrowed(self.as_str()))
    }
}

impl ToParam for [u8] {
    fn to_param(&self) -> Value<'_> {
        Value::Blob(Cow::Borrowed(self))
    }
}

impl ToParam for Vec<u8> {
    fn to_param(&self) -> Value<'_> {
        Value::Blob(Cow::Borrowed(self.as_slice()))
    }
}

/// The values of a statement, in parameter order (`?1`, `?2`, …).
pub trait Params {
    fn values(&self) -> Vec<Value<'_>>;
}

impl Params for [&dyn ToParam] {
    fn values(&self) -> Vec<Value<'_>> {
        self.iter().map(|p| p.to_param()).collect()
    }
}

impl<T: ToParam> Params for Vec<T> {
    fn values(&self) -> Vec<Value<'_>> {
        self.iter().map(|p| p.to_param()).collect()
    }
}

impl<T: ToParam, const N: usize> Params for [T; N] {
    fn values(&self) -> Vec<Value<'_>> {
        self.iter().map(|p| p.to_param()).collect()
    }
}

impl<P: Params + ?Sized> Params for &P {
    fn values(&self) -> Vec<Value<'_>> {
        (**self).values()
    }
}

macro_rules! tuple_params {
    ($($name:ident $index:tt),+) => {
        impl<$($name: ToParam),+> Params for ($($name,)+) {
            fn values(&self) -> Vec<Value<'_>> {
                vec![$(self.$index.to_param()),+]
            }
        }
    };
}
tuple_params!(A 0);
tuple_params!(A 0, B 1);
tuple_params!(A 0, B 1, C 2);
tuple_params!(A 0, B 1, C 2, D 3);
tuple_params!(A 0, B 1, C 2, D 3, E 4);
tuple_params!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_params!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_params!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_params!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_params!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple_params!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple_params!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);

/// No values (`[]` in rusqlite's spelling).
pub const NO_PARAMS: [&dyn ToParam; 0] = [];

/// `params![a, b, c]`: values of different types as one list.
macro_rules! params {
    () => { $crate::store::db::NO_PARAMS };
    ($($value:expr),+ $(,)?) => { [$(&$value as &dyn $crate::store::db::ToParam),+] };
}
pub(crate) use params;

impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Text(t) => ValueRef::Text(t.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

/// Values reach PostgreSQL as the type the server inferred for each parameter: an integer
/// compared with a `bigint` column is sent as one, a text bound to a `jsonb` cast as text, and
/// so on. The server's inference does the work the SQLite dialect's loose typing did.
impl PgToSql for Value<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Integer(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::NUMERIC => rust_decimal::Decimal::from(*i).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                    i.to_string().as_str().to_sql(&Type::TEXT, out)
                }
                _ => Err(format!("cannot bind an integer to a {ty} parameter").into()),
            },
            Value::Text(t) => match *ty {
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                    t.as_ref().to_sql(&Type::TEXT, out)
                }
                Type::INT8 => t.parse::<i64>()?.to_sql(ty, out),
                Type::INT4 => t.parse::<i32>()?.to_sql(ty, out),
                _ => Err(format!("cannot bind a text to a {ty} parameter").into()),
            },
            Value::Blob(b) => match *ty {
                Type::BYTEA => b.as_ref().to_sql(ty, out),
                _ => Err(format!("cannot bind bytes to a {ty} parameter").into()),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// An integer column as PostgreSQL gives it: `bigint`, `integer`, `smallint`, `boolean` (a
/// comparison selected as a value), or `numeric` (what `SUM` of `bigint` returns).
struct PgInteger(i64);

impl<'a> FromSql<'a> for PgInteger {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(PgInteger(match *ty {
            Type::INT8 => i64::from_sql(ty, raw)?,
            Type::INT4 => i64::from(i32::from_sql(ty, raw)?),
            Type::INT2 => i64::from(i16::from_sql(ty, raw)?),
            Type::BOOL => i64::from(bool::from_sql(ty, raw)?),
            Type::NUMERIC => {
                let d = rust_decimal::Decimal::from_sql(ty, raw)?;
                if !d.fract().is_zero() {
                    return Err(format!("{d} is not a whole number").into());
                }
                i64::try_from(d)?
            }
            _ => return Err(format!("a {ty} column is not an integer").into()),
        }))
    }

    fn accepts(ty: &Type) -> bool {
        matches!(
            *ty,
            Type::INT8 | Type::INT4 | Type::INT2 | Type::BOOL | Type::NUMERIC
        )
    }
}

/// A Rust value read from a column.
pub trait FromColumn: Sized {
    fn from_sqlite(value: rusqlite::types::ValueRef<'_>, column: usize) -> Result<Self>;
    fn from_postgres(row: &postgres::Row, column: usize) -> Result<Self>;
}

fn conversion(column: usize, detail: impl std::fmt::Display) -> DbError {
    DbError::Conversion {
        column,
        detail: detail.to_string(),
    }
}

fn sqlite_integer(value: rusqlite::types::ValueRef<'_>, column: usize) -> Result<i64> {
    match value {
        rusqlite::types::ValueRef::Integer(i) => Ok(i),
        other => Err(conversion(
            column,
            format!("expected an integer, found {:?}", other.data_type()),
        )),
    }
}

fn postgres_integer(row: &postgres::Row, column: usize) -> Result<Option<i64>> {
    row.try_get::<_, Option<PgInteger>>(column)
        .map(|v| v.map(|PgInteger(i)| i))
        .map_err(|e| conversion(column, e))
}

macro_rules! integer_column {
    ($($t:ty),*) => {$(
        impl FromColumn for $t {
            fn from_sqlite(value: rusqlite::types::ValueRef<'_>, column: usize) -> Result<Self> {
                let i = sqlite_integer(value, column)?;
                <$t>::try_from(i).map_err(|e| conversion(column, e))
            }
            fn from_postgres(row: &postgres::Row, column: usize) -> Result<Self> {
                let i = postgres_integer(row, column)?
                    .ok_or_else(|| conversion(column, "unexpected NULL"))?;
                <$t>::try_from(i).map_err(|e| conversion(column, e))
            }
        }
    )*};
}
integer_column!(i64, i32, u32, u64, usize, u16, u8);

impl FromColumn for bool {
    fn from_sqlite(value: rusqlite::types::ValueRef<'_>, column: usize) -> Result<Self> {
        Ok(sqlite_integer(value, column)? != 0)
    }
    fn from_postgres(row: &postgres::Row, column: usize) -> Result<Self> {
        Ok(i64::from_postgres(row, column)? != 0)
    }
}

impl FromColumn for String {
    fn from_sqlite(value: rusqlite::types::ValueRef<'_>, column: usize) -> Result<Self> {
        match value {
            rusqlite::types::ValueRef::Text(t) => std::str::from_utf8(t)
                .map(str::to_owned)
                .map_err(|e| conversion(column, e)),
            other => Err(conversion(
                column,
                format!("expected a text, found {:?}", other.data_type()),
            )),
        }
    }
    fn from_postgres(row: &postgres::Row, column: usize) -> Result<Self> {
        row.try_get::<_, String>(column)
            .map_err(|e| conversion(column, e))
    }
}

impl FromColumn for Vec<u8> {
    fn from_sqlite(value: rusqlite::types::ValueRef<'_>, column: usize) -> Result<Self> {
        match value {
            rusqlite::types::ValueRef::Blob(b) => Ok(b.to_vec()),
            rusqlite::types::ValueRef::Text(t) => Ok(t.to_vec()),
            other => Err(conversion(
                column,
                format!("expected bytes, found {:?}", other.data_type()),
            )),
        }
    }
    fn from_postgres(row: &postgres::Row, column: usize) -> Result<Self> {
        row.try_get::<_, Vec<u8>>(column)
            .map_err(|e| conversion(column, e))
    }
}

impl<T: FromColumn> FromColumn for Option<T> {
    fn from_sqlite(value: rusqlite::types::ValueRef<'_>, column: usize) -> Result<Self> {
        match value {
            rusqlite::types::ValueRef::Null => Ok(None),
            other => T::from_sqlite(other, column).map(Some),
        }
    }
    fn from_postgres(row: &postgres::Row, column: usize) -> Result<Self> {
        // A NULL of any type reads as `None`; asking for raw bytes accepts every type.
        let raw: Option<RawColumn> = row.try_get(column).map_err(|e| conversion(column, e))?;
        match raw {
            None => Ok(None),
            Some(_) => T::from_postgres(row, column).map(Some),
        }
    }
}

/// Any column, only to see whether it is NULL.
struct RawColumn;

impl<'a> FromSql<'a> for RawColumn {
    fn from_sql(
        _: &Type,
        _: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RawColumn)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

/// One row of a result.
pub enum Row<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
    Postgres(&'a postgres::Row),
}

impl Row<'_> {
    pub fn get<T: FromColumn>(&self, column: usize) -> Result<T> {
        match self {
            Row::Sqlite(row) => T::from_sqlite(row.get_ref(column)?, column),
            Row::Postgres(row) => T::from_postgres(row, column),
        }
    }

    /// A text column, borrowed rather than copied (enumerations read millions of times).
    pub fn get_str(&self, column: usize) -> Result<&str> {
        match self {
            Row::Sqlite(row) => row
                .get_ref(column)?
                .as_str()
                .map_err(|e| conversion(column, e)),
            Row::Postgres(row) => row
                .try_get::<_, &str>(column)
                .map_err(|e| conversion(column, e)),
        }
    }

    /// A column as whichever of the four kinds it holds (for copying rows between stores).
    pub fn value(&self, column: usize) -> Result<Value<'static>> {
        match self {
            Row::Sqlite(row) => Ok(match row.get_ref(column)? {
                rusqlite::types::ValueRef::Null => Value::Null,
                rusqlite::types::ValueRef::Integer(i) => Value::Integer(i),
                rusqlite::types::ValueRef::Text(t) => Value::Text(Cow::Owned(
                    std::str::from_utf8(t)
                        .map_err(|e| conversion(column, e))?
                        .to_owned(),
                )),
                rusqlite::types::ValueRef::Blob(b) => Value::Blob(Cow::Owned(b.to_vec())),
                rusqlite::types::ValueRef::Real(r) => {
                    return Err(conversion(
                        column,
                        format!("a real number ({r}) in the ledger"),
                    ));
                }
            }),
            Row::Postgres(row) => {
                if self.is_null(column)? {
                    return Ok(Value::Null);
                }
                let ty = row.columns()[column].type_().clone();
                Ok(match ty {
                    Type::BYTEA => Value::Blob(Cow::Owned(Vec::<u8>::from_postgres(row, column)?)),
                    Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
                        Value::Text(Cow::Owned(String::from_postgres(row, column)?))
                    }
                    _ => Value::Integer(i64::from_postgres(row, column)?),
                })
            }
        }
    }

    /// Whether a column is NULL.
    pub fn is_null(&self, column: usize) -> Result<bool> {
        match self {
            Row::Sqlite(row) => Ok(matches!(
                row.get_ref(column)?,
                rusqlite::types::ValueRef::Null
            )),
            Row::Postgres(row) => Ok(row
                .try_get::<_, Option<RawColumn>>(column)
                .map_err(|e| conversion(column, e))?
                .is_none()),
        }
    }
}

/// A PostgreSQL connection with its prepared statements, kept for the connection's life as
/// rusqlite keeps its cache (each text prepared once).
pub struct PgConnection {
    client: RefCell<postgres::Client>,
    /// Each statement prepared, by its SQLite text, with its PostgreSQL text (a streamed query
    /// declares a cursor over that text).
    prepared: RefCell<HashMap<String, (postgres::Statement, std::sync::Arc<str>)>>,
    /// Cursors declared on this connection, for their names.
    cursors: Cell<u64>,
    /// Rows written since the planner's statistics were last brought up to date, and how many
    /// more make it worth doing again (see [`PgConnection::note_rows_written`]).
    written: Cell<(u64, u64)>,
}

/// Rows a streamed query fetches at a time.
const CURSOR_ROWS: usize = 4096;

/// Rows written before the first `ANALYZE`; each one after doubles it.
const FIRST_ANALYZE_AFTER: u64 = 20_000;

/// The tables a large file or the daily steps fill.
const ANALYZED_TABLES: &str = "cases, debtors, invoices, case_events, postings, payments, allocations, letters, inbound_files";

impl PgConnection {
    pub fn new(client: postgres::Client) -> PgConnection {
        PgConnection {
            client: RefCell::new(client),
            prepared: RefCell::new(HashMap::new()),
            cursors: Cell::new(0),
            written: Cell::new((0, FIRST_ANALYZE_AFTER)),
        }
    }

    /// Runs statements without values (schema changes, `BEGIN`, `COMMIT`).
    pub fn batch(&self, sql: &str) -> Result<()> {
        Ok(self.client.borrow_mut().batch_execute(sql)?)
    }

    fn prepare(&self, sql: &str) -> Result<(postgres::Statement, std::sync::Arc<str>)> {
        if let Some(statement) = self.prepared.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let translated = dialect::postgres(sql);
        let statement = self
            .client
            .borrow_mut()
            .prepare(&translated)
            .inspect_err(|_| {
                tracing::debug!(sql = %translated, "PostgreSQL refused a statement");
            })?;
        let prepared = (statement, std::sync::Arc::from(translated.as_str()));
        self.prepared
            .borrow_mut()
            .insert(sql.to_owned(), prepared.clone());
        Ok(prepared)
    }

    /// Declares a cursor over `sql` (PostgreSQL's text) with `values` written in as literals
    /// (a cursor's query takes no parameters), and returns its name.
    fn declare_cursor(&self, sql: &str, values: &[Value<'_>]) -> Result<String> {
        let n = self.cursors.get() + 1;
        self.cursors.set(n);
        let name = format!("kravflyt_cursor_{n}");
        self.batch(&format!(
            "DECLARE {name} NO SCROLL CURSOR FOR {}",
            dialect::inline_parameters(sql, values)
        ))?;
        Ok(name)
    }

    /// The next rows of a cursor: fewer than asked for when it is at its end.
    fn fetch(&self, cursor: &str) -> Result<Vec<postgres::Row>> {
        Ok(self
            .client
            .borrow_mut()
            .query(&format!("FETCH FORWARD {CURSOR_ROWS} FROM {cursor}"), &[])?)
    }

    fn query(
        &self,
        statement: &postgres::Statement,
        values: &[Value<'_>],
    ) -> Result<Vec<postgres::Row>> {
        let refs: Vec<&(dyn PgToSql + Sync)> =
            values.iter().map(|v| v as &(dyn PgToSql + Sync)).collect();
        Ok(self.client.borrow_mut().query(statement, &refs)?)
    }

    fn execute(&self, statement: &postgres::Statement, values: &[Value<'_>]) -> Result<usize> {
        let refs: Vec<&(dyn PgToSql + Sync)> =
            values.iter().map(|v| v as &(dyn PgToSql + Sync)).collect();
        let rows = self.client.borrow_mut().execute(statement, &refs)?;
        self.note_rows_written(rows)?;
        Ok(rows as usize)
    }

    /// PostgreSQL plans a statement from its statistics of the tables, which autovacuum brings
    /// up to date only a minute or more after a large write. A file of 100 000 invoices fills
    /// tables that were empty when its first chunk was planned: the later chunks' reads (and
    /// the status files after them) were planned for empty tables — sequential scans where an
    /// index answers, 45 ms where 1 ms does. So after every doubling of the rows written on
    /// this connection the statistics are updated, inside the transaction (ANALYZE sees the
    /// transaction's own rows; prepared statements are planned again after it).
    fn note_rows_written(&self, rows: u64) -> Result<()> {
        let (written, threshold) = self.written.get();
        let written = written + rows;
        if written < threshold {
            self.written.set((written, threshold));
            return Ok(());
        }
        self.written.set((0, threshold.saturating_mul(2)));
        self.batch(&format!("ANALYZE {ANALYZED_TABLES}"))
    }

    /// Sends `data` (rows in `COPY`'s text format) to a `COPY … FROM STDIN` statement.
    fn copy_in(&self, sql: &str, data: &[u8]) -> Result<u64> {
        use std::io::Write;
        let rows = {
            let mut client = self.client.borrow_mut();
            let mut writer = client.copy_in(sql)?;
            writer.write_all(data).map_err(|e| conversion(0, e))?;
            writer.finish()?
        };
        self.note_rows_written(rows)?;
        Ok(rows)
    }

    /// Whether the connection is still usable (it breaks when the server goes away).
    pub fn is_closed(&self) -> bool {
        self.client.borrow().is_closed()
    }
}

/// An open transaction on either database.
pub enum Transaction<'c> {
    Sqlite(rusqlite::Transaction<'c>),
    Postgres(PgTransaction<'c>),
}

/// A PostgreSQL transaction: `BEGIN` was sent; `COMMIT` by [`Transaction::commit`], `ROLLBACK`
/// when dropped without one.
pub struct PgTransaction<'c> {
    pub(super) conn: &'c PgConnection,
    open: Cell<bool>,
}

impl<'c> PgTransaction<'c> {
    /// Sends `begin` (a `BEGIN …` and whatever must follow it at once, such as taking the
    /// writers' lock).
    pub fn begin(conn: &'c PgConnection, begin: &str) -> Result<PgTransaction<'c>> {
        conn.batch(begin)?;
        Ok(PgTransaction {
            conn,
            open: Cell::new(true),
        })
    }
}

impl Drop for PgTransaction<'_> {
    fn drop(&mut self) {
        if self.open.get() && !self.conn.is_closed() {
            // Nothing to do with a failure here: a broken connection has rolled back already.
            let _ = self.conn.batch("ROLLBACK");
        }
    }
}

impl<'c> Transaction<'c> {
    pub fn commit(self) -> Result<()> {
        match self {
            Transaction::Sqlite(tx) => Ok(tx.commit()?),
            Transaction::Postgres(tx) => {
                tx.open.set(false);
                tx.conn.batch("COMMIT")
            }
        }
    }

    /// Whether this is a PostgreSQL transaction (for the few statements with no common form).
    pub fn is_postgres(&self) -> bool {
        matches!(self, Transaction::Postgres(_))
    }

    pub fn prepare_cached(&self, sql: &str) -> Result<Statement<'_>> {
        match self {
            Transaction::Sqlite(tx) => Ok(Statement::Sqlite(tx.prepare_cached(sql)?)),
            Transaction::Postgres(tx) => {
                let (statement, text) = tx.conn.prepare(sql)?;
                Ok(Statement::Postgres {
                    conn: tx.conn,
                    statement,
                    text,
                    bound: Vec::new(),
                })
            }
        }
    }

    /// As [`Transaction::prepare_cached`]: every statement is kept once prepared.
    pub fn prepare(&self, sql: &str) -> Result<Statement<'_>> {
        self.prepare_cached(sql)
    }

    pub fn execute<P: Params>(&self, sql: &str, params: P) -> Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    pub fn query_row<P: Params, T>(
        &self,
        sql: &str,
        params: P,
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        self.prepare_cached(sql)?.query_row(params, f)
    }

    /// `COPY … FROM STDIN` with `data` in its text format (PostgreSQL only).
    pub fn copy_in(&self, sql: &str, data: &[u8]) -> Result<u64> {
        match self {
            Transaction::Postgres(tx) => tx.conn.copy_in(sql, data),
            Transaction::Sqlite(_) => Err(conversion(0, "COPY is PostgreSQL's")),
        }
    }

    /// Runs statements without values, such as a migration.
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match self {
            Transaction::Sqlite(tx) => Ok(tx.execute_batch(sql)?),
            Transaction::Postgres(tx) => tx.conn.batch(&dialect::postgres(sql)),
        }
    }
}

/// A prepared statement.
pub enum Statement<'t> {
    Sqlite(rusqlite::CachedStatement<'t>),
    Postgres {
        conn: &'t PgConnection,
        statement: postgres::Statement,
        /// Its PostgreSQL text, for a cursor over it.
        text: std::sync::Arc<str>,
        /// Values bound one by one ([`Statement::raw_bind_parameter`]), by parameter index − 1.
        bound: Vec<Value<'static>>,
    },
    /// No statement: values bound are only kept, for `COPY` (see `store::bulk`).
    Recording(Vec<Value<'static>>),
}

impl Statement<'_> {
    /// A statement that only keeps what is bound to it.
    pub fn recording() -> Statement<'static> {
        Statement::Recording(Vec::new())
    }

    /// What was bound to a recording statement, by parameter index − 1.
    pub fn recorded(&self) -> &[Value<'static>] {
        match self {
            Statement::Recording(values) => values,
            _ => &[],
        }
    }

    pub fn clear_recorded(&mut self) {
        if let Statement::Recording(values) = self {
            values.clear();
        }
    }

    pub fn execute<P: Params>(&mut self, params: P) -> Result<usize> {
        let values = params.values();
        match self {
            Statement::Sqlite(stmt) => Ok(stmt.execute(rusqlite::params_from_iter(values.iter()))?),
            Statement::Postgres {
                conn, statement, ..
            } => conn.execute(statement, &values),
            Statement::Recording(_) => Err(conversion(0, "a recording statement runs nothing")),
        }
    }

    pub fn query_row<P: Params, T>(
        &mut self,
        params: P,
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut rows = self.query(params)?;
        match rows.next()? {
            Some(row) => f(&row),
            None => Err(DbError::NoRows),
        }
    }

    pub fn query<P: Params>(&mut self, params: P) -> Result<Rows<'_>> {
        let values = params.values();
        match self {
            Statement::Sqlite(stmt) => Ok(Rows::Sqlite(
                stmt.query(rusqlite::params_from_iter(values.iter()))?,
            )),
            Statement::Postgres {
                conn, statement, ..
            } => Ok(Rows::Postgres {
                rows: conn.query(statement, &values)?.into_iter(),
                current: None,
            }),
            Statement::Recording(_) => Err(conversion(0, "a recording statement runs nothing")),
        }
    }

    /// As [`Statement::query`], for a result that may be large (a day's events, every case):
    /// on PostgreSQL the rows come through a cursor a few thousand at a time, where `query`
    /// receives them all at once. (SQLite always reads row by row.)
    pub fn query_streamed<P: Params>(&mut self, params: P) -> Result<Rows<'_>> {
        let values = params.values();
        match self {
            Statement::Postgres { conn, text, .. } => Ok(Rows::PgCursor {
                conn,
                name: conn.declare_cursor(text, &values)?,
                rows: Vec::new().into_iter(),
                current: None,
                done: false,
            }),
            _ => self.query(values),
        }
    }

    /// [`Statement::query_map`] over [`Statement::query_streamed`].
    pub fn query_map_streamed<P: Params, T, F>(
        &mut self,
        params: P,
        f: F,
    ) -> Result<MappedRows<'_, F>>
    where
        F: FnMut(&Row<'_>) -> Result<T>,
    {
        Ok(MappedRows {
            rows: self.query_streamed(params)?,
            f,
        })
    }

    pub fn query_map<P: Params, T, F>(&mut self, params: P, f: F) -> Result<MappedRows<'_, F>>
    where
        F: FnMut(&Row<'_>) -> Result<T>,
    {
        Ok(MappedRows {
            rows: self.query(params)?,
            f,
        })
    }

    /// Binds one value to parameter `index` (1-based), for [`Statement::raw_execute`].
    pub fn raw_bind_parameter(&mut self, index: usize, value: impl ToParam) -> Result<()> {
        match self {
            Statement::Sqlite(stmt) => Ok(stmt.raw_bind_parameter(index, value.to_param())?),
            Statement::Postgres { bound, .. } | Statement::Recording(bound) => {
                if bound.len() < index {
                    bound.resize(index, Value::Null);
                }
                bound[index - 1] = owned(value.to_param());
                Ok(())
            }
        }
    }

    /// Runs the statement with the values bound by [`Statement::raw_bind_parameter`].
    pub fn raw_execute(&mut self) -> Result<usize> {
        match self {
            Statement::Sqlite(stmt) => Ok(stmt.raw_execute()?),
            Statement::Postgres {
                conn,
                statement,
                bound,
                ..
            } => conn.execute(statement, bound),
            Statement::Recording(_) => Err(conversion(0, "a recording statement runs nothing")),
        }
    }
}

fn owned(value: Value<'_>) -> Value<'static> {
    match value {
        Value::Null => Value::Null,
        Value::Integer(i) => Value::Integer(i),
        Value::Text(t) => Value::Text(Cow::Owned(t.into_owned())),
        Value::Blob(b) => Value::Blob(Cow::Owned(b.into_owned())),
    }
}

/// The rows of a query, read one at a time.
pub enum Rows<'s> {
    Sqlite(rusqlite::Rows<'s>),
    Postgres {
        rows: std::vec::IntoIter<postgres::Row>,
        current: Option<postgres::Row>,
    },
    /// Rows fetched from a cursor as they are read (closed when dropped).
    PgCursor {
        conn: &'s PgConnection,
        name: String,
        rows: std::vec::IntoIter<postgres::Row>,
        current: Option<postgres::Row>,
        done: bool,
    },
}

impl Drop for Rows<'_> {
    fn drop(&mut self) {
        if let Rows::PgCursor { conn, name, .. } = self
            && !conn.is_closed()
        {
            // Nothing to do with a failure: the transaction's end closes it anyway.
            let _ = conn.batch(&format!("CLOSE {name}"));
        }
    }
}

impl Rows<'_> {
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Row<'_>>> {
        match self {
            Rows::Sqlite(rows) => Ok(rows.next()?.map(Row::Sqlite)),
            Rows::Postgres { rows, current } => {
                *current = rows.next();
                Ok(current.as_ref().map(Row::Postgres))
            }
            Rows::PgCursor {
                conn,
                name,
                rows,
                current,
                done,
            } => {
                *current = rows.next();
                if current.is_none() && !*done {
                    let fetched = conn.fetch(name)?;
                    *done = fetched.len() < CURSOR_ROWS;
                    *rows = fetched.into_iter();
                    *current = rows.next();
                }
                Ok(current.as_ref().map(Row::Postgres))
            }
        }
    }
}

/// The rows of a query, each turned into a value by `f`.
pub struct MappedRows<'s, F> {
    rows: Rows<'s>,
    f: F,
}

impl<T, F> Iterator for MappedRows<'_, F>
where
    F: FnMut(&Row<'_>) -> Result<T>,
{
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        match self.rows.next() {
            Ok(Some(row)) => Some((self.f)(&row)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}
