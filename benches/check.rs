//! `cargo bench --bench check`: time the front end (parse, parse + sema)
//! and the lints on generated policies of 1k and 10k rules of every shape.
//!
//! Prints the median and the minimum wall-clock time of repeated runs
//! (std::time only, no harness). On a shared machine the minimum is the
//! figure to compare: other processes only ever add time. Target: parse + sema of 10k rules under 50 ms. Set
//! `HWC_BENCH_RUNS` to change the number of runs (default 9 for 1k rules,
//! 5 for 10k). Run by `cargo test --all-targets` (without `--bench`), it
//! only does one quick pass on small policies, to keep the code working.

use hwc::source::{FileId, MemoryLoader, SourceMap};
use hwc::testgen::{self, Shape};
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

fn main() {
    // `cargo bench` passes `--bench`; a further word filters by shape name.
    let benching = std::env::args().any(|a| a == "--bench");
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let sizes: &[usize] = if benching { &[1_000, 10_000] } else { &[200] };
    println!("wall-clock ms, median / min");
    println!(
        "{:<10} {:>6}  {:>18}  {:>18}  {:>18}",
        "shape", "rules", "parse", "parse+sema", "analyze"
    );
    for shape in Shape::ALL {
        if filter.as_deref().is_some_and(|f| !shape.name().contains(f)) {
            continue;
        }
        for &rules in sizes {
            bench(shape, rules, benching);
        }
    }
}

fn runs(rules: usize, benching: bool) -> usize {
    if !benching {
        return 1;
    }
    std::env::var("HWC_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if rules >= 10_000 { 5 } else { 9 })
}

fn bench(shape: Shape, rules: usize, benching: bool) {
    let text = testgen::generate(shape, rules, 42);
    let path = Path::new("bench.hw");
    let loader = MemoryLoader::default().with(path, text.clone());
    let n = runs(rules, benching);

    let parse = time(n, || {
        let (file, diags) = hwc::syntax::parse(FileId(0), &text);
        black_box((file, diags));
    });

    let mut loaded = None;
    let mut errors = 0;
    let sema = time(n, || {
        let mut sources = SourceMap::new();
        let (policy, diags) = hwc::sema::load(path, &loader, &mut sources);
        errors = diags.iter().filter(|d| d.is_error()).count();
        loaded = policy;
    });

    let analyze = match &loaded {
        Some(policy) => {
            let t = time(n, || {
                black_box(hwc::analysis::analyze(policy));
            });
            fmt(t)
        }
        None => format!("not loaded: {errors} errors"),
    };
    // Under `cargo test` this is a check, not only a measurement.
    assert!(
        benching || loaded.is_some(),
        "the generated {} policy did not load ({errors} errors)",
        shape.name()
    );
    println!(
        "{:<10} {:>6}  {:>18}  {:>18}  {:>18}",
        shape.name(),
        rules,
        fmt(parse),
        fmt(sema),
        analyze
    );
}

/// Wall-clock (median, min) of `n` runs.
fn time(n: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    let mut all: Vec<Duration> = (0..n.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    all.sort();
    (all[all.len() / 2], all[0])
}

fn fmt((median, min): (Duration, Duration)) -> String {
    format!(
        "{:.2} / {:.2}",
        median.as_secs_f64() * 1e3,
        min.as_secs_f64() * 1e3
    )
}
