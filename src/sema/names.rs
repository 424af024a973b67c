//! The symbol tables: definitions, chains, the policy header, and
//! `@allow` annotations. Also "did you mean" suggestions.
//!
//! Definitions of every kind share one namespace, so that a name used as
//! the wrong kind is reported as such rather than as unknown. Chains have
//! their own namespace (`jump`, `goto` and `assert` name chains).

use crate::diagnostics::{lints, Diagnostic};
use crate::syntax::ast;
use std::collections::HashMap;

pub type DefId = usize;
pub type ChainIdx = usize;

/// The built-in chain names.
pub const BUILTIN_CHAINS: [&str; 3] = ["input", "output", "forward"];

/// Every top-level item by kind, with the name indexes. Duplicates are
/// reported and left out of the indexes (the first definition wins).
#[derive(Default)]
pub struct Symbols<'a> {
    pub policy: Option<&'a ast::PolicyDecl>,
    pub defs: Vec<&'a ast::Def>,
    pub def_index: HashMap<&'a str, DefId>,
    pub chains: Vec<&'a ast::ChainDecl>,
    pub chain_index: HashMap<&'a str, ChainIdx>,
    pub asserts: Vec<&'a ast::AssertDecl>,
    pub egress: Vec<&'a ast::EgressDecl>,
}

impl<'a> Symbols<'a> {
    pub fn collect(items: &'a [ast::Item], diags: &mut Vec<Diagnostic>) -> Symbols<'a> {
        let mut s = Symbols::default();
        for item in items {
            match item {
                ast::Item::Policy(p) => match s.policy {
                    Some(first) => diags.push(
                        Diagnostic::error(
                            "duplicate-policy",
                            "a second `policy` header",
                            p.name.span,
                        )
                        .primary_label("second policy header")
                        .label(first.name.span, "the policy is declared here")
                        .help("a policy has one header; merge the settings into the first one"),
                    ),
                    None => s.policy = Some(p),
                },
                ast::Item::Include(_) => {}
                ast::Item::Def(d) => {
                    if let Some(&first) = s.def_index.get(d.name.node.as_str()) {
                        let prev = s.defs[first];
                        diags.push(
                            Diagnostic::error(
                                "duplicate-definition",
                                format!("`{}` is defined twice", d.name.node),
                                d.name.span,
                            )
                            .primary_label("defined again here")
                            .label(
                                prev.name.span,
                                format!(
                                    "`{}` is first defined here as a {}",
                                    d.name.node,
                                    prev.kind.keyword()
                                ),
                            )
                            .help(
                                "rename one of the two definitions, or merge their values into one",
                            ),
                        );
                    } else {
                        s.def_index.insert(&d.name.node, s.defs.len());
                        s.defs.push(d);
                    }
                }
                ast::Item::Chain(c) => {
                    if let Some(&first) = s.chain_index.get(c.name.node.as_str()) {
                        diags.push(
                            Diagnostic::error(
                                "duplicate-chain",
                                format!("chain `{}` is declared twice", c.name.node),
                                c.name.span,
                            )
                            .primary_label("declared again here")
                            .label(s.chains[first].name.span, "first declared here")
                            .help("put all rules of a chain in one `chain` block, or rename one of them"),
                        );
                    } else {
                        s.chain_index.insert(&c.name.node, s.chains.len());
                        s.chains.push(c);
                    }
                }
                ast::Item::Assert(a) => s.asserts.push(a),
                ast::Item::Egress(e) => s.egress.push(e),
            }
        }
        s
    }
}

/// The lint names of `@allow(...)` annotations, each checked against the
/// lint table.
pub fn allow_list(annotations: &[ast::Annotation], diags: &mut Vec<Diagnostic>) -> Vec<String> {
    let mut out = Vec::new();
    for a in annotations {
        for name in &a.allow {
            if lints::is_lint(&name.node) {
                if !out.contains(&name.node) {
                    out.push(name.node.clone());
                }
                continue;
            }
            let known: Vec<&str> = lints::LINTS.iter().map(|l| l.name).collect();
            let mut d = Diagnostic::error(
                "unknown-lint",
                format!("unknown lint `{}` in `@allow`", name.node),
                name.span,
            )
            .primary_label("not a lint name");
            let help = match suggest(&name.node, known.iter().copied()) {
                Some(s) => format!("did you mean `{s}`? the lints are: {}", known.join(", ")),
                None => format!("the lints are: {}", known.join(", ")),
            };
            d = d.help(help);
            diags.push(d);
        }
    }
    out
}

/// Edit distance with adjacent transpositions (optimal string alignment),
/// ignoring ASCII case, for suggestions.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<char> = b.chars().map(|c| c.to_ascii_lowercase()).collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            d[i * w + j] = if i == 0 || j == 0 {
                i + j
            } else {
                let mut v = (d[(i - 1) * w + j - 1] + usize::from(a[i - 1] != b[j - 1]))
                    .min(d[(i - 1) * w + j] + 1)
                    .min(d[i * w + j - 1] + 1);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    v = v.min(d[(i - 2) * w + j - 2] + 1);
                }
                v
            };
        }
    }
    d[a.len() * w + b.len()]
}

/// The closest candidate to `name`, if it is close enough to be a typo.
pub fn suggest<'c>(name: &str, candidates: impl Iterator<Item = &'c str>) -> Option<&'c str> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    candidates
        .filter(|c| *c != name)
        .map(|c| (distance(name, c), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, c)| (d, c.len()))
        .map(|(_, c)| c)
}

/// A help line with a suggestion when there is one.
pub fn did_you_mean(suggestion: Option<&str>, otherwise: impl Into<String>) -> String {
    match suggestion {
        Some(s) => format!("did you mean `{s}`?"),
        None => otherwise.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_catch_typos_only() {
        let names = ["resolver", "timeserver", "admins"];
        assert_eq!(suggest("resolvr", names.iter().copied()), Some("resolver"));
        assert_eq!(suggest("admin", names.iter().copied()), Some("admins"));
        assert_eq!(suggest("web", names.iter().copied()), None);
        assert_eq!(suggest("wbe", ["web"].into_iter()), Some("web"));
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("inptu", "input"), 1);
    }
}
