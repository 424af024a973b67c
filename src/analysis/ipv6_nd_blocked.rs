//! ## What it does
//! Finds policies that drop ICMPv6 neighbour discovery (router and
//! neighbour solicitations and advertisements, types 133-136) or multicast
//! listener discovery (types 130-132 and 143) between link-local
//! addresses, in `input` or `output`. The packets are checked as the
//! kernel sends them: in conntrack state UNTRACKED, and in `output` from
//! the kernel's own socket. A packet that may be dropped (a rate-limited
//! accept) counts as dropped.
//!
//! ## Why is this bad
//! Without neighbour discovery a host cannot find its router or
//! neighbours: it loses IPv6 connectivity entirely, often long after the
//! change, when caches expire. These packets are UNTRACKED, so `state
//! established, related` does not admit them.
//!
//! ## Example
//! ```hw
//! policy host { family inet }
//! chain input policy drop {
//!   accept state established, related   # NDP is dropped
//! }
//! ```
//!
//! ## How to fix
//! Accept the neighbour discovery types early in `input` and `output`:
//! `accept icmpv6 nd-router-solicit, nd-router-advert, nd-neighbor-solicit,
//! nd-neighbor-advert` (and the MLD types if the host uses multicast).

use super::region::{icmpv6_control, MLD_TYPES, ND_TYPES};
use super::Context;
use crate::diagnostics::Diagnostic;
use crate::ir::dim::{self, Dim};
use crate::ir::{Family, Hook, Verdict};
use crate::space::eval::Decision;
use crate::space::packet::icmp_type_name;
use crate::space::reference::Decider;
use crate::space::Approx;

pub fn check(ctx: &Context) -> Vec<Diagnostic> {
    let p = ctx.policy;
    let Some(an) = ctx.analysis() else {
        return Vec::new();
    };
    if !p.family.v6 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for hook in [Hook::Input, Hook::Output] {
        let Some(chain) = p.base_chain(hook) else {
            continue;
        };
        let mut blocked: Vec<(u8, Decision)> = Vec::new();
        for &t in ND_TYPES.iter().chain(MLD_TYPES) {
            let mut region = icmpv6_control(&[t]).hook(hook);
            region = match hook {
                Hook::Output => region
                    .not_loopback(Dim::Oif)
                    .with(Dim::Uid, &[(dim::KERNEL_SOCKET, dim::KERNEL_SOCKET)])
                    .with(Dim::Gid, &[(dim::KERNEL_SOCKET, dim::KERNEL_SOCKET)]),
                _ => region.not_loopback(Dim::Iif),
            };
            let Some(boxes) = ctx.boxes(&region) else {
                continue;
            };
            let may_drop = an.decisions_in(
                chain,
                &boxes,
                Approx::Over,
                &|v| v != Some(Verdict::Accept),
                1,
            );
            if let Some(d) = may_drop.found.into_iter().next() {
                blocked.push((t, d));
            }
        }
        if blocked.is_empty() {
            continue;
        }
        out.push(finding(ctx, chain, hook, &blocked));
    }
    out
}

fn finding(
    ctx: &Context,
    chain: crate::ir::ChainId,
    hook: Hook,
    blocked: &[(u8, Decision)],
) -> Diagnostic {
    let c = ctx.policy.chain(chain);
    let nd = blocked.iter().any(|(t, _)| ND_TYPES.contains(t));
    let what = if nd {
        "neighbour discovery: the host loses IPv6"
    } else {
        "multicast listener discovery: IPv6 multicast breaks"
    };
    let names: Vec<String> = blocked
        .iter()
        .map(|(t, _)| icmp_type_name(Family::V6, *t).map_or_else(|| t.to_string(), str::to_string))
        .collect();
    // Show a neighbour discovery witness first: it is the one that matters.
    let (_, w) = blocked
        .iter()
        .find(|(t, _)| ND_TYPES.contains(t))
        .unwrap_or(&blocked[0]);
    let mut d = Diagnostic::new(
        "ipv6-nd-blocked",
        format!("chain `{}` drops ICMPv6 {what}", c.name),
        c.span,
    )
    .primary_label(format!("drops {}", names.join(", ")))
    .note(match hook {
        Hook::Input => "these packets are UNTRACKED: `state established, related` does not admit them",
        _ => "the kernel sends these packets from its own socket, in state UNTRACKED: neither `state established, related` nor `user` rules admit them",
    })
    .help(format!(
        "accept them early in `{}`: `accept icmpv6 {}`",
        c.name,
        names.join(", ")
    ));
    if let Decider::Rule(r) = w.by {
        d = d.label(ctx.rule(r).span, "drops the witness");
    }
    d.witness(w.witness.clone())
}
