//! What the names of a policy refer to, for hover, go to definition and
//! the outline: every definition and chain of the loaded files, and every
//! place a name is written.

use crate::source::{FileId, SourceMap, Span};
use crate::syntax::{self, ast};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What a name at some place refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A definition (`host`, `service`, ...), by name.
    Def(String),
    /// A chain, by name.
    Chain(String),
    /// The file an `include` reads.
    File(PathBuf),
}

#[derive(Debug, Clone)]
pub struct DefInfo {
    pub kind: ast::DefKind,
    pub name: Span,
    /// The values as written, `, `-separated.
    pub values: String,
}

#[derive(Debug, Clone)]
pub struct ChainInfo {
    pub name: Span,
    pub policy: Option<ast::Verdict>,
    pub rules: usize,
}

/// The definitions, chains and name occurrences of a set of files.
#[derive(Debug, Default)]
pub struct Index {
    pub defs: HashMap<String, DefInfo>,
    pub chains: HashMap<String, ChainInfo>,
    /// Every place a name is written (declarations too), with its target.
    refs: Vec<(Span, Target)>,
}

pub const BUILTIN_CHAINS: [&str; 3] = ["input", "output", "forward"];

impl Index {
    /// Indexes every file of `sources` (the root and its includes, as the
    /// last check loaded them). Files that do not parse contribute what
    /// did parse. The first definition of a name wins, as in sema.
    pub fn build(sources: &SourceMap) -> Index {
        let mut ix = Index::default();
        for (id, file) in sources.files() {
            let (ast, _) = syntax::parse(id, &file.text);
            let dir = file.path.parent().unwrap_or(Path::new("")).to_path_buf();
            for item in &ast.items {
                ix.item(item, sources, &dir);
            }
        }
        ix
    }

    /// The name at a byte offset of a file, and what it refers to. The
    /// offset may be just past the name (the cursor after a word).
    pub fn at(&self, file: FileId, offset: usize) -> Option<(Span, &Target)> {
        self.refs
            .iter()
            .filter(|(s, _)| {
                s.file == file && (s.start as usize) <= offset && offset <= s.end as usize
            })
            .min_by_key(|(s, _)| s.len())
            .map(|(s, t)| (*s, t))
    }

    fn item(&mut self, item: &ast::Item, sources: &SourceMap, dir: &Path) {
        match item {
            ast::Item::Policy(_) => {}
            ast::Item::Include(inc) => {
                let path = super::text::normalize(&dir.join(&inc.path.node));
                self.refs.push((inc.path.span, Target::File(path)));
            }
            ast::Item::Def(d) => {
                let values: Vec<&str> = d
                    .values
                    .iter()
                    .map(|v| sources.get(v.span.file).slice(v.span))
                    .collect();
                self.defs
                    .entry(d.name.node.clone())
                    .or_insert_with(|| DefInfo {
                        kind: d.kind.node,
                        name: d.name.span,
                        values: values.join(", "),
                    });
                self.refs
                    .push((d.name.span, Target::Def(d.name.node.clone())));
                self.values(&d.values);
            }
            ast::Item::Chain(c) => {
                self.chains
                    .entry(c.name.node.clone())
                    .or_insert_with(|| ChainInfo {
                        name: c.name.span,
                        policy: c.policy.map(|p| p.node),
                        rules: c.rules.len(),
                    });
                self.refs
                    .push((c.name.span, Target::Chain(c.name.node.clone())));
                for r in &c.rules {
                    match &r.action.node {
                        ast::Action::Jump(t) | ast::Action::Goto(t) => {
                            self.refs.push((t.span, Target::Chain(t.node.clone())));
                        }
                        _ => {}
                    }
                    self.matches(&r.matches);
                }
            }
            ast::Item::Assert(a) => {
                self.refs
                    .push((a.chain.span, Target::Chain(a.chain.node.clone())));
                self.matches(&a.matches);
            }
            ast::Item::Egress(e) => {
                self.match_kind(&e.selector.node.kind);
                for entry in &e.entries {
                    self.matches(&entry.matches);
                }
            }
        }
    }

    fn matches(&mut self, matches: &[crate::source::Spanned<ast::MatchExpr>]) {
        for m in matches {
            self.match_kind(&m.node.kind);
        }
    }

    fn match_kind(&mut self, kind: &ast::MatchKind) {
        use ast::MatchKind as M;
        match kind {
            M::Proto { args: v, .. }
            | M::Sport(v)
            | M::Dport(v)
            | M::From(v)
            | M::To(v)
            | M::Iface(v)
            | M::Oface(v)
            | M::User(v)
            | M::Group(v) => self.values(v),
            M::Service(names) => {
                for n in names {
                    self.refs.push((n.span, Target::Def(n.node.clone())));
                }
            }
            M::State(_) | M::Limit { .. } | M::Comment(_) => {}
        }
    }

    fn values(&mut self, values: &[crate::source::Spanned<ast::Value>]) {
        for v in values {
            match &v.node {
                ast::Value::Name(n) => self.refs.push((v.span, Target::Def(n.clone()))),
                ast::Value::Service { args, .. } => self.values(args),
                _ => {}
            }
        }
    }

    /// Markdown describing what `target` is, if the policy defines it.
    pub fn describe(&self, target: &Target, sources: &SourceMap) -> Option<String> {
        let place = |span: Span| {
            let f = sources.get(span.file);
            let (line, _) = f.line_col(span.start);
            let name = f
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            format!("`{name}` line {line}")
        };
        match target {
            Target::Def(name) => {
                let d = self.defs.get(name)?;
                Some(format!(
                    "```hw\n{} {name} = {}\n```\n{} defined in {}",
                    d.kind.keyword(),
                    d.values,
                    d.kind.keyword(),
                    place(d.name)
                ))
            }
            Target::Chain(name) => {
                let rules = |n: usize| format!("{n} rule{}", if n == 1 { "" } else { "s" });
                let builtin = BUILTIN_CHAINS.contains(&name.as_str());
                let Some(c) = self.chains.get(name) else {
                    // A built-in chain the policy does not write accepts all.
                    return builtin.then(|| {
                        format!(
                            "```hw\nchain {name}\n```\nbuilt-in chain, not written in this \
                             policy: every packet is accepted"
                        )
                    });
                };
                let verdict = |v: ast::Verdict| match v {
                    ast::Verdict::Accept => "accept",
                    ast::Verdict::Drop => "drop",
                };
                let (head, what) = match (builtin, c.policy) {
                    (true, Some(p)) => (
                        format!("chain {name} policy {}", verdict(p)),
                        format!("built-in chain, policy {}", verdict(p)),
                    ),
                    (true, None) => (
                        format!("chain {name}"),
                        "built-in chain, policy accept (the kernel default: none is given)"
                            .to_string(),
                    ),
                    (false, _) => (
                        format!("chain {name}"),
                        "user chain, entered by `jump` or `goto`".to_string(),
                    ),
                };
                Some(format!(
                    "```hw\n{head}\n```\n{what}, {}; defined in {}",
                    rules(c.rules),
                    place(c.name)
                ))
            }
            Target::File(path) => Some(format!("includes `{}`", path.display())),
        }
    }

    /// Where `target` is defined.
    pub fn definition(&self, target: &Target) -> Option<Span> {
        match target {
            Target::Def(name) => self.defs.get(name).map(|d| d.name),
            Target::Chain(name) => self.chains.get(name).map(|c| c.name),
            Target::File(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = "\
host resolver = 192.0.2.53, 2001:db8::53
service dns = udp 53, tcp 53
chain output policy drop {
  jump audit
  accept service dns to resolver
}
chain audit {
  return
}
assert allow output service dns to resolver
";

    fn index() -> (Index, SourceMap) {
        let mut sources = SourceMap::new();
        sources.add("/p/a.hw", POLICY);
        (Index::build(&sources), sources)
    }

    fn at(ix: &Index, needle: &str, nth: usize) -> Option<Target> {
        let offset = POLICY.match_indices(needle).nth(nth).unwrap().0 + 1;
        ix.at(FileId(0), offset).map(|(_, t)| t.clone())
    }

    #[test]
    fn names_resolve_to_definitions_and_chains() {
        let (ix, sources) = index();
        assert_eq!(at(&ix, "resolver", 1), Some(Target::Def("resolver".into())));
        assert_eq!(at(&ix, "dns", 1), Some(Target::Def("dns".into())));
        assert_eq!(at(&ix, "audit", 0), Some(Target::Chain("audit".into())));
        assert_eq!(at(&ix, "output", 1), Some(Target::Chain("output".into())));
        assert_eq!(at(&ix, "accept", 0), None);
        let def = ix.definition(&Target::Def("resolver".into())).unwrap();
        assert_eq!(sources.get(def.file).slice(def), "resolver");
        let text = ix.describe(&Target::Def("dns".into()), &sources).unwrap();
        assert!(text.contains("service dns = udp 53, tcp 53"), "{text}");
        let text = ix
            .describe(&Target::Chain("output".into()), &sources)
            .unwrap();
        assert!(text.contains("policy drop, 2 rules"), "{text}");
        let text = ix
            .describe(&Target::Chain("forward".into()), &sources)
            .unwrap();
        assert!(text.contains("every packet is accepted"), "{text}");
        assert!(ix.describe(&Target::Def("nope".into()), &sources).is_none());
    }
}
