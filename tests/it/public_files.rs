//! `kravflyt check` on every public file in `tests/data/public/`: files no one here wrote, read
//! as the sender that would deliver them (the figures inside each file are checked by the
//! parsers' own tests; where the files come from is in that folder's `README.md`).

use std::fmt::Write as _;

use crate::support::{Workspace, public_data, public_file_names, receipt_rows};

#[test]
fn every_public_file_gets_a_receipt_from_check() {
    let ws = Workspace::new();
    let folder = public_data();
    let names = public_file_names(&folder);
    assert!(names.len() >= 7, "{names:?}");
    let mut out = String::new();
    for name in &names {
        let sender = if name.starts_with("peppol") {
            "kvarnby"
        } else {
            "bank"
        };
        let receipt = ws.ok(&[
            "check",
            "--sender",
            sender,
            folder.join(name).to_str().unwrap(),
        ]);
        let rows = receipt_rows(&receipt);
        assert_ne!(
            rows[0]["format"], "",
            "{name}: the format was not recognised"
        );
        assert_ne!(rows[0]["kind"], "", "{name}: the file was not read");
        writeln!(out, "--- {name} as {sender}\n{receipt}").unwrap();
    }
    insta::assert_snapshot!("public_files", out);
}

#[test]
fn the_nets_sample_holds_twenty_payments_and_the_bankgirot_sample_seven() {
    let ws = Workspace::new();
    let folder = public_data();
    for (name, records) in [
        ("ocr-giro-nets-manual-sample.txt", "20"),
        ("bgmax-bankgirot-example.txt", "7"),
    ] {
        let rows = receipt_rows(&ws.ok(&[
            "check",
            "--sender",
            "bank",
            folder.join(name).to_str().unwrap(),
        ]));
        assert_eq!(rows[0]["records"], records, "{name}");
        assert_eq!(rows[0]["kind"], "payments");
        // Every payment is valid and kept (matched or not, payments are never rejected for
        // having no case: they are listed as unmatched with their reason).
        assert_eq!(rows[0]["status"], "accepted", "{name}: {rows:#?}");
        assert_eq!(rows[0]["accepted"], records);
        assert_eq!(rows.len(), 1, "{name}: {rows:#?}");
    }
}
