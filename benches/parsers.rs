//! criterion micro-benchmarks of the parsers and the reference checks (issue 8): records or
//! references per second, on data built in memory. `cargo bench --bench parsers`.

use std::hint::black_box;
use std::io::Cursor;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kravflyt::config::CsvDialect;
use kravflyt::ingest::parse::csv::parse_csv;
use kravflyt::ingest::parse::ocr_giro::{ocr_giro_transactions, verify_ocr_giro};
use kravflyt::reference::{Scheme, generate, validate};

/// A valid Nets OCR giro transmission of `n` payments (the layout of kravflyt-gen).
fn ocr_giro(n: usize) -> Vec<u8> {
    let date = "011026";
    let mut out = String::with_capacity(n * 162 + 400);
    let mut records = 1;
    out.push_str(&format!(
        "NY000010{:08}{:07}{:08}{}\n",
        8080,
        1,
        8080,
        "0".repeat(49)
    ));
    out.push_str(&format!(
        "NY090020001008566{:07}99991042764{}\n",
        1,
        "0".repeat(45)
    ));
    records += 1;
    let mut sum = 0u64;
    for i in 0..n {
        let seq = i + 1;
        let amount = 10_000 + (i as u64 * 7919) % 2_000_000;
        let kid = generate(Scheme::KidMod10, &format!("{:012}", i + 1)).unwrap();
        out.push_str(&format!(
            "NY091030{seq:07}{date}13201014640{amount:017}{kid:>25}000000\n"
        ));
        out.push_str(&format!(
            "NY091031{seq:07}0000000000{seq:09}0000000{date}99991005524{}\n",
            "0".repeat(22)
        ));
        records += 2;
        sum += amount;
    }
    out.push_str(&format!(
        "NY090088{n:08}{:08}{sum:017}{date}{date}{date}{}\n",
        n * 2 + 2,
        "0".repeat(21)
    ));
    records += 1;
    out.push_str(&format!(
        "NY000089{n:08}{:08}{sum:017}{date}{}\n",
        records + 1,
        "0".repeat(33)
    ));
    out.into_bytes()
}

fn invoices_csv(n: usize) -> String {
    let mut text = String::from(
        "creditor_id;invoice_no;customer_no;debtor_type;debtor_name;address;postcode;city;issue_date;due_date;currency;amount;reference\n",
    );
    for i in 0..n {
        let kid = generate(Scheme::KidMod10, &format!("{:012}", i + 1)).unwrap();
        text.push_str(&format!(
            "923609016;{i};{};person;Kunde {i};Gate 1;9008;Tromsø;2026-09-01;2026-09-15;NOK;{},{:02};{kid}\n",
            i / 3,
            100 + i % 9000,
            i % 100
        ));
    }
    text
}

fn parsers(c: &mut Criterion) {
    const N: usize = 100_000;
    let ocr = ocr_giro(N);
    let mut group = c.benchmark_group("ocr_giro");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(10);
    group.bench_function("transactions", |b| {
        b.iter(|| {
            let mut count = 0usize;
            for tx in ocr_giro_transactions(Cursor::new(black_box(&ocr[..]))) {
                count += usize::from(tx.is_ok());
            }
            assert_eq!(count, N);
        })
    });
    group.bench_function("verify_control_totals", |b| {
        b.iter(|| verify_ocr_giro(Cursor::new(black_box(&ocr[..]))).unwrap())
    });
    group.finish();

    const ROWS: usize = 20_000;
    let csv = invoices_csv(ROWS);
    let dialect = CsvDialect::default();
    let mut group = c.benchmark_group("csv");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.sample_size(10);
    group.bench_function("invoices", |b| {
        b.iter(|| parse_csv(black_box(&csv), &dialect).map(|f| f.records.len()))
    });
    group.finish();
}

fn references(c: &mut Criterion) {
    let cases: Vec<(Scheme, String)> = (0..1000u64)
        .flat_map(|i| {
            [
                (
                    Scheme::KidMod10,
                    generate(Scheme::KidMod10, &format!("{:012}", i)).unwrap(),
                ),
                (
                    Scheme::KidMod11,
                    generate(Scheme::KidMod11, &format!("{:012}", i)).unwrap(),
                ),
                (
                    Scheme::SeOcr,
                    generate(Scheme::SeOcr, &format!("{:010}", i)).unwrap(),
                ),
                (
                    Scheme::FiRef,
                    generate(Scheme::FiRef, &format!("{:010}", i + 1)).unwrap(),
                ),
                (
                    Scheme::Rf,
                    generate(Scheme::Rf, &format!("INV{i:08}")).unwrap(),
                ),
            ]
        })
        .collect();
    let mut group = c.benchmark_group("references");
    group.throughput(Throughput::Elements(cases.len() as u64));
    group.bench_function("validate_every_scheme", |b| {
        b.iter(|| {
            for (scheme, reference) in &cases {
                validate(*scheme, black_box(reference)).unwrap();
            }
        })
    });
    group.finish();
}

criterion_group!(benches, parsers, references);
criterion_main!(benches);
