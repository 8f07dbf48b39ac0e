//! kravflyt XML (`urn:kravflyt:xml:1`): invoices, payments and instructions with the canonical CSV columns as elements.
