//! A reader for the `nft -f` scripts hwc writes, back into IR, for
//! translation validation (see [`super::validate`]).
//!
//! It reads exactly the subset [`super::nftables`] emits and rejects
//! everything else with a line number: the preamble that replaces hwc's
//! tables (`table F hwc {}`, `delete table F hwc`), one `table F hwc { }`
//! with named interval sets (`set NAME { type T; flags interval; elements
//! = { ... } }`) and chains (`type filter hook H priority filter; policy
//! P;` for base chains), and rules made of the matches hwc writes followed
//! by one statement (`accept`, `drop`, `reject ...`, `return`, `jump C`,
//! `goto C`, `log ...`) and an optional `comment "..."`.
//!
//! The meaning is nft's, written in IR terms:
//! - `ip saddr != X` holds only for IPv4 packets (in an `inet` table an
//!   IPv6 packet matches neither form), so it reads as `family ip` and
//!   `not from X`; `tcp dport != X` likewise needs a tcp packet.
//! - `meta skuid != X` holds only for packets with a user socket: the
//!   negation carries [`OwnerNegation::Nft`].
//! - `limit rate over R` is the complement of `limit rate R`.
//! - `reject` of any kind drops (the reason does not change the verdict).
//!
//! Owner names (`meta skuid "www-data"`) get symbolic ids in order of
//! first appearance, as the iptables reader gives them.

use crate::ir::{
    self, Action, AddrRange, AddrSet, Chain, ChainId, ChainKind, Cond, CtState, Family, FamilySet,
    Hook, IcmpSpec, Iface, LogSpec, Match, OwnerNegation, OwnerRange, PortSet, RateLimit, Rule,
    Test, Verdict, L4,
};
use crate::source::Span;
use std::collections::HashMap;
use std::net::IpAddr;

/// Why a script could not be read: the line (1-based) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ReadError {}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Str(String),
    Open,
    Close,
    Semi,
    Comma,
}

/// One logical line: its number and tokens.
type Line = (usize, Vec<Tok>);

fn tokenize(text: &str) -> Result<Vec<Line>, ReadError> {
    let mut lines = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let mut toks = Vec::new();
        let mut chars = raw.char_indices().peekable();
        let mut word = String::new();
        let flush = |word: &mut String, toks: &mut Vec<Tok>| {
            if !word.is_empty() {
                toks.push(Tok::Word(std::mem::take(word)));
            }
        };
        while let Some((_, c)) = chars.next() {
            match c {
                '#' => break,
                '"' => {
                    flush(&mut word, &mut toks);
                    let mut s = String::new();
                    loop {
                        match chars.next() {
                            Some((_, '"')) => break,
                            Some((_, c)) => s.push(c),
                            None => {
                                return Err(ReadError {
                                    line,
                                    message: "unterminated string".into(),
                                })
                            }
                        }
                    }
                    toks.push(Tok::Str(s));
                }
                '{' | '}' | ';' | ',' => {
                    flush(&mut word, &mut toks);
                    toks.push(match c {
                        '{' => Tok::Open,
                        '}' => Tok::Close,
                        ';' => Tok::Semi,
                        _ => Tok::Comma,
                    });
                }
                c if c.is_whitespace() => flush(&mut word, &mut toks),
                c => word.push(c),
            }
        }
        flush(&mut word, &mut toks);
        if !toks.is_empty() {
            lines.push((line, toks));
        }
    }
    Ok(lines)
}

fn err<T>(line: usize, message: impl Into<String>) -> Result<T, ReadError> {
    Err(ReadError {
        line,
        message: message.into(),
    })
}

fn word(t: &Tok) -> Option<&str> {
    match t {
        Tok::Word(w) => Some(w),
        _ => None,
    }
}

/// A set definition: its type and element tokens.
struct SetDef {
    kind: String,
    elements: Vec<Tok>,
}

struct RawChain {
    name: String,
    line: usize,
    base: Option<(Hook, Verdict)>,
    rules: Vec<Line>,
}

/// Reads an nft script hwc wrote into a policy named `name`.
pub fn read(text: &str, name: &str) -> Result<ir::Policy, ReadError> {
    let lines = tokenize(text)?;
    let mut i = 0;
    let mut family: Option<FamilySet> = None;
    let mut sets: HashMap<String, SetDef> = HashMap::new();
    let mut chains: Vec<RawChain> = Vec::new();
    while i < lines.len() {
        let (ln, toks) = &lines[i];
        let ws: Vec<Option<&str>> = toks.iter().map(word).collect();
        match ws.as_slice() {
            [Some("table"), Some(_), Some("hwc"), None, None]
                if toks[3] == Tok::Open && toks[4] == Tok::Close => {}
            [Some("delete"), Some("table"), Some(_), Some("hwc")] => {}
            [Some("table"), Some(f), Some("hwc"), None] if toks[3] == Tok::Open => {
                if family.is_some() {
                    return err(*ln, "a second hwc table");
                }
                family = Some(match *f {
                    "ip" => FamilySet::IP,
                    "ip6" => FamilySet::IP6,
                    "inet" => FamilySet::INET,
                    other => return err(*ln, format!("unknown table family `{other}`")),
                });
                i = read_table(&lines, i + 1, &mut sets, &mut chains)?;
            }
            _ => return err(*ln, "expected a `table` or `delete table` line"),
        }
        i += 1;
    }
    let Some(family) = family else {
        return err(lines.last().map_or(1, |l| l.0), "no hwc table");
    };
    build(name, family, &sets, &chains)
}

/// Reads the body of the table from line `i`; returns the index of the
/// table's closing line.
fn read_table(
    lines: &[Line],
    mut i: usize,
    sets: &mut HashMap<String, SetDef>,
    chains: &mut Vec<RawChain>,
) -> Result<usize, ReadError> {
    while i < lines.len() {
        let (ln, toks) = &lines[i];
        match toks.as_slice() {
            [Tok::Close] => return Ok(i),
            [Tok::Word(kw), Tok::Word(name), Tok::Open] if kw == "set" => {
                let mut kind = None;
                let mut elements = None;
                i += 1;
                loop {
                    let Some((ln, toks)) = lines.get(i) else {
                        return err(*ln, "unterminated set");
                    };
                    match toks.as_slice() {
                        [Tok::Close] => break,
                        [Tok::Word(t), Tok::Word(k)] if t == "type" => kind = Some(k.clone()),
                        [Tok::Word(f), Tok::Word(v)] if f == "flags" && v == "interval" => {}
                        [Tok::Word(e), Tok::Word(eq), Tok::Open, rest @ .., Tok::Close]
                            if e == "elements" && eq == "=" =>
                        {
                            elements = Some(rest.to_vec())
                        }
                        _ => return err(*ln, "unexpected line in a set"),
                    }
                    i += 1;
                }
                let (Some(kind), Some(elements)) = (kind, elements) else {
                    return err(*ln, format!("set `{name}` lacks a type or elements"));
                };
                sets.insert(name.clone(), SetDef { kind, elements });
            }
            [Tok::Word(kw), Tok::Word(name), Tok::Open] if kw == "chain" => {
                let mut chain = RawChain {
                    name: name.clone(),
                    line: *ln,
                    base: None,
                    rules: Vec::new(),
                };
                i += 1;
                loop {
                    let Some((ln, toks)) = lines.get(i) else {
                        return err(*ln, "unterminated chain");
                    };
                    if toks.as_slice() == [Tok::Close] {
                        break;
                    }
                    if let Some(base) = base_header(toks) {
                        if chain.base.is_some() || !chain.rules.is_empty() {
                            return err(*ln, "misplaced chain header");
                        }
                        chain.base = Some(base.map_err(|m| ReadError {
                            line: *ln,
                            message: m,
                        })?);
                    } else {
                        chain.rules.push((*ln, toks.clone()));
                    }
                    i += 1;
                }
                chains.push(chain);
            }
            _ => return err(*ln, "expected a set, a chain or `}`"),
        }
        i += 1;
    }
    err(lines.last().map_or(1, |l| l.0), "unterminated table")
}

/// `type filter hook H priority filter; policy P;`
fn base_header(toks: &[Tok]) -> Option<Result<(Hook, Verdict), String>> {
    let ws: Vec<Option<&str>> = toks.iter().map(word).collect();
    if ws.first() != Some(&Some("type")) {
        return None;
    }
    Some(match ws.as_slice() {
        [Some("type"), Some("filter"), Some("hook"), Some(h), Some("priority"), Some("filter"), None, Some("policy"), Some(p), None]
            if toks[6] == Tok::Semi && toks[9] == Tok::Semi =>
        {
            let hook = match *h {
                "input" => Hook::Input,
                "output" => Hook::Output,
                "forward" => Hook::Forward,
                other => return Some(Err(format!("unknown hook `{other}`"))),
            };
            let policy = match *p {
                "accept" => Verdict::Accept,
                "drop" => Verdict::Drop,
                other => return Some(Err(format!("unknown policy `{other}`"))),
            };
            Ok((hook, policy))
        }
        _ => Err("malformed base chain header".into()),
    })
}

struct Builder<'a> {
    sets: &'a HashMap<String, SetDef>,
    chain_ids: HashMap<&'a str, ChainId>,
    owner_names: [Vec<String>; 2],
}

fn build(
    name: &str,
    family: FamilySet,
    sets: &HashMap<String, SetDef>,
    raw: &[RawChain],
) -> Result<ir::Policy, ReadError> {
    let mut b = Builder {
        sets,
        chain_ids: HashMap::new(),
        owner_names: [Vec::new(), Vec::new()],
    };
    for (k, c) in raw.iter().enumerate() {
        if b.chain_ids.insert(&c.name, ChainId(k as u32)).is_some() {
            return err(c.line, format!("chain `{}` defined twice", c.name));
        }
    }
    let mut chains = Vec::new();
    for c in raw {
        let mut rules = Vec::new();
        for (ln, toks) in &c.rules {
            rules.push(b.rule(*ln, toks)?);
        }
        chains.push(Chain {
            name: c.name.clone(),
            kind: match c.base {
                Some((h, _)) => ChainKind::Base(h),
                None => ChainKind::User,
            },
            policy: c.base.map(|(_, v)| v),
            rules,
            span: Span::default(),
            allow: vec![],
        });
    }
    for hook in Hook::ALL {
        if chains
            .iter()
            .filter(|c| c.kind == ChainKind::Base(hook))
            .count()
            > 1
        {
            return err(1, format!("two base chains on the {} hook", hook.name()));
        }
    }
    Ok(ir::Policy {
        name: name.to_string(),
        family,
        origin: ir::Origin::Policy,
        chains,
        assertions: vec![],
        egress: vec![],
        definitions: vec![],
        span: Span::default(),
    })
}

/// A cursor over one rule's tokens.
struct Cur<'t> {
    toks: &'t [Tok],
    pos: usize,
    line: usize,
}

impl<'t> Cur<'t> {
    fn peek(&self) -> Option<&'t Tok> {
        self.toks.get(self.pos)
    }

    fn peek_word(&self) -> Option<&'t str> {
        self.peek().and_then(word)
    }

    fn next_word(&mut self) -> Result<&'t str, ReadError> {
        match self.peek_word() {
            Some(w) => {
                self.pos += 1;
                Ok(w)
            }
            None => err(self.line, "expected a word"),
        }
    }

    fn eat(&mut self, w: &str) -> bool {
        if self.peek_word() == Some(w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, w: &str) -> Result<(), ReadError> {
        if self.eat(w) {
            Ok(())
        } else {
            err(self.line, format!("expected `{w}`"))
        }
    }

    /// `!=` before a value.
    fn negation(&mut self) -> bool {
        self.eat("!=")
    }

    /// One value or a `{ a, b }` list, as tokens; `@set` stays one word.
    fn values(&mut self) -> Result<Vec<Tok>, ReadError> {
        match self.peek() {
            Some(Tok::Open) => {
                self.pos += 1;
                let mut out = Vec::new();
                loop {
                    match self.peek() {
                        Some(Tok::Close) => {
                            self.pos += 1;
                            return Ok(out);
                        }
                        Some(Tok::Comma) => self.pos += 1,
                        Some(t @ (Tok::Word(_) | Tok::Str(_))) => {
                            out.push(t.clone());
                            self.pos += 1;
                        }
                        _ => return err(self.line, "malformed list"),
                    }
                }
            }
            Some(t @ (Tok::Word(_) | Tok::Str(_))) => {
                self.pos += 1;
                Ok(vec![t.clone()])
            }
            _ => err(self.line, "expected a value"),
        }
    }
}

fn cond(test: Test, negated: bool) -> Cond {
    Cond {
        negated,
        test,
        owner_negation: OwnerNegation::Nft,
        span: Span::default(),
    }
}

fn parse_u<T: std::str::FromStr>(s: &str, line: usize, what: &str) -> Result<T, ReadError> {
    s.parse()
        .or_else(|_| err(line, format!("bad {what} `{s}`")))
}

fn ports(vals: &[Tok], line: usize) -> Result<Vec<(u16, u16)>, ReadError> {
    vals.iter()
        .map(|t| {
            let s = word(t).ok_or(ReadError {
                line,
                message: "a port cannot be a string".into(),
            })?;
            Ok(match s.split_once('-') {
                Some((a, b)) => (parse_u(a, line, "port")?, parse_u(b, line, "port")?),
                None => {
                    let p = parse_u(s, line, "port")?;
                    (p, p)
                }
            })
        })
        .collect()
}

fn addr_value(s: &str, family: Family, line: usize) -> Result<u128, ReadError> {
    let a: IpAddr = parse_u(s, line, "address")?;
    match (a, family) {
        (IpAddr::V4(v), Family::V4) => Ok(u32::from(v) as u128),
        (IpAddr::V6(v), Family::V6) => Ok(u128::from(v)),
        _ => err(
            line,
            format!("`{s}` is not an address of the table's family"),
        ),
    }
}

fn addr_ranges(vals: &[Tok], family: Family, line: usize) -> Result<Vec<AddrRange>, ReadError> {
    let bits: u32 = match family {
        Family::V4 => 32,
        Family::V6 => 128,
    };
    vals.iter()
        .map(|t| {
            let s = word(t).ok_or(ReadError {
                line,
                message: "an address cannot be a string".into(),
            })?;
            let (lo, hi) = if let Some((a, len)) = s.split_once('/') {
                let lo = addr_value(a, family, line)?;
                let len: u32 = parse_u(len, line, "prefix length")?;
                if len > bits {
                    return err(line, format!("bad prefix length in `{s}`"));
                }
                let host = bits - len;
                let mask = if host == 128 {
                    u128::MAX
                } else {
                    (1u128 << host) - 1
                };
                if lo & mask != 0 {
                    return err(line, format!("`{s}` has host bits set"));
                }
                (lo, lo | mask)
            } else if let Some((a, b)) = s.split_once('-') {
                (addr_value(a, family, line)?, addr_value(b, family, line)?)
            } else {
                let v = addr_value(s, family, line)?;
                (v, v)
            };
            if lo > hi {
                return err(line, format!("empty range `{s}`"));
            }
            Ok(AddrRange { family, lo, hi })
        })
        .collect()
}

fn proto_number(s: &str, line: usize) -> Result<u8, ReadError> {
    Ok(match s {
        "icmp" => 1,
        "tcp" => 6,
        "udp" => 17,
        "icmpv6" | "ipv6-icmp" => 58,
        "sctp" => 132,
        n => parse_u(n, line, "protocol")?,
    })
}

fn l4(proto: u8) -> L4 {
    L4 {
        proto,
        sport: None,
        dport: None,
        icmp: None,
        service: None,
    }
}

impl Builder<'_> {
    /// The values of a list, with a named set expanded.
    fn expand(&self, vals: Vec<Tok>, kind: &str, line: usize) -> Result<Vec<Tok>, ReadError> {
        match vals.as_slice() {
            [Tok::Word(w)] if w.starts_with('@') => match self.sets.get(&w[1..]) {
                Some(set) if set.kind == kind => Ok(set
                    .elements
                    .iter()
                    .filter(|t| **t != Tok::Comma)
                    .cloned()
                    .collect()),
                Some(set) => err(
                    line,
                    format!("set `{w}` holds `{}`, not `{kind}`", set.kind),
                ),
                None => err(line, format!("unknown set `{w}`")),
            },
            _ => Ok(vals),
        }
    }

    fn owner_id(&mut self, gid: bool, name: &str) -> u32 {
        let names = &mut self.owner_names[gid as usize];
        let i = match names.iter().position(|n| n == name) {
            Some(i) => i,
            None => {
                names.push(name.to_string());
                names.len() - 1
            }
        };
        ir::symbolic_id(i)
    }

    fn rule(&mut self, line: usize, toks: &[Tok]) -> Result<Rule, ReadError> {
        let mut c = Cur { toks, pos: 0, line };
        let mut conds = Vec::new();
        let action = loop {
            let Some(w) = c.peek_word() else {
                return err(line, "expected a match or a statement");
            };
            c.pos += 1;
            match w {
                "meta" => self.meta(&mut c, &mut conds)?,
                "iifname" | "oifname" => {
                    let neg = c.negation();
                    let vals = c.values()?;
                    let ifaces = vals
                        .iter()
                        .map(|t| match t {
                            Tok::Str(s) => Ok(match s.strip_suffix('*') {
                                Some(p) => Iface {
                                    name: p.to_string(),
                                    wildcard: true,
                                },
                                None => Iface {
                                    name: s.clone(),
                                    wildcard: false,
                                },
                            }),
                            _ => err(line, "an interface name must be a string"),
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    let t = if w == "iifname" {
                        Test::Iif(ifaces)
                    } else {
                        Test::Oif(ifaces)
                    };
                    conds.push(cond(t, neg));
                }
                "ip" | "ip6" => {
                    let family = if w == "ip" { Family::V4 } else { Family::V6 };
                    let dir = c.next_word()?;
                    let neg = c.negation();
                    let kind = if w == "ip" { "ipv4_addr" } else { "ipv6_addr" };
                    let vals = c.values()?;
                    let vals = self.expand(vals, kind, line)?;
                    let set = AddrSet {
                        name: None,
                        ranges: addr_ranges(&vals, family, line)?,
                    };
                    let t = match dir {
                        "saddr" => Test::Src(set),
                        "daddr" => Test::Dst(set),
                        other => return err(line, format!("unknown address field `{other}`")),
                    };
                    if neg {
                        // `ip saddr != X` matches only IPv4 packets.
                        conds.push(cond(Test::Family(family), false));
                    }
                    conds.push(cond(t, neg));
                }
                "tcp" | "udp" | "sctp" => {
                    let proto = proto_number(w, line)?;
                    let field = c.next_word()?;
                    let neg = c.negation();
                    let vals = c.values()?;
                    let vals = self.expand(vals, "inet_service", line)?;
                    let set = Some(PortSet {
                        name: None,
                        ranges: ports(&vals, line)?,
                    });
                    let mut x = l4(proto);
                    match field {
                        "sport" => x.sport = set,
                        "dport" => x.dport = set,
                        other => return err(line, format!("unknown port field `{other}`")),
                    }
                    if neg {
                        conds.push(cond(Test::L4(vec![l4(proto)]), false));
                    }
                    conds.push(cond(Test::L4(vec![x]), neg));
                }
                "icmp" | "icmpv6" => {
                    let proto = proto_number(w, line)?;
                    c.expect("type")?;
                    let neg = c.negation();
                    let types = c.values()?;
                    let mut specs = types
                        .iter()
                        .map(|t| {
                            let s = word(t).unwrap_or("");
                            Ok(IcmpSpec {
                                ty: parse_u(s, line, "ICMP type")?,
                                code: None,
                            })
                        })
                        .collect::<Result<Vec<_>, ReadError>>()?;
                    if c.peek_word() == Some(w)
                        && c.toks.get(c.pos + 1).and_then(word) == Some("code")
                    {
                        c.pos += 2;
                        let code = c.next_word()?;
                        let range = match code.split_once('-') {
                            Some((a, b)) => (
                                parse_u(a, line, "ICMP code")?,
                                parse_u(b, line, "ICMP code")?,
                            ),
                            None => {
                                let v = parse_u(code, line, "ICMP code")?;
                                (v, v)
                            }
                        };
                        if neg || specs.len() != 1 {
                            return err(line, "an ICMP code needs exactly one positive type");
                        }
                        specs[0].code = Some(range);
                    }
                    let mut x = l4(proto);
                    x.icmp = Some(specs);
                    if neg {
                        conds.push(cond(Test::L4(vec![l4(proto)]), false));
                    }
                    conds.push(cond(Test::L4(vec![x]), neg));
                }
                "ct" => {
                    c.expect("state")?;
                    let neg = c.negation();
                    let vals = c.values()?;
                    let states = vals
                        .iter()
                        .map(|t| {
                            let s = word(t).unwrap_or("");
                            CtState::ALL
                                .into_iter()
                                .find(|x| x.name() == s)
                                .ok_or(ReadError {
                                    line,
                                    message: format!("unknown conntrack state `{s}`"),
                                })
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    conds.push(cond(Test::State(states), neg));
                }
                "limit" => {
                    c.expect("rate")?;
                    let over = c.eat("over");
                    let rate = c.next_word()?;
                    let Some((n, unit)) = rate.split_once('/') else {
                        return err(line, format!("bad rate `{rate}`"));
                    };
                    let per_seconds = match unit {
                        "second" => 1,
                        "minute" => 60,
                        "hour" => 3600,
                        "day" => 86400,
                        other => return err(line, format!("unknown unit `{other}`")),
                    };
                    let burst = if c.eat("burst") {
                        let b = parse_u(c.next_word()?, line, "burst")?;
                        c.expect("packets")?;
                        Some(b)
                    } else {
                        None
                    };
                    let limit = RateLimit {
                        rate: parse_u(n, line, "rate")?,
                        per_seconds,
                        burst,
                    };
                    conds.push(cond(Test::Limit(limit), over));
                }
                "accept" => break Action::Accept,
                "drop" => break Action::Drop,
                "return" => break Action::Return,
                "reject" => {
                    if c.eat("with") {
                        match c.next_word()? {
                            "tcp" => c.expect("reset")?,
                            "icmp" | "icmpv6" | "icmpx" => {
                                c.expect("type")?;
                                c.next_word()?;
                            }
                            other => return err(line, format!("unknown reject kind `{other}`")),
                        }
                    }
                    break Action::Reject(None);
                }
                "jump" | "goto" => {
                    let target = c.next_word()?;
                    let Some(&id) = self.chain_ids.get(target) else {
                        return err(line, format!("unknown chain `{target}`"));
                    };
                    break if w == "jump" {
                        Action::Jump(id)
                    } else {
                        Action::Goto(id)
                    };
                }
                "log" => {
                    let mut spec = LogSpec::default();
                    loop {
                        if c.eat("prefix") {
                            match c.peek() {
                                Some(Tok::Str(s)) => {
                                    spec.prefix = Some(s.clone());
                                    c.pos += 1;
                                }
                                _ => return err(line, "a log prefix must be a string"),
                            }
                        } else if c.eat("level") {
                            c.next_word()?;
                        } else if c.eat("group") {
                            c.next_word()?;
                            spec.nflog = true;
                        } else {
                            break;
                        }
                    }
                    break Action::Log(spec);
                }
                other => return err(line, format!("unexpected `{other}`")),
            }
        };
        let mut comment = None;
        if c.eat("comment") {
            match c.peek() {
                Some(Tok::Str(s)) => {
                    comment = Some(s.clone());
                    c.pos += 1;
                }
                _ => return err(line, "a comment must be a string"),
            }
        }
        if c.pos != toks.len() {
            return err(line, "unexpected words after the statement");
        }
        Ok(Rule {
            matches: Match { conds },
            action,
            span: Span::default(),
            allow: vec![],
            comment,
        })
    }

    fn meta(&mut self, c: &mut Cur, conds: &mut Vec<Cond>) -> Result<(), ReadError> {
        let line = c.line;
        match c.next_word()? {
            "nfproto" => {
                let f = match c.next_word()? {
                    "ipv4" => Family::V4,
                    "ipv6" => Family::V6,
                    other => return err(line, format!("unknown nfproto `{other}`")),
                };
                conds.push(cond(Test::Family(f), false));
            }
            "l4proto" => {
                let neg = c.negation();
                let vals = c.values()?;
                let alts = vals
                    .iter()
                    .map(|t| Ok(l4(proto_number(word(t).unwrap_or(""), line)?)))
                    .collect::<Result<Vec<_>, ReadError>>()?;
                conds.push(cond(Test::L4(alts), neg));
            }
            key @ ("skuid" | "skgid") => {
                let gid = key == "skgid";
                let neg = c.negation();
                let vals = c.values()?;
                let mut ranges = Vec::new();
                for t in &vals {
                    ranges.push(match t {
                        Tok::Str(name) => {
                            let id = self.owner_id(gid, name);
                            OwnerRange {
                                lo: id,
                                hi: id,
                                host_name: Some(name.clone()),
                            }
                        }
                        Tok::Word(w) => {
                            let (lo, hi) = match w.split_once('-') {
                                Some((a, b)) => (parse_u(a, line, "id")?, parse_u(b, line, "id")?),
                                None => {
                                    let v = parse_u(w, line, "id")?;
                                    (v, v)
                                }
                            };
                            OwnerRange {
                                lo,
                                hi,
                                host_name: None,
                            }
                        }
                        _ => return err(line, "malformed owner"),
                    });
                }
                let t = if gid {
                    Test::Gid(ranges)
                } else {
                    Test::Uid(ranges)
                };
                conds.push(cond(t, neg));
            }
            other => return err(line, format!("unknown meta key `{other}`")),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRIPT: &str = "#!/usr/sbin/nft -f
# generated
table ip hwc {}
delete table ip hwc
table inet hwc {}
delete table inet hwc
table inet hwc {
\tset lan_v4 {
\t\ttype ipv4_addr
\t\tflags interval
\t\telements = { 10.0.0.0/8, 192.0.2.10-192.0.2.20 }
\t}

\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\tiifname \"lo\" accept comment \"p.hw:3\"
\t\tip saddr @lan_v4 tcp dport { 22, 80-81 } ct state new accept
\t\tip6 saddr != 2001:db8::/32 jump x
\t\tlimit rate 10/minute burst 5 packets log prefix \"IN \" level warn
\t}

\tchain x {
\t\tmeta skuid \"www-data\" return
\t\treject with icmpx type port-unreachable
\t}
}
";

    #[test]
    fn reads_what_hwc_writes() {
        let p = read(SCRIPT, "p").unwrap();
        assert_eq!(p.family, FamilySet::INET);
        assert_eq!(p.chains.len(), 2);
        let input = &p.chains[0];
        assert_eq!(input.kind, ChainKind::Base(Hook::Input));
        assert_eq!(input.policy, Some(Verdict::Drop));
        assert_eq!(input.rules.len(), 4);
        assert_eq!(input.rules[0].comment.as_deref(), Some("p.hw:3"));
        match &input.rules[1].matches.conds[0].test {
            Test::Src(s) => assert_eq!(s.ranges.len(), 2),
            t => panic!("{t:?}"),
        }
        // `ip6 saddr !=` needs an IPv6 packet.
        let conds = &input.rules[2].matches.conds;
        assert_eq!(conds[0].test, Test::Family(Family::V6));
        assert!(conds[1].negated);
        assert_eq!(input.rules[2].action, Action::Jump(ChainId(1)));
        assert!(matches!(input.rules[3].action, Action::Log(_)));
        assert_eq!(p.chains[1].rules[1].action, Action::Reject(None));
    }

    #[test]
    fn anything_else_is_an_error_with_its_line() {
        let bad = SCRIPT.replace("ct state new", "ct mark 5");
        let e = read(&bad, "p").unwrap_err();
        assert_eq!(e.line, 17);
        assert!(read(&SCRIPT.replace("@lan_v4", "@nope"), "p").is_err());
        assert!(read(&SCRIPT.replace("jump x", "jump y"), "p").is_err());
        assert!(read("table inet hwc {\n", "p").is_err());
        assert!(read("", "p").is_err());
    }
}
