//! `cargo bench --bench check`: time the front end (parse, parse + sema)
//! and the lints on generated policies of 1k and 10k rules of every shape.
//!
//! Prints the median and the minimum wall-clock time of repeated runs
//! (std::time only, no harness), and the median CPU time of the thread (from
//! /proc/thread-self/schedstat, on Linux), which stays meaningful when other
//! processes compete for the cores (it is accurate to a scheduler tick, a
//! few ms). Target: parse + sema of 10k rules under 50 ms. Set
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
    println!("times in ms: wall-clock median/min (thread CPU median)");
    println!(
        "{:<10} {:>6}  {:>26}  {:>26}  {:>26}",
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
        "{:<10} {:>6}  {:>26}  {:>26}  {:>26}",
        shape.name(),
        rules,
        fmt(parse),
        fmt(sema),
        analyze
    );
}

/// Wall-clock (median, min) and the median thread CPU time of `n` runs.
struct Times {
    median: Duration,
    min: Duration,
    cpu: Option<Duration>,
}

fn time(n: usize, mut f: impl FnMut()) -> Times {
    let mut wall = Vec::with_capacity(n);
    let mut cpu = Vec::with_capacity(n);
    for _ in 0..n.max(1) {
        let (c0, start) = (thread_cpu(), Instant::now());
        f();
        wall.push(start.elapsed());
        if let (Some(c0), Some(c1)) = (c0, thread_cpu()) {
            cpu.push(c1.saturating_sub(c0));
        }
    }
    wall.sort();
    cpu.sort();
    Times {
        median: wall[wall.len() / 2],
        min: wall[0],
        cpu: (cpu.len() == wall.len()).then(|| cpu[cpu.len() / 2]),
    }
}

/// The CPU time this thread has run, from the kernel's scheduler stats.
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

fn fmt(t: Times) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    match t.cpu {
        Some(cpu) => format!("{:.2}/{:.2} ({:.2})", ms(t.median), ms(t.min), ms(cpu)),
        None => format!("{:.2}/{:.2}", ms(t.median), ms(t.min)),
    }
}
