//! The chain call graph: which chain jumps to which, call cycles, and from
//! which hooks each user chain is reached.
//!
//! A hook's context decides which matches a rule may use (owner matches
//! only in output, `iface` not in output, `oface` not in input), so a user
//! chain gets the contexts of every base chain that reaches it. Each
//! context remembers the jump that brought it in, to label errors.

use crate::ir::Hook;
use crate::source::Span;
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::VecDeque;

/// A `jump` or `goto` from one chain to another.
#[derive(Debug, Clone, Copy)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    /// The target name in the jump.
    pub span: Span,
}

#[derive(Debug, Default)]
pub struct CallGraph {
    pub edges: Vec<Edge>,
    /// Edge indices leaving each chain, in rule order.
    out: Vec<Vec<usize>>,
}

/// How packets of each hook reach a chain.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reach {
    /// Per hook (`Hook` order): `None` when no packet of that hook reaches
    /// the chain; `Some(None)` for the base chain itself; `Some(Some(e))`
    /// when edge `e` is the last jump on a shortest path from the hook.
    pub hooks: [Option<Option<usize>>; 3],
}

pub fn hook_index(hook: Hook) -> usize {
    match hook {
        Hook::Input => 0,
        Hook::Output => 1,
        Hook::Forward => 2,
    }
}

impl CallGraph {
    pub fn new(chains: usize) -> CallGraph {
        CallGraph {
            edges: Vec::new(),
            out: vec![Vec::new(); chains],
        }
    }

    pub fn add(&mut self, from: usize, to: usize, span: Span) {
        self.out[from].push(self.edges.len());
        self.edges.push(Edge { from, to, span });
    }

    /// One cycle per strongly connected component that has one, each as
    /// the list of its edges in call order.
    pub fn cycles(&self) -> Vec<Vec<usize>> {
        let n = self.out.len();
        let mut g: DiGraph<usize, usize> = DiGraph::with_capacity(n, self.edges.len());
        let nodes: Vec<NodeIndex> = (0..n).map(|i| g.add_node(i)).collect();
        for (i, e) in self.edges.iter().enumerate() {
            g.add_edge(nodes[e.from], nodes[e.to], i);
        }
        let mut scc_of = vec![usize::MAX; n];
        let sccs = petgraph::algo::tarjan_scc(&g);
        for (k, scc) in sccs.iter().enumerate() {
            for &node in scc {
                scc_of[g[node]] = k;
            }
        }
        let mut cycles = Vec::new();
        for scc in &sccs {
            // The smallest chain index of the component, so the report
            // starts where the reader meets the cycle first.
            let Some(start) = scc.iter().map(|&node| g[node]).min() else {
                continue;
            };
            let comp = scc_of[start];
            if scc.len() == 1 && !self.out[start].iter().any(|&e| self.edges[e].to == start) {
                continue;
            }
            if let Some(path) = self.path_back(start, |c| scc_of[c] == comp) {
                cycles.push(path);
            }
        }
        cycles.sort_by_key(|p| p.first().map(|&e| self.edges[e].from));
        cycles
    }

    /// A shortest path of edges from `start` back to `start` through
    /// chains that satisfy `inside`.
    fn path_back(&self, start: usize, inside: impl Fn(usize) -> bool) -> Option<Vec<usize>> {
        let n = self.out.len();
        let mut via: Vec<Option<usize>> = vec![None; n];
        let mut queue = VecDeque::from([start]);
        let mut seen = vec![false; n];
        seen[start] = true;
        while let Some(c) = queue.pop_front() {
            for &e in &self.out[c] {
                let to = self.edges[e].to;
                if to == start {
                    let mut path = vec![e];
                    let mut cur = c;
                    while cur != start {
                        let back = via[cur]?;
                        path.push(back);
                        cur = self.edges[back].from;
                    }
                    path.reverse();
                    return Some(path);
                }
                if !seen[to] && inside(to) {
                    seen[to] = true;
                    via[to] = Some(e);
                    queue.push_back(to);
                }
            }
        }
        None
    }

    /// For every chain, how each hook's packets reach it, given the base
    /// chain of each hook.
    pub fn reach(&self, bases: [Option<usize>; 3]) -> Vec<Reach> {
        let n = self.out.len();
        let mut reach = vec![Reach::default(); n];
        for (h, base) in bases.iter().enumerate() {
            let Some(base) = *base else { continue };
            reach[base].hooks[h] = Some(None);
            let mut queue = VecDeque::from([base]);
            while let Some(c) = queue.pop_front() {
                for &e in &self.out[c] {
                    let to = self.edges[e].to;
                    if reach[to].hooks[h].is_none() {
                        reach[to].hooks[h] = Some(Some(e));
                        queue.push_back(to);
                    }
                }
            }
        }
        reach
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    fn sp(i: usize) -> Span {
        Span::new(FileId(0), i, i + 1)
    }

    #[test]
    fn finds_one_cycle_per_component() {
        // 0 → 1 → 2 → 1, 3 → 3, 0 → 3
        let mut g = CallGraph::new(4);
        g.add(0, 1, sp(0));
        g.add(1, 2, sp(1));
        g.add(2, 1, sp(2));
        g.add(3, 3, sp(3));
        g.add(0, 3, sp(4));
        let cycles = g.cycles();
        assert_eq!(cycles, vec![vec![1, 2], vec![3]]);
    }

    #[test]
    fn reach_records_the_entry_jump() {
        let mut g = CallGraph::new(4);
        g.add(0, 2, sp(0));
        g.add(2, 3, sp(1));
        g.add(1, 3, sp(2));
        let r = g.reach([Some(0), Some(1), None]);
        assert_eq!(r[0].hooks, [Some(None), None, None]);
        assert_eq!(r[3].hooks, [Some(Some(1)), Some(Some(2)), None]);
        assert_eq!(r[2].hooks[hook_index(Hook::Output)], None);
    }
}
