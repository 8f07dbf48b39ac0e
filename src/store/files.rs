//! Inbound files and inbox sightings.

use crate::store::db::OptionalExtension;
use chrono::NaiveDate;

use super::{StoreError, Tx};
use crate::domain::{FileKind, FileStatus, InboundFormat};

/// A file row to record in the file's own transaction.
#[derive(Debug, Clone)]
pub struct NewInboundFile<'a> {
    pub sender: &'a str,
    pub original_name: &'a str,
    pub sha256: &'a str,
    pub size: u64,
    pub format: Option<InboundFormat>,
    pub kind: Option<FileKind>,
    pub status: FileStatus,
    pub records_total: u64,
    pub records_accepted: u64,
    pub records_unchanged: u64,
    pub records_rejected: u64,
    pub duplicate_of: Option<i64>,
    pub business_date: NaiveDate,
    pub processed_at: &'a str,
    /// Relative to `var/`.
    pub destination: &'a str,
}

/// An earlier, applied delivery of the same content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedFile {
    pub id: i64,
    pub original_name: String,
    pub business_date: String,
}

/// A committed file that has not yet reached its destination folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmovedFile {
    pub id: i64,
    pub sender: String,
    pub original_name: String,
    pub sha256: String,
    pub destination: String,
}

/// What intake last saw of an inbox file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting {
    pub size: u64,
    pub mtime_ns: i64,
    pub first_seen: String,
    pub stable_since: String,
    /// When a writer was first found holding the file open, while it still does.
    pub writer_open_since: Option<String>,
}

/// How a sender's inbox detects writers, as the last scan found it (for `status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxWriterDetection {
    pub sender: String,
    /// `lease`, `inotify` or `quiet_period`.
    pub method: String,
    /// Why no stronger method was available.
    pub reason: Option<String>,
    pub checked_at: String,
    /// Files of the inbox a writer holds open now, and since when the longest-held one.
    pub held_open: u64,
    pub held_open_since: Option<String>,
}

impl Tx<'_> {
    /// The id of the last inbound file recorded (0 before the first): whether any file was
    /// recorded since a moment that noted it.
    pub fn last_file_id(&self) -> Result<i64, StoreError> {
        Ok(self
            .tx
            .prepare_cached("SELECT COALESCE(MAX(id), 0) FROM inbound_files")?
            .query_row(crate::store::db::NO_PARAMS, |r| r.get(0))?)
    }

    /// The applied file with this content from this sender, if any.
    pub fn applied_file(
        &self,
        sender: &str,
        sha256: &str,
    ) -> Result<Option<AppliedFile>, StoreError> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT id, original_name, business_date FROM inbound_files
                 WHERE sender = ?1 AND sha256 = ?2 AND status IN ('accepted', 'partly_accepted')",
            )?
            .query_row((sender, sha256), |r| {
                Ok(AppliedFile {
                    id: r.get(0)?,
                    original_name: r.get(1)?,
                    business_date: r.get(2)?,
                })
            })
            .optional()?)
    }

    pub fn insert_file(&self, f: &NewInboundFile<'_>) -> Result<i64, StoreError> {
        let id: i64 = self
            .tx
            .prepare_cached(
                "INSERT INTO inbound_files (id, sender, original_name, sha256, size, format, kind,
                 status, records_total, records_accepted, records_unchanged, records_rejected,
                 duplicate_of, business_date, processed_at, destination)
             VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM inbound_files),
                     ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
             RETURNING id",
            )?
            .query_row(
                crate::store::db::params![
                    f.sender,
                    f.original_name,
                    f.sha256,
                    f.size as i64,
                    f.format.map(|x| x.as_str()),
                    f.kind.map(|x| x.as_str()),
                    f.status.as_str(),
                    f.records_total as i64,
                    f.records_accepted as i64,
                    f.records_unchanged as i64,
                    f.records_rejected as i64,
                    f.duplicate_of,
                    f.business_date.to_string(),
                    f.processed_at,
                    f.destination,
                ],
                |r| r.get(0),
            )?;
        self.mark_business_day(f.business_date)?;
        Ok(id)
    }

    /// Settles a file's format, kind, status and counts (total, accepted, unchanged, rejected,
    /// skipped).
    pub fn finish_file(
        &self,
        file_id: i64,
        format: Option<InboundFormat>,
        kind: Option<FileKind>,
        status: FileStatus,
        counts: [u64; 5],
    ) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "UPDATE inbound_files SET format = ?2, kind = ?3, status = ?4, records_total = ?5,
                 records_accepted = ?6, records_unchanged = ?7, records_rejected = ?8,
                 records_skipped = ?9
             WHERE id = ?1",
            )?
            .execute(crate::store::db::params![
                file_id,
                format.map(|x| x.as_str()),
                kind.map(|x| x.as_str()),
                status.as_str(),
                counts[0] as i64,
                counts[1] as i64,
                counts[2] as i64,
                counts[3] as i64,
                counts[4] as i64,
            ])?;
        Ok(())
    }

    /// Whether a destination path is already promised to another file.
    pub fn destination_taken(&self, destination: &str) -> Result<bool, StoreError> {
        Ok(self
            .tx
            .prepare_cached("SELECT 1 FROM inbound_files WHERE destination = ?1")?
            .query_row([destination], |_| Ok(()))
            .optional()?
            .is_some())
    }

    pub fn unmoved_files(&self) -> Result<Vec<UnmovedFile>, StoreError> {
        let mut stmt = self.tx.prepare(
            "SELECT id, sender, original_name, sha256, destination FROM inbound_files
             WHERE moved = 0 ORDER BY id",
        )?;
        let rows = stmt.query_map(crate::store::db::NO_PARAMS, |r| {
            Ok(UnmovedFile {
                id: r.get(0)?,
                sender: r.get(1)?,
                original_name: r.get(2)?,
                sha256: r.get(3)?,
                destination: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn mark_moved(&self, file_id: i64) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("UPDATE inbound_files SET moved = 1 WHERE id = ?1")?
            .execute([file_id])?;
        Ok(())
    }

    pub fn sighting(&self, sender: &str, name: &str) -> Result<Option<Sighting>, StoreError> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT size, mtime_ns, first_seen, stable_since, writer_open_since
                 FROM inbox_sightings WHERE sender = ?1 AND name = ?2",
            )?
            .query_row((sender, name), |r| {
                Ok(Sighting {
                    size: r.get::<i64>(0)? as u64,
                    mtime_ns: r.get(1)?,
                    first_seen: r.get(2)?,
                    stable_since: r.get(3)?,
                    writer_open_since: r.get(4)?,
                })
            })
            .optional()?)
    }

    pub fn put_sighting(&self, sender: &str, name: &str, s: &Sighting) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO inbox_sightings
                 (sender, name, size, mtime_ns, first_seen, stable_since, writer_open_since)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (sender, name) DO UPDATE SET size = excluded.size,
                 mtime_ns = excluded.mtime_ns, stable_since = excluded.stable_since,
                 writer_open_since = excluded.writer_open_since",
            )?
            .execute(crate::store::db::params![
                sender,
                name,
                s.size as i64,
                s.mtime_ns,
                s.first_seen,
                s.stable_since,
                s.writer_open_since
            ])?;
        Ok(())
    }

    /// Forgets one sighting, so the file's quiet period starts again when it is next seen (a
    /// file put back in the inbox because it changed while it was read).
    pub fn forget_sighting(&self, sender: &str, name: &str) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("DELETE FROM inbox_sightings WHERE sender = ?1 AND name = ?2")?
            .execute((sender, name))?;
        Ok(())
    }

    /// Records how a sender's inbox detects writers.
    pub fn put_writer_detection(
        &self,
        sender: &str,
        method: &str,
        reason: Option<&str>,
        checked_at: &str,
    ) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO inbox_writer_detection (sender, method, reason, checked_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (sender) DO UPDATE SET method = excluded.method,
                     reason = excluded.reason, checked_at = excluded.checked_at",
            )?
            .execute((sender, method, reason, checked_at))?;
        Ok(())
    }

    /// How each sender's inbox detects writers, with the files held open now; senders whose
    /// inbox was never looked at are absent.
    pub fn writer_detection(&self) -> Result<Vec<InboxWriterDetection>, StoreError> {
        let mut stmt = self.tx.prepare(
            "SELECT d.sender, d.method, d.reason, d.checked_at,
                    (SELECT count(*) FROM inbox_sightings s
                      WHERE s.sender = d.sender AND s.writer_open_since IS NOT NULL),
                    (SELECT min(s.writer_open_since) FROM inbox_sightings s
                      WHERE s.sender = d.sender AND s.writer_open_since IS NOT NULL)
             FROM inbox_writer_detection d ORDER BY d.sender",
        )?;
        let rows = stmt.query_map(crate::store::db::NO_PARAMS, |r| {
            Ok(InboxWriterDetection {
                sender: r.get(0)?,
                method: r.get(1)?,
                reason: r.get(2)?,
                checked_at: r.get(3)?,
                held_open: r.get::<i64>(4)? as u64,
                held_open_since: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Forgets sightings of a sender's files that are no longer in its inbox.
    pub fn forget_sightings_except(
        &self,
        sender: &str,
        present: &[String],
    ) -> Result<(), StoreError> {
        let mut stmt = self
            .tx
            .prepare("SELECT name FROM inbox_sightings WHERE sender = ?1")?;
        let names: Vec<String> = stmt
            .query_map([sender], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for name in names.iter().filter(|n| !present.contains(n)) {
            self.tx
                .prepare_cached("DELETE FROM inbox_sightings WHERE sender = ?1 AND name = ?2")?
                .execute((sender, name))?;
        }
        Ok(())
    }

    /// Counts of files per sender and status, for `status`.
    /// Per sender: files processed on business date `today`, how many of them were rejected,
    /// and the last file processed (name, status, when).
    pub fn sender_activity(
        &self,
        today: chrono::NaiveDate,
    ) -> Result<Vec<SenderActivity>, StoreError> {
        let mut stmt = self.tx.prepare(
            "SELECT f.sender,
                    SUM(CASE WHEN f.business_date = ?1 THEN 1 ELSE 0 END),
                    SUM(CASE WHEN f.business_date = ?1 AND f.status = 'rejected' THEN 1 ELSE 0 END),
                    (SELECT l.original_name FROM inbound_files l WHERE l.sender = f.sender
                     ORDER BY l.id DESC LIMIT 1),
                    (SELECT l.status FROM inbound_files l WHERE l.sender = f.sender
                     ORDER BY l.id DESC LIMIT 1),
                    MAX(f.processed_at)
             FROM inbound_files f GROUP BY f.sender ORDER BY f.sender",
        )?;
        let rows = stmt.query_map([today.to_string()], |r| {
            Ok(SenderActivity {
                sender: r.get(0)?,
                files_today: r.get(1)?,
                rejected_today: r.get(2)?,
                last_file: r.get(3)?,
                last_status: r.get(4)?,
                last_at: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn file_counts(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        let mut stmt = self.tx.prepare(
            "SELECT sender, status, COUNT(*) FROM inbound_files GROUP BY sender, status ORDER BY sender, status",
        )?;
        let rows = stmt.query_map(crate::store::db::NO_PARAMS, |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// What `status` shows of a sender's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderActivity {
    pub sender: String,
    pub files_today: i64,
    pub rejected_today: i64,
    pub last_file: String,
    pub last_status: String,
    pub last_at: String,
}
