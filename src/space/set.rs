//! [`PacketSet`]: an owned, exact set of packets over the atoms of one
//! [`Space`]: a union of terms, each a box minus a union of boxes.
//!
//! Union and intersection are exact and cheap; difference flattens its
//! right operand into disjoint boxes, which become holes; emptiness,
//! inclusion and equality are answered by the coverage primitive with a
//! work budget, so they are three-valued ([`SetAnswer`]).
//!
//! INVARIANT: every term's negative boxes intersect its positive box, and
//! every box refers to the same `Space` (mixing spaces is a logic error
//! the type does not catch).

use super::atoms::Space;
use super::boxes::{subtract_all, ABox, BoxSet, D};
use super::cover::{Cover, Coverer, DEFAULT_BUDGET};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct STerm {
    pos: ABox,
    neg_start: u32,
    neg_len: u32,
}

/// A union of "box minus boxes" terms.
#[derive(Clone, Debug, Default)]
pub struct PacketSet {
    terms: Vec<STerm>,
    negs: Vec<ABox>,
}

/// The answer of an emptiness question. (One is returned per question,
/// never stored in bulk: the inline witness is fine.)
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)]
pub enum SetAnswer {
    Empty,
    /// A concrete point of the set (see [`super::packet::from_coords`]).
    Witness([u128; D]),
    /// The work budget ran out.
    Unknown,
}

impl SetAnswer {
    /// `Some(true)` when empty, `Some(false)` when not, `None` when unknown.
    pub fn is_empty(&self) -> Option<bool> {
        match self {
            SetAnswer::Empty => Some(true),
            SetAnswer::Witness(_) => Some(false),
            SetAnswer::Unknown => None,
        }
    }
}

impl PacketSet {
    pub fn empty() -> PacketSet {
        PacketSet::default()
    }

    pub fn from_box(b: ABox) -> PacketSet {
        PacketSet::with_holes(b, std::iter::empty())
    }

    pub fn from_boxes(bs: &BoxSet) -> PacketSet {
        let mut s = PacketSet::empty();
        for b in &bs.boxes {
            s.push(*b, &[]);
        }
        s
    }

    /// The packets of `pos` outside every box of `negs`.
    pub fn with_holes(pos: ABox, negs: impl IntoIterator<Item = ABox>) -> PacketSet {
        let negs: Vec<ABox> = negs.into_iter().collect();
        let mut s = PacketSet::empty();
        s.push(pos, &negs);
        s
    }

    /// Adds the term `pos − ∪ negs` (drops negatives that miss `pos`; drops
    /// the term when one negative contains it).
    fn push(&mut self, pos: ABox, negs: &[ABox]) {
        self.push_iter(pos, negs.iter())
    }

    fn push_iter<'a>(&mut self, pos: ABox, negs: impl Iterator<Item = &'a ABox>) {
        let start = self.negs.len();
        for n in negs {
            if n.contains(&pos) {
                self.negs.truncate(start);
                return;
            }
            if n.intersects(&pos) {
                self.negs.push(*n);
            }
        }
        self.terms.push(STerm {
            pos,
            neg_start: start as u32,
            neg_len: (self.negs.len() - start) as u32,
        });
    }

    fn term_negs(&self, t: &STerm) -> &[ABox] {
        &self.negs[t.neg_start as usize..(t.neg_start + t.neg_len) as usize]
    }

    /// Number of terms (a size measure, not a count of packets).
    pub fn terms(&self) -> usize {
        self.terms.len()
    }

    /// The terms as (positive box, negative boxes).
    pub fn iter_terms(&self) -> impl Iterator<Item = (&ABox, &[ABox])> {
        self.terms.iter().map(|t| (&t.pos, self.term_negs(t)))
    }

    pub fn union(&self, o: &PacketSet) -> PacketSet {
        let mut s = self.clone();
        for t in &o.terms {
            s.push(t.pos, o.term_negs(t));
        }
        s
    }

    pub fn intersect(&self, o: &PacketSet) -> PacketSet {
        let mut s = PacketSet::empty();
        for a in &self.terms {
            for b in &o.terms {
                if let Some(pos) = a.pos.intersect(&b.pos) {
                    let negs = self.term_negs(a).iter().chain(o.term_negs(b).iter());
                    s.push_iter(pos, negs);
                }
            }
        }
        s
    }

    pub fn intersect_boxes(&self, bs: &BoxSet) -> PacketSet {
        self.intersect(&PacketSet::from_boxes(bs))
    }

    /// `self − o`, exact. `o` is first flattened into disjoint boxes (see
    /// [`PacketSet::flatten`]), which then become holes of every term of
    /// `self`: the number of terms never grows.
    pub fn difference(&self, o: &PacketSet) -> PacketSet {
        let holes = o.flatten();
        let mut out = PacketSet::empty();
        for t in &self.terms {
            let negs = self.term_negs(t).iter().chain(holes.iter());
            out.push_iter(t.pos, negs);
        }
        out
    }

    /// The set as disjoint plain boxes (each term's positive box minus its
    /// holes, by box subtraction). Exact; the number of boxes grows with
    /// the number of holes that cut each term.
    pub fn flatten(&self) -> Vec<ABox> {
        let mut out = Vec::new();
        for t in &self.terms {
            out.extend(subtract_all(&[t.pos], self.term_negs(t)));
        }
        out
    }

    /// Is the set empty? A witness is a readable point (see [`Space::pick`]).
    pub fn check(&self, space: &Space, budget: u64) -> SetAnswer {
        let mut cov = Coverer::new();
        let mut unknown = false;
        for t in &self.terms {
            cov.clear();
            for n in self.term_negs(t) {
                cov.push(*n, 0);
            }
            let probe = space.point(&space.pick(&t.pos, None));
            match cov.run(&t.pos, Some(&probe), budget) {
                Cover::Covered => {}
                Cover::Uncovered(r) => return SetAnswer::Witness(space.pick(&r, None)),
                Cover::Unknown => unknown = true,
            }
        }
        if unknown {
            SetAnswer::Unknown
        } else {
            SetAnswer::Empty
        }
    }

    pub fn is_empty(&self, space: &Space) -> Option<bool> {
        self.check(space, DEFAULT_BUDGET).is_empty()
    }

    /// `self ⊆ o`?
    pub fn subset(&self, o: &PacketSet, space: &Space) -> Option<bool> {
        self.difference(o).is_empty(space)
    }

    /// Same packets? (two inclusions)
    pub fn equals(&self, o: &PacketSet, space: &Space) -> Option<bool> {
        match (self.subset(o, space), o.subset(self, space)) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        }
    }

    /// A concrete point of the set, if one is found within the budget.
    pub fn witness(&self, space: &Space) -> Option<[u128; D]> {
        match self.check(space, DEFAULT_BUDGET) {
            SetAnswer::Witness(w) => Some(w),
            _ => None,
        }
    }

    /// Membership of a point given in atoms (see [`Space::point`]).
    pub fn contains_point(&self, p: &[u32; D]) -> bool {
        self.terms.iter().any(|t| {
            t.pos.contains_point(p) && !self.term_negs(t).iter().any(|n| n.contains_point(p))
        })
    }
}
