//! One test per construct of the iptables-save reader: each rule is read in
//! a small dump and its IR shown in a compact form.

use hwc::diagnostics::Diagnostic;
use hwc::import::{self, ImportOptions};
use hwc::ir::{
    Action, AddrSet, ChainKind, Cond, Family, Hook, OwnerNegation, Policy, Test, Verdict,
};
use hwc::source::{FileId, SourceFile};
use std::net::{Ipv4Addr, Ipv6Addr};

const CHAINS: &str = ":INPUT DROP [12:345]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:user - [0:0]\n:other - [0:0]\n";

fn dump(rules: &str) -> String {
    format!("*filter\n{CHAINS}{rules}\nCOMMIT\n")
}

fn read(text: &str) -> (Option<Policy>, Vec<Diagnostic>) {
    import::read_dump(FileId(0), text)
}

fn addrs(s: &AddrSet) -> String {
    let parts: Vec<String> = s
        .ranges
        .iter()
        .map(|r| {
            let show = |v: u128| match r.family {
                Family::V4 => Ipv4Addr::from(v as u32).to_string(),
                Family::V6 => Ipv6Addr::from(v).to_string(),
            };
            if r.lo == r.hi {
                show(r.lo)
            } else {
                format!("{}-{}", show(r.lo), show(r.hi))
            }
        })
        .collect();
    parts.join(",")
}

fn ports(p: &hwc::ir::PortSet) -> String {
    let parts: Vec<String> = p
        .ranges
        .iter()
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}:{b}")
            }
        })
        .collect();
    parts.join(",")
}

fn cond(c: &Cond) -> String {
    let body = match &c.test {
        Test::Family(f) => format!("family({f:?})"),
        Test::Iif(l) => format!(
            "iif({})",
            l.iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",")
        ),
        Test::Oif(l) => format!(
            "oif({})",
            l.iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",")
        ),
        Test::Src(s) => format!("src({})", addrs(s)),
        Test::Dst(s) => format!("dst({})", addrs(s)),
        Test::L4(alts) => {
            let a: Vec<String> = alts
                .iter()
                .map(|l| {
                    let mut s = format!("proto={}", l.proto);
                    if let Some(p) = &l.sport {
                        s += &format!(" sport={}", ports(p));
                    }
                    if let Some(p) = &l.dport {
                        s += &format!(" dport={}", ports(p));
                    }
                    if let Some(t) = &l.icmp {
                        let t: Vec<String> = t
                            .iter()
                            .map(|t| match t.code {
                                None => t.ty.to_string(),
                                Some((a, b)) if a == b => format!("{}/{a}", t.ty),
                                Some((a, b)) => format!("{}/{a}-{b}", t.ty),
                            })
                            .collect();
                        s += &format!(" icmp={}", t.join(","));
                    }
                    s
                })
                .collect();
            format!("l4({})", a.join("|"))
        }
        Test::AnyPort(p) => format!("anyport({})", ports(p)),
        Test::State(s) => format!(
            "state({})",
            s.iter().map(|s| s.name()).collect::<Vec<_>>().join(",")
        ),
        Test::Uid(r) | Test::Gid(r) => {
            let kind = if matches!(c.test, Test::Uid(_)) {
                "uid"
            } else {
                "gid"
            };
            let r: Vec<String> = r
                .iter()
                .map(|r| match &r.host_name {
                    Some(n) => format!("{n}@{:#x}", r.lo),
                    None if r.lo == r.hi => r.lo.to_string(),
                    None => format!("{}-{}", r.lo, r.hi),
                })
                .collect();
            let xt = if c.negated && c.owner_negation == OwnerNegation::Xt {
                "/xt"
            } else {
                ""
            };
            format!("{kind}{xt}({})", r.join(","))
        }
        Test::Limit(l) => format!("limit({}/{}s burst {:?})", l.rate, l.per_seconds, l.burst),
        Test::Opaque(t) => format!("opaque({t})"),
    };
    format!("{}{body}", if c.negated { "!" } else { "" })
}

fn action(p: &Policy, a: &Action) -> String {
    match a {
        Action::Jump(id) => format!("jump {}", p.chain(*id).name),
        Action::Goto(id) => format!("goto {}", p.chain(*id).name),
        Action::Reject(r) => format!("reject {r:?}"),
        Action::Log(l) => format!("log {:?} {:?} nflog={}", l.prefix, l.level, l.nflog),
        Action::Continue(t) => format!("continue({t:?})"),
        Action::Opaque(t) => format!("opaque({t:?})"),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// The only rule of chain INPUT (or the first rule of the first chain
/// that has one), compactly.
fn rule_of(text: &str) -> String {
    let (p, diags) = read(text);
    let errors: Vec<&Diagnostic> = diags.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "unexpected errors: {errors:#?}");
    let p = p.expect("a policy");
    let chain = p
        .chains
        .iter()
        .find(|c| !c.rules.is_empty())
        .expect("a rule");
    let r = &chain.rules[0];
    let mut parts: Vec<String> = r.matches.conds.iter().map(cond).collect();
    parts.push(format!("=> {}", action(&p, &r.action)));
    if let Some(c) = &r.comment {
        parts.push(format!("# {c}"));
    }
    parts.join(" ")
}

fn check(rule: &str, expect: &str) {
    let got = rule_of(&dump(rule));
    assert_eq!(got, expect, "rule: {rule}");
}

/// The diagnostics of a dump: `code line:col `text under the span``.
fn errors_of(text: &str) -> Vec<String> {
    let (p, diags) = read(text);
    let f = SourceFile::new("t", text);
    if diags.iter().any(Diagnostic::is_error) {
        assert!(p.is_none(), "a policy despite errors");
    }
    diags
        .iter()
        .map(|d| {
            let s = d.primary_span();
            let (line, col) = f.line_col(s.start);
            format!("{} {line}:{col} `{}`", d.code, f.slice(s))
        })
        .collect()
}

#[test]
fn builtin_chains_policies_and_counters() {
    let (p, diags) = read(&dump(""));
    assert!(diags.is_empty(), "{diags:?}");
    let p = p.expect("policy");
    assert_eq!(p.origin, hwc::ir::Origin::Dump(Family::V4));
    let summary: Vec<(String, ChainKind, Option<Verdict>)> = p
        .chains
        .iter()
        .map(|c| (c.name.clone(), c.kind, c.policy))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "INPUT".into(),
                ChainKind::Base(Hook::Input),
                Some(Verdict::Drop)
            ),
            (
                "FORWARD".into(),
                ChainKind::Base(Hook::Forward),
                Some(Verdict::Accept)
            ),
            (
                "OUTPUT".into(),
                ChainKind::Base(Hook::Output),
                Some(Verdict::Accept)
            ),
            ("user".into(), ChainKind::User, None),
            ("other".into(), ChainKind::User, None),
        ]
    );
    let text = dump("");
    assert_eq!(&text[p.chains[0].span.range()], ":INPUT DROP [12:345]");
    // Counters are optional.
    let (p, _) = read("*filter\n:INPUT ACCEPT\nCOMMIT\n");
    assert_eq!(p.expect("policy").chains[0].policy, Some(Verdict::Accept));
}

#[test]
fn rule_spans_are_dump_lines() {
    let text = dump("-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\r\n[5:300] -A user -j RETURN");
    let (p, _) = read(&text);
    let p = p.expect("policy");
    let r = &p.chains[0].rules[0];
    assert_eq!(
        &text[r.span.range()],
        "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT"
    );
    assert_eq!(
        &text[r.matches.conds[0].span.range()],
        "-p tcp -m tcp --dport 22"
    );
    assert_eq!(
        &text[p.chains[3].rules[0].span.range()],
        "[5:300] -A user -j RETURN"
    );
}

#[test]
fn targets_accept_drop_return_jump_goto() {
    check("-A INPUT -j ACCEPT", "=> accept");
    check("-A INPUT -j DROP", "=> drop");
    check("-A user -j RETURN", "=> return");
    check("-A INPUT -j user", "=> jump user");
    check("-A INPUT -g user", "=> goto user");
    check("-A INPUT --jump user", "=> jump user");
}

#[test]
fn reject_with() {
    check("-A INPUT -j REJECT", "=> reject None");
    check(
        "-A INPUT -p tcp -j REJECT --reject-with tcp-reset",
        "l4(proto=6) => reject Some(TcpReset)",
    );
    check(
        "-A INPUT -j REJECT --reject-with icmp-host-prohibited",
        "=> reject Some(IcmpHostProhibited)",
    );
    check(
        "-A INPUT -j REJECT --reject-with port-unreach",
        "=> reject Some(IcmpPortUnreachable)",
    );
}

#[test]
fn log_and_nflog() {
    check(
        r#"-A INPUT -j LOG --log-prefix "iptables denied: " --log-level 7"#,
        r#"=> log Some("iptables denied: ") Some(Debug) nflog=false"#,
    );
    check(
        "-A INPUT -j LOG --log-level warning --log-ip-options --log-uid",
        "=> log None Some(Warning) nflog=false",
    );
    check(
        r#"-A INPUT -j NFLOG --nflog-group 2 --nflog-prefix "in: " --nflog-threshold 10"#,
        r#"=> log Some("in: ") None nflog=true"#,
    );
}

#[test]
fn non_terminal_and_unknown_targets() {
    check(
        "-A INPUT -j MARK --set-xmark 0x1/0xffffffff",
        "=> continue(\"-j MARK --set-xmark 0x1/0xffffffff\")",
    );
    check(
        "-A INPUT -j CONNMARK --restore-mark",
        "=> continue(\"-j CONNMARK --restore-mark\")",
    );
    check(
        "-A INPUT -p tcp -j TCPMSS --clamp-mss-to-pmtu",
        "l4(proto=6) => continue(\"-j TCPMSS --clamp-mss-to-pmtu\")",
    );
    check(
        "-A INPUT -j NFQUEUE --queue-num 3",
        "=> opaque(\"-j NFQUEUE --queue-num 3\")",
    );
    check("-A INPUT -s 10.0.0.1", "src(10.0.0.1) => continue(\"\")");
    // An unknown target is kept, with a warning.
    let text = dump("-A INPUT -j FROBNICATE --hard");
    assert_eq!(rule_of(&text), "=> opaque(\"-j FROBNICATE --hard\")");
    assert_eq!(errors_of(&text), ["dump-unknown-target 7:13 `FROBNICATE`"]);
}

#[test]
fn negation_modern_and_old_placement() {
    check(
        "-A INPUT ! -s 10.0.0.0/8 -j DROP",
        "!src(10.0.0.0-10.255.255.255) => drop",
    );
    check(
        "-A INPUT -s ! 10.0.0.0/8 -j DROP",
        "!src(10.0.0.0-10.255.255.255) => drop",
    );
    check("-A INPUT ! -i lo -j DROP", "!iif(lo) => drop");
    check("-A INPUT -i ! lo -j DROP", "!iif(lo) => drop");
    check("-A INPUT ! -p tcp -j DROP", "!l4(proto=6) => drop");
    check(
        "-A INPUT -p tcp -m tcp ! --dport 22 -j DROP",
        "l4(proto=6) !l4(proto=6 dport=22) => drop",
    );
    check(
        "-A INPUT -p tcp -m tcp --dport ! 22 -j DROP",
        "l4(proto=6) !l4(proto=6 dport=22) => drop",
    );
    check(
        "-A INPUT -m state ! --state NEW -j DROP",
        "!state(new) => drop",
    );
}

#[test]
fn protocols_names_numbers_all() {
    check("-A INPUT -p tcp -j ACCEPT", "l4(proto=6) => accept");
    check("-A INPUT -p UDP -j ACCEPT", "l4(proto=17) => accept");
    check("-A INPUT -p 47 -j ACCEPT", "l4(proto=47) => accept");
    check("-A INPUT -p gre -j ACCEPT", "l4(proto=47) => accept");
    check("-A INPUT -p esp -j ACCEPT", "l4(proto=50) => accept");
    check("-A INPUT -p all -j ACCEPT", "=> accept");
    check("-A INPUT -p 0 -j ACCEPT", "=> accept");
    check("-A INPUT ! -p all -j ACCEPT", "opaque(! -p all) => accept");
}

#[test]
fn addresses_with_masks() {
    check(
        "-A INPUT -s 192.0.2.1/32 -j ACCEPT",
        "src(192.0.2.1) => accept",
    );
    check(
        "-A INPUT -s 192.0.2.1 -j ACCEPT",
        "src(192.0.2.1) => accept",
    );
    check(
        "-A INPUT -d 198.51.100.0/255.255.255.0 -j ACCEPT",
        "dst(198.51.100.0-198.51.100.255) => accept",
    );
    check(
        "-A INPUT -d 10.1.2.3/8 -j ACCEPT",
        "dst(10.0.0.0-10.255.255.255) => accept",
    );
    check(
        "-A INPUT -s 0.0.0.0/0 -j ACCEPT",
        "src(0.0.0.0-255.255.255.255) => accept",
    );
    check(
        "-A INPUT -s 192.0.2.1,198.51.100.0/24 -j ACCEPT",
        "src(192.0.2.1,198.51.100.0-198.51.100.255) => accept",
    );
    check(
        "-A INPUT -s 10.0.1.0/255.0.255.0 -j ACCEPT",
        "opaque(-s 10.0.1.0/255.0.255.0) => accept",
    );
    check(
        "-A INPUT ! -s 192.0.2.1,192.0.2.2 -j DROP",
        "opaque(! -s 192.0.2.1,192.0.2.2) => drop",
    );
}

#[test]
fn interfaces_and_wildcards() {
    check(
        "-A FORWARD -i eth0 -o eth1.13 -j ACCEPT",
        "iif(eth0) oif(eth1.13) => accept",
    );
    check(
        "-A FORWARD -i eth+ -o + -j ACCEPT",
        "iif(eth+) oif(+) => accept",
    );
}

#[test]
fn ports_and_ranges() {
    check(
        "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT",
        "l4(proto=6 dport=22) => accept",
    );
    check(
        "-A INPUT -p udp -m udp --sport 1024:65535 --dport 53 -j ACCEPT",
        "l4(proto=17 sport=1024:65535 dport=53) => accept",
    );
    check(
        "-A INPUT -p tcp -m tcp --dport :1023 -j ACCEPT",
        "l4(proto=6 dport=0:1023) => accept",
    );
    check(
        "-A INPUT -p tcp -m tcp --sport 1024: -j ACCEPT",
        "l4(proto=6 sport=1024:65535) => accept",
    );
    check(
        "-A INPUT -p sctp -m sctp --dport 3868 -j ACCEPT",
        "l4(proto=132 dport=3868) => accept",
    );
    // Without `-m tcp`, the protocol module is implicit.
    check(
        "-A INPUT -p tcp --dport 80 -j ACCEPT",
        "l4(proto=6 dport=80) => accept",
    );
    check(
        "-A INPUT -p tcp --destination-port 80 --source-port 99 -j ACCEPT",
        "l4(proto=6 sport=99 dport=80) => accept",
    );
}

#[test]
fn tcp_flags_and_syn_are_opaque() {
    check(
        "-A INPUT -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j DROP",
        "l4(proto=6) opaque(-m tcp --tcp-flags FIN,SYN,RST,ACK SYN) => drop",
    );
    check(
        "-A INPUT -p tcp -m tcp ! --tcp-flags FIN,SYN,RST,ACK SYN -m state --state NEW -j DROP",
        "l4(proto=6) opaque(-m tcp ! --tcp-flags FIN,SYN,RST,ACK SYN) state(new) => drop",
    );
    check(
        "-A INPUT -p tcp -m tcp --dport 22 --syn -j ACCEPT",
        "l4(proto=6 dport=22) opaque(-m tcp --syn) => accept",
    );
}

#[test]
fn icmp_types() {
    check(
        "-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT",
        "l4(proto=1 icmp=8) => accept",
    );
    check(
        "-A INPUT -p icmp -m icmp --icmp-type echo-request -j ACCEPT",
        "l4(proto=1 icmp=8) => accept",
    );
    check(
        "-A INPUT -p icmp -m icmp --icmp-type 3/4 -j ACCEPT",
        "l4(proto=1 icmp=3/4) => accept",
    );
    check(
        "-A INPUT -p icmp -m icmp --icmp-type fragmentation-needed -j ACCEPT",
        "l4(proto=1 icmp=3/4) => accept",
    );
    check(
        "-A INPUT -p icmp -m icmp --icmp-type any -j ACCEPT",
        "l4(proto=1) => accept",
    );
    check(
        "-A INPUT -p icmp -m icmp ! --icmp-type 8 -j DROP",
        "l4(proto=1) !l4(proto=1 icmp=8) => drop",
    );
}

#[test]
fn icmpv6_types_make_an_ipv6_dump() {
    let text =
        dump("-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type neighbour-solicitation -j ACCEPT");
    assert_eq!(rule_of(&text), "l4(proto=58 icmp=135) => accept");
    let (p, _) = read(&text);
    assert_eq!(p.expect("policy").origin, hwc::ir::Origin::Dump(Family::V6));
    check(
        "-A INPUT -p icmpv6 -m icmp6 --icmpv6-type 1/4 -j ACCEPT",
        "l4(proto=58 icmp=1/4) => accept",
    );
}

#[test]
fn state_and_conntrack() {
    check(
        "-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT",
        "state(established,related) => accept",
    );
    check(
        "-A INPUT -m conntrack --ctstate NEW,UNTRACKED -j ACCEPT",
        "state(new,untracked) => accept",
    );
    check(
        "-A INPUT -m conntrack --ctstate NEW --ctproto 17 --ctorigdstport 53 -j ACCEPT",
        "state(new) opaque(-m conntrack --ctproto 17) opaque(-m conntrack --ctorigdstport 53) => accept",
    );
    check(
        "-A INPUT -m conntrack --ctstate DNAT -j ACCEPT",
        "opaque(-m conntrack --ctstate DNAT) => accept",
    );
}

#[test]
fn multiport() {
    check(
        "-A INPUT -p tcp -m multiport --dports 80,443,9025:9040 -j ACCEPT",
        "l4(proto=6 dport=80,443,9025:9040) => accept",
    );
    check(
        "-A INPUT -p udp -m multiport --sports 65001,5004 -j RETURN",
        "l4(proto=17 sport=65001,5004) => return",
    );
    check(
        "-A INPUT -p tcp -m multiport --ports 22 -j ACCEPT",
        "l4(proto=6) anyport(22) => accept",
    );
    check(
        "-A INPUT -p tcp -m multiport ! --dports 22,80 -j DROP",
        "l4(proto=6) !l4(proto=6 dport=22,80) => drop",
    );
    // Ports given twice: both must hold.
    check(
        "-A INPUT -p tcp -m tcp --dport 22 -m multiport --dports 22,80 -j ACCEPT",
        "l4(proto=6 dport=22) l4(proto=6 dport=22,80) => accept",
    );
}

#[test]
fn iprange() {
    check(
        "-A INPUT -m iprange --src-range 192.0.2.10-192.0.2.20 -j ACCEPT",
        "src(192.0.2.10-192.0.2.20) => accept",
    );
    check(
        "-A INPUT -m iprange ! --dst-range 192.0.2.10-192.0.2.20 -j DROP",
        "!dst(192.0.2.10-192.0.2.20) => drop",
    );
}

#[test]
fn owner_numbers_names_and_negation() {
    check(
        "-A OUTPUT -m owner --uid-owner 0 -j ACCEPT",
        "uid(0) => accept",
    );
    check(
        "-A OUTPUT -m owner --uid-owner 1000-1999 -j ACCEPT",
        "uid(1000-1999) => accept",
    );
    check(
        "-A OUTPUT -m owner ! --uid-owner 0 -j DROP",
        "!uid/xt(0) => drop",
    );
    check(
        "-A OUTPUT -m owner --gid-owner 4 -j ACCEPT",
        "gid(4) => accept",
    );
    check(
        "-A OUTPUT -m owner --uid-owner www-data --gid-owner adm -j ACCEPT",
        "uid(www-data@0xf0000000) gid(adm@0xf0000001) => accept",
    );
    check(
        "-A OUTPUT -m owner --gid-owner 100 --suppl-groups -j ACCEPT",
        "opaque(-m owner --gid-owner 100 --suppl-groups) => accept",
    );
    check(
        "-A OUTPUT -m owner --socket-exists -j ACCEPT",
        "opaque(-m owner --socket-exists) => accept",
    );
    // The same name keeps its symbolic id.
    let text = dump(
        "-A OUTPUT -m owner --uid-owner bob -j ACCEPT\n-A OUTPUT -m owner --uid-owner bob -j DROP",
    );
    let (p, _) = read(&text);
    let p = p.expect("policy");
    let ids: Vec<u32> = p.chains[2]
        .rules
        .iter()
        .map(|r| match &r.matches.conds[0].test {
            Test::Uid(r) => r[0].lo,
            _ => 0,
        })
        .collect();
    assert_eq!(ids, [hwc::ir::symbolic_id(0), hwc::ir::symbolic_id(0)]);
}

#[test]
fn limit() {
    check(
        "-A INPUT -m limit --limit 3/min --limit-burst 10 -j LOG",
        "limit(3/60s burst Some(10)) => log None None nflog=false",
    );
    check(
        "-A INPUT -m limit --limit 10000/sec -j RETURN",
        "limit(10000/1s burst None) => return",
    );
    check(
        "-A INPUT -m limit -j ACCEPT",
        "limit(3/3600s burst None) => accept",
    );
}

#[test]
fn comments() {
    check(
        r#"-A INPUT -p udp -m udp --sport 53 -m comment --comment "Late DNS Replies" -j DROP"#,
        "l4(proto=17 sport=53) => drop # Late DNS Replies",
    );
    check(
        r#"-A INPUT -m comment --comment "say \"hi\"" -j ACCEPT"#,
        r#"=> accept # say "hi""#,
    );
}

#[test]
fn mac_addrtype_fragments_and_unknown_modules_are_opaque() {
    check(
        "-A INPUT -m mac --mac-source 00:11:22:33:44:55 -j ACCEPT",
        "opaque(-m mac --mac-source 00:11:22:33:44:55) => accept",
    );
    check(
        "-A INPUT -m addrtype --dst-type LOCAL -j RETURN",
        "opaque(-m addrtype --dst-type LOCAL) => return",
    );
    check("-A INPUT -f -j DROP", "opaque(-f) => drop");
    check("-A INPUT ! -f -j DROP", "opaque(! -f) => drop");
    check(
        "-A INPUT -p tcp -m recent --update --seconds 60 --hitcount 4 --name SSH --rsource -j DROP",
        "l4(proto=6) opaque(-m recent --update --seconds 60 --hitcount 4 --name SSH --rsource) => drop",
    );
    check(
        "-A INPUT -m recent ! --rcheck --name x -s 192.0.2.1 -j DROP",
        "opaque(-m recent ! --rcheck --name x) src(192.0.2.1) => drop",
    );
    check(
        r#"-A INPUT -m string --string "GET /x" --algo bm -j DROP"#,
        r#"opaque(-m string --string "GET /x" --algo bm) => drop"#,
    );
}

#[test]
fn insert_lines_and_family_prefixes() {
    let text = dump("-A INPUT -j DROP\n-I INPUT -j ACCEPT\n-I INPUT 2 -j RETURN\n-6 -A INPUT -s ::1 -j ACCEPT\n-4 -A INPUT -s 127.0.0.1 -j LOG");
    let (p, diags) = read(&text);
    assert!(diags.is_empty(), "{diags:?}");
    let acts: Vec<String> = p.expect("policy").chains[0]
        .rules
        .iter()
        .map(|r| format!("{:?}", r.action))
        .collect();
    assert_eq!(
        acts,
        [
            "Accept",
            "Return",
            "Drop",
            "Log(LogSpec { prefix: None, level: None, nflog: false })"
        ]
    );
}

#[test]
fn family_detection_and_forcing() {
    let v6 = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s fe80::/10 -j ACCEPT\nCOMMIT\n";
    let (p, _) = read(v6);
    assert_eq!(p.expect("policy").origin, hwc::ir::Origin::Dump(Family::V6));
    let header = "# Generated by ip6tables-save v1.6.0 on Sun Jul  3 15:29:40 2016\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n";
    let (p, _) = read(header);
    assert_eq!(p.expect("policy").family, hwc::ir::FamilySet::IP6);
    let plain = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -j ACCEPT\nCOMMIT\n";
    let (p, _) = read(plain);
    assert_eq!(p.expect("policy").origin, hwc::ir::Origin::Dump(Family::V4));
    let opts = ImportOptions {
        family: Some(Family::V6),
        name: Some("x".into()),
    };
    let (p, _) = import::read_dump_with(FileId(0), plain, &opts);
    let p = p.expect("policy");
    assert_eq!(
        (p.origin, p.name.as_str()),
        (hwc::ir::Origin::Dump(Family::V6), "x")
    );
    // A forced family that the content contradicts is an error.
    let (p, diags) = import::read_dump_with(
        FileId(0),
        v6,
        &ImportOptions {
            family: Some(Family::V4),
            name: None,
        },
    );
    assert!(p.is_none());
    assert_eq!(diags[0].code, "dump-family");
    // ip6tables reject reasons.
    let text = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j REJECT --reject-with icmp6-adm-prohibited\nCOMMIT\n";
    assert_eq!(rule_of(text), "=> reject Some(Icmp6AdmProhibited)");
}

#[test]
fn other_tables_are_read_and_reported() {
    let text = "*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 10.0.0.0/8 -j MASQUERADE\nCOMMIT\n*raw\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n";
    let (p, diags) = read(text);
    assert!(p.is_some());
    let shown: Vec<String> = diags
        .iter()
        .map(|d| format!("{} {} {}", d.code, d.severity.name(), d.message))
        .collect();
    assert_eq!(
        shown,
        [
            "out-of-scope-table warning table `nat` is read but not analysed",
            "out-of-scope-table info table `raw` is read but not analysed",
        ]
    );
    assert_eq!(errors_of(text)[0], "out-of-scope-table 1:1 `*nat`");
    // Errors in other tables are still errors.
    let bad = "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 10.0.0.300 -j MASQUERADE\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n";
    assert_eq!(errors_of(bad)[0], "dump-syntax 3:19 `10.0.0.300`");
    // No filter table at all.
    let (p, diags) = read("*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n");
    assert!(p.expect("policy").chains.is_empty());
    assert!(diags.iter().any(|d| d.code == "no-filter-table"));
}
