//! The lowering keeps the meaning of every rule: checked on random small
//! policies and random packets against a direct reading of the IR.
//!
//! Two small evaluators: one reads the IR as the common brief defines it
//! (boolean complement for `not`, owner tests false without a user socket,
//! jump/goto/return), the other runs the lowered kernel chains the way
//! netfilter does (a jump stack, goto without a return point, RETURN or the
//! end of a base chain = its policy). For every packet both must agree on
//! the verdict, on the sequence of log actions, and on how often each rate
//! limit is evaluated (a limit consumes a token only when evaluated).

use super::lower::{lower, lower_with, KAction, KMatch, Program, Style};
use crate::ir::*;
use crate::source::{FileId, Span};
use std::collections::HashMap;

#[derive(Debug, Clone)]
struct Pkt {
    hook: Hook,
    family: Family,
    iif: String,
    oif: String,
    src: u128,
    dst: u128,
    proto: u8,
    sport: Option<u16>,
    dport: Option<u16>,
    icmp: Option<(u8, u8)>,
    state: CtState,
    owner: Owner,
    /// What every rate limit answers for this packet.
    limit_ok: bool,
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Trace {
    verdict: Option<Verdict>,
    logs: Vec<u32>,
    limits: HashMap<u32, usize>,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
    fn pick<T: Clone>(&mut self, v: &[T]) -> T {
        v[self.below(v.len() as u64) as usize].clone()
    }
}

// ---- IR reading ----

fn iface_matches(i: &Iface, name: &str) -> bool {
    if i.wildcard {
        name.starts_with(&i.name)
    } else {
        name == i.name
    }
}

fn has_ports(p: &Pkt) -> bool {
    matches!(p.proto, 6 | 17 | 132)
}

fn in_ports(set: &PortSet, port: Option<u16>) -> bool {
    port.is_some_and(|x| set.ranges.iter().any(|&(a, b)| a <= x && x <= b))
}

fn l4_holds(a: &L4, p: &Pkt) -> bool {
    if p.proto != a.proto {
        return false;
    }
    if let Some(specs) = &a.icmp {
        let fam = if a.proto == 58 {
            Family::V6
        } else {
            Family::V4
        };
        let Some((t, c)) = p.icmp else { return false };
        if p.family != fam {
            return false;
        }
        if !specs
            .iter()
            .any(|s| s.ty == t && s.code.is_none_or(|(lo, hi)| lo <= c && c <= hi))
        {
            return false;
        }
    }
    if let Some(sp) = &a.sport {
        if !has_ports(p) || !in_ports(sp, p.sport) {
            return false;
        }
    }
    if let Some(dp) = &a.dport {
        if !has_ports(p) || !in_ports(dp, p.dport) {
            return false;
        }
    }
    true
}

fn owner_in(ranges: &[OwnerRange], p: &Pkt, gid: bool) -> bool {
    match p.owner {
        Owner::Socket { uid, gid: g } => {
            let id = if gid { g } else { uid };
            ranges.iter().any(|r| r.lo <= id && id <= r.hi)
        }
        _ => false,
    }
}

fn test_holds(t: &Test, p: &Pkt) -> bool {
    match t {
        Test::Family(f) => p.family == *f,
        Test::Iif(l) => l.iter().any(|i| iface_matches(i, &p.iif)),
        Test::Oif(l) => l.iter().any(|i| iface_matches(i, &p.oif)),
        Test::Src(s) => s
            .ranges
            .iter()
            .any(|r| r.family == p.family && r.lo <= p.src && p.src <= r.hi),
        Test::Dst(s) => s
            .ranges
            .iter()
            .any(|r| r.family == p.family && r.lo <= p.dst && p.dst <= r.hi),
        Test::L4(alts) => alts.iter().any(|a| l4_holds(a, p)),
        Test::AnyPort(ps) => has_ports(p) && (in_ports(ps, p.sport) || in_ports(ps, p.dport)),
        Test::State(s) => s.contains(&p.state),
        Test::Uid(r) => owner_in(r, p, false),
        Test::Gid(r) => owner_in(r, p, true),
        Test::Limit(_) => p.limit_ok,
        Test::Opaque(_) => unreachable!("not generated"),
    }
}

fn cond_holds(c: &Cond, p: &Pkt) -> bool {
    let v = test_holds(&c.test, p);
    if !c.negated {
        return v;
    }
    match (&c.test, c.owner_negation) {
        (Test::Uid(_) | Test::Gid(_), OwnerNegation::Nft) => {
            matches!(p.owner, Owner::Socket { .. }) && !v
        }
        _ => !v,
    }
}

enum Flow {
    Verdict(Verdict),
    Return,
}

fn ir_chain(pol: &Policy, id: ChainId, p: &Pkt, t: &mut Trace) -> Flow {
    for r in &pol.chain(id).rules {
        let (limits, others): (Vec<&Cond>, Vec<&Cond>) = r
            .matches
            .conds
            .iter()
            .partition(|c| matches!(c.test, Test::Limit(_)));
        if !others.iter().all(|c| cond_holds(c, p)) {
            continue;
        }
        let mut ok = true;
        for c in limits {
            *t.limits.entry(r.span.start).or_default() += 1;
            if !cond_holds(c, p) {
                ok = false;
                break;
            }
        }
        if !ok {
            continue;
        }
        match &r.action {
            Action::Accept => return Flow::Verdict(Verdict::Accept),
            Action::Drop | Action::Reject(_) => return Flow::Verdict(Verdict::Drop),
            Action::Log(_) => t.logs.push(r.span.start),
            Action::Jump(c) => {
                if let Flow::Verdict(v) = ir_chain(pol, *c, p, t) {
                    return Flow::Verdict(v);
                }
            }
            Action::Goto(c) => return ir_chain(pol, *c, p, t),
            Action::Return => return Flow::Return,
            _ => unreachable!("not generated"),
        }
    }
    Flow::Return
}

fn ir_eval(pol: &Policy, p: &Pkt) -> Trace {
    let mut t = Trace::default();
    let v = match pol.base_chain(p.hook) {
        None => Verdict::Accept,
        Some(id) => match ir_chain(pol, id, p, &mut t) {
            Flow::Verdict(v) => v,
            Flow::Return => pol.chain(id).policy.unwrap_or(Verdict::Accept),
        },
    };
    t.verdict = Some(v);
    t
}

// ---- kernel reading ----

fn k_holds(m: &KMatch, p: &Pkt, t: &mut Trace, span: u32) -> bool {
    let addr = |sel: &super::lower::AddrSel, v: u128| {
        p.family == sel.family && sel.ranges.iter().any(|&(a, b)| a <= v && v <= b)
    };
    let ports = |sel: &super::lower::PortSel, v: Option<u16>| {
        v.is_some_and(|x| sel.ranges.iter().any(|&(a, b)| a <= x && x <= b))
    };
    let ok = m.family.is_none_or(|f| f == p.family)
        && m.iif
            .as_ref()
            .is_none_or(|l| l.iter().any(|i| iface_matches(i, &p.iif)))
        && m.oif
            .as_ref()
            .is_none_or(|l| l.iter().any(|i| iface_matches(i, &p.oif)))
        && !m.not_iif.iter().any(|i| iface_matches(i, &p.iif))
        && !m.not_oif.iter().any(|i| iface_matches(i, &p.oif))
        && m.src.as_ref().is_none_or(|s| addr(s, p.src))
        && m.dst.as_ref().is_none_or(|s| addr(s, p.dst))
        && m.not_src
            .iter()
            .all(|s| p.family == s.family && !addr(s, p.src))
        && m.not_dst
            .iter()
            .all(|s| p.family == s.family && !addr(s, p.dst))
        && m.proto.is_none_or(|x| x == p.proto)
        && !m.not_proto.contains(&p.proto)
        && m.sport
            .as_ref()
            .is_none_or(|s| has_ports(p) && ports(s, p.sport))
        && m.dport
            .as_ref()
            .is_none_or(|s| has_ports(p) && ports(s, p.dport))
        && m.anyport
            .iter()
            .all(|s| has_ports(p) && (ports(s, p.sport) || ports(s, p.dport)))
        && m.icmp.as_ref().is_none_or(|i| {
            let fam = if i.v6 { Family::V6 } else { Family::V4 };
            let proto = if i.v6 { 58 } else { 1 };
            p.family == fam
                && p.proto == proto
                && p.icmp.is_some_and(|(ty, c)| {
                    i.specs
                        .iter()
                        .any(|s| s.ty == ty && s.code.is_none_or(|(lo, hi)| lo <= c && c <= hi))
                })
        })
        && m.state.as_ref().is_none_or(|s| s.contains(&p.state))
        && m.owners.iter().all(|o| owner_in(&o.ranges, p, o.gid));
    if !ok {
        return false;
    }
    for l in &m.limits {
        *t.limits.entry(span).or_default() += 1;
        if p.limit_ok == l.over {
            return false;
        }
    }
    true
}

fn k_eval(prog: &Program, p: &Pkt) -> Trace {
    let mut t = Trace::default();
    let by_name: HashMap<&str, usize> = prog
        .chains
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.as_str(), i))
        .collect();
    let Some(base) = prog
        .chains
        .iter()
        .position(|c| c.base.is_some_and(|(h, _)| h == p.hook))
    else {
        t.verdict = Some(Verdict::Accept);
        return t;
    };
    let policy = prog.chains[base]
        .base
        .map(|(_, v)| v)
        .unwrap_or(Verdict::Accept);
    let mut stack: Vec<(usize, usize)> = Vec::new();
    let (mut chain, mut pos) = (base, 0);
    let mut steps = 0;
    loop {
        steps += 1;
        assert!(steps < 100_000, "kernel program loops");
        let rules = &prog.chains[chain].rules;
        if pos >= rules.len() {
            // Falling off a chain is an implicit RETURN.
            match stack.pop() {
                Some((c, r)) => {
                    chain = c;
                    pos = r;
                    continue;
                }
                None => {
                    t.verdict = Some(policy);
                    return t;
                }
            }
        }
        let r = &rules[pos];
        pos += 1;
        if !k_holds(&r.m, p, &mut t, r.span.start) {
            continue;
        }
        match &r.action {
            KAction::Accept => {
                t.verdict = Some(Verdict::Accept);
                return t;
            }
            KAction::Drop | KAction::Reject(_) => {
                t.verdict = Some(Verdict::Drop);
                return t;
            }
            KAction::Log(_) => t.logs.push(r.span.start),
            KAction::Jump(c) => {
                stack.push((chain, pos));
                chain = by_name[c.as_str()];
                pos = 0;
            }
            KAction::Goto(c) => {
                chain = by_name[c.as_str()];
                pos = 0;
            }
            KAction::Return => match stack.pop() {
                Some((c, r)) => {
                    chain = c;
                    pos = r;
                }
                None => {
                    t.verdict = Some(policy);
                    return t;
                }
            },
        }
    }
}

// ---- random policies and packets ----

fn addr_set(rng: &mut Rng) -> AddrSet {
    let n = 1 + rng.below(3);
    let ranges = (0..n)
        .map(|_| {
            let lo = rng.below(10) as u128;
            let hi = lo + rng.below(4) as u128;
            AddrRange {
                family: if rng.chance(60) {
                    Family::V4
                } else {
                    Family::V6
                },
                lo,
                hi,
            }
        })
        .collect();
    AddrSet {
        name: rng.chance(30).then(|| "named".to_string()),
        ranges,
    }
}

fn port_set(rng: &mut Rng) -> PortSet {
    let n = 1 + rng.below(3);
    PortSet {
        name: None,
        ranges: (0..n)
            .map(|_| {
                let lo = rng.below(8) as u16;
                (lo, lo + rng.below(3) as u16)
            })
            .collect(),
    }
}

fn l4(rng: &mut Rng) -> L4 {
    let proto = rng.pick(&[6u8, 6, 17, 132, 1, 58, 47]);
    let mut a = L4 {
        proto,
        sport: None,
        dport: None,
        icmp: None,
        service: None,
    };
    if matches!(proto, 6 | 17 | 132) {
        if rng.chance(50) {
            a.dport = Some(port_set(rng));
        }
        if rng.chance(25) {
            a.sport = Some(port_set(rng));
        }
    } else if matches!(proto, 1 | 58) && rng.chance(70) {
        let n = 1 + rng.below(3);
        a.icmp = Some(
            (0..n)
                .map(|_| IcmpSpec {
                    ty: rng.below(4) as u8,
                    code: rng.chance(40).then(|| {
                        let lo = rng.below(3) as u8;
                        (lo, lo + rng.below(2) as u8)
                    }),
                })
                .collect(),
        );
    }
    a
}

fn ifaces(rng: &mut Rng) -> Vec<Iface> {
    let n = 1 + rng.below(2);
    (0..n)
        .map(|_| Iface {
            name: rng.pick(&["a", "ab", "b", ""]).to_string(),
            wildcard: rng.chance(40),
        })
        .filter(|i| !i.name.is_empty() || i.wildcard)
        .collect::<Vec<_>>()
}

fn owner_ranges(rng: &mut Rng) -> Vec<OwnerRange> {
    let n = 1 + rng.below(2);
    (0..n)
        .map(|_| {
            let lo = rng.below(5) as u32;
            OwnerRange {
                lo,
                hi: lo + rng.below(2) as u32,
                host_name: None,
            }
        })
        .collect()
}

fn cond(rng: &mut Rng, owner_ok: bool, span: Span, have_limit: &mut bool) -> Option<Cond> {
    let test = match rng.below(12) {
        0 => Test::Family(rng.pick(&Family::ALL)),
        1 => {
            let l = ifaces(rng);
            if l.is_empty() {
                return None;
            }
            Test::Iif(l)
        }
        2 => {
            let l = ifaces(rng);
            if l.is_empty() {
                return None;
            }
            Test::Oif(l)
        }
        3 | 4 => Test::Src(addr_set(rng)),
        5 => Test::Dst(addr_set(rng)),
        6 | 7 => Test::L4((0..1 + rng.below(3)).map(|_| l4(rng)).collect()),
        8 => Test::AnyPort(port_set(rng)),
        9 => {
            let s: Vec<CtState> = CtState::ALL
                .iter()
                .copied()
                .filter(|_| rng.chance(40))
                .collect();
            if s.is_empty() {
                return None;
            }
            Test::State(s)
        }
        10 if owner_ok => {
            if rng.chance(50) {
                Test::Uid(owner_ranges(rng))
            } else {
                Test::Gid(owner_ranges(rng))
            }
        }
        11 if !*have_limit => {
            *have_limit = true;
            Test::Limit(RateLimit {
                rate: 3,
                per_seconds: 60,
                burst: None,
            })
        }
        _ => return None,
    };
    let mut c = Cond::new(test, span);
    if rng.chance(35) {
        c = c.negate();
        c.owner_negation = if rng.chance(70) {
            OwnerNegation::Xt
        } else {
            OwnerNegation::Nft
        };
    }
    Some(c)
}

fn random_policy(rng: &mut Rng) -> Policy {
    let users = 3u32;
    let mut chains = Vec::new();
    for hook in Hook::ALL {
        chains.push(Chain {
            name: hook.name().into(),
            kind: ChainKind::Base(hook),
            policy: Some(if rng.chance(50) {
                Verdict::Accept
            } else {
                Verdict::Drop
            }),
            rules: Vec::new(),
            span: Span::default(),
            allow: Vec::new(),
        });
    }
    for u in 0..users {
        chains.push(Chain {
            name: format!("u{u}"),
            kind: ChainKind::User,
            policy: None,
            rules: Vec::new(),
            span: Span::default(),
            allow: Vec::new(),
        });
    }
    let mut next_span = 1u32;
    for (ci, chain) in chains.iter_mut().enumerate() {
        let is_base = ci < 3;
        // Owner tests only where only output reaches: the output base chain.
        let owner_ok = chain.kind == ChainKind::Base(Hook::Output);
        for _ in 0..rng.below(6) {
            let span = Span {
                file: FileId(0),
                start: next_span,
                end: next_span + 1,
            };
            next_span += 1;
            let mut have_limit = false;
            let conds: Vec<Cond> = (0..rng.below(4))
                .filter_map(|_| cond(rng, owner_ok, span, &mut have_limit))
                .collect();
            // Calls go to later user chains only: the graph stays acyclic.
            let first_target = if is_base { 3 } else { ci as u32 + 1 };
            let can_call = first_target < 3 + users;
            let target = || ChainId(first_target);
            let action = match rng.below(9) {
                0 | 1 => Action::Accept,
                2 => Action::Drop,
                3 => Action::Reject(None),
                4 => Action::Log(LogSpec::default()),
                5 if can_call => Action::Jump(ChainId(
                    first_target + rng.below((3 + users - first_target) as u64) as u32,
                )),
                6 if can_call => Action::Goto(target()),
                7 if !is_base => Action::Return,
                _ => Action::Accept,
            };
            chain.rules.push(Rule {
                matches: Match { conds },
                action,
                span,
                allow: Vec::new(),
                comment: None,
            });
        }
    }
    Policy {
        name: "random".into(),
        family: FamilySet::INET,
        origin: Origin::Policy,
        chains,
        assertions: Vec::new(),
        egress: Vec::new(),
        definitions: Vec::new(),
        span: Span::default(),
    }
}

fn random_packet(rng: &mut Rng, hook: Hook, family: Family) -> Pkt {
    let proto = rng.pick(&[6u8, 17, 132, 1, 58, 47]);
    let ports = matches!(proto, 6 | 17 | 132);
    let icmp_ok = (proto == 1 && family == Family::V4) || (proto == 58 && family == Family::V6);
    let name = |rng: &mut Rng| rng.pick(&["", "a", "ab", "abc", "b"]).to_string();
    let iif = if hook == Hook::Output {
        String::new()
    } else {
        name(rng)
    };
    let oif = if hook == Hook::Input {
        String::new()
    } else {
        name(rng)
    };
    let owner = if hook == Hook::Output {
        match rng.below(4) {
            0 => Owner::NoSocket,
            1 => Owner::Kernel,
            _ => Owner::Socket {
                uid: rng.below(7) as u32,
                gid: rng.below(7) as u32,
            },
        }
    } else {
        Owner::NoSocket
    };
    Pkt {
        hook,
        family,
        iif,
        oif,
        src: rng.below(14) as u128,
        dst: rng.below(14) as u128,
        proto,
        sport: ports.then(|| rng.below(11) as u16),
        dport: ports.then(|| rng.below(11) as u16),
        icmp: icmp_ok.then(|| (rng.below(5) as u8, rng.below(4) as u8)),
        state: rng.pick(&CtState::ALL),
        owner,
        limit_ok: rng.chance(50),
    }
}

fn dump_ir(pol: &Policy) -> String {
    let mut s = String::new();
    for c in &pol.chains {
        s += &format!("chain {} {:?}\n", c.name, c.policy);
        for r in &c.rules {
            s += &format!("  [{}] {:?} <-", r.span.start, r.action);
            for c in &r.matches.conds {
                s += &format!(" {}{:?}", if c.negated { "NOT " } else { "" }, c.test);
            }
            s += "\n";
        }
    }
    s
}

fn dump_k(prog: &Program) -> String {
    let mut s = String::new();
    for c in &prog.chains {
        s += &format!("chain {} {:?}\n", c.name, c.base);
        for r in &c.rules {
            s += &format!("  [{}] {:?} <- {:?}\n", r.span.start, r.action, r.m);
        }
    }
    s
}

#[test]
fn lowered_chains_mean_what_the_ir_means() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut compiled = 0;
    for round in 0..400 {
        let pol = random_policy(&mut rng);
        let styles = [
            Style::Xt(Family::V4),
            Style::Xt(Family::V6),
            Style::Nft(FamilySet::INET),
        ];
        for style in styles {
            // Once as written, once with every list staged in its own chain.
            let (Ok(prog), Ok(staged)) = (lower(&pol, style), lower_with(&pol, style, 1)) else {
                continue;
            };
            compiled += 1;
            for _ in 0..150 {
                let hook = rng.pick(&Hook::ALL);
                let family = match style {
                    Style::Xt(f) => f,
                    Style::Nft(_) => rng.pick(&Family::ALL),
                };
                let p = random_packet(&mut rng, hook, family);
                let want = ir_eval(&pol, &p);
                for prog in [&prog, &staged] {
                    let got = k_eval(prog, &p);
                    assert_eq!(
                        got,
                        want,
                        "round {round}, {style:?}, packet {p:?}\npolicy:\n{}\nprogram:\n{}",
                        dump_ir(&pol),
                        dump_k(prog)
                    );
                }
            }
        }
    }
    // Nearly every random policy must compile (only reject reasons and
    // expansion limits may refuse, and the generator avoids both).
    assert!(
        compiled >= 1150,
        "only {compiled} of 1200 lowerings succeeded"
    );
}
