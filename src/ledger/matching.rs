//! Matching a payment to a case (SPEC §6.1): bank payments by agency reference, then by the
//! invoice's own reference when exactly one open invoice of the sender's creditors has it;
//! direct payments by the creditor's reference or invoice number. What does not match gets a
//! reason. A sender never reaches a creditor it does not act for.
//!
//! The decision is pure; the questions are answered through [`Lookup`], by the working set of
//! the cases a chunk of payments touches (`settlement::WorkingSet`), loaded before deciding.

use crate::config::Sender;
use crate::domain::{PaymentKind, UnmatchedReason};
use crate::ingest::validate::payment::PaymentRecord;
use crate::reference;

/// A case a payment may belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub case_id: i64,
    pub creditor_id: String,
    pub currency: String,
}

/// How a payment was matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchedBy {
    AgencyReference,
    InvoiceReference,
    InvoiceNumber,
    /// The agency desk applied it (`assign_payment`).
    Assignment,
    /// It undoes an earlier payment and lands where that one did.
    Reversal,
}

impl MatchedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchedBy::AgencyReference => "agency reference",
            MatchedBy::InvoiceReference => "invoice reference",
            MatchedBy::InvoiceNumber => "invoice number",
            MatchedBy::Assignment => "assignment",
            MatchedBy::Reversal => "reversal",
        }
    }
}

/// The questions matching asks about the cases.
pub trait Lookup {
    /// The case with this agency reference, open or closed (a second payment of a paid case
    /// still belongs to it, as an over-payment).
    fn case_by_agency_reference(&self, reference: &str) -> Option<Candidate>;
    /// The cases of open invoices (principal left) carrying this reference of their own, in
    /// case order.
    fn cases_by_invoice_reference(&self, reference: &str) -> Vec<Candidate>;
    /// The case of a creditor's invoice by number.
    fn case_by_invoice_no(&self, creditor_id: &str, invoice_no: &str) -> Option<Candidate>;
}

/// Finds the case a payment belongs to, or says why there is none.
pub fn match_payment(
    payment: &PaymentRecord,
    sender: &Sender,
    lookup: &dyn Lookup,
) -> Result<(Candidate, MatchedBy), UnmatchedReason> {
    let allowed = |c: &Candidate| {
        sender.may_act_for(&c.creditor_id)
            && payment
                .creditor_id
                .as_deref()
                .is_none_or(|id| id == c.creditor_id)
    };
    let currency_checked = |c: Candidate, by: MatchedBy| {
        if c.currency == payment.currency {
            Ok((c, by))
        } else {
            Err(UnmatchedReason::CurrencyMismatch)
        }
    };
    if let Some(reference) = &payment.reference {
        if payment.kind == PaymentKind::Bank
            && let Some(case) = lookup.case_by_agency_reference(reference)
            && allowed(&case)
        {
            return currency_checked(case, MatchedBy::AgencyReference);
        }
        let mut cases: Vec<Candidate> = lookup
            .cases_by_invoice_reference(reference)
            .into_iter()
            .filter(|c| allowed(c))
            .collect();
        cases.dedup_by(|a, b| a.case_id == b.case_id);
        match cases.len() {
            1 => {
                let case = cases.remove(0);
                return currency_checked(case, MatchedBy::InvoiceReference);
            }
            0 => {}
            _ => return Err(UnmatchedReason::AmbiguousReference),
        }
    }
    if let (Some(creditor), Some(invoice_no)) = (&payment.creditor_id, &payment.invoice_no)
        && let Some(case) = lookup.case_by_invoice_no(creditor, invoice_no)
        && allowed(&case)
    {
        return currency_checked(case, MatchedBy::InvoiceNumber);
    }
    Err(match &payment.reference {
        // An invoice number that names no invoice the sender may reach.
        None if payment.invoice_no.is_some() => UnmatchedReason::UnknownReference,
        None => UnmatchedReason::NoReference,
        // A reference valid under no scheme was mistyped somewhere on the way.
        Some(r) if reference::schemes_valid_for(r).is_empty() => UnmatchedReason::BadCheckDigit,
        Some(_) => UnmatchedReason::UnknownReference,
    })
}

/// A case an unmatched payment may belong to, for a person to decide: never applied by
/// itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub case_no: String,
    pub why: &'static str,
}

/// An open case as suggestions compare it with a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenCase {
    pub case_no: String,
    pub currency: String,
    pub debtor_name: String,
    /// What is open on the case in total, in minor units.
    pub total_minor: i64,
}

/// Open cases in the payment's currency whose total open equals the amount, or whose debtor
/// name shares a word (three letters or more) with the payer's name; at most five.
pub fn suggestions(
    amount_minor: i64,
    currency: &str,
    payer_name: Option<&str>,
    open_cases: &[OpenCase],
) -> Vec<Suggestion> {
    let words = |text: &str| -> Vec<String> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().count() >= 3)
            .map(str::to_lowercase)
            .collect()
    };
    let payer_words = payer_name.map(words).unwrap_or_default();
    let mut out = Vec::new();
    for case in open_cases.iter().filter(|c| c.currency == currency) {
        let same_amount = case.total_minor == amount_minor;
        let similar_name = words(&case.debtor_name)
            .iter()
            .any(|w| payer_words.contains(w));
        let why = match (same_amount, similar_name) {
            (true, true) => "same amount and similar name",
            (true, false) => "same amount",
            (false, true) => "similar name",
            (false, false) => continue,
        };
        out.push(Suggestion {
            case_no: case.case_no.clone(),
            why,
        });
    }
    // The strongest suggestions first, then by case number.
    out.sort_by_key(|s| {
        (
            s.why != "same amount and similar name",
            s.why != "same amount",
        )
    });
    out.truncate(5);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::diagnostic::Position;
    use std::path::Path;

    struct Fake {
        agency: Vec<(&'static str, Candidate)>,
        invoice_refs: Vec<(&'static str, Candidate)>,
        invoice_nos: Vec<((&'static str, &'static str), Candidate)>,
    }

    impl Lookup for Fake {
        fn case_by_agency_reference(&self, r: &str) -> Option<Candidate> {
            self.agency
                .iter()
                .find(|(k, _)| *k == r)
                .map(|(_, c)| c.clone())
        }
        fn cases_by_invoice_reference(&self, r: &str) -> Vec<Candidate> {
            self.invoice_refs
                .iter()
                .filter(|(k, _)| *k == r)
                .map(|(_, c)| c.clone())
                .collect()
        }
        fn case_by_invoice_no(&self, cr: &str, no: &str) -> Option<Candidate> {
            self.invoice_nos
                .iter()
                .find(|((c, n), _)| *c == cr && *n == no)
                .map(|(_, c)| c.clone())
        }
    }

    fn case(id: i64, creditor: &str, currency: &str) -> Candidate {
        Candidate {
            case_id: id,
            creditor_id: creditor.into(),
            currency: currency.into(),
        }
    }

    fn config() -> Config {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/kravflyt.toml"))
                .unwrap();
        let source = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config/kravflyt.toml"));
        Config::from_toml(&text, source, Path::new("/")).unwrap()
    }

    fn payment(kind: PaymentKind, reference: Option<&str>, currency: &str) -> PaymentRecord {
        PaymentRecord {
            position: Position::Line(2),
            payment_id: "P1".into(),
            kind,
            creditor_id: None,
            reference: reference.map(str::to_owned),
            invoice_no: None,
            amount_minor: 10_000,
            currency: currency.into(),
            payment_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
            payer_name: None,
            payer_account: None,
            reverses: None,
        }
    }

    fn fake() -> Fake {
        Fake {
            agency: vec![("7000000013", case(1, "923609016", "NOK"))],
            invoice_refs: vec![
                ("12345674", case(2, "923609016", "NOK")),
                ("55555553", case(3, "923609016", "NOK")),
                ("55555553", case(4, "987654325", "NOK")),
                ("99999997", case(5, "5566778899", "SEK")),
            ],
            invoice_nos: vec![(("923609016", "104510"), case(2, "923609016", "NOK"))],
        }
    }

    #[test]
    fn every_reason_and_every_way_to_match() {
        let config = config();
        let bank = config.sender("bank").unwrap();
        let f = fake();
        let check = |p: PaymentRecord| match_payment(&p, bank, &f);
        assert_eq!(
            check(payment(PaymentKind::Bank, Some("7000000013"), "NOK"))
                .unwrap()
                .1,
            MatchedBy::AgencyReference
        );
        assert_eq!(
            check(payment(PaymentKind::Bank, Some("12345674"), "NOK"))
                .unwrap()
                .0
                .case_id,
            2
        );
        assert_eq!(
            check(payment(PaymentKind::Bank, Some("55555553"), "NOK")),
            Err(UnmatchedReason::AmbiguousReference)
        );
        assert_eq!(
            check(payment(PaymentKind::Bank, Some("7000000013"), "SEK")),
            Err(UnmatchedReason::CurrencyMismatch)
        );
        assert_eq!(
            check(payment(PaymentKind::Bank, None, "NOK")),
            Err(UnmatchedReason::NoReference)
        );
        assert_eq!(
            check(payment(PaymentKind::Bank, Some("7000000014"), "NOK")),
            Err(UnmatchedReason::BadCheckDigit)
        );
        assert_eq!(
            check(payment(PaymentKind::Bank, Some("7000000021"), "NOK")),
            Err(UnmatchedReason::UnknownReference)
        );
    }

    #[test]
    fn a_sender_never_reaches_a_creditor_it_does_not_act_for() {
        let config = config();
        let fjellstua = config.sender("fjellstua").unwrap();
        let f = fake();
        // The nordlys case's agency reference, reported by fjellstua as a direct payment to itself.
        let mut p = payment(PaymentKind::Direct, Some("12345674"), "NOK");
        p.creditor_id = Some("987654325".into());
        assert_eq!(
            match_payment(&p, fjellstua, &f),
            Err(UnmatchedReason::UnknownReference)
        );
        // An invoice number of another creditor.
        p.reference = None;
        p.invoice_no = Some("104510".into());
        p.creditor_id = Some("923609016".into());
        assert_eq!(
            match_payment(&p, fjellstua, &f),
            Err(UnmatchedReason::UnknownReference)
        );
        // Among two invoices with one reference, only its own creditor's counts.
        let mut p = payment(PaymentKind::Direct, Some("55555553"), "NOK");
        p.creditor_id = Some("987654325".into());
        assert_eq!(match_payment(&p, fjellstua, &f).unwrap().0.case_id, 4);
    }
}
