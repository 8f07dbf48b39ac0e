//! Parsing: decoded text (or bytes, for fixed-width formats) → raw records with positions.
//!
//! Every format parses into the same shape, [`ParsedFile`]: records keyed by the canonical
//! column names of SPEC §5.1, each with its position in the file. Validation is then shared by
//! all formats: a PEPPOL invoice and a CSV row are checked by the same code.

pub mod csv;
pub mod xml;
pub mod peppol;
pub mod camt;
pub mod kravflyt_xml;
pub mod ocr_giro;
pub mod bgmax;

use std::collections::BTreeMap;

use crate::diagnostic::{Diagnostic, Position};
use crate::domain::FileKind;

/// One record: canonical column → value, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    pub position: Position,
    pub fields: BTreeMap<&'static str, String>,
}

impl RawRecord {
    pub fn new(position: Position) -> Self {
        RawRecord {
            position,
            fields: BTreeMap::new(),
        }
    }

    /// Sets a canonical column (ignored if `column` is not canonical).
    pub fn set(&mut self, column: &str, value: impl Into<String>) {
        if let Some(c) = crate::columns::canonical_static(column) {
            self.fields.insert(c, value.into());
        }
    }

    /// The value of a column, `None` when absent or blank.
    pub fn get(&self, column: &str) -> Option<&str> {
        self.fields
            .get(column)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn position(&self) -> Position {
        self.position.clone()
    }
}

/// A file read into raw records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedFile {
    pub kind: FileKind,
    pub records: Vec<RawRecord>,
    /// Records that could not be read (wrong field count, a bad fixed-width record), in file
    /// order; each counts as a rejected record.
    pub diagnostics: Vec<Diagnostic>,
    /// Entries deliberately passed over and counted in the receipt (debits in a bank
    /// statement, unbooked entries).
    pub skipped: u64,
    /// The decimal separator of amounts in `records` (`.` for XML and fixed-width formats,
    /// whose parsers write amounts as plain decimals; the sender's for CSV).
    pub decimal_separator: char,
}
