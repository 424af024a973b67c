//! The formatter: snapshots of the canonical layout (every example, and
//! messy inputs), and property tests on random policies written in random
//! layouts: formatting is idempotent, keeps every comment, and gives the
//! same policy (the IR modulo spans, and the same errors).

use hwc::diagnostics::Diagnostic;
use hwc::ir;
use hwc::sema;
use hwc::source::{FileId, MemoryLoader, SourceMap, Span};
use hwc::syntax::fmt;
use proptest::prelude::*;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn format(text: &str) -> String {
    match fmt::format(FileId(0), text) {
        Ok(out) => out,
        Err(diags) => panic!("formatting failed:\n{diags:#?}\n--- input:\n{text}"),
    }
}

// ---------------------------------------------------------------- snapshots

#[test]
fn examples_in_canonical_layout() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "hw"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let out = format(&text);
        assert_eq!(format(&out), out, "{} is not idempotent", file.display());
        assert_same_policy(&text, &out);
        let name = format!("example_{}", file.file_stem().unwrap().to_string_lossy());
        insta::assert_snapshot!(name, out);
    }
}

/// Inputs written as carelessly as the grammar allows.
const MESSY: &[(&str, &str)] = &[
    (
        "one_line_blocks_and_semicolons",
        "policy p { family inet }\nhost a=192.0.2.1;host b =192.0.2.2 ; net n= 198.51.100.0/24\n\
         chain input policy drop { accept iface lo; accept state established,related;drop }\n\
         chain forward policy drop {  }\nchain output policy accept {\n\n\n}\n",
    ),
    (
        "comments_everywhere",
        "   # leading comment with trailing blanks   \n\n\n\npolicy p {   # the policy\n\
         family ip # v4 only\n}# closing\nservice web = tcp 80,   # plain http\n\
         \t# a comment inside the list\n\n      tcp 443 # tls\nchain input policy drop{\n\
         # first\naccept service web   # web\n      drop # rest\n\n\n   # last words\n}\n\n\n# the end   \n\n",
    ),
    (
        "annotations_strings_and_limits",
        "@allow( unused ) host spare = 192.0.2.9\n@allow(unused,\n  redundant)\n\
         list ports=80 , 443,8000-8080\nchain input policy drop {\n@allow(redundant)\n\
         accept tcp ports\n  @allow( redundant )   accept tcp 22 comment \"ssh; # not a comment\"\n\
         log prefix \"in  drop: \" level warn limit 10 / minute burst 5\n\
         reject tcp-reset tcp;accept icmp 3/4\n}\n",
    ),
    (
        "tabs_crlf_and_alignment",
        "host\tresolver   =  192.0.2.53 ,\t2001:db8::53\r\nuser  root = uid 0\r\n\r\n\
         chain output policy drop {\r\n\taccept   state new  user root      # root\r\n\
         \taccept service dns to resolver # dns\r\n\tdrop\r\n}\r\n\
         service dns = udp 53, tcp 53",
    ),
    (
        "egress_and_asserts",
        "user root = uid 0\nservice dns = udp 53\nchain output policy drop { accept service dns }\n\
         assert   allow output  service dns # ok\nassert deny output tcp 25\n\
         egress user not root only { service dns ; oface lo }\negress group gid 4 only {}\n",
    ),
];

#[test]
fn messy_inputs_in_canonical_layout() {
    for (name, text) in MESSY {
        let out = format(text);
        assert_eq!(format(&out), out, "{name} is not idempotent");
        assert_same_policy(text, &out);
        assert_eq!(fmt::comments(text), fmt::comments(&out), "{name}");
        insta::assert_snapshot!(format!("messy_{name}"), out);
    }
}

// ---------------------------------------------------------------- meaning

/// Loads a policy text through sema.
fn load(text: &str) -> (Option<ir::Policy>, Vec<Diagnostic>) {
    let path = Path::new("p.hw");
    let loader = MemoryLoader::default();
    let mut sources = SourceMap::new();
    sema::load_source(path, text, &loader, &mut sources)
}

/// Both texts load to the same policy (modulo spans) with the same
/// diagnostics (codes and messages).
#[track_caller]
fn assert_same_policy(before: &str, after: &str) {
    let (p1, d1) = load(before);
    let (p2, d2) = load(after);
    let words = |d: &[Diagnostic]| -> Vec<(String, String)> {
        d.iter()
            .map(|d| (d.code.to_string(), d.message.clone()))
            .collect()
    };
    assert_eq!(
        words(&d1),
        words(&d2),
        "different diagnostics\n--- before:\n{before}\n--- after:\n{after}"
    );
    assert_eq!(
        p1.map(erase_spans),
        p2.map(erase_spans),
        "different policies\n--- before:\n{before}\n--- after:\n{after}"
    );
}

/// The policy with every span reset (spans are where things are written,
/// which is what formatting changes).
fn erase_spans(mut p: ir::Policy) -> ir::Policy {
    let none = Span::default();
    let conds = |m: &mut ir::Match| m.conds.iter_mut().for_each(|c| c.span = none);
    p.span = none;
    for c in &mut p.chains {
        c.span = none;
        for r in &mut c.rules {
            r.span = none;
            conds(&mut r.matches);
        }
    }
    for a in &mut p.assertions {
        a.span = none;
        conds(&mut a.matches);
    }
    for e in &mut p.egress {
        e.span = none;
        e.selector.span = none;
        e.allowed.iter_mut().for_each(conds);
    }
    for d in &mut p.definitions {
        d.span = none;
    }
    p
}

// ---------------------------------------------------------------- random policies

/// A small deterministic generator (splitmix64): proptest picks the seed.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())].clone()
    }
}

/// A token of a generated statement.
#[derive(Clone)]
enum T {
    /// A word, number, address or string: never split, never joined.
    W(String),
    /// `=`, `(`, `)`, `/`: blanks around it are optional.
    P(&'static str),
    /// A list comma: the line may break after it.
    Comma,
}

fn w(s: &str) -> T {
    T::W(s.to_string())
}

/// A list of alternatives joined by commas.
fn list(items: Vec<Vec<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(T::Comma);
        }
        out.extend(item);
    }
    out
}

/// A statement inside a block, with its annotations.
struct Entry {
    allow: Vec<&'static str>,
    tokens: Vec<T>,
}

enum Item {
    Stmt(Vec<T>),
    /// A block: its header (without `{`) and its entries.
    Block(Vec<T>, Vec<Entry>),
}

/// A random policy, mostly valid for sema too: names are defined before
/// use, owner matches only in `output`, one address family per rule.
fn policy(g: &mut Gen) -> Vec<Item> {
    let mut items = Vec::new();
    if g.chance(50) {
        let fam = g.pick(&["ip", "inet"]);
        items.push(Item::Block(
            vec![w("policy"), w("p")],
            vec![Entry {
                allow: vec![],
                tokens: vec![w("family"), w(fam)],
            }],
        ));
    }
    let v4 = [
        "192.0.2.1",
        "198.51.100.0/24",
        "192.0.2.10-192.0.2.20",
        "203.0.113.7",
    ];
    let mut hosts: Vec<String> = Vec::new();
    for i in 0..g.below(3) {
        let mut vals: Vec<Vec<T>> = (0..1 + g.below(3)).map(|_| vec![w(g.pick(&v4))]).collect();
        if !hosts.is_empty() && g.chance(30) {
            vals.push(vec![T::W(g.pick(&hosts))]);
        }
        let name = format!("h{i}");
        let mut t = vec![w(g.pick(&["host", "net"])), T::W(name.clone()), T::P("=")];
        t.extend(list(vals));
        hosts.push(name);
        items.push(Item::Stmt(t));
    }
    let mut services: Vec<String> = Vec::new();
    for i in 0..g.below(3) {
        let mut vals = Vec::new();
        for _ in 0..1 + g.below(3) {
            vals.push(match g.below(4) {
                0 => {
                    let mut v = vec![w(g.pick(&["tcp", "udp"]))];
                    let ports: Vec<Vec<T>> = (0..1 + g.below(3))
                        .map(|_| vec![w(g.pick(&["22", "53", "80", "8000-8080"]))])
                        .collect();
                    v.extend(list(ports));
                    v
                }
                1 => vec![w("icmp"), w(g.pick(&["echo-request", "3/4", "8"]))],
                2 => vec![w("proto"), w(g.pick(&["gre", "47", "esp"]))],
                _ => match services.last() {
                    Some(s) => vec![T::W(s.clone())],
                    None => vec![w("udp"), w("123")],
                },
            });
        }
        let name = format!("s{i}");
        let mut t = vec![w("service"), T::W(name.clone()), T::P("=")];
        t.extend(list(vals));
        services.push(name);
        items.push(Item::Stmt(t));
    }
    let has_user = g.chance(60);
    if has_user {
        let vals = list(
            (0..1 + g.below(2))
                .map(|_| match g.below(3) {
                    0 => vec![w("uid"), w("0")],
                    1 => vec![w("uid"), w("1000-1999")],
                    _ => vec![w("\"www-data\"")],
                })
                .collect(),
        );
        let mut t = vec![w("user"), w("u"), T::P("=")];
        t.extend(vals);
        items.push(Item::Stmt(t));
    }
    if g.chance(40) {
        let mut t = vec![w("iface"), w("ifs"), T::P("=")];
        t.extend(list(vec![
            vec![w("eth0")],
            vec![w("\"wg0\"")],
            vec![w("eth+")],
        ]));
        items.push(Item::Stmt(t));
    }
    if g.chance(40) {
        let mut t = vec![w("list"), w("lp"), T::P("=")];
        t.extend(list(vec![
            vec![w("80")],
            vec![w("443")],
            vec![w("8000-8080")],
        ]));
        items.push(Item::Stmt(t));
    }
    let user_chain = g.chance(40);
    if user_chain {
        let rules = (0..g.below(3))
            .map(|_| rule(g, "uc", &hosts, &services, false))
            .chain(std::iter::once(Entry {
                allow: vec![],
                tokens: vec![w("return")],
            }))
            .collect();
        items.push(Item::Block(vec![w("chain"), w("uc")], rules));
    }
    let mut written: Vec<&str> = Vec::new();
    for chain in ["input", "output", "forward"] {
        if g.chance(25) {
            continue;
        }
        written.push(chain);
        let mut rules: Vec<Entry> = (0..g.below(5))
            .map(|_| rule(g, chain, &hosts, &services, has_user && chain == "output"))
            .collect();
        if user_chain && chain == "output" {
            rules.insert(
                0,
                Entry {
                    allow: vec![],
                    tokens: vec![w("jump"), w("uc")],
                },
            );
        }
        let mut head = vec![w("chain"), w(chain)];
        if g.chance(80) {
            head.extend([w("policy"), w(g.pick(&["accept", "drop"]))]);
        }
        items.push(Item::Block(head, rules));
    }
    for _ in 0..if written.is_empty() { 0 } else { g.below(3) } {
        let mut t = vec![
            w("assert"),
            w(g.pick(&["allow", "deny", "reachable"])),
            w(g.pick(&written)),
        ];
        t.extend(matches(g, &hosts, &services, false, "assert"));
        items.push(Item::Stmt(t));
    }
    if has_user && g.chance(40) {
        let mut head = vec![w("egress"), w("user")];
        if g.chance(50) {
            head.push(w("not"));
        }
        head.extend([w("u"), w("only")]);
        let entries = (0..g.below(3))
            .map(|_| {
                let mut m = matches(g, &hosts, &services, false, "output");
                if m.is_empty() {
                    m = vec![w("oface"), w("lo")];
                }
                Entry {
                    allow: vec![],
                    tokens: m,
                }
            })
            .collect();
        items.push(Item::Block(head, entries));
    }
    // Shuffle the definitions a little: the order of top-level items does
    // not matter to the formatter, and names may be used before they are
    // defined.
    if items.len() > 2 && g.chance(30) {
        let a = g.below(items.len());
        let b = g.below(items.len());
        items.swap(a, b);
    }
    items
}

fn rule(g: &mut Gen, chain: &str, hosts: &[String], services: &[String], owner: bool) -> Entry {
    let mut t = match g.below(7) {
        0 | 1 => vec![w("accept")],
        2 => vec![w("drop")],
        3 => vec![w("reject")],
        4 => {
            let mut t = vec![w("log")];
            if g.chance(60) {
                t.extend([
                    w("prefix"),
                    w(g.pick(&["\"in: \"", "\"a;b # c\"", "\"\\\"q\\\"\""])),
                ]);
            }
            if g.chance(50) {
                t.extend([w("level"), w(g.pick(&["warn", "info", "4"]))]);
            }
            t
        }
        5 => vec![w("accept")],
        _ => vec![w("drop")],
    };
    t.extend(matches(g, hosts, services, owner, chain));
    let allow = if g.chance(15) {
        vec!["redundant", "shadowed"][..1 + g.below(2)].to_vec()
    } else {
        vec![]
    };
    Entry { allow, tokens: t }
}

fn matches(g: &mut Gen, hosts: &[String], services: &[String], owner: bool, chain: &str) -> Vec<T> {
    let mut t = Vec::new();
    for _ in 0..g.below(4) {
        if g.chance(15) {
            t.push(w("not"));
        }
        match g.below(10) {
            0 => {
                t.push(w("tcp"));
                if g.chance(70) {
                    let ports: Vec<Vec<T>> = (0..1 + g.below(3))
                        .map(|_| vec![w(g.pick(&["22", "80", "1024-65535"]))])
                        .collect();
                    t.extend(list(ports));
                }
            }
            1 => t.extend([w("udp"), w("53")]),
            2 => {
                t.push(w("state"));
                let states: Vec<Vec<T>> = (0..1 + g.below(2))
                    .map(|_| vec![w(g.pick(&["new", "established", "related"]))])
                    .collect();
                t.extend(list(states));
            }
            3 => {
                t.push(w(g.pick(&["from", "to"])));
                let mut addrs: Vec<Vec<T>> = vec![vec![w(g.pick(&["192.0.2.1", "10.0.0.0/8"]))]];
                if !hosts.is_empty() && g.chance(60) {
                    addrs.push(vec![T::W(g.pick(hosts))]);
                }
                t.extend(list(addrs));
            }
            4 if !services.is_empty() => {
                t.push(w("service"));
                t.push(T::W(g.pick(services)));
            }
            5 if chain == "input" => t.extend([w("iface"), w(g.pick(&["lo", "eth+", "\"wg0\""]))]),
            5 if chain == "output" => t.extend([w("oface"), w(g.pick(&["lo", "eth0"]))]),
            6 if owner => t.extend([w("user"), w("u")]),
            7 => t.extend([
                w("limit"),
                w("10"),
                T::P("/"),
                w(g.pick(&["second", "minute"])),
                w("burst"),
                w("5"),
            ]),
            // One comment per rule, and `not comment` is an error.
            8 if !has_word(&t, "comment") && !ends_with_not(&t) => {
                t.extend([w("comment"), w(g.pick(&["\"x; y\"", "\"# hash\""]))]);
            }
            _ => t.extend([w("icmp"), w("echo-request")]),
        }
    }
    t
}

fn has_word(t: &[T], word: &str) -> bool {
    t.iter().any(|x| matches!(x, T::W(s) if s == word))
}

fn ends_with_not(t: &[T]) -> bool {
    matches!(t.last(), Some(T::W(s)) if s == "not")
}

/// Writes a generated policy in a random legal layout, with comments in
/// every place the grammar allows one. Returns the text and the comments
/// written (each unique).
fn write(g: &mut Gen, items: &[Item]) -> (String, Vec<String>) {
    let mut w = Writer {
        g,
        out: String::new(),
        comments: Vec::new(),
    };
    for (i, item) in items.iter().enumerate() {
        w.between_lines();
        match item {
            Item::Stmt(t) => {
                w.indent();
                w.tokens(t);
            }
            Item::Block(head, entries) => {
                w.indent();
                w.tokens(head);
                w.block(entries);
            }
        }
        // End of a top-level statement: a line break (maybe after a
        // comment) or, unless it is the last, a `;`.
        if i + 1 < items.len() && w.g.chance(15) {
            w.out.push_str(w.g.pick(&[";", " ;", "; "]));
        } else {
            w.end_of_line();
        }
    }
    if w.g.chance(50) {
        w.between_lines();
    }
    if w.g.chance(20) {
        // No final line break.
        while w.out.ends_with('\n') {
            w.out.pop();
        }
    }
    let comments = w.comments;
    (w.out, comments)
}

struct Writer<'g> {
    g: &'g mut Gen,
    out: String,
    comments: Vec<String>,
}

impl Writer<'_> {
    fn comment(&mut self) {
        let bodies = [
            "x",
            "a ; b",
            "{ not a block }",
            "\"q\"",
            "##",
            "",
            "é ☃",
            "trailing  ",
        ];
        let body = self.g.pick(&bodies);
        let text = format!("#c{} {body}", self.comments.len());
        self.comments.push(text.trim_end().to_string());
        self.out.push_str(&text);
    }

    fn blank(&mut self) -> &'static str {
        self.g.pick(&[" ", "  ", "\t", " \t "])
    }

    fn indent(&mut self) {
        let s = self.g.pick(&["", "", "  ", "\t", "    "]);
        self.out.push_str(s);
    }

    /// Blank lines and comment lines between two lines of code.
    fn between_lines(&mut self) {
        for _ in 0..self.g.below(3) {
            if self.g.chance(50) {
                self.indent();
                self.comment();
            } else if self.g.chance(30) {
                let b = self.blank();
                self.out.push_str(b);
            }
            self.line_break();
        }
    }

    fn line_break(&mut self) {
        self.out
            .push_str(if self.g.chance(10) { "\r\n" } else { "\n" });
    }

    /// Ends a line: maybe a trailing comment, then a line break.
    fn end_of_line(&mut self) {
        if self.g.chance(30) {
            let b = self.blank();
            self.out.push_str(b);
            self.comment();
        } else if self.g.chance(20) {
            let b = self.blank();
            self.out.push_str(b);
        }
        self.line_break();
    }

    fn tokens(&mut self, tokens: &[T]) {
        let mut prev: Option<&T> = None;
        for t in tokens {
            match (prev, t) {
                (None, _) => {}
                // Blanks around punctuation are optional.
                (Some(T::P(_) | T::Comma), _) | (_, T::P(_) | T::Comma) => {
                    if self.g.chance(50) {
                        let b = self.blank();
                        self.out.push_str(b);
                    }
                }
                _ => {
                    let b = self.blank();
                    self.out.push_str(b);
                }
            }
            match t {
                T::W(s) => self.out.push_str(s),
                T::P(p) => self.out.push_str(p),
                T::Comma => {
                    self.out.push(',');
                    // A list may go on on the next line, after comments
                    // and blank lines.
                    if self.g.chance(25) {
                        self.end_of_line();
                        self.between_lines();
                        self.indent();
                    }
                }
            }
            prev = Some(t);
        }
    }

    fn block(&mut self, entries: &[Entry]) {
        if self.g.chance(70) {
            let b = self.blank();
            self.out.push_str(b);
        }
        self.out.push('{');
        if entries.is_empty() {
            match self.g.below(4) {
                0 => {}
                1 => self.out.push(' '),
                2 => self.line_break(),
                _ => {
                    self.end_of_line();
                    self.between_lines();
                }
            }
            self.out.push('}');
            return;
        }
        // The first entry on the `{` line, or on the next.
        let mut same_line = self.g.chance(25);
        if same_line {
            let b = self.blank();
            self.out.push_str(b);
        } else {
            self.end_of_line();
        }
        for (i, e) in entries.iter().enumerate() {
            if !same_line {
                self.between_lines();
                self.indent();
            }
            for lint in &e.allow {
                self.out.push_str("@allow(");
                self.out.push_str(lint);
                self.out.push(')');
                if self.g.chance(50) {
                    let b = self.blank();
                    self.out.push_str(b);
                } else {
                    self.end_of_line();
                    self.indent();
                }
            }
            self.tokens(&e.tokens);
            let last = i + 1 == entries.len();
            same_line = self.g.chance(25);
            if same_line {
                if last {
                    let b = self.blank();
                    self.out.push_str(b);
                    self.out.push('}');
                    return;
                }
                self.out.push(';');
                let b = self.blank();
                self.out.push_str(b);
            } else {
                self.end_of_line();
            }
        }
        self.between_lines();
        self.indent();
        self.out.push('}');
    }
}

fn random_policy(seed: u64) -> (String, Vec<String>) {
    let mut g = Gen(seed);
    let items = policy(&mut g);
    write(&mut g, &items)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn formatting_keeps_meaning_and_comments_and_is_idempotent(seed in any::<u64>()) {
        let (text, comments) = random_policy(seed);
        let out = match fmt::format(FileId(0), &text) {
            Ok(out) => out,
            Err(d) => panic!("seed {seed}: the generated policy does not format:\n{d:#?}\n--- input:\n{text}"),
        };
        // Idempotent.
        prop_assert_eq!(&format(&out), &out, "seed {}: not idempotent\n--- input:\n{}", seed, text);
        // Same policy, same errors.
        assert_same_policy(&text, &out);
        // Every comment written is there, once, and nothing else is a
        // comment. (The list comes from the generator, not the formatter.)
        let mut want = comments.clone();
        let mut got: Vec<String> = fmt::comments(&out).into_iter().map(str::to_string).collect();
        want.sort();
        got.sort();
        prop_assert_eq!(got, want, "seed {}\n--- output:\n{}", seed, out);
        for c in &comments {
            prop_assert!(out.lines().any(|l| l.ends_with(c.as_str())), "seed {}: `{}` does not end a line", seed, c);
        }
        // The layout: no trailing blanks, no tabs or `\r` outside strings
        // and comments, one final line break, no double blank lines.
        for line in out.lines() {
            prop_assert_eq!(line.trim_end(), line);
            prop_assert!(!line.contains('\r'));
        }
        prop_assert!(out.is_empty() || out.ends_with('\n') && !out.ends_with("\n\n"));
        prop_assert!(!out.contains("\n\n\n"));
    }
}

/// The generator must mostly write policies that sema accepts, or the IR
/// comparison above would compare errors only.
#[test]
fn random_policies_are_mostly_valid() {
    let n = 200;
    let valid = (0..n)
        .filter(|&seed| load(&random_policy(seed).0).0.is_some())
        .count();
    assert!(
        valid * 10 >= n as usize * 8,
        "only {valid} of {n} random policies load"
    );
}
