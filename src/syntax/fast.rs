//! A fast path for the one statement a large policy is made of: a rule.
//!
//! pest costs about a hundred instructions per combinator, which puts a
//! 10,000-rule chain far over the time budget of `hwc check`. This module
//! reads a well-formed rule directly into the AST. It is not a second
//! grammar: it covers only rules without errors and without rare forms
//! (escapes in strings, lists continued on the next line), and returns
//! `None` for anything else, so that the pest grammar parses the statement
//! and reports its errors. Whatever it returns is exactly what the pest
//! path builds (`fast_path_agrees_with_pest` in tests/parse_props.rs checks
//! it on random and mutated rules).
//!
//! It mirrors `rule` in `grammar/hw.pest`: keep the two in step.

use super::ast::*;
use super::build::{canonical_proto, PROTOCOLS};
use super::is_keyword;
use crate::source::{FileId, Span, Spanned};
use std::net::IpAddr;

/// Reads the rule that is the whole of `text[start..end]` (as cut by the
/// statement scanner), or `None` if the pest path must read it.
pub(super) fn rule(file: FileId, text: &str, start: usize, end: usize) -> Option<RuleDecl> {
    let mut c = Cursor {
        b: text.get(..end)?.as_bytes(),
        text,
        pos: start,
        file,
    };
    let action = c.action()?;
    let mut last = action.span.end as usize;
    let mut matches = Vec::new();
    loop {
        c.sp();
        if c.at_end() {
            break;
        }
        let m = c.match_expr()?;
        last = m.span.end as usize;
        matches.push(m);
    }
    Some(RuleDecl {
        annotations: Vec::new(),
        action,
        matches,
        span: c.span(start, last),
    })
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

/// `tok_tail` of the grammar, and `/`.
fn is_tail(c: u8) -> bool {
    is_ident_char(c) || matches!(c, b'.' | b':' | b'+' | b'/')
}

struct Cursor<'t> {
    /// The text up to the end of the statement.
    b: &'t [u8],
    text: &'t str,
    pos: usize,
    file: FileId,
}

impl<'t> Cursor<'t> {
    fn span(&self, s: usize, e: usize) -> Span {
        Span::new(self.file, s, e)
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn peek_at(&self, p: usize) -> Option<u8> {
        self.b.get(p).copied()
    }

    /// `sp`: spaces, tabs, carriage returns.
    fn sp(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r')) {
            self.pos += 1;
        }
    }

    /// The end of the statement, or a comment that runs to it.
    fn at_end(&self) -> bool {
        match self.peek() {
            None => true,
            Some(b'#') => !self.b[self.pos..].contains(&b'\n'),
            Some(_) => false,
        }
    }

    /// The identifier at the cursor (`[A-Za-z_][A-Za-z0-9_-]*`), not consumed.
    fn word(&self) -> Option<(usize, usize)> {
        let s = self.pos;
        let first = self.peek()?;
        if !(first.is_ascii_alphabetic() || first == b'_') {
            return None;
        }
        let mut e = s + 1;
        while self.peek_at(e).is_some_and(is_ident_char) {
            e += 1;
        }
        Some((s, e))
    }

    fn str_at(&self, s: usize, e: usize) -> &'t str {
        &self.text[s..e]
    }

    fn ident(&self, s: usize, e: usize) -> Ident {
        Spanned::new(self.str_at(s, e).to_string(), self.span(s, e))
    }

    /// A word that is not a keyword, consumed.
    fn name(&mut self) -> Option<(usize, usize)> {
        let (s, e) = self.word()?;
        if is_keyword(self.str_at(s, e)) {
            return None;
        }
        self.pos = e;
        Some((s, e))
    }

    fn digits(&self, p: usize) -> usize {
        let mut e = p;
        while self.peek_at(e).is_some_and(|c| c.is_ascii_digit()) {
            e += 1;
        }
        e
    }

    fn num(&self, s: usize, e: usize) -> Option<u64> {
        self.str_at(s, e).parse().ok()
    }

    // ------------------------------------------------------------ actions

    fn action(&mut self) -> Option<Spanned<Action>> {
        let (s, e) = self.word()?;
        self.pos = e;
        let action = match self.str_at(s, e) {
            "accept" => Action::Accept,
            "drop" => Action::Drop,
            "return" => Action::Return,
            "reject" => {
                let save = self.pos;
                self.sp();
                match self.name() {
                    Some((rs, re)) => Action::Reject(Some(self.ident(rs, re))),
                    None => {
                        self.pos = save;
                        Action::Reject(None)
                    }
                }
            }
            "jump" | "goto" => {
                self.sp();
                let (ts, te) = self.name()?;
                let target = self.ident(ts, te);
                if self.str_at(s, e) == "jump" {
                    Action::Jump(target)
                } else {
                    Action::Goto(target)
                }
            }
            "log" => Action::Log(self.log()?),
            _ => return None,
        };
        Some(Spanned::new(action, self.span(s, self.pos)))
    }

    fn log(&mut self) -> Option<LogOpts> {
        let mut opts = LogOpts::default();
        loop {
            let save = self.pos;
            self.sp();
            let Some((s, e)) = self.word() else {
                self.pos = save;
                return Some(opts);
            };
            match self.str_at(s, e) {
                // A second `prefix` or `level` is an error: the pest path
                // reports it.
                "prefix" if opts.prefix.is_none() => {
                    self.pos = e;
                    self.sp();
                    opts.prefix = Some(self.string()?);
                }
                "level" if opts.level.is_none() => {
                    self.pos = e;
                    self.sp();
                    let first = self.peek()?;
                    let (ls, le) = if first.is_ascii_digit() {
                        let le = self.digits(self.pos);
                        if self.peek_at(le).is_some_and(is_ident_char) {
                            return None;
                        }
                        (self.pos, le)
                    } else {
                        self.word()?
                    };
                    self.pos = le;
                    opts.level = Some(self.ident(ls, le));
                }
                "prefix" | "level" => return None,
                _ => {
                    self.pos = save;
                    return Some(opts);
                }
            }
        }
    }

    // ------------------------------------------------------------ matches

    fn match_expr(&mut self) -> Option<Spanned<MatchExpr>> {
        let start = self.pos;
        let mut not = None;
        let (mut s, mut e) = self.word()?;
        if self.str_at(s, e) == "not" {
            not = Some(self.span(s, e));
            self.pos = e;
            self.sp();
            (s, e) = self.word()?;
        }
        let kw = self.str_at(s, e);
        let kw_span = self.span(s, e);
        self.pos = e;
        let kind = match kw {
            "tcp" | "udp" | "sctp" | "icmp" | "icmpv6" => {
                let proto = match kw {
                    "tcp" => Proto::Tcp,
                    "udp" => Proto::Udp,
                    "sctp" => Proto::Sctp,
                    "icmp" => Proto::Icmp,
                    _ => Proto::Icmpv6,
                };
                let icmp = matches!(proto, Proto::Icmp | Proto::Icmpv6);
                let save = self.pos;
                self.sp();
                let first = if icmp { self.v_icmp() } else { self.v_port() };
                let args = match first {
                    Some(v) => self.list(v, |c| if icmp { c.v_icmp() } else { c.v_port() })?,
                    None => {
                        self.pos = save;
                        Vec::new()
                    }
                };
                MatchKind::Proto {
                    proto: Spanned::new(proto, kw_span),
                    args,
                }
            }
            "proto" => {
                self.sp();
                let s = self.pos;
                let first = self.peek()?;
                let n = if first.is_ascii_digit() {
                    let e = self.digits(s);
                    if self.peek_at(e).is_some_and(|c| is_tail(c) && c != b'/') {
                        return None;
                    }
                    self.pos = e;
                    self.str_at(s, e).parse::<u8>().ok()?
                } else {
                    let (ws, we) = self.word()?;
                    self.pos = we;
                    let w = self.str_at(ws, we);
                    PROTOCOLS.iter().find(|(n, _)| *n == w)?.1
                };
                MatchKind::Proto {
                    proto: Spanned::new(canonical_proto(n), self.span(s, self.pos)),
                    args: Vec::new(),
                }
            }
            "sport" | "dport" => {
                self.sp();
                let first = self.v_port()?;
                let v = self.list(first, Cursor::v_port)?;
                if kw == "sport" {
                    MatchKind::Sport(v)
                } else {
                    MatchKind::Dport(v)
                }
            }
            "from" | "to" => {
                self.sp();
                let first = self.v_addr()?;
                let v = self.list(first, Cursor::v_addr)?;
                if kw == "from" {
                    MatchKind::From(v)
                } else {
                    MatchKind::To(v)
                }
            }
            "iface" | "oface" => {
                self.sp();
                let first = self.v_iface()?;
                let v = self.list(first, Cursor::v_iface)?;
                if kw == "iface" {
                    MatchKind::Iface(v)
                } else {
                    MatchKind::Oface(v)
                }
            }
            "user" | "group" => {
                self.sp();
                let first = self.v_owner()?;
                let v = self.list(first, Cursor::v_owner)?;
                if kw == "user" {
                    MatchKind::User(v)
                } else {
                    MatchKind::Group(v)
                }
            }
            "service" | "state" => {
                self.sp();
                let first = self.word_value()?;
                let v = self.list(first, Cursor::word_value)?;
                let idents = v.into_iter().map(|i| i.node).collect();
                if kw == "service" {
                    MatchKind::Service(idents)
                } else {
                    MatchKind::State(idents)
                }
            }
            "limit" => {
                self.sp();
                let rate = self.number()?;
                self.sp();
                if self.peek()? != b'/' {
                    return None;
                }
                self.pos += 1;
                self.sp();
                let (us, ue) = self.word()?;
                self.pos = ue;
                let unit = match self.str_at(us, ue) {
                    "second" => RateUnit::Second,
                    "minute" => RateUnit::Minute,
                    "hour" => RateUnit::Hour,
                    "day" => RateUnit::Day,
                    _ => return None,
                };
                let mut burst = None;
                let save = self.pos;
                self.sp();
                match self.word() {
                    Some((bs, be)) if self.str_at(bs, be) == "burst" => {
                        self.pos = be;
                        self.sp();
                        burst = Some(self.number()?);
                    }
                    _ => self.pos = save,
                }
                MatchKind::Limit {
                    rate,
                    unit: Spanned::new(unit, self.span(us, ue)),
                    burst,
                }
            }
            "comment" => {
                self.sp();
                MatchKind::Comment(self.string()?)
            }
            _ => return None,
        };
        Some(Spanned::new(
            MatchExpr { not, kind },
            self.span(start, self.pos),
        ))
    }

    /// The rest of a comma-separated list after its first element. A list
    /// continued on the next line is left to the pest path.
    fn list<T>(
        &mut self,
        first: Spanned<T>,
        mut next: impl FnMut(&mut Self) -> Option<Spanned<T>>,
    ) -> Option<Vec<Spanned<T>>> {
        let mut out = vec![first];
        loop {
            let save = self.pos;
            self.sp();
            if self.peek() != Some(b',') {
                self.pos = save;
                return Some(out);
            }
            self.pos += 1;
            self.sp();
            if matches!(self.peek(), None | Some(b'#' | b'\n')) {
                return None;
            }
            out.push(next(self)?);
        }
    }

    // ------------------------------------------------------------ values

    fn number(&mut self) -> Option<Spanned<u64>> {
        let s = self.pos;
        let e = self.digits(s);
        if e == s || self.peek_at(e).is_some_and(|c| is_tail(c) && c != b'/') {
            return None;
        }
        self.pos = e;
        Some(Spanned::new(self.num(s, e)?, self.span(s, e)))
    }

    /// `port`: `80` or `8000-8080`; `icmp_type`: `8` or `3/4`.
    fn numeric(&mut self, sep: u8) -> Option<Spanned<Value>> {
        let s = self.pos;
        let e1 = self.digits(s);
        if e1 == s {
            return None;
        }
        let mut e = e1;
        let mut second = None;
        if self.peek_at(e1) == Some(sep) {
            let e2 = self.digits(e1 + 1);
            if e2 > e1 + 1 {
                second = Some((e1 + 1, e2));
                e = e2;
            }
        }
        if self.peek_at(e).is_some_and(is_tail) {
            return None;
        }
        let lo = self.num(s, e1)?;
        let value = match second {
            None => Value::Number(lo),
            Some((a, b)) if sep == b'-' => Value::NumRange {
                lo,
                hi: self.num(a, b)?,
            },
            Some((a, b)) => Value::TypeCode {
                ty: lo,
                code: self.num(a, b)?,
            },
        };
        self.pos = e;
        Some(Spanned::new(value, self.span(s, e)))
    }

    fn name_value(&mut self) -> Option<Spanned<Value>> {
        let (s, e) = self.name()?;
        Some(Spanned::new(
            Value::Name(self.str_at(s, e).to_string()),
            self.span(s, e),
        ))
    }

    fn v_port(&mut self) -> Option<Spanned<Value>> {
        self.numeric(b'-').or_else(|| self.name_value())
    }

    fn v_icmp(&mut self) -> Option<Spanned<Value>> {
        self.numeric(b'/').or_else(|| self.name_value())
    }

    /// `ref_name` (a name not followed by `:`) or an address.
    fn v_addr(&mut self) -> Option<Spanned<Value>> {
        if let Some((s, e)) = self.word() {
            if self.peek_at(e) != Some(b':') {
                if is_keyword(self.str_at(s, e)) {
                    return None;
                }
                self.pos = e;
                return Some(Spanned::new(
                    Value::Name(self.str_at(s, e).to_string()),
                    self.span(s, e),
                ));
            }
        }
        self.address()
    }

    /// `ip6` and `ip4` of the grammar: the end of the loose token, if any.
    fn ip(&self, p: usize) -> Option<usize> {
        let hex_or_dot = |c: u8| c.is_ascii_hexdigit() || c == b'.';
        let mut e = p;
        while self.peek_at(e).is_some_and(hex_or_dot) {
            e += 1;
        }
        if self.peek_at(e) == Some(b':') {
            e += 1;
            while self.peek_at(e).is_some_and(|c| hex_or_dot(c) || c == b':') {
                e += 1;
            }
            return Some(e);
        }
        let d = self.digits(p);
        if d == p || self.peek_at(d) != Some(b'.') {
            return None;
        }
        let mut e = d;
        while self.peek_at(e) == Some(b'.') {
            e = self.digits(e + 1);
        }
        Some(e)
    }

    fn address(&mut self) -> Option<Spanned<Value>> {
        let s = self.pos;
        let e1 = self.ip(s)?;
        let lo: IpAddr = self.str_at(s, e1).parse().ok()?;
        let mut e = e1;
        let mut value = Value::Cidr {
            addr: lo,
            prefix: None,
        };
        match self.peek_at(e1) {
            Some(b'-') => {
                if let Some(e2) = self.ip(e1 + 1) {
                    let hi = self.str_at(e1 + 1, e2).parse().ok()?;
                    value = Value::AddrRange { lo, hi };
                    e = e2;
                }
            }
            Some(b'/') => {
                let e2 = self.digits(e1 + 1);
                if e2 > e1 + 1 {
                    let prefix = self.str_at(e1 + 1, e2).parse::<u8>().ok()?;
                    value = Value::Cidr {
                        addr: lo,
                        prefix: Some(prefix),
                    };
                    e = e2;
                }
            }
            _ => {}
        }
        if self.peek_at(e).is_some_and(is_tail) {
            return None;
        }
        self.pos = e;
        Some(Spanned::new(value, self.span(s, e)))
    }

    fn v_iface(&mut self) -> Option<Spanned<Value>> {
        if self.peek() == Some(b'"') {
            return self.string().map(|s| s.map(Value::Str));
        }
        let s = self.pos;
        let first = self.peek()?;
        if !(first.is_ascii_alphabetic() || first == b'_') {
            return None;
        }
        let mut e = s + 1;
        while self
            .peek_at(e)
            .is_some_and(|c| is_ident_char(c) || c == b'.')
        {
            e += 1;
        }
        let wild = self.peek_at(e) == Some(b'+');
        if wild {
            e += 1;
        }
        let word = self.str_at(s, e);
        if is_keyword(word) {
            return None;
        }
        self.pos = e;
        let value = if wild {
            Value::Wildcard(word.to_string())
        } else {
            Value::Name(word.to_string())
        };
        Some(Spanned::new(value, self.span(s, e)))
    }

    fn v_owner(&mut self) -> Option<Spanned<Value>> {
        match self.peek()? {
            b'"' => self.string().map(|s| s.map(Value::Str)),
            _ => {
                let (s, e) = self.word()?;
                let w = self.str_at(s, e);
                if w == "uid" || w == "gid" {
                    self.pos = e;
                    self.sp();
                    let id = self.numeric(b'-')?;
                    let (lo, hi) = match id.node {
                        Value::Number(n) => (n, n),
                        Value::NumRange { lo, hi } => (lo, hi),
                        _ => return None,
                    };
                    let kind = if w == "uid" { IdKind::Uid } else { IdKind::Gid };
                    return Some(Spanned::new(
                        Value::Id { kind, lo, hi },
                        self.span(s, id.span.end as usize),
                    ));
                }
                // `ref_name`: not followed by `:`, and not a keyword.
                if self.peek_at(e) == Some(b':') || is_keyword(w) {
                    return None;
                }
                self.pos = e;
                Some(Spanned::new(Value::Name(w.to_string()), self.span(s, e)))
            }
        }
    }

    /// A service or state name (the parser rejects keywords there).
    fn word_value(&mut self) -> Option<Spanned<Ident>> {
        let (s, e) = self.name()?;
        Some(Spanned::new(self.ident(s, e), self.span(s, e)))
    }

    /// A string without escapes (those are left to the pest path).
    fn string(&mut self) -> Option<Spanned<String>> {
        let s = self.pos;
        if self.peek()? != b'"' {
            return None;
        }
        let mut e = s + 1;
        loop {
            match self.peek_at(e)? {
                b'"' => break,
                b'\\' | b'\n' => return None,
                _ => e += 1,
            }
        }
        self.pos = e + 1;
        Some(Spanned::new(
            self.str_at(s + 1, e).to_string(),
            self.span(s, e + 1),
        ))
    }
}
