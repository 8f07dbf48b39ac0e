//! The pure front half of the pipeline: bytes → detected format → decoded text → raw records →
//! typed records and diagnostics. No files, database or clock: `check` and the one-file
//! transaction call the same function.

use crate::decode::decode;
use crate::detect::{Sniffed, sniff};
use crate::diagnostic::{Diagnostic, Position, code};
use crate::domain::{FileKind, InboundFormat};
use crate::parse::csv::parse_csv;
use crate::validate::Context;
use crate::validate::invoice::{InvoiceRecord, validate_invoice};

/// What a file turned out to hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Analysis {
    /// The file cannot be read at all; it goes to `rejected/`.
    Unreadable {
        format: Option<InboundFormat>,
        kind: Option<FileKind>,
        diagnostics: Vec<Diagnostic>,
    },
    /// Invoice and credit note rows.
    Invoices {
        format: InboundFormat,
        /// Data rows read, valid or not.
        total: u64,
        records: Vec<InvoiceRecord>,
        /// Problems of individual rows, in file order.
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
    match format {
        InboundFormat::Csv => analyse_csv(bytes, ctx),
        InboundFormat::Peppol
        | InboundFormat::KravflytXml
        | InboundFormat::Camt053
        | InboundFormat::Camt054
        | InboundFormat::OcrGiro
        | InboundFormat::BgMax => Analysis::unreadable(
            Some(format),
            Diagnostic::file(
                code::UNSUPPORTED_FORMAT,
                format!(
                    "the file was recognised as {format}, which this version of kravflyt does not read yet; it is kept in rejected/ and can be dropped again after an upgrade"
                ),
            ),
        ),
    }
}

fn analyse_csv(bytes: &[u8], ctx: Context<'_>) -> Analysis {
    let dialect = &ctx.sender.csv;
    let text = match decode(bytes, dialect.encoding) {
        Ok(text) => text,
        Err(e) => {
            return Analysis::unreadable(
                Some(InboundFormat::Csv),
                Diagnostic::at(Position::Line(e.line), code::BAD_ENCODING, e.to_string()),
            );
        }
    };
    let table = match parse_csv(&text, dialect) {
        Ok(table) => table,
        Err(diagnostics) => {
            return Analysis::Unreadable {
                format: Some(InboundFormat::Csv),
                kind: None,
                diagnostics,
            };
        }
    };
    let total = (table.records.len() + table.diagnostics.len()) as u64;
    if total == 0 {
        return Analysis::Unreadable {
            format: Some(InboundFormat::Csv),
            kind: Some(table.kind),
            diagnostics: vec![Diagnostic::file(
                code::EMPTY_FILE,
                "the file has a header but no rows",
            )],
        };
    }
    match table.kind {
        FileKind::Invoices => {
            let mut records = Vec::with_capacity(table.records.len());
            let mut diagnostics = table.diagnostics;
            for raw in &table.records {
                match validate_invoice(ctx, raw, table.decimal_separator) {
                    Ok(record) => records.push(record),
                    Err(mut problems) => diagnostics.append(&mut problems),
                }
            }
            diagnostics.sort_by(|a, b| a.position.cmp(&b.position));
            Analysis::Invoices {
                format: InboundFormat::Csv,
                total,
                records,
                diagnostics,
            }
        }
        kind @ (FileKind::Payments | FileKind::Instructions) => Analysis::Unreadable {
            format: Some(InboundFormat::Csv),
            kind: Some(kind),
            diagnostics: vec![Diagnostic::file(
                code::NOT_SUPPORTED_YET,
                format!(
                    "{kind} files are recognised but not applied by this version of kravflyt yet; the file is kept in rejected/ and can be dropped again after an upgrade"
                ),
            )],
        },
    }
}
