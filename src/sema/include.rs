//! Loading a policy and the files it includes.
//!
//! `include "x.hw"` is resolved relative to the directory of the including
//! file. Each file is read and parsed once, however often it is included; an
//! include that leads back to a file that is still being loaded is a cycle.
//! The items of an included file take the place of the `include` item, so
//! the result is one flat list of items in reading order.

use crate::diagnostics::Diagnostic;
use crate::source::{FileId, FileLoader, SourceMap, Span};
use crate::syntax::{self, ast};
use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

/// Every item of the root file and its includes, in reading order, with
/// the `include` items themselves removed.
#[derive(Debug, Default)]
pub struct Loaded {
    pub items: Vec<ast::Item>,
    pub root: Option<FileId>,
}

/// One file being loaded: its path and the include that led to it.
struct Frame {
    path: PathBuf,
    /// The `include` item that loaded this file (`None` for the root).
    via: Option<Span>,
}

struct Loader<'a> {
    loader: &'a dyn FileLoader,
    sources: &'a mut SourceMap,
    loaded: HashSet<PathBuf>,
    stack: Vec<Frame>,
    out: Loaded,
    diags: Vec<Diagnostic>,
}

/// Reads the root file (or takes its text when given), parses it and every
/// file it includes. Returns the items and all syntax and include errors.
pub fn load_tree(
    root: &Path,
    root_text: Option<String>,
    loader: &dyn FileLoader,
    sources: &mut SourceMap,
) -> (Loaded, Vec<Diagnostic>) {
    let root = normalize(root);
    let mut l = Loader {
        loader,
        sources,
        loaded: HashSet::new(),
        stack: Vec::new(),
        out: Loaded::default(),
        diags: Vec::new(),
    };
    let text = match root_text {
        Some(t) => Ok(t),
        None => loader.load(&root),
    };
    match text {
        Ok(text) => {
            let id = l.file(root, None, text);
            l.out.root = Some(id);
        }
        Err(e) => {
            // The root has no include to point at: point at its (empty) start.
            let id = l.sources.add(root.clone(), String::new());
            l.out.root = Some(id);
            l.diags.push(
                Diagnostic::error(
                    "io",
                    format!("cannot read `{}`: {}", root.display(), e),
                    Span::new(id, 0, 0),
                )
                .help("check that the file exists and is readable"),
            );
        }
    }
    (l.out, l.diags)
}

impl Loader<'_> {
    /// Adds a file to the source map, parses it and loads its includes.
    fn file(&mut self, path: PathBuf, via: Option<Span>, text: String) -> FileId {
        let id = self.sources.add(path.clone(), text);
        self.loaded.insert(path.clone());
        let (file, syntax_diags) = syntax::parse(id, &self.sources.get(id).text);
        self.diags.extend(syntax_diags);
        self.stack.push(Frame { path, via });
        for item in file.items {
            match item {
                ast::Item::Include(inc) => self.include(&inc),
                other => self.out.items.push(other),
            }
        }
        self.stack.pop();
        id
    }

    fn include(&mut self, inc: &ast::Include) {
        let Some(current) = self.stack.last() else {
            return;
        };
        let dir = current.path.parent().unwrap_or(Path::new(""));
        let target = normalize(&dir.join(&inc.path.node));
        if let Some(pos) = self.stack.iter().position(|f| f.path == target) {
            self.diags.push(self.cycle(pos, inc));
            return;
        }
        if self.loaded.contains(&target) {
            return;
        }
        match self.loader.load(&target) {
            Ok(text) => {
                self.file(target, Some(inc.path.span), text);
            }
            Err(e) => {
                let code = if e.kind() == std::io::ErrorKind::NotFound {
                    "include-not-found"
                } else {
                    "io"
                };
                self.diags.push(
                    Diagnostic::error(
                        code,
                        format!("cannot read included file `{}`: {}", target.display(), e),
                        inc.path.span,
                    )
                    .primary_label("included here")
                    .help(format!(
                        "include paths are relative to the directory of the including file `{}`",
                        current.path.display()
                    )),
                );
            }
        }
    }

    /// The include `inc` leads back to `self.stack[pos]`.
    fn cycle(&self, pos: usize, inc: &ast::Include) -> Diagnostic {
        let mut names: Vec<String> = self.stack[pos..]
            .iter()
            .map(|f| format!("`{}`", f.path.display()))
            .collect();
        names.push(format!("`{}`", self.stack[pos].path.display()));
        let mut d = Diagnostic::error(
            "include-cycle",
            format!("include cycle: {}", names.join(" → ")),
            inc.path.span,
        )
        .primary_label("this include closes the cycle");
        for (i, frame) in self.stack.iter().enumerate().skip(pos + 1) {
            if let Some(via) = frame.via {
                d = d.label(
                    via,
                    format!(
                        "`{}` includes `{}` here",
                        self.stack[i - 1].path.display(),
                        frame.path.display()
                    ),
                );
            }
        }
        d.help("remove one of these includes; keep shared definitions in a file that includes nothing back")
    }
}

/// Removes `.` and resolves `..` lexically, so that one file reached by two
/// spellings of its path is loaded once.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                let last_is_normal =
                    matches!(out.components().next_back(), Some(Component::Normal(_)));
                if last_is_normal {
                    out.pop();
                } else if !out.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalize;
    use std::path::Path;

    #[test]
    fn normalize_resolves_dots() {
        assert_eq!(normalize(Path::new("a/./b/../c.hw")), Path::new("a/c.hw"));
        assert_eq!(normalize(Path::new("../x.hw")), Path::new("../x.hw"));
        assert_eq!(normalize(Path::new("a/../../x.hw")), Path::new("../x.hw"));
        assert_eq!(normalize(Path::new("/etc/../x.hw")), Path::new("/x.hw"));
    }
}
