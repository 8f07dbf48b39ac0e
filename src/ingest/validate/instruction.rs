//! Instruction rows (SPEC §5.1, §6.4) → [`InstructionRecord`]s. Whether an instruction fits
//! the case's state is decided when it is applied.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::diagnostic::{Diagnostic, Position, code};
use crate::domain::{Action, DisputeOutcome};
use crate::ingest::parse::RawRecord;
use crate::ingest::validate::Context;
use crate::ingest::validate::fields::Fields;
use crate::money;

/// What an instruction acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Invoice(String),
    Case(String),
}

/// A checked instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstructionRecord {
    pub position: Position,
    pub instruction_id: String,
    pub creditor_id: String,
    pub target: Target,
    pub action: Action,
    /// `dispute`: the disputed part in minor units; `None` disputes all of it.
    pub amount_minor: Option<i64>,
    /// `dispute_reply` only.
    pub outcome: Option<DisputeOutcome>,
    /// `pause` only: resume by itself on this date.
    pub until_date: Option<NaiveDate>,
    /// `assign_payment` only.
    pub payment_id: Option<String>,
    pub reason: Option<String>,
}

impl InstructionRecord {
    /// A fingerprint of the content (not the position): the same instruction id again with
    /// the same content is a no-op, with other content a conflict.
    pub fn fingerprint(&self) -> String {
        let (target_kind, target) = match &self.target {
            Target::Invoice(no) => ("invoice", no.as_str()),
            Target::Case(no) => ("case", no.as_str()),
        };
        let parts = [
            self.instruction_id.clone(),
            self.creditor_id.clone(),
            target_kind.to_owned(),
            target.to_owned(),
            self.action.as_str().to_owned(),
            self.amount_minor.map(|a| a.to_string()).unwrap_or_default(),
            self.outcome
                .map(|o| o.as_str().to_owned())
                .unwrap_or_default(),
            self.until_date.map(|d| d.to_string()).unwrap_or_default(),
            self.payment_id.clone().unwrap_or_default(),
            self.reason.clone().unwrap_or_default(),
        ];
        super::fingerprint(&parts)
    }
}

/// Checks one instruction row.
pub fn validate_instruction(
    ctx: Context<'_>,
    record: &RawRecord,
    decimal_separator: char,
) -> Result<InstructionRecord, Vec<Diagnostic>> {
    let mut f = Fields::new(record, "instruction_id", decimal_separator);
    let instruction_id = f.required_text("instruction_id");
    let creditor_id = f.required_text("creditor_id");
    if let Some(id) = &creditor_id {
        super::check_creditor(ctx, &mut f, id);
    }
    let invoice_no = f.text("invoice_no");
    let case_no = f.text("case_no");
    let target = match (invoice_no, case_no) {
        (Some(invoice), None) => Some(Target::Invoice(invoice)),
        (None, Some(case)) => Some(Target::Case(case)),
        (Some(_), Some(_)) => {
            f.problem(
                "case_no",
                code::BAD_VALUE,
                "give invoice_no or case_no, not both: one instruction acts on one thing",
            );
            None
        }
        (None, None) => {
            f.problem(
                "invoice_no",
                code::MISSING_FIELD,
                "an instruction needs the invoice_no or the case_no it acts on",
            );
            None
        }
    };
    let action = f.parsed::<Action, _>("action", true);
    let amount = f.amount("amount", false);
    let outcome = f.parsed::<DisputeOutcome, _>("outcome", false);
    let until_date = f.date("until_date", false);
    let payment_id = f.text("payment_id");
    let reason = f.text("reason");

    if let Some(action) = action {
        // Each optional column belongs to one action; anything else is a mistake worth saying.
        let only_for = |f: &mut Fields<'_>, column: &str, given: bool, wanted: Action| {
            if given && action != wanted {
                f.problem(
                    column,
                    code::BAD_VALUE,
                    format!("{column} is only for action {wanted}, not {action}"),
                );
            }
        };
        only_for(&mut f, "amount", amount.is_some(), Action::Dispute);
        only_for(&mut f, "outcome", outcome.is_some(), Action::DisputeReply);
        only_for(&mut f, "until_date", until_date.is_some(), Action::Pause);
        only_for(
            &mut f,
            "payment_id",
            payment_id.is_some(),
            Action::AssignPayment,
        );
        if action == Action::DisputeReply && outcome.is_none() && !f.has("outcome") {
            f.problem(
                "outcome",
                code::MISSING_FIELD,
                "a dispute_reply needs an outcome: maintain, accept, legal or withdraw",
            );
        }
        if action == Action::AssignPayment && payment_id.is_none() {
            f.problem(
                "payment_id",
                code::MISSING_FIELD,
                "assign_payment needs the payment_id of the unmatched payment to apply",
            );
        }
    }
    let amount_minor = match amount {
        Some(a) if a <= Decimal::ZERO && action == Some(Action::Dispute) => {
            f.problem(
                "amount",
                code::BAD_AMOUNT,
                "a disputed amount must be more than zero",
            );
            None
        }
        Some(a) => money::to_minor(a),
        None => None,
    };

    if !f.is_ok() {
        return Err(f.diagnostics);
    }
    match (instruction_id, creditor_id, target, action) {
        (Some(instruction_id), Some(creditor_id), Some(target), Some(action)) => {
            Ok(InstructionRecord {
                position: record.position(),
                instruction_id,
                creditor_id,
                target,
                action,
                amount_minor,
                outcome,
                until_date,
                payment_id,
                reason,
            })
        }
        _ => Err(vec![Diagnostic::at(
            record.position(),
            code::BAD_ROW,
            "the row is incomplete",
        )]),
    }
}
