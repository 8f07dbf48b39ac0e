//! The pure front half of the pipeline: bytes → detected format → decoded text → raw records →
//! typed records and diagnostics. No files, database or clock: `check` and the one-file
//! transaction call the same function.

use crate::decode::decode;
use crate::detect::{Sniffed, sniff};
use crate::diagnostic::{Diagnostic, Position, code};
use crate::domain::{FileKind, InboundFormat};
use crate::parse::ParsedFile;
use crate::parse::csv::parse_csv;
use crate::validate::Context;
use crate::validate::instruction::{InstructionRecord, validate_instruction};
use crate::validate::invoice::{InvoiceRecord, validate_invoice};
use crate::validate::payment::{PaymentRecord, validate_payment};

/// The typed records of a file; a file holds one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Records {
    Invoices(Vec<InvoiceRecord>),
    Payments(Vec<PaymentRecord>),
    Instructions(Vec<InstructionRecord>),
}

impl Records {
    pub fn kind(&self) -> FileKind {
        match self {
            Records::Invoices(_) => FileKind::Invoices,
            Records::Payments(_) => FileKind::Payments,
            Records::Instructions(_) => FileKind::Instructions,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Records::Invoices(r) => r.len(),
            Records::Payments(r) => r.len(),
            Records::Instructions(r) => r.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a file turned out to hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Analysis {
    /// The file cannot be read at all; it goes to `rejected/`.
    Unreadable {
        format: Option<InboundFormat>,
        kind: Option<FileKind>,
        diagnostics: Vec<Diagnostic>,
    },
    /// The file was read: its valid records, and a diagnostic per invalid one.
    Read {
        format: InboundFormat,
        /// Records read, valid or not.
        total: u64,
        /// Entries passed over on purpose (debits in a bank statement), counted in the receipt.
        skipped: u64,
        records: Records,
        /// Problems of individual records, in file order.
        diagnostics: Vec<Diagnostic>,
    },
}

impl Analysis {
    fn unreadable(format: Option<InboundFormat>, diagnostic: Diagnostic) -> Analysis {
        Analysis::Unreadable {
            format,
            kind: None,
            diagnostics: vec![diagnostic],
        }
    }

    /// The detected format and kind, as far as they are known.
    pub fn format_and_kind(&self) -> (Option<InboundFormat>, Option<FileKind>) {
        match self {
            Analysis::Unreadable { format, kind, .. } => (*format, *kind),
            Analysis::Read {
                format, records, ..
            } => (Some(*format), Some(records.kind())),
        }
    }
}

/// Reads one file as `ctx.sender` delivered it.
pub fn analyse(bytes: &[u8], ctx: Context<'_>) -> Analysis {
    let format = match sniff(bytes) {
        Sniffed::Empty => {
            return Analysis::unreadable(
                None,
                Diagnostic::file(code::EMPTY_FILE, "the file is empty"),
            );
        }
        Sniffed::Binary => {
            return Analysis::unreadable(
                None,
                Diagnostic::file(
                    code::UNKNOWN_FORMAT,
                    "the file is binary, not text: kravflyt reads CSV, XML, OCR giro and BgMax files; was a spreadsheet or an archive uploaded by mistake?",
                ),
            );
        }
        Sniffed::XmlWithDtd => {
            return Analysis::unreadable(
                None,
                Diagnostic::file(
                    code::UNREADABLE_FILE,
                    "the XML declares a DTD or entities, which kravflyt never reads; export the file without a DOCTYPE",
                ),
            );
        }
        Sniffed::UnknownXml { root, namespace } => {
            return Analysis::unreadable(
                None,
                Diagnostic::file(
                    code::UNKNOWN_FORMAT,
                    format!(
                        "XML with root element `{root}` in namespace `{}` is not a format kravflyt reads (PEPPOL BIS 3 Invoice/CreditNote, camt.053, camt.054, kravflyt XML)",
                        namespace.as_deref().unwrap_or("none")
                    ),
                ),
            );
        }
        Sniffed::Format(format) => format,
        Sniffed::Text => InboundFormat::Csv,
    };
    if !ctx.sender.reads.contains(&format) {
        let allowed: Vec<&str> = ctx.sender.reads.iter().map(|f| f.as_str()).collect();
        return Analysis::unreadable(
            Some(format),
            Diagnostic::file(
                code::FORMAT_NOT_ACCEPTED,
                format!(
                    "the file is {format}, but sender `{}` is set up to deliver {} only",
                    ctx.sender.id,
                    allowed.join(", ")
                ),
            ),
        );
    }
    match parse(format, bytes, ctx) {
        Ok(parsed) => validate(format, parsed, ctx),
        Err(diagnostics) => Analysis::Unreadable {
            format: Some(format),
            kind: None,
            diagnostics,
        },
    }
}

/// Decodes and parses a file of a known format.
fn parse(
    format: InboundFormat,
    bytes: &[u8],
    ctx: Context<'_>,
) -> Result<ParsedFile, Vec<Diagnostic>> {
    match format {
        InboundFormat::Csv => {
            let text = decode(bytes, ctx.sender.csv.encoding).map_err(|e| {
                vec![Diagnostic::at(
                    Position::Line(e.line),
                    code::BAD_ENCODING,
                    e.to_string(),
                )]
            })?;
            parse_csv(&text, &ctx.sender.csv)
        }
        InboundFormat::Peppol
        | InboundFormat::KravflytXml
        | InboundFormat::Camt053
        | InboundFormat::Camt054
        | InboundFormat::OcrGiro
        | InboundFormat::BgMax => Err(vec![Diagnostic::file(
            code::UNSUPPORTED_FORMAT,
            format!(
                "the file was recognised as {format}, which this version of kravflyt does not read yet; it is kept in rejected/ and can be dropped again after an upgrade"
            ),
        )]),
    }
}

/// Validates every raw record of a parsed file by its kind.
fn validate(format: InboundFormat, parsed: ParsedFile, ctx: Context<'_>) -> Analysis {
    let total = (parsed.records.len() + parsed.diagnostics.len()) as u64;
    if total == 0 && parsed.skipped == 0 {
        return Analysis::Unreadable {
            format: Some(format),
            kind: Some(parsed.kind),
            diagnostics: vec![Diagnostic::file(
                code::EMPTY_FILE,
                "the file holds no records",
            )],
        };
    }
    let mut diagnostics = parsed.diagnostics;
    let separator = parsed.decimal_separator;
    fn typed<T>(
        raws: &[crate::parse::RawRecord],
        diagnostics: &mut Vec<Diagnostic>,
        check: impl Fn(&crate::parse::RawRecord) -> Result<T, Vec<Diagnostic>>,
    ) -> Vec<T> {
        let mut out = Vec::with_capacity(raws.len());
        for raw in raws {
            match check(raw) {
                Ok(record) => out.push(record),
                Err(mut problems) => diagnostics.append(&mut problems),
            }
        }
        out
    }
    let records = match parsed.kind {
        FileKind::Invoices => Records::Invoices(typed(&parsed.records, &mut diagnostics, |r| {
            validate_invoice(ctx, r, separator)
        })),
        FileKind::Payments => Records::Payments(typed(&parsed.records, &mut diagnostics, |r| {
            validate_payment(ctx, r, separator)
        })),
        FileKind::Instructions => {
            Records::Instructions(typed(&parsed.records, &mut diagnostics, |r| {
                validate_instruction(ctx, r, separator)
            }))
        }
    };
    diagnostics.sort_by(|a, b| a.position.cmp(&b.position));
    Analysis::Read {
        format,
        total,
        skipped: parsed.skipped,
        records,
        diagnostics,
    }
}
