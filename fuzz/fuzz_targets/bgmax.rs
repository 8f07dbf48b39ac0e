//! Bankgirot BgMax (fixed-width, 80 positions, windows-1252).
//!
//! The parser directly on the bytes, then the production path as sender `bank`
//! (detect → parse → validate, two passes).
#![no_main]

use kravflyt::domain::FileKind;
use kravflyt::ingest::parse::bgmax::parse_bgmax;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kravflyt_fuzz::check_parsed(&parse_bgmax(data), Some(FileKind::Payments), '.');
    kravflyt_fuzz::analyse(data, "bank");
});
