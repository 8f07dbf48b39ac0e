//! ISO 20022 camt.053 and camt.054 bank statements → bank payment records.
//!
//! Booked credit entries become payments of kind `bank`, one per transaction detail (`TxDtls`);
//! an entry without details is one payment. Debits and entries that are not booked are counted
//! in `skipped`, so the receipt shows that they were seen. A booked debit with the reversal
//! indicator (`RvslInd` true) undoes an earlier credit, in ISO 20022's own terms: it becomes a
//! payment with a negative amount. A credit with the indicator undoes an earlier debit (money
//! returned to the account holder, not paid by a debtor) and is skipped. The mapping is tabled in `docs/xml-formats.md`.
//!
//! Versions: any `camt.053.001.NN` / `camt.054.001.NN` namespace is read. The elements used
//! here kept their names from .02 to .08 except where noted, and both forms are read whatever
//! the version says, since banks mix them:
//! - status: `Sts` is text (`<Sts>BOOK</Sts>`) up to .06 and a choice from .07 on
//!   (`<Sts><Cd>BOOK</Cd></Sts>`);
//! - related parties: `Dbtr/Nm` up to .07, `Dbtr/Pty/Nm` from .08 (`Dbtr` may then be an
//!   agent instead, which has no name to read);
//! - `TxDtls/Amt` and `TxDtls/CdtDbtInd` exist from .03 on; in .02 the detail's amount is only in
//!   `AmtDtls/TxAmt/Amt`.

use std::collections::HashMap;

use crate::diagnostic::{Diagnostic, Position, code};
use crate::domain::FileKind;
use crate::ingest::parse::xml::{self, Element, XmlLimits, collapse_whitespace, read_tree, step};
use crate::ingest::parse::{ParsedFile, RawRecord};

const NS_PREFIX: &str = "urn:iso:std:iso:20022:tech:xsd:camt.05";

/// Which camt message a document is: its message element and its repeated report element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Message {
    /// camt.053 bank to customer statement.
    Statement,
    /// camt.054 bank to customer debit/credit notification.
    Notification,
}

impl Message {
    fn from_namespace(ns: &str) -> Option<Message> {
        let rest = ns.strip_prefix(NS_PREFIX)?;
        let (message, version) = rest.split_once(".001.")?;
        let version_ok = version.len() == 2 && version.bytes().all(|b| b.is_ascii_digit());
        match (message, version_ok) {
            ("3", true) => Some(Message::Statement),
            ("4", true) => Some(Message::Notification),
            _ => None,
        }
    }

    fn element(self) -> &'static str {
        match self {
            Message::Statement => "BkToCstmrStmt",
            Message::Notification => "BkToCstmrDbtCdtNtfctn",
        }
    }

    fn report(self) -> &'static str {
        match self {
            Message::Statement => "Stmt",
            Message::Notification => "Ntfctn",
        }
    }
}

/// Reads a camt.053 or camt.054 document. `Err` when it is not well-formed XML or not a
/// camt.053 / camt.054 `Document` with its message element.
pub fn parse_camt(text: &str) -> Result<ParsedFile, Vec<Diagnostic>> {
    let root = read_tree(text, XmlLimits::DEFAULT).map_err(|d| vec![d])?;
    let namespace = root.namespace().unwrap_or("");
    let message = match Message::from_namespace(namespace) {
        Some(message) if root.name() == "Document" => message,
        _ => {
            return Err(vec![Diagnostic::file(
                code::UNKNOWN_FORMAT,
                format!(
                    "the root element is `{}` in namespace `{}`, not an ISO 20022 camt.053 or camt.054 Document",
                    root.name(),
                    if namespace.is_empty() {
                        "(none)"
                    } else {
                        namespace
                    }
                ),
            )]);
        }
    };
    let Some(body) = root.child(namespace, message.element()) else {
        return Err(vec![Diagnostic::at(
            Position::Path("/Document".into()),
            code::MALFORMED_XML,
            format!(
                "the Document has no `{}` element: a {} file must hold one",
                message.element(),
                match message {
                    Message::Statement => "camt.053",
                    Message::Notification => "camt.054",
                }
            ),
        )]);
    };
    let mut reader = Reader {
        ns: namespace,
        records: Vec::new(),
        diagnostics: Vec::new(),
        skipped: 0,
    };
    let message_id = body
        .find_in(namespace, &["GrpHdr", "MsgId"])
        .and_then(text_of);
    for (r, report) in body.children_named(namespace, message.report()).enumerate() {
        let report_path = format!(
            "/Document/{}/{}",
            message.element(),
            step(message.report(), r + 1)
        );
        let report_id = report
            .child(namespace, "Id")
            .and_then(text_of)
            .or_else(|| message_id.clone());
        for (e, entry) in report.children_named(namespace, "Ntry").enumerate() {
            let entry_path = format!("{report_path}/{}", step("Ntry", e + 1));
            reader.entry(entry, &entry_path, e + 1, report_id.as_deref());
        }
    }
    Ok(ParsedFile {
        kind: FileKind::Payments,
        records: reader.records,
        diagnostics: reader.diagnostics,
        skipped: reader.skipped,
        decimal_separator: '.',
    })
}

struct Reader<'d> {
    ns: &'d str,
    records: Vec<RawRecord>,
    diagnostics: Vec<Diagnostic>,
    skipped: u64,
}

/// What an entry or detail is, from its indicators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Credit,
    Debit,
}

impl<'d> Reader<'d> {
    fn find(&self, element: &'d Element, path: &[&str]) -> Option<&'d Element> {
        element.find_in(self.ns, path)
    }

    fn text(&self, element: &'d Element, path: &[&str]) -> Option<String> {
        self.find(element, path).and_then(text_of)
    }

    fn direction(&self, element: &'d Element) -> Result<Option<Direction>, String> {
        match self.text(element, &["CdtDbtInd"]).as_deref() {
            None => Ok(None),
            Some("CRDT") => Ok(Some(Direction::Credit)),
            Some("DBIT") => Ok(Some(Direction::Debit)),
            Some(other) => Err(other.chars().take(20).collect()),
        }
    }

    /// A rejected entry or detail, keyed by the bank's reference when it has one.
    fn reject(&mut self, path: &str, key: Option<&str>, message: String) {
        self.diagnostics.push(
            Diagnostic::at(Position::Path(path.to_owned()), code::BAD_RECORD, message)
                .with_key(key),
        );
    }

    /// Hands on a payment, unless its amount was written with a minus sign. camt amounts are
    /// never negative (the schema's minimum is 0): the credit/debit indicator says which way
    /// the money went. A credit written `-500.00` is not money taken back and must not become
    /// a negative payment, which would undo another payment; it is rejected on its own.
    fn push(&mut self, record: RawRecord, signed: Option<String>, reversal: bool) {
        let Some(written) = signed else {
            self.records.push(record);
            return;
        };
        let what = if reversal {
            "this is a reversal (a `DBIT` with `RvslInd`), which is already read as money taken back"
        } else {
            "this is a credit (`CRDT`), money received, which cannot be negative"
        };
        let diagnostic = Diagnostic::at(
            record.position.clone(),
            code::BAD_AMOUNT,
            format!(
                "the amount `{written}` has a minus sign, but camt amounts are written without one and the credit/debit indicator (CdtDbtInd) gives the direction: {what}; ask the bank for a corrected statement"
            ),
        )
        .with_field("amount")
        .with_key(record.get("payment_id"));
        self.diagnostics.push(diagnostic);
    }

    /// One `Ntry`: nothing, a skip, a rejected entry, or a payment per transaction detail.
    fn entry(&mut self, entry: &'d Element, path: &str, number: usize, report_id: Option<&str>) {
        let entry_ref = self.text(entry, &["AcctSvcrRef"]);
        // .02: <Sts>BOOK</Sts>; .08: <Sts><Cd>BOOK</Cd></Sts>.
        let status = self
            .text(entry, &["Sts", "Cd"])
            .or_else(|| self.text(entry, &["Sts", "Prtry"]))
            .or_else(|| self.text(entry, &["Sts"]));
        let Some(status) = status else {
            self.reject(
                path,
                entry_ref.as_deref(),
                "the entry has no status (Sts), so it cannot be told whether the money is booked; ask the bank for a complete statement".into(),
            );
            return;
        };
        let direction = match self.direction(entry) {
            Ok(Some(direction)) => direction,
            Ok(None) => {
                self.reject(
                    path,
                    entry_ref.as_deref(),
                    "the entry has no credit/debit indicator (CdtDbtInd); ask the bank for a complete statement".into(),
                );
                return;
            }
            Err(other) => {
                self.reject(
                    path,
                    entry_ref.as_deref(),
                    format!(
                        "the entry's credit/debit indicator `{other}` is neither CRDT nor DBIT"
                    ),
                );
                return;
            }
        };
        // Pending and information-only entries may still change or never happen: only money
        // the bank has booked is a payment.
        if status != "BOOK" {
            self.skipped += 1;
            return;
        }
        let reversal = self
            .text(entry, &["RvslInd"])
            .is_some_and(|r| r == "true" || r == "1");
        // Debits are not payments; a reversed debit (a credit with the indicator) is money
        // coming back, not a debtor paying. A reversed credit (a debit with the indicator) is.
        if (direction == Direction::Debit) != reversal {
            self.skipped += 1;
            return;
        }

        let booking_date = self
            .date(entry, "BookgDt")
            .or_else(|| self.date(entry, "ValDt"));
        let entry_amount = self.find(entry, &["Amt"]);

        // Transaction details of every NtryDtls, numbered through the entry.
        let details: Vec<(String, &'d Element)> = entry
            .children_named(self.ns, "NtryDtls")
            .enumerate()
            .flat_map(|(d, dtls)| {
                dtls.children_named(self.ns, "TxDtls")
                    .enumerate()
                    .map(move |(t, tx)| {
                        (
                            format!(
                                "{path}/{}/{}",
                                step("NtryDtls", d + 1),
                                step("TxDtls", t + 1)
                            ),
                            tx,
                        )
                    })
            })
            .collect();
        let tx_refs: Vec<Option<String>> = details
            .iter()
            .map(|(_, tx)| self.text(tx, &["Refs", "AcctSvcrRef"]))
            .collect();
        // Counted once per entry: a batch may hold thousands of details.
        let mut ref_counts: HashMap<&str, usize> = HashMap::new();
        for r in tx_refs.iter().flatten() {
            *ref_counts.entry(r.as_str()).or_insert(0) += 1;
        }

        if details.is_empty() {
            let mut record = RawRecord::new(Position::Path(path.to_owned()));
            record.set("kind", "bank");
            set(&mut record, "payment_date", booking_date);
            let signed = entry_amount.and_then(|amount| set_amount(&mut record, amount, reversal));
            let id = match (&entry_ref, report_id) {
                (Some(r), _) => Some(format!("{r}/1")),
                (None, Some(report)) => Some(fallback_id(report, entry, self.ns, number, 1)),
                (None, None) => None,
            };
            set(&mut record, "payment_id", id);
            self.push(record, signed, reversal);
            return;
        }

        let single = details.len() == 1;
        for (index, ((detail_path, tx), tx_ref)) in details.iter().zip(&tx_refs).enumerate() {
            let index = index + 1;
            // A detail may carry its own indicator (from .03); a debit line inside a credit
            // entry is not a payment to us.
            let detail_direction = match self.direction(tx) {
                Ok(d) => d.unwrap_or(direction),
                Err(other) => {
                    self.reject(
                        detail_path,
                        tx_ref.as_deref().or(entry_ref.as_deref()),
                        format!("the transaction's credit/debit indicator `{other}` is neither CRDT nor DBIT"),
                    );
                    continue;
                }
            };
            if (detail_direction == Direction::Debit) != reversal {
                self.skipped += 1;
                continue;
            }
            let mut record = RawRecord::new(Position::Path(detail_path.clone()));
            record.set("kind", "bank");
            set(&mut record, "payment_date", booking_date.clone());
            let amount = self
                .find(tx, &["AmtDtls", "TxAmt", "Amt"])
                .or_else(|| self.find(tx, &["Amt"]))
                .or(if single { entry_amount } else { None });
            let signed = amount.and_then(|amount| set_amount(&mut record, amount, reversal));
            // The transaction's own bank reference, unless the bank repeated one reference on
            // several details of this entry; then the index tells them apart.
            let repeated = tx_ref
                .as_deref()
                .is_some_and(|r| ref_counts.get(r).is_some_and(|n| *n > 1));
            let id = match (tx_ref, &entry_ref, report_id) {
                (Some(r), _, _) if !repeated => Some(r.clone()),
                (Some(r), _, _) => Some(format!("{r}/{index}")),
                (None, Some(r), _) => Some(format!("{r}/{index}")),
                (None, None, Some(report)) => {
                    Some(fallback_id(report, entry, self.ns, number, index))
                }
                (None, None, None) => None,
            };
            set(&mut record, "payment_id", id);
            set(&mut record, "reference", self.reference(tx));
            let payer = self
                .text(tx, &["RltdPties", "Dbtr", "Nm"])
                .or_else(|| self.text(tx, &["RltdPties", "Dbtr", "Pty", "Nm"]));
            set(&mut record, "payer_name", payer);
            let account = self
                .text(tx, &["RltdPties", "DbtrAcct", "Id", "IBAN"])
                .or_else(|| self.text(tx, &["RltdPties", "DbtrAcct", "Id", "Othr", "Id"]))
                .map(|a| a.split_whitespace().collect::<String>());
            set(&mut record, "payer_account", account);
            self.push(record, signed, reversal);
        }
    }

    /// `BookgDt` or `ValDt`: `Dt`, else the date part of `DtTm` (the bank's local date as
    /// written, not converted to another zone).
    fn date(&self, entry: &'d Element, which: &str) -> Option<String> {
        self.text(entry, &[which, "Dt"]).or_else(|| {
            self.text(entry, &[which, "DtTm"])
                .map(|t| t.get(..10).map_or(t.clone(), str::to_owned))
        })
    }

    /// The reference the payer gave: structured creditor reference, else the referred
    /// document's number, else the longest digit run of the unstructured text.
    fn reference(&self, tx: &'d Element) -> Option<String> {
        let remittance = self.find(tx, &["RmtInf"])?;
        let structured: Vec<&Element> = remittance.children_named(self.ns, "Strd").collect();
        let compact = |s: String| s.split_whitespace().collect::<String>();
        structured
            .iter()
            .find_map(|s| self.text(s, &["CdtrRefInf", "Ref"]))
            .or_else(|| {
                structured.iter().find_map(|s| {
                    s.children_named(self.ns, "RfrdDocInf")
                        .find_map(|d| self.text(d, &["Nb"]))
                })
            })
            .map(compact)
            .or_else(|| {
                remittance
                    .children_named(self.ns, "Ustrd")
                    .filter_map(Element::value)
                    .filter_map(longest_digit_run)
                    .fold(None, |best: Option<String>, run| match best {
                        Some(b) if b.len() >= run.len() => Some(b),
                        _ => Some(run),
                    })
            })
    }
}

/// The payment id of a transaction that has no bank reference at all: the statement's (or
/// notification's) `Id`, the entry's own `NtryRef` or else its number in the report, and the
/// detail's number, e.g. `STMT-2026-03-02/7/1`. The same file always gives the same ids, and
/// a statement id is unique per account at the bank.
fn fallback_id(report: &str, entry: &Element, ns: &str, number: usize, index: usize) -> String {
    let entry_key = entry
        .find_in(ns, &["NtryRef"])
        .and_then(text_of)
        .unwrap_or_else(|| number.to_string());
    format!("{report}/{entry_key}/{index}")
}

/// The longest run of 2 to 25 consecutive digits in free text (the first of equal length).
/// Payers type their KID, OCR or reference number into the message field among other words
/// (`Faktura 10023 KID 1234567897`); a reference is one unbroken number, and 25 digits is the
/// longest reference any Nordic scheme allows, so longer runs (account numbers) are not one.
/// Whether the run really is a valid reference is judged later, by its check digit.
fn longest_digit_run(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|run| (2..=25).contains(&run.len()))
        .fold(None, |best: Option<&str>, run| match best {
            Some(b) if b.len() >= run.len() => Some(b),
            _ => Some(run),
        })
        .map(str::to_owned)
}

/// Amount and currency from an `Amt` element; negative for a reversal. Returns the amount as
/// written (shortened) when it carries a minus sign, which camt amounts never do: the caller
/// rejects that payment instead of handing it on.
fn set_amount(record: &mut RawRecord, amount: &Element, reversal: bool) -> Option<String> {
    let mut signed_as_written = None;
    if let Some(value) = amount.value() {
        // Only a number with a sign: text that is no number at all is left to validation,
        // which says so.
        let written = value.trim();
        let is_number = written.strip_prefix('-').is_some_and(|unsigned| {
            let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
            !(int.is_empty() && frac.is_empty())
                && int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
        });
        if is_number {
            signed_as_written = Some(written.chars().take(40).collect());
        }
        let plain = xml::plain_amount(value);
        let signed = match (reversal, plain.strip_prefix('-')) {
            (false, _) => plain,
            (true, Some(_)) => plain,
            (true, None) if plain == "0.00" => plain,
            (true, None) => format!("-{plain}"),
        };
        record.set("amount", signed);
    }
    if let Some(currency) = amount
        .attribute("Ccy")
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        record.set("currency", currency.to_ascii_uppercase());
    }
    signed_as_written
}

fn text_of(element: &Element) -> Option<String> {
    element.value().map(collapse_whitespace)
}

fn set(record: &mut RawRecord, column: &str, value: Option<String>) {
    if let Some(value) = value.filter(|v| !v.is_empty()) {
        record.set(column, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::parse::xml::testing::mutate;
    use proptest::prelude::*;

    /// A Norwegian bank's intraday notification, version .02: KID, an invoice number and a
    /// free-text message in one batch, a debit, a pending credit and a reversed credit.
    const CAMT054_V02: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <BkToCstmrDbtCdtNtfctn>
    <GrpHdr>
      <MsgId>NTF20260302-0001</MsgId>
      <CreDtTm>2026-03-02T18:00:00</CreDtTm>
    </GrpHdr>
    <Ntfctn>
      <Id>NTF20260302-0001-1</Id>
      <CreDtTm>2026-03-02T18:00:00</CreDtTm>
      <Acct><Id><IBAN>NO9386011117947</IBAN></Id><Ccy>NOK</Ccy></Acct>
      <Ntry>
        <Amt Ccy="NOK">1499.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2026-03-02</Dt></BookgDt>
        <ValDt><Dt>2026-03-03</Dt></ValDt>
        <AcctSvcrRef>E-1001</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Refs><AcctSvcrRef>T-1001-A</AcctSvcrRef><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
            <AmtDtls><TxAmt><Amt Ccy="NOK">1499.00</Amt></TxAmt></AmtDtls>
            <RltdPties>
              <Dbtr><Nm>Kari
                Nordmann</Nm></Dbtr>
              <DbtrAcct><Id><Othr><Id>1503 12 34567</Id></Othr></Id></DbtrAcct>
            </RltdPties>
            <RmtInf>
              <Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>2345 6789 0123</Ref></CdtrRefInf></Strd>
            </RmtInf>
          </TxDtls>
        </NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="NOK">3250.50</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2026-03-02</Dt></BookgDt>
        <AcctSvcrRef>E-1002</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls>
          <Btch><NbOfTxs>3</NbOfTxs></Btch>
          <TxDtls>
            <AmtDtls><TxAmt><Amt Ccy="NOK">1000</Amt></TxAmt></AmtDtls>
            <RltdPties>
              <Dbtr><Nm>Ola Hansen AS</Nm></Dbtr>
              <DbtrAcct><Id><IBAN>NO93 8601 1117 947</IBAN></Id></DbtrAcct>
            </RltdPties>
            <RmtInf><Strd><RfrdDocInf><Nb>F-10023</Nb></RfrdDocInf></Strd></RmtInf>
          </TxDtls>
          <TxDtls>
            <AmtDtls><TxAmt><Amt Ccy="NOK">2000.5</Amt></TxAmt></AmtDtls>
            <RmtInf><Ustrd>Faktura 10023 KID 1234567897 takk</Ustrd></RmtInf>
          </TxDtls>
          <TxDtls>
            <AmtDtls><TxAmt><Amt Ccy="NOK">250</Amt></TxAmt></AmtDtls>
          </TxDtls>
        </NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="NOK">75.00</Amt>
        <CdtDbtInd>DBIT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2026-03-02</Dt></BookgDt>
        <AcctSvcrRef>E-1003</AcctSvcrRef>
        <BkTxCd><Domn><Cd>ACMT</Cd><Fmly><Cd>MDOP</Cd><SubFmlyCd>CHRG</SubFmlyCd></Fmly></Domn></BkTxCd>
      </Ntry>
      <Ntry>
        <Amt Ccy="NOK">500.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>PDNG</Sts>
        <AcctSvcrRef>E-1004</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
      </Ntry>
      <Ntry>
        <Amt Ccy="NOK">1499.00</Amt>
        <CdtDbtInd>DBIT</CdtDbtInd>
        <RvslInd>true</RvslInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2026-03-04</Dt></BookgDt>
        <AcctSvcrRef>E-1005</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>RRTN</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Refs><AcctSvcrRef>T-1005-A</AcctSvcrRef></Refs>
            <AmtDtls><TxAmt><Amt Ccy="NOK">1499.00</Amt></TxAmt></AmtDtls>
            <RltdPties><Dbtr><Nm>Kari Nordmann</Nm></Dbtr></RltdPties>
            <RmtInf><Strd><CdtrRefInf><Ref>234567890123</Ref></CdtrRefInf></Strd></RmtInf>
          </TxDtls>
        </NtryDtls>
      </Ntry>
    </Ntfctn>
  </BkToCstmrDbtCdtNtfctn>
</Document>
"#;

    /// A Swedish bank's daily statement, version .08: status and debtor in their .08 forms, a
    /// booking date-time, an entry without details or bank reference, a reversal reported as
    /// a credit, information and fee entries, a batch repeating one reference with a debit
    /// line, and an entry without a status.
    const CAMT053_V08: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>MSG-061</MsgId><CreDtTm>2026-03-03T23:00:00+01:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>STMT-2026-061</Id>
      <CreDtTm>2026-03-03T23:00:00+01:00</CreDtTm>
      <Acct><Id><IBAN>SE4550000000058398257466</IBAN></Id><Ccy>SEK</Ccy></Acct>
      <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="SEK">10000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-03</Dt></Dt></Bal>
      <Ntry>
        <NtryRef>1</NtryRef>
        <Amt Ccy="SEK">845.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><DtTm>2026-03-03T09:15:00+01:00</DtTm></BookgDt>
        <ValDt><Dt>2026-03-04</Dt></ValDt>
        <AcctSvcrRef>SEB-77001</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls><TxDtls>
          <Refs><AcctSvcrRef>SEB-77001-1</AcctSvcrRef></Refs>
          <Amt Ccy="SEK">845.00</Amt>
          <CdtDbtInd>CRDT</CdtDbtInd>
          <RltdPties>
            <Dbtr><Pty><Nm>Sven Svensson</Nm></Pty></Dbtr>
            <DbtrAcct><Id><Othr><Id>5000-1234567</Id></Othr></Id></DbtrAcct>
          </RltdPties>
          <RmtInf><Strd><CdtrRefInf><Ref>RF18 5390 0754 7034</Ref></CdtrRefInf></Strd></RmtInf>
        </TxDtls></NtryDtls>
      </Ntry>
      <Ntry>
        <NtryRef>2</NtryRef>
        <Amt Ccy="SEK">120</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <ValDt><Dt>2026-03-03</Dt></ValDt>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd>
      </Ntry>
      <Ntry>
        <Amt Ccy="SEK">845.00</Amt>
        <CdtDbtInd>DBIT</CdtDbtInd>
        <RvslInd>true</RvslInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>2026-03-03</Dt></BookgDt>
        <AcctSvcrRef>SEB-77003</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>RRTN</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls><TxDtls><Amt Ccy="SEK">845.00</Amt></TxDtls></NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="SEK">300.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts><Cd>INFO</Cd></Sts>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd>
      </Ntry>
      <Ntry>
        <Amt Ccy="SEK">25.00</Amt>
        <CdtDbtInd>DBIT</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>2026-03-03</Dt></BookgDt>
        <BkTxCd><Domn><Cd>ACMT</Cd><Fmly><Cd>MDOP</Cd><SubFmlyCd>CHRG</SubFmlyCd></Fmly></Domn></BkTxCd>
      </Ntry>
      <Ntry>
        <Amt Ccy="SEK">1500.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>2026-03-03</Dt></BookgDt>
        <AcctSvcrRef>SEB-77006</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Refs><AcctSvcrRef>SEB-77006</AcctSvcrRef></Refs>
            <Amt Ccy="SEK">1000.00</Amt>
            <RmtInf><Ustrd>OCR 4455667788 / 2026-03</Ustrd><Ustrd>kund 123456789012</Ustrd></RmtInf>
          </TxDtls>
          <TxDtls>
            <Refs><AcctSvcrRef>SEB-77006</AcctSvcrRef></Refs>
            <Amt Ccy="SEK">520.00</Amt>
            <RmtInf><Ustrd>tack för senast</Ustrd></RmtInf>
          </TxDtls>
          <TxDtls>
            <Refs><AcctSvcrRef>SEB-77006-FEE</AcctSvcrRef></Refs>
            <Amt Ccy="SEK">20.00</Amt>
            <CdtDbtInd>DBIT</CdtDbtInd>
          </TxDtls>
        </NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="SEK">99.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd>
      </Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>
"#;

    /// A Finnish statement, version .02, with a prefix on every element.
    const CAMT053_V02: &str = r#"<c:Document xmlns:c="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <c:BkToCstmrStmt>
    <c:GrpHdr><c:MsgId>FI-0302</c:MsgId><c:CreDtTm>2026-03-02T20:00:00</c:CreDtTm></c:GrpHdr>
    <c:Stmt>
      <c:Id>FI-0302-1</c:Id>
      <c:CreDtTm>2026-03-02T20:00:00</c:CreDtTm>
      <c:Acct><c:Id><c:IBAN>FI2112345600000785</c:IBAN></c:Id></c:Acct>
      <c:Ntry>
        <c:Amt Ccy="EUR">64.90</c:Amt>
        <c:CdtDbtInd>CRDT</c:CdtDbtInd>
        <c:Sts>BOOK</c:Sts>
        <c:BookgDt><c:Dt>2026-03-02</c:Dt></c:BookgDt>
        <c:AcctSvcrRef>260302ABCD0001</c:AcctSvcrRef>
        <c:BkTxCd><c:Prtry><c:Cd>705</c:Cd></c:Prtry></c:BkTxCd>
        <c:NtryDtls><c:TxDtls>
          <c:AmtDtls><c:TxAmt><c:Amt Ccy="EUR">64.90</c:Amt></c:TxAmt></c:AmtDtls>
          <c:RltdPties><c:Dbtr><c:Nm>Matti Meikäläinen</c:Nm></c:Dbtr></c:RltdPties>
          <c:RmtInf><c:Strd><c:CdtrRefInf><c:Ref>00000 00000 12344</c:Ref></c:CdtrRefInf></c:Strd></c:RmtInf>
        </c:TxDtls></c:NtryDtls>
      </c:Ntry>
      <c:Ntry>
        <c:Amt Ccy="EUR">12.00</c:Amt>
        <c:CdtDbtInd>DBIT</c:CdtDbtInd>
        <c:Sts>BOOK</c:Sts>
        <c:BookgDt><c:Dt>2026-03-02</c:Dt></c:BookgDt>
        <c:BkTxCd><c:Prtry><c:Cd>730</c:Cd></c:Prtry></c:BkTxCd>
      </c:Ntry>
    </c:Stmt>
  </c:BkToCstmrStmt>
</c:Document>
"#;

    /// A notification, version .08, with two notifications.
    const CAMT054_V08: &str = r#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">
  <BkToCstmrDbtCdtNtfctn>
    <GrpHdr><MsgId>N08-1</MsgId><CreDtTm>2026-03-05T08:00:00Z</CreDtTm></GrpHdr>
    <Ntfctn>
      <Id>N08-1-A</Id>
      <Acct><Id><IBAN>NO9386011117947</IBAN></Id></Acct>
      <Ntry>
        <Amt Ccy="NOK">410.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>2026-03-05</Dt></BookgDt>
        <AcctSvcrRef>N08-E1</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls><TxDtls>
          <Amt Ccy="NOK">410.00</Amt>
          <CdtDbtInd>CRDT</CdtDbtInd>
          <RltdPties><Dbtr><Pty><Nm>Per Olsen</Nm></Pty></Dbtr></RltdPties>
          <RmtInf><Strd><RfrdDocInf><Nb>2026-1187</Nb></RfrdDocInf></Strd></RmtInf>
        </TxDtls></NtryDtls>
      </Ntry>
    </Ntfctn>
    <Ntfctn>
      <Id>N08-1-B</Id>
      <Acct><Id><IBAN>NO9386011117947</IBAN></Id></Acct>
      <Ntry>
        <Amt Ccy="NOK">90.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts><Cd>PDNG</Cd></Sts>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
      </Ntry>
    </Ntfctn>
  </BkToCstmrDbtCdtNtfctn>
</Document>
"#;

    fn fields(record: &RawRecord) -> Vec<(&str, &str)> {
        record
            .fields
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect()
    }

    fn path(p: &str) -> Position {
        Position::Path(p.to_owned())
    }

    #[test]
    fn camt054_v02_credits_batch_debit_pending_and_reversal() {
        let parsed = parse_camt(CAMT054_V02).unwrap();
        assert_eq!(parsed.kind, FileKind::Payments);
        assert_eq!(parsed.decimal_separator, '.');
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        // The fee debit and the pending credit.
        assert_eq!(parsed.skipped, 2);
        let records = &parsed.records;
        assert_eq!(records.len(), 5);
        let base = "/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]";
        assert_eq!(
            records[0].position,
            path(&format!("{base}/Ntry[1]/NtryDtls[1]/TxDtls[1]"))
        );
        assert_eq!(
            fields(&records[0]),
            [
                ("amount", "1499.00"),
                ("currency", "NOK"),
                ("kind", "bank"),
                ("payer_account", "15031234567"),
                ("payer_name", "Kari Nordmann"),
                ("payment_date", "2026-03-02"),
                ("payment_id", "T-1001-A"),
                ("reference", "234567890123"),
            ]
        );
        // A batch: the entry's reference with the detail's number.
        assert_eq!(
            fields(&records[1]),
            [
                ("amount", "1000.00"),
                ("currency", "NOK"),
                ("kind", "bank"),
                ("payer_account", "NO9386011117947"),
                ("payer_name", "Ola Hansen AS"),
                ("payment_date", "2026-03-02"),
                ("payment_id", "E-1002/1"),
                ("reference", "F-10023"),
            ]
        );
        assert_eq!(
            records[1].position,
            path(&format!("{base}/Ntry[2]/NtryDtls[1]/TxDtls[1]"))
        );
        assert_eq!(records[2].get("payment_id"), Some("E-1002/2"));
        assert_eq!(records[2].get("amount"), Some("2000.50"));
        // The longest digit run of the message, not the invoice number before it.
        assert_eq!(records[2].get("reference"), Some("1234567897"));
        assert_eq!(records[3].get("payment_id"), Some("E-1002/3"));
        assert_eq!(records[3].get("amount"), Some("250.00"));
        assert_eq!(records[3].get("reference"), None);
        assert_eq!(records[3].get("payer_name"), None);
        // The reversal of the first credit: negative, booked on its own date.
        assert_eq!(
            fields(&records[4]),
            [
                ("amount", "-1499.00"),
                ("currency", "NOK"),
                ("kind", "bank"),
                ("payer_name", "Kari Nordmann"),
                ("payment_date", "2026-03-04"),
                ("payment_id", "T-1005-A"),
                ("reference", "234567890123"),
            ]
        );
        assert_eq!(records[4].get("reverses"), None);
    }

    #[test]
    fn camt053_v08_forms_fallback_ids_reversal_and_repeated_references() {
        let parsed = parse_camt(CAMT053_V08).unwrap();
        // INFO entry, fee debit, and the debit line inside the batch.
        assert_eq!(parsed.skipped, 3);
        let base = "/Document/BkToCstmrStmt/Stmt[1]";
        assert_eq!(parsed.diagnostics.len(), 1);
        let missing = &parsed.diagnostics[0];
        assert_eq!(missing.code, code::BAD_RECORD);
        assert_eq!(missing.position, path(&format!("{base}/Ntry[7]")));
        assert!(missing.message.contains("no status"), "{missing}");

        let records = &parsed.records;
        assert_eq!(records.len(), 5, "{records:#?}");
        assert_eq!(
            fields(&records[0]),
            [
                ("amount", "845.00"),
                ("currency", "SEK"),
                ("kind", "bank"),
                ("payer_account", "5000-1234567"),
                ("payer_name", "Sven Svensson"),
                ("payment_date", "2026-03-03"),
                ("payment_id", "SEB-77001-1"),
                ("reference", "RF18539007547034"),
            ]
        );
        // No details, no bank reference: statement id, NtryRef, detail 1; the value date.
        assert_eq!(records[1].position, path(&format!("{base}/Ntry[2]")));
        assert_eq!(
            fields(&records[1]),
            [
                ("amount", "120.00"),
                ("currency", "SEK"),
                ("kind", "bank"),
                ("payment_date", "2026-03-03"),
                ("payment_id", "STMT-2026-061/2/1"),
            ]
        );
        // A booked debit with the reversal indicator undoes the credit of the first entry.
        assert_eq!(records[2].get("amount"), Some("-845.00"));
        assert_eq!(records[2].get("payment_id"), Some("SEB-77003/1"));
        // One reference on two details: told apart by their number.
        assert_eq!(records[3].get("payment_id"), Some("SEB-77006/1"));
        assert_eq!(records[3].get("amount"), Some("1000.00"));
        assert_eq!(records[3].get("reference"), Some("123456789012"));
        assert_eq!(
            records[3].position,
            path(&format!("{base}/Ntry[6]/NtryDtls[1]/TxDtls[1]"))
        );
        assert_eq!(records[4].get("payment_id"), Some("SEB-77006/2"));
        assert_eq!(records[4].get("reference"), None);
    }

    #[test]
    fn camt053_v02_with_prefixes() {
        let parsed = parse_camt(CAMT053_V02).unwrap();
        assert_eq!(parsed.skipped, 1);
        assert_eq!(parsed.records.len(), 1);
        assert_eq!(
            fields(&parsed.records[0]),
            [
                ("amount", "64.90"),
                ("currency", "EUR"),
                ("kind", "bank"),
                ("payer_name", "Matti Meikäläinen"),
                ("payment_date", "2026-03-02"),
                ("payment_id", "260302ABCD0001/1"),
                ("reference", "000000000012344"),
            ]
        );
    }

    #[test]
    fn camt054_v08_with_two_notifications() {
        let parsed = parse_camt(CAMT054_V08).unwrap();
        assert_eq!(parsed.skipped, 1);
        assert_eq!(parsed.records.len(), 1);
        let record = &parsed.records[0];
        assert_eq!(
            record.position,
            path("/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[1]/NtryDtls[1]/TxDtls[1]")
        );
        assert_eq!(
            fields(record),
            [
                ("amount", "410.00"),
                ("currency", "NOK"),
                ("kind", "bank"),
                ("payer_name", "Per Olsen"),
                ("payment_date", "2026-03-05"),
                ("payment_id", "N08-E1/1"),
                ("reference", "2026-1187"),
            ]
        );
    }

    #[test]
    fn an_amount_with_a_minus_sign_is_a_bad_amount_never_a_reversal() {
        // A credit written -1499.00, in the detail and in the entry.
        let negative = CAMT054_V02.replacen(
            "<Amt Ccy=\"NOK\">1499.00</Amt>",
            "<Amt Ccy=\"NOK\">-1499.00</Amt>",
            2,
        );
        let parsed = parse_camt(&negative).unwrap();
        let base = "/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]";
        assert_eq!(parsed.diagnostics.len(), 1, "{:?}", parsed.diagnostics);
        let problem = &parsed.diagnostics[0];
        assert_eq!(problem.code, code::BAD_AMOUNT);
        assert_eq!(problem.field.as_deref(), Some("amount"));
        assert_eq!(problem.record_key.as_deref(), Some("T-1001-A"));
        assert_eq!(
            problem.position,
            path(&format!("{base}/Ntry[1]/NtryDtls[1]/TxDtls[1]"))
        );
        assert!(problem.message.contains("`-1499.00`"), "{problem}");
        assert!(problem.message.contains("CRDT"), "{problem}");
        // The other payments are read as before; none is negative but the real reversal.
        assert_eq!(parsed.records.len(), 4);
        let negatives: Vec<_> = parsed
            .records
            .iter()
            .filter(|r| r.get("amount").is_some_and(|a| a.starts_with('-')))
            .map(|r| r.get("payment_id"))
            .collect();
        assert_eq!(negatives, [Some("T-1005-A")]);

        // An entry without details, and a reversal written with a sign: rejected too.
        let entry =
            CAMT053_V08.replace("<Amt Ccy=\"SEK\">120</Amt>", "<Amt Ccy=\"SEK\">-120</Amt>");
        let parsed = parse_camt(&entry).unwrap();
        let problem = parsed
            .diagnostics
            .iter()
            .find(|d| d.code == code::BAD_AMOUNT)
            .unwrap();
        assert_eq!(problem.record_key.as_deref(), Some("STMT-2026-061/2/1"));
        assert_eq!(
            problem.position,
            path("/Document/BkToCstmrStmt/Stmt[1]/Ntry[2]")
        );
        let reversal = CAMT054_V02.replace(
            "<AmtDtls><TxAmt><Amt Ccy=\"NOK\">1499.00</Amt></TxAmt></AmtDtls>\n            <RltdPties><Dbtr><Nm>Kari Nordmann</Nm></Dbtr></RltdPties>",
            "<AmtDtls><TxAmt><Amt Ccy=\"NOK\">-1499.00</Amt></TxAmt></AmtDtls>\n            <RltdPties><Dbtr><Nm>Kari Nordmann</Nm></Dbtr></RltdPties>",
        );
        assert_ne!(reversal, CAMT054_V02);
        let parsed = parse_camt(&reversal).unwrap();
        assert_eq!(parsed.diagnostics.len(), 1);
        assert_eq!(parsed.diagnostics[0].code, code::BAD_AMOUNT);
        assert!(parsed.diagnostics[0].message.contains("reversal"));
        assert_eq!(parsed.records.len(), 4);

        // Text that is no number at all is left to validation, which says so.
        let text = CAMT054_V02.replacen("1499.00</Amt>", "-abc</Amt>", 2);
        let parsed = parse_camt(&text).unwrap();
        assert!(parsed.diagnostics.is_empty());
        assert_eq!(parsed.records[0].get("amount"), Some("-abc"));
    }

    #[test]
    fn the_same_file_always_gives_the_same_ids() {
        let ids = |text: &str| -> Vec<String> {
            parse_camt(text)
                .unwrap()
                .records
                .iter()
                .filter_map(|r| r.get("payment_id").map(str::to_owned))
                .collect()
        };
        assert_eq!(ids(CAMT053_V08), ids(CAMT053_V08));
        let mut all = ids(CAMT053_V08);
        all.extend(ids(CAMT054_V02));
        let count = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), count, "ids are unique");
    }

    #[test]
    fn other_documents_are_unreadable() {
        let camt052 = r#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.08"/>"#;
        assert_eq!(
            parse_camt(camt052).unwrap_err()[0].code,
            code::UNKNOWN_FORMAT
        );
        let odd_version = r#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.8"/>"#;
        assert_eq!(
            parse_camt(odd_version).unwrap_err()[0].code,
            code::UNKNOWN_FORMAT
        );
        let wrong_root = r#"<Doc xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"/>"#;
        assert_eq!(
            parse_camt(wrong_root).unwrap_err()[0].code,
            code::UNKNOWN_FORMAT
        );
        let swapped = CAMT053_V02.replace("camt.053.001.02", "camt.054.001.02");
        let errors = parse_camt(&swapped).unwrap_err();
        assert_eq!(errors[0].code, code::MALFORMED_XML);
        assert!(errors[0].message.contains("BkToCstmrDbtCdtNtfctn"));
        let cut = &CAMT054_V02[..CAMT054_V02.len() / 2];
        assert_eq!(parse_camt(cut).unwrap_err()[0].code, code::MALFORMED_XML);
    }

    #[test]
    fn elements_of_another_namespace_are_not_read() {
        // The entries are in another namespace than the Document: none is an entry.
        let spoofed = CAMT053_V02.replace("<c:Stmt>", "<c:Stmt xmlns:c=\"urn:example:not-camt\">");
        let parsed = parse_camt(&spoofed).unwrap();
        assert!(parsed.records.is_empty());
        assert_eq!(parsed.skipped, 0);
    }

    #[test]
    fn a_large_statement_reads_in_linear_time() {
        let entry = |i: usize| {
            format!(
                "<Ntry><Amt Ccy=\"NOK\">{i}.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2026-03-02</Dt></BookgDt><AcctSvcrRef>E{i}</AcctSvcrRef><NtryDtls><TxDtls><Refs><AcctSvcrRef>T{i}</AcctSvcrRef></Refs><RmtInf><Strd><CdtrRefInf><Ref>{i}</Ref></CdtrRefInf></Strd></RmtInf></TxDtls></NtryDtls></Ntry>"
            )
        };
        let batch: String = (0..10_000)
            .map(|i| format!("<TxDtls><Refs><AcctSvcrRef>B</AcctSvcrRef></Refs><AmtDtls><TxAmt><Amt Ccy=\"NOK\">1</Amt></TxAmt></AmtDtls></TxDtls><!-- {i} -->"))
            .collect();
        let entries: String = (1..=10_000).map(entry).collect();
        let text = format!(
            "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.08\"><BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>M</MsgId></GrpHdr><Ntfctn><Id>N</Id>{entries}<Ntry><Amt Ccy=\"NOK\">10000</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-03-02</Dt></BookgDt><NtryDtls>{batch}</NtryDtls></Ntry></Ntfctn></BkToCstmrDbtCdtNtfctn></Document>"
        );
        let parsed = parse_camt(&text).unwrap();
        assert_eq!(parsed.records.len(), 20_000);
        assert_eq!(parsed.records[9_999].get("payment_id"), Some("T10000"));
        assert_eq!(parsed.records[19_999].get("payment_id"), Some("B/10000"));
    }

    #[test]
    fn digit_runs() {
        assert_eq!(
            longest_digit_run("Faktura 10023 KID 1234567897"),
            Some("1234567897".into())
        );
        assert_eq!(longest_digit_run("a 12 b 34"), Some("12".into()));
        assert_eq!(longest_digit_run("1 x"), None);
        assert_eq!(longest_digit_run(&"9".repeat(26)), None);
        assert_eq!(longest_digit_run(&"9".repeat(25)), Some("9".repeat(25)));
        assert_eq!(longest_digit_run("٣٤٥ ５６７"), None, "ASCII digits only");
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(text in "\\PC{0,300}") {
            let _ = parse_camt(&text);
        }

        #[test]
        fn never_panics_on_edited_documents(
            at in 0usize..8000,
            delete in 0usize..16,
            insert in "[<>/=\"&;:a-zA-Z0-9 \n.-]{0,12}",
            which in 0usize..4,
        ) {
            let base = [CAMT054_V02, CAMT053_V08, CAMT053_V02, CAMT054_V08][which];
            let _ = parse_camt(&mutate(base, at, delete, &insert));
        }

        #[test]
        fn never_panics_on_edited_values(
            value in "\\PC{0,30}",
            which in 0usize..4,
        ) {
            let base = [CAMT054_V02, CAMT053_V08, CAMT053_V02, CAMT054_V08][which];
            let escaped = value.replace('&', "&amp;").replace('<', "&lt;");
            for target in ["1499.00", "BOOK", "CRDT", "true", "2026-03-02", "E-1002", "Faktura 10023 KID 1234567897 takk", "NOK"] {
                let _ = parse_camt(&base.replace(target, &escaped));
            }
        }
    }
}
