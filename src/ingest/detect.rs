//! Format detection from content, never from the file name (SPEC §5), and each format's own
//! completeness marker, which intake uses to tell a finished upload from one cut off half-way.

use crate::domain::InboundFormat;

/// The UTF-8 byte order mark.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// A file that starts with a UTF-16 byte order mark: `FF FE` (little-endian, what Windows
/// and Excel's "Unicode text" write) or `FE FF` (big-endian). kravflyt does not read UTF-16;
/// such a file is an encoding problem (`bad_encoding`), not binary junk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Utf16 {
    Le,
    Be,
}

impl Utf16 {
    /// The UTF-16 its byte order mark says `bytes` is in, if it starts with one.
    pub fn of(bytes: &[u8]) -> Option<Utf16> {
        match bytes.get(..2) {
            Some(b"\xFF\xFE") => Some(Utf16::Le),
            Some(b"\xFE\xFF") => Some(Utf16::Be),
            _ => None,
        }
    }

    /// `UTF-16 LE (byte order mark FF FE)`, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Utf16::Le => "UTF-16 LE (byte order mark FF FE)",
            Utf16::Be => "UTF-16 BE (byte order mark FE FF)",
        }
    }

    fn encoding(self) -> &'static encoding_rs::Encoding {
        match self {
            Utf16::Le => encoding_rs::UTF_16LE,
            Utf16::Be => encoding_rs::UTF_16BE,
        }
    }
}

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
    if let Some(utf16) = Utf16::of(bytes) {
        return sniff_utf16(utf16, bytes);
    }
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
        return sniff_xml(
            start,
            bytes.len() as u64 >= crate::ingest::analysis::HEAD_BYTES,
        );
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

/// A UTF-16 file is looked at through its decoded text, so the format kravflyt would read it
/// as is known: XML is detected as XML (its reader then refuses the encoding, as for any XML
/// that is not UTF-8 or a declared windows-1252), everything else is text, whose CSV reader
/// refuses it with `bad_encoding` naming UTF-16. Never binary: NUL bytes are half of UTF-16.
fn sniff_utf16(utf16: Utf16, bytes: &[u8]) -> Sniffed {
    // The head may end inside a character; the decoder then ends with U+FFFD, which is fine
    // for detection.
    let (text, _) = utf16
        .encoding()
        .decode_without_bom_handling(bytes.get(2..).unwrap_or_default());
    match sniff(text.as_bytes()) {
        xml @ (Sniffed::Format(
            InboundFormat::Peppol
            | InboundFormat::KravflytXml
            | InboundFormat::Camt053
            | InboundFormat::Camt054,
        )
        | Sniffed::UnknownXml { .. }
        | Sniffed::XmlWithDtd) => xml,
        other @ (Sniffed::Empty | Sniffed::Binary) => other,
        Sniffed::Format(_) | Sniffed::Text => Sniffed::Text,
    }
}

/// The root element as far as the first bytes of a file show it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Root {
    qname: String,
    /// The namespace bound to the root's prefix (the default namespace for an unprefixed
    /// root), declared on the root element itself.
    namespace: Option<String>,
    /// The start tag goes on past the bytes looked at: attributes after the last one read,
    /// a namespace declaration among them, are not known.
    cut: bool,
}

/// The root element, reading only the prolog and the root's start tag. `Err` for a DTD,
/// `Ok(None)` when no root element starts in `start`.
fn xml_root(start: &[u8]) -> Result<Option<Root>, ()> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(start);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::DocType(_)) => return Err(()),
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                let qname = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                if qname.is_empty() {
                    // `<>`: no element name at all.
                    return Ok(None);
                }
                let wanted = namespace_attribute(&qname);
                let namespace = e.attributes().with_checks(false).flatten().find_map(|a| {
                    (a.key.as_ref() == wanted.as_bytes())
                        .then(|| String::from_utf8_lossy(&a.value).into_owned())
                });
                return Ok(Some(Root {
                    qname,
                    namespace,
                    cut: false,
                }));
            }
            // quick-xml needs the whole start tag; one longer than the bytes given (megabytes
            // of attributes) or a broken one is read by hand as far as it goes.
            Ok(Event::Eof) | Err(_) => return Ok(start_tag_by_hand(start)),
            Ok(_) => buf.clear(),
        }
    }
}

/// `xmlns:p` for a root `p:Name`, `xmlns` for an unprefixed one.
fn namespace_attribute(qname: &str) -> String {
    match qname.split_once(':') {
        Some((prefix, _)) => format!("xmlns:{prefix}"),
        None => "xmlns".to_owned(),
    }
}

/// The root's start tag read by hand: its name and the attributes complete within `start`,
/// after a prolog of the XML declaration, processing instructions, comments and white space.
/// `None` when no element name starts there.
fn start_tag_by_hand(start: &[u8]) -> Option<Root> {
    fn after<'a>(bytes: &'a [u8], marker: &[u8]) -> Option<&'a [u8]> {
        let at = bytes.windows(marker.len()).position(|w| w == marker)?;
        bytes.get(at + marker.len()..)
    }
    let mut rest = start;
    loop {
        rest = rest.trim_ascii_start();
        if let Some(pi) = rest.strip_prefix(b"<?") {
            rest = after(pi, b"?>")?;
        } else if let Some(comment) = rest.strip_prefix(b"<!--") {
            rest = after(comment, b"-->")?;
        } else {
            break;
        }
    }
    let tag = rest.strip_prefix(b"<")?;
    if !tag
        .first()
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_' || !b.is_ascii())
    {
        return None;
    }
    let ends_name = |b: &u8| b.is_ascii_whitespace() || matches!(b, b'/' | b'>' | b'<' | b'=');
    // A name cut off by the end of the bytes is not known.
    let name_len = tag.iter().position(ends_name)?;
    let qname = String::from_utf8_lossy(tag.get(..name_len)?).into_owned();
    let wanted = namespace_attribute(&qname);
    let mut namespace = None;
    let mut rest = tag.get(name_len..)?;
    let cut = loop {
        rest = rest.trim_ascii_start();
        let Some(first) = rest.first() else {
            break true;
        };
        if matches!(first, b'>' | b'/') {
            break false;
        }
        let Some(name_end) = rest.iter().position(ends_name) else {
            break true;
        };
        let name = rest.get(..name_end).unwrap_or_default();
        let Some(value) = rest
            .get(name_end..)
            .unwrap_or_default()
            .trim_ascii_start()
            .strip_prefix(b"=")
        else {
            // Broken (`<a b>`), unless the bytes end right after the name.
            break rest
                .get(name_end..)
                .unwrap_or_default()
                .trim_ascii()
                .is_empty();
        };
        let value = value.trim_ascii_start();
        let Some((&quote, value)) = value.split_first() else {
            break true;
        };
        if name.is_empty() || !matches!(quote, b'"' | b'\'') {
            break false;
        }
        let Some(end) = value.iter().position(|b| *b == quote) else {
            break true;
        };
        if name == wanted.as_bytes() {
            namespace = Some(String::from_utf8_lossy(value.get(..end)?).into_owned());
        }
        rest = value.get(end + 1..)?;
    };
    Some(Root {
        qname,
        namespace,
        cut,
    })
}

fn sniff_xml(start: &[u8], window_full: bool) -> Sniffed {
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
    let window = format!(
        "the first {} KiB",
        crate::ingest::analysis::HEAD_BYTES / 1024
    );
    let root = match xml_root(start) {
        Err(()) => return Sniffed::XmlWithDtd,
        Ok(Some(root)) => root,
        // Never an empty name in the receipt: say that there was none to be found.
        Ok(None) => {
            return Sniffed::UnknownXml {
                root: if window_full {
                    format!("(none in {window})")
                } else {
                    "(none)".to_owned()
                },
                namespace: None,
            };
        }
    };
    let Root {
        qname,
        namespace,
        cut,
    } = root;
    // A start tag longer than the detection window that declares no namespace within it: its
    // namespace is unknown, not absent, and the receipt must say why.
    if cut && namespace.is_none() {
        return Sniffed::UnknownXml {
            root: qname,
            namespace: Some(if window_full {
                format!(
                    "unknown: the root element's start tag is longer than {window}, which is all kravflyt reads to detect the format, and declares no namespace within them"
                )
            } else {
                "unknown: the file ends inside the root element's start tag".to_owned()
            }),
        };
    }
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
    // A fixed-width bank file is complete once its end record is there: what follows it
    // (more records, NUL padding) is the reader's to refuse, not a reason to keep waiting.
    let has_end_record = |marker: &[u8]| {
        let trimmed = tail
            .iter()
            .rposition(|b| !matches!(b, 0 | 0x1a) && !b.is_ascii_whitespace())
            .map_or(&tail[..0], |last| &tail[..=last]);
        last_line().starts_with(marker)
            || trimmed
                .split(|b| matches!(b, b'\n' | b'\r'))
                .any(|line| line.starts_with(marker))
    };
    match sniff(head) {
        Sniffed::Format(InboundFormat::OcrGiro) => {
            if has_end_record(b"NY000089") {
                Completeness::Complete
            } else {
                Completeness::Incomplete(
                    "the OCR giro transmission end record (NY000089) is missing",
                )
            }
        }
        Sniffed::Format(InboundFormat::BgMax) => {
            if has_end_record(b"70") {
                Completeness::Complete
            } else {
                Completeness::Incomplete("the BgMax end record (70) is missing")
            }
        }
        // UTF-16 is refused whatever it holds: nothing to wait for.
        _ if Utf16::of(head).is_some() => Completeness::NoMarker,
        Sniffed::Format(_) | Sniffed::UnknownXml { .. } => match xml_root(content_start(head)) {
            Ok(Some(Root { qname, .. })) => {
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
        let path = format!("{}/tests/data/public/{name}", env!("CARGO_MANIFEST_DIR"));
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

    fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
        let mut bytes = if big_endian {
            b"\xFE\xFF".to_vec()
        } else {
            b"\xFF\xFE".to_vec()
        };
        for unit in text.encode_utf16() {
            bytes.extend(if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        bytes
    }

    #[test]
    fn utf16_is_an_encoding_not_binary() {
        assert_eq!(Utf16::of(b"\xFF\xFEa\0"), Some(Utf16::Le));
        assert_eq!(Utf16::of(b"\xFE\xFF\0a"), Some(Utf16::Be));
        assert_eq!(Utf16::of(b"\xEF\xBB\xBFa"), None);
        for big_endian in [false, true] {
            let csv = utf16("creditor_id;invoice_no\n923609016;1\n", big_endian);
            assert_eq!(sniff(&csv), Sniffed::Text);
            assert_eq!(completeness(&csv, &csv), Completeness::NoMarker);
            let ocr = utf16(&format!("NY000010{}\n", "0".repeat(72)), big_endian);
            assert_eq!(sniff(&ocr), Sniffed::Text);
            let xml = utf16(
                r#"<?xml version="1.0" encoding="UTF-16"?><Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>"#,
                big_endian,
            );
            assert_eq!(sniff(&xml), Sniffed::Format(InboundFormat::Peppol));
            assert_eq!(completeness(&xml, &xml), Completeness::NoMarker);
            assert_eq!(sniff(&utf16("  \n", big_endian)), Sniffed::Empty);
        }
    }

    #[test]
    fn a_root_start_tag_longer_than_the_window_is_read_as_far_as_it_goes() {
        let window = crate::ingest::analysis::HEAD_BYTES as usize;
        let cut = |text: String| text.into_bytes()[..window].to_vec();
        // The namespace comes before the window ends: detected, and read whole later.
        let huge = cut(format!(
            "<?xml version=\"1.0\"?>\n<!-- c -->\n<k:invoices xmlns:k=\"urn:kravflyt:xml:1\" pad=\"{}\">",
            "A".repeat(window)
        ));
        assert_eq!(sniff(&huge), Sniffed::Format(InboundFormat::KravflytXml));
        let many: String = (0..20_000).map(|i| format!(" a{i}='x'")).collect();
        let many = cut(format!(
            "<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\"{many}>"
        ));
        assert_eq!(sniff(&many), Sniffed::Format(InboundFormat::Peppol));
        // A namespace declared past the window is not known, and the receipt says why.
        let late = cut(format!(
            "<invoices pad=\"{}\" xmlns=\"urn:kravflyt:xml:1\">",
            "A".repeat(window)
        ));
        match sniff(&late) {
            Sniffed::UnknownXml {
                root,
                namespace: Some(namespace),
            } => {
                assert_eq!(root, "invoices");
                assert!(
                    namespace.contains("longer than the first 64 KiB"),
                    "{namespace}"
                );
            }
            other => panic!("{other:?}"),
        }
        // Completeness needs the root's name only.
        let tail = b"</invoice>\n</invoices>\n";
        assert_eq!(completeness(&late[..8192], tail), Completeness::Complete);
        assert!(matches!(
            completeness(&late[..8192], b"<invoice>"),
            Completeness::Incomplete(_)
        ));
        // A file that ends inside the root's start tag: its reader says where.
        let short = br#"<invoices xmlns="urn:kravflyt:xml:1" a="1"#;
        assert_eq!(sniff(short), Sniffed::Format(InboundFormat::KravflytXml));
        assert!(matches!(
            completeness(short, short),
            Completeness::Incomplete(_)
        ));
    }

    #[test]
    fn xml_without_a_root_never_names_an_empty_one() {
        for text in [
            &b"<?xml version=\"1.0\"?>\n<!-- nothing -->\n"[..],
            b"<>",
            b"< a/>",
        ] {
            match sniff(text) {
                Sniffed::UnknownXml { root, .. } => assert_eq!(root, "(none)"),
                other => panic!("{other:?}"),
            }
        }
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
