//! Parser tests through one helper: `check(input, expect)` parses the input
//! and compares a compact rendering of the AST and the diagnostics with the
//! expected text (an insta inline snapshot).

use super::ast::*;
use super::parse;
use crate::diagnostics::Diagnostic;
use crate::source::{FileId, SourceFile, Span, Spanned};
use std::fmt::Write;

/// Renders the AST of `input` and its diagnostics, one item per line.
fn render(input: &str) -> String {
    let (file, diags) = parse(FileId(0), input);
    let src = SourceFile::new("t.hw", input);
    let mut out = String::new();
    for item in &file.items {
        item_str(&mut out, item);
    }
    for d in &diags {
        diag_str(&mut out, &src, d);
    }
    for d in &diags {
        for l in &d.labels {
            assert!(l.span.end as usize <= input.len(), "span past the end");
            assert!(input.is_char_boundary(l.span.start as usize));
            assert!(input.is_char_boundary(l.span.end as usize));
        }
    }
    out
}

macro_rules! check {
    ($input:expr, @$expect:literal) => {
        insta::assert_snapshot!(render($input), @$expect)
    };
}

fn anns(out: &mut String, a: &[Annotation]) {
    for a in a {
        let names: Vec<&str> = a.allow.iter().map(|i| i.node.as_str()).collect();
        let _ = write!(out, "@allow({}) ", names.join(","));
    }
}

fn item_str(out: &mut String, item: &Item) {
    match item {
        Item::Policy(p) => {
            let s: Vec<String> = p
                .settings
                .iter()
                .map(|s| match &s.node {
                    Setting::Family(f) => format!("family {}", f.node),
                })
                .collect();
            let _ = writeln!(out, "policy {} {{{}}}", p.name.node, s.join("; "));
        }
        Item::Include(i) => {
            let _ = writeln!(out, "include {:?}", i.path.node);
        }
        Item::Def(d) => {
            anns(out, &d.annotations);
            let _ = writeln!(
                out,
                "{} {} = {}",
                d.kind.keyword(),
                d.name.node,
                values(&d.values)
            );
        }
        Item::Chain(c) => {
            anns(out, &c.annotations);
            let pol = match c.policy.as_ref().map(|p| p.node) {
                Some(Verdict::Accept) => " policy accept",
                Some(Verdict::Drop) => " policy drop",
                None => "",
            };
            let _ = writeln!(out, "chain {}{pol} {{", c.name.node);
            for r in &c.rules {
                out.push_str("  ");
                anns(out, &r.annotations);
                let _ = writeln!(out, "{}{}", action(&r.action.node), matches(&r.matches));
            }
            out.push_str("}\n");
        }
        Item::Assert(a) => {
            let k = match a.kind.node {
                AssertKind::Allow => "allow",
                AssertKind::Deny => "deny",
                AssertKind::Reachable => "reachable",
            };
            let _ = writeln!(out, "assert {k} {}{}", a.chain.node, matches(&a.matches));
        }
        Item::Egress(e) => {
            anns(out, &e.annotations);
            let _ = writeln!(
                out,
                "egress{} only {{",
                matches(std::slice::from_ref(&e.selector))
            );
            for en in &e.entries {
                let _ = writeln!(out, " {}", matches(&en.matches));
            }
            out.push_str("}\n");
        }
    }
}

fn action(a: &Action) -> String {
    match a {
        Action::Accept => "accept".into(),
        Action::Drop => "drop".into(),
        Action::Return => "return".into(),
        Action::Reject(r) => match r {
            Some(r) => format!("reject({})", r.node),
            None => "reject".into(),
        },
        Action::Jump(c) => format!("jump({})", c.node),
        Action::Goto(c) => format!("goto({})", c.node),
        Action::Log(o) => format!(
            "log(prefix={:?} level={:?})",
            o.prefix.as_ref().map(|p| p.node.as_str()),
            o.level.as_ref().map(|l| l.node.as_str())
        ),
    }
}

fn proto(p: Proto) -> String {
    match p {
        Proto::Tcp => "tcp".into(),
        Proto::Udp => "udp".into(),
        Proto::Sctp => "sctp".into(),
        Proto::Icmp => "icmp".into(),
        Proto::Icmpv6 => "icmpv6".into(),
        Proto::Number(n) => format!("#{n}"),
    }
}

fn value(v: &Value) -> String {
    match v {
        Value::Cidr { addr, prefix } => match prefix {
            Some(p) => format!("{addr}/{p}"),
            None => addr.to_string(),
        },
        Value::AddrRange { lo, hi } => format!("{lo}..{hi}"),
        Value::Number(n) => n.to_string(),
        Value::NumRange { lo, hi } => format!("{lo}..{hi}"),
        Value::TypeCode { ty, code } => format!("{ty}/{code}"),
        Value::Str(s) => format!("{s:?}"),
        Value::Name(n) => format!("name:{n}"),
        Value::Wildcard(w) => format!("wild:{w}"),
        Value::Id { kind, lo, hi } => format!(
            "{}({lo}..{hi})",
            if *kind == IdKind::Uid { "uid" } else { "gid" }
        ),
        Value::Service { proto: p, args } => format!("{}({})", proto(p.node), values(args)),
    }
}

fn values(vs: &[Spanned<Value>]) -> String {
    vs.iter()
        .map(|v| value(&v.node))
        .collect::<Vec<_>>()
        .join(", ")
}

fn idents(vs: &[Ident]) -> String {
    vs.iter()
        .map(|v| v.node.clone())
        .collect::<Vec<_>>()
        .join(", ")
}

fn matches(ms: &[Spanned<MatchExpr>]) -> String {
    let mut s = String::new();
    for m in ms {
        s.push(' ');
        if m.not.is_some() {
            s.push_str("not ");
        }
        let _ = match &m.kind {
            MatchKind::Proto { proto: p, args } => write!(s, "{}[{}]", proto(p.node), values(args)),
            MatchKind::Sport(v) => write!(s, "sport[{}]", values(v)),
            MatchKind::Dport(v) => write!(s, "dport[{}]", values(v)),
            MatchKind::Service(v) => write!(s, "service[{}]", idents(v)),
            MatchKind::From(v) => write!(s, "from[{}]", values(v)),
            MatchKind::To(v) => write!(s, "to[{}]", values(v)),
            MatchKind::Iface(v) => write!(s, "iface[{}]", values(v)),
            MatchKind::Oface(v) => write!(s, "oface[{}]", values(v)),
            MatchKind::State(v) => write!(s, "state[{}]", idents(v)),
            MatchKind::User(v) => write!(s, "user[{}]", values(v)),
            MatchKind::Group(v) => write!(s, "group[{}]", values(v)),
            MatchKind::Limit { rate, unit, burst } => write!(
                s,
                "limit[{}/{:?} burst {:?}]",
                rate.node,
                unit.node,
                burst.map(|b| b.node)
            ),
            MatchKind::Comment(c) => write!(s, "comment[{:?}]", c.node),
        };
    }
    s
}

fn at(src: &SourceFile, sp: Span) -> String {
    let (l, c) = src.line_col(sp.start);
    format!("{l}:{c} `{}`", src.slice(sp))
}

fn diag_str(out: &mut String, src: &SourceFile, d: &Diagnostic) {
    let _ = writeln!(out, "{}: {}", d.code, d.message);
    for l in &d.labels {
        let mark = if l.primary { "^" } else { "-" };
        let _ = writeln!(out, "  {mark} {} {}", at(src, l.span), l.message);
    }
    if let Some(h) = &d.help {
        let _ = writeln!(out, "  help: {h}");
    }
}

/// The example policy of LANGUAGE.md.
pub(crate) const EXAMPLE: &str = r#"# examples/webserver.hw
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

#[test]
fn language_md_example_parses_cleanly() {
    check!(EXAMPLE, @r#"
    policy webserver {family inet}
    host resolver = 192.0.2.53
    host timeserver = 192.0.2.123, 2001:db8::123
    net admins = 198.51.100.0/24
    service http = tcp(80)
    service dns = udp(53), tcp(53)
    service ntp = udp(123)
    user root = uid(0..0)
    user web = "www-data"
    chain input policy drop {
      accept iface[name:lo]
      accept icmp[name:echo-request]
      accept state[established, related]
      drop state[invalid]
      accept state[new] service[http]
      accept state[new] tcp[22] from[name:admins]
      log(prefix=Some("INPUT ") level=Some("warn")) limit[10/Minute burst Some(5)]
    }
    chain output policy drop {
      accept oface[name:lo]
      accept state[established, related]
      accept state[new] user[name:root]
      accept icmp[name:echo-request]
      accept service[dns] to[name:resolver]
      accept service[ntp] to[name:timeserver]
      log(prefix=Some("OUTPUT ") level=Some("warn")) limit[10/Minute burst Some(5)]
    }
    chain forward policy drop {
    }
    assert deny input state[new] tcp[23]
    assert allow input state[new] service[http]
    egress not user[name:root] only {
      service[dns] to[name:resolver]
      service[ntp] to[name:timeserver]
    }
    "#);
}

// ------------------------------------------------------------ constructs

#[test]
fn policy_and_include() {
    check!("policy p { family ip6 }\ninclude \"common/defs.hw\"\n", @r#"
    policy p {family ip6}
    include "common/defs.hw"
    "#);
}

#[test]
fn address_definitions() {
    check!(
        "host a = 192.0.2.1, 2001:db8::1, ::ffff:192.0.2.9\nnet n = 198.51.100.0/24, 2001:db8::/32\nhost r = 192.0.2.10-192.0.2.20, fe80::1-fe80::ff\nnet both = a, n,\n   r   # continued\nlist l = 80, 443, 8000-8080, 10.0.0.0/8, other\n",
        @"
    host a = 192.0.2.1, 2001:db8::1, ::ffff:192.0.2.9
    net n = 198.51.100.0/24, 2001:db8::/32
    host r = 192.0.2.10..192.0.2.20, fe80::1..fe80::ff
    net both = name:a, name:n, name:r
    list l = 80, 443, 8000..8080, 10.0.0.0/8, name:other
    "
    );
}

#[test]
fn service_definitions_group_numbers_under_their_protocol() {
    check!(
        "service s = tcp 80, 443, udp 53, tcp 8000-8080, icmp echo-request, icmpv6 128, icmp 3/4, proto gre, dns\nservice t = tcp web-ports, sctp, icmp 8, 0, proto 47, proto 6, proto esp\n",
        @"
    service s = tcp(80, 443), udp(53), tcp(8000..8080), icmp(name:echo-request), icmpv6(128), icmp(3/4), #47(), name:dns
    service t = tcp(name:web-ports), sctp(), icmp(8, 0), #47(), tcp(), #50()
    "
    );
}

#[test]
fn owner_and_interface_definitions() {
    check!(
        "user u = uid 0, uid 1000-1999, \"www-data\", root\ngroup g = gid 4, \"adm\"\niface i = eth0, \"wg0\", eth+, eth0.100\n",
        @r#"
    user u = uid(0..0), uid(1000..1999), "www-data", name:root
    group g = gid(4..4), "adm"
    iface i = name:eth0, "wg0", wild:eth+, name:eth0.100
    "#
    );
}

#[test]
fn actions() {
    check!(
        "chain c {\n accept\n drop\n reject\n reject tcp-reset\n log\n log prefix \"x \\\"y\\\" \\\\\" level 4\n log level info prefix \"p\"\n jump other\n goto other\n return\n}\n",
        @r#"
    chain c {
      accept
      drop
      reject
      reject(tcp-reset)
      log(prefix=None level=None)
      log(prefix=Some("x \"y\" \\") level=Some("4"))
      log(prefix=Some("p") level=Some("info"))
      jump(other)
      goto(other)
      return
    }
    "#
    );
}

#[test]
fn every_match_kind() {
    check!(
        "chain c {\n accept tcp\n accept udp 53, 123 sport 1024-65535 dport web\n accept icmp echo-request, 3/4, 8\n accept icmpv6 128\n accept proto gre\n accept proto 47\n accept proto 17\n accept service dns, ntp\n accept from 192.0.2.1, admins to 2001:db8::/32\n accept iface lo oface eth+\n accept iface \"wg0\", eth0.100\n accept state new, established, related, invalid, untracked\n accept user root, uid 33, \"www-data\" group gid 4, adm\n accept limit 10/second\n accept limit 1/day burst 3 comment \"rate\"\n}\n",
        @r#"
    chain c {
      accept tcp[]
      accept udp[53, 123] sport[1024..65535] dport[name:web]
      accept icmp[name:echo-request, 3/4, 8]
      accept icmpv6[128]
      accept #47[]
      accept #47[]
      accept udp[]
      accept service[dns, ntp]
      accept from[192.0.2.1, name:admins] to[2001:db8::/32]
      accept iface[name:lo] oface[wild:eth+]
      accept iface["wg0", name:eth0.100]
      accept state[new, established, related, invalid, untracked]
      accept user[name:root, uid(33..33), "www-data"] group[gid(4..4), name:adm]
      accept limit[10/Second burst None]
      accept limit[1/Day burst Some(3)] comment["rate"]
    }
    "#
    );
}

#[test]
fn not_negates_any_match() {
    check!("chain c {\n drop not from admins not tcp 22 not user root\n}\n", @"
    chain c {
      drop not from[name:admins] not tcp[22] not user[name:root]
    }
    ");
}

#[test]
fn statements_separated_by_semicolons_and_one_line_blocks() {
    check!(
        "host a = 192.0.2.1; host b = 192.0.2.2\nchain forward policy drop {}\nchain c policy accept { accept tcp 22; drop }\npolicy p { family inet }\n",
        @"
    host a = 192.0.2.1
    host b = 192.0.2.2
    chain forward policy drop {
    }
    chain c policy accept {
      accept tcp[22]
      drop
    }
    policy p {family inet}
    "
    );
}

#[test]
fn assertions_and_egress() {
    check!(
        "assert allow input state new service http\nassert reachable output udp 53\nassert deny forward\negress group not adm, wheel only {\n  service dns to resolver\n  tcp 443; udp 123\n}\negress user web only {}\n",
        @"
    assert allow input state[new] service[http]
    assert reachable output udp[53]
    assert deny forward
    egress not group[name:adm, name:wheel] only {
      service[dns] to[name:resolver]
      tcp[443]
      udp[123]
    }
    egress user[name:web] only {
    }
    "
    );
}

#[test]
fn annotations_attach_to_the_next_item_or_rule() {
    check!(
        "@allow(unused)\nhost a = 192.0.2.1\n@allow(unreachable-chain) @allow(default-accept)\nchain c {\n  @allow(redundant) accept tcp 22\n  @allow(shadowed,\n         overlap)\n  drop\n}\n@allow(nonroot-egress) egress user web only {}\n",
        @"
    @allow(unused) host a = 192.0.2.1
    @allow(unreachable-chain) @allow(default-accept) chain c {
      @allow(redundant) accept tcp[22]
      @allow(shadowed,overlap) drop
    }
    @allow(nonroot-egress) egress user[name:web] only {
    }
    "
    );
}

#[test]
fn comments_blank_lines_and_crlf() {
    check!("# only a comment\r\n\r\nhost a = 192.0.2.1 # trailing\r\nchain c { # open\r\n  accept # ok\r\n}\r\n", @"
    host a = 192.0.2.1
    chain c {
      accept
    }
    ");
}

#[test]
fn protocol_numbers_are_canonical() {
    check!(
        "chain c {\n accept proto tcp\n accept proto 6\n accept proto icmp\n accept proto 58\n accept proto ipv6-icmp\n accept proto 0\n accept proto 255\n}\n",
        @"
    chain c {
      accept tcp[]
      accept tcp[]
      accept icmp[]
      accept icmpv6[]
      accept icmpv6[]
      accept #0[]
      accept #255[]
    }
    "
    );
}

#[test]
fn empty_and_blank_files() {
    check!("", @"");
    check!("\n\n  ;;\n# x\n", @"");
    check!("\u{feff}host a = 192.0.2.1\n", @"host a = 192.0.2.1");
}

// ------------------------------------------------------------ error families

#[test]
fn unknown_top_level_word() {
    check!("hots a = 192.0.2.1\n", @"
    syntax: expected a statement such as `host`, `service`, `chain`, `assert` or `egress`, found `hots`
      ^ 1:1 `hots` expected a statement here
      help: did you mean `host`?
    ");
    check!("frobnicate\n", @"
    syntax: expected a statement such as `host`, `service`, `chain`, `assert` or `egress`, found `frobnicate`
      ^ 1:1 `frobnicate` expected a statement here
      help: a statement starts with one of `policy`, `include`, `host`, `net`, `list`, `service`, `user`, `group`, `iface`, `chain`, `assert` or `egress`
    ");
    check!("accept tcp 22\n", @"
    syntax: expected a statement such as `host`, `service`, `chain`, `assert` or `egress`, found `accept`
      ^ 1:1 `accept` expected a statement here
      help: rules belong inside a chain: `chain input policy drop { ... }`
    ");
}

#[test]
fn bad_addresses() {
    check!("host a = 192.0.2.300\n", @"
    host a = 
    syntax: `192.0.2.300` is not a valid IPv4 address
      ^ 1:10 `192.0.2.300` not an address
      help: an IPv4 address is four numbers from 0 to 255 separated by dots, such as `192.0.2.1`
    ");
    check!("host a = 1.2.3\n", @"
    host a = 
    syntax: `1.2.3` is not a valid IPv4 address
      ^ 1:10 `1.2.3` not an address
      help: an IPv4 address is four numbers from 0 to 255 separated by dots, such as `192.0.2.1`
    ");
    check!("host a = 2001:db8:::1, 192.0.2.0/300\n", @"
    host a = 
    syntax: `2001:db8:::1` is not a valid IPv6 address
      ^ 1:10 `2001:db8:::1` not an address
      help: an IPv6 address is up to eight groups of hex digits separated by `:`, with `::` for a run of zeros, such as `2001:db8::1`
    syntax: the prefix length `/300` is too long
      ^ 1:33 `/300` too long
      help: a prefix length is at most 32 for IPv4 and 128 for IPv6
    ");
    check!("chain c {\n accept from 192.0.2.1-192.0.2.\n}\n", @"
    chain c {
      accept from[]
    }
    syntax: `192.0.2.` is not a valid IPv4 address
      ^ 2:24 `192.0.2.` not an address
      help: an IPv4 address is four numbers from 0 to 255 separated by dots, such as `192.0.2.1`
    ");
    check!("host a = 80\n", @"
    syntax: expected an address, a network or a name, found `80`
      ^ 1:10 `80` expected an address here
      help: write an address (`192.0.2.1`, `2001:db8::1`), a network (`198.51.100.0/24`), a range (`192.0.2.10-192.0.2.20`) or the name of a `host`, `net` or `list`
    ");
}

#[test]
fn bad_numbers() {
    check!("chain c {\n accept tcp 99999999999999999999999\n}\n", @"
    chain c {
      accept tcp[]
    }
    syntax: the number `99999999999999999999999` is too large
      ^ 2:13 `99999999999999999999999` too large
      help: ports go up to 65535, ICMP types to 255 and user or group ids to 4294967295
    ");
    check!("chain c {\n accept tcp 22x\n}\n", @"
    chain c {
    }
    syntax: expected a port, a port range such as `8000-8080` or a name, a match such as `from`, `to`, `tcp 22` or the end of the rule, found `22x`
      ^ 2:13 `22x` expected a port here
      help: `22x` is neither a number nor a name: numbers have only digits, and names start with a letter or `_`
    ");
    check!("chain c {\n accept proto 256\n accept proto grep\n}\n", @"
    chain c {
      accept
      accept
    }
    syntax: protocol number `256` is out of range
      ^ 2:15 `256` not a protocol number
      help: protocol numbers go from 0 to 255
    syntax: unknown protocol `grep`
      ^ 3:15 `grep` unknown protocol
      help: did you mean `gre`? Otherwise give the protocol number (0 to 255)
    ");
    check!("chain c {\n accept limit 10/minutes\n}\n", @"
    chain c {
      accept
    }
    syntax: unknown time unit `minutes` in a limit
      ^ 2:18 `minutes` unknown unit
      help: did you mean `minute`? write the rate as `N/second`, `N/minute`, `N/hour` or `N/day`
    ");
}

#[test]
fn unclosed_brace() {
    check!("chain input policy drop {\n  accept tcp 22\n", @"
    chain input policy drop {
      accept tcp[22]
    }
    syntax: the `{` of chain `input` is never closed
      ^ 1:25 `{` this `{` has no matching `}`
      - 3:1 `` the file ends here
      help: add `}` on its own line after the last rule of the chain
    ");
    check!(
        "chain input policy drop {\n  accept tcp 22\nchain output {\n  accept\n}\nhost a = 192.0.2.1\n",
        @"
    chain input policy drop {
      accept tcp[22]
    }
    chain output {
      accept
    }
    host a = 192.0.2.1
    syntax: the `{` of chain `input` is never closed
      ^ 1:25 `{` this `{` has no matching `}`
      - 3:1 `chain` `chain` ends here, before this line
      help: add `}` on its own line after the last rule of the chain
    "
    );
    check!("policy p {\n family inet\nhost a = 192.0.2.1\n", @"
    policy p {family inet}
    host a = 192.0.2.1
    syntax: the `{` of policy `p` is never closed
      ^ 1:10 `{` this `{` has no matching `}`
      - 3:1 `host` `policy` ends here, before this line
      help: add `}` on its own line after the last setting of the policy
    ");
}

#[test]
fn missing_equals() {
    check!("host a 192.0.2.1\n", @"
    syntax: expected `=`, found `192.0.2.1`
      ^ 1:8 `192.0.2.1` expected `=` here
      help: a definition needs `=` between its name and its values: `host NAME = VALUE, VALUE`
    ");
    check!("service web tcp 80\n", @"
    syntax: expected `=`, found `tcp`
      ^ 1:13 `tcp` expected `=` here
      help: a definition needs `=` between its name and its values: `service NAME = VALUE, VALUE`
    ");
}

#[test]
fn keyword_as_name() {
    check!("host from = 192.0.2.1\n", @"
    syntax: `from` is a reserved keyword and cannot be used as a name
      ^ 1:6 `from` reserved keyword
      help: keywords are reserved; choose another name, such as `from-1`
    ");
    check!("chain drop {\n}\n", @"
    syntax: `drop` is a reserved keyword and cannot be used as a chain name
      ^ 1:7 `drop` reserved keyword
      help: keywords are reserved; choose another name, such as `drop-chain`
    ");
    check!("chain c {\n jump log\n}\n", @"
    chain c {
    }
    syntax: `log` is a reserved keyword and cannot be used as a chain name
      ^ 2:7 `log` reserved keyword
      help: keywords are reserved; choose another name, such as `log-chain`
    ");
}

#[test]
fn unterminated_string() {
    check!("chain c {\n log prefix \"INPUT \n accept\n}\n", @r#"
    chain c {
      accept
    }
    syntax: unterminated string
      ^ 2:13 `"INPUT ` this string has no closing `"`
      help: add `"` at the end of the string; a string cannot continue on the next line
    "#);
    check!("include \"a.hw", @r#"
    syntax: unterminated string
      ^ 1:9 `"a.hw` this string has no closing `"`
      help: add `"` at the end of the string; a string cannot continue on the next line
    "#);
}

#[test]
fn bad_escape() {
    check!("chain c {\n accept comment \"a\\tb\"\n}\n", @r#"
    chain c {
      accept comment["a\\tb"]
    }
    syntax: unknown escape `\t` in a string
      ^ 2:19 `\t` unknown escape
      help: the only escapes are `\"` for a quote and `\\` for a backslash; write other characters as they are
    "#);
}

#[test]
fn bad_match_word() {
    check!("chain c {\n accept tcp 22 frm admins\n}\n", @"
    chain c {
    }
    syntax: expected a match such as `from`, `to`, `tcp 22` or the end of the rule, found `frm`
      ^ 2:16 `frm` expected a match here
      help: did you mean `from`?
    ");
    check!("chain c {\n accept frm admins\n}\n", @"
    chain c {
    }
    syntax: expected a match such as `from`, `to`, `tcp 22` or the end of the rule, found `frm`
      ^ 2:9 `frm` expected a match here
      help: did you mean `from`?
    ");
    check!("chain c {\n accept not frm admins\n}\n", @"
    chain c {
    }
    syntax: expected a match such as `from`, `to`, `tcp 22`, found `frm`
      ^ 2:13 `frm` expected a match here
      help: did you mean `from`?
    ");
    check!("chain c {\n accept 22\n}\n", @"
    chain c {
    }
    syntax: expected a match such as `from`, `to`, `tcp 22` or the end of the rule, found `22`
      ^ 2:9 `22` expected a match here
      help: a value needs a match keyword in front of it, e.g. `tcp 22` or `from 22`; separate list values with `,`
    ");
    check!("chain c {\n accept from a b\n}\n", @"
    chain c {
    }
    syntax: expected a match such as `from`, `to`, `tcp 22` or the end of the rule, found `b`
      ^ 2:16 `b` expected a match here
      help: to add `b` to the list before it, separate it with `,`
    ");
}

#[test]
fn bad_action() {
    check!("chain c {\n acept tcp 22\n}\n", @"
    chain c {
    }
    syntax: expected an action (`accept`, `drop`, `reject`, `log`, `jump`, `goto` or `return`), found `acept`
      ^ 2:2 `acept` expected an action here
      help: did you mean `accept`?
    ");
    check!("chain c {\n policy drop\n}\n", @"
    chain c {
    }
    syntax: expected an action (`accept`, `drop`, `reject`, `log`, `jump`, `goto` or `return`), found `policy`
      ^ 2:2 `policy` expected an action here
      help: a chain's default policy goes in its header: `chain input policy drop {`
    ");
    check!("chain c {\n tcp 22\n}\n", @"
    chain c {
    }
    syntax: expected an action (`accept`, `drop`, `reject`, `log`, `jump`, `goto` or `return`), found `tcp`
      ^ 2:2 `tcp` expected an action here
      help: a rule starts with what to do, then its matches: `accept tcp ...`
    ");
}

#[test]
fn trailing_garbage() {
    check!("host a = 192.0.2.1 192.0.2.2\n", @"
    syntax: expected `,` or the end of the line, found `192.0.2.2`
      ^ 1:20 `192.0.2.2` expected `,` here
      help: separate list values with `,`; start a new statement on a new line or after `;`
    ");
    check!("include \"a.hw\" now\n", @"
    syntax: expected the end of the line, found `now`
      ^ 1:16 `now` expected the end of the line here
      help: put each statement on its own line, or separate statements with `;`
    ");
    check!("chain c {\n accept tcp 22 )\n}\n", @"
    chain c {
    }
    syntax: expected a match such as `from`, `to`, `tcp 22` or the end of the rule, found `)`
      ^ 2:16 `)` expected a match here
      help: the matches are `tcp`, `udp`, `sctp`, `icmp`, `icmpv6`, `proto`, `sport`, `dport`, `service`, `from`, `to`, `iface`, `oface`, `state`, `user`, `group`, `limit` and `comment`; put `not` in front of one to negate it
    ");
    check!("chain c {} junk\n", @"
    chain c {
    }
    syntax: expected the end of the line after `}`, found `junk`
      ^ 1:12 `junk` unexpected after the block
      help: start the next statement on a new line
    ");
    check!("}\n", @"
    syntax: unexpected `}` with no open `{`
      ^ 1:1 `}` nothing to close here
      help: remove this `}`, or check the `{` of the block above
    ");
}

#[test]
fn dangling_comma() {
    check!("host a = 192.0.2.1,\n\nchain c {}\n", @"
    syntax: expected an address, a network or a name, found `chain`
      ^ 3:1 `chain` expected an address here
      help: remove the `,` at the end of the list, or add a value after it
    ");
    check!("chain c {\n accept from a,\n accept\n}\n", @"
    chain c {
      accept from[name:a]
    }
    syntax: `accept` is a reserved keyword and cannot be used as a name
      ^ 3:2 `accept` reserved keyword
      help: the `,` at the end of the line above continues the list on this line; remove it
    ");
}

#[test]
fn bad_annotations() {
    check!("@alow(redundant)\nhost a = 192.0.2.1\n", @"
    host a = 192.0.2.1
    syntax: expected `@allow`, found `@alow`
      ^ 1:1 `@alow` expected `@allow` here
      help: did you mean `@allow`?
    ");
    check!("@allow()\nhost a = 192.0.2.1\n", @"
    host a = 192.0.2.1
    syntax: expected a lint name such as `redundant`, found `)`
      ^ 1:8 `)` expected a lint name here
      help: an annotation is written `@allow(lint-name, ...)`, e.g. `@allow(redundant)`
    ");
    check!("@allow(redundant\nhost a = 192.0.2.1\n", @"
    host a = 192.0.2.1
    syntax: expected `)` or `,`, found the end of the line
      ^ 1:17 `` expected `)` here
      help: an annotation is written `@allow(lint-name, ...)`, e.g. `@allow(redundant)`
    ");
    check!("@allow(redundant)\n", @"
    syntax: this annotation is not followed by anything it could apply to
      ^ 1:1 `@allow(redundant)` applies to nothing
      help: put `@allow(...)` on the line before a definition, chain, rule or egress block, or on the same line in front of it
    ");
    check!("@allow(redundant)\nassert allow input\n", @"
    assert allow input
    syntax: an annotation cannot apply to an `assert`
      ^ 1:1 `@allow(redundant)` not allowed here
      help: annotations go before a definition, a chain, a rule or an egress block
    ");
    check!("chain c {\n accept\n @allow(redundant)\n}\n", @"
    chain c {
      accept
    }
    syntax: this annotation is not followed by anything it could apply to
      ^ 3:2 `@allow(redundant)` applies to nothing
      help: put `@allow(...)` on the line before a definition, chain, rule or egress block, or on the same line in front of it
    ");
    check!("egress user a only {\n @allow(redundant) tcp 22\n}\n", @"
    egress user[name:a] only {
      tcp[22]
    }
    syntax: an annotation cannot stand inside an `egress` block
      ^ 2:2 `@allow(redundant)` not allowed here
      help: put `@allow(...)` on the line before the `egress` line instead
    ");
}

#[test]
fn chain_header_errors() {
    check!("chain c drop {\n accept\n}\n", @"
    syntax: expected `policy` or `{`, found `drop`
      ^ 1:9 `drop` expected `policy` here
      help: write `policy drop` to set the chain's default
    ");
    check!("chain c policy drop\n  accept tcp 22\n  drop\n}\nhost a = 192.0.2.1\n", @"
    host a = 192.0.2.1
    syntax: expected `{`, found the end of the line
      ^ 1:20 `` expected `{` here
      help: put the `{` that opens the block at the end of this line
    ");
    check!("chain 9c {\n frm\n accept\n}\nhost a = 192.0.2.1\n", @"
    host a = 192.0.2.1
    syntax: expected a name, found `9c`
      ^ 1:7 `9c` expected a name here
      help: `9c` is neither a number nor a name: numbers have only digits, and names start with a letter or `_`
    syntax: expected an action (`accept`, `drop`, `reject`, `log`, `jump`, `goto` or `return`), found `frm`
      ^ 2:2 `frm` expected an action here
      help: a rule starts with its action: `accept`, `drop`, `reject`, `log`, `jump`, `goto` or `return`
    ");
    check!("chain c policy reject {}\n", @"
    syntax: expected `accept` or `drop`, found `reject`
      ^ 1:16 `reject` expected `accept` or `drop` here
      help: a chain's default policy is `accept` or `drop`; other actions go in rules
    ");
}

#[test]
fn other_block_errors() {
    check!("policy p {\n famly inet\n}\n", @"
    policy p {}
    syntax: expected a setting such as `family inet`, found `famly`
      ^ 2:2 `famly` expected a setting here
      help: the only setting is `family ip`, `family ip6` or `family inet`
    ");
    check!("egress user web {\n tcp 22\n}\n", @"
    syntax: expected `only` or `,`, found `{`
      ^ 1:17 `{` expected `only` here
      help: an egress block is written `egress user NAME only { ... }`
    ");
    check!("egress user web only {\n frm x\n tcp 22\n}\n", @"
    egress user[name:web] only {
      tcp[22]
    }
    syntax: expected a match such as `from`, `to`, `tcp 22`, found `frm`
      ^ 2:2 `frm` expected a match here
      help: did you mean `from`?
    ");
    check!("assert allw input tcp 22\n", @"
    syntax: expected `allow`, `deny` or `reachable`, found `allw`
      ^ 1:8 `allw` expected `allow`, `deny` or `reachable` here
      help: did you mean `allow`?
    ");
}

#[test]
fn log_option_given_twice() {
    check!("chain c {\n log prefix \"a\" prefix \"b\"\n}\n", @r#"
    chain c {
      log(prefix=Some("a") level=None)
    }
    syntax: `prefix` is given twice in one `log` action
      ^ 2:17 `prefix` second one
      - 2:6 `prefix` first one
      help: keep one `prefix`
    "#);
}

#[test]
fn many_errors_in_one_file_are_all_reported_and_good_items_survive() {
    check!(
        "host a = 192.0.2.1\nhots b = 192.0.2.2\nhost c = 192.0.2.300\nservice d = tcp 80\nchain input policy drop {\n  accept tcp 22\n  acept udp 53\n  accept frm x\n  accept state new\n}\nhost e 192.0.2.5\nchain output {\n  accept\n}\nassert allow input tcp 22\n",
        @"
    host a = 192.0.2.1
    host c = 
    service d = tcp(80)
    chain input policy drop {
      accept tcp[22]
      accept state[new]
    }
    chain output {
      accept
    }
    assert allow input tcp[22]
    syntax: expected a statement such as `host`, `service`, `chain`, `assert` or `egress`, found `hots`
      ^ 2:1 `hots` expected a statement here
      help: did you mean `host`?
    syntax: `192.0.2.300` is not a valid IPv4 address
      ^ 3:10 `192.0.2.300` not an address
      help: an IPv4 address is four numbers from 0 to 255 separated by dots, such as `192.0.2.1`
    syntax: expected an action (`accept`, `drop`, `reject`, `log`, `jump`, `goto` or `return`), found `acept`
      ^ 7:3 `acept` expected an action here
      help: did you mean `accept`?
    syntax: expected a match such as `from`, `to`, `tcp 22` or the end of the rule, found `frm`
      ^ 8:10 `frm` expected a match here
      help: did you mean `from`?
    syntax: expected `=`, found `192.0.2.5`
      ^ 11:8 `192.0.2.5` expected `=` here
      help: a definition needs `=` between its name and its values: `host NAME = VALUE, VALUE`
    "
    );
}

// ------------------------------------------------------------ fast path

/// A chain body with every kind of rule, annotations, comments, `;` and
/// continued lists.
fn big_chain(rules: usize) -> String {
    let mut s = String::from("host h = 192.0.2.1\nchain big policy drop {\n");
    for i in 0..rules {
        let line = match i % 8 {
            0 => format!("  accept state new tcp {}, {} from 10.{}.0.0/16 to h\n", i % 65536, 2000 + i, i % 256),
            1 => format!("  drop not from 2001:db8:{i:x}::/48 udp 53 iface eth+ # c {i}\n"),
            2 => "  @allow(redundant)\n  accept service web user root, uid 1000-1999 limit 10/minute burst 5\n".to_string(),
            3 => format!("  log prefix \"r{i} \\\"q\\\"\" level warn icmp echo-request, 3/4\n"),
            4 => format!("  @allow(shadowed) reject tcp-reset tcp sport 1024-65535 dport {i}; return\n"),
            5 => format!("  accept from a{i},\n     b{i}, # continued\n     192.0.2.{}\n", i % 256),
            6 => format!("  jump c{i}; goto d{i}; accept proto {}\n", i % 256),
            _ => "  accept oface \"wg0\", eth0.100 group gid 4 comment \"x; y } z\"\n".to_string(),
        };
        s.push_str(&line);
    }
    s.push_str("}\nassert allow big tcp 22\n");
    s
}

/// The parser with the hand-written rule reader and the pure pest parser
/// give the same AST, spans included (`Debug` shows
/// them; `==` does not compare them), and the same diagnostics.
fn assert_paths_agree(text: &str) -> (File, Vec<Diagnostic>) {
    let (fast, fast_d) = super::parser::parse_with(FileId(0), text, true);
    let (slow, slow_d) = super::parser::parse_with(FileId(0), text, false);
    assert_eq!(format!("{fast:#?}"), format!("{slow:#?}"));
    assert_eq!(fast_d, slow_d);
    (fast, fast_d)
}

#[test]
fn fast_and_pest_paths_agree() {
    let (ast, diags) = assert_paths_agree(&big_chain(1000));
    assert!(diags.is_empty(), "{diags:?}");
    let Some(Item::Chain(c)) = ast.items.get(1) else {
        panic!("no chain")
    };
    assert_eq!(c.rules.len(), 1375);
    let (_, diags) = assert_paths_agree(&big_chain(20));
    assert!(diags.is_empty(), "{diags:?}");
    assert_paths_agree(EXAMPLE);
}

#[test]
fn fast_path_falls_back_on_errors() {
    // Errors anywhere in a body (a bad rule, a bad literal, an unclosed
    // block, a dangling annotation) are reported as by the pest path.
    let good = big_chain(400);
    let variants = [
        good.replacen("accept service web", "acept service web", 1),
        good.replacen("10.8.0.0/16", "10.8.0.0/1600", 1),
        good.replacen("}\nassert", "\nassert", 1),
        good.replacen("}\nassert", "@allow(x)\n}\nassert", 1),
        good.replacen("comment \"x; y } z\"", "comment \"x; y } z", 1),
    ];
    for (i, text) in variants.iter().enumerate() {
        let (_, diags) = assert_paths_agree(text);
        assert!(!diags.is_empty(), "variant {i} has no error");
    }
}

// ------------------------------------------------------------ fast rule reader

/// Rule lines covering every action, match and value form, for the
/// differential test of the fast rule reader.
const RULE_LINES: &[&str] = &[
    "accept",
    "drop state invalid",
    "return not from 10.0.0.0/8",
    "reject",
    "reject tcp-reset tcp 113",
    "reject from a",
    "jump other",
    "goto other from b",
    "log",
    "log prefix \"IN \" level warn limit 10/minute burst 5",
    "log level 4 prefix \"x\"",
    "log level info",
    "accept tcp",
    "accept udp 53, 123 sport 1024-65535 dport web, 8080",
    "accept sctp from a to b",
    "accept icmp echo-request, 3/4, 8 not icmpv6 128",
    "accept proto gre",
    "accept proto 47",
    "accept proto tcp",
    "accept service dns, ntp state new, established",
    "accept from 192.0.2.1, admins, 2001:db8::/32, fe80::1-fe80::2 to 192.0.2.10-192.0.2.20",
    "accept iface lo, eth+, eth0.100, \"wg0\" oface eth1",
    "accept user root, uid 33, uid 1000-1999, \"www-data\" group gid 4, adm",
    "accept limit 1/day",
    "accept limit 5 / second burst 7",
    "accept comment \"a # b ; c } d\"",
    "drop not user root not group gid 0 # trailing comment",
    "accept\ttcp\t22\r",
];

/// Mutations that stay on one line (a statement as the scanner cuts it).
const LINE_TOKENS: &[&str] = &[
    "accept",
    "drop",
    "reject",
    "log",
    "jump",
    "goto",
    "return",
    "prefix",
    "level",
    "not",
    "tcp",
    "udp",
    "icmp",
    "icmpv6",
    "proto",
    "sport",
    "dport",
    "service",
    "from",
    "to",
    "iface",
    "oface",
    "state",
    "user",
    "group",
    "uid",
    "gid",
    "limit",
    "burst",
    "comment",
    ",",
    " ",
    "/",
    "-",
    ":",
    "::",
    ".",
    "+",
    "#",
    "\"",
    "\\",
    "0",
    "255",
    "256",
    "65536",
    "18446744073709551616",
    "1.2.3.4",
    "1.2.3",
    "300.1.1.1",
    "/24",
    "/300",
    "fe80::1",
    "x",
    "a-b",
    "eth+",
    "3/4",
    "1-2",
    "second",
    "minute",
    "days",
    "gre",
    "grep",
    "é",
    "\t",
];

fn rule_via_pest(text: &str, end: usize) -> Option<(String, Vec<Diagnostic>)> {
    use super::grammar::{HwParser, Rule};
    use pest::Parser as _;
    let pair = HwParser::parse(Rule::rule, &text[..end]).ok()?.next()?;
    if pair.as_span().end() != end {
        return None;
    }
    let mut b = super::build::Builder::new(text, FileId(0));
    let rule = b.rule(pair, Vec::new()).ok()?;
    Some((format!("{rule:#?}"), b.diags))
}

fn check_fast_rule(line: &str) {
    let text = format!("{line}\n");
    let end = text.find('\n').unwrap_or(text.len());
    let Some(fast) = super::fast::rule(FileId(0), &text, 0, end) else {
        return;
    };
    let Some((pest, diags)) = rule_via_pest(&text, end) else {
        panic!("the fast reader accepts what pest rejects: {line:?}\n{fast:#?}");
    };
    assert!(
        diags.is_empty(),
        "the fast reader accepts a bad literal: {line:?} {diags:?}"
    );
    assert_eq!(format!("{fast:#?}"), pest, "on {line:?}");
}

#[test]
fn fast_rule_reader_reads_every_form() {
    for line in RULE_LINES {
        let text = format!("{line}\n");
        let end = text.len() - 1;
        assert!(
            super::fast::rule(FileId(0), &text, 0, end).is_some(),
            "fast path declined {line:?}"
        );
        check_fast_rule(line);
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 4000, ..Default::default() })]

    #[test]
    fn fast_rule_reader_agrees_with_pest(
        line in proptest::sample::select(RULE_LINES),
        edits in proptest::collection::vec(
            (proptest::prelude::any::<proptest::sample::Index>(),
             0usize..4,
             proptest::sample::select(LINE_TOKENS)),
            1..4),
    ) {
        let mut text = line.to_string();
        for (at, del, tok) in &edits {
            let mut p = at.index(text.len() + 1);
            while !text.is_char_boundary(p) { p -= 1; }
            let mut q = (p + del).min(text.len());
            while !text.is_char_boundary(q) { q -= 1; }
            text.replace_range(p..q, tok);
        }
        check_fast_rule(&text);
    }
}

const SEEDS: &[&str] = &[
    include_str!("../../fuzz/seeds/mailserver.hw"),
    include_str!("../../fuzz/seeds/router.hw"),
    include_str!("../../fuzz/seeds/edge.hw"),
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 500, ..Default::default() })]

    /// Whole files, mutated: the fast reader never changes what the
    /// parser returns, errors included.
    #[test]
    fn fast_path_agrees_on_mutated_files(
        seed in proptest::sample::select(SEEDS),
        edits in proptest::collection::vec(
            (proptest::prelude::any::<proptest::sample::Index>(),
             0usize..6,
             proptest::sample::select(LINE_TOKENS)),
            1..5),
    ) {
        let mut text = seed.to_string();
        for (at, del, tok) in &edits {
            let mut p = at.index(text.len() + 1);
            while !text.is_char_boundary(p) { p -= 1; }
            let mut q = (p + del).min(text.len());
            while !text.is_char_boundary(q) { q -= 1; }
            text.replace_range(p..q, tok);
        }
        assert_paths_agree(&text);
    }
}
