//! A static spatial index over tagged atom boxes.
//!
//! A ternary k-d tree of boxes: each node splits one dimension at the
//! median box centre; a box entirely on one side goes down that side, and
//! the boxes that straddle the split form a third subtree (indexed again,
//! on whatever dimension separates *them*), so wildcard rules neither widen
//! every node on their path nor pile up in long lists. Each node picks the
//! dimension where the fewest boxes straddle, and keeps the bounding box
//! and the smallest and largest tag of its subtree. A query
//! lists the boxes that intersect a box and whose tags lie in a range, so
//! "earlier rules that overlap this rule" is one query with tags `0..i`.

use super::boxes::{ABox, D};

const LEAF: usize = 8;
/// Nodes with more boxes choose their split on a sample of this size.
const SAMPLE: usize = 512;
/// Deeper subtrees become one leaf (bounds recursion on odd inputs).
const MAX_DEPTH: usize = 60;

#[derive(Clone, Debug)]
struct Node {
    bbox: ABox,
    tag_lo: u32,
    tag_hi: u32,
    /// A leaf's boxes: `start .. start + len` (0 for inner nodes).
    start: u32,
    len: u32,
    /// Split dimension and value: left holds boxes with `hi < at`, right
    /// boxes with `lo >= at`, mid the boxes that hold both `at - 1` and `at`.
    dim: u8,
    at: u32,
    left: u32,
    mid: u32,
    right: u32,
}

const NONE: u32 = u32::MAX;

/// The index. Boxes are stored in tree order for locality.
#[derive(Clone, Debug, Default)]
pub struct BoxIndex {
    nodes: Vec<Node>,
    boxes: Vec<ABox>,
    tags: Vec<u32>,
}

impl BoxIndex {
    /// Builds the index; `shape` is the atom count of every dimension.
    pub fn build(items: Vec<(ABox, u32)>, shape: &[u32; D]) -> BoxIndex {
        let _ = shape;
        let mut items = items;
        let mut idx = BoxIndex {
            nodes: Vec::with_capacity(items.len() / LEAF * 2 + 1),
            boxes: Vec::new(),
            tags: Vec::new(),
        };
        if !items.is_empty() {
            let n = items.len();
            let mut scratch = Vec::new();
            idx.build_rec(&mut items, 0, n, &mut scratch, 0);
        }
        idx.boxes = items.iter().map(|x| x.0).collect();
        idx.tags = items.iter().map(|x| x.1).collect();
        idx
    }

    pub fn len(&self) -> usize {
        self.boxes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.boxes.is_empty()
    }

    fn build_rec(
        &mut self,
        items: &mut [(ABox, u32)],
        s: usize,
        e: usize,
        scratch: &mut Vec<u64>,
        depth: usize,
    ) -> u32 {
        let me = self.nodes.len() as u32;
        let slice = &items[s..e];
        let mut bbox = slice[0].0;
        let (mut tlo, mut thi) = (u32::MAX, 0);
        for (b, t) in slice {
            for d in 0..D {
                bbox.lo[d] = bbox.lo[d].min(b.lo[d]);
                bbox.hi[d] = bbox.hi[d].max(b.hi[d]);
            }
            tlo = tlo.min(*t);
            thi = thi.max(*t);
        }
        self.nodes.push(Node {
            bbox,
            tag_lo: tlo,
            tag_hi: thi,
            start: s as u32,
            len: (e - s) as u32,
            dim: 0,
            at: 0,
            left: NONE,
            mid: NONE,
            right: NONE,
        });
        if e - s <= LEAF || depth >= MAX_DEPTH {
            return me;
        }
        // The split with the fewest straddlers (ties: the most balanced).
        let mut best: Option<(usize, u32, usize)> = None;
        let mut best_cost = usize::MAX;
        // Large nodes judge the dimensions on a sample.
        let step = (slice.len() / SAMPLE).max(1);
        let sample = || slice.iter().step_by(step);
        let m = sample().count();
        for d in 0..D {
            if bbox.lo[d] == bbox.hi[d] {
                continue;
            }
            scratch.clear();
            scratch.extend(sample().map(|(b, _)| b.lo[d] as u64 + b.hi[d] as u64));
            let mid = scratch.len() / 2;
            let (_, &mut c, _) = scratch.select_nth_unstable(mid);
            // Split just above the median centre (rounded up to an atom).
            let at = (c / 2 + 1) as u32;
            let (mut left, mut right) = (0usize, 0usize);
            for (b, _) in sample() {
                if b.hi[d] < at {
                    left += 1;
                } else if b.lo[d] >= at {
                    right += 1;
                }
            }
            let straddle = m - left - right;
            if left == 0 || right == 0 {
                continue;
            }
            let cost = straddle * 4 + left.abs_diff(right);
            if cost < best_cost {
                best_cost = cost;
                best = Some((d, at, straddle));
            }
        }
        let Some((d, at, straddle)) = best else {
            return me; // Nothing separates these boxes: one big leaf.
        };
        if straddle * 10 > m * 9 {
            return me; // Hardly any box would move: one leaf.
        }
        // Partition: straddlers, then left, then right.
        let part = &mut items[s..e];
        let mut i = 0;
        for j in 0..part.len() {
            let b = &part[j].0;
            if b.lo[d] < at && b.hi[d] >= at {
                part.swap(i, j);
                i += 1;
            }
        }
        let ls = i;
        for j in ls..part.len() {
            if part[j].0.hi[d] < at {
                part.swap(i, j);
                i += 1;
            }
        }
        let rs = i;
        if rs == ls || rs == part.len() {
            return me; // The sample misled: no real split, one leaf.
        }
        let mid = if ls > 0 {
            self.build_rec(items, s, s + ls, scratch, depth + 1)
        } else {
            NONE
        };
        let left = self.build_rec(items, s + ls, s + rs, scratch, depth + 1);
        let right = self.build_rec(items, s + rs, e, scratch, depth + 1);
        let node = &mut self.nodes[me as usize];
        node.len = 0;
        node.mid = mid;
        node.dim = d as u8;
        node.at = at;
        node.left = left;
        node.right = right;
        me
    }

    /// Calls `f(box, tag)` for every box that intersects `q` with a tag in
    /// `tag_lo .. tag_hi`. `stack` is scratch space.
    #[inline]
    pub fn query(
        &self,
        q: &ABox,
        tag_lo: u32,
        tag_hi: u32,
        stack: &mut Vec<u32>,
        mut f: impl FnMut(&ABox, u32),
    ) {
        if self.nodes.is_empty() || tag_lo >= tag_hi {
            return;
        }
        stack.clear();
        stack.push(0);
        while let Some(n) = stack.pop() {
            let node = &self.nodes[n as usize];
            if node.tag_hi < tag_lo || node.tag_lo >= tag_hi || !node.bbox.intersects(q) {
                continue;
            }
            let (s, e) = (node.start as usize, (node.start + node.len) as usize);
            for k in s..e {
                let t = self.tags[k];
                if t >= tag_lo && t < tag_hi && self.boxes[k].intersects(q) {
                    f(&self.boxes[k], t);
                }
            }
            if node.left != NONE {
                let d = node.dim as usize;
                if node.mid != NONE {
                    stack.push(node.mid);
                }
                if q.hi[d] >= node.at {
                    stack.push(node.right);
                }
                if q.lo[d] < node.at {
                    stack.push(node.left);
                }
            }
        }
    }

    /// Calls `f(box, tag)` for every box with a tag in range that holds the
    /// point `p`.
    pub fn query_point(
        &self,
        p: &[u32; D],
        tag_lo: u32,
        tag_hi: u32,
        stack: &mut Vec<u32>,
        f: impl FnMut(&ABox, u32),
    ) {
        self.query(&ABox::point(p), tag_lo, tag_hi, stack, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::boxes::Bx;

    #[test]
    fn query_finds_exactly_the_intersecting_boxes_in_range() {
        let shape = [64u32; D];
        let mut items = Vec::new();
        let mut seed = 7u64;
        let mut rnd = |m: u32| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) % m as u64) as u32
        };
        for t in 0..3000u32 {
            let mut b = Bx {
                lo: [0; D],
                hi: [63; D],
            };
            for d in 0..3 {
                // Some wildcards, some narrow boxes.
                if rnd(4) == 0 {
                    continue;
                }
                let a = rnd(64);
                let w = rnd(16);
                b.lo[d] = a;
                b.hi[d] = (a + w).min(63);
            }
            items.push((b, t));
        }
        let idx = BoxIndex::build(items.clone(), &shape);
        let mut stack = Vec::new();
        for qi in 0..100 {
            let q = items[qi * 7].0;
            let (lo, hi) = (rnd(1000), 1000 + rnd(2000));
            let mut got = Vec::new();
            idx.query(&q, lo, hi, &mut stack, |_, t| got.push(t));
            got.sort_unstable();
            let want: Vec<u32> = items
                .iter()
                .filter(|(b, t)| *t >= lo && *t < hi && b.intersects(&q))
                .map(|x| x.1)
                .collect();
            assert_eq!(got, want);
        }
    }
}
