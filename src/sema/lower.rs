//! Chains, rules, assertions and egress blocks: type checks and lowering.
//!
//! A rule's matches become a conjunction of typed conditions. Protocol and
//! service matches become `Test::L4` alternatives; the rule's `sport` and
//! `dport` are folded into the first positive protocol match that has
//! ports (a negated port match becomes a negated `L4` test over the same
//! protocols). Where the rule runs (its chain's hooks, see `callgraph`)
//! decides which matches it may use.

use super::callgraph::{hook_index, CallGraph};
use super::defs::{Class, DefValue};
use super::names::{allow_list, did_you_mean, suggest, ChainIdx, BUILTIN_CHAINS};
use super::values::{alt_families, families_name, has_ports, proto_name, show, sole_name};
use super::Sema;
use crate::diagnostics::Diagnostic;
use crate::ir::{
    self, AddrSet, ChainId, ChainKind, Cond, CtState, Family, FamilySet, Hook, LogLevel, LogSpec,
    Match, OwnerNegation, PortSet, RateLimit, RejectWith, Test, L4,
};
use crate::source::{Span, Spanned};
use crate::syntax::ast::{self, IdKind, MatchExpr, MatchKind, RateUnit};

/// The longest log prefix the kernel accepts (LOG: 29 bytes plus NUL).
pub const LOG_PREFIX_MAX: usize = 29;
/// The longest rule comment nftables accepts.
pub const COMMENT_MAX: usize = 128;
/// The fastest rate and the largest burst iptables' `limit` match accepts.
const LIMIT_MAX_PER_SECOND: u64 = 10_000;
const LIMIT_MAX_BURST: u64 = 10_000;

/// Where matches are evaluated: for each hook (`Hook` order), whether its
/// packets get there, and the jump that brings them (none for the base
/// chain itself).
#[derive(Debug, Clone, Copy, Default)]
pub struct Site {
    hooks: [Option<Option<Span>>; 3],
    /// The user chain, when the matches are in one.
    chain: Option<ChainIdx>,
    /// The matches are an egress entry.
    egress: bool,
}

impl Site {
    fn hook(hook: Hook) -> Site {
        let mut s = Site::default();
        s.hooks[hook_index(hook)] = Some(None);
        s
    }
}

pub fn builtin_hook(name: &str) -> Option<Hook> {
    match name {
        "input" => Some(Hook::Input),
        "output" => Some(Hook::Output),
        "forward" => Some(Hook::Forward),
        _ => None,
    }
}

fn inter(a: FamilySet, b: FamilySet) -> FamilySet {
    FamilySet {
        v4: a.v4 && b.v4,
        v6: a.v6 && b.v6,
    }
}

fn is_empty(f: FamilySet) -> bool {
    !f.v4 && !f.v6
}

fn addr_families(set: &AddrSet) -> FamilySet {
    FamilySet {
        v4: set.ranges.iter().any(|r| r.family == Family::V4),
        v6: set.ranges.iter().any(|r| r.family == Family::V6),
    }
}

fn l4_families(alts: &[L4]) -> FamilySet {
    alts.iter().fold(
        FamilySet {
            v4: false,
            v6: false,
        },
        |acc, a| {
            let f = alt_families(a);
            FamilySet {
                v4: acc.v4 || f.v4,
                v6: acc.v6 || f.v6,
            }
        },
    )
}

/// Sorted, merged port ranges.
fn normalize_ports(mut v: Vec<(u16, u16)>) -> Vec<(u16, u16)> {
    v.sort_unstable();
    let mut out: Vec<(u16, u16)> = Vec::with_capacity(v.len());
    for (lo, hi) in v {
        match out.last_mut() {
            Some(last) if u32::from(lo) <= u32::from(last.1) + 1 => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

fn intersect_ports(a: &[(u16, u16)], b: &[(u16, u16)]) -> Vec<(u16, u16)> {
    let (a, b) = (normalize_ports(a.to_vec()), normalize_ports(b.to_vec()));
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() && j < b.len() {
        let lo = a[i].0.max(b[j].0);
        let hi = a[i].1.min(b[j].1);
        if lo <= hi {
            out.push((lo, hi));
        }
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// A rule's `sport`/`dport` match, waiting to be folded into its protocol.
struct PortMatch {
    dst: bool,
    negated: bool,
    set: PortSet,
    span: Span,
}

impl PortMatch {
    fn keyword(&self) -> &'static str {
        if self.dst {
            "dport"
        } else {
            "sport"
        }
    }
}

/// Lowered matches: the conditions, a `comment`, and the families a
/// packet can have and still match.
pub struct Lowered {
    pub conds: Vec<Cond>,
    pub comment: Option<String>,
    pub families: FamilySet,
}

const REASONS: &[(&str, RejectWith, Option<Family>)] = &[
    ("tcp-reset", RejectWith::TcpReset, None),
    (
        "icmp-net-unreachable",
        RejectWith::IcmpNetUnreachable,
        Some(Family::V4),
    ),
    (
        "icmp-host-unreachable",
        RejectWith::IcmpHostUnreachable,
        Some(Family::V4),
    ),
    (
        "icmp-port-unreachable",
        RejectWith::IcmpPortUnreachable,
        Some(Family::V4),
    ),
    (
        "icmp-proto-unreachable",
        RejectWith::IcmpProtoUnreachable,
        Some(Family::V4),
    ),
    (
        "icmp-net-prohibited",
        RejectWith::IcmpNetProhibited,
        Some(Family::V4),
    ),
    (
        "icmp-host-prohibited",
        RejectWith::IcmpHostProhibited,
        Some(Family::V4),
    ),
    (
        "icmp-admin-prohibited",
        RejectWith::IcmpAdminProhibited,
        Some(Family::V4),
    ),
    (
        "icmpv6-no-route",
        RejectWith::Icmp6NoRoute,
        Some(Family::V6),
    ),
    (
        "icmpv6-admin-prohibited",
        RejectWith::Icmp6AdmProhibited,
        Some(Family::V6),
    ),
    (
        "icmpv6-addr-unreachable",
        RejectWith::Icmp6AddrUnreachable,
        Some(Family::V6),
    ),
    (
        "icmpv6-port-unreachable",
        RejectWith::Icmp6PortUnreachable,
        Some(Family::V6),
    ),
];

const LEVELS: &[(&str, LogLevel)] = &[
    ("emerg", LogLevel::Emerg),
    ("alert", LogLevel::Alert),
    ("crit", LogLevel::Crit),
    ("err", LogLevel::Err),
    ("warn", LogLevel::Warning),
    ("warning", LogLevel::Warning),
    ("notice", LogLevel::Notice),
    ("info", LogLevel::Info),
    ("debug", LogLevel::Debug),
    ("0", LogLevel::Emerg),
    ("1", LogLevel::Alert),
    ("2", LogLevel::Crit),
    ("3", LogLevel::Err),
    ("4", LogLevel::Warning),
    ("5", LogLevel::Notice),
    ("6", LogLevel::Info),
    ("7", LogLevel::Debug),
];

impl Sema<'_> {
    fn chain_name(&self, c: ChainIdx) -> &str {
        &self.syms.chains[c].name.node
    }

    /// Builds the call graph, reports bad jumps and cycles, and lowers
    /// every chain (`None` for a chain with errors).
    pub fn chains(&mut self) -> Vec<Option<ir::Chain>> {
        let n = self.syms.chains.len();
        let mut graph = CallGraph::new(n);
        let mut bases = [None; 3];
        for (i, c) in self.syms.chains.iter().enumerate() {
            if let Some(h) = builtin_hook(&c.name.node) {
                bases[hook_index(h)] = Some(i);
            }
        }
        for i in 0..n {
            let chain = self.syms.chains[i];
            for rule in &chain.rules {
                if let ast::Action::Jump(t) | ast::Action::Goto(t) = &rule.action.node {
                    if let Some(j) = self.jump_target(t) {
                        graph.add(i, j, t.span);
                    }
                }
            }
        }
        for cycle in graph.cycles() {
            self.chain_cycle(&graph, &cycle);
        }
        let reach = graph.reach(bases);
        self.sites = reach
            .iter()
            .enumerate()
            .map(|(i, r)| Site {
                hooks: r.hooks.map(|h| h.map(|e| e.map(|e| graph.edges[e].span))),
                chain: builtin_hook(self.chain_name(i)).is_none().then_some(i),
                egress: false,
            })
            .collect();
        (0..n).map(|i| self.chain(i)).collect()
    }

    /// The chain a `jump`/`goto` names; reports unknown and built-in targets.
    fn jump_target(&mut self, t: &ast::Ident) -> Option<ChainIdx> {
        match self.syms.chain_index.get(t.node.as_str()) {
            Some(&j) if builtin_hook(&t.node).is_some() => {
                self.diags.push(
                    Diagnostic::error(
                        "jump-to-builtin",
                        format!("cannot jump to the built-in chain `{}`", t.node),
                        t.span,
                    )
                    .primary_label("a built-in chain is entered by the kernel only")
                    .label(self.syms.chains[j].name.span, "declared here")
                    .help("move the shared rules into a user chain and jump to it from each place"),
                );
                None
            }
            Some(&j) => Some(j),
            None if builtin_hook(&t.node).is_some() => {
                self.diags.push(
                    Diagnostic::error(
                        "jump-to-builtin",
                        format!("cannot jump to the built-in chain `{}`", t.node),
                        t.span,
                    )
                    .primary_label("a built-in chain is entered by the kernel only")
                    .help("move the shared rules into a user chain and jump to it from each place"),
                );
                None
            }
            None => {
                self.unknown_chain(t);
                None
            }
        }
    }

    fn unknown_chain(&mut self, t: &ast::Ident) {
        let names = self.syms.chains.iter().map(|c| c.name.node.as_str());
        let hint = suggest(&t.node, names.chain(BUILTIN_CHAINS));
        self.diags.push(
            Diagnostic::error(
                "unknown-chain",
                format!("unknown chain `{}`", t.node),
                t.span,
            )
            .primary_label("no chain has this name")
            .help(did_you_mean(
                hint,
                format!("declare it with `chain {} {{ ... }}`", t.node),
            )),
        );
    }

    fn chain_cycle(&mut self, graph: &CallGraph, cycle: &[usize]) {
        let Some((&last, rest)) = cycle.split_last() else {
            return;
        };
        let mut path: Vec<String> = cycle
            .iter()
            .map(|&e| format!("`{}`", self.chain_name(graph.edges[e].from)))
            .collect();
        path.push(format!("`{}`", self.chain_name(graph.edges[cycle[0]].from)));
        let le = graph.edges[last];
        let mut d = Diagnostic::error(
            "chain-cycle",
            format!("chains call each other in a cycle: {}", path.join(" → ")),
            le.span,
        )
        .primary_label(format!(
            "`{}` calls `{}` here, closing the cycle",
            self.chain_name(le.from),
            self.chain_name(le.to)
        ));
        for &e in rest {
            let edge = graph.edges[e];
            d = d.label(
                edge.span,
                format!(
                    "`{}` calls `{}` here",
                    self.chain_name(edge.from),
                    self.chain_name(edge.to)
                ),
            );
        }
        self.diags.push(d.help(
            "a chain cannot call itself, directly or through other chains (the kernel refuses such a ruleset); remove one of these jumps",
        ));
    }

    fn chain(&mut self, i: ChainIdx) -> Option<ir::Chain> {
        let c = self.syms.chains[i];
        let allow = allow_list(&c.annotations, &mut self.diags);
        let hook = builtin_hook(&c.name.node);
        let mut ok = true;
        if let (None, Some(p)) = (hook, c.policy) {
            self.diags.push(
                Diagnostic::error(
                    "policy-on-user-chain",
                    format!("user chain `{}` cannot have a policy", c.name.node),
                    p.span,
                )
                .primary_label("only built-in chains have a policy")
                .label(c.name.span, "a user chain, entered by `jump` or `goto`")
                .help("remove the policy; at its end a user chain returns to the chain that called it"),
            );
            ok = false;
        }
        let site = self.sites[i];
        let mut rules = Vec::with_capacity(c.rules.len());
        for r in &c.rules {
            match self.rule(r, hook, &site) {
                Some(r) => rules.push(r),
                None => ok = false,
            }
        }
        let header_end = c
            .policy
            .map_or(c.name.span.end, |p| p.span.end.max(c.name.span.end));
        ok.then(|| ir::Chain {
            name: c.name.node.clone(),
            kind: hook.map_or(ChainKind::User, ChainKind::Base),
            policy: hook.map(|_| match c.policy.map(|p| p.node) {
                Some(ast::Verdict::Drop) => ir::Verdict::Drop,
                _ => ir::Verdict::Accept,
            }),
            rules,
            span: Span {
                end: header_end,
                ..c.name.span
            },
            allow,
        })
    }

    fn rule(&mut self, r: &ast::RuleDecl, hook: Option<Hook>, site: &Site) -> Option<ir::Rule> {
        let allow = allow_list(&r.annotations, &mut self.diags);
        let lowered = self.lower_matches(&r.matches, site);
        let action = self.action(&r.action, hook, lowered.as_ref());
        let lowered = lowered?;
        Some(ir::Rule {
            matches: Match {
                conds: lowered.conds,
            },
            action: action?,
            span: r.span,
            allow,
            comment: lowered.comment,
        })
    }

    fn action(
        &mut self,
        a: &Spanned<ast::Action>,
        hook: Option<Hook>,
        m: Option<&Lowered>,
    ) -> Option<ir::Action> {
        Some(match &a.node {
            ast::Action::Accept => ir::Action::Accept,
            ast::Action::Drop => ir::Action::Drop,
            ast::Action::Reject(None) => ir::Action::Reject(None),
            ast::Action::Reject(Some(reason)) => {
                ir::Action::Reject(Some(self.reject_reason(reason, m)?))
            }
            ast::Action::Log(opts) => ir::Action::Log(self.log(opts)?),
            ast::Action::Jump(t) => ir::Action::Jump(self.target_id(t)?),
            ast::Action::Goto(t) => ir::Action::Goto(self.target_id(t)?),
            ast::Action::Return => {
                if let Some(h) = hook {
                    self.diags.push(
                        Diagnostic::error(
                            "return-outside-user-chain",
                            format!("`return` in the built-in chain `{}`", h.name()),
                            a.span,
                        )
                        .primary_label("`return` leaves a user chain for its caller")
                        .help("a built-in chain has no caller; use `accept` or `drop`, or let the packet reach the chain's policy"),
                    );
                    return None;
                }
                ir::Action::Return
            }
        })
    }

    /// The id of a valid jump target (errors were reported by `chains`).
    fn target_id(&self, t: &ast::Ident) -> Option<ChainId> {
        let &j = self.syms.chain_index.get(t.node.as_str())?;
        builtin_hook(&t.node).is_none().then_some(ChainId(j as u32))
    }

    fn reject_reason(&mut self, reason: &ast::Ident, m: Option<&Lowered>) -> Option<RejectWith> {
        let Some(&(_, with, family)) = REASONS.iter().find(|(n, _, _)| *n == reason.node) else {
            let names: Vec<&str> = REASONS.iter().map(|r| r.0).collect();
            let hint = suggest(&reason.node, names.iter().copied());
            self.diags.push(
                Diagnostic::error(
                    "unknown-reject-reason",
                    format!("unknown reject reason `{}`", reason.node),
                    reason.span,
                )
                .primary_label("not a reject reason")
                .help(match hint {
                    Some(h) => format!("did you mean `{h}`?"),
                    None => format!("the reasons are: {}", names.join(", ")),
                }),
            );
            return None;
        };
        // Without valid matches there is nothing more to check.
        let Some(m) = m else { return Some(with) };
        match family {
            None => {
                let tcp_only = m.conds.iter().any(|c| {
                    !c.negated
                        && matches!(&c.test, Test::L4(alts) if alts.iter().all(|a| a.proto == ir::dim::PROTO_TCP))
                });
                if !tcp_only {
                    self.diags.push(
                        Diagnostic::error(
                            "tcp-reset-not-tcp",
                            "`reject tcp-reset` in a rule that does not match only tcp",
                            reason.span,
                        )
                        .primary_label("a tcp reset can only answer a tcp packet")
                        .help("add `tcp` to the rule's matches (e.g. `reject tcp-reset tcp 113`), or use an icmp reason"),
                    );
                    return None;
                }
            }
            Some(f) => {
                let other = match f {
                    Family::V4 => Family::V6,
                    Family::V6 => Family::V4,
                };
                if m.families.contains(other) {
                    let fname = super::values::family_name(f);
                    let oname = super::values::family_name(other);
                    let mut d = Diagnostic::error(
                        "reject-family",
                        format!("`{}` is an {fname} reason, but this rule matches {oname} packets", reason.node),
                        reason.span,
                    )
                    .primary_label(format!("only {fname} packets can be answered this way"))
                    .help(format!(
                        "use plain `reject` (the kernel answers each family with port-unreachable), or restrict the rule to {fname} (e.g. with {fname} addresses)"
                    ));
                    if let Some(fs) = self.family_span {
                        d = d.label(
                            fs,
                            format!("the policy filters {}", families_name(self.family)),
                        );
                    }
                    self.diags.push(d);
                    return None;
                }
            }
        }
        Some(with)
    }

    fn log(&mut self, opts: &ast::LogOpts) -> Option<LogSpec> {
        let mut ok = true;
        if let Some(p) = &opts.prefix {
            if p.node.len() > LOG_PREFIX_MAX {
                self.diags.push(
                    Diagnostic::error(
                        "log-prefix-too-long",
                        format!(
                            "log prefix is {} bytes long; the kernel allows at most {LOG_PREFIX_MAX}",
                            p.node.len()
                        ),
                        p.span,
                    )
                    .primary_label("too long")
                    .help(format!("shorten the prefix to {LOG_PREFIX_MAX} bytes or fewer")),
                );
                ok = false;
            }
            ok &= self.check_text(&p.node, p.span, "a log prefix");
        }
        let level = match &opts.level {
            None => None,
            Some(l) => match LEVELS.iter().find(|(n, _)| *n == l.node) {
                Some(&(_, level)) => Some(level),
                None => {
                    let hint = suggest(&l.node, LEVELS.iter().map(|l| l.0));
                    self.diags.push(
                        Diagnostic::error("unknown-log-level", format!("unknown log level `{}`", l.node), l.span)
                            .primary_label("not a syslog level")
                            .help(did_you_mean(
                                hint,
                                "use emerg, alert, crit, err, warn, notice, info, debug, or a number 0-7",
                            )),
                    );
                    ok = false;
                    None
                }
            },
        };
        ok.then(|| LogSpec {
            prefix: opts.prefix.as_ref().map(|p| p.node.clone()),
            level,
            nflog: false,
        })
    }

    /// Text that reaches the kernel (log prefixes, comments) must be
    /// printable.
    fn check_text(&mut self, text: &str, span: Span, what: &str) -> bool {
        if text.chars().any(char::is_control) {
            self.diags.push(
                Diagnostic::error(
                    "invalid-string",
                    format!("{what} contains a control character"),
                    span,
                )
                .primary_label("a control character (such as a newline or a tab)")
                .help("use printable characters only"),
            );
            return false;
        }
        true
    }

    /// Lowers a list of matches (a rule's, an assertion's, an egress
    /// entry's) at `site`. `None` after errors.
    pub fn lower_matches(
        &mut self,
        matches: &[Spanned<MatchExpr>],
        site: &Site,
    ) -> Option<Lowered> {
        let mut conds: Vec<Cond> = Vec::with_capacity(matches.len());
        let mut ports: Vec<PortMatch> = Vec::new();
        let mut comment: Option<Spanned<String>> = None;
        let mut ok = true;
        let mut excluded = false;
        for m in matches {
            let neg = m.node.not.is_some();
            let test = match &m.node.kind {
                MatchKind::Proto { proto, args } => {
                    self.proto_entry(proto, args, None).map(|alt| {
                        excluded |= self.l4_excluded(std::slice::from_ref(&alt), m.span, || {
                            proto_name(proto.node)
                        });
                        Test::L4(vec![alt])
                    })
                }
                MatchKind::Service(names) => self
                    .services(names, m)
                    .inspect(|alts| {
                        excluded |= self.l4_excluded(alts, m.span, || "this service".into());
                    })
                    .map(Test::L4),
                MatchKind::Sport(v) | MatchKind::Dport(v) => {
                    let dst = matches!(m.node.kind, MatchKind::Dport(_));
                    if self.nonempty(v.is_empty(), m) {
                        match self.ports(v, None) {
                            Some(set) => ports.push(PortMatch {
                                dst,
                                negated: neg,
                                set,
                                span: m.span,
                            }),
                            None => ok = false,
                        }
                    } else {
                        ok = false;
                    }
                    continue;
                }
                MatchKind::From(v) | MatchKind::To(v) => {
                    let src = matches!(m.node.kind, MatchKind::From(_));
                    self.address_match(v, m, &mut excluded).map(|set| {
                        if src {
                            Test::Src(set)
                        } else {
                            Test::Dst(set)
                        }
                    })
                }
                MatchKind::Iface(v) => {
                    let here = self.check_site(m, "iface", site);
                    let ifaces = self
                        .nonempty(v.is_empty(), m)
                        .then(|| self.ifaces(v, None))
                        .flatten();
                    ifaces.filter(|_| here).map(Test::Iif)
                }
                MatchKind::Oface(v) => {
                    let here = self.check_site(m, "oface", site);
                    let ifaces = self
                        .nonempty(v.is_empty(), m)
                        .then(|| self.ifaces(v, None))
                        .flatten();
                    ifaces.filter(|_| here).map(Test::Oif)
                }
                MatchKind::State(words) => self.states(words, m).map(Test::State),
                MatchKind::User(v) | MatchKind::Group(v) => {
                    let (kind, kw) = match m.node.kind {
                        MatchKind::User(_) => (IdKind::Uid, "user"),
                        _ => (IdKind::Gid, "group"),
                    };
                    let here = self.check_site(m, kw, site);
                    let owners = self
                        .nonempty(v.is_empty(), m)
                        .then(|| self.owners(v, kind, None))
                        .flatten();
                    owners.filter(|_| here).map(|o| match kind {
                        IdKind::Uid => Test::Uid(o),
                        IdKind::Gid => Test::Gid(o),
                    })
                }
                MatchKind::Limit { rate, unit, burst } => {
                    self.limit(rate, *unit, burst.as_ref()).map(Test::Limit)
                }
                MatchKind::Comment(text) => {
                    ok &= self.comment(text, m, &mut comment);
                    continue;
                }
            };
            let Some(test) = test else {
                ok = false;
                continue;
            };
            let owner = matches!(test, Test::Uid(_) | Test::Gid(_));
            let mut cond = Cond::new(test, m.span);
            if neg {
                cond = cond.negate();
                if owner {
                    cond.owner_negation = OwnerNegation::Xt;
                }
            }
            conds.push(cond);
        }
        if !ports.is_empty() {
            ok &= self.fold_ports(&mut conds, ports);
        }
        if !ok {
            return None;
        }
        let families = self.families(&conds, excluded)?;
        Some(Lowered {
            conds,
            comment: comment.map(|c| c.node),
            families,
        })
    }

    /// Reports an empty list; returns whether the list has values.
    fn nonempty(&mut self, empty: bool, m: &Spanned<MatchExpr>) -> bool {
        if empty {
            self.diags.push(
                Diagnostic::error("empty-list", "this match has no values", m.span)
                    .primary_label("nothing to match")
                    .help("give at least one value, or remove the match"),
            );
        }
        !empty
    }

    fn services(&mut self, names: &[ast::Ident], m: &Spanned<MatchExpr>) -> Option<Vec<L4>> {
        if !self.nonempty(names.is_empty(), m) {
            return None;
        }
        let mut alts = Vec::new();
        let mut ok = true;
        for n in names {
            match self.resolve(&n.node, n.span, &[Class::Service], None) {
                Some((_, v)) => {
                    if let DefValue::Services(s) = &*v {
                        alts.extend(s.iter().map(|a| L4 {
                            service: Some(n.node.clone()),
                            ..a.clone()
                        }));
                    }
                }
                None => ok = false,
            }
        }
        ok.then_some(alts)
    }

    fn address_match(
        &mut self,
        v: &[Spanned<ast::Value>],
        m: &Spanned<MatchExpr>,
        excluded: &mut bool,
    ) -> Option<AddrSet> {
        if !self.nonempty(v.is_empty(), m) {
            return None;
        }
        let list = self.addrs(v, None)?;
        for e in &list.elems {
            if is_empty(inter(e.families, self.family)) {
                *excluded = true;
                let value = &v[e.index];
                let what = match &value.node {
                    ast::Value::Name(n) => format!("`{n}`"),
                    ast::Value::AddrRange { .. } => {
                        format!("the address range `{}`", show(&value.node))
                    }
                    other => format!("the address `{}`", show(other)),
                };
                let d = self.excluded(
                    value.span,
                    format!(
                        "{what} is {} only, but policy `{}` filters only {}",
                        families_name(e.families),
                        self.policy_name,
                        families_name(self.family)
                    ),
                );
                self.diags.push(d);
            }
        }
        Some(AddrSet {
            name: sole_name(v),
            ranges: list.ranges,
        })
    }

    /// A protocol match whose alternatives all lie outside the policy's
    /// families; returns whether it reported one.
    fn l4_excluded(&mut self, alts: &[L4], span: Span, what: impl FnOnce() -> String) -> bool {
        let f = l4_families(alts);
        if !is_empty(inter(f, self.family)) {
            return false;
        }
        let d = self.excluded(
            span,
            format!(
                "`{}` matches only {} packets, but policy `{}` filters only {}",
                what(),
                families_name(f),
                self.policy_name,
                families_name(self.family)
            ),
        );
        self.diags.push(d);
        true
    }

    fn excluded(&self, span: Span, message: String) -> Diagnostic {
        let mut d = Diagnostic::error("family-excluded", message, span)
            .primary_label("this can never match a packet the policy filters")
            .help("remove it, or change the policy's `family` (`inet` filters IPv4 and IPv6)");
        if let Some(fs) = self.family_span {
            d = d.label(fs, "the policy's family is set here");
        }
        d
    }

    /// Checks that a match may be used where it is; reports it otherwise.
    fn check_site(&mut self, m: &Spanned<MatchExpr>, kw: &str, site: &Site) -> bool {
        let (bad, reason, help): (&[Hook], fn(Hook) -> String, &str) = match kw {
            "iface" => (
                &[Hook::Output],
                |_| "locally generated packets have no input interface".to_string(),
                "use `oface` to match the interface a packet leaves by",
            ),
            "oface" => (
                &[Hook::Input],
                |_| "packets delivered to this host have no output interface".to_string(),
                "use `iface` to match the interface a packet arrives on",
            ),
            _ => (
                &[Hook::Input, Hook::Forward],
                |h| format!("`{}` packets have no local socket, so no owner to match", h.name()),
                "match `user` and `group` only in `output`, or in chains that only `output` reaches",
            ),
        };
        let code = match kw {
            "iface" => "iface-in-output",
            "oface" => "oface-in-input",
            _ => "owner-outside-output",
        };
        for &h in bad {
            let Some(entry) = site.hooks[hook_index(h)] else {
                continue;
            };
            let message = match site.chain {
                None if site.egress => format!("`{kw}` cannot match in an egress block"),
                None => format!("`{kw}` cannot match in the `{}` chain", h.name()),
                Some(c) => format!(
                    "`{kw}` cannot match in chain `{}`, which `{}` packets reach",
                    self.chain_name(c),
                    h.name()
                ),
            };
            let mut d = Diagnostic::error(code, message, m.span)
                .primary_label(reason(h))
                .help(help);
            if let (Some(jump), Some(c)) = (entry, site.chain) {
                d = d.label(
                    jump,
                    format!(
                        "`{}` packets enter `{}` through this jump",
                        h.name(),
                        self.chain_name(c)
                    ),
                );
            }
            self.diags.push(d);
            return false;
        }
        true
    }

    fn states(&mut self, words: &[ast::Ident], m: &Spanned<MatchExpr>) -> Option<Vec<CtState>> {
        if !self.nonempty(words.is_empty(), m) {
            return None;
        }
        let mut out = Vec::new();
        let mut ok = true;
        for w in words {
            match CtState::ALL.iter().find(|s| s.name() == w.node) {
                Some(s) => {
                    if !out.contains(s) {
                        out.push(*s);
                    }
                }
                None => {
                    let hint = suggest(&w.node, CtState::ALL.iter().map(|s| s.name()));
                    self.diags.push(
                        Diagnostic::error(
                            "unknown-state",
                            format!("unknown connection state `{}`", w.node),
                            w.span,
                        )
                        .primary_label("not a conntrack state")
                        .help(did_you_mean(
                            hint,
                            "the states are new, established, related, invalid and untracked",
                        )),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    fn limit(
        &mut self,
        rate: &Spanned<u64>,
        unit: Spanned<RateUnit>,
        burst: Option<&Spanned<u64>>,
    ) -> Option<RateLimit> {
        let per_seconds: u64 = match unit.node {
            RateUnit::Second => 1,
            RateUnit::Minute => 60,
            RateUnit::Hour => 3600,
            RateUnit::Day => 86400,
        };
        let mut ok = true;
        if rate.node == 0 {
            self.diags.push(
                Diagnostic::error(
                    "bad-limit",
                    "a limit rate of 0 lets no packet through",
                    rate.span,
                )
                .primary_label("the rate must be at least 1")
                .help("use a positive rate, or `drop` the packets instead"),
            );
            ok = false;
        } else if rate.node > LIMIT_MAX_PER_SECOND.saturating_mul(per_seconds) {
            self.diags.push(
                Diagnostic::error(
                    "bad-limit",
                    format!(
                        "limit rate `{}` is faster than the kernel can count",
                        rate.node
                    ),
                    rate.span,
                )
                .primary_label(format!("at most {LIMIT_MAX_PER_SECOND} per second"))
                .help(format!(
                    "use a rate of at most {LIMIT_MAX_PER_SECOND}/second, or remove the limit"
                )),
            );
            ok = false;
        }
        if let Some(b) = burst {
            if b.node == 0 || b.node > LIMIT_MAX_BURST {
                self.diags.push(
                    Diagnostic::error(
                        "bad-limit",
                        format!("limit burst `{}` is out of range", b.node),
                        b.span,
                    )
                    .primary_label(format!("the burst must be from 1 to {LIMIT_MAX_BURST}"))
                    .help("use a burst of at least 1 (the default is 5)"),
                );
                ok = false;
            }
        }
        ok.then(|| RateLimit {
            rate: rate.node as u32,
            per_seconds: per_seconds as u32,
            burst: burst.map(|b| b.node as u32),
        })
    }

    fn comment(
        &mut self,
        text: &Spanned<String>,
        m: &Spanned<MatchExpr>,
        slot: &mut Option<Spanned<String>>,
    ) -> bool {
        let mut ok = true;
        if let Some(not) = m.node.not {
            self.diags.push(
                Diagnostic::error("negated-comment", "a `comment` cannot be negated", not)
                    .primary_label("`not` has nothing to negate here")
                    .label(text.span, "a comment matches every packet")
                    .help("remove `not`"),
            );
            ok = false;
        }
        if let Some(first) = slot {
            self.diags.push(
                Diagnostic::error(
                    "duplicate-comment",
                    "a rule has at most one `comment`",
                    m.span,
                )
                .primary_label("second comment")
                .label(first.span, "first comment")
                .help("merge the two comments into one"),
            );
            ok = false;
        }
        if text.node.len() > COMMENT_MAX {
            self.diags.push(
                Diagnostic::error(
                    "comment-too-long",
                    format!(
                        "comment is {} bytes long; nftables allows at most {COMMENT_MAX}",
                        text.node.len()
                    ),
                    text.span,
                )
                .primary_label("too long")
                .help(format!(
                    "shorten the comment to {COMMENT_MAX} bytes or fewer"
                )),
            );
            ok = false;
        }
        ok &= self.check_text(&text.node, text.span, "a comment");
        if slot.is_none() {
            *slot = Some(text.clone());
        }
        ok
    }

    /// Folds the rule's `sport`/`dport` matches into its first positive
    /// protocol match with ports.
    fn fold_ports(&mut self, conds: &mut Vec<Cond>, ports: Vec<PortMatch>) -> bool {
        let target = conds.iter().position(|c| {
            !c.negated
                && matches!(&c.test, Test::L4(alts) if alts.iter().any(|a| has_ports(a.proto)))
        });
        let Some(t) = target else {
            let portless = conds
                .iter()
                .find(|c| !c.negated && matches!(c.test, Test::L4(_)))
                .map(|c| c.span);
            let negated = conds
                .iter()
                .find(|c| c.negated && matches!(c.test, Test::L4(_)))
                .map(|c| c.span);
            for p in &ports {
                let mut d = Diagnostic::error(
                    "port-without-protocol",
                    format!("`{}` in a rule without `tcp`, `udp` or `sctp`", p.keyword()),
                    p.span,
                )
                .primary_label("ports need a protocol that has ports")
                .help(format!(
                    "add the protocol to the rule, e.g. `tcp {} ...`, or use a service",
                    p.keyword()
                ));
                if let Some(s) = portless {
                    d = d.label(s, "this protocol has no ports");
                }
                if let Some(s) = negated {
                    d = d.label(
                        s,
                        "a negated protocol does not say which protocol the packet has",
                    );
                }
                self.diags.push(d);
            }
            return false;
        };
        let mut ok = true;
        let (positive, negative): (Vec<_>, Vec<_>) = ports.into_iter().partition(|p| !p.negated);
        for p in positive {
            let Test::L4(alts) = &mut conds[t].test else {
                continue;
            };
            let folded: Vec<L4> = alts
                .iter()
                .filter(|a| has_ports(a.proto))
                .filter_map(|a| {
                    let slot = if p.dst { &a.dport } else { &a.sport };
                    let set = match slot {
                        None => p.set.clone(),
                        Some(have) => PortSet {
                            name: (have.ranges == p.set.ranges)
                                .then(|| p.set.name.clone())
                                .flatten(),
                            ranges: intersect_ports(&have.ranges, &p.set.ranges),
                        },
                    };
                    if set.ranges.is_empty() {
                        return None;
                    }
                    let mut a = a.clone();
                    if p.dst {
                        a.dport = Some(set);
                    } else {
                        a.sport = Some(set);
                    }
                    Some(a)
                })
                .collect();
            if folded.is_empty() {
                let at = conds[t].span;
                self.diags.push(
                    Diagnostic::error(
                        "ports-never-match",
                        format!(
                            "`{}` has no port in common with the rule's protocol match",
                            p.keyword()
                        ),
                        p.span,
                    )
                    .primary_label("none of these ports is allowed by the protocol match")
                    .label(at, "the protocol match allows only these ports")
                    .help("the rule can never match; fix the ports, or split the rule in two"),
                );
                ok = false;
            } else {
                *alts = folded;
            }
        }
        let Test::L4(alts) = &conds[t].test else {
            return ok;
        };
        let mut protos: Vec<u8> = alts
            .iter()
            .map(|a| a.proto)
            .filter(|&p| has_ports(p))
            .collect();
        protos.sort_unstable();
        protos.dedup();
        for p in negative {
            let alts = protos
                .iter()
                .map(|&proto| L4 {
                    proto,
                    sport: (!p.dst).then(|| p.set.clone()),
                    dport: p.dst.then(|| p.set.clone()),
                    icmp: None,
                    service: None,
                })
                .collect();
            conds.push(Cond::new(Test::L4(alts), p.span).negate());
        }
        ok
    }

    /// The families a packet can have and match `conds`; reports matches
    /// with no family in common (unless a family error was reported).
    fn families(&mut self, conds: &[Cond], excluded: bool) -> Option<FamilySet> {
        // The family restriction of each positive address or protocol
        // condition, with its span.
        let parts = || {
            conds
                .iter()
                .filter(|c| !c.negated)
                .filter_map(|c| match &c.test {
                    Test::Src(s) | Test::Dst(s) => Some((c.span, addr_families(s))),
                    Test::L4(alts) => Some((c.span, l4_families(alts))),
                    _ => None,
                })
        };
        let mut fam = self.family;
        let mut culprit = None;
        for (i, (_, f)) in parts().enumerate() {
            let next = inter(fam, f);
            if is_empty(next) && culprit.is_none() {
                culprit = Some(i);
            }
            fam = next;
        }
        let Some(culprit) = culprit else {
            return Some(fam);
        };
        if excluded {
            return None;
        }
        let parts: Vec<(Span, FamilySet)> = parts().collect();
        let (span, f) = parts[culprit];
        let mut d = Diagnostic::error(
            "family-mismatch",
            "these matches have no address family in common, so they never match",
            span,
        )
        .primary_label(format!("this matches only {} packets", families_name(f)));
        for (i, &(s, f)) in parts.iter().enumerate() {
            if i != culprit && (f.v4 != f.v6) {
                d = d.label(s, format!("this matches only {} packets", families_name(f)));
            }
        }
        self.diags.push(d.help(
            "IPv4 and IPv6 packets are matched separately: write one rule per family, or use addresses of one family",
        ));
        None
    }

    pub fn assertion(&mut self, a: &ast::AssertDecl) -> Option<ir::Assertion> {
        let name = &a.chain.node;
        let chain = self.syms.chain_index.get(name.as_str()).copied();
        match chain {
            None if builtin_hook(name).is_some() => self.diags.push(
                Diagnostic::error(
                    "unknown-chain",
                    format!("the policy has no `{name}` chain"),
                    a.chain.span,
                )
                .primary_label("this assertion is about a chain that is not declared")
                .help(format!(
                    "declare it, e.g. `chain {name} policy drop {{}}`; without it the kernel accepts every {name} packet"
                )),
            ),
            None => self.unknown_chain(&a.chain),
            Some(c) if builtin_hook(name).is_none() => self.diags.push(
                Diagnostic::error(
                    "assert-on-user-chain",
                    format!("an assertion about the user chain `{name}`"),
                    a.chain.span,
                )
                .primary_label("assertions are about the built-in chains `input`, `output` and `forward`")
                .label(self.syms.chains[c].name.span, "a user chain, declared here")
                .help("assert on the built-in chain that jumps to it: its verdict includes this chain's"),
            ),
            Some(_) => {}
        }
        let site = match chain {
            Some(c) => self.sites[c],
            None => builtin_hook(name).map(Site::hook).unwrap_or_default(),
        };
        let m = self.lower_matches(&a.matches, &site)?;
        Some(ir::Assertion {
            kind: match a.kind.node {
                ast::AssertKind::Allow => ir::AssertKind::Allow,
                ast::AssertKind::Deny => ir::AssertKind::Deny,
                ast::AssertKind::Reachable => ir::AssertKind::Reachable,
            },
            chain: ChainId(chain.filter(|_| builtin_hook(name).is_some())? as u32),
            matches: Match { conds: m.conds },
            span: a.span,
        })
    }

    pub fn egress(&mut self, e: &ast::EgressDecl) -> Option<ir::Egress> {
        let allow = allow_list(&e.annotations, &mut self.diags);
        let sel = &e.selector;
        let selector = match &sel.node.kind {
            MatchKind::User(v) | MatchKind::Group(v) => {
                let kind = if matches!(sel.node.kind, MatchKind::User(_)) {
                    IdKind::Uid
                } else {
                    IdKind::Gid
                };
                let owners = self
                    .nonempty(v.is_empty(), sel)
                    .then(|| self.owners(v, kind, None))
                    .flatten();
                owners.map(|o| {
                    let test = match kind {
                        IdKind::Uid => Test::Uid(o),
                        IdKind::Gid => Test::Gid(o),
                    };
                    // A negated selector selects sockets of other owners,
                    // never socketless packets: the nft reading of `!=`.
                    let c = Cond::new(test, sel.span);
                    if sel.node.not.is_some() {
                        c.negate()
                    } else {
                        c
                    }
                })
            }
            _ => {
                self.diags.push(
                    Diagnostic::error(
                        "bad-egress-selector",
                        "an egress block selects `user` or `group`",
                        sel.span,
                    )
                    .primary_label("not a user or group selector")
                    .help(
                        "write `egress user NAME only { ... }` or `egress group NAME only { ... }`",
                    ),
                );
                None
            }
        };
        let site = Site {
            egress: true,
            ..Site::hook(Hook::Output)
        };
        let mut allowed = Vec::with_capacity(e.entries.len());
        let mut ok = true;
        for entry in &e.entries {
            match self.lower_matches(&entry.matches, &site) {
                Some(m) => allowed.push(Match { conds: m.conds }),
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        Some(ir::Egress {
            selector: selector?,
            allowed,
            span: e.span,
            allow,
        })
    }

    /// Evaluates every definition (so that errors in unused ones are
    /// reported too) and lists them with their `used` flag.
    pub fn definitions(&mut self) -> Vec<ir::Definition> {
        let n = self.syms.defs.len();
        for id in 0..n {
            let span = self.syms.defs[id].name.span;
            self.eval(id, span);
        }
        let mut used = self.used.clone();
        let mut queue: Vec<usize> = (0..n).filter(|&i| used[i]).collect();
        while let Some(d) = queue.pop() {
            for &r in &self.def_refs[d] {
                if !used[r] {
                    used[r] = true;
                    queue.push(r);
                }
            }
        }
        (0..n)
            .map(|id| {
                let d = self.syms.defs[id];
                ir::Definition {
                    name: d.name.node.clone(),
                    kind: match d.kind.node {
                        ast::DefKind::Host => ir::DefKind::Host,
                        ast::DefKind::Net => ir::DefKind::Net,
                        ast::DefKind::Service => ir::DefKind::Service,
                        ast::DefKind::User => ir::DefKind::User,
                        ast::DefKind::Group => ir::DefKind::Group,
                        ast::DefKind::Iface => ir::DefKind::Iface,
                        ast::DefKind::List => ir::DefKind::List,
                    },
                    span: d.name.span,
                    used: used[id],
                    allow: allow_list(&d.annotations, &mut self.diags),
                }
            })
            .collect()
    }
}
