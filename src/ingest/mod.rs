//! Ingest: from a file's bytes to typed, checked records, all pure. The format is detected
//! from the content (`detect`), text decoded (`decode`), records parsed per format (`parse`)
//! and checked field by field (`validate`); `analysis` ties them together for one file and
//! streams its records to the file transaction.

pub mod detect;
pub mod decode;
pub mod parse;
pub mod validate;
pub mod analysis;
