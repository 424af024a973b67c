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
use crate::ir::Packet;
use crate::space::eval::Answer;
use crate::space::{ABox, Approx, BoxSet, RuleRef};
use rayon::prelude::*;

/// The earlier rules that decide, with the other verdict, packets a rule
/// matches: the first few with a witness, and how many more may.
struct Overlaps {
    found: Vec<(RuleRef, Packet)>,
    more: usize,
}

pub fn check(ctx: &Context) -> Vec<Diagnostic> {
    let Some(_) = ctx.analysis() else {
        return Vec::new();
    };
    let found: Vec<(RuleRef, Overlaps)> = ctx
        .rule_facts()
        .live
        .par_iter()
        .filter_map(|&r| overlaps(ctx, r).map(|o| (r, o)))
        .collect();
    found.iter().map(|(r, o)| finding(ctx, *r, o)).collect()
}

/// Whether every box of `inner` lies inside one box of `outer`.
fn inside(inner: &[ABox], outer: &[ABox]) -> bool {
    inner.iter().all(|b| outer.iter().any(|o| o.contains(b)))
}

fn overlaps(ctx: &Context, r: RuleRef) -> Option<Overlaps> {
    let an = ctx.analysis()?;
    let boxes = &ctx.rule_facts().boxes;
    let v = ctx.rule(r).action.verdict()?;
    let own = boxes.of(r);
    let mine = BoxSet {
        boxes: own.to_vec(),
    };
    let candidates: Vec<RuleRef> = boxes
        .earlier_meeting(r)
        .into_iter()
        .filter(|&j| {
            let w = ctx.rule(j).action.verdict();
            // An earlier exception inside this rule (an accept before a
            // broader drop) is how exceptions are written: not reported.
            w.is_some_and(|w| w != v) && !inside(boxes.of(j), own)
        })
        .collect();
    let mut found = Vec::new();
    let mut checked = 0;
    for &j in &candidates {
        if found.len() >= MAX_LABELS {
            break;
        }
        checked += 1;
        let Some((_, decided)) = an.decides(j, Approx::Over) else {
            continue;
        };
        if let Answer::Witness(p) = decided.intersect(&mine).check() {
            found.push((j, p));
        }
    }
    (!found.is_empty()).then(|| Overlaps {
        found,
        more: candidates.len() - checked,
    })
}

fn finding(ctx: &Context, r: RuleRef, o: &Overlaps) -> Diagnostic {
    let rule = ctx.rule(r);
    let act = describe::action(ctx.policy, &rule.action);
    let other = ctx.rule(o.found[0].0).action.verdict();
    let message = if o.found.len() == 1 && o.more == 0 {
        format!(
            "this `{act}` rule partly overlaps an earlier rule that {} some of its packets",
            other.map_or("decides", describe::verdict_verb)
        )
    } else {
        format!(
            "this `{act}` rule partly overlaps earlier rules that {} some of its packets",
            other.map_or("decide", describe::verb_plain)
        )
    };
    let mut note = format!(
        "the witness below matches this rule, but an earlier rule {} it first",
        other.map_or("decides", describe::verdict_verb)
    );
    if o.more > 0 {
        note.push_str(&format!(
            "; {} more earlier rules may overlap it too",
            o.more
        ));
    }
    let mut diag = Diagnostic::new("overlap", message, rule.span)
        .primary_label("partly decided earlier")
        .note(note)
        .witness(o.found[0].1.clone())
        .help("if this is intended, add `@allow(overlap)` with a comment saying why; otherwise narrow one of the rules");
    for (j, _) in &o.found {
        let v = ctx.rule(*j).action.verdict();
        diag = diag.label(
            ctx.rule(*j).span,
            format!(
                "{} some of its packets first",
                v.map_or("decides", describe::verdict_verb)
            ),
        );
    }
    diag
}
