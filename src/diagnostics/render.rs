//! Rendering diagnostics: miette for people, JSON for tools.
