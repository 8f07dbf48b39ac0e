//! The canonical column names of SPEC §5.1, per file kind: the public contract of the CSV and
//! kravflyt XML formats.

use crate::domain::FileKind;

/// Invoice and credit note columns, with whether each is always required.
pub const INVOICE_COLUMNS: &[(&str, bool)] = &[
    ("creditor_id", true),
    ("invoice_no", true),
    ("document_type", false),
    ("credited_invoice_no", false),
    ("customer_no", true),
    ("debtor_type", true),
    ("debtor_name", true),
    ("debtor_id", false),
    ("address", true),
    ("postcode", true),
    ("city", true),
    ("country", false),
    ("email", false),
    ("issue_date", true),
    ("due_date", true),
    ("currency", true),
    ("amount", true),
    ("reference", false),
    ("reminder_fee", false),
    ("notice_sent_date", false),
    ("paid_amount", false),
];

/// Payment columns.
pub const PAYMENT_COLUMNS: &[(&str, bool)] = &[
    ("payment_id", true),
    ("creditor_id", false),
    ("kind", false),
    ("reference", false),
    ("invoice_no", false),
    ("amount", true),
    ("currency", true),
    ("payment_date", true),
    ("payer_name", false),
    ("payer_account", false),
    ("reverses", false),
];

/// Instruction columns.
pub const INSTRUCTION_COLUMNS: &[(&str, bool)] = &[
    ("instruction_id", true),
    ("creditor_id", true),
    ("invoice_no", false),
    ("case_no", false),
    ("action", true),
    ("amount", false),
    ("outcome", false),
    ("until_date", false),
    ("payment_id", false),
    ("reason", false),
];

/// The columns of one kind.
pub fn columns_of(kind: FileKind) -> &'static [(&'static str, bool)] {
    match kind {
        FileKind::Invoices => INVOICE_COLUMNS,
        FileKind::Payments => PAYMENT_COLUMNS,
        FileKind::Instructions => INSTRUCTION_COLUMNS,
    }
}

/// Whether `name` is a canonical column of any kind.
pub fn is_canonical(name: &str) -> bool {
    FileKind::ALL
        .iter()
        .any(|kind| columns_of(*kind).iter().any(|(c, _)| *c == name))
}

/// The `'static` canonical name equal to `name`, if it is one.
pub fn canonical_static(name: &str) -> Option<&'static str> {
    FileKind::ALL
        .iter()
        .flat_map(|k| columns_of(*k).iter())
        .map(|(c, _)| *c)
        .find(|c| *c == name)
}

/// The kind a header set belongs to, by the identifying column each kind alone has.
pub fn kind_of_header(columns: &[&str]) -> Option<FileKind> {
    let has = |name: &str| columns.contains(&name);
    match (
        has("instruction_id"),
        has("payment_id") && !has("instruction_id"),
        has("debtor_name"),
    ) {
        (true, _, false) => Some(FileKind::Instructions),
        (false, true, false) => Some(FileKind::Payments),
        (false, false, true) => Some(FileKind::Invoices),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_known_by_its_own_column() {
        assert_eq!(
            kind_of_header(&["creditor_id", "invoice_no", "debtor_name"]),
            Some(FileKind::Invoices)
        );
        assert_eq!(
            kind_of_header(&["payment_id", "amount"]),
            Some(FileKind::Payments)
        );
        assert_eq!(
            kind_of_header(&["instruction_id", "payment_id", "action"]),
            Some(FileKind::Instructions)
        );
        assert_eq!(kind_of_header(&["foo", "bar"]), None);
        assert_eq!(kind_of_header(&["payment_id", "debtor_name"]), None);
    }
}
