//! Soundness and completeness of the lints that claim something about
//! packets, checked against the reference evaluator
//! (`hwc::space::reference`) on random policies (`common::random_policy`)
//! and random packets:
//! - a rule reported `shadowed` or `redundant` can be deleted without
//!   changing the verdict of any of the random packets nor of any witness;
//! - every `nonroot-egress` witness is a flow a non-root user can start,
//!   accepted by the reference evaluator; and every such flow among the
//!   random packets is reported at the rule (or policy) that accepts it;
//! - every `assertion-failed` counterexample violates its assertion, and
//!   no assertion that a random packet violates goes unreported; in
//!   policies without unmodelled tests nothing is "not proven";
//! - a rule covered only by two earlier rules together (one accepts part
//!   of it, the other drops the rest) is always reported `shadowed`, with
//!   both rules labelled.

mod common;

use common::{random_cond, random_packet, random_policy, show, Gen};
use hwc::analysis;
use hwc::diagnostics::Diagnostic;
use hwc::ir::*;
use hwc::source::{FileId, Span};
use hwc::space::reference::{self, match_holds, Tri};
use hwc::space::RuleRef;
use proptest::prelude::*;
use std::collections::BTreeSet;

const PACKETS: usize = 300;

/// Gives every chain, rule, assertion and egress block its own span, so
/// that a finding's primary span names one of them.
fn number(mut p: Policy) -> Policy {
    let mut at = 10;
    let mut next = || {
        at += 10;
        Span::new(FileId(0), at, at + 5)
    };
    p.span = next();
    for c in &mut p.chains {
        c.span = next();
        for r in &mut c.rules {
            r.span = next();
        }
    }
    for a in &mut p.assertions {
        a.span = next();
    }
    for e in &mut p.egress {
        e.span = next();
    }
    p
}

fn rule_at(p: &Policy, span: Span) -> Option<RuleRef> {
    p.chains.iter().enumerate().find_map(|(ci, c)| {
        c.rules
            .iter()
            .position(|r| r.span == span)
            .map(|i| RuleRef {
                chain: ChainId(ci as u32),
                index: i as u32,
            })
    })
}

fn without(p: &Policy, r: RuleRef) -> Policy {
    let mut q = p.clone();
    q.chains[r.chain.0 as usize].rules.remove(r.index as usize);
    q
}

fn packets(g: &mut Gen, n: usize) -> Vec<Packet> {
    (0..n).map(|_| random_packet(g)).collect()
}

fn verdicts(p: &Policy, pk: &Packet) -> BTreeSet<Verdict> {
    reference::decide(p, pk)
}

fn only(v: Verdict) -> BTreeSet<Verdict> {
    [v].into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn deleting_a_shadowed_or_redundant_rule_changes_no_verdict(seed in any::<u64>()) {
        let mut g = Gen(seed);
        // With unmodelled tests too: then the set of verdicts their
        // outcomes can lead to must stay the same.
        let unknowns = g.chance(30);
        let p = number(random_policy(&mut g, unknowns));
        let diags = analysis::analyze(&p);
        let mut probe = packets(&mut g, PACKETS);
        probe.extend(diags.iter().filter_map(|d| d.witness.clone()));
        for d in diags.iter().filter(|d| d.code == "shadowed" || d.code == "redundant") {
            let r = rule_at(&p, d.primary_span());
            prop_assert!(r.is_some(), "a {} finding not on a rule: {}", d.code, d.message);
            let Some(r) = r else { continue };
            let q = without(&p, r);
            for pk in &probe {
                prop_assert_eq!(
                    verdicts(&p, pk),
                    verdicts(&q, pk),
                    "deleting {:?} ({}: {}) changes the verdict of {}\n{}",
                    r, d.code, d.message, pk, show(&p)
                );
            }
        }
    }

    #[test]
    fn nonroot_egress_witnesses_are_nonroot_flows_the_policy_accepts(seed in any::<u64>()) {
        let mut g = Gen(seed);
        let unknowns = g.chance(30);
        let p = number(random_policy(&mut g, unknowns));
        let diags = analysis::analyze(&p);
        let found: Vec<&Diagnostic> = diags.iter().filter(|d| d.code == "nonroot-egress").collect();
        for d in &found {
            if d.message.starts_with("cannot prove") {
                prop_assert!(unknowns, "not proven without unmodelled tests: {}", d.message);
                continue;
            }
            let w = d.witness.as_ref();
            prop_assert!(w.is_some(), "no witness: {}", d.message);
            let Some(w) = w else { continue };
            prop_assert!(starts_a_flow(w), "not a flow a user starts: {w}");
            let v = verdicts(&p, w);
            if d.message.contains("may be able to") {
                prop_assert!(v.contains(&Verdict::Accept), "{w}: {v:?}\n{}", show(&p));
            } else {
                prop_assert_eq!(v, only(Verdict::Accept), "{}: {}\n{}", w, d.message, show(&p));
            }
        }
        // Silence is sound: every accepted user flow among random packets
        // is reported where it is decided.
        if unknowns {
            return Ok(());
        }
        for pk in packets(&mut g, PACKETS).iter().filter(|pk| starts_a_flow(pk)) {
            if !p.family.contains(pk.family) || verdicts(&p, pk) != only(Verdict::Accept) {
                continue;
            }
            let at = match reference::trace(&p, pk).decided_by {
                reference::Decider::Rule(r) => p.chain(r.chain).rules[r.index as usize].span,
                reference::Decider::Policy(c) => p.chain(c).span,
                reference::Decider::NoBaseChain => p.span,
                reference::Decider::FamilyNotFiltered => continue,
            };
            prop_assert!(
                found.iter().any(|d| d.primary_span() == at),
                "{pk} is accepted and not reported\n{}",
                show(&p)
            );
        }
    }

    #[test]
    fn assertion_counterexamples_violate_their_assertion(seed in any::<u64>()) {
        let mut g = Gen(seed);
        let unknowns = g.chance(30);
        let mut p = random_policy(&mut g, unknowns);
        add_assertions(&mut g, &mut p);
        let p = number(p);
        let diags = analysis::analyze(&p);
        let failed: Vec<&Diagnostic> = diags.iter().filter(|d| d.code == "assertion-failed").collect();
        for d in &failed {
            let not_proven = d.message.starts_with("assertion not proven");
            prop_assert!(!not_proven || unknowns, "not proven without unmodelled tests: {}", d.message);
            let at = d.primary_span();
            if let Some(a) = p.assertions.iter().find(|a| a.span == at) {
                let Some(w) = d.witness.as_ref() else {
                    // Only a reachable assertion that nothing matches.
                    prop_assert_eq!(a.kind, AssertKind::Reachable);
                    continue;
                };
                prop_assert_eq!(match_holds(&a.matches, w), Tri::Yes, "{} does not match", w);
                prop_assert_eq!(Some(w.hook), hook_of(&p, a.chain));
                let v = verdicts(&p, w);
                let bad = match a.kind {
                    AssertKind::Deny => Verdict::Accept,
                    AssertKind::Allow | AssertKind::Reachable => Verdict::Drop,
                };
                if not_proven && a.kind == AssertKind::Reachable {
                    // The witness is a packet that may be accepted (the
                    // assertion may hold; hwc cannot prove it).
                    prop_assert!(v.contains(&Verdict::Accept), "{w}: {v:?}");
                } else if not_proven {
                    prop_assert!(v.contains(&bad), "{w}: {v:?}");
                } else {
                    prop_assert_eq!(v, only(bad), "{}: {}\n{}", w, d.message, show(&p));
                }
            } else if let Some(e) = p.egress.iter().find(|e| e.span == at) {
                let Some(w) = d.witness.as_ref() else { continue };
                prop_assert!(starts_a_flow(w) && w.hook == Hook::Output, "{w}");
                prop_assert_eq!(reference::cond_holds(&e.selector, w), Tri::Yes, "{} not selected", w);
                prop_assert!(
                    e.allowed.iter().all(|m| match_holds(m, w) == Tri::No),
                    "{w} is listed"
                );
                let v = verdicts(&p, w);
                prop_assert!(v.contains(&Verdict::Accept), "{w}: {v:?}");
                if !not_proven {
                    prop_assert_eq!(v, only(Verdict::Accept));
                }
            } else {
                prop_assert!(false, "a finding on neither an assertion nor an egress block: {}", d.message);
            }
        }
        // An assertion a random packet breaks is reported.
        let reported = |span: Span| failed.iter().any(|d| d.primary_span() == span);
        // Reported as definitely failed (not merely not proven).
        let refuted = |span: Span| {
            failed
                .iter()
                .any(|d| d.primary_span() == span && !d.message.starts_with("assertion not proven"))
        };
        for pk in packets(&mut g, PACKETS) {
            let v = verdicts(&p, &pk);
            for a in &p.assertions {
                if hook_of(&p, a.chain) != Some(pk.hook) || match_holds(&a.matches, &pk) != Tri::Yes {
                    continue;
                }
                let broken = match a.kind {
                    AssertKind::Deny => v.contains(&Verdict::Accept),
                    AssertKind::Allow => v.contains(&Verdict::Drop),
                    AssertKind::Reachable => false,
                };
                prop_assert!(!broken || reported(a.span), "{pk} breaks {:?} silently\n{}", a.kind, show(&p));
                if a.kind == AssertKind::Reachable && v == only(Verdict::Accept) {
                    prop_assert!(!refuted(a.span), "{pk} is accepted: reachable holds\n{}", show(&p));
                }
            }
            for e in &p.egress {
                let selected = pk.hook == Hook::Output
                    && starts_a_flow(&pk)
                    && reference::cond_holds(&e.selector, &pk) == Tri::Yes
                    && e.allowed.iter().all(|m| match_holds(m, &pk) == Tri::No);
                let broken = selected && v.contains(&Verdict::Accept);
                prop_assert!(!broken || reported(e.span), "{pk} breaks an egress block silently\n{}", show(&p));
            }
        }
    }

    #[test]
    fn a_rule_covered_only_by_two_earlier_rules_together_is_shadowed(seed in any::<u64>()) {
        let mut g = Gen(seed);
        let mut p = random_policy(&mut g, false);
        let Some(base) = p.chains.iter().position(|c| matches!(c.kind, ChainKind::Base(_))) else {
            return Ok(());
        };
        // The planted rule: tcp ports lo..=hi plus up to two random tests
        // on addresses; the first earlier rule accepts lo..=cut, the
        // second drops cut+1..=hi.
        let lo = g.below(60000) as u16;
        let hi = lo + 1 + g.below(5000) as u16;
        let cut = lo + g.below((hi - lo) as usize) as u16;
        // At most one address test, of a family the policy filters.
        let family = p.family;
        let extra: Vec<Cond> = (0..4)
            .map(|_| random_cond(&mut g, false))
            .filter(|c| match &c.test {
                Test::Src(s) | Test::Dst(s) => {
                    !c.negated && s.ranges.iter().all(|r| family.contains(r.family))
                }
                _ => false,
            })
            .take(1)
            .collect();
        let tcp = |a: u16, b: u16| {
            let mut conds = vec![Cond::new(
                Test::L4(vec![L4 {
                    proto: 6,
                    sport: None,
                    dport: Some(PortSet { name: None, ranges: vec![(a, b)] }),
                    icmp: None,
                    service: None,
                }]),
                Span::default(),
            )];
            conds.extend(extra.iter().cloned());
            Match { conds }
        };
        let planted = |m: Match, action: Action| Rule {
            matches: m,
            action,
            span: Span::default(),
            allow: vec![],
            comment: None,
        };
        let rules = &mut p.chains[base].rules;
        rules.insert(0, planted(tcp(lo, hi), Action::Accept));
        rules.insert(0, planted(tcp(cut + 1, hi), Action::Drop));
        rules.insert(0, planted(tcp(lo, cut), Action::Accept));
        let p = number(p);
        let diags = analysis::analyze(&p);
        let at = |i: usize| p.chains[base].rules[i].span;
        let d = diags.iter().find(|d| d.code == "shadowed" && d.primary_span() == at(2));
        prop_assert!(d.is_some(), "the planted rule is not reported shadowed: {:?}\n{}",
            diags.iter().map(|d| (d.code, &d.message)).collect::<Vec<_>>(), show(&p));
        let Some(d) = d else { return Ok(()) };
        for i in [0, 1] {
            prop_assert!(d.labels.iter().any(|l| !l.primary && l.span == at(i)), "rule {} is not labelled", i);
        }
        let w = d.witness.as_ref();
        prop_assert!(w.is_some_and(|w| verdicts(&p, w) == only(Verdict::Drop)), "{:?}", w);
    }
}

/// A packet that can start a flow of a non-root user: outbound from a user
/// socket other than root's, or inbound to a port a user can bind; in
/// state NEW, UNTRACKED or INVALID; not on loopback; of a protocol a user
/// can send.
fn starts_a_flow(p: &Packet) -> bool {
    let state = matches!(
        p.state,
        CtState::New | CtState::Untracked | CtState::Invalid
    );
    let ping = (p.family == Family::V4 && p.proto == 1 && p.icmp_type == Some(8))
        || (p.family == Family::V6 && p.proto == 58 && p.icmp_type == Some(128));
    match p.hook {
        Hook::Output => {
            let user = matches!(p.owner, Owner::Socket { uid, .. } if uid != 0);
            let proto = matches!(p.proto, 6 | 17 | 33 | 132 | 136) || ping;
            state && user && proto && p.oif != "lo"
        }
        Hook::Input => {
            matches!(p.state, CtState::New | CtState::Untracked)
                && matches!(p.proto, 6 | 17 | 132)
                && p.dport.is_some_and(|d| d >= 1024)
                && p.iif != "lo"
        }
        Hook::Forward => false,
    }
}

fn hook_of(p: &Policy, c: ChainId) -> Option<Hook> {
    match p.chain(c).kind {
        ChainKind::Base(h) => Some(h),
        ChainKind::User => None,
    }
}

/// A few random assertions on base chains and, sometimes, an egress block.
fn add_assertions(g: &mut Gen, p: &mut Policy) {
    let bases: Vec<ChainId> = p
        .chains
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c.kind, ChainKind::Base(_)))
        .map(|(i, _)| ChainId(i as u32))
        .collect();
    if bases.is_empty() {
        return;
    }
    for _ in 0..1 + g.below(3) {
        let chain = g.pick(&bases);
        let conds = (0..1 + g.below(2))
            .map(|_| random_cond(g, false))
            .filter(|c| {
                !matches!(c.test, Test::Uid(_) | Test::Gid(_))
                    || hook_of(p, chain) == Some(Hook::Output)
            })
            .collect();
        p.assertions.push(Assertion {
            kind: g.pick(&[AssertKind::Allow, AssertKind::Deny, AssertKind::Reachable]),
            chain,
            matches: Match { conds },
            span: Span::default(),
        });
    }
    if g.chance(50) {
        let mut selector = Cond::new(
            Test::Uid(vec![OwnerRange {
                lo: 0,
                hi: 0,
                host_name: None,
            }]),
            Span::default(),
        );
        if g.chance(60) {
            selector = selector.negate();
        } else {
            selector.test = Test::Uid(vec![OwnerRange {
                lo: 1000,
                hi: 1999,
                host_name: None,
            }]);
        }
        let allowed = (0..g.below(3))
            .map(|_| Match {
                conds: (0..1 + g.below(2)).map(|_| random_cond(g, false)).collect(),
            })
            .collect();
        p.egress.push(Egress {
            selector,
            allowed,
            span: Span::default(),
            allow: vec![],
        });
    }
}
