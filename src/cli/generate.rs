//! `hwc completions SHELL` and `hwc man [COMMAND]`: shell completion
//! scripts and man pages, generated from the clap definitions so that they
//! never drift from the real command line.

use super::args::Cli;
use super::{print_stdout, Exit};
use clap::CommandFactory;

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  hwc completions bash > ~/.local/share/bash-completion/completions/hwc
  hwc completions zsh > ~/.zfunc/_hwc        (with fpath+=~/.zfunc in ~/.zshrc)
  hwc completions fish > ~/.config/fish/completions/hwc.fish";

/// Print a shell completion script.
#[derive(Debug, clap::Args)]
#[command(after_help = COMPLETIONS_EXAMPLES)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

const MAN_EXAMPLES: &str = "\
Examples:
  hwc man > hwc.1 && man ./hwc.1
  hwc man check > hwc-check.1
  for c in check explain compile apply fmt lsp; do hwc man $c > hwc-$c.1; done";

/// Print a man page (roff) for hwc or one of its commands.
#[derive(Debug, clap::Args)]
#[command(after_help = MAN_EXAMPLES)]
pub struct ManArgs {
    /// A command (`check`, `fmt`, ...) for its own page, `hwc-COMMAND(1)`.
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
}

pub(crate) fn completions(args: &CompletionsArgs) -> Exit {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(shell, &mut cmd, "hwc", &mut out);
    print(&out)
}

pub(crate) fn man(args: &ManArgs) -> Exit {
    match man_page(args.command.as_deref()) {
        Ok(page) => print(&page),
        Err(message) => {
            eprintln!("hwc: error: {message}\n  help: run `hwc --help` to list the commands");
            Exit::Failure
        }
    }
}

/// The roff text of `hwc(1)`, or of `hwc-COMMAND(1)`.
pub fn man_page(command: Option<&str>) -> Result<Vec<u8>, String> {
    let mut root = Cli::command();
    root.build();
    let cmd = match command {
        None => root,
        Some(name) => {
            let Some(sub) = root.find_subcommand(name) else {
                return Err(format!("`{name}` is not a command of hwc"));
            };
            // After `build`, clap names a subcommand `hwc-check` (the
            // page's title, as git names its pages) and its usage
            // `hwc check`.
            sub.clone()
        }
    };
    let mut out = Vec::new();
    match clap_mangen::Man::new(cmd).render(&mut out) {
        Ok(()) => Ok(out),
        Err(e) => Err(format!("cannot render the man page: {e}")),
    }
}

fn print(bytes: &[u8]) -> Exit {
    match print_stdout(&String::from_utf8_lossy(bytes)) {
        Ok(()) => Exit::Success,
        Err(e) => e,
    }
}
