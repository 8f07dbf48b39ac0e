//! Validation: raw records → typed records, or diagnostics saying what is wrong and where.
//!
//! Pure: the configuration is an argument; no files, database or clock.

pub mod fields;
pub mod invoice;

use crate::config::{Config, Sender};

/// What validation needs to know about who sent a file.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub config: &'a Config,
    pub sender: &'a Sender,
}
