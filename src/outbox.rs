//! Rendering committed outbound rows to files, atomically and exactly once.
//!
//! A row is committed with the change that caused it; this module writes it after the commit
//! (temporary file in the destination folder, fsync, rename, fsync the folder) and marks it
//! written. A crash between commit and write only delays the write to the next start.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::store::{Store, StoreError};
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
        file.write_all(content)?;
        file.sync_all()?;
        fs::rename(&temp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Makes a rename in `dir` durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes every pending outbound row; returns how many files were written. A folder that
/// cannot be written to keeps its rows pending (in order) without holding up the others;
/// the first such failure is returned after the rest are written.
pub fn flush(store: &mut Store, workspace: &Workspace) -> Result<usize, OutboxError> {
    let pending = {
        let tx = store.read()?;
        tx.pending_outbox()?
    };
    let mut written = Vec::new();
    let mut failure = None;
    let mut failed_folders: Vec<&str> = Vec::new();
    for row in &pending {
        if failed_folders.contains(&row.folder.as_str()) {
            continue;
        }
        let path = workspace.outbox(&row.folder).join(&row.file_name);
        match fs::read(&path) {
            // Written before a crash that came before marking it: nothing to do.
            Ok(existing) if existing == row.content => {
                written.push(row.id);
                continue;
            }
            Ok(_) => {
                tracing::error!(path = %path.display(), "an outbound file with this name exists with other content; not overwriting it");
                continue;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                failed_folders.push(&row.folder);
                failure.get_or_insert(OutboxError::Io { path, source });
                continue;
            }
        }
        if let Err(source) = write_atomic(&path, &row.content) {
            failed_folders.push(&row.folder);
            failure.get_or_insert(OutboxError::Io { path, source });
            continue;
        }
        tracing::debug!(folder = %row.folder, file = %row.file_name, kind = %row.kind, "outbound file written");
        written.push(row.id);
    }
    if !written.is_empty() {
        let now = chrono::Utc::now().to_rfc3339();
        let tx = store.write()?;
        for id in &written {
            tx.mark_written(*id, &now)?;
        }
        tx.commit()?;
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(written.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
