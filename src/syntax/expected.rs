//! Syntax errors in words an admin understands.
//!
//! pest reports where a statement stopped matching and which rules it
//! expected there. [`EXPECTED`] is the one table that turns those rules
//! into phrases; [`syntax_error`] adds what was found instead, a label at
//! the offending token and a `help` line (the closest keyword for a typo, a
//! reminder of the shape of the statement, ...). pest rule names never
//! reach the user.

use super::grammar::Rule;
use super::is_keyword;
use crate::diagnostics::Diagnostic;
use crate::source::{FileId, Span};

/// Where the failed statement was: the help depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ctx {
    Top,
    PolicyBody,
    ChainBody,
    EgressBody,
    Annotation,
}

/// What pest may report as expected, as a phrase for the message and a
/// short noun for the label. The order of the table is the order of the
/// phrases in a message.
const EXPECTED: &[(Rule, &str, &str)] = &[
    (
        Rule::top_stmt,
        "a statement such as `host`, `service`, `chain`, `assert` or `egress`",
        "a statement",
    ),
    (
        Rule::action,
        "an action (`accept`, `drop`, `reject`, `log`, `jump`, `goto` or `return`)",
        "an action",
    ),
    (
        Rule::setting,
        "a setting such as `family inet`",
        "a setting",
    ),
    (Rule::name, "a name", "a name"),
    (Rule::ref_name, "a name", "a name"),
    (Rule::arg_name, "a name", "a name"),
    (Rule::chain_ref, "a chain name", "a chain name"),
    (
        Rule::family_word,
        "a family (`ip`, `ip6` or `inet`)",
        "a family",
    ),
    (Rule::eq, "`=`", "`=`"),
    (Rule::policy_kw, "`policy`", "`policy`"),
    (Rule::verdict, "`accept` or `drop`", "`accept` or `drop`"),
    (
        Rule::assert_kind,
        "`allow`, `deny` or `reachable`",
        "`allow`, `deny` or `reachable`",
    ),
    (Rule::selector, "`user` or `group`", "`user` or `group`"),
    (Rule::not_kw, "`not`", "`not`"),
    (
        Rule::v_addr,
        "an address, a network or a name",
        "an address",
    ),
    (
        Rule::d_addr,
        "an address, a network or a name",
        "an address",
    ),
    (
        Rule::v_port,
        "a port, a port range such as `8000-8080` or a name",
        "a port",
    ),
    (Rule::port, "a port or a port range", "a port"),
    (
        Rule::v_icmp,
        "an ICMP type such as `echo-request`, `8` or `3/4`",
        "an ICMP type",
    ),
    (
        Rule::icmp_type,
        "an ICMP type number or `type/code`",
        "an ICMP type",
    ),
    (
        Rule::v_iface,
        "an interface such as `eth0`, `eth+` or `\"wg0\"`",
        "an interface",
    ),
    (
        Rule::d_iface,
        "an interface such as `eth0`, `eth+` or `\"wg0\"`",
        "an interface",
    ),
    (
        Rule::v_owner,
        "a user or group: a name, `uid N`, `gid N` or a quoted name",
        "a user or group",
    ),
    (
        Rule::d_owner,
        "a user or group: a name, `uid N`, `gid N` or a quoted name",
        "a user or group",
    ),
    (Rule::v_list, "an address, a port or a name", "a value"),
    (Rule::d_list, "an address, a port or a name", "a value"),
    (
        Rule::svc_value,
        "a protocol with its ports such as `tcp 80`, or a service name",
        "a service",
    ),
    (Rule::svc_ref, "a service name", "a service name"),
    (
        Rule::state_word,
        "a state (`new`, `established`, `related`, `invalid` or `untracked`)",
        "a state",
    ),
    (
        Rule::proto_arg,
        "a protocol name such as `gre` or a number from 0 to 255",
        "a protocol",
    ),
    (
        Rule::string,
        "a quoted string such as `\"text\"`",
        "a string",
    ),
    (
        Rule::level_word,
        "a log level such as `warn` or `4`",
        "a level",
    ),
    (Rule::number, "a number", "a number"),
    (Rule::digits, "a number", "a number"),
    (Rule::slash, "`/`", "`/`"),
    (
        Rule::rate_unit,
        "a time unit (`second`, `minute`, `hour` or `day`)",
        "a time unit",
    ),
    (Rule::burst_kw, "`burst`", "`burst`"),
    (Rule::only_kw, "`only`", "`only`"),
    (Rule::lbrace, "`{`", "`{`"),
    (Rule::ann_allow, "`@allow`", "`@allow`"),
    (Rule::ann_open, "`(`", "`(`"),
    (
        Rule::lint_name,
        "a lint name such as `redundant`",
        "a lint name",
    ),
    (Rule::ann_close, "`)`", "`)`"),
    (Rule::comma, "`,`", "`,`"),
    (
        Rule::match_expr,
        "a match such as `from`, `to`, `tcp 22`",
        "a match",
    ),
    (
        Rule::match_kind,
        "a match such as `from`, `to`, `tcp 22`",
        "a match",
    ),
    (Rule::rule_end, "the end of the rule", "the end of the rule"),
    (Rule::stmt_end, "the end of the line", "the end of the line"),
];

const TOP_WORDS: &[&str] = &[
    "policy", "include", "host", "net", "list", "service", "user", "group", "iface", "chain",
    "assert", "egress",
];
const ACTIONS: &[&str] = &["accept", "drop", "reject", "log", "jump", "goto", "return"];
const MATCH_WORDS: &[&str] = &[
    "tcp", "udp", "sctp", "icmp", "icmpv6", "proto", "sport", "dport", "service", "from", "to",
    "iface", "oface", "state", "user", "group", "limit", "comment", "not",
];

/// The token at a position of the text, as an error shows it.
pub(super) struct Token<'t> {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) kind: TokKind<'t>,
}

#[derive(Clone, Copy)]
pub(super) enum TokKind<'t> {
    Eof,
    Eol,
    Word(&'t str),
    /// A string; `closed` says whether it ends on its line.
    Str {
        closed: bool,
    },
    Other(&'t str),
}

impl Token<'_> {
    pub(super) fn describe(&self) -> String {
        match self.kind {
            TokKind::Eof => "the end of the file".to_string(),
            TokKind::Eol => "the end of the line".to_string(),
            TokKind::Word(w) | TokKind::Other(w) => format!("`{}`", w.escape_debug()),
            TokKind::Str { .. } => "a string".to_string(),
        }
    }

    fn word(&self) -> Option<&str> {
        match self.kind {
            TokKind::Word(w) => Some(w),
            _ => None,
        }
    }
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b':' | b'/' | b'+')
}

/// The token starting at `pos`: a word (letters, digits and the characters
/// of addresses and ranges), a string, the end of the line or file, or one
/// character.
pub(super) fn token_at(text: &str, pos: usize) -> Token<'_> {
    let mut pos = pos.min(text.len());
    while !text.is_char_boundary(pos) {
        pos -= 1;
    }
    let b = text.as_bytes();
    let Some(&c) = b.get(pos) else {
        return Token {
            start: pos,
            end: pos,
            kind: TokKind::Eof,
        };
    };
    if c == b'\n' || (c == b'\r' && b.get(pos + 1) == Some(&b'\n')) {
        return Token {
            start: pos,
            end: pos,
            kind: TokKind::Eol,
        };
    }
    if c == b'"' {
        let mut i = pos + 1;
        let mut closed = false;
        while i < b.len() && b[i] != b'\n' {
            match b[i] {
                b'\\' if b.get(i + 1).is_some_and(|&n| n != b'\n') => i += 2,
                b'"' => {
                    closed = true;
                    i += 1;
                    break;
                }
                _ => i += 1,
            }
        }
        let mut end = i.min(b.len());
        while end > pos && b[end - 1] == b'\r' && !closed {
            end -= 1;
        }
        while !text.is_char_boundary(end) {
            end += 1;
        }
        return Token {
            start: pos,
            end,
            kind: TokKind::Str { closed },
        };
    }
    if is_word_byte(c) || c == b'@' {
        let mut e = pos + 1;
        while e < b.len() && is_word_byte(b[e]) {
            e += 1;
        }
        return Token {
            start: pos,
            end: e,
            kind: TokKind::Word(&text[pos..e]),
        };
    }
    let ch_len = text[pos..].chars().next().map_or(1, char::len_utf8);
    Token {
        start: pos,
        end: pos + ch_len,
        kind: TokKind::Other(&text[pos..pos + ch_len]),
    }
}

/// The closest of `candidates` to a misspelt `word`, if one is close.
pub(super) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    let limit = match word.chars().count() {
        0..=2 => 0,
        3..=5 => 1,
        _ => 2,
    };
    candidates
        .iter()
        .map(|c| (edit_distance(&lower, c), *c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Edit distance where swapping two neighbouring letters (`hots`) counts
/// as one edit, like inserting, deleting or replacing one.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for (i, row) in d.chunks_mut(w).enumerate() {
        row[0] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

fn quote_list(words: &[&str]) -> String {
    let q: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
    join_or(&q, "or")
}

fn join_or(items: &[String], last: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., tail] => format!("{} {last} {tail}", init.join(", ")),
    }
}

/// The last significant character before `pos` (skipping blanks and line
/// breaks), to tell a dangling `,` from a missing one.
fn previous_char(text: &str, pos: usize) -> Option<char> {
    text.get(..pos.min(text.len()))?
        .chars()
        .rev()
        .find(|c| !c.is_whitespace())
}

/// The diagnostic for a statement that stopped matching at `pos`.
pub(super) fn syntax_error(
    text: &str,
    file: FileId,
    ctx: Ctx,
    pos: usize,
    positives: &[Rule],
    stmt_start: usize,
) -> Diagnostic {
    let tok = token_at(text, pos);
    let span = Span::new(file, tok.start, tok.end);

    if let TokKind::Str { closed: false } = tok.kind {
        return Diagnostic::error("syntax", "unterminated string", span)
            .primary_label("this string has no closing `\"`")
            .help("add `\"` at the end of the string; a string cannot continue on the next line");
    }

    let has = |r: Rule| positives.contains(&r);
    let found = tok.describe();
    let word = tok.word();

    // A reserved word where a name belongs.
    if let Some(w) = word.filter(|w| is_keyword(w)) {
        if has(Rule::name) || has(Rule::chain_ref) {
            let chain = has(Rule::chain_ref)
                || ctx == Ctx::Top && word_at_start(text, stmt_start) == Some("chain");
            let (what, example) = if chain {
                ("a chain name", format!("{w}-chain"))
            } else {
                ("a name", format!("{w}-1"))
            };
            return Diagnostic::error(
                "syntax",
                format!("`{w}` is a reserved keyword and cannot be used as {what}"),
                span,
            )
            .primary_label("reserved keyword")
            .help(format!(
                "keywords are reserved; choose another name, such as `{example}`"
            ));
        }
    }

    let mut phrases: Vec<(usize, &str, &str)> = positives
        .iter()
        .filter_map(|r| {
            EXPECTED
                .iter()
                .position(|(rule, _, _)| rule == r)
                .map(|i| (i, EXPECTED[i].1, EXPECTED[i].2))
        })
        .collect();
    phrases.sort_unstable_by_key(|p| p.0);
    phrases.dedup_by_key(|p| p.1);
    // A `,` is always possible after a list value; name it only when the
    // alternative is the end of the statement.
    let is_match_pos = has(Rule::match_expr) || has(Rule::match_kind);
    if is_match_pos || has(Rule::burst_kw) {
        phrases.retain(|p| p.1 != "`,`");
    }
    let expected_text = join_or(
        &phrases.iter().map(|p| p.1.to_string()).collect::<Vec<_>>(),
        "or",
    );
    let message = if expected_text.is_empty() {
        match tok.kind {
            TokKind::Eof => "unexpected end of the file".to_string(),
            TokKind::Eol => "unexpected end of the line".to_string(),
            _ => format!("unexpected {found}"),
        }
    } else {
        format!("expected {expected_text}, found {found}")
    };
    let label = match phrases.first() {
        Some(p) => format!("expected {} here", p.2),
        None => "unexpected here".to_string(),
    };
    let help = help_for(text, ctx, pos, positives, &tok, stmt_start);
    let mut d = Diagnostic::error("syntax", message, span).primary_label(label);
    if let Some(h) = help {
        d = d.help(h);
    }
    d
}

fn word_at_start(text: &str, p: usize) -> Option<&str> {
    let w = super::parser::word_at(text, p);
    (!w.is_empty()).then_some(w)
}

fn help_for(
    text: &str,
    ctx: Ctx,
    pos: usize,
    positives: &[Rule],
    tok: &Token,
    stmt_start: usize,
) -> Option<String> {
    let has = |r: Rule| positives.contains(&r);
    let word = tok.word();
    let after_comma = previous_char(text, pos) == Some(',');
    let first = word_at_start(text, stmt_start).unwrap_or("");

    if let Some(w) = word {
        if w.starts_with(|c: char| c.is_ascii_digit())
            && !w.contains(['.', ':', '/'])
            && w.contains(|c: char| c.is_ascii_alphabetic() || c == '_')
        {
            return Some(format!(
                "`{w}` is neither a number nor a name: numbers have only digits, and names start with a letter or `_`"
            ));
        }
    }
    if ctx == Ctx::Annotation {
        if let Some(w) = word.filter(|w| w.starts_with('@') && *w != "@allow") {
            if closest(w, &["@allow"]).is_some() {
                return Some("did you mean `@allow`?".into());
            }
        }
        return Some(
            "an annotation is written `@allow(lint-name, ...)`, e.g. `@allow(redundant)`".into(),
        );
    }
    if has(Rule::top_stmt) {
        if let Some(w) = word {
            if ACTIONS.contains(&w) {
                return Some(
                    "rules belong inside a chain: `chain input policy drop { ... }`".into(),
                );
            }
            if let Some(s) = closest(w, TOP_WORDS) {
                return Some(format!("did you mean `{s}`?"));
            }
        }
        return Some(format!(
            "a statement starts with one of {}",
            quote_list(TOP_WORDS)
        ));
    }
    if has(Rule::action) {
        if let Some(w) = word {
            if w == "policy" {
                return Some(
                    "a chain's default policy goes in its header: `chain input policy drop {`"
                        .into(),
                );
            }
            if MATCH_WORDS.contains(&w) {
                return Some(format!(
                    "a rule starts with what to do, then its matches: `accept {w} ...`"
                ));
            }
            if let Some(s) = closest(w, ACTIONS) {
                return Some(format!("did you mean `{s}`?"));
            }
        }
        return Some(format!(
            "a rule starts with its action: {}",
            quote_list(ACTIONS)
        ));
    }
    if has(Rule::verdict) {
        return Some(
            "a chain's default policy is `accept` or `drop`; other actions go in rules".into(),
        );
    }
    if has(Rule::assert_kind) {
        if let Some(s) = word.and_then(|w| closest(w, &["allow", "deny", "reachable"])) {
            return Some(format!("did you mean `{s}`?"));
        }
        return Some("an assertion is written `assert allow|deny|reachable CHAIN MATCHES`".into());
    }
    if has(Rule::setting) {
        return Some("the only setting is `family ip`, `family ip6` or `family inet`".into());
    }
    if has(Rule::match_expr) || has(Rule::match_kind) {
        if let Some(w) = word {
            if let Some(s) = closest(w, MATCH_WORDS) {
                if s != w {
                    return Some(format!("did you mean `{s}`?"));
                }
            }
            if ACTIONS.contains(&w) {
                return Some("a rule has one action; put the next rule on its own line".into());
            }
            if w.starts_with(|c: char| c.is_ascii_digit()) || w.contains(':') {
                return Some(format!(
                    "a value needs a match keyword in front of it, e.g. `tcp {w}` or `from {w}`; separate list values with `,`"
                ));
            }
            if has(Rule::comma) && !is_keyword(w) {
                return Some(format!(
                    "to add `{w}` to the list before it, separate it with `,`"
                ));
            }
        }
        let q: Vec<String> = MATCH_WORDS[..MATCH_WORDS.len() - 1]
            .iter()
            .map(|w| format!("`{w}`"))
            .collect();
        return Some(format!(
            "the matches are {}; put `not` in front of one to negate it",
            join_or(&q, "and")
        ));
    }
    if has(Rule::eq) {
        return Some(format!(
            "a definition needs `=` between its name and its values: `{first} NAME = VALUE, VALUE`"
        ));
    }
    if has(Rule::lbrace) {
        if let Some(w) = word {
            if has(Rule::policy_kw) && (w == "accept" || w == "drop") {
                return Some(format!("write `policy {w}` to set the chain's default"));
            }
        }
        if matches!(tok.kind, TokKind::Eol | TokKind::Eof) {
            return Some("put the `{` that opens the block at the end of this line".into());
        }
        return Some(match first {
            "chain" => {
                "a chain is written `chain NAME { ... }` or `chain NAME policy drop { ... }`".into()
            }
            "egress" => "an egress block is written `egress user NAME only { ... }`".into(),
            _ => "a policy block is written `policy NAME { family inet }`".into(),
        });
    }
    if has(Rule::only_kw) {
        return Some("an egress block is written `egress user NAME only { ... }`".into());
    }
    if after_comma && phrases_are_values(positives) {
        return Some("remove the `,` at the end of the list, or add a value after it".into());
    }
    if has(Rule::stmt_end) || has(Rule::rule_end) {
        if has(Rule::comma) {
            return Some(
                "separate list values with `,`; start a new statement on a new line or after `;`"
                    .into(),
            );
        }
        return Some(match ctx {
            Ctx::ChainBody | Ctx::EgressBody | Ctx::PolicyBody => {
                "put each entry on its own line, or separate entries with `;`".into()
            }
            _ => "put each statement on its own line, or separate statements with `;`".into(),
        });
    }
    if has(Rule::slash) || has(Rule::rate_unit) {
        return Some("a limit is written `limit N/second`, `N/minute`, `N/hour` or `N/day`, optionally with `burst M`".into());
    }
    if has(Rule::v_addr) || has(Rule::d_addr) {
        return Some("write an address (`192.0.2.1`, `2001:db8::1`), a network (`198.51.100.0/24`), a range (`192.0.2.10-192.0.2.20`) or the name of a `host`, `net` or `list`".into());
    }
    if has(Rule::v_port) || has(Rule::port) {
        return Some(
            "write a port (`22`), a range (`8000-8080`) or the name of a `list` of ports".into(),
        );
    }
    if has(Rule::svc_value) {
        return Some("a service lists protocols with their ports: `tcp 80, 443, udp 53`, `icmp echo-request`, `proto gre`, or other services".into());
    }
    if has(Rule::v_owner) || has(Rule::d_owner) {
        return Some("write `uid 0`, `uid 1000-1999`, a quoted name such as `\"www-data\"`, or the name of a `user` or `group`".into());
    }
    if has(Rule::v_iface) || has(Rule::d_iface) {
        return Some("write an interface name (`eth0`), a wildcard (`eth+`), a quoted name (`\"wg0\"`) or the name of an `iface` definition".into());
    }
    if has(Rule::string) {
        return Some(match (first, tok.kind) {
            ("include", TokKind::Word(w)) => {
                format!("put the path in double quotes: `include \"{w}\"`")
            }
            _ => "put the text in double quotes, e.g. `\"INPUT \"`".into(),
        });
    }
    if has(Rule::level_word) {
        return Some("the levels are `emerg`, `alert`, `crit`, `err`, `warn`, `notice`, `info` and `debug`, or a number from 0 to 7".into());
    }
    if has(Rule::digits) || has(Rule::number) {
        return Some("write a number here, such as `0` or `1000-1999`".into());
    }
    if has(Rule::name) || has(Rule::chain_ref) {
        return Some(
            "names start with a letter or `_` and contain letters, digits, `_` and `-`".into(),
        );
    }
    None
}

fn phrases_are_values(positives: &[Rule]) -> bool {
    positives.iter().any(|r| {
        matches!(
            r,
            Rule::v_addr
                | Rule::v_port
                | Rule::v_icmp
                | Rule::v_iface
                | Rule::v_owner
                | Rule::v_list
                | Rule::d_addr
                | Rule::d_iface
                | Rule::d_owner
                | Rule::d_list
                | Rule::svc_value
                | Rule::svc_ref
                | Rule::state_word
                | Rule::lint_name
                | Rule::port
                | Rule::icmp_type
        )
    })
}
