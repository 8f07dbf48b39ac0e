//! Invoice and credit note rows (SPEC §5.1) → [`InvoiceRecord`]s.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::config::Creditor;
use crate::diagnostic::{Diagnostic, Position, code};
use crate::domain::{DebtorType, DocumentType};
use crate::identifiers;
use crate::ingest::parse::RawRecord;
use crate::ingest::validate::Context;
use crate::ingest::validate::fields::{Fields, shorten};
use crate::money;
use crate::reference;

/// A checked invoice or credit note row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceRecord {
    pub position: Position,
    pub creditor_id: String,
    pub invoice_no: String,
    pub document_type: DocumentType,
    /// Set exactly for credit notes.
    pub credited_invoice_no: Option<String>,
    pub customer_no: String,
    pub debtor_type: DebtorType,
    pub debtor_name: String,
    /// National identity or organisation number: never logged.
    pub debtor_id: Option<String>,
    pub address: String,
    pub postcode: String,
    pub city: String,
    /// ISO 3166 alpha-2 of the debtor's address.
    pub country: String,
    pub email: Option<String>,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    pub currency: String,
    /// Gross amount in minor units, > 0 (a credit note's amount reduces).
    pub amount_minor: i64,
    pub reference: Option<String>,
    pub reminder_fee_minor: i64,
    pub notice_sent_date: Option<NaiveDate>,
    pub paid_minor: i64,
}

impl InvoiceRecord {
    /// A fingerprint of the record's content (not its position), so the same invoice sent
    /// again is recognised as a no-op and a changed one as a conflict.
    pub fn fingerprint(&self) -> String {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        let parts = [
            self.creditor_id.clone(),
            self.invoice_no.clone(),
            self.document_type.as_str().to_owned(),
            opt(&self.credited_invoice_no),
            self.customer_no.clone(),
            self.debtor_type.as_str().to_owned(),
            self.debtor_name.clone(),
            opt(&self.debtor_id),
            self.address.clone(),
            self.postcode.clone(),
            self.city.clone(),
            self.country.clone(),
            opt(&self.email),
            self.issue_date.to_string(),
            self.due_date.to_string(),
            self.currency.clone(),
            self.amount_minor.to_string(),
            opt(&self.reference),
            self.reminder_fee_minor.to_string(),
            date(self.notice_sent_date),
            self.paid_minor.to_string(),
        ];
        super::fingerprint(&parts)
    }
}

/// Checks one row. Every problem of the row is reported, not only the first.
pub fn validate_invoice(
    ctx: Context<'_>,
    record: &RawRecord,
    decimal_separator: char,
) -> Result<InvoiceRecord, Vec<Diagnostic>> {
    let mut f = Fields::new(record, "invoice_no", decimal_separator);
    let creditor = f
        .required_text("creditor_id")
        .and_then(|id| super::check_creditor(ctx, &mut f, &id));

    let invoice_no = f.required_text("invoice_no");
    let document_type = f
        .parsed::<DocumentType, _>("document_type", false)
        .unwrap_or(DocumentType::Invoice);
    let credited_invoice_no = f.text("credited_invoice_no");
    match (document_type, &credited_invoice_no) {
        (DocumentType::CreditNote, None) => f.problem(
            "credited_invoice_no",
            code::MISSING_FIELD,
            "a credit note must name the invoice it reduces in credited_invoice_no",
        ),
        (DocumentType::Invoice, Some(_)) => f.problem(
            "credited_invoice_no",
            code::BAD_VALUE,
            "credited_invoice_no is only for credit notes; set document_type to credit_note or leave it empty",
        ),
        _ => {}
    }
    let customer_no = f.required_text("customer_no");
    let debtor_type = f.parsed::<DebtorType, _>("debtor_type", true);
    let debtor_name = f.required_text("debtor_name");
    let address = f.required_text("address");
    let postcode = f.required_text("postcode");
    let city = f.required_text("city");
    let email = f.text("email");
    if let Some(email) = &email {
        let plausible = email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
            && !email.contains(char::is_whitespace);
        if !plausible {
            f.problem(
                "email",
                code::BAD_VALUE,
                format!("email `{}` is not an e-mail address", shorten(email)),
            );
        }
    }
    let country = match f.text("country") {
        Some(c) if c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()) => Some(c),
        Some(c) => {
            f.problem(
                "country",
                code::BAD_COUNTRY,
                format!(
                    "country `{}` is not an ISO 3166 two-letter code such as NO, SE or FI",
                    shorten(&c)
                ),
            );
            None
        }
        None => creditor.map(|c| c.country.as_str().to_owned()),
    };
    if let (Some(country), Some(postcode)) = (&country, &postcode) {
        check_postcode(&mut f, country, postcode);
    }
    let debtor_id = f.text("debtor_id");
    if let (Some(id), Some(country), Some(debtor_type)) = (&debtor_id, &country, debtor_type)
        && let Err(e) = identifiers::check_party_id(country, debtor_type == DebtorType::Person, id)
    {
        // The message never repeats the number: receipts are files people forward.
        f.problem("debtor_id", code::BAD_IDENTIFIER, format!("debtor_id: {e}"));
    }

    let issue_date = f.date("issue_date", true);
    let due_date = f.date("due_date", true);
    if let (Some(issue), Some(due)) = (issue_date, due_date)
        && due < issue
    {
        f.problem(
            "due_date",
            code::BAD_DATE,
            format!("due_date {due} is before issue_date {issue}"),
        );
    }
    let notice_sent_date = f.date("notice_sent_date", false);
    if let (Some(notice), Some(due)) = (notice_sent_date, due_date)
        && notice <= due
    {
        f.problem(
                "notice_sent_date",
                code::BAD_DATE,
                format!("notice_sent_date {notice} is not after due_date {due}: a collection notice is sent only once the invoice is overdue"),
            );
    }

    let currency = f.required_text("currency");
    if let (Some(currency), Some(creditor)) = (&currency, creditor)
        && !creditor.accepts_currency(currency)
    {
        f.problem(
            "currency",
            code::BAD_CURRENCY,
            format!(
                "currency `{}` is not accepted for {}, which invoices in {}",
                shorten(currency),
                creditor.name,
                creditor.currency
            ),
        );
    }
    let amount = positive_minor(&mut f, "amount", true);
    let reminder_fee_minor = non_negative_minor(&mut f, "reminder_fee").unwrap_or(0);
    let paid_minor = non_negative_minor(&mut f, "paid_amount").unwrap_or(0);
    if document_type == DocumentType::CreditNote {
        for (column, value) in [
            ("reminder_fee", reminder_fee_minor),
            ("paid_amount", paid_minor),
        ] {
            if value > 0 {
                f.problem(
                    column,
                    code::BAD_VALUE,
                    format!("a credit note carries no {column}; leave it empty"),
                );
            }
        }
    }
    if let Some(amount) = amount
        && paid_minor >= amount
        && document_type == DocumentType::Invoice
    {
        f.problem(
                "paid_amount",
                code::BAD_AMOUNT,
                format!(
                    "paid_amount {} leaves nothing of amount {} to collect; do not hand over paid invoices",
                    money::format_minor(paid_minor, '.'),
                    money::format_minor(amount, '.')
                ),
            );
    }

    let reference = f.text("reference").map(|r| reference::normalize(&r));
    if let (Some(reference), Some(creditor)) = (&reference, creditor) {
        check_reference(&mut f, creditor, reference);
    }

    if !f.is_ok() {
        return Err(f.diagnostics);
    }
    // Every required value is present here: any `None` left would have produced a diagnostic.
    match (
        creditor,
        invoice_no,
        customer_no,
        debtor_type,
        debtor_name,
        address,
        postcode,
        city,
        country,
        issue_date,
        due_date,
        currency,
        amount,
    ) {
        (
            Some(creditor),
            Some(invoice_no),
            Some(customer_no),
            Some(debtor_type),
            Some(debtor_name),
            Some(address),
            Some(postcode),
            Some(city),
            Some(country),
            Some(issue_date),
            Some(due_date),
            Some(currency),
            Some(amount_minor),
        ) => Ok(InvoiceRecord {
            position: record.position(),
            creditor_id: creditor.id.clone(),
            invoice_no,
            document_type,
            credited_invoice_no,
            customer_no,
            debtor_type,
            debtor_name,
            debtor_id,
            address,
            postcode,
            city,
            country,
            email,
            issue_date,
            due_date,
            currency,
            amount_minor,
            reference,
            reminder_fee_minor,
            notice_sent_date,
            paid_minor,
        }),
        _ => Err(vec![Diagnostic::at(
            record.position(),
            code::BAD_ROW,
            "the row is incomplete",
        )]),
    }
}

fn positive_minor(f: &mut Fields<'_>, column: &str, required: bool) -> Option<i64> {
    let amount = f.amount(column, required)?;
    if amount <= Decimal::ZERO {
        f.problem(
            column,
            code::BAD_AMOUNT,
            format!("{column} must be more than zero; a credit note has a positive amount and document_type credit_note"),
        );
        return None;
    }
    money::to_minor(amount)
}

fn non_negative_minor(f: &mut Fields<'_>, column: &str) -> Option<i64> {
    let amount = f.amount(column, false)?;
    if amount < Decimal::ZERO {
        f.problem(
            column,
            code::BAD_AMOUNT,
            format!("{column} cannot be negative"),
        );
        return None;
    }
    money::to_minor(amount)
}

fn check_postcode(f: &mut Fields<'_>, country: &str, postcode: &str) {
    let digits: String = postcode.chars().filter(|c| *c != ' ').collect();
    let expected = match country {
        "NO" | "DK" => Some(4),
        "SE" | "FI" => Some(5),
        _ => None,
    };
    if let Some(len) = expected
        && (digits.len() != len || !digits.bytes().all(|b| b.is_ascii_digit()))
    {
        f.problem(
            "postcode",
            code::BAD_VALUE,
            format!(
                "postcode `{}` is not a {country} postcode ({len} digits)",
                shorten(postcode)
            ),
        );
    }
}

fn check_reference(f: &mut Fields<'_>, creditor: &Creditor, reference: &str) {
    let scheme = creditor.reference_scheme;
    if let Err(e) = reference::validate(scheme, reference) {
        f.problem(
            "reference",
            code::BAD_REFERENCE,
            format!(
                "reference `{}` is not a valid {scheme} reference: {e}",
                shorten(reference)
            ),
        );
        return;
    }
    let lengths = &creditor.reference_lengths;
    if !lengths.is_empty() && !lengths.contains(&reference.len()) {
        let allowed: Vec<String> = lengths.iter().map(usize::to_string).collect();
        f.problem(
            "reference",
            code::BAD_REFERENCE,
            format!(
                "reference `{}` has {} characters; {} uses {} only",
                shorten(reference),
                reference.len(),
                creditor.name,
                allowed.join(" or ")
            ),
        );
    }
}
