//! Rendering committed outbound rows to files, atomically and exactly once.
//!
//! A row is committed with the change that caused it; this module writes it after the commit
//! (temporary file in the destination folder, fsync, rename, fsync the folder) and marks it
//! written. A crash between commit and write only delays the write to the next start.
//!
//! Large files never sit whole in memory (issue 8): `OutboxWriter` stores a file rendered row
//! by row as chunks of about [`CHUNK_BYTES`] inside the queuing transaction, `flush` streams
//! the chunks into the temporary file, and `OutboxComparer` checks a file against one queued
//! before, chunk by chunk.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::store::{Store, StoreError, Tx};
use crate::workspace::Workspace;

/// Failures writing outbound files.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The suffix of temporary files; a killed process may leave one behind, which the next start
/// removes (`remove_stale_temp_files`).
const TEMP_SUFFIX: &str = ".kravflyt-tmp";

/// Removes temporary files a killed process left in `dir`; returns how many.
pub fn remove_stale_temp_files(dir: &Path) -> std::io::Result<usize> {
    let mut removed = 0;
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.ends_with(TEMP_SUFFIX) && entry.file_type()?.is_file() {
            fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Writes `content` to `path` so that a reader sees either nothing or the whole file.
pub fn write_atomic(path: &Path, content: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |file| file.write_all(content))
}

/// Like [`write_atomic`], with the content written by `fill` into the temporary file, so a
/// large file can be streamed into it; an error of `fill` leaves nothing under `path`.
pub fn write_atomic_with<E: From<std::io::Error>>(
    path: &Path,
    fill: impl FnOnce(&mut File) -> Result<(), E>,
) -> Result<(), E> {
    let temp = Temp::filled(path, fill)?;
    temp.file.sync_all().inspect_err(|_| temp.discard())?;
    temp.rename()?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))?;
    Ok(())
}

/// An outbound file's bytes in a temporary file beside it, not yet synced or renamed: a
/// killed process leaves only the temporary file, which the next start removes.
struct Temp {
    file: File,
    temp: PathBuf,
    path: PathBuf,
}

impl Temp {
    /// Creates the temporary file for `path` (mode 0640) and fills it; on an error of `fill`
    /// it is removed again.
    fn filled<E: From<std::io::Error>>(
        path: &Path,
        fill: impl FnOnce(&mut File) -> Result<(), E>,
    ) -> Result<Temp, E> {
        let dir = path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // A dot name: consumers' and our own ignore patterns skip it while it is being written.
        let temp = dir.join(format!(".{name}.{}{TEMP_SUFFIX}", std::process::id()));
        crate::faults::check(path)?;
        let result = (|| {
            let mut options = OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o640);
            }
            let mut file = options.open(&temp)?;
            fill(&mut file)?;
            Ok(file)
        })();
        match result {
            Ok(file) => Ok(Temp {
                file,
                temp,
                path: path.to_path_buf(),
            }),
            Err(e) => {
                let _ = fs::remove_file(&temp);
                Err(e)
            }
        }
    }

    /// Gives the file its name. Its bytes must be synced first: then a power loss never leaves
    /// a short file under the real name. The rename is durable once the folder is synced.
    fn rename(self) -> std::io::Result<()> {
        fs::rename(&self.temp, &self.path).inspect_err(|_| self.discard())
    }

    fn discard(&self) {
        let _ = fs::remove_file(&self.temp);
    }
}

/// Makes a rename in `dir` durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// How many outbound files `flush` writes before it syncs them together.
const SYNC_GROUP: usize = 64;

/// Threads that sync a group's files at the same time.
const SYNC_THREADS: usize = 4;

/// `fsync`s `files` a few at a time on their own threads; results in order. A device flushes
/// its cache for all the syncs waiting at once, so a group of files costs about what a few
/// cost one after another (issue 14: 64 small files, 230 ms one by one, 10–20 ms so, on the
/// development machine).
fn sync_together(files: &[&File]) -> Vec<std::io::Result<()>> {
    if files.len() < 2 {
        return files.iter().map(|file| file.sync_all()).collect();
    }
    let per_thread = files.len().div_ceil(SYNC_THREADS);
    std::thread::scope(|scope| {
        let threads: Vec<_> = files
            .chunks(per_thread)
            .map(|chunk| {
                scope.spawn(move || chunk.iter().map(|file| file.sync_all()).collect::<Vec<_>>())
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|thread| {
                thread
                    .join()
                    .unwrap_or_else(|_| vec![Err(std::io::Error::other("a sync thread panicked"))])
            })
            .collect()
    })
}

/// Writes every pending outbound row; returns how many files were written. A folder that
/// cannot be written to keeps its rows pending (in order) without holding up the others;
/// the first such failure is returned after the rest are written.
///
/// Files are written in groups (issue 14: a receipt per file used to cost two `fsync`s one
/// after another): each file of a group goes to its temporary file, the group's files are
/// synced together, then renamed in order; each folder is synced once, after all its files
/// were renamed into it and before any of them is marked written.
pub fn flush(store: &mut Store, workspace: &Workspace) -> Result<usize, OutboxError> {
    // Nothing pending, the usual case after a flush: no need to wait for the lock.
    if store.read()?.pending_outbox()?.is_empty() {
        return Ok(0);
    }
    let mut written = Vec::new();
    let mut failure = None;
    // The folders renamed into, with the rows written there: marked written once the folder
    // is synced.
    let mut renamed: Vec<(PathBuf, Vec<i64>)> = Vec::new();
    // Exactly once with several nodes on one database (SPEC §10): the pending rows are read,
    // written and marked written in one write transaction, under the one write lock, so two
    // nodes never render the same row — the second finds it marked. (Claiming rows with a
    // column instead would leave a killed node's claimed rows to be taken over like its files;
    // the lock costs only the few milliseconds a flush takes.) The files are streamed from
    // this transaction chunk by chunk.
    let tx = store.write()?;
    {
        let pending = tx.pending_outbox()?;
        // A folder's first failing row: the rows after it there stay pending, in order.
        let mut failed: Vec<(&str, usize)> = Vec::new();
        let blocked = |failed: &[(&str, usize)], folder: &str, at: usize| {
            failed.iter().any(|&(f, i)| f == folder && i < at)
        };
        for (group_start, group) in (0..).step_by(SYNC_GROUP).zip(pending.chunks(SYNC_GROUP)) {
            let mut temps: Vec<(usize, Temp)> = Vec::new();
            for (at, row) in (group_start..).zip(group) {
                if blocked(&failed, &row.folder, at) {
                    continue;
                }
                let path = workspace.outbox(&row.folder).join(&row.file_name);
                match same_as_file(&tx, row.id, &path) {
                    // Written before a crash that came before marking it: nothing to do.
                    Ok(Some(true)) => {
                        written.push(row.id);
                        continue;
                    }
                    Ok(Some(false)) => {
                        tracing::error!(path = %path.display(), "an outbound file with this name exists with other content; not overwriting it");
                        continue;
                    }
                    Ok(None) => {}
                    Err(Failure::Io(source)) => {
                        failed.push((&row.folder, at));
                        failure.get_or_insert(OutboxError::Io { path, source });
                        continue;
                    }
                    Err(Failure::Store(e)) => {
                        temps.iter().for_each(|(_, temp)| temp.discard());
                        return Err(e.into());
                    }
                }
                match Temp::filled(&path, |file| copy_queued(&tx, row.id, file)) {
                    Ok(temp) => temps.push((at, temp)),
                    Err(Failure::Io(source)) => {
                        failed.push((&row.folder, at));
                        failure.get_or_insert(OutboxError::Io { path, source });
                    }
                    Err(Failure::Store(e)) => {
                        temps.iter().for_each(|(_, temp)| temp.discard());
                        return Err(e.into());
                    }
                }
            }
            let files: Vec<&File> = temps.iter().map(|(_, temp)| &temp.file).collect();
            let synced = sync_together(&files);
            for ((at, temp), result) in temps.into_iter().zip(synced) {
                let row = &pending[at];
                if blocked(&failed, &row.folder, at) {
                    temp.discard();
                    continue;
                }
                let path = temp.path.clone();
                if let Err(source) = result
                    .inspect_err(|_| temp.discard())
                    .and_then(|()| temp.rename())
                {
                    failed.push((&row.folder, at));
                    failure.get_or_insert(OutboxError::Io { path, source });
                    continue;
                }
                tracing::debug!(folder = %row.folder, file = %row.file_name, kind = %row.kind, "outbound file written");
                let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
                match renamed.iter_mut().find(|(d, _)| *d == dir) {
                    Some((_, ids)) => ids.push(row.id),
                    None => renamed.push((dir, vec![row.id])),
                }
            }
        }
    }
    for (dir, ids) in renamed {
        match sync_dir(&dir) {
            Ok(()) => written.extend(ids),
            // Not marked written: the next flush finds the files there, the same, and marks
            // them then.
            Err(source) => {
                failure.get_or_insert(OutboxError::Io { path: dir, source });
            }
        }
    }
    if !written.is_empty() {
        let now = chrono::Utc::now().to_rfc3339();
        for id in &written {
            tx.mark_written(*id, &now)?;
        }
    }
    tx.commit()?;
    match failure {
        Some(e) => Err(e),
        None => Ok(written.len()),
    }
}

/// Writes the queued file `id` to `path` again (atomically, replacing what is there), streamed
/// from the store: `kravflyt reconcile --date D` for a day whose files were made before.
pub fn write_queued(store: &mut Store, id: i64, path: &Path) -> Result<(), OutboxError> {
    let tx = store.read()?;
    write_atomic_with(path, |file| copy_queued(&tx, id, file)).map_err(|e| match e {
        Failure::Io(source) => OutboxError::Io {
            path: path.to_owned(),
            source,
        },
        Failure::Store(e) => OutboxError::Store(e),
    })
}

/// What can go wrong streaming a queued file to or from the disk.
enum Failure {
    Io(std::io::Error),
    Store(StoreError),
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Failure {
        Failure::Io(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        Failure::Store(e)
    }
}

fn copy_queued(tx: &Tx<'_>, id: i64, out: &mut impl Write) -> Result<(), Failure> {
    for piece in OutboxPieces::new(tx, id) {
        out.write_all(&piece?)?;
    }
    Ok(())
}

/// Whether the file at `path` holds exactly the queued file `id` (`None`: there is no file),
/// read side by side a chunk at a time.
fn same_as_file(tx: &Tx<'_>, id: i64, path: &Path) -> Result<Option<bool>, Failure> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut on_disk = Vec::new();
    for piece in OutboxPieces::new(tx, id) {
        let piece = piece?;
        on_disk.clear();
        (&mut file)
            .take(piece.len() as u64)
            .read_to_end(&mut on_disk)?;
        if on_disk != piece {
            return Ok(Some(false));
        }
    }
    // Nothing may follow.
    Ok(Some(file.read(&mut [0u8; 1])? == 0))
}

/// The size of the chunks large outbound files are stored in: big enough that a million-row
/// file is a few hundred rows in `outbox_chunks`, small enough that holding one per open file
/// costs little.
pub const CHUNK_BYTES: usize = 1 << 20;

/// Where the bytes of an outbound file go while it is rendered row by row.
pub trait Sink {
    fn put(&mut self, bytes: &[u8]) -> Result<(), StoreError>;
}

/// Rendering into memory: small files and tests.
impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        self.extend_from_slice(bytes);
        Ok(())
    }
}

/// A new outbound file stored in chunks inside the queuing transaction: it holds at most one
/// chunk; whatever it is given is stored in order, and the file is complete once `finish`
/// stored the rest. Dropped without `finish` (an error on the way), its transaction must not
/// commit, and does not: every caller returns the error before committing.
pub struct OutboxWriter<'a, 's> {
    tx: &'a Tx<'s>,
    id: i64,
    seq: i64,
    buffer: Vec<u8>,
    chunk_bytes: usize,
}

impl<'a, 's> OutboxWriter<'a, 's> {
    /// Queues a new file (an outbox row with empty content) to be filled by `put`.
    pub fn create(
        tx: &'a Tx<'s>,
        folder: &str,
        file_name: &str,
        kind: &str,
        created_at: &str,
    ) -> Result<Self, StoreError> {
        Ok(OutboxWriter::with_chunk_bytes(
            tx,
            tx.insert_outbox(folder, file_name, kind, &[], None, created_at)?,
            CHUNK_BYTES,
        ))
    }

    fn with_chunk_bytes(tx: &'a Tx<'s>, id: i64, chunk_bytes: usize) -> Self {
        OutboxWriter {
            tx,
            id,
            seq: 0,
            buffer: Vec::new(),
            chunk_bytes,
        }
    }

    /// Stores what is left; returns the file's outbox row.
    pub fn finish(mut self) -> Result<i64, StoreError> {
        self.store_buffer()?;
        Ok(self.id)
    }

    /// The memory the writer holds for the file (a test checks it stays within a chunk).
    pub fn held_bytes(&self) -> usize {
        self.buffer.capacity()
    }

    fn store_buffer(&mut self) -> Result<(), StoreError> {
        if !self.buffer.is_empty() {
            self.tx
                .insert_outbox_chunk(self.id, self.seq, &self.buffer)?;
            self.seq += 1;
            self.buffer.clear();
        }
        Ok(())
    }
}

impl Sink for OutboxWriter<'_, '_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        if self.buffer.len() + bytes.len() > self.chunk_bytes {
            self.store_buffer()?;
        }
        if bytes.len() >= self.chunk_bytes {
            // Larger than a chunk on its own (never a row in practice): stored as it is.
            self.tx.insert_outbox_chunk(self.id, self.seq, bytes)?;
            self.seq += 1;
            return Ok(());
        }
        if self.buffer.capacity() == 0 {
            // Reserved once and never grown: the buffer is never more than a chunk. Pages a
            // small file does not touch are not resident.
            self.buffer.reserve_exact(self.chunk_bytes);
        }
        self.buffer.extend_from_slice(bytes);
        Ok(())
    }
}

/// The pieces of a queued file in order: the row's content if any, then its chunks; one in
/// memory at a time.
pub struct OutboxPieces<'a, 's> {
    tx: &'a Tx<'s>,
    id: i64,
    /// The next chunk to read; `None` before the row's own content.
    next: Option<i64>,
    done: bool,
}

impl<'a, 's> OutboxPieces<'a, 's> {
    pub fn new(tx: &'a Tx<'s>, id: i64) -> Self {
        OutboxPieces {
            tx,
            id,
            next: None,
            done: false,
        }
    }

    fn read(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        loop {
            let piece = match self.next {
                None => {
                    self.next = Some(0);
                    self.tx.outbox_content(self.id)?
                }
                Some(seq) => match self.tx.outbox_chunk(self.id, seq)? {
                    Some(bytes) => {
                        self.next = Some(seq + 1);
                        bytes
                    }
                    None => return Ok(None),
                },
            };
            if !piece.is_empty() {
                return Ok(Some(piece));
            }
        }
    }
}

impl Iterator for OutboxPieces<'_, '_> {
    type Item = Result<Vec<u8>, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let piece = self.read();
        if !matches!(piece, Ok(Some(_))) {
            self.done = true;
        }
        piece.transpose()
    }
}

/// Compares a file being rendered with one queued before, as its bytes come: a closed day's
/// reconciliation rebuilt must be the bytes that were written. Holds one stored chunk.
pub struct OutboxComparer<'a, 's> {
    pieces: OutboxPieces<'a, 's>,
    current: Vec<u8>,
    at: usize,
    same: bool,
}

impl<'a, 's> OutboxComparer<'a, 's> {
    pub fn new(tx: &'a Tx<'s>, id: i64) -> Self {
        OutboxComparer {
            pieces: OutboxPieces::new(tx, id),
            current: Vec::new(),
            at: 0,
            same: true,
        }
    }

    /// Whether everything put was the queued file, all of it.
    pub fn finish(mut self) -> Result<bool, StoreError> {
        Ok(self.same && self.at == self.current.len() && self.pieces.next().transpose()?.is_none())
    }
}

impl Sink for OutboxComparer<'_, '_> {
    fn put(&mut self, mut bytes: &[u8]) -> Result<(), StoreError> {
        while self.same && !bytes.is_empty() {
            if self.at == self.current.len() {
                match self.pieces.next().transpose()? {
                    Some(piece) => {
                        self.current = piece;
                        self.at = 0;
                    }
                    None => {
                        // More bytes than were queued.
                        self.same = false;
                        break;
                    }
                }
            }
            let n = bytes.len().min(self.current.len() - self.at);
            if bytes[..n] != self.current[self.at..self.at + n] {
                self.same = false;
            }
            self.at += n;
            bytes = &bytes[n..];
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows of different lengths, so chunk boundaries fall inside rows and characters.
    fn rows(count: usize) -> Vec<Vec<u8>> {
        (0..count)
            .map(|i| format!("{i};Kjærstad Åse;{}\n", "ø".repeat(i % 37)).into_bytes())
            .collect()
    }

    /// Stores `rows` through a writer with `chunk_bytes`; returns the file's row and the most
    /// the writer ever held.
    fn store_rows(tx: &Tx<'_>, name: &str, rows: &[Vec<u8>], chunk_bytes: usize) -> (i64, usize) {
        let id = tx
            .insert_outbox("_agency", name, "status", &[], None, "now")
            .unwrap();
        let mut writer = OutboxWriter::with_chunk_bytes(tx, id, chunk_bytes);
        let mut held = 0;
        for row in rows {
            writer.put(row).unwrap();
            held = held.max(writer.held_bytes());
        }
        (writer.finish().unwrap(), held)
    }

    #[test]
    fn a_file_of_many_chunks_is_written_as_the_same_rows_at_once_and_the_writer_holds_a_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let workspace = Workspace::new(dir.path());
        let mut store = Store::open_in_memory().unwrap();
        let rows = rows(5_000);
        let whole: Vec<u8> = rows.concat();
        let chunk_bytes = 4096;
        let (id, held) = {
            let tx = store.write().unwrap();
            let stored = store_rows(&tx, "status-20261001-1.csv", &rows, chunk_bytes);
            tx.commit().unwrap();
            stored
        };
        assert!(held <= chunk_bytes, "held {held} bytes");
        {
            let tx = store.read().unwrap();
            let pieces: Vec<Vec<u8>> = OutboxPieces::new(&tx, id).map(|p| p.unwrap()).collect();
            assert!(
                pieces.len() > whole.len() / chunk_bytes,
                "{} chunks",
                pieces.len()
            );
            assert!(pieces.iter().all(|p| p.len() <= chunk_bytes));
            assert_eq!(pieces.concat(), whole);
        }
        assert_eq!(flush(&mut store, &workspace).unwrap(), 1);
        let path = workspace.outbox("_agency").join("status-20261001-1.csv");
        assert_eq!(fs::read(&path).unwrap(), whole);
        // Written again by `reconcile --date`: the same bytes.
        write_queued(&mut store, id, &path).unwrap();
        assert_eq!(fs::read(&path).unwrap(), whole);
    }

    #[test]
    fn a_row_longer_than_a_chunk_is_stored_whole_and_in_order() {
        let mut store = Store::open_in_memory().unwrap();
        let tx = store.write().unwrap();
        let rows = vec![b"a;b\n".to_vec(), vec![b'x'; 100], b"c;d\n".to_vec()];
        let (id, held) = store_rows(&tx, "big.csv", &rows, 16);
        assert!(held <= 16);
        let pieces: Vec<Vec<u8>> = OutboxPieces::new(&tx, id).map(|p| p.unwrap()).collect();
        assert_eq!(pieces.concat(), rows.concat());
    }

    #[test]
    fn a_comparison_finds_a_file_queued_before_equal_only_when_every_byte_is() {
        let mut store = Store::open_in_memory().unwrap();
        let tx = store.write().unwrap();
        let rows = rows(300);
        let (id, _) = store_rows(&tx, "reconciliation-20261001.csv", &rows, 512);
        let compare = |bytes: &[u8], piece: usize| {
            let mut comparer = OutboxComparer::new(&tx, id);
            for part in bytes.chunks(piece) {
                comparer.put(part).unwrap();
            }
            comparer.finish().unwrap()
        };
        let whole = rows.concat();
        assert!(compare(&whole, 7));
        assert!(compare(&whole, 100_000));
        assert!(!compare(&whole[..whole.len() - 1], 7), "shorter");
        let mut longer = whole.clone();
        longer.push(b'\n');
        assert!(!compare(&longer, 7), "longer");
        let mut changed = whole.clone();
        changed[3000] ^= 1;
        assert!(!compare(&changed, 7), "one byte changed");
        // A receipt kept whole in its row compares the same way.
        let receipt = tx
            .insert_outbox("nordlys", "receipt-a.csv", "receipt", b"x;y\n", None, "now")
            .unwrap();
        let mut comparer = OutboxComparer::new(&tx, receipt);
        comparer.put(b"x;y\n").unwrap();
        assert!(comparer.finish().unwrap());
    }

    #[test]
    fn flush_leaves_a_file_with_other_content_alone_and_marks_an_identical_one() {
        let dir = tempfile::tempdir().unwrap();
        let workspace = Workspace::new(dir.path());
        let mut store = Store::open_in_memory().unwrap();
        let rows = rows(2_000);
        {
            let tx = store.write().unwrap();
            store_rows(&tx, "same.csv", &rows, 1000);
            store_rows(&tx, "other.csv", &rows, 1000);
            tx.commit().unwrap();
        }
        let folder = workspace.outbox("_agency");
        fs::create_dir_all(&folder).unwrap();
        // Written before a crash that came before marking it.
        fs::write(folder.join("same.csv"), rows.concat()).unwrap();
        // The same beginning, one byte short.
        let whole = rows.concat();
        fs::write(folder.join("other.csv"), &whole[..whole.len() - 1]).unwrap();
        assert_eq!(flush(&mut store, &workspace).unwrap(), 1);
        assert_eq!(
            fs::read(folder.join("other.csv")).unwrap(),
            &whole[..whole.len() - 1]
        );
        let pending = store.read().unwrap().pending_outbox().unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].file_name, "other.csv");
    }

    /// Files are written in groups synced together (issue 14), and still in order per folder:
    /// a folder whose file fails keeps that file and the ones after it pending, the files
    /// before it are written, and the other folders go on, across groups.
    #[test]
    fn a_failing_file_holds_back_the_later_files_of_its_folder_only() {
        let dir = tempfile::tempdir().unwrap();
        let workspace = Workspace::new(dir.path());
        let mut store = Store::open_in_memory().unwrap();
        let mut names = vec![
            ("nordlys", "a.csv".to_owned()),
            ("bank", "b.csv".to_owned()),
            // `sub` is a plain file where this one needs a folder: the disk refuses it.
            ("nordlys", "sub/c.csv".to_owned()),
            ("nordlys", "d.csv".to_owned()),
        ];
        names.extend((0..SYNC_GROUP + 6).map(|i| ("bank", format!("e{i:03}.csv"))));
        names.push(("nordlys", "f.csv".to_owned()));
        {
            let tx = store.write().unwrap();
            for (folder, name) in &names {
                tx.insert_outbox(folder, name, "receipt", name.as_bytes(), None, "now")
                    .unwrap();
            }
            tx.commit().unwrap();
        }
        fs::create_dir_all(workspace.outbox("nordlys")).unwrap();
        fs::write(workspace.outbox("nordlys").join("sub"), "in the way").unwrap();
        assert!(flush(&mut store, &workspace).is_err());
        for (folder, name) in &names {
            let path = workspace.outbox(folder).join(name);
            let held_back = ["sub/c.csv", "d.csv", "f.csv"].contains(&name.as_str());
            assert_eq!(path.exists(), !held_back, "{folder}/{name}");
            if !held_back {
                assert_eq!(fs::read(&path).unwrap(), name.as_bytes());
            }
        }
        let pending: Vec<String> = store
            .read()
            .unwrap()
            .pending_outbox()
            .unwrap()
            .into_iter()
            .map(|row| row.file_name)
            .collect();
        assert_eq!(pending, ["sub/c.csv", "d.csv", "f.csv"]);
        // No temporary file is left behind.
        let temps = remove_stale_temp_files(&workspace.outbox("nordlys")).unwrap()
            + remove_stale_temp_files(&workspace.outbox("bank")).unwrap();
        assert_eq!(temps, 0);
    }

    #[test]
    fn atomic_write_leaves_only_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out").join("receipt-a.csv");
        write_atomic(&path, b"hello").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"hello");
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["receipt-a.csv"]);
    }
}
