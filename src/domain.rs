//! Closed vocabularies of the domain: countries, debtor types, case states, events, file kinds.
//!
//! Every enum here is written to files and to the database by its explicit `as_str()` and read
//! back with `FromStr`, so renaming a variant can never silently change an output.

use std::fmt;
use std::str::FromStr;

/// Declares a closed enum with a stable text form used in files, JSON and the database.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable text form.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownValue {
                        what: stringify!($name),
                        value: s.to_owned(),
                        allowed: &[$($text),+],
                    }),
                }
            }
        }
    };
}

/// A text that is not one of an enum's allowed values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not one of {}", allowed.join(", "))]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
    pub allowed: &'static [&'static str],
}

text_enum! {
    /// The countries whose rules kravflyt knows.
    Country { No => "NO", Se => "SE", Fi => "FI" }
}

impl Country {
    /// The currency a creditor of this country invoices in unless it allows others.
    pub fn home_currency(self) -> &'static str {
        match self {
            Country::No => "NOK",
            Country::Se => "SEK",
            Country::Fi => "EUR",
        }
    }
}

text_enum! {
    /// Fees and rules differ between consumers and businesses.
    DebtorType { Person => "person", Business => "business" }
}

text_enum! {
    /// An invoice row is either a claim or a credit note reducing one.
    DocumentType { Invoice => "invoice", CreditNote => "credit_note" }
}

text_enum! {
    /// The step a creditor hands its new cases over at (SPEC §6.2).
    HandoverStep { Reminder => "reminder", Notice => "notice", Demand => "demand" }
}

text_enum! {
    /// Case states as written in every output (SPEC §6.2).
    CaseState {
        Registered => "registered",
        Reminder => "reminder",
        Notice => "notice",
        Demand => "demand",
        Collection => "collection",
        Legal => "legal",
        Disputed => "disputed",
        Paused => "paused",
        Closed => "closed",
    }
}

impl CaseState {
    /// Whether a new invoice of the same creditor and debtor joins a case in this state:
    /// Norway collects all claims together until the case has passed the payment demand.
    /// Disputed and paused cases are not joined: a new, undisputed claim must not be frozen
    /// with them.
    pub fn accepts_new_invoices(self) -> bool {
        match self {
            CaseState::Registered | CaseState::Reminder | CaseState::Notice | CaseState::Demand => {
                true
            }
            CaseState::Collection
            | CaseState::Legal
            | CaseState::Disputed
            | CaseState::Paused
            | CaseState::Closed => false,
        }
    }
}

text_enum! {
    /// Why a case was closed.
    CloseReason {
        Paid => "paid",
        Credited => "credited",
        Withdrawn => "withdrawn",
        WrittenOff => "written_off",
        NoReply => "no_reply",
    }
}

text_enum! {
    /// Kinds of case events, as written in status files.
    EventKind {
        Registered => "registered",
        InvoiceAdded => "invoice_added",
        Credited => "credited",
        FeesWrittenOff => "fees_written_off",
        Interest => "interest",
        Reminder => "reminder",
        Notice => "notice",
        Demand => "demand",
        Collection => "collection",
        HeavyCollectionFee => "heavy_collection_fee",
        LimitationWarning => "limitation_warning",
        Disputed => "disputed",
        DisputeReply => "dispute_reply",
        Paused => "paused",
        Resumed => "resumed",
        Legal => "legal",
        WrittenOff => "written_off",
        Payment => "payment",
        PaymentReversed => "payment_reversed",
        Reopened => "reopened",
        Closed => "closed",
    }
}

text_enum! {
    /// Where money was paid: to the agency's account, or to the creditor directly.
    PaymentKind { Bank => "bank", Direct => "direct" }
}

text_enum! {
    /// What an instruction asks for (SPEC §5.1, §6.4).
    Action {
        Dispute => "dispute",
        DisputeReply => "dispute_reply",
        Pause => "pause",
        Resume => "resume",
        Withdraw => "withdraw",
        WriteOff => "write_off",
        Legal => "legal",
        AssignPayment => "assign_payment",
    }
}

text_enum! {
    /// The creditor's answer to a dispute.
    DisputeOutcome {
        Maintain => "maintain",
        Accept => "accept",
        Legal => "legal",
        Withdraw => "withdraw",
    }
}

text_enum! {
    /// Why a payment could not be matched to a case (SPEC §6.1).
    UnmatchedReason {
        BadCheckDigit => "bad_check_digit",
        UnknownReference => "unknown_reference",
        AmbiguousReference => "ambiguous_reference",
        CurrencyMismatch => "currency_mismatch",
        NoReference => "no_reference",
    }
}

text_enum! {
    /// Balance components of a case; every posting belongs to one.
    Component {
        Principal => "principal",
        Interest => "interest",
        Fee => "fee",
        CollectionCost => "collection_cost",
    }
}

text_enum! {
    /// Inbound formats, detected from content (SPEC §5).
    InboundFormat {
        Csv => "csv",
        Peppol => "peppol-bis3",
        KravflytXml => "kravflyt-xml",
        Camt053 => "camt.053",
        Camt054 => "camt.054",
        OcrGiro => "ocr-giro",
        BgMax => "bgmax",
    }
}

text_enum! {
    /// What an inbound file carries; a file holds one kind.
    FileKind { Invoices => "invoices", Payments => "payments", Instructions => "instructions" }
}

text_enum! {
    /// The outcome of one inbound file, as written in its receipt.
    FileStatus {
        Accepted => "accepted",
        PartlyAccepted => "partly_accepted",
        Rejected => "rejected",
        Duplicate => "duplicate",
    }
}

text_enum! {
    /// What a sender does when some records of a file are invalid.
    OnInvalidRecord { Skip => "skip", RejectFile => "reject_file" }
}

text_enum! {
    /// The dialect a sender reads outbound files in.
    OutboundDialect { Csv => "csv", Xml => "xml" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_round_trips_through_its_text() {
        for state in CaseState::ALL {
            assert_eq!(state.as_str().parse::<CaseState>(), Ok(*state));
        }
    }

    #[test]
    fn unknown_text_names_the_allowed_values() {
        let err = "privat".parse::<DebtorType>().unwrap_err();
        assert_eq!(err.to_string(), "`privat` is not one of person, business");
    }

    #[test]
    fn only_cases_up_to_demand_take_new_invoices() {
        let joinable: Vec<_> = CaseState::ALL
            .iter()
            .filter(|s| s.accepts_new_invoices())
            .map(|s| s.as_str())
            .collect();
        assert_eq!(joinable, ["registered", "reminder", "notice", "demand"]);
    }
}

/// Open amounts of a case per component, in minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Balance {
    pub principal: i64,
    pub interest: i64,
    pub fees: i64,
    pub collection_costs: i64,
}

impl Balance {
    pub fn total(&self) -> i64 {
        self.principal + self.interest + self.fees + self.collection_costs
    }

    /// The open amount of one component, to add a posting to.
    pub fn component_mut(&mut self, component: Component) -> &mut i64 {
        match component {
            Component::Principal => &mut self.principal,
            Component::Interest => &mut self.interest,
            Component::Fee => &mut self.fees,
            Component::CollectionCost => &mut self.collection_costs,
        }
    }
}
