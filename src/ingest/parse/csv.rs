//! CSV in a sender's dialect → raw records keyed by canonical column, each with its line.
//!
//! The header decides the file kind (SPEC §5.1). Native column names are mapped onto
//! canonical ones, native values (`Privat`) onto canonical values (`person`), and columns the
//! sender's settings fix (`creditor_id` for a one-creditor export) are filled in.
//!
//! Reading streams: [`CsvRecords`] yields one record at a time from any reader, so a file of a
//! million rows is read in memory bounded by the longest row, not by the file.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::io::Read;
use std::rc::Rc;

use crate::columns::{self, canonical_static};
use crate::config::{CsvDialect, TextEncoding};
use crate::diagnostic::{Diagnostic, Position, code};
use crate::domain::FileKind;
use crate::ingest::detect::Utf16;
use crate::ingest::parse::{ParsedFile, RawRecord};

/// Why a row could not become a record.
#[derive(Debug)]
pub enum RowProblem {
    /// This row is bad; the rest of the file can still be read.
    Record(Diagnostic),
    /// The file cannot be read past here (not text in its encoding): the whole file is
    /// unreadable, even if earlier rows were fine.
    Fatal(Diagnostic),
    /// Reading failed (a disk error): not the file's fault, so no receipt; the file stays
    /// where it is and is retried.
    Io(std::io::Error),
}

/// A streaming reader of one CSV file's records.
pub struct CsvRecords<R: Read> {
    reader: csv::Reader<LineCounter<R>>,
    lines: Rc<RefCell<LineTracker>>,
    slots: Vec<Option<&'static str>>,
    kind: FileKind,
    dialect: CsvDialect,
    row: csv::StringRecord,
    done: bool,
}

/// Decodes `input` as the sender's encoding says (a UTF-8 BOM always wins), so the CSV reader
/// sees UTF-8. UTF-8 input passes through untouched: invalid bytes are reported by the CSV
/// reader with their line, not silently replaced. A file that starts with a UTF-16 byte order
/// mark is refused on its first read ([`Utf16File`]), whatever the setting: kravflyt reads
/// CSV in UTF-8 or windows-1252 only, and the reader's `bad_encoding` says so.
pub fn decoding_reader<'a>(input: impl Read + 'a, encoding: TextEncoding) -> Box<dyn Read + 'a> {
    let input = RefuseUtf16 {
        inner: input,
        head: Vec::new(),
        checked: false,
    };
    let builder = match encoding {
        TextEncoding::Utf8 => {
            let mut b = encoding_rs_io::DecodeReaderBytesBuilder::new();
            b.encoding(None)
                .bom_sniffing(true)
                .utf8_passthru(true)
                .strip_bom(true);
            b
        }
        TextEncoding::Windows1252 => {
            let mut b = encoding_rs_io::DecodeReaderBytesBuilder::new();
            b.encoding(Some(encoding_rs::WINDOWS_1252))
                .bom_override(true)
                .strip_bom(true);
            b
        }
    };
    Box::new(builder.build(input))
}

/// The error a [`decoding_reader`] gives for a UTF-16 file.
#[derive(Debug)]
pub struct Utf16File(pub Utf16);

impl std::fmt::Display for Utf16File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the file is {}", self.0.describe())
    }
}

impl std::error::Error for Utf16File {}

/// Passes bytes on unchanged, unless the first two are a UTF-16 byte order mark: then every
/// read fails with [`Utf16File`]. (The decoder behind it would otherwise transcode UTF-16.)
struct RefuseUtf16<R> {
    inner: R,
    /// The first bytes, read to look for the mark, still to be handed on.
    head: Vec<u8>,
    checked: bool,
}

impl<R: Read> Read for RefuseUtf16<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.checked {
            let mut two = [0u8; 2];
            while self.head.len() < two.len() {
                let wanted = two.len() - self.head.len();
                match self.inner.read(&mut two[..wanted]) {
                    Ok(0) => break,
                    Ok(n) => self.head.extend_from_slice(&two[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            self.checked = true;
        }
        if let Some(utf16) = Utf16::of(&self.head) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                Utf16File(utf16),
            ));
        }
        if !self.head.is_empty() {
            let n = self.head.len().min(buf.len());
            buf[..n].copy_from_slice(&self.head[..n]);
            self.head.drain(..n);
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

impl<R: Read> CsvRecords<R> {
    /// Reads the header. `Err` holds the problems that make the whole file unreadable.
    pub fn new(input: R, dialect: &CsvDialect) -> Result<Self, Vec<Diagnostic>> {
        let lines = Rc::new(RefCell::new(LineTracker::default()));
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(dialect.delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(LineCounter {
                inner: input,
                offset: 0,
                lines: Rc::clone(&lines),
            });
        let mut header = csv::StringRecord::new();
        match reader.read_record(&mut header) {
            Ok(true) => {}
            Ok(false) => {
                return Err(vec![Diagnostic::file(
                    code::EMPTY_FILE,
                    "the file is empty",
                )]);
            }
            Err(e) => {
                return Err(vec![fatal(&lines, &e).into_diagnostic(dialect.encoding)]);
            }
        }
        let header_line = header
            .position()
            .map_or(1, |p| lines.borrow_mut().line_at(p.byte()));
        let (slots, kind) = map_header(&header, dialect, header_line)?;
        Ok(CsvRecords {
            reader,
            lines,
            slots,
            kind,
            dialect: dialect.clone(),
            row: csv::StringRecord::new(),
            done: false,
        })
    }

    pub fn kind(&self) -> FileKind {
        self.kind
    }
}

impl<R: Read> Iterator for CsvRecords<R> {
    type Item = Result<RawRecord, RowProblem>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            match self.reader.read_record(&mut self.row) {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(RowProblem::Fatal(
                        fatal(&self.lines, &e).into_diagnostic(self.dialect.encoding),
                    )));
                }
            }
            let line = self
                .row
                .position()
                .map_or(0, |p| self.lines.borrow_mut().line_at(p.byte()));
            if self.row.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            return Some(self.record(line));
        }
    }
}

impl<R: Read> CsvRecords<R> {
    fn record(&self, line: u64) -> Result<RawRecord, RowProblem> {
        let row = &self.row;
        if row.len() != self.slots.len() {
            return Err(RowProblem::Record(Diagnostic::at(
                Position::Line(line),
                code::BAD_ROW,
                format!(
                    "the row has {} fields but the header has {}; check for an unquoted `{}` inside a value",
                    row.len(),
                    self.slots.len(),
                    char::from(self.dialect.delimiter)
                ),
            )));
        }
        let mut fields = BTreeMap::new();
        for (slot, value) in self.slots.iter().zip(row.iter()) {
            let Some(column) = slot else { continue };
            let value = value.trim();
            let mapped = self
                .dialect
                .values
                .get(*column)
                .and_then(|m| m.get(value))
                .map_or(value, String::as_str);
            fields.insert(*column, mapped.to_owned());
        }
        for (column, value) in &self.dialect.fixed {
            if let Some(c) = canonical_static(column) {
                fields.entry(c).or_insert_with(|| value.clone());
            }
        }
        Ok(RawRecord {
            position: Position::Line(line),
            fields,
        })
    }
}

/// A read error of the CSV reader, with the line it happened on.
struct Fatal {
    line: u64,
    utf8: bool,
    /// The file is UTF-16 ([`RefuseUtf16`]).
    utf16: Option<Utf16>,
    text: String,
}

impl Fatal {
    /// The problem, told for a sender whose files are set up to be in `encoding`.
    fn into_diagnostic(self, encoding: TextEncoding) -> Diagnostic {
        if let Some(utf16) = self.utf16 {
            let what_to_do = match encoding {
                TextEncoding::Utf8 => {
                    "save or export it as UTF-8, the encoding this sender is set up for (in Excel: \"CSV UTF-8\")"
                }
                TextEncoding::Windows1252 => {
                    "save or export it as windows-1252 (ANSI), the encoding this sender is set up for, or as UTF-8 with a byte order mark (in Excel: \"CSV UTF-8\")"
                }
            };
            Diagnostic::file(
                code::BAD_ENCODING,
                format!(
                    "the file is {}, which kravflyt does not read: {what_to_do}",
                    utf16.describe()
                ),
            )
        } else if self.utf8 {
            Diagnostic::at(
                Position::Line(self.line),
                code::BAD_ENCODING,
                format!(
                    "line {} is not valid UTF-8; the sender is set up for utf-8, so the export is probably windows-1252 or ISO-8859-1: change the export or the sender's `encoding`",
                    self.line
                ),
            )
        } else {
            Diagnostic::at(
                Position::Line(self.line),
                code::UNREADABLE_FILE,
                format!("the file cannot be read as CSV from here on: {}", self.text),
            )
        }
    }
}

fn fatal(lines: &Rc<RefCell<LineTracker>>, e: &csv::Error) -> Fatal {
    let line = e
        .position()
        .map_or(0, |p| lines.borrow_mut().line_at(p.byte()));
    let utf8 = matches!(e.kind(), csv::ErrorKind::Utf8 { .. });
    let utf16 = match e.kind() {
        csv::ErrorKind::Io(io) => io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<Utf16File>())
            .map(|u| u.0),
        _ => None,
    };
    Fatal {
        line,
        utf8,
        utf16,
        text: e.to_string(),
    }
}

/// Maps header cells onto canonical columns and decides the file kind.
fn map_header(
    header: &csv::StringRecord,
    dialect: &CsvDialect,
    header_line: u64,
) -> Result<(Vec<Option<&'static str>>, FileKind), Vec<Diagnostic>> {
    let names: Vec<String> = header.iter().map(|h| h.trim().to_owned()).collect();
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
        // A file without its header shows its first data row here: names that look like an
        // identity number (long digit runs, with or without separators) are masked.
        let shown: Vec<String> = names
            .iter()
            .take(8)
            .map(|name| {
                let digits = name.chars().filter(char::is_ascii_digit).count();
                if digits >= 6 {
                    crate::identifiers::mask(name)
                } else {
                    name.clone()
                }
            })
            .collect();
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
    Ok((slots, kind))
}

/// Reads decoded CSV text whole (tests, small inputs): every record and row problem in order.
pub fn parse_csv(text: &str, dialect: &CsvDialect) -> Result<ParsedFile, Vec<Diagnostic>> {
    let rows = CsvRecords::new(text.as_bytes(), dialect)?;
    let kind = rows.kind();
    let mut records = Vec::new();
    let mut diagnostics = Vec::new();
    for row in rows {
        match row {
            Ok(record) => records.push(record),
            Err(RowProblem::Record(d)) => diagnostics.push(d),
            Err(RowProblem::Fatal(d)) => return Err(vec![d]),
            Err(RowProblem::Io(e)) => {
                return Err(vec![Diagnostic::file(
                    code::UNREADABLE_FILE,
                    format!("the file cannot be read: {e}"),
                )]);
            }
        }
    }
    Ok(ParsedFile {
        kind,
        records,
        diagnostics,
        skipped: 0,
        decimal_separator: dialect.decimal_separator,
    })
}

/// Passes bytes through to the CSV reader, noting where line terminators are, so a record's
/// byte position can be turned into the line a person sees in an editor. The csv crate's own
/// line counter does not count the blank lines it skips nor CRLF correctly, and records a
/// position before skipping the previous line's terminator.
struct LineCounter<R> {
    inner: R,
    offset: u64,
    lines: Rc<RefCell<LineTracker>>,
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut tracker = self.lines.borrow_mut();
        for (i, b) in buf[..n].iter().enumerate() {
            if matches!(b, b'\r' | b'\n') {
                tracker.terminators.push_back((self.offset + i as u64, *b));
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// Line terminators read ahead of the current record; memory is bounded by the reader's
/// buffer, since terminators before a record are dropped once it is numbered.
#[derive(Default)]
struct LineTracker {
    terminators: VecDeque<(u64, u8)>,
    newlines_before: u64,
}

impl LineTracker {
    /// The 1-based line of the record whose position the csv reader gave as `byte`.
    fn line_at(&mut self, byte: u64) -> u64 {
        while let Some(&(offset, b)) = self.terminators.front() {
            if offset >= byte {
                break;
            }
            if b == b'\n' {
                self.newlines_before += 1;
            }
            self.terminators.pop_front();
        }
        // Terminators right at the position belong to the previous line or are blank lines.
        let mut at = byte;
        while let Some(&(offset, b)) = self.terminators.front() {
            if offset != at {
                break;
            }
            if b == b'\n' {
                self.newlines_before += 1;
            }
            self.terminators.pop_front();
            at += 1;
        }
        self.newlines_before + 1
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

    /// Hands on one byte per read, as a slow pipe may.
    struct OneByte<'a>(&'a [u8]);

    impl Read for OneByte<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let Some((first, rest)) = self.0.split_first() else {
                return Ok(0);
            };
            if buf.is_empty() {
                return Ok(0);
            }
            buf[0] = *first;
            self.0 = rest;
            Ok(1)
        }
    }

    #[test]
    fn utf16_is_refused_with_what_to_do_and_other_text_passes_whole() {
        let text = format!("{HEADER}\n");
        for (bom, big_endian, name) in [
            (&b"\xFF\xFE"[..], false, "UTF-16 LE"),
            (&b"\xFE\xFF"[..], true, "UTF-16 BE"),
        ] {
            let mut bytes = bom.to_vec();
            for unit in text.encode_utf16() {
                bytes.extend(if big_endian {
                    unit.to_be_bytes()
                } else {
                    unit.to_le_bytes()
                });
            }
            for encoding in [TextEncoding::Utf8, TextEncoding::Windows1252] {
                let dialect = CsvDialect {
                    encoding,
                    ..CsvDialect::default()
                };
                let problems =
                    CsvRecords::new(decoding_reader(OneByte(&bytes), encoding), &dialect)
                        .err()
                        .unwrap();
                assert_eq!(problems.len(), 1);
                assert_eq!(problems[0].code, code::BAD_ENCODING);
                assert_eq!(problems[0].position, Position::File);
                assert!(problems[0].message.contains(name), "{}", problems[0]);
                let setting = match encoding {
                    TextEncoding::Utf8 => "as UTF-8, the encoding this sender is set up for",
                    TextEncoding::Windows1252 => "windows-1252 (ANSI), the encoding this sender",
                };
                assert!(problems[0].message.contains(setting), "{}", problems[0]);
            }
        }
        // Files of one byte, or starting with one of the two bytes only, pass unchanged.
        for bytes in [&b"a"[..], b"\xFF;b", b"\xFEa", b""] {
            let mut out = Vec::new();
            decoding_reader(OneByte(bytes), TextEncoding::Windows1252)
                .read_to_end(&mut out)
                .unwrap();
            let expected = encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0;
            assert_eq!(String::from_utf8(out).unwrap(), expected);
        }
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
    fn a_bom_and_windows_1252_are_decoded_while_streaming() {
        use crate::config::TextEncoding;
        let header = HEADER.as_bytes();
        let row = "923609016;1;7;person;Ødegård;Vei 1;9008;Tromsø;2026-09-01;2026-09-15;NOK;10";
        let latin: Vec<u8> = [header, b"\r\n", &encoding_rs::WINDOWS_1252.encode(row).0].concat();
        let rows = CsvRecords::new(
            decoding_reader(&latin[..], TextEncoding::Windows1252),
            &CsvDialect::default(),
        )
        .unwrap();
        let records: Vec<_> = rows.map(Result::unwrap).collect();
        assert_eq!(records[0].get("debtor_name"), Some("Ødegård"));

        let bom: Vec<u8> = ["\u{feff}".as_bytes(), header, b"\n", row.as_bytes()].concat();
        for encoding in [TextEncoding::Utf8, TextEncoding::Windows1252] {
            let rows = CsvRecords::new(decoding_reader(&bom[..], encoding), &CsvDialect::default())
                .unwrap();
            let records: Vec<_> = rows.map(Result::unwrap).collect();
            assert_eq!(records[0].get("city"), Some("Tromsø"), "{encoding:?}");
        }
    }

    #[test]
    fn invalid_utf8_part_way_is_fatal_with_its_line() {
        use crate::config::TextEncoding;
        let text: Vec<u8> = [
            HEADER.as_bytes(),
            b"\n923609016;1;7;person;\xd8deg;Vei;9008;By;2026-09-01;2026-09-15;NOK;1\n",
        ]
        .concat();
        let mut rows = CsvRecords::new(
            decoding_reader(&text[..], TextEncoding::Utf8),
            &CsvDialect::default(),
        )
        .unwrap();
        match rows.next() {
            Some(Err(RowProblem::Fatal(d))) => {
                assert_eq!(d.code, code::BAD_ENCODING);
                assert_eq!(d.position, Position::Line(2));
            }
            other => panic!("expected a fatal encoding problem, got {other:?}"),
        }
        assert!(rows.next().is_none());
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
