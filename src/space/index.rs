//! A static spatial index over tagged atom boxes.
//!
//! A bounding-volume hierarchy: the boxes are split recursively at the
//! median centre of the dimension where the centres spread most (relative
//! to the dimension's atom count); every node keeps the bounding box and
//! the smallest and largest tag below it. A query lists the boxes that
//! intersect a box and whose tags lie in a range, so "earlier rules that
//! overlap this rule" is one query with the tag range `0..i`.

use super::boxes::{ABox, D};

const LEAF: usize = 8;

#[derive(Clone, Debug)]
struct Node {
    bbox: ABox,
    tag_lo: u32,
    tag_hi: u32,
    start: u32,
    len: u32,
    /// Index of the right child; the left child follows the node. 0 = leaf.
    right: u32,
}

/// The index. Items are stored in tree order for locality.
#[derive(Clone, Debug, Default)]
pub struct BoxIndex {
    nodes: Vec<Node>,
    boxes: Vec<ABox>,
    tags: Vec<u32>,
}

impl BoxIndex {
    /// Builds the index; `shape` is the atom count of every dimension.
    pub fn build(items: Vec<(ABox, u32)>, shape: &[u32; D]) -> BoxIndex {
        let mut items = items;
        let mut idx = BoxIndex {
            nodes: Vec::with_capacity(items.len() / LEAF * 2 + 1),
            boxes: Vec::new(),
            tags: Vec::new(),
        };
        if !items.is_empty() {
            let n = items.len();
            idx.build_rec(&mut items, 0, n, shape);
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
        shape: &[u32; D],
    ) -> usize {
        let me = self.nodes.len();
        let slice = &items[s..e];
        let mut bbox = slice[0].0;
        let (mut tlo, mut thi) = (u32::MAX, 0);
        let mut cmin = [u64::MAX; D];
        let mut cmax = [0u64; D];
        for (b, t) in slice {
            for d in 0..D {
                bbox.lo[d] = bbox.lo[d].min(b.lo[d]);
                bbox.hi[d] = bbox.hi[d].max(b.hi[d]);
                let c = b.lo[d] as u64 + b.hi[d] as u64;
                cmin[d] = cmin[d].min(c);
                cmax[d] = cmax[d].max(c);
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
            right: 0,
        });
        if e - s <= LEAF {
            return me;
        }
        let mut best = None;
        let mut best_spread = 0.0f64;
        for d in 0..D {
            let spread = (cmax[d] - cmin[d]) as f64 / (2.0 * shape[d].max(1) as f64);
            if cmax[d] > cmin[d] && spread > best_spread {
                best_spread = spread;
                best = Some(d);
            }
        }
        let Some(d) = best else {
            // All centres equal: a leaf, however large.
            return me;
        };
        let mid = (e - s) / 2;
        items[s..e].select_nth_unstable_by_key(mid, |(b, _)| b.lo[d] as u64 + b.hi[d] as u64);
        self.build_rec(items, s, s + mid, shape);
        let r = self.build_rec(items, s + mid, e, shape);
        self.nodes[me].right = r as u32;
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
            if node.right == 0 {
                let (s, e) = (node.start as usize, (node.start + node.len) as usize);
                for k in s..e {
                    let t = self.tags[k];
                    if t >= tag_lo && t < tag_hi && self.boxes[k].intersects(q) {
                        f(&self.boxes[k], t);
                    }
                }
            } else {
                stack.push(node.right);
                stack.push(n + 1);
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
        for t in 0..500u32 {
            let mut b = Bx {
                lo: [0; D],
                hi: [63; D],
            };
            for d in 0..3 {
                let a = rnd(64);
                let w = rnd(16);
                b.lo[d] = a;
                b.hi[d] = (a + w).min(63);
            }
            items.push((b, t));
        }
        let idx = BoxIndex::build(items.clone(), &shape);
        let mut stack = Vec::new();
        for qi in 0..50 {
            let q = items[qi * 7].0;
            let (lo, hi) = (rnd(200), 200 + rnd(300));
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
