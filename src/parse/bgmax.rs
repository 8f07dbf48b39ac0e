//! Bankgirot BgMax (Sweden): records 01–70 → bank payment records, deposit and end totals checked.
