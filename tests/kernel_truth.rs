//! Kernel-truth tests (tests/kernel/README.md): the compiled policies,
//! loaded into a network namespace, do to real traffic exactly what hwc's
//! evaluators predict.

mod kernel;
mod netns;

use hwc::backend::Target;
use kernel::flows::Predictor;
use kernel::round::{self, Report};
use kernel::{lab, plan};
use std::net::IpAddr;

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

/// The `nonroot-egress` finding of examples/seed.hw, in the kernel: the
/// engine's witnesses (a non-root user's echo request, a non-root user's
/// DNS query to the resolver) leave the hut and arrive at the peer; for
/// TCP the engine finds no witness, and a non-root connect never arrives.
#[test]
fn nonroot_egress_witnesses_leave_the_hut() {
    use hwc::ir::dim::{PROTO_ICMP, PROTO_TCP, PROTO_UDP};
    use hwc::ir::{CtState, Hook, Owner};
    use hwc::space::{Analysis, Answer, Approx};
    use kernel::findings::{self, class, conj, nonroot_egress, sendable_v4};
    use kernel::flows::{End, Flow, Kind, Outcome, Who};
    use serde_json::json;

    if !lab::ready() {
        return;
    }
    let (policy, sources) = kernel::load_file("examples/seed.hw");
    let dns = |c: hwc::ir::Cond| {
        let mut c = c;
        if let hwc::ir::Test::L4(alts) = &mut c.test {
            alts[0].dport = Some(hwc::ir::PortSet {
                name: None,
                ranges: vec![(53, 53)],
            });
        }
        c
    };
    let classes = [
        ("icmp echo-request", class(PROTO_ICMP)),
        ("udp 53", dns(class(PROTO_UDP))),
        ("tcp", class(PROTO_TCP)),
    ];
    let queries: Vec<hwc::ir::Match> = classes
        .iter()
        .map(|(_, c)| conj(vec![nonroot_egress(), sendable_v4(), vec![c.clone()]]))
        .collect();
    let an = Analysis::with_queries(&policy, &queries).expect("the analysis builds");
    let accepted = an.accepted(Hook::Output, Approx::Under);
    let mut witnesses = Vec::new();
    for ((what, _), q) in classes.iter().zip(&queries) {
        let set = an
            .match_set(q, Approx::Under)
            .expect("the query is aligned");
        match accepted.intersect(&set).check() {
            Answer::Witness(w) => {
                assert_ne!(*what, "tcp", "seed.hw lets non-root users open tcp: {w}");
                assert!(
                    matches!(w.owner, Owner::Socket { uid, .. } if uid != 0)
                        && w.state == CtState::New
                        && w.oif == "eth0",
                    "{what}: not a non-root NEW packet: {w}"
                );
                eprintln!("nonroot-egress witness ({what}): {w}");
                witnesses.push(w);
            }
            Answer::Empty => assert_eq!(*what, "tcp", "no {what} witness in seed.hw"),
            Answer::Unknown => panic!("{what}: the engine ran out of budget"),
        }
    }
    assert_eq!(witnesses.len(), 2, "an ICMP and a DNS witness");
    let dns_server = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 53));
    assert_eq!(
        witnesses[1].dst, dns_server,
        "the DNS witness asks the resolver"
    );
    assert_eq!(witnesses[1].dport, Some(53));

    // The flows: each witness as its user; a non-root TCP connect.
    let mut flows = Vec::new();
    for (i, w) in witnesses.iter().enumerate() {
        let Owner::Socket { uid, gid } = w.owner else {
            unreachable!("checked above")
        };
        let kind = if w.proto == PROTO_ICMP {
            Kind::Icmp
        } else {
            Kind::Udp
        };
        flows.push(Flow {
            id: format!("w{i}"),
            kind,
            client: End {
                who: Who::Hut { uid, gid },
                addr: w.src,
                port: w.sport.unwrap_or(4242),
            },
            server: End {
                who: Who::Peer,
                addr: w.dst,
                port: w.dport.unwrap_or(0),
            },
            kept: false,
        });
    }
    flows.push(Flow {
        id: "tcp".into(),
        kind: Kind::Tcp,
        client: End {
            who: Who::Hut {
                uid: 1001,
                gid: 1001,
            },
            addr: lab::HUT_V4.into(),
            port: 40100,
        },
        server: End {
            who: Who::Peer,
            addr: dns_server,
            port: 53,
        },
        kept: false,
    });
    let pr = Predictor::new(&policy);
    let want: Vec<Outcome> = flows
        .iter()
        .map(|f| pr.predict(f).map(|p| p.outcome).expect("predictable"))
        .collect();
    assert_eq!(
        want,
        [Outcome::Reply, Outcome::Reply, Outcome::ConnectTimeout],
        "the witnesses get out, the tcp connect does not"
    );
    let peer_addrs: Vec<IpAddr> = flows.iter().map(|f| f.server.addr).collect();
    for target in TARGETS {
        let Some(lab) = lab::Lab::new(&peer_addrs) else {
            return;
        };
        for f in &flows {
            let what = match f.kind {
                Kind::Icmp => "icmp type echo-request".to_string(),
                Kind::Udp => format!("udp sport {} udp dport {}", f.client.port, f.server.port),
                Kind::Tcp => format!("tcp sport {} tcp dport {}", f.client.port, f.server.port),
            };
            findings::peer_count(&lab, &f.id, f.client.addr, f.server.addr, &what);
        }
        let mut peer = lab.agent(false, 0, 0);
        peer.call(&json!({"op": "listen",
            "tcp": [[dns_server.to_string(), 53]],
            "udp": [[dns_server.to_string(), 53]]}));
        round::load(&lab, &policy, &sources, target);
        for (f, want) in flows.iter().zip(&want) {
            let Who::Hut { uid, gid } = f.client.who else {
                unreachable!("hut clients")
            };
            let mut a = lab.agent(true, uid, gid);
            let got = a.call(&json!({"op": "probe", "quiet": round::quiet(),
                "probes": [round::probe_json(f, false)]}));
            let seen = got["results"][&f.id].as_str().unwrap_or("?").to_string();
            let arrived = findings::peer_counted(&lab, &f.id);
            eprintln!(
                "[{}] {f}: {seen}, {arrived} packet(s) at the peer",
                target.name()
            );
            assert_eq!(seen, want.name(), "[{}] {f}", target.name());
            if f.kind == Kind::Tcp {
                assert_eq!(
                    arrived,
                    0,
                    "[{}] a non-root tcp connect got out",
                    target.name()
                );
            } else {
                assert!(
                    arrived >= 1,
                    "[{}] the witness {f} did not arrive",
                    target.name()
                );
            }
        }
    }
}

/// The `shadowed` finding, in the kernel: rules the engine proves covered
/// count no packet while the packets of their matches are sent, and the
/// rules that cover them count them all.
#[test]
fn shadowed_rules_count_no_packet() {
    use hwc::space::{Analysis, Approx, Coverage, RuleRef};
    use kernel::flows::{End, Flow, Kind, Outcome, Who};
    use kernel::plan::{listener_of, Plan, Planned};

    if !lab::ready() {
        return;
    }
    let text = "\
policy shadow {
  family ip
}
chain input policy drop {
  accept state established, related
  drop tcp 1000-2000
  accept tcp 1500
  accept udp 53 from 198.51.100.0/24
  drop udp 53 from 198.51.100.7
  accept icmp echo-request
}
chain output policy accept {
  accept user uid 1001
  drop user uid 1001 udp 53
}
";
    let (policy, sources) = kernel::load_text("shadow.hw", text);
    let input = policy.chain_id("input").expect("input");
    let output = policy.chain_id("output").expect("output");
    let rule = |chain, index| RuleRef { chain, index };
    // (shadowed rule, its line, the covering rule, its line)
    let shadows = [
        (rule(input, 2), 7, rule(input, 1), 6),
        (rule(input, 4), 9, rule(input, 3), 8),
        (rule(output, 1), 14, rule(output, 0), 13),
    ];
    let an = Analysis::new(&policy).expect("the analysis builds");
    for (r, line, by, _) in shadows {
        match an.coverage(r, Approx::Over) {
            Coverage::Covered { by: rules } => assert!(
                rules.contains(&by),
                "line {line} is covered by {rules:?}, not by {by:?}"
            ),
            other => panic!("line {line} is not covered: {other:?}"),
        }
    }

    // The packets of the shadowed rules' matches.
    let hut: IpAddr = lab::HUT_V4.into();
    let peer: IpAddr = lab::PEER_V4.into();
    let admin: IpAddr = "198.51.100.7".parse().expect("address");
    let flow = |id: String, kind, client: End, server: End| Flow {
        id,
        kind,
        client,
        server,
        kept: false,
    };
    let mut flows = Vec::new();
    for i in 0..3u16 {
        flows.push(flow(
            format!("t{i}"),
            Kind::Tcp,
            End {
                who: Who::Peer,
                addr: peer,
                port: 41000 + i,
            },
            End {
                who: listener_of(Kind::Tcp, 1500),
                addr: hut,
                port: 1500,
            },
        ));
        flows.push(flow(
            format!("u{i}"),
            Kind::Udp,
            End {
                who: Who::Peer,
                addr: admin,
                port: 42000 + i,
            },
            End {
                who: listener_of(Kind::Udp, 53),
                addr: hut,
                port: 53,
            },
        ));
        flows.push(flow(
            format!("o{i}"),
            Kind::Udp,
            End {
                who: Who::Hut {
                    uid: 1001,
                    gid: 1001,
                },
                addr: hut,
                port: 43000 + i,
            },
            End {
                who: Who::Peer,
                addr: peer,
                port: 53,
            },
        ));
    }
    let pr = Predictor::new(&policy);
    let fresh: Vec<Planned> = flows
        .into_iter()
        .map(|f| {
            let prediction = pr.predict(&f).expect("predictable");
            let want = if f.kind == Kind::Tcp {
                Outcome::ConnectTimeout
            } else {
                Outcome::Reply
            };
            assert_eq!(prediction.outcome, want, "{f}");
            Planned {
                flow: f,
                prediction,
            }
        })
        .collect();
    let plan = Plan {
        peer_addrs: vec![admin],
        kept: Vec::new(),
        fresh,
        unsure: 0,
        engine_disagreements: Vec::new(),
    };
    for target in TARGETS {
        let Some(lab) = lab::Lab::new(&plan.peer_addrs) else {
            return;
        };
        let mut agents = round::agents(&lab, &plan);
        let nft = target == Target::Nftables;
        if nft {
            let text = hwc::backend::nftables::emit_with_counters(&policy, Some(&sources))
                .expect("compiles");
            lab.hut.ok("nft", &["-f", "-"], Some(&text)).expect("load");
        } else {
            round::load(&lab, &policy, &sources, target);
        }
        let label = format!("shadow.hw [{}]", target.name());
        let r = round::probe(&mut agents, &plan, &label, &policy);
        assert_agree(&label, &r);
        let counts = kernel::findings::rule_counters(&lab, nft);
        eprintln!("{label}: packets per rule: {counts:?}");
        let at = |line: u32| {
            *counts
                .get(&format!("shadow.hw:{line}"))
                .unwrap_or_else(|| panic!("{label}: no rule for line {line} in {counts:?}"))
        };
        for (_, line, _, by_line) in shadows {
            assert_eq!(
                at(line),
                0,
                "{label}: the shadowed rule of line {line} counted packets"
            );
            assert!(
                at(by_line) >= 3,
                "{label}: the covering rule of line {by_line} counted {} packets, not the 3 flows",
                at(by_line)
            );
        }
    }
}

/// The comparison can fail: seed.hw's plan, probed against seed.hw
/// without its DNS rule, disagrees exactly on flows that rule decides.
#[test]
fn a_wrong_prediction_is_caught() {
    use hwc::space::reference::Decider;
    use hwc::space::RuleRef;

    if !lab::ready() {
        return;
    }
    let (policy, sources) = kernel::load_file("examples/seed.hw");
    let output = policy.chain_id("output").expect("output");
    let dns = RuleRef {
        chain: output,
        index: 4,
    };
    let mut without = policy.clone();
    let removed = without.chains[output.0 as usize].rules.remove(4);
    assert!(
        matches!(removed.action, hwc::ir::Action::Accept),
        "rule 5 of seed.hw's output is `accept udp 53 to dns-server`"
    );
    let pr = Predictor::new(&policy);
    let plan = plan::plan(&pr, 7, 90);
    let Some(r) = round::run(
        &without,
        &sources,
        Target::Iptables,
        &plan,
        "seed.hw without DNS",
    ) else {
        return;
    };
    assert!(!r.mismatched.is_empty(), "removing a rule went unnoticed");
    for id in &r.mismatched {
        let p = plan
            .fresh
            .iter()
            .chain(&plan.kept)
            .find(|p| &p.flow.id == id)
            .expect("a planned flow");
        assert!(
            p.prediction
                .packets
                .iter()
                .any(|c| c.decider == Decider::Rule(dns)),
            "{} disagrees but does not depend on the removed rule",
            p.flow
        );
    }
    eprintln!(
        "seed.hw without its DNS rule: {} of {} probes disagree, all decided by that rule",
        r.mismatched.len(),
        r.probes
    );
}
