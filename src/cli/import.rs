//! `hwc import RULES > policy.hw`: an iptables-save dump as a readable
//! `.hw` policy, proved equivalent to the dump before it is printed.

use super::input::InputFormat;
use super::{print_stdout, Exit, Terminal};
use crate::diagnostics::render::{self, HumanOptions};
use crate::diagnostics::{Diagnostic, Severity};
use crate::import::verify::{import_verified, Proof};
use crate::source::{DiskLoader, SourceMap};
use std::io::Write;
use std::path::{Path, PathBuf};

const IMPORT_LONG_ABOUT: &str = "\
Read an iptables-save or ip6tables-save dump (the filter table) and print it \
as a readable .hw policy: the same chains and rules in the same order, \
repeated addresses and port lists named. Before printing, hwc reads the \
printed policy back and proves with its packet-set engine that it gives \
every packet the verdict the dump gives; a rule .hw cannot express is \
printed as a comment and reported, and the proof then covers the rest.";

const IMPORT_EXAMPLES: &str = "\
Examples:
  iptables-save | hwc import /dev/stdin > policy.hw
  hwc import rules.v4 > policy.hw
  hwc import --input ip6tables-save rules.v6 > policy6.hw

Exit status: 0 printed (rules left out are warnings on stderr), 1 the dump
has errors, 2 usage, I/O or internal error (nothing is printed).";

/// Convert an iptables-save dump into a .hw policy.
#[derive(Debug, clap::Args)]
#[command(long_about = IMPORT_LONG_ABOUT, after_help = IMPORT_EXAMPLES)]
pub struct ImportArgs {
    /// The dump (`iptables-save` or `ip6tables-save` output).
    #[arg(value_name = "RULES")]
    pub file: PathBuf,

    /// The kind of dump, instead of detecting the family from its content.
    #[arg(long, value_enum, value_name = "KIND")]
    pub input: Option<InputFormat>,
}

pub(crate) fn run(args: &ImportArgs, term: &Terminal) -> Exit {
    let path = &args.file;
    if args.input == Some(InputFormat::Hw) {
        eprintln!("hwc: error: `import` reads iptables-save dumps; a `.hw` policy needs no import");
        return Exit::Failure;
    }
    let mut sources = SourceMap::new();
    let (policy, diags) = super::input::load_dump(path, &DiskLoader, &mut sources, args.input);
    eprint_diagnostics(&diags, &sources, term);
    if diags.iter().any(|d| d.code == "io") {
        return Exit::Failure;
    }
    let Some(policy) = policy else {
        let errors = diags
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        eprintln!(
            "hwc: error: `{}` has {errors} error{}; nothing was imported",
            render::display_path(path),
            if errors == 1 { "" } else { "s" }
        );
        return Exit::Findings;
    };
    let dump = sources.get(policy.span.file).text.clone();
    let printed_name = format!("{}.hw", policy.name);
    let imported = import_verified(&policy, &dump, Path::new(&printed_name));
    eprint_diagnostics(&imported.diagnostics, &sources, term);
    let left_out = imported.left_out.len();
    match imported.proof {
        Proof::Equivalent { exact } => {
            let scope = if left_out == 0 {
                "the dump".to_string()
            } else {
                format!(
                    "the dump without the {left_out} rule{} left out above",
                    if left_out == 1 { "" } else { "s" }
                )
            };
            let how = if exact {
                ""
            } else {
                " (rate limits compared both as always and as never matching)"
            };
            eprintln!("hwc: proved equivalent on all packets: the printed policy and {scope}{how}");
            match print_stdout(&imported.text) {
                Ok(()) => Exit::Success,
                Err(e) => e,
            }
        }
        Proof::Differ(d) => {
            eprintln!(
                "hwc: internal error: the printed policy differs from the dump at the {} hook: `{}` gets {} from the dump and {} from the printed policy{}{}",
                d.hook.name(),
                d.packet,
                d.left.name(),
                d.right.name(),
                if d.assumption.describe().is_empty() { "" } else { " " },
                d.assumption.describe()
            );
            eprintln!(
                "hwc: nothing was printed; this is a bug in hwc, please report it with the dump"
            );
            Exit::Failure
        }
        Proof::NotLoadable(diags, printed_sources) => {
            eprintln!("hwc: internal error: the printed policy does not load:");
            eprint_diagnostics(&diags, &printed_sources, term);
            eprintln!(
                "hwc: nothing was printed; this is a bug in hwc, please report it with the dump"
            );
            Exit::Failure
        }
        Proof::Unknown(why) => {
            eprintln!(
                "hwc: error: could not prove the printed policy equivalent to the dump: {why}"
            );
            eprintln!("hwc: nothing was printed");
            Exit::Failure
        }
    }
}

/// Renders diagnostics on stderr (stdout carries the policy).
fn eprint_diagnostics(diags: &[Diagnostic], sources: &SourceMap, term: &Terminal) {
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
