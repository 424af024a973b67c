//! What the rule lints (`shadowed`, `redundant`, `overlap`) share: which
//! rules never apply, what decides their packets instead, and which
//! rules the rules after them make unnecessary. Computed once per policy,
//! on all cores.

use crate::ir::{Action, ChainId, Packet, Policy, Verdict};
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
    /// See [`focus_regions`].
    pub focus: Vec<BoxSet>,
    /// The rules of `dead`, to look up.
    pub dead_set: std::collections::HashSet<RuleRef>,
    /// How long each step took (for benchmarks).
    pub timings: Vec<(&'static str, std::time::Duration)>,
}

/// Whether some base chain reaches the chain (in the analysis).
pub fn reached(an: &Analysis, c: ChainId) -> bool {
    an.contexts(c) > 0
}

impl RuleFacts {
    pub fn compute(policy: &Policy, an: &Analysis) -> RuleFacts {
        let mut timings = Vec::new();
        let mut clock = std::time::Instant::now();
        let mut lap = |name: &'static str| {
            let now = std::time::Instant::now();
            timings.push((name, now - clock));
            clock = now;
        };
        let dead_by: HashMap<RuleRef, Vec<RuleRef>> = an
            .covered_rules(Approx::Over)
            .into_iter()
            .filter(|(r, _)| reached(an, r.chain))
            .collect();
        lap("covered rules");
        let boxes = RuleBoxes::new(policy, an);
        lap("rule boxes");
        let focus = focus_regions(an);
        let mut dead: Vec<Dead> = dead_by
            .par_iter()
            .map(|(r, by)| Dead {
                rule: *r,
                by: by.clone(),
                fate: fate(policy, an, &boxes, &focus, *r, by),
            })
            .collect();
        dead.sort_by_key(|d| d.rule);
        lap("dead rule verdicts");

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
        let maybe: Vec<RuleRef> = live
            .par_iter()
            .copied()
            .filter(|&r| !boxes.surely_needed(policy, an, r))
            .collect();
        lap("needed rules (cheap proofs)");
        let maybe: Vec<RuleRef> = maybe
            .into_par_iter()
            .filter(|&r| an.verdict_changes(r) == Answer::Empty)
            .collect();
        lap("needed rules (walks)");
        let readable = readable_regions(an);
        let mut unneeded: Vec<Unneeded> = maybe
            .par_iter()
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
                    let witness = readable_witness(an, &readable, r).or_else(|| {
                        match an.coverage(r, Approx::Over) {
                            Coverage::Reached(p) => Some(p),
                            _ => None,
                        }
                    });
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
        lap("redundant rules");
        RuleFacts {
            timings,
            dead_set: dead_by.keys().copied().collect(),
            dead,
            unneeded,
            live,
            boxes,
            focus,
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
    /// Per chain, the index of its first `jump`, `goto`, `return` or
    /// opaque target (the chain's length when there is none).
    first_structural: Vec<u32>,
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
        let first_structural = policy
            .chains
            .iter()
            .map(|c| {
                c.rules
                    .iter()
                    .position(|x| {
                        matches!(
                            x.action,
                            Action::Jump(_) | Action::Goto(_) | Action::Return | Action::Opaque(_)
                        )
                    })
                    .unwrap_or(c.rules.len()) as u32
            })
            .collect();
        RuleBoxes {
            boxes,
            index,
            first_structural,
        }
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

/// The regions that say what rules are about: packets that start a flow
/// (conntrack state NEW or UNTRACKED), and packets off loopback.
pub fn focus_regions(an: &Analysis) -> Vec<BoxSet> {
    use super::region::Region;
    use crate::ir::dim::Dim;
    let regions = [
        Region::all().states(&[crate::ir::CtState::New, crate::ir::CtState::Untracked]),
        Region::all().not_loopback(Dim::Iif).not_loopback(Dim::Oif),
    ];
    regions.iter().filter_map(|r| r.on(an)).collect()
}

/// Regions of easily read packets, best first: a new tcp or udp
/// connection off loopback, then any packet that starts a flow.
fn readable_regions(an: &Analysis) -> Vec<BoxSet> {
    use super::region::Region;
    use crate::ir::dim::{self, Dim};
    let start = Region::all()
        .states(&[crate::ir::CtState::New])
        .not_loopback(Dim::Iif)
        .not_loopback(Dim::Oif);
    let plain = start.clone().with(
        Dim::Proto,
        &[
            (dim::PROTO_TCP as u128, dim::PROTO_TCP as u128),
            (dim::PROTO_UDP as u128, dim::PROTO_UDP as u128),
        ],
    );
    [plain, start].iter().filter_map(|r| r.on(an)).collect()
}

/// A packet the rule applies to, from the first readable region that has
/// one.
fn readable_witness(an: &Analysis, regions: &[BoxSet], r: RuleRef) -> Option<Packet> {
    let m = an.matched(r, Approx::Over);
    regions.iter().find_map(|b| m.intersect(b).witness())
}

/// A rule's packets, narrowed by each focus region that leaves some.
pub fn focus(own: &BoxSet, regions: &[BoxSet]) -> BoxSet {
    let mut out = own.clone();
    for r in regions {
        let narrowed = out.intersect(r);
        if !narrowed.is_empty() {
            out = narrowed;
        }
    }
    out
}

/// How the packets of a dead rule are decided.
///
/// Only packets that start a flow (state NEW or UNTRACKED) off loopback
/// count, when the rule matches some: every stateful policy accepts
/// ESTABLISHED and RELATED packets, drops INVALID ones and accepts
/// loopback early, and that a later rule "would have" decided them
/// otherwise says nothing about the rule (the same reasoning as the
/// flow-level egress question, SEMANTICS.md §2).
fn fate(
    policy: &Policy,
    an: &Analysis,
    boxes: &RuleBoxes,
    regions: &[BoxSet],
    r: RuleRef,
    by: &[RuleRef],
) -> Fate {
    let rule = &policy.chain(r.chain).rules[r.index as usize];
    let own = BoxSet {
        boxes: boxes.of(r).to_vec(),
    };
    let region = focus(&own, regions);
    let Some(v) = rule.action.verdict() else {
        let first = an.entry_decisions_within(r, &region, Approx::Over, &|_| true, 1);
        return Fate::NoVerdict(first.found.into_iter().next());
    };
    if let Some(f) = fate_in_chain(policy, an, boxes, &region, r, v, by) {
        return f;
    }
    let other = an.entry_decisions_within(r, &region, Approx::Over, &|w| w != Some(v), 1);
    if let Some(d) = other.found.into_iter().next() {
        Fate::Differently(d)
    } else if other.unknown {
        Fate::Unknown
    } else {
        let same = an.entry_decisions_within(r, &region, Approx::Over, &|w| w == Some(v), 1);
        Fate::Same(same.found.into_iter().next())
    }
}

/// The fate of a dead rule whose packets are all taken by earlier
/// terminal rules of its own chain (no `jump`, `goto`, `return` or opaque
/// target before it, and every covering rule in the chain): the earlier
/// rules of the other verdict whose matches meet it are asked directly,
/// without a walk. `None` when that does not apply.
#[allow(clippy::too_many_arguments)]
fn fate_in_chain(
    policy: &Policy,
    an: &Analysis,
    boxes: &RuleBoxes,
    region: &BoxSet,
    r: RuleRef,
    v: Verdict,
    by: &[RuleRef],
) -> Option<Fate> {
    let rules = &policy.chain(r.chain).rules;
    let plain = boxes.first_structural[r.chain.0 as usize] > r.index;
    if !plain || by.iter().any(|b| b.chain != r.chain) || by.is_empty() {
        return None;
    }
    let mine = region.clone();
    let witness_of = |j: RuleRef, within: &BoxSet| -> Option<Packet> {
        let (_, set) = an.decides(j, Approx::Over)?;
        set.intersect(within).check().witness()
    };
    let mut unknown = false;
    for j in boxes.earlier_meeting(r) {
        let w = rules[j.index as usize].action.verdict();
        if w.map_or(true, |w| w == v) {
            continue;
        }
        let meets = boxes
            .of(j)
            .iter()
            .any(|b| mine.boxes.iter().any(|m| m.intersects(b)));
        if !meets {
            continue;
        }
        let Some((_, set)) = an.decides(j, Approx::Over) else {
            continue;
        };
        match set.intersect(&mine).check() {
            Answer::Witness(p) => {
                return Some(Fate::Differently(Decision {
                    by: Decider::Rule(j),
                    verdict: w,
                    witness: p,
                }))
            }
            Answer::Unknown => unknown = true,
            Answer::Empty => {}
        }
    }
    if unknown {
        return Some(Fate::Unknown);
    }
    let same = by
        .iter()
        .filter(|j| rules[j.index as usize].action.verdict() == Some(v))
        .find_map(|&j| {
            witness_of(j, &mine).map(|p| Decision {
                by: Decider::Rule(j),
                verdict: Some(v),
                witness: p,
            })
        });
    Some(Fate::Same(same))
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
    // The covering rules: together their matches hold every packet that
    // reaches the rule (which of them decides a packet first may differ).
    let covers = if dead.by.len() == 1 {
        "covers it"
    } else {
        "covers part of it"
    };
    let decider = decision.map(|d| d.by);
    for &j in dead.by.iter().take(MAX_LABELS) {
        let act = super::describe::action(policy, &ctx.rule(j).action);
        let text = match (decider, decision.and_then(|d| d.verdict)) {
            (Some(Decider::Rule(x)), Some(v)) if x == j => format!(
                "{covers} ({act}), and {} the witness",
                super::describe::verdict_verb(v)
            ),
            _ => format!("{covers} ({act})"),
        };
        diag = diag.label(ctx.rule(j).span, text);
    }
    if dead.by.len() > MAX_LABELS {
        let more = format!(
            "{} more earlier rules cover part of it",
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
