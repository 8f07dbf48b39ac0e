//! The pure front half of the pipeline: content → detected format → decoded text → raw records
//! → typed records and diagnostics. No files, database or clock: the content comes through
//! [`Content`], which the pipeline implements for a file and `check` for bytes in memory.
//!
//! Reading streams where the format allows it (CSV): records are produced one at a time, and a
//! pass can be repeated, so the one-file transaction applies a file of a million rows in
//! memory bounded by a row, not by the file.

use std::io::Read;

use crate::diagnostic::{Diagnostic, code};
use crate::domain::{FileKind, InboundFormat};
use crate::ingest::decode::decode_xml;
use crate::ingest::detect::{Sniffed, sniff};
use crate::ingest::parse::bgmax::parse_bgmax;
use crate::ingest::parse::camt::parse_camt;
use crate::ingest::parse::csv::{CsvRecords, RowProblem, decoding_reader};
use crate::ingest::parse::kravflyt_xml::parse_kravflyt_xml;
use crate::ingest::parse::ocr_giro::ocr_giro_transactions;
use crate::ingest::parse::peppol::parse_peppol;
use crate::ingest::parse::{ParsedFile, RawRecord};
use crate::ingest::validate::Context;
use crate::ingest::validate::instruction::{InstructionRecord, validate_instruction};
use crate::ingest::validate::invoice::{InvoiceRecord, validate_invoice};
use crate::ingest::validate::payment::{PaymentRecord, validate_payment};

/// How many bytes of a file are read to detect its format.
pub const HEAD_BYTES: u64 = 64 * 1024;

/// The content of an inbound file, readable from the start as often as needed.
pub trait Content {
    fn open(&self) -> std::io::Result<Box<dyn Read + '_>>;
}

impl Content for &[u8] {
    fn open(&self) -> std::io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(*self))
    }
}

/// A file that cannot be read at all: it goes to `rejected/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub format: Option<InboundFormat>,
    pub kind: Option<FileKind>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Unreadable {
    fn new(format: Option<InboundFormat>, diagnostic: Diagnostic) -> Self {
        Unreadable {
            format,
            kind: None,
            diagnostics: vec![diagnostic],
        }
    }
}

/// A file whose format and kind are known and whose records can be read.
#[derive(Debug)]
pub struct Readable {
    pub format: InboundFormat,
    pub kind: FileKind,
    source: Source,
}

#[derive(Debug)]
enum Source {
    /// Streamed from the content on every pass.
    Csv,
    /// Streamed too; a first pass at open checked the control totals (and counted the
    /// entries passed over) before any record may count.
    OcrGiro { skipped: u64 },
    /// Parsed whole (XML and fixed-width bank files, which are small or must have their
    /// control totals checked before any record counts).
    Parsed(ParsedFile),
}

/// One record of a pass, validated.
#[derive(Debug)]
pub enum Checked {
    Invoice(InvoiceRecord),
    Payment(PaymentRecord),
    Instruction(InstructionRecord),
    /// A record that failed validation or could not be read, with every problem found.
    Invalid(Vec<Diagnostic>),
    /// The file cannot be read past here: the whole file is unreadable.
    Fatal(Diagnostic),
    /// Reading failed for a reason outside the file (a disk error).
    Io(std::io::Error),
}

/// Why a file could not be opened for reading.
#[derive(Debug)]
pub enum OpenFailure {
    /// The content is the problem: the sender gets a receipt.
    Unreadable(Unreadable),
    /// The disk is: no receipt; the file stays where it is and is retried.
    Io(std::io::Error),
}

impl From<Unreadable> for OpenFailure {
    fn from(u: Unreadable) -> Self {
        OpenFailure::Unreadable(u)
    }
}

/// Detects the format, checks the sender may deliver it, and prepares reading: reads the CSV
/// header, or parses the whole of a format that is read whole.
pub fn open(content: &dyn Content, ctx: Context<'_>) -> Result<Readable, OpenFailure> {
    let io_problem = OpenFailure::Io;
    let mut head = Vec::new();
    content
        .open()
        .and_then(|r| r.take(HEAD_BYTES).read_to_end(&mut head))
        .map_err(io_problem)?;
    let format = match sniff(&head) {
        Sniffed::Empty => {
            return Err(OpenFailure::Unreadable(Unreadable::new(
                None,
                Diagnostic::file(code::EMPTY_FILE, "the file is empty"),
            )));
        }
        Sniffed::Binary => {
            return Err(OpenFailure::Unreadable(Unreadable::new(
                None,
                Diagnostic::file(
                    code::UNKNOWN_FORMAT,
                    "the file is binary, not text: kravflyt reads CSV, XML, OCR giro and BgMax files; was a spreadsheet or an archive uploaded by mistake?",
                ),
            )));
        }
        Sniffed::XmlWithDtd => {
            return Err(OpenFailure::Unreadable(Unreadable::new(
                None,
                Diagnostic::file(
                    code::UNREADABLE_FILE,
                    "the XML declares a DTD or entities, which kravflyt never reads; export the file without a DOCTYPE",
                ),
            )));
        }
        Sniffed::UnknownXml { root, namespace } => {
            return Err(OpenFailure::Unreadable(Unreadable::new(
                None,
                Diagnostic::file(
                    code::UNKNOWN_FORMAT,
                    format!(
                        "XML with root element `{root}` in namespace `{}` is not a format kravflyt reads (PEPPOL BIS 3 Invoice/CreditNote, camt.053, camt.054, kravflyt XML)",
                        namespace.as_deref().unwrap_or("none")
                    ),
                ),
            )));
        }
        Sniffed::Format(format) => format,
        Sniffed::Text => InboundFormat::Csv,
    };
    if !ctx.sender.reads.contains(&format) {
        let allowed: Vec<&str> = ctx.sender.reads.iter().map(|f| f.as_str()).collect();
        return Err(OpenFailure::Unreadable(Unreadable::new(
            Some(format),
            Diagnostic::file(
                code::FORMAT_NOT_ACCEPTED,
                format!(
                    "the file is {format}, but sender `{}` is set up to deliver {} only",
                    ctx.sender.id,
                    allowed.join(", ")
                ),
            ),
        )));
    }
    let unreadable = |diagnostics| Unreadable {
        format: Some(format),
        kind: None,
        diagnostics,
    };
    let (kind, source) = match format {
        InboundFormat::Csv => {
            let input = content.open().map_err(io_problem)?;
            let rows = CsvRecords::new(
                decoding_reader(input, ctx.sender.csv.encoding),
                &ctx.sender.csv,
            )
            .map_err(|d| OpenFailure::Unreadable(unreadable(d)))?;
            (rows.kind(), Source::Csv)
        }
        InboundFormat::OcrGiro => {
            let input = std::io::BufReader::new(content.open().map_err(io_problem)?);
            let mut transactions = ocr_giro_transactions(input);
            for transaction in &mut transactions {
                transaction.map_err(|d| OpenFailure::Unreadable(unreadable(d)))?;
            }
            let skipped = transactions.skipped();
            (FileKind::Payments, Source::OcrGiro { skipped })
        }
        InboundFormat::Peppol
        | InboundFormat::KravflytXml
        | InboundFormat::Camt053
        | InboundFormat::Camt054
        | InboundFormat::BgMax => {
            let mut bytes = Vec::new();
            content
                .open()
                .and_then(|mut r| r.read_to_end(&mut bytes))
                .map_err(io_problem)?;
            let parsed =
                parse_whole(format, &bytes).map_err(|d| OpenFailure::Unreadable(unreadable(d)))?;
            (parsed.kind, Source::Parsed(parsed))
        }
    };
    Ok(Readable {
        format,
        kind,
        source,
    })
}

/// Parses a format that is read whole.
fn parse_whole(format: InboundFormat, bytes: &[u8]) -> Result<ParsedFile, Vec<Diagnostic>> {
    match format {
        InboundFormat::BgMax => parse_bgmax(bytes),
        InboundFormat::Peppol
        | InboundFormat::KravflytXml
        | InboundFormat::Camt053
        | InboundFormat::Camt054 => {
            let text = decode_xml(bytes).map_err(|e| vec![e.xml_diagnostic()])?;
            match format {
                InboundFormat::Peppol => parse_peppol(&text),
                InboundFormat::KravflytXml => parse_kravflyt_xml(&text),
                _ => parse_camt(&text),
            }
        }
        // Streamed, never read whole; reaching here would be a defect, said plainly.
        InboundFormat::Csv | InboundFormat::OcrGiro => Err(vec![Diagnostic::file(
            code::UNREADABLE_FILE,
            "internal error: this format is read as a stream",
        )]),
    }
}

impl Readable {
    /// Entries passed over on purpose (debits in a bank statement), counted in the receipt.
    pub fn skipped(&self) -> u64 {
        match &self.source {
            Source::Csv => 0,
            Source::OcrGiro { skipped } => *skipped,
            Source::Parsed(parsed) => parsed.skipped,
        }
    }

    /// One pass over the file's records, each validated as its kind.
    pub fn records<'a>(
        &'a self,
        content: &'a dyn Content,
        ctx: Context<'a>,
    ) -> std::io::Result<Box<dyn Iterator<Item = Checked> + 'a>> {
        let kind = self.kind;
        match &self.source {
            Source::Csv => {
                let input = content.open()?;
                let separator = ctx.sender.csv.decimal_separator;
                let rows = match CsvRecords::new(
                    decoding_reader(input, ctx.sender.csv.encoding),
                    &ctx.sender.csv,
                ) {
                    Ok(rows) => rows,
                    // The header was read once already; a different answer now means the
                    // file changed under us, which a claimed file in work/ must not.
                    Err(problems) => {
                        let first = first_or_unreadable(problems);
                        return Ok(Box::new(std::iter::once(Checked::Fatal(first))));
                    }
                };
                Ok(Box::new(rows.map(move |row| match row {
                    Ok(raw) => check(kind, ctx, &raw, separator),
                    Err(RowProblem::Record(d)) => Checked::Invalid(vec![d]),
                    Err(RowProblem::Fatal(d)) => Checked::Fatal(d),
                    Err(RowProblem::Io(e)) => Checked::Io(e),
                })))
            }
            Source::OcrGiro { .. } => {
                let input = std::io::BufReader::new(content.open()?);
                Ok(Box::new(ocr_giro_transactions(input).map(
                    move |transaction| {
                        match transaction {
                            Ok(t) => check(kind, ctx, &t.to_raw_record(), '.'),
                            // Checked whole when the file was opened; a different answer now means
                            // the claimed file changed, which it must not.
                            Err(problems) => Checked::Fatal(first_or_unreadable(problems)),
                        }
                    },
                )))
            }
            Source::Parsed(parsed) => {
                let separator = parsed.decimal_separator;
                let unreadable_rows = parsed
                    .diagnostics
                    .iter()
                    .map(|d| Checked::Invalid(vec![d.clone()]));
                let rows = parsed
                    .records
                    .iter()
                    .map(move |raw| check(kind, ctx, raw, separator));
                Ok(Box::new(unreadable_rows.chain(rows)))
            }
        }
    }
}

/// The first of a reader's problems, or a plain one if it gave none.
fn first_or_unreadable(problems: Vec<Diagnostic>) -> Diagnostic {
    problems
        .into_iter()
        .next()
        .unwrap_or_else(|| Diagnostic::file(code::UNREADABLE_FILE, "the file could not be read"))
}

/// Validates one raw record as its file's kind.
fn check(kind: FileKind, ctx: Context<'_>, raw: &RawRecord, separator: char) -> Checked {
    let result = match kind {
        FileKind::Invoices => validate_invoice(ctx, raw, separator).map(Checked::Invoice),
        FileKind::Payments => validate_payment(ctx, raw, separator).map(Checked::Payment),
        FileKind::Instructions => {
            validate_instruction(ctx, raw, separator).map(Checked::Instruction)
        }
    };
    result.unwrap_or_else(Checked::Invalid)
}
