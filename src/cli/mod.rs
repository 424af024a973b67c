//! cli

pub mod apply;
pub mod compile;
