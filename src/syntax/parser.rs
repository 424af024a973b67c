//! The statement driver.
//!
//! pest parses one statement at a time (see the header of
//! `grammar/hw.pest`); this file walks the file between statements: it skips
//! blank lines, comments and `;`, opens and closes `{ }` blocks, collects
//! `@allow(...)` annotations for the next item, and after an error skips to
//! the next statement boundary, so that every error of a file is reported
//! and every item that parsed is returned.

use super::ast::{self, Annotation, Item};
use super::build::{Bug, Builder};
use super::expected::{self, Ctx};
use super::fast;
use super::grammar::{HwParser, Rule};
use crate::diagnostics::Diagnostic;
use crate::source::{FileId, Span};
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;
use pest::Parser as _;

pub(super) fn parse(file: FileId, text: &str) -> (ast::File, Vec<Diagnostic>) {
    parse_with(file, text, true)
}

/// `fast: false` turns off the hand-written rule reader: the pure pest
/// parser that tests compare it with.
pub(super) fn parse_with(file: FileId, text: &str, fast: bool) -> (ast::File, Vec<Diagnostic>) {
    let mut d = Driver {
        text,
        pos: 0,
        fast,
        items: Vec::new(),
        pending: Vec::new(),
        b: Builder::new(text, file),
    };
    if text.starts_with('\u{feff}') {
        d.pos = '\u{feff}'.len_utf8();
    }
    d.top_level();
    (ast::File { items: d.items }, d.b.diags)
}

/// Why a statement rule did not match: where, and the rules pest expected.
struct Failure {
    pos: usize,
    positives: Vec<Rule>,
}

/// The words that can only start a top-level statement. Inside a block they
/// mean the block's `}` is missing. (`service`, `user`, `group` and `iface`
/// also start matches, and `policy` inside a chain is a misplaced default.)
const TOP_ONLY: &[&str] = &[
    "chain", "egress", "assert", "include", "host", "net", "list",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Block {
    Policy,
    Chain,
    Egress,
}

impl Block {
    fn noun(self) -> &'static str {
        match self {
            Block::Policy => "policy",
            Block::Chain => "chain",
            Block::Egress => "egress block",
        }
    }

    fn entries(self) -> &'static str {
        match self {
            Block::Policy => "setting",
            Block::Chain => "rule",
            Block::Egress => "entry",
        }
    }

    fn ctx(self) -> Ctx {
        match self {
            Block::Policy => Ctx::PolicyBody,
            Block::Chain => Ctx::ChainBody,
            Block::Egress => Ctx::EgressBody,
        }
    }

    fn rule(self) -> Rule {
        match self {
            Block::Policy => Rule::setting,
            Block::Chain => Rule::rule,
            Block::Egress => Rule::egress_entry,
        }
    }
}

/// The entries of a block, built as they parse.
#[derive(Default)]
struct Body {
    settings: Vec<crate::source::Spanned<ast::Setting>>,
    rules: Vec<ast::RuleDecl>,
    entries: Vec<ast::EgressEntry>,
    /// The end of the block: after its `}`, or where it was found unclosed.
    end: usize,
}

struct Driver<'t> {
    text: &'t str,
    pos: usize,
    fast: bool,
    items: Vec<Item>,
    /// Annotations waiting for the item or rule they apply to.
    pending: Vec<Annotation>,
    b: Builder<'t>,
}

impl<'t> Driver<'t> {
    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.b.file, start, end)
    }

    fn byte(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    /// Runs one statement rule at `self.pos`.
    fn run(&self, entry: Rule) -> Result<Pair<'t, Rule>, Failure> {
        let rest = &self.text[self.pos..];
        match HwParser::parse(entry, rest) {
            Ok(mut pairs) => pairs.next().ok_or(Failure {
                pos: self.pos,
                positives: Vec::new(),
            }),
            Err(e) => {
                let at = match e.location {
                    InputLocation::Pos(p) => p,
                    InputLocation::Span((s, _)) => s,
                };
                let positives = match e.variant {
                    ErrorVariant::ParsingError { positives, .. } => positives,
                    ErrorVariant::CustomError { .. } => Vec::new(),
                };
                Err(Failure {
                    pos: self.pos + at.min(rest.len()),
                    positives,
                })
            }
        }
    }

    /// Skips spaces, comments, line breaks and `;`.
    fn skip_blank(&mut self) {
        self.pos = skip_blank(self.text.as_bytes(), self.pos);
    }

    fn report(&mut self, f: Failure, ctx: Ctx, stmt_start: usize) {
        let d =
            expected::syntax_error(self.text, self.b.file, ctx, f.pos, &f.positives, stmt_start);
        self.b.diags.push(d);
    }

    fn bug(&mut self, bug: Bug) {
        self.b.diags.push(bug.into_diagnostic());
    }

    // ------------------------------------------------------------ top level

    fn top_level(&mut self) {
        loop {
            self.skip_blank();
            let Some(c) = self.byte() else { break };
            match c {
                b'@' => self.annotation(),
                b'}' => {
                    let sp = self.span(self.pos, self.pos + 1);
                    self.b.diags.push(
                        Diagnostic::error("syntax", "unexpected `}` with no open `{`", sp)
                            .primary_label("nothing to close here")
                            .help("remove this `}`, or check the `{` of the block above"),
                    );
                    self.pos += 1;
                }
                _ => self.top_statement(),
            }
        }
        self.dangling_annotations();
    }

    fn top_statement(&mut self) {
        let start = self.pos;
        let stmt = match self.run(Rule::top_stmt) {
            Ok(p) => p,
            Err(f) => {
                self.report(f, Ctx::Top, start);
                self.pending.clear();
                self.recover_top(start);
                return;
            }
        };
        self.b.base = start;
        let Some(inner) = stmt.clone().into_inner().next() else {
            self.bug(Bug::new(self.b.span_of(&stmt), "empty statement"));
            self.pos = start + stmt.as_span().end().max(1);
            return;
        };
        let end = start + stmt.as_span().end();
        match inner.as_rule() {
            Rule::policy_head => self.policy(inner, end),
            Rule::chain_head => self.chain(inner, end),
            Rule::egress_head => self.egress(inner, end),
            Rule::include => {
                self.no_annotations("an `include`");
                match self.b.include(inner) {
                    Ok(i) => self.items.push(Item::Include(i)),
                    Err(bug) => self.bug(bug),
                }
                self.pos = end;
            }
            Rule::assert => {
                self.no_annotations("an `assert`");
                match self.b.assert(inner) {
                    Ok(a) => self.items.push(Item::Assert(a)),
                    Err(bug) => self.bug(bug),
                }
                self.pos = end;
            }
            Rule::def => {
                let annotations = std::mem::take(&mut self.pending);
                match self.b.def(inner, annotations) {
                    Ok(d) => self.items.push(Item::Def(d)),
                    Err(bug) => self.bug(bug),
                }
                self.pos = end;
            }
            _ => {
                self.bug(Bug::new(self.b.span_of(&inner), "unknown statement"));
                self.pos = end.max(start + 1);
            }
        }
    }

    fn policy(&mut self, head: Pair<'t, Rule>, head_end: usize) {
        self.no_annotations("a `policy` block");
        let start = self.pos;
        let parsed = self.b.policy_head(head);
        self.pos = head_end;
        let brace = self.span(head_end - 1, head_end);
        let body = self.block(Block::Policy, brace, start);
        match parsed {
            Ok(name) => self.items.push(Item::Policy(ast::PolicyDecl {
                name,
                settings: body.settings,
                span: self.span(start, body.end),
            })),
            Err(bug) => self.bug(bug),
        }
    }

    fn chain(&mut self, head: Pair<'t, Rule>, head_end: usize) {
        let annotations = std::mem::take(&mut self.pending);
        let start = self.pos;
        let parsed = self.b.chain_head(head);
        self.pos = head_end;
        let brace = self.span(head_end - 1, head_end);
        let body = self.block(Block::Chain, brace, start);
        match parsed {
            Ok((name, policy)) => self.items.push(Item::Chain(ast::ChainDecl {
                annotations,
                name,
                policy,
                rules: body.rules,
                span: self.span(start, body.end),
            })),
            Err(bug) => self.bug(bug),
        }
    }

    fn egress(&mut self, head: Pair<'t, Rule>, head_end: usize) {
        let annotations = std::mem::take(&mut self.pending);
        let start = self.pos;
        let parsed = self.b.egress_head(head);
        self.pos = head_end;
        let brace = self.span(head_end - 1, head_end);
        let body = self.block(Block::Egress, brace, start);
        match parsed {
            Ok(selector) => self.items.push(Item::Egress(ast::EgressDecl {
                annotations,
                selector,
                entries: body.entries,
                span: self.span(start, body.end),
            })),
            Err(bug) => self.bug(bug),
        }
    }

    /// Parses the body of a block whose `{` ends just before `self.pos`, up
    /// to and including its `}`. A block left open (end of file, or a line
    /// that can only start a top-level statement) is reported at its `{`.
    fn block(&mut self, kind: Block, brace: Span, owner_start: usize) -> Body {
        let mut body = Body::default();
        loop {
            self.skip_blank();
            let Some(c) = self.byte() else {
                self.unclosed(kind, brace, owner_start, None);
                body.end = self.pos;
                return body;
            };
            if c == b'}' {
                self.dangling_annotations();
                self.pos += 1;
                body.end = self.pos;
                self.after_block();
                return body;
            }
            let start = self.pos;
            if c == b'@' {
                self.annotation();
                if kind != Block::Chain {
                    if let Some(a) = self.pending.pop() {
                        self.b.diags.push(
                            Diagnostic::error(
                                "syntax",
                                format!("an annotation cannot stand inside {}", a_noun(kind)),
                                a.span,
                            )
                            .primary_label("not allowed here")
                            .help(format!(
                                "put `@allow(...)` on the line before the `{}` line instead",
                                if kind == Block::Policy {
                                    "policy"
                                } else {
                                    "egress"
                                }
                            )),
                        );
                    }
                }
                continue;
            }
            // The fast reader takes the statement as the scanner cuts it;
            // see `fast` for why that is where pest would end it too.
            if self.fast && kind == Block::Chain {
                let end = scan_statement(self.text.as_bytes(), start, true);
                if let Some(mut r) = fast::rule(self.b.file, self.text, start, end) {
                    r.annotations = std::mem::take(&mut self.pending);
                    body.rules.push(r);
                    self.pos = end;
                    continue;
                }
            }
            match self.run(kind.rule()) {
                Ok(pair) => {
                    self.b.base = start;
                    self.pos = start + pair.as_span().end();
                    let built = match kind {
                        Block::Policy => self.b.setting(pair).map(|s| body.settings.push(s)),
                        Block::Chain => {
                            let annotations = std::mem::take(&mut self.pending);
                            self.b.rule(pair, annotations).map(|r| body.rules.push(r))
                        }
                        Block::Egress => self.b.egress_entry(pair).map(|e| body.entries.push(e)),
                    };
                    if let Err(bug) = built {
                        self.bug(bug);
                    }
                }
                Err(f) => {
                    if self.starts_top_level() {
                        self.unclosed(kind, brace, owner_start, Some(start));
                        body.end = start;
                        return body;
                    }
                    self.report(f, kind.ctx(), start);
                    self.pending.clear();
                    self.pos = scan_statement(self.text.as_bytes(), start, true).max(start + 1);
                    self.pos = self.char_boundary(self.pos);
                }
            }
        }
    }

    /// Whether the statement at `self.pos` belongs at the top level.
    fn starts_top_level(&self) -> bool {
        let word = word_at(self.text, self.pos);
        TOP_ONLY.contains(&word) || self.run(Rule::top_stmt).is_ok()
    }

    fn unclosed(&mut self, kind: Block, brace: Span, owner_start: usize, at: Option<usize>) {
        self.dangling_annotations();
        let owner = word_at(self.text, owner_start);
        let name = second_word(self.text, owner_start);
        let what = match (kind, name) {
            (Block::Egress, _) | (_, None) => kind.noun().to_string(),
            (_, Some(n)) => format!("{} `{n}`", kind.noun()),
        };
        let mut d = Diagnostic::error(
            "syntax",
            format!("the `{{` of {what} is never closed"),
            brace,
        )
        .primary_label("this `{` has no matching `}`");
        d = match at {
            Some(p) => {
                let end = p + word_at(self.text, p).len().max(1);
                d.label(
                    self.span(p, self.char_boundary(end.min(self.text.len()))),
                    format!("`{owner}` ends here, before this line"),
                )
            }
            None => d.label(
                self.span(self.text.len(), self.text.len()),
                "the file ends here",
            ),
        };
        self.b.diags.push(d.help(format!(
            "add `}}` on its own line after the last {} of the {}",
            kind.entries(),
            kind.noun()
        )));
    }

    /// After a block's `}` only a comment or the end of the line may follow.
    fn after_block(&mut self) {
        let b = self.text.as_bytes();
        let mut p = self.pos;
        while matches!(b.get(p), Some(b' ' | b'\t' | b'\r')) {
            p += 1;
        }
        match b.get(p) {
            None | Some(b'\n' | b';' | b'#' | b'}') => {}
            Some(_) => {
                let tok = expected::token_at(self.text, p);
                self.b.diags.push(
                    Diagnostic::error(
                        "syntax",
                        format!(
                            "expected the end of the line after `}}`, found {}",
                            tok.describe()
                        ),
                        self.span(tok.start, tok.end),
                    )
                    .primary_label("unexpected after the block")
                    .help("start the next statement on a new line"),
                );
                self.pos = scan_statement(b, p, false).max(p + 1);
                self.pos = self.char_boundary(self.pos);
            }
        }
    }

    // ------------------------------------------------------------ annotations

    fn annotation(&mut self) {
        let start = self.pos;
        match self.run(Rule::annotation) {
            Ok(pair) => {
                self.b.base = start;
                self.pos = start + pair.as_span().end();
                match self.b.annotation(pair) {
                    Ok(a) => self.pending.push(a),
                    Err(bug) => self.bug(bug),
                }
            }
            Err(f) => {
                self.report(f, Ctx::Annotation, start);
                let b = self.text.as_bytes();
                // Skip the annotation only, up to its `)` or the end of the
                // line, so that an item on the same line is still parsed.
                let mut p = start + 1;
                while p < b.len() && b[p] != b'\n' && b[p] != b')' {
                    p += 1;
                }
                if p < b.len() && b[p] == b')' {
                    p += 1;
                }
                self.pos = self.char_boundary(p);
            }
        }
    }

    /// Reports annotations that wait for an item when none can follow.
    fn dangling_annotations(&mut self) {
        for a in std::mem::take(&mut self.pending) {
            self.b.diags.push(
                Diagnostic::error("syntax", "this annotation is not followed by anything it could apply to", a.span)
                    .primary_label("applies to nothing")
                    .help("put `@allow(...)` on the line before a definition, chain, rule or egress block, or on the same line in front of it"),
            );
        }
    }

    fn no_annotations(&mut self, what: &str) {
        for a in std::mem::take(&mut self.pending) {
            self.b.diags.push(
                Diagnostic::error(
                    "syntax",
                    format!("an annotation cannot apply to {what}"),
                    a.span,
                )
                .primary_label("not allowed here")
                .help("annotations go before a definition, a chain, a rule or an egress block"),
            );
        }
    }

    // ------------------------------------------------------------ recovery

    /// Skips a top-level statement that did not parse. A block statement
    /// whose header failed still has its body checked, so that the errors
    /// inside it are reported too.
    fn recover_top(&mut self, start: usize) {
        let b = self.text.as_bytes();
        let first = word_at(self.text, start);
        let block = match first {
            "chain" => Some(Block::Chain),
            "egress" => Some(Block::Egress),
            "policy" => Some(Block::Policy),
            _ => None,
        };
        let end = scan_statement(b, start, true);
        if let Some(kind) = block {
            // The header's `{` on the same line, if there is one.
            if let Some(brace) = find_brace(b, start, end) {
                self.pos = brace + 1;
                let brace_span = self.span(brace, brace + 1);
                let _ = self.block(kind, brace_span, start);
                return;
            }
            self.pos = skip_orphan_body(self.text, end);
        } else {
            self.pos = scan_statement(b, start, false);
        }
        self.pos = self.char_boundary(self.pos.max(start + 1));
    }

    fn char_boundary(&self, mut p: usize) -> usize {
        p = p.min(self.text.len());
        while !self.text.is_char_boundary(p) {
            p += 1;
        }
        p
    }
}

fn a_noun(kind: Block) -> &'static str {
    match kind {
        Block::Policy => "a `policy` block",
        Block::Chain => "a chain",
        Block::Egress => "an `egress` block",
    }
}

/// Skips spaces, comments, line breaks and `;` from `p`.
fn skip_blank(b: &[u8], mut p: usize) -> usize {
    while let Some(&c) = b.get(p) {
        match c {
            b' ' | b'\t' | b'\r' | b'\n' | b';' => p += 1,
            b'#' => p = line_end(b, p),
            _ => break,
        }
    }
    p
}

/// The index of the `\n` that ends the line containing `p` (or the end).
fn line_end(b: &[u8], mut p: usize) -> usize {
    while p < b.len() && b[p] != b'\n' {
        p += 1;
    }
    p
}

/// The end of the statement that starts at `from`: the next `;` or line
/// break that is not inside a string or comment and does not follow a `,`
/// (a continued list); inside a block also a `}`. At the top level a `{`
/// is skipped with its whole block. Returns a position of an ASCII byte or
/// the end of the text, so always a character boundary.
fn scan_statement(b: &[u8], from: usize, in_block: bool) -> usize {
    let mut i = from;
    let mut last = 0u8;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i = skip_string(b, i);
                last = b'"';
                continue;
            }
            b'#' => {
                i = line_end(b, i);
                continue;
            }
            b'\n' if last == b',' => {}
            b'\n' | b';' => return i,
            b'}' if in_block => return i,
            b'{' if !in_block => {
                // A block that closes is skipped whole; a stray `{` is not.
                if let Some(e) = skip_braces(b, i) {
                    i = e;
                    last = b'}';
                    continue;
                }
            }
            b' ' | b'\t' | b'\r' => {}
            c => last = c,
        }
        i += 1;
    }
    b.len()
}

/// Skips a string starting at the `"` at `i`; strings end at the line end.
fn skip_string(b: &[u8], mut i: usize) -> usize {
    i += 1;
    while i < b.len() && b[i] != b'\n' {
        match b[i] {
            b'\\' if b.get(i + 1).is_some_and(|&c| c != b'\n') => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    i.min(b.len())
}

/// The position after the `}` that matches the `{` at `i`, if any.
fn skip_braces(b: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 0usize;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i = skip_string(b, i);
                continue;
            }
            b'#' => {
                i = line_end(b, i);
                continue;
            }
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The first `{` outside strings and comments in `[from, to)`.
fn find_brace(b: &[u8], from: usize, to: usize) -> Option<usize> {
    let mut i = from;
    while i < to.min(b.len()) {
        match b[i] {
            b'"' => {
                i = skip_string(b, i);
                continue;
            }
            b'#' => return None,
            b'{' => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// A block header failed without a `{` on its line (`chain input policy
/// drop` and the `{` forgotten). If the following lines look like the body
/// (no top-level statement before a line starting with `}`), skip them too
/// instead of reporting each rule as a stray statement.
fn skip_orphan_body(text: &str, line_end_pos: usize) -> usize {
    let b = text.as_bytes();
    let mut p = line_end_pos;
    while p < b.len() {
        p += 1; // past the line break
        let mut q = p;
        while q < b.len() && matches!(b[q], b' ' | b'\t' | b'\r') {
            q += 1;
        }
        if q >= b.len() {
            break;
        }
        if b[q] == b'}' {
            return q + 1;
        }
        let w = word_at(text, q);
        if b[q] == b'@' || super::is_keyword(w) && !is_rule_start(w) {
            break;
        }
        p = line_end(b, q);
    }
    line_end_pos
}

fn is_rule_start(w: &str) -> bool {
    matches!(
        w,
        "accept" | "drop" | "reject" | "log" | "jump" | "goto" | "return"
    )
}

/// The identifier-like word at `p` (possibly empty).
pub(super) fn word_at(text: &str, p: usize) -> &str {
    let b = text.as_bytes();
    let mut e = p;
    while e < b.len() && (b[e].is_ascii_alphanumeric() || b[e] == b'_' || b[e] == b'-') {
        e += 1;
    }
    text.get(p..e).unwrap_or("")
}

/// The word after the first word at `p` on the same line (a block's name).
fn second_word(text: &str, p: usize) -> Option<&str> {
    let b = text.as_bytes();
    let mut q = p + word_at(text, p).len();
    while q < b.len() && matches!(b[q], b' ' | b'\t') {
        q += 1;
    }
    let w = word_at(text, q);
    (!w.is_empty() && !super::is_keyword(w)).then_some(w)
}
