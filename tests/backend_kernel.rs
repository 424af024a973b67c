//! The netfilter facts the lowering relies on, checked against the kernel
//! in throw-away network namespaces: a UDP datagram to 127.0.0.1 is sent
//! (the write succeeds) or dropped in OUTPUT (the write fails with EPERM).
//!
//! The tail-chain lowering of `return` and `goto` assumes: when a base chain
//! enters a chain with `goto` and that chain returns, the base chain's
//! policy applies (the base chain does not continue). With `jump` it does
//! continue. Both are checked, for iptables (nf_tables and legacy) and nft.

mod netns;

/// Whether the output hook lets a UDP datagram to 127.0.0.1:9 through.
fn sends(ns: &netns::Netns) -> bool {
    let out = ns.sh("echo x > /dev/udp/127.0.0.1/9");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() || err.contains("not permitted"),
        "unexpected failure: {err}"
    );
    out.status.success()
}

fn ready() -> Option<netns::Netns> {
    if !netns::have_tools(&["bash", "iptables-restore", "nft"]) {
        return None;
    }
    let ns = netns::Netns::new()?;
    ns.ok("ip", &["link", "set", "lo", "up"], None)
        .expect("lo up");
    assert!(sends(&ns), "an empty ruleset must let the datagram through");
    Some(ns)
}

fn xt(call: &str) -> String {
    format!(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT DROP [0:0]\n:H - [0:0]\n\
         -A OUTPUT -p udp {call} H\n-A OUTPUT -j ACCEPT\n-A H -j RETURN\nCOMMIT\n"
    )
}

fn nft(call: &str) -> String {
    format!(
        "table inet t {{}}\ndelete table inet t\ntable inet t {{\n\tchain h {{\n\t\treturn\n\t}}\n\
         \tchain output {{\n\t\ttype filter hook output priority filter; policy drop;\n\
         \t\tmeta l4proto udp {call} h\n\t\taccept\n\t}}\n}}\n"
    )
}

#[test]
fn return_after_goto_from_a_base_chain_applies_its_policy_iptables() {
    for restore in ["iptables-restore", "iptables-legacy-restore"] {
        if !netns::have_tools(&[restore]) {
            continue;
        }
        let Some(ns) = ready() else { return };
        ns.ok(restore, &[], Some(&xt("-j"))).expect("load");
        assert!(
            sends(&ns),
            "{restore}: after a jump the base chain continues"
        );
        ns.ok(restore, &[], Some(&xt("-g"))).expect("load");
        assert!(
            !sends(&ns),
            "{restore}: after a goto the base policy applies"
        );
    }
}

#[test]
fn return_after_goto_from_a_base_chain_applies_its_policy_nft() {
    let Some(ns) = ready() else { return };
    ns.ok("nft", &["-f", "-"], Some(&nft("jump")))
        .expect("load");
    assert!(sends(&ns), "nft: after a jump the base chain continues");
    ns.ok("nft", &["-f", "-"], Some(&nft("goto")))
        .expect("load");
    assert!(!sends(&ns), "nft: after a goto the base policy applies");
}

/// `drop not user root` in output, as both backends write it: root's
/// datagrams pass, another user's are dropped.
#[test]
fn negated_owner_rule_behaves_in_the_kernel() {
    use hwc::backend::{compile, Target};
    use hwc::ir::*;
    use hwc::source::Span;
    if !netns::have_tools(&["setpriv"]) {
        return;
    }
    let mut not_root = Cond::new(
        Test::Uid(vec![OwnerRange {
            lo: 0,
            hi: 0,
            host_name: None,
        }]),
        Span::default(),
    )
    .negate();
    not_root.owner_negation = OwnerNegation::Xt;
    let policy = Policy {
        name: "owner".into(),
        family: FamilySet::INET,
        origin: Origin::Policy,
        chains: vec![Chain {
            name: "output".into(),
            kind: ChainKind::Base(Hook::Output),
            policy: Some(Verdict::Accept),
            rules: vec![Rule {
                matches: Match {
                    conds: vec![not_root],
                },
                action: Action::Drop,
                span: Span::default(),
                allow: Vec::new(),
                comment: None,
            }],
            span: Span::default(),
            allow: Vec::new(),
        }],
        assertions: Vec::new(),
        egress: Vec::new(),
        definitions: Vec::new(),
        span: Span::default(),
    };
    let as_nobody = |ns: &netns::Netns| {
        let out = ns.run(
            "setpriv",
            &[
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "bash",
                "-c",
                "echo x > /dev/udp/127.0.0.1/9",
            ],
            None,
        );
        out.status.success()
    };
    for target in [Target::Iptables, Target::Nftables] {
        let Some(ns) = ready() else { return };
        assert!(as_nobody(&ns), "nobody can send before any rule");
        for a in compile(&policy, None, target).expect("compiles") {
            let (tool, args): (&str, &[&str]) = match a.suffix {
                "ipt4" => ("iptables-restore", &[]),
                "ipt6" => ("ip6tables-restore", &[]),
                _ => ("nft", &["-f", "-"]),
            };
            ns.ok(tool, args, Some(&a.text)).expect("load");
        }
        assert!(sends(&ns), "{target:?}: root's datagram must pass");
        assert!(
            !as_nobody(&ns),
            "{target:?}: another user's datagram must be dropped"
        );
    }
}
