//! Personal data (issue 7 item 6): national identity numbers never reach the logs (SPEC §8),
//! nor a receipt's message about a rejected number (docs/receipts.md, `bad_identifier`: "the
//! message never repeats the number"), nor `kravflyt check`'s output; and the files that hold
//! personal data (outbound files, archived and rejected inbound files, the database) are not
//! readable by "other".
//!
//! Every run here logs at `trace` and runs under `umask 022`, the common default, so that
//! file modes are the product's doing, not the test runner's.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{BIN, Workspace, receipt_rows};

/// Norwegian fødselsnummer: valid (check digits computed), wrong check digit, one digit short.
const NO_VALID: &str = "01017010170";
const NO_VALID_2: &str = "01017010251";
const NO_BAD_CHECK: &str = "01017010171";
const NO_BAD_CHECK_2: &str = "01017010252";
const NO_SHORT: &str = "0101701017";
/// Swedish personnummer.
const SE_VALID: &str = "811218-9876";
const SE_BAD_CHECK: &str = "811218-9875";
/// Finnish henkilötunnus.
const FI_VALID: &str = "131052-308T";
const FI_BAD_CHECK: &str = "131052-308U";

const ALL_IDS: &[&str] = &[
    NO_VALID,
    NO_VALID_2,
    NO_BAD_CHECK,
    NO_BAD_CHECK_2,
    NO_SHORT,
    SE_VALID,
    SE_BAD_CHECK,
    FI_VALID,
    FI_BAD_CHECK,
];

const INVOICE_HEADER: &str = "creditor_id;invoice_no;customer_no;debtor_type;debtor_name;debtor_id;address;postcode;city;issue_date;due_date;currency;amount";

/// Every way an identity number may be written out: as given, without separators, and the
/// Swedish one with its century.
fn forms(id: &str) -> Vec<String> {
    let compact: String = id.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let mut forms = vec![id.to_owned(), compact.clone(), compact.to_lowercase()];
    if id.len() == 11 && id.as_bytes()[6] == b'-' && id.starts_with("81") {
        forms.push(format!("19{compact}"));
        forms.push(format!("19{id}"));
    }
    forms
}

/// Asserts that none of `ids`, in any form, appears in `text`.
fn assert_no_id(ids: &[&str], text: &str, what: &str) {
    for id in ids {
        for form in forms(id) {
            assert!(
                !text.contains(&form),
                "{what} contains the identity number `{form}`:\n{text}"
            );
        }
    }
}

/// `kravflyt ARGS` on the workspace, logging at trace level, under umask 022.
fn command(ws: &Workspace, args: &[&str]) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("umask 022 && exec \"$@\"")
        .arg("sh")
        .arg(BIN)
        .arg("--config")
        .arg(&ws.config)
        .arg("--data-dir")
        .arg(ws.dir.path())
        .args(args)
        .env("KRAVFLYT_LOG", "trace")
        .env_remove("KRAVFLYT_CONFIG");
    cmd
}

/// Runs a command to its end; returns stdout and stderr together, asserting exit code 0.
fn run_ok(ws: &Workspace, args: &[&str]) -> String {
    let out: Output = command(ws, args).output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "kravflyt {args:?} failed:\n{said}");
    said
}

fn text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(t) => t.to_owned(),
        Err(_) => encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned(),
    }
}

/// Invoice files with identity numbers, valid and not, for every country and inbound path:
/// (sender, file name, content).
fn files_with_ids() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let nordlys = format!(
        "{INVOICE_HEADER}\n\
         923609016;P-1;1;person;Kari Nordmann;{NO_VALID};Storgata 1;9008;Tromsø;2026-09-11;2026-09-25;NOK;1 000,00\n\
         923609016;P-2;2;person;Ola Hansen;{NO_BAD_CHECK};Storgata 2;9008;Tromsø;2026-09-11;2026-09-25;NOK;1 000,00\n\
         923609016;P-3;3;person;Per Berg;{NO_SHORT};Storgata 3;9008;Tromsø;2026-09-11;2026-09-25;NOK;1 000,00\n\
         923609016;P-4;4;person;Lise Dahl;{SE_VALID};Storgata 4;9008;Tromsø;2026-09-11;2026-09-25;NOK;1 000,00\n\
         923609016;P-5;5;business;Eva Lie;{NO_VALID_2};Storgata 5;9008;Tromsø;2026-09-11;2026-09-25;NOK;1 000,00\n"
    );
    let kvarnby = format!(
        "{INVOICE_HEADER}\n\
         5566778899;S-1;1;person;Sven Svensson;{SE_VALID};Storgatan 1;41755;Göteborg;2026-09-11;2026-09-25;SEK;1 000,00\n\
         5566778899;S-2;2;person;Anna Svensson;{SE_BAD_CHECK};Storgatan 2;41755;Göteborg;2026-09-11;2026-09-25;SEK;1 000,00\n"
    );
    let invoice = |no: &str, id: &str| {
        format!(
            "  <invoice>\n    <creditor_id>2345678-0</creditor_id>\n    <invoice_no>{no}</invoice_no>\n    <customer_no>{no}</customer_no>\n    <debtor_type>person</debtor_type>\n    <debtor_name>Aino Kettunen</debtor_name>\n    <debtor_id>{id}</debtor_id>\n    <address>Pohjolankatu 23</address>\n    <postcode>96100</postcode>\n    <city>Rovaniemi</city>\n    <issue_date>2026-09-11</issue_date>\n    <due_date>2026-09-25</due_date>\n    <currency>EUR</currency>\n    <amount>640.00</amount>\n  </invoice>\n"
        )
    };
    let revontuli = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<invoices xmlns=\"urn:kravflyt:xml:1\">\n{}{}</invoices>\n",
        invoice("F-1", FI_VALID),
        invoice("F-2", FI_BAD_CHECK)
    );
    // Fjellstua's own export (windows-1252): `Orgnr/Fnr` holds the fødselsnummer.
    let fjellstua = format!(
        "Kundenr;Kundenavn;Kundetype;Orgnr/Fnr;Adresse;Postnr;Poststed;Fakturanr;Fakturadato;Forfallsdato;Beløp;KID\n\
         1047;Kjærstad, Åse;Privat;{NO_VALID_2};Bjørkvegen 3;7340;Oppdal;30121;11.09.2026;25.09.2026;9 600,00;\n\
         1048;Bøe, Ole;Privat;{NO_BAD_CHECK_2};Bjørkvegen 5;7340;Oppdal;30122;11.09.2026;25.09.2026;1 600,00;\n"
    );
    vec![
        ("nordlys", "personer.csv", nordlys.into_bytes()),
        ("kvarnby", "personer.csv", kvarnby.into_bytes()),
        ("revontuli", "henkilot.xml", revontuli.into_bytes()),
        (
            "fjellstua",
            "eksport.csv",
            encoding_rs::WINDOWS_1252.encode(&fjellstua).0.into_owned(),
        ),
    ]
}

/// Drops the files, readable by everyone as an SFTP server commonly leaves them.
fn drop_files(ws: &Workspace) {
    for (sender, name, content) in files_with_ids() {
        let path = ws.drop_file(sender, name, content);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
}

/// The receipts say which numbers were rejected (so the test data is what it claims to be),
/// and never repeat any number.
fn check_receipts(ws: &Workspace) {
    let expected = [
        ("nordlys", "personer.csv", &["P-2", "P-3", "P-4", "P-5"][..]),
        ("kvarnby", "personer.csv", &["S-2"][..]),
        ("revontuli", "henkilot.xml", &["F-2"][..]),
        ("fjellstua", "eksport.csv", &["30122"][..]),
    ];
    for (sender, name, rejected) in expected {
        let receipt = text(
            &std::fs::read(
                ws.var()
                    .join("outbox")
                    .join(sender)
                    .join(format!("receipt-{name}.csv")),
            )
            .unwrap(),
        );
        let rows = receipt_rows(&receipt);
        let bad: Vec<&str> = rows
            .iter()
            .filter(|r| r["record_type"] == "error")
            .map(|r| {
                assert_eq!(r["field"], "debtor_id", "{receipt}");
                assert_eq!(r["code"], "bad_identifier", "{receipt}");
                r["record_key"].as_str()
            })
            .collect();
        assert_eq!(bad, rejected, "{sender}/{name}:\n{receipt}");
    }
    for (name, bytes) in ws.files_under("outbox") {
        assert_no_id(ALL_IDS, &text(&bytes), &format!("outbox/{name}"));
    }
}

#[test]
fn process_at_trace_level_logs_no_identity_number() {
    process_at_trace_level(Workspace::new());
}

/// The same with the ledger in PostgreSQL: its client logs every statement's values at
/// debug level, which kravflyt never lets through, whatever KRAVFLYT_LOG asks.
#[test]
fn process_at_trace_level_on_postgresql_logs_no_identity_number() {
    if let Some(ws) = Workspace::on_postgres("privacy_trace", |text| text) {
        process_at_trace_level(ws);
    }
}

fn process_at_trace_level(ws: Workspace) {
    drop_files(&ws);
    let mut said = run_ok(&ws, &["process", "--as-of", "2026-10-01"]);
    check_receipts(&ws);
    // The same invoices again with other numbers: `conflict`s, whose messages name no number.
    let again = format!(
        "{INVOICE_HEADER}\n923609016;P-1;1;person;Kari Nordmann;{NO_VALID_2};Storgata 1;9008;Tromsø;2026-09-11;2026-09-25;NOK;1 000,00\n"
    );
    ws.drop_file("nordlys", "igjen.csv", again);
    said += &run_ok(&ws, &["process", "--as-of", "2026-10-01"]);
    let receipt = ws.outbox_file("nordlys", "receipt-igjen.csv.csv");
    assert!(receipt.contains(";conflict;"), "{receipt}");
    // Letters, status and reconciliation files, and the commands that show cases.
    said += &run_ok(&ws, &["process", "--as-of", "2026-10-20"]);
    assert!(!ws.names_under("outbox/_agency").is_empty());
    said += &run_ok(&ws, &["status"]);
    said += &run_ok(&ws, &["reconcile", "--date", "2026-10-01"]);
    assert_no_id(
        ALL_IDS,
        &said,
        "the output of process, status and reconcile",
    );
    for (name, bytes) in ws.files_under("outbox") {
        assert_no_id(ALL_IDS, &text(&bytes), &format!("outbox/{name}"));
    }
}

#[test]
fn check_prints_no_identity_number() {
    let ws = Workspace::new();
    let dir = tempfile::tempdir().unwrap();
    for (sender, name, content) in files_with_ids() {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let said = run_ok(&ws, &["check", "--sender", sender, path.to_str().unwrap()]);
        assert!(said.contains("bad_identifier"), "{said}");
        assert_no_id(
            ALL_IDS,
            &said,
            &format!("kravflyt check --sender {sender} {name}"),
        );
    }
}

/// A sender's export without its header line: the first line is a data row, and its
/// fødselsnummer must not be shown back in the `unknown_format` receipt (nor by `check`).
#[test]
fn a_file_without_its_header_does_not_show_the_identity_number_of_its_first_row() {
    let ws = Workspace::new();
    let row = format!(
        "1047;Kjaerstad, Ase;Privat;{NO_VALID};Bjorkvegen 3;7340;Oppdal;30121;11.09.2026;25.09.2026;9 600,00;\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("uten-header.csv");
    std::fs::write(&path, &row).unwrap();
    let said = run_ok(
        &ws,
        &["check", "--sender", "fjellstua", path.to_str().unwrap()],
    );
    assert!(said.contains("unknown_format"), "{said}");
    assert_no_id(
        &[NO_VALID],
        &said,
        "kravflyt check of a file without header",
    );
    ws.drop_file("fjellstua", "uten-header.csv", &row);
    let said = run_ok(&ws, &["process", "--as-of", "2026-10-01"]);
    assert_no_id(&[NO_VALID], &said, "the log of process");
    let receipt = text(
        &std::fs::read(
            ws.var()
                .join("outbox/fjellstua/receipt-uten-header.csv.csv"),
        )
        .unwrap(),
    );
    assert_no_id(
        &[NO_VALID],
        &receipt,
        "the receipt of a file without header",
    );
}

/// A running daemon, its stdout and stderr going to files (a trace log can fill a pipe).
struct Daemon {
    child: Child,
    log: tempfile::TempDir,
}

impl Daemon {
    fn start(ws: &Workspace) -> Daemon {
        let log = tempfile::tempdir().unwrap();
        let child = command(ws, &["run"])
            .stdout(Stdio::from(
                std::fs::File::create(log.path().join("stdout")).unwrap(),
            ))
            .stderr(Stdio::from(
                std::fs::File::create(log.path().join("stderr")).unwrap(),
            ))
            .spawn()
            .unwrap();
        let lock = ws.var().join("kravflyt.lock");
        wait_for(|| {
            std::fs::read_to_string(&lock).is_ok_and(|pid| pid.trim() == child.id().to_string())
        });
        Daemon { child, log }
    }

    /// Stops it with SIGTERM; returns everything it wrote.
    fn terminate(mut self) -> String {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let status = self.child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "SIGTERM is a clean stop");
        let read = |name: &str| text(&std::fs::read(self.log.path().join(name)).unwrap());
        format!("{}{}", read("stdout"), read("stderr"))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for(mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_daemon_at_trace_level_logs_no_identity_number() {
    let ws = Workspace::new();
    let daemon = Daemon::start(&ws);
    drop_files(&ws);
    let receipts: Vec<PathBuf> = files_with_ids()
        .into_iter()
        .map(|(sender, name, _)| {
            ws.var()
                .join("outbox")
                .join(sender)
                .join(format!("receipt-{name}.csv"))
        })
        .collect();
    wait_for(|| receipts.iter().all(|r| r.exists()));
    // While it runs, the database and its WAL files are not readable by others.
    let db = ws.var().join("kravflyt.db");
    assert_private(&db);
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    assert!(wal.exists(), "the database runs in WAL mode (SPEC §4)");
    for suffix in ["-wal", "-shm"] {
        let path = PathBuf::from(format!("{}{suffix}", db.display()));
        if path.exists() {
            assert_private(&path);
        }
    }
    let said = daemon.terminate();
    assert!(
        said.contains("TRACE") || said.contains("DEBUG") || said.contains("INFO"),
        "the daemon logged something: {said}"
    );
    assert_no_id(ALL_IDS, &said, "the daemon's log");
    check_receipts(&ws);
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn assert_private(path: &Path) {
    let mode = mode(path);
    assert_eq!(
        mode & 0o007,
        0,
        "{} is mode {mode:o}: readable by others",
        path.display()
    );
}

fn files_in(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_type().unwrap().is_dir() {
            files_in(&entry.path(), out);
        } else {
            out.push(entry.path());
        }
    }
}

#[test]
fn files_with_personal_data_are_not_readable_by_others() {
    let ws = Workspace::new();
    drop_files(&ws);
    // A file that cannot be read at all goes to rejected/.
    let broken = ws.drop_file(
        "revontuli",
        "rikki.xml",
        format!("<invoices xmlns=\"urn:kravflyt:xml:1\"><invoice><debtor_id>{FI_VALID}</debtor_id></invoce></invoices>\n"),
    );
    std::fs::set_permissions(&broken, std::fs::Permissions::from_mode(0o644)).unwrap();
    run_ok(&ws, &["process", "--as-of", "2026-10-01"]);
    run_ok(&ws, &["process", "--as-of", "2026-10-20"]);

    let var = ws.var();
    let mut outbound = Vec::new();
    files_in(&var.join("outbox"), &mut outbound);
    for kind in ["receipt-", "status-", "reconciliation-", "letters-"] {
        assert!(
            outbound
                .iter()
                .any(|p| p.file_name().unwrap().to_string_lossy().starts_with(kind)),
            "no {kind} file was written: {outbound:?}"
        );
    }
    let mut archived = Vec::new();
    files_in(&var.join("archive"), &mut archived);
    assert_eq!(archived.len(), 4, "{archived:?}");
    let mut rejected = Vec::new();
    files_in(&var.join("rejected"), &mut rejected);
    assert_eq!(rejected.len(), 1, "{rejected:?}");

    let exposed: Vec<String> = outbound
        .iter()
        .chain(&archived)
        .chain(&rejected)
        .chain([&var.join("kravflyt.db")])
        .filter(|p| mode(p) & 0o007 != 0)
        .map(|p| {
            format!(
                "{} (mode {:o})",
                p.strip_prefix(&var).unwrap().display(),
                mode(p)
            )
        })
        .collect();
    assert!(
        exposed.is_empty(),
        "readable by others:\n{}",
        exposed.join("\n")
    );
}
