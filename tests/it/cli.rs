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
    let no_db = ws.run(&["case", "list"]);
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
