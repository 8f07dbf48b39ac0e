//! Validation: raw records → typed records, or diagnostics saying what is wrong and where.
//!
//! Pure: the configuration is an argument; no files, database or clock. Every format's parser
//! produces the same raw records, so a CSV row, a PEPPOL invoice and a bank transaction are
//! checked by the same code.

pub mod fields;
pub mod invoice;
pub mod payment;
pub mod instruction;

use crate::config::{Config, Creditor, Sender};
use crate::diagnostic::code;
use crate::ingest::validate::fields::{Fields, shorten};

/// A fingerprint of a record's content: SHA-256 over its fields with a separator no field can
/// contain, so the same record sent again is recognised and a changed one is not.
pub fn fingerprint<S: AsRef<str>>(fields: &[S]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for field in fields {
        hasher.update(field.as_ref().as_bytes());
        hasher.update([0x1f]);
    }
    hex(&hasher.finalize())
}

/// Lowercase hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    // By table, not `format!` per byte: every record's fingerprint goes through here, and the
    // formatting machinery cost more than the SHA-256 itself.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

/// What validation needs to know about who sent a file.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub config: &'a Config,
    pub sender: &'a Sender,
}

/// The creditor `id`, if it exists and the sender may act for it; otherwise a diagnostic on
/// `creditor_id`.
pub fn check_creditor<'c>(ctx: Context<'c>, f: &mut Fields<'_>, id: &str) -> Option<&'c Creditor> {
    let allowed = ctx.sender.may_act_for(id);
    match ctx.config.creditor(id) {
        Some(creditor) if allowed => Some(creditor),
        // A sender learns nothing about creditors it does not act for, not even whether the
        // agency has them.
        _ if !allowed => {
            f.problem(
                "creditor_id",
                code::CREDITOR_NOT_ALLOWED,
                format!(
                    "sender `{}` does not act for creditor `{}`; check creditor_id, or ask the agency to add the creditor to this sender",
                    ctx.sender.id,
                    shorten(id)
                ),
            );
            None
        }
        _ => {
            f.problem(
                "creditor_id",
                code::UNKNOWN_CREDITOR,
                format!("creditor `{}` is not a creditor of the agency", shorten(id)),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_two_digits_per_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn fingerprints_separate_fields_and_are_sha256_hex() {
        let joined = fingerprint(&["ab", "c"]);
        assert_eq!(joined.len(), 64);
        assert_ne!(joined, fingerprint(&["a", "bc"]));
        assert_eq!(joined, fingerprint(&["ab".to_owned(), "c".to_owned()]));
    }
}
