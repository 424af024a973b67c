//! The packet-set engine (docs: see the end of this work).

pub mod atoms;
pub mod boxes;
pub mod convert;
pub mod cover;
pub mod index;

pub use atoms::{Space, SpaceBuilder, Unaligned};
pub use boxes::{ABox, BoxSet, CBox, D};
pub use cover::{Cover, Coverer};

/// Which side of an approximation a question wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Approx {
    /// Over-approximation (`Accept⁺`): a test hwc does not model may match.
    Over,
    /// Under-approximation (`Accept⁻`): such a test is not known to match.
    Under,
}
pub mod equiv;
pub mod eval;
pub mod packet;
pub mod reference;
pub mod set;

/// A rule of a policy: its chain and its position in the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct RuleRef {
    pub chain: crate::ir::ChainId,
    pub index: u32,
}
pub mod algebra;
pub mod brute;
