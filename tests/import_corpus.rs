//! Every real dump of the shared corpus reads without error; one snapshot
//! per file summarises what the reader made of it.
//!
//! The corpus lives outside the repository (`HWC_CORPUS`, by default
//! /work/shared/corpus/real). Without it the test says so loudly and checks
//! nothing else.

use hwc::diagnostics::Diagnostic;
use hwc::import::{self, ImportOptions};
use hwc::ir::{Action, ChainKind, Policy, Test};
use hwc::source::SourceMap;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("HWC_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/corpus/real"));
    dir.is_dir().then_some(dir)
}

fn corpus_files() -> Vec<(String, String)> {
    let Some(dir) = corpus_dir() else {
        eprintln!("!!! SKIPPED: the real-dump corpus is missing (set HWC_CORPUS to its directory)");
        return Vec::new();
    };
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("corpus directory is readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "iptables-save" || e == "ip6tables-save")
        })
        .map(|p| {
            let name = p
                .file_name()
                .expect("file name")
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&p).expect("dump is readable");
            (name, text)
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 15,
        "expected the 15 corpus dumps in {}",
        dir.display()
    );
    files
}

fn diag_line(sources: &SourceMap, d: &Diagnostic) -> String {
    let span = d.primary_span();
    let (line, col) = sources.get(span.file).line_col(span.start);
    format!(
        "{}[{}] {line}:{col}: {}",
        d.severity.name(),
        d.code,
        d.message
    )
}

/// The first words of an opaque match: `-m recent`, `-m tcp --tcp-flags`.
fn opaque_key(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.as_slice() {
        ["-m", m, opt, ..] if opt.starts_with("--") || *opt == "!" => {
            let opt = if *opt == "!" {
                words.get(3).copied().unwrap_or("!")
            } else {
                opt
            };
            format!("-m {m} {opt}")
        }
        [first, second, ..] => format!("{first} {second}"),
        _ => text.to_string(),
    }
}

fn summary(
    name: &str,
    policy: &Policy,
    sources: &SourceMap,
    diags: &[Diagnostic],
    hw_skipped: usize,
) -> String {
    let mut s = String::new();
    let rules: usize = policy.chains.iter().map(|c| c.rules.len()).sum();
    let _ = writeln!(s, "file: {name}");
    let _ = writeln!(s, "family: {}", policy.family.keyword());
    let _ = writeln!(s, "filter: {} chains, {rules} rules", policy.chains.len());
    for c in &policy.chains {
        if let ChainKind::Base(_) = c.kind {
            let _ = writeln!(
                s,
                "  {} policy {}: {} rules",
                c.name,
                c.policy.map(|v| v.name()).unwrap_or("-"),
                c.rules.len()
            );
        }
    }
    let user: Vec<_> = policy
        .chains
        .iter()
        .filter(|c| c.kind == ChainKind::User)
        .collect();
    let _ = writeln!(
        s,
        "  user chains: {} with {} rules",
        user.len(),
        user.iter().map(|c| c.rules.len()).sum::<usize>()
    );
    let mut actions: BTreeMap<String, usize> = BTreeMap::new();
    let mut opaque_targets: BTreeMap<String, usize> = BTreeMap::new();
    let mut opaque: BTreeMap<String, usize> = BTreeMap::new();
    let mut tests: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut comments = 0;
    for c in &policy.chains {
        for r in &c.rules {
            let a = match &r.action {
                Action::Accept => "accept",
                Action::Drop => "drop",
                Action::Reject(_) => "reject",
                Action::Log(_) => "log",
                Action::Jump(_) => "jump",
                Action::Goto(_) => "goto",
                Action::Return => "return",
                Action::Continue(t) | Action::Opaque(t) => {
                    let kind = if matches!(r.action, Action::Opaque(_)) {
                        "opaque"
                    } else {
                        "continue"
                    };
                    let target = t.split_whitespace().nth(1).unwrap_or("(none)");
                    *opaque_targets
                        .entry(format!("{kind} {target}"))
                        .or_default() += 1;
                    kind
                }
            };
            *actions.entry(a.to_string()).or_default() += 1;
            comments += usize::from(r.comment.is_some());
            for cond in &r.matches.conds {
                let kind = match &cond.test {
                    Test::Family(_) => "family",
                    Test::Iif(_) => "iif",
                    Test::Oif(_) => "oif",
                    Test::Src(_) => "src",
                    Test::Dst(_) => "dst",
                    Test::L4(_) => "l4",
                    Test::AnyPort(_) => "anyport",
                    Test::State(_) => "state",
                    Test::Uid(_) => "uid",
                    Test::Gid(_) => "gid",
                    Test::Limit(_) => "limit",
                    Test::Opaque(t) => {
                        *opaque.entry(opaque_key(t)).or_default() += 1;
                        "opaque"
                    }
                };
                *tests.entry(kind).or_default() += 1;
            }
        }
    }
    let _ = writeln!(s, "actions: {actions:?}");
    let _ = writeln!(s, "tests: {tests:?}");
    let _ = writeln!(s, "comments: {comments}");
    let _ = writeln!(s, "opaque matches:");
    for (k, n) in &opaque {
        let _ = writeln!(s, "  {k} ×{n}");
    }
    let _ = writeln!(s, "other targets:");
    for (k, n) in &opaque_targets {
        let _ = writeln!(s, "  {k} ×{n}");
    }
    let _ = writeln!(s, "diagnostics:");
    for d in diags {
        let _ = writeln!(s, "  {}", diag_line(sources, d));
    }
    let _ = writeln!(s, "to .hw: {hw_skipped} rules not importable");
    s
}

/// Spans of rules and chains point at their dump lines.
fn check_spans(text: &str, policy: &Policy) {
    for c in &policy.chains {
        let header = &text[c.span.range()];
        assert!(
            header.starts_with(':') && !header.contains('\n'),
            "chain span `{header}`"
        );
        assert_eq!(&header[1..=c.name.len()], c.name);
        for r in &c.rules {
            let line = &text[r.span.range()];
            assert!(!line.contains('\n'), "rule span spans lines: `{line}`");
            let start = r.span.start as usize;
            assert!(
                start == 0 || text.as_bytes()[start - 1] == b'\n',
                "rule span starts mid-line"
            );
            let end = r.span.end as usize;
            assert!(end == text.len() || matches!(text.as_bytes()[end], b'\n' | b'\r'));
            assert!(
                line.starts_with("-A") || line.starts_with('['),
                "rule span `{line}`"
            );
            for cond in &r.matches.conds {
                assert!(cond.span.start >= r.span.start && cond.span.end <= r.span.end);
            }
        }
    }
}

#[test]
fn every_corpus_dump_reads_without_error() {
    for (name, text) in corpus_files() {
        let mut sources = SourceMap::new();
        let file = sources.add(&name, text.clone());
        let stem = name.split('.').next().unwrap_or("dump").to_string();
        let options = ImportOptions {
            name: Some(stem),
            ..ImportOptions::default()
        };
        let (policy, diags) = import::read_dump_with(file, &text, &options);
        let errors: Vec<String> = diags
            .iter()
            .filter(|d| d.is_error())
            .map(|d| diag_line(&sources, d))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        let policy = policy.unwrap_or_else(|| panic!("{name}: no policy"));
        check_spans(&text, &policy);
        let (_, hw_diags) = import::to_hw(&policy, &text);
        let summary = summary(&name, &policy, &sources, &diags, hw_diags.len());
        insta::assert_snapshot!(name.replace('.', "_"), summary);
    }
}

#[test]
fn ip6tables_dump_is_read_as_ipv6() {
    for (name, text) in corpus_files() {
        let (policy, _) = import::read_dump(hwc::source::FileId(0), &text);
        let policy = policy.expect("reads");
        let expect = if name.ends_with(".ip6tables-save") {
            hwc::ir::Origin::Dump(hwc::ir::Family::V6)
        } else {
            hwc::ir::Origin::Dump(hwc::ir::Family::V4)
        };
        assert_eq!(policy.origin, expect, "{name}");
    }
}

/// The `.hw` text of a few small dumps, for review.
#[test]
fn to_hw_of_small_dumps() {
    for (name, text) in corpus_files() {
        if !["01_", "03_", "04_", "10_", "12_", "13_"]
            .iter()
            .any(|p| name.starts_with(p))
        {
            continue;
        }
        let stem = name.split('.').next().unwrap_or("dump").to_string();
        let options = ImportOptions {
            name: Some(stem),
            ..ImportOptions::default()
        };
        let (policy, _) = import::read_dump_with(hwc::source::FileId(0), &text, &options);
        let (hw, diags) = import::to_hw(&policy.expect("reads"), &text);
        let mut out = hw;
        let _ = writeln!(out, "---- diagnostics");
        for d in &diags {
            let (line, _) =
                hwc::source::SourceFile::new(&name, text.clone()).line_col(d.primary_span().start);
            let _ = writeln!(
                out,
                "{}[{}] line {line}: {}",
                d.severity.name(),
                d.code,
                d.message
            );
        }
        insta::assert_snapshot!(format!("hw_{}", name.replace('.', "_")), out);
    }
}
