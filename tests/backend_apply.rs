//! `hwc apply` end to end inside throw-away network namespaces: a
//! confirmed apply keeps the new rules, an unconfirmed one restores the
//! previous rules, a failed load changes nothing, and nft applies leave
//! other tables alone.

mod netns;

use hwc::backend::{compile, Artifact, Target};
use hwc::cli::apply::{apply, ApplyOptions, Outcome};
use hwc::ir::*;
use hwc::source::Span;
use std::sync::mpsc::channel;

fn policy(name: &str, input_policy: Verdict, ssh_port: u16) -> Policy {
    let tcp = L4 {
        proto: 6,
        sport: None,
        dport: Some(PortSet {
            name: None,
            ranges: vec![(ssh_port, ssh_port)],
        }),
        icmp: None,
        service: None,
    };
    Policy {
        name: name.into(),
        family: FamilySet::INET,
        origin: Origin::Policy,
        chains: vec![Chain {
            name: "input".into(),
            kind: ChainKind::Base(Hook::Input),
            policy: Some(input_policy),
            rules: vec![Rule {
                matches: Match {
                    conds: vec![Cond::new(Test::L4(vec![tcp]), Span::default())],
                },
                action: Action::Accept,
                span: Span::default(),
                allow: Vec::new(),
                comment: Some(format!("{name} ssh")),
            }],
            span: Span::default(),
            allow: Vec::new(),
        }],
        assertions: Vec::new(),
        egress: Vec::new(),
        definitions: Vec::new(),
        span: Span::default(),
    }
}

fn artifacts(p: &Policy, target: Target) -> Vec<Artifact> {
    compile(p, None, target).expect("compiles")
}

/// The filter tables of both families, without counters and comments
/// that carry dates.
fn iptables_state(ns: &netns::Netns) -> String {
    let mut s = String::new();
    for tool in ["iptables-save", "ip6tables-save"] {
        let out = ns.ok(tool, &["-t", "filter"], None).expect("save");
        for line in out.lines().filter(|l| !l.starts_with('#')) {
            s.push_str(line);
            s.push('\n');
        }
    }
    s
}

fn nft_state(ns: &netns::Netns) -> String {
    ns.ok("nft", &["list", "ruleset"], None).expect("nft list")
}

fn run(
    arts: &[Artifact],
    ns: &netns::Netns,
    target: Target,
    answer: Option<&str>,
    confirm: u64,
) -> Result<Outcome, String> {
    let (tx, rx) = channel();
    if let Some(a) = answer {
        tx.send(format!("{a}\n")).expect("send");
    }
    drop(tx);
    let opts = ApplyOptions {
        target,
        confirm,
        netns: Some(ns.name().to_string()),
    };
    let mut status = Vec::new();
    apply(arts, &opts, &rx, &mut status)
}

fn ready(tools: &[&str]) -> Option<netns::Netns> {
    if !netns::have_tools(tools) {
        return None;
    }
    netns::Netns::new()
}

#[test]
fn iptables_confirmed_apply_stays_and_unconfirmed_rolls_back() {
    let Some(ns) = ready(&["iptables-restore", "ip6tables-restore", "iptables-save"]) else {
        return;
    };
    let a = artifacts(&policy("good", Verdict::Drop, 22), Target::Iptables);
    assert_eq!(
        run(&a, &ns, Target::Iptables, Some("yes"), 5),
        Ok(Outcome::Kept)
    );
    let kept = iptables_state(&ns);
    assert!(
        kept.contains(":INPUT DROP") && kept.contains("good ssh"),
        "{kept}"
    );

    let b = artifacts(&policy("bad", Verdict::Drop, 2222), Target::Iptables);
    let out = run(&b, &ns, Target::Iptables, None, 5).expect("apply runs");
    assert!(matches!(out, Outcome::RolledBack(_)), "{out:?}");
    assert_eq!(iptables_state(&ns), kept);

    let out = run(&b, &ns, Target::Iptables, Some("no"), 5).expect("apply runs");
    assert!(
        matches!(out, Outcome::RolledBack(ref why) if why.contains("`no`")),
        "{out:?}"
    );
    assert_eq!(iptables_state(&ns), kept);
}

#[test]
fn iptables_failed_load_changes_nothing() {
    let Some(ns) = ready(&["iptables-restore", "ip6tables-restore", "iptables-save"]) else {
        return;
    };
    let a = artifacts(&policy("good", Verdict::Drop, 22), Target::Iptables);
    assert_eq!(run(&a, &ns, Target::Iptables, None, 0), Ok(Outcome::Kept));
    let kept = iptables_state(&ns);
    // The IPv4 text loads, the IPv6 text does not: both must be undone.
    let mut broken = artifacts(&policy("new", Verdict::Accept, 80), Target::Iptables);
    broken[1].text = broken[1].text.replace("-j ACCEPT", "-j NO-SUCH-TARGET");
    let err = run(&broken, &ns, Target::Iptables, Some("yes"), 5).expect_err("load fails");
    assert!(err.contains("previous rules are back"), "{err}");
    assert_eq!(iptables_state(&ns), kept);
}

#[test]
fn nft_apply_replaces_only_hwc_tables() {
    let Some(ns) = ready(&["nft"]) else {
        return;
    };
    ns.ok(
        "nft",
        &["-f", "-"],
        Some("table ip docker {\n\tchain x {\n\t}\n}\n"),
    )
    .expect("other table");
    let a = artifacts(&policy("good", Verdict::Drop, 22), Target::Nftables);
    assert_eq!(
        run(&a, &ns, Target::Nftables, Some("yes"), 5),
        Ok(Outcome::Kept)
    );
    let kept = nft_state(&ns);
    assert!(
        kept.contains("table ip docker") && kept.contains("good ssh"),
        "{kept}"
    );

    let b = artifacts(&policy("bad", Verdict::Drop, 2222), Target::Nftables);
    let out = run(&b, &ns, Target::Nftables, None, 5).expect("apply runs");
    assert!(matches!(out, Outcome::RolledBack(_)), "{out:?}");
    assert_eq!(nft_state(&ns), kept);

    // A timeout restores too: the answer channel stays open but silent.
    let (tx, rx) = channel::<String>();
    let opts = ApplyOptions {
        target: Target::Nftables,
        confirm: 1,
        netns: Some(ns.name().to_string()),
    };
    let out = apply(&b, &opts, &rx, &mut Vec::new()).expect("apply runs");
    drop(tx);
    assert!(
        matches!(out, Outcome::RolledBack(ref why) if why.contains("1 seconds")),
        "{out:?}"
    );
    assert_eq!(nft_state(&ns), kept);
}

#[test]
fn nft_apply_into_an_empty_namespace_and_back() {
    let Some(ns) = ready(&["nft"]) else {
        return;
    };
    let before = nft_state(&ns);
    let b = artifacts(&policy("bad", Verdict::Drop, 2222), Target::Nftables);
    let out = run(&b, &ns, Target::Nftables, Some("nope"), 5).expect("apply runs");
    assert!(matches!(out, Outcome::RolledBack(_)));
    assert_eq!(nft_state(&ns), before);
}

/// The CLI end to end, and the watchdog: `hwc apply` is killed while it
/// waits for `yes` (as when an SSH session drops); the watchdog must put
/// the previous rules back on its own.
#[test]
fn killed_apply_is_rolled_back_by_the_watchdog() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let Some(ns) = ready(&["nft"]) else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("hwc-apply-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let good = dir.join("good.hw");
    let bad = dir.join("bad.hw");
    let policy = |port: u16| {
        format!(
            "policy p {{ family inet }}\nchain input policy drop {{\n  accept iface lo\n  accept state new tcp {port}\n}}\nchain output policy accept {{}}\nchain forward policy drop {{}}\n"
        )
    };
    std::fs::write(&good, policy(22)).expect("write");
    std::fs::write(&bad, policy(2222)).expect("write");
    let hwc = env!("CARGO_BIN_EXE_hwc");
    let status = Command::new(hwc)
        .args(["apply", "--netns", ns.name(), "--confirm", "0"])
        .arg(&good)
        .stdin(Stdio::null())
        .output()
        .expect("run hwc");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let kept = nft_state(&ns);
    assert!(kept.contains("dport 22"), "{kept}");

    let mut child = Command::new(hwc)
        .args(["apply", "--netns", ns.name(), "--confirm", "1"])
        .arg(&bad)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("run hwc");
    // Wait until the new rules are in, then kill hwc without a word.
    let mut err = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    while err.read_line(&mut line).expect("read") > 0 && !line.contains("loaded") {
        line.clear();
    }
    assert!(
        nft_state(&ns).contains("dport 2222"),
        "the new rules were not loaded"
    );
    child.kill().expect("kill hwc");
    let _ = child.wait();
    // The watchdog waits the confirmation time plus its grace period.
    let deadline = std::time::Instant::now()
        + std::time::Duration::from_secs(1 + hwc::cli::apply::WATCHDOG_GRACE + 10);
    while nft_state(&ns) != kept && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    assert_eq!(
        nft_state(&ns),
        kept,
        "the watchdog did not restore the rules"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn apply_refuses_without_root() {
    use std::process::Command;
    if !netns::have_tools(&["setpriv"]) {
        return;
    }
    let hwc = env!("CARGO_BIN_EXE_hwc");
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            hwc,
            "apply",
            "x.hw",
        ])
        .output()
        .expect("run setpriv");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("setpriv:") {
        // Not root, so setpriv itself cannot drop to another user.
        eprintln!("!!! SKIPPED: setpriv cannot switch users here: {stderr}");
        assert!(std::env::var_os("CI").is_none(), "CI runs as root");
        return;
    }
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("must run as root"), "{stderr}");
}
