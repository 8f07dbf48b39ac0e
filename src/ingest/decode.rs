//! Bytes → text in the sender's encoding: UTF-8 (with or without BOM) or windows-1252.

use crate::config::TextEncoding;
use crate::diagnostic::{Diagnostic, Position, code};
use crate::ingest::detect::{UTF8_BOM, Utf16};

/// Why the bytes are not text in the expected encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "byte 0x{byte:02X} on line {line} is not valid UTF-8; the sender is set up for utf-8, so the export is probably windows-1252 or ISO-8859-1: change the export or the sender's `encoding`"
)]
pub struct NotUtf8 {
    pub line: u64,
    pub byte: u8,
    /// The bytes start with a UTF-16 byte order mark: the whole file is UTF-16.
    pub utf16: Option<Utf16>,
}

impl NotUtf8 {
    /// The receipt's `bad_encoding` for an XML document that could not be decoded.
    pub fn xml_diagnostic(&self) -> Diagnostic {
        match self.utf16 {
            Some(utf16) => Diagnostic::file(
                code::BAD_ENCODING,
                format!(
                    "the document is {}, which kravflyt does not read: XML must be UTF-8, or ISO-8859-1 / windows-1252 named in its XML declaration; save or export it as UTF-8",
                    utf16.describe()
                ),
            ),
            None => Diagnostic::at(
                Position::Line(self.line),
                code::BAD_ENCODING,
                format!(
                    "byte 0x{:02X} on line {} is not valid UTF-8, and the XML declaration names no other encoding kravflyt reads",
                    self.byte, self.line
                ),
            ),
        }
    }
}

/// Decodes a whole file. A UTF-8 BOM always means UTF-8, whatever the sender's setting: an
/// export that says what it is is believed.
pub fn decode(bytes: &[u8], encoding: TextEncoding) -> Result<String, NotUtf8> {
    if let Some(rest) = bytes.strip_prefix(UTF8_BOM) {
        return utf8(rest);
    }
    match encoding {
        TextEncoding::Utf8 => utf8(bytes),
        TextEncoding::Windows1252 => {
            // windows-1252 maps every byte, so this cannot fail; undefined bytes become
            // their C1 control characters, which validation then reports in the field.
            let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
            Ok(text.into_owned())
        }
    }
}

fn utf8(bytes: &[u8]) -> Result<String, NotUtf8> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_owned()),
        Err(e) => {
            let at = e.valid_up_to();
            let line = bytes[..at].iter().filter(|b| **b == b'\n').count() as u64 + 1;
            Err(NotUtf8 {
                line,
                byte: bytes.get(at).copied().unwrap_or(0),
                utf16: None,
            })
        }
    }
}

/// Decodes an XML document: UTF-8 (with or without BOM) unless its declaration names
/// ISO-8859-1 or windows-1252, which are read as windows-1252. Other encodings are refused by
/// the UTF-8 check with the line of the first bad byte; UTF-16 (known by its byte order mark)
/// is refused as a whole.
pub fn decode_xml(bytes: &[u8]) -> Result<String, NotUtf8> {
    if let Some(utf16) = Utf16::of(bytes) {
        return Err(NotUtf8 {
            line: 1,
            byte: bytes.first().copied().unwrap_or(0),
            utf16: Some(utf16),
        });
    }
    let body = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let declaration_end = body
        .windows(2)
        .position(|w| w == b"?>")
        .filter(|_| body.starts_with(b"<?xml"))
        .unwrap_or(0);
    let declaration = String::from_utf8_lossy(&body[..declaration_end]).to_ascii_lowercase();
    let latin = [
        "iso-8859-1",
        "iso8859-1",
        "latin1",
        "windows-1252",
        "cp1252",
    ];
    if latin.iter().any(|name| declaration.contains(name)) && !bytes.starts_with(UTF8_BOM) {
        return decode(body, TextEncoding::Windows1252);
    }
    decode(bytes, TextEncoding::Utf8)
}

/// Encodes outbound text for a sender. Characters windows-1252 cannot hold are written as
/// `?` rather than failing the file.
pub fn encode(text: &str, encoding: TextEncoding) -> Vec<u8> {
    match encoding {
        TextEncoding::Utf8 => text.as_bytes().to_vec(),
        TextEncoding::Windows1252 => text
            .chars()
            .map(|c| {
                let mut buf = [0u8; 4];
                let (bytes, _, unmappable) =
                    encoding_rs::WINDOWS_1252.encode(c.encode_utf8(&mut buf));
                if unmappable || bytes.len() != 1 {
                    b'?'
                } else {
                    bytes[0]
                }
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_1252_exports_read_as_their_letters() {
        assert_eq!(
            decode(b"Bel\xF8p;Kj\xE6rstad \xC5se", TextEncoding::Windows1252).unwrap(),
            "Beløp;Kjærstad Åse"
        );
    }

    #[test]
    fn a_bom_wins_over_the_setting() {
        assert_eq!(
            decode("\u{feff}Beløp".as_bytes(), TextEncoding::Windows1252).unwrap(),
            "Beløp"
        );
    }

    #[test]
    fn latin1_bytes_in_a_utf8_file_name_their_line() {
        let err = decode(b"a;b\nc;d\nBel\xF8p", TextEncoding::Utf8).unwrap_err();
        assert_eq!(
            err,
            NotUtf8 {
                line: 3,
                byte: 0xF8,
                utf16: None,
            }
        );
        assert!(err.to_string().contains("windows-1252"));
    }

    #[test]
    fn xml_follows_its_declaration() {
        let latin = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>\xF8</a>";
        assert_eq!(
            decode_xml(latin).unwrap(),
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>ø</a>"
        );
        assert_eq!(decode_xml("<a>ø</a>".as_bytes()).unwrap(), "<a>ø</a>");
        assert!(decode_xml(b"<a>\xF8</a>").is_err());
    }

    #[test]
    fn utf16_xml_is_refused_as_utf16() {
        let mut bytes = b"\xFF\xFE".to_vec();
        for unit in "<a>ø</a>".encode_utf16() {
            bytes.extend(unit.to_le_bytes());
        }
        let err = decode_xml(&bytes).unwrap_err();
        assert_eq!(err.utf16, Some(Utf16::Le));
        let diagnostic = err.xml_diagnostic();
        assert_eq!(diagnostic.code, code::BAD_ENCODING);
        assert_eq!(diagnostic.position, Position::File);
        assert!(diagnostic.message.contains("UTF-16 LE"), "{diagnostic}");
        let latin = decode_xml(b"<a>\xF8</a>").unwrap_err().xml_diagnostic();
        assert_eq!(latin.position, Position::Line(1));
        assert!(latin.message.contains("0xF8"), "{latin}");
    }

    #[test]
    fn encoding_round_trips_nordic_letters() {
        let text = "Fjellstua Kafé AS; Æ Ø Å æ ø å ä ö";
        let bytes = encode(text, TextEncoding::Windows1252);
        assert_eq!(bytes.len(), text.chars().count());
        assert_eq!(decode(&bytes, TextEncoding::Windows1252).unwrap(), text);
        assert_eq!(encode("€ → x", TextEncoding::Windows1252), b"\x80 ? x");
    }
}
