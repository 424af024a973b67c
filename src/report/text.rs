//! IR values as a reviewer reads them: `admins (198.51.100.0/24)`,
//! `dns (udp 53, tcp 53)`, `root (uid 0)`.
//!
//! A condition becomes a *term* of one column of the flow table ([`Column`]).
//! The text shows the name the policy used, when it used one, followed by
//! the values it stands for, so that a reader of a report needs neither the
//! policy nor its includes.

use crate::ir::{
    AddrRange, AddrSet, Cond, CtState, Family, IcmpSpec, Iface, OwnerRange, PortSet, RateLimit,
    Test, L4,
};
use crate::space::packet::{icmp_type_name, proto_name};
use std::net::{Ipv4Addr, Ipv6Addr};

/// The columns of a flow table a condition can constrain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Column {
    From,
    To,
    Protocol,
    Iif,
    Oif,
    Users,
    Groups,
    /// Conntrack states: the flow tables show them from the engine, not
    /// from the conditions.
    State,
    /// Rate limits and matches hwc does not model.
    Other,
}

/// At most this many values of one set are listed; the rest are counted.
const MAX_VALUES: usize = 12;

/// The column and text of a condition. `label` is the policy's own words
/// for it (the source text of the condition) when there are any.
pub fn cond_term(cond: &Cond, label: Option<&str>) -> (Column, String) {
    let (column, values) = test_text(&cond.test);
    let name = label.and_then(|l| name_of(l, column));
    let body = match name {
        Some(n) if n != values => format!("{n} ({values})"),
        _ => values,
    };
    let not = if cond.negated { "not " } else { "" };
    (column, format!("{not}{body}"))
}

/// The name a condition's source text refers to (`from admins` →
/// `admins`), for the columns whose values are usually named.
fn name_of(label: &str, column: Column) -> Option<String> {
    let label = label.trim();
    let label = label.strip_prefix("not ").unwrap_or(label).trim_start();
    let keyword = match column {
        Column::From => "from",
        Column::To => "to",
        Column::Iif => "iface",
        Column::Oif => "oface",
        Column::Users => "user",
        Column::Groups => "group",
        Column::Protocol => "service",
        Column::State | Column::Other => return None,
    };
    let rest = label.strip_prefix(keyword)?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let rest = rest.trim();
    (!rest.is_empty()).then(|| rest.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The column of a test and its values as text.
pub fn test_text(t: &Test) -> (Column, String) {
    match t {
        Test::Family(f) => (Column::Protocol, format!("any {}", f.keyword())),
        Test::Iif(list) => (Column::Iif, ifaces_text(list)),
        Test::Oif(list) => (Column::Oif, ifaces_text(list)),
        Test::Src(s) => (Column::From, addrs_text(s)),
        Test::Dst(s) => (Column::To, addrs_text(s)),
        Test::L4(alts) => (Column::Protocol, l4s_text(alts)),
        Test::AnyPort(p) => (
            Column::Protocol,
            format!("port {} (source or destination)", ports_text(p)),
        ),
        Test::State(states) => (Column::State, states_text(states)),
        Test::Uid(list) => (Column::Users, owners_text(list, "uid")),
        Test::Gid(list) => (Column::Groups, owners_text(list, "gid")),
        Test::Limit(l) => (Column::Other, rate_text(l)),
        Test::Opaque(text) => (Column::Other, format!("`{text}` (not modelled)")),
    }
}

pub fn states_text(states: &[CtState]) -> String {
    let v: Vec<&str> = states.iter().map(|s| s.name()).collect();
    v.join(", ")
}

fn capped(items: Vec<String>) -> String {
    if items.len() <= MAX_VALUES + 1 {
        return items.join(", ");
    }
    format!(
        "{}, … ({} more)",
        items[..MAX_VALUES].join(", "),
        items.len() - MAX_VALUES
    )
}

pub fn addr_text(family: Family, v: u128) -> String {
    match family {
        Family::V4 => Ipv4Addr::from(v as u32).to_string(),
        Family::V6 => Ipv6Addr::from(v).to_string(),
    }
}

pub fn range_text(r: &AddrRange) -> String {
    let bits = match r.family {
        Family::V4 => 32,
        Family::V6 => 128,
    };
    match r.as_prefix() {
        Some(p) if p == bits => addr_text(r.family, r.lo),
        Some(p) => format!("{}/{p}", addr_text(r.family, r.lo)),
        None => format!(
            "{}-{}",
            addr_text(r.family, r.lo),
            addr_text(r.family, r.hi)
        ),
    }
}

fn addrs_text(set: &AddrSet) -> String {
    capped(set.ranges.iter().map(range_text).collect())
}

fn port_text(&(lo, hi): &(u16, u16)) -> String {
    if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}-{hi}")
    }
}

fn ports_text(p: &PortSet) -> String {
    capped(p.ranges.iter().map(port_text).collect())
}

fn proto_word(proto: u8) -> String {
    proto_name(proto)
        .map(str::to_string)
        .unwrap_or_else(|| format!("proto {proto}"))
}

fn icmp_text(family: Family, s: &IcmpSpec) -> String {
    let ty = icmp_type_name(family, s.ty)
        .map(str::to_string)
        .unwrap_or_else(|| s.ty.to_string());
    match s.code {
        None => ty,
        Some((lo, hi)) if lo == hi => format!("{ty}/{lo}"),
        Some((lo, hi)) => format!("{ty}/{lo}-{hi}"),
    }
}

/// `tcp 22`, `udp 68 sport 67`, `icmp echo-request`.
pub fn l4_text(l4: &L4) -> String {
    let mut s = proto_word(l4.proto);
    if let Some(d) = &l4.dport {
        s.push(' ');
        s.push_str(&ports_text(d));
    }
    if let Some(icmp) = &l4.icmp {
        let family = if l4.proto == crate::ir::dim::PROTO_ICMPV6 {
            Family::V6
        } else {
            Family::V4
        };
        let types: Vec<String> = icmp.iter().map(|t| icmp_text(family, t)).collect();
        s.push(' ');
        s.push_str(&capped(types));
    }
    if let Some(sp) = &l4.sport {
        s.push_str(" sport ");
        s.push_str(&ports_text(sp));
    }
    s
}

/// Alternatives of one protocol with only ICMP types (as in a service of
/// ICMPv6 messages) read better as one entry: `icmpv6 nd-router-solicit,
/// nd-router-advert`.
fn l4s_text(alts: &[L4]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < alts.len() {
        let a = &alts[i];
        let icmp_only = a.icmp.is_some() && a.sport.is_none() && a.dport.is_none();
        if icmp_only {
            let mut types: Vec<IcmpSpec> = a.icmp.clone().unwrap_or_default();
            let mut j = i + 1;
            while j < alts.len()
                && alts[j].proto == a.proto
                && alts[j].sport.is_none()
                && alts[j].dport.is_none()
                && alts[j].icmp.is_some()
            {
                types.extend(alts[j].icmp.iter().flatten().copied());
                j += 1;
            }
            parts.push(l4_text(&L4 {
                icmp: Some(types),
                ..a.clone()
            }));
            i = j;
        } else {
            parts.push(l4_text(a));
            i += 1;
        }
    }
    capped(parts)
}

fn ifaces_text(list: &[Iface]) -> String {
    capped(list.iter().map(Iface::to_string).collect())
}

fn owner_text(r: &OwnerRange, kw: &str) -> String {
    match &r.host_name {
        Some(name) => format!("\"{name}\""),
        None if r.lo == r.hi => format!("{kw} {}", r.lo),
        None => format!("{kw} {}-{}", r.lo, r.hi),
    }
}

fn owners_text(list: &[OwnerRange], kw: &str) -> String {
    capped(list.iter().map(|r| owner_text(r, kw)).collect())
}

fn rate_text(l: &RateLimit) -> String {
    let unit = match l.per_seconds {
        1 => "second",
        60 => "minute",
        3600 => "hour",
        _ => "day",
    };
    match l.burst {
        Some(b) => format!("limit {}/{unit} burst {b}", l.rate),
        None => format!("limit {}/{unit}", l.rate),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Span;

    fn cond(t: Test) -> Cond {
        Cond::new(t, Span::default())
    }

    #[test]
    fn names_come_from_the_policy_text_values_from_the_ir() {
        let admins = Test::Src(AddrSet {
            name: Some("admins".into()),
            ranges: vec![AddrRange {
                family: Family::V4,
                lo: 0xC633_6400,
                hi: 0xC633_64FF,
            }],
        });
        assert_eq!(
            cond_term(&cond(admins.clone()), Some("from admins")),
            (Column::From, "admins (198.51.100.0/24)".to_string())
        );
        assert_eq!(
            cond_term(&cond(admins.clone()).negate(), Some("not from  admins")),
            (Column::From, "not admins (198.51.100.0/24)".to_string())
        );
        // A literal written in the policy is shown once.
        assert_eq!(
            cond_term(&cond(admins), Some("from 198.51.100.0/24")),
            (Column::From, "198.51.100.0/24".to_string())
        );
        let root = Test::Uid(vec![OwnerRange {
            lo: 0,
            hi: 0,
            host_name: None,
        }]);
        assert_eq!(cond_term(&cond(root), Some("user root")).1, "root (uid 0)");
    }

    #[test]
    fn protocols_ports_and_icmp_types() {
        let dns = vec![
            L4 {
                proto: 17,
                sport: None,
                dport: Some(PortSet {
                    name: None,
                    ranges: vec![(53, 53)],
                }),
                icmp: None,
                service: Some("dns".into()),
            },
            L4 {
                proto: 6,
                sport: Some(PortSet {
                    name: None,
                    ranges: vec![(1024, 65535)],
                }),
                dport: Some(PortSet {
                    name: None,
                    ranges: vec![(53, 53)],
                }),
                icmp: None,
                service: Some("dns".into()),
            },
        ];
        assert_eq!(
            cond_term(&cond(Test::L4(dns)), Some("service dns")).1,
            "dns (udp 53, tcp 53 sport 1024-65535)"
        );
        let nd: Vec<L4> = [
            133u8, 134, 135, 136, 130, 131, 132, 143, 128, 129, 1, 2, 3, 4,
        ]
        .iter()
        .map(|&ty| L4 {
            proto: 58,
            sport: None,
            dport: None,
            icmp: Some(vec![IcmpSpec { ty, code: None }]),
            service: None,
        })
        .collect();
        assert_eq!(
            test_text(&Test::L4(nd)).1,
            "icmpv6 nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, \
             mld-listener-query, mld-listener-report, mld-listener-done, mld2-listener-report, \
             echo-request, echo-reply, destination-unreachable, packet-too-big, … (2 more)"
        );
    }
}
