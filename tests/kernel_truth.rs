//! Kernel-truth tests (tests/kernel/README.md): the compiled policies,
//! loaded into a network namespace, do to real traffic exactly what hwc's
//! evaluators predict.

mod kernel;
mod netns;

use hwc::backend::Target;
use kernel::flows::Predictor;
use kernel::round::{self, Report};
use kernel::{lab, plan};

const TARGETS: [Target; 2] = [Target::Iptables, Target::Nftables];

/// Probes a policy with both backends; `None` when the lab cannot run.
fn probe_policy(
    name: &str,
    policy: &hwc::ir::Policy,
    sources: &hwc::source::SourceMap,
    seed: u64,
    budget: usize,
) -> Option<Report> {
    let pr = Predictor::new(policy);
    let plan = plan::plan(&pr, seed, budget);
    assert!(
        plan.engine_disagreements.is_empty(),
        "{name}: the box evaluator and the reference evaluator disagree:\n{}",
        plan.engine_disagreements.join("\n")
    );
    let mut total = Report::default();
    for t in TARGETS {
        let label = format!("{name} [{}]", t.name());
        let r = round::run(policy, sources, t, &plan, &label)?;
        eprintln!(
            "{label}: {} probes ({} unsure left out): {}",
            r.probes,
            plan.unsure,
            r.table()
        );
        total.add(&r);
    }
    Some(total)
}

fn assert_agree(what: &str, r: &Report) {
    assert!(
        r.mismatches.is_empty(),
        "{what}: {} of {} probes disagree with the prediction:\n{}",
        r.mismatches.len(),
        r.probes,
        r.mismatches.join("\n")
    );
}

#[test]
fn examples_behave_in_the_kernel_as_predicted() {
    if !lab::ready() {
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("examples")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".hw"))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no examples");
    let mut total = Report::default();
    for (i, n) in names.iter().enumerate() {
        let rel = format!("examples/{n}");
        let (policy, sources) = kernel::load_file(&rel);
        let Some(r) = probe_policy(&rel, &policy, &sources, i as u64, 90) else {
            return;
        };
        total.add(&r);
    }
    eprintln!("examples: {} probes: {}", total.probes, total.table());
    assert_agree("examples", &total);
}

/// Probes the random policies of `seeds` (tests/kernel/gen.rs).
fn random_policies(seeds: std::ops::Range<u64>) {
    if !lab::ready() {
        return;
    }
    let mut total = Report::default();
    for seed in seeds {
        let name = format!("random-{seed}.hw");
        let text = kernel::gen::policy(seed);
        let (policy, sources) = kernel::load_text(&name, &text);
        let Some(mut r) = probe_policy(&name, &policy, &sources, seed, 60) else {
            return;
        };
        if !r.mismatches.is_empty() {
            r.mismatches.push(format!("{name}:\n{text}"));
        }
        total.add(&r);
    }
    eprintln!(
        "random policies: {} probes: {}",
        total.probes,
        total.table()
    );
    assert_agree("random policies", &total);
}

#[test]
fn random_policies_behave_in_the_kernel_as_predicted_0() {
    random_policies(0..16);
}

#[test]
fn random_policies_behave_in_the_kernel_as_predicted_1() {
    random_policies(16..32);
}
