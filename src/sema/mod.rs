//! Names, includes and types: AST → IR.
//!
//! Two stages, each reporting all of its errors at once:
//! 1. [`include`]: read the root file, parse it, follow `include`s (each
//!    file once; cycles and missing files are errors). Syntax errors stop
//!    the pipeline here.
//! 2. Checking and lowering: collect the symbol tables ([`names`]), build
//!    the chain call graph ([`callgraph`]: unknown targets, cycles, which
//!    hooks reach which chain), lower every rule, assertion and egress block
//!    ([`lower`], with typed values from [`values`] and definitions
//!    evaluated on demand by [`defs`]), and finally evaluate the remaining
//!    definitions and compute which are used.
//!
//! INVARIANT: a policy is returned only when no error was reported, and it
//! satisfies the invariants of `ir.rs` (values in range, non-empty sets,
//! acyclic call graph).

mod callgraph;
mod defs;
pub mod icmp;
mod include;
mod lower;
mod names;
mod values;

#[cfg(test)]
mod tests;

use crate::diagnostics::Diagnostic;
use crate::ir::{self, FamilySet};
use crate::source::{FileId, FileLoader, SourceMap, Span};
use crate::syntax::ast;
use defs::DefState;
use names::{DefId, Symbols};
use std::collections::HashMap;
use std::path::Path;

/// Loads the policy at `path` and the files it includes, checks it and
/// lowers it to IR. `None` when any error was reported; warnings may come
/// with `Some`.
pub fn load(
    path: &Path,
    loader: &dyn FileLoader,
    sources: &mut SourceMap,
) -> (Option<ir::Policy>, Vec<Diagnostic>) {
    run(path, None, loader, sources)
}

/// Like [`load`], with the root file's text given (standard input, an
/// editor buffer). Includes are still read through `loader`, relative to
/// `path`.
pub fn load_source(
    path: &Path,
    text: &str,
    loader: &dyn FileLoader,
    sources: &mut SourceMap,
) -> (Option<ir::Policy>, Vec<Diagnostic>) {
    run(path, Some(text.to_string()), loader, sources)
}

fn run(
    path: &Path,
    text: Option<String>,
    loader: &dyn FileLoader,
    sources: &mut SourceMap,
) -> (Option<ir::Policy>, Vec<Diagnostic>) {
    let (loaded, mut diags) = include::load_tree(path, text, loader, sources);
    if diags.iter().any(Diagnostic::is_error) {
        return (None, diags);
    }
    let root = loaded.root.unwrap_or_default();
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "policy".to_string());
    let (policy, more) = lower_items(&loaded.items, &name, root);
    diags.extend(more);
    (policy, diags)
}

/// Checks parsed items (the root file's and its includes', include items
/// already expanded) and lowers them. `default_name` names a policy without
/// a `policy` header; `root` is the file its span points at.
pub fn lower_items(
    items: &[ast::Item],
    default_name: &str,
    root: FileId,
) -> (Option<ir::Policy>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let syms = Symbols::collect(items, &mut diags);
    let n = syms.defs.len();
    let mut s = Sema {
        syms,
        diags,
        family: FamilySet::INET,
        family_span: None,
        policy_name: default_name.to_string(),
        defs: (0..n).map(|_| DefState::Todo).collect(),
        def_refs: vec![Vec::new(); n],
        used: vec![false; n],
        stack: Vec::new(),
        owner_names: [HashMap::new(), HashMap::new()],
        sites: Vec::new(),
    };
    let span = s.header(root);
    let chains = s.chains();
    let assertions: Vec<_> = s
        .syms
        .asserts
        .clone()
        .into_iter()
        .map(|a| s.assertion(a))
        .collect();
    let egress: Vec<_> = s
        .syms
        .egress
        .clone()
        .into_iter()
        .map(|e| s.egress(e))
        .collect();
    let definitions = s.definitions();
    let mut diags = std::mem::take(&mut s.diags);
    diags.sort_by_key(|d| {
        let sp = d.primary_span();
        (sp.file, sp.start)
    });
    if diags.iter().any(Diagnostic::is_error) {
        return (None, diags);
    }
    let policy = ir::Policy {
        name: s.policy_name,
        family: s.family,
        origin: ir::Origin::Policy,
        chains: chains.into_iter().flatten().collect(),
        assertions: assertions.into_iter().flatten().collect(),
        egress: egress.into_iter().flatten().collect(),
        definitions,
        span,
    };
    (Some(policy), diags)
}

/// The checking and lowering state of one policy.
pub(crate) struct Sema<'a> {
    syms: Symbols<'a>,
    diags: Vec<Diagnostic>,
    /// The families the policy filters, and where `family` was set.
    family: FamilySet,
    family_span: Option<Span>,
    policy_name: String,
    /// Evaluation state of each definition.
    defs: Vec<DefState>,
    /// The definitions each definition refers to.
    def_refs: Vec<Vec<DefId>>,
    /// Definitions used directly by a rule, assertion or egress block.
    used: Vec<bool>,
    /// Definitions being evaluated, each with the reference that led to it.
    stack: Vec<(DefId, Span)>,
    /// Symbolic ids of user names (0) and group names (1).
    owner_names: [HashMap<String, usize>; 2],
    /// Where each chain's rules run (filled by `chains`).
    sites: Vec<lower::Site>,
}

impl Sema<'_> {
    /// Reads the `policy` header; returns the policy's span.
    fn header(&mut self, root: FileId) -> Span {
        let Some(p) = self.syms.policy else {
            return Span::new(root, 0, 0);
        };
        self.policy_name = p.name.node.clone();
        let mut seen: Option<Span> = None;
        for setting in &p.settings {
            match &setting.node {
                ast::Setting::Family(word) => {
                    if let Some(first) = seen {
                        self.diags.push(
                            Diagnostic::error(
                                "duplicate-setting",
                                "`family` is set twice",
                                setting.span,
                            )
                            .primary_label("set again here")
                            .label(first, "first set here")
                            .help("keep one `family` setting"),
                        );
                        continue;
                    }
                    seen = Some(setting.span);
                    let family = match word.node.as_str() {
                        "ip" => FamilySet::IP,
                        "ip6" => FamilySet::IP6,
                        "inet" => FamilySet::INET,
                        other => {
                            let hint = names::suggest(other, ["ip", "ip6", "inet"].into_iter());
                            self.diags.push(
                                Diagnostic::error(
                                    "unknown-family",
                                    format!("unknown family `{other}`"),
                                    word.span,
                                )
                                .primary_label("expected `ip`, `ip6` or `inet`")
                                .help(names::did_you_mean(
                                    hint,
                                    "use `ip` (IPv4), `ip6` (IPv6) or `inet` (both)",
                                )),
                            );
                            continue;
                        }
                    };
                    self.family = family;
                    self.family_span = Some(setting.span);
                }
            }
        }
        p.span
    }
}
