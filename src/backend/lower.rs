//! Shared lowering: IR chains → kernel chains of simple rules.
//!
//! An IR rule is a conjunction of possibly negated tests, each of which may
//! be a union (several addresses, several services). A kernel rule is a
//! conjunction of simple matches, with a few negations each target can
//! write directly. This module bridges the two, for both targets, and is
//! the only place that decides *how* a rule becomes kernel rules:
//!
//! - Each positive test becomes a list of alternatives ([`KMatch`]); the
//!   rule's alternatives are their product, with contradictory ones dropped.
//! - A negated test the target can write (`! -s`, `iifname != {...}`) stays
//!   inline. Any other negation becomes an *exclusion*: the complement of a
//!   union, written with positive rules and order in a helper chain
//!   (`EXCLUDED -j RETURN`, then the action). Owner tests are never negated
//!   in the output; `not user root` is always an exclusion.
//! - When alternatives overlap, a non-terminal action (log, jump) or a rate
//!   limit must still run once per packet: the alternatives then dispatch
//!   with `goto` to one helper that holds the action, so the packet enters
//!   it at most once and the limit is a single kernel instance.
//! - `return` and `goto` are about the chain they stand in, so they cannot
//!   move into a helper entered by `jump`. For them the chain is split: the
//!   rule's alternatives `goto` a helper, and every later rule of the chain
//!   moves to a *tail* chain that the helper (when the rule does not apply)
//!   and the chain itself `goto`. Goto leaves the calling frame unchanged,
//!   so return, fall-through and the base-chain policy keep their meaning.
//!
//! INVARIANT: for every packet, the kernel chains built here reach the same
//! verdict as the IR chain, run each log and each jump as many times as the
//! IR does, and evaluate each rate limit at the same point. Anything that
//! cannot be written with the same meaning is an error diagnostic.

use crate::diagnostics::Diagnostic;
use crate::ir::{
    self, Action, ChainId, ChainKind, CtState, Family, FamilySet, Hook, IcmpSpec, Iface, LogSpec,
    OwnerNegation, OwnerRange, Policy, RateLimit, RejectWith, Rule, Test, Verdict,
};
use crate::source::Span;

use super::quote::{self, Dialect};

/// Above this many alternatives (the product of a rule's lists), a rule is
/// not expanded into one kernel rule per combination: each list gets its
/// own dispatch chain instead (see `lower_staged`), so the output grows
/// with the sum of the list lengths, not their product.
pub(crate) const STAGE_THRESHOLD: usize = 256;
/// The most address ranges iptables gets as inline `! --src-range` matches
/// in one rule; larger negated sets become exclusions.
const XT_INLINE_NEGATED_RANGES: usize = 8;
/// The largest uid or gid the owner match accepts (`(uid_t)-1` is invalid).
pub(crate) const MAX_OWNER_ID: u32 = u32::MAX - 1;

/// Which target the lowering writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// One iptables family file.
    Xt(Family),
    /// One nft table filtering these families.
    Nft(FamilySet),
}

impl Style {
    fn dialect(self) -> Dialect {
        match self {
            Style::Xt(_) => Dialect::Xt,
            Style::Nft(_) => Dialect::Nft,
        }
    }

    /// The families whose packets reach the output.
    pub(crate) fn families(self) -> FamilySet {
        match self {
            Style::Xt(Family::V4) => FamilySet::IP,
            Style::Xt(Family::V6) => FamilySet::IP6,
            Style::Nft(f) => f,
        }
    }
}

/// A set of addresses of one family, normalised: sorted, disjoint,
/// non-adjacent ranges.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct AddrSel {
    pub family: Family,
    pub ranges: Vec<(u128, u128)>,
    /// The definition it came from, if it is exactly that definition.
    pub name: Option<String>,
}

/// A set of ports, normalised like [`AddrSel`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PortSel {
    pub ranges: Vec<(u16, u16)>,
    pub name: Option<String>,
}

/// ICMP (`v6 == false`) or ICMPv6 types, each with an optional code range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IcmpSel {
    pub v6: bool,
    pub specs: Vec<IcmpSpec>,
}

/// A positive socket-owner test: uid (or gid) in one of the ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OwnerSel {
    pub gid: bool,
    pub ranges: Vec<OwnerRange>,
}

/// A rate limit; `over` is its complement (nft `limit rate over`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LimitSel {
    pub limit: RateLimit,
    pub over: bool,
}

/// A conjunction of simple kernel matches. `None` / empty fields match
/// everything. Rendering order puts `limits` last, so a limit only counts
/// packets that passed every other match.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct KMatch {
    pub family: Option<Family>,
    pub iif: Option<Vec<Iface>>,
    pub oif: Option<Vec<Iface>>,
    /// The interface is none of these.
    pub not_iif: Vec<Iface>,
    pub not_oif: Vec<Iface>,
    pub src: Option<AddrSel>,
    pub dst: Option<AddrSel>,
    /// Each: the packet is of the set's family and not in the set.
    pub not_src: Vec<AddrSel>,
    pub not_dst: Vec<AddrSel>,
    pub proto: Option<u8>,
    /// The protocol is none of these.
    pub not_proto: Vec<u8>,
    pub sport: Option<PortSel>,
    pub dport: Option<PortSel>,
    /// Each: the source or the destination port is in the set
    /// (`multiport --ports`). A conjunction: two such tests cannot be
    /// intersected into one.
    pub anyport: Vec<PortSel>,
    pub icmp: Option<IcmpSel>,
    pub state: Option<Vec<CtState>>,
    pub owners: Vec<OwnerSel>,
    pub limits: Vec<LimitSel>,
}

/// How a reject answers, resolved for the families that reach the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RejectSpec {
    /// The target's default (ICMP port unreachable of the packet's family).
    Default,
    TcpReset,
    Icmp(RejectWith),
    Icmp6(RejectWith),
    /// nft `icmpx`: the same meaning in both families.
    Icmpx(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum KAction {
    Accept,
    Drop,
    Reject(RejectSpec),
    Log(LogSpec),
    Jump(String),
    Goto(String),
    Return,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KRule {
    pub m: KMatch,
    pub action: KAction,
    /// The IR rule this kernel rule implements.
    pub span: Span,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KChain {
    /// The name as written in the output.
    pub name: String,
    /// The hook and policy of a base chain.
    pub base: Option<(Hook, Verdict)>,
    pub rules: Vec<KRule>,
}

/// The lowered policy for one target (one family file for iptables).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Program {
    pub chains: Vec<KChain>,
}

/// Lowers a policy for one target. Errors are reported all at once.
pub(crate) fn lower(policy: &Policy, style: Style) -> Result<Program, Vec<Diagnostic>> {
    lower_with(policy, style, STAGE_THRESHOLD)
}

/// [`lower`] with another staging threshold (tests force staging with 1).
pub(crate) fn lower_with(
    policy: &Policy,
    style: Style,
    stage_threshold: usize,
) -> Result<Program, Vec<Diagnostic>> {
    let mut cx = Lowering {
        policy,
        style,
        names: Vec::new(),
        chains: Vec::new(),
        helpers: 0,
        diags: Vec::new(),
        stage_threshold,
    };
    cx.check_policy();
    cx.name_chains();
    for (i, chain) in policy.chains.iter().enumerate() {
        cx.lower_chain(ChainId(i as u32), chain);
    }
    if cx.diags.is_empty() {
        return Ok(Program { chains: cx.chains });
    }
    // Checks and lowering may find the same problem; report each once, in
    // source order.
    let mut diags: Vec<Diagnostic> = Vec::new();
    for d in cx.diags {
        if !diags.contains(&d) {
            diags.push(d);
        }
    }
    diags.sort_by_key(|d| {
        let s = d.primary_span();
        (s.file, s.start, s.end)
    });
    Err(diags)
}

struct Lowering<'a> {
    policy: &'a Policy,
    style: Style,
    /// The written name of every IR chain.
    names: Vec<String>,
    chains: Vec<KChain>,
    helpers: usize,
    diags: Vec<Diagnostic>,
    stage_threshold: usize,
}

/// Where a rule sits: which interfaces are known to be empty there.
#[derive(Debug, Clone, Copy)]
struct Context {
    /// The input interface is always empty (the output hook).
    iif_empty: bool,
    /// The output interface is always empty (the input hook).
    oif_empty: bool,
}

/// A test lowered for one rule: it holds when one of `alts` holds and
/// none of `exclude` does.
struct CondLow {
    /// A union of alternatives (empty: the test never holds here).
    alts: Vec<KMatch>,
    /// A union the packet must not match (written with positive rules).
    exclude: Vec<KMatch>,
    /// An inline negation that iptables can write only if no other test of
    /// the rule uses the same single-use option (`-i`, `-o`, `! -p`):
    /// otherwise the test becomes `alts = [always]`, `exclude = this`.
    fallback: Option<(Slot, Vec<KMatch>)>,
    /// A rate limit, kept for the rule's final kernel rule. With
    /// `limit_exclusion` the limit is instead the (last) exclusion.
    limit: Option<LimitSel>,
    limit_exclusion: bool,
}

impl CondLow {
    fn alts(alts: Vec<KMatch>) -> CondLow {
        CondLow {
            alts,
            exclude: Vec::new(),
            fallback: None,
            limit: None,
            limit_exclusion: false,
        }
    }

    fn exclude(exclude: Vec<KMatch>) -> CondLow {
        CondLow {
            alts: vec![KMatch::default()],
            exclude,
            fallback: None,
            limit: None,
            limit_exclusion: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Iif,
    Oif,
    Proto,
}

/// A lowering step's result; the diagnostic is boxed to keep `Ok` cheap.
type Lowered<T> = Result<T, Box<Diagnostic>>;

fn opaque_match(text: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        "compile-opaque",
        format!("cannot compile the imported match `{text}`"),
        span,
    )
    .primary_label("hwc does not know what this match does")
    .help("write the rule in .hw terms, or keep this part of the ruleset outside hwc")
}

fn unsupported(message: impl Into<String>, span: Span) -> Diagnostic {
    Diagnostic::new("compile-unsupported", message, span)
}

impl<'a> Lowering<'a> {
    fn dialect(&self) -> Dialect {
        self.style.dialect()
    }

    fn families(&self) -> FamilySet {
        self.style.families()
    }

    /// Checks what the whole policy must satisfy before rules are lowered.
    fn check_policy(&mut self) {
        // Owner matches only see sockets on the output path. iptables
        // refuses them elsewhere; nftables would match sockets that early
        // demux attached to incoming packets, which the IR says have none.
        let hooks = self.reaching_hooks();
        for (i, chain) in self.policy.chains.iter().enumerate() {
            let bad: Vec<Hook> = hooks[i]
                .iter()
                .copied()
                .filter(|h| *h != Hook::Output)
                .collect();
            if bad.is_empty() {
                continue;
            }
            for rule in &chain.rules {
                for cond in &rule.matches.conds {
                    if matches!(cond.test, Test::Uid(_) | Test::Gid(_)) {
                        let hook = bad[0].name();
                        self.diags.push(
                            unsupported(
                                format!(
                                    "socket owner test in chain `{}`, which the `{hook}` hook reaches",
                                    chain.name
                                ),
                                cond.span,
                            )
                            .primary_label("only output packets carry a socket owner")
                            .help("move this rule to a chain that only `output` jumps to"),
                        );
                    }
                }
            }
        }
        for chain in &self.policy.chains {
            for rule in &chain.rules {
                self.check_rule(rule);
            }
        }
    }

    /// For every chain, the hooks whose base chains reach it.
    fn reaching_hooks(&self) -> Vec<Vec<Hook>> {
        let n = self.policy.chains.len();
        let mut reach: Vec<Vec<Hook>> = vec![Vec::new(); n];
        for hook in Hook::ALL {
            let Some(start) = self.policy.base_chain(hook) else {
                continue;
            };
            let mut stack = vec![start.0 as usize];
            let mut seen = vec![false; n];
            while let Some(c) = stack.pop() {
                if c >= n || seen[c] {
                    continue;
                }
                seen[c] = true;
                reach[c].push(hook);
                for rule in &self.policy.chains[c].rules {
                    if let Action::Jump(t) | Action::Goto(t) = rule.action {
                        stack.push(t.0 as usize);
                    }
                }
            }
        }
        reach
    }

    fn check_rule(&mut self, rule: &Rule) {
        for cond in &rule.matches.conds {
            if let Test::Opaque(text) = &cond.test {
                self.diags.push(opaque_match(text, cond.span));
            }
            if let Test::Limit(l) = &cond.test {
                if let Err(msg) = check_limit(l) {
                    self.diags
                        .push(unsupported(msg, cond.span).primary_label("this limit"));
                }
            }
        }
        match &rule.action {
            Action::Opaque(text) | Action::Continue(text) => {
                self.diags.push(
                    Diagnostic::new(
                        "compile-opaque",
                        format!("cannot compile the imported target `{text}`"),
                        rule.span,
                    )
                    .primary_label("hwc does not compile this target")
                    .help(
                        "write the rule in .hw terms, or keep this part of the ruleset outside hwc",
                    ),
                );
            }
            Action::Jump(t) | Action::Goto(t) => {
                let ok = self
                    .policy
                    .chains
                    .get(t.0 as usize)
                    .is_some_and(|c| c.kind == ChainKind::User);
                if !ok {
                    self.diags.push(
                        Diagnostic::new(
                            "internal",
                            "jump or goto to a chain that is not a user chain",
                            rule.span,
                        )
                        .primary_label("the target of this rule"),
                    );
                }
            }
            Action::Reject(Some(RejectWith::TcpReset)) => {
                let tcp_only = rule.matches.conds.iter().any(|c| {
                    !c.negated
                        && matches!(&c.test, Test::L4(alts)
                            if !alts.is_empty() && alts.iter().all(|a| a.proto == ir::dim::PROTO_TCP))
                });
                if !tcp_only {
                    self.diags.push(
                        unsupported(
                            "`reject tcp-reset` on a rule that is not limited to tcp",
                            rule.span,
                        )
                        .primary_label("this rule may match packets that are not tcp")
                        .help("add `tcp` to the rule, or use another reject reason"),
                    );
                }
            }
            Action::Log(spec) => {
                if let Some(p) = &spec.prefix {
                    if let Err(msg) = quote::log_prefix(p, spec.nflog, self.dialect()) {
                        self.diags.push(
                            Diagnostic::new("compile-string", msg, rule.span)
                                .primary_label("in this rule")
                                .help(
                                    "shorten the prefix and use printable characters without `\"`",
                                ),
                        );
                    }
                }
            }
            _ => {}
        }
    }

    /// Gives every IR chain its written name, reporting names the target
    /// cannot use.
    fn name_chains(&mut self) {
        let dialect = self.dialect();
        for chain in &self.policy.chains {
            let name = match chain.kind {
                ChainKind::Base(hook) => match dialect {
                    Dialect::Xt => hook.name().to_ascii_uppercase(),
                    Dialect::Nft => hook.name().to_string(),
                },
                ChainKind::User => match quote::chain_name(&chain.name, dialect) {
                    Ok(n) => n,
                    Err(msg) => {
                        self.diags.push(
                            Diagnostic::new("compile-name", msg, chain.span)
                                .primary_label("this chain")
                                .help("rename the chain"),
                        );
                        chain.name.clone()
                    }
                },
            };
            self.names.push(name);
        }
    }

    fn new_chain(&mut self, owner: &str) -> usize {
        self.helpers += 1;
        let name = quote::helper_chain_name(owner, self.helpers, self.dialect());
        self.chains.push(KChain {
            name,
            base: None,
            rules: Vec::new(),
        });
        self.chains.len() - 1
    }

    fn lower_chain(&mut self, id: ChainId, chain: &ir::Chain) {
        let owner = self.names[id.0 as usize].clone();
        let base = match chain.kind {
            ChainKind::Base(hook) => Some((hook, chain.policy.unwrap_or(Verdict::Accept))),
            ChainKind::User => None,
        };
        let cx = Context {
            iif_empty: base.is_some_and(|(h, _)| h == Hook::Output),
            oif_empty: base.is_some_and(|(h, _)| h == Hook::Input),
        };
        self.chains.push(KChain {
            name: owner.clone(),
            base,
            rules: Vec::with_capacity(chain.rules.len()),
        });
        let mut cur = self.chains.len() - 1;
        for rule in &chain.rules {
            match self.lower_rule(rule, cx, cur, &owner) {
                Ok(next) => cur = next,
                Err(d) => self.diags.push(*d),
            }
        }
    }

    fn comment(&self, rule: &Rule) -> Option<String> {
        rule.comment.clone()
    }

    /// Appends the kernel rules of one IR rule to chain `cur`; returns the
    /// chain later rules go to (a tail chain after a split).
    fn lower_rule(&mut self, rule: &Rule, cx: Context, cur: usize, owner: &str) -> Lowered<usize> {
        let mut lows = Vec::new();
        for cond in &rule.matches.conds {
            lows.push(self.lower_cond(cond, cx)?);
        }
        // iptables writes `-i`, `-o` and `! -p` once per rule: a negation
        // stays inline only if no other test needs the same option.
        for i in 0..lows.len() {
            let Some((slot, _)) = &lows[i].fallback else {
                continue;
            };
            let slot = *slot;
            let clash = lows
                .iter()
                .enumerate()
                .any(|(j, other)| j != i && other.alts.iter().any(|m| uses_slot(m, slot)));
            if clash {
                if let Some((_, pos)) = lows[i].fallback.take() {
                    lows[i].alts = vec![KMatch::default()];
                    lows[i].exclude = pos;
                }
            }
        }

        let combinations = lows
            .iter()
            .fold(1usize, |n, l| n.saturating_mul(l.alts.len().max(1)));
        if combinations > self.stage_threshold {
            return self.lower_staged(rule, &lows, cur, owner);
        }

        let families = self.families();
        let mut alts = vec![KMatch::default()];
        let mut excludes: Vec<&KMatch> = Vec::new();
        let mut limit_excludes: Vec<&KMatch> = Vec::new();
        let mut limits = Vec::new();
        for low in &lows {
            limits.extend(low.limit);
            if low.limit_exclusion {
                limit_excludes.extend(&low.exclude);
            } else {
                excludes.extend(&low.exclude);
            }
            if let [only] = low.alts.as_slice() {
                alts.retain_mut(|a| a.merge_into(only, families));
                continue;
            }
            let mut next = Vec::with_capacity(alts.len() * low.alts.len());
            for a in &alts {
                for b in &low.alts {
                    if let Some(m) = a.merge(b, families) {
                        next.push(m);
                    }
                }
            }
            alts = next;
        }
        if alts.is_empty() {
            // No packet of the output's families matches: nothing to write.
            return Ok(cur);
        }
        // Exclusions only matter for packets the rule's alternatives match,
        // and only their parts that the output's families can reach.
        let mut exclusions: Vec<KMatch> = Vec::new();
        for e in excludes.into_iter().chain(limit_excludes) {
            let Some(e) = KMatch::default().merge(e, families) else {
                continue;
            };
            if e.is_always() {
                return Ok(cur);
            }
            exclusions.push(e);
        }

        let span = rule.span;
        let comment = self.comment(rule);
        let action = self.action(rule, &alts)?;
        let krule = |m: KMatch, action: KAction| KRule {
            m,
            action,
            span,
            comment: comment.clone(),
        };
        let terminal = matches!(
            action,
            KAction::Accept
                | KAction::Drop
                | KAction::Reject(_)
                | KAction::Return
                | KAction::Goto(_)
        );
        let structured = !exclusions.is_empty()
            || (!limits.is_empty() && alts.len() > 1)
            || (alts.len() > 1 && !terminal);
        if !structured {
            for mut m in alts {
                m.limits.extend(limits.iter().copied());
                self.chains[cur].rules.push(krule(m, action.clone()));
            }
            return Ok(cur);
        }

        // The final rule of the helper: the limits, and `-p tcp` for a tcp
        // reset (the helper's rules do not repeat the rule's matches).
        let mut last = KMatch {
            limits: limits.clone(),
            ..KMatch::default()
        };
        if matches!(action, KAction::Reject(RejectSpec::TcpReset)) {
            last.proto = Some(ir::dim::PROTO_TCP);
        }

        if matches!(action, KAction::Return | KAction::Goto(_)) {
            let helper = self.new_chain(owner);
            let tail = self.new_chain(owner);
            let helper_name = self.chains[helper].name.clone();
            let tail_name = self.chains[tail].name.clone();
            let unconditional = alts.iter().any(KMatch::is_always);
            for m in alts {
                self.chains[cur]
                    .rules
                    .push(krule(m, KAction::Goto(helper_name.clone())));
            }
            if !unconditional {
                self.chains[cur]
                    .rules
                    .push(krule(KMatch::default(), KAction::Goto(tail_name.clone())));
            }
            for e in exclusions {
                self.chains[helper]
                    .rules
                    .push(krule(e, KAction::Goto(tail_name.clone())));
            }
            let has_limits = !last.limits.is_empty();
            self.chains[helper].rules.push(krule(last, action));
            if has_limits {
                self.chains[helper]
                    .rules
                    .push(krule(KMatch::default(), KAction::Goto(tail_name)));
            }
            return Ok(tail);
        }

        // A jump with overlapping alternatives and nothing else: dispatch
        // straight to the target, entered once.
        if let (KAction::Jump(target), true, true) =
            (&action, exclusions.is_empty(), last.is_always())
        {
            let dispatch = self.new_chain(owner);
            let dispatch_name = self.chains[dispatch].name.clone();
            self.chains[cur]
                .rules
                .push(krule(common(&lows, families), KAction::Jump(dispatch_name)));
            for m in alts {
                self.chains[dispatch]
                    .rules
                    .push(krule(m, KAction::Goto(target.clone())));
            }
            return Ok(cur);
        }

        let helper = self.new_chain(owner);
        let helper_name = self.chains[helper].name.clone();
        if alts.len() == 1 {
            let m = alts.pop().unwrap_or_default();
            self.chains[cur]
                .rules
                .push(krule(m, KAction::Jump(helper_name)));
        } else {
            let dispatch = self.new_chain(owner);
            let dispatch_name = self.chains[dispatch].name.clone();
            self.chains[cur]
                .rules
                .push(krule(common(&lows, families), KAction::Jump(dispatch_name)));
            for m in alts {
                self.chains[dispatch]
                    .rules
                    .push(krule(m, KAction::Goto(helper_name.clone())));
            }
        }
        for e in exclusions {
            self.chains[helper].rules.push(krule(e, KAction::Return));
        }
        self.chains[helper].rules.push(krule(last, action));
        Ok(cur)
    }

    /// Lowers a rule whose lists would multiply into too many kernel
    /// rules: the tests with one alternative guard the entry, then one
    /// dispatch chain per list, each `goto`ing the next, and a last helper
    /// holds the exclusions and the action. Entered by `jump` (or, for
    /// `return`/`goto`, by `goto` with a tail chain), every step after the
    /// entry is a `goto`, so the helper's return or fall-through lands
    /// after the entry, exactly as in [`Self::lower_rule`].
    fn lower_staged(
        &mut self,
        rule: &Rule,
        lows: &[CondLow],
        cur: usize,
        owner: &str,
    ) -> Lowered<usize> {
        let families = self.families();
        let mut common = KMatch::default();
        let mut stages: Vec<Vec<KMatch>> = Vec::new();
        let mut limits = Vec::new();
        let mut excludes: Vec<&KMatch> = Vec::new();
        let mut limit_excludes: Vec<&KMatch> = Vec::new();
        for low in lows {
            limits.extend(low.limit);
            if low.limit_exclusion {
                limit_excludes.extend(&low.exclude);
            } else {
                excludes.extend(&low.exclude);
            }
            match low.alts.as_slice() {
                [] => return Ok(cur),
                [only] => {
                    if !common.merge_into(only, families) {
                        return Ok(cur);
                    }
                }
                many => {
                    let stage: Vec<KMatch> = many
                        .iter()
                        .filter_map(|a| KMatch::default().merge(a, families))
                        .collect();
                    if stage.is_empty() {
                        return Ok(cur);
                    }
                    stages.push(stage);
                }
            }
        }
        let mut exclusions: Vec<KMatch> = Vec::new();
        for e in excludes.into_iter().chain(limit_excludes) {
            let Some(e) = KMatch::default().merge(e, families) else {
                continue;
            };
            if e.is_always() {
                return Ok(cur);
            }
            exclusions.push(e);
        }
        // The families that may reach the action, for the reject reason.
        let reach: Vec<KMatch> = stages
            .iter()
            .flatten()
            .filter_map(|a| common.merge(a, families))
            .collect();
        let action = self.action(rule, &reach)?;
        let span = rule.span;
        let comment = self.comment(rule);
        let krule = |m: KMatch, action: KAction| KRule {
            m,
            action,
            span,
            comment: comment.clone(),
        };
        let mut last = KMatch {
            limits,
            ..KMatch::default()
        };
        if matches!(action, KAction::Reject(RejectSpec::TcpReset)) {
            last.proto = Some(ir::dim::PROTO_TCP);
        }
        let split = matches!(action, KAction::Return | KAction::Goto(_));
        let stage_ids: Vec<usize> = stages.iter().map(|_| self.new_chain(owner)).collect();
        let helper = self.new_chain(owner);
        let tail = split.then(|| self.new_chain(owner));
        let name = |cx: &Self, i: usize| cx.chains[i].name.clone();
        let tail_name = tail.map(|t| name(self, t));
        let first = stage_ids.first().copied().unwrap_or(helper);
        let enter = if split {
            KAction::Goto(name(self, first))
        } else {
            KAction::Jump(name(self, first))
        };
        self.chains[cur].rules.push(krule(common, enter));
        if let Some(t) = &tail_name {
            self.chains[cur]
                .rules
                .push(krule(KMatch::default(), KAction::Goto(t.clone())));
        }
        for (k, stage) in stages.into_iter().enumerate() {
            let next = name(self, stage_ids.get(k + 1).copied().unwrap_or(helper));
            let id = stage_ids[k];
            for a in stage {
                self.chains[id]
                    .rules
                    .push(krule(a, KAction::Goto(next.clone())));
            }
            if let Some(t) = &tail_name {
                self.chains[id]
                    .rules
                    .push(krule(KMatch::default(), KAction::Goto(t.clone())));
            }
        }
        let skip = match &tail_name {
            Some(t) => KAction::Goto(t.clone()),
            None => KAction::Return,
        };
        for e in exclusions {
            self.chains[helper].rules.push(krule(e, skip.clone()));
        }
        let has_limits = !last.limits.is_empty();
        self.chains[helper].rules.push(krule(last, action));
        if let (Some(t), true) = (&tail_name, has_limits) {
            self.chains[helper]
                .rules
                .push(krule(KMatch::default(), KAction::Goto(t.clone())));
        }
        Ok(tail.unwrap_or(cur))
    }

    /// The kernel action of a rule; `alts` tell which families reach it.
    fn action(&self, rule: &Rule, alts: &[KMatch]) -> Lowered<KAction> {
        Ok(match &rule.action {
            Action::Accept => KAction::Accept,
            Action::Drop => KAction::Drop,
            Action::Reject(reason) => {
                let mut fams = FamilySet {
                    v4: false,
                    v6: false,
                };
                for m in alts {
                    match m.family {
                        Some(Family::V4) => fams.v4 = true,
                        Some(Family::V6) => fams.v6 = true,
                        None => {
                            fams.v4 |= self.families().v4;
                            fams.v6 |= self.families().v6;
                        }
                    }
                }
                let spec = reject_spec(*reason, fams).map_err(|msg| {
                    unsupported(msg, rule.span)
                        .primary_label("this reject")
                        .help("use a reason both families have (icmp-port-unreachable, icmp-admin-prohibited, icmp-host-unreachable, icmp-net-unreachable), or limit the rule to one family")
                })?;
                KAction::Reject(spec)
            }
            Action::Log(spec) => KAction::Log(spec.clone()),
            Action::Jump(t) => KAction::Jump(self.names[t.0 as usize].clone()),
            Action::Goto(t) => KAction::Goto(self.names[t.0 as usize].clone()),
            Action::Return => KAction::Return,
            Action::Continue(_) | Action::Opaque(_) => {
                return Err(Box::new(Diagnostic::new(
                    "internal",
                    "an opaque action reached the lowering",
                    rule.span,
                )))
            }
        })
    }

    fn lower_cond(&self, cond: &ir::Cond, cx: Context) -> Lowered<CondLow> {
        let families = self.families();
        let xt = matches!(self.style, Style::Xt(_));
        let never = || CondLow::alts(Vec::new());
        let always = || CondLow::alts(vec![KMatch::default()]);
        let name_err = |msg: String| {
            Diagnostic::new("compile-name", msg, cond.span)
                .primary_label("used here")
                .help("use a name the firewall tools accept")
        };
        let neg = cond.negated;
        Ok(match &cond.test {
            Test::Family(f) => {
                let wanted = if neg { other(*f) } else { *f };
                if families.contains(wanted) {
                    CondLow::alts(vec![KMatch {
                        family: Some(wanted),
                        ..KMatch::default()
                    }])
                } else {
                    never()
                }
            }
            Test::Iif(list) | Test::Oif(list) => {
                let input = matches!(cond.test, Test::Iif(_));
                let matches_all = list.iter().any(|i| i.name.is_empty() && i.wildcard);
                let empty_here = if input { cx.iif_empty } else { cx.oif_empty };
                if empty_here || matches_all {
                    // The interface is known to be empty here (only a bare
                    // `+` matches the empty name), or the list matches
                    // every name: the test is a constant.
                    return Ok(if matches_all != neg {
                        always()
                    } else {
                        never()
                    });
                }
                for i in list {
                    quote::iface(i, self.dialect()).map_err(name_err)?;
                }
                let set = |l: Vec<Iface>, negated: bool| -> KMatch {
                    let mut m = KMatch::default();
                    match (input, negated) {
                        (true, false) => m.iif = Some(l),
                        (false, false) => m.oif = Some(l),
                        (true, true) => m.not_iif = l,
                        (false, true) => m.not_oif = l,
                    }
                    m
                };
                let pos: Vec<KMatch> = if xt {
                    list.iter().map(|i| set(vec![i.clone()], false)).collect()
                } else {
                    vec![set(list.clone(), false)]
                };
                if !neg {
                    CondLow::alts(pos)
                } else if xt && list.len() > 1 {
                    CondLow::exclude(pos)
                } else {
                    let mut low = CondLow::alts(vec![set(list.clone(), true)]);
                    if xt {
                        low.fallback = Some((if input { Slot::Iif } else { Slot::Oif }, pos));
                    }
                    low
                }
            }
            Test::Src(set) | Test::Dst(set) => {
                let src = matches!(cond.test, Test::Src(_));
                let with = |s: AddrSel, negated: bool| {
                    let mut m = KMatch::default();
                    match (src, negated) {
                        (true, false) => m.src = Some(s),
                        (false, false) => m.dst = Some(s),
                        (true, true) => m.not_src = vec![s],
                        (false, true) => m.not_dst = vec![s],
                    }
                    m
                };
                // The normalised ranges of each family the output sees.
                let per_family: Vec<(Family, Vec<(u128, u128)>)> = Family::ALL
                    .into_iter()
                    .filter(|f| families.contains(*f))
                    .map(|f| {
                        let ranges = set
                            .ranges
                            .iter()
                            .filter(|r| r.family == f)
                            .map(|r| (r.lo, r.hi))
                            .collect();
                        (f, normalize(ranges))
                    })
                    .collect();
                let positive = |per_family: Vec<(Family, Vec<(u128, u128)>)>| -> Vec<KMatch> {
                    let mut pos = Vec::new();
                    for (f, ranges) in per_family {
                        if ranges.is_empty() {
                            continue;
                        }
                        if xt {
                            for r in ranges {
                                let one = AddrSel {
                                    family: f,
                                    ranges: vec![r],
                                    name: None,
                                };
                                pos.push(with(one, false));
                            }
                        } else {
                            let sel = AddrSel {
                                family: f,
                                ranges,
                                name: set.name.clone(),
                            };
                            pos.push(with(sel, false));
                        }
                    }
                    pos
                };
                let inline_ok = !xt
                    || per_family
                        .iter()
                        .all(|(_, r)| r.len() <= XT_INLINE_NEGATED_RANGES);
                if !neg {
                    CondLow::alts(positive(per_family))
                } else if inline_ok {
                    let mut inline = Vec::new();
                    for (f, ranges) in per_family {
                        if ranges.is_empty() {
                            // The set says nothing about this family: the
                            // negation holds for all of its packets.
                            inline.push(KMatch {
                                family: Some(f),
                                ..KMatch::default()
                            });
                        } else {
                            let sel = AddrSel {
                                family: f,
                                ranges,
                                name: set.name.clone(),
                            };
                            inline.push(with(sel, true));
                        }
                    }
                    CondLow::alts(inline)
                } else {
                    CondLow::exclude(positive(per_family))
                }
            }
            Test::L4(l4s) => {
                let mut pos = Vec::new();
                for l4 in l4s {
                    pos.extend(self.l4_alts(l4));
                }
                let proto_only = l4s
                    .iter()
                    .all(|a| a.sport.is_none() && a.dport.is_none() && a.icmp.is_none());
                if !neg {
                    CondLow::alts(pos)
                } else if proto_only && (!xt || l4s.len() == 1) {
                    let mut protos: Vec<u8> = l4s.iter().map(|a| a.proto).collect();
                    protos.sort_unstable();
                    protos.dedup();
                    let mut low = CondLow::alts(vec![KMatch {
                        not_proto: protos,
                        ..KMatch::default()
                    }]);
                    if xt {
                        low.fallback = Some((Slot::Proto, pos));
                    }
                    low
                } else {
                    CondLow::exclude(pos)
                }
            }
            Test::AnyPort(ports) => {
                let ranges = normalize_ports(&ports.ranges);
                let mut pos = Vec::new();
                for proto in [ir::dim::PROTO_TCP, ir::dim::PROTO_UDP, ir::dim::PROTO_SCTP] {
                    if xt {
                        for chunk in multiport_chunks(&ranges) {
                            pos.push(KMatch {
                                proto: Some(proto),
                                anyport: vec![PortSel {
                                    ranges: chunk,
                                    name: None,
                                }],
                                ..KMatch::default()
                            });
                        }
                    } else {
                        // nft has no "either port": one rule per side.
                        let sel = PortSel {
                            ranges: ranges.clone(),
                            name: ports.name.clone(),
                        };
                        pos.push(KMatch {
                            proto: Some(proto),
                            sport: Some(sel.clone()),
                            ..KMatch::default()
                        });
                        pos.push(KMatch {
                            proto: Some(proto),
                            dport: Some(sel),
                            ..KMatch::default()
                        });
                    }
                }
                if neg {
                    CondLow::exclude(pos)
                } else {
                    CondLow::alts(pos)
                }
            }
            Test::State(states) => {
                let set: Vec<CtState> = CtState::ALL
                    .iter()
                    .copied()
                    .filter(|s| states.contains(s) != neg)
                    .collect();
                if set.is_empty() {
                    never()
                } else if set.len() == CtState::ALL.len() {
                    always()
                } else {
                    CondLow::alts(vec![KMatch {
                        state: Some(set),
                        ..KMatch::default()
                    }])
                }
            }
            Test::Uid(ranges) | Test::Gid(ranges) => {
                let gid = matches!(cond.test, Test::Gid(_));
                for r in ranges {
                    if let Some(n) = &r.host_name {
                        quote::account_name(n, self.dialect()).map_err(name_err)?;
                    } else if r.hi > MAX_OWNER_ID {
                        return Err(Box::new(
                            unsupported(
                                format!(
                                    "{} {} is not a valid id",
                                    if gid { "gid" } else { "uid" },
                                    r.hi
                                ),
                                cond.span,
                            )
                            .primary_label("out of range"),
                        ));
                    }
                }
                let pos: Vec<KMatch> = if xt {
                    ranges
                        .iter()
                        .map(|r| owner_match(gid, vec![r.clone()]))
                        .collect()
                } else {
                    // Named accounts are written one per rule; numeric
                    // ranges share one anonymous set.
                    let (named, numeric): (Vec<_>, Vec<_>) =
                        ranges.iter().cloned().partition(|r| r.host_name.is_some());
                    let mut v: Vec<KMatch> = named
                        .into_iter()
                        .map(|r| owner_match(gid, vec![r]))
                        .collect();
                    if !numeric.is_empty() {
                        v.push(owner_match(gid, numeric));
                    }
                    v
                };
                if !neg {
                    CondLow::alts(pos)
                } else {
                    // Never a negated owner test: the named owners are
                    // excluded with positive rules. With nft semantics
                    // (packets without a user socket match neither form)
                    // some user socket is also required.
                    let mut low = CondLow::exclude(pos);
                    if cond.owner_negation == OwnerNegation::Nft {
                        low.alts = vec![owner_match(
                            gid,
                            vec![OwnerRange {
                                lo: 0,
                                hi: MAX_OWNER_ID,
                                host_name: None,
                            }],
                        )];
                    }
                    low
                }
            }
            Test::Limit(limit) => {
                let mut low = always();
                let sel = LimitSel {
                    limit: *limit,
                    over: false,
                };
                if !neg {
                    low.limit = Some(sel);
                } else if xt {
                    // iptables' limit match cannot be inverted: exclude
                    // the packets it lets through, as the last exclusion.
                    low.exclude = vec![KMatch {
                        limits: vec![sel],
                        ..KMatch::default()
                    }];
                    low.limit_exclusion = true;
                } else {
                    low.limit = Some(LimitSel { over: true, ..sel });
                }
                low
            }
            Test::Opaque(text) => return Err(Box::new(opaque_match(text, cond.span))),
        })
    }

    /// The alternatives of one protocol alternative of an `L4` test.
    fn l4_alts(&self, l4: &ir::L4) -> Vec<KMatch> {
        let xt = matches!(self.style, Style::Xt(_));
        let base = KMatch {
            proto: Some(l4.proto),
            ..KMatch::default()
        };
        if let Some(specs) = &l4.icmp {
            // Every code of a type is the type alone (and saves iptables
            // 256 rules).
            let specs: Vec<IcmpSpec> = specs
                .iter()
                .map(|s| IcmpSpec {
                    ty: s.ty,
                    code: s.code.filter(|&c| c != (0, u8::MAX)),
                })
                .collect();
            let specs = &specs;
            let v6 = l4.proto == ir::dim::PROTO_ICMPV6;
            let family = if v6 { Family::V6 } else { Family::V4 };
            let with = |specs: Vec<IcmpSpec>| KMatch {
                family: Some(family),
                icmp: Some(IcmpSel { v6, specs }),
                ..base.clone()
            };
            let mut out = Vec::new();
            if xt {
                // `--icmp-type TYPE[/CODE]` names one code: expand ranges.
                for s in specs {
                    match s.code {
                        None => out.push(with(vec![*s])),
                        Some((lo, hi)) => {
                            for c in lo..=hi {
                                out.push(with(vec![IcmpSpec {
                                    ty: s.ty,
                                    code: Some((c, c)),
                                }]));
                            }
                        }
                    }
                }
            } else {
                let plain: Vec<IcmpSpec> =
                    specs.iter().filter(|s| s.code.is_none()).copied().collect();
                if !plain.is_empty() {
                    out.push(with(plain));
                }
                for s in specs.iter().filter(|s| s.code.is_some()) {
                    out.push(with(vec![*s]));
                }
            }
            return out;
        }
        // iptables splits long port lists for multiport; nft keeps sets.
        let chunks = |p: Option<&ir::PortSet>| -> Vec<Option<PortSel>> {
            let Some(p) = p else { return vec![None] };
            let ranges = normalize_ports(&p.ranges);
            if xt {
                multiport_chunks(&ranges)
                    .into_iter()
                    .map(|c| {
                        Some(PortSel {
                            ranges: c,
                            name: None,
                        })
                    })
                    .collect()
            } else {
                vec![Some(PortSel {
                    ranges,
                    name: p.name.clone(),
                })]
            }
        };
        let (sports, dports) = (chunks(l4.sport.as_ref()), chunks(l4.dport.as_ref()));
        let mut out = Vec::new();
        for s in &sports {
            for d in &dports {
                out.push(KMatch {
                    sport: s.clone(),
                    dport: d.clone(),
                    ..base.clone()
                });
            }
        }
        out
    }
}

/// The conjunction of the tests of a rule that have one alternative: what
/// every alternative shares (the guard in front of a dispatch chain).
fn common(lows: &[CondLow], families: FamilySet) -> KMatch {
    let mut m = KMatch::default();
    for low in lows.iter().filter(|l| l.alts.len() == 1) {
        if let Some(next) = m.merge(&low.alts[0], families) {
            m = next;
        }
    }
    m
}

fn other(f: Family) -> Family {
    match f {
        Family::V4 => Family::V6,
        Family::V6 => Family::V4,
    }
}

fn owner_match(gid: bool, ranges: Vec<OwnerRange>) -> KMatch {
    KMatch {
        owners: vec![OwnerSel { gid, ranges }],
        ..KMatch::default()
    }
}

/// Whether a match writes the iptables option a slot stands for in a way
/// that could meet an inline negation of the same option in one rule.
/// (A positive protocol never clashes: merging settles `! -p` against it.)
fn uses_slot(m: &KMatch, slot: Slot) -> bool {
    match slot {
        Slot::Iif => m.iif.is_some() || !m.not_iif.is_empty(),
        Slot::Oif => m.oif.is_some() || !m.not_oif.is_empty(),
        Slot::Proto => !m.not_proto.is_empty(),
    }
}

fn check_limit(l: &RateLimit) -> Result<(), String> {
    if l.rate == 0 || !matches!(l.per_seconds, 1 | 60 | 3600 | 86400) {
        return Err(format!(
            "rate limit {} per {} seconds cannot be written",
            l.rate, l.per_seconds
        ));
    }
    // The xt limit match counts in 1/10000 s steps.
    if l.rate as u64 > 10_000 * l.per_seconds as u64 {
        return Err(format!(
            "rate limit {}/{} is faster than the kernel's 10000 packets per second",
            l.rate,
            unit_name(l.per_seconds)
        ));
    }
    if let Some(b) = l.burst {
        if b == 0 || b > 10_000 {
            return Err(format!("burst {b} is outside 1..10000"));
        }
    }
    Ok(())
}

pub(crate) fn unit_name(per_seconds: u32) -> &'static str {
    match per_seconds {
        1 => "second",
        60 => "minute",
        3600 => "hour",
        _ => "day",
    }
}

/// The icmpx class of a reason (nft's family-neutral reject codes), with
/// the reason of each family that has it.
fn reject_pair(r: RejectWith) -> (Option<RejectWith>, Option<RejectWith>, Option<&'static str>) {
    use RejectWith::*;
    match r {
        IcmpNetUnreachable | Icmp6NoRoute => (
            Some(IcmpNetUnreachable),
            Some(Icmp6NoRoute),
            Some("no-route"),
        ),
        IcmpHostUnreachable | Icmp6AddrUnreachable => (
            Some(IcmpHostUnreachable),
            Some(Icmp6AddrUnreachable),
            Some("host-unreachable"),
        ),
        IcmpPortUnreachable | Icmp6PortUnreachable => (
            Some(IcmpPortUnreachable),
            Some(Icmp6PortUnreachable),
            Some("port-unreachable"),
        ),
        IcmpAdminProhibited | Icmp6AdmProhibited => (
            Some(IcmpAdminProhibited),
            Some(Icmp6AdmProhibited),
            Some("admin-prohibited"),
        ),
        IcmpProtoUnreachable | IcmpNetProhibited | IcmpHostProhibited => (Some(r), None, None),
        TcpReset => (None, None, None),
    }
}

/// Resolves a reject reason for the families whose packets reach it. A
/// reason of one family is answered with its counterpart in the other
/// (as nft's `icmpx` does); a reason without a counterpart is an error.
pub(crate) fn reject_spec(
    reason: Option<RejectWith>,
    fams: FamilySet,
) -> Result<RejectSpec, String> {
    let Some(r) = reason else {
        return Ok(RejectSpec::Default);
    };
    if r == RejectWith::TcpReset {
        return Ok(RejectSpec::TcpReset);
    }
    let (v4, v6, x) = reject_pair(r);
    let name = reject_reason_name(r);
    match (fams.v4, fams.v6) {
        (true, true) => x.map(RejectSpec::Icmpx).ok_or_else(|| {
            format!(
                "reject reason `{name}` has no IPv6 counterpart, and this rule also matches IPv6"
            )
        }),
        (false, true) => v6.map(RejectSpec::Icmp6).ok_or_else(|| {
            format!("reject reason `{name}` has no IPv6 counterpart, and this rule matches IPv6")
        }),
        _ => v4
            .map(RejectSpec::Icmp)
            .ok_or_else(|| format!("reject reason `{name}` has no IPv4 counterpart")),
    }
}

pub(crate) fn reject_reason_name(r: RejectWith) -> &'static str {
    use RejectWith::*;
    match r {
        TcpReset => "tcp-reset",
        IcmpNetUnreachable => "icmp-net-unreachable",
        IcmpHostUnreachable => "icmp-host-unreachable",
        IcmpPortUnreachable => "icmp-port-unreachable",
        IcmpProtoUnreachable => "icmp-proto-unreachable",
        IcmpNetProhibited => "icmp-net-prohibited",
        IcmpHostProhibited => "icmp-host-prohibited",
        IcmpAdminProhibited => "icmp-admin-prohibited",
        Icmp6NoRoute => "icmpv6-no-route",
        Icmp6AdmProhibited => "icmpv6-admin-prohibited",
        Icmp6AddrUnreachable => "icmpv6-addr-unreachable",
        Icmp6PortUnreachable => "icmpv6-port-unreachable",
    }
}

/// Sorts ranges and merges overlapping or adjacent ones.
pub(crate) fn normalize(mut ranges: Vec<(u128, u128)>) -> Vec<(u128, u128)> {
    ranges.sort_unstable();
    let mut out: Vec<(u128, u128)> = Vec::with_capacity(ranges.len());
    for (lo, hi) in ranges {
        if let Some(last) = out.last_mut() {
            if lo <= last.1.saturating_add(1) {
                last.1 = last.1.max(hi);
                continue;
            }
        }
        out.push((lo, hi));
    }
    out
}

pub(crate) fn normalize_ports(ranges: &[(u16, u16)]) -> Vec<(u16, u16)> {
    let mut sorted = ranges.to_vec();
    sorted.sort_unstable();
    let mut out: Vec<(u16, u16)> = Vec::with_capacity(sorted.len());
    for (lo, hi) in sorted {
        if let Some(last) = out.last_mut() {
            if lo as u32 <= last.1 as u32 + 1 {
                last.1 = last.1.max(hi);
                continue;
            }
        }
        out.push((lo, hi));
    }
    out
}

fn intersect(a: &[(u128, u128)], b: &[(u128, u128)]) -> Vec<(u128, u128)> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
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

fn covered(a: &[(u128, u128)], by: &[(u128, u128)]) -> bool {
    let inter = intersect(a, by);
    inter == a
}

/// `multiport` takes at most 15 ports, a range counting as two.
pub(crate) fn multiport_chunks(ranges: &[(u16, u16)]) -> Vec<Vec<(u16, u16)>> {
    if ranges.len() == 1 {
        return vec![ranges.to_vec()];
    }
    let mut out = Vec::new();
    let mut cur: Vec<(u16, u16)> = Vec::new();
    let mut slots = 0;
    for &r in ranges {
        let cost = if r.0 == r.1 { 1 } else { 2 };
        if slots + cost > 15 {
            out.push(std::mem::take(&mut cur));
            slots = 0;
        }
        cur.push(r);
        slots += cost;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn iface_intersect(a: &Iface, b: &Iface) -> Option<Iface> {
    match (a.wildcard, b.wildcard) {
        (false, false) => (a.name == b.name).then(|| a.clone()),
        (false, true) => a.name.starts_with(&b.name).then(|| a.clone()),
        (true, false) => b.name.starts_with(&a.name).then(|| b.clone()),
        (true, true) => {
            if a.name.starts_with(&b.name) {
                Some(a.clone())
            } else if b.name.starts_with(&a.name) {
                Some(b.clone())
            } else {
                None
            }
        }
    }
}

/// Whether every name `x` matches also matches `n`.
fn iface_covered(x: &Iface, n: &Iface) -> bool {
    if n.wildcard {
        x.name.starts_with(&n.name)
    } else {
        !x.wildcard && x.name == n.name
    }
}

fn merge_ifaces(a: &Option<Vec<Iface>>, b: &Option<Vec<Iface>>) -> Result<Option<Vec<Iface>>, ()> {
    match (a, b) {
        (None, x) | (x, None) => Ok(x.clone()),
        (Some(a), Some(b)) => {
            let mut out = Vec::new();
            for x in a {
                for y in b {
                    if let Some(i) = iface_intersect(x, y) {
                        if !out.contains(&i) {
                            out.push(i);
                        }
                    }
                }
            }
            if out.is_empty() {
                Err(())
            } else {
                Ok(Some(out))
            }
        }
    }
}

/// Applies negated interfaces to a positive list: drops names they cover,
/// and drops negations that cannot overlap the list.
fn settle_ifaces(pos: &mut Option<Vec<Iface>>, neg: &mut Vec<Iface>) -> Result<(), ()> {
    let Some(list) = pos else { return Ok(()) };
    list.retain(|x| !neg.iter().any(|n| iface_covered(x, n)));
    if list.is_empty() {
        return Err(());
    }
    neg.retain(|n| list.iter().any(|x| iface_intersect(x, n).is_some()));
    Ok(())
}

fn merge_addr(a: &Option<AddrSel>, b: &Option<AddrSel>) -> Result<Option<AddrSel>, ()> {
    match (a, b) {
        (None, x) | (x, None) => Ok(x.clone()),
        (Some(a), Some(b)) => {
            if a.family != b.family {
                return Err(());
            }
            if a.ranges == b.ranges {
                return Ok(Some(a.clone()));
            }
            let ranges = intersect(&a.ranges, &b.ranges);
            if ranges.is_empty() {
                return Err(());
            }
            Ok(Some(AddrSel {
                family: a.family,
                ranges,
                name: None,
            }))
        }
    }
}

fn settle_addr(pos: &Option<AddrSel>, neg: &mut Vec<AddrSel>) -> Result<(), ()> {
    let Some(p) = pos else { return Ok(()) };
    for n in neg.iter() {
        if n.family == p.family && covered(&p.ranges, &n.ranges) {
            return Err(());
        }
    }
    neg.retain(|n| n.family != p.family || !intersect(&p.ranges, &n.ranges).is_empty());
    Ok(())
}

fn merge_ports(a: &Option<PortSel>, b: &Option<PortSel>) -> Result<Option<PortSel>, ()> {
    match (a, b) {
        (None, x) | (x, None) => Ok(x.clone()),
        (Some(a), Some(b)) => {
            if a.ranges == b.ranges {
                return Ok(Some(a.clone()));
            }
            let wide = |p: &PortSel| -> Vec<(u128, u128)> {
                p.ranges
                    .iter()
                    .map(|&(x, y)| (x as u128, y as u128))
                    .collect()
            };
            let r = intersect(&wide(a), &wide(b));
            if r.is_empty() {
                return Err(());
            }
            Ok(Some(PortSel {
                ranges: r.into_iter().map(|(x, y)| (x as u16, y as u16)).collect(),
                name: None,
            }))
        }
    }
}

fn merge_icmp(a: &Option<IcmpSel>, b: &Option<IcmpSel>) -> Result<Option<IcmpSel>, ()> {
    match (a, b) {
        (None, x) | (x, None) => Ok(x.clone()),
        (Some(a), Some(b)) => {
            if a.v6 != b.v6 {
                return Err(());
            }
            let mut specs = Vec::new();
            for x in &a.specs {
                for y in &b.specs {
                    if x.ty != y.ty {
                        continue;
                    }
                    let code = match (x.code, y.code) {
                        (None, c) | (c, None) => c,
                        (Some((a0, a1)), Some((b0, b1))) => {
                            let lo = a0.max(b0);
                            let hi = a1.min(b1);
                            if lo > hi {
                                continue;
                            }
                            Some((lo, hi))
                        }
                    };
                    specs.push(IcmpSpec { ty: x.ty, code });
                }
            }
            if specs.is_empty() {
                return Err(());
            }
            Ok(Some(IcmpSel { v6: a.v6, specs }))
        }
    }
}

fn extend_unique<T: Clone + PartialEq>(a: &mut Vec<T>, b: &[T]) {
    for x in b {
        if !a.contains(x) {
            a.push(x.clone());
        }
    }
}

impl KMatch {
    /// Matches every packet.
    pub(crate) fn is_always(&self) -> bool {
        self.family.is_none()
            && self.iif.is_none()
            && self.oif.is_none()
            && self.not_iif.is_empty()
            && self.not_oif.is_empty()
            && self.src.is_none()
            && self.dst.is_none()
            && self.not_src.is_empty()
            && self.not_dst.is_empty()
            && self.proto.is_none()
            && self.not_proto.is_empty()
            && self.sport.is_none()
            && self.dport.is_none()
            && self.anyport.is_empty()
            && self.icmp.is_none()
            && self.state.is_none()
            && self.owners.is_empty()
            && self.limits.is_empty()
    }

    /// The conjunction of two matches, or `None` when no packet of the
    /// given families can match both.
    pub(crate) fn merge(&self, other: &KMatch, families: FamilySet) -> Option<KMatch> {
        let mut m = self.clone();
        m.merge_into(other, families).then_some(m)
    }

    /// `self` becomes the conjunction of `self` and `other`; `false` when
    /// no packet of the given families can match both (then `self` is
    /// garbage).
    pub(crate) fn merge_into(&mut self, other: &KMatch, families: FamilySet) -> bool {
        self.merge_fields(other).is_ok() && self.settle(families).is_ok()
    }

    fn merge_fields(&mut self, other: &KMatch) -> Result<(), ()> {
        if other.is_always() {
            return Ok(());
        }
        self.family = match (self.family, other.family) {
            (Some(a), Some(b)) if a != b => return Err(()),
            (a, b) => a.or(b),
        };
        self.proto = match (self.proto, other.proto) {
            (Some(a), Some(b)) if a != b => return Err(()),
            (a, b) => a.or(b),
        };
        if let Some(b) = &other.state {
            let s: Vec<CtState> = match self.state.take() {
                None => b.clone(),
                Some(a) => a.into_iter().filter(|x| b.contains(x)).collect(),
            };
            if s.is_empty() {
                return Err(());
            }
            self.state = Some(s);
        }
        if other.iif.is_some() {
            self.iif = merge_ifaces(&self.iif, &other.iif)?;
        }
        if other.oif.is_some() {
            self.oif = merge_ifaces(&self.oif, &other.oif)?;
        }
        if other.src.is_some() {
            self.src = merge_addr(&self.src, &other.src)?;
        }
        if other.dst.is_some() {
            self.dst = merge_addr(&self.dst, &other.dst)?;
        }
        if other.sport.is_some() {
            self.sport = merge_ports(&self.sport, &other.sport)?;
        }
        if other.dport.is_some() {
            self.dport = merge_ports(&self.dport, &other.dport)?;
        }
        if other.icmp.is_some() {
            self.icmp = merge_icmp(&self.icmp, &other.icmp)?;
        }
        extend_unique(&mut self.not_iif, &other.not_iif);
        extend_unique(&mut self.not_oif, &other.not_oif);
        extend_unique(&mut self.not_src, &other.not_src);
        extend_unique(&mut self.not_dst, &other.not_dst);
        extend_unique(&mut self.not_proto, &other.not_proto);
        extend_unique(&mut self.owners, &other.owners);
        extend_unique(&mut self.anyport, &other.anyport);
        self.limits.extend(other.limits.iter().copied());
        Ok(())
    }

    /// Derives the family the match implies, checks it against the
    /// output's families and removes negations the positive parts decide.
    fn settle(&mut self, families: FamilySet) -> Result<(), ()> {
        let implied = self
            .family
            .into_iter()
            .chain(self.src.as_ref().map(|s| s.family))
            .chain(self.dst.as_ref().map(|s| s.family))
            .chain(self.not_src.iter().map(|s| s.family))
            .chain(self.not_dst.iter().map(|s| s.family))
            .chain(
                self.icmp
                    .as_ref()
                    .map(|i| if i.v6 { Family::V6 } else { Family::V4 }),
            );
        let mut family = None;
        for f in implied {
            match family {
                None => family = Some(f),
                Some(g) if g != f => return Err(()),
                Some(_) => {}
            }
        }
        if let Some(f) = family {
            if !families.contains(f) {
                return Err(());
            }
            self.family = Some(f);
        }
        if let Some(p) = self.proto {
            if self.not_proto.contains(&p) {
                return Err(());
            }
            self.not_proto.clear();
        }
        settle_ifaces(&mut self.iif, &mut self.not_iif)?;
        settle_ifaces(&mut self.oif, &mut self.not_oif)?;
        settle_addr(&self.src, &mut self.not_src)?;
        settle_addr(&self.dst, &mut self.not_dst)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_and_intersect() {
        assert_eq!(
            normalize(vec![(5, 9), (1, 3), (4, 4), (20, 30)]),
            vec![(1, 9), (20, 30)]
        );
        assert_eq!(
            intersect(&[(1, 9), (20, 30)], &[(5, 25)]),
            vec![(5, 9), (20, 25)]
        );
        assert!(covered(&[(5, 6)], &[(1, 9)]));
        assert!(!covered(&[(5, 16)], &[(1, 9)]));
    }

    #[test]
    fn multiport_splits_at_fifteen_slots() {
        let ports: Vec<(u16, u16)> = (1..=20).map(|p| (p * 2, p * 2)).collect();
        let chunks = multiport_chunks(&ports);
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].len(), 15);
        let ranges: Vec<(u16, u16)> = (1..=8).map(|p| (p * 10, p * 10 + 1)).collect();
        let chunks = multiport_chunks(&ranges);
        assert_eq!(
            chunks.iter().map(|c| c.len()).collect::<Vec<_>>(),
            vec![7, 1]
        );
    }

    #[test]
    fn interfaces_intersect_as_prefixes() {
        let i = |n: &str, w: bool| Iface {
            name: n.into(),
            wildcard: w,
        };
        assert_eq!(
            iface_intersect(&i("eth0", false), &i("eth", true)),
            Some(i("eth0", false))
        );
        assert_eq!(
            iface_intersect(&i("eth", true), &i("e", true)),
            Some(i("eth", true))
        );
        assert_eq!(iface_intersect(&i("eth0", false), &i("wlan", true)), None);
        let mut pos = Some(vec![i("eth0", false), i("eth1", false)]);
        let mut neg = vec![i("eth1", false), i("wg", true)];
        settle_ifaces(&mut pos, &mut neg).unwrap();
        assert_eq!(pos, Some(vec![i("eth0", false)]));
        assert!(neg.is_empty());
    }

    #[test]
    fn merge_detects_contradictions() {
        let tcp = KMatch {
            proto: Some(6),
            ..KMatch::default()
        };
        let udp = KMatch {
            proto: Some(17),
            ..KMatch::default()
        };
        let not_tcp = KMatch {
            not_proto: vec![6],
            ..KMatch::default()
        };
        assert!(tcp.merge(&udp, FamilySet::INET).is_none());
        assert!(tcp.merge(&not_tcp, FamilySet::INET).is_none());
        assert_eq!(udp.merge(&not_tcp, FamilySet::INET), Some(udp.clone()));
        let v6 = KMatch {
            src: Some(AddrSel {
                family: Family::V6,
                ranges: vec![(1, 2)],
                name: None,
            }),
            ..KMatch::default()
        };
        assert!(v6.merge(&KMatch::default(), FamilySet::IP).is_none());
        assert_eq!(
            v6.merge(&KMatch::default(), FamilySet::INET)
                .and_then(|m| m.family),
            Some(Family::V6)
        );
    }

    #[test]
    fn reject_reasons_cross_families() {
        let both = FamilySet::INET;
        assert_eq!(
            reject_spec(Some(RejectWith::IcmpPortUnreachable), both),
            Ok(RejectSpec::Icmpx("port-unreachable"))
        );
        assert_eq!(
            reject_spec(Some(RejectWith::IcmpAdminProhibited), FamilySet::IP6),
            Ok(RejectSpec::Icmp6(RejectWith::Icmp6AdmProhibited))
        );
        assert!(reject_spec(Some(RejectWith::IcmpHostProhibited), both).is_err());
        assert_eq!(
            reject_spec(Some(RejectWith::IcmpHostProhibited), FamilySet::IP),
            Ok(RejectSpec::Icmp(RejectWith::IcmpHostProhibited))
        );
    }
}
