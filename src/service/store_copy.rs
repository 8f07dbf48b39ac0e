//! `kravflyt store copy --to URL`: moves a workspace's embedded ledger into an empty PostgreSQL
//! database (SPEC §10), then proves the copy: the same rows in every table (digests), and the
//! checks of `kravflyt verify` run on the copy.

use std::path::PathBuf;

use crate::config::Config;
use crate::service::daemon::{DaemonError, WorkspaceLock};
use crate::service::pipeline::{Engine, PipelineError};
use crate::store::{PostgresSettings, Store, StoreError, TableDigest};
use crate::workspace::Workspace;

/// Why a copy was not made or not proven.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(transparent)]
    Lock(#[from] DaemonError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error("no embedded database at {0}: nothing to copy")]
    NoSource(String),
    #[error(
        "the target database {url} is not empty ({tables}); `store copy` only fills an empty one, so nothing was copied"
    )]
    TargetNotEmpty { url: String, tables: String },
}

/// What the copy did and what its checks found.
#[derive(Debug)]
pub struct CopyReport {
    /// Rows copied per table.
    pub copied: Vec<(String, i64)>,
    /// Tables whose rows differ between the source and the copy (empty when the copy is true).
    pub differing: Vec<String>,
    /// `kravflyt verify`'s checks, run on the copy.
    pub checks: Vec<(&'static str, Vec<String>)>,
    /// The copy as an operator is shown it.
    pub target: String,
}

impl CopyReport {
    pub fn proven(&self) -> bool {
        self.differing.is_empty() && self.checks.iter().all(|(_, problems)| problems.is_empty())
    }
}

/// Copies the embedded database of `config`'s workspace to `url`. The workspace is locked for
/// the copy, so no `run` or `process` changes the source meanwhile.
pub fn copy_store(
    config: &Config,
    url: &str,
    password_file: Option<PathBuf>,
    mut progress: impl FnMut(&str, i64),
) -> Result<CopyReport, CopyError> {
    let workspace = Workspace::new(&config.var_dir);
    let _lock = WorkspaceLock::acquire(&workspace.lock_file())?;
    let database = workspace.database();
    if !database.exists() {
        return Err(CopyError::NoSource(database.display().to_string()));
    }
    let mut source = Store::open(&database)?;
    let settings = PostgresSettings {
        url: url.to_owned(),
        password_file: password_file.clone(),
        application_name: format!("kravflyt store copy ({})", config.node.name),
    };
    let mut target = Store::open_postgres(&settings)?;
    let occupied = target.nonempty_tables()?;
    if !occupied.is_empty() {
        return Err(CopyError::TargetNotEmpty {
            url: settings.shown_url(),
            tables: occupied
                .iter()
                .map(|(table, rows)| format!("{table}: {rows} rows"))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let mut copied = Vec::new();
    source.copy_into(&mut target, |table, rows| {
        progress(table, rows);
        copied.push((table.to_owned(), rows));
    })?;
    let differing = differing_tables(&source.digests()?, &target.digests()?);
    drop(target);
    let mut on_copy = config.clone();
    on_copy.store.url = Some(url.to_owned());
    on_copy.store.password_file = password_file;
    let checks = Engine::open(on_copy)?.verify()?;
    Ok(CopyReport {
        copied,
        differing,
        checks,
        target: settings.shown_url(),
    })
}

/// Tables whose row count or content differs, with both counts.
fn differing_tables(source: &[TableDigest], copy: &[TableDigest]) -> Vec<String> {
    source
        .iter()
        .zip(copy)
        .filter(|(a, b)| a != b)
        .map(|(a, b)| {
            format!(
                "{}: {} rows in the source, {} in the copy{}",
                a.table,
                a.rows,
                b.rows,
                if a.rows == b.rows {
                    ", with other values"
                } else {
                    ""
                }
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_differs_by_its_count_or_its_values() {
        let digest = |rows, sha: &str| TableDigest {
            table: "cases",
            rows,
            sha256: sha.to_owned(),
        };
        assert!(differing_tables(&[digest(3, "a")], &[digest(3, "a")]).is_empty());
        assert_eq!(
            differing_tables(&[digest(3, "a")], &[digest(2, "b")]),
            vec!["cases: 3 rows in the source, 2 in the copy".to_owned()]
        );
        assert_eq!(
            differing_tables(&[digest(3, "a")], &[digest(3, "b")]),
            vec!["cases: 3 rows in the source, 3 in the copy, with other values".to_owned()]
        );
    }
}
