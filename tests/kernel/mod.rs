//! Kernel-truth tests: what hwc predicts for real traffic is what the
//! Linux kernel does with the compiled rules. See README.md beside this
//! file.

pub mod findings;
pub mod flows;
pub mod gen;
pub mod lab;
pub mod plan;
pub mod round;

use hwc::ir::{Policy, Test};
use hwc::source::{DiskLoader, MemoryLoader, SourceMap};
use std::collections::BTreeMap;
use std::path::Path;

/// The policy with every user and group *name* replaced by the numeric id
/// of a probe account: users get uid 1001, 1002, 1001, ... and groups gid
/// 1002, 1001, ... in order of first use. Names are resolved on the host
/// when rules load, and users are not namespaced: the tests never create
/// accounts, so they compile and evaluate this copy instead.
pub fn numeric_accounts(policy: &Policy) -> Policy {
    let mut p = policy.clone();
    let mut users: BTreeMap<String, u32> = BTreeMap::new();
    let mut groups: BTreeMap<String, u32> = BTreeMap::new();
    let mut conds: Vec<&mut hwc::ir::Cond> = Vec::new();
    for chain in &mut p.chains {
        for rule in &mut chain.rules {
            conds.extend(rule.matches.conds.iter_mut());
        }
    }
    for e in &mut p.egress {
        conds.push(&mut e.selector);
        for m in &mut e.allowed {
            conds.extend(m.conds.iter_mut());
        }
    }
    for a in &mut p.assertions {
        conds.extend(a.matches.conds.iter_mut());
    }
    for cond in conds {
        let (ranges, map, ids) = match &mut cond.test {
            Test::Uid(r) => (r, &mut users, [1001, 1002]),
            Test::Gid(r) => (r, &mut groups, [1002, 1001]),
            _ => continue,
        };
        for r in ranges.iter_mut() {
            if let Some(name) = r.host_name.take() {
                let n = map.len();
                let id = *map.entry(name).or_insert(ids[n % 2]);
                r.lo = id;
                r.hi = id;
            }
        }
    }
    p
}

/// Loads a policy file (path relative to the crate, as rule comments show
/// it).
pub fn load_file(rel: &str) -> (Policy, SourceMap) {
    let mut sources = SourceMap::new();
    let abs = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let path = if std::env::current_dir().is_ok_and(|d| d.join(rel).is_file()) {
        Path::new(rel).to_path_buf()
    } else {
        abs
    };
    let (policy, diags) = hwc::sema::load(&path, &DiskLoader, &mut sources);
    let policy = policy.unwrap_or_else(|| panic!("{rel} does not load: {diags:#?}"));
    (numeric_accounts(&policy), sources)
}

/// Loads policy text given in the test under the file name `name`.
pub fn load_text(name: &str, text: &str) -> (Policy, SourceMap) {
    let mut sources = SourceMap::new();
    let loader = MemoryLoader::default().with(name, text);
    let (policy, diags) = hwc::sema::load(Path::new(name), &loader, &mut sources);
    let errors: Vec<String> = diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{}: {}", d.code, d.message))
        .collect();
    let policy = policy.unwrap_or_else(|| panic!("{name} does not load: {errors:#?}\n{text}"));
    (numeric_accounts(&policy), sources)
}
