//! Checker and lowering tests on `.hw` text, through two helpers:
//! `check!(input, @expect)` loads the input and compares a compact
//! rendering of its diagnostics (an insta inline snapshot); `lower(input)`
//! returns the policy of a valid input for structural assertions.

use super::load;
use crate::diagnostics::{Diagnostic, Severity};
use crate::ir::{self, Test};
use crate::source::{MemoryLoader, SourceMap, Span};
use std::fmt::Write;
use std::path::Path;

/// The example policy of LANGUAGE.md.
const EXAMPLE: &str = r#"# examples/webserver.hw
policy webserver {
  family inet                       # ip | ip6 | inet (both; the default)
}

host resolver   = 192.0.2.53
host timeserver = 192.0.2.123, 2001:db8::123
net  admins     = 198.51.100.0/24

service http = tcp 80
service dns  = udp 53, tcp 53
service ntp  = udp 123

user root = uid 0
user web  = "www-data"              # a name, resolved on the host at load time

chain input policy drop {
  accept iface lo
  accept icmp echo-request
  accept state established, related
  drop   state invalid
  accept state new service http
  accept state new tcp 22 from admins
  log prefix "INPUT " level warn limit 10/minute burst 5
}

chain output policy drop {
  accept oface lo
  accept state established, related
  accept state new user root
  accept icmp echo-request
  accept service dns to resolver
  accept service ntp to timeserver
  log prefix "OUTPUT " level warn limit 10/minute burst 5
}

chain forward policy drop {}

# Intent, proven by `hwc check` (a failure prints a counterexample packet)
assert deny  input state new tcp 23
assert allow input state new service http
egress user not root only {
  service dns to resolver
  service ntp to timeserver
}
"#;

/// Loads `files` (the first is the root) from memory.
fn load_files(files: &[(&str, &str)]) -> (Option<ir::Policy>, Vec<Diagnostic>, SourceMap) {
    let mut loader = MemoryLoader::default();
    for (path, text) in files {
        loader = loader.with(*path, *text);
    }
    let mut sources = SourceMap::new();
    let (p, d) = load(Path::new(files[0].0), &loader, &mut sources);
    (p, d, sources)
}

fn at(sources: &SourceMap, sp: Span) -> String {
    let f = sources.get(sp.file);
    let (l, c) = f.line_col(sp.start);
    format!("{}:{l}:{c} `{}`", f.path.display(), f.slice(sp))
}

/// Every diagnostic: one primary label with text, a help line, a one-line
/// lowercase message.
fn well_formed(d: &Diagnostic) {
    let primary: Vec<_> = d.labels.iter().filter(|l| l.primary).collect();
    assert_eq!(primary.len(), 1, "{d:?}");
    assert!(
        !primary[0].message.is_empty(),
        "primary label without text: {d:?}"
    );
    assert!(d.help.is_some(), "no help: {d:?}");
    assert!(
        !d.message.contains('\n') && !d.message.ends_with('.'),
        "{d:?}"
    );
    assert!(
        d.message.chars().next().is_some_and(|c| !c.is_uppercase()),
        "{d:?}"
    );
}

/// The diagnostics of loading `files`, one block each; `ok` when there are
/// none. Checks that a policy comes back exactly when there is no error.
fn render_files(files: &[(&str, &str)]) -> String {
    let (p, diags, sources) = load_files(files);
    assert_eq!(p.is_some(), !diags.iter().any(Diagnostic::is_error));
    let mut out = String::new();
    for d in &diags {
        if d.code != "syntax" {
            well_formed(d);
        }
        let _ = writeln!(out, "{} {}: {}", d.severity.name(), d.code, d.message);
        for l in &d.labels {
            let mark = if l.primary { "^" } else { "-" };
            let _ = writeln!(out, "  {mark} {} {}", at(&sources, l.span), l.message);
        }
        if let Some(h) = &d.help {
            let _ = writeln!(out, "  help: {h}");
        }
    }
    if diags.is_empty() {
        out.push_str("ok\n");
    }
    out
}

fn render(input: &str) -> String {
    render_files(&[("t.hw", input)])
}

macro_rules! check {
    ($input:expr, @$expect:literal) => {
        insta::assert_snapshot!(render($input), @$expect)
    };
}

/// The policy of a valid input (warnings allowed).
fn lower(input: &str) -> (ir::Policy, Vec<Diagnostic>) {
    let (p, diags, _) = load_files(&[("t.hw", input)]);
    assert!(!diags.iter().any(Diagnostic::is_error), "{diags:#?}");
    (p.expect("a policy without errors"), diags)
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

fn dports(a: &ir::L4) -> Option<Vec<(u16, u16)>> {
    a.dport.as_ref().map(|d| d.ranges.clone())
}

#[test]
fn example_policy_lowers() {
    let (p, warnings) = lower(EXAMPLE);
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
    assert_eq!(dports(&l4(&c[1])[0]), Some(vec![(22, 22)]));
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
fn policy_name_defaults_to_the_file_stem() {
    let (p, _, _) = load_files(&[("dir/fw.hw", "chain forward policy drop {}\n")]);
    let p = p.expect("valid");
    assert_eq!(p.name, "fw");
    assert_eq!(p.family, ir::FamilySet::INET);
}

#[test]
fn unknown_name_suggests_a_close_one() {
    check!("host resolver = 192.0.2.53\nchain output {\n  accept udp 53 to resolvr\n}\n", @"
    error unknown-name: unknown name `resolvr`
      ^ t.hw:3:20 `resolvr` expected an address here
      - t.hw:1:6 `resolver` `resolver` is defined here
      help: did you mean `resolver`?
    ");
}

#[test]
fn duplicate_definition_labels_both() {
    check!("host a = 192.0.2.1\nnet a = 192.0.2.0/24\n", @"
    error duplicate-definition: `a` is defined twice
      ^ t.hw:2:5 `a` defined again here
      - t.hw:1:6 `a` `a` is first defined here as a host
      help: rename one of the two definitions, or merge their values into one
    ");
}

#[test]
fn wrong_kind_says_what_it_is_and_what_is_expected() {
    check!(
        "service http = tcp 80\nlist ports = 80, 8000-8080\nchain input {\n  accept from http\n  accept from ports\n  accept service ports\n}\n",
        @"
    error wrong-kind: `http` is a service, not an address
      ^ t.hw:4:15 `http` expected an address here
      - t.hw:1:9 `http` `http` is defined as a service here
      help: use the name of a `host`, `net` or a `list` of addresses here, or write the value itself
    error wrong-kind: `ports` is a list of ports, not an address
      ^ t.hw:5:15 `ports` expected an address here
      - t.hw:2:6 `ports` `ports` is defined as a list of ports here
      help: use the name of a `host`, `net` or a `list` of addresses here, or write the value itself
    error wrong-kind: `ports` is a list of ports, not a service
      ^ t.hw:6:18 `ports` expected a service here
      - t.hw:2:6 `ports` `ports` is defined as a list of ports here
      help: use the name of a `service` here, or write the value itself
    "
    );
}

#[test]
fn iface_word_that_names_another_kind_is_an_error() {
    check!("host lo = 127.0.0.1\nchain input {\n  accept iface lo\n}\n", @r#"
    error wrong-kind: `lo` is a host, not an interface
      ^ t.hw:3:16 `lo` expected an interface here
      - t.hw:1:6 `lo` `lo` is defined as a host here
      help: write `"lo"` to mean the interface named `lo`
    "#);
}

#[test]
fn chains_duplicate_and_unknown() {
    check!(
        "chain web {}\nchain web {}\nchain input {\n  jump wbe\n  goto nope\n}\nassert allow inptu tcp 80\n",
        @"
    error duplicate-chain: chain `web` is declared twice
      ^ t.hw:2:7 `web` declared again here
      - t.hw:1:7 `web` first declared here
      help: put all rules of a chain in one `chain` block, or rename one of them
    error unknown-chain: unknown chain `wbe`
      ^ t.hw:4:8 `wbe` no chain has this name
      help: did you mean `web`?
    error unknown-chain: unknown chain `nope`
      ^ t.hw:5:8 `nope` no chain has this name
      help: declare it with `chain nope { ... }`
    error unknown-chain: unknown chain `inptu`
      ^ t.hw:7:14 `inptu` no chain has this name
      help: did you mean `input`?
    "
    );
}

#[test]
fn definition_cycles_show_the_path() {
    check!(
        "host a = b\nhost b = 192.0.2.1, c\nlist c = a\nhost d = d\n",
        @"
    error definition-cycle: definitions refer to each other in a cycle: `a` → `b` → `c` → `a`
      ^ t.hw:3:10 `a` `c` refers back to `a` here
      - t.hw:1:10 `b` `a` refers to `b` here
      - t.hw:2:21 `c` `b` refers to `c` here
      help: a definition cannot contain itself; remove one of these references
    error definition-cycle: definitions refer to each other in a cycle: `d` → `d`
      ^ t.hw:4:10 `d` `d` refers back to `d` here
      help: a definition cannot contain itself; remove one of these references
    "
    );
}

#[test]
fn ports_need_a_port_protocol() {
    check!(
        "chain input {\n  accept dport 80\n  accept icmp sport 80\n  accept proto 47 dport 80\n  accept not tcp dport 80\n}\n",
        @"
    error port-without-protocol: `dport` in a rule without `tcp`, `udp` or `sctp`
      ^ t.hw:2:10 `dport 80` ports need a protocol that has ports
      help: add the protocol to the rule, e.g. `tcp dport ...`, or use a service
    error port-without-protocol: `sport` in a rule without `tcp`, `udp` or `sctp`
      ^ t.hw:3:15 `sport 80` ports need a protocol that has ports
      - t.hw:3:10 `icmp` this protocol has no ports
      help: add the protocol to the rule, e.g. `tcp sport ...`, or use a service
    error port-without-protocol: `dport` in a rule without `tcp`, `udp` or `sctp`
      ^ t.hw:4:19 `dport 80` ports need a protocol that has ports
      - t.hw:4:10 `proto 47` this protocol has no ports
      help: add the protocol to the rule, e.g. `tcp dport ...`, or use a service
    error port-without-protocol: `dport` in a rule without `tcp`, `udp` or `sctp`
      ^ t.hw:5:18 `dport 80` ports need a protocol that has ports
      - t.hw:5:10 `not tcp` a negated protocol does not say which protocol the packet has
      help: add the protocol to the rule, e.g. `tcp dport ...`, or use a service
    "
    );
}

#[test]
fn port_ranges_are_checked() {
    check!(
        "list p = 65536\nchain input {\n  accept tcp 90-80\n  accept udp 1-70000\n}\n",
        @"
    error out-of-range: port `65536` is out of range
      ^ t.hw:1:10 `65536` at most 65535
      help: valid values are 0 to 65535
    error bad-range: port range `90-80` is empty: it starts after it ends
      ^ t.hw:3:14 `90-80` the start is greater than the end
      help: write the smaller value first: `80-90`
    error out-of-range: port `1-70000` is out of range
      ^ t.hw:4:14 `1-70000` at most 65535
      help: valid values are 0 to 65535
    "
    );
}

#[test]
fn icmp_types_of_the_wrong_family_or_unknown() {
    check!(
        "chain input {\n  accept icmp neighbour-solicitation\n  accept icmpv6 source-quench\n  accept icmp echo-requst\n  accept icmp 256\n}\n",
        @"
    error icmp-family: `neighbour-solicitation` is an icmpv6 type, not an icmp type
      ^ t.hw:2:15 `neighbour-solicitation` not a type of `icmp` (IPv4)
      help: write `icmpv6 neighbour-solicitation` to match it in IPv6
    error icmp-family: `source-quench` is an icmp type, not an icmpv6 type
      ^ t.hw:3:17 `source-quench` not a type of `icmpv6` (IPv6)
      help: write `icmp source-quench` to match it in IPv4
    error unknown-icmp-type: unknown icmp type `echo-requst`
      ^ t.hw:4:15 `echo-requst` not an icmp type name
      help: did you mean `echo-request`?
    error out-of-range: icmp type `256` is out of range
      ^ t.hw:5:15 `256` at most 255
      help: valid values are 0 to 255
    "
    );
}

#[test]
fn icmp_names_lower_to_their_numbers() {
    let (p, _) = lower(
        "chain input {\n  accept icmpv6 neighbour-solicitation, packet-too-big, neighbor-advertisement\n  accept icmp port-unreachable, 3/4, any\n  accept icmp port-unreachable, 3/4\n}\n",
    );
    let spec = |ty, code: Option<u8>| ir::IcmpSpec {
        ty,
        code: code.map(|c| (c, c)),
    };
    let c = conds(&p, "input", 0);
    assert_eq!(l4(&c[0])[0].proto, 58);
    assert_eq!(
        l4(&c[0])[0].icmp,
        Some(vec![spec(135, None), spec(2, None), spec(136, None)])
    );
    // `any` is every type.
    assert_eq!(l4(&conds(&p, "input", 1)[0])[0].icmp, None);
    assert_eq!(
        l4(&conds(&p, "input", 2)[0])[0].icmp,
        Some(vec![spec(3, Some(3)), spec(3, Some(4))])
    );
}

#[test]
fn icmp_names_continue_an_icmp_entry_in_a_service() {
    let (p, _) = lower(
        "service nd = icmpv6 nd-router-solicit, nd-router-advert,\n  nd-neighbor-solicit, neighbour-advertisement, tcp 22\nservice echo-reply = udp 7\nservice ping = icmp echo-request, echo-reply\nchain input {\n  accept service nd\n  accept service ping\n}\n",
    );
    let c = conds(&p, "input", 0);
    let alts = l4(&c[0]);
    assert_eq!(alts.len(), 2);
    let types: Vec<u8> = alts[0].icmp.iter().flatten().map(|s| s.ty).collect();
    assert_eq!(types, [133, 134, 135, 136]);
    // A defined service of that name wins over the ICMP type name.
    let c = conds(&p, "input", 1);
    let protos: Vec<u8> = l4(&c[0]).iter().map(|a| a.proto).collect();
    assert_eq!(protos, [1, 17]);
    // An ICMPv6 name after an ICMP entry is still a family error.
    check!("service s = icmp echo-request, neighbour-solicitation\n", @"
    error icmp-family: `neighbour-solicitation` is an icmpv6 type, not an icmp type
      ^ t.hw:1:32 `neighbour-solicitation` not a type of `icmp` (IPv4)
      help: write `icmpv6 neighbour-solicitation` to match it in IPv6
    ");
}

#[test]
fn root_is_uid_zero_unless_defined() {
    let (p, _) = lower(
        "chain output {\n  accept user root\n  accept group root\n  accept user \"root\"\n}\negress user not root only {}\n",
    );
    let zero = |name: Option<&str>| {
        vec![ir::OwnerRange {
            lo: 0,
            hi: 0,
            host_name: name.map(String::from),
        }]
    };
    assert_eq!(conds(&p, "output", 0)[0].test, Test::Uid(zero(None)));
    assert_eq!(conds(&p, "output", 1)[0].test, Test::Gid(zero(None)));
    assert_eq!(
        conds(&p, "output", 2)[0].test,
        Test::Uid(zero(Some("root")))
    );
    assert_eq!(p.egress[0].selector.test, Test::Uid(zero(None)));
    let (p, _) = lower("user root = uid 1\nchain output {\n  accept user root\n}\n");
    let Test::Uid(r) = &conds(&p, "output", 0)[0].test else {
        panic!()
    };
    assert_eq!(r[0].lo, 1);
    check!("chain output {\n  accept user rot\n}\n", @"
    error unknown-name: unknown name `rot`
      ^ t.hw:2:15 `rot` expected a user here
      help: did you mean `root`?
    ");
}

#[test]
fn families_of_one_rule_must_meet() {
    check!(
        "host v4 = 192.0.2.1\nchain input {\n  accept from v4 to 2001:db8::1\n  accept icmpv6 from 192.0.2.0/24\n}\n",
        @"
    error family-mismatch: these matches have no address family in common, so they never match
      ^ t.hw:3:18 `to 2001:db8::1` this matches only IPv6 packets
      - t.hw:3:10 `from v4` this matches only IPv4 packets
      help: IPv4 and IPv6 packets are matched separately: write one rule per family, or use addresses of one family
    error family-mismatch: these matches have no address family in common, so they never match
      ^ t.hw:4:17 `from 192.0.2.0/24` this matches only IPv4 packets
      - t.hw:4:10 `icmpv6` this matches only IPv6 packets
      help: IPv4 and IPv6 packets are matched separately: write one rule per family, or use addresses of one family
    "
    );
    // A mixed-family host is fine (the rule applies per family), and so is
    // a negated address of the other family.
    check!(
        "host ts = 192.0.2.123, 2001:db8::123\nchain input {\n  accept from 192.0.2.1 to ts\n  accept from 192.0.2.1 not to 2001:db8::1\n}\n",
        @"ok"
    );
}

#[test]
fn owner_matches_only_in_output() {
    check!(
        "chain input {\n  accept user uid 0\n}\nchain forward {\n  accept not group gid 4\n}\nchain output {\n  accept user uid 0\n}\n",
        @"
    error owner-outside-output: `user` cannot match in the `input` chain
      ^ t.hw:2:10 `user uid 0` `input` packets have no local socket, so no owner to match
      help: match `user` and `group` only in `output`, or in chains that only `output` reaches
    error owner-outside-output: `group` cannot match in the `forward` chain
      ^ t.hw:5:10 `not group gid 4` `forward` packets have no local socket, so no owner to match
      help: match `user` and `group` only in `output`, or in chains that only `output` reaches
    "
    );
}

#[test]
fn owner_match_in_a_chain_reached_from_input_labels_the_jump() {
    check!(
        "chain web {\n  accept user uid 33\n}\nchain input {\n  jump web\n}\nchain output {\n  jump web\n}\n",
        @"
    error owner-outside-output: `user` cannot match in chain `web`, which `input` packets reach
      ^ t.hw:2:10 `user uid 33` `input` packets have no local socket, so no owner to match
      - t.hw:5:8 `web` `input` packets enter `web` through this jump
      help: match `user` and `group` only in `output`, or in chains that only `output` reaches
    "
    );
    // Reached from output only: fine.
    check!("chain web {\n  accept user uid 33\n}\nchain output {\n  jump web\n}\n", @"ok");
}

#[test]
fn interfaces_where_the_packet_has_them() {
    check!(
        "chain input {\n  accept oface eth0\n}\nchain output {\n  accept iface eth0\n}\nchain forward {\n  accept iface eth0 oface wg+\n}\n",
        @"
    error oface-in-input: `oface` cannot match in the `input` chain
      ^ t.hw:2:10 `oface eth0` packets delivered to this host have no output interface
      help: use `iface` to match the interface a packet arrives on
    error iface-in-output: `iface` cannot match in the `output` chain
      ^ t.hw:5:10 `iface eth0` locally generated packets have no input interface
      help: use `oface` to match the interface a packet leaves by
    "
    );
}

#[test]
fn interface_names_are_checked() {
    check!(
        "chain input {\n  accept iface \"a-very-long-interface\"\n  accept iface \"eth0/1\"\n  accept iface \"\"\n}\n",
        @r#"
    error invalid-iface: `"a-very-long-interface"` is not a valid interface name
      ^ t.hw:2:16 `"a-very-long-interface"` it is 21 bytes long; Linux allows at most 15
      help: write the name as `ip link` shows it; end it with `+` to match every name with that prefix
    error invalid-iface: `"eth0/1"` is not a valid interface name
      ^ t.hw:3:16 `"eth0/1"` interface names cannot contain `/`, `:`, spaces or control characters
      help: write the name as `ip link` shows it; end it with `+` to match every name with that prefix
    error invalid-iface: `""` is not a valid interface name
      ^ t.hw:4:16 `""` an interface name cannot be empty
      help: write the name as `ip link` shows it; end it with `+` to match every name with that prefix
    "#
    );
    let (p, _) =
        lower("iface vpn = wg+\nchain input {\n  accept iface \"eth+\", vpn, \"eth0.100\"\n}\n");
    let iface = |name: &str, wildcard| ir::Iface {
        name: name.into(),
        wildcard,
    };
    assert_eq!(
        conds(&p, "input", 0)[0].test,
        Test::Iif(vec![
            iface("eth", true),
            iface("wg", true),
            iface("eth0.100", false)
        ])
    );
}

#[test]
fn reject_reasons() {
    check!(
        "chain input {\n  reject tcp-reset udp 53\n  reject tcp-reset\n  reject icmp-port-unreachable\n  reject icmp-port-unreachble\n}\n",
        @"
    error tcp-reset-not-tcp: `reject tcp-reset` in a rule that does not match only tcp
      ^ t.hw:2:10 `tcp-reset` a tcp reset can only answer a tcp packet
      help: add `tcp` to the rule's matches (e.g. `reject tcp-reset tcp 113`), or use an icmp reason
    error tcp-reset-not-tcp: `reject tcp-reset` in a rule that does not match only tcp
      ^ t.hw:3:10 `tcp-reset` a tcp reset can only answer a tcp packet
      help: add `tcp` to the rule's matches (e.g. `reject tcp-reset tcp 113`), or use an icmp reason
    error reject-family: `icmp-port-unreachable` is an IPv4 reason, but this rule matches IPv6 packets
      ^ t.hw:4:10 `icmp-port-unreachable` only IPv4 packets can be answered this way
      help: use plain `reject` (the kernel answers each family with port-unreachable), or restrict the rule to IPv4 (e.g. with IPv4 addresses)
    error unknown-reject-reason: unknown reject reason `icmp-port-unreachble`
      ^ t.hw:5:10 `icmp-port-unreachble` not a reject reason
      help: did you mean `icmp-port-unreachable`?
    "
    );
    check!(
        "service ident = tcp 113\nchain input {\n  reject tcp-reset service ident\n  reject icmp-port-unreachable from 192.0.2.0/24\n  reject icmpv6-admin-prohibited icmpv6\n  reject\n}\n",
        @"ok"
    );
    check!(
        "policy p {\n  family ip6\n}\nchain input {\n  reject icmp-host-prohibited\n}\n",
        @"
    error reject-family: `icmp-host-prohibited` is an IPv4 reason, but this rule matches IPv6 packets
      ^ t.hw:5:10 `icmp-host-prohibited` only IPv4 packets can be answered this way
      - t.hw:2:3 `family ip6` the policy filters IPv6
      help: use plain `reject` (the kernel answers each family with port-unreachable), or restrict the rule to IPv4 (e.g. with IPv4 addresses)
    "
    );
}

#[test]
fn log_options() {
    check!(
        "chain input {\n  log prefix \"this prefix is longer than 29 \" level info\n  log prefix \"ok\" level loud\n  log prefix \"tab\there\"\n}\n",
        @r#"
    error log-prefix-too-long: log prefix is 30 bytes long; the kernel allows at most 29
      ^ t.hw:2:14 `"this prefix is longer than 29 "` too long
      help: shorten the prefix to 29 bytes or fewer
    error unknown-log-level: unknown log level `loud`
      ^ t.hw:3:25 `loud` not a syslog level
      help: use emerg, alert, crit, err, warn, notice, info, debug, or a number 0-7
    error invalid-string: a log prefix contains a control character
      ^ t.hw:4:14 `"tab	here"` a control character (such as a newline or a tab)
      help: use printable characters only
    "#
    );
    let (p, _) =
        lower("chain input {\n  log prefix \"exactly twenty-nine bytes ok \" level 7\n}\n");
    let ir::Action::Log(spec) = &p.chains[0].rules[0].action else {
        panic!("{:?}", p.chains[0].rules[0].action)
    };
    assert_eq!(spec.level, Some(ir::LogLevel::Debug));
    assert_eq!(spec.prefix.as_deref().map(str::len), Some(29));
}

#[test]
fn chain_structure_errors() {
    check!(
        "chain input {\n  return\n}\nchain web policy drop {}\nchain output {\n  jump input\n}\nchain forward {\n  goto output\n}\n",
        @"
    error return-outside-user-chain: `return` in the built-in chain `input`
      ^ t.hw:2:3 `return` `return` leaves a user chain for its caller
      help: a built-in chain has no caller; use `accept` or `drop`, or let the packet reach the chain's policy
    error policy-on-user-chain: user chain `web` cannot have a policy
      ^ t.hw:4:18 `drop` only built-in chains have a policy
      - t.hw:4:7 `web` a user chain, entered by `jump` or `goto`
      help: remove the policy; at its end a user chain returns to the chain that called it
    error jump-to-builtin: cannot jump to the built-in chain `input`
      ^ t.hw:6:8 `input` a built-in chain is entered by the kernel only
      - t.hw:1:7 `input` declared here
      help: move the shared rules into a user chain and jump to it from each place
    error jump-to-builtin: cannot jump to the built-in chain `output`
      ^ t.hw:9:8 `output` a built-in chain is entered by the kernel only
      - t.hw:5:7 `output` declared here
      help: move the shared rules into a user chain and jump to it from each place
    "
    );
}

#[test]
fn chain_cycles_are_reported_with_their_path() {
    check!(
        "chain a {\n  jump b\n}\nchain b {\n  goto c\n}\nchain c {\n  jump a\n}\nchain d {\n  jump d\n}\nchain input {\n  jump a\n}\n",
        @"
    error chain-cycle: chains call each other in a cycle: `a` → `b` → `c` → `a`
      ^ t.hw:8:8 `a` `c` calls `a` here, closing the cycle
      - t.hw:2:8 `b` `a` calls `b` here
      - t.hw:5:8 `c` `b` calls `c` here
      help: a chain cannot call itself, directly or through other chains (the kernel refuses such a ruleset); remove one of these jumps
    error chain-cycle: chains call each other in a cycle: `d` → `d`
      ^ t.hw:11:8 `d` `d` calls `d` here, closing the cycle
      help: a chain cannot call itself, directly or through other chains (the kernel refuses such a ruleset); remove one of these jumps
    "
    );
}

#[test]
fn addresses_are_checked() {
    check!(
        "net a = 192.0.2.0/33\nnet b = 2001:db8::/129\nhost c = 192.0.2.20-192.0.2.10\nhost d = 192.0.2.1-2001:db8::1\n",
        @"
    error prefix-too-long: prefix `/33` is too long for the IPv4 address `192.0.2.0`
      ^ t.hw:1:9 `192.0.2.0/33` IPv4 prefixes are at most /32
      help: use a prefix from /0 to /32
    error prefix-too-long: prefix `/129` is too long for the IPv6 address `2001:db8::`
      ^ t.hw:2:9 `2001:db8::/129` IPv6 prefixes are at most /128
      help: use a prefix from /0 to /128
    error bad-range: address range `192.0.2.20-192.0.2.10` is empty: it starts after it ends
      ^ t.hw:3:10 `192.0.2.20-192.0.2.10` the start is greater than the end
      help: write the smaller value first: `192.0.2.10-192.0.2.20`
    error bad-range: address range `192.0.2.1-2001:db8::1` mixes IPv4 and IPv6
      ^ t.hw:4:10 `192.0.2.1-2001:db8::1` `192.0.2.1` is IPv4 but `2001:db8::1` is IPv6
      help: both ends of a range must be of the same family
    "
    );
}

#[test]
fn host_bits_are_a_warning() {
    check!("chain input {\n  accept from 192.0.2.1/24, 2001:db8::1/32\n}\n", @"
    warning host-bits-set: `192.0.2.1/24` has host bits set
      ^ t.hw:2:15 `192.0.2.1/24` this is the network `192.0.2.0/24`
      help: write `192.0.2.0/24`; the bits after the prefix are ignored
    warning host-bits-set: `2001:db8::1/32` has host bits set
      ^ t.hw:2:29 `2001:db8::1/32` this is the network `2001:db8::/32`
      help: write `2001:db8::/32`; the bits after the prefix are ignored
    ");
    let (p, _) = lower("chain input {\n  accept from 192.0.2.1/24, 192.0.2.10-192.0.2.20\n}\n");
    let Test::Src(set) = &conds(&p, "input", 0)[0].test else {
        panic!()
    };
    assert_eq!(
        (set.ranges[0].lo, set.ranges[0].hi),
        (0xC000_0200, 0xC000_02FF)
    );
    assert_eq!(
        (set.ranges[1].lo, set.ranges[1].hi),
        (0xC000_020A, 0xC000_0214)
    );
}

#[test]
fn lists_hold_one_kind() {
    check!("list l = 192.0.2.1, 80\nlist ok = 80, 8000-8080\n@allow(unused)\nlist fine = ok\n", @"
    error mixed-list: list `l` mixes addresses and ports
      ^ t.hw:1:21 `80` this is a port
      - t.hw:1:10 `192.0.2.1` but this is an address
      help: a list holds either addresses or ports; split it into two lists
    ");
}

#[test]
fn policy_family_excludes_addresses() {
    check!(
        "policy p {\n  family ip\n}\nhost v6 = 2001:db8::1\nchain input {\n  accept from 2001:db8::2\n  accept to v6\n  accept icmpv6\n}\n",
        @"
    error family-excluded: the address `2001:db8::2` is IPv6 only, but policy `p` filters only IPv4
      ^ t.hw:6:15 `2001:db8::2` this can never match a packet the policy filters
      - t.hw:2:3 `family ip` the policy's family is set here
      help: remove it, or change the policy's `family` (`inet` filters IPv4 and IPv6)
    error family-excluded: `v6` is IPv6 only, but policy `p` filters only IPv4
      ^ t.hw:7:13 `v6` this can never match a packet the policy filters
      - t.hw:2:3 `family ip` the policy's family is set here
      help: remove it, or change the policy's `family` (`inet` filters IPv4 and IPv6)
    error family-excluded: `icmpv6` matches only IPv6 packets, but policy `p` filters only IPv4
      ^ t.hw:8:10 `icmpv6` this can never match a packet the policy filters
      - t.hw:2:3 `family ip` the policy's family is set here
      help: remove it, or change the policy's `family` (`inet` filters IPv4 and IPv6)
    "
    );
    // A mixed host in an `ip` policy is fine.
    check!(
        "policy p {\n  family ip\n}\nhost ts = 192.0.2.1, 2001:db8::1\nchain input {\n  accept to ts\n}\n",
        @"ok"
    );
}

#[test]
fn policy_header_errors() {
    check!(
        "policy p {\n  family ipv4\n}\npolicy q {\n  family inet\n  family ip\n}\n",
        @"
    error unknown-family: unknown family `ipv4`
      ^ t.hw:2:10 `ipv4` expected `ip`, `ip6` or `inet`
      help: use `ip` (IPv4), `ip6` (IPv6) or `inet` (both)
    error duplicate-policy: a second `policy` header
      ^ t.hw:4:8 `q` second policy header
      - t.hw:1:8 `p` the policy is declared here
      help: a policy has one header; merge the settings into the first one
    "
    );
}

#[test]
fn allow_names_known_lints() {
    check!("chain input {\n  @allow(redundant, shadowd)\n  accept\n}\n", @"
    error unknown-lint: unknown lint `shadowd` in `@allow`
      ^ t.hw:2:21 `shadowd` not a lint name
      help: did you mean `shadowed`? the lints are: shadowed, redundant, overlap, unreachable-chain, nonroot-egress, assertion-failed, ipv6-unfiltered, ipv6-nd-blocked, lockout, log-unlimited, default-accept, invalid-accepted, unused
    ");
    let (p, _) = lower(
        "@allow(unused)\nhost h = 192.0.2.1\n@allow(default-accept)\nchain input {\n  @allow(redundant)\n  @allow(shadowed, redundant)\n  accept\n}\n",
    );
    assert_eq!(p.chains[0].rules[0].allow, ["redundant", "shadowed"]);
    assert_eq!(p.chains[0].allow, ["default-accept"]);
    assert_eq!(p.definitions[0].allow, ["unused"]);
}

#[test]
fn limits_and_comments() {
    check!(
        "chain input {\n  accept limit 0/second\n  accept limit 10001/second\n  accept limit 5/minute burst 0\n  accept not comment \"x\"\n  accept comment \"a\" comment \"b\"\n}\n",
        @r#"
    error bad-limit: a limit rate of 0 lets no packet through
      ^ t.hw:2:16 `0` the rate must be at least 1
      help: use a positive rate, or `drop` the packets instead
    error bad-limit: limit rate `10001` is faster than the kernel can count
      ^ t.hw:3:16 `10001` at most 10000 per second
      help: use a rate of at most 10000/second, or remove the limit
    error bad-limit: limit burst `0` is out of range
      ^ t.hw:4:31 `0` the burst must be from 1 to 10000
      help: use a burst of at least 1 (the default is 5)
    error negated-comment: a `comment` cannot be negated
      ^ t.hw:5:10 `not` `not` has nothing to negate here
      - t.hw:5:22 `"x"` a comment matches every packet
      help: remove `not`
    error duplicate-comment: a rule has at most one `comment`
      ^ t.hw:6:22 `comment "b"` second comment
      - t.hw:6:18 `"a"` first comment
      help: merge the two comments into one
    "#
    );
    let (p, _) = lower("chain input {\n  accept limit 600000/minute comment \"hello\"\n}\n");
    assert_eq!(p.chains[0].rules[0].comment.as_deref(), Some("hello"));
}

#[test]
fn states_are_checked() {
    check!("chain input {\n  accept state new, establised\n}\n", @"
    error unknown-state: unknown connection state `establised`
      ^ t.hw:2:21 `establised` not a conntrack state
      help: did you mean `established`?
    ");
}

#[test]
fn owners_lower_to_ranges_and_symbolic_ids() {
    let (p, _) = lower(
        "user web = \"www-data\"\nuser staff = uid 1000-1999, web, \"backup\"\nchain output {\n  accept user staff\n  accept not user \"www-data\", uid 0\n  accept group \"www-data\"\n}\n",
    );
    let www = ir::symbolic_id(0);
    let range = |lo, hi, name: Option<&str>| ir::OwnerRange {
        lo,
        hi,
        host_name: name.map(String::from),
    };
    let c = conds(&p, "output", 0);
    assert_eq!(
        c[0].test,
        Test::Uid(vec![
            range(1000, 1999, None),
            range(www, www, Some("www-data")),
            range(ir::symbolic_id(1), ir::symbolic_id(1), Some("backup")),
        ])
    );
    let c = conds(&p, "output", 1);
    assert!(c[0].negated);
    assert_eq!(c[0].owner_negation, ir::OwnerNegation::Xt);
    assert_eq!(
        c[0].test,
        Test::Uid(vec![range(www, www, Some("www-data")), range(0, 0, None)])
    );
    let c = conds(&p, "output", 2);
    assert_eq!(
        c[0].test,
        Test::Gid(vec![range(www, www, Some("www-data"))])
    );
    check!(
        "chain output {\n  accept user gid 4\n  accept user uid 0-4294967295\n  accept user \"bad name\"\n}\n",
        @r#"
    error wrong-value: expected a user, found `gid 4`
      ^ t.hw:2:15 `gid 4` a user is written `uid N`
      help: write `uid` instead
    error out-of-range: uid `0-4294967295` is out of range
      ^ t.hw:3:15 `uid 0-4294967295` at most 4294967294
      help: valid values are 0 to 4294967294
    error invalid-string: `"bad name"` is not a valid user name
      ^ t.hw:4:15 `"bad name"` empty, or contains a space, a control character or `:`
      help: write the user name as it appears in /etc/passwd
    "#
    );
}

#[test]
fn ports_fold_into_the_protocol() {
    let (p, _) = lower(
        "service mixed = udp, icmp\nchain input {\n  accept tcp dport 22 sport 1024-65535\n  accept service mixed dport 53\n  accept tcp not dport 22\n  accept tcp 20-30 dport 25-40\n}\n",
    );
    let c = conds(&p, "input", 0);
    assert_eq!(c.len(), 1);
    let a = &l4(&c[0])[0];
    assert_eq!(dports(a), Some(vec![(22, 22)]));
    assert_eq!(
        a.sport.as_ref().map(|d| d.ranges.clone()),
        Some(vec![(1024, 65535)])
    );
    // The icmp alternative has no destination port.
    let c = conds(&p, "input", 1);
    let alts = l4(&c[0]);
    assert_eq!(alts.len(), 1);
    assert_eq!(alts[0].proto, 17);
    assert_eq!(alts[0].service.as_deref(), Some("mixed"));
    // not dport 22: tcp, and not (tcp dport 22).
    let c = conds(&p, "input", 2);
    assert_eq!(c.len(), 2);
    assert!(!c[0].negated && c[1].negated);
    assert_eq!(dports(&l4(&c[1])[0]), Some(vec![(22, 22)]));
    // tcp 20-30 dport 25-40: the intersection.
    assert_eq!(
        dports(&l4(&conds(&p, "input", 3)[0])[0]),
        Some(vec![(25, 30)])
    );
    check!("chain input {\n  accept tcp 80 dport 443\n}\n", @"
    error ports-never-match: `dport` has no port in common with the rule's protocol match
      ^ t.hw:2:17 `dport 443` none of these ports is allowed by the protocol match
      - t.hw:2:10 `tcp 80` the protocol match allows only these ports
      help: the rule can never match; fix the ports, or split the rule in two
    ");
}

#[test]
fn services_merge_and_nest() {
    let (p, _) = lower(
        "list webports = 80, 443\nservice http = tcp webports\nservice web = http, tcp 8000-8080, proto gre\nchain input {\n  accept service web\n}\n",
    );
    let c = conds(&p, "input", 0);
    let alts = l4(&c[0]);
    assert_eq!(alts.len(), 2);
    assert_eq!(
        dports(&alts[0]),
        Some(vec![(80, 80), (443, 443), (8000, 8080)])
    );
    assert_eq!(alts[1].proto, 47);
    assert!(p.definitions.iter().all(|d| d.used));
    // A named port list keeps its name.
    let (p, _) = lower("list webports = 80, 443\nchain input {\n  accept tcp webports\n}\n");
    let c = conds(&p, "input", 0);
    assert_eq!(
        l4(&c[0])[0].dport.as_ref().and_then(|d| d.name.as_deref()),
        Some("webports")
    );
}

#[test]
fn egress_blocks_lower() {
    let (p, _) = lower(
        "group staff = gid 100-199\negress group staff only {\n  tcp 443\n}\negress user not uid 0 only {}\n",
    );
    assert_eq!(p.egress.len(), 2);
    assert!(matches!(p.egress[0].selector.test, Test::Gid(_)));
    assert!(!p.egress[0].selector.negated);
    assert_eq!(p.egress[0].allowed.len(), 1);
    assert!(p.egress[1].selector.negated);
    assert!(p.egress[1].allowed.is_empty());
    check!("egress user uid 33 only {\n  iface eth0\n}\n", @"
    error iface-in-output: `iface` cannot match in an egress block
      ^ t.hw:2:3 `iface eth0` locally generated packets have no input interface
      help: use `oface` to match the interface a packet leaves by
    ");
}

#[test]
fn assertions_name_built_in_chains() {
    check!(
        "chain web {}\nchain input {\n  jump web\n}\nassert allow web tcp 22\nassert deny forward tcp 23\nassert deny inptu tcp 23\n",
        @"
    error assert-on-user-chain: an assertion about the user chain `web`
      ^ t.hw:5:14 `web` assertions are about the built-in chains `input`, `output` and `forward`
      - t.hw:1:7 `web` a user chain, declared here
      help: assert on the built-in chain that jumps to it: its verdict includes this chain's
    error unknown-chain: the policy has no `forward` chain
      ^ t.hw:6:13 `forward` this assertion is about a chain that is not declared
      help: declare it, e.g. `chain forward policy drop {}`; without it the kernel accepts every forward packet
    error unknown-chain: unknown chain `inptu`
      ^ t.hw:7:13 `inptu` no chain has this name
      help: did you mean `input`?
    "
    );
}

#[test]
fn assertions_check_their_chain_context() {
    check!("chain input {}\nassert allow input user uid 0\n", @"
    error owner-outside-output: `user` cannot match in the `input` chain
      ^ t.hw:2:20 `user uid 0` `input` packets have no local socket, so no owner to match
      help: match `user` and `group` only in `output`, or in chains that only `output` reaches
    ");
}

#[test]
fn used_propagates_through_definitions() {
    let (p, _) = lower(
        "host a = 192.0.2.1\nhost b = a\nhost c = 192.0.2.3\nhost d = c\nchain input {\n  accept from b\n}\n",
    );
    let used: Vec<bool> = p.definitions.iter().map(|d| d.used).collect();
    assert_eq!(used, [true, true, false, false]);
}

#[test]
fn errors_in_unused_definitions_are_reported() {
    check!("service s = tcp 70000\n", @"
    error out-of-range: port `70000` is out of range
      ^ t.hw:1:17 `70000` at most 65535
      help: valid values are 0 to 65535
    ");
}

#[test]
fn user_chains_lower_with_jumps() {
    let (p, _) = lower("chain input {\n  jump web tcp 80\n}\nchain web {\n  return\n  accept\n}\n");
    assert_eq!(p.chains[1].kind, ir::ChainKind::User);
    assert_eq!(p.chains[1].policy, None);
    assert_eq!(
        p.chains[0].rules[0].action,
        ir::Action::Jump(ir::ChainId(1))
    );
    // A missing policy on a built-in chain is accept.
    let (p, _) = lower("chain forward {}\n");
    assert_eq!(p.chains[0].policy, Some(ir::Verdict::Accept));
}

#[test]
fn includes_load_once_relative_to_the_includer() {
    let (p, diags, sources) = load_files(&[
        ("etc/fw/main.hw", "include \"defs/hosts.hw\"\ninclude \"./defs/../defs/hosts.hw\"\ninclude \"defs/services.hw\"\nchain output {\n  accept service dns to resolver\n}\n"),
        ("etc/fw/defs/hosts.hw", "host resolver = 192.0.2.53\n"),
        ("etc/fw/defs/services.hw", "include \"hosts.hw\"\nservice dns = udp 53\n"),
    ]);
    assert!(diags.is_empty(), "{diags:#?}");
    assert_eq!(sources.len(), 3);
    let p = p.expect("valid");
    assert_eq!(p.name, "main");
    let names: Vec<&str> = p.definitions.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["resolver", "dns"]);
    // The definition's span points into its own file.
    let f = sources.get(p.definitions[0].span.file);
    assert_eq!(f.path, Path::new("etc/fw/defs/hosts.hw"));
}

#[test]
fn include_errors() {
    insta::assert_snapshot!(render_files(&[
        ("a.hw", "include \"b.hw\"\ninclude \"missing.hw\"\n"),
        ("b.hw", "include \"c.hw\"\n"),
        ("c.hw", "include \"a.hw\"\nhost x = 192.0.2.1/33\n"),
    ]), @r#"
    error include-cycle: include cycle: `a.hw` → `b.hw` → `c.hw` → `a.hw`
      ^ c.hw:1:9 `"a.hw"` this include closes the cycle
      - a.hw:1:9 `"b.hw"` `a.hw` includes `b.hw` here
      - b.hw:1:9 `"c.hw"` `b.hw` includes `c.hw` here
      help: remove one of these includes; keep shared definitions in a file that includes nothing back
    error include-not-found: cannot read included file `missing.hw`: no such file in memory
      ^ a.hw:2:9 `"missing.hw"` included here
      help: include paths are relative to the directory of the including file `a.hw`
    "#);
    // Syntax errors stop before name resolution.
    insta::assert_snapshot!(render_files(&[("a.hw", "host = 1\nchain input { jump nowhere }\n")]), @"
    error syntax: expected a name, found `=`
      ^ a.hw:1:6 `=` expected a name here
      help: names start with a letter or `_` and contain letters, digits, `_` and `-`
    ");
}

#[test]
fn ten_thousand_rules_are_fast() {
    let mut src = String::from("net admins = 198.51.100.0/24\nservice web = tcp 80, 443\n");
    for i in 0..200 {
        let _ = writeln!(src, "host h{i} = 10.0.{}.{}", i / 250, i % 250);
    }
    src.push_str("chain input policy drop {\n");
    for i in 0..10_000 {
        let _ = writeln!(
            src,
            "  accept state new tcp {} from h{}, admins service web",
            1000 + i % 5000,
            i % 200
        );
    }
    src.push_str("}\n");
    let mut loader = MemoryLoader::default();
    loader = loader.with("big.hw", src.as_str());
    let mut sources = SourceMap::new();
    let (file, _) = crate::syntax::parse(sources.add("big.hw", src.as_str()), &src);
    let start = std::time::Instant::now();
    let (p, diags) = super::lower_items(&file.items, "big", crate::source::FileId(0));
    let took = start.elapsed();
    assert!(diags.is_empty(), "{diags:#?}");
    assert_eq!(p.expect("valid").chains[0].rules.len(), 10_000);
    // Generous for unoptimised test builds; a release build takes a few ms.
    assert!(took.as_millis() < 1000, "sema took {took:?}");
    // And the whole load, parsing included, works on the same text.
    let (p, _) = load(Path::new("big.hw"), &loader, &mut SourceMap::new());
    assert!(p.is_some());
}

#[test]
fn warnings_keep_the_policy() {
    let (p, diags) = lower("net n = 10.0.0.1/8\nchain input {\n  accept from n\n}\n");
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].severity, Severity::Warning);
    assert_eq!(p.chains.len(), 1);
}

/// Random policies assembled from fragments: sema never panics, returns a
/// policy exactly when it reports no error, and the policy it returns keeps
/// the IR's invariants.
mod props {
    use super::*;
    use proptest::prelude::*;

    const NAMES: &[&str] = &[
        "a", "b", "web", "dns", "root", "staff", "lan", "ports", "zz",
    ];
    const CHAINS: &[&str] = &["input", "output", "forward", "web", "other"];

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            (0u32..256, 0u32..256, 0u8..40).prop_map(|(a, b, p)| format!("10.{a}.{b}.0/{p}")),
            (0u16..0xffff, 0u8..140).prop_map(|(a, p)| format!("2001:db8:{a:x}::/{p}")),
            Just("192.0.2.9-192.0.2.1".to_string()),
            Just("192.0.2.1-2001:db8::1".to_string()),
            (0u32..70_000).prop_map(|n| n.to_string()),
            (0u32..70_000, 0u32..70_000).prop_map(|(a, b)| format!("{a}-{b}")),
            prop::sample::select(NAMES).prop_map(String::from),
            Just("\"www-data\"".to_string()),
            (0u64..5_000_000_000).prop_map(|n| format!("uid {n}")),
            Just("gid 4".to_string()),
            Just("eth+".to_string()),
            Just("tcp 80, 443".to_string()),
            Just("icmp echo-request".to_string()),
            Just("icmpv6 neighbour-solicitation".to_string()),
        ]
    }

    fn values() -> impl Strategy<Value = String> {
        prop::collection::vec(value(), 1..4).prop_map(|v| v.join(", "))
    }

    fn addr() -> impl Strategy<Value = String> {
        prop_oneof![
            (0u32..256, 0u8..33).prop_map(|(a, p)| format!("172.16.{a}.0/{p}")),
            (0u16..0xffff, 0u8..129).prop_map(|(a, p)| format!("2001:db8:{a:x}::/{p}")),
            prop::sample::select(&["a", "b"]).prop_map(String::from),
        ]
    }

    fn matcher() -> impl Strategy<Value = String> {
        let m = prop_oneof![
            8 => prop::collection::vec(addr(), 1..3).prop_map(|v| format!("from {}", v.join(", "))),
            8 => prop::collection::vec(addr(), 1..3).prop_map(|v| format!("to {}", v.join(", "))),
            1 => values().prop_map(|v| format!("from {v}")),
            6 => (0u32..65_536).prop_map(|p| format!("tcp {p}")),
            2 => (0u32..70_000).prop_map(|p| format!("tcp {p}")),
            3 => Just("udp".to_string()),
            2 => Just("icmp echo-request".to_string()),
            2 => Just("icmpv6 128".to_string()),
            3 => (0u32..65_536).prop_map(|p| format!("dport {p}")),
            3 => (0u32..65_536).prop_map(|p| format!("sport {p}")),
            4 => prop::sample::select(&["web", "dns"]).prop_map(|n| format!("service {n}")),
            1 => prop::sample::select(NAMES).prop_map(|n| format!("service {n}")),
            2 => prop::sample::select(&["root", "uid 1000-1999", "\"www-data\""]).prop_map(|n| format!("user {n}")),
            1 => prop::sample::select(&["staff", "gid 4"]).prop_map(|n| format!("group {n}")),
            2 => prop::sample::select(&["lan", "eth0", "\"wg0\""]).prop_map(|n| format!("iface {n}")),
            2 => prop::sample::select(&["lan", "wg+"]).prop_map(|n| format!("oface {n}")),
            4 => Just("state new, established".to_string()),
            2 => (1u64..30_000, 1u64..12_000).prop_map(|(r, b)| format!("limit {r}/minute burst {b}")),
            1 => Just("comment \"c\"".to_string()),
        ];
        (prop::bool::weighted(0.2), m).prop_map(|(not, m)| if not { format!("not {m}") } else { m })
    }

    fn action() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => Just("accept".to_string()),
            4 => Just("drop".to_string()),
            2 => Just("reject".to_string()),
            1 => Just("reject tcp-reset".to_string()),
            1 => Just("reject icmp-port-unreachable".to_string()),
            2 => Just("log prefix \"x \" level warn".to_string()),
            1 => Just("return".to_string()),
            1 => prop::sample::select(CHAINS).prop_map(|c| format!("jump {c}")),
            1 => prop::sample::select(CHAINS).prop_map(|c| format!("goto {c}")),
        ]
    }

    fn rule() -> impl Strategy<Value = String> {
        (action(), prop::collection::vec(matcher(), 0..3))
            .prop_map(|(a, ms)| format!("  {a} {}", ms.join(" ")))
    }

    /// One mostly valid rule for a chain of kind `ctx` (0 input, 1 output,
    /// 2 the user chain `web`, reached from output).
    fn valid_rule(ctx: usize) -> impl Strategy<Value = String> {
        let action = prop_oneof![
            Just("accept"),
            Just("drop"),
            Just("reject"),
            Just("log prefix \"x \" level warn"),
            Just(["accept", "jump web", "return"][ctx]),
        ];
        let proto = prop::option::of(prop_oneof![
            (0u32..65_536).prop_map(|p| format!("tcp {p}")),
            (0u32..65_536, 0u32..65_536).prop_map(|(d, s)| format!("tcp dport {d} sport {s}")),
            Just("udp 53".to_string()),
            Just("service web".to_string()),
            Just("service dns dport 53".to_string()),
            Just("icmp echo-request".to_string()),
            Just("icmpv6 128, 1/4".to_string()),
            Just("not tcp".to_string()),
            Just("tcp not dport 22".to_string()),
        ]);
        let addr = prop::option::of(
            (prop::sample::select(&["from", "to", "not from"]), addr())
                .prop_map(|(k, a)| format!("{k} {a}")),
        );
        let context = prop::option::of(prop::sample::select(match ctx {
            0 => &["iface lan", "iface eth0", "iface \"wg0\""][..],
            _ => &[
                "user root",
                "not user \"www-data\"",
                "oface lan",
                "group staff",
            ][..],
        }));
        let extra = prop::option::of(prop::sample::select(&[
            "state new, established",
            "limit 10/minute burst 5",
            "comment \"c\"",
        ]));
        (action, proto, addr, context, extra).prop_map(|(a, p, ad, c, e)| {
            let parts: Vec<String> = [p, ad, c.map(String::from), e.map(String::from)]
                .into_iter()
                .flatten()
                .collect();
            format!("  {a} {}", parts.join(" "))
        })
    }

    /// Mostly valid policies: fixed definitions, input, output and a user
    /// chain with mostly valid rules, and sometimes a random (often wrong)
    /// item or rule.
    fn policy() -> impl Strategy<Value = String> {
        (
            prop::collection::vec(valid_rule(0), 0..8),
            prop::collection::vec(valid_rule(1), 0..8),
            prop::collection::vec(valid_rule(2), 0..4),
            prop::option::weighted(0.3, rule()),
            prop::option::weighted(0.3, item()),
        )
            .prop_map(|(i, o, w, wild, extra)| {
                format!(
                    "host a = 192.0.2.1, 2001:db8::1\nnet b = 10.0.0.0/8\nservice web = tcp 80, 443\n\
                     service dns = udp 53, tcp 53\nuser root = uid 0\ngroup staff = gid 50\n\
                     iface lan = eth+, \"wg0\"\nlist ports = 80, 8000-8080\n\
                     chain input policy drop {{\n{}\n{}\n}}\nchain output {{\n{}\n}}\n\
                     chain web {{\n{}\n}}\n{}\n",
                    i.join("\n"),
                    wild.unwrap_or_default(),
                    o.join("\n"),
                    w.join("\n"),
                    extra.unwrap_or_default()
                )
            })
    }

    fn item() -> impl Strategy<Value = String> {
        let kinds = &["host", "net", "list", "service", "user", "group", "iface"];
        prop_oneof![
            (
                prop::sample::select(kinds),
                prop::sample::select(NAMES),
                values()
            )
                .prop_map(|(k, n, v)| format!("{k} {n}2 = {v}")),
            (
                prop::sample::select(&["forward", "other"]),
                prop::collection::vec(rule(), 0..4)
            )
                .prop_map(|(c, rules)| format!("chain {c} {{\n{}\n}}", rules.join("\n"))),
            (
                prop::sample::select(CHAINS),
                prop::collection::vec(matcher(), 0..3)
            )
                .prop_map(|(c, ms)| format!("assert allow {c} {}", ms.join(" "))),
            (matcher(), prop::collection::vec(matcher(), 0..3))
                .prop_map(|(sel, ms)| format!("egress {sel} only {{\n  {}\n}}", ms.join(" "))),
            prop::sample::select(&["ip", "ip6", "inet"])
                .prop_map(|f| format!("policy p {{\n  family {f}\n}}")),
        ]
    }

    fn check_invariants(p: &ir::Policy) {
        let user = |id: ir::ChainId| p.chains[id.0 as usize].kind == ir::ChainKind::User;
        let mut edges = vec![Vec::new(); p.chains.len()];
        let conds = p
            .chains
            .iter()
            .flat_map(|c| c.rules.iter().map(|r| &r.matches))
            .chain(p.assertions.iter().map(|a| &a.matches))
            .chain(p.egress.iter().flat_map(|e| e.allowed.iter()))
            .flat_map(|m| m.conds.iter());
        for c in conds {
            match &c.test {
                Test::Src(s) | Test::Dst(s) => {
                    assert!(!s.ranges.is_empty());
                    for r in &s.ranges {
                        assert!(r.lo <= r.hi && r.hi <= r.family.max_addr());
                    }
                }
                Test::L4(alts) => {
                    assert!(!alts.is_empty());
                    for a in alts {
                        for ports in [&a.sport, &a.dport].into_iter().flatten() {
                            assert!(!ports.ranges.is_empty());
                            assert!(ports.ranges.iter().all(|(lo, hi)| lo <= hi));
                        }
                        if let Some(i) = &a.icmp {
                            assert!(!i.is_empty());
                        }
                    }
                }
                Test::Uid(o) | Test::Gid(o) => {
                    assert!(!o.is_empty() && o.iter().all(|r| r.lo <= r.hi && r.hi < u32::MAX));
                }
                Test::Iif(i) | Test::Oif(i) => assert!(!i.is_empty()),
                Test::State(s) => assert!(!s.is_empty()),
                Test::Limit(l) => assert!(l.rate > 0),
                _ => {}
            }
        }
        for (i, c) in p.chains.iter().enumerate() {
            for r in &c.rules {
                if let ir::Action::Jump(t) | ir::Action::Goto(t) = r.action {
                    assert!(user(t), "jump to a base chain");
                    edges[i].push(t.0 as usize);
                }
                if r.action == ir::Action::Return {
                    assert_eq!(c.kind, ir::ChainKind::User);
                }
            }
        }
        // The call graph is acyclic: repeatedly remove chains without callees.
        let mut left: Vec<usize> = (0..p.chains.len()).collect();
        while !left.is_empty() {
            let before = left.len();
            let alive = left.clone();
            left.retain(|&c| edges[c].iter().any(|t| alive.contains(t)));
            assert!(left.len() < before, "a call cycle survived");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
        #[test]
        fn sema_never_panics_and_keeps_invariants(text in policy()) {
            let (p, diags, sources) = load_files(&[("t.hw", text.as_str())]);
            prop_assert_eq!(p.is_some(), !diags.iter().any(Diagnostic::is_error));
            for d in &diags {
                for l in &d.labels {
                    let f = sources.get(l.span.file);
                    prop_assert!(l.span.end as usize <= f.text.len());
                }
            }
            if let Some(p) = p {
                check_invariants(&p);
            }
        }
    }
}
