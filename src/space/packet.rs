//! Concrete packets: coordinates, how an admin reads them, and the
//! `hwc trace --packet` language.
//!
//! Display: `output udp uid 33 gid 33 192.0.2.10:40000 → 192.0.2.53:53 oif eth0 (new)`.
//! Kernel and socketless output packets say `kernel` / `no socket` where
//! the uid would be; input and forward packets never have a socket, so
//! nothing is shown for them. ICMP packets show their type by name
//! (`icmp echo-request`) and a non-zero code (`icmp destination-unreachable/4`).
//!
//! The packet language ([`std::str::FromStr`]) is a list of words in any
//! order:
//!
//! | word | meaning | default when omitted |
//! |---|---|---|
//! | `input` `output` `forward` | the hook | required |
//! | `ip` `ip6` | family | implied by the addresses or the ICMP protocol, else `ip` |
//! | `tcp` `udp` `sctp` `icmp` `icmpv6` `gre` ... `proto N` | protocol | `tcp`; `icmp`/`icmpv6` when a `type` is given |
//! | `from ADDR` / `to ADDR` | addresses | local `192.0.2.1` / `2001:db8::1`, remote `203.0.113.1` / `2001:db8:1::1` |
//! | `sport N` | source port | 40000 |
//! | `port N`, `dport N` | destination port | 80 |
//! | `type NAME\|N[/CODE]` | ICMP type and code | `echo-request`, code 0 |
//! | `iif NAME`, `oif NAME` | interfaces | input: `iif eth0`; output: `oif eth0`; forward: `eth0` → `eth1` |
//! | `new` `established` `related` `invalid` `untracked` | conntrack state | `new` |
//! | `uid N`, `gid N` | socket owner (output only) | the other one's value; both 0 (root) when neither is given |
//! | `kernel`, `nosocket` | a kernel socket / no socket (output only) | |
//!
//! For input packets the remote address is the source, for output packets
//! the destination. Inconsistent words are errors (an `iif` on an output
//! packet, ports on ICMP, an IPv6 source with an IPv4 destination, ...).

use super::boxes::D;
use super::convert::{has_ports, icmp_proto};
use crate::ir::dim::{self, Dim};
use crate::ir::{CtState, Family, Hook, Owner, Packet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Protocol names hwc reads and prints.
pub const PROTOCOLS: &[(&str, u8)] = &[
    ("icmp", 1),
    ("igmp", 2),
    ("ipip", 4),
    ("tcp", 6),
    ("egp", 8),
    ("udp", 17),
    ("dccp", 33),
    ("ipv6", 41),
    ("gre", 47),
    ("esp", 50),
    ("ah", 51),
    ("icmpv6", 58),
    ("ospf", 89),
    ("pim", 103),
    ("vrrp", 112),
    ("l2tp", 115),
    ("sctp", 132),
    ("udplite", 136),
];

/// ICMP (IPv4) type names.
pub const ICMP_TYPES: &[(&str, u8)] = &[
    ("echo-reply", 0),
    ("destination-unreachable", 3),
    ("source-quench", 4),
    ("redirect", 5),
    ("echo-request", 8),
    ("router-advertisement", 9),
    ("router-solicitation", 10),
    ("time-exceeded", 11),
    ("parameter-problem", 12),
    ("timestamp-request", 13),
    ("timestamp-reply", 14),
    ("info-request", 15),
    ("info-reply", 16),
    ("address-mask-request", 17),
    ("address-mask-reply", 18),
];

/// ICMPv6 type names (nft spelling first; iptables spellings accepted).
pub const ICMPV6_TYPES: &[(&str, u8)] = &[
    ("destination-unreachable", 1),
    ("packet-too-big", 2),
    ("time-exceeded", 3),
    ("parameter-problem", 4),
    ("echo-request", 128),
    ("echo-reply", 129),
    ("mld-listener-query", 130),
    ("mld-listener-report", 131),
    ("mld-listener-done", 132),
    ("mld-listener-reduction", 132),
    ("nd-router-solicit", 133),
    ("router-solicitation", 133),
    ("nd-router-advert", 134),
    ("router-advertisement", 134),
    ("nd-neighbor-solicit", 135),
    ("neighbour-solicitation", 135),
    ("neighbor-solicitation", 135),
    ("nd-neighbor-advert", 136),
    ("neighbour-advertisement", 136),
    ("neighbor-advertisement", 136),
    ("nd-redirect", 137),
    ("redirect", 137),
    ("mld2-listener-report", 143),
];

pub fn proto_name(p: u8) -> Option<&'static str> {
    PROTOCOLS.iter().find(|x| x.1 == p).map(|x| x.0)
}

pub fn proto_by_name(s: &str) -> Option<u8> {
    let s = s.to_ascii_lowercase();
    let s = match s.as_str() {
        "ipv6-icmp" | "icmp6" => "icmpv6",
        other => other,
    };
    PROTOCOLS.iter().find(|x| x.0 == s).map(|x| x.1)
}

fn icmp_table(f: Family) -> &'static [(&'static str, u8)] {
    match f {
        Family::V4 => ICMP_TYPES,
        Family::V6 => ICMPV6_TYPES,
    }
}

/// The name of an ICMP (`V4`) or ICMPv6 (`V6`) type.
pub fn icmp_type_name(f: Family, t: u8) -> Option<&'static str> {
    icmp_table(f).iter().find(|x| x.1 == t).map(|x| x.0)
}

pub fn icmp_type_by_name(f: Family, s: &str) -> Option<u8> {
    icmp_table(f).iter().find(|x| x.0 == s).map(|x| x.1)
}

fn addr_u128(a: &IpAddr) -> u128 {
    match a {
        IpAddr::V4(v) => u32::from(*v) as u128,
        IpAddr::V6(v) => u128::from(*v),
    }
}

/// A packet's coordinates (see [`crate::ir::dim`]).
pub fn coords(p: &Packet) -> [u128; D] {
    let mut c = [0u128; D];
    let mut set = |d: Dim, v: u128| c[d as usize] = v;
    set(
        Dim::Family,
        match p.family {
            Family::V4 => 0,
            Family::V6 => 1,
        },
    );
    set(Dim::Iif, dim::iface_code(p.iif.as_bytes()));
    set(Dim::Oif, dim::iface_code(p.oif.as_bytes()));
    set(Dim::Src, addr_u128(&p.src));
    set(Dim::Dst, addr_u128(&p.dst));
    set(Dim::Proto, p.proto as u128);
    set(Dim::Sport, p.sport.map_or(dim::NONE_PORT, |x| x as u128));
    set(Dim::Dport, p.dport.map_or(dim::NONE_PORT, |x| x as u128));
    set(
        Dim::IcmpType,
        p.icmp_type.map_or(dim::NONE_ICMP, |x| x as u128),
    );
    set(
        Dim::IcmpCode,
        p.icmp_code.map_or(dim::NONE_ICMP, |x| x as u128),
    );
    set(Dim::State, p.state as u128);
    let (u, g) = match p.owner {
        Owner::NoSocket => (dim::NO_SOCKET, dim::NO_SOCKET),
        Owner::Kernel => (dim::KERNEL_SOCKET, dim::KERNEL_SOCKET),
        Owner::Socket { uid, gid } => (uid as u128, gid as u128),
    };
    set(Dim::Uid, u);
    set(Dim::Gid, g);
    c
}

/// The packet at `hook` with these coordinates (which must be valid for
/// the hook, see [`super::convert::is_valid`]).
pub fn from_coords(c: &[u128; D], hook: Hook) -> Packet {
    let g = |d: Dim| c[d as usize];
    let family = if g(Dim::Family) == 0 {
        Family::V4
    } else {
        Family::V6
    };
    let addr = |v: u128| match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::from(v as u32)),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(v)),
    };
    let opt16 = |v: u128| (v < dim::NONE_PORT).then_some(v as u16);
    let opt8 = |v: u128| (v < dim::NONE_ICMP).then_some(v as u8);
    let owner = match (g(Dim::Uid), g(Dim::Gid)) {
        (dim::NO_SOCKET, _) => Owner::NoSocket,
        (dim::KERNEL_SOCKET, _) => Owner::Kernel,
        (u, gid) => Owner::Socket {
            uid: u as u32,
            gid: gid.min(u32::MAX as u128) as u32,
        },
    };
    Packet {
        hook,
        family,
        iif: dim::iface_name(g(Dim::Iif)),
        oif: dim::iface_name(g(Dim::Oif)),
        src: addr(g(Dim::Src)),
        dst: addr(g(Dim::Dst)),
        proto: g(Dim::Proto) as u8,
        sport: opt16(g(Dim::Sport)),
        dport: opt16(g(Dim::Dport)),
        icmp_type: opt8(g(Dim::IcmpType)),
        icmp_code: opt8(g(Dim::IcmpCode)),
        state: CtState::from_index(g(Dim::State)).unwrap_or(CtState::New),
        owner,
    }
}

/// Shows a packet the way an admin reads it, e.g.
/// `output udp uid 33 gid 33 192.0.2.10:40000 → 192.0.2.53:53 oif eth0 (new)`.
impl fmt::Display for Packet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self;
        write!(f, "{}", p.hook.name())?;
        match (proto_name(p.proto), p.icmp_type) {
            (_, Some(t)) if p.proto == icmp_proto(p.family) => {
                write!(f, " {}", proto_name(p.proto).unwrap_or("icmp"))?;
                match icmp_type_name(p.family, t) {
                    Some(n) => write!(f, " {n}")?,
                    None => write!(f, " type {t}")?,
                }
                if let Some(c) = p.icmp_code.filter(|&c| c != 0) {
                    write!(f, "/{c}")?;
                }
            }
            (Some(n), _) => write!(f, " {n}")?,
            (None, _) => write!(f, " proto {}", p.proto)?,
        }
        match p.owner {
            Owner::Socket { uid, gid } => write!(f, " uid {uid} gid {gid}")?,
            Owner::Kernel => write!(f, " kernel")?,
            Owner::NoSocket if p.hook == Hook::Output => write!(f, " no socket")?,
            Owner::NoSocket => {}
        }
        let end = |a: &IpAddr, port: Option<u16>| match (a, port) {
            (IpAddr::V6(v), Some(port)) => format!("[{v}]:{port}"),
            (a, Some(port)) => format!("{a}:{port}"),
            (a, None) => a.to_string(),
        };
        write!(f, " {} → {}", end(&p.src, p.sport), end(&p.dst, p.dport))?;
        if !p.iif.is_empty() {
            write!(f, " iif {}", show_iface(&p.iif))?;
        }
        if !p.oif.is_empty() {
            write!(f, " oif {}", show_iface(&p.oif))?;
        }
        write!(f, " ({})", p.state.name())
    }
}

fn show_iface(s: &str) -> String {
    if s.bytes().all(|b| b.is_ascii_graphic()) {
        s.to_string()
    } else {
        format!("{s:?}")
    }
}

/// `hwc trace --packet` could not read a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketError {
    /// One line, lowercase, user input in backticks.
    pub message: String,
    pub help: Option<String>,
}

impl fmt::Display for PacketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(h) = &self.help {
            write!(f, " ({h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for PacketError {}

fn err(message: String, help: &str) -> PacketError {
    PacketError {
        message,
        help: (!help.is_empty()).then(|| help.to_string()),
    }
}

/// Parses the `hwc trace --packet` language (see the module docs).
pub fn parse_packet(s: &str) -> Result<Packet, PacketError> {
    let words: Vec<&str> = s.split_whitespace().collect();
    let mut hook = None;
    let mut family: Option<(Family, &'static str)> = None;
    let mut proto: Option<u8> = None;
    let (mut src, mut dst): (Option<IpAddr>, Option<IpAddr>) = (None, None);
    let (mut sport, mut dport): (Option<u16>, Option<u16>) = (None, None);
    let mut icmp: Option<(String, Option<u8>)> = None;
    let (mut iif, mut oif): (Option<String>, Option<String>) = (None, None);
    let mut state = None;
    let (mut uid, mut gid): (Option<u32>, Option<u32>) = (None, None);
    let mut special: Option<Owner> = None;
    let mut i = 0;
    let arg = |i: usize, w: &str| -> Result<&str, PacketError> {
        words.get(i + 1).copied().ok_or_else(|| {
            err(
                format!("`{w}` needs a value"),
                &format!("write e.g. `{}`", example_for(w)),
            )
        })
    };
    let set_once = |what: &str, seen: bool| -> Result<(), PacketError> {
        if seen {
            Err(err(format!("the {what} is given twice"), ""))
        } else {
            Ok(())
        }
    };
    while i < words.len() {
        let w = words[i];
        let lw = w.to_ascii_lowercase();
        match lw.as_str() {
            "input" | "output" | "forward" => {
                set_once("hook", hook.is_some())?;
                hook = Some(match lw.as_str() {
                    "input" => Hook::Input,
                    "output" => Hook::Output,
                    _ => Hook::Forward,
                });
            }
            "ip" | "ip4" | "ipv4" => {
                set_once("family", family.is_some())?;
                family = Some((Family::V4, "`ip`"));
            }
            "ip6" | "ipv6" => {
                set_once("family", family.is_some())?;
                family = Some((Family::V6, "`ip6`"));
            }
            "proto" => {
                let v = arg(i, w)?;
                set_once("protocol", proto.is_some())?;
                proto = Some(match proto_by_name(v) {
                    Some(p) => p,
                    None => v.parse::<u8>().map_err(|_| {
                        err(
                            format!("unknown protocol `{v}`"),
                            "use a name like `tcp`, `udp`, `gre` or a number 0-255",
                        )
                    })?,
                });
                i += 1;
            }
            "from" | "to" => {
                let v = arg(i, w)?;
                let a: IpAddr = v.parse().map_err(|_| {
                    err(
                        format!("`{v}` is not an IP address"),
                        "write a single address such as `192.0.2.1` or `2001:db8::1`",
                    )
                })?;
                let slot = if lw == "from" { &mut src } else { &mut dst };
                set_once(
                    if lw == "from" {
                        "source address"
                    } else {
                        "destination address"
                    },
                    slot.is_some(),
                )?;
                *slot = Some(a);
                i += 1;
            }
            "sport" | "port" | "dport" => {
                let v = arg(i, w)?;
                let p: u16 = v.parse().map_err(|_| {
                    err(format!("`{v}` is not a port"), "a port is a number 0-65535")
                })?;
                let slot = if lw == "sport" {
                    &mut sport
                } else {
                    &mut dport
                };
                set_once(
                    if lw == "sport" {
                        "source port"
                    } else {
                        "destination port"
                    },
                    slot.is_some(),
                )?;
                *slot = Some(p);
                i += 1;
            }
            "type" => {
                let v = arg(i, w)?;
                set_once("ICMP type", icmp.is_some())?;
                let (t, c) = match v.split_once('/') {
                    Some((t, c)) => (t, Some(c)),
                    None => (v, None),
                };
                let code = match c {
                    None => None,
                    Some(c) => Some(c.parse::<u8>().map_err(|_| {
                        err(
                            format!("`{c}` is not an ICMP code"),
                            "a code is a number 0-255",
                        )
                    })?),
                };
                icmp = Some((t.to_ascii_lowercase(), code));
                i += 1;
            }
            "iif" | "oif" | "iface" | "oface" => {
                let v = arg(i, w)?;
                if v.is_empty() || v.len() > dim::IFNAME_MAX {
                    return Err(err(
                        format!("`{v}` is not an interface name"),
                        "interface names have 1 to 15 characters",
                    ));
                }
                let slot = if lw.starts_with('i') {
                    &mut iif
                } else {
                    &mut oif
                };
                set_once(
                    if lw.starts_with('i') {
                        "input interface"
                    } else {
                        "output interface"
                    },
                    slot.is_some(),
                )?;
                *slot = Some(v.to_string());
                i += 1;
            }
            "uid" | "gid" => {
                let v = arg(i, w)?;
                let n: u32 = v.parse().map_err(|_| {
                    err(
                        format!("`{v}` is not a numeric {lw}"),
                        "the packet language takes numeric ids, e.g. `uid 33`",
                    )
                })?;
                let slot = if lw == "uid" { &mut uid } else { &mut gid };
                set_once(&lw, slot.is_some())?;
                *slot = Some(n);
                i += 1;
            }
            "kernel" | "nosocket" | "no-socket" => {
                set_once("socket owner", special.is_some())?;
                special = Some(if lw == "kernel" {
                    Owner::Kernel
                } else {
                    Owner::NoSocket
                });
            }
            other => {
                if let Some(s) = CtState::ALL.iter().find(|s| s.name() == other) {
                    set_once("state", state.is_some())?;
                    state = Some(*s);
                } else if let Some(p) = proto_by_name(other) {
                    set_once("protocol", proto.is_some())?;
                    proto = Some(p);
                } else {
                    return Err(err(
                        format!("unknown word `{w}` in packet"),
                        "expected a hook (`input`, `output`, `forward`), a protocol, `from`, `to`, `sport`, `port`, `type`, `iif`, `oif`, a state, `uid`, `gid`, `kernel` or `nosocket`",
                    ));
                }
            }
        }
        i += 1;
    }
    let hook = hook.ok_or_else(|| {
        err(
            "the packet has no hook".to_string(),
            "start it with `input`, `output` or `forward`",
        )
    })?;
    // The family: from the addresses, the keyword or the protocol.
    let mut fam: Option<(Family, String)> = family.map(|(f, w)| (f, w.to_string()));
    for (a, what) in [(&src, "from"), (&dst, "to")] {
        if let Some(a) = a {
            let f = if a.is_ipv4() { Family::V4 } else { Family::V6 };
            match &fam {
                Some((g, w)) if *g != f => {
                    return Err(err(
                        format!("`{what} {a}` does not match {w}"),
                        "a packet is either IPv4 or IPv6",
                    ))
                }
                Some(_) => {}
                None => fam = Some((f, format!("`{what} {a}`"))),
            }
        }
    }
    let proto_fam = match proto {
        Some(dim::PROTO_ICMP) => Some(Family::V4),
        Some(dim::PROTO_ICMPV6) => Some(Family::V6),
        _ => None,
    };
    let family = match (&fam, proto_fam) {
        (Some((f, _)), _) => *f,
        (None, Some(f)) => f,
        (None, None) => Family::V4,
    };
    let proto = match (proto, &icmp) {
        (Some(p), _) => p,
        (None, Some(_)) => icmp_proto(family),
        (None, None) => dim::PROTO_TCP,
    };
    let is_icmp = proto == icmp_proto(family);
    if (proto == dim::PROTO_ICMP || proto == dim::PROTO_ICMPV6) && !is_icmp && icmp.is_some() {
        return Err(err(
            format!(
                "`{}` does not fit an {} packet",
                proto_name(proto).unwrap_or("icmp"),
                if family == Family::V4 { "IPv4" } else { "IPv6" }
            ),
            "use `icmp` with IPv4 addresses and `icmpv6` with IPv6 addresses",
        ));
    }
    let ports = has_ports(proto);
    if !ports && (sport.is_some() || dport.is_some()) {
        return Err(err(
            format!(
                "`{}` packets have no ports",
                proto_name(proto).unwrap_or("this protocol")
            ),
            "ports exist only for tcp, udp and sctp",
        ));
    }
    let (icmp_type, icmp_code) = if is_icmp {
        let (t, c) = match &icmp {
            None => (None, None),
            Some((t, c)) => (Some(t.as_str()), *c),
        };
        let ty = match t {
            None => icmp_type_by_name(family, "echo-request").unwrap_or(8),
            Some(t) => match icmp_type_by_name(family, t) {
                Some(x) => x,
                None => t.parse::<u8>().map_err(|_| {
                    err(
                        format!(
                            "unknown {} type `{t}`",
                            if family == Family::V4 {
                                "ICMP"
                            } else {
                                "ICMPv6"
                            }
                        ),
                        "use a name such as `echo-request` or a number 0-255",
                    )
                })?,
            },
        };
        (Some(ty), Some(c.unwrap_or(0)))
    } else {
        if icmp.is_some() {
            return Err(err(
                "an ICMP type needs an `icmp` or `icmpv6` packet".to_string(),
                "drop the protocol word or write `icmp`/`icmpv6`",
            ));
        }
        (None, None)
    };
    let (local, remote): (IpAddr, IpAddr) = match family {
        Family::V4 => (
            Ipv4Addr::new(192, 0, 2, 1).into(),
            Ipv4Addr::new(203, 0, 113, 1).into(),
        ),
        Family::V6 => (
            "2001:db8::1"
                .parse::<Ipv6Addr>()
                .map(IpAddr::V6)
                .unwrap_or(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            "2001:db8:1::1"
                .parse::<Ipv6Addr>()
                .map(IpAddr::V6)
                .unwrap_or(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        ),
    };
    let (def_src, def_dst) = match hook {
        Hook::Output => (local, remote),
        Hook::Input => (remote, local),
        Hook::Forward => (remote, remote),
    };
    let (def_iif, def_oif) = match hook {
        Hook::Input => ("eth0", ""),
        Hook::Output => ("", "eth0"),
        Hook::Forward => ("eth0", "eth1"),
    };
    if hook == Hook::Output && iif.is_some() {
        return Err(err(
            "output packets have no input interface".to_string(),
            "use `oif` for the interface an output packet leaves by",
        ));
    }
    if hook == Hook::Input && oif.is_some() {
        return Err(err(
            "input packets have no output interface".to_string(),
            "use `iif` for the interface an input packet arrives on",
        ));
    }
    let owner = match hook {
        Hook::Input | Hook::Forward => {
            if uid.is_some() || gid.is_some() || special == Some(Owner::Kernel) {
                return Err(err(
                    format!("{} packets have no socket owner", hook.name()),
                    "only output packets have a uid, a gid or a kernel socket",
                ));
            }
            Owner::NoSocket
        }
        Hook::Output => match (special, uid, gid) {
            (Some(o), None, None) => o,
            (Some(_), _, _) => {
                return Err(err(
                    "a packet with `kernel` or `nosocket` has no uid or gid".to_string(),
                    "drop either the owner word or the ids",
                ))
            }
            (None, u, g) => {
                let uid = u.or(g).unwrap_or(0);
                let gid = g.or(u).unwrap_or(0);
                if uid as u128 >= dim::KERNEL_SOCKET || gid == u32::MAX {
                    return Err(err("uid and gid must be below 4294967295".to_string(), ""));
                }
                Owner::Socket { uid, gid }
            }
        },
    };
    Ok(Packet {
        hook,
        family,
        iif: iif.unwrap_or_else(|| def_iif.to_string()),
        oif: oif.unwrap_or_else(|| def_oif.to_string()),
        src: src.unwrap_or(def_src),
        dst: dst.unwrap_or(def_dst),
        proto,
        sport: ports.then_some(sport.unwrap_or(40000)),
        dport: ports.then_some(dport.unwrap_or(80)),
        icmp_type,
        icmp_code,
        state: state.unwrap_or(CtState::New),
        owner,
    })
}

impl std::str::FromStr for Packet {
    type Err = PacketError;

    fn from_str(s: &str) -> Result<Packet, PacketError> {
        parse_packet(s)
    }
}

fn example_for(w: &str) -> &'static str {
    match w {
        "from" => "from 192.0.2.1",
        "to" => "to 192.0.2.53",
        "sport" => "sport 40000",
        "port" | "dport" => "port 53",
        "type" => "type echo-request",
        "iif" | "iface" => "iif eth0",
        "oif" | "oface" => "oif eth0",
        "uid" => "uid 33",
        "gid" => "gid 33",
        _ => "proto gre",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_shows_the_brief_example() {
        let p = parse_packet("output udp uid 33 to 192.0.2.53 port 53 new").unwrap();
        assert_eq!(p.owner, Owner::Socket { uid: 33, gid: 33 });
        assert_eq!(p.dport, Some(53));
        assert_eq!(
            p.to_string(),
            "output udp uid 33 gid 33 192.0.2.1:40000 → 192.0.2.53:53 oif eth0 (new)"
        );
    }

    #[test]
    fn display_round_trips_through_coords() {
        let p =
            parse_packet("input icmpv6 type nd-neighbor-solicit from fe80::1 iif eth1 untracked")
                .unwrap();
        assert_eq!(p.family, Family::V6);
        assert_eq!(p.icmp_type, Some(135));
        assert_eq!(from_coords(&coords(&p), Hook::Input), p);
        assert_eq!(
            p.to_string(),
            "input icmpv6 nd-neighbor-solicit fe80::1 → 2001:db8::1 iif eth1 (untracked)"
        );
        let k = parse_packet("output kernel tcp to 2001:db8::2 port 22 established").unwrap();
        assert_eq!(
            k.to_string(),
            "output tcp kernel [2001:db8::1]:40000 → [2001:db8::2]:22 oif eth0 (established)"
        );
    }

    #[test]
    fn errors_are_clear() {
        let e = |s: &str| parse_packet(s).unwrap_err().message;
        assert_eq!(e("udp to 192.0.2.1"), "the packet has no hook");
        assert_eq!(e("output icmp port 80"), "`icmp` packets have no ports");
        assert_eq!(e("input uid 0"), "input packets have no socket owner");
        assert_eq!(
            e("output tcp iif eth0"),
            "output packets have no input interface"
        );
        assert_eq!(
            e("input from 192.0.2.1 to ::1"),
            "`to ::1` does not match `from 192.0.2.1`"
        );
        assert_eq!(e("input frob"), "unknown word `frob` in packet");
        assert_eq!(e("input to"), "`to` needs a value");
        assert_eq!(
            e("input icmpv6 from 192.0.2.1 type echo-request"),
            "`icmpv6` does not fit an IPv4 packet"
        );
    }
}
