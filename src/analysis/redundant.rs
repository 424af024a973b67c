//! ## What it does
//! Finds a rule whose removal would change the verdict of no packet:
//! - earlier rules already take every packet it matches and give each the
//!   same verdict (the rule never matches), or
//! - the rules after it, or the chain's policy, would give every packet it
//!   decides the same verdict.
//!
//! Rules without a verdict (`log`, `jump`, `goto`, `return`) that never
//! apply are reported too. Of two identical rules, the second is the one
//! reported.
//!
//! ## Why is this bad
//! Redundant rules make a policy longer and harder to review, and hide the
//! rule that really decides a packet.
//!
//! ## Example
//! ```hw
//! chain input policy drop {
//!   accept tcp 80, 443
//!   accept tcp 443                      # already accepted above
//!   drop   tcp 23                       # the policy drops it anyway
//! }
//! ```
//!
//! ## How to fix
//! Delete the rule, or narrow the earlier rule if this one was meant to be
//! the only one admitting that traffic.

use super::describe;
use super::rules::{label_dead, Dead, Fate, Unneeded, MAX_LABELS};
use super::Context;
use crate::diagnostics::Diagnostic;
use crate::space::reference::Decider;

pub fn check(ctx: &Context) -> Vec<Diagnostic> {
    let facts = ctx.rule_facts();
    let mut out: Vec<Diagnostic> = facts.dead.iter().filter_map(|d| dead(ctx, d)).collect();
    out.extend(facts.unneeded.iter().map(|u| unneeded(ctx, u)));
    out
}

fn dead(ctx: &Context, dead: &Dead) -> Option<Diagnostic> {
    let rule = ctx.rule(dead.rule);
    let act = describe::action(ctx.policy, &rule.action);
    let (diag, decision) = match &dead.fate {
        Fate::Differently(_) => return None,
        Fate::Same(decision) => {
            let v = rule.action.verdict()?;
            let d = Diagnostic::new(
                "redundant",
                format!(
                    "this `{act}` rule never matches: earlier rules already {} every packet it matches",
                    describe::verb_plain(v)
                ),
                rule.span,
            )
            .primary_label("never matches")
            .help("delete it");
            (d, decision.as_ref())
        }
        Fate::Unknown => {
            let d = Diagnostic::new(
                "redundant",
                format!("this `{act}` rule never matches: earlier rules decide all its packets"),
                rule.span,
            )
            .primary_label("never matches")
            .note("hwc could not check, within its work budget, whether they all give its verdict")
            .help("delete it, or move it above the rules that take its packets");
            (d, None)
        }
        Fate::NoVerdict(decision) => {
            let d = Diagnostic::new(
                "redundant",
                format!(
                    "this `{act}` rule never applies: earlier rules decide every packet it matches"
                ),
                rule.span,
            )
            .primary_label("never applies")
            .help("delete it, or move it above the rules that take its packets");
            (d, decision.as_ref())
        }
    };
    let diag = match decision {
        Some(d) => diag.witness(d.witness.clone()),
        None => diag,
    };
    Some(label_dead(ctx, diag, dead, decision))
}

fn unneeded(ctx: &Context, u: &Unneeded) -> Diagnostic {
    let rule = ctx.rule(u.rule);
    let act = describe::action(ctx.policy, &rule.action);
    let v = rule.action.verdict();
    let verb = v.map_or("decide", describe::verb_plain);
    let only_policy = u.by.iter().all(|d| matches!(d, Decider::Policy(_)));
    let message = if only_policy {
        let chain =
            u.by.iter()
                .find_map(|d| match d {
                    Decider::Policy(c) => Some(ctx.policy.chain(*c).name.as_str()),
                    _ => None,
                })
                .unwrap_or("the chain");
        format!("this `{act}` rule is redundant: the policy of `{chain}` would {verb} these packets anyway")
    } else {
        format!("this `{act}` rule is redundant: without it, what follows would still {verb} every packet it matches")
    };
    let mut diag = Diagnostic::new("redundant", message, rule.span)
        .primary_label("changes no verdict")
        .help("delete it");
    if let Some(w) = &u.witness {
        diag = diag.witness(w.clone()).note(format!(
            "the witness below is {} by this rule, and would be without it",
            v.map_or("decided", describe::verdict_participle)
        ));
    }
    for d in u.by.iter().take(MAX_LABELS) {
        let Some(span) = ctx.decider_span(d) else {
            continue;
        };
        let text = match d {
            Decider::Policy(_) => format!("the chain's policy would {verb} them"),
            _ => format!("would {verb} them"),
        };
        diag = diag.label(span, text);
    }
    diag
}
