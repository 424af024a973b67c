//! Every policy in `examples/` compiles to both targets, and every
//! generated text loads into a real kernel (inside a throw-away network
//! namespace). The generated text is snapshotted next to its source.

mod netns;

use hwc::backend::{iptables, nftables};
use hwc::source::{DiskLoader, SourceMap};
use std::path::{Path, PathBuf};

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("examples directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "hw"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_example_compiles_and_loads() {
    let files = examples();
    assert!(!files.is_empty(), "no examples found");
    let tools = netns::have_tools(&["iptables-restore", "ip6tables-restore", "nft"]);
    let mut compiled = 0;
    for path in &files {
        let name = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        // Comments name the file as the CLI would print it.
        let rel = Path::new("examples").join(path.file_name().unwrap_or_default());
        let mut sources = SourceMap::new();
        let (policy, diags) = hwc::sema::load(&rel_or_abs(&rel, path), &DiskLoader, &mut sources);
        let Some(policy) = policy else {
            // A policy the front end rejects is the front end's business
            // (`hwc check` reports it); say so loudly here.
            eprintln!(
                "!!! {} does not load ({} errors, first: {}); not compiled",
                rel.display(),
                diags.iter().filter(|d| d.is_error()).count(),
                diags
                    .iter()
                    .find(|d| d.is_error())
                    .map(|d| d.message.as_str())
                    .unwrap_or("?")
            );
            continue;
        };
        let ipt = iptables::emit(&policy, Some(&sources))
            .unwrap_or_else(|d| panic!("{}: iptables: {d:#?}", rel.display()));
        let nft = nftables::emit(&policy, Some(&sources))
            .unwrap_or_else(|d| panic!("{}: nftables: {d:#?}", rel.display()));
        if tools {
            // User and group names are resolved by the tools when the rules
            // load; names this host lacks become their symbolic ids for the
            // kernel check (the snapshot keeps the names).
            let local = with_local_accounts(&policy);
            let ipt = iptables::emit(&local, Some(&sources)).expect("iptables");
            let nft = nftables::emit(&local, Some(&sources)).expect("nftables");
            if let Some(ns) = netns::Netns::new() {
                for (v6, text) in [(false, &ipt.v4), (true, &ipt.v6)] {
                    if let Some(t) = text {
                        ns.check_iptables(v6, t)
                            .unwrap_or_else(|e| panic!("{}: {e}\n{t}", rel.display()));
                    }
                }
                ns.check_nft(&nft)
                    .unwrap_or_else(|e| panic!("{}: {e}\n{nft}", rel.display()));
            }
        }
        let mut snap = String::new();
        if let Some(t) = &ipt.v4 {
            snap += &format!("# iptables-restore\n{t}");
        }
        if let Some(t) = &ipt.v6 {
            snap += &format!("# ip6tables-restore\n{t}");
        }
        snap += &format!("# nft -f\n{nft}");
        insta::assert_snapshot!(format!("example_{name}"), snap);
        compiled += 1;
    }
    assert!(compiled > 0, "no example loaded");
}

/// Whether the host knows an account name (`/etc/passwd` or `/etc/group`).
fn known_account(name: &str, group: bool) -> bool {
    let file = if group { "/etc/group" } else { "/etc/passwd" };
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(':').next() == Some(name))
}

/// The policy with every user or group name this host lacks replaced by
/// its symbolic id.
fn with_local_accounts(policy: &hwc::ir::Policy) -> hwc::ir::Policy {
    use hwc::ir::Test;
    let mut p = policy.clone();
    for chain in &mut p.chains {
        for rule in &mut chain.rules {
            for cond in &mut rule.matches.conds {
                let (ranges, group) = match &mut cond.test {
                    Test::Uid(r) => (r, false),
                    Test::Gid(r) => (r, true),
                    _ => continue,
                };
                for r in ranges.iter_mut() {
                    if r.host_name
                        .as_deref()
                        .is_some_and(|n| !known_account(n, group))
                    {
                        r.host_name = None;
                    }
                }
            }
        }
    }
    p
}

/// The path relative to the crate root when the test runs there (so that
/// comments read `examples/NAME.hw:LINE`), else the absolute path.
fn rel_or_abs(rel: &Path, abs: &Path) -> PathBuf {
    if rel.exists() {
        rel.to_path_buf()
    } else {
        abs.to_path_buf()
    }
}

/// The generated policies of every `hwc::testgen` shape compile to both
/// targets and load into the kernel.
#[test]
fn generated_policies_compile_and_load() {
    use hwc::source::MemoryLoader;
    use hwc::testgen::{self, Shape};
    let tools = netns::have_tools(&["iptables-restore", "ip6tables-restore", "nft"]);
    for shape in Shape::ALL {
        for seed in [1, 2] {
            let text = testgen::generate(shape, 600, seed);
            let path = Path::new("gen.hw");
            let loader = MemoryLoader::default().with(path, text);
            let mut sources = SourceMap::new();
            let (policy, diags) = hwc::sema::load(path, &loader, &mut sources);
            let policy = policy.unwrap_or_else(|| panic!("{}: {diags:#?}", shape.name()));
            let ipt = iptables::emit(&policy, Some(&sources))
                .unwrap_or_else(|d| panic!("{} iptables: {d:#?}", shape.name()));
            let nft = nftables::emit(&policy, Some(&sources))
                .unwrap_or_else(|d| panic!("{} nftables: {d:#?}", shape.name()));
            if !tools {
                continue;
            }
            let Some(ns) = netns::Netns::new() else {
                continue;
            };
            for (v6, text) in [(false, &ipt.v4), (true, &ipt.v6)] {
                if let Some(t) = text {
                    ns.check_iptables(v6, t)
                        .unwrap_or_else(|e| panic!("{} seed {seed}: {e}", shape.name()));
                }
            }
            ns.check_nft(&nft)
                .unwrap_or_else(|e| panic!("{} seed {seed}: {e}", shape.name()));
        }
    }
}
