//! Boxes: one closed interval per packet dimension.
//!
//! The same generic type serves two coordinate systems: concrete `u128`
//! coordinates ([`CBox`], as in [`crate::ir::dim`]) and compressed `u32` atom
//! indices ([`ABox`], see [`super::Space`]). A box is never empty: every
//! constructor that could produce an empty box returns `Option`.

use crate::ir::dim::{self, Dim};

/// Number of packet dimensions.
pub const D: usize = dim::COUNT;

/// A coordinate type: `u32` atoms or `u128` concrete values.
pub trait Coord: Copy + Ord + Eq + std::fmt::Debug + std::hash::Hash {
    /// `self + 1`; only called below the dimension's maximum.
    fn succ(self) -> Self;
    /// `self - 1`; only called above zero.
    fn pred(self) -> Self;
    const ZERO: Self;
}

impl Coord for u32 {
    fn succ(self) -> Self {
        self + 1
    }
    fn pred(self) -> Self {
        self - 1
    }
    const ZERO: Self = 0;
}

impl Coord for u128 {
    fn succ(self) -> Self {
        self + 1
    }
    fn pred(self) -> Self {
        self - 1
    }
    const ZERO: Self = 0;
}

/// A product of closed intervals `lo[d] ..= hi[d]`, one per dimension.
///
/// INVARIANT: `lo[d] <= hi[d]` for every `d`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Bx<T> {
    pub lo: [T; D],
    pub hi: [T; D],
}

/// A box over atom indices (the engine's working type).
pub type ABox = Bx<u32>;
/// A box over concrete coordinates.
pub type CBox = Bx<u128>;

impl<T: Coord> Bx<T> {
    /// Whether the two boxes share a point.
    #[inline]
    pub fn intersects(&self, o: &Self) -> bool {
        let mut ok = true;
        for d in 0..D {
            ok &= self.lo[d] <= o.hi[d] && o.lo[d] <= self.hi[d];
        }
        ok
    }

    /// Whether `o` lies inside `self`.
    #[inline]
    pub fn contains(&self, o: &Self) -> bool {
        let mut ok = true;
        for d in 0..D {
            ok &= self.lo[d] <= o.lo[d] && o.hi[d] <= self.hi[d];
        }
        ok
    }

    #[inline]
    pub fn contains_point(&self, p: &[T; D]) -> bool {
        let mut ok = true;
        for ((lo, hi), v) in self.lo.iter().zip(&self.hi).zip(p) {
            ok &= lo <= v && v <= hi;
        }
        ok
    }

    /// The common part of two boxes.
    #[inline]
    pub fn intersect(&self, o: &Self) -> Option<Self> {
        let mut r = *self;
        for d in 0..D {
            r.lo[d] = self.lo[d].max(o.lo[d]);
            r.hi[d] = self.hi[d].min(o.hi[d]);
            if r.lo[d] > r.hi[d] {
                return None;
            }
        }
        Some(r)
    }

    /// The box with dimension `d` replaced by `lo..=hi` (must be non-empty).
    pub fn with(mut self, d: Dim, lo: T, hi: T) -> Self {
        debug_assert!(lo <= hi);
        self.lo[d as usize] = lo;
        self.hi[d as usize] = hi;
        self
    }

    /// The one-point box.
    pub fn point(p: &[T; D]) -> Self {
        Bx { lo: *p, hi: *p }
    }

    /// Appends `self − o` to `out` as at most `2·D` disjoint boxes.
    pub fn subtract_into(&self, o: &Self, out: &mut Vec<Self>) {
        if !self.intersects(o) {
            out.push(*self);
            return;
        }
        let mut cur = *self;
        for d in 0..D {
            if cur.lo[d] < o.lo[d] {
                let mut piece = cur;
                piece.hi[d] = o.lo[d].pred();
                out.push(piece);
                cur.lo[d] = o.lo[d];
            }
            if cur.hi[d] > o.hi[d] {
                let mut piece = cur;
                piece.lo[d] = o.hi[d].succ();
                out.push(piece);
                cur.hi[d] = o.hi[d];
            }
        }
        // What is left of `cur` lies inside `o`.
    }
}

impl CBox {
    /// Every packet coordinate (valid or not).
    pub fn full() -> CBox {
        static FULL: std::sync::OnceLock<CBox> = std::sync::OnceLock::new();
        *FULL.get_or_init(|| {
            let mut hi = [0u128; D];
            for d in dim::ALL {
                hi[d as usize] = dim::max(d);
            }
            Bx { lo: [0; D], hi }
        })
    }
}

/// The largest coordinate of every dimension (cached [`dim::max`]).
pub fn dim_max(d: usize) -> u128 {
    CBox::full().hi[d]
}

/// `a − ∪ bs` as disjoint boxes (exact; the number of pieces grows with
/// the number of boxes that cut `a`).
pub fn subtract_all<T: Coord>(a: &[Bx<T>], bs: &[Bx<T>]) -> Vec<Bx<T>> {
    let mut cur: Vec<Bx<T>> = a.to_vec();
    let mut next = Vec::new();
    for b in bs {
        next.clear();
        for p in &cur {
            p.subtract_into(b, &mut next);
        }
        std::mem::swap(&mut cur, &mut next);
        if cur.is_empty() {
            break;
        }
    }
    cur
}

/// Pairwise intersection of two unions of boxes.
pub fn intersect_all<T: Coord>(a: &[Bx<T>], b: &[Bx<T>]) -> Vec<Bx<T>> {
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    for x in a {
        for y in b {
            if let Some(z) = x.intersect(y) {
                out.push(z);
            }
        }
    }
    out
}

/// Drops boxes that lie inside another box of the list (keeps the first of
/// equal boxes). Quadratic: only for short lists.
pub fn drop_contained<T: Coord>(v: &mut Vec<Bx<T>>) {
    if v.len() < 2 || v.len() > 64 {
        return;
    }
    let mut keep = vec![true; v.len()];
    for i in 0..v.len() {
        if !keep[i] {
            continue;
        }
        for j in 0..v.len() {
            if i != j && keep[j] && v[j].contains(&v[i]) && (v[i] != v[j] || j < i) {
                keep[i] = false;
                break;
            }
        }
    }
    let mut k = 0;
    v.retain(|_| {
        k += 1;
        keep[k - 1]
    });
}

/// A union of atom boxes (possibly overlapping).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BoxSet {
    pub boxes: Vec<ABox>,
}

impl BoxSet {
    pub fn empty() -> BoxSet {
        BoxSet { boxes: Vec::new() }
    }

    pub fn from_box(b: ABox) -> BoxSet {
        BoxSet { boxes: vec![b] }
    }

    /// Whether there are no boxes (no packets: boxes are never empty).
    pub fn is_empty(&self) -> bool {
        self.boxes.is_empty()
    }

    pub fn union(&self, o: &BoxSet) -> BoxSet {
        let mut boxes = self.boxes.clone();
        boxes.extend_from_slice(&o.boxes);
        BoxSet { boxes }
    }

    pub fn intersect(&self, o: &BoxSet) -> BoxSet {
        BoxSet {
            boxes: intersect_all(&self.boxes, &o.boxes),
        }
    }

    pub fn contains_point(&self, p: &[u32; D]) -> bool {
        self.boxes.iter().any(|b| b.contains_point(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(lo0: u32, hi0: u32, lo1: u32, hi1: u32) -> ABox {
        let mut x = Bx {
            lo: [0; D],
            hi: [9; D],
        };
        x.lo[0] = lo0;
        x.hi[0] = hi0;
        x.lo[1] = lo1;
        x.hi[1] = hi1;
        x
    }

    #[test]
    fn subtraction_is_exact_and_disjoint() {
        let a = b(0, 9, 0, 9);
        let c = b(3, 5, 2, 7);
        let mut out = Vec::new();
        a.subtract_into(&c, &mut out);
        assert_eq!(out.len(), 4);
        for x in 0..10u32 {
            for y in 0..10u32 {
                let mut p = [0u32; D];
                p[0] = x;
                p[1] = y;
                let n = out.iter().filter(|o| o.contains_point(&p)).count();
                let expect = !(3..=5).contains(&x) || !(2..=7).contains(&y);
                assert_eq!(n, usize::from(expect), "point {x},{y}");
            }
        }
    }

    #[test]
    fn drop_contained_keeps_one_of_equal_boxes() {
        let mut v = vec![b(0, 3, 0, 3), b(0, 3, 0, 3), b(1, 2, 1, 2), b(5, 6, 0, 9)];
        drop_contained(&mut v);
        assert_eq!(v, vec![b(0, 3, 0, 3), b(5, 6, 0, 9)]);
    }
}
