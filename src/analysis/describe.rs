//! Words for rules, matches and flows in findings: how an admin would say
//! them (`udp port 53 to `resolver``), never Rust type names.

use crate::ir::{
    Action, AddrRange, AddrSet, Cond, Family, Iface, Match, OwnerRange, Policy, PortSet, Test,
    Verdict,
};
use crate::space::packet::{icmp_type_name, proto_name};
use std::net::{Ipv4Addr, Ipv6Addr};

/// What a rule does, in one or two words: `accept`, `jump to `ssh-in``.
pub fn action(policy: &Policy, a: &Action) -> String {
    match a {
        Action::Accept => "accept".into(),
        Action::Drop => "drop".into(),
        Action::Reject(_) => "reject".into(),
        Action::Log(_) => "log".into(),
        Action::Jump(c) => format!("jump to `{}`", policy.chain(*c).name),
        Action::Goto(c) => format!("goto `{}`", policy.chain(*c).name),
        Action::Return => "return".into(),
        Action::Continue(t) | Action::Opaque(t) => format!("`{t}`"),
    }
}

/// `accepts` / `drops`.
pub fn verdict_verb(v: Verdict) -> &'static str {
    match v {
        Verdict::Accept => "accepts",
        Verdict::Drop => "drops",
    }
}

/// `accept` / `drop`.
pub fn verb_plain(v: Verdict) -> &'static str {
    match v {
        Verdict::Accept => "accept",
        Verdict::Drop => "drop",
    }
}

/// `accepted` / `dropped`.
pub fn verdict_participle(v: Verdict) -> &'static str {
    match v {
        Verdict::Accept => "accepted",
        Verdict::Drop => "dropped",
    }
}

fn addr_range(r: &AddrRange) -> String {
    let show = |v: u128| match r.family {
        Family::V4 => Ipv4Addr::from(v as u32).to_string(),
        Family::V6 => Ipv6Addr::from(v).to_string(),
    };
    let full = match r.family {
        Family::V4 => 32,
        Family::V6 => 128,
    };
    match r.as_prefix() {
        Some(p) if p == full => show(r.lo),
        Some(p) => format!("{}/{p}", show(r.lo)),
        None => format!("{}-{}", show(r.lo), show(r.hi)),
    }
}

/// Up to `max` items joined with commas, then `and N more`.
pub fn list(items: &[String], max: usize) -> String {
    if items.len() <= max {
        return items.join(", ");
    }
    format!(
        "{}, and {} more",
        items[..max].join(", "),
        items.len() - max
    )
}

/// An address set: its name, or its addresses.
pub fn addrs(s: &AddrSet) -> String {
    match &s.name {
        Some(n) => format!("`{n}`"),
        None => list(&s.ranges.iter().map(addr_range).collect::<Vec<_>>(), 3),
    }
}

fn ports(s: &PortSet) -> String {
    if let Some(n) = &s.name {
        return format!("`{n}`");
    }
    let items: Vec<String> = s
        .ranges
        .iter()
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect();
    let word = if s.ranges.len() == 1 && s.ranges[0].0 == s.ranges[0].1 {
        "port"
    } else {
        "ports"
    };
    format!("{word} {}", list(&items, 4))
}

fn proto(p: u8) -> String {
    proto_name(p).map_or_else(|| format!("protocol {p}"), str::to_string)
}

/// One protocol alternative: `udp port 53`, `icmp echo-request`.
fn l4(alt: &crate::ir::L4) -> String {
    let mut out = proto(alt.proto);
    if let Some(s) = &alt.sport {
        out.push_str(&format!(" from {}", ports(s)));
    }
    if let Some(d) = &alt.dport {
        out.push(' ');
        out.push_str(&ports(d));
    }
    if let Some(specs) = &alt.icmp {
        let family = if alt.proto == 58 {
            Family::V6
        } else {
            Family::V4
        };
        let names: Vec<String> = specs
            .iter()
            .map(|s| {
                let name =
                    icmp_type_name(family, s.ty).map_or_else(|| s.ty.to_string(), str::to_string);
                match s.code {
                    Some((a, b)) if a == b => format!("{name}/{a}"),
                    Some((a, b)) => format!("{name}/{a}-{b}"),
                    None => name,
                }
            })
            .collect();
        out.push(' ');
        out.push_str(&list(&names, 4));
    }
    out
}

/// A protocol test: `service `dns``, or its alternatives.
fn protocols(alts: &[crate::ir::L4]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut services: Vec<&str> = Vec::new();
    for alt in alts {
        match &alt.service {
            Some(s) => {
                if !services.contains(&s.as_str()) {
                    services.push(s);
                    out.push(format!("service `{s}`"));
                }
            }
            None => out.push(l4(alt)),
        }
    }
    list(&out, 4)
}

fn ifaces(l: &[Iface]) -> String {
    list(&l.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>(), 3)
}

fn owners(kind: &str, l: &[OwnerRange]) -> String {
    let items: Vec<String> = l
        .iter()
        .map(|r| match &r.host_name {
            Some(n) => format!("`{n}`"),
            None if r.lo == r.hi => format!("{kind} {}", r.lo),
            None => format!("{kind} {}-{}", r.lo, r.hi),
        })
        .collect();
    list(&items, 3)
}

/// The flows a match describes, as an admin would say them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowClass {
    /// `udp port 53`, `service `dns``, or `any protocol`.
    pub what: String,
    /// `to `resolver``, `to any address`.
    pub to: String,
    /// `from `admins``, when the match restricts the source.
    pub from: Option<String>,
    /// `users `web``, or `None` when the match says nothing about them.
    pub users: Option<String>,
    /// `via `eth0``, when the match restricts an interface.
    pub via: Option<String>,
}

impl FlowClass {
    /// One line: `udp port 53 to `resolver``.
    pub fn short(&self) -> String {
        let mut out = format!("{} {}", self.what, self.to);
        if let Some(f) = &self.from {
            out.push(' ');
            out.push_str(f);
        }
        if let Some(v) = &self.via {
            out.push(' ');
            out.push_str(v);
        }
        out
    }
}

/// The flow class of a match: the conditions that say what, where and
/// who. `any` is the wording for a match without a protocol test.
pub fn flow_class(m: &Match, any: &str) -> FlowClass {
    let mut class = FlowClass {
        what: any.to_string(),
        to: "to any address".into(),
        from: None,
        users: None,
        via: None,
    };
    let not = |c: &Cond| if c.negated { "not " } else { "" };
    for c in &m.conds {
        match &c.test {
            Test::L4(alts) if !c.negated => class.what = protocols(alts),
            Test::L4(alts) => class.what = format!("{any} except {}", protocols(alts)),
            Test::Dst(s) if !c.negated => class.to = format!("to {}", addrs(s)),
            Test::Dst(s) => class.to = format!("to any address except {}", addrs(s)),
            Test::Src(s) => class.from = Some(format!("from {}{}", not(c), addrs(s))),
            Test::Uid(l) => class.users = Some(format!("{}{}", not(c), owners("uid", l))),
            Test::Gid(l) => class.users = Some(format!("{}{}", not(c), owners("gid", l))),
            Test::Oif(l) => class.via = Some(format!("via {}{}", not(c), ifaces(l))),
            Test::Iif(l) => class.via = Some(format!("on {}{}", not(c), ifaces(l))),
            Test::AnyPort(p) => class.what = format!("{} with {}{}", class.what, not(c), ports(p)),
            Test::Family(f) => class.what = format!("{} ({})", class.what, f.keyword()),
            Test::State(_) | Test::Limit(_) | Test::Opaque(_) => {}
        }
    }
    class
}

/// The tests of a match hwc does not model exactly, as the user wrote
/// them (`limit 10/minute`, an unknown iptables match).
pub fn unknowns(m: &Match) -> Vec<String> {
    m.conds
        .iter()
        .filter_map(|c| match &c.test {
            Test::Limit(l) => {
                let unit = match l.per_seconds {
                    1 => "second",
                    60 => "minute",
                    3600 => "hour",
                    _ => "day",
                };
                Some(format!("`limit {}/{unit}`", l.rate))
            }
            Test::Opaque(t) => Some(format!("`{t}`")),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{AddrRange, IcmpSpec, L4};
    use crate::source::Span;

    fn cond(t: Test) -> Cond {
        Cond::new(t, Span::default())
    }

    #[test]
    fn flow_classes_read_like_rules() {
        let m = Match {
            conds: vec![
                cond(Test::L4(vec![L4 {
                    proto: 17,
                    sport: None,
                    dport: Some(PortSet {
                        name: None,
                        ranges: vec![(53, 53)],
                    }),
                    icmp: None,
                    service: None,
                }])),
                cond(Test::Dst(AddrSet {
                    name: Some("resolver".into()),
                    ranges: vec![],
                })),
            ],
        };
        assert_eq!(
            flow_class(&m, "any protocol").short(),
            "udp port 53 to `resolver`"
        );
        let m = Match {
            conds: vec![
                cond(Test::L4(vec![L4 {
                    proto: 1,
                    sport: None,
                    dport: None,
                    icmp: Some(vec![IcmpSpec { ty: 8, code: None }]),
                    service: None,
                }])),
                cond(Test::Dst(AddrSet {
                    name: None,
                    ranges: vec![AddrRange {
                        family: Family::V4,
                        lo: 0xC000_0200,
                        hi: 0xC000_02FF,
                    }],
                }))
                .negate(),
            ],
        };
        assert_eq!(
            flow_class(&m, "any protocol").short(),
            "icmp echo-request to any address except 192.0.2.0/24"
        );
        assert_eq!(
            flow_class(&Match::default(), "anything").short(),
            "anything to any address"
        );
    }

    #[test]
    fn long_lists_are_cut() {
        let items: Vec<String> = (1..=6).map(|i| i.to_string()).collect();
        assert_eq!(list(&items, 3), "1, 2, 3, and 3 more");
        assert_eq!(list(&items[..2], 3), "1, 2");
    }
}
