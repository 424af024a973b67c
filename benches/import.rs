//! Real rulesets: reading each corpus dump and running every lint on it
//! (`hwc check` on a dump), the `hwc import` proof, and translation
//! validation of `hwc compile` on generated policies.
//!
//! `cargo bench --bench import` prints per-file medians (CPU time from
//! /proc/thread-self/schedstat, and wall time) and fails (exit status 1)
//! when reading and analysing any dump takes 500 ms of CPU time or more
//! (the largest, 15_tum_net, has about 5,000 rules). The import proof and
//! translation validation are reported without a budget. Run by `cargo
//! test --all-targets` (without `--bench`) it makes one quick pass on the
//! small dumps and small policies and checks no budget. The corpus
//! directory is `$HWC_CORPUS` or /work/shared/corpus/real; without it the
//! dump part is skipped with a loud message.

use hwc::backend::{compile, validate, Target};
use hwc::source::{FileId, MemoryLoader, SourceMap};
use hwc::testgen::{self, Shape};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn cpu_time() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Median CPU and wall time of `runs` calls of `f`.
fn timed(runs: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    let (mut cpu, mut wall) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let c0 = cpu_time();
        let t = Instant::now();
        f();
        let w = t.elapsed();
        wall.push(w);
        cpu.push(match (c0, cpu_time()) {
            (Some(a), Some(b)) => b.saturating_sub(a),
            _ => w,
        });
    }
    cpu.sort();
    wall.sort();
    (cpu[runs / 2], wall[runs / 2])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

const BUDGET: Duration = Duration::from_millis(500);

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let runs = if benching { 5 } else { 1 };
    let mut over = false;

    let dir = std::env::var_os("HWC_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/corpus/real"));
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with("tables-save"))
            .collect(),
        Err(_) => {
            eprintln!(
                "!!! SKIPPED the corpus part: no corpus at {} (set HWC_CORPUS)",
                dir.display()
            );
            Vec::new()
        }
    };
    files.sort();
    println!(
        "{:<38} {:>6}  {:>22}  {:>22}",
        "dump", "rules", "read + all lints", "import proof"
    );
    for path in &files {
        let text = std::fs::read_to_string(path).expect("readable dump");
        if !benching && text.len() > 50_000 {
            continue;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut rules = 0;
        let (cpu, wall) = timed(runs, || {
            let (p, _) = hwc::import::read_dump(FileId(0), &text);
            let p = p.expect("the dump reads");
            rules = p.chains.iter().map(|c| c.rules.len()).sum();
            std::hint::black_box(hwc::analysis::analyze(&p));
        });
        let (p, _) = hwc::import::read_dump(FileId(0), &text);
        let p = p.expect("the dump reads");
        let (pcpu, pwall) = timed(if benching { 3 } else { 1 }, || {
            let i = hwc::import::verify::import_verified(&p, &text, Path::new("bench.hw"));
            assert!(
                matches!(i.proof, hwc::import::verify::Proof::Equivalent { .. }),
                "{name}"
            );
        });
        println!(
            "{name:<38} {rules:>6}  {:>7.1} ms cpu {:>6.1} wall  {:>7.1} ms cpu {:>6.1} wall",
            ms(cpu),
            ms(wall),
            ms(pcpu),
            ms(pwall)
        );
        over |= cpu >= BUDGET;
    }

    let rules = if benching { 10_000 } else { 300 };
    for shape in Shape::ALL {
        let text = testgen::generate(shape, rules, 42);
        let (p, d) = hwc::sema::load_source(
            Path::new("bench.hw"),
            &text,
            &MemoryLoader::default(),
            &mut SourceMap::new(),
        );
        let p = p.unwrap_or_else(|| panic!("testgen {} does not load: {d:?}", shape.name()));
        for target in [Target::Iptables, Target::Nftables] {
            let arts = compile(&p, None, target).expect("compiles");
            let (cpu, wall) = timed(if benching { 3 } else { 1 }, || {
                validate::validate(&p, &arts).expect("proved");
            });
            println!(
                "validate {:<9} {rules:>6} rules {:<9} {:>7.1} ms cpu {:>7.1} wall",
                shape.name(),
                target.name(),
                ms(cpu),
                ms(wall)
            );
        }
    }
    if benching && over {
        eprintln!("import: reading and analysing a dump took 500 ms or more");
        std::process::exit(1);
    }
}
