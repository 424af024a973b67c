//! Sets of packets the lints ask about ("regions"), written as boxes of
//! concrete coordinates, and the cuts the analysis space needs so that
//! they convert exactly.
//!
//! A region is a union of [`CBox`]es; [`Region::on`] turns it into atom
//! boxes of one analysis. Every interval a region uses is added to the
//! space by [`add_cuts`] before the analysis is built.

use crate::ir::dim::{self, Dim};
use crate::ir::{CtState, FamilySet, Hook, Match};
use crate::space::atoms::SpaceBuilder;
use crate::space::boxes::{drop_contained, intersect_all, subtract_all};
use crate::space::eval::Analysis;
use crate::space::{convert, Approx, BoxSet, CBox};

/// IPv4 addresses end below this coordinate.
const V4_END: u128 = 1 << 32;
/// The largest user id coordinate (below the kernel / no-socket values).
pub const USER_MAX: u128 = dim::KERNEL_SOCKET - 1;
/// The first port an unprivileged user can bind
/// (`net.ipv4.ip_unprivileged_port_start`, default 1024).
pub const UNPRIVILEGED_PORT: u128 = 1024;

/// Protocols a user without `CAP_NET_RAW` can send: tcp, udp, dccp,
/// sctp, udplite (ICMP echo through ping sockets is separate).
pub const USER_PROTOCOLS: &[u8] = &[6, 17, 33, 132, 136];
pub const ICMP_ECHO_REQUEST: u8 = 8;
pub const ICMPV6_ECHO_REQUEST: u8 = 128;
/// ICMPv6 neighbour discovery (router solicitation and advertisement,
/// neighbour solicitation and advertisement).
pub const ND_TYPES: &[u8] = &[133, 134, 135, 136];
/// ICMPv6 multicast listener discovery (query, report, done, v2 report).
pub const MLD_TYPES: &[u8] = &[130, 131, 132, 143];

/// `fe80::/10`, link-local unicast.
pub const LINK_LOCAL: (u128, u128) = (0xfe80 << 112, (0xfec0 << 112) - 1);
/// `ff02::/16`, link-local multicast.
pub const LINK_MULTICAST: (u128, u128) = (0xff02 << 112, (0xff03 << 112) - 1);

/// A union of boxes of concrete coordinates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub boxes: Vec<CBox>,
}

impl Region {
    /// Every packet.
    pub fn all() -> Region {
        Region {
            boxes: vec![CBox::full()],
        }
    }

    /// Restricts dimension `d` to the union of `ranges`.
    pub fn with(self, d: Dim, ranges: &[(u128, u128)]) -> Region {
        let parts: Vec<CBox> = ranges
            .iter()
            .map(|&(lo, hi)| CBox::full().with(d, lo, hi))
            .collect();
        let mut boxes = intersect_all(&self.boxes, &parts);
        drop_contained(&mut boxes);
        Region { boxes }
    }

    /// Restricts dimension `d` to one value.
    pub fn at(self, d: Dim, v: u128) -> Region {
        self.with(d, &[(v, v)])
    }

    pub fn states(self, states: &[CtState]) -> Region {
        let r: Vec<(u128, u128)> = states.iter().map(|&s| (s as u128, s as u128)).collect();
        self.with(Dim::State, &r)
    }

    /// The families a policy filters.
    pub fn families(self, f: FamilySet) -> Region {
        let mut r = Vec::new();
        if f.v4 {
            r.push((0, 0));
        }
        if f.v6 {
            r.push((1, 1));
        }
        self.with(Dim::Family, &r)
    }

    /// Interfaces other than loopback, in dimension `d` (`Iif` or `Oif`).
    pub fn not_loopback(self, d: Dim) -> Region {
        let lo = dim::iface_code(b"lo");
        self.with(d, &[(0, lo - 1), (lo + 1, dim::max(d))])
    }

    /// Packets that can only be at `hook`: input packets have an input
    /// interface and no output interface, output packets no input
    /// interface, forwarded packets both. (Together with a packet's socket
    /// this keeps the regions of different hooks apart.)
    pub fn hook(self, hook: Hook) -> Region {
        let named = |d: Dim| (1, dim::max(d));
        match hook {
            Hook::Input => self.with(Dim::Iif, &[named(Dim::Iif)]).at(Dim::Oif, 0),
            Hook::Output => self.at(Dim::Iif, 0),
            Hook::Forward => self
                .with(Dim::Iif, &[named(Dim::Iif)])
                .with(Dim::Oif, &[named(Dim::Oif)]),
        }
    }

    pub fn union(mut self, o: Region) -> Region {
        self.boxes.extend(o.boxes);
        self
    }

    pub fn intersect(&self, o: &Region) -> Region {
        Region {
            boxes: intersect_all(&self.boxes, &o.boxes),
        }
    }

    pub fn subtract(&self, o: &[CBox]) -> Region {
        Region {
            boxes: subtract_all(&self.boxes, o),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.boxes.is_empty()
    }

    /// The region as atom boxes of an analysis. `None` when the space
    /// lacks one of its intervals (a bug: see [`add_cuts`]).
    pub fn on(&self, an: &Analysis) -> Option<BoxSet> {
        let boxes = self
            .boxes
            .iter()
            .map(|b| an.space().abox(b))
            .collect::<Result<Vec<_>, _>>()
            .ok()?;
        Some(BoxSet { boxes })
    }
}

/// The boxes of a match (an egress entry, a selector, an assertion).
pub fn match_boxes(m: &Match, a: Approx) -> Vec<CBox> {
    convert::match_boxes(m, a)
}

/// Packets a user without special privileges can send as the first
/// packet of a flow: tcp, udp, dccp, sctp, udplite, and ICMP / ICMPv6
/// echo requests (ping sockets).
pub fn user_sendable() -> Region {
    let protos: Vec<(u128, u128)> = USER_PROTOCOLS
        .iter()
        .map(|&p| (p as u128, p as u128))
        .collect();
    let l4 = Region::all().with(Dim::Proto, &protos);
    let ping4 = Region::all()
        .at(Dim::Family, 0)
        .at(Dim::Proto, dim::PROTO_ICMP as u128)
        .at(Dim::IcmpType, ICMP_ECHO_REQUEST as u128);
    let ping6 = Region::all()
        .at(Dim::Family, 1)
        .at(Dim::Proto, dim::PROTO_ICMPV6 as u128)
        .at(Dim::IcmpType, ICMPV6_ECHO_REQUEST as u128);
    l4.union(ping4).union(ping6)
}

/// Packets that can start a flow: NEW, UNTRACKED and INVALID (conntrack
/// has not seen the flow's other direction).
pub const FLOW_START: &[CtState] = &[CtState::New, CtState::Untracked, CtState::Invalid];

/// Packets with a user socket of a uid other than root (output only).
pub fn nonroot_socket() -> Region {
    Region::all()
        .with(Dim::Uid, &[(1, USER_MAX)])
        .with(Dim::Gid, &[(0, USER_MAX)])
}

/// Inbound packets to a port any user can listen on: tcp, udp and sctp
/// to ports 1024 and up.
pub fn unprivileged_listen() -> Region {
    let protos: Vec<(u128, u128)> = [dim::PROTO_TCP, dim::PROTO_UDP, dim::PROTO_SCTP]
        .iter()
        .map(|&p| (p as u128, p as u128))
        .collect();
    Region::all()
        .with(Dim::Proto, &protos)
        .with(Dim::Dport, &[(UNPRIVILEGED_PORT, 65535)])
}

/// ICMPv6 packets of the given types between link-local addresses (or to
/// link-local multicast), in state UNTRACKED, as neighbour and multicast
/// listener discovery sends them.
pub fn icmpv6_control(types: &[u8]) -> Region {
    let t: Vec<(u128, u128)> = types.iter().map(|&t| (t as u128, t as u128)).collect();
    Region::all()
        .at(Dim::Family, 1)
        .at(Dim::Proto, dim::PROTO_ICMPV6 as u128)
        .with(Dim::IcmpType, &t)
        .with(Dim::Src, &[LINK_LOCAL])
        .with(Dim::Dst, &[LINK_LOCAL, LINK_MULTICAST])
        .states(&[CtState::Untracked])
}

/// Adds every interval the regions of this module use to a space.
pub fn add_cuts(b: &mut SpaceBuilder) {
    let point = |b: &mut SpaceBuilder, d: Dim, v: u128| b.add_interval(d, v, v, false);
    for &p in USER_PROTOCOLS {
        point(b, Dim::Proto, p as u128);
    }
    for t in [ICMP_ECHO_REQUEST, ICMPV6_ECHO_REQUEST]
        .iter()
        .chain(ND_TYPES)
        .chain(MLD_TYPES)
    {
        point(b, Dim::IcmpType, *t as u128);
    }
    b.add_interval(Dim::Dport, UNPRIVILEGED_PORT, 65535, false);
    b.add_interval(Dim::Dport, 0, UNPRIVILEGED_PORT - 1, false);
    for d in [Dim::Src, Dim::Dst] {
        b.add_interval(d, LINK_LOCAL.0, LINK_LOCAL.1, false);
        b.add_interval(d, LINK_MULTICAST.0, LINK_MULTICAST.1, false);
        b.add_interval(d, 0, V4_END - 1, false);
    }
    for d in [Dim::Uid, Dim::Gid] {
        b.add_interval(d, 0, 0, false);
        b.add_interval(d, 1, USER_MAX, false);
        b.add_interval(d, dim::KERNEL_SOCKET, dim::NO_SOCKET, false);
    }
    for d in [Dim::Iif, Dim::Oif] {
        let lo = dim::iface_code(b"lo");
        b.add_interval(d, lo, lo, false);
        b.add_interval(d, 0, 0, false);
    }
    for s in CtState::ALL {
        point(b, Dim::State, s as u128);
    }
    point(b, Dim::Family, 0);
    point(b, Dim::Family, 1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Policy;
    use crate::source::Span;

    fn empty_policy() -> Policy {
        Policy {
            name: "p".into(),
            family: FamilySet::INET,
            origin: crate::ir::Origin::Policy,
            chains: vec![],
            assertions: vec![],
            egress: vec![],
            definitions: vec![],
            span: Span::default(),
        }
    }

    #[test]
    fn every_region_converts_in_a_space_with_the_cuts() {
        let p = empty_policy();
        let mut b = SpaceBuilder::new();
        b.add_policy(&p);
        add_cuts(&mut b);
        let an = Analysis::with_space(&p, std::sync::Arc::new(b.build())).unwrap();
        let regions = [
            user_sendable(),
            nonroot_socket().states(FLOW_START).not_loopback(Dim::Oif),
            unprivileged_listen().not_loopback(Dim::Iif),
            icmpv6_control(ND_TYPES),
            icmpv6_control(MLD_TYPES),
            Region::all().families(FamilySet::IP),
        ];
        for r in &regions {
            assert!(!r.is_empty());
            assert!(r.on(&an).is_some(), "{r:?}");
        }
        // Without a base chain every packet is accepted: the region's
        // packets are found in what the hook accepts.
        let acc = an.accepted(Hook::Output, Approx::Over);
        let s = nonroot_socket()
            .states(FLOW_START)
            .intersect(&user_sendable());
        let w = acc.intersect(&s.on(&an).unwrap()).witness().unwrap();
        assert!(matches!(w.owner, crate::ir::Owner::Socket { uid, .. } if uid != 0));
    }
}
