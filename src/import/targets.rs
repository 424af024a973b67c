//! Targets (`-j NAME`, `-g CHAIN`) and their options.
//!
//! ACCEPT, DROP, RETURN, REJECT, LOG and NFLOG map to IR actions. Targets
//! that never end a chain and only write state (MARK, CONNMARK, CT, ...)
//! become [`Action::Continue`]; targets whose verdict hwc cannot know
//! (NFQUEUE, NAT targets, unknown extensions) become [`Action::Opaque`].
//! A name that is a chain of the table is a jump (resolved by the reader
//! once all chains are known).

use super::lexer::Word;
use super::reader::Ctx;
use super::rule::{EvidenceKind, RuleBuilder};
use super::rule::{Opt, RawAction};
use super::values;
use crate::ir::{Action, Family, LogSpec};
use crate::source::Span;

/// Targets whose options hwc reads one by one.
pub(crate) fn has_option_table(name: &str) -> bool {
    matches!(
        name,
        "ACCEPT" | "DROP" | "RETURN" | "REJECT" | "LOG" | "NFLOG" | "ULOG"
    )
}

/// How many values `option` of `target` takes.
pub(crate) fn arity(target: &str, option: &str) -> Option<usize> {
    let n = match (target, option) {
        ("REJECT", "--reject-with") => 1,
        ("LOG", "--log-level" | "--log-prefix") => 1,
        (
            "LOG",
            "--log-tcp-sequence" | "--log-tcp-options" | "--log-ip-options" | "--log-uid"
            | "--log-macdecode",
        ) => 0,
        (
            "NFLOG",
            "--nflog-group" | "--nflog-prefix" | "--nflog-range" | "--nflog-size"
            | "--nflog-threshold",
        ) => 1,
        ("ULOG", "--ulog-nlgroup" | "--ulog-prefix" | "--ulog-cprange" | "--ulog-qthreshold") => 1,
        _ => return None,
    };
    Some(n)
}

pub(crate) fn options_help(target: &str) -> String {
    match target {
        "ACCEPT" | "DROP" | "RETURN" => format!("`{target}` takes no options"),
        "REJECT" => "`REJECT` takes `--reject-with REASON`".to_string(),
        "LOG" => "`LOG` takes `--log-prefix`, `--log-level` and the `--log-tcp-sequence`, `--log-tcp-options`, `--log-ip-options`, `--log-uid`, `--log-macdecode` flags".to_string(),
        "NFLOG" => "`NFLOG` takes `--nflog-group`, `--nflog-prefix`, `--nflog-range`, `--nflog-size` and `--nflog-threshold`".to_string(),
        _ => format!("see `man iptables-extensions` for the options of `{target}`"),
    }
}

pub(crate) fn reject_help(family: Family) -> &'static str {
    match family {
        Family::V4 => "IPv4 reasons: icmp-net-unreachable, icmp-host-unreachable, icmp-port-unreachable, icmp-proto-unreachable, icmp-net-prohibited, icmp-host-prohibited, icmp-admin-prohibited, tcp-reset",
        Family::V6 => "IPv6 reasons: icmp6-no-route, icmp6-adm-prohibited, icmp6-addr-unreachable, icmp6-port-unreachable, tcp-reset",
    }
}

/// What a target name that is not a chain does to the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Writes state or logs, then the next rule runs.
    NonTerminal,
    /// May end evaluation with a verdict hwc cannot know.
    MayDecide,
    Unknown,
}

pub(crate) fn classify(name: &str) -> Kind {
    match name {
        "MARK" | "CONNMARK" | "CLASSIFY" | "TCPMSS" | "CT" | "NOTRACK" | "DSCP" | "TOS" | "TTL"
        | "HL" | "ECN" | "CHECKSUM" | "TRACE" | "AUDIT" | "SECMARK" | "CONNSECMARK"
        | "IDLETIMER" | "LED" | "RATEEST" | "SET" | "TEE" | "TCPOPTSTRIP" | "HMARK" | "SNPT"
        | "DNPT" | "CLUSTERIP" | "LOG" | "NFLOG" | "ULOG" => Kind::NonTerminal,
        "NFQUEUE" | "QUEUE" | "DNAT" | "SNAT" | "MASQUERADE" | "REDIRECT" | "NETMAP"
        | "SYNPROXY" | "TARPIT" | "DELUDE" | "CHAOS" | "MIRROR" | "TPROXY" | "ACCEPT" | "DROP"
        | "REJECT" | "RETURN" => Kind::MayDecide,
        _ => Kind::Unknown,
    }
}

fn value<'w>(words: &'w [Word], opt: &Opt) -> Option<&'w Word<'w>> {
    words.get(opt.args.start).filter(|_| !opt.args.is_empty())
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn translate(
    cx: &mut Ctx,
    name: &Word,
    goto: bool,
    opts: &[Opt],
    words: &[Word],
    span: Span,
    has_options: bool,
    rb: &mut RuleBuilder,
) -> RawAction {
    for opt in opts {
        if let Some(bang) = opt.neg {
            cx.syntax(
                bang,
                format!("target option `{}` cannot be negated", words[opt.name].text),
                "`!` only negates matches",
                "remove the `!`",
            );
            rb.failed = true;
        }
    }
    if goto || !has_option_table(&name.text) {
        return RawAction::Named {
            name: name.text.to_string(),
            span: cx.word_span(name),
            goto,
            text: cx.slice(span).to_string(),
            has_options,
        };
    }
    let find = |option: &str| {
        opts.iter()
            .rev()
            .find(|o| words[o.name].text == option)
            .and_then(|o| value(words, o))
    };
    match name.text.as_ref() {
        "ACCEPT" => RawAction::Done(Action::Accept),
        "DROP" => RawAction::Done(Action::Drop),
        "RETURN" => RawAction::Done(Action::Return),
        "REJECT" => match find("--reject-with") {
            None => RawAction::Reject(None),
            Some(w) => {
                let wspan = cx.word_span(w);
                if let Some(f) = values::reject_with_family(&w.text) {
                    rb.evidence(f, wspan, EvidenceKind::RejectWith);
                }
                RawAction::Reject(Some((w.text.to_string(), wspan)))
            }
        },
        "LOG" => {
            let prefix = find("--log-prefix").map(|w| w.text.to_string());
            let level = match find("--log-level") {
                None => None,
                Some(w) => match values::parse_log_level(&w.text) {
                    Ok(l) => Some(l),
                    Err(msg) => {
                        cx.syntax(
                            cx.word_span(w),
                            msg,
                            "not a log level",
                            "log levels are 0 to 7 or emerg, alert, crit, err, warning, notice, info, debug",
                        );
                        rb.failed = true;
                        None
                    }
                },
            };
            RawAction::Done(Action::Log(LogSpec {
                prefix,
                level,
                nflog: false,
            }))
        }
        "NFLOG" | "ULOG" => {
            let key = if name.text == "NFLOG" {
                "--nflog-prefix"
            } else {
                "--ulog-prefix"
            };
            RawAction::Done(Action::Log(LogSpec {
                prefix: find(key).map(|w| w.text.to_string()),
                level: None,
                nflog: true,
            }))
        }
        _ => RawAction::Named {
            name: name.text.to_string(),
            span: cx.word_span(name),
            goto,
            text: cx.slice(span).to_string(),
            has_options,
        },
    }
}
