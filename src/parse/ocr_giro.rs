//! Nets OCR giro (Norway): 80-character records → bank payment records, control totals checked.
//!
//! The file is one transmission (`NY000010` … `NY000089`) of assignments (`NY090020` …
//! `NY090088`), each holding transactions of two or three records: amount item 1 (record type
//! 30: date, amount, KID), amount item 2 (31: form number, archive reference, the payer's bank
//! date, debit account) and, for transaction types 20 and 21 only, amount item 3 (32: free text).
//!
//! The reader is an iterator over the byte slice ([`ocr_giro_transactions`]): it holds one
//! assignment's running totals, never the file's records, so a 2 000 000-record file is read in
//! memory that does not grow with it (only the set of assignment numbers seen, a few bytes per
//! assignment, does). Every end record is checked when it is reached, so a caller that applies
//! transactions must wait until the iterator has ended without an `Err`: a broken total at the
//! end rejects the whole file, including the transactions already yielded. [`parse_ocr_giro`]
//! does exactly that and collects the records.
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

use crate::detect::UTF8_BOM;
use crate::diagnostic::{Diagnostic, Position, code};
use crate::domain::FileKind;
use crate::money::format_minor;
use crate::parse::bgmax::reference_in_text;
use crate::parse::{ParsedFile, RawRecord};

/// Every OCR giro record is this long.
const RECORD_LEN: usize = 80;
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
/// of Nets' manual is from 1992) and 00–69 are 2000–2069. The calendar is not checked here:
/// validation reports an impossible `payment_date` on the record.
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
        Some(NetsDate {
            year: if yy < 70 { 2000 + yy } else { 1900 + yy },
            month: two(2)?,
            day: two(0)?,
        })
    }
}

impl fmt::Display for NetsDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.iso())
    }
}

/// One OCR giro transaction: its amount items 1, 2 and (types 20 and 21) 3, with the
/// assignment it belongs to. Text fields borrow from the file's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcrTransaction<'a> {
    /// The physical record (line) number of amount item 1, 1-based.
    pub record: u64,
    /// The assignment's agreement ID (9 digits, start record positions 9–17).
    pub agreement_id: &'a str,
    /// The assignment number (7 digits, positions 18–24).
    pub assignment_number: &'a str,
    /// The payee's account the assignment was credited to (11 digits, positions 25–35).
    pub assignment_account: &'a str,
    /// 10–21, see [`transaction_type_meaning`].
    pub transaction_type: u8,
    /// The transaction number (7 digits), ascending within the assignment.
    pub transaction_number: &'a str,
    /// The Nets date (settlement) of amount item 1.
    pub nets_date: NetsDate,
    /// The amount in øre, negative when the sign field says `-`.
    pub amount_minor: i64,
    /// The KID, leading spaces removed; empty when the payer gave none.
    pub kid: Cow<'a, str>,
    /// Amount item 2: the form number (10 digits; zeros for electronic payments).
    pub form_number: Cow<'a, str>,
    /// Amount item 2: the archive reference the bank gave the payment (9 positions).
    pub archive_reference: Cow<'a, str>,
    /// Amount item 2: the date the payer's bank handled the payment; `None` when zeros.
    pub bank_date: Option<NetsDate>,
    /// Amount item 2: the debited account (11 digits); `None` when zeros or blank.
    pub debit_account: Option<Cow<'a, str>>,
    /// Amount item 3 (types 20 and 21): the free text, trimmed; `None` when absent or blank.
    pub free_text: Option<Cow<'a, str>>,
}

impl OcrTransaction<'_> {
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
            record.set("payer_account", account.as_ref());
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

/// The transactions of an OCR giro file, read incrementally. The iterator ends after the
/// first `Err`; a caller must not apply anything unless the iterator ended without one.
pub fn ocr_giro_transactions(bytes: &[u8]) -> OcrGiroReader<'_> {
    OcrGiroReader {
        records: Records::new(bytes),
        phase: Phase::Start,
        assignment: None,
        transmission: Tally::default(),
        seen_assignments: HashSet::new(),
        skipped: 0,
    }
}

/// The incremental reader behind [`ocr_giro_transactions`].
pub struct OcrGiroReader<'a> {
    records: Records<'a>,
    phase: Phase,
    assignment: Option<Assignment<'a>>,
    transmission: Tally,
    seen_assignments: HashSet<(&'a str, &'a str)>,
    skipped: u64,
}

impl OcrGiroReader<'_> {
    /// Entries passed over so far (AvtaleGiro mandate entries).
    pub fn skipped(&self) -> u64 {
        self.skipped
    }
}

impl<'a> Iterator for OcrGiroReader<'a> {
    type Item = Result<OcrTransaction<'a>, Vec<Diagnostic>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.phase == Phase::Done {
            return None;
        }
        match self.step() {
            Ok(Some(transaction)) => Some(Ok(transaction)),
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

struct Assignment<'a> {
    /// The record number of the start record.
    start: u64,
    /// An AvtaleGiro assignment: counted and passed over.
    avtalegiro: bool,
    agreement_id: &'a str,
    number: &'a str,
    account: &'a str,
    tally: Tally,
    last_transaction: Option<u64>,
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

impl<'a> OcrGiroReader<'a> {
    /// Reads records until a transaction is complete (`Some`), the file has ended properly
    /// (`None`), or it cannot be read (`Err`).
    fn step(&mut self) -> Result<Option<OcrTransaction<'a>>, Vec<Diagnostic>> {
        loop {
            match self.phase {
                Phase::Done => return Ok(None),
                Phase::Start => {
                    self.transmission_start().map_err(one)?;
                    self.phase = Phase::Transmission;
                }
                Phase::Ended => {
                    return match self.records.next_record().map_err(one)? {
                        None => Ok(None),
                        Some(rec) => Err(one(rec.problem(
                            code::BAD_RECORD,
                            "a record follows the transmission end record (NY000089); an OCR giro file holds one transmission: remove what follows it or ask Nets for the file again",
                        ))),
                    };
                }
                Phase::Transmission => {
                    if let Some(transaction) = self.transmission_record()? {
                        return Ok(Some(transaction));
                    }
                }
            }
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
    fn transmission_record(&mut self) -> Result<Option<OcrTransaction<'a>>, Vec<Diagnostic>> {
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
                Kind::AssignmentStart => self.assignment_start(rec).map(|()| None).map_err(one),
                Kind::TransmissionEnd => {
                    self.transmission_end(rec)?;
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
        let (number, start) = (assignment.number, assignment.start);
        let service = assignment_service(assignment);
        match (kind, assignment.avtalegiro) {
            (Kind::AssignmentEnd, _) if rec.field(3, 4) == service => {
                self.assignment_end(rec)?;
                Ok(None)
            }
            (Kind::AmountItem1, false) => self.transaction(rec).map(Some).map_err(one),
            (Kind::AmountItem1 | Kind::AmountItem2 | Kind::AmountItem3 | Kind::Other, true) => {
                self.avtalegiro_record(rec).map(|()| None).map_err(one)
            }
            (Kind::AmountItem2 | Kind::AmountItem3, false) => Err(one(rec.problem(
                code::BAD_RECORD,
                format!(
                    "{} does not follow an amount item 1 (record type 30) of the same transaction",
                    rec.describe()
                ),
            ))),
            (Kind::AssignmentStart | Kind::TransmissionEnd | Kind::AssignmentEnd, _) => {
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
                format!("{} does not belong in an OCR giro assignment", rec.describe()),
            ))),
        }
    }

    fn count_record(&mut self) {
        self.transmission.records += 1;
        if let Some(a) = &mut self.assignment {
            a.tally.records += 1;
        }
    }

    fn assignment_start(&mut self, rec: Rec<'a>) -> Result<(), Diagnostic> {
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
            if !self.seen_assignments.insert((agreement_id, number)) {
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
            agreement_id,
            number,
            account,
            tally: Tally {
                records: 1,
                ..Tally::default()
            },
            last_transaction: None,
        });
        Ok(())
    }

    /// Reads amount items 1, 2 and (types 20 and 21) 3 of one transaction.
    fn transaction(&mut self, item1: Rec<'a>) -> Result<OcrTransaction<'a>, Diagnostic> {
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
        let kid = trim_spaces(decode(item1.field(50, 74)));

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
        let form_number = decode(item2.field(16, 25));
        let archive_reference = decode(item2.field(26, 34));
        let bank_date = match item2.field(42, 47) {
            b"000000" | b"      " => None,
            _ => Some(item2.date(42, 47, "bank date")?),
        };
        let debit_account = Some(trim_spaces(decode(item2.field(48, 58))))
            .filter(|a| !a.is_empty() && a.bytes().any(|b| b != b'0'));

        let mut free_text = None;
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
            free_text = Some(trim_spaces(decode(next.field(16, 55)))).filter(|t| !t.is_empty());
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
        Ok(OcrTransaction {
            record: item1.line,
            agreement_id: assignment.agreement_id,
            assignment_number: assignment.number,
            assignment_account: assignment.account,
            transaction_type,
            transaction_number: number_text,
            nets_date,
            amount_minor: if negative { -magnitude } else { magnitude },
            kid,
            form_number,
            archive_reference,
            bank_date,
            debit_account,
            free_text,
        })
    }

    /// A record of an AvtaleGiro assignment: counted, never applied. A transaction is an
    /// amount item 1 (cancellations) or a mandate record (type 70).
    fn avtalegiro_record(&mut self, rec: Rec<'a>) -> Result<(), Diagnostic> {
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

    fn assignment_end(&mut self, rec: Rec<'a>) -> Result<(), Vec<Diagnostic>> {
        let Some(assignment) = self.assignment.take() else {
            return Ok(());
        };
        let what = format!("assignment {}", assignment.number);
        let tally = &assignment.tally;
        let mut problems = Vec::new();
        let transactions = rec.number(9, 16, "number of transactions").map_err(one)?;
        let records = rec.number(17, 24, "number of records").map_err(one)?;
        compare(
            &rec,
            &mut problems,
            "assignment end record",
            Count("transactions", transactions),
            Count("transactions", tally.transactions),
            &what,
        );
        compare(
            &rec,
            &mut problems,
            "assignment end record",
            Count("records", records),
            Count("records", tally.records),
            &what,
        );
        if !assignment.avtalegiro {
            let sum = rec.number(25, 41, "sum of amounts").map_err(one)?;
            compare(
                &rec,
                &mut problems,
                "assignment end record",
                Sum(u128::from(sum)),
                Sum(tally.amount),
                &what,
            );
            rec.digits(42, 47, "settlement date").map_err(one)?;
            let first = rec.date(48, 53, "first date").map_err(one)?;
            let last = rec.date(54, 59, "last date").map_err(one)?;
            if let (Some(earliest), Some(latest)) = (tally.first, tally.last) {
                compare(
                    &rec,
                    &mut problems,
                    "assignment end record",
                    Dated("earliest", first),
                    Dated("earliest", earliest),
                    &what,
                );
                compare(
                    &rec,
                    &mut problems,
                    "assignment end record",
                    Dated("latest", last),
                    Dated("latest", latest),
                    &what,
                );
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    fn transmission_end(&mut self, rec: Rec<'a>) -> Result<(), Vec<Diagnostic>> {
        let transactions = rec.number(9, 16, "number of transactions").map_err(one)?;
        let records = rec.number(17, 24, "number of records").map_err(one)?;
        let sum = rec.number(25, 41, "sum of amounts").map_err(one)?;
        rec.digits(42, 47, "Nets date").map_err(one)?;
        let tally = &self.transmission;
        let mut problems = Vec::new();
        let what = "the file";
        compare(
            &rec,
            &mut problems,
            "transmission end record",
            Count("transactions", transactions),
            Count("transactions", tally.transactions),
            what,
        );
        compare(
            &rec,
            &mut problems,
            "transmission end record",
            Count("records", records),
            Count("records", tally.records),
            what,
        );
        compare(
            &rec,
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

fn assignment_service(assignment: &Assignment<'_>) -> &'static [u8] {
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
    rec: &Rec<'_>,
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

fn trim_spaces(text: Cow<'_, str>) -> Cow<'_, str> {
    match text {
        Cow::Borrowed(t) => Cow::Borrowed(t.trim_matches(' ')),
        Cow::Owned(t) => Cow::Owned(t.trim_matches(' ').to_owned()),
    }
}

/// Bytes shown in a message.
fn shown(bytes: &[u8]) -> String {
    decode(bytes).into_owned()
}

/// One 80-character record and its physical record (line) number.
#[derive(Debug, Clone, Copy)]
struct Rec<'a> {
    line: u64,
    bytes: &'a [u8],
}

impl<'a> Rec<'a> {
    /// Positions `from..=to` (1-based, as Nets' specification counts them).
    fn field(&self, from: usize, to: usize) -> &'a [u8] {
        self.bytes
            .get(from.saturating_sub(1)..to.min(self.bytes.len()))
            .unwrap_or_default()
    }

    fn problem(&self, code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::at(Position::Record(self.line), code, message)
    }

    /// A field that must be all digits.
    fn digits(&self, from: usize, to: usize, what: &str) -> Result<&'a str, Diagnostic> {
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
                format!("the {what} (positions {from}–{to}) is not a DDMMYY date"),
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
    fn continues(&self, kind: Kind, item1: &Rec<'_>, number: &str) -> Result<(), Diagnostic> {
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

/// The records of a file, one per line (LF, CRLF or CR; blank lines are passed over but keep
/// their number, so a record number is the line an editor shows). A file without any line
/// end whose length is a multiple of 80 is read as back-to-back 80-byte records.
struct Records<'a> {
    rest: &'a [u8],
    line: u64,
    unbroken: bool,
    /// `\n`, or `\r` for a file with old Mac line ends only.
    line_end: u8,
    peeked: Option<Rec<'a>>,
}

impl<'a> Records<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
        let content = bytes
            .iter()
            .rposition(|b| !matches!(b, b'\r' | b'\n' | b' ' | 0x1A))
            .map_or(0, |p| p + 1);
        let body = bytes.get(..content).unwrap_or(bytes);
        let has_lf = body.contains(&b'\n');
        let line_end = if !has_lf && body.contains(&b'\r') {
            b'\r'
        } else {
            b'\n'
        };
        let unbroken =
            !has_lf && line_end == b'\n' && content > RECORD_LEN && content % RECORD_LEN == 0;
        Records {
            rest: bytes,
            line: 0,
            unbroken,
            line_end,
            peeked: None,
        }
    }

    fn next_line(&mut self) -> Option<(u64, &'a [u8])> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            self.line += 1;
            let (line, rest) = if self.unbroken {
                self.rest.split_at(RECORD_LEN.min(self.rest.len()))
            } else {
                match self.rest.iter().position(|b| *b == self.line_end) {
                    Some(end) => (
                        self.rest.get(..end).unwrap_or_default(),
                        self.rest.get(end + 1..).unwrap_or_default(),
                    ),
                    None => (self.rest, &[][..]),
                }
            };
            self.rest = rest;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            // Blank lines and a DOS end-of-file mark (Ctrl-Z) are not records.
            if line
                .iter()
                .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x1A))
            {
                continue;
            }
            return Some((self.line, line));
        }
    }

    fn next_record(&mut self) -> Result<Option<Rec<'a>>, Diagnostic> {
        if let Some(rec) = self.peeked.take() {
            return Ok(Some(rec));
        }
        let Some((line, bytes)) = self.next_line() else {
            return Ok(None);
        };
        // Trailing spaces after position 80 (an editor's or a transfer's padding) are not
        // part of the record; anything else makes the length wrong.
        let bytes = match bytes.get(RECORD_LEN..) {
            Some(extra) if extra.iter().all(|b| *b == b' ') => {
                bytes.get(..RECORD_LEN).unwrap_or(bytes)
            }
            _ => bytes,
        };
        if bytes.len() != RECORD_LEN {
            return Err(Diagnostic::at(
                Position::Record(line),
                code::BAD_RECORD,
                format!(
                    "the record is {} characters long; OCR giro records are exactly 80 characters, one per line: the file was cut off, re-wrapped or edited",
                    bytes.len()
                ),
            ));
        }
        Ok(Some(Rec { line, bytes }))
    }

    fn peek_record(&mut self) -> Result<Option<Rec<'a>>, Diagnostic> {
        if self.peeked.is_none() {
            self.peeked = self.next_record()?;
        }
        Ok(self.peeked)
    }

    fn take_peeked(&mut self) {
        self.peeked = None;
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
            "/../shared/testdata/public/ocr-giro-nets-manual-sample.txt"
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
        let transactions: Vec<_> = ocr_giro_transactions(&bytes)
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

        let mut with_bom = crate::detect::UTF8_BOM.to_vec();
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
            let read: Vec<OcrTransaction<'_>> = ocr_giro_transactions(&bytes)
                .collect::<Result<_, _>>()
                .unwrap();
            let expected: Vec<&Generated> = assignments.iter().flatten().collect();
            prop_assert_eq!(read.len(), expected.len());
            for (t, g) in read.iter().zip(expected) {
                prop_assert_eq!(t.transaction_type, g.transaction_type);
                let amount = i64::try_from(g.amount).unwrap();
                prop_assert_eq!(t.amount_minor, if g.negative { -amount } else { amount });
                prop_assert_eq!(t.kid.as_ref(), g.kid.as_str());
                prop_assert_eq!(t.nets_date, g.nets_date());
                prop_assert_eq!(t.archive_reference.as_ref(), g.archive.as_str());
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
        for transaction in ocr_giro_transactions(&bytes) {
            let transaction = transaction.unwrap();
            count += 1;
            sum += transaction.amount_minor;
        }
        assert_eq!(count, 20_000);
        assert_eq!(sum, 20_000 * 12_345);
    }
}
