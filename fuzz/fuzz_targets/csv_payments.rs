//! CSV payments (the bank sender: every creditor, default dialect).
//!
//! Arbitrary bytes through the production path as sender `bank` of the shipped configuration
//! (detect → decode → CSV → validate, two passes), plus the streaming CSV reader compared with
//! reading the decoded text whole. Only text (what detection calls CSV) is kept: the other
//! formats have their own targets and `detect_any`.
#![no_main]

use kravflyt::ingest::detect::{Sniffed, sniff};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if sniff(data) != Sniffed::Text {
        return;
    }
    kravflyt_fuzz::analyse(data, "bank");
    kravflyt_fuzz::compare_csv_readers(data, "bank");
});
