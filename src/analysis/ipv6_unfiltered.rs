//! ## What it does
//! Reports a policy or ruleset that filters IPv4 only, so that IPv6
//! packets pass untouched.
//!
//! ## Why is this bad
//! Most hosts have IPv6 enabled, often with global addresses. An
//! `iptables`-only firewall leaves every IPv6 port open, and lets every
//! user open any IPv6 connection, because `ip6tables` chains accept by
//! default.
//!
//! ## Example
//! ```hw
//! policy web {
//!   family ip                           # IPv6 is not filtered at all
//! }
//! ```
//!
//! ## How to fix
//! Use `family inet` so that the rules apply to both families, or add an
//! IPv6 ruleset. If the host really has no IPv6, add
//! `@allow(ipv6-unfiltered)` to a built-in chain.

use super::region::Region;
use super::Context;
use crate::diagnostics::Diagnostic;
use crate::ir::dim::Dim;
use crate::ir::{Family, Hook, Origin};

pub fn check(ctx: &Context) -> Vec<Diagnostic> {
    let p = ctx.policy;
    if p.family.v6 || !p.family.v4 {
        return Vec::new();
    }
    let what = match p.origin {
        Origin::Policy => {
            "this policy filters IPv4 only (`family ip`): IPv6 packets pass untouched"
        }
        Origin::Dump(Family::V4) => "this ruleset filters IPv4 only: IPv6 packets pass untouched",
        Origin::Dump(Family::V6) => return Vec::new(),
    };
    let mut d = Diagnostic::new("ipv6-unfiltered", what, p.span)
        .primary_label("IPv4 only")
        .note("every IPv6 packet is accepted: new connections to any port, and new flows of any user")
        .help("use `family inet` to apply the rules to IPv4 and IPv6 too, or add `@allow(ipv6-unfiltered)` to a built-in chain if the host has no IPv6");
    // A witness: a new inbound IPv6 connection that nothing filters.
    let probe = Region::all()
        .at(Dim::Family, 1)
        .hook(Hook::Input)
        .states(&[crate::ir::CtState::New])
        .at(Dim::Proto, crate::ir::dim::PROTO_TCP as u128);
    if let (Some(an), Some(b)) = (ctx.analysis(), ctx.boxes(&probe)) {
        if let Some(w) = an.unfiltered(Hook::Input).intersect(&b).witness() {
            d = d.witness(w);
        }
    }
    vec![d]
}
