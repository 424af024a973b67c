//! Match modules (`-m NAME`): one place per module hwc models.
//!
//! A module hwc models turns each option into a typed test; an option of a
//! modelled module that the IR cannot say (`--tcp-flags`, `--ctproto`)
//! becomes an opaque test of its own, so the rest of the module stays
//! exact. A module hwc does not model at all (`recent`, `mac`, `addrtype`,
//! `set`, ...) is one opaque test holding its whole text. Nothing is
//! dropped: an opaque test keeps the rule sound for every question.

use super::lexer::Word;
use super::reader::Ctx;
use super::rule::{EvidenceKind, L4Field, ProtoUse, RuleBuilder};
use super::rule::{ModUse, Opt};
use super::values::{self, StateWord};
use crate::ir::{self, AddrSet, CtState, Family, OwnerRange, PortSet, RateLimit, Test};

/// The modules whose options hwc reads one by one.
pub(crate) fn is_modelled(module: &str) -> bool {
    matches!(
        module,
        "tcp"
            | "udp"
            | "sctp"
            | "icmp"
            | "icmp6"
            | "state"
            | "conntrack"
            | "multiport"
            | "iprange"
            | "owner"
            | "limit"
            | "comment"
    )
}

/// How many values `option` of `module` takes; `None` if the module has no
/// such option (as far as hwc knows).
pub(crate) fn arity(module: &str, option: &str) -> Option<usize> {
    let n = match (module, option) {
        (
            "tcp" | "udp" | "sctp",
            "--sport" | "--source-port" | "--dport" | "--destination-port",
        ) => 1,
        ("tcp", "--tcp-flags") => 2,
        ("tcp", "--syn") => 0,
        ("tcp", "--tcp-option") => 1,
        ("sctp", "--chunk-types") => 2,
        ("icmp", "--icmp-type") => 1,
        ("icmp6", "--icmpv6-type") => 1,
        ("state", "--state") => 1,
        (
            "conntrack",
            "--ctstate" | "--ctproto" | "--ctorigsrc" | "--ctorigdst" | "--ctreplsrc"
            | "--ctrepldst" | "--ctorigsrcport" | "--ctorigdstport" | "--ctreplsrcport"
            | "--ctrepldstport" | "--ctstatus" | "--ctexpire" | "--ctdir",
        ) => 1,
        (
            "multiport",
            "--sports" | "--source-ports" | "--dports" | "--destination-ports" | "--ports",
        ) => 1,
        ("iprange", "--src-range" | "--dst-range") => 1,
        (
            "owner",
            "--uid-owner" | "--gid-owner" | "--pid-owner" | "--sid-owner" | "--cmd-owner",
        ) => 1,
        ("owner", "--socket-exists" | "--suppl-groups") => 0,
        ("limit", "--limit" | "--limit-burst") => 1,
        ("comment", "--comment") => 1,
        _ => return None,
    };
    Some(n)
}

/// The protocol a protocol module belongs to.
fn module_proto(module: &str) -> Option<(u8, &'static str)> {
    Some(match module {
        "tcp" => (ir::dim::PROTO_TCP, "tcp"),
        "udp" => (ir::dim::PROTO_UDP, "udp"),
        "sctp" => (ir::dim::PROTO_SCTP, "sctp"),
        "icmp" => (ir::dim::PROTO_ICMP, "icmp"),
        "icmp6" => (ir::dim::PROTO_ICMPV6, "ipv6-icmp"),
        _ => return None,
    })
}

fn arg<'w>(words: &'w [Word], opt: &Opt) -> &'w str {
    words
        .get(opt.args.start)
        .map(|w| w.text.as_ref())
        .unwrap_or("")
}

fn arg_span(cx: &Ctx, words: &[Word], opt: &Opt) -> crate::source::Span {
    match words.get(opt.args.start) {
        Some(w) if !opt.args.is_empty() => cx.word_span(w),
        _ => opt.span,
    }
}

/// An option hwc cannot model: an opaque test with the module's name.
fn opaque_opt(cx: &Ctx, rb: &mut RuleBuilder, m: &ModUse, opt: &Opt) {
    let text = format!("-m {} {}", m.module, cx.slice(opt.span));
    rb.push(Test::Opaque(text), false, opt.span);
}

/// Reports a value that does not parse; the rule is left out.
fn bad_value(
    cx: &mut Ctx,
    rb: &mut RuleBuilder,
    words: &[Word],
    opt: &Opt,
    msg: String,
    help: &str,
) {
    let span = arg_span(cx, words, opt);
    cx.syntax(span, msg, "invalid value", help);
    rb.failed = true;
}

/// An option the kernel does not let `!` negate.
fn no_negation(cx: &mut Ctx, rb: &mut RuleBuilder, words: &[Word], opt: &Opt) -> bool {
    let Some(bang) = opt.neg else { return false };
    let name = &words[opt.name].text;
    cx.syntax(
        bang,
        format!("`{name}` cannot be negated"),
        "iptables has no `!` for this option",
        "remove the `!`",
    );
    rb.failed = true;
    true
}

pub(crate) fn translate(cx: &mut Ctx, m: &ModUse, words: &[Word], rb: &mut RuleBuilder) {
    if m.opaque {
        rb.push(Test::Opaque(cx.slice(m.span).to_string()), false, m.span);
        return;
    }
    match m.module.as_str() {
        "tcp" | "udp" | "sctp" => ports_module(cx, m, words, rb),
        "icmp" | "icmp6" => icmp_module(cx, m, words, rb),
        "state" | "conntrack" => state_module(cx, m, words, rb),
        "multiport" => multiport(cx, m, words, rb),
        "iprange" => iprange(cx, m, words, rb),
        "owner" => owner(cx, m, words, rb),
        "limit" => limit(cx, m, words, rb),
        "comment" => comment(cx, m, words, rb),
        _ => {
            rb.push(Test::Opaque(cx.slice(m.span).to_string()), false, m.span);
        }
    }
}

/// The kernel loads `-m tcp` only for `-p tcp` (not negated); the same for
/// udp, sctp, icmp and icmp6.
fn require_proto(cx: &mut Ctx, m: &ModUse, rb: &mut RuleBuilder, proto: u8, name: &str) -> bool {
    if let Some(ProtoUse {
        proto: Some(p),
        negated: false,
        ..
    }) = rb.proto
    {
        if p == proto {
            return true;
        }
    }
    cx.syntax(
        m.head,
        format!("`-m {}` needs `-p {name}`", m.module),
        format!("only valid for protocol {name}"),
        format!("add `-p {name}` to the rule; iptables refuses this module for other protocols"),
    );
    rb.failed = true;
    false
}

fn ports_module(cx: &mut Ctx, m: &ModUse, words: &[Word], rb: &mut RuleBuilder) {
    let Some((proto, name)) = module_proto(&m.module) else {
        return;
    };
    if !require_proto(cx, m, rb, proto, name) {
        return;
    }
    for opt in &m.opts {
        let field = match words[opt.name].text.as_ref() {
            "--sport" | "--source-port" => L4Field::Sport,
            "--dport" | "--destination-port" => L4Field::Dport,
            _ => {
                opaque_opt(cx, rb, m, opt);
                continue;
            }
        };
        match values::parse_port_range(arg(words, opt)) {
            Ok(r) => rb.add_l4(proto, field(vec![r]), opt.neg.is_some(), opt.span),
            Err(msg) => bad_value(
                cx,
                rb,
                words,
                opt,
                msg,
                "write a port number or a range `FIRST:LAST`",
            ),
        }
    }
}

fn icmp_module(cx: &mut Ctx, m: &ModUse, words: &[Word], rb: &mut RuleBuilder) {
    let Some((proto, name)) = module_proto(&m.module) else {
        return;
    };
    let v6 = m.module == "icmp6";
    rb.evidence(
        if v6 { Family::V6 } else { Family::V4 },
        m.head,
        EvidenceKind::IcmpModule,
    );
    if !require_proto(cx, m, rb, proto, name) {
        return;
    }
    for opt in &m.opts {
        let option = words[opt.name].text.as_ref();
        if option != "--icmp-type" && option != "--icmpv6-type" {
            opaque_opt(cx, rb, m, opt);
            continue;
        }
        match values::parse_icmp_type(arg(words, opt), v6) {
            Ok(spec) => rb.add_l4(proto, L4Field::Icmp(spec), opt.neg.is_some(), opt.span),
            Err(msg) => bad_value(
                cx,
                rb,
                words,
                opt,
                msg,
                if v6 {
                    "write an ICMPv6 type number, `TYPE/CODE`, or a name such as `echo-request`"
                } else {
                    "write an ICMP type number, `TYPE/CODE`, or a name such as `echo-request`"
                },
            ),
        }
    }
}

fn state_module(cx: &mut Ctx, m: &ModUse, words: &[Word], rb: &mut RuleBuilder) {
    for opt in &m.opts {
        let option = words[opt.name].text.as_ref();
        if option != "--state" && option != "--ctstate" {
            opaque_opt(cx, rb, m, opt);
            continue;
        }
        let parsed = match values::parse_states(arg(words, opt)) {
            Ok(p) => p,
            Err(msg) => {
                bad_value(
                    cx,
                    rb,
                    words,
                    opt,
                    msg,
                    "states are NEW, ESTABLISHED, RELATED, INVALID and UNTRACKED, separated by commas",
                );
                continue;
            }
        };
        if parsed.contains(&StateWord::Nat) {
            if option == "--state" {
                bad_value(
                    cx,
                    rb,
                    words,
                    opt,
                    "`SNAT` and `DNAT` are states of `-m conntrack --ctstate`, not of `-m state`"
                        .to_string(),
                    "use `-m conntrack --ctstate` for the virtual NAT states",
                );
            } else {
                // The virtual NAT states have no coordinate in the IR.
                opaque_opt(cx, rb, m, opt);
            }
            continue;
        }
        let mut states: Vec<CtState> = parsed
            .into_iter()
            .filter_map(|s| match s {
                StateWord::State(s) => Some(s),
                StateWord::Nat => None,
            })
            .collect();
        states.sort();
        states.dedup();
        rb.push(Test::State(states), opt.neg.is_some(), opt.span);
    }
}

fn multiport(cx: &mut Ctx, m: &ModUse, words: &[Word], rb: &mut RuleBuilder) {
    let proto = match rb.proto {
        Some(ProtoUse {
            proto: Some(p),
            negated: false,
            ..
        }) if matches!(p, 6 | 17 | 33 | 132 | 136) => p,
        _ => {
            cx.syntax(
                m.head,
                "`-m multiport` needs `-p tcp`, `-p udp` or `-p sctp`",
                "no port protocol in this rule",
                "add the protocol with `-p`; iptables refuses multiport without it",
            );
            rb.failed = true;
            return;
        }
    };
    if !matches!(
        proto,
        ir::dim::PROTO_TCP | ir::dim::PROTO_UDP | ir::dim::PROTO_SCTP
    ) {
        // dccp and udplite ports are not packet coordinates of the IR.
        rb.push(Test::Opaque(cx.slice(m.span).to_string()), false, m.span);
        return;
    }
    for opt in &m.opts {
        let option = words[opt.name].text.as_ref();
        let list = match values::parse_port_list(arg(words, opt)) {
            Ok(l) if !l.is_empty() => l,
            Ok(_) => continue,
            Err(msg) => {
                if arity("multiport", option).is_some() {
                    bad_value(
                        cx,
                        rb,
                        words,
                        opt,
                        msg,
                        "write ports and ranges separated by commas, as in `80,443,8000:8080`",
                    );
                } else {
                    opaque_opt(cx, rb, m, opt);
                }
                continue;
            }
        };
        let negated = opt.neg.is_some();
        match option {
            "--sports" | "--source-ports" => {
                rb.add_l4(proto, L4Field::Sport(list), negated, opt.span)
            }
            "--dports" | "--destination-ports" => {
                rb.add_l4(proto, L4Field::Dport(list), negated, opt.span)
            }
            "--ports" => {
                rb.push(
                    Test::AnyPort(PortSet {
                        name: None,
                        ranges: list,
                    }),
                    negated,
                    opt.span,
                );
            }
            _ => opaque_opt(cx, rb, m, opt),
        }
    }
}

fn iprange(cx: &mut Ctx, m: &ModUse, words: &[Word], rb: &mut RuleBuilder) {
    for opt in &m.opts {
        let option = words[opt.name].text.as_ref();
        if option != "--src-range" && option != "--dst-range" {
            opaque_opt(cx, rb, m, opt);
            continue;
        }
        match values::parse_addr_range(arg(words, opt)) {
            Ok(r) => {
                let span = arg_span(cx, words, opt);
                rb.evidence(r.family, span, EvidenceKind::Address);
                let set = AddrSet {
                    name: None,
                    ranges: vec![r],
                };
                let test = if option == "--src-range" {
                    Test::Src(set)
                } else {
                    Test::Dst(set)
                };
                rb.push(test, opt.neg.is_some(), opt.span);
            }
            Err(msg) => bad_value(
                cx,
                rb,
                words,
                opt,
                msg,
                "write a range of addresses `FIRST-LAST`, as in `192.0.2.10-192.0.2.20`",
            ),
        }
    }
}

/// `--uid-owner 0`, `--uid-owner 1000-1999`, `--uid-owner www-data`.
fn owner_range(cx: &mut Ctx, uid: bool, s: &str) -> Result<OwnerRange, String> {
    let what = if uid { "uid" } else { "gid" };
    let num = |t: &str| -> Result<u32, String> {
        let v = values::parse_u32(t, what)?;
        if v == u32::MAX {
            return Err(format!("{what} `{t}` is not a valid id"));
        }
        Ok(v)
    };
    let numeric = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if numeric(s) {
        let v = num(s)?;
        return Ok(OwnerRange {
            lo: v,
            hi: v,
            host_name: None,
        });
    }
    if let Some((a, b)) = s.split_once('-') {
        if numeric(a) && numeric(b) {
            let (lo, hi) = (num(a)?, num(b)?);
            if lo > hi {
                return Err(format!("{what} range `{s}` ends before it starts"));
            }
            return Ok(OwnerRange {
                lo,
                hi,
                host_name: None,
            });
        }
    }
    if s.is_empty() || s.contains(char::is_whitespace) {
        return Err(format!("`{s}` is not a {what} or a name"));
    }
    let id = ir::symbolic_id(cx.owner_name_index(uid, s));
    Ok(OwnerRange {
        lo: id,
        hi: id,
        host_name: Some(s.to_string()),
    })
}

fn owner(cx: &mut Ctx, m: &ModUse, words: &[Word], rb: &mut RuleBuilder) {
    let suppl = m
        .opts
        .iter()
        .any(|o| words[o.name].text == "--suppl-groups");
    for opt in &m.opts {
        let option = words[opt.name].text.as_ref();
        let uid = match option {
            "--uid-owner" => true,
            // With `--suppl-groups` the gid test also looks at the
            // supplementary groups, which the IR does not know.
            "--gid-owner" if !suppl => false,
            "--suppl-groups" if m.opts.iter().any(|o| words[o.name].text == "--gid-owner") => {
                continue
            }
            "--gid-owner" => {
                let text = format!("-m owner {} --suppl-groups", cx.slice(opt.span));
                rb.push(Test::Opaque(text), false, opt.span);
                continue;
            }
            _ => {
                opaque_opt(cx, rb, m, opt);
                continue;
            }
        };
        match owner_range(cx, uid, arg(words, opt)) {
            Ok(r) => {
                let test = if uid {
                    Test::Uid(vec![r])
                } else {
                    Test::Gid(vec![r])
                };
                rb.push(test, opt.neg.is_some(), opt.span);
            }
            Err(msg) => bad_value(
                cx,
                rb,
                words,
                opt,
                msg,
                "write a number, a range `FIRST-LAST`, or a user or group name",
            ),
        }
    }
}

fn limit(cx: &mut Ctx, m: &ModUse, words: &[Word], rb: &mut RuleBuilder) {
    let mut l: RateLimit = values::default_limit();
    for opt in &m.opts {
        if no_negation(cx, rb, words, opt) {
            continue;
        }
        match words[opt.name].text.as_ref() {
            "--limit" => match values::parse_rate(arg(words, opt)) {
                Ok((rate, per)) => {
                    l.rate = rate;
                    l.per_seconds = per;
                }
                Err(msg) => bad_value(
                    cx,
                    rb,
                    words,
                    opt,
                    msg,
                    "write a rate like `3/minute` (units: second, minute, hour, day)",
                ),
            },
            "--limit-burst" => match values::parse_u32(arg(words, opt), "burst size") {
                Ok(b) => l.burst = Some(b),
                Err(msg) => bad_value(cx, rb, words, opt, msg, "write the burst as a number"),
            },
            _ => opaque_opt(cx, rb, m, opt),
        }
    }
    rb.push(Test::Limit(l), false, m.span);
}

fn comment(cx: &mut Ctx, m: &ModUse, words: &[Word], rb: &mut RuleBuilder) {
    for opt in &m.opts {
        if no_negation(cx, rb, words, opt) {
            continue;
        }
        if words[opt.name].text != "--comment" {
            opaque_opt(cx, rb, m, opt);
            continue;
        }
        let text = arg(words, opt);
        rb.comment = Some(match rb.comment.take() {
            Some(prev) => format!("{prev}; {text}"),
            None => text.to_string(),
        });
    }
}
