//! What `kravflyt status` shows and `/metrics` exports, gathered in one place: from the
//! database through a read transaction, and from the inbox folders. A fresh workspace (no
//! database yet) has a report too: its inboxes, and that nothing has run.

use chrono::NaiveDate;

use crate::config::Config;
use crate::domain::CaseState;
use crate::ledger::matching::OpenCase;
use crate::outbound::report::{DatabaseInfo, NodeLine, StatusReport};
use crate::store::{CaseFilter, StoreError, Tx};
use crate::workspace::Workspace;

/// The database file of a workspace and its size; it is never created here.
pub fn database_info(workspace: &Workspace) -> DatabaseInfo {
    let path = workspace.database();
    let bytes = std::fs::metadata(&path).ok().map(|m| m.len());
    DatabaseInfo {
        path: path.display().to_string(),
        bytes,
    }
}

/// The report of a workspace that has no database yet: its configured inboxes and what waits
/// in them; nothing has run, so there is nothing else to say.
pub fn fresh(config: &Config, workspace: &Workspace) -> StatusReport {
    StatusReport {
        database: database_info(workspace),
        folders: crate::service::intake::folder_counts(config, workspace),
        files: Vec::new(),
        cases: Vec::new(),
        payment_days: Vec::new(),
        unmatched: Vec::new(),
        last_as_of: None,
        last_run_at: None,
        activity: Vec::new(),
        last_steps_date: None,
        // Nothing is overdue before anything has run: the first `run` does the day's steps.
        daily_run_overdue: false,
        last_reconciled_day: None,
        writer_detection: Vec::new(),
        nodes: Vec::new(),
    }
}

/// The report of a workspace with a database, read in `tx`. `suggestions`: look for a likely
/// case for each unmatched payment (for people; it reads every open case, so the metrics,
/// scraped every few seconds, leave it out).
pub fn gather(
    tx: &Tx<'_>,
    config: &Config,
    workspace: &Workspace,
    suggestions: bool,
) -> Result<StatusReport, StoreError> {
    let open_cases: Vec<OpenCase> = if suggestions {
        tx.case_list(&CaseFilter::default())?
            .into_iter()
            .filter(|c| c.state != CaseState::Closed)
            .map(|c| OpenCase {
                total_minor: c.balance.total(),
                case_no: c.case_no,
                currency: c.currency,
                debtor_name: c.debtor_name,
            })
            .collect()
    } else {
        Vec::new()
    };
    let unmatched = tx
        .unmatched_views()?
        .into_iter()
        .map(|u| {
            let s = if suggestions {
                crate::ledger::matching::suggestions(
                    u.amount_minor,
                    &u.currency,
                    u.payer_name.as_deref(),
                    &open_cases,
                )
            } else {
                Vec::new()
            };
            (u, s)
        })
        .collect();
    let last_steps_date = tx.meta("last_steps_date")?;
    Ok(StatusReport {
        database: database_info(workspace),
        folders: crate::service::intake::folder_counts(config, workspace),
        files: tx.file_counts()?,
        cases: tx.case_counts()?,
        payment_days: tx.payment_days()?,
        unmatched,
        last_as_of: tx.meta("last_as_of")?,
        last_run_at: tx.meta("last_run_at")?,
        activity: tx.sender_activity(config.today())?,
        daily_run_overdue: daily_run_overdue(config, last_steps_date.as_deref()),
        last_steps_date,
        last_reconciled_day: tx.last_reconciled_day()?.map(|d| d.to_string()),
        writer_detection: tx.writer_detection()?,
        nodes: tx
            .nodes()?
            .into_iter()
            .map(|row| {
                let files_held = files_held(config, workspace, &row.name);
                NodeLine { row, files_held }
            })
            .collect(),
    })
}

/// The files node `name` holds in `work/`: `work/<name>/<sender>/` with several nodes (as far
/// as this `var/` shows: nodes with a `var/` of their own show 0 here), the senders' `work/`
/// folders for the single node of an embedded store.
fn files_held(config: &Config, workspace: &Workspace, name: &str) -> usize {
    let count = |dir: std::path::PathBuf| {
        std::fs::read_dir(dir).map_or(0, |entries| {
            entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .count()
        })
    };
    if config.shared_store() {
        std::fs::read_dir(workspace.node_work(name)).map_or(0, |senders| {
            senders.flatten().map(|sender| count(sender.path())).sum()
        })
    } else {
        config
            .senders
            .iter()
            .map(|s| count(workspace.work(&s.id)))
            .sum()
    }
}

/// Whether the daemon's daily run time has passed for a later day than the last one whose
/// steps ran (or no steps ever ran).
pub fn daily_run_overdue(config: &Config, last_steps_date: Option<&str>) -> bool {
    last_steps_date
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .is_none_or(|last| last < config.last_due_run_day())
}
