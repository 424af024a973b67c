//! The lint registry: every lint of [`crate::diagnostics::lints::LINTS`]
//! is one row of [`REGISTRY`]; [`analyze`] runs them all on one shared
//! [`Context`] and applies `@allow(...)` suppression in this one place.
//!
//! Adding a lint: write `src/analysis/<name>.rs` whose module doc comment
//! (What it does / Why is this bad / Example / How to fix) is the user
//! documentation `hwc explain` prints, with a
//! `pub fn check(ctx: &Context) -> Vec<Diagnostic>`; then add one
//! [`lint!`] row below.
//!
//! Questions about packets go to one [`Analysis`] of the policy, built
//! once in [`Context::new`] together with what several lints share (which
//! rules never apply, see [`rules`]). The lints then run on all cores.
//! INVARIANT: nothing in a [`Context`] is computed lazily, so lints can run
//! in parallel without locks.

mod assertion_failed;
mod default_accept;
mod describe;
mod flows;
mod invalid_accepted;
mod ipv6_nd_blocked;
mod ipv6_unfiltered;
mod lockout;
mod log_unlimited;
mod nonroot_egress;
mod overlap;
mod redundant;
pub mod region;
pub mod rules;
mod shadowed;
mod unreachable_chain;
mod unused;

use crate::diagnostics::{lints, Diagnostic};
use crate::ir::{self, ChainKind, Rule};
use crate::source::Span;
use crate::space::atoms::SpaceBuilder;
use crate::space::eval::{Analysis, EvalError};
use crate::space::reference::{self, Decider};
use crate::space::{BoxSet, RuleRef};
use rayon::prelude::*;
use std::sync::Arc;

/// A lint check: every finding of one lint on one policy, before
/// suppression.
pub type LintFn = fn(&Context) -> Vec<Diagnostic>;

/// One registered lint.
#[derive(Debug, Clone, Copy)]
pub struct Lint {
    /// The lint's name, a row of [`lints::LINTS`].
    pub name: &'static str,
    pub check: LintFn,
    /// The lint's source file, whose module doc comment is its
    /// documentation.
    source: &'static str,
}

macro_rules! lint {
    ($name:literal, $module:ident) => {
        Lint {
            name: $name,
            check: $module::check,
            source: include_str!(concat!(stringify!($module), ".rs")),
        }
    };
}

/// The registered lints, in the order of the lint table. Their findings
/// are returned in this order (within one lint, in the lint's own order).
pub const REGISTRY: &[Lint] = &[
    lint!("shadowed", shadowed),
    lint!("redundant", redundant),
    lint!("overlap", overlap),
    lint!("unreachable-chain", unreachable_chain),
    lint!("nonroot-egress", nonroot_egress),
    lint!("assertion-failed", assertion_failed),
    lint!("ipv6-unfiltered", ipv6_unfiltered),
    lint!("ipv6-nd-blocked", ipv6_nd_blocked),
    lint!("lockout", lockout),
    lint!("log-unlimited", log_unlimited),
    lint!("default-accept", default_accept),
    lint!("invalid-accepted", invalid_accepted),
    lint!("unused", unused),
];

/// What every lint may ask: the policy, its analysis, and the facts
/// several lints share. Built once per policy.
pub struct Context<'p> {
    pub policy: &'p ir::Policy,
    analysis: Result<Analysis<'p>, EvalError>,
    rules: rules::RuleFacts,
}

impl<'p> Context<'p> {
    /// Analyses the policy (in a space that also holds every interval the
    /// lints ask about) and computes the shared facts.
    pub fn new(policy: &'p ir::Policy) -> Context<'p> {
        let mut b = SpaceBuilder::new();
        b.add_policy(policy);
        region::add_cuts(&mut b);
        let analysis = Analysis::with_space(policy, Arc::new(b.build()));
        let rules = match &analysis {
            Ok(an) => rules::RuleFacts::compute(policy, an),
            Err(_) => rules::RuleFacts::default(),
        };
        Context {
            policy,
            analysis,
            rules,
        }
    }

    /// The analysis, unless the policy is too complex to analyse.
    pub fn analysis(&self) -> Option<&Analysis<'p>> {
        self.analysis.as_ref().ok()
    }

    /// Why the policy could not be analysed.
    pub fn analysis_error(&self) -> Option<&EvalError> {
        self.analysis.as_ref().err()
    }

    pub fn rule_facts(&self) -> &rules::RuleFacts {
        &self.rules
    }

    pub fn rule(&self, r: RuleRef) -> &'p Rule {
        &self.policy.chain(r.chain).rules[r.index as usize]
    }

    /// A region as boxes of the analysis.
    pub fn boxes(&self, r: &region::Region) -> Option<BoxSet> {
        r.on(self.analysis()?)
    }

    /// Where a decision is made, for a label: the rule, or the header of
    /// the chain whose policy decides. `None` when nothing in the policy
    /// decides (an unfiltered family, a missing chain).
    pub fn decider_span(&self, d: &Decider) -> Option<Span> {
        match d {
            Decider::Rule(r) => Some(self.rule(*r).span),
            Decider::Policy(c) => Some(self.policy.chain(*c).span),
            Decider::NoBaseChain | Decider::FamilyNotFiltered => None,
        }
    }

    /// How the reference evaluator decides a packet (for labels).
    pub fn decider_of(&self, p: &ir::Packet) -> Decider {
        reference::trace(self.policy, p).decided_by
    }

    /// The finding of a safety lint when the policy cannot be analysed at
    /// all: it fails closed.
    pub fn cannot_analyse(&self, code: &'static str, what: &str) -> Option<Diagnostic> {
        let e = self.analysis_error()?;
        Some(
            Diagnostic::new(
                code,
                format!("cannot prove {what}: the policy is too complex to analyse"),
                self.policy.span,
            )
            .primary_label("in this policy")
            .note(format!("{e}"))
            .help("split the policy into simpler chains, or check this property by testing"),
        )
    }
}

/// Runs every registered lint on `policy` (on all cores) and drops the
/// findings that an `@allow(...)` suppresses.
pub fn analyze(policy: &ir::Policy) -> Vec<Diagnostic> {
    run(&Context::new(policy))
}

/// Runs every registered lint on a prepared context (see [`analyze`]).
pub fn run(ctx: &Context) -> Vec<Diagnostic> {
    let found: Vec<Vec<Diagnostic>> = REGISTRY.par_iter().map(|l| (l.check)(ctx)).collect();
    let scopes = Scopes::of(ctx.policy);
    found
        .into_iter()
        .flatten()
        .filter(|d| !scopes.suppresses(d))
        .collect()
}

/// Whether an `@allow(code)` covers the primary place of `diag`. Only lints
/// can be suppressed; errors never are.
///
/// An `@allow` applies to its rule, definition or egress block; on a chain,
/// to the chain's header and every rule in it. A finding about the whole
/// policy (its primary label on the `policy` header: `ipv6-unfiltered`, a
/// missing built-in chain) is suppressed by an `@allow` on any built-in
/// chain, since the header itself cannot carry one.
pub fn is_suppressed(policy: &ir::Policy, diag: &Diagnostic) -> bool {
    Scopes::of(policy).suppresses(diag)
}

/// The places of a policy that carry an `@allow`.
struct Scopes<'p> {
    policy: &'p ir::Policy,
    scopes: Vec<(Span, &'p [String])>,
}

impl<'p> Scopes<'p> {
    fn of(policy: &'p ir::Policy) -> Scopes<'p> {
        let mut scopes: Vec<(Span, &[String])> = Vec::new();
        for chain in &policy.chains {
            if !chain.allow.is_empty() {
                // The header and the rules of a chain are in one file.
                let end = chain
                    .rules
                    .iter()
                    .filter(|r| r.span.file == chain.span.file)
                    .map(|r| r.span.end)
                    .fold(chain.span.end, u32::max);
                let scope = Span { end, ..chain.span };
                scopes.push((scope, &chain.allow));
            }
            for rule in &chain.rules {
                if !rule.allow.is_empty() {
                    scopes.push((rule.span, &rule.allow));
                }
            }
        }
        for d in &policy.definitions {
            if !d.allow.is_empty() {
                scopes.push((d.span, &d.allow));
            }
        }
        for e in &policy.egress {
            if !e.allow.is_empty() {
                scopes.push((e.span, &e.allow));
            }
        }
        Scopes { policy, scopes }
    }

    fn suppresses(&self, diag: &Diagnostic) -> bool {
        if !lints::is_lint(diag.code) {
            return false;
        }
        let at = diag.primary_span();
        let allows = |list: &[String]| list.iter().any(|name| name == diag.code);
        if self
            .scopes
            .iter()
            .any(|(span, list)| covers(*span, at) && allows(list))
        {
            return true;
        }
        at == self.policy.span
            && self
                .policy
                .chains
                .iter()
                .any(|c| matches!(c.kind, ChainKind::Base(_)) && allows(&c.allow))
    }
}

fn covers(outer: Span, inner: Span) -> bool {
    outer.file == inner.file && outer.start <= inner.start && inner.end <= outer.end
}

/// The explanation of a lint for `hwc explain NAME`: the module doc
/// comment of its file, in four sections (What it does, Why is this bad,
/// Example, How to fix). Its one-line summary and severity are in
/// [`lints::LINTS`].
pub fn lint_doc(name: &str) -> Option<String> {
    let lint = REGISTRY.iter().find(|l| l.name == name)?;
    let doc: Vec<&str> = lint
        .source
        .lines()
        .map_while(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect();
    Some(doc.join("\n").trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lint_is_registered_with_its_four_sections() {
        for l in lints::LINTS {
            assert!(
                REGISTRY.iter().any(|r| r.name == l.name),
                "`{}` is not registered",
                l.name
            );
            let doc = lint_doc(l.name).unwrap_or_default();
            let mut at = 0;
            for section in [
                "## What it does",
                "## Why is this bad",
                "## Example",
                "## How to fix",
            ] {
                let found = doc[at..].find(section);
                assert!(found.is_some(), "`{}` lacks `{section}` (in order)", l.name);
                at += found.unwrap_or(0);
            }
            assert!(!doc.contains("//!"), "{doc}");
        }
    }

    fn policy_with_rule(rule_allow: &[&str], chain_allow: &[&str]) -> ir::Policy {
        let f = crate::source::FileId(0);
        ir::Policy {
            name: "p".into(),
            family: ir::FamilySet::INET,
            origin: ir::Origin::Policy,
            chains: vec![ir::Chain {
                name: "input".into(),
                kind: ir::ChainKind::Base(ir::Hook::Input),
                policy: Some(ir::Verdict::Drop),
                rules: vec![ir::Rule {
                    matches: ir::Match::default(),
                    action: ir::Action::Accept,
                    span: Span::new(f, 30, 50),
                    allow: rule_allow.iter().map(|s| s.to_string()).collect(),
                    comment: None,
                }],
                span: Span::new(f, 0, 20),
                allow: chain_allow.iter().map(|s| s.to_string()).collect(),
            }],
            assertions: vec![],
            egress: vec![],
            definitions: vec![],
            span: Span::new(f, 0, 0),
        }
    }

    #[test]
    fn allow_on_the_rule_or_its_chain_suppresses_that_lint_only() {
        let f = crate::source::FileId(0);
        let on_rule = Diagnostic::new("redundant", "r", Span::new(f, 35, 40));
        let elsewhere = Diagnostic::new("redundant", "r", Span::new(f, 60, 70));
        let other_lint = Diagnostic::new("overlap", "o", Span::new(f, 35, 40));
        let error = Diagnostic::new("syntax", "s", Span::new(f, 35, 40));

        let p = policy_with_rule(&["redundant", "syntax"], &[]);
        assert!(is_suppressed(&p, &on_rule));
        assert!(!is_suppressed(&p, &elsewhere));
        assert!(!is_suppressed(&p, &other_lint));
        assert!(!is_suppressed(&p, &error), "errors are never suppressed");

        let p = policy_with_rule(&[], &["overlap"]);
        assert!(is_suppressed(&p, &other_lint));
        assert!(!is_suppressed(&p, &on_rule));
    }

    #[test]
    fn a_finding_on_the_policy_header_is_suppressed_from_a_builtin_chain() {
        let mut p = policy_with_rule(&[], &["ipv6-unfiltered"]);
        let f = crate::source::FileId(0);
        p.span = Span::new(f, 100, 120);
        let d = Diagnostic::new("ipv6-unfiltered", "v6", p.span);
        assert!(is_suppressed(&p, &d));
        p.chains[0].allow.clear();
        assert!(!is_suppressed(&p, &d));
    }

    #[test]
    fn registered_lints_are_in_the_table() {
        for l in REGISTRY {
            assert!(lints::is_lint(l.name), "`{}` is not in LINTS", l.name);
        }
    }
}
