//! What the rule lints (`shadowed`, `redundant`, `overlap`) share: which
//! rules never apply, what decides their packets instead, and which
//! rules the rules after them make unnecessary. Computed once per policy,
//! on all cores.

use crate::ir::{Action, ChainId, Policy, Verdict};
use crate::space::boxes::subtract_all;
use crate::space::eval::{Analysis, Answer, Coverage, Decision, Redundancy};
use crate::space::index::BoxIndex;
use crate::space::reference::Decider;
use crate::space::{ABox, Approx, BoxSet, RuleRef};
use rayon::prelude::*;
use std::collections::HashMap;

/// A rule that no packet reaches and matches (proven under the
/// over-approximation, so it holds whatever rate limits do).
#[derive(Debug, Clone)]
pub struct Dead {
    pub rule: RuleRef,
    /// The earlier rules whose matches, together, take all its packets.
    pub by: Vec<RuleRef>,
    pub fate: Fate,
}

/// How the packets of a dead rule are decided instead.
#[derive(Debug, Clone)]
pub enum Fate {
    /// Some get the other verdict: this packet, by this decision.
    Differently(Decision),
    /// All get the rule's own verdict (a packet and its decision, when
    /// one was found).
    Same(Option<Decision>),
    /// The work budget ran out before the other verdict was ruled out.
    Unknown,
    /// A rule without a verdict of its own (log, jump, goto, return).
    NoVerdict(Option<Decision>),
}

/// A rule that applies to some packets, but that the rules after it (or
/// the chain's policy) would give the same verdict.
#[derive(Debug, Clone)]
pub struct Unneeded {
    pub rule: RuleRef,
    /// What would decide its packets without it.
    pub by: Vec<Decider>,
    /// A packet it decides.
    pub witness: Option<crate::ir::Packet>,
}

#[derive(Debug, Default)]
pub struct RuleFacts {
    pub dead: Vec<Dead>,
    pub unneeded: Vec<Unneeded>,
    /// Rules with a verdict that some packet reaches (or that could not be
    /// proven dead), in reachable chains.
    pub live: Vec<RuleRef>,
    pub boxes: RuleBoxes,
}

/// Whether some base chain reaches the chain (in the analysis).
pub fn reached(an: &Analysis, c: ChainId) -> bool {
    an.contexts(c) > 0
}

impl RuleFacts {
    pub fn compute(policy: &Policy, an: &Analysis) -> RuleFacts {
        let dead_by: HashMap<RuleRef, Vec<RuleRef>> = an
            .covered_rules(Approx::Over)
            .into_iter()
            .filter(|(r, _)| reached(an, r.chain))
            .collect();
        let mut dead: Vec<Dead> = dead_by
            .par_iter()
            .map(|(r, by)| Dead {
                rule: *r,
                by: by.clone(),
                fate: fate(policy, an, *r),
            })
            .collect();
        dead.sort_by_key(|d| d.rule);

        let mut live = Vec::new();
        for (ci, c) in policy.chains.iter().enumerate() {
            let id = ChainId(ci as u32);
            if !reached(an, id) {
                continue;
            }
            for (i, rule) in c.rules.iter().enumerate() {
                let r = RuleRef {
                    chain: id,
                    index: i as u32,
                };
                if rule.action.verdict().is_some() && !dead_by.contains_key(&r) {
                    live.push(r);
                }
            }
        }
        let boxes = RuleBoxes::new(policy, an);
        let mut unneeded: Vec<Unneeded> = live
            .par_iter()
            .filter(|&&r| !boxes.surely_needed(policy, an, r))
            .filter(|&&r| an.verdict_changes(r) == Answer::Empty)
            .filter_map(|&r| match an.redundancy(r) {
                Redundancy::Redundant { by } if !by.is_empty() => {
                    // A later rule that is dead only because this one
                    // comes first is the one to report (the second copy
                    // of a duplicate), not this one.
                    let by_dead = by
                        .iter()
                        .any(|d| matches!(d, Decider::Rule(x) if dead_by.contains_key(x)));
                    if by_dead {
                        return None;
                    }
                    let witness = match an.coverage(r, Approx::Over) {
                        Coverage::Reached(p) => Some(p),
                        _ => None,
                    };
                    Some(Unneeded {
                        rule: r,
                        by,
                        witness,
                    })
                }
                _ => None,
            })
            .collect();
        unneeded.sort_by_key(|u| u.rule);
        RuleFacts {
            dead,
            unneeded,
            live,
            boxes,
        }
    }
}

/// The match boxes of every rule (over-approximated), with an index per
/// chain, for cheap questions about the rules after a rule.
#[derive(Debug, Default)]
pub struct RuleBoxes {
    /// Per chain, per rule.
    boxes: Vec<Vec<Vec<ABox>>>,
    index: Vec<BoxIndex>,
}

/// Box lists longer than this are not split further (see
/// [`RuleBoxes::surely_needed`]).
const MAX_PIECES: usize = 256;

impl RuleBoxes {
    fn new(policy: &Policy, an: &Analysis) -> RuleBoxes {
        let shape = an.space().shape();
        let per_chain: Vec<(Vec<Vec<ABox>>, BoxIndex)> = policy
            .chains
            .par_iter()
            .map(|c| {
                let boxes: Vec<Vec<ABox>> = c
                    .rules
                    .iter()
                    .map(|r| {
                        an.match_set(&r.matches, Approx::Over)
                            .map(|b| b.boxes)
                            .unwrap_or_else(|_| vec![an.space().full()])
                    })
                    .collect();
                let items = boxes
                    .iter()
                    .enumerate()
                    .flat_map(|(i, bs)| bs.iter().map(move |b| (*b, i as u32)))
                    .collect();
                (boxes, BoxIndex::build(items, &shape))
            })
            .collect();
        let (boxes, index) = per_chain.into_iter().unzip();
        RuleBoxes { boxes, index }
    }

    /// The match boxes of a rule.
    pub fn of(&self, r: RuleRef) -> &[ABox] {
        &self.boxes[r.chain.0 as usize][r.index as usize]
    }

    /// The earlier rules of the same chain whose match meets the rule's
    /// match (as boxes: they may share no packet that gets this far).
    pub fn earlier_meeting(&self, r: RuleRef) -> Vec<RuleRef> {
        let c = r.chain.0 as usize;
        let mut out = Vec::new();
        let mut stack = Vec::new();
        for b in self.of(r) {
            self.index[c].query(b, 0, r.index, &mut stack, |_, j| out.push(j));
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

    /// A cheap, exact proof that removing a terminal rule changes some
    /// verdict: a packet it decides that, without it, would meet first a
    /// rule of the other verdict, or no rule at all in a base chain whose
    /// policy is the other verdict. `false` means "not shown" (the full
    /// question decides).
    fn surely_needed(&self, policy: &Policy, an: &Analysis, r: RuleRef) -> bool {
        let c = r.chain.0 as usize;
        let rules = &policy.chains[c].rules;
        let Some(v) = rules[r.index as usize].action.verdict() else {
            return false;
        };
        let own = &self.boxes[c][r.index as usize];
        let mut same: Vec<ABox> = Vec::new();
        let mut other: Vec<ABox> = Vec::new();
        let mut structural: Vec<ABox> = Vec::new();
        let mut stack = Vec::new();
        for b in own {
            self.index[c].query(b, r.index + 1, rules.len() as u32, &mut stack, |x, j| {
                let Some(piece) = x.intersect(b) else { return };
                match &rules[j as usize].action {
                    Action::Log(_) | Action::Continue(_) => {}
                    a => match a.verdict() {
                        Some(w) if w == v => same.push(piece),
                        Some(_) => other.push(piece),
                        None => structural.push(piece),
                    },
                }
            });
        }
        if same.len() + other.len() + structural.len() > MAX_PIECES {
            return false;
        }
        let matched = an.matched(r, Approx::Over);
        let witness_in = |region: Vec<ABox>| -> bool {
            !region.is_empty()
                && region.len() <= MAX_PIECES
                && matches!(
                    matched.intersect(&BoxSet { boxes: region }).check(),
                    Answer::Witness(_)
                )
        };
        // A packet whose first later rule has the other verdict.
        let mut first_other = other.clone();
        first_other = subtract_all(&first_other, &same);
        first_other = subtract_all(&first_other, &structural);
        if witness_in(first_other) {
            return true;
        }
        // A packet no later rule matches, in a base chain whose policy
        // gives the other verdict.
        let policy_other = policy.chains[c].policy.is_some_and(|p| p != v);
        if policy_other {
            let mut rest = own.clone();
            for x in [&same, &other, &structural] {
                rest = subtract_all(&rest, x);
                if rest.len() > MAX_PIECES {
                    return false;
                }
            }
            if witness_in(rest) {
                return true;
            }
        }
        false
    }
}

/// How the packets of a dead rule are decided.
fn fate(policy: &Policy, an: &Analysis, r: RuleRef) -> Fate {
    let rule = &policy.chain(r.chain).rules[r.index as usize];
    let first = |want: &dyn Fn(Option<Verdict>) -> bool| {
        an.entry_decisions(r, Approx::Over, want, 1)
            .found
            .into_iter()
            .next()
    };
    match rule.action {
        Action::Accept | Action::Drop | Action::Reject(_) => {
            let v = rule.action.verdict();
            let other = an.entry_decisions(r, Approx::Over, &|w| w != v, 1);
            if let Some(d) = other.found.into_iter().next() {
                Fate::Differently(d)
            } else if other.unknown {
                Fate::Unknown
            } else {
                Fate::Same(first(&|w| w == v))
            }
        }
        _ => Fate::NoVerdict(first(&|_| true)),
    }
}

/// At most this many related rules are labelled; a note counts the rest.
pub const MAX_LABELS: usize = 6;

/// Labels the rules that take a dead rule's packets, and what decides
/// the witness (when that is not one of them).
pub fn label_dead(
    ctx: &super::Context,
    mut diag: crate::diagnostics::Diagnostic,
    dead: &Dead,
    decision: Option<&Decision>,
) -> crate::diagnostics::Diagnostic {
    let policy = ctx.policy;
    let quantity = if dead.by.len() == 1 { "all" } else { "some" };
    let decider = decision.map(|d| d.by);
    for &j in dead.by.iter().take(MAX_LABELS) {
        let act = super::describe::action(policy, &ctx.rule(j).action);
        let text = match (decider, decision.and_then(|d| d.verdict)) {
            (Some(Decider::Rule(x)), Some(v)) if x == j => format!(
                "takes {quantity} of its packets first ({act}), and {} the witness",
                super::describe::verdict_verb(v)
            ),
            _ => format!("takes {quantity} of its packets first ({act})"),
        };
        diag = diag.label(ctx.rule(j).span, text);
    }
    if dead.by.len() > MAX_LABELS {
        let more = format!(
            "{} more earlier rules take some of its packets",
            dead.by.len() - MAX_LABELS
        );
        diag.note = Some(match diag.note.take() {
            Some(n) => format!("{n}\n{more}"),
            None => more,
        });
    }
    if let Some(d) = decision {
        let in_by = matches!(d.by, Decider::Rule(x) if dead.by.contains(&x));
        if !in_by {
            if let Some(span) = ctx.decider_span(&d.by) {
                let what = match (d.by, d.verdict) {
                    (Decider::Policy(_), Some(v)) => {
                        format!(
                            "the chain's policy {} the witness",
                            super::describe::verdict_verb(v)
                        )
                    }
                    (_, Some(v)) => format!("{} the witness", super::describe::verdict_verb(v)),
                    (_, None) => "decides the witness (a target hwc does not model)".to_string(),
                };
                diag = diag.label(span, what);
            }
        }
    }
    diag
}
