//! `hwc trace FILE --packet '...'`: the verdict a policy gives one packet,
//! and the rules it meets on the way.
//!
//! The packet is read by [`crate::space::packet::parse_packet`] (see its
//! module docs for the words); the rules are evaluated one by one by the
//! reference evaluator ([`crate::space::reference::trace`]), straight from
//! the IR. Where a rule uses a test hwc does not model (`limit`), the trace
//! follows the path where it matches and says which other verdicts are
//! possible.

use super::{print_stdout, Exit, Terminal};
use crate::diagnostics::render::{self, json, HumanOptions};
use crate::ir::{ChainId, Family, Policy};
use crate::sema;
use crate::source::{DiskLoader, SourceMap, Span};
use crate::space::packet::parse_packet;
use crate::space::reference::{self, Decider, Trace, Tri};
use crate::space::RuleRef;
use serde::Serialize;
use std::path::PathBuf;

const TRACE_LONG_ABOUT: &str = "\
Show the verdict a policy gives one packet, and every rule the packet meets \
on the way, in order: whether it matches, and which rule (or default policy) \
decides. The packet is a list of words in any order: the hook (`input`, \
`output`, `forward`), the protocol (`tcp`, `udp`, `icmp`, `proto 47`, ...), \
`from ADDR`, `to ADDR`, `sport N`, `port N`, `type NAME`, `iif NAME`, \
`oif NAME`, the state (`new`, `established`, ...), `uid N`, `gid N`, \
`kernel`, `nosocket`. Words left out take readable defaults.";

const TRACE_EXAMPLES: &str = "\
Examples:
  hwc trace web.hw --packet 'output udp uid 33 to 192.0.2.53 port 53 new'
  hwc trace web.hw --packet 'input tcp from 198.51.100.7 port 22'
  hwc trace web.hw --packet 'input ip6 icmpv6 type nd-neighbor-solicit untracked'
  hwc trace web.hw --format json --packet 'forward udp port 123'

Exit status: 0 traced, 1 the policy has errors, 2 usage error (a packet that \
cannot be read) or I/O error.";

/// Trace one packet through a policy's rules.
#[derive(Debug, clap::Args)]
#[command(long_about = TRACE_LONG_ABOUT, after_help = TRACE_EXAMPLES)]
pub struct TraceArgs {
    /// The policy file (`.hw`).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// The packet, e.g. `output udp uid 33 to 192.0.2.53 port 53 new`.
    #[arg(long, value_name = "PACKET")]
    pub packet: String,

    /// Output format: `human` or `json` (for tools).
    #[arg(long, value_enum, default_value_t = TraceFormat::Human)]
    pub format: TraceFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TraceFormat {
    Human,
    Json,
}

pub(crate) fn run(args: &TraceArgs, term: &Terminal) -> Exit {
    let packet = match parse_packet(&args.packet) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("hwc: error: cannot read the packet: {}", e.message);
            match &e.help {
                Some(h) => eprintln!("  help: {h}"),
                None => eprintln!("  help: run `hwc trace --help` for the packet words"),
            }
            return Exit::Failure;
        }
    };
    let mut sources = SourceMap::new();
    let (policy, diags) = sema::load(&args.file, &DiskLoader, &mut sources);
    let Some(policy) = policy else {
        let failed = diags.iter().any(|d| d.code == "io");
        print_errors(&diags, &sources, term, args.format);
        return if failed {
            Exit::Failure
        } else {
            Exit::Findings
        };
    };
    let t = reference::trace(&policy, &packet);
    let text = match args.format {
        TraceFormat::Human => human(&policy, &sources, &t),
        TraceFormat::Json => match serde_json::to_string_pretty(&document(&policy, &sources, &t)) {
            Ok(mut s) => {
                s.push('\n');
                s
            }
            Err(e) => {
                eprintln!("hwc: error: cannot serialise the trace: {e}");
                return Exit::Failure;
            }
        },
    };
    match print_stdout(&text) {
        Ok(()) => Exit::Success,
        Err(e) => e,
    }
}

/// The policy did not load: its errors, as `hwc check` shows them.
fn print_errors(
    diags: &[crate::diagnostics::Diagnostic],
    sources: &SourceMap,
    term: &Terminal,
    format: TraceFormat,
) {
    match format {
        TraceFormat::Human => {
            let opts = HumanOptions {
                color: term.color,
                unicode: true,
                width: term.width,
            };
            for d in diags {
                eprint!("{}", render::human(d, sources, &opts));
                eprintln!();
            }
        }
        TraceFormat::Json => {
            let all: Vec<json::JsonDiagnostic> =
                diags.iter().map(|d| json::diagnostic(d, sources)).collect();
            if let Ok(s) = serde_json::to_string_pretty(&all) {
                eprintln!("{s}");
            }
        }
    }
    eprintln!("hwc: error: cannot trace: the policy has errors");
}

/// The first line of a span's text, trimmed (a rule as written).
fn source_line(sources: &SourceMap, span: Span) -> String {
    if span.file.0 as usize >= sources.len() {
        return String::new();
    }
    let text = sources.get(span.file).slice(span);
    text.lines().next().unwrap_or("").trim().to_string()
}

fn chain_name(policy: &Policy, c: ChainId) -> &str {
    &policy.chain(c).name
}

fn family_name(f: Family) -> &'static str {
    match f {
        Family::V4 => "IPv4",
        Family::V6 => "IPv6",
    }
}

/// What decided, in words: `the rule at FILE:LINE:COL`.
fn decider_words(policy: &Policy, sources: &SourceMap, t: &Trace) -> String {
    match t.decided_by {
        Decider::Rule(r) => {
            let at = render::location(sources, policy.chain(r.chain).rules[r.index as usize].span);
            format!("by the rule at {}:{}:{}", at.file, at.line, at.column)
        }
        Decider::Policy(c) => format!("by the default policy of chain `{}`", chain_name(policy, c)),
        Decider::NoBaseChain => format!("there is no `{}` chain", t.packet.hook.name()),
        Decider::FamilyNotFiltered => format!(
            "the policy does not filter {} packets",
            family_name(t.packet.family)
        ),
    }
}

fn matched_word(m: Tri) -> &'static str {
    match m {
        Tri::Yes => "match",
        Tri::No => "no match",
        Tri::Maybe => "may match",
    }
}

/// The trace for people.
fn human(policy: &Policy, sources: &SourceMap, t: &Trace) -> String {
    let mut out = format!("packet   {}\n", render::packet_text(&t.packet));
    out.push_str(&format!(
        "verdict  {}, {}\n",
        t.verdict.name(),
        decider_words(policy, sources, t)
    ));
    if t.possible.len() > 1 {
        let others: Vec<&str> = t
            .possible
            .iter()
            .filter(|v| **v != t.verdict)
            .map(|v| v.name())
            .collect();
        out.push_str(&format!(
            "         it may also be {}: the rules marked `may match` use tests hwc does not model\n",
            others.join(" or ")
        ));
    }
    if t.steps.is_empty() {
        return out;
    }
    let locs: Vec<String> = t
        .steps
        .iter()
        .map(|s| {
            let at = render::location(sources, s.span);
            format!("{}:{}:{}", at.file, at.line, at.column)
        })
        .collect();
    let width = locs.iter().map(|l| l.len()).max().unwrap_or(0);
    let mut path: &[ChainId] = &[];
    for (s, loc) in t.steps.iter().zip(&locs) {
        if s.chain_path.as_slice() != path {
            path = &s.chain_path;
            let names: Vec<&str> = path.iter().map(|c| chain_name(policy, *c)).collect();
            out.push_str(&format!("\n  chain {}\n", names.join(" > ")));
        }
        let decides = t.decided_by == Decider::Rule(s.rule);
        out.push_str(&format!(
            "    {loc:<width$}  {:<9}  {}{}\n",
            matched_word(s.matched),
            source_line(sources, s.span),
            if decides {
                format!("  → {}", t.verdict.name())
            } else {
                String::new()
            }
        ));
    }
    if let Decider::Policy(c) = t.decided_by {
        out.push_str(&format!(
            "\n  end of chain `{}`: its default policy {}s\n",
            chain_name(policy, c),
            t.verdict.name()
        ));
    }
    out
}

/// `hwc trace --format json`: a versioned document.
#[derive(Debug, Serialize)]
struct Document {
    version: u32,
    file: String,
    policy: String,
    packet: json::JsonPacket,
    /// `accept` or `drop`.
    verdict: &'static str,
    /// Every verdict some outcome of the tests hwc does not model leads to.
    possible: Vec<&'static str>,
    decided_by: JsonDecider,
    steps: Vec<JsonStep>,
}

#[derive(Debug, Serialize)]
struct JsonDecider {
    /// `rule`, `policy` (a chain's default policy), `no-chain` or
    /// `family-not-filtered`.
    kind: &'static str,
    chain: Option<String>,
    location: Option<JsonLocation>,
}

#[derive(Debug, Serialize)]
struct JsonLocation {
    file: String,
    line: usize,
    column: usize,
    text: String,
}

#[derive(Debug, Serialize)]
struct JsonStep {
    /// The chains from the base chain to the rule's chain.
    chains: Vec<String>,
    /// The rule's position in its chain, from 0.
    index: u32,
    location: JsonLocation,
    /// `yes`, `no` or `maybe` (a test hwc does not model).
    matched: &'static str,
    /// This rule decided the verdict.
    decides: bool,
}

fn location(sources: &SourceMap, span: Span) -> JsonLocation {
    let at = render::location(sources, span);
    JsonLocation {
        file: at.file,
        line: at.line,
        column: at.column,
        text: source_line(sources, span),
    }
}

fn rule_span(policy: &Policy, r: RuleRef) -> Span {
    policy.chain(r.chain).rules[r.index as usize].span
}

fn document(policy: &Policy, sources: &SourceMap, t: &Trace) -> Document {
    let decided_by = match t.decided_by {
        Decider::Rule(r) => JsonDecider {
            kind: "rule",
            chain: Some(chain_name(policy, r.chain).to_string()),
            location: Some(location(sources, rule_span(policy, r))),
        },
        Decider::Policy(c) => JsonDecider {
            kind: "policy",
            chain: Some(chain_name(policy, c).to_string()),
            location: Some(location(sources, policy.chain(c).span)),
        },
        Decider::NoBaseChain => JsonDecider {
            kind: "no-chain",
            chain: None,
            location: None,
        },
        Decider::FamilyNotFiltered => JsonDecider {
            kind: "family-not-filtered",
            chain: None,
            location: None,
        },
    };
    let file = policy.span.file;
    Document {
        version: 1,
        file: if (file.0 as usize) < sources.len() {
            render::display_path(&sources.get(file).path)
        } else {
            String::new()
        },
        policy: policy.name.clone(),
        packet: json::packet(&t.packet),
        verdict: t.verdict.name(),
        possible: t.possible.iter().map(|v| v.name()).collect(),
        decided_by,
        steps: t
            .steps
            .iter()
            .map(|s| JsonStep {
                chains: s
                    .chain_path
                    .iter()
                    .map(|c| chain_name(policy, *c).to_string())
                    .collect(),
                index: s.rule.index,
                location: location(sources, s.span),
                matched: match s.matched {
                    Tri::Yes => "yes",
                    Tri::No => "no",
                    Tri::Maybe => "maybe",
                },
                decides: t.decided_by == Decider::Rule(s.rule),
            })
            .collect(),
    }
}

/// The trace document for a packet (for tests of this module).
#[cfg(test)]
fn trace_text(src: &str, packet: &str) -> String {
    let mut sources = SourceMap::new();
    let loader = crate::source::MemoryLoader::default().with("t.hw", src);
    let (policy, diags) = sema::load(std::path::Path::new("t.hw"), &loader, &mut sources);
    let policy = policy.unwrap_or_else(|| panic!("{diags:?}"));
    let p: crate::ir::Packet = parse_packet(packet).unwrap_or_else(|e| panic!("{e}"));
    human(&policy, &sources, &reference::trace(&policy, &p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deciding_rule_is_marked_and_the_policy_named() {
        let src =
            "chain output policy drop {\n  accept oface lo\n  accept udp 53 to 192.0.2.53\n}\n";
        let t = trace_text(src, "output udp uid 33 to 192.0.2.53 port 53 new");
        assert!(
            t.contains("verdict  accept, by the rule at t.hw:3:3"),
            "{t}"
        );
        assert!(t.contains("no match   accept oface lo"), "{t}");
        assert!(
            t.contains("match      accept udp 53 to 192.0.2.53  → accept"),
            "{t}"
        );
        let t = trace_text(src, "output tcp uid 33 to 192.0.2.53 port 80");
        assert!(t.contains("by the default policy of chain `output`"), "{t}");
        assert!(
            t.contains("end of chain `output`: its default policy drops"),
            "{t}"
        );
    }
}
