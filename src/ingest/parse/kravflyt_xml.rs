//! kravflyt XML (`urn:kravflyt:xml:1`): invoices, payments and instructions with the canonical CSV columns as elements.
//!
//! ```xml
//! <invoices xmlns="urn:kravflyt:xml:1">
//!   <invoice><creditor_id>923609016</creditor_id><invoice_no>1001</invoice_no>…</invoice>
//! </invoices>
//! ```
//!
//! The root names the file kind (`invoices`, `payments`, `instructions`) and holds one record
//! element per record (`invoice`, `payment`, `instruction`), whose child elements are the
//! canonical columns of that kind (SPEC §5.1), in any order, each at most once, with the
//! values written as in canonical CSV with `.` decimals. `schemas/kravflyt.xsd` describes the
//! same documents; a test below keeps the two in step.
//!
//! A record with an element that is not a column of its kind, or with a column twice, is
//! rejected whole with one diagnostic naming every such element: guessing which of two values
//! was meant, or dropping an unknown one, could apply something the sender did not intend.

use std::collections::HashMap;

use crate::columns::columns_of;
use crate::diagnostic::{Diagnostic, Position, code};
use crate::domain::FileKind;
use crate::ingest::detect::KRAVFLYT_NS;
use crate::ingest::parse::xml::{Element, XmlLimits, read_tree, step};
use crate::ingest::parse::{ParsedFile, RawRecord};

/// The root element, record element and key column of each kind.
const DOCUMENTS: &[(FileKind, &str, &str, &str)] = &[
    (FileKind::Invoices, "invoices", "invoice", "invoice_no"),
    (FileKind::Payments, "payments", "payment", "payment_id"),
    (
        FileKind::Instructions,
        "instructions",
        "instruction",
        "instruction_id",
    ),
];

/// Reads a kravflyt XML document. `Err` when it is not well-formed XML, not in the kravflyt
/// namespace, has an unknown root, or has text directly inside the root.
pub fn parse_kravflyt_xml(text: &str) -> Result<ParsedFile, Vec<Diagnostic>> {
    let root = read_tree(text, XmlLimits::DEFAULT).map_err(|d| vec![d])?;
    let known = DOCUMENTS
        .iter()
        .find(|(_, root_name, _, _)| root.is(KRAVFLYT_NS, root_name));
    let Some(&(kind, root_name, record_name, key_column)) = known else {
        return Err(vec![Diagnostic::file(
            code::UNKNOWN_FORMAT,
            format!(
                "the root element is `{}` in namespace `{}`; a kravflyt XML file is `invoices`, `payments` or `instructions` in namespace `{KRAVFLYT_NS}`",
                root.name(),
                root.namespace().unwrap_or("(none)")
            ),
        )]);
    };
    let root_path = format!("/{root_name}");
    if let Some(stray) = root.value() {
        return Err(vec![Diagnostic::at(
            Position::Path(root_path),
            code::MALFORMED_XML,
            format!(
                "text `{}` stands directly inside `{root_name}`, which holds only `{record_name}` elements",
                shorten(stray)
            ),
        )]);
    }

    let columns = columns_of(kind);
    let mut records = Vec::new();
    let mut diagnostics = Vec::new();
    // Each child is numbered among its same-named siblings, as in an XPath.
    let mut seen_names: HashMap<String, usize> = HashMap::new();
    for child in root.children() {
        let shown = display_name(child);
        let count = seen_names.entry(shown.clone()).or_insert(0);
        *count += 1;
        let number = *count;
        let path = format!("{root_path}/{}", step(child.name(), number));
        if !child.is(KRAVFLYT_NS, record_name) {
            diagnostics.push(Diagnostic::at(
                Position::Path(path),
                code::BAD_ROW,
                format!(
                    "element {shown} does not belong in `{root_name}`, which holds only `{record_name}` elements; the record is not read"
                ),
            ));
            continue;
        }
        match read_record(child, columns, Position::Path(path.clone())) {
            Ok(record) => records.push(record),
            Err((code, message)) => {
                let key = child
                    .child(KRAVFLYT_NS, key_column)
                    .and_then(Element::value);
                diagnostics.push(Diagnostic::at(Position::Path(path), code, message).with_key(key));
            }
        }
    }
    Ok(ParsedFile {
        kind,
        records,
        diagnostics,
        skipped: 0,
        decimal_separator: '.',
    })
}

/// One record element → a raw record, or the code and sentence that reject it.
fn read_record(
    element: &Element,
    columns: &[(&'static str, bool)],
    position: Position,
) -> Result<RawRecord, (&'static str, String)> {
    let mut record = RawRecord::new(position);
    let mut present: Vec<&str> = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    let mut twice: Vec<String> = Vec::new();
    let mut nested: Vec<String> = Vec::new();
    for field in element.children() {
        let column = columns
            .iter()
            .map(|(c, _)| *c)
            .find(|c| field.is(KRAVFLYT_NS, c));
        let Some(column) = column else {
            unknown.push(display_name(field));
            continue;
        };
        if present.contains(&column) {
            if !twice.iter().any(|t| t.trim_matches('`') == column) {
                twice.push(format!("`{column}`"));
            }
            continue;
        }
        present.push(column);
        if !field.children().is_empty() {
            nested.push(format!("`{column}`"));
            continue;
        }
        if let Some(value) = field.value() {
            record.set(column, value);
        }
    }
    let mut problems = Vec::new();
    if !unknown.is_empty() {
        problems.push(format!(
            "element(s) {} are not columns of this kind of record; remove them or use the canonical column names",
            list(&unknown)
        ));
    }
    if !twice.is_empty() {
        problems.push(format!(
            "element(s) {} appear more than once; give each column once",
            twice.join(", ")
        ));
    }
    if !nested.is_empty() {
        problems.push(format!(
            "element(s) {} contain elements; a column holds text only",
            nested.join(", ")
        ));
    }
    if let Some(stray) = element.value() {
        problems.push(format!(
            "text `{}` stands directly inside the record; put every value in its column's element",
            shorten(stray)
        ));
    }
    if problems.is_empty() {
        return Ok(record);
    }
    let code = if !unknown.is_empty() {
        code::UNKNOWN_COLUMN
    } else if !twice.is_empty() {
        code::DUPLICATE_COLUMN
    } else {
        code::BAD_ROW
    };
    Err((code, problems.join("; ")))
}

/// An element's name for a message: `` `amount` `` in the kravflyt namespace, else with its
/// namespace, so `amount` in no namespace is told apart from the real column.
fn display_name(element: &Element) -> String {
    match element.namespace() {
        Some(KRAVFLYT_NS) => format!("`{}`", element.name()),
        Some(ns) => format!("`{}` (namespace `{ns}`)", element.name()),
        None => format!("`{}` (no namespace)", element.name()),
    }
}

/// Names for a message, at most ten of them: a broken file must not flood the receipt.
fn list(names: &[String]) -> String {
    const MAX: usize = 10;
    let mut shown = names
        .iter()
        .take(MAX)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > MAX {
        shown.push_str(&format!(" and {} more", names.len() - MAX));
    }
    shown
}

fn shorten(text: &str) -> String {
    const MAX: usize = 40;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(MAX).collect();
        short.push('…');
        short
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Action, DebtorType, DisputeOutcome, DocumentType, PaymentKind};
    use crate::ingest::parse::xml::testing::mutate;
    use proptest::prelude::*;

    const INVOICES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<invoices xmlns="urn:kravflyt:xml:1">
  <invoice>
    <invoice_no>1001</invoice_no>
    <creditor_id>923609016</creditor_id>
    <customer_no>7</customer_no>
    <debtor_type>person</debtor_type>
    <debtor_name>Kari Nordmann</debtor_name>
    <address>Storgata 1</address>
    <postcode>9008</postcode>
    <city>Tromsø</city>
    <issue_date>2026-09-01</issue_date>
    <due_date>2026-09-15</due_date>
    <currency>NOK</currency>
    <amount>1499.00</amount>
    <reference>10010000007</reference>
    <email></email>
  </invoice>
  <invoice>
    <creditor_id>923609016</creditor_id>
    <invoice_no>K-1001</invoice_no>
    <document_type>credit_note</document_type>
    <credited_invoice_no>1001</credited_invoice_no>
    <customer_no>7</customer_no>
    <debtor_type>person</debtor_type>
    <debtor_name>Kari Nordmann</debtor_name>
    <address>Storgata 1</address>
    <postcode>9008</postcode>
    <city>Tromsø</city>
    <country>NO</country>
    <issue_date>2026-09-03</issue_date>
    <due_date>2026-09-03</due_date>
    <currency>NOK</currency>
    <amount>  200.5 </amount>
  </invoice>
</invoices>
"#;

    const PAYMENTS: &str = r#"<k:payments xmlns:k="urn:kravflyt:xml:1">
  <k:payment>
    <k:payment_id>P-1</k:payment_id>
    <k:amount>1499.00</k:amount>
    <k:currency>NOK</k:currency>
    <k:payment_date>2026-09-10</k:payment_date>
    <k:reference>10010000007</k:reference>
  </k:payment>
  <k:payment>
    <k:payment_id>P-2</k:payment_id>
    <k:kind>direct</k:kind>
    <k:creditor_id>923609016</k:creditor_id>
    <k:invoice_no>1001</k:invoice_no>
    <k:amount>-1499.00</k:amount>
    <k:currency>NOK</k:currency>
    <k:payment_date>2026-09-11</k:payment_date>
    <k:reverses>P-1</k:reverses>
  </k:payment>
</k:payments>
"#;

    const INSTRUCTIONS: &str = r#"<instructions xmlns="urn:kravflyt:xml:1">
  <instruction>
    <instruction_id>I-1</instruction_id>
    <creditor_id>923609016</creditor_id>
    <invoice_no>1001</invoice_no>
    <action>dispute</action>
    <amount>500.00</amount>
    <reason>the debtor says the goods were damaged &amp; returned</reason>
  </instruction>
</instructions>
"#;

    fn fields(record: &RawRecord) -> Vec<(&str, &str)> {
        record
            .fields
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect()
    }

    #[test]
    fn invoices_in_any_order_empty_elements_left_out() {
        let parsed = parse_kravflyt_xml(INVOICES).unwrap();
        assert_eq!(parsed.kind, FileKind::Invoices);
        assert_eq!(parsed.decimal_separator, '.');
        assert!(parsed.diagnostics.is_empty());
        assert_eq!(parsed.records.len(), 2);
        let first = &parsed.records[0];
        assert_eq!(
            first.position,
            Position::Path("/invoices/invoice[1]".into())
        );
        assert_eq!(first.get("invoice_no"), Some("1001"));
        assert_eq!(first.get("city"), Some("Tromsø"));
        assert!(
            !first.fields.contains_key("email"),
            "an empty element is absent"
        );
        assert_eq!(first.fields.len(), 13);
        let second = &parsed.records[1];
        assert_eq!(
            second.position,
            Position::Path("/invoices/invoice[2]".into())
        );
        assert_eq!(second.get("document_type"), Some("credit_note"));
        assert_eq!(second.get("credited_invoice_no"), Some("1001"));
        // Values are taken as written, trimmed; validation reads the amount.
        assert_eq!(second.get("amount"), Some("200.5"));
    }

    #[test]
    fn payments_with_a_prefix_and_instructions() {
        let parsed = parse_kravflyt_xml(PAYMENTS).unwrap();
        assert_eq!(parsed.kind, FileKind::Payments);
        assert_eq!(
            fields(&parsed.records[1]),
            [
                ("amount", "-1499.00"),
                ("creditor_id", "923609016"),
                ("currency", "NOK"),
                ("invoice_no", "1001"),
                ("kind", "direct"),
                ("payment_date", "2026-09-11"),
                ("payment_id", "P-2"),
                ("reverses", "P-1"),
            ]
        );
        let parsed = parse_kravflyt_xml(INSTRUCTIONS).unwrap();
        assert_eq!(parsed.kind, FileKind::Instructions);
        assert_eq!(
            fields(&parsed.records[0]),
            [
                ("action", "dispute"),
                ("amount", "500.00"),
                ("creditor_id", "923609016"),
                ("instruction_id", "I-1"),
                ("invoice_no", "1001"),
                (
                    "reason",
                    "the debtor says the goods were damaged & returned"
                ),
            ]
        );
        let empty = parse_kravflyt_xml(r#"<payments xmlns="urn:kravflyt:xml:1"/>"#).unwrap();
        assert_eq!(empty.kind, FileKind::Payments);
        assert!(empty.records.is_empty());
    }

    #[test]
    fn unknown_and_repeated_elements_reject_the_record() {
        let text = INVOICES
            .replace("<email></email>", "<colour>blue</colour><payment_id>P</payment_id>")
            .replace(
                "<country>NO</country>",
                "<country>NO</country><country>SE</country><x:amount xmlns:x=\"urn:other\">1</x:amount>",
            );
        let parsed = parse_kravflyt_xml(&text).unwrap();
        assert!(parsed.records.is_empty());
        assert_eq!(parsed.diagnostics.len(), 2, "one per record");
        let unknown = &parsed.diagnostics[0];
        assert_eq!(unknown.code, code::UNKNOWN_COLUMN);
        assert_eq!(
            unknown.position,
            Position::Path("/invoices/invoice[1]".into())
        );
        assert_eq!(unknown.record_key.as_deref(), Some("1001"));
        assert!(
            unknown.message.contains("`colour`, `payment_id`"),
            "{unknown}"
        );
        let both = &parsed.diagnostics[1];
        assert_eq!(both.code, code::UNKNOWN_COLUMN);
        assert!(
            both.message.contains("`amount` (namespace `urn:other`)"),
            "{both}"
        );
        assert!(
            both.message.contains("`country` appear more than once"),
            "{both}"
        );
        assert_eq!(both.record_key.as_deref(), Some("K-1001"));

        let twice = INSTRUCTIONS.replace(
            "<action>dispute</action>",
            "<action>dispute</action><action>pause</action>",
        );
        let parsed = parse_kravflyt_xml(&twice).unwrap();
        assert_eq!(parsed.diagnostics[0].code, code::DUPLICATE_COLUMN);
        assert_eq!(parsed.diagnostics[0].record_key.as_deref(), Some("I-1"));

        let nested = INSTRUCTIONS.replace(
            "<action>dispute</action>",
            "<action><x>dispute</x></action>",
        );
        let parsed = parse_kravflyt_xml(&nested).unwrap();
        assert_eq!(parsed.diagnostics[0].code, code::BAD_ROW);
        assert!(parsed.diagnostics[0].message.contains("text only"));

        let stray = INSTRUCTIONS.replace("<action>", "oops<action>");
        let parsed = parse_kravflyt_xml(&stray).unwrap();
        assert_eq!(parsed.diagnostics[0].code, code::BAD_ROW);
    }

    #[test]
    fn other_elements_in_the_root_are_rejected_records() {
        let text = PAYMENTS.replace(
            "</k:payments>",
            "<k:invoice/><k:payment><k:payment_id>P-3</k:payment_id></k:payment><payment/></k:payments>",
        );
        let parsed = parse_kravflyt_xml(&text).unwrap();
        assert_eq!(parsed.records.len(), 3);
        assert_eq!(
            parsed.records[2].position,
            Position::Path("/payments/payment[3]".into())
        );
        let positions: Vec<_> = parsed
            .diagnostics
            .iter()
            .map(|d| d.position.to_string())
            .collect();
        assert_eq!(positions, ["/payments/invoice[1]", "/payments/payment[1]"]);
        assert!(parsed.diagnostics.iter().all(|d| d.code == code::BAD_ROW));
        assert!(parsed.diagnostics[1].message.contains("(no namespace)"));
    }

    #[test]
    fn unknown_documents_are_unreadable() {
        let receipt = r#"<receipt xmlns="urn:kravflyt:xml:1"/>"#;
        assert_eq!(
            parse_kravflyt_xml(receipt).unwrap_err()[0].code,
            code::UNKNOWN_FORMAT
        );
        let no_namespace = "<invoices><invoice/></invoices>";
        assert_eq!(
            parse_kravflyt_xml(no_namespace).unwrap_err()[0].code,
            code::UNKNOWN_FORMAT
        );
        let text = r#"<payments xmlns="urn:kravflyt:xml:1">junk<payment/></payments>"#;
        let error = &parse_kravflyt_xml(text).unwrap_err()[0];
        assert_eq!(error.code, code::MALFORMED_XML);
        assert_eq!(error.position, Position::Path("/payments".into()));
        let dtd = format!("<!DOCTYPE invoices>{INSTRUCTIONS}");
        assert_eq!(
            parse_kravflyt_xml(&dtd).unwrap_err()[0].code,
            code::UNREADABLE_FILE
        );
    }

    const XS: &str = "http://www.w3.org/2001/XMLSchema";

    fn schema() -> Element {
        let text = include_str!("../../../schemas/kravflyt.xsd");
        crate::ingest::parse::xml::read_tree(text, XmlLimits::DEFAULT).unwrap()
    }

    fn named<'a>(parent: &'a Element, kind: &'a str, name: &str) -> &'a Element {
        parent
            .children_named(XS, kind)
            .find(|e| e.attribute("name") == Some(name))
            .unwrap_or_else(|| panic!("xs:{kind} {name} is missing"))
    }

    /// The `(name, required, type)` of every element of a record type's `xs:all`.
    fn record_elements(schema: &Element, type_name: &str) -> Vec<(String, bool, String)> {
        let all = named(schema, "complexType", type_name)
            .child(XS, "all")
            .unwrap();
        all.children()
            .iter()
            .filter(|e| e.is(XS, "element"))
            .map(|e| {
                (
                    e.attribute("name").unwrap().to_owned(),
                    e.attribute("minOccurs") != Some("0"),
                    e.attribute("type").unwrap().to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn the_schema_names_exactly_the_canonical_columns() {
        let schema = schema();
        assert_eq!(schema.attribute("targetNamespace"), Some(KRAVFLYT_NS));
        let roots: Vec<_> = schema
            .children_named(XS, "element")
            .filter_map(|e| e.attribute("name"))
            .collect();
        assert_eq!(roots, ["invoices", "payments", "instructions"]);
        for (kind, root, record, _) in DOCUMENTS {
            let record_element = named(&schema, "element", root)
                .find(&[(XS, "complexType"), (XS, "sequence"), (XS, "element")])
                .unwrap();
            assert_eq!(record_element.attribute("name"), Some(*record));
            assert_eq!(record_element.attribute("maxOccurs"), Some("unbounded"));
            let type_name = record_element.attribute("type").unwrap();
            let in_schema: Vec<(String, bool)> = record_elements(&schema, type_name)
                .into_iter()
                .map(|(name, required, _)| (name, required))
                .collect();
            let canonical: Vec<(String, bool)> = columns_of(*kind)
                .iter()
                .map(|(c, required)| ((*c).to_owned(), *required))
                .collect();
            assert_eq!(
                in_schema, canonical,
                "{kind}: columns and required flags, in order"
            );
        }
    }

    #[test]
    fn the_schema_enumerations_are_the_domain_values() {
        let schema = schema();
        let enumeration = |type_name: &str| -> Vec<String> {
            named(&schema, "simpleType", type_name)
                .child(XS, "restriction")
                .unwrap()
                .children_named(XS, "enumeration")
                .map(|e| e.attribute("value").unwrap().to_owned())
                .collect()
        };
        let texts = |all: Vec<&str>| all.into_iter().map(str::to_owned).collect::<Vec<_>>();
        let type_of = |record: &str, column: &str| {
            record_elements(&schema, record)
                .into_iter()
                .find(|(name, _, _)| name == column)
                .map(|(_, _, t)| t)
                .unwrap()
        };
        assert_eq!(
            enumeration(&type_of("InvoiceRecord", "document_type")),
            texts(DocumentType::ALL.iter().map(|v| v.as_str()).collect())
        );
        assert_eq!(
            enumeration(&type_of("InvoiceRecord", "debtor_type")),
            texts(DebtorType::ALL.iter().map(|v| v.as_str()).collect())
        );
        assert_eq!(
            enumeration(&type_of("PaymentRecord", "kind")),
            texts(PaymentKind::ALL.iter().map(|v| v.as_str()).collect())
        );
        assert_eq!(
            enumeration(&type_of("InstructionRecord", "action")),
            texts(Action::ALL.iter().map(|v| v.as_str()).collect())
        );
        assert_eq!(
            enumeration(&type_of("InstructionRecord", "outcome")),
            texts(DisputeOutcome::ALL.iter().map(|v| v.as_str()).collect())
        );
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(text in "\\PC{0,300}") {
            let _ = parse_kravflyt_xml(&text);
        }

        #[test]
        fn never_panics_on_edited_documents(
            at in 0usize..2000,
            delete in 0usize..16,
            insert in "[<>/=\"&;:a-z_0-9 \n-]{0,12}",
            which in 0usize..3,
        ) {
            let base = [INVOICES, PAYMENTS, INSTRUCTIONS][which];
            let _ = parse_kravflyt_xml(&mutate(base, at, delete, &insert));
        }
    }
}
