//! Security review reports: what a policy lets in and out, in a form a
//! reviewer reads in a pull request.
//!
//! [`build`] turns a loaded policy into a [`Report`]: the accepted NEW flows
//! of every hook as a few classes traced to their rules ([`flows`]), the
//! output flows that users other than root can open (front and centre), the
//! assertions and egress blocks and whether they hold, and every finding
//! with its witness packet. The report is plain data: [`markdown`],
//! [`html`] and JSON (serde, versioned, docs/report-json.md) render it.
//! [`sarif`] renders `hwc check` diagnostics as SARIF 2.1.0.
//!
//! INVARIANT: the library does no I/O; the date and the file's path come
//! from the caller, so that the same input gives the same report.

pub mod date;
pub mod diff;
pub mod flows;
pub mod html;
pub mod markdown;
pub mod sarif;
pub mod sha256;
pub mod svg;
pub mod text;

use crate::analysis;
use crate::diagnostics::render::json::{self, JsonDiagnostic, JsonPacket};
use crate::diagnostics::render::{location, Counts, Location};
use crate::diagnostics::Diagnostic;
use crate::ir::{self, AssertKind, ChainKind, Policy};
use crate::source::{FileId, SourceMap, Span};
use crate::space::eval::{Analysis, EvalError};
use serde::Serialize;
use text::Column;

/// The version of the JSON report (docs/report-json.md).
pub const VERSION: u32 = 1;

/// What the caller knows about the run.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    /// Every file read: the policy and its includes.
    pub sources: &'a SourceMap,
    /// The policy file named on the command line.
    pub root: FileId,
    /// The policy's path as the report shows it.
    pub path: String,
    /// Diagnostics of loading the policy (warnings only: a policy with
    /// errors has no report).
    pub load_diagnostics: &'a [Diagnostic],
    /// The report's date, in seconds since 1970 (UTC).
    pub date: i64,
}

/// A whole report (also the JSON document).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub version: u32,
    pub meta: Meta,
    pub policy: PolicyInfo,
    pub hooks: Vec<HookInfo>,
    /// Output flows that a user other than root can open, not on `lo`.
    pub nonroot_egress: Vec<NonrootFlow>,
    pub flows: Vec<Flow>,
    pub assertions: Vec<AssertionInfo>,
    pub findings: Vec<JsonDiagnostic>,
    pub summary: Summary,
}

#[derive(Debug, Clone, Serialize)]
pub struct Meta {
    pub file: String,
    /// SHA-256 of the policy file's text, lowercase hex.
    pub sha256: String,
    /// Every file read (the policy first, then its includes).
    pub sources: Vec<SourceInfo>,
    /// `YYYY-MM-DDTHH:MM:SSZ` (from `SOURCE_DATE_EPOCH` when set).
    pub date: String,
    pub hwc_version: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceInfo {
    pub path: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PolicyInfo {
    pub name: String,
    /// `ip`, `ip6` or `inet`.
    pub family: &'static str,
    /// `policy` (a .hw file) or `iptables-save` / `ip6tables-save`.
    pub origin: &'static str,
    /// False when some test or target is not modelled exactly: flows then
    /// rest partly on approximations (see `definite`).
    pub exact: bool,
    pub chains: Vec<ChainInfo>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChainInfo {
    pub name: String,
    /// The hook of a built-in chain; null for a user chain.
    pub hook: Option<&'static str>,
    /// The default policy of a built-in chain.
    pub policy: Option<&'static str>,
    pub rules: usize,
    pub location: Location,
}

#[derive(Debug, Clone, Serialize)]
pub struct HookInfo {
    pub hook: &'static str,
    /// The base chain; null when the policy has none (everything passes).
    pub chain: Option<String>,
    pub policy: Option<&'static str>,
    /// Families the policy filters (`ip`, `ip6`).
    pub families: Vec<&'static str>,
    /// Number of flow classes.
    pub flows: usize,
}

/// A class of accepted NEW (or UNTRACKED) flows.
#[derive(Debug, Clone, Serialize)]
pub struct Flow {
    /// `F1`, `F2`, ... in report order.
    pub id: String,
    pub hook: &'static str,
    /// `rules`, `default-policy`, `unfiltered-family` or `no-base-chain`.
    pub admitted_by: &'static str,
    /// Each column is a conjunction of terms; an empty list means any.
    pub from: Vec<String>,
    pub to: Vec<String>,
    pub protocol: Vec<String>,
    pub iif: Vec<String>,
    pub oif: Vec<String>,
    pub users: Vec<String>,
    pub groups: Vec<String>,
    /// Rate limits and tests hwc does not model.
    pub other: Vec<String>,
    /// `new` and/or `untracked`.
    pub states: Vec<&'static str>,
    /// The rules that admit the flows (empty for the other sources).
    pub rules: Vec<RuleInfo>,
    /// A flow of the class; null only when the engine's work budget ran out.
    pub witness: Option<JsonPacket>,
    /// False when the witness rests on a test or target hwc does not model.
    pub definite: bool,
    /// Output only: a flow of the class from a non-root user socket, not
    /// on `lo`.
    pub nonroot_witness: Option<JsonPacket>,
    /// Indexes into `findings` of the findings whose witness is a flow of
    /// this class (for a class of rules: the findings about its rules).
    pub findings: Vec<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleInfo {
    pub chain: String,
    /// 1-based position in the chain.
    pub position: usize,
    pub location: Location,
    /// The rule as written (first line).
    pub text: String,
    /// The chains from the base chain to this rule's chain (both
    /// included); null when too many paths lead there to list them.
    pub via: Option<Vec<String>>,
    /// The rule's target is not modelled: it may accept.
    pub may_accept: bool,
}

/// One row of the non-root egress table.
#[derive(Debug, Clone, Serialize)]
pub struct NonrootFlow {
    /// The flow class (`F7`).
    pub flow: String,
    /// Who: the user and group terms, or `any user`.
    pub who: Vec<String>,
    pub to: Vec<String>,
    pub protocol: Vec<String>,
    pub oif: Vec<String>,
    pub witness: JsonPacket,
    /// False when the witness rests on a test or target hwc does not model.
    pub definite: bool,
    pub findings: Vec<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AssertionInfo {
    /// `allow`, `deny`, `reachable` or `egress`.
    pub kind: &'static str,
    /// The chain of an `assert`; null for an egress block.
    pub chain: Option<String>,
    pub text: String,
    pub location: Location,
    /// `holds`, `fails` or `not-checked` (this hwc has no assertion check).
    pub status: &'static str,
    /// Indexes into `findings` of the failures.
    pub findings: Vec<usize>,
    /// The counterexample of the first failure.
    pub witness: Option<JsonPacket>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub flows: usize,
    pub nonroot_egress: usize,
    pub assertions: usize,
    pub assertions_failed: usize,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

/// Why a report could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportError {
    Eval(EvalError),
}

impl std::fmt::Display for ReportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReportError::Eval(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ReportError {}

impl From<EvalError> for ReportError {
    fn from(e: EvalError) -> Self {
        ReportError::Eval(e)
    }
}

/// Whether this build of hwc checks assertions (the `assertion-failed`
/// lint is registered). When it does not, the report says so instead of
/// claiming that they hold.
pub fn assertions_checked() -> bool {
    analysis::REGISTRY
        .iter()
        .any(|l| l.name == "assertion-failed")
}

/// Builds the report of a policy: runs the lints and the flow analysis.
pub fn build(policy: &Policy, input: &Input) -> Result<Report, ReportError> {
    let mut diags: Vec<Diagnostic> = input.load_diagnostics.to_vec();
    diags.extend(analysis::analyze(policy));
    diags.sort_by_key(|d| {
        let s = d.primary_span();
        (s.file, s.start)
    });
    build_with(policy, input, diags, assertions_checked())
}

/// [`build`] with the findings given (`checked`: whether they include the
/// assertion check).
pub fn build_with(
    policy: &Policy,
    input: &Input,
    diags: Vec<Diagnostic>,
    checked: bool,
) -> Result<Report, ReportError> {
    let sources = input.sources;
    let an = Analysis::with_queries(policy, &flows::query_matches())?;
    let witnesses: Vec<flows::FindingPacket> = diags
        .iter()
        .enumerate()
        .filter_map(|(index, d)| {
            d.witness.clone().map(|packet| flows::FindingPacket {
                index,
                span: d.primary_span(),
                packet,
            })
        })
        .collect();
    let classes = flows::classes(&an, sources, &witnesses)?;

    let loc = |span: Span| location(sources, span);
    let packet = |p: &Option<ir::Packet>| p.as_ref().map(json::packet);
    let mut flows_out = Vec::new();
    let mut nonroot = Vec::new();
    for (i, c) in classes.iter().enumerate() {
        let id = format!("F{}", i + 1);
        let col = |k: Column| c.column(k).map(str::to_string).collect::<Vec<_>>();
        let rules = c
            .sites
            .iter()
            .map(|s| {
                let chain = policy.chain(s.rule.chain);
                let rule = &chain.rules[s.rule.index as usize];
                RuleInfo {
                    chain: chain.name.clone(),
                    position: s.rule.index as usize + 1,
                    location: loc(rule.span),
                    text: rule_text(sources, rule.span),
                    via: s.path.as_ref().map(|p| {
                        p.iter()
                            .map(|j| policy.chain(j.chain).name.clone())
                            .chain(std::iter::once(chain.name.clone()))
                            .collect()
                    }),
                    may_accept: s.may,
                }
            })
            .collect();
        if let Some(w) = &c.nonroot {
            let mut who = col(Column::Users);
            who.extend(c.column(Column::Groups).map(|g| format!("group {g}")));
            if who.is_empty() {
                who.push("any user".to_string());
            }
            nonroot.push(NonrootFlow {
                flow: id.clone(),
                who,
                to: col(Column::To),
                protocol: col(Column::Protocol),
                oif: col(Column::Oif),
                witness: json::packet(w),
                definite: c.nonroot_definite,
                findings: c.findings.clone(),
            });
        }
        flows_out.push(Flow {
            id,
            hook: c.hook.name(),
            admitted_by: match c.source {
                flows::Source::Rules => "rules",
                flows::Source::DefaultPolicy(_) => "default-policy",
                flows::Source::Unfiltered(_) => "unfiltered-family",
                flows::Source::NoBaseChain => "no-base-chain",
            },
            from: col(Column::From),
            to: col(Column::To),
            protocol: col(Column::Protocol),
            iif: col(Column::Iif),
            oif: col(Column::Oif),
            users: col(Column::Users),
            groups: col(Column::Groups),
            other: col(Column::Other),
            states: c.states.iter().map(|s| s.name()).collect(),
            rules,
            witness: packet(&c.witness),
            definite: c.definite,
            nonroot_witness: packet(&c.nonroot),
            findings: c.findings.clone(),
        });
    }

    let hooks = ir::Hook::ALL
        .iter()
        .map(|&h| {
            let base = policy.base_chain(h).map(|b| policy.chain(b));
            HookInfo {
                hook: h.name(),
                chain: base.map(|c| c.name.clone()),
                policy: base.map(|c| c.policy.unwrap_or(ir::Verdict::Accept).name()),
                families: ir::Family::ALL
                    .iter()
                    .filter(|f| base.is_some() && policy.family.contains(**f))
                    .map(|f| f.keyword())
                    .collect(),
                flows: classes.iter().filter(|c| c.hook == h).count(),
            }
        })
        .collect();

    let assertions = assertions(policy, sources, &diags, checked);
    let counts = Counts::of(&diags);
    let findings: Vec<JsonDiagnostic> =
        diags.iter().map(|d| json::diagnostic(d, sources)).collect();
    let summary = Summary {
        flows: flows_out.len(),
        nonroot_egress: nonroot.len(),
        assertions: assertions.len(),
        assertions_failed: assertions.iter().filter(|a| a.status == "fails").count(),
        errors: counts.errors,
        warnings: counts.warnings,
        infos: counts.infos,
    };
    Ok(Report {
        version: VERSION,
        meta: meta(input),
        policy: PolicyInfo {
            name: policy.name.clone(),
            family: policy.family.keyword(),
            origin: match policy.origin {
                ir::Origin::Policy => "policy",
                ir::Origin::Dump(ir::Family::V4) => "iptables-save",
                ir::Origin::Dump(ir::Family::V6) => "ip6tables-save",
            },
            exact: an.is_exact(),
            chains: policy
                .chains
                .iter()
                .map(|c| ChainInfo {
                    name: c.name.clone(),
                    hook: match c.kind {
                        ChainKind::Base(h) => Some(h.name()),
                        ChainKind::User => None,
                    },
                    policy: match c.kind {
                        ChainKind::Base(_) => Some(c.policy.unwrap_or(ir::Verdict::Accept).name()),
                        ChainKind::User => None,
                    },
                    rules: c.rules.len(),
                    location: loc(c.span),
                })
                .collect(),
        },
        hooks,
        nonroot_egress: nonroot,
        flows: flows_out,
        assertions,
        findings,
        summary,
    })
}

fn meta(input: &Input) -> Meta {
    let sources = input.sources;
    let digest = |id: FileId| sha256::hex(sources.get(id).text.as_bytes());
    let mut files = vec![SourceInfo {
        path: input.path.clone(),
        sha256: if (input.root.0 as usize) < sources.len() {
            digest(input.root)
        } else {
            sha256::hex(b"")
        },
    }];
    for (id, f) in sources.files() {
        if id != input.root {
            files.push(SourceInfo {
                path: crate::diagnostics::render::display_path(&f.path),
                sha256: digest(id),
            });
        }
    }
    Meta {
        file: input.path.clone(),
        sha256: files[0].sha256.clone(),
        sources: files,
        date: date::rfc3339(input.date),
        hwc_version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// The first line of a rule's text, blanks collapsed; a block that goes
/// on (an egress block) ends in `{ … }`.
fn rule_text(sources: &SourceMap, span: Span) -> String {
    if span.file.0 as usize >= sources.len() {
        return String::new();
    }
    let text = sources.get(span.file).slice(span);
    let first = text.lines().next().unwrap_or("");
    let mut t = first.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.ends_with('{') && text.trim_end().len() > first.trim_end().len() {
        t.push_str(" … }");
    }
    t
}

fn covers(outer: Span, inner: Span) -> bool {
    outer.file == inner.file && outer.start <= inner.start && inner.end <= outer.end
}

fn assertions(
    policy: &Policy,
    sources: &SourceMap,
    diags: &[Diagnostic],
    checked: bool,
) -> Vec<AssertionInfo> {
    let failures = |span: Span| -> Vec<usize> {
        diags
            .iter()
            .enumerate()
            .filter(|(_, d)| d.code == "assertion-failed" && covers(span, d.primary_span()))
            .map(|(i, _)| i)
            .collect()
    };
    let info = |kind: &'static str, chain: Option<String>, span: Span| {
        let findings = failures(span);
        let status = match (checked, findings.is_empty()) {
            (_, false) => "fails",
            (true, true) => "holds",
            (false, true) => "not-checked",
        };
        AssertionInfo {
            kind,
            chain,
            text: rule_text(sources, span),
            location: location(sources, span),
            status,
            witness: findings
                .iter()
                .find_map(|&i| diags[i].witness.as_ref())
                .map(json::packet),
            findings,
        }
    };
    let mut out: Vec<(Span, AssertionInfo)> = Vec::new();
    for a in &policy.assertions {
        let kind = match a.kind {
            AssertKind::Allow => "allow",
            AssertKind::Deny => "deny",
            AssertKind::Reachable => "reachable",
        };
        let chain = policy.chain(a.chain).name.clone();
        out.push((a.span, info(kind, Some(chain), a.span)));
    }
    for e in &policy.egress {
        out.push((e.span, info("egress", None, e.span)));
    }
    out.sort_by_key(|(s, _)| (s.file, s.start));
    out.into_iter().map(|(_, a)| a).collect()
}

impl Flow {
    /// The user and group terms, or `any user` for an output flow without
    /// one (and nothing for other hooks, whose packets have no socket).
    pub fn who(&self) -> Vec<String> {
        let mut who = self.users.clone();
        who.extend(self.groups.iter().map(|g| format!("group {g}")));
        if who.is_empty() && self.hook == "output" {
            who.push("any user".to_string());
        }
        who
    }

    /// What admits the flows when no rule does, in words.
    pub fn admitted_by_text(&self, report: &Report) -> Option<String> {
        let hook = report.hooks.iter().find(|h| h.hook == self.hook);
        let chain = hook.and_then(|h| h.chain.clone()).unwrap_or_default();
        match self.admitted_by {
            "default-policy" => Some(format!(
                "the default policy `accept` of chain `{chain}` (no rule decides these flows)"
            )),
            "unfiltered-family" => {
                let family = match self.protocol.first().map(String::as_str) {
                    Some("any ip") => "IPv4",
                    Some("any ip6") => "IPv6",
                    _ => "this family",
                };
                Some(format!(
                    "nothing: the policy (family `{}`) does not filter {family}",
                    report.policy.family
                ))
            }
            "no-base-chain" => Some(format!(
                "nothing: the policy has no `{}` chain, so the hook accepts every packet",
                self.hook
            )),
            _ => None,
        }
    }
}

/// A column's terms as one phrase: `any` when there are none.
pub fn terms_text(terms: &[String]) -> String {
    if terms.is_empty() {
        "any".to_string()
    } else {
        terms.join(" and ")
    }
}

/// `webserver.hw:57`
pub fn short_location(l: &Location) -> String {
    format!("{}:{}", l.file, l.line)
}

/// At most this many rules are listed for one flow in the markdown and
/// HTML tables (the JSON has them all).
pub const MAX_RULES_SHOWN: usize = 3;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemoryLoader;
    use std::path::Path;

    fn load(text: &str) -> (Policy, SourceMap) {
        let path = Path::new("p.hw");
        let loader = MemoryLoader::default().with(path, text);
        let mut sources = SourceMap::new();
        let (policy, diags) = crate::sema::load(path, &loader, &mut sources);
        let errors: Vec<_> = diags.iter().filter(|d| d.is_error()).collect();
        assert!(errors.is_empty(), "{errors:#?}");
        (policy.expect("loads"), sources)
    }

    fn build_text(text: &str, diags: Vec<Diagnostic>, checked: bool) -> Report {
        let (policy, sources) = load(text);
        let input = Input {
            sources: &sources,
            root: FileId(0),
            path: "p.hw".into(),
            load_diagnostics: &[],
            date: 0,
        };
        build_with(&policy, &input, diags, checked).expect("builds")
    }

    const GUARDED: &str = "\
net admins = 198.51.100.0/24
chain guard {
  return from admins
  reject tcp-reset tcp
}
chain input policy drop {
  accept state established, related
  jump guard state new tcp 22
  accept state new tcp 22
  accept state new tcp 80
}
chain output policy accept {
  accept state new user root
}
chain forward policy drop {}
assert deny input state new tcp 23
assert allow input state new tcp 80
";

    #[test]
    fn classes_of_a_guarded_policy() {
        let r = build_text(GUARDED, vec![], true);
        let input: Vec<&Flow> = r.flows.iter().filter(|f| f.hook == "input").collect();
        // `established, related` admits no new flow; the guard's `return`
        // narrows the ssh rule to the admins; port 80 is open to all.
        assert_eq!(input.len(), 2, "{input:#?}");
        assert_eq!(input[0].protocol, ["tcp 22"]);
        assert_eq!(input[0].from, ["admins (198.51.100.0/24)"]);
        assert_eq!(input[1].protocol, ["tcp 80"]);
        assert!(input[1].from.is_empty());
        assert_eq!(
            input[0].rules[0].via.as_deref(),
            Some(&["input".to_string()][..])
        );
        // The default accept of output admits what root does not get.
        let output: Vec<&Flow> = r.flows.iter().filter(|f| f.hook == "output").collect();
        assert_eq!(output.len(), 2);
        assert_eq!(output[0].users, ["root (uid 0)"]);
        assert!(output[0].nonroot_witness.is_none());
        assert_eq!(output[1].admitted_by, "default-policy");
        assert!(output[1].nonroot_witness.is_some());
        assert_eq!(r.nonroot_egress.len(), 1);
        assert_eq!(r.nonroot_egress[0].flow, output[1].id);
        assert_eq!(r.nonroot_egress[0].who, ["any user"]);
        assert!(r.flows.iter().all(|f| f.hook != "forward"));
        assert_eq!(r.summary.flows, 4);
    }

    #[test]
    fn assertions_take_their_status_from_assertion_failed_findings() {
        let (policy, sources) = load(GUARDED);
        let telnet = policy.assertions[0].span;
        let an = Analysis::with_queries(&policy, &flows::query_matches()).expect("analysis");
        let classes = flows::classes(&an, &sources, &[]).expect("classes");
        let web = classes[1].witness.clone().expect("a witness");
        let fail = Diagnostic::new("assertion-failed", "the assertion does not hold", telnet)
            .witness(web.clone());
        let r = build_text(GUARDED, vec![fail], true);
        assert_eq!(r.assertions[0].status, "fails");
        assert_eq!(r.assertions[0].findings, [0]);
        assert!(r.assertions[0].witness.is_some());
        assert_eq!(r.assertions[1].status, "holds");
        assert_eq!(r.summary.assertions_failed, 1);
        let r = build_text(GUARDED, vec![], false);
        assert!(r.assertions.iter().all(|a| a.status == "not-checked"));
        // A finding whose packet is a flow of a class is linked to it.
        // A finding about a rule whose packet is a flow of its class is
        // linked to the class; the same packet on another rule is not.
        let on_rule =
            Diagnostic::new("overlap", "x", policy.chains[1].rules[3].span).witness(web.clone());
        let elsewhere =
            Diagnostic::new("overlap", "x", policy.chains[1].rules[2].span).witness(web);
        let r = build_text(GUARDED, vec![on_rule, elsewhere], true);
        assert_eq!(r.flows[1].rules[0].text, "accept state new tcp 80");
        assert_eq!(r.flows[1].findings, [0]);
        assert!(r.flows[0].findings.is_empty());
    }

    #[test]
    fn unfiltered_families_and_missing_chains_are_classes() {
        let r = build_text(
            "policy p { family ip }\nchain input policy drop {\n  accept tcp 22\n}\n",
            vec![],
            true,
        );
        let by: Vec<(&str, &str)> = r.flows.iter().map(|f| (f.hook, f.admitted_by)).collect();
        assert_eq!(
            by,
            [
                ("input", "rules"),
                ("input", "unfiltered-family"),
                ("output", "no-base-chain"),
                ("forward", "no-base-chain"),
            ]
        );
        assert_eq!(r.flows[1].protocol, ["any ip6"]);
        assert_eq!(r.hooks[1].chain, None);
        assert!(r.flows[2].nonroot_witness.is_some());
    }

    #[test]
    fn a_chain_jumped_to_twice_has_a_class_per_path() {
        let r = build_text(
            "chain web {\n  accept tcp 80, 443\n}\n\
             chain input policy drop {\n  jump web iface eth0\n  jump web iface eth1 from 192.0.2.0/24\n}\n\
             chain output policy drop {}\nchain forward policy drop {}\n",
            vec![],
            true,
        );
        let input: Vec<&Flow> = r.flows.iter().filter(|f| f.hook == "input").collect();
        assert_eq!(input.len(), 2, "{input:#?}");
        assert_eq!(input[0].iif, ["eth0"]);
        assert!(input[0].from.is_empty());
        assert_eq!(input[1].iif, ["eth1"]);
        assert_eq!(input[1].from, ["192.0.2.0/24"]);
        assert_eq!(
            input[1].rules[0].via.as_deref(),
            Some(&["input".to_string(), "web".to_string()][..])
        );
        for f in &input {
            let w = f.witness.as_ref().expect("witness");
            assert_eq!(w.iif.as_deref(), f.iif.first().map(String::as_str));
        }
    }

    #[test]
    fn metadata() {
        let r = build_text(GUARDED, vec![], true);
        assert_eq!(r.meta.sha256, sha256::hex(GUARDED.as_bytes()));
        assert_eq!(r.meta.date, "1970-01-01T00:00:00Z");
        assert_eq!(r.meta.hwc_version, env!("CARGO_PKG_VERSION"));
        assert_eq!(r.assertions[0].text, "assert deny input state new tcp 23");
    }
}
