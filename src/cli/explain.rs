//! `hwc explain [NAME]`: the documentation of lints and error codes.

use super::args::ExplainArgs;
use super::{print_stdout, Exit};
use crate::analysis;
use crate::diagnostics::lints::{self, ERRORS, LINTS};
use crate::diagnostics::Severity;

pub fn run(args: &ExplainArgs) -> Exit {
    let text = match &args.name {
        None => list(),
        Some(name) => match explain(name) {
            Some(text) => text,
            None => {
                eprintln!(
                    "hwc: error: `{name}` is neither a lint nor an error code\n  \
                     help: run `hwc explain` to list them"
                );
                return Exit::Failure;
            }
        },
    };
    match print_stdout(&text) {
        Ok(()) => Exit::Success,
        Err(e) => e,
    }
}

/// Every lint and error code, one per line.
fn list() -> String {
    let width = LINTS
        .iter()
        .map(|l| l.name.len())
        .chain(ERRORS.iter().map(|e| e.name.len()))
        .max()
        .unwrap_or(0);
    let mut out = String::from(
        "Lints (suppress one with `@allow(NAME)` on the rule, chain or definition):\n",
    );
    for l in LINTS {
        out.push_str(&format!(
            "  {:width$}  {:7}  {}\n",
            l.name,
            l.severity.name(),
            l.summary
        ));
    }
    out.push_str("\nError codes (problems in the input; `@allow` cannot suppress them):\n");
    for e in ERRORS {
        out.push_str(&format!(
            "  {:width$}  {:7}  {}\n",
            e.name,
            e.severity.name(),
            e.summary
        ));
    }
    out.push_str("\nRun `hwc explain NAME` for the documentation of one of them.\n");
    out
}

/// The documentation of one lint or error code.
fn explain(name: &str) -> Option<String> {
    if let Some(l) = lints::lint(name) {
        let mut out = format!(
            "{} ({} by default)\n\n{}.\n",
            l.name,
            l.severity.name(),
            capitalise(l.summary)
        );
        if let Some(doc) = analysis::lint_doc(name) {
            out.push('\n');
            out.push_str(doc.trim_end());
            out.push('\n');
        }
        out.push_str(&format!(
            "\nSuppress it on one rule, chain, definition or egress block with\n\
             `@allow({})` on the line before, and a comment saying why.\n",
            l.name
        ));
        return Some(out);
    }
    let e = ERRORS.iter().find(|e| e.name == name)?;
    let consequence = if e.severity == Severity::Error {
        "A policy with this error is not loaded, so no lint runs on it."
    } else {
        "The policy still loads, but the input should be corrected."
    };
    Some(format!(
        "{} ({})\n\n{}.\n\n{consequence}\n`@allow` cannot suppress it: the diagnostic's labels and help say\n\
         what to change.\n",
        e.name,
        e.severity.name(),
        capitalise(e.summary)
    ))
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_and_explained() {
        let all = list();
        for l in LINTS {
            assert!(all.contains(l.name));
            let text = explain(l.name).unwrap_or_default();
            assert!(text.contains("## How to fix"), "{}", l.name);
        }
        for e in ERRORS {
            assert!(all.contains(e.name));
            assert!(explain(e.name).is_some());
        }
        assert_eq!(explain("no-such-lint"), None);
    }
}
