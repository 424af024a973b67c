//! From IR matches to unions of boxes, and the valid-packet universe.
//!
//! Every [`Test`] becomes a union of concrete boxes ([`CBox`]); a negated
//! test its complement (owner tests by their own rules, see
//! [`crate::ir::OwnerNegation`]); a [`Match`] the intersection of its
//! conditions. `Limit` and `Opaque` tests are not modelled: under
//! [`Approx::Over`] they match everything (the rule *may* match), under
//! [`Approx::Under`] nothing (the rule is not known to match).

use super::boxes::{intersect_all, subtract_all, CBox, D};
use super::Approx;
use crate::ir::dim::{self, Dim};
use crate::ir::{Cond, CtState, Family, Hook, Match, OwnerNegation, Test};

const V4_END: u128 = 1 << 32;
/// The largest uid or gid of a user socket: `(uid_t)-1` is the kernel's
/// INVALID_UID, which no socket has (sema and the backends stop there too).
const USER_MAX: u128 = dim::KERNEL_SOCKET - 2;

fn full() -> CBox {
    CBox::full()
}

fn fam(f: Family) -> u128 {
    match f {
        Family::V4 => 0,
        Family::V6 => 1,
    }
}

/// Protocols whose packets carry ports.
pub fn has_ports(proto: u8) -> bool {
    matches!(proto, dim::PROTO_TCP | dim::PROTO_UDP | dim::PROTO_SCTP)
}

/// The ICMP protocol of a family.
pub fn icmp_proto(f: Family) -> u8 {
    match f {
        Family::V4 => dim::PROTO_ICMP,
        Family::V6 => dim::PROTO_ICMPV6,
    }
}

/// Calls `f(dim, lo, hi)` for every interval the test's boxes use (the
/// end points of the complement are the same, so negation adds nothing).
/// Mirrors [`test_boxes`] without building boxes.
pub fn test_intervals(t: &Test, f: &mut impl FnMut(Dim, u128, u128)) {
    let fam_iv = |f: &mut dyn FnMut(Dim, u128, u128), x: Family| f(Dim::Family, fam(x), fam(x));
    match t {
        Test::Family(x) => fam_iv(f, *x),
        Test::Iif(list) | Test::Oif(list) => {
            let d = if let Test::Iif(_) = t {
                Dim::Iif
            } else {
                Dim::Oif
            };
            for i in list {
                let r = i.range();
                f(d, r.lo, r.hi);
            }
        }
        Test::Src(set) | Test::Dst(set) => {
            let d = if let Test::Src(_) = t {
                Dim::Src
            } else {
                Dim::Dst
            };
            for r in &set.ranges {
                fam_iv(f, r.family);
                let hi = r.hi.min(r.family.max_addr());
                if r.lo <= hi {
                    f(d, r.lo, hi);
                }
            }
        }
        Test::L4(alts) => {
            for alt in alts {
                f(Dim::Proto, alt.proto as u128, alt.proto as u128);
                for (d, ps) in [(Dim::Sport, &alt.sport), (Dim::Dport, &alt.dport)] {
                    if let Some(ps) = ps {
                        for &(a, b) in &ps.ranges {
                            f(d, a as u128, b as u128);
                        }
                    }
                }
                if let Some(specs) = &alt.icmp {
                    match alt.proto {
                        dim::PROTO_ICMP => fam_iv(f, Family::V4),
                        dim::PROTO_ICMPV6 => fam_iv(f, Family::V6),
                        _ => continue,
                    }
                    for s in specs {
                        f(Dim::IcmpType, s.ty as u128, s.ty as u128);
                        let (ca, cb) = s.code.map_or((0, 255), |(a, b)| (a as u128, b as u128));
                        f(Dim::IcmpCode, ca, cb);
                    }
                }
            }
        }
        Test::AnyPort(ps) => {
            for &(a, b) in &ps.ranges {
                f(Dim::Sport, a as u128, b as u128);
                f(Dim::Dport, a as u128, b as u128);
            }
        }
        Test::State(states) => {
            for s in states {
                f(Dim::State, *s as u128, *s as u128);
            }
        }
        Test::Uid(rs) | Test::Gid(rs) => {
            let d = if let Test::Uid(_) = t {
                Dim::Uid
            } else {
                Dim::Gid
            };
            for r in rs {
                f(d, r.lo as u128, r.hi as u128);
            }
            // The nft negation stops at the last user id.
            f(d, 0, USER_MAX);
        }
        Test::Limit(_) | Test::Opaque(_) => {}
    }
}

/// The boxes of a positive test, or `None` when it is not modelled.
pub fn test_boxes(t: &Test) -> Option<Vec<CBox>> {
    let one = |d: Dim, lo: u128, hi: u128| full().with(d, lo, hi);
    Some(match t {
        Test::Family(f) => vec![one(Dim::Family, fam(*f), fam(*f))],
        Test::Iif(list) | Test::Oif(list) => {
            let d = if let Test::Iif(_) = t {
                Dim::Iif
            } else {
                Dim::Oif
            };
            list.iter()
                .map(|i| {
                    let r = i.range();
                    one(d, r.lo, r.hi)
                })
                .collect()
        }
        Test::Src(set) | Test::Dst(set) => {
            let d = if let Test::Src(_) = t {
                Dim::Src
            } else {
                Dim::Dst
            };
            set.ranges
                .iter()
                .map(|r| {
                    let hi = r.hi.min(r.family.max_addr());
                    one(Dim::Family, fam(r.family), fam(r.family)).with(d, r.lo, hi)
                })
                .filter(|b| b.lo[d as usize] <= b.hi[d as usize])
                .collect()
        }
        Test::L4(alts) => {
            let mut out = Vec::new();
            for alt in alts {
                let base = one(Dim::Proto, alt.proto as u128, alt.proto as u128);
                let ports = |ps: &Option<crate::ir::PortSet>| -> Vec<(u128, u128)> {
                    match ps {
                        None => vec![(0, dim::NONE_PORT)],
                        Some(ps) => ps
                            .ranges
                            .iter()
                            .map(|&(a, b)| (a as u128, b as u128))
                            .collect(),
                    }
                };
                let sports = ports(&alt.sport);
                let dports = ports(&alt.dport);
                let mut with_ports = Vec::new();
                for &(sa, sb) in &sports {
                    for &(da, db) in &dports {
                        with_ports.push(base.with(Dim::Sport, sa, sb).with(Dim::Dport, da, db));
                    }
                }
                match &alt.icmp {
                    None => out.extend(with_ports),
                    Some(specs) => {
                        // An ICMP type implies the family of its protocol.
                        let family = match alt.proto {
                            dim::PROTO_ICMP => Family::V4,
                            dim::PROTO_ICMPV6 => Family::V6,
                            _ => continue,
                        };
                        for b in &with_ports {
                            for s in specs {
                                let (ca, cb) =
                                    s.code.map_or((0, 255), |(a, b)| (a as u128, b as u128));
                                out.push(
                                    b.with(Dim::Family, fam(family), fam(family))
                                        .with(Dim::IcmpType, s.ty as u128, s.ty as u128)
                                        .with(Dim::IcmpCode, ca, cb),
                                );
                            }
                        }
                    }
                }
            }
            out
        }
        Test::AnyPort(ps) => {
            let mut out = Vec::new();
            for &(a, b) in &ps.ranges {
                out.push(one(Dim::Sport, a as u128, b as u128));
                out.push(one(Dim::Dport, a as u128, b as u128));
            }
            out
        }
        Test::State(states) => states
            .iter()
            .map(|s| one(Dim::State, *s as u128, *s as u128))
            .collect(),
        Test::Uid(rs) | Test::Gid(rs) => {
            let d = if let Test::Uid(_) = t {
                Dim::Uid
            } else {
                Dim::Gid
            };
            rs.iter()
                .map(|r| one(d, r.lo as u128, r.hi as u128))
                .collect()
        }
        Test::Limit(_) | Test::Opaque(_) => return None,
    })
}

/// The complement of a union of boxes.
pub fn complement(boxes: &[CBox]) -> Vec<CBox> {
    subtract_all(&[full()], boxes)
}

/// The boxes of one (possibly negated) condition.
pub fn cond_boxes(c: &Cond, approx: Approx) -> Vec<CBox> {
    let Some(pos) = test_boxes(&c.test) else {
        return match approx {
            Approx::Over => vec![full()],
            Approx::Under => Vec::new(),
        };
    };
    if !c.negated {
        return pos;
    }
    let mut neg = complement(&pos);
    if let (Test::Uid(_) | Test::Gid(_), OwnerNegation::Nft) = (&c.test, c.owner_negation) {
        // nft: a packet without a user socket matches neither form.
        let d = if let Test::Uid(_) = c.test {
            Dim::Uid
        } else {
            Dim::Gid
        };
        neg = subtract_all(&neg, &[full().with(d, dim::KERNEL_SOCKET, dim::NO_SOCKET)]);
    }
    neg
}

/// The boxes of a match (the conjunction of its conditions).
pub fn match_boxes(m: &Match, approx: Approx) -> Vec<CBox> {
    let mut acc = vec![full()];
    for c in &m.conds {
        let b = cond_boxes(c, approx);
        if let ([a], [x]) = (acc.as_mut_slice(), b.as_slice()) {
            // The common case: one box each, intersected in place.
            match a.intersect(x) {
                Some(y) => *a = y,
                None => return Vec::new(),
            }
            continue;
        }
        acc = intersect_all(&acc, &b);
        super::boxes::drop_contained(&mut acc);
        if acc.is_empty() {
            break;
        }
    }
    acc
}

/// Whether the match has a test that is not modelled exactly.
pub fn has_unknown(m: &Match) -> bool {
    m.conds
        .iter()
        .any(|c| matches!(c.test, Test::Limit(_) | Test::Opaque(_)))
}

/// The concrete boxes outside the valid-packet universe of a hook; see
/// [`is_valid`] for the rules. Their union is exactly the complement.
pub fn invalid_boxes(hook: Hook) -> Vec<CBox> {
    use Dim::*;
    let f = full;
    let np = dim::NONE_PORT;
    let ni = dim::NONE_ICMP;
    let mut v = vec![
        // IPv4 addresses are below 2³².
        f().with(Family, 0, 0).with(Src, V4_END, u128::MAX),
        f().with(Family, 0, 0).with(Dst, V4_END, u128::MAX),
    ];
    // Ports exactly for tcp, udp and sctp.
    for p in [dim::PROTO_TCP, dim::PROTO_UDP, dim::PROTO_SCTP] {
        let p = p as u128;
        v.push(f().with(Proto, p, p).with(Sport, np, np));
        v.push(f().with(Proto, p, p).with(Dport, np, np));
    }
    for (lo, hi) in [(0, 5), (7, 16), (18, 131), (133, 255)] {
        v.push(f().with(Proto, lo, hi).with(Sport, 0, np - 1));
        v.push(f().with(Proto, lo, hi).with(Dport, 0, np - 1));
    }
    // ICMP type and code exactly for the family's ICMP protocol.
    for (family, p) in [
        (0u128, dim::PROTO_ICMP as u128),
        (1, dim::PROTO_ICMPV6 as u128),
    ] {
        let base = f().with(Family, family, family);
        v.push(base.with(Proto, p, p).with(IcmpType, ni, ni));
        v.push(base.with(Proto, p, p).with(IcmpCode, ni, ni));
        let mut others = vec![];
        if p > 0 {
            others.push((0, p - 1));
        }
        others.push((p + 1, 255));
        for (lo, hi) in others {
            v.push(base.with(Proto, lo, hi).with(IcmpType, 0, ni - 1));
            v.push(base.with(Proto, lo, hi).with(IcmpCode, 0, ni - 1));
        }
    }
    let ifmax = dim::max(Iif);
    let (ks, ns) = (dim::KERNEL_SOCKET, dim::NO_SOCKET);
    match hook {
        Hook::Input | Hook::Forward => {
            if hook == Hook::Input {
                v.push(f().with(Oif, 1, ifmax));
            }
            v.push(f().with(Uid, 0, ks));
            v.push(f().with(Gid, 0, ks));
        }
        Hook::Output => {
            v.push(f().with(Iif, 1, ifmax));
            // uid and gid are tied: both user ids, both kernel, or both none.
            v.push(f().with(Uid, 0, USER_MAX).with(Gid, ks, ns));
            v.push(f().with(Uid, ks, ks).with(Gid, 0, USER_MAX));
            v.push(f().with(Uid, ks, ks).with(Gid, ns, ns));
            v.push(f().with(Uid, ns, ns).with(Gid, 0, ks));
            v.push(f().with(Uid, USER_MAX + 1, USER_MAX + 1));
            v.push(f().with(Gid, USER_MAX + 1, USER_MAX + 1));
        }
    }
    v
}

/// Whether concrete coordinates are a valid packet at a hook: IPv4
/// addresses below 2³²; ports exactly for tcp/udp/sctp; ICMP type and code
/// exactly for ICMP in IPv4 and ICMPv6 in IPv6; input packets have no
/// output interface, output packets no input interface; input and forward
/// packets have no socket; an output packet has a user socket (uid and gid
/// both ids), a kernel socket or none (uid and gid both say so).
pub fn is_valid(c: &[u128; D], hook: Hook) -> bool {
    use Dim::*;
    let g = |d: Dim| c[d as usize];
    if g(Family) > 1 || (g(Family) == 0 && (g(Src) >= V4_END || g(Dst) >= V4_END)) {
        return false;
    }
    if g(Proto) > 255 {
        return false;
    }
    let ports = has_ports(g(Proto) as u8);
    for d in [Sport, Dport] {
        if ports != (g(d) < dim::NONE_PORT) || g(d) > dim::NONE_PORT {
            return false;
        }
    }
    let fam = if g(Family) == 0 {
        crate::ir::Family::V4
    } else {
        crate::ir::Family::V6
    };
    let icmp = g(Proto) == icmp_proto(fam) as u128;
    for d in [IcmpType, IcmpCode] {
        if icmp != (g(d) < dim::NONE_ICMP) || g(d) > dim::NONE_ICMP {
            return false;
        }
    }
    if g(State) > 4 || g(Iif) > dim::max(Iif) || g(Oif) > dim::max(Oif) {
        return false;
    }
    let (u, gi) = (g(Uid), g(Gid));
    match hook {
        Hook::Input | Hook::Forward => {
            (hook == Hook::Forward || g(Oif) == 0) && u == dim::NO_SOCKET && gi == dim::NO_SOCKET
        }
        Hook::Output => {
            g(Iif) == 0
                && ((u <= USER_MAX && gi <= USER_MAX)
                    || (u == dim::KERNEL_SOCKET && gi == dim::KERNEL_SOCKET)
                    || (u == dim::NO_SOCKET && gi == dim::NO_SOCKET))
        }
    }
}

/// The intervals every space contains (see [`super::SpaceBuilder::new`]).
pub fn well_known_intervals(f: &mut impl FnMut(Dim, u128, u128)) {
    for hook in Hook::ALL {
        for b in invalid_boxes(hook) {
            for d in dim::ALL {
                let i = d as usize;
                f(d, b.lo[i], b.hi[i]);
            }
        }
    }
    f(Dim::Family, 0, 0);
    f(Dim::Family, 1, 1);
    for s in CtState::ALL {
        f(Dim::State, s as u128, s as u128);
    }
    for p in [
        dim::PROTO_ICMP,
        dim::PROTO_ICMPV6,
        dim::PROTO_TCP,
        dim::PROTO_UDP,
        dim::PROTO_SCTP,
    ] {
        f(Dim::Proto, p as u128, p as u128);
    }
    for d in [Dim::Uid, Dim::Gid] {
        f(d, 0, 0);
        f(d, 1, USER_MAX);
        f(d, USER_MAX + 1, USER_MAX + 1);
        f(d, dim::KERNEL_SOCKET, dim::KERNEL_SOCKET);
        f(d, dim::NO_SOCKET, dim::NO_SOCKET);
    }
    for d in [Dim::Iif, Dim::Oif] {
        f(d, 0, 0);
        let lo = dim::iface_code(b"lo");
        f(d, lo, lo);
    }
    f(Dim::Dport, 22, 22);
    f(Dim::Sport, 0, 65535);
    f(Dim::Dport, 0, 65535);
    // ICMP types: echo, errors; ICMPv6 errors, echo, MLD and ND.
    for t in [0u128, 3, 8, 11] {
        f(Dim::IcmpType, t, t);
    }
    for t in [
        1u128, 2, 3, 4, 128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 143,
    ] {
        f(Dim::IcmpType, t, t);
    }
    f(Dim::IcmpCode, 0, 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_boxes_are_exactly_the_complement_of_the_universe() {
        // Sample points on every interesting coordinate.
        let vals: [&[u128]; D] = [
            &[0, 1],
            &[0, 1, 5],
            &[0, 1],
            &[0, 7, V4_END],
            &[0, V4_END - 1, V4_END],
            &[0, 1, 6, 17, 58, 132, 200],
            &[0, 65535, dim::NONE_PORT],
            &[5, dim::NONE_PORT],
            &[0, 255, dim::NONE_ICMP],
            &[0, dim::NONE_ICMP],
            &[0, 4],
            &[0, USER_MAX, dim::KERNEL_SOCKET, dim::NO_SOCKET],
            &[7, dim::KERNEL_SOCKET, dim::NO_SOCKET],
        ];
        for hook in Hook::ALL {
            let inv = invalid_boxes(hook);
            let mut idx = [0usize; D];
            loop {
                let mut p = [0u128; D];
                for d in 0..D {
                    p[d] = vals[d][idx[d]];
                }
                let invalid = inv.iter().any(|b| b.contains_point(&p));
                assert_eq!(invalid, !is_valid(&p, hook), "{hook:?} {p:?}");
                let mut d = 0;
                while d < D {
                    idx[d] += 1;
                    if idx[d] < vals[d].len() {
                        break;
                    }
                    idx[d] = 0;
                    d += 1;
                }
                if d == D {
                    break;
                }
            }
        }
    }
}
