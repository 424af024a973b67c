//! Tables, chains and rules of an iptables-save dump.
//!
//! The reader goes line by line. `*table` opens a table, `:CHAIN POLICY
//! [p:b]` declares a chain, `-A CHAIN ...` (or `-I`) adds a rule, `COMMIT`
//! closes the table; `#` lines are comments. A rule's words are grouped
//! first: generic options (`-s`, `-p`, `-i`, ...) become conditions at once;
//! `-m NAME` starts a match module that owns the `--options` after it;
//! `-j`/`-g` starts the target, which owns the options after it. Modules
//! and targets are translated once the whole rule is read (a module may
//! depend on `-p` written anywhere in the rule).
//!
//! Every table is read in full. After the last line the reader decides the
//! family (see [`decide_family`]), resolves jumps to chains, checks that the
//! chains call each other without cycles, and turns the `filter` table
//! into the policy. A line with an error is reported and left out; reading
//! goes on.

use super::lexer::{self, Word};
use super::rule::{EvidenceKind, ProtoUse, RuleBuilder};
use super::values::{self, AddrArg};
use super::{matches, targets, ImportOptions};
use crate::diagnostics::{Diagnostic, Severity};
use crate::ir::{
    self, Action, AddrSet, Chain, ChainId, ChainKind, Family, FamilySet, Hook, Iface, Origin,
    Policy, Test, Verdict,
};
use crate::source::{FileId, Span};
use std::collections::HashMap;
use std::ops::Range;

/// How the reader talks about the text: spans, slices, diagnostics, and
/// the user and group names it has given symbolic ids.
pub(crate) struct Ctx<'a> {
    pub file: FileId,
    pub text: &'a str,
    pub diags: Vec<Diagnostic>,
    /// Names of `--uid-owner`/`--gid-owner` values, each with its symbolic
    /// id index (`ir::symbolic_id`). Uids and gids share one index space.
    pub owner_names: Vec<(bool, String)>,
}

impl<'a> Ctx<'a> {
    pub fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start, end)
    }

    pub fn word_span(&self, w: &Word) -> Span {
        self.span(w.start, w.end)
    }

    pub fn slice(&self, span: Span) -> &'a str {
        self.text.get(span.range()).unwrap_or("")
    }

    /// Reports a `dump-syntax` error on `span`.
    pub fn syntax(
        &mut self,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.diags.push(
            Diagnostic::new("dump-syntax", message, span)
                .primary_label(label)
                .help(help),
        );
    }

    /// The symbolic id index of a user (`uid = true`) or group name.
    pub fn owner_name_index(&mut self, uid: bool, name: &str) -> usize {
        if let Some(i) = self
            .owner_names
            .iter()
            .position(|(u, n)| *u == uid && n == name)
        {
            return i;
        }
        self.owner_names.push((uid, name.to_string()));
        self.owner_names.len() - 1
    }
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

struct RawChain {
    name: String,
    /// The `:CHAIN` line.
    span: Span,
    policy: Option<Verdict>,
    rules: Vec<RawRule>,
}

struct Table {
    name: String,
    /// The `*table` line.
    span: Span,
    chains: Vec<RawChain>,
    index: HashMap<String, usize>,
    committed: bool,
    /// A second table of the same name: read and checked, not used.
    duplicate: bool,
}

/// Built-in chains of the standard tables; `None` for a table hwc does not
/// know (there, a chain with a policy is built-in).
fn builtins(table: &str) -> Option<&'static [&'static str]> {
    Some(match table {
        "filter" => &["INPUT", "FORWARD", "OUTPUT"],
        "nat" => &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
        "mangle" => &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
        "raw" => &["PREROUTING", "OUTPUT"],
        "security" => &["INPUT", "FORWARD", "OUTPUT"],
        _ => return None,
    })
}

fn hook_of(chain: &str) -> Option<Hook> {
    match chain {
        "INPUT" => Some(Hook::Input),
        "OUTPUT" => Some(Hook::Output),
        "FORWARD" => Some(Hook::Forward),
        _ => None,
    }
}

/// Options every rule understands, whatever its modules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Generic {
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

fn generic(w: &Word) -> Option<Generic> {
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

/// Where the reader decided the family from, for help texts.
#[derive(Debug, Clone, Copy)]
enum FamilyReason {
    Forced,
    Header,
    Content,
    Default,
}

pub(crate) fn read(
    file: FileId,
    text: &str,
    options: &ImportOptions,
) -> (Option<Policy>, Vec<Diagnostic>) {
    let mut cx = Ctx {
        file,
        text,
        diags: Vec::new(),
        owner_names: Vec::new(),
    };
    let mut tables: Vec<Table> = Vec::new();
    let mut open: Option<usize> = None;
    let mut header_family: Option<Family> = None;
    let mut first_line: Option<Span> = None;

    for line in lexer::lines(text) {
        let trimmed = line.text.trim_start();
        if trimmed.trim_end().is_empty() {
            continue;
        }
        let lead = line.start + (line.text.len() - trimmed.len());
        let line_span = cx.span(lead, line.end());
        first_line.get_or_insert(line_span);
        if let Some(comment) = trimmed.strip_prefix('#') {
            if header_family.is_none() {
                let c = comment.trim_start();
                if let Some(rest) = c.strip_prefix("Generated by ") {
                    if rest.starts_with("ip6tables") {
                        header_family = Some(Family::V6);
                    } else if rest.starts_with("iptables") {
                        header_family = Some(Family::V4);
                    }
                }
            }
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('*') {
            let name = name.trim_end();
            if let Some(t) = open {
                report_uncommitted(&mut cx, &tables[t]);
            }
            if name.is_empty() || name.contains(char::is_whitespace) {
                cx.syntax(
                    line_span,
                    format!("`{}` is not a table header", trimmed.trim_end()),
                    "expected `*` and a table name",
                    "a table starts with a line like `*filter`",
                );
                open = None;
                continue;
            }
            let duplicate = tables.iter().find(|t| t.name == name).map(|t| t.span);
            if let Some(first) = duplicate {
                cx.diags.push(
                    Diagnostic::new(
                        "dump-duplicate",
                        format!("table `{name}` appears twice"),
                        line_span,
                    )
                    .primary_label("second time")
                    .label(first, "first time")
                    .help("join the two tables into one, or import the dumps one at a time"),
                );
            }
            tables.push(Table {
                name: name.to_string(),
                span: line_span,
                chains: Vec::new(),
                index: HashMap::new(),
                committed: false,
                duplicate: duplicate.is_some(),
            });
            open = Some(tables.len() - 1);
            continue;
        }
        if trimmed.trim_end() == "COMMIT" {
            match open.take() {
                Some(t) => tables[t].committed = true,
                None => cx.syntax(
                    line_span,
                    "`COMMIT` outside a table",
                    "no table is open here",
                    "every `COMMIT` ends a table that a `*table` line started",
                ),
            }
            continue;
        }
        let Some(t) = open else {
            cx.syntax(
                line_span,
                "line outside a table",
                "no `*table` line before this",
                "start the table with a line like `*filter` and end it with `COMMIT`",
            );
            continue;
        };
        let words = match lexer::words(line.text, line.start) {
            Ok(w) => w,
            Err(e) => {
                let span = cx.span(e.start, e.end);
                cx.syntax(span, e.message, "quote opened here", e.help);
                continue;
            }
        };
        if trimmed.starts_with(':') {
            declare_chain(&mut cx, &mut tables[t], &words, line_span);
        } else {
            read_rule_line(&mut cx, &mut tables[t], &words, line_span);
        }
    }
    if let Some(t) = open {
        report_uncommitted(&mut cx, &tables[t]);
    }

    let policy_span = first_line.unwrap_or_else(|| cx.span(0, 0));
    if tables.is_empty() {
        cx.syntax(
            policy_span,
            "no table in the dump",
            "expected a line like `*filter`",
            "give the output of `iptables-save` or `ip6tables-save`",
        );
        return (None, cx.diags);
    }

    let (family, reason) = decide_family(options.family, header_family, &tables);
    check_family(&mut cx, &tables, family, reason);

    let mut policy = Policy {
        name: options
            .name
            .clone()
            .unwrap_or_else(|| "imported".to_string()),
        family: match family {
            Family::V4 => FamilySet::IP,
            Family::V6 => FamilySet::IP6,
        },
        origin: Origin::Dump(family),
        chains: Vec::new(),
        assertions: Vec::new(),
        egress: Vec::new(),
        definitions: Vec::new(),
        span: policy_span,
    };
    let mut have_filter = false;
    for table in tables {
        let in_scope = table.name == "filter" && !table.duplicate;
        let (name, span) = (table.name.clone(), table.span);
        let chains = finish_table(&mut cx, table, family);
        if in_scope {
            have_filter = true;
            policy.chains = chains;
        } else if name != "filter" {
            report_out_of_scope(&mut cx, &name, span, &chains);
        }
    }
    if !have_filter {
        cx.diags.push(
            Diagnostic::new(
                "no-filter-table",
                "the dump has no `filter` table: nothing filters packets",
                policy_span,
            )
            .primary_label("the dump starts here")
            .note("without a `*filter` table every packet is accepted by the filter hooks")
            .help("dump the filter table too (`iptables-save` prints every table by default)"),
        );
    }
    let ok = !cx.diags.iter().any(Diagnostic::is_error);
    (ok.then_some(policy), cx.diags)
}

fn report_uncommitted(cx: &mut Ctx, t: &Table) {
    cx.syntax(
        t.span,
        format!("table `{}` has no `COMMIT`", t.name),
        "this table is never committed",
        "end the table with a line `COMMIT`; iptables-restore rejects the dump without it",
    );
}

fn report_out_of_scope(cx: &mut Ctx, name: &str, span: Span, chains: &[Chain]) {
    let rules: usize = chains.iter().map(|c| c.rules.len()).sum();
    let drops = chains.iter().any(|c| c.policy == Some(Verdict::Drop));
    let severity = if rules > 0 || drops {
        Severity::Warning
    } else {
        Severity::Info
    };
    cx.diags.push(
        Diagnostic::new(
            "out-of-scope-table",
            format!("table `{name}` is read but not analysed"),
            span,
        )
        .with_severity(severity)
        .primary_label(format!(
            "{} chain{}, {} rule{}",
            chains.len(),
            plural(chains.len()),
            rules,
            plural(rules)
        ))
        .note("hwc checks the `filter` table; other tables run before or after it on the same packets")
        .help(match name {
            "nat" => "review NAT rules separately: DNAT changes the destination the filter table sees",
            "raw" => "review raw rules separately: NOTRACK makes packets untracked for the filter table",
            "mangle" => "review mangle rules separately: marks and rewritten fields change what later rules see",
            _ => "review this table separately",
        }),
    );
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `:NAME POLICY [packets:bytes]`
fn declare_chain(cx: &mut Ctx, table: &mut Table, words: &[Word], line_span: Span) {
    let Some(first) = words.first() else { return };
    let name = first.text.strip_prefix(':').unwrap_or("");
    let name_span = cx.span(first.start + 1, first.end);
    if name.is_empty() {
        cx.syntax(
            cx.word_span(first),
            "chain declaration without a name",
            "expected a chain name after `:`",
            "declare a chain as `:NAME POLICY [0:0]`, with `-` as the policy of a user chain",
        );
        return;
    }
    let policy_word = words.get(1);
    let policy = match policy_word.map(|w| w.text.as_ref()) {
        Some("ACCEPT") => Some(Verdict::Accept),
        Some("DROP") => Some(Verdict::Drop),
        Some("-") => None,
        Some(other) => {
            let w = &words[1];
            cx.syntax(
                cx.word_span(w),
                format!("`{other}` is not a chain policy"),
                "expected `ACCEPT`, `DROP` or `-`",
                "built-in chains have the policy `ACCEPT` or `DROP`; user chains have `-`",
            );
            return;
        }
        None => {
            cx.syntax(
                line_span,
                format!("chain `{name}` has no policy"),
                "expected a policy after the name",
                "write `ACCEPT` or `DROP` for a built-in chain, `-` for a user chain",
            );
            return;
        }
    };
    let mut rest = &words[2..];
    if let Some(w) = rest.first() {
        if is_counter(&w.text) {
            rest = &rest[1..];
        }
    }
    if let Some(w) = rest.first() {
        cx.syntax(
            cx.word_span(w),
            format!("unexpected `{}` after the chain declaration", w.text),
            "not expected here",
            "a chain declaration is `:NAME POLICY [packets:bytes]`",
        );
        return;
    }
    let builtin = match builtins(&table.name) {
        Some(list) => list.contains(&name),
        None => policy.is_some(),
    };
    let policy_span = policy_word.map(|w| cx.word_span(w)).unwrap_or(line_span);
    if builtin && policy.is_none() {
        cx.syntax(
            policy_span,
            format!("built-in chain `{name}` needs a policy"),
            "`-` is only for user chains",
            "write `ACCEPT` or `DROP`",
        );
        return;
    }
    if !builtin && policy.is_some() {
        cx.syntax(
            policy_span,
            format!(
                "user chain `{name}` cannot have a policy (table `{}`)",
                table.name
            ),
            "only built-in chains have a policy",
            "write `-` as the policy of a user chain",
        );
        return;
    }
    if let Some(&i) = table.index.get(name) {
        cx.diags.push(
            Diagnostic::new(
                "dump-duplicate",
                format!("chain `{name}` is declared twice in table `{}`", table.name),
                name_span,
            )
            .primary_label("declared again here")
            .label(table.chains[i].span, "first declared here")
            .help("remove one of the declarations"),
        );
        return;
    }
    table.index.insert(name.to_string(), table.chains.len());
    table.chains.push(RawChain {
        name: name.to_string(),
        span: line_span,
        policy,
        rules: Vec::new(),
    });
}

/// `[123:4567]`
fn is_counter(s: &str) -> bool {
    s.strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .and_then(|s| s.split_once(':'))
        .is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        })
}

/// `[p:b] -A CHAIN ...` or `-I CHAIN [N] ...`
fn read_rule_line(cx: &mut Ctx, table: &mut Table, words: &[Word], line_span: Span) {
    let mut i = 0;
    if words.first().is_some_and(|w| is_counter(&w.text)) {
        i = 1;
    }
    // `-4 -A ...` / `-6 -A ...`: the rule is for one family only.
    let mut only = None;
    while let Some(g @ (Generic::V4 | Generic::V6)) = words.get(i).and_then(generic) {
        only = Some(if g == Generic::V4 {
            Family::V4
        } else {
            Family::V6
        });
        i += 1;
    }
    let Some(cmd) = words.get(i) else {
        cx.syntax(
            line_span,
            "counters without a rule",
            "expected `-A CHAIN` after the counters",
            "a rule line is `-A CHAIN MATCHES -j TARGET`",
        );
        return;
    };
    let insert = match (cmd.quoted, cmd.text.as_ref()) {
        (false, "-A" | "--append") => false,
        (false, "-I" | "--insert") => true,
        (_, other) => {
            let (message, help) = if matches!(
                other,
                "-D" | "-R" | "-N" | "-X" | "-P" | "-F" | "-Z" | "-E" | "--delete" | "--new-chain"
            ) {
                (
                    format!("`{other}` is an iptables command, not part of a dump"),
                    "a dump declares chains with `:NAME POLICY [0:0]` and adds rules with `-A`",
                )
            } else {
                (
                    format!("unexpected `{other}` at the start of a line"),
                    "a line in a table is `:CHAIN POLICY [0:0]`, `-A CHAIN ...` or `COMMIT`",
                )
            };
            cx.syntax(cx.word_span(cmd), message, "expected `-A`", help);
            return;
        }
    };
    let Some(chain_word) = words.get(i + 1) else {
        cx.syntax(
            cx.word_span(cmd),
            format!("`{}` without a chain", cmd.text),
            "expected a chain name after this",
            "a rule line is `-A CHAIN MATCHES -j TARGET`",
        );
        return;
    };
    let Some(&chain) = table.index.get(chain_word.text.as_ref()) else {
        let name = &chain_word.text;
        let help = if builtins(&table.name).is_some_and(|b| b.contains(&name.as_ref())) {
            format!(
                "declare it after `*{}` with `:{name} ACCEPT [0:0]`",
                table.name
            )
        } else {
            format!("declare it after `*{}` with `:{name} - [0:0]`", table.name)
        };
        cx.diags.push(
            Diagnostic::new(
                "dump-unknown-chain",
                format!("chain `{name}` is not declared in table `{}`", table.name),
                cx.word_span(chain_word),
            )
            .primary_label("no `:` line declares this chain")
            .help(help),
        );
        return;
    };
    let mut body = i + 2;
    let mut position = None;
    if insert {
        if let Some(w) = words.get(body) {
            if !w.quoted && !w.text.is_empty() && w.text.bytes().all(|b| b.is_ascii_digit()) {
                let n: usize = w.text.parse().unwrap_or(usize::MAX);
                let len = table.chains[chain].rules.len();
                if n == 0 || n > len + 1 {
                    cx.syntax(
                        cx.word_span(w),
                        format!(
                            "cannot insert at position {} of a chain of {len} rules",
                            w.text
                        ),
                        "no such position",
                        "rule positions count from 1",
                    );
                    return;
                }
                position = Some(n - 1);
                body += 1;
            }
        }
    }
    if let Some(mut rule) = read_rule(cx, words, body, line_span) {
        rule.only = rule.only.or(only);
        let rules = &mut table.chains[chain].rules;
        match position.or(insert.then_some(0)) {
            Some(p) => rules.insert(p, rule),
            None => rules.push(rule),
        }
    }
}

/// Reads the words of a rule from `start`: matches and target.
fn read_rule(cx: &mut Ctx, words: &[Word], start: usize, span: Span) -> Option<RawRule> {
    let mut rb = RuleBuilder::default();
    let mut modules: Vec<ModUse> = Vec::new();
    let mut target: Option<(usize, bool, Vec<Opt>, Span, bool)> = None;
    let mut only: Option<Family> = None;
    // Who owns the next `--option`: a module, the target, or nobody.
    #[derive(Clone, Copy)]
    enum Owner {
        Nobody,
        Module(usize),
        Target,
    }
    let mut owner = Owner::Nobody;
    let mut neg: Option<Span> = None;
    let mut i = start;
    let n = words.len();

    while i < n {
        let w = &words[i];
        if w.is_bang() {
            if neg.is_some() {
                cx.syntax(
                    cx.word_span(w),
                    "`!` twice in a row",
                    "second `!`",
                    "write a single `!` before the option it negates",
                );
                rb.failed = true;
            }
            neg = Some(cx.word_span(w));
            i += 1;
            continue;
        }
        if let Some(g) = generic(w) {
            let wspan = cx.word_span(w);
            match g {
                Generic::Match
                | Generic::Jump
                | Generic::Goto
                | Generic::V4
                | Generic::V6
                | Generic::Counters => {
                    if let Some(b) = neg.take() {
                        cx.syntax(
                            b,
                            format!("`!` cannot negate `{}`", w.text),
                            "not allowed here",
                            "`!` goes right before a match option, as in `! -s 10.0.0.0/8` or `! --dport 22`",
                        );
                        rb.failed = true;
                    }
                }
                _ => {}
            }
            match g {
                Generic::V4 | Generic::V6 => {
                    only = Some(if g == Generic::V4 {
                        Family::V4
                    } else {
                        Family::V6
                    });
                    i += 1;
                }
                Generic::Counters => {
                    let ok = words.get(i + 1).is_some_and(is_value)
                        && words.get(i + 2).is_some_and(is_value);
                    if !ok {
                        cx.syntax(
                            wspan,
                            format!("`{}` needs two numbers", w.text),
                            "packets and bytes expected after this",
                            "write `-c PACKETS BYTES`",
                        );
                        rb.failed = true;
                        i += 1;
                    } else {
                        i += 3;
                    }
                }
                Generic::Match => {
                    let Some(name) = words.get(i + 1).filter(|w| is_value(w)) else {
                        cx.syntax(
                            wspan,
                            format!("`{}` without a module name", w.text),
                            "expected a match module name after this",
                            "write `-m NAME`, as in `-m state`",
                        );
                        rb.failed = true;
                        i += 1;
                        continue;
                    };
                    let module = name.text.to_string();
                    if matches::is_modelled(&module) {
                        let head = cx.span(w.start, name.end);
                        modules.push(ModUse {
                            module,
                            explicit: true,
                            opaque: false,
                            opts: Vec::new(),
                            head,
                            span: head,
                        });
                        owner = Owner::Module(modules.len() - 1);
                        i += 2;
                    } else {
                        let end = greedy_end(words, i + 2);
                        let last = &words[end - 1];
                        modules.push(ModUse {
                            module,
                            explicit: true,
                            opaque: true,
                            opts: Vec::new(),
                            head: cx.span(w.start, name.end),
                            span: cx.span(w.start, last.end),
                        });
                        owner = Owner::Nobody;
                        i = end;
                    }
                }
                Generic::Jump | Generic::Goto => {
                    if let Some((t, ..)) = &target {
                        cx.syntax(
                            wspan,
                            "a rule with two targets",
                            "second target",
                            format!(
                                "a rule has one `-j` or `-g`; this one already has `{}`",
                                words[*t].text
                            ),
                        );
                        rb.failed = true;
                    }
                    let Some(name) = words.get(i + 1).filter(|w| is_value(w)) else {
                        cx.syntax(
                            wspan,
                            format!("`{}` without a target", w.text),
                            "expected a target or chain name after this",
                            "write `-j ACCEPT`, `-j DROP` or `-j CHAIN`",
                        );
                        rb.failed = true;
                        i += 1;
                        continue;
                    };
                    let goto = g == Generic::Goto;
                    if !goto && targets::has_option_table(&name.text) {
                        target = Some((i + 1, goto, Vec::new(), cx.span(w.start, name.end), false));
                        owner = Owner::Target;
                        i += 2;
                    } else {
                        let end = greedy_end(words, i + 2);
                        let last = &words[end - 1];
                        let has_options = end > i + 2;
                        target = Some((
                            i + 1,
                            goto,
                            Vec::new(),
                            cx.span(w.start, last.end),
                            has_options,
                        ));
                        owner = Owner::Nobody;
                        i = end;
                    }
                }
                Generic::Frag => {
                    let start = neg.map(|s| s.start as usize).unwrap_or(w.start);
                    let span = cx.span(start, w.end);
                    neg = None;
                    rb.push(Test::Opaque(cx.slice(span).to_string()), false, span);
                    i += 1;
                }
                Generic::Src | Generic::Dst | Generic::In | Generic::Out | Generic::Proto => {
                    let mut negated = neg.take();
                    let mut j = i + 1;
                    if let Some(b) = words.get(j).filter(|w| w.is_bang()) {
                        if negated.is_some() {
                            cx.syntax(
                                cx.word_span(b),
                                "`!` twice for one option",
                                "second `!`",
                                "write a single `!` before the option",
                            );
                            rb.failed = true;
                        }
                        negated = Some(cx.word_span(b));
                        j += 1;
                    }
                    let Some(arg) = words.get(j).filter(|w| is_value(w)) else {
                        cx.syntax(
                            wspan,
                            format!("`{}` without a value", w.text),
                            "expected a value after this",
                            generic_help(g),
                        );
                        rb.failed = true;
                        i = j;
                        continue;
                    };
                    let start = negated
                        .map(|s| (s.start as usize).min(w.start))
                        .unwrap_or(w.start);
                    let span = cx.span(start, arg.end);
                    generic_cond(cx, &mut rb, g, negated.is_some(), arg, span);
                    i = j + 1;
                }
            }
            continue;
        }
        if w.is_option() {
            // An option of the current module or target.
            let (known, arity) = match owner {
                Owner::Module(m) => {
                    let module = &modules[m].module;
                    match matches::arity(module, &w.text) {
                        Some(a) => (true, Some(a)),
                        None => match implicit_module(&rb, &modules, &w.text) {
                            Some(_) => (false, None),
                            None => (true, None),
                        },
                    }
                }
                Owner::Target => {
                    let t = target.as_ref().map_or(0, |t| t.0);
                    match targets::arity(&words[t].text, &w.text) {
                        Some(a) => (true, Some(a)),
                        None => {
                            cx.syntax(
                                cx.word_span(w),
                                format!(
                                    "unknown option `{}` for target `{}`",
                                    w.text, words[t].text
                                ),
                                "not an option of this target",
                                targets::options_help(&words[t].text),
                            );
                            rb.failed = true;
                            i += 1;
                            while words.get(i).is_some_and(is_value) {
                                i += 1;
                            }
                            continue;
                        }
                    }
                }
                Owner::Nobody => (false, None),
            };
            if !known {
                // Not owned by the current module: the protocol module
                // iptables loads for `-p tcp` may own it.
                match implicit_module(&rb, &modules, &w.text) {
                    Some(module) => {
                        let existing = modules
                            .iter()
                            .position(|m| !m.explicit && m.module == module);
                        let m = existing.unwrap_or_else(|| {
                            modules.push(ModUse {
                                module: module.to_string(),
                                explicit: false,
                                opaque: false,
                                opts: Vec::new(),
                                head: cx.word_span(w),
                                span: cx.word_span(w),
                            });
                            modules.len() - 1
                        });
                        owner = Owner::Module(m);
                        continue;
                    }
                    None => {
                        cx.syntax(
                            cx.word_span(w),
                            format!("option `{}` does not belong to any match module", w.text),
                            "no `-m` module before this takes it",
                            "load the module that defines it first, as in `-m tcp --dport 22` or `-m state --state NEW`",
                        );
                        rb.failed = true;
                        neg = None;
                        i += 1;
                        while words.get(i).is_some_and(is_value) {
                            i += 1;
                        }
                        continue;
                    }
                }
            }
            let mut negated = neg.take();
            let mut j = i + 1;
            let want = arity.unwrap_or(usize::MAX);
            if want > 0 {
                if let Some(b) = words.get(j).filter(|w| w.is_bang()) {
                    if negated.is_some() {
                        cx.syntax(
                            cx.word_span(b),
                            "`!` twice for one option",
                            "second `!`",
                            "write a single `!` before the option",
                        );
                        rb.failed = true;
                    }
                    negated = Some(cx.word_span(b));
                    j += 1;
                }
            }
            let args_start = j;
            while j - args_start < want && words.get(j).is_some_and(is_value) {
                j += 1;
            }
            if let Some(a) = arity {
                if j - args_start < a {
                    cx.syntax(
                        cx.word_span(w),
                        format!(
                            "`{}` needs {} value{}",
                            w.text,
                            if a == 1 {
                                "a".to_string()
                            } else {
                                a.to_string()
                            },
                            plural(a)
                        ),
                        "value missing after this",
                        "give the option its value, as in `--dport 22`",
                    );
                    rb.failed = true;
                    i = j;
                    continue;
                }
            }
            let start = negated
                .map(|s| (s.start as usize).min(w.start))
                .unwrap_or(w.start);
            let end = if j > i + 1 { words[j - 1].end } else { w.end };
            let opt = Opt {
                neg: negated,
                name: i,
                args: args_start..j,
                span: cx.span(start, end),
            };
            match owner {
                Owner::Module(m) => {
                    modules[m].span = modules[m].span.to(opt.span);
                    modules[m].opts.push(opt);
                }
                Owner::Target => {
                    if let Some(t) = target.as_mut() {
                        t.3 = t.3.to(opt.span);
                        t.2.push(opt);
                    }
                }
                Owner::Nobody => {}
            }
            i = j;
            continue;
        }
        cx.syntax(
            cx.word_span(w),
            format!("unexpected `{}`", w.text),
            "not an option or the value of one",
            "check the line against `iptables-save` output: options start with `-` and take the values after them",
        );
        rb.failed = true;
        i += 1;
    }
    if let Some(b) = neg {
        cx.syntax(
            b,
            "`!` at the end of the rule",
            "nothing follows to negate",
            "put `!` before the option it negates",
        );
        rb.failed = true;
    }

    for m in &modules {
        matches::translate(cx, m, words, &mut rb);
    }
    let action = match target {
        None => RawAction::Done(Action::Continue(String::new())),
        Some((t, goto, opts, tspan, has_options)) => targets::translate(
            cx,
            &words[t],
            goto,
            &opts,
            words,
            tspan,
            has_options,
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

/// A word that is a value, not an option or `!`.
fn is_value(w: &Word) -> bool {
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
fn implicit_module(rb: &RuleBuilder, _modules: &[ModUse], option: &str) -> Option<&'static str> {
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

/// The family of the dump: forced by the caller, else the `# Generated by
/// ip6tables-save` header, else what most rules show (addresses, ICMP
/// modules, reject reasons), else IPv4.
fn decide_family(
    forced: Option<Family>,
    header: Option<Family>,
    tables: &[Table],
) -> (Family, FamilyReason) {
    if let Some(f) = forced {
        return (f, FamilyReason::Forced);
    }
    if let Some(f) = header {
        return (f, FamilyReason::Header);
    }
    let (mut strong, mut weak) = ([0usize; 2], [0usize; 2]);
    let mut first_strong = None;
    for t in tables {
        for c in &t.chains {
            for r in c.rules.iter().filter(|r| r.only.is_none()) {
                for e in &r.rb.evidence {
                    let k = e.family as usize;
                    if e.is_strong() {
                        strong[k] += 1;
                        first_strong.get_or_insert(e.family);
                    } else {
                        weak[k] += 1;
                    }
                }
            }
        }
    }
    let pick = |counts: [usize; 2], first: Option<Family>| {
        if counts[1] > counts[0] {
            Some(Family::V6)
        } else if counts[0] > counts[1] {
            Some(Family::V4)
        } else if counts[0] > 0 {
            first
        } else {
            None
        }
    };
    match pick(strong, first_strong).or_else(|| pick(weak, Some(Family::V6))) {
        Some(f) => (f, FamilyReason::Content),
        None => (Family::V4, FamilyReason::Default),
    }
}

fn family_words(f: Family) -> (&'static str, &'static str) {
    match f {
        Family::V4 => ("IPv4", "iptables"),
        Family::V6 => ("IPv6", "ip6tables"),
    }
}

/// Reports every rule that shows the other family.
fn check_family(cx: &mut Ctx, tables: &[Table], family: Family, reason: FamilyReason) {
    const SHOWN: usize = 10;
    let (fam, tool) = family_words(family);
    let mut count = 0;
    let mut first = None;
    for t in tables {
        for c in &t.chains {
            for r in c
                .rules
                .iter()
                .filter(|r| r.only.map_or(true, |f| f == family))
            {
                for e in
                    r.rb.evidence
                        .iter()
                        .filter(|e| e.is_strong() && e.family != family)
                {
                    count += 1;
                    first.get_or_insert(e.span);
                    if count > SHOWN {
                        continue;
                    }
                    let (other, _) = family_words(e.family);
                    let what = match e.kind {
                        EvidenceKind::Address => {
                            format!("{other} address `{}`", cx.slice(e.span))
                        }
                        _ => format!("`{}`", cx.slice(e.span)),
                    };
                    let why = match reason {
                        FamilyReason::Forced => "the family was given as an option".to_string(),
                        FamilyReason::Header => {
                            format!("its `# Generated by {tool}-save` line says so")
                        }
                        FamilyReason::Content => {
                            format!("most of its rules are {fam}")
                        }
                        FamilyReason::Default => "nothing in it says otherwise".to_string(),
                    };
                    cx.diags.push(
                        Diagnostic::new(
                            "dump-family",
                            format!("{what} in an {tool} ({fam}) dump"),
                            e.span,
                        )
                        .primary_label(format!("{other} only"))
                        .note(format!("the dump is read as {fam} because {why}"))
                        .help(format!(
                            "import the {other} rules from their own dump, or give the family explicitly if the dump is {other}"
                        )),
                    );
                }
            }
        }
    }
    if count > SHOWN {
        if let Some(span) = first {
            cx.diags.push(
                Diagnostic::new(
                    "dump-family",
                    format!(
                        "{} more matches of the other family in an {tool} ({fam}) dump",
                        count - SHOWN
                    ),
                    span,
                )
                .primary_label("the first one")
                .help("check that the dump is of the family you meant"),
            );
        }
    }
}

/// Resolves targets and turns one table into IR chains.
fn finish_table(cx: &mut Ctx, table: Table, family: Family) -> Vec<Chain> {
    let Table {
        name: tname,
        chains: raw,
        index,
        ..
    } = table;
    let is_filter = tname == "filter";
    let mut chains: Vec<Chain> = Vec::with_capacity(raw.len());
    for rc in raw {
        let kind = match (rc.policy, is_filter.then(|| hook_of(&rc.name)).flatten()) {
            (Some(_), Some(h)) => ChainKind::Base(h),
            _ => ChainKind::User,
        };
        let mut rules = Vec::with_capacity(rc.rules.len());
        for r in rc.rules {
            if r.only.is_some_and(|f| f != family) {
                continue;
            }
            let action = match r.action {
                RawAction::Done(a) => Some(a),
                RawAction::Reject(with) => match with {
                    None => Some(Action::Reject(None)),
                    Some((w, span)) => match values::parse_reject_with(&w, family) {
                        Ok(rw) => Some(Action::Reject(Some(rw))),
                        Err(msg) => {
                            // A reason of the other family is reported by
                            // the family check.
                            if values::reject_with_family(&w).map_or(true, |f| f == family) {
                                cx.syntax(
                                    span,
                                    msg,
                                    "unknown reason",
                                    targets::reject_help(family),
                                );
                            }
                            None
                        }
                    },
                },
                RawAction::Named {
                    name,
                    span,
                    goto,
                    text,
                    has_options,
                } => resolve_named(cx, &tname, &index, &name, span, goto, text, has_options),
            };
            let Some(action) = action else { continue };
            rules.push(ir::Rule {
                matches: ir::Match { conds: r.rb.conds },
                action,
                span: r.span,
                allow: Vec::new(),
                comment: r.rb.comment,
            });
        }
        chains.push(Chain {
            name: rc.name,
            kind,
            policy: rc.policy,
            rules,
            span: rc.span,
            allow: Vec::new(),
        });
    }
    check_cycles(cx, &tname, &chains);
    chains
}

#[allow(clippy::too_many_arguments)]
fn resolve_named(
    cx: &mut Ctx,
    table: &str,
    index: &HashMap<String, usize>,
    name: &str,
    span: Span,
    goto: bool,
    text: String,
    has_options: bool,
) -> Option<Action> {
    if let Some(&id) = index.get(name) {
        if has_options {
            cx.syntax(
                span,
                format!("a jump to chain `{name}` takes no options"),
                "a user chain, not a target",
                "remove the options after the chain name",
            );
            return None;
        }
        let id = ChainId(id as u32);
        return Some(if goto {
            Action::Goto(id)
        } else {
            Action::Jump(id)
        });
    }
    if goto && targets::classify(name) != targets::Kind::Unknown {
        cx.diags.push(
            Diagnostic::new(
                "dump-unknown-chain",
                format!("`-g {name}` goes to a target, not a chain"),
                span,
            )
            .primary_label("`-g` needs a user chain")
            .help(format!("write `-j {name}` to apply the target")),
        );
        return None;
    }
    if !goto {
        match targets::classify(name) {
            targets::Kind::NonTerminal => return Some(Action::Continue(text)),
            targets::Kind::MayDecide => return Some(Action::Opaque(text)),
            targets::Kind::Unknown if !name.bytes().any(|b| b.is_ascii_lowercase()) => {
                cx.diags.push(
                    Diagnostic::new(
                        "dump-unknown-target",
                        format!("unknown target `{name}`"),
                        span,
                    )
                    .primary_label("hwc does not know what this target does")
                    .note("it is kept as a target that may accept, drop or go on: findings that depend on it say so")
                    .help(format!(
                        "if `{name}` is meant to be a user chain, declare it with `:{name} - [0:0]`"
                    )),
                );
                return Some(Action::Opaque(text));
            }
            _ => {}
        }
    }
    cx.diags.push(
        Diagnostic::new(
            "dump-unknown-chain",
            format!("chain `{name}` is not declared in table `{table}`"),
            span,
        )
        .primary_label(if goto {
            "`-g` needs a user chain"
        } else {
            "not a chain of this table nor a known target"
        })
        .help(format!(
            "declare it after `*{table}` with `:{name} - [0:0]`"
        )),
    );
    None
}

/// Reports each jump or goto that closes a cycle of chain calls.
fn check_cycles(cx: &mut Ctx, table: &str, chains: &[Chain]) {
    // Iterative depth-first search; colour 0 = new, 1 = on the stack, 2 = done.
    let n = chains.len();
    let mut colour = vec![0u8; n];
    let callees = |c: usize| {
        chains[c].rules.iter().filter_map(|r| match r.action {
            Action::Jump(id) | Action::Goto(id) => Some((id.0 as usize, r.span)),
            _ => None,
        })
    };
    for root in 0..n {
        if colour[root] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, Vec<(usize, Span)>)> = vec![(root, callees(root).collect())];
        colour[root] = 1;
        while let Some((c, pending)) = stack.last_mut() {
            let c = *c;
            let next_call = pending.pop();
            match next_call {
                Some((next, span)) => match colour[next] {
                    0 => {
                        colour[next] = 1;
                        stack.push((next, callees(next).collect()));
                    }
                    1 => {
                        let path: Vec<&str> = stack
                            .iter()
                            .map(|(c, _)| chains[*c].name.as_str())
                            .skip_while(|&name| name != chains[next].name)
                            .collect();
                        cx.diags.push(
                            Diagnostic::new(
                                "dump-chain-cycle",
                                format!(
                                    "chains in table `{table}` call each other in a cycle: {} → {}",
                                    path.join(" → "),
                                    chains[next].name
                                ),
                                span,
                            )
                            .primary_label(format!("jumps back to `{}`", chains[next].name))
                            .label(chains[next].span, "the cycle starts here")
                            .help("the kernel refuses looping chains; remove one of the jumps"),
                        );
                    }
                    _ => {}
                },
                None => {
                    colour[c] = 2;
                    stack.pop();
                }
            }
        }
    }
}
