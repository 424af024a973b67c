//! One rule: its words grouped into generic options (`-s`, `-p`, ...),
//! match modules with their options, and the target; then the conditions
//! built from them, in source order, with the family evidence the rule
//! carries.
//!
//! Generic options become conditions at once. `-m NAME` starts a module
//! that owns the `--options` after it (an option it does not know may
//! belong to the protocol module `-p tcp` loads implicitly); `-j`/`-g`
//! starts the target, which owns the options after it. A `!` negates the
//! option after it, or, in old dumps, the value after the option's name.
//! Modules and the target are translated once the whole rule is read,
//! since a module may depend on a `-p` written anywhere in the rule.

use super::lexer::Word;
use super::reader::{plural, Ctx};
use super::values::{self, AddrArg};
use super::{matches, targets};
use crate::diagnostics::Diagnostic;
use crate::ir::{
    self, Action, AddrSet, Cond, Family, IcmpSpec, Iface, OwnerNegation, PortSet, Test, L4,
};
use crate::source::Span;
use std::ops::Range;

/// What `-p` said.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProtoUse {
    /// `None` for `all`.
    pub proto: Option<u8>,
    pub negated: bool,
    /// The index of its condition in [`RuleBuilder::conds`], if it made one.
    pub cond: Option<usize>,
    pub span: Span,
}

/// A field of a protocol match that a module (`tcp`, `multiport`, `icmp`)
/// adds to the protocol of `-p`.
#[derive(Debug, Clone)]
pub(crate) enum L4Field {
    Sport(Vec<(u16, u16)>),
    Dport(Vec<(u16, u16)>),
    /// `None`: any ICMP type (`--icmp-type any`).
    Icmp(Option<IcmpSpec>),
}

/// Why a rule shows its family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EvidenceKind {
    /// An address or address range (`-s`, `-d`, `--src-range`).
    Address,
    /// `-m icmp` or `-m icmp6`.
    IcmpModule,
    /// A `--reject-with` reason of one family.
    RejectWith,
    /// `-p icmpv6` / `-p ipv6-icmp`: legal in both, so it only tips the
    /// balance when nothing else does.
    ProtoName,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Evidence {
    pub family: Family,
    pub span: Span,
    pub kind: EvidenceKind,
}

impl Evidence {
    /// Strong evidence contradicts the other family: such a rule cannot
    /// come from the other tool.
    pub fn is_strong(&self) -> bool {
        self.kind != EvidenceKind::ProtoName
    }
}

#[derive(Debug, Default)]
pub(crate) struct RuleBuilder {
    pub conds: Vec<Cond>,
    pub proto: Option<ProtoUse>,
    pub comment: Option<String>,
    pub evidence: Vec<Evidence>,
    /// An error was reported for this rule: it is left out.
    pub failed: bool,
}

impl RuleBuilder {
    pub fn push(&mut self, test: Test, negated: bool, span: Span) -> usize {
        let mut c = Cond::new(test, span);
        c.negated = negated;
        c.owner_negation = OwnerNegation::Xt;
        self.conds.push(c);
        self.conds.len() - 1
    }

    pub fn evidence(&mut self, family: Family, span: Span, kind: EvidenceKind) {
        self.evidence.push(Evidence { family, span, kind });
    }

    /// Adds ports or an ICMP type of protocol `proto`. A positive field is
    /// merged into the `-p` condition when that slot is still free, so
    /// `-p tcp -m tcp --dport 22` is one condition `tcp dport 22`; a
    /// negated field becomes its own negated condition (`not (tcp dport
    /// 22)`, which together with `-p tcp` means "tcp, port not 22").
    pub fn add_l4(&mut self, proto: u8, field: L4Field, negated: bool, span: Span) {
        if !negated {
            if let Some(ProtoUse {
                proto: Some(p),
                negated: false,
                cond: Some(i),
                ..
            }) = self.proto
            {
                if p == proto {
                    let cond = &mut self.conds[i];
                    if let Test::L4(alts) = &mut cond.test {
                        if let [l4] = alts.as_mut_slice() {
                            if merge_field(l4, &field) {
                                cond.span = cond.span.to(span);
                                return;
                            }
                        }
                    }
                }
            }
        }
        let mut l4 = L4 {
            proto,
            sport: None,
            dport: None,
            icmp: None,
            service: None,
        };
        merge_field(&mut l4, &field);
        self.push(Test::L4(vec![l4]), negated, span);
    }
}

/// Sets `field` in `l4` if that slot is free; `false` when it is taken.
fn merge_field(l4: &mut L4, field: &L4Field) -> bool {
    let ports = |r: &Vec<(u16, u16)>| PortSet {
        name: None,
        ranges: r.clone(),
    };
    match field {
        L4Field::Sport(r) if l4.sport.is_none() => l4.sport = Some(ports(r)),
        L4Field::Dport(r) if l4.dport.is_none() => l4.dport = Some(ports(r)),
        L4Field::Icmp(spec) if l4.icmp.is_none() => {
            if let Some(s) = spec {
                l4.icmp = Some(vec![*s]);
            }
        }
        _ => return false,
    }
    true
}

/// One option with its arguments: `! --dport 22`, `--tcp-flags A B`.
#[derive(Debug, Clone)]
pub(crate) struct Opt {
    /// The `!` before the option, or after its name (old placement).
    pub neg: Option<Span>,
    /// Index of the option's name in the rule's words.
    pub name: usize,
    pub args: Range<usize>,
    /// From the `!` or the name to the last argument.
    pub span: Span,
}

/// A `-m NAME` and the options that belong to it.
#[derive(Debug, Clone)]
pub(crate) struct ModUse {
    pub module: String,
    /// `false` for the protocol module iptables loads by itself when
    /// `-p tcp --dport 22` has no `-m tcp`.
    pub explicit: bool,
    /// `true` when hwc has no model for the module: `span` is then the
    /// whole module text, kept as an opaque match.
    pub opaque: bool,
    pub opts: Vec<Opt>,
    /// `-m NAME` (the first option's name for an implicit module).
    pub head: Span,
    /// The module and all its options.
    pub span: Span,
}

/// The target of a rule before chain names are resolved.
#[derive(Debug, Clone)]
pub(crate) enum RawAction {
    Done(Action),
    /// `REJECT`: the reason depends on the family, decided at the end.
    Reject(Option<(String, Span)>),
    /// A name that is a user chain or else a target hwc knows no options
    /// of; `text` is the whole target as written.
    Named {
        name: String,
        span: Span,
        goto: bool,
        text: String,
        has_options: bool,
    },
}

pub(crate) struct RawRule {
    pub span: Span,
    pub rb: RuleBuilder,
    pub action: RawAction,
    /// `-4` / `-6`: the rule applies to that family only.
    pub only: Option<Family>,
}

/// Options every rule understands, whatever its modules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Generic {
    Src,
    Dst,
    In,
    Out,
    Proto,
    Frag,
    Match,
    Jump,
    Goto,
    V4,
    V6,
    Counters,
}

pub(crate) fn generic(w: &Word) -> Option<Generic> {
    if w.quoted {
        return None;
    }
    Some(match w.text.as_ref() {
        "-s" | "--source" | "--src" => Generic::Src,
        "-d" | "--destination" | "--dst" => Generic::Dst,
        "-i" | "--in-interface" => Generic::In,
        "-o" | "--out-interface" => Generic::Out,
        "-p" | "--protocol" => Generic::Proto,
        "-f" | "--fragment" => Generic::Frag,
        "-m" | "--match" => Generic::Match,
        "-j" | "--jump" => Generic::Jump,
        "-g" | "--goto" => Generic::Goto,
        "-4" | "--ipv4" => Generic::V4,
        "-6" | "--ipv6" => Generic::V6,
        "-c" | "--set-counters" => Generic::Counters,
        _ => return None,
    })
}

/// Who owns the next `--option` of a rule.
#[derive(Debug, Clone, Copy)]
enum Owner {
    Nobody,
    Module(usize),
    Target,
}

/// `-j NAME` / `-g NAME` and its options.
struct TargetUse {
    /// Index of the name in the rule's words.
    name: usize,
    goto: bool,
    opts: Vec<Opt>,
    span: Span,
    /// Options read without an option table (a chain or an unmodelled
    /// target).
    has_options: bool,
}

/// Reads the words of one rule after `-A CHAIN`.
struct RuleReader<'c, 'a, 'w> {
    cx: &'c mut Ctx<'a>,
    words: &'w [Word<'a>],
    i: usize,
    rb: RuleBuilder,
    modules: Vec<ModUse>,
    target: Option<TargetUse>,
    only: Option<Family>,
    owner: Owner,
    /// A `!` waiting for the option it negates.
    neg: Option<Span>,
}

/// Reads the words of a rule from `start` (matches and target). `None`
/// when the rule had an error (reported).
pub(crate) fn read_rule<'a>(
    cx: &mut Ctx<'a>,
    words: &[Word<'a>],
    start: usize,
    span: Span,
) -> Option<RawRule> {
    let mut r = RuleReader {
        cx,
        words,
        i: start,
        rb: RuleBuilder::default(),
        modules: Vec::new(),
        target: None,
        only: None,
        owner: Owner::Nobody,
        neg: None,
    };
    while r.i < words.len() {
        let w = &words[r.i];
        if w.is_bang() {
            r.bang();
        } else if let Some(g) = generic(w) {
            r.generic_option(g);
        } else if w.is_option() {
            r.option();
        } else {
            r.error(
                r.i,
                format!("unexpected `{}`", w.text),
                "not an option or the value of one",
                "check the line against `iptables-save` output: options start with `-` and take the values after them",
            );
            r.i += 1;
        }
    }
    r.finish(span)
}

impl<'a, 'w> RuleReader<'_, 'a, 'w> {
    fn word_span(&self, i: usize) -> Span {
        self.cx.word_span(&self.words[i])
    }

    fn error(
        &mut self,
        i: usize,
        message: impl Into<String>,
        label: impl Into<String>,
        help: impl Into<String>,
    ) {
        let span = self.word_span(i);
        self.error_at(span, message, label, help);
    }

    fn error_at(
        &mut self,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.cx.syntax(span, message, label, help);
        self.rb.failed = true;
    }

    fn value_at(&self, i: usize) -> Option<&'w Word<'a>> {
        self.words.get(i).filter(|w| is_value(w))
    }

    /// Skips the values after an option that could not be read.
    fn skip_values(&mut self) {
        while self.words.get(self.i).is_some_and(is_value) {
            self.i += 1;
        }
    }

    fn bang(&mut self) {
        if self.neg.is_some() {
            self.error(
                self.i,
                "`!` twice in a row",
                "second `!`",
                "write a single `!` before the option it negates",
            );
        }
        self.neg = Some(self.word_span(self.i));
        self.i += 1;
    }

    /// An old-style `!` right after an option's name (`-s ! 10.0.0.1`), at
    /// word `j`; returns where the values start.
    fn bang_after(&mut self, j: usize, negated: &mut Option<Span>) -> usize {
        if !self.words.get(j).is_some_and(Word::is_bang) {
            return j;
        }
        if negated.is_some() {
            self.error(
                j,
                "`!` twice for one option",
                "second `!`",
                "write a single `!` before the option",
            );
        }
        *negated = Some(self.word_span(j));
        j + 1
    }

    fn generic_option(&mut self, g: Generic) {
        let i = self.i;
        let text = self.words[i].text.clone();
        if matches!(
            g,
            Generic::Match
                | Generic::Jump
                | Generic::Goto
                | Generic::V4
                | Generic::V6
                | Generic::Counters
        ) {
            if let Some(b) = self.neg.take() {
                self.error_at(
                    b,
                    format!("`!` cannot negate `{text}`"),
                    "not allowed here",
                    "`!` goes right before a match option, as in `! -s 10.0.0.0/8` or `! --dport 22`",
                );
            }
        }
        match g {
            Generic::V4 => {
                self.only = Some(Family::V4);
                self.i += 1;
            }
            Generic::V6 => {
                self.only = Some(Family::V6);
                self.i += 1;
            }
            Generic::Counters => {
                if self.value_at(i + 1).is_some() && self.value_at(i + 2).is_some() {
                    self.i += 3;
                } else {
                    self.error(
                        i,
                        format!("`{text}` needs two numbers"),
                        "packets and bytes expected after this",
                        "write `-c PACKETS BYTES`",
                    );
                    self.i += 1;
                }
            }
            Generic::Match => self.match_module(),
            Generic::Jump | Generic::Goto => self.target(g == Generic::Goto),
            Generic::Frag => {
                let w = &self.words[i];
                let start = self.neg.take().map_or(w.start, |s| s.start as usize);
                let span = self.cx.span(start, w.end);
                let text = self.cx.slice(span).to_string();
                self.rb.push(Test::Opaque(text), false, span);
                self.i += 1;
            }
            Generic::Src | Generic::Dst | Generic::In | Generic::Out | Generic::Proto => {
                let mut negated = self.neg.take();
                let j = self.bang_after(i + 1, &mut negated);
                let Some(arg) = self.value_at(j) else {
                    self.error(
                        i,
                        format!("`{text}` without a value"),
                        "expected a value after this",
                        generic_help(g),
                    );
                    self.i = j;
                    return;
                };
                let w = &self.words[i];
                let start = negated.map_or(w.start, |s| (s.start as usize).min(w.start));
                let span = self.cx.span(start, arg.end);
                generic_cond(self.cx, &mut self.rb, g, negated.is_some(), arg, span);
                self.i = j + 1;
            }
        }
    }

    /// `-m NAME`: a modelled module owns the options after it; an
    /// unmodelled one takes every word up to the next generic option.
    fn match_module(&mut self) {
        let i = self.i;
        let Some(name) = self.value_at(i + 1) else {
            self.error(
                i,
                format!("`{}` without a module name", self.words[i].text),
                "expected a match module name after this",
                "write `-m NAME`, as in `-m state`",
            );
            self.i += 1;
            return;
        };
        let module = name.text.to_string();
        let head = self.cx.span(self.words[i].start, name.end);
        if matches::is_modelled(&module) {
            self.modules.push(ModUse {
                module,
                explicit: true,
                opaque: false,
                opts: Vec::new(),
                head,
                span: head,
            });
            self.owner = Owner::Module(self.modules.len() - 1);
            self.i += 2;
        } else {
            let end = greedy_end(self.words, i + 2);
            let span = self.cx.span(self.words[i].start, self.words[end - 1].end);
            self.modules.push(ModUse {
                module,
                explicit: true,
                opaque: true,
                opts: Vec::new(),
                head,
                span,
            });
            self.owner = Owner::Nobody;
            self.i = end;
        }
    }

    /// `-j NAME` or `-g NAME`.
    fn target(&mut self, goto: bool) {
        let i = self.i;
        let flag = self.words[i].text.clone();
        if let Some(t) = &self.target {
            let first = self.words[t.name].text.clone();
            self.error(
                i,
                "a rule with two targets",
                "second target",
                format!("a rule has one `-j` or `-g`; this one already has `{first}`"),
            );
        }
        let Some(name) = self.value_at(i + 1) else {
            self.error(
                i,
                format!("`{flag}` without a target"),
                "expected a target or chain name after this",
                "write `-j ACCEPT`, `-j DROP` or `-j CHAIN`",
            );
            self.i += 1;
            return;
        };
        let start = self.words[i].start;
        if !goto && targets::has_option_table(&name.text) {
            let span = self.cx.span(start, name.end);
            self.target = Some(TargetUse {
                name: i + 1,
                goto,
                opts: Vec::new(),
                span,
                has_options: false,
            });
            self.owner = Owner::Target;
            self.i += 2;
        } else {
            let end = greedy_end(self.words, i + 2);
            let span = self.cx.span(start, self.words[end - 1].end);
            self.target = Some(TargetUse {
                name: i + 1,
                goto,
                opts: Vec::new(),
                span,
                has_options: end > i + 2,
            });
            self.owner = Owner::Nobody;
            self.i = end;
        }
    }

    /// An `--option` of the current module or target, or of the protocol
    /// module iptables loads by itself for `-p tcp`.
    fn option(&mut self) {
        let i = self.i;
        let name = self.words[i].text.clone();
        let arity = match self.owner {
            Owner::Module(m) => match matches::arity(&self.modules[m].module, &name) {
                Some(a) => Some(Some(a)),
                // An option the module does not know: the implicit protocol
                // module may, else it is kept with the module (opaque).
                None if implicit_module(&self.rb, &name).is_some() => None,
                None => Some(None),
            },
            Owner::Target => {
                let t = self.target.as_ref().map_or(0, |t| t.name);
                let target = self.words[t].text.clone();
                match targets::arity(&target, &name) {
                    Some(a) => Some(Some(a)),
                    None => {
                        self.error(
                            i,
                            format!("unknown option `{name}` for target `{target}`"),
                            "not an option of this target",
                            targets::options_help(&target),
                        );
                        self.i += 1;
                        self.skip_values();
                        return;
                    }
                }
            }
            Owner::Nobody => None,
        };
        let Some(arity) = arity else {
            match implicit_module(&self.rb, &name) {
                Some(module) => {
                    let existing = self
                        .modules
                        .iter()
                        .position(|m| !m.explicit && m.module == module);
                    let m = existing.unwrap_or_else(|| {
                        let head = self.word_span(i);
                        self.modules.push(ModUse {
                            module: module.to_string(),
                            explicit: false,
                            opaque: false,
                            opts: Vec::new(),
                            head,
                            span: head,
                        });
                        self.modules.len() - 1
                    });
                    // Read the option again, now owned by that module.
                    self.owner = Owner::Module(m);
                }
                None => {
                    self.error(
                        i,
                        format!("option `{name}` does not belong to any match module"),
                        "no `-m` module before this takes it",
                        "load the module that defines it first, as in `-m tcp --dport 22` or `-m state --state NEW`",
                    );
                    self.neg = None;
                    self.i += 1;
                    self.skip_values();
                }
            }
            return;
        };
        let mut negated = self.neg.take();
        let want = arity.unwrap_or(usize::MAX);
        let args_start = if want > 0 {
            self.bang_after(i + 1, &mut negated)
        } else {
            i + 1
        };
        let mut j = args_start;
        while j - args_start < want && self.words.get(j).is_some_and(is_value) {
            j += 1;
        }
        if let Some(a) = arity.filter(|&a| j - args_start < a) {
            let count = if a == 1 {
                "a".to_string()
            } else {
                a.to_string()
            };
            self.error(
                i,
                format!("`{name}` needs {count} value{}", plural(a)),
                "value missing after this",
                "give the option its value, as in `--dport 22`",
            );
            self.i = j;
            return;
        }
        let w = &self.words[i];
        let start = negated.map_or(w.start, |s| (s.start as usize).min(w.start));
        let end = if j > i + 1 {
            self.words[j - 1].end
        } else {
            w.end
        };
        let opt = Opt {
            neg: negated,
            name: i,
            args: args_start..j,
            span: self.cx.span(start, end),
        };
        match self.owner {
            Owner::Module(m) => {
                let module = &mut self.modules[m];
                module.span = module.span.to(opt.span);
                module.opts.push(opt);
            }
            Owner::Target => {
                if let Some(t) = self.target.as_mut() {
                    t.span = t.span.to(opt.span);
                    t.opts.push(opt);
                }
            }
            Owner::Nobody => {}
        }
        self.i = j;
    }

    /// Translates the modules and the target once every word is read.
    fn finish(mut self, span: Span) -> Option<RawRule> {
        if let Some(b) = self.neg.take() {
            self.error_at(
                b,
                "`!` at the end of the rule",
                "nothing follows to negate",
                "put `!` before the option it negates",
            );
        }
        let RuleReader {
            cx,
            words,
            mut rb,
            modules,
            target,
            only,
            ..
        } = self;
        for m in &modules {
            matches::translate(cx, m, words, &mut rb);
        }
        let action = match target {
            None => RawAction::Done(Action::Continue(String::new())),
            Some(t) => targets::translate(
                cx,
                &words[t.name],
                t.goto,
                &t.opts,
                words,
                t.span,
                t.has_options,
                &mut rb,
            ),
        };
        if rb.failed {
            return None;
        }
        rb.conds.sort_by_key(|c| c.span.start);
        Some(RawRule {
            span,
            rb,
            action,
            only,
        })
    }
}

/// A word that is a value, not an option or `!`.
pub(crate) fn is_value(w: &Word) -> bool {
    !w.is_option() && !w.is_bang()
}

/// The end (exclusive) of the words an unmodelled module or target owns
/// from `from`: everything up to the next generic option (or a `!` before
/// one).
fn greedy_end(words: &[Word], from: usize) -> usize {
    let mut j = from;
    while j < words.len() {
        let w = &words[j];
        if generic(w).is_some() {
            break;
        }
        if w.is_bang() && words.get(j + 1).is_some_and(|n| generic(n).is_some()) {
            break;
        }
        j += 1;
    }
    j
}

/// The protocol module `-p` loads implicitly, if it defines `option`.
fn implicit_module(rb: &RuleBuilder, option: &str) -> Option<&'static str> {
    let p = rb.proto?;
    if p.negated {
        return None;
    }
    let module = match p.proto? {
        ir::dim::PROTO_TCP => "tcp",
        ir::dim::PROTO_UDP => "udp",
        ir::dim::PROTO_SCTP => "sctp",
        ir::dim::PROTO_ICMP => "icmp",
        ir::dim::PROTO_ICMPV6 => "icmp6",
        _ => return None,
    };
    matches::arity(module, option).map(|_| module)
}

fn generic_help(g: Generic) -> &'static str {
    match g {
        Generic::Src | Generic::Dst => "write an address or network, as in `-s 192.0.2.0/24`",
        Generic::In | Generic::Out => "write an interface name, as in `-i eth0` or `-i eth+`",
        Generic::Proto => "write a protocol name or number, as in `-p tcp`",
        _ => "see `man iptables`",
    }
}

/// A condition from `-s`, `-d`, `-i`, `-o` or `-p`.
fn generic_cond(
    cx: &mut Ctx,
    rb: &mut RuleBuilder,
    g: Generic,
    negated: bool,
    arg: &Word,
    span: Span,
) {
    let aspan = cx.word_span(arg);
    match g {
        Generic::Src | Generic::Dst => match values::parse_addr_arg(&arg.text) {
            Ok(AddrArg::Ranges(ranges)) => {
                if ranges.iter().any(|r| r.family != ranges[0].family) {
                    cx.syntax(
                        aspan,
                        format!("`{}` mixes IPv4 and IPv6 addresses", arg.text),
                        "both families in one list",
                        "a dump is of one family: IPv4 (`iptables-save`) or IPv6 (`ip6tables-save`)",
                    );
                    rb.failed = true;
                    return;
                }
                for r in &ranges {
                    rb.evidence(r.family, aspan, EvidenceKind::Address);
                }
                if negated && ranges.len() > 1 {
                    // iptables expands `! -s a,b` into one rule per address,
                    // which is not "not (a or b)": keep it opaque.
                    rb.push(Test::Opaque(cx.slice(span).to_string()), false, span);
                    return;
                }
                let set = AddrSet { name: None, ranges };
                let test = if g == Generic::Src {
                    Test::Src(set)
                } else {
                    Test::Dst(set)
                };
                rb.push(test, negated, span);
            }
            Ok(AddrArg::NonContiguousMask) => {
                rb.push(Test::Opaque(cx.slice(span).to_string()), false, span);
            }
            Err(msg) => {
                cx.syntax(aspan, msg, "not an address", generic_help(g));
                rb.failed = true;
            }
        },
        Generic::In | Generic::Out => {
            let text: &str = &arg.text;
            let (name, wildcard) = match text.strip_suffix('+') {
                Some(prefix) => (prefix, true),
                None => (text, false),
            };
            let bad = name.len() > ir::dim::IFNAME_MAX
                || name.contains(['/', ' ', '\t'])
                || (name.is_empty() && !wildcard);
            if bad {
                cx.syntax(
                    aspan,
                    format!("`{text}` is not an interface name"),
                    "interface names have 1 to 15 characters, without `/` or blanks",
                    generic_help(g),
                );
                rb.failed = true;
                return;
            }
            let iface = Iface {
                name: name.to_string(),
                wildcard,
            };
            let test = if g == Generic::In {
                Test::Iif(vec![iface])
            } else {
                Test::Oif(vec![iface])
            };
            rb.push(test, negated, span);
        }
        Generic::Proto => {
            if let Some(p) = rb.proto {
                cx.diags.push(
                    Diagnostic::new("dump-syntax", "`-p` given twice", span)
                        .primary_label("second protocol")
                        .label(p.span, "first protocol")
                        .help("a rule matches one protocol; write two rules for two"),
                );
                rb.failed = true;
                return;
            }
            match values::parse_proto(&arg.text) {
                Ok(proto) => {
                    let lower = arg.text.to_ascii_lowercase();
                    if lower == "icmpv6" || lower == "ipv6-icmp" {
                        rb.evidence(Family::V6, aspan, EvidenceKind::ProtoName);
                    }
                    let cond = match proto {
                        Some(p) => Some(rb.push(
                            Test::L4(vec![ir::L4 {
                                proto: p,
                                sport: None,
                                dport: None,
                                icmp: None,
                                service: None,
                            }]),
                            negated,
                            span,
                        )),
                        None if negated => {
                            rb.push(Test::Opaque(cx.slice(span).to_string()), false, span);
                            None
                        }
                        None => None,
                    };
                    rb.proto = Some(ProtoUse {
                        proto,
                        negated,
                        cond,
                        span,
                    });
                }
                Err(msg) => {
                    cx.syntax(aspan, msg, "not a protocol", generic_help(g));
                    rb.failed = true;
                }
            }
        }
        _ => {}
    }
}
