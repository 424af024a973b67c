//! ## What it does
//! Finds the flows that a user other than root can start and that no
//! `egress` block declares, grouped by the rule (or default policy) that
//! accepts them:
//! - outbound: packets from a non-root user's socket in conntrack state
//!   NEW, UNTRACKED or INVALID that `output` accepts, for the protocols a
//!   user can send without privileges (tcp, udp, sctp, dccp, udplite, and
//!   ICMP echo through ping sockets);
//! - inbound: new tcp, udp or sctp connections to ports 1024 and up that
//!   `input` accepts, since any user can listen there.
//!
//! Loopback is left out (it never leaves the host), and so are families
//! the policy does not filter (`ipv6-unfiltered` reports them). Users that
//! an `egress` block selects are checked by that block instead (a flow it
//! does not list is an `assertion-failed` error); inbound flows that an
//! `egress` entry lists are declared. Where a rule uses a test hwc does not
//! model (`limit`), the finding says the flow only may pass; where the
//! analysis runs out of its work budget, it says it cannot prove that no
//! flow passes.
//!
//! ## Why is this bad
//! A compromised service (a web server running as `www-data`) can call
//! home, tunnel data out through ICMP echo or DNS, send spam or scan other
//! hosts through such a path. Most server policies mean to allow only a
//! few destinations (DNS, NTP) to non-root users.
//!
//! ## Example
//! ```hw
//! chain output policy drop {
//!   accept state new user root
//!   accept icmp echo-request            # any user, anywhere: a tunnel
//! }
//! ```
//!
//! ## How to fix
//! Restrict the accepting rule to `user root` or to the users and
//! destinations that need it, or declare the intended flows in an
//! `egress user not root only { ... }` block.

use super::describe::{self, flow_class};
use super::flows::{accepted_in, Accepting};
use super::region::{
    nonroot_socket, unprivileged_listen, user_sendable, Region, FLOW_START, ICMPV6_ECHO_REQUEST,
    ICMP_ECHO_REQUEST,
};
use super::Context;
use crate::diagnostics::Diagnostic;
use crate::ir::dim::{self, Dim};
use crate::ir::{CtState, Hook, Packet};
use crate::space::reference::Decider;
use crate::space::{convert, Approx, CBox};

pub fn check(ctx: &Context) -> Vec<Diagnostic> {
    if let Some(d) = ctx.cannot_analyse(
        "nonroot-egress",
        "that users other than root start no flows",
    ) {
        return vec![d];
    }
    let p = ctx.policy;
    let selected: Vec<CBox> = p
        .egress
        .iter()
        .flat_map(|e| convert::cond_boxes(&e.selector, Approx::Over))
        .collect();
    let declared: Vec<CBox> = p
        .egress
        .iter()
        .flat_map(|e| e.allowed.iter())
        .flat_map(|m| convert::match_boxes(m, Approx::Under))
        .collect();
    let outbound = Region::all()
        .hook(Hook::Output)
        .families(p.family)
        .intersect(&nonroot_socket())
        .states(FLOW_START)
        .not_loopback(Dim::Oif)
        .intersect(&user_sendable())
        .subtract(&selected);
    let inbound = Region::all()
        .hook(Hook::Input)
        .families(p.family)
        .intersect(&unprivileged_listen())
        .states(&[CtState::New, CtState::Untracked])
        .not_loopback(Dim::Iif)
        .subtract(&declared);
    let accepted = |hook: Hook, region: &Region| {
        if region.is_empty() {
            return None;
        }
        let boxes = ctx.boxes(region)?;
        Some(accepted_in(ctx, hook, &boxes, false))
    };
    // The two directions are independent: one core each.
    let (out_acc, in_acc) = rayon::join(
        || accepted(Hook::Output, &outbound),
        || accepted(Hook::Input, &inbound),
    );
    let mut out = Vec::new();
    for (hook, acc) in [(Hook::Output, out_acc), (Hook::Input, in_acc)] {
        let Some(acc) = acc else {
            continue;
        };
        for a in &acc.by {
            if let Some(d) = finding(ctx, hook, a, !selected.is_empty()) {
                out.push(d);
            }
        }
        if acc.unknown {
            let span = p.base_chain(hook).map_or(p.span, |c| p.chain(c).span);
            out.push(
                Diagnostic::new(
                    "nonroot-egress",
                    format!(
                        "cannot prove that `{}` accepts no other flow a user other than root can start",
                        hook.name()
                    ),
                    span,
                )
                .primary_label("not proven")
                .note("the analysis ran out of its work budget on this chain")
                .help("split large chains into user chains, or declare the intended flows in an `egress` block"),
            );
        }
    }
    out
}

fn is_ping(w: &Packet) -> bool {
    w.icmp_type == Some(ICMP_ECHO_REQUEST) && w.proto == dim::PROTO_ICMP
        || w.icmp_type == Some(ICMPV6_ECHO_REQUEST) && w.proto == dim::PROTO_ICMPV6
}

fn finding(ctx: &Context, hook: Hook, a: &Accepting, egress_blocks: bool) -> Option<Diagnostic> {
    let p = ctx.policy;
    let may = if a.definite { "can" } else { "may be able to" };
    let direction = match hook {
        Hook::Input => "take new inbound flows",
        _ => "start new outbound flows",
    };
    let everyone = if egress_blocks {
        "every user but root and those an `egress` block selects"
    } else {
        "every user but root"
    };
    let (message, span, label, mut note) = match a.decider {
        Decider::Rule(r) => {
            let rule = ctx.rule(r);
            let any = match hook {
                Hook::Input => "tcp, udp or sctp to ports above 1023",
                _ => "any protocol",
            };
            let class = flow_class(&rule.matches, any);
            let users = class.users.clone().unwrap_or_else(|| everyone.to_string());
            let who = match &class.users {
                Some(u) => format!("users {u}"),
                None => "users other than root".to_string(),
            };
            let flows = match hook {
                Hook::Input => {
                    let mut s = format!(
                        "{} {}",
                        class.what,
                        class.from.clone().unwrap_or_else(|| "from any address".into())
                    );
                    if !class.to.ends_with("any address") {
                        s.push(' ');
                        s.push_str(&class.to);
                    }
                    s
                }
                _ => class.short(),
            };
            let unknown = describe::unknowns(&rule.matches);
            let label = if a.definite {
                "accepts them".to_string()
            } else if unknown.is_empty() {
                "may accept them".to_string()
            } else {
                format!("may accept them, depending on {}", unknown.join(", "))
            };
            (
                format!("{who} {may} {direction}: {flows}"),
                rule.span,
                label,
                format!("flow class: {flows}; users: {users}"),
            )
        }
        Decider::Policy(c) => {
            let chain = p.chain(c);
            (
                format!(
                    "users other than root {may} {direction} that no rule decides: the policy of `{}` accepts them",
                    chain.name
                ),
                chain.span,
                "default policy accept".to_string(),
                format!("users: {everyone}"),
            )
        }
        Decider::NoBaseChain => (
            match hook {
                Hook::Input => "users other than root can take any inbound flow to ports above 1023: there is no `input` chain".to_string(),
                _ => format!("users other than root can start any outbound flow: there is no `{}` chain", hook.name()),
            },
            p.span,
            format!("no `{}` chain in this policy", hook.name()),
            format!("users: {everyone}"),
        ),
        Decider::FamilyNotFiltered => return None,
    };
    if hook == Hook::Input {
        note.push_str(". Any user can listen on ports 1024 and up (net.ipv4.ip_unprivileged_port_start) and take these connections");
    } else if is_ping(&a.witness) {
        note.push_str(". ICMP echo requests can carry data: a tunnel out of the host");
    }
    if !a.definite {
        note.push_str(". This rests on a test hwc does not model: the flows may or may not pass");
    }
    note.push_str(". No `egress` block declares these flows");
    let help = match (hook, a.decider) {
        (Hook::Input, _) => "limit the rule to the ports and sources the host's services need; if the flows are intended, declare them in an `egress user not root only { ... }` block",
        (_, Decider::Rule(_)) => "restrict the rule to `user root` or to the users that need it; if every user needs these flows, declare them in an `egress user not root only { ... }` block",
        _ => "write `policy drop` and accept what is needed explicitly",
    };
    Some(
        Diagnostic::new("nonroot-egress", message, span)
            .primary_label(label)
            .note(note)
            .witness(a.witness.clone())
            .help(help),
    )
}
