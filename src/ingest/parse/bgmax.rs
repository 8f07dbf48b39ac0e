//! Bankgirot BgMax (Sweden): records 01–70 → bank payment records, deposit and end totals checked.
//!
//! A BgMax file (Bankgirot's "Bankgiro Inbetalningar" report) is a start record (01), one or
//! more deposits, and an end record (70). A deposit is an opening record (05: the receiving
//! bankgiro number and currency), payments (20) and deductions (21), each followed by its own
//! extra references (22, and 23 for negative ones), information texts (25), the payer's name
//! (26), address (27, 28) and organisation number (29), and a deposit record (15: the bank
//! account credited, the payment date, the deposit amount and number of payments).
//!
//! Every 20 and 21 record becomes one bank payment; a deduction (21: a credit note the payer
//! deducted, reported by Bankgirot as a record of its own) becomes a negative amount. Each 15
//! must hold the sum of its payments minus its deductions and their number, and the 70 record
//! the file's numbers of 20, 21, 22/23 and 15 records; otherwise the whole file is rejected.
//!
//! Reference codes (position 56 of records 20–23), as Bankgirot's technical manual defines them,
//! and what kravflyt emits as `reference`:
//!
//! | code | meaning | `reference` |
//! |---|---|---|
//! | 0 | blank: no reference | from the information texts (25), if they hold a single reference |
//! | 1 | no reference (the payer gave none; the field is empty) | as for 0 |
//! | 2 | correct OCR reference (passed the OCR check of the payee's agreement) | the field, spaces removed |
//! | 3 | one or more references written by the payer (free text; further ones may come in 22/23 records) | the single reference the text holds, if it holds exactly one |
//! | 4 | one reference (not checked as an OCR reference) | the field, spaces removed |
//! | 5 | incorrect OCR reference (failed the OCR check but was let through) | the field, spaces removed: matching reports `bad_check_digit` |
//!
//! Payment channel codes (position 57): 1 electronic payment from a bank (internet or
//! telephone bank), 2 electronic payment through Leverantörsbetalningar (LB, a company's
//! payment file), 3 paper form (blankett), 4 Autogiro. The image mark (position 70) is 1 when
//! Bankgirot's separate image file holds a picture of the payment slip. The deduction code
//! (position 71 of a 21 record) tells whether the credit was deducted in whole or in part.
//! None of these change the payment kravflyt records.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::diagnostic::{Diagnostic, Position, code};
use crate::domain::FileKind;
use crate::ingest::detect::UTF8_BOM;
use crate::ingest::parse::{ParsedFile, RawRecord};
use crate::money::format_minor;

/// A BgMax record's length; shorter lines are records whose trailing blanks were trimmed.
const RECORD_LEN: usize = 80;

/// Reads a BgMax file into payment records. `Err` when the file cannot be trusted as a whole:
/// a record of the wrong length or type, records out of order, a missing end record, or a
/// deposit or end record whose figures differ from the payments.
pub fn parse_bgmax(bytes: &[u8]) -> Result<ParsedFile, Vec<Diagnostic>> {
    let text = decode(bytes);
    let mut reader = Reader {
        records: Records::new(&text),
        counts: Counts::default(),
        ids: HashMap::new(),
        out: Vec::new(),
    };
    reader.read()?;
    Ok(ParsedFile {
        kind: FileKind::Payments,
        records: reader.out,
        diagnostics: Vec::new(),
        skipped: 0,
        decimal_separator: '.',
    })
}

/// The one reference a payer's free text holds, if it holds exactly one: its only word of
/// digits (`Faktura 658369:` → `658369`), else its only word when the text is a single word
/// with a digit (`RF18539007547034`). `None` when there are several candidates (`657866 658765`
/// names two invoices) or none: guessing would pay the wrong case, while an unmatched payment
/// is listed for the desk.
pub(crate) fn reference_in_text(text: &str) -> Option<String> {
    let words: Vec<&str> = text
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| c.is_ascii_punctuation()))
        .filter(|w| !w.is_empty())
        .collect();
    let mut numbers = words
        .iter()
        .filter(|w| w.bytes().all(|b| b.is_ascii_digit()));
    if let (Some(number), None) = (numbers.next(), numbers.next()) {
        return Some((*number).to_owned());
    }
    match words.as_slice() {
        [word] if word.bytes().any(|b| b.is_ascii_digit()) => Some((*word).to_owned()),
        _ => None,
    }
}

/// Bankgirot writes BgMax in ISO-8859-1 (read as windows-1252, its superset). A file that is
/// valid UTF-8 is read as UTF-8 instead: copies of Bankgirot's examples circulate transcoded
/// (the public sample is), and Swedish names in ISO-8859-1 are never valid UTF-8.
fn decode(bytes: &[u8]) -> Cow<'_, str> {
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => {
            encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
        }
    }
}

/// Record counts of the whole file, for the end record.
#[derive(Debug, Default)]
struct Counts {
    payments: u64,
    deductions: u64,
    extra_references: u64,
    deposits: u64,
}

/// An open deposit: from its 05 record until its 15 record.
struct Deposit<'t> {
    opening: u64,
    receiving_bankgiro: &'t str,
    currency: Option<&'t str>,
    entries: Vec<Entry<'t>>,
    /// Payments minus deductions, in öre.
    net: i128,
}

/// A payment (20) or deduction (21) and what follows it.
struct Entry<'t> {
    line: u64,
    deduction: bool,
    sender_bankgiro: &'t str,
    reference: &'t str,
    reference_code: u8,
    amount: i64,
    serial: &'t str,
    extra_references: u64,
    information: Vec<&'t str>,
    name: Option<&'t str>,
}

impl Entry<'_> {
    /// The reference by the reference code (see the table in the module documentation). The
    /// information texts are read only when the record itself gives none and there are no
    /// extra references: with several references, none of them alone is the payment's.
    fn reference(&self) -> Option<String> {
        let compact = || {
            Some(self.reference.split_whitespace().collect::<String>()).filter(|r| !r.is_empty())
        };
        let own = match self.reference_code {
            0 | 1 => None,
            2 | 4 | 5 => compact(),
            _ => reference_in_text(self.reference),
        };
        if own.is_some() || self.extra_references > 0 {
            return own;
        }
        let mut found = self
            .information
            .iter()
            .filter_map(|text| reference_in_text(text));
        match (found.next(), found.next()) {
            (Some(reference), None) => Some(reference),
            _ => None,
        }
    }
}

struct Reader<'t> {
    records: Records<'t>,
    counts: Counts,
    /// Payment ids given so far, with how often each key occurred.
    ids: HashMap<String, u32>,
    out: Vec<RawRecord>,
}

impl<'t> Reader<'t> {
    fn read(&mut self) -> Result<(), Vec<Diagnostic>> {
        self.start().map_err(one)?;
        let mut deposit: Option<Deposit<'t>> = None;
        loop {
            let Some(rec) = self.records.next_record().map_err(one)? else {
                let message = match &deposit {
                    Some(d) => format!(
                        "the file ends inside the deposit opened at record {}, without its deposit record (15) and the end record (70): it was cut off; wait for the whole file or ask Bankgirot for it again",
                        d.opening
                    ),
                    None => "the file ends without the end record (70): it was cut off; wait for the whole file or ask Bankgirot for it again".to_owned(),
                };
                return Err(one(Diagnostic::file(code::INCOMPLETE_FILE, message)));
            };
            let record_type = rec.field(1, 2);
            match (record_type, &mut deposit) {
                ("05", None) => deposit = Some(opening(rec).map_err(one)?),
                ("20" | "21", Some(d)) => {
                    let entry = entry(rec).map_err(one)?;
                    if entry.deduction {
                        self.counts.deductions += 1;
                        d.net -= i128::from(entry.amount);
                    } else {
                        self.counts.payments += 1;
                        d.net += i128::from(entry.amount);
                    }
                    d.entries.push(entry);
                }
                ("22" | "23" | "25" | "26" | "27" | "28" | "29", Some(d)) => {
                    let Some(entry) = d.entries.last_mut() else {
                        return Err(one(rec.problem(
                            code::BAD_RECORD,
                            format!(
                                "a {record_type} record must follow the payment (20) or deduction (21) it belongs to"
                            ),
                        )));
                    };
                    match record_type {
                        "22" | "23" => {
                            self.counts.extra_references += 1;
                            entry.extra_references += 1;
                        }
                        "25" => entry.information.push(rec.field(3, 52).trim()),
                        "26" if entry.name.is_none() => {
                            let name = [rec.field(3, 37).trim(), rec.field(38, 72).trim()]
                                .into_iter()
                                .find(|n| !n.is_empty());
                            entry.name = name;
                        }
                        _ => {}
                    }
                }
                ("15", Some(_)) => {
                    if let Some(open) = deposit.take() {
                        self.counts.deposits += 1;
                        self.close(rec, open)?;
                    }
                }
                ("70", None) => {
                    self.end(rec)?;
                    if let Some(after) = self.records.next_record().map_err(one)? {
                        return Err(one(after.problem(
                            code::BAD_RECORD,
                            "a record follows the end record (70); a BgMax file ends with it: remove what follows or ask Bankgirot for the file again",
                        )));
                    }
                    return Ok(());
                }
                (_, open) => return Err(one(out_of_place(rec, open.as_ref()))),
            }
        }
    }

    fn start(&mut self) -> Result<(), Diagnostic> {
        let Some(rec) = self.records.next_record()? else {
            return Err(Diagnostic::file(
                code::EMPTY_FILE,
                "the file holds no BgMax records",
            ));
        };
        if rec.field(1, 2) != "01" || rec.field(3, 22).trim_end() != "BGMAX" {
            return Err(rec.problem(
                code::BAD_RECORD,
                "the first record is not a BgMax start record (01BGMAX); a Bankgirot BgMax file starts with one",
            ));
        }
        let version = rec.digits(23, 24, "layout version")?;
        if version != "01" {
            return Err(rec.problem(
                code::BAD_RECORD,
                format!(
                    "layout version {version} of BgMax is not supported; kravflyt reads version 01"
                ),
            ));
        }
        rec.digits(25, 44, "write timestamp")?;
        match rec.field(45, 45) {
            "P" => Ok(()),
            // A test file applied in production would pay cases with money never received.
            "T" => Err(rec.problem(
                code::BAD_VALUE,
                "the start record marks this as a Bankgirot test file (test mark T); test payments are never applied: deliver the production file",
            )),
            other => Err(rec.problem(
                code::BAD_RECORD,
                format!(
                    "the test mark (position 45) is `{other}`; expected P (production) or T (test)"
                ),
            )),
        }
    }

    /// Checks a deposit record against its deposit and emits the deposit's payments.
    fn close(&mut self, rec: Rec<'t>, deposit: Deposit<'t>) -> Result<(), Vec<Diagnostic>> {
        let date = rec.date(38, 45, "payment date").map_err(one)?;
        rec.digits(46, 50, "deposit serial number").map_err(one)?;
        let amount = to_number(rec.digits(51, 68, "deposit amount").map_err(one)?);
        let payments = to_number(rec.digits(72, 79, "number of payments").map_err(one)?);
        let own_currency = Some(rec.field(69, 71).trim()).filter(|c| !c.is_empty());
        let currency = match (own_currency, deposit.currency) {
            (Some(own), Some(opened)) if own != opened => {
                return Err(one(rec.problem(
                    code::BAD_RECORD,
                    format!(
                        "the deposit record is in {own}, but its opening record (record {}) says {opened}",
                        deposit.opening
                    ),
                )));
            }
            (Some(c), _) | (None, Some(c)) => c,
            (None, None) => "SEK",
        };
        let mut problems = Vec::new();
        let entries = deposit.entries.len() as u64;
        if payments != entries {
            problems.push(rec.problem(
                code::BAD_CONTROL_TOTAL,
                format!(
                    "the deposit record says {payments} payments, but the deposit opened at record {} holds {entries} payment and deduction records; the file is damaged or was edited: ask Bankgirot for it again",
                    deposit.opening
                ),
            ));
        }
        if i128::from(amount) != deposit.net {
            problems.push(rec.problem(
                code::BAD_CONTROL_TOTAL,
                format!(
                    "the deposit record says the deposit amount is {} {currency}, but the payments minus the deductions of the deposit opened at record {} come to {} {currency}; the file is damaged or was edited: ask Bankgirot for it again",
                    format_wide_minor(i128::from(amount)),
                    deposit.opening,
                    format_wide_minor(deposit.net)
                ),
            ));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let payment_date = format!(
            "{}-{}-{}",
            date.get(..4).unwrap_or_default(),
            date.get(4..6).unwrap_or_default(),
            date.get(6..).unwrap_or_default()
        );
        for entry in &deposit.entries {
            let record = self.payment(entry, &deposit, date, &payment_date, currency);
            self.out.push(record);
        }
        Ok(())
    }

    /// One payment record. The id is the receiving bankgiro number, the deposit's payment date
    /// and Bankgirot's serial number of the payment (BGC löpnummer): Bankgirot's own data, so
    /// the same payment always gets the same id, and the serial number with the date names one
    /// payment. Should a file repeat a key anyway (the public example does, in its second
    /// deposit), the repeats get `-2`, `-3`… in file order, so no payment is lost as a duplicate.
    fn payment(
        &mut self,
        entry: &Entry<'t>,
        deposit: &Deposit<'t>,
        date: &str,
        payment_date: &str,
        currency: &str,
    ) -> RawRecord {
        let key = format!("{}-{date}-{}", deposit.receiving_bankgiro, entry.serial);
        let seen = self.ids.entry(key.clone()).or_insert(0);
        *seen += 1;
        let payment_id = if *seen == 1 {
            key
        } else {
            format!("{key}-{seen}")
        };
        let mut record = RawRecord::new(Position::Record(entry.line));
        record.set("payment_id", payment_id);
        record.set("kind", "bank");
        if let Some(reference) = entry.reference() {
            record.set("reference", reference);
        }
        let amount = if entry.deduction {
            -entry.amount
        } else {
            entry.amount
        };
        record.set("amount", format_minor(amount, '.'));
        record.set("currency", currency);
        record.set("payment_date", payment_date);
        if let Some(name) = entry.name {
            record.set("payer_name", name);
        }
        let bankgiro = entry.sender_bankgiro.trim_start_matches('0');
        if !bankgiro.is_empty() {
            record.set("payer_account", bankgiro);
        }
        record
    }

    fn end(&mut self, rec: Rec<'t>) -> Result<(), Vec<Diagnostic>> {
        let figures = [
            (3, 10, "payment records (20)", self.counts.payments),
            (11, 18, "deduction records (21)", self.counts.deductions),
            (
                19,
                26,
                "extra reference records (22 and 23)",
                self.counts.extra_references,
            ),
            (27, 34, "deposit records (15)", self.counts.deposits),
        ];
        let mut problems = Vec::new();
        for (from, to, what, counted) in figures {
            let stated = to_number(rec.digits(from, to, what).map_err(one)?);
            if stated != counted {
                problems.push(rec.problem(
                    code::BAD_CONTROL_TOTAL,
                    format!(
                        "the end record says {stated} {what}, but the file holds {counted}; the file is damaged or was edited: ask Bankgirot for it again"
                    ),
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

fn opening(rec: Rec<'_>) -> Result<Deposit<'_>, Diagnostic> {
    let receiving_bankgiro = rec.digits(3, 12, "receiving bankgiro number")?;
    let currency = Some(rec.field(23, 25).trim()).filter(|c| !c.is_empty());
    Ok(Deposit {
        opening: rec.line,
        receiving_bankgiro,
        currency,
        entries: Vec::new(),
        net: 0,
    })
}

fn entry(rec: Rec<'_>) -> Result<Entry<'_>, Diagnostic> {
    let sender_bankgiro = rec.digits(3, 12, "sender's bankgiro number")?;
    let amount = to_number(rec.digits(38, 55, "amount")?);
    let reference_code = to_number(rec.digits(56, 56, "reference code")?);
    rec.digits(57, 57, "payment channel code")?;
    let serial = rec.digits(58, 69, "BGC serial number")?;
    let amount = i64::try_from(amount).map_err(|_| {
        rec.problem(
            code::BAD_RECORD,
            format!("the amount (positions 38–55) {amount} öre is too large"),
        )
    })?;
    Ok(Entry {
        line: rec.line,
        deduction: rec.field(1, 2) == "21",
        sender_bankgiro,
        reference: rec.field(13, 37),
        reference_code: u8::try_from(reference_code).unwrap_or(u8::MAX),
        amount,
        serial,
        extra_references: 0,
        information: Vec::new(),
        name: None,
    })
}

/// The problem with a record that is not expected where it is.
fn out_of_place(rec: Rec<'_>, deposit: Option<&Deposit<'_>>) -> Diagnostic {
    let record_type = rec.field(1, 2);
    let message = match (record_type, deposit) {
        ("01", _) => "a second start record (01); a BgMax file holds one".to_owned(),
        ("05", Some(d)) => format!(
            "a new deposit (05) starts before the deposit opened at record {} has its deposit record (15)",
            d.opening
        ),
        ("70", Some(d)) => format!(
            "the end record (70) comes before the deposit opened at record {} has its deposit record (15)",
            d.opening
        ),
        ("15" | "20" | "21" | "22" | "23" | "25" | "26" | "27" | "28" | "29", None) => format!(
            "a {record_type} record outside a deposit: a deposit starts with an opening record (05)"
        ),
        _ => format!("record type `{record_type}` is not a BgMax record type"),
    };
    rec.problem(code::BAD_RECORD, message)
}

/// Formats öre that may exceed `i64` or be negative.
fn format_wide_minor(minor: i128) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

fn one(diagnostic: Diagnostic) -> Vec<Diagnostic> {
    vec![diagnostic]
}

/// The value of a string of at most 19 ASCII digits (checked by the caller).
fn to_number(digits: &str) -> u64 {
    digits.bytes().fold(0u64, |n, b| {
        n.saturating_mul(10)
            .saturating_add(u64::from(b.wrapping_sub(b'0')))
    })
}

/// One record (at most 80 characters) and its line number.
#[derive(Debug, Clone, Copy)]
struct Rec<'t> {
    line: u64,
    text: &'t str,
}

impl<'t> Rec<'t> {
    /// Characters `from..=to` (1-based, as Bankgirot's manual counts them); shorter or empty
    /// when the record's trailing blanks were trimmed.
    fn field(&self, from: usize, to: usize) -> &'t str {
        let start = self.byte_at(from.saturating_sub(1));
        let end = self.byte_at(to).max(start);
        self.text.get(start..end).unwrap_or_default()
    }

    /// The byte offset of character `index`, or the end of the text.
    fn byte_at(&self, index: usize) -> usize {
        if self.text.is_ascii() {
            index.min(self.text.len())
        } else {
            self.text
                .char_indices()
                .nth(index)
                .map_or(self.text.len(), |(b, _)| b)
        }
    }

    fn problem(&self, code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::at(Position::Record(self.line), code, message)
    }

    /// A field that must be all digits.
    fn digits(&self, from: usize, to: usize, what: &str) -> Result<&'t str, Diagnostic> {
        let field = self.field(from, to);
        let width = to + 1 - from;
        if field.len() == width && field.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(field);
        }
        let length = self.text.chars().count();
        let message = if length < to {
            format!(
                "the record ends at position {length}, before the end of the {what} (positions {from}–{to}); the file was cut off or edited"
            )
        } else {
            format!("the {what} (positions {from}–{to}) is `{field}`; it must be {width} digits")
        };
        Err(self.problem(code::BAD_RECORD, message))
    }

    /// A field that must be a real date, `YYYYMMDD` (years 1900–2199, as validation takes
    /// them). `20260231` is a damaged record, which rejects the whole file like a field that
    /// is not digits: a bank file is trusted only whole.
    fn date(&self, from: usize, to: usize, what: &str) -> Result<&'t str, Diagnostic> {
        let digits = self.digits(from, to, what)?;
        let part = |range: std::ops::Range<usize>| -> Option<u32> {
            digits.get(range).and_then(|p| p.parse().ok())
        };
        let real = match (part(0..4), part(4..6), part(6..8)) {
            (Some(year), Some(month), Some(day)) if (1900..=2199).contains(&year) => {
                i32::try_from(year)
                    .ok()
                    .and_then(|year| chrono::NaiveDate::from_ymd_opt(year, month, day))
                    .is_some()
            }
            _ => false,
        };
        if real {
            Ok(digits)
        } else {
            Err(self.problem(
                code::BAD_RECORD,
                format!(
                    "the {what} (positions {from}–{to}) is `{digits}`, which is not a date (YYYYMMDD); the file is damaged or was edited: ask Bankgirot for it again"
                ),
            ))
        }
    }
}

/// The records of the text, one per line (LF or CRLF). Blank lines are passed over but keep
/// their number, so a record number is the line an editor shows.
struct Records<'t> {
    lines: std::iter::Enumerate<std::str::Split<'t, char>>,
}

impl<'t> Records<'t> {
    fn new(text: &'t str) -> Self {
        Records {
            lines: text.split('\n').enumerate(),
        }
    }

    fn next_record(&mut self) -> Result<Option<Rec<'t>>, Diagnostic> {
        for (index, line) in self.lines.by_ref() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            // Blank lines and a DOS end-of-file mark (Ctrl-Z) are not records.
            if line
                .chars()
                .all(|c| matches!(c, ' ' | '\t' | '\r' | '\u{1a}'))
            {
                continue;
            }
            let line_no = index as u64 + 1;
            // Trailing blanks are optional: Bankgirot pads to 80, copies are often trimmed.
            let text = line.trim_end_matches(' ');
            let length = text.chars().count();
            if length > RECORD_LEN {
                return Err(Diagnostic::at(
                    Position::Record(line_no),
                    code::BAD_RECORD,
                    format!(
                        "the record is {length} characters long; BgMax records are at most 80 characters, one per line: the file was re-wrapped or edited"
                    ),
                ));
            }
            return Ok(Some(Rec {
                line: line_no,
                text,
            }));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{parse_amount, to_minor};
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn sample() -> Vec<u8> {
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/public/bgmax-bankgirot-example.txt"
        ))
        .unwrap()
    }

    fn lines_of(bytes: &[u8]) -> Vec<String> {
        String::from_utf8(bytes.to_vec())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn join(lines: &[String]) -> Vec<u8> {
        let mut text = lines.join("\n");
        text.push('\n');
        text.into_bytes()
    }

    /// Pads line `index` (0-based) to 80 characters and replaces characters from `from` (1-based).
    fn patch(lines: &mut [String], index: usize, from: usize, text: &str) {
        let mut chars: Vec<char> = lines[index].chars().collect();
        chars.resize(RECORD_LEN.max(chars.len()), ' ');
        for (i, c) in text.chars().enumerate() {
            chars[from - 1 + i] = c;
        }
        lines[index] = chars.into_iter().collect();
    }

    fn minor(record: &RawRecord) -> i64 {
        to_minor(parse_amount(record.get("amount").unwrap(), '.').unwrap()).unwrap()
    }

    fn column<'r>(records: &'r [RawRecord], name: &str) -> Vec<Option<&'r str>> {
        records.iter().map(|r| r.get(name)).collect()
    }

    fn problems(bytes: &[u8]) -> Vec<Diagnostic> {
        parse_bgmax(bytes).unwrap_err()
    }

    #[test]
    fn the_public_example_holds_two_deposits_of_1900_and_8000_sek() {
        let parsed = parse_bgmax(&sample()).unwrap();
        assert_eq!(parsed.kind, FileKind::Payments);
        assert!(parsed.diagnostics.is_empty());
        assert_eq!(parsed.skipped, 0);
        assert_eq!(parsed.decimal_separator, '.');
        let records = &parsed.records;
        // 6 payment records (20) and 1 deduction record (21), in file order.
        let positions: Vec<Position> = records.iter().map(RawRecord::position).collect();
        let expected_positions = [3, 8, 13, 25, 30, 35, 40].map(Position::Record);
        assert_eq!(positions, expected_positions);
        assert_eq!(
            column(records, "amount"),
            [
                "1000.00", "-500.00", "1400.00", "1100.00", "1200.00", "700.00", "5000.00"
            ]
            .map(Some)
        );
        // Deposit 1 (serial 00074): 1000 − 500 + 1400 = 1900; deposit 2 (00075): 8000.
        let first: i64 = records[..3].iter().map(minor).sum();
        let second: i64 = records[3..].iter().map(minor).sum();
        assert_eq!((first, second), (190_000, 800_000));
        assert_eq!(
            column(records, "reference"),
            [
                Some("655969"), // code 2, OCR
                Some("89853"),  // code 3, one reference written by the payer
                None,           // code 3, three references and four 22 records
                Some("650861"),
                None, // code 1, no reference
                Some("659763"),
                Some("658260"), // code 2, with two extra references
            ]
        );
        assert_eq!(
            column(records, "payment_id"),
            [
                "0009912346-20040525-000000000010",
                "0009912346-20040525-000230000111",
                "0009912346-20040525-000000000014",
                "0009912346-20040525-000000000012",
                "0009912346-20040525-000000000013",
                "0009912346-20040525-000000000016",
                "0009912346-20040525-000000000016-2",
            ]
            .map(Some)
        );
        assert_eq!(
            column(records, "payer_name"),
            [
                "Kalles Plåt AB",
                "Kalles Plåt AB",
                "Kalles Plåt AB",
                "Olles färg AB",
                "Berits Garn",
                "Berits Garn",
                "Kalles Plåt AB",
            ]
            .map(Some)
        );
        assert_eq!(
            column(records, "payer_account"),
            [
                "3783511", "3783511", "3783511", "9701233", "1234567", "1234567", "3783511"
            ]
            .map(Some)
        );
        for record in records {
            assert_eq!(record.get("kind"), Some("bank"));
            assert_eq!(record.get("currency"), Some("SEK"));
            assert_eq!(record.get("payment_date"), Some("2004-05-25"));
        }
    }

    #[test]
    fn iso_8859_1_padded_crlf_and_trimmed_forms_read_the_same() {
        let expected = parse_bgmax(&sample()).unwrap();
        let lines = lines_of(&sample());

        let text = String::from_utf8(sample()).unwrap();
        let (latin1, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&text);
        assert!(!unmappable);
        assert!(std::str::from_utf8(&latin1).is_err());
        assert_eq!(parse_bgmax(&latin1).unwrap(), expected);

        let padded: Vec<String> = lines.iter().map(|l| format!("{l:<80}")).collect();
        assert_eq!(
            parse_bgmax(padded.join("\r\n").as_bytes()).unwrap(),
            expected
        );

        let trimmed: Vec<String> = lines.iter().map(|l| l.trim_end().to_owned()).collect();
        assert_eq!(parse_bgmax(&join(&trimmed)).unwrap(), expected);
    }

    #[test]
    fn deposit_records_are_checked() {
        let mut lines = lines_of(&sample());
        patch(&mut lines, 22, 51, "000000000000180000");
        let found = problems(&join(&lines));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].code, code::BAD_CONTROL_TOTAL);
        assert_eq!(found[0].position, Position::Record(23));
        assert!(found[0].message.contains("1800.00 SEK"), "{found:?}");
        assert!(found[0].message.contains("1900.00 SEK"), "{found:?}");

        let mut lines = lines_of(&sample());
        patch(&mut lines, 48, 72, "00000005");
        let found = problems(&join(&lines));
        assert_eq!(found[0].code, code::BAD_CONTROL_TOTAL);
        assert_eq!(found[0].position, Position::Record(49));
        assert!(found[0].message.contains("says 5 payments"), "{found:?}");
        assert!(found[0].message.contains("holds 4"), "{found:?}");

        // A deduction counted as a payment is caught by the amount.
        let mut lines = lines_of(&sample());
        patch(&mut lines, 7, 1, "20");
        let found = problems(&join(&lines));
        assert_eq!(found[0].code, code::BAD_CONTROL_TOTAL);
        assert!(found[0].message.contains("2900.00"), "{found:?}");
    }

    #[test]
    fn a_payment_date_that_is_not_a_date_rejects_the_file() {
        for date in ["20040231", "20041301", "18991231", "20040500"] {
            let mut lines = lines_of(&sample());
            patch(&mut lines, 22, 38, date);
            let found = problems(&join(&lines));
            assert_eq!(found.len(), 1, "{found:?}");
            assert_eq!(found[0].code, code::BAD_RECORD);
            assert_eq!(found[0].position, Position::Record(23));
            assert!(
                found[0].message.contains("payment date") && found[0].message.contains(date),
                "{found:?}"
            );
        }
        let mut lines = lines_of(&sample());
        patch(&mut lines, 22, 38, "20040229");
        assert!(parse_bgmax(&join(&lines)).is_ok(), "2004 is a leap year");
    }

    #[test]
    fn every_count_of_the_end_record_is_checked() {
        for (from, words) in [
            (3, "7 payment records (20), but the file holds 6"),
            (11, "7 deduction records (21), but the file holds 1"),
            (
                19,
                "7 extra reference records (22 and 23), but the file holds 6",
            ),
            (27, "7 deposit records (15), but the file holds 2"),
        ] {
            let mut lines = lines_of(&sample());
            patch(&mut lines, 49, from, "00000007");
            let found = problems(&join(&lines));
            assert_eq!(found.len(), 1, "{found:?}");
            assert_eq!(found[0].code, code::BAD_CONTROL_TOTAL);
            assert_eq!(found[0].position, Position::Record(50));
            assert!(found[0].message.contains(words), "{words}: {found:?}");
        }
    }

    #[test]
    fn a_file_without_its_end_record_is_incomplete() {
        let lines = lines_of(&sample());
        for keep in [49, 48, 23, 3, 1] {
            let found = problems(&join(&lines[..keep]));
            assert_eq!(found[0].code, code::INCOMPLETE_FILE, "{keep}: {found:?}");
            assert_eq!(found[0].position, Position::File);
        }
        assert_eq!(problems(b"")[0].code, code::EMPTY_FILE);
        assert_eq!(problems(b" \r\n\n")[0].code, code::EMPTY_FILE);
    }

    #[test]
    fn a_test_file_is_never_applied() {
        let mut lines = lines_of(&sample());
        patch(&mut lines, 0, 45, "T");
        let found = problems(&join(&lines));
        assert_eq!(found[0].code, code::BAD_VALUE);
        assert_eq!(found[0].position, Position::Record(1));
        assert!(found[0].message.contains("test file"));
    }

    #[test]
    fn records_out_of_place_reject_the_file() {
        let base = lines_of(&sample());
        let bad_record = |lines: Vec<String>, position: u64, words: &str| {
            let found = problems(&join(&lines));
            assert_eq!(found[0].code, code::BAD_RECORD, "{found:?}");
            assert_eq!(found[0].position, Position::Record(position));
            assert!(found[0].message.contains(words), "{words}: {found:?}");
        };

        let mut long = base.clone();
        long[10] = format!("{:<80}x", long[10]);
        bad_record(long, 11, "81 characters");

        let mut unknown = base.clone();
        unknown[10].replace_range(0..2, "99");
        bad_record(unknown, 11, "`99` is not a BgMax record type");

        let mut orphan = base.clone();
        orphan.insert(24, base[13].clone());
        bad_record(orphan, 25, "must follow the payment");

        let mut outside = base.clone();
        outside.insert(1, base[2].clone());
        bad_record(outside, 2, "outside a deposit");

        let mut unclosed = base.clone();
        unclosed.remove(22);
        bad_record(unclosed, 23, "before the deposit opened at record 2");

        let mut after_end = base.clone();
        after_end.push(base[1].clone());
        bad_record(after_end, 51, "follows the end record");

        let mut second_start = base.clone();
        second_start.insert(23, base[0].clone());
        bad_record(second_start, 24, "second start record");

        let mut not_bgmax = base.clone();
        not_bgmax[0] = "NY000010".to_owned();
        bad_record(not_bgmax, 1, "not a BgMax start record");

        let mut version = base.clone();
        version[0].replace_range(22..24, "02");
        bad_record(version, 1, "version 02");

        let mut letters = base.clone();
        letters[2].replace_range(40..41, "x");
        bad_record(letters, 3, "amount (positions 38–55)");

        let mut short = base.clone();
        short[2].truncate(50);
        bad_record(short, 3, "ends at position 50");

        let mut currency = base.clone();
        patch(&mut currency, 22, 69, "EUR");
        bad_record(currency, 23, "says SEK");
    }

    #[test]
    fn the_currency_comes_from_the_deposit_or_its_opening_record() {
        let mut lines = lines_of(&sample());
        patch(&mut lines, 22, 69, "   ");
        patch(&mut lines, 1, 23, "   ");
        let parsed = parse_bgmax(&join(&lines)).unwrap();
        // Deposit 1 has neither: SEK, Bankgirot's currency; deposit 2 says SEK in both.
        assert!(
            parsed
                .records
                .iter()
                .all(|r| r.get("currency") == Some("SEK"))
        );
    }

    #[test]
    fn references_by_code_and_from_information_texts() {
        let base = lines_of(&sample());
        // Berits Garn's payment without reference (code 1), with a note in a 25 record.
        let mut lines = base.clone();
        lines.insert(30, format!("{:<80}", "25Faktura nr 659999"));
        let parsed = parse_bgmax(&join(&lines)).unwrap();
        assert_eq!(parsed.records[4].get("reference"), Some("659999"));

        // Two notes naming two invoices: no single reference.
        lines.insert(31, format!("{:<80}", "25Faktura nr 659998"));
        let parsed = parse_bgmax(&join(&lines)).unwrap();
        assert_eq!(parsed.records[4].get("reference"), None);

        // Code 5 (incorrect OCR reference) is still the payer's reference.
        let mut lines = base.clone();
        patch(&mut lines, 2, 56, "5");
        let parsed = parse_bgmax(&join(&lines)).unwrap();
        assert_eq!(parsed.records[0].get("reference"), Some("655969"));

        // Code 0 and 1: the field is not a reference.
        patch(&mut lines, 2, 56, "0");
        let parsed = parse_bgmax(&join(&lines)).unwrap();
        assert_eq!(parsed.records[0].get("reference"), None);
    }

    #[test]
    fn a_reference_is_found_in_free_text_only_when_there_is_exactly_one() {
        let cases = [
            ("64002", Some("64002")),
            ("658 369", None),
            ("657866 658765 657767", None),
            ("Faktura 658369:", Some("658369")),
            ("Faktnr: 63600", Some("63600")),
            ("RF18539007547034", Some("RF18539007547034")),
            ("657866 658765 657767 x", None),
            ("KUNDNR 4325 FAKTURA 6389", None),
            ("Betalning", None),
            ("", None),
            ("   ", None),
        ];
        for (text, expected) in cases {
            assert_eq!(reference_in_text(text).as_deref(), expected, "{text}");
        }
    }

    // ----- generated files -----

    #[derive(Debug, Clone)]
    struct Generated {
        deduction: bool,
        sender: u64,
        reference: String,
        reference_code: u8,
        amount: u64,
        name: Option<String>,
        extra: Vec<String>,
        information: Vec<String>,
        trim: bool,
    }

    #[derive(Debug, Clone)]
    struct GeneratedDeposit {
        bankgiro: u64,
        date: (u16, u8, u8),
        entries: Vec<Generated>,
    }

    fn generated() -> impl Strategy<Value = Generated> {
        (
            any::<bool>(),
            0u64..10_000_000_000,
            "[0-9]{0,25}",
            0u8..=5,
            1u64..1_000_000_000_000,
            proptest::option::of("[A-Za-zÅÄÖåäö]{1,11}( [A-Za-zÅÄÖåäö&]{1,11}){0,2}"),
            proptest::collection::vec("[0-9]{1,25}", 0..3),
            proptest::collection::vec("[A-Za-zåäö ]{0,50}", 0..2),
            any::<bool>(),
        )
            .prop_map(
                |(
                    deduction,
                    sender,
                    reference,
                    reference_code,
                    amount,
                    name,
                    extra,
                    information,
                    trim,
                )| {
                    Generated {
                        deduction,
                        sender,
                        reference,
                        reference_code,
                        amount,
                        name,
                        extra,
                        information,
                        trim,
                    }
                },
            )
    }

    fn deposits() -> impl Strategy<Value = Vec<GeneratedDeposit>> {
        let deposit = (
            1u64..10_000_000_000,
            (1990u16..=2099, 1u8..=12, 1u8..=28),
            proptest::collection::vec(generated(), 1..8),
        )
            .prop_map(|(bankgiro, date, mut entries)| {
                // A deposit's amount is never negative.
                let net: i128 = entries
                    .iter()
                    .map(|e| i128::from(e.amount) * if e.deduction { -1 } else { 1 })
                    .sum();
                if net < 0 {
                    entries.iter_mut().for_each(|e| e.deduction = false);
                }
                GeneratedDeposit {
                    bankgiro,
                    date,
                    entries,
                }
            });
        proptest::collection::vec(deposit, 1..4)
    }

    fn serial(deposit: usize, entry: usize) -> u64 {
        (deposit as u64 + 1) * 1000 + entry as u64
    }

    /// Renders deposits as Bankgirot would, in ISO-8859-1, with correct totals.
    fn render(deposits: &[GeneratedDeposit]) -> Vec<String> {
        let mut lines = vec![format!(
            "01{:<20}0120040525173035010331P{}",
            "BGMAX",
            " ".repeat(35)
        )];
        let (mut payments, mut deductions, mut extras) = (0, 0, 0);
        for (d, deposit) in deposits.iter().enumerate() {
            lines.push(format!(
                "05{:010}{}SEK{}",
                deposit.bankgiro,
                " ".repeat(10),
                " ".repeat(55)
            ));
            let mut net: i128 = 0;
            for (e, entry) in deposit.entries.iter().enumerate() {
                let serial = serial(d, e);
                let (kind, tail) = if entry.deduction {
                    deductions += 1;
                    net -= i128::from(entry.amount);
                    ("21", format!("0{}", " ".repeat(9)))
                } else {
                    payments += 1;
                    net += i128::from(entry.amount);
                    ("20", " ".repeat(10))
                };
                lines.push(format!(
                    "{kind}{:010}{:>25}{:018}{}2{serial:012}0{tail}",
                    entry.sender, entry.reference, entry.amount, entry.reference_code
                ));
                for extra in &entry.extra {
                    extras += 1;
                    lines.push(format!(
                        "22{:010}{extra:>25}{:018}22{serial:012}0{}",
                        entry.sender,
                        0,
                        " ".repeat(10)
                    ));
                }
                for text in &entry.information {
                    lines.push(format!("25{text:<50}{}", " ".repeat(28)));
                }
                if let Some(name) = &entry.name {
                    lines.push(format!("26{name:<35}{}", " ".repeat(43)));
                }
                lines.push(format!(
                    "27{:<35}{:<9}{}",
                    "Storgatan 2",
                    "12345",
                    " ".repeat(34)
                ));
                if entry.trim {
                    let last = lines.len() - 1;
                    lines[last] = lines[last].trim_end().to_owned();
                }
            }
            let (y, m, day) = deposit.date;
            lines.push(format!(
                "15{:035}{y:04}{m:02}{day:02}{:05}{net:018}SEK{:08} ",
                5_841_000_001_009_823u64,
                d + 1,
                deposit.entries.len()
            ));
        }
        lines.push(format!(
            "70{payments:08}{deductions:08}{extras:08}{:08}{}",
            deposits.len(),
            " ".repeat(46)
        ));
        lines
    }

    fn latin1(lines: &[String]) -> Vec<u8> {
        let text = String::from_utf8(join(lines)).unwrap();
        encoding_rs::WINDOWS_1252.encode(&text).0.into_owned()
    }

    proptest! {
        #[test]
        fn generated_files_read_back_as_generated(deposits in deposits()) {
            let parsed = parse_bgmax(&latin1(&render(&deposits))).unwrap();
            let expected: Vec<(usize, usize, &GeneratedDeposit, &Generated)> = deposits
                .iter()
                .enumerate()
                .flat_map(|(d, deposit)| {
                    deposit.entries.iter().enumerate().map(move |(e, entry)| (d, e, deposit, entry))
                })
                .collect();
            prop_assert_eq!(parsed.records.len(), expected.len());
            for (record, (d, e, deposit, entry)) in parsed.records.iter().zip(expected) {
                let (y, m, day) = deposit.date;
                let id = format!("{:010}-{y:04}{m:02}{day:02}-{:012}", deposit.bankgiro, serial(d, e));
                prop_assert_eq!(record.get("payment_id"), Some(id.as_str()));
                let amount = i64::try_from(entry.amount).unwrap();
                prop_assert_eq!(minor(record), if entry.deduction { -amount } else { amount });
                let date = format!("{y:04}-{m:02}-{day:02}");
                prop_assert_eq!(record.get("payment_date"), Some(date.as_str()));
                prop_assert_eq!(record.get("currency"), Some("SEK"));
                prop_assert_eq!(record.get("kind"), Some("bank"));
                let reference = match entry.reference_code {
                    0 | 1 => None,
                    _ => Some(entry.reference.as_str()).filter(|r| !r.is_empty()),
                };
                prop_assert_eq!(record.get("reference"), reference);
                prop_assert_eq!(record.get("payer_name"), entry.name.as_deref());
                let account = format!("{}", entry.sender);
                let account = Some(account.as_str()).filter(|_| entry.sender != 0);
                prop_assert_eq!(record.get("payer_account"), account);
            }
            let ids: HashSet<_> = parsed.records.iter().map(|r| r.get("payment_id")).collect();
            prop_assert_eq!(ids.len(), parsed.records.len());
        }

        #[test]
        fn a_wrong_count_or_total_is_a_bad_control_total(
            deposits in deposits(),
            which in any::<prop::sample::Index>(),
            field in 0usize..6,
            delta in 1u64..1000,
        ) {
            let mut lines = render(&deposits);
            let (index, from, width) = if field < 2 {
                let deposit_lines: Vec<usize> = (0..lines.len()).filter(|i| lines[*i].starts_with("15")).collect();
                let index = deposit_lines[which.index(deposit_lines.len())];
                if field == 0 { (index, 51, 18) } else { (index, 72, 8) }
            } else {
                (lines.len() - 1, 3 + (field - 2) * 8, 8)
            };
            let old: u64 = lines[index][from - 1..from - 1 + width].parse().unwrap();
            let modulus = 10u64.pow(u32::try_from(width).unwrap());
            let new = format!("{:0width$}", (old + delta) % modulus);
            lines[index].replace_range(from - 1..from - 1 + width, &new);
            let found = parse_bgmax(&latin1(&lines)).unwrap_err();
            prop_assert!(found.iter().all(|p| p.code == code::BAD_CONTROL_TOTAL), "{:?}", found);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let _ = parse_bgmax(&bytes);
            let mut prefixed = b"01BGMAX               01".to_vec();
            prefixed.extend(&bytes);
            let _ = parse_bgmax(&prefixed);
        }

        #[test]
        fn arbitrary_text_never_panics(text in "(0[15]|15|2[0-9]|70|\\PC){0,40}(\n(0[15]|1[5]|2[0-9]|70)\\PC{0,90}){0,30}") {
            let _ = parse_bgmax(text.as_bytes());
            let _ = parse_bgmax(format!("01BGMAX               0120040525173035010331P\n{text}").as_bytes());
        }

        #[test]
        fn damaged_files_never_panic(
            deposits in deposits(),
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
            cut in any::<prop::sample::Index>(),
        ) {
            let bytes = latin1(&render(&deposits));
            let mut damaged = bytes.clone();
            let i = at.index(damaged.len());
            damaged[i] = byte;
            let _ = parse_bgmax(&damaged);
            // Cut inside the end record's counts or earlier: always rejected.
            let cut = cut.index(bytes.len() - 47);
            prop_assert!(parse_bgmax(&bytes[..cut]).is_err());
        }
    }
}
