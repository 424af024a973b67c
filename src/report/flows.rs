//! The accepted NEW flows of a policy, per hook, as a few readable classes.
//!
//! A *flow* is a packet in conntrack state NEW or UNTRACKED that a hook
//! accepts: the first packet of a connection, or a packet conntrack does not
//! follow (neighbour discovery). ESTABLISHED and RELATED packets only follow
//! an accepted NEW one, so they are not flows of their own (SEMANTICS.md §2).
//!
//! Every accepting rule contributes the flows it *decides* (the engine's
//! [`Analysis::decides`], restricted to the hook and to NEW/UNTRACKED), in
//! each chain path that reaches it. Its class is described by the conditions
//! on that path (the jumps into its chain, then its own match), plus any
//! condition the engine proves every one of its flows meets although no
//! condition on the path says so (a guard chain that `return`s only admins,
//! an earlier `drop not from admins`). Rules whose descriptions are equal
//! form one class. A class always carries a witness: a concrete packet from
//! the engine, never a guess. The default `accept` of a chain and the
//! families a policy does not filter are classes too.
//!
//! INVARIANT: the union of the classes of a hook is the hook's accepted set
//! restricted to NEW/UNTRACKED (`Over`): every accepting rule and every
//! other source of acceptance is visited, in every call path.

use super::text::{cond_term, Column};
use crate::ir::{
    self, Action, ChainId, Cond, CtState, Family, Hook, Iface, Match, OwnerNegation, OwnerRange,
    Packet, Policy, Test,
};
use crate::source::{SourceMap, Span};
use crate::space::convert::has_unknown;
use crate::space::eval::{Analysis, Answer, EvalError, EvalSet};
use crate::space::{Approx, BoxSet, RuleRef};
use rayon::prelude::*;
use std::collections::HashMap;

/// Past this many jump paths into one chain, the rules of the chain are
/// described without the conditions of the jumps (their flows are still
/// all counted).
const MAX_PATHS: u64 = 16;

/// At most this many conditions of earlier rules are tried as narrowings of
/// one class.
const MAX_NARROWINGS: usize = 8;

/// What admits the flows of a class.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    /// Accepting rules (or, in imported rulesets, targets that may accept).
    Rules,
    /// The default policy `accept` of the hook's base chain.
    DefaultPolicy(ChainId),
    /// The policy does not filter this family.
    Unfiltered(Family),
    /// The policy has no base chain on the hook: everything is accepted.
    NoBaseChain,
}

/// A rule that admits a class, with the jumps that lead to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub rule: RuleRef,
    /// The `jump`/`goto` rules from the base chain to the rule's chain;
    /// `None` when too many paths reach the chain to list them.
    pub path: Option<Vec<RuleRef>>,
    /// The rule's target is not modelled: it may accept.
    pub may: bool,
}

/// One class of accepted flows.
#[derive(Debug, Clone)]
pub struct Class {
    pub hook: Hook,
    pub source: Source,
    /// The terms of each column (a conjunction; none means any).
    pub terms: Vec<(Column, String)>,
    /// Which of NEW and UNTRACKED occur.
    pub states: Vec<CtState>,
    pub sites: Vec<Site>,
    /// A packet of the class (`None` only when the engine ran out of its
    /// work budget).
    pub witness: Option<Packet>,
    /// Whether the witness is accepted for sure. False when it rests on a
    /// test or target hwc does not model.
    pub definite: bool,
    /// For output classes: a flow of the class from a user socket other
    /// than root's, not on the loopback interface.
    pub nonroot: Option<Packet>,
    /// Whether that flow is accepted for sure.
    pub nonroot_definite: bool,
    /// Indexes (into the list given to [`classes`]) of the findings whose
    /// witness is a flow of this class.
    pub findings: Vec<usize>,
}

impl Class {
    pub fn column(&self, c: Column) -> impl Iterator<Item = &str> {
        self.terms
            .iter()
            .filter(move |(col, _)| *col == c)
            .map(|(_, t)| t.as_str())
    }
}

/// The example packet of a finding, with the finding's index and primary
/// place.
#[derive(Debug, Clone)]
pub struct FindingPacket {
    pub index: usize,
    pub span: Span,
    pub packet: Packet,
}

/// Classes with equal terms and states are one.
type ClassKey = (Vec<(Column, String)>, Vec<CtState>);

/// Matches the engine needs in its space to answer the flow questions.
struct Queries {
    new_untracked: BoxSet,
    new: BoxSet,
    untracked: BoxSet,
    nonroot: BoxSet,
    family: [BoxSet; 2],
}

fn state_match(states: Vec<CtState>) -> Match {
    Match {
        conds: vec![Cond::new(Test::State(states), Span::default())],
    }
}

/// Output packets from a user socket whose uid is not 0, not on `lo`.
fn nonroot_match() -> Match {
    Match {
        conds: vec![
            Cond::new(
                Test::Uid(vec![OwnerRange {
                    lo: 1,
                    hi: u32::MAX,
                    host_name: None,
                }]),
                Span::default(),
            ),
            Cond::new(
                Test::Oif(vec![Iface {
                    name: "lo".into(),
                    wildcard: false,
                }]),
                Span::default(),
            )
            .negate(),
        ],
    }
}

fn family_match(f: Family) -> Match {
    Match {
        conds: vec![Cond::new(Test::Family(f), Span::default())],
    }
}

/// The matches to build the analysis' space with (see
/// [`Analysis::with_queries`]).
pub fn query_matches() -> Vec<Match> {
    vec![
        state_match(vec![CtState::New, CtState::Untracked]),
        state_match(vec![CtState::New]),
        state_match(vec![CtState::Untracked]),
        nonroot_match(),
        family_match(Family::V4),
        family_match(Family::V6),
    ]
}

impl Queries {
    fn new(an: &Analysis) -> Result<Queries, EvalError> {
        let set = |m: &Match| an.match_set(m, Approx::Over).map_err(EvalError::Unaligned);
        Ok(Queries {
            new_untracked: set(&state_match(vec![CtState::New, CtState::Untracked]))?,
            new: set(&state_match(vec![CtState::New]))?,
            untracked: set(&state_match(vec![CtState::Untracked]))?,
            nonroot: set(&nonroot_match())?,
            family: [
                set(&family_match(Family::V4))?,
                set(&family_match(Family::V6))?,
            ],
        })
    }
}

/// The flow classes of every hook, in hook order (input, output,
/// forward), each hook's classes in the order of their first rule.
///
/// `an` must be built with [`query_matches`] (else `Unaligned`).
/// `findings` are the example packets of findings: a class of rules lists
/// the findings about its rules (primary place inside the rule) whose packet
/// is a flow of the class; the other classes list every finding whose
/// packet is one of their flows.
pub fn classes(
    an: &Analysis,
    sources: &SourceMap,
    findings: &[FindingPacket],
) -> Result<Vec<Class>, EvalError> {
    let q = Queries::new(an)?;
    let policy = an.policy();
    let ctx = Ctx {
        an,
        q: &q,
        sources,
        exact: decisions_exact(policy),
        by_rule: findings_by_rule(policy, findings),
        findings,
    };
    let mut out = Vec::new();
    for hook in ir::Hook::ALL {
        let sites = sites(policy, hook);
        let found: Vec<Option<Class>> = sites
            .par_iter()
            .map(|s| site_class(&ctx, hook, s))
            .collect::<Result<_, _>>()?;
        let mut merged: Vec<Class> = Vec::new();
        let mut by_key: HashMap<ClassKey, usize> = HashMap::new();
        for c in found.into_iter().flatten() {
            let key = (c.terms.clone(), c.states.clone());
            match by_key.get(&key) {
                Some(&i) => {
                    let m = &mut merged[i];
                    m.sites.extend(c.sites);
                    if m.witness.is_none() || (!m.definite && c.definite) {
                        m.witness = c.witness;
                        m.definite = c.definite;
                    }
                    if m.nonroot.is_none() || (!m.nonroot_definite && c.nonroot_definite) {
                        m.nonroot = c.nonroot;
                        m.nonroot_definite = c.nonroot_definite;
                    }
                    for f in c.findings {
                        if !m.findings.contains(&f) {
                            m.findings.push(f);
                        }
                    }
                }
                None => {
                    by_key.insert(key, merged.len());
                    merged.push(c);
                }
            }
        }
        for c in &mut merged {
            c.findings.sort_unstable();
        }
        out.extend(merged);
        out.extend(default_classes(&ctx, hook));
    }
    Ok(out)
}

/// What the class builders share.
struct Ctx<'a, 'p> {
    an: &'a Analysis<'p>,
    q: &'a Queries,
    sources: &'a SourceMap,
    /// The verdicts of rules do not depend on anything hwc does not model
    /// (may- and must-sets of decisions are equal).
    exact: bool,
    findings: &'a [FindingPacket],
    /// The findings whose primary place is inside each rule.
    by_rule: HashMap<RuleRef, Vec<usize>>,
}

/// Whether every decision is exact: true when the only tests hwc does not
/// model are in `log` (or other non-terminal, state-only) rules, which
/// neither decide nor divert packets, and no target is unknown.
fn decisions_exact(policy: &Policy) -> bool {
    policy
        .chains
        .iter()
        .flat_map(|c| &c.rules)
        .all(|r| match r.action {
            Action::Opaque(_) => false,
            Action::Log(_) | Action::Continue(_) => true,
            _ => !has_unknown(&r.matches),
        })
}

/// The findings (positions in `findings`) whose primary place lies in each
/// rule.
fn findings_by_rule(policy: &Policy, findings: &[FindingPacket]) -> HashMap<RuleRef, Vec<usize>> {
    let mut spans: Vec<(Span, RuleRef)> = Vec::new();
    for (c, chain) in policy.chains.iter().enumerate() {
        for (i, rule) in chain.rules.iter().enumerate() {
            let r = RuleRef {
                chain: ChainId(c as u32),
                index: i as u32,
            };
            spans.push((rule.span, r));
        }
    }
    spans.sort_by_key(|(s, _)| (s.file, s.start));
    let mut out: HashMap<RuleRef, Vec<usize>> = HashMap::new();
    for (k, f) in findings.iter().enumerate() {
        let at = f.span;
        let i = spans.partition_point(|(s, _)| (s.file, s.start) <= (at.file, at.start));
        if let Some((s, r)) = i.checked_sub(1).map(|i| spans[i]) {
            if s.file == at.file && s.start <= at.start && at.end <= s.end {
                out.entry(r).or_default().push(k);
            }
        }
    }
    out
}

/// The findings among `candidates` whose packet is a flow of `flows`.
fn linked<'a>(
    hook: Hook,
    flows: &EvalSet,
    candidates: impl Iterator<Item = &'a FindingPacket>,
) -> Vec<usize> {
    candidates
        .filter(|f| {
            f.packet.hook == hook
                && matches!(f.packet.state, CtState::New | CtState::Untracked)
                && flows.contains(&f.packet)
        })
        .map(|f| f.index)
        .collect()
}

/// Every accepting rule reachable from the hook's base chain, once per
/// jump path (or once with `path: None` in a chain too many paths reach).
pub fn sites(policy: &Policy, hook: Hook) -> Vec<Site> {
    let Some(base) = policy.base_chain(hook) else {
        return Vec::new();
    };
    let paths = path_counts(policy, base);
    let mut out = Vec::new();
    let mut collapsed: Vec<ChainId> = Vec::new();
    walk(
        policy,
        base,
        &mut Vec::new(),
        &paths,
        &mut out,
        &mut collapsed,
    );
    // Chains with too many paths: each accepting rule once, without path.
    collapsed.sort();
    collapsed.dedup();
    for c in collapsed {
        for (i, rule) in policy.chain(c).rules.iter().enumerate() {
            if let Some(may) = accepts(&rule.action) {
                out.push(Site {
                    rule: RuleRef {
                        chain: c,
                        index: i as u32,
                    },
                    path: None,
                    may,
                });
            }
        }
    }
    out
}

/// `Some(may)` when the action may accept: `Some(false)` for `accept`,
/// `Some(true)` for a target hwc does not model.
fn accepts(a: &Action) -> Option<bool> {
    match a {
        Action::Accept => Some(false),
        Action::Opaque(_) => Some(true),
        _ => None,
    }
}

fn callee(a: &Action) -> Option<ChainId> {
    match a {
        Action::Jump(c) | Action::Goto(c) => Some(*c),
        _ => None,
    }
}

/// The number of jump paths from `base` to every chain (saturating).
fn path_counts(policy: &Policy, base: ChainId) -> Vec<u64> {
    fn count(policy: &Policy, c: ChainId, memo: &mut Vec<Option<u64>>, base: ChainId) -> u64 {
        if let Some(n) = memo[c.0 as usize] {
            return n;
        }
        // Paths to `c` = paths to each caller, once per call site. The
        // call graph is acyclic (sema and import reject cycles); the memo
        // is set before recursing so that a cycle would count 0, not loop.
        memo[c.0 as usize] = Some(0);
        let mut n: u64 = u64::from(c == base);
        for (k, chain) in policy.chains.iter().enumerate() {
            let sites = chain
                .rules
                .iter()
                .filter(|r| callee(&r.action) == Some(c))
                .count() as u64;
            if sites > 0 {
                let k = ChainId(k as u32);
                n = n.saturating_add(count(policy, k, memo, base).saturating_mul(sites));
            }
        }
        memo[c.0 as usize] = Some(n);
        n
    }
    let mut memo = vec![None; policy.chains.len()];
    (0..policy.chains.len())
        .map(|c| count(policy, ChainId(c as u32), &mut memo, base))
        .collect()
}

fn walk(
    policy: &Policy,
    chain: ChainId,
    path: &mut Vec<RuleRef>,
    paths: &[u64],
    out: &mut Vec<Site>,
    collapsed: &mut Vec<ChainId>,
) {
    // INVARIANT: the call graph is acyclic, so the path is bounded by the
    // number of chains.
    if path.len() > policy.chains.len() {
        return;
    }
    for (i, rule) in policy.chain(chain).rules.iter().enumerate() {
        let r = RuleRef {
            chain,
            index: i as u32,
        };
        if let Some(may) = accepts(&rule.action) {
            out.push(Site {
                rule: r,
                path: Some(path.clone()),
                may,
            });
        } else if let Some(c) = callee(&rule.action) {
            if paths[c.0 as usize] > MAX_PATHS {
                collapsed.push(c);
                collapse_below(policy, c, collapsed);
            } else {
                path.push(r);
                walk(policy, c, path, paths, out, collapsed);
                path.pop();
            }
        }
    }
}

/// Chains called from a collapsed chain are collapsed too.
fn collapse_below(policy: &Policy, c: ChainId, collapsed: &mut Vec<ChainId>) {
    for rule in &policy.chain(c).rules {
        if let Some(k) = callee(&rule.action) {
            if !collapsed.contains(&k) {
                collapsed.push(k);
                collapse_below(policy, k, collapsed);
            }
        }
    }
}

/// The policy's words for a condition, when it came from a `.hw` file.
fn label<'s>(policy: &Policy, sources: &'s SourceMap, span: Span) -> Option<&'s str> {
    if policy.origin != ir::Origin::Policy
        || span.file.0 as usize >= sources.len()
        || span.is_empty()
    {
        return None;
    }
    Some(sources.get(span.file).slice(span)).filter(|s| !s.is_empty())
}

fn site_class(ctx: &Ctx, hook: Hook, site: &Site) -> Result<Option<Class>, EvalError> {
    let (an, q, sources) = (ctx.an, ctx.q, ctx.sources);
    let policy = an.policy();
    let decided = |a: Approx| -> EvalSet {
        match an.decides(site.rule, a) {
            Some((_, d)) => d,
            None => an.matched(site.rule, a),
        }
        .at_hook(hook)
    };
    let path_conds: Vec<&Cond> = site
        .path
        .iter()
        .flatten()
        .flat_map(|j| &policy.chain(j.chain).rules[j.index as usize].matches.conds)
        .collect();
    // A chain reached by several paths: keep the flows that meet this
    // path's jump conditions (a superset of this path's own flows, and
    // a subset of the rule's).
    let several = site.path.is_some() && an.contexts(site.rule.chain) > 1;
    let path_set: Option<BoxSet> = if several && !path_conds.is_empty() {
        let m = Match {
            conds: path_conds.iter().map(|c| (*c).clone()).collect(),
        };
        Some(
            an.match_set(&m, Approx::Over)
                .map_err(EvalError::Unaligned)?,
        )
    } else {
        None
    };
    let d = restrict(decided(Approx::Over), path_set.as_ref());
    let flows = d.intersect(&q.new_untracked);
    let over = match flows.check() {
        Answer::Empty => return Ok(None),
        Answer::Witness(p) => Some(p),
        Answer::Unknown => None,
    };
    // Definite flows come from the must-sets (the same sets when the policy
    // is exact); a target hwc does not model only may accept.
    let under = (!ctx.exact && !site.may)
        .then(|| restrict(decided(Approx::Under), path_set.as_ref()).intersect(&q.new_untracked));
    let (witness, definite) = match (&under, site.may) {
        (_, true) => (over, false),
        (None, false) => (over, true),
        (Some(u), false) => match u.witness() {
            Some(w) => (Some(w), true),
            None => (over, false),
        },
    };
    let rule = &policy.chain(site.rule.chain).rules[site.rule.index as usize];
    let states = states_of(
        &d,
        q,
        witness.as_ref(),
        path_conds.iter().copied().chain(&rule.matches.conds),
    );
    let mut terms: Vec<(Column, String)> = Vec::new();
    let mut seen: Vec<&Test> = Vec::new();
    for c in path_conds.iter().copied().chain(&rule.matches.conds) {
        let (col, text) = cond_term(c, label(policy, sources, c.span));
        if col == Column::State {
            continue;
        }
        seen.push(&c.test);
        if !terms.iter().any(|(k, t)| *k == col && *t == text) {
            terms.push((col, text));
        }
    }
    for c in narrowings(policy, site) {
        if seen.contains(&&c.test) {
            continue;
        }
        let mut not_c = c.clone().negate();
        not_c.owner_negation = OwnerNegation::Xt;
        let Ok(bs) = an.match_set(&Match { conds: vec![not_c] }, Approx::Over) else {
            continue;
        };
        if flows.intersect(&bs).is_empty() == Some(true) {
            seen.push(&c.test);
            terms.push(cond_term(c, label(policy, sources, c.span)));
        }
    }
    terms.sort_by_key(|(col, _)| *col);
    let (nonroot, nonroot_definite) = if hook == Hook::Output {
        nonroot_witness(&flows, under.as_ref(), q, !site.may && under.is_none())
    } else {
        (None, false)
    };
    let about_rule = ctx.by_rule.get(&site.rule).into_iter().flatten();
    let findings = linked(hook, &flows, about_rule.map(|&k| &ctx.findings[k]));
    Ok(Some(Class {
        hook,
        source: Source::Rules,
        terms,
        states,
        sites: vec![site.clone()],
        witness,
        definite,
        nonroot,
        nonroot_definite,
        findings,
    }))
}

/// A non-root flow of a class: from the must-set when it has one, else
/// from the may-set (then not definite). `exact`: the may-set is exact.
fn nonroot_witness(
    over: &EvalSet,
    under: Option<&EvalSet>,
    q: &Queries,
    exact: bool,
) -> (Option<Packet>, bool) {
    if let Some(w) = under.and_then(|u| u.intersect(&q.nonroot).witness()) {
        return (Some(w), true);
    }
    let w = over.intersect(&q.nonroot).witness();
    (w, exact)
}

fn restrict<'a>(set: EvalSet<'a>, to: Option<&BoxSet>) -> EvalSet<'a> {
    match to {
        Some(bs) => set.intersect(bs),
        None => set,
    }
}

/// Which of NEW and UNTRACKED a set of decided packets has. `conds` are
/// conditions every packet of the set meets: a state they exclude needs no
/// question to the engine.
fn states_of<'c>(
    d: &EvalSet,
    q: &Queries,
    witness: Option<&Packet>,
    conds: impl IntoIterator<Item = &'c Cond>,
) -> Vec<CtState> {
    let mut possible = [true, true];
    for c in conds {
        if let Test::State(list) = &c.test {
            for (i, s) in [CtState::New, CtState::Untracked].iter().enumerate() {
                possible[i] &= list.contains(s) != c.negated;
            }
        }
    }
    let has = |state: CtState, set: &BoxSet| {
        let i = usize::from(state == CtState::Untracked);
        witness.is_some_and(|w| w.state == state)
            || (possible[i] && d.intersect(set).is_empty() != Some(true))
    };
    let mut states = Vec::new();
    if has(CtState::New, &q.new) {
        states.push(CtState::New);
    }
    if has(CtState::Untracked, &q.untracked) {
        states.push(CtState::Untracked);
    }
    states
}

/// Conditions that earlier rules on the site's path may impose on the
/// packets that reach it: the positive conditions of `return` rules in
/// chains jumped to earlier, and `X` for an earlier `drop not X`. Each is
/// only a candidate; the caller keeps those the engine proves.
fn narrowings<'p>(policy: &'p Policy, site: &Site) -> Vec<&'p Cond> {
    // (chain, rules before this index) for every level of the path.
    let mut levels: Vec<(ChainId, u32)> = Vec::new();
    if let Some(path) = &site.path {
        levels.extend(path.iter().map(|j| (j.chain, j.index)));
    }
    levels.push((site.rule.chain, site.rule.index));
    let useful = |c: &Cond| {
        !matches!(
            c.test,
            Test::State(_) | Test::Limit(_) | Test::Opaque(_) | Test::Family(_)
        )
    };
    let mut found: Vec<&Cond> = Vec::new();
    for (chain, before) in levels.into_iter().rev() {
        for rule in policy.chain(chain).rules[..before as usize].iter().rev() {
            match &rule.action {
                Action::Jump(k) => {
                    for r in &policy.chain(*k).rules {
                        if r.action == Action::Return {
                            found
                                .extend(r.matches.conds.iter().filter(|c| !c.negated && useful(c)));
                        }
                    }
                }
                Action::Drop | Action::Reject(_) => {
                    if let [c] = rule.matches.conds.as_slice() {
                        if c.negated && useful(c) {
                            found.push(c);
                        }
                    }
                }
                _ => {}
            }
            if found.len() >= MAX_NARROWINGS {
                found.truncate(MAX_NARROWINGS);
                return found;
            }
        }
    }
    found
}

/// The classes of a hook's default `accept` and of the families the policy
/// does not filter.
fn default_classes(ctx: &Ctx, hook: Hook) -> Vec<Class> {
    let (an, q) = (ctx.an, ctx.q);
    let mut out = Vec::new();
    // `under`: the same set under `Approx::Under`, when it depends on the
    // approximation (the packets that reach the default policy do; the
    // families a policy does not filter do not).
    let mut push = |set: EvalSet, under: Option<EvalSet>, source: Source, terms| {
        let flows = set.intersect(&q.new_untracked);
        let over = match flows.check() {
            Answer::Empty => return,
            Answer::Witness(p) => Some(p),
            Answer::Unknown => None,
        };
        let under = under
            .filter(|_| !ctx.exact)
            .map(|u| u.intersect(&q.new_untracked));
        let (witness, definite) = match &under {
            None => (over, true),
            Some(u) => match u.witness() {
                Some(w) => (Some(w), true),
                None => (over, false),
            },
        };
        let (nonroot, nonroot_definite) = if hook == Hook::Output {
            nonroot_witness(&flows, under.as_ref(), q, under.is_none())
        } else {
            (None, false)
        };
        out.push(Class {
            hook,
            states: states_of(&set, q, witness.as_ref(), []),
            nonroot,
            nonroot_definite,
            findings: linked(hook, &flows, ctx.findings.iter()),
            source,
            terms,
            sites: Vec::new(),
            witness,
            definite,
        });
    };
    let policy = an.policy();
    if let Some(base) = policy.base_chain(hook) {
        if policy.chain(base).policy.unwrap_or(ir::Verdict::Accept) == ir::Verdict::Accept {
            let ends = an.policy_reach(hook, Approx::Over);
            let under = an.policy_reach(hook, Approx::Under);
            push(ends, Some(under), Source::DefaultPolicy(base), Vec::new());
        }
    }
    let free = an.unfiltered(hook);
    if policy.base_chain(hook).is_none() {
        push(free, None, Source::NoBaseChain, Vec::new());
    } else {
        for (i, f) in Family::ALL.into_iter().enumerate() {
            if !policy.family.contains(f) {
                let set = free.intersect(&q.family[i]);
                let term = (Column::Protocol, format!("any {}", f.keyword()));
                push(set, None, Source::Unfiltered(f), vec![term]);
            }
        }
    }
    out
}
