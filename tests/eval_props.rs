//! The box evaluator agrees with the naive reference evaluator on random
//! policies (user chains with jump/goto/return, logs, negated owner tests
//! of both kinds, states, ports, v4/v6 addresses, wildcard interfaces,
//! limits and opaque tests) × random packets.

mod common;

use common::{random_cond, random_packet, random_policy, rule, show, Gen};
use hwc::ir::*;
use hwc::space::convert::is_valid;
use hwc::space::eval::{compare, Analysis, Comparison, Coverage, Redundancy};
use hwc::space::packet::coords;
use hwc::space::reference::{self, Decider, Tri};
use hwc::space::{Approx, RuleRef};
use proptest::prelude::*;
use std::collections::BTreeSet;

const PACKETS: usize = 40;

fn rules_of(p: &Policy) -> Vec<RuleRef> {
    p.chains
        .iter()
        .enumerate()
        .flat_map(|(c, ch)| {
            (0..ch.rules.len()).map(move |i| RuleRef {
                chain: ChainId(c as u32),
                index: i as u32,
            })
        })
        .collect()
}

/// The rules a packet reaches and the ones it matches there (exact policies).
fn visits(p: &Policy, pk: &Packet) -> (BTreeSet<RuleRef>, BTreeSet<RuleRef>) {
    let (_, _, steps, _) = reference::run_with(p, pk, &[]);
    let reached = steps.iter().map(|s| s.rule).collect();
    let matched = steps
        .iter()
        .filter(|s| s.matched == Tri::Yes)
        .map(|s| s.rule)
        .collect();
    (reached, matched)
}

fn check_policy(seed: u64, unknowns: bool) -> Result<(), TestCaseError> {
    let mut g = Gen(seed);
    let p = random_policy(&mut g, unknowns);
    let an = Analysis::new(&p).expect("analysis");
    let rules = rules_of(&p);
    let covered: BTreeSet<RuleRef> = an
        .covered_rules(Approx::Over)
        .into_iter()
        .map(|(r, _)| r)
        .collect();
    for &r in &rules {
        prop_assert_eq!(
            covered.contains(&r),
            matches!(an.coverage(r, Approx::Over), Coverage::Covered { .. }),
            "covered_rules and coverage disagree on {:?}",
            r
        );
    }
    for _ in 0..PACKETS {
        let pk = random_packet(&mut g);
        let verdicts = reference::decide(&p, &pk);
        let h = pk.hook;
        let acc_over = an.accepted(h, Approx::Over).contains(&pk);
        let drop_over = an.dropped(h, Approx::Over).contains(&pk);
        let acc_under = an.accepted(h, Approx::Under).contains(&pk);
        let drop_under = an.dropped(h, Approx::Under).contains(&pk);
        let ctx = || format!("policy {}\npacket {pk}\nreference {verdicts:?}", show(&p));
        if verdicts.contains(&Verdict::Accept) {
            prop_assert!(acc_over, "Accept⁺ misses an acceptable packet\n{}", ctx());
        }
        if verdicts.contains(&Verdict::Drop) {
            prop_assert!(drop_over, "Drop⁺ misses a droppable packet\n{}", ctx());
        }
        if acc_under {
            prop_assert!(
                verdicts == BTreeSet::from([Verdict::Accept]),
                "Accept⁻ holds a packet not surely accepted\n{}",
                ctx()
            );
        }
        if drop_under {
            prop_assert!(
                verdicts == BTreeSet::from([Verdict::Drop]),
                "Drop⁻ holds a packet not surely dropped\n{}",
                ctx()
            );
        }
        // Covered (under `Over`) means: under no outcome of the unknowns.
        let (_, matched_now) = visits(&p, &pk);
        for r in matched_now.intersection(&covered) {
            prop_assert!(
                false,
                "rule {:?} called covered but packet {} matches it\n{}",
                r,
                pk,
                show(&p)
            );
        }
        if an.is_exact() {
            prop_assert_eq!(acc_over, verdicts.contains(&Verdict::Accept), "{}", ctx());
            prop_assert_eq!(drop_over, verdicts.contains(&Verdict::Drop), "{}", ctx());
            prop_assert!(acc_over != drop_over);
            let (reached, matched) = visits(&p, &pk);
            for &r in &rules {
                prop_assert_eq!(
                    an.reach(r, Approx::Over).contains(&pk),
                    reached.contains(&r),
                    "reach of {:?}\n{}",
                    r,
                    ctx()
                );
                prop_assert_eq!(
                    an.matched(r, Approx::Over).contains(&pk),
                    matched.contains(&r),
                    "match of {:?}\n{}",
                    r,
                    ctx()
                );
            }
        }
        let t = reference::trace(&p, &pk);
        prop_assert!(verdicts.contains(&t.verdict));
        prop_assert_eq!(
            t.possible.iter().copied().collect::<BTreeSet<_>>(),
            verdicts
        );
    }
    // Witnesses are real packets of the sets they come from.
    for &r in &rules {
        if let Coverage::Reached(w) = an.coverage(r, Approx::Over) {
            prop_assert!(is_valid(&coords(&w), w.hook), "invalid witness {}", w);
            if an.is_exact() {
                let (_, matched) = visits(&p, &w);
                prop_assert!(
                    matched.contains(&r),
                    "witness {} does not match {:?}\npolicy {:#?}",
                    w,
                    r,
                    p
                );
            }
        }
        if let Coverage::Reached(w) = an.coverage(r, Approx::Under) {
            // Under the under-approximation the witness surely reaches and
            // matches the rule, whatever the unknown tests do.
            let (_, matched) = visits(&p, &w);
            prop_assert!(
                matched.contains(&r),
                "under witness {} for {:?}\npolicy {:#?}",
                w,
                r,
                p
            );
        }
    }
    for h in Hook::ALL {
        for (set, v) in [
            (an.accepted(h, Approx::Under), Verdict::Accept),
            (an.dropped(h, Approx::Under), Verdict::Drop),
        ] {
            if let Some(w) = set.witness() {
                prop_assert_eq!(w.hook, h);
                prop_assert!(is_valid(&coords(&w), h));
                prop_assert_eq!(
                    reference::decide(&p, &w),
                    BTreeSet::from([v]),
                    "witness {}",
                    w
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn exact_policies_agree_with_the_reference(seed in any::<u64>()) {
        check_policy(seed, false)?;
    }

    #[test]
    fn approximations_are_sound(seed in any::<u64>()) {
        check_policy(seed, true)?;
    }

    #[test]
    fn planted_union_shadow_is_always_found(seed in any::<u64>()) {
        let mut g = Gen(seed);
        let mut p = random_policy(&mut g, false);
        let Some(ci) = p.chains.iter().position(|c| matches!(c.kind, ChainKind::Base(_))) else {
            return Ok(());
        };
        // Two rules that split a port range, then a narrower rule across the split.
        let lo = g.below(1000) as u16;
        let mid = lo + 1 + g.below(1000) as u16;
        let hi = mid + 1 + g.below(1000) as u16;
        let proto = g.pick(&[6u8, 17, 132]);
        let l4 = |a: u16, b: u16| Test::L4(vec![L4 { proto, sport: None, dport: Some(PortSet { name: None, ranges: vec![(a, b)] }), icmp: None, service: None }]);
        let shared: Vec<Cond> = (0..g.below(2)).map(|_| random_cond(&mut g, false)).collect();
        let extra: Vec<Cond> = (0..g.below(3)).map(|_| random_cond(&mut g, false)).collect();
        let mk = |t: Test, more: &[Cond]| {
            let mut c = vec![Cond::new(t, Default::default())];
            c.extend(shared.iter().cloned());
            c.extend(more.iter().cloned());
            c
        };
        let a = rule(mk(l4(lo, mid), &[]), g.pick(&[Action::Accept, Action::Drop]));
        let b = rule(mk(l4(mid + 1, hi), &[]), g.pick(&[Action::Accept, Action::Drop, Action::Reject(None)]));
        let c = rule(mk(l4(mid - g.below((mid - lo) as usize + 1) as u16, mid + 1 + g.below((hi - mid) as usize) as u16), &extra), g.pick(&[Action::Accept, Action::Drop]));
        let n = p.chains[ci].rules.len();
        let ia = g.below(n + 1);
        p.chains[ci].rules.insert(ia, a);
        let ib = ia + 1 + g.below(n + 1 - ia);
        p.chains[ci].rules.insert(ib, b);
        let ic = ib + 1 + g.below(n + 2 - ib);
        p.chains[ci].rules.insert(ic, c);
        let an = Analysis::new(&p).expect("analysis");
        let r = RuleRef { chain: ChainId(ci as u32), index: ic as u32 };
        match an.coverage(r, Approx::Over) {
            Coverage::Covered { .. } => {}
            other => prop_assert!(false, "planted rule not covered: {:?}\n{:#?}", other, p),
        }
        prop_assert!(an.covered_rules(Approx::Over).iter().any(|(x, _)| *x == r));
    }

}

proptest! {
    // Each case builds several analyses per rule: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(150))]

    #[test]
    fn redundancy_and_comparison_are_real(seed in any::<u64>()) {
        let mut g = Gen(seed);
        let p = random_policy(&mut g, false);
        let rules = rules_of(&p);
        let an = Analysis::new(&p).expect("analysis");
        let packets: Vec<Packet> = (0..PACKETS).map(|_| random_packet(&mut g)).collect();
        for &r in &rules {
            // Overlap witnesses: decided by the earlier rule, matched by this one.
            for o in an.overlaps(r, Approx::Over) {
                let t = reference::trace(&p, &o.witness);
                prop_assert_eq!(t.decided_by, Decider::Rule(o.rule), "overlap witness {} of {:?}\n{}", o.witness, r, show(&p));
                let m = &p.chain(r.chain).rules[r.index as usize].matches;
                prop_assert_eq!(reference::match_holds(m, &o.witness), Tri::Yes);
            }
            let mut q = p.clone();
            q.chains[r.chain.0 as usize].rules.remove(r.index as usize);
            match an.redundancy(r) {
                Redundancy::Redundant { .. } => {
                    for pk in &packets {
                        prop_assert_eq!(reference::decide(&p, pk), reference::decide(&q, pk), "rule {:?} called redundant, packet {}\n{}", r, pk, show(&p));
                    }
                }
                Redundancy::Needed(w) => {
                    prop_assert_ne!(reference::decide(&p, &w), reference::decide(&q, &w), "rule {:?} needed for {}\n{}", r, w, show(&p));
                }
                Redundancy::Unknown => prop_assert!(false, "budget exhausted on a tiny policy"),
                Redundancy::NotTerminal => prop_assert!(p.chain(r.chain).rules[r.index as usize].action.verdict().is_none()),
            }
            // Translation validation: the policy with and without the rule
            // (for a few rules: building two analyses per rule is slow in
            // debug builds).
            if r.index > 2 {
                continue;
            }
            let (a1, a2) = Analysis::pair(&p, &q).expect("pair");
            for h in Hook::ALL {
                match compare(&a1, &a2, h).expect("shared space") {
                    Comparison::Same => {
                        for pk in packets.iter().filter(|pk| pk.hook == h) {
                            prop_assert_eq!(reference::decide(&p, pk), reference::decide(&q, pk));
                        }
                    }
                    Comparison::Differ { packet, left, right, definite } => {
                        prop_assert!(definite);
                        prop_assert_eq!(packet.hook, h);
                        prop_assert_eq!(reference::decide(&p, &packet), BTreeSet::from([left]));
                        prop_assert_eq!(reference::decide(&q, &packet), BTreeSet::from([right]));
                    }
                    Comparison::Unknown => prop_assert!(false, "budget exhausted on a tiny policy"),
                }
            }
        }
        // Who decides: the reference's deciding rule decides under the box evaluator too.
        for pk in &packets {
            let t = reference::trace(&p, pk);
            if let Decider::Rule(r) = t.decided_by {
                let (v, set) = an.decides(r, Approx::Over).expect("terminal");
                prop_assert_eq!(v, t.verdict);
                prop_assert!(set.contains(pk));
            }
        }
    }
}
