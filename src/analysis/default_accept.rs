//! ## What it does
//! Reports a built-in chain (`input`, `output`, `forward`) whose default
//! is accept, either written as `policy accept` or because its `policy`
//! is missing (the kernel's default), and a built-in chain that is missing
//! altogether (the kernel then accepts every packet of that hook). A chain
//! whose rules decide every packet (it ends with a plain `drop`) is not
//! reported.
//!
//! ## Why is this bad
//! Every packet that no rule mentions is let through: a firewall that
//! allows by default only blocks what its author thought of.
//!
//! ## Example
//! ```hw
//! chain input {
//!   drop tcp 23
//! }
//! ```
//!
//! ## How to fix
//! Write `policy drop` and accept what is needed explicitly, or add
//! `@allow(default-accept)` to the chain with a reason.

use super::region::Region;
use super::Context;
use crate::diagnostics::Diagnostic;
use crate::ir::{Hook, Verdict};
use crate::space::eval::Answer;
use crate::space::Approx;

pub fn check(ctx: &Context) -> Vec<Diagnostic> {
    let p = ctx.policy;
    let mut out = Vec::new();
    let filtered = ctx.boxes(&Region::all().families(p.family));
    for hook in Hook::ALL {
        match p.base_chain(hook) {
            Some(c) => {
                let chain = p.chain(c);
                if chain.policy != Some(Verdict::Accept) {
                    continue;
                }
                let mut d = Diagnostic::new(
                    "default-accept",
                    format!("chain `{}` accepts by default: packets that no rule decides are accepted", chain.name),
                    chain.span,
                )
                .primary_label("default policy accept")
                .help("write `policy drop` and accept what is needed explicitly, or add `@allow(default-accept)` to the chain with a reason");
                if let Some(an) = ctx.analysis() {
                    match an.policy_reach(hook, Approx::Over).check() {
                        Answer::Empty => continue,
                        Answer::Witness(w) => {
                            let w = an.policy_reach(hook, Approx::Under).witness().unwrap_or(w);
                            d = d.witness(w).note(
                                "the witness below reaches the end of the chain and is accepted",
                            );
                        }
                        Answer::Unknown => {}
                    }
                }
                out.push(d);
            }
            None => {
                if !p.family.v4 && !p.family.v6 {
                    continue;
                }
                let mut d = Diagnostic::new(
                    "default-accept",
                    format!(
                        "there is no `{}` chain: every {} packet is accepted",
                        hook.name(),
                        packet_kind(hook)
                    ),
                    p.span,
                )
                .primary_label(format!("no `{}` chain in this policy", hook.name()))
                .help(format!(
                    "add `chain {} policy drop {{}}` and accept what is needed explicitly",
                    hook.name()
                ));
                if let (Some(an), Some(f)) = (ctx.analysis(), &filtered) {
                    if let Some(w) = an.unfiltered(hook).intersect(f).witness() {
                        d = d.witness(w);
                    }
                }
                out.push(d);
            }
        }
    }
    out
}

fn packet_kind(hook: Hook) -> &'static str {
    match hook {
        Hook::Input => "incoming",
        Hook::Output => "outgoing",
        Hook::Forward => "forwarded",
    }
}
