//! Equivalence of two policies on every packet, with a witness when they
//! differ: the proof behind `hwc import` (the printed `.hw` says what the
//! dump says) and translation validation in `hwc compile` (the emitted
//! rules say what the policy says).
//!
//! # Tests hwc does not model
//! A rate limit or an opaque match holds for some packets at some times.
//! No packet-set proof can say which, so two policies with such tests are
//! compared in every *instantiation*: once as if every such test held
//! ([`Assumption::UnknownsHold`]: every token bucket full) and once as if
//! none did ([`Assumption::UnknownsFail`]: every bucket empty). Both are
//! states the kernel can really be in, and each instantiation is an exact
//! policy, so each comparison is exact. An opaque target decides `accept`
//! when unknowns hold and does nothing when they fail. "Equivalent" then
//! means equivalent in both instantiations, which [`Equivalence`] says.
//!
//! An instantiation keeps every rule at its index (a rule whose unknown
//! test cannot hold gets an impossible match), so rule references and
//! spans stay valid for reporting.

use super::atoms::Space;
use super::eval::{intersection, Analysis, Answer, EvalError};
use super::Approx;
use crate::ir::{Action, Cond, Family, FamilySet, Hook, Match, Packet, Policy, Test, Verdict};
use std::sync::Arc;

/// Which outcome of the unmodelled tests a comparison assumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Assumption {
    /// The policies have no test hwc does not model: the answer is exact.
    Exact,
    /// Every rate limit and opaque match holds; opaque targets accept.
    UnknownsHold,
    /// No rate limit or opaque match holds; opaque targets do nothing.
    UnknownsFail,
}

impl Assumption {
    /// Words for a report: empty for `Exact`.
    pub fn describe(self) -> &'static str {
        match self {
            Assumption::Exact => "",
            Assumption::UnknownsHold => {
                "when every rate limit and unmodelled match holds (an approximation)"
            }
            Assumption::UnknownsFail => {
                "when no rate limit or unmodelled match holds (an approximation)"
            }
        }
    }
}

/// A packet two policies decide differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub hook: Hook,
    pub packet: Packet,
    /// The verdict of the first policy.
    pub left: Verdict,
    /// The verdict of the second policy.
    pub right: Verdict,
    pub assumption: Assumption,
}

/// The outcome of [`check_equivalent`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Equivalence {
    /// Every packet gets the same verdict. `exact` is false when the
    /// policies have rate limits or opaque tests: then the proof covers
    /// both instantiations (see the module documentation).
    Equivalent {
        exact: bool,
    },
    Differ(Difference),
    /// The engine's work budget ran out on this hook.
    Unknown {
        hook: Hook,
    },
    /// The policies could not be analysed at all.
    Error(EvalError),
}

/// Whether the policy has a test or target hwc does not model.
pub fn has_unknowns(policy: &Policy) -> bool {
    policy.chains.iter().flat_map(|c| &c.rules).any(|r| {
        matches!(r.action, Action::Opaque(_)) || r.matches.conds.iter().any(|c| is_unknown(&c.test))
    })
}

fn is_unknown(t: &Test) -> bool {
    matches!(t, Test::Limit(_) | Test::Opaque(_))
}

/// The instantiations a comparison of these policies needs.
pub fn assumptions(policies: &[&Policy]) -> Vec<Assumption> {
    if policies.iter().any(|p| has_unknowns(p)) {
        vec![Assumption::UnknownsHold, Assumption::UnknownsFail]
    } else {
        vec![Assumption::Exact]
    }
}

/// The policy with every unmodelled test decided as `assumption` says.
/// Rules keep their indexes; the result has no unknowns.
pub fn instantiate(policy: &Policy, assumption: Assumption) -> Policy {
    let holds = match assumption {
        Assumption::Exact => return policy.clone(),
        Assumption::UnknownsHold => true,
        Assumption::UnknownsFail => false,
    };
    let mut out = policy.clone();
    for rule in out.chains.iter_mut().flat_map(|c| &mut c.rules) {
        let mut never = false;
        rule.matches.conds.retain(|c| {
            if !is_unknown(&c.test) {
                return true;
            }
            // The condition holds when the test's outcome differs from its
            // negation.
            if holds == c.negated {
                never = true;
            }
            false
        });
        if let Action::Opaque(_) = rule.action {
            rule.action = if holds {
                Action::Accept
            } else {
                Action::Continue(String::new())
            };
        }
        if never {
            rule.matches = impossible(rule.span);
        }
    }
    out
}

/// A match no packet satisfies (it is of both families).
fn impossible(span: crate::source::Span) -> Match {
    Match {
        conds: vec![
            Cond::new(Test::Family(Family::V4), span),
            Cond::new(Test::Family(Family::V6), span),
        ],
    }
}

/// A match that holds for the packets of one family.
pub(crate) fn family_match(f: Family) -> Match {
    Match {
        conds: vec![Cond::new(Test::Family(f), Default::default())],
    }
}

/// Do `a` and `b` give every packet of the families in `families` the same
/// verdict at every hook? Packets of other families are not compared (a
/// per-family text is compared with the part of a policy it implements).
pub fn check_equivalent(a: &Policy, b: &Policy, families: FamilySet) -> Equivalence {
    let assumptions = assumptions(&[a, b]);
    for &assumption in &assumptions {
        let (ia, ib) = (instantiate(a, assumption), instantiate(b, assumption));
        match check_exact(&ia, &ib, families, assumption) {
            Equivalence::Equivalent { .. } => {}
            other => return other,
        }
    }
    Equivalence::Equivalent {
        exact: assumptions == [Assumption::Exact],
    }
}

/// [`check_equivalent`] for policies without unknowns.
fn check_exact(a: &Policy, b: &Policy, families: FamilySet, assumption: Assumption) -> Equivalence {
    let extra: Vec<Match> = Family::ALL.into_iter().map(family_match).collect();
    let space = Arc::new(Space::for_policies(&[a, b], &extra));
    let (aa, ab) = match (
        Analysis::with_space(a, space.clone()),
        Analysis::with_space(b, space),
    ) {
        (Ok(x), Ok(y)) => (x, y),
        (Err(e), _) | (_, Err(e)) => return Equivalence::Error(e),
    };
    for hook in Hook::ALL {
        for family in Family::ALL {
            if !families.contains(family) {
                continue;
            }
            let Ok(fam) = aa.match_set(&family_match(family), Approx::Over) else {
                return Equivalence::Unknown { hook };
            };
            let pairs = [
                (
                    aa.accepted(hook, Approx::Over),
                    ab.dropped(hook, Approx::Over),
                    Verdict::Accept,
                    Verdict::Drop,
                ),
                (
                    aa.dropped(hook, Approx::Over),
                    ab.accepted(hook, Approx::Over),
                    Verdict::Drop,
                    Verdict::Accept,
                ),
            ];
            for (x, y, left, right) in pairs {
                match intersection(&x.intersect(&fam), &y) {
                    Err(e) => return Equivalence::Error(e),
                    Ok(Answer::Empty) => {}
                    Ok(Answer::Witness(packet)) => {
                        return Equivalence::Differ(Difference {
                            hook,
                            packet,
                            left,
                            right,
                            assumption,
                        })
                    }
                    Ok(Answer::Unknown) => return Equivalence::Unknown { hook },
                }
            }
        }
    }
    Equivalence::Equivalent { exact: true }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{MemoryLoader, SourceMap};
    use crate::space::reference;
    use std::path::Path;

    fn load(text: &str) -> Policy {
        let mut sources = SourceMap::new();
        let (p, d) = crate::sema::load_source(
            Path::new("p.hw"),
            text,
            &MemoryLoader::default(),
            &mut sources,
        );
        p.unwrap_or_else(|| panic!("{d:?}"))
    }

    fn verdicts(p: &Policy, packet: &Packet) -> Vec<Verdict> {
        reference::decide(p, packet).into_iter().collect()
    }

    #[test]
    fn reordered_independent_rules_are_equivalent() {
        let a = load("chain input policy drop {\n accept tcp 22\n accept udp 53\n}\n");
        let b = load("chain input policy drop {\n accept udp 53\n accept tcp 22\n}\n");
        assert_eq!(
            check_equivalent(&a, &b, FamilySet::INET),
            Equivalence::Equivalent { exact: true }
        );
    }

    #[test]
    fn a_difference_comes_with_a_witness_both_policies_agree_on() {
        let a = load("chain input policy drop {\n accept tcp 22\n drop tcp 23\n}\n");
        let b = load("chain input policy drop {\n accept tcp 22-23\n}\n");
        let Equivalence::Differ(d) = check_equivalent(&a, &b, FamilySet::INET) else {
            panic!("no difference found");
        };
        assert_eq!(d.hook, Hook::Input);
        assert_eq!(d.packet.dport, Some(23));
        assert_eq!(verdicts(&a, &d.packet), vec![d.left]);
        assert_eq!(verdicts(&b, &d.packet), vec![d.right]);
        assert_eq!(d.assumption, Assumption::Exact);
    }

    #[test]
    fn families_outside_the_comparison_are_ignored() {
        let a = load("policy p { family inet }\nchain input policy drop {\n accept tcp 22\n}\n");
        let b = load("policy p { family ip }\nchain input policy drop {\n accept tcp 22\n}\n");
        // IPv6 packets: `a` drops them, `b` does not filter them.
        assert!(matches!(
            check_equivalent(&a, &b, FamilySet::INET),
            Equivalence::Differ(Difference {
                packet: Packet {
                    family: Family::V6,
                    ..
                },
                ..
            })
        ));
        assert_eq!(
            check_equivalent(&a, &b, FamilySet::IP),
            Equivalence::Equivalent { exact: true }
        );
    }

    #[test]
    fn rate_limits_are_compared_in_both_instantiations() {
        let a = load("chain input policy drop {\n accept tcp 22 limit 10/minute\n}\n");
        let same = load("chain input policy drop {\n accept tcp 22 limit 10/minute\n}\n");
        assert_eq!(
            check_equivalent(&a, &same, FamilySet::INET),
            Equivalence::Equivalent { exact: false }
        );
        // Dropping the limit shows when the bucket is empty.
        let no_limit = load("chain input policy drop {\n accept tcp 22\n}\n");
        match check_equivalent(&a, &no_limit, FamilySet::INET) {
            Equivalence::Differ(d) => {
                assert_eq!(d.assumption, Assumption::UnknownsFail);
                assert_eq!((d.left, d.right), (Verdict::Drop, Verdict::Accept));
            }
            other => panic!("{other:?}"),
        }
        // A negated limit shows when the bucket is full.
        let negated = load("chain input policy drop {\n accept tcp 22 not limit 10/minute\n}\n");
        match check_equivalent(&a, &negated, FamilySet::INET) {
            Equivalence::Differ(d) => assert_eq!(d.assumption, Assumption::UnknownsHold),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn instantiation_keeps_rule_indexes() {
        let p = load(
            "chain input policy drop {\n accept tcp 22 not limit 1/second\n accept udp 53\n}\n",
        );
        let held = instantiate(&p, Assumption::UnknownsHold);
        assert!(!has_unknowns(&held));
        assert_eq!(held.chains[0].rules.len(), 2);
        let pk: Packet = "input tcp port 22".parse().unwrap();
        assert_eq!(
            reference::decide(&held, &pk)
                .into_iter()
                .collect::<Vec<_>>(),
            vec![Verdict::Drop]
        );
        let failed = instantiate(&p, Assumption::UnknownsFail);
        assert_eq!(
            reference::decide(&failed, &pk)
                .into_iter()
                .collect::<Vec<_>>(),
            vec![Verdict::Accept]
        );
    }
}
