//! Nets OCR giro (Norway): 80-character records → bank payment records, control totals checked.
//!
//! The file is one transmission (`NY000010` … `NY000089`) of assignments (`NY090020` …
//! `NY090088`), each holding transactions of two or three records: amount item 1 (record type
//! 30: date, amount, KID), amount item 2 (31: form number, archive reference, the payer's bank
//! date, debit account) and, for transaction types 20 and 21 only, amount item 3 (32: free text).
//!
//! The reader ([`ocr_giro_transactions`]) is an iterator over any [`BufRead`]: it reads one
//! record at a time into a reused 80-byte buffer and holds one assignment's running totals,
//! never the file's records, so a 2 000 000-record file is read in memory that does not grow
//! with it (only the set of assignments seen, 16 bytes per assignment, does). Every end record
//! is checked when it is reached, so a caller that applies transactions must wait until the
//! iterator has ended without an `Err`: a broken total at the end rejects the whole file,
//! including the transactions already yielded. [`parse_ocr_giro`] does exactly that and
//! collects the records; [`verify_ocr_giro`] checks a whole file without keeping anything, as a
//! pre-pass before the file is read again and applied as it streams.
//!
//! Transaction types (positions 5–6 of the amount items) and what they mean for the payee:
//!
//! | type | Nets name | what happened |
//! |---|---|---|
//! | 10 | giro belastet konto | an OCR giro form paid from a bank account (the payer's bank debited the account) |
//! | 11 | faste oppdrag | a standing order the payer set up in the bank |
//! | 12 | direkte remittering | direct remittance: a company's payment file sent through its bank |
//! | 13 | BTG (bedriftsterminalgiro) | business terminal giro: a company's payment from its bank terminal / corporate netbank |
//! | 14 | skrankegiro | counter giro: paid over the counter of a bank or post office |
//! | 15 | AvtaleGiro | direct debit under the payer's AvtaleGiro mandate |
//! | 16 | TeleGiro | paid through a bank's telephone giro (TeleGiro) service |
//! | 17 | giro betalt kontant | an OCR giro form paid in cash |
//! | 18 | reversering med KID | a card transaction with KID taken back (sign `-`) |
//! | 19 | kjøp med KID | a card transaction (payment terminal, online shop) carrying a KID |
//! | 20 | reversering med fritekst | as 18, with free text in amount item 3 instead of (or besides) a KID |
//! | 21 | kjøp med fritekst | as 19, with free text in amount item 3 |
//!
//! All types become bank payments; the type only decides whether amount item 3 may follow.
//! The amount's sign field (position 32, `-` for negative) makes a reversal a negative amount.
//! The end records' sums add the amount fields as written (unsigned), which is how Nets and
//! the systems that imitate its format total them: a reversal is not deducted.
//!
//! AvtaleGiro assignments (service code 21: the payee's list of new and deleted AvtaleGiro
//! mandates) may share a transmission with OCR giro assignments. They carry no payments: their
//! counts are checked and added to the transmission's, and their entries are counted as
//! `skipped` in the receipt.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::io::{self, BufRead, Read};

use crate::diagnostic::{Diagnostic, Position, code};
use crate::domain::FileKind;
use crate::ingest::detect::UTF8_BOM;
use crate::ingest::parse::bgmax::reference_in_text;
use crate::ingest::parse::{ParsedFile, RawRecord};
use crate::money::format_minor;

/// Every OCR giro record is this long.
const RECORD_LEN: usize = 80;
/// How many bytes at the start of a file decide how its records are separated (see
/// [`Layout::of`]). Enough to see the line end of any first line an editor could have padded,
/// and a fixed amount, so the reader's memory does not depend on the file.
const HEAD_LEN: usize = 64 * 1024;
/// The service code of OCR giro assignments and their amount items.
const SERVICE_OCR_GIRO: &[u8] = b"09";
/// The service code of AvtaleGiro, whose mandate lists may share the transmission.
const SERVICE_AVTALEGIRO: &[u8] = b"21";
/// The meaning of an OCR giro transaction type (see the table in the module documentation),
/// `None` for a number that is not one.
pub fn transaction_type_meaning(transaction_type: u8) -> Option<&'static str> {
    Some(match transaction_type {
        10 => "giro debited account",
        11 => "standing order",
        12 => "direct remittance",
        13 => "business terminal giro",
        14 => "counter giro",
        15 => "AvtaleGiro",
        16 => "TeleGiro",
        17 => "giro paid in cash",
        18 => "reversal with KID",
        19 => "purchase with KID",
        20 => "reversal with free text",
        21 => "purchase with free text",
        _ => return None,
    })
}

/// A date written `DDMMYY` by Nets. Two-digit years 70–99 are 1970–1999 (the public sample
/// of Nets' manual is from 1992) and 00–69 are 2000–2069. Only real calendar dates are dates:
/// `310226` (31 February) in a bank file is a damaged record, which rejects the whole file
/// like any other field that is not what it must be (a bank file is trusted only whole).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NetsDate {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl NetsDate {
    /// `YYYY-MM-DD`.
    pub fn iso(self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// `YYYYMMDD`, for identifiers.
    pub fn compact(self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }

    fn from_ddmmyy(digits: &[u8]) -> Option<NetsDate> {
        let two = |i: usize| -> Option<u8> {
            let tens = digits.get(i).filter(|b| b.is_ascii_digit())? - b'0';
            let ones = digits.get(i + 1).filter(|b| b.is_ascii_digit())? - b'0';
            Some(tens * 10 + ones)
        };
        if digits.len() != 6 {
            return None;
        }
        let yy = u16::from(two(4)?);
        let date = NetsDate {
            year: if yy < 70 { 2000 + yy } else { 1900 + yy },
            month: two(2)?,
            day: two(0)?,
        };
        chrono::NaiveDate::from_ymd_opt(
            i32::from(date.year),
            u32::from(date.month),
            u32::from(date.day),
        )
        .map(|_| date)
    }
}

impl fmt::Display for NetsDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.iso())
    }
}

/// One OCR giro transaction: its amount items 1, 2 and (types 20 and 21) 3, with the
/// assignment it belongs to. It owns its text (a few short strings), so the reader can reuse
/// its buffer for the next record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcrTransaction {
    /// The physical record (line) number of amount item 1, 1-based.
    pub record: u64,
    /// The assignment's agreement ID (9 digits, start record positions 9–17).
    pub agreement_id: String,
    /// The assignment number (7 digits, positions 18–24).
    pub assignment_number: String,
    /// The payee's account the assignment was credited to (11 digits, positions 25–35).
    pub assignment_account: String,
    /// 10–21, see [`transaction_type_meaning`].
    pub transaction_type: u8,
    /// The transaction number (7 digits), ascending within the assignment.
    pub transaction_number: String,
    /// The Nets date (settlement) of amount item 1.
    pub nets_date: NetsDate,
    /// The amount in øre, negative when the sign field says `-`.
    pub amount_minor: i64,
    /// The KID, leading spaces removed; empty when the payer gave none.
    pub kid: String,
    /// Amount item 2: the form number (10 digits; zeros for electronic payments).
    pub form_number: String,
    /// Amount item 2: the archive reference the bank gave the payment (9 positions).
    pub archive_reference: String,
    /// Amount item 2: the date the payer's bank handled the payment; `None` when zeros.
    pub bank_date: Option<NetsDate>,
    /// Amount item 2: the debited account (11 digits); `None` when zeros or blank.
    pub debit_account: Option<String>,
    /// Amount item 3 (types 20 and 21): the free text, trimmed; `None` when absent or blank.
    pub free_text: Option<String>,
}

impl OcrTransaction {
    /// The stable, unique payment id: `agreement-assignment-transaction-YYYYMMDD`.
    ///
    /// Nets numbers assignments per agreement and transactions in ascending order within an
    /// assignment, so agreement ID + assignment number + transaction number names one
    /// transaction; the Nets date guards against an assignment number being reused years
    /// later. All four are Nets' own data, so a file delivered again (or rebuilt by Nets)
    /// gives the same ids. The archive reference is not used: it is not unique (transactions
    /// 9 and 12 of the public sample share `001020169`).
    pub fn payment_id(&self) -> String {
        format!(
            "{}-{}-{}-{}",
            self.agreement_id,
            self.assignment_number,
            self.transaction_number,
            self.nets_date.compact()
        )
    }

    /// The payment as a raw record with canonical columns.
    pub fn to_raw_record(&self) -> RawRecord {
        let mut record = RawRecord::new(Position::Record(self.record));
        record.set("payment_id", self.payment_id());
        record.set("kind", "bank");
        let kid: String = self.kid.chars().filter(|c| *c != ' ').collect();
        let reference = if kid.is_empty() {
            // Types 20 and 21 may carry the reference in the free text instead of a KID.
            self.free_text.as_deref().and_then(reference_in_text)
        } else {
            Some(kid)
        };
        if let Some(reference) = reference {
            record.set("reference", reference);
        }
        record.set("amount", format_minor(self.amount_minor, '.'));
        record.set("currency", "NOK");
        record.set("payment_date", self.nets_date.iso());
        if let Some(account) = &self.debit_account {
            record.set("payer_account", account.as_str());
        }
        record
    }
}

/// Reads an OCR giro file into payment records. `Err` when the file cannot be trusted as a
/// whole: a record of the wrong length or type, records out of order, a missing end record,
/// or an end record whose counts, sum or dates differ from the transactions.
pub fn parse_ocr_giro(bytes: &[u8]) -> Result<ParsedFile, Vec<Diagnostic>> {
    let mut reader = ocr_giro_transactions(bytes);
    let mut records = Vec::new();
    for transaction in reader.by_ref() {
        records.push(transaction?.to_raw_record());
    }
    Ok(ParsedFile {
        kind: FileKind::Payments,
        records,
        diagnostics: Vec::new(),
        skipped: reader.skipped(),
        decimal_separator: '.',
    })
}

/// The transactions of an OCR giro file, read incrementally from `input` (a `&[u8]`, or a
/// `BufReader` around a file or a stream). The iterator ends after the first `Err`; a caller
/// must not apply anything unless the iterator ended without one (or [`verify_ocr_giro`]
/// passed the same bytes first). A failure to read `input` is an `unreadable_file` `Err`.
pub fn ocr_giro_transactions<R: BufRead>(input: R) -> OcrGiroReader<R> {
    OcrGiroReader {
        records: Records::new(input),
        phase: Phase::Start,
        assignment: None,
        transmission: Tally::default(),
        seen_assignments: HashSet::new(),
        skipped: 0,
    }
}

/// Checks a whole OCR giro file in one pass: every record, and every count, sum and date of
/// the end records, as [`ocr_giro_transactions`] does, but without building or keeping the
/// transactions. `Ok` holds the number of payment transactions (AvtaleGiro entries are not
/// counted). Meant as a pre-pass: once it passes, the same bytes can be read again with
/// [`ocr_giro_transactions`] and applied as they stream, because every `Err` that reading
/// could end with has already been ruled out (other than the input failing or changing).
pub fn verify_ocr_giro<R: BufRead>(input: R) -> Result<u64, Vec<Diagnostic>> {
    let mut reader = ocr_giro_transactions(input);
    let mut transactions = 0u64;
    while reader.step()?.is_some() {
        transactions += 1;
    }
    Ok(transactions)
}

/// The incremental reader behind [`ocr_giro_transactions`].
///
/// What it holds does not grow with the number of transactions or records: the 80 bytes of
/// the record being read, at most three records of one transaction, the first 64 KiB of the
/// file (read once to see how its records are separated), the running totals and the
/// `BufRead`'s own buffer. The one exception is the set of assignments seen, which grows by
/// one entry per assignment (not per transaction).
pub struct OcrGiroReader<R: BufRead> {
    records: Records<R>,
    phase: Phase,
    assignment: Option<Assignment>,
    transmission: Tally,
    /// The agreement ID and assignment number of every OCR giro assignment read so far, as
    /// numbers, to reject an assignment that appears twice. This grows with the number of
    /// assignments only (16 bytes and the set's overhead each); a file of 2 000 000
    /// transactions usually has a handful of them.
    seen_assignments: HashSet<(u64, u64)>,
    skipped: u64,
}

impl<R: BufRead> OcrGiroReader<R> {
    /// Entries passed over so far (AvtaleGiro mandate entries).
    pub fn skipped(&self) -> u64 {
        self.skipped
    }
}

impl<R: BufRead> Iterator for OcrGiroReader<R> {
    type Item = Result<OcrTransaction, Vec<Diagnostic>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.phase == Phase::Done {
            return None;
        }
        match self.step() {
            Ok(Some(checked)) => Some(Ok(self.build(checked))),
            Ok(None) => {
                self.phase = Phase::Done;
                None
            }
            Err(diagnostics) => {
                self.phase = Phase::Done;
                Some(Err(diagnostics))
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before the transmission start record.
    Start,
    /// Inside the transmission.
    Transmission,
    /// After the transmission end record: only blank lines may follow.
    Ended,
    /// The iterator has finished (or failed).
    Done,
}

/// Running counts of a transmission or an assignment.
#[derive(Debug, Default)]
struct Tally {
    transactions: u64,
    records: u64,
    /// The amount fields added as written (unsigned), as the end records total them.
    amount: u128,
    first: Option<NetsDate>,
    last: Option<NetsDate>,
}

impl Tally {
    fn add(&mut self, amount: u64, date: Option<NetsDate>) {
        self.transactions += 1;
        self.amount += u128::from(amount);
        if let Some(date) = date {
            self.first = Some(self.first.map_or(date, |d| d.min(date)));
            self.last = Some(self.last.map_or(date, |d| d.max(date)));
        }
    }
}

struct Assignment {
    /// The record number of the start record.
    start: u64,
    /// An AvtaleGiro assignment: counted and passed over.
    avtalegiro: bool,
    agreement_id: String,
    number: String,
    account: String,
    tally: Tally,
    last_transaction: Option<u64>,
}

/// A transaction whose records have passed every check, before its text is decoded: the
/// iterator turns it into an [`OcrTransaction`], [`verify_ocr_giro`] only counts it.
struct Checked {
    item1: Rec,
    item2: Rec,
    item3: Option<Rec>,
    transaction_type: u8,
    nets_date: NetsDate,
    amount_minor: i64,
    bank_date: Option<NetsDate>,
}

/// What a record is, from its service code (positions 3–4) and record type (7–8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    TransmissionStart,
    TransmissionEnd,
    AssignmentStart,
    AssignmentEnd,
    AmountItem1,
    AmountItem2,
    AmountItem3,
    /// Another record type of a Nets service (AvtaleGiro mandates are type 70).
    Other,
}

impl<R: BufRead> OcrGiroReader<R> {
    /// Reads records until a transaction is complete (`Some`), the file has ended properly
    /// (`None`), or it cannot be read (`Err`).
    fn step(&mut self) -> Result<Option<Checked>, Vec<Diagnostic>> {
        loop {
            match self.phase {
                Phase::Done => return Ok(None),
                Phase::Start => {
                    self.transmission_start().map_err(one)?;
                    self.phase = Phase::Transmission;
                }
                Phase::Ended => {
                    // Anything but blank lines after the end record: a second transmission, a
                    // damaged line or padding (NUL bytes from a preallocated or disk-full copy).
                    // Said as what it is, whatever its length.
                    let position = match self.records.next_record() {
                        Ok(None) => return Ok(None),
                        Ok(Some(rec)) => Position::Record(rec.line),
                        Err(d) if d.code == code::BAD_RECORD => d.position,
                        Err(d) => return Err(one(d)),
                    };
                    let message = if self.records.line_is_nul() {
                        "the transmission end record (NY000089) is followed by NUL bytes (padding left by a preallocated or incomplete copy); an OCR giro file ends with its end record: copy the file again, or ask Nets for it again"
                    } else {
                        "a record follows the transmission end record (NY000089); an OCR giro file holds one transmission: remove what follows it or ask Nets for the file again"
                    };
                    return Err(one(Diagnostic::at(position, code::BAD_RECORD, message)));
                }
                Phase::Transmission => {
                    if let Some(transaction) = self.transmission_record()? {
                        return Ok(Some(transaction));
                    }
                }
            }
        }
    }

    /// The transaction with its text decoded and the assignment's identifiers copied in.
    fn build(&self, checked: Checked) -> OcrTransaction {
        let (agreement_id, assignment_number, assignment_account) = match &self.assignment {
            Some(a) => (a.agreement_id.clone(), a.number.clone(), a.account.clone()),
            None => Default::default(),
        };
        let Checked {
            item1,
            item2,
            item3,
            ..
        } = checked;
        OcrTransaction {
            record: item1.line,
            agreement_id,
            assignment_number,
            assignment_account,
            transaction_type: checked.transaction_type,
            transaction_number: text(item1.field(9, 15)),
            nets_date: checked.nets_date,
            amount_minor: checked.amount_minor,
            kid: trimmed(item1.field(50, 74)),
            form_number: text(item2.field(16, 25)),
            archive_reference: text(item2.field(26, 34)),
            bank_date: checked.bank_date,
            debit_account: Some(trimmed(item2.field(48, 58)))
                .filter(|a| !a.is_empty() && a.bytes().any(|b| b != b'0')),
            free_text: item3
                .map(|item3| trimmed(item3.field(16, 55)))
                .filter(|t| !t.is_empty()),
        }
    }

    fn transmission_start(&mut self) -> Result<(), Diagnostic> {
        let Some(rec) = self.records.next_record()? else {
            return Err(Diagnostic::file(
                code::EMPTY_FILE,
                "the file holds no OCR giro records",
            ));
        };
        if !rec.bytes.starts_with(b"NY000010") {
            return Err(rec.problem(
                code::BAD_RECORD,
                "the first record is not a transmission start record (NY000010); an OCR giro file from Nets starts with one",
            ));
        }
        rec.digits(9, 16, "data transmitter")?;
        rec.digits(17, 23, "transmission number")?;
        rec.digits(24, 31, "data recipient")?;
        self.transmission.records = 1;
        Ok(())
    }

    /// Handles one record inside the transmission; `Some` when it completed a transaction.
    fn transmission_record(&mut self) -> Result<Option<Checked>, Vec<Diagnostic>> {
        let Some(rec) = self.records.next_record().map_err(one)? else {
            let message = match &self.assignment {
                Some(a) => format!(
                    "the file ends inside assignment {} (started at record {}) without its end record or the transmission end record (NY000089): it was cut off; wait for the whole file or ask Nets for it again",
                    a.number, a.start
                ),
                None => "the file ends without the transmission end record (NY000089): it was cut off; wait for the whole file or ask Nets for it again".to_owned(),
            };
            return Err(one(Diagnostic::file(code::INCOMPLETE_FILE, message)));
        };
        self.count_record();
        let kind = rec.kind().map_err(one)?;
        let Some(assignment) = &self.assignment else {
            return match kind {
                Kind::AssignmentStart => self.assignment_start(&rec).map(|()| None).map_err(one),
                Kind::TransmissionEnd => {
                    self.transmission_end(&rec)?;
                    self.phase = Phase::Ended;
                    Ok(None)
                }
                _ => Err(one(rec.problem(
                    code::BAD_RECORD,
                    format!(
                        "expected an assignment start record (NY..0020) or the transmission end record (NY000089), found {}",
                        rec.describe()
                    ),
                ))),
            };
        };
        let avtalegiro = assignment.avtalegiro;
        let service = assignment_service(assignment);
        match (kind, avtalegiro) {
            (Kind::AssignmentEnd, _) if rec.field(3, 4) == service => {
                self.assignment_end(&rec)?;
                Ok(None)
            }
            (Kind::AmountItem1, false) => self.transaction(rec).map(Some).map_err(one),
            (Kind::AmountItem1 | Kind::AmountItem2 | Kind::AmountItem3 | Kind::Other, true) => {
                self.avtalegiro_record(&rec).map(|()| None).map_err(one)
            }
            (Kind::AmountItem2 | Kind::AmountItem3, false) => Err(one(rec.problem(
                code::BAD_RECORD,
                format!(
                    "{} does not follow an amount item 1 (record type 30) of the same transaction",
                    rec.describe()
                ),
            ))),
            (Kind::AssignmentStart | Kind::TransmissionEnd | Kind::AssignmentEnd, _) => {
                let (number, start) = self
                    .assignment
                    .as_ref()
                    .map_or(("", 0), |a| (a.number.as_str(), a.start));
                Err(one(rec.problem(
                    code::BAD_RECORD,
                    format!(
                        "found {} inside assignment {number} (started at record {start}), whose end record is missing",
                        rec.describe()
                    ),
                )))
            }
            (Kind::TransmissionStart, _) | (Kind::Other, false) => Err(one(rec.problem(
                code::BAD_RECORD,
                format!(
                    "{} does not belong in an OCR giro assignment",
                    rec.describe()
                ),
            ))),
        }
    }

    fn count_record(&mut self) {
        self.transmission.records += 1;
        if let Some(a) = &mut self.assignment {
            a.tally.records += 1;
        }
    }

    fn assignment_start(&mut self, rec: &Rec) -> Result<(), Diagnostic> {
        let service = rec.field(3, 4);
        let avtalegiro = if service == SERVICE_OCR_GIRO {
            false
        } else if service == SERVICE_AVTALEGIRO {
            true
        } else {
            return Err(rec.problem(
                code::BAD_RECORD,
                format!(
                    "the assignment's service code is `{}`; kravflyt reads OCR giro (09) assignments and passes over AvtaleGiro (21) ones",
                    shown(service)
                ),
            ));
        };
        let (agreement_id, number, account) = if avtalegiro {
            ("", rec.digits(18, 24, "assignment number")?, "")
        } else {
            if rec.field(5, 6) != b"00" {
                return Err(rec.problem(
                    code::BAD_RECORD,
                    format!(
                        "the assignment type (positions 5–6) is `{}`; OCR giro payment assignments have 00",
                        shown(rec.field(5, 6))
                    ),
                ));
            }
            let agreement_id = rec.digits(9, 17, "agreement ID")?;
            let number = rec.digits(18, 24, "assignment number")?;
            let account = rec.digits(25, 35, "assignment account")?;
            // Both are fixed-width digit fields, so their numbers identify them exactly.
            if !self
                .seen_assignments
                .insert((to_number(agreement_id), to_number(number)))
            {
                return Err(rec.problem(
                    code::BAD_RECORD,
                    format!(
                        "assignment {number} of agreement {agreement_id} appears twice in the file; its transactions would be read twice"
                    ),
                ));
            }
            (agreement_id, number, account)
        };
        self.assignment = Some(Assignment {
            start: rec.line,
            avtalegiro,
            agreement_id: agreement_id.to_owned(),
            number: number.to_owned(),
            account: account.to_owned(),
            tally: Tally {
                records: 1,
                ..Tally::default()
            },
            last_transaction: None,
        });
        Ok(())
    }

    /// Reads amount items 1, 2 and (types 20 and 21) 3 of one transaction and checks them.
    fn transaction(&mut self, item1: Rec) -> Result<Checked, Diagnostic> {
        if item1.field(3, 4) != SERVICE_OCR_GIRO {
            return Err(item1.problem(
                code::BAD_RECORD,
                format!(
                    "amount item 1 has service code `{}` inside an OCR giro (09) assignment",
                    shown(item1.field(3, 4))
                ),
            ));
        }
        let transaction_type = item1.transaction_type()?;
        let number_text = item1.digits(9, 15, "transaction number")?;
        let number = to_number(number_text);
        let nets_date = item1.date(16, 21, "Nets date")?;
        let negative = match item1.field(32, 32) {
            b"-" => true,
            b"0" | b"+" | b" " => false,
            other => {
                return Err(item1.problem(
                    code::BAD_RECORD,
                    format!(
                        "the sign (position 32) is `{}`; expected `0` (or blank) for a payment and `-` for a negative amount",
                        shown(other)
                    ),
                ));
            }
        };
        let amount = to_number(item1.digits(33, 49, "amount")?);

        let Some(assignment) = &self.assignment else {
            return Err(item1.problem(code::BAD_RECORD, "a transaction outside an assignment"));
        };
        if let Some(previous) = assignment.last_transaction
            && number <= previous
        {
            return Err(item1.problem(
                code::BAD_RECORD,
                format!(
                    "transaction number {number_text} does not follow {previous:07}; Nets numbers the transactions of an assignment in ascending order, so one may be repeated"
                ),
            ));
        }

        let Some(item2) = self.records.next_record()? else {
            return Err(Diagnostic::file(
                code::INCOMPLETE_FILE,
                format!(
                    "the file ends after amount item 1 of transaction {number_text} (record {}): it was cut off; wait for the whole file or ask Nets for it again",
                    item1.line
                ),
            ));
        };
        self.count_record();
        item2.continues(Kind::AmountItem2, &item1, number_text)?;
        let bank_date = match item2.field(42, 47) {
            b"000000" | b"      " => None,
            _ => Some(item2.date(42, 47, "bank date")?),
        };

        let mut item3 = None;
        if let Some(next) = self.records.peek_record()?
            && next.kind()? == Kind::AmountItem3
        {
            self.records.take_peeked();
            self.count_record();
            next.continues(Kind::AmountItem3, &item1, number_text)?;
            if !matches!(transaction_type, 20 | 21) {
                return Err(next.problem(
                    code::BAD_RECORD,
                    format!(
                        "amount item 3 (free text) follows transaction {number_text} of type {transaction_type}; only types 20 and 21 have one"
                    ),
                ));
            }
            item3 = Some(next);
        }

        let Some(assignment) = &mut self.assignment else {
            return Err(item1.problem(code::BAD_RECORD, "a transaction outside an assignment"));
        };
        assignment.last_transaction = Some(number);
        assignment.tally.add(amount, Some(nets_date));
        self.transmission.add(amount, None);
        let magnitude = i64::try_from(amount).map_err(|_| {
            item1.problem(
                code::BAD_RECORD,
                format!("the amount (positions 33–49) {amount} øre is too large"),
            )
        })?;
        Ok(Checked {
            item1,
            item2,
            item3,
            transaction_type,
            nets_date,
            amount_minor: if negative { -magnitude } else { magnitude },
            bank_date,
        })
    }

    /// A record of an AvtaleGiro assignment: counted, never applied. A transaction is an
    /// amount item 1 (cancellations) or a mandate record (type 70).
    fn avtalegiro_record(&mut self, rec: &Rec) -> Result<(), Diagnostic> {
        let record_type = rec.field(7, 8);
        let amount = if record_type == b"30" {
            Some(to_number(rec.digits(33, 49, "amount")?))
        } else if record_type == b"70" {
            Some(0)
        } else {
            None
        };
        if let (Some(amount), Some(assignment)) = (amount, &mut self.assignment) {
            assignment.tally.add(amount, None);
            self.transmission.add(amount, None);
            self.skipped += 1;
        }
        Ok(())
    }

    fn assignment_end(&mut self, rec: &Rec) -> Result<(), Vec<Diagnostic>> {
        let Some(assignment) = self.assignment.take() else {
            return Ok(());
        };
        let what = format!("assignment {}", assignment.number);
        let tally = &assignment.tally;
        let mut problems = Vec::new();
        let transactions = rec.number(9, 16, "number of transactions").map_err(one)?;
        let records = rec.number(17, 24, "number of records").map_err(one)?;
        compare(
            rec,
            &mut problems,
            "assignment end record",
            Count("transactions", transactions),
            Count("transactions", tally.transactions),
            &what,
        );
        compare(
            rec,
            &mut problems,
            "assignment end record",
            Count("records", records),
            Count("records", tally.records),
            &what,
        );
        if !assignment.avtalegiro {
            let sum = rec.number(25, 41, "sum of amounts").map_err(one)?;
            compare(
                rec,
                &mut problems,
                "assignment end record",
                Sum(u128::from(sum)),
                Sum(tally.amount),
                &what,
            );
            rec.digits(42, 47, "settlement date").map_err(one)?;
            // An assignment without transactions has no dates to state (zeros, say).
            if let (Some(earliest), Some(latest)) = (tally.first, tally.last) {
                let first = rec.date(48, 53, "first date").map_err(one)?;
                let last = rec.date(54, 59, "last date").map_err(one)?;
                compare(
                    rec,
                    &mut problems,
                    "assignment end record",
                    Dated("earliest", first),
                    Dated("earliest", earliest),
                    &what,
                );
                compare(
                    rec,
                    &mut problems,
                    "assignment end record",
                    Dated("latest", last),
                    Dated("latest", latest),
                    &what,
                );
            } else {
                rec.digits(48, 53, "first date").map_err(one)?;
                rec.digits(54, 59, "last date").map_err(one)?;
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    fn transmission_end(&mut self, rec: &Rec) -> Result<(), Vec<Diagnostic>> {
        let transactions = rec.number(9, 16, "number of transactions").map_err(one)?;
        let records = rec.number(17, 24, "number of records").map_err(one)?;
        let sum = rec.number(25, 41, "sum of amounts").map_err(one)?;
        rec.digits(42, 47, "Nets date").map_err(one)?;
        let tally = &self.transmission;
        let mut problems = Vec::new();
        let what = "the file";
        compare(
            rec,
            &mut problems,
            "transmission end record",
            Count("transactions", transactions),
            Count("transactions", tally.transactions),
            what,
        );
        compare(
            rec,
            &mut problems,
            "transmission end record",
            Count("records", records),
            Count("records", tally.records),
            what,
        );
        compare(
            rec,
            &mut problems,
            "transmission end record",
            Sum(u128::from(sum)),
            Sum(tally.amount),
            what,
        );
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

fn assignment_service(assignment: &Assignment) -> &'static [u8] {
    if assignment.avtalegiro {
        SERVICE_AVTALEGIRO
    } else {
        SERVICE_OCR_GIRO
    }
}

/// A control figure, as an end record states it or as the transactions add up.
#[derive(PartialEq, Eq)]
enum Figure {
    Count(&'static str, u64),
    Sum(u128),
    Dated(&'static str, NetsDate),
}
use Figure::{Count, Dated, Sum};

/// Adds a `bad_control_total` when the stated figure differs from the counted one.
fn compare(
    rec: &Rec,
    problems: &mut Vec<Diagnostic>,
    end_record: &str,
    stated: Figure,
    counted: Figure,
    what: &str,
) {
    if stated == counted {
        return;
    }
    let message = match (stated, counted) {
        (Count(noun, stated), Count(_, counted)) => format!(
            "the {end_record} says {stated} {noun}, but {what} holds {counted}; the file is damaged or was edited: ask Nets for it again"
        ),
        (Sum(stated), Sum(counted)) => format!(
            "the {end_record} says the amounts sum to {} NOK, but the amounts of {what} sum to {} NOK; the file is damaged or was edited: ask Nets for it again",
            format_wide_minor(stated),
            format_wide_minor(counted)
        ),
        (Dated(which, stated), Dated(_, counted)) => format!(
            "the {end_record} says the {which} Nets date is {stated}, but the {which} transaction of {what} is dated {counted}; the file is damaged or was edited: ask Nets for it again"
        ),
        _ => format!("the {end_record} disagrees with {what}"),
    };
    problems.push(rec.problem(code::BAD_CONTROL_TOTAL, message));
}

/// Formats øre that may exceed `i64` (a sum of many 17-digit amounts).
fn format_wide_minor(minor: u128) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
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

/// Text as the file has it: ISO-8859-1 in Nets' files (read as windows-1252, its superset),
/// borrowed when it is ASCII.
fn decode(bytes: &[u8]) -> Cow<'_, str> {
    encoding_rs::WINDOWS_1252
        .decode_without_bom_handling(bytes)
        .0
}

/// A text field as the file has it.
fn text(bytes: &[u8]) -> String {
    decode(bytes).into_owned()
}

/// A text field without its padding spaces.
fn trimmed(bytes: &[u8]) -> String {
    decode(bytes).trim_matches(' ').to_owned()
}

/// Bytes shown in a message.
fn shown(bytes: &[u8]) -> String {
    decode(bytes).into_owned()
}

/// One 80-character record and its physical record (line) number.
#[derive(Debug, Clone, Copy)]
struct Rec {
    line: u64,
    bytes: [u8; RECORD_LEN],
}

impl Rec {
    /// Positions `from..=to` (1-based, as Nets' specification counts them).
    fn field(&self, from: usize, to: usize) -> &[u8] {
        self.bytes
            .get(from.saturating_sub(1)..to.min(self.bytes.len()))
            .unwrap_or_default()
    }

    fn problem(&self, code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::at(Position::Record(self.line), code, message)
    }

    /// A field that must be all digits.
    fn digits(&self, from: usize, to: usize, what: &str) -> Result<&str, Diagnostic> {
        let field = self.field(from, to);
        match std::str::from_utf8(field) {
            Ok(text) if field.len() == to + 1 - from && field.iter().all(u8::is_ascii_digit) => {
                Ok(text)
            }
            _ => Err(self.problem(
                code::BAD_RECORD,
                format!(
                    "the {what} (positions {from}–{to}) is `{}`; it must be {} digits",
                    shown(field),
                    to + 1 - from
                ),
            )),
        }
    }

    fn number(&self, from: usize, to: usize, what: &str) -> Result<u64, Diagnostic> {
        self.digits(from, to, what).map(to_number)
    }

    fn date(&self, from: usize, to: usize, what: &str) -> Result<NetsDate, Diagnostic> {
        let digits = self.digits(from, to, what)?;
        NetsDate::from_ddmmyy(digits.as_bytes()).ok_or_else(|| {
            self.problem(
                code::BAD_RECORD,
                format!(
                    "the {what} (positions {from}–{to}) is `{digits}`, which is not a date (DDMMYY); the file is damaged or was edited: ask Nets for it again"
                ),
            )
        })
    }

    fn transaction_type(&self) -> Result<u8, Diagnostic> {
        let number = self.number(5, 6, "transaction type")?;
        match u8::try_from(number) {
            Ok(t) if transaction_type_meaning(t).is_some() => Ok(t),
            _ => Err(self.problem(
                code::BAD_RECORD,
                format!("transaction type {number:02} is not an OCR giro transaction type (10–21)"),
            )),
        }
    }

    fn kind(&self) -> Result<Kind, Diagnostic> {
        if self.field(1, 2) != b"NY" {
            return Err(self.problem(
                code::BAD_RECORD,
                format!(
                    "the record starts with `{}` instead of the format code NY; is this an OCR giro file from Nets?",
                    shown(self.field(1, 2))
                ),
            ));
        }
        let service = self.field(3, 4);
        Ok(match self.field(7, 8) {
            b"10" if service == b"00" => Kind::TransmissionStart,
            b"89" if service == b"00" => Kind::TransmissionEnd,
            b"20" => Kind::AssignmentStart,
            b"88" => Kind::AssignmentEnd,
            b"30" => Kind::AmountItem1,
            b"31" => Kind::AmountItem2,
            b"32" => Kind::AmountItem3,
            _ => Kind::Other,
        })
    }

    /// `a transmission end record (NY000089)` etc., for messages.
    fn describe(&self) -> String {
        let head = shown(self.field(1, 8));
        let name = match self.kind() {
            Ok(Kind::TransmissionStart) => "a transmission start record",
            Ok(Kind::TransmissionEnd) => "a transmission end record",
            Ok(Kind::AssignmentStart) => "an assignment start record",
            Ok(Kind::AssignmentEnd) => "an assignment end record",
            Ok(Kind::AmountItem1) => "amount item 1",
            Ok(Kind::AmountItem2) => "amount item 2",
            Ok(Kind::AmountItem3) => "amount item 3",
            Ok(Kind::Other) | Err(_) => "a record",
        };
        format!("{name} ({head})")
    }

    /// Checks that amount item 2 or 3 belongs to the transaction `item1` started.
    fn continues(&self, kind: Kind, item1: &Rec, number: &str) -> Result<(), Diagnostic> {
        let name = if kind == Kind::AmountItem2 {
            "amount item 2 (record type 31)"
        } else {
            "amount item 3 (record type 32)"
        };
        if self.kind()? != kind {
            return Err(self.problem(
                code::BAD_RECORD,
                format!(
                    "expected {name} of transaction {number}, found {}",
                    self.describe()
                ),
            ));
        }
        if self.field(3, 6) != item1.field(3, 6) {
            return Err(self.problem(
                code::BAD_RECORD,
                format!(
                    "{name} has service code and transaction type `{}`, but its amount item 1 (record {}) has `{}`",
                    shown(self.field(3, 6)),
                    item1.line,
                    shown(item1.field(3, 6))
                ),
            ));
        }
        let own = self.digits(9, 15, "transaction number")?;
        if own != number {
            return Err(self.problem(
                code::BAD_RECORD,
                format!(
                    "{name} has transaction number {own}, but the amount item 1 before it (record {}) has {number}",
                    item1.line
                ),
            ));
        }
        Ok(())
    }
}

/// How a file separates its records, decided once from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// One record per line, ending at this byte: `\n` (LF or CRLF: one `\r` before it is
    /// dropped), or `\r` for a file with old Mac line ends only.
    Lines(u8),
    /// Back-to-back 80-byte records without any line end.
    Unbroken,
}

impl Layout {
    /// The layout of a file that starts with `head` (after any byte order mark); `whole` when
    /// `head` is all of it.
    ///
    /// A whole file is judged as a whole: its trailing line ends, spaces and Ctrl-Z are left
    /// out, any LF makes it a file of lines, else any CR a file of CR-ended lines, else one of
    /// back-to-back records when it is longer than one record and a multiple of 80 long (and
    /// otherwise a single line, which is then reported as a record of the wrong length). A
    /// longer file is judged by its first [`HEAD_LEN`] bytes alone, so that the reader never
    /// needs more of it at once: with no line end among them it can only be unbroken records.
    fn of(head: &[u8], whole: bool) -> Layout {
        let body = if whole {
            let content = head
                .iter()
                .rposition(|b| !matches!(b, b'\r' | b'\n' | b' ' | 0x1A))
                .map_or(0, |p| p + 1);
            head.get(..content).unwrap_or(head)
        } else {
            head
        };
        if body.contains(&b'\n') {
            Layout::Lines(b'\n')
        } else if body.contains(&b'\r') {
            Layout::Lines(b'\r')
        } else if !whole || (body.len() > RECORD_LEN && body.len() % RECORD_LEN == 0) {
            Layout::Unbroken
        } else {
            Layout::Lines(b'\n')
        }
    }
}

/// A line as far as a record needs it; its first 80 bytes are in [`Records::buf`].
struct Line {
    number: u64,
    /// Its length in bytes, line end excluded.
    len: usize,
    /// Everything after position 80 is spaces (or there is nothing after it).
    padded: bool,
}

/// The records of a file, one per line (LF, CRLF or CR; blank lines are passed over but keep
/// their number, so a record number is the line an editor shows). A file without any line
/// end is read as back-to-back 80-byte records (see [`Layout::of`]).
///
/// The input is read a chunk of the `BufRead`'s buffer at a time and only the first 80 bytes
/// of a line are kept: a line of any length (a file without line ends, a damaged file) is
/// measured, not held.
struct Records<R> {
    /// The file's first bytes (read once to decide the layout) and then the rest of it.
    input: io::Chain<io::Cursor<Vec<u8>>, R>,
    /// `None` until the first record is asked for.
    layout: Option<Layout>,
    /// The first 80 bytes of the current line: reused, never longer.
    buf: Vec<u8>,
    line: u64,
    peeked: Option<Rec>,
}

impl<R: BufRead> Records<R> {
    fn new(input: R) -> Self {
        Records {
            input: io::Cursor::new(Vec::new()).chain(input),
            layout: None,
            buf: Vec::with_capacity(RECORD_LEN),
            line: 0,
            peeked: None,
        }
    }

    /// Reads the first [`HEAD_LEN`] bytes, skips a byte order mark and decides the layout.
    /// The bytes stay at the front of `input`, to be read as records like the rest.
    fn start(&mut self) -> io::Result<Layout> {
        let (head, rest) = self.input.get_mut();
        rest.by_ref()
            .take(HEAD_LEN as u64)
            .read_to_end(head.get_mut())?;
        let whole = head.get_ref().len() < HEAD_LEN
            || loop {
                match rest.fill_buf() {
                    Ok(more) => break more.is_empty(),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            };
        let bytes = head.get_ref().as_slice();
        let (skip, bytes) = match bytes.strip_prefix(UTF8_BOM) {
            Some(after) => (UTF8_BOM.len(), after),
            None => (0, bytes),
        };
        let layout = Layout::of(bytes, whole);
        head.set_position(skip as u64);
        Ok(layout)
    }

    /// The next line that is not blank, its first 80 bytes in `buf`; `None` at the end.
    fn next_line(&mut self) -> io::Result<Option<Line>> {
        let layout = match self.layout {
            Some(layout) => layout,
            None => {
                let layout = self.start()?;
                self.layout = Some(layout);
                layout
            }
        };
        loop {
            self.buf.clear();
            // The line's length so far, how many of its bytes after position 80 are not
            // spaces, whether all of it is blank, its last byte and whether its end was seen.
            let mut len = 0usize;
            let mut extra = 0usize;
            let mut blank = true;
            let mut last = None;
            let mut ended = false;
            while !ended {
                let chunk = match self.input.fill_buf() {
                    Ok(chunk) => chunk,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                if chunk.is_empty() {
                    break;
                }
                let (part, used) = match layout {
                    Layout::Lines(end) => match chunk.iter().position(|b| *b == end) {
                        Some(at) => {
                            ended = true;
                            (chunk.get(..at).unwrap_or_default(), at + 1)
                        }
                        None => (chunk, chunk.len()),
                    },
                    Layout::Unbroken => {
                        let wanted = RECORD_LEN.saturating_sub(len).min(chunk.len());
                        ended = len + wanted >= RECORD_LEN;
                        (chunk.get(..wanted).unwrap_or_default(), wanted)
                    }
                };
                let room = RECORD_LEN.saturating_sub(self.buf.len()).min(part.len());
                let (kept, beyond) = part.split_at(room);
                self.buf.extend_from_slice(kept);
                extra = extra.saturating_add(beyond.iter().filter(|b| **b != b' ').count());
                blank = blank && part.iter().all(|b| is_blank(*b));
                last = part.last().copied().or(last);
                len = len.saturating_add(part.len());
                self.input.consume(used);
            }
            if len == 0 && !ended {
                return Ok(None);
            }
            self.line += 1;
            // The CR of a CRLF line end (or one before a missing line end) is not data.
            if last == Some(b'\r') {
                len = len.saturating_sub(1);
                if len >= RECORD_LEN {
                    extra = extra.saturating_sub(1);
                } else {
                    self.buf.pop();
                }
            }
            // Blank lines and a DOS end-of-file mark (Ctrl-Z) are not records.
            if blank {
                continue;
            }
            return Ok(Some(Line {
                number: self.line,
                len,
                padded: extra == 0,
            }));
        }
    }

    fn next_record(&mut self) -> Result<Option<Rec>, Diagnostic> {
        if let Some(rec) = self.peeked.take() {
            return Ok(Some(rec));
        }
        let Some(line) = self.next_line().map_err(unreadable)? else {
            return Ok(None);
        };
        // Trailing spaces after position 80 (an editor's or a transfer's padding) are not
        // part of the record; anything else makes the length wrong.
        let bytes = if line.len == RECORD_LEN || (line.len > RECORD_LEN && line.padded) {
            <[u8; RECORD_LEN]>::try_from(self.buf.as_slice()).ok()
        } else {
            None
        };
        let Some(bytes) = bytes else {
            return Err(Diagnostic::at(
                Position::Record(line.number),
                code::BAD_RECORD,
                format!(
                    "the record is {} characters long; OCR giro records are exactly 80 characters, one per line: the file was cut off, re-wrapped or edited",
                    line.len
                ),
            ));
        };
        Ok(Some(Rec {
            line: line.number,
            bytes,
        }))
    }

    /// Whether the line last read (as far as it is kept, its first 80 bytes) is NUL bytes.
    fn line_is_nul(&self) -> bool {
        !self.buf.is_empty() && self.buf.iter().all(|b| *b == 0)
    }

    fn peek_record(&mut self) -> Result<Option<Rec>, Diagnostic> {
        if self.peeked.is_none() {
            self.peeked = self.next_record()?;
        }
        Ok(self.peeked)
    }

    fn take_peeked(&mut self) {
        self.peeked = None;
    }
}

/// A byte a blank line may consist of.
fn is_blank(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n' | 0x1A)
}

fn unreadable(error: io::Error) -> Diagnostic {
    Diagnostic::file(
        code::UNREADABLE_FILE,
        format!(
            "the file could not be read ({error}); try again, and check the disk or the connection the file comes from if it keeps failing"
        ),
    )
}

/// A valid OCR giro file rendered record by record as it is read, so a test or a benchmark can
/// stream millions of transactions through a reader without holding the file:
/// `BufReader::new(GeneratedOcrGiro::new(2_000_000, 100_000, b"\n"))`.
///
/// Every transaction is of type 10, dated 15 January 2026, with the amount
/// [`GeneratedOcrGiro::amount`] of its 0-based index in the file; assignments of
/// `per_assignment` transactions (the last may be shorter) and all end records carry the right
/// counts and sums. `line_end` goes after every record: `b"\n"`, `b"\r\n"`, `b"\r"`, or `b""`
/// for back-to-back records.
#[cfg(test)]
pub(crate) struct GeneratedOcrGiro {
    transactions: u64,
    per_assignment: u64,
    line_end: &'static [u8],
    next: GeneratedPart,
    /// The record being read, with its line end, and how much of it has been read.
    current: Vec<u8>,
    read: usize,
    /// Transactions rendered so far, in the file and in the current assignment.
    done: u64,
    in_assignment: u64,
    assignments: u64,
    /// Records and amount sums so far, of the file and of the current assignment.
    file_records: u64,
    file_sum: u128,
    assignment_records: u64,
    assignment_sum: u128,
}

#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GeneratedPart {
    TransmissionStart,
    AssignmentStart,
    Item1,
    Item2,
    AssignmentEnd,
    TransmissionEnd,
    Finished,
}

#[cfg(test)]
impl GeneratedOcrGiro {
    /// The Nets date of every generated transaction, `DDMMYY`.
    pub(crate) const DATE: &'static str = "150126";

    pub(crate) fn new(transactions: u64, per_assignment: u64, line_end: &'static [u8]) -> Self {
        GeneratedOcrGiro {
            transactions,
            per_assignment: per_assignment.clamp(1, 9_999_999),
            line_end,
            next: GeneratedPart::TransmissionStart,
            current: Vec::with_capacity(RECORD_LEN + 2),
            read: 0,
            done: 0,
            in_assignment: 0,
            assignments: 0,
            file_records: 0,
            file_sum: 0,
            assignment_records: 0,
            assignment_sum: 0,
        }
    }

    /// The amount in øre of the transaction at `index` (0-based in the file): 1.00 to
    /// 12 328.66 NOK, never zero.
    pub(crate) fn amount(index: u64) -> u64 {
        100 + index % 1_000 * 1_234
    }

    /// The sum in øre of the first `transactions` amounts.
    pub(crate) fn sum(transactions: u64) -> u128 {
        (0..transactions).map(|i| u128::from(Self::amount(i))).sum()
    }

    /// Renders the next record into `current`; leaves it empty at the end of the file.
    fn render_next(&mut self) {
        use GeneratedPart as P;
        self.current.clear();
        self.read = 0;
        let date = Self::DATE;
        let (record, next) = match self.next {
            P::Finished => return,
            P::TransmissionStart => (
                format!("NY000010{:08}{:07}{:08}{}", 8080, 1, 8080, "0".repeat(49)),
                if self.transactions == 0 {
                    P::TransmissionEnd
                } else {
                    P::AssignmentStart
                },
            ),
            P::AssignmentStart => {
                self.assignments += 1;
                self.in_assignment = 0;
                self.assignment_records = 0;
                self.assignment_sum = 0;
                let record = format!(
                    "NY090020001008566{:07}99991042764{}",
                    self.assignments,
                    "0".repeat(45)
                );
                (record, P::Item1)
            }
            P::Item1 => {
                let amount = Self::amount(self.done);
                self.in_assignment += 1;
                self.assignment_sum += u128::from(amount);
                self.file_sum += u128::from(amount);
                let record = format!(
                    "NY091030{:07}{date}13201014640{amount:017}{:>25}000000",
                    self.in_assignment,
                    1_000_000_000 + self.done
                );
                (record, P::Item2)
            }
            P::Item2 => {
                self.done += 1;
                let record = format!(
                    "NY091031{:07}0000000000{:09}0000000{date}99991005524{}",
                    self.in_assignment,
                    self.done,
                    "0".repeat(22)
                );
                let next = if self.done == self.transactions
                    || self.in_assignment == self.per_assignment
                {
                    P::AssignmentEnd
                } else {
                    P::Item1
                };
                (record, next)
            }
            P::AssignmentEnd => {
                let record = format!(
                    "NY090088{:08}{:08}{:017}{date}{date}{date}{}",
                    self.in_assignment,
                    self.assignment_records + 1,
                    self.assignment_sum,
                    "0".repeat(21)
                );
                let next = if self.done == self.transactions {
                    P::TransmissionEnd
                } else {
                    P::AssignmentStart
                };
                (record, next)
            }
            P::TransmissionEnd => (
                format!(
                    "NY000089{:08}{:08}{:017}{date}{}",
                    self.done,
                    self.file_records + 1,
                    self.file_sum,
                    "0".repeat(33)
                ),
                P::Finished,
            ),
        };
        self.file_records += 1;
        self.assignment_records += 1;
        self.current.extend_from_slice(record.as_bytes());
        self.current.extend_from_slice(self.line_end);
        self.next = next;
    }
}

#[cfg(test)]
impl Read for GeneratedOcrGiro {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.read == self.current.len() {
            self.render_next();
        }
        let rest = &self.current[self.read..];
        let n = rest.len().min(out.len());
        out[..n].copy_from_slice(&rest[..n]);
        self.read += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{parse_amount, to_minor};
    use proptest::prelude::*;

    fn sample() -> Vec<u8> {
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/public/ocr-giro-nets-manual-sample.txt"
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

    fn minor(record: &RawRecord) -> i64 {
        to_minor(parse_amount(record.get("amount").unwrap(), '.').unwrap()).unwrap()
    }

    fn codes(result: Result<ParsedFile, Vec<Diagnostic>>) -> Vec<&'static str> {
        result.unwrap_err().iter().map(|d| d.code).collect()
    }

    /// Replaces positions `from..=to` (1-based) of line `index` (0-based).
    fn patch(lines: &mut [String], index: usize, from: usize, text: &str) {
        lines[index].replace_range(from - 1..from - 1 + text.len(), text);
    }

    #[test]
    fn the_public_sample_holds_20_payments_of_51_449_nok() {
        let parsed = parse_ocr_giro(&sample()).unwrap();
        assert_eq!(parsed.kind, FileKind::Payments);
        assert_eq!(parsed.records.len(), 20);
        assert!(parsed.diagnostics.is_empty());
        assert_eq!(parsed.skipped, 0);
        assert_eq!(parsed.decimal_separator, '.');
        let total: i64 = parsed.records.iter().map(minor).sum();
        assert_eq!(total, 5_144_900);
        let ids: HashSet<_> = parsed.records.iter().map(|r| r.get("payment_id")).collect();
        assert_eq!(ids.len(), 20);
        for record in &parsed.records {
            assert_eq!(record.get("kind"), Some("bank"));
            assert_eq!(record.get("currency"), Some("NOK"));
            assert_eq!(record.get("payment_date"), Some("1992-01-20"));
            assert!(record.get("reference").is_some(), "{record:?}");
        }

        // Transaction 1: type 21 (purchase with free text), the only one with amount item 3.
        let first = &parsed.records[0];
        assert_eq!(first.position, Position::Record(3));
        assert_eq!(
            first.get("payment_id"),
            Some("001008566-0000002-0000001-19920120")
        );
        assert_eq!(first.get("reference"), Some("0000531"));
        assert_eq!(first.get("amount"), Some("1020.00"));
        assert_eq!(first.get("payer_account"), Some("99990512341"));

        // Transaction 2 starts after the three records of transaction 1.
        assert_eq!(parsed.records[1].position, Position::Record(6));
        assert_eq!(parsed.records[1].get("reference"), Some("0036633"));

        // Transaction 8: a standing order.
        let standing = &parsed.records[7];
        assert_eq!(standing.position, Position::Record(18));
        assert_eq!(standing.get("reference"), Some("02212291038306"));
        assert_eq!(standing.get("amount"), Some("1500.00"));
        assert_eq!(standing.get("payer_account"), Some("99999545528"));

        // Transaction 11: a nine-digit KID, right-aligned behind 16 spaces.
        assert_eq!(parsed.records[10].get("reference"), Some("000149012"));
        assert_eq!(parsed.records[10].get("amount"), Some("1943.00"));

        // Transaction 14: the largest.
        assert_eq!(parsed.records[13].position, Position::Record(30));
        assert_eq!(parsed.records[13].get("amount"), Some("20500.00"));
        assert_eq!(parsed.records[13].get("reference"), Some("02321291038303"));

        let last = &parsed.records[19];
        assert_eq!(last.position, Position::Record(42));
        assert_eq!(
            last.get("payment_id"),
            Some("001008566-0000002-0000020-19920120")
        );
        assert_eq!(last.get("reference"), Some("02311291133188"));
        assert_eq!(last.get("amount"), Some("540.00"));
        assert_eq!(last.get("payer_account"), Some("99991011125"));
    }

    #[test]
    fn the_public_sample_read_as_transactions() {
        let bytes = sample();
        let transactions: Vec<_> = ocr_giro_transactions(bytes.as_slice())
            .collect::<Result<_, _>>()
            .unwrap();
        let types: Vec<u8> = transactions.iter().map(|t| t.transaction_type).collect();
        assert_eq!(
            types,
            [
                21, 10, 10, 10, 10, 10, 10, 11, 12, 13, 11, 12, 13, 13, 13, 13, 10, 10, 10, 10
            ]
        );
        let first = &transactions[0];
        assert_eq!(first.agreement_id, "001008566");
        assert_eq!(first.assignment_number, "0000002");
        assert_eq!(first.assignment_account, "99991042764");
        assert_eq!(first.transaction_number, "0000001");
        assert_eq!(first.form_number, "9636827194");
        assert_eq!(first.archive_reference, "099038562");
        assert_eq!(
            first.bank_date.map(NetsDate::iso).as_deref(),
            Some("1992-01-16")
        );
        assert_eq!(first.free_text.as_deref(), Some("Foo bar baz"));
        assert_eq!(first.amount_minor, 102_000);
        // A direct remittance has no form and no bank date.
        let remittance = &transactions[8];
        assert_eq!(remittance.transaction_type, 12);
        assert_eq!(remittance.form_number, "0000000000");
        assert_eq!(remittance.bank_date, None);
        assert_eq!(remittance.archive_reference, "001020169");
        assert!(transactions[1..].iter().all(|t| t.free_text.is_none()));
        for t in &transactions {
            assert!(transaction_type_meaning(t.transaction_type).is_some());
        }
    }

    #[test]
    fn crlf_trailing_spaces_blank_lines_and_unbroken_files_read_the_same() {
        let expected = parse_ocr_giro(&sample()).unwrap();
        let lines = lines_of(&sample());

        let crlf = lines.join("\r\n").into_bytes();
        assert_eq!(parse_ocr_giro(&crlf).unwrap(), expected);

        let cr = lines.join("\r").into_bytes();
        assert_eq!(parse_ocr_giro(&cr).unwrap(), expected);

        let padded: Vec<String> = lines.iter().map(|l| format!("{l}   ")).collect();
        assert_eq!(parse_ocr_giro(&join(&padded)).unwrap(), expected);

        let mut with_bom = crate::ingest::detect::UTF8_BOM.to_vec();
        with_bom.extend(join(&lines));
        with_bom.extend(b"\n\n\x1a");
        assert_eq!(parse_ocr_giro(&with_bom).unwrap(), expected);

        let mut unbroken = lines.concat().into_bytes();
        assert_eq!(parse_ocr_giro(&unbroken).unwrap(), expected);
        unbroken.extend(b"\r\n");
        assert_eq!(parse_ocr_giro(&unbroken).unwrap(), expected);
    }

    #[test]
    fn a_record_of_the_wrong_length_rejects_the_file() {
        let mut lines = lines_of(&sample());
        lines[9].pop();
        let problems = parse_ocr_giro(&join(&lines)).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].code, code::BAD_RECORD);
        assert_eq!(problems[0].position, Position::Record(10));
        assert!(
            problems[0].message.contains("79 characters"),
            "{problems:?}"
        );

        let mut lines = lines_of(&sample());
        lines[9].push('0');
        let problems = parse_ocr_giro(&join(&lines)).unwrap_err();
        assert_eq!(problems[0].code, code::BAD_RECORD);
        assert!(problems[0].message.contains("81 characters"));
    }

    #[test]
    fn a_file_without_its_end_records_is_incomplete() {
        let lines = lines_of(&sample());
        for keep in [44, 43, 30, 3, 2, 1] {
            let problems = parse_ocr_giro(&join(&lines[..keep])).unwrap_err();
            assert_eq!(
                problems[0].code,
                code::INCOMPLETE_FILE,
                "{keep}: {problems:?}"
            );
            assert_eq!(problems[0].position, Position::File);
        }
        assert_eq!(codes(parse_ocr_giro(b"")), [code::EMPTY_FILE]);
        assert_eq!(codes(parse_ocr_giro(b"\n  \r\n")), [code::EMPTY_FILE]);
    }

    #[test]
    fn every_figure_of_the_end_records_is_checked() {
        // (line index, position, new text, words the message must contain)
        let cases: [(usize, usize, &str, &[&str]); 8] = [
            (43, 9, "00000021", &["21 transactions", "holds 20"]),
            (43, 17, "00000044", &["44 records", "holds 43"]),
            (43, 25, "00000000005144800", &["51448.00", "51449.00"]),
            (43, 48, "190192", &["earliest", "1992-01-19", "1992-01-20"]),
            (43, 54, "210192", &["latest", "1992-01-21", "1992-01-20"]),
            (44, 9, "00000019", &["19 transactions", "holds 20"]),
            (44, 17, "00000046", &["46 records", "holds 45"]),
            (44, 25, "00000000005144901", &["51449.01", "51449.00"]),
        ];
        for (index, from, text, words) in cases {
            let mut lines = lines_of(&sample());
            patch(&mut lines, index, from, text);
            let problems = parse_ocr_giro(&join(&lines)).unwrap_err();
            assert_eq!(problems.len(), 1, "{problems:?}");
            let problem = &problems[0];
            assert_eq!(problem.code, code::BAD_CONTROL_TOTAL);
            assert_eq!(problem.position, Position::Record(index as u64 + 1));
            for word in words {
                assert!(
                    problem.message.contains(word),
                    "{word}: {}",
                    problem.message
                );
            }
        }
    }

    #[test]
    fn a_changed_amount_breaks_both_totals_and_is_caught_at_the_assignment_end() {
        let mut lines = lines_of(&sample());
        patch(&mut lines, 2, 46, "3"); // 1020.00 → 1030.00
        let problems = parse_ocr_giro(&join(&lines)).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].code, code::BAD_CONTROL_TOTAL);
        assert_eq!(problems[0].position, Position::Record(44));
        assert!(problems[0].message.contains("51459.00"), "{problems:?}");
    }

    #[test]
    fn a_date_that_is_not_a_date_rejects_the_file() {
        assert_eq!(NetsDate::from_ddmmyy(b"310226"), None);
        assert_eq!(NetsDate::from_ddmmyy(b"290226"), None);
        assert_eq!(NetsDate::from_ddmmyy(b"001326"), None);
        assert_eq!(
            NetsDate::from_ddmmyy(b"290224")
                .map(NetsDate::iso)
                .as_deref(),
            Some("2024-02-29")
        );
        let base = lines_of(&sample());
        // Amount item 1's Nets date (record 3), amount item 2's bank date (record 4) and the
        // assignment end record's first date (record 44).
        for (index, position, field) in [
            (2, 16, "Nets date"),
            (3, 42, "bank date"),
            (43, 48, "first date"),
        ] {
            let mut lines = base.clone();
            patch(&mut lines, index, position, "310292");
            let problems = parse_ocr_giro(&join(&lines)).unwrap_err();
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert_eq!(problems[0].code, code::BAD_RECORD);
            assert_eq!(problems[0].position, Position::Record(index as u64 + 1));
            assert!(
                problems[0].message.contains(field) && problems[0].message.contains("310292"),
                "{problems:?}"
            );
        }
    }

    #[test]
    fn nul_padding_after_the_end_record_is_a_bad_record_not_a_missing_end() {
        let lines = lines_of(&sample());
        for padding in [
            vec![0u8; 512],
            vec![0u8; 80],
            [vec![0u8; 80], vec![b'\n'], vec![0u8; 80]].concat(),
        ] {
            let mut bytes = join(&lines);
            bytes.extend(&padding);
            let problems = parse_ocr_giro(&bytes).unwrap_err();
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert_eq!(problems[0].code, code::BAD_RECORD);
            assert_eq!(
                problems[0].position,
                Position::Record(lines.len() as u64 + 1)
            );
            assert!(
                problems[0].message.contains("NUL") && problems[0].message.contains("NY000089"),
                "{problems:?}"
            );
        }
        // A damaged line of another length after the end record says where it is too.
        let mut bytes = join(&lines);
        bytes.extend(b"garbage\n");
        let problems = parse_ocr_giro(&bytes).unwrap_err();
        assert_eq!(
            problems[0].position,
            Position::Record(lines.len() as u64 + 1)
        );
        assert!(
            problems[0]
                .message
                .contains("follows the transmission end record")
        );
    }

    #[test]
    fn a_reversal_is_negative_and_counts_as_written_in_the_sums() {
        let mut lines = lines_of(&sample());
        patch(&mut lines, 2, 32, "-");
        let parsed = parse_ocr_giro(&join(&lines)).unwrap();
        assert_eq!(parsed.records[0].get("amount"), Some("-1020.00"));
    }

    #[test]
    fn records_out_of_place_reject_the_file() {
        let base = lines_of(&sample());
        let bad_record = |lines: Vec<String>, position: u64, words: &str| {
            let problems = parse_ocr_giro(&join(&lines)).unwrap_err();
            assert_eq!(problems[0].code, code::BAD_RECORD, "{problems:?}");
            assert_eq!(problems[0].position, Position::Record(position));
            assert!(problems[0].message.contains(words), "{problems:?}");
        };

        let mut after_end = base.clone();
        after_end.push(base[44].clone());
        bad_record(after_end, 46, "follows the transmission end");

        let mut no_item2 = base.clone();
        no_item2.remove(6);
        bad_record(no_item2, 7, "expected amount item 2");

        let mut wrong_number = base.clone();
        patch(&mut wrong_number, 6, 9, "0000003");
        bad_record(wrong_number, 7, "transaction number 0000003");

        let mut item3_for_type_10 = base.clone();
        item3_for_type_10.insert(
            7,
            base[4]
                .replace("NY0921", "NY0910")
                .replace("0000001F", "0000002F"),
        );
        bad_record(item3_for_type_10, 8, "only types 20 and 21");

        let mut repeated = base.clone();
        patch(&mut repeated, 7, 9, "0000001");
        patch(&mut repeated, 8, 9, "0000001");
        bad_record(repeated, 8, "does not follow 0000002");

        let mut unknown_type = base.clone();
        patch(&mut unknown_type, 5, 5, "22");
        bad_record(unknown_type, 6, "transaction type 22");

        let mut bad_sign = base.clone();
        patch(&mut bad_sign, 5, 32, "+");
        assert!(parse_ocr_giro(&join(&bad_sign)).is_ok());
        patch(&mut bad_sign, 5, 32, "x");
        bad_record(bad_sign, 6, "sign");

        let mut letters = base.clone();
        patch(&mut letters, 5, 40, "A");
        bad_record(letters, 6, "amount (positions 33–49)");

        let mut not_ny = base.clone();
        patch(&mut not_ny, 10, 1, "XY");
        bad_record(not_ny, 11, "format code NY");

        let mut not_ocr = base.clone();
        not_ocr[0] = "01BGMAX".to_owned() + &"0".repeat(73);
        bad_record(not_ocr, 1, "transmission start record");

        let mut twice = base.clone();
        let assignment: Vec<String> = base[1..44].to_vec();
        twice.splice(44..44, assignment);
        bad_record(twice, 45, "appears twice");
    }

    #[test]
    fn free_text_carries_the_reference_when_there_is_no_kid() {
        let mut lines = lines_of(&sample());
        patch(&mut lines, 2, 50, &" ".repeat(25));
        patch(&mut lines, 4, 16, &format!("{:<40}", "Faktura 0000531"));
        let parsed = parse_ocr_giro(&join(&lines)).unwrap();
        assert_eq!(parsed.records[0].get("reference"), Some("0000531"));

        patch(&mut lines, 4, 16, &format!("{:<40}", "bursdagsgave"));
        let parsed = parse_ocr_giro(&join(&lines)).unwrap();
        assert_eq!(parsed.records[0].get("reference"), None);
    }

    #[test]
    fn avtalegiro_mandates_in_the_transmission_are_counted_and_skipped() {
        let mut lines = lines_of(&sample());
        let mandates = [
            format!(
                "NY212420{}0000005{}{}",
                "0".repeat(9),
                "99991042764",
                "0".repeat(45)
            ),
            format!("NY21947000000011{:>25}J{}", "55405419", "0".repeat(38)),
            format!("NY21947000000022{:>25}J{}", "96352141", "0".repeat(38)),
            format!(
                "NY212488000000020000000400000000000000000000{}",
                "0".repeat(36)
            ),
        ];
        lines.splice(44..44, mandates);
        patch(&mut lines, 48, 9, "00000022"); // 20 payments + 2 mandates
        patch(&mut lines, 48, 17, "00000049");
        let parsed = parse_ocr_giro(&join(&lines)).unwrap();
        assert_eq!(parsed.records.len(), 20);
        assert_eq!(parsed.skipped, 2);

        patch(&mut lines, 47, 9, "00000003");
        let problems = parse_ocr_giro(&join(&lines)).unwrap_err();
        assert_eq!(problems[0].code, code::BAD_CONTROL_TOTAL);
        assert_eq!(problems[0].position, Position::Record(48));
    }

    #[test]
    fn dates_before_1970_are_this_century() {
        assert_eq!(
            NetsDate::from_ddmmyy(b"311269")
                .map(NetsDate::iso)
                .as_deref(),
            Some("2069-12-31")
        );
        assert_eq!(
            NetsDate::from_ddmmyy(b"010170")
                .map(NetsDate::iso)
                .as_deref(),
            Some("1970-01-01")
        );
        assert_eq!(NetsDate::from_ddmmyy(b"0101a0"), None);
        assert_eq!(NetsDate::from_ddmmyy(b"01010"), None);
    }

    // ----- generated files -----

    #[derive(Debug, Clone)]
    struct Generated {
        transaction_type: u8,
        amount: u64,
        negative: bool,
        kid: String,
        date: (u8, u8, u8),
        archive: String,
        debit: String,
        bank_date: Option<(u8, u8, u8)>,
        text: Option<String>,
    }

    impl Generated {
        fn nets_date(&self) -> NetsDate {
            NetsDate::from_ddmmyy(ddmmyy(self.date).as_bytes()).unwrap()
        }
    }

    fn ddmmyy((day, month, yy): (u8, u8, u8)) -> String {
        format!("{day:02}{month:02}{yy:02}")
    }

    fn generated() -> impl Strategy<Value = Generated> {
        (
            10u8..=21,
            0u64..100_000_000_000_000,
            any::<bool>(),
            "[0-9]{0,25}",
            (1u8..=28, 1u8..=12, 0u8..=99),
            "[0-9]{9}",
            "[0-9]{11}",
            proptest::option::of((1u8..=28, 1u8..=12, 0u8..=99)),
            "[A-Za-z0-9 ,.]{0,40}",
        )
            .prop_map(
                |(
                    transaction_type,
                    amount,
                    negative,
                    kid,
                    date,
                    archive,
                    debit,
                    bank_date,
                    text,
                )| {
                    Generated {
                        transaction_type,
                        amount,
                        negative,
                        kid,
                        date,
                        archive,
                        debit,
                        bank_date,
                        text: matches!(transaction_type, 20 | 21).then_some(text),
                    }
                },
            )
    }

    fn assignments() -> impl Strategy<Value = Vec<Vec<Generated>>> {
        proptest::collection::vec(proptest::collection::vec(generated(), 1..12), 1..4)
    }

    /// Renders transactions as Nets would: one assignment per inner list, correct end records.
    fn render(assignments: &[Vec<Generated>]) -> Vec<String> {
        let mut lines = vec![format!("NY00001000008080017003100010200{}", "0".repeat(49))];
        let (mut transactions, mut sum) = (0usize, 0u128);
        for (i, list) in assignments.iter().enumerate() {
            lines.push(format!(
                "NY090020001008566{:07}99991042764{}",
                i + 1,
                "0".repeat(45)
            ));
            let start = lines.len() - 1;
            for (n, t) in list.iter().enumerate() {
                let number = n + 1;
                let tt = t.transaction_type;
                let sign = if t.negative { '-' } else { '0' };
                lines.push(format!(
                    "NY09{tt:02}30{number:07}{}1320101464{sign}{:017}{:>25}000000",
                    ddmmyy(t.date),
                    t.amount,
                    t.kid
                ));
                lines.push(format!(
                    "NY09{tt:02}31{number:07}0000000000{}0000000{}{}{}",
                    t.archive,
                    t.bank_date.map_or("000000".to_owned(), ddmmyy),
                    t.debit,
                    "0".repeat(22)
                ));
                if let Some(text) = &t.text {
                    lines.push(format!(
                        "NY09{tt:02}32{number:07}{text:<40}{}",
                        "0".repeat(25)
                    ));
                }
                sum += u128::from(t.amount);
            }
            transactions += list.len();
            let first = list.iter().min_by_key(|t| t.nets_date()).unwrap();
            let last = list.iter().max_by_key(|t| t.nets_date()).unwrap();
            let own_sum: u64 = list.iter().map(|t| t.amount).sum();
            lines.push(format!(
                "NY090088{:08}{:08}{own_sum:017}{}{}{}{}",
                list.len(),
                lines.len() - start + 1,
                ddmmyy(last.date),
                ddmmyy(first.date),
                ddmmyy(last.date),
                "0".repeat(21)
            ));
        }
        lines.push(format!(
            "NY000089{transactions:08}{:08}{sum:017}200192{}",
            lines.len() + 1,
            "0".repeat(33)
        ));
        lines
    }

    fn amount_item_1_lines(lines: &[String]) -> Vec<usize> {
        (0..lines.len())
            .filter(|i| lines[*i].get(6..8) == Some("30"))
            .collect()
    }

    proptest! {
        #[test]
        fn generated_files_read_back_as_generated(assignments in assignments()) {
            let bytes = join(&render(&assignments));
            let read: Vec<OcrTransaction> = ocr_giro_transactions(bytes.as_slice())
                .collect::<Result<_, _>>()
                .unwrap();
            let expected: Vec<&Generated> = assignments.iter().flatten().collect();
            prop_assert_eq!(read.len(), expected.len());
            for (t, g) in read.iter().zip(expected) {
                prop_assert_eq!(t.transaction_type, g.transaction_type);
                let amount = i64::try_from(g.amount).unwrap();
                prop_assert_eq!(t.amount_minor, if g.negative { -amount } else { amount });
                prop_assert_eq!(t.kid.as_str(), g.kid.as_str());
                prop_assert_eq!(t.nets_date, g.nets_date());
                prop_assert_eq!(t.archive_reference.as_str(), g.archive.as_str());
                let debit = Some(g.debit.as_str()).filter(|d| d.bytes().any(|b| b != b'0'));
                prop_assert_eq!(t.debit_account.as_deref(), debit);
                let bank_date = g.bank_date.map(|d| NetsDate::from_ddmmyy(ddmmyy(d).as_bytes()).unwrap());
                prop_assert_eq!(t.bank_date, bank_date);
                let text = g.text.as_deref().map(|t| t.trim_matches(' ')).filter(|t| !t.is_empty());
                prop_assert_eq!(t.free_text.as_deref(), text);

                let record = t.to_raw_record();
                let amount_text = format_minor(t.amount_minor, '.');
                prop_assert_eq!(record.get("amount"), Some(amount_text.as_str()));
                let date_text = g.nets_date().iso();
                prop_assert_eq!(record.get("payment_date"), Some(date_text.as_str()));
                if !g.kid.is_empty() {
                    prop_assert_eq!(record.get("reference"), Some(g.kid.as_str()));
                }
            }
            let parsed = parse_ocr_giro(&bytes).unwrap();
            let ids: HashSet<_> = parsed.records.iter().map(|r| r.get("payment_id")).collect();
            prop_assert_eq!(ids.len(), parsed.records.len());
        }

        #[test]
        fn a_flipped_amount_digit_is_a_bad_control_total(
            assignments in assignments(),
            which in any::<prop::sample::Index>(),
            position in 33usize..=49,
            step in 1u8..=9,
        ) {
            let mut lines = render(&assignments);
            let items = amount_item_1_lines(&lines);
            let line = items[which.index(items.len())];
            let old = lines[line].as_bytes()[position - 1] - b'0';
            let new = char::from(b'0' + (old + step) % 10);
            lines[line].replace_range(position - 1..position, &new.to_string());
            let problems = parse_ocr_giro(&join(&lines)).unwrap_err();
            prop_assert!(problems.iter().all(|p| p.code == code::BAD_CONTROL_TOTAL), "{:?}", problems);
        }

        #[test]
        fn a_changed_count_is_a_bad_control_total(
            assignments in assignments(),
            which in any::<prop::sample::Index>(),
            records_count in any::<bool>(),
            delta in 1u64..1000,
        ) {
            let mut lines = render(&assignments);
            let ends: Vec<usize> = (0..lines.len())
                .filter(|i| matches!(lines[*i].get(6..8), Some("88" | "89")))
                .collect();
            let line = ends[which.index(ends.len())];
            let from = if records_count { 17 } else { 9 };
            let old: u64 = lines[line][from - 1..from + 7].parse().unwrap();
            let new = format!("{:08}", (old + delta) % 100_000_000);
            lines[line].replace_range(from - 1..from + 7, &new);
            let problems = parse_ocr_giro(&join(&lines)).unwrap_err();
            prop_assert!(problems.iter().all(|p| p.code == code::BAD_CONTROL_TOTAL), "{:?}", problems);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let _ = parse_ocr_giro(&bytes);
            let mut prefixed = b"NY000010".to_vec();
            prefixed.extend(&bytes);
            let _ = parse_ocr_giro(&prefixed);
        }

        #[test]
        fn damaged_files_never_panic(
            assignments in assignments(),
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
            cut in any::<prop::sample::Index>(),
        ) {
            let bytes = join(&render(&assignments));
            let mut damaged = bytes.clone();
            let i = at.index(damaged.len());
            damaged[i] = byte;
            let _ = parse_ocr_giro(&damaged);
            // Anything shorter than the file without its final line end is cut off.
            let cut = cut.index(bytes.len() - 1);
            prop_assert!(parse_ocr_giro(&bytes[..cut]).is_err());
        }
    }

    /// The reader holds one transaction at a time: a large file streams through it.
    #[test]
    fn a_large_file_streams_through_the_reader() {
        let one = Generated {
            transaction_type: 10,
            amount: 12_345,
            negative: false,
            kid: "1234567890".into(),
            date: (20, 1, 92),
            archive: "097596016".into(),
            debit: "99991005524".into(),
            bank_date: None,
            text: None,
        };
        let assignments = vec![vec![one; 20_000]];
        let bytes = join(&render(&assignments));
        let mut count = 0u64;
        let mut sum = 0i64;
        for transaction in ocr_giro_transactions(bytes.as_slice()) {
            let transaction = transaction.unwrap();
            count += 1;
            sum += transaction.amount_minor;
        }
        assert_eq!(count, 20_000);
        assert_eq!(sum, 20_000 * 12_345);
    }

    // ----- reading from a stream -----

    /// What a reader yields, as raw records, or its first `Err`.
    fn collected<R: BufRead>(input: R) -> Result<Vec<RawRecord>, Vec<Diagnostic>> {
        ocr_giro_transactions(input)
            .map(|t| t.map(|t| t.to_raw_record()))
            .collect()
    }

    /// A `Read` that fails, as a broken disk or connection would.
    struct Failing;

    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("connection reset"))
        }
    }

    /// 200 000 transactions stream from a file that is rendered as it is read: neither the
    /// test nor the reader ever holds more than a few records of it.
    #[test]
    fn two_hundred_thousand_generated_transactions_stream_through_the_reader() {
        let file = GeneratedOcrGiro::new(200_000, 60_000, b"\n");
        let mut reader = ocr_giro_transactions(io::BufReader::new(file));
        let (mut count, mut sum) = (0u64, 0i128);
        let mut last = None;
        for transaction in reader.by_ref() {
            let transaction = transaction.unwrap();
            count += 1;
            sum += i128::from(transaction.amount_minor);
            last = Some(transaction);
        }
        assert_eq!(count, 200_000);
        assert_eq!(u128::try_from(sum).unwrap(), GeneratedOcrGiro::sum(200_000));
        assert_eq!(reader.skipped(), 0);
        // 4 assignments of 60 000, 60 000, 60 000 and 20 000 transactions.
        let last = last.unwrap();
        assert_eq!(last.assignment_number, "0000004");
        assert_eq!(last.transaction_number, "0020000");
        // After the transmission start, three whole assignments and the fourth's start record.
        assert_eq!(last.record, 1 + 3 * 120_002 + 1 + 2 * 19_999 + 1);
        assert_eq!(last.nets_date.iso(), "2026-01-15");
        assert_eq!(last.kid, "1000199999");
        // What the reader kept: four assignments, and a record buffer that never grew.
        assert_eq!(reader.seen_assignments.len(), 4);
        assert!(reader.records.buf.capacity() < 4 * RECORD_LEN);
    }

    #[test]
    fn every_line_end_streams_past_the_first_bytes() {
        // 3 000 transactions are some 480 000 bytes: far beyond the bytes that decide the
        // layout, so records are read in every layout as the stream delivers them.
        for line_end in [&b"\n"[..], b"\r\n", b"\r", b""] {
            let file = || GeneratedOcrGiro::new(3_000, 1_000, line_end);
            assert_eq!(
                verify_ocr_giro(io::BufReader::new(file())),
                Ok(3_000),
                "{line_end:?}"
            );
            // A small buffer splits records and line ends between reads.
            let read = collected(io::BufReader::with_capacity(7, file())).unwrap();
            assert_eq!(read.len(), 3_000, "{line_end:?}");
            let sum: i64 = read.iter().map(minor).sum();
            assert_eq!(u128::try_from(sum).unwrap(), GeneratedOcrGiro::sum(3_000));
            assert_eq!(read[0].position, Position::Record(3));
            assert_eq!(
                read[2_999].position,
                Position::Record(1 + 2 * 2_002 + 1 + 1_999)
            );
        }
        assert_eq!(
            verify_ocr_giro(io::BufReader::new(GeneratedOcrGiro::new(0, 1, b"\n"))),
            Ok(0)
        );
    }

    #[test]
    fn a_reader_of_one_byte_at_a_time_reads_what_the_slice_holds() {
        let lines = lines_of(&sample());
        let mut with_bom = crate::ingest::detect::UTF8_BOM.to_vec();
        with_bom.extend(join(&lines));
        with_bom.extend(b"\n\n\x1a");
        let padded: Vec<String> = lines
            .iter()
            .map(|l| format!("{l}{}", " ".repeat(300)))
            .collect();
        let mut unbroken_crlf = lines.concat().into_bytes();
        unbroken_crlf.extend(b"\r\n");
        let mut damaged = lines.clone();
        damaged[9].pop();
        let files = [
            join(&lines),
            lines.join("\r\n").into_bytes(),
            lines.join("\r").into_bytes(),
            join(&padded),
            with_bom,
            lines.concat().into_bytes(),
            unbroken_crlf,
            join(&damaged),
            join(&lines[..30]),
        ];
        let expected = parse_ocr_giro(&sample()).unwrap().records;
        for (i, bytes) in files.iter().enumerate() {
            let one_by_one = collected(io::BufReader::with_capacity(1, bytes.as_slice()));
            assert_eq!(one_by_one, collected(bytes.as_slice()), "file {i}");
            if i < 7 {
                assert_eq!(one_by_one.as_ref(), Ok(&expected), "file {i}");
            }
        }
    }

    #[test]
    fn verify_checks_everything_and_keeps_nothing() {
        assert_eq!(verify_ocr_giro(sample().as_slice()), Ok(20));

        let mut lines = lines_of(&sample());
        patch(&mut lines, 43, 25, "00000000005144800");
        let problems = verify_ocr_giro(join(&lines).as_slice()).unwrap_err();
        assert_eq!(problems[0].code, code::BAD_CONTROL_TOTAL);
        assert_eq!(problems[0].position, Position::Record(44));
        assert_eq!(
            verify_ocr_giro(join(&lines).as_slice()),
            parse_ocr_giro(&join(&lines)).map(|p| p.records.len() as u64)
        );

        let mut lines = lines_of(&sample());
        lines[9].pop();
        assert_eq!(
            verify_ocr_giro(join(&lines).as_slice()).unwrap_err()[0].code,
            code::BAD_RECORD
        );
        assert_eq!(
            codes(parse_ocr_giro(&join(&lines[..44]))),
            verify_ocr_giro(join(&lines[..44]).as_slice())
                .unwrap_err()
                .iter()
                .map(|d| d.code)
                .collect::<Vec<_>>()
        );
        assert_eq!(
            verify_ocr_giro(&b""[..]).unwrap_err()[0].code,
            code::EMPTY_FILE
        );
    }

    #[test]
    fn a_read_error_is_an_unreadable_file() {
        // Failing at once: while the first bytes are read.
        let problems = verify_ocr_giro(io::BufReader::new(Failing)).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].code, code::UNREADABLE_FILE);
        assert_eq!(problems[0].position, Position::File);
        assert!(
            problems[0]
                .message
                .starts_with("the file could not be read"),
            "{problems:?}"
        );

        // Failing after 300 000 bytes: the transactions before are read, then the `Err` ends
        // the iterator.
        let input = GeneratedOcrGiro::new(5_000, 5_000, b"\n")
            .take(300_000)
            .chain(Failing);
        let mut reader = ocr_giro_transactions(io::BufReader::new(input));
        let read = reader.by_ref().take_while(Result::is_ok).count();
        assert_eq!(read, 300_000 / 162 - 1);
        assert_eq!(reader.next(), None);

        let input = GeneratedOcrGiro::new(5_000, 5_000, b"\n")
            .take(300_000)
            .chain(Failing);
        let problems = collected(io::BufReader::new(input)).unwrap_err();
        assert_eq!(problems[0].code, code::UNREADABLE_FILE);
    }

    #[test]
    fn a_line_of_megabytes_is_measured_not_held() {
        let lines = lines_of(&sample());
        let input = io::Cursor::new(format!("{}\n", lines[0]))
            .chain(io::repeat(b'x').take(3_000_000))
            .chain(&b"\n"[..]);
        let mut reader = ocr_giro_transactions(io::BufReader::new(input));
        let problems = reader.next().unwrap().unwrap_err();
        assert_eq!(problems[0].code, code::BAD_RECORD);
        assert_eq!(problems[0].position, Position::Record(2));
        assert!(
            problems[0].message.contains("3000000 characters"),
            "{problems:?}"
        );
        assert!(reader.records.buf.capacity() < 4 * RECORD_LEN);

        // So is the padding after a record, which is not part of it.
        let mut padded = lines.clone();
        padded[5].push_str(&" ".repeat(200_000));
        padded[5].push('\r');
        let bytes = join(&padded);
        let reader = io::BufReader::with_capacity(4096, bytes.as_slice());
        assert_eq!(
            collected(reader),
            Ok(parse_ocr_giro(&sample()).unwrap().records)
        );
    }

    proptest! {
        #[test]
        fn chunked_reading_matches_reading_the_slice(
            assignments in assignments(),
            line_end in prop::sample::select(vec!["\n", "\r\n", "\r", ""]),
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
            damage in any::<bool>(),
            capacity in 1usize..200,
        ) {
            let mut bytes = render(&assignments).join(line_end).into_bytes();
            if damage {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            let chunked = collected(io::BufReader::with_capacity(capacity, bytes.as_slice()));
            prop_assert_eq!(&chunked, &collected(bytes.as_slice()));
            if !damage {
                prop_assert_eq!(chunked.map(|r| r.len()), Ok(assignments.iter().flatten().count()));
            }
        }
    }
}
