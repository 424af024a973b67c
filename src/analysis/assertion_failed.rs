//! ## What it does
//! Checks every `assert allow|deny|reachable` and every
//! `egress ... only { }` block against the rules, and reports the ones
//! that do not hold with a concrete counterexample packet:
//! - `assert allow CHAIN M`: a packet matching `M` that the chain drops;
//! - `assert deny CHAIN M`: a packet matching `M` that it accepts;
//! - `assert reachable CHAIN M`: no packet matching `M` is accepted (the
//!   counterexample is one that is dropped);
//! - `egress user|group S only { ... }`: a packet from a socket of the
//!   selected users, starting a flow (conntrack NEW, UNTRACKED or INVALID,
//!   not on loopback, of a protocol a user can send), that `output`
//!   accepts and no line of the block lists.
//!
//! The checks fail closed: where a rule uses a test hwc does not model
//! (`limit`), or the analysis runs out of its work budget, the assertion
//! is reported as not proven rather than assumed to hold.
//!
//! ## Why is this bad
//! An assertion states an intent ("telnet is never accepted"); when it
//! fails, the rules do not do what their author meant.
//!
//! ## Example
//! ```hw
//! chain input policy accept {}
//! assert deny input state new tcp 23    # fails: the policy accepts it
//! ```
//!
//! ## How to fix
//! Read the counterexample packet: it shows a packet that gets the wrong
//! verdict, and the finding labels the rule that decides it. Fix that rule
//! (or correct the assertion if the intent changed).

use super::describe::{self, flow_class};
use super::flows::{accepted_in, Accepting};
use super::region::{user_sendable, Region, FLOW_START, USER_MAX};
use super::rules::MAX_LABELS;
use super::Context;
use crate::diagnostics::Diagnostic;
use crate::ir::dim::Dim;
use crate::ir::{AssertKind, Assertion, ChainId, ChainKind, Egress, Hook, Packet, Verdict};
use crate::space::eval::{Analysis, Answer};
use crate::space::reference::{self, Decider};
use crate::space::{convert, Approx, BoxSet};

pub fn check(ctx: &Context) -> Vec<Diagnostic> {
    let p = ctx.policy;
    if p.assertions.is_empty() && p.egress.is_empty() {
        return Vec::new();
    }
    if let Some(d) = ctx.cannot_analyse("assertion-failed", "the assertions") {
        return vec![d];
    }
    let mut out: Vec<Diagnostic> = p
        .assertions
        .iter()
        .filter_map(|a| assertion(ctx, a))
        .collect();
    out.extend(p.egress.iter().filter_map(|e| egress(ctx, e)));
    out
}

/// The outcome of one question: is there a packet in a set?
enum Found {
    None,
    /// In the under-approximation: certain.
    Definite(Packet),
    /// Only in the over-approximation: depends on what hwc does not model.
    Possible(Packet),
    /// The work budget ran out.
    Unknown,
}

/// Looks for a packet of `m` that `chain` gives verdict `v` (packets of
/// families the policy does not filter are accepted): a certain one, else
/// a possible one.
fn find(ctx: &Context, an: &Analysis, chain: ChainId, m: &BoxSet, v: Verdict) -> Found {
    let one = |a: Approx, wanted: &dyn Fn(Option<Verdict>) -> bool| -> Answer {
        let d = ctx.decisions_in(chain, m, a, wanted, 1);
        if let Some(d) = d.found.into_iter().next() {
            return Answer::Witness(d.witness);
        }
        let mut unknown = d.unknown;
        if v == Verdict::Accept {
            if let ChainKind::Base(h) = an.policy().chain(chain).kind {
                match an.unfiltered(h).intersect(m).check() {
                    Answer::Witness(w) => return Answer::Witness(w),
                    Answer::Unknown => unknown = true,
                    Answer::Empty => {}
                }
            }
        }
        if unknown {
            Answer::Unknown
        } else {
            Answer::Empty
        }
    };
    // Possible: the verdict, or an opaque target that may give it.
    match one(Approx::Over, &|w| w == Some(v) || w.is_none()) {
        Answer::Empty => Found::None,
        Answer::Unknown => Found::Unknown,
        Answer::Witness(w) if an.is_exact() => Found::Definite(w),
        Answer::Witness(w) => match one(Approx::Under, &|x| x == Some(v)) {
            Answer::Witness(d) => Found::Definite(d),
            _ => Found::Possible(w),
        },
    }
}

fn assertion(ctx: &Context, a: &Assertion) -> Option<Diagnostic> {
    let an = ctx.analysis()?;
    let chain = ctx.policy.chain(a.chain);
    let m = an.match_set(&a.matches, Approx::Over).ok()?;
    let (bad, says) = match a.kind {
        AssertKind::Allow => (Verdict::Drop, "every matching packet should be accepted"),
        AssertKind::Deny => (Verdict::Accept, "every matching packet should be dropped"),
        AssertKind::Reachable => (Verdict::Drop, "some matching packet should be accepted"),
    };
    let name = &chain.name;
    if a.kind == AssertKind::Reachable {
        // Holds when some matching packet is certainly accepted.
        match find(ctx, an, a.chain, &m, Verdict::Accept) {
            Found::Definite(_) => return None,
            Found::Possible(w) => {
                let d = not_proven(
                    ctx,
                    a.span,
                    says,
                    w,
                    &format!("`{name}` may accept no packet this matches"),
                );
                let why = depends_on(ctx, d.witness.as_ref());
                return Some(d.note(format!(
                    "{why}; the witness below may be accepted, which would show that it holds"
                )));
            }
            Found::Unknown => return Some(out_of_budget(a.span, says)),
            Found::None => {}
        }
        let message = format!("assertion failed: `{name}` accepts no packet this matches");
        let d = Diagnostic::new("assertion-failed", message, a.span).primary_label(says);
        return Some(
            match find(ctx, an, a.chain, &m, Verdict::Drop) {
                Found::Definite(w) | Found::Possible(w) => counterexample(ctx, d, w),
                _ => d.note(format!("no packet that `{name}` sees matches it")),
            }
            .help("accept the packets this describes, or correct the assertion"),
        );
    }
    match find(ctx, an, a.chain, &m, bad) {
        Found::None => None,
        Found::Unknown => Some(out_of_budget(a.span, says)),
        Found::Possible(w) => Some(not_proven(
            ctx,
            a.span,
            says,
            w,
            &format!(
                "`{name}` may {} a packet this matches",
                describe::verb_plain(bad)
            ),
        )),
        Found::Definite(w) => {
            let message = format!(
                "assertion failed: `{name}` {} a packet this says it {}",
                describe::verdict_verb(bad),
                describe::verdict_verb(flip(bad))
            );
            let d = Diagnostic::new("assertion-failed", message, a.span).primary_label(says);
            Some(counterexample(ctx, d, w).help(format!(
                "fix the rule that {} it, or correct the assertion",
                describe::verdict_verb(bad)
            )))
        }
    }
}

fn flip(v: Verdict) -> Verdict {
    match v {
        Verdict::Accept => Verdict::Drop,
        Verdict::Drop => Verdict::Accept,
    }
}

/// Adds the counterexample and labels what decides it.
fn counterexample(ctx: &Context, d: Diagnostic, w: Packet) -> Diagnostic {
    let t = reference::trace(ctx.policy, &w);
    let verb = describe::verdict_verb(t.verdict);
    let d = match t.decided_by {
        Decider::Rule(r) => d.label(ctx.rule(r).span, format!("{verb} the counterexample")),
        Decider::Policy(c) => d.label(
            ctx.policy.chain(c).span,
            format!("the default policy {verb} the counterexample"),
        ),
        Decider::NoBaseChain => d.note(format!(
            "there is no `{}` chain: its packets are accepted",
            w.hook.name()
        )),
        Decider::FamilyNotFiltered => d.note(format!(
            "the policy does not filter {}: its packets are accepted",
            match w.family {
                crate::ir::Family::V4 => "IPv4",
                crate::ir::Family::V6 => "IPv6",
            }
        )),
    };
    d.witness(w)
}

/// Fail closed: a possible counterexample that rests on what hwc does not
/// model.
fn not_proven(
    ctx: &Context,
    span: crate::source::Span,
    says: &str,
    w: Packet,
    what: &str,
) -> Diagnostic {
    let t = reference::trace(ctx.policy, &w);
    let mut d = Diagnostic::new(
        "assertion-failed",
        format!("assertion not proven: {what}"),
        span,
    )
    .primary_label(says)
    .note(format!(
        "{}; the witness below may be a counterexample",
        depends_on(ctx, Some(&w))
    ))
    .help("make the rules decide these packets without rate limits, or correct the assertion");
    for r in t.depends_on.iter().take(MAX_LABELS) {
        d = d.label(ctx.rule(*r).span, "may or may not match");
    }
    d.witness(w)
}

/// `it depends on `limit 10/minute`, which hwc does not model`.
fn depends_on(ctx: &Context, w: Option<&Packet>) -> String {
    let unknown: Vec<String> = w
        .map(|w| reference::trace(ctx.policy, w).depends_on)
        .unwrap_or_default()
        .iter()
        .flat_map(|r| describe::unknowns(&ctx.rule(*r).matches))
        .collect();
    if unknown.is_empty() {
        "it depends on a rule hwc does not model exactly".to_string()
    } else {
        format!(
            "it depends on {}, which hwc does not model",
            unknown.join(", ")
        )
    }
}

fn out_of_budget(span: crate::source::Span, says: &str) -> Diagnostic {
    Diagnostic::new(
        "assertion-failed",
        "assertion not proven: the analysis ran out of its work budget",
        span,
    )
    .primary_label(says)
    .help("split large chains into user chains, or narrow the assertion")
}

fn egress(ctx: &Context, e: &Egress) -> Option<Diagnostic> {
    let declared: Vec<_> = e
        .allowed
        .iter()
        .flat_map(|m| convert::match_boxes(m, Approx::Under))
        .collect();
    let selected = Region {
        boxes: convert::cond_boxes(&e.selector, Approx::Over),
    };
    let region = Region::all()
        .hook(Hook::Output)
        .intersect(&selected)
        .with(Dim::Uid, &[(0, USER_MAX)])
        .states(FLOW_START)
        .not_loopback(Dim::Oif)
        .intersect(&user_sendable())
        .subtract(&declared);
    if region.is_empty() {
        return None;
    }
    let boxes = ctx.boxes(&region)?;
    let acc = accepted_in(ctx, Hook::Output, &boxes, true);
    let definite: Vec<&Accepting> = acc.by.iter().filter(|a| a.definite).collect();
    let says = "allows only the flows listed here";
    if let Some(first) = definite.first() {
        let mut d = Diagnostic::new(
            "assertion-failed",
            "egress allow-list does not hold: a selected user can start a flow it does not list",
            e.span,
        )
        .primary_label(says)
        .witness(first.witness.clone())
        .help("narrow the labelled rules (for example to `user root`), or list the flow in the block if it is intended");
        let mut notes = Vec::new();
        for a in definite.iter().take(MAX_LABELS) {
            match a.decider {
                Decider::Rule(r) => {
                    let class = flow_class(&ctx.rule(r).matches, "any protocol");
                    d = d.label(ctx.rule(r).span, format!("accepts {}", class.short()));
                }
                Decider::Policy(c) => {
                    d = d.label(ctx.policy.chain(c).span, "the default policy accepts them");
                }
                Decider::NoBaseChain => {
                    notes.push("there is no `output` chain: every flow is accepted".to_string())
                }
                Decider::FamilyNotFiltered => notes.push(format!(
                    "the policy does not filter {}: every such flow is accepted",
                    if a.witness.family == crate::ir::Family::V6 {
                        "IPv6"
                    } else {
                        "IPv4"
                    }
                )),
            }
        }
        if definite.len() > MAX_LABELS {
            notes.push(format!(
                "{} more rules accept such flows",
                definite.len() - MAX_LABELS
            ));
        }
        if !notes.is_empty() {
            d = d.note(notes.join("; "));
        }
        return Some(d);
    }
    if let Some(a) = acc.by.first() {
        return Some(not_proven(
            ctx,
            e.span,
            says,
            a.witness.clone(),
            "a selected user may start a flow the block does not list",
        ));
    }
    acc.unknown.then(|| out_of_budget(e.span, says))
}
