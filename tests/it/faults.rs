//! Disk and database faults (SPEC §8, issue 7): a full disk or a refused write on `work/`,
//! `archive/`, `outbox/` or the database leaves the file where it is, says why, keeps the
//! other senders going, and the file is processed once — exactly once — when the fault
//! clears. Faults are injected through `KRAVFLYT_FAULTS` (src/faults.rs; debug builds only),
//! since a test can neither fill a real disk nor take permissions away from root.

use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use crate::scenarios::render_with;
use crate::support::Workspace;

const NORDLYS: &str = "creditor_id;invoice_no;customer_no;debtor_type;debtor_name;address;postcode;city;issue_date;due_date;currency;amount\n\
923609016;1;7;person;Kari Nordmann;Storgata 1;9008;Tromsø;2026-09-01;2026-09-15;NOK;1 000,00\n\
923609016;2;8;person;Ola Hansen;Storgata 2;9008;Tromsø;2026-09-01;2026-09-15;NOK;250,00\n";

const FJELLSTUA: &str = "Kundenr;Kundenavn;Kundetype;Orgnr/Fnr;Adresse;Postnr;Poststed;Fakturanr;Fakturadato;Forfallsdato;Beløp;KID\r\n7;Kari;Privat;;Vei 1;7300;Orkanger;55;01.09.2026;15.09.2026;1 000,00;\r\n";

fn drop_files(ws: &Workspace) {
    ws.drop_file("nordlys", "faktura.csv", NORDLYS);
    ws.drop_file(
        "fjellstua",
        "eksport.csv",
        encoding_rs::WINDOWS_1252.encode(FJELLSTUA).0,
    );
}

/// A fault file for `ws`: what `KRAVFLYT_FAULTS` points to.
fn fault_file(ws: &Workspace) -> PathBuf {
    ws.dir.path().join("faults")
}

fn run_faulted(ws: &Workspace, args: &[&str]) -> Output {
    ws.command()
        .env("KRAVFLYT_FAULTS", fault_file(ws))
        .args(args)
        .output()
        .unwrap()
}

/// The end state of an undisturbed run, for comparison.
fn undisturbed() -> String {
    let ws = Workspace::new();
    drop_files(&ws);
    ws.process("2026-10-01");
    render_with(&ws, false)
}

/// For each place a file is written: the run fails with the disk's own words, the faulted
/// sender's file stays where it was, the other sender's file is done, and after the fault
/// clears one more run ends exactly where an undisturbed run ends.
#[test]
fn a_full_disk_or_a_refused_write_leaves_the_file_in_place_until_it_clears() {
    let expected = undisturbed();
    for (fragment, errno, words, left_in) in [
        (
            "/work/nordlys/",
            "EACCES",
            "Permission denied",
            Some("inbox"),
        ),
        (
            "/archive/nordlys/",
            "ENOSPC",
            "No space left on device",
            Some("work"),
        ),
        (
            "/outbox/nordlys/",
            "ENOSPC",
            "No space left on device",
            None,
        ),
        ("/outbox/nordlys/", "EROFS", "Read-only file system", None),
    ] {
        let ws = Workspace::new();
        drop_files(&ws);
        std::fs::write(fault_file(&ws), format!("{fragment} {errno}\n")).unwrap();
        let out = run_faulted(&ws, &["process", "--as-of", "2026-10-01"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{fragment}: {stderr}");
        assert!(stderr.contains(words), "{fragment}: {stderr}");
        // The other sender was served.
        assert!(
            ws.var()
                .join("outbox/fjellstua/receipt-eksport.csv.csv")
                .exists(),
            "{fragment}: fjellstua's receipt"
        );
        match left_in {
            Some(folder) => assert_eq!(
                ws.names_under(folder),
                ["nordlys/faktura.csv"],
                "{fragment}: the file stays in {folder}/"
            ),
            // Committed, archived; only its receipt waits.
            None => assert!(
                !ws.var()
                    .join("outbox/nordlys/receipt-faktura.csv.csv")
                    .exists()
            ),
        }
        // Still failing: nothing moves, nothing is applied twice.
        let again = run_faulted(&ws, &["process", "--as-of", "2026-10-01"]);
        assert_eq!(again.status.code(), Some(1), "{fragment}");

        std::fs::remove_file(fault_file(&ws)).unwrap();
        ws.process("2026-10-01");
        assert_eq!(
            render_with(&ws, false),
            expected,
            "{fragment}: after the fault cleared"
        );
    }
}

/// A claim (the rename into `work/`) is not synced on its own (issue 14), so a power loss
/// after the file's commit became durable may put the file back in its inbox. The next start
/// finds the committed file there by its SHA-256 and moves it to its destination: it is not
/// taken again as a new file (which would get a second, `duplicate` receipt).
#[test]
fn a_committed_file_whose_claim_a_power_loss_undid_is_finished_from_the_inbox() {
    let expected = undisturbed();
    let ws = Workspace::new();
    drop_files(&ws);
    // Committed, but not moved: the file stays in work/ (what a power loss after the
    // commit's sync and before the move leaves)...
    std::fs::write(fault_file(&ws), "/archive/nordlys/ ENOSPC\n").unwrap();
    let out = run_faulted(&ws, &["process", "--as-of", "2026-10-01"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(ws.names_under("work"), ["nordlys/faktura.csv"]);
    std::fs::remove_file(fault_file(&ws)).unwrap();
    // ...and the claim did not reach the disk: the file is back under its inbox name.
    std::fs::rename(
        ws.var().join("work/nordlys/faktura.csv"),
        ws.var().join("inbox/nordlys/faktura.csv"),
    )
    .unwrap();
    ws.process("2026-10-01");
    assert_eq!(render_with(&ws, false), expected);
}

/// A database that cannot be written (full disk under it) applies nothing; the files wait
/// and are processed once it can.
#[test]
fn a_database_on_a_full_disk_applies_nothing_and_the_files_wait() {
    let expected = undisturbed();
    let ws = Workspace::new();
    // The database exists (a first, empty run), then its disk fills up.
    ws.process("2026-10-01");
    drop_files(&ws);
    std::fs::write(fault_file(&ws), "/kravflyt.db ENOSPC\n").unwrap();
    let out = run_faulted(&ws, &["process", "--as-of", "2026-10-01"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("database or disk is full"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let waiting: Vec<String> = ws
        .names_under("inbox")
        .into_iter()
        .chain(ws.names_under("work"))
        .collect();
    assert_eq!(waiting.len(), 2, "both files wait: {waiting:?}");
    assert!(ws.names_under("archive").is_empty());

    std::fs::remove_file(fault_file(&ws)).unwrap();
    ws.process("2026-10-01");
    assert_eq!(render_with(&ws, false), expected);
}

/// The daemon under a fault: it keeps taking the other senders' files, logs the cause once
/// however often it retries, and writes the held-back receipt once the fault clears.
#[test]
fn the_daemon_logs_a_fault_once_serves_other_senders_and_recovers() {
    let ws = Workspace::new();
    std::fs::write(fault_file(&ws), "/outbox/nordlys/ ENOSPC\n").unwrap();
    let log = ws.dir.path().join("daemon.log");
    let mut daemon = ws
        .command()
        .env("KRAVFLYT_FAULTS", fault_file(&ws))
        .env("KRAVFLYT_LOG", "info")
        .arg("run")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let wait_for = |what: &str, condition: &dyn Fn() -> bool| {
        let start = Instant::now();
        while !condition() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    drop_files(&ws);
    let fjellstua = ws.var().join("outbox/fjellstua/receipt-eksport.csv.csv");
    let nordlys = ws.var().join("outbox/nordlys/receipt-faktura.csv.csv");
    wait_for("fjellstua's receipt", &|| fjellstua.exists());
    // Two back-off periods (2 s, then 4 s) pass with the fault in place.
    std::thread::sleep(Duration::from_millis(6500));
    assert!(!nordlys.exists());
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        text.matches("No space left on device").count(),
        1,
        "the cause is logged once, not on every retry:\n{text}"
    );

    std::fs::remove_file(fault_file(&ws)).unwrap();
    wait_for("nordlys's receipt after the fault cleared", &|| {
        nordlys.exists()
    });
    std::process::Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(daemon.wait().unwrap().code(), Some(0));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("processing works again"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    assert_eq!(
        ws.case_list().as_array().unwrap().len(),
        3,
        "each invoice applied once"
    );
}

/// Another program holding the database's write lock (a sqlite3 shell left in a transaction):
/// kravflyt waits its busy timeout, then stops with a message that says what to do; the file
/// waits and nothing is half-applied.
#[test]
fn a_database_locked_by_another_program_is_a_clear_message() {
    let ws = Workspace::new();
    ws.process("2026-10-01");
    drop_files(&ws);
    let db = rusqlite::Connection::open(ws.var().join("kravflyt.db")).unwrap();
    db.execute_batch("BEGIN IMMEDIATE").unwrap();
    let out = ws.run(&["process", "--as-of", "2026-10-01"]);
    db.execute_batch("ROLLBACK").unwrap();
    drop(db);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the database is locked by another program"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(ws.names_under("archive").is_empty());

    ws.process("2026-10-01");
    assert_eq!(render_with(&ws, false), undisturbed());
}
