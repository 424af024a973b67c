//! Lint findings proven in the kernel: the packets a finding is about do
//! what it says.
//!
//! - `nonroot-egress`: a witness the engine finds (accepted in `output`,
//!   under-approximated, from a non-root user socket, state new, not via
//!   `lo`) is sent by that user in the hut and counted arriving at the
//!   peer.
//! - `shadowed`: a rule the engine proves covered never counts a packet
//!   in the kernel while the packets of its match are sent, and the rules
//!   that cover it do.

use super::lab::Lab;
use hwc::ir::{
    AddrRange, AddrSet, Cond, CtState, Family, IcmpSpec, Iface, Match, OwnerNegation, OwnerRange,
    PortSet, Test, L4,
};
use hwc::source::Span;
use std::collections::BTreeMap;
use std::net::IpAddr;

fn cond(t: Test) -> Cond {
    Cond::new(t, Span::default())
}

/// A non-root user socket: `uid != 0`, and only packets with a socket
/// (the nft reading of a negated owner test).
pub fn non_root_socket() -> Cond {
    let mut c = cond(Test::Uid(vec![OwnerRange {
        lo: 0,
        hi: 0,
        host_name: None,
    }]))
    .negate();
    c.owner_negation = OwnerNegation::Nft;
    c
}

/// The `nonroot-egress` question: non-root, NEW, not via `lo`.
pub fn nonroot_egress() -> Vec<Cond> {
    vec![
        non_root_socket(),
        cond(Test::State(vec![CtState::New])),
        cond(Test::Oif(vec![Iface {
            name: "lo".into(),
            wildcard: false,
        }]))
        .negate(),
    ]
}

fn v4_range(lo: [u8; 4], hi: [u8; 4]) -> AddrRange {
    AddrRange {
        family: Family::V4,
        lo: u32::from_be_bytes(lo) as u128,
        hi: u32::from_be_bytes(hi) as u128,
    }
}

/// What the lab can send: from the hut's IPv4 address out of eth0 to a
/// documentation address.
pub fn sendable_v4() -> Vec<Cond> {
    let set = |ranges| AddrSet { name: None, ranges };
    vec![
        cond(Test::Src(set(vec![v4_range(
            [192, 0, 2, 1],
            [192, 0, 2, 1],
        )]))),
        cond(Test::Dst(set(vec![
            v4_range([192, 0, 2, 2], [192, 0, 2, 254]),
            v4_range([198, 51, 100, 0], [198, 51, 100, 255]),
            v4_range([203, 0, 113, 0], [203, 0, 113, 255]),
        ]))),
        cond(Test::Oif(vec![Iface {
            name: "eth0".into(),
            wildcard: false,
        }])),
    ]
}

/// A protocol class: ICMP echo requests, or tcp/udp from a port a socket
/// can bind.
pub fn class(proto: u8) -> Cond {
    let icmp = (proto == hwc::ir::dim::PROTO_ICMP).then(|| vec![IcmpSpec { ty: 8, code: None }]);
    let sport = (icmp.is_none()).then(|| PortSet {
        name: None,
        ranges: vec![(1024, 65535)],
    });
    cond(Test::L4(vec![L4 {
        proto,
        sport,
        dport: None,
        icmp,
        service: None,
    }]))
}

pub fn conj(parts: Vec<Vec<Cond>>) -> Match {
    Match {
        conds: parts.into_iter().flatten().collect(),
    }
}

/// Packets per rule comment (`FILE:LINE`) of the hwc rules loaded in the
/// hut: from `iptables-save -c`, or from the counters of an nft table
/// compiled with counters. Several kernel rules of one policy rule add up.
pub fn rule_counters(lab: &Lab, nft: bool) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let text = if nft {
        lab.hut.ok("nft", &["list", "ruleset"], None)
    } else {
        lab.hut.ok("iptables-save", &["-c", "-t", "filter"], None)
    }
    .expect("list the rules");
    for line in text.lines() {
        let Some(comment) = line
            .split("comment \"")
            .nth(1)
            .or_else(|| line.split("--comment \"").nth(1))
            .and_then(|s| s.split('"').next())
        else {
            continue;
        };
        let packets = if nft {
            line.split("counter packets ")
                .nth(1)
                .and_then(|s| s.split(' ').next())
        } else {
            line.strip_prefix('[').and_then(|s| s.split(':').next())
        };
        let n: u64 = packets
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no counter in `{line}`"));
        let key = comment.split(' ').next().unwrap_or(comment).to_string();
        *out.entry(key).or_insert(0) += n;
    }
    out
}

/// Installs a counting rule in the peer (which has no other rules) for
/// packets from `src` to `dst` matching `what` (nft syntax, e.g.
/// `udp sport 40000 udp dport 53`).
pub fn peer_count(lab: &Lab, name: &str, src: IpAddr, dst: IpAddr, what: &str) {
    let fam = if src.is_ipv4() { "ip" } else { "ip6" };
    let chain = format!("c_{name}");
    let text = format!(
        "table inet seen {{}}\ntable inet seen {{\n\tchain {chain} {{\n\t\ttype filter hook input priority 0;\n\
         \t\t{fam} saddr {src} {fam} daddr {dst} {what} counter\n\t}}\n}}\n"
    );
    lab.peer
        .ok("nft", &["-f", "-"], Some(&text))
        .expect("a counter in the peer");
}

/// The packets a [`peer_count`] rule counted.
pub fn peer_counted(lab: &Lab, name: &str) -> u64 {
    let text = lab
        .peer
        .ok(
            "nft",
            &["list", "chain", "inet", "seen", &format!("c_{name}")],
            None,
        )
        .expect("read the peer's counter");
    text.split("counter packets ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no counter in {text}"))
}
