//! `hwc compile FILE --target iptables|nftables [-o DIR]`.
//!
//! Without `-o` the generated text goes to stdout (for iptables, the IPv4
//! text and then the IPv6 text, each starting with its own header comment).
//! With `-o DIR` every text goes to its own file, named after the policy
//! file's stem: `STEM.ipt4` (`iptables-restore` input), `STEM.ipt6`
//! (`ip6tables-restore` input) or `STEM.nft` (`nft -f` script). A failed
//! compile writes nothing, and each file appears whole or not at all: it is
//! written to a temporary file in DIR and renamed over the old one.

use super::{print_stdout, Exit, Terminal};
use crate::backend::{self, Artifact, Target};
use crate::diagnostics::render::{self, HumanOptions};
use crate::diagnostics::{Diagnostic, Severity};
use crate::ir::Policy;
use crate::source::{DiskLoader, SourceMap};
use crate::{analysis, sema};
use std::io::Write;
use std::path::{Path, PathBuf};

const COMPILE_LONG_ABOUT: &str = "\
Check a policy (every error and lint `hwc check` reports) and, when it has no \
errors, write it as firewall rules: `iptables-restore` and \
`ip6tables-restore` input (filter table), or one `nft -f` script that \
atomically replaces hwc's own `hwc` table and leaves other tables alone. \
Every generated rule carries a comment `FILE:LINE` naming its policy rule. \
Before anything is written, hwc reads every generated text back (with its \
iptables-save reader, or its reader of the nft subset it writes) and proves \
with its packet-set engine that it gives every packet the verdict the policy \
gives (translation validation); a difference is an internal error with an \
example packet, and nothing is written.";

const COMPILE_EXAMPLES: &str = "\
Examples:
  hwc compile web.hw --target nftables             Print the nft script
  hwc compile web.hw --target iptables -o out/     Write out/web.ipt4, out/web.ipt6
  hwc compile web.hw --target nftables -o /etc/hwc Write /etc/hwc/web.nft

Files: STEM.ipt4 (iptables-restore), STEM.ipt6 (ip6tables-restore) for the
families the policy filters, or STEM.nft (nft -f). A failed compile writes
nothing; each file is written whole (temporary file, then rename).

Translation validation takes seconds on policies of many thousand rules;
--no-verify skips it.

Exit status: 0 written, 1 the policy has errors, 2 usage, I/O or internal
error (a generated text that is not equivalent to the policy).";

/// Compile a policy to iptables or nftables rules.
#[derive(Debug, clap::Args)]
#[command(long_about = COMPILE_LONG_ABOUT, after_help = COMPILE_EXAMPLES)]
pub struct CompileArgs {
    /// The policy file (`.hw`).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// The firewall to write rules for.
    #[arg(long, value_enum)]
    pub target: TargetArg,

    /// Write the files into this directory instead of printing them.
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub out_dir: Option<PathBuf>,

    /// Skip translation validation (reading the generated text back and
    /// proving it equivalent to the policy).
    #[arg(long)]
    pub no_verify: bool,
}

pub(crate) fn run(args: &CompileArgs, term: &Terminal) -> Exit {
    let Some((policy, sources)) = load_checked(&args.file, term) else {
        return Exit::Findings;
    };
    let artifacts = match backend::compile(&policy, Some(&sources), args.target.into()) {
        Ok(a) => a,
        Err(diags) => {
            print_diagnostics(&diags, &sources, term);
            return Exit::Findings;
        }
    };
    if !args.no_verify {
        if let Err(e) = verify(&policy, &artifacts, "written") {
            return e;
        }
    }
    match &args.out_dir {
        None => match print_stdout(&stdout_text(&artifacts)) {
            Ok(()) => Exit::Success,
            Err(e) => e,
        },
        Some(dir) => match write_artifacts(dir, &args.file, &artifacts) {
            Ok(paths) => {
                for p in paths {
                    eprintln!("hwc: wrote {}", render::display_path(&p));
                }
                Exit::Success
            }
            Err(e) => {
                eprintln!(
                    "hwc: error: cannot write into `{}`: {}",
                    render::display_path(dir),
                    io_words(&e)
                );
                eprintln!("  help: create the directory first, or check its permissions");
                Exit::Failure
            }
        },
    }
}

/// Translation validation: proves the generated texts equivalent to the
/// policy, or says on stderr why not (nothing is `done` then).
pub(crate) fn verify(policy: &Policy, artifacts: &[Artifact], done: &str) -> Result<(), Exit> {
    match crate::backend::validate::validate(policy, artifacts) {
        Ok(_) => Ok(()),
        Err(failure) => {
            eprintln!("hwc: internal error: translation validation failed: {failure}");
            eprintln!(
                "hwc: nothing was {done}; this is a bug in hwc, please report it with the policy"
            );
            Err(Exit::Failure)
        }
    }
}

/// An I/O error in lowercase words, without the OS error number.
fn io_words(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut c = text.chars();
    match c.next() {
        Some(first) => first.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Loads a policy and runs every lint. Prints every diagnostic on stderr;
/// returns the policy only when nothing is at error severity (an I/O error
/// is an error too).
pub(crate) fn load_checked(path: &Path, term: &Terminal) -> Option<(Policy, SourceMap)> {
    let mut sources = SourceMap::new();
    let (policy, mut diags) = sema::load(path, &DiskLoader, &mut sources);
    if let Some(p) = &policy {
        diags.extend(analysis::analyze(p));
    }
    diags.sort_by_key(|d| {
        let s = d.primary_span();
        (s.file, s.start)
    });
    print_diagnostics(&diags, &sources, term);
    let errors = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    if errors > 0 {
        eprintln!(
            "hwc: error: `{}` has {errors} error{}; nothing was written",
            render::display_path(path),
            if errors == 1 { "" } else { "s" }
        );
        return None;
    }
    policy.map(|p| (p, sources))
}

pub(crate) fn print_diagnostics(diags: &[Diagnostic], sources: &SourceMap, term: &Terminal) {
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

/// The file names a compile into `dir` writes, for a policy file `file`.
pub fn artifact_path(dir: &Path, file: &Path, artifact: &Artifact) -> PathBuf {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "policy".to_string());
    dir.join(format!("{stem}.{}", artifact.suffix))
}

/// Writes every artifact into `dir` atomically (temporary file, fsync,
/// rename). Either all files are written, or an error is returned and the
/// temporary files are removed; files already renamed stay (each one is
/// whole).
pub fn write_artifacts(
    dir: &Path,
    file: &Path,
    artifacts: &[Artifact],
) -> std::io::Result<Vec<PathBuf>> {
    // Write every temporary file first, so that an error (disk full) leaves
    // the old files in place.
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let result = (|| {
        for a in artifacts {
            let path = artifact_path(dir, file, a);
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
            staged.push((tmp.clone(), path));
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(a.text.as_bytes())?;
            f.sync_all()?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        for (tmp, _) in &staged {
            let _ = std::fs::remove_file(tmp);
        }
        return Err(e);
    }
    let mut written = Vec::new();
    for (tmp, path) in staged {
        std::fs::rename(&tmp, &path)?;
        written.push(path);
    }
    Ok(written)
}

/// The text printed on stdout when no output directory is given.
pub fn stdout_text(artifacts: &[Artifact]) -> String {
    artifacts.iter().map(|a| a.text.as_str()).collect()
}

/// The target names on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TargetArg {
    Iptables,
    Nftables,
}

impl From<TargetArg> for Target {
    fn from(t: TargetArg) -> Target {
        match t {
            TargetArg::Iptables => Target::Iptables,
            TargetArg::Nftables => Target::Nftables,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn art(suffix: &'static str, text: &str) -> Artifact {
        Artifact {
            suffix,
            text: text.into(),
        }
    }

    #[test]
    fn writes_whole_files_named_after_the_stem() {
        let dir = std::env::temp_dir().join(format!("hwc-compile-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let arts = [
            art("ipt4", "*filter\nCOMMIT\n"),
            art("ipt6", "*filter\nCOMMIT\n"),
        ];
        let written = write_artifacts(&dir, Path::new("/x/web.hw"), &arts).unwrap();
        assert_eq!(written, vec![dir.join("web.ipt4"), dir.join("web.ipt6")]);
        assert_eq!(
            std::fs::read_to_string(dir.join("web.ipt6")).unwrap(),
            "*filter\nCOMMIT\n"
        );
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_directory_writes_nothing() {
        let dir = std::env::temp_dir().join(format!("hwc-compile-missing-{}", std::process::id()));
        let arts = [art("nft", "table inet hwc {}\n")];
        assert!(write_artifacts(&dir, Path::new("p.hw"), &arts).is_err());
        assert!(!dir.exists());
    }
}
