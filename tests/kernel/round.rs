//! One round: a policy, compiled for one backend, loaded into a fresh lab
//! and probed; every observed outcome is compared with the prediction.

use super::flows::{explain, Flow, Kind, Outcome, Who};
use super::lab::{Agent, Lab};
use super::plan::{Plan, Planned, HUT_IDS};
use hwc::backend::{compile, Target};
use hwc::ir::Policy;
use hwc::source::SourceMap;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Seconds without any event after which a probe batch ends (the agents'
/// "no answer" timeout). `HWC_KT_QUIET` overrides it.
pub fn quiet() -> f64 {
    std::env::var("HWC_KT_QUIET")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.4)
}

/// What a round found.
#[derive(Default)]
pub struct Report {
    pub probes: usize,
    /// (predicted, observed) → count.
    pub outcomes: BTreeMap<(Outcome, String), usize>,
    pub mismatches: Vec<String>,
    /// The ids of the flows in `mismatches`.
    pub mismatched: Vec<String>,
}

impl Report {
    pub fn add(&mut self, o: &Report) {
        self.probes += o.probes;
        for (k, v) in &o.outcomes {
            *self.outcomes.entry(k.clone()).or_insert(0) += v;
        }
        self.mismatches.extend(o.mismatches.iter().cloned());
        self.mismatched.extend(o.mismatched.iter().cloned());
    }

    /// `predicted=observed×n` for every pair, for the test's log.
    pub fn table(&self) -> String {
        self.outcomes
            .iter()
            .map(|((p, o), n)| {
                if p.name() == o {
                    format!("{o}×{n}")
                } else {
                    format!("{}≠{o}×{n}", p.name())
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn agent_index(w: Who) -> usize {
    match w {
        Who::Hut { uid, .. } => HUT_IDS
            .iter()
            .position(|x| x.0 == uid)
            .expect("a hut user of the plan"),
        Who::Peer => HUT_IDS.len(),
    }
}

pub fn probe_json(f: &Flow, keep: bool) -> Value {
    json!({
        "id": f.id,
        "kind": f.kind.name(),
        "src": f.client.addr.to_string(),
        "sport": f.client.port,
        "dst": f.server.addr.to_string(),
        "dport": f.server.port,
        "keep": keep,
    })
}

/// Runs one batch per agent, all at once; the outcome of every probe.
fn batches(agents: &mut [Agent], probes: Vec<(usize, Value)>) -> BTreeMap<String, String> {
    let mut per: Vec<Vec<Value>> = vec![Vec::new(); agents.len()];
    for (i, p) in probes {
        per[i].push(p);
    }
    let busy: Vec<usize> = (0..agents.len()).filter(|&i| !per[i].is_empty()).collect();
    for &i in &busy {
        let cmd = json!({"op": "probe", "quiet": quiet(), "probes": per[i]});
        agents[i].send(&cmd);
    }
    let mut out = BTreeMap::new();
    for &i in &busy {
        let a = agents[i].answer();
        let results = a["results"].as_object().expect("results");
        for (k, v) in results {
            out.insert(k.clone(), v.as_str().unwrap_or("?").to_string());
        }
    }
    out
}

/// Loads the policy into the hut with the target's tools.
pub fn load(lab: &Lab, policy: &Policy, sources: &SourceMap, target: Target) {
    let artifacts = compile(policy, Some(sources), target)
        .unwrap_or_else(|d| panic!("`{}` does not compile: {d:#?}", policy.name));
    for a in artifacts {
        let (tool, args): (&str, &[&str]) = match a.suffix {
            "ipt4" => ("iptables-restore", &[]),
            "ipt6" => ("ip6tables-restore", &[]),
            _ => ("nft", &["-f", "-"]),
        };
        lab.hut
            .ok(tool, args, Some(&a.text))
            .unwrap_or_else(|e| panic!("loading `{}`: {e}\n{}", policy.name, a.text));
    }
}

/// Starts the agents (three hut users, the peer) and their listeners.
pub fn agents(lab: &Lab, plan: &Plan) -> Vec<Agent> {
    let mut agents: Vec<Agent> = HUT_IDS
        .iter()
        .map(|&(u, g)| lab.agent(true, u, g))
        .collect();
    agents.push(lab.agent(false, 0, 0));
    let mut tcp: Vec<Vec<Value>> = vec![Vec::new(); agents.len()];
    let mut udp: Vec<Vec<Value>> = vec![Vec::new(); agents.len()];
    for (who, kind, addr, port) in plan.listeners() {
        let l = json!([addr.to_string(), port]);
        match kind {
            Kind::Tcp => tcp[agent_index(who)].push(l),
            _ => udp[agent_index(who)].push(l),
        }
    }
    for (i, a) in agents.iter_mut().enumerate() {
        a.send(&json!({"op": "listen", "tcp": tcp[i], "udp": udp[i]}));
    }
    for a in agents.iter_mut() {
        a.answer();
    }
    agents
}

/// Opens the plan's kept flows (before any policy); every one must work.
pub fn open_kept(agents: &mut [Agent], kept: &[Planned]) {
    let probes = kept
        .iter()
        .map(|p| (agent_index(p.flow.client.who), probe_json(&p.flow, true)))
        .collect();
    let got = batches(agents, probes);
    for p in kept {
        let want = Outcome::success(p.flow.kind).name();
        let seen = got.get(&p.flow.id).map(String::as_str).unwrap_or("missing");
        assert_eq!(
            seen, want,
            "the lab is broken: {} fails without any policy",
            p.flow
        );
    }
}

/// Probes the plan (kept flows once more, fresh flows anew) and compares.
pub fn probe(agents: &mut [Agent], plan: &Plan, label: &str, policy: &Policy) -> Report {
    let mut probes = Vec::new();
    for p in &plan.kept {
        let f = &p.flow;
        probes.push((
            agent_index(f.client.who),
            json!({"id": f.id, "kind": f.kind.name(), "again": true}),
        ));
    }
    for p in &plan.fresh {
        probes.push((agent_index(p.flow.client.who), probe_json(&p.flow, false)));
    }
    let got = batches(agents, probes);
    let mut r = Report::default();
    for p in plan.kept.iter().chain(&plan.fresh) {
        let want = p.prediction.outcome;
        let seen = got
            .get(&p.flow.id)
            .cloned()
            .unwrap_or_else(|| "missing".into());
        r.probes += 1;
        *r.outcomes.entry((want, seen.clone())).or_insert(0) += 1;
        if Outcome::parse(&seen) != Some(want) {
            r.mismatched.push(p.flow.id.clone());
            r.mismatches.push(format!(
                "{label}: {}\n    predicted {}, the kernel: {seen}\n{}",
                p.flow,
                want.name(),
                explain(policy, &p.prediction)
            ));
        }
    }
    r
}

/// A whole round: lab, agents, kept flows, the policy, the probes.
/// `None` when the lab cannot be built (after a loud message).
pub fn run(
    policy: &Policy,
    sources: &SourceMap,
    target: Target,
    plan: &Plan,
    label: &str,
) -> Option<Report> {
    let lab = Lab::new(&plan.peer_addrs)?;
    let mut agents = agents(&lab, plan);
    open_kept(&mut agents, &plan.kept);
    load(&lab, policy, sources, target);
    let report = probe(&mut agents, plan, label, policy);
    drop(agents);
    drop(lab);
    Some(report)
}
