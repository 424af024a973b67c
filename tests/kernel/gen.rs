//! Random `.hw` policies over what the lab can send: documentation
//! addresses the peer owns, a few ports, uids and gids 0, 1001 and 1002,
//! the interfaces `lo` and `eth0`, every conntrack state, every action
//! (rejects with every reason, of the rule's family),
//! user chains entered by `jump` and `goto`, and `not` on any match. The
//! same seed gives the same text.

use hwc::testgen::Rng;
use std::fmt::Write;

const V4_ADDRS: &[&str] = &[
    "192.0.2.2",
    "192.0.2.0/25",
    "192.0.2.128/25",
    "192.0.2.50-192.0.2.60",
    "198.51.100.0/24",
    "198.51.100.7",
    "203.0.113.0/26",
];
const V6_ADDRS: &[&str] = &[
    "2001:db8::2",
    "2001:db8::/64",
    "2001:db8::/120",
    "2001:db8::50-2001:db8::60",
    "2001:db8:5::/48",
    "2001:db8:5::10",
];
const PORTS: &[&str] = &["22", "53", "80", "123", "1000-2000", "5000-5010", "80, 443"];
const STATES: &[&str] = &["new", "established", "related", "invalid", "untracked"];

const V4_REASONS: &[&str] = &[
    "icmp-port-unreachable",
    "icmp-admin-prohibited",
    "icmp-net-unreachable",
    "icmp-host-unreachable",
    "icmp-host-prohibited",
    "icmp-net-prohibited",
    "icmp-proto-unreachable",
];
const V6_REASONS: &[&str] = &[
    "icmpv6-port-unreachable",
    "icmpv6-admin-prohibited",
    "icmpv6-no-route",
    "icmpv6-addr-unreachable",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fam {
    V4,
    V6,
}

struct G<'a> {
    rng: &'a mut Rng,
    v4: bool,
    v6: bool,
}

impl G<'_> {
    fn any_family(&mut self) -> Fam {
        match (self.v4, self.v6) {
            (true, true) => {
                if self.rng.chance(50) {
                    Fam::V4
                } else {
                    Fam::V6
                }
            }
            (true, false) => Fam::V4,
            _ => Fam::V6,
        }
    }

    fn addrs(&mut self, f: Fam) -> String {
        let pool = if f == Fam::V4 { V4_ADDRS } else { V6_ADDRS };
        let n = 1 + self.rng.below(2) as usize;
        let mut v: Vec<&str> = (0..n).map(|_| *self.rng.pick(pool)).collect();
        v.dedup();
        v.join(", ")
    }

    /// One rule for a chain on `hook` ("input" or "output"); `user` says
    /// whether it is a user chain (which may `return`), `targets` the user
    /// chains it may enter. A rule's positive matches agree on a family,
    /// and its reject reason exists in the families it matches.
    fn rule(&mut self, hook: &str, user: bool, targets: &[String]) -> String {
        let mut m: Vec<String> = Vec::new();
        let mut tcp = false;
        // The family the rule's positive matches restrict it to.
        let mut fam: Option<Fam> = None;
        if self.rng.chance(60) {
            let mut protos = vec!["tcp", "udp"];
            if self.v4 {
                protos.push("icmp");
            }
            if self.v6 {
                protos.push("icmpv6");
            }
            let p = *self.rng.pick(&protos);
            let neg = self.rng.chance(15);
            let mut s = p.to_string();
            match p {
                "tcp" | "udp" => {
                    if self.rng.chance(60) {
                        s += " ";
                        s += *self.rng.pick(PORTS);
                    }
                    if !neg && self.rng.chance(20) {
                        s += " sport ";
                        s += *self.rng.pick(PORTS);
                    }
                    tcp = p == "tcp" && !neg;
                }
                _ => {
                    // Only an ICMP type implies the family: a bare `icmp`
                    // is protocol 1 in either family (hwc's IR and its
                    // backends), so it gets no family's reject reason.
                    if self.rng.chance(60) {
                        s += " ";
                        s += *self.rng.pick(&[
                            "echo-request",
                            "echo-reply",
                            "destination-unreachable",
                        ]);
                        if !neg {
                            fam = Some(if p == "icmp" { Fam::V4 } else { Fam::V6 });
                        }
                    }
                }
            }
            m.push(if neg { format!("not {s}") } else { s });
        }
        for _ in 0..self.rng.below(3) {
            let neg = self.rng.chance(20);
            let c = match self.rng.below(5) {
                k @ 0..=1 => {
                    let f = match fam {
                        Some(f) => f,
                        None => self.any_family(),
                    };
                    if !neg {
                        fam = Some(f);
                    }
                    let dir = if k == 0 { "from" } else { "to" };
                    format!("{dir} {}", self.addrs(f))
                }
                2 => {
                    let k = 1 + self.rng.below(2) as usize;
                    let mut v: Vec<&str> = (0..k).map(|_| *self.rng.pick(STATES)).collect();
                    v.dedup();
                    format!("state {}", v.join(", "))
                }
                3 => {
                    let i = *self.rng.pick(&["lo", "eth0", "eth+", "eth1"]);
                    if hook == "input" {
                        format!("iface {i}")
                    } else {
                        format!("oface {i}")
                    }
                }
                _ => {
                    if hook == "output" {
                        self.rng
                            .pick(&[
                                "user root",
                                "user a",
                                "user b",
                                "user uid 1001-1002",
                                "group g",
                            ])
                            .to_string()
                    } else {
                        "state new".to_string()
                    }
                }
            };
            m.push(if neg { format!("not {c}") } else { c });
        }
        let action = loop {
            let a = match self.rng.below(100) {
                0..=34 => "accept".to_string(),
                35..=54 => "drop".to_string(),
                55..=69 => {
                    let fam = fam.or(match (self.v4, self.v6) {
                        (true, false) => Some(Fam::V4),
                        (false, true) => Some(Fam::V6),
                        _ => None,
                    });
                    if tcp && self.rng.chance(40) {
                        "reject tcp-reset".to_string()
                    } else if self.rng.chance(25) {
                        "reject".to_string()
                    } else {
                        match fam {
                            Some(Fam::V4) => format!("reject {}", self.rng.pick(V4_REASONS)),
                            Some(Fam::V6) => format!("reject {}", self.rng.pick(V6_REASONS)),
                            None => "reject".to_string(),
                        }
                    }
                }
                70..=76 => "log prefix \"kt \"".to_string(),
                77..=91 if !targets.is_empty() => {
                    let verb = if self.rng.chance(50) { "jump" } else { "goto" };
                    format!("{verb} {}", self.rng.pick(targets))
                }
                92..=99 if user => "return".to_string(),
                _ => continue,
            };
            break a;
        };
        format!("  {action} {}", m.join(" ")).trim_end().to_string()
    }
}

/// A random policy (text) for `seed`.
pub fn policy(seed: u64) -> String {
    let mut rng = Rng::new(seed.wrapping_mul(0x9E37_79B9) ^ 0x6b74);
    let family = *rng.pick(&["ip", "ip6", "inet", "inet"]);
    let mut g = G {
        v4: family != "ip6",
        v6: family != "ip",
        rng: &mut rng,
    };
    let mut s = String::new();
    let _ = writeln!(s, "# kernel-truth random policy, seed {seed}");
    let _ = writeln!(s, "policy random-{seed} {{\n  family {family}\n}}\n");
    s += "user root = uid 0\nuser a = uid 1001\nuser b = uid 1002\ngroup g = gid 1002\n\n";
    for hook in ["input", "output"] {
        let short = &hook[..1];
        let n_user = g.rng.below(3) as usize;
        let names: Vec<String> = (0..n_user).map(|i| format!("{short}{i}")).collect();
        // User chains: each may enter only later ones (no cycles).
        for (i, name) in names.iter().enumerate() {
            let _ = writeln!(s, "chain {name} {{");
            for _ in 0..1 + g.rng.below(4) {
                let r = g.rule(hook, true, &names[i + 1..]);
                let _ = writeln!(s, "{r}");
            }
            s += "}\n\n";
        }
        let policy = *g.rng.pick(&["accept", "drop"]);
        let _ = writeln!(s, "chain {hook} policy {policy} {{");
        for _ in 0..2 + g.rng.below(7) {
            let r = g.rule(hook, false, &names);
            let _ = writeln!(s, "{r}");
        }
        s += "}\n\n";
    }
    s
}
