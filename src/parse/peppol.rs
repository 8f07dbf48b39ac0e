//! PEPPOL BIS Billing 3.0 / EHF `Invoice` and `CreditNote` (UBL 2.1) → invoice records.
