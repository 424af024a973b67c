//! The flow classes of `hwc report` against the naive reference evaluator,
//! on random policies (user chains with jump/goto/return, default policies,
//! unfiltered families, negated owner tests) × random packets:
//!
//! - every witness is a real flow: accepted at its hook, NEW or UNTRACKED,
//!   decided by one of the class's rules (or by what the class names);
//! - a non-root witness is a flow from a user socket other than root's,
//!   not on `lo`;
//! - nothing is missed: every accepted NEW/UNTRACKED packet is decided by a
//!   rule of some class of its hook, or by a default-policy, unfiltered or
//!   no-chain class.

mod common;

use common::{random_packet, random_policy, show, Gen};
use hwc::ir::*;
use hwc::report::flows::{self, Source};
use hwc::source::SourceMap;
use hwc::space::eval::Analysis;
use hwc::space::reference::{self, Decider};
use proptest::prelude::*;

const PACKETS: usize = 60;

fn decided_by(class: &flows::Class, policy: &Policy, d: Decider) -> bool {
    match d {
        Decider::Rule(r) => class.sites.iter().any(|s| s.rule == r),
        Decider::Policy(c) => class.source == Source::DefaultPolicy(c),
        // Without a base chain the reference names the family first.
        Decider::FamilyNotFiltered => {
            matches!(class.source, Source::Unfiltered(_) | Source::NoBaseChain)
        }
        Decider::NoBaseChain => {
            class.source == Source::NoBaseChain && policy.base_chain(class.hook).is_none()
        }
    }
}

fn check(seed: u64, unknowns: bool) -> Result<(), TestCaseError> {
    let mut g = Gen(seed);
    let policy = random_policy(&mut g, unknowns);
    let an = Analysis::with_queries(&policy, &flows::query_matches()).unwrap();
    let exact = an.is_exact();
    let classes = flows::classes(&an, &SourceMap::new(), &[]).unwrap();
    for c in &classes {
        let w = c
            .witness
            .as_ref()
            .expect("small policies stay in the budget");
        prop_assert_eq!(w.hook, c.hook);
        prop_assert!(matches!(w.state, CtState::New | CtState::Untracked));
        if c.definite {
            prop_assert_eq!(
                reference::decide(&policy, w),
                [Verdict::Accept].into(),
                "definite witness {} of a class is not accepted for sure in\n{}",
                w,
                show(&policy)
            );
        } else {
            prop_assert!(!exact, "a class of an exact policy is not definite");
            prop_assert!(reference::decide(&policy, w).contains(&Verdict::Accept));
        }
        if exact {
            let trace = reference::trace(&policy, w);
            prop_assert!(
                decided_by(c, &policy, trace.decided_by),
                "witness {} is decided by {:?}, not by its class {:?}\n{}",
                w,
                trace.decided_by,
                c.sites,
                show(&policy)
            );
        }
        if let Some(n) = &c.nonroot {
            prop_assert_eq!(c.hook, Hook::Output);
            let nonroot = matches!(n.owner, Owner::Socket { uid, .. } if uid != 0);
            prop_assert!(nonroot, "non-root witness {}", n);
            prop_assert!(n.oif != "lo");
            let verdicts = reference::decide(&policy, n);
            if c.nonroot_definite {
                prop_assert_eq!(verdicts, [Verdict::Accept].into(), "non-root {}", n);
            } else {
                prop_assert!(verdicts.contains(&Verdict::Accept), "non-root {}", n);
            }
        }
    }
    for _ in 0..PACKETS {
        let mut p = random_packet(&mut g);
        p.state = if g.chance(80) {
            CtState::New
        } else {
            CtState::Untracked
        };
        if !reference::decide(&policy, &p).contains(&Verdict::Accept) {
            continue;
        }
        let trace = reference::trace(&policy, &p);
        if trace.verdict != Verdict::Accept {
            // An opaque rule on the path may accept it: the rule is a site.
            continue;
        }
        prop_assert!(
            classes
                .iter()
                .any(|c| c.hook == p.hook && decided_by(c, &policy, trace.decided_by)),
            "accepted flow {} (decided by {:?}) is in no class\n{}",
            p,
            trace.decided_by,
            show(&policy)
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn classes_are_real_and_complete_on_exact_policies(seed in any::<u64>()) {
        check(seed, false)?;
    }

    #[test]
    fn classes_are_sound_with_unknown_tests(seed in any::<u64>()) {
        check(seed, true)?;
    }
}
