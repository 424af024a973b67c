//! The core primitive: is a box covered by a union of boxes?
//!
//! [`Coverer::run`] answers `Covered`, `Uncovered(region)` (a box inside the
//! query that no candidate touches) or `Unknown` (the work budget ran out:
//! never a hang). It splits the query into slabs along the dimension with
//! the most interior candidate boundaries and recurses:
//! - a candidate containing the whole slab proves it covered (and is
//!   recorded as a covering box);
//! - a slab no candidate touches is the witness region (early exit);
//! - with few boundaries the slab is cut at all of them, and slabs whose
//!   candidate lists are identical are solved once (every candidate spans
//!   such a slab in the split dimension, so the sub-problems are equal);
//! - with many boundaries it is cut at the median boundary.
//!
//! The candidate lists of all recursion levels live on one stack of
//! indices: no allocation per slab.

use super::boxes::{ABox, D};

/// The answer of a coverage question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cover {
    Covered,
    /// A non-empty box inside the query that no candidate intersects.
    Uncovered(ABox),
    /// The work budget was exhausted.
    Unknown,
}

/// Boundaries at or below this count are split all at once.
const MULTI: usize = 6;

/// Reusable scratch space and the candidates of one question.
#[derive(Default, Debug, Clone)]
pub struct Coverer {
    boxes: Vec<ABox>,
    tags: Vec<u32>,
    stack: Vec<u32>,
    bounds: Vec<u32>,
    used: Vec<u32>,
    work: u64,
    limit: u64,
}

/// Default work budget of one question (candidate visits).
pub const DEFAULT_BUDGET: u64 = 4_000_000;

enum Step {
    Covered,
    Uncovered(ABox),
    Unknown,
}

impl Coverer {
    pub fn new() -> Coverer {
        Coverer::default()
    }

    /// Forgets the candidates of the previous question.
    pub fn clear(&mut self) {
        self.boxes.clear();
        self.tags.clear();
        self.used.clear();
    }

    /// Adds a candidate box with a caller-defined tag.
    #[inline]
    pub fn push(&mut self, b: ABox, tag: u32) {
        self.boxes.push(b);
        self.tags.push(tag);
    }

    /// The `i`-th candidate box.
    pub fn candidate(&self, i: usize) -> ABox {
        self.boxes[i]
    }

    pub fn len(&self) -> usize {
        self.boxes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.boxes.is_empty()
    }

    /// Work spent by the last [`Coverer::run`].
    pub fn work(&self) -> u64 {
        self.work
    }

    /// Tags of candidates that together cover the query, after a `Covered`
    /// answer (sorted, deduplicated).
    pub fn covering_tags(&mut self) -> Vec<u32> {
        let mut t: Vec<u32> = self.used.iter().map(|&i| self.tags[i as usize]).collect();
        t.sort_unstable();
        t.dedup();
        t
    }

    /// Is `q` covered by the candidates pushed so far? `probe`, a point of
    /// `q`, is tried first: if no candidate holds it, it is the witness.
    pub fn run(&mut self, q: &ABox, probe: Option<&[u32; D]>, limit: u64) -> Cover {
        self.stack.clear();
        self.bounds.clear();
        self.used.clear();
        self.work = 0;
        self.limit = limit;
        for i in 0..self.boxes.len() {
            if self.boxes[i].intersects(q) {
                self.stack.push(i as u32);
            }
        }
        if let Some(p) = probe {
            debug_assert!(q.contains_point(p));
            self.work += self.stack.len() as u64;
            if !self
                .stack
                .iter()
                .any(|&i| self.boxes[i as usize].contains_point(p))
            {
                return Cover::Uncovered(ABox::point(p));
            }
        }
        let n = self.stack.len();
        match self.rec(*q, 0, n) {
            Step::Covered => Cover::Covered,
            Step::Uncovered(b) => Cover::Uncovered(b),
            Step::Unknown => Cover::Unknown,
        }
    }

    /// `stack[s..e]` are the candidates that intersect `q`.
    fn rec(&mut self, q: ABox, s: usize, e: usize) -> Step {
        let n = e - s;
        self.work += n as u64 + 1;
        if self.work > self.limit {
            return Step::Unknown;
        }
        if n == 0 {
            return Step::Uncovered(q);
        }
        let mut counts = [0u32; D];
        for k in s..e {
            let c = &self.boxes[self.stack[k] as usize];
            if c.contains(&q) {
                self.used.push(self.stack[k]);
                return Step::Covered;
            }
            for (d, n) in counts.iter_mut().enumerate() {
                *n += (c.lo[d] > q.lo[d]) as u32 + (c.hi[d] < q.hi[d]) as u32;
            }
        }
        let mut d = 0;
        for i in 1..D {
            if counts[i] > counts[d] {
                d = i;
            }
        }
        debug_assert!(counts[d] > 0);
        let b0 = self.bounds.len();
        for k in s..e {
            let c = &self.boxes[self.stack[k] as usize];
            if c.lo[d] > q.lo[d] {
                self.bounds.push(c.lo[d]);
            }
            if c.hi[d] < q.hi[d] {
                self.bounds.push(c.hi[d] + 1);
            }
        }
        let m = {
            let bs = &mut self.bounds[b0..];
            bs.sort_unstable();
            let mut w = 0;
            for r in 0..bs.len() {
                if r == 0 || bs[r] != bs[w - 1] {
                    bs[w] = bs[r];
                    w += 1;
                }
            }
            w
        };
        let top = self.stack.len();
        let result = if m <= MULTI {
            let mut cuts = [0u32; MULTI + 2];
            cuts[0] = q.lo[d];
            cuts[1..=m].copy_from_slice(&self.bounds[b0..b0 + m]);
            cuts[m + 1] = q.hi[d] + 1;
            self.bounds.truncate(b0);
            self.slabs(q, d, &cuts[..m + 2], s, e)
        } else {
            let mid = self.bounds[b0 + m / 2];
            self.bounds.truncate(b0);
            let mut left = q;
            left.hi[d] = mid - 1;
            let mut right = q;
            right.lo[d] = mid;
            let l0 = self.stack.len();
            self.filter(&left, s, e);
            let l1 = self.stack.len();
            self.filter(&right, s, e);
            let r1 = self.stack.len();
            // The side with fewer candidates is likelier to be uncovered.
            let order = if l1 - l0 <= r1 - l1 {
                [(left, l0, l1), (right, l1, r1)]
            } else {
                [(right, l1, r1), (left, l0, l1)]
            };
            let mut res = Step::Covered;
            for (sq, a, b) in order {
                match self.rec(sq, a, b) {
                    Step::Covered => {}
                    other => {
                        res = other;
                        break;
                    }
                }
            }
            res
        };
        self.stack.truncate(top);
        result
    }

    /// Pushes the candidates of `stack[s..e]` that intersect `q`.
    #[inline]
    fn filter(&mut self, q: &ABox, s: usize, e: usize) {
        for k in s..e {
            let i = self.stack[k];
            if self.boxes[i as usize].intersects(q) {
                self.stack.push(i);
            }
        }
    }

    fn slabs(&mut self, q: ABox, d: usize, cuts: &[u32], s: usize, e: usize) -> Step {
        let k = cuts.len() - 1;
        let mut lists = [(0usize, 0usize); MULTI + 1];
        for j in 0..k {
            let mut sq = q;
            sq.lo[d] = cuts[j];
            sq.hi[d] = cuts[j + 1] - 1;
            let a = self.stack.len();
            self.filter(&sq, s, e);
            lists[j] = (a, self.stack.len());
        }
        let mut order = [0usize; MULTI + 1];
        for (j, o) in order.iter_mut().enumerate().take(k) {
            *o = j;
        }
        order[..k].sort_by_key(|&j| lists[j].1 - lists[j].0);
        for oi in 0..k {
            let j = order[oi];
            let (a, b) = lists[j];
            // Solved already: an earlier slab with the same candidates.
            let dup = order[..oi].iter().any(|&p| {
                let (pa, pb) = lists[p];
                pb - pa == b - a && self.stack[pa..pb] == self.stack[a..b]
            });
            if dup {
                continue;
            }
            let mut sq = q;
            sq.lo[d] = cuts[j];
            sq.hi[d] = cuts[j + 1] - 1;
            match self.rec(sq, a, b) {
                Step::Covered => {}
                other => return other,
            }
        }
        Step::Covered
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::boxes::Bx;

    fn bx(r: &[(u32, u32)]) -> ABox {
        let mut b = Bx {
            lo: [0; D],
            hi: [0; D],
        };
        for (d, &(lo, hi)) in r.iter().enumerate() {
            b.lo[d] = lo;
            b.hi[d] = hi;
        }
        b
    }

    #[test]
    fn union_of_two_covers_what_neither_does_alone() {
        let q = bx(&[(0, 9), (0, 9)]);
        let mut c = Coverer::new();
        c.push(bx(&[(0, 4), (0, 9)]), 1);
        c.push(bx(&[(5, 9), (0, 9)]), 2);
        c.push(bx(&[(20, 30), (0, 9)]), 3);
        assert_eq!(c.run(&q, None, 1000), Cover::Covered);
        assert_eq!(c.covering_tags(), vec![1, 2]);
        c.clear();
        c.push(bx(&[(0, 4), (0, 9)]), 1);
        c.push(bx(&[(6, 9), (0, 9)]), 2);
        match c.run(&q, None, 1000) {
            Cover::Uncovered(w) => {
                assert_eq!((w.lo[0], w.hi[0]), (5, 5));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn budget_gives_unknown() {
        let q = bx(&[(0, 99), (0, 99)]);
        let mut c = Coverer::new();
        for i in 0..100 {
            c.push(bx(&[(i, i), (0, 99)]), i);
        }
        assert_eq!(c.run(&q, None, 10), Cover::Unknown);
        assert_eq!(c.run(&q, None, 1_000_000), Cover::Covered);
    }
}
