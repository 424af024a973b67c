//! Values as iptables writes them: addresses with masks, port ranges,
//! protocol names, ICMP type names, conntrack states, rates, log levels.
//! Each parser returns a message for the user when the word is not valid.

use crate::ir::{AddrRange, CtState, Family, IcmpSpec, LogLevel, RateLimit, RejectWith};
use std::net::IpAddr;

/// An address argument of `-s`/`-d`: a list of ranges, or a network with a
/// mask that is not a prefix (`10.0.1.0/255.0.255.0`), which no interval
/// describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AddrArg {
    Ranges(Vec<AddrRange>),
    NonContiguousMask,
}

fn family_of(a: &IpAddr) -> Family {
    match a {
        IpAddr::V4(_) => Family::V4,
        IpAddr::V6(_) => Family::V6,
    }
}

fn addr_value(a: &IpAddr) -> u128 {
    match a {
        IpAddr::V4(v) => u32::from(*v) as u128,
        IpAddr::V6(v) => u128::from(*v),
    }
}

fn bits(f: Family) -> u32 {
    match f {
        Family::V4 => 32,
        Family::V6 => 128,
    }
}

fn prefix_mask(f: Family, len: u32) -> u128 {
    let b = bits(f);
    if len == 0 {
        return 0;
    }
    let ones = if len >= 128 {
        u128::MAX
    } else {
        !(u128::MAX >> len)
    };
    // Shift the mask into the family's width.
    ones >> (128 - b)
}

fn parse_ip(s: &str) -> Result<IpAddr, String> {
    s.parse::<IpAddr>().map_err(|_| {
        if s.chars().any(|c| c.is_ascii_alphabetic()) && !s.contains(':') {
            format!("`{s}` is a host name, not an address")
        } else {
            format!("`{s}` is not an IPv4 or IPv6 address")
        }
    })
}

/// One `ADDR[/MASK]` element.
fn parse_one_addr(s: &str) -> Result<Option<AddrRange>, String> {
    let (addr, mask) = match s.split_once('/') {
        Some((a, m)) => (a, Some(m)),
        None => (s, None),
    };
    let ip = parse_ip(addr)?;
    let fam = family_of(&ip);
    let v = addr_value(&ip);
    let mask = match mask {
        None => prefix_mask(fam, bits(fam)),
        Some(m) if !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()) => {
            let len: u32 = m
                .parse()
                .ok()
                .filter(|&l| l <= bits(fam))
                .ok_or_else(|| format!("prefix length `/{m}` is too long for `{addr}`"))?;
            prefix_mask(fam, len)
        }
        Some(m) => {
            let mip = parse_ip(m).map_err(|_| format!("`/{m}` is not a prefix length or mask"))?;
            if family_of(&mip) != fam {
                return Err(format!(
                    "mask `{m}` and address `{addr}` are of different families"
                ));
            }
            let mv = addr_value(&mip);
            let width_mask = fam.max_addr();
            let inv = !mv & width_mask;
            // A prefix mask is ones followed by zeros: its complement plus
            // one is a power of two.
            if inv.wrapping_add(1) & inv != 0 {
                return Ok(None);
            }
            mv
        }
    };
    let lo = v & mask;
    let hi = lo | (!mask & fam.max_addr());
    Ok(Some(AddrRange {
        family: fam,
        lo,
        hi,
    }))
}

/// `-s`/`-d`: `ADDR[/MASK][,ADDR[/MASK]...]`.
pub(crate) fn parse_addr_arg(s: &str) -> Result<AddrArg, String> {
    let mut out = Vec::new();
    for part in s.split(',') {
        if part.is_empty() {
            return Err(format!("`{s}` has an empty element"));
        }
        match parse_one_addr(part)? {
            Some(r) => out.push(r),
            None => return Ok(AddrArg::NonContiguousMask),
        }
    }
    Ok(AddrArg::Ranges(out))
}

/// `-m iprange --src-range A-B`.
pub(crate) fn parse_addr_range(s: &str) -> Result<AddrRange, String> {
    let (a, b) = s
        .split_once('-')
        .ok_or_else(|| format!("`{s}` is not an address range `FROM-TO`"))?;
    let (a, b) = (parse_ip(a)?, parse_ip(b)?);
    if family_of(&a) != family_of(&b) {
        return Err(format!("the ends of `{s}` are of different families"));
    }
    let (lo, hi) = (addr_value(&a), addr_value(&b));
    if lo > hi {
        return Err(format!("range `{s}` ends before it starts"));
    }
    Ok(AddrRange {
        family: family_of(&a),
        lo,
        hi,
    })
}

fn parse_port(s: &str) -> Result<u16, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{s}` is not a port number"));
    }
    s.parse::<u16>()
        .map_err(|_| format!("port `{s}` is larger than 65535"))
}

/// `22`, `1024:65535`, `:1023`, `1024:`.
pub(crate) fn parse_port_range(s: &str) -> Result<(u16, u16), String> {
    let (lo, hi) = match s.split_once(':') {
        None => {
            let p = parse_port(s)?;
            (p, p)
        }
        Some((a, b)) => {
            let lo = if a.is_empty() { 0 } else { parse_port(a)? };
            let hi = if b.is_empty() { 65535 } else { parse_port(b)? };
            (lo, hi)
        }
    };
    if lo > hi {
        return Err(format!("port range `{s}` ends before it starts"));
    }
    Ok((lo, hi))
}

/// `multiport` lists: `80,443,9025:9040`.
pub(crate) fn parse_port_list(s: &str) -> Result<Vec<(u16, u16)>, String> {
    s.split(',').map(parse_port_range).collect()
}

/// Protocol names iptables accepts with `-p` (its built-in list and the
/// usual `/etc/protocols` entries). `all` is handled by the caller.
const PROTOCOLS: &[(&str, u8)] = &[
    ("icmp", 1),
    ("igmp", 2),
    ("ggp", 3),
    ("ipencap", 4),
    ("st", 5),
    ("tcp", 6),
    ("egp", 8),
    ("igp", 9),
    ("pup", 12),
    ("udp", 17),
    ("hmp", 20),
    ("xns-idp", 22),
    ("rdp", 27),
    ("iso-tp4", 29),
    ("dccp", 33),
    ("xtp", 36),
    ("ddp", 37),
    ("idpr-cmtp", 38),
    ("ipv6", 41),
    ("ipv6-route", 43),
    ("ipv6-frag", 44),
    ("idrp", 45),
    ("rsvp", 46),
    ("gre", 47),
    ("esp", 50),
    ("ah", 51),
    ("skip", 57),
    ("icmpv6", 58),
    ("ipv6-icmp", 58),
    ("ipv6-nonxt", 59),
    ("ipv6-opts", 60),
    ("rspf", 73),
    ("vmtp", 81),
    ("eigrp", 88),
    ("ospf", 89),
    ("ax.25", 93),
    ("ipip", 94),
    ("etherip", 97),
    ("encap", 98),
    ("pim", 103),
    ("ipcomp", 108),
    ("vrrp", 112),
    ("l2tp", 115),
    ("isis", 124),
    ("sctp", 132),
    ("fc", 133),
    ("mobility-header", 135),
    ("ipv6-mh", 135),
    ("mh", 135),
    ("udplite", 136),
    ("mpls-in-ip", 137),
    ("manet", 138),
    ("hip", 139),
    ("shim6", 140),
    ("wesp", 141),
    ("rohc", 142),
];

/// `-p`: `None` for `all` (and `0`), else the protocol number.
pub(crate) fn parse_proto(s: &str) -> Result<Option<u8>, String> {
    let lower = s.to_ascii_lowercase();
    if lower == "all" {
        return Ok(None);
    }
    if !lower.is_empty() && lower.bytes().all(|b| b.is_ascii_digit()) {
        let n: u8 = lower
            .parse()
            .map_err(|_| format!("protocol number `{s}` is larger than 255"))?;
        return Ok((n != 0).then_some(n));
    }
    PROTOCOLS
        .iter()
        .find(|(name, _)| *name == lower)
        .map(|&(_, n)| Some(n))
        .ok_or_else(|| format!("unknown protocol `{s}`"))
}

/// ICMP (IPv4) type names as `iptables -p icmp -h` lists them.
const ICMP_TYPES: &[(&str, u8, Option<u8>)] = &[
    ("echo-reply", 0, None),
    ("pong", 0, None),
    ("destination-unreachable", 3, None),
    ("network-unreachable", 3, Some(0)),
    ("host-unreachable", 3, Some(1)),
    ("protocol-unreachable", 3, Some(2)),
    ("port-unreachable", 3, Some(3)),
    ("fragmentation-needed", 3, Some(4)),
    ("source-route-failed", 3, Some(5)),
    ("network-unknown", 3, Some(6)),
    ("host-unknown", 3, Some(7)),
    ("network-prohibited", 3, Some(9)),
    ("host-prohibited", 3, Some(10)),
    ("tos-network-unreachable", 3, Some(11)),
    ("tos-host-unreachable", 3, Some(12)),
    ("communication-prohibited", 3, Some(13)),
    ("host-precedence-violation", 3, Some(14)),
    ("precedence-cutoff", 3, Some(15)),
    ("source-quench", 4, None),
    ("redirect", 5, None),
    ("network-redirect", 5, Some(0)),
    ("host-redirect", 5, Some(1)),
    ("tos-network-redirect", 5, Some(2)),
    ("tos-host-redirect", 5, Some(3)),
    ("echo-request", 8, None),
    ("ping", 8, None),
    ("router-advertisement", 9, None),
    ("router-solicitation", 10, None),
    ("time-exceeded", 11, None),
    ("ttl-exceeded", 11, None),
    ("ttl-zero-during-transit", 11, Some(0)),
    ("ttl-zero-during-reassembly", 11, Some(1)),
    ("parameter-problem", 12, None),
    ("ip-header-bad", 12, Some(0)),
    ("required-option-missing", 12, Some(1)),
    ("timestamp-request", 13, None),
    ("timestamp-reply", 14, None),
    ("address-mask-request", 17, None),
    ("address-mask-reply", 18, None),
];

/// ICMPv6 type names as `ip6tables -p icmpv6 -h` lists them.
const ICMPV6_TYPES: &[(&str, u8, Option<u8>)] = &[
    ("destination-unreachable", 1, None),
    ("no-route", 1, Some(0)),
    ("communication-prohibited", 1, Some(1)),
    ("beyond-scope", 1, Some(2)),
    ("address-unreachable", 1, Some(3)),
    ("port-unreachable", 1, Some(4)),
    ("failed-policy", 1, Some(5)),
    ("reject-route", 1, Some(6)),
    ("packet-too-big", 2, None),
    ("time-exceeded", 3, None),
    ("ttl-exceeded", 3, None),
    ("ttl-zero-during-transit", 3, Some(0)),
    ("ttl-zero-during-reassembly", 3, Some(1)),
    ("parameter-problem", 4, None),
    ("bad-header", 4, Some(0)),
    ("unknown-header-type", 4, Some(1)),
    ("unknown-option", 4, Some(2)),
    ("echo-request", 128, None),
    ("ping", 128, None),
    ("echo-reply", 129, None),
    ("pong", 129, None),
    ("mld-listener-query", 130, None),
    ("mld-listener-report", 131, None),
    ("mld-listener-done", 132, None),
    ("mld-listener-reduction", 132, None),
    ("router-solicitation", 133, None),
    ("router-advertisement", 134, None),
    ("neighbour-solicitation", 135, None),
    ("neighbor-solicitation", 135, None),
    ("neighbour-advertisement", 136, None),
    ("neighbor-advertisement", 136, None),
    ("redirect", 137, None),
];

/// `--icmp-type` / `--icmpv6-type`: `any` (→ `None`), a name, `TYPE` or
/// `TYPE/CODE`.
pub(crate) fn parse_icmp_type(s: &str, v6: bool) -> Result<Option<IcmpSpec>, String> {
    let lower = s.to_ascii_lowercase();
    if lower == "any" && !v6 {
        return Ok(None);
    }
    let table = if v6 { ICMPV6_TYPES } else { ICMP_TYPES };
    if let Some(&(_, ty, code)) = table.iter().find(|(n, _, _)| *n == lower) {
        return Ok(Some(IcmpSpec {
            ty,
            code: code.map(|c| (c, c)),
        }));
    }
    let num = |t: &str| -> Result<u8, String> {
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "unknown {} type `{s}`",
                if v6 { "ICMPv6" } else { "ICMP" }
            ));
        }
        t.parse::<u8>()
            .map_err(|_| format!("ICMP type or code `{t}` is larger than 255"))
    };
    match s.split_once('/') {
        None => Ok(Some(IcmpSpec {
            ty: num(s)?,
            code: None,
        })),
        Some((t, c)) => {
            let c = num(c)?;
            Ok(Some(IcmpSpec {
                ty: num(t)?,
                code: Some((c, c)),
            }))
        }
    }
}

/// One conntrack state of `--state` / `--ctstate`. `SNAT`/`DNAT` (only
/// for `--ctstate`) are virtual states the IR has no coordinate for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StateWord {
    State(CtState),
    Nat,
}

pub(crate) fn parse_states(s: &str) -> Result<Vec<StateWord>, String> {
    s.split(',')
        .map(|w| match w.to_ascii_uppercase().as_str() {
            "NEW" => Ok(StateWord::State(CtState::New)),
            "ESTABLISHED" => Ok(StateWord::State(CtState::Established)),
            "RELATED" => Ok(StateWord::State(CtState::Related)),
            "INVALID" => Ok(StateWord::State(CtState::Invalid)),
            "UNTRACKED" => Ok(StateWord::State(CtState::Untracked)),
            "SNAT" | "DNAT" => Ok(StateWord::Nat),
            _ => Err(format!("unknown conntrack state `{w}`")),
        })
        .collect()
}

/// `--limit 3/min`: a number and a unit that is a prefix of `second`,
/// `minute`, `hour` or `day` (as iptables parses it); no unit = per second.
pub(crate) fn parse_rate(s: &str) -> Result<(u32, u32), String> {
    let (n, unit) = match s.split_once('/') {
        Some((n, u)) => (n, Some(u)),
        None => (s, None),
    };
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{s}` is not a rate like `3/minute`"));
    }
    let n: u32 = n.parse().map_err(|_| format!("rate `{s}` is too large"))?;
    if n == 0 {
        return Err(format!("rate `{s}` is zero"));
    }
    let per = match unit {
        None => 1,
        Some(u) => {
            let u = u.to_ascii_lowercase();
            let is = |full: &str| !u.is_empty() && full.starts_with(u.as_str());
            if is("second") {
                1
            } else if is("minute") {
                60
            } else if is("hour") {
                3600
            } else if is("day") {
                86400
            } else {
                return Err(format!("unknown rate unit `/{u}`"));
            }
        }
    };
    Ok((n, per))
}

pub(crate) fn default_limit() -> RateLimit {
    RateLimit {
        rate: 3,
        per_seconds: 3600,
        burst: None,
    }
}

pub(crate) fn parse_u32(s: &str, what: &str) -> Result<u32, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{s}` is not a {what}"));
    }
    s.parse().map_err(|_| format!("{what} `{s}` is too large"))
}

pub(crate) fn parse_log_level(s: &str) -> Result<LogLevel, String> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "0" | "emerg" | "panic" => LogLevel::Emerg,
        "1" | "alert" => LogLevel::Alert,
        "2" | "crit" => LogLevel::Crit,
        "3" | "err" | "error" => LogLevel::Err,
        "4" | "warn" | "warning" => LogLevel::Warning,
        "5" | "notice" => LogLevel::Notice,
        "6" | "info" => LogLevel::Info,
        "7" | "debug" => LogLevel::Debug,
        _ => return Err(format!("unknown log level `{s}`")),
    })
}

/// `--reject-with` for the dump's family. `Err` when the name is not one
/// of that family's reasons.
pub(crate) fn parse_reject_with(s: &str, family: Family) -> Result<RejectWith, String> {
    use RejectWith::*;
    let r = match (family, s) {
        (_, "tcp-reset" | "tcp-rst") => TcpReset,
        (Family::V4, "icmp-net-unreachable" | "net-unreach") => IcmpNetUnreachable,
        (Family::V4, "icmp-host-unreachable" | "host-unreach") => IcmpHostUnreachable,
        (Family::V4, "icmp-port-unreachable" | "port-unreach") => IcmpPortUnreachable,
        (Family::V4, "icmp-proto-unreachable" | "proto-unreach") => IcmpProtoUnreachable,
        (Family::V4, "icmp-net-prohibited" | "net-prohib") => IcmpNetProhibited,
        (Family::V4, "icmp-host-prohibited" | "host-prohib") => IcmpHostProhibited,
        (Family::V4, "icmp-admin-prohibited" | "admin-prohib") => IcmpAdminProhibited,
        (Family::V6, "icmp6-no-route" | "no-route") => Icmp6NoRoute,
        (Family::V6, "icmp6-adm-prohibited" | "adm-prohibited") => Icmp6AdmProhibited,
        (Family::V6, "icmp6-addr-unreachable" | "addr-unreach") => Icmp6AddrUnreachable,
        (Family::V6, "icmp6-port-unreachable" | "port-unreach") => Icmp6PortUnreachable,
        _ => {
            return Err(format!(
                "`{s}` is not a reject reason of {}",
                match family {
                    Family::V4 => "iptables (IPv4)",
                    Family::V6 => "ip6tables (IPv6)",
                }
            ))
        }
    };
    Ok(r)
}

/// The family a `--reject-with` name belongs to, when only one has it.
pub(crate) fn reject_with_family(s: &str) -> Option<Family> {
    if s.starts_with("icmp6-") {
        Some(Family::V6)
    } else if s.starts_with("icmp-") {
        Some(Family::V4)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(s: &str) -> (u128, u128) {
        match parse_addr_arg(s).expect("parses") {
            AddrArg::Ranges(r) => (r[0].lo, r[0].hi),
            AddrArg::NonContiguousMask => panic!("contiguous"),
        }
    }

    #[test]
    fn addresses_and_masks() {
        assert_eq!(range("10.0.0.1"), (0x0a00_0001, 0x0a00_0001));
        assert_eq!(range("10.1.2.3/8"), (0x0a00_0000, 0x0aff_ffff));
        assert_eq!(range("10.0.0.0/255.255.0.0"), (0x0a00_0000, 0x0a00_ffff));
        assert_eq!(range("0.0.0.0/0"), (0, u32::MAX as u128));
        assert_eq!(range("::/0"), (0, u128::MAX));
        assert_eq!(range("fe80::/10").0, 0xfe80u128 << 112);
        assert_eq!(
            parse_addr_arg("10.0.1.0/255.0.255.0"),
            Ok(AddrArg::NonContiguousMask)
        );
        assert!(parse_addr_arg("10.0.0.0/33").is_err());
        assert!(parse_addr_arg("example.com").is_err());
    }

    #[test]
    fn ports() {
        assert_eq!(parse_port_range("22"), Ok((22, 22)));
        assert_eq!(parse_port_range(":1023"), Ok((0, 1023)));
        assert_eq!(parse_port_range("1024:"), Ok((1024, 65535)));
        assert!(parse_port_range("9:1").is_err());
        assert!(parse_port_range("70000").is_err());
        assert!(parse_port_range("ssh").is_err());
    }

    #[test]
    fn protocols() {
        assert_eq!(parse_proto("TCP"), Ok(Some(6)));
        assert_eq!(parse_proto("all"), Ok(None));
        assert_eq!(parse_proto("0"), Ok(None));
        assert_eq!(parse_proto("47"), Ok(Some(47)));
        assert_eq!(parse_proto("ipv6-icmp"), Ok(Some(58)));
        assert!(parse_proto("256").is_err());
    }

    #[test]
    fn icmp() {
        let s = |t, v6| parse_icmp_type(t, v6).expect("parses");
        assert_eq!(s("any", false), None);
        assert_eq!(s("echo-request", false).map(|i| i.ty), Some(8));
        assert_eq!(
            s("3/4", false),
            Some(IcmpSpec {
                ty: 3,
                code: Some((4, 4))
            })
        );
        assert_eq!(
            s("port-unreachable", true),
            Some(IcmpSpec {
                ty: 1,
                code: Some((4, 4))
            })
        );
        assert!(parse_icmp_type("nope", false).is_err());
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("3/min"), Ok((3, 60)));
        assert_eq!(parse_rate("1/s"), Ok((1, 1)));
        assert_eq!(parse_rate("10/hour"), Ok((10, 3600)));
        assert_eq!(parse_rate("5"), Ok((5, 1)));
        assert!(parse_rate("5/fortnight").is_err());
    }
}
