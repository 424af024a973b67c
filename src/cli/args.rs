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
    Compile(super::compile::CompileArgs),
    Apply(super::apply::ApplyArgs),
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
    /// The policy files to check (`.hw`).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Output format: `human` (a graphical report) or `json` (a versioned
    /// document, see docs/json-output.md).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Treat findings of this severity as errors for the exit status.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub deny: Option<Deny>,
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
