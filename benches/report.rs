//! `cargo bench --bench report`: time `hwc report` on generated policies
//! of 10,000 rules of every shape (target: under 1 s for the typical one).
//!
//! Each phase is timed separately: parse + sema, the lints
//! (`analysis::analyze`), the flow analysis and report model
//! (`report::build_with`), and rendering markdown, HTML and JSON. Prints
//! the median and the minimum of repeated runs (std::time only, no
//! harness). Set `HWC_BENCH_RUNS` to change the number of runs (default 5).
//! Run by `cargo test --all-targets` (without `--bench`), it does one quick
//! pass on small policies, to keep the code working.

use hwc::report::{self, html, markdown, Input};
use hwc::source::{MemoryLoader, SourceMap};
use hwc::testgen::{self, Shape};
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let rules = if benching { 10_000 } else { 300 };
    let runs = if benching {
        std::env::var("HWC_BENCH_RUNS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(5)
    } else {
        1
    };
    println!(
        "{:<10} {:>6} {:>8}  {:>16} {:>16} {:>16} {:>16} {:>16}",
        "shape", "rules", "flows", "load ms", "lints ms", "flows ms", "render ms", "total ms"
    );
    for shape in Shape::ALL {
        if filter.as_deref().is_some_and(|f| !shape.name().contains(f)) {
            continue;
        }
        bench(shape, rules, runs);
    }
}

fn bench(shape: Shape, rules: usize, runs: usize) {
    let text = testgen::generate(shape, rules, 42);
    let path = Path::new("bench.hw");
    let loader = MemoryLoader::default().with(path, text);
    let mut phases: [Vec<Duration>; 5] = Default::default();
    let mut flows = 0;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let mut sources = SourceMap::new();
        let (policy, diags) = hwc::sema::load(path, &loader, &mut sources);
        let Some(policy) = policy else {
            println!(
                "{:<10} {rules:>6}  does not load: {} diagnostics",
                shape.name(),
                diags.len()
            );
            return;
        };
        let loaded = start.elapsed();
        let t = Instant::now();
        let mut findings = diags.clone();
        findings.extend(hwc::analysis::analyze(&policy));
        let lints = t.elapsed();
        let t = Instant::now();
        let input = Input {
            sources: &sources,
            root: sources.find(path).unwrap_or_default(),
            path: "bench.hw".into(),
            load_diagnostics: &diags,
            date: 0,
        };
        let r = report::build_with(&policy, &input, findings, report::assertions_checked())
            .expect("the report builds");
        let built = t.elapsed();
        let t = Instant::now();
        black_box(markdown::render(&r));
        black_box(html::render(&r));
        black_box(serde_json::to_string(&r).expect("serialises"));
        let rendered = t.elapsed();
        flows = r.flows.len();
        for (i, d) in [loaded, lints, built, rendered, start.elapsed()]
            .into_iter()
            .enumerate()
        {
            phases[i].push(d);
        }
    }
    let cell = |v: &mut Vec<Duration>| {
        v.sort();
        format!(
            "{:.1} / {:.1}",
            v[v.len() / 2].as_secs_f64() * 1e3,
            v[0].as_secs_f64() * 1e3
        )
    };
    let [a, b, c, d, e] = &mut phases;
    println!(
        "{:<10} {rules:>6} {flows:>8}  {:>16} {:>16} {:>16} {:>16} {:>16}",
        shape.name(),
        cell(a),
        cell(b),
        cell(c),
        cell(d),
        cell(e)
    );
}
