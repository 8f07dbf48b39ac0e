//! The daily run's time-driven steps (SPEC §6.2): for an as-of date, every open case takes the
//! step the lifecycle says is due — a letter with its fee and deadline, collection with the
//! collection fee, the heavy collection fee — and limitation warnings are given. One
//! transaction for the whole run; running the same date twice changes nothing. The decisions
//! are `daily`'s; this module runs the pages through them.

use std::time::{Duration, Instant};

use chrono::NaiveDate;

use crate::apply::ApplyContext;
use crate::config::Config;
use crate::ledger::daily::{decide, needs_interruptions};
use crate::store::{Store, StoreError};

pub use crate::ledger::daily::StepSummary;

/// The `meta` key of the last inbound file recorded when the steps last ran.
pub const LAST_STEPS_FILE: &str = "last_steps_file";

/// Open cases read at a time by the daily steps: memory stays the same whatever their number.
const STEP_PAGE: u32 = 4096;

/// [`STEP_PAGE`]; debug builds take `KRAVFLYT_STEP_PAGE` instead when it is set, so tests can
/// cross page boundaries with a handful of cases. Release builds ignore it.
fn step_page() -> u32 {
    if cfg!(debug_assertions)
        && let Some(page) = std::env::var("KRAVFLYT_STEP_PAGE")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&p| p > 0)
    {
        return page;
    }
    STEP_PAGE
}

/// Runs the steps for `as_of` in one transaction: the holds that came due, then page by page
/// of open cases, load → decide → write — what the page's decisions need read in a few
/// set-based statements (`Tx::day_cases_after`), the decisions made over those values by
/// `daily::decide` with no store in sight, and the changes written in bulk
/// (`Tx::write_day_changes`).
pub fn run_daily_steps(
    store: &mut Store,
    config: &Config,
    as_of: NaiveDate,
) -> Result<StepSummary, StoreError> {
    let tx = store.write()?;
    run_in(tx, config, as_of)
}

/// The daemon's daily run of `as_of`'s steps, once: `None` (nothing done) when the steps of
/// `as_of` or a later date already ran, or the date is closed (reconciled). Several daemons on
/// one database race for the same day (SPEC §10); the check is made in the steps' own write
/// transaction, under the one write lock, so whichever node comes second sees the first one's
/// commit and leaves the day alone.
pub fn run_daily_steps_once(
    store: &mut Store,
    config: &Config,
    as_of: NaiveDate,
) -> Result<Option<StepSummary>, StoreError> {
    let tx = store.write()?;
    let ran_through = tx
        .meta("last_steps_date")?
        .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok());
    let closed = tx.last_reconciled_day()?;
    if ran_through.is_some_and(|d| d >= as_of) || closed.is_some_and(|d| d >= as_of) {
        return Ok(None);
    }
    run_in(tx, config, as_of).map(Some)
}

fn run_in(
    tx: crate::store::Tx<'_>,
    config: &Config,
    as_of: NaiveDate,
) -> Result<StepSummary, StoreError> {
    let ctx = ApplyContext {
        config,
        business_date: as_of,
        file_id: None,
    };
    let mut summary = StepSummary::default();
    let started = Instant::now();
    // Unanswered disputes close and ended pauses resume before the steps look at the cases.
    crate::apply::instructions::holds_due(&tx, ctx)?;
    let holds = started.elapsed();
    // Where the time goes, for the debug log (BENCHMARKS.md reads it).
    let mut spent = [Duration::ZERO; 3];
    let mut after = 0;
    loop {
        let started = Instant::now();
        let page =
            tx.day_cases_after(after, step_page(), |case| needs_interruptions(case, as_of))?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.id;
        let loaded = Instant::now();
        let changes =
            decide(config, as_of, &page).map_err(|e| StoreError::Invariant(e.to_string()))?;
        let decided = Instant::now();
        tx.write_day_changes(&changes)?;
        spent[0] += loaded - started;
        spent[1] += decided - loaded;
        spent[2] += decided.elapsed();
        summary.add(&changes.summary);
    }
    tx.set_meta("last_steps_date", &as_of.to_string())?;
    // The files the steps saw: `process` runs them again for the same date only if a file
    // was recorded since (`Engine::steps_done`).
    tx.set_meta(LAST_STEPS_FILE, &tx.last_file_id()?.to_string())?;
    tx.mark_business_day(as_of)?;
    let committing = Instant::now();
    tx.commit()?;
    tracing::debug!(
        holds_ms = holds.as_millis() as u64,
        load_ms = spent[0].as_millis() as u64,
        decide_ms = spent[1].as_millis() as u64,
        write_ms = spent[2].as_millis() as u64,
        commit_ms = committing.elapsed().as_millis() as u64,
        "daily steps phases"
    );
    Ok(summary)
}
