//! The reference documents kept in step with the code. They are public contract (codes,
//! columns, configuration keys), so a code, a column or a key added to the source fails here
//! until it is documented, and a code removed from the source fails until the docs forget it.
//!
//! The documents are read as plain Markdown: a section runs from its heading to the next heading
//! of the same or a higher level, and a table's rows are split on `|`.

use std::collections::BTreeSet;

use kravflyt::columns::columns_of;
use kravflyt::domain::FileKind;
use kravflyt::outbound::receipt::RECEIPT_COLUMNS;
use kravflyt::outbound::reconciliation::{RECONCILIATION_COLUMNS, RecordType};

use crate::support::repo;

fn read(path: &str) -> String {
    let full = repo().join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("cannot read {}: {e}", full.display()))
}

/// The text of the section whose heading line is exactly `heading` (e.g. `## Codes`), up to the
/// next heading of the same or a higher level.
fn section<'t>(text: &'t str, path: &str, heading: &str) -> &'t str {
    let level = heading.chars().take_while(|c| *c == '#').count();
    let mut start = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end();
        let hashes = trimmed.chars().take_while(|c| *c == '#').count();
        let is_heading = hashes > 0 && trimmed[hashes..].starts_with(' ');
        match start {
            None if trimmed == heading => start = Some(offset + line.len()),
            Some(from) if is_heading && hashes <= level => return &text[from..offset],
            _ => {}
        }
        offset += line.len();
    }
    match start {
        Some(from) => &text[from..],
        None => panic!("{path} has no section `{heading}`"),
    }
}

/// The cells of every table row in `text`, header and separator rows left out. Cells are
/// trimmed; `\|` inside a cell is not a separator.
fn table_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut in_table = false;
    for line in text.lines() {
        let line = line.trim();
        if !line.starts_with('|') {
            in_table = false;
            continue;
        }
        let cells = split_cells(line);
        if !in_table {
            // The first row of a table is its header.
            in_table = true;
            continue;
        }
        if cells
            .iter()
            .all(|c| c.chars().all(|ch| matches!(ch, '-' | ':')))
        {
            continue;
        }
        rows.push(cells);
    }
    rows
}

/// The rows of the first table in `text` only.
fn first_table(text: &str) -> Vec<Vec<String>> {
    let start = text
        .lines()
        .position(|l| l.trim().starts_with('|'))
        .expect("a table");
    let table: Vec<&str> = text
        .lines()
        .skip(start)
        .take_while(|l| l.trim().starts_with('|'))
        .collect();
    table_rows(&table.join("\n"))
}

fn split_cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|');
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let mut cells = vec![String::new()];
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                chars.next();
                cells.last_mut().unwrap().push('|');
            }
            '|' => cells.push(String::new()),
            c => cells.last_mut().unwrap().push(c),
        }
    }
    cells.iter().map(|c| c.trim().to_owned()).collect()
}

/// `` `name` `` → `name`, for a cell that is one name in backticks.
fn backticked(cell: &str) -> Option<&str> {
    let name = cell.strip_prefix('`')?.strip_suffix('`')?;
    (!name.is_empty() && !name.contains('`')).then_some(name)
}

/// The values of `pub const NAME: &str = "value";` inside `pub mod code { … }`.
fn source_codes() -> BTreeSet<String> {
    let text = read("src/diagnostic.rs");
    let start = text
        .find("pub mod code {")
        .expect("src/diagnostic.rs has `pub mod code {`");
    let body = &text[start..];
    let end = body.find("\n}").expect("the end of `mod code`");
    let codes: BTreeSet<String> = body[..end]
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            line.strip_prefix("pub const ")?;
            let value = line.split_once("= \"")?.1;
            Some(value.split_once('"')?.0.to_owned())
        })
        .collect();
    assert!(
        codes.len() > 10,
        "read only {codes:?} from src/diagnostic.rs"
    );
    codes
}

fn difference(a: &BTreeSet<String>, b: &BTreeSet<String>) -> Vec<String> {
    a.difference(b).cloned().collect()
}

#[test]
fn the_codes_table_of_receipts_md_lists_exactly_the_codes_of_the_source() {
    let path = "docs/receipts.md";
    let text = read(path);
    let mut documented = BTreeSet::new();
    let mut twice = Vec::new();
    for row in table_rows(section(&text, path, "## Codes")) {
        if let Some(code) = row.first().and_then(|c| backticked(c))
            && !documented.insert(code.to_owned())
        {
            twice.push(code.to_owned());
        }
    }
    let source = source_codes();
    let undocumented = difference(&source, &documented);
    let gone = difference(&documented, &source);
    assert!(
        undocumented.is_empty(),
        "codes in src/diagnostic.rs `mod code` but not in the codes table of {path}: {undocumented:?}"
    );
    assert!(
        gone.is_empty(),
        "codes in the codes table of {path} that src/diagnostic.rs does not define: {gone:?}"
    );
    assert!(twice.is_empty(), "codes listed twice in {path}: {twice:?}");
}

#[test]
fn formats_md_lists_every_canonical_column_of_each_kind_with_its_required_flag() {
    let path = "docs/formats.md";
    let text = read(path);
    for (kind, heading) in [
        (FileKind::Invoices, "### Invoices and credit notes"),
        (FileKind::Payments, "### Payments"),
        (FileKind::Instructions, "### Instructions"),
    ] {
        let rows = first_table(section(&text, path, heading));
        let documented: Vec<(String, String)> = rows
            .iter()
            .filter_map(|row| {
                let name = backticked(row.first()?)?;
                Some((name.to_owned(), row.get(1).cloned().unwrap_or_default()))
            })
            .collect();
        let names: BTreeSet<String> = documented.iter().map(|(n, _)| n.clone()).collect();
        let source: BTreeSet<String> = columns_of(kind)
            .iter()
            .map(|(c, _)| (*c).to_owned())
            .collect();
        let undocumented = difference(&source, &names);
        let gone = difference(&names, &source);
        assert!(
            undocumented.is_empty(),
            "{kind} columns of src/parse/columns.rs missing from the table under `{heading}` in {path}: {undocumented:?}"
        );
        assert!(
            gone.is_empty(),
            "the table under `{heading}` in {path} lists {gone:?}, which are not {kind} columns in src/parse/columns.rs"
        );
        for (column, required) in columns_of(kind) {
            let (_, said) = documented.iter().find(|(n, _)| n == column).unwrap();
            assert_eq!(
                said == "yes",
                *required,
                "{path}, `{heading}`: `{column}` is {} in src/parse/columns.rs, but its \"req.\" cell says `{said}`",
                if *required {
                    "always required"
                } else {
                    "not always required"
                }
            );
        }
    }
}

#[test]
fn formats_md_names_every_inbound_format() {
    let text = read("docs/formats.md");
    for format in [
        "csv",
        "peppol-bis3",
        "kravflyt-xml",
        "camt.053",
        "camt.054",
        "ocr-giro",
        "bgmax",
    ] {
        let parsed: kravflyt::domain::InboundFormat = format.parse().unwrap();
        assert_eq!(parsed.as_str(), format);
        assert!(
            text.contains(&format!("`{format}`")),
            "docs/formats.md does not name the format `{format}`"
        );
    }
}

/// Field names (or their `serde(rename)`) of every `struct Raw…` in src/config.rs: exactly the
/// keys the TOML may hold, since every one of them denies unknown fields.
fn config_keys() -> Vec<(String, String)> {
    let text = read("src/config/mod.rs");
    let mut keys = Vec::new();
    let mut structs = Vec::new();
    let mut current: Option<String> = None;
    let mut rename: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        let declaration = trimmed
            .strip_prefix("pub(crate) ")
            .or_else(|| trimmed.strip_prefix("pub "))
            .unwrap_or(trimmed);
        if let Some(rest) = declaration.strip_prefix("struct Raw") {
            let name = rest.trim_end_matches(['{', ' ']);
            current = Some(format!("Raw{name}"));
            structs.push(format!("Raw{name}"));
            continue;
        }
        let Some(owner) = &current else { continue };
        if line.starts_with('}') {
            current = None;
            continue;
        }
        if trimmed.starts_with("#[serde(") {
            rename = trimmed
                .split_once("rename = \"")
                .and_then(|(_, r)| r.split_once('"'))
                .map(|(r, _)| r.to_owned());
            continue;
        }
        if let Some((field, _)) = trimmed.split_once(':')
            && !field.is_empty()
            && field.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        {
            let key = rename.take().unwrap_or_else(|| field.to_owned());
            keys.push((owner.clone(), key));
        }
    }
    for expected in [
        "RawConfig",
        "RawWorkspace",
        "RawIntake",
        "RawAgency",
        "RawCreditor",
        "RawSender",
        "RawCsv",
    ] {
        assert!(
            structs.iter().any(|s| s == expected) && keys.iter().any(|(o, _)| o == expected),
            "no fields of `struct {expected}` found in src/config.rs (found structs {structs:?}); update this test if the raw layer was renamed"
        );
    }
    keys
}

#[test]
fn configuration_md_describes_every_key_the_config_accepts() {
    let path = "docs/configuration.md";
    let text = read(path);
    let undocumented: Vec<String> = config_keys()
        .into_iter()
        .filter(|(_, key)| {
            ![
                format!("`{key}`"),
                format!("[{key}]"),
                format!("[[{key}]]"),
                format!(".{key}]"),
            ]
            .iter()
            .any(|form| text.contains(form.as_str()))
        })
        .map(|(owner, key)| format!("{owner}.{key}"))
        .collect();
    assert!(
        undocumented.is_empty(),
        "configuration keys accepted by src/config.rs but not described in {path}: {undocumented:?}"
    );
}

#[test]
fn receipts_md_lists_the_receipt_columns_in_order() {
    let path = "docs/receipts.md";
    let text = read(path);
    let rows = first_table(section(&text, path, "## CSV receipts"));
    let documented: Vec<&str> = rows
        .iter()
        .filter_map(|row| backticked(row.get(1)?))
        .collect();
    assert_eq!(
        documented, RECEIPT_COLUMNS,
        "the columns table under `## CSV receipts` in {path} differs from RECEIPT_COLUMNS in src/receipt.rs"
    );
    let numbers: Vec<String> = rows.iter().filter_map(|row| row.first().cloned()).collect();
    let expected: Vec<String> = (1..=RECEIPT_COLUMNS.len()).map(|n| n.to_string()).collect();
    assert_eq!(numbers, expected, "the `#` column of the table in {path}");
}

/// Every CSV receipt (and reconciliation file) quoted in the docs has the current header, and
/// every row has as many fields as the header: an example written before a column was added
/// fails here.
#[test]
fn receipt_examples_in_the_docs_have_the_current_columns() {
    let header = RECEIPT_COLUMNS.join(";");
    let reconciliation_header = RECONCILIATION_COLUMNS.join(";");
    let record_types: Vec<String> = RecordType::ALL
        .iter()
        .map(|t| format!("{};", t.as_str()))
        .collect();
    let mut examples = 0;
    let mut reconciliation_examples = 0;
    for path in ["README.md", "docs/receipts.md", "docs/outbound.md"] {
        let text = read(path);
        let mut block: Option<Vec<&str>> = None;
        let mut in_reconciliation = false;
        for line in text.lines() {
            match &mut block {
                None if line.starts_with("record_type;date;") => {
                    assert_eq!(
                        line, reconciliation_header,
                        "a reconciliation example in {path} has an outdated header"
                    );
                    block = Some(vec![line]);
                    in_reconciliation = true;
                }
                None if line.starts_with("record_type;") => {
                    assert_eq!(
                        line, header,
                        "a receipt example in {path} has an outdated header"
                    );
                    block = Some(vec![line]);
                    in_reconciliation = false;
                }
                Some(lines)
                    if !in_reconciliation
                        && (line.starts_with("file;") || line.starts_with("error;")) =>
                {
                    lines.push(line);
                }
                Some(lines)
                    if in_reconciliation && record_types.iter().any(|t| line.starts_with(t)) =>
                {
                    lines.push(line);
                }
                Some(lines) => {
                    check_example(path, &lines.join("\n"));
                    if in_reconciliation {
                        reconciliation_examples += 1;
                    } else {
                        examples += 1;
                    }
                    block = None;
                }
                None => {}
            }
        }
    }
    assert!(
        reconciliation_examples >= 2,
        "found only {reconciliation_examples} reconciliation examples"
    );
    assert!(examples >= 3, "found only {examples} receipt examples");

    // XML receipts: the `file` row's columns as children of `receipt`, the `error` row's as
    // children of `error`, both in the order of RECEIPT_COLUMNS.
    let position = RECEIPT_COLUMNS
        .iter()
        .position(|c| *c == "position")
        .unwrap();
    let text = read("docs/receipts.md");
    let xml = text
        .split("```xml")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("an XML receipt example in docs/receipts.md");
    let children = |indent: &str| -> Vec<String> {
        xml.lines()
            .filter_map(|l| l.strip_prefix(indent))
            .filter(|l| !l.starts_with(' ') && l.starts_with('<') && !l.starts_with("</"))
            .filter_map(|l| l[1..].split(['>', ' ', '/']).next().map(str::to_owned))
            .filter(|name| name != "error")
            .collect()
    };
    let mut errors = children("    ");
    errors.truncate(RECEIPT_COLUMNS.len() - position);
    assert_eq!(
        children("  "),
        RECEIPT_COLUMNS[1..position],
        "the children of <receipt> in the XML example of docs/receipts.md"
    );
    assert_eq!(
        errors,
        RECEIPT_COLUMNS[position..],
        "the children of <error> in the XML example of docs/receipts.md"
    );
}

/// Every row of a quoted CSV example has as many fields as its header.
fn check_example(path: &str, example: &str) {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .flexible(true)
        .from_reader(example.as_bytes());
    let columns = reader.headers().expect("a header").len();
    for record in reader.records() {
        let record = record.unwrap_or_else(|e| panic!("an example in {path}: {e}"));
        assert_eq!(
            record.len(),
            columns,
            "an example row in {path} has {} fields, the header {columns}: {record:?}",
            record.len(),
        );
    }
}

/// Every case state and every event kind of the code is described in docs/lifecycle.md (and
/// the docs name none that the code does not have).
#[test]
fn lifecycle_md_names_every_state_and_event() {
    use kravflyt::domain::{CaseState, EventKind};
    let states = section(&read("docs/lifecycle.md"), "docs/lifecycle.md", "## States").to_owned();
    for state in CaseState::ALL {
        assert!(
            states.contains(&format!("`{state}`")),
            "docs/lifecycle.md, States: `{state}` is not described"
        );
    }
    let events = section(&read("docs/lifecycle.md"), "docs/lifecycle.md", "## Events").to_owned();
    let mut missing = Vec::new();
    for kind in EventKind::ALL {
        let text = format!("`{kind}`");
        if !events.contains(&text) && !read("docs/payments.md").contains(&text) {
            missing.push(kind.as_str());
        }
    }
    assert!(
        missing.is_empty(),
        "event kinds described neither in docs/lifecycle.md (Events) nor docs/payments.md: {missing:?}"
    );
}

/// docs/outbound.md lists the columns of each outbound file in the code's order, and every
/// reconciliation record type.
#[test]
fn outbound_md_lists_every_outbound_column_in_order() {
    use kravflyt::outbound::files::{LETTER_COLUMNS, STATUS_COLUMNS};
    let text = read("docs/outbound.md");
    let in_order = |columns: &[&str], what: &str| {
        let mut from = 0;
        for column in columns {
            let needle = format!("`{column}`");
            match text[from..].find(&needle) {
                Some(at) => from += at + needle.len(),
                None => {
                    panic!("docs/outbound.md: {what} column `{column}` missing or out of order")
                }
            }
        }
    };
    in_order(STATUS_COLUMNS, "status");
    for column in LETTER_COLUMNS {
        assert!(
            text.contains(&format!("`{column}`")),
            "docs/outbound.md: letters column `{column}`"
        );
    }
    for column in RECONCILIATION_COLUMNS {
        assert!(
            text.contains(&format!("`{column}`")),
            "docs/outbound.md: reconciliation column `{column}`"
        );
    }
    for kind in RecordType::ALL {
        assert!(
            text.contains(&format!("`{}`", kind.as_str())),
            "docs/outbound.md: record type `{}`",
            kind.as_str()
        );
    }
}

/// The README's table of commands lists every subcommand the binary has.
#[test]
fn readme_lists_every_command() {
    let out = std::process::Command::new(crate::support::BIN)
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    let commands = help
        .lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_owned)
        .collect::<Vec<_>>();
    assert!(commands.len() >= 12, "{commands:?}");
    let readme = read("README.md");
    for command in commands {
        assert!(
            readme.contains(&format!("| `kravflyt {command}")),
            "README.md's table of commands has no row for `kravflyt {command}`"
        );
    }
}
