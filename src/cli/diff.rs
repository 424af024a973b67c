//! `hwc diff OLD NEW`: which packets a change of ruleset newly allows or
//! newly denies, per hook, with a witness and the rules responsible.

use super::input::InputFormat;
use super::{print_stdout, Exit, Terminal};
use crate::diagnostics::render::{self, HumanOptions};
use crate::diagnostics::Severity;
use crate::ir::Policy;
use crate::report::diff::{diff, Change, Responsible};
use crate::source::{DiskLoader, SourceMap};
use crate::space::reference::Decider;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

const DIFF_LONG_ABOUT: &str = "\
Compare two rulesets (each a .hw policy or an iptables-save / ip6tables-save \
dump, in any combination) packet by packet with hwc's packet-set engine, and \
list, per hook, the classes of packets the new ruleset newly allows or newly \
denies. Each class names the rule (or chain policy) that decides it in the \
old and in the new ruleset and shows one example packet. Classes that exist \
only for some outcome of a rate limit or of a match hwc does not model say so.";

const DIFF_EXAMPLES: &str = "\
Examples:
  hwc diff old.hw new.hw
  hwc diff /etc/iptables/rules.v4 policy.hw        A dump against a policy
  hwc diff --fail-on-new-egress main.hw branch.hw  Fail CI on new outbound flows

Exit status: 0 compared (differences or not), 1 new egress with
--fail-on-new-egress, or a ruleset has errors, 2 usage, I/O or internal error.";

/// Show what changes between two rulesets.
#[derive(Debug, clap::Args)]
#[command(long_about = DIFF_LONG_ABOUT, after_help = DIFF_EXAMPLES)]
pub struct DiffArgs {
    /// The ruleset before the change.
    #[arg(value_name = "OLD")]
    pub old: PathBuf,

    /// The ruleset after the change.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,

    /// Exit with status 1 when the new ruleset lets out (output or forward)
    /// packets the old one dropped.
    #[arg(long)]
    pub fail_on_new_egress: bool,

    /// Read both files as this kind of input instead of detecting it.
    #[arg(long, value_enum, value_name = "KIND")]
    pub input: Option<InputFormat>,
}

pub(crate) fn run(args: &DiffArgs, term: &Terminal) -> Exit {
    let mut sources = SourceMap::new();
    let mut policies: Vec<Policy> = Vec::new();
    let mut exit = Exit::Success;
    for path in [&args.old, &args.new] {
        let (policy, diags) = super::input::load(path, &DiskLoader, &mut sources, args.input);
        let errors: Vec<_> = diags
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .cloned()
            .collect();
        eprint_diagnostics(&errors, &sources, term);
        match policy {
            Some(p) => policies.push(p),
            None => {
                exit = exit.max(if errors.iter().any(|d| d.code == "io") {
                    Exit::Failure
                } else {
                    Exit::Findings
                });
            }
        }
    }
    let [old, new] = policies.as_slice() else {
        eprintln!("hwc: error: nothing was compared");
        return exit;
    };
    let d = match diff(old, new) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("hwc: error: the rulesets could not be compared: {e}");
            return Exit::Failure;
        }
    };
    let mut out = String::new();
    let old_name = render::display_path(&args.old);
    let new_name = render::display_path(&args.new);
    if d.changes.is_empty() {
        let _ = writeln!(
            out,
            "no differences: `{new_name}` gives every packet the verdict `{old_name}` gives"
        );
    }
    for c in &d.changes {
        write_change(&mut out, c, old, new, &sources, &old_name, &new_name);
    }
    for h in &d.unknown {
        let _ = writeln!(
            out,
            "{}: the comparison ran out of its work budget; there may be more differences",
            h.name()
        );
    }
    let allowed = d
        .changes
        .iter()
        .filter(|c| c.direction == crate::report::diff::Direction::NewlyAllowed)
        .count();
    let denied = d.changes.len() - allowed;
    let egress = d.new_egress().count();
    let _ = writeln!(
        out,
        "{} class{} of packets changed: {allowed} newly allowed ({egress} leaving the host or forwarded), {denied} newly denied",
        d.changes.len(),
        if d.changes.len() == 1 { "" } else { "es" }
    );
    if let Err(e) = print_stdout(&out) {
        return e;
    }
    if args.fail_on_new_egress
        && (egress > 0 || d.unknown.iter().any(|h| *h != crate::ir::Hook::Input))
    {
        return Exit::Findings.max(exit);
    }
    exit
}

fn write_change(
    out: &mut String,
    c: &Change,
    old: &Policy,
    new: &Policy,
    sources: &SourceMap,
    old_name: &str,
    new_name: &str,
) {
    let _ = writeln!(
        out,
        "{}: {}: {}",
        c.hook.name(),
        c.direction.words(),
        c.witness
    );
    let (was, now) = match c.direction {
        crate::report::diff::Direction::NewlyAllowed => ("dropped", "accepted"),
        crate::report::diff::Direction::NewlyDenied => ("accepted", "dropped"),
    };
    let _ = writeln!(
        out,
        "  old: {was} by {}",
        place(&c.old, old, sources, old_name)
    );
    let _ = writeln!(
        out,
        "  new: {now} by {}",
        place(&c.new, new, sources, new_name)
    );
    if c.is_approximate() {
        let _ = writeln!(out, "  note: only {}", c.assumptions[0].describe());
    }
}

/// `the rule at FILE:LINE: TEXT`, `the policy of chain `input` (FILE:LINE)`.
fn place(r: &Responsible, p: &Policy, sources: &SourceMap, name: &str) -> String {
    let at = |span: crate::source::Span| {
        let file = sources.get(span.file);
        let (line, _) = file.line_col(span.start);
        let text = file
            .text
            .get(span.range())
            .unwrap_or("")
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        (format!("{}:{line}", render::display_path(&file.path)), text)
    };
    match (r.decider, r.span) {
        (Decider::Rule(_), Some(span)) => {
            let (loc, text) = at(span);
            format!("the rule at {loc}: {text}")
        }
        (Decider::Policy(c), Some(span)) => {
            let (loc, _) = at(span);
            format!("the policy of chain `{}` ({loc})", p.chain(c).name)
        }
        (Decider::NoBaseChain, _) => format!("`{name}`, which has no chain on this hook"),
        (Decider::FamilyNotFiltered, _) => {
            format!("`{name}`, which does not filter this family")
        }
        (_, None) => format!("`{name}`"),
    }
}

fn eprint_diagnostics(
    diags: &[crate::diagnostics::Diagnostic],
    sources: &SourceMap,
    term: &Terminal,
) {
    let opts = HumanOptions {
        color: term.color,
        unicode: true,
        width: term.width,
    };
    let mut out = String::new();
    for d in diags {
        out.push_str(&render::human(d, sources, &opts));
        out.push('\n');
    }
    let _ = std::io::stderr().write_all(out.as_bytes());
}
