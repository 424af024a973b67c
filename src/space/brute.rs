//! A deliberately simple set representation, used only as a test oracle:
//! a bitset over every point of a tiny domain.
//!
//! The domain varies `k + 1` values in each of a few chosen dimensions (all
//! other coordinates are 0). It is exact for boxes whose bounds in the
//! chosen dimensions lie in `0 .. k` (or span the whole dimension) and that
//! span the whole of every other dimension: then every point is equivalent
//! to its representative `min(v, k)` per chosen dimension.

use super::algebra::SetAlgebra;
use super::boxes::{CBox, D};

pub struct BruteAlgebra {
    dims: Vec<usize>,
    k: u128,
}

impl BruteAlgebra {
    pub fn new(dims: &[crate::ir::dim::Dim], k: u128) -> BruteAlgebra {
        BruteAlgebra {
            dims: dims.iter().map(|&d| d as usize).collect(),
            k,
        }
    }

    fn size(&self) -> usize {
        (self.k as usize + 1).pow(self.dims.len() as u32)
    }

    /// The point with index `i` of the domain.
    pub fn point(&self, mut i: usize) -> [u128; D] {
        let mut p = [0u128; D];
        for &d in &self.dims {
            p[d] = (i % (self.k as usize + 1)) as u128;
            i /= self.k as usize + 1;
        }
        p
    }

    /// Every point of the domain.
    pub fn points(&self) -> impl Iterator<Item = [u128; D]> + '_ {
        (0..self.size()).map(|i| self.point(i))
    }

    fn index(&self, p: &[u128; D]) -> usize {
        let mut i = 0;
        for &d in self.dims.iter().rev() {
            i = i * (self.k as usize + 1) + p[d].min(self.k) as usize;
        }
        i
    }

    fn rep(&self, p: &[u128; D]) -> [u128; D] {
        self.point(self.index(p))
    }
}

impl SetAlgebra for BruteAlgebra {
    type Set = Vec<bool>;

    fn set_of(&self, boxes: &[CBox]) -> Vec<bool> {
        self.points()
            .map(|p| boxes.iter().any(|b| b.contains_point(&p)))
            .collect()
    }

    fn union(&self, a: &Vec<bool>, b: &Vec<bool>) -> Vec<bool> {
        a.iter().zip(b).map(|(x, y)| *x || *y).collect()
    }

    fn intersect(&self, a: &Vec<bool>, b: &Vec<bool>) -> Vec<bool> {
        a.iter().zip(b).map(|(x, y)| *x && *y).collect()
    }

    fn difference(&self, a: &Vec<bool>, b: &Vec<bool>) -> Vec<bool> {
        a.iter().zip(b).map(|(x, y)| *x && !*y).collect()
    }

    fn is_empty(&self, a: &Vec<bool>) -> bool {
        !a.iter().any(|x| *x)
    }

    fn equal(&self, a: &Vec<bool>, b: &Vec<bool>) -> bool {
        a == b
    }

    fn witness(&self, a: &Vec<bool>) -> Option<[u128; D]> {
        a.iter().position(|x| *x).map(|i| self.point(i))
    }

    fn contains(&self, a: &Vec<bool>, p: &[u128; D]) -> bool {
        a[self.index(p)]
    }

    fn covered(&self, q: &CBox, by: &[CBox]) -> bool {
        self.points()
            .filter(|p| q.contains_point(p))
            .all(|p| by.iter().any(|b| b.contains_point(&p)))
    }
}

impl BruteAlgebra {
    /// Whether two points are the same point of the domain.
    pub fn same(&self, a: &[u128; D], b: &[u128; D]) -> bool {
        self.rep(a) == self.rep(b)
    }
}
