//! ICMP and ICMPv6 type names, as iptables and ip6tables spell them (plus
//! the nftables spellings of the IPv6 neighbour discovery types).
//!
//! A name stands for a type, or for a type with one code
//! (`port-unreachable` is ICMP 3/3 and ICMPv6 1/4). Names are matched
//! without regard to case, like iptables does.

use crate::ir::{Family, IcmpSpec};

/// One named ICMP type or type/code pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpName {
    pub name: &'static str,
    pub ty: u8,
    pub code: Option<u8>,
}

const fn t(name: &'static str, ty: u8) -> IcmpName {
    IcmpName {
        name,
        ty,
        code: None,
    }
}

const fn tc(name: &'static str, ty: u8, code: u8) -> IcmpName {
    IcmpName {
        name,
        ty,
        code: Some(code),
    }
}

/// ICMP (IPv4) names, `iptables -p icmp --help`.
pub const ICMP_V4: &[IcmpName] = &[
    t("echo-reply", 0),
    t("pong", 0),
    t("destination-unreachable", 3),
    tc("network-unreachable", 3, 0),
    tc("host-unreachable", 3, 1),
    tc("protocol-unreachable", 3, 2),
    tc("port-unreachable", 3, 3),
    tc("fragmentation-needed", 3, 4),
    tc("source-route-failed", 3, 5),
    tc("network-unknown", 3, 6),
    tc("host-unknown", 3, 7),
    tc("network-prohibited", 3, 9),
    tc("host-prohibited", 3, 10),
    tc("tos-network-unreachable", 3, 11),
    tc("tos-host-unreachable", 3, 12),
    tc("communication-prohibited", 3, 13),
    tc("host-precedence-violation", 3, 14),
    tc("precedence-cutoff", 3, 15),
    t("source-quench", 4),
    t("redirect", 5),
    tc("network-redirect", 5, 0),
    tc("host-redirect", 5, 1),
    tc("tos-network-redirect", 5, 2),
    tc("tos-host-redirect", 5, 3),
    t("echo-request", 8),
    t("ping", 8),
    t("router-advertisement", 9),
    t("router-solicitation", 10),
    t("time-exceeded", 11),
    t("ttl-exceeded", 11),
    tc("ttl-zero-during-transit", 11, 0),
    tc("ttl-zero-during-reassembly", 11, 1),
    t("parameter-problem", 12),
    tc("ip-header-bad", 12, 0),
    tc("required-option-missing", 12, 1),
    t("timestamp-request", 13),
    t("timestamp-reply", 14),
    t("address-mask-request", 17),
    t("address-mask-reply", 18),
];

/// ICMPv6 names, `ip6tables -p icmpv6 --help`, and the nft spellings of
/// the neighbour discovery and MLD types.
pub const ICMP_V6: &[IcmpName] = &[
    t("destination-unreachable", 1),
    tc("no-route", 1, 0),
    tc("communication-prohibited", 1, 1),
    tc("beyond-scope", 1, 2),
    tc("address-unreachable", 1, 3),
    tc("port-unreachable", 1, 4),
    tc("failed-policy", 1, 5),
    tc("reject-route", 1, 6),
    t("packet-too-big", 2),
    t("time-exceeded", 3),
    t("ttl-exceeded", 3),
    tc("ttl-zero-during-transit", 3, 0),
    tc("ttl-zero-during-reassembly", 3, 1),
    t("parameter-problem", 4),
    tc("bad-header", 4, 0),
    tc("unknown-header-type", 4, 1),
    tc("unknown-option", 4, 2),
    t("echo-request", 128),
    t("ping", 128),
    t("echo-reply", 129),
    t("pong", 129),
    t("mld-listener-query", 130),
    t("mld-listener-report", 131),
    t("mld-listener-done", 132),
    t("mld-listener-reduction", 132),
    t("router-solicitation", 133),
    t("nd-router-solicit", 133),
    t("router-advertisement", 134),
    t("nd-router-advert", 134),
    t("neighbour-solicitation", 135),
    t("neighbor-solicitation", 135),
    t("nd-neighbor-solicit", 135),
    t("neighbour-advertisement", 136),
    t("neighbor-advertisement", 136),
    t("nd-neighbor-advert", 136),
    t("redirect", 137),
    t("nd-redirect", 137),
    t("router-renumbering", 138),
    t("mld2-listener-report", 143),
];

fn table(family: Family) -> &'static [IcmpName] {
    match family {
        Family::V4 => ICMP_V4,
        Family::V6 => ICMP_V6,
    }
}

/// The type (and code) a name stands for in one family.
pub fn lookup(family: Family, name: &str) -> Option<IcmpSpec> {
    table(family)
        .iter()
        .find(|n| n.name.eq_ignore_ascii_case(name))
        .map(|n| IcmpSpec {
            ty: n.ty,
            code: n.code.map(|c| (c, c)),
        })
}

/// Every name of one family, for "did you mean" suggestions.
pub fn names(family: Family) -> impl Iterator<Item = &'static str> {
    table(family).iter().map(|n| n.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(family: Family, name: &str) -> Option<(u8, Option<(u8, u8)>)> {
        lookup(family, name).map(|s| (s.ty, s.code))
    }

    #[test]
    fn ipv4_numbers_follow_iptables() {
        assert_eq!(spec(Family::V4, "echo-request"), Some((8, None)));
        assert_eq!(spec(Family::V4, "echo-reply"), Some((0, None)));
        assert_eq!(spec(Family::V4, "destination-unreachable"), Some((3, None)));
        assert_eq!(
            spec(Family::V4, "port-unreachable"),
            Some((3, Some((3, 3))))
        );
        assert_eq!(
            spec(Family::V4, "fragmentation-needed"),
            Some((3, Some((4, 4))))
        );
        assert_eq!(spec(Family::V4, "time-exceeded"), Some((11, None)));
        assert_eq!(
            spec(Family::V4, "TOS-host-redirect"),
            Some((5, Some((3, 3))))
        );
        assert_eq!(spec(Family::V4, "neighbour-solicitation"), None);
    }

    #[test]
    fn ipv6_numbers_follow_ip6tables() {
        assert_eq!(spec(Family::V6, "echo-request"), Some((128, None)));
        assert_eq!(spec(Family::V6, "packet-too-big"), Some((2, None)));
        assert_eq!(
            spec(Family::V6, "port-unreachable"),
            Some((1, Some((4, 4))))
        );
        assert_eq!(spec(Family::V6, "router-solicitation"), Some((133, None)));
        assert_eq!(spec(Family::V6, "router-advertisement"), Some((134, None)));
        assert_eq!(
            spec(Family::V6, "neighbour-solicitation"),
            Some((135, None))
        );
        assert_eq!(
            spec(Family::V6, "neighbor-advertisement"),
            Some((136, None))
        );
        assert_eq!(
            spec(Family::V6, "neighbour-advertisement"),
            Some((136, None))
        );
        assert_eq!(spec(Family::V6, "mld-listener-query"), Some((130, None)));
        assert_eq!(spec(Family::V6, "mld2-listener-report"), Some((143, None)));
        assert_eq!(spec(Family::V6, "source-quench"), None);
    }
}
