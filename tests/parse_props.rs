//! Property tests of the parser on hostile input: random bytes and random
//! mutations of valid policies never make it panic, never make it report an
//! internal error, and every span it returns lies inside the text on
//! character boundaries.

use hwc::diagnostics::Diagnostic;
use hwc::source::{FileId, Span};
use hwc::syntax::{self, ast};
use proptest::prelude::*;

/// Valid policies, shared with the fuzzer's seed corpus.
const SEEDS: &[&str] = &[
    include_str!("../fuzz/seeds/mailserver.hw"),
    include_str!("../fuzz/seeds/router.hw"),
    include_str!("../fuzz/seeds/edge.hw"),
];

/// Tokens that mutations insert: every keyword and punctuation, and the
/// literals most likely to confuse a parser.
const TOKENS: &[&str] = &[
    "policy",
    "include",
    "host",
    "net",
    "list",
    "service",
    "user",
    "group",
    "iface",
    "oface",
    "chain",
    "assert",
    "allow",
    "deny",
    "reachable",
    "egress",
    "only",
    "not",
    "accept",
    "drop",
    "reject",
    "log",
    "prefix",
    "level",
    "jump",
    "goto",
    "return",
    "tcp",
    "udp",
    "sctp",
    "icmp",
    "icmpv6",
    "proto",
    "sport",
    "dport",
    "from",
    "to",
    "state",
    "limit",
    "burst",
    "comment",
    "uid",
    "gid",
    "family",
    "{",
    "}",
    "{}",
    "=",
    ",",
    ",\n",
    ";",
    "\n",
    "\r\n",
    "#",
    "\"",
    "\\",
    "@allow(",
    ")",
    "(",
    "/",
    "-",
    "+",
    ":",
    "::",
    ".",
    " ",
    "\t",
    "0",
    "65536",
    "4294967296",
    "18446744073709551616",
    "192.0.2.1",
    "10.0.0.0/8",
    "2001:db8::/32",
    "1.2.3",
    "/300",
    "eth+",
    "x-y",
    "é",
    "\u{feff}",
    "\0",
    "\"a\\\"b\"",
    "10/minute",
    "3/4",
    "1-2",
];

fn check_span(text: &str, file: FileId, span: Span, what: &str) {
    assert_eq!(span.file, file, "{what}: wrong file");
    let (s, e) = (span.start as usize, span.end as usize);
    assert!(s <= e, "{what}: span {s}..{e} is reversed");
    assert!(
        e <= text.len(),
        "{what}: span {s}..{e} past the end ({})",
        text.len()
    );
    assert!(
        text.is_char_boundary(s),
        "{what}: span start {s} inside a character"
    );
    assert!(
        text.is_char_boundary(e),
        "{what}: span end {e} inside a character"
    );
}

fn check_diagnostic(text: &str, file: FileId, d: &Diagnostic) {
    assert_ne!(
        d.code, "internal",
        "grammar and builder disagree: {d:?}\ninput: {text:?}"
    );
    assert_eq!(d.code, "syntax", "unexpected code in {d:?}");
    assert_eq!(d.labels.iter().filter(|l| l.primary).count(), 1, "{d:?}");
    assert!(
        !d.message.contains('\n'),
        "multi-line message {:?}",
        d.message
    );
    for l in &d.labels {
        check_span(text, file, l.span, &d.message);
    }
}

/// Parses and checks every diagnostic and every item span.
fn parse_ok(text: &str) -> (ast::File, Vec<Diagnostic>) {
    let file = FileId(3);
    let (ast, diags) = syntax::parse(file, text);
    for d in &diags {
        check_diagnostic(text, file, d);
    }
    for item in &ast.items {
        check_span(text, file, item.span(), "item");
    }
    (ast, diags)
}

#[derive(Debug, Clone)]
enum Edit {
    Insert(prop::sample::Index, &'static str),
    InsertBytes(prop::sample::Index, Vec<u8>),
    Delete(prop::sample::Index, usize),
    Replace(prop::sample::Index, usize, &'static str),
}

fn edit() -> impl Strategy<Value = Edit> {
    let tok = prop::sample::select(TOKENS);
    prop_oneof![
        (any::<prop::sample::Index>(), tok.clone()).prop_map(|(i, t)| Edit::Insert(i, t)),
        (
            any::<prop::sample::Index>(),
            prop::collection::vec(any::<u8>(), 1..4)
        )
            .prop_map(|(i, b)| Edit::InsertBytes(i, b)),
        (any::<prop::sample::Index>(), 1usize..12).prop_map(|(i, n)| Edit::Delete(i, n)),
        (any::<prop::sample::Index>(), 1usize..8, tok).prop_map(|(i, n, t)| Edit::Replace(i, n, t)),
    ]
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(text: &mut String, e: &Edit) {
    let at = |i: &prop::sample::Index, t: &String| floor_boundary(t, i.index(t.len() + 1));
    match e {
        Edit::Insert(i, tok) => {
            let p = at(i, text);
            text.insert_str(p, tok);
        }
        Edit::InsertBytes(i, bytes) => {
            let p = at(i, text);
            text.insert_str(p, &String::from_utf8_lossy(bytes));
        }
        Edit::Delete(i, n) => {
            let p = at(i, text);
            let q = floor_boundary(text, p + n);
            text.replace_range(p..q, "");
        }
        Edit::Replace(i, n, tok) => {
            let p = at(i, text);
            let q = floor_boundary(text, p + n);
            text.replace_range(p..q, tok);
        }
    }
}

#[test]
fn seeds_parse_without_diagnostics() {
    for seed in SEEDS {
        let (ast, diags) = parse_ok(seed);
        assert!(diags.is_empty(), "{diags:#?}");
        assert!(!ast.items.is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        parse_ok(&text);
    }

    #[test]
    fn random_token_soup_never_panics(toks in prop::collection::vec(prop::sample::select(TOKENS), 0..60)) {
        let text = toks.join(" ");
        parse_ok(&text);
        parse_ok(&toks.concat());
    }

    #[test]
    fn mutated_policies_never_panic(
        seed in prop::sample::select(SEEDS),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let mut text = seed.to_string();
        for e in &edits {
            apply(&mut text, e);
        }
        let (ast, diags) = parse_ok(&text);
        // A single edit never loses the whole file: something survives.
        if edits.len() == 1 && diags.len() == 1 {
            prop_assert!(!ast.items.is_empty());
        }
    }
}
