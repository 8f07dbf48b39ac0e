//! The daily reconciliation (SPEC §7): for one closed business day, every item that moved
//! money or claims — payments, direct payments, reversals, credits, write-offs, unmatched
//! money — and a summary per creditor and currency that ties out: received = allocated +
//! overpaid + unmatched; creditor share, agency share and net payout; the open balance at the
//! start and end of the day moving by exactly the day's claims, interest, fees and items.
//!
//! The content of a day depends only on what is dated on that day or before, and a reconciled
//! day is closed (nothing is dated on it afterwards), so the same day always gives the same
//! bytes: `kravflyt reconcile --date D` regenerates them.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use crate::config::{ActsFor, Config, CsvDialect};
use crate::domain::{Component, EventKind, PaymentKind};
use crate::money::format_minor;
use crate::outbound::files::{Cells, TableWriter, sender_tables};
use crate::outbound::outbox::Sink;
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

/// A day's summaries and totals without its items: what the daily report shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayTotals {
    /// One per creditor and currency, in that order.
    pub summaries: Vec<Summary>,
    /// One per currency: every creditor's summary plus the unmatched money of no creditor.
    pub totals: Vec<Summary>,
}

/// Builds `day`'s reconciliation from the store, every item in memory (tests, small days: the
/// files are streamed by `write_files`); an item or balance that does not tie out is an
/// internal error (a reconciliation that does not add up is never written).
pub fn build(
    tx: &Tx<'_>,
    config: &Config,
    day: NaiveDate,
) -> Result<DayReconciliation, StoreError> {
    let mut items = Vec::new();
    let DayTotals { summaries, totals } = stream(tx, config, day, &mut |item| {
        items.push(item.clone());
        Ok(())
    })?;
    Ok(DayReconciliation {
        day,
        items,
        summaries,
        totals,
    })
}

/// `day`'s summaries and totals, checked like `build`'s, with the items counted in and let go:
/// memory does not grow with the day's payments.
pub fn day_totals(tx: &Tx<'_>, config: &Config, day: NaiveDate) -> Result<DayTotals, StoreError> {
    stream(tx, config, day, &mut |_| Ok(()))
}

/// Hands `day`'s items to `each` in the order of the files — creditors in id order, each
/// creditor's payments, then its credits and write-offs, then its unmatched money; the
/// unmatched money of no creditor last — keeping none, and returns the summaries and totals.
/// An item or balance that does not tie out is an internal error, found after the last item:
/// callers write the files inside a transaction that this error rolls back.
fn stream(
    tx: &Tx<'_>,
    config: &Config,
    day: NaiveDate,
    each: &mut dyn FnMut(&Item) -> Result<(), StoreError>,
) -> Result<DayTotals, StoreError> {
    let balances = tx.open_balances(day)?;
    let mut summaries: BTreeMap<(String, String), Summary> = BTreeMap::new();
    for creditor in config.creditors.values() {
        summary(&mut summaries, &creditor.id, &creditor.currency);
    }
    for key in balances.keys() {
        summary(&mut summaries, &key.0, &key.1);
    }
    let mut totals: BTreeMap<String, Summary> = BTreeMap::new();
    let mut charged: BTreeMap<(String, String), Parts> = BTreeMap::new();
    let mut take = |item: Item| {
        match &item.creditor_id {
            Some(creditor) => summary(&mut summaries, creditor, &item.currency).take(&item),
            None => total(&mut totals, &item.currency).take(&item),
        }
        each(&item)
    };
    // One pass per creditor, in id order, and one for the unmatched money of no creditor:
    // the files' order, without sorting the day.
    let creditors = tx.day_creditors(day)?;
    for creditor in creditors.iter().map(|c| Some(c.as_str())).chain([None]) {
        tx.with_day_parts(day, creditor, |money, ledger, suspense| {
            creditor_items(
                day,
                creditor,
                money,
                ledger,
                suspense,
                &mut charged,
                &mut take,
            )
        })?;
    }
    for key in charged.keys() {
        summary(&mut summaries, &key.0, &key.1);
    }
    for (key, summary) in summaries.iter_mut() {
        summary.balance = balances.get(key).copied().unwrap_or_default();
        summary.charged = charged.get(key).copied().unwrap_or_default();
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
    Ok(DayTotals {
        summaries: summaries.into_values().collect(),
        totals: totals.into_values().collect(),
    })
}

/// The summary of a creditor in a currency, made when first needed.
fn summary<'m>(
    summaries: &'m mut BTreeMap<(String, String), Summary>,
    creditor: &str,
    currency: &str,
) -> &'m mut Summary {
    summaries
        .entry((creditor.to_owned(), currency.to_owned()))
        .or_insert_with(|| Summary {
            creditor_id: Some(creditor.to_owned()),
            currency: currency.to_owned(),
            ..Summary::default()
        })
}

/// The total of a currency, made when first needed.
fn total<'m>(totals: &'m mut BTreeMap<String, Summary>, currency: &str) -> &'m mut Summary {
    totals
        .entry(currency.to_owned())
        .or_insert_with(|| Summary {
            currency: currency.to_owned(),
            ..Summary::default()
        })
}

/// One creditor's items (or, for `None`, the unmatched money of no creditor) in the files'
/// order: its payments, then its credits and write-offs, then its unmatched money.
fn creditor_items(
    day: NaiveDate,
    creditor: Option<&str>,
    money: &mut dyn Iterator<Item = Result<MoneyPart, StoreError>>,
    ledger: &mut dyn Iterator<Item = Result<LedgerPart, StoreError>>,
    suspense: &mut dyn Iterator<Item = Result<SuspenseEntry, StoreError>>,
    charged: &mut BTreeMap<(String, String), Parts>,
    each: &mut dyn FnMut(Item) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut each = |item: Item| {
        if item.creditor_id.as_deref() != creditor {
            return Err(StoreError::Invariant(format!(
                "an item of creditor {:?} came with the items of {creditor:?}",
                item.creditor_id
            )));
        }
        each(item)
    };
    let mut money = MoneyItems::new(money);
    while let Some(item) = money.next_item()? {
        each(item)?;
    }
    let mut ledger = LedgerItems::new(day, ledger, charged);
    while let Some(item) = ledger.next_item()? {
        each(item)?;
    }
    for entry in suspense {
        each(suspense_item(entry?))?;
    }
    Ok(())
}

/// Payments and reversals placed on cases: one item per payment and invoice (fees and costs
/// of the case, and the overpaid part, on an item without an invoice), built from the
/// allocation parts as they stream by.
struct MoneyItems<'i> {
    parts: &'i mut dyn Iterator<Item = Result<MoneyPart, StoreError>>,
    ahead: Option<MoneyPart>,
}

impl<'i> MoneyItems<'i> {
    fn new(parts: &'i mut dyn Iterator<Item = Result<MoneyPart, StoreError>>) -> Self {
        MoneyItems { parts, ahead: None }
    }

    fn pull(&mut self) -> Result<Option<MoneyPart>, StoreError> {
        match self.ahead.take() {
            Some(part) => Ok(Some(part)),
            None => self.parts.next().transpose(),
        }
    }

    /// The next item, with every consecutive part of the same payment and invoice.
    fn next_item(&mut self) -> Result<Option<Item>, StoreError> {
        let Some(first) = self.pull()? else {
            return Ok(None);
        };
        let (record_type, reason) = match (&first.reverses, first.kind) {
            (Some(original), _) => (RecordType::Reversal, format!("reverses payment {original}")),
            (None, PaymentKind::Direct) => (
                RecordType::DirectPayment,
                format!("paid to the creditor, matched by {}", first.matched_by),
            ),
            (None, PaymentKind::Bank) => (
                RecordType::Payment,
                format!("matched by {}", first.matched_by),
            ),
        };
        let mut item = Item {
            record_type,
            date: first.payment_date,
            payment_id: first.payment_id.clone(),
            case_no: first.case_no.clone(),
            creditor_id: Some(first.creditor_id.clone()),
            invoice_no: first.invoice_no.clone(),
            reference: first.reference.clone().unwrap_or_default(),
            currency: first.currency.clone(),
            amount_minor: 0,
            to: Parts::default(),
            overpaid_minor: 0,
            unmatched_minor: 0,
            paid_to: Some(first.kind),
            reason,
        };
        let key = (first.payment_row, first.invoice_no.clone());
        let mut part = Some(first);
        while let Some(p) = part {
            if (p.payment_row, &p.invoice_no) != (key.0, &key.1) {
                self.ahead = Some(p);
                break;
            }
            item.amount_minor += p.amount_minor;
            match p.component {
                Some(component) => item.to.add(component, p.amount_minor),
                None => {
                    item.overpaid_minor += p.amount_minor;
                    item.reason
                        .push_str("; overpaid, to be refunded to the payer");
                }
            }
            part = self.pull()?;
        }
        Ok(Some(item))
    }
}

/// Credits and write-offs become items; every other posting of the day (new claims, interest,
/// fees, collection costs) is a charge, added up in `charged` as the postings stream by.
/// Payments' postings are the allocations' other side, reported by `MoneyItems`.
struct LedgerItems<'i, 'c> {
    day: NaiveDate,
    parts: &'i mut dyn Iterator<Item = Result<LedgerPart, StoreError>>,
    charged: &'c mut BTreeMap<(String, String), Parts>,
    ahead: Option<(LedgerPart, RecordType)>,
}

impl<'i, 'c> LedgerItems<'i, 'c> {
    fn new(
        day: NaiveDate,
        parts: &'i mut dyn Iterator<Item = Result<LedgerPart, StoreError>>,
        charged: &'c mut BTreeMap<(String, String), Parts>,
    ) -> Self {
        LedgerItems {
            day,
            parts,
            charged,
            ahead: None,
        }
    }

    /// The next part that makes or joins an item; the others are counted as charges.
    fn pull(&mut self) -> Result<Option<(LedgerPart, RecordType)>, StoreError> {
        if let Some(ahead) = self.ahead.take() {
            return Ok(Some(ahead));
        }
        while let Some(part) = self.parts.next().transpose()? {
            let record_type = match part.event {
                EventKind::Payment | EventKind::PaymentReversed => continue,
                EventKind::Credited | EventKind::DisputeReply => RecordType::Credit,
                EventKind::WrittenOff | EventKind::FeesWrittenOff => RecordType::WriteOff,
                _ => {
                    self.charged
                        .entry((part.creditor_id.clone(), part.currency.clone()))
                        .or_default()
                        .add(part.component, part.amount_minor);
                    continue;
                }
            };
            return Ok(Some((part, record_type)));
        }
        Ok(None)
    }

    /// The next item, with every part of the same event and invoice.
    fn next_item(&mut self) -> Result<Option<Item>, StoreError> {
        let Some((first, record_type)) = self.pull()? else {
            return Ok(None);
        };
        let mut item = Item {
            record_type,
            date: self.day,
            payment_id: String::new(),
            case_no: first.case_no.clone(),
            creditor_id: Some(first.creditor_id.clone()),
            invoice_no: first.invoice_no.clone(),
            reference: first.case_reference.clone(),
            currency: first.currency.clone(),
            amount_minor: 0,
            to: Parts::default(),
            overpaid_minor: 0,
            unmatched_minor: 0,
            paid_to: None,
            reason: first.detail.clone(),
        };
        let key = (first.event_id, first.invoice_no.clone());
        let mut part = Some((first, record_type));
        while let Some((p, record_type)) = part {
            if (p.event_id, &p.invoice_no) != (key.0, &key.1) {
                self.ahead = Some((p, record_type));
                break;
            }
            // A posting lowers the claims by its negative amount: the item took that much off.
            item.amount_minor -= p.amount_minor;
            item.to.add(p.component, -p.amount_minor);
            part = self.pull()?;
        }
        Ok(Some(item))
    }
}

/// Unmatched money: received, cleared onto a case, or reversed.
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

/// A reconciliation file of a day: its folder, its name and the sink it was rendered into.
pub(crate) type DayFile<S> = (String, String, S);

/// The files of `day`, rendered row by row into the sinks `open(folder, file name)` gives, in
/// this order: for each sender acting for named creditors its CSV in its dialect (and XML
/// where it reads XML), then the agency's CSV with every item and the totals. The items are
/// read once, each written to every file it belongs in; nothing of the day is kept but the
/// summaries, which are returned with the files (the daily report shows them). An item or
/// balance that does not tie out is an internal error, returned before any summary row is
/// written.
pub(crate) fn write_files<S: Sink>(
    tx: &Tx<'_>,
    config: &Config,
    day: NaiveDate,
    mut open: impl FnMut(&str, &str) -> Result<S, StoreError>,
) -> Result<(Vec<DayFile<S>>, DayTotals), StoreError> {
    struct File<'c, S> {
        folder: String,
        name: String,
        /// The creditors whose rows the file holds; `None`: all, and the totals.
        only: Option<&'c BTreeSet<String>>,
        table: TableWriter<S>,
    }
    impl<S> File<'_, S> {
        fn wants(&self, creditor: &Option<String>) -> bool {
            match (self.only, creditor) {
                (None, _) => true,
                (Some(list), Some(c)) => list.contains(c),
                (Some(_), None) => false,
            }
        }
    }
    let stem = file_stem(day);
    let mut files = Vec::new();
    for sender in &config.senders {
        let ActsFor::Creditors(creditors) = &sender.acts_for else {
            continue;
        };
        for (ext, table) in sender_tables(
            sender,
            RECONCILIATION_COLUMNS,
            "reconciliation",
            "row",
            |ext| open(&sender.id, &format!("{stem}.{ext}")),
        )? {
            files.push(File {
                folder: sender.id.clone(),
                name: format!("{stem}.{ext}"),
                only: Some(creditors),
                table,
            });
        }
    }
    let name = format!("{stem}.csv");
    files.push(File {
        folder: AGENCY_FOLDER.to_owned(),
        table: TableWriter::csv(
            RECONCILIATION_COLUMNS,
            &CsvDialect::default(),
            open(AGENCY_FOLDER, &name)?,
        )?,
        name,
        only: None,
    });
    let DayTotals { summaries, totals } = stream(tx, config, day, &mut |item| {
        for file in files.iter_mut().filter(|f| f.wants(&item.creditor_id)) {
            let row = item_row(item, file.table.cells());
            file.table.row(&row)?;
        }
        Ok(())
    })?;
    let mut out = Vec::new();
    for mut file in files {
        for summary in &summaries {
            if !file.wants(&summary.creditor_id) {
                continue;
            }
            let row = summary_row(day, summary, file.table.cells());
            file.table.row(&row)?;
        }
        if file.only.is_none() {
            for summary in &totals {
                let row = summary_row(day, summary, file.table.cells());
                file.table.row(&row)?;
            }
        }
        out.push((file.folder, file.name, file.table.finish()?));
    }
    Ok((out, DayTotals { summaries, totals }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money_items(parts: Vec<MoneyPart>) -> Vec<Item> {
        let mut parts = parts.into_iter().map(Ok);
        let mut items = MoneyItems::new(&mut parts);
        std::iter::from_fn(|| items.next_item().unwrap()).collect()
    }

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

    fn ledger(event: i64, kind: EventKind, creditor: &str, amount: i64) -> LedgerPart {
        LedgerPart {
            event_id: event,
            event: kind,
            case_no: format!("2026-{event:06}"),
            case_reference: "7000000013".into(),
            creditor_id: creditor.into(),
            currency: "NOK".into(),
            invoice_no: Some(format!("F{event}")),
            component: Component::Principal,
            amount_minor: amount,
            detail: String::new(),
        }
    }

    fn unmatched(row: i64, creditor: Option<&str>) -> SuspenseEntry {
        SuspenseEntry {
            payment_row: row,
            payment_id: format!("P{row}"),
            kind: PaymentKind::Bank,
            payment_date: day(),
            reference: None,
            invoice_no: None,
            creditor_id: creditor.map(str::to_owned),
            currency: "NOK".into(),
            amount_minor: 100,
            movement: SuspenseMove::Received { reason: None },
        }
    }

    /// A creditor's items come as its files always listed them: payments, then credits and
    /// write-offs, then unmatched money; charges are summed, payments' postings left to the
    /// allocations.
    #[test]
    fn a_creditors_items_come_payments_then_credits_and_write_offs_then_unmatched_money() {
        let mut money = vec![
            part(1, Some("7001"), Some(Component::Principal), 500),
            part(1, Some("7001"), Some(Component::Interest), 5),
            part(4, None, None, 70),
        ]
        .into_iter()
        .map(Ok);
        let mut ledger = vec![
            ledger(10, EventKind::Credited, "923609016", -200),
            ledger(11, EventKind::Registered, "923609016", 900),
            ledger(12, EventKind::Payment, "923609016", -505),
            ledger(13, EventKind::WrittenOff, "923609016", -40),
        ]
        .into_iter()
        .map(Ok);
        let mut suspense = vec![Ok(unmatched(5, Some("923609016")))].into_iter();
        let mut charged = BTreeMap::new();
        let mut items = Vec::new();
        creditor_items(
            day(),
            Some("923609016"),
            &mut money,
            &mut ledger,
            &mut suspense,
            &mut charged,
            &mut |item| {
                items.push((item.record_type, item.amount_minor));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(
            items,
            [
                (RecordType::Payment, 505),
                (RecordType::Payment, 70),
                (RecordType::Credit, 200),
                (RecordType::WriteOff, 40),
                (RecordType::Unmatched, 100),
            ]
        );
        assert_eq!(
            charged[&("923609016".to_owned(), "NOK".to_owned())].principal,
            900
        );
    }

    #[test]
    fn an_item_of_another_creditor_in_a_creditors_pass_is_an_error_not_a_wrong_file() {
        let mut ledger = vec![Ok(ledger(10, EventKind::Credited, "111", -200))].into_iter();
        let err = creditor_items(
            day(),
            Some("923609016"),
            &mut std::iter::empty(),
            &mut ledger,
            &mut std::iter::empty(),
            &mut BTreeMap::new(),
            &mut |_| Ok(()),
        )
        .unwrap_err();
        assert!(matches!(err, StoreError::Invariant(_)), "{err}");
        let mut suspense = vec![Ok(unmatched(5, Some("111")))].into_iter();
        let err = creditor_items(
            day(),
            None,
            &mut std::iter::empty(),
            &mut std::iter::empty(),
            &mut suspense,
            &mut BTreeMap::new(),
            &mut |_| Ok(()),
        )
        .unwrap_err();
        assert!(matches!(err, StoreError::Invariant(_)), "{err}");
    }
}
