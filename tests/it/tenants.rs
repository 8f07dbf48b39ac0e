//! Tenant isolation (SPEC §6.1.6, §7; issue 7 item 5): a sender can neither create, read nor
//! change data of a creditor it does not act for, by any file kind or field.
//!
//! Every test starts from the same two tenants: the victim, `nordlys` (creditor 923609016) with
//! two cases, a bank payment and a direct payment on them; and `fjellstua` (987654325) with one
//! case of its own. An attack is dropped and processed on the same as-of date as the snapshot
//! taken before it, so `case show --json` of every victim case must be byte-for-byte the same
//! after it (interest runs to the last as-of date), and nordlys's outbox must not change. The
//! next day is then processed, which writes the reconciliation of the attack day, and no
//! outbound file of the attacker may name anything of the victim that the attacker did not
//! send itself.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::support::{Workspace, receipt_rows};

const NORDLYS: &str = "923609016";
const FJELLSTUA: &str = "987654325";
const KVARNBY: &str = "5566778899";
const REVONTULI: &str = "2345678-0";

/// The creditors each creditor sender acts for, as shipped.
const SENDERS: &[(&str, &str)] = &[
    ("nordlys", NORDLYS),
    ("fjellstua", FJELLSTUA),
    ("kvarnby", KVARNBY),
    ("revontuli", REVONTULI),
];

const SETUP_DAY: &str = "2026-10-01";
const ATTACK_DAY: &str = "2026-10-02";
const NEXT_DAY: &str = "2026-10-03";
/// The attack day's reconciliation file, written once `NEXT_DAY` is processed.
const ATTACK_DAY_RECONCILIATION: &str = "reconciliation-20261002";

const INVOICE_HEADER: &str = "creditor_id;invoice_no;document_type;credited_invoice_no;customer_no;debtor_type;debtor_name;address;postcode;city;issue_date;due_date;currency;amount;reference";
const PAYMENT_HEADER: &str = "payment_id;kind;creditor_id;reference;invoice_no;amount;currency;payment_date;payer_name;reverses";
const INSTRUCTION_HEADER: &str = "instruction_id;creditor_id;invoice_no;case_no;action;amount;outcome;until_date;payment_id;reason";

/// Every action that changes a case's lifecycle, with the columns it needs.
const LIFECYCLE_ACTIONS: &[(&str, &str, &str)] = &[
    // (action, outcome, until_date)
    ("dispute", "", ""),
    ("dispute_reply", "accept", ""),
    ("pause", "", "2026-12-01"),
    ("resume", "", ""),
    ("withdraw", "", ""),
    ("write_off", "", ""),
    ("legal", "", ""),
];

type Row = BTreeMap<String, String>;

/// Outbound text: UTF-8, or windows-1252 for the senders that write it (fjellstua).
fn text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(t) => t.to_owned(),
        Err(_) => encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned(),
    }
}

fn lines(header: &str, rows: &[String]) -> String {
    let mut out = format!("{header}\n");
    for row in rows {
        out.push_str(row);
        out.push('\n');
    }
    out
}

/// The workspace with the two tenants, processed through `SETUP_DAY` and `ATTACK_DAY`.
struct Tenants {
    ws: Workspace,
    /// Nordlys's cases: (case_no, agency reference), NL-1001's first.
    victim: Vec<(String, String)>,
    /// Fjellstua's own case.
    own_case: String,
    own_reference: String,
}

impl Tenants {
    fn new() -> Tenants {
        let ws = Workspace::new();
        ws.drop_file(
            "nordlys",
            "faktura.csv",
            lines(
                INVOICE_HEADER,
                &[
                    format!("{NORDLYS};NL-1001;;;K-1;person;Kari Nordmann;Storgata 1;9008;Tromsø;2026-09-11;2026-09-25;NOK;1 000,00;700112"),
                    format!("{NORDLYS};NL-1002;;;K-2;person;Ola Hansen;Fjellvegen 2;9010;Tromsø;2026-09-11;2026-09-25;NOK;2 000,00;700229"),
                ],
            ),
        );
        ws.drop_file(
            "fjellstua",
            "faktura.csv",
            lines(
                INVOICE_HEADER,
                &[format!(
                    "{FJELLSTUA};FJ-2001;;;K-1;person;Per Gjest;Fjellveien 9;7340;Oppdal;2026-09-11;2026-09-25;NOK;500,00;"
                )],
            ),
        );
        ws.process(SETUP_DAY);
        let case = |key: &str| {
            let shown = ws.case_show(key);
            (
                shown["case_no"].as_str().unwrap().to_owned(),
                shown["reference"].as_str().unwrap().to_owned(),
            )
        };
        let victim = vec![
            case(&format!("{NORDLYS}/NL-1001")),
            case(&format!("{NORDLYS}/NL-1002")),
        ];
        let (own_case, own_reference) = case(&format!("{FJELLSTUA}/FJ-2001"));
        // Money on the victim's cases, and agency money that is not placed yet.
        ws.drop_file(
            "bank",
            "innbetalinger.csv",
            lines(
                PAYMENT_HEADER,
                &[
                    format!(
                        "BANK-NL-1;bank;;{};;100,00;NOK;2026-09-30;Kari Nordmann;",
                        victim[0].1
                    ),
                    "BANK-UNMATCHED-1;bank;;;;50,00;NOK;2026-09-30;Ukjent Betaler;".to_owned(),
                ],
            ),
        );
        ws.drop_file(
            "nordlys",
            "direkte.csv",
            lines(
                PAYMENT_HEADER,
                &[format!(
                    "DIR-NL-1;direct;{NORDLYS};;NL-1002;200,00;NOK;2026-09-30;Ola Hansen;"
                )],
            ),
        );
        ws.process(SETUP_DAY);
        ws.process(ATTACK_DAY);
        let t = Tenants {
            ws,
            victim,
            own_case,
            own_reference,
        };
        // The setup did what it should, so an unchanged victim means something.
        let case1 = t.ws.case_show(&t.victim[0].0);
        assert!(
            events_mention(&case1, "BANK-NL-1"),
            "the bank payment reached the victim's case: {case1}"
        );
        let case2 = t.ws.case_show(&t.victim[1].0);
        assert!(
            events_mention(&case2, "DIR-NL-1"),
            "the direct payment reached the victim's case: {case2}"
        );
        assert_eq!(
            t.unmatched_ids(),
            ["bank/BANK-UNMATCHED-1"],
            "the agency's unplaced money"
        );
        t
    }

    /// Everything of the victim creditor `case list` and `case show` tell.
    fn victim_state(&self) -> Value {
        let list: Value =
            serde_json::from_str(
                &self
                    .ws
                    .ok(&["case", "list", "--creditor", NORDLYS, "--json"]),
            )
            .unwrap();
        let cases: Vec<Value> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|c| self.ws.case_show(c["case_no"].as_str().unwrap()))
            .collect();
        json!({"list": list, "cases": cases})
    }

    /// Drops `content` into `sender`'s inbox and processes it on the attack day; asserts that
    /// the victim's cases and outbox did not change, and returns the receipt's rows.
    fn attack(&self, sender: &str, name: &str, content: impl AsRef<[u8]>) -> Vec<Row> {
        let before = self.victim_state();
        let outbox_before = self.ws.files_under("outbox/nordlys");
        self.ws.drop_file(sender, name, content);
        self.ws.process(ATTACK_DAY);
        let after = self.victim_state();
        assert!(
            before == after,
            "`{sender}` changed the cases of creditor {NORDLYS} with {name}:\nbefore: {}\nafter: {}",
            serde_json::to_string_pretty(&before).unwrap(),
            serde_json::to_string_pretty(&after).unwrap()
        );
        let outbox_after = self.ws.files_under("outbox/nordlys");
        assert_eq!(
            outbox_before.keys().collect::<Vec<_>>(),
            outbox_after.keys().collect::<Vec<_>>(),
            "`{sender}`'s {name} made files appear in nordlys's outbox"
        );
        self.receipt(sender, name)
    }

    fn receipt(&self, sender: &str, name: &str) -> Vec<Row> {
        let path = self
            .ws
            .var()
            .join("outbox")
            .join(sender)
            .join(format!("receipt-{name}.csv"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        receipt_rows(&text(&bytes))
    }

    /// `sender/payment_id` of every unmatched payment (`status --json`).
    fn unmatched_ids(&self) -> Vec<String> {
        let status: Value = serde_json::from_str(&self.ws.ok(&["status", "--json"])).unwrap();
        status["unmatched"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| {
                format!(
                    "{}/{}",
                    u["sender"].as_str().unwrap(),
                    u["payment_id"].as_str().unwrap()
                )
            })
            .collect()
    }

    fn unmatched_reason(&self, sender: &str, payment_id: &str) -> String {
        let status: Value = serde_json::from_str(&self.ws.ok(&["status", "--json"])).unwrap();
        let found = status["unmatched"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["sender"] == sender && u["payment_id"] == payment_id)
            .unwrap_or_else(|| {
                panic!(
                    "{sender}'s {payment_id} is not unmatched: {}",
                    status["unmatched"]
                )
            });
        found["reason"].as_str().unwrap().to_owned()
    }

    /// What the victim has that no other tenant may learn.
    fn victim_secrets(&self) -> Vec<String> {
        let mut secrets: Vec<String> = [
            "Nordlys Elektro",
            "Kari Nordmann",
            "Ola Hansen",
            "Storgata",
            "Fjellvegen",
            "NL-1001",
            "NL-1002",
            "700112",
            "700229",
            "BANK-NL-1",
            "DIR-NL-1",
            "BANK-UNMATCHED-1",
            "Ukjent Betaler",
            NORDLYS,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        for (case_no, reference) in &self.victim {
            secrets.push(case_no.clone());
            secrets.push(reference.clone());
        }
        secrets
    }

    /// Processes the next day, so the attack day is reconciled, and checks that:
    /// - the victim's reconciliation of the attack day holds no item (only its summary);
    /// - `sender`'s outbound files (receipts, status, reconciliation; CSV and XML) name no
    ///   creditor but the sender's own in their rows, and nothing of the victim that the
    ///   sender did not send itself (`sent`: the attack files).
    fn close_day_and_check_no_leak(&self, sender: &str, sent: &[&str]) {
        self.ws.process(NEXT_DAY);
        let victim_day = text(
            &std::fs::read(
                self.ws
                    .var()
                    .join(format!("outbox/nordlys/{ATTACK_DAY_RECONCILIATION}.csv")),
            )
            .unwrap(),
        );
        for row in receipt_rows(&victim_day) {
            assert_eq!(
                row["record_type"], "summary",
                "`{sender}`'s attack put an item into nordlys's reconciliation:\n{victim_day}"
            );
        }
        assert_no_leak(&self.ws, sender, &self.victim_secrets(), sent);
    }
}

/// Checks one sender's outbox against another tenant's secrets (see
/// [`Tenants::close_day_and_check_no_leak`]).
fn assert_no_leak(ws: &Workspace, sender: &str, secrets: &[String], sent: &[&str]) {
    let files = ws.files_under(&format!("outbox/{sender}"));
    let own: BTreeSet<&str> = SENDERS
        .iter()
        .filter(|(s, _)| *s == sender)
        .map(|(_, c)| *c)
        .collect();
    if !own.is_empty() {
        assert!(
            files
                .keys()
                .any(|k| k.starts_with(ATTACK_DAY_RECONCILIATION)),
            "`{sender}` got no reconciliation of the attack day: {:?}",
            files.keys().collect::<Vec<_>>()
        );
    }
    for (name, bytes) in &files {
        let content = text(bytes);
        for secret in secrets {
            if sent.iter().any(|s| s.contains(secret.as_str())) {
                continue; // the sender's own words, echoed back
            }
            assert!(
                !content.contains(secret.as_str()),
                "{sender}/{name} mentions `{secret}`, which belongs to another tenant:\n{content}"
            );
        }
        assert_rows_only_for(sender, name, &content, &own);
    }
}

/// Status and reconciliation rows (CSV and XML) name only the sender's own creditors.
fn assert_rows_only_for(sender: &str, name: &str, content: &str, own: &BTreeSet<&str>) {
    let report = name.starts_with("status-") || name.starts_with("reconciliation-");
    if !report {
        return;
    }
    assert!(
        !own.is_empty(),
        "`{sender}` acts for every creditor and gets receipts only, but got {name}"
    );
    let creditors: Vec<String> = if name.ends_with(".xml") {
        content
            .split("<creditor_id>")
            .skip(1)
            .map(|rest| rest.split('<').next().unwrap_or_default().to_owned())
            .collect()
    } else {
        receipt_rows(content)
            .into_iter()
            .map(|r| r["creditor_id"].clone())
            .collect()
    };
    assert!(!creditors.is_empty(), "{sender}/{name} has no rows");
    for creditor in creditors {
        assert!(
            own.contains(creditor.as_str()),
            "{sender}/{name} has a row of creditor `{creditor}`:\n{content}"
        );
    }
}

fn events_mention(case: &Value, needle: &str) -> bool {
    case["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["detail"].as_str().unwrap_or_default().contains(needle))
}

/// The error rows of a receipt as (record_key, field, code).
fn errors(rows: &[Row]) -> Vec<(String, String, String)> {
    rows.iter()
        .filter(|r| r["record_type"] == "error")
        .map(|r| {
            (
                r["record_key"].clone(),
                r["field"].clone(),
                r["code"].clone(),
            )
        })
        .collect()
}

fn error_of<'r>(rows: &'r [Row], key: &str) -> &'r Row {
    let found: Vec<&Row> = rows
        .iter()
        .filter(|r| r["record_type"] == "error" && r["record_key"] == key)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one error row for {key} expected: {:?}",
        errors(rows)
    );
    found[0]
}

fn file_row(rows: &[Row]) -> &Row {
    assert_eq!(rows[0]["record_type"], "file");
    &rows[0]
}

/// A PEPPOL BIS 3 invoice from `supplier_id` to a Swedish business, customer `K-1`.
fn peppol_invoice(
    invoice_no: &str,
    supplier_id: &str,
    supplier_country: &str,
    currency: &str,
) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
         xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
         xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0</cbc:CustomizationID>
  <cbc:ProfileID>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0</cbc:ProfileID>
  <cbc:ID>{invoice_no}</cbc:ID>
  <cbc:IssueDate>2026-09-11</cbc:IssueDate>
  <cbc:DueDate>2026-09-25</cbc:DueDate>
  <cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
  <cbc:DocumentCurrencyCode>{currency}</cbc:DocumentCurrencyCode>
  <cac:AccountingSupplierParty>
    <cac:Party>
      <cac:PostalAddress>
        <cbc:StreetName>Leverandørgata 1</cbc:StreetName>
        <cbc:CityName>Oslo</cbc:CityName>
        <cbc:PostalZone>0150</cbc:PostalZone>
        <cac:Country><cbc:IdentificationCode>{supplier_country}</cbc:IdentificationCode></cac:Country>
      </cac:PostalAddress>
      <cac:PartyLegalEntity>
        <cbc:RegistrationName>Leverandøren</cbc:RegistrationName>
        <cbc:CompanyID>{supplier_id}</cbc:CompanyID>
      </cac:PartyLegalEntity>
    </cac:Party>
  </cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty>
    <cac:Party>
      <cac:PartyIdentification><cbc:ID>K-1</cbc:ID></cac:PartyIdentification>
      <cac:PostalAddress>
        <cbc:StreetName>Lindholmsallén 12</cbc:StreetName>
        <cbc:CityName>Göteborg</cbc:CityName>
        <cbc:PostalZone>41755</cbc:PostalZone>
        <cac:Country><cbc:IdentificationCode>SE</cbc:IdentificationCode></cac:Country>
      </cac:PostalAddress>
      <cac:PartyLegalEntity>
        <cbc:RegistrationName>Hisingens Fastighetsförvaltning AB</cbc:RegistrationName>
        <cbc:CompanyID schemeID="0007">5569134272</cbc:CompanyID>
      </cac:PartyLegalEntity>
    </cac:Party>
  </cac:AccountingCustomerParty>
  <cac:LegalMonetaryTotal>
    <cbc:PayableAmount currencyID="{currency}">4000.00</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
</Invoice>
"#
    )
}

// ---------------------------------------------------------------------------------------------
// Creating: invoices and credit notes.

#[test]
fn a_csv_invoice_naming_another_creditor_is_refused() {
    let t = Tenants::new();
    // An invoice number the victim has (overwriting it), and a new invoice for the victim's
    // customer K-1 (joining its case and renaming its debtor).
    let file = lines(
        INVOICE_HEADER,
        &[
            format!(
                "{NORDLYS};NL-1001;;;K-1;person;Mallory Angriper;Angrepsveien 1;7340;Oppdal;2026-09-11;2026-09-25;NOK;9 999,00;"
            ),
            format!(
                "{NORDLYS};ATT-1;;;K-1;person;Mallory Angriper;Angrepsveien 1;7340;Oppdal;2026-09-11;2026-09-25;NOK;9 999,00;"
            ),
        ],
    );
    let rows = t.attack("fjellstua", "angrep.csv", &file);
    assert_eq!(file_row(&rows)["status"], "rejected");
    assert_eq!(
        errors(&rows),
        [
            (
                "NL-1001".into(),
                "creditor_id".into(),
                "creditor_not_allowed".into()
            ),
            (
                "ATT-1".into(),
                "creditor_id".into(),
                "creditor_not_allowed".into()
            ),
        ]
    );
    t.close_day_and_check_no_leak("fjellstua", &[&file]);
}

#[test]
fn a_kravflyt_xml_invoice_naming_another_creditor_is_refused() {
    let t = Tenants::new();
    let file = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<invoices xmlns="urn:kravflyt:xml:1">
  <invoice>
    <creditor_id>{NORDLYS}</creditor_id>
    <invoice_no>NL-1001</invoice_no>
    <customer_no>K-1</customer_no>
    <debtor_type>person</debtor_type>
    <debtor_name>Mallory Angriper</debtor_name>
    <address>Angrepsveien 1</address>
    <postcode>7340</postcode>
    <city>Oppdal</city>
    <issue_date>2026-09-11</issue_date>
    <due_date>2026-09-25</due_date>
    <currency>NOK</currency>
    <amount>9999.00</amount>
  </invoice>
  <invoice>
    <creditor_id>{NORDLYS}</creditor_id>
    <invoice_no>ATT-CN-1</invoice_no>
    <document_type>credit_note</document_type>
    <credited_invoice_no>NL-1002</credited_invoice_no>
    <customer_no>K-2</customer_no>
    <debtor_type>person</debtor_type>
    <debtor_name>Mallory Angriper</debtor_name>
    <address>Angrepsveien 1</address>
    <postcode>7340</postcode>
    <city>Oppdal</city>
    <issue_date>2026-10-02</issue_date>
    <due_date>2026-10-02</due_date>
    <currency>NOK</currency>
    <amount>1800.00</amount>
  </invoice>
</invoices>
"#
    );
    let rows = t.attack("revontuli", "laskut.xml", &file);
    assert_eq!(file_row(&rows)["status"], "rejected");
    assert_eq!(
        errors(&rows),
        [
            (
                "NL-1001".into(),
                "creditor_id".into(),
                "creditor_not_allowed".into()
            ),
            (
                "ATT-CN-1".into(),
                "creditor_id".into(),
                "creditor_not_allowed".into()
            ),
        ]
    );
    // The XML receipt says the same.
    let xml = t.ws.outbox_file("revontuli", "receipt-laskut.xml.xml");
    assert_eq!(
        xml.matches("<code>creditor_not_allowed</code>").count(),
        2,
        "{xml}"
    );
    t.close_day_and_check_no_leak("revontuli", &[&file]);
}

#[test]
fn a_peppol_invoice_from_another_supplier_is_refused() {
    let t = Tenants::new();
    // Kvarnby sends a PEPPOL invoice whose supplier is Nordlys Elektro (Norwegian org. no.).
    let file = peppol_invoice("NL-1001", NORDLYS, "NO", "NOK");
    let rows = t.attack("kvarnby", "faktura-angrep.xml", &file);
    assert_eq!(file_row(&rows)["status"], "rejected");
    assert_eq!(
        errors(&rows),
        [(
            "NL-1001".into(),
            "creditor_id".into(),
            "creditor_not_allowed".into()
        )]
    );
    // Written with the VAT number form, or an `NO` prefix and `MVA` suffix: the same creditor.
    let vat = file.replace(
        &format!("<cbc:CompanyID>{NORDLYS}</cbc:CompanyID>"),
        &format!("<cbc:CompanyID>NO{NORDLYS}MVA</cbc:CompanyID>"),
    );
    let rows = t.attack("kvarnby", "faktura-angrep-mva.xml", &vat);
    assert_eq!(file_row(&rows)["status"], "rejected", "{rows:?}");
    assert_eq!(error_of(&rows, "NL-1001")["code"], "creditor_not_allowed");
    // The same document with kvarnby's own supplier id is accepted: the file itself is fine.
    let control = peppol_invoice("KV-1", KVARNBY, "SE", "SEK");
    let rows = t.attack("kvarnby", "faktura-egen.xml", &control);
    assert_eq!(file_row(&rows)["status"], "accepted", "{rows:?}");
    t.close_day_and_check_no_leak("kvarnby", &[&file, &vat, &control]);
}

#[test]
fn a_credit_note_cannot_credit_another_creditors_invoice() {
    let t = Tenants::new();
    let file = lines(
        INVOICE_HEADER,
        &[
            // Fjellstua's own creditor, crediting the victim's invoice number.
            format!(
                "{FJELLSTUA};ATT-CN-1;credit_note;NL-1001;K-1;person;Kari Nordmann;Storgata 1;9008;Tromsø;2026-10-02;2026-10-02;NOK;900,00;"
            ),
            // The victim's creditor id.
            format!(
                "{NORDLYS};ATT-CN-2;credit_note;NL-1002;K-2;person;Ola Hansen;Fjellvegen 2;9010;Tromsø;2026-10-02;2026-10-02;NOK;1 800,00;"
            ),
        ],
    );
    let rows = t.attack("fjellstua", "kreditnota.csv", &file);
    assert_eq!(file_row(&rows)["status"], "rejected");
    assert_eq!(
        errors(&rows),
        [
            (
                "ATT-CN-1".into(),
                "credited_invoice_no".into(),
                "unknown_invoice".into()
            ),
            (
                "ATT-CN-2".into(),
                "creditor_id".into(),
                "creditor_not_allowed".into()
            ),
        ]
    );
    t.close_day_and_check_no_leak("fjellstua", &[&file]);
}

#[test]
fn the_same_invoice_number_at_two_creditors_is_two_invoices_in_two_cases() {
    let t = Tenants::new();
    // Fjellstua's own NL-1001 for its own customer K-1 (the victim has a K-1 too): not a
    // `conflict` (that would tell fjellstua the victim has an NL-1001), a new invoice.
    let invoice_file = lines(
        INVOICE_HEADER,
        &[format!(
            "{FJELLSTUA};NL-1001;;;K-1;person;Per Gjest;Fjellveien 9;7340;Oppdal;2026-09-20;2026-09-30;NOK;300,00;"
        )],
    );
    let rows = t.attack("fjellstua", "faktura-2.csv", &invoice_file);
    assert_eq!(file_row(&rows)["status"], "accepted", "{rows:?}");
    let own = t.ws.case_show(&format!("{FJELLSTUA}/NL-1001"));
    assert_eq!(own["creditor_id"], FJELLSTUA);
    assert_eq!(
        own["case_no"],
        t.own_case.as_str(),
        "it joins fjellstua's own case of K-1"
    );
    assert_eq!(own["debtor"]["name"], "Per Gjest");
    let victims = t.ws.case_show(&format!("{NORDLYS}/NL-1001"));
    assert_eq!(victims["case_no"], t.victim[0].0.as_str());
    assert_eq!(victims["debtor"]["name"], "Kari Nordmann");

    // A direct payment and a credit note for "NL-1001" from fjellstua reach its own invoice.
    let payment = lines(
        PAYMENT_HEADER,
        &[format!(
            "ATT-P-1;direct;{FJELLSTUA};;NL-1001;100,00;NOK;2026-10-01;Per Gjest;"
        )],
    );
    let rows = t.attack("fjellstua", "direkte.csv", &payment);
    assert_eq!(file_row(&rows)["status"], "accepted", "{rows:?}");
    let credit = lines(
        INVOICE_HEADER,
        &[format!(
            "{FJELLSTUA};FJ-CN-1;credit_note;NL-1001;K-1;person;Per Gjest;Fjellveien 9;7340;Oppdal;2026-10-02;2026-10-02;NOK;50,00;"
        )],
    );
    let rows = t.attack("fjellstua", "kreditnota.csv", &credit);
    assert_eq!(file_row(&rows)["status"], "accepted", "{rows:?}");
    let own = t.ws.case_show(&t.own_case);
    assert!(events_mention(&own, "ATT-P-1"), "{own}");
    assert!(events_mention(&own, "FJ-CN-1"), "{own}");
    let invoice = own["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["invoice_no"] == "NL-1001")
        .unwrap();
    // 300.00 less the credit note's 50.00; the payment went to the case's oldest invoice.
    assert_eq!(invoice["principal_open"], "250.00", "{own}");
    t.close_day_and_check_no_leak("fjellstua", &[&invoice_file, &payment, &credit]);
}

// ---------------------------------------------------------------------------------------------
// Changing: payments and reversals.

#[test]
fn a_direct_payment_naming_another_creditor_is_refused() {
    let t = Tenants::new();
    let file = lines(
        PAYMENT_HEADER,
        &[
            format!("ATT-P-1;direct;{NORDLYS};;NL-1001;1 000,00;NOK;2026-10-01;Kari Nordmann;"),
            format!("ATT-P-2;direct;{NORDLYS};700229;;2 000,00;NOK;2026-10-01;Ola Hansen;"),
        ],
    );
    let rows = t.attack("fjellstua", "direkte.csv", &file);
    assert_eq!(file_row(&rows)["status"], "rejected");
    assert_eq!(
        errors(&rows),
        [
            (
                "ATT-P-1".into(),
                "creditor_id".into(),
                "creditor_not_allowed".into()
            ),
            (
                "ATT-P-2".into(),
                "creditor_id".into(),
                "creditor_not_allowed".into()
            ),
        ]
    );
    t.close_day_and_check_no_leak("fjellstua", &[&file]);
}

#[test]
fn a_direct_payment_with_another_creditors_invoice_number_or_reference_stays_unmatched() {
    let t = Tenants::new();
    // For its own creditor, fjellstua reports money "paid" against the victim's invoice
    // number, its invoice reference, and a guessed agency reference of the victim's case; and,
    // for comparison, a reference and an invoice number that exist nowhere.
    let file = lines(
        PAYMENT_HEADER,
        &[
            format!("ATT-P-1;direct;{FJELLSTUA};;NL-1001;1 000,00;NOK;2026-10-01;Kari Nordmann;"),
            format!("ATT-P-2;direct;{FJELLSTUA};700229;;2 000,00;NOK;2026-10-01;Ola Hansen;"),
            format!(
                "ATT-P-3;direct;{FJELLSTUA};{};;900,00;NOK;2026-10-01;Kari Nordmann;",
                t.victim[0].1
            ),
            format!("ATT-P-4;direct;{FJELLSTUA};700336;;300,00;NOK;2026-10-01;Nobody;"),
            format!("ATT-P-5;direct;{FJELLSTUA};;NL-9999;300,00;NOK;2026-10-01;Nobody;"),
        ],
    );
    let rows = t.attack("fjellstua", "direkte.csv", &file);
    // Money reported is accepted and kept; the receipt is the same whether the number exists
    // at another creditor or nowhere.
    assert_eq!(file_row(&rows)["status"], "accepted", "{rows:?}");
    assert_eq!(errors(&rows), []);
    for id in ["ATT-P-1", "ATT-P-2", "ATT-P-3", "ATT-P-4", "ATT-P-5"] {
        assert_eq!(
            t.unmatched_reason("fjellstua", id),
            "unknown_reference",
            "{id}: the same reason as for a number that exists nowhere"
        );
    }
    t.close_day_and_check_no_leak("fjellstua", &[&file]);
    // The reconciliation lists them as fjellstua's unmatched money, with its own creditor id.
    let day = receipt_rows(&text(
        &std::fs::read(
            t.ws.var()
                .join(format!("outbox/fjellstua/{ATTACK_DAY_RECONCILIATION}.csv")),
        )
        .unwrap(),
    ));
    let unmatched: Vec<&Row> = day
        .iter()
        .filter(|r| r["record_type"] == "unmatched")
        .collect();
    assert_eq!(unmatched.len(), 5, "{day:?}");
    for row in unmatched {
        assert_eq!(row["creditor_id"], FJELLSTUA);
        assert_eq!(row["case_no"], "");
        assert_eq!(row["reason"], "unknown_reference");
    }
}

#[test]
fn a_bank_payment_from_a_creditors_sender_reaches_only_that_creditors_cases() {
    let t = Tenants::new();
    // docs/payments.md, *The tenant boundary*: every matching rule looks only at cases of the
    // creditors the sender acts for, bank payments included.
    let file = lines(
        PAYMENT_HEADER,
        &[
            format!(
                "ATT-B-1;bank;;{};;1 000,00;NOK;2026-10-01;Kari Nordmann;",
                t.victim[0].1
            ),
            "ATT-B-2;bank;;700229;;2 000,00;NOK;2026-10-01;Ola Hansen;".to_owned(),
            // A reference no invoice has yet; the victim will get it below.
            "ATT-B-3;bank;;700336;;300,00;NOK;2026-10-01;Nils Dahl;".to_owned(),
            format!("ATT-B-4;bank;{NORDLYS};;;100,00;NOK;2026-10-01;Kari Nordmann;"),
        ],
    );
    let rows = t.attack("fjellstua", "bank.csv", &file);
    assert_eq!(file_row(&rows)["status"], "partly_accepted", "{rows:?}");
    assert_eq!(
        errors(&rows),
        [(
            "ATT-B-4".into(),
            "creditor_id".into(),
            "creditor_not_allowed".into()
        )]
    );
    for id in ["ATT-B-1", "ATT-B-2", "ATT-B-3"] {
        assert_eq!(
            t.unmatched_reason("fjellstua", id),
            "unknown_reference",
            "{id}"
        );
    }
    // Its own case's agency reference does match: bank payments from a creditor's sender work.
    let own = lines(
        PAYMENT_HEADER,
        &[format!(
            "OWN-B-1;bank;;{};;50,00;NOK;2026-10-01;Per Gjest;",
            t.own_reference
        )],
    );
    let rows = t.attack("fjellstua", "bank-egen.csv", &own);
    assert_eq!(file_row(&rows)["status"], "accepted", "{rows:?}");
    assert!(events_mention(&t.ws.case_show(&t.own_case), "OWN-B-1"));

    // Unmatched payments are tried again after every invoice file, within the boundary of
    // the sender that delivered them: a new victim invoice with reference 700336 does not
    // take fjellstua's ATT-B-3.
    t.ws.drop_file(
        "nordlys",
        "faktura-3.csv",
        lines(
            INVOICE_HEADER,
            &[format!(
                "{NORDLYS};NL-1003;;;K-3;person;Nils Dahl;Elvegata 6;9011;Tromsø;2026-09-11;2026-09-25;NOK;300,00;700336"
            )],
        ),
    );
    t.ws.process(ATTACK_DAY);
    let new_case = t.ws.case_show(&format!("{NORDLYS}/NL-1003"));
    assert_eq!(new_case["balance"]["principal"], "300.00", "{new_case}");
    assert!(!events_mention(&new_case, "ATT-B-3"), "{new_case}");
    assert_eq!(
        t.unmatched_reason("fjellstua", "ATT-B-3"),
        "unknown_reference"
    );
    let mut secrets = t.victim_secrets();
    secrets.extend([
        "NL-1003".to_owned(),
        new_case["case_no"].as_str().unwrap().to_owned(),
    ]);
    t.ws.process(NEXT_DAY);
    assert_no_leak(&t.ws, "fjellstua", &secrets, &[&file, &own]);
}

#[test]
fn a_reversal_cannot_undo_another_senders_payment() {
    let t = Tenants::new();
    let file = lines(
        PAYMENT_HEADER,
        &[
            // Naming the bank's payment on the victim's case, and nordlys's direct payment.
            format!(
                "ATT-R-1;bank;;{};;-100,00;NOK;2026-10-01;;BANK-NL-1",
                t.victim[0].1
            ),
            format!("ATT-R-2;direct;{FJELLSTUA};;NL-1002;-200,00;NOK;2026-10-01;;DIR-NL-1"),
            // A bank correction without `reverses`, with the reference and the amount of the
            // bank's payment: it corrects only this sender's payments.
            format!("ATT-R-3;bank;;{};;-100,00;NOK;2026-10-01;;", t.victim[0].1),
            // For comparison: a payment id that exists nowhere.
            "ATT-R-4;bank;;;;-100,00;NOK;2026-10-01;;NOPE-1".to_owned(),
        ],
    );
    let rows = t.attack("fjellstua", "reversering.csv", &file);
    assert_eq!(file_row(&rows)["status"], "partly_accepted", "{rows:?}");
    assert_eq!(
        errors(&rows),
        [
            (
                "ATT-R-1".into(),
                "reverses".into(),
                "unknown_payment".into()
            ),
            (
                "ATT-R-2".into(),
                "reverses".into(),
                "unknown_payment".into()
            ),
            (
                "ATT-R-4".into(),
                "reverses".into(),
                "unknown_payment".into()
            ),
        ]
    );
    // The same message whether the payment exists at another sender or nowhere.
    let message = |key: &str, named: &str| error_of(&rows, key)["message"].replace(named, "X");
    assert_eq!(
        message("ATT-R-1", "BANK-NL-1"),
        message("ATT-R-4", "NOPE-1")
    );
    assert_eq!(message("ATT-R-2", "DIR-NL-1"), message("ATT-R-4", "NOPE-1"));
    assert_eq!(
        t.unmatched_reason("fjellstua", "ATT-R-3"),
        "unknown_reference"
    );
    // A payment id of another sender is no `conflict` either: ids are per sender.
    let reuse = lines(
        PAYMENT_HEADER,
        &[format!(
            "BANK-NL-1;direct;{FJELLSTUA};;FJ-2001;10,00;NOK;2026-10-01;Per Gjest;"
        )],
    );
    let rows = t.attack("fjellstua", "gjenbruk.csv", &reuse);
    assert_eq!(file_row(&rows)["status"], "accepted", "{rows:?}");
    t.close_day_and_check_no_leak("fjellstua", &[&file, &reuse]);
}

// ---------------------------------------------------------------------------------------------
// Changing: instructions.

#[test]
fn instructions_cannot_reach_another_creditors_case() {
    let t = Tenants::new();
    let (case_no, reference) = t.victim[0].clone();
    let mut rows = Vec::new();
    let mut expected = Vec::new();
    for (action, outcome, until) in LIFECYCLE_ACTIONS {
        // (creditor_id, invoice_no, case_no, expected code)
        let targets = [
            (NORDLYS, "NL-1001", "", "creditor_not_allowed"),
            (NORDLYS, "", case_no.as_str(), "creditor_not_allowed"),
            (FJELLSTUA, "NL-1001", "", "unknown_invoice"),
            (FJELLSTUA, "", case_no.as_str(), "unknown_invoice"),
            (FJELLSTUA, "", reference.as_str(), "unknown_invoice"),
            (
                FJELLSTUA,
                "",
                &format!("{NORDLYS}/NL-1001"),
                "unknown_invoice",
            ),
        ];
        for (n, (creditor, invoice_no, case, code)) in targets.iter().enumerate() {
            let id = format!("ATT-{action}-{n}");
            rows.push(format!(
                "{id};{creditor};{invoice_no};{case};{action};;{outcome};{until};;angrep"
            ));
            expected.push((id, (*code).to_owned()));
        }
    }
    let file = lines(INSTRUCTION_HEADER, &rows);
    let receipt = t.attack("fjellstua", "instrukser.csv", &file);
    assert_eq!(file_row(&receipt)["status"], "rejected");
    let mut got: Vec<(String, String)> = errors(&receipt)
        .into_iter()
        .map(|(key, _, code)| (key, code))
        .collect();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);

    // The same through kravflyt XML from revontuli.
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<instructions xmlns="urn:kravflyt:xml:1">
  <instruction>
    <instruction_id>ATT-X-1</instruction_id>
    <creditor_id>{REVONTULI}</creditor_id>
    <case_no>{case_no}</case_no>
    <action>withdraw</action>
  </instruction>
  <instruction>
    <instruction_id>ATT-X-2</instruction_id>
    <creditor_id>{NORDLYS}</creditor_id>
    <invoice_no>NL-1001</invoice_no>
    <action>write_off</action>
  </instruction>
</instructions>
"#
    );
    let receipt = t.attack("revontuli", "ohjeet.xml", &xml);
    assert_eq!(file_row(&receipt)["status"], "rejected");
    assert_eq!(error_of(&receipt, "ATT-X-1")["code"], "unknown_invoice");
    assert_eq!(
        error_of(&receipt, "ATT-X-2")["code"],
        "creditor_not_allowed"
    );
    t.close_day_and_check_no_leak("fjellstua", &[&file]);
    assert_no_leak(&t.ws, "revontuli", &t.victim_secrets(), &[&xml]);
}

#[test]
fn no_existence_oracle_for_other_creditors_cases_invoices_and_creditors() {
    let t = Tenants::new();
    let (case_no, reference) = t.victim[0].clone();
    // Pairs: (exists at another creditor, exists nowhere), same shape.
    let instructions = lines(
        INSTRUCTION_HEADER,
        &[
            format!("O-1;{FJELLSTUA};;{case_no};withdraw;;;;;"),
            format!("O-2;{FJELLSTUA};;2026-999999;withdraw;;;;;"),
            format!("O-3;{FJELLSTUA};NL-1001;;dispute;;;;;"),
            format!("O-4;{FJELLSTUA};NL-9999;;dispute;;;;;"),
            format!("O-5;{FJELLSTUA};;{reference};pause;;;;;"),
            // A valid kid-mod10 agency-style reference no case has.
            format!("O-6;{FJELLSTUA};;7009999992;pause;;;;;"),
            format!("O-7;{NORDLYS};NL-1001;;legal;;;;;"),
            "O-8;999999999;NL-1001;;legal;;;;;".to_owned(),
        ],
    );
    let rows = t.attack("fjellstua", "instrukser.csv", &instructions);
    let same = |a: &str, b: &str, a_text: &str, b_text: &str| {
        let (ra, rb) = (error_of(&rows, a), error_of(&rows, b));
        assert_eq!(
            (&ra["field"], &ra["code"]),
            (&rb["field"], &rb["code"]),
            "{a} and {b} must be answered alike"
        );
        assert_eq!(
            ra["message"].replace(a_text, "X"),
            rb["message"].replace(b_text, "X"),
            "{a} and {b} must be answered alike"
        );
    };
    same("O-1", "O-2", &case_no, "2026-999999");
    same("O-3", "O-4", "NL-1001", "NL-9999");
    same("O-5", "O-6", &reference, "7009999992");
    same("O-7", "O-8", NORDLYS, "999999999");
    assert_eq!(error_of(&rows, "O-1")["code"], "unknown_invoice");
    assert_eq!(error_of(&rows, "O-7")["code"], "creditor_not_allowed");

    // Credit notes: crediting the victim's invoice number or one that exists nowhere.
    let credits = lines(
        INVOICE_HEADER,
        &[
            format!(
                "{FJELLSTUA};O-CN-1;credit_note;NL-1001;K-1;person;Per Gjest;Fjellveien 9;7340;Oppdal;2026-10-02;2026-10-02;NOK;10,00;"
            ),
            format!(
                "{FJELLSTUA};O-CN-2;credit_note;NL-9999;K-1;person;Per Gjest;Fjellveien 9;7340;Oppdal;2026-10-02;2026-10-02;NOK;10,00;"
            ),
        ],
    );
    let credit_rows = t.attack("fjellstua", "kreditnota.csv", &credits);
    let (a, b) = (
        error_of(&credit_rows, "O-CN-1"),
        error_of(&credit_rows, "O-CN-2"),
    );
    assert_eq!(a["code"], "unknown_invoice");
    assert_eq!((&a["field"], &a["code"]), (&b["field"], &b["code"]));
    assert_eq!(
        a["message"].replace("O-CN-1", "X").replace("NL-1001", "Y"),
        b["message"].replace("O-CN-2", "X").replace("NL-9999", "Y")
    );
    t.close_day_and_check_no_leak("fjellstua", &[&instructions, &credits]);
}

#[test]
fn assign_payment_from_a_creditors_sender_is_action_not_allowed() {
    let t = Tenants::new();
    let file = lines(
        INSTRUCTION_HEADER,
        &[
            format!(
                "A-1;{FJELLSTUA};;{};assign_payment;;;;BANK-UNMATCHED-1;",
                t.own_case
            ),
            format!("A-2;{FJELLSTUA};FJ-2001;;assign_payment;;;;BANK-UNMATCHED-1;"),
            // docs/payments.md: "the sender acts for every creditor" is the first check, so a
            // creditor's sender is told `action_not_allowed` whatever case it names.
            format!(
                "A-3;{FJELLSTUA};;{};assign_payment;;;;BANK-UNMATCHED-1;",
                t.victim[0].0
            ),
            format!("A-4;{NORDLYS};NL-1001;;assign_payment;;;;BANK-UNMATCHED-1;"),
        ],
    );
    let own_before = t.ws.case_show(&t.own_case);
    let rows = t.attack("fjellstua", "tildeling.csv", &file);
    assert_eq!(file_row(&rows)["status"], "rejected");
    assert_eq!(
        errors(&rows),
        [
            ("A-1".into(), "action".into(), "action_not_allowed".into()),
            ("A-2".into(), "action".into(), "action_not_allowed".into()),
            ("A-3".into(), "action".into(), "action_not_allowed".into()),
            (
                "A-4".into(),
                "creditor_id".into(),
                "creditor_not_allowed".into()
            ),
        ]
    );
    assert_eq!(t.ws.case_show(&t.own_case), own_before);
    assert_eq!(t.unmatched_ids(), ["bank/BANK-UNMATCHED-1"]);
    t.close_day_and_check_no_leak("fjellstua", &[&file]);
}

#[test]
fn assign_payment_from_the_desk_places_agency_money_on_the_named_case() {
    let t = Tenants::new();
    let case_no = t.victim[0].0.clone();
    // The desk names the case with the wrong creditor: refused like any unknown case (and,
    // with the desk's reject_file, the whole file).
    let wrong = lines(
        INSTRUCTION_HEADER,
        &[format!(
            "D-1;{FJELLSTUA};;{case_no};assign_payment;;;;BANK-UNMATCHED-1;"
        )],
    );
    let rows = t.attack("desk", "feil.csv", &wrong);
    assert_eq!(file_row(&rows)["status"], "rejected");
    assert_eq!(
        errors(&rows),
        [("D-1".into(), "case_no".into(), "unknown_invoice".into())]
    );
    assert_eq!(t.unmatched_ids(), ["bank/BANK-UNMATCHED-1"]);

    // With the right creditor it is placed.
    t.ws.drop_file(
        "desk",
        "tildeling.csv",
        lines(
            INSTRUCTION_HEADER,
            &[format!(
                "D-2;{NORDLYS};;{case_no};assign_payment;;;;BANK-UNMATCHED-1;Kari ringte"
            )],
        ),
    );
    t.ws.process(ATTACK_DAY);
    let rows = t.receipt("desk", "tildeling.csv");
    assert_eq!(file_row(&rows)["status"], "accepted", "{rows:?}");
    let case = t.ws.case_show(&case_no);
    assert!(
        case["events"].as_array().unwrap().iter().any(|e| {
            e["kind"] == "payment"
                && e["detail"].as_str().unwrap().contains("BANK-UNMATCHED-1")
                && e["detail"]
                    .as_str()
                    .unwrap()
                    .contains("matched by assignment")
        }),
        "{case}"
    );
    assert!(t.unmatched_ids().is_empty());
    t.ws.process(NEXT_DAY);
    // The desk gets receipts only; nordlys sees the payment; fjellstua sees nothing of it.
    for name in t.ws.names_under("outbox/desk") {
        assert!(name.starts_with("receipt-"), "desk got {name}");
    }
    let status: String =
        t.ws.files_under("outbox/nordlys")
            .iter()
            .filter(|(k, _)| k.starts_with("status-"))
            .map(|(_, v)| text(v))
            .collect();
    assert!(status.contains("BANK-UNMATCHED-1"), "{status}");
    assert_no_leak(&t.ws, "fjellstua", &t.victim_secrets(), &[]);
}

#[test]
fn the_desk_cannot_place_one_creditors_direct_payment_on_another_creditors_case() {
    let t = Tenants::new();
    // Fjellstua reports money its debtor paid to fjellstua itself, matching nothing.
    let direct = lines(
        PAYMENT_HEADER,
        &[format!(
            "FJ-D-1;direct;{FJELLSTUA};;FJ-9999;250,00;NOK;2026-10-01;Per Gjest;"
        )],
    );
    let rows = t.attack("fjellstua", "direkte.csv", &direct);
    assert_eq!(file_row(&rows)["status"], "accepted");
    assert_eq!(
        t.unmatched_reason("fjellstua", "FJ-D-1"),
        "unknown_reference"
    );
    // The desk assigns it to the victim's case: the money was paid to creditor 987654325, so
    // it cannot settle a claim of creditor 923609016 (and fjellstua's payment would show in
    // nordlys's status and reconciliation files).
    let assign = lines(
        INSTRUCTION_HEADER,
        &[format!(
            "D-3;{NORDLYS};;{};assign_payment;;;;FJ-D-1;",
            t.victim[0].0
        )],
    );
    let rows = t.attack("desk", "tildeling.csv", &assign);
    assert_eq!(file_row(&rows)["status"], "rejected", "{rows:?}");
    assert_eq!(
        t.unmatched_reason("fjellstua", "FJ-D-1"),
        "unknown_reference"
    );
    t.ws.process(NEXT_DAY);
    let fjellstua_secrets = vec![
        "FJ-D-1".to_owned(),
        "Per Gjest".to_owned(),
        FJELLSTUA.to_owned(),
    ];
    assert_no_leak(&t.ws, "nordlys", &fjellstua_secrets, &[]);
}

// ---------------------------------------------------------------------------------------------
// Reading: outbound files.

#[test]
fn status_and_reconciliation_files_hold_only_the_senders_own_creditors() {
    let t = Tenants::new();
    let samples = crate::support::repo().join("samples/inbox");
    // Traffic for every tenant on the attack day: kvarnby's and revontuli's sample invoices,
    // bank money for several creditors (placed and unplaced), direct payments, the desk.
    for (sender, file) in [
        ("kvarnby", "faktura-2026-0412.xml"),
        ("revontuli", "20261103-laskut.xml"),
    ] {
        t.ws.drop_file(
            sender,
            file,
            std::fs::read(samples.join(sender).join(file)).unwrap(),
        );
    }
    t.ws.process(ATTACK_DAY);
    let reference = |key: &str| {
        t.ws.case_show(key)["reference"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let kvarnby_ref = reference(&format!("{KVARNBY}/2026-0412"));
    let revontuli_ref = reference(&format!("{REVONTULI}/10481"));
    t.ws.drop_file(
        "bank",
        "innbetalinger-2.csv",
        lines(
            PAYMENT_HEADER,
            &[
                format!(
                    "BANK-2;bank;;{};;300,00;NOK;2026-10-01;Ola Hansen;",
                    t.victim[1].1
                ),
                format!(
                    "BANK-3;bank;;{};;200,00;NOK;2026-10-01;Per Gjest;",
                    t.own_reference
                ),
                format!("BANK-4;bank;;{kvarnby_ref};;1000,00;SEK;2026-10-01;Hisingens;"),
                format!("BANK-5;bank;;{revontuli_ref};;100,00;EUR;2026-10-01;Aino Kettunen;"),
                "BANK-6;bank;;7009999992;;70,00;NOK;2026-10-01;Ukjent;".to_owned(),
            ],
        ),
    );
    t.ws.drop_file(
        "fjellstua",
        "direkte.csv",
        lines(
            PAYMENT_HEADER,
            &[
                format!("FJ-D-1;direct;{FJELLSTUA};;FJ-2001;100,00;NOK;2026-10-01;Per Gjest;"),
                format!("FJ-D-2;direct;{FJELLSTUA};;FJ-9999;10,00;NOK;2026-10-01;Per Gjest;"),
            ],
        ),
    );
    t.ws.drop_file(
        "nordlys",
        "direkte-2.csv",
        lines(
            PAYMENT_HEADER,
            &[format!(
                "DIR-NL-2;direct;{NORDLYS};;NL-1404;20,00;NOK;2026-10-01;Ola Hansen;"
            )],
        ),
    );
    t.ws.drop_file(
        "desk",
        "instrukser.csv",
        lines(
            INSTRUCTION_HEADER,
            &[format!(
                "KS-1;{NORDLYS};NL-1002;;dispute;;;;;Kunden bestrider"
            )],
        ),
    );
    t.ws.process(ATTACK_DAY);
    for (sender, file) in [
        ("bank", "innbetalinger-2.csv"),
        ("fjellstua", "direkte.csv"),
        ("nordlys", "direkte-2.csv"),
        ("desk", "instrukser.csv"),
    ] {
        let rows = t.receipt(sender, file);
        assert_eq!(
            file_row(&rows)["status"],
            "accepted",
            "{sender}/{file}: {rows:?}"
        );
    }
    t.ws.process(NEXT_DAY);

    // Every creditor sender got status and reconciliation files, with its own rows only
    // (checked inside assert_no_leak), and nothing of the other tenants.
    let secrets: BTreeMap<&str, Vec<String>> = BTreeMap::from([
        (
            "nordlys",
            vec![
                "Nordlys Elektro".into(),
                "Kari Nordmann".into(),
                "NL-1001".into(),
                "DIR-NL-2".into(),
                "Kunden bestrider".into(),
                t.victim[0].0.clone(),
                t.victim[1].0.clone(),
                NORDLYS.into(),
            ],
        ),
        (
            "fjellstua",
            vec![
                "Fjellstua".into(),
                "Per Gjest".into(),
                "FJ-2001".into(),
                "FJ-D-1".into(),
                "FJ-D-2".into(),
                t.own_case.clone(),
                FJELLSTUA.into(),
            ],
        ),
        (
            "kvarnby",
            vec![
                "Kvarnby".into(),
                "Hisingens".into(),
                "2026-0412".into(),
                KVARNBY.into(),
            ],
        ),
        (
            "revontuli",
            vec!["Revontuli".into(), "Aino Kettunen".into(), REVONTULI.into()],
        ),
        (
            "bank",
            // The agency's money that reached no case is no creditor's business.
            vec!["BANK-6".into(), "7009999992".into()],
        ),
    ]);
    for (sender, _) in SENDERS {
        let others: Vec<String> = secrets
            .iter()
            .filter(|(owner, _)| *owner != sender)
            .flat_map(|(_, s)| s.iter().cloned())
            .collect();
        let names = t.ws.names_under(&format!("outbox/{sender}"));
        for kind in ["status-", &format!("{ATTACK_DAY_RECONCILIATION}.")] {
            assert!(
                names.iter().any(|n| n.starts_with(kind)),
                "{sender} has no {kind} file: {names:?}"
            );
        }
        assert_no_leak(&t.ws, sender, &others, &[]);
    }
    for sender in ["bank", "desk"] {
        for name in t.ws.names_under(&format!("outbox/{sender}")) {
            assert!(
                name.starts_with("receipt-"),
                "{sender} acts for every creditor and gets receipts only, not {name}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The outbox folders.

#[test]
fn a_sender_cannot_be_named_into_another_senders_or_the_agencys_outbox() {
    for (id, why) in [
        ("_agency", "the agency's own folder"),
        ("../nordlys", "a path out of the inbox"),
        ("nordlys/../bank", "a path into another sender's folder"),
        ("..", "the parent folder"),
        (".", "the outbox itself"),
        ("", "the outbox itself"),
        ("Nordlys", "the same folder on a case-insensitive disk"),
        ("nordlys", "another sender's folder (defined twice)"),
    ] {
        let ws = Workspace::with_config(|config| {
            format!(
                "{config}\n[[sender]]\nid = \"{id}\"\nacts_for = [\"{FJELLSTUA}\"]\nreads = [\"csv\"]\nwrites = \"csv\"\n"
            )
        });
        let out = ws.run(&["config", "check"]);
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "sender id `{id}` ({why}) must be a configuration error:\n{said}"
        );
        assert!(
            said.contains(&format!("`{id}`")),
            "the error names `{id}`:\n{said}"
        );
        let out = ws.run(&["process", "--as-of", SETUP_DAY]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "process refuses the configuration"
        );
        assert!(
            !ws.var().join("outbox").exists(),
            "nothing is written with a refused configuration"
        );
    }
}
