//! Receipts (SPEC §5.4): the answer to every inbound file, rendered pure in the sender's
//! dialect. The first row describes the file; one row follows per rejected record.

use crate::config::{CsvDialect, Sender, TextEncoding};
use crate::diagnostic::Diagnostic;
use crate::domain::{FileKind, FileStatus, InboundFormat, OutboundDialect};
use crate::ingest::decode::encode;

/// The columns of a CSV receipt, in order.
pub const RECEIPT_COLUMNS: &[&str] = &[
    "record_type",
    "file_name",
    "sha256",
    "format",
    "kind",
    "status",
    "records",
    "accepted",
    "unchanged",
    "rejected",
    "skipped",
    "position",
    "record_key",
    "field",
    "code",
    "message",
];

/// What a receipt says about one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub file_name: String,
    pub sha256: String,
    pub format: Option<InboundFormat>,
    pub kind: Option<FileKind>,
    pub status: FileStatus,
    pub records: u64,
    pub accepted: u64,
    pub unchanged: u64,
    pub rejected: u64,
    /// Entries passed over on purpose (debits in a bank statement).
    pub skipped: u64,
    /// Problems in file order: file-level ones first, then by position.
    pub diagnostics: Vec<Diagnostic>,
    /// Things the sender should know that are not problems with a record (a file taken late
    /// because it may have been cut); listed before the problems, as `notice` rows.
    pub notices: Vec<Diagnostic>,
}

impl Receipt {
    /// The receipt files for a sender, as (name before any numbering, content): the CSV
    /// always, and the XML as well where the sender's systems speak XML (SPEC §5.4): it writes
    /// XML (`writes = "xml"`) or delivers an XML format.
    pub fn renderings(&self, sender: &Sender) -> Vec<(String, Vec<u8>)> {
        let inbound = &self.file_name;
        let mut files = vec![(format!("receipt-{inbound}.csv"), self.render_csv(sender))];
        let delivers_xml = sender.reads.iter().any(|f| match f {
            InboundFormat::Peppol
            | InboundFormat::KravflytXml
            | InboundFormat::Camt053
            | InboundFormat::Camt054 => true,
            InboundFormat::Csv | InboundFormat::OcrGiro | InboundFormat::BgMax => false,
        });
        if sender.writes == OutboundDialect::Xml || delivers_xml {
            files.push((
                format!("receipt-{inbound}.xml"),
                self.render_xml().into_bytes(),
            ));
        }
        files
    }

    /// The CSV receipt in the sender's dialect and encoding.
    pub fn render_csv(&self, sender: &Sender) -> Vec<u8> {
        let counts = [
            self.records,
            self.accepted,
            self.unchanged,
            self.rejected,
            self.skipped,
        ]
        .map(|n| n.to_string());
        let mut rows: Vec<Vec<String>> = vec![
            [
                "file",
                // Exact, so the sender's system can match the receipt to its upload (a file
                // system bounds a name to 255 bytes anyway).
                &neutralise(&self.file_name),
                &self.sha256,
                self.format.map_or("", |f| f.as_str()),
                self.kind.map_or("", |k| k.as_str()),
                self.status.as_str(),
                &counts[0],
                &counts[1],
                &counts[2],
                &counts[3],
                &counts[4],
                "",
                "",
                "",
                "",
                "",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ];
        let rows_of = self
            .notices
            .iter()
            .map(|d| ("notice", d))
            .chain(self.diagnostics.iter().map(|d| ("error", d)));
        for (record_type, d) in rows_of {
            let mut row = vec![String::new(); RECEIPT_COLUMNS.len()];
            row[0] = record_type.into();
            row[11] = d.position.to_string();
            row[12] = neutralise(&shown(d.record_key.as_deref().unwrap_or(""), MAX_KEY_CHARS));
            row[13] = neutralise(&shown(d.field.as_deref().unwrap_or(""), MAX_KEY_CHARS));
            row[14] = d.code.to_owned();
            row[15] = neutralise(&shown(&d.message, MAX_MESSAGE_CHARS));
            rows.push(row);
        }
        write_csv(RECEIPT_COLUMNS, &rows, &sender.csv)
    }

    /// The XML receipt, in kravflyt's namespace (`schemas/receipt.xsd`).
    pub fn render_xml(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        out.push_str(&format!(
            "<receipt xmlns=\"{}\">\n",
            crate::ingest::detect::KRAVFLYT_NS
        ));
        let mut element = |name: &str, value: &str| {
            out.push_str(&format!("  <{name}>{}</{name}>\n", xml_escape(value)));
        };
        element("file_name", &self.file_name);
        element("sha256", &self.sha256);
        element("format", self.format.map_or("", |f| f.as_str()));
        element("kind", self.kind.map_or("", |k| k.as_str()));
        element("status", self.status.as_str());
        element("records", &self.records.to_string());
        element("accepted", &self.accepted.to_string());
        element("unchanged", &self.unchanged.to_string());
        element("rejected", &self.rejected.to_string());
        element("skipped", &self.skipped.to_string());
        let elements = self
            .notices
            .iter()
            .map(|d| ("notice", d))
            .chain(self.diagnostics.iter().map(|d| ("error", d)));
        for (element_name, d) in elements {
            out.push_str(&format!("  <{element_name}>\n"));
            for (name, value) in [
                ("position", d.position.to_string()),
                (
                    "record_key",
                    shown(d.record_key.as_deref().unwrap_or(""), MAX_KEY_CHARS),
                ),
                (
                    "field",
                    shown(d.field.as_deref().unwrap_or(""), MAX_KEY_CHARS),
                ),
                ("code", d.code.to_owned()),
                ("message", shown(&d.message, MAX_MESSAGE_CHARS)),
            ] {
                out.push_str(&format!("    <{name}>{}</{name}>\n", xml_escape(&value)));
            }
            out.push_str(&format!("  </{element_name}>\n"));
        }
        out.push_str("</receipt>\n");
        out
    }
}

/// Writes a CSV file for a sender: a header, then the rows, in its delimiter and encoding,
/// one record per line (LF). Every outbound CSV file (receipts, status, letters,
/// reconciliation) goes through [`CsvRows`], so a file rendered at once and one streamed row by
/// row are the same bytes.
pub fn write_csv(columns: &[&str], rows: &[Vec<String>], dialect: &CsvDialect) -> Vec<u8> {
    let mut csv = CsvRows::new(dialect);
    let mut out = csv.record(columns);
    for row in rows {
        out.extend(csv.record(row));
    }
    out
}

/// CSV records in a sender's dialect, rendered one at a time, so a file of a million rows
/// never has to be held whole (issue 8).
pub struct CsvRows {
    writer: csv::Writer<Pending>,
    encoding: TextEncoding,
}

/// The bytes the CSV writer produced for the record being rendered. A cell, because
/// `csv::Writer` lends its sink only by shared reference.
#[derive(Default)]
struct Pending(std::cell::RefCell<Vec<u8>>);

impl std::io::Write for Pending {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.get_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CsvRows {
    pub fn new(dialect: &CsvDialect) -> CsvRows {
        CsvRows {
            writer: csv::WriterBuilder::new()
                .delimiter(dialect.delimiter)
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(Pending::default()),
            encoding: dialect.encoding,
        }
    }

    /// One record (the header too), quoted as needed, in the dialect's encoding. Encoding a
    /// whole record at a time never splits a character, and windows-1252 maps each character
    /// on its own, so records encoded one by one are the bytes of the file encoded at once.
    pub fn record<T: AsRef<[u8]>>(&mut self, fields: &[T]) -> Vec<u8> {
        // Writing to memory cannot fail, and every record of a file has the same columns.
        let _ = self.writer.write_record(fields);
        let _ = self.writer.flush();
        let bytes = self.writer.get_ref().0.take();
        match self.encoding {
            // The fields are text, so the bytes are UTF-8 already.
            TextEncoding::Utf8 => bytes,
            TextEncoding::Windows1252 => encode(&String::from_utf8_lossy(&bytes), self.encoding),
        }
    }
}

/// Neutralises text that a spreadsheet would run as a formula (CSV injection): a leading
/// `=`, `+`, `-`, `@`, tab or carriage return gets a `'` in front.
/// The longest record key or field a receipt repeats, in characters.
pub const MAX_KEY_CHARS: usize = 200;
/// The longest message a receipt carries, in characters.
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// Text from the input as a receipt shows it: characters a reader cannot see (controls,
/// byte-order marks, zero-width and direction marks) written as `<U+FEFF>`, so a key that
/// looks right but is not can be told apart; and at most `max_chars` characters, saying how
/// many more there were (a 1 MiB field does not make a 1 MiB receipt).
pub fn shown(text: &str, max_chars: usize) -> String {
    let invisible = |c: char| {
        c.is_control()
            || matches!(
                c,
                '\u{00AD}'
                    | '\u{200B}'..='\u{200F}'
                    | '\u{202A}'..='\u{202E}'
                    | '\u{2060}'..='\u{2064}'
                    | '\u{2066}'..='\u{2069}'
                    | '\u{FEFF}'
                    | '\u{FFF9}'..='\u{FFFB}'
            )
    };
    let mut out = String::new();
    let mut chars = text.chars();
    for (count, c) in chars.by_ref().enumerate() {
        if count == max_chars {
            let rest = 1 + chars.count();
            out.push_str(&format!("… ({rest} more characters)"));
            return out;
        }
        if invisible(c) {
            out.push_str(&format!("<U+{:04X}>", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

pub fn neutralise(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

/// Escapes text for XML; characters XML 1.0 cannot carry become U+FFFD.
pub(crate) fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(neutralise("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(neutralise("@SUM(1)"), "'@SUM(1)");
        assert_eq!(neutralise("invoice 1"), "invoice 1");
    }

    #[test]
    fn xml_text_is_escaped() {
        assert_eq!(
            xml_escape("a<b & \"c\"\u{1}"),
            "a&lt;b &amp; &quot;c&quot;\u{fffd}"
        );
    }
}
