//! CSV in a sender's dialect → raw records keyed by canonical column, each with its line.
//!
//! The header decides the file kind (SPEC §5.1). Native column names are mapped onto
//! canonical ones, native values (`Privat`) onto canonical values (`person`), and columns the
//! sender's settings fix (`creditor_id` for a one-creditor export) are filled in.

use std::collections::BTreeMap;

use crate::config::CsvDialect;
use crate::diagnostic::{Diagnostic, Position, code};
use crate::parse::columns::{self, canonical_static};
use crate::parse::{ParsedFile, RawRecord};

/// Reads CSV text. `Err` holds the problems that make the whole file unreadable.
pub fn parse_csv(text: &str, dialect: &CsvDialect) -> Result<ParsedFile, Vec<Diagnostic>> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(dialect.delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let lines = LineIndex::new(text);
    let line_of =
        |position: Option<&csv::Position>| position.map_or(0, |p| lines.line_at(p.byte()));
    let mut rows = reader.records();
    let header = match rows.next() {
        None => {
            return Err(vec![Diagnostic::file(
                code::EMPTY_FILE,
                "the file is empty",
            )]);
        }
        Some(Err(e)) => {
            return Err(vec![Diagnostic::at(
                Position::Line(1),
                code::MALFORMED_CSV,
                format!("the header row cannot be read as CSV: {e}"),
            )]);
        }
        Some(Ok(h)) => h,
    };
    let header_line = line_of(header.position());
    let names: Vec<String> = header.iter().map(|h| h.trim().to_owned()).collect();

    // Map each header cell onto a canonical column, or mark it ignored or unknown.
    let mut slots: Vec<Option<&'static str>> = Vec::with_capacity(names.len());
    let mut unknown = Vec::new();
    let mut problems = Vec::new();
    for name in &names {
        let canonical = dialect
            .columns
            .get(name)
            .map(String::as_str)
            .unwrap_or(name);
        match canonical_static(canonical) {
            Some(c) if slots.contains(&Some(c)) => problems.push(Diagnostic::at(
                Position::Line(header_line),
                code::DUPLICATE_COLUMN,
                format!("column `{c}` appears twice in the header; remove one of them"),
            )),
            Some(c) => slots.push(Some(c)),
            None if dialect.ignore_columns.contains(name) => slots.push(None),
            None => {
                unknown.push(name.clone());
                slots.push(None);
            }
        }
    }
    let mut present: Vec<&str> = slots.iter().flatten().copied().collect();
    present.extend(dialect.fixed.keys().map(String::as_str));
    let Some(kind) = columns::kind_of_header(&present) else {
        let shown: Vec<_> = names.iter().take(8).map(String::as_str).collect();
        return Err(vec![Diagnostic::at(
            Position::Line(header_line),
            code::UNKNOWN_FORMAT,
            format!(
                "the first line `{}` is not a kravflyt CSV header: an invoice file needs `debtor_name`, a payment file `payment_id`, an instruction file `instruction_id` (or the sender's mapped names); check the delimiter and the sender's column mapping",
                shown.join(&char::from(dialect.delimiter).to_string())
            ),
        )]);
    };
    let allowed = columns::columns_of(kind);
    // A canonical column of another kind is as unknown here as a made-up one.
    for (name, slot) in names.iter().zip(&slots) {
        if let Some(c) = slot
            && !allowed.iter().any(|(a, _)| a == c)
        {
            unknown.push(name.clone());
        }
    }
    if !unknown.is_empty() {
        problems.push(Diagnostic::at(
            Position::Line(header_line),
            code::UNKNOWN_COLUMN,
            format!(
                "column(s) {} do not belong in a file of {kind}; remove them, or list them in the sender's `ignore_columns`",
                quoted_list(&unknown)
            ),
        ));
    }
    let missing: Vec<String> = allowed
        .iter()
        .filter(|(c, required)| *required && !present.contains(c))
        .map(|(c, _)| (*c).to_owned())
        .collect();
    if !missing.is_empty() {
        problems.push(Diagnostic::at(
            Position::Line(header_line),
            code::MISSING_COLUMN,
            format!(
                "the header lacks column(s) {}, required in a file of {kind}",
                quoted_list(&missing)
            ),
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }

    let mut records = Vec::new();
    let mut diagnostics = Vec::new();
    for row in rows {
        let row = match row {
            Ok(row) => row,
            Err(e) => {
                let line = line_of(e.position());
                diagnostics.push(Diagnostic::at(
                    Position::Line(line),
                    code::BAD_ROW,
                    format!("the row cannot be read as CSV: {e}"),
                ));
                continue;
            }
        };
        let line = line_of(row.position());
        if row.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if row.len() != slots.len() {
            diagnostics.push(Diagnostic::at(
                Position::Line(line),
                code::BAD_ROW,
                format!(
                    "the row has {} fields but the header has {}; check for an unquoted `{}` inside a value",
                    row.len(),
                    slots.len(),
                    char::from(dialect.delimiter)
                ),
            ));
            continue;
        }
        let mut fields = BTreeMap::new();
        for (slot, value) in slots.iter().zip(row.iter()) {
            let Some(column) = slot else { continue };
            let value = value.trim();
            let mapped = dialect
                .values
                .get(*column)
                .and_then(|m| m.get(value))
                .map_or(value, String::as_str);
            fields.insert(*column, mapped.to_owned());
        }
        for (column, value) in &dialect.fixed {
            if let Some(c) = canonical_static(column) {
                fields.entry(c).or_insert_with(|| value.clone());
            }
        }
        records.push(RawRecord {
            position: Position::Line(line),
            fields,
        });
    }
    Ok(ParsedFile {
        kind,
        records,
        diagnostics,
        skipped: 0,
        decimal_separator: dialect.decimal_separator,
    })
}

/// Record position → the 1-based line a person sees in an editor. The csv crate records a
/// record's position before it has skipped the previous line's terminator and any blank lines,
/// and its own line counter does not count those, so lines are counted here from the bytes.
struct LineIndex<'t> {
    text: &'t [u8],
    newlines: Vec<usize>,
}

impl<'t> LineIndex<'t> {
    fn new(text: &'t str) -> Self {
        let text = text.as_bytes();
        LineIndex {
            text,
            newlines: text
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i)
                .collect(),
        }
    }

    fn line_at(&self, byte: u64) -> u64 {
        let mut start = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        while start < self.text.len() && matches!(self.text[start], b'\r' | b'\n') {
            start += 1;
        }
        self.newlines.partition_point(|&nl| nl < start) as u64 + 1
    }
}

fn quoted_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CsvDialect;
    use crate::domain::FileKind;

    const HEADER: &str = "creditor_id;invoice_no;customer_no;debtor_type;debtor_name;address;postcode;city;issue_date;due_date;currency;amount";

    #[test]
    fn canonical_invoices_with_quotes_crlf_and_blank_lines() {
        let text = format!(
            "{HEADER}\r\n923609016;1001;7;person;Kari;\"Storgata 1; 2. etg\";9008;Tromsø;2026-09-01;2026-09-15;NOK;1 499,00\r\n\r\n923609016;1002;7;person;Kari;Storgata 1;9008;Tromsø;2026-09-01;2026-09-15;NOK;10\r\n"
        );
        let table = parse_csv(&text, &CsvDialect::default()).unwrap();
        assert_eq!(table.kind, FileKind::Invoices);
        let lines: Vec<_> = table.records.iter().map(|r| r.position.clone()).collect();
        assert_eq!(lines, [Position::Line(2), Position::Line(4)], "{table:?}");
        assert_eq!(table.records[0].get("address"), Some("Storgata 1; 2. etg"));
        assert!(table.diagnostics.is_empty());
    }

    #[test]
    fn a_row_with_too_many_fields_is_reported_by_line() {
        let text = format!(
            "{HEADER}\n923609016;1001;7;person;Kari;Storgata 1; 2. etg;9008;Tromsø;2026-09-01;2026-09-15;NOK;1\n"
        );
        let table = parse_csv(&text, &CsvDialect::default()).unwrap();
        assert!(table.records.is_empty());
        assert_eq!(table.diagnostics.len(), 1);
        assert_eq!(table.diagnostics[0].position, Position::Line(2));
        assert_eq!(table.diagnostics[0].code, code::BAD_ROW);
    }

    #[test]
    fn native_columns_values_and_fixed_settings() {
        let mut dialect = CsvDialect::default();
        for (native, canonical) in [("Kundenavn", "debtor_name"), ("Kundetype", "debtor_type")] {
            dialect.columns.insert(native.into(), canonical.into());
        }
        dialect.values.insert(
            "debtor_type".into(),
            [("Privat".to_string(), "person".to_string())].into(),
        );
        dialect
            .fixed
            .insert("creditor_id".into(), "987654325".into());
        let text = "Kundenavn;Kundetype;invoice_no;customer_no;address;postcode;city;issue_date;due_date;currency;amount\nÅse;Privat;1;2;a;1;c;d;e;NOK;1\n";
        let table = parse_csv(text, &dialect).unwrap();
        let record = &table.records[0];
        assert_eq!(record.get("debtor_type"), Some("person"));
        assert_eq!(record.get("debtor_name"), Some("Åse"));
        assert_eq!(record.get("creditor_id"), Some("987654325"));
    }

    #[test]
    fn header_problems_make_the_file_unreadable() {
        let unknown = parse_csv(&format!("{HEADER};colour\n"), &CsvDialect::default()).unwrap_err();
        assert_eq!(unknown[0].code, code::UNKNOWN_COLUMN);
        assert!(unknown[0].message.contains("`colour`"));

        let missing = parse_csv("invoice_no;debtor_name\n", &CsvDialect::default()).unwrap_err();
        assert_eq!(missing[0].code, code::MISSING_COLUMN);
        assert!(missing[0].message.contains("`creditor_id`"));

        let comma = parse_csv(&HEADER.replace(';', ","), &CsvDialect::default()).unwrap_err();
        assert_eq!(comma[0].code, code::UNKNOWN_FORMAT);

        let twice = parse_csv(&format!("{HEADER};amount\n"), &CsvDialect::default()).unwrap_err();
        assert_eq!(twice[0].code, code::DUPLICATE_COLUMN);

        let mut ignoring = CsvDialect::default();
        ignoring.ignore_columns.insert("colour".into());
        assert!(parse_csv(&format!("{HEADER};colour\n"), &ignoring).is_ok());
    }
}
