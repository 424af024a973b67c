//! ## What it does
//! Finds definitions (`host`, `net`, `service`, `user`, `group`, `iface`,
//! `list`) that no rule, assertion, egress block or used definition
//! refers to.
//!
//! ## Why is this bad
//! An unused definition is often a sign of a rule that was meant to use it
//! and does not, or a leftover that misleads readers.
//!
//! ## Example
//! ```hw
//! host backup = 192.0.2.20              # never used
//! ```
//!
//! ## How to fix
//! Use it where it was meant to be used, or delete it.

use super::Context;
use crate::diagnostics::Diagnostic;
use crate::ir::DefKind;

pub fn check(ctx: &Context) -> Vec<Diagnostic> {
    ctx.policy
        .definitions
        .iter()
        .filter(|d| !d.used)
        .map(|d| {
            let kind = match d.kind {
                DefKind::Host => "host",
                DefKind::Net => "net",
                DefKind::Service => "service",
                DefKind::User => "user",
                DefKind::Group => "group",
                DefKind::Iface => "iface",
                DefKind::List => "list",
            };
            Diagnostic::new(
                "unused",
                format!("{kind} `{}` is never used", d.name),
                d.span,
            )
            .primary_label("defined here")
            .help("use it in a rule, or delete the definition")
        })
        .collect()
}
