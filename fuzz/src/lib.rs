//! Shared harness of the fuzz targets in `fuzz_targets/`: the shipped configuration, loaded
//! once, and the invariants every target checks on what the library returns.
//!
//! The targets assert only what the library itself promises (in its doc comments and types):
//! no panic, a bounded amount of work, and cheap invariants such as "every diagnostic has a
//! 1-based position, a code and a message" or "a valid invoice has a positive amount". They
//! never reimplement a parser. See `docs/fuzzing.md`.

use std::path::PathBuf;
use std::sync::OnceLock;

use kravflyt::ingest::analysis::{self, Checked, OpenFailure, Readable};
use kravflyt::config::{Config, Sender};
use kravflyt::diagnostic::{Diagnostic, Position};
use kravflyt::domain::{DocumentType, FileKind, InboundFormat, PaymentKind};
use kravflyt::ingest::parse::{ParsedFile, RawRecord};
use kravflyt::ingest::validate::Context;
use kravflyt::ingest::validate::fields::MAX_TEXT_CHARS;
use kravflyt::ingest::validate::instruction::InstructionRecord;
use kravflyt::ingest::validate::invoice::InvoiceRecord;
use kravflyt::ingest::validate::payment::PaymentRecord;

/// The repository root (the parent of `fuzz/`).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The shipped configuration, `config/kravflyt.toml`, loaded once per process.
pub fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let root = repo();
        Config::load(&root.join("config/kravflyt.toml"), Some(&root))
            .unwrap_or_else(|e| panic!("the shipped configuration does not load: {e}"))
    })
}

/// A sender of the shipped configuration.
pub fn sender(id: &str) -> &'static Sender {
    config()
        .sender(id)
        .unwrap_or_else(|| panic!("no sender `{id}` in config/kravflyt.toml"))
}

/// The validation context of a sender of the shipped configuration.
pub fn context(sender_id: &str) -> Context<'static> {
    Context {
        config: config(),
        sender: sender(sender_id),
    }
}

// ---------------------------------------------------------------------------------------------
// Diagnostics and positions.

/// Positions are 1-based (`Line`, `Record`) or a non-empty element path.
pub fn check_position(position: &Position) {
    match position {
        Position::File => {}
        Position::Line(n) => assert!(*n >= 1, "line positions are 1-based: {position:?}"),
        Position::Record(n) => assert!(*n >= 1, "record positions are 1-based: {position:?}"),
        Position::Path(p) => assert!(!p.is_empty(), "an empty element path"),
    }
}

/// Every diagnostic has a position, a code and a sentence.
pub fn check_diagnostic(d: &Diagnostic) {
    check_position(&d.position);
    assert!(!d.code.is_empty(), "a diagnostic without a code: {d:?}");
    assert!(
        !d.message.trim().is_empty(),
        "a diagnostic without a message: {d:?}"
    );
    if let Some(field) = &d.field {
        assert!(!field.is_empty(), "an empty field name: {d:?}");
    }
}

/// A list of problems that explains a failure is never empty.
pub fn check_problems(problems: &[Diagnostic]) {
    assert!(!problems.is_empty(), "a failure without any diagnostic");
    problems.iter().for_each(check_diagnostic);
}

// ---------------------------------------------------------------------------------------------
// Parsers called directly.

/// What a parser that reads a whole file returns: positioned records of the expected kind, or
/// at least one diagnostic saying why the file cannot be read.
pub fn check_parsed(
    result: &Result<ParsedFile, Vec<Diagnostic>>,
    kind: Option<FileKind>,
    decimal_separator: char,
) {
    match result {
        Ok(parsed) => {
            if let Some(kind) = kind {
                assert_eq!(parsed.kind, kind, "a parser returned the wrong file kind");
            }
            assert_eq!(
                parsed.decimal_separator, decimal_separator,
                "XML and fixed-width parsers write amounts as plain decimals"
            );
            parsed.records.iter().for_each(check_raw_record);
            parsed.diagnostics.iter().for_each(check_diagnostic);
        }
        Err(problems) => check_problems(problems),
    }
}

pub fn check_raw_record(record: &RawRecord) {
    check_position(&record.position);
}

// ---------------------------------------------------------------------------------------------
// The production path: `analysis::open` and a pass over the records.

/// What one pass over a file's records gave, for comparing two passes.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen {
    Invoice(Position),
    Payment(Position),
    Instruction(Position),
    Invalid(Vec<Diagnostic>),
    Fatal(Diagnostic),
}

/// The outcome of running bytes through detection, decoding, parsing and validation.
#[derive(Debug)]
pub struct Analysed {
    pub format: Option<InboundFormat>,
    pub kind: Option<FileKind>,
    pub seen: Vec<Seen>,
    pub unreadable: Vec<Diagnostic>,
}

/// Runs `bytes` through [`analysis::open`] and [`Readable::records`] as sender `sender_id`
/// exactly as the pipeline does, checking every invariant on the way; two passes must agree.
pub fn analyse(bytes: &[u8], sender_id: &str) -> Analysed {
    let ctx = context(sender_id);
    let content: &[u8] = bytes;
    let readable = match analysis::open(&content, ctx) {
        Ok(readable) => readable,
        Err(OpenFailure::Unreadable(u)) => {
            check_problems(&u.diagnostics);
            if let Some(format) = u.format {
                // A format is named only once detection settled on one.
                let _ = format.as_str();
            }
            return Analysed {
                format: u.format,
                kind: u.kind,
                seen: Vec::new(),
                unreadable: u.diagnostics,
            };
        }
        Err(OpenFailure::Io(e)) => {
            panic!("open reported a disk error for content in memory: {e}")
        }
    };
    check_readable(&readable, ctx);
    let first = pass(&readable, &content, ctx);
    let second = pass(&readable, &content, ctx);
    assert!(first == second, "two passes over the same content differ");
    Analysed {
        format: Some(readable.format),
        kind: Some(readable.kind),
        seen: first,
        unreadable: Vec::new(),
    }
}

fn check_readable(readable: &Readable, ctx: Context<'_>) {
    assert!(
        ctx.sender.reads.contains(&readable.format),
        "a file was opened in a format the sender does not deliver"
    );
    let expected_kind = match readable.format {
        InboundFormat::Peppol => Some(FileKind::Invoices),
        InboundFormat::Camt053
        | InboundFormat::Camt054
        | InboundFormat::OcrGiro
        | InboundFormat::BgMax => Some(FileKind::Payments),
        InboundFormat::Csv | InboundFormat::KravflytXml => None,
    };
    if let Some(kind) = expected_kind {
        assert_eq!(readable.kind, kind, "{} files hold {kind}", readable.format);
    }
    if readable.format == InboundFormat::Csv {
        assert_eq!(readable.skipped(), 0, "CSV passes nothing over");
    }
}

fn pass(readable: &Readable, content: &&[u8], ctx: Context<'_>) -> Vec<Seen> {
    let records = match readable.records(content, ctx) {
        Ok(records) => records,
        Err(e) => panic!("a pass over content in memory failed with a disk error: {e}"),
    };
    let mut seen = Vec::new();
    let mut last_line = 0u64;
    for checked in records {
        if let Some(Seen::Fatal(d)) = seen.last() {
            panic!("a record after a fatal problem ({d:?}): the file cannot be read past it");
        }
        let item = match checked {
            Checked::Invoice(r) => {
                assert_eq!(readable.kind, FileKind::Invoices);
                check_invoice(&r, ctx);
                Seen::Invoice(r.position)
            }
            Checked::Payment(r) => {
                assert_eq!(readable.kind, FileKind::Payments);
                check_payment(&r, ctx);
                Seen::Payment(r.position)
            }
            Checked::Instruction(r) => {
                assert_eq!(readable.kind, FileKind::Instructions);
                check_instruction(&r, ctx);
                Seen::Instruction(r.position)
            }
            Checked::Invalid(problems) => {
                check_problems(&problems);
                Seen::Invalid(problems)
            }
            Checked::Fatal(d) => {
                check_diagnostic(&d);
                Seen::Fatal(d)
            }
            Checked::Io(e) => panic!("a disk error reading content in memory: {e}"),
        };
        // CSV is streamed in file order: lines never go back.
        if readable.format == InboundFormat::Csv {
            for position in positions(&item) {
                if let Position::Line(n) = position {
                    assert!(
                        *n >= last_line,
                        "CSV line {n} reported after line {last_line}"
                    );
                    last_line = *n;
                }
            }
        }
        seen.push(item);
    }
    seen
}

fn positions(seen: &Seen) -> Vec<&Position> {
    match seen {
        Seen::Invoice(p) | Seen::Payment(p) | Seen::Instruction(p) => vec![p],
        Seen::Invalid(problems) => problems.iter().map(|d| &d.position).collect(),
        Seen::Fatal(d) => vec![&d.position],
    }
}

/// A text value that passed validation: no control characters, not over the length limit.
fn check_text(name: &str, value: &str) {
    assert!(!value.is_empty(), "{name} is empty but valid");
    assert!(
        !value.chars().any(char::is_control),
        "{name} has control characters but is valid"
    );
    assert!(
        value.chars().count() <= MAX_TEXT_CHARS,
        "{name} is longer than {MAX_TEXT_CHARS} characters but valid"
    );
}

fn check_creditor_allowed(ctx: Context<'_>, id: &str) {
    assert!(
        ctx.sender.may_act_for(id),
        "a valid record of creditor `{id}`, which sender `{}` does not act for",
        ctx.sender.id
    );
    assert!(
        ctx.config.creditor(id).is_some(),
        "a valid record of creditor `{id}`, which is not a creditor of the agency"
    );
}

/// What `validate_invoice` promises of an invoice it accepts.
pub fn check_invoice(r: &InvoiceRecord, ctx: Context<'_>) {
    check_position(&r.position);
    check_creditor_allowed(ctx, &r.creditor_id);
    let creditor = ctx.config.creditor(&r.creditor_id).unwrap();
    assert!(
        creditor.accepts_currency(&r.currency),
        "currency not accepted for the creditor"
    );
    assert!(
        r.amount_minor > 0,
        "a valid invoice amount is > 0: {}",
        r.amount_minor
    );
    assert!(r.reminder_fee_minor >= 0 && r.paid_minor >= 0);
    assert!(r.due_date >= r.issue_date, "due before issue");
    if let Some(notice) = r.notice_sent_date {
        assert!(notice > r.due_date, "notice sent before the due date");
    }
    match r.document_type {
        DocumentType::Invoice => {
            assert!(r.credited_invoice_no.is_none());
            assert!(r.paid_minor < r.amount_minor, "a paid invoice was accepted");
        }
        DocumentType::CreditNote => {
            assert!(r.credited_invoice_no.is_some());
            assert_eq!((r.reminder_fee_minor, r.paid_minor), (0, 0));
        }
    }
    assert!(
        r.country.len() == 2 && r.country.bytes().all(|b| b.is_ascii_uppercase()),
        "country `{}`",
        r.country
    );
    for (name, value) in [
        ("invoice_no", &r.invoice_no),
        ("customer_no", &r.customer_no),
        ("debtor_name", &r.debtor_name),
        ("address", &r.address),
        ("postcode", &r.postcode),
        ("city", &r.city),
        ("currency", &r.currency),
    ] {
        check_text(name, value);
    }
    if let Some(reference) = &r.reference {
        assert_eq!(
            kravflyt::reference::normalize(reference),
            *reference,
            "references are kept normalised"
        );
    }
}

/// What `validate_payment` promises of a payment it accepts.
pub fn check_payment(r: &PaymentRecord, ctx: Context<'_>) {
    check_position(&r.position);
    check_text("payment_id", &r.payment_id);
    assert_ne!(r.amount_minor, 0, "a valid payment moves money");
    assert!(
        r.currency.len() == 3 && r.currency.bytes().all(|b| b.is_ascii_uppercase()),
        "currency `{}`",
        r.currency
    );
    if let Some(id) = &r.creditor_id {
        check_creditor_allowed(ctx, id);
    }
    if r.kind == PaymentKind::Direct {
        assert!(
            r.creditor_id.is_some(),
            "a direct payment names its creditor"
        );
        assert!(r.reference.is_some() || r.invoice_no.is_some());
        if r.amount_minor < 0 {
            assert!(
                r.reverses.is_some(),
                "a direct reversal names what it reverses"
            );
        }
    }
    if let Some(reversed) = &r.reverses {
        assert!(r.amount_minor < 0, "a reversal has a negative amount");
        assert_ne!(reversed, &r.payment_id, "a payment reverses itself");
    }
    if let Some(reference) = &r.reference {
        assert_eq!(
            kravflyt::reference::normalize(reference),
            *reference,
            "references are kept normalised"
        );
    }
}

/// What `validate_instruction` promises of an instruction it accepts.
pub fn check_instruction(r: &InstructionRecord, ctx: Context<'_>) {
    check_position(&r.position);
    check_text("instruction_id", &r.instruction_id);
    check_creditor_allowed(ctx, &r.creditor_id);
}

// ---------------------------------------------------------------------------------------------
// CSV: the streaming reader against reading the decoded text whole.

/// Reads `bytes` with the sender's dialect twice: streamed through [`decoding_reader`] (as the
/// pipeline does) and decoded whole with [`kravflyt::ingest::decode::decode`] then [`parse_csv`]. The
/// two must agree on every record, row problem and line (the streamed reader decodes in
/// chunks, so this catches line counting that depends on where a chunk ends). Skipped when the
/// bytes are not text in the sender's encoding (the whole-file decoder refuses them; the
/// streamed reader reports them as a fatal row problem, checked by [`analyse`]) and for
/// UTF-16 files (see below).
///
/// [`decoding_reader`]: kravflyt::ingest::parse::csv::decoding_reader
/// [`parse_csv`]: kravflyt::ingest::parse::csv::parse_csv
pub fn compare_csv_readers(bytes: &[u8], sender_id: &str) {
    use kravflyt::ingest::parse::csv::{CsvRecords, RowProblem, decoding_reader, parse_csv};
    let dialect = &sender(sender_id).csv;
    // A UTF-16 byte order mark: the streamed reader refuses the file (`bad_encoding`), which
    // the whole-file decoder, used for no CSV in production, does not know about.
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return;
    }
    // Two or more UTF-8 byte order marks: the readers drop different numbers of them (the
    // whole-file decoder one, the streamed one one, or two for windows-1252, and the CSV
    // reader one more), so the header differs by a U+FEFF. Kept in
    // tests/data/fuzz-regressions/csv_native_export/ and reported; see docs/fuzzing.md.
    if bytes.starts_with(b"\xEF\xBB\xBF\xEF\xBB\xBF") {
        return;
    }
    let Ok(text) = kravflyt::ingest::decode::decode(bytes, dialect.encoding) else {
        return;
    };
    let whole = parse_csv(&text, dialect);
    let streamed = (|| {
        let rows = CsvRecords::new(decoding_reader(bytes, dialect.encoding), dialect)?;
        let kind = rows.kind();
        let mut records = Vec::new();
        let mut diagnostics = Vec::new();
        for row in rows {
            match row {
                Ok(record) => records.push(record),
                Err(RowProblem::Record(d)) => diagnostics.push(d),
                Err(RowProblem::Fatal(d)) => return Err(vec![d]),
                Err(RowProblem::Io(e)) => panic!("a disk error reading content in memory: {e}"),
            }
        }
        Ok(ParsedFile {
            kind,
            records,
            diagnostics,
            skipped: 0,
            decimal_separator: dialect.decimal_separator,
        })
    })();
    check_parsed(&streamed, None, dialect.decimal_separator);
    assert_eq!(
        whole, streamed,
        "reading the decoded text whole and streaming the bytes disagree"
    );
}
