//! The daily reconciliation files tie out (SPEC §7): generated traffic (invoices, credit notes,
//! bank payments that are exact, partial, over, early, unknown or mistyped, reversals, direct
//! payments, write-offs and the desk's assignments) is fed day by day through the real binary,
//! and every reconciliation file of every closed day is checked against itself, against the
//! other files of the day, against the next day, against `case list`, against what the
//! generator delivered, and against `kravflyt reconcile --date`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDate};
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;

use crate::support::{Workspace, receipt_rows};

/// Nordlys Elektro AS: the creditor the generated traffic is for.
const NORDLYS: &str = "923609016";

/// Creditor, the sender acting for it, and its currency, as in the shipped configuration.
const CREDITORS: &[(&str, &str, &str)] = &[
    ("923609016", "nordlys", "NOK"),
    ("987654325", "fjellstua", "NOK"),
    ("5566778899", "kvarnby", "SEK"),
    ("2345678-0", "revontuli", "EUR"),
];

/// The senders acting for `*`: they get receipts, never reconciliation files.
const AGENCY_CHANNELS: &[&str] = &["bank", "desk"];

const CURRENCIES: &[&str] = &["EUR", "NOK", "SEK"];

const COLUMNS: &str = "record_type;date;payment_id;case_no;creditor_id;invoice_no;reference;amount;to_principal;to_interest;to_fees;to_collection_costs;overpaid;reason;creditor_share;agency_share;net_payout;open_balance_start;open_balance_end";

const INVOICE_HEADER: &str = "creditor_id;invoice_no;document_type;credited_invoice_no;customer_no;debtor_type;debtor_name;address;postcode;city;issue_date;due_date;currency;amount;reference;reminder_fee;notice_sent_date;paid_amount";

const PAYMENT_HEADER: &str = "payment_id;kind;creditor_id;reference;invoice_no;amount;currency;payment_date;payer_name;payer_account;reverses";

const INSTRUCTION_HEADER: &str = "instruction_id;creditor_id;invoice_no;case_no;action;amount;outcome;until_date;payment_id;reason";

const SURNAMES: &str = "Nordmann Hansen Johansen Olsen Larsen Andersen Pedersen Nilsen Berg Haugen";

// ---------------------------------------------------------------------------------------------
// A small seeded generator and money helpers.

/// xorshift64*: deterministic, good enough to pick test data.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mixed = seed ^ 0x9E37_79B9_7F4A_7C15;
        Rng(if mixed == 0 {
            0x2545_F491_4F6C_DD1D
        } else {
            mixed
        })
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        assert!(lo <= hi, "empty range {lo}..={hi}");
        lo + (self.next() % ((hi - lo) as u64 + 1)) as i64
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn index(&mut self, len: usize) -> Option<usize> {
        (len > 0).then(|| (self.next() % len as u64) as usize)
    }
}

/// Whole kroner in øre.
const fn kr(kroner: i64) -> i64 {
    kroner * 100
}

/// `1234,56` / `-0,05`: the canonical CSV amount with a decimal comma.
fn csv_amount(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}{},{:02}", minor.abs() / 100, minor.abs() % 100)
}

/// Parses `1234,56` (or `1234.56` with `separator` `.`) into minor units.
fn minor(text: &str, separator: char) -> i64 {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits
        .split_once(separator)
        .unwrap_or_else(|| panic!("amount `{text}` has no `{separator}`"));
    assert!(
        fraction.len() == 2
            && !whole.is_empty()
            && whole
                .bytes()
                .chain(fraction.bytes())
                .all(|b| b.is_ascii_digit()),
        "amount `{text}` is not written with two decimals"
    );
    let value = whole.parse::<i64>().unwrap() * 100 + fraction.parse::<i64>().unwrap();
    if negative { -value } else { value }
}

/// The Norwegian KID with a mod-10 (Luhn) check digit.
fn kid_mod10(base: &str) -> String {
    let sum: u32 = base
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let twice = d * 2;
                twice / 10 + twice % 10
            } else {
                d
            }
        })
        .sum();
    format!("{base}{}", (10 - sum % 10) % 10)
}

fn date_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

// ---------------------------------------------------------------------------------------------
// The traffic generator.

/// How much of each kind of traffic one business day brings.
#[derive(Debug, Clone)]
struct DayPlan {
    /// Calendar days since the previous business day.
    gap: i64,
    /// New invoices (for new or known debtors).
    invoices: usize,
    /// Bank payments with the KID of an invoice that is delivered on the next business day
    /// (unmatched today, matched by the retry after tomorrow's invoice file).
    early: usize,
    /// Bank payments with a case's agency reference or an invoice's KID.
    bank: usize,
    /// Bank payments that can never match by themselves: a mistyped KID, an unknown KID, no
    /// reference at all.
    stuck: usize,
    /// Bank payments in SEK or EUR: unmatched (`currency_mismatch`, `unknown_reference`).
    foreign: usize,
    /// Reversals of earlier bank payments.
    reversals: usize,
    /// The bank's own corrections (negative, without `reverses`): of an earlier payment with
    /// the same reference and amount, or of nothing kravflyt has (kept as unmatched).
    corrections: usize,
    /// Nordlys' direct payments (some for an invoice number it never delivered).
    direct: usize,
    /// Reversals of earlier direct payments.
    direct_reversals: usize,
    /// Nordlys credit notes on invoices with principal open.
    credits: usize,
    /// Desk `write_off` of open cases.
    write_offs: usize,
    /// Desk `assign_payment` of stuck unmatched payments.
    assigns: usize,
    /// The day's payments come in a second `process` run of the same business date.
    split: bool,
    seed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bank,
    Direct,
}

#[derive(Debug, Clone)]
struct Invoice {
    no: String,
    customer: u32,
    amount: i64,
    kid: String,
}

#[derive(Debug, Clone)]
struct Payment {
    id: String,
    sender: &'static str,
    kind: Kind,
    currency: &'static str,
    amount: i64,
    reference: String,
    invoice_no: String,
    /// Can never match a case by itself: only the desk can place it.
    stuck: bool,
    reversed: bool,
    assigned: bool,
    is_reversal: bool,
}

#[derive(Debug, Clone)]
struct CaseInfo {
    case_no: String,
    reference: String,
    closed: bool,
    total: i64,
    collection_costs: i64,
}

/// One generated inbound file.
struct Delivery {
    sender: &'static str,
    name: String,
    content: String,
}

/// A workspace fed with generated traffic, and everything the checks need to know about it.
struct Traffic {
    ws: Workspace,
    rng: Rng,
    seq: u64,
    customers: u32,
    invoices: Vec<Invoice>,
    /// Invoices to be delivered on the next business day (early payments already name them).
    planned: Vec<Invoice>,
    payments: Vec<Payment>,
    /// Nordlys' cases as `case list` showed them after the last business day.
    cases: Vec<CaseInfo>,
    /// The business days with traffic, in order; each is reconciled by the next one.
    days: Vec<NaiveDate>,
    /// Per business day: (payment id, currency, amount) of every payment accepted that day.
    accepted: BTreeMap<NaiveDate, Vec<(String, &'static str, i64)>>,
    /// Per business day: each creditor's total open over `case list` right after the day.
    open_after: BTreeMap<NaiveDate, BTreeMap<String, i64>>,
    currency_of: BTreeMap<String, &'static str>,
    /// Where the money of each payment id was paid (a reversal: where the original was).
    kind_of: BTreeMap<String, Kind>,
    /// Bank corrections that corrected no payment: unmatched money going out.
    kept_corrections: BTreeSet<String>,
}

impl Traffic {
    fn new(ws: Workspace) -> Traffic {
        Traffic {
            ws,
            rng: Rng::new(0),
            seq: 0,
            customers: 0,
            invoices: Vec::new(),
            planned: Vec::new(),
            payments: Vec::new(),
            cases: Vec::new(),
            days: Vec::new(),
            accepted: BTreeMap::new(),
            open_after: BTreeMap::new(),
            currency_of: BTreeMap::new(),
            kind_of: BTreeMap::new(),
            kept_corrections: BTreeSet::new(),
        }
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn new_customer(&mut self) -> u32 {
        self.customers += 1;
        self.customers
    }

    /// A new invoice for `customer`, with a unique number and KID (prefix `4`, never an
    /// agency reference, which starts with `70`).
    fn new_invoice(&mut self, customer: u32) -> Invoice {
        let n = self.next_seq();
        let amount = self.rng.range(kr(100), kr(20_000));
        Invoice {
            no: format!("F{n:06}"),
            customer,
            amount,
            kid: kid_mod10(&format!("4{n:07}")),
        }
    }

    fn invoice_row(&mut self, day: NaiveDate, invoice: &Invoice) -> String {
        let due = day - Duration::days(self.rng.range(20, 75));
        let issue = due - Duration::days(14);
        // The creditor sent the collection notice itself: the case starts at the payment
        // demand and reaches collection (collection costs) within the month.
        let notice = if self.rng.chance(30) {
            date_text(due + Duration::days(self.rng.range(1, 5)))
        } else {
            String::new()
        };
        let reminder_fee = if self.rng.chance(20) { "35,00" } else { "" };
        let paid_before = if self.rng.chance(10) {
            csv_amount(self.rng.range(kr(1), invoice.amount / 2))
        } else {
            String::new()
        };
        format!(
            "{NORDLYS};{};invoice;;{};{}\n",
            invoice.no,
            customer_fields(invoice.customer),
            [
                date_text(issue),
                date_text(due),
                "NOK".to_owned(),
                csv_amount(invoice.amount),
                invoice.kid.clone(),
                reminder_fee.to_owned(),
                notice,
                paid_before,
            ]
            .join(";")
        )
    }

    /// An amount for a claim of `total`: partial, exact or over.
    fn amount_for(&mut self, total: i64) -> i64 {
        if total <= kr(1) {
            return self.rng.range(kr(10), kr(500));
        }
        match self.rng.range(0, 9) {
            0..=4 => self.rng.range(kr(1), total - 1),
            5..=7 => total,
            _ => total + self.rng.range(1, kr(300)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn payment(
        &mut self,
        sender: &'static str,
        kind: Kind,
        currency: &'static str,
        amount: i64,
        reference: String,
        invoice_no: String,
        stuck: bool,
    ) -> Payment {
        let n = self.next_seq();
        let prefix = match kind {
            Kind::Bank => "B",
            Kind::Direct => "D",
        };
        Payment {
            id: format!("{prefix}{n:07}"),
            sender,
            kind,
            currency,
            amount,
            reference,
            invoice_no,
            stuck,
            reversed: false,
            assigned: false,
            is_reversal: false,
        }
    }

    fn payment_row(&mut self, day: NaiveDate, p: &Payment, reverses: &str) -> String {
        let paid = if p.is_reversal {
            day
        } else {
            day - Duration::days(self.rng.range(0, 3))
        };
        let (kind, creditor) = match p.kind {
            Kind::Bank => ("bank", ""),
            Kind::Direct => ("direct", NORDLYS),
        };
        format!(
            "{};{kind};{creditor};{};{};{};{};{};Betaler {};;{reverses}\n",
            p.id,
            p.reference,
            p.invoice_no,
            csv_amount(p.amount),
            p.currency,
            date_text(paid),
            p.id,
        )
    }

    /// A reversal of a random earlier payment of `sender` (not reversed yet), if any.
    fn reversal(&mut self, day: NaiveDate, sender: &str) -> Option<String> {
        let candidates: Vec<usize> = (0..self.payments.len())
            .filter(|&i| {
                let p = &self.payments[i];
                p.sender == sender && !p.reversed && !p.is_reversal
            })
            .collect();
        let original = candidates[self.rng.index(candidates.len())?];
        self.payments[original].reversed = true;
        let o = self.payments[original].clone();
        let mut r = self.payment(
            o.sender,
            o.kind,
            o.currency,
            -o.amount,
            o.reference.clone(),
            o.invoice_no.clone(),
            false,
        );
        r.is_reversal = true;
        r.reversed = true;
        let row = self.payment_row(day, &r, &o.id);
        self.payments.push(r);
        Some(row)
    }

    /// A bank's own correction, without `reverses`: kravflyt undoes the latest payment with
    /// the same reference and the opposite amount that is not reversed yet (the model picks
    /// the same one), or keeps the correction as unmatched money when there is none.
    fn correction(&mut self, day: NaiveDate) -> String {
        let open = |p: &Payment| p.sender == "bank" && !p.reversed && !p.is_reversal;
        let candidates: Vec<usize> = (0..self.payments.len())
            .filter(|&i| open(&self.payments[i]) && !self.payments[i].reference.is_empty())
            .collect();
        let picked = match self.rng.index(candidates.len()) {
            Some(k) if self.rng.chance(60) => Some(candidates[k]),
            _ => None,
        };
        let mut c = match picked {
            Some(k) => {
                let (reference, amount) =
                    (self.payments[k].reference.clone(), self.payments[k].amount);
                let original = (0..self.payments.len())
                    .rev()
                    .find(|&i| {
                        let p = &self.payments[i];
                        open(p) && p.reference == reference && p.amount == amount
                    })
                    .unwrap();
                self.payments[original].reversed = true;
                let o = self.payments[original].clone();
                self.payment(
                    "bank",
                    Kind::Bank,
                    o.currency,
                    -o.amount,
                    o.reference,
                    String::new(),
                    false,
                )
            }
            None => {
                let n = self.next_seq();
                let amount = self.rng.range(kr(1), kr(1_000));
                let p = self.payment(
                    "bank",
                    Kind::Bank,
                    "NOK",
                    -amount,
                    kid_mod10(&format!("5{n:07}")),
                    String::new(),
                    false,
                );
                self.kept_corrections.insert(p.id.clone());
                p
            }
        };
        c.is_reversal = true;
        c.reversed = true;
        let row = self.payment_row(day, &c, "");
        self.payments.push(c);
        row
    }

    /// A direct payment on a case with collection costs open (so the creditor holds the
    /// agency's costs: a negative contribution to its net payout), by invoice number.
    fn direct_to_collection(&mut self) -> Option<Payment> {
        let candidates: Vec<usize> = (0..self.cases.len())
            .filter(|&i| !self.cases[i].closed && self.cases[i].collection_costs > 0)
            .collect();
        let case = self.cases[candidates[self.rng.index(candidates.len())?]].clone();
        let shown = self.ws.case_show(&case.case_no);
        let invoice_no = shown["invoices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["document_type"] == "invoice")?["invoice_no"]
            .as_str()
            .unwrap()
            .to_owned();
        let amount = self.amount_for(case.total);
        Some(self.payment(
            "nordlys",
            Kind::Direct,
            "NOK",
            amount,
            String::new(),
            invoice_no,
            false,
        ))
    }

    /// Generates and processes one business day `gap` days after the previous one.
    fn day(&mut self, plan: &DayPlan, first: NaiveDate) {
        let day = match self.days.last() {
            Some(last) => *last + Duration::days(plan.gap.max(1)),
            None => first,
        };
        self.rng = Rng::new(plan.seed);
        let tag = format!("d{:03}", self.days.len() + 1);
        let mut deliveries = Vec::new();
        let payments_before = self.payments.len();
        // Cases a credit note or the desk acts on today: no other instruction or credit note
        // of the day touches them, so each finds the case as `case list` showed it last night.
        let mut touched: BTreeSet<String> = BTreeSet::new();

        // Files are taken in name order: desk, credit notes, invoices, bank, direct payments.
        // The desk comes first: once an invoice file (credit notes too) is applied, unmatched
        // payments are matched again and may close a case (one reopened by a reversal).
        // Credit notes are planned first (the principal open is what `case show` says now), so
        // the desk leaves their cases alone.
        let mut rows = String::new();
        let mut credited: BTreeSet<String> = BTreeSet::new();
        for _ in 0..plan.credits {
            for _attempt in 0..4 {
                let Some(i) = self.rng.index(self.invoices.len()) else {
                    break;
                };
                let invoice = self.invoices[i].clone();
                if credited.contains(&invoice.no) {
                    continue;
                }
                let shown = self.ws.case_show(&format!("{NORDLYS}/{}", invoice.no));
                if shown["state"] == "closed" {
                    continue;
                }
                let open = shown["invoices"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|v| v["invoice_no"] == invoice.no.as_str())
                    .map(|v| minor(v["principal_open"].as_str().unwrap(), '.'))
                    .unwrap();
                if open <= 0 {
                    continue;
                }
                let amount = if self.rng.chance(30) {
                    open
                } else {
                    self.rng.range(1, open)
                };
                credited.insert(invoice.no.clone());
                touched.insert(shown["case_no"].as_str().unwrap().to_owned());
                let n = self.next_seq();
                rows.push_str(&format!(
                    "{NORDLYS};K{n:06};credit_note;{};{};{};{};NOK;{};;;;\n",
                    invoice.no,
                    customer_fields(invoice.customer),
                    date_text(day),
                    date_text(day),
                    csv_amount(amount),
                ));
                break;
            }
        }
        if !rows.is_empty() {
            deliveries.push(Delivery {
                sender: "nordlys",
                name: format!("{tag}-2-credit-notes.csv"),
                content: format!("{INVOICE_HEADER}\n{rows}"),
            });
        }

        // The desk: write-offs of open cases, assignments of stuck payments.
        let mut rows = String::new();
        for _ in 0..plan.write_offs {
            let open: Vec<usize> = (0..self.cases.len())
                .filter(|&i| !self.cases[i].closed && !touched.contains(&self.cases[i].case_no))
                .collect();
            let Some(k) = self.rng.index(open.len()) else {
                break;
            };
            let case = &mut self.cases[open[k]];
            case.closed = true;
            touched.insert(case.case_no.clone());
            let case_no = case.case_no.clone();
            let n = self.next_seq();
            rows.push_str(&format!(
                "W{n:06};{NORDLYS};;{case_no};write_off;;;;;uerholdelig\n"
            ));
        }
        for _ in 0..plan.assigns {
            let stuck: Vec<usize> = (0..self.payments.len())
                .filter(|&i| {
                    let p = &self.payments[i];
                    p.stuck && !p.reversed && !p.assigned && p.currency == "NOK"
                })
                .collect();
            let targets: Vec<usize> = (0..self.cases.len())
                .filter(|&i| !touched.contains(&self.cases[i].case_no))
                .collect();
            let (Some(k), Some(t)) = (self.rng.index(stuck.len()), self.rng.index(targets.len()))
            else {
                break;
            };
            let c = targets[t];
            let payment = &mut self.payments[stuck[k]];
            payment.assigned = true;
            let payment_id = payment.id.clone();
            let case_no = self.cases[c].case_no.clone();
            let n = self.next_seq();
            rows.push_str(&format!(
                "A{n:06};{NORDLYS};;{case_no};assign_payment;;;;{payment_id};innbetaling uten gyldig KID\n"
            ));
        }
        if !rows.is_empty() {
            deliveries.push(Delivery {
                sender: "desk",
                name: format!("{tag}-1-desk.csv"),
                content: format!("{INSTRUCTION_HEADER}\n{rows}"),
            });
        }

        // Invoices: yesterday's planned ones, then new ones for new and known debtors.
        let mut rows = String::new();
        let mut today: Vec<Invoice> = std::mem::take(&mut self.planned);
        for _ in 0..plan.invoices {
            let customer = if self.customers == 0 || self.rng.chance(45) {
                self.new_customer()
            } else {
                self.rng.range(1, i64::from(self.customers)) as u32
            };
            let invoice = self.new_invoice(customer);
            today.push(invoice);
        }
        for invoice in &today {
            let row = self.invoice_row(day, invoice);
            rows.push_str(&row);
        }
        self.invoices.extend(today);
        if !rows.is_empty() {
            deliveries.push(Delivery {
                sender: "nordlys",
                name: format!("{tag}-3-invoices.csv"),
                content: format!("{INVOICE_HEADER}\n{rows}"),
            });
        }

        // The bank.
        let mut rows = String::new();
        for _ in 0..plan.bank {
            let use_case =
                !self.cases.is_empty() && (self.invoices.is_empty() || self.rng.chance(60));
            let p = if use_case {
                let c = self.rng.index(self.cases.len()).unwrap();
                let case = self.cases[c].clone();
                let amount = if case.closed {
                    self.rng.range(kr(10), kr(500))
                } else {
                    self.amount_for(case.total)
                };
                self.payment(
                    "bank",
                    Kind::Bank,
                    "NOK",
                    amount,
                    case.reference,
                    String::new(),
                    false,
                )
            } else if let Some(i) = self.rng.index(self.invoices.len()) {
                let invoice = self.invoices[i].clone();
                let amount = self.amount_for(invoice.amount);
                self.payment(
                    "bank",
                    Kind::Bank,
                    "NOK",
                    amount,
                    invoice.kid,
                    String::new(),
                    false,
                )
            } else {
                continue;
            };
            rows.push_str(&self.payment_row(day, &p, ""));
            self.payments.push(p);
        }
        for _ in 0..plan.early {
            let customer = self.new_customer();
            let invoice = self.new_invoice(customer);
            let amount = self.amount_for(invoice.amount);
            let p = self.payment(
                "bank",
                Kind::Bank,
                "NOK",
                amount,
                invoice.kid.clone(),
                String::new(),
                false,
            );
            rows.push_str(&self.payment_row(day, &p, ""));
            self.payments.push(p);
            self.planned.push(invoice);
        }
        for _ in 0..plan.stuck {
            let n = self.next_seq();
            let reference = match self.rng.range(0, 2) {
                // A KID with a wrong check digit: valid as a mod-10 KID never, so it equals no
                // invoice KID and no agency reference.
                0 => {
                    let good = kid_mod10(&format!("6{n:07}"));
                    let last = good.as_bytes()[good.len() - 1] - b'0';
                    format!("{}{}", &good[..good.len() - 1], (last + 1) % 10)
                }
                // A valid KID nobody ever issues.
                1 => kid_mod10(&format!("5{n:07}")),
                _ => String::new(),
            };
            let amount = self.rng.range(kr(50), kr(5_000));
            let p = self.payment(
                "bank",
                Kind::Bank,
                "NOK",
                amount,
                reference,
                String::new(),
                true,
            );
            rows.push_str(&self.payment_row(day, &p, ""));
            self.payments.push(p);
        }
        for _ in 0..plan.foreign {
            let currency = if self.rng.chance(50) { "SEK" } else { "EUR" };
            let reference = match self.rng.index(self.cases.len()) {
                Some(c) if self.rng.chance(50) => self.cases[c].reference.clone(),
                _ => {
                    let n = self.next_seq();
                    kid_mod10(&format!("5{n:07}"))
                }
            };
            let amount = self.rng.range(kr(10), kr(3_000));
            let p = self.payment(
                "bank",
                Kind::Bank,
                currency,
                amount,
                reference,
                String::new(),
                false,
            );
            rows.push_str(&self.payment_row(day, &p, ""));
            self.payments.push(p);
        }
        for _ in 0..plan.reversals {
            if let Some(row) = self.reversal(day, "bank") {
                rows.push_str(&row);
            }
        }
        for _ in 0..plan.corrections {
            let row = self.correction(day);
            rows.push_str(&row);
        }
        if !rows.is_empty() {
            deliveries.push(Delivery {
                sender: "bank",
                name: format!("{tag}-4-bank.csv"),
                content: format!("{PAYMENT_HEADER}\n{rows}"),
            });
        }

        // Nordlys' direct payments.
        let mut rows = String::new();
        for _ in 0..plan.direct {
            if self.rng.chance(30)
                && let Some(p) = self.direct_to_collection()
            {
                rows.push_str(&self.payment_row(day, &p, ""));
                self.payments.push(p);
                continue;
            }
            let p = match self.rng.index(self.invoices.len()) {
                Some(i) if !self.rng.chance(20) => {
                    let invoice = self.invoices[i].clone();
                    let amount = self.amount_for(invoice.amount);
                    // By the invoice's KID, or by its number.
                    let (reference, invoice_no) = if self.rng.chance(40) {
                        (invoice.kid, String::new())
                    } else {
                        (String::new(), invoice.no)
                    };
                    self.payment(
                        "nordlys",
                        Kind::Direct,
                        "NOK",
                        amount,
                        reference,
                        invoice_no,
                        false,
                    )
                }
                _ => {
                    // An invoice number Nordlys never delivered: unmatched for good.
                    let n = self.next_seq();
                    let amount = self.rng.range(kr(50), kr(2_000));
                    self.payment(
                        "nordlys",
                        Kind::Direct,
                        "NOK",
                        amount,
                        String::new(),
                        format!("X{n:06}"),
                        true,
                    )
                }
            };
            rows.push_str(&self.payment_row(day, &p, ""));
            self.payments.push(p);
        }
        for _ in 0..plan.direct_reversals {
            if let Some(row) = self.reversal(day, "nordlys") {
                rows.push_str(&row);
            }
        }
        if !rows.is_empty() {
            deliveries.push(Delivery {
                sender: "nordlys",
                name: format!("{tag}-5-direct.csv"),
                content: format!("{PAYMENT_HEADER}\n{rows}"),
            });
        }

        let mut first_run = plan.split;
        for d in &deliveries {
            let money = d.name.contains("-4-") || d.name.contains("-5-");
            if first_run && money {
                // A first run of the day, without the payments.
                self.ws.process(&date_text(day));
                first_run = false;
            }
            self.ws.drop_file(d.sender, &d.name, &d.content);
        }
        self.ws.process(&date_text(day));
        for d in &deliveries {
            assert_accepted(&self.ws, d);
        }
        let accepted = self.accepted.entry(day).or_default();
        for p in &self.payments[payments_before..] {
            accepted.push((p.id.clone(), p.currency, p.amount));
            self.currency_of.insert(p.id.clone(), p.currency);
            self.kind_of.insert(p.id.clone(), p.kind);
        }
        self.days.push(day);
        self.refresh_cases(day);
    }

    /// Reads `case list --json`: Nordlys' cases for tomorrow's traffic, and each creditor's
    /// total open (posted up to `day`) for the reconciliation's `open_balance_end`.
    fn refresh_cases(&mut self, day: NaiveDate) {
        let list = self.ws.case_list();
        let mut open: BTreeMap<String, i64> = BTreeMap::new();
        self.cases.clear();
        for case in list.as_array().expect("case list --json is an array") {
            let creditor = case["creditor_id"].as_str().unwrap().to_owned();
            let total = minor(case["balance"]["total"].as_str().unwrap(), '.');
            *open.entry(creditor.clone()).or_default() += total;
            if creditor == NORDLYS {
                self.cases.push(CaseInfo {
                    case_no: case["case_no"].as_str().unwrap().to_owned(),
                    reference: case["reference"].as_str().unwrap().to_owned(),
                    closed: case["state"] == "closed",
                    total,
                    collection_costs: minor(
                        case["balance"]["collection_costs"].as_str().unwrap(),
                        '.',
                    ),
                });
            }
        }
        self.open_after.insert(day, open);
    }

    /// Processes the day after the last one with an empty inbox: the last day is reconciled.
    fn close(&self) {
        let last = *self.days.last().expect("at least one business day");
        self.ws.process(&date_text(last + Duration::days(1)));
    }
}

fn customer_fields(customer: u32) -> String {
    let surnames: Vec<&str> = SURNAMES.split(' ').collect();
    let surname = surnames[customer as usize % surnames.len()];
    let (debtor_type, name) = if customer.is_multiple_of(4) {
        ("business", format!("{surname} Bygg {customer} AS"))
    } else {
        ("person", format!("Kari{customer} {surname}"))
    };
    format!("C{customer};{debtor_type};{name};Storgata {customer};9008;Tromsø")
}

/// Every generated row must have been accepted, so the test knows what the product applied.
fn assert_accepted(ws: &Workspace, delivery: &Delivery) {
    let receipt = ws.outbox_file(delivery.sender, &format!("receipt-{}.csv", delivery.name));
    let rows = receipt_rows(&receipt);
    let file = &rows[0];
    let errors: Vec<_> = rows
        .iter()
        .filter(|r| r["record_type"] == "error")
        .collect();
    assert!(
        errors.is_empty() && file["status"] == "accepted" && file["records"] == file["accepted"],
        "{}/{} was not accepted whole:\n{receipt}\n--- the file:\n{}",
        delivery.sender,
        delivery.name,
        delivery.content
    );
}

// ---------------------------------------------------------------------------------------------
// Reading reconciliation files.

/// One row of a reconciliation file, with its amounts in minor units.
#[derive(Debug, Clone)]
struct Rec {
    line: String,
    record_type: String,
    date: String,
    payment_id: String,
    case_no: String,
    creditor_id: String,
    amount: i64,
    /// to_principal, to_interest, to_fees, to_collection_costs.
    to: [i64; 4],
    overpaid: i64,
    reason: String,
    /// creditor_share, agency_share, net_payout, open_balance_start, open_balance_end
    /// (summary rows only).
    totals: Option<[i64; 5]>,
}

impl Rec {
    fn to_total(&self) -> i64 {
        self.to.iter().sum()
    }

    fn is_summary(&self) -> bool {
        self.record_type == "summary"
    }

    fn is_money(&self) -> bool {
        matches!(
            self.record_type.as_str(),
            "payment" | "direct_payment" | "reversal" | "unmatched"
        )
    }

    /// Money that stays with (or leaves) the unmatched money: unmatched rows, and reversals
    /// of payments that never reached a case.
    fn is_unmatched_money(&self) -> bool {
        self.record_type == "unmatched"
            || (self.record_type == "reversal" && self.to == [0; 4] && self.overpaid == 0)
    }
}

fn read_reconciliation(path: &Path) -> Vec<Rec> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(COLUMNS), "{}: header", path.display());
    let lines: Vec<&str> = lines.collect();
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(text.as_bytes());
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(
        records.len(),
        lines.len(),
        "{}: one line per record (no line breaks inside fields)",
        path.display()
    );
    records
        .iter()
        .zip(lines)
        .map(|(r, line)| {
            assert_eq!(r.len(), 19, "{}: {line}", path.display());
            let amount = |i: usize| minor(&r[i], ',');
            let is_summary = &r[0] == "summary";
            for i in 14..19 {
                assert_eq!(
                    r[i].is_empty(),
                    !is_summary,
                    "{}: the last five columns are filled on summary rows only: {line}",
                    path.display()
                );
            }
            Rec {
                line: line.to_owned(),
                record_type: r[0].to_owned(),
                date: r[1].to_owned(),
                payment_id: r[2].to_owned(),
                case_no: r[3].to_owned(),
                creditor_id: r[4].to_owned(),
                amount: amount(7),
                to: [amount(8), amount(9), amount(10), amount(11)],
                overpaid: amount(12),
                reason: r[13].to_owned(),
                totals: is_summary
                    .then(|| [amount(14), amount(15), amount(16), amount(17), amount(18)]),
            }
        })
        .collect()
}

/// The amounts a summary's reason spells out: received, allocated, overpaid, unmatched, open
/// balance, new claims, interest, fees, collection costs, reduced, end balance.
fn reason_figures(reason: &str, currency: &str) -> [i64; 11] {
    let rest = reason
        .strip_prefix(&format!("{currency}: "))
        .unwrap_or_else(|| panic!("the reason does not start with `{currency}: `: {reason}"));
    let figures: Vec<i64> = rest
        .split_whitespace()
        .map(|word| word.trim_end_matches(';'))
        .filter(|word| {
            let digits = word.strip_prefix('-').unwrap_or(word);
            !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit() || b == b',')
        })
        .map(|word| minor(word, ','))
        .collect();
    figures
        .try_into()
        .unwrap_or_else(|f: Vec<i64>| panic!("{} amounts in the reason, not 11: {reason}", f.len()))
}

fn currency_of_creditor(creditor: &str) -> &'static str {
    CREDITORS
        .iter()
        .find(|(id, _, _)| *id == creditor)
        .map(|(_, _, currency)| *currency)
        .unwrap_or_else(|| panic!("unknown creditor `{creditor}`"))
}

fn stem(day: NaiveDate) -> String {
    format!("reconciliation-{}", day.format("%Y%m%d"))
}

/// Every reconciliation file under `var/outbox/`, by path relative to it.
fn reconciliation_files(ws: &Workspace) -> BTreeMap<String, Vec<u8>> {
    ws.files_under("outbox")
        .into_iter()
        .filter(|(name, _)| name.contains("/reconciliation-"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The checks.

/// What the checks add up over all days, for the month's own assertions.
#[derive(Debug, Default)]
struct Totals {
    /// Per currency: Σ of the creditors' summary net payouts in the senders' files.
    sender_net_payout: BTreeMap<String, i64>,
    /// Per currency: Σ of the agency's currency-total net payouts.
    agency_net_payout: BTreeMap<String, i64>,
    /// Rows per record type (agency files), unmatched split by sign.
    record_types: BTreeMap<String, usize>,
    collection_costs: i64,
    overpaid: i64,
    /// Collection costs in money paid to the creditor directly (owed to the agency).
    direct_collection_costs: i64,
}

/// Checks a summary against its items: received = allocated + overpaid + unmatched, the
/// allocation columns are the sums over the money rows, shares and net payout follow from
/// them, and the reason's open balance moves by exactly the day's items.
fn check_summary(
    at: &str,
    summary: &Rec,
    items: &[&Rec],
    currency: &str,
    kind_of: &BTreeMap<String, Kind>,
) {
    let [creditor_share, agency_share, net_payout, start, end] = summary.totals.unwrap();
    let money: Vec<&&Rec> = items.iter().filter(|r| r.is_money()).collect();
    let received: i64 = money.iter().map(|r| r.amount).sum();
    let mut to = [0i64; 4];
    for r in &money {
        for (sum, part) in to.iter_mut().zip(r.to) {
            *sum += part;
        }
    }
    let overpaid: i64 = money.iter().map(|r| r.overpaid).sum();
    let unmatched: i64 = money
        .iter()
        .filter(|r| r.is_unmatched_money())
        .map(|r| r.amount)
        .sum();
    let expected_net: i64 = money
        .iter()
        .map(|r| {
            let direct = match r.record_type.as_str() {
                "direct_payment" => true,
                "reversal" | "unmatched" => kind_of.get(&r.payment_id) == Some(&Kind::Direct),
                _ => false,
            };
            if direct {
                -r.to[3]
            } else {
                r.to[0] + r.to[1] + r.to[2]
            }
        })
        .sum();
    let reduced: i64 = items.iter().map(|r| r.to_total()).sum();
    let line = &summary.line;
    assert_eq!(
        summary.amount, received,
        "{at}: amount = Σ money rows\n{line}"
    );
    assert_eq!(summary.to, to, "{at}: to_* = Σ over the money rows\n{line}");
    assert_eq!(
        summary.overpaid, overpaid,
        "{at}: overpaid = Σ money rows\n{line}"
    );
    assert_eq!(
        summary.amount,
        summary.to_total() + summary.overpaid + unmatched,
        "{at}: received = allocated + overpaid + unmatched ({unmatched})\n{line}"
    );
    assert_eq!(
        creditor_share,
        to[0] + to[1] + to[2],
        "{at}: creditor_share\n{line}"
    );
    assert_eq!(agency_share, to[3], "{at}: agency_share\n{line}");
    assert_eq!(net_payout, expected_net, "{at}: net_payout\n{line}");
    let f = reason_figures(&summary.reason, currency);
    assert_eq!(
        [f[0], f[1], f[2], f[3], f[4], f[10]],
        [
            received,
            summary.to_total(),
            overpaid,
            unmatched,
            start,
            end
        ],
        "{at}: the reason's figures are the row's\n{line}"
    );
    assert_eq!(
        f[9], reduced,
        "{at}: the reason's reduction = Σ to_* over all items\n{line}"
    );
    assert_eq!(
        f[4] + f[5] + f[6] + f[7] + f[8] - f[9],
        f[10],
        "{at}: open balance + claims, interest, fees, costs - reductions = end\n{line}"
    );
}

impl Traffic {
    /// Checks a–e over every reconciliation file of every reconciled day.
    fn check_files(&self) -> Totals {
        let outbox = self.ws.var().join("outbox");
        let mut totals = Totals::default();
        let creditor_ids: BTreeSet<&str> = CREDITORS.iter().map(|c| c.0).collect();

        // Exactly the expected files: one per reconciled day and sender acting for named
        // creditors (revontuli in XML too) and the agency's; none for the closing day.
        let mut expected: BTreeSet<String> = BTreeSet::new();
        for &day in &self.days {
            for (_, sender, _) in CREDITORS {
                expected.insert(format!("{sender}/{}.csv", stem(day)));
            }
            expected.insert(format!("revontuli/{}.xml", stem(day)));
            expected.insert(format!("_agency/{}.csv", stem(day)));
        }
        let found: BTreeSet<String> = reconciliation_files(&self.ws).into_keys().collect();
        assert_eq!(found, expected, "the reconciliation files written");
        for channel in AGENCY_CHANNELS {
            assert!(found.iter().all(|f| !f.starts_with(&format!("{channel}/"))));
        }

        let mut previous_end: BTreeMap<String, i64> = BTreeMap::new();
        for &day in &self.days {
            let day_text = date_text(day);
            let agency_path = outbox.join("_agency").join(format!("{}.csv", stem(day)));
            let agency = read_reconciliation(&agency_path);
            let at = format!("_agency {day_text}");

            // Layout: items first (creditors in id order, then money of no creditor), then one
            // summary per configured creditor, then one total per currency.
            let first_summary = agency.iter().position(Rec::is_summary).expect("summaries");
            assert!(
                agency[first_summary..].iter().all(Rec::is_summary),
                "{at}: summaries last"
            );
            let items: Vec<&Rec> = agency[..first_summary].iter().collect();
            let summaries: Vec<&Rec> = agency[first_summary..]
                .iter()
                .filter(|r| !r.creditor_id.is_empty())
                .collect();
            let currency_totals: Vec<&Rec> = agency[first_summary..]
                .iter()
                .filter(|r| r.creditor_id.is_empty())
                .collect();
            assert_eq!(
                summaries
                    .iter()
                    .map(|s| s.creditor_id.as_str())
                    .collect::<Vec<_>>(),
                creditor_ids.iter().copied().collect::<Vec<_>>(),
                "{at}: one summary per creditor, in id order"
            );
            assert_eq!(
                currency_totals.len(),
                CURRENCIES.len(),
                "{at}: one total per currency"
            );
            let mut seen_no_creditor = false;
            for item in &items {
                let line = &item.line;
                assert!(
                    [
                        "payment",
                        "direct_payment",
                        "reversal",
                        "credit",
                        "write_off",
                        "unmatched"
                    ]
                    .contains(&item.record_type.as_str()),
                    "{at}: record type\n{line}"
                );
                if item.creditor_id.is_empty() {
                    seen_no_creditor = true;
                } else {
                    assert!(
                        !seen_no_creditor,
                        "{at}: creditors' items before the rest\n{line}"
                    );
                    assert!(
                        creditor_ids.contains(item.creditor_id.as_str()),
                        "{at}\n{line}"
                    );
                }
                assert!(
                    item.date <= day_text,
                    "{at}: an item dated after the day\n{line}"
                );
                // a. Each item adds up.
                if item.is_unmatched_money() {
                    assert_eq!(
                        item.to, [0; 4],
                        "{at}: unmatched money is not allocated\n{line}"
                    );
                    assert_eq!(item.overpaid, 0, "{at}\n{line}");
                    assert_ne!(item.amount, 0, "{at}\n{line}");
                    if item.record_type == "unmatched" {
                        // Received today: +amount (a bank correction that corrected nothing:
                        // -amount); received earlier and placed on a case today: -amount,
                        // naming the case.
                        let kept = self.kept_corrections.contains(&item.payment_id);
                        assert_eq!(
                            item.case_no.is_empty(),
                            item.amount > 0 || kept,
                            "{at}\n{line}"
                        );
                    }
                } else {
                    assert_eq!(
                        item.amount,
                        item.to_total() + item.overpaid,
                        "{at}: amount = to_principal + to_interest + to_fees + to_collection_costs + overpaid\n{line}"
                    );
                    assert!(
                        !item.case_no.is_empty(),
                        "{at}: an allocated item names its case\n{line}"
                    );
                }
                if !item.is_money() {
                    assert_eq!(item.overpaid, 0, "{at}\n{line}");
                    assert!(item.payment_id.is_empty(), "{at}\n{line}");
                } else {
                    assert!(
                        self.currency_of.contains_key(&item.payment_id),
                        "{at}: a payment the generator never delivered\n{line}"
                    );
                }
                let key = match item.record_type.as_str() {
                    "unmatched" if item.amount > 0 => "unmatched+".to_owned(),
                    "unmatched" => "unmatched-".to_owned(),
                    other => other.to_owned(),
                };
                *totals.record_types.entry(key).or_default() += 1;
                totals.overpaid += item.overpaid;
                if item.is_money() {
                    totals.collection_costs += item.to[3];
                }
                if item.record_type == "direct_payment" {
                    totals.direct_collection_costs += item.to[3];
                }
            }
            let currency_of_item = |item: &Rec| -> &str {
                if item.creditor_id.is_empty() {
                    self.currency_of[&item.payment_id]
                } else {
                    currency_of_creditor(&item.creditor_id)
                }
            };

            // b. Each creditor's summary, and each currency's total.
            for summary in &summaries {
                let creditor = summary.creditor_id.as_str();
                let currency = currency_of_creditor(creditor);
                let mine: Vec<&Rec> = items
                    .iter()
                    .copied()
                    .filter(|r| r.creditor_id == creditor)
                    .collect();
                check_summary(
                    &format!("{at} {creditor}"),
                    summary,
                    &mine,
                    currency,
                    &self.kind_of,
                );
                let [_, _, _, start, end] = summary.totals.unwrap();
                // c. The open balance carries over from the previous reconciled day, and is
                // what `case list` showed right after the day.
                assert_eq!(
                    start,
                    previous_end.get(creditor).copied().unwrap_or(0),
                    "{at} {creditor}: open_balance_start = the previous day's open_balance_end\n{}",
                    summary.line
                );
                assert_eq!(
                    end,
                    self.open_after[&day].get(creditor).copied().unwrap_or(0),
                    "{at} {creditor}: open_balance_end = Σ total of the creditor's cases in `case list` after the day\n{}",
                    summary.line
                );
                previous_end.insert(creditor.to_owned(), end);
            }
            for total in &currency_totals {
                let currency = total.reason.split(':').next().unwrap();
                let mine: Vec<&Rec> = items
                    .iter()
                    .copied()
                    .filter(|r| currency_of_item(r) == currency)
                    .collect();
                check_summary(
                    &format!("{at} {currency}"),
                    total,
                    &mine,
                    currency,
                    &self.kind_of,
                );
                let [_, _, net, start, end] = total.totals.unwrap();
                let of_currency = || {
                    summaries
                        .iter()
                        .filter(|s| currency_of_creditor(&s.creditor_id) == currency)
                };
                assert_eq!(
                    (start, end),
                    (
                        of_currency().map(|s| s.totals.unwrap()[3]).sum(),
                        of_currency().map(|s| s.totals.unwrap()[4]).sum()
                    ),
                    "{at} {currency}: the total's open balances are the creditors'\n{}",
                    total.line
                );
                *totals
                    .agency_net_payout
                    .entry(currency.to_owned())
                    .or_default() += net;

                // e. The day's money: what the files processed as of the day brought.
                let accepted: i64 = self.accepted[&day]
                    .iter()
                    .filter(|(_, c, _)| *c == currency)
                    .map(|(_, _, a)| a)
                    .sum();
                assert_eq!(
                    total.amount, accepted,
                    "{at} {currency}: received = Σ payments accepted from the day's files\n{}",
                    total.line
                );
            }
            assert_eq!(
                currency_totals
                    .iter()
                    .map(|t| t.reason.split(':').next().unwrap())
                    .collect::<Vec<_>>(),
                CURRENCIES,
                "{at}: currency totals in currency order"
            );
            // e. Payment by payment: each accepted payment's rows add up to it; a payment of
            // an earlier day placed on a case today nets to zero.
            let mut by_payment: BTreeMap<&str, i64> = BTreeMap::new();
            for item in items.iter().filter(|r| r.is_money()) {
                *by_payment.entry(item.payment_id.as_str()).or_default() += item.amount;
            }
            for (id, _, amount) in &self.accepted[&day] {
                assert_eq!(
                    by_payment.remove(id.as_str()),
                    Some(*amount),
                    "{at}: the rows of payment {id} add up to its amount"
                );
            }
            for (id, sum) in by_payment {
                assert_eq!(
                    sum, 0,
                    "{at}: payment {id} of an earlier day nets to zero today"
                );
            }

            // d. The senders' files: their creditors' rows, summaries byte-identical to the
            // agency's, net payouts adding up to the agency's per currency.
            let mut sender_net: BTreeMap<&str, i64> = BTreeMap::new();
            for (creditor, sender, currency) in CREDITORS {
                let path = outbox.join(sender).join(format!("{}.csv", stem(day)));
                let rows = read_reconciliation(&path);
                let at = format!("{sender} {day_text}");
                let sender_items: Vec<&Rec> = rows.iter().filter(|r| !r.is_summary()).collect();
                let sender_summaries: Vec<&Rec> = rows.iter().filter(|r| r.is_summary()).collect();
                assert_eq!(
                    sender_summaries.len(),
                    1,
                    "{at}: one summary for its one creditor"
                );
                assert!(
                    rows.last().unwrap().is_summary(),
                    "{at}: the summary comes last"
                );
                let agency_items: Vec<&str> = items
                    .iter()
                    .filter(|r| r.creditor_id == *creditor)
                    .map(|r| r.line.as_str())
                    .collect();
                assert_eq!(
                    sender_items
                        .iter()
                        .map(|r| r.line.as_str())
                        .collect::<Vec<_>>(),
                    agency_items,
                    "{at}: the sender's items are the agency's rows of its creditor"
                );
                let summary = sender_summaries[0];
                assert_eq!(summary.creditor_id, *creditor, "{at}");
                let agency_summary = summaries
                    .iter()
                    .find(|s| s.creditor_id == *creditor)
                    .unwrap();
                assert_eq!(
                    summary.line, agency_summary.line,
                    "{at}: the creditor's summary is byte-identical in the agency's file"
                );
                let net = summary.totals.unwrap()[2];
                *sender_net.entry(currency).or_default() += net;
                if *sender == "revontuli" {
                    check_xml_twin(&outbox, sender, day, &rows);
                }
                *totals
                    .sender_net_payout
                    .entry(currency.to_string())
                    .or_default() += net;
            }
            for total in &currency_totals {
                let currency = total.reason.split(':').next().unwrap();
                assert_eq!(
                    sender_net.get(currency).copied().unwrap_or(0),
                    total.totals.unwrap()[2],
                    "{at} {currency}: Σ senders' net payouts = the agency's currency total\n{}",
                    total.line
                );
            }
        }
        totals
    }

    /// f. `kravflyt reconcile --date D` writes exactly the bytes of the daily run, also after
    /// one of the day's files was deleted.
    fn check_reconcile_rewrites(&self) {
        let before = reconciliation_files(&self.ws);
        for &day in &self.days {
            self.ws.ok(&["reconcile", "--date", &date_text(day)]);
        }
        assert_same_files(
            &before,
            &reconciliation_files(&self.ws),
            "after reconcile --date",
        );

        let outbox = self.ws.var().join("outbox");
        let first = self.days[0];
        let middle = self.days[self.days.len() / 2];
        let last = *self.days.last().unwrap();
        let deleted: Vec<(NaiveDate, PathBuf)> = vec![
            (
                first,
                outbox.join("nordlys").join(format!("{}.csv", stem(first))),
            ),
            (
                middle,
                outbox.join("_agency").join(format!("{}.csv", stem(middle))),
            ),
            (
                last,
                outbox.join("revontuli").join(format!("{}.xml", stem(last))),
            ),
            (
                last,
                outbox.join("fjellstua").join(format!("{}.csv", stem(last))),
            ),
        ];
        for (_, path) in &deleted {
            std::fs::remove_file(path).unwrap();
        }
        let days: BTreeSet<NaiveDate> = deleted.iter().map(|(d, _)| *d).collect();
        for day in days {
            self.ws.ok(&["reconcile", "--date", &date_text(day)]);
        }
        assert_same_files(
            &before,
            &reconciliation_files(&self.ws),
            "after deleting files and reconcile --date",
        );
    }
}

/// A sender that writes XML gets the same rows as `<row>` elements, amounts with a point.
fn check_xml_twin(outbox: &Path, sender: &str, day: NaiveDate, rows: &[Rec]) {
    let path = outbox.join(sender).join(format!("{}.xml", stem(day)));
    let xml = std::fs::read_to_string(&path).unwrap();
    let elements = |name: &str| -> Vec<i64> {
        xml.split(&format!("<{name}>"))
            .skip(1)
            .map(|rest| minor(rest.split('<').next().unwrap(), '.'))
            .collect()
    };
    assert_eq!(
        xml.matches("<row>").count(),
        rows.len(),
        "{}",
        path.display()
    );
    assert_eq!(
        elements("amount"),
        rows.iter().map(|r| r.amount).collect::<Vec<_>>(),
        "{}",
        path.display()
    );
    let summaries: Vec<[i64; 5]> = rows.iter().filter_map(|r| r.totals).collect();
    for (i, name) in ["net_payout", "open_balance_start", "open_balance_end"]
        .iter()
        .enumerate()
    {
        assert_eq!(
            elements(name),
            summaries.iter().map(|t| t[i + 2]).collect::<Vec<_>>(),
            "{}: {name}",
            path.display()
        );
    }
}

fn assert_same_files(
    before: &BTreeMap<String, Vec<u8>>,
    after: &BTreeMap<String, Vec<u8>>,
    when: &str,
) {
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "{when}: the same reconciliation files"
    );
    for (name, bytes) in before {
        assert!(
            after[name] == *bytes,
            "{when}: {name} changed:\n--- daily run\n{}\n--- now\n{}",
            String::from_utf8_lossy(bytes),
            String::from_utf8_lossy(&after[name])
        );
    }
}

/// Plays `plans` from `first` on, closes the last day, and runs every check.
fn play(first: NaiveDate, plans: &[DayPlan]) -> Traffic {
    play_in(Workspace::new(), first, plans)
}

/// [`play`] in a given workspace (the PostgreSQL store's, say).
fn play_in(ws: Workspace, first: NaiveDate, plans: &[DayPlan]) -> Traffic {
    let mut traffic = Traffic::new(ws);
    for plan in plans {
        traffic.day(plan, first);
    }
    traffic.close();
    traffic
}

// ---------------------------------------------------------------------------------------------
// The tests.

#[test]
fn the_generated_kids_are_kravflyts() {
    let ws = Workspace::new();
    for base in ["3100001", "40000017", "5000123", "6999999", "4"] {
        let out = ws.ok(&["ref", "new", "--scheme", "kid-mod10", base]);
        assert_eq!(
            out.trim(),
            kid_mod10(base),
            "ref new --scheme kid-mod10 {base}"
        );
    }
}

fn day_plan(min_invoices: usize) -> impl Strategy<Value = DayPlan> {
    (
        (
            1i64..=12,
            min_invoices..=min_invoices + 5,
            0usize..=2,
            0usize..=6,
        ),
        (0usize..=2, 0usize..=1, 0usize..=2, 0usize..=2),
        (0usize..=1, 0usize..=2, 0usize..=1, 0usize..=2),
        (0usize..=1, any::<bool>(), any::<u64>()),
    )
        .prop_map(
            |(
                (gap, invoices, early, bank),
                (stuck, foreign, reversals, direct),
                (direct_reversals, credits, write_offs, assigns),
                (corrections, split, seed),
            )| DayPlan {
                gap,
                invoices,
                early,
                bank,
                stuck,
                foreign,
                reversals,
                corrections,
                direct,
                direct_reversals,
                credits,
                write_offs,
                assigns,
                split,
                seed,
            },
        )
}

fn traffic_plans() -> impl Strategy<Value = Vec<DayPlan>> {
    (day_plan(3), proptest::collection::vec(day_plan(0), 1..=4)).prop_map(|(first, rest)| {
        let mut plans = vec![first];
        plans.extend(rest);
        plans
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        // Eight cases keep the suite fast; PROPTEST_CASES=200 explores more.
        cases: if std::env::var_os("PROPTEST_CASES").is_some() {
            ProptestConfig::default().cases
        } else {
            8
        },
        max_shrink_iters: 24,
        // No regression file in the source tree: a failure prints its plans in full.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// A few business days (with gaps up to twelve days, so cases reach collection) of any
    /// mix of traffic: every reconciliation file ties out, and reconcile --date repeats it.
    #[test]
    fn reconciliation_ties_out_for_any_traffic(plans in traffic_plans()) {
        let first = NaiveDate::from_ymd_opt(2026, 5, 4).unwrap();
        let traffic = play(first, &plans);
        traffic.check_files();
        traffic.check_reconcile_rewrites();
    }
}

/// The month's plan: the same every run.
fn month_plans() -> Vec<DayPlan> {
    let mut rng = Rng::new(20_260_301);
    (0..30)
        .map(|day| DayPlan {
            gap: 1,
            invoices: if day == 0 {
                24
            } else {
                rng.range(8, 16) as usize
            },
            early: rng.range(1, 3) as usize,
            bank: rng.range(15, 25) as usize,
            stuck: rng.range(1, 3) as usize,
            foreign: rng.range(0, 2) as usize,
            reversals: rng.range(1, 3) as usize,
            corrections: rng.range(0, 1) as usize,
            direct: rng.range(2, 4) as usize,
            direct_reversals: rng.range(0, 1) as usize,
            credits: rng.range(0, 2) as usize,
            write_offs: rng.range(0, 1) as usize,
            assigns: rng.range(0, 2) as usize,
            split: rng.chance(25),
            seed: rng.next(),
        })
        .collect()
}

#[test]
fn a_month_of_traffic_ties_out_to_the_ore() {
    let first = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    check_month(play(first, &month_plans()));
}

/// The same month with the ledger in PostgreSQL (SPEC §10): it ties out the same way, and
/// every reconciliation file is byte for byte the one the embedded store writes.
#[test]
fn a_month_of_traffic_ties_out_to_the_ore_on_postgresql() {
    let Some(ws) = Workspace::on_postgres("month_of_traffic", |text| text) else {
        return;
    };
    let first = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let on_postgres = play_in(ws, first, &month_plans());
    let embedded = play(first, &month_plans());
    assert_eq!(
        reconciliation_files(&on_postgres.ws),
        reconciliation_files(&embedded.ws),
        "the reconciliation files of the two stores differ"
    );
    check_month(on_postgres);
}

/// What a month of traffic must show: files that tie out, and every kind of row exercised.
fn check_month(traffic: Traffic) {
    assert_eq!(traffic.days.len(), 30);
    assert_eq!(
        traffic.days[29],
        NaiveDate::from_ymd_opt(2026, 3, 31).unwrap()
    );

    let totals = traffic.check_files();
    traffic.check_reconcile_rewrites();

    // Over the month, what the creditors are told they get is what the agency pays out, to
    // the øre, in every currency.
    assert_eq!(
        totals.sender_net_payout, totals.agency_net_payout,
        "Σ over the month of the creditors' net payouts (sender files) = Σ of the agency's currency totals"
    );
    assert_ne!(totals.sender_net_payout.get("NOK").copied().unwrap_or(0), 0);

    // The month exercised what it claims to.
    for kind in [
        "payment",
        "direct_payment",
        "reversal",
        "credit",
        "write_off",
        "unmatched+",
        "unmatched-",
    ] {
        assert!(
            totals.record_types.get(kind).copied().unwrap_or(0) > 0,
            "no `{kind}` row in the month: {:?}",
            totals.record_types
        );
    }
    assert!(
        totals.collection_costs > 0,
        "no collection costs paid in the month"
    );
    assert!(totals.overpaid > 0, "nothing overpaid in the month");
    assert!(
        totals.direct_collection_costs > 0,
        "no direct payment took collection costs, which the creditor owes the agency"
    );
}

/// Found by the month of traffic (cases closed `credited` ending with a negative balance).
/// A credit note that leaves no principal writes off the unpaid interest and fees and closes
/// the case `credited`; a later payment with the case's agency reference is overpaid whole
/// (docs/payments.md: a closed case has nothing open). The write-off once went on the case
/// without the invoice while the interest was posted on the invoice, so such a payment paid
/// the written-off interest again and the open balance went below zero.
#[test]
fn a_payment_on_a_case_closed_credited_is_overpaid_whole() {
    let ws = Workspace::new();
    ws.drop_file(
        "nordlys",
        "f.csv",
        format!(
            "{INVOICE_HEADER}\n{NORDLYS};1001;invoice;;1;person;Kari Nordmann;Storgata 1;9008;Tromsø;2026-09-01;2026-09-15;NOK;1000,00;;;;\n"
        ),
    );
    ws.process("2026-10-01");
    ws.drop_file(
        "nordlys",
        "k.csv",
        format!(
            "{INVOICE_HEADER}\n{NORDLYS};K1;credit_note;1001;1;person;Kari Nordmann;Storgata 1;9008;Tromsø;2026-10-02;2026-10-02;NOK;1000,00;;;;\n"
        ),
    );
    ws.process("2026-10-02");
    let case = ws.case_show("7000000013");
    assert_eq!(
        (&case["close_reason"], &case["balance"]["total"]),
        (&"credited".into(), &"0.00".into())
    );
    ws.drop_file(
        "bank",
        "p.csv",
        format!("{PAYMENT_HEADER}\nP1;bank;;7000000013;;100,00;NOK;2026-10-03;;;\n"),
    );
    ws.process("2026-10-03");
    ws.process("2026-10-04");
    let rows = read_reconciliation(&ws.var().join("outbox/nordlys").join(format!(
        "{}.csv",
        stem(NaiveDate::from_ymd_opt(2026, 10, 3).unwrap())
    )));
    let summary = rows.last().unwrap();
    assert_eq!(
        (summary.to, summary.overpaid),
        ([0; 4], kr(100)),
        "the whole payment is overpaid\n{}",
        summary.line
    );
    assert_eq!(
        summary.totals.unwrap()[4],
        0,
        "open_balance_end\n{}",
        summary.line
    );
    assert_eq!(ws.case_show("7000000013")["balance"]["total"], "0.00");
}
