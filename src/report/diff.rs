//! What changes between two rulesets (`hwc diff OLD NEW`): the packets
//! newly allowed and newly denied at each hook, as classes traced to the
//! rules responsible in both, each with a witness packet.
//!
//! # API
//! ```text
//! let d = report::diff::diff(&old, &new)?;        // both ir::Policy, .hw or dump
//! for c in &d.changes { c.hook, c.direction, c.witness, c.old, c.new, c.assumptions }
//! d.new_egress()                                 // newly allowed output / forward classes
//! d.unknown                                       // hooks the engine could not finish
//! ```
//!
//! # Classes
//! Every packet is decided, in each policy, by one *decider*: a rule, the
//! base chain's policy, or nothing (a hook without a base chain or a family
//! the policy does not filter: accepted). A class is a pair (decider in
//! OLD, decider in NEW) whose packets get different verdicts; its witness
//! is one such packet. The classes of a hook cover every packet whose
//! verdict changed: a packet outside all reported classes keeps its
//! verdict (tested against the reference evaluator).
//!
//! Rate limits and unmodelled matches are compared in both instantiations
//! of [`crate::space::equiv`]; a class found only under one says so in
//! `assumptions`.

use crate::ir::{Hook, Packet, Policy, Verdict};
use crate::source::Span;
use crate::space::equiv::{assumptions, instantiate, Assumption};
use crate::space::eval::{intersection, Analysis, Answer, EvalError};
use crate::space::reference::Decider;
use crate::space::Approx;

/// Which way a class changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Direction {
    /// Dropped by OLD, accepted by NEW.
    NewlyAllowed,
    /// Accepted by OLD, dropped by NEW.
    NewlyDenied,
}

impl Direction {
    pub fn words(self) -> &'static str {
        match self {
            Direction::NewlyAllowed => "newly allowed",
            Direction::NewlyDenied => "newly denied",
        }
    }
}

/// What decides a class in one policy, with the place to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Responsible {
    pub decider: Decider,
    /// The rule's line, or the chain header for a chain policy; `None`
    /// when no rule or chain decides (unfiltered packets).
    #[serde(skip)]
    pub span: Option<Span>,
}

/// One class of packets whose verdict changed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    pub hook: Hook,
    pub direction: Direction,
    /// A packet of the class.
    pub witness: Packet,
    pub old: Responsible,
    pub new: Responsible,
    /// `[Exact]` for policies without unmodelled tests; otherwise the
    /// instantiations the class was found in.
    pub assumptions: Vec<Assumption>,
}

impl Change {
    /// True when the class exists only under one outcome of the rate
    /// limits or unmodelled matches.
    pub fn is_approximate(&self) -> bool {
        self.assumptions.len() == 1 && self.assumptions[0] != Assumption::Exact
    }
}

/// The differences of two policies.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Diff {
    /// Sorted by hook, direction, then the NEW and OLD places.
    pub changes: Vec<Change>,
    /// Hooks where the engine's budget ran out: their list may be short.
    pub unknown: Vec<Hook>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.unknown.is_empty()
    }

    /// Classes newly allowed to leave: locally generated (output) or
    /// forwarded packets that OLD dropped and NEW accepts.
    pub fn new_egress(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| {
            c.direction == Direction::NewlyAllowed && matches!(c.hook, Hook::Output | Hook::Forward)
        })
    }
}

/// Compares `old` and `new` at every hook.
pub fn diff(old: &Policy, new: &Policy) -> Result<Diff, EvalError> {
    let mut out = Diff::default();
    for assumption in assumptions(&[old, new]) {
        let (o, n) = (instantiate(old, assumption), instantiate(new, assumption));
        let (ao, an) = Analysis::pair(&o, &n)?;
        for hook in Hook::ALL {
            for direction in [Direction::NewlyAllowed, Direction::NewlyDenied] {
                let (was, now) = match direction {
                    Direction::NewlyAllowed => (Verdict::Drop, Verdict::Accept),
                    Direction::NewlyDenied => (Verdict::Accept, Verdict::Drop),
                };
                let complete = classes(&ao, &an, hook, was, now, &mut |witness, od, nd| {
                    let key = |c: &Change| {
                        c.hook == hook
                            && c.direction == direction
                            && c.old.decider == od
                            && c.new.decider == nd
                    };
                    match out.changes.iter_mut().find(|c| key(c)) {
                        Some(c) => c.assumptions.push(assumption),
                        None => out.changes.push(Change {
                            hook,
                            direction,
                            witness,
                            old: responsible(old, od),
                            new: responsible(new, nd),
                            assumptions: vec![assumption],
                        }),
                    }
                })?;
                if !complete && !out.unknown.contains(&hook) {
                    out.unknown.push(hook);
                }
            }
        }
    }
    out.changes.sort_by_key(|c| {
        (
            c.hook,
            c.direction,
            c.new.span.map(|s| (s.file, s.start)),
            c.old.span.map(|s| (s.file, s.start)),
        )
    });
    Ok(out)
}

fn responsible(p: &Policy, d: Decider) -> Responsible {
    let span = match d {
        Decider::Rule(r) => Some(p.chain(r.chain).rules[r.index as usize].span),
        Decider::Policy(c) => Some(p.chain(c).span),
        Decider::NoBaseChain | Decider::FamilyNotFiltered => None,
    };
    Responsible { decider: d, span }
}

/// Reports every (OLD decider, NEW decider) pair whose packets OLD gives
/// `was` and NEW gives `now`. Returns false when a question ran out of
/// budget.
fn classes(
    ao: &Analysis,
    an: &Analysis,
    hook: Hook,
    was: Verdict,
    now: Verdict,
    found: &mut dyn FnMut(Packet, Decider, Decider),
) -> Result<bool, EvalError> {
    let mut complete = true;
    let all_old = match was {
        Verdict::Accept => ao.accepted(hook, Approx::Over),
        Verdict::Drop => ao.dropped(hook, Approx::Over),
    };
    let all_new = match now {
        Verdict::Accept => an.accepted(hook, Approx::Over),
        Verdict::Drop => an.dropped(hook, Approx::Over),
    };
    match intersection(&all_new, &all_old)? {
        Answer::Empty => return Ok(true),
        Answer::Unknown => complete = false,
        Answer::Witness(_) => {}
    }
    let old_parts = ao.decision_parts(hook, Approx::Over, was);
    for (nd, np) in an.decision_parts(hook, Approx::Over, now) {
        match intersection(&np, &all_old)? {
            Answer::Empty => continue,
            Answer::Unknown => complete = false,
            Answer::Witness(_) => {}
        }
        for (od, op) in &old_parts {
            match intersection(&np, op)? {
                Answer::Empty => {}
                Answer::Unknown => complete = false,
                Answer::Witness(w) => found(w, *od, nd),
            }
        }
    }
    Ok(complete)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{MemoryLoader, SourceMap};
    use std::path::Path;

    fn load(text: &str) -> Policy {
        let (p, d) = crate::sema::load_source(
            Path::new("p.hw"),
            text,
            &MemoryLoader::default(),
            &mut SourceMap::new(),
        );
        p.unwrap_or_else(|| panic!("{d:?}"))
    }

    #[test]
    fn a_widened_port_range_is_one_class_per_rule_pair() {
        let old =
            load("chain output policy drop {\n accept tcp 443\n}\nchain input policy drop {}\n");
        let new = load("chain output policy drop {\n accept tcp 443\n accept tcp 8000-8080\n}\nchain input policy accept {}\n");
        let d = diff(&old, &new).unwrap();
        assert!(d.unknown.is_empty());
        let out: Vec<&Change> = d.new_egress().collect();
        assert_eq!(out.len(), 1, "{:#?}", d.changes);
        let c = out[0];
        assert_eq!(c.hook, Hook::Output);
        assert!(matches!(c.witness.dport, Some(8000..=8080)));
        assert!(matches!(c.old.decider, Decider::Policy(_)));
        assert!(matches!(c.new.decider, Decider::Rule(r) if r.index == 1));
        // The input hook changed its policy: newly allowed, not egress.
        assert!(d
            .changes
            .iter()
            .any(|c| c.hook == Hook::Input && c.direction == Direction::NewlyAllowed));
        assert!(d
            .changes
            .iter()
            .all(|c| c.direction == Direction::NewlyAllowed));
        assert!(d
            .changes
            .iter()
            .all(|c| c.assumptions == [Assumption::Exact]));
    }

    #[test]
    fn identical_policies_have_no_changes() {
        let p = load("chain input policy drop {\n accept tcp 22 limit 3/minute\n}\n");
        let d = diff(&p, &p.clone()).unwrap();
        assert!(d.is_empty(), "{d:#?}");
    }
}
