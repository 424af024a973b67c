//! The naive reference evaluator: one concrete packet, rule by rule,
//! straight from the IR (no boxes). It is the oracle the box evaluator is
//! tested against, and it produces `hwc trace` output.
//!
//! Tests hwc does not model (`Limit`, `Opaque`) and opaque actions are
//! *choices*: [`decide`] explores every way they can go and reports every
//! verdict some choice leads to.

use super::RuleRef;
use crate::ir::{
    Action, ChainId, Cond, Family, Iface, Match, Owner, OwnerNegation, Packet, Policy, PortSet,
    Test, Verdict,
};
use crate::source::Span;
use std::collections::BTreeSet;
use std::net::IpAddr;

/// A three-valued truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Tri {
    Yes,
    No,
    /// Depends on something hwc does not model (a rate limit, an opaque match).
    Maybe,
}

impl Tri {
    fn from(b: bool) -> Tri {
        if b {
            Tri::Yes
        } else {
            Tri::No
        }
    }

    fn not(self) -> Tri {
        match self {
            Tri::Yes => Tri::No,
            Tri::No => Tri::Yes,
            Tri::Maybe => Tri::Maybe,
        }
    }
}

fn iface_matches(i: &Iface, name: &str) -> bool {
    if i.wildcard {
        name.as_bytes().starts_with(i.name.as_bytes())
    } else {
        name == i.name
    }
}

fn addr(a: &IpAddr) -> u128 {
    match a {
        IpAddr::V4(v) => u32::from(*v) as u128,
        IpAddr::V6(v) => u128::from(*v),
    }
}

fn in_ports(set: &PortSet, port: Option<u16>) -> bool {
    port.is_some_and(|x| set.ranges.iter().any(|&(a, b)| a <= x && x <= b))
}

/// Does a positive test hold for the packet?
pub fn test_holds(t: &Test, p: &Packet) -> Tri {
    Tri::from(match t {
        Test::Family(f) => p.family == *f,
        Test::Iif(l) => l.iter().any(|i| iface_matches(i, &p.iif)),
        Test::Oif(l) => l.iter().any(|i| iface_matches(i, &p.oif)),
        Test::Src(s) | Test::Dst(s) => {
            let a = if let Test::Src(_) = t { &p.src } else { &p.dst };
            let v = addr(a);
            s.ranges
                .iter()
                .any(|r| r.family == p.family && r.lo <= v && v <= r.hi)
        }
        Test::L4(alts) => alts.iter().any(|alt| {
            if p.proto != alt.proto {
                return false;
            }
            if let Some(s) = &alt.sport {
                if !in_ports(s, p.sport) {
                    return false;
                }
            }
            if let Some(s) = &alt.dport {
                if !in_ports(s, p.dport) {
                    return false;
                }
            }
            match &alt.icmp {
                None => true,
                Some(specs) => {
                    let fam_ok = (alt.proto == 1 && p.family == Family::V4)
                        || (alt.proto == 58 && p.family == Family::V6);
                    fam_ok
                        && p.icmp_type.is_some_and(|ty| {
                            specs.iter().any(|s| {
                                s.ty == ty
                                    && match s.code {
                                        None => true,
                                        Some((a, b)) => {
                                            p.icmp_code.is_some_and(|c| a <= c && c <= b)
                                        }
                                    }
                            })
                        })
                }
            }
        }),
        Test::AnyPort(s) => in_ports(s, p.sport) || in_ports(s, p.dport),
        Test::State(l) => l.contains(&p.state),
        Test::Uid(rs) | Test::Gid(rs) => match p.owner {
            Owner::Socket { uid, gid } => {
                let v = if let Test::Uid(_) = t { uid } else { gid };
                rs.iter().any(|r| r.lo <= v && v <= r.hi)
            }
            Owner::Kernel | Owner::NoSocket => false,
        },
        Test::Limit(_) | Test::Opaque(_) => return Tri::Maybe,
    })
}

/// Does a (possibly negated) condition hold?
pub fn cond_holds(c: &Cond, p: &Packet) -> Tri {
    let pos = test_holds(&c.test, p);
    if !c.negated {
        return pos;
    }
    let owner_test = matches!(c.test, Test::Uid(_) | Test::Gid(_));
    if owner_test
        && c.owner_negation == OwnerNegation::Nft
        && !matches!(p.owner, Owner::Socket { .. })
    {
        return Tri::No;
    }
    pos.not()
}

/// Does a match hold (three-valued conjunction)?
pub fn match_holds(m: &Match, p: &Packet) -> Tri {
    let mut r = Tri::Yes;
    for c in &m.conds {
        match cond_holds(c, p) {
            Tri::No => return Tri::No,
            Tri::Maybe => r = Tri::Maybe,
            Tri::Yes => {}
        }
    }
    r
}

/// What ended the evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Decider {
    /// A rule's action.
    Rule(RuleRef),
    /// The default policy of this base chain.
    Policy(ChainId),
    /// The policy has no base chain on the packet's hook.
    NoBaseChain,
    /// The policy does not filter the packet's family.
    FamilyNotFiltered,
}

/// One rule the packet reached.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TraceStep {
    pub rule: RuleRef,
    pub span: Span,
    /// The chains from the base chain down to the rule's chain.
    pub chain_path: Vec<ChainId>,
    pub matched: Tri,
}

/// How one concrete packet is decided.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Trace {
    pub packet: Packet,
    /// The rules the packet reached, in order. Where a match depended on
    /// something hwc does not model, this path assumes it matched.
    pub steps: Vec<TraceStep>,
    pub verdict: Verdict,
    pub decided_by: Decider,
    /// Rules on the shown path whose match or action hwc cannot know.
    pub depends_on: Vec<RuleRef>,
    /// Every verdict some outcome of those rules leads to (sorted).
    pub possible: Vec<Verdict>,
}

enum Flow {
    Verdict(Verdict, RuleRef),
    Return,
}

struct Run<'a> {
    policy: &'a Policy,
    p: &'a Packet,
    choices: &'a [bool],
    used: Vec<bool>,
    steps: Option<Vec<TraceStep>>,
    uncertain: Vec<RuleRef>,
}

const MAX_DEPTH: usize = 64;

impl Run<'_> {
    fn choose(&mut self) -> bool {
        let c = self.choices.get(self.used.len()).copied().unwrap_or(true);
        self.used.push(c);
        c
    }

    fn chain(&mut self, id: ChainId, path: &mut Vec<ChainId>) -> Flow {
        if path.len() > MAX_DEPTH {
            return Flow::Return;
        }
        path.push(id);
        let chain = self.policy.chain(id);
        let mut out = Flow::Return;
        for (i, rule) in chain.rules.iter().enumerate() {
            let r = RuleRef {
                chain: id,
                index: i as u32,
            };
            let m = match_holds(&rule.matches, self.p);
            if let Some(steps) = &mut self.steps {
                steps.push(TraceStep {
                    rule: r,
                    span: rule.span,
                    chain_path: path.clone(),
                    matched: m,
                });
            }
            let hit = match m {
                Tri::Yes => true,
                Tri::No => false,
                Tri::Maybe => {
                    self.uncertain.push(r);
                    self.choose()
                }
            };
            if !hit {
                continue;
            }
            match &rule.action {
                Action::Accept => {
                    out = Flow::Verdict(Verdict::Accept, r);
                    break;
                }
                Action::Drop | Action::Reject(_) => {
                    out = Flow::Verdict(Verdict::Drop, r);
                    break;
                }
                Action::Log(_) | Action::Continue(_) => {}
                Action::Return => break,
                Action::Jump(c) => {
                    if let Flow::Verdict(v, by) = self.chain(*c, path) {
                        out = Flow::Verdict(v, by);
                        break;
                    }
                }
                Action::Goto(c) => {
                    out = self.chain(*c, path);
                    break;
                }
                Action::Opaque(_) => {
                    self.uncertain.push(r);
                    if self.choose() {
                        let v = if self.choose() {
                            Verdict::Accept
                        } else {
                            Verdict::Drop
                        };
                        out = Flow::Verdict(v, r);
                        break;
                    }
                }
            }
        }
        path.pop();
        out
    }

    fn hook(&mut self) -> (Verdict, Decider) {
        if !self.policy.family.contains(self.p.family) {
            return (Verdict::Accept, Decider::FamilyNotFiltered);
        }
        let Some(base) = self.policy.base_chain(self.p.hook) else {
            return (Verdict::Accept, Decider::NoBaseChain);
        };
        match self.chain(base, &mut Vec::new()) {
            Flow::Verdict(v, r) => (v, Decider::Rule(r)),
            Flow::Return => (
                self.policy.chain(base).policy.unwrap_or(Verdict::Accept),
                Decider::Policy(base),
            ),
        }
    }
}

/// Every verdict the policy can give the packet; one verdict when the
/// packet's path meets nothing hwc does not model. Explores at most 4096
/// combinations of unknown outcomes; beyond that it answers both verdicts.
pub fn decide(policy: &Policy, p: &Packet) -> BTreeSet<Verdict> {
    explore(policy, p).0
}

/// The verdict, the rules reached (with their decider) when every unknown
/// outcome is fixed by `choices` (missing choices: "matches").
pub fn run_with(
    policy: &Policy,
    p: &Packet,
    choices: &[bool],
) -> (Verdict, Decider, Vec<TraceStep>, Vec<bool>) {
    let mut run = Run {
        policy,
        p,
        choices,
        used: Vec::new(),
        steps: Some(Vec::new()),
        uncertain: Vec::new(),
    };
    let (v, d) = run.hook();
    (v, d, run.steps.unwrap_or_default(), run.used)
}

fn explore(policy: &Policy, p: &Packet) -> (BTreeSet<Verdict>, bool) {
    let mut out = BTreeSet::new();
    let mut prefix: Vec<bool> = Vec::new();
    for _ in 0..4096 {
        let mut run = Run {
            policy,
            p,
            choices: &prefix,
            used: Vec::new(),
            steps: None,
            uncertain: Vec::new(),
        };
        let (v, _) = run.hook();
        out.insert(v);
        let mut u = run.used;
        // Next combination: flip the last `true` choice, drop what follows.
        loop {
            match u.pop() {
                Some(true) => {
                    u.push(false);
                    break;
                }
                Some(false) => continue,
                None => return (out, true),
            }
        }
        prefix = u;
    }
    out.insert(Verdict::Accept);
    out.insert(Verdict::Drop);
    (out, false)
}

/// How `policy` decides `p`, rule by rule (for `hwc trace`).
pub fn trace(policy: &Policy, p: &Packet) -> Trace {
    let mut run = Run {
        policy,
        p,
        choices: &[],
        used: Vec::new(),
        steps: Some(Vec::new()),
        uncertain: Vec::new(),
    };
    let (verdict, decided_by) = run.hook();
    let steps = run.steps.take().unwrap_or_default();
    let mut depends_on = run.uncertain.clone();
    depends_on.dedup();
    let possible = decide(policy, p).into_iter().collect();
    Trace {
        packet: p.clone(),
        steps,
        verdict,
        decided_by,
        depends_on,
        possible,
    }
}
