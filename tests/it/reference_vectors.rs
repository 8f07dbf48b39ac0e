//! kravflyt's check digits agree with independent public implementations: the vectors in
//! `tests/data/reference-vectors.csv` were computed by python-stdnum 2.2 (Luhn, ISO 11649),
//! norwegian-numbers 1.0.2 (KID MOD11) and taken from the documentation of Finnish reference
//! number libraries (`scripts/reference-vectors.py` says which and regenerates the file).

use kravflyt::reference::{self, Scheme};

use crate::support::repo;

#[test]
fn every_vector_of_an_independent_implementation_is_reproduced() {
    let text = std::fs::read_to_string(repo().join("tests/data/reference-vectors.csv")).unwrap();
    let mut checked = 0;
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.splitn(4, ',').collect();
        let [scheme, base, expected, source] = fields[..] else {
            panic!("malformed vector line `{line}`");
        };
        let scheme: Scheme = scheme.parse().unwrap();
        assert_eq!(
            reference::generate(scheme, base).as_deref(),
            Ok(expected),
            "{scheme} of {base} (source: {source})"
        );
        assert_eq!(
            reference::validate(scheme, expected),
            Ok(()),
            "{expected} ({source})"
        );
        checked += 1;
    }
    assert!(checked > 700, "only {checked} vectors");
}
