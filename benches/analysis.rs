//! `cargo bench --bench analysis`: every analysis together (parsing and
//! sema included) on generated policies of 1k, 10k and 100k rules of each
//! shape (`hwc::testgen`), against the targets:
//!
//! | rules | shape | target |
//! |---|---|---|
//! | 10k | every shape | 300 ms |
//! | 100k | typical, blocklist | 1 s |
//! | 100k | dense | 3 s (both cores) |
//! | any | any | peak memory 500 MB |
//!
//! Each case runs in its own process (this binary with `--case SHAPE
//! RULES`), so that its peak memory (VmHWM) is its own. Times are the
//! median and minimum of `HWC_BENCH_RUNS` runs (default 3; 1 at 100k).
//! A further word filters cases by shape name (`cargo bench --bench
//! analysis -- dense`). Run by `cargo test --all-targets` (without
//! `--bench`), it does one quick pass on small policies, to keep the code
//! working.

use hwc::analysis::{self, Context};
use hwc::source::{MemoryLoader, SourceMap};
use hwc::testgen::{self, Shape};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--case") {
        let shape = args
            .get(i + 1)
            .and_then(|s| Shape::ALL.into_iter().find(|x| x.name() == s));
        let rules = args.get(i + 2).and_then(|s| s.parse().ok());
        match (shape, rules) {
            (Some(shape), Some(rules)) => case(shape, rules),
            _ => eprintln!("usage: analysis --case SHAPE RULES"),
        }
        return;
    }
    let benching = args.iter().any(|a| a == "--bench");
    let filter: Option<&String> = args.iter().skip(1).find(|a| !a.starts_with('-'));
    let sizes: &[usize] = if benching {
        &[1_000, 10_000, 100_000]
    } else {
        &[300]
    };
    println!(
        "{:<10} {:>7}  {:>17}  {:>17}  {:>17}  {:>17}  {:>8}  {:>8}  target",
        "shape",
        "rules",
        "load med/min ms",
        "prepare med/min",
        "lints med/min",
        "total med/min",
        "findings",
        "peak MB"
    );
    let exe = std::env::current_exe().expect("the bench binary has a path");
    let mut missed = 0;
    for shape in Shape::ALL {
        if filter.is_some_and(|f| !shape.name().contains(f.as_str())) {
            continue;
        }
        for &rules in sizes {
            let out = Command::new(&exe)
                .args(["--case", shape.name(), &rules.to_string()])
                .env("HWC_BENCH_RUNS", runs(rules, benching).to_string())
                .output()
                .expect("the bench can run itself");
            let line = String::from_utf8_lossy(&out.stdout);
            let line = line.trim();
            let (total_ms, peak_mb) = parse_result(line);
            let target_ms = match (rules, shape) {
                (r, _) if r < 10_000 => None,
                (10_000, _) => Some(300.0),
                (_, Shape::Dense) => Some(3000.0),
                _ => Some(1000.0),
            };
            let verdict = match (target_ms, total_ms, peak_mb) {
                (_, _, Some(m)) if m > 500.0 => {
                    missed += 1;
                    "MISSED (memory)".to_string()
                }
                (Some(t), Some(ms), _) if ms > t => {
                    missed += 1;
                    format!("MISSED ({t} ms)")
                }
                (Some(t), Some(_), _) => format!("ok ({t} ms)"),
                (_, None, _) => format!("failed: {}", String::from_utf8_lossy(&out.stderr).trim()),
                (None, _, _) => "-".to_string(),
            };
            println!("{line}  {verdict}");
        }
    }
    if missed > 0 {
        println!("{missed} target(s) missed");
    }
}

fn runs(rules: usize, benching: bool) -> usize {
    if !benching {
        return 1;
    }
    std::env::var("HWC_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if rules >= 100_000 { 1 } else { 3 })
}

/// The median total (ms) and the peak memory (MB) of a case's line.
fn parse_result(line: &str) -> (Option<f64>, Option<f64>) {
    let words: Vec<&str> = line.split_whitespace().collect();
    // shape rules load / min prepare / min lints / min total / min findings peak
    let total = words.get(11).and_then(|w| w.parse().ok());
    let peak = words.get(15).and_then(|w| w.parse().ok());
    (total, peak)
}

/// One case, in this process: prints one line of the table.
fn case(shape: Shape, rules: usize) {
    let n: usize = std::env::var("HWC_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let text = testgen::generate(shape, rules, 42);
    let path = Path::new("bench.hw");
    let loader = MemoryLoader::default().with(path, text);
    let mut load = Vec::new();
    let mut prepare = Vec::new();
    let mut lints = Vec::new();
    let mut total = Vec::new();
    let mut findings = 0;
    for _ in 0..n.max(1) {
        let t0 = Instant::now();
        let mut sources = SourceMap::new();
        let (policy, diags) = hwc::sema::load(path, &loader, &mut sources);
        let Some(policy) = policy else {
            let errors = diags.iter().filter(|d| d.is_error()).count();
            eprintln!("{} {rules}: not loaded: {errors} errors", shape.name());
            return;
        };
        let t1 = Instant::now();
        let ctx = Context::new(&policy);
        let t2 = Instant::now();
        findings = analysis::run(&ctx).len();
        let t3 = Instant::now();
        load.push(t1 - t0);
        prepare.push(t2 - t1);
        lints.push(t3 - t2);
        total.push(t3 - t0);
    }
    if std::env::var_os("HWC_BENCH_DETAIL").is_some() {
        detail(&loader, path);
    }
    println!(
        "{:<10} {:>7}  {:>17}  {:>17}  {:>17}  {:>17}  {:>8}  {:>8.1}",
        shape.name(),
        rules,
        fmt(&mut load),
        fmt(&mut prepare),
        fmt(&mut lints),
        fmt(&mut total),
        findings,
        peak_mb().unwrap_or(f64::NAN)
    );
}

/// "median / min" in milliseconds.
fn fmt(all: &mut [Duration]) -> String {
    all.sort();
    format!(
        "{:.1} / {:.1}",
        all[all.len() / 2].as_secs_f64() * 1e3,
        all[0].as_secs_f64() * 1e3
    )
}

/// The peak resident memory of this process (VmHWM), in MB.
fn peak_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// With `HWC_BENCH_DETAIL` set: the time of each step and each lint, one
/// at a time, on stderr.
fn detail(loader: &MemoryLoader, path: &Path) {
    let mut sources = SourceMap::new();
    let Some(policy) = hwc::sema::load(path, loader, &mut sources).0 else {
        return;
    };
    let t = Instant::now();
    let mut b = hwc::space::SpaceBuilder::new();
    b.add_policy(&policy);
    hwc::analysis::region::add_cuts(&mut b);
    let an = hwc::space::eval::Analysis::with_space(&policy, std::sync::Arc::new(b.build()));
    eprintln!(
        "  analysis build      {:>9.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    if let Ok(an) = &an {
        let t = Instant::now();
        let covered = an.covered_rules(hwc::space::Approx::Over);
        eprintln!(
            "  covered_rules       {:>9.1} ms ({} dead)",
            t.elapsed().as_secs_f64() * 1e3,
            covered.len()
        );
        let t = Instant::now();
        let _ = hwc::analysis::rules::RuleFacts::compute(&policy, an);
        eprintln!(
            "  rule facts (all)    {:>9.1} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
    }
    let ctx = Context::new(&policy);
    if let Ok(only) = std::env::var("HWC_BENCH_LINT") {
        // Profiling aid: run one lint many times.
        for l in analysis::REGISTRY.iter().filter(|l| l.name == only) {
            let t = Instant::now();
            for _ in 0..20 {
                std::hint::black_box((l.check)(&ctx));
            }
            eprintln!(
                "  {:<19} {:>9.1} ms per run",
                l.name,
                t.elapsed().as_secs_f64() * 1e3 / 20.0
            );
        }
        return;
    }
    for l in analysis::REGISTRY {
        let t = Instant::now();
        let n = (l.check)(&ctx).len();
        eprintln!(
            "  {:<19} {:>9.1} ms ({n} findings)",
            l.name,
            t.elapsed().as_secs_f64() * 1e3
        );
    }
}
