//! Nets OCR giro (fixed-width, 80 positions), read as a stream.
//!
//! The three ways the library reads the format must agree: `parse_ocr_giro` (whole),
//! `verify_ocr_giro` (the pre-pass the pipeline relies on: once it passes, reading again
//! cannot fail) and `ocr_giro_transactions` through a small `BufReader` (chunked reading
//! matches reading the slice). Then the production path as sender `bank`.
#![no_main]

use std::io::BufReader;

use kravflyt::domain::FileKind;
use kravflyt::ingest::parse::ocr_giro::{ocr_giro_transactions, parse_ocr_giro, verify_ocr_giro};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let whole = parse_ocr_giro(data);
    kravflyt_fuzz::check_parsed(&whole, Some(FileKind::Payments), '.');

    let verified = verify_ocr_giro(data);
    match (&whole, &verified) {
        (Ok(parsed), Ok(count)) => assert_eq!(
            parsed.records.len() as u64,
            *count,
            "verify_ocr_giro counted other transactions than parse_ocr_giro read"
        ),
        (Err(a), Err(b)) => assert_eq!(a, b, "verify and parse fail differently"),
        _ => panic!(
            "verify_ocr_giro and parse_ocr_giro disagree on whether the file can be read: {:?} vs {:?}",
            whole.as_ref().map(|p| p.records.len()),
            verified
        ),
    }

    // Chunked reading matches reading the slice (capacity 1..=97, from the length).
    let capacity = data.len() % 97 + 1;
    let chunked: Result<Vec<_>, _> =
        ocr_giro_transactions(BufReader::with_capacity(capacity, data)).collect();
    let sliced: Result<Vec<_>, _> = ocr_giro_transactions(data).collect();
    assert_eq!(
        chunked, sliced,
        "reading in chunks of {capacity} bytes differs"
    );

    kravflyt_fuzz::analyse(data, "bank");
});
