//! The reference checks and generators of every scheme (`ref check` and `ref new`), and the
//! national identifier checks, on an arbitrary string.
//!
//! Round trips, as `src/reference.rs` states them: whatever a generator produces, the check of
//! its scheme accepts; whatever a check accepts, the generator produces from its base (the
//! reference without its check character(s)). Errors carry 1-based positions into the input
//! as given, and the lengths of the scheme. Identifier errors never repeat the identifier.
#![no_main]

use kravflyt::identifiers::{
    check_organisation_number, check_party_id, check_personal_number, mask,
};
use kravflyt::reference::{
    ReferenceError, Scheme, generate, generate_se_ocr_with_length_digit, normalize,
    schemes_valid_for, validate, validate_se_ocr_with_length_digit,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let s = s.as_ref();

    // Normalising is idempotent and drops every ignorable space.
    let normal = normalize(s);
    assert_eq!(normalize(&normal), normal);
    assert!(!normal.contains([' ', '\u{a0}', '\u{202f}']));

    if let Ok(scheme) = s.parse::<Scheme>() {
        assert!(scheme.as_str().eq_ignore_ascii_case(s.trim()));
    }

    for scheme in Scheme::ALL {
        // `ref check --scheme S`
        match validate(scheme, s) {
            Ok(()) => {
                // What validates is exactly what the generator makes from its base.
                let base = match scheme {
                    Scheme::Rf => &normal[4..],
                    _ => &normal[..normal.len() - 1],
                };
                assert_eq!(
                    generate(scheme, base).as_deref(),
                    Ok(normal.as_str()),
                    "{scheme} accepts {s:?}, which its generator does not make from {base:?}"
                );
            }
            Err(e) => check_error(&e, s, scheme),
        }
        // `ref new S BASE`
        match generate(scheme, s) {
            Ok(reference) => {
                assert_eq!(
                    validate(scheme, &reference),
                    Ok(()),
                    "{scheme} generated {reference:?} from {s:?} and rejects it"
                );
                assert!(schemes_valid_for(&reference).contains(&scheme));
                let (min, max) = scheme.length_bounds();
                assert!((min..=max).contains(&reference.chars().count()));
                match scheme {
                    Scheme::Rf => assert_eq!(&reference[4..], normal),
                    _ => {
                        assert!(reference.starts_with(&normal));
                        assert_eq!(reference.len(), normal.len() + 1);
                    }
                }
            }
            Err(e) => check_error(&e, s, scheme),
        }
    }

    // `ref check` without a scheme; kid-mod10 and se-ocr share the algorithm.
    let valid = schemes_valid_for(s);
    assert_eq!(
        valid.contains(&Scheme::KidMod10),
        valid.contains(&Scheme::SeOcr)
    );

    // Bankgirot's hard check (length digit + Luhn).
    match generate_se_ocr_with_length_digit(s) {
        Ok(reference) => {
            assert_eq!(validate_se_ocr_with_length_digit(&reference), Ok(()));
            assert_eq!(validate(Scheme::SeOcr, &reference), Ok(()));
            assert_eq!(reference.len(), normal.len() + 2);
        }
        Err(e) => check_error(&e, s, Scheme::SeOcr),
    }
    match validate_se_ocr_with_length_digit(s) {
        // A two-digit reference has an empty base, which the generator refuses.
        Ok(()) if normal.len() >= 3 => assert_eq!(
            generate_se_ocr_with_length_digit(&normal[..normal.len() - 2]).as_deref(),
            Ok(normal.as_str())
        ),
        Ok(()) => {}
        Err(e) => check_error(&e, s, Scheme::SeOcr),
    }

    // National identifiers: total, and never repeating the identifier in a message.
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    let numeric = s.chars().all(|c| c.is_ascii_digit() || " -+".contains(c));
    for country in ["NO", "SE", "FI", "se", "DK", ""] {
        for result in [
            check_organisation_number(country, s),
            check_personal_number(country, s),
            check_party_id(country, true, s),
            check_party_id(country, false, s),
        ] {
            if let Err(e) = result {
                let message = e.to_string();
                assert!(!message.is_empty() && !e.code().is_empty());
                if numeric && digits >= 6 {
                    assert!(
                        !message.contains(s.trim()),
                        "an identifier error repeats the identifier: {message}"
                    );
                }
            }
        }
    }
    let masked = mask(s);
    assert_eq!(masked.chars().count(), s.chars().count());
});

/// Errors describe themselves, point into the input as given and carry the scheme's bounds.
fn check_error(e: &ReferenceError, input: &str, scheme: Scheme) {
    assert!(!e.to_string().is_empty());
    assert!(!e.code().is_empty());
    match e {
        ReferenceError::BadCharacter { ch, position } => {
            assert!(*position >= 1, "positions are 1-based");
            let at = input.chars().nth(position - 1);
            assert_eq!(
                at.map(|c| c.to_ascii_uppercase()),
                Some(*ch),
                "{e} does not point at {ch:?} in {input:?}"
            );
        }
        ReferenceError::BadLength {
            scheme: s,
            len,
            min,
            max,
        } => {
            assert_eq!(*s, scheme);
            assert_eq!((*min, *max), scheme.length_bounds());
            assert!(len < min || len > max);
        }
        ReferenceError::BadBaseLength { len, min, max, .. } => {
            assert!(len < min || len > max);
        }
        ReferenceError::Empty => assert!(
            input
                .chars()
                .all(|c| matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
        ),
        ReferenceError::UnknownScheme(_)
        | ReferenceError::BadCheckDigit
        | ReferenceError::BadLengthDigit => {}
    }
}
