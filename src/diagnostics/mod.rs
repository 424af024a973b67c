//! One diagnostic type for every stage, the lint table, and rendering.
//!
//! The library returns [`Diagnostic`]s as data; only [`render`] knows how
//! they look on a terminal (miette) or in JSON. INVARIANT: every diagnostic
//! has exactly one primary label, and every label's span lies in a file of
//! the run's `SourceMap`.

pub mod lints;
pub mod render;

use crate::ir::Packet;
use crate::source::Span;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Label {
    pub span: Span,
    pub message: String,
    pub primary: bool,
}

/// A finding or an error, with where it is, why, and what to do.
///
/// `code` is a stable kebab-case name: a lint name from [`lints::LINTS`]
/// (`shadowed`, `nonroot-egress`, ...) or the name of an error family
/// (`syntax`, `unknown-name`, `port-without-protocol`, ...) listed in
/// [`lints::ERRORS`]. Both are part of the JSON contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub code: &'static str,
    pub severity: Severity,
    /// One line, lowercase, user input in backticks.
    pub message: String,
    pub labels: Vec<Label>,
    pub help: Option<String>,
    pub note: Option<String>,
    /// A concrete packet that shows the finding is real.
    pub witness: Option<Packet>,
}

impl Diagnostic {
    /// A diagnostic with the code's default severity.
    pub fn new(code: &'static str, message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic {
            code,
            severity: lints::default_severity(code),
            message: message.into(),
            labels: vec![Label {
                span,
                message: String::new(),
                primary: true,
            }],
            help: None,
            note: None,
            witness: None,
        }
    }

    pub fn error(code: &'static str, message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic::new(code, message, span).with_severity(Severity::Error)
    }

    pub fn with_severity(mut self, severity: Severity) -> Diagnostic {
        self.severity = severity;
        self
    }

    /// Sets the text of the primary label.
    pub fn primary_label(mut self, message: impl Into<String>) -> Diagnostic {
        if let Some(l) = self.labels.iter_mut().find(|l| l.primary) {
            l.message = message.into();
        }
        self
    }

    /// Adds a secondary label (a related place: the earlier definition, a
    /// covering rule).
    pub fn label(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: false,
        });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Diagnostic {
        self.note = Some(note.into());
        self
    }

    pub fn witness(mut self, packet: Packet) -> Diagnostic {
        self.witness = Some(packet);
        self
    }

    pub fn primary_span(&self) -> Span {
        self.labels
            .iter()
            .find(|l| l.primary)
            .map(|l| l.span)
            .unwrap_or_default()
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}
