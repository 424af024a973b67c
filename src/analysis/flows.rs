//! Which rules accept the packets of a region: the flow question that
//! `nonroot-egress` and egress allow-lists (`assertion-failed`) share.
//!
//! Every accepting rule of a chain the hook reaches, the base chain's
//! policy and the packets the policy does not filter are asked in turn:
//! "does it accept a packet of the region?". A definite answer comes from
//! the under-approximation `Accept⁻` (the witness is accepted whatever the
//! rate limits do); a possible one only from `Accept⁺`. "Nothing here" is
//! claimed only from `Accept⁺` (SEMANTICS.md §3).

use super::Context;
use crate::ir::{Action, ChainId, Hook, Packet, Verdict};
use crate::space::eval::{Analysis, Answer, EvalSet};
use crate::space::reference::Decider;
use crate::space::{Approx, BoxSet, RuleRef};
use rayon::prelude::*;

/// One place that accepts packets of the region.
#[derive(Debug, Clone)]
pub struct Accepting {
    /// A rule, the base chain's policy, a missing base chain or a family
    /// the policy does not filter.
    pub decider: Decider,
    pub witness: Packet,
    /// The witness is accepted whatever the tests hwc does not model do;
    /// otherwise it only may be.
    pub definite: bool,
}

/// Everything that accepts packets of a region at one hook.
#[derive(Debug, Clone, Default)]
pub struct Accepted {
    pub by: Vec<Accepting>,
    /// Some check ran out of its work budget: more may be accepted.
    pub unknown: bool,
}

/// The first witness of a set in the under-approximation, else in the
/// over-approximation. `None` with `unknown` set when a check ran out of
/// budget and nothing was found.
fn witness<'a>(
    set: impl Fn(Approx) -> EvalSet<'a>,
    region: &BoxSet,
    exact: bool,
    unknown: &mut bool,
) -> Option<(Packet, bool)> {
    let modes: &[Approx] = if exact {
        &[Approx::Over]
    } else {
        &[Approx::Under, Approx::Over]
    };
    for &a in modes {
        match set(a).intersect(region).check() {
            Answer::Witness(p) => return Some((p, exact || a == Approx::Under)),
            Answer::Unknown => *unknown = true,
            Answer::Empty => {}
        }
    }
    None
}

/// The rules, policy and unfiltered families that accept packets of
/// `region` at `hook`. `unfiltered_families`: also report packets of the
/// families the policy does not filter (a missing base chain is always
/// reported).
pub fn accepted_in(ctx: &Context, hook: Hook, region: &BoxSet, unfiltered_families: bool) -> Accepted {
    let Some(an) = ctx.analysis() else {
        return Accepted {
            by: vec![],
            unknown: true,
        };
    };
    let exact = an.is_exact();
    let candidates = accepting_rules(ctx, an, region);
    let per_rule: Vec<(Option<Accepting>, bool)> = candidates
        .par_iter()
        .map(|&r| {
            let mut unknown = false;
            let rule = ctx.rule(r);
            let found = if rule.action.verdict() == Some(Verdict::Accept) {
                witness(
                    |a| {
                        an.decides(r, a)
                            .map(|(_, s)| s)
                            .unwrap_or_else(|| an.matched(r, a))
                    },
                    region,
                    exact,
                    &mut unknown,
                )
            } else {
                // An opaque target may accept: only ever a possibility.
                witness(|_| an.matched(r, Approx::Over), region, true, &mut unknown)
                    .map(|(p, _)| (p, false))
            };
            (
                found.filter(|(p, _)| p.hook == hook).map(|(p, definite)| Accepting {
                    decider: Decider::Rule(r),
                    witness: p,
                    definite,
                }),
                unknown,
            )
        })
        .collect();
    let mut out = Accepted::default();
    for (a, unknown) in per_rule {
        out.unknown |= unknown;
        out.by.extend(a);
    }
    let base = ctx.policy.base_chain(hook);
    if let Some(c) = base {
        if ctx.policy.chain(c).policy == Some(Verdict::Accept) {
            let found = witness(|a| an.policy_reach(hook, a), region, exact, &mut out.unknown);
            if let Some((p, definite)) = found {
                out.by.push(Accepting {
                    decider: Decider::Policy(c),
                    witness: p,
                    definite,
                });
            }
        }
    }
    if base.is_none() || unfiltered_families {
        match an.unfiltered(hook).intersect(region).check() {
            Answer::Witness(p) => out.by.push(Accepting {
                decider: if base.is_none() {
                    Decider::NoBaseChain
                } else {
                    Decider::FamilyNotFiltered
                },
                witness: p,
                definite: true,
            }),
            Answer::Unknown => out.unknown = true,
            Answer::Empty => {}
        }
    }
    out
}

/// The accepting (or opaque) rules of chains some base chain reaches
/// whose match meets the region at all.
fn accepting_rules(ctx: &Context, an: &Analysis, region: &BoxSet) -> Vec<RuleRef> {
    let mut out = Vec::new();
    for (ci, c) in ctx.policy.chains.iter().enumerate() {
        let chain = ChainId(ci as u32);
        if !super::rules::reached(an, chain) {
            continue;
        }
        for (i, rule) in c.rules.iter().enumerate() {
            if !matches!(rule.action, Action::Accept | Action::Opaque(_)) {
                continue;
            }
            let meets = match an.match_set(&rule.matches, Approx::Over) {
                Ok(m) => !m.intersect(region).is_empty(),
                Err(_) => true,
            };
            if meets {
                out.push(RuleRef {
                    chain,
                    index: i as u32,
                });
            }
        }
    }
    out
}
