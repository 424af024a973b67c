//! `cargo bench --bench workflow`: the `hwc` binary end to end, as a
//! pre-commit hook runs it: `hwc check` on 50 example-size policies in one
//! invocation (target: under 100 ms), and `hwc fmt --check` on the same.
//!
//! The files are the policies of examples/, copied round-robin into a
//! temporary directory. Prints the median and the minimum wall-clock time
//! of repeated runs (process start to exit); on a shared machine the
//! minimum is the figure to compare. `HWC_BENCH_RUNS` sets the number of
//! runs (default 15). Run by `cargo test --all-targets` (without
//! `--bench`), it does one run of each, to keep the code working.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const FILES: usize = 50;
const TARGET: Duration = Duration::from_millis(100);

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let runs = if benching {
        std::env::var("HWC_BENCH_RUNS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(15)
    } else {
        1
    };
    let dir = std::env::temp_dir().join(format!("hwc-bench-workflow-{}", std::process::id()));
    let files = write_files(&dir);
    let lines: usize = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap().lines().count())
        .sum();
    println!(
        "{FILES} files, {lines} lines in all, {} runs each; wall-clock ms, median / min",
        runs
    );
    let check = time(runs, &["check"], &files, &[0, 1]);
    report("hwc check (50 files)", check, Some(TARGET));
    let fmt = time(runs, &["fmt", "--check"], &files, &[0, 1]);
    report("hwc fmt --check (50 files)", fmt, None);
    let _ = std::fs::remove_dir_all(&dir);
}

fn write_files(dir: &Path) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut examples: Vec<PathBuf> = std::fs::read_dir(root.join("examples"))
        .expect("examples/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "hw"))
        .collect();
    examples.sort();
    assert!(!examples.is_empty(), "no examples/*.hw");
    std::fs::create_dir_all(dir).unwrap();
    (0..FILES)
        .map(|i| {
            let src = &examples[i % examples.len()];
            let stem = src.file_stem().unwrap().to_string_lossy();
            let dst = dir.join(format!("{stem}-{i:02}.hw"));
            std::fs::copy(src, &dst).unwrap();
            dst
        })
        .collect()
}

/// Runs `hwc ARGS FILES` `runs` times; returns the sorted durations.
fn time(runs: usize, args: &[&str], files: &[PathBuf], ok_codes: &[i32]) -> Vec<Duration> {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let out = Command::new(env!("CARGO_BIN_EXE_hwc"))
                .args(args)
                .args(files)
                .env("NO_COLOR", "1")
                .output()
                .expect("cannot run hwc");
            let took = start.elapsed();
            let code = out.status.code().unwrap_or(-1);
            assert!(
                ok_codes.contains(&code),
                "hwc {args:?} exited with {code}:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            took
        })
        .collect();
    times.sort();
    times
}

fn report(what: &str, times: Vec<Duration>, target: Option<Duration>) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = times[times.len() / 2];
    let min = times[0];
    let verdict = match target {
        Some(t) if min <= t => format!("  (target {} ms: met)", t.as_millis()),
        Some(t) => format!("  (target {} ms: MISSED)", t.as_millis()),
        None => String::new(),
    };
    println!("{what:<28} {:>8.1} / {:>8.1}{verdict}", ms(median), ms(min));
}
