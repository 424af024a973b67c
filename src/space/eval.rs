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
}

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EvalError::TooComplex { what, limit } => {
                write!(f, "the policy needs more than {limit} {what} to analyse")
            }
            EvalError::TooDeep { chain } => write!(f, "chain {} is nested too deeply", chain.0),
            EvalError::Unaligned(u) => write!(f, "{u}"),
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

/// The analysis of one policy: flows per hook in both approximations.
pub struct Analysis<'p> {
    policy: &'p Policy,
    space: Arc<Space>,
    off: Vec<u32>,
    structural: Vec<Vec<u32>>,
    invalid: [Vec<ABox>; 3],
    boxes: Vec<ModeBoxes>,
    flows: Vec<Flow>,
    budget: u64,
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
            space,
            off,
            structural,
            invalid,
            boxes: Vec::new(),
            flows: Vec::new(),
            budget: DEFAULT_BUDGET,
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
            let mut leave_items = Vec::new();
            let mut enter_items = Vec::new();
            for (i, r) in c.rules.iter().enumerate() {
                let g = self.off[ci] + i as u32;
                let unknown = has_unknown(&r.matches);
                let conv = |a: Approx| -> Result<Vec<ABox>, EvalError> {
                    convert::match_boxes(&r.matches, a)
                        .iter()
                        .map(|b| self.space.abox(b))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(EvalError::Unaligned)
                };
                let plus = conv(Approx::Over)?;
                let minus = if unknown {
                    conv(Approx::Under)?
                } else {
                    plus.clone()
                };
                let (may, must) = match mode {
                    Approx::Over => (plus, minus),
                    Approx::Under => (minus, plus),
                };
                let (enter, leave) = match r.action {
                    Action::Log(_) | Action::Continue(_) => (may, Vec::new()),
                    Action::Opaque(_) => match mode {
                        Approx::Over => (may, Vec::new()),
                        Approx::Under => (Vec::new(), must),
                    },
                    _ => (may, must),
                };
                let push = |mb: &mut ModeBoxes, v: &[ABox]| -> (u32, u32) {
                    let s = mb.arena.len() as u32;
                    mb.arena.extend_from_slice(v);
                    (s, mb.arena.len() as u32)
                };
                let er = push(&mut mb, &enter);
                let lr = if enter == leave {
                    er
                } else {
                    push(&mut mb, &leave)
                };
                for b in &leave {
                    leave_items.push((*b, g));
                }
                for b in &enter {
                    enter_items.push((*b, g));
                }
                mb.enter.push(er);
                mb.leave.push(lr);
            }
            let same = enter_items == leave_items;
            mb.leave_index.push(BoxIndex::build(leave_items, &shape));
            mb.enter_index.push(if same {
                None
            } else {
                Some(BoxIndex::build(enter_items, &shape))
            });
        }
        Ok(mb)
    }

    fn build_flow(&self, mi: usize) -> Result<Flow, EvalError> {
        let mut flow = Flow {
            chain_insts: vec![Vec::new(); self.policy.chains.len()],
            ..Default::default()
        };
        let mut scratch = Scratch::default();
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
            let mut pieces = Vec::new();
            for t in open.iter().filter(|t| t.join <= j) {
                for e in enter {
                    if let Some(pos) = t.pos.intersect(e) {
                        pieces.push(Term {
                            hook,
                            pos,
                            negs: t.closed_skipping(chain, j, w.skip),
                        });
                    }
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
        for t in &open {
            returns.push(Term {
                hook,
                pos: t.pos,
                negs: t.closed_skipping(chain, n, w.skip),
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
            .filter(|t| !matches!(self.check_term(mi, t, s, PRUNE_BUDGET), Cover::Covered))
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
        s.cov.clear();
        self.gather(mi, &t.negs, &t.pos, s);
        let probe = self.space.point(&self.space.pick(&t.pos));
        s.cov.run(&t.pos, Some(&probe), budget)
    }

    fn packet(&self, region: &ABox, hook: Hook) -> Packet {
        from_coords(&self.space.pick(region), hook)
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

    /// The packets the hook accepts: `Accept⁺` under `Over`, `Accept⁻`
    /// under `Under`. Includes families the policy does not filter.
    pub fn accepted(&self, hook: Hook, a: Approx) -> EvalSet<'_> {
        self.decisions(hook, a, Verdict::Accept)
    }

    /// The packets the hook drops (`Drop⁺` / `Drop⁻`).
    pub fn dropped(&self, hook: Hook, a: Approx) -> EvalSet<'_> {
        self.decisions(hook, a, Verdict::Drop)
    }

    /// The packets of `hook` that no rule decides, with the verdict the base
    /// chain's default policy gives them; `None` when the hook has no base
    /// chain (see [`Analysis::unfiltered`]).
    pub fn policy_decides(&self, hook: Hook, a: Approx) -> Option<(Verdict, EvalSet<'_>)> {
        let base = self.policy.base_chain(hook)?;
        let v = self.policy.chain(base).policy.unwrap_or(Verdict::Accept);
        let mi = self.mode(a);
        Some((
            v,
            EvalSet {
                an: self,
                mi,
                terms: self.flows[mi].ends[hi(hook)].clone(),
            },
        ))
    }

    /// The packets of `hook` the policy does not filter at all, which are
    /// accepted: families outside [`Policy::family`], and every packet when
    /// the hook has no base chain.
    pub fn unfiltered(&self, hook: Hook, a: Approx) -> EvalSet<'_> {
        let mi = self.mode(a);
        EvalSet {
            an: self,
            mi,
            terms: self.flows[mi].free[hi(hook)].clone(),
        }
    }

    /// Does some packet reach the rule and match it? Under `Over`,
    /// `Covered` is a sound "never matches"; under `Under`, `Reached` is a
    /// definite witness.
    pub fn coverage(&self, r: RuleRef, a: Approx) -> Coverage {
        self.coverage_with(r, a, &mut Scratch::default())
    }

    fn coverage_with(&self, r: RuleRef, a: Approx, s: &mut Scratch) -> Coverage {
        let m = self.matched(r, a);
        let mut by = Vec::new();
        let mut unknown = false;
        for t in &m.terms {
            match self.check_term(m.mi, t, s, self.budget) {
                Cover::Covered => by.extend(s.cov.covering_tags()),
                Cover::Uncovered(w) => return Coverage::Reached(self.packet(&w, t.hook)),
                Cover::Unknown => unknown = true,
            }
        }
        if unknown {
            return Coverage::Unknown;
        }
        by.sort_unstable();
        by.dedup();
        Coverage::Covered {
            by: by
                .into_iter()
                .filter(|&g| g != INVALID_TAG)
                .map(|g| self.rule_of(g))
                .collect(),
        }
    }

    /// [`Analysis::coverage`] of every rule, on all cores.
    pub fn coverage_all(&self, a: Approx) -> Vec<(RuleRef, Coverage)> {
        let total = *self.off.last().unwrap_or(&0);
        (0..total)
            .into_par_iter()
            .map_init(Scratch::default, |s, g| {
                let r = self.rule_of(g);
                (r, self.coverage_with(r, a, s))
            })
            .collect()
    }

    /// The rules that are never applied to any packet (sound under
    /// `Over`), with the rules that divert their packets; on all cores.
    /// Cheaper than [`Analysis::coverage_all`]: no witness packets.
    pub fn covered_rules(&self, a: Approx) -> Vec<(RuleRef, Vec<RuleRef>)> {
        let total = *self.off.last().unwrap_or(&0);
        let mi = self.mode(a);
        (0..total)
            .into_par_iter()
            .map_init(Scratch::default, |s, g| {
                let r = self.rule_of(g);
                let m = self.matched(r, a);
                let mut by = Vec::new();
                for t in &m.terms {
                    match self.check_term(mi, t, s, self.budget) {
                        Cover::Covered => by.extend(s.cov.covering_tags()),
                        _ => return None,
                    }
                }
                by.sort_unstable();
                by.dedup();
                let by = by
                    .into_iter()
                    .filter(|&x| x != INVALID_TAG)
                    .map(|x| self.rule_of(x))
                    .collect();
                Some((r, by))
            })
            .flatten()
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
        let mut s = Scratch::default();
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

    fn base_of(&self, hook: Hook) -> ChainId {
        self.policy.base_chain(hook).unwrap_or(ChainId(0))
    }

    /// Follows `init` from rule `start` of instance `id` to the end of the
    /// hook, reporting every decision (and the policy at the end).
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
        let mut s = Scratch::default();
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
                && !self.an.neg_holds(self.mi, &t.negs, &pt, &mut stack)
        })
    }

    /// The set as an owned [`PacketSet`], restricted to one hook (each
    /// term's negative boxes are copied: fine for hwc-sized policies).
    pub fn materialize(&self, hook: Hook) -> PacketSet {
        let mut s = Scratch::default();
        let mut out = PacketSet::empty();
        for t in self.terms.iter().filter(|t| t.hook == hook) {
            s.cov.clear();
            self.an.gather(self.mi, &t.negs, &t.pos, &mut s);
            let negs: Vec<ABox> = (0..s.cov.len()).map(|i| s.cov.candidate(i)).collect();
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

/// A packet in both sets, if any (the sets may come from two analyses
/// that share a space).
pub fn intersection(x: &EvalSet, y: &EvalSet) -> Answer {
    assert!(
        Arc::ptr_eq(&x.an.space, &y.an.space),
        "sets of different spaces"
    );
    let mut s = Scratch::default();
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
    for a in &x.terms {
        let mut hits = Vec::new();
        idx.query(&a.pos, 0, u32::MAX, &mut stack, |_, i| hits.push(i));
        hits.sort_unstable();
        for i in hits {
            let b = &y.terms[i as usize];
            if a.hook != b.hook {
                continue;
            }
            let Some(pos) = a.pos.intersect(&b.pos) else {
                continue;
            };
            let t = Term {
                hook: a.hook,
                pos,
                negs: a.negs.clone(),
            };
            s.cov.clear();
            x.an.gather(x.mi, &t.negs, &t.pos, &mut s);
            y.an.gather(y.mi, &b.negs, &t.pos, &mut s);
            let probe = x.an.space.point(&x.an.space.pick(&pos));
            match s.cov.run(&pos, Some(&probe), x.an.budget) {
                Cover::Covered => {}
                Cover::Uncovered(w) => return Answer::Witness(x.an.packet(&w, a.hook)),
                Cover::Unknown => unknown = true,
            }
        }
    }
    if unknown {
        Answer::Unknown
    } else {
        Answer::Empty
    }
}

/// Do two analyses (built with [`Analysis::pair`]) accept the same packets
/// at `hook`? A definite difference is looked for in `Accept⁻`/`Drop⁻`
/// first; a possible one in `Accept⁺`/`Drop⁺`.
pub fn compare(a: &Analysis, b: &Analysis, hook: Hook) -> Comparison {
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
            match intersection(x, y) {
                Answer::Empty => {}
                Answer::Witness(packet) => {
                    return Comparison::Differ {
                        packet,
                        left: *left,
                        right: *right,
                        definite,
                    }
                }
                Answer::Unknown => unknown = true,
            }
        }
        if a.is_exact() && b.is_exact() {
            break;
        }
    }
    if unknown {
        Comparison::Unknown
    } else {
        Comparison::Same
    }
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
    fn policy_decides_unfiltered_and_at_hook_split_the_accepted_set() {
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
        let (v, ends) = an.policy_decides(Hook::Input, Approx::Over).unwrap();
        assert_eq!(v, Verdict::Accept);
        let w = ends.witness().unwrap();
        assert_eq!((w.family, w.hook), (Family::V4, Hook::Input));
        assert!(
            !(w.proto == 6 && w.dport == Some(22)),
            "tcp 22 is decided by the user chain: {w}"
        );
        let free = an.unfiltered(Hook::Input, Approx::Over).witness().unwrap();
        assert_eq!(free.family, Family::V6);
        assert!(an.policy_decides(Hook::Output, Approx::Over).is_none());
        let out = an.unfiltered(Hook::Output, Approx::Over).witness().unwrap();
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
        assert_eq!(an.redundancy(r(0, 2)), Redundancy::Redundant { by: vec![] });
        match an.redundancy(r(0, 1)) {
            Redundancy::Needed(p) => assert_eq!(p.proto, 6),
            other => panic!("{other:?}"),
        }
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
        assert!(acc.contains(&pk("input ip6 proto gre")) == false);
        // The accept rule is reached only by returned packets.
        match an.coverage(r(0, 1), Approx::Over) {
            Coverage::Reached(w) => assert_eq!(w.src.to_string(), "0.0.0.5"),
            other => panic!("{other:?}"),
        }
        assert_eq!(an.contexts(ChainId(1)), 1);
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
