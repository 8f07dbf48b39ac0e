//! Data-driven scenarios: `tests/data/scenarios/<name>/<YYYY-MM-DD>/<sender>/<file>` are
//! dropped day by day and processed as of that day (a day folder with only a `run` note runs the
//! daily steps with no files); the outbound files, where every inbound
//! file ended, and the cases are compared with a snapshot (`snapshots/`).

use std::fmt::Write as _;
use std::path::Path;

use crate::support::{Workspace, repo};

/// Runs one scenario folder and renders everything a user would look at.
pub fn run_scenario(folder: &Path) -> String {
    render(&play(folder).0)
}

/// Plays a scenario's days; returns the workspace and the last day.
fn play(folder: &Path) -> (Workspace, String) {
    play_with(folder, &[])
}

/// [`play`] with extra environment for every `process` run.
fn play_with(folder: &Path, env: &[(&str, &str)]) -> (Workspace, String) {
    let ws = Workspace::new();
    let last = play_in(&ws, folder, env);
    (ws, last)
}

/// Plays a scenario's days in `ws`; returns the last day.
fn play_in(ws: &Workspace, folder: &Path, env: &[(&str, &str)]) -> String {
    let mut days: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    days.sort();
    assert!(!days.is_empty(), "{} has no day folders", folder.display());
    for day in &days {
        // A day folder may hold only a note (`run`): a day with no files still runs the steps.
        for sender in std::fs::read_dir(folder.join(day)).unwrap().flatten() {
            if !sender.file_type().unwrap().is_dir() {
                continue;
            }
            let sender_name = sender.file_name().to_string_lossy().into_owned();
            for file in std::fs::read_dir(sender.path()).unwrap().flatten() {
                ws.drop_file(
                    &sender_name,
                    &file.file_name().to_string_lossy(),
                    std::fs::read(file.path()).unwrap(),
                );
            }
        }
        let out = ws
            .command()
            .envs(env.iter().copied())
            .args(["process", "--as-of", day])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "process --as-of {day}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    days.last().cloned().unwrap_or_default()
}

#[test]
fn the_daily_steps_read_page_by_page_end_where_reading_all_cases_at_once_ends() {
    // Debug builds take the page size from KRAVFLYT_STEP_PAGE: one case per page crosses a
    // page boundary at every case.
    for scenario in ["lifecycle_norway", "lifecycle_instructions"] {
        let folder = repo().join("tests/data/scenarios").join(scenario);
        let (paged, _) = play_with(&folder, &[("KRAVFLYT_STEP_PAGE", "1")]);
        let (whole, _) = play(&folder);
        assert_eq!(render(&paged), render(&whole), "{scenario}");
    }
}

#[test]
fn records_applied_in_chunks_of_one_or_two_end_where_whole_files_end() {
    // Debug builds take the chunk size from KRAVFLYT_CHUNK_RECORDS. One record per chunk is the
    // record-at-a-time run; two crosses a chunk boundary every other record, so a record that
    // sees one applied before it in the same file sometimes finds it in the same chunk and
    // sometimes in the store.
    let root = repo().join("tests/data/scenarios");
    let mut folders: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    folders.sort();
    for folder in folders {
        let whole = render(&play(&folder).0);
        for size in ["1", "2"] {
            let (chunked, _) = play_with(&folder, &[("KRAVFLYT_CHUNK_RECORDS", size)]);
            assert_eq!(
                render(&chunked),
                whole,
                "{} in chunks of {size}",
                folder.display()
            );
        }
    }
}

#[test]
fn running_the_same_as_of_date_again_changes_nothing() {
    let (ws, last) = play(&repo().join("tests/data/scenarios/lifecycle_norway"));
    let before = render(&ws);
    ws.process(&last);
    assert_eq!(render(&ws), before);
}

/// Everything a user would look at after a run, as one text.
pub fn render(ws: &Workspace) -> String {
    render_with(ws, true)
}

/// Status and letters files: how events and letters are cut into files depends on when runs
/// happened, so a comparison across interrupted runs leaves them out and compares their rows.
pub fn is_report_file(name: &str) -> bool {
    name.contains("/status-") || name.contains("/letters-")
}

/// As [`render`], optionally without the status and letters files.
pub fn render_with(ws: &Workspace, include_reports: bool) -> String {
    let mut out = String::new();
    for folder in ["inbox", "work"] {
        let left = ws.names_under(folder);
        assert!(left.is_empty(), "files left in {folder}/: {left:?}");
    }
    writeln!(out, "== outbox").unwrap();
    for (name, bytes) in ws.files_under("outbox") {
        if !include_reports && is_report_file(&name) {
            continue;
        }
        // The daily HTML page has its own snapshot (tests/it/daily_report.rs).
        if name.starts_with("_agency/report-") {
            continue;
        }
        let text = match std::str::from_utf8(&bytes) {
            Ok(text) => text.to_owned(),
            Err(_) => encoding_rs::WINDOWS_1252.decode(&bytes).0.into_owned() + "(windows-1252)\n",
        };
        writeln!(out, "--- {name}\n{text}").unwrap();
    }
    for folder in ["archive", "rejected"] {
        writeln!(out, "== {folder}").unwrap();
        for name in ws.names_under(folder) {
            writeln!(out, "{name}").unwrap();
        }
    }
    let status: serde_json::Value = serde_json::from_str(&ws.ok(&["status", "--json"])).unwrap();
    for day in status["payment_days"].as_array().unwrap() {
        assert_eq!(
            day["ties_out"], true,
            "received = allocated + overpaid + unmatched: {day}"
        );
    }
    writeln!(out, "== payments by day").unwrap();
    writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(&status["payment_days"]).unwrap()
    )
    .unwrap();
    writeln!(out, "== unmatched payments").unwrap();
    writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(&status["unmatched"]).unwrap()
    )
    .unwrap();
    writeln!(out, "== cases").unwrap();
    let list = ws.case_list();
    for case in list.as_array().unwrap() {
        let case_no = case["case_no"].as_str().unwrap();
        let shown = ws.case_show(case_no);
        writeln!(out, "{}", serde_json::to_string_pretty(&shown).unwrap()).unwrap();
    }
    out
}

macro_rules! scenarios {
    ($($name:ident),+ $(,)?) => {
        $(
            #[test]
            fn $name() {
                let folder = repo().join("tests/data/scenarios").join(stringify!($name));
                insta::assert_snapshot!(stringify!($name), run_scenario(&folder));
            }
        )+

        /// The same scenarios with the ledger in PostgreSQL (SPEC §10): the same snapshots,
        /// so the same outbound files byte for byte and the same cases.
        mod on_postgres {
            use super::*;
            $(
                #[test]
                fn $name() {
                    let folder = repo().join("tests/data/scenarios").join(stringify!($name));
                    let Some(ws) = Workspace::on_postgres(stringify!($name), |text| text) else {
                        return;
                    };
                    play_in(&ws, &folder, &[]);
                    let mut settings = insta::Settings::clone_current();
                    settings.set_prepend_module_to_snapshot(false);
                    settings.bind(|| {
                        insta::assert_snapshot!(
                            concat!("it__scenarios__", stringify!($name)),
                            render(&ws)
                        )
                    });
                }
            )+
        }

        #[test]
        fn every_scenario_folder_has_a_test() {
            let listed = [$(stringify!($name)),+];
            for entry in std::fs::read_dir(repo().join("tests/data/scenarios")).unwrap().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                assert!(listed.contains(&name.as_str()), "scenario folder `{name}` has no test");
            }
        }
    };
}

/// The shipped samples, as the README tells a newcomer to run them.
#[test]
fn samples() {
    let ws = Workspace::new();
    let samples = repo().join("samples/inbox");
    for sender in std::fs::read_dir(&samples).unwrap().flatten() {
        for file in std::fs::read_dir(sender.path()).unwrap().flatten() {
            ws.drop_file(
                &sender.file_name().to_string_lossy(),
                &file.file_name().to_string_lossy(),
                std::fs::read(file.path()).unwrap(),
            );
        }
    }
    ws.process("2026-11-23");
    insta::assert_snapshot!("samples", render(&ws));
}

scenarios!(
    invoices_join_and_credit,
    record_errors,
    unreadable_files,
    duplicates_and_name_clashes,
    payment_and_instruction_rows,
    matching,
    lifecycle_norway,
    lifecycle_sweden,
    lifecycle_finland,
    lifecycle_instructions,
);
