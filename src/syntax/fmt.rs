//! The formatter: `.hw` text in one canonical layout, every comment kept.
//!
//! The AST drops comments, so the formatter does not print the AST. It
//! re-lays the file's own tokens: the lexical structure of `.hw` is simple
//! enough that a token stream (words, strings, punctuation, comments, line
//! breaks) says everything the layout needs, and printing the same tokens
//! in the same order cannot change a name or a value. What the formatter
//! changes is only where the blanks and line breaks go:
//!
//! - one statement per line: a `;` becomes a line break, the entries of a
//!   one-line block `chain c { accept }` go on their own lines; an empty
//!   block is `{}`;
//! - 2 spaces of indentation per block; a list continued on the next line
//!   (the line ends with `,`) is indented under the first value after `=`
//!   in a definition, else 2 more spaces than its statement;
//! - one space between tokens, none before `,` and `)`, none around `/` and
//!   inside `@allow(...)`, `, ` in lists, ` = ` in definitions;
//! - a comment keeps its text (trailing blanks removed); a comment that
//!   ends a line of code follows it after two spaces, and the comments that
//!   end consecutive lines of code are aligned to one column (a line with
//!   `{` or `}` is not aligned with others); a comment on
//!   its own line takes the indentation of the code around it;
//! - blank lines are kept, collapsed to one; none at the start or end of
//!   the file or of a block, none inside a continued list; no trailing
//!   blanks; the file ends with one line break; a byte-order mark and
//!   `\r\n` line ends are dropped.
//!
//! Why this cannot change the meaning of a file that parses: outside
//! strings and comments the grammar separates tokens with optional blanks,
//! so changing the amount of blank between two tokens is free, provided two
//! words stay apart (one space) and the tokens of one address, port range or
//! rate stay together (`/` never gets spaces; ranges like `80-90` and
//! addresses are single tokens). A line break ends a statement exactly
//! where a `;` does, and after a `,` or around a `{ }` body a line break is
//! a blank like any other. As a safety net, [`format`] parses its own output
//! and compares it with the input, modulo spans, and compares the comments
//! too: any difference is reported as an internal error and no text is
//! returned, so a bug here can never reach a user's file.

use super::ast;
use crate::diagnostics::Diagnostic;
use crate::source::{FileId, Span};

/// Formats a policy. A file with syntax errors is refused: its errors come
/// back and nothing is formatted. Formatting is idempotent:
/// `format(format(x)) == format(x)`.
pub fn format(file: FileId, text: &str) -> Result<String, Vec<Diagnostic>> {
    let (before, diags) = super::parse(file, text);
    if diags.iter().any(Diagnostic::is_error) {
        return Err(diags);
    }
    let out = layout(text);
    let (after, diags) = super::parse(file, &out);
    let same = !diags.iter().any(Diagnostic::is_error)
        && erase_spans(before) == erase_spans(after)
        && comments(text) == comments(&out);
    if !same {
        return Err(vec![Diagnostic::error(
            "internal",
            "the formatter would change the meaning of this file, so it was left as it is",
            Span::new(file, 0, 0),
        )
        .primary_label("in this file")
        .help(
            "this is a bug in hwc; please report it together with this file",
        )]);
    }
    Ok(out)
}

/// The text of every `#` comment, in order, without trailing blanks. The
/// formatter keeps this list unchanged.
pub fn comments(text: &str) -> Vec<&str> {
    lex(text)
        .into_iter()
        .filter_map(|t| match t {
            Tok::Comment(c) => Some(c),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------- tokens

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok<'t> {
    /// A keyword, name, number, address, port range, interface pattern or
    /// `@allow`: a run of characters that are none of the others.
    Word(&'t str),
    /// A quoted string with its quotes, as written.
    Str(&'t str),
    /// One of `{ } , ; = ( ) /`.
    Punct(u8),
    /// From `#` to the end of the line, trailing blanks removed.
    Comment(&'t str),
    Newline,
}

impl<'t> Tok<'t> {
    fn text(self) -> &'t str {
        match self {
            Tok::Word(s) | Tok::Str(s) | Tok::Comment(s) => s,
            Tok::Punct(b'{') => "{",
            Tok::Punct(b'}') => "}",
            Tok::Punct(b',') => ",",
            Tok::Punct(b';') => ";",
            Tok::Punct(b'=') => "=",
            Tok::Punct(b'(') => "(",
            Tok::Punct(b')') => ")",
            Tok::Punct(_) => "/",
            Tok::Newline => "\n",
        }
    }
}

fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r')
}

fn is_punct(c: u8) -> bool {
    matches!(c, b'{' | b'}' | b',' | b';' | b'=' | b'(' | b')' | b'/')
}

/// Splits text into tokens. Never fails: on text that does not parse the
/// tokens are still some split of it (the formatter never sees such text).
/// Every token boundary is at an ASCII byte, so slicing is safe.
fn lex(text: &str) -> Vec<Tok<'_>> {
    let b = text.as_bytes();
    let mut toks = Vec::new();
    let mut i = if text.starts_with('\u{feff}') {
        '\u{feff}'.len_utf8()
    } else {
        0
    };
    while i < b.len() {
        let c = b[i];
        if is_blank(c) {
            i += 1;
        } else if c == b'\n' {
            toks.push(Tok::Newline);
            i += 1;
        } else if c == b'#' {
            let start = i;
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            toks.push(Tok::Comment(text[start..i].trim_end()));
        } else if c == b'"' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != b'\n' {
                match b[i] {
                    b'\\' if b.get(i + 1).is_some_and(|&n| n != b'\n') => i += 2,
                    b'"' => {
                        i += 1;
                        break;
                    }
                    _ => i += 1,
                }
            }
            // A `\` before a multi-byte character skips only its first
            // byte; the loop then walks the rest, so `i` may sit inside a
            // character only at the end of the text.
            let end = (i.min(b.len())..=b.len())
                .find(|&e| text.is_char_boundary(e))
                .unwrap_or(b.len());
            i = end;
            toks.push(Tok::Str(&text[start..end]));
        } else if is_punct(c) {
            toks.push(Tok::Punct(c));
            i += 1;
        } else {
            let start = i;
            while i < b.len() {
                let c = b[i];
                if is_blank(c) || c == b'\n' || c == b'#' || c == b'"' || is_punct(c) {
                    break;
                }
                i += 1;
            }
            toks.push(Tok::Word(&text[start..i]));
        }
    }
    toks
}

// ---------------------------------------------------------------- layout

/// One line of output before comments are aligned.
#[derive(Debug, Default)]
struct Line<'t> {
    /// Columns of indentation.
    indent: usize,
    /// The code, without indentation; empty for a comment line.
    code: String,
    comment: Option<&'t str>,
    /// A blank line (nothing else is set).
    blank: bool,
}

struct Printer<'t> {
    lines: Vec<Line<'t>>,
    cur: Line<'t>,
    /// The last token of code on `cur` (comments excluded).
    last: Option<Tok<'t>>,
    /// Block nesting.
    depth: usize,
    /// `cur` continues a list (the previous line of code ended with `,`).
    cont: bool,
    /// The indentation of continuation lines of the current statement.
    cont_indent: usize,
    /// In the first line of a statement: the column after its `= `.
    eq_col: Option<usize>,
    /// A blank line was seen and waits for the next line.
    blank: bool,
    /// The statement on `cur` has ended (`;`, `{`, `}`); only a comment
    /// may still join the line.
    ended: bool,
    /// The current input line held something other than blanks.
    input_content: bool,
}

fn layout(text: &str) -> String {
    let toks = lex(text);
    let mut p = Printer {
        lines: Vec::new(),
        cur: Line::default(),
        last: None,
        depth: 0,
        cont: false,
        cont_indent: 0,
        eq_col: None,
        blank: false,
        ended: false,
        input_content: false,
    };
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i];
        match t {
            Tok::Newline => {
                if p.has_line() {
                    p.end_line();
                } else if !p.input_content && !p.cont {
                    p.blank = true;
                }
                p.input_content = false;
                p.ended = false;
            }
            Tok::Comment(c) => {
                p.input_content = true;
                if !p.has_line() {
                    p.start_line();
                }
                p.cur.comment = Some(c);
            }
            Tok::Punct(b';') => {
                p.input_content = true;
                if p.has_line() {
                    p.ended = true;
                }
            }
            Tok::Punct(b'{') => {
                p.token(t);
                // An empty body (only blanks, line breaks and `;`) is `{}`.
                let mut j = i + 1;
                while matches!(toks.get(j), Some(Tok::Newline | Tok::Punct(b';'))) {
                    j += 1;
                }
                if toks.get(j) == Some(&Tok::Punct(b'}')) {
                    p.cur.code.push('}');
                    p.last = Some(Tok::Punct(b'}'));
                    // The line breaks skipped belong to the block's lines.
                    p.input_content = true;
                    i = j;
                } else {
                    p.depth += 1;
                }
                p.ended = true;
            }
            Tok::Punct(b'}') => {
                p.input_content = true;
                if p.has_line() {
                    p.end_line();
                }
                p.depth = p.depth.saturating_sub(1);
                p.blank = false;
                p.cont = false;
                p.start_line();
                p.cur.code.push('}');
                p.last = Some(t);
                p.ended = true;
            }
            _ => p.token(t),
        }
        i += 1;
    }
    if p.has_line() {
        p.end_line();
    }
    render(&p.lines)
}

impl<'t> Printer<'t> {
    fn has_line(&self) -> bool {
        !self.cur.code.is_empty() || self.cur.comment.is_some()
    }

    /// Adds a token of code to the current line.
    fn token(&mut self, t: Tok<'t>) {
        self.input_content = true;
        if self.ended || self.cur.comment.is_some() {
            self.end_line();
        }
        if self.cur.code.is_empty() {
            if self.cur.comment.is_none() {
                self.start_line();
            }
        } else if space_between(self.last, t) {
            self.cur.code.push(' ');
        }
        self.cur.code.push_str(t.text());
        if t == Tok::Punct(b'=') && !self.cont && self.eq_col.is_none() {
            self.eq_col = Some(self.cur.indent + self.cur.code.chars().count() + 1);
        }
        self.last = Some(t);
    }

    fn start_line(&mut self) {
        if self.blank && !self.cont && self.opens_blank_allowed() {
            self.lines.push(Line {
                blank: true,
                ..Line::default()
            });
        }
        self.blank = false;
        self.cur = Line {
            indent: if self.cont {
                self.cont_indent
            } else {
                self.depth * 2
            },
            ..Line::default()
        };
        self.last = None;
    }

    /// Whether a blank line may go here: not at the start of the file and
    /// not right after a line that opens a block.
    fn opens_blank_allowed(&self) -> bool {
        match self.lines.last() {
            None => false,
            Some(l) => !l.code.ends_with('{'),
        }
    }

    fn end_line(&mut self) {
        let line = std::mem::take(&mut self.cur);
        if !line.code.is_empty() {
            let continues = self.last == Some(Tok::Punct(b','));
            if continues && !self.cont {
                self.cont_indent = self.eq_col.unwrap_or(line.indent + 2);
            }
            self.cont = continues;
            if !continues {
                self.eq_col = None;
            }
        }
        self.lines.push(line);
        self.last = None;
        self.ended = false;
    }
}

/// Whether one space separates two tokens of code on a line.
fn space_between(prev: Option<Tok>, next: Tok) -> bool {
    !matches!(
        (prev, next),
        (None, _) | (Some(Tok::Punct(b'(' | b'/')), _) | (_, Tok::Punct(b',' | b')' | b'(' | b'/'))
    )
}

/// Prints the lines, aligning the comments that end consecutive lines of
/// code (except lines that open or close a block).
fn render(lines: &[Line]) -> String {
    let width = |l: &Line| l.indent + l.code.chars().count();
    let trailing = |l: &Line| !l.code.is_empty() && l.comment.is_some();
    let mut out = String::new();
    let mut i = 0;
    while i < lines.len() {
        if !trailing(&lines[i]) {
            let l = &lines[i];
            if !l.blank {
                push_indent(&mut out, l.indent);
                out.push_str(&l.code);
                if let Some(c) = l.comment {
                    out.push_str(c);
                }
            }
            out.push('\n');
            i += 1;
            continue;
        }
        // A line that opens or closes a block keeps its comment to
        // itself, so that a block's comments do not align with the code
        // around the block.
        let block_line = |l: &Line| l.code.ends_with('{') || l.code.starts_with('}');
        let mut j = i + 1;
        if !block_line(&lines[i]) {
            while j < lines.len() && trailing(&lines[j]) && !block_line(&lines[j]) {
                j += 1;
            }
        }
        let column = lines[i..j].iter().map(width).max().unwrap_or(0) + 2;
        for l in &lines[i..j] {
            push_indent(&mut out, l.indent);
            out.push_str(&l.code);
            push_indent(&mut out, column - width(l));
            out.push_str(l.comment.unwrap_or(""));
            out.push('\n');
        }
        i = j;
    }
    out
}

fn push_indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat(' ').take(n));
}

// ---------------------------------------------------------------- the safety net

/// The AST with every span that takes part in equality reset, so that two
/// layouts of one policy compare equal. (`Spanned` values already compare
/// without their spans.)
fn erase_spans(mut file: ast::File) -> ast::File {
    let none = Span::default();
    let annotations = |a: &mut Vec<ast::Annotation>| a.iter_mut().for_each(|a| a.span = none);
    let matches = |m: &mut Vec<crate::source::Spanned<ast::MatchExpr>>| {
        for m in m {
            if m.node.not.is_some() {
                m.node.not = Some(none);
            }
        }
    };
    for item in &mut file.items {
        match item {
            ast::Item::Policy(p) => p.span = none,
            ast::Item::Include(i) => i.span = none,
            ast::Item::Def(d) => {
                annotations(&mut d.annotations);
                d.span = none;
            }
            ast::Item::Chain(c) => {
                annotations(&mut c.annotations);
                c.span = none;
                for r in &mut c.rules {
                    annotations(&mut r.annotations);
                    matches(&mut r.matches);
                    r.span = none;
                }
            }
            ast::Item::Assert(a) => {
                matches(&mut a.matches);
                a.span = none;
            }
            ast::Item::Egress(e) => {
                annotations(&mut e.annotations);
                if e.selector.node.not.is_some() {
                    e.selector.node.not = Some(none);
                }
                e.span = none;
                for entry in &mut e.entries {
                    matches(&mut entry.matches);
                    entry.span = none;
                }
            }
        }
    }
    file
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(text: &str) -> String {
        match format(FileId(0), text) {
            Ok(s) => s,
            Err(d) => panic!("format failed: {d:#?}"),
        }
    }

    #[track_caller]
    fn check(input: &str, expected: &str) {
        let out = fmt(input);
        assert_eq!(out, expected, "\n--- got:\n{out}\n--- want:\n{expected}");
        assert_eq!(fmt(&out), out, "not idempotent");
    }

    #[test]
    fn blanks_between_tokens() {
        check(
            "host   a=192.0.2.1 ,192.0.2.0/24\t\nservice  s = tcp 80 ,443, udp 53   \n",
            "host a = 192.0.2.1, 192.0.2.0/24\nservice s = tcp 80, 443, udp 53\n",
        );
    }

    #[test]
    fn blocks_are_indented_and_split() {
        check(
            "chain input policy drop { accept iface lo; drop state invalid }\nchain forward policy drop {\n\n}\n",
            "chain input policy drop {\n  accept iface lo\n  drop state invalid\n}\nchain forward policy drop {}\n",
        );
    }

    #[test]
    fn blank_lines_collapse() {
        check(
            "\n\n# head\n\n\n\nhost a = 192.0.2.1\n\n\nchain input {\n\n  accept\n\n\n  drop\n\n}\n\n\n",
            "# head\n\nhost a = 192.0.2.1\n\nchain input {\n  accept\n\n  drop\n}\n",
        );
    }

    #[test]
    fn comments_stay_where_they_are() {
        check(
            "chain input { # inbound\n      # own line\n accept tcp 22 # ssh\n  accept tcp 80    # web\n drop; # rest\n} # end\n",
            "chain input {  # inbound\n  # own line\n  accept tcp 22  # ssh\n  accept tcp 80  # web\n  drop           # rest\n}  # end\n",
        );
    }

    #[test]
    fn trailing_comments_align_in_runs() {
        check(
            "host a = 192.0.2.1 # one\nhost bb = 192.0.2.2 # two\n\nhost c = 192.0.2.3 # three\n",
            "host a = 192.0.2.1   # one\nhost bb = 192.0.2.2  # two\n\nhost c = 192.0.2.3  # three\n",
        );
    }

    #[test]
    fn continued_lists() {
        check(
            "service web = tcp 80,\n   # alt\n\n  tcp 8080,  # proxy\n     tcp 8443\nchain output {\n accept to 192.0.2.1,\n 192.0.2.2\n}\n",
            "service web = tcp 80,\n              # alt\n              tcp 8080,  # proxy\n              tcp 8443\nchain output {\n  accept to 192.0.2.1,\n    192.0.2.2\n}\n",
        );
    }

    #[test]
    fn annotations_limits_and_strings() {
        check(
            "chain input {\n @allow( redundant ,shadowed )  accept tcp 22\n log prefix \"a  #b\"   level warn limit 10 / minute burst 5\n accept icmp 3/4 comment \"x;y\"\n}\n",
            "chain input {\n  @allow(redundant, shadowed) accept tcp 22\n  log prefix \"a  #b\" level warn limit 10/minute burst 5\n  accept icmp 3/4 comment \"x;y\"\n}\n",
        );
    }

    #[test]
    fn crlf_bom_and_missing_final_newline() {
        check(
            "\u{feff}host a = 192.0.2.1\r\nhost b = 192.0.2.2 # x \r\n\r\nhost c = 192.0.2.3",
            "host a = 192.0.2.1\nhost b = 192.0.2.2  # x\n\nhost c = 192.0.2.3\n",
        );
    }

    #[test]
    fn empty_and_comment_only_files() {
        check("", "");
        check("\n\n  \n", "");
        check("   # only a comment   ", "# only a comment\n");
    }

    #[test]
    fn syntax_errors_are_refused() {
        let err = format(FileId(0), "chain input {\n  accept tcp 80 to\n}\n").unwrap_err();
        assert!(err.iter().any(|d| d.code == "syntax"), "{err:#?}");
    }

    #[test]
    fn comments_are_listed_in_order() {
        assert_eq!(
            comments("# a\nhost x = \"#no\" # b  \n  #c"),
            vec!["# a", "# b", "#c"]
        );
    }
}
