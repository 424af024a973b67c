//! ## What it does
//! Finds rules (and default policies) that accept packets in conntrack
//! state INVALID on an interface other than loopback, with a packet that
//! shows it.
//!
//! ## Why is this bad
//! INVALID packets belong to no known connection: out-of-window TCP
//! segments, malformed packets, stray ICMP errors. Accepting them helps
//! scans and some evasion techniques.
//!
//! ## Example
//! ```hw
//! chain input policy drop {
//!   accept tcp 80                        # also accepts INVALID packets
//! }
//! ```
//!
//! ## How to fix
//! Add `drop state invalid` near the top of the chain, before the
//! accepting rules (or add `state new` to the rule).

use super::flows::accepted_in;
use super::region::Region;
use super::Context;
use crate::diagnostics::Diagnostic;
use crate::ir::dim::Dim;
use crate::ir::{CtState, Hook};
use crate::space::reference::Decider;

pub fn check(ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for hook in Hook::ALL {
        if ctx.policy.base_chain(hook).is_none() {
            continue;
        }
        let region = Region::all()
            .hook(hook)
            .families(ctx.policy.family)
            .states(&[CtState::Invalid])
            .not_loopback(Dim::Iif)
            .not_loopback(Dim::Oif);
        let Some(boxes) = ctx.boxes(&region) else {
            continue;
        };
        for a in accepted_in(ctx, hook, &boxes, false).by {
            // Only definite findings: a warning needs a packet that is
            // really accepted.
            if !a.definite {
                continue;
            }
            let Some(span) = ctx.decider_span(&a.decider) else {
                continue;
            };
            let (message, label) = match a.decider {
                Decider::Policy(c) => (
                    format!(
                        "chain `{}` accepts packets in state INVALID by default",
                        ctx.policy.chain(c).name
                    ),
                    "default policy accept",
                ),
                _ => (
                    "this rule accepts packets in state INVALID".to_string(),
                    "accepts INVALID packets",
                ),
            };
            out.push(
                Diagnostic::new("invalid-accepted", message, span)
                    .primary_label(label)
                    .note("INVALID packets belong to no known connection")
                    .witness(a.witness)
                    .help("add `drop state invalid` before this rule, or `state new` to it"),
            );
        }
    }
    out
}
