//! An imported policy as readable `.hw` text (`hwc import`).
//!
//! The text keeps the dump's chains and rule order. Addresses and port
//! lists that occur more than once get a name (`host`, `net`, `list`
//! definitions at the top); comments (`-m comment`) stay as `comment "…"`
//! matches. No `@allow` is added: the imported policy gets every finding.
//!
//! A rule `.hw` cannot express (an opaque match or target, `multiport
//! --ports`, a state-changing target such as MARK) is written as a `#`
//! comment holding its dump line, and reported as `not-importable` at that
//! line: leaving it out changes what the policy does, so the user must
//! decide.

use crate::diagnostics::{Diagnostic, Severity};
use crate::ir::{
    Action, AddrRange, AddrSet, ChainId, ChainKind, Cond, CtState, Family, Hook, IcmpSpec, Iface,
    LogLevel, OwnerRange, Policy, PortSet, RateLimit, RejectWith, Rule, Test, Verdict, L4,
};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Whether `s` cannot be a name in `.hw`: a keyword, or a built-in chain
/// name (a user chain called `input` in the dump needs another name).
fn reserved(s: &str) -> bool {
    crate::syntax::KEYWORDS.contains(&s) || matches!(s, "input" | "output" | "forward")
}

fn is_ident(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

/// `s` as a `.hw` identifier: other characters become `_`, a leading digit
/// or a reserved word gets a prefix.
fn sanitize(s: &str, prefix: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || !is_ident(&out) || reserved(&out) {
        out = format!("{prefix}{out}");
    }
    out
}

/// A string literal with `"` and `\` escaped.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn addr_text(family: Family, v: u128) -> String {
    match family {
        Family::V4 => Ipv4Addr::from(v as u32).to_string(),
        Family::V6 => Ipv6Addr::from(v).to_string(),
    }
}

fn range_text(r: &AddrRange) -> String {
    let bits = match r.family {
        Family::V4 => 32,
        Family::V6 => 128,
    };
    match r.as_prefix() {
        Some(p) if p == bits => addr_text(r.family, r.lo),
        Some(p) => format!("{}/{p}", addr_text(r.family, r.lo)),
        None => format!(
            "{}-{}",
            addr_text(r.family, r.lo),
            addr_text(r.family, r.hi)
        ),
    }
}

fn addrs_text(set: &AddrSet) -> String {
    let parts: Vec<String> = set.ranges.iter().map(range_text).collect();
    parts.join(", ")
}

fn port_text(&(lo, hi): &(u16, u16)) -> String {
    if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}-{hi}")
    }
}

fn ports_text(p: &PortSet) -> String {
    let parts: Vec<String> = p.ranges.iter().map(port_text).collect();
    parts.join(", ")
}

fn icmp_text(s: &IcmpSpec, v6: bool) -> String {
    match (s.ty, s.code, v6) {
        (8, None, false) | (128, None, true) => "echo-request".to_string(),
        (ty, None, _) => ty.to_string(),
        (ty, Some((lo, hi)), _) if lo == hi => format!("{ty}/{lo}"),
        (ty, Some(_), _) => ty.to_string(),
    }
}

fn state_name(s: CtState) -> &'static str {
    s.name()
}

fn level_name(l: LogLevel) -> &'static str {
    match l {
        LogLevel::Emerg => "emerg",
        LogLevel::Alert => "alert",
        LogLevel::Crit => "crit",
        LogLevel::Err => "err",
        LogLevel::Warning => "warning",
        LogLevel::Notice => "notice",
        LogLevel::Info => "info",
        LogLevel::Debug => "debug",
    }
}

fn reject_name(r: RejectWith) -> &'static str {
    match r {
        RejectWith::TcpReset => "tcp-reset",
        RejectWith::IcmpNetUnreachable => "icmp-net-unreachable",
        RejectWith::IcmpHostUnreachable => "icmp-host-unreachable",
        RejectWith::IcmpPortUnreachable => "icmp-port-unreachable",
        RejectWith::IcmpProtoUnreachable => "icmp-proto-unreachable",
        RejectWith::IcmpNetProhibited => "icmp-net-prohibited",
        RejectWith::IcmpHostProhibited => "icmp-host-prohibited",
        RejectWith::IcmpAdminProhibited => "icmp-admin-prohibited",
        RejectWith::Icmp6NoRoute => "icmpv6-no-route",
        RejectWith::Icmp6AdmProhibited => "icmpv6-admin-prohibited",
        RejectWith::Icmp6AddrUnreachable => "icmpv6-addr-unreachable",
        RejectWith::Icmp6PortUnreachable => "icmpv6-port-unreachable",
    }
}

fn rate_text(l: &RateLimit) -> String {
    let unit = match l.per_seconds {
        1 => "second",
        60 => "minute",
        3600 => "hour",
        _ => "day",
    };
    match l.burst {
        Some(b) => format!("limit {}/{unit} burst {b}", l.rate),
        None => format!("limit {}/{unit}", l.rate),
    }
}

/// A bare interface word (`eth0`, `eth0.100`, `eth+`) when the grammar
/// reads it as one and it is not a keyword or a defined name; else a
/// quoted string.
fn iface_text(i: &Iface, names: &Names) -> String {
    let word = i.to_string();
    let mut b = i.name.bytes();
    let bare = matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'));
    if bare && !crate::syntax::KEYWORDS.contains(&i.name.as_str()) && !names.taken.contains(&i.name)
    {
        word
    } else {
        quote(&word)
    }
}

fn owner_text(r: &OwnerRange, kw: &str) -> String {
    match &r.host_name {
        Some(name) => quote(name),
        None if r.lo == r.hi => format!("{kw} {}", r.lo),
        None => format!("{kw} {}-{}", r.lo, r.hi),
    }
}

/// Why a rule has no `.hw` form.
fn not_importable(rule: &Rule) -> Option<String> {
    for c in &rule.matches.conds {
        match &c.test {
            Test::Opaque(text) => {
                return Some(format!("hwc has no `.hw` form for the match `{text}`"))
            }
            Test::AnyPort(_) => {
                return Some(
                    "`.hw` has no match for \"source or destination port\" (`multiport --ports`)"
                        .to_string(),
                )
            }
            Test::Family(_) => return Some("a family test has no `.hw` form".to_string()),
            Test::Iif(list) | Test::Oif(list) => {
                // The kernel never names an interface so; `.hw` refuses it.
                if let Some(i) = list
                    .iter()
                    .find(|i| i.name.contains(':') || i.name == "." || i.name == "..")
                {
                    return Some(format!("`{i}` is not a valid interface name in `.hw`"));
                }
            }
            Test::L4(alts) if alts.len() != 1 => {
                return Some("a union of protocols has no `.hw` form on one rule".to_string())
            }
            Test::L4(alts) if c.negated => {
                let l4 = &alts[0];
                let fields = [l4.sport.is_some(), l4.dport.is_some(), l4.icmp.is_some()];
                if fields.iter().filter(|&&f| f).count() > 1 {
                    return Some(
                        "a negated match on several port fields has no `.hw` form".to_string(),
                    );
                }
            }
            _ => {}
        }
    }
    match &rule.action {
        Action::Continue(t) if t.is_empty() => {
            Some("a rule without a target only counts packets".to_string())
        }
        Action::Continue(t) => Some(format!(
            "the target `{}` changes packet state, which `.hw` cannot say",
            t.trim_start_matches("-j ").trim_start_matches("--jump ")
        )),
        Action::Opaque(t) => Some(format!(
            "hwc does not know the verdict of the target `{}`",
            t.trim_start_matches("-j ").trim_start_matches("--jump ")
        )),
        _ => None,
    }
}

/// The hooks whose packets reach each chain through the rules that will
/// be written (`Hook` order: input, output, forward).
fn hooks_reaching(policy: &Policy, verdicts: &[Vec<Option<String>>]) -> Vec<[bool; 3]> {
    let mut reach = vec![[false; 3]; policy.chains.len()];
    for (h, hook) in Hook::ALL.iter().enumerate() {
        let Some(base) = policy.base_chain(*hook) else {
            continue;
        };
        let mut stack = vec![base.0 as usize];
        while let Some(c) = stack.pop() {
            if reach[c][h] {
                continue;
            }
            reach[c][h] = true;
            for (r, rule) in policy.chains[c].rules.iter().enumerate() {
                if let (Action::Jump(id) | Action::Goto(id), None) = (&rule.action, &verdicts[c][r])
                {
                    stack.push(id.0 as usize);
                }
            }
        }
    }
    reach
}

/// Marks the rules whose interface or owner matches `.hw` does not allow
/// where they run: `iface` where output packets arrive, `oface` where input
/// packets arrive, `user`/`group` outside output. iptables accepts `-o`
/// in a user chain that INPUT reaches (there it never matches), hwc does
/// not.
fn check_sites(policy: &Policy, verdicts: &mut [Vec<Option<String>>]) {
    let reach = hooks_reaching(policy, verdicts);
    for (c, chain) in policy.chains.iter().enumerate() {
        let [input, output, forward] = reach[c];
        for (r, rule) in chain.rules.iter().enumerate() {
            if verdicts[c][r].is_some() {
                continue;
            }
            let problem = rule.matches.conds.iter().find_map(|cond| match cond.test {
                Test::Iif(_) if output => Some(("iface", "output")),
                Test::Oif(_) if input => Some(("oface", "input")),
                Test::Uid(_) | Test::Gid(_) if input || forward => {
                    Some(("user", if input { "input" } else { "forward" }))
                }
                _ => None,
            });
            if let Some((kw, hook)) = problem {
                verdicts[c][r] = Some(format!(
                    "`{kw}` cannot be matched in chain `{}`, which {hook} packets reach (iptables allows it there; it never matches them)",
                    chain.name
                ));
            }
        }
    }
}

/// Named address and port sets.
#[derive(Default)]
struct Names {
    addrs: HashMap<String, String>,
    ports: HashMap<String, String>,
    /// Definitions in order of first use: (keyword, name, values).
    defs: Vec<(&'static str, String, String)>,
    taken: HashSet<String>,
}

impl Names {
    fn fresh(&mut self, base: String) -> String {
        let mut name = base.clone();
        let mut k = 2;
        while !self.taken.insert(name.clone()) {
            name = format!("{base}_{k}");
            k += 1;
        }
        name
    }
}

fn addr_def_name(set: &AddrSet) -> (&'static str, String) {
    let all_hosts = set.ranges.iter().all(|r| r.lo == r.hi);
    let first = &set.ranges[0];
    let kw = if all_hosts { "host" } else { "net" };
    let mut base = range_text(first).replace(['.', ':', '/', '-'], "_");
    while base.contains("__") {
        base = base.replace("__", "_");
    }
    let base = base.trim_matches('_').to_string();
    let mut name = format!("{}_{base}", if all_hosts { "h" } else { "n" });
    if set.ranges.len() > 1 {
        name.push_str(&format!("_and_{}_more", set.ranges.len() - 1));
    }
    (kw, name)
}

fn port_def_name(p: &PortSet) -> String {
    let shown: Vec<String> = p
        .ranges
        .iter()
        .take(3)
        .map(|r| port_text(r).replace('-', "_"))
        .collect();
    let mut name = format!("ports_{}", shown.join("_"));
    if p.ranges.len() > 3 {
        name.push_str(&format!("_and_{}_more", p.ranges.len() - 3));
    }
    name
}

/// Writes `policy` (read from `dump`) as `.hw`. Returns the text and a
/// `not-importable` warning for every rule it had to comment out.
pub fn to_hw(policy: &Policy, dump: &str) -> (String, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let family = match policy.origin {
        crate::ir::Origin::Dump(f) => Some(f),
        crate::ir::Origin::Policy => None,
    };
    let v6 = family == Some(Family::V6) || (!policy.family.v4 && policy.family.v6);

    // Chain names.
    let mut names = Names::default();
    let mut chain_names: Vec<String> = Vec::with_capacity(policy.chains.len());
    for c in &policy.chains {
        let name = match c.kind {
            ChainKind::Base(h) => h.name().to_string(),
            ChainKind::User => sanitize(&c.name, "chain_"),
        };
        let name = names.fresh(name);
        chain_names.push(name);
    }

    // Which rules are importable, and how often each address and port
    // list occurs in them.
    let mut verdicts: Vec<Vec<Option<String>>> = policy
        .chains
        .iter()
        .map(|c| c.rules.iter().map(not_importable).collect())
        .collect();
    check_sites(policy, &mut verdicts);
    let mut addr_count: HashMap<String, usize> = HashMap::new();
    let mut port_count: HashMap<String, usize> = HashMap::new();
    let mut first_seen: Vec<(bool, String, Option<&AddrSet>, Option<&PortSet>)> = Vec::new();
    for (c, chain) in policy.chains.iter().enumerate() {
        for (r, rule) in chain.rules.iter().enumerate() {
            if verdicts[c][r].is_some() {
                continue;
            }
            for cond in &rule.matches.conds {
                match &cond.test {
                    Test::Src(s) | Test::Dst(s) => {
                        let key = addrs_text(s);
                        let n = addr_count.entry(key.clone()).or_insert(0);
                        *n += 1;
                        if *n == 1 {
                            first_seen.push((true, key, Some(s), None));
                        }
                    }
                    Test::L4(alts) => {
                        for l4 in alts {
                            for p in [&l4.sport, &l4.dport].into_iter().flatten() {
                                if p.ranges.len() < 2 {
                                    continue;
                                }
                                let key = ports_text(p);
                                let n = port_count.entry(key.clone()).or_insert(0);
                                *n += 1;
                                if *n == 1 {
                                    first_seen.push((false, key, None, Some(p)));
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    for (is_addr, key, aset, pset) in first_seen {
        if is_addr {
            if addr_count[&key] < 2 {
                continue;
            }
            let Some(set) = aset else { continue };
            let (kw, base) = addr_def_name(set);
            let name = names.fresh(base);
            names.defs.push((kw, name.clone(), key.clone()));
            names.addrs.insert(key, name);
        } else {
            if port_count[&key] < 2 {
                continue;
            }
            let Some(p) = pset else { continue };
            let name = names.fresh(port_def_name(p));
            names.defs.push(("list", name.clone(), key.clone()));
            names.ports.insert(key, name);
        }
    }

    let mut out = String::new();
    let skipped: usize = verdicts.iter().flatten().filter(|v| v.is_some()).count();
    let source = match family {
        Some(Family::V4) => "an iptables-save dump (IPv4)",
        Some(Family::V6) => "an ip6tables-save dump (IPv6)",
        None => "a policy",
    };
    let _ = writeln!(out, "# Imported by hwc from {source}: the filter table.");
    if skipped > 0 {
        let _ = writeln!(
            out,
            "# {skipped} rule{} could not be expressed in .hw and {} commented out below;",
            if skipped == 1 { "" } else { "s" },
            if skipped == 1 { "is" } else { "are" }
        );
        let _ = writeln!(
            out,
            "# see the `not-importable` diagnostics of `hwc import`."
        );
    }
    let policy_name = sanitize(&policy.name, "policy_");
    let _ = writeln!(out, "policy {policy_name} {{");
    let _ = writeln!(out, "  family {}", policy.family.keyword());
    let _ = writeln!(out, "}}");

    if !names.defs.is_empty() {
        out.push('\n');
        let width = names.defs.iter().map(|d| d.1.len()).max().unwrap_or(0);
        for (kw, name, values) in &names.defs {
            let _ = writeln!(out, "{kw:<4} {name:<width$} = {values}");
        }
    }

    for (c, chain) in policy.chains.iter().enumerate() {
        out.push('\n');
        if chain.kind == ChainKind::User && chain_names[c] != chain.name {
            let _ = writeln!(out, "# chain {} in the dump", quote(&chain.name));
        }
        let header = match (chain.kind, chain.policy) {
            (ChainKind::Base(_), Some(v)) => {
                format!("chain {} policy {}", chain_names[c], verdict_name(v))
            }
            _ => format!("chain {}", chain_names[c]),
        };
        if chain.rules.is_empty() {
            let _ = writeln!(out, "{header} {{}}");
            continue;
        }
        let _ = writeln!(out, "{header} {{");
        for (r, rule) in chain.rules.iter().enumerate() {
            if let Some(reason) = &verdicts[c][r] {
                let line = dump
                    .get(rule.span.range())
                    .unwrap_or("")
                    .replace(['\n', '\r'], " ");
                let _ = writeln!(out, "  # not importable: {line}");
                let d = Diagnostic::new(
                    "not-importable",
                    format!("rule left out of the `.hw` policy: {reason}"),
                    rule.span,
                )
                .primary_label("this rule is a comment in the output");
                let d = if let Action::Continue(_) = rule.action {
                    // The target decides nothing: without the rule the
                    // filter accepts and drops the same packets.
                    d.with_severity(Severity::Info)
                        .note("the rule decides no verdict, so leaving it out does not change what the policy accepts or drops")
                        .help("nothing to do for filtering; keep the target outside hwc if you need it")
                } else {
                    d.note("leaving the rule out changes what the imported policy accepts or drops")
                        .help("write an equivalent `.hw` rule by hand, or keep this part of the firewall outside hwc")
                };
                diags.push(d);
                continue;
            }
            let mut text = rule_text(rule, &chain_names, &names, v6);
            if let (Action::Return, ChainKind::Base(_), Some(v)) =
                (&rule.action, chain.kind, chain.policy)
            {
                // RETURN in a built-in chain applies the chain's policy;
                // `.hw` has `return` in user chains only.
                text = format!(
                    "{}{} # RETURN in the dump: the chain's policy",
                    verdict_name(v),
                    &text["return".len()..]
                );
            }
            let _ = writeln!(out, "  {text}");
        }
        let _ = writeln!(out, "}}");
    }
    (out, diags)
}

fn verdict_name(v: Verdict) -> &'static str {
    v.name()
}

fn action_text(a: &Action, chains: &[String]) -> String {
    let chain = |id: &ChainId| chains.get(id.0 as usize).cloned().unwrap_or_default();
    match a {
        Action::Accept => "accept".to_string(),
        Action::Drop => "drop".to_string(),
        Action::Reject(None) => "reject".to_string(),
        Action::Reject(Some(r)) => format!("reject {}", reject_name(*r)),
        Action::Log(spec) => {
            let mut s = "log".to_string();
            if let Some(p) = &spec.prefix {
                let _ = write!(s, " prefix {}", quote(p));
            }
            if let Some(l) = spec.level {
                let _ = write!(s, " level {}", level_name(l));
            }
            s
        }
        Action::Jump(id) => format!("jump {}", chain(id)),
        Action::Goto(id) => format!("goto {}", chain(id)),
        Action::Return => "return".to_string(),
        // `not_importable` keeps these rules out.
        Action::Continue(_) | Action::Opaque(_) => String::new(),
    }
}

fn rule_text(rule: &Rule, chains: &[String], names: &Names, v6: bool) -> String {
    let mut parts = vec![action_text(&rule.action, chains)];
    // Protocols of the rule's positive protocol matches: a negated port
    // match of the same protocol reads `not dport 22`.
    let positive: Vec<u8> = rule
        .matches
        .conds
        .iter()
        .filter(|c| !c.negated)
        .filter_map(|c| match &c.test {
            Test::L4(alts) if alts.len() == 1 => Some(alts[0].proto),
            _ => None,
        })
        .collect();
    for cond in &rule.matches.conds {
        parts.push(cond_text(cond, names, v6, &positive));
    }
    if let Some(c) = &rule.comment {
        parts.push(format!("comment {}", quote(c)));
    }
    if let Action::Log(spec) = &rule.action {
        if spec.nflog {
            parts.push("# NFLOG in the dump".to_string());
        }
    }
    parts.retain(|p| !p.is_empty());
    parts.join(" ")
}

fn addr_ref(set: &AddrSet, names: &Names) -> String {
    let key = addrs_text(set);
    names.addrs.get(&key).cloned().unwrap_or(key)
}

fn port_ref(p: &PortSet, names: &Names) -> String {
    let key = ports_text(p);
    names.ports.get(&key).cloned().unwrap_or(key)
}

fn proto_word(proto: u8, v6: bool) -> String {
    match proto {
        6 => "tcp".to_string(),
        17 => "udp".to_string(),
        132 => "sctp".to_string(),
        1 if !v6 => "icmp".to_string(),
        58 if v6 => "icmpv6".to_string(),
        n => format!("proto {n}"),
    }
}

/// `tcp 22`, `udp sport 53`, `icmp echo-request`.
fn l4_text(l4: &L4, names: &Names, v6: bool) -> String {
    let mut s = proto_word(l4.proto, v6);
    if let Some(d) = &l4.dport {
        let _ = write!(s, " {}", port_ref(d, names));
    }
    if let Some(icmp) = &l4.icmp {
        let types: Vec<String> = icmp.iter().map(|t| icmp_text(t, v6)).collect();
        let _ = write!(s, " {}", types.join(", "));
    }
    if let Some(sp) = &l4.sport {
        let _ = write!(s, " sport {}", port_ref(sp, names));
    }
    s
}

fn cond_text(cond: &Cond, names: &Names, v6: bool, positive: &[u8]) -> String {
    let not = if cond.negated { "not " } else { "" };
    let body = match &cond.test {
        Test::Iif(list) => format!("iface {}", join(list.iter().map(|i| iface_text(i, names)))),
        Test::Oif(list) => format!("oface {}", join(list.iter().map(|i| iface_text(i, names)))),
        Test::Src(s) => format!("from {}", addr_ref(s, names)),
        Test::Dst(s) => format!("to {}", addr_ref(s, names)),
        Test::L4(alts) => {
            let l4 = &alts[0];
            let has_field = l4.sport.is_some() || l4.dport.is_some() || l4.icmp.is_some();
            let is_ports = matches!(l4.proto, 6 | 17 | 132);
            if cond.negated && has_field && is_ports && positive.contains(&l4.proto) {
                match (&l4.sport, &l4.dport) {
                    (None, Some(d)) => format!("dport {}", port_ref(d, names)),
                    (Some(sp), None) => format!("sport {}", port_ref(sp, names)),
                    _ => l4_text(l4, names, v6),
                }
            } else {
                l4_text(l4, names, v6)
            }
        }
        Test::State(states) => format!("state {}", join(states.iter().map(|s| state_name(*s)))),
        Test::Uid(list) => format!("user {}", join(list.iter().map(|r| owner_text(r, "uid")))),
        Test::Gid(list) => format!("group {}", join(list.iter().map(|r| owner_text(r, "gid")))),
        Test::Limit(l) => rate_text(l),
        // `not_importable` keeps rules with these out.
        Test::AnyPort(_) | Test::Opaque(_) | Test::Family(_) => String::new(),
    };
    format!("{not}{body}")
}

fn join<S: AsRef<str>>(items: impl Iterator<Item = S>) -> String {
    let v: Vec<String> = items.map(|s| s.as_ref().to_string()).collect();
    v.join(", ")
}
