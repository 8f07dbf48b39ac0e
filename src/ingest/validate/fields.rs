//! Reading one raw record's fields into typed values, collecting a diagnostic per bad field.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::diagnostic::{Diagnostic, code};
use crate::ingest::parse::RawRecord;
use crate::money::{self, AmountError};

/// The longest text value accepted in any field; longer values are almost always a broken
/// export (a whole row in one quoted field).
pub const MAX_TEXT_CHARS: usize = 200;

/// Reads fields of one record; every problem becomes a diagnostic, so one bad field never hides
/// another.
pub struct Fields<'r> {
    record: &'r RawRecord,
    key: Option<String>,
    decimal_separator: char,
    pub diagnostics: Vec<Diagnostic>,
}

impl<'r> Fields<'r> {
    pub fn new(record: &'r RawRecord, key_column: &str, decimal_separator: char) -> Self {
        Fields {
            record,
            key: record.get(key_column).map(str::to_owned),
            decimal_separator,
            diagnostics: Vec::new(),
        }
    }

    /// Records a problem with a field of this record.
    pub fn problem(&mut self, column: &str, code: &'static str, message: impl Into<String>) {
        self.diagnostics.push(
            Diagnostic::at(self.record.position(), code, message)
                .with_field(column)
                .with_key(self.key.as_deref()),
        );
    }

    pub fn is_ok(&self) -> bool {
        self.diagnostics.is_empty()
    }

    /// Whether the column has a non-blank value.
    pub fn has(&self, column: &str) -> bool {
        self.record.get(column).is_some()
    }

    /// An optional text value, checked for control characters and length.
    pub fn text(&mut self, column: &str) -> Option<String> {
        let value = self.record.get(column)?;
        if value.chars().any(char::is_control) {
            self.problem(
                column,
                code::BAD_VALUE,
                format!("{column} contains control characters; remove them from the export"),
            );
            return None;
        }
        if value.chars().count() > MAX_TEXT_CHARS {
            self.problem(
                column,
                code::BAD_VALUE,
                format!("{column} is longer than {MAX_TEXT_CHARS} characters"),
            );
            return None;
        }
        Some(value.to_owned())
    }

    /// A required text value.
    pub fn required_text(&mut self, column: &str) -> Option<String> {
        if !self.has(column) {
            self.missing(column);
            return None;
        }
        self.text(column)
    }

    pub fn missing(&mut self, column: &str) {
        self.problem(
            column,
            code::MISSING_FIELD,
            format!("{column} is required but empty"),
        );
    }

    /// A date in `YYYY-MM-DD` or `DD.MM.YYYY`.
    pub fn date(&mut self, column: &str, required: bool) -> Option<NaiveDate> {
        let Some(value) = self.record.get(column) else {
            if required {
                self.missing(column);
            }
            return None;
        };
        match parse_date(value) {
            Some(date) => Some(date),
            None => {
                let shown = shorten(value);
                self.problem(
                    column,
                    code::BAD_DATE,
                    format!("{column} `{shown}` is not a date; write YYYY-MM-DD or DD.MM.YYYY"),
                );
                None
            }
        }
    }

    /// An amount in the sender's decimal style.
    pub fn amount(&mut self, column: &str, required: bool) -> Option<Decimal> {
        let Some(value) = self.record.get(column) else {
            if required {
                self.missing(column);
            }
            return None;
        };
        match money::parse_amount(value, self.decimal_separator) {
            Ok(amount) => Some(amount),
            Err(AmountError::Empty) => {
                if required {
                    self.missing(column);
                }
                None
            }
            Err(e) => {
                let message = format!("{column} {e}");
                self.problem(column, code::BAD_AMOUNT, message);
                None
            }
        }
    }

    /// A value of a closed vocabulary.
    pub fn parsed<T, E>(&mut self, column: &str, required: bool) -> Option<T>
    where
        T: std::str::FromStr<Err = E>,
        E: std::fmt::Display,
    {
        let Some(value) = self.record.get(column) else {
            if required {
                self.missing(column);
            }
            return None;
        };
        match value.parse() {
            Ok(v) => Some(v),
            Err(e) => {
                let message = format!("{column} {e}");
                self.problem(column, code::BAD_VALUE, message);
                None
            }
        }
    }
}

/// Parses the two accepted date forms.
pub fn parse_date(value: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(value, "%d.%m.%Y"))
        .ok()
        .filter(|d| value.len() == 10 && (1900..=2199).contains(&chrono::Datelike::year(d)))
}

/// A value as shown inside a message: short, so a broken field cannot flood a receipt.
pub fn shorten(value: &str) -> String {
    const MAX: usize = 40;
    if value.chars().count() <= MAX {
        value.to_owned()
    } else {
        let cut: String = value.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_date_forms_and_nothing_else() {
        let expected = NaiveDate::from_ymd_opt(2026, 3, 1);
        assert_eq!(parse_date("2026-03-01"), expected);
        assert_eq!(parse_date("01.03.2026"), expected);
        assert_eq!(parse_date("1.3.2026"), None);
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("2026-3-1"), None);
        assert_eq!(parse_date("20260301"), None);
        assert_eq!(parse_date("0026-03-01"), None);
    }
}
