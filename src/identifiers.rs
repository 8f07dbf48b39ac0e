//! National identifiers with check digits: organisation numbers and personal identity numbers of Norway, Sweden and Finland.
//!
//! Every public function is total over arbitrary input and never panics. Error messages never
//! contain the identifier itself (they may end up in logs); use [`mask`] to log an identifier.
//! ASCII spaces, U+00A0 and U+202F are ignored anywhere in an identifier, and ASCII letters are
//! compared case-insensitively. Countries other than NO, SE and FI are not checked.

use std::fmt;

/// Which kind of identifier an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    /// Norwegian organisasjonsnummer.
    NoOrganisation,
    /// Swedish organisationsnummer.
    SeOrganisation,
    /// Finnish business ID (Y-tunnus).
    FiBusiness,
    /// Norwegian fødselsnummer, D-nummer or H-nummer.
    NoPersonal,
    /// Swedish personnummer or samordningsnummer.
    SePersonal,
    /// Finnish personal identity code (henkilötunnus).
    FiPersonal,
}

impl IdKind {
    /// What the identifier is called, for messages.
    pub fn description(self) -> &'static str {
        match self {
            IdKind::NoOrganisation => "Norwegian organisation number",
            IdKind::SeOrganisation => "Swedish organisation number",
            IdKind::FiBusiness => "Finnish business ID",
            IdKind::NoPersonal => "Norwegian national identity number",
            IdKind::SePersonal => "Swedish personal identity number",
            IdKind::FiPersonal => "Finnish personal identity code",
        }
    }

    /// The accepted way(s) of writing the identifier, for messages.
    pub fn expected_layout(self) -> &'static str {
        match self {
            IdKind::NoOrganisation => "9 digits",
            IdKind::SeOrganisation => {
                "10 digits, written NNNNNNNNNN or NNNNNN-NNNN, or 12 digits starting with 16"
            }
            IdKind::FiBusiness => "7 digits, a dash and a check digit (NNNNNNN-N)",
            IdKind::NoPersonal => "11 digits",
            IdKind::SePersonal => {
                "written YYMMDD-NNNN, YYMMDD+NNNN, YYMMDDNNNN, YYYYMMDDNNNN or YYYYMMDD-NNNN"
            }
            IdKind::FiPersonal => {
                "DDMMYY, a century sign, 3 digits and a check character (DDMMYYCZZZQ)"
            }
        }
    }
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// Why an identifier was rejected. No variant carries or prints the identifier's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Nothing but spaces was given.
    #[error("the {kind} is empty: enter it or leave the field out")]
    Empty { kind: IdKind },
    /// Wrong number of characters (spaces not counted).
    #[error("the {kind} has {len} characters; it must be {}", .kind.expected_layout())]
    BadLength { kind: IdKind, len: usize },
    /// A character not allowed at that place; `position` is 1-based and counts characters of
    /// the input as given (spaces included).
    #[error("character {position} of the {kind} is not allowed there; it must be {}", .kind.expected_layout())]
    BadCharacter { kind: IdKind, position: usize },
    /// The check digit(s) do not match, or no check digit exists for the number.
    #[error("the check digit of the {kind} does not match: the number was probably mistyped")]
    BadCheckDigit { kind: IdKind },
    /// The birth date part is not a calendar date.
    #[error("the date part of the {kind} is not a valid date: the number was probably mistyped")]
    BadDate { kind: IdKind },
    /// A Swedish organisation number whose third digit is 0 or 1.
    #[error(
        "the third digit of a Swedish organisation number must be 2 or higher: this looks like a personal identity number"
    )]
    NotAnOrganisationNumber,
    /// A Finnish personal identity code with an unknown century sign.
    #[error(
        "the century sign (character 7) of the Finnish personal identity code must be one of + - A B C D E F U V W X Y"
    )]
    BadCenturySign,
}

impl IdError {
    /// A stable, machine-readable code for the error.
    pub fn code(&self) -> &'static str {
        "bad_identifier"
    }
}

/// Characters ignored anywhere in an identifier: ASCII space, no-break space, narrow no-break space.
fn is_ignorable(ch: char) -> bool {
    matches!(ch, ' ' | '\u{00A0}' | '\u{202F}')
}

/// The characters of `id` that matter, upper-cased, each with its 1-based position in `id`.
fn compact(id: &str) -> Vec<(usize, char)> {
    id.chars()
        .enumerate()
        .filter(|&(_, ch)| !is_ignorable(ch))
        .map(|(index, ch)| (index + 1, ch.to_ascii_uppercase()))
        .collect()
}

/// Matches `chars` against `layout`, where `N` stands for a digit, `S` for `-` or `+` and any
/// other character for itself. Returns the digits in order.
fn parse_layout(kind: IdKind, chars: &[(usize, char)], layout: &str) -> Result<Vec<u8>, IdError> {
    if chars.len() != layout.chars().count() {
        return Err(IdError::BadLength {
            kind,
            len: chars.len(),
        });
    }
    let mut digits = Vec::with_capacity(chars.len());
    for (&(position, ch), expected) in chars.iter().zip(layout.chars()) {
        let ok = match expected {
            'N' => ch.is_ascii_digit(),
            'S' => ch == '-' || ch == '+',
            literal => ch == literal,
        };
        if !ok {
            return Err(IdError::BadCharacter { kind, position });
        }
        if let Some(digit) = ch.to_digit(10) {
            digits.push(digit as u8);
        }
    }
    Ok(digits)
}

fn non_empty(kind: IdKind, id: &str) -> Result<Vec<(usize, char)>, IdError> {
    let chars = compact(id);
    if chars.is_empty() {
        Err(IdError::Empty { kind })
    } else {
        Ok(chars)
    }
}

/// Modulus 11 check digit: `11 - (weighted sum mod 11)`, where 11 becomes 0 and 10 means that
/// no check digit exists (`None`).
fn mod11_check(digits: &[u8], weights: &[u32]) -> Option<u8> {
    let sum = digits
        .iter()
        .zip(weights)
        .fold(0u32, |acc, (&d, &w)| (acc + u32::from(d) * w) % 11);
    match 11 - sum {
        11 => Some(0),
        10 => None,
        check => Some(check as u8),
    }
}

/// Whether `digits` (check digit last) pass the Luhn test.
fn luhn_valid(digits: &[u8]) -> bool {
    let sum = digits
        .iter()
        .rev()
        .enumerate()
        .fold(0u32, |acc, (index, &d)| {
            let d = u32::from(d);
            let value = if index % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            };
            (acc + value) % 10
        });
    sum == 0
}

fn two_digits(digits: &[u8], at: usize) -> u32 {
    let tens = digits.get(at).copied().unwrap_or(0);
    let ones = digits.get(at + 1).copied().unwrap_or(0);
    u32::from(tens) * 10 + u32::from(ones)
}

fn is_leap_year(year: u32) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(month: u32, leap: bool) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    }
}

fn is_valid_date(day: u32, month: u32, leap: bool) -> bool {
    day >= 1 && day <= days_in_month(month, leap)
}

fn digits_eq(kind: IdKind, computed: Option<u8>, given: Option<&u8>) -> Result<(), IdError> {
    match (computed, given) {
        (Some(check), Some(&digit)) if check == digit => Ok(()),
        _ => Err(IdError::BadCheckDigit { kind }),
    }
}

fn is_country(country: &str, code: &str) -> bool {
    country.trim().eq_ignore_ascii_case(code)
}

// ---- organisation numbers -------------------------------------------------------------------

fn check_no_organisation(id: &str) -> Result<(), IdError> {
    let kind = IdKind::NoOrganisation;
    let chars = non_empty(kind, id)?;
    let digits = parse_layout(kind, &chars, "NNNNNNNNN")?;
    let check = mod11_check(&digits, &[3, 2, 7, 6, 5, 4, 3, 2]);
    digits_eq(kind, check, digits.get(8))
}

fn check_se_organisation(id: &str) -> Result<(), IdError> {
    let kind = IdKind::SeOrganisation;
    let chars = non_empty(kind, id)?;
    let layout = match chars.len() {
        10 => "NNNNNNNNNN",
        11 => "NNNNNN-NNNN",
        12 => "16NNNNNNNNNN",
        13 => "16NNNNNN-NNNN",
        len => return Err(IdError::BadLength { kind, len }),
    };
    let mut digits = parse_layout(kind, &chars, layout)?;
    if digits.len() == 12 {
        digits.drain(..2);
    }
    if !luhn_valid(&digits) {
        return Err(IdError::BadCheckDigit { kind });
    }
    match digits.get(2) {
        Some(&third) if third >= 2 => Ok(()),
        _ => Err(IdError::NotAnOrganisationNumber),
    }
}

fn check_fi_business(id: &str) -> Result<(), IdError> {
    let kind = IdKind::FiBusiness;
    let chars = non_empty(kind, id)?;
    let digits = parse_layout(kind, &chars, "NNNNNNN-N")?;
    let check = mod11_check(&digits, &[7, 9, 10, 5, 8, 4, 2]);
    digits_eq(kind, check, digits.get(7))
}

/// Checks an organisation number: `NO` (9 digits, modulus 11), `SE` (10 digits, Luhn, third
/// digit at least 2) or `FI` (business ID `NNNNNNN-C`, modulus 11). The country code is
/// case-insensitive; any other country is accepted unchecked.
pub fn check_organisation_number(country: &str, id: &str) -> Result<(), IdError> {
    if is_country(country, "NO") {
        check_no_organisation(id)
    } else if is_country(country, "SE") {
        check_se_organisation(id)
    } else if is_country(country, "FI") {
        check_fi_business(id)
    } else {
        Ok(())
    }
}

// ---- personal numbers -----------------------------------------------------------------------

fn check_no_personal(id: &str) -> Result<(), IdError> {
    let kind = IdKind::NoPersonal;
    let chars = non_empty(kind, id)?;
    let digits = parse_layout(kind, &chars, "NNNNNNNNNNN")?;
    let k1 = mod11_check(&digits, &[3, 7, 6, 1, 8, 9, 4, 5, 2]);
    digits_eq(kind, k1, digits.get(9))?;
    let k2 = mod11_check(&digits, &[5, 4, 3, 2, 7, 6, 5, 4, 3, 2]);
    digits_eq(kind, k2, digits.get(10))?;

    // D-numbers add 40 to the day; H-numbers add 40 and synthetic test numbers (Tenor) add 80
    // to the month.
    let day = match two_digits(&digits, 0) {
        d @ 41..=71 => d - 40,
        d => d,
    };
    let month = match two_digits(&digits, 2) {
        m @ 81..=92 => m - 80,
        m @ 41..=52 => m - 40,
        m => m,
    };
    let year = two_digits(&digits, 4);
    let individual = two_digits(&digits, 6) * 10 + u32::from(digits.get(8).copied().unwrap_or(0));
    // Only year 00 depends on the century: 1900 (individual number 000-499) is not a leap
    // year, 2000 (500-999) is. Other two-digit years are leap years in every century used.
    let leap = if year == 0 {
        individual >= 500
    } else {
        year.is_multiple_of(4)
    };
    if is_valid_date(day, month, leap) {
        Ok(())
    } else {
        Err(IdError::BadDate { kind })
    }
}

fn check_se_personal(id: &str) -> Result<(), IdError> {
    let kind = IdKind::SePersonal;
    let chars = non_empty(kind, id)?;
    let layout = match chars.len() {
        10 => "NNNNNNNNNN",
        11 => "NNNNNNSNNNN",
        12 => "NNNNNNNNNNNN",
        13 => "NNNNNNNN-NNNN",
        len => return Err(IdError::BadLength { kind, len }),
    };
    let mut digits = parse_layout(kind, &chars, layout)?;
    let century = if digits.len() == 12 {
        let century = two_digits(&digits, 0);
        if !(18..=20).contains(&century) {
            let position = chars.first().map_or(1, |&(position, _)| position);
            return Err(IdError::BadCharacter { kind, position });
        }
        digits.drain(..2);
        Some(century)
    } else {
        None
    };
    if !luhn_valid(&digits) {
        return Err(IdError::BadCheckDigit { kind });
    }
    let year = two_digits(&digits, 0);
    let month = two_digits(&digits, 2);
    // Samordningsnummer add 60 to the day.
    let day = match two_digits(&digits, 4) {
        d @ 61..=91 => d - 60,
        d => d,
    };
    let leap = match century {
        Some(century) => is_leap_year(century * 100 + year),
        // Without the century, year 00 may be 2000 (a leap year): accept 29 February.
        None => year.is_multiple_of(4),
    };
    if is_valid_date(day, month, leap) {
        Ok(())
    } else {
        Err(IdError::BadDate { kind })
    }
}

/// Check characters of the Finnish personal identity code, indexed by the remainder mod 31.
const FI_CHECK_CHARS: &[u8; 31] = b"0123456789ABCDEFHJKLMNPRSTUVWXY";

fn check_fi_personal(id: &str) -> Result<(), IdError> {
    let kind = IdKind::FiPersonal;
    let chars = non_empty(kind, id)?;
    if chars.len() != 11 {
        return Err(IdError::BadLength {
            kind,
            len: chars.len(),
        });
    }
    let mut number = 0u32;
    let mut digits = Vec::with_capacity(9);
    for (index, &(position, ch)) in chars.iter().enumerate() {
        if index == 6 || index == 10 {
            continue;
        }
        let Some(digit) = ch.to_digit(10) else {
            return Err(IdError::BadCharacter { kind, position });
        };
        number = number * 10 + digit;
        digits.push(digit as u8);
    }
    let century = match chars.get(6).map(|&(_, ch)| ch) {
        Some('+') => 1800,
        Some('-' | 'U' | 'V' | 'W' | 'X' | 'Y') => 1900,
        Some('A'..='F') => 2000,
        _ => return Err(IdError::BadCenturySign),
    };
    let Some(&(check_position, check)) = chars.get(10) else {
        return Err(IdError::BadLength {
            kind,
            len: chars.len(),
        });
    };
    if !check.is_ascii_alphanumeric() {
        return Err(IdError::BadCharacter {
            kind,
            position: check_position,
        });
    }
    let expected = FI_CHECK_CHARS
        .get((number % 31) as usize)
        .map(|&b| char::from(b));
    if expected != Some(check) {
        return Err(IdError::BadCheckDigit { kind });
    }
    let day = two_digits(&digits, 0);
    let month = two_digits(&digits, 2);
    let year = century + two_digits(&digits, 4);
    if is_valid_date(day, month, is_leap_year(year)) {
        Ok(())
    } else {
        Err(IdError::BadDate { kind })
    }
}

/// Checks a personal identity number: `NO` fødselsnummer (D-, H- and synthetic Tenor numbers
/// included), `SE` personnummer or samordningsnummer, `FI` henkilötunnus. The country code is
/// case-insensitive; any other country is accepted unchecked.
pub fn check_personal_number(country: &str, id: &str) -> Result<(), IdError> {
    if is_country(country, "NO") {
        check_no_personal(id)
    } else if is_country(country, "SE") {
        check_se_personal(id)
    } else if is_country(country, "FI") {
        check_fi_personal(id)
    } else {
        Ok(())
    }
}

/// Checks the identifier of a party: a personal number when `is_person`, otherwise an
/// organisation number.
pub fn check_party_id(country: &str, is_person: bool, id: &str) -> Result<(), IdError> {
    if is_person {
        check_personal_number(country, id)
    } else {
        check_organisation_number(country, id)
    }
}

/// Identifiers shorter than this are masked completely: two clear characters would be too
/// large a share of them.
const MIN_CHARS_FOR_CLEAR_TAIL: usize = 6;

/// Masks an identifier for logs: every character but the last two becomes `*`
/// (`"01018512345"` → `"*********45"`). Identifiers of fewer than 6 characters are masked
/// completely. The result has as many characters as `id`.
pub fn mask(id: &str) -> String {
    let len = id.chars().count();
    let clear = if len >= MIN_CHARS_FOR_CLEAR_TAIL {
        2
    } else {
        0
    };
    id.chars()
        .enumerate()
        .map(|(index, ch)| if index + clear < len { '*' } else { ch })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // ---- Norway -----------------------------------------------------------------------------

    #[test]
    fn no_organisation_numbers() {
        // 923609016: 9*3+2*2+3*7+6*6+0*5+9*4+0*3+1*2 = 126; 126 mod 11 = 5 -> 11 - 5 = 6.
        assert_eq!(check_organisation_number("NO", "923609016"), Ok(()));
        // 987654325: 27+16+49+36+25+16+9+4 = 182; 182 mod 11 = 6 -> 11 - 6 = 5.
        assert_eq!(check_organisation_number("no", "987 654 325"), Ok(()));
        assert_eq!(
            check_organisation_number("NO", "923609017"),
            Err(IdError::BadCheckDigit {
                kind: IdKind::NoOrganisation
            })
        );
        // 12345678x: 3+4+21+24+25+24+21+16 = 138; 138 mod 11 = 6 -> check 5.
        assert_eq!(check_organisation_number("NO", "123456785"), Ok(()));
        // 10000000x: 3 -> 11 - 3 = 8; 10000004x: 3 + 4*2 = 11 -> remainder 0 -> check 0.
        assert_eq!(check_organisation_number("NO", "100000008"), Ok(()));
        assert_eq!(check_organisation_number("NO", "100000040"), Ok(()));
        // 10000010x: 3 + 1*3 = 6 -> 11 - 6 = 5; 20000000x: 6 -> 5; 40000000x: 12 -> 1 -> 10:
        // no check digit exists, so every 40000000x is invalid.
        for last in 0..10 {
            assert_eq!(
                check_organisation_number("NO", &format!("40000000{last}")),
                Err(IdError::BadCheckDigit {
                    kind: IdKind::NoOrganisation
                })
            );
        }
        assert_eq!(
            check_organisation_number("NO", "92360901"),
            Err(IdError::BadLength {
                kind: IdKind::NoOrganisation,
                len: 8
            })
        );
        assert_eq!(
            check_organisation_number("NO", "923-60901"),
            Err(IdError::BadCharacter {
                kind: IdKind::NoOrganisation,
                position: 4
            })
        );
        assert_eq!(
            check_organisation_number("NO", " "),
            Err(IdError::Empty {
                kind: IdKind::NoOrganisation
            })
        );
    }

    #[test]
    fn no_personal_numbers() {
        // Synthetic (Tenor) number for 15 March 1985: month 03 + 80 = 83, individual 123.
        // k1: 3,7,6,1,8,9,4,5,2 over 1,5,8,3,8,5,1,2,3 = 3+35+48+3+64+45+4+10+6 = 218;
        //     218 mod 11 = 9 -> 2.
        // k2: 5,4,3,2,7,6,5,4,3,2 over 1,5,8,3,8,5,1,2,3,2 = 5+20+24+6+56+30+5+8+9+4 = 167;
        //     167 mod 11 = 2 -> 9.
        assert_eq!(check_personal_number("NO", "15838512329"), Ok(()));
        assert_eq!(check_personal_number("NO", "158385 12329"), Ok(()));
        assert_eq!(
            check_personal_number("NO", "15838512320"),
            Err(IdError::BadCheckDigit {
                kind: IdKind::NoPersonal
            })
        );
        // D-number: day 15 + 40 = 55, 12 Dec 1985, individual 321 (k1 7, k2 9).
        assert_eq!(check_personal_number("NO", "55128532179"), Ok(()));
        // 29 Feb 2000 (individual 500 -> 2000s) is a date; with individual 499 (1900s) it is
        // not, although both check digits are right.
        assert_eq!(check_personal_number("NO", "29020050088"), Ok(()));
        assert_eq!(
            check_personal_number("NO", "29020049942"),
            Err(IdError::BadDate {
                kind: IdKind::NoPersonal
            })
        );
        // 010190123xx: k1 would be 10, so no check digits exist.
        assert!(check_personal_number("NO", "01019012300").is_err());
    }

    /// Appends both Norwegian check digits, for building test numbers.
    fn no_personal_with_checks(first9: &str) -> Option<String> {
        let mut digits: Vec<u8> = first9.bytes().map(|b| b - b'0').collect();
        let k1 = mod11_check(&digits, &[3, 7, 6, 1, 8, 9, 4, 5, 2])?;
        digits.push(k1);
        let k2 = mod11_check(&digits, &[5, 4, 3, 2, 7, 6, 5, 4, 3, 2])?;
        digits.push(k2);
        Some(digits.iter().map(|&d| char::from(b'0' + d)).collect())
    }

    #[test]
    fn no_personal_dates() {
        // Valid date forms: plain, D (+40 day), H (+40 month), Tenor (+80 month), Tenor D.
        for first6 in ["311299", "711299", "315299", "319299", "719299", "290284"] {
            let found = (0..1000).find_map(|i| no_personal_with_checks(&format!("{first6}{i:03}")));
            let Some(number) = found else {
                panic!("no check digits found for {first6}");
            };
            assert_eq!(check_personal_number("NO", &number), Ok(()), "{first6}");
        }
        // Impossible dates: day 32, day 40, 30 Feb, month 13, month 53, month 93, 29 Feb 1983.
        for first6 in [
            "321299", "401299", "300284", "011399", "015399", "019399", "290283",
        ] {
            let found = (0..1000).find_map(|i| no_personal_with_checks(&format!("{first6}{i:03}")));
            let Some(number) = found else {
                panic!("no check digits found for {first6}");
            };
            assert_eq!(
                check_personal_number("NO", &number),
                Err(IdError::BadDate {
                    kind: IdKind::NoPersonal
                }),
                "{first6}"
            );
        }
    }

    // ---- Sweden -----------------------------------------------------------------------------

    #[test]
    fn se_organisation_numbers() {
        // 5566778899, Luhn from the right: 9, 9*2=18->9, 8, 8*2=16->7, 7, 7*2=14->5, 6,
        // 6*2=12->3, 5, 5*2=10->1: 9+9+8+7+7+5+6+3+5+1 = 60, a multiple of 10: valid.
        assert_eq!(check_organisation_number("SE", "5566778899"), Ok(()));
        assert_eq!(check_organisation_number("SE", "556677-8899"), Ok(()));
        assert_eq!(check_organisation_number("SE", "165566778899"), Ok(()));
        assert_eq!(check_organisation_number("SE", "16556677-8899"), Ok(()));
        assert_eq!(
            check_organisation_number("SE", "175566778899"),
            Err(IdError::BadCharacter {
                kind: IdKind::SeOrganisation,
                position: 2
            })
        );
        assert_eq!(
            check_organisation_number("SE", "5566778898"),
            Err(IdError::BadCheckDigit {
                kind: IdKind::SeOrganisation
            })
        );
        // 811218-9876 is Luhn-valid but its third digit is 1: a personal number.
        assert_eq!(
            check_organisation_number("SE", "8112189876"),
            Err(IdError::NotAnOrganisationNumber)
        );
        assert_eq!(
            check_organisation_number("SE", "55667788-99"),
            Err(IdError::BadCharacter {
                kind: IdKind::SeOrganisation,
                position: 7
            })
        );
    }

    #[test]
    fn se_personal_numbers() {
        // 8112189876: 8*2=16->7, 1, 1*2=2, 2, 1*2=2, 8, 9*2=18->9, 8, 7*2=14->5, 6 = 50: valid.
        for written in [
            "811218-9876",
            "811218+9876",
            "8112189876",
            "198112189876",
            "19811218-9876",
        ] {
            assert_eq!(check_personal_number("SE", written), Ok(()), "{written}");
        }
        assert_eq!(
            check_personal_number("SE", "811218-9875"),
            Err(IdError::BadCheckDigit {
                kind: IdKind::SePersonal
            })
        );
        assert_eq!(
            check_personal_number("SE", "19811218+9876"),
            Err(IdError::BadCharacter {
                kind: IdKind::SePersonal,
                position: 9
            })
        );
        assert_eq!(
            check_personal_number("SE", "178112189876"),
            Err(IdError::BadCharacter {
                kind: IdKind::SePersonal,
                position: 1
            })
        );
        // Samordningsnummer: day 18 + 60 = 78; let Luhn pick the check digit.
        let coordination = (0..10)
            .map(|c| format!("811278987{c}"))
            .find(|n| luhn_valid(&n.bytes().map(|b| b - b'0').collect::<Vec<_>>()));
        let Some(coordination) = coordination else {
            panic!("no Luhn digit");
        };
        assert_eq!(check_personal_number("SE", &coordination), Ok(()));
    }

    #[test]
    fn se_personal_dates() {
        fn with_luhn(first9: &str) -> String {
            (0..10)
                .map(|c| format!("{first9}{c}"))
                .find(|n| luhn_valid(&n.bytes().map(|b| b - b'0').collect::<Vec<_>>()))
                .unwrap_or_default()
        }
        assert_eq!(check_personal_number("SE", &with_luhn("000229123")), Ok(()));
        assert_eq!(check_personal_number("SE", &with_luhn("040229123")), Ok(()));
        assert_eq!(
            check_personal_number("SE", &format!("19{}", with_luhn("000229123"))),
            Err(IdError::BadDate {
                kind: IdKind::SePersonal
            })
        );
        assert_eq!(
            check_personal_number("SE", &format!("20{}", with_luhn("000229123"))),
            Ok(())
        );
        for bad in [
            "030229123",
            "811318987",
            "811232987",
            "811200987",
            "811292987",
        ] {
            assert_eq!(
                check_personal_number("SE", &with_luhn(bad)),
                Err(IdError::BadDate {
                    kind: IdKind::SePersonal
                }),
                "{bad}"
            );
        }
    }

    // ---- Finland ----------------------------------------------------------------------------

    #[test]
    fn fi_business_ids() {
        // 2345678-0: 2*7+3*9+4*10+5*5+6*8+7*4+8*2 = 198 = 18*11 -> remainder 0 -> check 0.
        assert_eq!(check_organisation_number("FI", "2345678-0"), Ok(()));
        // 1234567-1: 7+18+30+20+40+24+14 = 153; 153 mod 11 = 10 -> 11 - 10 = 1.
        assert_eq!(check_organisation_number("FI", "1234567-1"), Ok(()));
        assert_eq!(
            check_organisation_number("FI", "1234567-2"),
            Err(IdError::BadCheckDigit {
                kind: IdKind::FiBusiness
            })
        );
        assert_eq!(
            check_organisation_number("FI", "23456780"),
            Err(IdError::BadLength {
                kind: IdKind::FiBusiness,
                len: 8
            })
        );
        assert_eq!(
            check_organisation_number("FI", "234567-80"),
            Err(IdError::BadCharacter {
                kind: IdKind::FiBusiness,
                position: 7
            })
        );
        // 0000003-x: 3*2 = 6 -> 5; 0000010-x: 1*4 = 4 -> 7; 1000000-x: 7 -> 4;
        // 0000006-x: 12 -> remainder 1: no check digit exists.
        assert_eq!(check_organisation_number("FI", "0000003-5"), Ok(()));
        for last in 0..10 {
            assert!(check_organisation_number("FI", &format!("0000006-{last}")).is_err());
        }
    }

    #[test]
    fn fi_personal_codes() {
        // 131052-308T: 131052308 = 31 * 4227493 + 25, and character 25 of the table is T.
        assert_eq!(check_personal_number("FI", "131052-308T"), Ok(()));
        assert_eq!(check_personal_number("FI", "131052-308t"), Ok(()));
        // The same digits with another 1900s sign are equally valid.
        assert_eq!(check_personal_number("FI", "131052Y308T"), Ok(()));
        assert_eq!(
            check_personal_number("FI", "131052-308U"),
            Err(IdError::BadCheckDigit {
                kind: IdKind::FiPersonal
            })
        );
        assert_eq!(
            check_personal_number("FI", "131052G308T"),
            Err(IdError::BadCenturySign)
        );
        assert_eq!(
            check_personal_number("FI", "131052-308!"),
            Err(IdError::BadCharacter {
                kind: IdKind::FiPersonal,
                position: 11
            })
        );
        // 29 Feb: 290200 in the 2000s (A) is a date, in the 1900s (-) it is not.
        let check = |digits: u32| char::from(FI_CHECK_CHARS[(digits % 31) as usize]);
        let leap = format!("290200A123{}", check(290_200_123));
        let not_leap = format!("290200-123{}", check(290_200_123));
        assert_eq!(check_personal_number("FI", &leap), Ok(()));
        assert_eq!(
            check_personal_number("FI", &not_leap),
            Err(IdError::BadDate {
                kind: IdKind::FiPersonal
            })
        );
    }

    // ---- general ----------------------------------------------------------------------------

    #[test]
    fn other_countries_are_unchecked() {
        assert_eq!(check_organisation_number("DK", "whatever"), Ok(()));
        assert_eq!(check_personal_number("", ""), Ok(()));
        assert_eq!(check_party_id("DE", true, "x"), Ok(()));
    }

    #[test]
    fn party_dispatch() {
        assert_eq!(check_party_id("NO", false, "923609016"), Ok(()));
        assert!(check_party_id("NO", true, "923609016").is_err());
        assert_eq!(check_party_id("NO", true, "15838512329"), Ok(()));
        assert!(check_party_id("NO", false, "15838512329").is_err());
        assert_eq!(check_party_id(" se ", true, "811218-9876"), Ok(()));
    }

    #[test]
    fn messages() {
        let err = check_organisation_number("NO", "92360901").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the Norwegian organisation number has 8 characters; it must be 9 digits"
        );
        assert_eq!(err.code(), "bad_identifier");
        for kind in [
            IdKind::NoOrganisation,
            IdKind::SeOrganisation,
            IdKind::FiBusiness,
            IdKind::NoPersonal,
            IdKind::SePersonal,
            IdKind::FiPersonal,
        ] {
            for err in [
                IdError::Empty { kind },
                IdError::BadLength { kind, len: 3 },
                IdError::BadCharacter { kind, position: 2 },
                IdError::BadCheckDigit { kind },
                IdError::BadDate { kind },
                IdError::NotAnOrganisationNumber,
                IdError::BadCenturySign,
            ] {
                let msg = err.to_string();
                assert!(msg.starts_with(|c: char| c.is_lowercase()), "{msg}");
                assert!(!msg.ends_with('.'), "{msg}");
                assert_eq!(err.code(), "bad_identifier");
            }
        }
    }

    #[test]
    fn mask_examples() {
        assert_eq!(mask("01018512345"), "*********45");
        assert_eq!(mask("131052-308T"), "*********8T");
        assert_eq!(mask("12345"), "*****");
        assert_eq!(mask(""), "");
        assert_eq!(mask("æøåÆØÅ"), "****ØÅ");
    }

    fn country() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("NO".to_string()),
            Just("SE".to_string()),
            Just("FI".to_string()),
            Just("no".to_string()),
            "[A-Za-z ]{0,3}",
        ]
    }

    fn id_like() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[0-9]{0,14}",
            "[0-9 +A-Z-]{0,14}",
            "[0-9]{6}[-+A-FU-Y][0-9]{3}[0-9A-Y]",
            "(16)?[0-9]{6}-?[0-9]{4}",
        ]
    }

    fn long_id_like() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\PC{5,20}",
            "[0-9]{5,14}",
            "[0-9+A-Z-]{5,14}",
            "[0-9]{6}[-+A-FU-Y][0-9]{3}[0-9A-Y]",
            "(16)?[0-9]{6}-?[0-9]{4}",
        ]
    }

    /// Valid Norwegian organisation numbers (first 8 digits whose check digit exists).
    fn valid_no_org() -> impl Strategy<Value = String> {
        "[0-9]{8}".prop_filter_map("no check digit exists", |first8| {
            let digits: Vec<u8> = first8.bytes().map(|b| b - b'0').collect();
            let check = mod11_check(&digits, &[3, 2, 7, 6, 5, 4, 3, 2])?;
            Some(format!("{first8}{check}"))
        })
    }

    proptest! {
        #[test]
        fn never_panics(country in country(), id in id_like(), is_person in any::<bool>()) {
            for result in [
                check_organisation_number(&country, &id),
                check_personal_number(&country, &id),
                check_party_id(&country, is_person, &id),
            ] {
                if let Err(err) = result {
                    prop_assert_eq!(err.code(), "bad_identifier");
                    prop_assert!(!err.to_string().is_empty());
                }
            }
        }

        /// Messages never repeat the identifier (checked for identifiers long enough that a
        /// coincidental match with a number in the message is impossible).
        #[test]
        fn messages_never_contain_the_identifier(country in country(), id in long_id_like(), is_person in any::<bool>()) {
            let compacted: String = compact(&id).into_iter().map(|(_, ch)| ch).collect();
            prop_assume!(compacted.chars().count() >= 5);
            if let Err(err) = check_party_id(&country, is_person, &id) {
                let msg = err.to_string();
                prop_assert!(!msg.contains(id.trim()));
                prop_assert!(!msg.contains(&compacted));
                prop_assert!(!msg.contains(&compacted.to_lowercase()));
                let debug = format!("{:?}", err);
                prop_assert!(!debug.contains(&compacted));
            }
        }

        #[test]
        fn mask_keeps_at_most_the_last_two(id in any::<String>()) {
            let masked = mask(&id);
            let original: Vec<char> = id.chars().collect();
            let out: Vec<char> = masked.chars().collect();
            prop_assert_eq!(out.len(), original.len());
            let clear_from = original.len().saturating_sub(2);
            for (index, (&o, &m)) in original.iter().zip(&out).enumerate() {
                if index < clear_from || original.len() < 6 {
                    prop_assert_eq!(m, '*');
                } else {
                    prop_assert_eq!(m, o);
                }
            }
        }

        /// Any single digit substitution in a valid Norwegian organisation number is caught.
        #[test]
        fn no_org_single_substitution(valid in valid_no_org()) {
            prop_assert_eq!(check_organisation_number("NO", &valid), Ok(()));
            for pos in 0..9 {
                for digit in b'0'..=b'9' {
                    let mut bytes = valid.clone().into_bytes();
                    if bytes[pos] == digit {
                        continue;
                    }
                    bytes[pos] = digit;
                    let changed = String::from_utf8(bytes).unwrap_or_default();
                    prop_assert!(check_organisation_number("NO", &changed).is_err(), "{}", changed);
                }
            }
        }

        /// Valid Swedish personal numbers are accepted in all their written forms.
        #[test]
        fn se_personal_forms_agree(yy in 0u32..100, mm in 1u32..13, dd in 1u32..29, serial in 0u32..1000) {
            let first9 = format!("{yy:02}{mm:02}{dd:02}{serial:03}");
            let number = (0..10)
                .map(|c| format!("{first9}{c}"))
                .find(|n| luhn_valid(&n.bytes().map(|b| b - b'0').collect::<Vec<_>>()))
                .unwrap_or_default();
            let (date, tail) = number.split_at(6);
            for written in [
                number.clone(),
                format!("{date}-{tail}"),
                format!("{date}+{tail}"),
                format!("19{number}"),
                format!("20{date}-{tail}"),
            ] {
                prop_assert_eq!(check_personal_number("SE", &written), Ok(()), "{}", written);
            }
        }
    }
}
