//! The store: embedded SQLite or PostgreSQL (SPEC §10), opening, migrations, and
//! transactions. The only module that knows SQL, and the only one that knows which database
//! it talks to.
//!
//! Writers hold the one write lock from their first statement (SQLite: `BEGIN IMMEDIATE`;
//! PostgreSQL: a transaction-scoped advisory lock, so several daemons on one database write one
//! after another exactly as one daemon does, and ids from `MAX(id) + 1` stay theirs); readers
//! see one consistent snapshot while others write (SQLite: WAL; PostgreSQL: `REPEATABLE READ`).

mod bulk;
mod cases;
mod copy;
mod daily_report;
pub(crate) mod db;
mod dialect;
mod files;
mod instruction_chunk;
mod instructions;
mod invoice_chunk;
mod maintenance;
mod monitoring;
mod nodes;
mod outbox;
mod payment_chunk;
mod payments;
mod postgres;
mod reconciliation;
mod reports;
mod steps;
mod views;

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

pub use db::DbError;
use db::{NO_PARAMS, OptionalExtension, PgConnection, PgTransaction};
pub use postgres::{PostgresSettings, StoreLocation};

pub use cases::{CaseRow, InterestBasis, NewEvent};
pub use copy::{LEDGER_TABLES, TableDigest};
pub use daily_report::{InboundCount, InboundFileRow, OpenPayment, OutboundCount, PlacedDay};
pub use files::{
    AppliedFile, InboxWriterDetection, NewInboundFile, SenderActivity, Sighting, UnmovedFile,
};
pub use maintenance::BackupSummary;
pub use monitoring::RecordCounts;
pub use nodes::{NodeIdentity, NodeRow, NodeStatus, lease_expired};
pub use outbox::OutboxRow;
pub use payments::UnmatchedPayment;
pub use reconciliation::{LedgerPart, MoneyPart, OpenBalance, SuspenseEntry, SuspenseMove};
pub use reports::{LetterRow, StatusRow};
pub use steps::HoldRow;
pub use views::{
    CaseFilter, CaseSummary, CaseView, EventView, InvoiceView, LetterView, PaymentDay,
    UnmatchedView,
};

/// Migrations in order; entry `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("schema.sql"),
    include_str!("schema_v2.sql"),
    include_str!("schema_v3.sql"),
    include_str!("schema_v4.sql"),
    include_str!("schema_v5.sql"),
    include_str!("schema_v6.sql"),
    include_str!("schema_v7.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How long a writer waits for another one before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// What an operator reads for a database error: the common ones say what to do.
fn describe_sqlite(e: &rusqlite::Error) -> String {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => format!(
            "the database is locked by another program for longer than {} s (kravflyt itself holds var/kravflyt.lock, so it is something else: a sqlite3 shell, a copy or backup tool); close it and retry ({e})",
            BUSY_TIMEOUT.as_secs()
        ),
        Some(rusqlite::ErrorCode::DiskFull) => {
            format!("the disk under the database is full; free space and retry ({e})")
        }
        Some(rusqlite::ErrorCode::ReadOnly) => format!(
            "the database cannot be written (read-only file or file system); check its permissions and retry ({e})"
        ),
        _ => format!("database error: {e}"),
    }
}

fn describe_database(e: &DbError) -> String {
    match e {
        DbError::Sqlite(e) => describe_sqlite(e),
        other => format!("database error: {other}"),
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError::Database(DbError::from(e))
    }
}

impl From<::postgres::Error> for StoreError {
    fn from(e: ::postgres::Error) -> StoreError {
        StoreError::Database(DbError::from(e))
    }
}

/// Infrastructure failures of the store. Bad input is never one of these.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {path}: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error(
        "the database {path} has schema version {found}, newer than the {supported} this kravflyt knows; run a newer kravflyt"
    )]
    TooNew {
        path: String,
        found: i64,
        supported: i64,
    },
    #[error(
        "the database {path} is not a kravflyt database or is damaged: {detail}; restore it from a backup"
    )]
    Damaged { path: String, detail: String },
    #[error("{}", describe_database(.0))]
    Database(#[from] DbError),
    #[error("cannot connect to PostgreSQL at {url}: {detail}")]
    Connect { url: String, detail: String },
    #[error("cannot use {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("internal error: {0}")]
    Invariant(String),
}

/// The open database: embedded SQLite or a PostgreSQL server.
enum Backend {
    Sqlite(Connection),
    Postgres(Box<PgBackend>),
}

/// A PostgreSQL connection and how to make it again.
struct PgBackend {
    conn: PgConnection,
    settings: PostgresSettings,
    /// Every transaction read-only (the HTTP thread's monitoring connection).
    read_only: bool,
}

impl PgBackend {
    /// The connection; a new one first if the server closed the old (it restarted, or an
    /// operator ended the session). What was in flight failed with the old one and is retried
    /// by its caller, as after any database error.
    fn connection(&mut self) -> Result<&PgConnection, StoreError> {
        if self.conn.is_closed() {
            tracing::warn!(database = %self.settings.shown_url(), "the connection to PostgreSQL was lost; connecting again");
            self.conn = PgConnection::new(self.settings.connect()?);
            if self.read_only {
                self.conn.batch("SET default_transaction_read_only = on")?;
            }
        }
        Ok(&self.conn)
    }
}

/// A connection to the workspace database.
pub struct Store {
    conn: Backend,
    /// What an operator is shown for the database: the file's path, or the URL with any
    /// password masked.
    path: String,
    /// The write-ahead log, which [`Store::sync`] makes durable (`None` in memory and on
    /// PostgreSQL, where every commit is durable when it returns).
    wal: Option<std::path::PathBuf>,
    /// Commits are not synced one by one (between [`Store::defer_syncs`] and [`Store::sync`]).
    deferred: bool,
}

/// The PostgreSQL advisory lock every write transaction holds (an arbitrary constant: "kravflyt"
/// in ASCII, read as a number). One writer at a time, as SQLite's own write lock gives.
const PG_WRITE_LOCK: i64 = 0x6B72_6176_666C_7974;

impl Store {
    /// Opens the configured database: the SQLite file, or PostgreSQL.
    pub fn open_at(location: &StoreLocation) -> Result<Store, StoreError> {
        match location {
            StoreLocation::Sqlite(path) => Store::open(path),
            StoreLocation::Postgres(settings) => Store::open_postgres(settings),
        }
    }

    /// Connects to PostgreSQL and brings its schema to this build's version.
    pub fn open_postgres(settings: &PostgresSettings) -> Result<Store, StoreError> {
        let client = settings.connect()?;
        let mut store = Store {
            conn: Backend::Postgres(Box::new(PgBackend {
                conn: PgConnection::new(client),
                settings: settings.clone(),
                read_only: false,
            })),
            path: settings.shown_url(),
            wal: None,
            deferred: false,
        };
        store.migrate()?;
        Ok(store)
    }

    /// Whether this is the PostgreSQL store.
    pub fn is_postgres(&self) -> bool {
        matches!(self.conn, Backend::Postgres(_))
    }

    /// The database as an operator is shown it (a path, or a URL without its password).
    pub fn shown(&self) -> &str {
        &self.path
    }

    /// Opens (creating and migrating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let shown = path.display().to_string();
        // The database holds debtors' names, addresses and identity numbers: only the owner
        // reads it. SQLite gives its -wal and -shm files the database file's mode.
        #[cfg(unix)]
        if !path.exists() {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|source| StoreError::Io {
                    path: shown.clone(),
                    source,
                })?;
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| StoreError::Open {
            path: shown.clone(),
            source,
        })?;
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        Store::prepare(conn, shown, Some(wal.into()))
    }

    /// A private in-memory database with the current schema (for dry runs without a workspace).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Store::prepare(Connection::open_in_memory()?, ":memory:".to_owned(), None)
    }

    /// The SQLite connection (SQLite-only maintenance: backups, pragmas).
    fn sqlite(&self) -> Option<&Connection> {
        match &self.conn {
            Backend::Sqlite(conn) => Some(conn),
            Backend::Postgres(_) => None,
        }
    }

    fn prepare(
        conn: Connection,
        path: String,
        wal: Option<std::path::PathBuf>,
    ) -> Result<Store, StoreError> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Every record runs a few dozen distinct cached statements (matching, interest,
        // allocation, postings, events): a cache larger than rusqlite's 16 keeps them all.
        conn.set_prepared_statement_cache_capacity(256);
        // The query planner may not use the values bound to a statement: otherwise SQLite
        // re-prepares a cached statement each time a new value is bound to a parameter that
        // decided whether a partial index applies (issue 8: ~40 % of a payments file's time
        // went to re-preparing). The plans come from the indexes, not from the values.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )?;
        let damaged = |e: rusqlite::Error| match e {
            rusqlite::Error::SqliteFailure(f, _)
                if matches!(
                    f.code,
                    rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt
                ) =>
            {
                StoreError::Damaged {
                    path: path.clone(),
                    detail: e.to_string(),
                }
            }
            other => StoreError::from(other),
        };
        // WAL lets readers (case show, status) work while the daemon writes; FULL sync makes a
        // committed file survive power loss, not only a killed process.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(damaged)?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // SQLite's default page cache is 2 MiB: with a million cases every index lookup of a
        // large file would go to the operating system for its pages. 64 MiB keeps the hot
        // index pages of a million-case database in memory (peak RSS stays well under the
        // 300 MB budget); temporary b-trees (sorting, GROUP BY) stay in memory too.
        conn.pragma_update(None, "cache_size", -64 * 1024)?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // Migrations run with foreign keys off, as SQLite's procedure for rebuilding a table
        // asks (version 4 rebuilds the ledger tables): a rebuild copies rows unchanged, so it
        // cannot break a reference, and `kravflyt verify` checks them all. Everything after
        // runs with them on. (The bundled SQLite turns them on by default.)
        conn.pragma_update(None, "foreign_keys", "OFF")?;
        let mut store = Store {
            conn: Backend::Sqlite(conn),
            path,
            wal,
            deferred: false,
        };
        store.migrate()?;
        if let Some(conn) = store.sqlite() {
            conn.pragma_update(None, "foreign_keys", "ON")?;
        }
        Ok(store)
    }

    /// The schema version the database has.
    fn schema_version(&self) -> Result<i64, StoreError> {
        match &self.conn {
            Backend::Sqlite(conn) => {
                Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
            }
            Backend::Postgres(pg) => {
                // The migrations record their version in this table.
                pg.conn.batch(
                    "CREATE TABLE IF NOT EXISTS kravflyt_schema (version BIGINT NOT NULL);",
                )?;
                self.schema_version_read_only()
            }
        }
    }

    /// The schema version, read without creating anything (a read-only PostgreSQL session).
    fn schema_version_read_only(&self) -> Result<i64, StoreError> {
        match &self.conn {
            Backend::Sqlite(_) => self.schema_version(),
            Backend::Postgres(pg) => {
                let tx = db::Transaction::Postgres(PgTransaction::begin(&pg.conn, "BEGIN")?);
                let found = pg_schema_version(&tx)?;
                tx.commit()?;
                Ok(found)
            }
        }
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let found = self.schema_version()?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        self.apply_migrations(found)
    }

    /// Runs the migrations after version `found`, each in its own write transaction, skipping
    /// those another process ran since `found` was read.
    fn apply_migrations(&mut self, found: i64) -> Result<(), StoreError> {
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            let tx = self.write_unchecked()?;
            // Read again under the write lock: another process opening the same new database
            // at the same moment (the daemon starting while `status` looks, or a second node)
            // may have run this migration since the version was read above; running it twice
            // fails ("table already exists").
            let now: i64 = match &tx.tx {
                db::Transaction::Sqlite(t) => {
                    t.pragma_query_value(None, "user_version", |r| r.get(0))?
                }
                db::Transaction::Postgres(_) => pg_schema_version(&tx.tx)?,
            };
            if now > i as i64 {
                continue;
            }
            tx.tx.execute_batch(sql)?;
            match &tx.tx {
                db::Transaction::Sqlite(t) => {
                    t.pragma_update(None, "user_version", (i + 1) as i64)?
                }
                db::Transaction::Postgres(_) => {
                    tx.tx.execute("DELETE FROM kravflyt_schema", NO_PARAMS)?;
                    tx.tx.execute(
                        "INSERT INTO kravflyt_schema (version) VALUES (?1)",
                        [(i + 1) as i64],
                    )?;
                }
            }
            tx.commit()?;
            tracing::debug!(version = i + 1, "database schema migrated");
        }
        Ok(())
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE`, or the PostgreSQL writers' lock).
    pub fn write(&mut self) -> Result<Tx<'_>, StoreError> {
        if let (Some(_), Err(e)) = (self.sqlite(), crate::faults::check(Path::new(&self.path))) {
            // What SQLite reports when the disk under the database is full or read-only.
            let (code, words) = match e.raw_os_error() {
                Some(28) => (rusqlite::ffi::SQLITE_FULL, "database or disk is full"),
                Some(30) | Some(13) => (
                    rusqlite::ffi::SQLITE_READONLY,
                    "attempt to write a readonly database",
                ),
                _ => (rusqlite::ffi::SQLITE_IOERR, "disk I/O error"),
            };
            return Err(StoreError::from(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(code),
                Some(words.to_owned()),
            )));
        }
        self.write_unchecked()
    }

    fn write_unchecked(&mut self) -> Result<Tx<'_>, StoreError> {
        let tx = match &mut self.conn {
            Backend::Sqlite(conn) => db::Transaction::Sqlite(
                conn.transaction_with_behavior(TransactionBehavior::Immediate)?,
            ),
            Backend::Postgres(pg) => db::Transaction::Postgres(PgTransaction::begin(
                pg.connection()?,
                &format!(
                    "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock({PG_WRITE_LOCK});"
                ),
            )?),
        };
        Ok(Tx { tx })
    }

    /// Group commit (issue 14): until [`Store::resume_syncs`], commits are not synced to disk
    /// one by one (`synchronous = NORMAL`). Each stays atomic and survives a killed process
    /// (it is in the WAL, in the operating system's cache); only a power loss could take it
    /// back, so nothing outside the database may depend on it before [`Store::sync`] returns:
    /// the file intake moves a batch's files and writes their receipts only after it.
    /// On PostgreSQL the same is `synchronous_commit = off`: a commit returns before the
    /// server has flushed it (it is visible to every other node at once, and lost only if the
    /// server itself crashes before [`Store::sync`]); the write lock is then held for the
    /// statements only, not for a flush of the log per file as well.
    pub fn defer_syncs(&mut self) -> Result<(), StoreError> {
        if self.deferred {
            return Ok(());
        }
        match &mut self.conn {
            Backend::Sqlite(conn) => conn.pragma_update(None, "synchronous", "NORMAL")?,
            Backend::Postgres(pg) => pg.connection()?.batch("SET synchronous_commit = off")?,
        }
        self.deferred = true;
        Ok(())
    }

    /// Makes every commit so far durable: one `fdatasync` of the WAL for all the commits since
    /// [`Store::defer_syncs`]. A commit writes its pages to the WAL whatever the setting;
    /// `FULL` only adds this sync after each one, and a sync of the file covers every commit
    /// in it (a checkpoint since has synced the WAL and the database itself). The WAL was
    /// created and first synced, its folder too, by a commit with `FULL` before any deferral:
    /// `open` commits the creditors. SQLite keeps no locks on the WAL file (its WAL locks are
    /// on `-shm`), so the descriptor opened and closed here cannot drop one of them.
    ///
    /// On PostgreSQL: one small transaction committed synchronously. Its commit waits until the
    /// server's log is flushed up to its own record, and the commits before it (this node's
    /// and every other's) are earlier in that one log.
    pub fn sync(&mut self) -> Result<(), StoreError> {
        if let Backend::Postgres(pg) = &mut self.conn {
            if self.deferred {
                pg.connection()?.batch(
                    "BEGIN; SET LOCAL synchronous_commit = on;
                     UPDATE kravflyt_schema SET version = version; COMMIT;",
                )?;
            }
            return Ok(());
        }
        let Some(wal) = self.wal.as_ref().filter(|_| self.deferred) else {
            return Ok(());
        };
        let synced = match std::fs::File::open(wal) {
            Ok(file) => file.sync_data(),
            // No WAL file: nothing was committed through one.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        };
        synced.map_err(|source| StoreError::Io {
            path: wal.display().to_string(),
            source,
        })
    }

    /// Ends [`Store::defer_syncs`]: each commit is synced again (`synchronous = FULL`). The
    /// next commit's sync covers the commits made meanwhile too.
    pub fn resume_syncs(&mut self) -> Result<(), StoreError> {
        if !self.deferred {
            return Ok(());
        }
        match &mut self.conn {
            Backend::Sqlite(conn) => conn.pragma_update(None, "synchronous", "FULL")?,
            Backend::Postgres(pg) => pg.connection()?.batch("SET synchronous_commit = on")?,
        }
        self.deferred = false;
        Ok(())
    }

    /// Starts a read transaction: one consistent snapshot.
    pub fn read(&mut self) -> Result<Tx<'_>, StoreError> {
        let tx = match &mut self.conn {
            Backend::Sqlite(conn) => db::Transaction::Sqlite(
                conn.transaction_with_behavior(TransactionBehavior::Deferred)?,
            ),
            Backend::Postgres(pg) => db::Transaction::Postgres(PgTransaction::begin(
                pg.connection()?,
                "BEGIN ISOLATION LEVEL REPEATABLE READ",
            )?),
        };
        Ok(Tx { tx })
    }

    /// Records the configured creditors, so rows can refer to them.
    pub fn sync_creditors<'a>(
        &mut self,
        creditors: impl IntoIterator<Item = &'a crate::config::Creditor>,
    ) -> Result<(), StoreError> {
        let tx = self.write()?;
        for c in creditors {
            tx.tx.execute(
                "INSERT INTO creditors (id, name, country, currency) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, country = excluded.country,
                     currency = excluded.currency",
                (&c.id, &c.name, c.country.as_str(), &c.currency),
            )?;
        }
        tx.commit()
    }

    /// Runs SQLite's integrity check; `Ok` lists problems (empty when sound). PostgreSQL checks
    /// its pages itself (and `amcheck` is the operator's tool there): nothing to list.
    pub fn integrity_problems(&self) -> Result<Vec<String>, StoreError> {
        let Some(conn) = self.sqlite() else {
            return Ok(Vec::new());
        };
        let mut stmt = conn.prepare("PRAGMA integrity_check")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let problems: Vec<String> = rows.collect::<Result<_, _>>()?;
        Ok(problems.into_iter().filter(|p| p != "ok").collect())
    }
}

/// A PostgreSQL store's schema version: PostgreSQL has no `user_version`, so a one-row table
/// holds it; a database without that table (nothing has run on it) is at 0.
fn pg_schema_version(tx: &db::Transaction<'_>) -> Result<i64, DbError> {
    match tx
        .query_row("SELECT version FROM kravflyt_schema", NO_PARAMS, |r| {
            r.get(0)
        })
        .optional()
    {
        Ok(found) => Ok(found.unwrap_or(0)),
        Err(DbError::Postgres(e))
            if e.code() == Some(&::postgres::error::SqlState::UNDEFINED_TABLE) =>
        {
            Ok(0)
        }
        Err(other) => Err(other),
    }
}

/// One transaction; every query and change of the store goes through one.
pub struct Tx<'s> {
    tx: db::Transaction<'s>,
}

impl Tx<'_> {
    pub fn commit(self) -> Result<(), StoreError> {
        Ok(self.tx.commit()?)
    }

    /// A value of the `meta` table.
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .tx
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )?;
        Ok(())
    }
}

/// Parses a date column written by this store.
fn date_column(text: &str) -> db::Result<chrono::NaiveDate> {
    // The store writes `YYYY-MM-DD`; read that shape directly (chrono's format parser costs
    // about a microsecond a date, and the daily steps read a few million of them).
    if let [y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2] = *text.as_bytes()
        && [y1, y2, y3, y4, m1, m2, d1, d2]
            .iter()
            .all(u8::is_ascii_digit)
    {
        let n = |digits: &[u8]| {
            digits
                .iter()
                .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
        };
        let year = n(&[y1, y2, y3, y4]) as i32;
        if let Some(date) = chrono::NaiveDate::from_ymd_opt(year, n(&[m1, m2]), n(&[d1, d2])) {
            return Ok(date);
        }
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| DbError::Conversion {
        column: 0,
        detail: format!("{text:?} is not a date: {e}"),
    })
}

/// Parses an enumeration column written by this store.
fn enum_column<T: std::str::FromStr>(text: &str) -> db::Result<T>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|e| DbError::Conversion {
        column: 0,
        detail: format!("{text:?}: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_migration_another_process_ran_meanwhile_is_skipped_not_run_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kravflyt.db");
        let mut store = Store::open(&path).unwrap();
        // As a second process that read version 0 before the first one migrated.
        store.apply_migrations(0).unwrap();
        let version: i64 = store
            .sqlite()
            .unwrap()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
    }

    #[test]
    fn a_new_database_gets_the_current_schema_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.db");
        drop(Store::open(&path).unwrap());
        let store = Store::open(&path).unwrap();
        let version: i64 = store
            .sqlite()
            .unwrap()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        assert!(store.integrity_problems().unwrap().is_empty());
        let enforced: i64 = store
            .sqlite()
            .unwrap()
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert_eq!(
            enforced, 1,
            "foreign keys are enforced once the store is open"
        );
    }

    #[test]
    fn the_ledger_rebuild_of_version_4_keeps_every_row_and_its_checks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.db");
        {
            // A database as version 3 left it, with ledger rows (parents are not needed:
            // foreign keys are off on this connection, as before any Store opened it).
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "foreign_keys", "OFF").unwrap();
            for sql in &MIGRATIONS[..3] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 3).unwrap();
            conn.execute_batch(
                "INSERT INTO postings VALUES (7, 1, 2, '2026-10-01', 'principal', 1000, 3);
                 INSERT INTO postings VALUES (9, 1, NULL, '2026-10-02', 'fee', 70, 4);
                 INSERT INTO allocations VALUES (5, 1, 1, 2, 'overpaid', 12);",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let conn = store.sqlite().unwrap();
        let rows: Vec<(i64, Option<i64>, String, i64)> = conn
            .prepare("SELECT id, invoice_id, component, amount_minor FROM postings ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            vec![
                (7, Some(2), "principal".to_owned(), 1000),
                (9, None, "fee".to_owned(), 70)
            ]
        );
        let overpaid: i64 = conn
            .query_row(
                "SELECT amount_minor FROM allocations WHERE id = 5",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(overpaid, 12);
        // The rules are the same rules: an unknown component is still refused.
        conn.pragma_update(None, "foreign_keys", "OFF").unwrap();
        for bad in [
            "INSERT INTO postings VALUES (10, 1, NULL, '2026-10-02', 'overpaid', 1, 4)",
            "INSERT INTO allocations VALUES (6, 1, 1, 2, 'tip', 1)",
        ] {
            let err = conn.execute(bad, []).unwrap_err();
            assert!(err.to_string().contains("CHECK"), "{bad}: {err}");
        }
        // Version 4 rebuilt these indexes; version 6 dropped `postings_invoice` again.
        for (index, expected) in [
            ("postings_case", 1),
            ("postings_invoice", 0),
            ("postings_date", 1),
            ("allocations_payment", 1),
        ] {
            let found: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'index' AND name = ?1",
                    [index],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(found, expected, "{index}");
        }
    }

    #[test]
    fn a_newer_schema_is_refused_not_downgraded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.db");
        drop(Store::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = Store::open(&path).err().unwrap();
        assert!(matches!(err, StoreError::TooNew { found: 99, .. }), "{err}");
    }

    #[test]
    fn a_file_that_is_not_a_database_gives_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.db");
        std::fs::write(
            &path,
            b"this is not sqlite, just text that is long enough......",
        )
        .unwrap();
        let err = Store::open(&path).err().unwrap();
        assert!(matches!(err, StoreError::Damaged { .. }), "{err}");
        assert!(err.to_string().contains("restore it from a backup"));
    }
}
