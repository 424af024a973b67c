//! Which flows to probe for a policy, and with which addresses and ports.
//!
//! The values come from the policy: every address range it tests gives
//! its ends and their neighbours (when they are documentation addresses
//! the peer can own), every port range its ends and their neighbours.
//! From every combination of direction (hut to peer, peer to hut, hut to
//! itself), protocol, family, hut user, address and port, the plan first
//! takes one flow for each distinct way the policy decides a flow's
//! packets (which rule decides each packet, and the outcome), then random
//! others up to the budget; plus a dozen flows opened before the policy
//! loads. Every client binds its own address and port (or ICMP echo id),
//! so no two flows share a conntrack entry.

use super::flows::{End, Flow, Kind, Prediction, Predictor, Unpredictable, Who};
use super::lab::{HUT_V4, HUT_V6, PEER_V4, PEER_V6};
use hwc::ir::{AddrRange, Family, Policy, Test};
use hwc::testgen::Rng;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The users the hut's probes run as: root and two others (uid = gid).
pub const HUT_IDS: [(u32, u32); 3] = [(0, 0), (1001, 1001), (1002, 1002)];

/// A flow to probe, with its prediction.
pub struct Planned {
    pub flow: Flow,
    pub prediction: Prediction,
}

pub struct Plan {
    /// Addresses the peer owns besides 192.0.2.2 and 2001:db8::2.
    pub peer_addrs: Vec<IpAddr>,
    /// Flows opened before the policy loads; predictions are for the probe
    /// after it loads.
    pub kept: Vec<Planned>,
    pub fresh: Vec<Planned>,
    /// Candidates left out because a verdict depends on a rate limit.
    pub unsure: usize,
    /// Packets where the box evaluator disagreed with the reference one.
    pub engine_disagreements: Vec<String>,
}

impl Plan {
    /// TCP and UDP listeners: (who, kind, address, port).
    pub fn listeners(&self) -> BTreeSet<(Who, Kind, IpAddr, u16)> {
        self.kept
            .iter()
            .chain(&self.fresh)
            .filter(|p| p.flow.kind != Kind::Icmp)
            .map(|p| {
                let s = &p.flow.server;
                (s.who, p.flow.kind, s.addr, s.port)
            })
            .collect()
    }
}

fn in_doc_range(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => {
            let o = v.octets();
            let net = [o[0], o[1], o[2]];
            let doc = [[192, 0, 2], [198, 51, 100], [203, 0, 113]].contains(&net);
            // Not the network or broadcast address of the hut's own link.
            doc && !(net == [192, 0, 2] && (o[3] == 0 || o[3] == 255))
        }
        IpAddr::V6(v) => {
            let s = v.segments();
            s[0] == 0x2001 && s[1] == 0xdb8 && v != Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0)
        }
    }
}

fn addr_of(f: Family, v: u128) -> IpAddr {
    match f {
        Family::V4 => IpAddr::V4(Ipv4Addr::from(v as u32)),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(v)),
    }
}

/// The address ranges and port ranges a policy's rules test.
#[derive(Default)]
struct Values {
    addrs: Vec<AddrRange>,
    dports: Vec<(u16, u16)>,
    sports: Vec<(u16, u16)>,
}

fn policy_values(p: &Policy) -> Values {
    let mut v = Values::default();
    let (addrs, dports, sports) = (&mut v.addrs, &mut v.dports, &mut v.sports);
    for c in &p.chains {
        for r in &c.rules {
            for cond in &r.matches.conds {
                match &cond.test {
                    Test::Src(s) | Test::Dst(s) => addrs.extend(s.ranges.iter().copied()),
                    Test::L4(alts) => {
                        for a in alts {
                            if let Some(ps) = &a.dport {
                                dports.extend(ps.ranges.iter().copied());
                            }
                            if let Some(ps) = &a.sport {
                                sports.extend(ps.ranges.iter().copied());
                            }
                        }
                    }
                    Test::AnyPort(ps) => {
                        dports.extend(ps.ranges.iter().copied());
                        sports.extend(ps.ranges.iter().copied());
                    }
                    _ => {}
                }
            }
        }
    }
    v
}

/// Range ends and their outside neighbours, ports 1-65535.
fn port_points(ranges: &[(u16, u16)]) -> BTreeSet<u16> {
    let mut out = BTreeSet::new();
    for &(lo, hi) in ranges {
        out.insert(lo);
        out.insert(hi);
        out.insert(lo.saturating_sub(1));
        out.insert(hi.saturating_add(1));
    }
    out.remove(&0);
    out
}

fn sample<T: Clone + Ord>(rng: &mut Rng, set: BTreeSet<T>, n: usize) -> Vec<T> {
    let mut v: Vec<T> = set.into_iter().collect();
    while v.len() > n {
        let i = rng.below(v.len() as u64) as usize;
        v.remove(i);
    }
    v
}

/// The peer addresses to use for a policy: its range ends and their
/// neighbours that are documentation addresses, at most `n` per family.
fn peer_points(rng: &mut Rng, ranges: &[AddrRange], n: usize) -> (Vec<IpAddr>, Vec<IpAddr>) {
    let mut v4 = BTreeSet::new();
    let mut v6 = BTreeSet::new();
    for r in ranges {
        let mut pts = vec![r.lo, r.hi];
        if r.lo > 0 {
            pts.push(r.lo - 1);
        }
        if r.hi < r.family.max_addr() {
            pts.push(r.hi + 1);
        }
        if r.hi - r.lo >= 2 {
            pts.push(r.lo + 1 + (r.hi - r.lo) / 2);
        }
        for v in pts {
            let a = addr_of(r.family, v);
            if in_doc_range(a) && a != IpAddr::V4(HUT_V4) && a != IpAddr::V6(HUT_V6) {
                match r.family {
                    Family::V4 => v4.insert(a),
                    Family::V6 => v6.insert(a),
                };
            }
        }
    }
    // An address no policy of ours names, in a routed network.
    v4.insert(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 200)));
    v6.insert(IpAddr::V6(Ipv6Addr::new(
        0x2001, 0xdb8, 0xf, 0, 0, 0, 0, 0x200,
    )));
    v4.remove(&IpAddr::V4(PEER_V4));
    v6.remove(&IpAddr::V6(PEER_V6));
    let mut a = sample(rng, v4, n);
    let mut b = sample(rng, v6, n);
    a.insert(0, PEER_V4.into());
    b.insert(0, PEER_V6.into());
    (a, b)
}

/// Allocates client ports and echo ids so that no two sockets collide.
struct Ports {
    next: u16,
    bound: HashSet<(Kind, IpAddr, u16)>,
    listening: HashSet<(Kind, IpAddr, u16)>,
}

impl Ports {
    fn fresh(&mut self, avoid: &BTreeSet<u16>) -> u16 {
        loop {
            self.next += 1;
            if !avoid.contains(&self.next) {
                return self.next;
            }
        }
    }

    /// Takes the flow's sockets if they are free.
    fn take(&mut self, f: &Flow) -> bool {
        let c = (f.kind, f.client.addr, f.client.port);
        let s = (f.kind, f.server.addr, f.server.port);
        if self.bound.contains(&c) || self.listening.contains(&c) || c == s {
            return false;
        }
        if f.kind != Kind::Icmp && self.bound.contains(&s) {
            return false;
        }
        self.bound.insert(c);
        if f.kind != Kind::Icmp {
            self.listening.insert(s);
        }
        true
    }
}

/// The hut user that listens on a port (spread over the three users).
pub fn listener_of(kind: Kind, port: u16) -> Who {
    let (uid, gid) = HUT_IDS[(port as usize + kind as usize) % HUT_IDS.len()];
    Who::Hut { uid, gid }
}

fn hut(f: Family) -> IpAddr {
    match f {
        Family::V4 => HUT_V4.into(),
        Family::V6 => HUT_V6.into(),
    }
}

fn signature(pred: &Prediction, f: &Flow) -> String {
    let mut s = format!("{:?} {}", f.kind, pred.outcome.name());
    for c in &pred.packets {
        s += &format!(" | {:?} {:?} {:?}", c.packet.hook, c.decider, c.verdict);
    }
    s
}

/// Makes the plan for a policy: `budget` fresh flows at most.
pub fn plan(pr: &Predictor, seed: u64, budget: usize) -> Plan {
    let policy = pr.policy();
    let mut rng = Rng::new(seed);
    let values = policy_values(policy);
    let (v4, v6) = peer_points(&mut rng, &values.addrs, 10);
    let mut dports = port_points(&values.dports);
    dports.extend([22, 80, 4242]);
    let dports = sample(&mut rng, dports, 12);
    let sports = sample(&mut rng, port_points(&values.sports), 6);
    let avoid: BTreeSet<u16> = dports.iter().chain(&sports).copied().collect();
    let mut ports = Ports {
        next: 40000,
        bound: HashSet::new(),
        listening: HashSet::new(),
    };
    let mut plan = Plan {
        peer_addrs: v4.iter().chain(&v6).copied().collect(),
        kept: Vec::new(),
        fresh: Vec::new(),
        unsure: 0,
        engine_disagreements: Vec::new(),
    };
    let predict = |f: Flow, plan: &mut Plan| -> Option<Planned> {
        match pr.predict(&f) {
            Ok(prediction) => Some(Planned {
                flow: f,
                prediction,
            }),
            Err(Unpredictable::Unsure) => {
                plan.unsure += 1;
                None
            }
            Err(Unpredictable::Engines(why)) => {
                plan.engine_disagreements.push(why);
                None
            }
        }
    };

    // Flows opened before the policy: each kind and family, out and in.
    let mut n = 0;
    for fam in [Family::V4, Family::V6] {
        let remote = match fam {
            Family::V4 => IpAddr::V4(PEER_V4),
            Family::V6 => IpAddr::V6(PEER_V6),
        };
        for kind in Kind::ALL {
            for outbound in [true, false] {
                n += 1;
                let (uid, gid) = HUT_IDS[n % HUT_IDS.len()];
                let hut_end = |port| End {
                    who: Who::Hut { uid, gid },
                    addr: hut(fam),
                    port,
                };
                let peer_end = |port| End {
                    who: Who::Peer,
                    addr: remote,
                    port,
                };
                let cport = ports.fresh(&avoid);
                let sport = if kind == Kind::Icmp {
                    0
                } else {
                    ports.fresh(&avoid)
                };
                let (client, server) = if outbound {
                    (hut_end(cport), peer_end(sport))
                } else {
                    let server = End {
                        who: listener_of(kind, sport),
                        ..hut_end(sport)
                    };
                    (peer_end(cport), server)
                };
                let f = Flow {
                    id: format!("k{n}"),
                    kind,
                    client,
                    server,
                    kept: true,
                };
                assert!(ports.take(&f), "fresh ports collide");
                if let Some(p) = predict(f, &mut plan) {
                    plan.kept.push(p);
                }
            }
        }
    }

    // Candidates for fresh flows.
    let mut cands: Vec<Flow> = Vec::new();
    for fam in [Family::V4, Family::V6] {
        let remotes = if fam == Family::V4 { &v4 } else { &v6 };
        for kind in Kind::ALL {
            let dps: Vec<u16> = if kind == Kind::Icmp {
                vec![0]
            } else {
                dports.clone()
            };
            let mut sps: Vec<Option<u16>> = vec![None];
            if kind != Kind::Icmp {
                sps.extend(sports.iter().map(|&p| Some(p)));
            }
            for &dp in &dps {
                for &sp in &sps {
                    let srv = |port| End {
                        who: if kind == Kind::Icmp {
                            Who::Hut { uid: 0, gid: 0 }
                        } else {
                            listener_of(kind, port)
                        },
                        addr: hut(fam),
                        port,
                    };
                    for &(uid, gid) in &HUT_IDS {
                        let who = Who::Hut { uid, gid };
                        for &r in remotes {
                            // Hut to peer.
                            cands.push(Flow {
                                id: String::new(),
                                kind,
                                client: End {
                                    who,
                                    addr: hut(fam),
                                    port: sp.unwrap_or(0),
                                },
                                server: End {
                                    who: Who::Peer,
                                    addr: r,
                                    port: dp,
                                },
                                kept: false,
                            });
                        }
                        // Hut to itself.
                        cands.push(Flow {
                            id: String::new(),
                            kind,
                            client: End {
                                who,
                                addr: hut(fam),
                                port: sp.unwrap_or(0),
                            },
                            server: srv(dp),
                            kept: false,
                        });
                    }
                    // Peer to hut.
                    for &r in remotes {
                        cands.push(Flow {
                            id: String::new(),
                            kind,
                            client: End {
                                who: Who::Peer,
                                addr: r,
                                port: sp.unwrap_or(0),
                            },
                            server: srv(dp),
                            kept: false,
                        });
                    }
                }
            }
        }
    }
    // Shuffle (Fisher-Yates), then keep one flow per signature first.
    for i in (1..cands.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        cands.swap(i, j);
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut rest: Vec<Planned> = Vec::new();
    for mut f in cands.into_iter().take(4000) {
        if plan.fresh.len() >= budget {
            break;
        }
        // A flow without a policy-given source port gets a fresh one.
        if f.client.port == 0 || f.kind == Kind::Icmp {
            f.client.port = ports.fresh(&avoid);
        }
        let Some(p) = predict(f, &mut plan) else {
            continue;
        };
        let sig = signature(&p.prediction, &p.flow);
        if seen.contains_key(&sig) {
            if rest.len() < 4 * budget {
                rest.push(p);
            }
            continue;
        }
        if !ports.take(&p.flow) {
            continue;
        }
        seen.insert(sig, 1);
        plan.fresh.push(p);
    }
    for p in rest {
        if plan.fresh.len() >= budget {
            break;
        }
        if ports.take(&p.flow) {
            plan.fresh.push(p);
        }
    }
    for (i, p) in plan.fresh.iter_mut().enumerate() {
        p.flow.id = format!("f{i}");
    }
    plan
}
