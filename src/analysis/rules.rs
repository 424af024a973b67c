//! What the rule lints (`shadowed`, `redundant`, `overlap`) share: which
//! rules never apply, what decides their packets instead, and which
//! rules the rules after them make unnecessary. Computed once per policy,
//! on all cores.

use crate::ir::{Action, ChainId, Policy, Verdict};
use crate::space::eval::{Analysis, Coverage, Decision, Redundancy};
use crate::space::reference::Decider;
use crate::space::{Approx, RuleRef};
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

#[derive(Debug, Clone, Default)]
pub struct RuleFacts {
    pub dead: Vec<Dead>,
    pub unneeded: Vec<Unneeded>,
    /// Rules with a verdict that some packet reaches (or that could not be
    /// proven dead), in reachable chains.
    pub live: Vec<RuleRef>,
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
        let mut unneeded: Vec<Unneeded> = live
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
                    let witness = match an.coverage(r, Approx::Over) {
                        Coverage::Reached(p) => Some(p),
                        _ => None,
                    };
                    Some(Unneeded { rule: r, by, witness })
                }
                _ => None,
            })
            .collect();
        unneeded.sort_by_key(|u| u.rule);
        RuleFacts {
            dead,
            unneeded,
            live,
        }
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
                        format!("the chain's policy {} the witness", super::describe::verdict_verb(v))
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
