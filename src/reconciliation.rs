//! The daily reconciliation (SPEC §7): for one closed business day, every item that moved
//! money or claims — payments, direct payments, reversals, credits, write-offs, unmatched
//! money — and a summary per creditor and currency that ties out: received = allocated +
//! overpaid + unmatched; creditor share, agency share and net payout; the open balance at the
//! start and end of the day moving by exactly the day's claims, interest, fees and items.
//!
//! The content of a day depends only on what is dated on that day or before, and a reconciled
//! day is closed (nothing is dated on it afterwards), so the same day always gives the same
//! bytes: `kravflyt reconcile --date D` regenerates them.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::config::{ActsFor, Config, CsvDialect};
use crate::domain::{Component, EventKind, PaymentKind};
use crate::money::format_minor;
use crate::outbound::{Cells, Table, csv_bytes, render};
use crate::store::{
    LedgerPart, MoneyPart, OpenBalance, StoreError, SuspenseEntry, SuspenseMove, Tx,
};
use crate::workspace::AGENCY_FOLDER;

/// The columns of a reconciliation file, in order.
pub const RECONCILIATION_COLUMNS: &[&str] = &[
    "record_type",
    "date",
    "payment_id",
    "case_no",
    "creditor_id",
    "invoice_no",
    "reference",
    "amount",
    "to_principal",
    "to_interest",
    "to_fees",
    "to_collection_costs",
    "overpaid",
    "reason",
    "creditor_share",
    "agency_share",
    "net_payout",
    "open_balance_start",
    "open_balance_end",
];

/// The `record_type` of a reconciliation row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RecordType {
    Payment,
    DirectPayment,
    Reversal,
    Credit,
    WriteOff,
    Unmatched,
    Summary,
}

impl RecordType {
    pub const ALL: &'static [RecordType] = &[
        RecordType::Payment,
        RecordType::DirectPayment,
        RecordType::Reversal,
        RecordType::Credit,
        RecordType::WriteOff,
        RecordType::Unmatched,
        RecordType::Summary,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::Payment => "payment",
            RecordType::DirectPayment => "direct_payment",
            RecordType::Reversal => "reversal",
            RecordType::Credit => "credit",
            RecordType::WriteOff => "write_off",
            RecordType::Unmatched => "unmatched",
            RecordType::Summary => "summary",
        }
    }
}

/// Amounts per balance component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Parts {
    pub principal: i64,
    pub interest: i64,
    pub fees: i64,
    pub collection_costs: i64,
}

impl Parts {
    fn add(&mut self, component: Component, amount_minor: i64) {
        match component {
            Component::Principal => self.principal += amount_minor,
            Component::Interest => self.interest += amount_minor,
            Component::Fee => self.fees += amount_minor,
            Component::CollectionCost => self.collection_costs += amount_minor,
        }
    }

    fn add_all(&mut self, other: Parts) {
        self.principal += other.principal;
        self.interest += other.interest;
        self.fees += other.fees;
        self.collection_costs += other.collection_costs;
    }

    pub fn total(&self) -> i64 {
        self.principal + self.interest + self.fees + self.collection_costs
    }

    /// What belongs to the creditor: principal, interest and its own fees.
    pub fn creditor_part(&self) -> i64 {
        self.principal + self.interest + self.fees
    }
}

/// One item row. `to` says how much of each component the item took off the claims (a
/// reversal puts it back: negative); `amount` is the item's whole amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub record_type: RecordType,
    pub date: NaiveDate,
    pub payment_id: String,
    pub case_no: String,
    /// `None`: unmatched bank money, which belongs to no creditor yet.
    pub creditor_id: Option<String>,
    pub invoice_no: Option<String>,
    pub reference: String,
    pub currency: String,
    pub amount_minor: i64,
    pub to: Parts,
    pub overpaid_minor: i64,
    /// The part of `amount` that went to or came from the unmatched money.
    pub unmatched_minor: i64,
    /// Where money items were paid (the agency's account or the creditor's).
    pub paid_to: Option<PaymentKind>,
    pub reason: String,
}

impl Item {
    /// Money received (or paid back) rather than a credit or write-off.
    pub fn is_money(&self) -> bool {
        !matches!(self.record_type, RecordType::Credit | RecordType::WriteOff)
    }
}

/// The totals of one creditor (or, with `creditor_id` `None`, of all creditors and the
/// unmatched money) in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    pub creditor_id: Option<String>,
    pub currency: String,
    pub received_minor: i64,
    pub allocated: Parts,
    pub overpaid_minor: i64,
    pub unmatched_minor: i64,
    pub creditor_share_minor: i64,
    pub agency_share_minor: i64,
    pub net_payout_minor: i64,
    /// New claims, interest, fees and collection costs the day added.
    pub charged: Parts,
    /// What the day's items took off the claims (payments, credits, write-offs).
    pub reduced_minor: i64,
    pub balance: OpenBalance,
}

impl Summary {
    fn take(&mut self, item: &Item) {
        self.reduced_minor += item.to.total();
        if !item.is_money() {
            return;
        }
        self.received_minor += item.amount_minor;
        self.allocated.add_all(item.to);
        self.overpaid_minor += item.overpaid_minor;
        self.unmatched_minor += item.unmatched_minor;
        self.creditor_share_minor += item.to.creditor_part();
        self.agency_share_minor += item.to.collection_costs;
        // The agency owes the creditor its share of money paid to the agency; money paid to
        // the creditor directly holds the agency's collection costs, which the creditor owes.
        self.net_payout_minor += match item.paid_to {
            Some(PaymentKind::Direct) => -item.to.collection_costs,
            _ => item.to.creditor_part(),
        };
    }

    fn add(&mut self, other: &Summary) {
        self.received_minor += other.received_minor;
        self.allocated.add_all(other.allocated);
        self.overpaid_minor += other.overpaid_minor;
        self.unmatched_minor += other.unmatched_minor;
        self.creditor_share_minor += other.creditor_share_minor;
        self.agency_share_minor += other.agency_share_minor;
        self.net_payout_minor += other.net_payout_minor;
        self.charged.add_all(other.charged);
        self.reduced_minor += other.reduced_minor;
        self.balance.start_minor += other.balance.start_minor;
        self.balance.end_minor += other.balance.end_minor;
    }

    /// Received = allocated + overpaid + unmatched.
    pub fn money_ties_out(&self) -> bool {
        self.received_minor == self.allocated.total() + self.overpaid_minor + self.unmatched_minor
    }

    /// The open balance moved by exactly the day's charges and items.
    pub fn balance_ties_out(&self) -> bool {
        self.balance.end_minor - self.balance.start_minor
            == self.charged.total() - self.reduced_minor
    }

    fn reason(&self, separator: char) -> String {
        let a = |minor: i64| format_minor(minor, separator);
        format!(
            "{}: received {} = allocated {} + overpaid {} + unmatched {}; open balance {} + new claims {} + interest {} + fees {} + collection costs {} - paid, credited and written off {} = {}",
            self.currency,
            a(self.received_minor),
            a(self.allocated.total()),
            a(self.overpaid_minor),
            a(self.unmatched_minor),
            a(self.balance.start_minor),
            a(self.charged.principal),
            a(self.charged.interest),
            a(self.charged.fees),
            a(self.charged.collection_costs),
            a(self.reduced_minor),
            a(self.balance.end_minor),
        )
    }
}

/// One business day's reconciliation, for every creditor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayReconciliation {
    pub day: NaiveDate,
    /// Creditors' items in creditor order, then the unmatched money of no creditor.
    pub items: Vec<Item>,
    /// One per creditor and currency, in that order.
    pub summaries: Vec<Summary>,
    /// One per currency: every creditor's summary plus the unmatched money of no creditor.
    pub totals: Vec<Summary>,
}

/// Builds `day`'s reconciliation from the store; an item or balance that does not tie out is
/// an internal error (a reconciliation that does not add up is never written).
pub fn build(
    tx: &Tx<'_>,
    config: &Config,
    day: NaiveDate,
) -> Result<DayReconciliation, StoreError> {
    let mut items = money_items(tx.money_parts(day)?);
    let mut charged: BTreeMap<(String, String), Parts> = BTreeMap::new();
    items.extend(ledger_items(day, tx.ledger_parts(day)?, &mut charged));
    items.extend(tx.suspense_entries(day)?.into_iter().map(suspense_item));
    // Creditors first (in id order), the unmatched money of no creditor last; stable, so each
    // creditor's items keep the order payments, credits and write-offs, unmatched.
    items.sort_by(|a, b| match (&a.creditor_id, &b.creditor_id) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });

    let balances = tx.open_balances(day)?;
    let mut summaries: BTreeMap<(String, String), Summary> = BTreeMap::new();
    let mut entry = |creditor: &str, currency: &str| -> (String, String) {
        let key = (creditor.to_owned(), currency.to_owned());
        summaries.entry(key.clone()).or_insert_with(|| Summary {
            creditor_id: Some(creditor.to_owned()),
            currency: currency.to_owned(),
            ..Summary::default()
        });
        key
    };
    for creditor in config.creditors.values() {
        entry(&creditor.id, &creditor.currency);
    }
    for key in balances.keys().chain(charged.keys()) {
        entry(&key.0, &key.1);
    }
    for item in &items {
        if let Some(creditor) = &item.creditor_id {
            entry(creditor, &item.currency);
        }
    }
    for (key, summary) in summaries.iter_mut() {
        summary.balance = balances.get(key).copied().unwrap_or_default();
        summary.charged = charged.get(key).copied().unwrap_or_default();
    }
    let mut totals: BTreeMap<String, Summary> = BTreeMap::new();
    fn total<'a>(totals: &'a mut BTreeMap<String, Summary>, currency: &str) -> &'a mut Summary {
        totals
            .entry(currency.to_owned())
            .or_insert_with(|| Summary {
                currency: currency.to_owned(),
                ..Summary::default()
            })
    }
    for item in &items {
        match &item.creditor_id {
            Some(creditor) => {
                let key = (creditor.clone(), item.currency.clone());
                if let Some(summary) = summaries.get_mut(&key) {
                    summary.take(item);
                }
            }
            None => total(&mut totals, &item.currency).take(item),
        }
    }
    for summary in summaries.values() {
        total(&mut totals, &summary.currency).add(summary);
    }
    for summary in summaries.values().chain(totals.values()) {
        let who = summary.creditor_id.as_deref().unwrap_or("all creditors");
        if !summary.money_ties_out() {
            return Err(StoreError::Invariant(format!(
                "the reconciliation of {day} for {who} in {} does not tie out: {}",
                summary.currency,
                summary.reason('.')
            )));
        }
        if !summary.balance_ties_out() {
            return Err(StoreError::Invariant(format!(
                "the open balance of {day} for {who} in {} does not move by the day's items: {}",
                summary.currency,
                summary.reason('.')
            )));
        }
    }
    Ok(DayReconciliation {
        day,
        items,
        summaries: summaries.into_values().collect(),
        totals: totals.into_values().collect(),
    })
}

/// Payments and reversals placed on cases: one row per payment and invoice (fees and costs of
/// the case, and the overpaid part, on a row without an invoice).
fn money_items(parts: Vec<MoneyPart>) -> Vec<Item> {
    let mut items: Vec<Item> = Vec::new();
    let mut last: Option<(i64, Option<String>)> = None;
    for part in parts {
        let key = (part.payment_row, part.invoice_no.clone());
        if last.as_ref() != Some(&key) {
            let (record_type, reason) = match (&part.reverses, part.kind) {
                (Some(original), _) => {
                    (RecordType::Reversal, format!("reverses payment {original}"))
                }
                (None, PaymentKind::Direct) => (
                    RecordType::DirectPayment,
                    format!("paid to the creditor, matched by {}", part.matched_by),
                ),
                (None, PaymentKind::Bank) => (
                    RecordType::Payment,
                    format!("matched by {}", part.matched_by),
                ),
            };
            items.push(Item {
                record_type,
                date: part.payment_date,
                payment_id: part.payment_id.clone(),
                case_no: part.case_no.clone(),
                creditor_id: Some(part.creditor_id.clone()),
                invoice_no: part.invoice_no.clone(),
                reference: part.reference.clone().unwrap_or_default(),
                currency: part.currency.clone(),
                amount_minor: 0,
                to: Parts::default(),
                overpaid_minor: 0,
                unmatched_minor: 0,
                paid_to: Some(part.kind),
                reason,
            });
            last = Some(key);
        }
        let item = items.last_mut().expect("an item was pushed for this key");
        item.amount_minor += part.amount_minor;
        match part.component {
            Some(component) => item.to.add(component, part.amount_minor),
            None => {
                item.overpaid_minor += part.amount_minor;
                item.reason
                    .push_str("; overpaid, to be refunded to the payer");
            }
        }
    }
    items
}

/// Credits and write-offs become items; every other posting of the day (new claims, interest,
/// fees, collection costs) is a charge. Payments' postings are the allocations' other side,
/// reported by `money_items`.
fn ledger_items(
    day: NaiveDate,
    parts: Vec<LedgerPart>,
    charged: &mut BTreeMap<(String, String), Parts>,
) -> Vec<Item> {
    let mut items: Vec<Item> = Vec::new();
    let mut last: Option<(i64, Option<String>)> = None;
    for part in parts {
        let record_type = match part.event {
            EventKind::Payment | EventKind::PaymentReversed => continue,
            EventKind::Credited | EventKind::DisputeReply => RecordType::Credit,
            EventKind::WrittenOff | EventKind::FeesWrittenOff => RecordType::WriteOff,
            _ => {
                charged
                    .entry((part.creditor_id.clone(), part.currency.clone()))
                    .or_default()
                    .add(part.component, part.amount_minor);
                continue;
            }
        };
        let key = (part.event_id, part.invoice_no.clone());
        if last.as_ref() != Some(&key) {
            items.push(Item {
                record_type,
                date: day,
                payment_id: String::new(),
                case_no: part.case_no.clone(),
                creditor_id: Some(part.creditor_id.clone()),
                invoice_no: part.invoice_no.clone(),
                reference: part.case_reference.clone(),
                currency: part.currency.clone(),
                amount_minor: 0,
                to: Parts::default(),
                overpaid_minor: 0,
                unmatched_minor: 0,
                paid_to: None,
                reason: part.detail.clone(),
            });
            last = Some(key);
        }
        let item = items.last_mut().expect("an item was pushed for this key");
        // A posting lowers the claims by its negative amount: the item took that much off.
        item.amount_minor -= part.amount_minor;
        item.to.add(part.component, -part.amount_minor);
    }
    items
}

fn suspense_item(entry: SuspenseEntry) -> Item {
    let (record_type, amount, case_no, reason) = match entry.movement {
        SuspenseMove::Received { reason } => (
            RecordType::Unmatched,
            entry.amount_minor,
            String::new(),
            reason.unwrap_or_default(),
        ),
        SuspenseMove::Cleared {
            case_no,
            received_on,
            matched_by,
        } => (
            RecordType::Unmatched,
            -entry.amount_minor,
            case_no.clone(),
            format!("received {received_on}, now placed on case {case_no} by {matched_by}"),
        ),
        SuspenseMove::Reversed {
            original_payment_id,
        } => (
            RecordType::Reversal,
            entry.amount_minor,
            String::new(),
            format!("reverses payment {original_payment_id}, which was unmatched"),
        ),
    };
    Item {
        record_type,
        date: entry.payment_date,
        payment_id: entry.payment_id,
        case_no,
        creditor_id: entry.creditor_id,
        invoice_no: entry.invoice_no,
        reference: entry.reference.unwrap_or_default(),
        currency: entry.currency,
        amount_minor: amount,
        to: Parts::default(),
        overpaid_minor: 0,
        unmatched_minor: amount,
        paid_to: Some(entry.kind),
        reason,
    }
}

/// The name of `day`'s reconciliation file, without its extension.
pub fn file_stem(day: NaiveDate) -> String {
    format!("reconciliation-{}", day.format("%Y%m%d"))
}

fn item_row(item: &Item, cells: Cells) -> Vec<String> {
    let a = |minor: i64| cells.amount(minor);
    vec![
        item.record_type.as_str().to_owned(),
        item.date.to_string(),
        cells.text(&item.payment_id),
        item.case_no.clone(),
        item.creditor_id.clone().unwrap_or_default(),
        cells.text(item.invoice_no.as_deref().unwrap_or("")),
        cells.text(&item.reference),
        a(item.amount_minor),
        a(item.to.principal),
        a(item.to.interest),
        a(item.to.fees),
        a(item.to.collection_costs),
        a(item.overpaid_minor),
        cells.text(&item.reason),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    ]
}

fn summary_row(day: NaiveDate, summary: &Summary, cells: Cells) -> Vec<String> {
    let a = |minor: i64| cells.amount(minor);
    vec![
        RecordType::Summary.as_str().to_owned(),
        day.to_string(),
        String::new(),
        String::new(),
        summary.creditor_id.clone().unwrap_or_default(),
        String::new(),
        String::new(),
        a(summary.received_minor),
        a(summary.allocated.principal),
        a(summary.allocated.interest),
        a(summary.allocated.fees),
        a(summary.allocated.collection_costs),
        a(summary.overpaid_minor),
        summary.reason(cells.separator),
        a(summary.creditor_share_minor),
        a(summary.agency_share_minor),
        a(summary.net_payout_minor),
        a(summary.balance.start_minor),
        a(summary.balance.end_minor),
    ]
}

impl DayReconciliation {
    /// The rows for creditors `only` (a sender's), or for everyone with the per-currency
    /// totals (the agency's).
    fn table(&self, only: Option<&[String]>, cells: Cells) -> Table {
        let mine = |creditor: &Option<String>| match (only, creditor) {
            (None, _) => true,
            (Some(list), Some(c)) => list.contains(c),
            (Some(_), None) => false,
        };
        let mut rows: Vec<Vec<String>> = self
            .items
            .iter()
            .filter(|i| mine(&i.creditor_id))
            .map(|i| item_row(i, cells))
            .collect();
        rows.extend(
            self.summaries
                .iter()
                .filter(|s| mine(&s.creditor_id))
                .map(|s| summary_row(self.day, s, cells)),
        );
        if only.is_none() {
            rows.extend(self.totals.iter().map(|s| summary_row(self.day, s, cells)));
        }
        (RECONCILIATION_COLUMNS.to_vec(), rows)
    }

    /// Every file of the day: `(folder, file name, content)` for each sender acting for named
    /// creditors (CSV in its dialect, XML too where it reads XML), and the agency's.
    pub fn files(&self, config: &Config) -> Vec<(String, String, Vec<u8>)> {
        let stem = file_stem(self.day);
        let mut files = Vec::new();
        for sender in &config.senders {
            let ActsFor::Creditors(creditors) = &sender.acts_for else {
                continue;
            };
            let creditors: Vec<String> = creditors.iter().cloned().collect();
            let table = |cells| self.table(Some(&creditors), cells);
            for (ext, content) in render(sender, &table, "reconciliation", "row") {
                files.push((sender.id.clone(), format!("{stem}.{ext}"), content));
            }
        }
        let dialect = CsvDialect::default();
        files.push((
            AGENCY_FOLDER.to_owned(),
            format!("{stem}.csv"),
            csv_bytes(
                &self.table(
                    None,
                    Cells {
                        separator: dialect.decimal_separator,
                        csv: true,
                    },
                ),
                &dialect,
            ),
        ));
        files
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 10, 5).unwrap()
    }

    fn part(
        row: i64,
        invoice: Option<&str>,
        component: Option<Component>,
        amount: i64,
    ) -> MoneyPart {
        MoneyPart {
            payment_row: row,
            payment_id: format!("P{row}"),
            kind: PaymentKind::Bank,
            reverses: None,
            payment_date: day(),
            reference: Some("7000000013".into()),
            case_no: "2026-000001".into(),
            creditor_id: "923609016".into(),
            currency: "NOK".into(),
            invoice_no: invoice.map(str::to_owned),
            component,
            amount_minor: amount,
            matched_by: "agency reference".into(),
        }
    }

    #[test]
    fn a_payment_becomes_one_row_per_invoice_and_each_row_adds_up() {
        let items = money_items(vec![
            part(1, Some("7001"), Some(Component::Principal), 100_000),
            part(1, Some("7001"), Some(Component::Interest), 296),
            part(1, Some("7002"), Some(Component::Principal), 5_000),
            part(1, None, Some(Component::CollectionCost), 70_000),
            part(1, None, None, 1_234),
        ]);
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].invoice_no.as_deref(), Some("7001"));
        assert_eq!(items[0].amount_minor, 100_296);
        assert_eq!(items[2].invoice_no, None);
        assert_eq!(items[2].to.collection_costs, 70_000);
        assert_eq!(items[2].overpaid_minor, 1_234);
        for item in &items {
            assert_eq!(item.amount_minor, item.to.total() + item.overpaid_minor);
        }
        let total: i64 = items.iter().map(|i| i.amount_minor).sum();
        assert_eq!(total, 100_000 + 296 + 5_000 + 70_000 + 1_234);
    }

    fn item(record_type: RecordType, paid_to: Option<PaymentKind>, to: Parts) -> Item {
        Item {
            record_type,
            date: day(),
            payment_id: String::new(),
            case_no: String::new(),
            creditor_id: Some("923609016".into()),
            invoice_no: None,
            reference: String::new(),
            currency: "NOK".into(),
            amount_minor: to.total(),
            to,
            overpaid_minor: 0,
            unmatched_minor: 0,
            paid_to,
            reason: String::new(),
        }
    }

    #[test]
    fn net_payout_is_the_creditors_share_of_agency_money_less_costs_held_by_the_creditor() {
        let mut summary = Summary::default();
        let bank = Parts {
            principal: 10_000,
            interest: 100,
            fees: 3_500,
            collection_costs: 7_000,
        };
        summary.take(&item(RecordType::Payment, Some(PaymentKind::Bank), bank));
        // Paid to the creditor directly: the creditor holds the agency's collection costs.
        let direct = Parts {
            principal: 5_000,
            interest: 0,
            fees: 0,
            collection_costs: 2_000,
        };
        summary.take(&item(
            RecordType::DirectPayment,
            Some(PaymentKind::Direct),
            direct,
        ));
        // A credit is not money: it lowers the balance, not the payout.
        summary.take(&item(
            RecordType::Credit,
            None,
            Parts {
                principal: 1_000,
                ..Parts::default()
            },
        ));
        assert_eq!(summary.received_minor, bank.total() + direct.total());
        assert_eq!(summary.creditor_share_minor, 13_600 + 5_000);
        assert_eq!(summary.agency_share_minor, 9_000);
        assert_eq!(summary.net_payout_minor, 13_600 - 2_000);
        assert_eq!(summary.reduced_minor, bank.total() + direct.total() + 1_000);
        assert!(summary.money_ties_out());
    }

    #[test]
    fn a_reversal_takes_back_exactly_what_its_payment_paid_out() {
        let paid = Parts {
            principal: 10_000,
            interest: 50,
            fees: 0,
            collection_costs: 700,
        };
        let undone = Parts {
            principal: -10_000,
            interest: -50,
            fees: 0,
            collection_costs: -700,
        };
        let mut summary = Summary::default();
        summary.take(&item(RecordType::Payment, Some(PaymentKind::Bank), paid));
        summary.take(&item(RecordType::Reversal, Some(PaymentKind::Bank), undone));
        assert_eq!(summary.received_minor, 0);
        assert_eq!(summary.net_payout_minor, 0);
        assert_eq!(summary.agency_share_minor, 0);
        assert!(summary.money_ties_out());
    }

    #[test]
    fn unmatched_money_received_then_placed_nets_to_zero_over_the_days() {
        let received = suspense_item(SuspenseEntry {
            payment_row: 7,
            payment_id: "P7".into(),
            kind: PaymentKind::Bank,
            payment_date: day(),
            reference: None,
            invoice_no: None,
            creditor_id: None,
            currency: "NOK".into(),
            amount_minor: 30_000,
            movement: SuspenseMove::Received {
                reason: Some("no_reference".into()),
            },
        });
        let cleared = suspense_item(SuspenseEntry {
            movement: SuspenseMove::Cleared {
                case_no: "2026-000004".into(),
                received_on: day(),
                matched_by: "assignment".into(),
            },
            ..SuspenseEntry {
                payment_row: 7,
                payment_id: "P7".into(),
                kind: PaymentKind::Bank,
                payment_date: day(),
                reference: None,
                invoice_no: None,
                creditor_id: None,
                currency: "NOK".into(),
                amount_minor: 30_000,
                movement: SuspenseMove::Received { reason: None },
            }
        });
        assert_eq!(received.record_type, RecordType::Unmatched);
        assert_eq!(received.unmatched_minor, 30_000);
        assert_eq!(cleared.amount_minor, -30_000);
        assert_eq!(cleared.case_no, "2026-000004");
        let mut total = Summary::default();
        total.take(&received);
        total.take(&cleared);
        assert_eq!(total.received_minor, 0);
        assert!(total.money_ties_out());
    }

    #[test]
    fn the_record_types_are_the_specs() {
        let names: Vec<_> = RecordType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(
            names,
            [
                "payment",
                "direct_payment",
                "reversal",
                "credit",
                "write_off",
                "unmatched",
                "summary"
            ]
        );
        assert_eq!(RECONCILIATION_COLUMNS.len(), 19);
    }
}
