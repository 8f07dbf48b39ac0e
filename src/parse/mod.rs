//! Parsing: decoded text (or bytes, for fixed-width formats) → raw records with positions.

pub mod columns;
pub mod csv;
