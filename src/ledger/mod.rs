//! The ledger's rules as plain functions over values, with no database in sight: which case a
//! payment belongs to (`matching`), how it is split (`allocation`), which lifecycle changes fit
//! a case (`lifecycle`), and what the daily steps do to a page of open cases (`daily`). The
//! `apply` layer loads their inputs from the store and writes their outputs back.

pub mod lifecycle;
pub mod matching;
pub mod allocation;
pub mod daily;
