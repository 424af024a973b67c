//! Coordinate compression: the [`Space`] of one analysis.
//!
//! Each dimension's coordinate range `0 ..= dim::max(d)` is cut into
//! elementary intervals ("atoms") at every interval end point the analysis
//! uses. Atom `a` of dimension `d` is `cuts[d][a] ..= cuts[d][a + 1] − 1`.
//!
//! INVARIANT (exactness): every interval that is ever turned into an atom
//! box starts at a cut and ends just before a cut (or at the dimension's
//! maximum). Then each atom lies entirely inside or entirely outside every
//! box, so any value of an atom behaves exactly like any other ("padding"
//! atoms — those between the values the rules wrote — behave like their
//! neighbours). [`Space::interval`] checks this and refuses unaligned
//! intervals instead of rounding them.

use super::boxes::{ABox, Bx, CBox, D};
use crate::ir::dim::{self, Dim};
use crate::ir::{Family as Fam, Hook, Match, Policy};

/// An interval whose end points are not cuts of the space: the space was
/// built without the match or value it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unaligned {
    pub dim: Dim,
    pub lo: u128,
    pub hi: u128,
}

impl std::fmt::Display for Unaligned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "interval {}..={} of dimension {:?} is not part of the analysed space",
            self.lo, self.hi, self.dim
        )
    }
}

impl std::error::Error for Unaligned {}

/// Collects the cut points of a space.
#[derive(Clone, Debug)]
pub struct SpaceBuilder {
    cuts: [Vec<u128>; D],
    written: [Vec<u128>; D],
}

impl Default for SpaceBuilder {
    fn default() -> Self {
        SpaceBuilder::new()
    }
}

impl SpaceBuilder {
    /// A builder holding the well-known cuts: the valid-packet universe of
    /// every hook (see [`super::convert::invalid_boxes`]), every family,
    /// state and ICMP protocol, uid/gid 0, the socketless owners, `tcp 22`,
    /// the empty interface and `lo`, and the ICMP/ICMPv6 types the liveness
    /// lints ask about. Lints whose questions use only these values (and
    /// the policy's own) need not add anything.
    pub fn new() -> SpaceBuilder {
        let mut b = SpaceBuilder {
            cuts: Default::default(),
            written: Default::default(),
        };
        super::convert::well_known_intervals(&mut |d, lo, hi| b.add_interval(d, lo, hi, false));
        b
    }

    /// Adds the interval `lo ..= hi` of dimension `d`. `written` marks `lo`
    /// as a value a user wrote: witnesses prefer such values.
    pub fn add_interval(&mut self, d: Dim, lo: u128, hi: u128, written: bool) {
        let i = d as usize;
        let hi = hi.min(dim::max(d));
        if lo > hi {
            return;
        }
        self.cuts[i].push(lo);
        if hi < dim::max(d) {
            self.cuts[i].push(hi + 1);
        }
        // Address and port 0 are where wide ranges start, not values an
        // admin wants to read in a witness.
        let zero_unreadable = matches!(d, Dim::Src | Dim::Dst | Dim::Sport | Dim::Dport);
        if written && !(lo == 0 && zero_unreadable) {
            self.written[i].push(lo);
        }
    }

    /// Adds every interval of a concrete box.
    pub fn add_cbox(&mut self, b: &CBox, written: bool) {
        for d in dim::ALL {
            let i = d as usize;
            self.add_interval(d, b.lo[i], b.hi[i], written);
        }
    }

    /// Adds every interval a match tests (so that it converts exactly).
    pub fn add_match(&mut self, m: &Match) {
        for c in &m.conds {
            super::convert::test_intervals(&c.test, &mut |d, lo, hi| {
                self.add_interval(d, lo, hi, true)
            });
        }
    }

    /// Adds every rule match, assertion and egress entry of a policy.
    pub fn add_policy(&mut self, p: &Policy) {
        use rayon::prelude::*;
        // Rules on all cores: per-thread builders, merged.
        let parts = p
            .chains
            .par_iter()
            .flat_map(|c| c.rules.par_iter())
            .fold(
                || SpaceBuilder {
                    cuts: Default::default(),
                    written: Default::default(),
                },
                |mut b, r| {
                    b.add_match(&r.matches);
                    b
                },
            )
            .collect::<Vec<_>>();
        for part in parts {
            for d in 0..D {
                self.cuts[d].extend_from_slice(&part.cuts[d]);
                self.written[d].extend_from_slice(&part.written[d]);
            }
        }
        for a in &p.assertions {
            self.add_match(&a.matches);
        }
        for e in &p.egress {
            super::convert::test_intervals(&e.selector.test, &mut |d, lo, hi| {
                self.add_interval(d, lo, hi, true)
            });
            for m in &e.allowed {
                self.add_match(m);
            }
        }
    }

    pub fn build(mut self) -> Space {
        let mut next_written: [Vec<u32>; D] = Default::default();
        for (d, nwd) in next_written.iter_mut().enumerate() {
            use rayon::slice::ParallelSliceMut;
            let cuts = &mut self.cuts[d];
            cuts.push(0);
            cuts.par_sort_unstable();
            cuts.dedup();
            let w = &mut self.written[d];
            w.par_sort_unstable();
            w.dedup();
            // next_written[a] = the first atom >= a that starts at a written value.
            let n = cuts.len();
            let mut nw = vec![u32::MAX; n + 1];
            let mut wi = w.len();
            for a in (0..n).rev() {
                nw[a] = nw[a + 1];
                while wi > 0 && w[wi - 1] > cuts[a] {
                    wi -= 1;
                }
                if wi > 0 && w[wi - 1] == cuts[a] {
                    nw[a] = a as u32;
                }
            }
            *nwd = nw;
        }
        Space {
            cuts: self.cuts,
            next_written,
        }
    }
}

/// The atomised coordinate system of one analysis. Immutable once built;
/// every [`ABox`] of an analysis refers to one `Space`.
#[derive(Clone, Debug)]
pub struct Space {
    cuts: [Vec<u128>; D],
    next_written: [Vec<u32>; D],
}

const PREF_PROTOS: [u128; 5] = [
    dim::PROTO_TCP as u128,
    dim::PROTO_UDP as u128,
    dim::PROTO_ICMP as u128,
    dim::PROTO_ICMPV6 as u128,
    dim::PROTO_SCTP as u128,
];

impl Space {
    /// The space with only the well-known cuts and those of `policies`.
    pub fn for_policies(policies: &[&Policy], extra: &[Match]) -> Space {
        let mut b = SpaceBuilder::new();
        for p in policies {
            b.add_policy(p);
        }
        for m in extra {
            b.add_match(m);
        }
        b.build()
    }

    /// Number of atoms of dimension `d`.
    pub fn atoms(&self, d: usize) -> u32 {
        self.cuts[d].len() as u32
    }

    /// Atom counts of all dimensions.
    pub fn shape(&self) -> [u32; D] {
        let mut s = [0; D];
        for (d, x) in s.iter_mut().enumerate() {
            *x = self.atoms(d);
        }
        s
    }

    /// The atom holding value `v` (any value maps to some atom).
    #[inline]
    pub fn atom_of(&self, d: usize, v: u128) -> u32 {
        let c = &self.cuts[d];
        (c.partition_point(|&x| x <= v) - 1) as u32
    }

    /// Lowest value of an atom.
    pub fn atom_lo(&self, d: usize, a: u32) -> u128 {
        self.cuts[d][a as usize]
    }

    /// Highest value of an atom.
    pub fn atom_hi(&self, d: usize, a: u32) -> u128 {
        match self.cuts[d].get(a as usize + 1) {
            Some(&n) => n - 1,
            None => dim::max(dim::ALL[d]),
        }
    }

    /// The box of every atom.
    pub fn full(&self) -> ABox {
        let mut hi = [0u32; D];
        for (d, h) in hi.iter_mut().enumerate() {
            *h = self.atoms(d) - 1;
        }
        Bx { lo: [0; D], hi }
    }

    /// The atoms of the concrete interval `lo ..= hi`, if it is aligned.
    pub fn interval(&self, d: usize, lo: u128, hi: u128) -> Result<(u32, u32), Unaligned> {
        if lo == 0 && hi == dim::max(dim::ALL[d]) {
            return Ok((0, self.atoms(d) - 1));
        }
        let a = self.atom_of(d, lo);
        let b = self.atom_of(d, hi);
        if self.atom_lo(d, a) != lo || self.atom_hi(d, b) != hi {
            return Err(Unaligned {
                dim: dim::ALL[d],
                lo,
                hi,
            });
        }
        Ok((a, b))
    }

    /// A concrete box in atoms.
    pub fn abox(&self, c: &CBox) -> Result<ABox, Unaligned> {
        let mut r = Bx {
            lo: [0u32; D],
            hi: [0u32; D],
        };
        for d in 0..D {
            let (a, b) = self.interval(d, c.lo[d], c.hi[d])?;
            r.lo[d] = a;
            r.hi[d] = b;
        }
        Ok(r)
    }

    /// An atom box back in concrete coordinates.
    pub fn cbox(&self, a: &ABox) -> CBox {
        let mut r = CBox::full();
        for d in 0..D {
            r.lo[d] = self.atom_lo(d, a.lo[d]);
            r.hi[d] = self.atom_hi(d, a.hi[d]);
        }
        r
    }

    /// The atoms of a concrete point.
    pub fn point(&self, coords: &[u128; D]) -> [u32; D] {
        let mut p = [0u32; D];
        for d in 0..D {
            p[d] = self.atom_of(d, coords[d]);
        }
        p
    }

    fn first_written(&self, d: usize, lo: u32, hi: u32) -> Option<u32> {
        let a = self.next_written[d][lo as usize];
        (a <= hi).then_some(a)
    }

    fn in_range(&self, d: usize, lo: u32, hi: u32, v: u128) -> bool {
        v <= dim::max(dim::ALL[d]) && (lo..=hi).contains(&self.atom_of(d, v))
    }

    /// A value of dimension `d` inside atoms `lo ..= hi`, in order of
    /// preference: a value the user wrote, then `prefs`, then the lowest.
    fn choose(&self, d: usize, lo: u32, hi: u32, written_first: bool, prefs: &[u128]) -> u128 {
        if written_first {
            if let Some(a) = self.first_written(d, lo, hi) {
                return self.atom_lo(d, a);
            }
        }
        if let Some(&p) = prefs.iter().find(|&&p| self.in_range(d, lo, hi, p)) {
            return p;
        }
        if let Some(a) = self.first_written(d, lo, hi) {
            return self.atom_lo(d, a);
        }
        self.atom_lo(d, lo)
    }

    fn choose_iface(&self, d: usize, lo: u32, hi: u32) -> u128 {
        // A written, non-empty name first.
        let mut a = lo;
        while let Some(w) = self.first_written(d, a, hi) {
            let v = self.atom_lo(d, w);
            if v != 0 && printable(v) {
                return v;
            }
            a = w + 1;
            if a > hi {
                break;
            }
        }
        for name in ["eth0", "eth1", "lo", "wlan0", "ens3"] {
            let v = dim::iface_code(name.as_bytes());
            if self.in_range(d, lo, hi, v) {
                return v;
            }
        }
        let (vlo, vhi) = (self.atom_lo(d, lo), self.atom_hi(d, hi));
        if printable(vlo) {
            return vlo;
        }
        match printable_at_least(vlo) {
            Some(v) if v <= vhi => v,
            _ => vlo,
        }
    }

    /// The atoms of `lo ..= hi` that hold values in `vlo ..= vhi`, or the
    /// whole range when there are none.
    fn prefer(&self, d: usize, lo: u32, hi: u32, vlo: u128, vhi: u128) -> (u32, u32) {
        let a = lo.max(self.atom_of(d, vlo));
        let b = hi.min(self.atom_of(d, vhi.min(dim::max(dim::ALL[d]))));
        if a <= b {
            (a, b)
        } else {
            (lo, hi)
        }
    }

    /// A readable concrete point inside an atom box: values the policy
    /// wrote where possible, IPv4 before IPv6, tcp before other protocols,
    /// `eth0`, source port 40000, uid 1000 and "gid = uid" when free. It is
    /// a valid packet of `hook` whenever the box holds one of the shape it
    /// tries (ports exactly for tcp/udp/sctp, ICMP fields exactly for
    /// ICMP, interfaces and owners as the hook has them).
    pub fn pick(&self, r: &ABox, hook: Option<Hook>) -> [u128; D] {
        use Dim::*;
        let mut v = [0u128; D];
        let i = |d: Dim| d as usize;
        let rng = |d: Dim| (r.lo[d as usize], r.hi[d as usize]);
        let f = i(Family);
        v[f] = self.choose(f, r.lo[f], r.hi[f], false, &[0, 1]);
        let fam = if v[f] == 0 { Fam::V4 } else { Fam::V6 };
        for d in [Iif, Oif] {
            let (lo, hi) = rng(d);
            let empty = matches!(
                (hook, d),
                (Some(Hook::Output), Iif) | (Some(Hook::Input), Oif)
            );
            v[i(d)] = if empty {
                let (a, _) = self.prefer(i(d), lo, hi, 0, 0);
                self.atom_lo(i(d), a)
            } else {
                let (a, b) = self.prefer(i(d), lo, hi, 1, dim::max(d));
                self.choose_iface(i(d), a, b)
            };
        }
        let (src_def, dst_def): (u128, u128) = match fam {
            Fam::V4 => (0xC000_020A, 0xCB00_7107),
            Fam::V6 => (
                0x2001_0db8_0000_0000_0000_0000_0000_000a,
                0x2001_0db8_0001_0000_0000_0000_0000_0007,
            ),
        };
        for (d, def) in [(Src, src_def), (Dst, dst_def)] {
            let (lo, hi) = rng(d);
            let (a, b) = self.prefer(i(d), lo, hi, 0, fam.max_addr());
            v[i(d)] = self.choose(i(d), a, b, true, &[def]);
        }
        let (lo, hi) = rng(Proto);
        v[i(Proto)] = self.choose(i(Proto), lo, hi, false, &PREF_PROTOS);
        let proto = v[i(Proto)] as u8;
        let ports = super::convert::has_ports(proto);
        for (d, pref) in [(Sport, 40000u128), (Dport, 80)] {
            let (lo, hi) = rng(d);
            let (a, b) = if ports {
                self.prefer(i(d), lo, hi, 0, dim::NONE_PORT - 1)
            } else {
                self.prefer(i(d), lo, hi, dim::NONE_PORT, dim::NONE_PORT)
            };
            v[i(d)] = self.choose(i(d), a, b, true, &[pref]);
        }
        let icmp = proto == super::convert::icmp_proto(fam);
        let echo = match fam {
            Fam::V4 => 8,
            Fam::V6 => 128,
        };
        for (d, pref, written) in [(IcmpType, echo, true), (IcmpCode, 0, false)] {
            let (lo, hi) = rng(d);
            let (a, b) = if icmp {
                self.prefer(i(d), lo, hi, 0, dim::NONE_ICMP - 1)
            } else {
                self.prefer(i(d), lo, hi, dim::NONE_ICMP, dim::NONE_ICMP)
            };
            v[i(d)] = self.choose(i(d), a, b, written, &[pref]);
        }
        let (lo, hi) = rng(State);
        v[i(State)] = self.choose(i(State), lo, hi, true, &[]);
        let (ulo, uhi) = rng(Uid);
        let (glo, ghi) = rng(Gid);
        let user_max = dim::KERNEL_SOCKET - 1;
        match hook {
            Some(Hook::Input) | Some(Hook::Forward) => {
                let (a, _) = self.prefer(i(Uid), ulo, uhi, dim::NO_SOCKET, dim::NO_SOCKET);
                v[i(Uid)] = self.atom_lo(i(Uid), a);
                let (a, _) = self.prefer(i(Gid), glo, ghi, dim::NO_SOCKET, dim::NO_SOCKET);
                v[i(Gid)] = self.atom_lo(i(Gid), a);
            }
            _ => {
                // A user socket when both ranges allow one, else whatever
                // tied value both allow.
                let (a, b) = self.prefer(i(Uid), ulo, uhi, 0, user_max);
                let (c, e) = self.prefer(i(Gid), glo, ghi, 0, user_max);
                let uid = self.choose(i(Uid), a, b, true, &[1000]);
                v[i(Uid)] = uid;
                v[i(Gid)] = if uid <= user_max {
                    self.choose(i(Gid), c, e, false, &[uid])
                } else {
                    self.choose(i(Gid), glo, ghi, false, &[uid])
                };
            }
        }
        v
    }
}

/// Whether an interface code is a printable name (possibly empty).
fn printable(code: u128) -> bool {
    let bytes = code.to_be_bytes();
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(16);
    bytes[..end].iter().all(|b| b.is_ascii_graphic()) && bytes[end..].iter().all(|&b| b == 0)
}

/// The smallest printable name code `> code`, when `code` itself is not
/// printable.
fn printable_at_least(code: u128) -> Option<u128> {
    let bytes = code.to_be_bytes();
    let k0 = bytes
        .iter()
        .take(dim::IFNAME_MAX)
        .position(|b| !b.is_ascii_graphic())?;
    // Raise byte k (keeping the printable bytes before it) to the next
    // printable byte; the result exceeds `code` because byte k grew.
    for k in (0..=k0).rev() {
        let next = bytes[k]
            .checked_add(1)
            .and_then(|lo| (lo..=b'~').find(|c| c.is_ascii_graphic()));
        if let Some(c) = next {
            let mut out = [0u8; 16];
            out[..k].copy_from_slice(&bytes[..k]);
            out[k] = c;
            return Some(u128::from_be_bytes(out));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoms_are_aligned_and_round_trip() {
        let mut b = SpaceBuilder::new();
        b.add_interval(Dim::Dport, 80, 89, true);
        b.add_interval(Dim::Dport, 85, 100, true);
        let s = b.build();
        let d = Dim::Dport as usize;
        let (a, z) = s.interval(d, 80, 89).unwrap();
        assert_eq!(s.atom_lo(d, a), 80);
        assert_eq!(s.atom_hi(d, z), 89);
        assert!(s.interval(d, 81, 89).is_err());
        assert!(s.interval(d, 80, 88).is_err());
        assert_eq!(s.atom_hi(d, s.atoms(d) - 1), dim::NONE_PORT);
        // Every value maps to the atom whose bounds hold it.
        for v in [0u128, 79, 80, 84, 85, 89, 90, 100, 101, 65535, 65536] {
            let a = s.atom_of(d, v);
            assert!(s.atom_lo(d, a) <= v && v <= s.atom_hi(d, a));
        }
    }

    #[test]
    fn pick_prefers_written_values_and_readable_names() {
        let mut b = SpaceBuilder::new();
        b.add_interval(Dim::Dport, 443, 443, true);
        b.add_interval(
            Dim::Oif,
            dim::iface_code(b"eth"),
            dim::iface_prefix_end(b"eth"),
            true,
        );
        let s = b.build();
        let p = s.pick(&s.full(), None);
        assert_eq!(p[Dim::Dport as usize], 443);
        assert_eq!(p[Dim::Proto as usize], 6);
        assert_eq!(p[Dim::Family as usize], 0);
        // A range just after `eth+` still yields a printable name.
        let d = Dim::Oif as usize;
        let a = s.atom_of(d, dim::iface_prefix_end(b"eth") + 1);
        let mut r = s.full();
        r.lo[d] = a;
        r.hi[d] = a;
        let v = s.pick(&r, None)[d];
        assert!(printable(v), "{:?}", dim::iface_name(v));
        assert_eq!(s.atom_of(d, v), a);
    }
}
