//! The command line as a user meets it: exit codes, `check`, `case show`, `config check`, `ref`.

use crate::support::{Workspace, receipt_rows};

const HEADER: &str = "creditor_id;invoice_no;customer_no;debtor_type;debtor_name;address;postcode;city;issue_date;due_date;currency;amount";

fn invoice(no: &str, customer: &str, amount: &str) -> String {
    format!(
        "923609016;{no};{customer};person;Kari Nordmann;Storgata 1;9008;Tromsø;2026-09-01;2026-09-15;NOK;{amount}"
    )
}

#[test]
fn case_show_finds_a_case_by_number_reference_and_invoice_with_the_spec_keys() {
    let ws = Workspace::new();
    ws.drop_file(
        "nordlys",
        "f.csv",
        format!(
            "{HEADER}\n{}\n{}\n",
            invoice("1", "7", "1 499,00"),
            invoice("2", "7", "100,50")
        ),
    );
    // Before the first letter may go (due 2026-09-15 + 14 days): the case is still registered.
    ws.process("2026-09-20");
    let by_number = ws.case_show("2026-000001");
    let reference = by_number["reference"].as_str().unwrap().to_owned();
    assert_eq!(ws.case_show(&reference), by_number);
    assert_eq!(ws.case_show("923609016/2"), by_number);
    for key in [
        "case_no",
        "creditor_id",
        "reference",
        "currency",
        "state",
        "close_reason",
        "deadline",
        "debtor",
        "invoices",
        "balance",
        "events",
    ] {
        assert!(
            by_number.get(key).is_some(),
            "case show --json lacks `{key}`"
        );
    }
    assert_eq!(by_number["state"], "registered");
    assert_eq!(by_number["currency"], "NOK");
    assert_eq!(by_number["debtor"]["type"], "person");
    assert_eq!(by_number["balance"]["principal"], "1599.50");
    // Interest runs from the day after the due date to the as-of date of the last run: five
    // days at 12.00 % (2026 H1 rate carried forward) on 1 599.50 is 2.63.
    assert_eq!(by_number["balance"]["interest"], "2.63");
    assert_eq!(by_number["balance"]["total"], "1602.13");
    assert_eq!(by_number["invoices"][1]["principal_open"], "100.50");
    assert_eq!(by_number["events"][0]["kind"], "registered");
    assert_eq!(by_number["events"][1]["kind"], "invoice_added");

    let text = ws.ok(&["case", "show", "2026-000001"]);
    assert!(
        text.contains("Kari Nordmann") && text.contains("1599.50"),
        "{text}"
    );

    let missing = ws.run(&["case", "show", "2026-999999"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no case"));
}

#[test]
fn case_list_filters_by_state_and_creditor() {
    let ws = Workspace::new();
    ws.drop_file(
        "nordlys",
        "f.csv",
        format!(
            "{HEADER}\n{}\n{}\n",
            invoice("1", "7", "10"),
            invoice("2", "8", "20")
        ),
    );
    // Before the first letter may go (due 2026-09-15 + 14 days): the case is still registered.
    ws.process("2026-09-20");
    assert_eq!(ws.case_list().as_array().unwrap().len(), 2);
    let registered = ws.ok(&[
        "case",
        "list",
        "--state",
        "registered",
        "--creditor",
        "923609016",
        "--json",
    ]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&registered)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let other = ws.ok(&["case", "list", "--creditor", "987654325", "--json"]);
    assert_eq!(other.trim(), "[]");
    let bad_state = ws.run(&["case", "list", "--state", "open"]);
    assert_eq!(
        bad_state.status.code(),
        Some(2),
        "an unknown state is a usage error"
    );
}

#[test]
fn check_prints_the_receipt_and_changes_nothing() {
    let ws = Workspace::new();
    let file = ws.dir.path().join("f.csv");
    std::fs::write(
        &file,
        format!(
            "{HEADER}\n{}\n{}\n",
            invoice("1", "7", "10"),
            invoice("2", "7", "abc")
        ),
    )
    .unwrap();
    let out = ws.ok(&["check", "--sender", "nordlys", file.to_str().unwrap()]);
    let rows = receipt_rows(&out);
    assert_eq!(rows[0]["status"], "partly_accepted");
    assert_eq!(rows[1]["code"], "bad_amount");
    assert_eq!(rows[1]["position"], "line 3");
    assert!(
        !ws.var().join("kravflyt.db").exists(),
        "check must not create a database"
    );

    // Against a workspace that already has the file: duplicate, and still nothing changes.
    std::fs::create_dir_all(ws.var().join("inbox/nordlys")).unwrap();
    std::fs::copy(&file, ws.var().join("inbox/nordlys/f.csv")).unwrap();
    ws.process("2026-10-01");
    let before = ws.case_list();
    let again = receipt_rows(&ws.ok(&["check", "--sender", "nordlys", file.to_str().unwrap()]));
    assert_eq!(again[0]["status"], "duplicate");
    assert_eq!(ws.case_list(), before);

    let unknown = ws.run(&["check", "--sender", "nobody", file.to_str().unwrap()]);
    assert_eq!(
        unknown.status.code(),
        Some(2),
        "an unknown sender is a usage error"
    );
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no sender `nobody`"));
}

#[test]
fn config_check_lists_every_problem_with_its_line() {
    let ws = Workspace::with_config(|text| {
        text.replacen("country = \"NO\"", "country = \"DK\"", 1)
            .replacen("[workspace]\n", "[workspace]\ncolor = 1\n", 1)
    });
    let out = ws.run(&["config", "check"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // A syntax-level problem stops serde first; it is reported with its line and column.
    assert!(
        stdout.contains("kravflyt.toml:8:1: unknown field `color`"),
        "{stdout}"
    );

    let ws = Workspace::with_config(|text| {
        text.replacen("country = \"NO\"", "country = \"DK\"", 1)
            .replacen("handover = \"notice\"", "handover = \"later\"", 1)
    });
    let out = ws.run(&["config", "check"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("country: `DK` is not one of NO, SE, FI"),
        "{stdout}"
    );
    assert!(
        stdout.contains("handover: `later` is not one of reminder, notice, demand"),
        "{stdout}"
    );
    assert!(stdout.contains("2 problem(s)"), "{stdout}");

    let good = Workspace::new();
    assert!(
        good.ok(&["config", "check"])
            .contains("ok (4 creditors, 6 senders")
    );
}

#[test]
fn operational_failures_exit_1_and_usage_errors_exit_2() {
    let ws = Workspace::new();
    // Looking commands answer a fresh workspace (tests/it/monitoring.rs); checking one needs
    // a database.
    let no_db = ws.run(&["verify"]);
    assert_eq!(no_db.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&no_db.stderr).contains("run `kravflyt process`"));
    assert_eq!(
        ws.run(&["process", "--as-of", "yesterday"]).status.code(),
        Some(2)
    );
    assert_eq!(ws.run(&["frobnicate"]).status.code(), Some(2));
    let missing_config = std::process::Command::new(crate::support::BIN)
        .args(["--config", "/nonexistent.toml", "--data-dir"])
        .arg(ws.dir.path())
        .arg("process")
        .output()
        .unwrap();
    assert_eq!(missing_config.status.code(), Some(1));
}

#[test]
fn a_damaged_database_is_a_clear_message_not_a_panic() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.var()).unwrap();
    std::fs::write(ws.var().join("kravflyt.db"), vec![b'x'; 4096]).unwrap();
    let out = ws.run(&["process", "--as-of", "2026-10-01"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not a kravflyt database or is damaged"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn ref_check_and_new() {
    let ws = Workspace::new();
    let made = ws.ok(&["ref", "new", "--scheme", "kid-mod10", "1234567"]);
    assert_eq!(made.trim(), "12345674");
    assert!(
        ws.ok(&["ref", "check", "12345674", "--scheme", "kid-mod10"])
            .contains("valid: kid-mod10")
    );
    let bad = ws.run(&["ref", "check", "12345675", "--scheme", "kid-mod10"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stdout).contains("check digit"));
    assert!(
        ws.ok(&["ref", "check", "RF18 5390 0754 7034"])
            .contains("rf")
    );
}

#[test]
fn init_creates_a_workspace_and_is_safe_to_run_twice() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("kravflyt");
    let init = || {
        std::process::Command::new(crate::support::BIN)
            .args(["init", root.to_str().unwrap()])
            .env("KRAVFLYT_LOG", "warn")
            .output()
            .unwrap()
    };
    let first = init();
    assert!(first.status.success(), "{first:?}");
    let config = root.join("config/kravflyt.toml");
    assert!(String::from_utf8_lossy(&first.stdout).contains("created"));
    for sender in ["nordlys", "bank", "desk"] {
        for folder in ["inbox", "work", "rejected", "outbox"] {
            assert!(root.join("var").join(folder).join(sender).is_dir());
        }
    }
    // An operator's edit survives a second init.
    let edited = std::fs::read_to_string(&config).unwrap() + "\n# edited by the operator\n";
    std::fs::write(&config, &edited).unwrap();
    let second = init();
    assert!(second.status.success());
    assert!(String::from_utf8_lossy(&second.stdout).contains("kept"));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), edited);
    // The new workspace works as it is.
    let check = std::process::Command::new(crate::support::BIN)
        .args(["config", "check"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

#[test]
fn every_command_has_help_with_a_purpose_and_an_example() {
    for command in [
        &["run"][..],
        &["process"],
        &["reconcile"],
        &["backup"],
        &["verify"],
        &["init"],
        &["check"],
        &["case", "show"],
        &["case", "list"],
        &["ref", "check"],
        &["ref", "new"],
        &["status"],
        &["config", "check"],
        &["report"],
    ] {
        let out = std::process::Command::new(crate::support::BIN)
            .args(command)
            .arg("--help")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{command:?}: {text}");
        assert!(
            text.contains("Example"),
            "{command:?} has no example:\n{text}"
        );
        let purpose = text.lines().next().unwrap_or_default();
        assert!(
            purpose.len() > 20,
            "{command:?}: no purpose line: {purpose}"
        );
    }
}

#[test]
fn json_logs_have_one_line_per_file_with_its_figures() {
    let ws = Workspace::new();
    ws.drop_file(
        "nordlys",
        "f.csv",
        "creditor_id;invoice_no;customer_no;debtor_type;debtor_name;address;postcode;city;issue_date;due_date;currency;amount\n\
         923609016;1;7;person;Kari Nordmann;Storgata 1;9008;Tromsø;2026-09-01;2026-09-15;NOK;100,00\n",
    );
    let out = ws
        .command()
        .env("KRAVFLYT_LOG", "info")
        .args(["--log-format", "json", "process", "--as-of", "2026-10-01"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    let files: Vec<_> = lines
        .iter()
        .filter(|l| l["message"] == "file processed")
        .collect();
    assert_eq!(files.len(), 1, "{stderr}");
    let line = files[0];
    assert_eq!(line["sender"], "nordlys");
    assert_eq!(line["file"], "f.csv");
    assert_eq!(line["format"], "csv");
    assert_eq!(line["kind"], "invoices");
    assert_eq!(line["status"], "accepted");
    assert_eq!(line["records"], 1);
    assert!(line["ms"].is_u64(), "{line}");
}

#[test]
fn status_shows_each_senders_day_unmatched_totals_and_the_daily_run() {
    let ws = Workspace::new();
    ws.drop_file(
        "nordlys",
        "f.csv",
        format!("{HEADER}\n{}\n", invoice("1", "7", "100,00")),
    );
    ws.drop_file("nordlys", "bad.csv", "not a header\n");
    ws.drop_file(
        "bank",
        "p.csv",
        "payment_id;kind;reference;amount;currency;payment_date\nP1;bank;12345674;99,00;NOK;2026-10-01\nP2;bank;;1,00;NOK;2026-10-01\n",
    );
    ws.process("2026-10-01");
    let status: serde_json::Value = serde_json::from_str(&ws.ok(&["status", "--json"])).unwrap();
    let nordlys = status["senders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["sender"] == "nordlys")
        .unwrap()
        .clone();
    // Business date 2026-10-01 is not today, so nothing counts as today's; the last file does.
    assert_eq!(nordlys["files_today"], 0);
    assert!(nordlys["last_file"] == "f.csv" || nordlys["last_file"] == "bad.csv");
    assert_eq!(
        status["unmatched_totals"],
        serde_json::json!([{"currency": "NOK", "count": 2, "amount": "100.00"}])
    );
    assert_eq!(status["daily_run"]["last_steps_date"], "2026-10-01");
    assert_eq!(
        status["daily_run"]["overdue"], true,
        "steps through 2026-10-01 are behind today"
    );
    let text = ws.ok(&["status"]);
    assert!(text.contains("OVERDUE"), "{text}");
    assert!(text.contains("2 × NOK 100.00"), "{text}");
}

/// `process` again for a date whose daily steps already ran, with no file since, does not run
/// them again (issue 14): they would find nothing new, and at scale they read every open case.
/// The log says so, instead of the steps' summary. A file that comes later that day has them
/// run again, so its case takes its first step the same day.
#[test]
fn a_second_process_on_the_same_date_does_not_run_the_daily_steps_again_until_a_file_comes() {
    let ws = Workspace::new();
    let process = || {
        let out = ws
            .command()
            .env("KRAVFLYT_LOG", "info")
            .args(["process", "--as-of", "2026-10-01"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    let ran = "daily steps run";
    let skipped = "the daily steps of this date already ran and no file came since";
    ws.drop_file(
        "nordlys",
        "a.csv",
        format!("{HEADER}\n{}\n", invoice("1", "7", "100,00")),
    );
    let first = process();
    assert!(first.contains(ran) && !first.contains(skipped), "{first}");
    // Past due + 14 days: the case took its first letter on 2026-10-01.
    assert_eq!(ws.case_show("2026-000001")["state"], "notice");
    let letters = ws.outbox_file("_agency", "letters-20261001-1.csv");

    let second = process();
    assert!(
        second.contains(skipped) && !second.contains(ran),
        "{second}"
    );
    assert_eq!(ws.outbox_file("_agency", "letters-20261001-1.csv"), letters);
    assert_eq!(ws.names_under("outbox").len(), 3, "no new outbound file");

    ws.drop_file(
        "nordlys",
        "b.csv",
        format!("{HEADER}\n{}\n", invoice("2", "8", "200,00")),
    );
    let third = process();
    assert!(third.contains(ran) && !third.contains(skipped), "{third}");
    assert_eq!(ws.case_show("2026-000002")["state"], "notice");
}

/// The benchmark generator's files are what a real sender and bank would deliver: accepted
/// whole, the OCR giro file's control totals add up, and about a tenth of the money stays
/// unmatched (wrong check digits and unknown KIDs), as issue 8 asks.
#[test]
fn the_benchmark_generator_writes_files_kravflyt_accepts() {
    let ws = Workspace::new();
    let out = ws.dir.path().join("gen");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_kravflyt-gen"))
        .args(["400", out.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    let again = ws.dir.path().join("gen-again");
    std::process::Command::new(env!("CARGO_BIN_EXE_kravflyt-gen"))
        .args(["400", again.to_str().unwrap()])
        .status()
        .unwrap();
    for file in [
        "nordlys/invoices-400.csv",
        "bank/payments-400.csv",
        "bank/payments-400.ocr.txt",
    ] {
        assert_eq!(
            std::fs::read(out.join(file)).unwrap(),
            std::fs::read(again.join(file)).unwrap(),
            "{file} is deterministic"
        );
    }
    ws.drop_file(
        "nordlys",
        "invoices.csv",
        std::fs::read(out.join("nordlys/invoices-400.csv")).unwrap(),
    );
    ws.process("2026-10-01");
    ws.drop_file(
        "bank",
        "payments.ocr.txt",
        std::fs::read(out.join("bank/payments-400.ocr.txt")).unwrap(),
    );
    ws.process("2026-10-02");
    for (sender, name) in [
        ("nordlys", "receipt-invoices.csv.csv"),
        ("bank", "receipt-payments.ocr.txt.csv"),
    ] {
        let rows = receipt_rows(&ws.outbox_file(sender, name));
        assert_eq!(rows[0]["status"], "accepted", "{name}: {rows:?}");
        assert_eq!(rows[0]["accepted"], "400");
    }
    let status: serde_json::Value = serde_json::from_str(&ws.ok(&["status", "--json"])).unwrap();
    let unmatched = status["unmatched"].as_array().unwrap().len();
    assert!(
        (20..=60).contains(&unmatched),
        "about a tenth unmatched, not {unmatched}"
    );
}
