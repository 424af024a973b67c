//! `hwc fmt [--check] FILE...`: rewrite policies in the canonical layout.
//!
//! Files are formatted in parallel and reported in argument order. A file
//! is written only when its text changes. `-` formats standard input to
//! standard output. Syntax errors go to stderr and leave the file as it is.

use super::check::io_reason;
use super::compile::print_diagnostics;
use super::{print_stdout, Exit, Terminal};
use crate::diagnostics::render;
use crate::diagnostics::Diagnostic;
use crate::source::SourceMap;
use crate::syntax::fmt;
use rayon::prelude::*;
use std::io::Read;
use std::path::{Path, PathBuf};

const FMT_LONG_ABOUT: &str = "\
Rewrite policy files in place in hwc's one canonical layout: one statement \
per line, 2 spaces of indentation in blocks, one space between words, `, ` \
in lists, at most one blank line in a row, trailing comments aligned. Every \
comment is kept and the meaning never changes (hwc checks the result before \
writing it). A file with syntax errors is not touched: its errors are \
printed instead.";

const FMT_EXAMPLES: &str = "\
Examples:
  hwc fmt policy.hw               Rewrite policy.hw in place
  hwc fmt --check *.hw            List the files that are not formatted (CI)
  hwc fmt - < policy.hw           Format standard input to standard output

Exit status: 0 done (or, with --check, all files formatted), 1 a file has
syntax errors (or, with --check, would be reformatted), 2 usage or I/O error.";

/// Format policy files in the canonical layout.
#[derive(Debug, clap::Args)]
#[command(long_about = FMT_LONG_ABOUT, after_help = FMT_EXAMPLES)]
pub struct FmtArgs {
    /// The policy files to format (`.hw`), or `-` for standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Write nothing: list the files that would change and exit with 1 if
    /// there are any.
    #[arg(long)]
    pub check: bool,
}

/// What happened to one file.
enum Outcome {
    Unchanged,
    /// The formatted text differs from the file's.
    Changed,
    /// Syntax errors (or a formatter bug): nothing written.
    Refused(SourceMap, Vec<Diagnostic>),
    /// The file could not be read or written.
    Io(String),
}

pub(crate) fn run(args: &FmtArgs, term: &Terminal) -> Exit {
    if args.files.iter().any(|f| f.as_os_str() == "-") {
        if args.files.len() > 1 {
            eprintln!(
                "hwc: error: `-` (standard input) cannot be mixed with file names\n  \
                 help: run `hwc fmt -` on its own"
            );
            return Exit::Failure;
        }
        return stdin(args, term);
    }
    let outcomes: Vec<Outcome> = args
        .files
        .par_iter()
        .map(|path| format_file(path, args.check))
        .collect();
    let mut exit = Exit::Success;
    let mut listing = String::new();
    let (mut changed, mut unchanged, mut refused) = (0, 0, 0);
    for (path, outcome) in args.files.iter().zip(outcomes) {
        let shown = render::display_path(path);
        match outcome {
            Outcome::Unchanged => unchanged += 1,
            Outcome::Changed => {
                changed += 1;
                if args.check {
                    listing.push_str(&format!("would reformat {shown}\n"));
                    exit = exit.max(Exit::Findings);
                } else {
                    listing.push_str(&format!("reformatted {shown}\n"));
                }
            }
            Outcome::Refused(sources, diags) => {
                print_diagnostics(&diags, &sources, term);
                eprintln!("hwc: {shown} was not formatted: fix its errors first");
                refused += 1;
                exit = exit.max(Exit::Findings);
            }
            Outcome::Io(message) => {
                eprintln!("hwc: error: {message}");
                exit = Exit::Failure;
            }
        }
    }
    if let Err(e) = print_stdout(&listing) {
        return e;
    }
    let files = |n: usize| if n == 1 { "file" } else { "files" };
    let mut summary = if args.check {
        format!(
            "{changed} {} would be reformatted, {unchanged} already formatted",
            files(changed)
        )
    } else {
        format!(
            "{changed} {} reformatted, {unchanged} left unchanged",
            files(changed)
        )
    };
    if refused > 0 {
        summary.push_str(&format!(", {refused} not formatted (syntax errors)"));
    }
    eprintln!("{summary}");
    exit
}

/// Formats one file; writes it unless `check`.
fn format_file(path: &Path, check: bool) -> Outcome {
    let shown = render::display_path(path);
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return Outcome::Io(format!("cannot read `{shown}`: {}", io_reason(&e))),
    };
    let mut sources = SourceMap::new();
    let file = sources.add(path, text);
    let text = &sources.get(file).text;
    match fmt::format(file, text) {
        Err(diags) => Outcome::Refused(sources, diags),
        Ok(out) if out == *text => Outcome::Unchanged,
        Ok(out) => {
            if !check {
                if let Err(e) = std::fs::write(path, &out) {
                    return Outcome::Io(format!("cannot write `{shown}`: {}", io_reason(&e)));
                }
            }
            Outcome::Changed
        }
    }
}

/// `hwc fmt -`: standard input to standard output (with `--check`, only
/// the exit status says whether it would change).
fn stdin(args: &FmtArgs, term: &Terminal) -> Exit {
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        eprintln!("hwc: error: cannot read standard input: {}", io_reason(&e));
        return Exit::Failure;
    }
    let mut sources = SourceMap::new();
    let file = sources.add("<stdin>", text.clone());
    match fmt::format(file, &text) {
        Err(diags) => {
            print_diagnostics(&diags, &sources, term);
            Exit::Findings
        }
        Ok(out) if args.check => {
            if out == text {
                Exit::Success
            } else {
                eprintln!("would reformat <stdin>");
                Exit::Findings
            }
        }
        Ok(out) => match print_stdout(&out) {
            Ok(()) => Exit::Success,
            Err(e) => e,
        },
    }
}
