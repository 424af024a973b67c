//! Golden tests of the generated iptables and nft text, construct by
//! construct. Each case is a small `.hw` text and the IR sema makes of it
//! (built by hand here, so the backends are tested on their own). The
//! snapshot shows the source and every generated text side by side, and
//! every generated text is loaded into a real kernel inside a throw-away
//! network namespace (`iptables-restore --test` and a real load,
//! `ip6tables-restore`, the legacy variants, `nft -c -f` and `nft -f`).

mod netns;

use hwc::backend::{iptables, nftables};
use hwc::diagnostics::Diagnostic;
use hwc::ir::*;
use hwc::source::{FileId, SourceMap, Span};

struct Case {
    sources: SourceMap,
    text: String,
    policy: Policy,
}

impl Case {
    fn new(family: FamilySet, text: &str) -> Case {
        let mut sources = SourceMap::new();
        let file = sources.add("case.hw", text);
        Case {
            sources,
            text: text.to_string(),
            policy: Policy {
                name: "case".into(),
                family,
                origin: Origin::Policy,
                chains: Vec::new(),
                assertions: Vec::new(),
                egress: Vec::new(),
                definitions: Vec::new(),
                span: Span::new(file, 0, 0),
            },
        }
    }

    /// The span of a 1-based line of the case's text.
    fn line(&self, n: usize) -> Span {
        let mut start = 0;
        for (i, l) in self.text.split_inclusive('\n').enumerate() {
            if i + 1 == n {
                return Span::new(FileId(0), start, start + l.trim_end().len());
            }
            start += l.len();
        }
        panic!("case has no line {n}");
    }

    fn chain(&mut self, name: &str, policy: Option<Verdict>) -> ChainId {
        let kind = match name {
            "input" => ChainKind::Base(Hook::Input),
            "output" => ChainKind::Base(Hook::Output),
            "forward" => ChainKind::Base(Hook::Forward),
            _ => ChainKind::User,
        };
        self.policy.chains.push(Chain {
            name: name.into(),
            kind,
            policy,
            rules: Vec::new(),
            span: Span::default(),
            allow: Vec::new(),
        });
        ChainId(self.policy.chains.len() as u32 - 1)
    }

    fn rule(&mut self, chain: ChainId, line: usize, action: Action, conds: Vec<Cond>) {
        let span = self.line(line);
        let conds = conds
            .into_iter()
            .map(|mut c| {
                c.span = span;
                c
            })
            .collect();
        self.policy.chains[chain.0 as usize].rules.push(Rule {
            matches: Match { conds },
            action,
            span,
            allow: Vec::new(),
            comment: None,
        });
    }

    /// Compiles to both targets, checks every text in the kernel, and
    /// returns the snapshot text.
    fn compile(&self) -> String {
        let ipt = iptables::emit(&self.policy, Some(&self.sources))
            .unwrap_or_else(|d| panic!("iptables: {}", messages(&d)));
        let nft = nftables::emit(&self.policy, Some(&self.sources))
            .unwrap_or_else(|d| panic!("nftables: {}", messages(&d)));
        kernel_check(&ipt, &nft);
        let mut s = format!("# source\n{}\n", self.text.trim_end());
        if let Some(t) = &ipt.v4 {
            s += &format!("# iptables-restore\n{t}");
        }
        if let Some(t) = &ipt.v6 {
            s += &format!("# ip6tables-restore\n{t}");
        }
        s += &format!("# nft -f\n{nft}");
        s
    }

    fn errors(&self) -> String {
        let mut s = String::new();
        for (target, r) in [
            (
                "iptables",
                iptables::emit(&self.policy, Some(&self.sources)).map(|_| ()),
            ),
            (
                "nftables",
                nftables::emit(&self.policy, Some(&self.sources)).map(|_| ()),
            ),
        ] {
            match r {
                Ok(()) => s += &format!("{target}: ok\n"),
                Err(d) => s += &format!("{target}:\n{}", messages(&d)),
            }
        }
        s
    }
}

fn messages(d: &[Diagnostic]) -> String {
    d.iter()
        .map(|d| {
            format!(
                "  {}[{}]: {} (at {}..{}){}\n",
                d.severity.name(),
                d.code,
                d.message,
                d.primary_span().start,
                d.primary_span().end,
                d.help
                    .as_ref()
                    .map(|h| format!("\n    help: {h}"))
                    .unwrap_or_default()
            )
        })
        .collect()
}

fn kernel_check(ipt: &iptables::Output, nft: &str) {
    if !netns::have_tools(&["iptables-restore", "ip6tables-restore", "nft"]) {
        return;
    }
    let Some(ns) = netns::Netns::new() else {
        return;
    };
    if let Some(t) = &ipt.v4 {
        ns.check_iptables(false, t)
            .unwrap_or_else(|e| panic!("{e}\n--- input ---\n{t}"));
    }
    if let Some(t) = &ipt.v6 {
        ns.check_iptables(true, t)
            .unwrap_or_else(|e| panic!("{e}\n--- input ---\n{t}"));
    }
    ns.check_nft(nft)
        .unwrap_or_else(|e| panic!("{e}\n--- input ---\n{nft}"));
}

// ---- small IR constructors ----

fn c(t: Test) -> Cond {
    Cond::new(t, Span::default())
}

/// `not TEST` as sema writes it: plain complement (xt owner semantics).
fn not(t: Test) -> Cond {
    let mut c = c(t).negate();
    c.owner_negation = OwnerNegation::Xt;
    c
}

fn parse_addr(s: &str) -> (Family, u128) {
    match s.parse::<std::net::IpAddr>().expect("address") {
        std::net::IpAddr::V4(a) => (Family::V4, u32::from(a) as u128),
        std::net::IpAddr::V6(a) => (Family::V6, u128::from(a)),
    }
}

fn range(s: &str) -> AddrRange {
    if let Some((a, len)) = s.split_once('/') {
        let (family, lo) = parse_addr(a);
        let bits = if family == Family::V4 { 32 } else { 128 };
        let len: u32 = len.parse().expect("prefix length");
        let host = bits - len;
        let size_m1 = if host == 128 {
            u128::MAX
        } else {
            (1u128 << host) - 1
        };
        return AddrRange {
            family,
            lo,
            hi: lo + size_m1,
        };
    }
    if let Some((a, b)) = s.split_once('-') {
        let (family, lo) = parse_addr(a);
        let (_, hi) = parse_addr(b);
        return AddrRange { family, lo, hi };
    }
    let (family, lo) = parse_addr(s);
    AddrRange { family, lo, hi: lo }
}

fn addrs(name: Option<&str>, items: &[&str]) -> AddrSet {
    AddrSet {
        name: name.map(Into::into),
        ranges: items.iter().map(|s| range(s)).collect(),
    }
}

fn from(name: Option<&str>, items: &[&str]) -> Test {
    Test::Src(addrs(name, items))
}

fn to(name: Option<&str>, items: &[&str]) -> Test {
    Test::Dst(addrs(name, items))
}

fn ports(list: &[(u16, u16)]) -> PortSet {
    PortSet {
        name: None,
        ranges: list.to_vec(),
    }
}

fn l4(proto: u8, dports: &[(u16, u16)]) -> L4 {
    L4 {
        proto,
        sport: None,
        dport: (!dports.is_empty()).then(|| ports(dports)),
        icmp: None,
        service: None,
    }
}

fn tcp(dports: &[(u16, u16)]) -> L4 {
    l4(6, dports)
}

fn udp(dports: &[(u16, u16)]) -> L4 {
    l4(17, dports)
}

fn icmp(v6: bool, specs: &[(u8, Option<(u8, u8)>)]) -> L4 {
    L4 {
        proto: if v6 { 58 } else { 1 },
        sport: None,
        dport: None,
        icmp: Some(
            specs
                .iter()
                .map(|&(ty, code)| IcmpSpec { ty, code })
                .collect(),
        ),
        service: None,
    }
}

fn state(s: &[CtState]) -> Test {
    Test::State(s.to_vec())
}

fn uid(lo: u32, hi: u32) -> OwnerRange {
    OwnerRange {
        lo,
        hi,
        host_name: None,
    }
}

fn account(name: &str, index: usize) -> OwnerRange {
    let id = symbolic_id(index);
    OwnerRange {
        lo: id,
        hi: id,
        host_name: Some(name.into()),
    }
}

fn ifaces(names: &[&str]) -> Vec<Iface> {
    names
        .iter()
        .map(|n| match n.strip_suffix('+') {
            Some(p) => Iface {
                name: p.into(),
                wildcard: true,
            },
            None => Iface {
                name: (*n).into(),
                wildcard: false,
            },
        })
        .collect()
}

fn log(prefix: Option<&str>, level: Option<LogLevel>) -> Action {
    Action::Log(LogSpec {
        prefix: prefix.map(Into::into),
        level,
        nflog: false,
    })
}

fn limit(rate: u32, per_seconds: u32, burst: Option<u32>) -> Test {
    Test::Limit(RateLimit {
        rate,
        per_seconds,
        burst,
    })
}

use CtState::*;

// ---- the cases ----

#[test]
fn webserver() {
    let mut k = Case::new(
        FamilySet::INET,
        r#"policy webserver { family inet }
chain input policy drop {
  accept iface lo
  accept icmp echo-request
  accept state established, related
  drop   state invalid
  accept state new tcp 80
  accept state new tcp 22 from admins
  log prefix "INPUT " level warn limit 10/minute burst 5
}
chain output policy drop {
  accept oface lo
  accept state established, related
  accept state new user root
  accept udp 53, tcp 53 to resolver
}
chain forward policy drop {}
"#,
    );
    let admins = &["198.51.100.0/24", "2001:db8:1::/48"];
    let input = k.chain("input", Some(Verdict::Drop));
    k.rule(
        input,
        3,
        Action::Accept,
        vec![c(Test::Iif(ifaces(&["lo"])))],
    );
    k.rule(
        input,
        4,
        Action::Accept,
        vec![c(Test::L4(vec![icmp(false, &[(8, None)])]))],
    );
    k.rule(
        input,
        5,
        Action::Accept,
        vec![c(state(&[Established, Related]))],
    );
    k.rule(input, 6, Action::Drop, vec![c(state(&[Invalid]))]);
    k.rule(
        input,
        7,
        Action::Accept,
        vec![c(state(&[New])), c(Test::L4(vec![tcp(&[(80, 80)])]))],
    );
    k.rule(
        input,
        8,
        Action::Accept,
        vec![
            c(state(&[New])),
            c(Test::L4(vec![tcp(&[(22, 22)])])),
            c(from(Some("admins"), admins)),
        ],
    );
    k.rule(
        input,
        9,
        log(Some("INPUT "), Some(LogLevel::Warning)),
        vec![c(limit(10, 60, Some(5)))],
    );
    let output = k.chain("output", Some(Verdict::Drop));
    k.rule(
        output,
        12,
        Action::Accept,
        vec![c(Test::Oif(ifaces(&["lo"])))],
    );
    k.rule(
        output,
        13,
        Action::Accept,
        vec![c(state(&[Established, Related]))],
    );
    k.rule(
        output,
        14,
        Action::Accept,
        vec![c(state(&[New])), c(Test::Uid(vec![uid(0, 0)]))],
    );
    k.rule(
        output,
        15,
        Action::Accept,
        vec![
            c(Test::L4(vec![udp(&[(53, 53)]), tcp(&[(53, 53)])])),
            c(to(Some("resolver"), &["192.0.2.53", "2001:db8::53"])),
        ],
    );
    k.chain("forward", Some(Verdict::Drop));
    insta::assert_snapshot!(k.compile());
}

#[test]
fn port_lists_split_for_multiport() {
    let mut k = Case::new(
        FamilySet::IP,
        "policy p { family ip }\nchain input policy drop {\n  accept tcp 1, 3, 5, ..., 39 and 8000-8080\n  accept tcp 443 sport 1024-65535\n  accept udp 60000-61000\n}\n",
    );
    let input = k.chain("input", Some(Verdict::Drop));
    let mut many: Vec<(u16, u16)> = (0..20).map(|i| (1 + 2 * i, 1 + 2 * i)).collect();
    many.push((8000, 8080));
    k.rule(
        input,
        3,
        Action::Accept,
        vec![c(Test::L4(vec![tcp(&many)]))],
    );
    let mut with_sport = tcp(&[(443, 443)]);
    with_sport.sport = Some(ports(&[(1024, 65535)]));
    k.rule(
        input,
        4,
        Action::Accept,
        vec![c(Test::L4(vec![with_sport]))],
    );
    k.rule(
        input,
        5,
        Action::Accept,
        vec![c(Test::L4(vec![udp(&[(60000, 61000)])]))],
    );
    insta::assert_snapshot!(k.compile());
}

#[test]
fn addresses_cidrs_ranges_and_named_sets() {
    let mut k = Case::new(
        FamilySet::INET,
        "net lan = 10.0.0.0/8, 192.0.2.10-192.0.2.20, 2001:db8::/32, 2001:db8:1::5-2001:db8:1::9\nchain input policy drop {\n  accept from lan\n  accept to 203.0.113.7\n  drop from 10.0.0.0/9, 10.128.0.0/9\n}\n",
    );
    let input = k.chain("input", Some(Verdict::Drop));
    k.rule(
        input,
        3,
        Action::Accept,
        vec![c(from(
            Some("lan"),
            &[
                "10.0.0.0/8",
                "192.0.2.10-192.0.2.20",
                "2001:db8::/32",
                "2001:db8:1::5-2001:db8:1::9",
            ],
        ))],
    );
    k.rule(
        input,
        4,
        Action::Accept,
        vec![c(to(None, &["203.0.113.7"]))],
    );
    k.rule(
        input,
        5,
        Action::Drop,
        vec![c(from(None, &["10.0.0.0/9", "10.128.0.0/9"]))],
    );
    insta::assert_snapshot!(k.compile());
}

#[test]
fn icmp_types_and_codes() {
    let mut k = Case::new(
        FamilySet::INET,
        "chain input policy drop {\n  accept icmp echo-request, 3/4\n  accept icmp 3/0-2\n  accept icmpv6 128, 133, 134, 135, 136\n  accept proto gre\n}\n",
    );
    let input = k.chain("input", Some(Verdict::Drop));
    k.rule(
        input,
        2,
        Action::Accept,
        vec![c(Test::L4(vec![icmp(
            false,
            &[(8, None), (3, Some((4, 4)))],
        )]))],
    );
    k.rule(
        input,
        3,
        Action::Accept,
        vec![c(Test::L4(vec![icmp(false, &[(3, Some((0, 2)))])]))],
    );
    k.rule(
        input,
        4,
        Action::Accept,
        vec![c(Test::L4(vec![icmp(
            true,
            &[
                (128, None),
                (133, None),
                (134, None),
                (135, None),
                (136, None),
            ],
        )]))],
    );
    k.rule(
        input,
        5,
        Action::Accept,
        vec![c(Test::L4(vec![l4(47, &[])]))],
    );
    insta::assert_snapshot!(k.compile());
}

#[test]
fn interfaces_and_wildcards() {
    let mut k = Case::new(
        FamilySet::IP,
        "chain forward policy drop {\n  accept iface eth+ oface wg0\n  accept iface br0, veth+\n  drop not iface eth0\n  drop not oface eth+, wg0\n  accept iface +\n}\n",
    );
    let fwd = k.chain("forward", Some(Verdict::Drop));
    k.rule(
        fwd,
        2,
        Action::Accept,
        vec![
            c(Test::Iif(ifaces(&["eth+"]))),
            c(Test::Oif(ifaces(&["wg0"]))),
        ],
    );
    k.rule(
        fwd,
        3,
        Action::Accept,
        vec![c(Test::Iif(ifaces(&["br0", "veth+"])))],
    );
    k.rule(
        fwd,
        4,
        Action::Drop,
        vec![not(Test::Iif(ifaces(&["eth0"])))],
    );
    k.rule(
        fwd,
        5,
        Action::Drop,
        vec![not(Test::Oif(ifaces(&["eth+", "wg0"])))],
    );
    k.rule(fwd, 6, Action::Accept, vec![c(Test::Iif(ifaces(&["+"])))]);
    insta::assert_snapshot!(k.compile());
}

#[test]
fn negated_owner_is_never_a_negated_kernel_test() {
    let mut k = Case::new(
        FamilySet::INET,
        "user root = uid 0\nuser staff = uid 1000-1999, \"www-data\"\nchain output policy accept {\n  drop state new not user root\n  reject not user staff tcp 25\n  accept user staff\n  accept group 4\n}\n",
    );
    let out = k.chain("output", Some(Verdict::Accept));
    k.rule(
        out,
        4,
        Action::Drop,
        vec![c(state(&[New])), not(Test::Uid(vec![uid(0, 0)]))],
    );
    k.rule(
        out,
        5,
        Action::Reject(None),
        vec![
            not(Test::Uid(vec![uid(1000, 1999), account("www-data", 0)])),
            c(Test::L4(vec![tcp(&[(25, 25)])])),
        ],
    );
    k.rule(
        out,
        6,
        Action::Accept,
        vec![c(Test::Uid(vec![uid(1000, 1999), account("www-data", 0)]))],
    );
    k.rule(out, 7, Action::Accept, vec![c(Test::Gid(vec![uid(4, 4)]))]);
    let text = k.compile();
    assert!(!text.contains("! --uid-owner") && !text.contains("skuid !="));
    insta::assert_snapshot!(text);
}

#[test]
fn nft_style_owner_negation_requires_a_user_socket() {
    let mut k = Case::new(
        FamilySet::IP,
        "chain output policy accept {\n  drop not user 0 (nft semantics: sockets only)\n}\n",
    );
    let out = k.chain("output", Some(Verdict::Accept));
    let mut cond = c(Test::Uid(vec![uid(0, 0)])).negate();
    cond.owner_negation = OwnerNegation::Nft;
    k.rule(out, 2, Action::Drop, vec![cond]);
    insta::assert_snapshot!(k.compile());
}

#[test]
fn negated_unions_use_exclusion_chains() {
    let mut k = Case::new(
        FamilySet::INET,
        "chain input policy accept {\n  drop not from 10.0.0.0/8, 192.0.2.1\n  drop not tcp 22\n  accept not tcp, udp\n  drop not proto gre\n  log not service web limit 1/second\n}\n",
    );
    let input = k.chain("input", Some(Verdict::Accept));
    k.rule(
        input,
        2,
        Action::Drop,
        vec![not(from(None, &["10.0.0.0/8", "192.0.2.1"]))],
    );
    k.rule(
        input,
        3,
        Action::Drop,
        vec![not(Test::L4(vec![tcp(&[(22, 22)])]))],
    );
    k.rule(
        input,
        4,
        Action::Accept,
        vec![not(Test::L4(vec![tcp(&[]), udp(&[])]))],
    );
    k.rule(
        input,
        5,
        Action::Drop,
        vec![not(Test::L4(vec![l4(47, &[])]))],
    );
    k.rule(
        input,
        6,
        log(None, None),
        vec![
            not(Test::L4(vec![
                tcp(&[(80, 80), (443, 443)]),
                udp(&[(443, 443)]),
            ])),
            c(limit(1, 1, None)),
        ],
    );
    insta::assert_snapshot!(k.compile());
}

#[test]
fn non_terminal_actions_run_once_per_packet() {
    let mut k = Case::new(
        FamilySet::IP,
        "chain input policy drop {\n  log prefix \"web \" tcp 80, 443 sport 1024-65535\n  jump web from 10.0.0.0/8, 192.0.2.0/24\n  accept tcp 22 from 10.0.0.0/8, 192.0.2.0/24 limit 3/minute\n}\nchain web {\n  accept\n}\n",
    );
    let input = k.chain("input", Some(Verdict::Drop));
    let web = k.chain("web", None);
    let mut a = tcp(&[(80, 80), (443, 443)]);
    a.sport = None;
    k.rule(
        input,
        2,
        log(Some("web "), None),
        vec![
            c(Test::L4(vec![tcp(&[(80, 80)]), tcp(&[(443, 443)])])),
            c(Test::L4(vec![
                L4 {
                    sport: Some(ports(&[(1024, 65535)])),
                    ..tcp(&[])
                },
                L4 {
                    sport: Some(ports(&[(1024, 65535)])),
                    ..udp(&[])
                },
            ])),
        ],
    );
    k.rule(
        input,
        3,
        Action::Jump(web),
        vec![c(from(None, &["10.0.0.0/8", "192.0.2.0/24"]))],
    );
    k.rule(
        input,
        4,
        Action::Accept,
        vec![
            c(Test::L4(vec![tcp(&[(22, 22)])])),
            c(from(None, &["10.0.0.0/8", "192.0.2.0/24"])),
            c(limit(3, 60, None)),
        ],
    );
    k.rule(web, 7, Action::Accept, vec![]);
    insta::assert_snapshot!(k.compile());
}

#[test]
fn return_and_goto_with_exclusions_split_the_chain() {
    let mut k = Case::new(
        FamilySet::IP,
        "chain input policy drop {\n  jump filter\n}\nchain filter {\n  return not from 10.0.0.0/8, 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 10.1.0.0-10.1.0.5, 100.64.0.0/10, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16\n  goto ssh not tcp 80\n  accept\n}\nchain ssh {\n  accept tcp 22\n}\n",
    );
    let input = k.chain("input", Some(Verdict::Drop));
    let filter = k.chain("filter", None);
    let ssh = k.chain("ssh", None);
    k.rule(input, 2, Action::Jump(filter), vec![]);
    k.rule(
        filter,
        5,
        Action::Return,
        vec![not(from(
            None,
            &[
                "10.0.0.0/8",
                "192.0.2.0/24",
                "198.51.100.0/24",
                "203.0.113.0/24",
                "11.1.0.0-11.1.0.5",
                "100.64.0.0/10",
                "172.16.0.0/12",
                "192.168.0.0/16",
                "169.254.0.0/16",
            ],
        ))],
    );
    k.rule(
        filter,
        6,
        Action::Goto(ssh),
        vec![not(Test::L4(vec![tcp(&[(80, 80)])]))],
    );
    k.rule(filter, 7, Action::Accept, vec![]);
    k.rule(
        ssh,
        10,
        Action::Accept,
        vec![c(Test::L4(vec![tcp(&[(22, 22)])]))],
    );
    insta::assert_snapshot!(k.compile());
}

#[test]
fn reject_reasons_per_family() {
    let mut k = Case::new(
        FamilySet::INET,
        "chain input policy accept {\n  reject tcp-reset tcp 23\n  reject icmp-port-unreachable udp 69\n  reject icmp-host-prohibited from 192.0.2.0/24\n  reject icmpv6-admin-prohibited from 2001:db8::/32\n  reject\n}\n",
    );
    let input = k.chain("input", Some(Verdict::Accept));
    k.rule(
        input,
        2,
        Action::Reject(Some(RejectWith::TcpReset)),
        vec![c(Test::L4(vec![tcp(&[(23, 23)])]))],
    );
    k.rule(
        input,
        3,
        Action::Reject(Some(RejectWith::IcmpPortUnreachable)),
        vec![c(Test::L4(vec![udp(&[(69, 69)])]))],
    );
    k.rule(
        input,
        4,
        Action::Reject(Some(RejectWith::IcmpHostProhibited)),
        vec![c(from(None, &["192.0.2.0/24"]))],
    );
    k.rule(
        input,
        5,
        Action::Reject(Some(RejectWith::Icmp6AdmProhibited)),
        vec![c(from(None, &["2001:db8::/32"]))],
    );
    k.rule(input, 6, Action::Reject(None), vec![]);
    insta::assert_snapshot!(k.compile());
}

#[test]
fn tcp_reset_in_a_helper_keeps_its_protocol() {
    let mut k = Case::new(
        FamilySet::INET,
        "chain input policy accept {\n  reject tcp-reset tcp 23 not from 10.0.0.0/8, 2001:db8::/32 not iface lo, wg0\n}\n",
    );
    let input = k.chain("input", Some(Verdict::Accept));
    k.rule(
        input,
        2,
        Action::Reject(Some(RejectWith::TcpReset)),
        vec![
            c(Test::L4(vec![tcp(&[(23, 23)])])),
            not(from(None, &["10.0.0.0/8", "2001:db8::/32"])),
            not(Test::Iif(ifaces(&["lo", "wg0"]))),
        ],
    );
    insta::assert_snapshot!(k.compile());
}

#[test]
fn ipv6_only_policy_and_family_tests() {
    let mut k = Case::new(
        FamilySet::IP6,
        "policy p { family ip6 }\nchain input policy drop {\n  accept icmpv6 135, 136\n  accept from 10.0.0.0/8 (an IPv4 set: never in ip6)\n  accept not from 10.0.0.0/8\n}\n",
    );
    let input = k.chain("input", Some(Verdict::Drop));
    k.rule(
        input,
        3,
        Action::Accept,
        vec![c(Test::L4(vec![icmp(true, &[(135, None), (136, None)])]))],
    );
    k.rule(
        input,
        4,
        Action::Accept,
        vec![c(from(None, &["10.0.0.0/8"]))],
    );
    k.rule(
        input,
        5,
        Action::Accept,
        vec![not(from(None, &["10.0.0.0/8"]))],
    );
    let text = k.compile();
    assert!(!text.contains("# iptables-restore\n"));
    insta::assert_snapshot!(text);
}

#[test]
fn log_levels_prefixes_and_comments() {
    let mut k = Case::new(
        FamilySet::IP,
        "chain input policy accept {\n  log prefix \"say \\\"hi\\\" \" level warning limit 5/hour burst 2\n  log level 7 limit 100/day\n  accept comment \"a # b\"\n}\n",
    );
    let input = k.chain("input", Some(Verdict::Accept));
    k.rule(
        input,
        2,
        log(Some("say 'hi' \\"), Some(LogLevel::Warning)),
        vec![c(limit(5, 3600, Some(2)))],
    );
    k.rule(
        input,
        3,
        log(None, Some(LogLevel::Debug)),
        vec![c(limit(100, 86400, None))],
    );
    k.rule(input, 4, Action::Accept, vec![]);
    k.policy.chains[0].rules[2].comment = Some("a # b \"quoted\"".into());
    insta::assert_snapshot!(k.compile());
}

#[test]
fn base_chain_interfaces_fold_to_constants() {
    let mut k = Case::new(
        FamilySet::IP,
        "chain output policy accept {\n  drop iface eth0 (never: output packets have no input interface)\n  drop not iface eth0\n}\nchain input policy accept {\n  drop oface eth0\n}\n",
    );
    let out = k.chain("output", Some(Verdict::Accept));
    k.rule(out, 2, Action::Drop, vec![c(Test::Iif(ifaces(&["eth0"])))]);
    k.rule(
        out,
        3,
        Action::Drop,
        vec![not(Test::Iif(ifaces(&["eth0"])))],
    );
    let input = k.chain("input", Some(Verdict::Accept));
    k.rule(
        input,
        6,
        Action::Drop,
        vec![c(Test::Oif(ifaces(&["eth0"])))],
    );
    insta::assert_snapshot!(k.compile());
}

#[test]
fn refusals_are_clear_errors() {
    let mut k = Case::new(
        FamilySet::INET,
        "chain input policy drop {\n  accept -m recent --rcheck\n  accept user root\n  reject icmp-host-prohibited\n  log prefix \"a\\\"b\"\n}\nchain LOG {\n}\n",
    );
    let input = k.chain("input", Some(Verdict::Drop));
    let user = k.chain("LOG", None);
    k.rule(
        input,
        2,
        Action::Accept,
        vec![c(Test::Opaque("-m recent --rcheck".into()))],
    );
    k.rule(
        input,
        3,
        Action::Accept,
        vec![c(Test::Uid(vec![uid(0, 0)]))],
    );
    k.rule(
        input,
        4,
        Action::Reject(Some(RejectWith::IcmpHostProhibited)),
        vec![],
    );
    k.rule(input, 5, log(Some("a\"b"), None), vec![]);
    k.policy.chains[user.0 as usize].span = k.line(7);
    insta::assert_snapshot!(k.errors());
}

#[test]
fn chain_names_keywords_and_long_helpers() {
    let mut k = Case::new(
        FamilySet::IP,
        "chain input policy drop {\n  jump counter\n  jump a-very-long-chain-name-of-28\n}\nchain counter {\n  accept iface eth0.100\n}\nchain a-very-long-chain-name-of-28 {\n  drop not tcp 22 not from 10.0.0.0/8\n}\n",
    );
    let input = k.chain("input", Some(Verdict::Drop));
    let counter = k.chain("counter", None);
    let long = k.chain("a-very-long-chain-name-of-28", None);
    assert_eq!("a-very-long-chain-name-of-28".len(), 28);
    k.rule(input, 2, Action::Jump(counter), vec![]);
    k.rule(input, 3, Action::Jump(long), vec![]);
    k.rule(
        counter,
        6,
        Action::Accept,
        vec![c(Test::Iif(ifaces(&["eth0.100"])))],
    );
    k.rule(
        long,
        9,
        Action::Drop,
        vec![
            not(Test::L4(vec![tcp(&[(22, 22)])])),
            not(from(None, &["10.0.0.0/8"])),
        ],
    );
    insta::assert_snapshot!(k.compile());
}

#[test]
fn long_lists_get_one_chain_each_instead_of_a_product() {
    let mut k = Case::new(
        FamilySet::IP,
        "chain input policy drop {\n  accept tcp 22 from 10.0.0.0/24, 10.0.2.0/24, ... (17) to 192.0.2.1, 192.0.2.3, ... (17) limit 9/second\n}\n",
    );
    let input = k.chain("input", Some(Verdict::Drop));
    let srcs: Vec<String> = (0..17).map(|i| format!("10.0.{}.0/24", 2 * i)).collect();
    let dsts: Vec<String> = (0..17).map(|i| format!("192.0.2.{}", 2 * i + 1)).collect();
    let s: Vec<&str> = srcs.iter().map(String::as_str).collect();
    let d: Vec<&str> = dsts.iter().map(String::as_str).collect();
    k.rule(
        input,
        2,
        Action::Accept,
        vec![
            c(Test::L4(vec![tcp(&[(22, 22)])])),
            c(from(None, &s)),
            c(to(None, &d)),
            c(limit(9, 1, None)),
        ],
    );
    let text = k.compile();
    // 17 × 17 = 289 combinations, written as 17 + 17 dispatch rules.
    assert!(text.matches("-A ").count() < 40, "{text}");
    insta::assert_snapshot!(text);
}
