//! What the CLI prints about cases: the JSON of SPEC §3 and plain text for people.

use serde_json::{Value, json};

use crate::domain::Balance;
use crate::money::format_minor;
use crate::store::{CaseSummary, CaseView};

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
        "letters": view.letters.iter().map(|l| json!({
            "letter_id": l.letter_id,
            "step": l.step,
            "date": l.date.to_string(),
            "account": l.account,
            "principal": amount(l.principal_minor),
            "interest": amount(l.interest_minor),
            "interest_rate": l.interest_rate,
            "interest_from": l.interest_from.map(|d| d.to_string()),
            "fees": amount(l.fees_minor),
            "collection_costs": amount(l.collection_costs_minor),
            "total": amount(l.total_minor),
            "deadline": l.deadline.to_string(),
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
    if !view.letters.is_empty() {
        out.push_str("\nletters\n");
        for l in &view.letters {
            out.push_str(&format!(
                "  {}  {:<8} principal {} interest {} ({} % from {}) fees {} costs {} total {} deadline {}\n",
                l.date,
                l.step,
                format_minor(l.principal_minor, '.'),
                format_minor(l.interest_minor, '.'),
                l.interest_rate,
                l.interest_from.map_or("-".to_owned(), |d| d.to_string()),
                format_minor(l.fees_minor, '.'),
                format_minor(l.collection_costs_minor, '.'),
                format_minor(l.total_minor, '.'),
                l.deadline
            ));
        }
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

/// The workspace's database file: where it is and how large (`None`: there is none yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseInfo {
    pub path: String,
    pub bytes: Option<u64>,
}

/// Everything `kravflyt status` shows.
#[derive(Debug, Clone)]
pub struct StatusReport {
    pub database: DatabaseInfo,
    /// (sender, files in inbox, in work/, in rejected/)
    pub folders: Vec<(String, usize, usize, usize)>,
    /// (sender, file status, count)
    pub files: Vec<(String, String, i64)>,
    /// (state, count)
    pub cases: Vec<(String, i64)>,
    pub payment_days: Vec<crate::store::PaymentDay>,
    pub unmatched: Vec<(
        crate::store::UnmatchedView,
        Vec<crate::ledger::matching::Suggestion>,
    )>,
    pub last_as_of: Option<String>,
    pub last_run_at: Option<String>,
    /// Per sender: today's files, today's rejected files, the last file and its receipt.
    pub activity: Vec<crate::store::SenderActivity>,
    /// The last day the daily steps ran for, and whether a run is overdue (the daemon's
    /// daily run time has passed for a later day).
    pub last_steps_date: Option<String>,
    pub daily_run_overdue: bool,
    pub last_reconciled_day: Option<String>,
    /// Per sender: how its inbox tells a finished upload from one still being written, and
    /// the uploads a writer holds open now (issue 17).
    pub writer_detection: Vec<crate::store::InboxWriterDetection>,
    /// The daemons that ran on this database (SPEC §10), each with the files it holds in its
    /// `work/` folder as this `var/` shows it.
    pub nodes: Vec<NodeLine>,
}

/// One node of `status`: its row, and the files in its `work/` folder.
#[derive(Debug, Clone)]
pub struct NodeLine {
    pub row: crate::store::NodeRow,
    pub files_held: usize,
}

/// Milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn utc_ms(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
    )
}

fn node_json(n: &NodeLine) -> Value {
    let r = &n.row;
    json!({
        "name": r.name,
        "host": r.host,
        "pid": r.pid,
        "started_at": utc_ms(r.started_ms),
        "heartbeat_at": utc_ms(r.heartbeat_ms),
        "seconds_since_heartbeat": r.silent_for_ms() / 1000,
        "lease_seconds": r.lease_ms / 1000,
        "state": r.status().as_str(),
        "stopped_at": r.stopped_ms.map(utc_ms),
        "taken_over_by": r.taken_over_by,
        "files_held": n.files_held,
    })
}

/// The `nodes` lines of `status`.
fn nodes_text(nodes: &[NodeLine]) -> String {
    if nodes.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "nodes              host              last heartbeat (UTC)            state    holds\n",
    );
    for n in nodes {
        let r = &n.row;
        let state = match &r.taken_over_by {
            Some(by) => format!("{} (taken over by {by})", r.status().as_str()),
            None => r.status().as_str().to_owned(),
        };
        out.push_str(&format!(
            "  {:<17}{:<18}{:<32}{:<9}{} file(s)\n",
            r.name,
            r.host,
            format!(
                "{} ({} s ago)",
                utc_ms(r.heartbeat_ms)
                    .get(..19)
                    .unwrap_or_default()
                    .replace('T', " "),
                r.silent_for_ms() / 1000
            ),
            state,
            n.files_held
        ));
    }
    out.push('\n');
    out
}

impl StatusReport {
    /// Nothing has run on this workspace yet: no database, or one in which no run finished and
    /// no file was recorded.
    pub fn nothing_has_run(&self) -> bool {
        self.database.bytes.is_none() || (self.last_run_at.is_none() && self.files.is_empty())
    }
}

/// Unmatched payments: how many and how much, per currency.
pub fn unmatched_totals(s: &StatusReport) -> Vec<(String, usize, i64)> {
    let mut totals: std::collections::BTreeMap<String, (usize, i64)> = Default::default();
    for (u, _) in &s.unmatched {
        let entry = totals.entry(u.currency.clone()).or_default();
        entry.0 += 1;
        entry.1 += u.amount_minor;
    }
    totals
        .into_iter()
        .map(|(currency, (count, sum))| (currency, count, sum))
        .collect()
}

/// `status --json`.
pub fn status_json(s: &StatusReport) -> Value {
    json!({
        "database": {
            "path": s.database.path,
            "exists": s.database.bytes.is_some(),
            "bytes": s.database.bytes,
        },
        "nothing_has_run": s.nothing_has_run(),
        "inboxes": s.folders.iter().map(|(sender, inbox, work, rejected)| json!({
            "sender": sender, "waiting": inbox, "in_work": work, "rejected": rejected,
        })).collect::<Vec<_>>(),
        "files": s.files.iter().map(|(sender, status, n)| json!({
            "sender": sender, "status": status, "count": n,
        })).collect::<Vec<_>>(),
        "cases": s.cases.iter().map(|(state, n)| json!({"state": state, "count": n})).collect::<Vec<_>>(),
        "payment_days": s.payment_days.iter().map(|d| json!({
            "date": d.date.to_string(),
            "currency": d.currency,
            "payments": d.payments,
            "received": amount(d.received_minor),
            "allocated": amount(d.allocated_minor),
            "overpaid": amount(d.overpaid_minor),
            "unmatched": amount(d.unmatched_minor),
            "ties_out": d.ties_out(),
        })).collect::<Vec<_>>(),
        "unmatched": s.unmatched.iter().map(|(u, suggestions)| json!({
            "sender": u.sender,
            "payment_id": u.payment_id,
            "amount": amount(u.amount_minor),
            "currency": u.currency,
            "payment_date": u.payment_date.to_string(),
            "reference": u.reference,
            "payer_name": u.payer_name,
            "reason": u.reason,
            "suggestions": suggestions.iter().map(|x| json!({"case_no": x.case_no, "why": x.why})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "last_run": {"as_of": s.last_as_of, "at": s.last_run_at},
        "senders": s.activity.iter().map(|a| json!({
            "sender": a.sender,
            "files_today": a.files_today,
            "rejected_today": a.rejected_today,
            "last_file": a.last_file,
            "last_status": a.last_status,
            "last_at": a.last_at,
        })).collect::<Vec<_>>(),
        "unmatched_totals": unmatched_totals(s).iter().map(|(currency, count, sum)| json!({
            "currency": currency, "count": count, "amount": amount(*sum),
        })).collect::<Vec<_>>(),
        "daily_run": {
            "last_steps_date": s.last_steps_date,
            "overdue": s.daily_run_overdue,
            "last_reconciled_day": s.last_reconciled_day,
        },
        "writer_detection": s.writer_detection.iter().map(|w| json!({
            "sender": w.sender,
            "method": w.method,
            "reason": w.reason,
            "checked_at": w.checked_at,
            "held_open": w.held_open,
            "held_open_since": w.held_open_since,
        })).collect::<Vec<_>>(),
        "nodes": s.nodes.iter().map(node_json).collect::<Vec<_>>(),
    })
}

/// The lines of `status` about writer detection: only what needs a reader's attention (an
/// inbox without writer detection, an upload held open), so a healthy workspace stays quiet.
fn writer_detection_text(rows: &[crate::store::InboxWriterDetection]) -> String {
    let mut out = String::new();
    for w in rows {
        if w.method == "quiet_period" {
            out.push_str(&format!(
                "  warning: {} runs without writer detection ({}): files are taken after the quiet period alone, and a file without a final line break waits until stale_after\n",
                w.sender,
                w.reason.as_deref().unwrap_or("no reason recorded")
            ));
        }
        if w.held_open > 0 {
            out.push_str(&format!(
                "  {}: {} upload(s) held open for writing, the oldest since {} UTC; taken when the writer closes them\n",
                w.sender,
                w.held_open,
                w.held_open_since
                    .as_deref()
                    .map_or("-", |t| t.get(..19).unwrap_or(t))
                    .replace('T', " ")
            ));
        }
    }
    out
}

/// `status` for people.
pub fn status_text(s: &StatusReport) -> String {
    let mut out = String::new();
    if s.database.bytes.is_none() {
        // A fresh workspace: only the inboxes have anything to show.
        out.push_str(&format!(
            "nothing has run yet: no database at {} (the first `kravflyt run` or `kravflyt process` creates it)\n\n",
            s.database.path
        ));
        out.push_str("senders            waiting  in work  rejected\n");
        for (sender, inbox, work, rejected) in &s.folders {
            out.push_str(&format!(
                "  {sender:<16}{inbox:>8}{work:>9}{rejected:>10}\n"
            ));
        }
        out.push_str("\nlast run: never\n");
        return out;
    }
    out.push_str(&format!(
        "daily run: steps through {}{}; reconciled through {}\n\n",
        s.last_steps_date.as_deref().unwrap_or("-"),
        if s.daily_run_overdue {
            " — OVERDUE: is the daemon running?"
        } else {
            ""
        },
        s.last_reconciled_day.as_deref().unwrap_or("-"),
    ));
    out.push_str(&nodes_text(&s.nodes));
    out.push_str(
        "senders            waiting  in work  rejected  today  rejected today  last file\n",
    );
    for (sender, inbox, work, rejected) in &s.folders {
        let activity = s.activity.iter().find(|a| &a.sender == sender);
        let (today, rejected_today, last) = match activity {
            Some(a) => (
                a.files_today,
                a.rejected_today,
                format!(
                    "{} ({}, {} UTC)",
                    a.last_file,
                    a.last_status,
                    a.last_at.get(..16).unwrap_or(&a.last_at).replace('T', " ")
                ),
            ),
            None => (0, 0, "-".to_owned()),
        };
        out.push_str(&format!(
            "  {sender:<16}{inbox:>8}{work:>9}{rejected:>10}{today:>7}{rejected_today:>16}  {last}\n"
        ));
    }
    out.push_str(&writer_detection_text(&s.writer_detection));
    out.push_str("\nfiles\n");
    for (sender, status, n) in &s.files {
        out.push_str(&format!("  {sender:<16}{status:<17}{n:>6}\n"));
    }
    out.push_str("\ncases\n");
    for (state, n) in &s.cases {
        out.push_str(&format!("  {state:<16}{n:>6}\n"));
    }
    out.push_str("\npayments by day     received    allocated     overpaid    unmatched\n");
    for d in &s.payment_days {
        out.push_str(&format!(
            "  {} {} {:>12} {:>12} {:>12} {:>12}  {} payment(s), {}\n",
            d.date,
            d.currency,
            format_minor(d.received_minor, '.'),
            format_minor(d.allocated_minor, '.'),
            format_minor(d.overpaid_minor, '.'),
            format_minor(d.unmatched_minor, '.'),
            d.payments,
            if d.ties_out() {
                "ties out"
            } else {
                "DOES NOT TIE OUT"
            }
        ));
    }
    out.push_str(&format!("\nunmatched payments ({})", s.unmatched.len()));
    for (currency, count, sum) in unmatched_totals(s) {
        out.push_str(&format!(
            "  {count} × {currency} {}",
            format_minor(sum, '.')
        ));
    }
    out.push('\n');
    for (u, suggestions) in &s.unmatched {
        out.push_str(&format!(
            "  {}/{} {} {} paid {} ref {} payer {}: {}\n",
            u.sender,
            u.payment_id,
            format_minor(u.amount_minor, '.'),
            u.currency,
            u.payment_date,
            u.reference.as_deref().unwrap_or("-"),
            u.payer_name.as_deref().unwrap_or("-"),
            u.reason.as_deref().unwrap_or("-"),
        ));
        for x in suggestions {
            out.push_str(&format!("      maybe case {} ({})\n", x.case_no, x.why));
        }
    }
    out.push_str(&format!(
        "\nlast run as of {} at {}\n",
        s.last_as_of.as_deref().unwrap_or("-"),
        s.last_run_at.as_deref().unwrap_or("-")
    ));
    out
}
