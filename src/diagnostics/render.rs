//! Rendering diagnostics: miette for people ([`human`]), a versioned JSON
//! document for tools ([`json`]).
//!
//! Both renderers only build strings; the CLI decides where they go. The
//! library never hands out miette types.

mod human;
pub mod json;
mod witness;

pub use human::{human, HumanOptions};
pub use witness::packet_text;

use super::{Diagnostic, Severity};
use crate::source::{SourceMap, Span};

/// Where a span is, as people count: 1-based lines and columns, columns in
/// characters; the end is exclusive (just past the last character).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

/// The location of `span`. A span whose file is not in `sources` (which
/// would break the invariant of [`Diagnostic`]) gets the file name
/// `<unknown>` at line 1 rather than a panic.
pub fn location(sources: &SourceMap, span: Span) -> Location {
    if span.file.0 as usize >= sources.len() {
        return Location {
            file: "<unknown>".to_string(),
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 1,
        };
    }
    let file = sources.get(span.file);
    let (line, column) = file.line_col(span.start);
    let (end_line, end_column) = file.line_col(span.end);
    Location {
        file: display_path(&file.path),
        line,
        column,
        end_line,
        end_column,
    }
}

/// A path as diagnostics show it: as given, with `/` separators.
pub fn display_path(path: &std::path::Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// Counts of diagnostics by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

impl Counts {
    pub fn of<'a>(diags: impl IntoIterator<Item = &'a Diagnostic>) -> Counts {
        let mut c = Counts::default();
        for d in diags {
            c.add(d.severity);
        }
        c
    }

    pub fn add(&mut self, severity: Severity) {
        match severity {
            Severity::Error => self.errors += 1,
            Severity::Warning => self.warnings += 1,
            Severity::Info => self.infos += 1,
        }
    }

    pub fn merge(&mut self, other: Counts) {
        self.errors += other.errors;
        self.warnings += other.warnings;
        self.infos += other.infos;
    }
}

/// The last line of a human report: `2 errors, 1 warning in 1 file`
/// (infos are counted only when there are some).
pub fn summary_line(counts: Counts, files: usize) -> String {
    fn plural(n: usize, one: &str, many: &str) -> String {
        format!("{n} {}", if n == 1 { one } else { many })
    }
    let mut parts = vec![
        plural(counts.errors, "error", "errors"),
        plural(counts.warnings, "warning", "warnings"),
    ];
    if counts.infos > 0 {
        parts.push(plural(counts.infos, "info", "infos"));
    }
    format!("{} in {}", parts.join(", "), plural(files, "file", "files"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_and_plurals() {
        let c = Counts {
            errors: 2,
            warnings: 1,
            infos: 0,
        };
        assert_eq!(summary_line(c, 1), "2 errors, 1 warning in 1 file");
        let c = Counts {
            errors: 0,
            warnings: 0,
            infos: 3,
        };
        assert_eq!(
            summary_line(c, 2),
            "0 errors, 0 warnings, 3 infos in 2 files"
        );
    }

    #[test]
    fn location_is_one_based_with_exclusive_end() {
        let mut sources = SourceMap::new();
        let f = sources.add("a.hw", "host a = 1\nchain é x\n");
        let loc = location(&sources, Span::new(f, 17, 21));
        assert_eq!(
            loc,
            Location {
                file: "a.hw".into(),
                line: 2,
                column: 7,
                end_line: 2,
                end_column: 10,
            }
        );
        let bad = location(&sources, Span::new(crate::source::FileId(7), 0, 1));
        assert_eq!(bad.file, "<unknown>");
    }
}
