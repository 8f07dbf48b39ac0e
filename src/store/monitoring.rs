//! Read-only access for monitoring: opening the daemon's database without writing to it, and
//! the few figures `/metrics` needs that `status` does not already gather.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::{SCHEMA_VERSION, Store, StoreError, Tx};

/// How long a monitoring read waits for a lock. Readers never wait for the daemon's writer in
/// WAL mode; this only covers a checkpoint or a backup in progress, and a scrape should answer
/// well within Prometheus' default 10 s timeout.
const READ_BUSY_TIMEOUT: Duration = Duration::from_secs(2);

/// Record counts of one sender's inbound files, summed over every file it delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordCounts {
    pub accepted: i64,
    pub unchanged: i64,
    pub rejected: i64,
    pub skipped: i64,
}

impl Store {
    /// As [`Store::open_read_only`], for either store: on PostgreSQL a new connection whose
    /// transactions are read-only, refused if the schema is not this build's.
    pub fn open_read_only_at(location: &super::StoreLocation) -> Result<Store, StoreError> {
        let settings = match location {
            super::StoreLocation::Sqlite(path) => return Store::open_read_only(path),
            super::StoreLocation::Postgres(settings) => settings,
        };
        let conn = super::db::PgConnection::new(settings.connect()?);
        conn.batch("SET default_transaction_read_only = on")?;
        let store = Store {
            conn: super::Backend::Postgres(Box::new(super::PgBackend {
                conn,
                settings: settings.clone(),
                read_only: true,
            })),
            path: settings.shown_url(),
            wal: None,
            deferred: false,
        };
        let found = store.schema_version_read_only()?;
        if found != SCHEMA_VERSION {
            return Err(StoreError::Invariant(format!(
                "the database {} has schema version {found}, not this build's {SCHEMA_VERSION}; `kravflyt run` of this build migrates it when it starts",
                store.path
            )));
        }
        Ok(store)
    }

    /// Opens an existing database for reading only: never creates, migrates or writes it (the
    /// HTTP thread's connection, beside the daemon's own). A database with another schema
    /// version than this build's is refused rather than read with the wrong queries.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        let shown = path.display().to_string();
        if !path.exists() {
            return Err(StoreError::Io {
                path: shown,
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no database yet"),
            });
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| StoreError::Open {
            path: shown.clone(),
            source,
        })?;
        conn.busy_timeout(READ_BUSY_TIMEOUT)?;
        let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: shown,
                found,
                supported: SCHEMA_VERSION,
            });
        }
        if found < SCHEMA_VERSION {
            return Err(StoreError::Invariant(format!(
                "the database {shown} has schema version {found}, older than this build's {SCHEMA_VERSION}; `kravflyt run` migrates it when it starts"
            )));
        }
        Ok(Store {
            conn: super::Backend::Sqlite(conn),
            path: shown,
            wal: None,
            deferred: false,
        })
    }
}

impl Tx<'_> {
    /// Per sender: its files' records by outcome, over every file (the counters of
    /// `kravflyt_records_total`).
    pub fn record_counts(&self) -> Result<Vec<(String, RecordCounts)>, StoreError> {
        let mut stmt = self.tx.prepare(
            "SELECT sender, SUM(records_accepted), SUM(records_unchanged), SUM(records_rejected),
                    SUM(records_skipped)
             FROM inbound_files GROUP BY sender ORDER BY sender",
        )?;
        let rows = stmt.query_map(crate::store::db::NO_PARAMS, |r| {
            Ok((
                r.get(0)?,
                RecordCounts {
                    accepted: r.get(1)?,
                    unchanged: r.get(2)?,
                    rejected: r.get(3)?,
                    skipped: r.get(4)?,
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// When intake first saw each file still in an inbox: (sender, file name, RFC 3339 time).
    pub fn first_sightings(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        let mut stmt = self
            .tx
            .prepare("SELECT sender, name, first_seen FROM inbox_sightings")?;
        let rows = stmt.query_map(crate::store::db::NO_PARAMS, |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_opening_never_creates_and_never_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.db");
        assert!(Store::open_read_only(&path).is_err());
        assert!(!path.exists(), "looking created a database");
        drop(Store::open(&path).unwrap());
        let mut store = Store::open_read_only(&path).unwrap();
        let tx = store.read().unwrap();
        assert_eq!(tx.record_counts().unwrap(), vec![]);
        assert!(tx.set_meta("x", "y").is_err(), "a read-only store wrote");
    }
}
