//! The whole `check` pipeline (parse, includes, names, types, lints) on
//! hostile input: random bytes and random mutations of the examples never
//! make it panic, and every diagnostic it returns has a primary label whose
//! span lies inside a loaded file, on character boundaries.

use hwc::analysis;
use hwc::diagnostics::Diagnostic;
use hwc::sema;
use hwc::source::{MemoryLoader, SourceMap};
use proptest::prelude::*;
use std::path::Path;

const EXAMPLES: &[&str] = &[
    include_str!("../examples/webserver.hw"),
    include_str!("../examples/seed.hw"),
    include_str!("../examples/mailserver.hw"),
    include_str!("../examples/bastion.hw"),
    include_str!("../examples/laptop.hw"),
];

/// Words a mutation inserts: keywords, names the examples define, literals.
const WORDS: &[&str] = &[
    "accept",
    "drop",
    "reject",
    "log",
    "jump",
    "goto",
    "return",
    "not",
    "from",
    "to",
    "tcp",
    "udp",
    "icmp",
    "icmpv6",
    "sport",
    "dport",
    "state",
    "new",
    "user",
    "group",
    "root",
    "iface",
    "oface",
    "lo",
    "eth+",
    "limit",
    "1/second",
    "burst",
    "chain",
    "input",
    "output",
    "forward",
    "policy",
    "{",
    "}",
    ",",
    ";",
    "\n",
    "=",
    "host",
    "service",
    "assert",
    "allow",
    "deny",
    "reachable",
    "egress",
    "only",
    "@allow(unused)",
    "@allow(bogus)",
    "include \"x.hw\"",
    "192.0.2.1",
    "198.51.100.0/33",
    "2001:db8::1",
    "192.0.2.9-192.0.2.1",
    "65536",
    "0-70000",
    "\"www-data\"",
    "tcp-reset",
    "echo-request",
    "nd-neighbor-solicit",
    "family ip",
    "family ip6",
    "prefix",
    "\"0123456789012345678901234567890\"",
];

/// Runs the pipeline on `text` as `policy.hw` and checks every diagnostic.
fn check(text: &str) {
    let loader = MemoryLoader::default()
        .with("policy.hw", text)
        .with("x.hw", "include \"policy.hw\"\nhost x = 192.0.2.7\n");
    let mut sources = SourceMap::new();
    let (policy, mut diags) = sema::load(Path::new("policy.hw"), &loader, &mut sources);
    let has_error = diags.iter().any(Diagnostic::is_error);
    assert_eq!(
        policy.is_some(),
        !has_error,
        "a policy comes back exactly when there is no error"
    );
    if let Some(p) = &policy {
        diags.extend(analysis::analyze(p));
    }
    for d in &diags {
        assert_eq!(
            d.labels.iter().filter(|l| l.primary).count(),
            1,
            "{d:?} has one primary label"
        );
        for l in &d.labels {
            assert!(
                (l.span.file.0 as usize) < sources.len(),
                "{d:?}: unknown file"
            );
            let f = sources.get(l.span.file);
            let (s, e) = (l.span.start as usize, l.span.end as usize);
            assert!(s <= e && e <= f.text.len(), "{d:?}: span outside its file");
            assert!(
                f.text.is_char_boundary(s) && f.text.is_char_boundary(e),
                "{d:?}: span splits a character"
            );
        }
        assert!(!d.message.is_empty(), "{d:?}: empty message");
        assert_ne!(d.code, "internal", "{d:?}");
    }
}

#[derive(Debug, Clone)]
enum Edit {
    Delete {
        at: usize,
        len: usize,
    },
    Insert {
        at: usize,
        word: &'static str,
    },
    Replace {
        at: usize,
        len: usize,
        word: &'static str,
    },
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 1..20usize).prop_map(|(at, len)| Edit::Delete { at, len }),
        (any::<usize>(), prop::sample::select(WORDS))
            .prop_map(|(at, word)| Edit::Insert { at, word }),
        (any::<usize>(), 1..12usize, prop::sample::select(WORDS))
            .prop_map(|(at, len, word)| Edit::Replace { at, len, word }),
    ]
}

fn boundary(s: &str, i: usize) -> usize {
    let mut i = i % (s.len() + 1);
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(text: &mut String, e: &Edit) {
    match *e {
        Edit::Delete { at, len } => {
            let a = boundary(text, at);
            let b = boundary(text, (a + len).min(text.len()));
            text.replace_range(a..b.max(a), "");
        }
        Edit::Insert { at, word } => {
            let a = boundary(text, at);
            text.insert_str(a, &format!(" {word} "));
        }
        Edit::Replace { at, len, word } => {
            let a = boundary(text, at);
            let b = boundary(text, (a + len).min(text.len()));
            text.replace_range(a..b.max(a), word);
        }
    }
}

#[test]
fn examples_check_without_errors() {
    for ex in EXAMPLES {
        let loader = MemoryLoader::default().with("policy.hw", *ex);
        let mut sources = SourceMap::new();
        let (policy, diags) = sema::load(Path::new("policy.hw"), &loader, &mut sources);
        assert!(policy.is_some(), "{diags:?}");
        check(ex);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        check(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn mutated_examples_never_panic(
        which in 0..EXAMPLES.len(),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let mut text = EXAMPLES[which].to_string();
        for e in &edits {
            apply(&mut text, e);
        }
        check(&text);
    }
}
