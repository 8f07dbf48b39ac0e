//! ISO 20022 camt.053 and camt.054 bank statements → bank payment records.
