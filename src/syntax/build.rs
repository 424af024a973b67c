//! pest pairs of one statement → AST.
//!
//! Literals are checked here: addresses with `std::net`, numbers against
//! `u64`, prefix lengths against `u8`, string escapes, protocol names and
//! rate units. A bad literal is reported and left out; the rest of the
//! statement is still built. Range checks that depend on the meaning (a
//! port above 65535, `/33` on an IPv4 address) belong to sema.
//!
//! The builder never unwraps a pair: a pair that is not what the grammar
//! promises is a [`Bug`], reported as an `internal` diagnostic.

use super::ast::*;
use super::expected::closest;
use super::grammar::Rule;
use crate::diagnostics::Diagnostic;
use crate::source::{FileId, Span, Spanned};
use pest::iterators::{Pair, Pairs};
use std::net::IpAddr;

type P<'i> = Pair<'i, Rule>;

/// The grammar and the builder disagree: a bug in hwc, not in the input.
#[derive(Debug)]
pub(super) struct Bug {
    span: Span,
    what: String,
}

impl Bug {
    pub(super) fn new(span: Span, what: impl Into<String>) -> Bug {
        Bug {
            span,
            what: what.into(),
        }
    }

    pub(super) fn into_diagnostic(self) -> Diagnostic {
        Diagnostic::error(
            "internal",
            "hwc could not read this statement: its grammar and its parser disagree",
            self.span,
        )
        .primary_label("while reading this")
        .help("this is a bug in hwc; please report it together with this input")
        .note(format!("detail: {}", self.what))
    }
}

type R<T> = Result<T, Bug>;

/// Protocol names accepted after `proto`, with their IANA numbers.
pub(super) const PROTOCOLS: &[(&str, u8)] = &[
    ("icmp", 1),
    ("igmp", 2),
    ("ipip", 4),
    ("tcp", 6),
    ("udp", 17),
    ("ipv6", 41),
    ("gre", 47),
    ("esp", 50),
    ("ah", 51),
    ("icmpv6", 58),
    ("ipv6-icmp", 58),
    ("ospf", 89),
    ("pim", 103),
    ("vrrp", 112),
    ("l2tp", 115),
    ("sctp", 132),
    ("udplite", 136),
];

/// The one AST form of a protocol number: `proto 6` and `proto tcp` are
/// both `Proto::Tcp`. INVARIANT: `Proto::Number` never holds 1, 6, 17, 58
/// or 132.
pub(super) fn canonical_proto(n: u8) -> Proto {
    match n {
        1 => Proto::Icmp,
        6 => Proto::Tcp,
        17 => Proto::Udp,
        58 => Proto::Icmpv6,
        132 => Proto::Sctp,
        n => Proto::Number(n),
    }
}

/// The children of a pair, without the punctuation rules that only exist
/// for error messages.
struct Kids<'i> {
    it: Pairs<'i, Rule>,
    parent: Span,
}

impl<'i> Kids<'i> {
    fn next(&mut self) -> Option<P<'i>> {
        self.it.by_ref().find(|k| {
            !matches!(
                k.as_rule(),
                Rule::comma
                    | Rule::stmt_end
                    | Rule::rule_end
                    | Rule::eq
                    | Rule::lbrace
                    | Rule::slash
                    | Rule::ann_open
                    | Rule::ann_close
                    | Rule::policy_kw
                    | Rule::only_kw
                    | Rule::burst_kw
            )
        })
    }

    fn peek(&self) -> Option<Rule> {
        let mut it = Kids {
            it: self.it.clone(),
            parent: self.parent,
        };
        it.next().map(|p| p.as_rule())
    }

    fn expect(&mut self, what: &'static str) -> R<P<'i>> {
        self.next()
            .ok_or_else(|| Bug::new(self.parent, format!("missing {what}")))
    }

    fn expect_rule(&mut self, want: Rule) -> R<P<'i>> {
        match self.next() {
            Some(p) if p.as_rule() == want => Ok(p),
            Some(p) => Err(Bug::new(
                self.parent,
                format!("expected {want:?}, found {:?}", p.as_rule()),
            )),
            None => Err(Bug::new(self.parent, format!("missing {want:?}"))),
        }
    }
}

pub(super) struct Builder<'t> {
    pub(super) text: &'t str,
    pub(super) file: FileId,
    /// Where the statement being built starts in the file: pair positions
    /// are relative to it.
    pub(super) base: usize,
    pub(super) diags: Vec<Diagnostic>,
}

impl<'t> Builder<'t> {
    pub(super) fn new(text: &'t str, file: FileId) -> Builder<'t> {
        Builder {
            text,
            file,
            base: 0,
            diags: Vec::new(),
        }
    }

    pub(super) fn span_of(&self, p: &P) -> Span {
        let s = p.as_span();
        Span::new(self.file, self.base + s.start(), self.base + s.end())
    }

    fn at(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, self.base + start, self.base + end)
    }

    fn kids<'i>(&self, p: &P<'i>) -> Kids<'i> {
        Kids {
            it: p.clone().into_inner(),
            parent: self.span_of(p),
        }
    }

    /// The span of a statement without the blanks before its end.
    fn stmt_span(&self, p: &P) -> Span {
        let start = p.as_span().start();
        let end = p
            .clone()
            .into_inner()
            .filter(|k| !matches!(k.as_rule(), Rule::stmt_end | Rule::rule_end))
            .map(|k| k.as_span().end())
            .max()
            .unwrap_or(start);
        self.at(start, end)
    }

    /// The keyword a pair starts with (the grammar reads keywords as
    /// literals; see the header of `grammar/hw.pest`).
    fn first_word<'i>(p: &P<'i>) -> &'i str {
        let text = p.as_str();
        let end = text
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '@'))
            .unwrap_or(text.len());
        &text[..end]
    }

    /// The span of the keyword a pair starts with.
    fn first_word_span(&self, p: &P) -> Span {
        let start = p.as_span().start();
        self.at(start, start + Self::first_word(p).len())
    }

    fn ident(&self, p: &P) -> Ident {
        Spanned::new(p.as_str().to_string(), self.span_of(p))
    }

    fn error(&mut self, message: String, span: Span, label: &str, help: String) {
        self.diags.push(
            Diagnostic::error("syntax", message, span)
                .primary_label(label)
                .help(help),
        );
    }

    // ------------------------------------------------------------ items

    pub(super) fn annotation(&mut self, p: P) -> R<Annotation> {
        let span = self.span_of(&p);
        let mut k = self.kids(&p);
        k.expect_rule(Rule::ann_allow)?;
        let mut allow = Vec::new();
        while let Some(n) = k.next() {
            allow.push(self.ident(&n));
        }
        Ok(Annotation { allow, span })
    }

    pub(super) fn policy_head(&mut self, p: P) -> R<Ident> {
        let name = self.kids(&p).expect_rule(Rule::name)?;
        Ok(self.ident(&name))
    }

    pub(super) fn setting(&mut self, p: P) -> R<Spanned<Setting>> {
        let span = self.stmt_span(&p);
        let word = self.kids(&p).expect_rule(Rule::family_word)?;
        Ok(Spanned::new(Setting::Family(self.ident(&word)), span))
    }

    pub(super) fn include(&mut self, p: P) -> R<Include> {
        let span = self.stmt_span(&p);
        let s = self.kids(&p).expect_rule(Rule::string)?;
        let path = self.string(&s)?;
        Ok(Include { path, span })
    }

    pub(super) fn def(&mut self, p: P, annotations: Vec<Annotation>) -> R<Def> {
        let p = self.kids(&p).expect("a definition")?;
        let span = self.stmt_span(&p);
        let mut k = self.kids(&p);
        let kind = match p.as_rule() {
            Rule::host_def => DefKind::Host,
            Rule::net_def => DefKind::Net,
            Rule::list_def => DefKind::List,
            Rule::service_def => DefKind::Service,
            Rule::user_def => DefKind::User,
            Rule::group_def => DefKind::Group,
            Rule::iface_def => DefKind::Iface,
            r => return Err(Bug::new(span, format!("definition {r:?}"))),
        };
        let kind = Spanned::new(kind, self.first_word_span(&p));
        let name = self.ident(&k.expect_rule(Rule::name)?);
        let mut values = Vec::new();
        while let Some(v) = k.next() {
            if v.as_rule() == Rule::svc_value {
                self.svc_value(v, &mut values)?;
            } else if let Some(v) = self.value(v)? {
                values.push(v);
            }
        }
        Ok(Def {
            annotations,
            kind,
            name,
            values,
            span,
        })
    }

    /// One element of a service definition. A bare number after a comma
    /// (`tcp 80, 443`) continues the protocol before it.
    fn svc_value(&mut self, p: P, out: &mut Vec<Spanned<Value>>) -> R<()> {
        let inner = self.kids(&p).expect("a service value")?;
        match inner.as_rule() {
            Rule::ref_name => {
                if let Some(v) = self.value(inner)? {
                    out.push(v);
                }
            }
            Rule::svc_proto => {
                let span = self.span_of(&inner);
                let arg = self.kids(&inner).expect_rule(Rule::proto_arg)?;
                if let Some(proto) = self.proto_arg(arg)? {
                    out.push(Spanned::new(
                        Value::Service {
                            proto,
                            args: Vec::new(),
                        },
                        span,
                    ));
                }
            }
            Rule::svc_port | Rule::svc_icmp => {
                let span = self.span_of(&inner);
                let mut k = self.kids(&inner);
                let proto = self.proto_kw(&inner)?;
                let mut args = Vec::new();
                while let Some(a) = k.next() {
                    if let Some(v) = self.value(a)? {
                        args.push(v);
                    }
                }
                out.push(Spanned::new(Value::Service { proto, args }, span));
            }
            r => {
                return Err(Bug::new(
                    self.span_of(&inner),
                    format!("service value {r:?}"),
                ))
            }
        }
        Ok(())
    }

    pub(super) fn chain_head(&mut self, p: P) -> R<(Ident, Option<Spanned<Verdict>>)> {
        let mut k = self.kids(&p);
        let name = self.ident(&k.expect_rule(Rule::name)?);
        let mut policy = None;
        if let Some(v) = k.next() {
            let span = self.span_of(&v);
            let verdict = match (v.as_rule(), v.as_str()) {
                (Rule::verdict, "accept") => Verdict::Accept,
                (Rule::verdict, "drop") => Verdict::Drop,
                (r, t) => return Err(Bug::new(span, format!("verdict {r:?} {t:?}"))),
            };
            policy = Some(Spanned::new(verdict, span));
        }
        Ok((name, policy))
    }

    pub(super) fn assert(&mut self, p: P) -> R<AssertDecl> {
        let span = self.stmt_span(&p);
        let mut k = self.kids(&p);
        let kind_pair = k.expect_rule(Rule::assert_kind)?;
        let kind_span = self.span_of(&kind_pair);
        let kind = match kind_pair.as_str() {
            "allow" => AssertKind::Allow,
            "deny" => AssertKind::Deny,
            "reachable" => AssertKind::Reachable,
            t => return Err(Bug::new(kind_span, format!("assert kind {t:?}"))),
        };
        let chain = self.ident(&k.expect_rule(Rule::chain_ref)?);
        let mut matches = Vec::new();
        while let Some(m) = k.next() {
            if let Some(m) = self.match_expr(m)? {
                matches.push(m);
            }
        }
        Ok(AssertDecl {
            kind: Spanned::new(kind, kind_span),
            chain,
            matches,
            span,
        })
    }

    pub(super) fn egress_head(&mut self, p: P) -> R<Spanned<MatchExpr>> {
        let sel = self.kids(&p).expect_rule(Rule::selector)?;
        let span = self.span_of(&sel);
        let mut k = self.kids(&sel);
        let mut not = None;
        if k.peek() == Some(Rule::not_kw) {
            not = k.next().map(|n| self.span_of(&n));
        }
        let values = self.values(&mut k)?;
        let kind = match Self::first_word(&sel) {
            "user" => MatchKind::User(values),
            "group" => MatchKind::Group(values),
            w => return Err(Bug::new(span, format!("selector {w:?}"))),
        };
        Ok(Spanned::new(MatchExpr { not, kind }, span))
    }

    pub(super) fn egress_entry(&mut self, p: P) -> R<EgressEntry> {
        let span = self.stmt_span(&p);
        let mut k = self.kids(&p);
        let mut matches = Vec::new();
        while let Some(m) = k.next() {
            if let Some(m) = self.match_expr(m)? {
                matches.push(m);
            }
        }
        Ok(EgressEntry { matches, span })
    }

    pub(super) fn rule(&mut self, p: P, annotations: Vec<Annotation>) -> R<RuleDecl> {
        let span = self.stmt_span(&p);
        let mut k = self.kids(&p);
        let action = self.action(k.expect_rule(Rule::action)?)?;
        let mut matches = Vec::new();
        while let Some(m) = k.next() {
            if let Some(m) = self.match_expr(m)? {
                matches.push(m);
            }
        }
        Ok(RuleDecl {
            annotations,
            action,
            matches,
            span,
        })
    }

    // ------------------------------------------------------------ actions

    fn action(&mut self, p: P) -> R<Spanned<Action>> {
        let span = self.span_of(&p);
        let mut k = self.kids(&p);
        let action = match Self::first_word(&p) {
            "accept" => Action::Accept,
            "drop" => Action::Drop,
            "return" => Action::Return,
            "reject" => Action::Reject(k.next().map(|r| self.ident(&r))),
            "jump" => Action::Jump(self.ident(&k.expect_rule(Rule::chain_ref)?)),
            "goto" => Action::Goto(self.ident(&k.expect_rule(Rule::chain_ref)?)),
            "log" => Action::Log(self.log(k)?),
            w => return Err(Bug::new(span, format!("action {w:?}"))),
        };
        Ok(Spanned::new(action, span))
    }

    fn log(&mut self, mut k: Kids) -> R<LogOpts> {
        let mut opts = LogOpts::default();
        let mut seen: [Option<Span>; 2] = [None, None];
        while let Some(opt) = k.next() {
            let opt_span = self.span_of(&opt);
            let mut ok = self.kids(&opt);
            let kw = self.first_word_span(&opt);
            let (slot, word) = match opt.as_rule() {
                Rule::log_prefix => (0, "prefix"),
                Rule::log_level => (1, "level"),
                r => return Err(Bug::new(opt_span, format!("log option {r:?}"))),
            };
            if let Some(first) = seen[slot] {
                self.diags.push(
                    Diagnostic::error(
                        "syntax",
                        format!("`{word}` is given twice in one `log` action"),
                        kw,
                    )
                    .primary_label("second one")
                    .label(first, "first one")
                    .help(format!("keep one `{word}`")),
                );
                continue;
            }
            seen[slot] = Some(kw);
            let arg = ok.expect("the option's value")?;
            if slot == 0 {
                opts.prefix = Some(self.string(&arg)?);
            } else {
                opts.level = Some(self.ident(&arg));
            }
        }
        Ok(opts)
    }

    // ------------------------------------------------------------ matches

    /// A match, or `None` when a literal in it was bad (already reported).
    fn match_expr(&mut self, p: P) -> R<Option<Spanned<MatchExpr>>> {
        if p.as_rule() != Rule::match_expr {
            return Err(Bug::new(
                self.span_of(&p),
                format!("expected a match, found {:?}", p.as_rule()),
            ));
        }
        let span = self.span_of(&p);
        let mk = self.kids(&p).expect_rule(Rule::match_kind)?;
        // The grammar reads `not` as a literal: a match that starts after
        // its expression has one in front of it.
        let start = p.as_span().start();
        let not = (mk.as_span().start() > start).then(|| self.at(start, start + "not".len()));
        let mspan = self.span_of(&mk);
        let mut k = self.kids(&mk);
        let kind = match Self::first_word(&mk) {
            "tcp" | "udp" | "sctp" | "icmp" | "icmpv6" => {
                let proto = self.proto_kw(&mk)?;
                let args = self.values(&mut k)?;
                MatchKind::Proto { proto, args }
            }
            "proto" => {
                let arg = k.expect_rule(Rule::proto_arg)?;
                match self.proto_arg(arg)? {
                    Some(proto) => MatchKind::Proto {
                        proto,
                        args: Vec::new(),
                    },
                    None => return Ok(None),
                }
            }
            "sport" => MatchKind::Sport(self.values(&mut k)?),
            "dport" => MatchKind::Dport(self.values(&mut k)?),
            "from" => MatchKind::From(self.values(&mut k)?),
            "to" => MatchKind::To(self.values(&mut k)?),
            "iface" => MatchKind::Iface(self.values(&mut k)?),
            "oface" => MatchKind::Oface(self.values(&mut k)?),
            "user" => MatchKind::User(self.values(&mut k)?),
            "group" => MatchKind::Group(self.values(&mut k)?),
            "service" => MatchKind::Service(self.idents(&mut k)),
            "state" => MatchKind::State(self.idents(&mut k)),
            "comment" => MatchKind::Comment(self.string(&k.expect_rule(Rule::string)?)?),
            "limit" => {
                let rate_p = k.expect_rule(Rule::number)?;
                let unit_p = k.expect_rule(Rule::rate_unit)?;
                let rate = self.number(&rate_p);
                let unit = self.rate_unit(&unit_p);
                let mut burst = None;
                if let Some(b) = k.next() {
                    match self.number(&b) {
                        Some(n) => burst = Some(Spanned::new(n, self.span_of(&b))),
                        None => return Ok(None),
                    }
                }
                match (rate, unit) {
                    (Some(r), Some(u)) => MatchKind::Limit {
                        rate: Spanned::new(r, self.span_of(&rate_p)),
                        unit: Spanned::new(u, self.span_of(&unit_p)),
                        burst,
                    },
                    _ => return Ok(None),
                }
            }
            w => return Err(Bug::new(mspan, format!("match {w:?}"))),
        };
        Ok(Some(Spanned::new(MatchExpr { not, kind }, span)))
    }

    fn idents(&mut self, k: &mut Kids) -> Vec<Ident> {
        let mut out = Vec::new();
        while let Some(n) = k.next() {
            if self.not_keyword(&n) {
                out.push(self.ident(&n));
            }
        }
        out
    }

    /// Reports a keyword where the grammar took any word as a name (see
    /// the names in `grammar/hw.pest`); false if it was one.
    fn not_keyword(&mut self, p: &P) -> bool {
        let word = p.as_str();
        if !super::is_keyword(word) {
            return true;
        }
        let span = self.span_of(p);
        let before = self.text.get(..span.start as usize).unwrap_or("");
        let gap = before.trim_end_matches([' ', '\t', '\r', '\n']);
        let continued = gap.ends_with(',') && before[gap.len()..].contains('\n');
        let help = if continued {
            "the `,` at the end of the line above continues the list on this line; remove it"
                .to_string()
        } else {
            format!("keywords are reserved; if `{word}` is a name, choose another one")
        };
        self.error(
            format!("`{word}` is a reserved keyword and cannot be used as a name"),
            span,
            "reserved keyword",
            help,
        );
        false
    }

    fn values(&mut self, k: &mut Kids) -> R<Vec<Spanned<Value>>> {
        let mut out = Vec::new();
        while let Some(v) = k.next() {
            if let Some(v) = self.value(v)? {
                out.push(v);
            }
        }
        Ok(out)
    }

    /// The protocol keyword a match or a service entry starts with.
    fn proto_kw(&mut self, p: &P) -> R<Spanned<Proto>> {
        let span = self.first_word_span(p);
        let proto = match Self::first_word(p) {
            "tcp" => Proto::Tcp,
            "udp" => Proto::Udp,
            "sctp" => Proto::Sctp,
            "icmp" => Proto::Icmp,
            "icmpv6" => Proto::Icmpv6,
            w => return Err(Bug::new(span, format!("protocol {w:?}"))),
        };
        Ok(Spanned::new(proto, span))
    }

    /// The argument of `proto`: a name from [`PROTOCOLS`] or 0–255.
    fn proto_arg(&mut self, p: P) -> R<Option<Spanned<Proto>>> {
        let span = self.span_of(&p);
        let inner = self.kids(&p).expect("a protocol")?;
        let text = inner.as_str();
        match inner.as_rule() {
            Rule::number => match text.parse::<u8>() {
                Ok(n) => Ok(Some(Spanned::new(canonical_proto(n), span))),
                Err(_) => {
                    self.error(
                        format!("protocol number `{text}` is out of range"),
                        span,
                        "not a protocol number",
                        "protocol numbers go from 0 to 255".to_string(),
                    );
                    Ok(None)
                }
            },
            Rule::proto_word => match PROTOCOLS.iter().find(|(n, _)| *n == text) {
                Some(&(_, n)) => Ok(Some(Spanned::new(canonical_proto(n), span))),
                None => {
                    let names: Vec<&str> = PROTOCOLS.iter().map(|(n, _)| *n).collect();
                    let help = match closest(text, &names) {
                        Some(s) => format!("did you mean `{s}`? Otherwise give the protocol number (0 to 255)"),
                        None => format!(
                            "known protocol names are {}; for any other protocol give its number (0 to 255)",
                            names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                        ),
                    };
                    self.error(
                        format!("unknown protocol `{text}`"),
                        span,
                        "unknown protocol",
                        help,
                    );
                    Ok(None)
                }
            },
            r => Err(Bug::new(span, format!("protocol argument {r:?}"))),
        }
    }

    fn rate_unit(&mut self, p: &P) -> Option<RateUnit> {
        let text = p.as_str();
        let unit = match text {
            "second" => RateUnit::Second,
            "minute" => RateUnit::Minute,
            "hour" => RateUnit::Hour,
            "day" => RateUnit::Day,
            _ => {
                let units = ["second", "minute", "hour", "day"];
                let hint = closest(text, &units)
                    .map(|s| format!("did you mean `{s}`? "))
                    .unwrap_or_default();
                self.error(
                    format!("unknown time unit `{text}` in a limit"),
                    self.span_of(p),
                    "unknown unit",
                    format!("{hint}write the rate as `N/second`, `N/minute`, `N/hour` or `N/day`"),
                );
                return None;
            }
        };
        Some(unit)
    }

    // ------------------------------------------------------------ values

    /// A value in a list, or `None` when it was a bad literal (reported).
    fn value(&mut self, p: P) -> R<Option<Spanned<Value>>> {
        let p = match p.as_rule() {
            Rule::v_addr
            | Rule::v_port
            | Rule::v_icmp
            | Rule::v_iface
            | Rule::v_owner
            | Rule::v_list
            | Rule::d_addr
            | Rule::d_iface
            | Rule::d_owner
            | Rule::d_list => self.kids(&p).expect("a value")?,
            _ => p,
        };
        let span = self.span_of(&p);
        let text = p.as_str();
        let value = match p.as_rule() {
            Rule::ref_name | Rule::arg_name => {
                if !self.not_keyword(&p) {
                    return Ok(None);
                }
                Value::Name(text.to_string())
            }
            Rule::iface_word => {
                if !self.not_keyword(&p) {
                    return Ok(None);
                }
                if text.ends_with('+') {
                    Value::Wildcard(text.to_string())
                } else {
                    Value::Name(text.to_string())
                }
            }
            Rule::string => Value::Str(self.string(&p)?.node),
            Rule::port | Rule::icmp_type => {
                let mut k = self.kids(&p);
                let a = k.expect_rule(Rule::digits)?;
                let lo = self.number(&a);
                match k.next() {
                    None => match lo {
                        Some(n) => Value::Number(n),
                        None => return Ok(None),
                    },
                    Some(b) => match (lo, self.number(&b)) {
                        (Some(lo), Some(hi)) if p.as_rule() == Rule::port => {
                            Value::NumRange { lo, hi }
                        }
                        (Some(ty), Some(code)) => Value::TypeCode { ty, code },
                        _ => return Ok(None),
                    },
                }
            }
            Rule::id_value => {
                let mut k = self.kids(&p);
                let kind = match Self::first_word(&p) {
                    "uid" => IdKind::Uid,
                    "gid" => IdKind::Gid,
                    w => return Err(Bug::new(span, format!("id kind {w:?}"))),
                };
                let n = k.expect_rule(Rule::port)?;
                let mut r = self.kids(&n);
                let a = r.expect_rule(Rule::digits)?;
                let lo = self.number(&a);
                let hi = match r.next() {
                    Some(b) => self.number(&b),
                    None => lo,
                };
                match (lo, hi) {
                    (Some(lo), Some(hi)) => Value::Id { kind, lo, hi },
                    _ => return Ok(None),
                }
            }
            Rule::address => {
                let mut k = self.kids(&p);
                let ip = k.expect("an address")?;
                let addr = self.ip(&ip);
                match k.next() {
                    None => match addr {
                        Some(addr) => Value::Cidr { addr, prefix: None },
                        None => return Ok(None),
                    },
                    Some(second) if second.as_rule() == Rule::digits => {
                        match (addr, self.prefix(&second)) {
                            (Some(addr), Some(prefix)) => Value::Cidr {
                                addr,
                                prefix: Some(prefix),
                            },
                            _ => return Ok(None),
                        }
                    }
                    Some(second) => match (addr, self.ip(&second)) {
                        (Some(lo), Some(hi)) => Value::AddrRange { lo, hi },
                        _ => return Ok(None),
                    },
                }
            }
            r => return Err(Bug::new(span, format!("value {r:?}"))),
        };
        Ok(Some(Spanned::new(value, span)))
    }

    fn number(&mut self, p: &P) -> Option<u64> {
        let text = p.as_str();
        match text.parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.error(
                    format!("the number `{text}` is too large"),
                    self.span_of(p),
                    "too large",
                    "ports go up to 65535, ICMP types to 255 and user or group ids to 4294967295"
                        .to_string(),
                );
                None
            }
        }
    }

    fn ip(&mut self, p: &P) -> Option<IpAddr> {
        let text = p.as_str();
        match text.parse::<IpAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                let (fam, help) = if p.as_rule() == Rule::ip6 {
                    (
                        "IPv6",
                        "an IPv6 address is up to eight groups of hex digits separated by `:`, with `::` for a run of zeros, such as `2001:db8::1`",
                    )
                } else {
                    (
                        "IPv4",
                        "an IPv4 address is four numbers from 0 to 255 separated by dots, such as `192.0.2.1`",
                    )
                };
                self.error(
                    format!("`{text}` is not a valid {fam} address"),
                    self.span_of(p),
                    "not an address",
                    help.to_string(),
                );
                None
            }
        }
    }

    fn prefix(&mut self, p: &P) -> Option<u8> {
        let text = p.as_str();
        match text.parse::<u8>() {
            Ok(n) => Some(n),
            Err(_) => {
                // Include the `/` in the label.
                let s = self.span_of(p);
                let span = Span::new(
                    self.file,
                    (s.start as usize).saturating_sub(1),
                    s.end as usize,
                );
                self.error(
                    format!("the prefix length `/{text}` is too long"),
                    span,
                    "too long",
                    "a prefix length is at most 32 for IPv4 and 128 for IPv6".to_string(),
                );
                None
            }
        }
    }

    /// The text of a string literal, with its escapes resolved. An unknown
    /// escape is reported and kept as written.
    fn string(&mut self, p: &P) -> R<Spanned<String>> {
        let span = self.span_of(p);
        let inner = self.kids(p).expect("the string's text")?;
        let raw = inner.as_str();
        let inner_start = inner.as_span().start();
        let mut out = String::with_capacity(raw.len());
        let mut chars = raw.char_indices();
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some((_, e @ ('"' | '\\'))) => out.push(e),
                Some((j, e)) => {
                    let esc = self.at(inner_start + i, inner_start + j + e.len_utf8());
                    self.error(
                        format!("unknown escape `\\{}` in a string", e.escape_debug()),
                        esc,
                        "unknown escape",
                        "the only escapes are `\\\"` for a quote and `\\\\` for a backslash; write other characters as they are".to_string(),
                    );
                    out.push('\\');
                    out.push(e);
                }
                None => out.push('\\'),
            }
        }
        Ok(Spanned::new(out, span))
    }
}
