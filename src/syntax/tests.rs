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
            let _ = writeln!(out, "{} {} = {}", d.kind.keyword(), d.name.node, values(&d.values));
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
            let _ = writeln!(out, "egress{} only {{", matches(std::slice::from_ref(&e.selector)));
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
    vs.iter().map(|v| value(&v.node)).collect::<Vec<_>>().join(", ")
}

fn idents(vs: &[Ident]) -> String {
    vs.iter().map(|v| v.node.clone()).collect::<Vec<_>>().join(", ")
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
    check!(EXAMPLE, @"");
}

// ------------------------------------------------------------ constructs

#[test]
fn policy_and_include() {
    check!("policy p { family ip6 }\ninclude \"common/defs.hw\"\n", @"");
}

#[test]
fn address_definitions() {
    check!(
        "host a = 192.0.2.1, 2001:db8::1, ::ffff:192.0.2.9\nnet n = 198.51.100.0/24, 2001:db8::/32\nhost r = 192.0.2.10-192.0.2.20, fe80::1-fe80::ff\nnet both = a, n,\n   r   # continued\nlist l = 80, 443, 8000-8080, 10.0.0.0/8, other\n",
        @""
    );
}

#[test]
fn service_definitions_group_numbers_under_their_protocol() {
    check!(
        "service s = tcp 80, 443, udp 53, tcp 8000-8080, icmp echo-request, icmpv6 128, icmp 3/4, proto gre, dns\nservice t = tcp web-ports, sctp, icmp 8, 0, proto 47, proto 6, proto esp\n",
        @""
    );
}

#[test]
fn owner_and_interface_definitions() {
    check!(
        "user u = uid 0, uid 1000-1999, \"www-data\", root\ngroup g = gid 4, \"adm\"\niface i = eth0, \"wg0\", eth+, eth0.100\n",
        @""
    );
}

#[test]
fn actions() {
    check!(
        "chain c {\n accept\n drop\n reject\n reject tcp-reset\n log\n log prefix \"x \\\"y\\\" \\\\\" level 4\n log level info prefix \"p\"\n jump other\n goto other\n return\n}\n",
        @""
    );
}

#[test]
fn matches() {
    check!(
        "chain c {\n accept tcp\n accept udp 53, 123 sport 1024-65535 dport web\n accept icmp echo-request, 3/4, 8\n accept icmpv6 128\n accept proto gre\n accept proto 47\n accept proto 17\n accept service dns, ntp\n accept from 192.0.2.1, admins to 2001:db8::/32\n accept iface lo oface eth+\n accept iface \"wg0\", eth0.100\n accept state new, established, related, invalid, untracked\n accept user root, uid 33, \"www-data\" group gid 4, adm\n accept limit 10/second\n accept limit 1/day burst 3 comment \"rate\"\n}\n",
        @""
    );
}

#[test]
fn not_negates_any_match() {
    check!("chain c {\n drop not from admins not tcp 22 not user root\n}\n", @"");
}

#[test]
fn statements_separated_by_semicolons_and_one_line_blocks() {
    check!(
        "host a = 192.0.2.1; host b = 192.0.2.2\nchain forward policy drop {}\nchain c policy accept { accept tcp 22; drop }\npolicy p { family inet }\n",
        @""
    );
}

#[test]
fn assertions_and_egress() {
    check!(
        "assert allow input state new service http\nassert reachable output udp 53\nassert deny forward\negress group not adm, wheel only {\n  service dns to resolver\n  tcp 443; udp 123\n}\negress user web only {}\n",
        @""
    );
}

#[test]
fn annotations_attach_to_the_next_item_or_rule() {
    check!(
        "@allow(unused)\nhost a = 192.0.2.1\n@allow(unreachable-chain) @allow(default-accept)\nchain c {\n  @allow(redundant) accept tcp 22\n  @allow(shadowed,\n         overlap)\n  drop\n}\n@allow(nonroot-egress) egress user web only {}\n",
        @""
    );
}

#[test]
fn comments_blank_lines_and_crlf() {
    check!("# only a comment\r\n\r\nhost a = 192.0.2.1 # trailing\r\nchain c { # open\r\n  accept # ok\r\n}\r\n", @"");
}

#[test]
fn protocol_numbers_are_canonical() {
    check!(
        "chain c {\n accept proto tcp\n accept proto 6\n accept proto icmp\n accept proto 58\n accept proto ipv6-icmp\n accept proto 0\n accept proto 255\n}\n",
        @""
    );
}

#[test]
fn empty_and_blank_files() {
    check!("", @"");
    check!("\n\n  ;;\n# x\n", @"");
    check!("\u{feff}host a = 192.0.2.1\n", @"");
}

// ------------------------------------------------------------ error families

#[test]
fn unknown_top_level_word() {
    check!("hots a = 192.0.2.1\n", @"");
    check!("frobnicate\n", @"");
    check!("accept tcp 22\n", @"");
}

#[test]
fn bad_addresses() {
    check!("host a = 192.0.2.300\n", @"");
    check!("host a = 1.2.3\n", @"");
    check!("host a = 2001:db8:::1, 192.0.2.0/300\n", @"");
    check!("chain c {\n accept from 192.0.2.1-192.0.2.\n}\n", @"");
    check!("host a = 80\n", @"");
}

#[test]
fn bad_numbers() {
    check!("chain c {\n accept tcp 99999999999999999999999\n}\n", @"");
    check!("chain c {\n accept tcp 22x\n}\n", @"");
    check!("chain c {\n accept proto 256\n accept proto grep\n}\n", @"");
    check!("chain c {\n accept limit 10/minutes\n}\n", @"");
}

#[test]
fn unclosed_brace() {
    check!("chain input policy drop {\n  accept tcp 22\n", @"");
    check!(
        "chain input policy drop {\n  accept tcp 22\nchain output {\n  accept\n}\nhost a = 192.0.2.1\n",
        @""
    );
    check!("policy p {\n family inet\nhost a = 192.0.2.1\n", @"");
}

#[test]
fn missing_equals() {
    check!("host a 192.0.2.1\n", @"");
    check!("service web tcp 80\n", @"");
}

#[test]
fn keyword_as_name() {
    check!("host from = 192.0.2.1\n", @"");
    check!("chain drop {\n}\n", @"");
    check!("chain c {\n jump log\n}\n", @"");
}

#[test]
fn unterminated_string() {
    check!("chain c {\n log prefix \"INPUT \n accept\n}\n", @"");
    check!("include \"a.hw", @"");
}

#[test]
fn bad_escape() {
    check!("chain c {\n accept comment \"a\\tb\"\n}\n", @"");
}

#[test]
fn bad_match_word() {
    check!("chain c {\n accept tcp 22 frm admins\n}\n", @"");
    check!("chain c {\n accept frm admins\n}\n", @"");
    check!("chain c {\n accept not frm admins\n}\n", @"");
    check!("chain c {\n accept 22\n}\n", @"");
    check!("chain c {\n accept from a b\n}\n", @"");
}

#[test]
fn bad_action() {
    check!("chain c {\n acept tcp 22\n}\n", @"");
    check!("chain c {\n policy drop\n}\n", @"");
    check!("chain c {\n tcp 22\n}\n", @"");
}

#[test]
fn trailing_garbage() {
    check!("host a = 192.0.2.1 192.0.2.2\n", @"");
    check!("include \"a.hw\" now\n", @"");
    check!("chain c {\n accept tcp 22 )\n}\n", @"");
    check!("chain c {} junk\n", @"");
    check!("}\n", @"");
}

#[test]
fn dangling_comma() {
    check!("host a = 192.0.2.1,\n\nchain c {}\n", @"");
    check!("chain c {\n accept from a,\n accept\n}\n", @"");
}

#[test]
fn bad_annotations() {
    check!("@alow(redundant)\nhost a = 192.0.2.1\n", @"");
    check!("@allow()\nhost a = 192.0.2.1\n", @"");
    check!("@allow(redundant\nhost a = 192.0.2.1\n", @"");
    check!("@allow(redundant)\n", @"");
    check!("@allow(redundant)\nassert allow input\n", @"");
    check!("chain c {\n accept\n @allow(redundant)\n}\n", @"");
    check!("egress user a only {\n @allow(redundant) tcp 22\n}\n", @"");
}

#[test]
fn chain_header_errors() {
    check!("chain c drop {\n accept\n}\n", @"");
    check!("chain c policy drop\n  accept tcp 22\n  drop\n}\nhost a = 192.0.2.1\n", @"");
    check!("chain 9c {\n frm\n accept\n}\nhost a = 192.0.2.1\n", @"");
    check!("chain c policy reject {}\n", @"");
}

#[test]
fn other_block_errors() {
    check!("policy p {\n famly inet\n}\n", @"");
    check!("egress user web {\n tcp 22\n}\n", @"");
    check!("egress user web only {\n frm x\n tcp 22\n}\n", @"");
    check!("assert allw input tcp 22\n", @"");
}

#[test]
fn log_option_given_twice() {
    check!("chain c {\n log prefix \"a\" prefix \"b\"\n}\n", @"");
}

#[test]
fn many_errors_in_one_file_are_all_reported_and_good_items_survive() {
    check!(
        "host a = 192.0.2.1\nhots b = 192.0.2.2\nhost c = 192.0.2.300\nservice d = tcp 80\nchain input policy drop {\n  accept tcp 22\n  acept udp 53\n  accept frm x\n  accept state new\n}\nhost e 192.0.2.5\nchain output {\n  accept\n}\nassert allow input tcp 22\n",
        @""
    );
}
