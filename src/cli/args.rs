//! The command line, as clap types. Help texts are user documentation:
//! every subcommand has an `about`, a `long_about` and examples.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const ABOUT: &str = "A policy language and verifier for Linux host firewalls";

const LONG_ABOUT: &str = "\
A policy language and verifier for Linux host firewalls.

hwc reads a firewall policy written in the .hw language, checks it (names, \
types, includes), proves properties about it (shadowed and redundant rules, \
egress allow-lists, assertions, IPv6 coverage) and reports every finding with \
the place in the policy and, where it is about packets, a concrete example \
packet.";

const EXAMPLES: &str = "\
Examples:
  hwc check examples/webserver.hw          Check a policy and report findings
  hwc check --format json policy.hw        The same, as JSON for tools
  hwc check --deny warnings *.hw           Fail (exit 1) on warnings too
  hwc check --format sarif policy.hw       SARIF 2.1.0 for code scanning
  hwc report --format html -o r.html p.hw  A review report of the flows
  hwc explain                              List every lint and error code
  hwc explain shadowed                     Explain one lint
  hwc fmt *.hw                             Rewrite policies in the canonical layout

Exit status: 0 no findings, 1 errors (or warnings with --deny warnings),
2 usage, I/O or internal error.";

#[derive(Debug, Parser)]
#[command(
    name = "hwc",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = EXAMPLES,
    arg_required_else_help = true,
    propagate_version = true
)]
pub struct Cli {
    /// When to colour the output. `auto` colours only a terminal and honours
    /// the NO_COLOR environment variable.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Check(CheckArgs),
    Explain(ExplainArgs),
    Report(ReportArgs),
    Compile(super::compile::CompileArgs),
    Apply(super::apply::ApplyArgs),
    Import(super::import::ImportArgs),
    Diff(super::diff::DiffArgs),
    Fmt(super::fmt::FmtArgs),
    Lsp(super::lsp::LspArgs),
    Completions(super::generate::CompletionsArgs),
    Man(super::generate::ManArgs),
}

const CHECK_LONG_ABOUT: &str = "\
Load each policy file (following its includes), report every syntax, name \
and type error, then run every lint on the policies that loaded: shadowed and \
redundant rules, egress allow-lists and assertions, IPv6 coverage, default \
policies and more. Suppress a finding on one rule with `@allow(LINT)` in the \
policy; `hwc explain` lists the lints.";

const CHECK_EXAMPLES: &str = "\
Examples:
  hwc check examples/webserver.hw
  hwc check --format json examples/*.hw > findings.json
  hwc check --deny warnings policy.hw      Use in CI or a pre-commit hook

Exit status: 0 no errors (warnings allowed unless --deny warnings),
1 errors or denied warnings, 2 usage, I/O or internal error.";

/// Check policies and report errors and findings.
#[derive(Debug, clap::Args)]
#[command(long_about = CHECK_LONG_ABOUT, after_help = CHECK_EXAMPLES)]
pub struct CheckArgs {
    /// The policy files to check (`.hw`, or iptables-save / ip6tables-save
    /// dumps).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Output format: `human` (a graphical report), `json` (a versioned
    /// document, see docs/json-output.md) or `sarif` (SARIF 2.1.0, for code
    /// scanning services).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Treat findings of this severity as errors for the exit status.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub deny: Option<Deny>,

    /// Read the files as this kind of input instead of detecting it (a
    /// file whose first line is a table header such as `*filter` is read
    /// as an iptables-save dump, anything else as a `.hw` policy).
    #[arg(long, value_enum, value_name = "KIND")]
    pub input: Option<super::input::InputFormat>,
}

const EXPLAIN_LONG_ABOUT: &str = "\
Print the documentation of a lint (what it finds, why it matters, an example \
and how to fix it) or of an error code. Without a name, list every lint with \
its default severity, and every error code.";

const EXPLAIN_EXAMPLES: &str = "\
Examples:
  hwc explain                 List lints and error codes
  hwc explain nonroot-egress  Explain one lint";

/// Explain a lint or an error code, or list them all.
#[derive(Debug, clap::Args)]
#[command(long_about = EXPLAIN_LONG_ABOUT, after_help = EXPLAIN_EXAMPLES)]
pub struct ExplainArgs {
    /// A lint name (`shadowed`) or error code (`syntax`).
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Sarif,
}

const REPORT_LONG_ABOUT: &str = "\
Write a security review report of a policy: the new flows each hook accepts, \
grouped into a few classes traced to the rules that admit them, with an \
example packet each; first of all the outbound flows a user other than root \
can open; whether the assertions and egress blocks hold; and every finding. \
Markdown suits a pull-request comment, HTML is one self-contained page (it \
prints well), JSON is a versioned document (docs/report-json.md). The date \
is SOURCE_DATE_EPOCH when set, so that reports can be reproduced.";

const REPORT_EXAMPLES: &str = "\
Examples:
  hwc report examples/webserver.hw > report.md
  hwc report --format html -o report.html examples/webserver.hw
  SOURCE_DATE_EPOCH=0 hwc report --format json policy.hw

Exit status: 0 report written, 1 the policy has errors (they are printed
on stderr, no report), 2 usage, I/O or internal error.";

/// Write a review report of a policy's flows, assertions and findings.
#[derive(Debug, clap::Args)]
#[command(long_about = REPORT_LONG_ABOUT, after_help = REPORT_EXAMPLES)]
pub struct ReportArgs {
    /// The policy file (`.hw`).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
    pub format: ReportFormat,

    /// Write the report to this file instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// GitHub-flavoured markdown, for a pull-request comment.
    Markdown,
    /// One self-contained HTML page.
    Html,
    /// A versioned JSON document (docs/report-json.md).
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Deny {
    /// Warnings make the exit status 1.
    Warnings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
