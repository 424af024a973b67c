//! Compile time of a generated 10,000-rule policy to both targets.
//!
//! `cargo bench --bench compile` prints, per target, the median wall time
//! and the median on-CPU time of several runs, and fails (exit status 1)
//! when compiling a 10,000-rule policy to both targets takes 100 ms or more
//! of CPU time. CPU time (from /proc/thread-self/schedstat) is the budget
//! because this machine is shared: wall time there includes waiting for a
//! core. Policies: `mixed` (IR built here, below) and the three shapes of
//! `hwc::testgen` (`.hw` text through sema). Run by `cargo test
//! --all-targets` (without `--bench`), it does one quick pass on small
//! policies and checks no budget, to keep the code working. The policy mixes the shapes real policies have: address
//! lists (CIDRs and ranges, both families), services with port lists,
//! conntrack states, interfaces, owner tests with negations in `output`,
//! log rules with limits, and user chains reached by jump and goto.

use hwc::backend::{iptables, nftables};
use hwc::ir::*;
use hwc::source::{MemoryLoader, SourceMap, Span};
use hwc::testgen::{self, Shape};
use std::time::{Duration, Instant};

/// A small deterministic generator (xorshift), so every run compiles the
/// same policy.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn cond(t: Test) -> Cond {
    Cond::new(t, Span::default())
}

fn addrs(rng: &mut Rng) -> AddrSet {
    let n = 1 + rng.below(4);
    let mut ranges = Vec::new();
    for _ in 0..n {
        if rng.below(4) == 0 {
            let hi = (0x2001_0db8u128 << 96) | (rng.below(1 << 16) as u128) << 64;
            ranges.push(AddrRange {
                family: Family::V6,
                lo: hi,
                hi: hi | ((1u128 << 64) - 1),
            });
        } else if rng.below(5) == 0 {
            let lo = 0x0a00_0000 + rng.below(1 << 20) as u128;
            ranges.push(AddrRange {
                family: Family::V4,
                lo,
                hi: lo + 1 + rng.below(40) as u128,
            });
        } else {
            let lo = (0x0a00_0000 + (rng.below(1 << 16) << 8)) as u128;
            ranges.push(AddrRange {
                family: Family::V4,
                lo,
                hi: lo + 255,
            });
        }
    }
    AddrSet {
        name: (rng.below(3) == 0).then(|| format!("net{}", rng.below(50))),
        ranges,
    }
}

fn service(rng: &mut Rng) -> Vec<L4> {
    let mut out = Vec::new();
    for _ in 0..1 + rng.below(2) {
        let proto = if rng.below(3) == 0 { 17 } else { 6 };
        let long = rng.below(10) == 0;
        let n = 1 + rng.below(if long { 30 } else { 3 });
        let ranges = (0..n)
            .map(|_| {
                let p = 1 + rng.below(60000) as u16;
                if rng.below(6) == 0 {
                    (p, p + 10)
                } else {
                    (p, p)
                }
            })
            .collect();
        out.push(L4 {
            proto,
            sport: None,
            dport: Some(PortSet { name: None, ranges }),
            icmp: None,
            service: None,
        });
    }
    out
}

fn rule(rng: &mut Rng, hook: Hook, users: &[ChainId]) -> Rule {
    let mut conds = Vec::new();
    if rng.below(2) == 0 {
        conds.push(cond(Test::State(vec![CtState::New])));
    }
    if rng.below(2) == 0 {
        conds.push(cond(Test::L4(service(rng))));
    }
    match rng.below(4) {
        0 => conds.push(cond(Test::Src(addrs(rng)))),
        1 => conds.push(cond(Test::Dst(addrs(rng)))),
        2 => conds.push(cond(Test::Src(addrs(rng))).negate()),
        _ => {}
    }
    if hook == Hook::Input && rng.below(8) == 0 {
        conds.push(cond(Test::Iif(vec![Iface {
            name: format!("eth{}", rng.below(4)),
            wildcard: rng.below(2) == 0,
        }])));
    }
    if hook == Hook::Output && rng.below(4) == 0 {
        let mut c = cond(Test::Uid(vec![OwnerRange {
            lo: rng.below(2000) as u32,
            hi: 2000 + rng.below(2000) as u32,
            host_name: None,
        }]));
        if rng.below(2) == 0 {
            c = c.negate();
            c.owner_negation = OwnerNegation::Xt;
        }
        conds.push(c);
    }
    let action = match rng.below(20) {
        0 => Action::Log(LogSpec {
            prefix: Some("hwc ".into()),
            level: Some(LogLevel::Warning),
            nflog: false,
        }),
        1 if !users.is_empty() => Action::Jump(users[rng.below(users.len() as u64) as usize]),
        2 if !users.is_empty() => Action::Goto(users[rng.below(users.len() as u64) as usize]),
        3..=8 => Action::Drop,
        9 => Action::Reject(None),
        _ => Action::Accept,
    };
    if matches!(action, Action::Log(_)) {
        conds.push(cond(Test::Limit(RateLimit {
            rate: 10,
            per_seconds: 60,
            burst: Some(5),
        })));
    }
    Rule {
        matches: Match { conds },
        action,
        span: Span::default(),
        allow: Vec::new(),
        comment: None,
    }
}

fn policy(rules: usize) -> Policy {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut chains = Vec::new();
    let user_count = 20;
    // User chains first get ids 3.., filled after the base chains.
    for (i, hook) in [Hook::Input, Hook::Output, Hook::Forward]
        .into_iter()
        .enumerate()
    {
        chains.push(Chain {
            name: hook.name().into(),
            kind: ChainKind::Base(hook),
            policy: Some(if i == 1 {
                Verdict::Accept
            } else {
                Verdict::Drop
            }),
            rules: Vec::new(),
            span: Span::default(),
            allow: Vec::new(),
        });
    }
    let users: Vec<ChainId> = (0..user_count).map(|i| ChainId(3 + i)).collect();
    for i in 0..user_count {
        chains.push(Chain {
            name: format!("svc-{i}"),
            kind: ChainKind::User,
            policy: None,
            rules: Vec::new(),
            span: Span::default(),
            allow: Vec::new(),
        });
    }
    for n in 0..rules {
        let (c, hook, targets): (usize, Hook, &[ChainId]) = match n % 10 {
            0..=5 => (0, Hook::Input, &users[..]),
            6 | 7 => (1, Hook::Output, &[]),
            8 => (2, Hook::Forward, &[]),
            _ => (3 + (n / 10) % user_count as usize, Hook::Input, &[]),
        };
        let r = rule(&mut rng, hook, targets);
        chains[c].rules.push(r);
    }
    Policy {
        name: "bench".into(),
        family: FamilySet::INET,
        origin: Origin::Policy,
        chains,
        assertions: Vec::new(),
        egress: Vec::new(),
        definitions: Vec::new(),
        span: Span::default(),
    }
}

/// Time this thread has spent on a CPU, if the kernel tells.
fn cpu_time() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Wall and CPU time of `f`.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration, Option<Duration>) {
    let c0 = cpu_time();
    let t = Instant::now();
    let out = f();
    let wall = t.elapsed();
    let cpu = match (c0, cpu_time()) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    (out, wall, cpu)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let (rules, runs) = if benching { (10_000, 9) } else { (300, 1) };
    let mut over = false;
    over |= bench("mixed", &policy(rules), runs, benching);
    for shape in Shape::ALL {
        let text = testgen::generate(shape, rules, 42);
        let path = std::path::Path::new("bench.hw");
        let loader = MemoryLoader::default().with(path, text);
        let mut sources = SourceMap::new();
        let (p, diags) = hwc::sema::load(path, &loader, &mut sources);
        let Some(p) = p else {
            let first = diags
                .iter()
                .find(|d| d.is_error())
                .map(|d| d.message.clone());
            panic!("testgen {} does not load: {first:?}", shape.name());
        };
        over |= bench(shape.name(), &p, runs, benching);
    }
    if benching && over {
        eprintln!("compile: over the 100 ms budget");
        std::process::exit(1);
    }
}

/// Compiles `p` to both targets `runs` times; prints the medians. Returns
/// whether the CPU time of both targets together is 100 ms or more.
fn bench(name: &str, p: &Policy, runs: usize, benching: bool) -> bool {
    let (mut ipt_wall, mut ipt_cpu, mut nft_wall, mut nft_cpu) = (vec![], vec![], vec![], vec![]);
    let mut sizes = (0, 0, 0);
    for _ in 0..runs {
        let (out, wall, cpu) = timed(|| iptables::emit(p, None).expect("iptables"));
        ipt_wall.push(wall);
        ipt_cpu.push(cpu.unwrap_or(wall));
        let (script, wall, cpu) = timed(|| nftables::emit(p, None).expect("nftables"));
        nft_wall.push(wall);
        nft_cpu.push(cpu.unwrap_or(wall));
        sizes = (
            out.v4.map_or(0, |s| s.lines().count()),
            out.v6.map_or(0, |s| s.lines().count()),
            script.lines().count(),
        );
    }
    let rules: usize = p.chains.iter().map(|c| c.rules.len()).sum();
    let (iw, ic, nw, nc) = (
        median(ipt_wall),
        median(ipt_cpu),
        median(nft_wall),
        median(nft_cpu),
    );
    println!(
        "{name:<9} {rules:>6} rules: iptables {:>5.1} ms cpu / {:>5.1} wall ({} + {} lines); \
         nftables {:>5.1} ms cpu / {:>5.1} wall ({} lines); both {:>5.1} ms cpu / {:>5.1} wall{}",
        ms(ic),
        ms(iw),
        sizes.0,
        sizes.1,
        ms(nc),
        ms(nw),
        sizes.2,
        ms(ic + nc),
        ms(iw + nw),
        if benching {
            ""
        } else {
            " (smoke run, no budget)"
        }
    );
    ic + nc >= Duration::from_millis(100)
}
