//! PEPPOL BIS Billing 3.0 / EHF `Invoice` and `CreditNote` (UBL 2.1) → invoice records.
//!
//! One document is one invoice or credit note, so a file gives exactly one record, at the path
//! of its root element (`/Invoice`, `/CreditNote`). Which UBL element feeds which canonical
//! column is tabled in `docs/xml-formats.md`; the choices SPEC §5.2 leaves open are commented
//! where they are made. Nothing is checked here beyond what is needed to read the document:
//! a missing element simply leaves its column unset, and validation reports it.

use crate::diagnostic::{Diagnostic, Position, code};
use crate::domain::FileKind;
use crate::ingest::parse::xml::{self, Element, XmlLimits, collapse_whitespace, read_tree};
use crate::ingest::parse::{ParsedFile, RawRecord};

/// UBL 2.1 document and component namespaces.
pub const INVOICE_NS: &str = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2";
pub const CREDIT_NOTE_NS: &str = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2";
pub const CAC_NS: &str = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2";
pub const CBC_NS: &str = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2";

/// PEPPOL electronic address schemes (EAS) whose identifiers are national organisation or VAT
/// numbers, with their country. A buyer reachable under one of these is a business, and its
/// identifier is its organisation number.
const ORGANISATION_SCHEMES: &[(&str, &str)] = &[
    ("0007", "SE"), // Organisationsnummer
    ("0037", "FI"), // LY-tunnus
    ("0096", "DK"), // P-nummer
    ("0184", "DK"), // CVR
    ("0192", "NO"), // Enhetsregisteret
    ("0212", "FI"), // Finnish organisation identifier
    ("0213", "FI"), // Finnish VAT number
    ("9908", "NO"), // Enhetsregisteret, the pre-2019 code
];

/// Reads one UBL invoice or credit note. `Err` when the document is not well-formed XML or
/// not a UBL `Invoice` / `CreditNote`.
pub fn parse_peppol(text: &str) -> Result<ParsedFile, Vec<Diagnostic>> {
    let root = read_tree(text, XmlLimits::DEFAULT).map_err(|d| vec![d])?;
    let credit_note = if root.is(INVOICE_NS, "Invoice") {
        false
    } else if root.is(CREDIT_NOTE_NS, "CreditNote") {
        true
    } else {
        return Err(vec![Diagnostic::file(
            code::UNKNOWN_FORMAT,
            format!(
                "the root element is `{}` in namespace `{}`, not a UBL 2.1 Invoice or CreditNote",
                root.name(),
                root.namespace().unwrap_or("(none)")
            ),
        )]);
    };

    let mut record = RawRecord::new(Position::Path(format!("/{}", root.name())));
    set(&mut record, "invoice_no", value(&root, "cbc:ID"));
    if credit_note {
        record.set("document_type", "credit_note");
        let credited = root
            .children_named(CAC_NS, "BillingReference")
            .find_map(|r| value(r, "cac:InvoiceDocumentReference/cbc:ID"));
        set(&mut record, "credited_invoice_no", credited);
    } else {
        record.set("document_type", "invoice");
    }
    let issue_date = value(&root, "cbc:IssueDate").map(|d| date(&d));
    let means_due_date = root
        .children_named(CAC_NS, "PaymentMeans")
        .find_map(|m| value(m, "cbc:PaymentDueDate"));
    let document_due_date = value(&root, "cbc:DueDate");
    // BIS 3 moved an invoice's due date to cbc:DueDate; EHF 2 and UBL 2.1 credit notes carry
    // it in the payment means. A credit note without one is due when issued: it reduces the
    // claim at once.
    let due_date = if credit_note {
        means_due_date
            .or(document_due_date)
            .map(|d| date(&d))
            .or_else(|| issue_date.clone())
    } else {
        document_due_date.or(means_due_date).map(|d| date(&d))
    };
    set(&mut record, "issue_date", issue_date);
    set(&mut record, "due_date", due_date);

    let payable = find(&root, "cac:LegalMonetaryTotal/cbc:PayableAmount");
    let currency = value(&root, "cbc:DocumentCurrencyCode").or_else(|| {
        payable
            .and_then(|p| p.attribute("currencyID"))
            .map(collapse_whitespace)
            .filter(|c| !c.is_empty())
    });
    set(&mut record, "currency", currency);
    set(
        &mut record,
        "amount",
        payable.and_then(Element::value).map(xml::plain_amount),
    );
    let reference = root
        .children_named(CAC_NS, "PaymentMeans")
        .find_map(|m| value(m, "cbc:PaymentID"))
        .map(|r| r.split_whitespace().collect::<String>());
    set(&mut record, "reference", reference);

    if let Some(supplier) = find(&root, "cac:AccountingSupplierParty/cac:Party") {
        set(&mut record, "creditor_id", party_id(supplier));
    }
    if let Some(buyer) = find(&root, "cac:AccountingCustomerParty/cac:Party") {
        read_buyer(&mut record, buyer);
    }

    Ok(ParsedFile {
        kind: FileKind::Invoices,
        records: vec![record],
        diagnostics: Vec::new(),
        skipped: 0,
        decimal_separator: '.',
    })
}

/// The debtor's columns from `cac:AccountingCustomerParty/cac:Party`.
fn read_buyer(record: &mut RawRecord, buyer: &Element) {
    let name = value(buyer, "cac:PartyLegalEntity/cbc:RegistrationName")
        .or_else(|| value(buyer, "cac:PartyName/cbc:Name"));
    set(record, "debtor_name", name);
    let debtor_id = party_id(buyer);
    let has_company_id = find(buyer, "cac:PartyLegalEntity/cbc:CompanyID").is_some()
        || buyer
            .children_named(CAC_NS, "PartyTaxScheme")
            .any(|s| value(s, "cbc:CompanyID").is_some());
    let org_endpoint = find(buyer, "cbc:EndpointID")
        .and_then(|e| e.attribute("schemeID"))
        .is_some_and(|s| scheme_country(s).is_some());
    // PEPPOL reaches consumers only in a few countries; a buyer without any company
    // identifier is taken to be one.
    let debtor_type = if has_company_id || org_endpoint {
        "business"
    } else {
        "person"
    };
    record.set("debtor_type", debtor_type);
    let customer_no = buyer
        .children_named(CAC_NS, "PartyIdentification")
        .find_map(|p| value(p, "cbc:ID"))
        .or_else(|| value(buyer, "cbc:EndpointID"))
        .or_else(|| debtor_id.clone());
    set(record, "customer_no", customer_no);
    set(record, "debtor_id", debtor_id);

    if let Some(address) = find(buyer, "cac:PostalAddress") {
        let lines: Vec<String> = [
            value(address, "cbc:StreetName"),
            value(address, "cbc:AdditionalStreetName"),
            value(address, "cac:AddressLine/cbc:Line"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !lines.is_empty() {
            record.set("address", lines.join(", "));
        }
        set(record, "postcode", value(address, "cbc:PostalZone"));
        set(record, "city", value(address, "cbc:CityName"));
        set(
            record,
            "country",
            value(address, "cac:Country/cbc:IdentificationCode").map(|c| c.to_ascii_uppercase()),
        );
    }
    set(
        record,
        "email",
        value(buyer, "cac:Contact/cbc:ElectronicMail"),
    );
}

/// A party's organisation number: its legal entity's `CompanyID`, else its VAT number (the
/// Nordic VAT numbers contain the organisation number), else an endpoint in a national
/// organisation number scheme. Normalised by [`organisation_number`].
fn party_id(party: &Element) -> Option<String> {
    let country = value(
        party,
        "cac:PostalAddress/cac:Country/cbc:IdentificationCode",
    );
    let country = country.as_deref();
    let legal = find(party, "cac:PartyLegalEntity/cbc:CompanyID").and_then(|id| {
        id.value()
            .map(|v| organisation_number(v, id.attribute("schemeID"), country))
    });
    let vat = || {
        party
            .children_named(CAC_NS, "PartyTaxScheme")
            .filter(|s| {
                value(s, "cac:TaxScheme/cbc:ID").is_some_and(|t| t.eq_ignore_ascii_case("VAT"))
            })
            .find_map(|s| value(s, "cbc:CompanyID"))
            .map(|v| organisation_number(&v, None, country))
    };
    let endpoint = || {
        let endpoint = find(party, "cbc:EndpointID")?;
        let scheme = endpoint.attribute("schemeID")?;
        scheme_country(scheme)?;
        endpoint
            .value()
            .map(|v| organisation_number(v, Some(scheme), country))
    };
    legal
        .or_else(vat)
        .or_else(endpoint)
        .filter(|id| !id.is_empty())
}

fn scheme_country(scheme: &str) -> Option<&'static str> {
    let scheme = scheme.trim();
    ORGANISATION_SCHEMES
        .iter()
        .find(|(s, _)| *s == scheme)
        .map(|(_, country)| *country)
}

/// An organisation number in its national form, from any of the ways UBL documents write it:
/// spaces removed, a leading country code (`NO`, `SE`, `FI`: the VAT form) and a trailing
/// `MVA` (the Norwegian VAT form) stripped; a Swedish VAT number's `01` suffix and hyphen
/// dropped (10 digits); a Finnish business ID written `NNNNNNN-N`. Anything it does not
/// recognise is returned compacted and otherwise unchanged, for validation to judge.
pub fn organisation_number(raw: &str, scheme: Option<&str>, country: Option<&str>) -> String {
    let compact: String = raw
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let compact = compact.strip_suffix("MVA").unwrap_or(&compact);
    let prefixed = matches!(
        compact.as_bytes(),
        [a, b, c, ..] if a.is_ascii_uppercase() && b.is_ascii_uppercase() && c.is_ascii_digit()
    );
    let (prefix, rest) = if prefixed {
        (compact.get(..2), compact.get(2..).unwrap_or(compact))
    } else {
        (None, compact)
    };
    let country = prefix
        .or_else(|| scheme.and_then(scheme_country))
        .map(str::to_owned)
        .or_else(|| country.map(|c| c.trim().to_ascii_uppercase()));
    let digits_without_hyphen = || -> Option<String> {
        let digits: String = rest.chars().filter(|c| *c != '-').collect();
        digits.bytes().all(|b| b.is_ascii_digit()).then_some(digits)
    };
    match country.as_deref() {
        Some("SE") => match digits_without_hyphen() {
            // SE + 10 digits + 01 is the VAT form of the organisation number.
            Some(d) if prefix.is_some() && d.len() == 12 && d.ends_with("01") => {
                d.get(..10).unwrap_or(&d).to_owned()
            }
            Some(d) if d.len() == 10 => d,
            _ => rest.to_owned(),
        },
        Some("FI") => match digits_without_hyphen() {
            Some(d) if d.len() == 8 => match (d.get(..7), d.get(7..)) {
                (Some(body), Some(check)) => format!("{body}-{check}"),
                _ => rest.to_owned(),
            },
            _ => rest.to_owned(),
        },
        _ => rest.to_owned(),
    }
}

/// The element at a path of `cac:`/`cbc:` steps, e.g. `cac:PaymentMeans/cbc:PaymentID`.
/// The prefixes are this module's names for the UBL namespaces, not the document's.
fn find<'e>(element: &'e Element, path: &str) -> Option<&'e Element> {
    path.split('/').try_fold(element, |element, step| {
        let (namespace, name) = match step.split_once(':') {
            Some(("cac", name)) => (CAC_NS, name),
            Some(("cbc", name)) => (CBC_NS, name),
            _ => return None,
        };
        element.child(namespace, name)
    })
}

/// The trimmed, whitespace-collapsed text at a path, `None` when absent or empty.
fn value(element: &Element, path: &str) -> Option<String> {
    find(element, path)
        .and_then(Element::value)
        .map(collapse_whitespace)
}

fn set(record: &mut RawRecord, column: &str, value: Option<String>) {
    if let Some(value) = value.filter(|v| !v.is_empty()) {
        record.set(column, value);
    }
}

/// An `xs:date` without its optional time zone (`2017-11-13Z`, `2017-11-13+01:00`): an
/// invoice date is a calendar day wherever it was written.
fn date(text: &str) -> String {
    match (text.get(..10), text.get(10..)) {
        (Some(day), Some(zone))
            if zone == "Z"
                || (zone.len() == 6
                    && (zone.starts_with('+') || zone.starts_with('-'))
                    && zone.get(3..4) == Some(":")) =>
        {
            day.to_owned()
        }
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::parse::xml::testing::mutate;
    use proptest::prelude::*;

    fn public(name: &str) -> String {
        let path = format!("{}/tests/data/public/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(path).unwrap()
    }

    fn one(text: &str) -> RawRecord {
        let parsed = parse_peppol(text).unwrap();
        assert_eq!(parsed.kind, FileKind::Invoices);
        assert_eq!(parsed.decimal_separator, '.');
        assert_eq!(parsed.skipped, 0);
        assert!(parsed.diagnostics.is_empty());
        assert_eq!(parsed.records.len(), 1);
        parsed.records.into_iter().next().unwrap()
    }

    fn fields(record: &RawRecord) -> Vec<(&str, &str)> {
        record
            .fields
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect()
    }

    #[test]
    fn base_example() {
        let record = one(&public("peppol-bis3-base-example.xml"));
        assert_eq!(record.position, Position::Path("/Invoice".into()));
        assert_eq!(
            fields(&record),
            [
                ("address", "Hovedgatan 32, Po box 878"),
                ("amount", "1656.25"),
                ("city", "Stockholm"),
                ("country", "SE"),
                // GB983294: the country code is stripped.
                ("creditor_id", "983294"),
                ("currency", "EUR"),
                ("customer_no", "FR23342"),
                ("debtor_id", "39937423947"),
                ("debtor_name", "Buyer Official Name"),
                ("debtor_type", "business"),
                ("document_type", "invoice"),
                ("due_date", "2017-12-01"),
                ("email", "lj@buyer.se"),
                ("invoice_no", "Snippet1"),
                ("issue_date", "2017-11-13"),
                ("postcode", "456 34"),
                ("reference", "Snippet1"),
            ]
        );
    }

    #[test]
    fn norwegian_example() {
        let record = one(&public("peppol-bis3-norwegian-example-1.xml"));
        assert_eq!(
            fields(&record),
            [
                ("address", "Anystreet 8, Back door"),
                ("amount", "802.00"),
                ("city", "Anytown"),
                ("country", "NO"),
                ("creditor_id", "123456785"),
                ("currency", "NOK"),
                ("customer_no", "3456789012098"),
                ("debtor_id", "987654325"),
                ("debtor_name", "Buyercompany ASA"),
                ("debtor_type", "business"),
                ("document_type", "invoice"),
                ("due_date", "2013-07-20"),
                ("email", "john@buyercompany.no"),
                ("invoice_no", "TOSL108"),
                ("issue_date", "2013-06-30"),
                ("postcode", "101"),
                ("reference", "0003434323213231"),
            ]
        );
    }

    #[test]
    fn allowance_example_pays_the_payable_amount_after_prepayment() {
        let record = one(&public("peppol-bis3-Allowance-example.xml"));
        // TaxInclusiveAmount 7125 less PrepaidAmount 1000.
        assert_eq!(record.get("amount"), Some("6125.00"));
        assert_eq!(record.get("currency"), Some("EUR"));
        assert_eq!(record.get("due_date"), Some("2017-12-01"));
        assert_eq!(record.get("issue_date"), Some("2017-11-13"));
        assert_eq!(record.get("reference"), Some("Snippet1"));
        assert_eq!(record.get("creditor_id"), Some("983294"));
        assert_eq!(record.get("debtor_id"), Some("39937423947"));
        assert_eq!(record.get("customer_no"), Some("4598375937"));
        assert_eq!(record.get("debtor_name"), Some("Buyer Official Name"));
    }

    #[test]
    fn vat_category_example_falls_back_to_vat_number_and_endpoint() {
        let record = one(&public("peppol-bis3-vat-category-E.xml"));
        assert_eq!(
            fields(&record),
            [
                ("address", "Anystreet 8, Back door"),
                ("amount", "1200.00"),
                ("city", "Anytown"),
                ("country", "DK"),
                // No legal entity CompanyID: the VAT number GB928741974.
                ("creditor_id", "928741974"),
                ("currency", "GBP"),
                // No PartyIdentification: the endpoint (CVR, scheme 0184).
                ("customer_no", "12345678"),
                ("debtor_id", "12345678"),
                ("debtor_name", "The Buyercompany"),
                ("debtor_type", "business"),
                ("document_type", "invoice"),
                ("invoice_no", "Vat-Z"),
                ("issue_date", "2018-08-30"),
                ("postcode", "101"),
            ]
        );
        // No DueDate and no PaymentID: left for validation to report.
        assert_eq!(record.get("due_date"), None);
        assert_eq!(record.get("reference"), None);
    }

    #[test]
    fn public_credit_note_without_a_due_date_is_due_when_issued() {
        let record = one(&public("peppol-bis3-base-creditnote-correction.xml"));
        assert_eq!(record.position, Position::Path("/CreditNote".into()));
        assert_eq!(record.get("document_type"), Some("credit_note"));
        assert_eq!(record.get("invoice_no"), Some("Snippet1"));
        assert_eq!(record.get("credited_invoice_no"), Some("Snippet1"));
        assert_eq!(record.get("issue_date"), Some("2017-11-13"));
        assert_eq!(record.get("due_date"), Some("2017-11-13"));
        assert_eq!(record.get("amount"), Some("1656.25"));
        assert_eq!(record.get("currency"), Some("EUR"));
        assert_eq!(record.get("creditor_id"), Some("983294"));
        assert_eq!(record.get("debtor_id"), Some("39937423947"));
    }

    const CREDIT_NOTE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ubl:CreditNote xmlns:ubl="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
    xmlns:a="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
    xmlns:b="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <b:ID>K-2026-17</b:ID>
  <b:IssueDate>2026-03-02</b:IssueDate>
  <b:DocumentCurrencyCode>SEK</b:DocumentCurrencyCode>
  <a:BillingReference>
    <a:InvoiceDocumentReference><b:ID>F-2026-101</b:ID></a:InvoiceDocumentReference>
  </a:BillingReference>
  <a:AccountingSupplierParty><a:Party>
    <a:PostalAddress><a:Country><b:IdentificationCode>SE</b:IdentificationCode></a:Country></a:PostalAddress>
    <a:PartyTaxScheme><b:CompanyID>SE556677889901</b:CompanyID><a:TaxScheme><b:ID>VAT</b:ID></a:TaxScheme></a:PartyTaxScheme>
    <a:PartyLegalEntity><b:RegistrationName>Leverantören AB</b:RegistrationName><b:CompanyID schemeID="0007">556677-8899</b:CompanyID></a:PartyLegalEntity>
  </a:Party></a:AccountingSupplierParty>
  <a:AccountingCustomerParty><a:Party>
    <a:PartyName><b:Name>Anna
        Andersson</b:Name></a:PartyName>
    <a:PostalAddress>
      <b:StreetName>Storgatan 5</b:StreetName>
      <b:CityName>Uppsala</b:CityName>
      <b:PostalZone>753 20</b:PostalZone>
      <a:Country><b:IdentificationCode>se</b:IdentificationCode></a:Country>
    </a:PostalAddress>
  </a:Party></a:AccountingCustomerParty>
  <a:PaymentMeans>
    <b:PaymentMeansCode>30</b:PaymentMeansCode>
    <b:PaymentDueDate>2026-03-16Z</b:PaymentDueDate>
    <b:PaymentID>1234 5678 97</b:PaymentID>
  </a:PaymentMeans>
  <a:LegalMonetaryTotal>
    <b:PayableAmount currencyID="SEK">250</b:PayableAmount>
  </a:LegalMonetaryTotal>
</ubl:CreditNote>
"#;

    #[test]
    fn credit_note_with_own_prefixes_payment_due_date_and_a_person_buyer() {
        let record = one(CREDIT_NOTE);
        assert_eq!(
            fields(&record),
            [
                ("address", "Storgatan 5"),
                ("amount", "250.00"),
                ("city", "Uppsala"),
                ("country", "SE"),
                ("credited_invoice_no", "F-2026-101"),
                ("creditor_id", "5566778899"),
                ("currency", "SEK"),
                ("debtor_name", "Anna Andersson"),
                ("debtor_type", "person"),
                ("document_type", "credit_note"),
                ("due_date", "2026-03-16"),
                ("invoice_no", "K-2026-17"),
                ("issue_date", "2026-03-02"),
                ("postcode", "753 20"),
                ("reference", "1234567897"),
            ]
        );
    }

    #[test]
    fn spoofed_prefixes_do_not_match() {
        // `cbc:` bound to another namespace: its ID is not the invoice number.
        let spoofed = CREDIT_NOTE.replace(
            "xmlns:b=\"urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2\"",
            "xmlns:b=\"urn:example:not-ubl\"",
        );
        let record = one(&spoofed);
        assert_eq!(record.get("invoice_no"), None);
        assert_eq!(record.get("amount"), None);
        assert_eq!(record.get("document_type"), Some("credit_note"));
    }

    #[test]
    fn zero_and_negative_amounts_are_kept_for_validation() {
        let negative = CREDIT_NOTE.replace(">250<", ">-250.5<");
        assert_eq!(one(&negative).get("amount"), Some("-250.50"));
        let zero = CREDIT_NOTE.replace(">250<", ">0.00<");
        assert_eq!(one(&zero).get("amount"), Some("0.00"));
        let odd = CREDIT_NOTE.replace(">250<", ">250,00<");
        assert_eq!(one(&odd).get("amount"), Some("250,00"));
        let no_currency =
            CREDIT_NOTE.replace("<b:DocumentCurrencyCode>SEK</b:DocumentCurrencyCode>", "");
        assert_eq!(one(&no_currency).get("currency"), Some("SEK"));
    }

    #[test]
    fn other_documents_are_unreadable() {
        let order = r#"<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"/>"#;
        assert_eq!(
            parse_peppol(order).unwrap_err()[0].code,
            code::UNKNOWN_FORMAT
        );
        // An Invoice in the credit note namespace is neither.
        let crossed =
            r#"<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"/>"#;
        assert_eq!(
            parse_peppol(crossed).unwrap_err()[0].code,
            code::UNKNOWN_FORMAT
        );
        let cut = &CREDIT_NOTE[..CREDIT_NOTE.len() / 2];
        let errors = parse_peppol(cut).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].code, code::MALFORMED_XML);
        let entity = CREDIT_NOTE.replace("Storgatan 5", "&street;");
        assert_eq!(
            parse_peppol(&entity).unwrap_err()[0].code,
            code::MALFORMED_XML
        );
    }

    #[test]
    fn organisation_numbers_in_their_national_form() {
        for (raw, scheme, country, national) in [
            ("NO123456785MVA", None, None, "123456785"),
            ("NO 123 456 785 MVA", None, None, "123456785"),
            ("no123456785mva", None, None, "123456785"),
            ("123456785", Some("0192"), None, "123456785"),
            ("SE556677889901", None, None, "5566778899"),
            ("556677-8899", Some("0007"), None, "5566778899"),
            ("556677-8899", None, Some("SE"), "5566778899"),
            ("5566778899", None, Some("se"), "5566778899"),
            ("FI12345678", None, None, "1234567-8"),
            ("1234567-8", Some("0212"), None, "1234567-8"),
            ("12345678", None, Some("FI"), "1234567-8"),
            ("DK12345678", None, None, "12345678"),
            ("GB983294", None, None, "983294"),
            ("39937423947", Some("0183"), Some("SE"), "39937423947"),
            ("ABC123", None, None, "ABC123"),
            ("", None, None, ""),
        ] {
            assert_eq!(organisation_number(raw, scheme, country), national, "{raw}");
        }
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(text in "\\PC{0,300}") {
            let _ = parse_peppol(&text);
        }

        #[test]
        fn never_panics_on_edited_documents(
            at in 0usize..4000,
            delete in 0usize..16,
            insert in "[<>/=\"&;:a-zA-Z0-9 \n-]{0,12}",
        ) {
            let _ = parse_peppol(&mutate(CREDIT_NOTE, at, delete, &insert));
        }

        #[test]
        fn never_panics_on_arbitrary_identifiers(raw in "\\PC{0,30}", country in "[A-Za-z]{0,3}") {
            let _ = organisation_number(&raw, Some(&country), Some(&country));
        }
    }
}
