//! ## What it does
//! Reports an input policy where no rule admits new inbound SSH
//! connections: TCP port 22, or the ports of a service named `ssh`, from
//! any address on any interface but loopback.
//!
//! ## Why is this bad
//! Loading such a ruleset on a remote server locks its administrators
//! out; the only way back is a console.
//!
//! ## Example
//! ```hw
//! chain input policy drop {
//!   accept state established, related
//!   accept tcp 80
//! }
//! ```
//!
//! ## How to fix
//! Admit SSH from the admin network (`accept state new tcp 22 from
//! admins`), or add `@allow(lockout)` on the chain when the host is
//! managed another way.

use super::region::Region;
use super::Context;
use crate::diagnostics::Diagnostic;
use crate::ir::dim::{self, Dim};
use crate::ir::{CtState, Hook, Match, Test, Verdict};
use crate::space::reference::Decider;
use crate::space::Approx;

pub fn check(ctx: &Context) -> Vec<Diagnostic> {
    let p = ctx.policy;
    let Some(input) = p.base_chain(Hook::Input) else {
        return Vec::new();
    };
    let Some(an) = ctx.analysis() else {
        return Vec::new();
    };
    let region = Region::all()
        .hook(Hook::Input)
        .families(p.family)
        .states(&[CtState::New])
        .not_loopback(Dim::Iif)
        .at(Dim::Proto, dim::PROTO_TCP as u128)
        .with(Dim::Dport, &ssh_ports(p));
    let Some(boxes) = ctx.boxes(&region) else {
        return Vec::new();
    };
    let may_accept = an.decisions_in(
        input,
        &boxes,
        Approx::Over,
        &|v| v != Some(Verdict::Drop),
        1,
    );
    if !may_accept.found.is_empty() || may_accept.unknown {
        return Vec::new();
    }
    let chain = p.chain(input);
    let mut d = Diagnostic::new(
        "lockout",
        format!("no rule of `{}` admits new SSH connections", chain.name),
        chain.span,
    )
    .primary_label("drops every new SSH connection")
    .note("loading this policy on a remote host locks its administrators out")
    .help("admit SSH from the admin network (`accept state new tcp 22 from admins`), or add `@allow(lockout)` to the chain if the host is managed another way");
    let dropped = an.decisions_in(
        input,
        &boxes,
        Approx::Under,
        &|v| v == Some(Verdict::Drop),
        1,
    );
    if let Some(w) = dropped.found.into_iter().next() {
        if let Decider::Rule(r) = w.by {
            d = d.label(ctx.rule(r).span, "drops the witness");
        }
        d = d.witness(w.witness);
    }
    vec![d]
}

/// Port 22 and the tcp ports of every service named `ssh` the policy uses.
fn ssh_ports(p: &crate::ir::Policy) -> Vec<(u128, u128)> {
    let mut out = vec![(22, 22)];
    let mut scan = |m: &Match| {
        for c in &m.conds {
            if let Test::L4(alts) = &c.test {
                for alt in alts {
                    let named_ssh = alt
                        .service
                        .as_deref()
                        .is_some_and(|s| s.eq_ignore_ascii_case("ssh"));
                    if named_ssh && alt.proto == dim::PROTO_TCP {
                        if let Some(ports) = &alt.dport {
                            out.extend(ports.ranges.iter().map(|&(a, b)| (a as u128, b as u128)));
                        }
                    }
                }
            }
        }
    };
    for c in &p.chains {
        for r in &c.rules {
            scan(&r.matches);
        }
    }
    for a in &p.assertions {
        scan(&a.matches);
    }
    out.sort_unstable();
    out.dedup();
    out
}
