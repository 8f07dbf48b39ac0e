//! Format detection from content, never from the file name (SPEC §5), and each format's own
//! completeness marker, which intake uses to tell a finished upload from one cut off half-way.

use crate::domain::InboundFormat;

/// The UTF-8 byte order mark.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

const UBL_INVOICE_NS: &str = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2";
const UBL_CREDIT_NOTE_NS: &str = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2";
/// The namespace of kravflyt XML (the XSDs in `schemas/` define it).
pub const KRAVFLYT_NS: &str = "urn:kravflyt:xml:1";

/// What the first bytes of a file say it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sniffed {
    /// A fixed-width or XML format recognised by its own markers.
    Format(InboundFormat),
    /// Text that is not XML or a bank format: CSV if its header says so (the parser decides,
    /// since that needs the sender's dialect and column mapping).
    Text,
    /// XML we do not read, described for the receipt.
    UnknownXml {
        root: String,
        namespace: Option<String>,
    },
    /// XML that declares a DTD or entities: rejected outright (entity expansion, external
    /// entities).
    XmlWithDtd,
    /// Bytes that are not text at all.
    Binary,
    Empty,
}

/// Strips a UTF-8 byte order mark and leading ASCII whitespace.
fn content_start(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    &bytes[start..]
}

/// Decides what a file is from its content.
pub fn sniff(bytes: &[u8]) -> Sniffed {
    let start = content_start(bytes);
    if start.is_empty() {
        return Sniffed::Empty;
    }
    if start.starts_with(b"NY000010") {
        return Sniffed::Format(InboundFormat::OcrGiro);
    }
    if start.starts_with(b"01BGMAX") {
        return Sniffed::Format(InboundFormat::BgMax);
    }
    if start.starts_with(b"<") {
        return sniff_xml(start);
    }
    // NUL bytes or many control characters: not a text export of any accounting system.
    let sample = &start[..start.len().min(4096)];
    let controls = sample
        .iter()
        .filter(|b| matches!(**b, 0..=8 | 14..=31 | 127))
        .count();
    if sample.contains(&0) || controls * 20 > sample.len() {
        return Sniffed::Binary;
    }
    Sniffed::Text
}

/// The root element's qualified name and namespace, reading only the prolog.
fn xml_root(start: &[u8]) -> Result<Option<(String, Option<String>)>, ()> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(start);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::DocType(_)) => return Err(()),
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                let qname = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                let prefix = qname.split_once(':').map(|(p, _)| p.to_owned());
                let wanted = match &prefix {
                    Some(p) => format!("xmlns:{p}"),
                    None => "xmlns".to_owned(),
                };
                let namespace = e.attributes().flatten().find_map(|a| {
                    (a.key.as_ref() == wanted.as_bytes())
                        .then(|| String::from_utf8_lossy(&a.value).into_owned())
                });
                return Ok(Some((qname, namespace)));
            }
            Ok(Event::Eof) | Err(_) => return Ok(None),
            Ok(_) => buf.clear(),
        }
    }
}

fn sniff_xml(start: &[u8]) -> Sniffed {
    // A DTD anywhere in the prolog is refused, even one quick-xml would skip.
    let prolog_end = start
        .windows(2)
        .position(|w| w[0] == b'<' && w[1].is_ascii_alphabetic());
    let prolog = &start[..prolog_end.unwrap_or(start.len()).min(start.len())];
    if prolog
        .windows(9)
        .any(|w| w.eq_ignore_ascii_case(b"<!DOCTYPE"))
        || prolog
            .windows(8)
            .any(|w| w.eq_ignore_ascii_case(b"<!ENTITY"))
    {
        return Sniffed::XmlWithDtd;
    }
    let (qname, namespace) = match xml_root(start) {
        Err(()) => return Sniffed::XmlWithDtd,
        Ok(Some(root)) => root,
        Ok(None) => {
            return Sniffed::UnknownXml {
                root: String::new(),
                namespace: None,
            };
        }
    };
    let local = qname.rsplit(':').next().unwrap_or(&qname);
    let ns = namespace.as_deref().unwrap_or("");
    let format = match (local, ns) {
        ("Invoice", UBL_INVOICE_NS) | ("CreditNote", UBL_CREDIT_NOTE_NS) => {
            Some(InboundFormat::Peppol)
        }
        ("Document", ns) if ns.starts_with("urn:iso:std:iso:20022:tech:xsd:camt.053.") => {
            Some(InboundFormat::Camt053)
        }
        ("Document", ns) if ns.starts_with("urn:iso:std:iso:20022:tech:xsd:camt.054.") => {
            Some(InboundFormat::Camt054)
        }
        (_, KRAVFLYT_NS) => Some(InboundFormat::KravflytXml),
        _ => None,
    };
    match format {
        Some(f) => Sniffed::Format(f),
        None => Sniffed::UnknownXml {
            root: qname,
            namespace,
        },
    }
}

/// Whether a file is complete by its format's own structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completeness {
    Complete,
    /// The format has an end marker and it is missing; the text says which.
    Incomplete(&'static str),
    /// The format has no marker (CSV): only the quiet period tells.
    NoMarker,
}

/// Checks the end marker of a file given its first and last bytes (intake reads only those,
/// so a large file costs two small reads).
pub fn completeness(head: &[u8], tail: &[u8]) -> Completeness {
    // The last record: after the last line break (LF or CR), or, in a file written without
    // line breaks, its last 80 characters. Trailing blanks and a DOS end-of-file mark (Ctrl-Z)
    // are not part of it.
    let last_line = || {
        let trimmed = tail.trim_ascii_end();
        let trimmed = trimmed
            .strip_suffix(b"\x1a")
            .unwrap_or(trimmed)
            .trim_ascii_end();
        let start = trimmed
            .iter()
            .rposition(|b| matches!(b, b'\n' | b'\r'))
            .map_or(0, |p| p + 1);
        let line = &trimmed[start..];
        if line.len() > 80 && start == 0 {
            &line[line.len() - 80..]
        } else {
            line
        }
    };
    match sniff(head) {
        Sniffed::Format(InboundFormat::OcrGiro) => {
            if last_line().starts_with(b"NY000089") {
                Completeness::Complete
            } else {
                Completeness::Incomplete(
                    "the OCR giro transmission end record (NY000089) is missing",
                )
            }
        }
        Sniffed::Format(InboundFormat::BgMax) => {
            if last_line().starts_with(b"70") {
                Completeness::Complete
            } else {
                Completeness::Incomplete("the BgMax end record (70) is missing")
            }
        }
        Sniffed::Format(_) | Sniffed::UnknownXml { .. } => match xml_root(content_start(head)) {
            Ok(Some((qname, _))) => {
                let end = tail.trim_ascii_end();
                let opening_of_end_tag = format!("</{qname}");
                let closes = end.strip_suffix(b">").is_some_and(|rest| {
                    rest.trim_ascii_end()
                        .ends_with(opening_of_end_tag.as_bytes())
                });
                if closes {
                    Completeness::Complete
                } else {
                    Completeness::Incomplete("the XML root element is not closed")
                }
            }
            _ => Completeness::NoMarker,
        },
        Sniffed::Text | Sniffed::XmlWithDtd | Sniffed::Binary | Sniffed::Empty => {
            Completeness::NoMarker
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/../shared/testdata/public/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(path).unwrap()
    }

    #[test]
    fn public_bank_files_are_recognised_by_their_first_record() {
        assert_eq!(
            sniff(&public("ocr-giro-nets-manual-sample.txt")),
            Sniffed::Format(InboundFormat::OcrGiro)
        );
        assert_eq!(
            sniff(&public("bgmax-bankgirot-example.txt")),
            Sniffed::Format(InboundFormat::BgMax)
        );
    }

    #[test]
    fn public_peppol_invoices_and_credit_notes_are_recognised_by_root_and_namespace() {
        for name in [
            "peppol-bis3-base-example.xml",
            "peppol-bis3-norwegian-example-1.xml",
            "peppol-bis3-base-creditnote-correction.xml",
            "peppol-bis3-Allowance-example.xml",
            "peppol-bis3-vat-category-E.xml",
        ] {
            assert_eq!(
                sniff(&public(name)),
                Sniffed::Format(InboundFormat::Peppol),
                "{name}"
            );
        }
    }

    #[test]
    fn public_files_are_complete_and_their_truncations_are_not() {
        for name in [
            "ocr-giro-nets-manual-sample.txt",
            "bgmax-bankgirot-example.txt",
            "peppol-bis3-base-example.xml",
        ] {
            let bytes = public(name);
            assert_eq!(
                completeness(&bytes, &bytes),
                Completeness::Complete,
                "{name}"
            );
            let cut = &bytes[..bytes.len() * 2 / 3];
            assert!(
                matches!(completeness(cut, cut), Completeness::Incomplete(_)),
                "{name} cut off"
            );
        }
    }

    #[test]
    fn end_records_are_found_whatever_the_line_breaks() {
        let bytes = public("ocr-giro-nets-manual-sample.txt");
        let text = String::from_utf8(bytes).unwrap();
        let records: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
        for joined in [
            records.join("\r"),
            records.concat(),
            format!("{}\r\n\x1a", records.join("\r\n")),
        ] {
            let b = joined.as_bytes();
            assert_eq!(completeness(b, b), Completeness::Complete);
        }
    }

    #[test]
    fn camt_and_kravflyt_xml_by_namespace() {
        let camt = br#"<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><x/></Document>"#;
        assert_eq!(sniff(camt), Sniffed::Format(InboundFormat::Camt054));
        let own = br#"<k:invoices xmlns:k="urn:kravflyt:xml:1"></k:invoices>"#;
        assert_eq!(sniff(own), Sniffed::Format(InboundFormat::KravflytXml));
        assert_eq!(completeness(own, own), Completeness::Complete);
    }

    #[test]
    fn dtds_are_refused_and_strangers_described() {
        let dtd = b"<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY a \"b\">]>\n<x>&a;</x>";
        assert_eq!(sniff(dtd), Sniffed::XmlWithDtd);
        let other = br#"<Order xmlns="urn:example:order"/>"#;
        assert_eq!(
            sniff(other),
            Sniffed::UnknownXml {
                root: "Order".into(),
                namespace: Some("urn:example:order".into())
            }
        );
    }

    #[test]
    fn text_binary_and_empty() {
        assert_eq!(
            sniff(b"\xEF\xBB\xBFcreditor_id;invoice_no\n"),
            Sniffed::Text
        );
        assert_eq!(sniff(b"Kundenr;Bel\xF8p\r\n"), Sniffed::Text);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Sniffed::Binary);
        assert_eq!(sniff(b"  \n\r\n"), Sniffed::Empty);
        assert_eq!(
            completeness(b"a;b\n1;2", b"a;b\n1;2"),
            Completeness::NoMarker
        );
    }
}
