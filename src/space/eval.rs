//! The box evaluator: which packets reach each rule, which it decides,
//! and what every hook accepts and drops.
//!
//! # Model
//! A *flow term* is a box of packets minus the leave sets of ranges of
//! rules (`Seg`s) and minus the invalid packets of the hook. The packets
//! that reach rule `i` of a chain instance are the union of the instance's
//! open terms `t` with `t.join <= i`, each minus the rules `t.join .. i` of
//! the chain. A rule's *enter* set (the packets its action applies to) and
//! *leave* set (the packets that do not continue past it) are unions of
//! boxes fixed per rule:
//!
//! | action | leave | after the rule |
//! |---|---|---|
//! | accept, drop, reject | match | decided |
//! | return | match | back to the caller (or the policy) |
//! | jump `c` | match | `c` runs on them; what `c` returns *rejoins* as new open terms after the jump |
//! | goto `c` | match | what `c` returns leaves the current chain too |
//! | log, continue | nothing | — |
//! | opaque target | nothing (`Over`) / match (`Under`) | any verdict |
//!
//! A user chain is evaluated once per *call context* (instance); a rule
//! reached from several jump sites reaches the union over its instances.
//!
//! # Approximations
//! Tests hwc does not model make a match's may-set `M⁺` (they match) and
//! must-set `M⁻` (they do not). Under [`Approx::Over`] a rule's enter set is
//! `M⁺` and its leave set `M⁻`: the sets are *may* sets (every packet that
//! can reach or be decided by a rule under some outcome of the unknowns is
//! in them), so `accepted(h, Over)` is `Accept⁺`, and "no packet reaches
//! this rule" proven under `Over` is sound. Under [`Approx::Under`] the
//! roles swap: *must* sets, `accepted(h, Under)` is `Accept⁻`. When the
//! policy has no unknowns both are the same computation (done once).
//!
//! INVARIANT: flow terms only reference rule ranges of their own mode, and
//! every `Seg::Rules` range lies inside its chain.

use super::atoms::{Space, Unaligned};
use super::boxes::{ABox, BoxSet, D};
use super::convert::{self, has_unknown, invalid_boxes};
use super::cover::{Cover, Coverer, DEFAULT_BUDGET};
use super::index::BoxIndex;
use super::packet::{coords, from_coords};
use super::reference::Decider;
use super::set::PacketSet;
use super::{Approx, RuleRef};
use crate::ir::{Action, ChainId, Family, Hook, Match, Packet, Policy, Verdict};
use rayon::prelude::*;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Why an analysis could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvalError {
    /// Too many call contexts or flow terms (pathological call graphs).
    TooComplex { what: &'static str, limit: usize },
    /// Chains nest deeper than the kernel allows (or the call graph has a cycle).
    TooDeep { chain: ChainId },
    /// A shared space lacks an interval of the policy.
    Unaligned(Unaligned),
    /// Sets of two analyses that do not share a space were combined.
    DifferentSpaces,
}

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EvalError::TooComplex { what, limit } => {
                write!(f, "the policy needs more than {limit} {what} to analyse")
            }
            EvalError::TooDeep { chain } => write!(f, "chain {} is nested too deeply", chain.0),
            EvalError::Unaligned(u) => write!(f, "{u}"),
            EvalError::DifferentSpaces => {
                write!(
                    f,
                    "the two analyses do not share a space (build them with `Analysis::pair`)"
                )
            }
        }
    }
}

impl std::error::Error for EvalError {}

const MAX_DEPTH: usize = 64;
const MAX_INSTANCES: usize = 200_000;
const MAX_TERMS: usize = 4_000_000;
/// Budget of the emptiness checks that prune flow terms while walking.
const PRUNE_BUDGET: u64 = 50_000;
const INVALID_TAG: u32 = u32::MAX;
/// Default total work of one bulk question (a few seconds at most).
pub const DEFAULT_BULK_BUDGET: u64 = 1_000_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Seg {
    /// The leave sets of rules `lo .. hi` of a chain.
    Rules { chain: u32, lo: u32, hi: u32 },
    /// The invalid packets of a hook.
    Invalid(Hook),
}

/// A set of packets at one hook: `pos` minus the segments' boxes.
#[derive(Clone, Debug)]
struct Term {
    hook: Hook,
    pos: ABox,
    negs: Vec<Seg>,
    /// More boxes to subtract (from [`EvalSet::minus`]).
    extra: Vec<ABox>,
}

#[derive(Clone, Debug)]
struct Open {
    pos: ABox,
    negs: Vec<Seg>,
    join: u32,
}

impl Open {
    /// The packets of this term that reach rule `i` of `chain`.
    fn closed(&self, chain: u32, i: u32) -> Vec<Seg> {
        self.closed_skipping(chain, i, None)
    }

    /// Like [`Open::closed`], as if rule `skip` (chain, index) were absent.
    fn closed_skipping(&self, chain: u32, i: u32, skip: Option<(u32, u32)>) -> Vec<Seg> {
        let mut negs = self.negs.clone();
        let mut push = |lo: u32, hi: u32| {
            if lo < hi {
                negs.push(Seg::Rules { chain, lo, hi });
            }
        };
        match skip {
            Some((c, k)) if c == chain && self.join <= k && k < i => {
                push(self.join, k);
                push(k + 1, i);
            }
            _ => push(self.join, i),
        }
        negs
    }
}

#[derive(Debug)]
struct Instance {
    chain: u32,
    hook: Hook,
    parent: Option<(u32, u32)>,
    via_goto: bool,
    open: Vec<Open>,
}

/// Enter and leave boxes of every rule in one approximation.
#[derive(Debug, Default)]
struct ModeBoxes {
    arena: Vec<ABox>,
    enter: Vec<(u32, u32)>,
    leave: Vec<(u32, u32)>,
    leave_index: Vec<BoxIndex>,
    /// `None`: the same as `leave_index`.
    enter_index: Vec<Option<BoxIndex>>,
}

#[derive(Debug, Default)]
struct Flow {
    insts: Vec<Instance>,
    chain_insts: Vec<Vec<u32>>,
    /// Per hook: packets that reach the base chain's policy.
    ends: [Vec<Term>; 3],
    /// Per hook: packets the policy does not filter (accepted).
    free: [Vec<Term>; 3],
    terms: usize,
}

fn hi(h: Hook) -> usize {
    match h {
        Hook::Input => 0,
        Hook::Output => 1,
        Hook::Forward => 2,
    }
}

/// Scratch space for questions (one per thread).
#[derive(Default)]
struct Scratch {
    cov: Coverer,
    stack: Vec<u32>,
    tags: Vec<u32>,
    negs: Vec<Seg>,
    /// Work spent by the coverage checks run with this scratch.
    spent: u64,
    /// Upper bound on the budget of the next rule question (the rest of a
    /// bulk question's total budget).
    allowance: u64,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            allowance: u64::MAX,
            ..Default::default()
        }
    }
}

/// The answer of an emptiness question about packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Empty,
    Witness(Packet),
    Unknown,
}

impl Answer {
    pub fn is_empty(&self) -> Option<bool> {
        match self {
            Answer::Empty => Some(true),
            Answer::Witness(_) => Some(false),
            Answer::Unknown => None,
        }
    }

    pub fn witness(self) -> Option<Packet> {
        match self {
            Answer::Witness(p) => Some(p),
            _ => None,
        }
    }
}

/// Does any packet reach a rule and match it?
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Coverage {
    /// No: every packet that matches it is diverted earlier by the rules in
    /// `by` (leave sets of earlier rules, in any chain on the way). An empty
    /// `by` means no valid packet reaches the rule and matches it at all (an
    /// unreached chain, or a match impossible at the hook).
    Covered { by: Vec<RuleRef> },
    /// Yes: a packet that reaches the rule and matches it.
    Reached(Packet),
    /// The work budget ran out.
    Unknown,
}

/// Would removing a rule change some packet's verdict?
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redundancy {
    /// No: every packet the rule decides would get the same verdict from
    /// what follows; `by` lists what would decide them.
    Redundant {
        by: Vec<Decider>,
    },
    /// Yes: this packet's verdict would change.
    Needed(Packet),
    Unknown,
    /// The rule does not end evaluation (log, jump, ...).
    NotTerminal,
}

/// An earlier rule that decides, with another verdict, packets a rule
/// also matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlap {
    pub rule: RuleRef,
    /// A packet the earlier rule decides and the later rule matches.
    pub witness: Packet,
}

/// A decision met by [`Analysis::entry_decisions`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub by: Decider,
    /// `None`: an opaque target (any verdict).
    pub verdict: Option<Verdict>,
    /// A packet the rule matches that this decision decides.
    pub witness: Packet,
}

/// The answer of [`Analysis::entry_decisions`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EntryDecisions {
    pub found: Vec<Decision>,
    /// A check ran out of its budget: decisions may be missing.
    pub unknown: bool,
}

/// Do two policies accept the same packets at a hook?
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparison {
    Same,
    /// `packet` gets `left` from the first policy and `right` from the
    /// second. `definite` is false when the difference rests on tests hwc
    /// does not model (it may not happen).
    Differ {
        packet: Packet,
        left: Verdict,
        right: Verdict,
        definite: bool,
    },
    Unknown,
}

/// Atoms of the universe's bounds, for [`Analysis::tighten`].
#[derive(Debug, Clone, Copy)]
struct Bounds {
    v4_last: [u32; 2],
    none_port: [u32; 2],
    none_icmp: [u32; 2],
    port_protos: [u32; 3],
    icmp_protos: [u32; 2],
    user_last: [u32; 2],
    kernel: [u32; 2],
    nosock: [u32; 2],
}

impl Bounds {
    fn new(s: &Space) -> Bounds {
        use crate::ir::dim::{self, Dim};
        let a = |d: Dim, v: u128| s.atom_of(d as usize, v);
        let two = |d1: Dim, d2: Dim, v: u128| [a(d1, v), a(d2, v)];
        Bounds {
            v4_last: two(Dim::Src, Dim::Dst, u32::MAX as u128),
            none_port: two(Dim::Sport, Dim::Dport, dim::NONE_PORT),
            none_icmp: two(Dim::IcmpType, Dim::IcmpCode, dim::NONE_ICMP),
            port_protos: [
                a(Dim::Proto, dim::PROTO_TCP as u128),
                a(Dim::Proto, dim::PROTO_UDP as u128),
                a(Dim::Proto, dim::PROTO_SCTP as u128),
            ],
            icmp_protos: [
                a(Dim::Proto, dim::PROTO_ICMP as u128),
                a(Dim::Proto, dim::PROTO_ICMPV6 as u128),
            ],
            user_last: two(Dim::Uid, Dim::Gid, dim::KERNEL_SOCKET - 1),
            kernel: two(Dim::Uid, Dim::Gid, dim::KERNEL_SOCKET),
            nosock: two(Dim::Uid, Dim::Gid, dim::NO_SOCKET),
        }
    }
}

/// The analysis of one policy: flows per hook in both approximations.
pub struct Analysis<'p> {
    policy: &'p Policy,
    space: Arc<Space>,
    bounds: Bounds,
    off: Vec<u32>,
    structural: Vec<Vec<u32>>,
    invalid: [Vec<ABox>; 3],
    boxes: Vec<ModeBoxes>,
    flows: Vec<Flow>,
    budget: u64,
    bulk_budget: u64,
}

impl std::fmt::Debug for Analysis<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analysis")
            .field("policy", &self.policy.name)
            .field("rules", &self.off.last())
            .field("exact", &self.is_exact())
            .finish()
    }
}

/// What a walk reports to its caller.
enum Halt {
    Error(EvalError),
    Stop,
}

impl From<EvalError> for Halt {
    fn from(e: EvalError) -> Halt {
        Halt::Error(e)
    }
}

/// A decision met by a continuation walk.
struct Event {
    /// The deciding rule (global id), `None` for a base chain's policy.
    rule: Option<u32>,
    /// `None`: an opaque target (any verdict).
    verdict: Option<Verdict>,
}

struct Walk<'a, 'f> {
    flow: Option<&'f mut Flow>,
    /// A rule (chain, index) the walk treats as removed.
    skip: Option<(u32, u32)>,
    on: Option<&'f mut dyn FnMut(Event, Term) -> bool>,
    scratch: &'a mut Scratch,
    terms: usize,
}

impl<'p> Analysis<'p> {
    /// Analyses a policy in a space built from it (and the well-known cuts).
    pub fn new(policy: &'p Policy) -> Result<Analysis<'p>, EvalError> {
        Analysis::with_queries(policy, &[])
    }

    /// Like [`Analysis::new`], with extra matches the questions will use
    /// (so that [`Analysis::match_set`] converts them exactly).
    pub fn with_queries(policy: &'p Policy, extra: &[Match]) -> Result<Analysis<'p>, EvalError> {
        Analysis::with_space(policy, Arc::new(Space::for_policies(&[policy], extra)))
    }

    /// Two analyses in one shared space, for [`compare`].
    pub fn pair<'q>(
        a: &'p Policy,
        b: &'q Policy,
    ) -> Result<(Analysis<'p>, Analysis<'q>), EvalError> {
        let space = Arc::new(Space::for_policies(&[a, b], &[]));
        Ok((
            Analysis::with_space(a, space.clone())?,
            Analysis::with_space(b, space)?,
        ))
    }

    /// Analyses a policy in a given space (which must contain its intervals).
    pub fn with_space(policy: &'p Policy, space: Arc<Space>) -> Result<Analysis<'p>, EvalError> {
        let mut off = Vec::with_capacity(policy.chains.len() + 1);
        let mut n = 0u32;
        for c in &policy.chains {
            off.push(n);
            n += c.rules.len() as u32;
        }
        off.push(n);
        let structural = policy
            .chains
            .iter()
            .map(|c| {
                c.rules
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| {
                        matches!(r.action, Action::Jump(_) | Action::Goto(_) | Action::Return)
                    })
                    .map(|(i, _)| i as u32)
                    .collect()
            })
            .collect();
        let mut invalid: [Vec<ABox>; 3] = Default::default();
        for h in Hook::ALL {
            invalid[hi(h)] = invalid_boxes(h)
                .iter()
                .map(|b| space.abox(b))
                .collect::<Result<_, _>>()
                .map_err(EvalError::Unaligned)?;
        }
        let exact = !policy
            .chains
            .iter()
            .flat_map(|c| &c.rules)
            .any(|r| has_unknown(&r.matches) || matches!(r.action, Action::Opaque(_)));
        let modes: &[Approx] = if exact {
            &[Approx::Over]
        } else {
            &[Approx::Over, Approx::Under]
        };
        let mut an = Analysis {
            policy,
            bounds: Bounds::new(&space),
            space,
            off,
            structural,
            invalid,
            boxes: Vec::new(),
            flows: Vec::new(),
            budget: DEFAULT_BUDGET,
            bulk_budget: DEFAULT_BULK_BUDGET,
        };
        for &m in modes {
            let b = an.build_boxes(m)?;
            an.boxes.push(b);
        }
        for mi in 0..modes.len() {
            let f = an.build_flow(mi)?;
            an.flows.push(f);
        }
        Ok(an)
    }

    fn build_boxes(&self, mode: Approx) -> Result<ModeBoxes, EvalError> {
        let total = *self.off.last().unwrap_or(&0) as usize;
        let mut mb = ModeBoxes {
            arena: Vec::with_capacity(total * 2),
            enter: Vec::with_capacity(total),
            leave: Vec::with_capacity(total),
            ..Default::default()
        };
        let shape = self.space.shape();
        for (ci, c) in self.policy.chains.iter().enumerate() {
            // Conversion is independent per rule: on all cores.
            let converted: Vec<(Vec<ABox>, Option<Vec<ABox>>)> = c
                .rules
                .par_iter()
                .map(|r| self.rule_boxes(r, mode))
                .collect::<Result<_, _>>()?;
            let mut leave_items = Vec::new();
            let mut enter_items = Vec::new();
            for (i, (enter, leave)) in converted.into_iter().enumerate() {
                let g = self.off[ci] + i as u32;
                let push = |mb: &mut ModeBoxes, v: &[ABox]| -> (u32, u32) {
                    let s = mb.arena.len() as u32;
                    mb.arena.extend_from_slice(v);
                    (s, mb.arena.len() as u32)
                };
                let er = push(&mut mb, &enter);
                let lr = match &leave {
                    Some(l) if *l != enter => push(&mut mb, l),
                    _ => er,
                };
                let leave = leave.as_ref().unwrap_or(&enter);
                leave_items.extend(leave.iter().map(|b| (*b, g)));
                enter_items.extend(enter.iter().map(|b| (*b, g)));
                mb.enter.push(er);
                mb.leave.push(lr);
            }
            let same = enter_items == leave_items;
            let (li, ei) = rayon::join(
                || BoxIndex::build(leave_items, &shape),
                || (!same).then(|| BoxIndex::build(enter_items, &shape)),
            );
            mb.leave_index.push(li);
            mb.enter_index.push(ei);
        }
        Ok(mb)
    }

    /// The enter and leave boxes of a rule in one approximation (`None`
    /// leave: the same as enter).
    fn rule_boxes(
        &self,
        r: &crate::ir::Rule,
        mode: Approx,
    ) -> Result<(Vec<ABox>, Option<Vec<ABox>>), EvalError> {
        let conv = |a: Approx| -> Result<Vec<ABox>, EvalError> {
            convert::match_boxes(&r.matches, a)
                .iter()
                .map(|b| self.space.abox(b))
                .collect::<Result<Vec<_>, _>>()
                .map_err(EvalError::Unaligned)
        };
        let plus = conv(Approx::Over)?;
        let minus = if has_unknown(&r.matches) {
            Some(conv(Approx::Under)?)
        } else {
            None
        };
        Ok(match (&r.action, minus) {
            (Action::Log(_) | Action::Continue(_), None) => (plus, Some(Vec::new())),
            (Action::Log(_) | Action::Continue(_), Some(minus)) => match mode {
                Approx::Over => (plus, Some(Vec::new())),
                Approx::Under => (minus, Some(Vec::new())),
            },
            // An opaque target may end the chain with any verdict, or not.
            (Action::Opaque(_), _) => match mode {
                Approx::Over => (plus, Some(Vec::new())),
                Approx::Under => (Vec::new(), Some(plus)),
            },
            (_, None) => (plus, None),
            (_, Some(minus)) => match mode {
                Approx::Over => (plus, Some(minus)),
                Approx::Under => (minus, Some(plus)),
            },
        })
    }

    fn build_flow(&self, mi: usize) -> Result<Flow, EvalError> {
        let mut flow = Flow {
            chain_insts: vec![Vec::new(); self.policy.chains.len()],
            ..Default::default()
        };
        let mut scratch = Scratch::new();
        let full = self.space.full();
        for h in Hook::ALL {
            let fam_box = |f: Family| -> ABox {
                let a = match f {
                    Family::V4 => 0,
                    Family::V6 => 1,
                };
                let mut b = full;
                b.lo[0] = a;
                b.hi[0] = a;
                b
            };
            let base = self.policy.base_chain(h);
            let mut init = Vec::new();
            for f in Family::ALL {
                let t = Term {
                    hook: h,
                    pos: fam_box(f),
                    negs: vec![Seg::Invalid(h)],
                    extra: Vec::new(),
                };
                if base.is_some() && self.policy.family.contains(f) {
                    init.push(Open {
                        pos: t.pos,
                        negs: t.negs,
                        join: 0,
                    });
                } else {
                    flow.free[hi(h)].push(t);
                }
            }
            let Some(base) = base else { continue };
            let mut w = Walk {
                flow: Some(&mut flow),
                skip: None,
                on: None,
                scratch: &mut scratch,
                terms: 0,
            };
            let ends = match self.walk(mi, &mut w, h, base.0, 0, init, None, false, 0) {
                Ok(e) => e,
                Err(Halt::Error(e)) => return Err(e),
                Err(Halt::Stop) => Vec::new(),
            };
            let terms = w.terms;
            flow.terms += terms;
            flow.ends[hi(h)] = ends;
        }
        Ok(flow)
    }

    /// Walks rules `start..` of one chain instance. Recording walks (with
    /// `w.flow`) visit only jump, goto and return rules and store the
    /// instance; checking walks (with `w.on`) visit every rule that
    /// intersects their terms and report decisions.
    #[allow(clippy::too_many_arguments)]
    fn walk(
        &self,
        mi: usize,
        w: &mut Walk,
        hook: Hook,
        chain: u32,
        start: u32,
        init: Vec<Open>,
        parent: Option<(u32, u32)>,
        via_goto: bool,
        depth: usize,
    ) -> Result<Vec<Term>, Halt> {
        if depth > MAX_DEPTH {
            return Err(EvalError::TooDeep {
                chain: ChainId(chain),
            }
            .into());
        }
        let mb = &self.boxes[mi];
        let id = match w.flow.as_deref_mut() {
            Some(f) => {
                if f.insts.len() >= MAX_INSTANCES {
                    return Err(EvalError::TooComplex {
                        what: "call contexts",
                        limit: MAX_INSTANCES,
                    }
                    .into());
                }
                let id = f.insts.len() as u32;
                f.insts.push(Instance {
                    chain,
                    hook,
                    parent,
                    via_goto,
                    open: Vec::new(),
                });
                f.chain_insts[chain as usize].push(id);
                Some(id)
            }
            None => None,
        };
        let rules = &self.policy.chains[chain as usize].rules;
        let n = rules.len() as u32;
        let off = self.off[chain as usize];
        let mut open = init;
        // Open terms that a rule's leave set took entirely (by index).
        let mut consumed: Vec<bool> = Vec::new();
        let mut returns = Vec::new();
        let checking = w.on.is_some();
        let mut pending: BinaryHeap<Reverse<u32>> = BinaryHeap::new();
        if checking {
            for t in &open {
                self.push_pending(
                    mi,
                    chain,
                    &t.pos,
                    start.max(t.join),
                    &mut pending,
                    &mut w.scratch.stack,
                );
            }
        }
        let structural = &self.structural[chain as usize];
        let mut si = structural.partition_point(|&x| x < start);
        let mut last: Option<u32> = None;
        loop {
            let j = if checking {
                let mut next = None;
                while let Some(Reverse(j)) = pending.pop() {
                    if last.map_or(true, |l| j > l) {
                        next = Some(j);
                        break;
                    }
                }
                next
            } else {
                let x = structural.get(si).copied();
                si += 1;
                x
            };
            let Some(j) = j else { break };
            last = Some(j);
            if w.skip == Some((chain, j)) {
                continue;
            }
            let g = off + j;
            let (ea, eb) = mb.enter[g as usize];
            let enter = &mb.arena[ea as usize..eb as usize];
            let (la, lb) = mb.leave[g as usize];
            let leave = &mb.arena[la as usize..lb as usize];
            let mut pieces = Vec::new();
            for (k, t) in open.iter().enumerate() {
                if t.join > j || consumed.get(k).copied().unwrap_or(false) {
                    continue;
                }
                for e in enter {
                    if let Some(pos) = t.pos.intersect(e) {
                        pieces.push(Term {
                            hook,
                            pos,
                            negs: t.closed_skipping(chain, j, w.skip),
                            extra: Vec::new(),
                        });
                    }
                }
                // A term inside the rule's leave set goes no further in
                // this chain: later rules never see it (an optimisation;
                // the closed negations would make it empty anyway).
                if leave.iter().any(|b| b.contains(&t.pos)) {
                    if consumed.len() <= k {
                        consumed.resize(k + 1, false);
                    }
                    consumed[k] = true;
                }
            }
            if pieces.is_empty() {
                continue;
            }
            w.terms += pieces.len();
            if w.terms > MAX_TERMS {
                return Err(EvalError::TooComplex {
                    what: "flow terms",
                    limit: MAX_TERMS,
                }
                .into());
            }
            match &rules[j as usize].action {
                Action::Accept | Action::Drop | Action::Reject(_) | Action::Opaque(_) => {
                    if let Some(on) = w.on.as_deref_mut() {
                        let verdict = rules[j as usize].action.verdict();
                        for p in pieces {
                            if !on(
                                Event {
                                    rule: Some(g),
                                    verdict,
                                },
                                p,
                            ) {
                                return Err(Halt::Stop);
                            }
                        }
                    }
                }
                Action::Log(_) | Action::Continue(_) => {}
                Action::Return => returns.extend(pieces),
                Action::Jump(c) | Action::Goto(c) => {
                    let entry: Vec<Open> = self
                        .prune(mi, pieces, w.scratch)
                        .into_iter()
                        .map(|t| Open {
                            pos: t.pos,
                            negs: t.negs,
                            join: 0,
                        })
                        .collect();
                    if entry.is_empty() {
                        continue;
                    }
                    let goto = matches!(rules[j as usize].action, Action::Goto(_));
                    let rets = self.walk(
                        mi,
                        w,
                        hook,
                        c.0,
                        0,
                        entry,
                        id.map(|i| (i, j)),
                        goto,
                        depth + 1,
                    )?;
                    if goto {
                        returns.extend(rets);
                    } else {
                        for r in self.prune(mi, rets, w.scratch) {
                            if checking {
                                self.push_pending(
                                    mi,
                                    chain,
                                    &r.pos,
                                    j + 1,
                                    &mut pending,
                                    &mut w.scratch.stack,
                                );
                            }
                            open.push(Open {
                                pos: r.pos,
                                negs: r.negs,
                                join: j + 1,
                            });
                        }
                    }
                }
            }
        }
        for (k, t) in open.iter().enumerate() {
            if consumed.get(k).copied().unwrap_or(false) {
                continue;
            }
            returns.push(Term {
                hook,
                pos: t.pos,
                negs: t.closed_skipping(chain, n, w.skip),
                extra: Vec::new(),
            });
        }
        if let (Some(f), Some(id)) = (w.flow.as_deref_mut(), id) {
            f.insts[id as usize].open = open;
        }
        Ok(returns)
    }

    fn push_pending(
        &self,
        mi: usize,
        chain: u32,
        pos: &ABox,
        from: u32,
        pending: &mut BinaryHeap<Reverse<u32>>,
        stack: &mut Vec<u32>,
    ) {
        let mb = &self.boxes[mi];
        let off = self.off[chain as usize];
        let end = self.off[chain as usize + 1];
        let idx = mb.enter_index[chain as usize]
            .as_ref()
            .unwrap_or(&mb.leave_index[chain as usize]);
        idx.query(pos, off + from, end, stack, |_, t| {
            pending.push(Reverse(t - off))
        });
        // Rules with an empty enter set never matter; structural rules
        // with a non-empty one are found by the query like any other.
    }

    /// Drops terms that are provably empty (cheaply).
    fn prune(&self, mi: usize, terms: Vec<Term>, s: &mut Scratch) -> Vec<Term> {
        terms
            .into_iter()
            .filter(|t| {
                !matches!(
                    self.check_core(
                        mi,
                        t.hook,
                        &t.pos,
                        &t.negs,
                        &t.extra,
                        s,
                        PRUNE_BUDGET,
                        false
                    ),
                    Cover::Covered
                )
            })
            .collect()
    }

    /// Loads the negative boxes of `negs` that meet `q` into the coverer.
    fn gather(&self, mi: usize, negs: &[Seg], q: &ABox, s: &mut Scratch) {
        let mb = &self.boxes[mi];
        for seg in negs {
            match *seg {
                Seg::Rules { chain, lo, hi: h } => {
                    let off = self.off[chain as usize];
                    let cov = &mut s.cov;
                    mb.leave_index[chain as usize].query(
                        q,
                        off + lo,
                        off + h,
                        &mut s.stack,
                        |b, t| cov.push(*b, t),
                    );
                }
                Seg::Invalid(h) => {
                    for b in &self.invalid[hi(h)] {
                        if b.intersects(q) {
                            s.cov.push(*b, INVALID_TAG);
                        }
                    }
                }
            }
        }
    }

    fn check_term(&self, mi: usize, t: &Term, s: &mut Scratch, budget: u64) -> Cover {
        self.check_core(mi, t.hook, &t.pos, &t.negs, &t.extra, s, budget, true)
    }

    /// Is `pos` minus the segments' boxes empty? `readable` chooses the
    /// first probe point: a readable one (slower to build) or any point.
    #[allow(clippy::too_many_arguments)]
    fn check_core(
        &self,
        mi: usize,
        hook: Hook,
        pos: &ABox,
        negs: &[Seg],
        more: &[ABox],
        s: &mut Scratch,
        budget: u64,
        readable: bool,
    ) -> Cover {
        s.cov.clear();
        let Some(q) = self.tighten(pos, hook) else {
            return Cover::Covered;
        };
        self.gather(mi, negs, &q, s);
        for b in more.iter().filter(|b| b.intersects(&q)) {
            s.cov.push(*b, INVALID_TAG);
        }
        let probe = if readable {
            self.space.point(&self.space.pick(&q, Some(hook)))
        } else {
            self.quick_probe(&q)
        };
        let r = s.cov.run(&q, Some(&probe), budget);
        s.spent += s.cov.work();
        r
    }

    /// A point of a tightened box that is likely valid (cheap: no search).
    fn quick_probe(&self, q: &ABox) -> [u32; D] {
        use crate::ir::dim::Dim::*;
        let k = &self.bounds;
        let mut p = q.lo;
        let inr = |d: crate::ir::dim::Dim, a: u32| q.lo[d as usize] <= a && a <= q.hi[d as usize];
        if inr(Proto, k.port_protos[0]) {
            p[Proto as usize] = k.port_protos[0];
        }
        let proto = p[Proto as usize];
        let fam = p[Family as usize].min(1) as usize;
        let ports = k.port_protos.contains(&proto);
        for (j, d) in [Sport, Dport].into_iter().enumerate() {
            if !ports && inr(d, k.none_port[j]) {
                p[d as usize] = k.none_port[j];
            }
        }
        let icmp = k.icmp_protos[fam] == proto;
        for (j, d) in [IcmpType, IcmpCode].into_iter().enumerate() {
            if !icmp && inr(d, k.none_icmp[j]) {
                p[d as usize] = k.none_icmp[j];
            }
        }
        // Owners: tie the gid to the uid's kind.
        let uid = p[Uid as usize];
        if uid > k.user_last[0] {
            let tied = if uid == k.kernel[0] {
                k.kernel[1]
            } else {
                k.nosock[1]
            };
            if inr(Gid, tied) {
                p[Gid as usize] = tied;
            }
        }
        p
    }

    /// Is the rule's matched set empty? Visits its terms without building
    /// them. On `Covered`, the covering tags are in `s.tags`.
    fn rule_cover(&self, mi: usize, r: RuleRef, s: &mut Scratch, readable: bool) -> (Cover, Hook) {
        let f = &self.flows[mi];
        let mb = &self.boxes[mi];
        let (ea, eb) = mb.enter[self.global(r) as usize];
        let enter = &mb.arena[ea as usize..eb as usize];
        s.tags.clear();
        let mut unknown = None;
        for &id in &f.chain_insts[r.chain.0 as usize] {
            let inst = &f.insts[id as usize];
            for t in inst.open.iter().filter(|t| t.join <= r.index) {
                // The term's segments plus this chain's rules before r.
                let mut negs = std::mem::take(&mut s.negs);
                negs.clear();
                negs.extend_from_slice(&t.negs);
                if t.join < r.index {
                    negs.push(Seg::Rules {
                        chain: inst.chain,
                        lo: t.join,
                        hi: r.index,
                    });
                }
                for e in enter {
                    let Some(pos) = t.pos.intersect(e) else {
                        continue;
                    };
                    let budget = self.budget.min(s.allowance);
                    let res = self.check_core(mi, inst.hook, &pos, &negs, &[], s, budget, readable);
                    match res {
                        Cover::Covered => {
                            let tags = s.cov.covering_tags();
                            s.tags.extend(tags);
                        }
                        Cover::Unknown => unknown = Some(inst.hook),
                        Cover::Uncovered(w) => {
                            s.negs = negs;
                            return (Cover::Uncovered(w), inst.hook);
                        }
                    }
                }
                s.negs = negs;
            }
        }
        match unknown {
            Some(h) => (Cover::Unknown, h),
            None => (Cover::Covered, Hook::Input),
        }
    }

    fn covering_rules(&self, tags: &mut Vec<u32>) -> Vec<RuleRef> {
        tags.sort_unstable();
        tags.dedup();
        tags.iter()
            .filter(|&&g| g != INVALID_TAG)
            .map(|&g| self.rule_of(g))
            .collect()
    }

    /// The smallest box holding the valid packets of `b` at `hook` that
    /// these simple rules find (`None`: no valid packet): IPv4 addresses,
    /// ports and ICMP fields by protocol, interfaces and owners by hook.
    /// Questions run on the tightened box, so most invalid boxes no longer
    /// touch it; they stay candidates, so the answer is the same.
    fn tighten(&self, b: &ABox, hook: Hook) -> Option<ABox> {
        use crate::ir::dim::Dim::*;
        let k = &self.bounds;
        let mut q = *b;
        let clip_hi = |q: &mut ABox, d: crate::ir::dim::Dim, hi: u32| {
            q.hi[d as usize] = q.hi[d as usize].min(hi)
        };
        let clip_lo = |q: &mut ABox, d: crate::ir::dim::Dim, lo: u32| {
            q.lo[d as usize] = q.lo[d as usize].max(lo)
        };
        let single_family =
            (q.lo[Family as usize] == q.hi[Family as usize]).then_some(q.lo[Family as usize]);
        if single_family == Some(0) {
            clip_hi(&mut q, Src, k.v4_last[0]);
            clip_hi(&mut q, Dst, k.v4_last[1]);
        }
        let (plo, phi) = (q.lo[Proto as usize], q.hi[Proto as usize]);
        let inr = |a: u32| plo <= a && a <= phi;
        let has_port_proto = k.port_protos.iter().any(|&a| inr(a));
        let only_port_protos = plo == phi && has_port_proto;
        let icmp_atom = single_family.map(|f| k.icmp_protos[f as usize]);
        let has_icmp = match icmp_atom {
            Some(a) => inr(a),
            None => k.icmp_protos.iter().any(|&a| inr(a)),
        };
        let only_icmp = plo == phi && icmp_atom == Some(plo);
        for (j, d) in [Sport, Dport].into_iter().enumerate() {
            if !has_port_proto {
                clip_lo(&mut q, d, k.none_port[j]);
            } else if only_port_protos {
                clip_hi(&mut q, d, k.none_port[j] - 1);
            }
        }
        for (j, d) in [IcmpType, IcmpCode].into_iter().enumerate() {
            if !has_icmp {
                clip_lo(&mut q, d, k.none_icmp[j]);
            } else if only_icmp {
                clip_hi(&mut q, d, k.none_icmp[j] - 1);
            }
        }
        match hook {
            Hook::Input | Hook::Forward => {
                if hook == Hook::Input {
                    clip_hi(&mut q, Oif, 0);
                }
                for (j, d) in [Uid, Gid].into_iter().enumerate() {
                    clip_lo(&mut q, d, k.nosock[j]);
                    clip_hi(&mut q, d, k.nosock[j]);
                }
            }
            Hook::Output => {
                clip_hi(&mut q, Iif, 0);
                // uid and gid are tied.
                for (j, d, o) in [(0usize, Uid, Gid), (1, Gid, Uid)] {
                    let (lo, hi) = (q.lo[d as usize], q.hi[d as usize]);
                    let jo = 1 - j;
                    if hi <= k.user_last[j] {
                        clip_hi(&mut q, o, k.user_last[jo]);
                    } else if lo == k.kernel[j] && hi == k.kernel[j] {
                        clip_lo(&mut q, o, k.kernel[jo]);
                        clip_hi(&mut q, o, k.kernel[jo]);
                    } else if lo == k.nosock[j] {
                        clip_lo(&mut q, o, k.nosock[jo]);
                    } else if lo > k.user_last[j] {
                        clip_lo(&mut q, o, k.kernel[jo]);
                    }
                }
            }
        }
        (0..D).all(|d| q.lo[d] <= q.hi[d]).then_some(q)
    }

    fn packet(&self, region: &ABox, hook: Hook) -> Packet {
        from_coords(&self.space.pick(region, Some(hook)), hook)
    }

    fn mode(&self, a: Approx) -> usize {
        match a {
            Approx::Over => 0,
            Approx::Under => self.flows.len() - 1,
        }
    }

    fn rule_of(&self, g: u32) -> RuleRef {
        let c = self.off.partition_point(|&o| o <= g) - 1;
        RuleRef {
            chain: ChainId(c as u32),
            index: g - self.off[c],
        }
    }

    fn global(&self, r: RuleRef) -> u32 {
        self.off[r.chain.0 as usize] + r.index
    }

    // ----- public queries -----

    pub fn policy(&self) -> &'p Policy {
        self.policy
    }

    pub fn space(&self) -> &Space {
        &self.space
    }

    pub fn shared_space(&self) -> Arc<Space> {
        self.space.clone()
    }

    /// Whether the policy has no test or action hwc does not model (then
    /// `Over` and `Under` answers coincide).
    pub fn is_exact(&self) -> bool {
        self.flows.len() == 1
    }

    /// Sets the work budget of every later question (default
    /// [`DEFAULT_BUDGET`] candidate visits per coverage check).
    pub fn set_budget(&mut self, work: u64) {
        self.budget = work;
    }

    /// Sets the total work budget of one bulk question
    /// ([`Analysis::coverage_all`], [`Analysis::covered_rules`]); once it is
    /// spent, the remaining rules are answered `Unknown` (default
    /// [`DEFAULT_BULK_BUDGET`]).
    pub fn set_bulk_budget(&mut self, work: u64) {
        self.bulk_budget = work;
    }

    /// Number of call contexts in which the chain is evaluated (0: no base
    /// chain reaches it).
    pub fn contexts(&self, chain: ChainId) -> usize {
        self.flows[0].chain_insts[chain.0 as usize].len()
    }

    /// The boxes of a match in this analysis' space. Fails when the match
    /// uses a value the space was not built with (see [`Analysis::with_queries`]).
    pub fn match_set(&self, m: &Match, a: Approx) -> Result<BoxSet, Unaligned> {
        let boxes = convert::match_boxes(m, a)
            .iter()
            .map(|b| self.space.abox(b))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(BoxSet { boxes })
    }

    /// The packets that reach the rule (in any call context).
    pub fn reach(&self, r: RuleRef, a: Approx) -> EvalSet<'_> {
        let mi = self.mode(a);
        let f = &self.flows[mi];
        let mut terms = Vec::new();
        for &id in &f.chain_insts[r.chain.0 as usize] {
            let inst = &f.insts[id as usize];
            for t in inst.open.iter().filter(|t| t.join <= r.index) {
                terms.push(Term {
                    hook: inst.hook,
                    pos: t.pos,
                    negs: t.closed(inst.chain, r.index),
                    extra: Vec::new(),
                });
            }
        }
        EvalSet {
            an: self,
            mi,
            terms,
        }
    }

    /// The packets that reach the rule and match it: those its action
    /// applies to.
    pub fn matched(&self, r: RuleRef, a: Approx) -> EvalSet<'_> {
        let reach = self.reach(r, a);
        let mi = reach.mi;
        let (ea, eb) = self.boxes[mi].enter[self.global(r) as usize];
        let enter = BoxSet {
            boxes: self.boxes[mi].arena[ea as usize..eb as usize].to_vec(),
        };
        reach.intersect(&enter)
    }

    /// The verdict a terminal rule gives and the packets it decides.
    pub fn decides(&self, r: RuleRef, a: Approx) -> Option<(Verdict, EvalSet<'_>)> {
        let v = self.policy.chain(r.chain).rules[r.index as usize]
            .action
            .verdict()?;
        Some((v, self.matched(r, a)))
    }

    fn decisions(&self, hook: Hook, a: Approx, want: Verdict) -> EvalSet<'_> {
        let mi = self.mode(a);
        let f = &self.flows[mi];
        let mut terms = Vec::new();
        for inst in f.insts.iter().filter(|i| i.hook == hook) {
            let rules = &self.policy.chains[inst.chain as usize].rules;
            for (j, rule) in rules.iter().enumerate() {
                let applies = match rule.action.verdict() {
                    Some(v) => v == want,
                    None => matches!(rule.action, Action::Opaque(_)),
                };
                if !applies {
                    continue;
                }
                let (ea, eb) =
                    self.boxes[mi].enter[(self.off[inst.chain as usize] + j as u32) as usize];
                let enter = &self.boxes[mi].arena[ea as usize..eb as usize];
                for t in inst.open.iter().filter(|t| t.join <= j as u32) {
                    for e in enter {
                        if let Some(pos) = t.pos.intersect(e) {
                            terms.push(Term {
                                hook,
                                pos,
                                negs: t.closed(inst.chain, j as u32),
                                extra: Vec::new(),
                            });
                        }
                    }
                }
            }
        }
        if let Some(base) = self.policy.base_chain(hook) {
            if self.policy.chain(base).policy.unwrap_or(Verdict::Accept) == want {
                terms.extend(f.ends[hi(hook)].iter().cloned());
            }
        }
        if want == Verdict::Accept {
            terms.extend(f.free[hi(hook)].iter().cloned());
        }
        EvalSet {
            an: self,
            mi,
            terms,
        }
    }

    /// The packets the hook gives `want`, split by what decides them: one
    /// part per deciding rule (over all its call contexts), the base
    /// chain's policy, and the packets the policy does not filter
    /// (`NoBaseChain` / `FamilyNotFiltered`, accepted). The union of the
    /// parts is [`Analysis::accepted`] / [`Analysis::dropped`]; empty parts
    /// may be listed.
    pub fn decision_parts(
        &self,
        hook: Hook,
        a: Approx,
        want: Verdict,
    ) -> Vec<(Decider, EvalSet<'_>)> {
        let all = self.decisions(hook, a, want);
        let mi = all.mi;
        let f = &self.flows[mi];
        let mut parts: Vec<(Decider, EvalSet<'_>)> = Vec::new();
        let mut by_rule: std::collections::BTreeMap<RuleRef, usize> = Default::default();
        for inst in f.insts.iter().filter(|i| i.hook == hook) {
            let rules = &self.policy.chains[inst.chain as usize].rules;
            for (j, rule) in rules.iter().enumerate() {
                let applies = match rule.action.verdict() {
                    Some(v) => v == want,
                    None => matches!(rule.action, Action::Opaque(_)),
                };
                if !applies {
                    continue;
                }
                let r = RuleRef {
                    chain: ChainId(inst.chain),
                    index: j as u32,
                };
                let k = *by_rule.entry(r).or_insert_with(|| {
                    parts.push((
                        Decider::Rule(r),
                        EvalSet {
                            an: self,
                            mi,
                            terms: Vec::new(),
                        },
                    ));
                    parts.len() - 1
                });
                let (ea, eb) =
                    self.boxes[mi].enter[(self.off[inst.chain as usize] + j as u32) as usize];
                let enter = &self.boxes[mi].arena[ea as usize..eb as usize];
                for t in inst.open.iter().filter(|t| t.join <= j as u32) {
                    for e in enter {
                        if let Some(pos) = t.pos.intersect(e) {
                            parts[k].1.terms.push(Term {
                                hook,
                                pos,
                                negs: t.closed(inst.chain, j as u32),
                                extra: Vec::new(),
                            });
                        }
                    }
                }
            }
        }
        if let Some(base) = self.policy.base_chain(hook) {
            if self.policy.chain(base).policy.unwrap_or(Verdict::Accept) == want {
                parts.push((
                    Decider::Policy(base),
                    EvalSet {
                        an: self,
                        mi,
                        terms: f.ends[hi(hook)].clone(),
                    },
                ));
            }
        }
        if want == Verdict::Accept && !f.free[hi(hook)].is_empty() {
            let d = if self.policy.base_chain(hook).is_none() {
                Decider::NoBaseChain
            } else {
                Decider::FamilyNotFiltered
            };
            parts.push((
                d,
                EvalSet {
                    an: self,
                    mi,
                    terms: f.free[hi(hook)].clone(),
                },
            ));
        }
        parts
    }

    /// The packets the hook accepts: `Accept⁺` under `Over`, `Accept⁻`
    /// under `Under`. Includes families the policy does not filter.
    pub fn accepted(&self, hook: Hook, a: Approx) -> EvalSet<'_> {
        self.decisions(hook, a, Verdict::Accept)
    }

    /// The packets the hook drops (`Drop⁺` / `Drop⁻`).
    pub fn dropped(&self, hook: Hook, a: Approx) -> EvalSet<'_> {
        self.decisions(hook, a, Verdict::Drop)
    }

    /// Does some packet reach the rule and match it? Under `Over`,
    /// `Covered` is a sound "never matches"; under `Under`, `Reached` is a
    /// definite witness.
    pub fn coverage(&self, r: RuleRef, a: Approx) -> Coverage {
        self.coverage_with(r, a, &mut Scratch::new())
    }

    fn coverage_with(&self, r: RuleRef, a: Approx, s: &mut Scratch) -> Coverage {
        match self.rule_cover(self.mode(a), r, s, true) {
            (Cover::Covered, _) => {
                let mut tags = std::mem::take(&mut s.tags);
                let by = self.covering_rules(&mut tags);
                s.tags = tags;
                Coverage::Covered { by }
            }
            (Cover::Uncovered(w), h) => Coverage::Reached(self.packet(&w, h)),
            (Cover::Unknown, _) => Coverage::Unknown,
        }
    }

    /// [`Analysis::coverage`] of every rule, on all cores.
    pub fn coverage_all(&self, a: Approx) -> Vec<(RuleRef, Coverage)> {
        let total = *self.off.last().unwrap_or(&0);
        let spent = AtomicU64::new(0);
        (0..total)
            .into_par_iter()
            .map_init(Scratch::new, |s, g| {
                let r = self.rule_of(g);
                let res = self.bulk_step(&spent, s, |s| self.coverage_with(r, a, s));
                (r, res)
            })
            .collect()
    }

    /// Runs one question of a bulk question within what is left of its
    /// total budget.
    fn bulk_step<T>(
        &self,
        spent: &AtomicU64,
        s: &mut Scratch,
        f: impl FnOnce(&mut Scratch) -> T,
    ) -> T {
        s.allowance = self
            .bulk_budget
            .saturating_sub(spent.load(Ordering::Relaxed));
        s.spent = 0;
        let res = f(s);
        spent.fetch_add(s.spent, Ordering::Relaxed);
        s.allowance = u64::MAX;
        res
    }

    /// The rules that are never applied to any packet (sound under
    /// `Over`), with the rules that divert their packets; on all cores.
    /// Cheaper than [`Analysis::coverage_all`]: no witness packets. Rules
    /// whose check ran out of budget are left out.
    pub fn covered_rules(&self, a: Approx) -> Vec<(RuleRef, Vec<RuleRef>)> {
        let total = *self.off.last().unwrap_or(&0);
        let mi = self.mode(a);
        let spent = AtomicU64::new(0);
        (0..total)
            .into_par_iter()
            .map_init(Scratch::new, |s, g| {
                let r = self.rule_of(g);
                match self.bulk_step(&spent, s, |s| self.rule_cover(mi, r, s, false)) {
                    (Cover::Covered, _) => {
                        let mut tags = std::mem::take(&mut s.tags);
                        let by = self.covering_rules(&mut tags);
                        s.tags = tags;
                        Some((r, by))
                    }
                    _ => None,
                }
            })
            .flatten()
            .collect()
    }

    /// The earlier rules of the same chain whose leave sets meet this
    /// rule's match (a cheap index query: no emptiness check, so a listed
    /// rule may share only packets that never get this far).
    pub fn earlier_overlapping(&self, r: RuleRef, a: Approx) -> Vec<RuleRef> {
        let mi = self.mode(a);
        let mb = &self.boxes[mi];
        let chain = r.chain.0 as usize;
        let off = self.off[chain];
        let (ea, eb) = mb.enter[self.global(r) as usize];
        let mut out = Vec::new();
        let mut stack = Vec::new();
        for e in &mb.arena[ea as usize..eb as usize] {
            mb.leave_index[chain]
                .query(e, off, off + r.index, &mut stack, |_, g| out.push(g - off));
        }
        out.sort_unstable();
        out.dedup();
        out.into_iter()
            .map(|index| RuleRef {
                chain: r.chain,
                index,
            })
            .collect()
    }

    /// Earlier terminal rules of the same chain (same call context) with
    /// another verdict that decide packets this terminal rule matches.
    pub fn overlaps(&self, r: RuleRef, a: Approx) -> Vec<Overlap> {
        let Some(v) = self.policy.chain(r.chain).rules[r.index as usize]
            .action
            .verdict()
        else {
            return Vec::new();
        };
        let mi = self.mode(a);
        let mb = &self.boxes[mi];
        let f = &self.flows[mi];
        let chain = r.chain.0;
        let off = self.off[chain as usize];
        let rules = &self.policy.chain(r.chain).rules;
        let (ea, eb) = mb.enter[self.global(r) as usize];
        let enter = &mb.arena[ea as usize..eb as usize];
        let idx = mb.enter_index[chain as usize]
            .as_ref()
            .unwrap_or(&mb.leave_index[chain as usize]);
        let mut s = Scratch::new();
        let mut found: Vec<Overlap> = Vec::new();
        for &id in &f.chain_insts[chain as usize] {
            let inst = &f.insts[id as usize];
            for t in inst.open.iter().filter(|t| t.join <= r.index) {
                for e in enter {
                    let Some(q) = t.pos.intersect(e) else {
                        continue;
                    };
                    let mut cands: Vec<(ABox, u32)> = Vec::new();
                    let mut stack = Vec::new();
                    idx.query(&q, off + t.join, off + r.index, &mut stack, |b, g| {
                        cands.push((*b, g))
                    });
                    for (b, g) in cands {
                        let j = g - off;
                        let other = rules[j as usize].action.verdict();
                        if other.map_or(true, |w| w == v) || found.iter().any(|o| o.rule.index == j)
                        {
                            continue;
                        }
                        let Some(pos) = q.intersect(&b) else { continue };
                        let term = Term {
                            hook: inst.hook,
                            pos,
                            negs: t.closed(chain, j),
                            extra: Vec::new(),
                        };
                        if let Cover::Uncovered(w) = self.check_term(mi, &term, &mut s, self.budget)
                        {
                            found.push(Overlap {
                                rule: RuleRef {
                                    chain: r.chain,
                                    index: j,
                                },
                                witness: self.packet(&w, inst.hook),
                            });
                        }
                    }
                }
            }
        }
        found.sort_by_key(|o| o.rule.index);
        found
    }

    /// Would removing this terminal rule change a verdict? Answered under
    /// `Over` (sound: "redundant" holds whatever the unknown tests do).
    pub fn redundancy(&self, r: RuleRef) -> Redundancy {
        let Some(v) = self.policy.chain(r.chain).rules[r.index as usize]
            .action
            .verdict()
        else {
            return Redundancy::NotTerminal;
        };
        let mi = 0;
        let f = &self.flows[mi];
        let chain = r.chain.0;
        let (ea, eb) = self.boxes[mi].enter[self.global(r) as usize];
        let enter = &self.boxes[mi].arena[ea as usize..eb as usize];
        let mut by: Vec<Decider> = Vec::new();
        let mut unknown = false;
        let mut needed: Option<Packet> = None;
        let mut s = Scratch::new();
        let mut s2 = Scratch::new();
        for &id in &f.chain_insts[chain as usize] {
            let inst = &f.insts[id as usize];
            let mut init = Vec::new();
            for t in inst.open.iter().filter(|t| t.join <= r.index) {
                for e in enter {
                    if let Some(pos) = t.pos.intersect(e) {
                        init.push(Open {
                            pos,
                            negs: t.closed(chain, r.index),
                            join: r.index + 1,
                        });
                    }
                }
            }
            if init.is_empty() {
                continue;
            }
            let mut on = |ev: Event, term: Term| -> bool {
                let same = ev.verdict == Some(v);
                match self.check_term(mi, &term, &mut s2, self.budget) {
                    Cover::Covered => true,
                    Cover::Unknown => {
                        unknown = true;
                        true
                    }
                    Cover::Uncovered(w) => {
                        if same {
                            let d = match ev.rule {
                                Some(g) => Decider::Rule(self.rule_of(g)),
                                None => Decider::Policy(self.base_of(term.hook)),
                            };
                            if !by.contains(&d) {
                                by.push(d);
                            }
                            true
                        } else {
                            needed = Some(self.packet(&w, term.hook));
                            false
                        }
                    }
                }
            };
            match self.continue_from(
                mi,
                id,
                r.index + 1,
                init,
                &mut on,
                Some((chain, r.index)),
                &mut s,
            ) {
                Ok(()) | Err(Halt::Stop) => {}
                Err(Halt::Error(_)) => unknown = true,
            }
            if let Some(p) = needed {
                return Redundancy::Needed(p);
            }
        }
        if unknown {
            Redundancy::Unknown
        } else {
            Redundancy::Redundant { by }
        }
    }

    /// The packets that reach the end of the hook's base chain: its
    /// policy decides them (empty without a base chain).
    pub fn policy_reach(&self, hook: Hook, a: Approx) -> EvalSet<'_> {
        let mi = self.mode(a);
        EvalSet {
            an: self,
            mi,
            terms: self.flows[mi].ends[hi(hook)].clone(),
        }
    }

    /// The packets of the hook the policy does not filter (families it
    /// does not filter, or every packet when the hook has no base chain):
    /// they are accepted.
    pub fn unfiltered(&self, hook: Hook) -> EvalSet<'_> {
        EvalSet {
            an: self,
            mi: 0,
            terms: self.flows[0].free[hi(hook)].clone(),
        }
    }

    /// A packet whose verdict would change if the terminal rule `r` were
    /// removed (`Empty`: none, the rule is redundant). Cheaper than
    /// [`Analysis::redundancy`]: decisions with the rule's own verdict are
    /// not checked, and it stops at the first witness. Under `Over`.
    pub fn verdict_changes(&self, r: RuleRef) -> Answer {
        let Some(v) = self.policy.chain(r.chain).rules[r.index as usize]
            .action
            .verdict()
        else {
            return Answer::Unknown;
        };
        let mi = 0;
        let f = &self.flows[mi];
        let chain = r.chain.0;
        let (ea, eb) = self.boxes[mi].enter[self.global(r) as usize];
        let enter = &self.boxes[mi].arena[ea as usize..eb as usize];
        let mut unknown = false;
        let mut s = Scratch::default();
        let mut s2 = Scratch::default();
        for &id in &f.chain_insts[chain as usize] {
            let inst = &f.insts[id as usize];
            let mut init = Vec::new();
            for t in inst.open.iter().filter(|t| t.join <= r.index) {
                for e in enter {
                    if let Some(pos) = t.pos.intersect(e) {
                        init.push(Open {
                            pos,
                            negs: t.closed(chain, r.index),
                            join: r.index + 1,
                        });
                    }
                }
            }
            if init.is_empty() {
                continue;
            }
            let mut found: Option<Packet> = None;
            let mut on = |ev: Event, term: Term| -> bool {
                if ev.verdict == Some(v) {
                    return true;
                }
                match self.check_term(mi, &term, &mut s2, self.budget) {
                    Cover::Covered => true,
                    Cover::Unknown => {
                        unknown = true;
                        true
                    }
                    Cover::Uncovered(w) => {
                        found = Some(self.packet(&w, term.hook));
                        false
                    }
                }
            };
            match self.continue_from(
                mi,
                id,
                r.index + 1,
                init,
                &mut on,
                Some((chain, r.index)),
                &mut s,
            ) {
                Ok(()) | Err(Halt::Stop) => {}
                Err(Halt::Error(_)) => unknown = true,
            }
            if let Some(p) = found {
                return Answer::Witness(p);
            }
        }
        if unknown {
            Answer::Unknown
        } else {
            Answer::Empty
        }
    }

    /// How the packets that rule `r` matches are decided when they enter
    /// its chain, in every call context: the decisions (rules, or a base
    /// chain's policy) that some of them meet, each with a witness. For a
    /// rule that no packet reaches ([`Analysis::coverage`]) these are what
    /// decides its packets instead. Where no packet that `r` matches
    /// enters the chain in a context, the walk starts at the caller's
    /// entry instead (up to the base chain).
    ///
    /// Only decisions whose verdict `wanted` accepts are checked and
    /// reported, one witness per decider; the walk stops after `max` of
    /// them. Under `Over` a decision may rest on tests hwc does not model.
    pub fn entry_decisions(
        &self,
        r: RuleRef,
        a: Approx,
        wanted: &dyn Fn(Option<Verdict>) -> bool,
        max: usize,
    ) -> EntryDecisions {
        let mi = self.mode(a);
        let (ea, eb) = self.boxes[mi].enter[self.global(r) as usize];
        let enter = &self.boxes[mi].arena[ea as usize..eb as usize];
        self.decide_from(mi, r.chain, enter, true, wanted, &|_| false, max)
    }

    /// [`Analysis::entry_decisions`] for the packets of `r` inside
    /// `region` only.
    pub fn entry_decisions_within(
        &self,
        r: RuleRef,
        region: &BoxSet,
        a: Approx,
        wanted: &dyn Fn(Option<Verdict>) -> bool,
        max: usize,
    ) -> EntryDecisions {
        let mi = self.mode(a);
        let (ea, eb) = self.boxes[mi].enter[self.global(r) as usize];
        let enter = &self.boxes[mi].arena[ea as usize..eb as usize];
        let within: Vec<ABox> = enter
            .iter()
            .flat_map(|e| region.boxes.iter().filter_map(move |b| e.intersect(b)))
            .collect();
        self.decide_from(mi, r.chain, &within, true, wanted, &|_| false, max)
    }

    /// How the packets of `region` that enter `chain` (every packet of the
    /// hook, for a base chain) are decided: like
    /// [`Analysis::entry_decisions`], for a region instead of a rule's
    /// match. Packets of families the policy does not filter never enter
    /// a chain (see [`Analysis::unfiltered`]).
    ///
    /// `never`: rules known to decide no packet (rules no packet reaches,
    /// see [`Analysis::covered_rules`]); their decisions are not checked.
    pub fn decisions_in(
        &self,
        chain: ChainId,
        region: &BoxSet,
        a: Approx,
        wanted: &dyn Fn(Option<Verdict>) -> bool,
        never: &dyn Fn(RuleRef) -> bool,
        max: usize,
    ) -> EntryDecisions {
        self.decide_from(
            self.mode(a),
            chain,
            &region.boxes,
            false,
            wanted,
            never,
            max,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn decide_from(
        &self,
        mi: usize,
        chain: ChainId,
        region: &[ABox],
        climb: bool,
        wanted: &dyn Fn(Option<Verdict>) -> bool,
        never: &dyn Fn(RuleRef) -> bool,
        max: usize,
    ) -> EntryDecisions {
        let f = &self.flows[mi];
        let mut out = EntryDecisions::default();
        let mut s = Scratch::default();
        let mut s2 = Scratch::default();
        let mut level: Vec<u32> = f.chain_insts[chain.0 as usize].clone();
        let mut seen: Vec<u32> = Vec::new();
        // Deciders already found (a witness each).
        let mut seen_by: std::collections::HashSet<u64> = std::collections::HashSet::new();
        while !level.is_empty() && out.found.len() < max {
            let mut next = Vec::new();
            for id in level {
                if seen.contains(&id) {
                    continue;
                }
                seen.push(id);
                let inst = &f.insts[id as usize];
                let mut init = Vec::new();
                for t in inst.open.iter().filter(|t| t.join == 0) {
                    for e in region {
                        if let Some(pos) = t.pos.intersect(e) {
                            init.push(Open {
                                pos,
                                negs: t.negs.clone(),
                                join: 0,
                            });
                        }
                    }
                }
                if climb {
                    let entered = init.iter().any(|t| {
                        let term = Term {
                            hook: inst.hook,
                            pos: t.pos,
                            negs: t.negs.clone(),
                            extra: Vec::new(),
                        };
                        !matches!(
                            self.check_term(mi, &term, &mut s2, self.budget),
                            Cover::Covered
                        )
                    });
                    if !entered {
                        if let Some((p, _)) = inst.parent {
                            next.push(p);
                        }
                        continue;
                    }
                }
                if init.is_empty() {
                    continue;
                }
                let found = &mut out.found;
                let mut unknown = false;
                let mut on = |ev: Event, term: Term| -> bool {
                    if !wanted(ev.verdict) {
                        return true;
                    }
                    let (by, key) = match ev.rule {
                        Some(g) if never(self.rule_of(g)) => return true,
                        Some(g) => (Decider::Rule(self.rule_of(g)), g as u64),
                        None => (
                            Decider::Policy(self.base_of(term.hook)),
                            u32::MAX as u64 + hi(term.hook) as u64,
                        ),
                    };
                    if !seen_by.insert(key) {
                        return true;
                    }
                    match self.check_term(mi, &term, &mut s2, self.budget) {
                        Cover::Covered => {
                            // Another term may still reach it.
                            seen_by.remove(&key);
                            true
                        }
                        Cover::Unknown => {
                            seen_by.remove(&key);
                            unknown = true;
                            true
                        }
                        Cover::Uncovered(w) => {
                            found.push(Decision {
                                by,
                                verdict: ev.verdict,
                                witness: self.packet(&w, term.hook),
                            });
                            found.len() < max
                        }
                    }
                };
                match self.continue_from(mi, id, 0, init, &mut on, None, &mut s) {
                    Ok(()) | Err(Halt::Stop) => {}
                    Err(Halt::Error(_)) => unknown = true,
                }
                out.unknown |= unknown;
                if out.found.len() >= max {
                    break;
                }
            }
            level = next;
        }
        out
    }

    fn base_of(&self, hook: Hook) -> ChainId {
        self.policy.base_chain(hook).unwrap_or(ChainId(0))
    }

    /// Follows `init` from rule `start` of instance `id` to the end of the
    /// hook, reporting every decision (and the policy at the end).
    #[allow(clippy::too_many_arguments)]
    fn continue_from(
        &self,
        mi: usize,
        id: u32,
        start: u32,
        init: Vec<Open>,
        on: &mut dyn FnMut(Event, Term) -> bool,
        skip: Option<(u32, u32)>,
        s: &mut Scratch,
    ) -> Result<(), Halt> {
        let f = &self.flows[mi];
        let mut cur = id;
        let mut start = start;
        let mut terms = init;
        loop {
            let inst = &f.insts[cur as usize];
            let mut w = Walk {
                flow: None,
                skip,
                on: Some(&mut *on),
                scratch: s,
                terms: 0,
            };
            let rets = self.walk(
                mi, &mut w, inst.hook, inst.chain, start, terms, None, false, 0,
            )?;
            // Climb: a goto's callee returns from its caller too.
            let mut up = inst;
            loop {
                match up.parent {
                    None => {
                        let base = ChainId(up.chain);
                        let v = self.policy.chain(base).policy.unwrap_or(Verdict::Accept);
                        for t in rets {
                            if !on(
                                Event {
                                    rule: None,
                                    verdict: Some(v),
                                },
                                t,
                            ) {
                                return Err(Halt::Stop);
                            }
                        }
                        return Ok(());
                    }
                    Some((p, _)) if up.via_goto => up = &f.insts[p as usize],
                    Some((p, k)) => {
                        cur = p;
                        start = k + 1;
                        terms = rets
                            .into_iter()
                            .map(|t| Open {
                                pos: t.pos,
                                negs: t.negs,
                                join: k + 1,
                            })
                            .collect();
                        break;
                    }
                }
            }
        }
    }
}

/// A set of packets computed by an [`Analysis`] (lazy: its terms refer to
/// the analysis' rule indexes). Each term belongs to one hook.
#[derive(Clone)]
pub struct EvalSet<'a> {
    an: &'a Analysis<'a>,
    mi: usize,
    terms: Vec<Term>,
}

impl std::fmt::Debug for EvalSet<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvalSet")
            .field("terms", &self.terms.len())
            .finish()
    }
}

impl<'a> EvalSet<'a> {
    /// Is the set empty? A witness is a readable packet.
    pub fn check(&self) -> Answer {
        let mut s = Scratch::new();
        let mut unknown = false;
        for t in &self.terms {
            match self.an.check_term(self.mi, t, &mut s, self.an.budget) {
                Cover::Covered => {}
                Cover::Uncovered(w) => return Answer::Witness(self.an.packet(&w, t.hook)),
                Cover::Unknown => unknown = true,
            }
        }
        if unknown {
            Answer::Unknown
        } else {
            Answer::Empty
        }
    }

    pub fn is_empty(&self) -> Option<bool> {
        self.check().is_empty()
    }

    pub fn witness(&self) -> Option<Packet> {
        self.check().witness()
    }

    /// The set restricted to a union of boxes (e.g. a match's boxes).
    pub fn intersect(&self, bs: &BoxSet) -> EvalSet<'a> {
        let mut terms = Vec::new();
        for t in &self.terms {
            for b in &bs.boxes {
                if let Some(pos) = t.pos.intersect(b) {
                    terms.push(Term {
                        hook: t.hook,
                        pos,
                        negs: t.negs.clone(),
                        extra: t
                            .extra
                            .iter()
                            .filter(|x| x.intersects(&pos))
                            .copied()
                            .collect(),
                    });
                }
            }
        }
        EvalSet {
            an: self.an,
            mi: self.mi,
            terms,
        }
    }

    /// The packets of the set at one hook (a rule of a user chain that
    /// several hooks reach decides packets at each of them).
    pub fn at_hook(&self, hook: Hook) -> EvalSet<'a> {
        EvalSet {
            an: self.an,
            mi: self.mi,
            terms: self
                .terms
                .iter()
                .filter(|t| t.hook == hook)
                .cloned()
                .collect(),
        }
    }

    /// The set without the packets of a union of boxes (e.g. the entries
    /// of an `egress` block).
    pub fn minus(&self, bs: &BoxSet) -> EvalSet<'a> {
        let terms = self
            .terms
            .iter()
            .map(|t| {
                let mut t = t.clone();
                t.extra
                    .extend(bs.boxes.iter().filter(|b| b.intersects(&t.pos)));
                t
            })
            .collect();
        EvalSet {
            an: self.an,
            mi: self.mi,
            terms,
        }
    }

    /// The union of two sets of the same analysis and approximation.
    pub fn union(&self, o: &EvalSet<'a>) -> EvalSet<'a> {
        debug_assert!(std::ptr::eq(self.an, o.an) && self.mi == o.mi);
        let mut terms = self.terms.clone();
        terms.extend(o.terms.iter().cloned());
        EvalSet {
            an: self.an,
            mi: self.mi,
            terms,
        }
    }

    /// Does the set hold the packet?
    pub fn contains(&self, p: &Packet) -> bool {
        let pt = self.an.space.point(&coords(p));
        let mut stack = Vec::new();
        self.terms.iter().any(|t| {
            t.hook == p.hook
                && t.pos.contains_point(&pt)
                && !t.extra.iter().any(|b| b.contains_point(&pt))
                && !self.an.neg_holds(self.mi, &t.negs, &pt, &mut stack)
        })
    }

    /// The set as an owned [`PacketSet`], restricted to one hook (each
    /// term's negative boxes are copied: fine for hwc-sized policies).
    pub fn materialize(&self, hook: Hook) -> PacketSet {
        let mut s = Scratch::new();
        let mut out = PacketSet::empty();
        for t in self.terms.iter().filter(|t| t.hook == hook) {
            s.cov.clear();
            self.an.gather(self.mi, &t.negs, &t.pos, &mut s);
            let mut negs: Vec<ABox> = (0..s.cov.len()).map(|i| s.cov.candidate(i)).collect();
            negs.extend_from_slice(&t.extra);
            out = out.union(&PacketSet::with_holes(t.pos, negs));
        }
        out
    }

    /// Number of terms (a size measure).
    pub fn terms(&self) -> usize {
        self.terms.len()
    }
}

impl Analysis<'_> {
    fn neg_holds(&self, mi: usize, negs: &[Seg], pt: &[u32; D], stack: &mut Vec<u32>) -> bool {
        let mb = &self.boxes[mi];
        negs.iter().any(|seg| match *seg {
            Seg::Rules { chain, lo, hi: h } => {
                let off = self.off[chain as usize];
                let mut hit = false;
                mb.leave_index[chain as usize]
                    .query_point(pt, off + lo, off + h, stack, |_, _| hit = true);
                hit
            }
            Seg::Invalid(h) => self.invalid[hi(h)].iter().any(|b| b.contains_point(pt)),
        })
    }
}

/// Up to this many holes of a term are scanned directly for each of its
/// hits in [`intersection`]; more are queried through the index.
const OWN_SCAN: usize = 48;

/// A packet in both sets, if any. The sets may come from two analyses,
/// which must share a space (see [`Analysis::pair`]).
pub fn intersection(x: &EvalSet, y: &EvalSet) -> Result<Answer, EvalError> {
    if !Arc::ptr_eq(&x.an.space, &y.an.space) {
        return Err(EvalError::DifferentSpaces);
    }
    let mut s = Scratch::new();
    let mut unknown = false;
    let shape = x.an.space.shape();
    let idx = BoxIndex::build(
        y.terms
            .iter()
            .enumerate()
            .map(|(i, t)| (t.pos, i as u32))
            .collect(),
        &shape,
    );
    let mut stack = Vec::new();
    let mut hits = Vec::new();
    let mut own: Vec<ABox> = Vec::new();
    for a in &x.terms {
        hits.clear();
        idx.query(&a.pos, 0, u32::MAX, &mut stack, |_, i| hits.push(i));
        if hits.is_empty() {
            continue;
        }
        hits.sort_unstable();
        // The term's own holes, gathered once for all its hits.
        s.cov.clear();
        x.an.gather(x.mi, &a.negs, &a.pos, &mut s);
        own.clear();
        own.extend((0..s.cov.len()).map(|k| s.cov.candidate(k)));
        own.extend(a.extra.iter().copied());
        if hits.len() > 4 {
            // A term that is empty by itself meets nothing.
            if let Some(q) = x.an.tighten(&a.pos, a.hook) {
                s.cov.clear();
                for o in own.iter().filter(|o| o.intersects(&q)) {
                    s.cov.push(*o, INVALID_TAG);
                }
                let probe = x.an.space.point(&x.an.space.pick(&q, Some(a.hook)));
                if s.cov.run(&q, Some(&probe), x.an.budget) == Cover::Covered {
                    continue;
                }
            } else {
                continue;
            }
        }
        for &i in &hits {
            let b = &y.terms[i as usize];
            if a.hook != b.hook {
                continue;
            }
            let Some(pos) = a.pos.intersect(&b.pos) else {
                continue;
            };
            let Some(q) = x.an.tighten(&pos, a.hook) else {
                continue;
            };
            s.cov.clear();
            if own.len() <= OWN_SCAN {
                if own.iter().any(|o| o.contains(&q)) {
                    continue;
                }
                for o in own.iter().filter(|o| o.intersects(&q)) {
                    s.cov.push(*o, INVALID_TAG);
                }
            } else {
                // Many holes: the index finds those that meet `q` faster.
                x.an.gather(x.mi, &a.negs, &q, &mut s);
                for e in a.extra.iter().filter(|e| e.intersects(&q)) {
                    s.cov.push(*e, INVALID_TAG);
                }
            }
            y.an.gather(y.mi, &b.negs, &q, &mut s);
            for e in b.extra.iter().filter(|e| e.intersects(&q)) {
                s.cov.push(*e, INVALID_TAG);
            }
            let probe = x.an.space.point(&x.an.space.pick(&q, Some(a.hook)));
            match s.cov.run(&q, Some(&probe), x.an.budget) {
                Cover::Covered => {}
                Cover::Uncovered(w) => return Ok(Answer::Witness(x.an.packet(&w, a.hook))),
                Cover::Unknown => unknown = true,
            }
        }
    }
    Ok(if unknown {
        Answer::Unknown
    } else {
        Answer::Empty
    })
}

/// Do two analyses (built with [`Analysis::pair`]) accept the same packets
/// at `hook`? A definite difference is looked for in `Accept⁻`/`Drop⁻`
/// first; a possible one in `Accept⁺`/`Drop⁺`.
pub fn compare(a: &Analysis, b: &Analysis, hook: Hook) -> Result<Comparison, EvalError> {
    let mut unknown = false;
    for (approx, definite) in [(Approx::Under, true), (Approx::Over, false)] {
        let pairs = [
            (
                a.accepted(hook, approx),
                b.dropped(hook, approx),
                Verdict::Accept,
                Verdict::Drop,
            ),
            (
                a.dropped(hook, approx),
                b.accepted(hook, approx),
                Verdict::Drop,
                Verdict::Accept,
            ),
        ];
        for (x, y, left, right) in &pairs {
            match intersection(x, y)? {
                Answer::Empty => {}
                Answer::Witness(packet) => {
                    return Ok(Comparison::Differ {
                        packet,
                        left: *left,
                        right: *right,
                        definite,
                    });
                }
                Answer::Unknown => unknown = true,
            }
        }
        if a.is_exact() && b.is_exact() {
            break;
        }
    }
    Ok(if unknown {
        Comparison::Unknown
    } else {
        Comparison::Same
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::*;
    use crate::source::Span;

    fn cond(t: Test) -> Cond {
        Cond::new(t, Span::default())
    }

    fn tcp(lo: u16, hi: u16) -> Test {
        Test::L4(vec![L4 {
            proto: 6,
            sport: None,
            dport: Some(PortSet {
                name: None,
                ranges: vec![(lo, hi)],
            }),
            icmp: None,
            service: None,
        }])
    }

    fn rule(conds: Vec<Cond>, action: Action) -> Rule {
        Rule {
            matches: Match { conds },
            action,
            span: Span::default(),
            allow: vec![],
            comment: None,
        }
    }

    fn chain(name: &str, kind: ChainKind, policy: Option<Verdict>, rules: Vec<Rule>) -> Chain {
        Chain {
            name: name.into(),
            kind,
            policy,
            rules,
            span: Span::default(),
            allow: vec![],
        }
    }

    fn policy(chains: Vec<Chain>) -> Policy {
        Policy {
            name: "t".into(),
            family: FamilySet::INET,
            origin: Origin::Policy,
            chains,
            assertions: vec![],
            egress: vec![],
            definitions: vec![],
            span: Span::default(),
        }
    }

    fn src(lo: u128, hi: u128) -> Test {
        Test::Src(AddrSet {
            name: None,
            ranges: vec![AddrRange {
                family: Family::V4,
                lo,
                hi,
            }],
        })
    }

    fn r(chain: u32, index: u32) -> RuleRef {
        RuleRef {
            chain: ChainId(chain),
            index,
        }
    }

    #[test]
    fn policy_reach_unfiltered_and_at_hook_split_the_accepted_set() {
        let mut p = policy(vec![
            chain(
                "input",
                ChainKind::Base(Hook::Input),
                Some(Verdict::Accept),
                vec![rule(vec![cond(tcp(22, 22))], Action::Jump(ChainId(1)))],
            ),
            chain(
                "guard",
                ChainKind::User,
                None,
                vec![rule(vec![], Action::Accept)],
            ),
        ]);
        p.family = FamilySet::IP;
        let an = Analysis::new(&p).unwrap();
        let w = an
            .policy_reach(Hook::Input, Approx::Over)
            .witness()
            .unwrap();
        assert_eq!((w.family, w.hook), (Family::V4, Hook::Input));
        assert!(
            !(w.proto == 6 && w.dport == Some(22)),
            "tcp 22 is decided by the user chain: {w}"
        );
        let free = an.unfiltered(Hook::Input).witness().unwrap();
        assert_eq!(free.family, Family::V6);
        assert_eq!(
            an.policy_reach(Hook::Output, Approx::Over).is_empty(),
            Some(true)
        );
        let out = an.unfiltered(Hook::Output).witness().unwrap();
        assert_eq!(out.hook, Hook::Output);
        let (_, d) = an.decides(r(1, 0), Approx::Over).unwrap();
        assert_eq!(
            d.at_hook(Hook::Input).witness().map(|p| p.dport),
            Some(Some(22))
        );
        assert_eq!(d.at_hook(Hook::Output).is_empty(), Some(true));
    }

    #[test]
    fn a_rule_covered_only_by_two_earlier_rules_together_is_found() {
        let p = policy(vec![chain(
            "input",
            ChainKind::Base(Hook::Input),
            Some(Verdict::Drop),
            vec![
                rule(vec![cond(tcp(0, 1000))], Action::Accept),
                rule(vec![cond(tcp(900, 65535))], Action::Drop),
                rule(vec![cond(tcp(22, 23))], Action::Accept),
                rule(vec![cond(tcp(22, 23)), cond(src(5, 9))], Action::Drop),
            ],
        )]);
        let an = Analysis::new(&p).unwrap();
        assert!(an.is_exact());
        assert_eq!(
            an.coverage(r(0, 2), Approx::Over),
            Coverage::Covered { by: vec![r(0, 0)] }
        );
        let all = an.coverage_all(Approx::Over);
        assert!(matches!(all[0].1, Coverage::Reached(_)));
        assert!(matches!(all[1].1, Coverage::Reached(_)));
        // Rule 1 alone does not cover rule 3's port range, rule 0 alone neither.
        let p2 = policy(vec![chain(
            "input",
            ChainKind::Base(Hook::Input),
            Some(Verdict::Drop),
            vec![
                rule(vec![cond(tcp(0, 22))], Action::Accept),
                rule(vec![cond(tcp(23, 65535))], Action::Drop),
                rule(vec![cond(tcp(20, 30))], Action::Accept),
            ],
        )]);
        let an = Analysis::new(&p2).unwrap();
        assert_eq!(
            an.coverage(r(0, 2), Approx::Over),
            Coverage::Covered {
                by: vec![r(0, 0), r(0, 1)]
            }
        );
        assert_eq!(
            an.earlier_overlapping(r(0, 2), Approx::Over),
            vec![r(0, 0), r(0, 1)]
        );
        assert_eq!(an.overlaps(r(0, 2), Approx::Over).len(), 1);
        assert_eq!(an.redundancy(r(0, 2)), Redundancy::Redundant { by: vec![] });
        match an.redundancy(r(0, 1)) {
            Redundancy::Needed(p) => assert_eq!(p.proto, 6),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn entry_decisions_name_what_decides_a_covered_rule() {
        // input: jump x; accept tcp 20-30 (covered: x drops 0-25, accepts 26-65535)
        let p = policy(vec![
            chain(
                "input",
                ChainKind::Base(Hook::Input),
                Some(Verdict::Accept),
                vec![
                    rule(vec![], Action::Jump(ChainId(1))),
                    rule(vec![cond(tcp(20, 30))], Action::Accept),
                ],
            ),
            chain(
                "x",
                ChainKind::User,
                None,
                vec![
                    rule(vec![cond(tcp(0, 25))], Action::Drop),
                    rule(vec![cond(tcp(26, 65535))], Action::Accept),
                ],
            ),
        ]);
        let an = Analysis::new(&p).unwrap();
        assert!(matches!(
            an.coverage(r(0, 1), Approx::Over),
            Coverage::Covered { .. }
        ));
        let other = an.entry_decisions(r(0, 1), Approx::Over, &|v| v != Some(Verdict::Accept), 4);
        assert!(!other.unknown);
        assert_eq!(other.found.len(), 1);
        assert_eq!(other.found[0].by, Decider::Rule(r(1, 0)));
        assert!((20..=25).contains(&other.found[0].witness.dport.unwrap()));
        let all = an.entry_decisions(r(0, 1), Approx::Over, &|_| true, 4);
        let by: Vec<_> = all.found.iter().map(|d| d.by).collect();
        assert!(
            by.contains(&Decider::Rule(r(1, 1))) && by.len() == 2,
            "{by:?}"
        );
        // A rule in `x` that no packet entering `x` matches: the walk starts
        // at the caller instead (input's policy accepts udp).
        let p2 = policy(vec![
            chain(
                "input",
                ChainKind::Base(Hook::Input),
                Some(Verdict::Accept),
                vec![rule(vec![cond(tcp(0, 65535))], Action::Jump(ChainId(1)))],
            ),
            chain(
                "x",
                ChainKind::User,
                None,
                vec![rule(
                    vec![cond(Test::L4(vec![L4 {
                        proto: 17,
                        sport: None,
                        dport: None,
                        icmp: None,
                        service: None,
                    }]))],
                    Action::Drop,
                )],
            ),
        ]);
        let an = Analysis::new(&p2).unwrap();
        let d = an.entry_decisions(r(1, 0), Approx::Over, &|_| true, 4);
        assert_eq!(d.found.len(), 1);
        assert_eq!(d.found[0].by, Decider::Policy(ChainId(0)));
        assert_eq!(d.found[0].witness.proto, 17);
    }

    #[test]
    fn jump_return_and_goto_flows() {
        // x: return from 5-9; drop tcp.   input: jump x; accept.  policy drop
        let p = policy(vec![
            chain(
                "input",
                ChainKind::Base(Hook::Input),
                Some(Verdict::Drop),
                vec![
                    rule(vec![], Action::Jump(ChainId(1))),
                    rule(vec![cond(tcp(0, 65535))], Action::Accept),
                ],
            ),
            chain(
                "x",
                ChainKind::User,
                None,
                vec![
                    rule(vec![cond(src(5, 9))], Action::Return),
                    rule(vec![cond(tcp(0, 65535))], Action::Drop),
                ],
            ),
        ]);
        let an = Analysis::new(&p).unwrap();
        let pk = |s: &str| s.parse::<Packet>().unwrap();
        let acc = an.accepted(Hook::Input, Approx::Over);
        assert!(acc.contains(&pk("input tcp from 0.0.0.7 port 80")));
        assert!(!acc.contains(&pk("input tcp from 0.0.0.10 port 80")));
        assert!(!acc.contains(&pk("input udp from 0.0.0.7 port 80")));
        assert!(!acc.contains(&pk("input ip6 proto gre")));
        // The accept rule is reached only by returned packets.
        match an.coverage(r(0, 1), Approx::Over) {
            Coverage::Reached(w) => {
                assert_eq!(
                    w.to_string(),
                    "input tcp 0.0.0.5:40000 → 203.0.113.7:80 iif eth0 (new)"
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(an.contexts(ChainId(1)), 1);
    }

    #[test]
    fn egress_style_question_with_minus() {
        // output: accept uid 0; accept udp 53 to 192.0.2.53; accept tcp; policy drop
        let resolver = Test::Dst(AddrSet {
            name: None,
            ranges: vec![AddrRange {
                family: Family::V4,
                lo: 0xC000_0235,
                hi: 0xC000_0235,
            }],
        });
        let udp53 = Test::L4(vec![L4 {
            proto: 17,
            sport: None,
            dport: Some(PortSet {
                name: None,
                ranges: vec![(53, 53)],
            }),
            icmp: None,
            service: None,
        }]);
        let root = Test::Uid(vec![OwnerRange {
            lo: 0,
            hi: 0,
            host_name: None,
        }]);
        let p = policy(vec![chain(
            "output",
            ChainKind::Base(Hook::Output),
            Some(Verdict::Drop),
            vec![
                rule(vec![cond(root.clone())], Action::Accept),
                rule(
                    vec![cond(udp53.clone()), cond(resolver.clone())],
                    Action::Accept,
                ),
                rule(vec![cond(tcp(0, 65535))], Action::Accept),
            ],
        )]);
        let an = Analysis::new(&p).unwrap();
        // Q: new flows from user sockets that are not root.
        let mut not_root = cond(root);
        not_root.negated = true;
        let q = Match {
            conds: vec![cond(Test::State(vec![CtState::New])), not_root],
        };
        let allowed = Match {
            conds: vec![cond(udp53), cond(resolver)],
        };
        let q = an.match_set(&q, Approx::Over).unwrap();
        let allowed = an.match_set(&allowed, Approx::Under).unwrap();
        let extra = an
            .accepted(Hook::Output, Approx::Over)
            .intersect(&q)
            .minus(&allowed);
        let w = extra.witness().expect("tcp is undeclared egress");
        assert_eq!(w.proto, 6);
        assert!(matches!(w.owner, Owner::Socket { uid, .. } if uid != 0));
        assert_eq!(w.state, CtState::New);
        assert!(!extra.contains(&"output udp uid 5 to 192.0.2.53 port 53".parse().unwrap()));
        assert!(extra.contains(&"output tcp uid 5 to 192.0.2.53 port 53".parse().unwrap()));
    }

    #[test]
    fn limits_split_the_approximations() {
        let lim = Test::Limit(RateLimit {
            rate: 1,
            per_seconds: 1,
            burst: None,
        });
        let p = policy(vec![chain(
            "output",
            ChainKind::Base(Hook::Output),
            Some(Verdict::Drop),
            vec![rule(vec![cond(tcp(22, 22)), cond(lim)], Action::Accept)],
        )]);
        let an = Analysis::new(&p).unwrap();
        assert!(!an.is_exact());
        let pk: Packet = "output tcp uid 1000 port 22".parse().unwrap();
        assert!(an.accepted(Hook::Output, Approx::Over).contains(&pk));
        assert!(!an.accepted(Hook::Output, Approx::Under).contains(&pk));
        assert!(an.dropped(Hook::Output, Approx::Over).contains(&pk));
        assert!(!an.dropped(Hook::Output, Approx::Under).contains(&pk));
    }
}
