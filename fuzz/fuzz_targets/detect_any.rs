//! Arbitrary bytes through detection and whichever parser it picks, as sender `bank` (which
//! reads OCR giro, BgMax, camt.053/054 and CSV), plus the completeness probe intake uses and
//! both text decoders.
#![no_main]

use kravflyt::ingest::analysis::HEAD_BYTES;
use kravflyt::config::TextEncoding;
use kravflyt::ingest::decode::{decode, decode_xml};
use kravflyt::ingest::detect::{Completeness, Sniffed, completeness, sniff};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Detection reads the first HEAD_BYTES, as `analysis::open` does.
    let head_len = data.len().min(HEAD_BYTES as usize);
    let sniffed = sniff(&data[..head_len]);
    if let Sniffed::UnknownXml {
        namespace: Some(ns),
        ..
    } = &sniffed
    {
        let _ = ns.len();
    }
    // Intake reads the first and last bytes; a short file is both.
    let probe = 4096.min(data.len());
    let head = &data[..probe];
    let tail = &data[data.len() - probe..];
    if let Completeness::Incomplete(why) = completeness(head, tail) {
        assert!(!why.is_empty());
    }

    // windows-1252 maps every byte: it never fails — unless a UTF-8 byte order mark says
    // the file is UTF-8 whatever the sender's setting (docs/formats.md), and it is not.
    if !data.starts_with(b"\xEF\xBB\xBF") {
        assert!(decode(data, TextEncoding::Windows1252).is_ok());
    }
    for result in [decode(data, TextEncoding::Utf8), decode_xml(data)] {
        if let Err(e) = result {
            assert!(e.line >= 1, "lines are 1-based");
        }
    }

    let analysed = kravflyt_fuzz::analyse(data, "bank");
    match sniffed {
        Sniffed::Empty | Sniffed::Binary | Sniffed::XmlWithDtd | Sniffed::UnknownXml { .. } => {
            assert!(
                analysed.format.is_none(),
                "{sniffed:?} was read as {:?}",
                analysed.format
            );
            assert!(!analysed.unreadable.is_empty());
        }
        Sniffed::Format(_) | Sniffed::Text => {}
    }
});
