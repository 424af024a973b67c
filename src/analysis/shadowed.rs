//! ## What it does
//! Finds a rule that can never match because earlier rules already decide
//! every packet it would match, and at least some of them with the other
//! verdict. The earlier rules may cover it only together (one accepts part
//! of its packets, another drops the rest): the finding labels every one of
//! them, and shows a packet that this rule would decide one way but that
//! gets the other verdict.
//!
//! ## Why is this bad
//! The rule looks like it does something but never fires. Usually it was
//! added below a catch-all, and the traffic it was meant to allow (or
//! block) gets the opposite verdict.
//!
//! ## Example
//! ```hw
//! chain input policy drop {
//!   drop   from 198.51.100.0/24
//!   accept tcp 22 from 198.51.100.7     # never matches: dropped above
//! }
//! ```
//!
//! ## How to fix
//! Move the rule above the rules that take its packets (the finding labels
//! them), or delete it if the earlier verdict is the one you want.

use super::describe;
use super::rules::{label_dead, Dead, Fate};
use super::Context;
use crate::diagnostics::Diagnostic;
use crate::space::eval::Decision;
use crate::space::reference::Decider;

pub fn check(ctx: &Context) -> Vec<Diagnostic> {
    ctx.rule_facts()
        .dead
        .iter()
        .filter_map(|d| match &d.fate {
            Fate::Differently(decision) => Some(finding(ctx, d, decision)),
            _ => None,
        })
        .collect()
}

fn finding(ctx: &Context, dead: &Dead, decision: &Decision) -> Diagnostic {
    let rule = ctx.rule(dead.rule);
    let act = describe::action(ctx.policy, &rule.action);
    let own = rule.action.verdict();
    let message = match decision.verdict {
        Some(v) => format!(
            "this `{act}` rule never matches: earlier rules decide all its packets, and {} some of them",
            describe::verb_plain(v)
        ),
        None => format!(
            "this `{act}` rule never matches: earlier rules decide all its packets, some with a target hwc does not model"
        ),
    };
    let mut note = match (own, decision.verdict) {
        (Some(o), Some(v)) => format!(
            "the witness below matches this rule, which would {} it, but it is {} instead",
            describe::verb_plain(o),
            describe::verdict_participle(v)
        ),
        _ => "the witness below matches this rule but is decided before it".to_string(),
    };
    if let Decider::Rule(x) = decision.by {
        let unknown = describe::unknowns(&ctx.rule(x).matches);
        if !unknown.is_empty() {
            note.push_str(&format!(
                "; whether it is depends on {}, which hwc does not model",
                unknown.join(", ")
            ));
        }
    }
    let diag = Diagnostic::new("shadowed", message, rule.span)
        .primary_label("never matches")
        .note(note)
        .witness(decision.witness.clone())
        .help(
            "move this rule above the rules that take its packets, or delete it if their verdict is the one you want",
        );
    label_dead(ctx, diag, dead, Some(decision))
}
