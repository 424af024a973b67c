//! report

pub mod diff;
