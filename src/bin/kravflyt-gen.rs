//! `kravflyt-gen`: deterministic benchmark data at scale N (issue 8) — not part of the product
//! CLI. Writes, for sender `nordlys` (creditor 923609016, KID mod 10) and the agency's `bank`:
//!
//! - `nordlys/invoices-N.csv`: N invoices as canonical CSV (`;`, decimal comma), about a third
//!   of the debtors with several invoices;
//! - `bank/payments-N.csv`: N bank payments as canonical CSV, and `bank/payments-N.ocr.txt`:
//!   the same payments as a Nets OCR giro file. About 90 % pay an invoice's KID (most exactly,
//!   some part, some more), 5 % carry a KID with a wrong check digit, 5 % a valid KID that no
//!   invoice has.
//!
//! With `--extra M`, it also writes a small follow-up delivery for a database that already
//! holds the N invoices (the "1 000-record file against a million cases" benchmark):
//!
//! - `nordlys/invoices-extra-M.csv`: M new invoices, numbered after the N (N+1 … N+M) with KIDs
//!   no invoice of the N has; about half for existing customers (same customer number, name and
//!   address, so they join those customers' cases), the others for new customers;
//! - `bank/payments-extra-M.csv`: M bank payments (ids after the N payments') that each pay the
//!   KID of one of the N invoices: most the whole invoice amount, some part of it.
//!
//! The N-files are written too and are the same bytes with or without `--extra`.
//!
//! With `--shape three-per-debtor` (issue 14's second benchmark row) it writes another data
//! shape instead, for the same sender and bank, with the shape in the file names:
//!
//! - `nordlys/invoices-three-per-debtor-N.csv`: N invoices, three per debtor (customer numbers
//!   1, 2, …; the last debtor has one or two when N is not a multiple of three). A debtor's
//!   three invoices carry the same customer number, name and address, so they join one case,
//!   and each has its own KID (bases 7 × 10¹¹ + invoice number). They were issued a month
//!   apart from 2026-05-01 (plus 0–13 days per debtor), due 14 days after issue, so the last
//!   is due on 2026-07-29 at the latest; amounts 100.00–20 099.99 as in the default shape.
//! - `bank/payments-three-per-debtor-N.csv`: N bank payments, three per debtor (as many as its
//!   invoices for the last one), each paying the KID of one of the debtor's invoices, dated on
//!   three different days between 2026-08-03 and 2026-09-30 (well after every due date, so
//!   late-payment interest has run and is settled at each payment, SPEC §6.1.4). The file is
//!   in payment-date order (then debtor), the ids `B000000001`… in that order. Per debtor, one
//!   of five plans (A, B, C: its invoices, oldest first; a, b, c: their amounts):
//!   - 30 % pay as billed: a to A, b to B, c to C;
//!   - 25 % pay instalments: 30–70 % of each, to A, B and C;
//!   - 20 % pay two at once, then the rest: a + b to A (over-paying A, spilling over to B), half
//!     of c to C, then the other half plus 500.00 to C (when the interest came to less than
//!     500.00 that closes the case with the remainder overpaid, else an interest-sized rest
//!     of principal stays open);
//!   - 15 % pay part, exact, more: a third of a to A, b to B, c + 1 000.00 to C;
//!   - 10 % pay the same invoice twice: a to A, a again to A, c to C.
//!
//!   kravflyt settles interest first and then principal oldest invoice first, whatever KID a
//!   payment carries, so "as billed" payments leave interest-sized rests, rests are taken by
//!   the next payment, and a payment whose invoice or case was paid off before it stays
//!   unmatched (`unknown_reference`). The counts per plan and of partial, exact and
//!   over-payments (by amount against the invoice whose KID it carries) go to stderr. No OCR
//!   giro file and no `--extra` in this shape.
//!
//! Usage: `cargo run --release --bin kravflyt-gen -- N OUT_DIR [--extra M | --shape
//! three-per-debtor]` (then copy `OUT_DIR/*` into `var/inbox/`). The same N (and M) always
//! gives the same bytes.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use kravflyt::reference::{Scheme, generate};

const CREDITOR: &str = "923609016";
const ISSUE_DATE: &str = "2026-09-01";
const DUE_DATE: &str = "2026-09-15";
const PAYMENT_DATE: &str = "2026-10-01";
/// The same date as Nets writes it (DDMMYY).
const OCR_DATE: &str = "011026";

/// A small, fast, deterministic generator (xorshift64*), so data sets are reproducible
/// without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// 0..n
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One generated invoice: what the payments refer to, and whose customer it is.
struct Invoice {
    kid: String,
    amount_ore: u64,
    customer: u64,
    business: bool,
}

/// One generated payment.
struct Payment {
    id: String,
    kid: String,
    amount_ore: u64,
}

fn kid(base: u64) -> String {
    generate(Scheme::KidMod10, &format!("{base:012}")).expect("a 12-digit base takes a check digit")
}

fn kroner(ore: u64) -> String {
    format!("{},{:02}", ore / 100, ore % 100)
}

fn count(text: &str) -> Option<u64> {
    text.replace('_', "").parse::<u64>().ok()
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let mut three_per_debtor = false;
    let extra = match args.get(3..).unwrap_or_default() {
        [] => Some(None),
        [flag, m] if flag == "--extra" => count(m).filter(|&m| m > 0).map(Some),
        [flag, shape] if flag == "--shape" && shape == "default" => Some(None),
        [flag, shape] if flag == "--shape" && shape == "three-per-debtor" => {
            three_per_debtor = true;
            Some(None)
        }
        _ => None,
    };
    let (Some(n), Some(out), Some(extra)) =
        (args.get(1).and_then(|n| count(n)), args.get(2), extra)
    else {
        eprintln!(
            "usage: kravflyt-gen N OUT_DIR [--extra M | --shape default|three-per-debtor]   (e.g. kravflyt-gen 1000000 /tmp/bench --extra 1000)"
        );
        std::process::exit(2);
    };
    if three_per_debtor {
        return write_three_per_debtor(Path::new(out), n);
    }
    if n == 0 && extra.is_some() {
        eprintln!("kravflyt-gen: --extra needs N ≥ 1 (its payments and customers come from the N)");
        std::process::exit(2);
    }
    let out = Path::new(out);
    std::fs::create_dir_all(out.join("nordlys"))?;
    std::fs::create_dir_all(out.join("bank"))?;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ n);

    let invoices = write_invoices(&out.join(format!("nordlys/invoices-{n}.csv")), n, &mut rng)?;
    let payments = payments_for(&invoices, &mut rng);
    write_payments_csv(&out.join(format!("bank/payments-{n}.csv")), &payments)?;
    write_ocr_giro(&out.join(format!("bank/payments-{n}.ocr.txt")), &payments)?;
    eprintln!(
        "{n} invoices and {} payments written under {}",
        payments.len(),
        out.display()
    );
    if let Some(m) = extra {
        // A generator of its own, so the N-files do not depend on M.
        let mut rng = Rng((0xd1b5_4a32_d192_ed03 ^ n.rotate_left(32) ^ m) | 1);
        write_extra_invoices(
            &out.join(format!("nordlys/invoices-extra-{m}.csv")),
            &invoices,
            m,
            &mut rng,
        )?;
        let extra_payments = extra_payments_for(&invoices, m, &mut rng);
        write_payments_csv(
            &out.join(format!("bank/payments-extra-{m}.csv")),
            &extra_payments,
        )?;
        eprintln!(
            "{m} extra invoices and {m} extra payments (for the N invoices) written under {}",
            out.display()
        );
    }
    Ok(())
}

const INVOICE_HEADER: &str = "creditor_id;invoice_no;customer_no;debtor_type;debtor_name;address;postcode;city;issue_date;due_date;currency;amount;reference";

/// One canonical CSV invoice row; the debtor's fields follow from the customer number.
fn write_invoice_row(
    w: &mut impl Write,
    number: u64,
    customer: u64,
    business: bool,
    amount_ore: u64,
    reference: &str,
) -> std::io::Result<()> {
    write_dated_invoice_row(
        w, number, customer, business, amount_ore, reference, ISSUE_DATE, DUE_DATE,
    )
}

/// [`write_invoice_row`] with the issue and due dates given (`YYYY-MM-DD`).
#[allow(clippy::too_many_arguments)]
fn write_dated_invoice_row(
    w: &mut impl Write,
    number: u64,
    customer: u64,
    business: bool,
    amount_ore: u64,
    reference: &str,
    issue_date: &str,
    due_date: &str,
) -> std::io::Result<()> {
    writeln!(
        w,
        "{CREDITOR};{number};{customer};{};Kunde {customer};Gate {} {};{:04};Tromsø;{issue_date};{due_date};NOK;{};{reference}",
        if business { "business" } else { "person" },
        customer % 97 + 1,
        customer % 13 + 1,
        1000 + customer % 8999,
        kroner(amount_ore),
    )
}

fn write_invoices(path: &Path, n: u64, rng: &mut Rng) -> std::io::Result<Vec<Invoice>> {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
    writeln!(w, "{INVOICE_HEADER}")?;
    let mut invoices = Vec::with_capacity(n as usize);
    let mut customer = 0u64;
    while (invoices.len() as u64) < n {
        customer += 1;
        // About a third of the debtors have two to four invoices.
        let count = if rng.below(3) == 0 {
            2 + rng.below(3)
        } else {
            1
        };
        let business = rng.below(5) == 0;
        for _ in 0..count {
            if invoices.len() as u64 == n {
                break;
            }
            let number = invoices.len() as u64 + 1;
            let amount_ore = 10_000 + rng.below(2_000_000);
            let reference = kid(customer * 10_000 + number % 10_000);
            write_invoice_row(&mut w, number, customer, business, amount_ore, &reference)?;
            invoices.push(Invoice {
                kid: reference,
                amount_ore,
                customer,
                business,
            });
        }
    }
    w.flush()?;
    Ok(invoices)
}

fn payments_for(invoices: &[Invoice], rng: &mut Rng) -> Vec<Payment> {
    invoices
        .iter()
        .enumerate()
        .map(|(i, invoice)| {
            let id = format!("B{:09}", i + 1);
            let roll = rng.below(100);
            let (kid_text, amount_ore) = match roll {
                // A wrong check digit: the last digit changed.
                0..=4 => {
                    let mut k = invoice.kid.clone();
                    let last = k.pop().and_then(|c| c.to_digit(10)).unwrap_or(0);
                    k.push(char::from_digit((last + 1) % 10, 10).unwrap_or('0'));
                    (k, invoice.amount_ore)
                }
                // A valid KID no invoice has.
                5..=9 => (kid(900_000_000_000 + i as u64), invoice.amount_ore),
                // Part of the invoice.
                10..=24 => (invoice.kid.clone(), invoice.amount_ore / 2 + 1),
                // More than the invoice.
                25..=29 => (invoice.kid.clone(), invoice.amount_ore + 50_000),
                _ => (invoice.kid.clone(), invoice.amount_ore),
            };
            Payment {
                id,
                kid: kid_text,
                amount_ore,
            }
        })
        .collect()
}

/// M more invoices after the N: numbers N+1 …, KIDs with bases 8 × 10¹¹ + number, a range the
/// N never use (their bases are `customer * 10 000 + number % 10 000`, below 10¹¹ for fewer than
/// ten million customers; the payments' unknown KIDs start at 9 × 10¹¹); about every other one
/// for an existing customer picked at random.
fn write_extra_invoices(
    path: &Path,
    invoices: &[Invoice],
    m: u64,
    rng: &mut Rng,
) -> std::io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
    writeln!(w, "{INVOICE_HEADER}")?;
    let n = invoices.len() as u64;
    let mut new_customer = invoices.last().map_or(0, |i| i.customer);
    for i in 1..=m {
        let number = n + i;
        let (customer, business) = if rng.below(2) == 0 {
            let existing = &invoices[rng.below(n) as usize];
            (existing.customer, existing.business)
        } else {
            new_customer += 1;
            (new_customer, rng.below(5) == 0)
        };
        let amount_ore = 10_000 + rng.below(2_000_000);
        let reference = kid(800_000_000_000 + number);
        write_invoice_row(&mut w, number, customer, business, amount_ore, &reference)?;
    }
    w.flush()
}

/// M payments of the N invoices' KIDs (picked at random): four in five pay the whole invoice,
/// the others part of it. Ids continue after the N payments'.
fn extra_payments_for(invoices: &[Invoice], m: u64, rng: &mut Rng) -> Vec<Payment> {
    let n = invoices.len() as u64;
    (1..=m)
        .map(|i| {
            let invoice = &invoices[rng.below(n) as usize];
            let amount_ore = if rng.below(5) == 0 {
                invoice.amount_ore / 2 + 1
            } else {
                invoice.amount_ore
            };
            Payment {
                id: format!("B{:09}", n + i),
                kid: invoice.kid.clone(),
                amount_ore,
            }
        })
        .collect()
}

fn write_payments_csv(path: &Path, payments: &[Payment]) -> std::io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
    writeln!(
        w,
        "payment_id;kind;reference;amount;currency;payment_date;payer_name"
    )?;
    for p in payments {
        writeln!(
            w,
            "{};bank;{};{};NOK;{PAYMENT_DATE};Betaler {}",
            p.id,
            p.kid,
            kroner(p.amount_ore),
            &p.id[1..]
        )?;
    }
    w.flush()
}

/// A Nets OCR giro transmission: one assignment per 100 000 payments, two records per
/// payment, control totals that add up.
fn write_ocr_giro(path: &Path, payments: &[Payment]) -> std::io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut records = 0u64;
    let line = |w: &mut BufWriter<File>, records: &mut u64, text: String| -> std::io::Result<()> {
        debug_assert_eq!(text.len(), 80, "{text}");
        *records += 1;
        writeln!(w, "{text}")
    };
    line(
        &mut w,
        &mut records,
        format!("NY000010{:08}{:07}{:08}{}", 8080, 1, 8080, "0".repeat(49)),
    )?;
    let mut file_sum = 0u64;
    for (assignment, chunk) in payments.chunks(100_000).enumerate() {
        line(
            &mut w,
            &mut records,
            format!(
                "NY090020001008566{:07}99991042764{}",
                assignment + 1,
                "0".repeat(45)
            ),
        )?;
        let mut assignment_sum = 0u64;
        for (i, p) in chunk.iter().enumerate() {
            let seq = i + 1;
            line(
                &mut w,
                &mut records,
                format!(
                    "NY091030{seq:07}{OCR_DATE}13201014640{:017}{:>25}000000",
                    p.amount_ore, p.kid
                ),
            )?;
            line(
                &mut w,
                &mut records,
                format!(
                    "NY091031{seq:07}0000000000{:09}0000000{OCR_DATE}99991005524{}",
                    p.id[1..].parse::<u64>().unwrap_or(0) % 1_000_000_000,
                    "0".repeat(22)
                ),
            )?;
            assignment_sum += p.amount_ore;
        }
        file_sum += assignment_sum;
        line(
            &mut w,
            &mut records,
            format!(
                "NY090088{:08}{:08}{:017}{OCR_DATE}{OCR_DATE}{OCR_DATE}{}",
                chunk.len(),
                chunk.len() * 2 + 2,
                assignment_sum,
                "0".repeat(21)
            ),
        )?;
    }
    let total_records = records + 1;
    line(
        &mut w,
        &mut records,
        format!(
            "NY000089{:08}{:08}{file_sum:017}{OCR_DATE}{}",
            payments.len(),
            total_records,
            "0".repeat(33)
        ),
    )?;
    w.flush()
}

/// The first invoice date of the `three-per-debtor` shape, the first payment date, and how many
/// days the payments are spread over (2026-08-03 … 2026-09-30).
const SHAPE_FIRST_ISSUE: &str = "2026-05-01";
const SHAPE_FIRST_PAYMENT: &str = "2026-08-03";
const SHAPE_PAYMENT_DAYS: u64 = 59;

/// How a payment's amount compares with the invoice whose KID it carries.
#[derive(Clone, Copy)]
enum Fit {
    Partial,
    Exact,
    Over,
}

/// One payment of the `three-per-debtor` shape before it has an id.
struct DatedPayment {
    date: chrono::NaiveDate,
    debtor: u64,
    seq: usize,
    kid: String,
    amount_ore: u64,
    fit: Fit,
}

/// Whole kroner, rounded down (at least one krone).
fn whole_kroner(ore: u64) -> u64 {
    (ore / 100).max(1) * 100
}

/// The `three-per-debtor` shape (see the module's header).
fn write_three_per_debtor(out: &Path, n: u64) -> std::io::Result<()> {
    use chrono::{Days, NaiveDate};
    let date = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a valid date");
    let first_issue = date(SHAPE_FIRST_ISSUE);
    let first_payment = date(SHAPE_FIRST_PAYMENT);
    std::fs::create_dir_all(out.join("nordlys"))?;
    std::fs::create_dir_all(out.join("bank"))?;
    let mut rng = Rng((0x51ed_270b_27f4_a8c3 ^ n) | 1);
    let invoices_path = out.join(format!("nordlys/invoices-three-per-debtor-{n}.csv"));
    let mut w = BufWriter::with_capacity(1 << 20, File::create(invoices_path)?);
    writeln!(w, "{INVOICE_HEADER}")?;
    let mut payments = Vec::with_capacity(n as usize);
    let mut plans = [0u64; 5];
    let mut number = 0u64;
    let mut debtor = 0u64;
    while number < n {
        debtor += 1;
        let count = (n - number).min(3) as usize;
        let business = rng.below(5) == 0;
        let offset = rng.below(14);
        // (KID, amount) of the debtor's invoices, oldest first.
        let mut own: Vec<(String, u64)> = Vec::with_capacity(count);
        for j in 0..count as u64 {
            number += 1;
            let issue = first_issue + Days::new(31 * j + offset);
            let due = issue + Days::new(14);
            let amount_ore = 10_000 + rng.below(2_000_000);
            let reference = kid(700_000_000_000 + number);
            write_dated_invoice_row(
                &mut w,
                number,
                debtor,
                business,
                amount_ore,
                &reference,
                &issue.to_string(),
                &due.to_string(),
            )?;
            own.push((reference, amount_ore));
        }
        // Which invoice (index) each payment pays, and how much.
        let plan: Vec<(usize, u64)> = if count < 3 {
            (0..count).map(|j| (j, own[j].1)).collect()
        } else {
            let (a, b, c) = (own[0].1, own[1].1, own[2].1);
            let roll = rng.below(100);
            let which = match roll {
                0..=29 => 0,
                30..=54 => 1,
                55..=74 => 2,
                75..=89 => 3,
                _ => 4,
            };
            plans[which] += 1;
            match which {
                0 => vec![(0, a), (1, b), (2, c)],
                1 => (0..3)
                    .map(|j| (j, whole_kroner(own[j].1 * (30 + rng.below(41)) / 100)))
                    .collect(),
                2 => {
                    let half = whole_kroner(c / 2);
                    vec![(0, a + b), (2, half), (2, c - half + 50_000)]
                }
                3 => vec![(0, whole_kroner(a / 3)), (1, b), (2, c + 100_000)],
                _ => vec![(0, a), (0, a), (2, c)],
            }
        };
        // Different days, in order.
        let mut days: Vec<u64> = Vec::with_capacity(plan.len());
        while days.len() < plan.len() {
            let day = rng.below(SHAPE_PAYMENT_DAYS);
            if !days.contains(&day) {
                days.push(day);
            }
        }
        days.sort_unstable();
        for (seq, ((invoice, amount_ore), day)) in plan.into_iter().zip(days).enumerate() {
            let billed = own[invoice].1;
            payments.push(DatedPayment {
                date: first_payment + Days::new(day),
                debtor,
                seq,
                kid: own[invoice].0.clone(),
                amount_ore,
                fit: match amount_ore.cmp(&billed) {
                    std::cmp::Ordering::Less => Fit::Partial,
                    std::cmp::Ordering::Equal => Fit::Exact,
                    std::cmp::Ordering::Greater => Fit::Over,
                },
            });
        }
    }
    w.flush()?;
    payments.sort_by_key(|p| (p.date, p.debtor, p.seq));

    let payments_path = out.join(format!("bank/payments-three-per-debtor-{n}.csv"));
    let mut w = BufWriter::with_capacity(1 << 20, File::create(payments_path)?);
    writeln!(
        w,
        "payment_id;kind;reference;amount;currency;payment_date;payer_name"
    )?;
    let mut fits = [0u64; 3];
    for (i, p) in payments.iter().enumerate() {
        fits[p.fit as usize] += 1;
        writeln!(
            w,
            "B{:09};bank;{};{};NOK;{};Kunde {}",
            i + 1,
            p.kid,
            kroner(p.amount_ore),
            p.date,
            p.debtor
        )?;
    }
    w.flush()?;
    eprintln!(
        "three-per-debtor: {n} invoices of {debtor} debtors and {} payments written under {}",
        payments.len(),
        out.display()
    );
    eprintln!(
        "  plans (debtors with three invoices): as billed {}, instalments {}, two at once then the rest {}, part/exact/more {}, paid twice {}",
        plans[0], plans[1], plans[2], plans[3], plans[4]
    );
    eprintln!(
        "  payments against the invoice whose KID they carry: partial {}, exact {}, over {}",
        fits[0], fits[1], fits[2]
    );
    Ok(())
}
