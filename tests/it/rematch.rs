//! Unmatched payments are tried again when invoices arrive — only those the new invoices
//! could match (`payments::RetryScope`), and all of them when the file is the larger side.

use serde_json::Value;

use crate::support::Workspace;

const BANK_HEADER: &str =
    "payment_id;kind;reference;amount;currency;payment_date;payer_name;payer_account\n";
const INVOICE_HEADER: &str = "creditor_id;invoice_no;customer_no;debtor_type;debtor_name;address;postcode;city;issue_date;due_date;currency;amount;reference;reminder_fee\n";

fn invoice(no: &str, customer: &str, reference: &str) -> String {
    format!(
        "923609016;{no};{customer};person;Kari Nordmann;Storgata 1;9008;Tromsø;2026-09-11;2026-09-25;NOK;100,00;{reference};\n"
    )
}

/// The payment ids still waiting unmatched, sorted.
fn waiting(ws: &Workspace) -> Vec<String> {
    let status: Value = serde_json::from_str(&ws.ok(&["status", "--json"])).unwrap();
    let mut ids: Vec<String> = status["unmatched"]
        .as_array()
        .unwrap_or_else(|| panic!("no unmatched payments list in {status:#}"))
        .iter()
        .map(|p| p["payment_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[test]
fn a_new_invoice_matches_the_payments_that_carry_its_reference_or_its_cases_and_no_others() {
    let ws = Workspace::new();
    // Case 1 will get agency reference 7000000013 (prefix 70, case number 1, KID mod 10);
    // 700112 and 700229 are invoice KIDs; nothing exists yet, so all four wait.
    ws.drop_file(
        "bank",
        "innbetalinger.csv",
        format!(
            "{BANK_HEADER}P1;bank;7000000013;30,00;NOK;2026-10-01;Kari Nordmann;\n\
             P2;bank;700229;50,00;NOK;2026-10-01;Ola Hansen;\n\
             P3;bank;700112;40,00;NOK;2026-10-01;Kari Nordmann;\n\
             P4;bank;700229;20,00;NOK;2026-10-01;Ola Hansen;\n"
        ),
    );
    ws.process("2026-10-01");
    assert_eq!(waiting(&ws), ["P1", "P2", "P3", "P4"]);

    // One invoice (fewer than the payments waiting: only its own are tried): its KID 700112
    // and its new case's agency reference 7000000013 match P1 and P3; P2 and P4 wait on.
    ws.drop_file(
        "nordlys",
        "faktura-1.csv",
        format!("{INVOICE_HEADER}{}", invoice("7001", "1", "700112")),
    );
    ws.process("2026-10-02");
    assert_eq!(waiting(&ws), ["P2", "P4"]);
    let case = ws.case_show("2026-000001");
    let text = case.to_string();
    assert!(text.contains("P1") && text.contains("P3"), "{case:#}");

    // Three invoices against two waiting payments: every waiting payment is tried, and
    // the invoice with KID 700229 takes both, oldest first.
    ws.drop_file(
        "nordlys",
        "faktura-2.csv",
        format!(
            "{INVOICE_HEADER}{}{}{}",
            invoice("7002", "2", "700229"),
            invoice("7003", "3", "700336"),
            invoice("7004", "4", "700443"),
        ),
    );
    ws.process("2026-10-03");
    assert!(waiting(&ws).is_empty());
    let text = ws.case_show("2026-000002").to_string();
    assert!(text.contains("P2") && text.contains("P4"), "{text}");
}
