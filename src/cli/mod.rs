//! The `hwc` command line: argument parsing, file and terminal I/O. The
//! only module that prints. One file per subcommand; [`run`] dispatches.

pub mod apply;
pub mod args;
mod check;
pub mod compile;
pub mod diff;
mod explain;
mod fmt;
mod generate;
pub mod import;
pub mod input;
mod lsp;
mod report;

use args::{Cli, ColorChoice, Command};
use clap::Parser;
use std::io::{IsTerminal, Write};

/// The process exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// Nothing to report at error level.
    Success = 0,
    /// Errors, or warnings under `--deny warnings`.
    Findings = 1,
    /// A usage, I/O or internal error.
    Failure = 2,
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e as u8)
    }
}

/// Parses the command line and runs the subcommand.
pub fn run() -> Exit {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` are "errors" that go to stdout with
            // status 0; everything else is a usage error (status 2).
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Failure
            } else {
                Exit::Success
            };
        }
    };
    let term = Terminal::detect(cli.color);
    match &cli.command {
        Command::Check(a) => check::run(a, &term),
        Command::Explain(a) => explain::run(a),
        Command::Report(a) => report::run(a, &term),
        Command::Compile(a) => compile::run(a, &term),
        Command::Apply(a) => apply::run(a, &term),
        Command::Import(a) => import::run(a, &term),
        Command::Diff(a) => diff::run(a, &term),
        Command::Fmt(a) => fmt::run(a, &term),
        Command::Lsp(a) => lsp::run(a),
        Command::Completions(a) => generate::completions(a),
        Command::Man(a) => generate::man(a),
    }
}

/// What the terminal on stdout can show.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Terminal {
    pub color: bool,
    pub width: usize,
}

impl Terminal {
    fn detect(choice: ColorChoice) -> Terminal {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => !no_color && !dumb && std::io::stdout().is_terminal(),
        };
        // Reports are wrapped at $COLUMNS when set, else at 100 columns, so
        // that output is the same on every machine.
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|&w| w >= 40)
            .unwrap_or(100);
        Terminal { color, width }
    }
}

/// Writes `text` to stdout. A closed pipe (`hwc check | head`) is not an
/// error; any other write failure is.
pub(crate) fn print_stdout(text: &str) -> Result<(), Exit> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => {
            eprintln!("hwc: error: cannot write the output: {e}");
            Err(Exit::Failure)
        }
    }
}
