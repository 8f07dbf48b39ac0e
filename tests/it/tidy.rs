//! Tidy checks that keep the architecture honest (rust-analyzer's `tidy.rs`).

use crate::support::repo;

fn source_files() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![repo().join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path
                    .strip_prefix(repo())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((relative, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn sql_lives_only_in_the_store() {
    for (path, text) in source_files() {
        if !path.starts_with("src/store/") {
            for client in ["rusqlite", "postgres::"] {
                assert!(
                    !text.contains(client),
                    "{path} uses {client}; SQL, and which database it goes to, belong in src/store/"
                );
            }
        }
    }
}

#[test]
fn the_pure_core_touches_no_files_database_or_clock() {
    let pure = [
        "src/domain.rs",
        "src/money.rs",
        "src/reference.rs",
        "src/identifiers.rs",
        "src/columns.rs",
        "src/diagnostic.rs",
        "src/config/interest.rs",
        "src/ingest/",
        "src/ledger/",
        "src/outbound/receipt.rs",
    ];
    for p in pure {
        // A file or folder moved away must not leave the check silently empty.
        assert!(
            repo().join(p).exists(),
            "{p} is listed as pure but does not exist"
        );
    }
    for (path, text) in source_files() {
        if !pure.iter().any(|p| path.starts_with(p)) {
            continue;
        }
        let code = text.split("#[cfg(test)]").next().unwrap_or(&text);
        for forbidden in [
            "std::fs",
            "rusqlite",
            "postgres::",
            "Utc::now",
            "SystemTime",
            "Local::now",
        ] {
            assert!(
                !code.contains(forbidden),
                "{path} uses {forbidden}, but it is part of the pure core"
            );
        }
    }
}

#[test]
fn money_is_never_a_float() {
    for (path, text) in source_files() {
        for float in ["f32", "f64"] {
            let found = text
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .any(|word| word == float);
            assert!(!found, "{path} uses {float}");
        }
    }
}

#[test]
fn every_source_file_starts_with_a_doc_line() {
    for (path, text) in source_files() {
        assert!(
            text.starts_with("//!"),
            "{path} must start with a `//!` line saying what it is"
        );
    }
}

/// The folders of `src/` in the order the data passes them (ARCHITECTURE.md's codemap); the
/// root's files, the shared vocabulary, come first. `lib.rs`, `main.rs` and `bin/` sit on top.
const LAYERS: &[&str] = &[
    "", "config", "ingest", "ledger", "store", "apply", "outbound", "service",
];

/// The layer of a file (`src/…`), or `None` for the crate's top (lib, main, bin).
fn layer_of_file(path: &str) -> Option<usize> {
    let relative = path.strip_prefix("src/").unwrap();
    match relative.split_once('/') {
        None if relative == "lib.rs" || relative == "main.rs" => None,
        None => Some(0),
        Some(("bin", _)) => None,
        Some((folder, _)) => Some(
            LAYERS
                .iter()
                .position(|l| *l == folder)
                .unwrap_or_else(|| panic!("src/{folder}/ is not in LAYERS: place it in the flow")),
        ),
    }
}

/// A file's code without its comments: a doc link to a later folder is not a use.
fn code_of(text: &str) -> String {
    text.lines()
        .map(|line| line.find("//").map_or(line, |at| &line[..at]))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn each_folder_of_src_uses_only_the_folders_before_it() {
    let mut wrong = Vec::new();
    for (path, text) in source_files() {
        let Some(layer) = layer_of_file(&path) else {
            continue;
        };
        let code = code_of(&text);
        for (at, _) in code.match_indices("crate::") {
            let name: String = code[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // A root file's module name is no folder: layer 0.
            let used = LAYERS.iter().position(|l| *l == name).unwrap_or(0);
            if used > layer {
                wrong.push(format!("{path} uses crate::{name}, a later folder"));
            }
        }
    }
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "a folder of src/ may use only the folders before it, in the order {LAYERS:?}:\n{}",
        wrong.join("\n")
    );
}
