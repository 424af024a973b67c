//! `hwc report FILE`: a security review report (markdown, HTML, JSON).

use super::args::{ReportArgs, ReportFormat};
use super::{print_stdout, Exit, Terminal};
use crate::diagnostics::render::{self, HumanOptions};
use crate::report::{self, html, markdown, Input};
use crate::sema;
use crate::source::{DiskLoader, FileLoader, SourceMap};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

pub fn run(args: &ReportArgs, term: &Terminal) -> Exit {
    let path = args.file.as_path();
    let shown = render::display_path(path);
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("hwc: error: cannot read `{shown}`: {e}");
            return Exit::Failure;
        }
    };
    let date = match report_date() {
        Ok(d) => d,
        Err(msg) => {
            eprintln!("hwc: error: {msg}");
            return Exit::Failure;
        }
    };
    let loader = RootLoader {
        root: path,
        text: &text,
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut sources = SourceMap::new();
        let (policy, diags) = sema::load(path, &loader, &mut sources);
        let errors: Vec<_> = diags.iter().filter(|d| d.is_error()).collect();
        let Some(policy) = policy.filter(|_| errors.is_empty()) else {
            let opts = HumanOptions {
                color: term.color,
                unicode: true,
                width: term.width,
            };
            let mut msg = String::new();
            for d in &diags {
                msg.push_str(&render::human(d, &sources, &opts));
                msg.push('\n');
            }
            msg.push_str(&format!(
                "hwc: error: `{shown}` has errors; fix them to get a report\n"
            ));
            return Err((Exit::Findings, msg));
        };
        let root = sources.find(path).unwrap_or_default();
        let input = Input {
            sources: &sources,
            root,
            path: shown.clone(),
            load_diagnostics: &diags,
            date,
        };
        let report = report::build(&policy, &input).map_err(|e| {
            (
                Exit::Failure,
                format!("hwc: error: cannot analyse `{shown}`: {e}\n"),
            )
        })?;
        let out = match args.format {
            ReportFormat::Markdown => markdown::render(&report),
            ReportFormat::Html => html::render(&report),
            ReportFormat::Json => match serde_json::to_string_pretty(&report) {
                Ok(s) => s + "\n",
                Err(e) => {
                    return Err((
                        Exit::Failure,
                        format!("hwc: error: cannot serialise the report: {e}\n"),
                    ))
                }
            },
        };
        Ok(out)
    }));
    let text = match outcome {
        Ok(Ok(text)) => text,
        Ok(Err((exit, msg))) => {
            eprint!("{msg}");
            return exit;
        }
        Err(_) => {
            eprintln!(
                "hwc: error: hwc crashed while reporting on `{shown}`; this is a bug in hwc, please report it"
            );
            return Exit::Failure;
        }
    };
    match &args.output {
        Some(out) => match std::fs::write(out, text) {
            Ok(()) => Exit::Success,
            Err(e) => {
                eprintln!(
                    "hwc: error: cannot write `{}`: {e}",
                    render::display_path(out)
                );
                Exit::Failure
            }
        },
        None => match print_stdout(&text) {
            Ok(()) => Exit::Success,
            Err(e) => e,
        },
    }
}

/// The report's date: `SOURCE_DATE_EPOCH` (seconds since 1970) when set,
/// for reproducible reports, else now.
fn report_date() -> Result<i64, String> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.trim().is_empty() => v.trim().parse::<i64>().map_err(|_| {
            format!("SOURCE_DATE_EPOCH must be a number of seconds since 1970, not `{v}`")
        }),
        _ => Ok(std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)),
    }
}

/// Serves the root file from the text already read and every other file
/// from disk.
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
