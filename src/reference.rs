//! Structured payment references: Norwegian KID (mod 10 and mod 11), Swedish OCR, Finnish viitenumero and ISO 11649 RF creditor references.
//!
//! Every public function is total: it returns a value or a [`ReferenceError`] for any input and
//! never panics. References are normalised with [`normalize`] before they are checked, so
//! grouped input such as `"1234 5674"` is accepted.

use std::fmt;
use std::str::FromStr;

/// A structured payment reference scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// Norwegian KID with a modulus 10 (Luhn) check digit.
    KidMod10,
    /// Norwegian KID with a modulus 11 check character (`0`-`9` or `-`).
    KidMod11,
    /// Swedish OCR reference (Bankgirot), Luhn check digit only ("soft" check).
    SeOcr,
    /// Finnish domestic reference number (viitenumero), weights 7, 3, 1.
    FiRef,
    /// ISO 11649 structured creditor reference (`RF` + 2 check digits + up to 21 characters).
    Rf,
}

impl Scheme {
    /// Every scheme, in the order [`schemes_valid_for`] reports them.
    pub const ALL: [Scheme; 5] = [
        Scheme::KidMod10,
        Scheme::KidMod11,
        Scheme::SeOcr,
        Scheme::FiRef,
        Scheme::Rf,
    ];

    /// The stable name of the scheme, as accepted by [`Scheme::from_str`].
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::KidMod10 => "kid-mod10",
            Scheme::KidMod11 => "kid-mod11",
            Scheme::SeOcr => "se-ocr",
            Scheme::FiRef => "fi-ref",
            Scheme::Rf => "rf",
        }
    }

    /// Smallest and largest total length (check digits included) of a normalised reference.
    pub fn length_bounds(self) -> (usize, usize) {
        match self {
            Scheme::KidMod10 | Scheme::KidMod11 | Scheme::SeOcr => (2, 25),
            Scheme::FiRef => (4, 20),
            Scheme::Rf => (5, 25),
        }
    }

    /// Smallest and largest length of the base that [`generate`] accepts.
    fn base_length_bounds(self) -> (usize, usize) {
        match self {
            Scheme::KidMod10 | Scheme::KidMod11 | Scheme::SeOcr => (1, 24),
            Scheme::FiRef => (3, 19),
            Scheme::Rf => (1, 21),
        }
    }

    /// What a length is counted in, for error messages.
    fn unit(self) -> &'static str {
        match self {
            Scheme::Rf => "characters",
            _ => "digits",
        }
    }
}

impl FromStr for Scheme {
    type Err = ReferenceError;

    /// Parses a scheme name; surrounding whitespace and ASCII case are ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Scheme::ALL
            .into_iter()
            .find(|scheme| scheme.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| ReferenceError::UnknownScheme(s.to_string()))
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a reference or a base was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// The scheme name is not one of [`Scheme::ALL`].
    #[error("unknown reference scheme {0:?}: use one of kid-mod10, kid-mod11, se-ocr, fi-ref, rf")]
    UnknownScheme(String),
    /// Nothing but spaces was given.
    #[error("reference is empty: enter the reference printed on the invoice")]
    Empty,
    /// A character the scheme does not allow; `position` is 1-based and counts characters of the
    /// input as given (spaces included).
    #[error("character {ch:?} at position {position} is not allowed here: remove or correct it")]
    BadCharacter { ch: char, position: usize },
    /// The normalised reference is too short or too long for the scheme.
    #[error("has {len} {}; {scheme} allows {min} to {max}", .scheme.unit())]
    BadLength {
        scheme: Scheme,
        len: usize,
        min: usize,
        max: usize,
    },
    /// The base given to a generator is too short or too long for the scheme.
    #[error("base has {len} {unit}; {scheme} needs a base of {min} to {max} {unit}", unit = .scheme.unit())]
    BadBaseLength {
        scheme: Scheme,
        len: usize,
        min: usize,
        max: usize,
    },
    /// The check digit(s) do not match the rest of the reference.
    #[error("check digit does not match: the reference was probably mistyped")]
    BadCheckDigit,
    /// The Bankgirot length digit does not match the number of digits.
    #[error(
        "length digit does not match the number of digits: the reference was probably mistyped or is missing digits"
    )]
    BadLengthDigit,
}

impl ReferenceError {
    /// A stable, machine-readable code for the error.
    pub fn code(&self) -> &'static str {
        match self {
            ReferenceError::UnknownScheme(_) => "unknown_scheme",
            ReferenceError::Empty
            | ReferenceError::BadCharacter { .. }
            | ReferenceError::BadLength { .. }
            | ReferenceError::BadBaseLength { .. } => "bad_reference",
            ReferenceError::BadCheckDigit | ReferenceError::BadLengthDigit => "bad_check_digit",
        }
    }
}

/// Characters dropped by normalisation: ASCII space, no-break space and narrow no-break space.
fn is_ignorable(ch: char) -> bool {
    matches!(ch, ' ' | '\u{00A0}' | '\u{202F}')
}

/// The normalised characters of `input`, each with its 1-based position in `input`.
fn normalized_chars(input: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    input
        .chars()
        .enumerate()
        .filter(|&(_, ch)| !is_ignorable(ch))
        .map(|(index, ch)| (index + 1, ch.to_ascii_uppercase()))
}

/// Removes spaces (ASCII, U+00A0, U+202F) and upper-cases ASCII letters.
///
/// Nothing else is changed: leading zeros (significant for display in Finnish references) are
/// kept, and non-ASCII characters are left for validation to reject.
pub fn normalize(reference: &str) -> String {
    normalized_chars(reference).map(|(_, ch)| ch).collect()
}

fn check_length(scheme: Scheme, len: usize) -> Result<(), ReferenceError> {
    let (min, max) = scheme.length_bounds();
    if (min..=max).contains(&len) {
        Ok(())
    } else {
        Err(ReferenceError::BadLength {
            scheme,
            len,
            min,
            max,
        })
    }
}

fn check_base_length(scheme: Scheme, len: usize) -> Result<(), ReferenceError> {
    let (min, max) = scheme.base_length_bounds();
    if (min..=max).contains(&len) {
        Ok(())
    } else {
        Err(ReferenceError::BadBaseLength {
            scheme,
            len,
            min,
            max,
        })
    }
}

/// Digit value of a check character: `0`-`9`, and `-` as 10 (the kid-mod11 check character).
const DASH_VALUE: u8 = 10;

/// Parses a numeric reference into digit values. When `dash_check` is set, a `-` is accepted as
/// the last character and returned as [`DASH_VALUE`].
fn parse_numeric_reference(
    scheme: Scheme,
    reference: &str,
    dash_check: bool,
) -> Result<Vec<u8>, ReferenceError> {
    let chars: Vec<(usize, char)> = normalized_chars(reference).collect();
    if chars.is_empty() {
        return Err(ReferenceError::Empty);
    }
    let last = chars.len() - 1;
    let mut digits = Vec::with_capacity(chars.len());
    for (index, &(position, ch)) in chars.iter().enumerate() {
        match ch {
            '0'..='9' => digits.push(ch as u8 - b'0'),
            '-' if dash_check && index == last => digits.push(DASH_VALUE),
            _ => return Err(ReferenceError::BadCharacter { ch, position }),
        }
    }
    check_length(scheme, digits.len())?;
    Ok(digits)
}

/// Parses a numeric base for a generator; returns the normalised base and its digit values.
fn parse_numeric_base(scheme: Scheme, base: &str) -> Result<(String, Vec<u8>), ReferenceError> {
    let mut text = String::new();
    let mut digits = Vec::new();
    for (position, ch) in normalized_chars(base) {
        if !ch.is_ascii_digit() {
            return Err(ReferenceError::BadCharacter { ch, position });
        }
        text.push(ch);
        digits.push(ch as u8 - b'0');
    }
    if digits.is_empty() {
        return Err(ReferenceError::Empty);
    }
    check_base_length(scheme, digits.len())?;
    Ok((text, digits))
}

/// Luhn check digit for `body` (the digits before the check digit): weights 2, 1, 2, 1, ... from
/// the right, two-digit products replaced by their digit sum.
fn luhn_check_digit(body: &[u8]) -> u8 {
    let sum = body
        .iter()
        .rev()
        .enumerate()
        .fold(0u32, |acc, (index, &digit)| {
            let digit = u32::from(digit);
            let value = if index % 2 == 0 {
                let doubled = digit * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                digit
            };
            (acc + value) % 10
        });
    ((10 - sum) % 10) as u8
}

/// KID modulus 11 check value for `body`: weights 2..=7 repeating from the right.
/// Returns 0..=9, or [`DASH_VALUE`] when the check character is `-`.
fn mod11_check_value(body: &[u8]) -> u8 {
    const WEIGHTS: [u32; 6] = [2, 3, 4, 5, 6, 7];
    let sum = body
        .iter()
        .rev()
        .zip(WEIGHTS.iter().cycle())
        .fold(0u32, |acc, (&digit, &weight)| {
            (acc + u32::from(digit) * weight) % 11
        });
    match sum {
        0 => 0,
        remainder => (11 - remainder) as u8,
    }
}

/// Finnish reference check digit for `body`: weights 7, 3, 1 repeating from the right.
fn fi_check_digit(body: &[u8]) -> u8 {
    const WEIGHTS: [u32; 3] = [7, 3, 1];
    let sum = body
        .iter()
        .rev()
        .zip(WEIGHTS.iter().cycle())
        .fold(0u32, |acc, (&digit, &weight)| {
            (acc + u32::from(digit) * weight) % 10
        });
    ((10 - sum) % 10) as u8
}

/// Check value of `body` under a numeric scheme; `None` for [`Scheme::Rf`].
fn numeric_check_value(scheme: Scheme, body: &[u8]) -> Option<u8> {
    match scheme {
        Scheme::KidMod10 | Scheme::SeOcr => Some(luhn_check_digit(body)),
        Scheme::KidMod11 => Some(mod11_check_value(body)),
        Scheme::FiRef => Some(fi_check_digit(body)),
        Scheme::Rf => None,
    }
}

fn check_char(value: u8) -> char {
    if value == DASH_VALUE {
        '-'
    } else {
        char::from(b'0' + value % 10)
    }
}

/// Feeds one character into a running ISO 7064 mod 97-10 remainder: digits count as themselves,
/// letters as A = 10 ... Z = 35. Returns `None` for any other character.
fn mod97_push(acc: u32, ch: char) -> Option<u32> {
    match ch {
        '0'..='9' => Some((acc * 10 + u32::from(ch as u8 - b'0')) % 97),
        'A'..='Z' => Some((acc * 100 + u32::from(ch as u8 - b'A') + 10) % 97),
        _ => None,
    }
}

fn mod97(chars: impl IntoIterator<Item = char>) -> Option<u32> {
    chars.into_iter().try_fold(0u32, mod97_push)
}

fn validate_rf(reference: &str) -> Result<(), ReferenceError> {
    let chars: Vec<(usize, char)> = normalized_chars(reference).collect();
    if chars.is_empty() {
        return Err(ReferenceError::Empty);
    }
    for (index, &(position, ch)) in chars.iter().enumerate() {
        let allowed = match index {
            0 => ch == 'R',
            1 => ch == 'F',
            2 | 3 => ch.is_ascii_digit(),
            _ => ch.is_ascii_uppercase() || ch.is_ascii_digit(),
        };
        if !allowed {
            return Err(ReferenceError::BadCharacter { ch, position });
        }
    }
    check_length(Scheme::Rf, chars.len())?;
    let text: Vec<char> = chars.iter().map(|&(_, ch)| ch).collect();
    // Check digits 00, 01 and 99 are never issued (every remainder has a partner in 02..=98).
    let check: u32 = text[2..4]
        .iter()
        .filter_map(|ch| ch.to_digit(10))
        .fold(0, |acc, digit| acc * 10 + digit);
    if !(2..=98).contains(&check) {
        return Err(ReferenceError::BadCheckDigit);
    }
    let rearranged = text[4..].iter().chain(text[..4].iter()).copied();
    match mod97(rearranged) {
        Some(1) => Ok(()),
        _ => Err(ReferenceError::BadCheckDigit),
    }
}

fn generate_rf(base: &str) -> Result<String, ReferenceError> {
    let mut text = String::new();
    for (position, ch) in normalized_chars(base) {
        if !(ch.is_ascii_uppercase() || ch.is_ascii_digit()) {
            return Err(ReferenceError::BadCharacter { ch, position });
        }
        text.push(ch);
    }
    if text.is_empty() {
        return Err(ReferenceError::Empty);
    }
    check_base_length(Scheme::Rf, text.chars().count())?;
    // Every character was checked above, so `mod97` cannot return `None` here.
    let remainder =
        mod97(text.chars().chain("RF00".chars())).ok_or(ReferenceError::BadCheckDigit)?;
    Ok(format!("RF{:02}{text}", 98 - remainder))
}

/// Checks `reference` (normalised first) under `scheme`.
pub fn validate(scheme: Scheme, reference: &str) -> Result<(), ReferenceError> {
    if scheme == Scheme::Rf {
        return validate_rf(reference);
    }
    let digits = parse_numeric_reference(scheme, reference, scheme == Scheme::KidMod11)?;
    let Some((&check, body)) = digits.split_last() else {
        return Err(ReferenceError::Empty);
    };
    if numeric_check_value(scheme, body) == Some(check) {
        Ok(())
    } else {
        Err(ReferenceError::BadCheckDigit)
    }
}

/// Bankgirot's "hard" OCR check: the Luhn check digit must match and the second-to-last digit
/// must equal the total number of digits (length and check digit included) modulo 10.
pub fn validate_se_ocr_with_length_digit(reference: &str) -> Result<(), ReferenceError> {
    validate(Scheme::SeOcr, reference)?;
    let digits = parse_numeric_reference(Scheme::SeOcr, reference, false)?;
    let length_digit = digits.len().checked_sub(2).and_then(|i| digits.get(i));
    if length_digit.map(|&d| usize::from(d)) == Some(digits.len() % 10) {
        Ok(())
    } else {
        Err(ReferenceError::BadLengthDigit)
    }
}

/// Appends the check digit(s) of `scheme` to `base` (normalised first).
///
/// For the numeric schemes `base` is digits and the result is `base` followed by one check
/// character (for kid-mod11 possibly `-`). For [`Scheme::Rf`] `base` is the alphanumeric creditor
/// reference part and the result is `RF`, two check digits, then the base.
pub fn generate(scheme: Scheme, base: &str) -> Result<String, ReferenceError> {
    if scheme == Scheme::Rf {
        return generate_rf(base);
    }
    let (mut text, digits) = parse_numeric_base(scheme, base)?;
    // `None` only for Rf, handled above.
    let check = numeric_check_value(scheme, &digits).ok_or(ReferenceError::BadCheckDigit)?;
    text.push(check_char(check));
    Ok(text)
}

/// Appends a Bankgirot length digit and a Luhn check digit to `base` (digits, normalised first).
/// The length digit is the total length of the result modulo 10.
pub fn generate_se_ocr_with_length_digit(base: &str) -> Result<String, ReferenceError> {
    let (mut text, mut digits) = parse_numeric_base(Scheme::SeOcr, base)?;
    let (_, max) = Scheme::SeOcr.length_bounds();
    if digits.len() + 2 > max {
        let (min, _) = Scheme::SeOcr.base_length_bounds();
        return Err(ReferenceError::BadBaseLength {
            scheme: Scheme::SeOcr,
            len: digits.len(),
            min,
            max: max - 2,
        });
    }
    let length_digit = ((digits.len() + 2) % 10) as u8;
    digits.push(length_digit);
    text.push(check_char(length_digit));
    text.push(check_char(luhn_check_digit(&digits)));
    Ok(text)
}

/// Every scheme under which `reference` validates, in [`Scheme::ALL`] order. kid-mod10 and
/// se-ocr use the same algorithm, so they always appear together.
pub fn schemes_valid_for(reference: &str) -> Vec<Scheme> {
    Scheme::ALL
        .into_iter()
        .filter(|&scheme| validate(scheme, reference).is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NUMERIC: [Scheme; 4] = [
        Scheme::KidMod10,
        Scheme::KidMod11,
        Scheme::SeOcr,
        Scheme::FiRef,
    ];

    fn from_digits(d: &[u8]) -> String {
        d.iter().map(|&x| char::from(b'0' + x)).collect()
    }

    // ---- known examples -------------------------------------------------------------------

    #[test]
    fn rf_iso_example() {
        assert_eq!(validate(Scheme::Rf, "RF18539007547034"), Ok(()));
        assert_eq!(validate(Scheme::Rf, "RF18 5390 0754 7034"), Ok(()));
        assert_eq!(validate(Scheme::Rf, "rf18 5390 0754 7034"), Ok(()));
        assert_eq!(
            generate(Scheme::Rf, "539007547034").as_deref(),
            Ok("RF18539007547034")
        );
        assert_eq!(
            validate(Scheme::Rf, "RF19539007547034"),
            Err(ReferenceError::BadCheckDigit)
        );
    }

    #[test]
    fn rf_with_letters() {
        // Base "A" followed by "RF00" reads as 10 27 15 00; 10271500 = 97 * 105891 + 73, so the
        // check digits are 98 - 73 = 25.
        assert_eq!(generate(Scheme::Rf, "a").as_deref(), Ok("RF25A"));
        assert_eq!(validate(Scheme::Rf, "RF25A"), Ok(()));
    }

    #[test]
    fn rf_never_issued_check_digits_are_rejected() {
        // Check digits c and c + 97 give the same remainder, so 00, 01 and 99 would pass the
        // mod 97 test as twins of 97, 98 and 02. Only the issued range 02..=98 is accepted:
        // find bases whose issued check digits are 97 or 98 and try their 00 / 01 twins.
        let mut saw_00 = false;
        let mut saw_01 = false;
        for n in 0..5000u32 {
            let base = n.to_string();
            let Ok(generated) = generate(Scheme::Rf, &base) else {
                panic!("generate failed for {base}");
            };
            let twin = match &generated[2..4] {
                "97" => format!("RF00{base}"),
                "98" => format!("RF01{base}"),
                _ => continue,
            };
            // The twin passes the bare mod 97 test ...
            assert_eq!(mod97(twin[4..].chars().chain(twin[..4].chars())), Some(1));
            saw_00 |= twin.starts_with("RF00");
            saw_01 |= twin.starts_with("RF01");
            // ... but is still rejected.
            assert_eq!(
                validate(Scheme::Rf, &twin),
                Err(ReferenceError::BadCheckDigit)
            );
        }
        assert!(saw_00 && saw_01);
        // 99 is the twin of 02.
        for n in 0..5000u32 {
            let base = n.to_string();
            let generated = generate(Scheme::Rf, &base).unwrap_or_default();
            if &generated[2..4] == "02" {
                assert_eq!(
                    validate(Scheme::Rf, &format!("RF99{base}")),
                    Err(ReferenceError::BadCheckDigit)
                );
                return;
            }
        }
        panic!("no base with check digits 02 found");
    }

    #[test]
    fn rf_letter_digit_transposition_blind_spot() {
        // "B" expands to "11", so "B1" and "1B" both read as 111: a letter-digit swap is not
        // always detected, which is why the transposition property covers digits and letters
        // separately.
        let reference = generate(Scheme::Rf, "B1").unwrap_or_default();
        let swapped = format!("{}1B", &reference[..4]);
        assert_eq!(validate(Scheme::Rf, &reference), Ok(()));
        assert_eq!(validate(Scheme::Rf, &swapped), Ok(()));
    }

    #[test]
    fn kid_mod10_examples() {
        // Luhn over 1234567: from the right 7*2=14->5, 6, 5*2=10->1, 4, 3*2=6, 2, 1*2=2;
        // sum 26 -> check (10 - 6) % 10 = 4.
        assert_eq!(
            generate(Scheme::KidMod10, "1234567").as_deref(),
            Ok("12345674")
        );
        assert_eq!(validate(Scheme::KidMod10, "12345674"), Ok(()));
        // The classic Luhn example: 7992739871 + check digit 3.
        assert_eq!(validate(Scheme::KidMod10, "79927398713"), Ok(()));
        assert_eq!(validate(Scheme::SeOcr, "7992 7398 713"), Ok(()));
        assert_eq!(
            validate(Scheme::KidMod10, "79927398710"),
            Err(ReferenceError::BadCheckDigit)
        );
    }

    #[test]
    fn kid_mod11_examples() {
        // 1234567: weights from the right 2,3,4,5,6,7,2 over 7,6,5,4,3,2,1:
        // 14+18+20+20+18+14+2 = 106; 106 mod 11 = 7 -> check 11 - 7 = 4.
        assert_eq!(
            generate(Scheme::KidMod11, "1234567").as_deref(),
            Ok("12345674")
        );
        // 123456: 6*2+5*3+4*4+3*5+2*6+1*7 = 77 = 7*11 -> remainder 0 -> check 0.
        assert_eq!(
            generate(Scheme::KidMod11, "123456").as_deref(),
            Ok("1234560")
        );
        // 23: 3*2 + 2*3 = 12 -> remainder 1 -> check character '-'.
        assert_eq!(generate(Scheme::KidMod11, "23").as_deref(), Ok("23-"));
        assert_eq!(validate(Scheme::KidMod11, "23-"), Ok(()));
        assert_eq!(
            validate(Scheme::KidMod11, "230"),
            Err(ReferenceError::BadCheckDigit)
        );
        // A dash is only a check character, never part of the base.
        assert_eq!(
            validate(Scheme::KidMod11, "2-3"),
            Err(ReferenceError::BadCharacter {
                ch: '-',
                position: 2
            })
        );
        assert_eq!(
            validate(Scheme::KidMod10, "23-"),
            Err(ReferenceError::BadCharacter {
                ch: '-',
                position: 3
            })
        );
    }

    #[test]
    fn fi_ref_examples() {
        // 123: from the right 3*7 + 2*3 + 1*1 = 28 -> check (10 - 8) % 10 = 2.
        assert_eq!(generate(Scheme::FiRef, "123").as_deref(), Ok("1232"));
        // 1234561: 1*7+6*3+5*1+4*7+3*3+2*1+1*7 = 76 -> check 4.
        assert_eq!(
            generate(Scheme::FiRef, "1234561").as_deref(),
            Ok("12345614")
        );
        // Leading zeros are kept and accepted (they carry weight but add 0 to the sum).
        assert_eq!(validate(Scheme::FiRef, "0000 1232"), Ok(()));
        assert_eq!(generate(Scheme::FiRef, "00123").as_deref(), Ok("001232"));
        assert_eq!(normalize("0000 1232"), "00001232");
        assert_eq!(
            generate(Scheme::FiRef, "12"),
            Err(ReferenceError::BadBaseLength {
                scheme: Scheme::FiRef,
                len: 2,
                min: 3,
                max: 19
            })
        );
    }

    #[test]
    fn se_ocr_length_digit_examples() {
        // Base 12345, total length 7 -> length digit 7; Luhn over 123457:
        // 7*2=14->5, 5, 4*2=8, 3, 2*2=4, 1 -> 26 -> check 4.
        assert_eq!(
            generate_se_ocr_with_length_digit("12345").as_deref(),
            Ok("1234574")
        );
        assert_eq!(validate_se_ocr_with_length_digit("1234574"), Ok(()));
        // Luhn-valid but the length digit says 8 while there are 7 digits.
        let luhn_only = generate(Scheme::SeOcr, "123458").unwrap_or_default();
        assert_eq!(validate(Scheme::SeOcr, &luhn_only), Ok(()));
        assert_eq!(
            validate_se_ocr_with_length_digit(&luhn_only),
            Err(ReferenceError::BadLengthDigit)
        );
        assert_eq!(
            validate_se_ocr_with_length_digit("1234575"),
            Err(ReferenceError::BadCheckDigit)
        );
        assert!(generate_se_ocr_with_length_digit(&"1".repeat(24)).is_err());
        assert!(generate_se_ocr_with_length_digit(&"1".repeat(23)).is_ok());
    }

    #[test]
    fn lengths_and_messages() {
        let long = "1".repeat(26);
        let err = validate(Scheme::KidMod10, &long).unwrap_err();
        assert_eq!(err.to_string(), "has 26 digits; kid-mod10 allows 2 to 25");
        assert_eq!(err.code(), "bad_reference");
        assert_eq!(
            ReferenceError::BadCheckDigit.to_string(),
            "check digit does not match: the reference was probably mistyped"
        );
        assert_eq!(ReferenceError::BadLengthDigit.code(), "bad_check_digit");
        assert_eq!(validate(Scheme::Rf, "   "), Err(ReferenceError::Empty));
        assert_eq!(
            validate(Scheme::Rf, "RF18"),
            Err(ReferenceError::BadLength {
                scheme: Scheme::Rf,
                len: 4,
                min: 5,
                max: 25
            })
        );
        assert_eq!(
            validate(Scheme::FiRef, "12x4"),
            Err(ReferenceError::BadCharacter {
                ch: 'X',
                position: 3
            })
        );
        assert_eq!(
            validate(Scheme::KidMod10, "1 2\u{a0}3\u{202f}ø"),
            Err(ReferenceError::BadCharacter {
                ch: 'ø',
                position: 7
            })
        );
        let unknown = "kid".parse::<Scheme>().unwrap_err();
        assert_eq!(unknown.code(), "unknown_scheme");
        assert_eq!(
            unknown.to_string(),
            "unknown reference scheme \"kid\": use one of kid-mod10, kid-mod11, se-ocr, fi-ref, rf"
        );
        for err in [
            ReferenceError::UnknownScheme("x".into()),
            ReferenceError::Empty,
            ReferenceError::BadCharacter {
                ch: 'x',
                position: 1,
            },
            err,
            ReferenceError::BadBaseLength {
                scheme: Scheme::Rf,
                len: 22,
                min: 1,
                max: 21,
            },
            ReferenceError::BadCheckDigit,
            ReferenceError::BadLengthDigit,
        ] {
            let msg = err.to_string();
            assert!(!msg.ends_with('.'), "{msg}");
            assert!(msg.starts_with(|c: char| c.is_lowercase()), "{msg}");
        }
    }

    #[test]
    fn scheme_names_round_trip() {
        for scheme in Scheme::ALL {
            assert_eq!(scheme.as_str().parse::<Scheme>(), Ok(scheme));
            assert_eq!(scheme.to_string(), scheme.as_str());
            assert_eq!(
                format!(" {} ", scheme.as_str().to_uppercase()).parse::<Scheme>(),
                Ok(scheme)
            );
        }
    }

    #[test]
    fn schemes_valid_for_examples() {
        assert_eq!(
            schemes_valid_for("79927398713"),
            vec![Scheme::KidMod10, Scheme::SeOcr]
        );
        assert_eq!(schemes_valid_for("RF18 5390 0754 7034"), vec![Scheme::Rf]);
        assert_eq!(schemes_valid_for("23-"), vec![Scheme::KidMod11]);
        // 12345674 happens to carry a valid mod 10 and mod 11 check digit.
        assert_eq!(
            schemes_valid_for("12345674"),
            vec![Scheme::KidMod10, Scheme::KidMod11, Scheme::SeOcr]
        );
        assert!(schemes_valid_for("").is_empty());
    }

    // ---- properties -----------------------------------------------------------------------

    fn numeric_scheme() -> impl Strategy<Value = Scheme> {
        prop::sample::select(NUMERIC.to_vec())
    }

    /// A numeric scheme with a base of allowed length.
    fn numeric_generated() -> impl Strategy<Value = (Scheme, String)> {
        numeric_scheme().prop_flat_map(|scheme| {
            let (min, max) = scheme.base_length_bounds();
            (
                Just(scheme),
                proptest::collection::vec(0u8..10, min..=max).prop_map(|d| from_digits(&d)),
            )
        })
    }

    fn luhn_generated() -> impl Strategy<Value = (Scheme, String)> {
        (
            prop::sample::select(vec![Scheme::KidMod10, Scheme::SeOcr]),
            "[0-9]{1,24}",
        )
    }

    /// Every variant of `reference` with one character replaced by a different character of
    /// the same class (digit by digit, letter by letter; '-' by a digit), with its index.
    fn substitutions(reference: &str) -> Vec<(usize, String)> {
        let chars: Vec<char> = reference.chars().collect();
        let mut out = Vec::new();
        for (i, &ch) in chars.iter().enumerate() {
            let class: Vec<char> = if ch.is_ascii_uppercase() {
                ('A'..='Z').collect()
            } else {
                ('0'..='9').collect()
            };
            for replacement in class.into_iter().filter(|&r| r != ch) {
                let mut changed = chars.clone();
                changed[i] = replacement;
                out.push((i, changed.into_iter().collect()));
            }
        }
        out
    }

    /// Every variant of `reference` with two different adjacent characters swapped, with the
    /// swapped pair.
    fn transpositions(reference: &str) -> Vec<(char, char, String)> {
        let chars: Vec<char> = reference.chars().collect();
        let mut out = Vec::new();
        for i in 0..chars.len().saturating_sub(1) {
            let (a, b) = (chars[i], chars[i + 1]);
            if a != b {
                let mut changed = chars.clone();
                changed.swap(i, i + 1);
                out.push((a, b, changed.into_iter().collect()));
            }
        }
        out
    }

    fn spaced(s: &str, seps: &[u8]) -> String {
        let mut out = String::new();
        for (i, ch) in s.chars().enumerate() {
            match seps.get(i).copied().unwrap_or(0) % 4 {
                1 => out.push(' '),
                2 => out.push('\u{a0}'),
                3 => out.push('\u{202f}'),
                _ => {}
            }
            out.push(ch);
        }
        out.push(' ');
        out
    }

    proptest! {
        #[test]
        fn generated_reference_validates((scheme, base) in numeric_generated()) {
            let reference = generate(scheme, &base).unwrap();
            prop_assert!(reference.starts_with(&base));
            prop_assert_eq!(reference.chars().count(), base.len() + 1);
            prop_assert_eq!(validate(scheme, &reference), Ok(()));
            prop_assert!(schemes_valid_for(&reference).contains(&scheme));
        }

        #[test]
        fn generated_rf_validates(base in "[0-9A-Za-z]{1,21}") {
            let reference = generate(Scheme::Rf, &base).unwrap();
            prop_assert_eq!(&reference[4..], base.to_ascii_uppercase());
            prop_assert!(reference.starts_with("RF"));
            prop_assert_eq!(validate(Scheme::Rf, &reference), Ok(()));
        }

        #[test]
        fn generated_se_ocr_length_digit_validates(base in "[0-9]{1,23}") {
            let reference = generate_se_ocr_with_length_digit(&base).unwrap();
            prop_assert_eq!(reference.len(), base.len() + 2);
            prop_assert_eq!(validate_se_ocr_with_length_digit(&reference), Ok(()));
            prop_assert_eq!(validate(Scheme::SeOcr, &reference), Ok(()));
        }

        /// Validation accepts exactly the references the generator produces.
        #[test]
        fn validation_accepts_only_generated(scheme in numeric_scheme(), s in "[0-9]{1,24}[0-9-]") {
            let expected = generate(scheme, &s[..s.len() - 1]).ok();
            let accepted = validate(scheme, &s).is_ok();
            prop_assert_eq!(accepted, expected.as_deref() == Some(s.as_str()));
        }

        #[test]
        fn rf_validation_accepts_only_generated(s in "RF[0-9]{2}[0-9A-C]{1,21}") {
            let expected = generate(Scheme::Rf, &s[4..]).ok();
            prop_assert_eq!(validate(Scheme::Rf, &s).is_ok(), expected.as_deref() == Some(s.as_str()));
        }

        /// Any single digit replaced by a different digit is rejected (Luhn, mod 11 and 7-3-1
        /// weights are all coprime with their modulus). For kid-mod11 this includes replacing
        /// a '-' check character by a digit. Every position and every other digit is tried.
        #[test]
        fn single_substitution_rejected((scheme, base) in numeric_generated()) {
            let reference = generate(scheme, &base).unwrap();
            for (i, variant) in substitutions(&reference) {
                prop_assert_eq!(
                    validate(scheme, &variant),
                    Err(ReferenceError::BadCheckDigit),
                    "{} -> {} (position {})", reference, variant, i
                );
            }
        }

        /// In an RF reference any digit replaced by another digit, or letter by another letter,
        /// is rejected. (A letter replaced by a digit, or the reverse, is not guaranteed.)
        #[test]
        fn rf_single_substitution_rejected(base in "[0-9A-Z]{1,21}") {
            let reference = generate(Scheme::Rf, &base).unwrap();
            for (_, variant) in substitutions(&reference) {
                prop_assert!(validate(Scheme::Rf, &variant).is_err(), "{} -> {}", reference, variant);
            }
        }

        /// Luhn catches every swap of two different adjacent digits except 0 and 9.
        #[test]
        fn luhn_transpositions((scheme, base) in luhn_generated()) {
            let reference = generate(scheme, &base).unwrap();
            for (a, b, variant) in transpositions(&reference) {
                let blind_spot = (a, b) == ('0', '9') || (a, b) == ('9', '0');
                prop_assert_eq!(validate(scheme, &variant).is_ok(), blind_spot, "{} -> {}", reference, variant);
            }
        }

        #[test]
        fn luhn_misses_09_swaps(prefix in "[0-9]{0,10}", suffix in "[0-9]{0,10}", order in any::<bool>()) {
            let pair = if order { "09" } else { "90" };
            let swapped_pair = if order { "90" } else { "09" };
            let reference = generate(Scheme::KidMod10, &format!("{prefix}{pair}{suffix}")).unwrap();
            let swapped = format!("{prefix}{swapped_pair}{}", &reference[prefix.len() + 2..]);
            prop_assert_eq!(validate(Scheme::KidMod10, &swapped), Ok(()));
        }

        /// Neighbouring weights (1 for the check character, then 2, 3, 4, 5, 6, 7, 2, ...) never
        /// differ by a multiple of 11, so every swap of two different adjacent digits is caught.
        #[test]
        fn mod11_transpositions(base in "[0-9]{1,24}") {
            let reference = generate(Scheme::KidMod11, &base).unwrap();
            for (a, b, variant) in transpositions(&reference) {
                if a != '-' && b != '-' {
                    prop_assert_eq!(validate(Scheme::KidMod11, &variant), Err(ReferenceError::BadCheckDigit));
                }
            }
        }

        /// Neighbouring weights of 1,7,3 differ by 6, 4 or 2, so a swap of two different digits
        /// is caught unless they differ by exactly 5.
        #[test]
        fn fi_ref_transpositions(base in "[0-9]{3,19}") {
            let reference = generate(Scheme::FiRef, &base).unwrap();
            for (a, b, variant) in transpositions(&reference) {
                let differ_by_5 = (a as u8).abs_diff(b as u8) == 5;
                prop_assert_eq!(validate(Scheme::FiRef, &variant).is_ok(), differ_by_5, "{} -> {}", reference, variant);
            }
        }

        /// RF catches every swap of two different adjacent digits anywhere (check digits and
        /// their boundary with the base included), and of two different adjacent letters.
        #[test]
        fn rf_transpositions(base in prop_oneof!["[0-9]{1,21}", "[A-Z]{1,21}", "[0-9A-Z]{1,21}"]) {
            let reference = generate(Scheme::Rf, &base).unwrap();
            for (a, b, variant) in transpositions(&reference) {
                if a.is_ascii_digit() == b.is_ascii_digit() {
                    prop_assert!(validate(Scheme::Rf, &variant).is_err(), "{} -> {}", reference, variant);
                }
            }
        }

        #[test]
        fn spaces_are_ignored((scheme, base) in numeric_generated(), seps in proptest::collection::vec(any::<u8>(), 0..30)) {
            let reference = generate(scheme, &base).unwrap();
            let grouped = spaced(&reference, &seps);
            prop_assert_eq!(normalize(&grouped), reference.clone());
            prop_assert_eq!(validate(scheme, &grouped), Ok(()));
            prop_assert_eq!(generate(scheme, &spaced(&base, &seps)), Ok(reference));
        }

        #[test]
        fn rf_spaces_and_case_are_ignored(base in "[0-9A-Z]{1,21}", seps in proptest::collection::vec(any::<u8>(), 0..30)) {
            let reference = generate(Scheme::Rf, &base).unwrap();
            prop_assert_eq!(validate(Scheme::Rf, &spaced(&reference.to_lowercase(), &seps)), Ok(()));
        }

        #[test]
        fn normalize_is_idempotent(s in any::<String>()) {
            let once = normalize(&s);
            prop_assert_eq!(normalize(&once), once.clone());
            let has_space = once.contains([' ', '\u{a0}', '\u{202f}']);
            prop_assert!(!has_space);
        }

        #[test]
        fn never_panics(s in prop_oneof![any::<String>(), "[0-9RFrf \\-\u{a0}\u{202f}A-Zøå]{0,40}"]) {
            let _ = normalize(&s);
            let _ = schemes_valid_for(&s);
            let _ = s.parse::<Scheme>();
            for scheme in Scheme::ALL {
                for err in [validate(scheme, &s).err(), generate(scheme, &s).err()].into_iter().flatten() {
                    prop_assert!(!err.to_string().is_empty());
                    prop_assert!(!err.code().is_empty());
                }
            }
            let _ = validate_se_ocr_with_length_digit(&s);
            let _ = generate_se_ocr_with_length_digit(&s);
        }

        #[test]
        fn length_errors_carry_the_bounds(scheme in numeric_scheme(), n in 0usize..40) {
            let (min, max) = scheme.length_bounds();
            let s = "1".repeat(n);
            match validate(scheme, &s) {
                Err(ReferenceError::Empty) => prop_assert_eq!(n, 0),
                Err(ReferenceError::BadLength { len, min: lo, max: hi, .. }) => {
                    prop_assert_eq!((len, lo, hi), (n, min, max));
                    prop_assert!(n < min || n > max);
                }
                _ => prop_assert!((min..=max).contains(&n)),
            }
        }
    }
}
