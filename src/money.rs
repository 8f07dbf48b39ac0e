//! Exact money: parsing amounts as Nordic exports write them, minor units, formatting.
//!
//! Amounts are `rust_decimal::Decimal` in memory and integer minor units (øre, öre, cent) in
//! the database. There is no float anywhere on the way.

use rust_decimal::Decimal;

/// The largest amount kravflyt accepts in one field: far above any real claim, far below the
/// point where minor units would overflow an `i64`.
/// 999 999 999 999.99: 10^14 - 1 minor units (0x5AF3_107A_3FFF).
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(0x107A_3FFF, 0x5AF3, 0, false, 2);

/// Why an amount text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("is empty")]
    Empty,
    #[error(
        "`{0}` is not an amount: use digits with `{1}` as the decimal separator, e.g. `1 499{1}00`"
    )]
    Malformed(String, char),
    #[error("`{0}` has more than two decimals")]
    TooManyDecimals(String),
    #[error("`{0}` is too large")]
    TooLarge(String),
}

/// Parses an amount written with `decimal_separator` (`,` or `.`).
///
/// Accepted: an optional leading `-`, digits, thousands grouped in threes by a space, a
/// no-break space or a narrow no-break space (and by `.` when the decimal separator is `,`),
/// and at most two decimals. Everything else is rejected rather than guessed at: `875.50` with
/// a decimal comma is refused, since the sender's dialect says `.` groups thousands.
pub fn parse_amount(text: &str, decimal_separator: char) -> Result<Decimal, AmountError> {
    let trimmed = text.trim_matches(|c: char| c == ' ' || c == '\t');
    if trimmed.is_empty() {
        return Err(AmountError::Empty);
    }
    let malformed = || AmountError::Malformed(text.to_owned(), decimal_separator);
    let (negative, unsigned) = match trimmed.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    let (int_part, frac_part) = match unsigned.split_once(decimal_separator) {
        Some((i, f)) => (i, Some(f)),
        None => (unsigned, None),
    };
    let int_digits = strip_grouping(int_part, decimal_separator).ok_or_else(malformed)?;
    let frac_digits = match frac_part {
        None => "",
        Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => f,
        Some(_) => return Err(malformed()),
    };
    if frac_digits.len() > 2 {
        return Err(AmountError::TooManyDecimals(text.to_owned()));
    }
    if int_digits.len() > 13 {
        return Err(AmountError::TooLarge(text.to_owned()));
    }
    let mut plain = String::with_capacity(int_digits.len() + frac_digits.len() + 2);
    if negative {
        plain.push('-');
    }
    plain.push_str(&int_digits);
    if !frac_digits.is_empty() {
        plain.push('.');
        plain.push_str(frac_digits);
    }
    let value: Decimal = plain.parse().map_err(|_| malformed())?;
    if value.abs() > MAX_AMOUNT {
        return Err(AmountError::TooLarge(text.to_owned()));
    }
    Ok(value)
}

/// Removes thousands separators from an integer part, checking that groups have three digits.
fn strip_grouping(int_part: &str, decimal_separator: char) -> Option<String> {
    let is_group_separator = |c: char| {
        matches!(c, ' ' | '\u{a0}' | '\u{202f}') || (c == '.' && decimal_separator == ',')
    };
    if int_part.is_empty() {
        return None;
    }
    let groups: Vec<&str> = int_part.split(is_group_separator).collect();
    let first_ok = |g: &str| (1..=3).contains(&g.len()) || groups.len() == 1;
    for (i, group) in groups.iter().enumerate() {
        if group.is_empty() || !group.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if i == 0 && !first_ok(group) {
            return None;
        }
        if i > 0 && group.len() != 3 {
            return None;
        }
    }
    Some(groups.concat())
}

/// Converts an exact amount to minor units; `None` when it has fractions of a minor unit.
pub fn to_minor(amount: Decimal) -> Option<i64> {
    let scaled = amount.checked_mul(Decimal::ONE_HUNDRED)?;
    if scaled.fract() != Decimal::ZERO {
        return None;
    }
    i64::try_from(scaled).ok()
}

/// Converts minor units back to an exact amount with two decimals.
pub fn from_minor(minor: i64) -> Decimal {
    Decimal::new(minor, 2)
}

/// Formats minor units with two decimals and the given decimal separator, no grouping
/// (outbound files are read by programs): `-1234.5` → `-1234,50`.
pub fn format_minor(minor: i64, decimal_separator: char) -> String {
    // Digits written by hand rather than with `format!`: a status or letters file formats
    // five or six amounts per row, millions of rows a day (issue 14, BENCHMARKS.md).
    let abs = minor.unsigned_abs();
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut whole = abs / 100;
    loop {
        at -= 1;
        digits[at] = b'0' + (whole % 10) as u8;
        whole /= 10;
        if whole == 0 {
            break;
        }
    }
    let mut out = String::with_capacity(digits.len() - at + 8);
    if minor < 0 {
        out.push('-');
    }
    out.extend(digits[at..].iter().map(|&d| char::from(d)));
    out.push(decimal_separator);
    let cents = abs % 100;
    out.push(char::from(b'0' + (cents / 10) as u8));
    out.push(char::from(b'0' + (cents % 10) as u8));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn max_amount_is_just_under_a_trillion() {
        assert_eq!(MAX_AMOUNT, dec("999999999999.99"));
    }

    #[test]
    fn reads_amounts_as_nordic_exports_write_them() {
        assert_eq!(parse_amount("1 499,00", ','), Ok(dec("1499.00")));
        assert_eq!(parse_amount("1\u{a0}499,00", ','), Ok(dec("1499.00")));
        assert_eq!(
            parse_amount("1\u{202f}234\u{202f}567,5", ','),
            Ok(dec("1234567.5"))
        );
        assert_eq!(parse_amount("1.499,00", ','), Ok(dec("1499.00")));
        assert_eq!(parse_amount("1.499", ','), Ok(dec("1499")));
        assert_eq!(parse_amount("12500", ','), Ok(dec("12500")));
        assert_eq!(parse_amount("875.50", '.'), Ok(dec("875.50")));
        assert_eq!(parse_amount("-250,00", ','), Ok(dec("-250.00")));
        assert_eq!(parse_amount(" 35,00 ", ','), Ok(dec("35.00")));
    }

    #[test]
    fn refuses_what_it_would_have_to_guess() {
        assert!(matches!(
            parse_amount("875.50", ','),
            Err(AmountError::Malformed(..))
        ));
        assert!(matches!(
            parse_amount("1,499.00", '.'),
            Err(AmountError::Malformed(..))
        ));
        assert!(matches!(
            parse_amount("12 50,00", ','),
            Err(AmountError::Malformed(..))
        ));
        assert!(matches!(
            parse_amount("1e3", ','),
            Err(AmountError::Malformed(..))
        ));
        assert!(matches!(
            parse_amount("12,345", ','),
            Err(AmountError::TooManyDecimals(_))
        ));
        assert!(matches!(parse_amount("", ','), Err(AmountError::Empty)));
        assert!(matches!(
            parse_amount("12,", ','),
            Err(AmountError::Malformed(..))
        ));
        assert!(matches!(
            parse_amount("--1", ','),
            Err(AmountError::Malformed(..))
        ));
        assert!(matches!(
            parse_amount("99999999999999", ','),
            Err(AmountError::TooLarge(_))
        ));
    }

    #[test]
    fn minor_units_are_exact() {
        assert_eq!(to_minor(dec("1499.00")), Some(149_900));
        assert_eq!(to_minor(dec("0.1")), Some(10));
        assert_eq!(to_minor(dec("0.005")), None);
        assert_eq!(from_minor(149_950), dec("1499.50"));
        assert_eq!(format_minor(-123_450, ','), "-1234,50");
        assert_eq!(format_minor(5, '.'), "0.05");
    }

    #[test]
    fn formatting_edges() {
        assert_eq!(format_minor(0, ','), "0,00");
        assert_eq!(format_minor(-5, '.'), "-0.05");
        assert_eq!(format_minor(100, '.'), "1.00");
        assert_eq!(format_minor(-100, ','), "-1,00");
        assert_eq!(format_minor(i64::MIN, '.'), "-92233720368547758.08");
        assert_eq!(format_minor(i64::MAX, '.'), "92233720368547758.07");
    }

    proptest! {
        #[test]
        fn formatting_and_parsing_round_trip(minor in -9_999_999_999_999_i64..9_999_999_999_999_i64) {
            let text = format_minor(minor, ',');
            let parsed = parse_amount(&text, ',').unwrap();
            prop_assert_eq!(to_minor(parsed), Some(minor));
        }

        #[test]
        fn formatting_by_hand_is_what_format_gave(minor in any::<i64>(), separator in prop::sample::select(vec!['.', ','])) {
            let abs = minor.unsigned_abs();
            let sign = if minor < 0 { "-" } else { "" };
            let expected = format!("{sign}{}{separator}{:02}", abs / 100, abs % 100);
            prop_assert_eq!(format_minor(minor, separator), expected);
        }

        #[test]
        fn never_panics(text in "\\PC{0,40}") {
            let _ = parse_amount(&text, ',');
            let _ = parse_amount(&text, '.');
        }
    }
}
