//! The round trip of real and generated dumps:
//! dump → `hwc import` (.hw, proved) → compile (iptables) → the import
//! reader → equivalent to the dump on every packet, by the engine.
//! Only the rules `hwc import` reports as not importable are left out of
//! the comparison, and which those are is pinned per file.

use hwc::backend::{compile, Target};
use hwc::import::verify::{import_verified, without_rules, Proof};
use hwc::import::{read_dump_with, ImportOptions};
use hwc::ir::{Family, FamilySet, Policy};
use hwc::source::{FileId, MemoryLoader, SourceMap};
use hwc::space::equiv::{check_equivalent, Equivalence};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

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

/// What the round trip of one dump found.
struct Trip {
    rules: usize,
    /// Reasons of the rules left out (the diagnostic message, values
    /// replaced by `…`), with counts.
    left_out: BTreeMap<String, usize>,
}

fn read(text: &str, family: Option<Family>) -> Policy {
    let (p, d) = read_dump_with(
        FileId(0),
        text,
        &ImportOptions {
            family,
            name: Some("dump".into()),
        },
    );
    p.unwrap_or_else(|| panic!("the dump does not read: {d:?}"))
}

/// The reason with values elided, keeping the module of a match:
/// ``match `-m mac --mac-source 00:11` `` → ``match `-m mac …` ``.
fn reason_kind(message: &str) -> String {
    let mut out = String::new();
    for (k, part) in message.split('`').enumerate() {
        if k % 2 == 0 {
            out.push_str(part);
            continue;
        }
        let words: Vec<&str> = part.split_whitespace().collect();
        match words.as_slice() {
            ["-m", module, ..] | ["!", "-m", module, ..] => {
                out.push_str(&format!("`-m {module} …`"))
            }
            _ => out.push_str("`…`"),
        }
    }
    out
}

fn round_trip(name: &str, text: &str, family: Option<Family>) -> Trip {
    let dump = read(text, family);
    let imported = import_verified(&dump, text, Path::new("imported.hw"));
    match &imported.proof {
        Proof::Equivalent { .. } => {}
        other => panic!("{name}: import not proved: {other:?}"),
    }
    let mut left_out = BTreeMap::new();
    for d in &imported.diagnostics {
        assert_eq!(d.code, "not-importable", "{name}: {d:?}");
        *left_out.entry(reason_kind(&d.message)).or_insert(0) += 1;
    }
    assert_eq!(
        imported.left_out.len(),
        imported.diagnostics.len(),
        "{name}"
    );
    let spans: HashSet<_> = imported
        .diagnostics
        .iter()
        .map(|d| d.primary_span())
        .collect();
    let (subset, _) = without_rules(&dump, |r| spans.contains(&r.span));

    let (printed, diags) = hwc::sema::load_source(
        Path::new("imported.hw"),
        &imported.text,
        &MemoryLoader::default(),
        &mut SourceMap::new(),
    );
    let printed = printed.unwrap_or_else(|| panic!("{name}: {diags:?}"));
    let arts = compile(&printed, None, Target::Iptables)
        .unwrap_or_else(|d| panic!("{name}: the imported policy does not compile: {d:?}"));
    assert!(!arts.is_empty());
    for a in &arts {
        let fam = if a.suffix == "ipt4" {
            Family::V4
        } else {
            Family::V6
        };
        let back = read(&a.text, Some(fam));
        let families = if fam == Family::V4 {
            FamilySet::IP
        } else {
            FamilySet::IP6
        };
        match check_equivalent(&subset, &back, families) {
            Equivalence::Equivalent { .. } => {}
            other => panic!("{name} ({}): {other:?}\n{}", a.suffix, a.text),
        }
    }
    Trip {
        rules: dump.chains.iter().map(|c| c.rules.len()).sum(),
        left_out,
    }
}

#[test]
fn every_corpus_dump_survives_the_round_trip() {
    let files = corpus();
    let trips: Vec<(String, Trip)> = files
        .par_iter()
        .map(|(name, text)| (name.clone(), round_trip(name, text, None)))
        .collect();
    let mut summary = String::new();
    for (name, t) in &trips {
        let n: usize = t.left_out.values().sum();
        let _ = writeln!(summary, "{name}: {} rules, {n} left out", t.rules);
        for (reason, count) in &t.left_out {
            let _ = writeln!(summary, "  {count:>4} × {reason}");
        }
    }
    if !files.is_empty() {
        insta::assert_snapshot!(summary);
    }
}

/// hwc's own iptables output, read as a dump, goes round without leaving
/// anything out.
#[test]
fn generated_dumps_survive_the_round_trip_whole() {
    let mut cases = Vec::new();
    for shape in hwc::testgen::Shape::ALL {
        for seed in 0..4 {
            let text = hwc::testgen::generate(shape, 60, seed);
            let (p, d) = hwc::sema::load_source(
                Path::new("gen.hw"),
                &text,
                &MemoryLoader::default(),
                &mut SourceMap::new(),
            );
            let p = p.unwrap_or_else(|| panic!("{d:?}"));
            for a in compile(&p, None, Target::Iptables).expect("compiles") {
                let fam = if a.suffix == "ipt4" {
                    Family::V4
                } else {
                    Family::V6
                };
                cases.push((format!("{}-{seed}.{}", shape.name(), a.suffix), a.text, fam));
            }
        }
    }
    cases.par_iter().for_each(|(name, text, fam)| {
        let t = round_trip(name, text, Some(*fam));
        assert!(t.left_out.is_empty(), "{name}: {:?}", t.left_out);
    });
}
