//! Random mutations of real dump lines never make the reader panic, and
//! every span it returns lies inside the text.

use hwc::import;
use hwc::source::FileId;
use proptest::prelude::*;
use std::path::PathBuf;

fn corpus() -> Vec<String> {
    let dir = std::env::var_os("HWC_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/corpus/real"));
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!(
            "!!! SKIPPED corpus mutations: no corpus at {} (set HWC_CORPUS)",
            dir.display()
        );
        return Vec::new();
    };
    let mut files: Vec<(PathBuf, String)> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with("tables-save"))
        .filter_map(|p| std::fs::read_to_string(&p).ok().map(|t| (p, t)))
        // The 400 KB dump makes each case slow; the small ones cover the
        // same constructs.
        .filter(|(_, t)| t.len() < 50_000)
        .collect();
    files.sort();
    files.into_iter().map(|(_, t)| t).collect()
}

/// Words that matter to the reader, to splice into lines.
const TOKENS: &[&str] = &[
    "!",
    "-m",
    "-j",
    "-g",
    "-p",
    "-s",
    "-d",
    "-i",
    "-o",
    "-f",
    "-A",
    "-I",
    "-4",
    "-6",
    "-c",
    "--dport",
    "--sport",
    "--dports",
    "--ports",
    "--state",
    "--ctstate",
    "--icmp-type",
    "--uid-owner",
    "--limit",
    "--comment",
    "--log-prefix",
    "--reject-with",
    "tcp",
    "udp",
    "icmp",
    "multiport",
    "owner",
    "limit",
    "comment",
    "state",
    "conntrack",
    "ACCEPT",
    "DROP",
    "RETURN",
    "REJECT",
    "LOG",
    "MARK",
    "INPUT",
    "\"",
    "'",
    "\\",
    "[0:0]",
    ":",
    "*filter",
    "COMMIT",
    "10.0.0.0/8",
    "::1",
    "fe80::/10",
    "1:2",
    ":65535",
    "65536",
    "3/min",
    "é",
    "",
    "NEW,INVALID",
    "0-4294967295",
    "+",
];

#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    Truncate(usize, usize),
    Insert(usize, usize, usize),
    SwapWords(usize, usize, usize),
    DropWord(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(l, c)| Mutation::Truncate(l, c)),
        (any::<usize>(), any::<usize>(), 0..TOKENS.len())
            .prop_map(|(l, w, t)| Mutation::Insert(l, w, t)),
        (any::<usize>(), any::<usize>(), any::<usize>())
            .prop_map(|(l, a, b)| Mutation::SwapWords(l, a, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(l, w)| Mutation::DropWord(l, w)),
    ]
}

fn apply(text: &str, muts: &[Mutation]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for m in muts {
        if lines.is_empty() {
            break;
        }
        let n = lines.len();
        match *m {
            Mutation::DeleteLine(l) => {
                lines.remove(l % n);
            }
            Mutation::DuplicateLine(l) => {
                let line = lines[l % n].clone();
                lines.insert(l % n, line);
            }
            Mutation::Truncate(l, c) => {
                let line = &mut lines[l % n];
                let mut cut = c % (line.len() + 1);
                while !line.is_char_boundary(cut) {
                    cut -= 1;
                }
                line.truncate(cut);
            }
            Mutation::Insert(l, w, t) => {
                let mut words: Vec<&str> = lines[l % n].split(' ').collect();
                let at = w % (words.len() + 1);
                words.insert(at, TOKENS[t]);
                lines[l % n] = words.join(" ");
            }
            Mutation::SwapWords(l, a, b) => {
                let mut words: Vec<&str> = lines[l % n].split(' ').collect();
                let k = words.len();
                words.swap(a % k, b % k);
                lines[l % n] = words.join(" ");
            }
            Mutation::DropWord(l, w) => {
                let mut words: Vec<&str> = lines[l % n].split(' ').collect();
                let k = words.len();
                words.remove(w % k);
                lines[l % n] = words.join(" ");
            }
        }
    }
    lines.join("\n")
}

/// Reads `text` and checks what must hold for any input.
fn check(text: &str) {
    let (policy, diags) = import::read_dump(FileId(0), text);
    let in_text = |s: hwc::source::Span| {
        (s.end as usize) <= text.len()
            && s.start <= s.end
            && text.is_char_boundary(s.start as usize)
            && text.is_char_boundary(s.end as usize)
    };
    for d in &diags {
        assert_eq!(d.labels.iter().filter(|l| l.primary).count(), 1, "{d:?}");
        assert!(d.labels.iter().all(|l| in_text(l.span)), "{d:?}");
        assert!(!d.message.is_empty() && d.help.is_some());
    }
    let errors = diags.iter().any(|d| d.is_error());
    assert_eq!(policy.is_some(), !errors);
    if let Some(p) = policy {
        for c in &p.chains {
            assert!(in_text(c.span));
            for r in &c.rules {
                assert!(in_text(r.span));
                for cond in &r.matches.conds {
                    assert!(in_text(cond.span));
                    assert!(cond.span.start >= r.span.start && cond.span.end <= r.span.end);
                }
                if let hwc::ir::Action::Jump(id) | hwc::ir::Action::Goto(id) = r.action {
                    assert!((id.0 as usize) < p.chains.len());
                }
            }
        }
        let (hw, hw_diags) = import::to_hw(&p, text);
        assert!(hw.starts_with('#'));
        assert!(hw_diags.iter().all(|d| in_text(d.primary_span())));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn mutated_corpus_dumps(file in any::<usize>(), muts in prop::collection::vec(mutation(), 1..6)) {
        let files = corpus();
        if files.is_empty() {
            return Ok(());
        }
        let text = apply(&files[file % files.len()], &muts);
        check(&text);
    }

    #[test]
    fn token_soup(words in prop::collection::vec(0..TOKENS.len(), 0..40), breaks in prop::collection::vec(any::<bool>(), 40)) {
        let mut text = String::from("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT ");
        for (i, w) in words.iter().enumerate() {
            text.push_str(TOKENS[*w]);
            text.push(if breaks[i] && i % 7 == 0 { '\n' } else { ' ' });
        }
        check(&text);
    }

    #[test]
    fn arbitrary_text(text in "\\PC{0,200}") {
        check(&text);
    }
}
