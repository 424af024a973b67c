//! The graphical report for people, drawn by miette.
//!
//! Labels may lie in several files (a rule and the included definition it
//! conflicts with). miette reads all snippets of one report from one
//! `SourceCode`, so [`AllFiles`] lays the files of the `SourceMap` end to
//! end in one offset space and names each snippet by its file. A snippet
//! never spans two files: reading across a boundary fails, which keeps
//! miette from merging snippets of different files.

use super::super::{Diagnostic, Severity};
use super::packet_text;
use crate::source::{FileId, SourceMap, Span};
use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use std::fmt;

/// How a human report looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanOptions {
    /// ANSI colours.
    pub color: bool,
    /// Box-drawing characters; ASCII art when false.
    pub unicode: bool,
    /// Wrap text at this many columns.
    pub width: usize,
}

impl Default for HumanOptions {
    fn default() -> Self {
        HumanOptions {
            color: false,
            unicode: true,
            width: 100,
        }
    }
}

/// One diagnostic as a graphical report: `error[code]: message`, a
/// labelled snippet per place (primary and secondary, in any file), then
/// the note, the witness packet and the help. Ends with a newline.
pub fn human(diag: &Diagnostic, sources: &SourceMap, opts: &HumanOptions) -> String {
    let all = AllFiles::new(sources, diag.primary_span().file);
    let labels = diag
        .labels
        .iter()
        .filter_map(|l| {
            // A label in an empty file (one that could not be read) has
            // nothing to show.
            let span = all.global(l.span)?;
            let text = (!l.message.is_empty()).then(|| l.message.clone());
            Some(if l.primary {
                LabeledSpan::new_primary_with_span(text, span)
            } else {
                LabeledSpan::new_with_span(text, span)
            })
        })
        .collect();
    let view = View {
        message: diag.message.clone(),
        severity: diag.severity,
        labels,
        source: &all,
    };

    let mut theme = match (opts.unicode, opts.color) {
        (true, true) => GraphicalTheme::unicode(),
        (true, false) => GraphicalTheme::unicode_nocolor(),
        (false, true) => GraphicalTheme::ascii(),
        (false, false) => GraphicalTheme::none(),
    };
    if !opts.unicode && !opts.color {
        theme.characters = miette::ThemeCharacters::ascii();
    }
    // The severity and code stand where miette puts its severity icon.
    let head = format!("{}[{}]:", diag.severity.name(), diag.code);
    theme.characters.error = head.clone();
    theme.characters.warning = head.clone();
    theme.characters.advice = head;
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(opts.width)
        .with_links(false)
        .with_urls(false)
        .with_context_lines(1);

    let mut out = String::new();
    if handler.render_report(&mut out, &view).is_err() {
        // miette could not read a snippet: still say what is wrong.
        out = format!(
            "  {}[{}]: {}\n",
            diag.severity.name(),
            diag.code,
            diag.message
        );
    }

    let footer = |out: &mut String, word: &str, text: &str| {
        let tag = if opts.color {
            format!("\x1b[1m{word}:\x1b[0m")
        } else {
            format!("{word}:")
        };
        out.push_str(&wrap(
            text,
            &format!("  {tag} "),
            word.len() + 4,
            opts.width,
        ));
    };
    if let Some(note) = &diag.note {
        footer(&mut out, "note", note);
    }
    if let Some(packet) = &diag.witness {
        footer(
            &mut out,
            "note",
            &format!("witness: {}", packet_text(packet)),
        );
    }
    if let Some(help) = &diag.help {
        footer(&mut out, "help", help);
    }
    out
}

/// Word-wraps `text` to `width` columns: the first line starts with
/// `first` (which may contain colour codes), the others with `indent`
/// spaces. Ends with a newline.
fn wrap(text: &str, first: &str, indent: usize, width: usize) -> String {
    let room = width.saturating_sub(indent).max(20);
    let mut lines: Vec<String> = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > room {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if i == 0 {
            out.push_str(first);
        } else {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The files of a source map laid end to end, each followed by one gap
/// byte so that no span of one file touches the next. The file of the
/// primary label comes first, so that miette (which shows snippets in
/// offset order) shows it first.
struct AllFiles<'a> {
    sources: &'a SourceMap,
    /// The files in layout order, and where each starts.
    order: Vec<FileId>,
    bases: Vec<usize>,
    /// `base_of[file id]`.
    base_of: Vec<usize>,
}

impl<'a> AllFiles<'a> {
    fn new(sources: &'a SourceMap, first: FileId) -> AllFiles<'a> {
        let mut order: Vec<FileId> = sources.files().map(|(id, _)| id).collect();
        if let Some(i) = order.iter().position(|&id| id == first) {
            order[..=i].rotate_right(1);
        }
        let mut bases = Vec::with_capacity(order.len());
        let mut base_of = vec![0; order.len()];
        let mut next = 0;
        for &id in &order {
            bases.push(next);
            base_of[id.0 as usize] = next;
            next += sources.get(id).text.len() + 1;
        }
        AllFiles {
            sources,
            order,
            bases,
            base_of,
        }
    }

    /// The global span of a file span, if the file exists and is not empty.
    fn global(&self, span: Span) -> Option<SourceSpan> {
        let base = *self.base_of.get(span.file.0 as usize)?;
        let text = &self.sources.get(span.file).text;
        if text.is_empty() {
            return None;
        }
        let start = (span.start as usize).min(text.len());
        let end = (span.end as usize).clamp(start, text.len());
        Some(SourceSpan::new((base + start).into(), end - start))
    }
}

impl SourceCode for AllFiles<'_> {
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'b> + 'b>, MietteError> {
        let index = self
            .bases
            .partition_point(|&b| b <= span.offset())
            .checked_sub(1)
            .ok_or(MietteError::OutOfBounds)?;
        let base = self.bases[index];
        let file = self.sources.get(self.order[index]);
        let local = SourceSpan::new((span.offset() - base).into(), span.len());
        if local.offset() + local.len() > file.text.len() {
            return Err(MietteError::OutOfBounds);
        }
        let inner = file.text.as_str().read_span(&local, before, after)?;
        let data = inner.data();
        let shifted = SourceSpan::new((inner.span().offset() + base).into(), inner.span().len());
        Ok(Box::new(MietteSpanContents::new_named(
            super::display_path(&file.path),
            data,
            shifted,
            inner.line(),
            inner.column(),
            inner.line_count(),
        )))
    }
}

/// A diagnostic as miette sees it.
struct View<'a> {
    message: String,
    severity: Severity,
    labels: Vec<LabeledSpan>,
    source: &'a AllFiles<'a>,
}

impl fmt::Debug for View<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for View<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for View<'_> {}

impl miette::Diagnostic for View<'_> {
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        })
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            return None;
        }
        Some(Box::new(self.labels.iter().cloned()))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::Diagnostic;

    fn plain() -> HumanOptions {
        HumanOptions::default()
    }

    #[test]
    fn header_snippet_and_footers() {
        let mut sources = SourceMap::new();
        let f = sources.add(
            "p.hw",
            "chain input policy drop {\n  accept tcp 22\n  drop tcp 22\n}\n",
        );
        let d = Diagnostic::new("shadowed", "the rule can never match", Span::new(f, 44, 55))
            .primary_label("never matches")
            .label(Span::new(f, 28, 41), "accepts all its packets first")
            .help("move it above the covering rule or delete it")
            .note("the earlier rule decides every packet this rule matches");
        let out = human(&d, &sources, &plain());
        assert!(
            out.starts_with("  error[shadowed]: the rule can never match\n"),
            "{out}"
        );
        assert!(out.contains("[p.hw:3:3]"), "{out}");
        assert!(out.contains("never matches"), "{out}");
        assert!(out.contains("accepts all its packets first"), "{out}");
        assert!(out.contains("  note: the earlier rule"), "{out}");
        assert!(out.contains("  help: move it above"), "{out}");
        assert!(!out.contains('\x1b'), "no colour codes: {out}");
    }

    #[test]
    fn labels_in_two_files_get_two_snippets() {
        let mut sources = SourceMap::new();
        let main = sources.add("main.hw", "include \"defs.hw\"\nhost web = 192.0.2.1\n");
        let defs = sources.add("defs.hw", "host web = 192.0.2.2\n");
        let d = Diagnostic::error("syntax", "`web` is defined twice", Span::new(main, 23, 26))
            .primary_label("defined again here")
            .label(Span::new(defs, 5, 8), "first defined here");
        let out = human(&d, &sources, &plain());
        assert!(out.contains("[main.hw:2:6]"), "{out}");
        assert!(out.contains("[defs.hw:1:6]"), "{out}");
        assert!(out.contains("defined again here"), "{out}");
        assert!(out.contains("first defined here"), "{out}");
    }

    #[test]
    fn the_primary_file_is_shown_first() {
        let mut sources = SourceMap::new();
        let main = sources.add("main.hw", "include \"defs.hw\"\nchain input { jump x }\n");
        let defs = sources.add("defs.hw", "host x = 192.0.2.2\n");
        let d = Diagnostic::error(
            "syntax",
            "`x` is a host, not a chain",
            Span::new(main, 37, 38),
        )
        .label(Span::new(defs, 5, 6), "defined here");
        let out = human(&d, &sources, &plain());
        let (m, i) = (out.find("[main.hw"), out.find("[defs.hw"));
        assert!(m.is_some() && i.is_some() && m < i, "{out}");
        let d = Diagnostic::error("syntax", "`x` is defined here", Span::new(defs, 5, 6))
            .label(Span::new(main, 37, 38), "used as a chain here");
        let out = human(&d, &sources, &plain());
        let (m, i) = (out.find("[main.hw"), out.find("[defs.hw"));
        assert!(m.is_some() && i.is_some() && i < m, "{out}");
    }

    #[test]
    fn unreadable_file_has_no_snippet() {
        let mut sources = SourceMap::new();
        let f = sources.add("gone.hw", "");
        let d = Diagnostic::error(
            "io",
            "cannot read `gone.hw`: no such file",
            Span::new(f, 0, 0),
        );
        let out = human(&d, &sources, &plain());
        assert_eq!(out, "  error[io]: cannot read `gone.hw`: no such file\n");
    }

    #[test]
    fn colour_only_when_asked() {
        let mut sources = SourceMap::new();
        let f = sources.add("p.hw", "log\n");
        let d = Diagnostic::new(
            "log-unlimited",
            "a log rule without a limit",
            Span::new(f, 0, 3),
        )
        .help("add `limit 10/minute`");
        let coloured = human(
            &d,
            &sources,
            &HumanOptions {
                color: true,
                ..plain()
            },
        );
        assert!(coloured.contains('\x1b'));
        let ascii = human(
            &d,
            &sources,
            &HumanOptions {
                unicode: false,
                ..plain()
            },
        );
        assert!(ascii.is_ascii(), "{ascii}");
        assert!(ascii.contains("warning[log-unlimited]"), "{ascii}");
    }

    #[test]
    fn wrap_breaks_long_text_at_words() {
        let text = "aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj";
        let out = wrap(text, "  help: ", 8, 30);
        for line in out.lines() {
            assert!(line.chars().count() <= 30, "{line}");
        }
        assert!(out.starts_with("  help: aaaa"));
        assert_eq!(out.lines().count(), 3);
    }
}
