//! ## What it does
//! Finds a user chain that no packet can reach: no `jump` or `goto` leads
//! to it from a built-in chain, or every rule that jumps to it never
//! matches.
//!
//! ## Why is this bad
//! Its rules never run. Usually a `jump` was forgotten or removed, or was
//! placed below a rule that takes all its packets.
//!
//! ## Example
//! ```hw
//! chain ssh-in {
//!   accept from admins
//! }
//! chain input policy drop {
//!   accept state established, related   # no `jump ssh-in`
//! }
//! ```
//!
//! ## How to fix
//! Add a `jump` (or `goto`) to the chain where its rules should apply, or
//! delete the chain.

use super::Context;
use crate::diagnostics::Diagnostic;
use crate::ir::{Action, ChainId, ChainKind, Policy};

pub fn check(ctx: &Context) -> Vec<Diagnostic> {
    let policy = ctx.policy;
    let called = callable(policy);
    let mut out = Vec::new();
    for (ci, c) in policy.chains.iter().enumerate() {
        let id = ChainId(ci as u32);
        if c.kind != ChainKind::User {
            continue;
        }
        let jumps: Vec<_> = policy
            .chains
            .iter()
            .flat_map(|caller| caller.rules.iter())
            .filter(|r| matches!(r.action, Action::Jump(t) | Action::Goto(t) if t == id))
            .collect();
        let diag = if jumps.is_empty() {
            Diagnostic::new(
                "unreachable-chain",
                format!("chain `{}` is never used: no rule jumps to it", c.name),
                c.span,
            )
            .primary_label("no `jump` or `goto` leads here")
        } else if !called[ci] {
            let mut d = Diagnostic::new(
                "unreachable-chain",
                format!(
                    "chain `{}` is unreachable: only chains that no built-in chain reaches jump to it",
                    c.name
                ),
                c.span,
            )
            .primary_label("never runs");
            for j in jumps.iter().take(super::rules::MAX_LABELS) {
                d = d.label(j.span, "in an unreachable chain");
            }
            d
        } else if ctx.analysis().is_some_and(|an| an.contexts(id) == 0) {
            let mut d = Diagnostic::new(
                "unreachable-chain",
                format!(
                    "chain `{}` is unreachable: the rules that jump to it never match",
                    c.name
                ),
                c.span,
            )
            .primary_label("never runs");
            for j in jumps.iter().take(super::rules::MAX_LABELS) {
                d = d.label(j.span, "never matches a packet");
            }
            d
        } else {
            continue;
        };
        out.push(diag.help(format!(
            "add `jump {}` where its rules should apply, or delete the chain",
            c.name
        )));
    }
    out
}

/// Which chains a base chain reaches through `jump` and `goto` rules.
fn callable(policy: &Policy) -> Vec<bool> {
    let mut seen = vec![false; policy.chains.len()];
    let mut stack: Vec<usize> = policy
        .chains
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c.kind, ChainKind::Base(_)))
        .map(|(i, _)| i)
        .collect();
    for &i in &stack {
        seen[i] = true;
    }
    while let Some(i) = stack.pop() {
        for r in &policy.chains[i].rules {
            if let Action::Jump(t) | Action::Goto(t) = r.action {
                let t = t.0 as usize;
                if !seen[t] {
                    seen[t] = true;
                    stack.push(t);
                }
            }
        }
    }
    seen
}
