//! Payment rows (SPEC §5.1), from CSV, kravflyt XML or a bank file → [`PaymentRecord`]s.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::diagnostic::{Diagnostic, Position, code};
use crate::domain::PaymentKind;
use crate::ingest::parse::RawRecord;
use crate::ingest::validate::Context;
use crate::ingest::validate::fields::{Fields, shorten};
use crate::money;
use crate::reference;

/// A checked payment. Whether it matches a case is decided later, when it is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRecord {
    pub position: Position,
    pub payment_id: String,
    pub kind: PaymentKind,
    /// Required for direct payments; for bank payments only when the bank file names one.
    pub creditor_id: Option<String>,
    /// Normalised (spaces removed); its check digit is judged by matching, which reports
    /// `bad_check_digit` as an unmatched reason rather than rejecting the money.
    pub reference: Option<String>,
    pub invoice_no: Option<String>,
    /// Minor units; negative for a reversal.
    pub amount_minor: i64,
    pub currency: String,
    pub payment_date: NaiveDate,
    pub payer_name: Option<String>,
    pub payer_account: Option<String>,
    /// The `payment_id` a reversal undoes.
    pub reverses: Option<String>,
}

impl PaymentRecord {
    /// A fingerprint of the content (not the position): the same payment id again with the
    /// same content is a no-op, with other content a conflict.
    pub fn fingerprint(&self) -> String {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let parts = [
            self.payment_id.clone(),
            self.kind.as_str().to_owned(),
            opt(&self.creditor_id),
            opt(&self.reference),
            opt(&self.invoice_no),
            self.amount_minor.to_string(),
            self.currency.clone(),
            self.payment_date.to_string(),
            opt(&self.payer_name),
            opt(&self.payer_account),
            opt(&self.reverses),
        ];
        super::fingerprint(&parts)
    }
}

/// Checks one payment row.
pub fn validate_payment(
    ctx: Context<'_>,
    record: &RawRecord,
    decimal_separator: char,
) -> Result<PaymentRecord, Vec<Diagnostic>> {
    let mut f = Fields::new(record, "payment_id", decimal_separator);
    let payment_id = f.required_text("payment_id");
    let kind = f
        .parsed::<PaymentKind, _>("kind", false)
        .unwrap_or(PaymentKind::Bank);
    let creditor_id = f.text("creditor_id");
    match (&creditor_id, kind) {
        (None, PaymentKind::Direct) => f.problem(
            "creditor_id",
            code::MISSING_FIELD,
            "a direct payment must name the creditor it was paid to in creditor_id",
        ),
        (Some(id), _) => {
            super::check_creditor(ctx, &mut f, id);
        }
        (None, PaymentKind::Bank) => {}
    }
    let reference = f.text("reference").map(|r| reference::normalize(&r));
    let invoice_no = f.text("invoice_no");
    if kind == PaymentKind::Direct && reference.is_none() && invoice_no.is_none() {
        f.problem(
            "reference",
            code::MISSING_FIELD,
            "a direct payment needs the reference or the invoice_no it paid",
        );
    }
    let amount = f.amount("amount", true);
    let amount_minor = amount.and_then(|a| {
        if a == Decimal::ZERO {
            f.problem(
                "amount",
                code::BAD_AMOUNT,
                "amount is zero; a payment moves money",
            );
            None
        } else {
            money::to_minor(a)
        }
    });
    let reverses = f.text("reverses");
    match (amount_minor, &reverses) {
        // A bank's own correction (an OCR giro reversal, a BgMax deduction) does not name the
        // payment it undoes; matching finds it. A creditor reporting a direct reversal must.
        (Some(a), None) if a < 0 && kind == PaymentKind::Direct => f.problem(
            "reverses",
            code::MISSING_FIELD,
            "a negative amount is a reversal and must name the payment_id it reverses in reverses",
        ),
        (Some(a), Some(_)) if a > 0 => f.problem(
            "amount",
            code::BAD_AMOUNT,
            "a reversal has a negative amount; make the amount negative or leave reverses empty",
        ),
        _ => {}
    }
    if let (Some(id), Some(reversed)) = (&payment_id, &reverses)
        && id == reversed
    {
        f.problem(
            "reverses",
            code::BAD_VALUE,
            "a payment cannot reverse itself",
        );
    }
    let currency = f.required_text("currency");
    if let Some(c) = &currency
        && (c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()))
    {
        f.problem(
            "currency",
            code::BAD_CURRENCY,
            format!(
                "currency `{}` is not an ISO 4217 code such as NOK, SEK or EUR",
                shorten(c)
            ),
        );
    }
    if let (Some(c), Some(creditor)) = (
        &currency,
        creditor_id
            .as_deref()
            .and_then(|id| ctx.config.creditor(id)),
    ) && kind == PaymentKind::Direct
        && !creditor.accepts_currency(c)
    {
        f.problem(
            "currency",
            code::BAD_CURRENCY,
            format!(
                "currency `{}` is not accepted for {}, which invoices in {}",
                shorten(c),
                creditor.name,
                creditor.currency
            ),
        );
    }
    let payment_date = f.date("payment_date", true);
    let payer_name = f.text("payer_name");
    let payer_account = f.text("payer_account");

    if !f.is_ok() {
        return Err(f.diagnostics);
    }
    match (payment_id, amount_minor, currency, payment_date) {
        (Some(payment_id), Some(amount_minor), Some(currency), Some(payment_date)) => {
            Ok(PaymentRecord {
                position: record.position(),
                payment_id,
                kind,
                creditor_id,
                reference,
                invoice_no,
                amount_minor,
                currency,
                payment_date,
                payer_name,
                payer_account,
                reverses,
            })
        }
        _ => Err(vec![Diagnostic::at(
            record.position(),
            code::BAD_ROW,
            "the row is incomplete",
        )]),
    }
}
