//! What the CLI prints about cases: the JSON of SPEC §3 and plain text for people.

use serde_json::{Value, json};

use crate::money::format_minor;
use crate::store::{Balance, CaseSummary, CaseView};

fn amount(minor: i64) -> Value {
    Value::String(format_minor(minor, '.'))
}

fn balance_json(b: &Balance) -> Value {
    json!({
        "principal": amount(b.principal),
        "interest": amount(b.interest),
        "fees": amount(b.fees),
        "collection_costs": amount(b.collection_costs),
        "total": amount(b.total()),
    })
}

/// `case show --json`: the keys of SPEC §3.
pub fn case_json(view: &CaseView) -> Value {
    json!({
        "case_no": view.case_no,
        "creditor_id": view.creditor_id,
        "reference": view.reference,
        "currency": view.currency,
        "state": view.state.as_str(),
        "close_reason": view.close_reason.map(|r| r.as_str()),
        "deadline": view.deadline.map(|d| d.to_string()),
        "opened_on": view.opened_on.to_string(),
        "debtor": {
            "name": view.debtor_name,
            "type": view.debtor_type.as_str(),
            "id": view.debtor_id,
        },
        "invoices": view.invoices.iter().map(|i| json!({
            "invoice_no": i.invoice_no,
            "document_type": i.document_type,
            "reference": i.reference,
            "due_date": i.due_date.to_string(),
            "amount": amount(i.amount_minor),
            "principal_open": amount(i.principal_open_minor),
        })).collect::<Vec<_>>(),
        "balance": balance_json(&view.balance),
        "events": view.events.iter().map(|e| json!({
            "date": e.date.to_string(),
            "kind": e.kind.as_str(),
            "amount": e.amount_minor.map(amount),
            "detail": e.detail,
        })).collect::<Vec<_>>(),
    })
}

/// `case show` for people.
pub fn case_text(view: &CaseView) -> String {
    let mut out = String::new();
    let state = match view.close_reason {
        Some(reason) => format!("{} ({reason})", view.state),
        None => view.state.to_string(),
    };
    out.push_str(&format!("case       {}\n", view.case_no));
    out.push_str(&format!("creditor   {}\n", view.creditor_id));
    out.push_str(&format!(
        "debtor     {} ({})\n",
        view.debtor_name, view.debtor_type
    ));
    out.push_str(&format!("reference  {}\n", view.reference));
    out.push_str(&format!("state      {state}\n"));
    out.push_str(&format!(
        "deadline   {}\n",
        view.deadline.map_or("-".to_owned(), |d| d.to_string())
    ));
    out.push_str(&format!("opened     {}\n\n", view.opened_on));
    out.push_str("invoices\n");
    for i in &view.invoices {
        out.push_str(&format!(
            "  {:<14} {:<11} due {}  {:>12}  open {:>12}\n",
            i.invoice_no,
            i.document_type,
            i.due_date,
            format_minor(i.amount_minor, '.'),
            format_minor(i.principal_open_minor, '.')
        ));
    }
    let b = &view.balance;
    out.push_str(&format!("\nbalance ({})\n", view.currency));
    for (label, value) in [
        ("principal", b.principal),
        ("interest", b.interest),
        ("fees", b.fees),
        ("collection costs", b.collection_costs),
        ("total", b.total()),
    ] {
        out.push_str(&format!("  {label:<17}{:>12}\n", format_minor(value, '.')));
    }
    out.push_str("\nevents\n");
    for e in &view.events {
        out.push_str(&format!(
            "  {}  {:<16} {:>12}  {}\n",
            e.date,
            e.kind.as_str(),
            e.amount_minor
                .map_or(String::new(), |a| format_minor(a, '.')),
            e.detail
        ));
    }
    out
}

/// `case list --json`.
pub fn case_list_json(cases: &[CaseSummary]) -> Value {
    Value::Array(
        cases
            .iter()
            .map(|c| {
                json!({
                    "case_no": c.case_no,
                    "creditor_id": c.creditor_id,
                    "reference": c.reference,
                    "state": c.state.as_str(),
                    "close_reason": c.close_reason.map(|r| r.as_str()),
                    "debtor_name": c.debtor_name,
                    "currency": c.currency,
                    "invoices": c.invoice_count,
                    "balance": balance_json(&c.balance),
                    "deadline": c.deadline.map(|d| d.to_string()),
                })
            })
            .collect(),
    )
}

/// `case list` for people: one aligned line per case.
pub fn case_list_text(cases: &[CaseSummary]) -> String {
    let mut out = format!(
        "{:<12} {:<11} {:<14} {:<11} {:<30} {:>3} {:>14} {:>14}\n",
        "case_no", "creditor", "reference", "state", "debtor", "inv", "principal", "total"
    );
    for c in cases {
        let name: String = c.debtor_name.chars().take(30).collect();
        out.push_str(&format!(
            "{:<12} {:<11} {:<14} {:<11} {:<30} {:>3} {:>10} {} {:>10} {}\n",
            c.case_no,
            c.creditor_id,
            c.reference,
            c.state.as_str(),
            name,
            c.invoice_count,
            format_minor(c.balance.principal, '.'),
            c.currency,
            format_minor(c.balance.total(), '.'),
            c.currency
        ));
    }
    out.push_str(&format!("{} case(s)\n", cases.len()));
    out
}
