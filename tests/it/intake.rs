//! Intake and the one-file transaction at the boundary: what an operator sees in the folders.

use std::io::Write;
use std::time::Duration;

use crate::support::{Daemon, Workspace, receipt_rows, wait_for};

const HEADER: &str = "creditor_id;invoice_no;customer_no;debtor_type;debtor_name;address;postcode;city;issue_date;due_date;currency;amount";

fn invoice(no: &str, amount: &str) -> String {
    format!(
        "923609016;{no};7;person;Kari Nordmann;Storgata 1;9008;Tromsø;2026-09-01;2026-09-15;NOK;{amount}"
    )
}

fn invoices(rows: &[(&str, &str)]) -> String {
    let mut text = format!("{HEADER}\n");
    for (no, amount) in rows {
        text.push_str(&invoice(no, amount));
        text.push('\n');
    }
    text
}

#[test]
fn a_valid_file_is_archived_with_a_receipt_and_opens_a_case() {
    let ws = Workspace::new();
    ws.drop_file(
        "nordlys",
        "f.csv",
        invoices(&[("1", "100,00"), ("2", "50,00")]),
    );
    let out = ws.process("2026-10-01");
    assert!(out.contains("1 file(s) processed"), "{out}");
    assert_eq!(ws.names_under("archive"), ["nordlys/YYYY/MM/DD/f.csv"]);
    assert!(ws.names_under("inbox").is_empty() && ws.names_under("work").is_empty());
    let rows = receipt_rows(&ws.outbox_file("nordlys", "receipt-f.csv.csv"));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["status"], "accepted");
    assert_eq!(rows[0]["records"], "2");
    assert_eq!(rows[0]["accepted"], "2");
    assert_eq!(rows[0]["format"], "csv");
    assert_eq!(rows[0]["kind"], "invoices");
    assert_eq!(rows[0]["sha256"].len(), 64);
    let cases = ws.case_list();
    assert_eq!(
        cases.as_array().unwrap().len(),
        1,
        "both invoices of one debtor share a case"
    );
    assert_eq!(cases[0]["balance"]["principal"], "150.00");
}

#[test]
fn reject_file_mode_applies_nothing_when_one_record_is_bad() {
    let ws = Workspace::with_config(|text| {
        text.replacen(
            "on_invalid_record = \"skip\"      # valid rows",
            "on_invalid_record = \"reject_file\" # valid rows",
            1,
        )
    });
    ws.drop_file(
        "nordlys",
        "f.csv",
        invoices(&[("1", "100,00"), ("2", "abc")]),
    );
    ws.process("2026-10-01");
    let rows = receipt_rows(&ws.outbox_file("nordlys", "receipt-f.csv.csv"));
    assert_eq!(rows[0]["status"], "rejected");
    assert_eq!(rows[0]["accepted"], "0");
    assert_eq!(rows[0]["rejected"], "2");
    assert_eq!(rows[1]["code"], "bad_amount");
    assert_eq!(ws.case_list().as_array().unwrap().len(), 0);
    // The file could be read, so it is archived (rejected/ is for unreadable files).
    assert_eq!(ws.names_under("archive"), ["nordlys/YYYY/MM/DD/f.csv"]);

    // The same content may be sent again once fixed elsewhere: it was never applied.
    ws.drop_file(
        "nordlys",
        "f-fixed.csv",
        invoices(&[("1", "100,00"), ("2", "200,00")]),
    );
    ws.process("2026-10-01");
    assert_eq!(
        receipt_rows(&ws.outbox_file("nordlys", "receipt-f-fixed.csv.csv"))[0]["status"],
        "accepted"
    );
    assert_eq!(ws.case_list()[0]["balance"]["principal"], "300.00");
}

#[test]
fn a_file_left_in_work_by_an_interrupted_run_is_finished_on_the_next_start() {
    let ws = Workspace::new();
    let work = ws.var().join("work/nordlys");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("left.csv"), invoices(&[("1", "100,00")])).unwrap();
    ws.process("2026-10-01");
    assert!(ws.names_under("work").is_empty());
    assert_eq!(ws.names_under("archive"), ["nordlys/YYYY/MM/DD/left.csv"]);
    assert_eq!(
        receipt_rows(&ws.outbox_file("nordlys", "receipt-left.csv.csv"))[0]["status"],
        "accepted"
    );
}

#[test]
fn a_file_still_being_written_is_not_taken() {
    let ws = Workspace::with_config(|text| {
        text.replacen("quiet_period = \"0s\"", "quiet_period = \"2s\"", 1)
    });
    let path = ws.drop_file("nordlys", "growing.csv", format!("{HEADER}\n"));
    // Another process keeps appending while `process` runs (it waits at most the quiet period
    // and a half second for new files), and for well after: a slow machine's pauses between
    // appends stay far below the quiet period.
    let writer = std::thread::spawn(move || {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        for i in 0..45 {
            writeln!(file, "{}", invoice(&i.to_string(), "10,00")).unwrap();
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    std::thread::sleep(Duration::from_millis(150));
    let out = ws.process("2026-10-01");
    writer.join().unwrap();
    assert!(
        out.contains("0 file(s) processed") && out.contains("1 waiting"),
        "{out}"
    );
    assert_eq!(ws.names_under("inbox"), ["nordlys/growing.csv"]);
    assert!(ws.names_under("outbox").is_empty());

    // Once it has been quiet, the next run takes all of it.
    let out = ws.process("2026-10-01");
    assert!(out.contains("1 file(s) processed"), "{out}");
    let rows = receipt_rows(&ws.outbox_file("nordlys", "receipt-growing.csv.csv"));
    assert_eq!(rows[0]["records"], "45");
}

#[test]
fn upload_names_and_things_that_are_not_files_are_left_alone() {
    let ws = Workspace::new();
    ws.drop_file("nordlys", "f.csv.filepart", invoices(&[("1", "1")]));
    ws.drop_file("nordlys", ".hidden.csv", invoices(&[("1", "1")]));
    ws.drop_file("nordlys", "upload.tmp", invoices(&[("1", "1")]));
    let inbox = ws.var().join("inbox/nordlys");
    std::fs::create_dir(inbox.join("a-folder")).unwrap();
    let outside = ws.dir.path().join("outside.csv");
    std::fs::write(&outside, invoices(&[("9", "1")])).unwrap();
    std::os::unix::fs::symlink(&outside, inbox.join("link.csv")).unwrap();
    let out = ws.process("2026-10-01");
    assert!(out.contains("0 file(s) processed"), "{out}");
    let mut left: Vec<_> = std::fs::read_dir(&inbox)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            ".hidden.csv",
            "a-folder",
            "f.csv.filepart",
            "link.csv",
            "upload.tmp"
        ]
    );
    assert!(ws.names_under("outbox").is_empty());
}

#[test]
fn a_bank_file_without_its_end_record_waits_then_is_rejected_as_incomplete() {
    let ws = Workspace::with_config(|text| {
        text.replacen("stale_after = \"1h\"", "stale_after = \"2s\"", 1)
    });
    let public = std::fs::read_to_string(
        crate::support::public_data().join("ocr-giro-nets-manual-sample.txt"),
    )
    .unwrap();
    let cut: String = public.lines().take(4).map(|l| format!("{l}\n")).collect();
    ws.drop_file("bank", "ocr.txt", &cut);
    let out = ws.process("2026-10-01");
    assert!(
        out.contains("1 waiting"),
        "an incomplete file waits for its end record: {out}"
    );
    std::thread::sleep(Duration::from_millis(2100));
    ws.process("2026-10-01");
    let rows = receipt_rows(&ws.outbox_file("bank", "receipt-ocr.txt.csv"));
    assert_eq!(rows[0]["status"], "rejected");
    assert_eq!(rows[1]["code"], "incomplete_file");
    assert!(
        rows[1]["message"].contains("NY000089"),
        "{}",
        rows[1]["message"]
    );
    assert_eq!(ws.names_under("rejected"), ["bank/ocr.txt"]);
}

#[test]
fn the_daemon_takes_dropped_files_and_stops_cleanly_on_sigterm() {
    let ws = Workspace::new();
    let daemon = Daemon::start(&ws);
    ws.drop_file("nordlys", "live.csv", invoices(&[("1", "100,00")]));
    let receipt = ws.var().join("outbox/nordlys/receipt-live.csv.csv");
    wait_for(|| receipt.exists());
    let status = daemon.terminate();
    assert_eq!(status.code(), Some(0), "SIGTERM is a clean stop");
    assert_eq!(ws.names_under("archive"), ["nordlys/YYYY/MM/DD/live.csv"]);
}

#[test]
fn a_second_daemon_or_process_on_the_same_workspace_is_refused() {
    let ws = Workspace::new();
    let daemon = Daemon::start(&ws);
    let pid = daemon.id();
    for args in [&["run"][..], &["process"][..]] {
        let out = ws.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!(
                "another kravflyt (process {pid}) is already working on this workspace"
            )),
            "{stderr}"
        );
    }
    assert_eq!(daemon.terminate().code(), Some(0));
    // Once it has stopped, the workspace is free again.
    ws.process("2026-10-01");
}

#[test]
fn a_file_the_disk_refuses_to_archive_stays_in_work_without_blocking_others_and_is_finished_later()
{
    let ws = Workspace::new();
    // A plain file where this year's archive folder must go: the move after commit fails.
    let year = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Oslo)
        .format("%Y")
        .to_string();
    let blocker = ws.var().join("archive/nordlys").join(&year);
    std::fs::create_dir_all(blocker.parent().unwrap()).unwrap();
    std::fs::write(&blocker, b"in the way").unwrap();
    ws.drop_file("nordlys", "blocked.csv", invoices(&[("1", "100,00")]));
    let fjellstua = "Kundenr;Kundenavn;Kundetype;Orgnr/Fnr;Adresse;Postnr;Poststed;Fakturanr;Fakturadato;Forfallsdato;Beløp;KID\r\n7;Kari;Privat;;Vei 1;7300;Orkanger;55;01.09.2026;15.09.2026;1 000,00;\r\n";
    ws.drop_file(
        "fjellstua",
        "eksport.csv",
        encoding_rs::WINDOWS_1252.encode(fjellstua).0,
    );

    let out = ws.run(&["process", "--as-of", "2026-10-01"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an infrastructure failure is an operational failure"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nordlys/blocked.csv"), "{stderr}");
    assert_eq!(ws.names_under("work"), ["nordlys/blocked.csv"]);
    assert_eq!(
        ws.names_under("archive"),
        ["fjellstua/YYYY/MM/DD/eksport.csv", "nordlys/2026"].map(|n| n.replace("2026", &year))
    );
    let cases = ws.case_list();
    assert_eq!(
        cases.as_array().unwrap().len(),
        2,
        "both files were committed"
    );

    std::fs::remove_file(&blocker).unwrap();
    ws.process("2026-10-01");
    assert!(ws.names_under("work").is_empty());
    assert_eq!(
        ws.names_under("archive"),
        [
            "fjellstua/YYYY/MM/DD/eksport.csv",
            "nordlys/YYYY/MM/DD/blocked.csv"
        ]
    );
    assert_eq!(ws.case_list(), cases, "nothing was applied twice");
    let receipts: Vec<String> = ws
        .names_under("outbox")
        .into_iter()
        .filter(|n| n.contains("/receipt-"))
        .collect();
    assert_eq!(
        receipts,
        [
            "fjellstua/receipt-eksport.csv.csv",
            "nordlys/receipt-blocked.csv.csv"
        ]
    );
}

#[test]
fn a_file_that_turns_out_unreadable_half_way_applies_nothing() {
    let ws = Workspace::new();
    let mut bytes = invoices(&[("1", "100,00"), ("2", "200,00")]).into_bytes();
    bytes.extend_from_slice(
        &encoding_rs::WINDOWS_1252
            .encode(&invoice("3", "300,00").replace("Kari", "Bjørn"))
            .0,
    );
    bytes.push(b'\n');
    ws.drop_file("nordlys", "mixed.csv", bytes);
    ws.process("2026-10-01");
    let rows = receipt_rows(&ws.outbox_file("nordlys", "receipt-mixed.csv.csv"));
    assert_eq!(rows[0]["status"], "rejected");
    assert_eq!(rows[1]["code"], "bad_encoding");
    assert_eq!(rows[1]["position"], "line 4");
    assert_eq!(
        ws.case_list().as_array().unwrap().len(),
        0,
        "the rows before the bad line were rolled back"
    );
    assert_eq!(ws.names_under("rejected"), ["nordlys/mixed.csv"]);
}

#[test]
fn a_file_over_the_size_limit_is_rejected_whole_without_being_read() {
    let ws = Workspace::with_config(|text| {
        text.replacen("max_file_bytes = 536870912", "max_file_bytes = 200", 1)
    });
    ws.drop_file(
        "nordlys",
        "big.csv",
        invoices(&[("1", "100,00"), ("2", "100,00"), ("3", "100,00")]),
    );
    ws.process("2026-10-01");
    let rows = receipt_rows(&ws.outbox_file("nordlys", "receipt-big.csv.csv"));
    assert_eq!(rows[0]["status"], "rejected");
    assert_eq!(rows[1]["code"], "file_too_large");
    assert_eq!(ws.names_under("rejected"), ["nordlys/big.csv"]);
}

/// SPEC §7 and issue 6: the daemon's daily run takes the steps of every day it missed, in
/// order, each followed by the reconciliation of the days before it.
#[test]
fn the_daemon_catches_up_missed_days_and_reconciles_each_closed_one() {
    let ws = Workspace::new();
    // The shipped time zone: the daemon's "today".
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Oslo)
        .date_naive();
    let day = |back: i64| today - chrono::Duration::days(back);
    ws.drop_file("nordlys", "f.csv", invoices(&[("1", "100,00")]));
    ws.process(&day(3).to_string());
    let reconciled = |d: chrono::NaiveDate| {
        ws.var().join(format!(
            "outbox/_agency/reconciliation-{}.csv",
            d.format("%Y%m%d")
        ))
    };
    assert!(!reconciled(day(3)).exists(), "the day is not over yet");

    let daemon = Daemon::start(&ws);
    // Whatever the hour, the daemon's last due day is yesterday or today, so it runs the
    // steps of day -2 and day -1 at least, and with them closes day -3 and day -2.
    wait_for(|| reconciled(day(3)).exists() && reconciled(day(2)).exists());
    // Each closed day gets its HTML report too.
    let report = |d: chrono::NaiveDate| {
        ws.var()
            .join(format!("outbox/_agency/report-{}.html", d.format("%Y%m%d")))
    };
    wait_for(|| report(day(3)).exists() && report(day(2)).exists());
    assert_eq!(daemon.terminate().code(), Some(0));
    let nordlys = ws.outbox_file(
        "nordlys",
        &format!("reconciliation-{}.csv", day(3).format("%Y%m%d")),
    );
    let summary = nordlys
        .lines()
        .find(|l| l.starts_with("summary;"))
        .expect("a summary row");
    let fields: Vec<&str> = summary.rsplitn(3, ';').collect();
    let (end, start) = (fields[0], fields[1]);
    assert_eq!(start, "0,00", "{summary}");
    assert!(
        summary.contains("new claims 100,00") && summary.contains(&format!("= {end}\"")),
        "the new claim (with its interest and fees) moves the open balance: {summary}"
    );
    // A closed day stays closed.
    let refused = ws.run(&["process", "--as-of", &day(3).to_string()]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("is closed"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}
