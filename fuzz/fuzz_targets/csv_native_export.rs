//! An accounting system's own invoice export (the fjellstua dialect: windows-1252, native column names mapped to canonical ones, native values mapped, fixed columns filled in).
//!
//! Arbitrary bytes through the production path as sender `fjellstua` of the shipped configuration
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
    kravflyt_fuzz::analyse(data, "fjellstua");
    kravflyt_fuzz::compare_csv_readers(data, "fjellstua");
});
