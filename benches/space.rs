//! Timings of the packet-set engine on generated IR (harness = false).
//!
//! `cargo bench --bench space [-- FILTER]` runs every shape × size whose
//! name contains FILTER (e.g. `dense-100k`) and prints, per run: the time
//! to build the analysis (atomisation, boxes, indexes, flows), the time of
//! the shadow question for every rule (`covered_rules`, both cores), the
//! number of covered rules, and the process' peak memory so far.
//!
//! Shapes:
//! - `typical`: stateful input chain of per-host service allows (a few
//!   admin networks, 20 % IPv6, 5 % shadowed narrower copies);
//! - `blocklist`: single-address and /24 source drops, then 20 service
//!   allows at the end;
//! - `dense`: ClassBench-like 5-tuple rules from nested prefix pools
//!   (30 % any source), accept or drop, 5 % shadowed copies with the
//!   opposite verdict: every rule overlaps many earlier ones;
//! - `adversarial` (3k only): every rule narrow in two random dimensions
//!   of four, any elsewhere — the geometric worst case; shows the budget
//!   at work (the number of rules left `Unknown`).

use hwc::ir::*;
use hwc::source::Span;
use hwc::space::eval::Analysis;
use hwc::space::Approx;
use std::time::Instant;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

fn cond(t: Test) -> Cond {
    Cond::new(t, Span::default())
}

fn net(family: Family, base: u128, len: u32) -> Test {
    let bits = if family == Family::V4 { 32 } else { 128 };
    let host = bits - len;
    let (lo, hi) = if host >= 128 {
        (0, u128::MAX)
    } else {
        let mask = (1u128 << host) - 1;
        (base & !mask, (base & !mask) | mask)
    };
    Test::Src(AddrSet {
        name: None,
        ranges: vec![AddrRange { family, lo, hi }],
    })
}

fn dst(t: Test) -> Test {
    match t {
        Test::Src(s) => Test::Dst(s),
        other => other,
    }
}

fn l4(proto: u8, sport: Option<(u16, u16)>, dport: Option<(u16, u16)>) -> Test {
    let ps = |r: Option<(u16, u16)>| {
        r.map(|r| PortSet {
            name: None,
            ranges: vec![r],
        })
    };
    Test::L4(vec![L4 {
        proto,
        sport: ps(sport),
        dport: ps(dport),
        icmp: None,
        service: None,
    }])
}

fn rule(conds: Vec<Cond>, action: Action) -> Rule {
    Rule {
        matches: Match { conds },
        action,
        span: Span::default(),
        allow: vec![],
        comment: None,
    }
}

fn policy(rules: Vec<Rule>) -> Policy {
    Policy {
        name: "bench".into(),
        family: FamilySet::INET,
        origin: Origin::Dump(Family::V4),
        chains: vec![Chain {
            name: "input".into(),
            kind: ChainKind::Base(Hook::Input),
            policy: Some(Verdict::Drop),
            rules,
            span: Span::default(),
            allow: vec![],
        }],
        assertions: vec![],
        egress: vec![],
        definitions: vec![],
        span: Span::default(),
    }
}

const PORTS: [u16; 12] = [22, 25, 53, 80, 123, 443, 993, 3306, 5432, 6379, 8080, 9090];

fn typical(n: usize, r: &mut Rng) -> Policy {
    let mut rules = vec![
        rule(
            vec![cond(Test::State(vec![
                CtState::Established,
                CtState::Related,
            ]))],
            Action::Accept,
        ),
        rule(
            vec![cond(Test::State(vec![CtState::Invalid]))],
            Action::Drop,
        ),
        rule(
            vec![cond(Test::Iif(vec![Iface {
                name: "lo".into(),
                wildcard: false,
            }]))],
            Action::Accept,
        ),
    ];
    while rules.len() < n {
        if rules.len() > 10 && r.chance(5) {
            // A narrower copy of an earlier rule: shadowed.
            let k = 3 + r.below(rules.len() as u64 - 3) as usize;
            let mut c = rules[k].clone();
            c.matches.conds.push(cond(Test::State(vec![CtState::New])));
            rules.push(c);
            continue;
        }
        let v6 = r.chance(20);
        let fam = if v6 { Family::V6 } else { Family::V4 };
        let host: u128 = if v6 {
            0x2001_0db8_0000_0000_0000_0000_0000_0000 | (r.below(1 << 20) as u128)
        } else {
            0x0a00_0000 | r.below(1 << 20) as u128
        };
        let mut conds = vec![
            cond(Test::State(vec![CtState::New])),
            cond(l4(
                if r.chance(85) { 6 } else { 17 },
                None,
                Some({
                    let p = PORTS[r.below(PORTS.len() as u64) as usize];
                    (p, p)
                }),
            )),
            cond(dst(net(fam, host, if v6 { 128 } else { 32 }))),
        ];
        if !r.chance(30) {
            let admin: u128 = if v6 {
                0x2001_0db8_ff00_0000_0000_0000_0000_0000 | ((r.below(16) as u128) << 64)
            } else {
                0xc633_6400 | (r.below(16) << 8) as u128
            };
            conds.push(cond(net(fam, admin, if v6 { 64 } else { 24 })));
        }
        rules.push(rule(conds, Action::Accept));
    }
    policy(rules)
}

fn blocklist(n: usize, r: &mut Rng) -> Policy {
    let mut rules = Vec::new();
    while rules.len() + 20 < n {
        let v6 = r.chance(10);
        let fam = if v6 { Family::V6 } else { Family::V4 };
        let a: u128 = if v6 {
            (r.next() as u128) << 64
        } else {
            r.next() as u32 as u128
        };
        let len = if v6 {
            64
        } else if r.chance(80) {
            32
        } else {
            24
        };
        rules.push(rule(vec![cond(net(fam, a, len))], Action::Drop));
    }
    for k in 0..20 {
        let p = PORTS[k % PORTS.len()] + (k / PORTS.len()) as u16;
        rules.push(rule(
            vec![
                cond(Test::State(vec![CtState::New])),
                cond(l4(6, None, Some((p, p)))),
            ],
            Action::Accept,
        ));
    }
    policy(rules)
}

fn dense(n: usize, r: &mut Rng) -> Policy {
    // Nested prefix pools: /8 ⊃ /16 ⊃ /24 ⊃ /32.
    let pool = |r: &mut Rng| -> (u128, u32) {
        let a = r.below(4) as u128;
        let b = r.below(16) as u128;
        let c = r.below(64) as u128;
        let d = r.below(256) as u128;
        let base = (10 + a) << 24 | b << 16 | c << 8 | d;
        let len = [16, 24, 24, 24, 32, 32, 32, 32][r.below(8) as usize];
        (base, len)
    };
    let mut rules: Vec<Rule> = Vec::new();
    while rules.len() < n {
        if rules.len() > 10 && r.chance(5) {
            let k = r.below(rules.len() as u64) as usize;
            let mut c = rules[k].clone();
            c.action = if c.action == Action::Accept {
                Action::Drop
            } else {
                Action::Accept
            };
            c.matches.conds.push(cond(Test::State(vec![CtState::New])));
            rules.push(c);
            continue;
        }
        let mut conds = Vec::new();
        if !r.chance(30) {
            let (b, l) = pool(r);
            conds.push(cond(net(Family::V4, b, l)));
        }
        let (b, l) = pool(r);
        conds.push(cond(dst(net(Family::V4, b, l))));
        let proto = if r.chance(70) { 6 } else { 17 };
        let sport = if r.chance(90) {
            None
        } else {
            Some((1024, 65535))
        };
        let dport = match r.below(10) {
            0 => None,
            1 => {
                let lo = r.below(1024) as u16;
                Some((lo, lo + r.below(1000) as u16))
            }
            _ => {
                let p = PORTS[r.below(PORTS.len() as u64) as usize];
                Some((p, p))
            }
        };
        conds.push(cond(l4(proto, sport, dport)));
        rules.push(rule(
            conds,
            if r.chance(50) {
                Action::Accept
            } else {
                Action::Drop
            },
        ));
    }
    policy(rules)
}

/// The geometric worst case: every rule is narrow in two random
/// dimensions and any in the others (only run at 3k rules).
fn adversarial(n: usize, r: &mut Rng) -> Policy {
    let mut rules = Vec::new();
    for _ in 0..n {
        let mut conds = Vec::new();
        let a = r.below(4);
        let b = (a + 1 + r.below(3)) % 4;
        for d in [a, b] {
            let lo = r.below(60000) as u16;
            let hi = lo + r.below(5000) as u16;
            let base = (r.below(1 << 20) as u128) << 12;
            let len = 12 + r.below(8) as u32;
            conds.push(cond(match d {
                0 => net(Family::V4, base, len),
                1 => dst(net(Family::V4, base, len)),
                2 => l4(6, Some((lo, hi)), None),
                _ => l4(6, None, Some((lo, hi))),
            }));
        }
        rules.push(rule(
            conds,
            if r.chance(50) {
                Action::Accept
            } else {
                Action::Drop
            },
        ));
    }
    policy(rules)
}

fn peak_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU time of all the process' threads so far, in ms (the machine may
/// be shared: wall time alone would mislead).
fn cpu_ms() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .sum::<f64>()
        / 1e6
}

fn main() {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    type Shape = fn(usize, &mut Rng) -> Policy;
    let shapes: [(&str, Shape); 3] = [
        ("typical", typical),
        ("blocklist", blocklist),
        ("dense", dense),
    ];
    println!(
        "{:<16} {:>7} {:>10} {:>10} {:>10} {:>14} {:>9} {:>9}",
        "run", "rules", "build ms", "shadow ms", "total ms", "cpu ms (b+s)", "covered", "peak MB"
    );
    let runs = [(1_000usize, "1k"), (10_000, "10k"), (100_000, "100k")]
        .into_iter()
        .flat_map(|(k, size)| {
            shapes
                .into_iter()
                .map(move |(name, gen)| (k, size, name, gen))
        })
        .chain(std::iter::once((
            3_000usize,
            "3k",
            "adversarial",
            adversarial as Shape,
        )));
    {
        for (k, size, name, gen) in runs {
            let label = format!("{name}-{size}");
            if filter.as_ref().is_some_and(|f| !label.contains(f.as_str())) {
                continue;
            }
            let p = gen(k, &mut Rng(42));
            let c0 = cpu_ms();
            let t0 = Instant::now();
            let an = Analysis::new(&p).expect("analysis");
            let t1 = Instant::now();
            let c1 = cpu_ms();
            let covered = an.covered_rules(Approx::Over);
            let t2 = Instant::now();
            let c2 = cpu_ms();
            if std::env::var_os("HWC_BENCH_DETAIL").is_some() {
                let mut slow: Vec<(f64, u32)> = (0..p.chains[0].rules.len() as u32)
                    .map(|i| {
                        let r = hwc::space::RuleRef {
                            chain: ChainId(0),
                            index: i,
                        };
                        let t = Instant::now();
                        let _ = an.coverage(r, Approx::Over);
                        (t.elapsed().as_secs_f64() * 1e3, i)
                    })
                    .collect();
                slow.sort_by(|a, b| b.0.total_cmp(&a.0));
                let sum: f64 = slow.iter().map(|x| x.0).sum();
                println!(
                    "  sequential sum {sum:.1} ms; slowest: {:?}",
                    &slow[..5.min(slow.len())]
                );
            }
            let unknown = if name == "adversarial" {
                // How many rules the budget left unanswered.
                let all = an.coverage_all(Approx::Over);
                let n = all
                    .iter()
                    .filter(|(_, c)| matches!(c, hwc::space::Coverage::Unknown))
                    .count();
                format!(" ({n} unknown)")
            } else {
                String::new()
            };
            println!(
                "{:<16} {:>7} {:>10.1} {:>10.1} {:>10.1} {:>14} {:>9} {:>9.0}{}",
                label,
                k,
                (t1 - t0).as_secs_f64() * 1e3,
                (t2 - t1).as_secs_f64() * 1e3,
                (t2 - t0).as_secs_f64() * 1e3,
                format!("{:.0}+{:.0}", c1 - c0, c2 - c1),
                covered.len(),
                peak_mb(),
                unknown
            );
        }
    }
}
