//! The packet-set engine: exact sets of packets, the evaluators, and the
//! questions lints and translation validation ask.
//!
//! # For lint writers (the short version)
//! ```text
//! let an = Analysis::new(&policy)?;                 // or with_queries(&policy, &[extra matches])
//! an.coverage(rule, Approx::Over)                   // Covered { by } | Reached(packet) | Unknown
//! an.covered_rules(Approx::Over)                    // every never-applied rule + its coverers, both cores
//! an.redundancy(rule)                               // Redundant { by } | Needed(packet) | Unknown
//! an.overlaps(rule, Approx::Over)                   // earlier other-verdict rules sharing packets (+ witness)
//! an.reach(rule, a) / an.matched(rule, a) / an.decides(rule, a)
//! an.accepted(hook, a) / an.dropped(hook, a)        // Accept⁺/⁻, Drop⁺/⁻ as lazy EvalSets
//! set.intersect(&an.match_set(&m, a)?).minus(&boxes).check()   // Empty | Witness(packet) | Unknown
//! an.contexts(chain) == 0                           // a chain no base chain reaches
//! let (a, b) = Analysis::pair(&p, &q)?; compare(&a, &b, hook)?  // Same | Differ { packet, .. } | Unknown
//! trace(&policy, &packet)                           // hwc trace: steps, verdict, decider
//! "output udp uid 33 to 192.0.2.53 port 53".parse::<Packet>()?; packet.to_string()
//! ```
//!
//! Which approximation to ask (SEMANTICS.md §3): claim *safety* ("no packet
//! is accepted", "the rule never matches") from [`Approx::Over`]; report a
//! *definite* violation or liveness ("this packet is surely accepted") from
//! [`Approx::Under`]. A witness found only under `Over` rests on a test hwc
//! does not model (a rate limit, an opaque match): say so. `Unknown` means
//! the work budget ran out: fail closed (not proven).
//!
//! # Layers
//! - [`boxes`] — [`CBox`] (concrete `u128` coordinates of [`crate::ir::dim`])
//!   and [`ABox`] (`u32` atoms); box algebra; [`BoxSet`] (a plain union).
//! - [`atoms`] — the [`Space`] of one analysis: per-dimension cut points,
//!   atoms, conversion both ways, readable witness points ([`Space::pick`]).
//! - [`convert`] — IR tests and matches → unions of boxes (per
//!   [`Approx`]), the valid-packet universe of each hook
//!   ([`convert::is_valid`], [`convert::invalid_boxes`]).
//! - [`cover`] — the core primitive [`Coverer::run`] (`Covered |
//!   Uncovered(region) | Unknown`): recursive slab splitting with
//!   containment fast path, early exit, dedup of identical slabs, budget.
//! - [`index`] — a ternary k-d tree listing boxes that meet a box, by tag
//!   range ("earlier rules").
//! - [`set`] — [`set::PacketSet`], an owned exact set (terms "box minus
//!   boxes") with union, intersection, difference, emptiness, equality.
//! - [`eval`] — the box evaluator ([`eval::Analysis`]) and its questions.
//! - [`reference`](mod@reference) — the naive one-packet evaluator (oracle) and `trace`.
//! - [`packet`] — `Display`/`FromStr` for [`crate::ir::Packet`].
//! - [`algebra`], [`brute`] — one interface over the engine and a
//!   brute-force bitset oracle, for differential tests.
//!
//! # Invariants
//! - Exactness of atoms: every interval turned into atoms is aligned with
//!   the space's cuts ([`Space::interval`] refuses others with
//!   [`Unaligned`]); so every atom is wholly inside or outside every box,
//!   and any value of an atom stands for all of them. A space holds the
//!   well-known cuts ([`SpaceBuilder::new`]): the hook universes, every
//!   state and family, ICMP/ICMPv6 and ports of tcp/udp/sctp, uid/gid 0,
//!   kernel and socketless owners, `tcp 22`, `lo`, the ND/MLD/echo/error
//!   ICMP types. Anything else a question uses must be given when the
//!   analysis is built ([`eval::Analysis::with_queries`]).
//! - Boxes are never empty; a [`BoxSet`] with no boxes is the empty set.
//! - All boxes of one analysis refer to one `Space`; analyses compared
//!   with each other share it (`Arc`), checked at run time.
//! - Witnesses are valid packets of their hook ([`convert::is_valid`]):
//!   questions run on boxes tightened to the universe, and the universe's
//!   complement is always among the subtracted boxes.
//! - Questions never hang: every coverage check has a work budget
//!   ([`cover::DEFAULT_BUDGET`], [`eval::Analysis::set_budget`]); building
//!   an analysis is bounded too ([`eval::EvalError::TooComplex`]).
//! - The evaluator and the reference evaluator implement the same
//!   semantics (SEMANTICS.md, the brief's "Semantics of the IR"); the
//!   property tests in `tests/eval_props.rs` hold them to it.

pub mod algebra;
pub mod atoms;
pub mod boxes;
pub mod brute;
pub mod convert;
pub mod cover;
pub mod equiv;
pub mod eval;
pub mod index;
pub mod packet;
pub mod reference;
pub mod set;

pub use atoms::{Space, SpaceBuilder, Unaligned};
pub use boxes::{ABox, BoxSet, CBox, D};
pub use cover::{Cover, Coverer};
pub use eval::{
    compare, Analysis, Answer, Comparison, Coverage, EvalError, EvalSet, Overlap, Redundancy,
};
pub use reference::{trace, Decider, Trace, TraceStep, Tri};
pub use set::{PacketSet, SetAnswer};

/// Which side of an approximation a question wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Approx {
    /// Over-approximation (`Accept⁺`): a test hwc does not model may
    /// match, a rule may apply. Sound for "never" claims.
    Over,
    /// Under-approximation (`Accept⁻`): such a test is not known to match.
    /// Sound for "surely" claims.
    Under,
}

/// A rule of a policy: its chain and its position in the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct RuleRef {
    pub chain: crate::ir::ChainId,
    pub index: u32,
}
