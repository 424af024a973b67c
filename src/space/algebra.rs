//! One interface over two set representations, for differential tests:
//! the engine ([`BoxAlgebra`]: atomised boxes and the coverage primitive)
//! and a deliberately simple oracle ([`super::brute::BruteAlgebra`]: a
//! bitset over every point of a tiny domain).

use super::atoms::{Space, SpaceBuilder};
use super::boxes::{CBox, D};
use super::cover::{Cover, Coverer};
use super::set::{PacketSet, SetAnswer};

/// Sets of packets given as unions of concrete boxes.
pub trait SetAlgebra {
    type Set: Clone;
    fn set_of(&self, boxes: &[CBox]) -> Self::Set;
    fn union(&self, a: &Self::Set, b: &Self::Set) -> Self::Set;
    fn intersect(&self, a: &Self::Set, b: &Self::Set) -> Self::Set;
    fn difference(&self, a: &Self::Set, b: &Self::Set) -> Self::Set;
    fn is_empty(&self, a: &Self::Set) -> bool;
    /// Same points (two inclusions).
    fn equal(&self, a: &Self::Set, b: &Self::Set) -> bool;
    /// Some point of the set.
    fn witness(&self, a: &Self::Set) -> Option<[u128; D]>;
    fn contains(&self, a: &Self::Set, p: &[u128; D]) -> bool;
    /// Is `q` inside the union of `by`?
    fn covered(&self, q: &CBox, by: &[CBox]) -> bool;
}

/// The engine behind [`SetAlgebra`]. Its space is built from the boxes the
/// caller will use (every box passed later must be among them or aligned
/// with their cuts). Budgets are effectively unlimited: this is for tests.
pub struct BoxAlgebra {
    pub space: Space,
}

impl BoxAlgebra {
    pub fn new(boxes: &[CBox]) -> BoxAlgebra {
        let mut b = SpaceBuilder::new();
        for x in boxes {
            b.add_cbox(x, true);
        }
        BoxAlgebra { space: b.build() }
    }

    fn abox(&self, c: &CBox) -> super::boxes::ABox {
        match self.space.abox(c) {
            Ok(a) => a,
            Err(e) => panic!("BoxAlgebra used with a box outside its space: {e}"),
        }
    }
}

const BUDGET: u64 = u64::MAX / 2;

impl SetAlgebra for BoxAlgebra {
    type Set = PacketSet;

    fn set_of(&self, boxes: &[CBox]) -> PacketSet {
        let mut s = PacketSet::empty();
        for b in boxes {
            s = s.union(&PacketSet::from_box(self.abox(b)));
        }
        s
    }

    fn union(&self, a: &PacketSet, b: &PacketSet) -> PacketSet {
        a.union(b)
    }

    fn intersect(&self, a: &PacketSet, b: &PacketSet) -> PacketSet {
        a.intersect(b)
    }

    fn difference(&self, a: &PacketSet, b: &PacketSet) -> PacketSet {
        a.difference(b)
    }

    fn is_empty(&self, a: &PacketSet) -> bool {
        a.check(&self.space, BUDGET) == SetAnswer::Empty
    }

    fn equal(&self, a: &PacketSet, b: &PacketSet) -> bool {
        self.is_empty(&a.difference(b)) && self.is_empty(&b.difference(a))
    }

    fn witness(&self, a: &PacketSet) -> Option<[u128; D]> {
        match a.check(&self.space, BUDGET) {
            SetAnswer::Witness(w) => Some(w),
            _ => None,
        }
    }

    fn contains(&self, a: &PacketSet, p: &[u128; D]) -> bool {
        a.contains_point(&self.space.point(p))
    }

    fn covered(&self, q: &CBox, by: &[CBox]) -> bool {
        let mut c = Coverer::new();
        for (i, b) in by.iter().enumerate() {
            c.push(self.abox(b), i as u32);
        }
        c.run(&self.abox(q), None, BUDGET) == Cover::Covered
    }
}
