//! `hwc import` with a proof: the `.hw` text [`to_hw`](super::to_hw())
//! writes is read back by the real front end (`sema`) and compared with
//! the dump on every packet by the packet-set engine.
//!
//! The proof covers the *importable* part of the dump: the rules `to_hw`
//! comments out (`not-importable`) are left out of the dump's policy
//! before the comparison, and [`Proof::Equivalent`] says how many.

use crate::diagnostics::Diagnostic;
use crate::ir::{Policy, Rule};
use crate::source::{MemoryLoader, SourceMap, Span};
use crate::space::equiv::{check_equivalent, Difference, Equivalence};
use crate::space::eval::EvalError;
use crate::space::RuleRef;
use std::collections::HashSet;
use std::path::Path;

/// The outcome of [`import_verified`].
#[derive(Debug)]
pub struct Imported {
    /// The `.hw` text.
    pub text: String,
    /// `not-importable` findings (spans in the dump).
    pub diagnostics: Vec<Diagnostic>,
    /// The rules of the dump's policy that the text leaves out.
    pub left_out: Vec<RuleRef>,
    pub proof: Proof,
}

/// Is the printed policy the dump (without its left-out rules)?
#[derive(Debug)]
pub enum Proof {
    /// Every packet gets the same verdict at every hook. `exact` is false
    /// when rate limits were compared in both instantiations (see
    /// [`crate::space::equiv`]).
    Equivalent { exact: bool },
    /// A packet the two decide differently: a bug in hwc.
    Differ(Difference),
    /// The printed text does not load: a bug in hwc. The diagnostics and
    /// the sources they point into (the printed text).
    NotLoadable(Vec<Diagnostic>, SourceMap),
    /// The engine's budget ran out, or the policy is too complex.
    Unknown(String),
}

/// Writes the dump's policy as `.hw` and proves the text equivalent to it.
/// `path` names the printed text in diagnostics (`STEM.hw`).
pub fn import_verified(policy: &Policy, dump: &str, path: &Path) -> Imported {
    let (text, diagnostics) = super::to_hw(policy, dump);
    let spans: HashSet<Span> = diagnostics
        .iter()
        .filter(|d| d.code == "not-importable")
        .map(|d| d.primary_span())
        .collect();
    let (subset, left_out) = without_rules(policy, |r| spans.contains(&r.span));
    let mut sources = SourceMap::new();
    let (printed, diags) =
        crate::sema::load_source(path, &text, &MemoryLoader::default(), &mut sources);
    let proof = match printed {
        None => Proof::NotLoadable(diags, sources),
        Some(printed) => match check_equivalent(&subset, &printed, subset.family) {
            Equivalence::Equivalent { exact } => Proof::Equivalent { exact },
            Equivalence::Differ(d) => Proof::Differ(d),
            Equivalence::Unknown { hook } => Proof::Unknown(format!(
                "the comparison of the {} hook ran out of its work budget",
                hook.name()
            )),
            Equivalence::Error(e) => Proof::Unknown(unknown_reason(&e)),
        },
    };
    Imported {
        text,
        diagnostics,
        left_out,
        proof,
    }
}

fn unknown_reason(e: &EvalError) -> String {
    format!("the policy could not be analysed: {e}")
}

/// The policy without the rules `drop_rule` selects, and their references
/// in the original.
pub fn without_rules(policy: &Policy, drop_rule: impl Fn(&Rule) -> bool) -> (Policy, Vec<RuleRef>) {
    let mut out = policy.clone();
    let mut left_out = Vec::new();
    for (c, chain) in out.chains.iter_mut().enumerate() {
        let mut index = 0u32;
        chain.rules.retain(|r| {
            let keep = !drop_rule(r);
            if !keep {
                left_out.push(RuleRef {
                    chain: crate::ir::ChainId(c as u32),
                    index,
                });
            }
            index += 1;
            keep
        });
    }
    (out, left_out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    fn import(dump: &str) -> Imported {
        let (p, d) = super::super::read_dump(FileId(0), dump);
        let p = p.unwrap_or_else(|| panic!("{d:?}"));
        import_verified(&p, dump, Path::new("t.hw"))
    }

    #[test]
    fn a_simple_dump_is_proved() {
        let i = import(
            "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
             -A INPUT -i lo -j ACCEPT\n\
             -A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT\n\
             -A INPUT -p tcp -m tcp --dport 22 -m limit --limit 3/min -j ACCEPT\n\
             -A INPUT -s 10.0.0.0/8 ! -p udp -j REJECT --reject-with icmp-port-unreachable\n\
             COMMIT\n",
        );
        assert!(
            matches!(i.proof, Proof::Equivalent { exact: false }),
            "{:?}",
            i.proof
        );
        assert!(i.left_out.is_empty());
    }

    #[test]
    fn left_out_rules_are_not_part_of_the_proof() {
        let i = import(
            "*filter\n:INPUT DROP [0:0]\n\
             -A INPUT -m recent --name ssh --rcheck -j DROP\n\
             -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n\
             COMMIT\n",
        );
        assert!(
            matches!(i.proof, Proof::Equivalent { exact: true }),
            "{:?}",
            i.proof
        );
        assert_eq!(i.left_out.len(), 1);
        assert_eq!(i.left_out[0].index, 0);
    }
}
