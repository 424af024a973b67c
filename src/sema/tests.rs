//! Unit tests of the checker and lowering, on ASTs built in Rust.

use super::lower_items;
use crate::diagnostics::{Diagnostic, Severity};
use crate::ir::{self, Test};
use crate::source::{FileId, Span, Spanned};
use crate::syntax::ast::*;
use std::cell::Cell;
use std::net::IpAddr;

thread_local!(static NEXT: Cell<usize> = const { Cell::new(0) });

/// A fresh span, distinct from every other span of the test.
fn sp() -> Span {
    NEXT.with(|n| {
        let k = n.get();
        n.set(k + 1);
        Span::new(FileId(0), k * 10, k * 10 + 5)
    })
}

fn s<T>(node: T) -> Spanned<T> {
    Spanned::new(node, sp())
}

fn id(x: &str) -> Ident {
    s(x.to_string())
}

fn n(x: &str) -> Spanned<Value> {
    s(Value::Name(x.into()))
}

fn num(x: u64) -> Spanned<Value> {
    s(Value::Number(x))
}

fn nr(lo: u64, hi: u64) -> Spanned<Value> {
    s(Value::NumRange { lo, hi })
}

fn ip(x: &str) -> Spanned<Value> {
    let (a, p) = match x.split_once('/') {
        Some((a, p)) => (a, Some(p.parse().expect("prefix"))),
        None => (x, None),
    };
    s(Value::Cidr {
        addr: a.parse::<IpAddr>().expect("address"),
        prefix: p,
    })
}

fn ar(lo: &str, hi: &str) -> Spanned<Value> {
    s(Value::AddrRange {
        lo: lo.parse().expect("address"),
        hi: hi.parse().expect("address"),
    })
}

fn st(x: &str) -> Spanned<Value> {
    s(Value::Str(x.into()))
}

fn uid(lo: u64, hi: u64) -> Spanned<Value> {
    s(Value::Id {
        kind: IdKind::Uid,
        lo,
        hi,
    })
}

fn gid(lo: u64, hi: u64) -> Spanned<Value> {
    s(Value::Id {
        kind: IdKind::Gid,
        lo,
        hi,
    })
}

fn svc(p: Proto, args: Vec<Spanned<Value>>) -> Spanned<Value> {
    s(Value::Service { proto: s(p), args })
}

fn def(kind: DefKind, name: &str, values: Vec<Spanned<Value>>) -> Item {
    Item::Def(Def {
        annotations: vec![],
        kind: s(kind),
        name: id(name),
        values,
        span: sp(),
    })
}

fn policy(name: &str, family: &str) -> Item {
    Item::Policy(PolicyDecl {
        name: id(name),
        settings: vec![s(Setting::Family(id(family)))],
        span: sp(),
    })
}

fn chain(name: &str, policy: Option<Verdict>, rules: Vec<RuleDecl>) -> Item {
    Item::Chain(ChainDecl {
        annotations: vec![],
        name: id(name),
        policy: policy.map(s),
        rules,
        span: sp(),
    })
}

fn rule(action: Action, matches: Vec<Spanned<MatchExpr>>) -> RuleDecl {
    RuleDecl {
        annotations: vec![],
        action: s(action),
        matches,
        span: sp(),
    }
}

fn accept(matches: Vec<Spanned<MatchExpr>>) -> RuleDecl {
    rule(Action::Accept, matches)
}

fn m(kind: MatchKind) -> Spanned<MatchExpr> {
    s(MatchExpr { not: None, kind })
}

fn not(kind: MatchKind) -> Spanned<MatchExpr> {
    s(MatchExpr {
        not: Some(sp()),
        kind,
    })
}

fn proto(p: Proto, args: Vec<Spanned<Value>>) -> MatchKind {
    MatchKind::Proto { proto: s(p), args }
}

fn state(words: &[&str]) -> MatchKind {
    MatchKind::State(words.iter().map(|w| id(w)).collect())
}

fn allow(names: &[&str]) -> Annotation {
    Annotation {
        allow: names.iter().map(|w| id(w)).collect(),
        span: sp(),
    }
}

fn assertion(kind: AssertKind, chain: &str, matches: Vec<Spanned<MatchExpr>>) -> Item {
    Item::Assert(AssertDecl {
        kind: s(kind),
        chain: id(chain),
        matches,
        span: sp(),
    })
}

fn egress(selector: Spanned<MatchExpr>, entries: Vec<Vec<Spanned<MatchExpr>>>) -> Item {
    Item::Egress(EgressDecl {
        annotations: vec![],
        selector,
        entries: entries
            .into_iter()
            .map(|matches| EgressEntry {
                matches,
                span: sp(),
            })
            .collect(),
        span: sp(),
    })
}

fn limit(rate: u64, unit: RateUnit, burst: Option<u64>) -> MatchKind {
    MatchKind::Limit {
        rate: s(rate),
        unit: s(unit),
        burst: burst.map(s),
    }
}

fn lower(items: Vec<Item>) -> (Option<ir::Policy>, Vec<Diagnostic>) {
    lower_items(&items, "test", FileId(0))
}

/// Every diagnostic has a primary label with text, and every error a help.
fn well_formed(d: &Diagnostic) {
    let primary: Vec<_> = d.labels.iter().filter(|l| l.primary).collect();
    assert_eq!(primary.len(), 1, "{d:?}");
    assert!(
        !primary[0].message.is_empty(),
        "primary label without text: {d:?}"
    );
    assert!(d.help.is_some(), "no help: {d:?}");
    assert!(!d.message.is_empty() && !d.message.ends_with('.'), "{d:?}");
    assert!(
        d.message.chars().next().is_some_and(|c| !c.is_uppercase()),
        "{d:?}"
    );
}

/// Lowers `items`, expects exactly the error codes `expect` (in order of
/// their spans) and no policy; returns the errors.
fn errors(items: Vec<Item>, expect: &[&str]) -> Vec<Diagnostic> {
    let (p, diags) = lower(items);
    let errs: Vec<Diagnostic> = diags.into_iter().filter(Diagnostic::is_error).collect();
    let codes: Vec<&str> = errs.iter().map(|d| d.code).collect();
    assert_eq!(codes, expect, "{errs:#?}");
    assert!(p.is_none());
    errs.iter().for_each(well_formed);
    errs
}

/// Lowers `items`, expects no error, returns the policy and warnings.
fn ok(items: Vec<Item>) -> (ir::Policy, Vec<Diagnostic>) {
    let (p, diags) = lower(items);
    assert!(!diags.iter().any(Diagnostic::is_error), "{diags:#?}");
    diags.iter().for_each(well_formed);
    (p.expect("a policy without errors"), diags)
}

fn input(rules: Vec<RuleDecl>) -> Item {
    chain("input", Some(Verdict::Drop), rules)
}

fn output(rules: Vec<RuleDecl>) -> Item {
    chain("output", Some(Verdict::Drop), rules)
}

fn conds(p: &ir::Policy, chain: &str, rule: usize) -> Vec<ir::Cond> {
    let c = p.chain(p.chain_id(chain).expect("chain"));
    c.rules[rule].matches.conds.clone()
}

fn l4(c: &ir::Cond) -> &[ir::L4] {
    match &c.test {
        Test::L4(alts) => alts,
        other => panic!("not an L4 test: {other:?}"),
    }
}

/// The example policy of LANGUAGE.md.
fn example() -> Vec<Item> {
    let log = || {
        rule(
            Action::Log(LogOpts {
                prefix: Some(s("INPUT ".to_string())),
                level: Some(id("warn")),
            }),
            vec![m(limit(10, RateUnit::Minute, Some(5)))],
        )
    };
    vec![
        policy("webserver", "inet"),
        def(DefKind::Host, "resolver", vec![ip("192.0.2.53")]),
        def(
            DefKind::Host,
            "timeserver",
            vec![ip("192.0.2.123"), ip("2001:db8::123")],
        ),
        def(DefKind::Net, "admins", vec![ip("198.51.100.0/24")]),
        def(
            DefKind::Service,
            "http",
            vec![svc(Proto::Tcp, vec![num(80)])],
        ),
        def(
            DefKind::Service,
            "dns",
            vec![
                svc(Proto::Udp, vec![num(53)]),
                svc(Proto::Tcp, vec![num(53)]),
            ],
        ),
        def(
            DefKind::Service,
            "ntp",
            vec![svc(Proto::Udp, vec![num(123)])],
        ),
        def(DefKind::User, "root", vec![uid(0, 0)]),
        def(DefKind::User, "web", vec![st("www-data")]),
        chain(
            "input",
            Some(Verdict::Drop),
            vec![
                accept(vec![m(MatchKind::Iface(vec![n("lo")]))]),
                accept(vec![m(proto(Proto::Icmp, vec![n("echo-request")]))]),
                accept(vec![m(state(&["established", "related"]))]),
                rule(Action::Drop, vec![m(state(&["invalid"]))]),
                accept(vec![
                    m(state(&["new"])),
                    m(MatchKind::Service(vec![id("http")])),
                ]),
                accept(vec![
                    m(state(&["new"])),
                    m(proto(Proto::Tcp, vec![num(22)])),
                    m(MatchKind::From(vec![n("admins")])),
                ]),
                log(),
            ],
        ),
        chain(
            "output",
            Some(Verdict::Drop),
            vec![
                accept(vec![m(MatchKind::Oface(vec![n("lo")]))]),
                accept(vec![m(state(&["established", "related"]))]),
                accept(vec![
                    m(state(&["new"])),
                    m(MatchKind::User(vec![n("root")])),
                ]),
                accept(vec![m(proto(Proto::Icmp, vec![n("echo-request")]))]),
                accept(vec![
                    m(MatchKind::Service(vec![id("dns")])),
                    m(MatchKind::To(vec![n("resolver")])),
                ]),
                accept(vec![
                    m(MatchKind::Service(vec![id("ntp")])),
                    m(MatchKind::To(vec![n("timeserver")])),
                ]),
                log(),
            ],
        ),
        chain("forward", Some(Verdict::Drop), vec![]),
        assertion(
            AssertKind::Deny,
            "input",
            vec![m(state(&["new"])), m(proto(Proto::Tcp, vec![num(23)]))],
        ),
        assertion(
            AssertKind::Allow,
            "input",
            vec![m(state(&["new"])), m(MatchKind::Service(vec![id("http")]))],
        ),
        egress(
            not(MatchKind::User(vec![n("root")])),
            vec![
                vec![
                    m(MatchKind::Service(vec![id("dns")])),
                    m(MatchKind::To(vec![n("resolver")])),
                ],
                vec![
                    m(MatchKind::Service(vec![id("ntp")])),
                    m(MatchKind::To(vec![n("timeserver")])),
                ],
            ],
        ),
    ]
}

#[test]
fn example_policy_lowers() {
    let (p, warnings) = ok(example());
    assert!(warnings.is_empty(), "{warnings:#?}");
    assert_eq!(p.name, "webserver");
    assert_eq!(p.family, ir::FamilySet::INET);
    let names: Vec<&str> = p.chains.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["input", "output", "forward"]);
    assert_eq!(p.chains[0].kind, ir::ChainKind::Base(ir::Hook::Input));
    assert_eq!(p.chains[2].policy, Some(ir::Verdict::Drop));
    let counts: Vec<usize> = p.chains.iter().map(|c| c.rules.len()).collect();
    assert_eq!(counts, [7, 7, 0]);

    // accept iface lo
    assert_eq!(
        conds(&p, "input", 0)[0].test,
        Test::Iif(vec![ir::Iface {
            name: "lo".into(),
            wildcard: false
        }])
    );
    // accept icmp echo-request
    let c = conds(&p, "input", 1);
    assert_eq!(l4(&c[0])[0].proto, 1);
    assert_eq!(
        l4(&c[0])[0].icmp,
        Some(vec![ir::IcmpSpec { ty: 8, code: None }])
    );
    // accept state new tcp 22 from admins
    let c = conds(&p, "input", 5);
    assert_eq!(c[0].test, Test::State(vec![ir::CtState::New]));
    assert_eq!(
        l4(&c[1])[0].dport.as_ref().map(|d| d.ranges.clone()),
        Some(vec![(22, 22)])
    );
    let Test::Src(admins) = &c[2].test else {
        panic!("{:?}", c[2]);
    };
    assert_eq!(admins.name.as_deref(), Some("admins"));
    assert_eq!(admins.ranges[0].as_prefix(), Some(24));
    // log prefix "INPUT " level warn limit 10/minute burst 5
    let log = &p.chains[0].rules[6];
    assert_eq!(
        log.action,
        ir::Action::Log(ir::LogSpec {
            prefix: Some("INPUT ".into()),
            level: Some(ir::LogLevel::Warning),
            nflog: false
        })
    );
    assert_eq!(
        log.matches.conds[0].test,
        Test::Limit(ir::RateLimit {
            rate: 10,
            per_seconds: 60,
            burst: Some(5)
        })
    );
    // accept state new user root
    let c = conds(&p, "output", 2);
    assert_eq!(
        c[1].test,
        Test::Uid(vec![ir::OwnerRange {
            lo: 0,
            hi: 0,
            host_name: None
        }])
    );
    // accept service dns to resolver
    let c = conds(&p, "output", 4);
    let alts = l4(&c[0]);
    assert_eq!(alts.len(), 2);
    assert_eq!((alts[0].proto, alts[1].proto), (17, 6));
    assert!(alts.iter().all(|a| a.service.as_deref() == Some("dns")));
    // to timeserver holds both families
    let c = conds(&p, "output", 5);
    let Test::Dst(ts) = &c[1].test else {
        panic!("{:?}", c[1]);
    };
    assert_eq!(ts.ranges.len(), 2);

    assert_eq!(p.assertions.len(), 2);
    assert_eq!(p.assertions[0].kind, ir::AssertKind::Deny);
    assert_eq!(p.assertions[0].chain, ir::ChainId(0));
    assert_eq!(p.egress.len(), 1);
    let sel = &p.egress[0].selector;
    assert!(sel.negated);
    assert_eq!(sel.owner_negation, ir::OwnerNegation::Nft);
    assert_eq!(p.egress[0].allowed.len(), 2);

    let used: Vec<(&str, bool)> = p
        .definitions
        .iter()
        .map(|d| (d.name.as_str(), d.used))
        .collect();
    assert_eq!(
        used,
        [
            ("resolver", true),
            ("timeserver", true),
            ("admins", true),
            ("http", true),
            ("dns", true),
            ("ntp", true),
            ("root", true),
            ("web", false),
        ]
    );
}

#[test]
fn unknown_name_suggests_a_close_one() {
    let errs = errors(
        vec![
            def(DefKind::Host, "resolver", vec![ip("192.0.2.53")]),
            output(vec![accept(vec![m(MatchKind::To(vec![n("resolvr")]))])]),
        ],
        &["unknown-name"],
    );
    assert_eq!(errs[0].help.as_deref(), Some("did you mean `resolver`?"));
    assert_eq!(errs[0].labels.len(), 2);
}

#[test]
fn duplicate_definition_labels_both() {
    let errs = errors(
        vec![
            def(DefKind::Host, "a", vec![ip("192.0.2.1")]),
            def(DefKind::Net, "a", vec![ip("192.0.2.0/24")]),
        ],
        &["duplicate-definition"],
    );
    assert_eq!(errs[0].labels.len(), 2);
}

#[test]
fn wrong_kind_says_what_it_is() {
    let errs = errors(
        vec![
            def(
                DefKind::Service,
                "http",
                vec![svc(Proto::Tcp, vec![num(80)])],
            ),
            def(DefKind::List, "ports", vec![num(80), nr(8000, 8080)]),
            input(vec![
                accept(vec![m(MatchKind::From(vec![n("http")]))]),
                accept(vec![m(MatchKind::From(vec![n("ports")]))]),
                accept(vec![m(MatchKind::Service(vec![id("ports")]))]),
            ]),
        ],
        &["wrong-kind", "wrong-kind", "wrong-kind"],
    );
    assert!(
        errs[0].message.contains("`http` is a service"),
        "{}",
        errs[0].message
    );
    assert!(
        errs[1].message.contains("a list of ports"),
        "{}",
        errs[1].message
    );
    assert_eq!(errs[0].labels.len(), 2);
}

#[test]
fn iface_word_that_names_another_kind_is_an_error() {
    let errs = errors(
        vec![
            def(DefKind::Host, "lo", vec![ip("127.0.0.1")]),
            input(vec![accept(vec![m(MatchKind::Iface(vec![n("lo")]))])]),
        ],
        &["wrong-kind"],
    );
    assert!(errs[0]
        .help
        .as_deref()
        .is_some_and(|h| h.contains("\"lo\"")));
}

#[test]
fn chains_duplicate_and_unknown() {
    errors(
        vec![
            chain("web", None, vec![]),
            chain("web", None, vec![]),
            input(vec![
                rule(Action::Jump(id("wbe")), vec![]),
                rule(Action::Goto(id("nope")), vec![]),
            ]),
            assertion(AssertKind::Allow, "inptu", vec![]),
        ],
        &[
            "duplicate-chain",
            "unknown-chain",
            "unknown-chain",
            "unknown-chain",
        ],
    );
}

#[test]
fn definition_cycle_shows_the_path() {
    let errs = errors(
        vec![
            def(DefKind::Host, "a", vec![n("b")]),
            def(DefKind::Host, "b", vec![ip("192.0.2.1"), n("c")]),
            def(DefKind::List, "c", vec![n("a")]),
            def(DefKind::Host, "d", vec![n("d")]),
        ],
        &["definition-cycle", "definition-cycle"],
    );
    let cycle = errs
        .iter()
        .find(|d| d.message.contains("`a` → `b`"))
        .expect("a-b-c cycle");
    assert!(
        cycle.message.ends_with("`a` → `b` → `c` → `a`"),
        "{}",
        cycle.message
    );
    assert_eq!(cycle.labels.len(), 3);
}

#[test]
fn ports_need_a_port_protocol() {
    errors(
        vec![input(vec![
            accept(vec![m(MatchKind::Dport(vec![num(80)]))]),
            accept(vec![
                m(proto(Proto::Icmp, vec![])),
                m(MatchKind::Sport(vec![num(80)])),
            ]),
            accept(vec![m(proto(Proto::Number(47), vec![num(80)]))]),
            accept(vec![
                not(proto(Proto::Tcp, vec![])),
                m(MatchKind::Dport(vec![num(80)])),
            ]),
        ])],
        &[
            "port-without-protocol",
            "port-without-protocol",
            "port-without-protocol",
            "port-without-protocol",
        ],
    );
}

#[test]
fn port_ranges_are_checked() {
    errors(
        vec![
            def(DefKind::List, "p", vec![num(65536)]),
            input(vec![
                accept(vec![m(proto(Proto::Tcp, vec![nr(90, 80)]))]),
                accept(vec![m(proto(Proto::Udp, vec![nr(1, 70000)]))]),
            ]),
        ],
        &["out-of-range", "bad-range", "out-of-range"],
    );
}

#[test]
fn icmp_types_of_the_wrong_family_or_unknown() {
    let errs = errors(
        vec![input(vec![
            accept(vec![m(proto(
                Proto::Icmp,
                vec![n("neighbour-solicitation")],
            ))]),
            accept(vec![m(proto(Proto::Icmpv6, vec![n("source-quench")]))]),
            accept(vec![m(proto(Proto::Icmp, vec![n("echo-requst")]))]),
            accept(vec![m(proto(Proto::Icmp, vec![num(256)]))]),
        ])],
        &[
            "icmp-family",
            "icmp-family",
            "unknown-icmp-type",
            "out-of-range",
        ],
    );
    assert!(errs[0]
        .help
        .as_deref()
        .is_some_and(|h| h.contains("icmpv6 neighbour-solicitation")));
    assert_eq!(
        errs[2].help.as_deref(),
        Some("did you mean `echo-request`?")
    );
}

#[test]
fn icmp_names_lower_to_their_numbers() {
    let (p, _) = ok(vec![input(vec![
        accept(vec![m(proto(
            Proto::Icmpv6,
            vec![n("neighbour-solicitation"), n("packet-too-big")],
        ))]),
        accept(vec![m(proto(
            Proto::Icmp,
            vec![n("port-unreachable"), s(Value::TypeCode { ty: 3, code: 4 })],
        ))]),
    ])]);
    let c = conds(&p, "input", 0);
    assert_eq!(l4(&c[0])[0].proto, 58);
    assert_eq!(
        l4(&c[0])[0].icmp,
        Some(vec![
            ir::IcmpSpec {
                ty: 135,
                code: None
            },
            ir::IcmpSpec { ty: 2, code: None }
        ])
    );
    let c = conds(&p, "input", 1);
    assert_eq!(
        l4(&c[0])[0].icmp,
        Some(vec![
            ir::IcmpSpec {
                ty: 3,
                code: Some((3, 3))
            },
            ir::IcmpSpec {
                ty: 3,
                code: Some((4, 4))
            }
        ])
    );
}

#[test]
fn families_of_one_rule_must_meet() {
    errors(
        vec![input(vec![
            accept(vec![
                m(MatchKind::From(vec![ip("192.0.2.1")])),
                m(MatchKind::To(vec![ip("2001:db8::1")])),
            ]),
            accept(vec![
                m(proto(Proto::Icmpv6, vec![])),
                m(MatchKind::From(vec![ip("192.0.2.0/24")])),
            ]),
        ])],
        &["family-mismatch", "family-mismatch"],
    );
    // A mixed-family host is fine: the rule applies per family.
    ok(vec![
        def(
            DefKind::Host,
            "ts",
            vec![ip("192.0.2.123"), ip("2001:db8::123")],
        ),
        input(vec![accept(vec![
            m(MatchKind::From(vec![ip("192.0.2.1")])),
            m(MatchKind::To(vec![n("ts")])),
        ])]),
    ]);
    // A negated address does not restrict the family.
    ok(vec![input(vec![accept(vec![
        m(MatchKind::From(vec![ip("192.0.2.1")])),
        not(MatchKind::To(vec![ip("2001:db8::1")])),
    ])])]);
}

#[test]
fn owner_matches_only_in_output() {
    errors(
        vec![
            input(vec![accept(vec![m(MatchKind::User(vec![uid(0, 0)]))])]),
            chain(
                "forward",
                None,
                vec![accept(vec![not(MatchKind::Group(vec![gid(4, 4)]))])],
            ),
            output(vec![accept(vec![m(MatchKind::User(vec![uid(0, 0)]))])]),
        ],
        &["owner-outside-output", "owner-outside-output"],
    );
}

#[test]
fn owner_match_in_a_chain_reached_from_input_labels_the_jump() {
    let errs = errors(
        vec![
            chain(
                "web",
                None,
                vec![accept(vec![m(MatchKind::User(vec![uid(33, 33)]))])],
            ),
            input(vec![rule(Action::Jump(id("web")), vec![])]),
            output(vec![rule(Action::Jump(id("web")), vec![])]),
        ],
        &["owner-outside-output"],
    );
    assert_eq!(errs[0].labels.len(), 2);
    assert!(errs[0].labels[1]
        .message
        .contains("`input` packets enter `web`"));
    // Reached from output only: fine.
    ok(vec![
        chain(
            "web",
            None,
            vec![accept(vec![m(MatchKind::User(vec![uid(33, 33)]))])],
        ),
        output(vec![rule(Action::Jump(id("web")), vec![])]),
    ]);
}

#[test]
fn interfaces_where_the_packet_has_them() {
    errors(
        vec![
            input(vec![accept(vec![m(MatchKind::Oface(vec![n("eth0")]))])]),
            output(vec![accept(vec![m(MatchKind::Iface(vec![n("eth0")]))])]),
            chain(
                "forward",
                None,
                vec![accept(vec![
                    m(MatchKind::Iface(vec![n("eth0")])),
                    m(MatchKind::Oface(vec![s(Value::Wildcard("wg+".into()))])),
                ])],
            ),
        ],
        &["oface-in-input", "iface-in-output"],
    );
}

#[test]
fn interface_names_are_checked() {
    errors(
        vec![input(vec![
            accept(vec![m(MatchKind::Iface(vec![st("a-very-long-interface")]))]),
            accept(vec![m(MatchKind::Iface(vec![st("eth0/1")]))]),
            accept(vec![m(MatchKind::Iface(vec![st("")]))]),
        ])],
        &["invalid-iface", "invalid-iface", "invalid-iface"],
    );
    let (p, _) = ok(vec![input(vec![accept(vec![m(MatchKind::Iface(vec![
        st("eth+"),
        s(Value::Wildcard("wg+".into())),
    ]))])])]);
    assert_eq!(
        conds(&p, "input", 0)[0].test,
        Test::Iif(vec![
            ir::Iface {
                name: "eth".into(),
                wildcard: true
            },
            ir::Iface {
                name: "wg".into(),
                wildcard: true
            }
        ])
    );
}

#[test]
fn reject_reasons() {
    let reject = |r: &str| Action::Reject(Some(id(r)));
    errors(
        vec![input(vec![
            rule(
                reject("tcp-reset"),
                vec![m(proto(Proto::Udp, vec![num(53)]))],
            ),
            rule(reject("tcp-reset"), vec![]),
            rule(reject("icmp-port-unreachable"), vec![]),
            rule(reject("icmp-port-unreachble"), vec![]),
        ])],
        &[
            "tcp-reset-not-tcp",
            "tcp-reset-not-tcp",
            "reject-family",
            "unknown-reject-reason",
        ],
    );
    ok(vec![input(vec![
        rule(
            reject("tcp-reset"),
            vec![m(proto(Proto::Tcp, vec![num(113)]))],
        ),
        rule(
            reject("icmp-port-unreachable"),
            vec![m(MatchKind::From(vec![ip("192.0.2.0/24")]))],
        ),
        rule(
            reject("icmpv6-admin-prohibited"),
            vec![m(proto(Proto::Icmpv6, vec![]))],
        ),
        rule(Action::Reject(None), vec![]),
    ])]);
    errors(
        vec![
            policy("p", "ip6"),
            input(vec![rule(reject("icmp-host-prohibited"), vec![])]),
        ],
        &["reject-family"],
    );
}

#[test]
fn log_options() {
    let log = |prefix: &str, level: &str| {
        rule(
            Action::Log(LogOpts {
                prefix: Some(s(prefix.to_string())),
                level: Some(id(level)),
            }),
            vec![],
        )
    };
    errors(
        vec![input(vec![
            log("this prefix is longer than 29 ", "info"),
            log("ok", "loud"),
            log("tab\there", "4"),
        ])],
        &["log-prefix-too-long", "unknown-log-level", "invalid-string"],
    );
    let (p, _) = ok(vec![input(vec![log("exactly twenty-nine bytes ok ", "7")])]);
    let ir::Action::Log(spec) = &p.chains[0].rules[0].action else {
        panic!()
    };
    assert_eq!(spec.level, Some(ir::LogLevel::Debug));
}

#[test]
fn chain_structure_errors() {
    errors(
        vec![
            input(vec![rule(Action::Return, vec![])]),
            chain("web", Some(Verdict::Drop), vec![]),
            output(vec![rule(Action::Jump(id("input")), vec![])]),
            chain(
                "forward",
                None,
                vec![rule(Action::Goto(id("output")), vec![])],
            ),
        ],
        &[
            "return-outside-user-chain",
            "policy-on-user-chain",
            "jump-to-builtin",
            "jump-to-builtin",
        ],
    );
}

#[test]
fn chain_cycles_are_reported_with_their_path() {
    let errs = errors(
        vec![
            chain("a", None, vec![rule(Action::Jump(id("b")), vec![])]),
            chain("b", None, vec![rule(Action::Goto(id("c")), vec![])]),
            chain("c", None, vec![rule(Action::Jump(id("a")), vec![])]),
            chain("d", None, vec![rule(Action::Jump(id("d")), vec![])]),
            input(vec![rule(Action::Jump(id("a")), vec![])]),
        ],
        &["chain-cycle", "chain-cycle"],
    );
    let abc = errs
        .iter()
        .find(|d| d.message.contains("`a` → `b`"))
        .expect("cycle a-b-c");
    assert!(
        abc.message.ends_with("`a` → `b` → `c` → `a`"),
        "{}",
        abc.message
    );
    assert_eq!(abc.labels.len(), 3);
}

#[test]
fn addresses_are_checked() {
    errors(
        vec![
            def(DefKind::Net, "a", vec![ip("192.0.2.0/33")]),
            def(DefKind::Net, "b", vec![ip("2001:db8::/129")]),
            def(DefKind::Host, "c", vec![ar("192.0.2.20", "192.0.2.10")]),
            def(DefKind::Host, "d", vec![ar("192.0.2.1", "2001:db8::1")]),
            def(DefKind::Host, "e", vec![num(80)]),
        ],
        &[
            "prefix-too-long",
            "prefix-too-long",
            "bad-range",
            "bad-range",
            "wrong-value",
        ],
    );
    let (p, warnings) = ok(vec![input(vec![accept(vec![m(MatchKind::From(vec![
        ip("192.0.2.1/24"),
        ar("192.0.2.10", "192.0.2.20"),
    ]))])])]);
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].code, "host-bits-set");
    assert_eq!(warnings[0].severity, Severity::Warning);
    assert!(warnings[0]
        .help
        .as_deref()
        .is_some_and(|h| h.contains("`192.0.2.0/24`")));
    let Test::Src(set) = &conds(&p, "input", 0)[0].test else {
        panic!()
    };
    assert_eq!(set.ranges[0].lo, 0xC000_0200);
    assert_eq!(set.ranges[0].hi, 0xC000_02FF);
    assert_eq!(
        (set.ranges[1].lo, set.ranges[1].hi),
        (0xC000_020A, 0xC000_0214)
    );
}

#[test]
fn lists_hold_one_kind() {
    errors(
        vec![
            def(DefKind::List, "l", vec![ip("192.0.2.1"), num(80)]),
            def(DefKind::List, "ok", vec![num(80), nr(8000, 8080)]),
        ],
        &["mixed-list"],
    );
}

#[test]
fn policy_family_excludes_addresses() {
    let errs = errors(
        vec![
            policy("p", "ip"),
            def(DefKind::Host, "v6", vec![ip("2001:db8::1")]),
            input(vec![
                accept(vec![m(MatchKind::From(vec![ip("2001:db8::2")]))]),
                accept(vec![m(MatchKind::To(vec![n("v6")]))]),
                accept(vec![m(proto(Proto::Icmpv6, vec![]))]),
            ]),
        ],
        &["family-excluded", "family-excluded", "family-excluded"],
    );
    assert_eq!(errs[0].labels.len(), 2);
    // A mixed host in an `ip` policy is fine.
    ok(vec![
        policy("p", "ip"),
        def(
            DefKind::Host,
            "ts",
            vec![ip("192.0.2.1"), ip("2001:db8::1")],
        ),
        input(vec![accept(vec![m(MatchKind::To(vec![n("ts")]))])]),
    ]);
}

#[test]
fn policy_header_errors() {
    errors(
        vec![policy("p", "ipv4"), policy("q", "inet")],
        &["unknown-family", "duplicate-policy"],
    );
}

#[test]
fn allow_names_known_lints() {
    let errs = errors(
        vec![input(vec![RuleDecl {
            annotations: vec![allow(&["redundant", "shadowd"])],
            ..accept(vec![])
        }])],
        &["unknown-lint"],
    );
    assert!(errs[0]
        .help
        .as_deref()
        .is_some_and(|h| h.contains("did you mean `shadowed`")));
    let (p, _) = ok(vec![input(vec![RuleDecl {
        annotations: vec![allow(&["redundant"]), allow(&["shadowed", "redundant"])],
        ..accept(vec![])
    }])]);
    assert_eq!(p.chains[0].rules[0].allow, ["redundant", "shadowed"]);
}

#[test]
fn limits_comments_and_empty_lists() {
    errors(
        vec![input(vec![
            accept(vec![m(limit(0, RateUnit::Second, None))]),
            accept(vec![m(limit(10_001, RateUnit::Second, None))]),
            accept(vec![m(limit(5, RateUnit::Minute, Some(0)))]),
            accept(vec![not(MatchKind::Comment(s("x".to_string())))]),
            accept(vec![m(MatchKind::From(vec![]))]),
            accept(vec![
                m(MatchKind::Comment(s("a".to_string()))),
                m(MatchKind::Comment(s("b".to_string()))),
            ]),
        ])],
        &[
            "bad-limit",
            "bad-limit",
            "bad-limit",
            "negated-comment",
            "empty-list",
            "duplicate-comment",
        ],
    );
    let (p, _) = ok(vec![input(vec![accept(vec![
        m(limit(600_000, RateUnit::Minute, None)),
        m(MatchKind::Comment(s("hello".to_string()))),
    ])])]);
    assert_eq!(p.chains[0].rules[0].comment.as_deref(), Some("hello"));
}

#[test]
fn states_are_checked() {
    let errs = errors(
        vec![input(vec![accept(vec![m(state(&["new", "establised"]))])])],
        &["unknown-state"],
    );
    assert_eq!(errs[0].help.as_deref(), Some("did you mean `established`?"));
}

#[test]
fn owners_lower_to_ranges_and_symbolic_ids() {
    let (p, _) = ok(vec![
        def(DefKind::User, "web", vec![st("www-data")]),
        def(
            DefKind::User,
            "staff",
            vec![uid(1000, 1999), n("web"), st("backup")],
        ),
        output(vec![
            accept(vec![m(MatchKind::User(vec![n("staff")]))]),
            accept(vec![not(MatchKind::User(vec![st("www-data"), uid(0, 0)]))]),
            accept(vec![m(MatchKind::Group(vec![st("www-data")]))]),
        ]),
    ]);
    let www = ir::symbolic_id(0);
    let c = conds(&p, "output", 0);
    assert_eq!(
        c[0].test,
        Test::Uid(vec![
            ir::OwnerRange {
                lo: 1000,
                hi: 1999,
                host_name: None
            },
            ir::OwnerRange {
                lo: www,
                hi: www,
                host_name: Some("www-data".into())
            },
            ir::OwnerRange {
                lo: ir::symbolic_id(1),
                hi: ir::symbolic_id(1),
                host_name: Some("backup".into())
            },
        ])
    );
    let c = conds(&p, "output", 1);
    assert!(c[0].negated);
    assert_eq!(c[0].owner_negation, ir::OwnerNegation::Xt);
    let Test::Uid(r) = &c[0].test else { panic!() };
    assert_eq!(r[0].lo, www);
    let c = conds(&p, "output", 2);
    let Test::Gid(g) = &c[0].test else { panic!() };
    assert_eq!(g[0].lo, ir::symbolic_id(0));
    errors(
        vec![output(vec![
            accept(vec![m(MatchKind::User(vec![gid(4, 4)]))]),
            accept(vec![m(MatchKind::User(vec![num(0)]))]),
            accept(vec![m(MatchKind::User(vec![uid(0, 4_294_967_295)]))]),
            accept(vec![m(MatchKind::User(vec![st("bad name")]))]),
        ])],
        &[
            "wrong-value",
            "wrong-value",
            "out-of-range",
            "invalid-string",
        ],
    );
}

#[test]
fn ports_fold_into_the_protocol() {
    let (p, _) = ok(vec![
        def(
            DefKind::Service,
            "mixed",
            vec![svc(Proto::Udp, vec![]), svc(Proto::Icmp, vec![])],
        ),
        input(vec![
            accept(vec![
                m(proto(Proto::Tcp, vec![])),
                m(MatchKind::Dport(vec![num(22)])),
                m(MatchKind::Sport(vec![nr(1024, 65535)])),
            ]),
            accept(vec![
                m(MatchKind::Service(vec![id("mixed")])),
                m(MatchKind::Dport(vec![num(53)])),
            ]),
            accept(vec![
                m(proto(Proto::Tcp, vec![])),
                not(MatchKind::Dport(vec![num(22)])),
            ]),
            accept(vec![
                m(proto(Proto::Tcp, vec![nr(20, 30)])),
                m(MatchKind::Dport(vec![nr(25, 40)])),
            ]),
        ]),
    ]);
    let c = conds(&p, "input", 0);
    assert_eq!(c.len(), 1);
    let a = &l4(&c[0])[0];
    assert_eq!(
        a.dport.as_ref().map(|d| d.ranges.clone()),
        Some(vec![(22, 22)])
    );
    assert_eq!(
        a.sport.as_ref().map(|d| d.ranges.clone()),
        Some(vec![(1024, 65535)])
    );
    // The icmp alternative cannot have a destination port.
    let c = conds(&p, "input", 1);
    let alts = l4(&c[0]);
    assert_eq!(alts.len(), 1);
    assert_eq!(alts[0].proto, 17);
    assert_eq!(alts[0].service.as_deref(), Some("mixed"));
    // not dport 22: tcp and not (tcp dport 22).
    let c = conds(&p, "input", 2);
    assert_eq!(c.len(), 2);
    assert!(!c[0].negated && c[1].negated);
    assert_eq!(
        l4(&c[1])[0].dport.as_ref().map(|d| d.ranges.clone()),
        Some(vec![(22, 22)])
    );
    // tcp 20-30 dport 25-40: the intersection.
    let c = conds(&p, "input", 3);
    assert_eq!(
        l4(&c[0])[0].dport.as_ref().map(|d| d.ranges.clone()),
        Some(vec![(25, 30)])
    );
    errors(
        vec![input(vec![accept(vec![
            m(proto(Proto::Tcp, vec![num(80)])),
            m(MatchKind::Dport(vec![num(443)])),
        ])])],
        &["ports-never-match"],
    );
}

#[test]
fn services_merge_and_nest() {
    let (p, _) = ok(vec![
        def(DefKind::List, "webports", vec![num(80), num(443)]),
        def(
            DefKind::Service,
            "http",
            vec![svc(Proto::Tcp, vec![n("webports")])],
        ),
        def(
            DefKind::Service,
            "web",
            vec![
                n("http"),
                svc(Proto::Tcp, vec![nr(8000, 8080)]),
                svc(Proto::Number(47), vec![]),
            ],
        ),
        input(vec![accept(vec![m(MatchKind::Service(vec![id("web")]))])]),
    ]);
    let c = conds(&p, "input", 0);
    let alts = l4(&c[0]);
    assert_eq!(alts.len(), 2);
    assert_eq!(
        alts[0].dport.as_ref().map(|d| d.ranges.clone()),
        Some(vec![(80, 80), (443, 443), (8000, 8080)])
    );
    assert_eq!(alts[1].proto, 47);
    assert!(p.definitions.iter().all(|d| d.used));
}

#[test]
fn egress_blocks_lower() {
    let (p, _) = ok(vec![
        def(DefKind::Group, "staff", vec![gid(100, 199)]),
        egress(
            m(MatchKind::Group(vec![n("staff")])),
            vec![vec![m(proto(Proto::Tcp, vec![num(443)]))]],
        ),
        egress(not(MatchKind::User(vec![uid(0, 0)])), vec![]),
    ]);
    assert_eq!(p.egress.len(), 2);
    assert!(matches!(p.egress[0].selector.test, Test::Gid(_)));
    assert!(!p.egress[0].selector.negated);
    assert!(p.egress[1].selector.negated);
    assert!(p.egress[1].allowed.is_empty());
    errors(
        vec![egress(
            m(state(&["new"])),
            vec![vec![m(MatchKind::Iface(vec![n("eth0")]))]],
        )],
        &["bad-egress-selector", "iface-in-output"],
    );
}

#[test]
fn assertions_check_their_chain_context() {
    errors(
        vec![
            input(vec![]),
            assertion(
                AssertKind::Allow,
                "input",
                vec![m(MatchKind::User(vec![uid(0, 0)]))],
            ),
        ],
        &["owner-outside-output"],
    );
}

#[test]
fn used_propagates_through_definitions() {
    let (p, _) = ok(vec![
        def(DefKind::Host, "a", vec![ip("192.0.2.1")]),
        def(DefKind::Host, "b", vec![n("a")]),
        def(DefKind::Host, "c", vec![ip("192.0.2.3")]),
        def(DefKind::Host, "d", vec![n("c")]),
        input(vec![accept(vec![m(MatchKind::From(vec![n("b")]))])]),
    ]);
    let used: Vec<bool> = p.definitions.iter().map(|d| d.used).collect();
    assert_eq!(used, [true, true, false, false]);
}

#[test]
fn errors_in_unused_definitions_are_reported() {
    errors(
        vec![def(
            DefKind::Service,
            "s",
            vec![svc(Proto::Tcp, vec![num(70000)])],
        )],
        &["out-of-range"],
    );
}

#[test]
fn user_chains_lower_with_jumps() {
    let (p, _) = ok(vec![
        input(vec![rule(
            Action::Jump(id("web")),
            vec![m(proto(Proto::Tcp, vec![num(80)]))],
        )]),
        chain(
            "web",
            None,
            vec![rule(Action::Return, vec![]), accept(vec![])],
        ),
    ]);
    assert_eq!(p.chains[1].kind, ir::ChainKind::User);
    assert_eq!(p.chains[1].policy, None);
    assert_eq!(
        p.chains[0].rules[0].action,
        ir::Action::Jump(ir::ChainId(1))
    );
    // A missing policy on a built-in chain is accept.
    let (p, _) = ok(vec![chain("forward", None, vec![])]);
    assert_eq!(p.chains[0].policy, Some(ir::Verdict::Accept));
}

#[test]
fn ten_thousand_rules_are_fast() {
    let mut items = vec![
        def(DefKind::Net, "admins", vec![ip("198.51.100.0/24")]),
        def(
            DefKind::Service,
            "web",
            vec![svc(Proto::Tcp, vec![num(80), num(443)])],
        ),
    ];
    for i in 0..200 {
        items.push(def(
            DefKind::Host,
            &format!("h{i}"),
            vec![ip(&format!("10.0.{}.{}", i / 250, i % 250))],
        ));
    }
    let rules = (0..10_000)
        .map(|i| {
            accept(vec![
                m(state(&["new"])),
                m(proto(Proto::Tcp, vec![num(1000 + i % 5000)])),
                m(MatchKind::From(vec![
                    n(&format!("h{}", i % 200)),
                    n("admins"),
                ])),
                m(MatchKind::Service(vec![id("web")])),
            ])
        })
        .collect();
    items.push(input(rules));
    let start = std::time::Instant::now();
    let (p, _) = ok(items);
    let took = start.elapsed();
    assert_eq!(p.chains[0].rules.len(), 10_000);
    // Generous for unoptimised test builds; a release build takes a few ms.
    assert!(took.as_millis() < 1000, "took {took:?}");
}
