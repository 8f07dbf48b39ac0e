//! PEPPOL BIS Billing 3 invoices and credit notes (UBL 2.1).
//!
//! The parser directly on the decoded text (whatever the root element), then the production
//! path as sender `kvarnby` (detect → decode → parse → validate, two passes).
#![no_main]

use kravflyt::ingest::decode::decode_xml;
use kravflyt::domain::FileKind;
use kravflyt::ingest::parse::peppol::parse_peppol;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = decode_xml(data) {
        kravflyt_fuzz::check_parsed(&parse_peppol(&text), Some(FileKind::Invoices), '.');
    }
    kravflyt_fuzz::analyse(data, "kvarnby");
});
