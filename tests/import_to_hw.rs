//! The `.hw` text `hwc import` writes: for every corpus dump it is
//! well-formed by the rules of the `.hw` syntax (checked here line by line),
//! every name it uses is defined, and every rule it leaves out is reported.

use hwc::import::{self, ImportOptions};
use hwc::ir::{self, Action, ChainKind, Cond, Policy, Rule, Test};
use hwc::source::{FileId, MemoryLoader, SourceMap};
use std::collections::HashSet;
use std::path::PathBuf;

const ACTIONS: &[&str] = &["accept", "drop", "reject", "log", "jump", "goto", "return"];
const MATCH_WORDS: &[&str] = &[
    "tcp", "udp", "sctp", "icmp", "icmpv6", "proto", "sport", "dport", "from", "to", "iface",
    "oface", "state", "user", "group", "limit", "comment", "not",
];

fn corpus() -> Vec<(String, String)> {
    let dir = std::env::var_os("HWC_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/corpus/real"));
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!(
            "!!! SKIPPED: no corpus at {} (set HWC_CORPUS)",
            dir.display()
        );
        return Vec::new();
    };
    let mut files: Vec<(String, String)> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with("tables-save"))
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).expect("readable"))
        })
        .collect();
    files.sort();
    files
}

fn is_ident(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

/// Words of a line: quoted strings (escapes checked) are one word, commas
/// are separate words, `#` starts a comment.
fn words(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '#' if cur.is_empty() => break,
            '"' if cur.is_empty() => {
                let mut s = String::from('"');
                loop {
                    match chars.next() {
                        Some('\\') => match chars.next() {
                            Some(e @ ('"' | '\\')) => s.push(e),
                            other => return Err(format!("bad escape {other:?} in `{line}`")),
                        },
                        Some('"') => break,
                        Some(c) => s.push(c),
                        None => return Err(format!("unterminated string in `{line}`")),
                    }
                }
                out.push(s);
            }
            ' ' | ',' => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                if c == ',' {
                    out.push(",".to_string());
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

fn is_addr(s: &str) -> bool {
    let one = |a: &str| {
        let (ip, len) = a.split_once('/').unwrap_or((a, "32"));
        ip.parse::<std::net::IpAddr>().is_ok() && len.parse::<u8>().is_ok()
    };
    match s.split_once('-') {
        Some((a, b)) => one(a) && one(b),
        None => one(s),
    }
}

fn is_port(s: &str) -> bool {
    let p = |x: &str| x.parse::<u16>().is_ok();
    match s.split_once('-') {
        Some((a, b)) => p(a) && p(b),
        None => p(s),
    }
}

/// Checks the `.hw` text; returns the first problem.
fn plausible(hw: &str) -> Result<(), String> {
    let mut chains = HashSet::new();
    let mut addr_names = HashSet::new();
    let mut port_names = HashSet::new();
    for line in hw.lines() {
        let w = words(line)?;
        match w.as_slice() {
            [kw, name, ..] if kw == "chain" && !chains.insert(name.clone()) => {
                return Err(format!("chain `{name}` twice"));
            }
            [kw, name, eq, ..] if (kw == "host" || kw == "net") && eq == "=" => {
                addr_names.insert(name.clone());
            }
            [kw, name, eq, ..] if kw == "list" && eq == "=" => {
                port_names.insert(name.clone());
            }
            _ => {}
        }
    }
    let mut depth = 0;
    let mut in_policy = false;
    for line in hw.lines() {
        let w = words(line)?;
        let Some(first) = w.first() else { continue };
        let err = |m: &str| Err(format!("{m}: `{line}`"));
        if first == "}" {
            if depth != 1 || w.len() != 1 {
                return err("unbalanced `}`");
            }
            depth = 0;
            in_policy = false;
            continue;
        }
        if depth == 0 {
            match first.as_str() {
                "policy" => {
                    if !(w.len() == 3 && is_ident(&w[1]) && w[2] == "{") {
                        return err("bad policy header");
                    }
                    depth = 1;
                    in_policy = true;
                }
                "host" | "net" | "list" => {
                    if !is_ident(&w[1]) || w[2] != "=" {
                        return err("bad definition");
                    }
                    for v in w[3..].iter().filter(|v| *v != ",") {
                        let ok = if first == "list" {
                            is_port(v)
                        } else {
                            is_addr(v)
                        };
                        if !ok {
                            return err("bad value in a definition");
                        }
                    }
                }
                "chain" => {
                    let ok = match &w[1..] {
                        [name, b] if b == "{" || b == "{}" => is_ident(name),
                        [name, p, v, b] if p == "policy" && (b == "{" || b == "{}") => {
                            is_ident(name) && (v == "accept" || v == "drop")
                        }
                        _ => false,
                    };
                    if !ok {
                        return err("bad chain header");
                    }
                    if w.last().is_some_and(|b| b == "{") {
                        depth = 1;
                    }
                }
                _ => return err("unexpected top-level line"),
            }
            continue;
        }
        if in_policy {
            if !(w.len() == 2 && w[0] == "family" && ["ip", "ip6", "inet"].contains(&w[1].as_str()))
            {
                return err("bad policy setting");
            }
            continue;
        }
        // A rule.
        if !ACTIONS.contains(&first.as_str()) {
            return err("a rule must start with an action");
        }
        let mut i = 1;
        if first == "jump" || first == "goto" {
            if !w.get(1).is_some_and(|c| chains.contains(c)) {
                return err("jump to an unknown chain");
            }
            i = 2;
        }
        // What the next list elements are.
        #[derive(PartialEq)]
        enum Ctx {
            None,
            Addrs,
            Ports,
            Other,
        }
        let mut ctx = Ctx::None;
        while i < w.len() {
            let word = &w[i];
            i += 1;
            if word == "," {
                if ctx == Ctx::None {
                    return err("stray comma");
                }
                continue;
            }
            if word.starts_with('"') {
                continue;
            }
            if MATCH_WORDS.contains(&word.as_str()) {
                ctx = match word.as_str() {
                    "from" | "to" => Ctx::Addrs,
                    "tcp" | "udp" | "sctp" | "sport" | "dport" => Ctx::Ports,
                    "not" => Ctx::None,
                    _ => Ctx::Other,
                };
                continue;
            }
            let ok = match ctx {
                Ctx::Addrs => is_addr(word) || addr_names.contains(word),
                Ctx::Ports => is_port(word) || port_names.contains(word),
                Ctx::Other => {
                    is_ident(word)
                        || is_ident(&word.trim_end_matches('+').replace('.', "_"))
                        || word.parse::<u32>().is_ok()
                        || word
                            .split_once('/')
                            .is_some_and(|(a, _)| a.parse::<u32>().is_ok())
                        || word
                            .split_once('-')
                            .is_some_and(|(a, _)| a.parse::<u32>().is_ok())
                        || word.ends_with('+')
                }
                Ctx::None => {
                    // Words right after the action: a reject reason, a log
                    // option.
                    is_ident(word) || word.parse::<u8>().is_ok()
                }
            };
            if !ok {
                return err(&format!("unexpected `{word}`"));
            }
        }
    }
    if depth != 0 {
        return Err("unclosed block at the end".to_string());
    }
    Ok(())
}

#[test]
fn corpus_dumps_become_plausible_hw() {
    for (name, text) in corpus() {
        let options = ImportOptions {
            name: Some(name.split('.').next().unwrap_or("x").to_string()),
            ..ImportOptions::default()
        };
        let (policy, _) = import::read_dump_with(FileId(0), &text, &options);
        let policy = policy.expect("reads");
        let (hw, diags) = import::to_hw(&policy, &text);
        if let Err(e) = plausible(&hw) {
            panic!("{name}: {e}");
        }
        let (ast, errors) = hwc::syntax::parse(FileId(0), &hw);
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        assert_eq!(ast.items.len(), hw_items(&hw), "{name}");
        // Every rule is either written or reported, at its own line.
        let rules: usize = policy.chains.iter().map(|c| c.rules.len()).sum();
        let commented = hw
            .lines()
            .filter(|l| l.trim_start().starts_with("# not importable:"))
            .count();
        let written = hw
            .lines()
            .filter(|l| {
                let t = l.trim_start();
                l.starts_with("  ") && ACTIONS.iter().any(|a| t.split(' ').next() == Some(a))
            })
            .count();
        assert_eq!(commented, diags.len(), "{name}");
        assert_eq!(commented + written, rules, "{name}");
        for d in &diags {
            let line = &text[d.primary_span().range()];
            assert!(
                hw.contains(&format!("# not importable: {line}")),
                "{name}: {line}"
            );
        }
    }
}

/// Top-level items of the text: the policy, definitions, chains.
fn hw_items(hw: &str) -> usize {
    hw.lines()
        .filter(|l| {
            ["policy ", "host ", "net ", "list ", "chain "]
                .iter()
                .any(|k| l.starts_with(k))
        })
        .count()
}

#[test]
fn the_checker_rejects_broken_text() {
    assert!(plausible("chain input policy drop {\n  accept tcp 22\n}\n").is_ok());
    assert!(plausible("chain input {\n  frobnicate\n}\n").is_err());
    assert!(plausible("chain input {\n  accept tcp 22\n").is_err());
    assert!(plausible("chain input {\n  jump nowhere\n}\n").is_err());
    assert!(plausible("chain input {\n  accept from mystery\n}\n").is_err());
    assert!(plausible("chain input {\n  accept comment \"x\n}\n").is_err());
}

/// Repeated addresses and port lists get names; comments stay.
#[test]
fn names_and_comments() {
    let dump = r#"*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:input - [0:0]
-A INPUT -s 192.0.2.10/32 -p tcp -m multiport --dports 80,443 -j ACCEPT
-A INPUT -s 192.0.2.10/32 -p udp -m udp --dport 53 -m comment --comment "dns \"resolver\"" -j ACCEPT
-A INPUT -s 198.51.100.0/24 -p tcp -m multiport --dports 80,443 -j input
-A INPUT -s 198.51.100.0/24 -p tcp -m tcp ! --dport 22 -j REJECT --reject-with tcp-reset
-A FORWARD -i eth0.5 ! -o lo -m limit --limit 10/min -j LOG --log-prefix "in: " --log-level 4
-A input -m iprange --src-range 192.0.2.1-192.0.2.9 -j DROP
-A input -p tcp -m multiport --ports 22 -j DROP
-A input -j MARK --set-mark 1
-A OUTPUT -m owner ! --uid-owner 0 -m owner --gid-owner www-data -m state --state NEW -j DROP
-A OUTPUT -p icmp -m icmp --icmp-type 3/4 -j ACCEPT
-A OUTPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT
-A OUTPUT -p 47 -j ACCEPT
-A OUTPUT -o eth0:1 -j DROP
-A OUTPUT -p udp -m udp --dport 53 -j RETURN
COMMIT
"#;
    let options = ImportOptions {
        name: Some("web".to_string()),
        ..ImportOptions::default()
    };
    let (policy, diags) = import::read_dump_with(FileId(0), dump, &options);
    assert!(diags.is_empty(), "{diags:?}");
    let (hw, diags) = import::to_hw(&policy.expect("reads"), dump);
    plausible(&hw).expect("plausible");
    let (_, errors) = hwc::syntax::parse(FileId(0), &hw);
    assert!(errors.is_empty(), "{errors:#?}");
    let dump_policy = import::read_dump_with(FileId(0), dump, &options)
        .0
        .expect("reads");
    let path = PathBuf::from("web.hw");
    let loader = MemoryLoader::default().with(path.clone(), hw.clone());
    let (policy, sema_diags) = hwc::sema::load(&path, &loader, &mut SourceMap::new());
    assert!(!sema_diags.iter().any(|d| d.is_error()), "{sema_diags:#?}");
    compare(
        "names_and_comments",
        &dump_policy,
        &policy.expect("loads"),
        dump,
        &hw,
    );
    let shown: Vec<String> = diags
        .iter()
        .map(|d| format!("{} {} {}", d.severity.name(), d.code, d.message))
        .collect();
    insta::assert_snapshot!(format!("{hw}---- diagnostics\n{}", shown.join("\n")));
}

/// The `.hw` text of every corpus dump loads in `sema` without errors, and
/// the policy it gives has the dump's chains and, for every rule that was
/// written, the same matches and action (spans and names aside).
#[test]
fn corpus_hw_loads_in_sema() {
    for (name, text) in corpus() {
        let stem = name.split('.').next().unwrap_or("x").to_string();
        let options = ImportOptions {
            name: Some(stem.clone()),
            ..ImportOptions::default()
        };
        let (dump_policy, _) = import::read_dump_with(FileId(0), &text, &options);
        let dump_policy = dump_policy.expect("reads");
        let (hw, _) = import::to_hw(&dump_policy, &text);
        let path = PathBuf::from(format!("{stem}.hw"));
        let loader = MemoryLoader::default().with(path.clone(), hw.clone());
        let mut sources = SourceMap::new();
        let (policy, diags) = hwc::sema::load(&path, &loader, &mut sources);
        let errors: Vec<String> = diags
            .iter()
            .filter(|d| d.is_error())
            .map(|d| {
                let s = d.primary_span();
                let (line, _) = sources.get(s.file).line_col(s.start);
                format!(
                    "{} at line {line} `{}`: {}",
                    d.code,
                    sources.get(s.file).line_text(line),
                    d.message
                )
            })
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        let policy = policy.expect("a policy");
        compare(&name, &dump_policy, &policy, &text, &hw);
    }
}

/// A rule without spans and set names, to compare a dump's rule with the
/// same rule read back from `.hw`.
fn normal(rule: &Rule) -> (Vec<(bool, String)>, String, Option<String>) {
    let mut conds: Vec<(bool, String)> = rule
        .matches
        .conds
        .iter()
        .map(|c: &Cond| {
            let mut test = c.test.clone();
            match &mut test {
                Test::Src(s) | Test::Dst(s) => {
                    s.name = None;
                    s.ranges.sort();
                }
                Test::L4(alts) => {
                    for a in alts {
                        a.service = None;
                        for p in [&mut a.sport, &mut a.dport].into_iter().flatten() {
                            p.name = None;
                        }
                    }
                }
                _ => {}
            }
            let owner = if c.negated && matches!(test, Test::Uid(_) | Test::Gid(_)) {
                format!("{:?}", c.owner_negation)
            } else {
                String::new()
            };
            (c.negated, format!("{test:?}{owner}"))
        })
        .collect();
    conds.sort();
    let action = match &rule.action {
        // Chains keep their order, so their indices compare.
        Action::Jump(id) => format!("jump {}", id.0),
        Action::Goto(id) => format!("goto {}", id.0),
        a => format!("{a:?}"),
    };
    (conds, action, rule.comment.clone())
}

fn compare(name: &str, dump: &Policy, hw: &Policy, dump_text: &str, hw_text: &str) {
    assert_eq!(dump.family, hw.family, "{name}");
    assert_eq!(dump.chains.len(), hw.chains.len(), "{name}: chain count");
    for (d, h) in dump.chains.iter().zip(&hw.chains) {
        assert_eq!(d.kind, h.kind, "{name}: chain {}", d.name);
        if let ChainKind::Base(_) = d.kind {
            assert_eq!(d.policy, h.policy, "{name}: policy of {}", d.name);
        }
        // The rules of the dump that were written, in order.
        let written: Vec<&Rule> = d
            .rules
            .iter()
            .filter(|r| {
                let line = &dump_text[r.span.range()];
                !hw_text.contains(&format!("# not importable: {line}"))
            })
            .collect();
        assert_eq!(written.len(), h.rules.len(), "{name}: rules of {}", d.name);
        for (dr, hr) in written.iter().zip(&h.rules) {
            let mut want = normal(dr);
            if let (Action::Return, Some(v)) = (&dr.action, d.policy) {
                want.1 = format!(
                    "{:?}",
                    if v == ir::Verdict::Accept {
                        Action::Accept
                    } else {
                        Action::Drop
                    }
                );
            }
            let got = normal(hr);
            assert_eq!(want, got, "{name}: `{}`", &dump_text[dr.span.range()]);
        }
    }
}
