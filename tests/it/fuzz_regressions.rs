//! Inputs kept from fuzzing (`docs/fuzzing.md`): every crash a fuzz target found, in
//! `tests/data/fuzz-regressions/<target>/`, and the committed seeds in `fuzz/seeds/<target>/`,
//! run through the public path of their target: `kravflyt check --sender S FILE` for the
//! file formats (detect → decode → parse → validate → apply, on an in-memory store), the
//! reference and identifier functions for `references`. Each must end in a receipt (or an
//! answer), never a panic.

use std::path::{Path, PathBuf};

use kravflyt::reference::{self, Scheme};

use crate::support::{Workspace, receipt_rows, repo};

/// Every fuzz target of `fuzz/fuzz_targets/` that reads files, with the sender it reads as.
const FILE_TARGETS: &[(&str, &str)] = &[
    ("csv_invoices", "nordlys"),
    ("csv_native_export", "fjellstua"),
    ("csv_payments", "bank"),
    ("csv_instructions", "desk"),
    ("peppol", "kvarnby"),
    ("camt", "bank"),
    ("kravflyt_xml", "revontuli"),
    ("ocr_giro", "bank"),
    ("bgmax", "bank"),
    ("detect_any", "bank"),
];

/// The inputs kept for a target: regressions first, then seeds; `README.md` files excluded.
fn inputs(target: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for folder in [
        repo().join("tests/data/fuzz-regressions").join(target),
        repo().join("fuzz/seeds").join(target),
    ] {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "README.md"))
            .collect();
        files.sort();
        out.extend(files);
    }
    out
}

/// `kravflyt check` answers with a receipt whose figures add up; a panic would exit 101.
fn assert_receipt(ws: &Workspace, sender: &str, file: &Path) {
    let out = ws.run(&["check", "--sender", sender, file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !stderr.contains("panicked"),
        "kravflyt check --sender {sender} {} failed ({}):\n{stderr}",
        file.display(),
        out.status
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let rows = receipt_rows(&stdout);
    let what = format!("{} as {sender}", file.display());
    let file_row = rows
        .first()
        .unwrap_or_else(|| panic!("{what}: no receipt:\n{stdout}"));
    assert_eq!(file_row["record_type"], "file", "{what}");
    assert!(!file_row["status"].is_empty(), "{what}: no status");
    let count = |column: &str| -> u64 {
        file_row[column]
            .parse()
            .unwrap_or_else(|_| panic!("{what}: {column} is `{}`", file_row[column]))
    };
    assert_eq!(
        count("records"),
        count("accepted") + count("unchanged") + count("rejected"),
        "{what}: records = accepted + unchanged + rejected"
    );
    if file_row["status"] == "rejected" {
        assert!(rows.len() > 1, "{what}: rejected without saying why");
    }
    for row in &rows[1..] {
        assert_eq!(row["record_type"], "error", "{what}");
        assert!(
            !row["position"].is_empty(),
            "{what}: an error without a position"
        );
        assert!(!row["code"].is_empty(), "{what}: an error without a code");
        assert!(
            !row["message"].is_empty(),
            "{what}: an error without a message"
        );
    }
}

#[test]
fn every_kept_fuzz_input_gets_a_receipt_from_check() {
    let ws = Workspace::new();
    let mut checked = 0;
    for (target, sender) in FILE_TARGETS {
        for file in inputs(target) {
            assert_receipt(&ws, sender, &file);
            checked += 1;
        }
    }
    assert!(checked > 0, "no inputs: are fuzz/seeds/ missing?");
}

/// The `references` target's calls, without its asserts on the answers: every function is
/// total (the unit tests and the target check the answers themselves).
#[test]
fn every_kept_reference_input_gets_an_answer() {
    let files = inputs("references");
    assert!(!files.is_empty(), "fuzz/seeds/references/ is missing");
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        let s = String::from_utf8_lossy(&bytes);
        let answer = std::panic::catch_unwind(|| {
            let _ = reference::normalize(&s);
            let _ = reference::schemes_valid_for(&s);
            let _ = s.parse::<Scheme>();
            for scheme in Scheme::ALL {
                for e in [
                    reference::validate(scheme, &s),
                    reference::generate(scheme, &s).map(|_| ()),
                ]
                .into_iter()
                .filter_map(Result::err)
                {
                    assert!(!e.to_string().is_empty());
                }
            }
            let _ = reference::validate_se_ocr_with_length_digit(&s);
            let _ = reference::generate_se_ocr_with_length_digit(&s);
            for country in ["NO", "SE", "FI"] {
                let _ = kravflyt::identifiers::check_organisation_number(country, &s);
                let _ = kravflyt::identifiers::check_personal_number(country, &s);
            }
            let _ = kravflyt::identifiers::mask(&s);
        });
        assert!(answer.is_ok(), "{} panicked", file.display());
    }
}
