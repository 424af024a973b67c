//! ## What it does
//! Reports a rule that partly overlaps earlier rules with the other
//! verdict: some of the packets it matches are decided by them first,
//! others by this rule. It is information, not a warning.
//!
//! ## Why is this bad
//! Nothing is wrong by itself, but a partial overlap is a common source of
//! surprises: the later rule does less than it says.
//!
//! ## Example
//! ```hw
//! chain input policy drop {
//!   drop   from 198.51.100.0/25
//!   accept tcp 22 from 198.51.100.0/24  # half of these are dropped above
//! }
//! ```
//!
//! ## How to fix
//! If the overlap is intended, add `@allow(overlap)` with a comment saying
//! why; otherwise narrow one of the rules.

use super::describe;
use super::rules::MAX_LABELS;
use super::Context;
use crate::diagnostics::Diagnostic;
use crate::space::eval::Overlap;
use crate::space::{Approx, RuleRef};
use rayon::prelude::*;

pub fn check(ctx: &Context) -> Vec<Diagnostic> {
    let Some(an) = ctx.analysis() else {
        return Vec::new();
    };
    let found: Vec<(RuleRef, Vec<Overlap>)> = ctx
        .rule_facts()
        .live
        .par_iter()
        .map(|&r| (r, an.overlaps(r, Approx::Over)))
        .filter(|(_, o)| !o.is_empty())
        .collect();
    found.iter().map(|(r, o)| finding(ctx, *r, o)).collect()
}

fn finding(ctx: &Context, r: RuleRef, overlaps: &[Overlap]) -> Diagnostic {
    let rule = ctx.rule(r);
    let act = describe::action(ctx.policy, &rule.action);
    let other = ctx.rule(overlaps[0].rule).action.verdict();
    let verb = other.map_or("decide", describe::verb_plain);
    let message = if overlaps.len() == 1 {
        format!(
            "this `{act}` rule partly overlaps an earlier rule that {} some of its packets",
            other.map_or("decides", describe::verdict_verb)
        )
    } else {
        format!(
            "this `{act}` rule partly overlaps {} earlier rules that {verb} some of its packets",
            overlaps.len()
        )
    };
    let mut note = format!(
        "the witness below matches this rule, but an earlier rule {} it first",
        other.map_or("decides", describe::verdict_verb)
    );
    if overlaps.len() > MAX_LABELS {
        note.push_str(&format!(
            "; {} more earlier rules are not labelled",
            overlaps.len() - MAX_LABELS
        ));
    }
    let mut diag = Diagnostic::new("overlap", message, rule.span)
        .primary_label("partly decided earlier")
        .note(note)
        .witness(overlaps[0].witness.clone())
        .help("if this is intended, add `@allow(overlap)` with a comment saying why; otherwise narrow one of the rules");
    for o in overlaps.iter().take(MAX_LABELS) {
        let v = ctx.rule(o.rule).action.verdict();
        diag = diag.label(
            ctx.rule(o.rule).span,
            format!("{} some of its packets first", v.map_or("decides", describe::verdict_verb)),
        );
    }
    diag
}
