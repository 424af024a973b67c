//! `hwc check FILE...`: load each policy, run the lints, report.

use super::args::{CheckArgs, Deny, Format};
use super::{print_stdout, Exit, Terminal};
use crate::analysis;
use crate::diagnostics::render::{self, json, Counts, HumanOptions};
use crate::diagnostics::Diagnostic;
use crate::ir::Policy;
use crate::report::sarif;
use crate::source::{DiskLoader, FileLoader, SourceMap, Span};
use rayon::prelude::*;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// The front end: a policy file to IR (`sema::load`).
pub(crate) type LoadFn =
    fn(&Path, &dyn FileLoader, &mut SourceMap) -> (Option<Policy>, Vec<Diagnostic>);

/// The lints (`analysis::analyze`).
pub(crate) type AnalyzeFn = fn(&Policy) -> Vec<Diagnostic>;

pub fn run(args: &CheckArgs, term: &Terminal) -> Exit {
    run_with(
        args,
        term,
        super::input::loader_for(args.input),
        analysis::analyze,
    )
}

pub(crate) fn run_with(
    args: &CheckArgs,
    term: &Terminal,
    load: LoadFn,
    analyze: AnalyzeFn,
) -> Exit {
    // Files are independent: check them in parallel. `collect` keeps the
    // order of the arguments, so the report does not depend on timing.
    let checked: Vec<Checked> = args
        .files
        .par_iter()
        .map(|path| check_file(path, load, analyze))
        .collect();
    let (text, exit) = report(&checked, args, term);
    match print_stdout(&text) {
        Ok(()) => exit,
        Err(e) => e,
    }
}

/// One file's outcome.
pub(crate) struct Checked {
    path: PathBuf,
    sources: SourceMap,
    policy: Option<String>,
    diagnostics: Vec<Diagnostic>,
    /// An I/O or internal error happened (exit status 2).
    failed: bool,
}

/// Loads and analyses one file. Never panics: a panic inside the library
/// becomes an `internal` diagnostic.
pub(crate) fn check_file(path: &Path, load: LoadFn, analyze: AnalyzeFn) -> Checked {
    let mut sources = SourceMap::new();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            let file = sources.add(path, "");
            let diag = Diagnostic::error(
                "io",
                format!(
                    "cannot read `{}`: {}",
                    render::display_path(path),
                    io_reason(&e)
                ),
                Span::new(file, 0, 0),
            )
            .help("check the path and the file's permissions");
            return Checked {
                path: path.to_path_buf(),
                sources,
                policy: None,
                diagnostics: vec![diag],
                failed: true,
            };
        }
    };
    let loader = RootLoader {
        root: path,
        text: &text,
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let (policy, mut diags) = load(path, &loader, &mut sources);
        if let Some(policy) = &policy {
            diags.extend(analyze(policy));
        }
        (policy.map(|p| p.name), diags)
    }));
    let (policy, mut diagnostics) = match outcome {
        Ok(result) => result,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let file = sources.find(path).unwrap_or_else(|| sources.add(path, ""));
            let diag = Diagnostic::error(
                "internal",
                format!(
                    "hwc crashed while checking `{}`",
                    render::display_path(path)
                ),
                Span::new(file, 0, 0),
            )
            .note(format!("the crash said: {what}"))
            .help("this is a bug in hwc; please report it with the policy that triggers it");
            (None, vec![diag])
        }
    };
    // Report in the order of the text: by file, then position. The sort is
    // stable, so diagnostics at one place keep the order they came in.
    diagnostics.sort_by_key(|d| {
        let s = d.primary_span();
        (s.file, s.start)
    });
    let failed = diagnostics
        .iter()
        .any(|d| d.code == "io" || d.code == "internal");
    Checked {
        path: path.to_path_buf(),
        sources,
        policy,
        diagnostics,
        failed,
    }
}

/// The text to print and the exit status.
pub(crate) fn report(checked: &[Checked], args: &CheckArgs, term: &Terminal) -> (String, Exit) {
    let mut total = Counts::default();
    for c in checked {
        total.merge(Counts::of(&c.diagnostics));
    }
    let exit = if checked.iter().any(|c| c.failed) {
        Exit::Failure
    } else if total.errors > 0 || (args.deny == Some(Deny::Warnings) && total.warnings > 0) {
        Exit::Findings
    } else {
        Exit::Success
    };
    let text = match args.format {
        Format::Human => {
            let opts = HumanOptions {
                color: term.color,
                unicode: true,
                width: term.width,
            };
            let mut out = String::new();
            for c in checked {
                for d in &c.diagnostics {
                    out.push_str(&render::human(d, &c.sources, &opts));
                    out.push('\n');
                }
            }
            out.push_str(&render::summary_line(total, checked.len()));
            out.push('\n');
            out
        }
        Format::Sarif => {
            let files: Vec<sarif::FileDiagnostics> = checked
                .iter()
                .map(|c| sarif::FileDiagnostics {
                    sources: &c.sources,
                    diagnostics: &c.diagnostics,
                })
                .collect();
            let log = sarif::log(&files, exit as i32);
            match serde_json::to_string_pretty(&log) {
                Ok(mut s) => {
                    s.push('\n');
                    s
                }
                Err(e) => {
                    eprintln!("hwc: error: cannot serialise the report: {e}");
                    return (String::new(), Exit::Failure);
                }
            }
        }
        Format::Json => {
            let doc = json::Report {
                version: json::VERSION,
                files: checked
                    .iter()
                    .map(|c| {
                        json::FileReport::new(
                            render::display_path(&c.path),
                            c.policy.clone(),
                            Counts::of(&c.diagnostics),
                        )
                    })
                    .collect(),
                diagnostics: checked
                    .iter()
                    .flat_map(|c| {
                        c.diagnostics
                            .iter()
                            .map(|d| json::diagnostic(d, &c.sources))
                    })
                    .collect(),
                summary: json::Summary::new(checked.len(), total, exit as i32),
            };
            match serde_json::to_string_pretty(&doc) {
                Ok(mut s) => {
                    s.push('\n');
                    s
                }
                Err(e) => {
                    eprintln!("hwc: error: cannot serialise the report: {e}");
                    return (String::new(), Exit::Failure);
                }
            }
        }
    };
    (text, exit)
}

/// Serves the root file from the text already read (so it is read once)
/// and every other file from disk.
struct RootLoader<'a> {
    root: &'a Path,
    text: &'a str,
}

impl FileLoader for RootLoader<'_> {
    fn load(&self, path: &Path) -> std::io::Result<String> {
        if path == self.root {
            Ok(self.text.to_string())
        } else {
            DiskLoader.load(path)
        }
    }
}

/// An I/O error in lowercase words, without the OS error number.
pub(crate) fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        NotFound => "no such file".into(),
        PermissionDenied => "permission denied".into(),
        InvalidData => "the file is not UTF-8 text".into(),
        IsADirectory => "it is a directory".into(),
        _ => {
            let text = e.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text).to_string();
            let mut c = text.chars();
            match c.next() {
                Some(first) => first.to_lowercase().chain(c).collect(),
                None => text,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{FamilySet, Origin};

    fn args(files: Vec<PathBuf>, format: Format, deny: Option<Deny>) -> CheckArgs {
        CheckArgs {
            files,
            format,
            deny,
            input: None,
        }
    }

    fn term() -> Terminal {
        Terminal {
            color: false,
            width: 100,
        }
    }

    /// A front end that loads every file into a policy named after it, and
    /// reports one warning at the start of the file.
    fn fake_load(
        path: &Path,
        loader: &dyn FileLoader,
        sources: &mut SourceMap,
    ) -> (Option<Policy>, Vec<Diagnostic>) {
        let text = match loader.load(path) {
            Ok(t) => t,
            Err(_) => return (None, vec![]),
        };
        let f = sources.add(path, text);
        let policy = Policy {
            name: "fake".into(),
            family: FamilySet::INET,
            origin: Origin::Policy,
            chains: vec![],
            assertions: vec![],
            egress: vec![],
            definitions: vec![],
            span: Span::new(f, 0, 0),
        };
        (
            Some(policy),
            vec![Diagnostic::new(
                "unused",
                "`x` is never used",
                Span::new(f, 0, 1),
            )],
        )
    }

    fn no_lints(_: &Policy) -> Vec<Diagnostic> {
        vec![]
    }

    fn panicking_lints(_: &Policy) -> Vec<Diagnostic> {
        panic!("boom")
    }

    fn temp_file(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("hwc-check-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn warnings_exit_zero_unless_denied() {
        let p = temp_file("w.hw", "x\n");
        let c = vec![check_file(&p, fake_load, no_lints)];
        let (text, exit) = report(&c, &args(vec![p.clone()], Format::Human, None), &term());
        assert_eq!(exit, Exit::Success);
        assert!(text.contains("warning[unused]"), "{text}");
        assert!(text.ends_with("0 errors, 1 warning in 1 file\n"), "{text}");
        let (_, exit) = report(
            &c,
            &args(vec![p], Format::Human, Some(Deny::Warnings)),
            &term(),
        );
        assert_eq!(exit, Exit::Findings);
    }

    #[test]
    fn unreadable_file_is_an_io_failure() {
        let p = PathBuf::from("/nonexistent/hwc/policy.hw");
        let c = vec![check_file(&p, fake_load, no_lints)];
        let (text, exit) = report(&c, &args(vec![p], Format::Json, None), &term());
        assert_eq!(exit, Exit::Failure);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["diagnostics"][0]["code"], "io");
        assert_eq!(v["summary"]["exit_code"], 2);
        assert!(v["files"][0]["policy"].is_null());
    }

    #[test]
    fn a_crash_becomes_an_internal_error() {
        let p = temp_file("c.hw", "x\n");
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let c = [check_file(&p, fake_load, panicking_lints)];
        std::panic::set_hook(prev);
        assert!(c[0].failed);
        assert_eq!(c[0].diagnostics[0].code, "internal");
        assert_eq!(
            c[0].diagnostics[0].note.as_deref(),
            Some("the crash said: boom")
        );
    }
}
