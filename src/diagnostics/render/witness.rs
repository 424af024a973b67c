//! A witness packet as an admin reads it.
//!
//! `packet_text` is the one place the renderers turn a [`Packet`] into
//! text; when `Display for ir::Packet` lands (src/space) it should call that
//! instead.

use crate::ir::{dim, Family, Owner, Packet};
use std::net::IpAddr;

/// `output udp 192.0.2.10:40000 → 192.0.2.53:53 state new uid 33 gid 33 oif eth0`
pub fn packet_text(p: &Packet) -> String {
    let mut out = format!("{} {}", p.hook.name(), proto_name(p.proto, p.family));
    if let Some(ty) = p.icmp_type {
        out.push(' ');
        out.push_str(&icmp_text(p.family, ty, p.icmp_code));
    }
    out.push_str(&format!(
        " {} → {} state {}",
        endpoint(p.src, p.sport),
        endpoint(p.dst, p.dport),
        p.state.name()
    ));
    match p.owner {
        Owner::Socket { uid, gid } => out.push_str(&format!(" uid {uid} gid {gid}")),
        Owner::Kernel => out.push_str(" kernel-socket"),
        // Input and forward packets never have a socket: only say so where
        // a socket was possible.
        Owner::NoSocket if p.hook == crate::ir::Hook::Output => out.push_str(" no-socket"),
        Owner::NoSocket => {}
    }
    if !p.iif.is_empty() {
        out.push_str(&format!(" iif {}", p.iif));
    }
    if !p.oif.is_empty() {
        out.push_str(&format!(" oif {}", p.oif));
    }
    out
}

fn endpoint(addr: IpAddr, port: Option<u16>) -> String {
    match (addr, port) {
        (IpAddr::V6(a), Some(port)) => format!("[{a}]:{port}"),
        (a, Some(port)) => format!("{a}:{port}"),
        (a, None) => a.to_string(),
    }
}

/// The protocol's name, or `proto N`.
pub(crate) fn proto_name(proto: u8, family: Family) -> String {
    match (proto, family) {
        (dim::PROTO_TCP, _) => "tcp".into(),
        (dim::PROTO_UDP, _) => "udp".into(),
        (dim::PROTO_SCTP, _) => "sctp".into(),
        (dim::PROTO_ICMP, Family::V4) => "icmp".into(),
        (dim::PROTO_ICMPV6, Family::V6) => "icmpv6".into(),
        (n, _) => format!("proto {n}"),
    }
}

const ICMP_NAMES: &[(u8, &str)] = &[
    (0, "echo-reply"),
    (3, "destination-unreachable"),
    (5, "redirect"),
    (8, "echo-request"),
    (9, "router-advertisement"),
    (10, "router-solicitation"),
    (11, "time-exceeded"),
    (12, "parameter-problem"),
    (13, "timestamp-request"),
    (14, "timestamp-reply"),
];

const ICMPV6_NAMES: &[(u8, &str)] = &[
    (1, "destination-unreachable"),
    (2, "packet-too-big"),
    (3, "time-exceeded"),
    (4, "parameter-problem"),
    (128, "echo-request"),
    (129, "echo-reply"),
    (130, "mld-listener-query"),
    (131, "mld-listener-report"),
    (132, "mld-listener-done"),
    (133, "nd-router-solicit"),
    (134, "nd-router-advert"),
    (135, "nd-neighbor-solicit"),
    (136, "nd-neighbor-advert"),
    (137, "nd-redirect"),
    (143, "mld2-listener-report"),
];

/// `echo-request`, or `type/code` when the code matters or the type has
/// no name.
fn icmp_text(family: Family, ty: u8, code: Option<u8>) -> String {
    let names = match family {
        Family::V4 => ICMP_NAMES,
        Family::V6 => ICMPV6_NAMES,
    };
    let name = names.iter().find(|(t, _)| *t == ty).map(|(_, n)| *n);
    match (name, code) {
        (Some(name), None | Some(0)) => name.to_string(),
        (_, Some(code)) => format!("{ty}/{code}"),
        (None, None) => ty.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{CtState, Hook};

    fn packet() -> Packet {
        Packet {
            hook: Hook::Output,
            family: Family::V4,
            iif: String::new(),
            oif: "eth0".into(),
            src: "192.0.2.10".parse().unwrap(),
            dst: "192.0.2.53".parse().unwrap(),
            proto: dim::PROTO_UDP,
            sport: Some(40000),
            dport: Some(53),
            icmp_type: None,
            icmp_code: None,
            state: CtState::New,
            owner: Owner::Socket { uid: 33, gid: 33 },
        }
    }

    #[test]
    fn udp_output_packet() {
        assert_eq!(
            packet_text(&packet()),
            "output udp 192.0.2.10:40000 → 192.0.2.53:53 state new uid 33 gid 33 oif eth0"
        );
    }

    #[test]
    fn icmpv6_input_packet() {
        let p = Packet {
            hook: Hook::Input,
            family: Family::V6,
            iif: "eth0".into(),
            oif: String::new(),
            src: "2001:db8::1".parse().unwrap(),
            dst: "2001:db8::2".parse().unwrap(),
            proto: dim::PROTO_ICMPV6,
            sport: None,
            dport: None,
            icmp_type: Some(135),
            icmp_code: Some(0),
            state: CtState::Untracked,
            owner: Owner::NoSocket,
        };
        assert_eq!(
            packet_text(&p),
            "input icmpv6 nd-neighbor-solicit 2001:db8::1 → 2001:db8::2 state untracked iif eth0"
        );
        let p = Packet {
            icmp_type: Some(1),
            icmp_code: Some(4),
            proto: 1,
            family: Family::V4,
            src: "192.0.2.1".parse().unwrap(),
            dst: "192.0.2.2".parse().unwrap(),
            ..p
        };
        assert_eq!(
            packet_text(&p),
            "input icmp 1/4 192.0.2.1 → 192.0.2.2 state untracked iif eth0"
        );
    }

    #[test]
    fn v6_ports_are_bracketed_and_kernel_sockets_named() {
        let p = Packet {
            family: Family::V6,
            src: "2001:db8::1".parse().unwrap(),
            dst: "2001:db8::53".parse().unwrap(),
            proto: dim::PROTO_TCP,
            owner: Owner::Kernel,
            oif: String::new(),
            ..packet()
        };
        assert_eq!(
            packet_text(&p),
            "output tcp [2001:db8::1]:40000 → [2001:db8::53]:53 state new kernel-socket"
        );
    }
}
