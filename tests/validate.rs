//! Translation validation and `hwc diff` on random policies, checked
//! against the reference evaluator; unknown matches in both directions.

mod common;

use common::{random_packet, random_policy, Gen};
use hwc::backend::validate::{validate, Failure};
use hwc::backend::{compile, Target};
use hwc::ir::{Hook, Packet, Policy, Verdict};
use hwc::report::diff::{diff, Direction};
use hwc::space::equiv::{instantiate, Assumption};
use hwc::space::reference::{self, Decider};

fn verdict(p: &Policy, packet: &Packet) -> Vec<Verdict> {
    reference::decide(p, packet).into_iter().collect()
}

fn load(text: &str) -> Policy {
    let (p, d) = hwc::sema::load_source(
        std::path::Path::new("gen.hw"),
        text,
        &hwc::source::MemoryLoader::default(),
        &mut hwc::source::SourceMap::new(),
    );
    p.unwrap_or_else(|| panic!("{d:?}"))
}

/// Random IR policies (those the backends accept) and generated `.hw`
/// policies of every shape.
fn policies(seed: u64) -> Vec<Policy> {
    let mut g = Gen(seed);
    let mut out: Vec<Policy> = (0..300)
        .map(|case| random_policy(&mut g, case % 3 == 0))
        .collect();
    for shape in hwc::testgen::Shape::ALL {
        for s in 0..6 {
            out.push(load(&hwc::testgen::generate(shape, 80, seed * 100 + s)));
        }
    }
    out
}

/// Every policy the backends accept compiles to texts that read back
/// equivalent, for both targets.
#[test]
fn compiled_policies_are_proved_equivalent() {
    let mut compiled = 0;
    for (case, p) in policies(7).iter().enumerate() {
        for target in [Target::Iptables, Target::Nftables] {
            let Ok(arts) = compile(p, None, target) else {
                assert!(case < 300, "a generated policy does not compile");
                continue;
            };
            compiled += 1;
            if let Err(f) = validate(p, &arts) {
                panic!(
                    "case {case} {target:?}: {f}\n{}\n{}",
                    common::show(p),
                    arts.iter().map(|a| a.text.as_str()).collect::<String>()
                );
            }
        }
    }
    assert!(compiled >= 80, "only {compiled} compiles succeeded");
}

/// A text that says something else is caught, with a witness the
/// reference evaluator confirms on the policy's side.
#[test]
fn mutated_texts_are_caught_with_a_confirmed_witness() {
    let mut caught = 0;
    for p in &policies(11) {
        let Ok(mut arts) = compile(p, None, Target::Iptables) else {
            continue;
        };
        // Flip the first ACCEPT verdict into DROP.
        let Some(a) = arts.iter_mut().find(|a| a.text.contains("-j ACCEPT")) else {
            continue;
        };
        a.text = a.text.replacen("-j ACCEPT", "-j DROP", 1);
        match validate(p, &arts) {
            Ok(_) => {} // the flipped rule decided nothing (shadowed)
            Err(Failure::Differ { difference: d, .. }) => {
                let src = instantiate(p, d.assumption);
                assert_eq!(verdict(&src, &d.packet), vec![d.left], "{}", d.packet);
                assert_eq!((d.left, d.right), (Verdict::Accept, Verdict::Drop));
                caught += 1;
            }
            Err(other) => panic!("{other}"),
        }
    }
    assert!(caught >= 30, "only {caught} mutations caught");
}

/// Every class `diff` reports is real (its witness gets the old verdict
/// from OLD and the new one from NEW), and a packet sample finds no
/// change outside the reported classes.
#[test]
fn diff_classes_are_real_and_complete() {
    let mut g = Gen(3);
    for case in 0..150 {
        let unknowns = case % 4 == 0;
        let old = random_policy(&mut g, unknowns);
        let mut new = random_policy(&mut g, unknowns);
        new.family = old.family;
        let d = diff(&old, &new).unwrap();
        assert!(d.unknown.is_empty());
        for c in &d.changes {
            let (was, now) = match c.direction {
                Direction::NewlyAllowed => (Verdict::Drop, Verdict::Accept),
                Direction::NewlyDenied => (Verdict::Accept, Verdict::Drop),
            };
            let a = c.assumptions[0];
            let (o, n) = (instantiate(&old, a), instantiate(&new, a));
            assert_eq!(verdict(&o, &c.witness), vec![was], "case {case} {c:?}");
            assert_eq!(verdict(&n, &c.witness), vec![now], "case {case} {c:?}");
            let to = reference::trace(&o, &c.witness);
            let tn = reference::trace(&n, &c.witness);
            assert_eq!(
                (to.decided_by, tn.decided_by),
                (c.old.decider, c.new.decider)
            );
        }
        for a in hwc::space::equiv::assumptions(&[&old, &new]) {
            let (o, n) = (instantiate(&old, a), instantiate(&new, a));
            for _ in 0..300 {
                let p = random_packet(&mut g);
                let (vo, vn) = (verdict(&o, &p), verdict(&n, &p));
                if vo == vn {
                    continue;
                }
                let (to, tn) = (reference::trace(&o, &p), reference::trace(&n, &p));
                let direction = if vn == [Verdict::Accept] {
                    Direction::NewlyAllowed
                } else {
                    Direction::NewlyDenied
                };
                assert!(
                    d.changes.iter().any(|c| c.hook == p.hook
                        && c.direction == direction
                        && c.old.decider == to.decided_by
                        && c.new.decider == tn.decided_by
                        && c.assumptions.contains(&a)),
                    "case {case}: {p} changed outside the reported classes {:#?}",
                    d.changes
                );
            }
        }
    }
}

fn dump(rule: &str) -> Policy {
    let text = format!(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT DROP [0:0]\n\
         -A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n{rule}\n\
         -A OUTPUT -m owner --uid-owner 0 -j ACCEPT\nCOMMIT\n"
    );
    let (p, d) = hwc::import::read_dump(hwc::source::FileId(0), &text);
    p.unwrap_or_else(|| panic!("{d:?}"))
}

/// An unknown match in an accept rule may accept: the over-approximation
/// (used for "safe" claims) counts the packet as accepted, the
/// under-approximation (used for definite findings) does not.
#[test]
fn an_opaque_match_in_an_accept_rule_may_accept() {
    use hwc::space::eval::Analysis;
    use hwc::space::Approx;
    let p = dump("-A OUTPUT -p tcp -m tcp --dport 443 -m recent --name x --rcheck -j ACCEPT");
    assert!(p.chains[2].rules[1]
        .matches
        .conds
        .iter()
        .any(|c| matches!(c.test, hwc::ir::Test::Opaque(_))));
    let an = Analysis::new(&p).unwrap();
    assert!(!an.is_exact());
    let pk: Packet = "output tcp uid 1000 port 443".parse().unwrap();
    assert!(an.accepted(Hook::Output, Approx::Over).contains(&pk));
    assert!(!an.accepted(Hook::Output, Approx::Under).contains(&pk));
    assert_eq!(
        reference::decide(&p, &pk).into_iter().collect::<Vec<_>>(),
        vec![Verdict::Accept, Verdict::Drop]
    );
    // Compared with the same dump without the rule, the difference exists
    // only when the unknown match holds.
    let without = dump("");
    let d = diff(&without, &p).unwrap();
    let c = d.new_egress().next().expect("a new egress class");
    assert_eq!(c.assumptions, vec![Assumption::UnknownsHold]);
    assert!(c.is_approximate());
}

/// An unknown match in a drop rule may fail to drop: packets it would
/// drop stay in the over-approximation of what is accepted (so no
/// "safe" claim rests on it) and out of the under-approximation of what
/// is dropped.
#[test]
fn an_opaque_match_in_a_drop_rule_may_not_drop() {
    use hwc::space::eval::Analysis;
    use hwc::space::Approx;
    let p = dump(
        "-A OUTPUT -p tcp -m tcp --dport 25 -m recent --name x --rcheck -j DROP\n\
         -A OUTPUT -p tcp -m tcp --dport 25 -j ACCEPT",
    );
    let an = Analysis::new(&p).unwrap();
    let pk: Packet = "output tcp uid 1000 port 25".parse().unwrap();
    assert!(an.accepted(Hook::Output, Approx::Over).contains(&pk));
    assert!(!an.accepted(Hook::Output, Approx::Under).contains(&pk));
    assert!(an.dropped(Hook::Output, Approx::Over).contains(&pk));
    assert!(!an.dropped(Hook::Output, Approx::Under).contains(&pk));
    let t = reference::trace(&p, &pk);
    assert!(matches!(t.decided_by, Decider::Rule(_)));
    assert_eq!(t.depends_on.len(), 1);
}
