//! The one-file transaction, and the engine that feeds it: recovery after a crash, intake
//! passes, moving files to their destination and flushing the outbox.
//!
//! For each claimed file: read and hash it, analyse it (pure, before any lock), then in one
//! `BEGIN IMMEDIATE` transaction record the file, apply its records and queue its receipt;
//! commit; then move the file from `work/` to `archive/` or `rejected/` and write the outbox.
//! Every step after the commit is repeatable, so a crash anywhere ends in the same state.
//!
//! The steps after the commit are done for a batch of files at a time (issue 14): one sync
//! makes the batch's commits durable, then the files move, each folder is synced once, one
//! transaction marks them moved and one outbox flush writes their receipts. Each file still
//! has a transaction of its own.

use std::fs;
use std::path::PathBuf;

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

use crate::apply::payments::{
    RetryScope, apply_instruction_chunk, apply_payment_chunk, retry_unmatched,
};
use crate::apply::{ApplyContext, RecordOutcome, apply_invoice_chunk};
use crate::config::{Config, Sender};
use crate::diagnostic::{Diagnostic, code};
use crate::domain::{DocumentType, FileKind, FileStatus, InboundFormat, OnInvalidRecord};
use crate::ingest::analysis::{self, Checked, Content, OpenFailure, Readable, Unreadable};
use crate::ingest::validate::Context;
use crate::ingest::validate::hex;
use crate::ingest::validate::instruction::InstructionRecord;
use crate::ingest::validate::invoice::InvoiceRecord;
use crate::ingest::validate::payment::PaymentRecord;
use crate::outbound::outbox::{self, OutboxError};
use crate::outbound::receipt::Receipt;
use crate::service::intake::writers::{LeaseProbe, WriteEvents, probe_lease};
use crate::service::intake::{self, Claimed, Reported};
use crate::store::{AppliedFile, NewInboundFile, Store, StoreError, Tx};
use crate::workspace::{Workspace, numbered_name};

/// Infrastructure failures while processing; bad input is never one of these.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error("sender `{0}` is no longer in the configuration; its files stay in work/")]
    UnknownSender(String),
    #[error(
        "business day {day} is closed: its reconciliation was written (the last closed day is {closed}); nothing can be dated on it any more — use a later --as-of"
    )]
    DayClosed { day: NaiveDate, closed: NaiveDate },
    #[error(
        "node `{0}` lost its lease: it was silent for longer than its lease and another node took over its files; nothing more is committed by this process — restart it"
    )]
    LeaseLost(String),
    #[error(
        "business day {day} is not over yet (kravflyt works on {current}); its reconciliation is written by the daily run after it ends"
    )]
    DayOpen { day: NaiveDate, current: NaiveDate },
}

fn io(
    action: &'static str,
    path: &std::path::Path,
) -> impl FnOnce(std::io::Error) -> PipelineError {
    let path = path.to_path_buf();
    move |source| PipelineError::Io {
        action,
        path,
        source,
    }
}

/// What happened to one file, for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOutcome {
    pub sender: String,
    pub name: String,
    pub status: FileStatus,
    /// Where the file ended, relative to `var/`.
    pub destination: String,
    pub receipt: String,
}

/// What one pass over files did: the files processed, and the files that hit an
/// infrastructure failure (they stay where they are and are retried).
#[derive(Debug, Default)]
pub struct Pass {
    pub outcomes: Vec<FileOutcome>,
    /// One line per failed file: `sender/name: error`.
    pub failures: Vec<String>,
    /// Files still waiting in the inboxes.
    pub scan: intake::Scan,
    /// Another node took this node's files over: it must stop ([`PipelineError::LeaseLost`]).
    pub lease_lost: bool,
}

impl Pass {
    /// Commits one claimed file into `batch`, recording a failure instead of stopping the
    /// pass: one file the disk refuses must not keep the other senders' files waiting.
    fn take(
        &mut self,
        engine: &mut Engine,
        claimed: &Claimed,
        business_date: NaiveDate,
        batch: &mut Batch,
    ) {
        if !batch.open {
            batch.open = true;
            batch.started = std::time::Instant::now();
            // Without the deferral every commit is synced on its own: slower, as safe.
            if let Err(e) = engine.store.defer_syncs() {
                tracing::debug!(error = %e, "commits are synced one by one");
            }
        }
        match engine.process_claimed(claimed, business_date) {
            Ok(Processed::Committed(committed)) => batch.files.push(committed),
            // Back in its inbox, waiting like any other file; `put_back` logged why.
            Ok(Processed::PutBack) => {}
            Err(e) => {
                self.lease_lost |= matches!(e, PipelineError::LeaseLost(_));
                self.fail(&claimed.sender, &claimed.name, &e)
            }
        }
    }

    fn fail(&mut self, sender: &str, name: &str, e: &dyn std::fmt::Display) {
        // Logged once per cause by the caller (`process` prints it; the daemon's back-off
        // logs each new cause once), not again on every retry.
        tracing::debug!(sender, file = name, error = %e, "the file could not be processed; it stays in work/ and is retried");
        self.failures.push(format!("{sender}/{name}: {e}"));
    }
}

/// Files whose transactions committed while syncs were deferred, waiting for the steps after
/// the commit: [`Engine::finish_batch`].
#[derive(Debug)]
struct Batch {
    /// The store defers its syncs for this batch.
    open: bool,
    started: std::time::Instant,
    files: Vec<Committed>,
}

impl Default for Batch {
    fn default() -> Batch {
        Batch {
            open: false,
            started: std::time::Instant::now(),
            files: Vec::new(),
        }
    }
}

/// At most this many files wait in a batch for their moves and receipts: enough that the
/// syncs of a batch cost little per file, few enough that a crash leaves little to finish.
const BATCH_FILES: usize = 64;

/// A batch is finished once it has been open this long, so the receipts of the files before a
/// large one are not held back by it (the daemon's latency is per file: issue 8).
const BATCH_TIME: std::time::Duration = std::time::Duration::from_millis(200);

impl Batch {
    fn due(&self) -> bool {
        self.open && (self.files.len() >= BATCH_FILES || self.started.elapsed() >= BATCH_TIME)
    }
}

/// A committed file, before its move and receipt.
#[derive(Debug)]
struct Committed {
    outcome: FileOutcome,
    file_id: i64,
    /// Where it is now, in `work/`.
    path: PathBuf,
    format: Option<InboundFormat>,
    kind: Option<FileKind>,
    counts: [u64; 4],
    started: std::time::Instant,
}

/// How the one-file transaction ended.
#[derive(Debug)]
enum Processed {
    /// Committed: its receipt is queued; the file is still in `work/`, and moves to `archive/`
    /// or `rejected/` when its batch is finished.
    Committed(Committed),
    /// Rolled back because the file changed while it was read (or a writer had it open): it is
    /// back in its inbox, untouched, and is taken again once its writer is done.
    PutBack,
}

/// What identifies the bytes of an open file: the inode and what any write changes. `ctime`
/// is set by the kernel on every write and cannot be set back by the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity {
    device: u64,
    inode: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Identity {
    fn of(meta: &fs::Metadata) -> Identity {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Identity {
                device: meta.dev(),
                inode: meta.ino(),
                size: meta.size(),
                mtime: (meta.mtime(), meta.mtime_nsec()),
                ctime: (meta.ctime(), meta.ctime_nsec()),
            }
        }
        #[cfg(not(unix))]
        {
            let nanos = |t: std::io::Result<std::time::SystemTime>| {
                t.ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or((0, 0), |d| (d.as_secs() as i64, d.subsec_nanos() as i64))
            };
            Identity {
                device: 0,
                inode: 0,
                size: meta.len(),
                mtime: nanos(meta.modified()),
                ctime: nanos(meta.created()),
            }
        }
    }
}

/// The result of a file's analysis and application, before it is recorded.
struct Settled {
    format: Option<InboundFormat>,
    kind: Option<FileKind>,
    status: FileStatus,
    total: u64,
    skipped: u64,
    accepted: u64,
    unchanged: u64,
    diagnostics: Vec<Diagnostic>,
}

/// Configuration, workspace and store together: what every command that processes files uses.
pub struct Engine {
    pub config: Config,
    pub workspace: Workspace,
    pub store: Store,
    reported: Reported,
    /// A progress bar for one-shot runs on a terminal (`process`); `None` for the daemon and
    /// when output goes to a file or a pipe.
    pub progress: Option<indicatif::ProgressBar>,
    /// What the daemon's inotify watcher saw written, for inboxes where the kernel cannot say
    /// whether a writer holds a file (`None` without a watcher: one-shot `process`).
    pub write_events: Option<WriteEvents>,
    /// This daemon as a node among several on one database (set by `run` once registered):
    /// each file transaction checks, under the write lock, that the node still holds its
    /// lease before it commits ([`PipelineError::LeaseLost`]).
    pub node: Option<crate::store::NodeIdentity>,
}

impl Engine {
    /// Opens the workspace: creates its folders, opens (or creates) the database and records
    /// the configured creditors.
    pub fn open(config: Config) -> Result<Engine, PipelineError> {
        let workspace = config.workspace();
        fs::create_dir_all(workspace.root()).map_err(io("cannot create", workspace.root()))?;
        for sender in &config.senders {
            workspace.create_sender_folders(&sender.id).map_err(io(
                "cannot create the folders of",
                &workspace.inbox(&sender.id),
            ))?;
        }
        let mut store = Store::open_at(&crate::store::StoreLocation::from_config(&config))?;
        store.sync_creditors(config.creditors.values())?;
        Ok(Engine {
            config,
            workspace,
            store,
            reported: Reported::default(),
            progress: None,
            write_events: None,
            node: None,
        })
    }

    /// Finishes whatever a crash interrupted: files committed but not moved, files claimed but
    /// not processed, outbound rows committed but not written.
    pub fn recover(&mut self, business_date: NaiveDate) -> Result<Pass, PipelineError> {
        // Every outbound file is written under the write lock (`outbox::flush`, the daily
        // report), by whichever node holds it: with the lock held here, every temporary file is
        // a leftover of a killed process, never one another node is writing now.
        let cleaning = self.store.write()?;
        let folders = self
            .config
            .senders
            .iter()
            .map(|s| s.id.as_str())
            .chain([crate::workspace::AGENCY_FOLDER]);
        for folder in folders {
            let dir = self.workspace.outbox(folder);
            let removed =
                outbox::remove_stale_temp_files(&dir).map_err(io("cannot clean", &dir))?;
            if removed > 0 {
                tracing::info!(
                    folder,
                    removed,
                    "removed temporary files left by an interrupted write"
                );
            }
        }
        drop(cleaning);
        let unmoved = self.store.read()?.unmoved_files()?;
        for file in unmoved {
            if !self.config.node.serves(&file.sender) {
                // Another node's sender: its files are in that node's `var/`.
                continue;
            }
            let work = self.workspace.work(&file.sender).join(&file.original_name);
            let destination = self.workspace.absolute(file.destination.as_ref());
            let inbox = self.workspace.inbox(&file.sender).join(&file.original_name);
            if fs::symlink_metadata(&work).is_ok() {
                tracing::info!(sender = %file.sender, file = %file.original_name, "finishing the move of a file committed before a crash");
                self.move_to_destination(&work, &destination)?;
            } else if self.held_by_another_node(&file.sender, &file.original_name) {
                // Committed by another node that has not moved it yet (its batch is not
                // finished), or that went silent: that node moves it, or whoever takes over
                // its files does. Looked at before the destination: a move renames the file
                // from there to its destination, so it is found in one place or the other.
                continue;
            } else if fs::symlink_metadata(&destination).is_ok() {
                // Moved before the crash; only the mark is missing.
            } else if holds_bytes(&inbox, &file.sha256) {
                // The claim is not synced on its own (issue 14): a power loss may undo it
                // after the commit was made durable. The bytes in the inbox are the ones the
                // commit applied, so they are the file.
                tracing::info!(sender = %file.sender, file = %file.original_name, "finishing the move of a file committed before a power loss undid its claim");
                self.move_to_destination(&inbox, &destination)?;
            } else if self.workspace.node().is_some() {
                // Perhaps renamed from one node's folder to another's while we looked (a
                // takeover): left unmarked, so whoever holds it moves it.
                tracing::warn!(sender = %file.sender, file = %file.original_name, destination = %file.destination, "a committed file is neither in a work/ folder nor at its destination");
                continue;
            } else {
                tracing::error!(sender = %file.sender, file = %file.original_name, destination = %file.destination, "a committed file is neither in work/ nor at its destination");
            }
            let tx = self.store.write()?;
            tx.mark_moved(file.id)?;
            tx.commit()?;
        }
        let mut pass = Pass::default();
        let mut batch = Batch::default();
        for claimed in intake::leftovers(&mut self.store, &self.config, &self.workspace)? {
            tracing::info!(sender = %claimed.sender, file = %claimed.name, "processing a file left in work/ by an interrupted run");
            pass.take(self, &claimed, business_date, &mut batch);
            if batch.due() {
                self.finish_batch(&mut batch, &mut pass);
            }
        }
        self.finish_batch(&mut batch, &mut pass);
        outbox::flush(&mut self.store, &self.workspace)?;
        Ok(pass)
    }

    /// Whether another node's `work/` holds a file of this sender and name (several nodes on
    /// a shared `var/`).
    fn held_by_another_node(&self, sender: &str, name: &str) -> bool {
        let Some(me) = self.workspace.node() else {
            return false;
        };
        let Ok(nodes) = fs::read_dir(self.workspace.root().join("work")) else {
            return false;
        };
        nodes.flatten().any(|node| {
            node.file_name().to_str() != Some(me)
                && fs::symlink_metadata(node.path().join(sender).join(name)).is_ok()
        })
    }

    /// Takes over the files of every node that went silent for longer than its lease (SPEC
    /// §10) and finishes them as [`Engine::recover`] finishes a crashed run's: a file the
    /// silent node committed is only moved (found by its row, or by its SHA-256 as a
    /// duplicate would be), the others are applied. Returns the nodes taken over.
    ///
    /// The renames out of `work/<silent>/` happen inside a write transaction that re-reads the
    /// silent node's row under the lock and marks it `taken_over` before committing: a node
    /// that registers again under that name does so under the same lock, so either it finds
    /// its folder already emptied, or it is alive and nothing is taken from it. Two survivors
    /// never both take a file: the second finds the row marked (and a rename of a file
    /// already gone reports `NotFound`, which is skipped).
    pub fn take_over_silent_nodes(
        &mut self,
        business_date: NaiveDate,
    ) -> Result<Vec<String>, PipelineError> {
        let Some(me) = self.workspace.node().map(str::to_owned) else {
            return Ok(Vec::new());
        };
        // A cheap look first, without the lock: usually every node is alive.
        let silent: Vec<String> = self
            .store
            .read()?
            .nodes()?
            .into_iter()
            .filter(|n| n.name != me && n.needs_takeover())
            .map(|n| n.name)
            .collect();
        if silent.is_empty() {
            return Ok(Vec::new());
        }
        let mut taken = Vec::new();
        for name in silent {
            let tx = self.store.write()?;
            let Some(row) = tx.node(&name)? else {
                continue;
            };
            if !row.needs_takeover() {
                continue;
            }
            let moved = move_node_files(&self.workspace, &name, |s| self.config.node.serves(s))?;
            tx.mark_taken_over(&name, &me)?;
            tx.commit()?;
            tracing::info!(
                node = %name,
                silent_for_s = row.silent_for_ms() / 1000,
                files = moved,
                "took over the files of a node that went silent for longer than its lease"
            );
            taken.push(name);
        }
        if !taken.is_empty() {
            let pass = self.recover(business_date)?;
            if !pass.failures.is_empty() {
                tracing::warn!(failures = ?pass.failures, "some files taken over could not be finished yet; they stay in work/ and are retried");
            }
        }
        Ok(taken)
    }

    /// Scans the inboxes once and processes every ready file.
    pub fn intake_pass(
        &mut self,
        business_date: NaiveDate,
        stop: &dyn Fn() -> bool,
    ) -> Result<Pass, PipelineError> {
        let mut scan = intake::scan(
            &mut self.store,
            &self.config,
            &self.workspace,
            intake::now_utc(),
            &mut self.reported,
            self.write_events.as_ref(),
        )?;
        let ready = std::mem::take(&mut scan.ready);
        let mut pass = Pass {
            scan,
            ..Pass::default()
        };
        if let Some(bar) = &self.progress {
            bar.inc_length(ready.len() as u64);
        }
        let mut batch = Batch::default();
        for file in ready {
            if batch.due() {
                self.finish_batch(&mut batch, &mut pass);
            }
            if stop() || pass.lease_lost {
                break;
            }
            if let Some(bar) = &self.progress {
                bar.set_message(format!("{}/{}", file.sender, file.name));
                bar.inc(1);
            }
            let claimed = match intake::claim(&self.workspace, &file) {
                Ok(Some(claimed)) => claimed,
                Ok(None) => continue,
                Err(e) => {
                    // Permissions or a full disk: the file stays in the inbox and is retried.
                    tracing::debug!(sender = %file.sender, file = %file.name, error = %e, "cannot claim the file; it stays in the inbox");
                    pass.failures
                        .push(format!("{}/{}: cannot claim: {e}", file.sender, file.name));
                    continue;
                }
            };
            pass.take(self, &claimed, business_date, &mut batch);
        }
        // Also when a stop was asked for: the files in hand are always finished.
        self.finish_batch(&mut batch, &mut pass);
        Ok(pass)
    }

    /// The steps after the commit, for every file of `batch`: one sync makes their commits
    /// durable (nothing outside the database may show a commit a power loss could take back),
    /// then each file moves to its destination, each destination folder is synced once, one
    /// transaction marks them moved, and one flush writes their receipts. A file whose move
    /// fails stays in `work/`, committed, and is moved by the next recovery; the others go on.
    fn finish_batch(&mut self, batch: &mut Batch, pass: &mut Pass) {
        if !batch.open {
            return;
        }
        batch.open = false;
        let files = std::mem::take(&mut batch.files);
        let moved = self.move_batch(files, pass);
        // The mark above is synced by the flush's commit; losing it to a power loss would
        // cost nothing: recovery finds the file at its destination and only marks it.
        if let Err(e) = self.store.resume_syncs() {
            tracing::warn!(error = %e, "cannot make the database sync each commit again");
        }
        if moved.is_empty() {
            return;
        }
        // The files are done; a receipt the disk refuses now stays queued and is written by
        // the next flush, which reports the failure (the file must not be retried for it).
        if let Err(e) = outbox::flush(&mut self.store, &self.workspace) {
            tracing::debug!(error = %e, "outbound files stay queued");
        }
        for file in moved {
            let [total, accepted, unchanged, rejected] = file.counts;
            tracing::info!(
                sender = %file.outcome.sender,
                file = %file.outcome.name,
                format = %file.format.map_or("unknown", |f| f.as_str()),
                kind = %file.kind.map_or("unknown", |k| k.as_str()),
                status = %file.outcome.status,
                records = total,
                accepted,
                unchanged,
                rejected,
                ms = file.started.elapsed().as_millis() as u64,
                "file processed"
            );
            pass.outcomes.push(file.outcome);
        }
    }

    /// [`Engine::finish_batch`] up to the mark: returns the files moved and marked; the
    /// others are failures in `pass`.
    fn move_batch(&mut self, files: Vec<Committed>, pass: &mut Pass) -> Vec<Committed> {
        if let Err(e) = self.store.sync() {
            for file in &files {
                pass.fail(&file.outcome.sender, &file.outcome.name, &e);
            }
            return Vec::new();
        }
        let mut moved: Vec<(Committed, PathBuf)> = Vec::with_capacity(files.len());
        for file in files {
            let to = self.workspace.absolute(file.outcome.destination.as_ref());
            match self.rename_to_destination(&file.path, &to) {
                Ok(dir) => moved.push((file, dir)),
                Err(e) => pass.fail(&file.outcome.sender, &file.outcome.name, &e),
            }
        }
        let mut dirs: Vec<PathBuf> = moved.iter().map(|(_, dir)| dir.clone()).collect();
        dirs.sort();
        dirs.dedup();
        for dir in dirs {
            if let Err(e) = outbox::sync_dir(&dir) {
                // Renamed, but perhaps not durably: not marked moved, so the next recovery
                // finds the file at its destination and marks it then.
                let e = io("cannot sync", &dir)(e);
                moved.retain(|(file, d)| {
                    if *d == dir {
                        pass.fail(&file.outcome.sender, &file.outcome.name, &e);
                    }
                    *d != dir
                });
            }
        }
        let marked = (|| {
            let tx = self.store.write()?;
            for (file, _) in &moved {
                tx.mark_moved(file.file_id)?;
            }
            tx.commit()
        })();
        if let Err(e) = marked {
            for (file, _) in &moved {
                pass.fail(&file.outcome.sender, &file.outcome.name, &e);
            }
            return Vec::new();
        }
        moved.into_iter().map(|(file, _)| file).collect()
    }

    /// The one-file transaction for a claimed file; its move and receipt wait for the end of
    /// its batch ([`Engine::finish_batch`]).
    ///
    /// The file is read through one open handle, so every pass reads the same inode, and
    /// before the commit its identity, its hash and the absence of writers are checked again:
    /// the bytes applied are the bytes archived, or nothing is applied (issue 17).
    fn process_claimed(
        &mut self,
        claimed: &Claimed,
        business_date: NaiveDate,
    ) -> Result<Processed, PipelineError> {
        let started = std::time::Instant::now();
        let sender = self
            .config
            .sender(&claimed.sender)
            .ok_or_else(|| PipelineError::UnknownSender(claimed.sender.clone()))?
            .clone();
        let file = fs::File::open(&claimed.path).map_err(io("cannot read", &claimed.path))?;
        let identity = Identity::of(&file.metadata().map_err(io("cannot read", &claimed.path))?);
        if probe_lease(&file) == LeaseProbe::WriterOpen {
            return self.put_back(
                claimed,
                "a process still has it open for writing".to_owned(),
            );
        }
        let size = identity.size;
        let sha256 = hash_file(&file, &claimed.path)?;
        let content = FileContent(&file);
        let ctx = Context {
            config: &self.config,
            sender: &sender,
        };
        let opened = match claimed.stale_reason {
            Some(reason) => Err(Unreadable {
                format: None,
                kind: None,
                diagnostics: vec![Diagnostic::file(
                    code::INCOMPLETE_FILE,
                    format!(
                        "the file stayed incomplete for longer than {}: {reason}; the upload was probably cut off, send it again",
                        humantime::format_duration(sender.intake.stale_after)
                    ),
                )],
            }),
            None => open_within_limits(&content, size, ctx, &claimed.path)?,
        };

        let processed_at = chrono::Utc::now().to_rfc3339();
        let archive_date = self.config.today();
        let mut retry: Option<Retry> = None;
        let (file_id, destination, settled, receipt_name) = loop {
            let tx = self.store.write()?;
            let duplicate = tx.applied_file(&sender.id, &sha256)?;
            let readable = duplicate.is_some()
                || (opened.is_ok() && retry.as_ref().is_none_or(|r| r.readable));
            let folder = if readable {
                self.workspace.archive(&sender.id, archive_date)
            } else {
                self.workspace.rejected(&sender.id)
            };
            let destination = free_destination(&tx, &self.workspace, &folder, &claimed.name)?;
            // Recorded first, so the records the file applies can refer to it; its status and
            // counts are settled below, in the same transaction.
            let file_id = tx.insert_file(&NewInboundFile {
                sender: &sender.id,
                original_name: &claimed.name,
                sha256: &sha256,
                size,
                format: None,
                kind: None,
                status: FileStatus::Rejected,
                records_total: 0,
                records_accepted: 0,
                records_unchanged: 0,
                records_rejected: 0,
                duplicate_of: duplicate.as_ref().map(|d| d.id),
                business_date,
                processed_at: &processed_at,
                destination: &destination,
            })?;
            let context = SettleContext {
                config: &self.config,
                sender: &sender,
                business_date,
                file_id,
            };
            let (settled, again) =
                settle(&tx, context, duplicate, &opened, &content, retry.take())?;
            if let Some(again) = again {
                // Records were applied before the file turned out to be all-or-nothing
                // rejected or unreadable: roll back (drop) and record the file alone.
                retry = Some(again);
                continue;
            }
            tx.finish_file(
                file_id,
                settled.format,
                settled.kind,
                settled.status,
                [
                    settled.total,
                    settled.accepted,
                    settled.unchanged,
                    settled.rejected(),
                    settled.skipped,
                ],
            )?;
            let receipt = Receipt {
                file_name: claimed.name.clone(),
                sha256: sha256.clone(),
                format: settled.format,
                kind: settled.kind,
                status: settled.status,
                records: settled.total,
                accepted: settled.accepted,
                unchanged: settled.unchanged,
                rejected: settled.rejected(),
                skipped: settled.skipped,
                diagnostics: settled.diagnostics.clone(),
                notices: claimed
                    .notice
                    .iter()
                    .map(|n| Diagnostic::file(code::NO_FINAL_LINE_BREAK, n.clone()))
                    .collect(),
            };
            let mut receipt_name = String::new();
            for (name, content) in receipt.renderings(&sender) {
                let name = free_outbox_name(&tx, &sender.id, &name)?;
                tx.insert_outbox(
                    &sender.id,
                    &name,
                    "receipt",
                    &content,
                    Some(file_id),
                    &processed_at,
                )?;
                if receipt_name.is_empty() {
                    receipt_name = name;
                }
            }
            if let Some(node) = &self.node
                && !tx.node_holds_lease(node)?
            {
                // Another node took this node's files over: it applies this one.
                return Err(PipelineError::LeaseLost(node.name.clone()));
            }
            if let Some(reason) = changed_since(&file, &claimed.path, identity, &sha256)? {
                drop(tx);
                return self.put_back(claimed, reason);
            }
            tx.commit()?;
            break (file_id, destination, settled, receipt_name);
        };

        Ok(Processed::Committed(Committed {
            outcome: FileOutcome {
                sender: sender.id.clone(),
                name: claimed.name.clone(),
                status: settled.status,
                destination,
                receipt: receipt_name,
            },
            file_id,
            path: claimed.path.clone(),
            format: settled.format,
            kind: settled.kind,
            counts: [
                settled.total,
                settled.accepted,
                settled.unchanged,
                settled.rejected(),
            ],
            started,
        }))
    }

    /// Puts a claimed file whose transaction was rolled back back in its inbox, and restarts
    /// its quiet period. A file of the same name uploaded meanwhile is never overwritten: then
    /// this one stays in `work/`, and the next recovery takes it.
    fn put_back(&mut self, claimed: &Claimed, reason: String) -> Result<Processed, PipelineError> {
        let inbox = self.workspace.inbox(&claimed.sender);
        let target = inbox.join(&claimed.name);
        if fs::symlink_metadata(&target).is_ok() {
            tracing::warn!(sender = %claimed.sender, file = %claimed.name, reason = %reason, "the file changed while it was read and nothing of it was applied; a new file of the same name is in the inbox, so this one stays in work/ until the next recovery");
            return Ok(Processed::PutBack);
        }
        fs::rename(&claimed.path, &target).map_err(io("cannot put back", &target))?;
        outbox::sync_dir(&inbox).map_err(io("cannot sync", &inbox))?;
        let tx = self.store.write()?;
        tx.forget_sighting(&claimed.sender, &claimed.name)?;
        tx.commit()?;
        tracing::warn!(sender = %claimed.sender, file = %claimed.name, reason = %reason, "the file changed while it was read: nothing of it was applied, and it is back in the inbox, to be taken once its writer is done");
        Ok(Processed::PutBack)
    }

    /// Moves a committed file to its destination and makes the move durable (recovery).
    fn move_to_destination(
        &self,
        from: &std::path::Path,
        to: &std::path::Path,
    ) -> Result<(), PipelineError> {
        let dir = self.rename_to_destination(from, to)?;
        outbox::sync_dir(&dir).map_err(io("cannot sync", &dir))?;
        Ok(())
    }

    /// Renames a committed file to its destination; returns the folder, which the caller
    /// syncs (once for all the files of a batch that went there).
    fn rename_to_destination(
        &self,
        from: &std::path::Path,
        to: &std::path::Path,
    ) -> Result<PathBuf, PipelineError> {
        let dir = to.parent().unwrap_or(self.workspace.root());
        fs::create_dir_all(dir).map_err(io("cannot create", dir))?;
        crate::faults::check(to).map_err(io("cannot move the file to", to))?;
        // An upload keeps the mode the sender's SFTP session gave it; the archived copy holds
        // personal data and is for the agency only (set before the move, so a crash between
        // the two leaves no readable copy in archive/). Only the file's owner may change its
        // mode, and an upload may belong to the sender's SFTP account: then the folders keep it
        // private (`archive/` is the agency's alone, created under the unit's umask), and the
        // mode stays as the upload left it.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            match fs::set_permissions(from, fs::Permissions::from_mode(0o640)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    tracing::debug!(file = %from.display(), "the file belongs to another account; its mode is left as it is")
                }
                Err(e) => return Err(io("cannot restrict the permissions of", from)(e)),
            }
        }
        fs::rename(from, to).map_err(io("cannot move the file to", to))?;
        Ok(dir.to_path_buf())
    }

    /// The time-driven case steps for one as-of date (one transaction).
    pub fn run_steps(
        &mut self,
        as_of: NaiveDate,
    ) -> Result<crate::apply::steps::StepSummary, PipelineError> {
        let summary = crate::apply::steps::run_daily_steps(&mut self.store, &self.config, as_of)?;
        tracing::info!(
            %as_of,
            letters = summary.letters,
            to_collection = summary.to_collection,
            heavy_fees = summary.heavy_fees,
            limitation_warnings = summary.limitation_warnings,
            "daily steps run"
        );
        Ok(summary)
    }

    /// Whether the daily steps of `as_of` already ran and no file was recorded since. Running
    /// them again would change nothing (a step is taken once per date, and what a case is due
    /// for changes with the case, which only files change here, or the date), so `process`
    /// leaves them out: a second run on the same date does not read every open case again
    /// (issue 14). After a file they run again, so its cases take their first step the same
    /// day. (A configuration or rule table edited in between is first looked at on the next
    /// date, as in the daemon, which runs a date's steps once.)
    pub fn steps_done(&mut self, as_of: NaiveDate) -> Result<bool, PipelineError> {
        let tx = self.store.read()?;
        if tx.meta("last_steps_date")?.as_deref() != Some(as_of.to_string().as_str()) {
            return Ok(false);
        }
        let seen = tx
            .meta(crate::apply::steps::LAST_STEPS_FILE)?
            .and_then(|id| id.parse::<i64>().ok());
        Ok(seen == Some(tx.last_file_id()?))
    }

    /// The daemon's daily run: the steps for every day since the last run, in order, up to
    /// and including `today` (a daemon that was down catches up day by day).
    pub fn catch_up_steps(&mut self, today: NaiveDate) -> Result<(), PipelineError> {
        let last = self
            .store
            .read()?
            .meta("last_steps_date")?
            .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok());
        let mut day = match last {
            Some(last) if last >= today => return Ok(()),
            Some(last) => last.succ_opt().unwrap_or(today),
            None => today,
        };
        // A day reconciled by hand (`reconcile --date`) while the daemon was down is closed:
        // its steps are not run after the fact; catching up goes on after it.
        if let Some(closed) = self.store.read()?.last_reconciled_day()?
            && day <= closed
        {
            tracing::warn!(from = %day, through = %closed, "days already reconciled are closed; their daily steps are not run");
            day = closed.succ_opt().unwrap_or(today);
        }
        while day <= today {
            // Once per day across every node on the database: decided under the write lock.
            match crate::apply::steps::run_daily_steps_once(&mut self.store, &self.config, day)? {
                Some(summary) => {
                    tracing::info!(
                        as_of = %day,
                        letters = summary.letters,
                        to_collection = summary.to_collection,
                        heavy_fees = summary.heavy_fees,
                        limitation_warnings = summary.limitation_warnings,
                        "daily steps run"
                    );
                    self.record_run(day)?;
                }
                None => {
                    tracing::debug!(as_of = %day, "the daily steps of this day already ran (on another node)")
                }
            }
            // The daily run: the steps, then the reconciliation of the days before.
            self.reconcile_closed_days(day)?;
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        Ok(())
    }

    /// Refuses a business date on or before the last reconciled day: a reconciled day never
    /// changes.
    pub fn ensure_open_day(&mut self, day: NaiveDate) -> Result<(), PipelineError> {
        match self.store.read()?.last_reconciled_day()? {
            Some(closed) if day <= closed => Err(PipelineError::DayClosed { day, closed }),
            _ => Ok(()),
        }
    }

    /// The business date for files arriving now: today, or the day after the last closed
    /// one if the clock went back.
    pub fn business_date_now(&mut self) -> Result<NaiveDate, PipelineError> {
        let today = self.config.today();
        Ok(match self.store.read()?.last_reconciled_day()? {
            Some(closed) if today <= closed => closed.succ_opt().unwrap_or(today),
            _ => today,
        })
    }

    /// Writes the reconciliation files of every business day before `today` that has none.
    pub fn reconcile_closed_days(&mut self, today: NaiveDate) -> Result<(), PipelineError> {
        let queued =
            crate::outbound::files::queue_reconciliations(&mut self.store, &self.config, today)?;
        for (day, _) in &queued {
            tracing::info!(%day, "reconciliation files queued");
        }
        if !queued.is_empty() {
            self.flush_outbox()?;
        }
        let mut totals: std::collections::BTreeMap<_, _> = queued.into_iter().collect();
        // The day's report, now that its figures are final — and the report of any day
        // reconciled by a run that was stopped before it wrote it (the report is a file of
        // its own, written after the reconciliation commits, so it is marked when written).
        let unreported = self.store.read()?.days_without_report()?;
        for day in unreported {
            self.write_report_once(day, totals.remove(&day))?;
        }
        Ok(())
    }

    /// Writes `day`'s report and marks it written, in one write transaction that first checks,
    /// under the lock, that no node wrote it since (SPEC §10: once, on one node). A crash
    /// after the file's rename and before the commit leaves it unmarked: the next run writes
    /// it again, over the same name.
    fn write_report_once(
        &mut self,
        day: NaiveDate,
        reconciliation: Option<crate::outbound::reconciliation::DayTotals>,
    ) -> Result<(), PipelineError> {
        let tx = self.store.write()?;
        if !tx.days_without_report()?.contains(&day) {
            return Ok(());
        }
        let html =
            crate::outbound::daily_report::build_report(&tx, &self.config, day, reconciliation)?
                .to_html();
        let path = self
            .workspace
            .outbox(crate::workspace::AGENCY_FOLDER)
            .join(crate::outbound::daily_report::file_name(day));
        outbox::write_atomic(&path, html.as_bytes())
            .map_err(io("cannot write the report", &path))?;
        tx.mark_report_written(day, &chrono::Utc::now().to_rfc3339())?;
        tx.commit()?;
        tracing::info!(%day, path = %path.display(), "daily report written");
        Ok(())
    }

    /// Writes the agency's HTML report of `day` to `outbox/_agency/report-YYYYMMDD.html`,
    /// replacing an earlier one of the same day (its "cases by state" are as of now).
    /// `reconciliation`: the day's summaries if this run just computed them.
    pub fn write_report(
        &mut self,
        day: NaiveDate,
        reconciliation: Option<crate::outbound::reconciliation::DayTotals>,
    ) -> Result<std::path::PathBuf, PipelineError> {
        let html = {
            let tx = self.store.read()?;
            crate::outbound::daily_report::build_report(&tx, &self.config, day, reconciliation)?
                .to_html()
        };
        let path = self
            .workspace
            .outbox(crate::workspace::AGENCY_FOLDER)
            .join(crate::outbound::daily_report::file_name(day));
        outbox::write_atomic(&path, html.as_bytes())
            .map_err(io("cannot write the report", &path))?;
        tracing::info!(%day, path = %path.display(), "daily report written");
        Ok(path)
    }

    /// `kravflyt reconcile --date D`: (re)writes `day`'s reconciliation files, identical to
    /// any written before; returns their paths.
    pub fn reconcile_day(
        &mut self,
        day: NaiveDate,
    ) -> Result<Vec<std::path::PathBuf>, PipelineError> {
        let current = {
            let tx = self.store.read()?;
            let last = tx.last_business_day()?;
            let today = self.config.today();
            last.map_or(today, |l| l.max(today))
        };
        if day >= current {
            return Err(PipelineError::DayOpen { day, current });
        }
        let files =
            crate::outbound::files::regenerate_reconciliation(&mut self.store, &self.config, day)?;
        self.flush_outbox()?;
        let mut paths = Vec::new();
        for file in files {
            let path = self.workspace.outbox(&file.folder).join(&file.name);
            if !file.new {
                // Made before and checked identical: written again from what was queued.
                outbox::write_queued(&mut self.store, file.outbox_id, &path).map_err(
                    |e| match e {
                        OutboxError::Io { source, .. } => {
                            io("cannot write the reconciliation file", &path)(source)
                        }
                        other => other.into(),
                    },
                )?;
            }
            paths.push(path);
        }
        Ok(paths)
    }

    /// `kravflyt verify`: SQLite's integrity and foreign-key checks, then the ledger's own
    /// promises — allocations add up to their payments, payments' postings agree with their
    /// allocations, every reconciled day rebuilds to the bytes that were written. Returns each
    /// check's name with its problems (empty: passed).
    pub fn verify(&mut self) -> Result<Vec<(&'static str, Vec<String>)>, PipelineError> {
        // PostgreSQL checks its own pages: there SQLite's integrity check has nothing to look
        // at, and is not listed as if it had. References are checked on both.
        let mut checks = Vec::new();
        if !self.store.is_postgres() {
            checks.push(("sqlite integrity_check", self.store.integrity_problems()?));
        }
        checks.push(("foreign keys", self.store.foreign_key_problems()?));
        let tx = self.store.read()?;
        checks.push((
            "allocations add up to their payments",
            tx.unbalanced_allocations()?,
        ));
        checks.push((
            "payments' postings agree with their allocations",
            tx.postings_disagreeing_with_allocations()?,
        ));
        let mut differences = Vec::new();
        for day in tx.reconciled_days()? {
            match crate::outbound::files::reconciliation_differences(&tx, &self.config, day) {
                Ok(found) => differences.extend(found),
                Err(e) => differences.push(format!("{day}: {e}")),
            }
        }
        checks.push((
            "reconciled days rebuild byte for byte and tie out",
            differences,
        ));
        Ok(checks)
    }

    /// `kravflyt backup PATH`: an online copy of the database (the daemon may keep running).
    pub fn backup(
        &mut self,
        dest: &std::path::Path,
    ) -> Result<crate::store::BackupSummary, PipelineError> {
        Ok(self.store.backup_to(dest)?)
    }

    /// Queues status files for new events and a letters file for new letters, dated
    /// `business_date`, then writes them.
    pub fn report(&mut self, business_date: NaiveDate) -> Result<(), PipelineError> {
        let reported =
            crate::outbound::files::queue_reports(&mut self.store, &self.config, business_date)?;
        if reported.status_files + reported.letters_files > 0 {
            tracing::info!(
                status_files = reported.status_files,
                letters_files = reported.letters_files,
                "outbound files queued"
            );
        }
        self.flush_outbox()?;
        Ok(())
    }

    /// Writes pending outbound files.
    pub fn flush_outbox(&mut self) -> Result<usize, PipelineError> {
        Ok(outbox::flush(&mut self.store, &self.workspace)?)
    }

    /// Records the as-of date of the last completed `process` run (for interest shown by
    /// `case show`).
    pub fn record_run(&mut self, as_of: NaiveDate) -> Result<(), PipelineError> {
        let tx = self.store.write()?;
        tx.set_meta("last_as_of", &as_of.to_string())?;
        tx.set_meta("last_run_at", &chrono::Utc::now().to_rfc3339())?;
        tx.commit()?;
        Ok(())
    }
}

impl Settled {
    fn rejected(&self) -> u64 {
        self.total - self.accepted - self.unchanged
    }
}

/// What `settle` needs besides the transaction and the analysis.
#[derive(Clone, Copy)]
struct SettleContext<'a> {
    config: &'a Config,
    sender: &'a Sender,
    business_date: NaiveDate,
    file_id: i64,
}

/// Why a file's transaction is rolled back and the file recorded again without its records.
#[derive(Debug, Clone)]
struct Retry {
    diagnostics: Vec<Diagnostic>,
    /// `false` when the file turned out unreadable half-way (it goes to `rejected/`).
    readable: bool,
}

/// At most this many problems are listed in one receipt; a file with more is almost always
/// one systematic mistake, and a receipt of a million lines helps nobody.
pub const MAX_LISTED_PROBLEMS: usize = 10_000;

/// The problems of a file, listed up to [`MAX_LISTED_PROBLEMS`].
#[derive(Default)]
struct Problems {
    listed: Vec<Diagnostic>,
    unlisted: u64,
}

impl Problems {
    fn extend(&mut self, diagnostics: impl IntoIterator<Item = Diagnostic>) {
        for d in diagnostics {
            if self.listed.len() < MAX_LISTED_PROBLEMS {
                self.listed.push(d);
            } else {
                self.unlisted += 1;
            }
        }
    }

    fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.listed.sort_by(|a, b| a.position.cmp(&b.position));
        if self.unlisted > 0 {
            self.listed.push(Diagnostic::file(
                code::TOO_MANY_PROBLEMS,
                format!(
                    "{} more problem(s) are not listed; correct the ones above, which are probably the same mistake, and send the file again",
                    self.unlisted
                ),
            ));
        }
        self.listed
    }
}

/// How many records of a chunk a file applies at once: large enough that a chunk's set-based
/// reads and bulk writes cost little per record, small enough that its working set stays a few
/// megabytes whatever the file's size.
pub const CHUNK_RECORDS: usize = 4096;

/// [`CHUNK_RECORDS`]; debug builds take `KRAVFLYT_CHUNK_RECORDS` instead when it is set, so the
/// tests cross chunk boundaries with a handful of records. Release builds ignore it.
fn chunk_records() -> usize {
    if cfg!(debug_assertions)
        && let Some(size) = std::env::var("KRAVFLYT_CHUNK_RECORDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&n| n > 0)
    {
        return size;
    }
    CHUNK_RECORDS
}

/// Validated records waiting to be applied together, in file order, all of one kind.
#[derive(Debug, Default)]
enum Chunk {
    #[default]
    Empty,
    Invoices(Vec<InvoiceRecord>),
    Payments(Vec<PaymentRecord>),
    Instructions(Vec<InstructionRecord>),
}

impl Chunk {
    /// Adds an invoice or credit note; returns the chunk to apply first when it was full or held
    /// another kind (the record then starts the next chunk, which `self` becomes).
    fn push_invoice(&mut self, record: InvoiceRecord) -> Option<Chunk> {
        if let Chunk::Invoices(records) = self
            && records.len() < chunk_records()
        {
            records.push(record);
            return None;
        }
        Some(std::mem::replace(self, Chunk::Invoices(vec![record]))).filter(Chunk::holds_some)
    }

    fn push_payment(&mut self, record: PaymentRecord) -> Option<Chunk> {
        if let Chunk::Payments(records) = self
            && records.len() < chunk_records()
        {
            records.push(record);
            return None;
        }
        Some(std::mem::replace(self, Chunk::Payments(vec![record]))).filter(Chunk::holds_some)
    }

    fn push_instruction(&mut self, record: InstructionRecord) -> Option<Chunk> {
        if let Chunk::Instructions(records) = self
            && records.len() < chunk_records()
        {
            records.push(record);
            return None;
        }
        Some(std::mem::replace(self, Chunk::Instructions(vec![record]))).filter(Chunk::holds_some)
    }

    fn holds_some(&self) -> bool {
        !matches!(self, Chunk::Empty)
    }
}

/// What the file's records came to so far.
#[derive(Default)]
struct Tally {
    accepted: u64,
    unchanged: u64,
    problems: Problems,
}

impl Tally {
    fn count(&mut self, outcome: RecordOutcome) {
        match outcome {
            RecordOutcome::Applied => self.accepted += 1,
            RecordOutcome::Unchanged => self.unchanged += 1,
            RecordOutcome::Rejected(d) => self.problems.extend([d]),
        }
    }
}

/// Applies a chunk of records and counts their outcomes; an applied invoice or credit note is
/// noted for the retry of unmatched payments.
fn apply_chunk(
    tx: &Tx<'_>,
    ctx: ApplyContext<'_>,
    sender: &Sender,
    chunk: Chunk,
    tally: &mut Tally,
    rematch: &mut RetryScope,
) -> Result<(), StoreError> {
    match chunk {
        Chunk::Empty => {}
        Chunk::Invoices(records) => {
            let outcomes = apply_invoice_chunk(tx, ctx, &records)?;
            for (record, outcome) in records.iter().zip(outcomes) {
                if outcome == RecordOutcome::Applied {
                    rematch.note(record);
                }
                tally.count(outcome);
            }
        }
        Chunk::Payments(records) => {
            for outcome in apply_payment_chunk(tx, ctx, sender, &records)? {
                tally.count(outcome);
            }
        }
        Chunk::Instructions(records) => {
            for outcome in apply_instruction_chunk(tx, ctx, sender, &records)? {
                tally.count(outcome);
            }
        }
    }
    Ok(())
}

/// Decides a file's status inside the transaction and applies its records, streaming them:
/// invoices in a first pass, credit notes in a second, so a credit note may reduce an invoice
/// further down the file. Returns the settlement, or a [`Retry`] when the transaction must be
/// rolled back and the file recorded alone.
fn settle(
    tx: &Tx<'_>,
    ctx: SettleContext<'_>,
    duplicate: Option<AppliedFile>,
    opened: &Result<Readable, Unreadable>,
    content: &dyn Content,
    retry: Option<Retry>,
) -> Result<(Settled, Option<Retry>), PipelineError> {
    let (format, kind, skipped) = match opened {
        Ok(readable) => (
            Some(readable.format),
            Some(readable.kind),
            readable.skipped(),
        ),
        Err(unreadable) => (unreadable.format, unreadable.kind, 0),
    };
    let settled = |status, total, accepted, unchanged, diagnostics| Settled {
        format,
        kind,
        status,
        total,
        skipped,
        accepted,
        unchanged,
        diagnostics,
    };
    if let Some(earlier) = duplicate {
        let message = format!(
            "the same content was already delivered as `{}` (processed as of {}); nothing was applied again",
            earlier.original_name, earlier.business_date
        );
        let diagnostics = vec![Diagnostic::file(code::DUPLICATE_FILE, message)];
        return Ok((settled(FileStatus::Duplicate, 0, 0, 0, diagnostics), None));
    }
    let readable = match opened {
        Err(unreadable) => {
            let diagnostics = unreadable.diagnostics.clone();
            return Ok((settled(FileStatus::Rejected, 0, 0, 0, diagnostics), None));
        }
        Ok(readable) => readable,
    };
    let vctx = Context {
        config: ctx.config,
        sender: ctx.sender,
    };
    let records = |content| {
        readable
            .records(content, vctx)
            .map_err(|source| PipelineError::Io {
                action: "cannot read",
                path: PathBuf::from("(claimed file)"),
                source,
            })
    };
    if let Some(retry) = retry {
        // The first attempt counted the records; count them again without applying.
        let total = if retry.readable {
            records(content)?
                .filter(|c| !matches!(c, Checked::Fatal(_) | Checked::Io(_)))
                .count() as u64
        } else {
            0
        };
        return Ok((
            settled(FileStatus::Rejected, total, 0, 0, retry.diagnostics),
            None,
        ));
    }
    let apply_ctx = ApplyContext {
        config: ctx.config,
        business_date: ctx.business_date,
        file_id: Some(ctx.file_id),
    };
    // What the file's invoices may make matchable among the payments waiting.
    let mut rematch = if kind == Some(FileKind::Invoices) {
        RetryScope::new(tx)?
    } else {
        RetryScope::nothing()
    };
    let (mut total, mut credit_notes) = (0u64, 0u64);
    let mut tally = Tally::default();
    let read_failure = |source| PipelineError::Io {
        action: "cannot read",
        path: PathBuf::from("(claimed file)"),
        source,
    };
    // Records are applied a chunk at a time (load, decide, write: issue 14); a chunk holds
    // records of one kind in file order, and is applied before a record of another kind.
    let mut chunk = Chunk::Empty;
    let apply = |chunk: &mut Chunk, tally: &mut Tally, rematch: &mut RetryScope| {
        apply_chunk(
            tx,
            apply_ctx,
            ctx.sender,
            std::mem::take(chunk),
            tally,
            rematch,
        )
    };
    for checked in records(content)? {
        match checked {
            Checked::Io(e) => return Err(read_failure(e)),
            Checked::Fatal(d) => {
                return Ok((
                    settled(FileStatus::Rejected, 0, 0, 0, Vec::new()),
                    Some(Retry {
                        diagnostics: vec![d],
                        readable: false,
                    }),
                ));
            }
            Checked::Invalid(diagnostics) => {
                total += 1;
                tally.problems.extend(diagnostics);
            }
            Checked::Invoice(record) if record.document_type == DocumentType::CreditNote => {
                total += 1;
                credit_notes += 1;
            }
            Checked::Invoice(record) => {
                total += 1;
                if let Some(mut full) = chunk.push_invoice(record) {
                    apply(&mut full, &mut tally, &mut rematch)?;
                }
            }
            Checked::Payment(record) => {
                total += 1;
                if let Some(mut full) = chunk.push_payment(record) {
                    apply(&mut full, &mut tally, &mut rematch)?;
                }
            }
            Checked::Instruction(record) => {
                total += 1;
                if let Some(mut full) = chunk.push_instruction(record) {
                    apply(&mut full, &mut tally, &mut rematch)?;
                }
            }
        }
    }
    apply(&mut chunk, &mut tally, &mut rematch)?;
    if total == 0 && skipped == 0 {
        // A header and nothing else: as unreadable as an empty file.
        return Ok((
            settled(FileStatus::Rejected, 0, 0, 0, Vec::new()),
            Some(Retry {
                diagnostics: vec![Diagnostic::file(
                    code::EMPTY_FILE,
                    "the file holds no records",
                )],
                readable: false,
            }),
        ));
    }
    if credit_notes > 0 {
        for checked in records(content)? {
            if let Checked::Io(e) = checked {
                return Err(read_failure(e));
            }
            if let Checked::Invoice(record) = checked
                && record.document_type == DocumentType::CreditNote
                && let Some(mut full) = chunk.push_invoice(record)
            {
                apply(&mut full, &mut tally, &mut rematch)?;
            }
        }
        apply(&mut chunk, &mut tally, &mut rematch)?;
    }
    let Tally {
        accepted,
        unchanged,
        problems,
    } = tally;
    if kind == Some(FileKind::Invoices) && accepted > 0 {
        // New invoices or cases may be what an earlier payment was waiting for.
        let matched = retry_unmatched(tx, apply_ctx, &rematch)?;
        if matched > 0 {
            tracing::info!(matched, "unmatched payments matched the new invoices");
        }
    }
    let rejected = total - accepted - unchanged;
    let all = problems.into_sorted();
    if rejected > 0 && ctx.sender.on_invalid_record == OnInvalidRecord::RejectFile {
        return Ok((
            settled(FileStatus::Rejected, total, 0, 0, Vec::new()),
            Some(Retry {
                diagnostics: all,
                readable: true,
            }),
        ));
    }
    let status = match (rejected, accepted + unchanged) {
        (0, _) => FileStatus::Accepted,
        (_, 0) => FileStatus::Rejected,
        _ => FileStatus::PartlyAccepted,
    };
    Ok((settled(status, total, accepted, unchanged, all), None))
}

/// An inbound file as analysis content: every pass reads the one open handle from the start,
/// so all of them read the same inode whatever happens to the name meanwhile.
struct FileContent<'f>(&'f fs::File);

impl Content for FileContent<'_> {
    fn open(&self) -> std::io::Result<Box<dyn std::io::Read + '_>> {
        Ok(Box::new(std::io::BufReader::with_capacity(
            64 * 1024,
            FromStart::new(self.0)?,
        )))
    }
}

/// A reader of a whole file through a shared handle, independent of other readers of it.
struct FromStart<'f> {
    file: &'f fs::File,
    offset: u64,
}

impl<'f> FromStart<'f> {
    fn new(file: &'f fs::File) -> std::io::Result<FromStart<'f>> {
        #[cfg(not(unix))]
        {
            use std::io::Seek;
            // Without positional reads the handle's one offset is shared; passes never
            // overlap, so rewinding at the start of each is enough.
            (&*file).rewind()?;
        }
        Ok(FromStart { file, offset: 0 })
    }
}

impl std::io::Read for FromStart<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::read_at(self.file, buf, self.offset)?;
        #[cfg(not(unix))]
        let n = (&*self.file).read(buf)?;
        self.offset += n as u64;
        Ok(n)
    }
}

/// Why the open file is no longer the one that was read, if it is not: its identity changed
/// (a write, a truncation), a process has it open for writing, or its bytes hash differently.
fn changed_since(
    file: &fs::File,
    path: &std::path::Path,
    before: Identity,
    sha256: &str,
) -> Result<Option<String>, PipelineError> {
    let now = Identity::of(&file.metadata().map_err(io("cannot read", path))?);
    if now != before {
        return Ok(Some(format!(
            "it changed while it was read (size {} -> {} bytes, or its modification time)",
            before.size, now.size
        )));
    }
    if probe_lease(file) == LeaseProbe::WriterOpen {
        return Ok(Some(
            "a process opened it for writing while it was read".to_owned(),
        ));
    }
    if hash_file(file, path)? != sha256 {
        return Ok(Some(
            "its bytes changed while it was read (the SHA-256 differs)".to_owned(),
        ));
    }
    Ok(None)
}

/// Opens a file for reading, unless it is over the sender's size limit.
fn open_within_limits(
    content: &dyn Content,
    size: u64,
    ctx: Context<'_>,
    path: &std::path::Path,
) -> Result<Result<Readable, Unreadable>, PipelineError> {
    if size > ctx.sender.intake.max_file_bytes {
        return Ok(Err(Unreadable {
            format: None,
            kind: None,
            diagnostics: vec![Diagnostic::file(
                code::FILE_TOO_LARGE,
                format!(
                    "the file has {size} bytes, more than the {} this sender may deliver; split it",
                    ctx.sender.intake.max_file_bytes
                ),
            )],
        }));
    }
    match analysis::open(content, ctx) {
        Ok(readable) => Ok(Ok(readable)),
        Err(OpenFailure::Unreadable(unreadable)) => Ok(Err(unreadable)),
        Err(OpenFailure::Io(source)) => Err(PipelineError::Io {
            action: "cannot read",
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Renames every file in `work/<node>/<sender>/` into this node's `work/<sender>/`; returns how
/// many moved. Only the senders this node `serves` (another survivor serves the others); a
/// name this node holds already stays in the silent node's folder (logged).
fn move_node_files(
    workspace: &Workspace,
    node: &str,
    serves: impl Fn(&str) -> bool,
) -> Result<usize, PipelineError> {
    let from_root = workspace.node_work(node);
    let Ok(senders) = fs::read_dir(&from_root) else {
        return Ok(0);
    };
    let mut moved = 0;
    for sender in senders.flatten() {
        let Some(sender_id) = sender
            .file_name()
            .to_str()
            .filter(|id| serves(id))
            .map(str::to_owned)
        else {
            continue;
        };
        let Ok(files) = fs::read_dir(sender.path()) else {
            continue;
        };
        let to_dir = workspace.work(&sender_id);
        fs::create_dir_all(&to_dir).map_err(io("cannot create", &to_dir))?;
        for file in files.flatten() {
            if !file.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            let to = to_dir.join(file.file_name());
            if fs::symlink_metadata(&to).is_ok() {
                tracing::warn!(node, sender = %sender_id, file = %file.file_name().to_string_lossy(), "a file of the same name is in this node's work/ already; the silent node's copy stays where it is");
                continue;
            }
            match fs::rename(file.path(), &to) {
                Ok(()) => moved += 1,
                // Gone meanwhile: another survivor took it.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io("cannot take over", &file.path())(e)),
            }
        }
        outbox::sync_dir(&to_dir).map_err(io("cannot sync", &to_dir))?;
    }
    Ok(moved)
}

/// The first free name for a file in `folder`: never an existing file, never a destination
/// promised to another committed file.
fn free_destination(
    tx: &Tx<'_>,
    workspace: &Workspace,
    folder: &std::path::Path,
    name: &str,
) -> Result<String, StoreError> {
    for n in 1.. {
        let candidate = folder.join(numbered_name(name, n));
        let relative = workspace
            .relative(&candidate)
            .to_string_lossy()
            .into_owned();
        if fs::symlink_metadata(&candidate).is_err() && !tx.destination_taken(&relative)? {
            return Ok(relative);
        }
    }
    unreachable!("an unbounded range always yields a free name")
}

/// The first outbox name never used before in a folder.
fn free_outbox_name(tx: &Tx<'_>, folder: &str, name: &str) -> Result<String, StoreError> {
    for n in 1.. {
        let candidate = numbered_name(name, n);
        if !tx.outbox_name_taken(folder, &candidate)? {
            return Ok(candidate);
        }
    }
    unreachable!("an unbounded range always yields a free name")
}

/// Whether the file at `path` holds exactly the bytes with this SHA-256.
fn holds_bytes(path: &std::path::Path, sha256: &str) -> bool {
    fs::File::open(path)
        .map_err(io("cannot read", path))
        .and_then(|file| hash_file(&file, path))
        .is_ok_and(|hash| hash == sha256)
}

fn hash_file(file: &fs::File, path: &std::path::Path) -> Result<String, PipelineError> {
    let mut hasher = Sha256::new();
    // Large reads: every file is hashed twice (before applying, and again before the commit).
    let mut reader = std::io::BufReader::with_capacity(
        256 * 1024,
        FromStart::new(file).map_err(io("cannot read", path))?,
    );
    std::io::copy(&mut reader, &mut hasher).map_err(io("cannot read", path))?;
    Ok(hex(&hasher.finalize()))
}

/// `kravflyt check`: the receipt `sender` would get for the file at `path`, computed against
/// the store as it is and then rolled back, so it names conflicts and duplicates too. Changes
/// nothing. Reads the file as processing would: streamed, so any size can be checked.
pub fn check_file(
    store: &mut Store,
    config: &Config,
    sender: &Sender,
    path: &std::path::Path,
    business_date: NaiveDate,
) -> Result<Receipt, PipelineError> {
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let file = fs::File::open(path).map_err(io("cannot read", path))?;
    let size = file.metadata().map_err(io("cannot read", path))?.len();
    let sha256 = hash_file(&file, path)?;
    let content = FileContent(&file);
    let ctx = Context { config, sender };
    let opened = open_within_limits(&content, size, ctx, path)?;
    let mut retry = None;
    let settled = loop {
        let tx = store.write()?;
        let duplicate = tx.applied_file(&sender.id, &sha256)?;
        let file_id = tx.insert_file(&NewInboundFile {
            sender: &sender.id,
            original_name: &name,
            sha256: &sha256,
            size,
            format: None,
            kind: None,
            status: FileStatus::Rejected,
            records_total: 0,
            records_accepted: 0,
            records_unchanged: 0,
            records_rejected: 0,
            duplicate_of: None,
            business_date,
            processed_at: "check",
            destination: &format!("check/{sha256}"),
        })?;
        let context = SettleContext {
            config,
            sender,
            business_date,
            file_id,
        };
        let (settled, again) = settle(&tx, context, duplicate, &opened, &content, retry.take())?;
        // Dropping the transaction rolls back everything settle applied.
        drop(tx);
        match again {
            Some(again) => retry = Some(again),
            None => break settled,
        }
    };
    Ok(Receipt {
        file_name: name,
        sha256,
        format: settled.format,
        kind: settled.kind,
        status: settled.status,
        records: settled.total,
        accepted: settled.accepted,
        unchanged: settled.unchanged,
        rejected: settled.rejected(),
        skipped: settled.skipped,
        diagnostics: settled.diagnostics,
        notices: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A claimed file and what was read of it: its open handle, identity and hash.
    fn read_file(dir: &std::path::Path, content: &[u8]) -> (PathBuf, fs::File, Identity, String) {
        let path = dir.join("claimed.csv");
        fs::write(&path, content).unwrap();
        let file = fs::File::open(&path).unwrap();
        let identity = Identity::of(&file.metadata().unwrap());
        let sha256 = hash_file(&file, &path).unwrap();
        (path, file, identity, sha256)
    }

    #[test]
    fn a_file_nobody_touched_is_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let (path, file, identity, sha256) = read_file(dir.path(), b"a;b\n1;2\n");
        assert_eq!(
            changed_since(&file, &path, identity, &sha256).unwrap(),
            None
        );
    }

    #[test]
    fn an_append_after_reading_is_a_change() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let (path, file, identity, sha256) = read_file(dir.path(), b"a;b\n1;2\n");
        let mut writer = fs::OpenOptions::new().append(true).open(&path).unwrap();
        writer.write_all(b"3;4\n").unwrap();
        drop(writer);
        let why = changed_since(&file, &path, identity, &sha256).unwrap();
        assert!(why.is_some_and(|w| w.contains("changed while it was read")));
    }

    #[test]
    fn a_same_size_overwrite_is_a_change_even_with_the_old_mtime_put_back() {
        use std::io::{Seek, Write};
        let dir = tempfile::tempdir().unwrap();
        let (path, file, identity, sha256) = read_file(dir.path(), b"a;b\n1;2\n");
        let mtime = fs::metadata(&path).unwrap().modified().unwrap();
        let mut writer = fs::OpenOptions::new().write(true).open(&path).unwrap();
        writer.seek(std::io::SeekFrom::Start(4)).unwrap();
        writer.write_all(b"9").unwrap();
        writer.set_modified(mtime).unwrap();
        drop(writer);
        // The change time cannot be set back, and the hash differs anyway.
        assert!(
            changed_since(&file, &path, identity, &sha256)
                .unwrap()
                .is_some()
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_writer_that_opened_the_file_while_it_was_read_is_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let (path, file, identity, sha256) = read_file(dir.path(), b"a;b\n1;2\n");
        let _writer = fs::OpenOptions::new().append(true).open(&path).unwrap();
        let why = changed_since(&file, &path, identity, &sha256).unwrap();
        assert!(why.is_some_and(|w| w.contains("opened it for writing")));
    }

    #[test]
    fn every_pass_reads_the_whole_file_through_the_one_handle() {
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        let (_, file, _, _) = read_file(dir.path(), b"first pass, second pass");
        let content = FileContent(&file);
        for _ in 0..2 {
            let mut text = String::new();
            content.open().unwrap().read_to_string(&mut text).unwrap();
            assert_eq!(text, "first pass, second pass");
        }
    }

    #[test]
    fn a_receipt_lists_at_most_the_cap_and_says_how_many_more() {
        let mut problems = Problems::default();
        problems.extend((0..MAX_LISTED_PROBLEMS as u64 + 3).rev().map(|line| {
            Diagnostic::at(
                crate::diagnostic::Position::Line(line + 2),
                code::BAD_AMOUNT,
                "x",
            )
        }));
        let listed = problems.into_sorted();
        assert_eq!(listed.len(), MAX_LISTED_PROBLEMS + 1);
        assert!(
            listed
                .windows(2)
                .take(MAX_LISTED_PROBLEMS - 1)
                .all(|w| w[0].position <= w[1].position)
        );
        let last = listed.last().unwrap();
        assert_eq!(last.code, code::TOO_MANY_PROBLEMS);
        assert!(
            last.message.starts_with("3 more problem(s)"),
            "{}",
            last.message
        );
    }
}
