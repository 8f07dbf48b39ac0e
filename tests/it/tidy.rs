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
            assert!(
                !text.contains("rusqlite"),
                "{path} uses rusqlite; SQL belongs in src/store/"
            );
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
        "src/detect.rs",
        "src/decode.rs",
        "src/parse/",
        "src/validate/",
        "src/analysis.rs",
        "src/matching.rs",
        "src/allocation.rs",
        "src/daily.rs",
        "src/settlement.rs",
        "src/receipt.rs",
    ];
    for (path, text) in source_files() {
        if !pure.iter().any(|p| path.starts_with(p)) {
            continue;
        }
        let code = text.split("#[cfg(test)]").next().unwrap_or(&text);
        for forbidden in [
            "std::fs",
            "rusqlite",
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
