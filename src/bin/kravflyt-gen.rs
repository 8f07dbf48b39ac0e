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
//! Usage: `cargo run --release --bin kravflyt-gen -- N OUT_DIR [--extra M]` (then copy
//! `OUT_DIR/*` into `var/inbox/`). The same N (and M) always gives the same bytes.

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
    let extra = match args.get(3..).unwrap_or_default() {
        [] => Some(None),
        [flag, m] if flag == "--extra" => count(m).filter(|&m| m > 0).map(Some),
        _ => None,
    };
    let (Some(n), Some(out), Some(extra)) =
        (args.get(1).and_then(|n| count(n)), args.get(2), extra)
    else {
        eprintln!(
            "usage: kravflyt-gen N OUT_DIR [--extra M]   (e.g. kravflyt-gen 1000000 /tmp/bench --extra 1000)"
        );
        std::process::exit(2);
    };
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
    writeln!(
        w,
        "{CREDITOR};{number};{customer};{};Kunde {customer};Gate {} {};{:04};Tromsø;{ISSUE_DATE};{DUE_DATE};NOK;{};{reference}",
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
