//! Random IR policies and packets for the evaluator property tests.
//!
//! Values come from small pools so that rules overlap often and packets
//! land on interval edges (both sides of every bound).

#![allow(dead_code)]

use hwc::ir::*;
use hwc::source::Span;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A small deterministic generator (splitmix64).
pub struct Gen(pub u64);

impl Gen {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())].clone()
    }
}

fn v4(s: &str) -> u128 {
    u32::from(s.parse::<Ipv4Addr>().unwrap()) as u128
}

fn v6(s: &str) -> u128 {
    u128::from(s.parse::<Ipv6Addr>().unwrap())
}

fn addr_pool() -> Vec<AddrRange> {
    let r4 = |a: &str, b: &str| AddrRange {
        family: Family::V4,
        lo: v4(a),
        hi: v4(b),
    };
    let r6 = |a: &str, b: &str| AddrRange {
        family: Family::V6,
        lo: v6(a),
        hi: v6(b),
    };
    vec![
        r4("10.0.0.0", "10.255.255.255"),
        r4("10.1.0.0", "10.1.255.255"),
        r4("10.1.2.3", "10.1.2.3"),
        r4("192.0.2.0", "192.0.2.255"),
        r4("192.0.2.5", "192.0.2.9"),
        r6("2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"),
        r6("2001:db8::1", "2001:db8::1"),
        r6("fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
    ]
}

fn ports(g: &mut Gen) -> PortSet {
    let pool = [(22, 22), (53, 53), (80, 80), (1000, 2000), (0, 1023)];
    let n = 1 + g.below(2);
    PortSet {
        name: None,
        ranges: (0..n).map(|_| g.pick(&pool)).collect(),
    }
}

fn l4(g: &mut Gen) -> L4 {
    let proto = g.pick(&[6u8, 17, 132, 1, 58, 47]);
    let mut alt = L4 {
        proto,
        sport: None,
        dport: None,
        icmp: None,
        service: None,
    };
    match proto {
        6 | 17 | 132 => {
            if g.chance(30) {
                alt.sport = Some(ports(g));
            }
            if g.chance(70) {
                alt.dport = Some(ports(g));
            }
        }
        1 | 58 if g.chance(70) => {
            let pool: &[(u8, Option<(u8, u8)>)] = if proto == 1 {
                &[
                    (8, None),
                    (0, None),
                    (3, Some((4, 4))),
                    (3, None),
                    (11, Some((0, 1))),
                ]
            } else {
                &[(128, None), (135, None), (1, Some((0, 3))), (2, None)]
            };
            let n = 1 + g.below(2);
            alt.icmp = Some(
                (0..n)
                    .map(|_| {
                        let (ty, code) = g.pick(pool);
                        IcmpSpec { ty, code }
                    })
                    .collect(),
            );
        }
        _ => {}
    }
    alt
}

fn owners(g: &mut Gen) -> Vec<OwnerRange> {
    let pool = [(0, 0), (33, 33), (1000, 1999), (0, 999), (65534, 65534)];
    let n = 1 + g.below(2);
    (0..n)
        .map(|_| {
            let (lo, hi) = g.pick(&pool);
            OwnerRange {
                lo,
                hi,
                host_name: None,
            }
        })
        .collect()
}

fn ifaces(g: &mut Gen) -> Vec<Iface> {
    let pool = [
        ("eth0", false),
        ("eth1", false),
        ("eth", true),
        ("lo", false),
        ("", true),
        ("wlan0", false),
        ("e", true),
    ];
    let n = 1 + g.below(2);
    (0..n)
        .map(|_| {
            let (name, wildcard) = g.pick(&pool);
            Iface {
                name: name.into(),
                wildcard,
            }
        })
        .collect()
}

pub fn random_cond(g: &mut Gen, unknowns: bool) -> Cond {
    let kinds = if unknowns { 13 } else { 11 };
    let test = match g.below(kinds) {
        0 => Test::Family(g.pick(&Family::ALL)),
        1 => Test::Iif(ifaces(g)),
        2 => Test::Oif(ifaces(g)),
        3 | 4 => {
            let pool = addr_pool();
            let n = 1 + g.below(2);
            let set = AddrSet {
                name: None,
                ranges: (0..n).map(|_| g.pick(&pool)).collect(),
            };
            if g.chance(50) {
                Test::Src(set)
            } else {
                Test::Dst(set)
            }
        }
        5 | 6 => {
            let n = 1 + g.below(2);
            Test::L4((0..n).map(|_| l4(g)).collect())
        }
        7 => Test::AnyPort(ports(g)),
        8 => {
            let n = 1 + g.below(2);
            Test::State((0..n).map(|_| g.pick(&CtState::ALL)).collect())
        }
        9 => Test::Uid(owners(g)),
        10 => Test::Gid(owners(g)),
        11 => Test::Limit(RateLimit {
            rate: 10,
            per_seconds: 60,
            burst: None,
        }),
        _ => Test::Opaque("-m recent --rcheck".into()),
    };
    let mut c = Cond::new(test, Span::default());
    c.negated = g.chance(40);
    c.owner_negation = if g.chance(50) {
        OwnerNegation::Xt
    } else {
        OwnerNegation::Nft
    };
    c
}

pub fn rule(conds: Vec<Cond>, action: Action) -> Rule {
    Rule {
        matches: Match { conds },
        action,
        span: Span::default(),
        allow: vec![],
        comment: None,
    }
}

/// A random policy: some base chains, up to three user chains (each only
/// calls later ones, so the call graph is acyclic), rules with random
/// conditions and actions. `unknowns` allows limits, opaque tests and
/// opaque targets.
pub fn random_policy(g: &mut Gen, unknowns: bool) -> Policy {
    let family = g.pick(&[
        FamilySet::INET,
        FamilySet::INET,
        FamilySet::IP,
        FamilySet::IP6,
    ]);
    let hooks: Vec<Hook> = Hook::ALL.iter().copied().filter(|_| g.chance(85)).collect();
    let nb = hooks.len();
    let nu = g.below(4);
    let mut chains = Vec::new();
    for k in 0..nb + nu {
        let hook = hooks.get(k).copied();
        let user = hook.is_none();
        let n = g.below(8);
        let mut rules = Vec::new();
        for _ in 0..n {
            let nc = g.below(4);
            let conds = (0..nc).map(|_| random_cond(g, unknowns)).collect();
            // Calls go only to later user chains.
            let first_target = if user { k + 1 } else { nb };
            let can_call = first_target < nb + nu;
            let action = match g.below(if unknowns { 12 } else { 11 }) {
                0 | 1 => Action::Accept,
                2 | 3 => Action::Drop,
                4 => Action::Reject(None),
                5 => Action::Log(LogSpec::default()),
                6 => Action::Continue("MARK".into()),
                7 | 8 if can_call => Action::Jump(ChainId(
                    (first_target + g.below(nb + nu - first_target)) as u32,
                )),
                9 if can_call => Action::Goto(ChainId(
                    (first_target + g.below(nb + nu - first_target)) as u32,
                )),
                10 => Action::Return,
                11 => Action::Opaque("NFQUEUE".into()),
                _ => Action::Accept,
            };
            rules.push(rule(conds, action));
        }
        let (name, kind, policy) = match hook {
            None => (format!("u{k}"), ChainKind::User, None),
            Some(h) => (
                h.name().to_string(),
                ChainKind::Base(h),
                g.pick(&[
                    Some(Verdict::Accept),
                    Some(Verdict::Drop),
                    Some(Verdict::Drop),
                    None,
                ]),
            ),
        };
        chains.push(Chain {
            name,
            kind,
            policy,
            rules,
            span: Span::default(),
            allow: vec![],
        });
    }
    Policy {
        name: "random".into(),
        family,
        origin: Origin::Policy,
        chains,
        assertions: vec![],
        egress: vec![],
        definitions: vec![],
        span: Span::default(),
    }
}

/// A random valid packet whose fields sit on and around the pools' bounds.
pub fn random_packet(g: &mut Gen) -> Packet {
    let hook = g.pick(&Hook::ALL);
    let family = g.pick(&Family::ALL);
    let addr = |g: &mut Gen| -> IpAddr {
        match family {
            Family::V4 => {
                let pool = [
                    "10.0.0.0",
                    "10.0.0.1",
                    "10.1.2.3",
                    "10.1.2.4",
                    "10.255.255.255",
                    "11.0.0.0",
                    "9.255.255.255",
                    "192.0.2.4",
                    "192.0.2.5",
                    "192.0.2.9",
                    "192.0.2.10",
                    "0.0.0.0",
                    "255.255.255.255",
                ];
                if g.chance(10) {
                    IpAddr::V4(Ipv4Addr::from(g.next() as u32))
                } else {
                    g.pick(&pool).parse().unwrap()
                }
            }
            Family::V6 => {
                let pool = [
                    "2001:db8::",
                    "2001:db8::1",
                    "2001:db8::2",
                    "2001:db9::",
                    "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff",
                    "fe80::1",
                    "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                    "fec0::",
                    "::",
                    "::a00:1",
                ];
                if g.chance(10) {
                    IpAddr::V6(Ipv6Addr::from(
                        ((g.next() as u128) << 64) | g.next() as u128,
                    ))
                } else {
                    g.pick(&pool).parse().unwrap()
                }
            }
        }
    };
    let src = addr(g);
    let dst = addr(g);
    let proto = g.pick(&[6u8, 6, 17, 17, 132, 1, 58, 47, 0, 255, 2]);
    let port_pool = [
        0u16, 21, 22, 23, 52, 53, 54, 79, 80, 81, 999, 1000, 1023, 1024, 2000, 2001, 65535,
    ];
    let has_ports = matches!(proto, 6 | 17 | 132);
    let icmp = (family == Family::V4 && proto == 1) || (family == Family::V6 && proto == 58);
    let names = [
        "", "eth0", "eth1", "eth", "eth2", "et", "lo", "wlan0", "e", "f",
    ];
    let (iif, oif) = match hook {
        Hook::Input => (g.pick(&names), ""),
        Hook::Output => ("", g.pick(&names)),
        Hook::Forward => (g.pick(&names), g.pick(&names)),
    };
    let ids = [
        0u32,
        1,
        33,
        999,
        1000,
        1500,
        1999,
        2000,
        65534,
        4_294_967_294,
    ];
    let owner = match hook {
        Hook::Output => match g.below(5) {
            0 => Owner::Kernel,
            1 => Owner::NoSocket,
            _ => Owner::Socket {
                uid: g.pick(&ids),
                gid: g.pick(&ids),
            },
        },
        _ => Owner::NoSocket,
    };
    Packet {
        hook,
        family,
        iif: iif.into(),
        oif: oif.into(),
        src,
        dst,
        proto,
        sport: has_ports.then(|| g.pick(&port_pool)),
        dport: has_ports.then(|| g.pick(&port_pool)),
        icmp_type: icmp.then(|| g.pick(&[0u8, 1, 2, 3, 4, 8, 11, 128, 135, 136, 255])),
        icmp_code: icmp.then(|| g.pick(&[0u8, 1, 3, 4, 5])),
        state: g.pick(&CtState::ALL),
        owner,
    }
}

/// A compact listing of a policy for failure messages.
pub fn show(p: &Policy) -> String {
    let mut s = format!("family {}\n", p.family.keyword());
    for (i, c) in p.chains.iter().enumerate() {
        s += &format!("chain #{i} {} {:?} policy {:?}\n", c.name, c.kind, c.policy);
        for (j, r) in c.rules.iter().enumerate() {
            let conds: Vec<String> = r
                .matches
                .conds
                .iter()
                .map(|c| {
                    let neg = if c.negated {
                        format!("not[{:?}] ", c.owner_negation)
                    } else {
                        String::new()
                    };
                    format!("{neg}{:?}", c.test)
                })
                .collect();
            s += &format!("  {j}: {:?} {}\n", r.action, conds.join(" & "));
        }
    }
    s
}
