//! ISO 20022 camt.053 (statements) and camt.054 (debit/credit notifications).
//!
//! The parser directly on the decoded text, then the production path as sender `bank`
//! (detect → decode → parse → validate, two passes).
#![no_main]

use kravflyt::ingest::decode::decode_xml;
use kravflyt::domain::FileKind;
use kravflyt::ingest::parse::camt::parse_camt;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = decode_xml(data) {
        kravflyt_fuzz::check_parsed(&parse_camt(&text), Some(FileKind::Payments), '.');
    }
    kravflyt_fuzz::analyse(data, "bank");
});
