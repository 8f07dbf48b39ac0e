//! kravflyt XML (`urn:kravflyt:xml:1`): invoices, payments and instructions.
//!
//! The parser directly on the decoded text, then the production path as sender `revontuli`
//! (detect → decode → parse → validate, two passes).
#![no_main]

use kravflyt::ingest::decode::decode_xml;
use kravflyt::ingest::parse::kravflyt_xml::parse_kravflyt_xml;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = decode_xml(data) {
        kravflyt_fuzz::check_parsed(&parse_kravflyt_xml(&text), None, '.');
    }
    kravflyt_fuzz::analyse(data, "revontuli");
});
