//! The tests need nothing outside the repository (issue 16): a clone of it alone passes
//! `cargo test`.
//!
//! The direct proof, `cargo test` in a copy of the repository with nothing beside it, would
//! compile everything again: minutes, not seconds. But here what a test reads is written in its
//! source, as a literal path anchored at `env!("CARGO_MANIFEST_DIR")` or relative to the current
//! directory (which `cargo test` sets to the repository), and the rest comes from the files in
//! the repository. So two cheap checks together cover the same ground:
//!
//! - `no_source_names_a_path_outside_the_repository` reads every string literal of every `.rs`
//!   file (src/, tests/, benches/, fuzz/) and resolves it the way the code uses it: after
//!   `env!("CARGO_MANIFEST_DIR")` or `repo().join(` at the repository root, in `include_str!`
//!   beside the source file, otherwise as it stands (absolute, or relative to the repository,
//!   the test's current directory). A path anchored at the repository that leads out of it is
//!   an error; any other path outside it is an error when it exists on this machine, so that
//!   fragments and inputs of pure code (`"/work/nordlys/"` as the end of a workspace path,
//!   `"/nonexistent/rules.toml"`, a sender folder `"../nordlys"` that config validation must
//!   refuse) are not mistaken for reads. The old public-data folder's name is an error anywhere,
//!   comments and scripts included. `the_scan_catches_the_ways_a_test_could_leave_the_repository`
//!   shows that the scan fails on each way the tests used to leave the repository.
//! - `the_public_files_are_checked_from_a_copy_of_the_tracked_files_alone` copies the files git
//!   tracks (what a clone gets; without git, the tree minus `target/`) into an empty temporary
//!   folder, with nothing beside it, and runs `kravflyt check` there with relative paths
//!   and the copy's own configuration, on every public sample file. Each receipt's SHA-256
//!   must equal the one recorded in `tests/data/public/README.md` (the bytes of the original
//!   files), and the folder must hold exactly the files the README lists. A sample file that
//!   was left out of `git add`, or edited, fails here.
//!
//! Not covered: paths taken from the environment at run time. The tests use one,
//! `KRAVFLYT_FAULTS`, and point it into their own temporary workspace.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use crate::support::{BIN, public_file_names, receipt_rows, repo};

/// The old folder the public files were read from: an error wherever it is named. Built from
/// pieces so this file does not name it.
const OLD_FOLDER: [&str; 2] = [concat!("shared", "/testdata"), concat!("..", "/shared")];

/// Folders of the operating system a test may name: programs (`/usr/sbin/sshd`) and runtime
/// folders (`/run/sshd`), installed by the machine's packages (`scripts/ci-setup.sh`), never
/// test data.
const SYSTEM_FOLDERS: [&str; 3] = ["/usr", "/run", "/proc"];

/// A string literal of a Rust source: where it starts, its text as written (escapes not
/// undone), and the code just before and after it.
struct Literal {
    line: usize,
    text: String,
    before: String,
    after: String,
}

/// The string literals of Rust source `code`, comments and character literals skipped.
fn string_literals(code: &str) -> Vec<Literal> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let context = |mut from: usize, mut to: usize| -> String {
        while !code.is_char_boundary(from) {
            from -= 1;
        }
        while !code.is_char_boundary(to) {
            to += 1;
        }
        code[from..to].split_whitespace().collect::<String>()
    };
    let line_at = |at: usize| code[..at].matches('\n').count() + 1;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                while i < b.len() {
                    if b[i..].starts_with(b"/*") {
                        depth += 1;
                        i += 2;
                    } else if b[i..].starts_with(b"*/") {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            b'\'' => {
                // A character literal ('x', '\n', '"') or a lifetime ('a).
                if b.get(i + 1) == Some(&b'\\') {
                    i += 3;
                    while i < b.len() && b[i] != b'\'' {
                        i += 1;
                    }
                    i += 1;
                } else {
                    let width = code[i + 1..].chars().next().map_or(1, char::len_utf8);
                    if b.get(i + 1 + width) == Some(&b'\'') {
                        i += width + 2;
                    } else {
                        i += 1;
                    }
                }
            }
            b'r' | b'b' | b'"' => {
                // "..", b"..", r"..", r#".."#, br#".."#; r or b only where a word starts.
                let word_start = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
                let mut j = i;
                if b[j] == b'b' && word_start {
                    j += 1;
                }
                let raw = b.get(j) == Some(&b'r') && (word_start || j > i);
                if raw {
                    j += 1;
                }
                let hashes = b[j..].iter().take_while(|&&c| c == b'#').count();
                if (b[i] != b'"' && !word_start) || b.get(j + hashes) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let start = j + hashes + 1;
                let mut end = start;
                if raw {
                    let close: Vec<u8> = std::iter::once(b'"')
                        .chain(std::iter::repeat_n(b'#', hashes))
                        .collect();
                    while end < b.len() && !b[end..].starts_with(&close) {
                        end += 1;
                    }
                } else {
                    while end < b.len() && b[end] != b'"' {
                        end += if b[end] == b'\\' { 2 } else { 1 };
                    }
                }
                let end = end.min(b.len());
                let resume = (end + 1 + if raw { hashes } else { 0 }).min(b.len());
                out.push(Literal {
                    line: line_at(i),
                    text: code[start..end].to_owned(),
                    before: context(i.saturating_sub(160), i),
                    after: context(resume, (resume + 160).min(b.len())),
                });
                i = resume;
            }
            _ => i += 1,
        }
    }
    out
}

/// `path` with `.` and `..` resolved by the text alone (nothing on disk is consulted).
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Where a literal in `file` (relative to `root`) leads out of `root`, or `None`.
fn leaves_repository(root: &Path, file: &str, literal: &Literal) -> Option<String> {
    let text = literal.text.as_str();
    if text.contains('\n') || text.len() > 300 || !text.contains('/') {
        return None;
    }
    let before = literal.before.as_str();
    let anchored_at_root = before.ends_with("env!(\"CARGO_MANIFEST_DIR\"),")
        || (before.ends_with(".join(")
            && (before.contains("CARGO_MANIFEST_DIR") || before.ends_with("repo().join(")))
        || (text.starts_with("{}/") && literal.after.starts_with(",env!(\"CARGO_MANIFEST_DIR\")"));
    let included = before.ends_with("include_str!(") || before.ends_with("include_bytes!(");
    // Up to the first `{`: what follows is filled in by format!.
    let fixed = text.split('{').next().unwrap_or_default();
    let resolved = if anchored_at_root {
        normalise(&root.join(text.trim_start_matches("{}").trim_start_matches('/')))
    } else if included {
        normalise(&root.join(file).parent().unwrap().join(fixed))
    } else {
        normalise(&root.join(fixed))
    };
    if resolved.starts_with(root) {
        return None;
    }
    if anchored_at_root || included {
        return Some(format!(
            "\"{text}\" leads out of the repository, to {}",
            resolved.display()
        ));
    }
    // Not anchored at the repository: only a path that is there to be read counts, and not
    // `/`, `/tmp` or `/data` alone: a top-level folder names nothing a test could depend on.
    if Path::new(fixed).is_absolute() && resolved.components().count() < 3 {
        return None;
    }
    // The operating system's programs and runtime folders are not test data: the SFTP test
    // runs `/usr/sbin/sshd`, which `scripts/ci-setup.sh` installs from the Debian packages.
    if SYSTEM_FOLDERS.iter().any(|f| resolved.starts_with(f)) {
        return None;
    }
    resolved.exists().then(|| {
        format!(
            "\"{text}\" names {}, which exists outside the repository",
            resolved.display()
        )
    })
}

/// Every problem of one source file, as `file:line: what`.
fn problems_in(root: &Path, file: &str, code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        for old in OLD_FOLDER {
            if line.contains(old) {
                out.push(format!(
                    "{file}:{}: names `{old}`; the public files are in tests/data/public/",
                    n + 1
                ));
            }
        }
    }
    if file.ends_with(".rs") {
        for literal in string_literals(code) {
            if let Some(why) = leaves_repository(root, file, &literal) {
                out.push(format!("{file}:{}: {why}", literal.line));
            }
        }
    }
    out
}

/// Files under `dir` (relative to `root`), recursively, build output and VCS data skipped.
fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let relative = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let name = entry.file_name();
        if path.is_dir() {
            if !matches!(
                name.to_str(),
                Some("target" | ".git" | "corpus" | "artifacts")
            ) && relative != "var"
            {
                walk(root, &path, out);
            }
        } else {
            out.push(relative);
        }
    }
}

/// The repository's files: what git tracks (staged included, deleted left out), or, where git
/// cannot say (no git, not a checkout), every file but build output.
fn repository_files() -> Vec<String> {
    let root = repo();
    let listed = Command::new("git")
        .args(["ls-files", "-z", "--cached"])
        .current_dir(&root)
        .output()
        .ok()
        .filter(|out| out.status.success() && !out.stdout.is_empty());
    let mut files: Vec<String> = match listed {
        Some(out) => String::from_utf8(out.stdout)
            .unwrap()
            .split('\0')
            .filter(|name| !name.is_empty() && root.join(name).is_file())
            .map(str::to_owned)
            .collect(),
        None => {
            eprintln!("git ls-files failed: copying the working tree minus build output");
            let mut files = Vec::new();
            walk(&root, &root, &mut files);
            files
        }
    };
    files.sort();
    files
}

#[test]
fn no_source_names_a_path_outside_the_repository() {
    let root = repo();
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches", "fuzz", "scripts", ".ci"] {
        if root.join(dir).is_dir() {
            walk(&root, &root.join(dir), &mut files);
        }
    }
    let code: Vec<&String> = files
        .iter()
        .filter(|f| {
            f.ends_with(".rs")
                || f.ends_with(".sh")
                || f.ends_with(".py")
                || f.as_str() == ".ci/run"
        })
        .collect();
    assert!(
        code.iter().filter(|f| f.ends_with(".rs")).count() > 40,
        "the scan found too few sources: {code:?}"
    );
    let mut problems = Vec::new();
    for file in code {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        problems.extend(problems_in(&root, file, &text));
    }
    assert!(
        problems.is_empty(),
        "sources name paths outside the repository:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_scan_catches_the_ways_a_test_could_leave_the_repository() {
    let root = repo();
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("ocr.txt"), "").unwrap();
    let outside = elsewhere.path().join("ocr.txt").display().to_string();
    let code = format!(
        r#"
fn a() {{ std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../../../../../x")); }}
fn b() {{ repo().join("../elsewhere/public"); }}
fn c(name: &str) {{ format!("{{}}/../elsewhere/{{name}}", env!("CARGO_MANIFEST_DIR")); }}
fn d() {{ std::fs::read("{outside}"); }}
fn e() {{ std::fs::read("../"); }}
const F: &str = include_str!("../../../Cargo.toml");
// the old folder: ../{}
"#,
        "shared"
    );
    let problems = problems_in(&root, "src/parse/x.rs", &code);
    let lines: Vec<&str> = problems
        .iter()
        .map(|p| p.split(": ").next().unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            "src/parse/x.rs:8", // the old folder's name, in a comment
            "src/parse/x.rs:2",
            "src/parse/x.rs:3",
            "src/parse/x.rs:4",
            "src/parse/x.rs:5",
            "src/parse/x.rs:6",
            "src/parse/x.rs:7",
        ],
        "{problems:#?}"
    );

    // What pure code and its tests write are not reads: none of these is a problem.
    let fine = r#"
const INIT: &str = include_str!("../config/kravflyt.toml");
fn g() { concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/public/ocr.txt"); }
fn h(name: &str) { format!("{}/tests/data/public/{name}", env!("CARGO_MANIFEST_DIR")); }
fn i() { ("/work/nordlys/", "/nonexistent/rules.toml", "../nordlys", "nordlys/../bank"); }
fn j() { ('"', '\'', 'a', "/", "//", "/data", "http://www.w3.org/2001/XMLSchema"); }
fn k<'a>(s: &'a str) -> &'a str { /* "/../../x" */ s }
"#;
    assert_eq!(
        problems_in(&root, "src/main.rs", fine),
        Vec::<String>::new()
    );
}

/// The public files' SHA-256 as `tests/data/public/README.md` (in `folder`) records them.
fn recorded_sha256(folder: &Path) -> BTreeMap<String, String> {
    let readme = std::fs::read_to_string(folder.join("README.md")).unwrap();
    readme
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let name = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            let sha = cells.get(2)?.strip_prefix('`')?.strip_suffix('`')?;
            (sha.len() == 64).then(|| (name.to_owned(), sha.to_owned()))
        })
        .collect()
}

#[test]
fn the_public_files_are_checked_from_a_copy_of_the_tracked_files_alone() {
    let temp = tempfile::tempdir().unwrap();
    let copy = temp.path().join("kravflyt");
    for file in repository_files() {
        let to = copy.join(&file);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(repo().join(&file), &to).unwrap();
    }
    // Nothing beside the copy, no build output in it.
    let beside: Vec<_> = std::fs::read_dir(temp.path()).unwrap().collect();
    assert_eq!(beside.len(), 1);
    assert!(!copy.join("target").exists());

    let folder = copy.join("tests/data/public");
    assert!(
        folder.join("README.md").is_file(),
        "tests/data/public/README.md is not in the copy: is it tracked (git add)?"
    );
    let recorded = recorded_sha256(&folder);
    let names = public_file_names(&folder);
    assert!(recorded.len() >= 7, "{recorded:#?}");
    assert_eq!(
        names,
        recorded.keys().cloned().collect::<Vec<_>>(),
        "the copy's tests/data/public/ must hold exactly the files its README lists \
         (a file missing here is not tracked: git add it)"
    );

    for name in &names {
        let (sender, format) = match name.split('-').next().unwrap() {
            "peppol" => ("kvarnby", "peppol-bis3"),
            "ocr" => ("bank", "ocr-giro"),
            "bgmax" => ("bank", "bgmax"),
            other => panic!("{name}: no sender for files starting `{other}`"),
        };
        // The shipped configuration of the copy (the default `config/kravflyt.toml`), the file
        // by a relative path, the copy as current directory: nothing names the original.
        let out = Command::new(BIN)
            .args(["check", "--sender", sender])
            .arg(format!("tests/data/public/{name}"))
            .current_dir(&copy)
            .env("KRAVFLYT_LOG", "warn")
            .env_remove("KRAVFLYT_CONFIG")
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(
            out.status.success(),
            "kravflyt check {name} in the copy failed ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let rows = receipt_rows(&stdout);
        assert_eq!(rows[0]["file_name"], *name);
        assert_eq!(
            rows[0]["sha256"], recorded[name],
            "{name}: its bytes differ from the original's (README.md); never edit these files"
        );
        assert_eq!(rows[0]["format"], format, "{name}: {rows:#?}");
        assert_ne!(rows[0]["kind"], "", "{name}: the file was not read");
    }
}
