//! ## What it does
//! Finds `log` rules without a `limit`.
//!
//! ## Why is this bad
//! A log rule logs every packet it matches: a scan or a flood fills the
//! disk and the kernel log buffer, and hides the messages that matter.
//!
//! ## Example
//! ```hw
//! chain input policy drop {
//!   log prefix "INPUT "
//! }
//! ```
//!
//! ## How to fix
//! Add a rate limit: `log prefix "INPUT " limit 10/minute burst 5`.

use super::Context;
use crate::diagnostics::Diagnostic;
use crate::ir::{Action, Test};

pub fn check(ctx: &Context) -> Vec<Diagnostic> {
    ctx.policy
        .chains
        .iter()
        .flat_map(|c| c.rules.iter())
        .filter(|r| matches!(r.action, Action::Log(_)))
        .filter(|r| {
            !r.matches
                .conds
                .iter()
                .any(|c| !c.negated && matches!(c.test, Test::Limit(_)))
        })
        .map(|r| {
            Diagnostic::new("log-unlimited", "this `log` rule has no rate limit", r.span)
                .primary_label("logs every packet it matches")
                .note("a scan or a flood writes one kernel log line per packet")
                .help("add a limit, e.g. `limit 10/minute burst 5`")
        })
        .collect()
}
