//! ## What it does
//! Finds rules (and default policies) that accept packets in conntrack
//! state INVALID on an interface other than loopback, with a packet that
//! shows it. ICMPv6 neighbour and multicast listener discovery is left out:
//! conntrack does not track it, so it is never INVALID.
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
use super::region::{Region, MLD_TYPES, ND_TYPES};
use super::Context;
use crate::diagnostics::Diagnostic;
use crate::ir::dim::Dim;
use crate::ir::{CtState, Hook};
use crate::space::reference::Decider;
use crate::space::CBox;

/// Every ICMPv6 neighbour and multicast listener discovery packet.
fn icmpv6_control_types() -> Region {
    let types: Vec<(u128, u128)> = ND_TYPES
        .iter()
        .chain(MLD_TYPES)
        .map(|&t| (t as u128, t as u128))
        .collect();
    Region::all()
        .at(Dim::Family, 1)
        .at(Dim::Proto, crate::ir::dim::PROTO_ICMPV6 as u128)
        .with(Dim::IcmpType, &types)
}

pub fn check(ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for hook in Hook::ALL {
        if ctx.policy.base_chain(hook).is_none() {
            continue;
        }
        // Conntrack does not track ICMPv6 neighbour and multicast listener
        // discovery: those packets are UNTRACKED, never INVALID.
        let untracked: Vec<CBox> = icmpv6_control_types().boxes;
        let region = Region::all()
            .hook(hook)
            .families(ctx.policy.family)
            .states(&[CtState::Invalid])
            .not_loopback(Dim::Iif)
            .not_loopback(Dim::Oif)
            .subtract(&untracked);
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
            let (message, label, help) = match a.decider {
                Decider::Policy(c) => (
                    format!(
                        "chain `{}` accepts packets in state INVALID by default",
                        ctx.policy.chain(c).name
                    ),
                    "default policy accept",
                    "add `drop state invalid` near the top of the chain, or make its policy `drop`",
                ),
                _ => (
                    "this rule accepts packets in state INVALID".to_string(),
                    "accepts INVALID packets",
                    "add `drop state invalid` before this rule, or `state new` to it",
                ),
            };
            out.push(
                Diagnostic::new("invalid-accepted", message, span)
                    .primary_label(label)
                    .note("INVALID packets belong to no known connection")
                    .witness(a.witness)
                    .help(help),
            );
        }
    }
    out
}
