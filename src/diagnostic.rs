//! Diagnostics: what is wrong with an inbound file or record, where, and what to do about it.
//!
//! Bad input is output, not an `Err`: every stage returns what it could read plus a list of
//! diagnostics, and the receipt lists them. Codes are stable (senders' programs match on them);
//! messages are sentences for a person.

use std::fmt;

/// Where in a file a problem is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Position {
    /// The file as a whole.
    File,
    /// A 1-based line of a text file.
    Line(u64),
    /// A 1-based record of a fixed-width file.
    Record(u64),
    /// An element path in an XML file.
    Path(String),
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::File => f.write_str("file"),
            Position::Line(n) => write!(f, "line {n}"),
            Position::Record(n) => write!(f, "record {n}"),
            Position::Path(p) => f.write_str(p),
        }
    }
}

/// Stable codes of receipts (SPEC §5.4). Senders' programs match on these; never rename one.
pub mod code {
    // The file as a whole.
    pub const EMPTY_FILE: &str = "empty_file";
    pub const FILE_TOO_LARGE: &str = "file_too_large";
    pub const INCOMPLETE_FILE: &str = "incomplete_file";
    pub const BAD_ENCODING: &str = "bad_encoding";
    pub const UNKNOWN_FORMAT: &str = "unknown_format";
    pub const FORMAT_NOT_ACCEPTED: &str = "format_not_accepted";
    pub const MISSING_COLUMN: &str = "missing_column";
    pub const UNKNOWN_COLUMN: &str = "unknown_column";
    pub const DUPLICATE_COLUMN: &str = "duplicate_column";
    pub const UNREADABLE_FILE: &str = "unreadable_file";
    /// XML that is not well-formed, nested too deep, or otherwise unreadable as XML.
    pub const MALFORMED_XML: &str = "malformed_xml";
    /// A fixed-width record of the wrong length or an unknown record type.
    pub const BAD_RECORD: &str = "bad_record";
    /// A bank file whose end or deposit records disagree with its transactions.
    pub const BAD_CONTROL_TOTAL: &str = "bad_control_total";
    pub const DUPLICATE_FILE: &str = "duplicate_file";
    /// A notice, not a problem: a file whose last line had no line break, taken only after
    /// `stale_after` because its inbox cannot see writers (it may have been cut).
    pub const NO_FINAL_LINE_BREAK: &str = "no_final_line_break";
    /// More problems than one receipt lists.
    pub const TOO_MANY_PROBLEMS: &str = "too_many_problems";
    // One record.
    pub const BAD_ROW: &str = "bad_row";
    pub const MISSING_FIELD: &str = "missing_field";
    pub const BAD_VALUE: &str = "bad_value";
    pub const BAD_DATE: &str = "bad_date";
    pub const BAD_AMOUNT: &str = "bad_amount";
    pub const BAD_CURRENCY: &str = "bad_currency";
    pub const BAD_COUNTRY: &str = "bad_country";
    pub const BAD_REFERENCE: &str = "bad_reference";
    pub const BAD_IDENTIFIER: &str = "bad_identifier";
    pub const UNKNOWN_CREDITOR: &str = "unknown_creditor";
    pub const CREDITOR_NOT_ALLOWED: &str = "creditor_not_allowed";
    pub const UNKNOWN_INVOICE: &str = "unknown_invoice";
    pub const UNKNOWN_PAYMENT: &str = "unknown_payment";
    pub const CONFLICT: &str = "conflict";
    pub const CREDIT_EXCEEDS_OPEN: &str = "credit_exceeds_open";
    pub const CASE_CLOSED: &str = "case_closed";
    /// An instruction that does not fit the case's state (SPEC §6.4).
    pub const INVALID_STATE: &str = "invalid_state";
    /// An action this sender may not take.
    pub const ACTION_NOT_ALLOWED: &str = "action_not_allowed";
}

/// One problem, in a form a receipt can carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub position: Position,
    /// The record's own key where it has one (invoice number, payment id), so a sender can find
    /// it without counting lines.
    pub record_key: Option<String>,
    /// The canonical field, when the problem is in one.
    pub field: Option<String>,
    pub code: &'static str,
    /// A sentence a person can act on; never contains a national identity number.
    pub message: String,
}

impl Diagnostic {
    /// A problem with the file as a whole.
    pub fn file(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            position: Position::File,
            record_key: None,
            field: None,
            code,
            message: message.into(),
        }
    }

    /// A problem at a position.
    pub fn at(position: Position, code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            position,
            record_key: None,
            field: None,
            code,
            message: message.into(),
        }
    }

    pub fn with_field(mut self, field: &str) -> Self {
        self.field = Some(field.to_owned());
        self
    }

    pub fn with_key(mut self, key: Option<&str>) -> Self {
        self.record_key = key.filter(|k| !k.is_empty()).map(str::to_owned);
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.position)?;
        if let Some(field) = &self.field {
            write!(f, ", {field}")?;
        }
        write!(f, ": [{}] {}", self.code, self.message)
    }
}
